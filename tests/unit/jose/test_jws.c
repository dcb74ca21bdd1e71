/* JWS compact and JWT: RFC 7515 A.3 and RFC 8037 A.4 vectors, round trips, every refusal. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "base/encoding.h"
#include "jose/internal.h"
#include "jose/jose.h"
#include "jose_test.h"
#include "veil_test.h"

#define NOW 1700000000

/* RFC 7515 appendix A.3. */
static const char rfc7515_a3[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
static const char rfc7515_a3_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/* RFC 8037 appendix A.4. */
static const char rfc8037_a4[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

static EVP_PKEY *public_of(EVP_PKEY *key)
{
    json_t *j = NULL;
    EVP_PKEY *pub = NULL;

    EXPECT_OK(veil_jwk_to_json(key, &j));
    EXPECT_OK(veil_jwk_from_json(j, &pub));
    json_decref(j);
    return pub;
}

static void expect_verify(EVP_PKEY *key, const char *compact, int err)
{
    struct veil_wr w;

    veil_wr_init(&w, VEIL_JOSE_SIZE_MAX);
    EXPECT_ERR(veil_jws_verify(key, compact, strlen(compact), &w), err);
    if (err != VEIL_OK) {
        EXPECT_EQ(w.len, 0);
    }
    veil_wr_free(&w);
}

/* b64(header) "." b64(payload) "." b64(Ed25519 signature over the first two): lets a test put
 * any header under a valid signature. */
static char *ed25519_forge(EVP_PKEY *key, const char *header, const char *payload)
{
    struct veil_wr w;
    uint8_t sig[64];
    size_t len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *s = NULL;
    char *out;

    veil_wr_init(&w, 1 << 16);
    EXPECT_OK(veil_jose_b64_append(&w, (const uint8_t *)header, strlen(header)));
    EXPECT_OK(veil_wr_u8(&w, '.'));
    EXPECT_OK(veil_jose_b64_append(&w, (const uint8_t *)payload, strlen(payload)));
    EXPECT_EQ(EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key, NULL), 1);
    EXPECT_EQ(EVP_DigestSign(md, sig, &len, w.data, w.len), 1);
    EVP_MD_CTX_free(md);
    EXPECT_OK(veil_wr_u8(&w, '.'));
    EXPECT_OK(veil_jose_b64_append(&w, sig, len));
    EXPECT_OK(veil_wr_cstr(&w, &s));
    out = strdup(s);
    veil_wr_free(&w);
    return out;
}

static void test_rfc7515_a3_es256(void **state)
{
    EVP_PKEY *key = jose_test_p256_private();
    EVP_PKEY *pub = public_of(key);
    struct veil_wr w;
    char tampered[sizeof(rfc7515_a3)];

    (void)state;
    veil_wr_init(&w, 4096);
    EXPECT_OK(veil_jws_verify(pub, rfc7515_a3, strlen(rfc7515_a3), &w));
    EXPECT_EQ(w.len, strlen(rfc7515_a3_payload));
    EXPECT_BYTES_EQ(w.data, rfc7515_a3_payload, w.len);
    veil_wr_free(&w);
    /* One signature bit, one payload character. */
    memcpy(tampered, rfc7515_a3, sizeof(tampered));
    tampered[sizeof(tampered) - 3] ^= 0x01;
    expect_verify(pub, tampered, VEIL_ERR_JWS_SIGNATURE);
    memcpy(tampered, rfc7515_a3, sizeof(tampered));
    tampered[30] = tampered[30] == 'A' ? 'B' : 'A';
    expect_verify(pub, tampered, VEIL_ERR_JWS_SIGNATURE);
    /* Another P-256 key. */
    EVP_PKEY_free(key);
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    expect_verify(key, rfc7515_a3, VEIL_ERR_JWS_SIGNATURE);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
}

static void test_rfc8037_a4_eddsa(void **state)
{
    static const char msg[] = "Example of Ed25519 signing";
    EVP_PKEY *key = jose_test_ed25519();
    EVP_PKEY *pub = public_of(key);
    struct veil_wr w;
    const char *s = NULL;

    (void)state;
    expect_verify(pub, rfc8037_a4, VEIL_OK);
    /* Ed25519 is deterministic: signing gives the RFC's bytes exactly. */
    veil_wr_init(&w, 4096);
    EXPECT_OK(veil_jws_sign(key, NULL, (const uint8_t *)msg, strlen(msg), &w));
    EXPECT_OK(veil_wr_cstr(&w, &s));
    EXPECT_STR_EQ(s, rfc8037_a4);
    veil_wr_free(&w);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
}

static void round_trip(EVP_PKEY *key, const char *alg)
{
    static const uint8_t payload[] = "{\"hello\":\"world\"}";
    EVP_PKEY *pub = public_of(key);
    struct veil_wr token;
    struct veil_wr out;
    uint8_t header[128];
    size_t len = 0;
    char want[64];

    veil_wr_init(&token, 1 << 16);
    veil_wr_init(&out, 1 << 16);
    EXPECT_OK(veil_wr_u8(&token, 'x')); /* sign appends */
    EXPECT_OK(veil_jws_sign(key, "test+jws", payload, sizeof(payload), &token));
    EXPECT_OK(veil_jose_b64_decode(
        (const char *)token.data + 1,
        (size_t)((uint8_t *)memchr(token.data, '.', token.len) - token.data - 1), header,
        sizeof(header), &len));
    (void)snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"typ\":\"test+jws\"}", alg);
    EXPECT_EQ(len, strlen(want));
    EXPECT_BYTES_EQ(header, want, len);
    EXPECT_OK(veil_jws_verify(pub, (const char *)token.data + 1, token.len - 1, &out));
    EXPECT_EQ(out.len, sizeof(payload));
    EXPECT_BYTES_EQ(out.data, payload, sizeof(payload));
    /* typ must be UTF-8; the writer is left as it was. */
    len = token.len;
    EXPECT_ERR(veil_jws_sign(key, "\xff", payload, sizeof(payload), &token), VEIL_ERR_USAGE);
    EXPECT_EQ(token.len, len);
    /* An empty payload too. */
    veil_wr_reset(&token);
    veil_wr_reset(&out);
    EXPECT_OK(veil_jws_sign(key, NULL, NULL, 0, &token));
    EXPECT_OK(veil_jws_verify(pub, (const char *)token.data, token.len, &out));
    EXPECT_EQ(out.len, 0);
    veil_wr_free(&token);
    veil_wr_free(&out);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "ES256");
    round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), "ES384");
    round_trip(jose_test_ed25519(), "EdDSA");
    round_trip(jose_test_rsa_private(), "RS256");
}

