/* bench_load MODEL.onnx: model loading from memory, as veil-serve does it (the model's bytes in
 * locked memory), each way in its own child process: veil_engine_load (weights copied once) and
 * veil_engine_load_inplace (weights borrowed). Prints seconds and the growth of peak RSS
 * (VmHWM during the load over VmRSS before it), against the reference measured in the same run: one
 * memcpy of the model's bytes into fresh memory (seconds) and the model's size (bytes). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "engine/engine.h"
#include <veil/secret.h>

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *volatile sink; /* keeps the reference copy from being optimized away */

/* "VmHWM:" (peak) or "VmRSS:" (now) of this process, KiB. */
static long status_kib(const char *key)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) {
            v = strtol(line + strlen(key), NULL, 10);
        }
    }
    (void)fclose(f);
    return v;
}

/* In a child: load one way, print seconds and VmHWM growth. */
static int child(const char *how, void *data, size_t size, double ref_s)
{
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag = {{0}};
    long before;
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

    /* "5" resets VmHWM to the current RSS (Linux 4.0) */
    if (fd < 0 || write(fd, "5", 1) != 1) {
        (void)fprintf(stderr, "bench_load: cannot reset VmHWM (/proc/self/clear_refs)\n");
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    before = status_kib("VmRSS:");
    double t0;
    veil_result r;
    double t;
    long grew;

    t0 = now_s();
    r = strcmp(how, "inplace") == 0 ? veil_engine_load_inplace(data, size, &diag, &m)
                                    : veil_engine_load(data, size, &diag, &m);
    t = now_s() - t0;
    grew = status_kib("VmHWM:") - before;

    if (!veil_ok(r)) {
        (void)fprintf(stderr, "bench_load: %s: %s %s\n", how, veil_strerror(r.code), diag.what);
        return 1;
    }
    (void)printf(
        "%-8s load %.3f s (%.2f x one memcpy)   peak RSS growth %ld MiB (%.2f x the "
        "model)\n",
        how, t, t / ref_s, grew / 1024, (double)grew * 1024.0 / (double)size);
    veil_engine_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const ways[] = {"copy", "inplace"};
    struct veil_wr w;
    void *locked = NULL;
    double ref_s;
    size_t size;
    int rc = 0;

    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        (void)fprintf(argc == 2 ? stdout : stderr, "usage: bench_load MODEL.onnx\n");
        return argc == 2 ? 0 : 2;
    }
    if (!veil_ok(veil_file_read(argv[1], VEIL_ENGINE_MODEL_SIZE_MAX, &w))) {
        (void)fprintf(stderr, "bench_load: %s: cannot read\n", argv[1]);
        return 1;
    }
    size = w.len;
    for (size_t k = 0; k < sizeof(ways) / sizeof(ways[0]); k++) {
        pid_t pid;
        int st = 0;
        (void)fflush(stdout);
        pid = fork();
        if (pid == 0) {
            void *copy;
            /* the reference: one copy of the model into fresh memory */
            double t0 = now_s();
            copy = malloc(size);
            if (copy == NULL) {
                _exit(1);
            }
            memcpy(copy, w.data, size);
            sink = copy;
            ref_s = now_s() - t0;
            free(sink);
            if (veil_locked_alloc(size, &locked) != 0) {
                (void)fprintf(stderr, "bench_load: locked memory (ulimit -l)\n");
                _exit(1);
            }
            memcpy(locked, w.data, size);
            veil_wr_free(&w);
            if (k == 0) {
                (void)printf("model %s: %zu bytes; one memcpy into fresh memory %.3f s\n", argv[1],
                             size, ref_s);
            }
            rc = child(ways[k], locked, size, ref_s);
            (void)fflush(stdout);
            _exit(rc);
        }
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            rc = 1;
        }
    }
    veil_wr_free(&w);
    return rc;
}
