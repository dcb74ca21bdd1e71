/*
 * Bounded reader and writer (STYLE.md 3.4). All untrusted bytes go through struct veil_rd;
 * parsers do no pointer arithmetic of their own.
 *
 * Reader invariant: off <= size, always. A failed read leaves the cursor where it was.
 * Writer invariant: len <= size <= max. A writer never grows past max; a secret writer is wiped
 * (OPENSSL_cleanse) whenever its memory is released or reset.
 */
#ifndef VEIL_BASE_BUF_H
#define VEIL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"

struct veil_rd {
    const uint8_t *data;
    size_t size;
    size_t off;
};

void veil_rd_init(struct veil_rd *r, const void *data, size_t size);
size_t veil_rd_left(const struct veil_rd *r);
/* Pointer to the unread bytes; valid for veil_rd_left() bytes. */
const uint8_t *veil_rd_ptr(const struct veil_rd *r);

VEIL_RESULT veil_rd_u8(struct veil_rd *r, uint8_t *v);
VEIL_RESULT veil_rd_u16be(struct veil_rd *r, uint16_t *v);
VEIL_RESULT veil_rd_u32be(struct veil_rd *r, uint32_t *v);
VEIL_RESULT veil_rd_u64be(struct veil_rd *r, uint64_t *v);
VEIL_RESULT veil_rd_u16le(struct veil_rd *r, uint16_t *v);
VEIL_RESULT veil_rd_u32le(struct veil_rd *r, uint32_t *v);
VEIL_RESULT veil_rd_u64le(struct veil_rd *r, uint64_t *v);
VEIL_RESULT veil_rd_bytes(struct veil_rd *r, void *out, size_t n);
VEIL_RESULT veil_rd_skip(struct veil_rd *r, size_t n);
/* Zero-copy slice of the next n bytes. */
VEIL_RESULT veil_rd_sub(struct veil_rd *r, size_t n, struct veil_rd *sub);
/* Length-prefixed slices; a length above max is VEIL_ERR_PROTO_LIMIT. */
VEIL_RESULT veil_rd_vec8(struct veil_rd *r, size_t max, struct veil_rd *sub);
VEIL_RESULT veil_rd_vec16(struct veil_rd *r, size_t max, struct veil_rd *sub);
VEIL_RESULT veil_rd_vec32(struct veil_rd *r, size_t max, struct veil_rd *sub);
/* VEIL_ERR_PROTO_TRAILING unless every byte was consumed. */
VEIL_RESULT veil_rd_done(const struct veil_rd *r);

struct veil_wr {
    uint8_t *data;
    size_t size; /* allocated */
    size_t len;  /* written */
    size_t max;  /* hard cap */
    unsigned secret : 1;
    unsigned fixed : 1; /* data is caller-owned and never reallocated */
};

/* A growable writer capped at max bytes. */
void veil_wr_init(struct veil_wr *w, size_t max);
/* Same, for secrets: every release of its memory is wiped first. */
void veil_wr_init_secret(struct veil_wr *w, size_t max);
/* A writer over caller memory (no allocation). */
void veil_wr_init_fixed(struct veil_wr *w, void *buf, size_t size);
/* Releases (and for secret writers wipes) the memory; the writer is empty and reusable. */
void veil_wr_free(struct veil_wr *w);
/* Forgets the content (wiped if secret) but keeps the allocation. */
void veil_wr_reset(struct veil_wr *w);

VEIL_RESULT veil_wr_reserve(struct veil_wr *w, size_t n);
VEIL_RESULT veil_wr_bytes(struct veil_wr *w, const void *p, size_t n);
VEIL_RESULT veil_wr_u8(struct veil_wr *w, uint8_t v);
VEIL_RESULT veil_wr_u16be(struct veil_wr *w, uint16_t v);
VEIL_RESULT veil_wr_u32be(struct veil_wr *w, uint32_t v);
VEIL_RESULT veil_wr_u64be(struct veil_wr *w, uint64_t v);
VEIL_RESULT veil_wr_u16le(struct veil_wr *w, uint16_t v);
VEIL_RESULT veil_wr_u32le(struct veil_wr *w, uint32_t v);
VEIL_RESULT veil_wr_u64le(struct veil_wr *w, uint64_t v);
/* u8/u16be/u32be length prefix, then the bytes; n must fit the prefix. */
VEIL_RESULT veil_wr_vec8(struct veil_wr *w, const void *p, size_t n);
VEIL_RESULT veil_wr_vec16(struct veil_wr *w, const void *p, size_t n);
VEIL_RESULT veil_wr_vec32(struct veil_wr *w, const void *p, size_t n);
/* A NUL-terminated C string view of the content (appends a NUL that len does not count). */
VEIL_RESULT veil_wr_cstr(struct veil_wr *w, const char **out);

/* Big/little endian helpers for fixed buffers. */
void veil_store_u32be(uint8_t *p, uint32_t v);
void veil_store_u64be(uint8_t *p, uint64_t v);
uint64_t veil_load_u64be(const uint8_t *p);

#endif
