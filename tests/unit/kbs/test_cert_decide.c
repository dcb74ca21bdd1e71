/* POST /kbs/v0/cert as a decision over real sessions and a real store: issuance, and each refusal
 * (no session, not attested, expired, no CA, bad body, bad CSR, validity above the maximum, key
 * mismatch, no policy, policy denies). */
#include <jansson.h>
#include <openssl/pem.h>

#include "../store/store_test.h"
#include "cert_test.h"
#include "jose/jose.h"
#include "kbs/cert.h"
#include "kbs/proto.h"

#define NOW     INT64_C(1800000000)
#define MAX_TTL INT64_C(86400)

struct fx {
    struct store_fixture f;
    struct veil_kbs_sessions *sessions;
    struct veil_kbs_ca ca;
    EVP_PKEY *key; /* the bound TLS key */
    uint8_t id[32];
    struct veil_wr body;
    struct veil_kbs_cert_decision d;
};

static const char allow_policy[] =
    "{\"version\":1,\"allOf\":[{\"claim\":\"tee\",\"equals\":\"sim\"},"
    "{\"claim\":\"sim.debug\",\"equals\":false},"
    "{\"claim\":\"cert.san\",\"in\":[\"DNS:web.example\",\"IP:127.0.0.1\"]},"
    "{\"claim\":\"cert.validity_s\",\"lessOrEquals\":86400}]}";

/* A session with id tag, attested (or not) with key, expiring at expires_at. */
static void session(struct fx *x, uint8_t tag, EVP_PKEY *key, bool attested, int64_t expires_at)
{
    struct veil_kbs_session ss;
    struct veil_claims c;
    json_t *claims = NULL;
    json_t *jwk = NULL;
    char *claims_text;
    char *key_text;

    memset(&ss, 0, sizeof(ss));
    memset(x->id, tag, sizeof(x->id));
    memcpy(ss.id, x->id, sizeof(ss.id));
    (void)snprintf(ss.nonce, sizeof(ss.nonce), "nonce-%u", tag);
    (void)snprintf(ss.tee, sizeof(ss.tee), "sim");
    ss.created_at = NOW - 10;
    ss.nonce_expires_at = NOW + 60;
    ss.expires_at = expires_at;
    EXPECT_OK(veil_kbs_sessions_create(x->sessions, &ss, NOW - 10));
    if (!attested) {
        return;
    }
    veil_claims_init(&c);
    EXPECT_OK(veil_claims_add_str(&c, "tee", "sim"));
    EXPECT_OK(veil_claims_add_bool(&c, "sim.debug", false));
    EXPECT_OK(veil_kbs_claims_to_json(&c, &claims));
    EXPECT_OK(veil_jwk_to_json(key, &jwk));
    claims_text = json_dumps(claims, JSON_COMPACT);
    key_text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    EXPECT_OK(veil_kbs_sessions_use_nonce(x->sessions, x->id, NOW - 5));
    EXPECT_OK(veil_kbs_sessions_attest(x->sessions, x->id, key_text, claims_text, expires_at));
    free(claims_text);
    free(key_text);
    json_decref(claims);
    json_decref(jwk);
    veil_claims_free(&c);
}

static void policy(struct fx *x, const char *target, const char *json)
{
    int64_t version = 0;

    EXPECT_OK(veil_store_policy_set(x->f.s, target, json, strlen(json), &version));
}

/* The request body: a CSR for key with san, signed by key. */
static void body(struct fx *x, const char *name, EVP_PKEY *key, const char *san, int64_t validity)
{
    struct veil_wr der;

    veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
    veil_wr_reset(&x->body);
    EXPECT_OK(veil_kbs_csr_make(key, "web", san, NULL, &der));
    EXPECT_OK(veil_kbs_cert_request_build(name, der.data, der.len, validity, &x->body));
    veil_wr_free(&der);
}

static void decide(struct fx *x, const uint8_t *id, int64_t now)
{
    veil_kbs_cert_decision_free(&x->d);
    veil_kbs_cert_decision_init(&x->d);
    EXPECT_OK(veil_kbs_cert_decide(&x->ca, x->sessions, x->f.s, id, x->body.data, x->body.len, now,
                                   MAX_TTL, &x->d));
}

