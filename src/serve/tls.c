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

/* The certificates to present: the broker-issued chain (kbs_cert), else the attested one. */
static veil_result load_certs(struct serve *s, SSL_CTX *ctx)
{
    BIO *bio;
    X509 *cert;
    bool ok = true;
    int count = 0;

    if (s->chain.len == 0) {
        GUARD_OSSL(SSL_CTX_use_certificate(ctx, s->ratls_cert), VEIL_ERR_INTERNAL_OSSL);
        return VEIL_RESULT_OK;
    }
    bio = BIO_new_mem_buf(s->chain.data, (int)s->chain.len);
    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    while (ok && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = count++ == 0 ? SSL_CTX_use_certificate(ctx, cert) == 1
                          : SSL_CTX_add0_chain_cert(ctx, cert) == 1;
        if (count == 1 || !ok) {
            X509_free(cert);
        }
    }
    ERR_clear_error(); /* the end of the PEM */
    BIO_free(bio);
    ENSURE(ok && count >= 1, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

/* The presented chain (public) goes to tls_cert_out, for clients that pin it. */
static veil_result write_cert_out(struct serve *s)
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

veil_result serve_tls_ctx(struct serve *s, SSL_CTX **out)
{
    const char *cert_path = veil_conf_str(&s->conf, "tls_cert");
    const char *key_path = veil_conf_str(&s->conf, "tls_key");
    SSL_CTX *ctx;
    veil_result r;

    if (cert_path[0] != '\0' || key_path[0] != '\0') {
        ENSURE(cert_path[0] != '\0' && key_path[0] != '\0', VEIL_ERR_USAGE);
        return veil_http_tls_server_ctx(cert_path, key_path, out);
    }
    GUARD(serve_tls_key(s));
    GUARD(write_cert_out(s));
    ctx = SSL_CTX_new(TLS_server_method());
    ENSURE(ctx != NULL, VEIL_ERR_INTERNAL_OSSL);
    r = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1
            ? load_certs(s, ctx)
            : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    if (veil_ok(r) &&
        (SSL_CTX_use_PrivateKey(ctx, s->tls_key) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
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
