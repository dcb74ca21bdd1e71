/* The evidence extension: round trips for every TEE type, and strict refusals. */
#include "ratls/ratls.h"
#include "veil_test.h"

static void roundtrip(enum veil_tee tee, const uint8_t *ev, size_t n, enum veil_tee want)
{
    struct veil_wr ext;
    struct veil_wr out;
    enum veil_tee got = VEIL_TEE_SNP;

    veil_wr_init(&ext, VEIL_RATLS_EXT_SIZE_MAX);
    veil_wr_init(&out, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    EXPECT_OK(veil_ratls_ext_encode(tee, ev, n, &ext));
    EXPECT_OK(veil_ratls_ext_decode(ext.data, ext.len, &got, &out));
    EXPECT_EQ(got, want);
    EXPECT_EQ(out.len, n);
    EXPECT_BYTES_EQ(out.data, ev, n);
    veil_wr_free(&ext);
    veil_wr_free(&out);
}

static void test_roundtrip(void **state)
{
    uint8_t ev[600];
    uint8_t *big = calloc(1, VEIL_RATLS_EVIDENCE_SIZE_MAX);

    (void)state;
    memset(ev, 0xa5, sizeof(ev));
    roundtrip(VEIL_TEE_SIM, ev, sizeof(ev), VEIL_TEE_SIM);
    roundtrip(VEIL_TEE_SIM, ev, 1, VEIL_TEE_SIM);
    roundtrip(VEIL_TEE_SNP, ev, 23, VEIL_TEE_SNP);
    /* an Intel quote header: version 4, key type 2, tee_type 0x81 (TDX) or 0 (SGX) */
    memset(ev, 0, 8);
    ev[0] = 4;
    ev[2] = 2;
    ev[4] = 0x81;
    roundtrip(VEIL_TEE_TDX, ev, sizeof(ev), VEIL_TEE_TDX);
    ev[4] = 0;
    roundtrip(VEIL_TEE_SGX, ev, sizeof(ev), VEIL_TEE_SGX);
    assert_non_null(big);
    roundtrip(VEIL_TEE_SIM, big, VEIL_RATLS_EVIDENCE_SIZE_MAX, VEIL_TEE_SIM);
    free(big);
}

static veil_result decode(const uint8_t *p, size_t n)
{
    struct veil_wr out;
    enum veil_tee tee;
    veil_result r;

    veil_wr_init(&out, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    r = veil_ratls_ext_decode(p, n, &tee, &out);
    veil_wr_free(&out);
    return r;
}

static void test_refusals(void **state)
{
    /* tag 0x56454904 ("VEI" 4) around a 2-byte string */
    static const uint8_t good[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x42, 0xaa, 0xbb};
    static const uint8_t trailing[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x42, 0xaa, 0xbb, 0x00};
    static const uint8_t short_bstr[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x43, 0xaa, 0xbb};
    static const uint8_t unknown_tag[] = {0xda, 0x56, 0x45, 0x49, 0x09, 0x42, 0xaa, 0xbb};
    static const uint8_t indefinite[] = {0xda, 0x56, 0x45, 0x49, 0x04,
                                         0x5f, 0x42, 0xaa, 0xbb, 0xff};
    static const uint8_t not_shortest[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x58, 0x02, 0xaa, 0xbb};
    static const uint8_t text[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x62, 0x61, 0x62};
    static const uint8_t untagged[] = {0x42, 0xaa, 0xbb};
    static const uint8_t empty_bstr[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x40};
    /* 60000([quote, claims]): the claims element is not supported */
    static const uint8_t two[] = {0xd9, 0xea, 0x60, 0x82, 0x41, 0x00, 0x41, 0x00};
    /* 60000(quote) without the array */
    static const uint8_t bare_quote[] = {0xd9, 0xea, 0x60, 0x48, 4, 0, 2, 0, 0x81, 0, 0, 0};
    /* 60000([quote]) with an unknown tee_type */
    static const uint8_t bad_type[] = {0xd9, 0xea, 0x60, 0x81, 0x48, 4, 0, 2, 0, 0x7, 0, 0, 0};
    /* a huge length */
    static const uint8_t huge[] = {0xda, 0x56, 0x45, 0x49, 0x04, 0x5b, 0, 0, 0, 1, 0, 0, 0, 0};

    (void)state;
    EXPECT_OK(decode(good, sizeof(good)));
    EXPECT_ERR(decode(trailing, sizeof(trailing)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(short_bstr, sizeof(short_bstr)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(unknown_tag, sizeof(unknown_tag)), VEIL_ERR_RATLS_TAG);
    EXPECT_ERR(decode(indefinite, sizeof(indefinite)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(not_shortest, sizeof(not_shortest)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(text, sizeof(text)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(untagged, sizeof(untagged)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(empty_bstr, sizeof(empty_bstr)), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(decode(two, sizeof(two)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(bare_quote, sizeof(bare_quote)), VEIL_ERR_RATLS_EXTENSION);
    EXPECT_ERR(decode(bad_type, sizeof(bad_type)), VEIL_ERR_RATLS_TAG);
    EXPECT_ERR(decode(huge, sizeof(huge)), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(decode(good, 0), VEIL_ERR_RATLS_EXTENSION);
    for (size_t n = 1; n < sizeof(good); n++) {
        EXPECT_FALSE(veil_ok(decode(good, n)));
    }
}

static void test_encode_limits(void **state)
{
    struct veil_wr ext;
    uint8_t b = 1;

    (void)state;
    veil_wr_init(&ext, VEIL_RATLS_EXT_SIZE_MAX);
    EXPECT_ERR(veil_ratls_ext_encode(VEIL_TEE_SIM, &b, 0, &ext), VEIL_ERR_USAGE_LIMIT);
    EXPECT_ERR(veil_ratls_ext_encode(VEIL_TEE_SIM, &b, VEIL_RATLS_EVIDENCE_SIZE_MAX + 1, &ext),
               VEIL_ERR_USAGE_LIMIT);
    EXPECT_ERR(veil_ratls_ext_encode((enum veil_tee)9, &b, 1, &ext), VEIL_ERR_USAGE);
    veil_wr_free(&ext);
}

VEIL_TEST_MAIN(test_roundtrip, test_refusals, test_encode_limits)
