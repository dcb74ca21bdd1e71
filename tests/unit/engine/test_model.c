/* engine model loading: hostile and malformed models fail with the right error, never crash. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/file.h"
#include "engine/graph.h"
#include "veil_test.h"

/* A small model builder over the protobuf-c structs: Y = op(X, W) with W an initializer. */
struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto nodes[4];
    Onnx__NodeProto *node_ptrs[4];
    char *node_in[4][2];
    char *node_out[4][1];
    Onnx__TensorProto init;
    Onnx__TensorProto *inits[1];
    int64_t init_dims[12];
    float init_data[4];
    Onnx__ValueInfoProto in;
    Onnx__ValueInfoProto out;
    Onnx__ValueInfoProto *ins[1];
    Onnx__ValueInfoProto *outs[1];
    /* X's declared type and static shape, when mb_input_shape gives one */
    Onnx__TypeProto in_type;
    Onnx__TypeProto__Tensor in_tensor;
    Onnx__TensorShapeProto in_shape;
    Onnx__TensorShapeProto__Dimension in_dims[VEIL_ENGINE_RANK_MAX];
    Onnx__TensorShapeProto__Dimension *in_dim_ptrs[VEIL_ENGINE_RANK_MAX];
};

static void mb_init(struct mb *b, const char *op)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;

    memset(b, 0, sizeof(*b));
    b->model = m;
    b->graph = g;
    b->opset = o;
    b->opset.has_version = 1;
    b->opset.version = 13;
    b->opset.domain = (char *)"";
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.has_ir_version = 1;
    b->model.ir_version = 7;
    b->model.graph = &b->graph;

    b->init = t;
    b->init.name = (char *)"W";
    b->init.has_data_type = 1;
    b->init.data_type = VEIL_DT_FLOAT;
    b->init.n_dims = 1;
    b->init_dims[0] = 4;
    b->init.dims = b->init_dims;
    for (int i = 0; i < 4; i++) {
        b->init_data[i] = (float)i;
    }
    b->init.n_float_data = 4;
    b->init.float_data = b->init_data;
    b->inits[0] = &b->init;
    b->graph.n_initializer = 1;
    b->graph.initializer = b->inits;

    b->in = vi;
    b->in.name = (char *)"X";
    b->out = vi;
    b->out.name = (char *)"Y";
    b->ins[0] = &b->in;
    b->outs[0] = &b->out;
    b->graph.n_input = 1;
    b->graph.input = b->ins;
    b->graph.n_output = 1;
    b->graph.output = b->outs;

    for (int i = 0; i < 4; i++) {
        Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
        b->nodes[i] = n;
        b->node_ptrs[i] = &b->nodes[i];
    }
    b->node_in[0][0] = (char *)"X";
    b->node_in[0][1] = (char *)"W";
    b->node_out[0][0] = (char *)"Y";
    b->nodes[0].op_type = (char *)op;
    b->nodes[0].n_input = 2;
    b->nodes[0].input = b->node_in[0];
    b->nodes[0].n_output = 1;
    b->nodes[0].output = b->node_out[0];
    b->graph.n_node = 1;
    b->graph.node = b->node_ptrs;
}

/* Declares X as float32 of the given static shape. */
static void mb_input_shape(struct mb *b, uint32_t rank, const int64_t *shape)
{
    Onnx__TypeProto tp = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto sh = ONNX__TENSOR_SHAPE_PROTO__INIT;

    assert_true(rank <= VEIL_ENGINE_RANK_MAX);
    for (uint32_t i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension d = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        b->in_dims[i] = d;
        b->in_dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        b->in_dims[i].dim_value = shape[i];
        b->in_dim_ptrs[i] = &b->in_dims[i];
    }
    b->in_shape = sh;
    b->in_shape.n_dim = rank;
    b->in_shape.dim = b->in_dim_ptrs;
    b->in_tensor = tt;
    b->in_tensor.has_elem_type = 1;
    b->in_tensor.elem_type = VEIL_DT_FLOAT;
    b->in_tensor.shape = &b->in_shape;
    b->in_type = tp;
    b->in_type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->in_type.tensor_type = &b->in_tensor;
    b->in.type = &b->in_type;
}

/* No initializer; four one-input nodes names[i] -> names[i + 1], X to Y. */
static void mb_chain4(struct mb *b, const char *const ops[4], char *names[5])
{
    b->graph.n_initializer = 0;
    for (int i = 0; i < 4; i++) {
        b->nodes[i].op_type = (char *)ops[i];
        b->nodes[i].n_input = 1;
        b->nodes[i].input = &names[i];
        b->nodes[i].n_output = 1;
        b->nodes[i].output = &names[i + 1];
    }
    b->graph.n_node = 4;
}

/* X (float, of the given 4-d shape) -> Conv(W) -> a -> Relu -> Y, W the n floats w (dims wdims),
 * filled with small values of both signs. */
static void mb_conv_relu(struct mb *b, int64_t *shape, float *w, size_t n, int64_t *wdims)
{
    static char *conv_in[2] = {(char *)"X", (char *)"W"};
    static char *a_name[1] = {(char *)"a"};
    static char *y_name[1] = {(char *)"Y"};

    mb_init(b, "Conv");
    mb_input_shape(b, 4, shape);
    for (size_t i = 0; i < n; i++) {
        w[i] = (float)((int)(i * 7 % 11) - 5) / 8.0f;
    }
    b->init.n_dims = 4;
    b->init.dims = wdims;
    b->init.n_float_data = n;
    b->init.float_data = w;
    b->nodes[0].input = conv_in;
    b->nodes[0].output = a_name;
    b->nodes[1].op_type = (char *)"Relu";
    b->nodes[1].n_input = 1;
    b->nodes[1].input = a_name;
    b->nodes[1].n_output = 1;
    b->nodes[1].output = y_name;
    b->graph.n_node = 2;
}

static uint8_t *mb_pack(const struct mb *b, size_t *n)
{
    *n = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *p = malloc(*n + 1);
    assert_non_null(p);
    assert_int_equal(onnx__model_proto__pack(&b->model, p), *n);
    return p;
}

static veil_result mb_load(const struct mb *b, struct veil_engine_model **m)
{
    size_t n;
    uint8_t *p = mb_pack(b, &n);
    struct veil_engine_diag diag;
    veil_result r = veil_engine_load(p, n, &diag, m);
    free(p);
    return r;
}

static void expect_load_err(const struct mb *b, int32_t err)
{
    struct veil_engine_model *m = NULL;
    EXPECT_ERR(mb_load(b, &m), err);
    EXPECT_NULL(m);
}

static void test_valid_model_runs(void **state)
{
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    int64_t dim = 4;
    (void)state;

    mb_init(&b, "Add");
    EXPECT_OK(mb_load(&b, &m));
    /* built: the name table is gone, the values' array holds just the values (X, W, Y) */
    EXPECT_NULL(m->main->table);
    EXPECT_EQ(m->main->value_count, 3);
    EXPECT_EQ(m->main->value_cap, 3);
    EXPECT_EQ(veil_engine_input_count(m), 1);
    EXPECT_STR_EQ(veil_engine_input_name(m, 0), "X");
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (int i = 0; i < 4; i++) {
        ((float *)x.data)[i] = 10.0f * (float)i;
    }
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.dtype, VEIL_DT_FLOAT);
    EXPECT_EQ(y.count, 4);
    for (int i = 0; i < 4; i++) {
        EXPECT_TRUE(((float *)y.data)[i] == 11.0f * (float)i);
    }
    veil_tensor_free(&y);
    /* a wrong input shape is an error, not a crash */
    dim = 3;
    veil_tensor_free(&x);
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&x));
    EXPECT_ERR(veil_engine_run(m, &x, &y, NULL), VEIL_ERR_ENGINE_SHAPE);
    veil_tensor_free(&x);
    veil_engine_free(m);
}

