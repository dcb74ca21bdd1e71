/* libevent HTTP server: workers, routes, limits, TLS (see http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "http/http.h"

#define WORKERS_MAX  64
#define CONN_BUCKETS 256 /* per worker; chains hold the connections beyond that */

/* A keep-alive connection, from its first request until libevent closes it (close callback):
 * counts its requests so that the server can bound them. Only the worker's thread touches it. */
struct conn {
    struct evhttp_connection *evcon;
    struct worker *w;
    unsigned requests;
    struct conn *next;
};

struct worker {
    struct veil_http_server *server;
    struct event_base *base;
    struct evhttp *http;
    evutil_socket_t fd;
    pthread_t thread;
    bool started;
    struct conn *conns[CONN_BUCKETS];
};

struct veil_http_server {
    struct veil_http_opts opts;
    const struct veil_http_route *routes;
    size_t route_count;
    void *ctx;
    struct worker workers[WORKERS_MAX];
    unsigned worker_count;
    uint16_t port;
    _Atomic uint64_t connections;
};

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    SSL_CTX *ctx = arg;
    SSL *ssl = SSL_new(ctx);

    if (ssl == NULL) {
        return NULL;
    }
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* A TLS connection the server closes ends with close_notify (libevent frees it without one):
 * a client that sees a bare EOF instead treats it as a truncation attack and discards the
 * session, so it could not resume it (openssl s_time -reuse, docs/PROTOCOL.serve.md). Best
 * effort: the socket is non-blocking, and a peer already gone costs nothing (SIGPIPE is
 * ignored by the daemons). */
static void tls_close_notify(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

    if (ssl != NULL && SSL_is_init_finished(ssl)) {
        (void)SSL_shutdown(ssl);
    }
    ERR_clear_error();
}

static size_t conn_bucket(const struct evhttp_connection *evcon)
{
    uintptr_t p = (uintptr_t)evcon;

    return (size_t)((p >> 4) ^ (p >> 12)) % CONN_BUCKETS;
}

static void conn_unlink(struct conn *c)
{
    struct conn **pp = &c->w->conns[conn_bucket(c->evcon)];

    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->next;
    }
    if (*pp == c) {
        *pp = c->next;
    }
}

/* libevent calls this when it closes the connection (by either side, timeout or error), before
 * it frees it: the entry goes with it, so a later connection at the same address starts at 0. */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;

    if (c->w->server->opts.tls != NULL) {
        tls_close_notify(evcon);
    }
    conn_unlink(c);
    free(c);
}

/* The connection's entry, made on its first request (NULL if out of memory: not bounded then,
 * which only costs the bound, never a request). */
static struct conn *conn_of(struct worker *w, struct evhttp_connection *evcon)
{
    struct conn **head = &w->conns[conn_bucket(evcon)];
    struct conn *c;

