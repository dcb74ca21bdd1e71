/* Conv (N-d, groups, dilations, auto_pad) by im2col + GEMM, and the shared window geometry. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/ops.h"

#define KERNEL_MAX ((int64_t)1 << 20)

static VEIL_RESULT ints_or(const struct veil_op_ctx *c, const char *name, uint32_t n, int64_t def,
                           int64_t *out)
{
    const int64_t *v;
    size_t count;
    GUARD(veil_attr_ints(c, name, &v, &count));
    ENSURE(count == 0 || count == n, VEIL_ERR_ENGINE_ATTR);
    for (uint32_t i = 0; i < n; i++) {
        out[i] = count ? v[i] : def;
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_op_geom(const struct veil_op_ctx *c, const struct veil_tensor *x,
                         const int64_t *kernel, bool ceil_mode, struct veil_geom *g)
{
    char pad[16];
    int64_t pads[2 * VEIL_ENGINE_RANK_MAX];

    ENSURE(x->rank >= 3, VEIL_ERR_ENGINE_SHAPE);
    g->sp = x->rank - 2;
    for (uint32_t i = 0; i < g->sp; i++) {
        g->in[i] = x->dims[i + 2];
    }
    if (kernel != NULL) {
        memcpy(g->kernel, kernel, g->sp * sizeof(*kernel));
    } else {
        const int64_t *k;
        size_t n;
        GUARD(veil_attr_ints(c, "kernel_shape", &k, &n));
        ENSURE(n == g->sp, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(g->kernel, k, n);
    }
    GUARD(ints_or(c, "strides", g->sp, 1, g->stride));
    GUARD(ints_or(c, "dilations", g->sp, 1, g->dil));
    GUARD(ints_or(c, "pads", 2 * g->sp, 0, pads));
    GUARD(veil_attr_string(c, "auto_pad", "NOTSET", pad, sizeof(pad)));
    for (uint32_t i = 0; i < g->sp; i++) {
        int64_t ek;
        ENSURE(g->kernel[i] >= 1 && g->kernel[i] <= KERNEL_MAX, VEIL_ERR_ENGINE_ATTR);
        ENSURE(g->stride[i] >= 1 && g->stride[i] <= KERNEL_MAX, VEIL_ERR_ENGINE_ATTR);
        ENSURE(g->dil[i] >= 1 && g->dil[i] <= KERNEL_MAX, VEIL_ERR_ENGINE_ATTR);
        ENSURE(pads[i] >= 0 && pads[i] <= KERNEL_MAX && pads[i + g->sp] >= 0 &&
                   pads[i + g->sp] <= KERNEL_MAX,
               VEIL_ERR_ENGINE_ATTR);
        ek = (g->kernel[i] - 1) * g->dil[i] + 1;
        if (strcmp(pad, "NOTSET") == 0) {
            g->pad_begin[i] = pads[i];
            g->pad_end[i] = pads[i + g->sp];
        } else if (strcmp(pad, "VALID") == 0) {
            g->pad_begin[i] = 0;
            g->pad_end[i] = 0;
        } else if (strcmp(pad, "SAME_UPPER") == 0 || strcmp(pad, "SAME_LOWER") == 0) {
            int64_t o = (g->in[i] + g->stride[i] - 1) / g->stride[i];
            int64_t total = (o - 1) * g->stride[i] + ek - g->in[i];
            total = total < 0 ? 0 : total;
            g->pad_begin[i] = pad[5] == 'U' ? total / 2 : total - total / 2;
            g->pad_end[i] = total - g->pad_begin[i];
        } else {
            BAIL(VEIL_ERR_ENGINE_ATTR);
        }
        int64_t span = g->in[i] + g->pad_begin[i] + g->pad_end[i] - ek;
        ENSURE(span >= 0, VEIL_ERR_ENGINE_SHAPE);
        g->out[i] =
            (ceil_mode ? (span + g->stride[i] - 1) / g->stride[i] : span / g->stride[i]) + 1;
        if (ceil_mode && (g->out[i] - 1) * g->stride[i] >= g->in[i] + g->pad_begin[i]) {
            g->out[i]--; /* the last window must start inside the input or left padding */
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT conv_geom(const struct veil_op_ctx *c, struct veil_geom *g, int64_t *group)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = c->in[1];
    const int64_t *ks;
    size_t nks;

    ENSURE(x->dtype == VEIL_DT_FLOAT && w->dtype == VEIL_DT_FLOAT,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(x->rank >= 3 && w->rank == x->rank, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "group", 1, group));
    ENSURE(*group >= 1 && x->dims[1] % *group == 0 && w->dims[0] % *group == 0,
           VEIL_ERR_ENGINE_ATTR);
    ENSURE(w->dims[1] * *group == x->dims[1], VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_ints(c, "kernel_shape", &ks, &nks));
    for (size_t i = 0; i < nks && i + 2 < w->rank; i++) {
        ENSURE(ks[i] == w->dims[i + 2], VEIL_ERR_ENGINE_SHAPE);
    }
    GUARD(veil_op_geom(c, x, &w->dims[2], false, g));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT conv_shape(struct veil_op_ctx *c)
{
    struct veil_geom g;
    int64_t group;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *b;

    GUARD(veil_op_arity(c, 2, 3, 1));
    GUARD(conv_geom(c, &g, &group));
    b = veil_op_in(c, 2);
    ENSURE(b == NULL || (b->dtype == VEIL_DT_FLOAT && b->count == (size_t)c->in[1]->dims[0]),
           VEIL_ERR_ENGINE_SHAPE);
    dims[0] = c->in[0]->dims[0];
    dims[1] = c->in[1]->dims[0];
    for (uint32_t i = 0; i < g.sp; i++) {
        dims[i + 2] = g.out[i];
    }
    return veil_op_out(c, 0, VEIL_DT_FLOAT, c->in[0]->rank, dims);
}