static void test_not_a_model(void **state)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
    struct veil_engine_model *m = NULL;
    (void)state;

    EXPECT_ERR(veil_engine_load(junk, 0, NULL, &m), VEIL_ERR_ENGINE_MODEL);
    EXPECT_ERR(veil_engine_load(junk, sizeof(junk), NULL, &m), VEIL_ERR_ENGINE_MODEL);
    EXPECT_NULL(m);
}

static void test_truncated(void **state)
{
    struct mb b;
    size_t n;
    uint8_t *p;
    (void)state;

    mb_init(&b, "Add");
    p = mb_pack(&b, &n);
    for (size_t cut = 1; cut < n; cut++) {
        struct veil_engine_model *m = NULL;
        veil_result r = veil_engine_load(p, cut, NULL, &m);
        if (veil_ok(r)) {
            /* a cut at a field boundary can be a valid model (the opset import is last) */
            EXPECT_TRUE(cut >= n - 6);
            veil_engine_free(m);
        } else {
            EXPECT_NULL(m);
        }
    }
    free(p);
}

static void test_no_graph(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.model.graph = NULL;
    expect_load_err(&b, VEIL_ERR_ENGINE_MODEL);
}

static void test_raw_data_size_mismatch(void **state)
{
    struct mb b;
    uint8_t raw[15] = {0};
    (void)state;
    mb_init(&b, "Add");
    b.init.n_float_data = 0;
    b.init.has_raw_data = 1;
    b.init.raw_data.data = raw;
    b.init.raw_data.len = sizeof(raw); /* 4 floats need 16 */
    expect_load_err(&b, VEIL_ERR_ENGINE_TENSOR);
}

static void test_typed_data_count_mismatch(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init.n_float_data = 3;
    expect_load_err(&b, VEIL_ERR_ENGINE_TENSOR);
}

static void test_negative_dim(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init_dims[0] = -4;
    expect_load_err(&b, VEIL_ERR_ENGINE_TENSOR);
}

static void test_dims_overflow(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init.n_dims = 4;
    for (int i = 0; i < 4; i++) {
        b.init_dims[i] = (int64_t)1 << 20; /* 2^80 elements */
    }
    expect_load_err(&b, VEIL_ERR_ENGINE_LIMIT);
    b.init.n_dims = 2;
    b.init_dims[0] = INT64_MAX;
    b.init_dims[1] = 2;
    expect_load_err(&b, VEIL_ERR_ENGINE_LIMIT);
}

static void test_rank_too_big(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init.n_dims = VEIL_ENGINE_RANK_MAX + 1;
    for (int i = 0; i < VEIL_ENGINE_RANK_MAX + 1; i++) {
        b.init_dims[i] = 1;
    }
    expect_load_err(&b, VEIL_ERR_ENGINE_LIMIT);
}

static void test_external_data_refused(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init.n_float_data = 0;
    b.init.has_data_location = 1;
    b.init.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    expect_load_err(&b, VEIL_ERR_ENGINE_EXTERNAL);
}

static void test_bad_type(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.init.data_type = 99;
    expect_load_err(&b, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    b.init.has_data_type = 0;
    expect_load_err(&b, VEIL_ERR_ENGINE_TENSOR);
}

static void test_undefined_input(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.node_in[0][1] = (char *)"nowhere";
    expect_load_err(&b, VEIL_ERR_ENGINE_GRAPH);
}

static void test_undefined_output(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.out.name = (char *)"Z";
    expect_load_err(&b, VEIL_ERR_ENGINE_GRAPH);
}

static void test_duplicate_definition(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.node_out[0][0] = (char *)"W"; /* W is already the initializer */
    expect_load_err(&b, VEIL_ERR_ENGINE_GRAPH);
}

static void test_cycle(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    /* Y = Add(X, Z); Z = Relu(Y): a cycle */
    b.node_in[0][1] = (char *)"Z";
    b.node_in[1][0] = (char *)"Y";
    b.node_out[1][0] = (char *)"Z";
    b.nodes[1].op_type = (char *)"Relu";
    b.nodes[1].n_input = 1;
    b.nodes[1].input = b.node_in[1];
    b.nodes[1].n_output = 1;
    b.nodes[1].output = b.node_out[1];
    b.graph.n_node = 2;
    expect_load_err(&b, VEIL_ERR_ENGINE_GRAPH);
}

static void test_unsupported_op(void **state)
{
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag;
    size_t n;
    uint8_t *p;
    char ops[64];
    (void)state;

    mb_init(&b, "NoSuchOp");
    p = mb_pack(&b, &n);
    EXPECT_ERR(veil_engine_load(p, n, &diag, &m), VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    EXPECT_NOT_NULL(strstr(diag.what, "NoSuchOp"));
    EXPECT_OK(veil_engine_model_unsupported_ops(p, n, ops, sizeof(ops)));
    EXPECT_STR_EQ(ops, "NoSuchOp");
    free(p);
    mb_init(&b, "Add");
    b.nodes[0].domain = (char *)"com.example";
    expect_load_err(&b, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
}

static void test_opset_range(void **state)
{
    struct mb b;
    (void)state;
    mb_init(&b, "Add");
    b.opset.version = 1000;
    expect_load_err(&b, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    b.opset.has_version = 0;
    expect_load_err(&b, VEIL_ERR_ENGINE_MODEL);
}

static void test_subgraph_depth(void **state)
{
    enum { DEPTH = VEIL_ENGINE_DEPTH_MAX + 2 };
    struct mb b;
    Onnx__GraphProto graphs[DEPTH];
    Onnx__NodeProto nodes[DEPTH];
    Onnx__NodeProto *node_ptrs[DEPTH];
    Onnx__AttributeProto attrs[DEPTH];
    Onnx__AttributeProto *attr_ptrs[DEPTH];
    (void)state;

    mb_init(&b, "Add");
    /* the Add node carries a graph attribute whose node carries one, ... DEPTH deep */
    for (int i = 0; i < DEPTH; i++) {
        Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
        Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
        Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
        graphs[i] = g;
        nodes[i] = n;
        attrs[i] = a;
        nodes[i].op_type = (char *)"Identity";
        attrs[i].name = (char *)"body";
        attrs[i].has_type = 1;
        attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
        attrs[i].g = &graphs[i];
        attr_ptrs[i] = &attrs[i];
        node_ptrs[i] = &nodes[i];
    }
    for (int i = 0; i + 1 < DEPTH; i++) {
        graphs[i].n_node = 1;
        graphs[i].node = &node_ptrs[i + 1];
        nodes[i + 1].n_attribute = 1;
        nodes[i + 1].attribute = &attr_ptrs[i + 1];
    }
    b.nodes[0].n_attribute = 1;
    b.nodes[0].attribute = &attr_ptrs[0];
    expect_load_err(&b, VEIL_ERR_ENGINE_LIMIT);
}

static void test_tensor_roundtrip(void **state)
{
    struct veil_tensor t = {0};
    struct veil_tensor u = {0};
    int64_t dims[2] = {2, 3};
    uint8_t *pb = NULL;
    size_t n = 0;
    char *name = NULL;
    (void)state;

    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_INT32, 2, dims));
    EXPECT_OK(veil_tensor_alloc(&t));
    for (size_t i = 0; i < t.count; i++) {
        ((int32_t *)t.data)[i] = (int32_t)i - 3;
    }
    EXPECT_OK(veil_tensor_encode(&t, "t0", &pb, &n));
    EXPECT_OK(veil_tensor_decode(pb, n, &u, &name));
    EXPECT_STR_EQ(name, "t0");
    EXPECT_TRUE(veil_tensor_same_shape(&t, &u));
    EXPECT_BYTES_EQ(t.data, u.data, t.size);
    veil_tensor_free(&u);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < n; cut++) {
        veil_result r = veil_tensor_decode(pb, cut, &u, NULL);
        if (veil_ok(r)) {
            veil_tensor_free(&u); /* a prefix can be a valid smaller message */
        }
    }
    free(pb);
    free(name);
    veil_tensor_free(&t);
}

static void test_shape_limits(void **state)
{
    struct veil_tensor t = {0};
    int64_t big[2] = {INT64_MAX, INT64_MAX};
    int64_t neg[1] = {-1};
    int64_t zero[3] = {0, INT64_MAX, 5};
    (void)state;

    EXPECT_ERR(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, big), VEIL_ERR_ENGINE_LIMIT);
    EXPECT_ERR(veil_tensor_shape(&t, VEIL_DT_FLOAT, 1, neg), VEIL_ERR_ENGINE_SHAPE);
    EXPECT_ERR(veil_tensor_shape(&t, VEIL_DT_FLOAT, 3, zero), VEIL_ERR_ENGINE_LIMIT);
    EXPECT_ERR(veil_tensor_shape(&t, VEIL_DT_STRING, 0, NULL), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    EXPECT_ERR(veil_tensor_shape(&t, VEIL_DT_FLOAT, VEIL_ENGINE_RANK_MAX + 1, big),
               VEIL_ERR_ENGINE_LIMIT);
}

/* Owned data of the shape's size, zeroed or not; a zero-size tensor still gets a pointer. */
static void test_tensor_alloc(void **state)
{
    struct veil_tensor t = {0};
    int64_t dims[2] = {3, 5};
    int64_t none[1] = {0};
    (void)state;

    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, dims));
    EXPECT_OK(veil_tensor_alloc(&t));
    EXPECT_FALSE(t.borrowed);
    for (size_t i = 0; i < t.count; i++) {
        EXPECT_EQ(((const float *)t.data)[i], 0.0f);
    }
    veil_tensor_free(&t);
    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, dims));
    EXPECT_OK(veil_tensor_alloc_uninit(&t));
    assert_non_null(t.data);
    EXPECT_FALSE(t.borrowed);
    EXPECT_EQ(t.size, 60);
    memset(t.data, 0xa5, t.size); /* every byte is ours (ASan would say otherwise) */
    veil_tensor_free(&t);
    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 1, none));
    EXPECT_OK(veil_tensor_alloc_uninit(&t));
    assert_non_null(t.data);
    veil_tensor_free(&t);
}

