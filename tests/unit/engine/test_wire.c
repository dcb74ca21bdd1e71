/* The protobuf wire scanner that keeps weight payloads out of protobuf-c (wire.c), the aligned
 * in-place placement, and loading in place vs copying: same outputs, weights borrowed. */
#include <unistd.h>

#include "engine/graph.h"
#include "veil_test.h"

#define N_BIG 300 /* floats in the big initializer: 1200 bytes, above VEIL_PB_STRIP_MIN */

/* Y = Add(Add(X, W), B): W a big raw_data initializer, B a small one (4 floats, kept). */
struct tm {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto nodes[2];
    Onnx__NodeProto *node_ptrs[2];
    char *in0[2];
    char *in1[2];
    char *out0[1];
    char *out1[1];
    Onnx__TensorProto w;
    Onnx__TensorProto b;
    Onnx__TensorProto *inits[2];
    int64_t wdim;
    int64_t bdim;
    float wdata[N_BIG];
    float bdata[N_BIG];
    Onnx__ValueInfoProto x;
    Onnx__ValueInfoProto y;
    Onnx__ValueInfoProto *xs[1];
    Onnx__ValueInfoProto *ys[1];
};

static void tm_init(struct tm *t, size_t b_count)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;

    memset(t, 0, sizeof(*t));
    t->model = m;
    t->graph = g;
    t->opset = o;
    t->opset.has_version = 1;
    t->opset.version = 13;
    t->opset.domain = (char *)"";
    t->opsets[0] = &t->opset;
    t->model.n_opset_import = 1;
    t->model.opset_import = t->opsets;
    t->model.has_ir_version = 1;
    t->model.ir_version = 7;
    t->model.graph = &t->graph;
    t->w = tp;
    t->w.name = (char *)"W";
    t->w.has_data_type = 1;
    t->w.data_type = VEIL_DT_FLOAT;
    t->w.n_dims = 1;
    t->wdim = N_BIG;
    t->w.dims = &t->wdim;
    for (int i = 0; i < N_BIG; i++) {
        t->wdata[i] = 0.5f * (float)i;
        t->bdata[i] = 1000.0f + (float)i;
    }
    t->w.has_raw_data = 1;
    t->w.raw_data.data = (uint8_t *)t->wdata;
    t->w.raw_data.len = sizeof(t->wdata);
    t->b = t->w;
    t->b.name = (char *)"B";
    t->bdim = (int64_t)b_count;
    t->b.dims = &t->bdim;
    t->b.raw_data.data = (uint8_t *)t->bdata;
    t->b.raw_data.len = b_count * sizeof(float);
    t->inits[0] = &t->w;
    t->inits[1] = &t->b;
    t->graph.n_initializer = 2;
    t->graph.initializer = t->inits;
    t->x = vi;
    t->x.name = (char *)"X";
    t->y = vi;
    t->y.name = (char *)"Y";
    t->xs[0] = &t->x;
    t->ys[0] = &t->y;
    t->graph.n_input = 1;
    t->graph.input = t->xs;
    t->graph.n_output = 1;
    t->graph.output = t->ys;
    t->nodes[0] = n;
    t->nodes[1] = n;
    t->in0[0] = (char *)"X";
    t->in0[1] = (char *)"W";
    t->out0[0] = (char *)"T";
    t->in1[0] = (char *)"T";
    t->in1[1] = (char *)"B";
    t->out1[0] = (char *)"Y";
    t->nodes[0].op_type = (char *)"Add";
    t->nodes[0].n_input = 2;
    t->nodes[0].input = t->in0;
    t->nodes[0].n_output = 1;
    t->nodes[0].output = t->out0;
    t->nodes[1].op_type = (char *)"Add";
    t->nodes[1].n_input = 2;
    t->nodes[1].input = t->in1;
    t->nodes[1].n_output = 1;
    t->nodes[1].output = t->out1;
    t->node_ptrs[0] = &t->nodes[0];
    t->node_ptrs[1] = &t->nodes[1];
    t->graph.n_node = 2;
    t->graph.node = t->node_ptrs;
}

/* Packs at buf + shift (buf: 64-aligned, shift bytes of slack before). */
static uint8_t *tm_pack(const struct tm *t, size_t shift, size_t *n, uint8_t **base)
{
    *n = onnx__model_proto__get_packed_size(&t->model);
    *base = aligned_alloc(64, (*n + shift + 63) / 64 * 64);
    assert_non_null(*base);
    assert_int_equal(onnx__model_proto__pack(&t->model, *base + shift), *n);
    return *base + shift;
}

static void test_split_model(void **state)
{
    struct tm t;
    struct veil_pb_split sp;
    uint8_t *base;
    size_t n;
    (void)state;

    tm_init(&t, 4);
    uint8_t *p = tm_pack(&t, 0, &n, &base);
    EXPECT_OK(veil_pb_split_model(p, n, VEIL_PB_STRIP_MIN, &sp));
    EXPECT_EQ(sp.count, 2);
    EXPECT_TRUE(sp.payloads[0].present);
    EXPECT_EQ(sp.payloads[0].len, sizeof(t.wdata));
    EXPECT_TRUE(sp.payloads[0].off + sp.payloads[0].len <= n);
    EXPECT_BYTES_EQ(p + sp.payloads[0].off, t.wdata, sizeof(t.wdata));
    EXPECT_FALSE(sp.payloads[1].present); /* 16 bytes: below VEIL_PB_STRIP_MIN, kept */
    EXPECT_EQ(sp.skeleton_size, n - sizeof(t.wdata) - 3 /* key + 2-byte length */ -
                                    1 /* initializer length 1 byte shorter */ -
                                    1 /* graph length 1 byte shorter */);
    /* the skeleton is the same model without W's raw_data */
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, sp.skeleton_size, sp.skeleton);
    EXPECT_NOT_NULL(mp);
    EXPECT_EQ(mp->graph->n_initializer, 2);
    EXPECT_FALSE(mp->graph->initializer[0]->has_raw_data);
    EXPECT_STR_EQ(mp->graph->initializer[0]->name, "W");
    EXPECT_EQ(mp->graph->initializer[0]->dims[0], N_BIG);
    EXPECT_TRUE(mp->graph->initializer[1]->has_raw_data);
    EXPECT_BYTES_EQ(mp->graph->initializer[1]->raw_data.data, t.bdata, 16);
    EXPECT_EQ(mp->graph->n_node, 2);
    EXPECT_EQ(mp->opset_import[0]->version, 13);
    onnx__model_proto__free_unpacked(mp, NULL);
    veil_pb_split_free(&sp);
    /* min 1: both are left out */
    EXPECT_OK(veil_pb_split_model(p, n, 1, &sp));
    EXPECT_TRUE(sp.payloads[0].present && sp.payloads[1].present);
    EXPECT_TRUE(sp.payloads[0].off < sp.payloads[1].off);
    veil_pb_split_free(&sp);
    free(base);
}

/* Hand-made wire bytes and what veil_pb_split_model must make of them. */
struct split_case {
    const uint8_t *p;
    size_t n;
    int32_t err;
};

/* Splits each case (min 1): the expected code; a success's skeleton no larger than the input; a
 * refusal leaves nothing allocated. */
static void expect_split_cases(const struct split_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct veil_pb_split sp;
        veil_result r = veil_pb_split_model(cases[i].p, cases[i].n, 1, &sp);
        if (r.code != cases[i].err) {
            fail_msg("case %zu: expected %s, got %s", i, veil_error_name(cases[i].err),
                     veil_error_name(r.code));
        }
        if (veil_ok(r)) {
            EXPECT_TRUE(sp.skeleton_size <= cases[i].n);
        } else {
            EXPECT_NULL(sp.skeleton);
            EXPECT_NULL(sp.payloads);
            EXPECT_NULL(sp.attrs);
        }
        veil_pb_split_free(&sp);
    }
}

