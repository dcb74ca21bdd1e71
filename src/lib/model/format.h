/*
 * The sealed model format, version 1 (docs/FORMAT.sealed-model.md is the specification).
 *
 *   header    magic, version, suite, signature algorithm, flags, chunk size, plaintext size,
 *             chunk count, salt, key commitment, signer key id, content type, name, version
 *   manifest  header || chunk_root                  model id = SHA-256(manifest)
 *   signature u16 size || signature over "veil sealed model manifest v1\0" || manifest
 *   chunks    chunk_count x (ciphertext || 16-byte GCM tag), AAD = SHA-256(header)
 */
#ifndef VEIL_MODEL_FORMAT_H
#define VEIL_MODEL_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/crypto.h"

#define VEIL_MODEL_MAGIC              "VEILSEAL"
#define VEIL_MODEL_MAGIC_SIZE         8
#define VEIL_MODEL_FORMAT_VERSION     1
#define VEIL_MODEL_SUITE_AES256GCM    1 /* AES-256-GCM, HKDF-SHA-256, SHA-256 */
#define VEIL_MODEL_SALT_SIZE          32
#define VEIL_MODEL_KEY_SIZE           32
#define VEIL_MODEL_CHUNK_SIZE_MIN     1024u
#define VEIL_MODEL_CHUNK_SIZE_MAX     (64u << 20)
#define VEIL_MODEL_CHUNK_SIZE_DEFAULT (1u << 20)
#define VEIL_MODEL_PLAINTEXT_SIZE_MAX (UINT64_C(1) << 50) /* 1 PiB */
#define VEIL_MODEL_NAME_SIZE_MAX      255
#define VEIL_MODEL_CTYPE_SIZE_MAX     64
/* The fixed part is 132 bytes; three strings, the root and a signature follow. */
#define VEIL_MODEL_HEADER_SIZE_MAX (132 + 3 * 256 + 32 + 2 + VEIL_SIG_SIZE_MAX)

#define VEIL_MODEL_SIG_CONTEXT     "veil sealed model manifest v1"
#define VEIL_MODEL_ROOT_CONTEXT    "veil chunk root v1"
#define VEIL_MODEL_INFO_DATA_KEY   "veil sealed model v1 data key"
#define VEIL_MODEL_INFO_COMMITMENT "veil sealed model v1 key commitment"

struct veil_model_header {
    uint16_t format_version;
    uint16_t suite;
    uint16_t sig_alg;
    uint16_t flags;
    uint32_t chunk_size;
    uint64_t plaintext_size;
    uint64_t chunk_count;
    uint8_t salt[VEIL_MODEL_SALT_SIZE];
    uint8_t key_commitment[VEIL_SHA256_SIZE];
    uint8_t signer_key_id[VEIL_SHA256_SIZE];
    char content_type[VEIL_MODEL_CTYPE_SIZE_MAX + 1];
    char name[VEIL_MODEL_NAME_SIZE_MAX + 1];
    char model_version[VEIL_MODEL_NAME_SIZE_MAX + 1];
    uint8_t chunk_root[VEIL_SHA256_SIZE];
    uint8_t signature[VEIL_SIG_SIZE_MAX];
    uint16_t signature_size;
    /* Derived while parsing or encoding. */
    size_t header_size;                      /* bytes covered by header_digest */
    size_t manifest_size;                    /* header + chunk root */
    size_t total_size;                       /* manifest + signature: where chunk 0 starts */
    uint8_t header_digest[VEIL_SHA256_SIZE]; /* AAD of every chunk */
    uint8_t model_id[VEIL_SHA256_SIZE];      /* SHA-256(manifest) */
};

/* Number of chunks for a plaintext size (0 bytes is one empty chunk). */
uint64_t veil_model_chunk_count(uint64_t plaintext_size, uint32_t chunk_size);
/* Plaintext length of chunk i. */
size_t veil_model_chunk_len(const struct veil_model_header *h, uint64_t i);
/* Largest plaintext chunk in this file (chunk size, or less for a file smaller than one chunk):
 * what a chunk buffer needs, so a small file never costs a 64 MiB buffer. */
size_t veil_model_chunk_len_max(const struct veil_model_header *h);
/* STREAM nonce: u64be(i) || 00 00 00 || last. */
void veil_model_nonce(uint64_t i, bool last, uint8_t nonce[VEIL_GCM_NONCE_SIZE]);
/* Size of the whole sealed file; false if it overflows. */
bool veil_model_sealed_size(const struct veil_model_header *h, uint64_t *out);

/* Checks every field a writer sets (sizes, strings, counts); shared by parse and encode. */
VEIL_RESULT veil_model_header_check(const struct veil_model_header *h);

/* Encodes the header and manifest (not the signature) into w, and fills the derived fields. */
VEIL_RESULT veil_model_header_encode(struct veil_model_header *h, struct veil_wr *w);
/* Parses header, manifest and signature from the start of a sealed file (bytes after them are
 * ignored: they are chunks). A short buffer is VEIL_ERR_MODEL_TRUNCATED. Signature not checked. */
VEIL_RESULT veil_model_header_parse(const uint8_t *data, size_t n, struct veil_model_header *h);
/* The exact bytes that are signed: context || NUL || manifest. */
VEIL_RESULT veil_model_signed_bytes(const uint8_t *manifest, size_t manifest_size,
                                    struct veil_wr *w);

/* Data key and key commitment from the model key and salt (HKDF-SHA-256). */
VEIL_RESULT veil_model_derive(const uint8_t model_key[VEIL_MODEL_KEY_SIZE],
                              const uint8_t salt[VEIL_MODEL_SALT_SIZE],
                              uint8_t data_key[VEIL_AES256_KEY_SIZE],
                              uint8_t commitment[VEIL_SHA256_SIZE]);

#endif
