/* bench_sgemm: the engine's reference SGEMM against the dispatching one (OpenBLAS for large
 * products when the build has it) on shapes typical of convolutions and linear layers.
 * Prints GFLOP/s of both and their ratio; the engine uses whichever this shows to be faster. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/ops.h"

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*gemm_fn)(bool, bool, size_t, size_t, size_t, float, const float *, size_t,
                        const float *, size_t, float, float *, size_t);

static double gflops(gemm_fn f, size_t m, size_t n, size_t k, const float *a, const float *b,
                     float *c)
{
    int reps = 0;
    double t0 = now_s();
    double t = 0;
    while (t < 0.3 || reps < 2) {
        f(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        reps++;
        t = now_s() - t0;
    }
    return 2.0 * (double)m * (double)n * (double)k * reps / t / 1e9;
}

int main(void)
{
    static const size_t shapes[][3] = {
        {64, 3136, 576},  /* 3x3 conv, 64 -> 64 channels, 56x56 */
        {128, 784, 1152}, /* 3x3 conv, 128 channels, 28x28 */
        {32, 12544, 27},  /* first conv, 3 -> 32 channels, 112x112 */
        {1, 1000, 1280},  /* classifier, batch 1 */
        {64, 64, 64},     /* small */
    };
    (void)printf("engine sgemm: %s\n",
                 veil_sgemm_uses_blas() ? "OpenBLAS for large products" : "reference only");
    (void)printf("%6s %6s %6s %12s %12s %7s\n", "m", "n", "k", "ref GFLOP/s", "used GFLOP/s",
                 "ratio");
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        size_t m = shapes[s][0];
        size_t n = shapes[s][1];
        size_t k = shapes[s][2];
        float *a = malloc(m * k * sizeof(float));
        float *b = malloc(k * n * sizeof(float));
        float *c = malloc(m * n * sizeof(float));
        if (a == NULL || b == NULL || c == NULL) {
            return 1;
        }
        for (size_t i = 0; i < m * k; i++) {
            a[i] = (float)(i % 17) / 17.0f;
        }
        for (size_t i = 0; i < k * n; i++) {
            b[i] = (float)(i % 13) / 13.0f;
        }
        double ref = gflops(veil_sgemm_ref, m, n, k, a, b, c);
        double used = gflops(veil_sgemm, m, n, k, a, b, c);
        (void)printf("%6zu %6zu %6zu %12.2f %12.2f %7.2f\n", m, n, k, ref, used, used / ref);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
