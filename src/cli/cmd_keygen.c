/* veil keygen model|signer: fresh keys, written with mode 0600 and never over an existing file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/secret.h"
#include "cli.h"
#include "crypto/crypto.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil keygen model -o FILE [--force]\n"
    "       veil keygen signer -o FILE [--alg ed25519|p384] [--force]\n\n"
    "  model    a fresh 256-bit model key (32 raw bytes), mode 0600\n"
    "  signer   a provider signing key: FILE (PEM PKCS#8, mode 0600) and its public key\n"
    "           next to it (FILE with .key replaced by .pub, or FILE.pub), PEM\n\n"
    "  -o, --out FILE   where to write (refuses to overwrite unless --force)\n"
    "  --alg ALG        ed25519 (default) or p384 (ECDSA P-384 with SHA-384)\n"
    "  --force          replace existing files\n";

static int keygen_model(const char *out, int force)
{
    struct veil_secret *key = NULL;
    veil_result r = veil_secret_new(VEIL_MODEL_KEY_BYTES, &key);

    if (veil_ok(r)) {
        r = RAND_bytes(key->data, (int)key->size) == 1 ? VEIL_RESULT_OK
                                                       : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(out, key->data, key->size, 0600, force);
    }
    veil_secret_free(key);
    if (!veil_ok(r)) {
        return cli_fail_err("keygen", out, r.code);
    }
    (void)printf("wrote model key %s (256 bits, mode 0600)\n", out);
    return CLI_EXIT_OK;
}

/* provider.key -> provider.pub; anything else -> FILE.pub */
static void pub_path(const char *out, char *buf, size_t size)
{
    size_t n = strlen(out);

    if (n > 4 && strcmp(out + n - 4, ".key") == 0) {
        (void)snprintf(buf, size, "%.*s.pub", (int)(n - 4), out);
    } else {
        (void)snprintf(buf, size, "%s.pub", out);
    }
}

static int keygen_signer(const char *out, const char *alg_name, int force)
{
    enum veil_sig_alg alg;
    EVP_PKEY *key = NULL;
    struct veil_wr priv;
    struct veil_wr pub;
    char pub_file[4096];
    veil_result r;

    if (strcmp(alg_name, "ed25519") == 0) {
        alg = VEIL_SIG_ED25519;
    } else if (strcmp(alg_name, "p384") == 0 || strcmp(alg_name, "ecdsa-p384") == 0) {
        alg = VEIL_SIG_ECDSA_P384;
    } else {
        return cli_usage_error("keygen", "unknown --alg '%s' (ed25519 or p384)", alg_name);
    }
    pub_path(out, pub_file, sizeof(pub_file));
    veil_wr_init_secret(&priv, 16384);
    veil_wr_init(&pub, 16384);
    r = veil_sign_keygen(alg, &key);
    if (veil_ok(r)) {
        r = veil_sign_private_pem(key, &priv);
    }
    if (veil_ok(r)) {
        r = veil_sign_public_pem(key, &pub);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(out, priv.data, priv.len, 0600, force);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(pub_file, pub.data, pub.len, 0644, force);
    }
    EVP_PKEY_free(key);
    veil_wr_free(&priv);
    veil_wr_free(&pub);
    if (!veil_ok(r)) {
        return cli_fail_err("keygen", out, r.code);
    }
    (void)printf("wrote %s signing key %s (mode 0600) and public key %s\n", veil_sig_alg_name(alg),
                 out, pub_file);
    return CLI_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"alg", required_argument, NULL, 'a'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    const char *alg = "ed25519";
    int force = 0;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
            case 'o':
                out = optarg;
                break;
            case 'a':
                alg = optarg;
                break;
            case 'f':
                force = 1;
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
        return cli_usage_error("keygen", "say what to generate: model or signer");
    }
    if (out == NULL) {
        return cli_usage_error("keygen", "-o FILE is required");
    }
    if (strcmp(argv[optind], "model") == 0) {
        return keygen_model(out, force);
    }
    if (strcmp(argv[optind], "signer") == 0) {
        return keygen_signer(out, alg, force);
    }
    return cli_usage_error("keygen", "unknown key kind '%s' (model or signer)", argv[optind]);
}
