/* PCK chain in the quote, the Intel SGX extension walker, the pinned root, raw ECDSA. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "veil_dcap_test.h"

static STACK_OF(X509) * chain_of(const char *rel)
{
    struct veil_wr w;
    struct veil_dcap_quote q;
    STACK_OF(X509) *chain = NULL;

    dcap_load(rel, &w);
    EXPECT_OK(veil_dcap_quote_parse(w.data, w.len, &q));
    EXPECT_OK(veil_dcap_pem_chain(q.pck_chain_pem, q.pck_chain_pem_size, &chain));
    veil_wr_free(&w);
    return chain;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    EXPECT_OK(veil_hex_encode(p, n, out, 2 * n + 1));
}

static void test_extension_values(void **state)
{
    STACK_OF(X509) *chain = chain_of("tdx/gotdx-v5/quote_v5_sample.dat");
    struct veil_dcap_pck_ext e;
    char s[64];

    (void)state;
    EXPECT_EQ(sk_X509_num(chain), 3);
    EXPECT_OK(veil_dcap_pck_ext_parse(sk_X509_value(chain, 0), &e));
    hex(e.fmspc, 6, s);
    EXPECT_STR_EQ(s, "90c06f000000");
    hex(e.cpu_svn, 16, s);
    EXPECT_STR_EQ(s, "04040202040100050000000000000000");
    EXPECT_EQ(e.pce_svn, 13);
    EXPECT_BYTES_EQ(e.comp_svn, e.cpu_svn, 16);
    EXPECT_EQ(e.pce_id[0], 0);
    EXPECT_EQ(e.pce_id[1], 0);
    /* The CA certificates carry no SGX extension. */
    EXPECT_ERR(veil_dcap_pck_ext_parse(sk_X509_value(chain, 1), &e), VEIL_ERR_DCAP_PCK_EXTENSION);
    sk_X509_pop_free(chain, X509_free);
}

static void test_extension_ppid(void **state)
{
    STACK_OF(X509) *chain = chain_of("tdx/trustee-tdx/tdx_quote_4.dat");
    struct veil_dcap_pck_ext e;
    char s[64];

    (void)state;
    EXPECT_OK(veil_dcap_pck_ext_parse(sk_X509_value(chain, 0), &e));
    hex(e.fmspc, 6, s);
    EXPECT_STR_EQ(s, "50806f000000");
    EXPECT_EQ(e.pce_svn, 11);
    sk_X509_pop_free(chain, X509_free);
}

/* The extension's DER value, copied. */
static uint8_t *ext_der(X509 *x, size_t *n)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    const ASN1_OCTET_STRING *os;
    uint8_t *p;

    ASN1_OBJECT_free(obj);
    EXPECT_TRUE(idx >= 0);
    os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    *n = (size_t)ASN1_STRING_length(os);
    p = malloc(*n + 1);
    memcpy(p, ASN1_STRING_get0_data(os), *n);
    return p;
}

static void test_extension_damage(void **state)
{
    STACK_OF(X509) *chain = chain_of("tdx/dcapqvl-tdx/tdx_quote.bin");
    struct veil_dcap_pck_ext e;
    size_t n;
    uint8_t *der = ext_der(sk_X509_value(chain, 0), &n);

    (void)state;
    EXPECT_OK(veil_dcap_pck_ext_parse_der(der, n, &e));
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut > 0 ? cut : 1);
        memcpy(p, der, cut);
        EXPECT_FALSE(veil_ok(veil_dcap_pck_ext_parse_der(p, cut, &e)));
        free(p);
    }
    /* Any single-byte change either fails cleanly or parses (values change); never crashes. */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            der[i] ^= (uint8_t)(1u << bit);
            veil_result ignored = veil_dcap_pck_ext_parse_der(der, n, &e);
            (void)ignored;
            der[i] ^= (uint8_t)(1u << bit);
        }
    }
    der[0] = 0x31; /* SET instead of SEQUENCE */
    EXPECT_ERR(veil_dcap_pck_ext_parse_der(der, n, &e), VEIL_ERR_DCAP_PCK_EXTENSION);
    der[0] = 0x30;
    der[n] = 0; /* a trailing byte */
    EXPECT_ERR(veil_dcap_pck_ext_parse_der(der, n + 1, &e), VEIL_ERR_PROTO_TRAILING);
    free(der);
    sk_X509_pop_free(chain, X509_free);
}

static void test_pem_chain_refusals(void **state)
{
    static const char one_bad[] =
        "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n";
    static const char none[] = "no certificates here";
    char many[9 * 64];
    STACK_OF(X509) *chain = NULL;

    (void)state;
    EXPECT_ERR(veil_dcap_pem_chain((const uint8_t *)none, sizeof(none), &chain),
               VEIL_ERR_DCAP_CERT_DATA);
    EXPECT_ERR(veil_dcap_pem_chain((const uint8_t *)one_bad, sizeof(one_bad), &chain),
               VEIL_ERR_DCAP_CERT_DATA);
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    for (size_t i = 0; i < 9; i++) {
        memcpy(many + i * (sizeof(begin) - 1), begin, sizeof(begin));
    }
    EXPECT_ERR(veil_dcap_pem_chain((const uint8_t *)many, strlen(many), &chain),
               VEIL_ERR_PROTO_LIMIT);
    EXPECT_NULL(chain);
}

