/*
 * GET /kbs/v0/resource/<repo>/<type>/<tag>: released only to an attested requester (session
 * cookie, or a bearer token this broker signed) whose claims satisfy the resource's policy, and
 * only as a JWE to the TEE key that the evidence bound. Every release and refusal is audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "http/http.h"
#include "jose/jose.h"
#include "kbs.h"
#include "kbs/proto.h"
#include "policy/policy.h"

#define RESOURCE_PREFIX   "/kbs/v0/resource/"
#define RESOURCE_SIZE_MAX (1u << 20)

struct release {
    struct kbs *k;
    struct evhttp_request *req;
    double t0;
    char peer[64];
    const char *path;
    struct veil_claims claims;
    json_t *tee_pubkey;
    EVP_PKEY *tee_key; /* the session's key imported at attestation, or NULL: import tee_pubkey */
    char policy_target[400];
    int64_t policy_version;
};

static bool audit(struct release *r, const char *kind, const char *decision, const char *reasons)
{
    const struct veil_claim *tee = veil_claims_find(&r->claims, "tee");
    const char *t = tee != NULL && tee->type == VEIL_CLAIM_STR ? tee->str : "";
    struct kbs_audit_claims ac;
    struct veil_audit_event ev;

    kbs_audit_claims_of(&r->claims, t, &ac);
    ev = (struct veil_audit_event){time(NULL),        kind,           r->peer,  t,
                                   ac.chip_id,        ac.measurement, ac.tcb,   r->policy_target,
                                   r->policy_version, r->path,        decision, reasons};
    return kbs_audit(r->k, &ev);
}

/* Claims and key from a bearer token or the session; false (reply sent) if neither holds. */
static bool authenticate(struct release *r)
{
    const char *auth =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    struct veil_kbs_session ss;
    json_t *claims = NULL;
    uint8_t id[32];
    bool ok = false;

    if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
        const char *tok = auth + 7;
        if (veil_ok(veil_jwt_verify(r->k->token_key, tok, strlen(tok), time(NULL), 0, &claims)) &&
            json_is_object(json_object_get(claims, "tee-pubkey")) &&
            veil_ok(
                veil_kbs_claims_from_json(json_object_get(claims, "veil.claims"), &r->claims))) {
            r->tee_pubkey = json_incref(json_object_get(claims, "tee-pubkey"));
            ok = true;
        }
        json_decref(claims);
        if (!ok) {
            kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 401, "InvalidToken",
                            "the bearer token is not valid (signature, expiry or content)");
        }
        return ok;
    }
    memset(&ss, 0, sizeof(ss));
    if (kbs_session_cookie(r->req, id) && veil_ok(veil_kbs_sessions_get(r->k->sessions, id, &ss)) &&
        ss.attested && time(NULL) <= ss.expires_at && ss.claims_json != NULL &&
        ss.tee_pubkey_json != NULL) {
        json_t *c = json_loads(ss.claims_json, JSON_REJECT_DUPLICATES, NULL);
        /* The key imported at attestation is taken over from the copy, and the table lets go of
         * it: it serves the session's first resource (the common case: one key per TEE start),
         * and later requests parse and import the JWK again, so that held sessions stay small. */
        r->tee_key = ss.tee_key;
        ss.tee_key = NULL;
        if (r->tee_key != NULL) {
            veil_kbs_sessions_release_key(r->k->sessions, id);
        } else {
            r->tee_pubkey = json_loads(ss.tee_pubkey_json, JSON_REJECT_DUPLICATES, NULL);
        }
        ok = c != NULL && (r->tee_key != NULL || r->tee_pubkey != NULL) &&
             veil_ok(veil_kbs_claims_from_json(c, &r->claims));
        json_decref(c);
    }
    veil_kbs_session_free(&ss);
    if (!ok) {
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 401, "Unauthenticated",
                        "not attested: no valid session cookie or bearer token (start at "
                        "/kbs/v0/auth)");
    }
    return ok;
}

