#include "base/buf.h"
#include "veil_test.h"

static const uint8_t msg[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_integers_both_endians(void **state)
{
    struct veil_rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    (void)state;
    veil_rd_init(&r, msg, sizeof(msg));
    EXPECT_OK(veil_rd_u8(&r, &u8));
    EXPECT_EQ(u8, 0x01);
    EXPECT_OK(veil_rd_u16be(&r, &u16));
    EXPECT_EQ(u16, 0x0203);
    EXPECT_OK(veil_rd_u16le(&r, &u16));
    EXPECT_EQ(u16, 0x0504);
    EXPECT_OK(veil_rd_u32be(&r, &u32));
    EXPECT_EQ(u32, 0x06070809);
    EXPECT_OK(veil_rd_done(&r));

    veil_rd_init(&r, msg, sizeof(msg));
    EXPECT_OK(veil_rd_u64be(&r, &u64));
    EXPECT_EQ(u64, 0x0102030405060708ull);
    veil_rd_init(&r, msg, sizeof(msg));
    EXPECT_OK(veil_rd_u64le(&r, &u64));
    EXPECT_EQ(u64, 0x0807060504030201ull);
    veil_rd_init(&r, msg, sizeof(msg));
    EXPECT_OK(veil_rd_u32le(&r, &u32));
    EXPECT_EQ(u32, 0x04030201);
}

static void test_short_read_leaves_cursor(void **state)
{
    struct veil_rd r;
    uint64_t u64;
    uint8_t out[16];

    (void)state;
    veil_rd_init(&r, msg, 7);
    EXPECT_ERR(veil_rd_u64be(&r, &u64), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_EQ(r.off, 0);
    EXPECT_OK(veil_rd_skip(&r, 5));
    EXPECT_ERR(veil_rd_bytes(&r, out, 3), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_EQ(r.off, 5);
    EXPECT_ERR(veil_rd_skip(&r, SIZE_MAX), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_EQ(r.off, 5);
    EXPECT_ERR(veil_rd_done(&r), VEIL_ERR_PROTO_TRAILING);
    EXPECT_EQ(veil_rd_left(&r), 2);
}

static void test_vectors_respect_limits(void **state)
{
    static const uint8_t v16[] = {0x00, 0x03, 'a', 'b', 'c', 0xff};
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x00};
    struct veil_rd r;
    struct veil_rd sub;
    uint8_t b;

    (void)state;
    veil_rd_init(&r, v16, sizeof(v16));
    EXPECT_ERR(veil_rd_vec16(&r, 2, &sub), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(r.off, 0);
    EXPECT_OK(veil_rd_vec16(&r, 3, &sub));
    EXPECT_EQ(sub.size, 3);
    EXPECT_BYTES_EQ(sub.data, "abc", 3);
    EXPECT_OK(veil_rd_u8(&sub, &b));
    EXPECT_EQ(b, 'a');
    EXPECT_ERR(veil_rd_done(&sub), VEIL_ERR_PROTO_TRAILING);
    EXPECT_EQ(veil_rd_left(&r), 1);

    veil_rd_init(&r, huge, sizeof(huge));
    EXPECT_ERR(veil_rd_vec32(&r, SIZE_MAX, &sub), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_EQ(r.off, 0);
    EXPECT_ERR(veil_rd_vec8(&r, 10, &sub), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(r.off, 0);
}

static void test_every_prefix_of_a_message_fails_cleanly(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(msg); n++) {
        struct veil_rd r;
        uint8_t a;
        uint16_t b;
        uint32_t c;
        uint16_t d;
        veil_rd_init(&r, msg, n);
        veil_result res = veil_rd_u8(&r, &a);
        if (veil_ok(res)) {
            res = veil_rd_u16be(&r, &b);
        }
        if (veil_ok(res)) {
            res = veil_rd_u32be(&r, &c);
        }
        if (veil_ok(res)) {
            res = veil_rd_u16be(&r, &d);
        }
        EXPECT_EQ(res.code, VEIL_ERR_PROTO_TRUNCATED);
        EXPECT_TRUE(r.off <= n);
    }
}

static void test_empty_reader_over_null(void **state)
{
    struct veil_rd r;
    struct veil_rd sub;
    uint8_t b;

    (void)state;
    veil_rd_init(&r, NULL, 0);
    EXPECT_OK(veil_rd_bytes(&r, &b, 0));
    EXPECT_OK(veil_rd_sub(&r, 0, &sub));
    EXPECT_OK(veil_rd_skip(&r, 0));
    EXPECT_ERR(veil_rd_u8(&r, &b), VEIL_ERR_PROTO_TRUNCATED);
    EXPECT_NULL(veil_rd_ptr(&r));
    EXPECT_OK(veil_rd_done(&r));
}

VEIL_TEST_MAIN(test_empty_reader_over_null, test_integers_both_endians,
               test_short_read_leaves_cursor, test_vectors_respect_limits,
               test_every_prefix_of_a_message_fails_cleanly)
