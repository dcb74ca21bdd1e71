/* veil evidence verify: attestation evidence in, claims and the per-check report out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include "verify/fetch.h"
#include "verify/verify.h"
#include <veil/veil.h>

#define EVIDENCE_SIZE_MAX    (1u << 20)
#define REPORT_DATA_MAX      64
#define COLLATERAL_COUNT_MAX 64

static const char usage[] =
    "usage: veil evidence verify --tee snp|tdx|sgx|sim --evidence FILE [--collateral PATH]...\n"
    "                            [--at RFC3339] [--report-data HEX] [--min-tcb-eval N] [--json]\n"
    "                            [--fetch [--cache DIR] [--kds-url URL] [--pcs-url URL]]\n"
    "\n"
    "Verifies attestation evidence and prints the claims it establishes and every check, with\n"
    "what to do about each failure.\n"
    "\n"
    "  --tee T             the evidence type: snp (AMD SEV-SNP report), tdx, sgx (Intel quotes),\n"
    "                      sim (the simulated TEE of veil sim: development only)\n"
    "  --evidence FILE     the evidence: raw bytes, hex or base64 (recognized by content); for\n"
    "                      snp, a 1184-byte report, optionally followed by its certificate table\n"
    "  --collateral PATH   a certificate/CRL/JSON file or a directory of them (repeatable):\n"
    "                      VCEK or VLEK, ASK/ASVK (+ ARK, which must be AMD's), CRLs; PCK\n"
    "                      chains, TCB info and QE identity JSON as Intel PCS serves them;\n"
    "                      for sim, the sim root.pem\n"
    "  --at TIME           judge certificate validity at TIME (2025-06-01T00:00:00Z or\n"
    "                      2025-06-01); default now\n"
    "  --report-data HEX   expected report_data (a prefix of at most 64 bytes)\n"
    "  --min-tcb-eval N    tdx, sgx: refuse TCB info and QE identity whose\n"
    "                      tcbEvaluationDataNumber is below N (collateral older than a TCB\n"
    "                      recovery); default: any\n"
    "  --json              print one JSON object instead of text\n"
    "  --fetch             also fetch what the evidence needs online: the VCEK and AMD chain\n"
    "                      from AMD KDS (snp), TCB info, QE identity and CRLs from Intel PCS\n"
    "                      (tdx, sgx); fetched collateral is verified like any other\n"
    "  --cache DIR         keep fetched collateral in DIR (CRLs and TCB data for a day)\n"
    "  --kds-url, --pcs-url, --intel-certs-url, --fetch-cacert   other servers (mirrors, tests)\n"
    "\n"
    "exit status: 0 every check passed, 1 verification failed, 2 usage error\n";

struct evidence_args {
    const char *tee;
    const char *evidence;
    const char *collateral[COLLATERAL_COUNT_MAX];
    size_t collateral_count;
    const char *at;
    const char *report_data;
    const char *min_tcb_eval;
    bool json;
    bool fetching;
    struct veil_fetch fetch;
};

static int parse_args(int argc, char **argv, struct evidence_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (strcmp(opt, "--fetch") == 0) {
            a->fetching = true;
            continue;
        }
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            (void)fputs(usage, stdout);
            return -1;
        }
        if (val == NULL) {
            return cli_usage_error("evidence", "%s: missing value or unknown option", opt);
        }
        if (strcmp(opt, "--tee") == 0) {
            a->tee = val;
        } else if (strcmp(opt, "--evidence") == 0) {
            a->evidence = val;
        } else if (strcmp(opt, "--collateral") == 0) {
            if (a->collateral_count == COLLATERAL_COUNT_MAX) {
                return cli_usage_error("evidence", "at most %d --collateral paths",
                                       COLLATERAL_COUNT_MAX);
            }
            a->collateral[a->collateral_count++] = val;
        } else if (strcmp(opt, "--at") == 0) {
            a->at = val;
        } else if (strcmp(opt, "--report-data") == 0) {
            a->report_data = val;
        } else if (strcmp(opt, "--min-tcb-eval") == 0) {
            a->min_tcb_eval = val;
        } else if (strcmp(opt, "--cache") == 0) {
            a->fetch.cache_dir = val;
        } else if (strcmp(opt, "--kds-url") == 0) {
            a->fetch.amd_kds = val;
        } else if (strcmp(opt, "--pcs-url") == 0) {
            a->fetch.intel_pcs = val;
        } else if (strcmp(opt, "--intel-certs-url") == 0) {
            a->fetch.intel_certs = val;
        } else if (strcmp(opt, "--fetch-cacert") == 0) {
            a->fetch.cacert = val;
        } else {
            return cli_usage_error("evidence", "unknown option %s", opt);
        }
        i++;
    }
    if (a->tee == NULL || a->evidence == NULL) {
        return cli_usage_error("evidence", "--tee and --evidence are required");
    }
    return 0;
}

static int print_result(enum veil_tee tee, const struct veil_claims *claims,
                        const struct veil_report *report, bool json)
{
    if (json) {
        json_t *j = veil_verify_render_json(tee, claims, report);
        int rc = j != NULL ? json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
        json_decref(j);
        if (rc != 0) {
            return cli_fail("evidence", "cannot render JSON");
        }
        (void)fputc('\n', stdout);
    } else {
        struct veil_wr w;
        const char *text = NULL;
        veil_result r = veil_verify_render_text(claims, report, &w);
        if (veil_ok(r)) {
            r = veil_wr_cstr(&w, &text);
        }
        if (veil_ok(r)) {
            (void)fputs(text, stdout);
        }
        veil_wr_free(&w);
        if (!veil_ok(r)) {
            return cli_fail_err("evidence", "rendering", veil_result_to_int(r));
        }
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int run_verify(const struct evidence_args *a)
{
    enum veil_tee tee;
    struct veil_verify_opts opts;
    struct veil_claims claims;
    struct veil_report report;
    uint8_t rd[REPORT_DATA_MAX];
    size_t rd_size = 0;
    size_t ev_size = 0;
    const char *kind = "raw";
    veil_result r = VEIL_RESULT_OK;
    int rc = CLI_EXIT_FAIL;

    memset(&opts, 0, sizeof(opts));
    if (!veil_tee_parse(a->tee, &tee)) {
        return cli_usage_error("evidence", "--tee must be snp, tdx, sgx or sim (got '%s')", a->tee);
    }
    if (a->at != NULL && !cli_parse_time(a->at, &opts.at)) {
        return cli_usage_error("evidence", "--at: '%s' is not an RFC 3339 time", a->at);
    }
    if (a->report_data != NULL && (!veil_ok(veil_hex_decode(a->report_data, strlen(a->report_data),
                                                            rd, sizeof(rd), &rd_size)) ||
                                   rd_size == 0)) {
        return cli_usage_error("evidence", "--report-data: 1 to 64 bytes of hex expected");
    }
    opts.report_data = rd;
    opts.report_data_size = rd_size;
    if (a->min_tcb_eval != NULL) {
        unsigned long n = 0;
        if (!cli_parse_uint(a->min_tcb_eval, INT32_MAX, &n) || n == 0) {
            return cli_usage_error("evidence", "--min-tcb-eval: a number from 1 to %d expected",
                                   INT32_MAX);
        }
        opts.min_tcb_eval_number = (int64_t)n;
    }
    veil_claims_init(&claims);
    veil_report_init(&report);
    rc = cli_evidence_verify("evidence", tee, a->evidence, a->collateral, a->collateral_count,
                             a->fetching ? &a->fetch : NULL, &opts, &claims, &report, &r, &ev_size,
                             &kind);
    if (rc != CLI_EXIT_OK) {
        goto out_free;
    }
    if (!a->json) {
        (void)printf("evidence: %s, %zu bytes (%s)\n", a->evidence, ev_size, kind);
    }
    rc = print_result(tee, &claims, &report, a->json);
    if (rc == CLI_EXIT_OK && !veil_ok(r)) {
        rc = VEIL_ERR_CATEGORY(r.code) == VEIL_ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        if (rc == CLI_EXIT_USAGE || VEIL_ERR_CATEGORY(r.code) != VEIL_ERR_ATTEST) {
            (void)cli_fail_err("evidence", "verification", veil_result_to_int(r));
        }
    }
out_free:
    veil_report_free(&report);
    veil_claims_free(&claims);
    return rc;
}

int cmd_evidence(int argc, char **argv)
{
    struct evidence_args a;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        (void)fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") != 0) {
        return cli_usage_error("evidence", "unknown subcommand '%s'", argv[1]);
    }
    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    return run_verify(&a);
}
