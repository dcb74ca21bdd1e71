/*
 * Attestation verification: evidence in, normalized claims and a per-check report out.
 *
 * A verifier parses the evidence with the bounded reader, runs every check it can (signature,
 * certificate chain to a pinned vendor root, TCB, collateral validity at opts->at, report-data
 * binding) and records each one in the report, passed or failed, with a sentence a person can act
 * on. It does not stop at the first failure when later checks are still meaningful, so that the
 * report shows everything that is wrong.
 *
 * Return value: VEIL_RESULT_OK when every check passed; VEIL_ERR_ATTEST when any check failed
 * (claims and report hold what was established); a PROTO error when the evidence could not be
 * parsed at all.
 */
#ifndef VEIL_VERIFY_H
#define VEIL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/result.h"

enum veil_tee {
    VEIL_TEE_SNP = 1,
    VEIL_TEE_TDX = 2,
    VEIL_TEE_SGX = 3,
    VEIL_TEE_SIM = 4, /* software-simulated; no policy accepts it unless it names it */
};

/* "snp", "tdx", "sgx", "sim"; parse returns false on an unknown name. */
const char *veil_tee_name(enum veil_tee tee);
bool veil_tee_parse(const char *name, enum veil_tee *out);

/* ---- Claims: a flat, ordered set of normalized names ("snp.measurement", "tdx.rtmr[0]"). */

enum veil_claim_type {
    VEIL_CLAIM_STR = 1,
    VEIL_CLAIM_BYTES = 2, /* shown as lower-case hex */
    VEIL_CLAIM_INT = 3,
    VEIL_CLAIM_BOOL = 4,
    VEIL_CLAIM_STR_LIST = 5, /* e.g. tdx.advisory_ids */
};

struct veil_claim {
    char *name;
    enum veil_claim_type type;
    char *str; /* STR */
    uint8_t *bytes;
    size_t bytes_size; /* BYTES */
    int64_t i;         /* INT */
    bool b;            /* BOOL */
    char **list;
    size_t list_count; /* STR_LIST */
};

struct veil_claims {
    struct veil_claim *items;
    size_t count;
    size_t cap;
};

void veil_claims_init(struct veil_claims *c);
void veil_claims_free(struct veil_claims *c);
/* Adding a name that exists replaces its value. */
VEIL_RESULT veil_claims_add_str(struct veil_claims *c, const char *name, const char *v);
VEIL_RESULT veil_claims_add_bytes(struct veil_claims *c, const char *name, const uint8_t *v,
                                  size_t n);
VEIL_RESULT veil_claims_add_int(struct veil_claims *c, const char *name, int64_t v);
VEIL_RESULT veil_claims_add_bool(struct veil_claims *c, const char *name, bool v);
VEIL_RESULT veil_claims_add_str_list(struct veil_claims *c, const char *name, const char *const *v,
                                     size_t count);
const struct veil_claim *veil_claims_find(const struct veil_claims *c, const char *name);
/* The claim's value as text: hex for bytes, decimal for ints, "true"/"false", "a,b" for lists.
 * Returns a malloc'ed string or NULL on allocation failure. */
char *veil_claim_value_text(const struct veil_claim *claim);

/* ---- The check report: every check that ran, in order. */

enum veil_check_status {
    VEIL_CHECK_PASS = 1,
    VEIL_CHECK_FAIL = 2,
    VEIL_CHECK_SKIP = 3, /* not applicable or not possible (e.g. no CRL given): never a pass */
};

struct veil_check {
    char *id; /* stable, machine-readable: "snp.signature", "tdx.tcb_info.validity" */
    enum veil_check_status status;
    char *detail; /* what was checked and what was found */
    char *remedy; /* on failure: what to do about it (may be NULL) */
};

struct veil_report {
    struct veil_check *items;
    size_t count;
    size_t cap;
};

void veil_report_init(struct veil_report *r);
void veil_report_free(struct veil_report *r);
/* Records one check. remedy may be NULL. Allocation failure is returned, never ignored. */
__attribute__((format(printf, 5, 6))) VEIL_RESULT veil_report_add(struct veil_report *r,
                                                                  const char *id,
                                                                  enum veil_check_status status,
                                                                  const char *remedy,
                                                                  const char *fmt, ...);
/* True when there is at least one check and none failed. */
bool veil_report_passed(const struct veil_report *r);
const struct veil_check *veil_report_find(const struct veil_report *r, const char *id);
/* The first failed check, or NULL. */
const struct veil_check *veil_report_first_failure(const struct veil_report *r);

/* ---- Collateral: whatever the user has, recognized by content (not by file name). */

struct veil_collateral {
    STACK_OF(X509) * certs;    /* every certificate found (PEM or DER, singles or chains) */
    STACK_OF(X509_CRL) * crls; /* every CRL found (PEM or DER) */
    char **json;               /* JSON documents (TCB info, QE identity, bundles), NUL-ended */
    size_t *json_size;
    size_t json_count;
};

void veil_collateral_init(struct veil_collateral *c);
void veil_collateral_free(struct veil_collateral *c);
/* A file or a directory (not recursive); files that are none of the above are an error
 * VEIL_ERR_PROTO naming the file via the debug log. Each file is capped at 16 MiB. */
VEIL_RESULT veil_collateral_add_path(struct veil_collateral *c, const char *path);
/* The same, for bytes already in memory. */
VEIL_RESULT veil_collateral_add_bytes(struct veil_collateral *c, const uint8_t *data, size_t n);

/* ---- Verification. */

struct veil_verify_opts {
    time_t at; /* verification time: certificate and collateral validity are judged at it;
                  0 means now (veil_verify_evidence substitutes the clock) */
    const uint8_t *report_data; /* expected report_data (may be shorter: compared as prefix) */
    size_t report_data_size;    /* 0: not checked */
    const struct veil_collateral *collateral; /* may be NULL */
    int64_t min_tcb_eval_number; /* DCAP: the TCB info and QE identity must have at least this
                                    tcbEvaluationDataNumber (TCB recovery freshness); 0: any */
};

VEIL_RESULT veil_verify_evidence(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                 const struct veil_verify_opts *opts, struct veil_claims *claims,
                                 struct veil_report *report);

/* ---- Rendering (render.c). */

struct veil_wr;
typedef struct json_t json_t;

/* "pass", "fail", "skip". */
const char *veil_check_status_name(enum veil_check_status s);
/* {"tee", "verified", "first_failure"?, "claims": {name: value}, "checks": [{"id", "status",
 * "detail", "remedy"?}]}; bytes are lower-case hex strings. NULL on allocation failure. */
json_t *veil_verify_render_json(enum veil_tee tee, const struct veil_claims *claims,
                                const struct veil_report *report);
/* The same for people: claims, then one line per check with the remedy under each failure,
 * then the result line. out is initialised here; free it with veil_wr_free, also on failure. */
VEIL_RESULT veil_verify_render_text(const struct veil_claims *claims,
                                    const struct veil_report *report, struct veil_wr *out);

#endif
