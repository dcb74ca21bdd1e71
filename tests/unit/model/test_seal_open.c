/*
 * Sealed model round trips and the tamper suite, through the public API (include/veil/model.h).
 * Every tampered file must fail with its specific error and leave no output behind.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/file.h"
#include "crypto/crypto.h"
#include "model/format.h"
#include "veil_test.h"
#include <veil/veil.h>

#define CHUNK 1024u

struct fixture {
    char dir[64];
    char model_key_path[128];
    char signer_path[128];
    char other_signer_path[128];
    uint8_t model_key[32];
    uint8_t other_key[32];
    struct veil_wr signer_pem;
    struct veil_wr other_pem;
};

static struct fixture fx;

static void path_in(char *out, size_t size, const char *name)
{
    (void)snprintf(out, size, "%s/%s", fx.dir, name);
}

static void write_signer(const char *path, struct veil_wr *pub, enum veil_sig_alg alg)
{
    EVP_PKEY *key = NULL;
    struct veil_wr priv;

    veil_wr_init_secret(&priv, 16384);
    veil_wr_init(pub, 16384);
    EXPECT_OK(veil_sign_keygen(alg, &key));
    EXPECT_OK(veil_sign_private_pem(key, &priv));
    EXPECT_OK(veil_sign_public_pem(key, pub));
    EXPECT_OK(veil_file_write_atomic(path, priv.data, priv.len, 0600, 1));
    veil_wr_free(&priv);
    EVP_PKEY_free(key);
}

static int setup(void **state)
{
    (void)state;
    (void)snprintf(fx.dir, sizeof(fx.dir), "/tmp/veil-test-XXXXXX");
    if (mkdtemp(fx.dir) == NULL) {
        return -1;
    }
    path_in(fx.model_key_path, sizeof(fx.model_key_path), "model.key");
    path_in(fx.signer_path, sizeof(fx.signer_path), "provider.key");
    path_in(fx.other_signer_path, sizeof(fx.other_signer_path), "other.key");
    (void)RAND_bytes(fx.model_key, sizeof(fx.model_key));
    (void)RAND_bytes(fx.other_key, sizeof(fx.other_key));
    write_signer(fx.signer_path, &fx.signer_pem, VEIL_SIG_ED25519);
    write_signer(fx.other_signer_path, &fx.other_pem, VEIL_SIG_ED25519);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    veil_wr_free(&fx.signer_pem);
    veil_wr_free(&fx.other_pem);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_bytes(const char *path, const uint8_t *data, size_t n)
{
    EXPECT_OK(veil_file_write_atomic(path, data, n, 0600, 1));
}

static uint8_t *read_bytes(const char *path, size_t *n)
{
    struct veil_wr w;
    uint8_t *copy;

    EXPECT_OK(veil_file_read(path, 1u << 30, &w));
    copy = malloc(w.len + 1);
    EXPECT_NOT_NULL(copy);
    if (w.len > 0) {
        memcpy(copy, w.data, w.len);
    }
    *n = w.len;
    veil_wr_free(&w);
    return copy;
}

static void seal_with(const char *in, const char *out, const char *signer, const char *name,
                      const char *version, unsigned threads)
{
    struct veil_seal_params p = {
        .name = name, .model_version = version, .chunk_size = CHUNK, .threads = threads};
    struct veil_model_info info;

    (void)unlink(out);
    EXPECT_API_OK(veil_model_seal_file(in, out, fx.model_key, signer, &p, &info));
}

/* Opens `sealed` to a file; returns the API code; asserts nothing is left behind on failure. */
static int open_to_file(const char *sealed, const uint8_t *key, const struct veil_wr *pem,
                        const struct veil_open_params *p)
{
    char out[128];
    int fd = open(sealed, O_RDONLY);
    int rc;
    struct stat st;

    path_in(out, sizeof(out), "opened.bin");
    (void)unlink(out);
    EXPECT_TRUE(fd >= 0);
    rc = veil_model_open_file(fd, out, 0, key, pem->data, pem->len, p, NULL);
    (void)close(fd);
    if (rc != 0) {
        char cmd[256];
        EXPECT_NE(stat(out, &st), 0);
        /* No temporary file either. */
        (void)snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '\\.tmp$'", fx.dir);
        EXPECT_NE(system(cmd), 0);
    }
    return rc;
}

