/*
 * TDX quote verification throughput on one core, on the dcap-qvl TDX vector with its full
 * collateral bundle: warm (veil_dcap_verify_cached: bundle unpacked, documents parsed and the root
 * decoded once; the memo remembers the PCK chain, the signing chain, document and CRL signatures
 * and the attestation key, so a call pays the quote and QE report signatures and the time checks)
 * and uncached (veil_verify_tdx, which prepares the collateral and a fresh memo on every call;
 * files are read once either way).
 * Rates are per CPU-second of this process (as `openssl speed` and bench_verify count), so other
 * load on the core does not skew the ratio bench/verify/run prints next to `openssl speed`.
 *
 * usage: bench_dcap [SECONDS] (vectors from $VEIL_SHARED_DIR, default ../shared)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "verify/dcap.h"
#include "verify/dcap_internal.h"

static double now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifications per second for `seconds`: with the prepared cache, or (NULL) preparing the
 * collateral on every call as veil_verify_tdx does. */
static bool run(const struct veil_wr *quote, const struct veil_verify_opts *opts,
                const struct veil_dcap_cache *cache, double seconds, double *rate)
{
    double t0 = now_s();
    double t1;
    long runs = 0;

    do {
        struct veil_claims claims;
        struct veil_report report;
        veil_result r;
        veil_claims_init(&claims);
        veil_report_init(&report);
        r = cache != NULL ? veil_dcap_verify_cached(VEIL_TEE_TDX, quote->data, quote->len, opts,
                                                    cache, &claims, &report)
                          : veil_verify_tdx(quote->data, quote->len, opts, &claims, &report);
        veil_claims_free(&claims);
        veil_report_free(&report);
        if (!veil_ok(r)) {
            fprintf(stderr, "bench_dcap: verification failed: %s\n", veil_error_name(r.code));
            return false;
        }
        runs++;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    *rate = (double)runs / (t1 - t0);
    return true;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("VEIL_SHARED_DIR");
    char path[4096];
    struct veil_wr quote;
    struct veil_collateral col;
    struct veil_verify_opts opts;
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    struct veil_dcap_cache *cache = NULL;
    double cached = 0;
    double uncached = 0;
    int rc = 1;

    if (dir == NULL) {
        dir = "../shared";
    }
    veil_collateral_init(&col);
    (void)snprintf(path, sizeof(path), "%s/vectors/tdx/dcapqvl-tdx/tdx_quote.bin", dir);
    if (!veil_ok(veil_file_read(path, VEIL_DCAP_QUOTE_SIZE_MAX, &quote))) {
        fprintf(stderr, "bench_dcap: cannot read %s (set VEIL_SHARED_DIR)\n", path);
        return 1;
    }
    (void)snprintf(path, sizeof(path), "%s/vectors/tdx/dcapqvl-tdx/tdx_quote_collateral.json", dir);
    if (!veil_ok(veil_collateral_add_path(&col, path))) {
        fprintf(stderr, "bench_dcap: cannot read %s\n", path);
        goto out;
    }
    memset(&opts, 0, sizeof(opts));
    opts.collateral = &col;
    if (!veil_ok(veil_dcap_time_parse("2025-07-19T10:00:34Z", &opts.at))) {
        goto out;
    }
    if (!veil_ok(veil_dcap_cache_new(&col, &cache))) {
        goto out;
    }
    if (!run(&quote, &opts, cache, seconds, &cached) ||
        !run(&quote, &opts, NULL, seconds, &uncached)) {
        goto out;
    }
    printf("tdx_verify_per_s_per_core %.1f\n", cached);
    printf("tdx_verify_uncached_per_s_per_core %.1f\n", uncached);
    rc = 0;
out:
    veil_dcap_cache_free(cache);
    veil_wr_free(&quote);
    veil_collateral_free(&col);
    return rc;
}
