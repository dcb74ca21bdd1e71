/*
 * The warm cache's memo: a verification with a warm memo gives the same check report as one
 * without (valid vectors and mutated ones, after a warm pass with the good input), time-dependent
 * checks are still judged at the call's time, the memo stays bounded, and threads may share it.
 */
#include <pthread.h>

#include "veil_dcap_test.h"

#define PASS VEIL_CHECK_PASS
#define FAIL VEIL_CHECK_FAIL

static void run_cached(const struct veil_dcap_cache *cache, bool tdx, const uint8_t *q, size_t n,
                       time_t at, struct dcap_run *run)
{
    struct veil_verify_opts opts;

    memset(&opts, 0, sizeof(opts));
    opts.at = at;
    veil_claims_init(&run->claims);
    veil_report_init(&run->report);
    run->r = veil_dcap_verify_cached(tdx ? VEIL_TEE_TDX : VEIL_TEE_SGX, q, n, &opts, cache,
                                     &run->claims, &run->report);
}

/* detail without the " (cached)" note */
static void plain_detail(const char *detail, char *out, size_t out_size)
{
    static const char note[] = " (cached)";
    const char *p = strstr(detail, note);

    if (p == NULL) {
        (void)snprintf(out, out_size, "%s", detail);
    } else {
        (void)snprintf(out, out_size, "%.*s%s", (int)(p - detail), detail, p + sizeof(note) - 1);
    }
}

/* The same result, the same checks in the same order with the same outcome and words. */
static void expect_same_report(const struct dcap_run *a, const struct dcap_run *b)
{
    EXPECT_ERR(a->r, b->r.code);
    if (a->report.count != b->report.count) {
        dcap_print_report(&a->report);
        dcap_print_report(&b->report);
    }
    EXPECT_EQ(a->report.count, b->report.count);
    for (size_t i = 0; i < a->report.count; i++) {
        char da[1024];
        char db[1024];
        EXPECT_STR_EQ(a->report.items[i].id, b->report.items[i].id);
        if (a->report.items[i].status != b->report.items[i].status) {
            dcap_print_report(&a->report);
            dcap_print_report(&b->report);
            fail_msg("check %s: %d with the memo, %d without", a->report.items[i].id,
                     (int)a->report.items[i].status, (int)b->report.items[i].status);
        }
        plain_detail(a->report.items[i].detail, da, sizeof(da));
        plain_detail(b->report.items[i].detail, db, sizeof(db));
        EXPECT_STR_EQ(da, db);
    }
}

static bool detail_cached(const struct dcap_run *run, const char *id)
{
    const struct veil_check *c = veil_report_find(&run->report, id);

    return c != NULL && strstr(c->detail, "(cached)") != NULL;
}

/* Verifies q with the warm cache and without any, expects the same report; returns the cached
 * run (caller frees). */
static void compare(const struct veil_dcap_cache *cache, bool tdx, const uint8_t *q, size_t n,
                    const struct veil_collateral *col, time_t at, struct dcap_run *warm)
{
    struct dcap_run cold;

    run_cached(cache, tdx, q, n, at, warm);
    dcap_verify_bytes(tdx, q, n, col, at, &cold);
    expect_same_report(warm, &cold);
    dcap_run_free(&cold);
}

static void test_valid_vectors_same_report(void **state)
{
    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        struct dcap_fixture v;
        struct veil_dcap_cache *cache = NULL;
        struct dcap_run run;
        dcap_fixture_load(&v, tdx != 0);
        EXPECT_OK(veil_dcap_cache_new(&v.col, &cache));
        for (int i = 0; i < 3; i++) {
            compare(cache, v.tdx, v.quote.data, v.quote.len, &v.col, v.at, &run);
            EXPECT_ERR(run.r, VEIL_OK);
            /* the first call fills the memo, the next ones use it */
            EXPECT_EQ(detail_cached(&run, "dcap.pck_chain"), i > 0);
            EXPECT_EQ(detail_cached(&run, "dcap.tcb_info.signature"), i > 0);
            EXPECT_EQ(detail_cached(&run, "dcap.qe_identity.signature"), i > 0);
            dcap_run_free(&run);
        }
        veil_dcap_cache_free(cache);
        dcap_fixture_free(&v);
    }
}