static char *sign_str(EVP_PKEY *key, const char *payload)
{
    struct veil_wr w;
    const char *s = NULL;
    char *out;

    veil_wr_init(&w, 1 << 16);
    EXPECT_OK(veil_jws_sign(key, "JWT", (const uint8_t *)payload, strlen(payload), &w));
    EXPECT_OK(veil_wr_cstr(&w, &s));
    out = strdup(s);
    veil_wr_free(&w);
    return out;
}

/* The header's alg is checked against the key before any signature work. */
static void test_alg_confusion(void **state)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *ed = jose_test_ed25519();
    EVP_PKEY *rsa = jose_test_rsa_private();
    char *t256 = sign_str(p256, "{}");
    char *t384 = sign_str(p384, "{}");
    char *ted = sign_str(ed, "{}");
    char *trsa = sign_str(rsa, "{}");
    char *t;

    (void)state;
    expect_verify(p256, t256, VEIL_OK);
    expect_verify(p384, t256, VEIL_ERR_JOSE_ALG);
    expect_verify(ed, t256, VEIL_ERR_JOSE_ALG);
    expect_verify(rsa, t256, VEIL_ERR_JOSE_ALG);
    expect_verify(p256, t384, VEIL_ERR_JOSE_ALG);
    expect_verify(p256, ted, VEIL_ERR_JOSE_ALG);
    expect_verify(p256, trsa, VEIL_ERR_JOSE_ALG);
    expect_verify(ed, trsa, VEIL_ERR_JOSE_ALG);
    /* "none" with an empty signature, and with the Ed25519 one. */
    expect_verify(ed, "eyJhbGciOiJub25lIn0.e30.", VEIL_ERR_JOSE_ALG);
    t = ed25519_forge(ed, "{\"alg\":\"none\"}", "{}");
    expect_verify(ed, t, VEIL_ERR_JOSE_ALG);
    free(t);
    /* HS256 (the public key used as an HMAC secret), other algorithms, case games. */
    t = ed25519_forge(ed, "{\"alg\":\"HS256\"}", "{}");
    expect_verify(ed, t, VEIL_ERR_JOSE_ALG);
    free(t);
    t = ed25519_forge(ed, "{\"alg\":\"eddsa\"}", "{}");
    expect_verify(ed, t, VEIL_ERR_JOSE_ALG);
    free(t);
    t = ed25519_forge(ed, "{\"alg\":\"Ed25519\"}", "{}");
    expect_verify(ed, t, VEIL_ERR_JOSE_ALG);
    free(t);
    t = ed25519_forge(ed, "{\"alg\":\"EdDSA\"}", "{}");
    expect_verify(ed, t, VEIL_OK);
    free(t);
    /* X25519 and secp256k1 keys are not JOSE signing keys here. */
    EVP_PKEY_free(p384);
    p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    expect_verify(p384, t256, VEIL_ERR_CRYPTO_KEY);
    free(t256);
    free(t384);
    free(ted);
    free(trsa);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
}

