/*
 * SGEMM with the left operand packed once (convolution weights, at load): C = A * B + bias.
 *
 * A (m x k) is stored as panels of VEIL_PACK_MR rows, each panel k steps of MR floats (rows past
 * m are zeros), so the micro-kernel reads it as one contiguous stream of broadcasts. B (the
 * im2col columns or, for a 1x1 convolution, the input itself) is read where it lies, row by
 * row: nothing is copied per call. That is the point: OpenBLAS packs the large operand on every
 * call, which for convolutions with few output channels costs more than the multiply.
 *
 * The AVX-512 micro-kernel keeps an 8 x 48 tile of C in 24 registers; partial tiles use masked
 * loads and stores. Without AVX-512 (or with another compiler than gcc/clang on x86-64) a plain C
 * kernel with the same blocking runs; the engine then keeps using OpenBLAS for convolutions
 * (veil_gemm_pack_fast).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/ops.h"

#define PACK_X86 VEIL_X86_AVX512
#if PACK_X86
#include <immintrin.h>
#endif

#define MR VEIL_PACK_MR
#define NR 48        /* columns of the C tile: 3 AVX-512 vectors */
#define KC 192       /* depth block: the B block of KC x NC stays in L2 */
#define NC (NR * 16) /* columns block */

/* One panel: rows (at most MR of a, row stride lda; rows past them zero) to k steps of MR. */
static void pack_panel(float *d, const float *a, size_t rows, size_t k, size_t lda)
{
    for (size_t q = 0; q < k; q++) {
        for (size_t r = 0; r < MR; r++) {
            d[q * MR + r] = r < rows ? a[r * lda + q] : 0.0f;
        }
    }
}

VEIL_RESULT veil_gemm_pack_new(const float *a, size_t m, size_t k, size_t lda,
                               struct veil_gemm_pack **out)
{
    struct veil_gemm_pack *p;
    size_t panels;

