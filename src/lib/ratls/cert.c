/* Making attested TLS certificates: report data binding the key, evidence, the extension. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "ratls/ratls.h"

veil_result veil_ratls_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                                   uint8_t out[64])
{
    unsigned char *der = NULL;
    int len;
    veil_result r;

    ENSURE_REF(key);
    len = i2d_PUBKEY(key, &der);
    ENSURE(len > 0, VEIL_ERR_INTERNAL_OSSL);
    r = veil_sha256(der, (size_t)len, out);
    OPENSSL_free(der);
    GUARD(r);
    if (nonce != NULL) {
        GUARD(veil_sha256(nonce, nonce_size, out + 32));
    } else {
        memset(out + 32, 0, 32);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT add_evidence_ext(X509 *cert, const struct veil_wr *ext)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(VEIL_RATLS_OID, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    if (obj == NULL || os == NULL || ext->len > INT32_MAX ||
        ASN1_OCTET_STRING_set(os, ext->data, (int)ext->len) != 1) {
        goto out;
    }
    e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    if (e != NULL && X509_add_ext(cert, e, -1) == 1) {
        r = VEIL_RESULT_OK;
    }
out:
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
    }
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return r;
}

veil_result veil_ratls_cert_make(EVP_PKEY *key, const char *cn, long validity_s, enum veil_tee tee,
                                 veil_ratls_attester_fn attester, void *attester_ctx, X509 **out)
{
    return veil_ratls_cert_make_san(key, cn, NULL, validity_s, tee, attester, attester_ctx, out);
}

veil_result veil_ratls_cert_make_san(EVP_PKEY *key, const char *cn, const char *san,
                                     long validity_s, enum veil_tee tee,
                                     veil_ratls_attester_fn attester, void *attester_ctx,
                                     X509 **out)
{
    struct veil_x509_params p = {cn, validity_s, false, san, true};
    uint8_t rd[64];
    struct veil_wr evidence;
    struct veil_wr ext;
    X509 *cert = NULL;
    veil_result r;

    ENSURE(key != NULL && cn != NULL && attester != NULL && validity_s > 0, VEIL_ERR_USAGE);
    veil_wr_init(&evidence, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    veil_wr_init(&ext, VEIL_RATLS_EXT_SIZE_MAX);
    r = veil_ratls_report_data(key, NULL, 0, rd);
    if (!veil_ok(r)) {
        goto out;
    }
    r = attester(attester_ctx, rd, &evidence);
    if (!veil_ok(r)) {
        goto out;
    }
    r = veil_ratls_ext_encode(tee, evidence.data, evidence.len, &ext);
    if (!veil_ok(r)) {
        goto out;
    }
    r = veil_x509_make(key, &p, NULL, key, &cert);
    if (!veil_ok(r)) {
        goto out;
    }
    r = add_evidence_ext(cert, &ext);
    if (!veil_ok(r)) {
        goto out;
    }
    /* signed again, now with the extension */
    if (X509_sign(cert, key, EVP_sha384()) <= 0) {
        veil_ossl_drain(__func__);
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        goto out;
    }
    *out = cert;
    cert = NULL;
out:
    X509_free(cert);
    veil_wr_free(&ext);
    veil_wr_free(&evidence);
    return r;
}

veil_result veil_ratls_cert_evidence(X509 *cert, enum veil_tee *tee, struct veil_wr *evidence)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(VEIL_RATLS_OID, 1);
    const X509_EXTENSION *e;
    const ASN1_OCTET_STRING *os;
    int idx;

    ENSURE(obj != NULL, VEIL_ERR_INTERNAL_OSSL);
    idx = X509_get_ext_by_OBJ(cert, obj, -1);
    /* exactly one evidence extension */
    if (idx < 0 || X509_get_ext_by_OBJ(cert, obj, idx) >= 0) {
        ASN1_OBJECT_free(obj);
        BAIL(VEIL_ERR_RATLS_EXTENSION);
    }
    ASN1_OBJECT_free(obj);
    e = X509_get_ext(cert, idx);
    ENSURE(e != NULL, VEIL_ERR_RATLS_EXTENSION);
    os = X509_EXTENSION_get_data((X509_EXTENSION *)e);
    ENSURE(os != NULL && ASN1_STRING_length(os) > 0, VEIL_ERR_RATLS_EXTENSION);
    return veil_ratls_ext_decode(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), tee,
                                 evidence);
}
