/*
 * POST /kbs/v0/attest: the Attestation for this session's challenge. Checks, in order: the
 * session, the body, the nonce (this session's, unexpired, unused: used up here whatever follows),
 * the TEE's key, then the evidence: it must verify against the vendor roots (or the configured sim
 * root) and its report data must begin with SHA-384 of the runtime data, which binds the nonce and
 * the key. Answers a token: an EAR-shaped JWT signed by the broker, carrying the claims and key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "http/http.h"
#include "jose/jose.h"
#include "kbs.h"
#include "kbs/proto.h"
#include "verify/sim_verify.h"

struct attest_ctx {
    struct kbs *k;
    struct evhttp_request *req;
    double t0;
    char peer[64];
    struct veil_kbs_session ss;
    struct veil_kbs_attestation att;
    EVP_PKEY *tee_key;
    struct veil_claims claims;
    struct veil_report report;
};

static bool audit_attest(struct attest_ctx *a, const char *decision, const char *reasons)
{
    struct kbs_audit_claims ac;
    struct veil_audit_event ev;

    kbs_audit_claims_of(&a->claims, a->ss.tee, &ac);
    ev = (struct veil_audit_event){time(NULL),     "attest", a->peer, a->ss.tee, ac.chip_id,
                                   ac.measurement, ac.tcb,   "",      0,         "",
                                   decision,       reasons};
    return kbs_audit(a->k, &ev);
}

static void refuse(struct attest_ctx *a, int status, const char *type, const char *detail)
{
    atomic_fetch_add(&a->k->metrics.attest_refused, 1);
    (void)audit_attest(a, "deny", detail); /* answered even if the record fails (logged) */
    kbs_reply_error(a->k, KBS_EP_ATTEST, a->t0, a->req, status, type, detail);
}

/* Session and nonce: 401 for everything a replay or a late answer looks like. */
static bool check_session(struct attest_ctx *a, const uint8_t *body, size_t n)
{
    uint8_t id[32];
    char why[256] = "";
    int64_t now = (int64_t)time(NULL);
    veil_result res;

    if (!kbs_session_cookie(a->req, id) ||
        !veil_ok(veil_kbs_sessions_get(a->k->sessions, id, &a->ss))) {
        kbs_reply_error(a->k, KBS_EP_ATTEST, a->t0, a->req, 401, "UnknownSession",
                        "no valid kbs-session-id cookie: start at /kbs/v0/auth");
        return false;
    }
    if (!veil_ok(veil_kbs_attestation_parse(body, n, &a->att, why, sizeof(why)))) {
        refuse(a, 400, "InvalidRequest", why);
        return false;
    }
    if (strlen(a->att.nonce) != strlen(a->ss.nonce) ||
        CRYPTO_memcmp(a->att.nonce, a->ss.nonce, strlen(a->ss.nonce)) != 0) {
        refuse(a, 401, "NonceMismatch", "runtime-data nonce is not this session's challenge");
        return false;
    }
    res = now > a->ss.nonce_expires_at || now > a->ss.expires_at
              ? veil_result_of(VEIL_ERR_STORE_NONCE_EXPIRED)
              : veil_kbs_sessions_use_nonce(a->k->sessions, id, now);
    if (res.code == VEIL_ERR_STORE_NONCE_EXPIRED) {
        refuse(a, 401, "NonceExpired", "the challenge expired: start again at /kbs/v0/auth");
        return false;
    }
    if (!veil_ok(res)) {
        refuse(a, 401, "NonceReplayed", "this challenge was already answered: replay refused");
        return false;
    }
    return true;
}

static bool check_evidence(struct attest_ctx *a)
{
    struct veil_verify_opts opts = {.at = time(NULL),
                                    .report_data = a->att.report_data,
                                    .report_data_size = sizeof(a->att.report_data),
                                    .collateral = &a->k->collateral};
    enum veil_tee tee;
    const struct veil_check *f;
    char detail[1400];
    veil_result r;

    if (!veil_ok(veil_jwk_from_json(a->att.tee_pubkey, &a->tee_key))) {
        refuse(a, 400, "InvalidTeePubkey", "tee-pubkey is not an acceptable public JWK");
        return false;
    }
    if (!veil_tee_parse(a->ss.tee, &tee)) {
        refuse(a, 500, "InternalError", "session has an unknown TEE type");
        return false;
    }
    /* Sim evidence goes through the verified-chain cache (the chip certificate of a platform
     * is verified against the root once, not on every attestation). */
    r = tee == VEIL_TEE_SIM
            ? veil_verify_sim_cached(a->k->sim_cache, a->att.evidence, a->att.evidence_size, &opts,
                                     &a->claims, &a->report)
            : veil_verify_evidence(tee, a->att.evidence, a->att.evidence_size, &opts, &a->claims,
                                   &a->report);
    if (!veil_ok(r)) {
        f = veil_report_first_failure(&a->report);
        (void)snprintf(detail, sizeof(detail), "attestation refused: %s: %s%s%s",
                       f != NULL ? f->id : veil_error_name(r.code),
                       f != NULL ? f->detail : veil_strerror(r.code),
                       f != NULL && f->remedy != NULL ? "; " : "",
                       f != NULL && f->remedy != NULL ? f->remedy : "");
        refuse(a, 401, "AttestationFailed", detail);
        return false;
    }
    return true;
}

