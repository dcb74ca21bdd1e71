/*
 * The memo of the DCAP warm cache: results of verifications whose inputs are immutable, so that
 * a stream of quotes from the same platforms pays only for what differs per quote.
 *
 *   pass set    keys of signature verifications that passed (collateral documents, CRLs)
 *   chains      certificate chains that verified to the pinned root without a time (the quote's
 *               PCK chain, decoded once; collateral signing certificates), with what was derived
 *               from them (PCK extension, names); refcounted, so an evicted chain stays alive
 *               while a verification still holds it
 *   keys        attestation keys (raw P-256 points) decoded into EVP_PKEYs, keyed by the point
 *
 * Keys are SHA-256 over a tag and every input of the verification (length-prefixed), so a
 * different input never finds another's result. Only passes are stored: a failure is always
 * recomputed. Time is never part of a memoized result: validity windows, CRL currency and
 * revocation lookups are judged on every call (dcap_verify.c). Both tables have fixed slots and
 * evict the least recently used entry; one mutex guards them (held only for lookups and inserts,
 * never during a verification), so a memo can be shared by threads and by caches.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "verify/dcap_internal.h"

struct pass_slot {
    uint8_t key[32];
    uint64_t used; /* 0: empty */
};

struct key_slot {
    uint8_t xy[64];
    EVP_PKEY *key; /* NULL: empty */
    uint64_t used;
};

struct veil_dcap_memo {
    pthread_mutex_t mu;
    EVP_MD *sha256; /* fetched once: no provider lookup per digest */
    uint64_t tick;
    struct pass_slot pass[VEIL_DCAP_MEMO_PASS_SLOTS];
    struct veil_dcap_chain *chains[VEIL_DCAP_MEMO_CHAIN_SLOTS];
    struct key_slot keys[VEIL_DCAP_MEMO_KEY_SLOTS];
};

veil_result veil_dcap_memo_new(struct veil_dcap_memo **out)
{
    struct veil_dcap_memo *m = calloc(1, sizeof(*m));

    ENSURE(m != NULL, VEIL_ERR_NOMEM);
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        BAIL(VEIL_ERR_NOMEM);
    }
    m->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (m->sha256 == NULL) {
        ERR_clear_error();
        veil_dcap_memo_free(m);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    *out = m;
    return VEIL_RESULT_OK;
}

static void chain_free(struct veil_dcap_chain *ch)
{
    if (ch == NULL) {
        return;
    }
    sk_X509_pop_free(ch->certs, X509_free);
    sk_X509_pop_free(ch->built, X509_free);
    free(ch->built_digest);
    free(ch->window);
    free(ch);
}

void veil_dcap_memo_free(struct veil_dcap_memo *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < VEIL_DCAP_MEMO_CHAIN_SLOTS; i++) {
        /* Every holder has released its chains before the memo goes. */
        chain_free(m->chains[i]);
    }
    for (size_t i = 0; i < VEIL_DCAP_MEMO_KEY_SLOTS; i++) {
        EVP_PKEY_free(m->keys[i].key);
    }
    EVP_MD_free(m->sha256);
    (void)pthread_mutex_destroy(&m->mu);
    free(m);
}

veil_result veil_dcap_memo_sha256(const struct veil_dcap_memo *m, const void *data, size_t n,
                                  uint8_t out[32])
{
    unsigned int size = 0;

    if (EVP_Digest(data, n, out, &size, m->sha256, NULL) != 1 || size != 32) {
        ERR_clear_error();
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_memo_key(const struct veil_dcap_memo *m, const char *tag,
                               const struct veil_dcap_part *parts, size_t count, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok;

    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    ok = EVP_DigestInit_ex2(md, m->sha256, NULL) == 1 &&
         EVP_DigestUpdate(md, tag, strlen(tag) + 1) == 1;
    for (size_t i = 0; ok && i < count; i++) {
        uint8_t len[8];
        uint64_t n = parts[i].size;
        for (int j = 0; j < 8; j++) {
            len[j] = (uint8_t)(n >> (56 - 8 * j));
        }
        ok = EVP_DigestUpdate(md, len, sizeof(len)) == 1 &&
             EVP_DigestUpdate(md, parts[i].data, parts[i].size) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, out, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        ERR_clear_error();
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    return VEIL_RESULT_OK;
}

static void lock(struct veil_dcap_memo *m)
{
    int rc = pthread_mutex_lock(&m->mu);

    VEIL_ASSERT(rc == 0);
}

static void unlock(struct veil_dcap_memo *m)
{
    int rc = pthread_mutex_unlock(&m->mu);

    VEIL_ASSERT(rc == 0);
}

bool veil_dcap_memo_passed(struct veil_dcap_memo *m, const uint8_t key[32])
{
    bool found = false;

    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_PASS_SLOTS && !found; i++) {
        if (m->pass[i].used != 0 && memcmp(m->pass[i].key, key, 32) == 0) {
            m->pass[i].used = ++m->tick;
            found = true;
        }
    }
    unlock(m);
    return found;
}

void veil_dcap_memo_pass(struct veil_dcap_memo *m, const uint8_t key[32])
{
    size_t victim = 0;

    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_PASS_SLOTS; i++) {
        if (m->pass[i].used != 0 && memcmp(m->pass[i].key, key, 32) == 0) {
            victim = i; /* already there (another thread): refresh it */
            break;
        }
        if (m->pass[i].used < m->pass[victim].used) {
            victim = i; /* empty (0) or least recently used */
        }
    }
    memcpy(m->pass[victim].key, key, 32);
    m->pass[victim].used = ++m->tick;
    unlock(m);
}

struct veil_dcap_chain *veil_dcap_memo_chain_get(struct veil_dcap_memo *m, const uint8_t key[32])
{
    struct veil_dcap_chain *ch = NULL;

    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_CHAIN_SLOTS && ch == NULL; i++) {
        if (m->chains[i] != NULL && memcmp(m->chains[i]->key, key, 32) == 0) {
            ch = m->chains[i];
            ch->refs++;
            ch->used = ++m->tick;
        }
    }
    unlock(m);
    return ch;
}

