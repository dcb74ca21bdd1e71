/* The broker's in-memory sessions: the flow (create, single-use nonce, attest), every refusal,
 * one winner when threads race for a nonce, expiry, and the bound on how many are held. */
#include <pthread.h>

#include "kbs/sessions.h"
#include "veil_test.h"

#define NOW INT64_C(1000)

static void make(struct veil_kbs_session *ss, uint8_t tag, int64_t expires_at)
{
    memset(ss, 0, sizeof(*ss));
    memset(ss->id, tag, sizeof(ss->id));
    ss->id[31] = (uint8_t)(tag + 1); /* ids that share their first bytes share a chain */
    (void)snprintf(ss->nonce, sizeof(ss->nonce), "nonce-%u", tag);
    (void)snprintf(ss->tee, sizeof(ss->tee), "sim");
    ss->created_at = NOW;
    ss->nonce_expires_at = NOW + 60;
    ss->expires_at = expires_at;
}

static void test_flow_and_refusals(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;
    struct veil_kbs_session got;
    uint8_t unknown[32] = {0};
    size_t total = 0;
    size_t attested = 0;

    (void)state;
    EXPECT_ERR(veil_kbs_sessions_new(0, &t), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_kbs_sessions_new(VEIL_KBS_SESSIONS_MAX_LIMIT + 1, &t), VEIL_ERR_USAGE);
    EXPECT_OK(veil_kbs_sessions_new(8, &t));
    make(&ss, 1, NOW + 300);
    ss.nonce_used = true; /* ignored: a new session's nonce is fresh */
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    EXPECT_ERR(veil_kbs_sessions_create(t, &ss, NOW), VEIL_ERR_USAGE); /* same id */
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &got));
    EXPECT_STR_EQ(got.nonce, "nonce-1");
    EXPECT_STR_EQ(got.tee, "sim");
    EXPECT_FALSE(got.nonce_used);
    EXPECT_FALSE(got.attested);
    EXPECT_NULL(got.claims_json);
    veil_kbs_session_free(&got);
    /* Attested only once the nonce is used, and with both JSON texts. */
    EXPECT_ERR(veil_kbs_sessions_attest(t, ss.id, "{}", "{}", NOW + 500), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_kbs_sessions_attest(t, ss.id, NULL, "{}", NOW + 500), VEIL_ERR_USAGE);
    EXPECT_OK(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 1));
    EXPECT_OK(
        veil_kbs_sessions_attest(t, ss.id, "{\"kty\":\"EC\"}", "{\"tee\":\"sim\"}", NOW + 500));
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &got));
    EXPECT_TRUE(got.nonce_used);
    EXPECT_TRUE(got.attested);
    EXPECT_EQ(got.expires_at, NOW + 500);
    EXPECT_STR_EQ(got.tee_pubkey_json, "{\"kty\":\"EC\"}");
    EXPECT_STR_EQ(got.claims_json, "{\"tee\":\"sim\"}");
    veil_kbs_session_free(&got);
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 1);
    EXPECT_EQ(attested, 1);
    /* Unknown ids, and a session that may not carry JSON at creation. */
    EXPECT_ERR(veil_kbs_sessions_get(t, unknown, &got), VEIL_ERR_KBS_SESSION_UNKNOWN);
    EXPECT_ERR(veil_kbs_sessions_use_nonce(t, unknown, NOW), VEIL_ERR_KBS_SESSION_UNKNOWN);
    EXPECT_ERR(veil_kbs_sessions_attest(t, unknown, "{}", "{}", NOW), VEIL_ERR_KBS_SESSION_UNKNOWN);
    make(&ss, 2, NOW + 300);
    ss.claims_json = (char *)"{}";
    EXPECT_ERR(veil_kbs_sessions_create(t, &ss, NOW), VEIL_ERR_USAGE);
    veil_kbs_sessions_free(t);
}

static void test_nonce_single_use_and_deadline(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;

    (void)state;
    EXPECT_OK(veil_kbs_sessions_new(8, &t));
    make(&ss, 3, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    EXPECT_OK(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 59));
    EXPECT_ERR(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 59), VEIL_ERR_STORE_NONCE_USED);
    make(&ss, 4, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    EXPECT_ERR(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 60), VEIL_ERR_STORE_NONCE_EXPIRED);
    EXPECT_ERR(veil_kbs_sessions_attest(t, ss.id, "{}", "{}", NOW + 500), VEIL_ERR_USAGE);
    veil_kbs_sessions_free(t);
}

#define RACERS 8

struct race {
    struct veil_kbs_sessions *t;
    const uint8_t *id;
    int wins;
    int used;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    veil_result res = veil_kbs_sessions_use_nonce(r->t, r->id, NOW + 1);