/* External data: allowed from a file (beneath its directory), refused from memory. */
struct ext_fixture {
    char dir[64];
    char model[96];
    char data[96];
};

static void ext_write(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static veil_result ext_load(struct mb *b, struct ext_fixture *f, const char *loc,
                            const char *offset, const char *length)
{
    Onnx__StringStringEntryProto kv[3];
    Onnx__StringStringEntryProto *kvp[3];
    size_t nkv = 0;
    struct veil_engine_model *m = NULL;
    veil_result r;
    size_t n;
    uint8_t *p;

    for (int i = 0; i < 3; i++) {
        Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        kv[i] = e;
        kvp[i] = &kv[i];
    }
    kv[nkv].key = (char *)"location";
    kv[nkv++].value = (char *)loc;
    if (offset != NULL) {
        kv[nkv].key = (char *)"offset";
        kv[nkv++].value = (char *)offset;
    }
    if (length != NULL) {
        kv[nkv].key = (char *)"length";
        kv[nkv++].value = (char *)length;
    }
    b->init.n_float_data = 0;
    b->init.has_data_location = 1;
    b->init.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    b->init.n_external_data = nkv;
    b->init.external_data = kvp;
    p = mb_pack(b, &n);
    ext_write(f->model, p, n);
    free(p);
    r = veil_engine_load_file(f->model, NULL, &m);
    if (veil_ok(r)) {
        EXPECT_EQ(m->main->values[0].init->count, 4);
        EXPECT_TRUE(((float *)m->main->values[0].init->data)[3] == 7.0f);
        veil_engine_free(m);
    }
    return r;
}

static void test_external_data(void **state)
{
    struct ext_fixture f;
    struct mb b;
    float data[6] = {0, 0, 4, 5, 6, 7}; /* the tensor starts at byte 8 */
    (void)state;

    (void)snprintf(f.dir, sizeof(f.dir), "/tmp/veil-engine-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    (void)snprintf(f.model, sizeof(f.model), "%s/model.onnx", f.dir);
    (void)snprintf(f.data, sizeof(f.data), "%s/w.bin", f.dir);
    ext_write(f.data, data, sizeof(data));
    mb_init(&b, "Add");
    EXPECT_OK(ext_load(&b, &f, "w.bin", "8", "16"));
    EXPECT_OK(ext_load(&b, &f, "./w.bin", "8", NULL));
    EXPECT_ERR(ext_load(&b, &f, "w.bin", "12", NULL), VEIL_ERR_ENGINE_TENSOR);   /* past the end */
    EXPECT_ERR(ext_load(&b, &f, "w.bin", "8", "12"), VEIL_ERR_ENGINE_TENSOR);    /* wrong length */
    EXPECT_ERR(ext_load(&b, &f, "w.bin", "-1", NULL), VEIL_ERR_ENGINE_EXTERNAL); /* not a number */
    EXPECT_ERR(ext_load(&b, &f, "w.bin", "99999999999999999999999", NULL),
               VEIL_ERR_ENGINE_EXTERNAL);
    EXPECT_ERR(ext_load(&b, &f, "../w.bin", NULL, NULL), VEIL_ERR_ENGINE_EXTERNAL);
    EXPECT_ERR(ext_load(&b, &f, "a/../../w.bin", NULL, NULL), VEIL_ERR_ENGINE_EXTERNAL);
    EXPECT_ERR(ext_load(&b, &f, "/etc/passwd", NULL, NULL), VEIL_ERR_ENGINE_EXTERNAL);
    EXPECT_ERR(ext_load(&b, &f, "", NULL, NULL), VEIL_ERR_ENGINE_EXTERNAL);
    EXPECT_ERR(ext_load(&b, &f, "missing.bin", NULL, NULL), VEIL_ERR_IO_OPEN);
    /* the same model from memory: external data refused */
    {
        struct veil_engine_model *m = NULL;
        struct veil_wr w;
        EXPECT_OK(ext_load(&b, &f, "w.bin", "8", NULL));
        EXPECT_OK(veil_file_read(f.model, 1 << 20, &w));
        EXPECT_ERR(veil_engine_load(w.data, w.len, NULL, &m), VEIL_ERR_ENGINE_EXTERNAL);
        veil_wr_free(&w);
    }
    unlink(f.model);
    unlink(f.data);
    rmdir(f.dir);
}

/* The DIMxDIM... syntax of --shape and veil-serve's input_shapes, and what it refuses. */
static void test_parse_dims(void **state)
{
    static const char *const bad[] = {
        "",   "x",  "1x", "x1",   "1xx2", "1x-2",          "-1",
        "+1", " 1", "1 ", "1x2y", "a",    "1099511627777", "1x1x1x1x1x1x1x1x1"};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t rank = 7;
    (void)state;

    EXPECT_TRUE(veil_engine_parse_dims("1x3x48x320", &rank, dims));
    EXPECT_EQ(rank, 4);
    EXPECT_EQ(dims[0], 1);
    EXPECT_EQ(dims[1], 3);
    EXPECT_EQ(dims[2], 48);
    EXPECT_EQ(dims[3], 320);
    EXPECT_TRUE(veil_engine_parse_dims("0", &rank, dims)); /* an empty tensor's dim */
    EXPECT_EQ(rank, 1);
    EXPECT_EQ(dims[0], 0);
    EXPECT_TRUE(veil_engine_parse_dims("1099511627776", &rank, dims)); /* 2^40, the largest */
    EXPECT_TRUE(veil_engine_parse_dims("1x1x1x1x1x1x1x1", &rank, dims));
    EXPECT_EQ(rank, VEIL_ENGINE_RANK_MAX);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT_FALSE(veil_engine_parse_dims(bad[i], &rank, dims));
    }
}

/* A graph whose inputs and weights feed its outputs directly (Y = Add(X, W)) has nothing to plan:
 * planning says so without a planning run (for a 1 GiB model that run cost 0.7-0.9 s of
 * veil-serve's cold start), leaves no plan, and runs stay right. */
static void test_plan_nothing(void **state)
{
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    int64_t shape[1] = {4};
    size_t arena;
    size_t planned;
    size_t total;
    (void)state;

    mb_init(&b, "Add");
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_ERR(veil_engine_plan(m, NULL), VEIL_ERR_ENGINE_NOTHING_TO_PLAN);
    EXPECT_ERR(veil_engine_plan_info(m, &arena, &planned, &total), VEIL_ERR_USAGE);
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = 10.0f * (float)i;
    }
    EXPECT_ERR(veil_engine_plan_for(m, &x, NULL), VEIL_ERR_ENGINE_NOTHING_TO_PLAN);
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.count, 4);
    for (size_t i = 0; i < y.count; i++) { /* W = 0, 1, 2, 3 */
        EXPECT_TRUE(((float *)y.data)[i] == 11.0f * (float)i);
    }
    veil_tensor_free(&y);
    veil_tensor_free(&x);
    veil_engine_free(m);
}

