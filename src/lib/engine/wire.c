/*
 * A bounded protobuf wire scanner that splits a ModelProto into a skeleton (everything but the
 * big weight payloads) and the payloads' ranges, so that protobuf-c never copies the weights.
 * Two paths lead to a payload, TensorProto.raw_data (9), from a graph:
 *   GraphProto.initializer (5) -> TensorProto
 *   GraphProto.node (1) -> NodeProto.attribute (5) -> AttributeProto.t (5) -> TensorProto
 *                        (Constant nodes: PaddleOCR keeps its weights there)
 * and the graphs are ModelProto.graph (7) and, below it, the subgraphs of control-flow nodes:
 *   GraphProto.node (1) -> NodeProto.attribute (5) -> AttributeProto.g (6) -> GraphProto
 *                        (If branches, Loop and Scan bodies: Silero VAD keeps its weights there)
 * at most VEIL_ENGINE_DEPTH_MAX levels below the main graph, as the engine builds them.
 * Only these levels are descended into; every other field is copied through as it is. The
 * skeleton is the same message with those raw_data fields left out and the enclosing lengths
 * rewritten; the payloads stay where they are in the caller's buffer.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/graph.h"

#define FIELD_MODEL_GRAPH       7
#define FIELD_GRAPH_NODE        1
#define FIELD_GRAPH_INITIALIZER 5
#define FIELD_NODE_ATTRIBUTE    5
#define FIELD_ATTRIBUTE_T       5
#define FIELD_ATTRIBUTE_G       6
#define FIELD_TENSOR_DATA_TYPE  2
#define FIELD_TENSOR_RAW_DATA   9
#define WIRE_VARINT             0
#define WIRE_I64                1
#define WIRE_LEN                2
#define WIRE_I32                5
#define VARINT_BYTES_MAX        10

struct span {
    const uint8_t *p;
    size_t left;
};

/* The writer: dst NULL only counts. */
struct out {
    uint8_t *dst;
    size_t len;
};

/* The scan: payloads are recorded (into sp's arrays) only while writing; counting (dst NULL)
 * only counts them. */
struct scan {
    const uint8_t *base;
    size_t min;
    struct veil_pb_split *sp; /* arrays to record into, or NULL */
    size_t inits;             /* initializers seen so far */
    size_t attrs;             /* AttributeProto.t seen so far */
    size_t graphs;            /* graphs entered so far (pre-order: the main graph is 0) */
    uint32_t depth;           /* of the graph being scanned below the main graph */
    /* while writing: each initializer's payload and graph, in wire order */
    struct veil_pb_payload *wire;
    size_t *init_graph;
    struct veil_pb_payload cur; /* the last TensorProto's payload */
};

static VEIL_RESULT get_varint(struct span *s, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < VARINT_BYTES_MAX; i++) {
        ENSURE(s->left > 0, VEIL_ERR_ENGINE_MODEL);
        uint8_t b = *s->p++;
        s->left--;
        if (i == VARINT_BYTES_MAX - 1) {
            ENSURE(b <= 1, VEIL_ERR_ENGINE_MODEL); /* more than 64 bits */
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *v = x;
            return VEIL_RESULT_OK;
        }
    }
    BAIL(VEIL_ERR_ENGINE_MODEL);
}

static void put_bytes(struct out *o, const uint8_t *p, size_t n)
{
    if (o->dst != NULL && n > 0) {
        memcpy(o->dst + o->len, p, n);
    }
    o->len += n;
}

static void put_varint(struct out *o, uint64_t v)
{
    uint8_t b[VARINT_BYTES_MAX];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0) {
            b[n] |= 0x80;
        }
        n++;
    } while (v != 0);
    put_bytes(o, b, n);
}

/* One field of s: its number, wire type, and where its bytes (key included) and, for
 * length-delimited fields, its payload are; varint values in value. */
struct field {
    uint64_t number;
    unsigned wire;
    const uint8_t *start; /* the key */
    size_t size;          /* key to end */
    struct span payload;  /* WIRE_LEN only */
    uint64_t value;       /* WIRE_VARINT only */
};

