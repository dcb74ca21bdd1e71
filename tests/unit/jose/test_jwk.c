/* JWK: RFC 7638 / RFC 8037 thumbprints, round trips for every key type, and every refusal. */
#include <openssl/rand.h>

#include "base/encoding.h"
#include "jose/internal.h"
#include "jose/jose.h"
#include "jose_test.h"
#include "veil_test.h"

#define RFC7638_N                                                                              \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"  \
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_" \
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"        \
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

    if (j == NULL) {
        fail_msg("bad test JSON: %s (%s)", err.text, text);
    }
    return j;
}

/* Parses text as a JWK and expects err (VEIL_OK: a key, which is freed). */
static void expect_jwk(const char *text, int err)
{
    json_t *j = J(text);
    EVP_PKEY *key = NULL;

    EXPECT_ERR(veil_jwk_from_json(j, &key), err);
    EXPECT_TRUE((key != NULL) == (err == VEIL_OK));
    EVP_PKEY_free(key);
    json_decref(j);
}

static void expect_thumbprint(const char *text, const char *want)
{
    json_t *j = J(text);
    EVP_PKEY *key = NULL;
    uint8_t tp[32];
    char b64[64];

    EXPECT_OK(veil_jwk_from_json(j, &key));
    EXPECT_OK(veil_jwk_thumbprint(key, tp));
    EXPECT_OK(veil_b64_encode(tp, sizeof(tp), VEIL_B64_URL, b64, sizeof(b64)));
    EXPECT_STR_EQ(b64, want);
    EVP_PKEY_free(key);
    json_decref(j);
}

static void test_rfc7638_rsa_thumbprint(void **state)
{
    (void)state;
    /* RFC 7638 section 3.1, with its optional "alg" and "kid" members. */
    expect_thumbprint("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N
                      "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
                      "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

static void test_rfc8037_ed25519_thumbprint(void **state)
{
    (void)state;
    /* RFC 8037 appendix A.3. */
    expect_thumbprint("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_ED25519_X "\"}",
                      "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

/* key -> JSON -> key gives the same key and the same JSON; members come out sorted. */
static void round_trip(EVP_PKEY *key, const char *first_member)
{
    json_t *j = NULL;
    json_t *again = NULL;
    EVP_PKEY *back = NULL;
    uint8_t tp1[32];
    uint8_t tp2[32];

    EXPECT_NOT_NULL(key);
    EXPECT_OK(veil_jwk_to_json(key, &j));
    EXPECT_STR_EQ(json_object_iter_key(json_object_iter(j)), first_member);
    EXPECT_NULL(json_object_get(j, "d")); /* public part only */
    EXPECT_OK(veil_jwk_from_json(j, &back));
    EXPECT_EQ(EVP_PKEY_eq(key, back), 1);
    EXPECT_OK(veil_jwk_to_json(back, &again));
    EXPECT_TRUE(json_equal(j, again));
    EXPECT_OK(veil_jwk_thumbprint(key, tp1));
    EXPECT_OK(veil_jwk_thumbprint(back, tp2));
    EXPECT_BYTES_EQ(tp1, tp2, sizeof(tp1));
    json_decref(again);
    json_decref(j);
    EVP_PKEY_free(back);
    EVP_PKEY_free(key);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "crv");
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), "crv");
    round_trip(jose_test_p256_private(), "crv");
    round_trip(jose_test_ed25519(), "crv");
    round_trip(jose_test_rsa_private(), "e");
}

static void test_key_kinds(void **state)
{
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    json_t *j = NULL;
    uint8_t tp[32];

    (void)state;
    EXPECT_ERR(veil_jwk_to_json(k1, &j), VEIL_ERR_CRYPTO_KEY);
    EXPECT_ERR(veil_jwk_to_json(k2, &j), VEIL_ERR_CRYPTO_KEY);
    EXPECT_ERR(veil_jwk_thumbprint(k2, tp), VEIL_ERR_CRYPTO_KEY);
    EXPECT_NULL(j);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

#define EC_P256(x, y) "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" x "\",\"y\":\"" y "\""

static void test_ec_points(void **state)
{
    (void)state;
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) "}", VEIL_OK);
    /* y with its last bit flipped: not on the curve. */
    expect_jwk(EC_P256(RFC7515_P256_X, "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4") "}",
               VEIL_ERR_JWK_KEY);
    /* (0, 0): how the point at infinity is sometimes smuggled in. */
    expect_jwk(EC_P256("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") "}",
               VEIL_ERR_JWK_KEY);
    /* Coordinates >= p. */
    expect_jwk(EC_P256("__________________________________________8",
                       "__________________________________________8") "}",
               VEIL_ERR_JWK_KEY);
    /* x one byte short, one byte long; P-384-sized coordinates under P-256. */
    expect_jwk(EC_P256("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA", RFC7515_P256_Y) "}",
               VEIL_ERR_JOSE_LENGTH);
    expect_jwk(EC_P256("AH_NzidwnsRdQYPL7m_bS3tYBzM1e-nvE7rPbjx70VRF", RFC7515_P256_Y) "}",
               VEIL_ERR_JOSE_LENGTH);
    expect_jwk(EC_P256("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") "}",
               VEIL_ERR_JOSE_LENGTH);
    /* The P-256 point presented as P-384. */
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" RFC7515_P256_X
               "\",\"y\":\"" RFC7515_P256_Y "\"}",
               VEIL_ERR_JOSE_LENGTH);
    /* Padding and characters outside base64url. */
    expect_jwk(EC_P256(RFC7515_P256_X "=", RFC7515_P256_Y) "}", VEIL_ERR_JOSE_LENGTH);
    expect_jwk(EC_P256("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE+", RFC7515_P256_Y) "}",
               VEIL_ERR_PROTO_ENCODING);
    /* Unsupported curves. */
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" RFC7515_P256_X
               "\",\"y\":\"" RFC7515_P256_Y "\"}",
               VEIL_ERR_JWK_KEY);
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" RFC7515_P256_X
               "\",\"y\":\"" RFC7515_P256_Y "\"}",
               VEIL_ERR_JWK_KEY);
}

