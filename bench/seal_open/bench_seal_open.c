/*
 * In-process opening throughput: veil_model_open_memory into locked memory, as veil-serve does
 * (no output file, so this measures verification + decryption, not the page cache).
 *   bench_seal_open SEALED MODEL_KEY SIGNER_PUB THREADS ITERATIONS
 * Prints one line: "open_memory threads=T bytes=N best_MBps=X median_MBps=Y cpu_MBps=Z", where
 * cpu_MBps is bytes per second of this process's CPU time (all threads): the figure to compare
 * with `openssl speed`, which counts CPU time too, on a machine that is not idle.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/secret.h"
#include <veil/veil.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;

    (void)clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct veil_secret *key = NULL;
    struct veil_wr pem;
    struct veil_model_info info;
    struct veil_open_params params = {0};
    double rates[64];
    double cpu0;
    double cpu_total = 0;
    void *dst = NULL;
    long threads;
    long iters;
    int fd;

    if (argc != 6) {
        (void)fprintf(stderr, "usage: %s SEALED MODEL_KEY SIGNER_PUB THREADS ITERATIONS\n",
                      argv[0]);
        return 2;
    }
    threads = strtol(argv[4], NULL, 10);
    iters = strtol(argv[5], NULL, 10);
    if (threads < 1 || threads > 64 || iters < 1 || iters > 64) {
        (void)fprintf(stderr, "threads 1..64, iterations 1..64\n");
        return 2;
    }
    if (!veil_ok(veil_file_read_secret(argv[2], VEIL_MODEL_KEY_BYTES, &key)) ||
        !veil_ok(veil_file_read(argv[3], 16384, &pem))) {
        (void)fprintf(stderr, "cannot read keys\n");
        return 1;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0 || veil_model_inspect_fd(fd, NULL, 0, &info) != 0 ||
        veil_locked_alloc(info.plaintext_size, &dst) != 0) {
        (void)fprintf(stderr, "cannot inspect %s or lock %llu bytes\n", argv[1],
                      info.plaintext_size);
        return 1;
    }
    params.threads = (unsigned)threads;
    for (long i = 0; i < iters; i++) {
        double t0;
        int rc;
        (void)lseek(fd, 0, SEEK_SET);
        t0 = now_s();
        cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        rc = veil_model_open_memory(fd, dst, info.plaintext_size, key->data, pem.data, pem.len,
                                    &params, NULL);
        rates[i] = (double)info.plaintext_size / (now_s() - t0) / 1e6;
        cpu_total += clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        if (rc != 0) {
            (void)fprintf(stderr, "open failed: %s\n", veil_strerror(rc));
            return 1;
        }
    }
    qsort(rates, (size_t)iters, sizeof(rates[0]), cmp_double);
    (void)printf(
        "open_memory threads=%ld bytes=%llu best_MBps=%.0f median_MBps=%.0f cpu_MBps=%.0f\n",
        threads, info.plaintext_size, rates[iters - 1], rates[iters / 2],
        (double)info.plaintext_size * (double)iters / cpu_total / 1e6);
    veil_locked_free(dst, info.plaintext_size);
    veil_secret_free(key);
    veil_wr_free(&pem);
    (void)close(fd);
    return 0;
}