static VEIL_RESULT next_field(struct span *s, struct field *f)
{
    uint64_t key;
    uint64_t len;

    f->start = s->p;
    GUARD(get_varint(s, &key));
    f->number = key >> 3;
    f->wire = (unsigned)(key & 7);
    f->payload.p = NULL;
    f->payload.left = 0;
    f->value = 0;
    switch (f->wire) {
        case WIRE_VARINT:
            GUARD(get_varint(s, &f->value));
            break;
        case WIRE_I64:
            ENSURE(s->left >= 8, VEIL_ERR_ENGINE_MODEL);
            s->p += 8;
            s->left -= 8;
            break;
        case WIRE_I32:
            ENSURE(s->left >= 4, VEIL_ERR_ENGINE_MODEL);
            s->p += 4;
            s->left -= 4;
            break;
        case WIRE_LEN:
            GUARD(get_varint(s, &len));
            ENSURE(len <= s->left, VEIL_ERR_ENGINE_MODEL);
            f->payload.p = s->p;
            f->payload.left = (size_t)len;
            s->p += len;
            s->left -= (size_t)len;
            break;
        default: /* groups (3, 4) are not used by onnx.proto; 6, 7 do not exist */
            BAIL(VEIL_ERR_ENGINE_MODEL);
    }
    f->size = (size_t)(s->p - f->start);
    return VEIL_RESULT_OK;
}

typedef VEIL_RESULT (*level_fn)(struct scan *sc, struct span s, struct out *o);

/* Writes the length-delimited field f, whose payload fn rewrites, to o: counting needs one pass
 * of fn; writing counts first (for the new length), without recording, then writes. */
static VEIL_RESULT nested(struct scan *sc, const struct field *f, level_fn fn, struct out *o)
{
    struct out count = {NULL, 0};
    struct scan saved = *sc;

    GUARD(fn(sc, f->payload, &count));
    put_varint(o, (f->number << 3) | WIRE_LEN);
    put_varint(o, count.len);
    if (o->dst == NULL) {
        o->len += count.len;
        return VEIL_RESULT_OK;
    }
    *sc = saved;
    size_t at = o->len;
    GUARD(fn(sc, f->payload, o));
    VEIL_ASSERT(o->len - at == count.len);
    return VEIL_RESULT_OK;
}

/* A TensorProto: every raw_data of at least min bytes is left out (the last one is the value,
 * as protobuf merges); sc->cur says whether one was, where (from base) and the data_type. */
