/*
 * POST /kbs/v0/cert: a short-lived certificate from the broker's CA for the key an attested
 * session bound (docs/PROTOCOL.kbs-certs.md). The decision (session, request, key, policy) is
 * veil_kbs_cert_decide in the library; here: rate limit, method, content type, body, the audit
 * record and the reply. Every issuance and every refusal of an attested caller is audited.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "http/http.h"
#include "kbs.h"

int kbs_cert_load(struct kbs *k, const char *state_dir)
{
    char cert[4096];
    char key[4096];
    veil_result r;

    if (!veil_path_join(cert, sizeof(cert), state_dir, VEIL_KBS_CA_CERT_FILE) ||
        !veil_path_join(key, sizeof(key), state_dir, VEIL_KBS_CA_KEY_FILE)) {
        (void)fprintf(stderr, "veil-kbs: %s: path too long\n", state_dir);
        return 1;
    }
    if (access(cert, F_OK) != 0 && access(key, F_OK) != 0) {
        veil_log(VEIL_LOG_INFO, "no %s in the state directory: /kbs/v0/cert is off",
                 VEIL_KBS_CA_CERT_FILE);
        return 0;
    }
    r = veil_kbs_ca_load(cert, key, &k->ca);
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "veil-kbs: %s with %s: %s\n", cert, key, veil_strerror(r.code));
        return 1;
    }
    veil_log(VEIL_LOG_INFO, "certificate authority %s: /kbs/v0/cert issues for up to %lld s", cert,
             (long long)k->cert_ttl_s);
    return 0;
}

static bool audit(struct kbs *k, const char *peer, const struct veil_kbs_cert_decision *d)
{
    struct kbs_audit_claims ac;
    struct veil_audit_event ev;
    bool ok = d->status == 200;

    kbs_audit_claims_of(&d->claims, d->tee, &ac);
    ev = (struct veil_audit_event){time(NULL),
                                   ok ? "release" : "refuse",
                                   peer,
                                   d->tee,
                                   ac.chip_id,
                                   ac.measurement,
                                   ac.tcb,
                                   d->policy_target,
                                   d->policy_version,
                                   d->resource,
                                   ok ? "allow" : (d->status >= 500 ? "error" : "deny"),
                                   d->detail};
    return kbs_audit(k, &ev);
}

void kbs_handle_cert(struct evhttp_request *req, void *ctx)
{
    struct kbs *k = ctx;
    double t0 = kbs_now_s();
    struct veil_kbs_cert_decision d;
    const uint8_t *body = NULL;
    uint8_t id[32];
    bool have_id;
    char peer[64];
    size_t n = 0;

    if (!kbs_rate_admit(k, KBS_EP_CERT, t0, req)) {
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        kbs_reply_error(k, KBS_EP_CERT, t0, req, 405, "MethodNotAllowed",
                        "POST a certificate request");
        return;
    }
    if (!kbs_json_content(k, KBS_EP_CERT, t0, req)) {
        return;
    }
    if (!veil_ok(veil_http_body(req, k->body_size_max, &body, &n))) {
        kbs_reply_error(k, KBS_EP_CERT, t0, req, 413, "TooLarge", "request body too large");
        return;
    }
    veil_http_peer(req, peer, sizeof(peer));
    have_id = kbs_session_cookie(req, id);
    veil_kbs_cert_decision_init(&d);
    if (!veil_ok(veil_kbs_cert_decide(k->ca.cert != NULL ? &k->ca : NULL, k->sessions, k->store,
                                      have_id ? id : NULL, body, n, (int64_t)time(NULL),
                                      k->cert_ttl_s, &d))) {
        d.status = 500;
        d.type = "InternalError";
        (void)snprintf(d.detail, sizeof(d.detail), "%s", "cannot decide the request");
    }
    if (d.status == 200 && !audit(k, peer, &d)) {
        /* No record, no certificate: as for tokens and keys (docs/PROTOCOL.kbs.md). */
        atomic_fetch_add(&k->metrics.certs_refused, 1);
        kbs_reply_error(k, KBS_EP_CERT, t0, req, 500, "InternalError",
                        "cannot record the certificate in the audit log");
    } else if (d.status == 200) {
        atomic_fetch_add(&k->metrics.certs_issued, 1);
        veil_log(VEIL_LOG_INFO, "peer=%s cert %s: %s", peer, d.resource, d.detail);
        kbs_reply_json(k, KBS_EP_CERT, t0, req, 200, (const char *)d.answer.data, d.answer.len);
    } else {
        atomic_fetch_add(&k->metrics.certs_refused, 1);
        if (d.status != 401) {        /* an unauthenticated caller is not worth a record */
            (void)audit(k, peer, &d); /* a refusal is answered even if its record fails */
        }
        kbs_reply_error(k, KBS_EP_CERT, t0, req, d.status, d.type, d.detail);
    }
    veil_kbs_cert_decision_free(&d);
}
