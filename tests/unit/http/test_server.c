/* The HTTP glue against a real client (libcurl) on loopback, plain and TLS 1.3. */
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

static void run(SSL_CTX *tls, const char *ca)
{
    struct veil_http_opts o = {"127.0.0.1", 0, tls, 2, 1000, 8192, 5};
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
    SSL_CTX_free(ctx);
    EXPECT_ERR(veil_http_tls_server_ctx(cert, "/nonexistent", &ctx), VEIL_ERR_CRYPTO_KEY);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    EXPECT_EQ(system(cmd), 0);
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

VEIL_TEST_MAIN(test_plain, test_tls13, test_listen_parsing)
