/*
 * The server's TLS context, in one function (serve_tls_ctx), and the report data that binds the
 * TLS key to attestation evidence (GET /v2/attestation).
 *
 * Without tls_cert/tls_key, the server makes an ephemeral P-256 key at start-up (it never leaves
 * the process) and an attested certificate for it (docs/PROTOCOL.ratls.md): self-signed, with the
 * platform's evidence in the TCG DICE extension, binding SHA-256 of the key. Clients (veil infer,
 * veil-proxy, veil_ratls_client_ctx) verify that evidence against their policy in the handshake.
 * The certificate (public) is also written to tls_cert_out.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "http/http.h"
#include "ratls/ratls.h"
#include "serve.h"

#define SERVE_CERT_VALIDITY_S (7 * 86400L)

/* SHA-256(SPKI DER of key) || SHA-256(nonce): the attested-TLS binding (ratls.h). */
veil_result serve_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                              uint8_t out[64])
{
    return veil_ratls_report_data(key, nonce, nonce_size, out);
}

veil_result serve_tls_key(struct serve *s)
{
    struct veil_sim_attester_ctx sim = {&s->sim, &s->guest};
    EVP_PKEY *key;
    veil_result r;

    if (s->tls_key != NULL) {
        return VEIL_RESULT_OK;
    }
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ENSURE(key != NULL, VEIL_ERR_INTERNAL_OSSL);
    r = veil_ratls_cert_make_san(key, "veil-serve", veil_conf_str(&s->conf, "tls_san"),
                                 SERVE_CERT_VALIDITY_S, VEIL_TEE_SIM, veil_sim_attester, &sim,
                                 &s->ratls_cert);
    if (!veil_ok(r)) {
        EVP_PKEY_free(key);
        return r;
    }
    s->tls_key = key;
    return VEIL_RESULT_OK;
}

/* A PEM chain into its leaf and the rest. */
static veil_result parse_chain(const struct veil_wr *pem, X509 **leaf_out,
                               STACK_OF(X509) * *chain_out)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *leaf = NULL;
    X509 *cert;
    bool ok = bio != NULL && chain != NULL;

    while (ok && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (leaf == NULL) {
            leaf = cert;
        } else if (sk_X509_push(chain, cert) <= 0) {
            X509_free(cert);
            ok = false;
        }
    }
    ERR_clear_error(); /* the end of the PEM */
    BIO_free(bio);
    if (!ok || leaf == NULL) {
        X509_free(leaf);
        sk_X509_pop_free(chain, X509_free);
        BAIL(VEIL_ERR_PROTO);
    }
    *leaf_out = leaf;
    *chain_out = chain;
    return VEIL_RESULT_OK;
}

veil_result serve_certs_install(struct serve *s)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    int days = 0;
    int secs = 0;
    int64_t left;

    GUARD(parse_chain(&s->chain, &leaf, &chain));
    if (EVP_PKEY_eq(X509_get0_pubkey(leaf), s->tls_key) != 1 ||
        ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)) != 1) {
        X509_free(leaf);
        sk_X509_pop_free(chain, X509_free);
        BAIL(VEIL_ERR_CRYPTO_KEY_MISMATCH);
    }
    left = (int64_t)days * 86400 + secs;
    (void)pthread_rwlock_wrlock(&s->cert_mu);
    X509_free(s->cert_leaf);
    sk_X509_pop_free(s->cert_chain, X509_free);
    s->cert_leaf = leaf;
    s->cert_chain = chain;
    s->cert_renew_at = time(NULL) + (time_t)(left > 0 ? left * 2 / 3 : 0);
    (void)pthread_rwlock_unlock(&s->cert_mu);
    veil_log(VEIL_LOG_INFO, "step=kbs-cert-installed expires_in_s=%lld renew_in_s=%lld",
             (long long)left, (long long)(left > 0 ? left * 2 / 3 : 0));
    return VEIL_RESULT_OK;
}

/* Each handshake presents the current broker-issued chain (it may have been renewed). */
static int current_cert_cb(SSL *ssl, void *arg)
{
    struct serve *s = arg;
    int ok;

    (void)pthread_rwlock_rdlock(&s->cert_mu);
    ok = s->cert_leaf != NULL && SSL_use_certificate(ssl, s->cert_leaf) == 1 &&
         SSL_set1_chain(ssl, s->cert_chain) == 1;
    (void)pthread_rwlock_unlock(&s->cert_mu);
    return ok ? 1 : 0;
}