/* Hand-made wire bytes: truncations, lengths past the end or past the enclosing message, groups,
 * varints too long, huge field numbers, a repeated graph. */
static void test_split_hostile(void **state)
{
    /* ModelProto { graph(7) { initializer(5) { raw_data(9): 3 bytes } } } */
    static const uint8_t ok[] = {0x3a, 0x07, 0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    static const uint8_t graph_past_end[] = {0x3a, 0x08, 0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    static const uint8_t init_past_graph[] = {0x3a, 0x07, 0x2a, 0x06, 0x4a, 0x03, 1, 2, 3, 0x10};
    static const uint8_t raw_past_init[] = {0x3a, 0x07, 0x2a, 0x05, 0x4a, 0x04, 1, 2, 3, 4};
    static const uint8_t truncated_key[] = {0x3a, 0x03, 0x2a, 0x01, 0x80};
    static const uint8_t truncated_len[] = {0x3a, 0x80};
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t over_64_bits[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0x02};
    static const uint8_t huge_len[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t group[] = {0x3a, 0x02, 0x2b, 0x2c};
    static const uint8_t wire6[] = {0x0e};
    static const uint8_t fixed_short[] = {0x09, 1, 2, 3};
    static const uint8_t two_graphs[] = {0x3a, 0x00, 0x3a, 0x00};
    /* field number 2^61 - 1 (length-delimited), then graph */
    static const uint8_t huge_field[] = {0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0x01, 0x01, 0x55, 0x3a, 0x00};
    static const uint8_t graph_not_len[] = {0x38, 0x05};
    static const struct split_case cases[] = {
        {ok, sizeof(ok), VEIL_OK},
        {graph_past_end, sizeof(graph_past_end), VEIL_ERR_ENGINE_MODEL},
        {init_past_graph, sizeof(init_past_graph), VEIL_ERR_ENGINE_MODEL},
        {raw_past_init, sizeof(raw_past_init), VEIL_ERR_ENGINE_MODEL},
        {truncated_key, sizeof(truncated_key), VEIL_ERR_ENGINE_MODEL},
        {truncated_len, sizeof(truncated_len), VEIL_ERR_ENGINE_MODEL},
        {long_varint, sizeof(long_varint), VEIL_ERR_ENGINE_MODEL},
        {over_64_bits, sizeof(over_64_bits), VEIL_ERR_ENGINE_MODEL},
        {huge_len, sizeof(huge_len), VEIL_ERR_ENGINE_MODEL},
        {group, sizeof(group), VEIL_ERR_ENGINE_MODEL},
        {wire6, sizeof(wire6), VEIL_ERR_ENGINE_MODEL},
        {fixed_short, sizeof(fixed_short), VEIL_ERR_ENGINE_MODEL},
        {two_graphs, sizeof(two_graphs), VEIL_ERR_ENGINE_MODEL},
        {huge_field, sizeof(huge_field), VEIL_OK},
        {graph_not_len, sizeof(graph_not_len), VEIL_OK}, /* copied through: protobuf-c decides */
    };
    (void)state;

    expect_split_cases(cases, sizeof(cases) / sizeof(cases[0]));
    /* ok: the payload is bytes 6..8, the skeleton {graph { initializer {} }} */
    struct veil_pb_split sp;
    EXPECT_OK(veil_pb_split_model(ok, sizeof(ok), 1, &sp));
    EXPECT_EQ(sp.count, 1);
    EXPECT_TRUE(sp.payloads[0].present);
    EXPECT_EQ(sp.payloads[0].off, 6);
    EXPECT_EQ(sp.payloads[0].len, 3);
    EXPECT_EQ(sp.skeleton_size, 4);
    EXPECT_BYTES_EQ(sp.skeleton, "\x3a\x02\x2a\x00", 4);
    veil_pb_split_free(&sp);
    /* every truncation of ok fails or, at a field boundary, is a smaller valid message */
    for (size_t cut = 0; cut < sizeof(ok); cut++) {
        veil_result r = veil_pb_split_model(ok, cut, 1, &sp);
        EXPECT_TRUE(cut == 0 ? veil_ok(r) : r.code == VEIL_ERR_ENGINE_MODEL);
        veil_pb_split_free(&sp);
    }
}

/* Two raw_data fields in one tensor: protobuf keeps the last; so does the split. */
static void test_split_last_raw_data_wins(void **state)
{
    /* graph { initializer { raw_data: 3 bytes (big), raw_data: 1 byte (small, min 2) } } */
    static const uint8_t big_then_small[] = {0x3a, 0x0a, 0x2a, 0x08, 0x4a, 0x03,
                                             1,    2,    3,    0x4a, 0x01, 9};
    static const uint8_t small_then_big[] = {0x3a, 0x0a, 0x2a, 0x08, 0x4a, 0x01,
                                             9,    0x4a, 0x03, 1,    2,    3};
    struct veil_pb_split sp;
    (void)state;

    EXPECT_OK(veil_pb_split_model(big_then_small, sizeof(big_then_small), 2, &sp));
    EXPECT_FALSE(sp.payloads[0].present);
    EXPECT_BYTES_EQ(sp.skeleton, "\x3a\x05\x2a\x03\x4a\x01\x09", 7);
    veil_pb_split_free(&sp);
    EXPECT_OK(veil_pb_split_model(small_then_big, sizeof(small_then_big), 2, &sp));
    EXPECT_TRUE(sp.payloads[0].present);
    EXPECT_EQ(sp.payloads[0].off, 9);
    veil_pb_split_free(&sp);
}

static void test_place(void **state)
{
    uint8_t *buf = aligned_alloc(64, 512);
    uint8_t want[100];
    size_t floor = 0;
    (void)state;

    assert_non_null(buf);
    for (size_t i = 0; i < sizeof(want); i++) {
        want[i] = (uint8_t)(i * 7 + 1);
    }
    /* room before it: onto a 64-byte boundary */
    memcpy(buf + 70, want, 100);
    EXPECT_EQ(veil_pb_place(buf, &floor, 70, 100, 4), 64);
    EXPECT_EQ(floor, 164);
    EXPECT_BYTES_EQ(buf + 64, want, 100);
    /* 64 is too far back (below floor 164), 4 is not: onto a 4-byte boundary */
    memcpy(buf + 171, want, 100);
    EXPECT_EQ(veil_pb_place(buf, &floor, 171, 100, 4), 168);
    EXPECT_EQ(floor, 268);
    EXPECT_BYTES_EQ(buf + 168, want, 100);
    /* already aligned: stays */
    floor = 300;
    memcpy(buf + 320, want, 100);
    EXPECT_EQ(veil_pb_place(buf, &floor, 320, 100, 8), 320);
    EXPECT_EQ(floor, 420);
    EXPECT_BYTES_EQ(buf + 320, want, 100);
    /* no room: not moved, floor past it */
    floor = 421;
    memcpy(buf + 421, want, 50);
    EXPECT_EQ(veil_pb_place(buf, &floor, 421, 50, 8), SIZE_MAX);
    EXPECT_EQ(floor, 471);
    EXPECT_BYTES_EQ(buf + 421, want, 50);
    /* aligned to its element size: stays, even with room to reach 64 */
    floor = 0;
    memcpy(buf + 68, want, 100);
    EXPECT_EQ(veil_pb_place(buf, &floor, 68, 100, 4), 68);
    EXPECT_EQ(floor, 168);
    EXPECT_BYTES_EQ(buf + 68, want, 100);
    floor = 471;
    /* one-byte elements always fit */
    EXPECT_EQ(veil_pb_place(buf, &floor, 473, 10, 1), 473);
    free(buf);
}

static void run_add(struct veil_engine_model *m, float *y_out)
{
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    int64_t dim = N_BIG;

    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (int i = 0; i < N_BIG; i++) {
        ((float *)x.data)[i] = 3.0f * (float)i;
    }
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.count, N_BIG);
    memcpy(y_out, y.data, sizeof(float) * N_BIG);
    veil_tensor_free(&x);
    veil_tensor_free(&y);
}

/* The main graph's initializer W or B: its first values, in the model's order (tm_init: W, then
 * B; value names are not kept after loading but the graph's inputs' and outputs'). */
static const struct veil_tensor *init_of(const struct veil_engine_model *m, const char *name)
{
    uint32_t k = strcmp(name, "W") == 0 ? 0 : 1;
    assert_true(k < m->main->value_count);
    assert_int_equal(m->main->values[k].kind, VEIL_VALUE_INITIALIZER);
    return m->main->values[k].init;
}

/* The tensor of input k of g's first op node: a Constant's value is one the graph holds once
 * loaded, like an initializer's (graph.c drop_constant_nodes: the Constant node is gone). */
static const struct veil_tensor *input_held(const struct veil_engine_graph *g, const char *op,
                                            uint32_t k)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *nd = &g->nodes[i];
        EXPECT_TRUE(strcmp(nd->op->name, "Constant") != 0);
        if (strcmp(nd->op->name, op) == 0 && k < nd->in_count && nd->in[k] != VEIL_NO_VALUE) {
            assert_int_equal(g->values[nd->in[k]].kind, VEIL_VALUE_INITIALIZER);
            return g->values[nd->in[k]].init;
        }
    }
    fail_msg("no %s node", op);
    return NULL;
}

