/* JWE: RFC 7518 appendix C (ECDH and Concat KDF), JWEs made by an independent implementation
 * (Python cryptography), round trips for P-256, P-384 and RSA, and every refusal. */
#include <openssl/rand.h>

#include "base/encoding.h"
#include "jose/internal.h"
#include "jose/jose.h"
#include "jose_test.h"
#include "veil_test.h"

/* Made with pyca/cryptography (ECDH, AES key wrap, AES-GCM, OAEP done there, not here):
 * ECDH-ES+A256KW from RFC 7518 C's Alice (as the ephemeral key) to Bob, with apu "Alice" and
 * apv "Bob"; RSA-OAEP-256 to jose_test_rsa_pem. Both carry interop_plaintext. */
static const char interop_plaintext[] = "veil interop: the model key";
static const char interop_ecdh[] =
    "{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJhcHUiOiJRV3hwWTJ"
    "VIiwiYXB2IjoiUW05aSIsImVwayI6eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6ImdJMEdBSUxCZHU3VDU"
    "zYWtyRm1NeUdjc0YzbjVkTzdNbXdOQkhLVzVTVjAiLCJ5IjoiU0xXX3hTZmZ6bFBXckhFVkkzMERITV80ZWdWd3Q"
    "zTlFxZVVEN25NRnBwcyJ9fQ\",\"encrypted_key\":\"NqrcE2MaW2k6O03bMSyL-kAt0JU9uhku7t4NW2WhcH"
    "Mdu7h9pnf1ew\",\"iv\":\"ZGVmZ2hpamtsbW5v\",\"ciphertext\":\"Pn63ClmAOOpbEDCY4EUelSfia2Xv"
    "CZ9SzLTV\",\"tag\":\"JusBsiNRGJnMvD7f4awr9A\"}";

static const char interop_rsa[] =
    "{\"protected\":\"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0\",\"encrypted_key\""
    ":\"IFpsKcNuPg15BxVLu5h1c6fBU-oDk1cvRMxYo6s5bwfMkRWZl_7oX-_2sB3jzjQ7mzV2C6PxuBKvQ2MTKHR_K"
    "Pbz9QQpMIhAuEGZsyADfftjpLBOdIi-yuG3WuBjE6qOEvip42fKbGtm2FqGaTl9LGY18fJg02c-rpqCktKDUMyYd"
    "VElsInArr57W5O-NBdTh-18jMIy3le0HvmoeXoRmHmikQ3vgjmiDE9dVhgbVupwQp4SGgPmC6m9H0n-SJciCcj26"
    "Qs-bJYlthxcR2sKksGCMIr9HLEOrQAg3bvJ-06lSOgPWxK__-lwlbH8qvIsqPzWhWkulEJ_FqKsGulbWg\",\"iv"
    "\":\"ZGVmZ2hpamtsbW5v\",\"ciphertext\":\"Pn63ClmAOOpbEDCY4EUelSfia2XvCZ9SzLTV\",\"tag\":"
    "\"AGtN45WUQPFSr9H3vEX70g\"}";

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

    if (j == NULL) {
        fail_msg("bad test JSON: %s (%s)", err.text, text);
    }
    return j;
}

static EVP_PKEY *bob(void)
{
    return jose_test_ec_private("P-256", RFC7518_BOB_X, RFC7518_BOB_Y, RFC7518_BOB_D);
}

/* Decrypts and expects err; on success the plaintext must be want. */
static void expect_decrypt(EVP_PKEY *key, const json_t *jwe, int err, const void *want,
                           size_t want_size)
{
    struct veil_wr w;

    veil_wr_init_secret(&w, VEIL_JOSE_SIZE_MAX);
    EXPECT_ERR(veil_jwe_decrypt(key, jwe, &w), err);
    if (err == VEIL_OK) {
        EXPECT_EQ(w.len, want_size);
        if (want_size > 0) {
            EXPECT_BYTES_EQ(w.data, want, want_size);
        }
    } else {
        EXPECT_EQ(w.len, 0);
    }
    veil_wr_free(&w);
}

