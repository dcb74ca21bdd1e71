/* The HTTP glue against a real client (libcurl) on loopback, plain and TLS 1.3, and against raw
 * sockets for keep-alive: several requests on one connection, the bound on requests per
 * connection, the idle timeout, and a client that reconnects after the server closed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http/http.h"
#include "veil_test.h"

static void echo(struct evhttp_request *req, void *ctx)
{
    const uint8_t *body;
    size_t n;
    char cookie[64];
    char reply[256];
    int len;

    (void)ctx;
    if (!veil_ok(veil_http_body(req, 1000, &body, &n))) {
        veil_http_reply(req, 413, NULL, NULL, 0);
        return;
    }
    if (!veil_http_cookie(req, "kbs-session-id", cookie, sizeof(cookie))) {
        (void)snprintf(cookie, sizeof(cookie), "-");
    }
    len = snprintf(reply, sizeof(reply), "%s %zu %s", veil_http_path(req), n, cookie);
    veil_http_reply(req, 200, "text/plain", reply, (size_t)len);
}

static const struct veil_http_route routes[] = {{"/echo", echo}, {"/prefix/", echo}};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct veil_wr *w = ud;

    return veil_ok(veil_wr_bytes(w, p, size * n)) ? size * n : 0;
}

static long request(const char *url, const char *body, const char *cookie, bool tls, const char *ca,
                    struct veil_wr *out)
{
    CURL *c = curl_easy_init();
    long code = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (cookie != NULL) {
        curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    }
    if (tls) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_easy_cleanup(c);
    return code;
}

static void reconnect(SSL_CTX *tls, const char *ca);

static void run(SSL_CTX *tls, const char *ca)
{
    struct veil_http_opts o = {"127.0.0.1", 0, tls, 2, 1000, 8192, 5, 0};
    struct veil_http_server *s = NULL;
    struct veil_wr out;
    char url[128];
    char *big = malloc(5000);
    const char *scheme = tls != NULL ? "https" : "http";
    const char *text;

    EXPECT_OK(veil_http_server_start(&o, routes, 2, NULL, &s));
    EXPECT_TRUE(veil_http_server_port(s) != 0);
    veil_wr_init(&out, 4096);
    (void)snprintf(url, sizeof(url), "%s://localhost:%u/echo", scheme, veil_http_server_port(s));
    EXPECT_EQ(request(url, "hello", "a=b; kbs-session-id=abc123", tls != NULL, ca, &out), 200);
    EXPECT_OK(veil_wr_cstr(&out, &text));
    EXPECT_STR_EQ(text, "/echo 5 abc123");
    veil_wr_reset(&out);
    (void)snprintf(url, sizeof(url), "%s://localhost:%u/prefix/a/b", scheme,
                   veil_http_server_port(s));
    EXPECT_EQ(request(url, NULL, NULL, tls != NULL, ca, &out), 200);
    EXPECT_OK(veil_wr_cstr(&out, &text));
    EXPECT_STR_EQ(text, "/prefix/a/b 0 -");
    veil_wr_reset(&out);
    (void)snprintf(url, sizeof(url), "%s://localhost:%u/nope", scheme, veil_http_server_port(s));
    EXPECT_EQ(request(url, NULL, NULL, tls != NULL, ca, &out), 404);
    veil_wr_reset(&out);
    /* Over the body limit: refused by the server before the handler runs. */
    memset(big, 'x', 4999);
    big[4999] = '\0';
    (void)snprintf(url, sizeof(url), "%s://localhost:%u/echo", scheme, veil_http_server_port(s));
    EXPECT_EQ(request(url, big, NULL, tls != NULL, ca, &out), 413);
    veil_wr_free(&out);
    free(big);
    veil_http_server_stop(s, 100);
}

static void test_plain(void **state)
{
    (void)state;
    run(NULL, NULL);
    reconnect(NULL, NULL);
}