/* Changes one base64 character near the end (the signature) of the k-th PEM certificate. */
static uint8_t *mutate_cert(const struct dcap_fixture *v, int k)
{
    static const char end[] = "-----END CERTIFICATE-----";
    uint8_t *p = malloc(v->quote.len);
    const uint8_t *pem = v->q.pck_chain_pem;
    const uint8_t *at = pem;
    size_t pos;

    EXPECT_NOT_NULL(p);
    memcpy(p, v->quote.data, v->quote.len);
    for (int i = 0; i <= k; i++) {
        at = memmem(at, v->q.pck_chain_pem_size - (size_t)(at - pem), end, sizeof(end) - 1);
        EXPECT_NOT_NULL(at);
        if (i < k) {
            at += sizeof(end) - 1;
        }
    }
    pos = (size_t)(at - v->quote.data) - 12;
    while (p[pos] == '\n' || p[pos] == '=') {
        pos--;
    }
    p[pos] = p[pos] == 'A' ? 'B' : 'A';
    return p;
}

/* A damaged PCK leaf, PCK CA or quote signature is refused, with the same check named, by a
 * memo that has just passed the good quote. */
static void test_mutated_quotes_after_warm_pass(void **state)
{
    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        struct dcap_fixture v;
        struct veil_dcap_cache *cache = NULL;
        struct dcap_run run;
        uint8_t *bad;
        dcap_fixture_load(&v, tdx != 0);
        EXPECT_OK(veil_dcap_cache_new(&v.col, &cache));
        for (int k = 0; k < 2; k++) { /* PCK leaf, PCK CA */
            run_cached(cache, v.tdx, v.quote.data, v.quote.len, v.at, &run);
            EXPECT_ERR(run.r, VEIL_OK);
            dcap_run_free(&run);
            bad = mutate_cert(&v, k);
            compare(cache, v.tdx, bad, v.quote.len, &v.col, v.at, &run);
            EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
            EXPECT_CHECK(&run, "dcap.pck_chain", FAIL);
            EXPECT_FALSE(detail_cached(&run, "dcap.pck_chain"));
            dcap_run_free(&run);
            free(bad);
        }
        /* quote signature (r), then the signed body */
        size_t offs[] = {v.q.signed_size + 4 + 5, 100};
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
            bad = malloc(v.quote.len);
            EXPECT_NOT_NULL(bad);
            memcpy(bad, v.quote.data, v.quote.len);
            bad[offs[i]] ^= 0x04;
            compare(cache, v.tdx, bad, v.quote.len, &v.col, v.at, &run);
            EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
            EXPECT_CHECK(&run, "dcap.quote_signature", FAIL);
            EXPECT_CHECK(&run, "dcap.pck_chain", PASS); /* the chain itself came from the memo */
            EXPECT_TRUE(detail_cached(&run, "dcap.pck_chain"));
            dcap_run_free(&run);
            free(bad);
        }
        veil_dcap_cache_free(cache);
        dcap_fixture_free(&v);
    }
}

/* The bundle with one hex digit of a member's value changed at from_end characters before its
 * closing quote. */
static void bundle_mutated(const char *path, const char *member, size_t from_end,
                           struct veil_collateral *col)
{
    struct veil_wr b;
    char key[64];
    uint8_t *p;
    uint8_t *end;