static void test_rfc7518_c_concat_kdf(void **state)
{
    static const uint8_t z_want[32] = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                                       131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                                       106, 72,  246, 218, 167, 121, 140, 254, 144, 196};
    EVP_PKEY *alice =
        jose_test_ec_private("P-256", RFC7518_ALICE_X, RFC7518_ALICE_Y, RFC7518_ALICE_D);
    EVP_PKEY *b = bob();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, alice, NULL);
    uint8_t z[32];
    size_t z_size = sizeof(z);
    uint8_t key[16];
    char b64[32];

    (void)state;
    EXPECT_NOT_NULL(ctx);
    EXPECT_EQ(EVP_PKEY_derive_init(ctx), 1);
    EXPECT_EQ(EVP_PKEY_derive_set_peer(ctx, b), 1);
    EXPECT_EQ(EVP_PKEY_derive(ctx, z, &z_size), 1);
    EXPECT_EQ(z_size, 32);
    EXPECT_BYTES_EQ(z, z_want, 32);
    /* ECDH-ES direct with A128GCM: AlgorithmID "A128GCM", apu "Alice", apv "Bob", 128 bits. */
    EXPECT_OK(veil_jose_concat_kdf(z, z_size, "A128GCM", (const uint8_t *)"Alice", 5,
                                   (const uint8_t *)"Bob", 3, key, sizeof(key)));
    EXPECT_OK(veil_b64_encode(key, sizeof(key), VEIL_B64_URL, b64, sizeof(b64)));
    EXPECT_STR_EQ(b64, "VqqN6vgjbSBcIijNcacQGg");
    EXPECT_ERR(veil_jose_concat_kdf(z, z_size, "A256KW", NULL, 0, NULL, 0, key, 0), VEIL_ERR_USAGE);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(alice);
    EVP_PKEY_free(b);
}

static void test_interop(void **state)
{
    EVP_PKEY *b = bob();
    EVP_PKEY *rsa = jose_test_rsa_private();
    json_t *ecdh = J(interop_ecdh);
    json_t *oaep = J(interop_rsa);

    (void)state;
    expect_decrypt(b, ecdh, VEIL_OK, interop_plaintext, strlen(interop_plaintext));
    expect_decrypt(rsa, oaep, VEIL_OK, interop_plaintext, strlen(interop_plaintext));
    /* Each to the other's key. */
    expect_decrypt(rsa, ecdh, VEIL_ERR_JOSE_ALG, NULL, 0);
    expect_decrypt(b, oaep, VEIL_ERR_JOSE_ALG, NULL, 0);
    json_decref(ecdh);
    json_decref(oaep);
    EVP_PKEY_free(b);
    EVP_PKEY_free(rsa);
}

