#include "policy/policy.h"
#include "veil_test.h"

static veil_result parse(const char *json, struct veil_policy *p, char *err)
{
    return veil_policy_parse((const uint8_t *)json, strlen(json), p, err, 256);
}

static void test_valid_policy(void **state)
{
    struct veil_policy p;
    char err[256];

    (void)state;
    EXPECT_OK(
        parse("{\"version\": 1, \"name\": \"ocr-prod\", \"anyOf\": ["
              " {\"allOf\": ["
              "   {\"claim\": \"tee\", \"equals\": \"snp\"},"
              "   {\"claim\": \"snp.measurement\", \"in\": [\"aa\", \"bb\"]},"
              "   {\"claim\": \"snp.debug\", \"equals\": false},"
              "   {\"claim\": \"snp.tcb.reported.snp\", \"greaterOrEquals\": 8},"
              "   {\"claim\": \"tdx.rtmr[2]\", \"exists\": false}]},"
              " {\"claim\": \"tee\", \"equals\": \"sim\"}]}",
              &p, err));
    EXPECT_STR_EQ(p.name, "ocr-prod");
    EXPECT_EQ(p.root.kind, VEIL_POLICY_ANY_OF);
    EXPECT_EQ(p.root.child_count, 2);
    EXPECT_EQ(p.root.children[0].child_count, 5);
    EXPECT_EQ(p.root.children[0].children[1].value_count, 2);
    EXPECT_TRUE(p.names_sim);
    veil_policy_free(&p);
    EXPECT_OK(
        parse("{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}]}", &p, err));
    EXPECT_FALSE(p.names_sim);
    veil_policy_free(&p);
}

struct bad {
    const char *json;
    int code;
    const char *says;
};

static const struct bad bads[] = {
    {"", VEIL_ERR_PROTO, "not valid JSON"},
    {"[1]", VEIL_ERR_PROTO, "JSON object"},
    {"{\"allOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}]}", VEIL_ERR_PROTO, "version"},
    {"{\"version\": 2, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}]}", VEIL_ERR_PROTO,
     "version"},
    {"{\"version\": 1}", VEIL_ERR_PROTO, "anyOf"},
    {"{\"version\": 1, \"allOf\": []}", VEIL_ERR_PROTO, "non-empty"},
    {"{\"version\": 1, \"extra\": 1, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}]}",
     VEIL_ERR_PROTO, "unknown top-level key"},
    {"{\"version\": 1, \"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}]}",
     VEIL_ERR_PROTO, "not valid JSON"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.measurment\", \"equals\": \"aa\"}]}",
     VEIL_ERR_PROTO, "unknown claim \"snp.measurment\""},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"tee\"}]}", VEIL_ERR_PROTO, "exactly one operator"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"equals\": \"a\", \"notEquals\": \"b\"}]}",
     VEIL_ERR_PROTO, "exactly one operator"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"matches\": \"a\"}]}", VEIL_ERR_PROTO,
     "unknown key \"matches\""},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.vmpl\", \"greaterOrEquals\": \"1\"}]}",
     VEIL_ERR_PROTO, "takes a number"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.vmpl\", \"equals\": 1.5}]}", VEIL_ERR_PROTO,
     "real number"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.vmpl\", \"equals\": null}]}", VEIL_ERR_PROTO,
     "real number or null"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.debug\", \"greaterOrEquals\": true}]}",
     VEIL_ERR_PROTO, "does not take true/false"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"snp.debug\", \"exists\": 1}]}", VEIL_ERR_PROTO,
     "exists takes true or false"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"in\": []}]}", VEIL_ERR_PROTO,
     "list of 1 to"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"in\": [true]}]}", VEIL_ERR_PROTO,
     "does not take true/false"},
    {"{\"version\": 1, \"allOf\": [{\"anyOf\": [{\"claim\": \"tee\", \"equals\": \"snp\"}], "
     "\"claim\": \"tee\"}]}",
     VEIL_ERR_PROTO, "exactly one key"},
    {"{\"version\": 1, \"allOf\": [{\"claim\": 7, \"equals\": \"snp\"}]}", VEIL_ERR_PROTO,
     "needs \"claim\""},
};

static void test_invalid_policies_say_why(void **state)
{
    struct veil_policy p;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        veil_result r = parse(bads[i].json, &p, err);
        if (r.code != bads[i].code || strstr(err, bads[i].says) == NULL) {
            fail_msg("case %zu: got %s \"%s\", wanted %s containing \"%s\"", i,
                     veil_error_name(r.code), err, veil_error_name(bads[i].code), bads[i].says);
        }
    }
}

static void test_limits(void **state)
{
    struct veil_policy p;
    char err[256];
    char deep[2048];
    size_t off = 0;

    (void)state;
    off += (size_t)snprintf(deep + off, sizeof(deep) - off, "{\"version\": 1, \"allOf\": [");
    for (int i = 0; i < 10; i++) {
        off += (size_t)snprintf(deep + off, sizeof(deep) - off, "{\"allOf\": [");
    }
    off +=
        (size_t)snprintf(deep + off, sizeof(deep) - off, "{\"claim\": \"tee\", \"exists\": true}");
    for (int i = 0; i < 10; i++) {
        off += (size_t)snprintf(deep + off, sizeof(deep) - off, "]}");
    }
    (void)snprintf(deep + off, sizeof(deep) - off, "]}");
    EXPECT_ERR(parse(deep, &p, err), VEIL_ERR_PROTO_LIMIT);
    EXPECT_TRUE(strstr(err, "deeper") != NULL);
    {
        size_t big = VEIL_POLICY_SIZE_MAX + 1;
        char *s = malloc(big + 1);
        memset(s, ' ', big);
        s[big] = '\0';
        EXPECT_ERR(veil_policy_parse((const uint8_t *)s, big, &p, err, sizeof(err)),
                   VEIL_ERR_PROTO_LIMIT);
        free(s);
    }
}

static void test_claim_names(void **state)
{
    (void)state;
    EXPECT_TRUE(veil_policy_claim_known("snp.tcb.reported.microcode"));
    EXPECT_TRUE(veil_policy_claim_known("sim.tcb.launch.snp"));
    EXPECT_TRUE(veil_policy_claim_known("tdx.rtmr[3]"));
    EXPECT_FALSE(veil_policy_claim_known("tdx.rtmr[4]"));
    EXPECT_FALSE(veil_policy_claim_known("snp.tcb.reported."));
    EXPECT_FALSE(veil_policy_claim_known("snp.tcb.bogus.snp"));
    EXPECT_FALSE(veil_policy_claim_known(""));
}

VEIL_TEST_MAIN(test_valid_policy, test_invalid_policies_say_why, test_limits, test_claim_names)
