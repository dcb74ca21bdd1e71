/* engine operators: results on small cases, and hostile tensor data (indices, shapes, sizes)
 * fails with an error, never out-of-bounds access or undefined behaviour. */
#include <math.h>

#include "engine/graph.h"
#include "veil_test.h"

#define IN_MAX 4

static unsigned run_threads = 1;
static uint64_t run_work_max = VEIL_ENGINE_WORK_MAX;

/* Builds and runs a one-node model: inputs i0..i{n-1} (graph inputs), outputs o0..o{m-1}. */
static veil_result run_one(const char *op, uint32_t nin, const struct veil_tensor *ins,
                           Onnx__AttributeProto **attrs, size_t nattr, uint32_t nout,
                           struct veil_tensor *outs)
{
    static char *in_names[IN_MAX] = {(char *)"i0", (char *)"i1", (char *)"i2", (char *)"i3"};
    static char *out_names[IN_MAX] = {(char *)"o0", (char *)"o1", (char *)"o2", (char *)"o3"};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    Onnx__NodeProto *np = &n;
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *osp = &os;
    Onnx__ValueInfoProto vin[IN_MAX];
    Onnx__ValueInfoProto vout[IN_MAX];
    Onnx__ValueInfoProto *pin[IN_MAX];
    Onnx__ValueInfoProto *pout[IN_MAX];
    struct veil_engine_model *model = NULL;
    veil_result r;
    uint8_t *buf;
    size_t size;

    for (uint32_t i = 0; i < IN_MAX; i++) {
        Onnx__ValueInfoProto v = ONNX__VALUE_INFO_PROTO__INIT;
        vin[i] = v;
        vout[i] = v;
        vin[i].name = in_names[i];
        vout[i].name = out_names[i];
        pin[i] = &vin[i];
        pout[i] = &vout[i];
    }
    os.has_version = 1;
    os.version = 17;
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = &g;
    g.n_node = 1;
    g.node = &np;
    g.n_input = nin;
    g.input = pin;
    g.n_output = nout;
    g.output = pout;
    n.op_type = (char *)op;
    n.n_input = nin;
    n.input = in_names;
    n.n_output = nout;
    n.output = out_names;
    n.n_attribute = nattr;
    n.attribute = attrs;
    size = onnx__model_proto__get_packed_size(&m);
    buf = malloc(size);
    assert_non_null(buf);
    onnx__model_proto__pack(&m, buf);
    r = veil_engine_load(buf, size, NULL, &model);
    free(buf);
    if (veil_ok(r)) {
        EXPECT_OK(veil_engine_set_threads(model, run_threads));
        EXPECT_OK(veil_engine_set_limits(model, VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ENGINE_LOOP_MAX,
                                         run_work_max));
        r = veil_engine_run(model, ins, outs, NULL);
        veil_engine_free(model);
    }
    return r;
}

static void make(struct veil_tensor *t, int32_t dtype, uint32_t rank, const int64_t *dims,
                 const double *vals)
{
    memset(t, 0, sizeof(*t));
    EXPECT_OK(veil_tensor_shape(t, dtype, rank, dims));
    EXPECT_OK(veil_tensor_alloc(t));
    for (size_t i = 0; vals != NULL && i < t->count; i++) {
        veil_tensor_set_f64(t, i, vals[i]);
    }
}

static void free_n(struct veil_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        veil_tensor_free(&t[i]);
    }
}

static Onnx__AttributeProto attr_int(const char *name, int64_t v)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    a.name = (char *)name;
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a.has_i = 1;
    a.i = v;
    return a;
}

