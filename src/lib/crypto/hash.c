/* SHA-256 and HKDF-SHA-256. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/crypto.h"

veil_result veil_sha256(const void *data, size_t n, uint8_t out[VEIL_SHA256_SIZE])
{
    unsigned int len = 0;

    GUARD_OSSL(EVP_Digest(data, n, out, &len, EVP_sha256(), NULL), VEIL_ERR_INTERNAL_OSSL);
    ENSURE(len == VEIL_SHA256_SIZE, VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

veil_result veil_hkdf_sha256(const uint8_t *ikm, size_t ikm_size, const uint8_t *salt,
                             size_t salt_size, const char *info, uint8_t *out, size_t out_size)
{
    EVP_KDF *kdf;
    EVP_KDF_CTX *ctx;
    OSSL_PARAM params[5];
    char digest[] = "SHA256";
    int ok;

    kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    ENSURE(kdf != NULL, VEIL_ERR_INTERNAL_OSSL);
    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_size);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_size);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(ctx, out, out_size, params);
    EVP_KDF_CTX_free(ctx);
    GUARD_OSSL(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}
