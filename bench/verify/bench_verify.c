/*
 * SEV-SNP verifications per second on one core: the gosevguest Milan report with its VCEK and
 * ASK/ARK, every check of veil_verify_snp. "cold" parses the pinned roots and verifies the
 * chain on every call; "warm" uses a veil_snp_cache (roots parsed once, chain signatures
 * remembered), leaving one ECDSA P-384 verification plus parsing and the other checks per call.
 * Rates are per CPU-second of this single-threaded process.
 *   bench_verify [VECTORS_DIR] [SECONDS]     (default $VEIL_SHARED_DIR/vectors, 3 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/file.h"
#include "base/result.h"
#include "verify/snp.h"

/* CPU time of this process: per-core rates, comparable with `openssl speed`, which also counts
 * CPU time (unless -elapsed) and so is not skewed by other load on the machine. */
static double now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *dir, const char *rel, struct veil_wr *w)
{
    char path[4096];

    (void)snprintf(path, sizeof(path), "%s/sev-snp/%s", dir, rel);
    if (!veil_ok(veil_file_read(path, 1 << 20, w))) {
        (void)fprintf(stderr, "bench_verify: cannot read %s\n", path);
        return -1;
    }
    return 0;
}

/* Runs verifications for about `seconds`; returns verifications per second (or -1). */
static double run(struct veil_snp_cache *cache, const struct veil_wr *rep,
                  const struct veil_verify_opts *o, double seconds)
{
    double start = now_s();
    double t = start;
    unsigned long n = 0;

    while (t - start < seconds) {
        for (int i = 0; i < 16; i++) {
            struct veil_claims cl;
            struct veil_report r;
            veil_result res;
            veil_claims_init(&cl);
            veil_report_init(&r);
            res = veil_verify_snp_cached(cache, rep->data, rep->len, o, &cl, &r);
            veil_claims_free(&cl);
            veil_report_free(&r);
            if (!veil_ok(res)) {
                (void)fprintf(stderr, "bench_verify: verification failed: %s\n",
                              veil_strerror(res.code));
                return -1;
            }
            n++;
        }
        t = now_s();
    }
    return (double)n / (t - start);
}

int main(int argc, char **argv)
{
    const char *shared = getenv("VEIL_SHARED_DIR");
    char dflt[4096];
    const char *dir = argc > 1 ? argv[1] : NULL;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 3.0;
    struct veil_wr rep;
    struct veil_wr vcek;
    struct veil_wr chain;
    struct veil_collateral col;
    struct veil_verify_opts o;
    struct veil_snp_cache *cache = NULL;
    double cold;
    double warm;

    if (dir == NULL) {
        (void)snprintf(dflt, sizeof(dflt), "%s/vectors", shared != NULL ? shared : "../shared");
        dir = dflt;
    }
    if (seconds <= 0 || load(dir, "gosevguest-milan-vcek/attestation.bin", &rep) != 0 ||
        load(dir, "gosevguest-milan-vcek/vcek.der", &vcek) != 0 ||
        load(dir, "gosevguest-milan-vcek/ask_ark_milan.pem", &chain) != 0) {
        return 2;
    }
    veil_collateral_init(&col);
    if (!veil_ok(veil_collateral_add_bytes(&col, vcek.data, vcek.len)) ||
        !veil_ok(veil_collateral_add_bytes(&col, chain.data, chain.len)) ||
        !veil_ok(veil_snp_cache_new(&cache))) {
        return 1;
    }
    memset(&o, 0, sizeof(o));
    o.at = time(NULL);
    o.collateral = &col;
    cold = run(NULL, &rep, &o, seconds / 3);
    warm = run(cache, &rep, &o, seconds);
    if (cold < 0 || warm < 0) {
        return 1;
    }
    (void)printf("snp_verify_cold_per_s %.0f\n", cold);
    (void)printf("snp_verify_warm_per_s %.0f\n", warm);
    veil_snp_cache_free(cache);
    veil_collateral_free(&col);
    veil_wr_free(&rep);
    veil_wr_free(&vcek);
    veil_wr_free(&chain);
    return 0;
}
