/*
 * The evidence extension (OID 2.23.133.5.4.9): tagged CBOR, after the interoperable RA-TLS
 * format. The structure is checked first with the bounded reader (so that libcbor only ever
 * sees a tag around a byte string, or around a one-element array of a byte string), then decoded
 * with libcbor and checked again.
 */
#include <string.h>

#include <cbor.h>

#include "ratls/ratls.h"

#define CBOR_MAJOR_BSTR  2u
#define CBOR_MAJOR_ARRAY 4u
#define CBOR_MAJOR_TAG   6u

/* One CBOR head: major type and argument; indefinite lengths, reserved values and non-shortest
 * encodings are refused. */
static VEIL_RESULT cbor_head(struct veil_rd *r, unsigned *major, uint64_t *value)
{
    uint8_t b;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t v;
    unsigned ai;

    GUARD(veil_rd_u8(r, &b));
    *major = b >> 5;
    ai = b & 31u;
    if (ai < 24) {
        *value = ai;
        return VEIL_RESULT_OK;
    }
    switch (ai) {
        case 24:
            GUARD(veil_rd_u8(r, &u8));
            v = u8;
            ENSURE(v >= 24, VEIL_ERR_RATLS_EXTENSION);
            break;
        case 25:
            GUARD(veil_rd_u16be(r, &u16));
            v = u16;
            ENSURE(v > UINT8_MAX, VEIL_ERR_RATLS_EXTENSION);
            break;
        case 26:
            GUARD(veil_rd_u32be(r, &u32));
            v = u32;
            ENSURE(v > UINT16_MAX, VEIL_ERR_RATLS_EXTENSION);
            break;
        case 27:
            GUARD(veil_rd_u64be(r, &v));
            ENSURE(v > UINT32_MAX, VEIL_ERR_RATLS_EXTENSION);
            break;
        default: /* 28-30 reserved, 31 indefinite length */
            BAIL(VEIL_ERR_RATLS_EXTENSION);
    }
    *value = v;
    return VEIL_RESULT_OK;
}

static bool tag_of(enum veil_tee tee, uint64_t *tag)
{
    switch (tee) {
        case VEIL_TEE_SNP:
            *tag = VEIL_RATLS_TAG_SNP;
            return true;
        case VEIL_TEE_TDX:
        case VEIL_TEE_SGX:
            *tag = VEIL_RATLS_TAG_INTEL_QUOTE;
            return true;
        case VEIL_TEE_SIM:
            *tag = VEIL_RATLS_TAG_SIM;
            return true;
    }
    return false;
}