/* A Conv's im2col scratch is planned in the arena beside what is live at that node (alive during
 * the node only), not kept apart for the whole run: a planned run allocates no scratch of its own
 * and gives the unplanned result; planned_count still counts intermediates only. */
static void test_plan_scratch(void **state)
{
    static float w[3 * 2 * 3 * 3];
    int64_t wdims[4] = {3, 2, 3, 3};
    int64_t shape[4] = {1, 2, 8, 8};
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_engine_model *ref = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y1 = {0};
    struct veil_tensor y2 = {0};
    size_t arena;
    size_t planned;
    size_t total;
    size_t a_size = 3 * 6 * 6 * sizeof(float);
    (void)state;

    mb_conv_relu(&b, shape, w, sizeof(w) / sizeof(w[0]), wdims);
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_OK(mb_load(&b, &ref));
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 4, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = (float)((int)(i * 5 % 13) - 6) / 4.0f;
    }
    /* unplanned: the Conv takes a scratch buffer, kept in the run's pool */
    EXPECT_OK(veil_engine_run(ref, &x, &y1, NULL));
    EXPECT_NOT_NULL(ref->cache_pool.scratch);
    EXPECT_OK(veil_engine_plan(m, NULL));
    EXPECT_OK(veil_engine_plan_info(m, &arena, &planned, &total));
    EXPECT_EQ(planned, 1); /* a; the scratch is not an intermediate */
    EXPECT_EQ(total, a_size);
    EXPECT_TRUE(m->plan->scratch_offset[0] != SIZE_MAX);
    EXPECT_TRUE(m->plan->scratch_size[0] > 0);
    EXPECT_EQ(m->plan->scratch_offset[1], SIZE_MAX); /* Relu takes none */
    EXPECT_EQ(m->plan->scratch_size[1], 0);
    /* the plan keeps the shapes of X, a and Y (planned, input, output), not W's */
    for (uint32_t v = 0; v < m->main->value_count; v++) {
        const struct veil_engine_value *val = &m->main->values[v];
        const struct veil_tensor *sh = veil_plan_shape(m->plan, v);
        if (val->kind == VEIL_VALUE_INITIALIZER) { /* W (its name is not kept) */
            EXPECT_NULL(sh);
            continue;
        }
        EXPECT_NOT_NULL(sh);
        EXPECT_EQ(sh->dtype, VEIL_DT_FLOAT);
        EXPECT_EQ(sh->rank, 4);
        EXPECT_EQ(sh->dims[1], val->kind == VEIL_VALUE_INPUT ? 2 : 3); /* X, else a or Y */
        EXPECT_EQ(sh->dims[2], val->kind == VEIL_VALUE_INPUT ? 8 : 6);
    }
    /* alive with a (the Conv's output) and X's room, so beside them: above the values' part */
    size_t values = 0;
    EXPECT_OK(veil_engine_plan_values_arena(m, &values));
    EXPECT_EQ(values, (a_size + 63) / 64 * 64 + x.size);
    EXPECT_EQ(arena, values + m->plan->scratch_size[0]);
    EXPECT_TRUE(m->plan->scratch_offset[0] >= values);
    for (int k = 0; k < 2; k++) {
        EXPECT_OK(veil_engine_run(m, &x, &y2, NULL));
        EXPECT_NULL(m->cache_pool.scratch); /* the arena's, none of its own */
        EXPECT_EQ(y2.size, y1.size);
        EXPECT_BYTES_EQ(y1.data, y2.data, y1.size);
        veil_tensor_free(&y2);
    }
    /* another input shape: unplanned, its own scratch, still right */
    veil_tensor_free(&x);
    shape[2] = 5;
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 4, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    EXPECT_OK(veil_engine_run(m, &x, &y2, NULL));
    EXPECT_EQ(y2.count, 3 * 3 * 6);
    veil_tensor_free(&y2);
    veil_tensor_free(&y1);
    veil_tensor_free(&x);
    veil_engine_free(ref);
    veil_engine_free(m);
}

/* A Conv whose whole im2col would grow the arena works in smaller tiles in the room the arena
 * has at its node (plan.c place_scratch, op_conv.c conv_tile_budget): X -> Conv -> a -> Relu ->
 * b, Add(b, b) -> c -> Relu -> Y, 3 -> 8 channels, 3x3 over 48x192 (PaddleOCR cls's first Conv,
 * without its stride). a, b and c are 280 KB each, so the values take 560 KB and at the Conv X
 * (110 KB) and a leave 170 KB, less than its whole im2col (27 x 46 x 190 floats, 944 KB) but
 * more than its least (256 columns' worth of rows: 2 rows). The arena does not grow; the tiled
 * result is the direct convolution's, and the unplanned run's to the bit. Then without b and c
 * (X -> Conv -> a -> Relu -> Y): no room at the Conv, so its scratch goes above the values, cut
 * to its least. */
