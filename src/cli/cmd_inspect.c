/* veil inspect: a sealed file's header and manifest as JSON; no key needed. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil inspect IN.veil [--signer PROVIDER.pub]\n\n"
    "Prints the header and manifest of a sealed model as JSON. With --signer, also verifies\n"
    "the provider signature over the manifest (exit 1 if it does not verify). Chunks are not\n"
    "read: only 'veil open' proves that the content is intact.\n";

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char buf[129];

    if (n * 2 + 1 > sizeof(buf) || !veil_ok(veil_hex_encode(b, n, buf, sizeof(buf)))) {
        return json_null();
    }
    return json_string(buf);
}

static json_t *info_json(const struct veil_model_info *info, const char *sig_status)
{
    json_t *o = json_object();

    (void)json_object_set_new(o, "format_version", json_integer(info->format_version));
    (void)json_object_set_new(o, "model_id", hex_json(info->model_id, sizeof(info->model_id)));
    (void)json_object_set_new(o, "name", json_string(info->name));
    (void)json_object_set_new(o, "model_version", json_string(info->model_version));
    (void)json_object_set_new(o, "content_type", json_string(info->content_type));
    (void)json_object_set_new(o, "plaintext_size", json_integer((json_int_t)info->plaintext_size));
    (void)json_object_set_new(o, "sealed_size", json_integer((json_int_t)info->sealed_size));
    (void)json_object_set_new(o, "chunk_size", json_integer(info->chunk_size));
    (void)json_object_set_new(o, "chunk_count", json_integer((json_int_t)info->chunk_count));
    (void)json_object_set_new(o, "cipher", json_string("aes-256-gcm, hkdf-sha256, sha256"));
    (void)json_object_set_new(o, "signature_algorithm", json_string(info->sig_alg));
    (void)json_object_set_new(o, "signer_key_id",
                              hex_json(info->signer_key_id, sizeof(info->signer_key_id)));
    (void)json_object_set_new(o, "chunk_root",
                              hex_json(info->chunk_root, sizeof(info->chunk_root)));
    (void)json_object_set_new(o, "salt", hex_json(info->salt, sizeof(info->salt)));
    (void)json_object_set_new(o, "key_commitment",
                              hex_json(info->key_commitment, sizeof(info->key_commitment)));
    (void)json_object_set_new(o, "header_size", json_integer((json_int_t)info->header_size));
    (void)json_object_set_new(o, "signature", json_string(sig_status));
    return o;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"signer", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *signer = NULL;
    struct veil_model_info info;
    struct veil_wr pem = {0};
    const char *status = "not checked (give --signer)";
    json_t *o;
    char *text;
    int fd;
    int rc;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 's':
                signer = optarg;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return CLI_EXIT_OK;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return cli_usage_error("inspect", "give exactly one sealed file");
    }
    if (signer != NULL) {
        veil_result r = veil_file_read(signer, 16384, &pem);
        if (!veil_ok(r)) {
            return cli_fail_err("inspect", signer, r.code);
        }
    }
    fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        veil_wr_free(&pem);
        return cli_fail_err("inspect", argv[optind], VEIL_ERR_IO_OPEN);
    }
    rc = veil_model_inspect_fd(fd, signer != NULL ? pem.data : NULL, pem.len, &info);
    (void)close(fd);
    veil_wr_free(&pem);
    if (rc != 0 && rc != -VEIL_ERR_MODEL_SIGNER && rc != -VEIL_ERR_MODEL_SIGNATURE) {
        return cli_fail_err("inspect", argv[optind], rc);
    }
    if (signer != NULL) {
        status = rc == 0 ? "verified" : veil_strerror(rc);
    }
    o = info_json(&info, status);
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text == NULL) {
        return cli_fail_err("inspect", argv[optind], VEIL_ERR_NOMEM);
    }
    (void)printf("%s\n", text);
    free(text);
    if (rc != 0) {
        return cli_fail_err("inspect", argv[optind], rc);
    }
    return CLI_EXIT_OK;
}
