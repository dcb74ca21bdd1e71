/* veil sim: the simulated TEE platform (development and tests only: it proves nothing). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attest/sim.h"
#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil sim init --dir DIR [--tcb BOOTLOADER,TEE,SNP,MICROCODE]\n"
    "       veil sim attest --dir DIR --report-data HEX [--measure FILE]... [--host-data HEX]\n"
    "                       [--debug] [--vmpl N] [--svn N] -o EVIDENCE\n\n"
    "A software stand-in for an SEV-SNP platform, so that the key broker and the inference\n"
    "server run end to end without TEE hardware. Its evidence is tee \"sim\": no policy accepts\n"
    "it unless the policy names sim. Never use it to protect anything.\n\n"
    "  init     create DIR with a sim root (root.pem: give it to verifiers as collateral), a chip\n"
    "           key certified by it, and the TCB the platform reports (default 3,0,8,115)\n"
    "  attest   sign a report: --report-data (up to 64 bytes, hex, zero-padded), a measurement\n"
    "           (SHA-384 over the --measure files: the program and its configuration), host\n"
    "           data (32 bytes hex), debug policy bit, VMPL and guest SVN\n";

static bool parse_tcb(const char *s, struct veil_sim_tcb *t)
{
    unsigned long v[4];
    char buf[64];
    char *save = NULL;
    char *tok;
    size_t i = 0;

    if (strlen(s) >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, strlen(s) + 1);
    for (tok = strtok_r(buf, ",", &save); tok != NULL && i < 4; tok = strtok_r(NULL, ",", &save)) {
        if (!cli_parse_uint(tok, 255, &v[i++])) {
            return false;
        }
    }
    if (i != 4 || tok != NULL) {
        return false;
    }
    t->bootloader = (uint8_t)v[0];
    t->tee = (uint8_t)v[1];
    t->snp = (uint8_t)v[2];
    t->microcode = (uint8_t)v[3];
    return true;
}

static bool parse_hex_into(const char *s, uint8_t *out, size_t size)
{
    size_t n = 0;

    memset(out, 0, size);
    return veil_ok(veil_hex_decode(s, strlen(s), out, size, &n));
}

#define SIM_MEASURE_MAX 16

struct sim_args {
    const char *dir;
    const char *out;
    const char *report_data;
    const char *measure[SIM_MEASURE_MAX];
    size_t measure_count;
    struct veil_sim_tcb tcb;
    struct veil_sim_guest guest;
};

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"tcb", required_argument, NULL, 't'},
                                         {"report-data", required_argument, NULL, 'r'},
                                         {"measure", required_argument, NULL, 'm'},
                                         {"host-data", required_argument, NULL, 'H'},
                                         {"debug", no_argument, NULL, 'D'},
                                         {"vmpl", required_argument, NULL, 'v'},
                                         {"svn", required_argument, NULL, 's'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    unsigned long n;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
            case 'd':
                a->dir = optarg;
                break;
            case 't':
                if (!parse_tcb(optarg, &a->tcb)) {
                    return cli_usage_error("sim", "--tcb takes four numbers 0..255: B,T,S,M");
                }
                break;
            case 'r':
                a->report_data = optarg;
                break;
            case 'm':
                if (a->measure_count == SIM_MEASURE_MAX) {
                    return cli_usage_error("sim", "at most %d --measure files", SIM_MEASURE_MAX);
                }
                a->measure[a->measure_count++] = optarg;
                break;
            case 'H':
                if (!parse_hex_into(optarg, a->guest.host_data, sizeof(a->guest.host_data))) {
                    return cli_usage_error("sim", "--host-data takes up to 32 bytes of hex");
                }
                break;
            case 'D':
                a->guest.policy |= VEIL_SNP_POLICY_DEBUG;
                break;
            case 'v':
                if (!cli_parse_uint(optarg, 3, &n)) {
                    return cli_usage_error("sim", "--vmpl takes 0..3");
                }
                a->guest.vmpl = (uint32_t)n;
                break;
            case 's':
                if (!cli_parse_uint(optarg, UINT32_MAX, &n)) {
                    return cli_usage_error("sim", "--svn takes a 32-bit number");
                }
                a->guest.guest_svn = (uint32_t)n;
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
    if (a->dir == NULL) {
        return cli_usage_error("sim", "--dir is required");
    }
    return CLI_EXIT_OK;
}

static int sim_attest(struct sim_args *a)
{
    struct veil_sim_platform p;
    struct veil_wr ev;
    uint8_t rd[64];
    veil_result r;

    if (a->out == NULL || a->report_data == NULL) {
        return cli_usage_error("sim", "attest needs --report-data and -o");
    }
    if (!parse_hex_into(a->report_data, rd, sizeof(rd))) {
        return cli_usage_error("sim", "--report-data takes up to 64 bytes of hex");
    }
    if (a->measure_count > 0) {
        r = veil_sim_measure(a->measure, a->measure_count, a->guest.measurement);
        if (!veil_ok(r)) {
            return cli_fail_err("sim", "measuring", r.code);
        }
    }
    r = veil_sim_platform_load(a->dir, &p);
    if (!veil_ok(r)) {
        return cli_fail_err("sim", a->dir, r.code);
    }
    veil_wr_init(&ev, 8192);
    r = veil_sim_attest(&p, &a->guest, rd, &ev);
    if (veil_ok(r)) {
        r = veil_file_write_atomic(a->out, ev.data, ev.len, 0644, 1);
    }
    veil_wr_free(&ev);
    veil_sim_platform_free(&p);
    if (!veil_ok(r)) {
        return cli_fail_err("sim", a->out, r.code);
    }
    (void)printf("wrote simulated-TEE evidence %s\n", a->out);
    return CLI_EXIT_OK;
}

int cmd_sim(int argc, char **argv)
{
    struct sim_args a = {.tcb = {3, 0, 8, 115}};
    const char *verb = argc > 1 ? argv[1] : NULL;
    int rc;

    if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
        (void)fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (verb == NULL || (strcmp(verb, "init") != 0 && strcmp(verb, "attest") != 0)) {
        return cli_usage_error("sim", "say init or attest");
    }
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (strcmp(verb, "attest") == 0) {
        return sim_attest(&a);
    }
    veil_result r = veil_sim_platform_create(a.dir, &a.tcb);
    if (!veil_ok(r)) {
        return cli_fail_err("sim", a.dir, r.code);
    }
    (void)printf("created simulated TEE platform in %s (trust anchor: %s/root.pem)\n", a.dir,
                 a.dir);
    return CLI_EXIT_OK;
}
