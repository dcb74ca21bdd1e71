/*
 * Verifier for the simulated TEE (src/lib/attest/sim.h). Same discipline as the hardware
 * verifiers: every check is recorded; the trust anchor is a sim root the operator supplies as
 * collateral (never built in), so sim evidence verifies only where someone chose to trust it.
 */
#include "verify/sim_verify.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest/sim.h"
#include "crypto/crypto.h"

static bool is_sim_root(X509 *c)
{
    char cn[128];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, cn, sizeof(cn));

    return n > 0 && strcmp(cn, VEIL_SIM_ROOT_CN) == 0 && X509_check_issued(c, c) == X509_V_OK;
}

static VEIL_RESULT add_claims(const struct veil_sim_report *r, struct veil_claims *c)
{
    GUARD(veil_claims_add_str(c, "tee", "sim"));
    GUARD(veil_claims_add_int(c, "sim.version", r->version));
    GUARD(veil_claims_add_bytes(c, "sim.measurement", r->measurement, sizeof(r->measurement)));
    GUARD(veil_claims_add_bytes(c, "sim.host_data", r->host_data, sizeof(r->host_data)));
    GUARD(veil_claims_add_bytes(c, "sim.report_data", r->report_data, sizeof(r->report_data)));
    GUARD(veil_claims_add_int(c, "sim.guest_svn", r->guest_svn));
    GUARD(veil_claims_add_int(c, "sim.policy", (int64_t)r->policy));
    GUARD(veil_claims_add_bool(c, "sim.debug", (r->policy & VEIL_SNP_POLICY_DEBUG) != 0));
    GUARD(veil_claims_add_int(c, "sim.vmpl", r->vmpl));
    GUARD(veil_claims_add_bytes(c, "sim.chip_id", r->chip_id, sizeof(r->chip_id)));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.bootloader", r->tcb.bootloader));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.tee", r->tcb.tee));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.snp", r->tcb.snp));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.microcode", r->tcb.microcode));
    return VEIL_RESULT_OK;
}

/* Chain chip -> a sim root from the collateral; validity is its own check. */
static VEIL_RESULT check_chain(X509 *chip, const struct veil_verify_opts *opts,
                               struct veil_report *rep, bool *failed)
{
    const struct veil_collateral *coll = opts->collateral;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    size_t roots = 0;
    int ok = 0;
    int err = 0;
    veil_result r = VEIL_RESULT_OK;

