/* Inference requests parsed out of the body's evbuffer (request_body.h). */
#include "request_body.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/heap.h"

bool serve_header_length(const char *h, size_t body_size, size_t *json_size)
{
    char *end = NULL;
    unsigned long long v;

    *json_size = body_size;
    if (h == NULL) {
        return true;
    }
    if (h[0] < '0' || h[0] > '9' || strlen(h) > 12) {
        return false;
    }
    errno = 0;
    v = strtoull(h, &end, 10);
    if (errno != 0 || *end != '\0' || v > body_size) {
        return false;
    }
    *json_size = (size_t)v;
    return true;
}

/* The body being read, and from what size a binary input's drained chains are handed back. */
struct ev_body {
    struct evbuffer *b;
    size_t hand_back_min;
};

static size_t ev_left(void *ctx)
{
    return evbuffer_get_length(((struct ev_body *)ctx)->b);
}

/* A tensor this large (veil-serve's M_MMAP_THRESHOLD: it gets a mapping of its own) is moved in
 * 1 MiB slices, and the heap pages of the chains drained so far are handed back after each. */
#define TAKE_SLICE_MIN ((size_t)2 << 20)
#define TAKE_SLICE     ((size_t)1 << 20)
/* A smaller one of at least hand_back_min bytes (from the heap) likewise, in 64 KiB slices. */
#define TAKE_SMALL_SLICE ((size_t)64 << 10)

/* evbuffer_remove copies chain by chain into dst and frees each chain it empties: the bytes
 * move, they are never held twice. But the chains are heap memory (16 KB or so each, as
 * libevent read them), and glibc keeps freed heap pages that are not at the top of the heap
 * (veil-serve's trim threshold, 4 MiB, spares small requests the page faults): without
 * malloc_trim between slices the drained chains would stay resident until the whole tensor was
 * written, and the input would be held twice after all (PaddleOCR det: 4.9 MB). The trims cost
 * time, though (malloc_trim walks every arena, and the next request's chains fault in again):
 * PaddleOCR rec's 217 KB input in 64 KiB slices took 0.16 ms more per request (bench/serve/ab),
 * 0.8% of its inference, to spare 0.2 MB of a 13 MB footprint. So below 2 MiB the caller says
 * from what size it is worth it (serve_request_parse_evbuffer's hand_back_min). */
static bool ev_take(void *ctx, void *dst, size_t n)
{
    const struct ev_body *e = ctx;
    uint8_t *at = dst;
    size_t slice;

    if (n == 0) {
        return true;
    }
    if (n > INT_MAX || n > evbuffer_get_length(e->b)) {
        return false;
    }
    if (n < TAKE_SLICE_MIN && n < e->hand_back_min) {
        return evbuffer_remove(e->b, dst, n) == (int)n;
    }
    slice = n < TAKE_SLICE_MIN ? TAKE_SMALL_SLICE : TAKE_SLICE;
    while (n > 0) {
        size_t k = n < slice ? n : slice;
        if (evbuffer_remove(e->b, at, k) != (int)k) {
            return false;
        }
        at += k;
        n -= k;
        veil_heap_trim();
    }
    return true;
}

veil_result serve_request_parse_evbuffer(struct evbuffer *body, size_t json_size,
                                         size_t tensor_size_max, size_t hand_back_min,
                                         const struct serve_room *room, struct serve_request *req,
                                         char *why, size_t why_size)
{
    struct ev_body e = {body, hand_back_min};
    struct serve_bin_source src = {&e, ev_left, ev_take, room};
    uint8_t *json;
    veil_result r;

    VEIL_ASSERT(json_size <= evbuffer_get_length(body));
    /* The JSON header alone is copied out (json_size <= the body, which the caller bounds):
     * the parser needs it contiguous, and it is drained here, before the tensors are read. */
    json = malloc(json_size > 0 ? json_size : 1);
    if (json == NULL) {
        (void)snprintf(why, why_size, "out of memory");
        return veil_result_of(VEIL_ERR_NOMEM);
    }
    if (json_size > 0 &&
        (json_size > INT_MAX || evbuffer_remove(body, json, json_size) != (int)json_size)) {
        free(json);
        (void)snprintf(why, why_size, "cannot read the request body");
        return veil_result_of(VEIL_ERR_INTERNAL);
    }
    r = serve_request_parse_from(json, json_size, &src, tensor_size_max, req, why, why_size);
    free(json);
    return r;
}