static void test_tls13(void **state)
{
    char dir[] = "/tmp/veil-http-XXXXXX";
    char cmd[512];
    char cert[64];
    char key[64];
    SSL_CTX *ctx = NULL;

    (void)state;
    EXPECT_NOT_NULL(mkdtemp(dir));
    (void)snprintf(cert, sizeof(cert), "%s/c.pem", dir);
    (void)snprintf(key, sizeof(key), "%s/k.pem", dir);
    (void)snprintf(cmd, sizeof(cmd),
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                   "-subj /CN=localhost -addext subjectAltName=DNS:localhost -days 1 "
                   "-keyout %s -out %s 2>/dev/null",
                   key, cert);
    EXPECT_EQ(system(cmd), 0);
    EXPECT_OK(veil_http_tls_server_ctx(cert, key, &ctx));
    run(ctx, cert);
    reconnect(ctx, cert);
    SSL_CTX_free(ctx);
    EXPECT_ERR(veil_http_tls_server_ctx(cert, "/nonexistent", &ctx), VEIL_ERR_CRYPTO_KEY);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    EXPECT_EQ(system(cmd), 0);
}

/* A plain TCP connection to the server, with a receive timeout so that a test never hangs. */
static int dial(uint16_t port)
{
    struct sockaddr_in a = {0};
    struct timeval tv = {20, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    EXPECT_TRUE(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    EXPECT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends one HTTP/1.1 request and reads exactly one response, framed by its Content-Length (no
 * read past it: what follows belongs to the next response). Returns the head and body in out. */
static void exchange(int fd, const char *path, char *out, size_t size)
{
    char req[256];
    size_t have = 0;
    const char *end = NULL;
    const char *cl;
    size_t want;
    int n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", path);

    EXPECT_EQ(send(fd, req, (size_t)n, 0), n);
    while (end == NULL) {
        ssize_t got = recv(fd, out + have, 1, 0); /* byte by byte: stop exactly at the head */
        EXPECT_EQ(got, 1);
        have++;
        EXPECT_TRUE(have < size);
        out[have] = '\0';
        end = strstr(out, "\r\n\r\n");
    }
    cl = strstr(out, "Content-Length: ");
    EXPECT_NOT_NULL(cl);
    want = (size_t)strtoul(cl + 16, NULL, 10);
    EXPECT_TRUE(have + want < size);
    while (want > 0) {
        ssize_t got = recv(fd, out + have, want, 0);
        EXPECT_TRUE(got > 0);
        have += (size_t)got;
        want -= (size_t)got;
    }
    out[have] = '\0';
}

static void test_keepalive_bound(void **state)
{
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 1000, 8192, 5, 3};
    struct veil_http_server *s = NULL;
    char resp[2048];
    char byte;
    int fd;

    (void)state;
    EXPECT_OK(veil_http_server_start(&o, routes, 2, NULL, &s));
    fd = dial(veil_http_server_port(s));
    /* Three requests on one connection; only the third answer says the server closes. */
    exchange(fd, "/echo", resp, sizeof(resp));
    EXPECT_NOT_NULL(strstr(resp, "\r\n\r\n/echo 3 -"));
    EXPECT_NULL(strstr(resp, "Connection: close"));
    exchange(fd, "/prefix/x", resp, sizeof(resp));
    EXPECT_NOT_NULL(strstr(resp, "\r\n\r\n/prefix/x 3 -"));
    EXPECT_NULL(strstr(resp, "Connection: close"));
    exchange(fd, "/echo", resp, sizeof(resp));
    EXPECT_NOT_NULL(strstr(resp, "Connection: close"));
    EXPECT_EQ(recv(fd, &byte, 1, 0), 0); /* and it did */
    (void)close(fd);
    EXPECT_EQ(veil_http_server_connections(s), 1);
    /* A new connection starts its own count. */
    fd = dial(veil_http_server_port(s));
    exchange(fd, "/echo", resp, sizeof(resp));
    EXPECT_NULL(strstr(resp, "Connection: close"));
    (void)close(fd);
    veil_http_server_stop(s, 100);
}

static void test_keepalive_idle_timeout(void **state)
{
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 1000, 8192, 1, 0};
    struct veil_http_server *s = NULL;
    char resp[2048];
    char byte;
    int fd;

    (void)state;
    EXPECT_OK(veil_http_server_start(&o, routes, 2, NULL, &s));
    fd = dial(veil_http_server_port(s));
    exchange(fd, "/echo", resp, sizeof(resp));
    EXPECT_NULL(strstr(resp, "Connection: close"));
    /* Kept alive, then closed by the server once idle for timeout_s (1 s); the receive timeout
     * (20 s) only keeps a broken server from hanging the test. */
    EXPECT_EQ(recv(fd, &byte, 1, 0), 0);
    (void)close(fd);
    veil_http_server_stop(s, 100);
}

/* The workers' event loops batch their event changes (libevent's changelist, server.c): a
 * descriptor the server closes and the next connection's descriptor, which the kernel gives the
 * same number, must not mix their pending changes. Each answer closes its connection (bound 1),
 * a second connection is kept alive across it, and clients also vanish without a request. */
static void test_changelist_fd_reuse(void **state)
{
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 1000, 8192, 5, 1};
    struct veil_http_server *s = NULL;
    char resp[2048];
    char byte;

    (void)state;
    EXPECT_OK(veil_http_server_start(&o, routes, 2, NULL, &s));
#ifdef __linux__
    EXPECT_STR_EQ(veil_http_server_backend(s), "epoll (with changelist)");
#endif
    for (int i = 0; i < 40; i++) {
        int a = dial(veil_http_server_port(s));
        int b = dial(veil_http_server_port(s));
        int gone = dial(veil_http_server_port(s));
        int c;
        (void)close(gone); /* no request at all */
        exchange(a, "/echo", resp, sizeof(resp));
        EXPECT_NOT_NULL(strstr(resp, "Connection: close"));
        EXPECT_EQ(recv(a, &byte, 1, 0), 0); /* closed by the server */
        c = dial(veil_http_server_port(s)); /* likely to get a's number on the server */
        exchange(c, "/prefix/c", resp, sizeof(resp));
        EXPECT_NOT_NULL(strstr(resp, "\r\n\r\n/prefix/c 3 -"));
        exchange(b, "/echo", resp, sizeof(resp));
        EXPECT_NOT_NULL(strstr(resp, "\r\n\r\n/echo 3 -"));
        (void)close(a);
        (void)close(b);
        (void)close(c);
    }
    veil_http_server_stop(s, 100);
}

