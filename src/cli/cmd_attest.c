/* veil attest fetch: the whole client side of the key broker protocol, for a TEE. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attest/sim.h"
#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include "kbs/client.h"
#include <veil/veil.h>

#define MEASURE_MAX 16

static const char usage[] =
    "usage: veil attest fetch --kbs URL --tee sim --sim-dir DIR --resource REPO/TYPE/TAG\n"
    "                         -o FILE [--cacert PEM] [--measure FILE]... [--host-data HEX]\n"
    "                         [--debug]\n\n"
    "Runs the key broker protocol as a TEE: auth, evidence that binds the broker's nonce and a\n"
    "fresh ephemeral key, attest, fetch the resource as a JWE to that key, decrypt it, and write\n"
    "it to FILE (mode 0600). Hardware attesters (SEV-SNP, TDX) are not in this build; --tee sim\n"
    "uses the simulated platform in --sim-dir, measuring the --measure files (the program and\n"
    "its configuration).\n\n"
    "  --kbs URL        https://host:port of veil-kbs\n"
    "  --cacert PEM     the broker's TLS certificate or CA (default: the system store)\n"
    "  --debug          attest as a guest with the debug policy bit set (for tests)\n";

struct attest_args {
    const char *kbs;
    const char *cacert;
    const char *tee;
    const char *sim_dir;
    const char *resource;
    const char *out;
    const char *measure[MEASURE_MAX];
    size_t measure_count;
    const char *host_data;
    bool debug;
};

static int parse_args(int argc, char **argv, struct attest_args *a)
{
    static const struct option opts[] = {{"kbs", required_argument, NULL, 'k'},
                                         {"cacert", required_argument, NULL, 'c'},
                                         {"tee", required_argument, NULL, 't'},
                                         {"sim-dir", required_argument, NULL, 's'},
                                         {"resource", required_argument, NULL, 'r'},
                                         {"measure", required_argument, NULL, 'm'},
                                         {"host-data", required_argument, NULL, 'H'},
                                         {"debug", no_argument, NULL, 'D'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
            case 'k':
                a->kbs = optarg;
                break;
            case 'c':
                a->cacert = optarg;
                break;
            case 't':
                a->tee = optarg;
                break;
            case 's':
                a->sim_dir = optarg;
                break;
            case 'r':
                a->resource = optarg;
                break;
            case 'm':
                if (a->measure_count == MEASURE_MAX) {
                    return cli_usage_error("attest", "at most %d --measure files", MEASURE_MAX);
                }
                a->measure[a->measure_count++] = optarg;
                break;
            case 'H':
                a->host_data = optarg;
                break;
            case 'D':
                a->debug = true;
                break;
            case 'o':
                a->out = optarg;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return -1;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        return cli_usage_error("attest", "unexpected argument '%s'", argv[optind]);
    }
    if (a->kbs == NULL || a->tee == NULL || a->resource == NULL || a->out == NULL) {
        return cli_usage_error("attest", "--kbs, --tee, --resource and -o are required");
    }
    if (strcmp(a->tee, "sim") != 0) {
        return cli_usage_error("attest",
                               "only --tee sim can attest in this build (no hardware "
                               "attester yet)");
    }
    if (a->sim_dir == NULL) {
        return cli_usage_error("attest", "--tee sim needs --sim-dir");
    }
    return CLI_EXIT_OK;
}

static int fetch(const struct attest_args *a)
{
    struct {
        struct veil_sim_platform platform;
        struct veil_sim_guest guest;
    } sim;
    struct veil_sim_attester_ctx ctx = {&sim.platform, &sim.guest};
    struct veil_kbs_client_opts o = {a->kbs, a->cacert, VEIL_TEE_SIM, veil_sim_attester, &ctx, 30};
    struct veil_wr secret;
    char why[1024] = "";
    size_t n = 0;
    veil_result r;

    memset(&sim, 0, sizeof(sim));
    if (a->debug) {
        sim.guest.policy |= VEIL_SNP_POLICY_DEBUG;
    }
    if (a->host_data != NULL &&
        !veil_ok(veil_hex_decode(a->host_data, strlen(a->host_data), sim.guest.host_data,
                                 sizeof(sim.guest.host_data), &n))) {
        return cli_usage_error("attest", "--host-data takes up to 32 bytes of hex");
    }
    if (a->measure_count > 0) {
        r = veil_sim_measure(a->measure, a->measure_count, sim.guest.measurement);
        if (!veil_ok(r)) {
            return cli_fail_err("attest", "measuring", r.code);
        }
    }
    r = veil_sim_platform_load(a->sim_dir, &sim.platform);
    if (!veil_ok(r)) {
        return cli_fail_err("attest", a->sim_dir, r.code);
    }
    veil_wr_init_secret(&secret, 1u << 20);
    r = veil_kbs_fetch(&o, a->resource, &secret, why, sizeof(why));
    if (veil_ok(r)) {
        r = veil_file_write_atomic(a->out, secret.data, secret.len, 0600, 1);
        if (!veil_ok(r)) {
            (void)snprintf(why, sizeof(why), "%s: %s", a->out, veil_strerror(r.code));
        }
    }
    veil_wr_free(&secret);
    veil_sim_platform_free(&sim.platform);
    if (!veil_ok(r)) {
        return cli_fail("attest", "%s", why);
    }
    (void)printf("fetched %s (attested as sim) -> %s\n", a->resource, a->out);
    return CLI_EXIT_OK;
}

int cmd_attest(int argc, char **argv)
{
    struct attest_args a = {0};
    const char *verb = argc > 1 ? argv[1] : NULL;
    int rc;

    if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
        (void)fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (verb == NULL || strcmp(verb, "fetch") != 0) {
        return cli_usage_error("attest", "say fetch");
    }
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    return fetch(&a);
}
