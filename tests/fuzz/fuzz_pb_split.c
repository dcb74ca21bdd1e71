/* Fuzz target: the wire scanner that keeps weight payloads (initializers, node attribute tensors)
 * out of protobuf-c (wire.c) and its prefix scan for the first payload, then loading in place
 * (payloads moved within the buffer). Any input must split or fail with an error; a split must be
 * consistent (skeleton no bigger than the input, payloads inside it, in increasing order, not
 * overlapping); a prefix scan must find an offset within the input or nothing; loading in place
 * must load or fail, never crash or leak. */
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"
#include "veil_fuzz.h"

static void check_split(const uint8_t *data, size_t size, size_t min)
{
    struct veil_pb_split sp;
    size_t end = 0;

    if (!veil_ok(veil_pb_split_model(data, size, min, &sp))) {
        if (sp.skeleton != NULL || sp.payloads != NULL) {
            abort();
        }
        return;
    }
    if (sp.skeleton_size > size) {
        abort();
    }
    if ((sp.skeleton == NULL) != (sp.payloads == NULL) ||
        (sp.skeleton == NULL) != (sp.attrs == NULL)) {
        abort();
    }
    for (size_t i = 0; i < sp.count; i++) {
        const struct veil_pb_payload *p = &sp.payloads[i];
        if (!p->present) {
            continue;
        }
        if (p->len < min || p->off < end || p->off > size || p->len > size - p->off) {
            abort();
        }
        end = p->off + p->len;
    }
    /* the attribute tensors likewise, and none overlaps an initializer's payload */
    end = 0;
    for (size_t i = 0; i < sp.attr_count; i++) {
        const struct veil_pb_payload *p = &sp.attrs[i];
        if (!p->present) {
            continue;
        }
        if (p->len < min || p->off < end || p->off > size || p->len > size - p->off) {
            abort();
        }
        for (size_t k = 0; k < sp.count; k++) {
            const struct veil_pb_payload *q = &sp.payloads[k];
            if (q->present && p->off < q->off + q->len && q->off < p->off + p->len) {
                abort();
            }
        }
        end = p->off + p->len;
    }
    veil_pb_split_free(&sp);
}

/* The prefix scan (veil_engine_first_payload_offset) on every input as a prefix: an offset within
 * it or nothing; ASan catches any read past it. */
static void check_prefix(const uint8_t *data, size_t size, size_t min)
{
    size_t off = SIZE_MAX;

    if (veil_engine_first_payload_offset(data, size, min, &off) && off > size) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_engine_model *m = NULL;
    uint8_t *copy;

    check_split(data, size, 1);
    check_split(data, size, VEIL_PB_STRIP_MIN);
    check_prefix(data, size, 1);
    check_prefix(data, size, VEIL_PB_STRIP_MIN);
    copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy + 1, data, size); /* misaligned on purpose */
    if (veil_ok(veil_engine_load_inplace(copy + 1, size, NULL, &m))) {
        veil_engine_free(m);
    }
    free(copy);
    return 0;
}
