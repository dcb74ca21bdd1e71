#include "base/buf.h"
#include "veil_test.h"

static void test_writes_round_trip_through_reader(void **state)
{
    struct veil_wr w;
    struct veil_rd r;
    struct veil_rd sub;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    (void)state;
    veil_wr_init(&w, 1024);
    EXPECT_OK(veil_wr_u16be(&w, 0xbeef));
    EXPECT_OK(veil_wr_u32le(&w, 0x01020304));
    EXPECT_OK(veil_wr_u64be(&w, 0x1122334455667788ull));
    EXPECT_OK(veil_wr_vec16(&w, "hello", 5));
    veil_rd_init(&r, w.data, w.len);
    EXPECT_OK(veil_rd_u16be(&r, &u16));
    EXPECT_EQ(u16, 0xbeef);
    EXPECT_OK(veil_rd_u32le(&r, &u32));
    EXPECT_EQ(u32, 0x01020304);
    EXPECT_OK(veil_rd_u64be(&r, &u64));
    EXPECT_EQ(u64, 0x1122334455667788ull);
    EXPECT_OK(veil_rd_vec16(&r, 5, &sub));
    EXPECT_BYTES_EQ(sub.data, "hello", 5);
    EXPECT_OK(veil_rd_done(&r));
    veil_wr_free(&w);
    EXPECT_NULL(w.data);
}

static void test_cap_is_hard(void **state)
{
    struct veil_wr w;
    uint8_t big[100] = {0};

    (void)state;
    veil_wr_init(&w, 10);
    EXPECT_OK(veil_wr_bytes(&w, big, 10));
    EXPECT_ERR(veil_wr_u8(&w, 1), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(w.len, 10);
    veil_wr_reset(&w);
    EXPECT_ERR(veil_wr_bytes(&w, big, 11), VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(w.len, 0);
    EXPECT_ERR(veil_wr_reserve(&w, SIZE_MAX), VEIL_ERR_PROTO_LIMIT);
    veil_wr_free(&w);
}

static void test_fixed_writer_never_allocates(void **state)
{
    uint8_t buf[4];
    struct veil_wr w;

    (void)state;
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    EXPECT_OK(veil_wr_u32be(&w, 0xdeadbeef));
    EXPECT_ERR(veil_wr_u8(&w, 0), VEIL_ERR_PROTO_LIMIT);
    EXPECT_TRUE(w.data == buf);
    veil_wr_free(&w);
    EXPECT_TRUE(w.data == buf);
    EXPECT_EQ(buf[0], 0xde);
}

static void test_secret_writer_wipes_on_reset(void **state)
{
    struct veil_wr w;
    static const uint8_t zero[32];

    (void)state;
    veil_wr_init_secret(&w, 64);
    EXPECT_OK(veil_wr_bytes(&w, "0123456789abcdef0123456789abcdef", 32));
    veil_wr_reset(&w);
    EXPECT_EQ(w.len, 0);
    EXPECT_BYTES_EQ(w.data, zero, 32);
    veil_wr_free(&w);
}

static void test_vec_prefix_overflow_is_refused(void **state)
{
    struct veil_wr w;
    uint8_t big[300] = {0};

    (void)state;
    veil_wr_init(&w, 1024);
    EXPECT_ERR(veil_wr_vec8(&w, big, 256), VEIL_ERR_USAGE_LIMIT);
    EXPECT_OK(veil_wr_vec8(&w, big, 255));
    EXPECT_EQ(w.len, 256);
    veil_wr_free(&w);
}

VEIL_TEST_MAIN(test_writes_round_trip_through_reader, test_cap_is_hard,
               test_fixed_writer_never_allocates, test_secret_writer_wipes_on_reset,
               test_vec_prefix_overflow_is_refused)