static void round_trip(size_t size, unsigned threads)
{
    char in[128];
    char sealed[128];
    char out[128];
    uint8_t *plain = malloc(size + 1);
    uint8_t *back;
    uint8_t *mem;
    size_t n = 0;
    struct veil_model_info info;
    struct veil_open_params p = {.threads = threads};
    int fd;

    (void)RAND_bytes(plain, (int)size + 1);
    path_in(in, sizeof(in), "plain.bin");
    path_in(sealed, sizeof(sealed), "rt.veil");
    path_in(out, sizeof(out), "opened.bin");
    write_bytes(in, plain, size);
    seal_with(in, sealed, fx.signer_path, "rt", "1", threads);
    EXPECT_EQ(open_to_file(sealed, fx.model_key, &fx.signer_pem, &p), 0);
    back = read_bytes(out, &n);
    EXPECT_EQ(n, size);
    if (size > 0) {
        EXPECT_BYTES_EQ(back, plain, size);
    }
    free(back);
    /* Into memory, as veil-serve does. */
    mem = calloc(1, size + 1);
    fd = open(sealed, O_RDONLY);
    EXPECT_API_OK(veil_model_open_memory(fd, mem, size, fx.model_key, fx.signer_pem.data,
                                         fx.signer_pem.len, &p, &info));
    (void)close(fd);
    EXPECT_EQ(info.plaintext_size, size);
    if (size > 0) {
        EXPECT_BYTES_EQ(mem, plain, size);
    }
    free(mem);
    free(plain);
}

static void test_round_trip_boundary_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 64 * CHUNK};

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (unsigned t = 1; t <= 4; t *= 2) {
            round_trip(sizes[i], t);
        }
    }
}

static void test_p384_signer(void **state)
{
    char in[128];
    char sealed[128];
    char signer[128];
    struct veil_wr pub;
    uint8_t data[3000] = {1, 2, 3};

    (void)state;
    path_in(in, sizeof(in), "p384.bin");
    path_in(sealed, sizeof(sealed), "p384.veil");
    path_in(signer, sizeof(signer), "p384.key");
    write_signer(signer, &pub, VEIL_SIG_ECDSA_P384);
    write_bytes(in, data, sizeof(data));
    seal_with(in, sealed, signer, "p", "1", 2);
    EXPECT_EQ(open_to_file(sealed, fx.model_key, &pub, NULL), 0);
    EXPECT_EQ(open_to_file(sealed, fx.model_key, &fx.signer_pem, NULL), -VEIL_ERR_MODEL_SIGNER);
    veil_wr_free(&pub);
}

/* A 5-chunk sealed file held in memory, for mutations. */
struct sealed_copy {
    uint8_t *data;
    size_t size;
    struct veil_model_header h;
};

static void make_sealed(struct sealed_copy *s, const char *name, const char *version)
{
    char in[128];
    char sealed[128];
    uint8_t plain[4 * CHUNK + 100];

    (void)RAND_bytes(plain, sizeof(plain));
    path_in(in, sizeof(in), "t.bin");
    path_in(sealed, sizeof(sealed), "t.veil");
    write_bytes(in, plain, sizeof(plain));
    seal_with(in, sealed, fx.signer_path, name, version, 2);
    s->data = read_bytes(sealed, &s->size);
    EXPECT_OK(veil_model_header_parse(s->data, s->size, &s->h));
    EXPECT_EQ(s->h.chunk_count, 5);
}

static int open_bytes(const uint8_t *data, size_t n, const uint8_t *key, const struct veil_wr *pem,
                      const struct veil_open_params *p)
{
    char path[128];

    path_in(path, sizeof(path), "mut.veil");
    write_bytes(path, data, n);
    return open_to_file(path, key, pem, p);
}

static size_t chunk_off(const struct sealed_copy *s, uint64_t i)
{
    return s->h.total_size + (size_t)i * (CHUNK + VEIL_GCM_TAG_SIZE);
}