static VEIL_RESULT tensor(struct scan *sc, struct span s, struct out *o)
{
    struct veil_pb_payload *pl = &sc->cur;

    memset(pl, 0, sizeof(*pl));
    while (s.left > 0) {
        struct field f;
        GUARD(next_field(&s, &f));
        if (f.number == FIELD_TENSOR_DATA_TYPE && f.wire == WIRE_VARINT) {
            pl->dtype = (int32_t)(uint32_t)f.value; /* as protobuf-c reads an int32 */
        }
        if (f.number == FIELD_TENSOR_RAW_DATA && f.wire == WIRE_LEN && f.payload.left >= sc->min) {
            pl->present = true;
            pl->off = (size_t)(f.payload.p - sc->base);
            pl->len = f.payload.left;
            continue;
        }
        if (f.number == FIELD_TENSOR_RAW_DATA) {
            pl->present = false; /* a later, small raw_data replaces the one left out: keep it */
        }
        put_bytes(o, f.start, f.size);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT graph(struct scan *sc, struct span s, struct out *o);

/* A subgraph (AttributeProto.g), one level deeper. */
static VEIL_RESULT subgraph(struct scan *sc, struct span s, struct out *o)
{
    veil_result r;

    ENSURE(sc->depth < VEIL_ENGINE_DEPTH_MAX, VEIL_ERR_ENGINE_LIMIT); /* as veil_graph_build */
    sc->depth++;
    r = graph(sc, s, o);
    sc->depth--;
    return r;
}

/* An AttributeProto: its tensor t goes to sp->attrs; its subgraph g is scanned as a graph. The
 * engine reads t before it builds g, so an attribute with both is refused (its order on the
 * wire could differ). */
static VEIL_RESULT attribute(struct scan *sc, struct span s, struct out *o)
{
    bool seen = false;
    bool seen_g = false;
    while (s.left > 0) {
        struct field f;
        GUARD(next_field(&s, &f));
        if (f.number == FIELD_ATTRIBUTE_G && f.wire == WIRE_LEN) {
            /* a second g would be merged into the first by protobuf */
            ENSURE(!seen_g && !seen, VEIL_ERR_ENGINE_MODEL);
            seen_g = true;
            GUARD(nested(sc, &f, subgraph, o));
            continue;
        }
        if (f.number != FIELD_ATTRIBUTE_T || f.wire != WIRE_LEN) {
            put_bytes(o, f.start, f.size);
            continue;
        }
        ENSURE(!seen_g, VEIL_ERR_ENGINE_MODEL);
        /* a second t would be merged into the first by protobuf */
        ENSURE(!seen, VEIL_ERR_ENGINE_MODEL);
        seen = true;
        ENSURE(sc->attrs < VEIL_ENGINE_NODE_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
        GUARD(nested(sc, &f, tensor, o));
        if (o->dst != NULL && sc->sp != NULL) {
            sc->sp->attrs[sc->attrs] = sc->cur;
        }
        sc->attrs++;
    }
    return VEIL_RESULT_OK;
}

/* A NodeProto: its attributes. */
static VEIL_RESULT node(struct scan *sc, struct span s, struct out *o)
{
    while (s.left > 0) {
        struct field f;
        GUARD(next_field(&s, &f));
        if (f.number != FIELD_NODE_ATTRIBUTE || f.wire != WIRE_LEN) {
            put_bytes(o, f.start, f.size);
            continue;
        }
        GUARD(nested(sc, &f, attribute, o));
    }
    return VEIL_RESULT_OK;
}

/* A GraphProto: each initializer's payload goes to sp->payloads (and its graph to
 * sc->init_graph), the nodes' tensors to sp->attrs. */
static VEIL_RESULT graph(struct scan *sc, struct span s, struct out *o)
{
    size_t gi = sc->graphs++;

    while (s.left > 0) {
        struct field f;
        GUARD(next_field(&s, &f));
        if (f.wire == WIRE_LEN && f.number == FIELD_GRAPH_NODE) {
            GUARD(nested(sc, &f, node, o));
            continue;
        }
        if (f.number != FIELD_GRAPH_INITIALIZER || f.wire != WIRE_LEN) {
            put_bytes(o, f.start, f.size);
            continue;
        }
        ENSURE(sc->inits < VEIL_ENGINE_NODE_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
        GUARD(nested(sc, &f, tensor, o));
        if (o->dst != NULL && sc->sp != NULL) {
            sc->wire[sc->inits] = sc->cur;
            sc->init_graph[sc->inits] = gi;
        }
        sc->inits++;
    }
    return VEIL_RESULT_OK;
}

/* The ModelProto, written to o. */
static VEIL_RESULT model(struct scan *sc, struct span s, struct out *o)
{
    bool seen = false;
    while (s.left > 0) {
        struct field f;
        GUARD(next_field(&s, &f));
        if (f.number != FIELD_MODEL_GRAPH || f.wire != WIRE_LEN) {
            put_bytes(o, f.start, f.size);
            continue;
        }
        /* a second graph would be merged into the first by protobuf */
        ENSURE(!seen, VEIL_ERR_ENGINE_MODEL);
        seen = true;
        GUARD(nested(sc, &f, graph, o));
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_pb_split_model(const void *data, size_t size, size_t min,
                                struct veil_pb_split *out)
{
    struct out count = {NULL, 0};
    struct out o;
    struct scan sc = {data, min, NULL, 0, 0, 0, 0, NULL, NULL, {false, 0, 0, 0}};
    struct span all = {data, size};
    veil_result r;

    memset(out, 0, sizeof(*out));
    ENSURE(data != NULL || size == 0, VEIL_ERR_USAGE);
    /* walk once to size everything (and refuse malformed wire format), then write */
    GUARD(model(&sc, all, &count));
    VEIL_ASSERT(count.len <= size);
    if (count.len == size) {
        return VEIL_RESULT_OK; /* nothing to leave out: no skeleton, no payloads */
    }
    size_t graphs = sc.graphs;
    size_t *next = NULL;
    sc.wire = calloc(sc.inits > 0 ? sc.inits : 1, sizeof(*sc.wire));
    sc.init_graph = calloc(sc.inits > 0 ? sc.inits : 1, sizeof(*sc.init_graph));
    out->skeleton = malloc(count.len > 0 ? count.len : 1);
    out->payloads = calloc(sc.inits > 0 ? sc.inits : 1, sizeof(*out->payloads));
    out->attrs = calloc(sc.attrs > 0 ? sc.attrs : 1, sizeof(*out->attrs));
    out->graph_first = calloc(graphs + 1, sizeof(*out->graph_first));
    next = calloc(graphs + 1, sizeof(*next));
    if (sc.wire == NULL || sc.init_graph == NULL || out->skeleton == NULL ||
        out->payloads == NULL || out->attrs == NULL || out->graph_first == NULL || next == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out;
    }
    o.dst = out->skeleton;
    o.len = 0;
    sc.sp = out;
    sc.inits = 0;
    sc.attrs = 0;
    sc.graphs = 0;
    r = model(&sc, all, &o);
    if (!veil_ok(r)) {
        goto out;
    }
    VEIL_ASSERT(o.len == count.len && sc.graphs == graphs);
    out->skeleton_size = o.len;
    out->count = sc.inits;
    out->attr_count = sc.attrs;
    out->graph_count = graphs;
    /* graph by graph (pre-order, as the engine builds them), each in wire order */
    for (size_t i = 0; i < sc.inits; i++) {
        out->graph_first[sc.init_graph[i] + 1]++;
    }
    for (size_t g = 0; g < graphs; g++) {
        out->graph_first[g + 1] += out->graph_first[g];
    }
    memcpy(next, out->graph_first, graphs * sizeof(*next));
    for (size_t i = 0; i < sc.inits; i++) {
        out->payloads[next[sc.init_graph[i]]++] = sc.wire[i];
    }
out:
    free(next);
    free(sc.wire);
    free(sc.init_graph);
    if (!veil_ok(r)) {
        veil_pb_split_free(out);
    }
    return r;
}

void veil_pb_split_free(struct veil_pb_split *s)
{
    if (s->skeleton != NULL) {
        OPENSSL_cleanse(s->skeleton, s->skeleton_size);
    }
    free(s->skeleton);
    free(s->payloads);
    free(s->attrs);
    free(s->graph_first);
    memset(s, 0, sizeof(*s));
}

size_t veil_pb_place(uint8_t *buf, size_t *floor, size_t off, size_t len, size_t align)
{
    const size_t wanted[2] = {VEIL_PB_PLACE_ALIGN, align};

    VEIL_ASSERT(align > 0 && (align & (align - 1)) == 0 && align <= VEIL_PB_PLACE_ALIGN);
    VEIL_ASSERT(*floor <= off);
    if ((((uintptr_t)buf + off) & (align - 1)) == 0) {
        *floor = off + len; /* aligned enough already: moving would cost a pass over it */
        return off;
    }
    for (size_t i = 0; i < 2; i++) {
        size_t mis = (size_t)(((uintptr_t)buf + off) & (wanted[i] - 1));
        if (mis <= off - *floor) {
            size_t to = off - mis;
            if (mis > 0) {
                memmove(buf + to, buf + off, len);
            }
            *floor = to + len;
            return to;
        }
    }
    *floor = off + len;
    return SIZE_MAX;
}

static int by_off(const void *a, const void *b)
{
    const struct veil_pb_payload *const *x = a;
    const struct veil_pb_payload *const *y = b;
    return ((*x)->off > (*y)->off) - ((*x)->off < (*y)->off);
}

VEIL_RESULT veil_pb_place_all(uint8_t *buf, struct veil_pb_split *sp)
{
    size_t floor = 0;
    size_t n = 0;
    struct veil_pb_payload **all = calloc(sp->count + sp->attr_count + 1, sizeof(*all));

    ENSURE(all != NULL, VEIL_ERR_NOMEM);
    /* the initializers are grouped by graph: in offset order, every payload comes after the one
     * placed before (payloads never overlap: each is a distinct field of the wire bytes) */
    for (size_t i = 0; i < sp->count; i++) {
        if (sp->payloads[i].present) {
            all[n++] = &sp->payloads[i];
        }
    }
    for (size_t k = 0; k < sp->attr_count; k++) {
        if (sp->attrs[k].present) {
            all[n++] = &sp->attrs[k];
        }
    }
    qsort(all, n, sizeof(*all), by_off);
    for (size_t j = 0; j < n; j++) {
        struct veil_pb_payload *pl = all[j];
        size_t align = veil_dtype_size(pl->dtype);
        if (align == 0 || align > VEIL_PB_PLACE_ALIGN || (align & (align - 1)) != 0) {
            align = 1; /* not a type the engine loads: the tensor will be refused */
        }
        size_t to = veil_pb_place(buf, &floor, pl->off, pl->len, align);
        if (to != SIZE_MAX) {
            pl->off = to;
        }
    }
    free(all);
    return VEIL_RESULT_OK;
}

/* ---- the first payload's offset, from a prefix of a model ---- */

_Static_assert(VEIL_ENGINE_PLACE_ALIGN == VEIL_PB_PLACE_ALIGN, "engine.h and graph.h agree");

enum prefix_level {
    LEVEL_NONE,
    LEVEL_MODEL,
    LEVEL_GRAPH,
    LEVEL_NODE,
    LEVEL_ATTRIBUTE,
    LEVEL_TENSOR,
};

enum prefix_step {
    PREFIX_END,   /* the message ended within the prefix: nothing in it */
    PREFIX_FOUND, /* a payload's first byte */
    PREFIX_STOP,  /* the prefix ended, or the wire format is malformed: give up */
};

struct prefix {
    const uint8_t *p;
    uint64_t avail; /* bytes of the prefix */
    uint64_t min;
    uint64_t off;
};

/* The level that field (number, length-delimited) of a message at level leads to. */
static enum prefix_level prefix_child(enum prefix_level level, uint64_t number)
{
    switch (level) {
        case LEVEL_MODEL:
            return number == FIELD_MODEL_GRAPH ? LEVEL_GRAPH : LEVEL_NONE;
        case LEVEL_GRAPH:
            return number == FIELD_GRAPH_INITIALIZER ? LEVEL_TENSOR
                   : number == FIELD_GRAPH_NODE      ? LEVEL_NODE
                                                     : LEVEL_NONE;
        case LEVEL_NODE:
            return number == FIELD_NODE_ATTRIBUTE ? LEVEL_ATTRIBUTE : LEVEL_NONE;
        case LEVEL_ATTRIBUTE:
            return number == FIELD_ATTRIBUTE_T   ? LEVEL_TENSOR
                   : number == FIELD_ATTRIBUTE_G ? LEVEL_GRAPH
                                                 : LEVEL_NONE;
        default:
            return LEVEL_NONE;
    }
}

/* A varint at *pos, which must end before end (the message's) and within the prefix. */
static bool prefix_varint(const struct prefix *px, uint64_t *pos, uint64_t end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < VARINT_BYTES_MAX; i++) {
        if (*pos >= end || *pos >= px->avail) {
            return false;
        }
        uint8_t b = px->p[(*pos)++];
        if (i == VARINT_BYTES_MAX - 1 && b > 1) {
            return false;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* The message at level from pos to end (its declared end, which may lie past the prefix), in
 * a graph depth subgraphs below the main one. At most five levels deep (model, graph, node,
 * attribute, tensor) plus three per subgraph, at most VEIL_ENGINE_DEPTH_MAX subgraphs (as the
 * split): the recursion is bounded. */
static enum prefix_step prefix_message(struct prefix *px, uint64_t pos, uint64_t end,
                                       enum prefix_level level, uint32_t depth)
{
    while (pos < end) {
        uint64_t key;
        uint64_t v;
        uint64_t len;
        if (!prefix_varint(px, &pos, end, &key)) {
            return PREFIX_STOP;
        }
        switch ((unsigned)(key & 7)) {
            case WIRE_VARINT:
                if (!prefix_varint(px, &pos, end, &v)) {
                    return PREFIX_STOP;
                }
                continue;
            case WIRE_I64:
                len = 8;
                break;
            case WIRE_I32:
                len = 4;
                break;
            case WIRE_LEN:
                if (!prefix_varint(px, &pos, end, &len)) {
                    return PREFIX_STOP;
                }
                break;
            default:
                return PREFIX_STOP;
        }
        if (len > end - pos) {
            return PREFIX_STOP; /* past its message */
        }
        if ((key & 7) == WIRE_LEN) {
            if (level == LEVEL_TENSOR && (key >> 3) == FIELD_TENSOR_RAW_DATA && len >= px->min) {
                px->off = pos;
                return PREFIX_FOUND;
            }
            enum prefix_level child = prefix_child(level, key >> 3);
            uint32_t child_depth = depth + (level == LEVEL_ATTRIBUTE && child == LEVEL_GRAPH);
            if (child_depth > VEIL_ENGINE_DEPTH_MAX) {
                return PREFIX_STOP; /* the split refuses it */
            }
            if (child != LEVEL_NONE) {
                enum prefix_step step = prefix_message(px, pos, pos + len, child, child_depth);
                if (step != PREFIX_END) {
                    return step;
                }
            }
        }
        pos += len;
        if (pos > px->avail) {
            return PREFIX_STOP; /* what follows is not in the prefix */
        }
    }
    return PREFIX_END;
}

bool veil_engine_first_payload_offset(const void *prefix, size_t len, size_t min, size_t *off)
{
    struct prefix px = {prefix, len, min, 0};

    if (prefix == NULL || off == NULL) {
        return false;
    }
    /* the model's own end is not known from a prefix: the prefix's end stops the walk */
    if (prefix_message(&px, 0, UINT64_MAX, LEVEL_MODEL, 0) != PREFIX_FOUND) {
        return false;
    }
    *off = (size_t)px.off;
    return true;
}
