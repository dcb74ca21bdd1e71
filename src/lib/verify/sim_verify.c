/*
 * Verifier for the simulated TEE (src/lib/attest/sim.h). Same discipline as the hardware
 * verifiers: every check is recorded; the trust anchor is a sim root the operator supplies as
 * collateral (never built in), so sim evidence verifies only where someone chose to trust it.
 */
#include "verify/sim_verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest/sim.h"
#include "crypto/crypto.h"

#define CACHE_ENTRIES_MAX 32
#define CERT_DER_SIZE_MAX 8192

/* One chip certificate whose chain verified: its DER, parsed form, chip id and root digest. */
struct sim_cache_entry {
    uint8_t *der;
    size_t der_size;
    X509 *chip;
    uint8_t chip_id[64];
    uint8_t root_sha256[32];
};

struct veil_sim_cache {
    pthread_mutex_t mu;
    struct sim_cache_entry e[CACHE_ENTRIES_MAX];
    size_t count;
    size_t next; /* ring: the oldest entry is replaced when full */
};

/* What one verification knows about its chip certificate. */
struct sim_chip {
    X509 *chip;              /* owned reference */
    uint8_t chip_id[64];     /* SHA-512 of its public key */
    bool cached;             /* found in the cache: the chain verified earlier ... */
    uint8_t root_sha256[32]; /* ... to the root with this digest */
};

veil_result veil_sim_cache_new(struct veil_sim_cache **out)
{
    struct veil_sim_cache *c;

    ENSURE_REF(out);
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        BAIL(VEIL_ERR_NOMEM);
    }
    *out = c;
    return VEIL_RESULT_OK;
}

static void cache_lock(struct veil_sim_cache *cache)
{
    int rc = pthread_mutex_lock(&cache->mu);

    VEIL_ASSERT(rc == 0);
}

static void cache_unlock(struct veil_sim_cache *cache)
{
    int rc = pthread_mutex_unlock(&cache->mu);

    VEIL_ASSERT(rc == 0);
}

static void entry_clear(struct sim_cache_entry *e)
{
    free(e->der);
    X509_free(e->chip);
    memset(e, 0, sizeof(*e));
}

void veil_sim_cache_free(struct veil_sim_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    for (size_t i = 0; i < cache->count; i++) {
        entry_clear(&cache->e[i]);
    }
    (void)pthread_mutex_destroy(&cache->mu);
    free(cache);
}

/* Fills out from the entry whose DER is exactly der; false if none. */
static bool cache_find(struct veil_sim_cache *cache, const uint8_t *der, size_t n,
                       struct sim_chip *out)
{
    bool found = false;

    if (cache == NULL) {
        return false;
    }
    cache_lock(cache);
    for (size_t i = 0; i < cache->count && !found; i++) {
        struct sim_cache_entry *e = &cache->e[i];
        if (e->der_size == n && memcmp(e->der, der, n) == 0 && X509_up_ref(e->chip) == 1) {
            out->chip = e->chip;
            memcpy(out->chip_id, e->chip_id, sizeof(out->chip_id));
            memcpy(out->root_sha256, e->root_sha256, sizeof(out->root_sha256));
            out->cached = true;
            found = true;
        }
    }
    cache_unlock(cache);
    return found;
}

/* Remembers a chip certificate whose chain to the root with root_sha256 has just verified. */
static void cache_add(struct veil_sim_cache *cache, const uint8_t *der, size_t n,
                      const struct sim_chip *c, const uint8_t root_sha256[32])
{
    struct sim_cache_entry e;

    if (cache == NULL || n > CERT_DER_SIZE_MAX || X509_up_ref(c->chip) != 1) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.chip = c->chip;
    e.der = malloc(n);
    if (e.der == NULL) {
        X509_free(e.chip);
        return; /* not cached: the next verification does the whole chain again */
    }
    memcpy(e.der, der, n);
    e.der_size = n;
    memcpy(e.chip_id, c->chip_id, sizeof(e.chip_id));
    memcpy(e.root_sha256, root_sha256, sizeof(e.root_sha256));
    cache_lock(cache);
    for (size_t i = 0; i < cache->count; i++) {
        if (cache->e[i].der_size == n && memcmp(cache->e[i].der, der, n) == 0) {
            /* Another thread cached it meanwhile; keep one entry per certificate. */
            cache_unlock(cache);
            entry_clear(&e);
            return;
        }
    }
    entry_clear(&cache->e[cache->next]);
    cache->e[cache->next] = e;
    cache->next = (cache->next + 1) % CACHE_ENTRIES_MAX;
    if (cache->count < CACHE_ENTRIES_MAX) {
        cache->count++;
    }
    cache_unlock(cache);
}

static bool cert_sha256(X509 *x, uint8_t out[32])
{
    unsigned int n = 0;

    return X509_digest(x, EVP_sha256(), out, &n) == 1 && n == 32;
}

