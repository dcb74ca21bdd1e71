/* veil_engine_first_payload_offset (wire.c): where the first weight payload starts, from a prefix
 * of a model's bytes, as veil-serve uses it to place the model so that the payload lands aligned.
 * Every prefix of a real model either finds the offset the full split finds or nothing; hostile
 * bytes never read past the prefix (each prefix is copied into an allocation of its exact size,
 * so ASan sees any overread). */
#include <openssl/rand.h>

#include "engine/graph.h"
#include "veil_test.h"

#define N_BIG 300 /* floats: 1200 bytes */

/* Scans an exact-size copy of p[0..n). */
static bool scan(const uint8_t *p, size_t n, size_t min, size_t *off)
{
    uint8_t *copy = malloc(n > 0 ? n : 1);
    bool found;

    assert_non_null(copy);
    if (n > 0) {
        memcpy(copy, p, n);
    }
    *off = SIZE_MAX;
    found = veil_engine_first_payload_offset(copy, n, min, off);
    free(copy);
    if (found) {
        EXPECT_TRUE(*off <= n);
    } else {
        EXPECT_EQ(*off, SIZE_MAX); /* untouched */
    }
    return found;
}

/* Every prefix of p: not found before want, found at want from then on. */
static void every_prefix(const uint8_t *p, size_t n, size_t min, size_t want)
{
    for (size_t cut = 0; cut <= n; cut++) {
        size_t off;
        bool found = scan(p, cut, min, &off);
        if (found != (cut >= want) || (found && off != want)) {
            fail_msg("cut %zu of %zu: found %d at %zu, expected from %zu", cut, n, found, off,
                     want);
        }
    }
}

/* A model: opset, a graph with a name, an Add node (or a Constant whose value holds the big
 * tensor), then a small initializer B (16 bytes) and the big one W. */
static uint8_t *make_model(bool constant, size_t *n)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *os[1] = {&o};
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
    Onnx__NodeProto *nodes[1] = {&node};
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *ats[1] = {&at};
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT;
    Onnx__TensorProto b = ONNX__TENSOR_PROTO__INIT;
    Onnx__TensorProto *inits[2] = {&b, &w};
    static float wdata[N_BIG];
    static float bdata[4] = {1, 2, 3, 4};
    int64_t wdim = N_BIG;
    int64_t bdim = 4;
    char *in[2] = {(char *)"X", (char *)"W"};
    char *out[1] = {(char *)"Y"};
    uint8_t *p;

    for (int i = 0; i < N_BIG; i++) {
        wdata[i] = (float)i;
    }
    o.has_version = 1;
    o.version = 13;
    o.domain = (char *)"";
    m.n_opset_import = 1;
    m.opset_import = os;
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.producer_name = (char *)"test_wire_prefix";
    m.graph = &g;
    g.name = (char *)"g";
    w.name = (char *)"W";
    w.has_data_type = 1;
    w.data_type = VEIL_DT_FLOAT;
    w.n_dims = 1;
    w.dims = &wdim;
    w.has_raw_data = 1;
    w.raw_data.data = (uint8_t *)wdata;
    w.raw_data.len = sizeof(wdata);
    b = w;
    b.name = (char *)"B";
    b.dims = &bdim;
    b.raw_data.data = (uint8_t *)bdata;
    b.raw_data.len = sizeof(bdata);
    node.n_output = 1;
    node.output = out;
    if (constant) {
        node.op_type = (char *)"Constant";
        at.name = (char *)"value";
        at.has_type = 1;
        at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        at.t = &w;
        node.n_attribute = 1;
        node.attribute = ats;
        g.n_initializer = 1; /* B only, after the node */
        g.initializer = inits;
    } else {
        node.op_type = (char *)"Add";
        node.n_input = 2;
        node.input = in;
        g.n_initializer = 2;
        g.initializer = inits;
    }
    g.n_node = 1;
    g.node = nodes;
    *n = onnx__model_proto__get_packed_size(&m);
    p = malloc(*n);
    assert_non_null(p);
    assert_int_equal(onnx__model_proto__pack(&m, p), *n);
    return p;
}

