#include "conf/conf.h"
#include "veil_test.h"

static const struct veil_conf_item items[] = {
    {"listen", VEIL_CONF_STRING, 1, 255, "127.0.0.1:8443", 0, "address:port to listen on"},
    {"workers", VEIL_CONF_INT, 1, 64, "2", 0, "worker threads"},
    {"nonce_ttl_s", VEIL_CONF_INT, 1, 3600, "60", 0, "how long a nonce is valid"},
    {"insecure_http", VEIL_CONF_BOOL, 0, 1, "false", VEIL_CONF_INSECURE, "plain HTTP"},
    {"offset", VEIL_CONF_INT, -10, 10, "-1", 0, "a signed value"},
};

static veil_result parse(struct veil_conf *c, const char *text, char *why)
{
    EXPECT_OK(veil_conf_init(c, items, sizeof(items) / sizeof(items[0])));
    return veil_conf_parse(c, text, strlen(text), why, 256);
}

static void test_defaults_and_values(void **state)
{
    struct veil_conf c;
    char why[256];

    (void)state;
    EXPECT_OK(parse(&c, "# comment\n\n  workers = 4\nlisten = \"0.0.0.0:443\"\r\noffset=-7", why));
    EXPECT_STR_EQ(veil_conf_str(&c, "listen"), "0.0.0.0:443");
    EXPECT_EQ(veil_conf_int(&c, "workers"), 4);
    EXPECT_EQ(veil_conf_int(&c, "nonce_ttl_s"), 60);
    EXPECT_EQ(veil_conf_int(&c, "offset"), -7);
    EXPECT_FALSE(veil_conf_bool(&c, "insecure_http"));
    veil_conf_free(&c);
}

static void test_errors_name_the_line(void **state)
{
    static const struct {
        const char *text;
        const char *says;
    } bad[] = {
        {"workers = 0", "line 1: workers: out of bounds (1..64)"},
        {"\n\nworkers = 65", "line 3: workers: out of bounds"},
        {"workers = 4x", "not an integer"},
        {"workers = ", "not an integer"},
        {"workers = 99999999999999999999", "not an integer"},
        {"frobnicate = 1", "line 1: unknown setting \"frobnicate\""},
        {"workers = 2\nworkers = 3", "line 2: workers is set twice"},
        {"insecure_http = maybe", "not true/false"},
        {"listen", "line 1: expected name = value"},
        {"listen = \"\"", "string length out of bounds"},
    };
    struct veil_conf c;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        veil_result r = parse(&c, bad[i].text, why);
        if (veil_ok(r) || strstr(why, bad[i].says) == NULL) {
            fail_msg("case %zu: got \"%s\", wanted \"%s\"", i, why, bad[i].says);
        }
        veil_conf_free(&c);
    }
}

static void test_insecure_switch_is_read(void **state)
{
    struct veil_conf c;
    char why[256];

    (void)state;
    EXPECT_OK(parse(&c, "insecure_http = true", why));
    EXPECT_TRUE(veil_conf_bool(&c, "insecure_http"));
    veil_conf_free(&c);
}

VEIL_TEST_MAIN(test_defaults_and_values, test_errors_name_the_line, test_insecure_switch_is_read)
