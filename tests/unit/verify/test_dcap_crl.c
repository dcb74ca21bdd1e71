/* Revocation (veil_dcap_crl_judge, dcap_verify.c) against a throw-away CA: no vector has a revoked
 * PCK, and Intel's keys cannot sign test CRLs. */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "veil_dcap_test.h"

#define DAY 86400

static X509 *make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    EXPECT_NOT_NULL(x);
    EXPECT_NOT_NULL(n);
    EXPECT_EQ(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    EXPECT_EQ(X509_set_version(x, 2), 1);
    EXPECT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
    EXPECT_EQ(X509_set_subject_name(x, n), 1);
    EXPECT_EQ(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n), 1);
    EXPECT_NOT_NULL(X509_gmtime_adj(X509_getm_notBefore(x), -DAY));
    EXPECT_NOT_NULL(X509_gmtime_adj(X509_getm_notAfter(x), DAY));
    EXPECT_EQ(X509_set_pubkey(x, key), 1);
    EXPECT_TRUE(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, long revoked_serial, time_t last,
                          time_t next)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, last);

    EXPECT_EQ(X509_CRL_set_version(crl, 1), 1);
    EXPECT_EQ(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    EXPECT_EQ(X509_CRL_set1_lastUpdate(crl, t), 1);
    EXPECT_NOT_NULL(ASN1_TIME_set(t, next));
    EXPECT_EQ(X509_CRL_set1_nextUpdate(crl, t), 1);
    if (revoked_serial >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        EXPECT_EQ(ASN1_INTEGER_set(s, revoked_serial), 1);
        EXPECT_EQ(X509_REVOKED_set_serialNumber(r, s), 1);
        EXPECT_EQ(X509_REVOKED_set_revocationDate(r, t), 1);
        EXPECT_EQ(X509_CRL_add0_revoked(crl, r), 1);
        ASN1_INTEGER_free(s);
    }
    ASN1_TIME_free(t);
    EXPECT_EQ(X509_CRL_sort(crl), 1);
    EXPECT_TRUE(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    return crl;
}

struct pki {
    EVP_PKEY *ca_key;
    EVP_PKEY *other_key;
    EVP_PKEY *leaf_key;
    X509 *ca;
    X509 *leaf;
    STACK_OF(X509) * subjects;
    STACK_OF(X509_CRL) * crls;
    time_t now;
};

static void pki_init(struct pki *p)
{
    p->ca_key = EVP_EC_gen("P-256");
    p->other_key = EVP_EC_gen("P-256");
    p->leaf_key = EVP_EC_gen("P-256");
    EXPECT_NOT_NULL(p->ca_key);
    EXPECT_NOT_NULL(p->other_key);
    EXPECT_NOT_NULL(p->leaf_key);
    p->ca = make_cert("Test PCK CA", 1, p->ca_key, NULL, p->ca_key);
    p->leaf = make_cert("Test PCK", 2, p->leaf_key, p->ca, p->ca_key);
    p->subjects = sk_X509_new_null();
    EXPECT_TRUE(sk_X509_push(p->subjects, p->leaf) > 0);
    p->crls = sk_X509_CRL_new_null();
    p->now = time(NULL);
}

static void pki_free(struct pki *p)
{
    sk_X509_free(p->subjects);
    sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
    X509_free(p->leaf);
    X509_free(p->ca);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->other_key);
    EVP_PKEY_free(p->leaf_key);
}

static void add_crl(struct pki *p, EVP_PKEY *key, long serial, time_t last, time_t next)
{
    EXPECT_TRUE(sk_X509_CRL_push(p->crls, make_crl(p->ca, key, serial, last, next)) > 0);
}

static void test_crl_outcomes(void **state)
{
    struct pki p;
    X509 *rev = NULL;

    (void)state;
    pki_init(&p);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev), VEIL_DCAP_CRL_NONE);

    add_crl(&p, p.other_key, -1, p.now - DAY, p.now + DAY); /* not signed by the CA */
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev),
              VEIL_DCAP_CRL_BAD_SIGNATURE);

    add_crl(&p, p.ca_key, 99, p.now - DAY, p.now + DAY); /* lists another serial */
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev), VEIL_DCAP_CRL_OK);
    EXPECT_NULL(rev);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now + 2 * DAY, &rev),
              VEIL_DCAP_CRL_STALE);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now - 2 * DAY, &rev),
              VEIL_DCAP_CRL_STALE);
    pki_free(&p);
}

static void test_crl_revoked(void **state)
{
    struct pki p;
    X509 *rev = NULL;

    (void)state;
    pki_init(&p);
    add_crl(&p, p.ca_key, 2, p.now - DAY, p.now + DAY);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev), VEIL_DCAP_CRL_REVOKED);
    EXPECT_TRUE(rev == p.leaf);
    pki_free(&p);
}

/* An old CRL that does not list the leaf does not hide a current one that does. */
static void test_crl_prefers_current(void **state)
{
    struct pki p;
    X509 *rev = NULL;

    (void)state;
    pki_init(&p);
    add_crl(&p, p.ca_key, -1, p.now - 30 * DAY, p.now - 20 * DAY);
    add_crl(&p, p.ca_key, 2, p.now - DAY, p.now + DAY);
    add_crl(&p, p.ca_key, -1, p.now - 40 * DAY, p.now - 30 * DAY);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev), VEIL_DCAP_CRL_REVOKED);
    /* Of two current CRLs the later one counts, whatever the order they were given in. */
    sk_X509_CRL_pop_free(p.crls, X509_CRL_free);
    p.crls = sk_X509_CRL_new_null();
    add_crl(&p, p.ca_key, 2, p.now - DAY, p.now + DAY);
    add_crl(&p, p.ca_key, -1, p.now - DAY / 2, p.now + DAY);
    EXPECT_EQ(veil_dcap_crl_judge(p.crls, p.ca, p.subjects, p.now, &rev), VEIL_DCAP_CRL_OK);
    pki_free(&p);
}

VEIL_TEST_MAIN(test_crl_outcomes, test_crl_revoked, test_crl_prefers_current)
