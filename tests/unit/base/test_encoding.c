#include "base/encoding.h"
#include "veil_test.h"

/* RFC 4648 section 10 test vectors. */
static const char *const rfc_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const rfc_url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static void test_base64_rfc4648_vectors(void **state)
{
    char out[32];
    uint8_t back[32];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(rfc_in) / sizeof(rfc_in[0]); i++) {
        size_t len = strlen(rfc_in[i]);
        EXPECT_OK(veil_b64_encode((const uint8_t *)rfc_in[i], len, VEIL_B64_STD, out, sizeof(out)));
        EXPECT_STR_EQ(out, rfc_std[i]);
        EXPECT_OK(veil_b64_encode((const uint8_t *)rfc_in[i], len, VEIL_B64_URL, out, sizeof(out)));
        EXPECT_STR_EQ(out, rfc_url[i]);
        EXPECT_OK(
            veil_b64_decode(rfc_std[i], strlen(rfc_std[i]), VEIL_B64_STD, back, sizeof(back), &n));
        EXPECT_EQ(n, len);
        EXPECT_BYTES_EQ(back, rfc_in[i], len);
        EXPECT_OK(
            veil_b64_decode(rfc_url[i], strlen(rfc_url[i]), VEIL_B64_URL, back, sizeof(back), &n));
        EXPECT_EQ(n, len);
    }
}

static void test_base64_all_bytes_round_trip(void **state)
{
    uint8_t in[256];
    char enc[400];
    uint8_t dec[256];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)i;
    }
    for (int v = 0; v < 2; v++) {
        EXPECT_OK(veil_b64_encode(in, sizeof(in), (enum veil_b64_variant)v, enc, sizeof(enc)));
        EXPECT_EQ(strlen(enc), veil_b64_encoded_size(sizeof(in), (enum veil_b64_variant)v));
        EXPECT_OK(
            veil_b64_decode(enc, strlen(enc), (enum veil_b64_variant)v, dec, sizeof(dec), &n));
        EXPECT_EQ(n, sizeof(in));
        EXPECT_BYTES_EQ(in, dec, sizeof(in));
    }
}

static void test_base64_rejects_bad_input(void **state)
{
    uint8_t out[16];
    size_t n;

    (void)state;
    EXPECT_ERR(veil_b64_decode("Zm9v!", 5, VEIL_B64_STD, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_b64_decode("Z", 1, VEIL_B64_STD, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_b64_decode("Zm-v", 4, VEIL_B64_STD, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_b64_decode("Zm+v", 4, VEIL_B64_URL, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_b64_decode("Zm9 ", 4, VEIL_B64_STD, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    /* Non-canonical trailing bits. */
    EXPECT_ERR(veil_b64_decode("Zh==", 4, VEIL_B64_STD, out, sizeof(out), &n),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_b64_decode("Zm9vYmFy", 8, VEIL_B64_STD, out, 5, &n), VEIL_ERR_PROTO_LIMIT);
}

static void test_hex(void **state)
{
    static const uint8_t in[] = {0x00, 0x01, 0x9a, 0xbf, 0xff};
    char enc[11];
    uint8_t dec[5];
    size_t n;

    (void)state;
    EXPECT_OK(veil_hex_encode(in, sizeof(in), enc, sizeof(enc)));
    EXPECT_STR_EQ(enc, "00019abfff");
    EXPECT_OK(veil_hex_decode("00019ABFff", 10, dec, sizeof(dec), &n));
    EXPECT_EQ(n, 5);
    EXPECT_BYTES_EQ(dec, in, 5);
    EXPECT_ERR(veil_hex_encode(in, sizeof(in), enc, 10), VEIL_ERR_USAGE_LIMIT);
    EXPECT_ERR(veil_hex_decode("0g", 2, dec, sizeof(dec), &n), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_hex_decode("abc", 3, dec, sizeof(dec), &n), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_hex_decode("000102030405", 12, dec, sizeof(dec), &n), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(veil_hex_decode(":/", 2, dec, sizeof(dec), &n), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_hex_decode("`G", 2, dec, sizeof(dec), &n), VEIL_ERR_PROTO_ENCODING);
}

VEIL_TEST_MAIN(test_base64_rfc4648_vectors, test_base64_all_bytes_round_trip,
               test_base64_rejects_bad_input, test_hex)
