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

/* An ephemeral key and an attested certificate for it; the certificate goes to tls_cert_out. */
static veil_result ephemeral_cert(struct serve *s, EVP_PKEY **key_out, X509 **cert_out)
{
    struct veil_sim_attester_ctx sim = {&s->sim, &s->guest};
    const char *out_path = veil_conf_str(&s->conf, "tls_cert_out");
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = NULL;
    struct veil_wr pem;
    veil_result r;

    ENSURE(key != NULL, VEIL_ERR_INTERNAL_OSSL);
    veil_wr_init(&pem, 65536);
    r = veil_ratls_cert_make_san(key, "veil-serve", "DNS:localhost,IP:127.0.0.1,IP:::1",
                                 SERVE_CERT_VALIDITY_S, VEIL_TEE_SIM, veil_sim_attester, &sim,
                                 &cert);
    if (veil_ok(r) && out_path[0] != '\0') {
        r = veil_x509_pem(cert, &pem);
        if (veil_ok(r)) {
            r = veil_file_write_atomic(out_path, pem.data, pem.len, 0644, 1);
        }
    }
    veil_wr_free(&pem);
    if (!veil_ok(r)) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return r;
    }
    *key_out = key;
    *cert_out = cert;
    return VEIL_RESULT_OK;
}

veil_result serve_tls_ctx(struct serve *s, SSL_CTX **out)
{
    const char *cert_path = veil_conf_str(&s->conf, "tls_cert");
    const char *key_path = veil_conf_str(&s->conf, "tls_key");
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    SSL_CTX *ctx;
    bool ok;

    if (cert_path[0] != '\0' || key_path[0] != '\0') {
        ENSURE(cert_path[0] != '\0' && key_path[0] != '\0', VEIL_ERR_USAGE);
        return veil_http_tls_server_ctx(cert_path, key_path, out);
    }
    GUARD(ephemeral_cert(s, &key, &cert));
    ctx = SSL_CTX_new(TLS_server_method());
    ok = ctx != NULL && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
         SSL_CTX_check_private_key(ctx) == 1;
    X509_free(cert);
    EVP_PKEY_free(key); /* the context holds its own references */
    if (!ok) {
        SSL_CTX_free(ctx);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    veil_log(VEIL_LOG_INFO, "TLS: ephemeral P-256 key, attested certificate (sim evidence)%s%s",
             veil_conf_str(&s->conf, "tls_cert_out")[0] != '\0' ? " written to " : "",
             veil_conf_str(&s->conf, "tls_cert_out"));
    *out = ctx;
    return VEIL_RESULT_OK;
}
