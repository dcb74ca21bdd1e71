/*
 * The SEV-SNP ATTESTATION_REPORT (SEV-SNP firmware ABI, AMD 56860), read field by field with
 * the bounded reader, all little-endian. Layout (offsets in hex):
 *
 *   000 VERSION u32          004 GUEST_SVN u32       008 POLICY u64
 *   010 FAMILY_ID [16]       020 IMAGE_ID [16]       030 VMPL u32
 *   034 SIGNATURE_ALGO u32   038 CURRENT_TCB u64     040 PLATFORM_INFO u64
 *   048 AUTHOR_KEY_EN:1 MASK_CHIP_KEY:1 SIGNING_KEY:3 reserved:27     04C reserved u32
 *   050 REPORT_DATA [64]     090 MEASUREMENT [48]    0C0 HOST_DATA [32]
 *   0E0 ID_KEY_DIGEST [48]   110 AUTHOR_KEY_DIGEST [48]
 *   140 REPORT_ID [32]       160 REPORT_ID_MA [32]   180 REPORTED_TCB u64
 *   188 v3+: CPUID_FAM_ID u8, CPUID_MOD_ID u8, CPUID_STEP u8; reserved up to 1A0
 *   1A0 CHIP_ID [64]         1E0 COMMITTED_TCB u64
 *   1E8 CURRENT_BUILD, CURRENT_MINOR, CURRENT_MAJOR u8, reserved u8
 *   1EC COMMITTED_BUILD, COMMITTED_MINOR, COMMITTED_MAJOR u8, reserved u8
 *   1F0 LAUNCH_TCB u64
 *   1F8 v5: LAUNCH_MIT_VECTOR u64, 200 CURRENT_MIT_VECTOR u64; reserved up to 2A0
 *   2A0 SIGNATURE: R [72], S [72] (little-endian, zero above byte 48), reserved [368]
 *
 * Version 1 (pre-release firmware, no COMMITTED/LAUNCH TCB) and version 4 are refused.
 */
#include <string.h>

#include "base/buf.h"
#include "verify/snp.h"

#define P384_SCALAR_SIZE 48

