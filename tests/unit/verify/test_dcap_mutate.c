/* Mutations of real quotes and collateral: each damaged part makes its own check fail. */
#include "veil_dcap_test.h"

#define PASS VEIL_CHECK_PASS
#define FAIL VEIL_CHECK_FAIL

static size_t off_of(const struct dcap_fixture *f, const uint8_t *p)
{
    return (size_t)(p - f->quote.data);
}

/* Verifies the quote with byte off xor-ed by mask; returns the run (caller frees). */
static void run_flip(const struct dcap_fixture *f, size_t off, uint8_t mask, struct dcap_run *run)
{
    uint8_t *p = malloc(f->quote.len);

    memcpy(p, f->quote.data, f->quote.len);
    p[off] ^= mask;
    dcap_verify_bytes(f->tdx, p, f->quote.len, &f->col, f->at, run);
    free(p);
}

/* Flips every step-th byte of [from, to): the check must fail each time. */
static void flip_range(const struct dcap_fixture *f, size_t from, size_t to, size_t step,
                       const char *check_id)
{
    for (size_t off = from; off < to; off += step) {
        struct dcap_run run;
        run_flip(f, off, 0x01, &run);
        if (run.r.code != VEIL_ERR_ATTEST || dcap_status(&run, check_id) != FAIL) {
            dcap_print_report(&run.report);
            fail_msg("flip at %zu: %s did not fail (%s)", off, check_id,
                     veil_error_name(run.r.code));
        }
        dcap_run_free(&run);
    }
}

static void test_baselines_pass(void **state)
{
    struct dcap_fixture f;
    struct dcap_run run;

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        dcap_fixture_load(&f, tdx != 0);
        dcap_verify_bytes(f.tdx, f.quote.data, f.quote.len, &f.col, f.at, &run);
        EXPECT_ERR(run.r, VEIL_OK);
        dcap_run_free(&run);
        dcap_fixture_free(&f);
    }
}

static void test_signed_body_flips(void **state)
{
    struct dcap_fixture f;

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        dcap_fixture_load(&f, tdx != 0);
        /* from the reserved header bytes through the end of the body */
        flip_range(&f, 8, f.q.signed_size, 23, "dcap.quote_signature");
        dcap_fixture_free(&f);
    }
}

static void test_signature_and_key_flips(void **state)
{
    struct dcap_fixture f;
    size_t sig;

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        dcap_fixture_load(&f, tdx != 0);
        sig = f.q.signed_size + 4;
        flip_range(&f, sig, sig + 64, 7, "dcap.quote_signature");
        flip_range(&f, sig + 64, sig + 128, 9, "dcap.quote_signature");
        flip_range(&f, sig + 64, sig + 128, 9, "dcap.qe_report_data");
        dcap_fixture_free(&f);
    }
}

static void test_qe_report_flips(void **state)
{
    struct dcap_fixture f;
    size_t qe;
    size_t auth;

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        dcap_fixture_load(&f, tdx != 0);
        qe = off_of(&f, f.q.qe_report_raw);
        flip_range(&f, qe, qe + 384, 17, "dcap.qe_report_signature");
        flip_range(&f, qe + 384, qe + 448, 11, "dcap.qe_report_signature");
        auth = off_of(&f, f.q.qe_auth);
        flip_range(&f, auth, auth + f.q.qe_auth_size, 5, "dcap.qe_report_data");
        dcap_fixture_free(&f);
    }
}

/* Changes one base64 character in the signature (last line) of the k-th PEM certificate. */
static void run_cert_mutation(const struct dcap_fixture *f, int k, struct dcap_run *run)
{
    static const char end[] = "-----END CERTIFICATE-----";
    uint8_t *p = malloc(f->quote.len);
    const uint8_t *pem = f->q.pck_chain_pem;
    size_t pem_size = f->q.pck_chain_pem_size;
    const uint8_t *at = pem;
    size_t pos;

    memcpy(p, f->quote.data, f->quote.len);
    for (int i = 0; i <= k; i++) {
        at = memmem(at, pem_size - (size_t)(at - pem), end, sizeof(end) - 1);
        EXPECT_NOT_NULL(at);
        if (i < k) {
            at += sizeof(end) - 1;
        }
    }
    pos = off_of(f, at) - 12;
    while (p[pos] == '\n' || p[pos] == '=') {
        pos--;
    }
    p[pos] = p[pos] == 'A' ? 'B' : 'A';
    dcap_verify_bytes(f->tdx, p, f->quote.len, &f->col, f->at, run);
    free(p);
}