    if (store == NULL || ctx == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out;
    }
    for (int i = 0; coll != NULL && coll->certs != NULL && i < sk_X509_num(coll->certs); i++) {
        X509 *c = sk_X509_value(coll->certs, i);
        if (is_sim_root(c) && X509_STORE_add_cert(store, c) == 1) {
            roots++;
        }
    }
    if (roots == 0) {
        *failed = true;
        r = veil_report_add(rep, "sim.root", VEIL_CHECK_FAIL,
                            "pass the sim root certificate as collateral (root.pem in the "
                            "directory `veil sim init` made)",
                            "no simulated-TEE root certificate among the collateral");
        goto out;
    }
    r = veil_report_add(rep, "sim.root", VEIL_CHECK_PASS, NULL, "%zu sim root(s) given", roots);
    if (!veil_ok(r)) {
        goto out;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME);
    if (X509_STORE_CTX_init(ctx, store, chip, NULL) == 1) {
        ok = X509_verify_cert(ctx);
        err = X509_STORE_CTX_get_error(ctx);
    }
    if (ok != 1) {
        *failed = true;
        r = veil_report_add(rep, "sim.chain", VEIL_CHECK_FAIL,
                            "the evidence comes from another simulated platform: give its root",
                            "chip certificate does not chain to a given sim root: %s",
                            X509_verify_cert_error_string(err));
        goto out;
    }
    r = veil_report_add(rep, "sim.chain", VEIL_CHECK_PASS, NULL,
                        "chip certificate is signed by the sim root");
    if (!veil_ok(r)) {
        goto out;
    }
    if (X509_cmp_time(X509_get0_notBefore(chip), &(time_t){opts->at}) >= 0 ||
        X509_cmp_time(X509_get0_notAfter(chip), &(time_t){opts->at}) <= 0) {
        *failed = true;
        r = veil_report_add(rep, "sim.chain.validity", VEIL_CHECK_FAIL,
                            "re-create the simulated platform (veil sim init)",
                            "chip certificate is not valid at the verification time");
    } else {
        r = veil_report_add(rep, "sim.chain.validity", VEIL_CHECK_PASS, NULL,
                            "chip certificate valid at the verification time");
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    veil_ossl_drain(__func__);
    return r;
}

static VEIL_RESULT check_report(const struct veil_sim_evidence *e, X509 *chip,
                                const struct veil_verify_opts *opts, struct veil_report *rep,
                                bool *failed)
{
    uint8_t chip_id[64];
    veil_result sig;

    GUARD(veil_sim_chip_id(chip, chip_id));
    if (CRYPTO_memcmp(chip_id, e->report.chip_id, sizeof(chip_id)) != 0) {
        *failed = true;
        GUARD(veil_report_add(rep, "sim.chip_id", VEIL_CHECK_FAIL, NULL,
                              "report chip_id is not the SHA-512 of the chip certificate's key"));
    } else {
        GUARD(veil_report_add(rep, "sim.chip_id", VEIL_CHECK_PASS, NULL,
                              "report chip_id matches the chip certificate"));
    }
    sig = veil_sign_verify(X509_get0_pubkey(chip), e->body, VEIL_SIM_BODY_SIZE, e->report.signature,
                           sizeof(e->report.signature));
    if (!veil_ok(sig)) {
        *failed = true;
        GUARD(veil_report_add(rep, "sim.signature", VEIL_CHECK_FAIL,
                              "the report was altered after it was signed",
                              "report signature does not verify with the chip key"));
    } else {
        GUARD(veil_report_add(rep, "sim.signature", VEIL_CHECK_PASS, NULL,
                              "report signed by the chip key (ECDSA P-384)"));
    }
    if (opts->report_data_size == 0) {
        return veil_report_add(rep, "sim.report_data", VEIL_CHECK_SKIP, NULL,
                               "no expected report data given");
    }
    if (opts->report_data_size > sizeof(e->report.report_data) ||
        CRYPTO_memcmp(opts->report_data, e->report.report_data, opts->report_data_size) != 0) {
        *failed = true;
        return veil_report_add(rep, "sim.report_data", VEIL_CHECK_FAIL,
                               "the evidence was made for another nonce or key: it is stale or "
                               "replayed",
                               "report data does not bind the expected value");
    }
    return veil_report_add(rep, "sim.report_data", VEIL_CHECK_PASS, NULL,
                           "report data binds the expected value");
}

veil_result veil_verify_sim(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report)
{
    struct veil_sim_evidence e;
    const unsigned char *p;
    X509 *chip = NULL;
    bool failed = false;
    veil_result r = veil_sim_evidence_parse(evidence, n, &e);

    if (!veil_ok(r)) {
        GUARD(veil_report_add(report, "sim.parse", VEIL_CHECK_FAIL, NULL,
                              "not simulated-TEE evidence: %s", veil_strerror(r.code)));
        return r;
    }
    p = e.cert_der;
    chip = d2i_X509(NULL, &p, (long)e.cert_size);
    if (chip == NULL || p != e.cert_der + e.cert_size) {
        X509_free(chip);
        veil_ossl_drain(__func__);
        GUARD(veil_report_add(report, "sim.parse", VEIL_CHECK_FAIL, NULL,
                              "the chip certificate in the evidence is not valid DER"));
        BAIL(VEIL_ERR_PROTO);
    }
    r = veil_report_add(report, "sim.parse", VEIL_CHECK_PASS, NULL,
                        "simulated-TEE report v%u (no hardware behind it)", e.report.version);
    if (veil_ok(r)) {
        r = add_claims(&e.report, claims);
    }
    if (veil_ok(r)) {
        r = check_chain(chip, opts, report, &failed);
    }
    if (veil_ok(r)) {
        r = check_report(&e, chip, opts, report, &failed);
    }
    X509_free(chip);
    GUARD(r);
    ENSURE(!failed, VEIL_ERR_ATTEST);
    return VEIL_RESULT_OK;
}
