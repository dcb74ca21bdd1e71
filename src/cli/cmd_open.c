/* veil open: verify and decrypt a sealed model. Output appears only once every byte verified. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/encoding.h"
#include "base/file.h"
#include "base/secret.h"
#include "cli.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil open --key MODEL.key --signer PROVIDER.pub IN.veil -o OUT\n"
    "                 [--name NAME] [--model-version V] [--model-id HEX] [--threads N]\n"
    "                 [--force] [--unsafe-stream]\n\n"
    "Verifies the provider signature, the model key and every chunk, then writes OUT. OUT is\n"
    "created only when everything verified (a temporary file beside it is renamed at the end);\n"
    "on any failure nothing is left behind.\n\n"
    "  --key FILE          the model key, mode 0600\n"
    "  --signer FILE       the provider's public key (PEM)\n"
    "  --name NAME         refuse unless the sealed model has this name\n"
    "  --model-version V   refuse unless it has this version\n"
    "  --model-id HEX      refuse unless it has this model id\n"
    "  --threads N         worker threads (default: every core)\n"
    "  -o, --out FILE      output file; '-' is stdout and needs --unsafe-stream\n"
    "  --force             replace OUT if it exists\n"
    "  --unsafe-stream     allow -o -: bytes are written before the whole file has verified,\n"
    "                      so the consumer must discard them unless veil exits 0\n";

struct open_args {
    const char *key;
    const char *signer;
    const char *out;
    const char *in;
    const char *model_id_hex;
    uint8_t model_id[VEIL_MODEL_ID_BYTES];
    int force;
    int unsafe_stream;
    struct veil_open_params params;
};

static int parse_args(int argc, char **argv, struct open_args *a)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"signer", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"model-version", required_argument, NULL, 'V'},
                                         {"model-id", required_argument, NULL, 'i'},
                                         {"threads", required_argument, NULL, 'j'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"unsafe-stream", no_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    unsigned long n;
    size_t len = 0;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
            case 'k':
                a->key = optarg;
                break;
            case 's':
                a->signer = optarg;
                break;
            case 'n':
                a->params.expect_name = optarg;
                break;
            case 'V':
                a->params.expect_model_version = optarg;
                break;
            case 'i':
                if (!veil_ok(veil_hex_decode(optarg, strlen(optarg), a->model_id,
                                             sizeof(a->model_id), &len)) ||
                    len != sizeof(a->model_id)) {
                    return cli_usage_error("open", "--model-id must be 64 hex digits");
                }
                a->params.expect_model_id = a->model_id;
                break;
            case 'j':
                if (!cli_parse_uint(optarg, 64, &n) || n == 0) {
                    return cli_usage_error("open", "--threads must be 1..64, not '%s'", optarg);
                }
                a->params.threads = (unsigned)n;
                break;
            case 'o':
                a->out = optarg;
                break;
            case 'f':
                a->force = 1;
                break;
            case 'u':
                a->unsafe_stream = 1;
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
        return cli_usage_error("open", "give exactly one sealed file");
    }
    a->in = argv[optind];
    if (a->key == NULL || a->signer == NULL || a->out == NULL) {
        return cli_usage_error("open", "--key, --signer and -o are required");
    }
    if (strcmp(a->out, "-") == 0 && !a->unsafe_stream) {
        (void)fprintf(stderr, "veil open: %s\n", veil_strerror(VEIL_ERR_USAGE_STREAM));
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int run_open(const struct open_args *a, const uint8_t *key, const struct veil_wr *pem,
                    struct cli_progress *progress)
{
    struct veil_open_params params = a->params;
    struct veil_model_info info;
    int in_fd = open(a->in, O_RDONLY | O_CLOEXEC);
    int rc;

    if (in_fd < 0) {
        return cli_fail_err("open", a->in, VEIL_ERR_IO_OPEN);
    }
    params.progress = cli_progress_update;
    params.progress_ctx = progress;
    if (strcmp(a->out, "-") == 0) {
        rc = veil_model_open_stream_unsafe(in_fd, STDOUT_FILENO, key, pem->data, pem->len, &params,
                                           &info);
    } else {
        rc =
            veil_model_open_file(in_fd, a->out, a->force, key, pem->data, pem->len, &params, &info);
    }
    cli_progress_finish(progress);
    (void)close(in_fd);
    if (rc != 0) {
        return cli_fail_err("open", a->in, rc);
    }
    if (strcmp(a->out, "-") != 0) {
        (void)printf("opened %s (%s %s, %llu bytes): signature, key and all %llu chunks verified\n",
                     a->out, info.name, info.model_version, info.plaintext_size, info.chunk_count);
    }
    return CLI_EXIT_OK;
}

int cmd_open(int argc, char **argv)
{
    struct open_args a = {0};
    struct veil_secret *key = NULL;
    struct cli_progress progress;
    struct veil_wr pem;
    veil_result r;
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    r = veil_file_read(a.signer, 16384, &pem);
    if (!veil_ok(r)) {
        return cli_fail_err("open", a.signer, r.code);
    }
    r = veil_file_read_secret(a.key, VEIL_MODEL_KEY_BYTES, &key);
    if (!veil_ok(r)) {
        veil_wr_free(&pem);
        return cli_fail_err("open", a.key, r.code);
    }
    cli_progress_init(&progress, "opening", 0);
    rc = run_open(&a, key->data, &pem, &progress);
    veil_secret_free(key);
    veil_wr_free(&pem);
    return rc;
}
