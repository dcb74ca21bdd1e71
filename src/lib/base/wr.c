/* The capped writer (after curl's dynbuf): grows by doubling, never past max. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"

void veil_wr_init(struct veil_wr *w, size_t max)
{
    VEIL_ASSERT(w != NULL);
    memset(w, 0, sizeof(*w));
    w->max = max;
}

void veil_wr_init_secret(struct veil_wr *w, size_t max)
{
    veil_wr_init(w, max);
    w->secret = 1;
}

void veil_wr_init_fixed(struct veil_wr *w, void *buf, size_t size)
{
    veil_wr_init(w, size);
    w->data = buf;
    w->size = size;
    w->fixed = 1;
}

void veil_wr_reset(struct veil_wr *w)
{
    if (w->secret && w->data != NULL) {
        OPENSSL_cleanse(w->data, w->size);
    }
    w->len = 0;
}

void veil_wr_free(struct veil_wr *w)
{
    veil_wr_reset(w);
    if (!w->fixed) {
        free(w->data);
        w->data = NULL;
        w->size = 0;
    }
}

veil_result veil_wr_reserve(struct veil_wr *w, size_t n)
{
    size_t want;
    size_t cap;
    uint8_t *p;

    ENSURE_REF(w);
    ENSURE(n <= w->max - w->len, VEIL_ERR_PROTO_LIMIT);
    want = w->len + n;
    if (want <= w->size) {
        return VEIL_RESULT_OK;
    }
    ENSURE(!w->fixed, VEIL_ERR_PROTO_LIMIT);
    cap = w->size < 64 ? 64 : w->size;
    while (cap < want) {
        cap = cap > w->max / 2 ? w->max : cap * 2;
    }
    if (cap > w->max) {
        cap = w->max;
    }
    p = malloc(cap);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    if (w->len > 0) {
        memcpy(p, w->data, w->len);
    }
    if (w->data != NULL) {
        /* Moving a secret must not leave a copy behind. */
        if (w->secret) {
            OPENSSL_cleanse(w->data, w->size);
        }
        free(w->data);
    }
    w->data = p;
    w->size = cap;
    return VEIL_RESULT_OK;
}

veil_result veil_wr_bytes(struct veil_wr *w, const void *p, size_t n)
{
    GUARD(veil_wr_reserve(w, n));
    if (n > 0) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT wr_be(struct veil_wr *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    return veil_wr_bytes(w, b, n);
}

static VEIL_RESULT wr_le(struct veil_wr *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return veil_wr_bytes(w, b, n);
}

veil_result veil_wr_u8(struct veil_wr *w, uint8_t v)
{
    return veil_wr_bytes(w, &v, 1);
}

veil_result veil_wr_u16be(struct veil_wr *w, uint16_t v)
{
    return wr_be(w, v, 2);
}

veil_result veil_wr_u32be(struct veil_wr *w, uint32_t v)
{
    return wr_be(w, v, 4);
}

veil_result veil_wr_u64be(struct veil_wr *w, uint64_t v)
{
    return wr_be(w, v, 8);
}

veil_result veil_wr_u16le(struct veil_wr *w, uint16_t v)
{
    return wr_le(w, v, 2);
}

veil_result veil_wr_u32le(struct veil_wr *w, uint32_t v)
{
    return wr_le(w, v, 4);
}

veil_result veil_wr_u64le(struct veil_wr *w, uint64_t v)
{
    return wr_le(w, v, 8);
}

veil_result veil_wr_vec8(struct veil_wr *w, const void *p, size_t n)
{
    ENSURE(n <= UINT8_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_wr_reserve(w, 1 + n));
    GUARD(veil_wr_u8(w, (uint8_t)n));
    return veil_wr_bytes(w, p, n);
}

veil_result veil_wr_vec16(struct veil_wr *w, const void *p, size_t n)
{
    ENSURE(n <= UINT16_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_wr_reserve(w, 2 + n));
    GUARD(veil_wr_u16be(w, (uint16_t)n));
    return veil_wr_bytes(w, p, n);
}

veil_result veil_wr_vec32(struct veil_wr *w, const void *p, size_t n)
{
    ENSURE(n <= UINT32_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_wr_reserve(w, 4 + n));
    GUARD(veil_wr_u32be(w, (uint32_t)n));
    return veil_wr_bytes(w, p, n);
}

veil_result veil_wr_cstr(struct veil_wr *w, const char **out)
{
    GUARD(veil_wr_reserve(w, 1));
    w->data[w->len] = 0;
    *out = (const char *)w->data;
    return VEIL_RESULT_OK;
}
