/*
 * veil-kbs: the key broker (docs/PROTOCOL.kbs.md). One struct kbs is shared by every worker;
 * what changes at run time is either atomic (metrics), behind its own mutex (rate limiter), or
 * in the store (which serialises its own access).
 */
#ifndef VEIL_KBS_DAEMON_H
#define VEIL_KBS_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "conf/conf.h"
#include "http/http.h"
#include "kbs/cert.h"
#include "kbs/sessions.h"
#include "store/store.h"
#include "verify/sim_verify.h"
#include "verify/verify.h"

extern const struct veil_conf_item kbs_conf_items[];
extern const size_t kbs_conf_count;

enum kbs_endpoint {
    KBS_EP_AUTH = 0,
    KBS_EP_ATTEST,
    KBS_EP_RESOURCE,
    KBS_EP_METRICS,
    KBS_EP_CERT,
    KBS_EP_COUNT,
};

struct kbs_metrics {
    _Atomic uint64_t requests[KBS_EP_COUNT][6]; /* by status class 1xx..5xx, index 1..5 */
    _Atomic uint64_t latency_us_sum[KBS_EP_COUNT];
    _Atomic uint64_t attest_ok;
    _Atomic uint64_t attest_refused;
    _Atomic uint64_t release_allowed;
    _Atomic uint64_t release_denied;
    _Atomic uint64_t rate_limited;
    _Atomic uint64_t certs_issued;
    _Atomic uint64_t certs_refused;
};

#define KBS_RATE_BUCKETS 1024

struct kbs_rate_bucket {
    uint64_t key;
    double tokens;
    double last_s;
};

struct kbs {
    struct veil_conf conf;
    struct veil_store *store;
    struct veil_kbs_sessions *sessions; /* in memory: a restart loses them (docs/PROTOCOL.kbs.md) */
    EVP_PKEY *token_key;                /* signs attestation tokens (ES256) */
    struct veil_collateral collateral;
    struct veil_sim_cache *sim_cache; /* sim chip certificates whose chain verified */
    const char *issuer;
    bool tls;
    int64_t nonce_ttl_s;
    int64_t session_ttl_s;
    int64_t token_ttl_s;
    size_t body_size_max;
    struct kbs_metrics metrics;
    pthread_mutex_t rate_mu;
    double rate_per_s;
    double rate_burst;
    struct kbs_rate_bucket rate[KBS_RATE_BUCKETS];
    struct veil_kbs_ca ca; /* kbs-ca.pem/.key; both NULL when the state has no CA */
    int64_t cert_ttl_s;
    _Atomic(struct veil_http_server *) server; /* set once the workers run (for metrics) */
};

/* Endpoints (auth.c, attest.c, resource.c, metrics.c). */
void kbs_handle_auth(struct evhttp_request *req, void *ctx);
void kbs_handle_attest(struct evhttp_request *req, void *ctx);
void kbs_handle_resource(struct evhttp_request *req, void *ctx);
void kbs_handle_metrics(struct evhttp_request *req, void *ctx);
/* cert.c: POST /kbs/v0/cert (docs/PROTOCOL.kbs-certs.md); kbs_cert_load at start-up. */
void kbs_handle_cert(struct evhttp_request *req, void *ctx);
int kbs_cert_load(struct kbs *k, const char *state_dir);

/* reply.c: RFC 7807 errors and JSON replies, counted in the metrics. */
void kbs_reply_error(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req,
                     int status, const char *type, const char *detail);
void kbs_reply_json(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req,
                    int status, const char *body, size_t n);
double kbs_now_s(void);
/* The session cookie as 32 bytes; false if absent or malformed. */
bool kbs_session_cookie(struct evhttp_request *req, uint8_t id[32]);

/* True for a JSON body (Content-Type application/json, parameters allowed); else 415 is sent. */
bool kbs_json_content(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req);

/* ratelimit.c: true if the peer may go on; false (and a 429 sent) if not. */
bool kbs_rate_admit(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req);

/* What an audit record keeps of the claims (never key material): chip id, measurement (MRTD for
 * TDX, MRENCLAVE for SGX) and TCB (SNP/sim reported SNP SVN, or the Intel TCB status). */
struct kbs_audit_claims {
    char chip_id[160];
    char measurement[128];
    char tcb[64];
};
void kbs_audit_claims_of(const struct veil_claims *c, const char *tee,
                         struct kbs_audit_claims *out);

/* Audit helper: records ev and returns once it is durable; false (logged) if the store refuses.
 * A refusal is answered even then; a release or a token is not (no record, no key). */
bool kbs_audit(struct kbs *k, const struct veil_audit_event *ev);

#endif
