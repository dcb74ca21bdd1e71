/*
 * One chunk's cryptography: AES-GCM and the SHA-256 chunk digest in a single pass, 64 KiB at a
 * time, so each piece is hashed while it is still in L1/L2 (instead of two passes over 1 MiB).
 */
#include "model/model.h"

#define CHUNK_PIECE_SIZE (64u << 10)

static VEIL_RESULT digest_start(struct veil_pipe_worker *w)
{
    GUARD_OSSL(EVP_DigestInit_ex2(w->md, EVP_sha256(), NULL), VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT digest_add(struct veil_pipe_worker *w, const uint8_t *p, size_t n)
{
    GUARD_OSSL(EVP_DigestUpdate(w->md, p, n), VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT digest_end(struct veil_pipe_worker *w, uint8_t digest[VEIL_SHA256_SIZE])
{
    unsigned int len = 0;

    GUARD_OSSL(EVP_DigestFinal_ex(w->md, digest, &len), VEIL_ERR_INTERNAL_OSSL);
    ENSURE(len == VEIL_SHA256_SIZE, VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

veil_result veil_model_chunk_seal(struct veil_pipe_worker *w, const struct veil_model_header *h,
                                  uint64_t index, uint8_t *buf, size_t len,
                                  uint8_t digest[VEIL_SHA256_SIZE])
{
    uint8_t nonce[VEIL_GCM_NONCE_SIZE];

    veil_model_nonce(index, index + 1 == h->chunk_count, nonce);
    GUARD(veil_gcm_begin(&w->gcm, nonce, h->header_digest, VEIL_SHA256_SIZE));
    GUARD(digest_start(w));
    for (size_t off = 0; off < len; off += CHUNK_PIECE_SIZE) {
        size_t n = len - off < CHUNK_PIECE_SIZE ? len - off : CHUNK_PIECE_SIZE;
        GUARD(veil_gcm_update(&w->gcm, buf + off, n, buf + off));
        GUARD(digest_add(w, buf + off, n));
    }
    GUARD(veil_gcm_finish(&w->gcm, buf + len));
    GUARD(digest_add(w, buf + len, VEIL_GCM_TAG_SIZE));
    return digest_end(w, digest);
}

veil_result veil_model_chunk_open(struct veil_pipe_worker *w, const struct veil_model_header *h,
                                  uint64_t index, const uint8_t *in, size_t len, uint8_t *out,
                                  uint8_t digest[VEIL_SHA256_SIZE])
{
    uint8_t nonce[VEIL_GCM_NONCE_SIZE];
    uint8_t tag[VEIL_GCM_TAG_SIZE];
    veil_result r;

    memcpy(tag, in + len, sizeof(tag));
    veil_model_nonce(index, index + 1 == h->chunk_count, nonce);
    GUARD(veil_gcm_begin(&w->gcm, nonce, h->header_digest, VEIL_SHA256_SIZE));
    GUARD(digest_start(w));
    for (size_t off = 0; off < len; off += CHUNK_PIECE_SIZE) {
        size_t n = len - off < CHUNK_PIECE_SIZE ? len - off : CHUNK_PIECE_SIZE;
        GUARD(digest_add(w, in + off, n)); /* before decryption: out may be in */
        GUARD(veil_gcm_update(&w->gcm, in + off, n, out + off));
    }
    GUARD(digest_add(w, tag, sizeof(tag)));
    GUARD(digest_end(w, digest));
    r = veil_gcm_finish(&w->gcm, tag);
    ENSURE(r.code != VEIL_ERR_CRYPTO, VEIL_ERR_MODEL_CHUNK);
    return r;
}
