/* Encoding and parsing of the sealed model header, manifest and signature. The parser reads like
 * the schema in docs/FORMAT.sealed-model.md: one veil_rd call per field. */
#include "model/format.h"

#include <string.h>

#include <openssl/crypto.h>

uint64_t veil_model_chunk_count(uint64_t plaintext_size, uint32_t chunk_size)
{
    if (plaintext_size == 0) {
        return 1;
    }
    return (plaintext_size - 1) / chunk_size + 1;
}

size_t veil_model_chunk_len(const struct veil_model_header *h, uint64_t i)
{
    uint64_t start = i * h->chunk_size;

    VEIL_ASSERT(i < h->chunk_count);
    if (i + 1 < h->chunk_count) {
        return h->chunk_size;
    }
    return (size_t)(h->plaintext_size - start);
}

size_t veil_model_chunk_len_max(const struct veil_model_header *h)
{
    return h->plaintext_size < h->chunk_size ? (size_t)h->plaintext_size : h->chunk_size;
}

void veil_model_nonce(uint64_t i, bool last, uint8_t nonce[VEIL_GCM_NONCE_SIZE])
{
    veil_store_u64be(nonce, i);
    nonce[8] = 0;
    nonce[9] = 0;
    nonce[10] = 0;
    nonce[11] = last ? 1 : 0;
}

bool veil_model_sealed_size(const struct veil_model_header *h, uint64_t *out)
{
    /* Bounded by the header checks: plaintext <= 2^50, count <= 2^50. */
    *out = (uint64_t)h->total_size + h->plaintext_size + h->chunk_count * VEIL_GCM_TAG_SIZE;
    return true;
}

/* Printable ASCII without quotes or backslashes: names end up in JSON, logs and policies. */
static bool text_ok(const char *s, size_t n, bool content_type)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (content_type) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '+' || c == '/')) {
                return false;
            }
        } else if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

veil_result veil_model_header_check(const struct veil_model_header *h)
{
    ENSURE(h->format_version == VEIL_MODEL_FORMAT_VERSION, VEIL_ERR_MODEL_VERSION);
    ENSURE(h->suite == VEIL_MODEL_SUITE_AES256GCM, VEIL_ERR_MODEL_SUITE);
    ENSURE(h->sig_alg == VEIL_SIG_ED25519 || h->sig_alg == VEIL_SIG_ECDSA_P384,
           VEIL_ERR_MODEL_SUITE);
    ENSURE(h->flags == 0, VEIL_ERR_MODEL_HEADER);
    ENSURE(h->chunk_size >= VEIL_MODEL_CHUNK_SIZE_MIN && h->chunk_size <= VEIL_MODEL_CHUNK_SIZE_MAX,
           VEIL_ERR_MODEL_HEADER);
    ENSURE(h->plaintext_size <= VEIL_MODEL_PLAINTEXT_SIZE_MAX, VEIL_ERR_MODEL_HEADER);
    ENSURE(h->chunk_count == veil_model_chunk_count(h->plaintext_size, h->chunk_size),
           VEIL_ERR_MODEL_HEADER);
    ENSURE(text_ok(h->content_type, strlen(h->content_type), true), VEIL_ERR_MODEL_HEADER);
    ENSURE(text_ok(h->name, strlen(h->name), false), VEIL_ERR_MODEL_HEADER);
    ENSURE(text_ok(h->model_version, strlen(h->model_version), false), VEIL_ERR_MODEL_HEADER);
    return VEIL_RESULT_OK;
}