static void test_header(void **state)
{
    static const struct {
        const char *header;
        int err;
    } cases[] = {
        {"{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"k\",\"cty\":\"x\"}", VEIL_OK},
        {"{\"alg\":\"EdDSA\",\"crit\":[\"exp\"],\"exp\":1}", VEIL_ERR_JOSE_CRIT},
        {"{\"alg\":\"EdDSA\",\"crit\":[]}", VEIL_ERR_JOSE_CRIT},
        {"{\"alg\":\"EdDSA\",\"jwk\":{}}", VEIL_ERR_JOSE_MEMBER},
        {"{\"alg\":\"EdDSA\",\"b64\":false}", VEIL_ERR_JOSE_MEMBER},
        {"{\"alg\":\"EdDSA\",\"typ\":1}", VEIL_ERR_JOSE_MEMBER},
        {"{\"typ\":\"JWT\"}", VEIL_ERR_JOSE_MEMBER},
        {"{\"alg\":[\"EdDSA\"]}", VEIL_ERR_JOSE_MEMBER},
        {"{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", VEIL_ERR_JOSE},
        {"{\"alg\":\"EdDSA\"", VEIL_ERR_JOSE},
        {"[\"EdDSA\"]", VEIL_ERR_JOSE},
        {"\"EdDSA\"", VEIL_ERR_JOSE},
        {"", VEIL_ERR_JOSE},
    };
    EVP_PKEY *ed = jose_test_ed25519();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = ed25519_forge(ed, cases[i].header, "{}");
        print_message("header %s\n", cases[i].header);
        expect_verify(ed, t, cases[i].err);
        free(t);
    }
    EVP_PKEY_free(ed);
}