/* The ranges of the buffer a model loaded in place still reads (veil_engine_kept_range) are
 * sorted, disjoint and inside it; every other byte is overwritten here with garbage, as veil-serve
 * wipes and releases them: the runs that follow must not notice. Returns the bytes overwritten. */
static size_t garble_unkept(const struct veil_engine_model *m, uint8_t *p, size_t n)
{
    size_t at = 0;
    size_t garbled = 0;
    size_t off;
    size_t len;

    for (size_t i = 0;; i++) {
        bool more = veil_engine_kept_range(m, i, &off, &len);
        size_t from = more ? off : n;
        EXPECT_TRUE(from >= at && (!more || (len > 0 && len <= n - off)));
        if (from > at) {
            memset(p + at, 0xA5, from - at);
            garbled += from - at;
        }
        if (!more) {
            break;
        }
        at = off + len;
    }
    return garbled;
}

/* Does a kept range hold t's bytes? */
static bool kept_holds(const struct veil_engine_model *m, const uint8_t *p, const void *data,
                       size_t size)
{
    size_t off;
    size_t len;
    for (size_t i = 0; veil_engine_kept_range(m, i, &off, &len); i++) {
        if ((const uint8_t *)data >= p + off && (const uint8_t *)data + size <= p + off + len) {
            return true;
        }
    }
    return false;
}

/* Loading in place at every misalignment gives the copying load's outputs; the weights are
 * borrowed from the buffer, aligned, or copied once when they cannot be aligned. */
static void test_load_inplace_same_outputs(void **state)
{
    struct tm t;
    float ref[N_BIG];
    float got[N_BIG];
    struct veil_engine_model *m = NULL;
    uint8_t *base;
    size_t n;
    (void)state;

    tm_init(&t, N_BIG); /* both initializers big */
    uint8_t *p = tm_pack(&t, 0, &n, &base);
    EXPECT_OK(veil_engine_load(p, n, NULL, &m));
    run_add(m, ref);
    for (int i = 0; i < N_BIG; i++) {
        EXPECT_TRUE(ref[i] == 3.0f * (float)i + 0.5f * (float)i + 1000.0f + (float)i);
    }
    EXPECT_FALSE(init_of(m, "W")->borrowed); /* the const load copies once */
    size_t off;
    size_t len;
    EXPECT_FALSE(veil_engine_kept_range(m, 0, &off, &len)); /* and keeps no range */
    veil_engine_free(m);
    free(base);

    for (size_t shift = 0; shift < 16; shift++) {
        p = tm_pack(&t, shift, &n, &base);
        EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
        for (int k = 0; k < 2; k++) {
            const struct veil_tensor *w = init_of(m, k == 0 ? "W" : "B");
            EXPECT_EQ((uintptr_t)w->data % 4, 0);
            if (w->borrowed) {
                EXPECT_TRUE((uint8_t *)w->data >= p && (uint8_t *)w->data + w->size <= p + n);
                EXPECT_TRUE(kept_holds(m, p, w->data, w->size));
            }
        }
        /* W is the first payload, after at least its key and length: always room to align */
        EXPECT_TRUE(init_of(m, "W")->borrowed);
        EXPECT_TRUE(garble_unkept(m, p, n) > 0); /* the structure, names: read no more */
        run_add(m, got);
        EXPECT_BYTES_EQ(got, ref, sizeof(ref));
        veil_engine_free(m);
        free(base);
    }
}

/* veil_engine_load_file borrows the weights from the file's buffer, which the model keeps
 * only when it borrowed something. */
static void test_load_file_borrows(void **state)
{
    char path[] = "/tmp/veil-test-wire-XXXXXX";
    struct tm t;
    float ref[N_BIG];
    float got[N_BIG];
    struct veil_engine_model *m = NULL;
    uint8_t *base;
    size_t n;
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    tm_init(&t, 1); /* B broadcasts */
    uint8_t *p = tm_pack(&t, 0, &n, &base);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    EXPECT_OK(veil_engine_load(p, n, NULL, &m));
    run_add(m, ref);
    veil_engine_free(m);
    EXPECT_OK(veil_engine_load_file(path, NULL, &m));
    EXPECT_TRUE(init_of(m, "W")->borrowed);
    EXPECT_FALSE(init_of(m, "B")->borrowed); /* small: converted from protobuf-c's copy */
    EXPECT_NOT_NULL(m->file.data);
    run_add(m, got);
    EXPECT_BYTES_EQ(got, ref, sizeof(ref));
    veil_engine_free(m);
    /* nothing big: the file's buffer is not kept */
    t.wdim = 4;
    t.w.raw_data.len = 16;
    free(base);
    p = tm_pack(&t, 0, &n, &base);
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, p, n, 0), (ssize_t)n);
    EXPECT_OK(veil_engine_load_file(path, NULL, &m));
    EXPECT_NULL(m->file.data);
    EXPECT_FALSE(init_of(m, "W")->borrowed);
    veil_engine_free(m);
    free(base);
    (void)close(fd);
    (void)unlink(path);
}

/* A Constant node's tensor is decoded once at load (the parsed copy wiped) and every run views
 * it: Y = X + C, C = Constant(value = 300 floats in raw_data). */
