/* veil kbs: administration of a key broker's state directory (init, resources, policies,
 * audit). These act on the store directly, so they work whether or not veil-kbs is running
 * (SQLite WAL lets both in). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "kbs/cert.h"
#include "policy/policy.h"
#include "store/store.h"
#include <veil/veil.h>

#define DEFAULT_DIR       "/var/lib/veil-kbs"
#define RESOURCE_SIZE_MAX (1u << 20)

static const char usage[] =
    "usage: veil kbs init [--dir DIR] [--listen HOST:PORT] [--san SAN]\n"
    "       veil kbs ca init [--dir DIR]\n"
    "       veil kbs resource put [--dir DIR] REPO/TYPE/TAG FILE\n"
    "       veil kbs policy set [--dir DIR] REPO/TYPE/TAG|REPO/* POLICY.json\n"
    "       veil kbs audit show [--dir DIR] [--from SEQ]\n"
    "       veil kbs audit verify [--dir DIR]\n\n"
    "init           create DIR (default " DEFAULT_DIR
    "): the store (kbs.db), a key-encryption\n"
    "               key (kek, 0600), the token signing key (token.key, ECDSA P-256), a\n"
    "               self-signed TLS certificate (tls.pem, tls.key; SAN localhost and loopback\n"
    "               plus --san, e.g. DNS:kbs.example.com), collateral/ for extra trust anchors\n"
    "               (put the sim root.pem there to admit the simulated TEE), kbs.conf, and\n"
    "               the CA of /kbs/v0/cert (kbs-ca.pem, kbs-ca.key: docs/PROTOCOL.kbs-certs.md)\n"
    "ca init        add the CA of /kbs/v0/cert to a state directory made without one\n"
    "resource put   store a new version of a resource (e.g. a model key), encrypted at rest\n"
    "policy set     set the release policy (docs/POLICY.md) of a resource, or of a whole\n"
    "               repository with REPO/*; validated first, versioned\n"
    "audit show     print the audit log\n"
    "audit verify   recompute the hash chain: any edited, dropped or reordered record fails\n";

struct kbs_args {
    const char *dir;
    const char *listen;
    const char *san;
    long long from;
    int argc;
    char **argv;
};

static int parse(int argc, char **argv, struct kbs_args *a)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"listen", required_argument, NULL, 'l'},
        {"san", required_argument, NULL, 's'}, {"from", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    unsigned long v;
    int c;

    a->dir = DEFAULT_DIR;
    a->listen = "127.0.0.1:8443";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 'd':
                a->dir = optarg;
                break;
            case 'l':
                a->listen = optarg;
                break;
            case 's':
                a->san = optarg;
                break;
            case 'f':
                if (!cli_parse_uint(optarg, 1ul << 62, &v)) {
                    return cli_usage_error("kbs", "--from takes a sequence number");
                }
                a->from = (long long)v;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return -1;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    a->argc = argc - optind;
    a->argv = argv + optind;
    return CLI_EXIT_OK;
}

static int open_store(const struct kbs_args *a, struct veil_store **s)
{
    char db[4096];
    char kek[4096];
    veil_result r;

    if (!veil_path_join(db, sizeof(db), a->dir, "kbs.db") ||
        !veil_path_join(kek, sizeof(kek), a->dir, "kek")) {
        return cli_fail("kbs", "state directory path too long: %s", a->dir);
    }
    if (access(db, F_OK) != 0) {
        return cli_fail("kbs", "%s is not a key broker state directory (run veil kbs init)",
                        a->dir);
    }
    r = veil_store_open(db, kek, s);
    return veil_ok(r) ? CLI_EXIT_OK : cli_fail_err("kbs", db, r.code);
}

static veil_result write_key_pair(const char *dir, const char *base, EVP_PKEY *key)
{
    char path[4096];
    char name[64];
    struct veil_wr priv;
    struct veil_wr pub;
    veil_result r;

    veil_wr_init_secret(&priv, 16384);
    veil_wr_init(&pub, 16384);
    r = veil_sign_private_pem(key, &priv);
    if (veil_ok(r)) {
        r = veil_sign_public_pem(key, &pub);
    }
    (void)snprintf(name, sizeof(name), "%s.key", base);
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, name)) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, priv.data, priv.len, 0600, 0);
    }
    (void)snprintf(name, sizeof(name), "%s.pub", base);
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, name)) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, pub.data, pub.len, 0644, 0);
    }
    veil_wr_free(&priv);
    veil_wr_free(&pub);
    return r;
}

/* A self-signed P-256 certificate for the broker's TLS (clients pin tls.pem). */
static veil_result write_tls(const char *dir, const char *extra_san)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char san[1024];
    struct veil_x509_params p = {"veil-kbs", 60L * 60 * 24 * 365, false, san, true};
    X509 *cert = NULL;
    struct veil_wr priv;
    struct veil_wr pem;
    char path[4096];
    veil_result r;

    ENSURE(key != NULL, VEIL_ERR_INTERNAL_OSSL);
    (void)snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1%s%s",
                   extra_san != NULL ? "," : "", extra_san != NULL ? extra_san : "");
    veil_wr_init_secret(&priv, 16384);
    veil_wr_init(&pem, 16384);
    r = veil_x509_make(key, &p, NULL, key, &cert);
    if (veil_ok(r)) {
        r = veil_sign_private_pem(key, &priv);
    }
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, "tls.key")) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, priv.data, priv.len, 0600, 0);
    }
    if (veil_ok(r)) {
        r = veil_x509_pem(cert, &pem);
    }
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, "tls.pem")) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, pem.data, pem.len, 0644, 0);
    }
    veil_wr_free(&priv);
    veil_wr_free(&pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return r;
}

