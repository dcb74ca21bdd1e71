/* veil_verify_evidence: dispatch by TEE. */
#include "base/file.h"
#include "veil_test.h"
#include "verify/verify.h"

static void test_dispatch(void **state)
{
    struct veil_claims c;
    struct veil_report r;
    struct veil_wr w;
    struct veil_verify_opts o;
    char path[4096];

    (void)state;
    veil_claims_init(&c);
    veil_report_init(&r);
    memset(&o, 0, sizeof(o));
    (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/gosevguest-milan-vcek/attestation.bin",
                   getenv("VEIL_SHARED_DIR"));
    EXPECT_OK(veil_file_read(path, 1 << 20, &w));
    /* SNP without collateral: parsed, refused (no VCEK). */
    EXPECT_ERR(veil_verify_evidence(VEIL_TEE_SNP, w.data, w.len, &o, &c, &r), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(veil_claims_find(&c, "tee")->str, "snp");
    veil_claims_free(&c);
    veil_report_free(&r);
    veil_wr_free(&w);
}

static void test_dispatch_every_tee(void **state)
{
    struct veil_claims c;
    struct veil_report r;
    struct veil_verify_opts o;
    static const uint8_t junk[16] = {0};

    (void)state;
    veil_claims_init(&c);
    veil_report_init(&r);
    memset(&o, 0, sizeof(o));
    /* Each TEE reaches its own parser, which refuses junk; nothing passes, no claim is made. */
    EXPECT_FALSE(veil_ok(veil_verify_evidence(VEIL_TEE_TDX, junk, sizeof(junk), &o, &c, &r)));
    EXPECT_FALSE(veil_report_passed(&r));
    veil_report_free(&r);
    EXPECT_FALSE(veil_ok(veil_verify_evidence(VEIL_TEE_SGX, junk, sizeof(junk), &o, &c, &r)));
    veil_report_free(&r);
    EXPECT_FALSE(veil_ok(veil_verify_evidence(VEIL_TEE_SIM, junk, sizeof(junk), &o, &c, &r)));
    EXPECT_STR_EQ(veil_report_first_failure(&r)->id, "sim.parse");
    veil_report_free(&r);
    EXPECT_ERR(veil_verify_evidence((enum veil_tee)99, junk, sizeof(junk), &o, &c, &r),
               VEIL_ERR_USAGE);
    EXPECT_STR_EQ(veil_report_first_failure(&r)->id, "verify.tee");
    EXPECT_EQ(c.count, 0);
    veil_report_free(&r);
}

VEIL_TEST_MAIN(test_dispatch, test_dispatch_every_tee)
