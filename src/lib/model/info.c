/* Fills the public struct veil_model_info from a parsed header. */
#include <string.h>

#include "model/model.h"

void veil_model_info_fill(const struct veil_model_header *h, struct veil_model_info *info)
{
    uint64_t sealed = 0;

    if (info == NULL) {
        return;
    }
    memset(info, 0, sizeof(*info));
    info->format_version = h->format_version;
    memcpy(info->name, h->name, sizeof(info->name));
    memcpy(info->model_version, h->model_version, sizeof(info->model_version));
    memcpy(info->content_type, h->content_type, sizeof(info->content_type));
    info->plaintext_size = h->plaintext_size;
    info->chunk_count = h->chunk_count;
    info->chunk_size = h->chunk_size;
    (void)veil_model_sealed_size(h, &sealed);
    info->sealed_size = sealed;
    info->sig_alg = veil_sig_alg_name(h->sig_alg);
    memcpy(info->model_id, h->model_id, sizeof(info->model_id));
    memcpy(info->signer_key_id, h->signer_key_id, sizeof(info->signer_key_id));
    memcpy(info->chunk_root, h->chunk_root, sizeof(info->chunk_root));
    memcpy(info->salt, h->salt, sizeof(info->salt));
    memcpy(info->key_commitment, h->key_commitment, sizeof(info->key_commitment));
    info->header_size = h->total_size;
}
