/*
 * veil-serve: the inference daemon (docs/PROTOCOL.serve.md). One struct serve is shared by every
 * worker; after start-up only the metrics change (atomics). The loaded model is read-only, so
 * workers run inferences on it concurrently.
 */
#ifndef VEIL_SERVE_DAEMON_H
#define VEIL_SERVE_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/ssl.h>

#include "attest/sim.h"
#include "base/buf.h"
#include "conf/conf.h"
#include "engine/engine.h"
#include <veil/model.h>

extern const struct veil_conf_item serve_conf_items[];
extern const size_t serve_conf_count;

enum serve_endpoint {
    SERVE_EP_HEALTH = 0,
    SERVE_EP_METADATA,
    SERVE_EP_INFER,
    SERVE_EP_ATTESTATION,
    SERVE_EP_METRICS,
    SERVE_EP_OTHER,
    SERVE_EP_COUNT,
};

#define SERVE_LATENCY_BUCKETS 12

struct serve_metrics {
    _Atomic uint64_t requests[SERVE_EP_COUNT][6]; /* by status class 1xx..5xx, index 1..5 */
    _Atomic uint64_t latency_us_sum[SERVE_EP_COUNT];
    _Atomic uint64_t infer_bucket[SERVE_LATENCY_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t infer_count;
    _Atomic uint64_t infer_us_sum;
    _Atomic uint64_t infer_failed;
};

struct serve_model {
    struct veil_engine_model *engine;
    /* locked memory (veil_locked_map_onfault) of plaintext_map_size bytes: the model's
     * plaintext_size bytes at plaintext + plaintext_pad (chosen so that its first big weight
     * payload is aligned); the engine borrows the weights in it */
    void *plaintext;
    size_t plaintext_map_size;
    size_t plaintext_pad;
    size_t plaintext_size;
    struct veil_model_info info;
    char id_hex[2 * VEIL_MODEL_ID_BYTES + 1];
    const char *name; /* the served name (model_name) */
};

struct serve {
    struct veil_conf conf;
    const char *config_path;
    struct serve_model model;
    struct veil_sim_platform sim;
    struct veil_sim_guest guest;
    bool tls;
    SSL_CTX *tls_ctx;
    EVP_PKEY *tls_key;    /* the ephemeral TLS key, when no tls_cert is configured */
    X509 *ratls_cert;     /* its self-signed attested certificate */
    struct veil_wr chain; /* kbs_cert: the broker-issued chain (PEM, leaf then CA) */
    /* kbs_cert: what each handshake presents, renewed while serving (serve_cert_renew). */
    pthread_rwlock_t cert_mu;
    X509 *cert_leaf;
    STACK_OF(X509) * cert_chain;
    time_t cert_renew_at;
    size_t body_size_max;
    size_t tensor_size_max;
    size_t response_size_max;
    /* binary inputs of this size or more are moved with the drained chains handed back
     * (serve_request_parse_evbuffer): a sixteenth of the model's footprint, at least 64 KiB */
    size_t input_hand_back_min;
    bool server_timing;  /* Server-Timing: engine;dur=MS on inference answers */
    double started_s;    /* serve_now_s() when main began */
    double model_load_s; /* sealed model check, key fetch, open and engine load */
    time_t attested_at;  /* when the broker accepted our evidence */
    struct serve_metrics metrics;
};

/* startup.c: each step logged; on failure one line "veil-serve: STEP: REASON" on stderr and a
 * non-zero return (1: refused or failed, 2: configuration). */
int serve_configure(struct serve *s, const char *config_path);
int serve_start(struct serve *s);
void serve_free(struct serve *s);

/* tls.c: the server's TLS context. THE place where the integrator switches to attested
 * certificates (veil_ratls_cert_make). */
VEIL_RESULT serve_tls_ctx(struct serve *s, SSL_CTX **out);
/* The ephemeral key and its attested certificate, made before the key broker is asked for a
 * certificate for that key (kbs_cert) or, otherwise, by serve_tls_ctx. */
VEIL_RESULT serve_tls_key(struct serve *s);
/* Presents s->chain (PEM, leaf then CA) from the next handshake on; renewal is due at two thirds
 * of the leaf's remaining lifetime. */
VEIL_RESULT serve_certs_install(struct serve *s);
/* Writes the presented certificate (chain) to tls_cert_out, if set. */
VEIL_RESULT serve_write_cert_out(struct serve *s);
/* startup.c: a new certificate for the same key from the key broker (a new attestation), when
 * s->cert_renew_at has passed; on failure, logged and tried again a minute later. */
void serve_cert_renew(struct serve *s);
/* SHA-256(SPKI DER of key) || SHA-256(nonce): what veil_ratls_report_data computes. */
VEIL_RESULT serve_report_data(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size,
                              uint8_t out[64]);

/* kserve.c: every /v2 endpoint; metrics.c: /metrics. */
void serve_handle_v2(struct evhttp_request *req, void *ctx);
void serve_handle_metrics(struct evhttp_request *req, void *ctx);

/* metrics.c */
double serve_now_s(void);
void serve_count(struct serve *s, enum serve_endpoint ep, double t0, int status);
void serve_count_infer(struct serve *s, double seconds, bool ok);

#endif