static void test_constant_decoded_once(void **state)
{
    struct tm t;
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *ats[1] = {&at};
    char *cin[2] = {(char *)"X", (char *)"C"};
    char *cout[1] = {(char *)"C"};
    struct veil_engine_model *m = NULL;
    float y[N_BIG];
    uint8_t *base;
    size_t n;
    (void)state;

    tm_init(&t, N_BIG);
    t.graph.n_initializer = 0;
    at.name = (char *)"value";
    at.has_type = 1;
    at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    at.t = &t.b;
    t.nodes[0].op_type = (char *)"Constant";
    t.nodes[0].n_input = 0;
    t.nodes[0].n_output = 1;
    t.nodes[0].output = cout;
    t.nodes[0].n_attribute = 1;
    t.nodes[0].attribute = ats;
    t.nodes[1].input = cin;
    uint8_t *p = tm_pack(&t, 0, &n, &base);
    EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
    /* decoded once at load, then shared by every run: a value the graph holds, without an
     * attribute record or a node (graph.c constant_value_only, drop_constant_nodes); the parsed
     * model is gone after loading */
    const struct veil_tensor *c = input_held(m->main, "Add", 1);
    EXPECT_EQ(m->main->node_count, 1);
    EXPECT_NOT_NULL(c->data);
    EXPECT_EQ(c->count, N_BIG);
    EXPECT_NULL(m->proto);
    /* borrowed in place from the model's bytes (the wire scanner left it out of the skeleton) */
    EXPECT_TRUE(c->borrowed);
    EXPECT_TRUE((uint8_t *)c->data >= p && (uint8_t *)c->data + c->size <= p + n);
    EXPECT_EQ((uintptr_t)c->data % 4, 0);
    for (int run = 0; run < 2; run++) {
        run_add(m, y);
        for (int i = 0; i < N_BIG; i++) {
            EXPECT_TRUE(y[i] == 3.0f * (float)i + 1000.0f + (float)i);
        }
    }
    veil_engine_free(m);
    free(base);
}

/* Node attribute tensors (Constant values) of the main graph are left out like initializers:
 * ModelProto { graph { node { attribute { t { data_type, raw_data } } } } }, by hand. */
static void test_split_attribute_tensor(void **state)
{
    /* graph(7) { node(1) { name(3) "n", attribute(5) { name(1) "v", t(5) { data_type(2) 1,
     * raw_data(9) 3 bytes } } } } */
    static const uint8_t ok[] = {0x3a, 0x13, 0x0a, 0x11, 0x1a, 0x01, 'n',  0x2a, 0x0c, 0x0a, 0x01,
                                 'v',  0x2a, 0x07, 0x10, 0x01, 0x4a, 0x03, 1,    2,    3};
    static const uint8_t skel[] = {0x3a, 0x0e, 0x0a, 0x0c, 0x1a, 0x01, 'n',  0x2a,
                                   0x07, 0x0a, 0x01, 'v',  0x2a, 0x02, 0x10, 0x01};
    /* the same with a second t in the attribute: protobuf would merge them */
    static const uint8_t two_t[] = {0x3a, 0x0d, 0x0a, 0x0b, 0x2a, 0x09, 0x2a, 0x02,
                                    0x10, 0x01, 0x2a, 0x03, 0x4a, 0x01, 7};
    /* lengths past the enclosing message at each level */
    static const uint8_t node_past_graph[] = {0x3a, 0x0b, 0x0a, 0x0a, 0x2a, 0x07, 0x2a,
                                              0x05, 0x4a, 0x03, 1,    2,    3};
    static const uint8_t attr_past_node[] = {0x3a, 0x0b, 0x0a, 0x09, 0x2a, 0x08, 0x2a,
                                             0x05, 0x4a, 0x03, 1,    2,    3};
    static const uint8_t t_past_attr[] = {0x3a, 0x0b, 0x0a, 0x09, 0x2a, 0x07, 0x2a,
                                          0x06, 0x4a, 0x03, 1,    2,    3};
    static const uint8_t raw_past_t[] = {0x3a, 0x0b, 0x0a, 0x09, 0x2a, 0x07, 0x2a,
                                         0x05, 0x4a, 0x04, 1,    2,    3};
    /* t and attribute with other wire types: copied through (protobuf-c refuses them) */
    static const uint8_t t_varint[] = {0x3a, 0x06, 0x0a, 0x04, 0x2a, 0x02, 0x28, 0x01};
    static const uint8_t attr_varint[] = {0x3a, 0x04, 0x0a, 0x02, 0x28, 0x01};
    static const uint8_t node_fixed_short[] = {0x3a, 0x04, 0x0a, 0x02, 0x2d, 0x01};
    static const struct split_case cases[] = {
        {two_t, sizeof(two_t), VEIL_ERR_ENGINE_MODEL},
        {node_past_graph, sizeof(node_past_graph), VEIL_ERR_ENGINE_MODEL},
        {attr_past_node, sizeof(attr_past_node), VEIL_ERR_ENGINE_MODEL},
        {t_past_attr, sizeof(t_past_attr), VEIL_ERR_ENGINE_MODEL},
        {raw_past_t, sizeof(raw_past_t), VEIL_ERR_ENGINE_MODEL},
        {t_varint, sizeof(t_varint), VEIL_OK},
        {attr_varint, sizeof(attr_varint), VEIL_OK},
        {node_fixed_short, sizeof(node_fixed_short), VEIL_ERR_ENGINE_MODEL},
    };
    struct veil_pb_split sp;
    (void)state;

    EXPECT_OK(veil_pb_split_model(ok, sizeof(ok), 1, &sp));
    EXPECT_EQ(sp.count, 0);
    EXPECT_EQ(sp.attr_count, 1);
    EXPECT_TRUE(sp.attrs[0].present);
    EXPECT_EQ(sp.attrs[0].off, 18);
    EXPECT_EQ(sp.attrs[0].len, 3);
    EXPECT_EQ(sp.attrs[0].dtype, 1);
    EXPECT_EQ(sp.skeleton_size, sizeof(skel));
    EXPECT_BYTES_EQ(sp.skeleton, skel, sizeof(skel));
    veil_pb_split_free(&sp);
    /* above min: nothing left out, nothing allocated */
    EXPECT_OK(veil_pb_split_model(ok, sizeof(ok), 4, &sp));
    EXPECT_NULL(sp.skeleton);
    EXPECT_NULL(sp.attrs);
    veil_pb_split_free(&sp);
    expect_split_cases(cases, sizeof(cases) / sizeof(cases[0]));
    /* every truncation fails; so does every single-byte change of a length to one more */
    for (size_t cut = 1; cut < sizeof(ok); cut++) {
        EXPECT_ERR(veil_pb_split_model(ok, cut, 1, &sp), VEIL_ERR_ENGINE_MODEL);
        EXPECT_NULL(sp.skeleton);
    }
    static const size_t lens[] = {1, 3, 8, 13, 17};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t bad[sizeof(ok)];
        memcpy(bad, ok, sizeof(ok));
        bad[lens[i]]++;
        EXPECT_ERR(veil_pb_split_model(bad, sizeof(bad), 1, &sp), VEIL_ERR_ENGINE_MODEL);
    }
}

/* The model of test_constant_decoded_once plus an initializer and, on the Add node, a big tensor
 * attribute that is not a Constant's value: payloads of both kinds, in wire order. */
static void constant_model(struct tm *t, Onnx__AttributeProto *at, Onnx__AttributeProto **ats,
                           Onnx__AttributeProto *extra, Onnx__AttributeProto **extras, char **cin,
                           char **cout)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;

    tm_init(t, N_BIG);
    t->graph.n_initializer = 1; /* W (unused) */
    *at = a;
    at->name = (char *)"value";
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    at->t = &t->b;
    ats[0] = at;
    *extra = *at;
    extra->name = (char *)"extra";
    extra->t = &t->w;
    extras[0] = extra;
    cin[0] = (char *)"X";
    cin[1] = (char *)"C";
    cout[0] = (char *)"C";
    t->nodes[0].op_type = (char *)"Constant";
    t->nodes[0].n_input = 0;
    t->nodes[0].n_output = 1;
    t->nodes[0].output = cout;
    t->nodes[0].n_attribute = 1;
    t->nodes[0].attribute = ats;
    t->nodes[1].input = cin;
    t->nodes[1].n_attribute = 1;
    t->nodes[1].attribute = extras;
}

/* Loading in place at every misalignment: the Constant's value is borrowed (aligned), the other
 * attribute tensor is put back into the parsed proto unchanged, the outputs are the copying
 * load's. */
