/*
 * The key broker protocol messages (docs/PROTOCOL.kbs.md), compatible with the Confidential
 * Containers Trustee KBS protocol: Request, Challenge, Attestation, token and error bodies, the
 * runtime-data binding, and the typed claim encoding carried in sessions and tokens.
 * Parsers cap sizes, reject duplicate and unknown keys and wrong types, and name what is wrong.
 */
#ifndef VEIL_KBS_PROTO_H
#define VEIL_KBS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/result.h"
#include "verify/verify.h"

#define VEIL_KBS_PROTOCOL_VERSION  "0.1.0"
#define VEIL_KBS_BODY_SIZE_MAX     (256u << 10) /* largest request body: evidence + JWK */
#define VEIL_KBS_EVIDENCE_SIZE_MAX (128u << 10)
#define VEIL_KBS_NONCE_SIZE        32
#define VEIL_KBS_SESSION_ID_SIZE   32
#define VEIL_KBS_COOKIE_NAME       "kbs-session-id"
#define VEIL_KBS_REPORT_DATA_SIZE  48 /* SHA-384 of the runtime data, the report data's prefix */

/* Trustee's TEE names <-> ours: amd-sev-snp, intel-tdx, intel-sgx, veil-sim. */
const char *veil_kbs_tee_wire_name(enum veil_tee tee);
bool veil_kbs_tee_from_wire(const char *name, enum veil_tee *tee);

/* Request: {"version": "0.1.0", "tee": NAME, "extra-params": anything} */
struct veil_kbs_request {
    enum veil_tee tee;
};
VEIL_RESULT veil_kbs_request_parse(const uint8_t *body, size_t n, struct veil_kbs_request *req,
                                   char *why, size_t why_size);
VEIL_RESULT veil_kbs_request_build(enum veil_tee tee, struct veil_wr *out);

/* Challenge: {"nonce": base64, "extra-params": ""} */
VEIL_RESULT veil_kbs_challenge_build(const char *nonce, struct veil_wr *out);
VEIL_RESULT veil_kbs_challenge_parse(const uint8_t *body, size_t n, char *nonce, size_t nonce_size);

/* Attestation: {"runtime-data": {"nonce": N, "tee-pubkey": JWK}, "tee-evidence": base64,
 * "init-data": null (optional)}. The report data of the evidence must begin with
 * SHA-384(canonical runtime-data): compact JSON with sorted keys. */
struct veil_kbs_attestation {
    json_t *runtime_data; /* owned */
    const char *nonce;    /* inside runtime_data */
    json_t *tee_pubkey;   /* inside runtime_data */
    uint8_t *evidence;
    size_t evidence_size;
    uint8_t report_data[VEIL_KBS_REPORT_DATA_SIZE];
};
VEIL_RESULT veil_kbs_attestation_parse(const uint8_t *body, size_t n,
                                       struct veil_kbs_attestation *att, char *why,
                                       size_t why_size);
void veil_kbs_attestation_free(struct veil_kbs_attestation *att);
/* The binding: SHA-384 over the canonical serialization of runtime-data. */
VEIL_RESULT veil_kbs_runtime_data_hash(const json_t *runtime_data,
                                       uint8_t out[VEIL_KBS_REPORT_DATA_SIZE]);
/* Client side: builds runtime-data and the Attestation body around evidence. */
VEIL_RESULT veil_kbs_runtime_data_build(const char *nonce, json_t *tee_pubkey_jwk,
                                        json_t **runtime_data);
VEIL_RESULT veil_kbs_attestation_build(const json_t *runtime_data, const uint8_t *evidence,
                                       size_t evidence_size, struct veil_wr *out);

/* RFC 7807 error body: {"type": ".../errors/<type>", "detail": DETAIL}. */
VEIL_RESULT veil_kbs_error_build(const char *type, const char *detail, struct veil_wr *out);

/* Claims <-> a typed JSON list [[name, "s"|"b"|"i"|"t"|"l", value], ...] (sessions, tokens). */
VEIL_RESULT veil_kbs_claims_to_json(const struct veil_claims *c, json_t **out);
VEIL_RESULT veil_kbs_claims_from_json(const json_t *j, struct veil_claims *c);

/* Resource paths in URLs: "repo/type/tag", each segment [A-Za-z0-9._-]{1,128}, never "." or
 * "..". */
bool veil_kbs_resource_path_valid(const char *path);

#endif