static void round_trip(EVP_PKEY *key, size_t n)
{
    uint8_t *pt = malloc(n + 1);
    json_t *jwe = NULL;
    json_t *header = NULL;
    uint8_t text[1024];
    size_t len = 0;
    EVP_PKEY *pub = NULL;
    json_t *jwk = NULL;
    char *text_sorted;
    struct veil_wr w;

    EXPECT_NOT_NULL(key);
    EXPECT_EQ(RAND_bytes(pt, (int)n + 1), 1);
    /* Encrypting needs the public key only. */
    EXPECT_OK(veil_jwk_to_json(key, &jwk));
    EXPECT_OK(veil_jwk_from_json(jwk, &pub));
    EXPECT_OK(veil_jwe_encrypt(pub, pt, n, &jwe));
    EXPECT_EQ(json_object_size(jwe), 5);
    EXPECT_OK(
        veil_jose_b64_decode_json(json_object_get(jwe, "protected"), text, sizeof(text), &len));
    EXPECT_OK(veil_jose_json_load(text, len, sizeof(text), &header));
    EXPECT_STR_EQ(json_string_value(json_object_get(header, "enc")), "A256GCM");
    /* The Trustee client does not use the received "protected" string as AAD: it re-serializes
     * the parsed header (serde_json, compact, alg, enc, then the other members sorted) and
     * encodes that. So the header must be exactly its own compact, key-sorted dump. */
    text_sorted = json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS);
    EXPECT_NOT_NULL(text_sorted);
    EXPECT_EQ(strlen(text_sorted), len);
    EXPECT_BYTES_EQ(text_sorted, text, len);
    free(text_sorted);
    if (EVP_PKEY_is_a(key, "RSA")) {
        EXPECT_STR_EQ(json_string_value(json_object_get(header, "alg")), "RSA-OAEP-256");
        EXPECT_EQ(json_object_size(header), 2);
    } else {
        EXPECT_STR_EQ(json_string_value(json_object_get(header, "alg")), "ECDH-ES+A256KW");
        EXPECT_STR_EQ(json_string_value(json_object_get(json_object_get(header, "epk"), "crv")),
                      json_string_value(json_object_get(jwk, "crv")));
        EXPECT_EQ(json_object_size(header), 3);
    }
    expect_decrypt(key, jwe, VEIL_OK, pt, n);
    /* The public key cannot decrypt. */
    veil_wr_init_secret(&w, n + 16);
    EXPECT_NE(veil_jwe_decrypt(pub, jwe, &w).code, VEIL_OK);
    EXPECT_EQ(w.len, 0);
    veil_wr_free(&w);
    json_decref(header);
    json_decref(jwe);
    json_decref(jwk);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    free(pt);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), 32);
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), 32);
    round_trip(jose_test_rsa_private(), 32);
    round_trip(bob(), 0);
    round_trip(bob(), 100000);
}

