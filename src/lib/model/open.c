/*
 * Opening: .veil -> plaintext, verify first. Order of checks (docs/FORMAT.sealed-model.md):
 * header structure, signer key id, provider signature over the manifest, expected identity, key
 * commitment; then per chunk the GCM tag (STREAM nonce, header digest as AAD) and at the end the
 * chunk count, trailing bytes and the chunk root. Output is produced into one of three sinks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/file.h"
#include "base/secret.h"
#include "model/model.h"

enum sink_kind {
    SINK_FILE,   /* pwrite at the chunk's offset (any order) */
    SINK_STREAM, /* write in order, from the consuming thread */
    SINK_MEMORY, /* decrypt straight into dst (+ pad) */
};

struct sink {
    enum sink_kind kind;
    int fd;
    uint8_t *dst;
    size_t dst_size;
    /* SINK_MEMORY with params->place: chunk 0 is decrypted into its slot, shown to place, and
     * copied to dst + pad; the other chunks are decrypted straight to dst + pad + their offset,
     * once pad is known (chunk 1 is submitted only after chunk 0 has been placed). */
    bool placing;
    size_t pad;
};

/* Reads the sealed stream: first what is left over from the header read, then the fd. */
struct source {
    int fd;
    uint8_t head[VEIL_MODEL_HEADER_SIZE_MAX];
    size_t head_len;
    size_t head_off;
};

struct open_ctx {
    const struct veil_model_header *h;
    const struct sink *sink;
};

static VEIL_RESULT source_read(struct source *s, uint8_t *buf, size_t n, size_t *got)
{
    size_t from_head = s->head_len - s->head_off;
    size_t more = 0;

    if (from_head > n) {
        from_head = n;
    }
    memcpy(buf, s->head + s->head_off, from_head);
    s->head_off += from_head;
    if (from_head < n) {
        GUARD(veil_read_full(s->fd, buf + from_head, n - from_head, &more));
    }
    *got = from_head + more;
    return VEIL_RESULT_OK;
}

static veil_result open_chunk(void *arg, struct veil_pipe_worker *w, struct veil_pipe_slot *slot)
{
    const struct open_ctx *c = arg;
    const struct veil_model_header *h = c->h;
    uint64_t off = slot->index * (uint64_t)h->chunk_size;
    uint8_t *out = slot->buf;

    if (c->sink->kind == SINK_MEMORY && !(c->sink->placing && slot->index == 0)) {
        out = c->sink->dst + c->sink->pad + off;
    }

    GUARD(veil_model_chunk_open(w, h, slot->index, slot->buf, slot->len, out, slot->digest));
    if (c->sink->kind == SINK_FILE) {
        GUARD(veil_pwrite_full(c->sink->fd, out, slot->len, (off_t)off));
    }
    return VEIL_RESULT_OK;
}

/* Everything that can be checked before a single chunk is decrypted. */
static VEIL_RESULT verify_manifest(struct veil_model_header *h, const uint8_t *file_head,
                                   const uint8_t *signer_pem, size_t signer_pem_size)
{
    EVP_PKEY *signer = NULL;
    uint8_t key_id[VEIL_SHA256_SIZE];
    enum veil_sig_alg alg;
    struct veil_wr tbs;
    veil_result r;

    GUARD(veil_sign_public_from_pem(signer_pem, signer_pem_size, &signer));
    veil_wr_init(&tbs, VEIL_MODEL_HEADER_SIZE_MAX + sizeof(VEIL_MODEL_SIG_CONTEXT));
    r = veil_sign_key_id(signer, key_id);
    if (veil_ok(r)) {
        r = veil_sign_key_alg(signer, &alg);
    }
    if (veil_ok(r) && (CRYPTO_memcmp(key_id, h->signer_key_id, sizeof(key_id)) != 0 ||
                       alg != (enum veil_sig_alg)h->sig_alg)) {
        r = veil_result_of(VEIL_ERR_MODEL_SIGNER);
    }
    if (veil_ok(r)) {
        r = veil_model_signed_bytes(file_head, h->manifest_size, &tbs);
    }
    if (veil_ok(r)) {
        r = veil_sign_verify(signer, tbs.data, tbs.len, h->signature, h->signature_size);
        if (r.code == VEIL_ERR_CRYPTO) {
            r = veil_result_of(VEIL_ERR_MODEL_SIGNATURE);
        }
    }
    veil_wr_free(&tbs);
    EVP_PKEY_free(signer);
    return r;
}