    dcap_load(path, &b);
    (void)snprintf(key, sizeof(key), "\"%s\": \"", member);
    p = memmem(b.data, b.len, key, strlen(key));
    EXPECT_NOT_NULL(p);
    p += strlen(key);
    end = memchr(p, '"', b.len - (size_t)(p - b.data));
    EXPECT_NOT_NULL(end);
    end[-(ptrdiff_t)from_end] = end[-(ptrdiff_t)from_end] == '0' ? '1' : '0';
    veil_collateral_init(col);
    EXPECT_OK(veil_collateral_add_bytes(col, b.data, b.len));
    veil_wr_free(&b);
}

/* Collateral refreshed into a new cache that shares the memo: a damaged document signature or
 * CRL is refused although the memo holds the good ones' passes. */
static void test_mutated_collateral_shared_memo(void **state)
{
    static const struct {
        const char *member;
        const char *check;
    } cases[] = {{"tcb_info_signature", "dcap.tcb_info.signature"},
                 {"qe_identity_signature", "dcap.qe_identity.signature"},
                 {"pck_crl", "dcap.crl.pck"},
                 {"root_ca_crl", "dcap.crl.root"}};

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        struct dcap_fixture v;
        struct veil_dcap_memo *memo = NULL;
        struct veil_dcap_cache *good = NULL;
        struct dcap_run run;
        dcap_fixture_load(&v, tdx != 0);
        EXPECT_OK(veil_dcap_memo_new(&memo));
        EXPECT_OK(veil_dcap_cache_new_memo(&v.col, memo, &good));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct veil_collateral col;
            struct veil_dcap_cache *bad = NULL;
            run_cached(good, v.tdx, v.quote.data, v.quote.len, v.at, &run);
            EXPECT_ERR(run.r, VEIL_OK);
            dcap_run_free(&run);
            bundle_mutated(v.tdx ? TDX_COL : SGX_COL, cases[i].member, 8, &col);
            EXPECT_OK(veil_dcap_cache_new_memo(&col, memo, &bad));
            compare(bad, v.tdx, v.quote.data, v.quote.len, &col, v.at, &run);
            EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
            EXPECT_CHECK(&run, cases[i].check, FAIL);
            EXPECT_TRUE(detail_cached(&run, "dcap.pck_chain")); /* the quote's chain is shared */
            dcap_run_free(&run);
            veil_dcap_cache_free(bad);
            veil_collateral_free(&col);
        }
        veil_dcap_cache_free(good);
        veil_dcap_memo_free(memo);
        dcap_fixture_free(&v);
    }
}

/* Warm at the vector's time, then verified at times outside the windows: every time-dependent
 * check fails just as without the memo. */
