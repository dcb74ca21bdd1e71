/* The simulated-TEE verifier: genuine evidence passes; each check refuses what it must. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "attest/sim.h"
#include "veil_test.h"
#include "verify/sim_verify.h"

static char dir[64];
static struct veil_sim_platform plat;
static struct veil_collateral roots;
static struct veil_collateral other_roots;
static struct veil_sim_cache *cache; /* verify() goes through it when set */

static int setup(void **state)
{
    char p[128];
    struct veil_sim_tcb tcb = {3, 0, 8, 115};

    (void)state;
    (void)snprintf(dir, sizeof(dir), "/tmp/veil-simv-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    veil_collateral_init(&roots);
    veil_collateral_init(&other_roots);
    (void)snprintf(p, sizeof(p), "%s/a", dir);
    if (!veil_ok(veil_sim_platform_create(p, &tcb)) || !veil_ok(veil_sim_platform_load(p, &plat))) {
        return -1;
    }
    (void)snprintf(p, sizeof(p), "%s/a/root.pem", dir);
    if (!veil_ok(veil_collateral_add_path(&roots, p))) {
        return -1;
    }
    (void)snprintf(p, sizeof(p), "%s/b", dir);
    if (!veil_ok(veil_sim_platform_create(p, &tcb))) {
        return -1;
    }
    (void)snprintf(p, sizeof(p), "%s/b/root.pem", dir);
    return veil_ok(veil_collateral_add_path(&other_roots, p)) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    veil_sim_platform_free(&plat);
    veil_collateral_free(&roots);
    veil_collateral_free(&other_roots);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void evidence(struct veil_wr *ev, bool debug)
{
    struct veil_sim_guest g = {.policy = debug ? VEIL_SNP_POLICY_DEBUG : 0};
    uint8_t rd[64] = {1, 2, 3, 4};

    memset(g.measurement, 0x42, sizeof(g.measurement));
    veil_wr_init(ev, 8192);
    EXPECT_OK(veil_sim_attest(&plat, &g, rd, ev));
}

/* Runs the verifier; returns its code and the first failed check id (or ""). */
static int verify(const struct veil_wr *ev, const struct veil_collateral *coll, time_t at,
                  const uint8_t *rd, size_t rd_size, char *failed_id, struct veil_claims *out)
{
    struct veil_verify_opts opts = {
        .at = at, .report_data = rd, .report_data_size = rd_size, .collateral = coll};
    struct veil_claims claims;
    struct veil_report rep;
    const struct veil_check *f;
    veil_result r;

    veil_claims_init(&claims);
    veil_report_init(&rep);
    r = veil_verify_sim_cached(cache, ev->data, ev->len, &opts, &claims, &rep);
    f = veil_report_first_failure(&rep);
    (void)snprintf(failed_id, 64, "%s", f != NULL ? f->id : "");
    EXPECT_TRUE(veil_ok(r) == veil_report_passed(&rep));
    if (out != NULL) {
        *out = claims;
    } else {
        veil_claims_free(&claims);
    }
    veil_report_free(&rep);
    return r.code;
}

static void test_genuine_evidence_verifies(void **state)
{
    struct veil_wr ev;
    struct veil_claims c;
    char failed[64];
    static const uint8_t rd[4] = {1, 2, 3, 4};
    const struct veil_claim *cl;

    (void)state;
    evidence(&ev, true);
    EXPECT_EQ(verify(&ev, &roots, time(NULL), rd, sizeof(rd), failed, &c), VEIL_OK);
    EXPECT_STR_EQ(veil_claims_find(&c, "tee")->str, "sim");
    cl = veil_claims_find(&c, "sim.debug");
    EXPECT_TRUE(cl != NULL && cl->b);
    EXPECT_EQ(veil_claims_find(&c, "sim.tcb.reported.snp")->i, 8);
    EXPECT_EQ(veil_claims_find(&c, "sim.measurement")->bytes[0], 0x42);
    veil_claims_free(&c);
    veil_wr_free(&ev);
}

static void test_each_check_refuses(void **state)
{
    struct veil_wr ev;
    char failed[64];
    static const uint8_t rd[4] = {1, 2, 3, 4};
    static const uint8_t wrong_rd[4] = {1, 2, 3, 5};

    (void)state;
    evidence(&ev, false);
    EXPECT_EQ(verify(&ev, NULL, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.root");
    EXPECT_EQ(verify(&ev, &other_roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain");
    EXPECT_EQ(verify(&ev, &roots, time(NULL) + 20L * 365 * 86400, NULL, 0, failed, NULL),
              VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain.validity");
    EXPECT_EQ(verify(&ev, &roots, time(NULL), wrong_rd, sizeof(wrong_rd), failed, NULL),
              VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.report_data");
    EXPECT_EQ(verify(&ev, &roots, time(NULL), rd, sizeof(rd), failed, NULL), VEIL_OK);
    /* Sampled bytes of the signed body and of the signature. */
    for (size_t i = 8; i < VEIL_SIM_REPORT_SIZE; i += 13) {
        if (i == 24 || (i >= 270 && i < 274)) {
            continue; /* vmpl and reserved TCB bytes are parse errors, tested elsewhere */
        }
        ev.data[i] ^= 0x10;
        int code = verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL);
        ev.data[i] ^= 0x10;
        if (i == 8) {
            EXPECT_EQ(code, VEIL_ERR_PROTO); /* version */
            continue;
        }
        EXPECT_EQ(code, VEIL_ERR_ATTEST);
        EXPECT_STR_EQ(failed, i >= 204 && i < 268 ? "sim.chip_id" : "sim.signature");
    }
    /* A byte of the chip certificate: its signature (or its DER) no longer holds. */
    ev.data[ev.len - 20] ^= 0x01;
    EXPECT_NE(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    veil_wr_free(&ev);
}

/* Evidence whose chip certificate is the one of the platform in dir/name. */
static void evidence_of(const char *name, struct veil_wr *ev)
{
    struct veil_sim_platform other;
    struct veil_sim_guest g = {0};
    uint8_t rd[64] = {0};
    char p[128];

    (void)snprintf(p, sizeof(p), "%s/%s", dir, name);
    EXPECT_OK(veil_sim_platform_load(p, &other));
    veil_wr_init(ev, 8192);
    EXPECT_OK(veil_sim_attest(&other, &g, rd, ev));
    veil_sim_platform_free(&other);
}

static void test_cache_never_accepts_a_different_chain(void **state)
{
    struct veil_wr ev;
    struct veil_wr ev_b;
    char failed[64];

    (void)state;
    EXPECT_OK(veil_sim_cache_new(&cache));
    evidence(&ev, false);
    evidence_of("b", &ev_b);
    /* Cold, then warm: the same answer. */
    EXPECT_EQ(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    EXPECT_EQ(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    /* A cached chip certificate under a trust anchor that did not sign it: refused. */
    EXPECT_EQ(verify(&ev, &other_roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain");
    EXPECT_EQ(verify(&ev, NULL, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.root");
    /* Another platform's chip certificate while the first one is cached: refused. */
    EXPECT_EQ(verify(&ev_b, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain");
    /* ... and once its own root is given, accepted (and cached under that root only). */
    EXPECT_EQ(verify(&ev_b, &other_roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    EXPECT_EQ(verify(&ev_b, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain");
    /* The cached certificate with one byte changed is a different certificate: never a hit. */
    ev.data[ev.len - 20] ^= 0x01;
    EXPECT_NE(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    ev.data[ev.len - 20] ^= 0x01;
    /* What the cache does not cover is checked on every call: validity, report, signature. */
    EXPECT_EQ(verify(&ev, &roots, time(NULL) + 20L * 365 * 86400, NULL, 0, failed, NULL),
              VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chain.validity");
    ev.data[47] ^= 0x10;
    EXPECT_EQ(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.signature");
    ev.data[47] ^= 0x10;
    ev.data[216] ^= 0x10;
    EXPECT_EQ(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_ERR_ATTEST);
    EXPECT_STR_EQ(failed, "sim.chip_id");
    ev.data[216] ^= 0x10;
    EXPECT_EQ(verify(&ev, &roots, time(NULL), NULL, 0, failed, NULL), VEIL_OK);
    veil_sim_cache_free(cache);
    cache = NULL;
    veil_wr_free(&ev);
    veil_wr_free(&ev_b);
}

struct cache_thread {
    const struct veil_wr *ev;
    int failures;
};

static void *verify_many(void *arg)
{
    struct cache_thread *t = arg;
    char failed[64];

    for (int i = 0; i < 20; i++) {
        if (verify(t->ev, &roots, time(NULL), NULL, 0, failed, NULL) != VEIL_OK) {
            t->failures++;
        }
    }
    return NULL;
}

/* Threads sharing one cache (as veil-kbs workers do) all get the right answer. */
static void test_cache_is_shared_between_threads(void **state)
{
    struct veil_wr ev;
    pthread_t th[4];
    struct cache_thread t[4];

    (void)state;
    EXPECT_OK(veil_sim_cache_new(&cache));
    evidence(&ev, false);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct cache_thread){&ev, 0};
        EXPECT_EQ(pthread_create(&th[i], NULL, verify_many, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(pthread_join(th[i], NULL), 0);
        EXPECT_EQ(t[i].failures, 0);
    }
    veil_sim_cache_free(cache);
    cache = NULL;
    veil_wr_free(&ev);
}

VEIL_TEST_MAIN_WITH(setup, teardown, test_genuine_evidence_verifies, test_each_check_refuses,
                    test_cache_never_accepts_a_different_chain,
                    test_cache_is_shared_between_threads)
