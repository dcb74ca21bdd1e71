/* Inference requests parsed out of the body's evbuffer (request_body.h). */
#include "request_body.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static size_t ev_left(void *ctx)
{
    return evbuffer_get_length(ctx);
}

/* A tensor this large (veil-serve's M_MMAP_THRESHOLD: it gets a mapping of its own) is moved in
 * slices, and the heap pages of the chains drained so far are handed back after each. */
#define TAKE_SLICE_MIN ((size_t)2 << 20)
#define TAKE_SLICE     ((size_t)1 << 20)
/* A smaller one of this size and more (from the heap) likewise, in smaller slices: PaddleOCR cls's
 * 111 KB input was otherwise held twice (the drained chains and the tensor), ~0.15 MB of its served
 * peak, for ~13 us more per request (two malloc_trim, and the next request's chains fault in). */
#define TAKE_SMALL_MIN   ((size_t)64 << 10)
#define TAKE_SMALL_SLICE ((size_t)64 << 10)

/* evbuffer_remove copies chain by chain into dst and frees each chain it empties: the bytes
 * move, they are never held twice. But the chains are heap memory (16 KB or so each, as
 * libevent read them), and glibc keeps freed heap pages that are not at the top of the heap
 * (veil-serve's trim threshold, 4 MiB, spares small requests the page faults): without
 * malloc_trim between slices the drained chains would stay resident until the whole tensor was
 * written, and the input would be held twice after all (PaddleOCR det: 4.9 MB). */
static bool ev_take(void *ctx, void *dst, size_t n)
{
    uint8_t *at = dst;
    size_t slice;

    if (n == 0) {
        return true;
    }
    if (n > INT_MAX || n > evbuffer_get_length(ctx)) {
        return false;
    }
    if (n < TAKE_SMALL_MIN) {
        return evbuffer_remove(ctx, dst, n) == (int)n;
    }
    slice = n < TAKE_SLICE_MIN ? TAKE_SMALL_SLICE : TAKE_SLICE;
    while (n > 0) {
        size_t k = n < slice ? n : slice;
        if (evbuffer_remove(ctx, at, k) != (int)k) {
            return false;
        }
        at += k;
        n -= k;
#ifdef __GLIBC__
        (void)malloc_trim(0);
#endif
    }
    return true;
}

veil_result serve_request_parse_evbuffer(struct evbuffer *body, size_t json_size,
                                         size_t tensor_size_max, struct serve_request *req,
                                         char *why, size_t why_size)
{
    struct serve_bin_source src = {body, ev_left, ev_take};
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