static void test_time_checks_with_warm_memo(void **state)
{
    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        struct dcap_fixture v;
        struct veil_dcap_cache *cache = NULL;
        struct dcap_run run;
        dcap_fixture_load(&v, tdx != 0);
        EXPECT_OK(veil_dcap_cache_new(&v.col, &cache));
        run_cached(cache, v.tdx, v.quote.data, v.quote.len, v.at, &run);
        EXPECT_ERR(run.r, VEIL_OK);
        dcap_run_free(&run);

        /* 2053: PCK chain, TCB Signing certificate, documents and CRLs all expired */
        compare(cache, v.tdx, v.quote.data, v.quote.len, &v.col, dcap_time("2053-07-01T00:00:00Z"),
                &run);
        EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
        EXPECT_CHECK(&run, "dcap.pck_chain", PASS);
        EXPECT_TRUE(detail_cached(&run, "dcap.pck_chain"));
        EXPECT_CHECK(&run, "dcap.pck_chain.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
        EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
        EXPECT_CHECK(&run, "dcap.qe_identity.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.crl.pck", FAIL);
        EXPECT_CHECK(&run, "dcap.crl.root", FAIL);
        dcap_run_free(&run);

        /* a month later: certificates still valid, documents and CRLs expired */
        compare(cache, v.tdx, v.quote.data, v.quote.len, &v.col, v.at + 31 * 86400, &run);
        EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
        EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
        EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
        EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.crl.pck", FAIL);
        dcap_run_free(&run);

        /* 2015: nothing issued yet */
        compare(cache, v.tdx, v.quote.data, v.quote.len, &v.col, dcap_time("2015-01-01T00:00:00Z"),
                &run);
        EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
        EXPECT_CHECK(&run, "dcap.pck_chain.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
        EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
        EXPECT_CHECK(&run, "dcap.qe_identity.validity", FAIL);
        dcap_run_free(&run);

        /* and back: still good */
        compare(cache, v.tdx, v.quote.data, v.quote.len, &v.col, v.at, &run);
        EXPECT_ERR(run.r, VEIL_OK);
        dcap_run_free(&run);
        veil_dcap_cache_free(cache);
        dcap_fixture_free(&v);
    }
}

static void fill_key(uint8_t key[32], uint32_t i)
{
    memset(key, 0xa5, 32);
    key[0] = (uint8_t)i;
    key[1] = (uint8_t)(i >> 8);
}

/* However many results go in, the memo holds at most its slots; the least recently used go. */
static void test_memo_bounded(void **state)
{
    struct veil_dcap_memo *m = NULL;
    struct veil_dcap_chain *held;
    uint8_t key[32];
    size_t passes;
    size_t chains;
    size_t keys;

    (void)state;
    EXPECT_OK(veil_dcap_memo_new(&m));
    for (uint32_t i = 0; i < 3 * VEIL_DCAP_MEMO_PASS_SLOTS; i++) {
        fill_key(key, i);
        veil_dcap_memo_pass(m, key);
        if (i % 2 == 0) {
            fill_key(key, 0);
            EXPECT_TRUE(veil_dcap_memo_passed(m, key)); /* kept in use: never evicted */
        }
    }
    veil_dcap_memo_count(m, &passes, &chains, &keys);
    EXPECT_EQ(passes, VEIL_DCAP_MEMO_PASS_SLOTS);
    fill_key(key, 0);
    EXPECT_TRUE(veil_dcap_memo_passed(m, key));
    fill_key(key, 1);
    EXPECT_FALSE(veil_dcap_memo_passed(m, key)); /* least recently used: gone */
    fill_key(key, 3 * VEIL_DCAP_MEMO_PASS_SLOTS - 1);
    EXPECT_TRUE(veil_dcap_memo_passed(m, key));
    fill_key(key, 10000);
    EXPECT_FALSE(veil_dcap_memo_passed(m, key)); /* never put */

    /* A chain evicted while held stays usable until its holder releases it. */
    held = veil_dcap_chain_new();
    EXPECT_NOT_NULL(held);
    fill_key(held->key, 5000);
    held->built = sk_X509_new_null();
    veil_dcap_memo_chain_put(m, held);
    for (uint32_t i = 0; i < 2 * VEIL_DCAP_MEMO_CHAIN_SLOTS; i++) {
        struct veil_dcap_chain *ch = veil_dcap_chain_new();
        EXPECT_NOT_NULL(ch);
        fill_key(ch->key, i);
        veil_dcap_memo_chain_put(m, ch);
        veil_dcap_memo_chain_release(m, ch);
    }
    veil_dcap_memo_count(m, &passes, &chains, &keys);
    EXPECT_EQ(chains, VEIL_DCAP_MEMO_CHAIN_SLOTS);
    fill_key(key, 5000);
    EXPECT_NULL(veil_dcap_memo_chain_get(m, key));
    EXPECT_FALSE(held->listed);
    EXPECT_EQ(sk_X509_num(held->built), 0);
    veil_dcap_memo_chain_release(m, held); /* freed here (ASan: no leak, no double free) */
    fill_key(key, 2 * VEIL_DCAP_MEMO_CHAIN_SLOTS - 1);
    held = veil_dcap_memo_chain_get(m, key);
    EXPECT_NOT_NULL(held);
    veil_dcap_memo_chain_release(m, held);
    veil_dcap_memo_free(m);
}

/* Many distinct attestation keys: the key table stays bounded and keys still verify. */
static void test_key_table_bounded(void **state)
{
    struct dcap_fixture v;
    struct veil_dcap_memo *m = NULL;
    EVP_PKEY *good = NULL;
    size_t passes;
    size_t chains;
    size_t keys;

    (void)state;
    dcap_fixture_load(&v, true);
    EXPECT_OK(veil_dcap_memo_new(&m));
    for (int i = 0; i < 3 * VEIL_DCAP_MEMO_KEY_SLOTS; i++) {
        EVP_PKEY *k = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        uint8_t pub[65];
        size_t n = 0;
        EXPECT_NOT_NULL(ctx);
        EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
        EXPECT_EQ(EVP_PKEY_CTX_set_group_name(ctx, "prime256v1"), 1);
        EXPECT_EQ(EVP_PKEY_keygen(ctx, &k), 1);
        EXPECT_EQ(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pub, sizeof(pub), &n), 1);
        EXPECT_EQ(n, 65);
        EVP_PKEY_free(k);
        EVP_PKEY_CTX_free(ctx);
        k = NULL;
        EXPECT_OK(veil_dcap_memo_p256_key(m, pub + 1, &k));
        EVP_PKEY_free(k);
    }
    EXPECT_OK(veil_dcap_memo_p256_key(m, v.q.att_key, &good));
    EXPECT_TRUE(veil_dcap_ecdsa_verify(good, v.q.signed_data, v.q.signed_size, v.q.signature));
    EVP_PKEY_free(good);
    veil_dcap_memo_count(m, &passes, &chains, &keys);
    EXPECT_EQ(keys, VEIL_DCAP_MEMO_KEY_SLOTS);
    {
        uint8_t off_curve[64];
        EVP_PKEY *k = NULL;
        memset(off_curve, 0x11, sizeof(off_curve));
        EXPECT_ERR(veil_dcap_memo_p256_key(m, off_curve, &k), VEIL_ERR_CRYPTO_KEY);
        EXPECT_ERR(veil_dcap_memo_p256_key(m, off_curve, &k), VEIL_ERR_CRYPTO_KEY);
    }
    veil_dcap_memo_free(m);
    dcap_fixture_free(&v);
}

