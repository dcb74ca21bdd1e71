/* Helpers for the DCAP tests: vector files from $VEIL_SHARED_DIR/vectors, one verification run. */
#ifndef VEIL_DCAP_TEST_H
#define VEIL_DCAP_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/encoding.h"
#include "base/file.h"
#include "veil_test.h"
#include "verify/dcap.h"
#include "verify/dcap_internal.h"

static inline void dcap_vector_path(const char *rel, char *out, size_t out_size)
{
    const char *dir = getenv("VEIL_SHARED_DIR");

    (void)snprintf(out, out_size, "%s/vectors/%s", dir != NULL ? dir : "../shared", rel);
}

/* The whole file; the caller frees w. */
static inline void dcap_load(const char *rel, struct veil_wr *w)
{
    char path[4096];

    dcap_vector_path(rel, path, sizeof(path));
    EXPECT_OK(veil_file_read(path, 16u << 20, w));
}

static inline time_t dcap_time(const char *iso)
{
    time_t t = 0;

    EXPECT_OK(veil_dcap_time_parse(iso, &t));
    return t;
}

/* Collateral from vector paths (files or directories), NULL-terminated. */
static inline void dcap_collateral(struct veil_collateral *c, const char *const *rel)
{
    char path[4096];

    veil_collateral_init(c);
    for (size_t i = 0; rel != NULL && rel[i] != NULL; i++) {
        dcap_vector_path(rel[i], path, sizeof(path));
        EXPECT_OK(veil_collateral_add_path(c, path));
    }
}

/* The dcap-qvl TDX and SGX vectors (valid at the given times) with their collateral. */
#define TDX_QUOTE "tdx/dcapqvl-tdx/tdx_quote.bin"
#define TDX_COL   "tdx/dcapqvl-tdx/tdx_quote_collateral.json"
#define TDX_AT    "2025-07-19T10:00:34Z"
#define SGX_QUOTE "sgx/dcapqvl-sgx/sgx_quote.bin"
#define SGX_COL   "sgx/dcapqvl-sgx/sgx_quote_collateral.json"
#define SGX_AT    "2025-07-19T10:01:17Z"

struct dcap_fixture {
    bool tdx;
    struct veil_wr quote;
    struct veil_dcap_quote q;
    struct veil_collateral col;
    time_t at;
};

static inline void dcap_fixture_load(struct dcap_fixture *f, bool tdx)
{
    static const char *const tdx_col[] = {TDX_COL, NULL};
    static const char *const sgx_col[] = {SGX_COL, NULL};

    f->tdx = tdx;
    dcap_load(tdx ? TDX_QUOTE : SGX_QUOTE, &f->quote);
    EXPECT_OK(veil_dcap_quote_parse(f->quote.data, f->quote.len, &f->q));
    dcap_collateral(&f->col, tdx ? tdx_col : sgx_col);
    f->at = dcap_time(tdx ? TDX_AT : SGX_AT);
}

static inline void dcap_fixture_free(struct dcap_fixture *f)
{
    veil_wr_free(&f->quote);
    veil_collateral_free(&f->col);
}

struct dcap_run {
    veil_result r;
    struct veil_claims claims;
    struct veil_report report;
};

static inline void dcap_run_free(struct dcap_run *run)
{
    veil_claims_free(&run->claims);
    veil_report_free(&run->report);
}

static inline void dcap_print_report(const struct veil_report *rep)
{
    for (size_t i = 0; i < rep->count; i++) {
        const struct veil_check *c = &rep->items[i];
        fprintf(stderr, "  %-28s %-4s %s\n", c->id,
                c->status == VEIL_CHECK_PASS   ? "pass"
                : c->status == VEIL_CHECK_FAIL ? "FAIL"
                                               : "skip",
                c->detail);
    }
}

static inline void dcap_verify_bytes(bool tdx, const uint8_t *q, size_t n,
                                     const struct veil_collateral *col, time_t at,
                                     struct dcap_run *run)
{
    struct veil_verify_opts opts;

    memset(&opts, 0, sizeof(opts));
    opts.at = at;
    opts.collateral = col;
    veil_claims_init(&run->claims);
    veil_report_init(&run->report);
    run->r = tdx ? veil_verify_tdx(q, n, &opts, &run->claims, &run->report)
                 : veil_verify_sgx(q, n, &opts, &run->claims, &run->report);
    if (getenv("VEIL_TEST_VERBOSE") != NULL) {
        dcap_print_report(&run->report);
    }
}

static inline enum veil_check_status dcap_status(const struct dcap_run *run, const char *id)
{
    const struct veil_check *c = veil_report_find(&run->report, id);

    if (c == NULL) {
        fail_msg("check %s was not recorded", id);
    }
    return c->status;
}

/* Asserts a check's status, printing the report when it differs. */
#define EXPECT_CHECK(run, id, st)                                             \
    do {                                                                      \
        if (dcap_status((run), (id)) != (st)) {                               \
            dcap_print_report(&(run)->report);                                \
            fail_msg("check %s: expected status %d, got %d", (id), (int)(st), \
                     (int)dcap_status((run), (id)));                          \
        }                                                                     \
    } while (0)

/* A claim's text value equals want. */
static inline void dcap_expect_claim(const struct dcap_run *run, const char *name, const char *want)
{
    const struct veil_claim *cl = veil_claims_find(&run->claims, name);
    char *t;

    if (cl == NULL) {
        fail_msg("claim %s missing", name);
    }
    t = veil_claim_value_text(cl);
    EXPECT_NOT_NULL(t);
    bool same = strcmp(t, want) == 0;
    if (!same) {
        fprintf(stderr, "claim %s = %s, expected %s\n", name, t, want);
    }
    free(t);
    if (!same) {
        fail_msg("claim %s differs", name);
    }
}

#endif