/* The offsets the full split finds, and every prefix agreeing with it. */
static void test_prefix_of_models(void **state)
{
    struct veil_pb_split sp;
    size_t n;
    uint8_t *p;
    (void)state;

    /* initializers: min 64 skips B (16 bytes) and finds W; min 1 finds B */
    p = make_model(false, &n);
    EXPECT_OK(veil_pb_split_model(p, n, VEIL_PB_STRIP_MIN, &sp));
    EXPECT_EQ(sp.count, 2);
    EXPECT_FALSE(sp.payloads[0].present);
    EXPECT_TRUE(sp.payloads[1].present);
    every_prefix(p, n, VEIL_PB_STRIP_MIN, sp.payloads[1].off);
    veil_pb_split_free(&sp);
    EXPECT_OK(veil_pb_split_model(p, n, 1, &sp));
    EXPECT_TRUE(sp.payloads[0].present);
    every_prefix(p, n, 1, sp.payloads[0].off);
    veil_pb_split_free(&sp);
    /* larger than any payload: never found */
    every_prefix(p, n, N_BIG * sizeof(float) + 1, SIZE_MAX);
    free(p);
    /* a Constant node's value, before the initializers */
    p = make_model(true, &n);
    EXPECT_OK(veil_pb_split_model(p, n, VEIL_PB_STRIP_MIN, &sp));
    EXPECT_EQ(sp.attr_count, 1);
    EXPECT_TRUE(sp.attrs[0].present);
    every_prefix(p, n, VEIL_PB_STRIP_MIN, sp.attrs[0].off);
    veil_pb_split_free(&sp);
    free(p);
}