static void test_conv_scratch_tiles(void **state)
{
    static char *b_name[1] = {(char *)"b"};
    static char *add_in[2] = {(char *)"b", (char *)"b"};
    static char *c_name[1] = {(char *)"c"};
    static char *y_name[1] = {(char *)"Y"};
    static float w[8 * 3 * 3 * 3];
    int64_t wdims[4] = {8, 3, 3, 3};
    int64_t shape[4] = {1, 3, 48, 192};
    size_t out_size = 8 * 46 * 190 * sizeof(float);
    size_t whole = 27 * 46 * 190 * sizeof(float);
    size_t values = 0;
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_engine_model *ref = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    struct veil_tensor y_ref = {0};
    size_t bad = 0;
    (void)state;

    mb_conv_relu(&b, shape, w, sizeof(w) / sizeof(w[0]), wdims);
    b.nodes[1].output = b_name;
    b.nodes[2].op_type = (char *)"Add";
    b.nodes[2].n_input = 2;
    b.nodes[2].input = add_in;
    b.nodes[2].n_output = 1;
    b.nodes[2].output = c_name;
    b.nodes[3].op_type = (char *)"Relu";
    b.nodes[3].n_input = 1;
    b.nodes[3].input = c_name;
    b.nodes[3].n_output = 1;
    b.nodes[3].output = y_name;
    b.graph.n_node = 4;
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_OK(mb_load(&b, &ref));
    EXPECT_OK(veil_engine_plan(m, NULL));
    EXPECT_OK(veil_engine_plan_values_arena(m, &values));
    EXPECT_EQ(values, 2 * out_size);
    EXPECT_EQ(m->plan->arena_size, values); /* the scratch took room, not more */
    EXPECT_TRUE(m->plan->scratch_size[0] < whole);
    EXPECT_TRUE(m->plan->scratch_size[0] >= 27 * 190 * 3 * sizeof(float)); /* 3 rows: 570 cols */
    EXPECT_TRUE(m->plan->scratch_offset[0] + m->plan->scratch_size[0] <= values);
    for (uint32_t v = 0; v < m->main->value_count; v++) { /* apart from X and a */
        size_t off = m->plan->offset[v];
        const struct veil_tensor *sh = veil_plan_shape(m->plan, v);
        if (off == SIZE_MAX || sh == NULL || m->main->values[v].last_use != 0) {
            continue; /* b and c are not alive at the Conv */
        }
        EXPECT_TRUE(off + sh->size <= m->plan->scratch_offset[0] ||
                    m->plan->scratch_offset[0] + m->plan->scratch_size[0] <= off);
    }
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 4, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = (float)((int)(i * 5 % 13) - 6) / 4.0f;
    }
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_OK(veil_engine_run(ref, &x, &y_ref, NULL));
    EXPECT_EQ(y.size, out_size);
    EXPECT_EQ(y_ref.size, out_size);
    EXPECT_BYTES_EQ(y.data, y_ref.data, out_size);
    for (size_t co = 0; co < 8; co++) {
        for (size_t oh = 0; oh < 46; oh++) {
            for (size_t ow = 0; ow < 190; ow++) {
                double want = 0.0;
                for (size_t ci = 0; ci < 3; ci++) {
                    for (size_t kh = 0; kh < 3; kh++) {
                        for (size_t kw = 0; kw < 3; kw++) {
                            want += (double)w[((co * 3 + ci) * 3 + kh) * 3 + kw] *
                                    ((float *)x.data)[(ci * 48 + oh + kh) * 192 + ow + kw];
                        }
                    }
                }
                float got = ((float *)y.data)[(co * 46 + oh) * 190 + ow];
                want = want > 0.0 ? 2.0 * want : 0.0;
                bad += fabs((double)got - want) > 1e-4 * (1.0 + fabs(want));
            }
        }
    }
    EXPECT_EQ(bad, 0);
    veil_tensor_free(&y);
    veil_engine_free(m);

    /* no room at the Conv: above the values, 2 rows of 190 columns (64-byte aligned) */
    mb_conv_relu(&b, shape, w, sizeof(w) / sizeof(w[0]), wdims);
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_OK(veil_engine_plan(m, NULL));
    EXPECT_OK(veil_engine_plan_values_arena(m, &values));
    EXPECT_EQ(values, out_size + x.size);
    EXPECT_EQ(m->plan->scratch_size[0], (27 * 190 * 2 * sizeof(float) + 63) / 64 * 64);
    EXPECT_EQ(m->plan->scratch_offset[0], values);
    EXPECT_EQ(m->plan->arena_size, values + m->plan->scratch_size[0]);
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.size, out_size);
    for (size_t i = 0; i < out_size / sizeof(float); i++) { /* Relu(conv) = the half of Y above */
        bad += ((float *)y.data)[i] * 2.0f != ((float *)y_ref.data)[i];
    }
    EXPECT_EQ(bad, 0);
    veil_tensor_free(&y_ref);
    veil_tensor_free(&y);
    veil_tensor_free(&x);
    veil_engine_free(ref);
    veil_engine_free(m);
}

/* Static shape inference and memory planning on a chain X -> Relu -> Neg -> Relu -> Neg -> Y:
 * the three intermediates need only two slots, and planned runs give the unplanned result. */
static void test_plan(void **state)
{
    static const char *const ops[4] = {"Relu", "Neg", "Relu", "Neg"};
    static char *names[5] = {(char *)"X", (char *)"a", (char *)"b", (char *)"c", (char *)"Y"};
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y1 = {0};
    struct veil_tensor y2 = {0};
    int64_t shape[2] = {64, 3};
    size_t arena;
    size_t planned;
    size_t total;
    (void)state;

    mb_init(&b, "Relu");
    mb_input_shape(&b, 2, shape);
    mb_chain4(&b, ops, names);
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 2, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = (float)i - 90.0f;
    }
    EXPECT_OK(veil_engine_run(m, &x, &y1, NULL));
    EXPECT_ERR(veil_engine_plan_info(m, &arena, &planned, &total), VEIL_ERR_USAGE);
    size_t no_live;
    EXPECT_ERR(veil_engine_plan_live_max(m, &no_live), VEIL_ERR_USAGE);
    EXPECT_OK(veil_engine_plan(m, NULL));
    EXPECT_OK(veil_engine_plan_info(m, &arena, &planned, &total));
    EXPECT_EQ(planned, 3);
    EXPECT_EQ(total, 3 * x.size);
    EXPECT_EQ(arena, 2 * x.size); /* a and c share a slot */
    size_t values = 0;
    EXPECT_OK(veil_engine_plan_values_arena(m, &values));
    EXPECT_EQ(values, arena); /* no kernel scratch */
    size_t live = 0;
    EXPECT_OK(veil_engine_plan_live_max(m, &live));
    EXPECT_EQ(live, 2 * x.size); /* a chain: an input and an output alive at each node */
    EXPECT_OK(veil_engine_run(m, &x, &y2, NULL));
    EXPECT_BYTES_EQ(y1.data, y2.data, y1.size);
    veil_tensor_free(&y2);
    /* another input shape: runs unplanned, still right */
    veil_tensor_free(&x);
    shape[0] = 5;
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 2, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    EXPECT_OK(veil_engine_run(m, &x, &y2, NULL));
    EXPECT_EQ(y2.count, 15);
    veil_tensor_free(&y2);
    veil_tensor_free(&y1);
    veil_tensor_free(&x);
    veil_engine_free(m);
    /* a symbolic input dim: nothing to plan */
    b.in_dims[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    b.in_dims[0].dim_param = (char *)"N";
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_ERR(veil_engine_plan(m, NULL), VEIL_ERR_ENGINE_INPUT);
    /* fixing it (--shape): a wrong rank, a negative dim or a static dim that differs is refused */
    {
        int64_t fixed[3] = {7, 3, 1};
        int32_t dtype;
        uint32_t rank;
        int64_t got[VEIL_ENGINE_RANK_MAX];
        veil_engine_input_info(m, 0, &dtype, &rank, got);
        EXPECT_EQ(got[0], -1);
        EXPECT_ERR(veil_engine_fix_input_shape(m, 0, 3, fixed), VEIL_ERR_ENGINE_INPUT_SHAPE);
        EXPECT_ERR(veil_engine_fix_input_shape(m, 0, 1, fixed), VEIL_ERR_ENGINE_INPUT_SHAPE);
        fixed[1] = 4;
        EXPECT_ERR(veil_engine_fix_input_shape(m, 0, 2, fixed), VEIL_ERR_ENGINE_INPUT_SHAPE);
        fixed[0] = -2;
        fixed[1] = 3;
        EXPECT_ERR(veil_engine_fix_input_shape(m, 0, 2, fixed), VEIL_ERR_ENGINE_INPUT_SHAPE);
        EXPECT_ERR(veil_engine_fix_input_shape(m, 1, 2, fixed), VEIL_ERR_USAGE);
        EXPECT_ERR(veil_engine_plan(m, NULL), VEIL_ERR_ENGINE_INPUT);
        fixed[0] = 7;
        EXPECT_OK(veil_engine_fix_input_shape(m, 0, 2, fixed));
        veil_engine_input_info(m, 0, &dtype, &rank, got);
        EXPECT_EQ(rank, 2);
        EXPECT_EQ(got[0], 7);
        EXPECT_EQ(got[1], 3);
        EXPECT_OK(veil_engine_plan(m, NULL));
        EXPECT_OK(veil_engine_plan_info(m, &arena, &planned, &total));
        EXPECT_EQ(planned, 3);
        EXPECT_EQ(total, 3 * 7 * 3 * sizeof(float));
        /* planning on given values: the same plan, and a planned run is right */
        EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 2, fixed));
        EXPECT_OK(veil_tensor_alloc(&x));
        for (size_t i = 0; i < x.count; i++) {
            ((float *)x.data)[i] = (float)i - 10.0f;
        }
        EXPECT_OK(veil_engine_plan_for(m, &x, NULL));
        EXPECT_OK(veil_engine_plan_info(m, &arena, &planned, &total));
        EXPECT_EQ(planned, 3);
        EXPECT_OK(veil_engine_run(m, &x, &y1, NULL));
        for (size_t i = 0; i < x.count; i++) { /* -relu(-relu(x)) = 0 */
            EXPECT_TRUE(((float *)y1.data)[i] == 0.0f);
        }
        veil_tensor_free(&y1);
        veil_tensor_free(&x);
    }
    veil_engine_free(m);
}