    ENSURE(m > 0 && k > 0 && lda >= k, VEIL_ERR_ENGINE_SHAPE);
    panels = (m + MR - 1) / MR;
    ENSURE(k <= SIZE_MAX / sizeof(float) / MR / panels, VEIL_ERR_ENGINE_LIMIT);
    p = calloc(1, sizeof(*p));
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    p->m = m;
    p->k = k;
    p->panels = panels;
    p->full = panels;
    p->size = panels * k * MR * sizeof(float);
    p->data = aligned_alloc(64, (p->size + 63) / 64 * 64);
    if (p->data == NULL) {
        free(p);
        BAIL(VEIL_ERR_NOMEM);
    }
    p->owned = p->size;
    for (size_t pi = 0; pi < panels; pi++) {
        pack_panel(p->data + pi * k * MR, a + pi * MR * lda, m - pi * MR, k, lda);
    }
    *out = p;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_gemm_pack_in_place(float *a, size_t m, size_t k, struct veil_gemm_pack **out)
{
    struct veil_gemm_pack *p;
    size_t full = m / MR;
    size_t rest = m % MR;
    float *tmp;

    ENSURE(a != NULL && m > 0 && k > 0, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(k <= SIZE_MAX / sizeof(float) / MR / (full + 1), VEIL_ERR_ENGINE_LIMIT);
    p = calloc(1, sizeof(*p));
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    tmp = malloc(k * MR * sizeof(float)); /* one panel's rows while it is transposed */
    if (rest > 0) {
        p->tail = aligned_alloc(64, (k * MR * sizeof(float) + 63) / 64 * 64);
    }
    if (tmp == NULL || (rest > 0 && p->tail == NULL)) {
        free(tmp);
        free(p->tail);
        free(p);
        BAIL(VEIL_ERR_NOMEM);
    }
    p->m = m;
    p->k = k;
    p->panels = full + (rest > 0);
    p->full = full;
    p->data = a;
    p->size = full * k * MR * sizeof(float);
    p->owned = rest > 0 ? k * MR * sizeof(float) : 0;
    p->borrowed = true;
    for (size_t pi = 0; pi < full; pi++) {
        float *rows = a + pi * MR * k;
        memcpy(tmp, rows, k * MR * sizeof(float));
        pack_panel(rows, tmp, MR, k, k);
    }
    if (rest > 0) {
        float *rows = a + full * MR * k;
        pack_panel(p->tail, rows, rest, k, k);
        OPENSSL_cleanse(rows, rest * k * sizeof(float));
    }
    OPENSSL_cleanse(tmp, k * MR * sizeof(float));
    free(tmp);
    *out = p;
    return VEIL_RESULT_OK;
}

void veil_gemm_pack_free(struct veil_gemm_pack *p)
{
    if (p == NULL) {
        return;
    }
    if (!p->borrowed) { /* else the matrix's owner wipes it */
        OPENSSL_cleanse(p->data, p->size);
        free(p->data);
    }
    if (p->tail != NULL) {
        OPENSSL_cleanse(p->tail, p->k * MR * sizeof(float));
        free(p->tail);
    }
    free(p);
}

/* The plain kernel: C tile (rows x cols, at most MR x NR) = (first ? bias : C) + A panel * B. */
static void tile_ref(size_t kb, const float *ap, const float *b, size_t ldb, const float *const *bp,
                     size_t bj, float *c, size_t ldc, const float *bias, bool first, size_t rows,
                     size_t cols)
{
    float acc[MR][NR];
    for (size_t i = 0; i < MR; i++) {
        for (size_t j = 0; j < NR; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (size_t q = 0; q < kb; q++) {
        const float *br = bp != NULL ? bp[q] + bj : b + q * ldb;
        for (size_t i = 0; i < MR; i++) {
            float av = ap[q * MR + i];
            for (size_t j = 0; j < cols; j++) {
                acc[i][j] += av * br[j];
            }
        }
    }
    for (size_t i = 0; i < rows; i++) {
        float init = bias != NULL ? bias[i] : 0.0f;
        for (size_t j = 0; j < cols; j++) {
            c[i * ldc + j] = (first ? init : c[i * ldc + j]) + acc[i][j];
        }
    }
}

#if PACK_X86
/* One row of the register tile: 3 accumulators c<i>0..2 += A[q][i] * b0..2. */
#define ROW_FMA(i)                                    \
    do {                                              \
        __m512 av = _mm512_set1_ps(ap[q * MR + (i)]); \
        c##i##0 = _mm512_fmadd_ps(av, b0, c##i##0);   \
        c##i##1 = _mm512_fmadd_ps(av, b1, c##i##1);   \
        c##i##2 = _mm512_fmadd_ps(av, b2, c##i##2);   \
    } while (0)
#define ALL_ROWS_FMA() \
    do {               \
        ROW_FMA(0);    \
        ROW_FMA(1);    \
        ROW_FMA(2);    \
        ROW_FMA(3);    \
        ROW_FMA(4);    \
        ROW_FMA(5);    \
        ROW_FMA(6);    \
        ROW_FMA(7);    \
    } while (0)
#define ROW_DECL(i) __m512 c##i##0 = z, c##i##1 = z, c##i##2 = z
/* Row i of the tile to C, when the tile has that row. */
#define ROW_STORE(i)                                                                         \
    do {                                                                                     \
        if ((i) < rows) {                                                                    \
            float *cr = c + (size_t)(i)*ldc;                                                 \
            __m512 bv = _mm512_set1_ps(bias != NULL ? bias[i] : 0.0f);                       \
            _mm512_mask_storeu_ps(                                                           \
                cr, m0, _mm512_add_ps(first ? bv : _mm512_maskz_loadu_ps(m0, cr), c##i##0)); \
            _mm512_mask_storeu_ps(                                                           \
                cr + 16, m1,                                                                 \
                _mm512_add_ps(first ? bv : _mm512_maskz_loadu_ps(m1, cr + 16), c##i##1));    \
            _mm512_mask_storeu_ps(                                                           \
                cr + 32, m2,                                                                 \
                _mm512_add_ps(first ? bv : _mm512_maskz_loadu_ps(m2, cr + 32), c##i##2));    \
        }                                                                                    \
    } while (0)

static __mmask16 col_mask(size_t cols, size_t lo)
{
    size_t n = cols > lo ? cols - lo : 0;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* A tile at most 16 columns wide (a convolution over a few output positions): one vector per
 * row, so the multiply-adds are not spent on masked-off lanes of the two others. */
#define ROW_FMA16(i)                                  \
    do {                                              \
        __m512 av = _mm512_set1_ps(ap[q * MR + (i)]); \
        c##i = _mm512_fmadd_ps(av, b0, c##i);         \
    } while (0)
#define ROW_STORE16(i)                                                                    \
    do {                                                                                  \
        if ((i) < rows) {                                                                 \
            float *cr = c + (size_t)(i)*ldc;                                              \
            __m512 bv = _mm512_set1_ps(bias != NULL ? bias[i] : 0.0f);                    \
            _mm512_mask_storeu_ps(                                                        \
                cr, m0, _mm512_add_ps(first ? bv : _mm512_maskz_loadu_ps(m0, cr), c##i)); \
        }                                                                                 \
    } while (0)

__attribute__((target("avx512f"))) static void tile_avx512_16(
    size_t kb, const float *ap, const float *b, size_t ldb, const float *const *bp, size_t bj,
    float *c, size_t ldc, const float *bias, bool first, size_t rows, __mmask16 m0)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (size_t q = 0; q < kb; q++) {
        const float *br = bp != NULL ? bp[q] + bj : b + q * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, br);
        ROW_FMA16(0);
        ROW_FMA16(1);
        ROW_FMA16(2);
        ROW_FMA16(3);
        ROW_FMA16(4);
        ROW_FMA16(5);
        ROW_FMA16(6);
        ROW_FMA16(7);
    }
    ROW_STORE16(0);
    ROW_STORE16(1);
    ROW_STORE16(2);
    ROW_STORE16(3);
    ROW_STORE16(4);
    ROW_STORE16(5);
    ROW_STORE16(6);
    ROW_STORE16(7);
}

/* The same with an 8 x 48 register tile (named registers: an array would live on the stack).
 * The sum per element runs in the same order as tile_ref (q ascending, one multiply-add each),
 * so the two differ only by FMA rounding. */
__attribute__((target("avx512f"))) static void tile_avx512(size_t kb, const float *ap,
                                                           const float *b, size_t ldb,
                                                           const float *const *bp, size_t bj,
                                                           float *c, size_t ldc, const float *bias,
                                                           bool first, size_t rows, size_t cols)
{
    const __m512 z = _mm512_setzero_ps();
    __mmask16 m0 = col_mask(cols, 0);
    __mmask16 m1 = col_mask(cols, 16);
    __mmask16 m2 = col_mask(cols, 32);
    if (cols <= 16) {
        tile_avx512_16(kb, ap, b, ldb, bp, bj, c, ldc, bias, first, rows, m0);
        return;
    }
    ROW_DECL(0);
    ROW_DECL(1);
    ROW_DECL(2);
    ROW_DECL(3);
    ROW_DECL(4);
    ROW_DECL(5);
    ROW_DECL(6);
    ROW_DECL(7);
    if (cols == NR) {
        for (size_t q = 0; q < kb; q++) {
            const float *br = bp != NULL ? bp[q] + bj : b + q * ldb;
            __m512 b0 = _mm512_loadu_ps(br);
            __m512 b1 = _mm512_loadu_ps(br + 16);
            __m512 b2 = _mm512_loadu_ps(br + 32);
            /* the next tile's part of this row (the strided rows defeat the prefetchers) */
            _mm_prefetch((const char *)(br + NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(br + NR + 16), _MM_HINT_T0);
            _mm_prefetch((const char *)(br + NR + 32), _MM_HINT_T0);
            ALL_ROWS_FMA();
        }
    } else {
        for (size_t q = 0; q < kb; q++) {
            const float *br = bp != NULL ? bp[q] + bj : b + q * ldb;
            __m512 b0 = _mm512_maskz_loadu_ps(m0, br);
            __m512 b1 = _mm512_maskz_loadu_ps(m1, br + 16);
            __m512 b2 = _mm512_maskz_loadu_ps(m2, br + 32);
            ALL_ROWS_FMA();
        }
    }
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
    ROW_STORE(6);
    ROW_STORE(7);
}

/* At most 8 columns (a convolution over a few output positions: Silero's, an STFT): the tiles
 * above would spend most lanes on absent columns. Here vectors run down the rows instead: four
 * panels (32 rows) per pass in two vectors, two accumulators per column, B's element broadcast;
 * k whole (B is only k x n), C written once at the end. */
#define SMALL_N 8
#define SMALL_P 4 /* panels per pass */
#define ACC_FMA(j)                                         \
    do {                                                   \
        __m512 bv = _mm512_set1_ps(br[(j) < n ? (j) : 0]); \
        lo##j = _mm512_fmadd_ps(alo, bv, lo##j);           \
        hi##j = _mm512_fmadd_ps(ahi, bv, hi##j);           \
    } while (0)
#define ACC_SAVE(j)                             \
    do {                                        \
        _mm512_storeu_ps(t[j], lo##j);          \
        _mm512_storeu_ps(t[j] + 2 * MR, hi##j); \
    } while (0)

/* Panels pi, pj as one vector: rows pi * MR.. at q in the low half, pj's in the high half. */
__attribute__((target("avx512f"))) static inline __m512 two_panels(const float *x, const float *y)
{
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(x))),
                           _mm256_castps_pd(_mm256_loadu_ps(y)), 1));
}

__attribute__((target("avx512f"))) static void small_n_avx512(
    const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n, const float *b, size_t ldb,
    const float *const *bp, size_t boff, const float *bias, float *c, size_t ldc)
{
    float t[SMALL_N][SMALL_P * MR];
    for (size_t pi = p0; pi < p1; pi += SMALL_P) {
        const float *ap[SMALL_P];
        size_t pe = pi + SMALL_P < p1 ? pi + SMALL_P : p1;
        size_t end = pe * MR < a->m ? pe * MR : a->m;
        for (size_t u = 0; u < SMALL_P; u++) {
            /* past the range: repeat its last panel (computed, not stored) */
            size_t pu = pi + u < pe ? pi + u : pe - 1;
            ap[u] = pu < a->full ? a->data + pu * a->k * MR : a->tail;
        }
        __m512 lo0 = _mm512_setzero_ps(), lo1 = lo0, lo2 = lo0, lo3 = lo0, lo4 = lo0, lo5 = lo0,
               lo6 = lo0, lo7 = lo0;
        __m512 hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0, hi4 = lo0, hi5 = lo0, hi6 = lo0,
               hi7 = lo0;
        for (size_t q = 0; q < a->k; q++) {
            const float *br = bp != NULL ? bp[q] + boff : b + q * ldb;
            __m512 alo = two_panels(ap[0] + q * MR, ap[1] + q * MR);
            __m512 ahi = two_panels(ap[2] + q * MR, ap[3] + q * MR);
            ACC_FMA(0);
            if (n > 1) {
                ACC_FMA(1);
                ACC_FMA(2);
                ACC_FMA(3);
                if (n > 4) {
                    ACC_FMA(4);
                    ACC_FMA(5);
                    ACC_FMA(6);
                    ACC_FMA(7);
                }
            }
        }
        ACC_SAVE(0);
        ACC_SAVE(1);
        ACC_SAVE(2);
        ACC_SAVE(3);
        ACC_SAVE(4);
        ACC_SAVE(5);
        ACC_SAVE(6);
        ACC_SAVE(7);
        for (size_t r = 0; r < end - pi * MR; r++) {
            float init = bias != NULL ? bias[pi * MR + r] : 0.0f;
            for (size_t j = 0; j < n; j++) {
                c[(pi * MR + r) * ldc + j] = init + t[j][r];
            }
        }
    }
}
#endif

typedef void (*tile_fn)(size_t kb, const float *ap, const float *b, size_t ldb,
                        const float *const *bp, size_t bj, float *c, size_t ldc, const float *bias,
                        bool first, size_t rows, size_t cols);

static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static tile_fn picked = tile_ref;
static bool fast_on;

/* The vector kernel when the CPU has it. VEIL_ENGINE_GEMM=reference keeps convolutions on the
 * plain GEMM (veil_gemm_pack_fast false), as it keeps them off OpenBLAS; VEIL_ENGINE_GEMM=openblas
 * keeps them on veil_sgemm (OpenBLAS), for comparisons. */
static void pick(void)
{
    const char *e = getenv("VEIL_ENGINE_GEMM");
#if PACK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        picked = tile_avx512;
    }
#endif
    fast_on = picked != tile_ref &&
              (e == NULL || (strcmp(e, "reference") != 0 && strcmp(e, "openblas") != 0));
}

static tile_fn tile_pick(void)
{
    (void)pthread_once(&pick_once, pick);
    return picked;
}

bool veil_cpu_avx512(void)
{
    (void)pthread_once(&pick_once, pick);
    return picked != tile_ref;
}

bool veil_gemm_pack_fast(void)
{
    (void)pthread_once(&pick_once, pick);
    return fast_on;
}

/* B is b with row stride ldb, or, with bp, row q at bp[q] (rows anywhere: a convolution's
 * input rows read in place). */
static void packed_run(tile_fn tile, const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n,
                       const float *b, size_t ldb, const float *const *bp, size_t boff,
                       const float *bias, float *c, size_t ldc)
{
#if PACK_X86
    if (tile == tile_avx512 && n <= SMALL_N) {
        small_n_avx512(a, p0, p1, n, b, ldb, bp, boff, bias, c, ldc);
        return;
    }
#endif
    for (size_t j0 = 0; j0 < n; j0 += NC) {
        size_t j1 = j0 + NC < n ? j0 + NC : n;
        for (size_t k0 = 0; k0 < a->k; k0 += KC) {
            size_t kb = k0 + KC < a->k ? KC : a->k - k0;
            for (size_t pi = p0; pi < p1; pi++) {
                const float *ap = (pi < a->full ? a->data + pi * a->k * MR : a->tail) + k0 * MR;
                size_t rows = a->m - pi * MR < MR ? a->m - pi * MR : MR;
                const float *pb = bias != NULL ? bias + pi * MR : NULL;
                for (size_t j = j0; j < j1; j += NR) {
                    size_t cols = j1 - j < NR ? j1 - j : NR;
                    tile(kb, ap, bp != NULL ? NULL : b + k0 * ldb + j, ldb,
                         bp != NULL ? bp + k0 : NULL, boff + j, c + pi * MR * ldc + j, ldc, pb,
                         k0 == 0, rows, cols);
                }
            }
        }
    }
}

void veil_sgemm_packed(const struct veil_gemm_pack *a, size_t n, const float *b, size_t ldb,
                       const float *bias, float *c, size_t ldc)
{
    packed_run(tile_pick(), a, 0, a->panels, n, b, ldb, NULL, 0, bias, c, ldc);
}

void veil_sgemm_packed_panels(const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n,
                              const float *b, size_t ldb, const float *bias, float *c, size_t ldc)
{
    p1 = p1 < a->panels ? p1 : a->panels;
    if (p0 < p1) {
        packed_run(tile_pick(), a, p0, p1, n, b, ldb, NULL, 0, bias, c, ldc);
    }
}

void veil_sgemm_packed_rows(const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n,
                            const float *const *bp, size_t boff, const float *bias, float *c,
                            size_t ldc)
{
    p1 = p1 < a->panels ? p1 : a->panels;
    if (p0 < p1) {
        packed_run(tile_pick(), a, p0, p1, n, NULL, 0, bp, boff, bias, c, ldc);
    }
}

void veil_sgemm_packed_ref(const struct veil_gemm_pack *a, size_t n, const float *b, size_t ldb,
                           const float *bias, float *c, size_t ldc)
{
    packed_run(tile_ref, a, 0, a->panels, n, b, ldb, NULL, 0, bias, c, ldc);
}
