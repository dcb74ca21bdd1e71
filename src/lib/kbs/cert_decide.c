/* POST /kbs/v0/cert as a decision over the sessions and the store: session, CA, request, key
 * binding, policy, then the certificate (see cert.h and docs/PROTOCOL.kbs-certs.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/encoding.h"
#include "crypto/x509.h"
#include "jose/jose.h"
#include "kbs/cert.h"
#include "kbs/proto.h"
#include "policy/policy.h"

void veil_kbs_cert_decision_init(struct veil_kbs_cert_decision *d)
{
    memset(d, 0, sizeof(*d));
    d->type = "";
    veil_claims_init(&d->claims);
    veil_wr_init(&d->answer, VEIL_KBS_CERT_CHAIN_SIZE_MAX + 1024);
}

void veil_kbs_cert_decision_free(struct veil_kbs_cert_decision *d)
{
    veil_claims_free(&d->claims);
    veil_wr_free(&d->answer);
}

__attribute__((format(printf, 4, 5))) static bool refuse(struct veil_kbs_cert_decision *d,
                                                         int status, const char *type,
                                                         const char *fmt, ...)
{
    va_list ap;

    d->status = status;
    d->type = type;
    va_start(ap, fmt);
    (void)vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
    va_end(ap);
    return false;
}

/* The session: attested, unexpired; its claims and bound key. */
static bool check_session(struct veil_kbs_cert_decision *d, struct veil_kbs_sessions *sessions,
                          const uint8_t *id, int64_t now, EVP_PKEY **bound)
{
    struct veil_kbs_session ss;
    json_t *claims = NULL;
    json_t *jwk = NULL;
    const struct veil_claim *tee;
    bool ok = false;

    memset(&ss, 0, sizeof(ss));
    if (id == NULL || !veil_ok(veil_kbs_sessions_get(sessions, id, &ss)) || !ss.attested ||
        ss.claims_json == NULL || ss.tee_pubkey_json == NULL) {
        veil_kbs_session_free(&ss);
        return refuse(d, 401, "Unauthenticated",
                      "no attested session: POST /kbs/v0/auth and /kbs/v0/attest first, with "
                      "the key the certificate is for");
    }
    if (now > ss.expires_at) {
        veil_kbs_session_free(&ss);
        return refuse(d, 401, "SessionExpired",
                      "the attested session has expired: attest again at /kbs/v0/auth");
    }
    claims = json_loads(ss.claims_json, JSON_REJECT_DUPLICATES, NULL);
    jwk = json_loads(ss.tee_pubkey_json, JSON_REJECT_DUPLICATES, NULL);
    if (claims != NULL && jwk != NULL && veil_ok(veil_kbs_claims_from_json(claims, &d->claims)) &&
        veil_ok(veil_jwk_from_json(jwk, bound))) {
        ok = true;
        tee = veil_claims_find(&d->claims, "tee");
        if (tee != NULL && tee->type == VEIL_CLAIM_STR) {
            (void)snprintf(d->tee, sizeof(d->tee), "%s", tee->str);
        }
    } else {
        (void)refuse(d, 500, "InternalError", "the session's claims or key cannot be read");
    }
    json_decref(claims);
    json_decref(jwk);
    veil_kbs_session_free(&ss);
    return ok;
}

/* Every failed condition, for the detail (or the decision's reason when none is listed). */
static void failed_conditions(const struct veil_policy_decision *pd, char *out, size_t size)
{
    size_t off = 0;
    size_t failed = 0;

    out[0] = '\0';
    for (size_t i = 0; i < pd->count && off < size; i++) {
        if (!pd->items[i].passed) {
            int n = snprintf(out + off, size - off, "%s%s %s", failed++ > 0 ? "; " : "",
                             pd->items[i].path, pd->items[i].text);
            off = n > 0 ? off + (size_t)n : size;
        }
    }
    if (failed == 0) {
        (void)snprintf(out, size, "%s", pd->reason != NULL ? pd->reason : "denied");
    }
}

/* The policy of veil/cert/<name> over the claims plus cert.san and cert.validity_s (added to
 * d->claims, which never hold cert.* from evidence: refused if they did). */
static bool check_policy(struct veil_kbs_cert_decision *d, struct veil_store *store,
                         const struct veil_kbs_csr *csr, int64_t validity_s)
{
    const char *sans[VEIL_KBS_CERT_SAN_COUNT_MAX];
    struct veil_policy p;
    struct veil_policy_decision pd;
    struct veil_wr json;
    char why[512];
    bool allow = false;

    for (size_t i = 0; i < d->claims.count; i++) {
        if (strncmp(d->claims.items[i].name, "cert.", 5) == 0) {
            return refuse(d, 500, "InternalError", "the session's claims name cert.*");
        }
    }
    for (size_t i = 0; i < csr->san_count; i++) {
        sans[i] = csr->san[i];
    }
    if (!veil_ok(veil_claims_add_str_list(&d->claims, "cert.san", sans, csr->san_count)) ||
        !veil_ok(veil_claims_add_int(&d->claims, "cert.validity_s", validity_s))) {
        return refuse(d, 500, "InternalError", "out of memory");
    }
    veil_wr_init(&json, VEIL_POLICY_SIZE_MAX);
    if (!veil_ok(veil_store_policy_get(store, d->resource, &json, d->policy_target,
                                       sizeof(d->policy_target), &d->policy_version))) {
        veil_wr_free(&json);
        return refuse(d, 403, "PolicyDeny",
                      "no policy is set for %s (or veil/*): no certificate is issued without one",
                      d->resource);
    }
    if (!veil_ok(veil_policy_parse(json.data, json.len, &p, why, sizeof(why)))) {
        veil_wr_free(&json);
        return refuse(d, 500, "InternalError", "the stored policy does not parse: %s", why);
    }
    veil_wr_free(&json);
    veil_policy_decision_init(&pd);
    if (!veil_ok(veil_policy_evaluate(&p, &d->claims, &pd))) {
        (void)refuse(d, 500, "InternalError", "policy evaluation failed");
    } else if (!pd.allow) {
        failed_conditions(&pd, why, sizeof(why));
        (void)refuse(d, 403, "PolicyDeny", "denied: %s", why);
    } else {
        allow = true;
    }
    veil_policy_decision_free(&pd);
    veil_policy_free(&p);
    return allow;
}

