/*
 * Vectorized float exp, sigmoid and tanh over arrays (ops.h). Written with the compiler's
 * vector types (16 floats), so the AVX-512, AVX2 and baseline clones of VEIL_TARGET_CLONES
 * each run them on full registers; a tail shorter than a vector goes through the same code on a
 * padded copy, so every element gets the same bits wherever it sits in the array.
 *
 * exp: x clamped to [-104, 89] (NaN passes the clamp), n = round(x / ln 2) by the 1.5 * 2^23
 * trick (no float-to-int conversion), r = x - n ln 2 in two steps (Cody-Waite), e^r by the
 * Cephes expf polynomial, times 2^n applied as 2^(n/2) * 2^(n - n/2) so that results down in
 * the subnormals are rounded once and 2^128 * e^r overflows to +inf. Within 1 ulp of the
 * correctly rounded exp over the float range (tests/unit/engine/test_vmath.c sweeps it).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/ops.h"

#define VW 16

/* The vector helpers below are static and inlined into each clone: their by-value vector ABI,
 * which gcc and clang warn about (-Wpsabi, off for this file in module.cmake), is never seen across
 * a call. */

typedef float vf __attribute__((vector_size(VW * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VW * sizeof(float))));
typedef uint32_t vu __attribute__((vector_size(VW * sizeof(float))));

static inline __attribute__((always_inline)) vf vsplat(float a)
{
    vf v;
    for (int i = 0; i < VW; i++) {
        v[i] = a;
    }
    return v;
}

/* m ? a : b with m from a vector comparison (all ones or all zeros per lane) */
static inline __attribute__((always_inline)) vf vsel(vi m, vf a, vf b)
{
    return (vf)(((vi)a & m) | ((vi)b & ~m));
}

static inline __attribute__((always_inline)) vf vexp(vf x)
{
    const vf hi = vsplat(89.0f);
    const vf lo = vsplat(-104.0f);
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23 */
    vf t;
    vf nf;
    vf r;
    vf p;
    vi n;
    vi k1;
    vi k2;

    x = vsel(x > hi, hi, x);
    x = vsel(x < lo, lo, x);
    t = x * vsplat(1.44269504088896341f) + magic;
    nf = t - magic;
    n = (vi)((vu)t - (vu)magic);
    r = x - nf * vsplat(0.693359375f);
    r = r - nf * vsplat(-2.12194440e-4f);
    p = vsplat(1.9875691500e-4f);
    p = p * r + vsplat(1.3981999507e-3f);
    p = p * r + vsplat(8.3334519073e-3f);
    p = p * r + vsplat(4.1665795894e-2f);
    p = p * r + vsplat(1.6666665459e-1f);
    p = p * r + vsplat(5.0000001201e-1f);
    p = p * (r * r) + r + vsplat(1.0f);
    /* n in [-150, 128] (any bits for NaN: the product stays NaN); both halves are normal */
    k1 = n >> 1;
    k2 = n - k1;
    k1 = (vi)(((vu)k1 + 127u) << 23);
    k2 = (vi)(((vu)k2 + 127u) << 23);
    return p * (vf)k1 * (vf)k2;
}

static inline __attribute__((always_inline)) vf vload(const float *x)
{
    vf v;
    memcpy(&v, x, sizeof(v));
    return v;
}

static inline __attribute__((always_inline)) void vstore(float *y, vf v)
{
    memcpy(y, &v, sizeof(v));
}

/* y[i] = f(x[i]) for a vector function f; x and y may be the same array */
#define VMAP(f, x, y, n)                                    \
    do {                                                    \
        size_t i_ = 0;                                      \
        for (; i_ + VW <= (n); i_ += VW) {                  \
            vstore((y) + i_, f(vload((x) + i_)));           \
        }                                                   \
        if (i_ < (n)) {                                     \
            float b_[VW] = {0};                             \
            memcpy(b_, (x) + i_, ((n)-i_) * sizeof(float)); \
            vstore(b_, f(vload(b_)));                       \
            memcpy((y) + i_, b_, ((n)-i_) * sizeof(float)); \
        }                                                   \
    } while (0)

VEIL_TARGET_CLONES
void veil_vexpf(const float *x, float *y, size_t n)
{
    VMAP(vexp, x, y, n);
}

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: e^-|x| never overflows, no cancellation */
static inline __attribute__((always_inline)) vf vsigmoid(vf x)
{
    vf e = vexp((vf)((vi)x | (vi)vsplat(-0.0f)));
    vf one = vsplat(1.0f);
    return vsel(x >= vsplat(0.0f), one, e) / (one + e);
}

VEIL_TARGET_CLONES
void veil_vsigmoidf(const float *x, float *y, size_t n)
{
    VMAP(vsigmoid, x, y, n);
}

/* Cephes tanhf: an odd polynomial below |x| = 0.625 (where 1 - 2 / (e^2x + 1) would cancel),
 * 1 - 2 / (e^2|x| + 1) above (e^2|x| = +inf gives 1), both on |x| and given x's sign: -0 stays
 * -0. */
static inline __attribute__((always_inline)) vf vtanh(vf x)
{
    vi sign = (vi)x & (vi)vsplat(-0.0f);
    vf ax = (vf)((vi)x & ~(vi)vsplat(-0.0f));
    vf one = vsplat(1.0f);
    vf z = x * x;
    vf p = vsplat(-5.70498872745e-3f);
    p = p * z + vsplat(2.06390887954e-2f);
    p = p * z + vsplat(-5.37397155531e-2f);
    p = p * z + vsplat(1.33314422036e-1f);
    p = p * z + vsplat(-3.33332819422e-1f);
    p = p * z * ax + ax;
    vf big = one - vsplat(2.0f) / (vexp(ax + ax) + one);
    return (vf)((vi)vsel(ax >= vsplat(0.625f), big, p) | sign);
}

VEIL_TARGET_CLONES
void veil_vtanhf(const float *x, float *y, size_t n)
{
    VMAP(vtanh, x, y, n);
}

/* Largest of x[0..n) ignoring NaN (-inf for none), as the loop mx = x > mx ? x : mx */
VEIL_TARGET_CLONES
float veil_vmaxf(const float *x, size_t n)
{
    vf m = vsplat(-INFINITY);
    size_t i = 0;
    float r = -INFINITY;
    for (; i + VW <= n; i += VW) {
        vf v = vload(x + i);
        m = vsel(v > m, v, m);
    }
    for (int l = 0; l < VW; l++) {
        r = m[l] > r ? m[l] : r;
    }
    for (; i < n; i++) {
        r = x[i] > r ? x[i] : r;
    }
    return r;
}

typedef double vd __attribute__((vector_size(VW / 2 * sizeof(double))));
typedef float vh __attribute__((vector_size(VW / 2 * sizeof(float))));

/* Sum of x[0..n) in double: 16 lanes of partial sums, then the lanes and the tail in order
 * (the same result for the same array wherever it is called from). */
VEIL_TARGET_CLONES
double veil_vsumf(const float *x, size_t n)
{
    vd a = {0};
    vd b = {0};
    size_t i = 0;
    double r = 0;
    for (; i + VW <= n; i += VW) {
        vh lo;
        vh hi;
        memcpy(&lo, x + i, sizeof(lo));
        memcpy(&hi, x + i + VW / 2, sizeof(hi));
        a = a + __builtin_convertvector(lo, vd);
        b = b + __builtin_convertvector(hi, vd);
    }
    for (int l = 0; l < VW / 2; l++) {
        r += a[l] + b[l];
    }
    for (; i < n; i++) {
        r += (double)x[i];
    }
    return r;
}