    if (veil_ok(res)) {
        __atomic_add_fetch(&r->wins, 1, __ATOMIC_SEQ_CST);
    } else if (res.code == VEIL_ERR_STORE_NONCE_USED) {
        __atomic_add_fetch(&r->used, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void test_nonce_one_winner_across_threads(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;
    pthread_t th[RACERS];
    struct race race = {0};

    (void)state;
    EXPECT_OK(veil_kbs_sessions_new(8, &t));
    make(&ss, 5, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    race.t = t;
    race.id = ss.id;
    for (int i = 0; i < RACERS; i++) {
        EXPECT_EQ(pthread_create(&th[i], NULL, racer, &race), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        EXPECT_EQ(pthread_join(th[i], NULL), 0);
    }
    EXPECT_EQ(race.wins, 1);
    EXPECT_EQ(race.used, RACERS - 1);
    veil_kbs_sessions_free(t);
}

static void test_expiry_and_bound(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;
    struct veil_kbs_session got;
    uint8_t first[32];
    size_t removed = 0;
    size_t total = 0;
    size_t attested = 0;

    (void)state;
    EXPECT_OK(veil_kbs_sessions_new(3, &t));
    make(&ss, 10, NOW + 100);
    memcpy(first, ss.id, sizeof(first));
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    make(&ss, 11, NOW + 200);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    make(&ss, 12, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    /* Full of unexpired sessions: refused. */
    make(&ss, 13, NOW + 300);
    EXPECT_ERR(veil_kbs_sessions_create(t, &ss, NOW + 50), VEIL_ERR_KBS_SESSIONS_FULL);
    /* Once the first expired, it makes room. */
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW + 101));
    EXPECT_ERR(veil_kbs_sessions_get(t, first, &got), VEIL_ERR_KBS_SESSION_UNKNOWN);
    /* A sweep drops what expired before now, and only that. */
    EXPECT_OK(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 1));
    EXPECT_OK(veil_kbs_sessions_attest(t, ss.id, "{}", "{}", NOW + 1000));
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 3);
    EXPECT_EQ(attested, 1);
    veil_kbs_sessions_expire(t, NOW + 200, &removed);
    EXPECT_EQ(removed, 0);
    veil_kbs_sessions_expire(t, NOW + 301, &removed);
    EXPECT_EQ(removed, 2);
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 1);
    EXPECT_EQ(attested, 1);
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &got));
    veil_kbs_session_free(&got);
    veil_kbs_sessions_expire(t, NOW + 1001, &removed);
    EXPECT_EQ(removed, 1);
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 0);
    EXPECT_EQ(attested, 0);
    veil_kbs_sessions_free(t);
}

/* Creating a session drops the expired ones from the old end, table full or not. */
static void test_create_drops_expired(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;
    struct veil_kbs_session got;
    uint8_t last[32];
    size_t total = 0;
    size_t attested = 0;

    (void)state;
    EXPECT_OK(veil_kbs_sessions_new(100, &t));
    for (uint8_t i = 0; i < 10; i++) {
        make(&ss, (uint8_t)(20 + i), NOW + 100 + i);
        EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    }
    memcpy(last, ss.id, sizeof(last));
    make(&ss, 40, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW + 105)); /* 0..4 expired (100..104) */
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 6);
    EXPECT_OK(veil_kbs_sessions_get(t, last, &got));
    veil_kbs_session_free(&got);
    make(&ss, 41, NOW + 400);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW + 301)); /* all but the last made */
    veil_kbs_sessions_count(t, &total, &attested);
    EXPECT_EQ(total, 1);
    EXPECT_ERR(veil_kbs_sessions_get(t, last, &got), VEIL_ERR_KBS_SESSION_UNKNOWN);
    veil_kbs_sessions_free(t);
}

/* The key imported at attestation stays with the session: every copy holds its own reference to
 * the same key (freed with the copy), and the table's reference goes with the session. */
static void test_attested_key_kept(void **state)
{
    struct veil_kbs_sessions *t = NULL;
    struct veil_kbs_session ss;
    struct veil_kbs_session a;
    struct veil_kbs_session b;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    (void)state;
    assert_non_null(key);
    EXPECT_OK(veil_kbs_sessions_new(8, &t));
    make(&ss, 3, NOW + 300);
    EXPECT_OK(veil_kbs_sessions_create(t, &ss, NOW));
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &a));
    EXPECT_NULL(a.tee_key); /* not attested: no key */
    veil_kbs_session_free(&a);
    EXPECT_ERR(veil_kbs_sessions_attest_key(t, ss.id, "{}", key, "{}", NOW + 500),
               VEIL_ERR_USAGE); /* nonce not used yet */
    EXPECT_OK(veil_kbs_sessions_use_nonce(t, ss.id, NOW + 1));
    EXPECT_OK(veil_kbs_sessions_attest_key(t, ss.id, "{}", key, "{}", NOW + 500));
    EVP_PKEY_free(key); /* the table holds its own reference */
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &a));
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &b));
    EXPECT_TRUE(a.tee_key != NULL && a.tee_key == b.tee_key);
    EXPECT_TRUE(EVP_PKEY_is_a(a.tee_key, "EC"));
    veil_kbs_session_free(&a);
    EXPECT_NULL(a.tee_key);
    EXPECT_TRUE(EVP_PKEY_is_a(b.tee_key, "EC")); /* still alive for b */
    /* the first resource takes the key over: the table lets go, b's copy keeps it, and the
     * session keeps its JWK and claims for later requests */
    veil_kbs_sessions_release_key(t, ss.id);
    EXPECT_TRUE(EVP_PKEY_is_a(b.tee_key, "EC"));
    EXPECT_OK(veil_kbs_sessions_get(t, ss.id, &a));
    EXPECT_NULL(a.tee_key);
    EXPECT_TRUE(a.attested && a.tee_pubkey_json != NULL && a.claims_json != NULL);
    veil_kbs_session_free(&a);
    veil_kbs_sessions_release_key(t, ss.id); /* twice: nothing more to drop */
    uint8_t none[32] = {0};
    veil_kbs_sessions_release_key(t, none); /* no such session: nothing happens */
    veil_kbs_sessions_release_key(NULL, ss.id);
    veil_kbs_sessions_free(t);
    EXPECT_TRUE(EVP_PKEY_is_a(b.tee_key, "EC")); /* b's copy still holds its reference */
    veil_kbs_session_free(&b);
}

VEIL_TEST_MAIN(test_flow_and_refusals, test_attested_key_kept, test_nonce_single_use_and_deadline,
               test_nonce_one_winner_across_threads, test_expiry_and_bound,
               test_create_drops_expired)
