/* veil-proxy: accepts plain HTTP on loopback and forwards each request to an attested upstream
 * over TLS 1.3, after verifying the upstream's certificate against a release policy inside the
 * handshake. One worker thread and one reused upstream connection. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "proxy.h"

#define PROXY_COLLATERAL_MAX 64

static const char usage[] =
    "usage: veil-proxy --listen 127.0.0.1:PORT --upstream https://HOST:PORT\n"
    "                  --policy POLICY.json [--collateral PATH]... [--timeout SECONDS]\n\n"
    "Accepts plain HTTP on a loopback address and forwards each request (method, path and\n"
    "query, body, content type; bodies up to 64 MiB) to the upstream over attested TLS: the\n"
    "upstream's certificate must carry TEE evidence that verifies, binds its key, and satisfies\n"
    "the policy (docs/PROTOCOL.ratls.md). Otherwise the proxy answers 502 with a JSON body\n"
    "saying why, and nothing is forwarded. PORT 0 picks a free port; the address is printed as\n"
    "\"ready on HOST:PORT\". SIGTERM or SIGINT stops it.\n\n"
    "exit status: 0 stopped by a signal, 1 failure, 2 usage\n";

struct proxy_args {
    const char *listen;
    const char *upstream;
    const char *policy;
    const char *collateral[PROXY_COLLATERAL_MAX];
    size_t collateral_count;
    long timeout_s;
};

static int usage_error(const char *msg)
{
    (void)fprintf(stderr, "veil-proxy: %s (see veil-proxy --help)\n", msg);
    return 2;
}

static int parse_args(int argc, char **argv, struct proxy_args *a)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"upstream", required_argument, NULL, 'u'},
                                         {"policy", required_argument, NULL, 'p'},
                                         {"collateral", required_argument, NULL, 'c'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char *end;
    int c;

    a->timeout_s = 60;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 'l':
                a->listen = optarg;
                break;
            case 'u':
                a->upstream = optarg;
                break;
            case 'p':
                a->policy = optarg;
                break;
            case 'c':
                if (a->collateral_count == PROXY_COLLATERAL_MAX) {
                    return usage_error("too many --collateral");
                }
                a->collateral[a->collateral_count++] = optarg;
                break;
            case 't':
                a->timeout_s = strtol(optarg, &end, 10);
                if (*end != '\0' || a->timeout_s < 1 || a->timeout_s > 3600) {
                    return usage_error("--timeout: 1 to 3600 seconds");
                }
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return -1;
            default:
                (void)fputs(usage, stderr);
                return 2;
        }
    }
    if (optind != argc) {
        return usage_error("unexpected argument");
    }
    if (a->listen == NULL || a->upstream == NULL || a->policy == NULL) {
        return usage_error("--listen, --upstream and --policy are required");
    }
    if (strncmp(a->upstream, "https://", 8) != 0 || strlen(a->upstream) > 1024 ||
        strlen(a->upstream) <= 8) {
        return usage_error("--upstream must be an https:// URL");
    }
    return 0;
}

static int serve(struct proxy *p, const char *listen)
{
    static const struct veil_http_route routes[] = {{"/", proxy_forward}};
    struct veil_http_opts o = {NULL, 0, NULL, 1, PROXY_BODY_SIZE_MAX, PROXY_HEADERS_SIZE_MAX,
                               60,   0};
    struct veil_http_server *s = NULL;
    char host[64];
    sigset_t set;
    int sig;

    if (!veil_ok(veil_http_parse_listen(listen, host, sizeof(host), &o.port))) {
        return usage_error("--listen: HOST:PORT expected");
    }
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0) {
        return usage_error("--listen: only loopback (127.0.0.1 or ::1): clients speak plain HTTP");
    }
    o.host = host;
    o.timeout_s = (int)p->timeout_s + 5;
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (!veil_ok(veil_http_server_start(&o, routes, 1, p, &s))) {
        (void)fprintf(stderr, "veil-proxy: cannot listen on %s\n", listen);
        return 1;
    }
    (void)printf("ready on %s:%u\n", host, veil_http_server_port(s));
    (void)fflush(stdout);
    if (sigwait(&set, &sig) != 0) {
        sig = 0;
    }
    veil_http_server_stop(s, 2000);
    (void)fprintf(stderr, "veil-proxy: stopped (%lu forwarded, %lu refused)\n", p->forwarded,
                  p->refused);
    return 0;
}

int main(int argc, char **argv)
{
    struct proxy_args a = {0};
    struct proxy p = {0};
    struct veil_policy policy;
    struct veil_collateral coll;
    char why[1024];
    int rc = parse_args(argc, argv, &a);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return 1;
    }
    if (!veil_ok(veil_ratls_load(a.policy, a.collateral, a.collateral_count, &policy, &coll, why,
                                 sizeof(why)))) {
        (void)fprintf(stderr, "veil-proxy: %s\n", why);
        curl_global_cleanup();
        return 1;
    }
    p.upstream = a.upstream;
    p.upstream_size = strlen(a.upstream);
    while (p.upstream_size > 8 && a.upstream[p.upstream_size - 1] == '/') {
        p.upstream_size--;
    }
    p.timeout_s = a.timeout_s;
    veil_ratls_verifier_init(&p.verifier, &policy, &coll);
    p.curl = curl_easy_init();
    rc = 1;
    if (p.curl != NULL && veil_ok(veil_ratls_curl_setup(p.curl, &p.verifier)) &&
        curl_easy_setopt(p.curl, CURLOPT_TIMEOUT, p.timeout_s) == CURLE_OK) {
        rc = serve(&p, a.listen);
    }
    curl_easy_cleanup(p.curl);
    veil_ratls_verifier_reset(&p.verifier);
    veil_policy_free(&policy);
    veil_collateral_free(&coll);
    curl_global_cleanup();
    return rc;
}