    for (c = *head; c != NULL; c = c->next) {
        if (c->evcon == evcon) {
            return c;
        }
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->evcon = evcon;
    c->w = w;
    c->next = *head;
    *head = c;
    atomic_fetch_add(&w->server->connections, 1);
    evhttp_connection_set_closecb(evcon, conn_closed, c);
    return c;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    struct veil_http_server *s = w->server;
    const char *path = veil_http_path(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn *c = evcon != NULL ? conn_of(w, evcon) : NULL;

    /* HTTP/1.1 keep-alive (libevent frames every response with Content-Length), up to the
     * configured number of requests: the last one is answered with Connection: close, after
     * which libevent closes the connection; a client opens a new one for more. */
    if (c != NULL && s->opts.requests_per_connection_max > 0 &&
        ++c->requests >= s->opts.requests_per_connection_max) {
        (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    }
    for (size_t i = 0; path != NULL && i < s->route_count; i++) {
        const char *rp = s->routes[i].path;
        size_t n = strlen(rp);
        bool prefix = n > 0 && rp[n - 1] == '/';
        if ((prefix && strncmp(path, rp, n) == 0) || (!prefix && strcmp(path, rp) == 0)) {
            s->routes[i].fn(req, s->ctx);
            return;
        }
    }
    veil_http_reply(req, 404, "application/json", "{\"detail\":\"no such endpoint\"}", 30);
}

static VEIL_RESULT bind_socket(const char *host, uint16_t port, evutil_socket_t *out,
                               uint16_t *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        ENSURE(inet_pton(AF_INET6, host, &a->sin6_addr) == 1, VEIL_ERR_USAGE);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ENSURE(inet_pton(AF_INET, host, &a->sin_addr) == 1, VEIL_ERR_USAGE);
        len = sizeof(*a);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ENSURE(fd >= 0, VEIL_ERR_IO);
    /* TCP_NODELAY is inherited by accepted sockets: small TLS records and replies must not wait
     * for a delayed ACK (Nagle), which costs 40 ms a round trip. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        veil_log(VEIL_LOG_ERROR, "cannot listen on %s:%u: %s", host, port, strerror(errno));
        (void)close(fd);
        BAIL(VEIL_ERR_IO);
    }
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    }
    *out = fd;
    return VEIL_RESULT_OK;
}

/* The worker's event loop. With epoll, libevent's changelist: the event changes one callback
 * makes are applied together, as at most one epoll_ctl per descriptor, just before the next
 * epoll_wait, instead of one epoll_ctl each at once. An inference makes three on its connection
 * (evhttp stops reading once the request is in, then wants writing and reading for the reply),
 * all from the handler, right after the engine, when those system calls run cold: 13 us per
 * request to queue the reply (docs/PROTOCOL.serve.md, Performance). libevent's caveat for the
 * changelist is descriptors shared through dup(), which the server never makes. */
static struct event_base *worker_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base = NULL;

    if (cfg != NULL && event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0) {
        base = event_base_new_with_config(cfg);
    }
    if (cfg != NULL) {
        event_config_free(cfg);
    }
    return base != NULL ? base : event_base_new();
}

static VEIL_RESULT worker_init(struct veil_http_server *s, struct worker *w, uint16_t port)
{
    uint16_t bound = 0;

    w->server = s;
    w->fd = -1;
    w->base = worker_base();
    ENSURE(w->base != NULL, VEIL_ERR_NOMEM);
    w->http = evhttp_new(w->base);
    ENSURE(w->http != NULL, VEIL_ERR_NOMEM);
    evhttp_set_max_body_size(w->http, (ev_ssize_t)s->opts.body_size_max);
    evhttp_set_max_headers_size(w->http, (ev_ssize_t)s->opts.headers_size_max);
    evhttp_set_timeout(w->http, s->opts.timeout_s);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    /* A body over the limit is read and discarded before the 413 goes out, so that a client
     * still sending sees the answer instead of a reset connection. */
    (void)evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(w->http, dispatch, w);
    if (s->opts.tls != NULL) {
        evhttp_set_bevcb(w->http, tls_bev, s->opts.tls);
    }
    GUARD(bind_socket(s->opts.host, port, &w->fd, &bound));
    if (s->port == 0) {
        s->port = bound;
    }
    ENSURE(evhttp_accept_socket(w->http, w->fd) == 0, VEIL_ERR_IO);
    return VEIL_RESULT_OK;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    (void)event_base_dispatch(w->base);
    return NULL;
}

veil_result veil_http_server_start(const struct veil_http_opts *opts,
                                   const struct veil_http_route *routes, size_t route_count,
                                   void *ctx, struct veil_http_server **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct veil_http_server *s;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(opts->workers >= 1 && opts->workers <= WORKERS_MAX, VEIL_ERR_USAGE_LIMIT);
    (void)pthread_once(&once, (void (*)(void))evthread_use_pthreads);
    s = calloc(1, sizeof(*s));
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    s->opts = *opts;
    s->routes = routes;
    s->route_count = route_count;
    s->ctx = ctx;
    /* The first socket picks the port (when 0); the others share it through SO_REUSEPORT. */
    for (unsigned i = 0; veil_ok(r) && i < opts->workers; i++) {
        r = worker_init(s, &s->workers[i], i == 0 ? opts->port : s->port);
        s->worker_count = i + 1;
    }
    for (unsigned i = 0; veil_ok(r) && i < s->worker_count; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            r = veil_result_of(VEIL_ERR_INTERNAL_THREAD);
            break;
        }
        s->workers[i].started = true;
    }
    if (!veil_ok(r)) {
        veil_http_server_stop(s, 0);
        return r;
    }
    *out = s;
    return VEIL_RESULT_OK;
}

uint16_t veil_http_server_port(const struct veil_http_server *s)
{
    return s->port;
}

uint64_t veil_http_server_connections(const struct veil_http_server *s)
{
    return atomic_load(&s->connections);
}

const char *veil_http_server_backend(const struct veil_http_server *s)
{
    return event_base_get_method(s->workers[0].base);
}

void veil_http_server_stop(struct veil_http_server *s, unsigned grace_ms)
{
    struct timeval tv = {(time_t)(grace_ms / 1000), (suseconds_t)(grace_ms % 1000) * 1000};

    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < s->worker_count; i++) {
        if (s->workers[i].base != NULL) {
            (void)event_base_loopexit(s->workers[i].base, &tv);
        }
    }
    for (unsigned i = 0; i < s->worker_count; i++) {
        struct worker *w = &s->workers[i];
        if (w->started) {
            (void)pthread_join(w->thread, NULL);
        }
        if (w->http != NULL) {
            evhttp_free(w->http); /* closes the bound socket */
        } else if (w->fd >= 0) {
            (void)close(w->fd);
        }
        if (w->base != NULL) {
            event_base_free(w->base);
        }
        /* evhttp_free closed every connection (and their callbacks freed the entries); whatever
         * libevent closed without calling back is freed here. */
        for (size_t b = 0; b < CONN_BUCKETS; b++) {
            while (w->conns[b] != NULL) {
                struct conn *c = w->conns[b];
                w->conns[b] = c->next;
                free(c);
            }
        }
    }
    free(s);
}

veil_result veil_http_parse_listen(const char *s, char *host, size_t host_size, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hn;
    char *end = NULL;
    unsigned long p;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        ENSURE(close != NULL && close[1] == ':', VEIL_ERR_USAGE);
        h = s + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        ENSURE(colon != NULL && strchr(s, ':') == colon, VEIL_ERR_USAGE);
        hn = (size_t)(colon - s);
    }
    ENSURE(hn > 0 && hn < host_size, VEIL_ERR_USAGE);
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    ENSURE(errno == 0 && end != colon + 1 && *end == '\0' && p <= 65535, VEIL_ERR_USAGE);
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (uint16_t)p;
    return VEIL_RESULT_OK;
}
