/* The bounded reader. Each check is written as `n > size - off` so that it cannot overflow. */
#include <string.h>

#include "base/buf.h"

void veil_rd_init(struct veil_rd *r, const void *data, size_t size)
{
    VEIL_ASSERT(r != NULL);
    VEIL_ASSERT(data != NULL || size == 0);
    r->data = data;
    r->size = size;
    r->off = 0;
}

size_t veil_rd_left(const struct veil_rd *r)
{
    return r->size - r->off;
}

const uint8_t *veil_rd_ptr(const struct veil_rd *r)
{
    return r->data != NULL ? r->data + r->off : r->data;
}

static VEIL_RESULT rd_take(struct veil_rd *r, size_t n, const uint8_t **p)
{
    ENSURE_REF(r);
    VEIL_ASSERT(r->off <= r->size);
    ENSURE(n <= r->size - r->off, VEIL_ERR_PROTO_TRUNCATED);
    /* An empty reader may have data == NULL: no arithmetic on it, not even + 0. */
    *p = r->data != NULL ? r->data + r->off : r->data;
    r->off += n;
    return VEIL_RESULT_OK;
}

veil_result veil_rd_bytes(struct veil_rd *r, void *out, size_t n)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, n, &p));
    if (n > 0) {
        memcpy(out, p, n);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_rd_skip(struct veil_rd *r, size_t n)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, n, &p));
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u8(struct veil_rd *r, uint8_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 1, &p));
    *v = p[0];
    return VEIL_RESULT_OK;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

veil_result veil_rd_u16be(struct veil_rd *r, uint16_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 2, &p));
    *v = (uint16_t)load_be(p, 2);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u32be(struct veil_rd *r, uint32_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 4, &p));
    *v = (uint32_t)load_be(p, 4);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u64be(struct veil_rd *r, uint64_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 8, &p));
    *v = load_be(p, 8);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u16le(struct veil_rd *r, uint16_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 2, &p));
    *v = (uint16_t)load_le(p, 2);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u32le(struct veil_rd *r, uint32_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 4, &p));
    *v = (uint32_t)load_le(p, 4);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_u64le(struct veil_rd *r, uint64_t *v)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, 8, &p));
    *v = load_le(p, 8);
    return VEIL_RESULT_OK;
}

veil_result veil_rd_sub(struct veil_rd *r, size_t n, struct veil_rd *sub)
{
    const uint8_t *p = NULL;

    GUARD(rd_take(r, n, &p));
    sub->data = p;
    sub->size = n;
    sub->off = 0;
    return VEIL_RESULT_OK;
}

/* Reads a length prefix and the slice after it; on failure the cursor does not move. */
static VEIL_RESULT rd_vec(struct veil_rd *r, size_t prefix, size_t max, struct veil_rd *sub)
{
    struct veil_rd save = *r;
    uint64_t n = 0;
    const uint8_t *p = NULL;
    veil_result res;

    GUARD(rd_take(r, prefix, &p));
    n = load_be(p, prefix);
    if (n > max) {
        *r = save;
        BAIL(VEIL_ERR_PROTO_LIMIT);
    }
    res = veil_rd_sub(r, (size_t)n, sub);
    if (!veil_ok(res)) {
        *r = save;
        return res;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_rd_vec8(struct veil_rd *r, size_t max, struct veil_rd *sub)
{
    return rd_vec(r, 1, max, sub);
}

veil_result veil_rd_vec16(struct veil_rd *r, size_t max, struct veil_rd *sub)
{
    return rd_vec(r, 2, max, sub);
}

veil_result veil_rd_vec32(struct veil_rd *r, size_t max, struct veil_rd *sub)
{
    return rd_vec(r, 4, max, sub);
}

veil_result veil_rd_done(const struct veil_rd *r)
{
    ENSURE_REF(r);
    ENSURE(r->off == r->size, VEIL_ERR_PROTO_TRAILING);
    return VEIL_RESULT_OK;
}

void veil_store_u32be(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (24 - 8 * i));
    }
}

void veil_store_u64be(uint8_t *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

uint64_t veil_load_u64be(const uint8_t *p)
{
    return load_be(p, 8);
}