static bool is_sim_root(X509 *c)
{
    char cn[128];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, cn, sizeof(cn));

    return n > 0 && strcmp(cn, VEIL_SIM_ROOT_CN) == 0 && X509_check_issued(c, c) == X509_V_OK;
}

static VEIL_RESULT add_claims(const struct veil_sim_report *r, struct veil_claims *c)
{
    GUARD(veil_claims_add_str(c, "tee", "sim"));
    GUARD(veil_claims_add_int(c, "sim.version", r->version));
    GUARD(veil_claims_add_bytes(c, "sim.measurement", r->measurement, sizeof(r->measurement)));
    GUARD(veil_claims_add_bytes(c, "sim.host_data", r->host_data, sizeof(r->host_data)));
    GUARD(veil_claims_add_bytes(c, "sim.report_data", r->report_data, sizeof(r->report_data)));
    GUARD(veil_claims_add_int(c, "sim.guest_svn", r->guest_svn));
    GUARD(veil_claims_add_int(c, "sim.policy", (int64_t)r->policy));
    GUARD(veil_claims_add_bool(c, "sim.debug", (r->policy & VEIL_SNP_POLICY_DEBUG) != 0));
    GUARD(veil_claims_add_int(c, "sim.vmpl", r->vmpl));
    GUARD(veil_claims_add_bytes(c, "sim.chip_id", r->chip_id, sizeof(r->chip_id)));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.bootloader", r->tcb.bootloader));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.tee", r->tcb.tee));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.snp", r->tcb.snp));
    GUARD(veil_claims_add_int(c, "sim.tcb.reported.microcode", r->tcb.microcode));
    return VEIL_RESULT_OK;
}

/* Chain chip -> a sim root from the collateral; validity is its own check. A cached chip
 * certificate passes the chain check only if the root that signed it is among these roots. */
static VEIL_RESULT check_chain(struct veil_sim_cache *cache, const uint8_t *der, size_t der_size,
                               const struct sim_chip *chip, const struct veil_verify_opts *opts,
                               struct veil_report *rep, bool *failed)
{
    const struct veil_collateral *coll = opts->collateral;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    uint8_t root_sha256[32];
    size_t roots = 0;
    bool known_root = false;
    int ok = 0;
    int err = 0;
    veil_result r = VEIL_RESULT_OK;

    if (store == NULL || ctx == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out;
    }
    for (int i = 0; coll != NULL && coll->certs != NULL && i < sk_X509_num(coll->certs); i++) {
        X509 *c = sk_X509_value(coll->certs, i);
        if (is_sim_root(c) && X509_STORE_add_cert(store, c) == 1) {
            roots++;
            if (chip->cached && cert_sha256(c, root_sha256) &&
                CRYPTO_memcmp(root_sha256, chip->root_sha256, sizeof(root_sha256)) == 0) {
                known_root = true;
            }
        }
    }
    if (roots == 0) {
        *failed = true;
        r = veil_report_add(rep, "sim.root", VEIL_CHECK_FAIL,
                            "pass the sim root certificate as collateral (root.pem in the "
                            "directory `veil sim init` made)",
                            "no simulated-TEE root certificate among the collateral");
        goto out;
    }
    r = veil_report_add(rep, "sim.root", VEIL_CHECK_PASS, NULL, "%zu sim root(s) given", roots);
    if (!veil_ok(r)) {
        goto out;
    }
    if (known_root) {
        ok = 1; /* this exact certificate verified earlier to this exact root */
    } else {
        X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME);
        if (X509_STORE_CTX_init(ctx, store, chip->chip, NULL) == 1) {
            ok = X509_verify_cert(ctx);
            err = X509_STORE_CTX_get_error(ctx);
        }
        if (ok == 1) {
            STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
            X509 *root = chain != NULL ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
            if (root != NULL && cert_sha256(root, root_sha256)) {
                cache_add(cache, der, der_size, chip, root_sha256);
            }
        }
    }
    if (ok != 1) {
        *failed = true;
        r = veil_report_add(rep, "sim.chain", VEIL_CHECK_FAIL,
                            "the evidence comes from another simulated platform: give its root",
                            "chip certificate does not chain to a given sim root: %s",
                            X509_verify_cert_error_string(err));
        goto out;
    }
    r = veil_report_add(rep, "sim.chain", VEIL_CHECK_PASS, NULL,
                        known_root ? "chip certificate is signed by the sim root (verified "
                                     "earlier: same certificate, same root)"
                                   : "chip certificate is signed by the sim root");
    if (!veil_ok(r)) {
        goto out;
    }
    if (X509_cmp_time(X509_get0_notBefore(chip->chip), &(time_t){opts->at}) >= 0 ||
        X509_cmp_time(X509_get0_notAfter(chip->chip), &(time_t){opts->at}) <= 0) {
        *failed = true;
        r = veil_report_add(rep, "sim.chain.validity", VEIL_CHECK_FAIL,
                            "re-create the simulated platform (veil sim init)",
                            "chip certificate is not valid at the verification time");
    } else {
        r = veil_report_add(rep, "sim.chain.validity", VEIL_CHECK_PASS, NULL,
                            "chip certificate valid at the verification time");
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    veil_ossl_drain(__func__);
    return r;
}

