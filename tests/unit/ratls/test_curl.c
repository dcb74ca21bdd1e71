/* Loading a policy and collateral for a client; setting up a libcurl handle. */
#include "ratls_test.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
    char dir[] = "/tmp/veil-ratls-curl-XXXXXX";
    char pol[64];
    char bad[64];
    char junk[64];
    const char *coll[1];
    struct veil_policy p;
    struct veil_collateral c;
    char why[512];

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(pol, sizeof(pol), "%s/p.json", dir);
    (void)snprintf(bad, sizeof(bad), "%s/bad.json", dir);
    (void)snprintf(junk, sizeof(junk), "%s/junk", dir);
    write_file(pol, "{\"version\":1,\"allOf\":[{\"claim\":\"tee\",\"equals\":\"sim\"}]}");
    write_file(bad, "{\"version\":1,\"allOf\":[{\"claim\":\"no.such\",\"equals\":1}]}");
    write_file(junk, "not collateral");
    EXPECT_OK(veil_ratls_load(pol, NULL, 0, &p, &c, why, sizeof(why)));
    EXPECT_TRUE(p.names_sim);
    veil_policy_free(&p);
    veil_collateral_free(&c);
    EXPECT_FALSE(veil_ok(veil_ratls_load(bad, NULL, 0, &p, &c, why, sizeof(why))));
    EXPECT_NOT_NULL(strstr(why, "bad.json"));
    EXPECT_FALSE(
        veil_ok(veil_ratls_load("/nonexistent/p.json", NULL, 0, &p, &c, why, sizeof(why))));
    EXPECT_NOT_NULL(strstr(why, "/nonexistent/p.json"));
    coll[0] = junk;
    EXPECT_FALSE(veil_ok(veil_ratls_load(pol, coll, 1, &p, &c, why, sizeof(why))));
    EXPECT_NOT_NULL(strstr(why, "junk"));
    (void)snprintf(why, sizeof(why), "rm -rf '%s'", dir);
    EXPECT_EQ(system(why), 0);
}

static void test_setup(void **state)
{
    struct veil_policy p;
    struct veil_ratls_verifier v;
    CURL *c = curl_easy_init();

    (void)state;
    assert_non_null(c);
    ratls_policy(&p, '2');
    veil_ratls_verifier_init(&v, &p, NULL);
    EXPECT_OK(veil_ratls_curl_setup(c, &v));
    EXPECT_ERR(veil_ratls_curl_setup(NULL, &v), VEIL_ERR_USAGE);
    /* plain http is not among the allowed protocols */
    curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/");
    EXPECT_EQ(curl_easy_perform(c), CURLE_UNSUPPORTED_PROTOCOL);
    curl_easy_cleanup(c);
    veil_ratls_verifier_reset(&v);
    veil_policy_free(&p);
}

VEIL_TEST_MAIN(test_load, test_setup)
