#include "store_test.h"

#define P1 "{\"allOf\":[]}"
#define P2 "{\"anyOf\":[]}"
#define P3 "{\"repo\":true}"

static void test_latest_and_fallback(void **state)
{
    struct store_fixture f;
    struct veil_wr json;
    char target[160];
    const char *c;
    int64_t v = 0;

    (void)state;
    fixture_open(&f);
    veil_wr_init(&json, 1u << 16);
    EXPECT_ERR(veil_store_policy_get(f.s, "repo/key/one", &json, target, sizeof(target), &v),
               VEIL_ERR_STORE_NOT_FOUND);
    /* The repository's policy applies to every resource without its own. */
    EXPECT_OK(veil_store_policy_set(f.s, "repo/*", P3, strlen(P3), &v));
    EXPECT_EQ(v, 1);
    EXPECT_OK(veil_store_policy_get(f.s, "repo/key/one", &json, target, sizeof(target), &v));
    EXPECT_STR_EQ(target, "repo/*");
    EXPECT_EQ(v, 1);
    EXPECT_OK(veil_wr_cstr(&json, &c));
    EXPECT_STR_EQ(c, P3);
    veil_wr_reset(&json);
    /* Its own policy wins; the latest version of it. */
    EXPECT_OK(veil_store_policy_set(f.s, "repo/key/one", P1, strlen(P1), &v));
    EXPECT_EQ(v, 1);
    EXPECT_OK(veil_store_policy_set(f.s, "repo/key/one", P2, strlen(P2), &v));
    EXPECT_EQ(v, 2);
    EXPECT_OK(veil_store_policy_get(f.s, "repo/key/one", &json, target, sizeof(target), &v));
    EXPECT_STR_EQ(target, "repo/key/one");
    EXPECT_EQ(v, 2);
    EXPECT_OK(veil_wr_cstr(&json, &c));
    EXPECT_STR_EQ(c, P2);
    veil_wr_reset(&json);
    /* Another resource of the repository still gets the repository's. */
    EXPECT_OK(veil_store_policy_get(f.s, "repo/key/two", &json, target, sizeof(target), &v));
    EXPECT_STR_EQ(target, "repo/*");
    veil_wr_reset(&json);
    /* Another repository gets nothing. */
    EXPECT_ERR(veil_store_policy_get(f.s, "other/key/one", &json, target, sizeof(target), &v),
               VEIL_ERR_STORE_NOT_FOUND);
    /* Survives a restart. */
    fixture_reopen(&f);
    EXPECT_OK(veil_store_policy_get(f.s, "repo/key/one", &json, NULL, 0, &v));
    EXPECT_EQ(v, 2);
    veil_wr_reset(&json);
    /* The target buffer must fit. */
    EXPECT_ERR(veil_store_policy_get(f.s, "repo/key/one", &json, target, 4, &v),
               VEIL_ERR_USAGE_LIMIT);
    veil_wr_free(&json);
    fixture_close(&f);
}

struct seen {
    int count;
    char targets[4][32];
    int64_t versions[4];
};

static void collect(void *ctx, const char *target, int64_t version, const char *json, size_t n)
{
    struct seen *s = ctx;

    assert_true(s->count < 4);
    assert_true(n > 0 && json[0] == '{');
    snprintf(s->targets[s->count], sizeof(s->targets[0]), "%s", target);
    s->versions[s->count] = version;
    s->count++;
}

static void test_foreach_latest(void **state)
{
    struct store_fixture f;
    struct seen seen;

    (void)state;
    fixture_open(&f);
    EXPECT_OK(veil_store_policy_set(f.s, "b/*", P1, strlen(P1), NULL));
    EXPECT_OK(veil_store_policy_set(f.s, "a/k/t", P1, strlen(P1), NULL));
    EXPECT_OK(veil_store_policy_set(f.s, "a/k/t", P2, strlen(P2), NULL));
    EXPECT_OK(veil_store_policy_set(f.s, "a/k/t", P3, strlen(P3), NULL));
    memset(&seen, 0, sizeof(seen));
    EXPECT_OK(veil_store_policy_foreach(f.s, collect, &seen));
    EXPECT_EQ(seen.count, 2);
    EXPECT_STR_EQ(seen.targets[0], "a/k/t");
    EXPECT_EQ(seen.versions[0], 3);
    EXPECT_STR_EQ(seen.targets[1], "b/*");
    EXPECT_EQ(seen.versions[1], 1);
    fixture_close(&f);
}

static void test_bad_targets(void **state)
{
    struct store_fixture f;
    struct veil_wr json;

    (void)state;
    fixture_open(&f);
    veil_wr_init(&json, 1024);
    EXPECT_ERR(veil_store_policy_set(f.s, "*", P1, strlen(P1), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_policy_set(f.s, "/*", P1, strlen(P1), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_policy_set(f.s, "a/b/*", P1, strlen(P1), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_policy_set(f.s, "a/*/c", P1, strlen(P1), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_policy_set(f.s, "../*", P1, strlen(P1), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_policy_set(f.s, "a/b", "{\0}", 3, NULL), VEIL_ERR_PROTO);
    EXPECT_ERR(veil_store_policy_set(f.s, "a/b", P1, (64u << 10) + 1, NULL), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(veil_store_policy_get(f.s, "a/b/c/d", &json, NULL, 0, NULL), VEIL_ERR_STORE_PATH);
    veil_wr_free(&json);
    fixture_close(&f);
}

VEIL_TEST_MAIN(test_latest_and_fallback, test_foreach_latest, test_bad_targets)
