/* Online collateral helpers; the network paths are tested in tests/e2e/test_evidence_fetch.sh. */
#include "veil_test.h"
#include "verify/fetch.h"

static void decode(const char *in, const char *want, int err)
{
    struct veil_wr w;
    const char *out;

    veil_wr_init(&w, 4096);
    EXPECT_OK(veil_wr_bytes(&w, in, strlen(in)));
    if (err != VEIL_OK) {
        EXPECT_ERR(veil_fetch_url_decode(&w), err);
    } else {
        EXPECT_OK(veil_fetch_url_decode(&w));
        EXPECT_OK(veil_wr_cstr(&w, &out));
        EXPECT_STR_EQ(out, want);
    }
    veil_wr_free(&w);
}

static void test_url_decode(void **state)
{
    (void)state;
    decode("-----BEGIN%20CERTIFICATE-----%0AMIIC%2Bw%3D%3D%0A",
           "-----BEGIN CERTIFICATE-----\nMIIC+w==\n", VEIL_OK);
    decode("plain", "plain", VEIL_OK);
    decode("", "", VEIL_OK);
    decode("%41%62", "Ab", VEIL_OK);
    decode("%", NULL, VEIL_ERR_PROTO_ENCODING);
    decode("%4", NULL, VEIL_ERR_PROTO_ENCODING);
    decode("ab%zz", NULL, VEIL_ERR_PROTO_ENCODING);
    decode("%g0", NULL, VEIL_ERR_PROTO_ENCODING);
}

static void test_sim_has_nothing_to_fetch(void **state)
{
    struct veil_fetch f = {0};
    struct veil_collateral c;
    char why[256];

    (void)state;
    veil_collateral_init(&c);
    EXPECT_ERR(
        veil_fetch_collateral(&f, VEIL_TEE_SIM, (const uint8_t *)"x", 1, &c, why, sizeof(why)),
        VEIL_ERR_USAGE);
    EXPECT_TRUE(strstr(why, "root.pem") != NULL);
    /* Junk evidence is refused before any request is made. */
    EXPECT_FALSE(veil_ok(
        veil_fetch_collateral(&f, VEIL_TEE_SNP, (const uint8_t *)"x", 1, &c, why, sizeof(why))));
    EXPECT_FALSE(veil_ok(
        veil_fetch_collateral(&f, VEIL_TEE_TDX, (const uint8_t *)"x", 1, &c, why, sizeof(why))));
    veil_collateral_free(&c);
}

VEIL_TEST_MAIN(test_url_decode, test_sim_has_nothing_to_fetch)