/* The certificate, and the answer: {"certificate-chain": leaf + CA PEM, "not-after": N}. */
static VEIL_RESULT issue(struct veil_kbs_cert_decision *d, const struct veil_kbs_ca *ca,
                         const struct veil_kbs_csr *csr, const char *cn, int64_t now,
                         int64_t validity_s)
{
    X509 *cert = NULL;
    struct veil_wr pem;
    const ASN1_INTEGER *serial;
    json_t *j = NULL;
    char *s = NULL;
    veil_result r;

    veil_wr_init(&pem, VEIL_KBS_CERT_CHAIN_SIZE_MAX);
    r = veil_kbs_cert_issue(ca, csr, cn, now, validity_s, &cert);
    if (veil_ok(r)) {
        r = veil_x509_pem(cert, &pem);
    }
    if (veil_ok(r)) {
        r = veil_x509_pem(ca->cert, &pem);
    }
    if (veil_ok(r)) {
        serial = X509_get0_serialNumber(cert);
        r = veil_hex_encode(ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial),
                            d->serial_hex, sizeof(d->serial_hex));
    }
    if (veil_ok(r)) {
        d->not_after = now + validity_s;
        j = json_pack("{s:s%, s:I}", "certificate-chain", (const char *)pem.data, pem.len,
                      "not-after", (json_int_t)d->not_after);
        s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        r = s != NULL ? veil_wr_bytes(&d->answer, s, strlen(s)) : veil_result_of(VEIL_ERR_NOMEM);
    }
    free(s);
    json_decref(j);
    veil_wr_free(&pem);
    X509_free(cert);
    return r;
}

veil_result veil_kbs_cert_decide(const struct veil_kbs_ca *ca, struct veil_kbs_sessions *sessions,
                                 struct veil_store *store, const uint8_t *session_id,
                                 const uint8_t *body, size_t n, int64_t now, int64_t validity_s_max,
                                 struct veil_kbs_cert_decision *d)
{
    struct veil_kbs_cert_request req;
    struct veil_kbs_csr csr;
    EVP_PKEY *bound = NULL;
    char why[512] = "";
    int64_t validity_s;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(sessions != NULL && store != NULL && d != NULL &&
               validity_s_max >= VEIL_KBS_CERT_VALIDITY_MIN_S,
           VEIL_ERR_USAGE);
    memset(&req, 0, sizeof(req));
    memset(&csr, 0, sizeof(csr));
    d->status = 0;
    if (!check_session(d, sessions, session_id, now, &bound)) {
        goto out;
    }
    if (ca == NULL || ca->cert == NULL || ca->key == NULL) {
        (void)refuse(d, 404, "NotConfigured", "%s", veil_strerror(VEIL_ERR_USAGE_NO_CA));
        goto out;
    }
    if (!veil_ok(veil_kbs_cert_request_parse(body, n, &req, why, sizeof(why)))) {
        (void)refuse(d, 400, "InvalidRequest", "%s", why);
        goto out;
    }
    (void)snprintf(d->resource, sizeof(d->resource), "%s%s", VEIL_KBS_CERT_REPO, req.name);
    if (!veil_ok(veil_kbs_csr_parse(req.csr, req.csr_size, &csr, why, sizeof(why)))) {
        (void)refuse(d, 400, "InvalidCsr", "%s", why);
        goto out;
    }
    validity_s = req.validity_s > 0 ? req.validity_s : validity_s_max;
    if (validity_s > validity_s_max) {
        (void)refuse(d, 400, "InvalidRequest",
                     "validity-s %lld is above this broker's maximum of %lld seconds",
                     (long long)validity_s, (long long)validity_s_max);
        goto out;
    }
    if (EVP_PKEY_eq(csr.key, bound) != 1) {
        (void)refuse(d, 403, "KeyMismatch", "%s", veil_strerror(VEIL_ERR_CRYPTO_KEY_MISMATCH));
        goto out;
    }
    if (!check_policy(d, store, &csr, validity_s)) {
        goto out;
    }
    r = issue(d, ca, &csr, req.name, now, validity_s);
    if (veil_ok(r)) {
        int off = snprintf(d->detail, sizeof(d->detail), "issued serial %s until %lld for",
                           d->serial_hex, (long long)d->not_after);
        for (size_t i = 0; i < csr.san_count && off > 0 && (size_t)off < sizeof(d->detail); i++) {
            int m = snprintf(d->detail + off, sizeof(d->detail) - (size_t)off, " %s", csr.san[i]);
            off = m > 0 ? off + m : -1;
        }
        d->status = 200;
    } else {
        (void)refuse(d, 500, "InternalError", "cannot issue the certificate: %s",
                     veil_strerror(r.code));
        r = VEIL_RESULT_OK;
    }
out:
    EVP_PKEY_free(bound);
    veil_kbs_csr_free(&csr);
    veil_kbs_cert_request_free(&req);
    return r;
}
