/* veil policy check | test: validate a release policy, or evaluate it offline over evidence. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include "policy/policy.h"
#include <veil/veil.h>

#define COLLATERAL_COUNT_MAX 64

static const char usage[] =
    "usage: veil policy check POLICY.json\n"
    "       veil policy test POLICY.json --tee snp|tdx|sgx|sim --evidence FILE\n"
    "                        [--collateral PATH]... [--at RFC3339] [--report-data HEX]\n\n"
    "check   parse and validate a release policy (docs/POLICY.md), and say whether it admits\n"
    "        the simulated TEE\n"
    "test    verify the evidence as the key broker would (see veil evidence verify), then\n"
    "        evaluate the policy over its claims and explain every condition\n\n"
    "exit status: 0 valid / released, 1 invalid / refused (evidence or policy), 2 usage\n";

struct policy_args {
    const char *policy;
    const char *tee;
    const char *evidence;
    const char *collateral[COLLATERAL_COUNT_MAX];
    size_t collateral_count;
    const char *at;
    const char *report_data;
};

static int load_policy(const char *path, struct veil_policy *p)
{
    struct veil_wr w;
    char why[512];
    veil_result r = veil_file_read(path, VEIL_POLICY_SIZE_MAX + 1, &w);

    if (!veil_ok(r)) {
        return cli_fail_err("policy", path, r.code);
    }
    r = veil_policy_parse(w.data, w.len, p, why, sizeof(why));
    veil_wr_free(&w);
    if (!veil_ok(r)) {
        return cli_fail("policy", "%s: %s", path, why);
    }
    return CLI_EXIT_OK;
}

static int parse_args(int argc, char **argv, struct policy_args *a)
{
    static const struct option opts[] = {{"tee", required_argument, NULL, 't'},
                                         {"evidence", required_argument, NULL, 'e'},
                                         {"collateral", required_argument, NULL, 'c'},
                                         {"at", required_argument, NULL, 'a'},
                                         {"report-data", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 't':
                a->tee = optarg;
                break;
            case 'e':
                a->evidence = optarg;
                break;
            case 'c':
                if (a->collateral_count == COLLATERAL_COUNT_MAX) {
                    return cli_usage_error("policy", "at most %d --collateral",
                                           COLLATERAL_COUNT_MAX);
                }
                a->collateral[a->collateral_count++] = optarg;
                break;
            case 'a':
                a->at = optarg;
                break;
            case 'r':
                a->report_data = optarg;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return -1;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return cli_usage_error("policy", "give exactly one policy file");
    }
    a->policy = argv[optind];
    return CLI_EXIT_OK;
}

static void print_decision(const struct veil_policy_decision *d)
{
    (void)printf("policy:\n");
    for (size_t i = 0; i < d->count; i++) {
        (void)printf("  %s %-18s %s\n", d->items[i].passed ? "PASS" : "FAIL", d->items[i].path,
                     d->items[i].text);
    }
    (void)printf("decision: %s\n", d->reason);
}

static int policy_test(const struct policy_args *a)
{
    struct veil_verify_opts opts = {0};
    struct veil_policy p;
    struct veil_policy_decision d;
    struct veil_claims claims;
    struct veil_report report;
    const struct veil_check *failed;
    enum veil_tee tee;
    uint8_t rd[64];
    size_t rd_size = 0;
    size_t ev_size = 0;
    const char *kind = "raw";
    veil_result vr = VEIL_RESULT_OK;
    int rc;

    if (a->tee == NULL || a->evidence == NULL) {
        return cli_usage_error("policy", "test needs --tee and --evidence");
    }
    if (!veil_tee_parse(a->tee, &tee)) {
        return cli_usage_error("policy", "--tee must be snp, tdx, sgx or sim (got '%s')", a->tee);
    }
    if (a->at != NULL && !cli_parse_time(a->at, &opts.at)) {
        return cli_usage_error("policy", "--at: '%s' is not an RFC 3339 time", a->at);
    }
    if (a->report_data != NULL && (!veil_ok(veil_hex_decode(a->report_data, strlen(a->report_data),
                                                            rd, sizeof(rd), &rd_size)) ||
                                   rd_size == 0)) {
        return cli_usage_error("policy", "--report-data: 1 to 64 bytes of hex expected");
    }
    opts.report_data = rd;
    opts.report_data_size = rd_size;
    rc = load_policy(a->policy, &p);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    veil_claims_init(&claims);
    veil_report_init(&report);
    veil_policy_decision_init(&d);
    rc = cli_evidence_verify("policy", tee, a->evidence, a->collateral, a->collateral_count, NULL,
                             &opts, &claims, &report, &vr, &ev_size, &kind);
    if (rc != CLI_EXIT_OK) {
        goto out;
    }
    failed = veil_report_first_failure(&report);
    (void)printf("evidence: %s, %zu bytes (%s): %s%s%s\n", a->evidence, ev_size, kind,
                 veil_ok(vr) ? "verified" : "NOT verified",
                 failed != NULL ? ", first failure: " : "", failed != NULL ? failed->id : "");
    if (failed != NULL) {
        (void)printf("  %s: %s\n", failed->id, failed->detail);
    }
    if (!veil_ok(veil_policy_evaluate(&p, &claims, &d))) {
        rc = cli_fail_err("policy", "evaluation", VEIL_ERR_NOMEM);
        goto out;
    }
    print_decision(&d);
    if (!veil_ok(vr)) {
        (void)printf("result: REFUSED: the evidence did not verify, whatever the policy says\n");
        rc = CLI_EXIT_FAIL;
    } else {
        (void)printf("result: %s\n", d.allow ? "released" : "REFUSED by the policy");
        rc = d.allow ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
out:
    veil_policy_decision_free(&d);
    veil_report_free(&report);
    veil_claims_free(&claims);
    veil_policy_free(&p);
    return rc;
}

int cmd_policy(int argc, char **argv)
{
    struct policy_args a = {0};
    struct veil_policy p;
    const char *verb = argc > 1 ? argv[1] : NULL;
    int rc;

    if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
        (void)fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (verb == NULL || (strcmp(verb, "check") != 0 && strcmp(verb, "test") != 0)) {
        return cli_usage_error("policy", "say check or test");
    }
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (strcmp(verb, "test") == 0) {
        return policy_test(&a);
    }
    rc = load_policy(a.policy, &p);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    (void)printf("%s: valid policy%s%s; %s\n", a.policy, p.name != NULL ? " " : "",
                 p.name != NULL ? p.name : "",
                 p.names_sim ? "it ADMITS the simulated TEE (development only)"
                             : "it refuses the simulated TEE");
    veil_policy_free(&p);
    return CLI_EXIT_OK;
}