static void test_certificate_mutations(void **state)
{
    struct dcap_fixture f;
    struct dcap_run run;

    (void)state;
    for (int tdx = 0; tdx < 2; tdx++) {
        dcap_fixture_load(&f, tdx != 0);
        for (int k = 0; k < 2; k++) { /* PCK leaf, PCK CA */
            run_cert_mutation(&f, k, &run);
            EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
            EXPECT_CHECK(&run, "dcap.pck_chain", FAIL);
            EXPECT_CHECK(&run, "dcap.quote_signature", PASS);
            dcap_run_free(&run);
        }
        run_cert_mutation(&f, 2, &run); /* the root the quote carries */
        EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
        EXPECT_CHECK(&run, "dcap.pck_chain", PASS); /* anchored at the pinned copy */
        EXPECT_CHECK(&run, "dcap.root_pinned", FAIL);
        dcap_run_free(&run);
        dcap_fixture_free(&f);
    }
}

static void test_wrong_verifier(void **state)
{
    struct dcap_fixture f;
    struct dcap_run run;

    (void)state;
    dcap_fixture_load(&f, true);
    f.tdx = false;
    dcap_verify_bytes(false, f.quote.data, f.quote.len, &f.col, f.at, &run);
    EXPECT_ERR(run.r, VEIL_ERR_DCAP_QUOTE_TEE);
    EXPECT_CHECK(&run, "dcap.parse", FAIL);
    dcap_run_free(&run);
    dcap_fixture_free(&f);
}

static void test_tdx_module_signer(void **state)
{
    struct dcap_fixture f;
    struct dcap_run run;

    (void)state;
    dcap_fixture_load(&f, true);
    run_flip(&f, 48 + 16 + 48, 0x80, &run); /* MRSIGNER_SEAM[0] */
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    EXPECT_CHECK(&run, "dcap.tdx_module", FAIL);
    dcap_run_free(&run);
    dcap_fixture_free(&f);
}

static void test_report_data(void **state)
{
    struct dcap_fixture f;
    struct veil_verify_opts opts;
    struct veil_claims claims;
    struct veil_report report;
    uint8_t want[65];

    (void)state;
    dcap_fixture_load(&f, true);
    memset(&opts, 0, sizeof(opts));
    opts.at = f.at;
    opts.collateral = &f.col;
    memcpy(want, f.q.td.report_data, 64);
    want[64] = 0;
    for (int i = 0; i < 4; i++) {
        static const size_t sizes[] = {32, 64, 64, 65};
        veil_claims_init(&claims);
        veil_report_init(&report);
        if (i == 2) {
            want[63] ^= 1;
        }
        opts.report_data = want;
        opts.report_data_size = sizes[i];
        veil_result r = veil_verify_tdx(f.quote.data, f.quote.len, &opts, &claims, &report);
        EXPECT_ERR(r, i < 2 ? VEIL_OK : VEIL_ERR_ATTEST);
        EXPECT_EQ(veil_report_find(&report, "dcap.report_data")->status, i < 2 ? PASS : FAIL);
        veil_claims_free(&claims);
        veil_report_free(&report);
    }
    dcap_fixture_free(&f);
}

/* ---- Collateral mutations: PCS responses (trustee 2025) and dcap-qvl bundles. */

static void run_with_docs(const char *quote, const char *tcb_text, size_t tcb_size,
                          const char *qe_text, size_t qe_size, bool with_signer, const char *at,
                          struct dcap_run *run)
{
    static const char *const signer[] = {"tdx/intel-sgx-root-ca/derived_tcb_signing_chain_2025.pem",
                                         NULL};
    struct veil_collateral col;
    struct veil_wr w;

    dcap_collateral(&col, with_signer ? signer : NULL);
    EXPECT_OK(veil_collateral_add_bytes(&col, (const uint8_t *)tcb_text, tcb_size));
    EXPECT_OK(veil_collateral_add_bytes(&col, (const uint8_t *)qe_text, qe_size));
    dcap_load(quote, &w);
    dcap_verify_bytes(true, w.data, w.len, &col, dcap_time(at), run);
    veil_wr_free(&w);
    veil_collateral_free(&col);
}