/* The certificate authority of /kbs/v0/cert (kbs-ca.pem, kbs-ca.key: ECDSA P-384, 10 years). */
static veil_result write_ca(const char *dir)
{
    struct veil_kbs_ca ca = {NULL, NULL};
    struct veil_wr priv;
    struct veil_wr pem;
    char path[4096];
    veil_result r;

    veil_wr_init_secret(&priv, 16384);
    veil_wr_init(&pem, 16384);
    r = veil_kbs_ca_create("veil-kbs CA", 60L * 60 * 24 * 3650, &ca);
    if (veil_ok(r)) {
        r = veil_sign_private_pem(ca.key, &priv);
    }
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, VEIL_KBS_CA_KEY_FILE)) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, priv.data, priv.len, 0600, 0);
    }
    if (veil_ok(r)) {
        r = veil_x509_pem(ca.cert, &pem);
    }
    if (veil_ok(r) && !veil_path_join(path, sizeof(path), dir, VEIL_KBS_CA_CERT_FILE)) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, pem.data, pem.len, 0644, 0);
    }
    veil_wr_free(&priv);
    veil_wr_free(&pem);
    veil_kbs_ca_free(&ca);
    return r;
}

static int kbs_init(const struct kbs_args *a)
{
    char path[4096];
    char abs[4096];
    char conf[8192];
    EVP_PKEY *token = NULL;
    struct veil_store *s = NULL;
    veil_result r;
    int n;

    if (mkdir(a->dir, 0700) != 0 && errno != EEXIST) {
        return cli_fail("kbs", "cannot create %s: %s", a->dir, strerror(errno));
    }
    if (!veil_path_join(path, sizeof(path), a->dir, "kbs.db")) {
        return cli_fail("kbs", "state directory path too long: %s", a->dir);
    }
    if (access(path, F_OK) == 0) {
        return cli_fail("kbs", "%s already holds a key broker; refusing to overwrite it", a->dir);
    }
    if (realpath(a->dir, abs) == NULL) {
        return cli_fail("kbs", "cannot resolve %s", a->dir);
    }
    if (strlen(abs) > 3000 || !veil_path_join(path, sizeof(path), abs, "kek")) {
        return cli_fail("kbs", "state directory path too long: %s", abs);
    }
    r = veil_store_kek_create(path);
    if (veil_ok(r)) {
        /* ES256, as Trustee's token brokers sign: half the broker's signing cost of P-384. */
        token = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        r = token != NULL ? VEIL_RESULT_OK : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (veil_ok(r)) {
        r = write_key_pair(abs, "token", token);
    }
    if (veil_ok(r)) {
        r = write_tls(abs, a->san);
    }
    if (veil_ok(r)) {
        r = write_ca(abs);
    }
    if (veil_ok(r)) {
        char db[4096];
        r = veil_path_join(db, sizeof(db), abs, "kbs.db") ? veil_store_open(db, path, &s)
                                                          : veil_result_of(VEIL_ERR_USAGE_LIMIT);
        veil_store_close(s);
    }
    EVP_PKEY_free(token);
    if (!veil_ok(r)) {
        return cli_fail_err("kbs", abs, r.code);
    }
    if (veil_path_join(path, sizeof(path), abs, "collateral")) {
        (void)mkdir(path, 0755);
    }
    n = snprintf(conf, sizeof(conf),
                 "# veil-kbs configuration (veil-kbs --print-config lists every setting)\n"
                 "state_dir = %s\nlisten = %s\n",
                 abs, a->listen);
    r = veil_path_join(path, sizeof(path), abs, "kbs.conf")
            ? veil_file_write_atomic(path, conf, (size_t)n, 0644, 0)
            : veil_result_of(VEIL_ERR_USAGE_LIMIT);
    if (!veil_ok(r)) {
        return cli_fail_err("kbs", path, r.code);
    }
    (void)printf(
        "initialised key broker state in %s\n  run: veil-kbs --config %s/kbs.conf\n"
        "  clients trust: %s/tls.pem\n"
        "  clients of servers with broker-issued certificates trust: %s/" VEIL_KBS_CA_CERT_FILE
        "\n",
        abs, abs, abs, abs);
    return CLI_EXIT_OK;
}

static int resource_put(const struct kbs_args *a)
{
    struct veil_store *s = NULL;
    struct veil_wr data;
    int64_t version = 0;
    veil_result r;
    int rc;

    if (a->argc != 4) {
        return cli_usage_error("kbs", "resource put REPO/TYPE/TAG FILE");
    }
    if (!veil_store_path_valid(a->argv[2])) {
        return cli_usage_error("kbs", "'%s' is not REPO/TYPE/TAG ([A-Za-z0-9._-])", a->argv[2]);
    }
    r = veil_file_read(a->argv[3], RESOURCE_SIZE_MAX, &data);
    if (!veil_ok(r)) {
        return cli_fail_err("kbs", a->argv[3], r.code);
    }
    data.secret = 1; /* wiped when released */
    rc = open_store(a, &s);
    if (rc == CLI_EXIT_OK) {
        r = veil_store_resource_put(s, a->argv[2], data.data, data.len, &version);
        rc = veil_ok(r) ? CLI_EXIT_OK : cli_fail_err("kbs", a->argv[2], r.code);
    }
    veil_wr_free(&data);
    veil_store_close(s);
    if (rc == CLI_EXIT_OK) {
        (void)printf("stored %s version %lld (encrypted under the KEK)\n", a->argv[2],
                     (long long)version);
    }
    return rc;
}

static int policy_set(const struct kbs_args *a)
{
    struct veil_store *s = NULL;
    struct veil_policy p;
    struct veil_wr json;
    char why[512];
    int64_t version = 0;
    veil_result r;
    int rc;

    if (a->argc != 4) {
        return cli_usage_error("kbs", "policy set TARGET POLICY.json");
    }
    r = veil_file_read(a->argv[3], VEIL_POLICY_SIZE_MAX + 1, &json);
    if (!veil_ok(r)) {
        return cli_fail_err("kbs", a->argv[3], r.code);
    }
    r = veil_policy_parse(json.data, json.len, &p, why, sizeof(why));
    if (!veil_ok(r)) {
        veil_wr_free(&json);
        return cli_fail("kbs", "%s: %s", a->argv[3], why);
    }
    rc = open_store(a, &s);
    if (rc == CLI_EXIT_OK) {
        r = veil_store_policy_set(s, a->argv[2], (const char *)json.data, json.len, &version);
        rc = veil_ok(r) ? CLI_EXIT_OK : cli_fail_err("kbs", a->argv[2], r.code);
    }
    if (rc == CLI_EXIT_OK) {
        (void)printf("policy for %s is now version %lld%s\n", a->argv[2], (long long)version,
                     p.names_sim ? " (WARNING: it admits the simulated TEE)" : "");
    }
    veil_policy_free(&p);
    veil_wr_free(&json);
    veil_store_close(s);
    return rc;
}

static void show_record(void *ctx, const struct veil_audit_record *rec)
{
    char when[32];
    char hash[65];
    time_t t = (time_t)rec->ev.time;
    struct tm tm;

    (void)ctx;
    (void)gmtime_r(&t, &tm);
    (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!veil_ok(veil_hex_encode(rec->hash, 8, hash, sizeof(hash)))) {
        hash[0] = '\0';
    }
    (void)printf(
        "%lld %s %-7s %-5s from=%s tee=%s resource=%s policy=%s@%lld measurement=%s "
        "chip=%.16s tcb=%s hash=%s\n    %s\n",
        (long long)rec->seq, when, rec->ev.kind, rec->ev.decision, rec->ev.requester, rec->ev.tee,
        rec->ev.resource, rec->ev.policy, (long long)rec->ev.policy_version, rec->ev.measurement,
        rec->ev.chip_id, rec->ev.tcb, hash, rec->ev.reasons);
}

static int audit(const struct kbs_args *a, bool verify)
{
    struct veil_store *s = NULL;
    int64_t count = 0;
    int64_t bad = 0;
    veil_result r;
    int rc = open_store(a, &s);

    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (verify) {
        r = veil_store_audit_verify(s, &count, &bad);
        if (veil_ok(r)) {
            (void)printf("audit log intact: %lld records, hash chain verified\n", (long long)count);
        } else {
            rc = cli_fail("kbs", "audit log BROKEN at record %lld (%lld checked): %s",
                          (long long)bad, (long long)count, veil_strerror(r.code));
        }
    } else {
        r = veil_store_audit_foreach(s, a->from, show_record, NULL);
        rc = veil_ok(r) ? CLI_EXIT_OK : cli_fail_err("kbs", "audit", r.code);
    }
    veil_store_close(s);
    return rc;
}

/* The CA alone, for a state directory made before veil kbs init made one. */
static int ca_init(const struct kbs_args *a)
{
    char db[4096];
    char cert[4096];
    char key[4096];
    veil_result r;

    if (!veil_path_join(db, sizeof(db), a->dir, "kbs.db") ||
        !veil_path_join(cert, sizeof(cert), a->dir, VEIL_KBS_CA_CERT_FILE) ||
        !veil_path_join(key, sizeof(key), a->dir, VEIL_KBS_CA_KEY_FILE)) {
        return cli_fail("kbs", "state directory path too long: %s", a->dir);
    }
    if (access(db, F_OK) != 0) {
        return cli_fail("kbs", "%s is not a key broker state directory (run veil kbs init)",
                        a->dir);
    }
    if (access(cert, F_OK) == 0 || access(key, F_OK) == 0) {
        return cli_fail("kbs", "%s already has a CA (%s); refusing to replace it", a->dir,
                        VEIL_KBS_CA_CERT_FILE);
    }
    r = write_ca(a->dir);
    if (!veil_ok(r)) {
        return cli_fail_err("kbs", cert, r.code);
    }
    (void)printf("made the certificate authority %s (restart veil-kbs to issue with it)\n", cert);
    return CLI_EXIT_OK;
}

int cmd_kbs(int argc, char **argv)
{
    struct kbs_args a = {0};
    int rc = parse(argc, argv, &a);

    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (a.argc >= 1 && strcmp(a.argv[0], "init") == 0 && a.argc == 1) {
        return kbs_init(&a);
    }
    if (a.argc == 2 && strcmp(a.argv[0], "ca") == 0 && strcmp(a.argv[1], "init") == 0) {
        return ca_init(&a);
    }
    if (a.argc >= 2 && strcmp(a.argv[0], "resource") == 0 && strcmp(a.argv[1], "put") == 0) {
        return resource_put(&a);
    }
    if (a.argc >= 2 && strcmp(a.argv[0], "policy") == 0 && strcmp(a.argv[1], "set") == 0) {
        return policy_set(&a);
    }
    if (a.argc == 2 && strcmp(a.argv[0], "audit") == 0 &&
        (strcmp(a.argv[1], "show") == 0 || strcmp(a.argv[1], "verify") == 0)) {
        return audit(&a, strcmp(a.argv[1], "verify") == 0);
    }
    return cli_usage_error(
        "kbs", "say init, ca init, resource put, policy set, audit show or audit verify");
}