/* libcurl on one handle, as the KBS client uses it: connections are reused, and when the server
 * has closed one (bound reached, or idle timeout), the next request opens a new one. */
static void reconnect(SSL_CTX *tls, const char *ca)
{
    struct veil_http_opts o = {"127.0.0.1", 0, tls, 2, 1000, 8192, 1, 2};
    struct veil_http_server *s = NULL;
    struct veil_wr out;
    char url[128];
    CURL *c = curl_easy_init();
    long code = 0;

    EXPECT_OK(veil_http_server_start(&o, routes, 2, NULL, &s));
    (void)snprintf(url, sizeof(url), "%s://localhost:%u/echo", tls != NULL ? "https" : "http",
                   veil_http_server_port(s));
    veil_wr_init(&out, 4096);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (tls != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    }
    for (int i = 0; i < 5; i++) {
        EXPECT_EQ(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        EXPECT_EQ(code, 200);
    }
    EXPECT_EQ(veil_http_server_connections(s), 3); /* 2 + 2 + 1 requests */
    sleep(3); /* past the idle timeout: the server closes the third connection */
    EXPECT_EQ(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    EXPECT_EQ(code, 200);
    EXPECT_EQ(veil_http_server_connections(s), 4);
    curl_easy_cleanup(c);
    veil_wr_free(&out);
    veil_http_server_stop(s, 100);
}

static void test_listen_parsing(void **state)
{
    char host[64];
    uint16_t port = 0;

    (void)state;
    EXPECT_OK(veil_http_parse_listen("127.0.0.1:8443", host, sizeof(host), &port));
    EXPECT_STR_EQ(host, "127.0.0.1");
    EXPECT_EQ(port, 8443);
    EXPECT_OK(veil_http_parse_listen("[::1]:0", host, sizeof(host), &port));
    EXPECT_STR_EQ(host, "::1");
    EXPECT_EQ(port, 0);
    EXPECT_ERR(veil_http_parse_listen("127.0.0.1", host, sizeof(host), &port), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_http_parse_listen("127.0.0.1:65536", host, sizeof(host), &port),
               VEIL_ERR_USAGE);
    EXPECT_ERR(veil_http_parse_listen(":80", host, sizeof(host), &port), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_http_parse_listen("::1:80", host, sizeof(host), &port), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_http_parse_listen("a:8x", host, sizeof(host), &port), VEIL_ERR_USAGE);
}

VEIL_TEST_MAIN(test_plain, test_tls13, test_keepalive_bound, test_keepalive_idle_timeout,
               test_changelist_fd_reuse, test_listen_parsing)
