/*
 * Sealed models (.veil, docs/FORMAT.sealed-model.md): seal a model file under a 256-bit model
 * key and a provider signing key; open it (verify, then decrypt) into a file or into memory.
 *
 * Nothing is trusted before the provider signature over the manifest verifies and the model key
 * matches the key commitment. Chunks are authenticated one by one and the chunk root is checked
 * at the end: output written before that point must be discarded on failure, which the file
 * functions do (temporary file, renamed at the end) and the memory function does (wipes dst).
 */
#ifndef VEIL_MODEL_H
#define VEIL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <veil/export.h>

#define VEIL_MODEL_KEY_BYTES 32
#define VEIL_MODEL_ID_BYTES  32

/* Called from the calling thread with bytes processed so far. */
typedef void (*veil_progress_fn)(void *ctx, unsigned long long done, unsigned long long total);

/* What a sealed file says about itself. Strings are NUL-terminated. */
struct veil_model_info {
    unsigned format_version;
    char name[256];
    char model_version[256];
    char content_type[65];
    unsigned long long plaintext_size;
    unsigned long long chunk_count;
    unsigned long long sealed_size;
    unsigned chunk_size;
    const char *sig_alg; /* "ed25519" or "ecdsa-p384-sha384" (static string) */
    uint8_t model_id[VEIL_MODEL_ID_BYTES];
    uint8_t signer_key_id[32];
    uint8_t chunk_root[32];
    uint8_t salt[32];
    uint8_t key_commitment[32];
    size_t header_size; /* header + manifest + signature: the offset of chunk 0 */
};

struct veil_seal_params {
    const char *name;          /* printable ASCII, 1..255 bytes */
    const char *model_version; /* printable ASCII, 1..255 bytes */
    const char *content_type;  /* [a-z0-9.+/-], 1..64 bytes; NULL: "onnx" */
    unsigned chunk_size;       /* 0: 1 MiB; 1 KiB..64 MiB */
    unsigned threads;          /* 0: every online core */
    veil_progress_fn progress;
    void *progress_ctx;
};

struct veil_open_params {
    const char *expect_name;          /* NULL: any */
    const char *expect_model_version; /* NULL: any */
    const uint8_t *expect_model_id;   /* NULL: any; else VEIL_MODEL_ID_BYTES */
    unsigned threads;                 /* 0: every online core */
    veil_progress_fn progress;
    void *progress_ctx;
    /* veil_model_open_memory only, optional: called once, on the calling thread, with the first
     * chunk's plaintext (authenticated by its tag, though the file as a whole has not verified
     * yet: treat it as untrusted input) before anything is written to dst. It returns pad, 0 to
     * VEIL_MODEL_PLACE_PAD_MAX: the plaintext then goes to dst + pad (so that a payload inside
     * it lands aligned), and dst_size must be >= the plaintext size + VEIL_MODEL_PLACE_PAD_MAX.
     * An empty model has one empty chunk: len is then 0. */
    size_t (*place)(void *ctx, const uint8_t *first, size_t len);
    void *place_ctx;
};

#define VEIL_MODEL_PLACE_PAD_MAX 63

/* Seals in_path into out_path (which must not exist; written atomically, mode 0644). The signer
 * is a PEM PKCS#8 private key (Ed25519 or P-384) file, mode 0600. */
VEIL_API int veil_model_seal_file(const char *in_path, const char *out_path,
                                  const uint8_t model_key[VEIL_MODEL_KEY_BYTES],
                                  const char *signer_key_path,
                                  const struct veil_seal_params *params,
                                  struct veil_model_info *info);

/* Parses and describes a sealed file without any key. If signer_pem is given (a PEM public
 * key), also verifies the provider signature: -VEIL_ERR_MODEL_SIGNER / _SIGNATURE on failure,
 * with info still filled. */
VEIL_API int veil_model_inspect_fd(int fd, const uint8_t *signer_pem, size_t signer_pem_size,
                                   struct veil_model_info *info);

/* Opens in_fd (read from its current position) into out_path, created only once every byte has
 * verified (temporary file beside it, renamed at the end; nothing left behind on failure). */
VEIL_API int veil_model_open_file(int in_fd, const char *out_path, int overwrite,
                                  const uint8_t model_key[VEIL_MODEL_KEY_BYTES],
                                  const uint8_t *signer_pem, size_t signer_pem_size,
                                  const struct veil_open_params *params,
                                  struct veil_model_info *info);

/* Opens in_fd to a stream (a pipe, stdout) in order. UNSAFE by nature: bytes are written before
 * the whole file has verified, so a consumer must discard everything unless this returns 0. */
VEIL_API int veil_model_open_stream_unsafe(int in_fd, int out_fd,
                                           const uint8_t model_key[VEIL_MODEL_KEY_BYTES],
                                           const uint8_t *signer_pem, size_t signer_pem_size,
                                           const struct veil_open_params *params,
                                           struct veil_model_info *info);

/* Opens in_fd into dst (dst_size >= the plaintext size; use veil_model_inspect_fd first, then
 * rewind, or allocate with veil_locked_alloc). Plaintext goes nowhere but dst (at dst + the pad
 * that params->place chose, if given); on failure all of dst is wiped. This is what the inference
 * server uses. */
VEIL_API int veil_model_open_memory(int in_fd, void *dst, size_t dst_size,
                                    const uint8_t model_key[VEIL_MODEL_KEY_BYTES],
                                    const uint8_t *signer_pem, size_t signer_pem_size,
                                    const struct veil_open_params *params,
                                    struct veil_model_info *info);

#endif
