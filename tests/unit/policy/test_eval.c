#include "policy/policy.h"
#include "veil_test.h"

static const uint8_t measurement[4] = {0xab, 0xcd, 0x01, 0x02};

static void snp_claims(struct veil_claims *c, bool debug, int64_t snp_tcb)
{
    static const char *const advisories[] = {"INTEL-SA-00289"};

    veil_claims_init(c);
    EXPECT_OK(veil_claims_add_str(c, "tee", "snp"));
    EXPECT_OK(veil_claims_add_bytes(c, "snp.measurement", measurement, sizeof(measurement)));
    EXPECT_OK(veil_claims_add_bool(c, "snp.debug", debug));
    EXPECT_OK(veil_claims_add_int(c, "snp.tcb.reported.snp", snp_tcb));
    EXPECT_OK(veil_claims_add_str_list(c, "tdx.advisory_ids", advisories, 1));
}

static void decide(const char *json, const struct veil_claims *c, struct veil_policy_decision *d)
{
    struct veil_policy p;
    char err[256];

    if (!veil_ok(veil_policy_parse((const uint8_t *)json, strlen(json), &p, err, sizeof(err)))) {
        fail_msg("policy does not parse: %s", err);
    }
    veil_policy_decision_init(d);
    EXPECT_OK(veil_policy_evaluate(&p, c, d));
    veil_policy_free(&p);
}

static const char prod[] =
    "{\"version\": 1, \"name\": \"prod\", \"allOf\": ["
    " {\"claim\": \"tee\", \"equals\": \"snp\"},"
    " {\"claim\": \"snp.measurement\", \"equals\": \"ABCD0102\"},"
    " {\"claim\": \"snp.debug\", \"equals\": false},"
    " {\"claim\": \"snp.tcb.reported.snp\", \"greaterOrEquals\": 8}]}";

static void test_allow_and_each_refusal(void **state)
{
    struct veil_claims c;
    struct veil_policy_decision d;

    (void)state;
    snp_claims(&c, false, 8);
    decide(prod, &c, &d);
    EXPECT_TRUE(d.allow);
    EXPECT_EQ(d.count, 4);
    EXPECT_STR_EQ(d.reason, "allowed by policy prod");
    veil_policy_decision_free(&d);
    veil_claims_free(&c);

    snp_claims(&c, true, 8);
    decide(prod, &c, &d);
    EXPECT_FALSE(d.allow);
    EXPECT_STR_EQ(d.reason, "denied: snp.debug equals false: FAILS, actual true");
    EXPECT_STR_EQ(d.items[2].path, "allOf[2]");
    veil_policy_decision_free(&d);
    veil_claims_free(&c);

    snp_claims(&c, false, 7);
    decide(prod, &c, &d);
    EXPECT_FALSE(d.allow);
    EXPECT_STR_EQ(d.reason, "denied: snp.tcb.reported.snp greaterOrEquals 8: FAILS, actual 7");
    veil_policy_decision_free(&d);
    veil_claims_free(&c);

    /* Every failure is listed, not only the first. */
    snp_claims(&c, true, 1);
    decide(prod, &c, &d);
    EXPECT_FALSE(d.items[2].passed);
    EXPECT_FALSE(d.items[3].passed);
    EXPECT_TRUE(d.items[1].passed);
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
}

static void test_any_of_and_missing_claims(void **state)
{
    struct veil_claims c;
    struct veil_policy_decision d;

    (void)state;
    snp_claims(&c, false, 8);
    decide(
        "{\"version\": 1, \"anyOf\": [{\"claim\": \"tdx.mr_td\", \"equals\": \"00\"},"
        " {\"claim\": \"snp.measurement\", \"in\": [\"ffff\", \"abcd0102\"]}]}",
        &c, &d);
    EXPECT_TRUE(d.allow);
    EXPECT_FALSE(d.items[0].passed);
    EXPECT_TRUE(strstr(d.items[0].text, "claim absent") != NULL);
    veil_policy_decision_free(&d);
    /* A missing claim does not satisfy notEquals: fail closed. */
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"tdx.mr_td\", \"notEquals\": \"00\"}]}", &c,
           &d);
    EXPECT_FALSE(d.allow);
    veil_policy_decision_free(&d);
    decide(
        "{\"version\": 1, \"allOf\": [{\"claim\": \"tdx.mr_td\", \"exists\": false},"
        " {\"claim\": \"snp.debug\", \"exists\": true}]}",
        &c, &d);
    EXPECT_TRUE(d.allow);
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
}

static void test_type_mismatch_never_passes(void **state)
{
    struct veil_claims c;
    struct veil_policy_decision d;

    (void)state;
    snp_claims(&c, false, 8);
    /* "false" as a string against a boolean claim: refused, and notEquals does not flip it. */
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"snp.debug\", \"equals\": \"false\"}]}", &c,
           &d);
    EXPECT_FALSE(d.allow);
    EXPECT_TRUE(strstr(d.items[0].text, "boolean") != NULL);
    veil_policy_decision_free(&d);
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"snp.debug\", \"notEquals\": \"true\"}]}", &c,
           &d);
    EXPECT_FALSE(d.allow);
    veil_policy_decision_free(&d);
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"snp.measurement\", \"lessOrEquals\": 5}]}",
           &c, &d);
    EXPECT_FALSE(d.allow);
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
}

static void test_list_claims(void **state)
{
    struct veil_claims c;
    struct veil_policy_decision d;

    (void)state;
    snp_claims(&c, false, 8);
    decide(
        "{\"version\": 1, \"allOf\": [{\"claim\": \"tdx.advisory_ids\", \"in\": "
        "[\"INTEL-SA-00289\", \"INTEL-SA-00615\"]}]}",
        &c, &d);
    EXPECT_TRUE(d.allow);
    veil_policy_decision_free(&d);
    decide(
        "{\"version\": 1, \"allOf\": [{\"claim\": \"tdx.advisory_ids\", \"in\": "
        "[\"INTEL-SA-00615\"]}]}",
        &c, &d);
    EXPECT_FALSE(d.allow);
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
}

static void test_sim_needs_to_be_named(void **state)
{
    struct veil_claims c;
    struct veil_policy_decision d;

    (void)state;
    veil_claims_init(&c);
    EXPECT_OK(veil_claims_add_str(&c, "tee", "sim"));
    EXPECT_OK(veil_claims_add_bool(&c, "sim.debug", false));
    /* A policy that would otherwise allow (it never looks at tee) refuses sim. */
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"sim.debug\", \"equals\": false}]}", &c, &d);
    EXPECT_FALSE(d.allow);
    EXPECT_TRUE(strstr(d.reason, "simulated TEE") != NULL);
    veil_policy_decision_free(&d);
    decide("{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"notEquals\": \"snp\"}]}", &c, &d);
    EXPECT_FALSE(d.allow);
    veil_policy_decision_free(&d);
    decide(
        "{\"version\": 1, \"allOf\": [{\"claim\": \"tee\", \"in\": [\"snp\", \"sim\"]},"
        " {\"claim\": \"sim.debug\", \"equals\": false}]}",
        &c, &d);
    EXPECT_TRUE(d.allow);
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
}

VEIL_TEST_MAIN(test_allow_and_each_refusal, test_any_of_and_missing_claims,
               test_type_mismatch_never_passes, test_list_claims, test_sim_needs_to_be_named)
