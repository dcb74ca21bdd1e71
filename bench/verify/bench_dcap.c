/*
 * TDX quote verification throughput on one core: veil_verify_tdx on the dcap-qvl TDX vector with
 * its full collateral bundle already in memory (files read and recognized once; no I/O in the
 * loop). Every call still parses the collateral JSON and verifies every signature: veil has no
 * verified-collateral cache yet. bench/verify/run puts the figure next to `openssl speed`.
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

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("VEIL_SHARED_DIR");
    char path[4096];
    struct veil_wr quote;
    struct veil_collateral col;
    struct veil_verify_opts opts;
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    double t0, t1;
    long runs = 0;
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
    t0 = now_s();
    do {
        struct veil_claims claims;
        struct veil_report report;
        veil_claims_init(&claims);
        veil_report_init(&report);
        veil_result r = veil_verify_tdx(quote.data, quote.len, &opts, &claims, &report);
        veil_claims_free(&claims);
        veil_report_free(&report);
        if (!veil_ok(r)) {
            fprintf(stderr, "bench_dcap: verification failed: %s\n", veil_error_name(r.code));
            goto out;
        }
        runs++;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    printf("tdx_verify_per_s_per_core %.1f\n", (double)runs / (t1 - t0));
    printf("tdx_verify_runs %ld\n", runs);
    rc = 0;
out:
    veil_wr_free(&quote);
    veil_collateral_free(&col);
    return rc;
}