struct conv_job {
    const struct veil_geom *g;
    const float *x;
    const float *w;
    const float *bias;
    float *y;
    size_t cin_g, cout_g, groups, krn, osz, isz;
    float *cols;       /* column buffer from the pool when one part runs inline, else NULL */
    size_t tile_bytes; /* the most one im2col tile takes (conv_tile_budget) */
    bool failed;
    /* the node whose folded activation (graph.c fuse_conv_act) the packed kernel's parts apply
     * to their own output, or NULL (then conv_run applies it after) */
    const struct veil_engine_node *act;
};

/* The activation folded into a Conv (LeakyRelu, then Max with a constant) on rows x cols of y
 * (row stride ld), in the same float steps as op_unary.c and op_binary.c. */
VEIL_TARGET_CLONES
static void conv_act(const struct veil_engine_node *n, float *y, size_t rows, size_t cols,
                     size_t ld)
{
    float a = n->x->act_alpha;
    float k = n->x->act_k;
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * ld;
        for (size_t c = 0; c < cols; c++) {
            yr[c] = yr[c] >= 0.0f ? yr[c] : a * yr[c];
        }
        if (!n->act_max) {
            continue;
        }
        if (n->act_k_first) {
            for (size_t c = 0; c < cols; c++) {
                float v = yr[c];
                yr[c] = k != k || v != v ? k + v : (k > v ? k : v);
            }
        } else {
            for (size_t c = 0; c < cols; c++) {
                float v = yr[c];
                yr[c] = v != v || k != k ? v + k : (v > k ? v : k);
            }
        }
    }
}

/* im2col works on tiles of output rows whose columns take at most this many bytes (at least one
 * row), so the scratch is bounded whatever the image size: PaddleOCR det at 640x640 would need
 * 59 MB for its largest whole im2col, the tiles 4 MiB. Every output element still sums the same
 * products in the same order (the GEMM splits columns only). */
#define CONV_TILE_BYTES ((size_t)4 << 20)
/* In a planned run a tile may get less (j->tile_bytes, veil_pool_scratch_budget) where the
 * node's whole scratch would have grown the arena: the room the plan found for it (plan.c
 * place_scratch: PaddleOCR cls's first Conv, a 249 KB im2col beside its 74 KB output and the
 * 111 KB input, the arena's peak once the input has room there, gets the 172 KB they leave),
 * never less than one row or this many columns. Nodes whose scratch fits keep 4 MiB tiles: a
 * bound for every Conv (the larger of its output and 512 columns) cost det 2-5% at 2 threads. */
#define CONV_TILE_COLS_MIN 256

/* Rows of the output tiled over (the first spatial axis of a 2-D conv; 1 otherwise). */
static size_t conv_rows(const struct conv_job *j)
{
    return j->g->sp == 2 ? (size_t)j->g->out[0] : 1;
}

/* Output columns per output row, and the im2col bytes of one output row. */
static size_t conv_row_cols(const struct conv_job *j)
{
    size_t rows = conv_rows(j);
    return j->osz / (rows > 0 ? rows : 1);
}

static size_t conv_row_bytes(const struct conv_job *j)
{
    return j->cin_g * j->krn * conv_row_cols(j) * sizeof(float);
}

/* Output rows per im2col tile. */
static size_t conv_tile_rows(const struct conv_job *j)
{
    size_t rows = conv_rows(j);
    size_t per_row = conv_row_bytes(j);
    size_t t = per_row > 0 ? j->tile_bytes / per_row : rows;
    t = t > 0 ? t : 1;
    return t < rows ? t : rows;
}

/* Bytes of one im2col tile. */
static size_t conv_tile_size(const struct conv_job *j)
{
    return conv_row_bytes(j) * conv_tile_rows(j);
}

/* j->tile_bytes: CONV_TILE_BYTES, or the room a planned run's arena has for the node's scratch
 * where that is less; the least it works well with (recorded for the plan) is one row, or
 * CONV_TILE_COLS_MIN columns' worth of rows, or the whole im2col if smaller. */
static void conv_tile_budget(struct veil_engine_pool *pool, struct conv_job *j)
{
    size_t rw = conv_row_cols(j);
    size_t per_row = conv_row_bytes(j);
    size_t whole = per_row * conv_rows(j);
    size_t min_rows = rw > 0 ? (CONV_TILE_COLS_MIN + rw - 1) / rw : 1;
    size_t min = per_row * (min_rows > 0 ? min_rows : 1);

    min = min < whole ? min : whole;
    j->tile_bytes = veil_pool_scratch_budget(pool, CONV_TILE_BYTES, min);
}

#define IM2COL_TAPS_MAX 64 /* kernel widths up to this get their column ranges computed once */

/* One im2col row (a tap at row offset dy = kh * dh - ph and column offset off) of output rows
 * [oh0, oh1), stride 1 and output rows as wide as the input's (w): output row oh reads input row
 * oh + dy, columns [lo, hi) from ow + off, and zeros elsewhere. The rows inside the input are
 * one copy (columns lo..hi of the first to the last: the input rows are contiguous, so what
 * lands in the columns outside [lo, hi) of the rows between is the neighbouring input rows'
 * ends, zeroed after); rows outside are zeros. */
