/* Every TDX and SGX vector gives the outcome PROVENANCE.md states, at its stated time. */
#include "policy/policy.h"
#include "veil_dcap_test.h"

#define PASS VEIL_CHECK_PASS
#define FAIL VEIL_CHECK_FAIL
#define SKIP VEIL_CHECK_SKIP

static const char *const signature_checks[] = {"dcap.parse",
                                               "dcap.quote_signature",
                                               "dcap.pck_chain",
                                               "dcap.root_pinned",
                                               "dcap.qe_report_signature",
                                               "dcap.qe_report_data",
                                               "dcap.pck_extensions",
                                               NULL};

static void expect_signatures_pass(const struct dcap_run *run)
{
    for (size_t i = 0; signature_checks[i] != NULL; i++) {
        EXPECT_CHECK(run, signature_checks[i], PASS);
    }
}

/* go-tdx-guest appends "\nextra bytes(only for testing purpose)\n" (39 bytes) after the 4935-byte
 * quote to test lenient parsers; veil refuses trailing bytes other than zero padding
 * (test_gotdx_trailing_text_refused), so the vector is verified without them. */
#define GOTDX_QUOTE      "tdx/gotdx-spr-v4/tdx_prod_quote_SPR_E4.dat"
#define GOTDX_QUOTE_SIZE 4935

static void run_vector(bool tdx, const char *quote, const char *const *col_paths, const char *at,
                       struct dcap_run *run)
{
    struct veil_wr w;
    struct veil_collateral col;
    size_t n;

    dcap_load(quote, &w);
    n = strcmp(quote, GOTDX_QUOTE) == 0 ? GOTDX_QUOTE_SIZE : w.len;
    dcap_collateral(&col, col_paths);
    dcap_verify_bytes(tdx, w.data, n, &col, dcap_time(at), run);
    veil_collateral_free(&col);
    veil_wr_free(&w);
}

static void test_dcapqvl_tdx_up_to_date(void **state)
{
    static const char *const col[] = {"tdx/dcapqvl-tdx/tdx_quote_collateral.json", NULL};
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/dcapqvl-tdx/tdx_quote.bin", col, "2025-07-19T10:00:34Z", &run);
    if (run.r.code != VEIL_OK) {
        dcap_print_report(&run.report);
    }
    EXPECT_ERR(run.r, VEIL_OK);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.crl.pck", PASS);
    EXPECT_CHECK(&run, "dcap.crl.root", PASS);
    EXPECT_CHECK(&run, "dcap.tdx_module", PASS);
    dcap_expect_claim(&run, "tee", "tdx");
    dcap_expect_claim(&run, "tdx.tcb_status", "UpToDate");
    dcap_expect_claim(&run, "tdx.advisory_ids", "");
    dcap_expect_claim(&run, "tdx.quote_version", "4");
    dcap_expect_claim(&run, "tdx.fmspc", "b0c06f000000");
    dcap_expect_claim(&run, "tdx.tee_tcb_svn", "06010300000000000000000000000000");
    dcap_expect_claim(&run, "tdx.mr_seam",
                      "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4"
                      "f92f160b7cad34207b00c1");
    dcap_expect_claim(&run, "tdx.td_attributes", "0000001000000000");
    dcap_expect_claim(&run, "tdx.xfam", "e702060000000000");
    dcap_expect_claim(&run, "tdx.debug", "false");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5"
                      "f87f27428b2538873118b7");
    dcap_expect_claim(&run, "tdx.report_data",
                      "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb4"
                      "81601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    dcap_run_free(&run);
}

