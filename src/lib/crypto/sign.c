/* Provider signing keys: Ed25519 and ECDSA P-384, fixed-size raw signatures. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/file.h"
#include "crypto/crypto.h"

#define KEY_FILE_SIZE_MAX 16384
#define P384_SCALAR_SIZE  48

const char *veil_sig_alg_name(enum veil_sig_alg alg)
{
    switch (alg) {
        case VEIL_SIG_ED25519:
            return "ed25519";
        case VEIL_SIG_ECDSA_P384:
            return "ecdsa-p384-sha384";
    }
    return "unknown";
}

size_t veil_sig_alg_size(enum veil_sig_alg alg)
{
    switch (alg) {
        case VEIL_SIG_ED25519:
            return 64;
        case VEIL_SIG_ECDSA_P384:
            return 2 * P384_SCALAR_SIZE;
    }
    return 0;
}

veil_result veil_sign_keygen(enum veil_sig_alg alg, EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;

    switch (alg) {
        case VEIL_SIG_ED25519:
            key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
            break;
        case VEIL_SIG_ECDSA_P384:
            key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
            break;
        default:
            BAIL(VEIL_ERR_USAGE);
    }
    if (key == NULL) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    *out = key;
    return VEIL_RESULT_OK;
}

veil_result veil_sign_key_alg(EVP_PKEY *key, enum veil_sig_alg *alg)
{
    char group[32];
    size_t len = 0;

    if (EVP_PKEY_is_a(key, "ED25519")) {
        *alg = VEIL_SIG_ED25519;
        return VEIL_RESULT_OK;
    }
    ENSURE(EVP_PKEY_is_a(key, "EC"), VEIL_ERR_CRYPTO_KEY);
    ENSURE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &len) == 1,
           VEIL_ERR_CRYPTO_KEY);
    ENSURE(strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0, VEIL_ERR_CRYPTO_KEY);
    *alg = VEIL_SIG_ECDSA_P384;
    return VEIL_RESULT_OK;
}

/* Reads a PEM key of any type (a private key file must be owner-only; its PEM is wiped). */
static VEIL_RESULT read_pem(const char *path, int private_key, EVP_PKEY **out)
{
    struct veil_wr w;
    EVP_PKEY *key = NULL;
    BIO *bio;

    if (private_key) {
        GUARD(veil_file_check_private(path));
    }
    GUARD(veil_file_read(path, KEY_FILE_SIZE_MAX, &w));
    /* A private key's PEM is wiped when released. */
    w.secret = private_key ? 1 : 0;
    bio = BIO_new_mem_buf(w.data, (int)w.len);
    if (bio == NULL) {
        veil_wr_free(&w);
        BAIL(VEIL_ERR_NOMEM);
    }
    key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                      : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    veil_wr_free(&w);
    if (key == NULL) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_PROTO_KEY);
    }
    *out = key;
    return VEIL_RESULT_OK;
}

veil_result veil_key_load_private_pem(const char *path, EVP_PKEY **out)
{
    return read_pem(path, 1, out);
}

static VEIL_RESULT load_pem(const char *path, int private_key, EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;
    enum veil_sig_alg alg;
    veil_result r;

    GUARD(read_pem(path, private_key, &key));
    r = veil_sign_key_alg(key, &alg);
    if (!veil_ok(r)) {
        EVP_PKEY_free(key);
        return r;
    }
    *out = key;
    return VEIL_RESULT_OK;
}

veil_result veil_sign_load_private(const char *path, EVP_PKEY **out)
{
    return load_pem(path, 1, out);
}

veil_result veil_sign_load_public(const char *path, EVP_PKEY **out)
{
    return load_pem(path, 0, out);
}

veil_result veil_sign_public_from_pem(const uint8_t *pem, size_t n, EVP_PKEY **out)
{
    BIO *bio;
    EVP_PKEY *key;
    enum veil_sig_alg alg;
    veil_result r;

    ENSURE(n <= KEY_FILE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    bio = BIO_new_mem_buf(pem, (int)n);
    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key == NULL) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_PROTO_KEY);
    }
    r = veil_sign_key_alg(key, &alg);
    if (!veil_ok(r)) {
        EVP_PKEY_free(key);
        return r;
    }
    *out = key;
    return VEIL_RESULT_OK;
}

