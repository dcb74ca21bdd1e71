/* The DCAP quote parser: fields of real v3/v4/v5 quotes, and refusals of damaged ones. */
#include "veil_dcap_test.h"

#define TDX_V4 "tdx/dcapqvl-tdx/tdx_quote.bin"
#define TDX_V5 "tdx/gotdx-v5/quote_v5_sample.dat"
#define SGX_V3 "sgx/dcapqvl-sgx/sgx_quote.bin"

static void put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A private, exactly-sized copy of a vector's quote (padding removed). */
static uint8_t *load_quote(const char *rel, size_t *n, struct veil_dcap_quote *q)
{
    struct veil_wr w;
    uint8_t *copy;

    dcap_load(rel, &w);
    EXPECT_OK(veil_dcap_quote_parse(w.data, w.len, q));
    *n = q->quote_size;
    copy = malloc(*n);
    EXPECT_NOT_NULL(copy);
    memcpy(copy, w.data, *n);
    veil_wr_free(&w);
    EXPECT_OK(veil_dcap_quote_parse(copy, *n, q));
    return copy;
}

static size_t offset_of(const uint8_t *base, const uint8_t *p)
{
    return (size_t)(p - base);
}

static void test_v4_fields(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(TDX_V4, &n, &q);
    static const uint8_t vendor[] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                     0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

    (void)state;
    EXPECT_EQ(q.version, 4);
    EXPECT_EQ(q.att_key_type, 2);
    EXPECT_EQ(q.tee_type, VEIL_DCAP_TEE_TDX);
    EXPECT_BYTES_EQ(q.qe_vendor_id, vendor, 16);
    EXPECT_EQ(q.signed_size, 48 + 584);
    EXPECT_EQ(n, 4936);
    EXPECT_FALSE(q.td.is_v15);
    EXPECT_EQ(q.td.tee_tcb_svn[0], 6);
    EXPECT_EQ(q.td.tee_tcb_svn[1], 1);
    EXPECT_EQ(q.td.mr_td[0], 0x91);
    EXPECT_EQ(q.td.report_data[0], 0x9a);
    EXPECT_EQ(q.td.report_data[63], 0x20);
    EXPECT_EQ(q.qe_auth_size, 32);
    EXPECT_EQ(q.qe_report.isv_prod_id, 2);
    EXPECT_TRUE(q.pck_chain_pem_size > 3000);
    EXPECT_EQ(offset_of(d, q.qe_report_raw), 632 + 4 + 128 + 6);
    free(d);
}

static void test_v5_fields(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(TDX_V5, &n, &q);

    (void)state;
    EXPECT_EQ(q.version, 5);
    EXPECT_EQ(q.body_type, 3);
    EXPECT_TRUE(q.td.is_v15);
    EXPECT_EQ(q.signed_size, 48 + 6 + 648);
    EXPECT_EQ(q.td.tee_tcb_svn[0], 0x0b);
    EXPECT_EQ(q.td.tee_tcb_svn2[0], 0x0d);
    EXPECT_EQ(q.qe_report.isv_svn, 7);
    free(d);
}

static void test_v3_fields(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(SGX_V3, &n, &q);

    (void)state;
    EXPECT_EQ(q.version, 3);
    EXPECT_EQ(q.tee_type, VEIL_DCAP_TEE_SGX);
    EXPECT_EQ(q.signed_size, 48 + 384);
    EXPECT_EQ(n, 4600);
    EXPECT_EQ(q.enclave.mr_enclave[0], 0x33);
    EXPECT_EQ(q.enclave.attributes[0], 0x05);
    EXPECT_BYTES_EQ(q.enclave.report_data, "Hello, world!", 13);
    EXPECT_EQ(q.qe_report.isv_svn, 10);
    EXPECT_EQ(offset_of(d, q.qe_report_raw), 432 + 4 + 128);
    free(d);
}

/* Every proper prefix of every quote is refused, and nothing is read beyond it (ASan). */
static void test_truncated_everywhere(void **state)
{
    static const char *const vectors[] = {TDX_V4, TDX_V5, SGX_V3};
    struct veil_dcap_quote q;

    (void)state;
    for (size_t v = 0; v < 3; v++) {
        size_t n;
        uint8_t *d = load_quote(vectors[v], &n, &q);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *p = malloc(cut > 0 ? cut : 1);
            memcpy(p, d, cut);
            veil_result r = veil_dcap_quote_parse(p, cut, &q);
            if (veil_ok(r)) {
                fail_msg("%s truncated to %zu bytes parsed", vectors[v], cut);
            }
            free(p);
        }
        free(d);
    }
}

static veil_result parse_mutated(const uint8_t *d, size_t n, size_t off, const uint8_t *val,
                                 size_t val_size)
{
    struct veil_dcap_quote q;
    uint8_t *p = malloc(n);
    veil_result r;

    memcpy(p, d, n);
    memcpy(p + off, val, val_size);
    r = veil_dcap_quote_parse(p, n, &q);
    free(p);
    return r;
}