static VEIL_RESULT check_report(const struct veil_sim_evidence *e, const struct sim_chip *chip,
                                const struct veil_verify_opts *opts, struct veil_report *rep,
                                bool *failed)
{
    veil_result sig;

    if (CRYPTO_memcmp(chip->chip_id, e->report.chip_id, sizeof(chip->chip_id)) != 0) {
        *failed = true;
        GUARD(veil_report_add(rep, "sim.chip_id", VEIL_CHECK_FAIL, NULL,
                              "report chip_id is not the SHA-512 of the chip certificate's key"));
    } else {
        GUARD(veil_report_add(rep, "sim.chip_id", VEIL_CHECK_PASS, NULL,
                              "report chip_id matches the chip certificate"));
    }
    sig = veil_sign_verify(X509_get0_pubkey(chip->chip), e->body, VEIL_SIM_BODY_SIZE,
                           e->report.signature, sizeof(e->report.signature));
    if (!veil_ok(sig)) {
        *failed = true;
        GUARD(veil_report_add(rep, "sim.signature", VEIL_CHECK_FAIL,
                              "the report was altered after it was signed",
                              "report signature does not verify with the chip key"));
    } else {
        GUARD(veil_report_add(rep, "sim.signature", VEIL_CHECK_PASS, NULL,
                              "report signed by the chip key (ECDSA P-384)"));
    }
    if (opts->report_data_size == 0) {
        return veil_report_add(rep, "sim.report_data", VEIL_CHECK_SKIP, NULL,
                               "no expected report data given");
    }
    if (opts->report_data_size > sizeof(e->report.report_data) ||
        CRYPTO_memcmp(opts->report_data, e->report.report_data, opts->report_data_size) != 0) {
        *failed = true;
        return veil_report_add(rep, "sim.report_data", VEIL_CHECK_FAIL,
                               "the evidence was made for another nonce or key: it is stale or "
                               "replayed",
                               "report data does not bind the expected value");
    }
    return veil_report_add(rep, "sim.report_data", VEIL_CHECK_PASS, NULL,
                           "report data binds the expected value");
}

veil_result veil_verify_sim_cached(struct veil_sim_cache *cache, const uint8_t *evidence, size_t n,
                                   const struct veil_verify_opts *opts, struct veil_claims *claims,
                                   struct veil_report *report)
{
    struct veil_sim_evidence e;
    struct sim_chip chip;
    const unsigned char *p;
    bool failed = false;
    veil_result r = veil_sim_evidence_parse(evidence, n, &e);

    ENSURE_REF(opts);
    memset(&chip, 0, sizeof(chip));
    if (!veil_ok(r)) {
        GUARD(veil_report_add(report, "sim.parse", VEIL_CHECK_FAIL, NULL,
                              "not simulated-TEE evidence: %s", veil_strerror(r.code)));
        return r;
    }
    if (!cache_find(cache, e.cert_der, e.cert_size, &chip)) {
        p = e.cert_der;
        chip.chip = d2i_X509(NULL, &p, (long)e.cert_size);
        if (chip.chip == NULL || p != e.cert_der + e.cert_size) {
            X509_free(chip.chip);
            veil_ossl_drain(__func__);
            GUARD(veil_report_add(report, "sim.parse", VEIL_CHECK_FAIL, NULL,
                                  "the chip certificate in the evidence is not valid DER"));
            BAIL(VEIL_ERR_PROTO);
        }
        r = veil_sim_chip_id(chip.chip, chip.chip_id);
    }
    if (veil_ok(r)) {
        r = veil_report_add(report, "sim.parse", VEIL_CHECK_PASS, NULL,
                            "simulated-TEE report v%u (no hardware behind it)", e.report.version);
    }
    if (veil_ok(r)) {
        r = add_claims(&e.report, claims);
    }
    if (veil_ok(r)) {
        r = check_chain(cache, e.cert_der, e.cert_size, &chip, opts, report, &failed);
    }
    if (veil_ok(r)) {
        r = check_report(&e, &chip, opts, report, &failed);
    }
    X509_free(chip.chip);
    GUARD(r);
    ENSURE(!failed, VEIL_ERR_ATTEST);
    return VEIL_RESULT_OK;
}

veil_result veil_verify_sim(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report)
{
    return veil_verify_sim_cached(NULL, evidence, n, opts, claims, report);
}
