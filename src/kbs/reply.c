/* Replies: RFC 7807 error bodies with the status the protocol names, JSON bodies, metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/encoding.h"
#include "base/log.h"
#include "http/http.h"
#include "kbs.h"
#include "kbs/proto.h"

double kbs_now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count(struct kbs *k, enum kbs_endpoint ep, double t0, int status)
{
    int cls = status / 100;

    if (cls >= 1 && cls <= 5) {
        atomic_fetch_add(&k->metrics.requests[ep][cls], 1);
    }
    atomic_fetch_add(&k->metrics.latency_us_sum[ep], (uint64_t)((kbs_now_s() - t0) * 1e6));
}

void kbs_reply_json(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req,
                    int status, const char *body, size_t n)
{
    count(k, ep, t0, status);
    veil_http_reply(req, status, body != NULL ? "application/json" : NULL, body, n);
}

void kbs_reply_error(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req,
                     int status, const char *type, const char *detail)
{
    struct veil_wr w;
    char peer[64];

    veil_http_peer(req, peer, sizeof(peer));
    veil_log(status >= 500 ? VEIL_LOG_ERROR : VEIL_LOG_INFO, "peer=%s status=%d type=%s detail=%s",
             peer, status, type, detail);
    veil_wr_init(&w, 8192);
    if (veil_ok(veil_kbs_error_build(type, detail, &w))) {
        kbs_reply_json(k, ep, t0, req, status, (const char *)w.data, w.len);
    } else {
        kbs_reply_json(k, ep, t0, req, 500, NULL, 0);
    }
    veil_wr_free(&w);
}

bool kbs_json_content(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = strlen("application/json");

    if (ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
        (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ')) {
        return true;
    }
    kbs_reply_error(k, ep, t0, req, 415, "UnsupportedMediaType",
                    "send the body as Content-Type: application/json");
    return false;
}

bool kbs_session_cookie(struct evhttp_request *req, uint8_t id[32])
{
    char text[64];
    size_t n = 0;

    return veil_http_cookie(req, VEIL_KBS_COOKIE_NAME, text, sizeof(text)) &&
           veil_ok(veil_b64_decode(text, strlen(text), VEIL_B64_URL, id, 32, &n)) && n == 32;
}

static void claim_text(const struct veil_claims *c, const char *tee, const char *field,
                       const char *fallback, char *out, size_t size)
{
    char name[64];
    const struct veil_claim *cl;
    char *t;

    (void)snprintf(name, sizeof(name), "%s.%s", tee, field);
    cl = veil_claims_find(c, name);
    if (cl == NULL && fallback != NULL) {
        cl = veil_claims_find(c, fallback);
    }
    t = cl != NULL ? veil_claim_value_text(cl) : NULL;
    (void)snprintf(out, size, "%s", t != NULL ? t : "");
    free(t);
}

void kbs_audit_claims_of(const struct veil_claims *c, const char *tee, struct kbs_audit_claims *out)
{
    claim_text(c, tee, "chip_id", NULL, out->chip_id, sizeof(out->chip_id));
    claim_text(c, tee, "measurement", strcmp(tee, "sgx") == 0 ? "sgx.mr_enclave" : "tdx.mr_td",
               out->measurement, sizeof(out->measurement));
    claim_text(c, tee, "tcb.reported.snp",
               strcmp(tee, "sgx") == 0 ? "sgx.tcb_status" : "tdx.tcb_status", out->tcb,
               sizeof(out->tcb));
}

bool kbs_audit(struct kbs *k, const struct veil_audit_event *ev)
{
    int64_t seq = 0;
    veil_result r = veil_store_audit_append(k->store, ev, &seq);

    if (!veil_ok(r)) {
        veil_log_r(VEIL_LOG_ERROR, r, "cannot append to the audit log (kind=%s resource=%s)",
                   ev->kind, ev->resource);
        return false;
    }
    return true;
}
