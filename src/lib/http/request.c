/* Request and response helpers over evhttp. */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "http/http.h"

#define TLS_RECORD_SIZE_MAX 16384 /* plaintext bytes in one TLS record */

const char *veil_http_path(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);

    return uri != NULL ? evhttp_uri_get_path(uri) : NULL;
}

veil_result veil_http_body(struct evhttp_request *req, size_t max, const uint8_t **data, size_t *n)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);

    ENSURE(len <= max, VEIL_ERR_PROTO_LIMIT);
    *data = len > 0 ? evbuffer_pullup(in, (ev_ssize_t)len) : (const uint8_t *)"";
    ENSURE(*data != NULL, VEIL_ERR_NOMEM);
    *n = len;
    return VEIL_RESULT_OK;
}

bool veil_http_cookie(struct evhttp_request *req, const char *name, char *out, size_t size)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    size_t nlen = strlen(name);

    while (h != NULL && *h != '\0') {
        while (*h == ' ' || *h == ';') {
            h++;
        }
        if (strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            const char *v = h + nlen + 1;
            size_t vlen = strcspn(v, ";");
            if (vlen == 0 || vlen >= size) {
                return false;
            }
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        h = strchr(h, ';');
    }
    return false;
}

void veil_http_peer(struct evhttp_request *req, char *out, size_t size)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    const char *addr = NULL;
    ev_uint16_t port = 0;

    if (c != NULL) {
        evhttp_connection_get_peer(c, (char **)&addr, &port);
    }
    (void)snprintf(out, size, "%s", addr != NULL ? addr : "unknown");
}

void veil_http_reply(struct evhttp_request *req, int status, const char *content_type,
                     const void *body, size_t n)
{
    struct evbuffer *buf = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;

    if (content_type != NULL) {
        (void)evhttp_add_header(h, "Content-Type", content_type);
    }
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    if (buf != NULL && body != NULL && n > 0) {
        (void)evbuffer_add(buf, body, n);
    }
    evhttp_send_reply(req, status, NULL, buf);
    if (buf != NULL) {
        evbuffer_free(buf);
    }
    /* evhttp queued the head and the body as two pieces, which bufferevent_openssl would send
     * as two TLS records (two writes): for an answer that fits one record, one piece makes one
     * record. Larger answers are left alone (copying them would gain nothing). The bytes are
     * still queued (they go out from the event loop), and evcon outlives this call. */
    bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) <= TLS_RECORD_SIZE_MAX) {
        (void)evbuffer_pullup(bufferevent_get_output(bev), -1);
    }
}

veil_result veil_http_tls_server_ctx(const char *cert_path, const char *key_path, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        veil_ossl_drain(__func__);
        SSL_CTX_free(ctx);
        BAIL(VEIL_ERR_CRYPTO_KEY);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    *out = ctx;
    return VEIL_RESULT_OK;
}
