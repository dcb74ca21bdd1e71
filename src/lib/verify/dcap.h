/*
 * Intel DCAP verifiers (ECDSA P-256 quotes): TDX quote v4 and v5, SGX quote v3. Called by
 * veil_verify_evidence; see verify.h for the contract and docs/ATTESTATION.dcap.md for the checks.
 */
#ifndef VEIL_VERIFY_DCAP_H
#define VEIL_VERIFY_DCAP_H

#include "verify/verify.h"

VEIL_RESULT veil_verify_tdx(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report);
VEIL_RESULT veil_verify_sgx(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report);

#endif
