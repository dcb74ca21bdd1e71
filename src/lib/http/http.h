/*
 * HTTP(S) server glue over libevent 2.1 (docs/internals/http.md): one event loop per worker
 * thread, each with its own SO_REUSEPORT listening socket so the kernel spreads connections;
 * TLS 1.3 through bufferevent_openssl; hard limits on header and body sizes and on time; a route
 * table; graceful stop. Handlers run on the worker that accepted the connection and must not
 * block for long.
 */
#ifndef VEIL_HTTP_H
#define VEIL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "base/result.h"

struct veil_http_server;

typedef void (*veil_http_handler_fn)(struct evhttp_request *req, void *ctx);

struct veil_http_route {
    const char *path; /* exact path, or a prefix when it ends with '/' */
    veil_http_handler_fn fn;
};

struct veil_http_opts {
    const char *host; /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t port;    /* 0: pick a free port (see veil_http_server_port) */
    SSL_CTX *tls;     /* NULL: plain HTTP (the caller decides whether that is allowed) */
    unsigned workers; /* >= 1 */
    size_t body_size_max;
    size_t headers_size_max;
    int timeout_s; /* read/write timeout per connection; also how long an idle keep-alive
                    * connection waits for its next request before the server closes it */
    unsigned requests_per_connection_max; /* 0: no bound; else the Nth response on a connection
                                           * carries Connection: close and the server closes it */
};

VEIL_RESULT veil_http_server_start(const struct veil_http_opts *opts,
                                   const struct veil_http_route *routes, size_t route_count,
                                   void *ctx, struct veil_http_server **out);
uint16_t veil_http_server_port(const struct veil_http_server *s);
/* Connections that carried at least one request since the start (for metrics and tests). */
uint64_t veil_http_server_connections(const struct veil_http_server *s);
/* The event loop's backend, as libevent names it ("epoll (with changelist)" on Linux). */
const char *veil_http_server_backend(const struct veil_http_server *s);
/* Stops accepting, lets in-flight requests finish (up to grace_ms), joins the workers. */
void veil_http_server_stop(struct veil_http_server *s, unsigned grace_ms);

/* Parses "host:port" / "[v6]:port". */
VEIL_RESULT veil_http_parse_listen(const char *s, char *host, size_t host_size, uint16_t *port);

/* Request helpers. */
const char *veil_http_path(struct evhttp_request *req); /* decoded-free path, no query */
/* The request body, at most max bytes (else VEIL_ERR_PROTO_LIMIT); borrowed until reply. */
VEIL_RESULT veil_http_body(struct evhttp_request *req, size_t max, const uint8_t **data, size_t *n);
/* Value of cookie `name` (copied into out), false if absent or too long. */
bool veil_http_cookie(struct evhttp_request *req, const char *name, char *out, size_t size);
/* The peer address as text. */
void veil_http_peer(struct evhttp_request *req, char *out, size_t size);
/* Replies with a body and content type (NULL: no body). */
void veil_http_reply(struct evhttp_request *req, int status, const char *content_type,
                     const void *body, size_t n);

/* A TLS 1.3-only server context from PEM files. */
VEIL_RESULT veil_http_tls_server_ctx(const char *cert_path, const char *key_path, SSL_CTX **out);

#endif
