/* The shared JOSE helpers: strict base64url, capped JSON loading, the member-table check. */
#include "jose/internal.h"
#include "veil_test.h"

static json_t *J(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

    if (j == NULL) {
        fail_msg("bad test JSON: %s (%s)", err.text, text);
    }
    return j;
}

static void test_b64(void **state)
{
    uint8_t out[8];
    size_t len = 99;

    (void)state;
    EXPECT_OK(veil_jose_b64_decode("", 0, out, sizeof(out), &len));
    EXPECT_EQ(len, 0);
    EXPECT_OK(veil_jose_b64_decode("AQAB", 4, out, sizeof(out), &len));
    EXPECT_EQ(len, 3);
    EXPECT_ERR(veil_jose_b64_decode("AQ==", 4, out, sizeof(out), &len), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_jose_b64_decode("AR", 2, out, sizeof(out), &len), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_jose_b64_decode("A", 1, out, sizeof(out), &len), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_jose_b64_decode("AQ/B", 4, out, sizeof(out), &len), VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_jose_b64_decode("AQAB AQAB", 9, out, sizeof(out), &len),
               VEIL_ERR_PROTO_ENCODING);
    EXPECT_ERR(veil_jose_b64_decode("AAAAAAAAAAAAAA", 14, out, sizeof(out), &len),
               VEIL_ERR_PROTO_LIMIT);
    EXPECT_OK(veil_jose_b64_decode_exact("AQAB", 4, out, 3));
    EXPECT_ERR(veil_jose_b64_decode_exact("AQAB", 4, out, 2), VEIL_ERR_JOSE_LENGTH);
    EXPECT_ERR(veil_jose_b64_decode_exact("AQ", 2, out, 3), VEIL_ERR_JOSE_LENGTH);
}

static void test_members_schema(void **state)
{
    struct veil_jose_member m[] = {
        {"a", VEIL_JOSE_STRING, true, 0, NULL},
        {"b", VEIL_JOSE_INTEGER, false, 0, NULL},
        {"c", VEIL_JOSE_OBJECT, false, 0, NULL},
        {"z", VEIL_JOSE_ANY, false, VEIL_ERR_JOSE_CRIT, NULL},
    };
    json_t *j = J("{\"a\":\"x\",\"b\":1,\"c\":{}}");
    json_t *k = json_object();

    (void)state;
    EXPECT_OK(veil_jose_members(j, m, 4));
    EXPECT_NOT_NULL(m[2].value);
    EXPECT_NULL(m[3].value);
    EXPECT_EQ(json_object_set_new(j, "z", json_null()), 0);
    EXPECT_ERR(veil_jose_members(j, m, 4), VEIL_ERR_JOSE_CRIT);
    EXPECT_EQ(json_object_del(j, "z"), 0);
    EXPECT_EQ(json_object_set_new(j, "b", json_real(1.5)), 0);
    EXPECT_ERR(veil_jose_members(j, m, 4), VEIL_ERR_JOSE_MEMBER);
    /* A key with an embedded NUL is not "a". */
    EXPECT_EQ(json_object_setn_new(k, "a\0b", 3, json_string("x")), 0);
    EXPECT_ERR(veil_jose_members(k, m, 4), VEIL_ERR_JOSE_MEMBER);
    EXPECT_EQ(json_object_clear(k), 0);
    EXPECT_ERR(veil_jose_members(k, m, 4), VEIL_ERR_JOSE_MEMBER); /* "a" is required */
    json_decref(k);
    json_decref(j);
}

static void test_json_load(void **state)
{
    static const char ok[] = "{\"a\":1}";
    static const char dup[] = "{\"a\":1,\"a\":2}";
    static const char arr[] = "[1]";
    static const char nul[] = "{\"a\":\"x\\u0000y\"}";
    json_t *j = NULL;

    (void)state;
    EXPECT_OK(veil_jose_json_load((const uint8_t *)ok, strlen(ok), 64, &j));
    json_decref(j);
    j = NULL;
    EXPECT_ERR(veil_jose_json_load((const uint8_t *)ok, strlen(ok), 4, &j), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(veil_jose_json_load((const uint8_t *)dup, strlen(dup), 64, &j), VEIL_ERR_JOSE);
    EXPECT_ERR(veil_jose_json_load((const uint8_t *)arr, strlen(arr), 64, &j), VEIL_ERR_JOSE);
    EXPECT_ERR(veil_jose_json_load((const uint8_t *)nul, strlen(nul), 64, &j), VEIL_ERR_JOSE);
    EXPECT_ERR(veil_jose_json_load((const uint8_t *)ok, 0, 64, &j), VEIL_ERR_JOSE);
    EXPECT_NULL(j);
}

static void test_str_eq(void **state)
{
    json_t *a = json_string("ES256");
    json_t *b = json_stringn("ES256\0x", 7);
    json_t *c = json_integer(1);

    (void)state;
    EXPECT_TRUE(veil_jose_str_eq(a, "ES256"));
    EXPECT_FALSE(veil_jose_str_eq(a, "ES25"));
    EXPECT_FALSE(veil_jose_str_eq(b, "ES256"));
    EXPECT_FALSE(veil_jose_str_eq(c, "1"));
    EXPECT_FALSE(veil_jose_str_eq(NULL, "ES256"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

VEIL_TEST_MAIN(test_b64, test_members_schema, test_json_load, test_str_eq)
