/*
 * The server's TLS context, in one function (serve_tls_ctx), and the report data that binds the
 * TLS key to attestation evidence (GET /v2/attestation).
 *
 * Without tls_cert/tls_key, the server makes an ephemeral P-256 key at start-up (it never leaves
 * the process) and a self-signed certificate for it, and writes the certificate (public) to
 * tls_cert_out for clients. INTEGRATION POINT: when src/lib/ratls/ is linked, replace the
 * veil_x509_make call in ephemeral_cert() by
 *     veil_ratls_cert_make(key, "veil-serve", validity, VEIL_TEE_SIM, serve_attester, s, &x509)
 * so that the certificate itself carries the evidence (TCG DICE extension), and
 * serve_report_data by veil_ratls_report_data.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "http/http.h"
#include "serve.h"

#define SERVE_CERT_VALIDITY_S (7 * 86400L)

/* The same computation as veil_ratls_report_data (src/lib/ratls/ratls.h), done here because this
 * branch cannot link the ratls library: SHA-256(SPKI DER of key) || SHA-256(nonce) (32 zero
 * bytes without a nonce). */
veil_result serve_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                              uint8_t out[64])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    veil_result r;

    ENSURE(n > 0, VEIL_ERR_INTERNAL_OSSL);
    r = veil_sha256(der, (size_t)n, out);
    OPENSSL_free(der);
    GUARD(r);
    if (nonce == NULL || nonce_size == 0) {
        memset(out + 32, 0, 32);
        return VEIL_RESULT_OK;
    }
    return veil_sha256(nonce, nonce_size, out + 32);
}

/* An ephemeral key and a self-signed certificate for it; the certificate goes to tls_cert_out. */
static veil_result ephemeral_cert(struct serve *s, EVP_PKEY **key_out, X509 **cert_out)
{
    struct veil_x509_params p = {
        .cn = "veil-serve",
        .validity_s = SERVE_CERT_VALIDITY_S,
        .ca = false,
        .san = "DNS:localhost,IP:127.0.0.1,IP:::1",
        .server_auth = true,
    };
    const char *out_path = veil_conf_str(&s->conf, "tls_cert_out");
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = NULL;
    struct veil_wr pem;
    veil_result r;

    ENSURE(key != NULL, VEIL_ERR_INTERNAL_OSSL);
    veil_wr_init(&pem, 65536);
    r = veil_x509_make(key, &p, NULL, key, &cert);
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
    veil_log(VEIL_LOG_INFO, "TLS: ephemeral P-256 key, self-signed certificate%s%s",
             veil_conf_str(&s->conf, "tls_cert_out")[0] != '\0' ? " written to " : "",
             veil_conf_str(&s->conf, "tls_cert_out"));
    *out = ctx;
    return VEIL_RESULT_OK;
}