static void im2col_shifted(const float *xc, int64_t w, int64_t h, int64_t ow_n, int64_t oh0,
                           int64_t oh1, int64_t dy, int64_t off, int64_t lo, int64_t hi, float *row)
{
    int64_t a = oh0 > -dy ? oh0 : -dy;       /* first output row inside the input */
    int64_t b = oh1 < h - dy ? oh1 : h - dy; /* past the last */
    if (a >= b || lo >= hi) {
        memset(row, 0, (size_t)((oh1 - oh0) * ow_n) * sizeof(float));
        return;
    }
    memset(row, 0, (size_t)((a - oh0) * ow_n + lo) * sizeof(float));
    memcpy(row + (a - oh0) * ow_n + lo, xc + (a + dy) * w + lo + off,
           (size_t)((b - 1 - a) * ow_n + hi - lo) * sizeof(float));
    for (int64_t oh = a; oh < b - 1; oh++) {
        float *r = row + (oh - oh0) * ow_n;
        for (int64_t ow = hi; ow < ow_n; ow++) {
            r[ow] = 0.0f;
        }
        for (int64_t ow = 0; ow < lo; ow++) {
            r[ow_n + ow] = 0.0f;
        }
    }
    memset(row + (b - 1 - oh0) * ow_n + hi, 0, (size_t)((oh1 - b + 1) * ow_n - hi) * sizeof(float));
}

/* 1-D and 2-D im2col without a division per element (the common cases). */
static void im2col_2d(const struct veil_geom *g, const float *x, size_t cin, int64_t oh0,
                      int64_t oh1, float *col)
{
    bool one = g->sp == 1;
    int64_t ih_n = one ? 1 : g->in[0];
    int64_t iw_n = g->in[g->sp - 1];
    int64_t kh_n = one ? 1 : g->kernel[0];
    int64_t kw_n = g->kernel[g->sp - 1];
    int64_t ow_n = g->out[g->sp - 1];
    int64_t sh = one ? 1 : g->stride[0];
    int64_t sw = g->stride[g->sp - 1];
    int64_t dh = one ? 1 : g->dil[0];
    int64_t dw = g->dil[g->sp - 1];
    int64_t ph = one ? 0 : g->pad_begin[0];
    int64_t pw = g->pad_begin[g->sp - 1];
    size_t isz = (size_t)(ih_n * iw_n);
    size_t osz = (size_t)((oh1 - oh0) * ow_n); /* this tile's columns */
    /* iw = ow * sw + off lies inside the row for ow in [lo, hi): per kernel column, the same
     * for every channel and kernel row, so computed once (divisions, on short rows as costly
     * as the copy) */
    int64_t tap_lo[IM2COL_TAPS_MAX];
    int64_t tap_hi[IM2COL_TAPS_MAX];
    for (int64_t kw = 0; kw < kw_n && kw < IM2COL_TAPS_MAX; kw++) {
        int64_t off = kw * dw - pw;
        int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        int64_t hi = iw_n - off <= 0 ? 0 : (iw_n - off + sw - 1) / sw;
        tap_lo[kw] = lo < ow_n ? lo : ow_n;
        tap_hi[kw] = hi < ow_n ? hi : ow_n;
    }

    /* stride 1 and rows as long as the input's ("same" padding along the row): consecutive
     * output rows read consecutive input rows, so a tap's row is one shifted copy */
    bool whole = sh == 1 && sw == 1 && ow_n == iw_n;
    for (size_t ch = 0; ch < cin; ch++) {
        const float *xc = x + ch * isz;
        for (int64_t kh = 0; kh < kh_n; kh++) {
            for (int64_t kw = 0; kw < kw_n; kw++) {
                float *row =
                    col + ((ch * (size_t)kh_n + (size_t)kh) * (size_t)kw_n + (size_t)kw) * osz;
                int64_t off = kw * dw - pw;
                int64_t lo;
                int64_t hi;
                if (kw < IM2COL_TAPS_MAX) {
                    lo = tap_lo[kw];
                    hi = tap_hi[kw];
                } else {
                    lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    hi = iw_n - off <= 0 ? 0 : (iw_n - off + sw - 1) / sw;
                    lo = lo < ow_n ? lo : ow_n;
                    hi = hi < ow_n ? hi : ow_n;
                }
                if (whole) {
                    im2col_shifted(xc, iw_n, ih_n, ow_n, oh0, oh1, kh * dh - ph, off, lo, hi, row);
                    continue;
                }
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    int64_t ih = oh * sh - ph + kh * dh;
                    float *r = row + (size_t)((oh - oh0) * ow_n);
                    if (ih < 0 || ih >= ih_n) {
                        for (int64_t ow = 0; ow < ow_n; ow++) {
                            r[ow] = 0.0f;
                        }
                        continue;
                    }
                    const float *xr = xc + (size_t)(ih * iw_n);
                    int64_t ow = 0;
                    for (; ow < lo; ow++) {
                        r[ow] = 0.0f;
                    }
                    if (sw == 1) {
                        if (hi > lo) {
                            memcpy(r + lo, xr + lo + off, (size_t)(hi - lo) * sizeof(float));
                        }
                        ow = hi > lo ? hi : lo;
                    } else {
                        for (; ow < hi; ow++) {
                            r[ow] = xr[ow * sw + off];
                        }
                    }
                    for (; ow < ow_n; ow++) {
                        r[ow] = 0.0f;
                    }
                }
            }
        }
    }
}

/* The columns of output rows [r0, r1) (2-D: rows of the first spatial axis; otherwise r0 = 0,
 * r1 = 1 and the tile is the whole output). */
