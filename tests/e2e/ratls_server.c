/*
 * A test double for the serving protocol over attested TLS (not the real server, veil-serve):
 * it loads a simulated platform, makes an attested certificate for a fresh key, and answers
 * POST /v2/models/NAME/infer with a fixed KServe v2 response. Each request is logged on stdout
 * ("request N PATH BYTES"), so that tests can tell whether anything reached it.
 *
 *   ratls_server --sim-dir DIR [--listen HOST:PORT] [--model NAME] [--debug]
 *                [--measurement-byte HEX2]
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attest/sim.h"
#include "http/http.h"
#include "ratls/ratls.h"

struct server {
    const char *model;
    atomic_int count;
};

static void infer(struct evhttp_request *req, void *ctx)
{
    struct server *s = ctx;
    const char *path = veil_http_path(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    char want[256];
    const uint8_t *body = NULL;
    size_t n = 0;
    json_t *answer;
    char *text;
    int k;

    k = snprintf(want, sizeof(want), "/v2/models/%s/infer", s->model);
    if (k < 0 || (size_t)k >= sizeof(want) || path == NULL || strcmp(path, want) != 0) {
        veil_http_reply(req, 404, "application/json", "{\"error\":\"no such model\"}", 25);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
        !veil_ok(veil_http_body(req, 1u << 20, &body, &n))) {
        veil_http_reply(req, 400, "application/json", "{\"error\":\"POST a body\"}", 23);
        return;
    }
    (void)printf("request %d %s %zu\n", atomic_fetch_add(&s->count, 1) + 1, path, n);
    (void)fflush(stdout);
    answer = json_pack("{s:s, s:s, s:[{s:s, s:s, s:[i,i], s:[f,f]}], s:{s:I, s:s}}", "model_name",
                       s->model, "id", "1", "outputs", "name", "output", "datatype", "FP32",
                       "shape", 1, 2, "data", 0.25, 0.75, "parameters", "received_bytes",
                       (json_int_t)n, "content_type", type != NULL ? type : "");
    text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
    if (text == NULL) {
        veil_http_reply(req, 500, NULL, NULL, 0);
    } else {
        veil_http_reply(req, 200, "application/json", text, strlen(text));
    }
    free(text);
    json_decref(answer);
}

static const struct veil_http_route routes[] = {{"/v2/models/", infer}};

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"sim-dir", required_argument, NULL, 's'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"measurement-byte", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    const char *sim_dir = NULL;
    const char *listen = "127.0.0.1:0";
    struct server srv = {"m", 0};
    struct veil_sim_platform plat = {0};
    struct veil_sim_guest guest = {0};
    struct veil_sim_attester_ctx sim = {&plat, &guest};
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 1u << 20, 16384, 10, 0};
    struct veil_http_server *hs = NULL;
    char host[64];
    unsigned long byte = 0x42;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    SSL_CTX *tls = NULL;
    sigset_t set;
    int sig;
    int c;
    int rc = 1;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 's':
                sim_dir = optarg;
                break;
            case 'l':
                listen = optarg;
                break;
            case 'm':
                srv.model = optarg;
                break;
            case 'd':
                guest.policy |= VEIL_SNP_POLICY_DEBUG;
                break;
            case 'b':
                byte = strtoul(optarg, NULL, 16);
                break;
            default:
                return 2;
        }
    }
    if (sim_dir == NULL || byte > 0xff ||
        !veil_ok(veil_http_parse_listen(listen, host, sizeof(host), &o.port))) {
        (void)fprintf(stderr, "usage: ratls_server --sim-dir DIR [--listen HOST:PORT]\n");
        return 2;
    }
    o.host = host;
    memset(guest.measurement, (int)byte, sizeof(guest.measurement));
    /* SIGTERM and SIGINT are taken with sigwait; the worker threads inherit the mask. */
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL || !veil_ok(veil_sim_platform_load(sim_dir, &plat)) ||
        !veil_ok(veil_ratls_cert_make(key, "ratls test server", 3600, VEIL_TEE_SIM,
                                      veil_sim_attester, &sim, &cert)) ||
        !veil_ok(veil_ratls_server_ctx(cert, key, &tls))) {
        (void)fprintf(stderr, "ratls_server: cannot make the attested certificate\n");
        goto out;
    }
    o.tls = tls;
    if (!veil_ok(veil_http_server_start(&o, routes, 1, &srv, &hs))) {
        (void)fprintf(stderr, "ratls_server: cannot listen on %s\n", listen);
        goto out;
    }
    (void)printf("ready on %s:%u\n", host, veil_http_server_port(hs));
    (void)fflush(stdout);
    if (sigwait(&set, &sig) == 0) {
        rc = 0;
    }
    veil_http_server_stop(hs, 500);
out:
    SSL_CTX_free(tls);
    X509_free(cert);
    EVP_PKEY_free(key);
    veil_sim_platform_free(&plat);
    return rc;
}