/* A malformed tensor in a node attribute (Constant's value) fails the load, not the run. */
static void test_bad_attribute_tensor(void **state)
{
    struct mb b;
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *ap = &a;
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[1] = {3};
    float v[2] = {1, 2};
    char *out[1] = {(char *)"Y"};
    (void)state;

    mb_init(&b, "Constant");
    t.has_data_type = 1;
    t.data_type = VEIL_DT_FLOAT;
    t.n_dims = 1;
    t.dims = dims;
    t.n_float_data = 2; /* 3 elements declared */
    t.float_data = v;
    a.name = (char *)"value";
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a.t = &t;
    b.nodes[0].n_input = 0;
    b.nodes[0].n_output = 1;
    b.nodes[0].output = out;
    b.nodes[0].n_attribute = 1;
    b.nodes[0].attribute = &ap;
    expect_load_err(&b, VEIL_ERR_ENGINE_TENSOR);
    t.n_float_data = 0;
    t.has_data_location = 1;
    t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    expect_load_err(&b, VEIL_ERR_ENGINE_EXTERNAL);
}

/* Messages nested deeper than protobuf-c can unpack without exhausting the stack are refused
 * before protobuf-c sees them (Model.graph -> Graph.node -> Node.attribute -> Attribute.g -> ...).
 */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return n;
}

/* Wraps buf[off..size) in field `num` (length-delimited), writing backwards; returns new off. */
static size_t wrap(uint8_t *buf, size_t off, size_t size, uint32_t num)
{
    uint8_t hdr[20];
    size_t n = put_varint(hdr, (uint64_t)num << 3 | 2);
    n += put_varint(hdr + n, size - off);
    assert_true(off >= n);
    memcpy(buf + off - n, hdr, n);
    return off - n;
}

static void test_deep_nesting(void **state)
{
    enum { SIZE = 1 << 20 };
    uint8_t *buf = malloc(SIZE);
    size_t off = SIZE;
    struct veil_engine_model *m = NULL;
    static const uint8_t group[] = {0x0b, 0x0c}; /* field 1 as a (deprecated) group */
    (void)state;

    assert_non_null(buf);
    for (int i = 0; i < 20000; i++) {
        off = wrap(buf, off, SIZE, 6); /* AttributeProto.g */
        off = wrap(buf, off, SIZE, 5); /* NodeProto.attribute */
        off = wrap(buf, off, SIZE, 1); /* GraphProto.node */
    }
    off = wrap(buf, off, SIZE, 7); /* ModelProto.graph */
    EXPECT_ERR(veil_engine_load(buf + off, SIZE - off, NULL, &m), VEIL_ERR_ENGINE_LIMIT);
    EXPECT_ERR(veil_engine_load(group, sizeof(group), NULL, &m), VEIL_ERR_ENGINE_MODEL);
    EXPECT_NULL(m);
    free(buf);
}

/* One model run from several threads at once (veil-serve runs a model's requests
 * concurrently): one run at a time holds the model's cached pool, arena and frame, the others
 * allocate their own; every run's output is its own input's, planned or not. The chain is
 * X -> Neg -> Relu -> Neg -> Neg -> Y = max(-X, 0), 40960 elements (unary ops split from 32K,
 * so at two threads the runs also share the worker pool). */
#define CONC_THREADS 4
#define CONC_ROUNDS  60
#define CONC_ROWS    256
#define CONC_COLS    160

struct conc {
    struct veil_engine_model *m;
    unsigned id;
    _Atomic unsigned *errors;
};

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    int64_t shape[2] = {CONC_ROWS, CONC_COLS};
    struct veil_tensor x = {0};

    if (!veil_ok(veil_tensor_shape(&x, VEIL_DT_FLOAT, 2, shape)) ||
        !veil_ok(veil_tensor_alloc(&x))) {
        atomic_fetch_add(c->errors, 1);
        return NULL;
    }
    for (unsigned it = 0; it < CONC_ROUNDS; it++) {
        struct veil_tensor y = {0};
        float *px = x.data;
        for (size_t i = 0; i < x.count; i++) {
            px[i] = (float)((i * 7 + c->id * 131 + it * 17) % 101) - 50.0f;
        }
        veil_result r;
        if (it % 2 == 0) {
            r = veil_engine_run(c->m, &x, &y, NULL);
        } else { /* in steps, the input written into the run's room for it where there is one */
            struct veil_engine_run *run = NULL;
            struct veil_tensor in = {0};
            r = veil_engine_run_begin(c->m, &run);
            if (veil_ok(r)) {
                r = veil_tensor_shape(&in, VEIL_DT_FLOAT, 2, shape);
            }
            if (veil_ok(r) && !veil_engine_run_input_room(run, 0, &in)) {
                r = veil_tensor_alloc(&in);
            }
            if (veil_ok(r)) {
                memcpy(in.data, x.data, x.size);
                r = veil_engine_run_exec(run, &in, &y, NULL);
            }
            veil_tensor_free(&in);
            veil_engine_run_end(run);
        }
        if (!veil_ok(r) || y.count != x.count) {
            atomic_fetch_add(c->errors, 1);
        } else {
            const float *py = y.data;
            for (size_t i = 0; i < x.count; i++) {
                if (py[i] != (px[i] < 0.0f ? -px[i] : 0.0f)) {
                    atomic_fetch_add(c->errors, 1);
                    break;
                }
            }
        }
        veil_tensor_free(&y);
    }
    veil_tensor_free(&x);
    return NULL;
}

