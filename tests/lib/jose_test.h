/*
 * Test keys for the JOSE tests and fuzz targets: RFC example keys with their private halves,
 * built through OpenSSL's parameter API (jose.h itself only ever reads public JWKs).
 */
#ifndef VEIL_JOSE_TEST_H
#define VEIL_JOSE_TEST_H

#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "base/encoding.h"

/* RFC 7515 appendix A.3: the ES256 example key. */
#define RFC7515_P256_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_P256_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC7515_P256_D "jpsQnnGQmL-YBIffH1136cLSG_uGsB4cL1N4ty5nmSU"

/* RFC 8037 appendix A.1: the Ed25519 example key. */
#define RFC8037_ED25519_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC8037_ED25519_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

/* RFC 7518 appendix C: Alice's ephemeral and Bob's static P-256 keys. */
#define RFC7518_ALICE_X "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
#define RFC7518_ALICE_Y "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
#define RFC7518_ALICE_D "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"
#define RFC7518_BOB_X   "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"
#define RFC7518_BOB_Y   "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"
#define RFC7518_BOB_D   "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"

/* A 2048-bit RSA key made for these tests (openssl genpkey). */
static const char jose_test_rsa_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDzIGMyVqxm1qZt\n"
    "0CpDsZJrKFOlO6cD82y12hX2ZNmAAQJAugSgp/0QyUDVbd8oXec6LhRG9VQXS8LA\n"
    "H78yxpoNvYQg2WPRsEWp3nsbxJW/HlGU4fming+I54z5FWvr3Uz2Dc9mTE7Se9L0\n"
    "JdtnBdwwLsbL3W3PbrgnKaGGEffzT8NGtk6WBX49ssbd6jAiutgyukEFGLoxzMbE\n"
    "dO7fZrwbvWpjYO/XaqwHwi/2LCElkU+HW0TxKHsVENYeA1PNGlWUnnb27qGDKuml\n"
    "DYnBBWNVv2btmIECCvIrfNg79+6vQ6rN13lQoNDf8tJt4a6KVOBhujK7tKZndAuO\n"
    "Ce07neltAgMBAAECggEADwI+FW6z1GJmYkuSPF0TLqHN7hqdYBlQKfbFWdFWevg0\n"
    "+SVyoS9VqEpgQfy3JMENQ/JxxoKhFxISevVKwpnviy8an8ODzb9NwaOOIoPzgZmf\n"
    "zCraFA+hYmB2+652m9gsxtjJ56UIzaYeuvs2TOkX83KDy7SG8aICZMqFYecskRzJ\n"
    "4hRE+8eGFWmA5SqyKwYOq+rW3gJ2IoQz5k9XPzbWYSUrVvxHMJn602SVm0/Cu4TM\n"
    "jgCNeP0oG69txs/zxxC6aRQzrxth123LMxiI0Aq/7XefnwMPEM1n2fRAiCEvWRW5\n"
    "oML6OQKtcrAQ3JqIe1nPT4BPvxdp2pcjYQ8fcyA5OQKBgQD6UO0lYpuWaENWsXQ6\n"
    "kwjQ7QiYpw9uxmR5QbF2/QUlNvMEelSqTSEvlYP99f2lnhFPbG6R//kP2PyE1OGW\n"
    "oonLrksUH94UHHPEMmgUXZKijorAcgkUycR3VSnO7E9oJD53gPrr4heqPUDsH8Ur\n"
    "QfcFmqF0nhSWTun+mlgaWxgSCQKBgQD4pasZyjt0Ixn20Jf7DW1MSt26OIY5d2B+\n"
    "U+Bdu121NEM1ksNl3bzb9DviwPYNmcjr8sz3sG36J3b7xLIlQS99fnNbCZ5DSPeN\n"
    "q70E2MY7cPkBwAeUWIQyNHUEQa0laac8yuKo3OFMIp9zkxLHV/o3RJjwxkct0dQa\n"
    "AYlDWcflRQKBgQC6iepgLN7ztFlSVsXeDMrKH4qDcCPhEnm3n0wn9yCJfiyWDq/f\n"
    "hcEQW+TUMihG7sfJn2264b3yoGp2dspyXkhAAHA03Ba8eAORl1rWqnDnMUCXb6Py\n"
    "2PXPVCjm6lW2ryPaHMVhWcj29dTW4komFW+HvpdJd7Cx3rckJFM5uN70OQKBgQCh\n"
    "uBa12mua2K2tcvQ2bAA3i8X0tYjPXY5b+6/FJvUGwywnbwI5geOw54P/smMWa3xb\n"
    "wfp/6rdM6Vgg3kjDpEcABzt97Z6Kwq2H7jgtK9SamprKAZysZnnssWOeVh0IZVRJ\n"
    "XOfYzniWbTpqEDE5iEYMpkgW6c8nxP5/v5oIPR+fRQKBgB58FqIuW5AETWoyHGr+\n"
    "hYiWY87erC+tdhjpOj28MSUi+yQiyGYea0b7+Q8g8NTj9qjPXQo4Enl6Ep6041o5\n"
    "Y9qZIW5UmZTLnU0zhU7CuZcv/mNJw5UjMvo6E2jadFp3GA0xT0Su4Z1/GZaFbF7c\n"
    "RIQEGsa04w+rNKI9YUqUpOJ6\n"
    "-----END PRIVATE KEY-----\n";

static inline size_t jose_test_b64(const char *s, uint8_t *out, size_t size)
{
    size_t len = 0;

    if (!veil_ok(veil_b64_decode(s, strlen(s), VEIL_B64_URL, out, size, &len))) {
        return 0;
    }
    return len;
}

/* An EC private key (group "P-256" or "P-384") from JWK x, y, d. */
static inline EVP_PKEY *jose_test_ec_private(const char *group, const char *x, const char *y,
                                             const char *d)
{
    uint8_t point[97];
    uint8_t priv[48];
    size_t fs = strcmp(group, "P-384") == 0 ? 48 : 32;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    BIGNUM *bn;

    point[0] = 4;
    if (jose_test_b64(x, point + 1, fs) != fs || jose_test_b64(y, point + 1 + fs, fs) != fs ||
        jose_test_b64(d, priv, fs) != fs) {
        return NULL;
    }
    bn = BN_bin2bn(priv, (int)fs, NULL);
    if (bld != NULL && bn != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fs) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && ctx != NULL &&
        EVP_PKEY_fromdata_init(ctx) == 1) {
        (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params);
    }
    BN_clear_free(bn);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static inline EVP_PKEY *jose_test_ed25519_private(const char *d)
{
    uint8_t priv[32];

    if (jose_test_b64(d, priv, sizeof(priv)) != sizeof(priv)) {
        return NULL;
    }
    return EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, priv, sizeof(priv));
}

static inline EVP_PKEY *jose_test_rsa_private(void)
{
    BIO *bio = BIO_new_mem_buf(jose_test_rsa_pem, (int)strlen(jose_test_rsa_pem));
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    return key;
}

static inline EVP_PKEY *jose_test_p256_private(void)
{
    return jose_test_ec_private("P-256", RFC7515_P256_X, RFC7515_P256_Y, RFC7515_P256_D);
}

static inline EVP_PKEY *jose_test_ed25519(void)
{
    return jose_test_ed25519_private(RFC8037_ED25519_D);
}

#endif