void veil_dcap_memo_chain_put(struct veil_dcap_memo *m, struct veil_dcap_chain *ch)
{
    struct veil_dcap_chain *evicted = NULL;
    size_t victim = 0;

    VEIL_ASSERT(ch->refs > 0 && !ch->listed);
    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_CHAIN_SLOTS; i++) {
        if (m->chains[i] != NULL && memcmp(m->chains[i]->key, ch->key, 32) == 0) {
            unlock(m); /* another thread listed the same chain first: keep that one */
            return;
        }
    }
    for (size_t i = 0; i < VEIL_DCAP_MEMO_CHAIN_SLOTS; i++) {
        if (m->chains[i] == NULL) {
            victim = i;
            break;
        }
        if (m->chains[i]->used < m->chains[victim]->used) {
            victim = i;
        }
    }
    if (m->chains[victim] != NULL) {
        evicted = m->chains[victim];
        evicted->listed = false;
        if (--evicted->refs > 0) {
            evicted = NULL; /* still held: its last holder frees it */
        }
    }
    ch->refs++; /* the table's reference */
    ch->listed = true;
    ch->used = ++m->tick;
    m->chains[victim] = ch;
    unlock(m);
    chain_free(evicted);
}

struct veil_dcap_chain *veil_dcap_chain_new(void)
{
    struct veil_dcap_chain *ch = calloc(1, sizeof(*ch));

    if (ch != NULL) {
        ch->refs = 1;
    }
    return ch;
}

void veil_dcap_memo_chain_release(struct veil_dcap_memo *m, struct veil_dcap_chain *ch)
{
    bool last;

    if (ch == NULL) {
        return;
    }
    lock(m);
    VEIL_ASSERT(ch->refs > 0);
    last = --ch->refs == 0;
    unlock(m);
    if (last) {
        chain_free(ch);
    }
}

veil_result veil_dcap_memo_p256_key(struct veil_dcap_memo *m, const uint8_t xy[64], EVP_PKEY **out)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY *evicted = NULL;
    size_t victim = 0;

    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_KEY_SLOTS && key == NULL; i++) {
        if (m->keys[i].key != NULL && memcmp(m->keys[i].xy, xy, 64) == 0 &&
            EVP_PKEY_up_ref(m->keys[i].key) == 1) {
            key = m->keys[i].key;
            m->keys[i].used = ++m->tick;
        }
    }
    unlock(m);
    if (key != NULL) {
        *out = key;
        return VEIL_RESULT_OK;
    }
    GUARD(veil_dcap_p256_key(xy, &key));
    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_KEY_SLOTS; i++) {
        if (m->keys[i].key == NULL) {
            victim = i;
            break;
        }
        if (m->keys[i].used < m->keys[victim].used) {
            victim = i;
        }
    }
    if (EVP_PKEY_up_ref(key) == 1) {
        evicted = m->keys[victim].key;
        memcpy(m->keys[victim].xy, xy, 64);
        m->keys[victim].key = key;
        m->keys[victim].used = ++m->tick;
    }
    unlock(m);
    EVP_PKEY_free(evicted);
    *out = key;
    return VEIL_RESULT_OK;
}

void veil_dcap_memo_count(struct veil_dcap_memo *m, size_t *passes, size_t *chains, size_t *keys)
{
    *passes = 0;
    *chains = 0;
    *keys = 0;
    lock(m);
    for (size_t i = 0; i < VEIL_DCAP_MEMO_KEY_SLOTS; i++) {
        *keys += m->keys[i].key != NULL ? 1 : 0;
    }
    for (size_t i = 0; i < VEIL_DCAP_MEMO_PASS_SLOTS; i++) {
        *passes += m->pass[i].used != 0 ? 1 : 0;
    }
    for (size_t i = 0; i < VEIL_DCAP_MEMO_CHAIN_SLOTS; i++) {
        *chains += m->chains[i] != NULL ? 1 : 0;
    }
    unlock(m);
}
