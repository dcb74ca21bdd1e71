/* vmath.c: the vectorized float exp, sigmoid and tanh against the double-precision functions
 * rounded to float, over a dense sweep of the float range and at the edges (overflow,
 * underflow through the subnormals, NaN, infinities, signed zeros), at every array length
 * around the vector width (the padded tail gives the same bits as the full vectors). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "engine/ops.h"
#include "veil_test.h"

/* distance in representable floats (0 for equal values, +0 and -0 equal) */
static uint64_t ulps(float a, float b)
{
    int32_t ia;
    int32_t ib;
    memcpy(&ia, &a, sizeof(ia));
    memcpy(&ib, &b, sizeof(ib));
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
    int64_t ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return (uint64_t)(oa > ob ? oa - ob : ob - oa);
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static double ref_sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

enum { CHUNK = 4096 };

/* fn over every float whose bits are a multiple of step (both signs), checked against ref
 * within max_ulp; NaN must give NaN. */
static void sweep(void (*fn)(const float *, float *, size_t), double (*ref)(double), uint32_t step,
                  uint64_t max_ulp)
{
    static float x[CHUNK];
    static float y[CHUNK];
    uint64_t worst = 0;
    size_t k = 0;
    for (uint64_t u = 0; u <= 0xffffffffu; u += step) {
        x[k++] = from_bits((uint32_t)u);
        if (k == CHUNK || u + step > 0xffffffffu) {
            fn(x, y, k);
            for (size_t i = 0; i < k; i++) {
                float want = (float)ref((double)x[i]);
                if (isnan(x[i])) {
                    EXPECT_TRUE(isnan(y[i]));
                    continue;
                }
                uint64_t d = ulps(y[i], want);
                if (d > max_ulp) {
                    print_message("x %a: got %a want %a (%llu ulp)\n", (double)x[i], (double)y[i],
                                  (double)want, (unsigned long long)d);
                }
                EXPECT_TRUE(d <= max_ulp);
                worst = d > worst ? d : worst;
            }
            k = 0;
        }
    }
    print_message("sweep step %u: worst %llu ulp\n", step, (unsigned long long)worst);
}

static void test_expf_sweep(void **state)
{
    (void)state;
    sweep(veil_vexpf, exp, 61, 1);
}

static void test_sigmoid_sweep(void **state)
{
    (void)state;
    sweep(veil_vsigmoidf, ref_sigmoid, 199, 3);
}

static void test_tanh_sweep(void **state)
{
    (void)state;
    sweep(veil_vtanhf, tanh, 199, 3);
}

/* Overflow, underflow, the subnormal range, NaN, infinities and zeros, exactly. */
static void test_expf_edges(void **state)
{
    const float x[] = {
        0.0f,      -0.0f,       1.0f,        -1.0f,     INFINITY, -INFINITY, NAN,
        -NAN,      FLT_MAX,     -FLT_MAX,    88.72283f, /* largest finite result */
        88.72284f,                                      /* first to overflow */
        89.0f,     100.0f,      -87.33654f,             /* about FLT_MIN */
        -100.0f,   -103.27893f, -103.97208f, -103.98f,  -104.0f,  -105.0f,   -200.0f,
        FLT_MIN,   -FLT_MIN,    1e-45f,      -1e-45f,   1e-7f,    -1e-7f,
    };
    size_t n = sizeof(x) / sizeof(x[0]);
    float y[sizeof(x) / sizeof(x[0])];
    (void)state;
    veil_vexpf(x, y, n);
    for (size_t i = 0; i < n; i++) {
        float want = (float)exp((double)x[i]);
        if (isnan(x[i])) {
            EXPECT_TRUE(isnan(y[i]));
        } else {
            EXPECT_TRUE(ulps(y[i], want) <= 1);
        }
    }
    EXPECT_TRUE(y[0] == 1.0f && y[1] == 1.0f);
    EXPECT_TRUE(isinf(y[4]) && y[4] > 0 && y[5] == 0.0f);
    EXPECT_TRUE(y[8] == INFINITY && y[9] == 0.0f);
    EXPECT_TRUE(isfinite(y[10]) && y[11] == INFINITY && y[12] == INFINITY);
    EXPECT_TRUE(y[20] == 0.0f && y[21] == 0.0f);
    EXPECT_TRUE(y[16] > 0.0f && y[16] < FLT_MIN); /* a subnormal result */

    const float s[] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 100.0f, -100.0f, -200.0f};
    float ys[8];
    float yt[8];
    veil_vsigmoidf(s, ys, 8);
    veil_vtanhf(s, yt, 8);
    EXPECT_TRUE(ys[0] == 1.0f && ys[1] == 0.0f && isnan(ys[2]) && ys[3] == 0.5f);
    EXPECT_TRUE(ys[4] == 0.5f && ys[5] == 1.0f && ys[6] == (float)ref_sigmoid(-100.0));
    EXPECT_TRUE(ys[7] == 0.0f);
    EXPECT_TRUE(yt[0] == 1.0f && yt[1] == -1.0f && isnan(yt[2]) && yt[3] == 0.0f);
    EXPECT_TRUE(yt[4] == 0.0f && signbit(yt[4]) && yt[5] == 1.0f && yt[6] == -1.0f);
}