static void test_usage(void **state)
{
    EVP_PKEY *b = bob();
    EVP_PKEY *ed = jose_test_ed25519();
    json_t *jwe = J(interop_ecdh);
    json_t *out = NULL;
    struct veil_wr w;
    uint8_t pt[1] = {0};

    (void)state;
    /* The plaintext writer must be a secret one. */
    veil_wr_init(&w, 4096);
    EXPECT_ERR(veil_jwe_decrypt(b, jwe, &w), VEIL_ERR_USAGE);
    veil_wr_free(&w);
    /* The plaintext fits a writer of exactly its size, and not one byte less. */
    veil_wr_init_secret(&w, strlen(interop_plaintext));
    EXPECT_OK(veil_jwe_decrypt(b, jwe, &w));
    EXPECT_EQ(w.len, strlen(interop_plaintext));
    veil_wr_free(&w);
    veil_wr_init_secret(&w, strlen(interop_plaintext) - 1);
    EXPECT_ERR(veil_jwe_decrypt(b, jwe, &w), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(w.len, 0);
    veil_wr_free(&w);
    /* A signing key is no recipient. */
    EXPECT_ERR(veil_jwe_encrypt(ed, pt, sizeof(pt), &out), VEIL_ERR_CRYPTO_KEY);
    expect_decrypt(ed, jwe, VEIL_ERR_CRYPTO_KEY, NULL, 0);
    EXPECT_ERR(veil_jwe_encrypt(b, pt, VEIL_JWE_PLAINTEXT_SIZE_MAX + 1, &out),
               VEIL_ERR_USAGE_LIMIT);
    EXPECT_NULL(out);
    /* Another P-256 key: the unwrap fails. */
    EVP_PKEY_free(ed);
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    expect_decrypt(ed, jwe, VEIL_ERR_JWE_DECRYPT, NULL, 0);
    json_decref(jwe);
    EVP_PKEY_free(b);
    EVP_PKEY_free(ed);
}

/* ---- tampering helpers: each returns a modified copy */

static json_t *with_member(const json_t *jwe, const char *name, json_t *value)
{
    json_t *c = json_deep_copy(jwe);

    if (value == NULL) {
        EXPECT_EQ(json_object_del(c, name), 0);
    } else {
        EXPECT_EQ(json_object_set_new(c, name, value), 0);
    }
    return c;
}

static json_t *b64_str(const uint8_t *p, size_t n)
{
    json_t *s = NULL;

    EXPECT_OK(veil_jose_b64_json(p, n, &s));
    return s;
}

/* The member's bytes with one bit flipped at byte i. */
static json_t *flipped(const json_t *jwe, const char *name, size_t i)
{
    uint8_t buf[4096];
    size_t len = 0;

    EXPECT_OK(veil_jose_b64_decode_json(json_object_get(jwe, name), buf, sizeof(buf), &len));
    EXPECT_TRUE(i < len);
    buf[i] ^= 0x01;
    return with_member(jwe, name, b64_str(buf, len));
}

/* The member replaced by n random bytes. */
static json_t *resized(const json_t *jwe, const char *name, size_t n)
{
    uint8_t buf[1024];

    EXPECT_EQ(RAND_bytes(buf, (int)n), 1);
    return with_member(jwe, name, b64_str(buf, n));
}

/* The protected header replaced by text. */
static json_t *with_header(const json_t *jwe, const char *text)
{
    return with_member(jwe, "protected", b64_str((const uint8_t *)text, strlen(text)));
}

static void expect_refused(EVP_PKEY *key, json_t *tampered, int err)
{
    expect_decrypt(key, tampered, err, NULL, 0);
    json_decref(tampered);
}

static void test_tamper(void **state)
{
    EVP_PKEY *b = bob();
    EVP_PKEY *rsa = jose_test_rsa_private();
    json_t *ecdh = J(interop_ecdh);
    json_t *oaep = J(interop_rsa);
    json_t *t;

    (void)state;
    for (size_t i = 0; i < 27; i += 13) {
        expect_refused(b, flipped(ecdh, "ciphertext", i), VEIL_ERR_JWE_DECRYPT);
        expect_refused(rsa, flipped(oaep, "ciphertext", i), VEIL_ERR_JWE_DECRYPT);
    }
    for (size_t i = 0; i < 16; i += 15) {
        expect_refused(b, flipped(ecdh, "tag", i), VEIL_ERR_JWE_DECRYPT);
        expect_refused(b, flipped(ecdh, "iv", i % 12), VEIL_ERR_JWE_DECRYPT);
        expect_refused(rsa, flipped(oaep, "tag", i), VEIL_ERR_JWE_DECRYPT);
    }
    for (size_t i = 0; i < 40; i += 13) {
        expect_refused(b, flipped(ecdh, "encrypted_key", i), VEIL_ERR_JWE_DECRYPT);
    }
    /* OAEP failures look exactly like a bad tag (RFC 7516 section 11.5). */
    expect_refused(rsa, flipped(oaep, "encrypted_key", 0), VEIL_ERR_JWE_DECRYPT);
    expect_refused(rsa, flipped(oaep, "encrypted_key", 255), VEIL_ERR_JWE_DECRYPT);
    /* The header is the AAD: any change to its text, even a harmless one, fails the tag. */
    expect_refused(b, flipped(ecdh, "protected", 0), VEIL_ERR_JOSE);
    expect_refused(b, flipped(ecdh, "protected", 10), VEIL_ERR_JOSE_ALG);
    expect_refused(
        rsa, with_header(oaep, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"kid\":\"1\"}"),
        VEIL_ERR_JWE_DECRYPT);
    expect_refused(rsa, with_header(oaep, "{\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP-256\"}"),
                   VEIL_ERR_JWE_DECRYPT);
    /* apu changed: another KEK, so the unwrap fails. */
    t = with_header(ecdh,
                    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"apu\":\"QWxpY2f\","
                    "\"apv\":\"Qm9i\",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
                    "\"" RFC7518_ALICE_X "\",\"y\":\"" RFC7518_ALICE_Y "\"}}");
    expect_refused(b, t, VEIL_ERR_PROTO_ENCODING);
    t = with_header(ecdh,
                    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"apu\":\"QWxpY2E\","
                    "\"apv\":\"Qm9i\",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
                    "\"" RFC7518_ALICE_X "\",\"y\":\"" RFC7518_ALICE_Y "\"}}");
    expect_refused(b, t, VEIL_ERR_JWE_DECRYPT);
    json_decref(ecdh);
    json_decref(oaep);
    EVP_PKEY_free(b);
    EVP_PKEY_free(rsa);
}

static void test_lengths(void **state)
{
    EVP_PKEY *b = bob();
    EVP_PKEY *rsa = jose_test_rsa_private();
    json_t *ecdh = J(interop_ecdh);
    json_t *oaep = J(interop_rsa);

    (void)state;
    expect_refused(b, resized(ecdh, "iv", 11), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "iv", 13), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "iv", 16), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "tag", 15), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "tag", 12), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "tag", 0), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "encrypted_key", 32), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "encrypted_key", 39), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "encrypted_key", 48), VEIL_ERR_JOSE_LENGTH);
    expect_refused(rsa, resized(oaep, "encrypted_key", 255), VEIL_ERR_JOSE_LENGTH);
    expect_refused(rsa, resized(oaep, "encrypted_key", 40), VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, resized(ecdh, "ciphertext", 0), VEIL_ERR_JWE_DECRYPT);
    expect_refused(b, with_member(ecdh, "iv", json_string("ZGVmZ2hpamtsbW5v=")),
                   VEIL_ERR_JOSE_LENGTH);
    expect_refused(b, with_member(ecdh, "ciphertext", json_string("Pn63ClmAOOpbEDCY4EUe+")),
                   VEIL_ERR_PROTO_ENCODING);
    json_decref(ecdh);
    json_decref(oaep);
    EVP_PKEY_free(b);
    EVP_PKEY_free(rsa);
}

