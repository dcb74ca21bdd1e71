#include "veil_test.h"
#include "verify/verify.h"

static void test_report_records_every_check(void **state)
{
    struct veil_report r;

    (void)state;
    veil_report_init(&r);
    EXPECT_FALSE(veil_report_passed(&r));
    EXPECT_OK(veil_report_add(&r, "a.sig", VEIL_CHECK_PASS, NULL, "signature by %s", "VCEK"));
    EXPECT_OK(veil_report_add(&r, "a.crl", VEIL_CHECK_SKIP, NULL, "no CRL given"));
    EXPECT_TRUE(veil_report_passed(&r));
    EXPECT_OK(veil_report_add(&r, "a.tcb", VEIL_CHECK_FAIL, "fetch the VCEK for this TCB",
                              "bootloader %d != %d", 3, 4));
    EXPECT_FALSE(veil_report_passed(&r));
    EXPECT_STR_EQ(veil_report_first_failure(&r)->id, "a.tcb");
    EXPECT_STR_EQ(veil_report_find(&r, "a.tcb")->detail, "bootloader 3 != 4");
    EXPECT_STR_EQ(veil_report_find(&r, "a.tcb")->remedy, "fetch the VCEK for this TCB");
    EXPECT_NULL(veil_report_find(&r, "nope"));
    veil_report_free(&r);
}

static void test_claims_replace_and_render(void **state)
{
    struct veil_claims c;
    static const uint8_t m[] = {0xde, 0xad};
    static const char *const ids[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    char *t;
    enum veil_tee tee;

    (void)state;
    veil_claims_init(&c);
    EXPECT_OK(veil_claims_add_str(&c, "tee", "snp"));
    EXPECT_OK(veil_claims_add_bytes(&c, "snp.measurement", m, sizeof(m)));
    EXPECT_OK(veil_claims_add_int(&c, "snp.vmpl", 0));
    EXPECT_OK(veil_claims_add_bool(&c, "snp.debug", false));
    EXPECT_OK(veil_claims_add_str_list(&c, "tdx.advisory_ids", ids, 2));
    EXPECT_OK(veil_claims_add_int(&c, "snp.vmpl", 2));
    EXPECT_EQ(c.count, 5);
    t = veil_claim_value_text(veil_claims_find(&c, "snp.measurement"));
    EXPECT_STR_EQ(t, "dead");
    free(t);
    t = veil_claim_value_text(veil_claims_find(&c, "snp.vmpl"));
    EXPECT_STR_EQ(t, "2");
    free(t);
    t = veil_claim_value_text(veil_claims_find(&c, "tdx.advisory_ids"));
    EXPECT_STR_EQ(t, "INTEL-SA-00289,INTEL-SA-00615");
    free(t);
    EXPECT_TRUE(veil_tee_parse("tdx", &tee));
    EXPECT_EQ(tee, VEIL_TEE_TDX);
    EXPECT_FALSE(veil_tee_parse("nope", &tee));
    EXPECT_STR_EQ(veil_tee_name(VEIL_TEE_SIM), "sim");
    veil_claims_free(&c);
}

static void test_collateral_recognizes_content(void **state)
{
    struct veil_collateral c;
    char path[4096];
    const char *shared = getenv("VEIL_SHARED_DIR");

    (void)state;
    EXPECT_NOT_NULL(shared);
    veil_collateral_init(&c);
    (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/gosevguest-milan-vcek/vcek.der", shared);
    EXPECT_OK(veil_collateral_add_path(&c, path));
    EXPECT_EQ(sk_X509_num(c.certs), 1);
    (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/gosevguest-milan-vcek/ask_ark_milan.pem",
                   shared);
    EXPECT_OK(veil_collateral_add_path(&c, path));
    EXPECT_EQ(sk_X509_num(c.certs), 3);
    EXPECT_ERR(veil_collateral_add_bytes(&c, (const uint8_t *)"garbage", 7), VEIL_ERR_PROTO);
    EXPECT_ERR(veil_collateral_add_bytes(&c, (const uint8_t *)"", 0), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_OK(veil_collateral_add_bytes(&c, (const uint8_t *)" {\"tcbInfo\":{}}", 15));
    EXPECT_EQ(c.json_count, 1);
    EXPECT_ERR(veil_collateral_add_path(&c, "/nonexistent/x"), VEIL_ERR_IO_OPEN);
    veil_collateral_free(&c);
}

VEIL_TEST_MAIN(test_report_records_every_check, test_claims_replace_and_render,
               test_collateral_recognizes_content)
