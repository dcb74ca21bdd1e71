/*
 * JWK (RFC 7517, 7518 section 6, 8037): public keys only. EC points are rebuilt with
 * EVP_PKEY_fromdata and checked on the curve; RSA moduli are 2048..8192 bits with an odd
 * exponent above 1; Ed25519 keys are 32 bytes. RFC 7638 thumbprints.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "crypto/crypto.h"
#include "jose/internal.h"

#define ED25519_KEY_SIZE 32

veil_result veil_jose_key_kind(EVP_PKEY *key, enum veil_jose_kind *kind)
{
    char group[32];
    size_t len = 0;
    int bits;

    ENSURE_REF(key);
    if (EVP_PKEY_is_a(key, "ED25519")) {
        *kind = VEIL_JOSE_ED25519;
        return VEIL_RESULT_OK;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        bits = EVP_PKEY_get_bits(key);
        ENSURE(bits >= VEIL_JOSE_RSA_BITS_MIN && bits <= VEIL_JOSE_RSA_BITS_MAX,
               VEIL_ERR_CRYPTO_KEY);
        *kind = VEIL_JOSE_RSA;
        return VEIL_RESULT_OK;
    }
    ENSURE(EVP_PKEY_is_a(key, "EC"), VEIL_ERR_CRYPTO_KEY);
    ENSURE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &len) == 1,
           VEIL_ERR_CRYPTO_KEY);
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
        *kind = VEIL_JOSE_P256;
        return VEIL_RESULT_OK;
    }
    ENSURE(strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0, VEIL_ERR_CRYPTO_KEY);
    *kind = VEIL_JOSE_P384;
    return VEIL_RESULT_OK;
}

size_t veil_jose_ec_size(enum veil_jose_kind kind)
{
    switch (kind) {
        case VEIL_JOSE_P256:
            return 32;
        case VEIL_JOSE_P384:
            return 48;
        case VEIL_JOSE_RSA:
        case VEIL_JOSE_ED25519:
            break;
    }
    return 0;
}

const char *veil_jose_ec_group(enum veil_jose_kind kind)
{
    return kind == VEIL_JOSE_P384 ? "P-384" : "P-256";
}

/* ---- JSON -> key */

static VEIL_RESULT check_public(EVP_PKEY *key)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok;

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    /* The quick check: on the curve and not infinity. The full check's order test (n * Q, a
     * scalar multiplication as costly as an ECDH) adds nothing on P-256 and P-384, whose
     * cofactor is 1: every point of the curve other than infinity has order n. */
    ok = EVP_PKEY_public_check_quick(ctx);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_JWK_KEY);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT from_params(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;
    veil_result r = veil_result_of(VEIL_ERR_JWK_KEY);

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    if (EVP_PKEY_fromdata_init(ctx) != 1) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        goto out_ctx;
    }
    /* Off-curve points and coordinates >= p already fail here. */
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1 || key == NULL) {
        goto out_ctx;
    }
    /* EC: on the curve, not infinity (so in the prime-order group). RSA keys get only the
     * structural checks of rsa_from_json: OpenSSL's RSA public check includes a Miller-Rabin test
     * with random bases, so on a made-up modulus it would accept or refuse at random. */
    r = strcmp(type, "EC") == 0 ? check_public(key) : VEIL_RESULT_OK;
    if (!veil_ok(r)) {
        goto out_ctx;
    }
    *out = key;
    key = NULL;
out_ctx:
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
    }
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

static VEIL_RESULT ec_from_json(enum veil_jose_kind kind, const json_t *x, const json_t *y,
                                EVP_PKEY **out)
{
    uint8_t point[1 + 2 * VEIL_JOSE_EC_SIZE_MAX];
    size_t fs = veil_jose_ec_size(kind);
    OSSL_PARAM params[3];

    point[0] = 0x04; /* uncompressed: the point at infinity has no such encoding */
    GUARD(veil_jose_b64_decode_exact(json_string_value(x), json_string_length(x), point + 1, fs));
    GUARD(veil_jose_b64_decode_exact(json_string_value(y), json_string_length(y), point + 1 + fs,
                                     fs));
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)veil_jose_ec_group(kind), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fs);
    params[2] = OSSL_PARAM_construct_end();
    return from_params("EC", params, out);
}

