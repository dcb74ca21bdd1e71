/* Fuzz target: the wire scanner that keeps weight payloads (initializers, node attribute tensors,
 * of the main graph and its subgraphs) out of protobuf-c (wire.c) and its prefix scan for the first
 * payload, then loading in place (payloads moved within the buffer). Any input must split or fail
 * with an error; a split must be consistent (skeleton no bigger than the input, payloads inside it,
 * each graph's in increasing order, grouped by graph, none overlapping); a prefix scan must find an
 * offset within the input or nothing; loading in place must load or fail, never crash or leak. */
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"
#include "veil_fuzz.h"

static int by_off(const void *a, const void *b)
{
    const struct veil_pb_payload *const *x = a;
    const struct veil_pb_payload *const *y = b;
    return ((*x)->off > (*y)->off) - ((*x)->off < (*y)->off);
}

static void check_split(const uint8_t *data, size_t size, size_t min)
{
    struct veil_pb_split sp;
    const struct veil_pb_payload **all;
    size_t n = 0;
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
        (sp.skeleton == NULL) != (sp.attrs == NULL) ||
        (sp.skeleton == NULL) != (sp.graph_first == NULL)) {
        abort();
    }
    if (sp.skeleton == NULL) {
        return;
    }
    /* the initializers graph by graph: graph_first ascends to count, each graph's in wire order */
    if (sp.graph_count == 0 || sp.graph_first[0] != 0 ||
        sp.graph_first[sp.graph_count] != sp.count) {
        abort();
    }
    for (size_t g = 0; g < sp.graph_count; g++) {
        if (sp.graph_first[g] > sp.graph_first[g + 1]) {
            abort();
        }
        end = 0;
        for (size_t i = sp.graph_first[g]; i < sp.graph_first[g + 1]; i++) {
            const struct veil_pb_payload *p = &sp.payloads[i];
            if (p->present && p->off < end) {
                abort();
            }
            end = p->present ? p->off + p->len : end;
        }
    }
    /* every payload (initializers and attribute tensors) inside the input, none overlapping */
    all = calloc(sp.count + sp.attr_count + 1, sizeof(*all));
    if (all == NULL) {
        veil_pb_split_free(&sp);
        return;
    }
    for (size_t i = 0; i < sp.count; i++) {
        if (sp.payloads[i].present) {
            all[n++] = &sp.payloads[i];
        }
    }
    end = 0;
    for (size_t i = 0; i < sp.attr_count; i++) {
        const struct veil_pb_payload *p = &sp.attrs[i];
        if (p->present) {
            if (p->off < end) { /* in wire order too */
                abort();
            }
            end = p->off + p->len;
            all[n++] = p;
        }
    }
    qsort(all, n, sizeof(*all), by_off);
    end = 0;
    for (size_t i = 0; i < n; i++) {
        const struct veil_pb_payload *p = all[i];
        if (p->len < min || p->off < end || p->off > size || p->len > size - p->off) {
            abort();
        }
        end = p->off + p->len;
    }
    free(all);
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
