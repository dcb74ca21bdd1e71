/* A real TLS 1.3 handshake on loopback: the http server with an attested certificate, libcurl
 * with veil_ratls_client_ctx. A refused server never sees a request byte. */
#include <stdatomic.h>

#include <curl/curl.h>

#include "http/http.h"
#include "ratls_test.h"

static struct ratls_fixture fx;
static atomic_int requests;

static int setup(void **state)
{
    (void)state;
    ratls_fixture_init(&fx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ratls_fixture_free(&fx);
    return 0;
}

static void infer(struct evhttp_request *req, void *ctx)
{
    static const char body[] = "{\"outputs\":[]}";

    (void)ctx;
    atomic_fetch_add(&requests, 1);
    veil_http_reply(req, 200, "application/json", body, sizeof(body) - 1);
}

static const struct veil_http_route routes[] = {{"/v2/models/m/infer", infer}};

static CURLcode install(CURL *curl, void *ssl_ctx, void *ud)
{
    (void)curl;
    return veil_ok(veil_ratls_client_ctx(ssl_ctx, ud)) ? CURLE_OK : CURLE_SSL_CERTPROBLEM;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* POSTs to the server; returns the curl code and sets *status. */
static CURLcode post(uint16_t port, struct veil_ratls_verifier *v, long *status)
{
    CURL *c = curl_easy_init();
    char url[128];
    CURLcode cc;

    assert_non_null(c);
    (void)snprintf(url, sizeof(url), "https://127.0.0.1:%u/v2/models/m/infer", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"inputs\":[]}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, install);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, v);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cc = curl_easy_perform(c);
    *status = 0;
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(c);
    return cc;
}

static void handshake(const struct veil_sim_platform *plat, const struct veil_policy *policy,
                      bool want_ok, const char *why)
{
    EVP_PKEY *key = ratls_key();
    X509 *cert = ratls_cert(plat, &fx.guest, key);
    SSL_CTX *tls = NULL;
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 4096, 8192, 5, 0};
    struct veil_http_server *s = NULL;
    struct veil_ratls_verifier v;
    long status = 0;
    CURLcode cc;

    EXPECT_OK(veil_ratls_server_ctx(cert, key, &tls));
    o.tls = tls;
    EXPECT_OK(veil_http_server_start(&o, routes, 1, NULL, &s));
    atomic_store(&requests, 0);
    veil_ratls_verifier_init(&v, policy, &fx.roots);
    cc = post(veil_http_server_port(s), &v, &status);
    if (want_ok) {
        EXPECT_EQ(cc, CURLE_OK);
        EXPECT_EQ(status, 200);
        EXPECT_EQ(atomic_load(&requests), 1);
        EXPECT_TRUE(v.decision.allow);
    } else {
        EXPECT_NE(cc, CURLE_OK);
        EXPECT_EQ(atomic_load(&requests), 0);
        EXPECT_NOT_NULL(strstr(v.failure, why));
    }
    veil_ratls_verifier_reset(&v);
    veil_http_server_stop(s, 100);
    SSL_CTX_free(tls);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_accepted(void **state)
{
    (void)state;
    handshake(&fx.trusted, &fx.policy, true, NULL);
}

static void test_policy_mismatch(void **state)
{
    (void)state;
    handshake(&fx.trusted, &fx.other_policy, false, "sim.measurement");
}

static void test_untrusted_platform(void **state)
{
    (void)state;
    handshake(&fx.untrusted, &fx.policy, false, "sim.");
}

static void test_tls12_refused(void **state)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct veil_ratls_verifier v;

    (void)state;
    assert_non_null(ctx);
    veil_ratls_verifier_init(&v, &fx.policy, NULL);
    EXPECT_OK(veil_ratls_client_ctx(ctx, &v));
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
    EXPECT_ERR(veil_ratls_client_ctx(NULL, &v), VEIL_ERR_USAGE);
    SSL_CTX_free(ctx);
}

VEIL_TEST_MAIN_WITH(setup, teardown, test_accepted, test_policy_mismatch, test_untrusted_platform,
                    test_tls12_refused)
