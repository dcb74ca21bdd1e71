/* AES-256-GCM, one context per thread, key scheduled once. */
#include <limits.h>
#include <string.h>

#include "crypto/crypto.h"

veil_result veil_gcm_init(struct veil_gcm *g, const uint8_t key[VEIL_AES256_KEY_SIZE], int encrypt)
{
    g->encrypt = encrypt;
    g->ctx = EVP_CIPHER_CTX_new();
    ENSURE(g->ctx != NULL, VEIL_ERR_NOMEM);
    if (EVP_CipherInit_ex2(g->ctx, EVP_aes_256_gcm(), key, NULL, encrypt, NULL) != 1) {
        veil_ossl_drain(__func__);
        EVP_CIPHER_CTX_free(g->ctx);
        g->ctx = NULL;
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    return VEIL_RESULT_OK;
}

void veil_gcm_free(struct veil_gcm *g)
{
    EVP_CIPHER_CTX_free(g->ctx);
    g->ctx = NULL;
}

/* Feeds data in pieces that fit OpenSSL's int lengths. */
veil_result veil_gcm_update(struct veil_gcm *g, const uint8_t *in, size_t n, uint8_t *out)
{
    while (n > 0) {
        int piece = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
        int len = 0;
        GUARD_OSSL(EVP_CipherUpdate(g->ctx, out, &len, in, piece), VEIL_ERR_INTERNAL_OSSL);
        ENSURE(len == piece, VEIL_ERR_INTERNAL);
        in += piece;
        out += piece;
        n -= (size_t)piece;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_gcm_begin(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                           const uint8_t *aad, size_t aad_size)
{
    int len = 0;

    ENSURE_REF(g->ctx);
    ENSURE(aad_size <= INT_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD_OSSL(EVP_CipherInit_ex2(g->ctx, NULL, NULL, nonce, g->encrypt, NULL),
               VEIL_ERR_INTERNAL_OSSL);
    if (aad_size > 0) {
        GUARD_OSSL(EVP_CipherUpdate(g->ctx, NULL, &len, aad, (int)aad_size),
                   VEIL_ERR_INTERNAL_OSSL);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_gcm_finish(struct veil_gcm *g, uint8_t tag[VEIL_GCM_TAG_SIZE])
{
    uint8_t none[16];
    int len = 0;

    if (g->encrypt) {
        GUARD_OSSL(EVP_CipherFinal_ex(g->ctx, none, &len), VEIL_ERR_INTERNAL_OSSL);
        GUARD_OSSL(EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_GET_TAG, VEIL_GCM_TAG_SIZE, tag),
                   VEIL_ERR_INTERNAL_OSSL);
        return VEIL_RESULT_OK;
    }
    GUARD_OSSL(EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_SET_TAG, VEIL_GCM_TAG_SIZE, tag),
               VEIL_ERR_INTERNAL_OSSL);
    /* OpenSSL compares the tag in constant time. */
    if (EVP_CipherFinal_ex(g->ctx, none, &len) != 1) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_CRYPTO);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_gcm_seal(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                          const uint8_t *aad, size_t aad_size, const uint8_t *in, size_t n,
                          uint8_t *out, uint8_t tag[VEIL_GCM_TAG_SIZE])
{
    ENSURE(g->encrypt == 1, VEIL_ERR_INTERNAL);
    GUARD(veil_gcm_begin(g, nonce, aad, aad_size));
    GUARD(veil_gcm_update(g, in, n, out));
    return veil_gcm_finish(g, tag);
}

veil_result veil_gcm_open(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                          const uint8_t *aad, size_t aad_size, const uint8_t *in, size_t n,
                          uint8_t *out, const uint8_t tag[VEIL_GCM_TAG_SIZE])
{
    uint8_t t[VEIL_GCM_TAG_SIZE];

    ENSURE(g->encrypt == 0, VEIL_ERR_INTERNAL);
    memcpy(t, tag, sizeof(t));
    GUARD(veil_gcm_begin(g, nonce, aad, aad_size));
    GUARD(veil_gcm_update(g, in, n, out));
    return veil_gcm_finish(g, t);
}