static void test_every_header_byte_flip_is_refused(void **state)
{
    struct sealed_copy s;

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, NULL), 0);
    for (size_t i = 0; i < s.h.total_size; i++) {
        int rc;
        s.data[i] ^= 0x01;
        rc = -open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, NULL);
        s.data[i] ^= 0x01;
        if (i < 8) {
            EXPECT_EQ(rc, VEIL_ERR_MODEL_MAGIC);
        } else if (i < 10) {
            EXPECT_EQ(rc, VEIL_ERR_MODEL_VERSION);
        } else if (i >= 36 && i < 100) { /* salt, key commitment */
            EXPECT_EQ(rc, VEIL_ERR_MODEL_SIGNATURE);
        } else if (i >= 100 && i < 132) { /* signer key id */
            EXPECT_EQ(rc, VEIL_ERR_MODEL_SIGNER);
        } else if (i >= s.h.header_size && i < s.h.manifest_size) { /* chunk root */
            EXPECT_EQ(rc, VEIL_ERR_MODEL_SIGNATURE);
        } else if (i >= s.h.manifest_size + 2) { /* signature */
            EXPECT_EQ(rc, VEIL_ERR_MODEL_SIGNATURE);
        } else {
            EXPECT_TRUE(rc == VEIL_ERR_MODEL_SUITE || rc == VEIL_ERR_MODEL_HEADER ||
                        rc == VEIL_ERR_MODEL_TRUNCATED || rc == VEIL_ERR_MODEL_SIGNATURE);
        }
    }
    free(s.data);
}

static void test_chunk_tampering_is_refused(void **state)
{
    struct sealed_copy s;
    uint8_t *copy;

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    /* Sampled bytes of every chunk: first, middle, last ciphertext byte, and the tag. */
    for (uint64_t c = 0; c < s.h.chunk_count; c++) {
        size_t len = c + 1 < s.h.chunk_count ? CHUNK : 100;
        size_t picks[] = {0, len / 2, len - 1, len, len + VEIL_GCM_TAG_SIZE - 1};
        for (size_t k = 0; k < sizeof(picks) / sizeof(picks[0]); k++) {
            size_t at = chunk_off(&s, c) + picks[k];
            s.data[at] ^= 0x80;
            EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, NULL),
                      -VEIL_ERR_MODEL_CHUNK);
            s.data[at] ^= 0x80;
        }
    }
    /* Swap chunks 1 and 2. */
    copy = malloc(s.size);
    memcpy(copy, s.data, s.size);
    memcpy(copy + chunk_off(&s, 1), s.data + chunk_off(&s, 2), CHUNK + VEIL_GCM_TAG_SIZE);
    memcpy(copy + chunk_off(&s, 2), s.data + chunk_off(&s, 1), CHUNK + VEIL_GCM_TAG_SIZE);
    EXPECT_EQ(open_bytes(copy, s.size, fx.model_key, &fx.signer_pem, NULL), -VEIL_ERR_MODEL_CHUNK);
    /* Duplicate chunk 1 over chunk 2. */
    memcpy(copy, s.data, s.size);
    memcpy(copy + chunk_off(&s, 2), s.data + chunk_off(&s, 1), CHUNK + VEIL_GCM_TAG_SIZE);
    EXPECT_EQ(open_bytes(copy, s.size, fx.model_key, &fx.signer_pem, NULL), -VEIL_ERR_MODEL_CHUNK);
    free(copy);
    free(s.data);
}

static void test_truncation_and_extension_are_refused(void **state)
{
    struct sealed_copy s;
    uint8_t *longer;

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    /* Drop the last chunk. */
    EXPECT_EQ(open_bytes(s.data, chunk_off(&s, 4), fx.model_key, &fx.signer_pem, NULL),
              -VEIL_ERR_MODEL_TRUNCATED);
    /* Truncate anywhere: every 37th byte and both sides of each chunk boundary. */
    for (size_t n = 0; n < s.size; n += 37) {
        EXPECT_EQ(open_bytes(s.data, n, fx.model_key, &fx.signer_pem, NULL),
                  -VEIL_ERR_MODEL_TRUNCATED);
    }
    for (uint64_t c = 1; c < s.h.chunk_count; c++) {
        EXPECT_EQ(open_bytes(s.data, chunk_off(&s, c) - 1, fx.model_key, &fx.signer_pem, NULL),
                  -VEIL_ERR_MODEL_TRUNCATED);
        EXPECT_EQ(open_bytes(s.data, chunk_off(&s, c) + 1, fx.model_key, &fx.signer_pem, NULL),
                  -VEIL_ERR_MODEL_TRUNCATED);
    }
    EXPECT_EQ(open_bytes(s.data, s.size - 1, fx.model_key, &fx.signer_pem, NULL),
              -VEIL_ERR_MODEL_TRUNCATED);
    /* Append one byte, and a whole copied chunk. */
    longer = malloc(s.size + CHUNK + VEIL_GCM_TAG_SIZE);
    memcpy(longer, s.data, s.size);
    longer[s.size] = 0;
    EXPECT_EQ(open_bytes(longer, s.size + 1, fx.model_key, &fx.signer_pem, NULL),
              -VEIL_ERR_MODEL_EXTENDED);
    memcpy(longer + s.size, s.data + chunk_off(&s, 0), CHUNK + VEIL_GCM_TAG_SIZE);
    EXPECT_EQ(
        open_bytes(longer, s.size + CHUNK + VEIL_GCM_TAG_SIZE, fx.model_key, &fx.signer_pem, NULL),
        -VEIL_ERR_MODEL_EXTENDED);
    free(longer);
    free(s.data);
}