static void test_members(void **state)
{
    (void)state;
    /* Optional members are tolerated with the right type. */
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"alg\":\"ES256\",\"use\":\"sig\","
                                                       "\"kid\":\"k1\"}",
               VEIL_OK);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"kid\":1}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"alg\":null}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"use\":[\"sig\"]}", VEIL_ERR_JOSE_MEMBER);
    /* Unknown members, including ones other libraries accept. */
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"foo\":\"bar\"}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"key_ops\":[\"verify\"]}",
               VEIL_ERR_JOSE_MEMBER);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"x5c\":[]}", VEIL_ERR_JOSE_MEMBER);
    /* Private members. */
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"d\":\"" RFC7515_P256_D "\"}",
               VEIL_ERR_JWK_PRIVATE);
    expect_jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"p\":\"AQAB\"}",
               VEIL_ERR_JWK_PRIVATE);
    expect_jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"qi\":1}",
               VEIL_ERR_JWK_PRIVATE);
    expect_jwk("{\"kty\":\"oct\",\"k\":\"AAAA\"}", VEIL_ERR_JWK_PRIVATE);
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_ED25519_X
               "\",\"d\":\"" RFC8037_ED25519_D "\"}",
               VEIL_ERR_JWK_PRIVATE);
    /* Missing, mistyped or unknown kty; members of another key type; missing members. */
    expect_jwk("{\"crv\":\"P-256\",\"x\":\"" RFC7515_P256_X "\",\"y\":\"" RFC7515_P256_Y "\"}",
               VEIL_ERR_JOSE_MEMBER);
    expect_jwk("{\"kty\":1}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk("{\"kty\":\"oct\"}", VEIL_ERR_JWK_KEY);
    expect_jwk("{\"kty\":\"ec\"}", VEIL_ERR_JWK_KEY);
    expect_jwk(EC_P256(RFC7515_P256_X, RFC7515_P256_Y) ",\"e\":\"AQAB\"}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_P256_X "\"}",
               VEIL_ERR_JOSE_MEMBER);
    expect_jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}", VEIL_ERR_JOSE_MEMBER);
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_ED25519_X
               "\",\"y\":\"" RFC8037_ED25519_X "\"}",
               VEIL_ERR_JOSE_MEMBER);
    expect_jwk("[]", VEIL_ERR_JOSE_MEMBER);
    expect_jwk("\"EC\"", VEIL_ERR_JOSE_MEMBER);
}

