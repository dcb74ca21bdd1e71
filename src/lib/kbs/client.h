/*
 * The key broker client (the TEE side of docs/PROTOCOL.kbs.md): auth, evidence binding a fresh
 * ephemeral key and the broker's nonce, attest, fetch, decrypt. Used by `veil attest fetch` and
 * by veil-serve at start-up. The ephemeral private key never leaves this function.
 */
#ifndef VEIL_KBS_CLIENT_H
#define VEIL_KBS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/result.h"
#include "verify/verify.h"

/* Produces evidence whose report data is report_data (64 bytes). */
typedef veil_result (*veil_kbs_attester_fn)(void *ctx, const uint8_t report_data[64],
                                            struct veil_wr *evidence);

/* The Attestation body: runtime data {nonce, tee-pubkey: eph as a JWK} whose hash is the report
 * data of fresh evidence from attester; *attester_failed says whether the attester was what
 * failed. */
VEIL_RESULT veil_kbs_attestation_body(const char *nonce, EVP_PKEY *eph,
                                      veil_kbs_attester_fn attester, void *attester_ctx,
                                      struct veil_wr *out, bool *attester_failed);

struct veil_kbs_client_opts {
    const char *url;    /* https://host:port (no trailing path) */
    const char *cacert; /* PEM file that authenticates the broker's TLS certificate */
    enum veil_tee tee;
    veil_kbs_attester_fn attester;
    void *attester_ctx;
    long timeout_s;
};

/* Fetches repo/type/tag into secret (a secret writer the caller initialised). On failure, why
 * says which step failed and what the broker said ("attest: 401 AttestationFailed: ..."). */
VEIL_RESULT veil_kbs_fetch(const struct veil_kbs_client_opts *o, const char *resource,
                           struct veil_wr *secret, char *why, size_t why_size);

/* A client that makes several fetches (one per call, each a session of its own on a new
 * connection, as a TEE starting afresh would) while loading the CA file once: for load
 * generators and long-lived callers. o's strings must outlive it. veil_kbs_fetch is
 * veil_kbs_client_new + veil_kbs_client_fetch + veil_kbs_client_free. VEIL_ERR_IO from
 * veil_kbs_client_new: o->cacert cannot be read. */
struct veil_kbs_client;
VEIL_RESULT veil_kbs_client_new(const struct veil_kbs_client_opts *o, struct veil_kbs_client **out);
VEIL_RESULT veil_kbs_client_fetch(struct veil_kbs_client *c, const char *resource,
                                  struct veil_wr *secret, char *why, size_t why_size);
void veil_kbs_client_free(struct veil_kbs_client *c);

/* libcurl is loaded (dlopen) for the life of each client. A caller that will make a client while
 * another thread holds the mmap lock for long (veil-serve faulting in the model's locked memory
 * with MADV_POPULATE_WRITE, which dlopen's mappings would wait for) loads it ahead with
 * veil_kbs_curl_preload; clients made meanwhile find it loaded, and it is unloaded when the last
 * of them and veil_kbs_curl_release have let go. NULL when it cannot be loaded (a client then
 * says so). */
void *veil_kbs_curl_preload(void);
void veil_kbs_curl_release(void *handle);

/* A certificate from the broker's CA for a key of ours (docs/PROTOCOL.kbs-certs.md). */
struct veil_kbs_cert_want {
    EVP_PKEY *key;    /* bound in the attestation as tee-pubkey (instead of a fresh key) */
    const char *name; /* the certificate's policy is that of veil/cert/<name> */
    const char *san;  /* "DNS:host,IP:addr" */
    long validity_s;  /* 0: the broker's default */
    X509 *ratls_cert; /* NULL, or a certificate whose RA-TLS evidence extension to carry */
};

/* In one session: attest with want->key, fetch resource (if not NULL) into secret, then ask for
 * a certificate; chain_pem receives the PEM chain (leaf, then the broker's CA), whose leaf is
 * checked to be for want->key. */
VEIL_RESULT veil_kbs_fetch_cert(const struct veil_kbs_client_opts *o, const char *resource,
                                struct veil_wr *secret, const struct veil_kbs_cert_want *want,
                                struct veil_wr *chain_pem, char *why, size_t why_size);

#endif