static void test_wrong_keys_and_identity_are_refused(void **state)
{
    struct sealed_copy s;
    struct veil_open_params p = {0};
    uint8_t wrong_id[32] = {0};

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    EXPECT_EQ(open_bytes(s.data, s.size, fx.other_key, &fx.signer_pem, NULL), -VEIL_ERR_MODEL_KEY);
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.other_pem, NULL),
              -VEIL_ERR_MODEL_SIGNER);
    /* A file sealed as model-a 1.0, renamed and offered as model-b or as 2.0. */
    p.expect_name = "model-b";
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, &p),
              -VEIL_ERR_MODEL_IDENTITY);
    p.expect_name = "model-a";
    p.expect_model_version = "2.0";
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, &p),
              -VEIL_ERR_MODEL_IDENTITY);
    p.expect_model_version = "1.0";
    p.expect_model_id = wrong_id;
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, &p),
              -VEIL_ERR_MODEL_IDENTITY);
    p.expect_model_id = s.h.model_id;
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, &p), 0);
    free(s.data);
}

static void test_spliced_header_is_refused(void **state)
{
    struct sealed_copy a;
    struct sealed_copy b;

    (void)state;
    make_sealed(&a, "model-a", "1.0");
    make_sealed(&b, "model-a", "1.0");
    /* b's genuine, signed header in front of a's chunks: same keys, other salt. */
    EXPECT_EQ(a.h.total_size, b.h.total_size);
    memcpy(a.data, b.data, b.h.total_size);
    EXPECT_EQ(open_bytes(a.data, a.size, fx.model_key, &fx.signer_pem, NULL),
              -VEIL_ERR_MODEL_CHUNK);
    free(a.data);
    free(b.data);
}

/* Someone who holds the model key but not the provider's signing key re-encrypts other content
 * under the genuine signed header: every chunk authenticates, the chunk root does not. */
static void test_key_holder_cannot_replace_content(void **state)
{
    struct sealed_copy s;
    uint8_t data_key[32];
    uint8_t commitment[32];
    uint8_t nonce[VEIL_GCM_NONCE_SIZE];
    struct veil_gcm gcm;

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    EXPECT_OK(veil_model_derive(fx.model_key, s.h.salt, data_key, commitment));
    EXPECT_OK(veil_gcm_init(&gcm, data_key, 1));
    for (uint64_t c = 0; c < s.h.chunk_count; c++) {
        size_t len = veil_model_chunk_len(&s.h, c);
        uint8_t *p = s.data + chunk_off(&s, c);
        memset(p, 0x42, len); /* the attacker's plaintext */
        veil_model_nonce(c, c + 1 == s.h.chunk_count, nonce);
        EXPECT_OK(veil_gcm_seal(&gcm, nonce, s.h.header_digest, 32, p, len, p, p + len));
    }
    veil_gcm_free(&gcm);
    EXPECT_EQ(open_bytes(s.data, s.size, fx.model_key, &fx.signer_pem, NULL), -VEIL_ERR_MODEL_ROOT);
    free(s.data);
}

static void test_memory_sink_is_wiped_on_failure(void **state)
{
    struct sealed_copy s;
    char path[128];
    size_t n = 4 * CHUNK + 100;
    uint8_t *mem = malloc(n);
    int fd;

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    s.data[chunk_off(&s, 4) + 3] ^= 1; /* chunks 0-3 decrypt, chunk 4 fails */
    path_in(path, sizeof(path), "mem.veil");
    write_bytes(path, s.data, s.size);
    memset(mem, 0x55, n);
    fd = open(path, O_RDONLY);
    EXPECT_EQ(veil_model_open_memory(fd, mem, n, fx.model_key, fx.signer_pem.data,
                                     fx.signer_pem.len, NULL, NULL),
              -VEIL_ERR_MODEL_CHUNK);
    (void)close(fd);
    for (size_t i = 0; i < n; i++) {
        EXPECT_EQ(mem[i], 0);
    }
    /* Too small a destination is refused before anything is decrypted. */
    fd = open(path, O_RDONLY);
    EXPECT_EQ(veil_model_open_memory(fd, mem, n - 1, fx.model_key, fx.signer_pem.data,
                                     fx.signer_pem.len, NULL, NULL),
              -VEIL_ERR_USAGE_LIMIT);
    (void)close(fd);
    free(mem);
    free(s.data);
}