static void test_concurrent_runs(void **state)
{
    static const char *const ops[4] = {"Neg", "Relu", "Neg", "Neg"};
    static char *names[5] = {(char *)"X", (char *)"a", (char *)"b", (char *)"c", (char *)"Y"};
    struct mb b;
    int64_t shape[2] = {CONC_ROWS, CONC_COLS};
    _Atomic unsigned errors = 0;
    (void)state;

    mb_init(&b, "Neg");
    mb_input_shape(&b, 2, shape);
    mb_chain4(&b, ops, names);
    for (int planned = 0; planned < 2; planned++) {
        for (unsigned threads = 1; threads <= 2; threads++) {
            struct veil_engine_model *m = NULL;
            pthread_t t[CONC_THREADS];
            struct conc c[CONC_THREADS];
            EXPECT_OK(mb_load(&b, &m));
            EXPECT_OK(veil_engine_set_threads(m, threads));
            if (planned) {
                EXPECT_OK(veil_engine_plan(m, NULL));
            }
            for (unsigned i = 0; i < CONC_THREADS; i++) {
                c[i].m = m;
                c[i].id = i;
                c[i].errors = &errors;
                EXPECT_EQ(pthread_create(&t[i], NULL, conc_thread, &c[i]), 0);
            }
            for (unsigned i = 0; i < CONC_THREADS; i++) {
                EXPECT_EQ(pthread_join(t[i], NULL), 0);
            }
            veil_engine_free(m);
        }
    }
    EXPECT_EQ(atomic_load(&errors), 0);
}

/* A run in steps with its input written into the room the plan keeps for it in the arena:
 * X -> Relu -> a -> Neg -> b, Add(b, X) -> Y = min(X, 0), X read until the last node, so the
 * intermediates must not be placed on X's room. Room is given only for the planned type and
 * shape, before the run, and a run runs once. */
static void test_run_input_room(void **state)
{
    static char *x_in[1] = {(char *)"X"};
    static char *a_name[1] = {(char *)"a"};
    static char *b_name[1] = {(char *)"b"};
    static char *add_in[2] = {(char *)"b", (char *)"X"};
    static char *y_name[1] = {(char *)"Y"};
    static const char *const ops[3] = {"Relu", "Neg", "Add"};
    char **ins[3] = {x_in, a_name, add_in};
    char **outs[3] = {a_name, b_name, y_name};
    int64_t shape[2] = {64, 3};
    int64_t other[2] = {5, 3};
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_engine_model *ref = NULL;
    struct veil_engine_run *run = NULL;
    struct veil_engine_run *run2 = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor t = {0};
    struct veil_tensor t2 = {0};
    struct veil_tensor y1 = {0};
    struct veil_tensor y2 = {0};
    uint32_t vx = 0;
    (void)state;

    mb_init(&b, "Relu");
    mb_input_shape(&b, 2, shape);
    b.graph.n_initializer = 0;
    for (int i = 0; i < 3; i++) {
        b.nodes[i].op_type = (char *)ops[i];
        b.nodes[i].n_input = i == 2 ? 2 : 1;
        b.nodes[i].input = ins[i];
        b.nodes[i].n_output = 1;
        b.nodes[i].output = outs[i];
    }
    b.graph.n_node = 3;
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_OK(mb_load(&b, &ref));
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 2, shape));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = (float)i - 90.0f;
    }
    EXPECT_OK(veil_engine_run(ref, &x, &y1, NULL));

    /* unplanned: no room */
    EXPECT_OK(veil_engine_run_begin(ref, &run));
    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, shape));
    EXPECT_FALSE(veil_engine_run_input_room(run, 0, &t));
    EXPECT_NULL(t.data);
    veil_engine_run_end(run);

    /* planned: X has room apart from a and b, which are alive while X is */
    EXPECT_OK(veil_engine_plan(m, NULL));
    vx = m->main->inputs[0]; /* X (value names are kept for the inputs and outputs only) */
    EXPECT_STR_EQ(m->main->values[vx].name, "X");
    EXPECT_TRUE(m->plan->offset[vx] != SIZE_MAX);
    for (uint32_t v = 0; v < m->main->value_count; v++) {
        size_t off = m->plan->offset[v];
        if (v == vx || off == SIZE_MAX) {
            continue;
        }
        EXPECT_TRUE(off + x.size <= m->plan->offset[vx] || m->plan->offset[vx] + x.size <= off);
    }
    EXPECT_OK(veil_engine_run_begin(m, &run));
    EXPECT_FALSE(veil_engine_run_input_room(run, 1, &t)); /* no input 1 */
    EXPECT_OK(veil_tensor_shape(&t2, VEIL_DT_FLOAT, 2, other));
    EXPECT_FALSE(veil_engine_run_input_room(run, 0, &t2)); /* not the planned shape */
    EXPECT_NULL(t2.data);
    EXPECT_OK(veil_tensor_shape(&t2, VEIL_DT_INT32, 2, shape));
    EXPECT_FALSE(veil_engine_run_input_room(run, 0, &t2)); /* nor the planned type */
    EXPECT_NULL(t2.data);
    EXPECT_TRUE(veil_engine_run_input_room(run, 0, &t));
    EXPECT_TRUE(t.borrowed);
    EXPECT_FALSE(veil_engine_run_input_room(run, 0, &t)); /* t has data already */
    memcpy(t.data, x.data, x.size);
    EXPECT_OK(veil_engine_run_exec(run, &t, &y2, NULL));
    EXPECT_EQ(y2.size, y1.size);
    EXPECT_BYTES_EQ(y1.data, y2.data, y1.size);
    veil_tensor_free(&y2);
    EXPECT_ERR(veil_engine_run_exec(run, &t, &y2, NULL), VEIL_ERR_USAGE); /* once */
    EXPECT_NULL(y2.data);
    veil_tensor_free(&t);
    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, shape));
    EXPECT_FALSE(veil_engine_run_input_room(run, 0, &t)); /* not after the run */
    veil_engine_run_end(run);
    EXPECT_EQ(atomic_load(&m->cache_busy), 0);
    EXPECT_NOT_NULL(m->cache_arena);

    /* two runs at once: the second computes in an arena of its own, so its room is elsewhere */
    EXPECT_OK(veil_engine_run_begin(m, &run));
    EXPECT_OK(veil_engine_run_begin(m, &run2));
    EXPECT_OK(veil_tensor_shape(&t2, VEIL_DT_FLOAT, 2, shape));
    EXPECT_TRUE(veil_engine_run_input_room(run, 0, &t));
    EXPECT_TRUE(veil_engine_run_input_room(run2, 0, &t2));
    EXPECT_TRUE(t.data != t2.data);
    memcpy(t.data, x.data, x.size);
    for (size_t i = 0; i < t2.count; i++) {
        ((float *)t2.data)[i] = -1.0f;
    }
    EXPECT_OK(veil_engine_run_exec(run2, &t2, &y2, NULL));
    for (size_t i = 0; i < y2.count; i++) {
        EXPECT_TRUE(((float *)y2.data)[i] == -1.0f);
    }
    veil_tensor_free(&y2);
    EXPECT_OK(veil_engine_run_exec(run, &t, &y2, NULL));
    EXPECT_BYTES_EQ(y1.data, y2.data, y1.size);
    veil_tensor_free(&y2);
    veil_engine_run_end(run2);
    veil_engine_run_end(run);

    /* begun and ended without a run (a refused request): the buffers go back to the model */
    EXPECT_OK(veil_engine_run_begin(m, &run));
    veil_engine_run_end(run);
    EXPECT_EQ(atomic_load(&m->cache_busy), 0);
    EXPECT_NOT_NULL(m->cache_arena);
    veil_engine_run_end(NULL);

    veil_tensor_free(&t);
    veil_tensor_free(&t2);
    veil_tensor_free(&y1);
    veil_tensor_free(&x);
    veil_engine_free(ref);
    veil_engine_free(m);
}

