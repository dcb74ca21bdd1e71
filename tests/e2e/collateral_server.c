/*
 * A stand-in for AMD KDS and Intel PCS in tests: serves DIR/<path> for GET <path>?<query> over
 * plain HTTP on loopback, with the response headers listed in DIR/<path>.headers ("Name: value"
 * lines), and answers 503 (Retry-After: 0) to the first FAIL requests to exercise back-off.
 * Prints "ready on 127.0.0.1:PORT", then one line per request ("GET <path> -> <status>").
 *   collateral_server DIR [FAIL]
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "base/file.h"
#include "http/http.h"

static const char *root;
static _Atomic long fail_left;

static void serve(struct evhttp_request *req, void *ctx)
{
    const char *path = veil_http_path(req);
    char file[4096];
    char hfile[4200];
    struct veil_wr body;
    struct veil_wr headers;
    int status = 200;

    (void)ctx;
    if (atomic_fetch_sub(&fail_left, 1) > 0) {
        (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0");
        veil_http_reply(req, 503, "text/plain", "busy", 4);
        (void)printf("GET %s -> 503\n", path);
        (void)fflush(stdout);
        return;
    }
    if (path == NULL || strstr(path, "..") != NULL || strlen(path) > 2000 ||
        (size_t)snprintf(file, sizeof(file), "%s%s", root, path) >= sizeof(file) ||
        !veil_ok(veil_file_read(file, 1 << 20, &body))) {
        veil_http_reply(req, 404, "text/plain", "not found", 9);
        (void)printf("GET %s -> 404\n", path != NULL ? path : "?");
        (void)fflush(stdout);
        return;
    }
    (void)snprintf(hfile, sizeof(hfile), "%s.headers", file);
    if (veil_ok(veil_file_read(hfile, 1 << 20, &headers))) {
        const char *text = NULL;
        if (veil_ok(veil_wr_cstr(&headers, &text))) {
            char *copy = strdup(text);
            char *save = NULL;
            for (char *line = strtok_r(copy, "\n", &save); line != NULL;
                 line = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(line, ':');
                if (colon != NULL) {
                    *colon = '\0';
                    (void)evhttp_add_header(evhttp_request_get_output_headers(req), line,
                                            colon + 1 + (colon[1] == ' '));
                }
            }
            free(copy);
        }
        veil_wr_free(&headers);
    }
    veil_http_reply(req, status, "application/octet-stream", body.data, body.len);
    (void)printf("GET %s -> %d\n", path, status);
    (void)fflush(stdout);
    veil_wr_free(&body);
}

int main(int argc, char **argv)
{
    static const struct veil_http_route routes[] = {{"/", serve}};
    struct veil_http_opts o = {"127.0.0.1", 0, NULL, 1, 4096, 8192, 10, 0};
    struct veil_http_server *s = NULL;
    sigset_t set;
    int sig = 0;

    if (argc < 2) {
        (void)fprintf(stderr, "usage: collateral_server DIR [FAIL]\n");
        return 2;
    }
    root = argv[1];
    atomic_store(&fail_left, argc > 2 ? strtol(argv[2], NULL, 10) : 0);
    (void)sigemptyset(&set);
    (void)sigaddset(&set, SIGTERM);
    (void)sigaddset(&set, SIGINT);
    (void)pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (!veil_ok(veil_http_server_start(&o, routes, 1, NULL, &s))) {
        return 1;
    }
    (void)printf("ready on 127.0.0.1:%u\n", veil_http_server_port(s));
    (void)fflush(stdout);
    (void)sigwait(&set, &sig);
    veil_http_server_stop(s, 100);
    return 0;
}
