/* Rendering claims and reports as text and JSON. */
#include <jansson.h>

#include "base/buf.h"
#include "veil_test.h"
#include "verify/verify.h"

static void fill(struct veil_claims *c, struct veil_report *r)
{
    static const uint8_t m[] = {0xab, 0xcd};
    static const char *const ids[] = {"A", "B"};

    veil_claims_init(c);
    veil_report_init(r);
    EXPECT_OK(veil_claims_add_str(c, "tee", "snp"));
    EXPECT_OK(veil_claims_add_bytes(c, "snp.measurement", m, sizeof(m)));
    EXPECT_OK(veil_claims_add_int(c, "snp.vmpl", 1));
    EXPECT_OK(veil_claims_add_bool(c, "snp.debug", false));
    EXPECT_OK(veil_claims_add_str_list(c, "x.list", ids, 2));
    EXPECT_OK(veil_report_add(r, "snp.signature", VEIL_CHECK_PASS, NULL, "verifies"));
    EXPECT_OK(veil_report_add(r, "snp.crl", VEIL_CHECK_SKIP, NULL, "no CRL"));
}

static void test_json(void **state)
{
    struct veil_claims c;
    struct veil_report r;
    json_t *j;

    (void)state;
    fill(&c, &r);
    j = veil_verify_render_json(VEIL_TEE_SNP, &c, &r);
    EXPECT_NOT_NULL(j);
    EXPECT_TRUE(json_is_true(json_object_get(j, "verified")));
    EXPECT_NULL(json_object_get(j, "first_failure"));
    EXPECT_STR_EQ(json_string_value(json_object_get(j, "tee")), "snp");
    EXPECT_STR_EQ(
        json_string_value(json_object_get(json_object_get(j, "claims"), "snp.measurement")),
        "abcd");
    EXPECT_EQ(json_integer_value(json_object_get(json_object_get(j, "claims"), "snp.vmpl")), 1);
    EXPECT_TRUE(json_is_false(json_object_get(json_object_get(j, "claims"), "snp.debug")));
    EXPECT_EQ(json_array_size(json_object_get(json_object_get(j, "claims"), "x.list")), 2);
    EXPECT_STR_EQ(json_string_value(
                      json_object_get(json_array_get(json_object_get(j, "checks"), 1), "status")),
                  "skip");
    json_decref(j);
    EXPECT_OK(veil_report_add(&r, "snp.tcb", VEIL_CHECK_FAIL, "fetch the VCEK", "mismatch"));
    j = veil_verify_render_json(VEIL_TEE_SNP, &c, &r);
    EXPECT_TRUE(json_is_false(json_object_get(j, "verified")));
    EXPECT_STR_EQ(json_string_value(json_object_get(j, "first_failure")), "snp.tcb");
    EXPECT_STR_EQ(json_string_value(
                      json_object_get(json_array_get(json_object_get(j, "checks"), 2), "remedy")),
                  "fetch the VCEK");
    json_decref(j);
    veil_claims_free(&c);
    veil_report_free(&r);
}

static void test_text(void **state)
{
    struct veil_claims c;
    struct veil_report r;
    struct veil_wr w;
    const char *t = NULL;

    (void)state;
    fill(&c, &r);
    EXPECT_OK(veil_verify_render_text(&c, &r, &w));
    EXPECT_OK(veil_wr_cstr(&w, &t));
    EXPECT_NOT_NULL(strstr(t, "  snp.measurement                abcd\n"));
    EXPECT_NOT_NULL(strstr(t, "  PASS snp.signature          verifies\n"));
    EXPECT_NOT_NULL(strstr(t, "result: verified"));
    veil_wr_free(&w);
    EXPECT_OK(veil_report_add(&r, "snp.tcb", VEIL_CHECK_FAIL, "fetch the VCEK", "mismatch"));
    EXPECT_OK(veil_verify_render_text(&c, &r, &w));
    EXPECT_OK(veil_wr_cstr(&w, &t));
    EXPECT_NOT_NULL(strstr(t, "  FAIL snp.tcb                mismatch\n"));
    EXPECT_NOT_NULL(strstr(t, "remedy: fetch the VCEK\n"));
    EXPECT_NOT_NULL(strstr(t, "result: NOT verified (first failure: snp.tcb)\n"));
    EXPECT_STR_EQ(veil_check_status_name(VEIL_CHECK_FAIL), "fail");
    veil_wr_free(&w);
    veil_claims_free(&c);
    veil_report_free(&r);
}

VEIL_TEST_MAIN(test_json, test_text)
