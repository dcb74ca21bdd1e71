/*
 * veil-kbs --config FILE: the key broker daemon. Start-up: configuration (unknown settings and
 * out-of-range values are fatal), process hardening, the state directory (store, KEK, token key,
 * TLS certificate, collateral), a warning for every policy that admits the simulated TEE, then
 * the HTTP(S) workers. SIGTERM or SIGINT stops it gracefully.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "jose/jose.h"
#include "kbs.h"
#include "policy/policy.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil-kbs --config FILE      run the key broker\n"
    "       veil-kbs --check --config FILE  validate the configuration and state, then exit\n"
    "       veil-kbs --print-config      print a sample configuration with every setting\n\n"
    "The key broker releases resources (model keys) to TEEs whose hardware evidence verifies\n"
    "and satisfies the resource's release policy (docs/PROTOCOL.kbs.md). Create the state\n"
    "directory with 'veil kbs init'.\n";

/* clang-format off */
static const struct veil_http_route routes[] = {
    {"/kbs/v0/auth", kbs_handle_auth},
    {"/kbs/v0/attest", kbs_handle_attest},
    {"/kbs/v0/resource/", kbs_handle_resource},
    {"/metrics", kbs_handle_metrics},
    {"/kbs/v0/cert", kbs_handle_cert}, /* docs/PROTOCOL.kbs-certs.md */
};
/* clang-format on */

static void warn_sim(void *ctx, const char *target, int64_t version, const char *json, size_t n)
{
    struct veil_policy p;
    char why[256];

    (void)ctx;
    if (veil_ok(veil_policy_parse((const uint8_t *)json, n, &p, why, sizeof(why)))) {
        if (p.names_sim) {
            veil_log(VEIL_LOG_WARN,
                     "policy for %s (version %lld) ADMITS THE SIMULATED TEE: its releases prove "
                     "nothing about hardware; use it for development only",
                     target, (long long)version);
        }
        veil_policy_free(&p);
    } else {
        veil_log(VEIL_LOG_WARN, "policy for %s does not parse: %s", target, why);
    }
}

static int fail(const char *what, veil_result r)
{
    (void)fprintf(stderr, "veil-kbs: %s: %s\n", what, veil_strerror(r.code));
    return 1;
}

static int open_state(struct kbs *k)
{
    const char *dir = veil_conf_str(&k->conf, "state_dir");
    char path[4096];
    char kek[4096];
    veil_result r;

    (void)snprintf(path, sizeof(path), "%s/kbs.db", dir);
    (void)snprintf(kek, sizeof(kek), "%s/kek", dir);
    r = veil_store_open(path, kek, &k->store);
    if (!veil_ok(r)) {
        return fail(path, r);
    }
    r = veil_store_audit_set_commit_delay(
        k->store, (uint32_t)veil_conf_int(&k->conf, "audit_commit_delay_us"));
    if (!veil_ok(r)) {
        return fail("audit_commit_delay_us", r);
    }
    (void)snprintf(path, sizeof(path), "%s/token.key", dir);
    r = veil_jws_key_load(path, &k->token_key);
    if (!veil_ok(r)) {
        return fail(path, r);
    }
    /* Trust anchors beyond the built-in vendor roots (the sim root, extra collateral). */
    veil_collateral_init(&k->collateral);
    r = veil_kbs_sessions_new((size_t)veil_conf_int(&k->conf, "sessions_max"), &k->sessions);
    if (!veil_ok(r)) {
        return fail("sessions", r);
    }
    r = veil_sim_cache_new(&k->sim_cache);
    if (!veil_ok(r)) {
        return fail("sim verifier cache", r);
    }
    (void)snprintf(path, sizeof(path), "%s/collateral", dir);
    if (access(path, F_OK) == 0) {
        r = veil_collateral_add_path(&k->collateral, path);
        if (!veil_ok(r)) {
            return fail(path, r);
        }
    }
    r = veil_store_policy_foreach(k->store, warn_sim, NULL);
    if (!veil_ok(r)) {
        return fail("reading policies", r);
    }
    return kbs_cert_load(k, dir);
}

static int configure(struct kbs *k, const char *config_path)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    char why[512];
    veil_result r = veil_conf_init(&k->conf, kbs_conf_items, kbs_conf_count);

    if (!veil_ok(r) || !veil_ok(veil_conf_load(&k->conf, config_path, why, sizeof(why)))) {
        (void)fprintf(stderr, "veil-kbs: %s: %s\n", config_path, why);
        return 2;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(veil_conf_str(&k->conf, "log_level"), levels[i]) == 0) {
            veil_log_set_level((enum veil_log_level)i);
        }
    }
    k->issuer = veil_conf_str(&k->conf, "issuer");
    k->tls = !veil_conf_bool(&k->conf, "insecure_http");
    k->nonce_ttl_s = veil_conf_int(&k->conf, "nonce_ttl_s");
    k->session_ttl_s = veil_conf_int(&k->conf, "session_ttl_s");
    k->token_ttl_s = veil_conf_int(&k->conf, "token_ttl_s");
    k->body_size_max = (size_t)veil_conf_int(&k->conf, "request_size_max");
    k->rate_per_s = (double)veil_conf_int(&k->conf, "rate_per_s");
    k->rate_burst = (double)veil_conf_int(&k->conf, "rate_burst");
    k->cert_ttl_s = veil_conf_int(&k->conf, "cert_ttl_s");
    pthread_mutex_init(&k->rate_mu, NULL);
    return 0;
}