/* The policy decision; false (reply sent, audited) when the resource may not be released. */
static bool decide(struct release *r)
{
    struct veil_wr json;
    struct veil_policy p;
    struct veil_policy_decision d;
    char why[512];
    veil_result res;
    bool allow = false;

    veil_wr_init(&json, VEIL_POLICY_SIZE_MAX);
    res = veil_store_policy_get(r->k->store, r->path, &json, r->policy_target,
                                sizeof(r->policy_target), &r->policy_version);
    if (!veil_ok(res)) {
        veil_wr_free(&json);
        atomic_fetch_add(&r->k->metrics.release_denied, 1);
        (void)audit(r, "refuse", "deny", "no release policy for this resource");
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 403, "PolicyDeny",
                        "no release policy is set for this resource: nothing is released "
                        "without one (veil kbs policy set)");
        return false;
    }
    res = veil_policy_parse(json.data, json.len, &p, why, sizeof(why));
    veil_wr_free(&json);
    if (!veil_ok(res)) {
        (void)audit(r, "refuse", "error", why);
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 500, "InternalError",
                        "the stored policy does not parse");
        return false;
    }
    veil_policy_decision_init(&d);
    res = veil_policy_evaluate(&p, &r->claims, &d);
    if (veil_ok(res)) {
        allow = d.allow;
        if (!allow) {
            /* Every failed condition, not only the first; or the reason when none failed (the
             * simulated-TEE rule). */
            char all[2048];
            size_t off = (size_t)snprintf(all, sizeof(all), "denied:");
            size_t failed = 0;
            for (size_t i = 0; i < d.count && off < sizeof(all); i++) {
                if (!d.items[i].passed) {
                    off +=
                        (size_t)snprintf(all + off, sizeof(all) - off, "%s %s %s",
                                         failed++ > 0 ? ";" : "", d.items[i].path, d.items[i].text);
                }
            }
            if (failed == 0) {
                (void)snprintf(all, sizeof(all), "%s", d.reason);
            }
            atomic_fetch_add(&r->k->metrics.release_denied, 1);
            (void)audit(r, "refuse", "deny", all);
            kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 403, "PolicyDeny", d.reason);
        }
    } else {
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 500, "InternalError",
                        "policy evaluation failed");
    }
    veil_policy_decision_free(&d);
    veil_policy_free(&p);
    return allow;
}

static void release(struct release *r, const struct veil_wr *secret)
{
    EVP_PKEY *key = NULL;
    json_t *jwe = NULL;
    char *text = NULL;
    veil_result res = VEIL_RESULT_OK;

    /* A session's key was imported (and checked) once at attestation; a bearer token's is
     * imported here. */
    if (r->tee_key != NULL) {
        key = r->tee_key;
        r->tee_key = NULL;
    } else {
        res = veil_jwk_from_json(r->tee_pubkey, &key);
    }
    if (veil_ok(res)) {
        res = veil_jwe_encrypt(key, secret->data, secret->len, &jwe);
    }
    text = veil_ok(res) ? json_dumps(jwe, JSON_COMPACT) : NULL;
    if (text == NULL) {
        (void)audit(r, "refuse", "error", "cannot read or encrypt the resource");
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 500, "InternalError",
                        "cannot read or encrypt the resource");
    } else if (!audit(r, "release", "allow",
                      "policy allowed; sent as JWE to the bound tee-pubkey")) {
        /* The record is durable before the key leaves; no record, no key. */
        kbs_reply_error(r->k, KBS_EP_RESOURCE, r->t0, r->req, 500, "InternalError",
                        "cannot record the release in the audit log");
    } else {
        atomic_fetch_add(&r->k->metrics.release_allowed, 1);
        kbs_reply_json(r->k, KBS_EP_RESOURCE, r->t0, r->req, 200, text, strlen(text));
    }
    free(text);
    json_decref(jwe);
    EVP_PKEY_free(key);
}

void kbs_handle_resource(struct evhttp_request *req, void *ctx)
{
    struct release r;
    const char *path = veil_http_path(req);
    struct veil_wr secret;
    int64_t version = 0;
    veil_result res;

    memset(&r, 0, sizeof(r));
    r.k = ctx;
    r.req = req;
    r.t0 = kbs_now_s();
    veil_http_peer(req, r.peer, sizeof(r.peer));
    veil_claims_init(&r.claims);
    veil_wr_init_secret(&secret, RESOURCE_SIZE_MAX);
    /* This request usually ends with an audit record: a commit in flight may wait for it. */
    veil_store_audit_expect(r.k->store);
    if (!kbs_rate_admit(r.k, KBS_EP_RESOURCE, r.t0, req)) {
        goto out;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        kbs_reply_error(r.k, KBS_EP_RESOURCE, r.t0, req, 405, "MethodNotAllowed", "GET a resource");
        goto out;
    }
    r.path = path != NULL ? path + strlen(RESOURCE_PREFIX) : "";
    if (!veil_kbs_resource_path_valid(r.path)) {
        kbs_reply_error(r.k, KBS_EP_RESOURCE, r.t0, req, 404, "NotFound",
                        "resource paths are /kbs/v0/resource/<repo>/<type>/<tag>");
        goto out;
    }
    if (!authenticate(&r)) {
        goto out;
    }
    /* 404 only after authentication: an unattested caller learns nothing about what exists. */
    res = veil_store_resource_get(r.k->store, r.path, &secret, &version);
    if (!veil_ok(res)) {
        bool missing = res.code == VEIL_ERR_STORE_NOT_FOUND;
        kbs_reply_error(r.k, KBS_EP_RESOURCE, r.t0, req, missing ? 404 : 500,
                        missing ? "NotFound" : "InternalError",
                        missing ? "no such resource" : "the stored resource cannot be read");
        goto out;
    }
    if (decide(&r)) {
        release(&r, &secret);
    }
out:
    veil_store_audit_expect_end(r.k->store);
    veil_wr_free(&secret);
    json_decref(r.tee_pubkey);
    EVP_PKEY_free(r.tee_key);
    veil_claims_free(&r.claims);
}