static veil_result issue_token(struct attest_ctx *a, struct veil_wr *out, char **claims_text,
                               char **key_text)
{
    json_t *claims = NULL;
    json_t *token_claims = NULL;
    int64_t now = (int64_t)time(NULL);
    struct veil_wr jwt;
    veil_result r = veil_kbs_claims_to_json(&a->claims, &claims);

    veil_wr_init(&jwt, 64 << 10);
    if (veil_ok(r)) {
        token_claims = json_pack(
            "{s:s, s:I, s:I, s:s, s:{s:s, s:s}, s:{s:{s:s}}, s:O, s:O}", "iss", a->k->issuer, "iat",
            (json_int_t)now, "exp", (json_int_t)(now + a->k->token_ttl_s), "eat_profile",
            "tag:github.com,2023:veraison/ear", "ear.verifier-id", "developer", "veil", "build",
            "veil-kbs", "submods", "cpu0", "ear.status", "affirming", "tee-pubkey",
            a->att.tee_pubkey, "veil.claims", claims);
        r = token_claims != NULL ? veil_jwt_sign(a->k->token_key, token_claims, &jwt)
                                 : veil_result_of(VEIL_ERR_NOMEM);
    }
    if (veil_ok(r)) {
        json_t *body = json_pack("{s:s%}", "token", (const char *)jwt.data, jwt.len);
        char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
        r = s != NULL ? veil_wr_bytes(out, s, strlen(s)) : veil_result_of(VEIL_ERR_NOMEM);
        free(s);
        json_decref(body);
    }
    if (veil_ok(r)) {
        *claims_text = json_dumps(claims, JSON_COMPACT);
        *key_text = json_dumps(a->att.tee_pubkey, JSON_COMPACT | JSON_SORT_KEYS);
        r = *claims_text != NULL && *key_text != NULL ? VEIL_RESULT_OK
                                                      : veil_result_of(VEIL_ERR_NOMEM);
    }
    veil_wr_free(&jwt);
    json_decref(token_claims);
    json_decref(claims);
    return r;
}

void kbs_handle_attest(struct evhttp_request *req, void *ctx)
{
    struct attest_ctx a;
    const uint8_t *body;
    size_t n;
    struct veil_wr out;
    char *claims_text = NULL;
    char *key_text = NULL;
    uint8_t id[32];

    memset(&a, 0, sizeof(a));
    a.k = ctx;
    a.req = req;
    a.t0 = kbs_now_s();
    veil_http_peer(req, a.peer, sizeof(a.peer));
    veil_claims_init(&a.claims);
    veil_report_init(&a.report);
    veil_wr_init(&out, 64 << 10);
    /* This request ends with an audit record: a commit in flight may wait for it. */
    veil_store_audit_expect(a.k->store);
    if (!kbs_rate_admit(a.k, KBS_EP_ATTEST, a.t0, req)) {
        goto out;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        kbs_reply_error(a.k, KBS_EP_ATTEST, a.t0, req, 405, "MethodNotAllowed",
                        "POST an Attestation");
        goto out;
    }
    if (!kbs_json_content(a.k, KBS_EP_ATTEST, a.t0, req)) {
        goto out;
    }
    if (!veil_ok(veil_http_body(req, a.k->body_size_max, &body, &n))) {
        kbs_reply_error(a.k, KBS_EP_ATTEST, a.t0, req, 413, "TooLarge", "request body too large");
        goto out;
    }
    if (!check_session(&a, body, n) || !check_evidence(&a)) {
        goto out;
    }
    if (!veil_ok(issue_token(&a, &out, &claims_text, &key_text)) || !kbs_session_cookie(req, id)) {
        refuse(&a, 500, "InternalError", "cannot issue the token");
        goto out;
    }
    /* The record is durable before the session can fetch anything and before the token leaves:
     * no record, no attested session, no token. */
    if (!audit_attest(&a, "allow",
                      "evidence verified; report data binds the nonce and tee-pubkey")) {
        kbs_reply_error(a.k, KBS_EP_ATTEST, a.t0, req, 500, "InternalError",
                        "cannot record the attestation in the audit log");
        goto out;
    }
    if (!veil_ok(veil_kbs_sessions_attest_key(a.k->sessions, id, key_text, a.tee_key, claims_text,
                                              (int64_t)time(NULL) + a.k->session_ttl_s))) {
        kbs_reply_error(a.k, KBS_EP_ATTEST, a.t0, req, 500, "InternalError",
                        "cannot issue the token");
        goto out;
    }
    atomic_fetch_add(&a.k->metrics.attest_ok, 1);
    kbs_reply_json(a.k, KBS_EP_ATTEST, a.t0, req, 200, (const char *)out.data, out.len);
out:
    veil_store_audit_expect_end(a.k->store);
    free(claims_text);
    free(key_text);
    veil_wr_free(&out);
    EVP_PKEY_free(a.tee_key);
    veil_claims_free(&a.claims);
    veil_report_free(&a.report);
    veil_kbs_attestation_free(&a.att);
    veil_kbs_session_free(&a.ss);
}