static void test_structure(void **state)
{
    EVP_PKEY *ed = jose_test_ed25519();
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *t = sign_str(p256, "{}");
    char buf[512];
    struct veil_wr w;
    uint8_t small[1];

    (void)state;
    expect_verify(ed, "", VEIL_ERR_JOSE);
    expect_verify(ed, "eyJhbGciOiJFZERTQSJ9", VEIL_ERR_JOSE);
    expect_verify(ed, "eyJhbGciOiJFZERTQSJ9.e30", VEIL_ERR_JOSE);
    (void)snprintf(buf, sizeof(buf), "%s.", rfc8037_a4);
    expect_verify(ed, buf, VEIL_ERR_JOSE);
    (void)snprintf(buf, sizeof(buf), "%s.AA", rfc8037_a4);
    expect_verify(ed, buf, VEIL_ERR_JOSE);
    /* Signature one byte short, one long, padded; payload with padding or a bad character. */
    (void)snprintf(buf, sizeof(buf), "%.*s", (int)strlen(rfc8037_a4) - 2, rfc8037_a4);
    expect_verify(ed, buf, VEIL_ERR_JOSE_LENGTH);
    (void)snprintf(buf, sizeof(buf), "%sAA", rfc8037_a4);
    expect_verify(ed, buf, VEIL_ERR_JOSE_LENGTH);
    (void)snprintf(buf, sizeof(buf), "%s==", rfc8037_a4);
    expect_verify(ed, buf, VEIL_ERR_JOSE_LENGTH);
    (void)snprintf(buf, sizeof(buf), "%s", rfc8037_a4);
    buf[21] = '+';
    expect_verify(ed, buf, VEIL_ERR_JWS_SIGNATURE); /* the signature covers the text */
    /* ECDSA: r || s of the wrong length, and DER where r || s belongs. */
    (void)snprintf(buf, sizeof(buf), "%.*sMEQCIA", (int)(strrchr(t, '.') - t + 1), t);
    expect_verify(p256, buf, VEIL_ERR_JOSE_LENGTH);
    /* Over the size cap. */
    EXPECT_ERR(veil_jws_verify(ed, rfc8037_a4, VEIL_JOSE_SIZE_MAX + 1, &w), VEIL_ERR_PROTO_LIMIT);
    /* A payload that does not fit the caller's writer: refused, writer untouched. */
    veil_wr_init_fixed(&w, small, sizeof(small));
    EXPECT_ERR(veil_jws_verify(ed, rfc8037_a4, strlen(rfc8037_a4), &w), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(w.len, 0);
    free(t);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(ed);
}

/* ---- JWT */

static char *jwt(EVP_PKEY *key, const char *claims_text)
{
    json_error_t err;
    json_t *claims = json_loads(claims_text, 0, &err);
    struct veil_wr w;
    const char *s = NULL;
    char *out;

    EXPECT_NOT_NULL(claims);
    veil_wr_init(&w, 1 << 16);
    EXPECT_OK(veil_jwt_sign(key, claims, &w));
    EXPECT_OK(veil_wr_cstr(&w, &s));
    out = strdup(s);
    veil_wr_free(&w);
    json_decref(claims);
    return out;
}

static void expect_jwt(EVP_PKEY *key, const char *token, long leeway, int err)
{
    json_t *claims = NULL;

    EXPECT_ERR(veil_jwt_verify(key, token, strlen(token), NOW, leeway, &claims), err);
    EXPECT_TRUE((claims != NULL) == (err == VEIL_OK));
    json_decref(claims);
}

static void expect_claims(EVP_PKEY *key, const char *claims_text, long leeway, int err)
{
    char *t = jwt(key, claims_text);

    print_message("claims %s\n", claims_text);
    expect_jwt(key, t, leeway, err);
    free(t);
}

static void test_jwt_round_trip(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    char *t = jwt(key,
                  "{\"iss\":\"veil-kbs\",\"exp\":1700000060,\"iat\":1700000000,"
                  "\"nbf\":1700000000,\"tee\":\"sim\"}");
    json_t *claims = NULL;

    (void)state;
    EXPECT_OK(veil_jwt_verify(key, t, strlen(t), NOW, 0, &claims));
    EXPECT_STR_EQ(json_string_value(json_object_get(claims, "tee")), "sim");
    EXPECT_EQ(json_integer_value(json_object_get(claims, "exp")), 1700000060);
    json_decref(claims);
    claims = NULL;
    EXPECT_ERR(veil_jwt_verify(key, t, strlen(t), NOW, -1, &claims), VEIL_ERR_USAGE_LIMIT);
    EXPECT_ERR(veil_jwt_verify(key, t, strlen(t), -1, 0, &claims), VEIL_ERR_USAGE_LIMIT);
    EXPECT_NULL(claims);
    free(t);
    EVP_PKEY_free(key);
}

static void test_jwt_times(void **state)
{
    EVP_PKEY *key = jose_test_ed25519();

    (void)state;
    expect_claims(key, "{\"exp\":1700000001}", 0, VEIL_OK);
    expect_claims(key, "{\"exp\":1700000000}", 0, VEIL_ERR_JWT_EXPIRED); /* now must be before */
    expect_claims(key, "{\"exp\":1699999999}", 0, VEIL_ERR_JWT_EXPIRED);
    expect_claims(key, "{\"exp\":1699999999}", 30, VEIL_OK);
    expect_claims(key, "{\"exp\":1699999970}", 30, VEIL_ERR_JWT_EXPIRED);
    expect_claims(key, "{\"exp\":0}", 0, VEIL_ERR_JWT_EXPIRED);
    expect_claims(key, "{\"exp\":-9223372036854775807}", 60, VEIL_ERR_JWT_EXPIRED);
    expect_claims(key, "{\"exp\":9223372036854775807}", 60, VEIL_OK);
    expect_claims(key, "{\"exp\":1700000060,\"nbf\":1700000000}", 0, VEIL_OK);
    expect_claims(key, "{\"exp\":1700000060,\"nbf\":1700000001}", 0, VEIL_ERR_JWT_NOT_YET_VALID);
    expect_claims(key, "{\"exp\":1700000060,\"nbf\":1700000010}", 10, VEIL_OK);
    expect_claims(key, "{\"exp\":1700000060,\"nbf\":9223372036854775807}", 60,
                  VEIL_ERR_JWT_NOT_YET_VALID);
    expect_claims(key, "{\"exp\":1700000060,\"iat\":1700000001}", 0, VEIL_ERR_JWT_NOT_YET_VALID);
    expect_claims(key, "{\"exp\":1700000060,\"iat\":1700000001}", 1, VEIL_OK);
    EVP_PKEY_free(key);
}

static void test_jwt_claims(void **state)
{
    EVP_PKEY *key = jose_test_ed25519();
    char *t;

    (void)state;
    expect_claims(key, "{}", 0, VEIL_ERR_JWT_CLAIMS);
    expect_claims(key, "{\"exp\":\"1700000060\"}", 0, VEIL_ERR_JWT_CLAIMS);
    expect_claims(key, "{\"exp\":1700000060.5}", 0, VEIL_ERR_JWT_CLAIMS);
    expect_claims(key, "{\"exp\":null}", 0, VEIL_ERR_JWT_CLAIMS);
    expect_claims(key, "{\"exp\":1700000060,\"nbf\":\"0\"}", 0, VEIL_ERR_JWT_CLAIMS);
    expect_claims(key, "{\"exp\":1700000060,\"iat\":true}", 0, VEIL_ERR_JWT_CLAIMS);
    /* Not an object, not JSON, duplicate claims (signed as JWS payloads). */
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", "[1700000060]");
    expect_jwt(key, t, 0, VEIL_ERR_JWT_CLAIMS);
    free(t);
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", "{\"exp\":");
    expect_jwt(key, t, 0, VEIL_ERR_JWT_CLAIMS);
    free(t);
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\"}", "{\"exp\":1,\"exp\":1700000060}");
    expect_jwt(key, t, 0, VEIL_ERR_JWT_CLAIMS);
    free(t);
    /* typ: absent is fine, anything but "JWT" is another kind of JWS. */
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\"}", "{\"exp\":1700000060}");
    expect_jwt(key, t, 0, VEIL_OK);
    free(t);
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\",\"typ\":\"kbs+jws\"}", "{\"exp\":1700000060}");
    expect_jwt(key, t, 0, VEIL_ERR_JOSE_MEMBER);
    free(t);
    /* The signature still decides first. */
    t = ed25519_forge(key, "{\"alg\":\"EdDSA\"}", "{\"exp\":1700000060}");
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    expect_jwt(key, t, 0, VEIL_ERR_JWS_SIGNATURE);
    free(t);
    EVP_PKEY_free(key);
}