/* protobuf-c's blocks while parsing: the small ones from the parse arena's mappings (more than one
 * chunk here: 100 metadata entries of 3000-byte keys and values), a typed initializer of 80 KB
 * from malloc (freed during the build); the model runs right and the arena is gone once loaded. */
static void test_parse_arena(void **state)
{
    enum { ENTRIES = 100, TEXT = 3000, BIG = 20000 };
    struct mb b;
    struct veil_engine_model *m = NULL;
    Onnx__StringStringEntryProto e[ENTRIES];
    Onnx__StringStringEntryProto *ep[ENTRIES];
    char *text = malloc(TEXT + 1);
    float *w = malloc(BIG * sizeof(*w));
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    int64_t dim = BIG;
    (void)state;

    assert_non_null(text);
    assert_non_null(w);
    memset(text, 'k', TEXT);
    text[TEXT] = '\0';
    for (int i = 0; i < ENTRIES; i++) {
        Onnx__StringStringEntryProto z = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        e[i] = z;
        e[i].key = text;
        e[i].value = text;
        ep[i] = &e[i];
    }
    for (int i = 0; i < BIG; i++) {
        w[i] = (float)(i % 97);
    }
    mb_init(&b, "Add");
    b.model.n_metadata_props = ENTRIES;
    b.model.metadata_props = ep;
    b.init_dims[0] = BIG;
    b.init.n_float_data = BIG;
    b.init.float_data = w;
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_NULL(m->pb_arena.head);
    EXPECT_EQ(m->pb_arena.total, 0);
    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (int i = 0; i < BIG; i++) {
        ((float *)x.data)[i] = (float)i;
    }
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.count, BIG);
    for (int i = 0; i < BIG; i++) {
        EXPECT_TRUE(((float *)y.data)[i] == (float)i + (float)(i % 97));
    }
    veil_tensor_free(&y);
    veil_tensor_free(&x);
    veil_engine_free(m);
    /* the same model cut short fails to parse: what the arena held is unmapped with it */
    {
        size_t n;
        uint8_t *p = mb_pack(&b, &n);
        struct veil_engine_diag diag;
        m = NULL;
        EXPECT_ERR(veil_engine_load(p, n - 3, &diag, &m), VEIL_ERR_ENGINE_MODEL);
        EXPECT_NULL(m);
        free(p);
    }
    free(w);
    free(text);
}

/* Values whose tensor the model holds (initializers, folded results) get no frame slot: runs
 * read them in place; one that is a graph output is copied out. */
static void test_frame_slots(void **state)
{
    struct mb b;
    struct veil_engine_model *m = NULL;
    struct veil_tensor x = {0};
    struct veil_tensor y = {0};
    int64_t dim = 4;
    char *ww[1] = {(char *)"W"};
    char *xc[2] = {(char *)"X", (char *)"C"};
    char *c[1] = {(char *)"C"};
    (void)state;

    EXPECT_OK(veil_tensor_shape(&x, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&x));
    for (int i = 0; i < 4; i++) {
        ((float *)x.data)[i] = 10.0f * (float)i;
    }
    /* C = Squeeze(W) is folded at load, Y = X + C reads it in place */
    mb_init(&b, "Squeeze");
    b.nodes[0].n_input = 1;
    b.nodes[0].input = ww;
    b.nodes[0].output = c;
    b.nodes[1].op_type = (char *)"Add";
    b.nodes[1].n_input = 2;
    b.nodes[1].input = xc;
    b.nodes[1].n_output = 1;
    b.nodes[1].output = b.node_out[0];
    b.graph.n_node = 2;
    for (int pass = 0; pass < 2; pass++) {
        m = NULL;
        EXPECT_OK(mb_load(&b, &m));
        EXPECT_EQ(m->main->value_count, 4);
        EXPECT_EQ(m->main->slot_count, 2); /* X and Y: not W, not C */
        for (uint32_t v = 0; v < m->main->value_count; v++) {
            const struct veil_engine_value *val = &m->main->values[v];
            bool fixed =
                val->kind == VEIL_VALUE_INITIALIZER ||
                (val->kind == VEIL_VALUE_NODE && m->main->nodes[val->producer].has_constant);
            EXPECT_EQ(m->main->slot[v] == VEIL_NO_SLOT, fixed);
            EXPECT_TRUE(fixed || m->main->slot[v] < m->main->slot_count);
        }
        /* what runs give back after each node: slots, none of them a fixed value's */
        EXPECT_EQ(m->main->release_at[0], 0);
        for (uint32_t i = 0; i < m->main->release_at[m->main->node_count]; i++) {
            EXPECT_TRUE(m->main->release[i] < m->main->slot_count);
        }
        for (int run = 0; run < 2; run++) { /* the second reuses the cached frame */
            EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
            EXPECT_EQ(y.count, 4);
            for (int i = 0; i < 4; i++) {
                /* pass 0: Y = X + W; pass 1: the output is C itself, copied */
                float want = pass == 0 ? 11.0f * (float)i : (float)i;
                EXPECT_TRUE(((float *)y.data)[i] == want);
            }
            EXPECT_FALSE(y.borrowed);
            veil_tensor_free(&y);
        }
        veil_engine_free(m);
        b.out.name = (char *)"C";
    }
    /* an initializer as the graph's output: a copy of it */
    mb_init(&b, "Add");
    b.out.name = (char *)"W";
    EXPECT_OK(mb_load(&b, &m));
    EXPECT_EQ(m->main->slot[m->main->outputs[0]], VEIL_NO_SLOT);
    EXPECT_OK(veil_engine_run(m, &x, &y, NULL));
    EXPECT_EQ(y.count, 4);
    EXPECT_FALSE(y.borrowed);
    for (int i = 0; i < 4; i++) {
        EXPECT_TRUE(((float *)y.data)[i] == (float)i);
    }
    veil_tensor_free(&y);
    veil_engine_free(m);
    veil_tensor_free(&x);
}

VEIL_TEST_MAIN(test_valid_model_runs, test_not_a_model, test_truncated, test_no_graph,
               test_raw_data_size_mismatch, test_typed_data_count_mismatch, test_negative_dim,
               test_dims_overflow, test_rank_too_big, test_external_data_refused, test_bad_type,
               test_undefined_input, test_undefined_output, test_duplicate_definition, test_cycle,
               test_unsupported_op, test_opset_range, test_subgraph_depth, test_tensor_roundtrip,
               test_shape_limits, test_tensor_alloc, test_external_data, test_plan,
               test_plan_scratch, test_conv_scratch_tiles, test_plan_nothing, test_parse_dims,
               test_bad_attribute_tensor, test_deep_nesting, test_concurrent_runs,
               test_run_input_room, test_parse_arena, test_frame_slots)
