/* The pinned AMD roots: each parses, is self-signed, names its product and is valid now. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "veil_test.h"
#include "verify/snp.h"
#include "verify/verify.h"

static void test_roots(void **state)
{
    size_t count = 0;
    const struct veil_snp_root *roots = veil_snp_roots(&count);
    /* SHA-256 of each DER certificate, as in the generated file's comments. */
    static const char *const sha[] = {
        "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
        "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
        "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"};

    (void)state;
    EXPECT_EQ(count, 3);
    for (size_t i = 0; i < count; i++) {
        BIO *bio = BIO_new_mem_buf(roots[i].pem, -1);
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        char cn[64];
        unsigned char md[32];
        unsigned int md_size = 0;
        char hex[65];

        EXPECT_NOT_NULL(x);
        EXPECT_TRUE(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                              sizeof(cn)) > 0);
        EXPECT_STR_EQ(cn, roots[i].name);
        EXPECT_EQ(strncmp(cn + 4, veil_snp_product_name(roots[i].product), 5), 0);
        EXPECT_EQ(X509_verify(x, X509_get0_pubkey(x)), 1);
        EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(x)), 1);
        EXPECT_EQ(X509_digest(x, EVP_sha256(), md, &md_size), 1);
        for (size_t k = 0; k < sizeof(md); k++) {
            (void)snprintf(hex + 2 * k, 3, "%02x", md[k]);
        }
        EXPECT_STR_EQ(hex, sha[i]);
        X509_free(x);
        BIO_free(bio);
    }
}

static void test_root_lookup(void **state)
{
    size_t count = 0;
    const struct veil_snp_root *roots = veil_snp_roots(&count);

    (void)state;
    EXPECT_EQ(roots[0].product, VEIL_SNP_PRODUCT_MILAN);
    EXPECT_EQ(roots[1].product, VEIL_SNP_PRODUCT_GENOA);
    EXPECT_EQ(roots[2].product, VEIL_SNP_PRODUCT_TURIN);
    for (size_t i = 0; i < count; i++) {
        EXPECT_NOT_NULL(strstr(roots[i].pem, "-----BEGIN CERTIFICATE-----\n"));
        EXPECT_NOT_NULL(strstr(roots[i].pem, "-----END CERTIFICATE-----\n"));
    }
}

/* vectors/sev-snp/amd-root-certs: every ASK/ASVK verifies under its pinned ARK, every ARK in
 * the bundles is a pinned one, all valid at 2026-11-26. */
static void test_amd_bundles(void **state)
{
    static const char *const bundles[] = {"ask_ark_genoa.pem",
                                          "ask_ark_genoa_vlek.pem",
                                          "ask_ark_milan.pem",
                                          "ask_ark_milan_vlek.pem",
                                          "ask_ark_turin_vcek.pem",
                                          "ask_ark_turin_vlek.pem",
                                          "trustee_genoa_ask_ark_asvk.pem",
                                          "trustee_milan_ask_ark_asvk.pem",
                                          "trustee_turin_ask_ark_asvk.pem"};
    size_t count = 0;
    const struct veil_snp_root *roots = veil_snp_roots(&count);
    X509 *pinned[3];
    time_t at = 1795651200; /* 2026-11-26 */
    size_t intermediates = 0;

    (void)state;
    for (size_t i = 0; i < count; i++) {
        BIO *bio = BIO_new_mem_buf(roots[i].pem, -1);
        pinned[i] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    for (size_t b = 0; b < sizeof(bundles) / sizeof(bundles[0]); b++) {
        struct veil_collateral col;
        char path[4096];

        veil_collateral_init(&col);
        (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/amd-root-certs/%s",
                       getenv("VEIL_SHARED_DIR"), bundles[b]);
        EXPECT_OK(veil_collateral_add_path(&col, path));
        for (int i = 0; i < sk_X509_num(col.certs); i++) {
            X509 *x = sk_X509_value(col.certs, i);
            X509 *issuer = NULL;
            for (size_t k = 0; k < count; k++) {
                if (X509_NAME_cmp(X509_get_subject_name(pinned[k]), X509_get_issuer_name(x)) == 0) {
                    issuer = pinned[k];
                }
            }
            EXPECT_NOT_NULL(issuer);
            EXPECT_EQ(X509_verify(x, X509_get0_pubkey(issuer)), 1);
            EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(x), &at), -1);
            EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(x), &at), 1);
            if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0) {
                EXPECT_EQ(X509_cmp(x, issuer), 0); /* the bundle's ARK is the pinned one */
            } else {
                intermediates++;
            }
        }
        veil_collateral_free(&col);
    }
    EXPECT_EQ(intermediates, 6 + 3 * 2); /* one per KDS bundle, two per trustee bundle */
    for (size_t i = 0; i < count; i++) {
        X509_free(pinned[i]);
    }
}

VEIL_TEST_MAIN(test_roots, test_root_lookup, test_amd_bundles)