/* Writes key (or, if key is NULL, text) as PEM to a fresh file with the given mode. */
static void write_pem(char *path, EVP_PKEY *key, const char *text, mode_t mode)
{
    int fd = mkstemp(path);
    FILE *f;

    EXPECT_TRUE(fd >= 0);
    f = fdopen(fd, "w");
    EXPECT_NOT_NULL(f);
    if (key != NULL) {
        EXPECT_EQ(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    } else {
        EXPECT_TRUE(fputs(text, f) >= 0);
    }
    EXPECT_EQ(fclose(f), 0);
    EXPECT_EQ(chmod(path, mode), 0);
}

/* The broker's token key: the curves JWS signs with load, others and loose files do not. */
static void test_jws_key_load(void **state)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    EVP_PKEY *got = NULL;
    char ok[] = "/tmp/veil-jws-key-XXXXXX";
    char loose[] = "/tmp/veil-jws-key-XXXXXX";
    char curve[] = "/tmp/veil-jws-key-XXXXXX";
    char junk[] = "/tmp/veil-jws-key-XXXXXX";

    (void)state;
    EXPECT_NOT_NULL(p256);
    EXPECT_NOT_NULL(p521);
    write_pem(ok, p256, NULL, 0600);
    write_pem(loose, p256, NULL, 0644);
    write_pem(curve, p521, NULL, 0600);
    write_pem(junk, NULL, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
    EXPECT_OK(veil_jws_key_load(ok, &got));
    EXPECT_EQ(EVP_PKEY_eq(got, p256), 1);
    EVP_PKEY_free(got);
    got = NULL;
    EXPECT_ERR(veil_jws_key_load(loose, &got), VEIL_ERR_IO_PERMISSIONS);
    EXPECT_ERR(veil_jws_key_load(curve, &got), VEIL_ERR_CRYPTO_KEY);
    EXPECT_ERR(veil_jws_key_load(junk, &got), VEIL_ERR_PROTO_KEY);
    EXPECT_NULL(got);
    (void)unlink(ok);
    (void)unlink(loose);
    (void)unlink(curve);
    (void)unlink(junk);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p521);
}

VEIL_TEST_MAIN(test_rfc7515_a3_es256, test_rfc8037_a4_eddsa, test_round_trips, test_alg_confusion,
               test_header, test_structure, test_jwt_round_trip, test_jwt_times, test_jwt_claims,
               test_jws_key_load)