static void test_okp(void **state)
{
    (void)state;
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_ED25519_X "\"}", VEIL_OK);
    expect_jwk(
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaa"
        "PcHUQ\"}",
        VEIL_ERR_JOSE_LENGTH);
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" RFC8037_ED25519_X "\"}",
               VEIL_ERR_JWK_KEY);
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" RFC8037_ED25519_X "\"}",
               VEIL_ERR_JWK_KEY);
}

/* An RSA JWK with modulus bytes n (base64url-encoded here) and exponent e. */
static void expect_rsa(const uint8_t *n, size_t n_size, const char *e, int err)
{
    char n64[1400];
    char text[1500];

    EXPECT_OK(veil_b64_encode(n, n_size, VEIL_B64_URL, n64, sizeof(n64)));
    (void)snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", n64, e);
    expect_jwk(text, err);
}

static void test_rsa_limits(void **state)
{
    uint8_t n[1025];
    size_t len = jose_test_b64(RFC7638_N, n, sizeof(n));

    (void)state;
    EXPECT_EQ(len, 256);
    expect_rsa(n, len, "AQAB", VEIL_OK);
    expect_rsa(n, len, "Aw", VEIL_OK);              /* e = 3 is odd and > 1 */
    expect_rsa(n, len, "AQ", VEIL_ERR_JWK_KEY);     /* e = 1 */
    expect_rsa(n, len, "AQAC", VEIL_ERR_JWK_KEY);   /* even */
    expect_rsa(n, len, "AAEAAQ", VEIL_ERR_JWK_KEY); /* leading zero */
    expect_rsa(n, len, "", VEIL_ERR_JWK_KEY);       /* empty */
    expect_rsa(n, len, "AQAB=", VEIL_ERR_PROTO_ENCODING);
    /* e longer than 256 bits. */
    expect_rsa(n, len, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", VEIL_ERR_JWK_KEY);
    /* A leading zero byte on n, an even n, a 1024-bit and a 2040-bit n. */
    memmove(n + 1, n, len);
    n[0] = 0;
    expect_rsa(n, len + 1, "AQAB", VEIL_ERR_JWK_KEY);
    memmove(n, n + 1, len);
    n[len - 1] ^= 1;
    expect_rsa(n, len, "AQAB", VEIL_ERR_JWK_KEY);
    n[len - 1] ^= 1;
    expect_rsa(n, 128, "AQAB", VEIL_ERR_JWK_KEY);
    expect_rsa(n + 1, len - 1, "AQAB", VEIL_ERR_JWK_KEY);
    /* A made-up odd modulus of the right size parses, and parses every time (OpenSSL's RSA
     * public check would run Miller-Rabin with random bases on it). */
    n[7] ^= 0x5a;
    for (int i = 0; i < 16; i++) {
        expect_rsa(n, len, "AQAB", VEIL_OK);
    }
    /* 8200 bits. */
    memset(n, 0xc3, sizeof(n));
    expect_rsa(n, sizeof(n), "AQAB", VEIL_ERR_JWK_KEY);
}

VEIL_TEST_MAIN(test_rfc7638_rsa_thumbprint, test_rfc8037_ed25519_thumbprint, test_round_trips,
               test_key_kinds, test_ec_points, test_members, test_okp, test_rsa_limits)