static VEIL_RESULT check_identity(const struct veil_model_header *h,
                                  const struct veil_open_params *p)
{
    if (p == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(p->expect_name == NULL || strcmp(p->expect_name, h->name) == 0, VEIL_ERR_MODEL_IDENTITY);
    ENSURE(
        p->expect_model_version == NULL || strcmp(p->expect_model_version, h->model_version) == 0,
        VEIL_ERR_MODEL_IDENTITY);
    ENSURE(p->expect_model_id == NULL ||
               CRYPTO_memcmp(p->expect_model_id, h->model_id, VEIL_SHA256_SIZE) == 0,
           VEIL_ERR_MODEL_IDENTITY);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT check_key(const struct veil_model_header *h,
                             const uint8_t model_key[VEIL_MODEL_KEY_SIZE], uint8_t *data_key)
{
    uint8_t commitment[VEIL_SHA256_SIZE];

    GUARD(veil_model_derive(model_key, h->salt, data_key, commitment));
    ENSURE(CRYPTO_memcmp(commitment, h->key_commitment, sizeof(commitment)) == 0,
           VEIL_ERR_MODEL_KEY);
    return VEIL_RESULT_OK;
}

/* Chunk 0, decrypted in its slot: the caller's placement callback chooses the pad from it, then
 * it goes to dst + pad. */
static VEIL_RESULT place_first(struct sink *sink, const struct veil_pipe_slot *s,
                               const struct veil_model_header *h, const struct veil_open_params *p)
{
    size_t pad = p->place(p->place_ctx, s->buf, s->len);

    ENSURE(pad <= VEIL_MODEL_PLACE_PAD_MAX && pad <= sink->dst_size - h->plaintext_size,
           VEIL_ERR_USAGE_LIMIT);
    sink->pad = pad;
    memcpy(sink->dst + pad, s->buf, s->len);
    return VEIL_RESULT_OK;
}

/* Consumes chunk slots in order: chunk root, placement, ordered output, progress. */
static VEIL_RESULT consume(struct veil_pipe *pipe, struct veil_pipe_slot *s,
                           struct veil_model_root *root, struct sink *sink, uint64_t *done,
                           const struct veil_model_header *h, const struct veil_open_params *p)
{
    veil_result r = veil_pipe_wait(pipe, s);

    if (veil_ok(r)) {
        r = veil_model_root_add(root, s->digest);
    }
    if (veil_ok(r) && sink->placing && s->index == 0) {
        r = place_first(sink, s, h, p);
    }
    if (veil_ok(r) && sink->kind == SINK_STREAM) {
        r = veil_write_full(sink->fd, s->buf, s->len);
    }
    *done += s->len;
    veil_pipe_release(pipe, s);
    if (veil_ok(r) && p != NULL && p->progress != NULL) {
        p->progress(p->progress_ctx, *done, h->plaintext_size);
    }
    return r;
}

static VEIL_RESULT open_chunks(const struct veil_model_header *h, struct source *src,
                               struct sink *sink, const uint8_t *data_key, unsigned threads,
                               const struct veil_open_params *p)
{
    struct open_ctx ctx = {h, sink};
    struct veil_model_root root = {0};
    struct veil_pipe pipe;
    uint8_t root_digest[VEIL_SHA256_SIZE];
    uint64_t next_consume = 0;
    uint64_t done = 0;
    size_t got = 0;
    uint8_t extra;
    veil_result r;

    GUARD(veil_pipe_start(&pipe, threads, veil_model_chunk_len_max(h) + VEIL_GCM_TAG_SIZE, data_key,
                          0, open_chunk, &ctx));
    r = veil_model_root_init(&root);
    for (uint64_t i = 0; veil_ok(r) && i <= h->chunk_count; i++) {
        while (veil_ok(r) && next_consume < i &&
               (i == h->chunk_count || veil_pipe_slot_busy(&pipe, veil_pipe_slot_for(&pipe, i)))) {
            r = consume(&pipe, veil_pipe_slot_for(&pipe, next_consume), &root, sink, &done, h, p);
            next_consume++;
        }
        if (!veil_ok(r) || i == h->chunk_count) {
            break;
        }
        struct veil_pipe_slot *slot = veil_pipe_slot_for(&pipe, i);
        slot->index = i;
        slot->len = veil_model_chunk_len(h, i);
        r = source_read(src, slot->buf, slot->len + VEIL_GCM_TAG_SIZE, &got);
        if (veil_ok(r) && got != slot->len + VEIL_GCM_TAG_SIZE) {
            r = veil_result_of(VEIL_ERR_MODEL_TRUNCATED);
        }
        if (veil_ok(r) && sink->kind == SINK_MEMORY) {
            /* This thread faults the chunk's destination in (a no-op where it is already), so
             * the page faults of a fresh buffer overlap the workers' AES-GCM instead of being
             * taken by them or paid before the first chunk. */
            veil_prefault(sink->dst + sink->pad + i * (uint64_t)h->chunk_size, slot->len);
        }
        if (veil_ok(r)) {
            veil_pipe_submit(&pipe, slot);
        }
        if (veil_ok(r) && i == 0 && sink->placing) {
            /* the pad first: every later chunk is decrypted to where it depends on */
            r = consume(&pipe, slot, &root, sink, &done, h, p);
            next_consume = 1;
        }
    }
    veil_pipe_stop(&pipe);
    if (veil_ok(r)) {
        r = veil_model_root_final(&root, root_digest);
    }
    veil_model_root_free(&root);
    GUARD(r);
    GUARD(source_read(src, &extra, 1, &got));
    ENSURE(got == 0, VEIL_ERR_MODEL_EXTENDED);
    ENSURE(CRYPTO_memcmp(root_digest, h->chunk_root, sizeof(root_digest)) == 0,
           VEIL_ERR_MODEL_ROOT);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT read_header(struct source *src, struct veil_model_header *h)
{
    GUARD(veil_read_full(src->fd, src->head, sizeof(src->head), &src->head_len));
    GUARD(veil_model_header_parse(src->head, src->head_len, h));
    src->head_off = h->total_size;
    return VEIL_RESULT_OK;
}

static veil_result open_core(int in_fd, struct sink *sink,
                             const uint8_t model_key[VEIL_MODEL_KEY_SIZE],
                             const uint8_t *signer_pem, size_t signer_pem_size,
                             const struct veil_open_params *p, struct veil_model_info *info)
{
    struct veil_model_header h;
    struct veil_secret *data_key = NULL;
    struct source *src;
    unsigned threads = p != NULL && p->threads != 0 ? p->threads : veil_pipe_default_threads();
    veil_result r;

    ENSURE(model_key != NULL && signer_pem != NULL, VEIL_ERR_USAGE);
    ENSURE(threads <= 64, VEIL_ERR_USAGE_LIMIT);
    src = calloc(1, sizeof(*src));
    ENSURE(src != NULL, VEIL_ERR_NOMEM);
    src->fd = in_fd;
    r = read_header(src, &h);
    if (!veil_ok(r)) {
        goto out;
    }
    veil_model_info_fill(&h, info);
    r = verify_manifest(&h, src->head, signer_pem, signer_pem_size);
    if (veil_ok(r)) {
        r = check_identity(&h, p);
    }
    if (veil_ok(r) && sink->kind == SINK_MEMORY &&
        (sink->dst_size < h.plaintext_size ||
         (sink->placing && sink->dst_size - h.plaintext_size < VEIL_MODEL_PLACE_PAD_MAX))) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = veil_secret_new(VEIL_AES256_KEY_SIZE, &data_key);
    }
    if (veil_ok(r)) {
        r = check_key(&h, model_key, data_key->data);
    }
    if (veil_ok(r)) {
        r = open_chunks(&h, src, sink, data_key->data, threads, p);
    }
out:
    if (!veil_ok(r) && sink->kind == SINK_MEMORY && sink->dst != NULL) {
        OPENSSL_cleanse(sink->dst, sink->dst_size);
    }
    veil_secret_free(data_key);
    OPENSSL_cleanse(src, sizeof(*src));
    free(src);
    return r;
}

int veil_model_open_file(int in_fd, const char *out_path, int overwrite,
                         const uint8_t model_key[VEIL_MODEL_KEY_BYTES], const uint8_t *signer_pem,
                         size_t signer_pem_size, const struct veil_open_params *params,
                         struct veil_model_info *info)
{
    struct veil_tmpfile tmp;
    struct sink sink = {SINK_FILE, -1, NULL, 0, false, 0};
    veil_result r;

    if (out_path == NULL) {
        return -VEIL_ERR_USAGE;
    }
    r = veil_tmpfile_open(out_path, 0600, &tmp);
    if (!veil_ok(r)) {
        return veil_result_to_int(r);
    }
    sink.fd = tmp.fd;
    r = open_core(in_fd, &sink, model_key, signer_pem, signer_pem_size, params, info);
    if (veil_ok(r)) {
        r = veil_tmpfile_commit(&tmp, overwrite);
    }
    if (!veil_ok(r)) {
        veil_tmpfile_abort(&tmp);
    }
    return veil_result_to_int(r);
}

int veil_model_open_stream_unsafe(int in_fd, int out_fd,
                                  const uint8_t model_key[VEIL_MODEL_KEY_BYTES],
                                  const uint8_t *signer_pem, size_t signer_pem_size,
                                  const struct veil_open_params *params,
                                  struct veil_model_info *info)
{
    struct sink sink = {SINK_STREAM, out_fd, NULL, 0, false, 0};

    return veil_result_to_int(
        open_core(in_fd, &sink, model_key, signer_pem, signer_pem_size, params, info));
}

int veil_model_open_memory(int in_fd, void *dst, size_t dst_size,
                           const uint8_t model_key[VEIL_MODEL_KEY_BYTES], const uint8_t *signer_pem,
                           size_t signer_pem_size, const struct veil_open_params *params,
                           struct veil_model_info *info)
{
    struct sink sink = {SINK_MEMORY, -1, dst, dst_size, params != NULL && params->place != NULL, 0};

    if (dst == NULL && dst_size > 0) {
        return -VEIL_ERR_USAGE;
    }
    return veil_result_to_int(
        open_core(in_fd, &sink, model_key, signer_pem, signer_pem_size, params, info));
}

int veil_model_inspect_fd(int fd, const uint8_t *signer_pem, size_t signer_pem_size,
                          struct veil_model_info *info)
{
    struct veil_model_header h;
    struct source *src = calloc(1, sizeof(*src));
    veil_result r;

    if (src == NULL) {
        return -VEIL_ERR_NOMEM;
    }
    src->fd = fd;
    r = read_header(src, &h);
    if (veil_ok(r)) {
        veil_model_info_fill(&h, info);
        if (signer_pem != NULL) {
            r = verify_manifest(&h, src->head, signer_pem, signer_pem_size);
        }
    }
    free(src);
    return veil_result_to_int(r);
}
