/* The broker's sessions in memory (see sessions.h): chained hash table keyed by the random id. */
#include "kbs/sessions.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define JSON_SIZE_MAX (64u << 10) /* a session's key or claims, as the store allowed */

struct entry {
    struct veil_kbs_session s;
    struct entry *next;  /* hash chain */
    struct entry *older; /* creation order (doubly linked, oldest first) */
    struct entry *newer;
};

struct veil_kbs_sessions {
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    size_t attested;
    size_t max;
    int64_t swept_at;     /* a full table is swept for expired sessions at most once a second */
    struct entry *oldest; /* creation order: create drops expired sessions from this end */
    struct entry *newest;
};

void veil_kbs_session_free(struct veil_kbs_session *ss)
{
    if (ss == NULL) {
        return;
    }
    free(ss->tee_pubkey_json);
    free(ss->claims_json);
    EVP_PKEY_free(ss->tee_key);
    ss->tee_pubkey_json = NULL;
    ss->claims_json = NULL;
    ss->tee_key = NULL;
}

veil_result veil_kbs_sessions_new(size_t max, struct veil_kbs_sessions **out)
{
    struct veil_kbs_sessions *t;
    size_t n = 16;

    ENSURE(max >= 1 && max <= VEIL_KBS_SESSIONS_MAX_LIMIT && out != NULL, VEIL_ERR_USAGE);
    while (n < max) {
        n <<= 1;
    }
    t = calloc(1, sizeof(*t));
    ENSURE(t != NULL, VEIL_ERR_NOMEM);
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (t->buckets == NULL) {
        free(t);
        BAIL(VEIL_ERR_NOMEM);
    }
    t->bucket_count = n;
    t->max = max;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return VEIL_RESULT_OK;
}

static void entry_free(struct entry *e)
{
    veil_kbs_session_free(&e->s);
    OPENSSL_cleanse(e->s.id, sizeof(e->s.id)); /* the cookie is a bearer credential */
    free(e);
}

void veil_kbs_sessions_free(struct veil_kbs_sessions *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t b = 0; b < t->bucket_count; b++) {
        while (t->buckets[b] != NULL) {
            struct entry *e = t->buckets[b];
            t->buckets[b] = e->next;
            entry_free(e);
        }
    }
    pthread_mutex_destroy(&t->mu);
    free(t->buckets);
    free(t);
}

/* Ids are 32 random bytes chosen by the broker, so their first bytes spread evenly; a client
 * that sends a made-up id only looks up a chain the broker's ids made. */
static struct entry **slot(struct veil_kbs_sessions *t, const uint8_t id[32])
{
    uint64_t h;
    struct entry **pp;

    memcpy(&h, id, sizeof(h));
    pp = &t->buckets[h & (t->bucket_count - 1)];
    while (*pp != NULL && CRYPTO_memcmp((*pp)->s.id, id, 32) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void remove_at(struct veil_kbs_sessions *t, struct entry **pp)
{
    struct entry *e = *pp;

    *pp = e->next;
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        t->oldest = e->newer;
    }
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        t->newest = e->older;
    }
    t->count--;
    t->attested -= e->s.attested ? 1 : 0;
    entry_free(e);
}

