/* Internal glue of the model module. */
#ifndef VEIL_MODEL_INTERNAL_H
#define VEIL_MODEL_INTERNAL_H

#include "model/format.h"
#include "model/pipeline.h"
#include <veil/model.h>

void veil_model_info_fill(const struct veil_model_header *h, struct veil_model_info *info);

/* The chunk root: SHA-256(context || NUL || digest_0 || ... || digest_{n-1}). */
struct veil_model_root {
    EVP_MD_CTX *md;
};

VEIL_RESULT veil_model_root_init(struct veil_model_root *root);
VEIL_RESULT veil_model_root_add(struct veil_model_root *root, const uint8_t d[VEIL_SHA256_SIZE]);
VEIL_RESULT veil_model_root_final(struct veil_model_root *root, uint8_t out[VEIL_SHA256_SIZE]);
void veil_model_root_free(struct veil_model_root *root);

#endif
