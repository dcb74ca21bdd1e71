/*
 * veil-serve --config FILE: the inference daemon, meant to run inside the TEE. Start-up
 * (startup.c): process hardening, configuration, measurement, the model key from the key broker,
 * the sealed model opened into locked memory, the engine; then the KServe v2 endpoints on the
 * HTTP(S) workers (kserve.c). SIGTERM or SIGINT stops it gracefully.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/heap.h"
#include "base/log.h"
#include "http/http.h"
#include "serve.h"
#include <veil/veil.h>

static const char usage[] =
    "usage: veil-serve --config FILE     run the inference server\n"
    "       veil-serve --print-config    print a sample configuration with every setting\n\n"
    "veil-serve measures itself and its configuration, obtains the model key from the key\n"
    "broker with the TEE's evidence, opens the sealed model into locked memory, and serves it\n"
    "over the KServe v2 / Open Inference Protocol (docs/PROTOCOL.serve.md).\n";

/* Free heap that glibc keeps mapped at the top of an arena (see serve_loop). */
#define SERVE_TRIM_THRESHOLD (4 * 1024 * 1024)

static const struct veil_http_route routes[] = {
    {"/v2", serve_handle_v2},
    {"/v2/", serve_handle_v2},
    {"/metrics", serve_handle_metrics},
};

/* CPU time of every thread so far (user + system), in ms. */
static double cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int serve_loop(struct serve *s)
{
    struct veil_http_opts o = {0};
    struct veil_http_server *server = NULL;
    char host[256];
    sigset_t set;
    int sig = 0;
    veil_result r;

    r = veil_http_parse_listen(veil_conf_str(&s->conf, "listen"), host, sizeof(host), &o.port);
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "veil-serve: listen: %s\n", veil_strerror(r.code));
        return 2;
    }
    o.host = host;
    o.tls = s->tls_ctx;
    o.workers = (unsigned)veil_conf_int(&s->conf, "workers");
    o.body_size_max = s->body_size_max;
    o.headers_size_max = 16384;
    o.timeout_s = (int)veil_conf_int(&s->conf, "timeout_s");
    /* Workers inherit this mask: only this thread takes the stop signals. */
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    /* A request's buffers below the mmap threshold (the body, its input tensors, an output such
     * as PaddleOCR rec's 1.25 MB, libevent's chains) come from the worker's heap. Since the
     * planning sets M_MMAP_THRESHOLD, glibc's trim threshold no longer follows it and stays at
     * 128 KiB: each request freed them at the top of the heap, glibc handed the pages back
     * (madvise) and the next request faulted them in again, about 300 faults per rec request
     * (0.1 ms before the engine started, more inside it). Up to 4 MiB of free heap now stays
     * mapped per arena; larger buffers are still returned. */
    veil_heap_set_trim_threshold(SERVE_TRIM_THRESHOLD);
    r = veil_http_server_start(&o, routes, sizeof(routes) / sizeof(routes[0]), s, &server);
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "veil-serve: listen: %s: %s\n", veil_conf_str(&s->conf, "listen"),
                      veil_strerror(r.code));
        return 1;
    }
    veil_log(VEIL_LOG_INFO,
             "step=serve listen=%s:%u tls=%s workers=%u model=%s startup_ms=%.1f "
             "cpu_ms=%.1f",
             host, veil_http_server_port(server), s->tls_ctx != NULL ? "TLS1.3" : "PLAIN-HTTP",
             o.workers, s->model.name, (serve_now_s() - s->started_s) * 1e3, cpu_ms());
    (void)fprintf(stderr, "veil-serve: ready on %s:%u\n", host, veil_http_server_port(server));
    /* Wait for a stop signal; once a second, renew a broker-issued certificate that is due. */
    for (;;) {
        struct timespec second = {1, 0};
        sig = sigtimedwait(&set, NULL, &second);
        if (sig > 0) {
            break;
        }
        if (s->cert_leaf != NULL && time(NULL) >= s->cert_renew_at) {
            serve_cert_renew(s);
        }
    }
    veil_log(VEIL_LOG_INFO, "signal %d: stopping", sig);
    veil_http_server_stop(server, 2000);
    return 0;
}

int main(int argc, char **argv)
{
    static struct serve s;
    const char *config = NULL;
    int rc;

    s.started_s = serve_now_s();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            (void)fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--print-config") == 0) {
            veil_conf_print_sample(serve_conf_items, serve_conf_count, stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            (void)fprintf(stderr, "veil-serve: unknown argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (config == NULL) {
        (void)fprintf(stderr, "veil-serve: --config FILE is required\n%s", usage);
        return 2;
    }
    /* First, before any secret exists: not dumpable (no ptrace by peers), no core files. */
    if (veil_harden_process() != 0) {
        (void)fprintf(stderr, "veil-serve: hardening: cannot disable core dumps\n");
        return 1;
    }
    rc = serve_configure(&s, config);
    if (rc == 0) {
        rc = serve_start(&s);
    }
    if (rc == 0) {
        rc = serve_loop(&s);
    }
    serve_free(&s);
    return rc;
}
