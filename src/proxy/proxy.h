/* veil-proxy: plain HTTP on loopback in, attested TLS upstream (docs/PROTOCOL.ratls.md). */
#ifndef VEIL_PROXY_H
#define VEIL_PROXY_H

#include <curl/curl.h>
#include <event2/http.h>

#include "ratls/ratls.h"

#define PROXY_BODY_SIZE_MAX    (64u << 20)
#define PROXY_URL_SIZE_MAX     4096
#define PROXY_HEADERS_SIZE_MAX 16384
#define PROXY_DECIMAL_SIZE     20 /* 19 digits and a NUL */

/* One upstream connection (reused), used by the single worker thread only. */
struct proxy {
    const char *upstream; /* https://host:port, no trailing slash */
    size_t upstream_size;
    long timeout_s;
    CURL *curl;
    struct veil_ratls_verifier verifier;
    unsigned long forwarded;
    unsigned long refused;
};

/* The route handler: forwards req upstream, or answers 502 with the reason. */
void proxy_forward(struct evhttp_request *req, void *ctx);

#endif
