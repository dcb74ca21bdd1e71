/* The chunk root over per-chunk SHA-256 digests of ciphertext || tag. */
#include "model/model.h"

veil_result veil_model_root_init(struct veil_model_root *root)
{
    root->md = EVP_MD_CTX_new();
    ENSURE(root->md != NULL, VEIL_ERR_NOMEM);
    GUARD_OSSL(EVP_DigestInit_ex2(root->md, EVP_sha256(), NULL), VEIL_ERR_INTERNAL_OSSL);
    GUARD_OSSL(EVP_DigestUpdate(root->md, VEIL_MODEL_ROOT_CONTEXT, sizeof(VEIL_MODEL_ROOT_CONTEXT)),
               VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

veil_result veil_model_root_add(struct veil_model_root *root, const uint8_t d[VEIL_SHA256_SIZE])
{
    GUARD_OSSL(EVP_DigestUpdate(root->md, d, VEIL_SHA256_SIZE), VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

veil_result veil_model_root_final(struct veil_model_root *root, uint8_t out[VEIL_SHA256_SIZE])
{
    unsigned int len = 0;

    GUARD_OSSL(EVP_DigestFinal_ex(root->md, out, &len), VEIL_ERR_INTERNAL_OSSL);
    ENSURE(len == VEIL_SHA256_SIZE, VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

void veil_model_root_free(struct veil_model_root *root)
{
    EVP_MD_CTX_free(root->md);
    root->md = NULL;
}