/* A Base64urlUInt (RFC 7518 section 2): minimal, so no leading zero byte. */
static VEIL_RESULT uint_from_json(const json_t *s, size_t size_max, BIGNUM **out)
{
    uint8_t buf[VEIL_JOSE_RSA_SIZE_MAX];
    size_t len = 0;
    BIGNUM *bn;

    ENSURE(size_max <= sizeof(buf), VEIL_ERR_INTERNAL);
    ENSURE(json_string_length(s) <= (size_max * 4 + 2) / 3, VEIL_ERR_JWK_KEY);
    GUARD(veil_jose_b64_decode_json(s, buf, size_max, &len));
    ENSURE(len > 0 && buf[0] != 0, VEIL_ERR_JWK_KEY);
    bn = BN_bin2bn(buf, (int)len, NULL);
    ENSURE(bn != NULL, VEIL_ERR_NOMEM);
    *out = bn;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT rsa_from_json(const json_t *n_json, const json_t *e_json, EVP_PKEY **out)
{
    BIGNUM *n = NULL;
    BIGNUM *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    int bits;
    veil_result r;

    r = uint_from_json(n_json, VEIL_JOSE_RSA_SIZE_MAX, &n);
    if (!veil_ok(r)) {
        goto out_bn;
    }
    r = uint_from_json(e_json, VEIL_JOSE_RSA_E_SIZE_MAX, &e);
    if (!veil_ok(r)) {
        goto out_bn;
    }
    bits = BN_num_bits(n);
    r = veil_result_of(VEIL_ERR_JWK_KEY);
    if (bits < VEIL_JOSE_RSA_BITS_MIN || bits > VEIL_JOSE_RSA_BITS_MAX || !BN_is_odd(n) ||
        !BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0) {
        goto out_bn;
    }
    r = veil_result_of(VEIL_ERR_NOMEM);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        goto out_bn;
    }
    r = from_params("RSA", params, out);
out_bn:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return r;
}

static VEIL_RESULT ed25519_from_json(const json_t *x, EVP_PKEY **out)
{
    uint8_t raw[ED25519_KEY_SIZE];
    EVP_PKEY *key;

    GUARD(
        veil_jose_b64_decode_exact(json_string_value(x), json_string_length(x), raw, sizeof(raw)));
    key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, sizeof(raw));
    if (key == NULL) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_JWK_KEY);
    }
    *out = key;
    return VEIL_RESULT_OK;
}

enum {
    M_KTY,
    M_ALG,
    M_USE,
    M_KID,
    M_CRV,
    M_X,
    M_Y,
    M_N,
    M_E,
    M_D, /* first private member */
    M_P,
    M_Q,
    M_DP,
    M_DQ,
    M_QI,
    M_OTH,
    M_K,
    M_COUNT,
};