/* Hand-made wire bytes. */
static void test_prefix_hostile(void **state)
{
    /* ModelProto { graph(7) { initializer(5) { raw_data(9): 3 bytes } } } */
    static const uint8_t ok[] = {0x3a, 0x07, 0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    /* the graph claims more than there is: a prefix of a longer model, as far as we can tell */
    static const uint8_t graph_longer[] = {0x3a, 0x08, 0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    static const uint8_t init_past_graph[] = {0x3a, 0x07, 0x2a, 0x06, 0x4a, 0x03, 1, 2, 3, 0x10};
    static const uint8_t raw_past_init[] = {0x3a, 0x07, 0x2a, 0x05, 0x4a, 0x04, 1, 2, 3, 4};
    static const uint8_t over_64_bits[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0x02, 0x3a, 0x00};
    static const uint8_t huge_len[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0x01, 0x2a, 0x00};
    static const uint8_t huge_raw[] = {0x3a, 0x0d, 0x2a, 0x0b, 0x4a, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t group[] = {0x3a, 0x02, 0x2b, 0x2c, 0x3a, 0x05, 0x2a, 0x03, 0x4a, 0x01, 1};
    static const uint8_t wire6[] = {0x0e};
    static const uint8_t fixed_short[] = {0x3a, 0x04, 0x2a, 0x02, 0x4d, 0x01};
    /* a field skipped before the graph that runs past the prefix */
    static const uint8_t skip_past[] = {0x12, 0x10, 'a',  'b',  0x3a, 0x05,
                                        0x2a, 0x03, 0x4a, 0x01, 1};
    /* graph { initializer { raw_data 1 byte }, initializer { raw_data 3 bytes } }: min 2 */
    static const uint8_t small_then_big[] = {0x3a, 0x0c, 0x2a, 0x03, 0x4a, 0x01, 9,
                                             0x2a, 0x05, 0x4a, 0x03, 1,    2,    3};
    /* field 9 of the graph itself, and raw_data as a varint: not payloads */
    static const uint8_t raw_in_graph[] = {0x3a, 0x05, 0x4a, 0x03, 1, 2, 3};
    static const uint8_t raw_varint[] = {0x3a, 0x04, 0x2a, 0x02, 0x48, 0x05};
    /* graph(7) { node(1) { name "n", attribute(5) { name "v", t(5) { data_type 1, raw_data 3 } } }
     * } */
    static const uint8_t attr[] = {0x3a, 0x13, 0x0a, 0x11, 0x1a, 0x01, 'n',  0x2a, 0x0c, 0x0a, 0x01,
                                   'v',  0x2a, 0x07, 0x10, 0x01, 0x4a, 0x03, 1,    2,    3};
    /* the same attribute as a graph initializer's field 5 is not a tensor path: skipped */
    static const uint8_t deep_wrong[] = {0x3a, 0x09, 0x2a, 0x07, 0x2a, 0x05, 0x4a, 0x03, 1, 2, 3};
    static const struct {
        const uint8_t *p;
        size_t n;
        size_t min;
        size_t want; /* SIZE_MAX: not found */
    } cases[] = {
        {ok, sizeof(ok), 1, 6},
        {ok, sizeof(ok), 4, SIZE_MAX},
        {graph_longer, sizeof(graph_longer), 1, 6},
        {init_past_graph, sizeof(init_past_graph), 1, SIZE_MAX},
        {raw_past_init, sizeof(raw_past_init), 1, SIZE_MAX},
        {over_64_bits, sizeof(over_64_bits), 1, SIZE_MAX},
        {huge_len, sizeof(huge_len), 1, SIZE_MAX},
        {huge_raw, sizeof(huge_raw), 1, SIZE_MAX},
        {group, sizeof(group), 1, SIZE_MAX},
        {wire6, sizeof(wire6), 1, SIZE_MAX},
        {fixed_short, sizeof(fixed_short), 1, SIZE_MAX},
        {skip_past, sizeof(skip_past), 1, SIZE_MAX},
        {small_then_big, sizeof(small_then_big), 2, 11},
        {small_then_big, sizeof(small_then_big), 1, 6},
        {raw_in_graph, sizeof(raw_in_graph), 1, SIZE_MAX},
        {raw_varint, sizeof(raw_varint), 1, SIZE_MAX},
        {attr, sizeof(attr), 1, 18},
        {attr, sizeof(attr), 4, SIZE_MAX},
        {deep_wrong, sizeof(deep_wrong), 1, SIZE_MAX},
    };
    size_t off = 0;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool found = scan(cases[i].p, cases[i].n, cases[i].min, &off);
        if (found != (cases[i].want != SIZE_MAX) || (found && off != cases[i].want)) {
            fail_msg("case %zu: found %d at %zu, expected %zu", i, found, off, cases[i].want);
        }
        /* and no prefix of it finds anything else */
        for (size_t cut = 0; cut < cases[i].n; cut++) {
            if (scan(cases[i].p, cut, cases[i].min, &off)) {
                EXPECT_EQ(off, cases[i].want);
            }
        }
    }
    EXPECT_FALSE(veil_engine_first_payload_offset(NULL, 0, 1, &off));
    EXPECT_FALSE(veil_engine_first_payload_offset(ok, sizeof(ok), 1, NULL));
}

/* Random mutations of a real model's bytes: found or not, never a read past the prefix. */
static void test_prefix_mutations(void **state)
{
    size_t n;
    uint8_t *p = make_model(true, &n);
    uint8_t *m = malloc(n);
    (void)state;

    for (int round = 0; round < 3000; round++) {
        uint8_t r[4];
        size_t off;
        memcpy(m, p, n);
        (void)RAND_bytes(r, sizeof(r));
        m[((size_t)r[0] << 8 | r[1]) % n] = r[2];
        m[((size_t)r[1] << 8 | r[3]) % n] ^= r[0];
        (void)scan(m, ((size_t)r[2] << 8 | r[3]) % (n + 1), r[0] % 2 ? 1 : VEIL_PB_STRIP_MIN, &off);
    }
    free(m);
    free(p);
}

VEIL_TEST_MAIN(test_prefix_of_models, test_prefix_hostile, test_prefix_mutations)
