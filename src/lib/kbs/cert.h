/*
 * Broker-issued short-lived certificates (docs/PROTOCOL.kbs-certs.md): after a successful
 * attestation, a TEE asks POST /kbs/v0/cert with a PKCS#10 request for the very key its evidence
 * bound; the broker's CA signs it for a short time if the policy of veil/cert/<name> allows the
 * claims and the requested names. Plain TLS clients that trust the CA (curl --cacert kbs-ca.pem)
 * then get the assurance of the attestation too.
 *
 * Request body: {"name": NAME, "csr": base64url(DER PKCS#10), "validity-s": N (optional)}
 * Answer:       {"certificate-chain": PEM leaf then CA, "not-after": unix seconds}
 */
#ifndef VEIL_KBS_CERT_H
#define VEIL_KBS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "base/result.h"
#include "kbs/sessions.h"
#include "store/store.h"
#include "verify/verify.h"

#define VEIL_KBS_CERT_NAME_SIZE_MAX  64          /* [A-Za-z0-9._-], not "." or ".." */
#define VEIL_KBS_CSR_SIZE_MAX        (96u << 10) /* DER, evidence extension included */
#define VEIL_KBS_CERT_SAN_COUNT_MAX  16
#define VEIL_KBS_CERT_SAN_SIZE_MAX   260 /* "DNS:" + a 253-byte name */
#define VEIL_KBS_CERT_VALIDITY_MIN_S 60
#define VEIL_KBS_CERT_CHAIN_SIZE_MAX (160u << 10)
#define VEIL_KBS_CERT_REPO           "veil/cert/"
#define VEIL_KBS_CA_CERT_FILE        "kbs-ca.pem"
#define VEIL_KBS_CA_KEY_FILE         "kbs-ca.key"

/* ---- The request body. */
struct veil_kbs_cert_request {
    char name[VEIL_KBS_CERT_NAME_SIZE_MAX + 1];
    uint8_t *csr; /* DER, owned */
    size_t csr_size;
    int64_t validity_s; /* 0: the broker's default */
};
VEIL_RESULT veil_kbs_cert_request_parse(const uint8_t *body, size_t n,
                                        struct veil_kbs_cert_request *req, char *why,
                                        size_t why_size);
void veil_kbs_cert_request_free(struct veil_kbs_cert_request *req);
VEIL_RESULT veil_kbs_cert_request_build(const char *name, const uint8_t *csr, size_t csr_size,
                                        int64_t validity_s, struct veil_wr *out);

/* ---- The answer: the PEM chain (checked to hold at least one certificate, capped). */
VEIL_RESULT veil_kbs_cert_response_parse(const uint8_t *body, size_t n, struct veil_wr *chain_pem);

/* ---- PKCS#10 requests. */
struct veil_kbs_csr {
    X509_REQ *req;
    EVP_PKEY *key; /* inside req */
    char san[VEIL_KBS_CERT_SAN_COUNT_MAX][VEIL_KBS_CERT_SAN_SIZE_MAX];
    size_t san_count;
    X509_EXTENSION *san_ext;      /* owned */
    X509_EXTENSION *evidence_ext; /* owned; NULL if the request carries no RA-TLS evidence */
};
/* Strict: the DER is one whole request, its signature verifies with its key (EC P-256/P-384 or
 * RSA 2048..8192), it names 1..16 subject alternative names, each a DNS name (letters, digits,
 * hyphens, dots; no wildcard) or an IP address, and it asks for no extension other than
 * subjectAltName and the RA-TLS evidence extension (well formed). VEIL_ERR_PROTO_CSR or
 * VEIL_ERR_PROTO_SAN, with why. */
VEIL_RESULT veil_kbs_csr_parse(const uint8_t *der, size_t n, struct veil_kbs_csr *out, char *why,
                               size_t why_size);
void veil_kbs_csr_free(struct veil_kbs_csr *c);
/* A request for key with san ("DNS:a,IP:b") and, if ratls_cert is given, a copy of its RA-TLS
 * evidence extension (so that the issued certificate keeps it). */
VEIL_RESULT veil_kbs_csr_make(EVP_PKEY *key, const char *cn, const char *san, X509 *ratls_cert,
                              struct veil_wr *der);

/* ---- The certificate authority (kbs-ca.pem, kbs-ca.key). */
struct veil_kbs_ca {
    X509 *cert;
    EVP_PKEY *key;
};
/* A new CA: ECDSA P-384 key, self-signed, CA:TRUE, pathlen 0. */
VEIL_RESULT veil_kbs_ca_create(const char *cn, long validity_s, struct veil_kbs_ca *ca);
VEIL_RESULT veil_kbs_ca_load(const char *cert_path, const char *key_path, struct veil_kbs_ca *ca);
void veil_kbs_ca_free(struct veil_kbs_ca *ca);

/* A certificate for the request's key and names, valid from now - 60 s to now + validity_s,
 * CA:FALSE, digitalSignature, serverAuth, with the request's evidence extension if any. */
VEIL_RESULT veil_kbs_cert_issue(const struct veil_kbs_ca *ca, const struct veil_kbs_csr *csr,
                                const char *cn, int64_t now, int64_t validity_s, X509 **out);

/* ---- The whole decision of POST /kbs/v0/cert, over the sessions and the store (policy). */
struct veil_kbs_cert_decision {
    int status;       /* 200, or the HTTP status of the refusal */
    const char *type; /* RFC 7807 problem type ("" on success) */
    char detail[640];
    char resource[sizeof(VEIL_KBS_CERT_REPO) + VEIL_KBS_CERT_NAME_SIZE_MAX];
    char policy_target[400];
    int64_t policy_version;
    struct veil_claims claims; /* the session's claims (for the audit record) */
    char tee[16];
    struct veil_wr answer; /* 200: the JSON answer (chain PEM, leaf then CA; not-after) */
    int64_t not_after;
    char serial_hex[41];
};
void veil_kbs_cert_decision_init(struct veil_kbs_cert_decision *d);
void veil_kbs_cert_decision_free(struct veil_kbs_cert_decision *d);
/* Checks, in order: an attested session that has not expired (401), a CA (404 NotConfigured),
 * the body and the CSR (400), the validity (400 if above validity_s_max), the CSR's key equals the
 * session's bound tee-pubkey (403 KeyMismatch), a policy for veil/cert/<name> (its own or
 * veil/\*) that allows the claims plus cert.san and cert.validity_s (403 PolicyDeny); then issues.
 * ca may be NULL (not configured); session_id NULL means no cookie. Fails only for internal
 * errors; every refusal is a decision. */
VEIL_RESULT veil_kbs_cert_decide(const struct veil_kbs_ca *ca, struct veil_kbs_sessions *sessions,
                                 struct veil_store *store, const uint8_t *session_id,
                                 const uint8_t *body, size_t n, int64_t now, int64_t validity_s_max,
                                 struct veil_kbs_cert_decision *d);

#endif