static void test_add_broadcast(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t d23[2] = {2, 3};
    int64_t d3[1] = {3};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 2, d23, (double[]){1, 2, 3, 4, 5, 6});
    make(&in[1], VEIL_DT_FLOAT, 1, d3, (double[]){10, 20, 30});
    EXPECT_OK(run_one("Add", 2, in, NULL, 0, 1, out));
    EXPECT_EQ(out[0].rank, 2);
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 5) == 36.0);
    free_n(out, 1);
    /* incompatible shapes */
    veil_tensor_free(&in[1]);
    int64_t d4[1] = {4};
    make(&in[1], VEIL_DT_FLOAT, 1, d4, NULL);
    EXPECT_ERR(run_one("Add", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    /* mixed types */
    veil_tensor_free(&in[1]);
    make(&in[1], VEIL_DT_INT32, 1, d3, NULL);
    EXPECT_ERR(run_one("Add", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    free_n(in, 2);
}

static void test_int_arith_is_defined(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t d2[1] = {2};
    (void)state;

    /* INT32_MAX + 1 wraps (no signed overflow), INT64_MIN / -1 does not trap */
    make(&in[0], VEIL_DT_INT32, 1, d2, (double[]){2147483647.0, -5});
    make(&in[1], VEIL_DT_INT32, 1, d2, (double[]){1, 2});
    EXPECT_OK(run_one("Add", 2, in, NULL, 0, 1, out));
    EXPECT_EQ(((int32_t *)out[0].data)[0], INT32_MIN);
    free_n(out, 1);
    EXPECT_OK(run_one("Mul", 2, in, NULL, 0, 1, out));
    free_n(out, 1);
    /* integer division by zero is an error */
    ((int32_t *)in[1].data)[1] = 0;
    EXPECT_ERR(run_one("Div", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
    EXPECT_ERR(run_one("Mod", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
    free_n(in, 2);
    make(&in[0], VEIL_DT_INT64, 1, d2, NULL);
    make(&in[1], VEIL_DT_INT64, 1, d2, NULL);
    ((int64_t *)in[0].data)[0] = INT64_MIN;
    ((int64_t *)in[1].data)[0] = -1;
    ((int64_t *)in[1].data)[1] = 1;
    EXPECT_OK(run_one("Div", 2, in, NULL, 0, 1, out));
    free_n(out, 1);
    EXPECT_OK(run_one("Neg", 1, in, NULL, 0, 1, out));
    EXPECT_TRUE(((int64_t *)out[0].data)[0] == INT64_MIN);
    free_n(out, 1);
    EXPECT_OK(run_one("Abs", 1, in, NULL, 0, 1, out));
    free_n(out, 1);
    free_n(in, 2);
}

static void test_cast_saturates(void **state)
{
    struct veil_tensor in[1];
    struct veil_tensor out[1] = {{0}};
    int64_t d4[1] = {4};
    Onnx__AttributeProto to = attr_int("to", VEIL_DT_INT32);
    Onnx__AttributeProto *attrs[1] = {&to};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 1, d4, (double[]){NAN, 1e30, -1e30, 2.7});
    EXPECT_OK(run_one("Cast", 1, in, attrs, 1, 1, out));
    EXPECT_EQ(((int32_t *)out[0].data)[3], 2);
    free_n(out, 1);
    to.i = VEIL_DT_FLOAT16;
    EXPECT_OK(run_one("Cast", 1, in, attrs, 1, 1, out));
    EXPECT_TRUE(isinf(veil_tensor_get_f64(&out[0], 1)));
    EXPECT_TRUE(fabs(veil_tensor_get_f64(&out[0], 3) - 2.7) < 2e-3);
    free_n(out, 1);
    to.i = VEIL_DT_STRING;
    EXPECT_ERR(run_one("Cast", 1, in, attrs, 1, 1, out), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    to.i = 12345;
    EXPECT_ERR(run_one("Cast", 1, in, attrs, 1, 1, out), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    free_n(in, 1);
}

static void test_gather_bounds(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t d3[1] = {3};
    int64_t d2[1] = {2};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 1, d3, (double[]){1, 2, 3});
    make(&in[1], VEIL_DT_INT64, 1, d2, (double[]){-1, 0});
    EXPECT_OK(run_one("Gather", 2, in, NULL, 0, 1, out));
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 0) == 3.0);
    free_n(out, 1);
    ((int64_t *)in[1].data)[1] = 3;
    EXPECT_ERR(run_one("Gather", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
    ((int64_t *)in[1].data)[1] = INT64_MIN;
    EXPECT_ERR(run_one("Gather", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
    EXPECT_ERR(run_one("GatherElements", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
    free_n(in, 2);
}

static void test_shapes_from_data_are_bounded(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t d6[1] = {6};
    int64_t d2[1] = {2};
    int64_t d3[1] = {3};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 1, d6, NULL);
    make(&in[1], VEIL_DT_INT64, 1, d2, (double[]){4, -1});
    EXPECT_ERR(run_one("Reshape", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    ((int64_t *)in[1].data)[0] = INT64_MAX;
    EXPECT_ERR(run_one("Reshape", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_LIMIT);
    ((int64_t *)in[1].data)[0] = -1;
    ((int64_t *)in[1].data)[1] = -1;
    EXPECT_ERR(run_one("Reshape", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    /* Expand / ConstantOfShape / Tile to absurd sizes */
    ((int64_t *)in[1].data)[0] = (int64_t)1 << 31;
    ((int64_t *)in[1].data)[1] = (int64_t)1 << 31;
    EXPECT_ERR(run_one("Expand", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_LIMIT);
    EXPECT_ERR(run_one("ConstantOfShape", 1, &in[1], NULL, 0, 1, out), VEIL_ERR_ENGINE_LIMIT);
    ((int64_t *)in[1].data)[1] = -3;
    EXPECT_ERR(run_one("ConstantOfShape", 1, &in[1], NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    veil_tensor_free(&in[1]);
    make(&in[1], VEIL_DT_INT64, 1, d2, NULL);
    veil_tensor_free(&in[0]);
    int64_t d11[2] = {1, 1};
    make(&in[0], VEIL_DT_FLOAT, 2, d11, NULL);
    ((int64_t *)in[1].data)[0] = INT64_MAX;
    ((int64_t *)in[1].data)[1] = 2;
    EXPECT_ERR(run_one("Tile", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    free_n(in, 2);
    /* Range with a huge count */
    make(&in[0], VEIL_DT_INT64, 0, NULL, (double[]){0});
    make(&in[1], VEIL_DT_INT64, 0, NULL, (double[]){0});
    {
        struct veil_tensor r3[3];
        make(&r3[0], VEIL_DT_FLOAT, 0, NULL, (double[]){0});
        make(&r3[1], VEIL_DT_FLOAT, 0, NULL, (double[]){1e30});
        make(&r3[2], VEIL_DT_FLOAT, 0, NULL, (double[]){1});
        EXPECT_ERR(run_one("Range", 3, r3, NULL, 0, 1, out), VEIL_ERR_ENGINE_LIMIT);
        ((float *)r3[2].data)[0] = 0;
        EXPECT_ERR(run_one("Range", 3, r3, NULL, 0, 1, out), VEIL_ERR_ENGINE_INDEX);
        free_n(r3, 3);
    }
    free_n(in, 2);
    (void)d3;
}

static void test_matmul_and_softmax(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t d22[2] = {2, 2};
    int64_t d23[2] = {2, 3};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 2, d22, (double[]){1, 2, 3, 4});
    make(&in[1], VEIL_DT_FLOAT, 2, d23, (double[]){1, 0, 2, 0, 1, 3});
    EXPECT_OK(run_one("MatMul", 2, in, NULL, 0, 1, out));
    EXPECT_EQ(out[0].dims[1], 3);
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 2) == 8.0);  /* 1*2 + 2*3 */
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 5) == 18.0); /* 3*2 + 4*3 */
    free_n(out, 1);
    EXPECT_ERR(run_one("MatMul", 2, (struct veil_tensor[]){in[1], in[0]}, NULL, 0, 1, out),
               VEIL_ERR_ENGINE_SHAPE);
    EXPECT_OK(run_one("Softmax", 1, &in[1], NULL, 0, 1, out));
    EXPECT_TRUE(fabs(veil_tensor_get_f64(&out[0], 0) + veil_tensor_get_f64(&out[0], 1) +
                     veil_tensor_get_f64(&out[0], 2) - 1.0) < 1e-6);
    free_n(out, 1);
    free_n(in, 2);
}

static void test_conv(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t dx[4] = {1, 1, 3, 3};
    int64_t dw[4] = {1, 1, 2, 2};
    int64_t dbad[4] = {1, 2, 2, 2};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 4, dx, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    make(&in[1], VEIL_DT_FLOAT, 4, dw, (double[]){1, 0, 0, 1});
    EXPECT_OK(run_one("Conv", 2, in, NULL, 0, 1, out));
    EXPECT_EQ(out[0].dims[2], 2);
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 0) == 6.0);  /* 1 + 5 */
    EXPECT_TRUE(veil_tensor_get_f64(&out[0], 3) == 14.0); /* 5 + 9 */
    free_n(out, 1);
    veil_tensor_free(&in[1]);
    make(&in[1], VEIL_DT_FLOAT, 4, dbad, NULL);
    EXPECT_ERR(run_one("Conv", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_SHAPE);
    free_n(in, 2);
}

static void test_half_precision(void **state)
{
    static const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f};
    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        EXPECT_TRUE(veil_f16_to_f32(veil_f32_to_f16(vals[i])) == vals[i]);
        EXPECT_TRUE(fabsf(veil_bf16_to_f32(veil_f32_to_bf16(vals[i])) - vals[i]) <=
                    fabsf(vals[i]) / 128.0f);
    }
    EXPECT_TRUE(isinf(veil_f16_to_f32(veil_f32_to_f16(1e6f))));
    EXPECT_TRUE(isnan(veil_f16_to_f32(veil_f32_to_f16(NAN))));
    EXPECT_TRUE(veil_f64_to_i64(NAN) == INT64_MIN);
    EXPECT_TRUE(veil_f64_to_i64(1e300) == INT64_MAX);
    EXPECT_TRUE(veil_f64_to_u64(-1e300) == (uint64_t)INT64_MIN);
}

/* The threaded paths (column-split Conv, block-split MatMul) give the single-thread result. */
static void test_threads_agree(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor one[1] = {{0}};
    struct veil_tensor many[1] = {{0}};
    int64_t dx[4] = {1, 3, 24, 24};
    int64_t dw[4] = {5, 3, 3, 3};
    int64_t da[2] = {40, 300};
    int64_t db[2] = {300, 270};
    (void)state;

    for (int pass = 0; pass < 2; pass++) {
        make(&in[0], VEIL_DT_FLOAT, pass ? 2 : 4, pass ? da : dx, NULL);
        make(&in[1], VEIL_DT_FLOAT, pass ? 2 : 4, pass ? db : dw, NULL);
        for (size_t i = 0; i < in[0].count; i++) {
            ((float *)in[0].data)[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
        }
        for (size_t i = 0; i < in[1].count; i++) {
            ((float *)in[1].data)[i] = (float)((i * 104729) % 89) / 44.0f - 1.0f;
        }
        run_threads = 1;
        EXPECT_OK(run_one(pass ? "MatMul" : "Conv", 2, in, NULL, 0, 1, one));
        run_threads = 4;
        EXPECT_OK(run_one(pass ? "MatMul" : "Conv", 2, in, NULL, 0, 1, many));
        run_threads = 1;
        EXPECT_TRUE(veil_tensor_same_shape(&one[0], &many[0]));
        EXPECT_BYTES_EQ(one[0].data, many[0].data, one[0].size);
        free_n(one, 1);
        free_n(many, 1);
        free_n(in, 2);
    }
}

/* The per-node work budget turns an expensive node into an error, not a long computation. */
static void test_work_budget(void **state)
{
    struct veil_tensor in[2];
    struct veil_tensor out[1] = {{0}};
    int64_t da[2] = {40, 300};
    int64_t db[2] = {300, 270};
    (void)state;

    make(&in[0], VEIL_DT_FLOAT, 2, da, NULL);
    make(&in[1], VEIL_DT_FLOAT, 2, db, NULL);
    run_work_max = 40 * 300 * 270 - 1;
    EXPECT_ERR(run_one("MatMul", 2, in, NULL, 0, 1, out), VEIL_ERR_ENGINE_LIMIT);
    run_work_max = 40 * 300 * 270;
    EXPECT_OK(run_one("MatMul", 2, in, NULL, 0, 1, out));
    run_work_max = VEIL_ENGINE_WORK_MAX;
    free_n(out, 1);
    free_n(in, 2);
}

VEIL_TEST_MAIN(test_add_broadcast, test_int_arith_is_defined, test_cast_saturates,
               test_gather_bounds, test_shapes_from_data_are_bounded, test_matmul_and_softmax,
               test_conv, test_half_precision, test_threads_agree, test_work_budget)
