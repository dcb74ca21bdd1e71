/* POST /kbs/v0/auth: Request -> Challenge, and a new session cookie. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "base/encoding.h"
#include "http/http.h"
#include "kbs.h"
#include "kbs/proto.h"

void kbs_handle_auth(struct evhttp_request *req, void *ctx)
{
    struct kbs *k = ctx;
    double t0 = kbs_now_s();
    struct veil_kbs_request r;
    struct veil_kbs_session ss;
    uint8_t nonce[VEIL_KBS_NONCE_SIZE];
    char cookie_value[64];
    char cookie[160];
    char why[256] = "";
    const uint8_t *body;
    size_t n;
    struct veil_wr out;
    int64_t now = (int64_t)time(NULL);
    veil_result res;

    if (!kbs_rate_admit(k, KBS_EP_AUTH, t0, req)) {
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 405, "MethodNotAllowed", "POST a Request");
        return;
    }
    if (!kbs_json_content(k, KBS_EP_AUTH, t0, req)) {
        return;
    }
    if (!veil_ok(veil_http_body(req, k->body_size_max, &body, &n)) ||
        !veil_ok(veil_kbs_request_parse(body, n, &r, why, sizeof(why)))) {
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 400, "InvalidRequest",
                        why[0] != '\0' ? why : "request body too large");
        return;
    }
    memset(&ss, 0, sizeof(ss));
    if (RAND_bytes(ss.id, sizeof(ss.id)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1 ||
        !veil_ok(veil_b64_encode(nonce, sizeof(nonce), VEIL_B64_URL, ss.nonce, sizeof(ss.nonce))) ||
        !veil_ok(veil_b64_encode(ss.id, sizeof(ss.id), VEIL_B64_URL, cookie_value,
                                 sizeof(cookie_value)))) {
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 500, "InternalError", "no randomness");
        return;
    }
    (void)snprintf(ss.tee, sizeof(ss.tee), "%s", veil_tee_name(r.tee));
    ss.created_at = now;
    ss.nonce_expires_at = now + k->nonce_ttl_s;
    ss.expires_at = now + k->session_ttl_s;
    res = veil_kbs_sessions_create(k->sessions, &ss, now);
    if (res.code == VEIL_ERR_KBS_SESSIONS_FULL) {
        (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "10");
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 503, "TooManySessions",
                        "the broker holds as many sessions as it may: retry later");
        return;
    }
    if (!veil_ok(res)) {
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 500, "InternalError", "cannot store the session");
        return;
    }
    (void)snprintf(cookie, sizeof(cookie), "%s=%s; Path=/kbs; HttpOnly; SameSite=Strict%s",
                   VEIL_KBS_COOKIE_NAME, cookie_value, k->tls ? "; Secure" : "");
    (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
    veil_wr_init(&out, 1024);
    if (veil_ok(veil_kbs_challenge_build(ss.nonce, &out))) {
        kbs_reply_json(k, KBS_EP_AUTH, t0, req, 200, (const char *)out.data, out.len);
    } else {
        kbs_reply_error(k, KBS_EP_AUTH, t0, req, 500, "InternalError",
                        "cannot build the challenge");
    }
    veil_wr_free(&out);
}