/* Every length 0..40, in place and not, at every offset: the tail gives the same bits as the
 * full vectors, nothing past n is written. */
static void test_lengths_and_tails(void **state)
{
    float x[64];
    float full[64];
    float y[66];
    (void)state;
    for (size_t i = 0; i < 64; i++) {
        x[i] = (float)i * 0.37f - 11.0f;
    }
    veil_vexpf(x, full, 64);
    for (size_t off = 0; off < 17; off++) {
        for (size_t n = 0; off + n <= 64 && n <= 40; n++) {
            for (size_t i = 0; i < 66; i++) {
                y[i] = -7.0f;
            }
            veil_vexpf(x + off, y + 1, n);
            EXPECT_TRUE(y[0] == -7.0f && y[n + 1] == -7.0f);
            EXPECT_BYTES_EQ(y + 1, full + off, n * sizeof(float));
            memcpy(y, x + off, n * sizeof(float));
            veil_vexpf(y, y, n);
            EXPECT_BYTES_EQ(y, full + off, n * sizeof(float));
        }
    }
}

/* Max (NaN ignored, -inf for none) and double sum against plain loops, every length 0..70. */
static void test_max_and_sum(void **state)
{
    float x[70];
    (void)state;
    for (size_t i = 0; i < 70; i++) {
        x[i] = (float)((i * 37) % 71) * 0.25f - 9.0f;
    }
    x[5] = NAN;
    x[40] = NAN;
    for (size_t n = 0; n <= 70; n++) {
        float mx = -INFINITY;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            mx = x[i] > mx ? x[i] : mx;
            sum += isnan(x[i]) ? 0.0 : (double)x[i];
        }
        EXPECT_TRUE(veil_vmaxf(x, n) == mx);
        if (n <= 5) {
            EXPECT_TRUE(fabs(veil_vsumf(x, n) - sum) <= 1e-9);
        } else {
            EXPECT_TRUE(isnan(veil_vsumf(x, n)));
        }
    }
    /* all NaN: -inf; NaN first then a value: the value */
    float nan2[20];
    for (size_t i = 0; i < 20; i++) {
        nan2[i] = NAN;
    }
    EXPECT_TRUE(veil_vmaxf(nan2, 20) == -INFINITY);
    nan2[19] = 3.0f;
    nan2[3] = -2.0f;
    EXPECT_TRUE(veil_vmaxf(nan2, 20) == 3.0f);
    nan2[19] = NAN;
    EXPECT_TRUE(veil_vmaxf(nan2, 20) == -2.0f);
}

VEIL_TEST_MAIN(test_max_and_sum, test_expf_sweep, test_sigmoid_sweep, test_tanh_sweep,
               test_expf_edges, test_lengths_and_tails)