static void expect_refusal(struct fx *x, int status, const char *type, const char *detail_part)
{
    if (x->d.status != status || strcmp(x->d.type, type) != 0 ||
        strstr(x->d.detail, detail_part) == NULL) {
        fail_msg("got %d %s: %s; wanted %d %s with \"%s\"", x->d.status, x->d.type, x->d.detail,
                 status, type, detail_part);
    }
    EXPECT_EQ(x->d.answer.len, 0);
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));

    assert_non_null(x);
    fixture_open(&x->f);
    EXPECT_OK(veil_kbs_sessions_new(16, &x->sessions));
    EXPECT_OK(veil_kbs_ca_create("test CA", 86400 * 365, &x->ca));
    x->key = test_ec_key("P-256");
    veil_wr_init(&x->body, VEIL_KBS_BODY_SIZE_MAX);
    veil_kbs_cert_decision_init(&x->d);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    veil_kbs_cert_decision_free(&x->d);
    veil_wr_free(&x->body);
    EVP_PKEY_free(x->key);
    veil_kbs_ca_free(&x->ca);
    fixture_close(&x->f);
    veil_kbs_sessions_free(x->sessions);
    free(x);
    return 0;
}

static void test_issues(void **state)
{
    struct fx *x = *state;
    struct veil_wr pem;
    BIO *bio;
    X509 *leaf;
    X509 *ca;
    time_t at = (time_t)(NOW + 3600);

    session(x, 1, x->key, true, NOW + 300);
    policy(x, "veil/cert/web", allow_policy);
    body(x, "web", x->key, "DNS:web.example,IP:127.0.0.1", 3600);
    decide(x, x->id, NOW);
    if (x->d.status != 200) {
        fail_msg("%d %s: %s", x->d.status, x->d.type, x->d.detail);
    }
    EXPECT_STR_EQ(x->d.resource, "veil/cert/web");
    EXPECT_STR_EQ(x->d.policy_target, "veil/cert/web");
    EXPECT_STR_EQ(x->d.tee, "sim");
    EXPECT_EQ(x->d.not_after, NOW + 3600);
    EXPECT_NOT_NULL(strstr(x->d.detail, "DNS:web.example IP:127.0.0.1"));
    veil_wr_init(&pem, VEIL_KBS_CERT_CHAIN_SIZE_MAX);
    EXPECT_OK(veil_kbs_cert_response_parse(x->d.answer.data, x->d.answer.len, &pem));
    bio = BIO_new_mem_buf(pem.data, (int)pem.len);
    leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(leaf);
    assert_non_null(ca);
    EXPECT_TRUE(X509_cmp(ca, x->ca.cert) == 0);
    EXPECT_TRUE(X509_verify(leaf, x->ca.key) == 1);
    EXPECT_TRUE(EVP_PKEY_eq(X509_get0_pubkey(leaf), x->key) == 1);
    EXPECT_EQ(X509_check_host(leaf, "web.example", 0, 0, NULL), 1);
    EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(leaf), &at), -1);
    X509_free(leaf);
    X509_free(ca);
    BIO_free(bio);
    veil_wr_free(&pem);
    /* The default validity is the broker's maximum; repo-wide policies apply too. */
    session(x, 2, x->key, true, NOW + 300);
    policy(x, "veil/*", allow_policy);
    body(x, "other", x->key, "DNS:web.example", 0);
    decide(x, x->id, NOW);
    EXPECT_EQ(x->d.status, 200);
    EXPECT_EQ(x->d.not_after, NOW + MAX_TTL);
    EXPECT_STR_EQ(x->d.policy_target, "veil/*");
}

static void test_session_refusals(void **state)
{
    struct fx *x = *state;
    uint8_t unknown[32] = {9};

    policy(x, "veil/cert/web", allow_policy);
    body(x, "web", x->key, "DNS:web.example", 3600);
    decide(x, NULL, NOW); /* no cookie */
    expect_refusal(x, 401, "Unauthenticated", "no attested session");
    decide(x, unknown, NOW);
    expect_refusal(x, 401, "Unauthenticated", "no attested session");
    session(x, 3, x->key, false, NOW + 300); /* auth only: never attested */
    decide(x, x->id, NOW);
    expect_refusal(x, 401, "Unauthenticated", "/kbs/v0/attest first");
    session(x, 4, x->key, true, NOW + 300); /* attested, then expired */
    decide(x, x->id, NOW + 301);
    expect_refusal(x, 401, "SessionExpired", "expired");
    decide(x, x->id, NOW + 300); /* the last second still counts */
    EXPECT_EQ(x->d.status, 200);
}