static size_t expire_locked(struct veil_kbs_sessions *t, int64_t now)
{
    size_t removed = 0;

    for (size_t b = 0; b < t->bucket_count; b++) {
        struct entry **pp = &t->buckets[b];
        while (*pp != NULL) {
            if ((*pp)->s.expires_at < now) {
                remove_at(t, pp);
                removed++;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    return removed;
}

veil_result veil_kbs_sessions_create(struct veil_kbs_sessions *t, const struct veil_kbs_session *ss,
                                     int64_t now)
{
    struct entry **pp;
    struct entry *e;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(t != NULL && ss != NULL && ss->tee_pubkey_json == NULL && ss->claims_json == NULL &&
               ss->tee_key == NULL,
           VEIL_ERR_USAGE);
    ENSURE(memchr(ss->nonce, '\0', sizeof(ss->nonce)) != NULL &&
               memchr(ss->tee, '\0', sizeof(ss->tee)) != NULL,
           VEIL_ERR_USAGE);
    e = calloc(1, sizeof(*e));
    ENSURE(e != NULL, VEIL_ERR_NOMEM);
    e->s = *ss;
    e->s.nonce_used = false;
    e->s.attested = false;
    pthread_mutex_lock(&t->mu);
    /* Sessions mostly expire in the order they were made (attesting extends one by at most
     * the few seconds it took): drop the expired ones from the old end, so that the table holds
     * about rate x session lifetime, not what the next full sweep would have dropped. */
    while (t->oldest != NULL && t->oldest->s.expires_at < now) {
        remove_at(t, slot(t, t->oldest->s.id));
    }
    if (t->count >= t->max && now != t->swept_at) {
        t->swept_at = now;
        (void)expire_locked(t, now);
    }
    pp = slot(t, ss->id);
    if (t->count >= t->max) {
        r = veil_result_of(VEIL_ERR_KBS_SESSIONS_FULL);
    } else if (*pp != NULL) {
        r = veil_result_of(VEIL_ERR_USAGE);
    } else {
        *pp = e;
        e->older = t->newest;
        if (t->newest != NULL) {
            t->newest->newer = e;
        } else {
            t->oldest = e;
        }
        t->newest = e;
        t->count++;
        e = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    free(e);
    return r;
}

static char *dup_text(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    char *c = s != NULL ? malloc(n + 1) : NULL;

    if (c != NULL) {
        memcpy(c, s, n + 1);
    }
    return c;
}

veil_result veil_kbs_sessions_get(struct veil_kbs_sessions *t, const uint8_t id[32],
                                  struct veil_kbs_session *out)
{
    struct entry *e;
    struct veil_kbs_session copy;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(t != NULL && id != NULL && out != NULL, VEIL_ERR_USAGE);
    pthread_mutex_lock(&t->mu);
    e = *slot(t, id);
    if (e == NULL) {
        r = veil_result_of(VEIL_ERR_KBS_SESSION_UNKNOWN);
    } else {
        copy = e->s;
        copy.tee_pubkey_json = dup_text(e->s.tee_pubkey_json);
        copy.claims_json = dup_text(e->s.claims_json);
        copy.tee_key = NULL;
        if ((e->s.tee_pubkey_json != NULL && copy.tee_pubkey_json == NULL) ||
            (e->s.claims_json != NULL && copy.claims_json == NULL)) {
            veil_kbs_session_free(&copy);
            r = veil_result_of(VEIL_ERR_NOMEM);
        } else if (e->s.tee_key != NULL && EVP_PKEY_up_ref(e->s.tee_key) == 1) {
            copy.tee_key = e->s.tee_key; /* else NULL: the caller imports the JSON */
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (veil_ok(r)) {
        *out = copy;
    }
    return r;
}

void veil_kbs_sessions_release_key(struct veil_kbs_sessions *t, const uint8_t id[32])
{
    struct entry *e;

    if (t == NULL || id == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    e = *slot(t, id);
    if (e != NULL) {
        EVP_PKEY_free(e->s.tee_key); /* a caller's copy keeps its own reference */
        e->s.tee_key = NULL;
    }
    pthread_mutex_unlock(&t->mu);
}

veil_result veil_kbs_sessions_use_nonce(struct veil_kbs_sessions *t, const uint8_t id[32],
                                        int64_t now)
{
    struct entry *e;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(t != NULL && id != NULL, VEIL_ERR_USAGE);
    pthread_mutex_lock(&t->mu);
    e = *slot(t, id);
    if (e == NULL) {
        r = veil_result_of(VEIL_ERR_KBS_SESSION_UNKNOWN);
    } else if (e->s.nonce_used) {
        r = veil_result_of(VEIL_ERR_STORE_NONCE_USED);
    } else if (now >= e->s.nonce_expires_at) {
        r = veil_result_of(VEIL_ERR_STORE_NONCE_EXPIRED);
    } else {
        e->s.nonce_used = true;
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

veil_result veil_kbs_sessions_attest(struct veil_kbs_sessions *t, const uint8_t id[32],
                                     const char *tee_pubkey_json, const char *claims_json,
                                     int64_t expires_at)
{
    return veil_kbs_sessions_attest_key(t, id, tee_pubkey_json, NULL, claims_json, expires_at);
}

veil_result veil_kbs_sessions_attest_key(struct veil_kbs_sessions *t, const uint8_t id[32],
                                         const char *tee_pubkey_json, EVP_PKEY *tee_key,
                                         const char *claims_json, int64_t expires_at)
{
    struct entry *e;
    char *key = NULL;
    char *claims = NULL;
    EVP_PKEY *pkey = NULL;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(t != NULL && id != NULL && tee_pubkey_json != NULL && claims_json != NULL,
           VEIL_ERR_USAGE);
    ENSURE(strlen(tee_pubkey_json) <= JSON_SIZE_MAX && strlen(claims_json) <= JSON_SIZE_MAX,
           VEIL_ERR_PROTO_LIMIT);
    key = dup_text(tee_pubkey_json);
    claims = dup_text(claims_json);
    if (tee_key != NULL && EVP_PKEY_up_ref(tee_key) == 1) {
        pkey = tee_key;
    }
    if (key == NULL || claims == NULL || (tee_key != NULL && pkey == NULL)) {
        free(key);
        free(claims);
        EVP_PKEY_free(pkey);
        BAIL(VEIL_ERR_NOMEM);
    }
    pthread_mutex_lock(&t->mu);
    e = *slot(t, id);
    if (e == NULL) {
        r = veil_result_of(VEIL_ERR_KBS_SESSION_UNKNOWN);
    } else if (!e->s.nonce_used) {
        r = veil_result_of(VEIL_ERR_USAGE);
    } else {
        veil_kbs_session_free(&e->s);
        e->s.tee_pubkey_json = key;
        e->s.claims_json = claims;
        e->s.tee_key = pkey;
        key = NULL;
        claims = NULL;
        pkey = NULL;
        t->attested += e->s.attested ? 0 : 1;
        e->s.attested = true;
        e->s.expires_at = expires_at;
    }
    pthread_mutex_unlock(&t->mu);
    free(key);
    free(claims);
    EVP_PKEY_free(pkey);
    return r;
}

void veil_kbs_sessions_expire(struct veil_kbs_sessions *t, int64_t now, size_t *removed)
{
    size_t n;

    pthread_mutex_lock(&t->mu);
    n = expire_locked(t, now);
    pthread_mutex_unlock(&t->mu);
    if (removed != NULL) {
        *removed = n;
    }
}

void veil_kbs_sessions_count(struct veil_kbs_sessions *t, size_t *total, size_t *attested)
{
    pthread_mutex_lock(&t->mu);
    *total = t->count;
    *attested = t->attested;
    pthread_mutex_unlock(&t->mu);
}
