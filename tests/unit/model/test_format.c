#include "model/format.h"
#include "veil_test.h"

static void fill(struct veil_model_header *h)
{
    memset(h, 0, sizeof(*h));
    h->format_version = VEIL_MODEL_FORMAT_VERSION;
    h->suite = VEIL_MODEL_SUITE_AES256GCM;
    h->sig_alg = VEIL_SIG_ED25519;
    h->chunk_size = 4096;
    h->plaintext_size = 10000;
    h->chunk_count = 3;
    memset(h->salt, 1, sizeof(h->salt));
    memcpy(h->content_type, "onnx", 5);
    memcpy(h->name, "ocr-rec", 8);
    memcpy(h->model_version, "4.0", 4);
}

static size_t encode_signed(struct veil_model_header *h, uint8_t *buf, size_t size)
{
    struct veil_wr w;

    veil_wr_init_fixed(&w, buf, size);
    EXPECT_OK(veil_model_header_encode(h, &w));
    EXPECT_OK(veil_wr_u16be(&w, h->signature_size));
    EXPECT_OK(veil_wr_bytes(&w, h->signature, h->signature_size));
    return w.len;
}

static void test_encode_parse_round_trip(void **state)
{
    struct veil_model_header h;
    struct veil_model_header back;
    uint8_t buf[VEIL_MODEL_HEADER_SIZE_MAX];
    size_t n;

    (void)state;
    fill(&h);
    n = encode_signed(&h, buf, sizeof(buf));
    EXPECT_EQ(n, h.total_size);
    EXPECT_EQ(h.header_size, 132 + 5 + 8 + 4);
    EXPECT_OK(veil_model_header_parse(buf, n, &back));
    EXPECT_STR_EQ(back.name, "ocr-rec");
    EXPECT_EQ(back.plaintext_size, 10000);
    EXPECT_BYTES_EQ(back.model_id, h.model_id, 32);
    EXPECT_BYTES_EQ(back.header_digest, h.header_digest, 32);
    EXPECT_EQ(back.total_size, n);
    /* Every strict prefix is truncated, never anything else. */
    for (size_t k = 0; k < n; k++) {
        EXPECT_ERR(veil_model_header_parse(buf, k, &back), VEIL_ERR_MODEL_TRUNCATED);
    }
}

static void test_chunk_geometry(void **state)
{
    struct veil_model_header h;
    uint8_t nonce[12];

    (void)state;
    EXPECT_EQ(veil_model_chunk_count(0, 1024), 1);
    EXPECT_EQ(veil_model_chunk_count(1, 1024), 1);
    EXPECT_EQ(veil_model_chunk_count(1024, 1024), 1);
    EXPECT_EQ(veil_model_chunk_count(1025, 1024), 2);
    fill(&h);
    EXPECT_EQ(veil_model_chunk_len(&h, 0), 4096);
    EXPECT_EQ(veil_model_chunk_len(&h, 2), 10000 - 8192);
    veil_model_nonce(0x0102030405060708ull, true, nonce);
    EXPECT_BYTES_EQ(nonce, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x01", 12);
}

static void test_invalid_fields_are_refused(void **state)
{
    struct veil_model_header h;
    uint8_t buf[VEIL_MODEL_HEADER_SIZE_MAX];
    struct veil_wr w;

    (void)state;
    fill(&h);
    h.chunk_count = 4;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.chunk_size = 512;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.plaintext_size = VEIL_MODEL_PLAINTEXT_SIZE_MAX + 1;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.suite = 2;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_SUITE);
    fill(&h);
    h.sig_alg = 3;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_SUITE);
    fill(&h);
    h.flags = 1;
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.name[0] = '\0';
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.name[1] = '"';
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    h.content_type[0] = 'O';
    EXPECT_ERR(veil_model_header_check(&h), VEIL_ERR_MODEL_HEADER);
    /* An embedded NUL in a name on the wire. */
    fill(&h);
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    EXPECT_OK(veil_model_header_encode(&h, &w));
    buf[132 + 5 + 1 + 2] = 0; /* inside "ocr-rec" */
    EXPECT_ERR(veil_model_header_parse(buf, sizeof(buf), &h), VEIL_ERR_MODEL_HEADER);
    /* Wrong magic and version. */
    fill(&h);
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    EXPECT_OK(veil_model_header_encode(&h, &w));
    buf[0] = 'X';
    EXPECT_ERR(veil_model_header_parse(buf, sizeof(buf), &h), VEIL_ERR_MODEL_MAGIC);
    buf[0] = 'V';
    buf[9] = 2;
    EXPECT_ERR(veil_model_header_parse(buf, sizeof(buf), &h), VEIL_ERR_MODEL_VERSION);
}

static void test_signature_size_must_match_algorithm(void **state)
{
    struct veil_model_header h;
    uint8_t buf[VEIL_MODEL_HEADER_SIZE_MAX];
    struct veil_wr w;

    (void)state;
    fill(&h);
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    EXPECT_OK(veil_model_header_encode(&h, &w));
    EXPECT_OK(veil_wr_u16be(&w, 96)); /* Ed25519 is 64 */
    EXPECT_OK(veil_wr_bytes(&w, h.signature, 96));
    EXPECT_ERR(veil_model_header_parse(buf, w.len, &h), VEIL_ERR_MODEL_HEADER);
    fill(&h);
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    EXPECT_OK(veil_model_header_encode(&h, &w));
    EXPECT_OK(veil_wr_u16be(&w, 1000));
    EXPECT_ERR(veil_model_header_parse(buf, w.len, &h), VEIL_ERR_MODEL_HEADER);
}

VEIL_TEST_MAIN(test_encode_parse_round_trip, test_chunk_geometry, test_invalid_fields_are_refused,
               test_signature_size_must_match_algorithm)
