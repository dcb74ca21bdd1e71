/* veil_verify_evidence: one entry point, one verifier per TEE. */
#include "verify/verify.h"

#include "verify/snp.h"

veil_result veil_verify_evidence(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                 const struct veil_verify_opts *opts, struct veil_claims *claims,
                                 struct veil_report *report)
{
    ENSURE_REF(claims);
    ENSURE_REF(report);
    switch (tee) {
        case VEIL_TEE_SNP:
            return veil_verify_snp(evidence, n, opts, claims, report);
        case VEIL_TEE_TDX:
        case VEIL_TEE_SGX:
            /* Intel TDX/SGX: veil_verify_tdx() and veil_verify_sgx() (src/lib/verify/dcap.h)
             * come from the dcap branch; the integrator replaces this case with
             *     return tee == VEIL_TEE_TDX ? veil_verify_tdx(...) : veil_verify_sgx(...);
             * Until then they are refused as not supported, never passed. */
            GUARD(veil_report_add(report, tee == VEIL_TEE_TDX ? "tdx.supported" : "sgx.supported",
                                  VEIL_CHECK_FAIL, "use a veil build with the Intel DCAP verifier",
                                  "%s evidence is not supported by this build",
                                  veil_tee_name(tee)));
            BAIL(VEIL_ERR_USAGE);
        case VEIL_TEE_SIM:
            break;
    }
    GUARD(veil_report_add(report, "verify.tee", VEIL_CHECK_FAIL, NULL,
                          "no verifier for TEE type %s", veil_tee_name(tee)));
    BAIL(VEIL_ERR_USAGE);
}