static void test_load_inplace_constant(void **state)
{
    struct tm t;
    Onnx__AttributeProto at;
    Onnx__AttributeProto extra;
    Onnx__AttributeProto *ats[1];
    Onnx__AttributeProto *extras[1];
    char *cin[2];
    char *cout[1];
    struct veil_engine_model *m = NULL;
    struct veil_pb_split sp;
    float ref[N_BIG];
    float got[N_BIG];
    uint8_t *base;
    size_t n;
    (void)state;

    constant_model(&t, &at, ats, &extra, extras, cin, cout);
    uint8_t *p = tm_pack(&t, 0, &n, &base);
    EXPECT_OK(veil_pb_split_model(p, n, VEIL_PB_STRIP_MIN, &sp));
    EXPECT_EQ(sp.count, 1);
    EXPECT_EQ(sp.attr_count, 2);
    EXPECT_TRUE(sp.payloads[0].present && sp.attrs[0].present && sp.attrs[1].present);
    EXPECT_EQ(sp.attrs[0].dtype, VEIL_DT_FLOAT);
    EXPECT_BYTES_EQ(p + sp.attrs[0].off, t.bdata, sizeof(t.bdata));
    EXPECT_BYTES_EQ(p + sp.attrs[1].off, t.wdata, sizeof(t.wdata));
    EXPECT_TRUE(sp.attrs[0].off < sp.attrs[1].off); /* nodes come before initializers here */
    EXPECT_TRUE(sp.attrs[1].off < sp.payloads[0].off);
    veil_pb_split_free(&sp);
    EXPECT_OK(veil_engine_load(p, n, NULL, &m));
    EXPECT_FALSE(input_held(m->main, "Add", 1)->borrowed); /* the const load copies once */
    run_add(m, ref);
    for (int i = 0; i < N_BIG; i++) {
        EXPECT_TRUE(ref[i] == 3.0f * (float)i + 1000.0f + (float)i);
    }
    veil_engine_free(m);
    free(base);
    for (size_t shift = 0; shift < 16; shift++) {
        p = tm_pack(&t, shift, &n, &base);
        EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
        const struct veil_tensor *c = input_held(m->main, "Add", 1);
        EXPECT_TRUE(c->borrowed);
        EXPECT_EQ((uintptr_t)c->data % 4, 0);
        EXPECT_TRUE((uint8_t *)c->data >= p && (uint8_t *)c->data + c->size <= p + n);
        EXPECT_TRUE(init_of(m, "W")->borrowed);
        /* the other attribute tensor is decoded at load too, in place where aligned */
        const struct veil_tensor *e = veil_attr_tensor(&m->main->nodes[0].attrs[0]);
        assert_non_null(e);
        EXPECT_EQ(e->size, sizeof(t.wdata));
        EXPECT_BYTES_EQ(e->data, t.wdata, sizeof(t.wdata));
        EXPECT_TRUE(!e->borrowed || ((uint8_t *)e->data >= p && (uint8_t *)e->data < p + n));
        EXPECT_TRUE(kept_holds(m, p, c->data, c->size));
        EXPECT_TRUE(garble_unkept(m, p, n) > 0);
        run_add(m, got);
        EXPECT_BYTES_EQ(got, ref, sizeof(ref));
        veil_engine_free(m);
        free(base);
    }
    /* a Constant whose value does not match its shape fails in place too (ASan: no leak) */
    t.b.raw_data.len -= 4;
    p = tm_pack(&t, 1, &n, &base);
    m = NULL;
    EXPECT_ERR(veil_engine_load_inplace(p, n, NULL, &m), VEIL_ERR_ENGINE_TENSOR);
    EXPECT_NULL(m);
    free(base);
}

/* A model that fails after some payloads were placed leaves nothing behind (ASan: no leak). */
static void test_load_inplace_failure(void **state)
{
    struct tm t;
    struct veil_engine_model *m = NULL;
    uint8_t *base;
    size_t n;
    (void)state;

    tm_init(&t, N_BIG);
    t.b.raw_data.len -= 4; /* B's size does not match its shape */
    uint8_t *p = tm_pack(&t, 3, &n, &base);
    EXPECT_ERR(veil_engine_load_inplace(p, n, NULL, &m), VEIL_ERR_ENGINE_TENSOR);
    EXPECT_NULL(m);
    free(base);
    p = tm_pack(&t, 3, &n, &base);
    EXPECT_ERR(veil_engine_load(p, n, NULL, &m), VEIL_ERR_ENGINE_TENSOR);
    free(base);
}

/* Bool payloads are normalised to 0/1 in place. */
static void test_load_inplace_bool(void **state)
{
    struct tm t;
    struct veil_engine_model *m = NULL;
    uint8_t *base;
    size_t n;
    (void)state;

    tm_init(&t, N_BIG);
    memset(t.bdata, 7, sizeof(t.bdata));
    t.b.data_type = VEIL_DT_BOOL;
    t.bdim = (int64_t)sizeof(t.bdata);
    t.b.raw_data.len = sizeof(t.bdata);
    uint8_t *p = tm_pack(&t, 1, &n, &base);
    /* types are checked when the model runs, not when it loads */
    EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
    const struct veil_tensor *b = init_of(m, "B");
    EXPECT_TRUE(b->borrowed);
    EXPECT_EQ(b->count, sizeof(t.bdata));
    for (size_t i = 0; i < b->count; i++) {
        EXPECT_EQ(((uint8_t *)b->data)[i], 1);
    }
    veil_engine_free(m);
    free(base);
}

/* Y = Add(If(C, then: X + Wt, else: X + Constant Ce), W): the branches' weights (an initializer
 * of the then-branch, a Constant node's value in the else-branch) are left out of protobuf-c like
 * the main graph's, graph by graph in the order the engine builds the graphs, and borrowed in
 * place; the main graph's W comes after both branches on the wire (nodes before initializers). */
struct tif {
    struct tm t;
    Onnx__GraphProto br[2];
    Onnx__NodeProto bn[2];
    Onnx__NodeProto *bnp[2];
    Onnx__NodeProto *bnp_else[2];
    Onnx__NodeProto cn;
    Onnx__AttributeProto at[2];
    Onnx__AttributeProto *ats[2];
    Onnx__AttributeProto cv;
    Onnx__AttributeProto *cvs[1];
    Onnx__TensorProto wt;
    Onnx__TensorProto *wts[1];
    Onnx__ValueInfoProto bo[2];
    Onnx__ValueInfoProto *bos[2][1];
    Onnx__ValueInfoProto c;
    Onnx__ValueInfoProto *ins[2];
    float wtdata[N_BIG];
    float wdata[N_BIG];
    char *if_in[1];
    char *if_out[1];
    char *add_in[2][2];
    char *add_out[2][1];
    char *c_out[1];
    char *y_in[2];
};

