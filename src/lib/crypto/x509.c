/* Certificates we issue: the sim platform's CA and chip certificates, the key broker's TLS
 * certificate (and later attested-TLS certificates). */
#include "crypto/x509.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

static VEIL_RESULT add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ENSURE(ext != NULL, VEIL_ERR_INTERNAL_OSSL);
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    GUARD_OSSL(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT add_extensions(X509 *cert, X509 *issuer, const struct veil_x509_params *p)
{
    bool self = issuer == NULL;
    X509 *iss = self ? cert : issuer;

    GUARD(add_ext(cert, iss, NID_basic_constraints, p->ca ? "critical,CA:TRUE" : "CA:FALSE"));
    GUARD(add_ext(cert, iss, NID_key_usage,
                  p->ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
    GUARD(add_ext(cert, iss, NID_subject_key_identifier, "hash"));
    if (!self) {
        GUARD(add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always"));
    }
    if (p->san != NULL) {
        GUARD(add_ext(cert, iss, NID_subject_alt_name, p->san));
    }
    if (p->server_auth) {
        GUARD(add_ext(cert, iss, NID_ext_key_usage, "serverAuth"));
    }
    return VEIL_RESULT_OK;
}

veil_result veil_x509_make(EVP_PKEY *key, const struct veil_x509_params *p, X509 *issuer,
                           EVP_PKEY *signer, X509 **out)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    if (cert == NULL || name == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
        goto out;
    }
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || X509_set_version(cert, X509_VERSION_3) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)p->cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(cert, name) != 1 ||
        X509_set_issuer_name(cert, issuer == NULL ? name : X509_get_subject_name(issuer)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), p->validity_s) == NULL ||
        X509_set_pubkey(cert, key) != 1) {
        goto out;
    }
    r = add_extensions(cert, issuer, p);
    if (veil_ok(r) && X509_sign(cert, signer, EVP_sha384()) <= 0) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (veil_ok(r)) {
        *out = cert;
        cert = NULL;
    }
out:
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
    }
    BN_free(bn);
    X509_NAME_free(name);
    X509_free(cert);
    return r;
}

veil_result veil_x509_pem(X509 *cert, struct veil_wr *w)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    if (PEM_write_bio_X509(bio, cert) == 1 && (n = BIO_get_mem_data(bio, &p)) > 0) {
        r = veil_wr_bytes(w, p, (size_t)n);
    }
    BIO_free(bio);
    return r;
}
