/*
 * Sealing: plaintext file -> .veil. Chunks are encrypted and hashed in parallel and written at
 * their final offsets; the header, manifest (with the chunk root) and signature are written last,
 * at offset 0, and the file is renamed into place only when complete.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/file.h"
#include "base/secret.h"
#include "model/model.h"

struct seal_ctx {
    const struct veil_model_header *h;
    int out_fd;
};

static veil_result seal_chunk(void *arg, struct veil_pipe_worker *w, struct veil_pipe_slot *slot)
{
    const struct seal_ctx *c = arg;
    off_t off =
        (off_t)(c->h->total_size + slot->index * ((uint64_t)c->h->chunk_size + VEIL_GCM_TAG_SIZE));

    GUARD(veil_model_chunk_seal(w, c->h, slot->index, slot->buf, slot->len, slot->digest));
    return veil_pwrite_full(c->out_fd, slot->buf, slot->len + VEIL_GCM_TAG_SIZE, off);
}

static VEIL_RESULT check_params(const struct veil_seal_params *p, unsigned *threads,
                                uint32_t *chunk_size)
{
    ENSURE(p != NULL && p->name != NULL && p->model_version != NULL, VEIL_ERR_USAGE);
    *chunk_size = p->chunk_size == 0 ? VEIL_MODEL_CHUNK_SIZE_DEFAULT : p->chunk_size;
    ENSURE(*chunk_size >= VEIL_MODEL_CHUNK_SIZE_MIN && *chunk_size <= VEIL_MODEL_CHUNK_SIZE_MAX,
           VEIL_ERR_USAGE_LIMIT);
    *threads = p->threads == 0 ? veil_pipe_default_threads() : p->threads;
    ENSURE(*threads <= 64, VEIL_ERR_USAGE_LIMIT);
    ENSURE(strlen(p->name) <= VEIL_MODEL_NAME_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    ENSURE(strlen(p->model_version) <= VEIL_MODEL_NAME_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    ENSURE(p->content_type == NULL || strlen(p->content_type) <= VEIL_MODEL_CTYPE_SIZE_MAX,
           VEIL_ERR_USAGE_LIMIT);
    return VEIL_RESULT_OK;
}

/* Builds the header for this input and signer; the chunk root is filled in at the end. */
static VEIL_RESULT seal_header(struct veil_model_header *h, const struct veil_seal_params *p,
                               uint32_t chunk_size, uint64_t size, EVP_PKEY *signer,
                               const uint8_t model_key[VEIL_MODEL_KEY_SIZE],
                               uint8_t data_key[VEIL_AES256_KEY_SIZE], struct veil_wr *w)
{
    enum veil_sig_alg alg;

    GUARD(veil_sign_key_alg(signer, &alg));
    memset(h, 0, sizeof(*h));
    h->format_version = VEIL_MODEL_FORMAT_VERSION;
    h->suite = VEIL_MODEL_SUITE_AES256GCM;
    h->sig_alg = (uint16_t)alg;
    h->chunk_size = chunk_size;
    ENSURE(size <= VEIL_MODEL_PLAINTEXT_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    h->plaintext_size = size;
    h->chunk_count = veil_model_chunk_count(size, chunk_size);
    memcpy(h->content_type, p->content_type != NULL ? p->content_type : "onnx",
           strlen(p->content_type != NULL ? p->content_type : "onnx") + 1);
    memcpy(h->name, p->name, strlen(p->name) + 1);
    memcpy(h->model_version, p->model_version, strlen(p->model_version) + 1);
    GUARD_OSSL(RAND_bytes(h->salt, sizeof(h->salt)), VEIL_ERR_INTERNAL_OSSL);
    GUARD(veil_sign_key_id(signer, h->signer_key_id));
    GUARD(veil_model_derive(model_key, h->salt, data_key, h->key_commitment));
    /* A bad name or content type is the caller's mistake, not a corrupt file. */
    veil_result r = veil_model_header_encode(h, w);
    ENSURE(r.code != VEIL_ERR_MODEL_HEADER, VEIL_ERR_USAGE);
    return r;
}

/* Streams every chunk through the pipeline; fills h->chunk_root. */
static VEIL_RESULT seal_chunks(struct veil_model_header *h, int in_fd, int out_fd,
                               const uint8_t data_key[VEIL_AES256_KEY_SIZE], unsigned threads,
                               const struct veil_seal_params *p)
{
    struct seal_ctx ctx = {h, out_fd};
    struct veil_model_root root = {0};
    struct veil_pipe pipe;
    veil_result r;
    uint64_t done = 0;
    uint64_t next_consume = 0;
    uint8_t extra;
    size_t got = 0;

    GUARD(veil_pipe_start(&pipe, threads, veil_model_chunk_len_max(h) + VEIL_GCM_TAG_SIZE, data_key,
                          1, seal_chunk, &ctx));
    r = veil_model_root_init(&root);
    for (uint64_t i = 0; veil_ok(r) && i <= h->chunk_count; i++) {
        /* Consume finished chunks in order while the next slot is taken (and at the end). */
        while (veil_ok(r) && next_consume < i &&
               (i == h->chunk_count || veil_pipe_slot_busy(&pipe, veil_pipe_slot_for(&pipe, i)))) {
            struct veil_pipe_slot *s = veil_pipe_slot_for(&pipe, next_consume);
            r = veil_pipe_wait(&pipe, s);
            if (veil_ok(r)) {
                r = veil_model_root_add(&root, s->digest);
            }
            done += s->len;
            veil_pipe_release(&pipe, s);
            next_consume++;
            if (veil_ok(r) && p->progress != NULL) {
                p->progress(p->progress_ctx, done, h->plaintext_size);
            }
        }
        if (!veil_ok(r) || i == h->chunk_count) {
            break;
        }
        struct veil_pipe_slot *slot = veil_pipe_slot_for(&pipe, i);
        slot->index = i;
        slot->len = veil_model_chunk_len(h, i);
        r = veil_read_full(in_fd, slot->buf, slot->len, &got);
        if (veil_ok(r) && got != slot->len) {
            r = veil_result_of(VEIL_ERR_IO_SHORT); /* the input shrank while we read it */
        }
        if (veil_ok(r)) {
            veil_pipe_submit(&pipe, slot);
        }
    }
    veil_pipe_stop(&pipe);
    if (veil_ok(r)) {
        r = veil_model_root_final(&root, h->chunk_root);
    }
    veil_model_root_free(&root);
    GUARD(r);
    GUARD(veil_read_full(in_fd, &extra, 1, &got));
    ENSURE(got == 0, VEIL_ERR_IO_SHORT); /* the input grew while we read it */
    return VEIL_RESULT_OK;
}

/* Header, manifest and signature, at offset 0. */
static VEIL_RESULT seal_finish(struct veil_model_header *h, EVP_PKEY *signer, int out_fd)
{
    struct veil_wr w;
    struct veil_wr tbs;
    uint8_t sig[VEIL_SIG_SIZE_MAX];
    veil_result r;

    veil_wr_init(&w, VEIL_MODEL_HEADER_SIZE_MAX);
    veil_wr_init(&tbs, VEIL_MODEL_HEADER_SIZE_MAX + sizeof(VEIL_MODEL_SIG_CONTEXT));
    r = veil_model_header_encode(h, &w);
    if (veil_ok(r)) {
        r = veil_model_signed_bytes(w.data, h->manifest_size, &tbs);
    }
    if (veil_ok(r)) {
        r = veil_sign(signer, tbs.data, tbs.len, sig, h->signature_size);
    }
    if (veil_ok(r)) {
        r = veil_wr_u16be(&w, h->signature_size);
    }
    if (veil_ok(r)) {
        r = veil_wr_bytes(&w, sig, h->signature_size);
    }
    if (veil_ok(r)) {
        VEIL_ASSERT(w.len == h->total_size);
        r = veil_pwrite_full(out_fd, w.data, w.len, 0);
    }
    veil_wr_free(&tbs);
    veil_wr_free(&w);
    return r;
}

static veil_result seal_file(const char *in_path, const char *out_path,
                             const uint8_t model_key[VEIL_MODEL_KEY_SIZE],
                             const char *signer_key_path, const struct veil_seal_params *p,
                             struct veil_model_info *info)
{
    struct veil_model_header h;
    struct veil_tmpfile tmp = {.fd = -1};
    struct veil_secret *data_key = NULL;
    struct veil_wr hw;
    EVP_PKEY *signer = NULL;
    struct stat st;
    unsigned threads = 0;
    uint32_t chunk_size = 0;
    veil_result r;
    int in_fd = -1;

    GUARD(check_params(p, &threads, &chunk_size));
    veil_wr_init(&hw, VEIL_MODEL_HEADER_SIZE_MAX);
    r = veil_sign_load_private(signer_key_path, &signer);
    if (!veil_ok(r)) {
        goto out;
    }
    in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0 || fstat(in_fd, &st) != 0) {
        r = veil_result_of(VEIL_ERR_IO_OPEN);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = veil_result_of(VEIL_ERR_IO_NOT_REGULAR);
        goto out;
    }
    r = veil_secret_new(VEIL_AES256_KEY_SIZE, &data_key);
    if (veil_ok(r)) {
        r = seal_header(&h, p, chunk_size, (uint64_t)st.st_size, signer, model_key, data_key->data,
                        &hw);
    }
    if (veil_ok(r)) {
        r = veil_tmpfile_open(out_path, 0644, &tmp);
    }
    if (veil_ok(r)) {
        r = seal_chunks(&h, in_fd, tmp.fd, data_key->data, threads, p);
    }
    if (veil_ok(r)) {
        r = seal_finish(&h, signer, tmp.fd);
    }
    if (veil_ok(r)) {
        r = veil_tmpfile_commit(&tmp, 0);
    }
    if (veil_ok(r)) {
        veil_model_info_fill(&h, info);
    }
out:
    if (tmp.fd >= 0 || tmp.tmp_path != NULL) {
        veil_tmpfile_abort(&tmp);
    }
    if (in_fd >= 0) {
        (void)close(in_fd);
    }
    veil_secret_free(data_key);
    veil_wr_free(&hw);
    EVP_PKEY_free(signer);
    return r;
}

int veil_model_seal_file(const char *in_path, const char *out_path,
                         const uint8_t model_key[VEIL_MODEL_KEY_BYTES], const char *signer_key_path,
                         const struct veil_seal_params *params, struct veil_model_info *info)
{
    if (in_path == NULL || out_path == NULL || model_key == NULL || signer_key_path == NULL) {
        return -VEIL_ERR_USAGE;
    }
    return veil_result_to_int(
        seal_file(in_path, out_path, model_key, signer_key_path, params, info));
}