static void test_dcapqvl_sgx_configuration_and_sw_hardening(void **state)
{
    static const char *const col[] = {"sgx/dcapqvl-sgx/sgx_quote_collateral.json", NULL};
    struct dcap_run run;

    (void)state;
    run_vector(false, "sgx/dcapqvl-sgx/sgx_quote.bin", col, "2025-07-19T10:01:17Z", &run);
    if (run.r.code != VEIL_OK) {
        dcap_print_report(&run.report);
    }
    EXPECT_ERR(run.r, VEIL_OK);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.crl.pck", PASS);
    EXPECT_CHECK(&run, "dcap.crl.root", PASS);
    dcap_expect_claim(&run, "tee", "sgx");
    dcap_expect_claim(&run, "sgx.tcb_status", "ConfigurationAndSWHardeningNeeded");
    dcap_expect_claim(&run, "sgx.advisory_ids", "INTEL-SA-00289,INTEL-SA-00615");
    dcap_expect_claim(&run, "sgx.fmspc", "00a067110000");
    dcap_expect_claim(&run, "sgx.mr_enclave",
                      "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    dcap_expect_claim(&run, "sgx.mr_signer",
                      "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    dcap_expect_claim(&run, "sgx.isv_prod_id", "0");
    dcap_expect_claim(&run, "sgx.isv_svn", "0");
    dcap_expect_claim(&run, "sgx.attributes", "0500000000000000e700000000000000");
    dcap_expect_claim(&run, "sgx.debug", "false");
    {
        char want[129];
        memset(want, '0', 128);
        want[128] = '\0';
        memcpy(want, "48656c6c6f2c20776f726c6421", 26); /* "Hello, world!" */
        dcap_expect_claim(&run, "sgx.report_data", want);
    }
    dcap_run_free(&run);
}

static const char *const gotdx_2023[] = {"tdx/gotdx-spr-v4", NULL};

static void test_gotdx_spr_v4_no_matching_level(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, GOTDX_QUOTE, gotdx_2023, "2023-07-01T01:00:00Z", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.validity", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.match", PASS);
    EXPECT_CHECK(&run, "dcap.crl.pck", PASS);
    EXPECT_CHECK(&run, "dcap.crl.root", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_status", FAIL);
    EXPECT_STR_EQ(veil_report_first_failure(&run.report)->id, "dcap.tcb_status");
    dcap_expect_claim(&run, "tdx.tcb_status", "OutOfDate");
    dcap_expect_claim(&run, "tdx.fmspc", "50806f000000");
    dcap_expect_claim(&run, "tdx.tee_tcb_svn", "03000400000000000000000000000000");
    dcap_expect_claim(&run, "tdx.mr_seam",
                      "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9"
                      "fab60fbe9d0c5a5363c656");
    dcap_expect_claim(&run, "tdx.mr_signer_seam",
                      "0000000000000000000000000000000000000000000000000000000000000000000000000000"
                      "00000000000000000000");
    dcap_expect_claim(&run, "tdx.td_attributes", "0000004000000000");
    dcap_expect_claim(&run, "tdx.debug", "false");
    dcap_expect_claim(&run, "tdx.xfam", "e71a060000000000");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dc"
                      "d404bc10d5e119d7215cbb");
    dcap_expect_claim(&run, "tdx.rtmr[0]",
                      "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f8"
                      "33c1e50b51779c6593f32a");
    dcap_expect_claim(&run, "tdx.rtmr[1]",
                      "2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c"
                      "59107c6bc5800db2cacb61");
    dcap_expect_claim(&run, "tdx.rtmr[2]",
                      "8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2"
                      "287fc7c3bf5c924eb4424e");
    dcap_expect_claim(&run, "tdx.rtmr[3]",
                      "0000000000000000000000000000000000000000000000000000000000000000000000000000"
                      "00000000000000000000");
    dcap_expect_claim(&run, "tdx.mr_config_id",
                      "0000000000000000000000000000000000000000000000000000000000000000000000000000"
                      "00000000000000000000");
    dcap_expect_claim(&run, "tdx.report_data",
                      "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d"
                      "1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113");
    dcap_run_free(&run);
}

/* At 2053 the PCK chain and every document have expired; each is its own failed check. */
static void test_gotdx_spr_v4_expired_2053(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, GOTDX_QUOTE, gotdx_2023, "2053-07-01T01:00:00Z", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.crl.pck", FAIL);
    dcap_run_free(&run);
}