static void test_bad_header(void **state)
{
    struct veil_dcap_quote q;
    size_t n4, n3;
    uint8_t *d4 = load_quote(TDX_V4, &n4, &q);
    uint8_t *d3 = load_quote(SGX_V3, &n3, &q);
    uint8_t b[4];

    (void)state;
    for (uint16_t v = 0; v < 8; v++) {
        if (v == 4) {
            continue;
        }
        put_u16le(b, v);
        veil_result r = parse_mutated(d4, n4, 0, b, 2);
        EXPECT_TRUE(r.code == VEIL_ERR_DCAP_QUOTE_VERSION || r.code == VEIL_ERR_DCAP_QUOTE_TEE ||
                    r.code == VEIL_ERR_DCAP_QUOTE_BODY);
    }
    put_u16le(b, 3); /* a TDX quote calling itself v3 */
    EXPECT_ERR(parse_mutated(d4, n4, 0, b, 2), VEIL_ERR_DCAP_QUOTE_TEE);
    put_u16le(b, 4); /* an SGX quote calling itself v4 */
    EXPECT_ERR(parse_mutated(d3, n3, 0, b, 2), VEIL_ERR_DCAP_QUOTE_TEE);
    put_u16le(b, 0x100);
    EXPECT_ERR(parse_mutated(d4, n4, 0, b, 2), VEIL_ERR_DCAP_QUOTE_VERSION);
    put_u16le(b, 3); /* ECDSA P-384 */
    EXPECT_ERR(parse_mutated(d4, n4, 2, b, 2), VEIL_ERR_DCAP_QUOTE_KEY_TYPE);
    put_u32le(b, 0x82);
    EXPECT_ERR(parse_mutated(d4, n4, 4, b, 4), VEIL_ERR_DCAP_QUOTE_TEE);
    put_u32le(b, 0);
    EXPECT_ERR(parse_mutated(d4, n4, 4, b, 4), VEIL_ERR_DCAP_QUOTE_TEE);
    free(d4);
    free(d3);
}

static void test_bad_v5_body(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(TDX_V5, &n, &q);
    uint8_t b[4];

    (void)state;
    put_u16le(b, 1); /* SGX body in a v5 quote */
    EXPECT_ERR(parse_mutated(d, n, 48, b, 2), VEIL_ERR_DCAP_QUOTE_BODY);
    put_u16le(b, 2); /* TD 1.0 type with a 1.5 size */
    EXPECT_ERR(parse_mutated(d, n, 48, b, 2), VEIL_ERR_DCAP_QUOTE_BODY);
    put_u32le(b, 584);
    EXPECT_ERR(parse_mutated(d, n, 50, b, 4), VEIL_ERR_DCAP_QUOTE_BODY);
    put_u32le(b, 0xffffffffu);
    EXPECT_ERR(parse_mutated(d, n, 50, b, 4), VEIL_ERR_DCAP_QUOTE_BODY);
    free(d);
}

static void test_bad_lengths(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(TDX_V4, &n, &q);
    size_t sig_len_off = q.signed_size;
    size_t cert6_off = sig_len_off + 4 + 128;
    size_t auth_off = offset_of(d, q.qe_auth) - 2;
    size_t cert5_off = offset_of(d, q.pck_chain_pem) - 6;
    uint32_t sig_len = get_u32le(d + sig_len_off);
    uint32_t cert6_len = get_u32le(d + cert6_off + 2);
    uint8_t b[4];

    (void)state;
    put_u32le(b, sig_len + 1);
    EXPECT_ERR(parse_mutated(d, n, sig_len_off, b, 4), VEIL_ERR_PROTO_TRUNCATED);
    put_u32le(b, sig_len - 1);
    EXPECT_FALSE(veil_ok(parse_mutated(d, n, sig_len_off, b, 4)));
    put_u32le(b, 0xffffffffu);
    EXPECT_ERR(parse_mutated(d, n, sig_len_off, b, 4), VEIL_ERR_PROTO_LIMIT);
    put_u16le(b, 5); /* type 5 where the v4 layout wants type 6 */
    EXPECT_ERR(parse_mutated(d, n, cert6_off, b, 2), VEIL_ERR_DCAP_CERT_DATA);
    put_u32le(b, cert6_len - 1);
    EXPECT_FALSE(veil_ok(parse_mutated(d, n, cert6_off + 2, b, 4)));
    put_u32le(b, cert6_len + 1);
    EXPECT_FALSE(veil_ok(parse_mutated(d, n, cert6_off + 2, b, 4)));
    put_u16le(b, 33);
    EXPECT_FALSE(veil_ok(parse_mutated(d, n, auth_off, b, 2)));
    put_u16le(b, 0xffff);
    EXPECT_ERR(parse_mutated(d, n, auth_off, b, 2), VEIL_ERR_PROTO_LIMIT);
    put_u16le(b, 4); /* certification data type 4 (encrypted PPID): not supported */
    EXPECT_ERR(parse_mutated(d, n, cert5_off, b, 2), VEIL_ERR_DCAP_CERT_DATA);
    put_u32le(b, 0);
    EXPECT_FALSE(veil_ok(parse_mutated(d, n, cert5_off + 2, b, 4)));
    free(d);
}

static void test_trailing_bytes(void **state)
{
    struct veil_dcap_quote q;
    size_t n;
    uint8_t *d = load_quote(SGX_V3, &n, &q);
    uint8_t *p = calloc(1, n + 64);

    (void)state;
    memcpy(p, d, n);
    EXPECT_OK(veil_dcap_quote_parse(p, n + 64, &q)); /* zero padding */
    EXPECT_EQ(q.quote_size, n);
    p[n + 63] = 1;
    EXPECT_ERR(veil_dcap_quote_parse(p, n + 64, &q), VEIL_ERR_PROTO_TRAILING);
    p[n + 63] = 0;
    p[n] = 0xff;
    EXPECT_ERR(veil_dcap_quote_parse(p, n + 1, &q), VEIL_ERR_PROTO_TRAILING);
    EXPECT_ERR(veil_dcap_quote_parse(p, VEIL_DCAP_QUOTE_SIZE_MAX + 1, &q), VEIL_ERR_PROTO_LIMIT);
    free(p);
    free(d);
}

VEIL_TEST_MAIN(test_v4_fields, test_v5_fields, test_v3_fields, test_truncated_everywhere,
               test_bad_header, test_bad_v5_body, test_bad_lengths, test_trailing_bytes)