static void tif_init(struct tif *f)
{
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    struct tm *t = &f->t;

    memset(f, 0, sizeof(*f));
    tm_init(t, N_BIG);
    for (int i = 0; i < N_BIG; i++) {
        f->wtdata[i] = 0.5f * (float)i;
        f->wdata[i] = 2.0f + (float)i;
    }
    /* main: T = If(C), Y = Add(T, W); W is the big initializer */
    t->w.raw_data.data = (uint8_t *)f->wdata;
    t->graph.n_initializer = 1;
    f->c = vi;
    f->c.name = (char *)"C";
    f->ins[0] = &t->x;
    f->ins[1] = &f->c;
    t->graph.n_input = 2;
    t->graph.input = f->ins;
    f->if_in[0] = (char *)"C";
    f->if_out[0] = (char *)"T";
    t->nodes[0].op_type = (char *)"If";
    t->nodes[0].n_input = 1;
    t->nodes[0].input = f->if_in;
    t->nodes[0].output = f->if_out;
    f->y_in[0] = (char *)"T";
    f->y_in[1] = (char *)"W";
    t->nodes[1].input = f->y_in;
    for (int b = 0; b < 2; b++) {
        f->br[b] = g;
        f->bo[b] = vi;
        f->bo[b].name = b == 0 ? (char *)"Yt" : (char *)"Ye";
        f->bos[b][0] = &f->bo[b];
        f->br[b].n_output = 1;
        f->br[b].output = f->bos[b];
        f->bn[b] = n;
        f->bn[b].op_type = (char *)"Add";
        f->add_in[b][0] = (char *)"X";
        f->add_in[b][1] = b == 0 ? (char *)"Wt" : (char *)"Ce";
        f->add_out[b][0] = f->bo[b].name;
        f->bn[b].n_input = 2;
        f->bn[b].input = f->add_in[b];
        f->bn[b].n_output = 1;
        f->bn[b].output = f->add_out[b];
        f->at[b] = a;
        f->at[b].name = b == 0 ? (char *)"then_branch" : (char *)"else_branch";
        f->at[b].has_type = 1;
        f->at[b].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
        f->at[b].g = &f->br[b];
        f->ats[b] = &f->at[b];
    }
    t->nodes[0].n_attribute = 2;
    t->nodes[0].attribute = f->ats;
    /* then: Yt = X + Wt (an initializer of the branch) */
    f->wt = t->w;
    f->wt.name = (char *)"Wt";
    f->wt.raw_data.data = (uint8_t *)f->wtdata;
    f->wts[0] = &f->wt;
    f->br[0].n_initializer = 1;
    f->br[0].initializer = f->wts;
    f->bnp[0] = &f->bn[0];
    f->br[0].n_node = 1;
    f->br[0].node = f->bnp;
    /* else: Ce = Constant(B's 300 floats), Ye = X + Ce */
    f->cn = n;
    f->cn.op_type = (char *)"Constant";
    f->c_out[0] = (char *)"Ce";
    f->cn.n_output = 1;
    f->cn.output = f->c_out;
    f->cv = a;
    f->cv.name = (char *)"value";
    f->cv.has_type = 1;
    f->cv.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    f->cv.t = &t->b;
    f->cvs[0] = &f->cv;
    f->cn.n_attribute = 1;
    f->cn.attribute = f->cvs;
    f->bnp_else[0] = &f->cn;
    f->bnp_else[1] = &f->bn[1];
    f->br[1].n_node = 2;
    f->br[1].node = f->bnp_else;
}

static void run_if(struct veil_engine_model *m, bool cond, float *y_out)
{
    struct veil_tensor in[2] = {{0}, {0}};
    struct veil_tensor y = {0};
    int64_t dim = N_BIG;

    EXPECT_OK(veil_tensor_shape(&in[0], VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&in[0]));
    for (int i = 0; i < N_BIG; i++) {
        ((float *)in[0].data)[i] = 3.0f * (float)i;
    }
    EXPECT_OK(veil_tensor_shape(&in[1], VEIL_DT_BOOL, 0, NULL));
    EXPECT_OK(veil_tensor_alloc(&in[1]));
    *(uint8_t *)in[1].data = cond ? 1 : 0;
    EXPECT_OK(veil_engine_run(m, in, &y, NULL));
    EXPECT_EQ(y.count, N_BIG);
    memcpy(y_out, y.data, sizeof(float) * N_BIG);
    veil_tensor_free(&in[0]);
    veil_tensor_free(&in[1]);
    veil_tensor_free(&y);
}

static bool inside(const void *d, size_t size, const uint8_t *p, size_t n)
{
    return (const uint8_t *)d >= p && (const uint8_t *)d + size <= p + n;
}

static void test_split_subgraphs(void **state)
{
    struct tif f;
    struct veil_pb_split sp;
    struct veil_engine_model *m = NULL;
    float ref[2][N_BIG];
    float got[N_BIG];
    uint8_t *base;
    size_t n;
    (void)state;

    tif_init(&f);
    uint8_t *p = tm_pack(&f.t, 0, &n, &base);
    EXPECT_OK(veil_pb_split_model(p, n, VEIL_PB_STRIP_MIN, &sp));
    EXPECT_EQ(sp.graph_count, 3); /* main, then, else */
    EXPECT_EQ(sp.count, 2);
    EXPECT_EQ(sp.graph_first[0], 0);
    EXPECT_EQ(sp.graph_first[1], 1); /* main: W */
    EXPECT_EQ(sp.graph_first[2], 2); /* then: Wt */
    EXPECT_EQ(sp.graph_first[3], 2); /* else: none */
    EXPECT_TRUE(sp.payloads[0].present && sp.payloads[1].present);
    EXPECT_BYTES_EQ(p + sp.payloads[0].off, f.wdata, sizeof(f.wdata));
    EXPECT_BYTES_EQ(p + sp.payloads[1].off, f.wtdata, sizeof(f.wtdata));
    EXPECT_TRUE(sp.payloads[1].off < sp.payloads[0].off); /* the branches come first */
    EXPECT_EQ(sp.attr_count, 1);                          /* the else-branch's Constant */
    EXPECT_TRUE(sp.attrs[0].present);
    EXPECT_BYTES_EQ(p + sp.attrs[0].off, f.t.bdata, sizeof(f.t.bdata));
    /* the prefix scan veil-serve places the model by finds the same first payload, every prefix
     * that reaches its first byte */
    for (size_t cut = 0; cut <= n; cut++) {
        size_t off = SIZE_MAX;
        bool found = veil_engine_first_payload_offset(p, cut, VEIL_PB_STRIP_MIN, &off);
        EXPECT_TRUE(found == (cut >= sp.payloads[1].off));
        EXPECT_TRUE(!found || off == sp.payloads[1].off);
    }
    veil_pb_split_free(&sp);

    /* the copying load is the reference */
    EXPECT_OK(veil_engine_load(p, n, NULL, &m));
    run_if(m, true, ref[0]);
    run_if(m, false, ref[1]);
    for (int i = 0; i < N_BIG; i++) {
        EXPECT_TRUE(ref[0][i] == 3.0f * (float)i + 0.5f * (float)i + 2.0f + (float)i);
        EXPECT_TRUE(ref[1][i] == 3.0f * (float)i + 1000.0f + (float)i + 2.0f + (float)i);
    }
    veil_engine_free(m);
    free(base);

    for (size_t shift = 0; shift < 8; shift++) {
        p = tm_pack(&f.t, shift, &n, &base);
        EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
        const struct veil_engine_node *nif = &m->main->nodes[0];
        const struct veil_engine_graph *then_g = veil_attr_subgraph(&nif->attrs[0]);
        const struct veil_engine_graph *else_g = veil_attr_subgraph(&nif->attrs[1]);
        assert_non_null(then_g);
        assert_non_null(else_g);
        const struct veil_tensor *wt = NULL;
        for (uint32_t v = 0; v < then_g->value_count; v++) {
            if (then_g->values[v].kind == VEIL_VALUE_INITIALIZER) {
                wt = then_g->values[v].init;
            }
        }
        assert_non_null(wt);
        /* the branch's weights are borrowed from the model's bytes, not copied by protobuf-c */
        EXPECT_TRUE(wt->borrowed && inside(wt->data, wt->size, p, n));
        EXPECT_NULL(m->proto); /* freed once built: the branches keep nothing of it */
        const struct veil_tensor *ce = input_held(else_g, "Add", 1);
        EXPECT_TRUE(ce->borrowed);
        EXPECT_TRUE(inside(ce->data, ce->size, p, n));
        EXPECT_TRUE(init_of(m, "W")->borrowed);
        /* a branch's weights and Constant: in kept ranges too */
        EXPECT_TRUE(kept_holds(m, p, wt->data, wt->size));
        EXPECT_TRUE(kept_holds(m, p, ce->data, ce->size));
        EXPECT_TRUE(garble_unkept(m, p, n) > 0);
        for (int b = 0; b < 2; b++) {
            run_if(m, b == 0, got);
            EXPECT_BYTES_EQ(got, ref[b], sizeof(got));
        }
        veil_engine_free(m);
        free(base);
    }
}

