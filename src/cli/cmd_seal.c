/* veil seal: encrypt and sign a model. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/encoding.h"
#include "base/file.h"
#include "base/secret.h"
#include "cli.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil seal --key MODEL.key --sign PROVIDER.key --name NAME --model-version V\n"
    "                 [--content-type TYPE] [--chunk-size SIZE] [--threads N] IN -o OUT.veil\n\n"
    "Encrypts IN under the model key (AES-256-GCM, chunked) and signs its manifest with the\n"
    "provider key. Prints the model id: the SHA-256 of the signed manifest, which policies,\n"
    "logs and clients use to name this model.\n\n"
    "  --key FILE            256-bit model key (veil keygen model), mode 0600\n"
    "  --sign FILE           provider signing key (veil keygen signer), mode 0600\n"
    "  --name NAME           model name (printable ASCII, up to 255 bytes)\n"
    "  --model-version V     model version (printable ASCII, up to 255 bytes)\n"
    "  --content-type TYPE   what the plaintext is (default: onnx)\n"
    "  --chunk-size SIZE     plaintext bytes per chunk, 1K..64M (default: 1M)\n"
    "  --threads N           worker threads (default: every core)\n"
    "  -o, --out FILE        output; must not exist\n";

struct seal_args {
    const char *key;
    const char *sign;
    const char *out;
    const char *in;
    struct veil_seal_params params;
};

static int parse_args(int argc, char **argv, struct seal_args *a)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"sign", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"model-version", required_argument, NULL, 'V'},
                                         {"content-type", required_argument, NULL, 't'},
                                         {"chunk-size", required_argument, NULL, 'c'},
                                         {"threads", required_argument, NULL, 'j'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    unsigned long n;
    size_t size;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
            case 'k':
                a->key = optarg;
                break;
            case 's':
                a->sign = optarg;
                break;
            case 'n':
                a->params.name = optarg;
                break;
            case 'V':
                a->params.model_version = optarg;
                break;
            case 't':
                a->params.content_type = optarg;
                break;
            case 'c':
                if (!cli_parse_size(optarg, &size) || size < 1024 || size > (64u << 20)) {
                    return cli_usage_error("seal", "--chunk-size must be 1K..64M, not '%s'",
                                           optarg);
                }
                a->params.chunk_size = (unsigned)size;
                break;
            case 'j':
                if (!cli_parse_uint(optarg, 64, &n) || n == 0) {
                    return cli_usage_error("seal", "--threads must be 1..64, not '%s'", optarg);
                }
                a->params.threads = (unsigned)n;
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
    if (optind + 1 != argc) {
        return cli_usage_error("seal", "give exactly one input file");
    }
    a->in = argv[optind];
    if (a->key == NULL || a->sign == NULL || a->out == NULL || a->params.name == NULL ||
        a->params.model_version == NULL) {
        return cli_usage_error("seal",
                               "--key, --sign, --name, --model-version and -o are required");
    }
    return CLI_EXIT_OK;
}

int cmd_seal(int argc, char **argv)
{
    struct seal_args a = {0};
    struct veil_secret *key = NULL;
    struct veil_model_info info;
    struct cli_progress progress;
    char id[65];
    veil_result r;
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    r = veil_file_read_secret(a.key, VEIL_MODEL_KEY_BYTES, &key);
    if (!veil_ok(r)) {
        return cli_fail_err("seal", a.key, r.code);
    }
    cli_progress_init(&progress, "sealing", 0);
    a.params.progress = cli_progress_update;
    a.params.progress_ctx = &progress;
    rc = veil_model_seal_file(a.in, a.out, key->data, a.sign, &a.params, &info);
    cli_progress_finish(&progress);
    veil_secret_free(key);
    if (rc != 0) {
        return cli_fail_err("seal", a.in, rc);
    }
    if (!veil_ok(veil_hex_encode(info.model_id, sizeof(info.model_id), id, sizeof(id)))) {
        id[0] = '\0';
    }
    (void)printf("sealed %s -> %s\n", a.in, a.out);
    (void)printf("  name %s, version %s, %s, %llu bytes in %llu chunks of %u\n", info.name,
                 info.model_version, info.content_type, info.plaintext_size, info.chunk_count,
                 info.chunk_size);
    (void)printf("model id: %s\n", id);
    return CLI_EXIT_OK;
}
