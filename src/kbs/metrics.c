/* GET /metrics: Prometheus text exposition. */
#include <stdio.h>

#include <event2/buffer.h>

#include "kbs.h"

static const char *const ep_names[KBS_EP_COUNT] = {"auth", "attest", "resource", "metrics", "cert"};

void kbs_handle_metrics(struct evhttp_request *req, void *ctx)
{
    struct kbs *k = ctx;
    struct kbs_metrics *m = &k->metrics;
    double t0 = kbs_now_s();
    struct evbuffer *b = evbuffer_new();
    uint64_t commits = 0;
    uint64_t records = 0;
    struct veil_http_server *server;
    size_t sessions = 0;
    size_t attested = 0;

    if (b == NULL) {
        kbs_reply_json(k, KBS_EP_METRICS, t0, req, 500, NULL, 0);
        return;
    }
    evbuffer_add_printf(b,
                        "# HELP veil_kbs_requests_total Requests by endpoint and status class.\n"
                        "# TYPE veil_kbs_requests_total counter\n");
    for (int e = 0; e < KBS_EP_COUNT; e++) {
        for (int c = 1; c <= 5; c++) {
            evbuffer_add_printf(b, "veil_kbs_requests_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n",
                                ep_names[e], c,
                                (unsigned long long)atomic_load(&m->requests[e][c]));
        }
    }
    evbuffer_add_printf(b,
                        "# HELP veil_kbs_request_seconds_total Time spent answering, by "
                        "endpoint.\n# TYPE veil_kbs_request_seconds_total counter\n");
    for (int e = 0; e < KBS_EP_COUNT; e++) {
        evbuffer_add_printf(b, "veil_kbs_request_seconds_total{endpoint=\"%s\"} %.6f\n",
                            ep_names[e], (double)atomic_load(&m->latency_us_sum[e]) / 1e6);
    }
    evbuffer_add_printf(
        b,
        "# HELP veil_kbs_attestations_total Attestations by result.\n"
        "# TYPE veil_kbs_attestations_total counter\n"
        "veil_kbs_attestations_total{result=\"verified\"} %llu\n"
        "veil_kbs_attestations_total{result=\"refused\"} %llu\n"
        "# HELP veil_kbs_releases_total Resource requests by decision.\n"
        "# TYPE veil_kbs_releases_total counter\n"
        "veil_kbs_releases_total{decision=\"allow\"} %llu\n"
        "veil_kbs_releases_total{decision=\"deny\"} %llu\n"
        "# HELP veil_kbs_rate_limited_total Requests refused by the per-client rate limit.\n"
        "# TYPE veil_kbs_rate_limited_total counter\n"
        "veil_kbs_rate_limited_total %llu\n",
        (unsigned long long)atomic_load(&m->attest_ok),
        (unsigned long long)atomic_load(&m->attest_refused),
        (unsigned long long)atomic_load(&m->release_allowed),
        (unsigned long long)atomic_load(&m->release_denied),
        (unsigned long long)atomic_load(&m->rate_limited));
    evbuffer_add_printf(b,
                        "# HELP veil_kbs_certificates_total Certificate requests by decision.\n"
                        "# TYPE veil_kbs_certificates_total counter\n"
                        "veil_kbs_certificates_total{decision=\"issued\"} %llu\n"
                        "veil_kbs_certificates_total{decision=\"refused\"} %llu\n",
                        (unsigned long long)atomic_load(&m->certs_issued),
                        (unsigned long long)atomic_load(&m->certs_refused));
    veil_kbs_sessions_count(k->sessions, &sessions, &attested);
    evbuffer_add_printf(b,
                        "# HELP veil_kbs_sessions Sessions held in memory (sessions_max at most), "
                        "by state.\n"
                        "# TYPE veil_kbs_sessions gauge\n"
                        "veil_kbs_sessions{state=\"challenged\"} %zu\n"
                        "veil_kbs_sessions{state=\"attested\"} %zu\n",
                        sessions - attested, attested);
    server = atomic_load(&k->server);
    evbuffer_add_printf(
        b,
        "# HELP veil_kbs_connections_total Connections that carried a request "
        "(keep-alive: a release takes one).\n"
        "# TYPE veil_kbs_connections_total counter\n"
        "veil_kbs_connections_total %llu\n",
        (unsigned long long)(server != NULL ? veil_http_server_connections(server) : 0));
    veil_store_audit_stats(k->store, &commits, &records);
    evbuffer_add_printf(b,
                        "# HELP veil_kbs_audit_records_total Audit records written.\n"
                        "# TYPE veil_kbs_audit_records_total counter\n"
                        "veil_kbs_audit_records_total %llu\n"
                        "# HELP veil_kbs_audit_commits_total Audit transactions (fsyncs) that "
                        "wrote them (group commit: fewer than records under load).\n"
                        "# TYPE veil_kbs_audit_commits_total counter\n"
                        "veil_kbs_audit_commits_total %llu\n",
                        (unsigned long long)records, (unsigned long long)commits);
    atomic_fetch_add(&m->requests[KBS_EP_METRICS][2], 1);
    (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                            "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}
