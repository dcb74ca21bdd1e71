/* Metrics: counters updated by the workers (atomics) and GET /metrics in Prometheus text. */
#include <stdio.h>
#include <time.h>

#include <event2/buffer.h>

#include "serve.h"

static const char *const ep_names[SERVE_EP_COUNT] = {"health",      "metadata", "infer",
                                                     "attestation", "metrics",  "other"};
/* Upper bounds of the inference latency histogram, in seconds. */
static const double buckets_s[SERVE_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

double serve_now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void serve_count(struct serve *s, enum serve_endpoint ep, double t0, int status)
{
    int cls = status / 100;

    if (cls >= 1 && cls <= 5) {
        atomic_fetch_add(&s->metrics.requests[ep][cls], 1);
    }
    atomic_fetch_add(&s->metrics.latency_us_sum[ep], (uint64_t)((serve_now_s() - t0) * 1e6));
}

void serve_count_infer(struct serve *s, double seconds, bool ok)
{
    size_t b = 0;

    if (!ok) {
        atomic_fetch_add(&s->metrics.infer_failed, 1);
        return;
    }
    while (b < SERVE_LATENCY_BUCKETS && seconds > buckets_s[b]) {
        b++;
    }
    atomic_fetch_add(&s->metrics.infer_bucket[b], 1);
    atomic_fetch_add(&s->metrics.infer_count, 1);
    atomic_fetch_add(&s->metrics.infer_us_sum, (uint64_t)(seconds * 1e6));
}

static void requests(struct evbuffer *b, struct serve_metrics *m)
{
    evbuffer_add_printf(b,
                        "# HELP veil_serve_requests_total Requests by endpoint and status class.\n"
                        "# TYPE veil_serve_requests_total counter\n");
    for (int e = 0; e < SERVE_EP_COUNT; e++) {
        for (int c = 1; c <= 5; c++) {
            evbuffer_add_printf(
                b, "veil_serve_requests_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n", ep_names[e],
                c, (unsigned long long)atomic_load(&m->requests[e][c]));
        }
    }
    evbuffer_add_printf(b,
                        "# HELP veil_serve_request_seconds_total Time spent answering, by "
                        "endpoint.\n# TYPE veil_serve_request_seconds_total counter\n");
    for (int e = 0; e < SERVE_EP_COUNT; e++) {
        evbuffer_add_printf(b, "veil_serve_request_seconds_total{endpoint=\"%s\"} %.6f\n",
                            ep_names[e], (double)atomic_load(&m->latency_us_sum[e]) / 1e6);
    }
}

static void inferences(struct evbuffer *b, struct serve *s)
{
    struct serve_metrics *m = &s->metrics;
    uint64_t cumulative = 0;

    evbuffer_add_printf(b,
                        "# HELP veil_serve_inference_seconds Engine run time of successful "
                        "inferences.\n# TYPE veil_serve_inference_seconds histogram\n");
    for (size_t i = 0; i <= SERVE_LATENCY_BUCKETS; i++) {
        cumulative += atomic_load(&m->infer_bucket[i]);
        if (i < SERVE_LATENCY_BUCKETS) {
            evbuffer_add_printf(b,
                                "veil_serve_inference_seconds_bucket{model=\"%s\",le=\"%g\"} "
                                "%llu\n",
                                s->model.name, buckets_s[i], (unsigned long long)cumulative);
        } else {
            evbuffer_add_printf(b,
                                "veil_serve_inference_seconds_bucket{model=\"%s\",le=\"+Inf\"} "
                                "%llu\n",
                                s->model.name, (unsigned long long)cumulative);
        }
    }
    evbuffer_add_printf(b,
                        "veil_serve_inference_seconds_sum{model=\"%s\"} %.6f\n"
                        "veil_serve_inference_seconds_count{model=\"%s\"} %llu\n"
                        "# HELP veil_serve_inference_failures_total Inferences the engine "
                        "refused.\n# TYPE veil_serve_inference_failures_total counter\n"
                        "veil_serve_inference_failures_total{model=\"%s\"} %llu\n",
                        s->model.name, (double)atomic_load(&m->infer_us_sum) / 1e6, s->model.name,
                        (unsigned long long)atomic_load(&m->infer_count), s->model.name,
                        (unsigned long long)atomic_load(&m->infer_failed));
}

void serve_handle_metrics(struct evhttp_request *req, void *ctx)
{
    struct serve *s = ctx;
    double t0 = serve_now_s();
    struct evbuffer *b;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        serve_count(s, SERVE_EP_METRICS, t0, 405);
        evhttp_send_error(req, 405, NULL);
        return;
    }
    b = evbuffer_new();
    if (b == NULL) {
        serve_count(s, SERVE_EP_METRICS, t0, 500);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    requests(b, &s->metrics);
    inferences(b, s);
    evbuffer_add_printf(b,
                        "# HELP veil_serve_model_load_seconds Time to fetch the key, open the "
                        "sealed model and load the engine.\n"
                        "# TYPE veil_serve_model_load_seconds gauge\n"
                        "veil_serve_model_load_seconds{model=\"%s\"} %.6f\n"
                        "# HELP veil_serve_model_size_bytes Plaintext size of the loaded model.\n"
                        "# TYPE veil_serve_model_size_bytes gauge\n"
                        "veil_serve_model_size_bytes{model=\"%s\"} %zu\n"
                        "# HELP veil_serve_attestation_age_seconds Time since the key broker "
                        "accepted this server's evidence.\n"
                        "# TYPE veil_serve_attestation_age_seconds gauge\n"
                        "veil_serve_attestation_age_seconds %lld\n",
                        s->model.name, s->model_load_s, s->model.name, s->model.plaintext_size,
                        (long long)(time(NULL) - s->attested_at));
    serve_count(s, SERVE_EP_METRICS, t0, 200);
    (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                            "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}