static void test_dcapqvl_tdx_expired_now(void **state)
{
    static const char *const col[] = {"tdx/dcapqvl-tdx/tdx_quote_collateral.json", NULL};
    struct veil_wr w;
    struct veil_collateral c;
    struct dcap_run run;

    (void)state;
    dcap_load("tdx/dcapqvl-tdx/tdx_quote.bin", &w);
    dcap_collateral(&c, col);
    dcap_verify_bytes(true, w.data, w.len, &c, time(NULL), &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    /* Still authentic (the TCB Signing certificate is valid until 2032), but out of date. */
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.validity", FAIL);
    EXPECT_CHECK(&run, "dcap.crl.pck", FAIL);
    EXPECT_CHECK(&run, "dcap.crl.root", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_status", PASS);
    dcap_run_free(&run);
    veil_collateral_free(&c);
    veil_wr_free(&w);
}

static void test_trustee_quote4_debug_td(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/trustee-tdx/tdx_quote_4.dat", gotdx_2023, "2023-07-01T01:00:00Z", &run);
    if (run.r.code != VEIL_OK) {
        dcap_print_report(&run.report);
    }
    EXPECT_ERR(run.r, VEIL_OK);
    dcap_expect_claim(&run, "tdx.debug", "true");
    dcap_expect_claim(&run, "tdx.td_attributes", "0100001000000000");
    dcap_expect_claim(&run, "tdx.tcb_status", "UpToDate");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599c"
                      "cea1b7d420483a9ce5f031");
    dcap_run_free(&run);
}

static const char *const trustee_2025[] = {
    "tdx/trustee-tdx/tcbInfo.json", "tdx/trustee-tdx/enclaveIdentity.json",
    "tdx/intel-sgx-root-ca/derived_tcb_signing_chain_2025.pem",
    "tdx/intel-sgx-root-ca/derived_root_ca_crl_2025-03-20.der", NULL};

static void test_trustee_quote6_out_of_date(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/trustee-tdx/tdx_quote_6.dat", trustee_2025, "2025-11-01T00:00:00Z", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.validity", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.match", PASS);
    EXPECT_CHECK(&run, "dcap.crl.pck", SKIP);
    EXPECT_CHECK(&run, "dcap.crl.root", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_status", FAIL);
    EXPECT_STR_EQ(veil_report_first_failure(&run.report)->id, "dcap.tcb_status");
    dcap_expect_claim(&run, "tdx.tcb_status", "OutOfDate");
    dcap_expect_claim(&run, "tdx.fmspc", "00a06d080000");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba"
                      "6946adccac6becffbb1e88");
    dcap_run_free(&run);
}

/* The FMSPC check refuses TCB info for another platform. */
static void test_trustee_quote4_wrong_fmspc(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/trustee-tdx/tdx_quote_4.dat", trustee_2025, "2025-11-01T00:00:00Z", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_status", SKIP);
    dcap_run_free(&run);
}

static const char *const gotdx_v5[] = {"tdx/gotdx-v5/tcbinfo_fmspc_90c06f000000.json",
                                       "tdx/intel-sgx-root-ca/derived_tcb_signing_chain_2025.pem",
                                       NULL};

static void test_gotdx_v5(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/gotdx-v5/quote_v5_sample.dat", gotdx_v5, "2026-02-03T01:00:00Z", &run);
    /* No contemporaneous QE identity exists in the corpus: that check fails, nothing else. */
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", PASS);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.tdx_module", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_status", PASS);
    EXPECT_STR_EQ(veil_report_first_failure(&run.report)->id, "dcap.qe_identity.signature");
    dcap_expect_claim(&run, "tdx.quote_version", "5");
    dcap_expect_claim(&run, "tdx.tcb_status", "UpToDate");
    dcap_expect_claim(&run, "tdx.tee_tcb_svn", "0b010400000000000000000000000000");
    dcap_expect_claim(&run, "tdx.tee_tcb_svn2", "0d010400000000000000000000000000");
    dcap_expect_claim(&run, "tdx.td_attributes", "0000001000000000");
    dcap_expect_claim(&run, "tdx.xfam", "e702060000000000");
    dcap_expect_claim(&run, "tdx.mr_seam",
                      "7bf063280e94fb051f5dd7b1fc59ce9aac42bb961df8d44b709c9b0ff87a7b4df648657ba6"
                      "d1189589feab1d5a3c9a9d");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee"
                      "19747dda8f750c3bc8f876");
    dcap_expect_claim(&run, "tdx.report_data",
                      "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed6306"
                      "0cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a");
    dcap_expect_claim(&run, "tdx.fmspc", "90c06f000000");
    dcap_run_free(&run);
}

static void test_trustee_quote5_v5(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/trustee-tdx/tdx_quote_5.dat", gotdx_v5, "2026-02-03T01:00:00Z", &run);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.fmspc", PASS);
    dcap_expect_claim(&run, "tdx.quote_version", "5");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7"
                      "c9638bfcba422f3886400a");
    dcap_run_free(&run);
}

static void test_occlum_debug_enclave(void **state)
{
    struct dcap_run run;

    (void)state;
    run_vector(false, "sgx/trustee-occlum/occlum_quote.dat", NULL, "2025-01-01T00:00:00Z", &run);
    /* Signatures and chain verify; no collateral was given, so the TCB cannot be judged. */
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
    EXPECT_CHECK(&run, "dcap.tcb_status", SKIP);
    dcap_expect_claim(&run, "sgx.debug", "true");
    dcap_expect_claim(&run, "sgx.attributes", "0700000000000000e700000000000000");
    dcap_expect_claim(&run, "sgx.mr_enclave",
                      "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68");
    dcap_expect_claim(&run, "sgx.mr_signer",
                      "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e");
    dcap_expect_claim(&run, "sgx.fmspc", "00606a000000");
    dcap_run_free(&run);
}