struct worker {
    const struct veil_dcap_cache *cache;
    const struct dcap_fixture *v;
    const uint8_t *bad;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 12; i++) {
        struct dcap_run run;
        bool use_bad = i % 3 == 2;
        run_cached(w->cache, w->v->tdx, use_bad ? w->bad : w->v->quote.data, w->v->quote.len,
                   w->v->at, &run);
        if (run.r.code != (use_bad ? VEIL_ERR_ATTEST : VEIL_OK)) {
            w->failures++;
        }
        dcap_run_free(&run);
    }
    return NULL;
}

/* One cache (and memo) shared by threads: the same outcomes as one thread. */
static void test_threads_share_cache(void **state)
{
    struct dcap_fixture v;
    struct veil_dcap_cache *cache = NULL;
    pthread_t t[4];
    struct worker w[4];
    uint8_t *bad;

    (void)state;
    dcap_fixture_load(&v, true);
    EXPECT_OK(veil_dcap_cache_new(&v.col, &cache));
    bad = mutate_cert(&v, 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){cache, &v, bad, 0};
        EXPECT_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(pthread_join(t[i], NULL), 0);
        EXPECT_EQ(w[i].failures, 0);
    }
    free(bad);
    veil_dcap_cache_free(cache);
    dcap_fixture_free(&v);
}

VEIL_TEST_MAIN(test_valid_vectors_same_report, test_mutated_quotes_after_warm_pass,
               test_mutated_collateral_shared_memo, test_time_checks_with_warm_memo,
               test_memo_bounded, test_key_table_bounded, test_threads_share_cache)