static void test_pinned_root(void **state)
{
    struct veil_wr w;
    uint8_t md[32];
    char s[65];
    X509 *root = NULL;

    (void)state;
    dcap_load("tdx/intel-sgx-root-ca/IntelSGXRootCA.der", &w);
    EXPECT_EQ(w.len, veil_dcap_root_ca_der_size);
    EXPECT_BYTES_EQ(w.data, veil_dcap_root_ca_der, w.len);
    EXPECT_EQ(
        EVP_Digest(veil_dcap_root_ca_der, veil_dcap_root_ca_der_size, md, NULL, EVP_sha256(), NULL),
        1);
    hex(md, 32, s);
    EXPECT_STR_EQ(s, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    EXPECT_OK(veil_dcap_root_ca(&root));
    EXPECT_EQ(X509_check_issued(root, root), X509_V_OK);
    X509_free(root);
    veil_wr_free(&w);
}

static void test_raw_ecdsa(void **state)
{
    struct veil_wr w;
    struct veil_dcap_quote q;
    EVP_PKEY *key = NULL;
    uint8_t sig[64];
    uint8_t bad_point[64];

    (void)state;
    dcap_load("sgx/dcapqvl-sgx/sgx_quote.bin", &w);
    EXPECT_OK(veil_dcap_quote_parse(w.data, w.len, &q));
    EXPECT_OK(veil_dcap_p256_key(q.att_key, &key));
    EXPECT_TRUE(veil_dcap_ecdsa_verify(key, q.signed_data, q.signed_size, q.signature));
    EXPECT_FALSE(veil_dcap_ecdsa_verify(key, q.signed_data, q.signed_size - 1, q.signature));
    memset(sig, 0, sizeof(sig)); /* r = s = 0 */
    EXPECT_FALSE(veil_dcap_ecdsa_verify(key, q.signed_data, q.signed_size, sig));
    memset(sig, 0xff, sizeof(sig)); /* r, s >= n */
    EXPECT_FALSE(veil_dcap_ecdsa_verify(key, q.signed_data, q.signed_size, sig));
    EVP_PKEY_free(key);
    memcpy(bad_point, q.att_key, 64);
    bad_point[63] ^= 1; /* off the curve */
    key = NULL;
    EXPECT_ERR(veil_dcap_p256_key(bad_point, &key), VEIL_ERR_CRYPTO_KEY);
    EXPECT_NULL(key);
    veil_wr_free(&w);
}

/* Signatures made by OpenSSL verify after conversion to r || s, whatever the shape of r and s:
 * with enough of them some have a leading zero byte (dropped in DER) and about half have the top
 * bit set (a zero byte added in DER), so the hand-made DER encoding is exercised both ways. */
static void test_raw_ecdsa_encodings(void **state)
{
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    int leading_zero = 0;
    int top_bit = 0;

    (void)state;
    EXPECT_NOT_NULL(kctx);
    EXPECT_EQ(EVP_PKEY_keygen_init(kctx), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_group_name(kctx, "prime256v1"), 1);
    EXPECT_EQ(EVP_PKEY_keygen(kctx, &key), 1);
    EVP_PKEY_CTX_free(kctx);
    for (int i = 0; i < 1500 && (leading_zero < 2 || top_bit < 2); i++) {
        uint8_t msg[8] = {(uint8_t)i, (uint8_t)(i >> 8)};
        uint8_t der[80];
        size_t der_size = sizeof(der);
        uint8_t raw[64] = {0};
        const unsigned char *p = der;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ECDSA_SIG *sig;
        EXPECT_NOT_NULL(md);
        EXPECT_EQ(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        EXPECT_EQ(EVP_DigestSign(md, der, &der_size, msg, sizeof(msg)), 1);
        EVP_MD_CTX_free(md);
        sig = d2i_ECDSA_SIG(NULL, &p, (long)der_size);
        EXPECT_NOT_NULL(sig);
        EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
        EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
        ECDSA_SIG_free(sig);
        leading_zero += raw[0] == 0 || raw[32] == 0 ? 1 : 0;
        top_bit += (raw[0] & 0x80) != 0 ? 1 : 0;
        EXPECT_TRUE(veil_dcap_ecdsa_verify(key, msg, sizeof(msg), raw));
        raw[40] ^= 1;
        EXPECT_FALSE(veil_dcap_ecdsa_verify(key, msg, sizeof(msg), raw));
    }
    EXPECT_TRUE(leading_zero >= 2);
    EXPECT_TRUE(top_bit >= 2);
    EVP_PKEY_free(key);
}

VEIL_TEST_MAIN(test_extension_values, test_extension_ppid, test_extension_damage,
               test_pem_chain_refusals, test_pinned_root, test_raw_ecdsa, test_raw_ecdsa_encodings)
