/*
 * The SNP extended-report certificate table (GHCB specification 56421, "SNP Extended Guest
 * Request"; the layout go-sev-guest and the Linux sev-guest driver hand out):
 *
 *   entry[i] = GUID [16], OFFSET u32le, LENGTH u32le     (24 bytes each)
 *   entry[k] = 24 zero bytes                             (terminator)
 *   certificate bytes at table + OFFSET, LENGTH bytes each (DER)
 *
 * GUIDs are accepted in both byte orders (RFC 4122 big-endian, as go-sev-guest writes them, and
 * the mixed-endian EFI_GUID layout that firmware structures use).
 */
#include <string.h>

#include "base/buf.h"
#include "verify/snp.h"

#define GUID_SIZE  16
#define ENTRY_SIZE (GUID_SIZE + 8)

struct guid_kind {
    uint8_t guid[GUID_SIZE]; /* RFC 4122 byte order */
    enum veil_snp_cert_kind kind;
};

static const struct guid_kind known_guids[] = {
    /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     VEIL_SNP_CERT_ARK},
    /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     VEIL_SNP_CERT_ASK},
    /* 63da758d-e664-4564-adc5-f4b93be8accd */
    {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     VEIL_SNP_CERT_VCEK},
    /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     VEIL_SNP_CERT_VLEK},
};

/* The EFI_GUID layout of an RFC 4122 GUID: the first three fields byte-swapped. */
static void guid_mixed(const uint8_t *in, uint8_t *out)
{
    static const uint8_t order[GUID_SIZE] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

    for (size_t i = 0; i < GUID_SIZE; i++) {
        out[i] = in[order[i]];
    }
}

static enum veil_snp_cert_kind guid_kind(const uint8_t *guid)
{
    uint8_t mixed[GUID_SIZE];

    for (size_t i = 0; i < sizeof(known_guids) / sizeof(known_guids[0]); i++) {
        guid_mixed(known_guids[i].guid, mixed);
        if (memcmp(guid, known_guids[i].guid, GUID_SIZE) == 0 ||
            memcmp(guid, mixed, GUID_SIZE) == 0) {
            return known_guids[i].kind;
        }
    }
    return VEIL_SNP_CERT_OTHER;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t b = 0;

    for (size_t i = 0; i < n; i++) {
        b |= p[i];
    }
    return b == 0;
}

veil_result veil_snp_cert_table_parse(const uint8_t *data, size_t n,
                                      struct veil_snp_cert_entry *entries, size_t *count)
{
    struct veil_rd r;
    size_t k = 0;

    ENSURE_REF(entries);
    ENSURE_REF(count);
    ENSURE(data != NULL && n > 0, VEIL_ERR_SNP_CERT_TABLE);
    ENSURE(n <= VEIL_SNP_CERT_TABLE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    veil_rd_init(&r, data, n);
    for (;;) {
        uint8_t guid[GUID_SIZE];
        uint32_t off = 0;
        uint32_t len = 0;
        struct veil_rd whole;
        struct veil_rd blob;

        ENSURE(veil_ok(veil_rd_bytes(&r, guid, sizeof(guid))), VEIL_ERR_SNP_CERT_TABLE);
        ENSURE(veil_ok(veil_rd_u32le(&r, &off)), VEIL_ERR_SNP_CERT_TABLE);
        ENSURE(veil_ok(veil_rd_u32le(&r, &len)), VEIL_ERR_SNP_CERT_TABLE);
        if (all_zero(guid, sizeof(guid)) && off == 0 && len == 0) {
            break;
        }
        ENSURE(k < VEIL_SNP_CERT_TABLE_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
        /* The blob lies after the entry list and inside the table. */
        ENSURE(len > 0 && off >= r.off + ENTRY_SIZE, VEIL_ERR_SNP_CERT_TABLE);
        veil_rd_init(&whole, data, n);
        ENSURE(veil_ok(veil_rd_skip(&whole, off)), VEIL_ERR_SNP_CERT_TABLE);
        ENSURE(veil_ok(veil_rd_sub(&whole, len, &blob)), VEIL_ERR_SNP_CERT_TABLE);
        entries[k].kind = guid_kind(guid);
        entries[k].der = veil_rd_ptr(&blob);
        entries[k].der_size = veil_rd_left(&blob);
        entries[k].offset = off;
        k++;
    }
    /* The terminator must precede every blob (checked per entry above, with the entry count
     * known only now: re-check against the final list end). */
    for (size_t i = 0; i < k; i++) {
        ENSURE(entries[i].offset >= r.off, VEIL_ERR_SNP_CERT_TABLE);
    }
    *count = k;
    return VEIL_RESULT_OK;
}