veil_result veil_jwk_from_json(const json_t *jwk, EVP_PKEY **out)
{
    struct veil_jose_member m[M_COUNT] = {
        [M_KTY] = {"kty", VEIL_JOSE_STRING, true, 0, NULL},
        [M_ALG] = {"alg", VEIL_JOSE_STRING, false, 0, NULL},
        [M_USE] = {"use", VEIL_JOSE_STRING, false, 0, NULL},
        [M_KID] = {"kid", VEIL_JOSE_STRING, false, 0, NULL},
        [M_CRV] = {"crv", VEIL_JOSE_STRING, false, 0, NULL},
        [M_X] = {"x", VEIL_JOSE_STRING, false, 0, NULL},
        [M_Y] = {"y", VEIL_JOSE_STRING, false, 0, NULL},
        [M_N] = {"n", VEIL_JOSE_STRING, false, 0, NULL},
        [M_E] = {"e", VEIL_JOSE_STRING, false, 0, NULL},
        [M_D] = {"d", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_P] = {"p", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_Q] = {"q", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_DP] = {"dp", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_DQ] = {"dq", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_QI] = {"qi", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_OTH] = {"oth", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
        [M_K] = {"k", VEIL_JOSE_ANY, false, VEIL_ERR_JWK_PRIVATE, NULL},
    };
    const json_t *kty;
    const json_t *crv;
    bool ec;
    bool rsa;
    bool okp;

    ENSURE(out != NULL, VEIL_ERR_USAGE);
    GUARD(veil_jose_members(jwk, m, M_COUNT));
    kty = m[M_KTY].value;
    crv = m[M_CRV].value;
    ec = veil_jose_str_eq(kty, "EC");
    rsa = veil_jose_str_eq(kty, "RSA");
    okp = veil_jose_str_eq(kty, "OKP");
    ENSURE(ec || rsa || okp, VEIL_ERR_JWK_KEY);
    /* Each key type has exactly its own members. */
    ENSURE((m[M_CRV].value != NULL) == (ec || okp), VEIL_ERR_JOSE_MEMBER);
    ENSURE((m[M_X].value != NULL) == (ec || okp), VEIL_ERR_JOSE_MEMBER);
    ENSURE((m[M_Y].value != NULL) == ec, VEIL_ERR_JOSE_MEMBER);
    ENSURE((m[M_N].value != NULL) == rsa, VEIL_ERR_JOSE_MEMBER);
    ENSURE((m[M_E].value != NULL) == rsa, VEIL_ERR_JOSE_MEMBER);
    if (rsa) {
        return rsa_from_json(m[M_N].value, m[M_E].value, out);
    }
    if (okp) {
        ENSURE(veil_jose_str_eq(crv, "Ed25519"), VEIL_ERR_JWK_KEY);
        return ed25519_from_json(m[M_X].value, out);
    }
    if (veil_jose_str_eq(crv, "P-256")) {
        return ec_from_json(VEIL_JOSE_P256, m[M_X].value, m[M_Y].value, out);
    }
    ENSURE(veil_jose_str_eq(crv, "P-384"), VEIL_ERR_JWK_KEY);
    return ec_from_json(VEIL_JOSE_P384, m[M_X].value, m[M_Y].value, out);
}

/* ---- key -> JSON */

static VEIL_RESULT set_str(json_t *o, const char *name, const char *value)
{
    ENSURE(json_object_set_new(o, name, json_string(value)) == 0, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
    json_t *s = NULL;

    GUARD(veil_jose_b64_json(p, n, &s));
    ENSURE(json_object_set_new(o, name, s) == 0, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

/* A BIGNUM parameter as big-endian bytes: padded to pad bytes, or minimal when pad is 0. */
static VEIL_RESULT set_bn(json_t *o, const char *name, EVP_PKEY *key, const char *param, size_t pad)
{
    uint8_t buf[VEIL_JOSE_RSA_SIZE_MAX];
    BIGNUM *bn = NULL;
    int len;
    veil_result r;

    ENSURE(pad <= sizeof(buf), VEIL_ERR_INTERNAL);
    GUARD_OSSL(EVP_PKEY_get_bn_param(key, param, &bn), VEIL_ERR_CRYPTO_KEY);
    if (pad > 0) {
        len = BN_bn2binpad(bn, buf, (int)pad);
    } else {
        len = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
    }
    BN_free(bn);
    ENSURE(len > 0, VEIL_ERR_CRYPTO_KEY);
    r = set_b64(o, name, buf, (size_t)len);
    return r;
}

static VEIL_RESULT fill_json(EVP_PKEY *key, enum veil_jose_kind kind, json_t *o)
{
    uint8_t raw[ED25519_KEY_SIZE];
    size_t len = sizeof(raw);

    /* Members in lexicographic order: the RFC 7638 order, and jansson keeps insertion order. */
    switch (kind) {
        case VEIL_JOSE_P256:
        case VEIL_JOSE_P384:
            GUARD(set_str(o, "crv", veil_jose_ec_group(kind)));
            GUARD(set_str(o, "kty", "EC"));
            GUARD(set_bn(o, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, veil_jose_ec_size(kind)));
            GUARD(set_bn(o, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, veil_jose_ec_size(kind)));
            return VEIL_RESULT_OK;
        case VEIL_JOSE_RSA:
            GUARD(set_bn(o, "e", key, OSSL_PKEY_PARAM_RSA_E, 0));
            GUARD(set_str(o, "kty", "RSA"));
            GUARD(set_bn(o, "n", key, OSSL_PKEY_PARAM_RSA_N, 0));
            return VEIL_RESULT_OK;
        case VEIL_JOSE_ED25519:
            GUARD_OSSL(EVP_PKEY_get_raw_public_key(key, raw, &len), VEIL_ERR_CRYPTO_KEY);
            ENSURE(len == sizeof(raw), VEIL_ERR_CRYPTO_KEY);
            GUARD(set_str(o, "crv", "Ed25519"));
            GUARD(set_str(o, "kty", "OKP"));
            GUARD(set_b64(o, "x", raw, len));
            return VEIL_RESULT_OK;
    }
    BAIL(VEIL_ERR_INTERNAL);
}

veil_result veil_jwk_to_json(EVP_PKEY *key, json_t **out)
{
    enum veil_jose_kind kind;
    json_t *o;
    veil_result r;

    ENSURE(out != NULL, VEIL_ERR_USAGE);
    GUARD(veil_jose_key_kind(key, &kind));
    o = json_object();
    ENSURE(o != NULL, VEIL_ERR_NOMEM);
    r = fill_json(key, kind, o);
    if (!veil_ok(r)) {
        json_decref(o);
        return r;
    }
    *out = o;
    return VEIL_RESULT_OK;
}

veil_result veil_jwk_thumbprint(EVP_PKEY *key, uint8_t out[32])
{
    json_t *jwk = NULL;
    char *text;
    veil_result r;

    GUARD(veil_jwk_to_json(key, &jwk));
    /* RFC 7638 section 3: required members only, sorted, no whitespace. */
    text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);
    ENSURE(text != NULL, VEIL_ERR_NOMEM);
    r = veil_sha256(text, strlen(text), out);
    free(text);
    return r;
}