static void replace_once(struct veil_wr *w, const char *from, const char *to)
{
    uint8_t *p = memmem(w->data, w->len, from, strlen(from));

    EXPECT_NOT_NULL(p);
    EXPECT_EQ(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
}

#define Q6    "tdx/trustee-tdx/tdx_quote_6.dat"
#define Q6_AT "2025-11-01T00:00:00Z"

static void test_pcs_documents(void **state)
{
    struct veil_wr tcb;
    struct veil_wr qe;
    struct dcap_run run;

    (void)state;
    dcap_load("tdx/trustee-tdx/tcbInfo.json", &tcb);
    dcap_load("tdx/trustee-tdx/enclaveIdentity.json", &qe);

    run_with_docs(Q6, (char *)tcb.data, tcb.len, (char *)qe.data, qe.len, true, Q6_AT, &run);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.match", PASS);
    dcap_run_free(&run);

    /* No TCB Signing certificate: nothing can vouch for the documents. */
    run_with_docs(Q6, (char *)tcb.data, tcb.len, (char *)qe.data, qe.len, false, Q6_AT, &run);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
    dcap_run_free(&run);

    /* Signed text changed; signature changed; QE MRSIGNER changed. */
    replace_once(&tcb, "\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18");
    replace_once(&qe, "\"signature\":\"25d9", "\"signature\":\"25d8");
    run_with_docs(Q6, (char *)tcb.data, tcb.len, (char *)qe.data, qe.len, true, Q6_AT, &run);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_status", VEIL_CHECK_SKIP);
    dcap_run_free(&run);
    replace_once(&qe, "\"signature\":\"25d8", "\"signature\":\"25d9");
    replace_once(&qe, "\"mrsigner\":\"DC9E", "\"mrsigner\":\"DC9F");
    run_with_docs(Q6, (char *)tcb.data, tcb.len, (char *)qe.data, qe.len, true, Q6_AT, &run);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.match", FAIL);
    dcap_run_free(&run);

    /* Before the documents were issued. */
    run_with_docs(Q6, (char *)tcb.data, tcb.len, (char *)qe.data, qe.len, true,
                  "2025-10-01T00:00:00Z", &run);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.validity", FAIL);
    dcap_run_free(&run);
    veil_wr_free(&tcb);
    veil_wr_free(&qe);
}

/* Flips a hex digit near the end (in the signature) of a bundle's hex CRL member. */
static void run_bundle_crl_mutation(const char *member, struct dcap_run *run)
{
    struct veil_wr b;
    struct veil_wr w;
    struct veil_collateral col;
    char key[64];
    uint8_t *p;
    uint8_t *end;

    dcap_load(TDX_COL, &b);
    (void)snprintf(key, sizeof(key), "\"%s\": \"", member);
    p = memmem(b.data, b.len, key, strlen(key));
    if (p == NULL) {
        (void)snprintf(key, sizeof(key), "\"%s\":\"", member);
        p = memmem(b.data, b.len, key, strlen(key));
    }
    EXPECT_NOT_NULL(p);
    p += strlen(key);
    end = memchr(p, '"', b.len - (size_t)(p - b.data));
    EXPECT_NOT_NULL(end);
    end[-8] = end[-8] == '0' ? '1' : '0';
    veil_collateral_init(&col);
    EXPECT_OK(veil_collateral_add_bytes(&col, b.data, b.len));
    dcap_load(TDX_QUOTE, &w);
    dcap_verify_bytes(true, w.data, w.len, &col, dcap_time(TDX_AT), run);
    veil_wr_free(&w);
    veil_wr_free(&b);
    veil_collateral_free(&col);
}

static void test_crl_mutations(void **state)
{
    struct dcap_run run;

    (void)state;
    run_bundle_crl_mutation("pck_crl", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    EXPECT_CHECK(&run, "dcap.crl.pck", FAIL);
    EXPECT_CHECK(&run, "dcap.crl.root", PASS);
    dcap_run_free(&run);
    run_bundle_crl_mutation("root_ca_crl", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    EXPECT_CHECK(&run, "dcap.crl.pck", PASS);
    EXPECT_CHECK(&run, "dcap.crl.root", FAIL);
    dcap_run_free(&run);
}

/* ---- Rebuilt quotes: the v4 quote of the fixture with another PEM chain in its certification
 * data (lengths rewritten; the signed header and body are unchanged). */

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint8_t *rebuild_v4(const struct dcap_fixture *f, const uint8_t *pem, size_t pem_size,
                           size_t *out_size)
{
    size_t head = off_of(f, f->q.pck_chain_pem); /* everything up to the PEM */
    size_t n = head + pem_size;
    uint8_t *p = malloc(n);
    size_t sig_len_off = f->q.signed_size;
    size_t cert6_off = sig_len_off + 4 + 128;

    EXPECT_EQ(f->q.version, 4);
    memcpy(p, f->quote.data, head);
    memcpy(p + head, pem, pem_size);
    put_u32le(p + head - 4, (uint32_t)pem_size);                   /* type 5 size */
    put_u32le(p + cert6_off + 2, (uint32_t)(n - (cert6_off + 6))); /* type 6 size */
    put_u32le(p + sig_len_off, (uint32_t)(n - (sig_len_off + 4))); /* signature data size */
    *out_size = n;
    return p;
}

/* The k-th PEM block of the fixture's chain: [*start, *end). */
static void pem_block(const struct dcap_fixture *f, int k, const uint8_t **start, size_t *size)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----\n";
    const uint8_t *pem = f->q.pck_chain_pem;
    size_t pem_size = f->q.pck_chain_pem_size;
    const uint8_t *b = pem;
    const uint8_t *e;

    for (int i = 0; i <= k; i++) {
        b = memmem(b, pem_size - (size_t)(b - pem), begin, sizeof(begin) - 1);
        EXPECT_NOT_NULL(b);
        if (i < k) {
            b += sizeof(begin) - 1;
        }
    }
    e = memmem(b, pem_size - (size_t)(b - pem), end, sizeof(end) - 1);
    EXPECT_NOT_NULL(e);
    *start = b;
    *size = (size_t)(e - b) + sizeof(end) - 1;
}

static void run_chain(const struct dcap_fixture *f, const int *blocks, size_t count,
                      struct dcap_run *run)
{
    uint8_t pem[8192];
    size_t len = 0;
    uint8_t *q;
    size_t n;

    for (size_t i = 0; i < count; i++) {
        const uint8_t *b;
        size_t size;
        pem_block(f, blocks[i], &b, &size);
        EXPECT_TRUE(len + size <= sizeof(pem));
        memcpy(pem + len, b, size);
        len += size;
    }
    q = rebuild_v4(f, pem, len, &n);
    dcap_verify_bytes(true, q, n, &f->col, f->at, run);
    free(q);
}

static void test_rebuilt_chains(void **state)
{
    static const int same[] = {0, 1, 2};
    static const int no_root[] = {0, 1};
    static const int ca_as_leaf[] = {1, 1, 2};
    static const int no_ca[] = {0, 2};
    struct dcap_fixture f;
    struct dcap_run run;

    (void)state;
    dcap_fixture_load(&f, true);
    run_chain(&f, same, 3, &run); /* the rebuilding itself changes nothing */
    EXPECT_ERR(run.r, VEIL_OK);
    dcap_run_free(&run);

    run_chain(&f, no_root, 2, &run); /* anchored at the pinned root all the same */
    EXPECT_ERR(run.r, VEIL_OK);
    EXPECT_CHECK(&run, "dcap.root_pinned", PASS);
    dcap_run_free(&run);

    run_chain(&f, ca_as_leaf, 3, &run); /* a leaf without the SGX extension and the wrong key */
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    EXPECT_CHECK(&run, "dcap.pck_extensions", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_report_signature", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", VEIL_CHECK_SKIP);
    dcap_run_free(&run);

    run_chain(&f, no_ca, 2, &run); /* the intermediate missing: no path to the root */
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    EXPECT_CHECK(&run, "dcap.pck_chain", FAIL);
    EXPECT_CHECK(&run, "dcap.crl.pck", VEIL_CHECK_SKIP);
    dcap_run_free(&run);
    dcap_fixture_free(&f);
}

VEIL_TEST_MAIN(test_rebuilt_chains, test_baselines_pass, test_signed_body_flips,
               test_signature_and_key_flips, test_qe_report_flips, test_certificate_mutations,
               test_wrong_verifier, test_tdx_module_signer, test_report_data, test_pcs_documents,
               test_crl_mutations)