/* n bytes that must all be zero (reserved); the cursor moves past them. */
static VEIL_RESULT rd_zero(struct veil_rd *r, size_t n)
{
    struct veil_rd sub;
    uint8_t b = 0;

    GUARD(veil_rd_sub(r, n, &sub));
    while (veil_rd_left(&sub) > 0) {
        uint8_t v;
        GUARD(veil_rd_u8(&sub, &v));
        b |= v;
    }
    ENSURE(b == 0, VEIL_ERR_SNP_RESERVED);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_header(struct veil_rd *r, struct veil_snp_report *o)
{
    uint32_t key_info;

    GUARD(veil_rd_u32le(r, &o->version));
    ENSURE(o->version == 2 || o->version == 3 || o->version == 5, VEIL_ERR_SNP_VERSION);
    GUARD(veil_rd_u32le(r, &o->guest_svn));
    GUARD(veil_rd_u64le(r, &o->policy));
    /* The firmware refuses to launch a guest whose policy has bit 17 clear. */
    ENSURE((o->policy & VEIL_SNP_POLICY_RESERVED_ONE) != 0, VEIL_ERR_SNP_RESERVED);
    GUARD(veil_rd_bytes(r, o->family_id, sizeof(o->family_id)));
    GUARD(veil_rd_bytes(r, o->image_id, sizeof(o->image_id)));
    GUARD(veil_rd_u32le(r, &o->vmpl));
    GUARD(veil_rd_u32le(r, &o->signature_algo));
    ENSURE(o->signature_algo == VEIL_SNP_SIG_ALGO_ECDSA_P384, VEIL_ERR_SNP_SIG_ALGO);
    GUARD(veil_rd_u64le(r, &o->current_tcb));
    GUARD(veil_rd_u64le(r, &o->platform_info));
    GUARD(veil_rd_u32le(r, &key_info));
    ENSURE((key_info >> 5) == 0, VEIL_ERR_SNP_RESERVED);
    o->author_key_en = (key_info & 1u) != 0;
    o->mask_chip_key = (key_info & 2u) != 0;
    o->signing_key = (key_info >> 2) & 7u;
    ENSURE(o->signing_key == VEIL_SNP_KEY_VCEK || o->signing_key == VEIL_SNP_KEY_VLEK ||
               o->signing_key == VEIL_SNP_KEY_NONE,
           VEIL_ERR_SNP_FIELD);
    GUARD(rd_zero(r, 4));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_identity(struct veil_rd *r, struct veil_snp_report *o)
{
    GUARD(veil_rd_bytes(r, o->report_data, sizeof(o->report_data)));
    GUARD(veil_rd_bytes(r, o->measurement, sizeof(o->measurement)));
    GUARD(veil_rd_bytes(r, o->host_data, sizeof(o->host_data)));
    GUARD(veil_rd_bytes(r, o->id_key_digest, sizeof(o->id_key_digest)));
    GUARD(veil_rd_bytes(r, o->author_key_digest, sizeof(o->author_key_digest)));
    GUARD(veil_rd_bytes(r, o->report_id, sizeof(o->report_id)));
    GUARD(veil_rd_bytes(r, o->report_id_ma, sizeof(o->report_id_ma)));
    GUARD(veil_rd_u64le(r, &o->reported_tcb));
    if (o->version >= 3) {
        GUARD(veil_rd_u8(r, &o->cpuid_fam_id));
        GUARD(veil_rd_u8(r, &o->cpuid_mod_id));
        GUARD(veil_rd_u8(r, &o->cpuid_step));
        GUARD(rd_zero(r, 0x1A0 - 0x18B));
    } else {
        GUARD(rd_zero(r, 0x1A0 - 0x188));
    }
    GUARD(veil_rd_bytes(r, o->chip_id, sizeof(o->chip_id)));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_platform(struct veil_rd *r, struct veil_snp_report *o)
{
    GUARD(veil_rd_u64le(r, &o->committed_tcb));
    GUARD(veil_rd_u8(r, &o->current_build));
    GUARD(veil_rd_u8(r, &o->current_minor));
    GUARD(veil_rd_u8(r, &o->current_major));
    GUARD(rd_zero(r, 1));
    GUARD(veil_rd_u8(r, &o->committed_build));
    GUARD(veil_rd_u8(r, &o->committed_minor));
    GUARD(veil_rd_u8(r, &o->committed_major));
    GUARD(rd_zero(r, 1));
    GUARD(veil_rd_u64le(r, &o->launch_tcb));
    if (o->version >= 5) {
        GUARD(veil_rd_u64le(r, &o->launch_mit_vector));
        GUARD(veil_rd_u64le(r, &o->current_mit_vector));
        GUARD(rd_zero(r, VEIL_SNP_SIGNED_SIZE - 0x208));
    } else {
        GUARD(rd_zero(r, VEIL_SNP_SIGNED_SIZE - 0x1F8));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_signature(struct veil_rd *r, struct veil_snp_report *o)
{
    struct veil_rd c;

    /* r and s are P-384 scalars in 72-byte little-endian fields: the top 24 bytes are zero. */
    GUARD(veil_rd_sub(r, VEIL_SNP_SIG_COMPONENT_SIZE, &c));
    GUARD(veil_rd_bytes(&c, o->sig_r, P384_SCALAR_SIZE));
    GUARD(rd_zero(&c, VEIL_SNP_SIG_COMPONENT_SIZE - P384_SCALAR_SIZE));
    GUARD(veil_rd_sub(r, VEIL_SNP_SIG_COMPONENT_SIZE, &c));
    GUARD(veil_rd_bytes(&c, o->sig_s, P384_SCALAR_SIZE));
    GUARD(rd_zero(&c, VEIL_SNP_SIG_COMPONENT_SIZE - P384_SCALAR_SIZE));
    GUARD(
        rd_zero(r, VEIL_SNP_REPORT_SIZE - VEIL_SNP_SIGNED_SIZE - 2 * VEIL_SNP_SIG_COMPONENT_SIZE));
    return VEIL_RESULT_OK;
}

veil_result veil_snp_report_parse(const uint8_t *data, size_t n, struct veil_snp_report *out)
{
    struct veil_snp_report o;
    struct veil_rd r;

    ENSURE_REF(out);
    ENSURE(data != NULL || n == 0, VEIL_ERR_INTERNAL);
    /* Size first: a truncated or extended report is refused before any field is trusted. */
    ENSURE(n == VEIL_SNP_REPORT_SIZE, VEIL_ERR_SNP_SIZE);
    memset(&o, 0, sizeof(o));
    veil_rd_init(&r, data, n);
    GUARD(parse_header(&r, &o));
    GUARD(parse_identity(&r, &o));
    GUARD(parse_platform(&r, &o));
    GUARD(parse_signature(&r, &o));
    GUARD(veil_rd_done(&r));
    *out = o;
    return VEIL_RESULT_OK;
}

void veil_snp_tcb_decode(uint64_t raw, enum veil_snp_product product, struct veil_snp_tcb *out)
{
    uint8_t b[8];

    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(raw >> (8 * i));
    }
    memset(out, 0, sizeof(*out));
    if (product == VEIL_SNP_PRODUCT_TURIN) {
        out->fmc = b[0];
        out->bootloader = b[1];
        out->tee = b[2];
        out->snp = b[3];
    } else {
        out->bootloader = b[0];
        out->tee = b[1];
        out->snp = b[6];
    }
    out->microcode = b[7];
}

enum veil_snp_product veil_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
    /* Family 19h: Milan models 00h-0Fh, Genoa 10h-1Fh (and Bergamo/Siena A0h-AFh);
     * family 1Ah: Turin models 00h-1Fh. */
    if (family == 0x19 && model <= 0x0F) {
        return VEIL_SNP_PRODUCT_MILAN;
    }
    if (family == 0x19 && ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))) {
        return VEIL_SNP_PRODUCT_GENOA;
    }
    if (family == 0x1A && model <= 0x1F) {
        return VEIL_SNP_PRODUCT_TURIN;
    }
    return VEIL_SNP_PRODUCT_UNKNOWN;
}

const char *veil_snp_product_name(enum veil_snp_product p)
{
    switch (p) {
        case VEIL_SNP_PRODUCT_MILAN:
            return "Milan";
        case VEIL_SNP_PRODUCT_GENOA:
            return "Genoa";
        case VEIL_SNP_PRODUCT_TURIN:
            return "Turin";
        case VEIL_SNP_PRODUCT_UNKNOWN:
            break;
    }
    return "unknown";
}