veil_result veil_sign_key_id(EVP_PKEY *key, uint8_t out[VEIL_SHA256_SIZE])
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key, &der);
    veil_result r;

    ENSURE(len > 0, VEIL_ERR_CRYPTO_KEY);
    r = veil_sha256(der, (size_t)len, out);
    OPENSSL_free(der);
    return r;
}

static VEIL_RESULT bio_to_wr(BIO *bio, struct veil_wr *w)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);

    ENSURE(n > 0, VEIL_ERR_INTERNAL_OSSL);
    return veil_wr_bytes(w, p, (size_t)n);
}

veil_result veil_sign_private_pem(EVP_PKEY *key, struct veil_wr *w)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
        r = bio_to_wr(bio, w);
    } else {
        veil_ossl_drain(__func__);
    }
    BIO_free(bio);
    return r;
}

veil_result veil_sign_public_pem(EVP_PKEY *key, struct veil_wr *w)
{
    BIO *bio = BIO_new(BIO_s_mem());
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    if (PEM_write_bio_PUBKEY(bio, key) == 1) {
        r = bio_to_wr(bio, w);
    } else {
        veil_ossl_drain(__func__);
    }
    BIO_free(bio);
    return r;
}

/* DER ECDSA-Sig-Value <-> fixed r || s. */
static VEIL_RESULT ecdsa_der_to_raw(const uint8_t *der, size_t n, uint8_t *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    int ok;

    ENSURE(sig != NULL, VEIL_ERR_INTERNAL_OSSL);
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, P384_SCALAR_SIZE) == P384_SCALAR_SIZE &&
         BN_bn2binpad(s, raw + P384_SCALAR_SIZE, P384_SCALAR_SIZE) == P384_SCALAR_SIZE;
    ECDSA_SIG_free(sig);
    ENSURE(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT ecdsa_raw_to_der(const uint8_t *raw, uint8_t **der, size_t *der_size)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, P384_SCALAR_SIZE, NULL);
    BIGNUM *s = BN_bin2bn(raw + P384_SCALAR_SIZE, P384_SCALAR_SIZE, NULL);
    unsigned char *out = NULL;
    int len;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        BAIL(VEIL_ERR_NOMEM);
    }
    len = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    ENSURE(len > 0, VEIL_ERR_INTERNAL_OSSL);
    *der = out;
    *der_size = (size_t)len;
    return VEIL_RESULT_OK;
}

veil_result veil_sign(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_size)
{
    enum veil_sig_alg alg;
    EVP_MD_CTX *md;
    uint8_t der[160];
    size_t len = sizeof(der);
    int ok;

    GUARD(veil_sign_key_alg(key, &alg));
    ENSURE(sig_size == veil_sig_alg_size(alg), VEIL_ERR_USAGE);
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    if (alg == VEIL_SIG_ED25519) {
        ok = EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestSign(md, sig, &len, msg, n) == 1 && len == sig_size;
    } else {
        ok = EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL) == 1 &&
             EVP_DigestSign(md, der, &len, msg, n) == 1;
    }
    EVP_MD_CTX_free(md);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    if (alg == VEIL_SIG_ECDSA_P384) {
        GUARD(ecdsa_der_to_raw(der, len, sig));
    }
    return VEIL_RESULT_OK;
}

veil_result veil_sign_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t *sig,
                             size_t sig_size)
{
    enum veil_sig_alg alg;
    EVP_MD_CTX *md;
    uint8_t *der = NULL;
    size_t der_size = 0;
    int ok;

    GUARD(veil_sign_key_alg(key, &alg));
    ENSURE(sig_size == veil_sig_alg_size(alg), VEIL_ERR_CRYPTO);
    if (alg == VEIL_SIG_ECDSA_P384) {
        GUARD(ecdsa_raw_to_der(sig, &der, &der_size));
    }
    md = EVP_MD_CTX_new();
    if (md == NULL) {
        OPENSSL_free(der);
        BAIL(VEIL_ERR_NOMEM);
    }
    if (alg == VEIL_SIG_ED25519) {
        ok = EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(md, sig, sig_size, msg, n) == 1;
    } else {
        ok = EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(md, der, der_size, msg, n) == 1;
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_CRYPTO);
    }
    return VEIL_RESULT_OK;
}