static void im2col(const struct veil_geom *g, const float *x, size_t cin, size_t krn, size_t osz,
                   size_t r0, size_t r1, float *col)
{
    if (g->sp <= 2) {
        im2col_2d(g, x, cin, g->sp == 2 ? (int64_t)r0 : 0, g->sp == 2 ? (int64_t)r1 : 1, col);
        return;
    }
    int64_t kidx[VEIL_ENGINE_RANK_MAX];
    int64_t oidx[VEIL_ENGINE_RANK_MAX];
    size_t isz = 1;
    for (uint32_t i = 0; i < g->sp; i++) {
        isz *= (size_t)g->in[i];
    }
    for (size_t ch = 0; ch < cin; ch++) {
        for (size_t kr = 0; kr < krn; kr++) {
            size_t t = kr;
            for (uint32_t i = g->sp; i-- > 0;) {
                kidx[i] = (int64_t)(t % (size_t)g->kernel[i]);
                t /= (size_t)g->kernel[i];
            }
            float *row = &col[(ch * krn + kr) * osz];
            for (size_t o = 0; o < osz; o++) {
                size_t u = o;
                size_t off = 0;
                bool inside = true;
                for (uint32_t i = g->sp; i-- > 0;) {
                    oidx[i] = (int64_t)(u % (size_t)g->out[i]);
                    u /= (size_t)g->out[i];
                }
                for (uint32_t i = 0; i < g->sp; i++) {
                    int64_t p = oidx[i] * g->stride[i] - g->pad_begin[i] + kidx[i] * g->dil[i];
                    if (p < 0 || p >= g->in[i]) {
                        inside = false;
                        break;
                    }
                    off = off * (size_t)g->in[i] + (size_t)p;
                }
                row[o] = inside ? x[ch * isz + off] : 0.0f;
            }
        }
    }
}