static void test_gotdx_trailing_text_refused(void **state)
{
    struct veil_wr w;
    struct dcap_run run;

    (void)state;
    dcap_load(GOTDX_QUOTE, &w);
    EXPECT_EQ(w.len, GOTDX_QUOTE_SIZE + 39);
    dcap_verify_bytes(true, w.data, w.len, NULL, dcap_time("2023-07-01T01:00:00Z"), &run);
    EXPECT_ERR(run.r, VEIL_ERR_PROTO_TRAILING);
    EXPECT_CHECK(&run, "dcap.parse", FAIL);
    dcap_run_free(&run);
    veil_wr_free(&w);
}

/* The TD quote inside Azure's TDX vTPM evidence (no TDX collateral for its FMSPC in the corpus),
 * verified with the report data the HCL binding expects. */
static void test_azure_td_quote(void **state)
{
    static const uint8_t want_rd[] = {0x97, 0x34, 0x50, 0x4f, 0x16, 0x1d, 0x10, 0x4c,
                                      0x74, 0xe3, 0x16, 0x5c, 0x15, 0xf7, 0x79, 0xb0};
    struct veil_wr w;
    struct veil_verify_opts opts;
    struct dcap_run run;

    (void)state;
    dcap_load("azure/trustee-az-tdx-vtpm/td-quote.bin", &w);
    memset(&opts, 0, sizeof(opts));
    opts.at = dcap_time("2025-01-01T00:00:00Z");
    opts.report_data = want_rd;
    opts.report_data_size = sizeof(want_rd);
    veil_claims_init(&run.claims);
    veil_report_init(&run.report);
    run.r = veil_verify_tdx(w.data, w.len, &opts, &run.claims, &run.report);
    EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
    expect_signatures_pass(&run);
    EXPECT_CHECK(&run, "dcap.pck_chain.validity", PASS);
    EXPECT_CHECK(&run, "dcap.report_data", PASS);
    EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL); /* none given */
    dcap_expect_claim(&run, "tdx.fmspc", "00806f050000");
    dcap_expect_claim(&run, "tdx.td_attributes", "0000000000000000");
    dcap_expect_claim(&run, "tdx.xfam", "e718060000000000");
    dcap_expect_claim(&run, "tdx.mr_td",
                      "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b6620"
                      "5949d15469dc8c1ba7ab7b");
    dcap_run_free(&run);
    veil_wr_free(&w);
}

/* Prepared collateral is shared by many verifications and gives the same report as without it. */
static void test_cache_reused(void **state)
{
    static const char *const col_paths[] = {"tdx/dcapqvl-tdx/tdx_quote_collateral.json", NULL};
    struct veil_wr w;
    struct veil_wr sgx;
    struct veil_collateral col;
    struct veil_dcap_cache *cache = NULL;
    struct veil_verify_opts opts;
    struct dcap_run plain;

    (void)state;
    dcap_load("tdx/dcapqvl-tdx/tdx_quote.bin", &w);
    dcap_load("sgx/dcapqvl-sgx/sgx_quote.bin", &sgx);
    dcap_collateral(&col, col_paths);
    EXPECT_OK(veil_dcap_cache_new(&col, &cache));
    memset(&opts, 0, sizeof(opts));
    opts.at = dcap_time("2025-07-19T10:00:34Z");
    dcap_verify_bytes(true, w.data, w.len, &col, opts.at, &plain);
    EXPECT_ERR(plain.r, VEIL_OK);
    for (int i = 0; i < 3; i++) {
        struct dcap_run run;
        veil_claims_init(&run.claims);
        veil_report_init(&run.report);
        run.r = veil_dcap_verify_cached(VEIL_TEE_TDX, w.data, w.len, &opts, cache, &run.claims,
                                        &run.report);
        EXPECT_ERR(run.r, VEIL_OK);
        EXPECT_EQ(run.report.count, plain.report.count);
        for (size_t j = 0; j < run.report.count; j++) {
            EXPECT_STR_EQ(run.report.items[j].id, plain.report.items[j].id);
            EXPECT_EQ(run.report.items[j].status, plain.report.items[j].status);
        }
        dcap_run_free(&run);
        /* The TDX bundle has nothing for an SGX quote. */
        veil_claims_init(&run.claims);
        veil_report_init(&run.report);
        run.r = veil_dcap_verify_cached(VEIL_TEE_SGX, sgx.data, sgx.len, &opts, cache, &run.claims,
                                        &run.report);
        EXPECT_ERR(run.r, VEIL_ERR_ATTEST);
        EXPECT_CHECK(&run, "dcap.tcb_info.signature", FAIL);
        EXPECT_CHECK(&run, "dcap.qe_identity.signature", FAIL);
        dcap_run_free(&run);
    }
    dcap_run_free(&plain);
    veil_dcap_cache_free(cache);
    veil_collateral_free(&col);
    veil_wr_free(&sgx);
    veil_wr_free(&w);
}

