/*
 * Attested TLS (docs/PROTOCOL.ratls.md): a server's TLS 1.3 certificate carries TEE evidence in
 * the TCG DICE extension (OID 2.23.133.5.4.9, the interoperable RA-TLS format: a CBOR tag naming
 * the evidence type around the evidence bytes); the evidence's report data binds SHA-256 of the
 * certificate's SubjectPublicKeyInfo (DER). Clients verify the evidence and their policy inside
 * the TLS handshake, before a byte of their data leaves.
 */
#ifndef VEIL_RATLS_H
#define VEIL_RATLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/result.h"
#include "policy/policy.h"
#include "verify/verify.h"

#define VEIL_RATLS_OID "2.23.133.5.4.9"

/* CBOR tags naming the evidence type (docs/PROTOCOL.ratls.md). 60000 is registered with IANA
 * for Intel TEE quotes (an array holding the quote); the others are veil's own, taken from the
 * first-come-first-served range and not registered. */
#define VEIL_RATLS_TAG_INTEL_QUOTE   UINT64_C(60000)
#define VEIL_RATLS_TAG_SNP           UINT64_C(0x56454901) /* "VEI" 1 */
#define VEIL_RATLS_TAG_SIM           UINT64_C(0x56454904) /* "VEI" 4 */
#define VEIL_RATLS_EVIDENCE_SIZE_MAX (64u << 10)
#define VEIL_RATLS_EXT_SIZE_MAX      (VEIL_RATLS_EVIDENCE_SIZE_MAX + 32u)

/* The extension value: tag(bstr evidence), or 60000([bstr quote]) for TDX and SGX. */
VEIL_RESULT veil_ratls_ext_encode(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                  struct veil_wr *out);
/* Strict decoding: definite lengths, shortest heads, a known tag, no trailing bytes, sizes
 * capped. evidence receives a copy (VEIL_ERR_RATLS_EXTENSION / VEIL_ERR_RATLS_TAG). */
VEIL_RESULT veil_ratls_ext_decode(const uint8_t *data, size_t n, enum veil_tee *tee,
                                  struct veil_wr *evidence);

/* Produces evidence of type tee whose report data is report_data (64 bytes). */
typedef veil_result (*veil_ratls_attester_fn)(void *ctx, const uint8_t report_data[64],
                                              struct veil_wr *evidence);

/* Report data: SHA-256(SPKI DER of key) || (nonce ? SHA-256(nonce) : 32 zero bytes). */
VEIL_RESULT veil_ratls_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                                   uint8_t out[64]);

/* A self-signed certificate for key (CN, validity), with the evidence extension. */
VEIL_RESULT veil_ratls_cert_make(EVP_PKEY *key, const char *cn, long validity_s, enum veil_tee tee,
                                 veil_ratls_attester_fn attester, void *attester_ctx, X509 **out);

/* The same, with a subjectAltName (e.g. "DNS:localhost,IP:127.0.0.1") so that clients that pin
 * the certificate instead of verifying its evidence (curl --cacert) can also check the name. */
VEIL_RESULT veil_ratls_cert_make_san(EVP_PKEY *key, const char *cn, const char *san,
                                     long validity_s, enum veil_tee tee,
                                     veil_ratls_attester_fn attester, void *attester_ctx,
                                     X509 **out);

/* The evidence in a certificate (VEIL_ERR_PROTO if the extension is missing or malformed). */
VEIL_RESULT veil_ratls_cert_evidence(X509 *cert, enum veil_tee *tee, struct veil_wr *evidence);

/* What a client requires of a server. */
struct veil_ratls_verifier {
    const struct veil_policy *policy;         /* required */
    const struct veil_collateral *collateral; /* may be NULL */
    time_t at;                                /* 0: now */
    /* Filled by the verification (owned by the verifier; veil_ratls_verifier_reset frees): */
    struct veil_claims claims;
    struct veil_report report;
    struct veil_policy_decision decision;
    char failure[1024]; /* one line, set when verification refused the server */
};
void veil_ratls_verifier_init(struct veil_ratls_verifier *v, const struct veil_policy *policy,
                              const struct veil_collateral *collateral);
void veil_ratls_verifier_reset(struct veil_ratls_verifier *v);

/* Verifies a certificate: evidence extension present, evidence verifies, report data binds the
 * certificate's key, policy allows. VEIL_ERR_ATTEST / VEIL_ERR_POLICY with v->failure set. */
VEIL_RESULT veil_ratls_cert_verify(struct veil_ratls_verifier *v, X509 *cert);
/* The same, for a certificate that may be signed by an issuer in chain (the rest of what the
 * server presented, e.g. a key broker's CA) instead of by its own key. */
VEIL_RESULT veil_ratls_cert_verify_chain(struct veil_ratls_verifier *v, X509 *cert,
                                         STACK_OF(X509) * chain);

/* Makes ctx (a client context) verify servers this way during the handshake (TLS 1.3 only). */
VEIL_RESULT veil_ratls_client_ctx(SSL_CTX *ctx, struct veil_ratls_verifier *v);

/* ---- Server side and the simulated TEE (additions). */

/* A TLS 1.3-only server context presenting cert with key (both borrowed: the context takes its
 * own references). */
VEIL_RESULT veil_ratls_server_ctx(X509 *cert, EVP_PKEY *key, SSL_CTX **out);

/* Attesters: veil_sim_attester (src/lib/attest/sim.h) for the simulated TEE. */

/* ---- Clients over libcurl (curl.c). */

/* Makes a libcurl easy handle verify the server with v inside the handshake: TLS 1.3 only,
 * https only, no session resumption, no host name check (the server's identity is its attested
 * key, not a name). v must outlive every transfer on the handle. */
VEIL_RESULT veil_ratls_curl_setup(CURL *curl, struct veil_ratls_verifier *v);

/* Reads a policy file and collateral paths into a verifier's parts. On failure why holds one
 * sentence. */
VEIL_RESULT veil_ratls_load(const char *policy_path, const char *const *collateral,
                            size_t collateral_count, struct veil_policy *policy,
                            struct veil_collateral *coll, char *why, size_t why_size);

#endif
