/* Client side: the handshake accepts a server certificate only if veil_ratls_cert_verify does. */
#include "base/log.h"
#include "ratls/ratls.h"

static int verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    struct veil_ratls_verifier *v = arg;
    X509 *cert = X509_STORE_CTX_get0_cert(sctx);
    veil_result r = veil_ratls_cert_verify_chain(v, cert, X509_STORE_CTX_get0_untrusted(sctx));

    if (!veil_ok(r)) {
        veil_log(VEIL_LOG_DEBUG, "server refused: %s", v->failure);
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    X509_STORE_CTX_set_error(sctx, X509_V_OK);
    return 1;
}

veil_result veil_ratls_client_ctx(SSL_CTX *ctx, struct veil_ratls_verifier *v)
{
    ENSURE(ctx != NULL && v != NULL && v->policy != NULL, VEIL_ERR_USAGE);
    GUARD_OSSL(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), VEIL_ERR_INTERNAL_OSSL);
    GUARD_OSSL(SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION), VEIL_ERR_INTERNAL_OSSL);
    /* Every connection shows its certificate: no resumption, which would skip the callback. */
    (void)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    (void)SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_cb, v);
    return VEIL_RESULT_OK;
}
