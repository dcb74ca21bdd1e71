/* veil_verify_evidence: one entry point, one verifier per TEE. */
#include "verify/verify.h"

#include <time.h>

#include "verify/dcap.h"
#include "verify/sim_verify.h"
#include "verify/snp.h"

veil_result veil_verify_evidence(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                 const struct veil_verify_opts *opts, struct veil_claims *claims,
                                 struct veil_report *report)
{
    struct veil_verify_opts o;

    ENSURE_REF(claims);
    ENSURE_REF(report);
    ENSURE_REF(opts);
    /* One place decides what "no time given" means, for every verifier. */
    o = *opts;
    if (o.at == 0) {
        o.at = time(NULL);
    }
    switch (tee) {
        case VEIL_TEE_SNP:
            return veil_verify_snp(evidence, n, &o, claims, report);
        case VEIL_TEE_TDX:
            return veil_verify_tdx(evidence, n, &o, claims, report);
        case VEIL_TEE_SGX:
            return veil_verify_sgx(evidence, n, &o, claims, report);
        case VEIL_TEE_SIM:
            return veil_verify_sim(evidence, n, &o, claims, report);
    }
    GUARD(veil_report_add(report, "verify.tee", VEIL_CHECK_FAIL, NULL,
                          "no verifier for TEE type %s", veil_tee_name(tee)));
    BAIL(VEIL_ERR_USAGE);
}
