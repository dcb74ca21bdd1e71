/*
 * JWS compact serialization (RFC 7515) and JWT (RFC 7519). The algorithm follows the key and
 * nothing else: ES256 (P-256), ES384 (P-384), EdDSA (Ed25519, RFC 8037), RS256 (RSA). A header
 * naming any other algorithm ("none", HS256, ...) or carrying "crit" is refused before the
 * signature is looked at. ECDSA signatures are JOSE's fixed r || s, not DER.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>

#include "crypto/crypto.h"
#include "jose/internal.h"

#define JWS_SIG_SIZE_MAX   VEIL_JOSE_RSA_SIZE_MAX
#define JWT_LEEWAY_S_MAX   86400L
#define JWT_NOW_MAX        ((time_t)1 << 40) /* year 36812: keeps now + leeway from overflowing */
#define ECDSA_DER_SIZE_MAX (2 * VEIL_JOSE_EC_SIZE_MAX + 16)

const char *veil_jws_alg_of(enum veil_jose_kind kind)
{
    switch (kind) {
        case VEIL_JOSE_P256:
            return "ES256";
        case VEIL_JOSE_P384:
            return "ES384";
        case VEIL_JOSE_RSA:
            return "RS256";
        case VEIL_JOSE_ED25519:
            return "EdDSA";
    }
    return "none-of-ours";
}

static const char *md_of(enum veil_jose_kind kind)
{
    switch (kind) {
        case VEIL_JOSE_P256:
        case VEIL_JOSE_RSA:
            return "SHA256";
        case VEIL_JOSE_P384:
            return "SHA384";
        case VEIL_JOSE_ED25519:
            break;
    }
    return NULL; /* EdDSA hashes internally */
}

static size_t sig_size_of(EVP_PKEY *key, enum veil_jose_kind kind)
{
    int size;

    switch (kind) {
        case VEIL_JOSE_P256:
        case VEIL_JOSE_P384:
            return 2 * veil_jose_ec_size(kind);
        case VEIL_JOSE_ED25519:
            return 64;
        case VEIL_JOSE_RSA:
            size = EVP_PKEY_get_size(key);
            return size > 0 && size <= JWS_SIG_SIZE_MAX ? (size_t)size : 0;
    }
    return 0;
}