/* The certificates to present: the broker-issued chain (kbs_cert), else the attested one. */
static veil_result load_certs(struct serve *s, SSL_CTX *ctx)
{
    if (s->chain.len == 0) {
        GUARD_OSSL(SSL_CTX_use_certificate(ctx, s->ratls_cert), VEIL_ERR_INTERNAL_OSSL);
        return VEIL_RESULT_OK;
    }
    GUARD(serve_certs_install(s));
    GUARD_OSSL(SSL_CTX_use_certificate(ctx, s->cert_leaf), VEIL_ERR_INTERNAL_OSSL);
    GUARD_OSSL(SSL_CTX_set1_chain(ctx, s->cert_chain), VEIL_ERR_INTERNAL_OSSL);
    SSL_CTX_set_cert_cb(ctx, current_cert_cb, s);
    return VEIL_RESULT_OK;
}

/* The presented chain (public) goes to tls_cert_out, for clients that pin it. */
veil_result serve_write_cert_out(struct serve *s)
{
    const char *out_path = veil_conf_str(&s->conf, "tls_cert_out");
    struct veil_wr pem;
    veil_result r = VEIL_RESULT_OK;

    if (out_path[0] == '\0') {
        return VEIL_RESULT_OK;
    }
    if (s->chain.len > 0) {
        return veil_file_write_atomic(out_path, s->chain.data, s->chain.len, 0644, 1);
    }
    veil_wr_init(&pem, 65536);
    r = veil_x509_pem(s->ratls_cert, &pem);
    if (veil_ok(r)) {
        r = veil_file_write_atomic(out_path, pem.data, pem.len, 0644, 1);
    }
    veil_wr_free(&pem);
    return r;
}

/* TLS 1.3 cipher suites in the server's order (docs/PROTOCOL.serve.md, TLS): AES-128-GCM first,
 * the cheapest on both ends for the megabytes of tensors a connection carries. */
#define SERVE_TLS13_SUITES \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static veil_result suites(SSL_CTX *ctx)
{
    GUARD_OSSL(SSL_CTX_set_ciphersuites(ctx, SERVE_TLS13_SUITES), VEIL_ERR_INTERNAL_OSSL);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return VEIL_RESULT_OK;
}

veil_result serve_tls_ctx(struct serve *s, SSL_CTX **out)
{
    const char *cert_path = veil_conf_str(&s->conf, "tls_cert");
    const char *key_path = veil_conf_str(&s->conf, "tls_key");
    SSL_CTX *ctx;
    veil_result r;

    if (cert_path[0] != '\0' || key_path[0] != '\0') {
        ENSURE(cert_path[0] != '\0' && key_path[0] != '\0', VEIL_ERR_USAGE);
        GUARD(veil_http_tls_server_ctx(cert_path, key_path, &ctx));
        r = suites(ctx);
        if (!veil_ok(r)) {
            SSL_CTX_free(ctx);
            return r;
        }
        *out = ctx;
        return VEIL_RESULT_OK;
    }
    GUARD(serve_tls_key(s));
    GUARD(serve_write_cert_out(s));
    ctx = SSL_CTX_new(TLS_server_method());
    ENSURE(ctx != NULL, VEIL_ERR_INTERNAL_OSSL);
    r = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1
            ? load_certs(s, ctx)
            : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    if (veil_ok(r) &&
        (SSL_CTX_use_PrivateKey(ctx, s->tls_key) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (veil_ok(r)) {
        r = suites(ctx);
    }
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
        SSL_CTX_free(ctx);
        return r;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    veil_log(VEIL_LOG_INFO, "TLS: ephemeral P-256 key, %s (sim evidence)%s%s",
             s->chain.len > 0 ? "certificate issued by the key broker's CA, with the evidence"
                              : "attested certificate",
             veil_conf_str(&s->conf, "tls_cert_out")[0] != '\0' ? " written to " : "",
             veil_conf_str(&s->conf, "tls_cert_out"));
    *out = ctx;
    return VEIL_RESULT_OK;
}
