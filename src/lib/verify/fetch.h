/*
 * Online collateral (docs/ATTESTATION.fetch.md): what a verification needs and the evidence does
 * not carry, fetched from AMD KDS (VCEK, ASK/ARK chain) or Intel PCS (TCB info, QE identity, PCK
 * CRL and their issuer chains, the root CA CRL), through libcurl, with an on-disk cache and
 * back-off. Offline remains the default: nothing here runs unless a caller asks for it, and what
 * is fetched is only collateral, verified like any other (it is never trusted for being fetched).
 */
#ifndef VEIL_VERIFY_FETCH_H
#define VEIL_VERIFY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "verify/verify.h"

#define VEIL_FETCH_AMD_KDS     "https://kdsintf.amd.com"
#define VEIL_FETCH_INTEL_PCS   "https://api.trustedservices.intel.com"
#define VEIL_FETCH_INTEL_CERTS "https://certificates.trustedservices.intel.com"
#define VEIL_FETCH_BODY_MAX    (1u << 20)

struct veil_fetch {
    const char *amd_kds;     /* NULL: VEIL_FETCH_AMD_KDS */
    const char *intel_pcs;   /* NULL: VEIL_FETCH_INTEL_PCS */
    const char *intel_certs; /* NULL: VEIL_FETCH_INTEL_CERTS */
    const char *cache_dir;   /* NULL: no cache */
    const char *cacert;      /* CA file for the HTTPS servers (NULL: system store) */
    long timeout_s;          /* per request; 0: 30 */
    unsigned retries;        /* after the first attempt, on errors, 429 and 5xx; 0: 3 */
    long max_age_s;          /* CRLs, TCB info, QE identity are refetched after this; 0: 1 day.
                                Certificates are kept until they expire (the verifier says). */
    unsigned backoff_ms;     /* first retry delay, doubled each time; 0: 250 */
};

/* Adds to out the collateral that the evidence of this TEE needs. Fails with a sentence in why
 * (which URL, which status) when a required document cannot be had. */
VEIL_RESULT veil_fetch_collateral(const struct veil_fetch *f, enum veil_tee tee,
                                  const uint8_t *evidence, size_t n, struct veil_collateral *out,
                                  char *why, size_t why_size);

/* In place: %XX sequences to bytes (how PCS sends issuer chains in headers). A '%' not followed
 * by two hex digits is VEIL_ERR_PROTO_ENCODING. */
VEIL_RESULT veil_fetch_url_decode(struct veil_wr *w);

#endif
