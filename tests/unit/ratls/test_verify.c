/* Making and verifying attested TLS certificates: the good case and each refusal. */
#include <time.h>

#include <openssl/x509v3.h>

#include "crypto/x509.h"
#include "kbs/cert.h"
#include "ratls_test.h"

static struct ratls_fixture fx;

static int setup(void **state)
{
    (void)state;
    ratls_fixture_init(&fx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ratls_fixture_free(&fx);
    return 0;
}

static veil_result verify_with(const struct veil_policy *p, X509 *cert, char *failure, size_t size)
{
    struct veil_ratls_verifier v;
    veil_result r;

    veil_ratls_verifier_init(&v, p, &fx.roots);
    r = veil_ratls_cert_verify(&v, cert);
    (void)snprintf(failure, size, "%s", v.failure);
    veil_ratls_verifier_reset(&v);
    return r;
}

static void test_good(void **state)
{
    EVP_PKEY *key = ratls_key();
    X509 *cert = ratls_cert(&fx.trusted, &fx.guest, key);
    struct veil_ratls_verifier v;
    const struct veil_claim *c;
    enum veil_tee tee;
    struct veil_wr ev;
    uint8_t rd[64];

    (void)state;
    veil_ratls_verifier_init(&v, &fx.policy, &fx.roots);
    EXPECT_OK(veil_ratls_cert_verify(&v, cert));
    EXPECT_STR_EQ(v.failure, "");
    EXPECT_TRUE(v.decision.allow);
    c = veil_claims_find(&v.claims, "tee");
    assert_non_null(c);
    EXPECT_STR_EQ(c->str, "sim");
    /* verifying twice with one verifier gives the same answer */
    EXPECT_OK(veil_ratls_cert_verify(&v, cert));
    veil_ratls_verifier_reset(&v);
    /* the evidence binds SHA-256(SPKI) and 32 zero bytes */
    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    EXPECT_OK(veil_ratls_cert_evidence(cert, &tee, &ev));
    EXPECT_EQ(tee, VEIL_TEE_SIM);
    EXPECT_OK(veil_ratls_report_data(key, NULL, 0, rd));
    EXPECT_BYTES_EQ(ev.data + 140, rd, 64);
    veil_wr_free(&ev);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_report_data(void **state)
{
    EVP_PKEY *key = ratls_key();
    uint8_t a[64];
    uint8_t b[64];
    uint8_t zero[32] = {0};

    (void)state;
    EXPECT_OK(veil_ratls_report_data(key, NULL, 0, a));
    EXPECT_BYTES_EQ(a + 32, zero, 32);
    EXPECT_OK(veil_ratls_report_data(key, (const uint8_t *)"nonce", 5, b));
    EXPECT_BYTES_EQ(a, b, 32);
    EXPECT_BYTES_NE(b + 32, zero, 32);
    EVP_PKEY_free(key);
}

static void test_no_extension(void **state)
{
    EVP_PKEY *key = ratls_key();
    struct veil_x509_params p = {"localhost", 3600, false, NULL, true};
    X509 *cert = NULL;
    char why[1024];

    (void)state;
    EXPECT_OK(veil_x509_make(key, &p, NULL, key, &cert));
    EXPECT_ERR(verify_with(&fx.policy, cert, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.extension"));
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* Evidence made for key A's report data, put into a certificate for key B. */
struct swapped {
    EVP_PKEY *a;
    struct veil_sim_attester_ctx sim;
};

static veil_result attest_for_a(void *ctx, const uint8_t report_data[64], struct veil_wr *ev)
{
    struct swapped *s = ctx;
    uint8_t rd[64];

    (void)report_data;
    GUARD(veil_ratls_report_data(s->a, NULL, 0, rd));
    return veil_sim_attester(&s->sim, rd, ev);
}

static void test_other_key(void **state)
{
    struct swapped s = {ratls_key(), {&fx.trusted, &fx.guest}};
    EVP_PKEY *b = ratls_key();
    X509 *cert = NULL;
    char why[1024];

    (void)state;
    EXPECT_OK(veil_ratls_cert_make(b, "localhost", 3600, VEIL_TEE_SIM, attest_for_a, &s, &cert));
    EXPECT_ERR(verify_with(&fx.policy, cert, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "sim.report_data"));
    X509_free(cert);
    EVP_PKEY_free(b);
    EVP_PKEY_free(s.a);
}

static void test_policy_refuses(void **state)
{
    struct veil_sim_guest debug = fx.guest;
    EVP_PKEY *key = ratls_key();
    X509 *cert;
    char why[1024];

    (void)state;
    debug.policy = VEIL_SNP_POLICY_DEBUG;
    cert = ratls_cert(&fx.trusted, &debug, key);
    EXPECT_ERR(verify_with(&fx.policy, cert, why, sizeof(why)), VEIL_ERR_POLICY);
    EXPECT_NOT_NULL(strstr(why, "sim.debug"));
    X509_free(cert);
    cert = ratls_cert(&fx.trusted, &fx.guest, key);
    EXPECT_ERR(verify_with(&fx.other_policy, cert, why, sizeof(why)), VEIL_ERR_POLICY);
    EXPECT_NOT_NULL(strstr(why, "sim.measurement"));
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_untrusted_platform(void **state)
{
    EVP_PKEY *key = ratls_key();
    X509 *cert = ratls_cert(&fx.untrusted, &fx.guest, key);
    char why[1024];

    (void)state;
    EXPECT_ERR(verify_with(&fx.policy, cert, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "sim."));
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* Finds needle in the certificate's DER, changes the byte at offset delta from it, re-parses. */
static X509 *tampered(X509 *cert, const uint8_t *needle, size_t needle_size, size_t delta)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int n = i2d_X509(cert, &der);
    X509 *out;
    size_t i;

    assert_true(n > 0);
    for (i = 0; i + needle_size <= (size_t)n; i++) {
        if (memcmp(der + i, needle, needle_size) == 0) {
            break;
        }
    }
    assert_true(i + delta < (size_t)n);
    der[i + delta] ^= 0x01;
    p = der;
    out = d2i_X509(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(out);
    return out;
}

static void test_tampered(void **state)
{
    static const uint8_t tag[] = {0xda, 0x56, 0x45, 0x49, 0x04};
    EVP_PKEY *key = ratls_key();
    X509 *cert = ratls_cert(&fx.trusted, &fx.guest, key);
    X509 *bad;
    char why[1024];

    (void)state;
    /* a measurement byte inside the evidence: the report signature fails */
    bad = tampered(cert, (const uint8_t *)VEIL_SIM_MAGIC, 8, 70);
    EXPECT_ERR(verify_with(&fx.policy, bad, why, sizeof(why)), VEIL_ERR_ATTEST);
    X509_free(bad);
    /* the CBOR tag: an unknown evidence type */
    bad = tampered(cert, tag, sizeof(tag), 4);
    EXPECT_ERR(verify_with(&fx.policy, bad, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.extension"));
    X509_free(bad);
    /* the byte-string length */
    bad = tampered(cert, tag, sizeof(tag), 6);
    EXPECT_ERR(verify_with(&fx.policy, bad, why, sizeof(why)), VEIL_ERR_ATTEST);
    X509_free(bad);
    /* the subject name (outside the extension): the self-signature fails */
    bad = tampered(cert, (const uint8_t *)"localhost", 9, 0);
    EXPECT_ERR(verify_with(&fx.policy, bad, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.signature"));
    X509_free(bad);
    EXPECT_ERR(verify_with(&fx.policy, NULL, why, sizeof(why)), VEIL_ERR_ATTEST);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_validity(void **state)
{
    EVP_PKEY *key = ratls_key();
    X509 *cert = ratls_cert(&fx.trusted, &fx.guest, key);
    struct veil_ratls_verifier v;

    (void)state;
    veil_ratls_verifier_init(&v, &fx.policy, &fx.roots);
    v.at = time(NULL) + 2 * 3600; /* the certificate lives for an hour */
    EXPECT_ERR(veil_ratls_cert_verify(&v, cert), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(v.failure, "ratls.validity: the certificate has expired"));
    v.at = time(NULL) - 2 * 3600; /* valid from an hour ago */
    EXPECT_ERR(veil_ratls_cert_verify(&v, cert), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(v.failure, "not valid yet"));
    v.at = time(NULL) + 60;
    EXPECT_OK(veil_ratls_cert_verify(&v, cert));
    veil_ratls_verifier_reset(&v);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static veil_result verify_chain(X509 *cert, X509 *issuer, char *failure, size_t size)
{
    struct veil_ratls_verifier v;
    STACK_OF(X509) *chain = sk_X509_new_null();
    veil_result r;

    assert_non_null(chain);
    assert_true(issuer == NULL || sk_X509_push(chain, issuer) > 0);
    veil_ratls_verifier_init(&v, &fx.policy, &fx.roots);
    r = veil_ratls_cert_verify_chain(&v, cert, chain);
    (void)snprintf(failure, size, "%s", v.failure);
    veil_ratls_verifier_reset(&v);
    sk_X509_free(chain);
    return r;
}

/* A certificate a key broker's CA issued for the attested key, keeping the evidence
 * (docs/PROTOCOL.kbs-certs.md): accepted when the issuer is in the presented chain. */
static void test_issued_by_ca(void **state)
{
    EVP_PKEY *key = ratls_key();
    X509 *self = ratls_cert(&fx.trusted, &fx.guest, key);
    struct veil_kbs_ca ca = {NULL, NULL};
    struct veil_kbs_ca other = {NULL, NULL};
    struct veil_kbs_csr csr;
    struct veil_wr der;
    X509 *leaf = NULL;
    X509 *bad;
    char why[1024];

    (void)state;
    veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
    EXPECT_OK(veil_kbs_ca_create("broker CA", 86400, &ca));
    EXPECT_OK(veil_kbs_ca_create("other CA", 86400, &other));
    EXPECT_OK(veil_kbs_csr_make(key, "web", "DNS:localhost", self, &der));
    EXPECT_OK(veil_kbs_csr_parse(der.data, der.len, &csr, why, sizeof(why)));
    EXPECT_NOT_NULL(csr.evidence_ext);
    EXPECT_OK(veil_kbs_cert_issue(&ca, &csr, "web", (int64_t)time(NULL), 3600, &leaf));
    EXPECT_OK(verify_chain(leaf, ca.cert, why, sizeof(why)));
    /* without its issuer, or with another CA, the signature is nobody's */
    EXPECT_ERR(verify_chain(leaf, NULL, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.signature"));
    EXPECT_ERR(verify_with(&fx.policy, leaf, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_ERR(verify_chain(leaf, other.cert, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.signature"));
    /* a changed field outside the evidence: the CA's signature fails */
    bad = tampered(leaf, (const uint8_t *)"localhost", 9, 0);
    EXPECT_ERR(verify_chain(bad, ca.cert, why, sizeof(why)), VEIL_ERR_ATTEST);
    EXPECT_NOT_NULL(strstr(why, "ratls.signature"));
    X509_free(bad);
    /* the policy still decides */
    {
        struct veil_ratls_verifier v;
        STACK_OF(X509) *chain = sk_X509_new_null();
        assert_true(sk_X509_push(chain, ca.cert) > 0);
        veil_ratls_verifier_init(&v, &fx.other_policy, &fx.roots);
        EXPECT_ERR(veil_ratls_cert_verify_chain(&v, leaf, chain), VEIL_ERR_POLICY);
        veil_ratls_verifier_reset(&v);
        sk_X509_free(chain);
    }
    X509_free(leaf);
    veil_kbs_csr_free(&csr);
    veil_kbs_ca_free(&ca);
    veil_kbs_ca_free(&other);
    veil_wr_free(&der);
    X509_free(self);
    EVP_PKEY_free(key);
}

VEIL_TEST_MAIN_WITH(setup, teardown, test_good, test_report_data, test_no_extension, test_other_key,
                    test_policy_refuses, test_untrusted_platform, test_tampered, test_validity,
                    test_issued_by_ca)
