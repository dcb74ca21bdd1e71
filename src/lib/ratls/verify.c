/* Verifying an attested TLS certificate: extension, evidence, key binding, signature, policy. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "ratls/ratls.h"

void veil_ratls_verifier_init(struct veil_ratls_verifier *v, const struct veil_policy *policy,
                              const struct veil_collateral *collateral)
{
    memset(v, 0, sizeof(*v));
    v->policy = policy;
    v->collateral = collateral;
    veil_claims_init(&v->claims);
    veil_report_init(&v->report);
    veil_policy_decision_init(&v->decision);
}

void veil_ratls_verifier_reset(struct veil_ratls_verifier *v)
{
    veil_claims_free(&v->claims);
    veil_report_free(&v->report);
    veil_policy_decision_free(&v->decision);
    veil_claims_init(&v->claims);
    veil_report_init(&v->report);
    veil_policy_decision_init(&v->decision);
    v->failure[0] = '\0';
}

__attribute__((format(printf, 3, 4))) static veil_result refuse(struct veil_ratls_verifier *v,
                                                                int code, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(v->failure, sizeof(v->failure), fmt, ap);
    va_end(ap);
    if (n < 0) {
        (void)snprintf(v->failure, sizeof(v->failure), "%s", "refused");
    }
    return veil_result_of(code);
}

/* The first policy condition that failed, as text (the decision's reason if none is listed). */
static const char *first_failed_condition(const struct veil_policy_decision *d)
{
    for (size_t i = 0; i < d->count; i++) {
        if (!d->items[i].passed && d->items[i].text != NULL) {
            return d->items[i].text;
        }
    }
    return d->reason != NULL ? d->reason : "denied";
}

static VEIL_RESULT check_evidence(struct veil_ratls_verifier *v, X509 *cert, enum veil_tee tee,
                                  const struct veil_wr *ev)
{
    uint8_t rd[64];
    struct veil_verify_opts opts = {
        .at = v->at, .report_data = rd, .report_data_size = 32, .collateral = v->collateral};
    const struct veil_check *f;
    EVP_PKEY *key = X509_get0_pubkey(cert);
    veil_result r;

    if (key == NULL) {
        return refuse(v, VEIL_ERR_ATTEST, "ratls.key: the certificate's public key is unreadable");
    }
    GUARD(veil_ratls_report_data(key, NULL, 0, rd));
    r = veil_verify_evidence(tee, ev->data, ev->len, &opts, &v->claims, &v->report);
    if (veil_ok(r)) {
        return VEIL_RESULT_OK;
    }
    f = veil_report_first_failure(&v->report);
    if (f != NULL) {
        return refuse(v, VEIL_ERR_ATTEST, "%s: %s", f->id,
                      f->detail != NULL ? f->detail : "failed");
    }
    return refuse(v, VEIL_ERR_ATTEST, "ratls.evidence: %s evidence is malformed: %s",
                  veil_tee_name(tee), veil_strerror(r.code));
}

/* The certificate's own validity period, at v->at (0: now); the handshake does not check it
 * because the callback replaces OpenSSL's chain verification. */
static VEIL_RESULT check_validity(struct veil_ratls_verifier *v, X509 *cert)
{
    time_t at = v->at != 0 ? v->at : time(NULL);

    if (X509_cmp_time(X509_get0_notBefore(cert), &at) >= 0) {
        return refuse(
            v, VEIL_ERR_ATTEST,
            "ratls.validity: the certificate is not valid yet (or its date is unreadable)");
    }
    if (X509_cmp_time(X509_get0_notAfter(cert), &at) <= 0) {
        return refuse(v, VEIL_ERR_ATTEST,
                      "ratls.validity: the certificate has expired (or its date is unreadable)");
    }
    return VEIL_RESULT_OK;
}

/* The certificate's signature: by its own key, or by an issuer the server presented in its chain
 * (a key broker's CA, docs/PROTOCOL.kbs-certs.md). Either way it only covers the fields outside
 * the binding (names, dates): the evidence binds the key, and the handshake proves possession of
 * it, so the issuer need not be trusted here. */
static bool signed_by_self_or_chain(X509 *cert, STACK_OF(X509) * chain)
{
    if (X509_verify(cert, X509_get0_pubkey(cert)) == 1) {
        return true;
    }
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *issuer = sk_X509_value(chain, i);
        if (issuer != cert && X509_check_issued(issuer, cert) == X509_V_OK &&
            X509_verify(cert, X509_get0_pubkey(issuer)) == 1) {
            return true;
        }
    }
    return false;
}

veil_result veil_ratls_cert_verify(struct veil_ratls_verifier *v, X509 *cert)
{
    return veil_ratls_cert_verify_chain(v, cert, NULL);
}

veil_result veil_ratls_cert_verify_chain(struct veil_ratls_verifier *v, X509 *cert,
                                         STACK_OF(X509) * chain)
{
    struct veil_wr ev;
    enum veil_tee tee = VEIL_TEE_SIM;
    veil_result r;

    ENSURE(v != NULL && v->policy != NULL, VEIL_ERR_USAGE);
    veil_ratls_verifier_reset(v);
    if (cert == NULL) {
        return refuse(v, VEIL_ERR_ATTEST, "ratls.certificate: the server sent no certificate");
    }
    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    r = veil_ratls_cert_evidence(cert, &tee, &ev);
    if (!veil_ok(r)) {
        veil_wr_free(&ev);
        return refuse(v, VEIL_ERR_ATTEST, "ratls.extension: %s (OID %s)", veil_strerror(r.code),
                      VEIL_RATLS_OID);
    }
    r = check_validity(v, cert);
    if (veil_ok(r)) {
        r = check_evidence(v, cert, tee, &ev);
    }
    veil_wr_free(&ev);
    GUARD(r);
    /* The binding proves the key is the TEE's; the signature covers the other fields. */
    if (!signed_by_self_or_chain(cert, chain)) {
        veil_ossl_drain(__func__);
        return refuse(v, VEIL_ERR_ATTEST,
                      "ratls.signature: the certificate is not signed by its own key (nor by an "
                      "issuer in the presented chain)");
    }
    GUARD(veil_policy_evaluate(v->policy, &v->claims, &v->decision));
    if (!v->decision.allow) {
        return refuse(v, VEIL_ERR_POLICY, "%s", first_failed_condition(&v->decision));
    }
    return VEIL_RESULT_OK;
}
