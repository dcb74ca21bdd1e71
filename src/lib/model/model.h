/* Internal glue of the model module. */
#ifndef VEIL_MODEL_INTERNAL_H
#define VEIL_MODEL_INTERNAL_H

#include <string.h>

#include "model/format.h"
#include "model/pipeline.h"
#include <veil/model.h>

void veil_model_info_fill(const struct veil_model_header *h, struct veil_model_info *info);

/* One chunk: cipher pass and chunk digest (SHA-256 of ciphertext || tag) together. Seal works in
 * place and writes the tag after the ciphertext; open reads in (ciphertext || tag) and writes
 * out (which may be in), failing with VEIL_ERR_MODEL_CHUNK when the tag does not verify. */
VEIL_RESULT veil_model_chunk_seal(struct veil_pipe_worker *w, const struct veil_model_header *h,
                                  uint64_t index, uint8_t *buf, size_t len,
                                  uint8_t digest[VEIL_SHA256_SIZE]);
VEIL_RESULT veil_model_chunk_open(struct veil_pipe_worker *w, const struct veil_model_header *h,
                                  uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
                                  uint8_t digest[VEIL_SHA256_SIZE]);

/* The chunk root: SHA-256(context || NUL || digest_0 || ... || digest_{n-1}). */
struct veil_model_root {
    EVP_MD_CTX *md;
};

VEIL_RESULT veil_model_root_init(struct veil_model_root *root);
VEIL_RESULT veil_model_root_add(struct veil_model_root *root, const uint8_t d[VEIL_SHA256_SIZE]);
VEIL_RESULT veil_model_root_final(struct veil_model_root *root, uint8_t out[VEIL_SHA256_SIZE]);
void veil_model_root_free(struct veil_model_root *root);

#endif
