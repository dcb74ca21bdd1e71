/* Server side: a TLS 1.3 context around an attested certificate. */
#include "ratls/ratls.h"

veil_result veil_ratls_server_ctx(X509 *cert, EVP_PKEY *key, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        veil_ossl_drain(__func__);
        goto out;
    }
    *out = ctx;
    ctx = NULL;
    r = VEIL_RESULT_OK;
out:
    SSL_CTX_free(ctx);
    return r;
}