/* Wraps buf[0..*n) in a length-delimited field tag (one-byte key); buf has room. */
static void wrap(uint8_t *buf, size_t *n, uint8_t key)
{
    uint8_t hdr[12];
    size_t h = 0;
    size_t len = *n;
    hdr[h++] = key;
    do {
        hdr[h] = (uint8_t)(len & 0x7f);
        len >>= 7;
        hdr[h] |= len != 0 ? 0x80 : 0;
        h++;
    } while (len != 0);
    memmove(buf + h, buf, *n);
    memcpy(buf, hdr, h);
    *n += h;
}

/* depth subgraphs nested below the main graph, the innermost with an initializer's raw_data. */
static size_t nested_model(uint8_t *buf, int depth)
{
    /* initializer(5) { raw_data(9) 3 bytes } */
    static const uint8_t init[] = {0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    size_t n = sizeof(init);
    memcpy(buf, init, n);
    for (int d = 0; d < depth; d++) {
        wrap(buf, &n, 0x32); /* AttributeProto.g (6) */
        wrap(buf, &n, 0x2a); /* NodeProto.attribute (5) */
        wrap(buf, &n, 0x0a); /* GraphProto.node (1) */
    }
    wrap(buf, &n, 0x3a); /* ModelProto.graph (7) */
    return n;
}

/* Subgraphs on the wire: nested as deep as the engine builds them and no deeper, at most one g
 * per attribute, and never a g beside a t (the engine reads t before it builds g, whatever their
 * order on the wire). */
static void test_split_subgraph_hostile(void **state)
{
    /* graph { node { attribute { t { raw_data 1 byte }, g {} } } } and the other order */
    static const uint8_t t_then_g[] = {0x3a, 0x0b, 0x0a, 0x09, 0x2a, 0x07, 0x2a,
                                       0x03, 0x4a, 0x01, 7,    0x32, 0x00};
    static const uint8_t g_then_t[] = {0x3a, 0x0b, 0x0a, 0x09, 0x2a, 0x07, 0x32,
                                       0x00, 0x2a, 0x03, 0x4a, 0x01, 7};
    static const uint8_t two_g[] = {0x3a, 0x08, 0x0a, 0x06, 0x2a, 0x04, 0x32, 0x00, 0x32, 0x00};
    /* g past its attribute */
    static const uint8_t g_past_attr[] = {0x3a, 0x06, 0x0a, 0x04, 0x2a, 0x02, 0x32, 0x01};
    /* g with a graph's fields of the wrong wire type: copied through */
    static const uint8_t g_not_len[] = {0x3a, 0x06, 0x0a, 0x04, 0x2a, 0x02, 0x30, 0x01};
    static const struct split_case cases[] = {
        {t_then_g, sizeof(t_then_g), VEIL_ERR_ENGINE_MODEL},
        {g_then_t, sizeof(g_then_t), VEIL_ERR_ENGINE_MODEL},
        {two_g, sizeof(two_g), VEIL_ERR_ENGINE_MODEL},
        {g_past_attr, sizeof(g_past_attr), VEIL_ERR_ENGINE_MODEL},
        {g_not_len, sizeof(g_not_len), VEIL_OK},
    };
    uint8_t buf[512];
    struct veil_pb_split sp;
    (void)state;

    expect_split_cases(cases, sizeof(cases) / sizeof(cases[0]));
    /* VEIL_ENGINE_DEPTH_MAX deep: split, the payload found in the innermost graph */
    size_t n = nested_model(buf, VEIL_ENGINE_DEPTH_MAX);
    EXPECT_OK(veil_pb_split_model(buf, n, 1, &sp));
    EXPECT_EQ(sp.graph_count, VEIL_ENGINE_DEPTH_MAX + 1);
    EXPECT_EQ(sp.count, 1);
    EXPECT_EQ(sp.graph_first[VEIL_ENGINE_DEPTH_MAX], 0);
    EXPECT_EQ(sp.graph_first[VEIL_ENGINE_DEPTH_MAX + 1], 1);
    EXPECT_TRUE(sp.payloads[0].present);
    EXPECT_BYTES_EQ(buf + sp.payloads[0].off, "\x01\x02\x03", 3);
    veil_pb_split_free(&sp);
    /* one deeper: refused, as the engine would refuse to build it */
    n = nested_model(buf, VEIL_ENGINE_DEPTH_MAX + 1);
    EXPECT_ERR(veil_pb_split_model(buf, n, 1, &sp), VEIL_ERR_ENGINE_LIMIT);
    EXPECT_NULL(sp.skeleton);
    veil_pb_split_free(&sp);
}

/* Y = Add(Add(X, Transpose(W)), Transpose(V)) with W and V the same 300 floats, or with
 * live_w: Y = Add(Add(X, Transpose(W)), W). Both Transposes fold at load. */
struct tdead {
    struct tm t;
    Onnx__NodeProto n[4];
    Onnx__NodeProto *np[4];
    Onnx__TensorProto v;
    Onnx__TensorProto *inits[2];
    char *in[4][2];
    char *out[4][1];
};

static void tdead_init(struct tdead *d, bool live_w)
{
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    static const char *const ops[4] = {"Transpose", "Transpose", "Add", "Add"};
    static const char *const outs[4] = {"T1", "T2", "A", "Y"};

    memset(d, 0, sizeof(*d));
    tm_init(&d->t, N_BIG);
    d->v = d->t.w;
    d->v.name = (char *)"V";
    d->inits[0] = &d->t.w;
    d->inits[1] = &d->v;
    d->t.graph.n_initializer = 2;
    d->t.graph.initializer = d->inits;
    d->in[0][0] = (char *)"W";
    d->in[1][0] = (char *)"V";
    d->in[2][0] = (char *)"X";
    d->in[2][1] = (char *)"T1";
    d->in[3][0] = (char *)"A";
    d->in[3][1] = live_w ? (char *)"W" : (char *)"T2";
    for (int i = 0; i < 4; i++) {
        d->n[i] = n;
        d->n[i].op_type = (char *)ops[i];
        d->n[i].n_input = i < 2 ? 1 : 2;
        d->n[i].input = d->in[i];
        d->out[i][0] = (char *)outs[i];
        d->n[i].n_output = 1;
        d->n[i].output = d->out[i];
        d->np[i] = &d->n[i];
    }
    d->t.graph.n_node = 4;
    d->t.graph.node = d->np;
}

/* The node of tdead_init writing out (T1, T2, A or Y: nodes in that order; value names are not
 * kept after loading). */
static const struct veil_engine_node *node_out(const struct veil_engine_model *m, const char *out)
{
    static const char *const outs[4] = {"T1", "T2", "A", "Y"};
    for (uint32_t i = 0; i < 4 && i < m->main->node_count; i++) {
        if (strcmp(outs[i], out) == 0) {
            return &m->main->nodes[i];
        }
    }
    fail_msg("no node writes %s", out);
    return NULL;
}

/* A folded result is written over the weights it came from when nothing reads them at run time
 * any more, and equal folded results are kept once: same outputs as before, no copy. */
static void test_fold_into_dead_weights(void **state)
{
    struct tdead d;
    struct veil_engine_model *m = NULL;
    float ref[N_BIG];
    float got[N_BIG];
    uint8_t *base;
    size_t n;
    (void)state;

    tdead_init(&d, false);
    uint8_t *p = tm_pack(&d.t, 0, &n, &base);
    /* the copying load owns its weights: the two equal results are kept once */
    EXPECT_OK(veil_engine_load(p, n, NULL, &m));
    run_add(m, ref);
    for (int i = 0; i < N_BIG; i++) {
        EXPECT_TRUE(ref[i] == 3.0f * (float)i + 0.5f * (float)i + 0.5f * (float)i);
    }
    const struct veil_engine_node *t1 = node_out(m, "T1");
    const struct veil_engine_node *t2 = node_out(m, "T2");
    EXPECT_TRUE(t1->has_constant && t2->has_constant);
    EXPECT_TRUE(t1->constant->data == t2->constant->data);
    EXPECT_TRUE(t1->constant->borrowed != t2->constant->borrowed);
    EXPECT_NOT_NULL(init_of(m, "W")->data);
    veil_engine_free(m);
    free(base);

    for (size_t shift = 0; shift < 4; shift++) {
        p = tm_pack(&d.t, shift, &n, &base);
        EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
        t1 = node_out(m, "T1");
        t2 = node_out(m, "T2");
        /* one result, in the bytes of W or V, which no run reads */
        EXPECT_TRUE(t1->constant->borrowed && t2->constant->borrowed);
        EXPECT_TRUE(t1->constant->data == t2->constant->data);
        EXPECT_TRUE(inside(t1->constant->data, t1->constant->size, p, n));
        EXPECT_TRUE(init_of(m, "W")->data == NULL || init_of(m, "V")->data == NULL);
        run_add(m, got);
        EXPECT_BYTES_EQ(got, ref, sizeof(got));
        veil_engine_free(m);
        free(base);
    }

    /* W read at run time too: it stays, and the result is not written over it */
    tdead_init(&d, true);
    p = tm_pack(&d.t, 0, &n, &base);
    EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
    const struct veil_tensor *w = init_of(m, "W");
    t1 = node_out(m, "T1");
    EXPECT_NOT_NULL(w->data);
    EXPECT_TRUE(w->borrowed && inside(w->data, w->size, p, n));
    EXPECT_FALSE(t1->constant->data == w->data);
    run_add(m, got);
    for (int i = 0; i < N_BIG; i++) {
        EXPECT_TRUE(got[i] == 3.0f * (float)i + 0.5f * (float)i + 0.5f * (float)i);
    }
    veil_engine_free(m);
    free(base);
}

/* Across graphs: the main graph's W is read only by a Transpose in the then-branch (folded at
 * load, as Silero's LSTM weights are rearranged inside its If branches): the folded result is
 * written over W. Y = Add(If(C, then: X + Transpose(W), else: X + Ce, or X + W with live_w), X). */
struct tcross {
    struct tif f;
    Onnx__NodeProto tn;
    Onnx__NodeProto *then_nodes[2];
    char *t_in[1];
    char *t_out[1];
    char *y_in[2];
};

static void tcross_init(struct tcross *c, bool live_w)
{
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;

    memset(c, 0, sizeof(*c));
    tif_init(&c->f);
    c->f.br[0].n_initializer = 0;
    c->tn = n;
    c->tn.op_type = (char *)"Transpose";
    c->t_in[0] = (char *)"W";
    c->t_out[0] = (char *)"Tt";
    c->tn.n_input = 1;
    c->tn.input = c->t_in;
    c->tn.n_output = 1;
    c->tn.output = c->t_out;
    c->f.add_in[0][1] = (char *)"Tt";
    c->then_nodes[0] = &c->tn;
    c->then_nodes[1] = &c->f.bn[0];
    c->f.br[0].n_node = 2;
    c->f.br[0].node = c->then_nodes;
    if (live_w) {
        c->f.add_in[1][1] = (char *)"W";
    }
    c->y_in[0] = (char *)"T";
    c->y_in[1] = (char *)"X";
    c->f.t.nodes[1].input = c->y_in;
}

static void test_fold_into_dead_weights_across_graphs(void **state)
{
    struct tcross c;
    struct veil_engine_model *m = NULL;
    float ref[2][N_BIG];
    float got[N_BIG];
    uint8_t *base;
    size_t n;
    (void)state;

    for (int live = 0; live < 2; live++) {
        tcross_init(&c, live == 1);
        uint8_t *p = tm_pack(&c.f.t, 0, &n, &base);
        EXPECT_OK(veil_engine_load(p, n, NULL, &m));
        run_if(m, true, ref[0]);
        run_if(m, false, ref[1]);
        for (int i = 0; i < N_BIG; i++) {
            float w = 2.0f + (float)i;
            EXPECT_TRUE(ref[0][i] == 3.0f * (float)i + w + 3.0f * (float)i);
            EXPECT_TRUE(ref[1][i] ==
                        3.0f * (float)i + (live ? w : 1000.0f + (float)i) + 3.0f * (float)i);
        }
        veil_engine_free(m);
        free(base);

        p = tm_pack(&c.f.t, 1, &n, &base);
        EXPECT_OK(veil_engine_load_inplace(p, n, NULL, &m));
        const struct veil_engine_graph *then_g = veil_attr_subgraph(&m->main->nodes[0].attrs[0]);
        assert_non_null(then_g);
        /* subgraphs settled too: no name table, no spare value slots */
        EXPECT_NULL(then_g->table);
        EXPECT_EQ(then_g->value_cap, then_g->value_count);
        const struct veil_engine_node *tn = NULL;
        for (uint32_t i = 0; i < then_g->node_count; i++) {
            if (strcmp(then_g->nodes[i].op->name, "Transpose") == 0) {
                tn = &then_g->nodes[i];
            }
        }
        assert_non_null(tn);
        EXPECT_TRUE(tn->has_constant);
        const struct veil_tensor *w = init_of(m, "W");
        if (live) {
            /* the else-branch reads W at run time: W stays; the result went over the bytes of
             * the Constant Ce, which nothing reads now */
            EXPECT_NOT_NULL(w->data);
            EXPECT_TRUE(tn->constant->data != w->data);
            EXPECT_TRUE(tn->constant->borrowed);
            const struct veil_engine_graph *else_g =
                veil_attr_subgraph(&m->main->nodes[0].attrs[1]);
            EXPECT_EQ(else_g->node_count, 1); /* the Add: Ce is a value, with no bytes left */
            for (uint32_t v = 0; v < else_g->value_count; v++) {
                if (else_g->values[v].kind == VEIL_VALUE_INITIALIZER) {
                    EXPECT_NULL(else_g->values[v].init->data);
                }
            }
        } else {
            /* nothing runs on W any more: the result took its bytes */
            EXPECT_NULL(w->data);
            EXPECT_TRUE(tn->constant->borrowed);
            EXPECT_TRUE(inside(tn->constant->data, tn->constant->size, p, n));
        }
        /* folded results written over dead weights, in both graphs: in kept ranges too */
        EXPECT_TRUE(kept_holds(m, p, tn->constant->data, tn->constant->size));
        EXPECT_TRUE(garble_unkept(m, p, n) > 0);
        for (int b = 0; b < 2; b++) {
            run_if(m, b == 0, got);
            EXPECT_BYTES_EQ(got, ref[b], sizeof(got));
        }
        veil_engine_free(m);
        free(base);
    }
}

VEIL_TEST_MAIN(test_split_model, test_split_hostile, test_split_last_raw_data_wins, test_place,
               test_load_inplace_same_outputs, test_load_file_borrows, test_constant_decoded_once,
               test_load_inplace_failure, test_load_inplace_bool, test_split_attribute_tensor,
               test_load_inplace_constant, test_split_subgraphs, test_split_subgraph_hostile,
               test_fold_into_dead_weights, test_fold_into_dead_weights_across_graphs)
