/* veil: the command line (after WireGuard's wg.c: the whole CLI on one screen). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include <veil/veil.h>

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    (void)printf("veil %s\n", veil_version());
    return CLI_EXIT_OK;
}

static const struct veil_cmd commands[] = {
    {"keygen", "create a model key or a provider signing key", cmd_keygen},
    {"seal", "encrypt and sign a model into a .veil file", cmd_seal},
    {"open", "verify and decrypt a .veil file", cmd_open},
    {"inspect", "show a .veil file's header and manifest as JSON (no key needed)", cmd_inspect},
    {"evidence", "verify attestation evidence (SEV-SNP, TDX, SGX, sim)", cmd_evidence},
    {"kbs", "administer a key broker (init, resource put, policy set, audit)", cmd_kbs},
    {"attest", "run the key broker protocol as a TEE (fetch)", cmd_attest},
    {"policy", "validate a release policy, or test it offline over evidence", cmd_policy},
    {"infer", "run inference on an attested server (TLS verified against a policy)", cmd_infer},
    {"tensor", "client-side pre/post-processing: image to request, CTC decode of a response",
     cmd_tensor},
    {"sim", "a simulated TEE platform for development (init, attest)", cmd_sim},
    {"onnx", "check, run and benchmark ONNX models with the built-in engine", cmd_onnx},
    {"version", "print the version", cmd_version},
};

static void show_usage(FILE *f)
{
    (void)fprintf(f,
                  "usage: veil <command> [options]\n"
                  "       veil <command> --help\n\n"
                  "veil seals models for confidential deployment (libveil %s).\n\n"
                  "commands:\n",
                  veil_version());
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        (void)fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    (void)fprintf(f, "\nexit status: 0 success, 1 failure (verification, I/O), 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        show_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        show_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    (void)fprintf(stderr, "veil: unknown command '%s' (see veil --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