static void test_no_ca(void **state)
{
    struct fx *x = *state;

    session(x, 5, x->key, true, NOW + 300);
    policy(x, "veil/cert/web", allow_policy);
    body(x, "web", x->key, "DNS:web.example", 3600);
    veil_kbs_cert_decision_free(&x->d);
    veil_kbs_cert_decision_init(&x->d);
    EXPECT_OK(veil_kbs_cert_decide(NULL, x->sessions, x->f.s, x->id, x->body.data, x->body.len, NOW,
                                   MAX_TTL, &x->d));
    expect_refusal(x, 404, "NotConfigured", "kbs-ca.pem");
}

static void test_request_refusals(void **state)
{
    struct fx *x = *state;
    EVP_PKEY *other = test_ec_key("P-256");

    session(x, 6, x->key, true, NOW + 300);
    policy(x, "veil/cert/web", allow_policy);
    veil_wr_reset(&x->body);
    EXPECT_OK(veil_wr_bytes(&x->body, "{\"name\":\"web\"}", 14));
    decide(x, x->id, NOW);
    expect_refusal(x, 400, "InvalidRequest", "csr");
    /* a CSR that is not DER, and one whose signature is not by its key */
    veil_wr_reset(&x->body);
    EXPECT_OK(veil_kbs_cert_request_build("web", (const uint8_t *)"junk", 4, 0, &x->body));
    decide(x, x->id, NOW);
    expect_refusal(x, 400, "InvalidCsr", "PKCS#10");
    {
        struct veil_wr der;
        veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
        test_csr(x->key, "DNS:web.example", 0, NULL, other, &der);
        veil_wr_reset(&x->body);
        EXPECT_OK(veil_kbs_cert_request_build("web", der.data, der.len, 0, &x->body));
        veil_wr_free(&der);
    }
    decide(x, x->id, NOW);
    expect_refusal(x, 400, "InvalidCsr", "signature");
    body(x, "web", x->key, "DNS:*.example", 3600);
    decide(x, x->id, NOW);
    expect_refusal(x, 400, "InvalidCsr", "wildcard");
    /* longer than the broker allows */
    body(x, "web", x->key, "DNS:web.example", MAX_TTL + 1);
    decide(x, x->id, NOW);
    expect_refusal(x, 400, "InvalidRequest", "maximum");
    /* a well-formed CSR for a key the attestation did not bind */
    body(x, "web", other, "DNS:web.example", 3600);
    decide(x, x->id, NOW);
    expect_refusal(x, 403, "KeyMismatch", "not the key the attestation bound");
    EVP_PKEY_free(other);
}

static void test_policy_refusals(void **state)
{
    struct fx *x = *state;

    session(x, 7, x->key, true, NOW + 300);
    body(x, "web", x->key, "DNS:web.example", 3600);
    decide(x, x->id, NOW); /* no policy at all */
    expect_refusal(x, 403, "PolicyDeny", "no policy is set for veil/cert/web");
    policy(x, "veil/cert/web", allow_policy);
    body(x, "web", x->key, "DNS:web.example,DNS:evil.example", 3600);
    decide(x, x->id, NOW);
    expect_refusal(x, 403, "PolicyDeny", "cert.san in");
    EXPECT_STR_EQ(x->d.policy_target, "veil/cert/web"); /* for the audit record */
    policy(x, "veil/cert/web",
           "{\"version\":1,\"allOf\":[{\"claim\":\"tee\",\"equals\":\"sim\"},"
           "{\"claim\":\"cert.validity_s\",\"lessOrEquals\":600}]}");
    body(x, "web", x->key, "DNS:web.example", 3600);
    decide(x, x->id, NOW);
    expect_refusal(x, 403, "PolicyDeny", "cert.validity_s");
    /* a policy that does not name sim refuses the simulated TEE */
    policy(x, "veil/cert/web",
           "{\"version\":1,\"allOf\":[{\"claim\":\"cert.san\",\"in\":[\"DNS:web.example\"]}]}");
    decide(x, x->id, NOW);
    expect_refusal(x, 403, "PolicyDeny", "");
}

/* A fresh store, CA and key for each test. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
