/* Verifier for the simulated TEE; see verify.h for the contract. */
#ifndef VEIL_VERIFY_SIM_H
#define VEIL_VERIFY_SIM_H

#include "verify/verify.h"

VEIL_RESULT veil_verify_sim(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report);

/* Chip certificates whose chain to a sim root already verified, as the SNP verifier keeps
 * (child, issuer) pairs: a warm verifier parses no certificate and does one ECDSA verification
 * per report (its signature). An entry is the chip certificate's exact DER (compared byte for
 * byte, not by a digest alone) and the SHA-256 of the root DER that signed it; it is used only
 * when that same root is among the collateral given for this verification, so a cached chain is
 * never accepted for a different certificate or under a different trust anchor. Validity at the
 * verification time, the chip id and the report's signature are checked on every call. Safe to
 * share between threads (one mutex). */
struct veil_sim_cache;
VEIL_RESULT veil_sim_cache_new(struct veil_sim_cache **out);
void veil_sim_cache_free(struct veil_sim_cache *cache);
/* veil_verify_sim with a cache (NULL: none). opts->at must be set (not 0). */
VEIL_RESULT veil_verify_sim_cached(struct veil_sim_cache *cache, const uint8_t *evidence, size_t n,
                                   const struct veil_verify_opts *opts, struct veil_claims *claims,
                                   struct veil_report *report);

#endif