/* Checks the shape with the bounded reader; returns the tag and the byte-string length. */
static VEIL_RESULT precheck(const uint8_t *data, size_t n, uint64_t *tag, size_t *ev_size)
{
    struct veil_rd r;
    unsigned major;
    uint64_t v;

    veil_rd_init(&r, data, n);
    if (!veil_ok(cbor_head(&r, &major, tag)) || major != CBOR_MAJOR_TAG) {
        BAIL(VEIL_ERR_RATLS_EXTENSION);
    }
    ENSURE(*tag == VEIL_RATLS_TAG_SNP || *tag == VEIL_RATLS_TAG_SIM ||
               *tag == VEIL_RATLS_TAG_INTEL_QUOTE,
           VEIL_ERR_RATLS_TAG);
    if (*tag == VEIL_RATLS_TAG_INTEL_QUOTE) {
        /* [quote]; the optional claims element of the interoperable format is not supported */
        if (!veil_ok(cbor_head(&r, &major, &v)) || major != CBOR_MAJOR_ARRAY || v != 1) {
            BAIL(VEIL_ERR_RATLS_EXTENSION);
        }
    }
    if (!veil_ok(cbor_head(&r, &major, &v)) || major != CBOR_MAJOR_BSTR) {
        BAIL(VEIL_ERR_RATLS_EXTENSION);
    }
    ENSURE(v > 0 && v <= VEIL_RATLS_EVIDENCE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    ENSURE(v == veil_rd_left(&r), VEIL_ERR_RATLS_EXTENSION);
    *ev_size = (size_t)v;
    return VEIL_RESULT_OK;
}

veil_result veil_ratls_ext_encode(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                  struct veil_wr *out)
{
    cbor_item_t *bstr = NULL;
    cbor_item_t *inner = NULL;
    cbor_item_t *tagged = NULL;
    unsigned char *buf = NULL;
    size_t buf_size = 0;
    size_t len;
    uint64_t tag;
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    ENSURE(tag_of(tee, &tag), VEIL_ERR_USAGE);
    ENSURE(n > 0 && n <= VEIL_RATLS_EVIDENCE_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    bstr = cbor_build_bytestring(evidence, n);
    if (bstr == NULL) {
        goto out;
    }
    if (tag == VEIL_RATLS_TAG_INTEL_QUOTE) {
        inner = cbor_new_definite_array(1);
        if (inner == NULL || !cbor_array_push(inner, bstr)) {
            goto out;
        }
    } else {
        inner = cbor_incref(bstr);
    }
    tagged = cbor_build_tag(tag, inner);
    if (tagged == NULL) {
        goto out;
    }
    len = cbor_serialize_alloc(tagged, &buf, &buf_size);
    if (len == 0) {
        goto out;
    }
    r = veil_wr_bytes(out, buf, len);
out:
    free(buf);
    if (tagged != NULL) {
        cbor_decref(&tagged);
    }
    if (inner != NULL) {
        cbor_decref(&inner);
    }
    if (bstr != NULL) {
        cbor_decref(&bstr);
    }
    return r;
}

/* The TEE of a tag; an Intel quote says itself whether it is SGX or TDX (header tee_type, u32le
 * at offset 4: 0 SGX, 0x81 TDX). */
static VEIL_RESULT intel_tee(uint64_t tag, const uint8_t *ev, size_t n, enum veil_tee *tee)
{
    struct veil_rd r;
    uint32_t tee_type;

    if (tag == VEIL_RATLS_TAG_SNP) {
        *tee = VEIL_TEE_SNP;
        return VEIL_RESULT_OK;
    }
    if (tag == VEIL_RATLS_TAG_SIM) {
        *tee = VEIL_TEE_SIM;
        return VEIL_RESULT_OK;
    }
    veil_rd_init(&r, ev, n);
    GUARD(veil_rd_skip(&r, 4));
    GUARD(veil_rd_u32le(&r, &tee_type));
    ENSURE(tee_type == 0 || tee_type == 0x81, VEIL_ERR_RATLS_TAG);
    *tee = tee_type == 0 ? VEIL_TEE_SGX : VEIL_TEE_TDX;
    return VEIL_RESULT_OK;
}

veil_result veil_ratls_ext_decode(const uint8_t *data, size_t n, enum veil_tee *tee,
                                  struct veil_wr *evidence)
{
    struct cbor_load_result res;
    cbor_item_t *item = NULL;
    cbor_item_t *inner = NULL;
    cbor_item_t *bstr = NULL;
    uint64_t tag = 0;
    size_t ev_size = 0;
    veil_result r;

    ENSURE(data != NULL && n > 0, VEIL_ERR_RATLS_EXTENSION);
    ENSURE(n <= VEIL_RATLS_EXT_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    GUARD(precheck(data, n, &tag, &ev_size));

    r = veil_result_of(VEIL_ERR_RATLS_EXTENSION);
    item = cbor_load(data, n, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != n || !cbor_isa_tag(item) ||
        cbor_tag_value(item) != tag) {
        goto out;
    }
    inner = cbor_tag_item(item);
    if (inner == NULL) {
        goto out;
    }
    if (tag == VEIL_RATLS_TAG_INTEL_QUOTE) {
        if (!cbor_isa_array(inner) || !cbor_array_is_definite(inner) ||
            cbor_array_size(inner) != 1) {
            goto out;
        }
        bstr = cbor_array_get(inner, 0);
    } else {
        bstr = cbor_incref(inner);
    }
    if (bstr == NULL || !cbor_isa_bytestring(bstr) || !cbor_bytestring_is_definite(bstr) ||
        cbor_bytestring_length(bstr) != ev_size) {
        goto out;
    }
    r = intel_tee(tag, cbor_bytestring_handle(bstr), ev_size, tee);
    if (veil_ok(r)) {
        r = veil_wr_bytes(evidence, cbor_bytestring_handle(bstr), ev_size);
    }
out:
    if (bstr != NULL) {
        cbor_decref(&bstr);
    }
    if (inner != NULL) {
        cbor_decref(&inner);
    }
    if (item != NULL) {
        cbor_decref(&item);
    }
    return r;
}
