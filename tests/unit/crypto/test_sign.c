#include "crypto/crypto.h"
#include "veil_test.h"

static void sign_verify(enum veil_sig_alg alg)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY *other = NULL;
    EVP_PKEY *pub = NULL;
    struct veil_wr pem;
    uint8_t sig[VEIL_SIG_SIZE_MAX];
    size_t n = veil_sig_alg_size(alg);
    enum veil_sig_alg got;
    uint8_t id1[32];
    uint8_t id2[32];
    static const uint8_t msg[] = "manifest bytes";

    EXPECT_OK(veil_sign_keygen(alg, &key));
    EXPECT_OK(veil_sign_keygen(alg, &other));
    EXPECT_OK(veil_sign_key_alg(key, &got));
    EXPECT_EQ(got, alg);
    EXPECT_OK(veil_sign(key, msg, sizeof(msg), sig, n));
    /* Round trip the public key through PEM, as provider.pub does. */
    veil_wr_init(&pem, 4096);
    EXPECT_OK(veil_sign_public_pem(key, &pem));
    EXPECT_OK(veil_sign_public_from_pem(pem.data, pem.len, &pub));
    EXPECT_OK(veil_sign_verify(pub, msg, sizeof(msg), sig, n));
    EXPECT_OK(veil_sign_key_id(key, id1));
    EXPECT_OK(veil_sign_key_id(pub, id2));
    EXPECT_BYTES_EQ(id1, id2, 32);
    /* Refusals: other key, other message, flipped signature, wrong length. */
    EXPECT_ERR(veil_sign_verify(other, msg, sizeof(msg), sig, n), VEIL_ERR_CRYPTO);
    EXPECT_ERR(veil_sign_verify(pub, msg, sizeof(msg) - 1, sig, n), VEIL_ERR_CRYPTO);
    sig[n / 2] ^= 1;
    EXPECT_ERR(veil_sign_verify(pub, msg, sizeof(msg), sig, n), VEIL_ERR_CRYPTO);
    EXPECT_ERR(veil_sign_verify(pub, msg, sizeof(msg), sig, n - 1), VEIL_ERR_CRYPTO);
    veil_wr_free(&pem);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    EVP_PKEY_free(pub);
}

static void test_ed25519(void **state)
{
    (void)state;
    sign_verify(VEIL_SIG_ED25519);
}

static void test_ecdsa_p384(void **state)
{
    (void)state;
    sign_verify(VEIL_SIG_ECDSA_P384);
}

static void test_other_key_types_are_refused(void **state)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    enum veil_sig_alg alg;
    struct veil_wr pem;
    EVP_PKEY *out = NULL;

    (void)state;
    EXPECT_NOT_NULL(p256);
    EXPECT_ERR(veil_sign_key_alg(p256, &alg), VEIL_ERR_CRYPTO_KEY);
    veil_wr_init(&pem, 4096);
    EXPECT_OK(veil_sign_public_pem(p256, &pem));
    EXPECT_ERR(veil_sign_public_from_pem(pem.data, pem.len, &out), VEIL_ERR_CRYPTO_KEY);
    EXPECT_ERR(veil_sign_public_from_pem((const uint8_t *)"junk", 4, &out), VEIL_ERR_PROTO_KEY);
    veil_wr_free(&pem);
    EVP_PKEY_free(p256);
}

VEIL_TEST_MAIN(test_ed25519, test_ecdsa_p384, test_other_key_types_are_refused)