/* A 1x1 kernel with stride 1 and no padding reads the input as it is: no im2col. */
static bool conv_pointwise(const struct veil_geom *g)
{
    for (uint32_t i = 0; i < g->sp; i++) {
        if (g->kernel[i] != 1 || g->stride[i] != 1 || g->pad_begin[i] != 0 || g->pad_end[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Work item = (batch, group). Without a pool buffer (several parts at once) each part allocates
 * its own tile. */
static void conv_part(void *ctx, size_t begin, size_t end)
{
    struct conv_job *j = ctx;
    bool direct = conv_pointwise(j->g);
    bool own = !direct && j->cols == NULL;
    size_t rows = conv_rows(j);
    size_t tile = conv_tile_rows(j);
    size_t rw = rows > 0 ? j->osz / rows : 0; /* columns per row */
    size_t kk = j->cin_g * j->krn;
    size_t col_size = conv_tile_size(j);
    float *col = own ? malloc(col_size + 1) : j->cols;
    if (own && col == NULL) {
        j->failed = true;
        return;
    }
    for (size_t w = begin; w < end; w++) {
        size_t n = w / j->groups;
        size_t gr = w % j->groups;
        size_t cin = j->cin_g * j->groups;
        size_t cout = j->cout_g * j->groups;
        const float *x = j->x + (n * cin + gr * j->cin_g) * j->isz;
        float *y = j->y + (n * cout + gr * j->cout_g) * j->osz;
        const float *wg = j->w + gr * j->cout_g * kk;
        if (direct) {
            veil_sgemm(false, false, j->cout_g, j->osz, kk, 1.0f, wg, kk, x, j->osz, 0.0f, y,
                       j->osz);
        }
        for (size_t r0 = 0; !direct && r0 < rows; r0 += tile) {
            size_t r1 = r0 + tile < rows ? r0 + tile : rows;
            size_t nc = (r1 - r0) * rw;
            im2col(j->g, x, j->cin_g, j->krn, j->osz, r0, r1, col);
            veil_sgemm(false, false, j->cout_g, nc, kk, 1.0f, wg, kk, col, nc, 0.0f, y + r0 * rw,
                       j->osz);
        }
        if (j->bias != NULL) {
            for (size_t m = 0; m < j->cout_g; m++) {
                for (size_t o = 0; o < j->osz; o++) {
                    y[m * j->osz + o] += j->bias[gr * j->cout_g + m];
                }
            }
        }
    }
    if (own) {
        OPENSSL_cleanse(col, col_size);
        free(col);
    }
}

/* One (batch, group) and im2col tile with the GEMM split over column blocks across threads. */
struct conv_cols {
    const struct conv_job *j;
    const float *col; /* nc columns, row stride nc */
    float *y;         /* the tile's first output column, row stride osz */
    size_t nc;
    size_t gr;
};

static void conv_cols_part(void *ctx, size_t begin, size_t end)
{
    const struct conv_cols *cc = ctx;
    const struct conv_job *j = cc->j;
    size_t c0 = begin * 64;
    size_t c1 = end * 64 < cc->nc ? end * 64 : cc->nc;
    veil_sgemm(false, false, j->cout_g, c1 - c0, j->cin_g * j->krn, 1.0f,
               j->w + cc->gr * j->cout_g * j->cin_g * j->krn, j->cin_g * j->krn, cc->col + c0,
               cc->nc, 0.0f, cc->y + c0, j->osz);
}

static VEIL_RESULT conv_run_wide(struct veil_op_ctx *c, struct conv_job *j, size_t batch)
{
    bool direct = conv_pointwise(j->g);
    size_t col_size = conv_tile_size(j);
    size_t rows = direct ? 1 : conv_rows(j);
    size_t tile = direct ? 1 : conv_tile_rows(j);
    size_t rw = direct ? j->osz : j->osz / rows;
    void *colv = NULL;
    float *col;
    size_t cin = j->cin_g * j->groups;
    size_t cout = j->cout_g * j->groups;
    veil_result r = VEIL_RESULT_OK;

    if (!direct) {
        GUARD(veil_pool_take_scratch(c->frame->pool, col_size, &colv));
    }
    col = colv;
    for (size_t n = 0; n < batch && veil_ok(r); n++) {
        for (size_t gr = 0; gr < j->groups && veil_ok(r); gr++) {
            const float *x = j->x + (n * cin + gr * j->cin_g) * j->isz;
            float *y = j->y + (n * cout + gr * j->cout_g) * j->osz;
            for (size_t r0 = 0; r0 < rows && veil_ok(r); r0 += tile) {
                size_t r1 = r0 + tile < rows ? r0 + tile : rows;
                struct conv_cols cc = {j, direct ? x : col, y + r0 * rw, (r1 - r0) * rw, gr};
                if (!direct) {
                    im2col(j->g, x, j->cin_g, j->krn, j->osz, r0, r1, col);
                }
                r = veil_op_parallel(c, (cc.nc + 63) / 64, 1, conv_cols_part, &cc);
            }
            for (size_t m = 0; veil_ok(r) && j->bias != NULL && m < j->cout_g; m++) {
                for (size_t o = 0; o < j->osz; o++) {
                    y[m * j->osz + o] += j->bias[gr * j->cout_g + m];
                }
            }
        }
    }
    if (colv != NULL) {
        veil_pool_give_scratch(c->frame->pool, colv, col_size);
    }
    return r;
}

#define DW_TAPS_MAX 32 /* kernel widths up to this get their column ranges computed once */
#define DW_VW       16 /* output columns a block of the register-held interior */

typedef float dw_vf __attribute__((vector_size(DW_VW * sizeof(float))));

/* Output columns [c0, c1) of one output row, tap by tap through memory: yr = bias, then each
 * valid tap's product added over its valid columns (vectorizes for stride 1). */
static inline __attribute__((always_inline)) void dw_cols(const struct veil_geom *g, const float *x,
                                                          const float *k, float b,
                                                          const int64_t *tap_lo,
                                                          const int64_t *tap_hi, int64_t oh,
                                                          float *yr, int64_t c0, int64_t c1)
{
    int64_t ih_n = g->in[0];
    int64_t iw_n = g->in[1];
    int64_t kw_n = g->kernel[1];
    int64_t ow_n = g->out[1];
    int64_t sw = g->stride[1];
    int64_t dw = g->dil[1];
    int64_t pw = g->pad_begin[1];
    for (int64_t ow = c0; ow < c1; ow++) {
        yr[ow] = b;
    }
    for (int64_t kh = 0; kh < g->kernel[0]; kh++) {
        int64_t ih = oh * g->stride[0] - g->pad_begin[0] + kh * g->dil[0];
        if (ih < 0 || ih >= ih_n) {
            continue;
        }
        const float *xr = x + ih * iw_n;
        for (int64_t kw = 0; kw < kw_n; kw++) {
            int64_t off = kw * dw - pw; /* iw = ow * sw + off */
            int64_t lo;
            int64_t hi;
            float kv = k[kh * kw_n + kw];
            if (kw < DW_TAPS_MAX) {
                lo = tap_lo[kw];
                hi = tap_hi[kw];
            } else {
                lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                hi = iw_n - off <= 0 ? 0 : (iw_n - off + sw - 1) / sw;
                hi = hi < ow_n ? hi : ow_n;
            }
            lo = lo > c0 ? lo : c0;
            hi = hi < c1 ? hi : c1;
            if (sw == 1) {
                const float *xs = xr + off;
                for (int64_t ow = lo; ow < hi; ow++) {
                    yr[ow] += kv * xs[ow];
                }
            } else {
                for (int64_t ow = lo; ow < hi; ow++) {
                    yr[ow] += kv * xr[ow * sw + off];
                }
            }
        }
    }
}

/* nb (1-4) blocks of 16 output columns of row oh from column o, from the zero-padded plane xp
 * (rows of prow floats): nb independent register sums over all taps; a last partial block
 * stores only the columns of the row. */
static inline __attribute__((always_inline)) void dw_blocks(const struct veil_geom *g,
                                                            const float *xp, int64_t prow,
                                                            const float *k, float b, int64_t oh,
                                                            int64_t o, int nb, float *yr)
{
    int64_t kw_n = g->kernel[1];
    int64_t dw = g->dil[1];
    int64_t ow_n = g->out[1];
    dw_vf acc[4];
    for (int q = 0; q < nb; q++) {
        for (int l = 0; l < DW_VW; l++) {
            acc[q][l] = b;
        }
    }
    for (int64_t kh = 0; kh < g->kernel[0]; kh++) {
        int64_t ih = oh * g->stride[0] - g->pad_begin[0] + kh * g->dil[0];
        if (ih < 0 || ih >= g->in[0]) {
            continue;
        }
        const float *xs = xp + ih * prow + o;
        const float *kr = k + kh * kw_n;
        for (int64_t kw = 0; kw < kw_n; kw++) {
            float kv = kr[kw];
            const float *xk = xs + kw * dw;
            for (int q = 0; q < nb; q++) {
                dw_vf xv;
                memcpy(&xv, xk + q * DW_VW, sizeof(xv));
                acc[q] = acc[q] + kv * xv;
            }
        }
    }
    for (int q = 0; q < nb; q++) {
        int64_t c = o + q * DW_VW;
        size_t cols = (size_t)(ow_n - c < DW_VW ? ow_n - c : DW_VW);
        memcpy(yr + c, &acc[q], cols * sizeof(float));
    }
}

/* floats of a zero-padded channel plane, at most. It was an array of this size on the stack:
 * with -fstack-clash-protection every page of it was probed at each call, so each engine thread
 * that ran a depthwise Conv kept all 32 KB resident for planes of a few KB (PaddleOCR cls
 * served: the two threads' stacks 72 KB above the baseline). Now allocated per part, its size. */
#define DW_PAD_MAX 8192

/* Depthwise 2-D convolution (one input and one output channel per group): a direct kernel per
 * channel. With stride 1 along the row and a channel plane that fits DW_PAD_MAX, the plane is
 * copied once between zero columns (the padding, and room for a last partial block), and every
 * output row goes in blocks of 16 columns held in a register over all taps: one load and
 * multiply-add per tap, one store per block. Otherwise tap by tap through memory, with each
 * tap's valid output columns computed once (dw_cols). Both add the bias and then the taps in
 * the same order (the padded plane adds products with zero: the same values). Work item =
 * (batch, channel). */
VEIL_TARGET_CLONES
static void conv_dw_part(void *ctx, size_t begin, size_t end)
{
    const struct conv_job *j = ctx;
    const struct veil_geom *g = j->g;
    int64_t ih_n = g->in[0];
    int64_t iw_n = g->in[1];
    int64_t kw_n = g->kernel[1];
    int64_t oh_n = g->out[0];
    int64_t ow_n = g->out[1];
    int64_t sw = g->stride[1];
    int64_t dw = g->dil[1];
    int64_t pw = g->pad_begin[1];
    /* padded row length: output columns rounded up to a block, plus the kernel's reach */
    int64_t prow = (ow_n + DW_VW - 1) / DW_VW * DW_VW + (kw_n - 1) * dw;
    bool padded = sw == 1 && kw_n >= 1 && ih_n >= 1 && ow_n >= DW_VW && prow <= DW_PAD_MAX / ih_n;
    size_t xp_size = padded ? (size_t)(prow * ih_n) * sizeof(float) : 0;
    /* out of memory: tap by tap (the same values) */
    float *xp = padded ? malloc(xp_size) : NULL;
    padded = xp != NULL;

    /* each tap column's valid output columns, the same for every row: computed once (the
     * divisions cost as much as the taps on narrow rows) */
    int64_t tap_lo[DW_TAPS_MAX];
    int64_t tap_hi[DW_TAPS_MAX];
    for (int64_t kw = 0; kw < kw_n && kw < DW_TAPS_MAX; kw++) {
        int64_t off = kw * dw - pw;
        int64_t hi = iw_n - off <= 0 ? 0 : (iw_n - off + sw - 1) / sw;
        tap_lo[kw] = off >= 0 ? 0 : (-off + sw - 1) / sw;
        tap_hi[kw] = hi < ow_n ? hi : ow_n;
    }
    for (size_t w = begin; w < end; w++) {
        size_t ch = w % j->groups;
        const float *x = j->x + w * j->isz;
        const float *k = j->w + ch * j->krn;
        float *y = j->y + w * j->osz;
        float b = j->bias != NULL ? j->bias[ch] : 0.0f;
        if (!padded) {
            for (int64_t oh = 0; oh < oh_n; oh++) {
                dw_cols(g, x, k, b, tap_lo, tap_hi, oh, y + oh * ow_n, 0, ow_n);
            }
            continue;
        }
        /* xp column c holds input column c - pw (zero outside the row) */
        for (int64_t ih = 0; ih < ih_n; ih++) {
            float *pr = xp + ih * prow;
            int64_t c0 = pw < prow ? pw : prow;
            int64_t c1 = pw + iw_n < prow ? pw + iw_n : prow;
            memset(pr, 0, (size_t)c0 * sizeof(float));
            if (c1 > c0) {
                memcpy(pr + c0, x + ih * iw_n + (c0 - pw), (size_t)(c1 - c0) * sizeof(float));
            } else {
                c1 = c0;
            }
            memset(pr + c1, 0, (size_t)(prow - c1) * sizeof(float));
        }
        for (int64_t oh = 0; oh < oh_n; oh++) {
            float *yr = y + oh * ow_n;
            for (int64_t o = 0; o < ow_n;) {
                int64_t left = (ow_n - o + DW_VW - 1) / DW_VW;
                int nb = left >= 4 ? 4 : (int)left;
                switch (nb) {
                    case 4:
                        dw_blocks(g, xp, prow, k, b, oh, o, 4, yr);
                        break;
                    case 3:
                        dw_blocks(g, xp, prow, k, b, oh, o, 3, yr);
                        break;
                    case 2:
                        dw_blocks(g, xp, prow, k, b, oh, o, 2, yr);
                        break;
                    default:
                        dw_blocks(g, xp, prow, k, b, oh, o, 1, yr);
                        break;
                }
                o += nb * DW_VW;
            }
        }
    }
    if (xp != NULL) {
        OPENSSL_cleanse(xp, xp_size);
        free(xp);
    }
}

/* Conv with its weights packed at load (group 1; graph.c pack_conv_weights): per image, the
 * input itself (1x1, stride 1, no padding) or each im2col tile times the packed weights, the
 * bias added by the kernel. Nothing is repacked per call, so a tile's columns split over the
 * threads at no extra cost; the im2col of a tile splits by input channels. */
#define PK_COLS      48                /* the kernel's tile width (pack.c NR) */
#define PK_PART_WORK ((size_t)1 << 18) /* multiply-adds worth a part (a spinning worker's) */
/* Fewer output columns than this leave most of the 48-wide tile idle: such convolutions (1-D
 * convolutions over a few frames, Silero's STFT) stay on veil_sgemm when their weights are also
 * kept as they came (read by another node too); weights packed in place (wpack_only) run here
 * whatever the columns, on the kernel's 16-wide tile when few. */
#define PK_MIN_COLS  48
#define PK_COPY_PART ((size_t)1 << 15) /* im2col floats worth a thread's wake-up */

struct conv_pk {
    const struct conv_job *j;
    const struct veil_gemm_pack *pk;
    const float *b; /* the columns: nc wide, row stride ldb */
    size_t ldb;
    float *y; /* the tile's first output column, row stride osz */
    size_t nc;
    /* im2col of rows [r0, r1) of image x into b */
    const float *x;
    size_t r0;
    size_t r1;
    const float *const *bp; /* or row q of the columns at bp[q] (conv_rows_in_place) */
};

/* Work item = (column block of PK_COLS, panel of VEIL_PACK_MR output channels), column block
 * major: a part takes the panels of a block together (the block's columns stay in cache across
 * them). */
static void conv_pk_gemm(void *ctx, size_t begin, size_t end)
{
    const struct conv_pk *p = ctx;
    size_t panels = p->pk->panels;
    for (size_t i = begin; i < end;) {
        size_t p0 = i % panels;
        size_t p1 = end - i < panels - p0 ? p0 + (end - i) : panels;
        size_t c0 = i / panels * PK_COLS;
        size_t c1 = c0 + PK_COLS < p->nc ? c0 + PK_COLS : p->nc;
        if (p->bp != NULL) {
            veil_sgemm_packed_rows(p->pk, p0, p1, c1 - c0, p->bp, c0, p->j->bias, p->y + c0,
                                   p->j->osz);
        } else {
            veil_sgemm_packed_panels(p->pk, p0, p1, c1 - c0, p->b + c0, p->ldb, p->j->bias,
                                     p->y + c0, p->j->osz);
        }
        if (p->j->act != NULL) {
            size_t m1 = p1 * VEIL_PACK_MR < p->j->cout_g ? p1 * VEIL_PACK_MR : p->j->cout_g;
            conv_act(p->j->act, p->y + p0 * VEIL_PACK_MR * p->j->osz + c0, m1 - p0 * VEIL_PACK_MR,
                     c1 - c0, p->j->osz);
        }
        i += p1 - p0;
    }
}

/* Work item = panel: every column of panels [begin, end). A tile of few column blocks splits
 * evenly by output channels this way (by blocks one part could get 48 columns, the other 8). */
static void conv_pk_panels(void *ctx, size_t begin, size_t end)
{
    const struct conv_pk *p = ctx;
    if (p->bp != NULL) {
        veil_sgemm_packed_rows(p->pk, begin, end, p->nc, p->bp, 0, p->j->bias, p->y, p->j->osz);
    } else {
        veil_sgemm_packed_panels(p->pk, begin, end, p->nc, p->b, p->ldb, p->j->bias, p->y,
                                 p->j->osz);
    }
    if (p->j->act != NULL) {
        size_t m1 = end * VEIL_PACK_MR < p->j->cout_g ? end * VEIL_PACK_MR : p->j->cout_g;
        conv_act(p->j->act, p->y + begin * VEIL_PACK_MR * p->j->osz, m1 - begin * VEIL_PACK_MR,
                 p->nc, p->j->osz);
    }
}

/* Splits the GEMM of a tile of nc columns: by column blocks when there are enough of them for
 * every thread, else by panels. */
static VEIL_RESULT conv_pk_split(struct veil_op_ctx *c, struct conv_pk *p, size_t kk)
{
    size_t blocks = (p->nc + PK_COLS - 1) / PK_COLS;
    size_t panels = p->pk->panels;
    if (blocks >= 2 * (size_t)c->frame->threads) {
        size_t grain = PK_PART_WORK / (VEIL_PACK_MR * kk * PK_COLS + 1) + 1;
        return veil_op_parallel(c, blocks * panels, grain, conv_pk_gemm, p);
    }
    return veil_op_parallel(c, panels, PK_PART_WORK / (VEIL_PACK_MR * kk * p->nc + 1) + 1,
                            conv_pk_panels, p);
}

static void conv_pk_im2col(void *ctx, size_t begin, size_t end)
{
    const struct conv_pk *p = ctx;
    const struct conv_job *j = p->j;
    im2col(j->g, p->x + begin * j->isz, end - begin, j->krn, j->osz, p->r0, p->r1,
           (float *)p->b + begin * j->krn * p->nc);
}

/* A 2-D conv with a kernel one column wide, stride 1 and no padding: im2col row (channel,
 * kernel row kh) would be the input plane from input row kh * dilation on, out[0] * in[1]
 * contiguous floats. The GEMM reads those rows where they are. */
static bool conv_rows_in_place(const struct veil_geom *g)
{
    return g->sp == 2 && g->kernel[1] == 1 && g->stride[0] == 1 && g->stride[1] == 1 &&
           g->pad_begin[0] == 0 && g->pad_begin[1] == 0 && g->pad_end[0] == 0 &&
           g->pad_end[1] == 0 && g->out[1] == g->in[1];
}

static VEIL_RESULT conv_run_in_place(struct veil_op_ctx *c, struct conv_job *j, size_t batch)
{
    const struct veil_gemm_pack *pk = c->node->wpack;
    size_t kh_n = (size_t)j->g->kernel[0];
    size_t kk = j->cin_g * kh_n;
    const float **rows = calloc(kk, sizeof(*rows));
    veil_result r = VEIL_RESULT_OK;

    ENSURE(rows != NULL, VEIL_ERR_NOMEM);
    for (size_t n = 0; n < batch && veil_ok(r); n++) {
        const float *x = j->x + n * j->cin_g * j->isz;
        struct conv_pk p = {j, pk, NULL, 0, j->y + n * j->cout_g * j->osz, j->osz, x, 0, 1, rows};
        for (size_t ch = 0; ch < j->cin_g; ch++) {
            for (size_t kh = 0; kh < kh_n; kh++) {
                rows[ch * kh_n + kh] =
                    x + ch * j->isz + kh * (size_t)j->g->dil[0] * (size_t)j->g->in[1];
            }
        }
        r = conv_pk_split(c, &p, kk);
    }
    free(rows);
    return r;
}

static VEIL_RESULT conv_run_packed(struct veil_op_ctx *c, struct conv_job *j, size_t batch)
{
    const struct veil_gemm_pack *pk = c->node->wpack;
    bool direct = conv_pointwise(j->g);
    size_t rows = direct ? 1 : conv_rows(j);
    size_t tile = direct ? 1 : conv_tile_rows(j);
    size_t rw = direct ? j->osz : j->osz / rows;
    size_t col_size = direct ? 0 : conv_tile_size(j);
    size_t kk = j->cin_g * j->krn;
    void *colv = NULL;
    veil_result r = VEIL_RESULT_OK;

    if (!direct && conv_rows_in_place(j->g)) {
        return conv_run_in_place(c, j, batch);
    }
    if (!direct) {
        GUARD(veil_pool_take_scratch(c->frame->pool, col_size, &colv));
    }
    for (size_t n = 0; n < batch && veil_ok(r); n++) {
        const float *x = j->x + n * j->cin_g * j->isz;
        float *y = j->y + n * j->cout_g * j->osz;
        for (size_t r0 = 0; r0 < rows && veil_ok(r); r0 += tile) {
            size_t r1 = r0 + tile < rows ? r0 + tile : rows;
            size_t nc = (r1 - r0) * rw;
            struct conv_pk p = {j, pk, direct ? x : colv, nc, y + r0 * rw, nc, x, r0, r1, NULL};
            if (direct) {
                p.ldb = j->osz;
            } else {
                size_t cg = PK_COPY_PART / (j->krn * nc + 1) + 1;
                r = veil_op_parallel(c, j->cin_g, cg, conv_pk_im2col, &p);
            }
            if (veil_ok(r)) {
                r = conv_pk_split(c, &p, kk);
            }
        }
    }
    if (colv != NULL) {
        veil_pool_give_scratch(c->frame->pool, colv, col_size);
    }
    return r;
}

/* *act_done: the packed kernel's parts applied the node's folded activation. */
static VEIL_RESULT conv_compute(struct veil_op_ctx *c, bool *act_done)
{
    struct veil_geom g;
    int64_t group;
    struct conv_job j = {0};
    const struct veil_tensor *b = veil_op_in(c, 2);

    GUARD(conv_geom(c, &g, &group));
    j.g = &g;
    j.x = c->in[0]->data;
    j.w = c->in[1]->data;
    j.bias = b != NULL ? b->data : NULL;
    j.y = c->out[0]->data;
    j.groups = (size_t)group;
    j.cin_g = (size_t)c->in[1]->dims[1];
    j.cout_g = (size_t)c->in[1]->dims[0] / j.groups;
    j.krn = veil_op_span(c->in[1], 2, c->in[1]->rank);
    j.osz = veil_op_span(c->out[0], 2, c->out[0]->rank);
    j.isz = veil_op_span(c->in[0], 2, c->in[0]->rank);
    j.tile_bytes = CONV_TILE_BYTES;
    if (!conv_pointwise(&g)) {
        conv_tile_budget(c->frame->pool, &j);
    }
    GUARD(veil_op_work(c, c->out[0]->count, j.cin_g, j.krn, 1));
    ENSURE(j.cin_g * j.krn <= veil_op_size_max(c) / (j.osz + 1) / sizeof(float),
           VEIL_ERR_ENGINE_LIMIT);
    if (c->node != NULL && c->node->wpack_only) {
        /* the panels are all there is of the weights (graph.c pack_conv_weights) */
        const struct veil_gemm_pack *pk = c->node->wpack;
        ENSURE(j.groups == 1 && pk->m == j.cout_g && pk->k == j.cin_g * j.krn,
               VEIL_ERR_ENGINE_SHAPE);
        j.act = c->node->act ? c->node : NULL;
        *act_done = true;
        return conv_run_packed(c, &j, (size_t)c->in[0]->dims[0]);
    }
    if (g.sp == 2 && j.cin_g == 1 && j.cout_g == 1) {
        size_t items = (size_t)c->in[0]->dims[0] * j.groups;
        return veil_op_parallel(c, items, 1 + 16384 / (j.osz * j.krn + 1), conv_dw_part, &j);
    }
    if (c->node != NULL && c->node->wpack != NULL && j.groups == 1 && j.osz >= PK_MIN_COLS &&
        c->node->wpack->m == j.cout_g && c->node->wpack->k == j.cin_g * j.krn) {
        j.act = c->node->act ? c->node : NULL;
        *act_done = true;
        return conv_run_packed(c, &j, (size_t)c->in[0]->dims[0]);
    }
    /* one image and group split by columns, when each thread gets enough to outweigh the
     * dispatch */
    if ((size_t)c->in[0]->dims[0] * j.groups < c->frame->threads && j.osz >= 256 &&
        j.cout_g * j.osz * j.cin_g * j.krn >= ((size_t)1 << 22)) {
        return conv_run_wide(c, &j, (size_t)c->in[0]->dims[0]);
    }
    if (!conv_pointwise(&g) &&
        ((size_t)c->in[0]->dims[0] * j.groups == 1 || c->frame->threads <= 1)) {
        /* one part: its column tile comes from the pool (no fresh pages per call) */
        size_t col_size = conv_tile_size(&j);
        void *col;
        GUARD(veil_pool_take_scratch(c->frame->pool, col_size, &col));
        j.cols = col;
        conv_part(&j, 0, (size_t)c->in[0]->dims[0] * j.groups);
        veil_pool_give_scratch(c->frame->pool, col, col_size);
        ENSURE(!j.failed, VEIL_ERR_NOMEM);
        return VEIL_RESULT_OK;
    }
    GUARD(veil_op_parallel(c, (size_t)c->in[0]->dims[0] * j.groups, 1, conv_part, &j));
    ENSURE(!j.failed, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

/* Packed convolutions apply a folded activation in their parts; the other paths here. */
static VEIL_RESULT conv_run(struct veil_op_ctx *c)
{
    bool act_done = false;
    GUARD(conv_compute(c, &act_done));
    if (c->node != NULL && c->node->act && !act_done) {
        conv_act(c->node, c->out[0]->data, 1, c->out[0]->count, c->out[0]->count);
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_Conv = {"Conv", conv_shape, conv_run, false};