/* A minimum tcbEvaluationDataNumber: the dcap-qvl collateral has 17 in both documents. */
static void test_min_tcb_eval_number(void **state)
{
    static const char *const col_paths[] = {"tdx/dcapqvl-tdx/tdx_quote_collateral.json", NULL};
    static const struct {
        int64_t min;
        int want;
        enum veil_check_status st;
    } cases[] = {{0, VEIL_OK, SKIP},
                 {1, VEIL_OK, PASS},
                 {17, VEIL_OK, PASS},
                 {18, VEIL_ERR_ATTEST, FAIL},
                 {1000000, VEIL_ERR_ATTEST, FAIL}};
    struct veil_wr w;
    struct veil_collateral col;

    (void)state;
    dcap_load("tdx/dcapqvl-tdx/tdx_quote.bin", &w);
    dcap_collateral(&col, col_paths);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct veil_verify_opts opts;
        struct dcap_run run;
        memset(&opts, 0, sizeof(opts));
        opts.at = dcap_time("2025-07-19T10:00:34Z");
        opts.collateral = &col;
        opts.min_tcb_eval_number = cases[i].min;
        veil_claims_init(&run.claims);
        veil_report_init(&run.report);
        run.r = veil_verify_tdx(w.data, w.len, &opts, &run.claims, &run.report);
        EXPECT_ERR(run.r, cases[i].want);
        EXPECT_CHECK(&run, "dcap.tcb_eval_number", cases[i].st);
        if (cases[i].st == FAIL) {
            EXPECT_STR_EQ(veil_report_first_failure(&run.report)->id, "dcap.tcb_eval_number");
        }
        dcap_expect_claim(&run, "tdx.tcb_eval_number", "17");
        dcap_run_free(&run);
    }
    veil_collateral_free(&col);
    veil_wr_free(&w);
}

/* The evaluation number as a claim: a release policy can require a minimum itself. */
static void test_tcb_eval_number_policy(void **state)
{
    static const char *const col[] = {"tdx/dcapqvl-tdx/tdx_quote_collateral.json", NULL};
    struct dcap_run run;

    (void)state;
    run_vector(true, "tdx/dcapqvl-tdx/tdx_quote.bin", col, "2025-07-19T10:00:34Z", &run);
    EXPECT_ERR(run.r, VEIL_OK);
    for (int min = 17; min <= 18; min++) {
        char text[160];
        struct veil_policy p;
        struct veil_policy_decision d;
        int n = snprintf(text, sizeof(text),
                         "{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"tdx\"},"
                         " {\"claim\": \"tdx.tcb_eval_number\", \"greaterOrEquals\": %d}]}",
                         min);
        EXPECT_TRUE(n > 0 && (size_t)n < sizeof(text));
        EXPECT_OK(veil_policy_parse((const uint8_t *)text, (size_t)n, &p, NULL, 0));
        veil_policy_decision_init(&d);
        EXPECT_OK(veil_policy_evaluate(&p, &run.claims, &d));
        EXPECT_EQ(d.allow, min == 17);
        veil_policy_decision_free(&d);
        veil_policy_free(&p);
    }
    dcap_run_free(&run);
}

VEIL_TEST_MAIN(test_tcb_eval_number_policy, test_min_tcb_eval_number, test_cache_reused,
               test_azure_td_quote, test_gotdx_trailing_text_refused, test_dcapqvl_tdx_up_to_date,
               test_dcapqvl_sgx_configuration_and_sw_hardening, test_gotdx_spr_v4_no_matching_level,
               test_gotdx_spr_v4_expired_2053, test_dcapqvl_tdx_expired_now,
               test_trustee_quote4_debug_td, test_trustee_quote6_out_of_date,
               test_trustee_quote4_wrong_fmspc, test_gotdx_v5, test_trustee_quote5_v5,
               test_occlum_debug_enclave)
