/* Shared fixture for the attested TLS tests: a trusted and an untrusted simulated platform,
 * policies, and certificates made over them. */
#ifndef VEIL_RATLS_TEST_H
#define VEIL_RATLS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/sim.h"
#include "ratls/ratls.h"
#include "veil_test.h"

struct ratls_fixture {
    char dir[64];
    struct veil_sim_platform trusted;
    struct veil_sim_platform untrusted;
    struct veil_collateral roots; /* the trusted platform's root only */
    struct veil_sim_guest guest;
    struct veil_policy policy;       /* tee sim, not debug, measurement 42..42 */
    struct veil_policy other_policy; /* measurement 43..43 */
};

static inline void ratls_path(const struct ratls_fixture *f, const char *name, char *out,
                              size_t size)
{
    int n = snprintf(out, size, "%s/%s", f->dir, name);

    assert_true(n > 0 && (size_t)n < size);
}

static inline void ratls_policy(struct veil_policy *p, char measurement_byte)
{
    char json[512];
    char hex[97];
    int n;

    for (size_t i = 0; i < 96; i += 2) {
        hex[i] = '4';
        hex[i + 1] = measurement_byte;
    }
    hex[96] = '\0';
    n = snprintf(
        json, sizeof(json),
        "{\"version\":1,\"name\":\"test\",\"allOf\":[{\"claim\":\"tee\",\"equals\":\"sim\"},"
        "{\"claim\":\"sim.debug\",\"equals\":false},"
        "{\"claim\":\"sim.measurement\",\"equals\":\"%s\"}]}",
        hex);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    EXPECT_OK(veil_policy_parse((const uint8_t *)json, (size_t)n, p, NULL, 0));
}

static inline void ratls_fixture_init(struct ratls_fixture *f)
{
    struct veil_sim_tcb tcb = {3, 0, 8, 115};
    char p[128];

    memset(f, 0, sizeof(*f));
    memcpy(f->dir, "/tmp/veil-ratls-XXXXXX", sizeof("/tmp/veil-ratls-XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    ratls_path(f, "a", p, sizeof(p));
    EXPECT_OK(veil_sim_platform_create(p, &tcb));
    EXPECT_OK(veil_sim_platform_load(p, &f->trusted));
    ratls_path(f, "b", p, sizeof(p));
    EXPECT_OK(veil_sim_platform_create(p, &tcb));
    EXPECT_OK(veil_sim_platform_load(p, &f->untrusted));
    veil_collateral_init(&f->roots);
    ratls_path(f, "a/root.pem", p, sizeof(p));
    EXPECT_OK(veil_collateral_add_path(&f->roots, p));
    memset(f->guest.measurement, 0x42, sizeof(f->guest.measurement));
    ratls_policy(&f->policy, '2');
    ratls_policy(&f->other_policy, '3');
}

static inline void ratls_fixture_free(struct ratls_fixture *f)
{
    char cmd[128];
    int n;

    veil_sim_platform_free(&f->trusted);
    veil_sim_platform_free(&f->untrusted);
    veil_collateral_free(&f->roots);
    veil_policy_free(&f->policy);
    veil_policy_free(&f->other_policy);
    n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    EXPECT_EQ(system(cmd), 0);
}

static inline EVP_PKEY *ratls_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    assert_non_null(k);
    return k;
}

/* A certificate for key with evidence from platform under guest g. */
static inline X509 *ratls_cert(const struct veil_sim_platform *plat, const struct veil_sim_guest *g,
                               EVP_PKEY *key)
{
    struct veil_sim_attester_ctx ctx = {plat, g};
    X509 *cert = NULL;

    EXPECT_OK(
        veil_ratls_cert_make(key, "localhost", 3600, VEIL_TEE_SIM, veil_sim_attester, &ctx, &cert));
    return cert;
}

#endif
