/* The extended-report certificate table parser. */
#include "base/buf.h"
#include "veil_test.h"
#include "verify/snp.h"

static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
/* ARK GUID c0b406a4-a803-4952-9743-3fb6014cd0ae in the mixed-endian EFI_GUID layout. */
static const uint8_t ark_guid_mixed[16] = {0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49,
                                           0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
static const uint8_t other_guid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void entry(struct veil_wr *w, const uint8_t *guid, uint32_t off, uint32_t len)
{
    EXPECT_OK(veil_wr_bytes(w, guid, 16));
    EXPECT_OK(veil_wr_u32le(w, off));
    EXPECT_OK(veil_wr_u32le(w, len));
}

static void test_table_entries(void **state)
{
    struct veil_wr w;
    struct veil_snp_cert_entry e[VEIL_SNP_CERT_TABLE_COUNT_MAX];
    size_t n = 0;
    static const uint8_t zero[16] = {0};

    (void)state;
    veil_wr_init(&w, 4096);
    entry(&w, vcek_guid, 96, 3);
    entry(&w, ark_guid_mixed, 99, 2);
    entry(&w, other_guid, 101, 1);
    entry(&w, zero, 0, 0);
    EXPECT_OK(veil_wr_bytes(&w, "vckark!pad", 10));
    EXPECT_OK(veil_snp_cert_table_parse(w.data, w.len, e, &n));
    EXPECT_EQ(n, 3);
    EXPECT_EQ(e[0].kind, VEIL_SNP_CERT_VCEK);
    EXPECT_EQ(e[0].der_size, 3);
    EXPECT_BYTES_EQ(e[0].der, "vck", 3);
    EXPECT_EQ(e[1].kind, VEIL_SNP_CERT_ARK);
    EXPECT_BYTES_EQ(e[1].der, "ar", 2);
    EXPECT_EQ(e[2].kind, VEIL_SNP_CERT_OTHER);
    EXPECT_EQ(e[2].offset, 101);
    veil_wr_free(&w);
}

static void test_table_refusals(void **state)
{
    struct veil_wr w;
    struct veil_snp_cert_entry e[VEIL_SNP_CERT_TABLE_COUNT_MAX];
    size_t n = 0;
    static const uint8_t zero[16] = {0};

    (void)state;
    /* No terminator. */
    veil_wr_init(&w, 1 << 16);
    entry(&w, vcek_guid, 24, 1);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    /* Blob beyond the end. */
    veil_wr_reset(&w);
    entry(&w, vcek_guid, 48, 100);
    entry(&w, zero, 0, 0);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    /* Blob overlapping the entry list (the terminator). */
    veil_wr_reset(&w);
    entry(&w, vcek_guid, 30, 4);
    entry(&w, zero, 0, 0);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    /* Zero-length blob; an offset near UINT32_MAX. */
    veil_wr_reset(&w);
    entry(&w, vcek_guid, 48, 0);
    entry(&w, zero, 0, 0);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    veil_wr_reset(&w);
    entry(&w, vcek_guid, 0xfffffff0u, 0x20);
    entry(&w, zero, 0, 0);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    /* More entries than the limit. */
    veil_wr_reset(&w);
    for (uint32_t i = 0; i <= VEIL_SNP_CERT_TABLE_COUNT_MAX; i++) {
        entry(&w, vcek_guid, 24 * (VEIL_SNP_CERT_TABLE_COUNT_MAX + 2), 1);
    }
    entry(&w, zero, 0, 0);
    EXPECT_OK(veil_wr_u8(&w, 0x30));
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, w.len, e, &n), VEIL_ERR_PROTO_LIMIT);
    EXPECT_ERR(veil_snp_cert_table_parse(w.data, 0, e, &n), VEIL_ERR_SNP_CERT_TABLE);
    veil_wr_free(&w);
}

VEIL_TEST_MAIN(test_table_entries, test_table_refusals)