veil_result veil_model_header_encode(struct veil_model_header *h, struct veil_wr *w)
{
    GUARD(veil_model_header_check(h));
    GUARD(veil_wr_bytes(w, VEIL_MODEL_MAGIC, VEIL_MODEL_MAGIC_SIZE));
    GUARD(veil_wr_u16be(w, h->format_version));
    GUARD(veil_wr_u16be(w, h->suite));
    GUARD(veil_wr_u16be(w, h->sig_alg));
    GUARD(veil_wr_u16be(w, h->flags));
    GUARD(veil_wr_u32be(w, h->chunk_size));
    GUARD(veil_wr_u64be(w, h->plaintext_size));
    GUARD(veil_wr_u64be(w, h->chunk_count));
    GUARD(veil_wr_bytes(w, h->salt, sizeof(h->salt)));
    GUARD(veil_wr_bytes(w, h->key_commitment, sizeof(h->key_commitment)));
    GUARD(veil_wr_bytes(w, h->signer_key_id, sizeof(h->signer_key_id)));
    GUARD(veil_wr_vec8(w, h->content_type, strlen(h->content_type)));
    GUARD(veil_wr_vec8(w, h->name, strlen(h->name)));
    GUARD(veil_wr_vec8(w, h->model_version, strlen(h->model_version)));
    h->header_size = w->len;
    GUARD(veil_sha256(w->data, h->header_size, h->header_digest));
    GUARD(veil_wr_bytes(w, h->chunk_root, sizeof(h->chunk_root)));
    h->manifest_size = w->len;
    GUARD(veil_sha256(w->data, h->manifest_size, h->model_id));
    h->signature_size = (uint16_t)veil_sig_alg_size(h->sig_alg);
    h->total_size = h->manifest_size + 2 + h->signature_size;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT rd_text(struct veil_rd *r, size_t max, char *out)
{
    struct veil_rd s;

    GUARD(veil_rd_vec8(r, max, &s));
    GUARD(veil_rd_bytes(&s, out, s.size));
    out[s.size] = '\0';
    /* An embedded NUL would make the C string shorter than the field. */
    ENSURE(strlen(out) == s.size, VEIL_ERR_MODEL_HEADER);
    return VEIL_RESULT_OK;
}

/* Maps "ran out of bytes" to the model's own error, keeping every other error. */
static veil_result truncated_as_model(veil_result r)
{
    return r.code == VEIL_ERR_PROTO_TRUNCATED ? veil_result_of(VEIL_ERR_MODEL_TRUNCATED) : r;
}

static VEIL_RESULT parse_fields(struct veil_rd *r, struct veil_model_header *h)
{
    uint8_t magic[VEIL_MODEL_MAGIC_SIZE];

    GUARD(veil_rd_bytes(r, magic, sizeof(magic)));
    ENSURE(CRYPTO_memcmp(magic, VEIL_MODEL_MAGIC, sizeof(magic)) == 0, VEIL_ERR_MODEL_MAGIC);
    GUARD(veil_rd_u16be(r, &h->format_version));
    ENSURE(h->format_version == VEIL_MODEL_FORMAT_VERSION, VEIL_ERR_MODEL_VERSION);
    GUARD(veil_rd_u16be(r, &h->suite));
    GUARD(veil_rd_u16be(r, &h->sig_alg));
    GUARD(veil_rd_u16be(r, &h->flags));
    GUARD(veil_rd_u32be(r, &h->chunk_size));
    GUARD(veil_rd_u64be(r, &h->plaintext_size));
    GUARD(veil_rd_u64be(r, &h->chunk_count));
    GUARD(veil_rd_bytes(r, h->salt, sizeof(h->salt)));
    GUARD(veil_rd_bytes(r, h->key_commitment, sizeof(h->key_commitment)));
    GUARD(veil_rd_bytes(r, h->signer_key_id, sizeof(h->signer_key_id)));
    GUARD(rd_text(r, VEIL_MODEL_CTYPE_SIZE_MAX, h->content_type));
    GUARD(rd_text(r, VEIL_MODEL_NAME_SIZE_MAX, h->name));
    GUARD(rd_text(r, VEIL_MODEL_NAME_SIZE_MAX, h->model_version));
    h->header_size = r->off;
    GUARD(veil_rd_bytes(r, h->chunk_root, sizeof(h->chunk_root)));
    h->manifest_size = r->off;
    GUARD(veil_rd_u16be(r, &h->signature_size));
    ENSURE(h->signature_size <= VEIL_SIG_SIZE_MAX, VEIL_ERR_MODEL_HEADER);
    GUARD(veil_rd_bytes(r, h->signature, h->signature_size));
    h->total_size = r->off;
    return VEIL_RESULT_OK;
}

veil_result veil_model_header_parse(const uint8_t *data, size_t n, struct veil_model_header *h)
{
    struct veil_rd r;

    memset(h, 0, sizeof(*h));
    veil_rd_init(&r, data, n);
    GUARD(truncated_as_model(parse_fields(&r, h)));
    GUARD(veil_model_header_check(h));
    ENSURE(h->signature_size == veil_sig_alg_size(h->sig_alg), VEIL_ERR_MODEL_HEADER);
    GUARD(veil_sha256(data, h->header_size, h->header_digest));
    GUARD(veil_sha256(data, h->manifest_size, h->model_id));
    return VEIL_RESULT_OK;
}

veil_result veil_model_signed_bytes(const uint8_t *manifest, size_t manifest_size,
                                    struct veil_wr *w)
{
    GUARD(veil_wr_bytes(w, VEIL_MODEL_SIG_CONTEXT, sizeof(VEIL_MODEL_SIG_CONTEXT)));
    GUARD(veil_wr_bytes(w, manifest, manifest_size));
    return VEIL_RESULT_OK;
}

veil_result veil_model_derive(const uint8_t model_key[VEIL_MODEL_KEY_SIZE],
                              const uint8_t salt[VEIL_MODEL_SALT_SIZE],
                              uint8_t data_key[VEIL_AES256_KEY_SIZE],
                              uint8_t commitment[VEIL_SHA256_SIZE])
{
    GUARD(veil_hkdf_sha256(model_key, VEIL_MODEL_KEY_SIZE, salt, VEIL_MODEL_SALT_SIZE,
                           VEIL_MODEL_INFO_DATA_KEY, data_key, VEIL_AES256_KEY_SIZE));
    GUARD(veil_hkdf_sha256(model_key, VEIL_MODEL_KEY_SIZE, salt, VEIL_MODEL_SALT_SIZE,
                           VEIL_MODEL_INFO_COMMITMENT, commitment, VEIL_SHA256_SIZE));
    return VEIL_RESULT_OK;
}
