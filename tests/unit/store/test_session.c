#include <pthread.h>

#include "store_test.h"

static void make_session(struct veil_store_session *ss, uint8_t tag, int64_t now)
{
    memset(ss, 0, sizeof(*ss));
    memset(ss->id, tag, sizeof(ss->id));
    snprintf(ss->nonce, sizeof(ss->nonce), "nonce-%u", tag);
    snprintf(ss->tee, sizeof(ss->tee), "sample");
    ss->created_at = now;
    ss->nonce_expires_at = now + 60;
    ss->expires_at = now + 60;
}

static void test_create_get_attest(void **state)
{
    struct store_fixture f;
    struct veil_store_session ss;
    struct veil_store_session got;
    uint8_t unknown[32];

    (void)state;
    fixture_open(&f);
    make_session(&ss, 1, 1000);
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    EXPECT_ERR(veil_store_session_create(f.s, &ss), VEIL_ERR_STORE_DB); /* same id */
    EXPECT_OK(veil_store_session_get(f.s, ss.id, &got));
    EXPECT_STR_EQ(got.nonce, "nonce-1");
    EXPECT_STR_EQ(got.tee, "sample");
    EXPECT_EQ(got.created_at, 1000);
    EXPECT_EQ(got.nonce_expires_at, 1060);
    EXPECT_FALSE(got.nonce_used);
    EXPECT_FALSE(got.attested);
    EXPECT_NULL(got.tee_pubkey_json);
    EXPECT_NULL(got.claims_json);
    veil_store_session_free(&got);
    /* Attestation needs the nonce consumed first. */
    EXPECT_ERR(veil_store_session_attest(f.s, ss.id, "{}", "{}", 5000), VEIL_ERR_USAGE);
    EXPECT_OK(veil_store_session_use_nonce_at(f.s, ss.id, 1001));
    EXPECT_OK(veil_store_session_attest(f.s, ss.id, "{\"kty\":\"EC\"}", "{\"tee\":\"x\"}", 5000));
    /* Survives a restart of the broker. */
    fixture_reopen(&f);
    EXPECT_OK(veil_store_session_get(f.s, ss.id, &got));
    EXPECT_TRUE(got.nonce_used);
    EXPECT_TRUE(got.attested);
    EXPECT_EQ(got.expires_at, 5000);
    EXPECT_STR_EQ(got.tee_pubkey_json, "{\"kty\":\"EC\"}");
    EXPECT_STR_EQ(got.claims_json, "{\"tee\":\"x\"}");
    veil_store_session_free(&got);
    memset(unknown, 9, sizeof(unknown));
    EXPECT_ERR(veil_store_session_get(f.s, unknown, &got), VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_ERR(veil_store_session_use_nonce(f.s, unknown), VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_ERR(veil_store_session_attest(f.s, unknown, "{}", "{}", 1), VEIL_ERR_STORE_NOT_FOUND);
    fixture_close(&f);
}

static void test_nonce_single_use(void **state)
{
    struct store_fixture f;
    struct veil_store_session ss;
    int64_t now = (int64_t)time(NULL);

    (void)state;
    fixture_open(&f);
    make_session(&ss, 2, now);
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    EXPECT_OK(veil_store_session_use_nonce(f.s, ss.id));
    EXPECT_ERR(veil_store_session_use_nonce(f.s, ss.id), VEIL_ERR_STORE_NONCE_USED);
    fixture_reopen(&f);
    EXPECT_ERR(veil_store_session_use_nonce(f.s, ss.id), VEIL_ERR_STORE_NONCE_USED);
    /* A nonce past its deadline is refused, and stays unused. */
    make_session(&ss, 3, 1000);
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    EXPECT_ERR(veil_store_session_use_nonce_at(f.s, ss.id, 1060), VEIL_ERR_STORE_NONCE_EXPIRED);
    EXPECT_OK(veil_store_session_use_nonce_at(f.s, ss.id, 1059));
    fixture_close(&f);
}

#define RACERS 8

struct race {
    struct veil_store *s;
    const uint8_t *id;
    int wins;
    int used;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    veil_result res = veil_store_session_use_nonce(r->s, r->id);

    if (veil_ok(res)) {
        __atomic_add_fetch(&r->wins, 1, __ATOMIC_SEQ_CST);
    } else if (res.code == VEIL_ERR_STORE_NONCE_USED) {
        __atomic_add_fetch(&r->used, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void test_nonce_one_winner_across_threads(void **state)
{
    struct store_fixture f;
    struct veil_store_session ss;
    pthread_t t[RACERS];
    struct race race;

    (void)state;
    fixture_open(&f);
    make_session(&ss, 4, (int64_t)time(NULL));
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    race.s = f.s;
    race.id = ss.id;
    race.wins = 0;
    race.used = 0;
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, racer, &race), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    EXPECT_EQ(race.wins, 1);
    EXPECT_EQ(race.used, RACERS - 1);
    fixture_close(&f);
}

static void test_expiry(void **state)
{
    struct store_fixture f;
    struct veil_store_session ss;
    struct veil_store_session got;
    uint8_t a[32];
    uint8_t b[32];
    uint8_t c[32];
    int64_t removed = -1;

    (void)state;
    fixture_open(&f);
    /* a: attested, lives to 2000. b: never attested, nonce deadline 1060. c: fresh. */
    make_session(&ss, 0xa, 1000);
    ss.expires_at = 1000;
    memcpy(a, ss.id, 32);
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    EXPECT_OK(veil_store_session_use_nonce_at(f.s, a, 1001));
    EXPECT_OK(veil_store_session_attest(f.s, a, "{}", "{}", 2000));
    make_session(&ss, 0xb, 1000);
    ss.expires_at = 3000;
    memcpy(b, ss.id, 32);
    EXPECT_OK(veil_store_session_create(f.s, &ss));
    make_session(&ss, 0xc, 1500);
    ss.expires_at = 3000;
    memcpy(c, ss.id, 32);
    EXPECT_OK(veil_store_session_create(f.s, &ss));

    EXPECT_OK(veil_store_session_expire(f.s, 1060, &removed));
    EXPECT_EQ(removed, 0);
    EXPECT_OK(veil_store_session_expire(f.s, 1061, &removed));
    EXPECT_EQ(removed, 1); /* b: its nonce can no longer be used */
    EXPECT_ERR(veil_store_session_get(f.s, b, &got), VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_OK(veil_store_session_expire(f.s, 2001, &removed));
    EXPECT_EQ(removed, 2); /* a (lifetime over) and c (nonce deadline 1560) */
    EXPECT_ERR(veil_store_session_get(f.s, a, &got), VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_ERR(veil_store_session_get(f.s, c, &got), VEIL_ERR_STORE_NOT_FOUND);
    fixture_close(&f);
}

VEIL_TEST_MAIN(test_create_get_attest, test_nonce_single_use, test_nonce_one_winner_across_threads,
               test_expiry)