static void test_members(void **state)
{
    EVP_PKEY *b = bob();
    json_t *ecdh = J(interop_ecdh);

    (void)state;
    expect_refused(b, with_member(ecdh, "aad", json_string("QQ")), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "header", json_object()), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "unprotected", json_object()), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "recipients", json_array()), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "iv", NULL), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "tag", NULL), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "encrypted_key", NULL), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "ciphertext", json_integer(1)), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, with_member(ecdh, "protected", json_null()), VEIL_ERR_JOSE_MEMBER);
    expect_refused(b, json_array(), VEIL_ERR_JOSE_MEMBER);
    json_decref(ecdh);
    EVP_PKEY_free(b);
}

#define EPK_ALICE                                                        \
    "\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7518_ALICE_X \
    "\",\"y\":\"" RFC7518_ALICE_Y "\"}"
#define HDR(rest) "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"," rest "}"

static void test_header(void **state)
{
    static const struct {
        const char *header;
        int err;
    } cases[] = {
        /* Well-formed but not the header the tag covers. */
        {HDR(EPK_ALICE), VEIL_ERR_JWE_DECRYPT},
        {HDR(EPK_ALICE ",\"kid\":\"k\",\"typ\":\"JWE\",\"cty\":\"x\""), VEIL_ERR_JWE_DECRYPT},
        /* Algorithms. */
        {"{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\"," EPK_ALICE "}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"ECDH-ES+A128KW\",\"enc\":\"A256GCM\"," EPK_ALICE "}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"none\",\"enc\":\"A256GCM\"}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\"," EPK_ALICE "}", VEIL_ERR_JOSE_ALG},
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256CBC-HS512\"," EPK_ALICE "}", VEIL_ERR_JOSE_ALG},
        {HDR(EPK_ALICE ",\"zip\":\"DEF\""), VEIL_ERR_JOSE_ALG},
        {HDR(EPK_ALICE ",\"crit\":[\"x\"],\"x\":1"), VEIL_ERR_JOSE_CRIT},
        /* Members. */
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}", VEIL_ERR_JOSE_MEMBER},
        {"{\"enc\":\"A256GCM\"," EPK_ALICE "}", VEIL_ERR_JOSE_MEMBER},
        {"{\"alg\":\"ECDH-ES+A256KW\"," EPK_ALICE "}", VEIL_ERR_JOSE_MEMBER},
        {HDR(EPK_ALICE ",\"jku\":\"https://x\""), VEIL_ERR_JOSE_MEMBER},
        {HDR(EPK_ALICE ",\"apu\":1"), VEIL_ERR_JOSE_MEMBER},
        {HDR("\"epk\":\"" RFC7518_ALICE_X "\""), VEIL_ERR_JOSE_MEMBER},
        {HDR(EPK_ALICE ",\"alg\":\"ECDH-ES+A256KW\""), VEIL_ERR_JOSE},
        {"[]", VEIL_ERR_JOSE},
        {"", VEIL_ERR_JOSE},
        /* The ephemeral key. */
        {HDR("\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7518_ALICE_X
             "\",\"y\":\"" RFC7518_BOB_Y "\"}"),
         VEIL_ERR_JWK_KEY}, /* off the curve */
        {HDR("\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7518_ALICE_X
             "\",\"y\":\"" RFC7518_ALICE_Y "\",\"d\":\"" RFC7518_ALICE_D "\"}"),
         VEIL_ERR_JWK_PRIVATE},
        {HDR("\"epk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_ED25519_X "\"}"),
         VEIL_ERR_JWE_EPK},
        {HDR("\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7518_ALICE_X "\"}"),
         VEIL_ERR_JOSE_MEMBER},
        {HDR(EPK_ALICE ",\"apv\":\"" RFC7518_ALICE_D RFC7518_ALICE_D RFC7518_ALICE_D RFC7518_ALICE_D
                 RFC7518_ALICE_D RFC7518_ALICE_D RFC7518_ALICE_D RFC7518_ALICE_D "\""),
         VEIL_ERR_PROTO_LIMIT},
    };
    EVP_PKEY *b = bob();
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    json_t *ecdh = J(interop_ecdh);
    json_t *epk = NULL;
    json_t *h;
    char *text;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("header %s\n", cases[i].header);
        expect_refused(b, with_header(ecdh, cases[i].header), cases[i].err);
    }
    /* A valid P-384 point for a P-256 recipient. */
    EXPECT_OK(veil_jwk_to_json(p384, &epk));
    h = J(HDR("\"epk\":{}"));
    EXPECT_EQ(json_object_set_new(h, "epk", epk), 0);
    text = json_dumps(h, JSON_COMPACT);
    expect_refused(b, with_header(ecdh, text), VEIL_ERR_JWE_EPK);
    free(text);
    json_decref(h);
    json_decref(ecdh);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(b);
}

static void test_rsa_header(void **state)
{
    EVP_PKEY *rsa = jose_test_rsa_private();
    json_t *oaep = J(interop_rsa);

    (void)state;
    expect_refused(rsa, with_header(oaep, "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}"),
                   VEIL_ERR_JOSE_ALG);
    expect_refused(rsa, with_header(oaep, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}"),
                   VEIL_ERR_JOSE_ALG);
    expect_refused(rsa, with_header(oaep, HDR(EPK_ALICE)), VEIL_ERR_JOSE_ALG);
    expect_refused(
        rsa, with_header(oaep, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"," EPK_ALICE "}"),
        VEIL_ERR_JOSE_MEMBER);
    expect_refused(
        rsa, with_header(oaep, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"apu\":\"QQ\"}"),
        VEIL_ERR_JOSE_MEMBER);
    json_decref(oaep);
    EVP_PKEY_free(rsa);
}

VEIL_TEST_MAIN(test_rfc7518_c_concat_kdf, test_interop, test_round_trips, test_usage, test_tamper,
               test_lengths, test_members, test_header, test_rsa_header)
