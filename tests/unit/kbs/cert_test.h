/* Helpers for the certificate tests: keys and PKCS#10 requests, including malformed ones. */
#ifndef VEIL_KBS_CERT_TEST_H
#define VEIL_KBS_CERT_TEST_H

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "kbs/cert.h"
#include "veil_test.h"

static inline EVP_PKEY *test_ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

    assert_non_null(k);
    return k;
}

static inline void test_add_ext(STACK_OF(X509_EXTENSION) * exts, X509_REQ *req, int nid,
                                const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_true(sk_X509_EXTENSION_push(exts, e) > 0);
}

/* A request for key, with san (NULL: none) and an extra extension (nid 0: none), signed by
 * signer (normally key). */
static inline void test_csr(EVP_PKEY *key, const char *san, int extra_nid, const char *extra,
                            EVP_PKEY *signer, struct veil_wr *der)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    unsigned char *buf = NULL;
    int len;

    assert_non_null(req);
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1,
                                           -1, 0) == 1);
    assert_true(X509_REQ_set_subject_name(req, name) == 1);
    assert_true(X509_REQ_set_pubkey(req, key) == 1);
    if (san != NULL) {
        test_add_ext(exts, req, NID_subject_alt_name, san);
    }
    if (extra_nid != 0) {
        test_add_ext(exts, req, extra_nid, extra);
    }
    if (sk_X509_EXTENSION_num(exts) > 0) {
        assert_true(X509_REQ_add_extensions(req, exts) == 1);
    }
    assert_true(X509_REQ_sign(req, signer, EVP_sha256()) > 0);
    len = i2d_X509_REQ(req, &buf);
    assert_true(len > 0);
    EXPECT_OK(veil_wr_bytes(der, buf, (size_t)len));
    OPENSSL_free(buf);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
}

#endif