/* The placement callback (veil_open_params.place), as veil-serve uses it. */
struct placer {
    size_t pad; /* what to return */
    int calls;
    size_t len;
    uint8_t first[CHUNK];
};

static size_t place_cb(void *ctx, const uint8_t *first, size_t len)
{
    struct placer *pl = ctx;

    pl->calls++;
    pl->len = len;
    memcpy(pl->first, first, len < CHUNK ? len : CHUNK);
    return pl->pad;
}

/* Opens path into memory with the placer; returns the API code. */
static int open_placed(const char *path, uint8_t *mem, size_t mem_size, struct placer *pl,
                       unsigned threads)
{
    struct veil_open_params p = {.threads = threads, .place = place_cb, .place_ctx = pl};
    int fd = open(path, O_RDONLY);
    int rc;

    EXPECT_TRUE(fd >= 0);
    rc = veil_model_open_memory(fd, mem, mem_size, fx.model_key, fx.signer_pem.data,
                                fx.signer_pem.len, &p, NULL);
    (void)close(fd);
    return rc;
}

/* The plaintext goes to dst + the pad the callback chose, shown the first chunk once and before
 * anything is written; the bytes are what opening to a file gives; the slack is left alone. */
static void test_memory_placement(void **state)
{
    static const size_t pads[] = {0, 1, 37, VEIL_MODEL_PLACE_PAD_MAX};
    const size_t size = 3 * CHUNK + 5;
    const size_t mem_size = size + VEIL_MODEL_PLACE_PAD_MAX;
    char in[128];
    char sealed[128];
    char out[128];
    uint8_t *plain = malloc(size);
    uint8_t *mem = malloc(mem_size);
    uint8_t *ref;
    struct placer pl;
    size_t n = 0;

    (void)state;
    (void)RAND_bytes(plain, (int)size);
    path_in(in, sizeof(in), "place.bin");
    path_in(sealed, sizeof(sealed), "place.veil");
    path_in(out, sizeof(out), "opened.bin");
    write_bytes(in, plain, size);
    seal_with(in, sealed, fx.signer_path, "pl", "1", 2);
    EXPECT_EQ(open_to_file(sealed, fx.model_key, &fx.signer_pem, NULL), 0);
    ref = read_bytes(out, &n); /* what `veil open` writes */
    EXPECT_EQ(n, size);
    for (unsigned t = 1; t <= 4; t *= 2) {
        for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
            memset(&pl, 0, sizeof(pl));
            pl.pad = pads[i];
            memset(mem, 0x55, mem_size);
            EXPECT_API_OK(open_placed(sealed, mem, mem_size, &pl, t));
            EXPECT_EQ(pl.calls, 1);
            EXPECT_EQ(pl.len, CHUNK);
            EXPECT_BYTES_EQ(pl.first, ref, CHUNK);
            EXPECT_BYTES_EQ(mem + pads[i], ref, size);
            for (size_t k = 0; k < pads[i]; k++) {
                EXPECT_EQ(mem[k], 0x55);
            }
            for (size_t k = pads[i] + size; k < mem_size; k++) {
                EXPECT_EQ(mem[k], 0x55);
            }
        }
    }
    /* No room for the largest pad: refused before anything is decrypted. */
    memset(&pl, 0, sizeof(pl));
    EXPECT_EQ(open_placed(sealed, mem, mem_size - 1, &pl, 2), -VEIL_ERR_USAGE_LIMIT);
    EXPECT_EQ(pl.calls, 0);
    /* A pad beyond the maximum: refused, and all of dst wiped. */
    pl.pad = VEIL_MODEL_PLACE_PAD_MAX + 1;
    memset(mem, 0x55, mem_size);
    EXPECT_EQ(open_placed(sealed, mem, mem_size, &pl, 2), -VEIL_ERR_USAGE_LIMIT);
    EXPECT_EQ(pl.calls, 1);
    for (size_t k = 0; k < mem_size; k++) {
        EXPECT_EQ(mem[k], 0);
    }
    free(ref);
    free(mem);
    free(plain);
}

