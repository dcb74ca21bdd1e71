/* Verifier for the simulated TEE; see verify.h for the contract. */
#ifndef VEIL_VERIFY_SIM_H
#define VEIL_VERIFY_SIM_H

#include "verify/verify.h"

VEIL_RESULT veil_verify_sim(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report);

#endif