/* DER ECDSA-Sig-Value -> r || s, each half bytes. */
static VEIL_RESULT ecdsa_der_to_raw(const uint8_t *der, size_t n, uint8_t *raw, size_t half)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    int ok;

    ENSURE(sig != NULL, VEIL_ERR_INTERNAL_OSSL);
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, (int)half) == (int)half &&
         BN_bn2binpad(s, raw + half, (int)half) == (int)half;
    ECDSA_SIG_free(sig);
    ENSURE(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

/* r || s -> DER (OPENSSL_free it). */
static VEIL_RESULT ecdsa_raw_to_der(const uint8_t *raw, size_t half, uint8_t **der, size_t *n)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(raw + half, (int)half, NULL);
    unsigned char *p = NULL;
    int len;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        BAIL(VEIL_ERR_NOMEM);
    }
    len = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    ENSURE(len > 0, VEIL_ERR_INTERNAL_OSSL);
    *der = p;
    *n = (size_t)len;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT raw_sign(EVP_PKEY *key, enum veil_jose_kind kind, const uint8_t *msg, size_t n,
                            uint8_t *sig, size_t sig_size)
{
    uint8_t der[ECDSA_DER_SIZE_MAX];
    bool ecdsa = kind == VEIL_JOSE_P256 || kind == VEIL_JOSE_P384;
    uint8_t *dst = ecdsa ? der : sig;
    size_t len = ecdsa ? sizeof(der) : sig_size;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    ok = EVP_DigestSignInit_ex(md, NULL, md_of(kind), NULL, NULL, key, NULL) == 1 &&
         EVP_DigestSign(md, dst, &len, msg, n) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    if (ecdsa) {
        return ecdsa_der_to_raw(der, len, sig, sig_size / 2);
    }
    ENSURE(len == sig_size, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT raw_verify(EVP_PKEY *key, enum veil_jose_kind kind, const uint8_t *msg, size_t n,
                              const uint8_t *sig, size_t sig_size)
{
    bool ecdsa = kind == VEIL_JOSE_P256 || kind == VEIL_JOSE_P384;
    uint8_t *der = NULL;
    size_t der_size = 0;
    EVP_MD_CTX *md;
    int ok;

    if (ecdsa) {
        GUARD(ecdsa_raw_to_der(sig, sig_size / 2, &der, &der_size));
    }
    md = EVP_MD_CTX_new();
    if (md == NULL) {
        OPENSSL_free(der);
        BAIL(VEIL_ERR_NOMEM);
    }
    ok = EVP_DigestVerifyInit_ex(md, NULL, md_of(kind), NULL, NULL, key, NULL) == 1 &&
         EVP_DigestVerify(md, ecdsa ? der : sig, ecdsa ? der_size : sig_size, msg, n) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_JWS_SIGNATURE);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT header_text(enum veil_jose_kind kind, const char *typ, char **out)
{
    json_t *h;
    json_t *t = NULL;
    char *text = NULL;

    if (typ != NULL) {
        t = json_string(typ);
        ENSURE(t != NULL, VEIL_ERR_USAGE); /* not UTF-8 */
    }
    h = json_object();
    if (h == NULL) {
        json_decref(t);
        BAIL(VEIL_ERR_NOMEM);
    }
    if (json_object_set_new(h, "alg", json_string(veil_jws_alg_of(kind))) != 0) {
        json_decref(t);
    } else if (t == NULL || json_object_set_new(h, "typ", t) == 0) {
        text = json_dumps(h, JSON_COMPACT);
    }
    json_decref(h);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    *out = text;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT sign_into(EVP_PKEY *key, enum veil_jose_kind kind, const char *header,
                             const uint8_t *payload, size_t n, struct veil_wr *out, size_t start)
{
    uint8_t sig[JWS_SIG_SIZE_MAX];
    size_t sig_size = sig_size_of(key, kind);

    ENSURE(sig_size > 0, VEIL_ERR_CRYPTO_KEY);
    GUARD(veil_jose_b64_append(out, (const uint8_t *)header, strlen(header)));
    GUARD(veil_wr_u8(out, '.'));
    GUARD(veil_jose_b64_append(out, payload, n));
    GUARD(raw_sign(key, kind, out->data + start, out->len - start, sig, sig_size));
    GUARD(veil_wr_u8(out, '.'));
    GUARD(veil_jose_b64_append(out, sig, sig_size));
    return VEIL_RESULT_OK;
}

veil_result veil_jws_sign(EVP_PKEY *key, const char *typ, const uint8_t *payload, size_t n,
                          struct veil_wr *out)
{
    enum veil_jose_kind kind;
    char *header = NULL;
    size_t start;
    veil_result r;

    ENSURE(out != NULL && (payload != NULL || n == 0), VEIL_ERR_USAGE);
    ENSURE(n <= VEIL_JOSE_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_jose_key_kind(key, &kind));
    GUARD(header_text(kind, typ, &header));
    start = out->len;
    r = sign_into(key, kind, header, payload, n, out, start);
    if (!veil_ok(r)) {
        out->len = start; /* nothing half-written stays behind */
    }
    free(header);
    return r;
}

/* The protected header: alg must be the key's own algorithm; crit is refused. */
static VEIL_RESULT check_header(const uint8_t *text, size_t n, enum veil_jose_kind kind,
                                json_t **out)
{
    struct veil_jose_member m[] = {
        {"alg", VEIL_JOSE_STRING, true, 0, NULL},
        {"typ", VEIL_JOSE_STRING, false, 0, NULL},
        {"cty", VEIL_JOSE_STRING, false, 0, NULL},
        {"kid", VEIL_JOSE_STRING, false, 0, NULL},
        {"crit", VEIL_JOSE_ANY, false, VEIL_ERR_JOSE_CRIT, NULL},
    };
    json_t *h = NULL;
    veil_result r;

    GUARD(veil_jose_json_load(text, n, VEIL_JOSE_HEADER_SIZE_MAX, &h));
    r = veil_jose_members(h, m, sizeof(m) / sizeof(m[0]));
    /* "none", "HS256" (the public key as an HMAC secret) and every other algorithm than the
     * key's own fail this one comparison. */
    if (veil_ok(r) && !veil_jose_str_eq(m[0].value, veil_jws_alg_of(kind))) {
        r = veil_result_of(VEIL_ERR_JOSE_ALG);
    }
    if (!veil_ok(r)) {
        json_decref(h);
        return r;
    }
    *out = h;
    return VEIL_RESULT_OK;
}

/* Offsets of the two dots; anything but three parts is VEIL_ERR_JOSE. */
static VEIL_RESULT split3(const char *s, size_t n, size_t *dot1, size_t *dot2)
{
    const char *p1 = memchr(s, '.', n);
    const char *p2;

    ENSURE(p1 != NULL, VEIL_ERR_JOSE);
    *dot1 = (size_t)(p1 - s);
    p2 = memchr(s + *dot1 + 1, '.', n - *dot1 - 1);
    ENSURE(p2 != NULL, VEIL_ERR_JOSE);
    *dot2 = (size_t)(p2 - s);
    ENSURE(memchr(s + *dot2 + 1, '.', n - *dot2 - 1) == NULL, VEIL_ERR_JOSE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT jws_verify(EVP_PKEY *key, const char *compact, size_t n, struct veil_wr *payload,
                              json_t **header_out)
{
    uint8_t text[VEIL_JOSE_HEADER_SIZE_MAX];
    uint8_t sig[JWS_SIG_SIZE_MAX];
    enum veil_jose_kind kind;
    size_t dot1;
    size_t dot2;
    size_t len = 0;
    size_t sig_size;
    json_t *header = NULL;
    veil_result r;

    ENSURE(compact != NULL && payload != NULL, VEIL_ERR_USAGE);
    ENSURE(n <= VEIL_JOSE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    GUARD(veil_jose_key_kind(key, &kind));
    sig_size = sig_size_of(key, kind);
    ENSURE(sig_size > 0, VEIL_ERR_CRYPTO_KEY);
    GUARD(split3(compact, n, &dot1, &dot2));
    GUARD(veil_jose_b64_decode(compact, dot1, text, sizeof(text), &len));
    GUARD(check_header(text, len, kind, &header));
    r = veil_jose_b64_decode_exact(compact + dot2 + 1, n - dot2 - 1, sig, sig_size);
    if (veil_ok(r)) {
        r = raw_verify(key, kind, (const uint8_t *)compact, dot2, sig, sig_size);
    }
    if (veil_ok(r) && dot2 - dot1 > 1) {
        /* Decoded straight into the writer's spare room; len moves only on success. */
        size_t p_size = dot2 - dot1 - 1;
        size_t p_max = p_size / 4 * 3 + (p_size % 4 > 1 ? p_size % 4 - 1 : 0);
        r = veil_wr_reserve(payload, p_max);
        if (veil_ok(r)) {
            r = veil_jose_b64_decode(compact + dot1 + 1, p_size, payload->data + payload->len,
                                     payload->size - payload->len, &len);
        }
        if (veil_ok(r)) {
            payload->len += len;
        }
    }
    if (!veil_ok(r)) {
        json_decref(header);
        return r;
    }
    if (header_out != NULL) {
        *header_out = header;
    } else {
        json_decref(header);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_jws_verify(EVP_PKEY *key, const char *compact, size_t n, struct veil_wr *payload)
{
    return jws_verify(key, compact, n, payload, NULL);
}

veil_result veil_jwt_sign(EVP_PKEY *key, const json_t *claims, struct veil_wr *out)
{
    char *text;
    veil_result r;

    ENSURE(json_is_object(claims), VEIL_ERR_USAGE);
    text = json_dumps(claims, JSON_COMPACT);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    r = veil_jws_sign(key, "JWT", (const uint8_t *)text, strlen(text), out);
    free(text);
    return r;
}

/* RFC 7519 4.1.4-6: now must be before exp, and not before nbf or iat (leeway either way). */
static VEIL_RESULT check_times(const json_t *claims, time_t now, long leeway_s)
{
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *nbf = json_object_get(claims, "nbf");
    const json_t *iat = json_object_get(claims, "iat");
    json_int_t t = (json_int_t)now;

    ENSURE(json_is_integer(exp), VEIL_ERR_JWT_CLAIMS);
    ENSURE(nbf == NULL || json_is_integer(nbf), VEIL_ERR_JWT_CLAIMS);
    ENSURE(iat == NULL || json_is_integer(iat), VEIL_ERR_JWT_CLAIMS);
    ENSURE(t - leeway_s < json_integer_value(exp), VEIL_ERR_JWT_EXPIRED);
    ENSURE(nbf == NULL || json_integer_value(nbf) <= t + leeway_s, VEIL_ERR_JWT_NOT_YET_VALID);
    ENSURE(iat == NULL || json_integer_value(iat) <= t + leeway_s, VEIL_ERR_JWT_NOT_YET_VALID);
    return VEIL_RESULT_OK;
}

veil_result veil_jwt_verify(EVP_PKEY *key, const char *token, size_t n, time_t now, long leeway_s,
                            json_t **claims)
{
    struct veil_wr payload;
    json_t *header = NULL;
    json_t *c = NULL;
    const json_t *typ;
    veil_result r;

    ENSURE(claims != NULL, VEIL_ERR_USAGE);
    ENSURE(leeway_s >= 0 && leeway_s <= JWT_LEEWAY_S_MAX, VEIL_ERR_USAGE_LIMIT);
    ENSURE(now >= 0 && now <= JWT_NOW_MAX, VEIL_ERR_USAGE_LIMIT);
    veil_wr_init(&payload, VEIL_JOSE_SIZE_MAX);
    r = jws_verify(key, token, n, &payload, &header);
    if (!veil_ok(r)) {
        goto out_payload;
    }
    /* Explicit typing (RFC 8725 3.11): a JWS made for something else is not a token. */
    typ = json_object_get(header, "typ");
    if (typ != NULL && !veil_jose_str_eq(typ, "JWT")) {
        r = veil_result_of(VEIL_ERR_JOSE_MEMBER);
        goto out_payload;
    }
    r = veil_jose_json_load(payload.data, payload.len, VEIL_JOSE_SIZE_MAX, &c);
    if (!veil_ok(r)) {
        r = veil_result_of(r.code == VEIL_ERR_JOSE ? VEIL_ERR_JWT_CLAIMS : r.code);
        goto out_payload;
    }
    r = check_times(c, now, leeway_s);
    if (!veil_ok(r)) {
        goto out_payload;
    }
    *claims = c;
    c = NULL;
out_payload:
    json_decref(c);
    json_decref(header);
    veil_wr_free(&payload);
    return r;
}

veil_result veil_jws_key_load(const char *path, EVP_PKEY **out)
{
    enum veil_jose_kind kind;
    EVP_PKEY *key = NULL;
    veil_result r;

    GUARD(veil_key_load_private_pem(path, &key));
    r = veil_jose_key_kind(key, &kind);
    if (!veil_ok(r)) {
        EVP_PKEY_free(key);
        return r;
    }
    *out = key;
    return VEIL_RESULT_OK;
}