static int serve(struct kbs *k)
{
    struct veil_http_opts o = {0};
    struct veil_http_server *server = NULL;
    SSL_CTX *tls = NULL;
    char host[256];
    char cert[4096];
    char key[4096];
    sigset_t set;
    int sig = 0;
    veil_result r;
    const char *dir = veil_conf_str(&k->conf, "state_dir");

    r = veil_http_parse_listen(veil_conf_str(&k->conf, "listen"), host, sizeof(host), &o.port);
    if (!veil_ok(r)) {
        return fail("listen", r);
    }
    if (k->tls) {
        (void)snprintf(cert, sizeof(cert), "%s/tls.pem", dir);
        (void)snprintf(key, sizeof(key), "%s/tls.key", dir);
        r = veil_http_tls_server_ctx(cert, key, &tls);
        if (!veil_ok(r)) {
            return fail(cert, r);
        }
        /* No session tickets and no session cache: a TEE attests afresh on every start and never
         * resumes, so tickets would be work (two per handshake by default) and bytes for nothing.
         */
        (void)SSL_CTX_set_num_tickets(tls, 0);
        (void)SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_OFF);
    }
    o.host = host;
    o.tls = tls;
    o.workers = (unsigned)veil_conf_int(&k->conf, "workers");
    o.body_size_max = k->body_size_max;
    o.headers_size_max = 16384;
    o.timeout_s = (int)veil_conf_int(&k->conf, "timeout_s");
    o.requests_per_connection_max =
        (unsigned)veil_conf_int(&k->conf, "requests_per_connection_max");
    /* Workers inherit this mask: only this thread takes the stop signals. */
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    r = veil_http_server_start(&o, routes, sizeof(routes) / sizeof(routes[0]), k, &server);
    if (!veil_ok(r)) {
        SSL_CTX_free(tls);
        return fail("starting the server", r);
    }
    atomic_store(&k->server, server);
    veil_log(VEIL_LOG_INFO, "veil-kbs listening on %s:%u (%s, %u workers)", host,
             veil_http_server_port(server), k->tls ? "TLS 1.3" : "PLAIN HTTP", o.workers);
    (void)fprintf(stderr, "veil-kbs: ready on %s:%u\n", host, veil_http_server_port(server));
    /* Wait for a stop signal; once a minute, drop expired sessions. */
    for (;;) {
        struct timespec minute = {60, 0};
        size_t removed = 0;
        sig = sigtimedwait(&set, NULL, &minute);
        if (sig > 0) {
            break;
        }
        veil_kbs_sessions_expire(k->sessions, (int64_t)time(NULL), &removed);
        if (removed > 0) {
            veil_log(VEIL_LOG_DEBUG, "expired %zu sessions", removed);
        }
    }
    veil_log(VEIL_LOG_INFO, "signal %d: stopping", sig);
    veil_http_server_stop(server, 2000);
    atomic_store(&k->server, NULL);
    SSL_CTX_free(tls);
    return 0;
}

int main(int argc, char **argv)
{
    static struct kbs k;
    const char *config = NULL;
    bool check = false;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            (void)fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--print-config") == 0) {
            veil_conf_print_sample(kbs_conf_items, kbs_conf_count, stdout);
            return 0;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            (void)fprintf(stderr, "veil-kbs: unknown argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (config == NULL) {
        (void)fprintf(stderr, "veil-kbs: --config FILE is required\n%s", usage);
        return 2;
    }
    if (veil_harden_process() != 0) {
        (void)fprintf(stderr, "veil-kbs: cannot disable core dumps\n");
        return 1;
    }
    rc = configure(&k, config);
    if (rc == 0) {
        rc = open_state(&k);
    }
    if (rc == 0 && check) {
        (void)printf("veil-kbs: configuration and state are valid\n");
    } else if (rc == 0) {
        rc = serve(&k);
    }
    veil_store_close(k.store);
    EVP_PKEY_free(k.token_key);
    veil_collateral_free(&k.collateral);
    veil_kbs_ca_free(&k.ca);
    veil_sim_cache_free(k.sim_cache);
    veil_kbs_sessions_free(k.sessions);
    veil_conf_free(&k.conf);
    return rc;
}