/* The callback only ever sees an authenticated first chunk; a later chunk's failure wipes all of
 * dst, the slack included; an empty model is shown its one empty chunk. */
static void test_memory_placement_refusals(void **state)
{
    struct sealed_copy s;
    struct placer pl;
    char path[128];
    size_t mem_size = 4 * CHUNK + 100 + VEIL_MODEL_PLACE_PAD_MAX;
    uint8_t *mem = malloc(mem_size);
    uint8_t empty = 0;
    char in[128];

    (void)state;
    make_sealed(&s, "model-a", "1.0");
    path_in(path, sizeof(path), "mem.veil");
    s.data[chunk_off(&s, 0) + 5] ^= 1;
    write_bytes(path, s.data, s.size);
    memset(&pl, 0, sizeof(pl));
    memset(mem, 0x55, mem_size);
    EXPECT_EQ(open_placed(path, mem, mem_size, &pl, 2), -VEIL_ERR_MODEL_CHUNK);
    EXPECT_EQ(pl.calls, 0);
    for (size_t k = 0; k < mem_size; k++) {
        EXPECT_EQ(mem[k], 0);
    }
    s.data[chunk_off(&s, 0) + 5] ^= 1;
    s.data[chunk_off(&s, 4) + 3] ^= 1;
    write_bytes(path, s.data, s.size);
    pl.pad = 7;
    memset(mem, 0x55, mem_size);
    EXPECT_EQ(open_placed(path, mem, mem_size, &pl, 2), -VEIL_ERR_MODEL_CHUNK);
    EXPECT_EQ(pl.calls, 1);
    for (size_t k = 0; k < mem_size; k++) {
        EXPECT_EQ(mem[k], 0);
    }
    /* an empty model: its one chunk is empty */
    path_in(in, sizeof(in), "empty.bin");
    write_bytes(in, &empty, 0);
    seal_with(in, path, fx.signer_path, "e", "1", 1);
    memset(&pl, 0, sizeof(pl));
    pl.pad = 5;
    EXPECT_API_OK(open_placed(path, mem, VEIL_MODEL_PLACE_PAD_MAX, &pl, 1));
    EXPECT_EQ(pl.calls, 1);
    EXPECT_EQ(pl.len, 0);
    free(mem);
    free(s.data);
}

static void test_seal_refuses_bad_input(void **state)
{
    char in[128];
    char out[128];
    struct veil_seal_params p = {.name = "x", .model_version = "1"};
    uint8_t one = 1;

    (void)state;
    path_in(in, sizeof(in), "small.bin");
    path_in(out, sizeof(out), "small.veil");
    write_bytes(in, &one, 1);
    (void)unlink(out);
    p.chunk_size = 100;
    EXPECT_EQ(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_USAGE_LIMIT);
    p.chunk_size = 0;
    p.name = "bad\nname";
    EXPECT_EQ(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_USAGE);
    p.name = "x";
    p.content_type = "ONNX!";
    EXPECT_EQ(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_USAGE);
    p.content_type = NULL;
    EXPECT_EQ(veil_model_seal_file(fx.dir, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_IO_NOT_REGULAR);
    EXPECT_API_OK(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL));
    /* Never over an existing file. */
    EXPECT_EQ(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_IO_EXISTS);
    /* A signing key readable by others is refused, as ssh does. */
    EXPECT_EQ(chmod(fx.signer_path, 0644), 0);
    (void)unlink(out);
    EXPECT_EQ(veil_model_seal_file(in, out, fx.model_key, fx.signer_path, &p, NULL),
              -VEIL_ERR_IO_PERMISSIONS);
    EXPECT_EQ(chmod(fx.signer_path, 0600), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_boundary_sizes),
        cmocka_unit_test(test_p384_signer),
        cmocka_unit_test(test_every_header_byte_flip_is_refused),
        cmocka_unit_test(test_chunk_tampering_is_refused),
        cmocka_unit_test(test_truncation_and_extension_are_refused),
        cmocka_unit_test(test_wrong_keys_and_identity_are_refused),
        cmocka_unit_test(test_spliced_header_is_refused),
        cmocka_unit_test(test_key_holder_cannot_replace_content),
        cmocka_unit_test(test_memory_sink_is_wiped_on_failure),
        cmocka_unit_test(test_memory_placement),
        cmocka_unit_test(test_memory_placement_refusals),
        cmocka_unit_test(test_seal_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
