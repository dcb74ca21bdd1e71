/* engine operators: results on small cases, and hostile tensor data (indices, shapes, sizes)
 * fails with an error, never out-of-bounds access or undefined behaviour. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "engine/graph.h"
#include "engine/ops.h"
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

static Onnx__AttributeProto attr_ints(const char *name, int64_t *v, size_t n)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    a.name = (char *)name;
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a.n_ints = n;
    a.ints = v;
    return a;
}

static void fill(struct veil_tensor *t, uint32_t seed)
{
    for (size_t i = 0; i < t->count; i++) {
        ((float *)t->data)[i] = (float)((i * 7919 + seed * 104729) % 201) / 50.0f - 2.0f;
    }
}

static float at(const struct veil_tensor *t, size_t i)
{
    return ((const float *)t->data)[i];
}

/* Plain 2-D convolution (NCHW, groups, strides, pads, dilations) to check the fast kernels. */
static double naive_conv(const struct veil_tensor *x, const struct veil_tensor *w,
                         const struct veil_tensor *b, int64_t group, const int64_t *st,
                         const int64_t *pd, const int64_t *dl, int64_t n, int64_t co, int64_t oh,
                         int64_t ow)
{
    int64_t cin_g = w->dims[1];
    int64_t cout_g = w->dims[0] / group;
    int64_t g = co / cout_g;
    double s = b != NULL ? at(b, (size_t)co) : 0.0;
    for (int64_t ci = 0; ci < cin_g; ci++) {
        for (int64_t kh = 0; kh < w->dims[2]; kh++) {
            for (int64_t kw = 0; kw < w->dims[3]; kw++) {
                int64_t ih = oh * st[0] - pd[0] + kh * dl[0];
                int64_t iw = ow * st[1] - pd[1] + kw * dl[1];
                if (ih < 0 || iw < 0 || ih >= x->dims[2] || iw >= x->dims[3]) {
                    continue;
                }
                size_t xi =
                    (size_t)(((n * x->dims[1] + g * cin_g + ci) * x->dims[2] + ih) * x->dims[3] +
                             iw);
                size_t wi = (size_t)(((co * cin_g + ci) * w->dims[2] + kh) * w->dims[3] + kw);
                s += (double)at(x, xi) * at(w, wi);
            }
        }
    }
    return s;
}

/* The fast convolution kernels (depthwise direct, 1x1 without im2col, im2col with padding) give
 * the plain convolution's result, at 1 and 4 threads. */
static void test_conv_fast_paths(void **state)
{
    static const struct {
        int64_t x[4], w[4], group, st[2], pd[4], dl[2];
    } cases[] = {
        {{1, 3, 7, 9}, {3, 1, 3, 3}, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}}, /* depthwise */
        {{2, 4, 8, 7}, {4, 1, 5, 5}, 4, {2, 2}, {2, 2, 2, 2}, {1, 1}}, /* depthwise, stride 2 */
        {{1, 2, 9, 9}, {2, 1, 3, 3}, 2, {2, 1}, {0, 1, 2, 0}, {2, 2}}, /* asymmetric */
        /* depthwise rows wide enough for register-held blocks of 16 columns: PP-OCR rec's 5x5,
         * row stride 2, dilation with uneven pads and a width that leaves a tail, 1x7 */
        {{1, 3, 12, 80}, {3, 1, 5, 5}, 3, {1, 1}, {2, 2, 2, 2}, {1, 1}},
        {{2, 2, 7, 53}, {2, 1, 3, 3}, 2, {2, 1}, {1, 0, 1, 3}, {1, 2}},
        {{1, 2, 5, 40}, {2, 1, 1, 7}, 2, {1, 1}, {0, 3, 0, 3}, {1, 1}},
        {{1, 2, 4, 20}, {2, 1, 3, 3}, 2, {1, 1}, {1, 1, 1, 1}, {1, 1}},
        /* a padded plane (allocated per part) of 58 x 130 floats, near DW_PAD_MAX (8192), and
         * one of 64 x 130, above it (tap by tap) */
        {{1, 2, 58, 128}, {2, 1, 3, 3}, 2, {1, 1}, {1, 1, 1, 1}, {1, 1}},
        {{1, 2, 64, 128}, {2, 1, 3, 3}, 2, {1, 1}, {1, 1, 1, 1}, {1, 1}},
        {{1, 4, 5, 6}, {3, 4, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}}, /* pointwise */
        {{1, 3, 6, 5}, {2, 3, 3, 2}, 1, {1, 2}, {1, 0, 1, 1}, {1, 1}}, /* im2col, padding */
        /* stride 1, output rows as wide as the input's (im2col rows as shifted copies):
         * dilated, and uneven pads along the row */
        {{1, 2, 9, 12}, {3, 2, 3, 3}, 1, {1, 1}, {2, 2, 2, 2}, {2, 2}},
        {{1, 2, 5, 7}, {2, 2, 3, 3}, 1, {1, 1}, {1, 2, 1, 0}, {1, 1}},
        {{2, 4, 6, 6}, {6, 2, 3, 3}, 2, {1, 1}, {1, 1, 1, 1}, {1, 1}}, /* grouped */
        /* im2col in 3 tiles of rows (4 MiB of columns each), inline and split by columns */
        {{1, 16, 128, 128}, {4, 16, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}},
        /* 2 tiles per part, parts on threads (each its own tile buffer) */
        {{2, 32, 128, 128}, {8, 8, 3, 3}, 4, {1, 1}, {1, 1, 1, 1}, {1, 1}},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct veil_tensor in[3];
        int64_t db = cases[c].w[0];
        int64_t st[2] = {cases[c].st[0], cases[c].st[1]};
        int64_t pd[4] = {cases[c].pd[0], cases[c].pd[1], cases[c].pd[2], cases[c].pd[3]};
        int64_t dl[2] = {cases[c].dl[0], cases[c].dl[1]};
        Onnx__AttributeProto a[4] = {attr_int("group", cases[c].group), attr_ints("strides", st, 2),
                                     attr_ints("pads", pd, 4), attr_ints("dilations", dl, 2)};
        Onnx__AttributeProto *ap[4] = {&a[0], &a[1], &a[2], &a[3]};
        make(&in[0], VEIL_DT_FLOAT, 4, cases[c].x, NULL);
        make(&in[1], VEIL_DT_FLOAT, 4, cases[c].w, NULL);
        make(&in[2], VEIL_DT_FLOAT, 1, &db, NULL);
        fill(&in[0], 1);
        fill(&in[1], 2);
        fill(&in[2], 3);
        for (unsigned threads = 1; threads <= 4; threads += 3) {
            struct veil_tensor out[1] = {{0}};
            double worst = 0;
            run_threads = threads;
            EXPECT_OK(run_one("Conv", 3, in, ap, 4, 1, out));
            run_threads = 1;
            for (size_t i = 0; i < out[0].count; i++) {
                int64_t ow = (int64_t)i % out[0].dims[3];
                int64_t oh = (int64_t)i / out[0].dims[3] % out[0].dims[2];
                int64_t co = (int64_t)i / out[0].dims[3] / out[0].dims[2] % out[0].dims[1];
                int64_t n = (int64_t)i / out[0].dims[3] / out[0].dims[2] / out[0].dims[1];
                double want =
                    naive_conv(&in[0], &in[1], &in[2], cases[c].group, st, pd, dl, n, co, oh, ow);
                double d = fabs(want - at(&out[0], i));
                worst = d > worst ? d : worst;
            }
            EXPECT_TRUE(worst < 1e-4);
            free_n(out, 1);
        }
        free_n(in, 3);
    }
}

/* Float elementwise fast path (inner run contiguous or repeated) against double arithmetic, for
 * the broadcast shapes models use, plus NaN through Max. */
static void test_binary_fast_paths(void **state)
{
    static const struct {
        const char *op;
        uint32_t ra, rb;
        int64_t a[4], b[4];
    } cases[] = {
        {"Add", 4, 4, {2, 3, 4, 5}, {1, 3, 1, 1}},
        {"Mul", 4, 3, {1, 3, 4, 5}, {3, 1, 1}},
        {"Sub", 4, 1, {2, 3, 4, 9}, {9}},
        {"Div", 1, 4, {1}, {2, 3, 4, 5}},
        {"Max", 4, 4, {2, 3, 4, 5}, {2, 3, 4, 5}},
        {"Min", 3, 4, {3, 1, 5}, {2, 3, 4, 5}},
        {"Add", 4, 4, {1, 3, 1, 16}, {2, 1, 20, 16}},
        {"Mul", 2, 2, {3, 1}, {1, 40}},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct veil_tensor in[2];
        struct veil_tensor out[1] = {{0}};
        struct veil_tensor *ins[2] = {&in[0], &in[1]};
        struct veil_bcast it;
        make(&in[0], VEIL_DT_FLOAT, cases[c].ra, cases[c].a, NULL);
        make(&in[1], VEIL_DT_FLOAT, cases[c].rb, cases[c].b, NULL);
        fill(&in[0], 4);
        fill(&in[1], 5);
        ((float *)in[1].data)[0] = strcmp(cases[c].op, "Max") == 0 ? NAN : 0.5f;
        run_threads = c % 2 ? 4 : 1;
        EXPECT_OK(run_one(cases[c].op, 2, in, NULL, 0, 1, out));
        run_threads = 1;
        veil_bcast_init(&it, &out[0], (const struct veil_tensor *const *)ins, 2);
        for (size_t i = 0; i < out[0].count; i++, veil_bcast_next(&it)) {
            double x = at(&in[0], it.off[0]);
            double y = at(&in[1], it.off[1]);
            char k = cases[c].op[0] == 'M' ? cases[c].op[1] : cases[c].op[0];
            double want = k == 'A'   ? x + y
                          : k == 'S' ? x - y
                          : k == 'u' ? x * y
                          : k == 'D' ? x / y
                          : k == 'a' ? (isnan(x) || isnan(y) ? NAN : (x > y ? x : y))
                                     : (isnan(x) || isnan(y) ? NAN : (x < y ? x : y));
            float got = at(&out[0], i);
            EXPECT_TRUE((isnan(want) && isnan(got)) || got == (float)want);
        }
        free_n(out, 1);
        free_n(in, 2);
    }
}

/* MaxPool/AveragePool fast path with padding (and count_include_pad), and the batch-1 Gemm
 * (transB) GEMV against plain loops. */
static void test_pool_and_gemv_fast_paths(void **state)
{
    int64_t dx[4] = {1, 2, 7, 6};
    int64_t ks[2] = {3, 2};
    int64_t st[2] = {2, 2};
    int64_t pd[4] = {1, 1, 1, 0};
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        struct veil_tensor in[1];
        struct veil_tensor out[1] = {{0}};
        Onnx__AttributeProto a[4] = {attr_ints("kernel_shape", ks, 2), attr_ints("strides", st, 2),
                                     attr_ints("pads", pd, 4), attr_int("count_include_pad", 1)};
        Onnx__AttributeProto *ap[4] = {&a[0], &a[1], &a[2], &a[3]};
        make(&in[0], VEIL_DT_FLOAT, 4, dx, NULL);
        fill(&in[0], 6);
        EXPECT_OK(
            run_one(kind == 0 ? "MaxPool" : "AveragePool", 1, in, ap, kind == 2 ? 4 : 3, 1, out));
        for (size_t i = 0; i < out[0].count; i++) {
            int64_t ow = (int64_t)i % out[0].dims[3];
            int64_t oh = (int64_t)i / out[0].dims[3] % out[0].dims[2];
            int64_t pl = (int64_t)i / out[0].dims[3] / out[0].dims[2];
            double acc = kind == 0 ? -INFINITY : 0.0;
            int count = 0;
            for (int64_t kh = 0; kh < ks[0]; kh++) {
                for (int64_t kw = 0; kw < ks[1]; kw++) {
                    int64_t ih = oh * st[0] - pd[0] + kh;
                    int64_t iw = ow * st[1] - pd[1] + kw;
                    bool inside = ih >= 0 && iw >= 0 && ih < dx[2] && iw < dx[3];
                    bool in_pad =
                        ih >= -pd[0] && iw >= -pd[1] && ih < dx[2] + pd[2] && iw < dx[3] + pd[3];
                    count += inside || (kind == 2 && in_pad);
                    if (inside) {
                        double v = at(&in[0], (size_t)((pl * dx[2] + ih) * dx[3] + iw));
                        acc = kind == 0 ? (v > acc ? v : acc) : acc + v;
                    }
                }
            }
            acc = kind == 0 ? acc : acc / count;
            EXPECT_TRUE(fabs(acc - at(&out[0], i)) < 1e-6);
        }
        free_n(out, 1);
        free_n(in, 1);
    }
    {
        struct veil_tensor in[3];
        struct veil_tensor out[1] = {{0}};
        int64_t da[2] = {1, 37};
        int64_t db[2] = {19, 37};
        int64_t dc[1] = {19};
        Onnx__AttributeProto a[1] = {attr_int("transB", 1)};
        Onnx__AttributeProto *ap[1] = {&a[0]};
        make(&in[0], VEIL_DT_FLOAT, 2, da, NULL);
        make(&in[1], VEIL_DT_FLOAT, 2, db, NULL);
        make(&in[2], VEIL_DT_FLOAT, 1, dc, NULL);
        fill(&in[0], 7);
        fill(&in[1], 8);
        fill(&in[2], 9);
        EXPECT_OK(run_one("Gemm", 3, in, ap, 1, 1, out));
        for (size_t j = 0; j < 19; j++) {
            double s = at(&in[2], j);
            for (size_t p = 0; p < 37; p++) {
                s += (double)at(&in[0], p) * at(&in[1], j * 37 + p);
            }
            EXPECT_TRUE(fabs(s - at(&out[0], j)) < 1e-4);
        }
        free_n(out, 1);
        free_n(in, 3);
    }
}

/* A chain of nodes read from a table: {op, in0, in1, in2, out}; names of initializers are
 * given with their tensors; graph input "x"; graph outputs listed. */
struct chain_node {
    const char *op;
    const char *in[5];
    const char *out;
};

static uint32_t chain_folded;    /* nodes of the last run_chain model computed at load */
static uint32_t chain_inplace;   /* Convs of it whose weights were folded in place (no copy) */
static uint32_t chain_packed;    /* nodes of the last run_chain model with weights packed at load */
static uint32_t chain_pack_only; /* of them, packed over the weights (no other copy kept) */
static bool chain_borrow;        /* load with veil_engine_load_inplace (weights in the buffer) */
static bool chain_plan;          /* plan for x's shape before the run */
static const struct veil_tensor *chain_watch; /* when set: are its bytes still in the buffer? */
static bool chain_watch_intact;
static bool chain_w_borrowed; /* the first node's input 1 is an initializer left in the buffer */
static Onnx__AttributeProto **chain_attrs; /* attributes of node chain_attr_node (NULL: none) */
static uint32_t chain_slots;               /* the run frame's slots (graph.h slot_count) */
static size_t chain_nattr;
static size_t chain_attr_node;

static veil_result run_chain(const struct chain_node *nodes, size_t nn, const char **init_names,
                             const struct veil_tensor *inits, size_t ni, const char **outs,
                             size_t no, const struct veil_tensor *x, struct veil_tensor *results,
                             uint32_t *skipped)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *osp = &os;
    Onnx__NodeProto node[8];
    Onnx__NodeProto *np[8];
    Onnx__TensorProto tp[12];
    Onnx__TensorProto *tpp[12];
    int64_t tdims[12][VEIL_ENGINE_RANK_MAX];
    Onnx__ValueInfoProto vin = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *pin = &vin;
    Onnx__ValueInfoProto vout[4];
    Onnx__ValueInfoProto *pout[4];
    char *node_in[8][5];
    char *node_out[8];
    struct veil_engine_model *model = NULL;
    uint8_t *buf;
    size_t size;
    veil_result r;

    assert_true(nn <= 8 && ni <= 12 && no <= 4);
    os.has_version = 1;
    os.version = 17;
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = &g;
    for (size_t i = 0; i < nn; i++) {
        Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
        node[i] = n;
        node[i].op_type = (char *)nodes[i].op;
        for (size_t k = 0; k < 5 && nodes[i].in[k] != NULL; k++) {
            node_in[i][k] = (char *)nodes[i].in[k];
            node[i].n_input = k + 1;
        }
        node[i].input = node_in[i];
        node_out[i] = (char *)nodes[i].out;
        node[i].n_output = 1;
        node[i].output = &node_out[i];
        if (i == chain_attr_node) {
            node[i].n_attribute = chain_nattr;
            node[i].attribute = chain_attrs;
        }
        np[i] = &node[i];
    }
    for (size_t i = 0; i < ni; i++) {
        Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
        tp[i] = t;
        tp[i].name = (char *)init_names[i];
        tp[i].has_data_type = 1;
        tp[i].data_type = inits[i].dtype; /* VEIL_DT_* are the TensorProto codes */
        tp[i].n_dims = inits[i].rank;
        for (uint32_t d = 0; d < inits[i].rank; d++) {
            tdims[i][d] = inits[i].dims[d];
        }
        tp[i].dims = tdims[i];
        tp[i].has_raw_data = 1;
        tp[i].raw_data.len = inits[i].size;
        tp[i].raw_data.data = inits[i].data;
        tpp[i] = &tp[i];
    }
    for (size_t i = 0; i < no; i++) {
        Onnx__ValueInfoProto v = ONNX__VALUE_INFO_PROTO__INIT;
        vout[i] = v;
        vout[i].name = (char *)outs[i];
        pout[i] = &vout[i];
    }
    vin.name = (char *)"x";
    g.n_node = nn;
    g.node = np;
    g.n_initializer = ni;
    g.initializer = tpp;
    g.n_input = 1;
    g.input = &pin;
    g.n_output = no;
    g.output = pout;
    size = onnx__model_proto__get_packed_size(&m);
    buf = malloc(size);
    assert_non_null(buf);
    onnx__model_proto__pack(&m, buf);
    r = chain_borrow ? veil_engine_load_inplace(buf, size, NULL, &model)
                     : veil_engine_load(buf, size, NULL, &model);
    if (veil_ok(r)) {
        *skipped = 0;
        chain_folded = 0;
        chain_inplace = 0;
        chain_packed = 0;
        chain_pack_only = 0;
        for (uint32_t i = 0; i < model->main->node_count; i++) {
            *skipped += model->main->nodes[i].skip;
            chain_folded += model->main->nodes[i].has_constant;
            chain_inplace +=
                model->main->nodes[i].fused && model->main->nodes[i].x->fused_w->borrowed;
            chain_packed += model->main->nodes[i].wpack != NULL;
            chain_pack_only += model->main->nodes[i].wpack_only;
            /* the fusion record: on the nodes that fuse, and only on them */
            const struct veil_engine_node *nd = &model->main->nodes[i];
            EXPECT_EQ(nd->x != NULL, nd->fused || nd->hswish || nd->act);
        }
        chain_slots = model->main->slot_count;
        chain_w_borrowed =
            model->main->node_count > 0 && model->main->nodes[0].in_count > 1 &&
            model->main->nodes[0].in[1] != VEIL_NO_VALUE &&
            model->main->values[model->main->nodes[0].in[1]].kind == VEIL_VALUE_INITIALIZER &&
            model->main->values[model->main->nodes[0].in[1]].init->borrowed;
        EXPECT_OK(veil_engine_set_threads(model, run_threads));
        if (chain_plan) {
            /* a chain of one node has nothing to plan (its output is the graph's): it then runs
             * unplanned, as veil-serve runs such a model */
            veil_result pr = veil_engine_plan_for(model, x, NULL);
            if (pr.code != VEIL_ERR_ENGINE_NOTHING_TO_PLAN) {
                EXPECT_OK(pr);
            }
        }
        r = veil_engine_run(model, x, results, NULL);
        if (chain_watch != NULL) {
            chain_watch_intact = false;
            for (size_t o = 0; o + chain_watch->size <= size && !chain_watch_intact; o++) {
                chain_watch_intact = memcmp(buf + o, chain_watch->data, chain_watch->size) == 0;
            }
        }
        veil_engine_free(model);
    }
    free(buf);
    return r;
}

/* Conv -> per-channel Mul -> Add and Add/Clip/Mul/Div hard-swish are folded when the
 * intermediates have no other reader; exposing an intermediate as a graph output keeps the
 * nodes apart. Both runs must agree (the hard-swish chain bit for bit). */
static void test_fusions_match_unfused(void **state)
{
    static const struct chain_node nodes[] = {
        {"Conv", {"x", "w", "b"}, "c0"},
        {"BatchNormalization", {"c0", "g", "bb", "mu", "var"}, "c"},
        {"Mul", {"s", "c", NULL}, "m"},
        {"Add", {"m", "t", NULL}, "a"},
        {"Add", {"a", "three", NULL}, "h1"},
        {"Clip", {"h1", "zero", "six"}, "h2"},
        {"Mul", {"a", "h2", NULL}, "h3"},
        {"Div", {"h3", "six", NULL}, "y"},
    };
    const char *names[] = {"w", "b", "s", "t", "three", "zero", "six", "g", "bb", "mu", "var"};
    struct veil_tensor inits[11];
    struct veil_tensor x[1];
    int64_t dx[4] = {1, 3, 6, 5};
    int64_t dw[4] = {4, 3, 3, 3};
    int64_t d4[1] = {4};
    int64_t dc[3] = {4, 1, 1};
    int64_t d1[1] = {1};
    const char *fused_out[] = {"y"};
    const char *open_out[] = {"y", "c0", "h1", "h3"};
    struct veil_tensor fused[1] = {{0}};
    struct veil_tensor open[4] = {{0}};
    uint32_t skipped = 0;
    (void)state;

    make(&inits[0], VEIL_DT_FLOAT, 4, dw, NULL);
    make(&inits[1], VEIL_DT_FLOAT, 1, d4, NULL);
    make(&inits[2], VEIL_DT_FLOAT, 3, dc, NULL);
    make(&inits[3], VEIL_DT_FLOAT, 3, dc, NULL);
    make(&inits[4], VEIL_DT_FLOAT, 1, d1, (double[]){3});
    make(&inits[5], VEIL_DT_FLOAT, 1, d1, (double[]){0});
    make(&inits[6], VEIL_DT_FLOAT, 1, d1, (double[]){6});
    for (int i = 7; i < 11; i++) {
        make(&inits[i], VEIL_DT_FLOAT, 1, d4, NULL);
    }
    for (int i = 0; i < 11; i++) {
        if (i < 4 || i >= 7) {
            fill(&inits[i], (uint32_t)i + 11);
        }
    }
    for (size_t i = 0; i < 4; i++) { /* variances must be positive */
        ((float *)inits[10].data)[i] = fabsf(((float *)inits[10].data)[i]) + 0.25f;
    }
    make(&x[0], VEIL_DT_FLOAT, 4, dx, NULL);
    fill(&x[0], 17);
    EXPECT_OK(run_chain(nodes, 8, names, inits, 11, fused_out, 1, x, fused, &skipped));
    EXPECT_EQ(skipped, 6);       /* BN, Mul, Add into the Conv; Clip, Mul, Div into the Add */
    EXPECT_EQ(chain_inplace, 1); /* w has no other reader: folded into, not copied */
    /* x, a (the fused Conv's), y: c0, c, m, h1, h2 and h3 only skipped nodes name, no slot */
    EXPECT_EQ(chain_slots, 3);
    EXPECT_OK(run_chain(nodes, 8, names, inits, 11, open_out, 4, x, open, &skipped));
    EXPECT_EQ(skipped, 0);
    EXPECT_EQ(chain_slots, 9); /* x and every node's output */
    EXPECT_TRUE(veil_tensor_same_shape(&fused[0], &open[0]));
    for (size_t i = 0; i < fused[0].count; i++) {
        EXPECT_TRUE(fabsf(at(&fused[0], i) - at(&open[0], i)) <= 1e-4f);
    }
    free_n(fused, 1);
    free_n(open, 4);
    /* hard-swish alone (the Conv output exposed): bit-identical to the separate nodes */
    {
        const char *half_out[] = {"y", "c0"};
        struct veil_tensor half[2] = {{0}};
        const char *full_out[] = {"y", "c0", "h3"};
        struct veil_tensor full[3] = {{0}};
        EXPECT_OK(run_chain(nodes, 8, names, inits, 11, half_out, 2, x, half, &skipped));
        EXPECT_EQ(skipped, 3);
        EXPECT_EQ(chain_slots, 6); /* h1, h2, h3 between the hard-swish's nodes: none */
        EXPECT_OK(run_chain(nodes, 8, names, inits, 11, full_out, 3, x, full, &skipped));
        EXPECT_EQ(skipped, 0);
        EXPECT_BYTES_EQ(half[0].data, full[0].data, half[0].size);
        free_n(half, 2);
        free_n(full, 3);
    }
    free_n(inits, 11);
    free_n(x, 1);
}

/* Conv -> LeakyRelu -> Max(constant) folded into the Conv (openWakeWord's embedding model), the
 * constant on either side of Max: the same bytes as the three nodes run apart (their values
 * graph outputs, so nothing folds), at 1 and 4 threads, on packed convolutions split by columns
 * and by panels and on a depthwise one (applied after the kernel). */
static void test_fusion_conv_act(void **state)
{
    static const struct {
        int64_t x[4], w[4], group;
        bool k_first;
    } cases[] = {
        {{1, 8, 24, 40}, {16, 8, 1, 3}, 1, false}, /* 960 columns: split by column blocks */
        {{1, 8, 4, 6}, {16, 8, 3, 3}, 1, true},    /* 24 columns: split by panels */
        {{1, 8, 9, 7}, {8, 1, 3, 3}, 8, false},    /* depthwise */
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct chain_node nodes[3] = {{"Conv", {"x", "w", "b"}, "c"},
                                      {"LeakyRelu", {"c", NULL, NULL}, "l"},
                                      {"Max", {"l", "k", NULL}, "y"}};
        const char *names[] = {"w", "b", "k"};
        struct veil_tensor inits[3];
        struct veil_tensor x[1];
        int64_t db = cases[c].w[0];
        int64_t pd[4] = {1, 1, 1, 1};
        Onnx__AttributeProto conv_a[2] = {attr_int("group", cases[c].group),
                                          attr_ints("pads", pd, 4)};
        Onnx__AttributeProto *conv_ap[2] = {&conv_a[0], &conv_a[1]};
        Onnx__AttributeProto alpha = ONNX__ATTRIBUTE_PROTO__INIT;
        Onnx__AttributeProto *alpha_p = &alpha;
        alpha.name = (char *)"alpha";
        alpha.has_type = 1;
        alpha.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        alpha.has_f = 1;
        alpha.f = 0.2f;
        if (cases[c].k_first) {
            nodes[2].in[0] = "k";
            nodes[2].in[1] = "l";
        }
        make(&inits[0], VEIL_DT_FLOAT, 4, cases[c].w, NULL);
        make(&inits[1], VEIL_DT_FLOAT, 1, &db, NULL);
        make(&inits[2], VEIL_DT_FLOAT, 0, NULL, (double[]){-0.05});
        fill(&inits[0], 31);
        fill(&inits[1], 32);
        make(&x[0], VEIL_DT_FLOAT, 4, cases[c].x, NULL);
        fill(&x[0], 33);
        for (unsigned threads = 1; threads <= 4; threads += 3) {
            struct veil_tensor fused[1] = {{0}};
            struct veil_tensor open[3] = {{0}};
            uint32_t skipped = 0;
            run_threads = threads;
            for (int v = 0; v < 2; v++) {
                /* the group and pads on the Conv, alpha on the LeakyRelu: two runs of the
                 * attribute hook; the depthwise case keeps the Conv's (LeakyRelu default) */
                bool conv_attrs = cases[c].group > 1;
                chain_attr_node = conv_attrs ? 0 : 1;
                chain_attrs = conv_attrs ? conv_ap : &alpha_p;
                chain_nattr = conv_attrs ? 2 : 1;
                if (v == 0) {
                    EXPECT_OK(run_chain(nodes, 3, names, inits, 3, (const char *[]){"y"}, 1, x,
                                        fused, &skipped));
                    EXPECT_EQ(skipped, 2);
                } else {
                    EXPECT_OK(run_chain(nodes, 3, names, inits, 3, (const char *[]){"y", "c", "l"},
                                        3, x, open, &skipped));
                    EXPECT_EQ(skipped, 0);
                }
                chain_attr_node = 0;
                chain_attrs = NULL;
                chain_nattr = 0;
            }
            run_threads = 1;
            EXPECT_TRUE(veil_tensor_same_shape(&fused[0], &open[0]));
            EXPECT_BYTES_EQ(fused[0].data, open[0].data, fused[0].size);
            bool clipped = false; /* the constant took part */
            for (size_t i = 0; i < fused[0].count; i++) {
                clipped = clipped || at(&fused[0], i) == -0.05f;
            }
            EXPECT_TRUE(clipped);
            free_n(fused, 1);
            free_n(open, 3);
        }
        free_n(inits, 3);
        free_n(x, 1);
    }
}

/* Weights another node also reads are folded into a copy: the other Conv sees them unchanged. */
static void test_fusion_shared_weights(void **state)
{
    static const struct chain_node nodes[] = {
        {"Conv", {"x", "w", "b"}, "c0"},
        {"BatchNormalization", {"c0", "g", "bb", "mu", "var"}, "c"},
        {"Conv", {"x", "w", "b"}, "d"},
        {"Add", {"c", "d", NULL}, "y"},
    };
    const char *names[] = {"w", "b", "g", "bb", "mu", "var"};
    struct veil_tensor inits[6];
    struct veil_tensor x[1];
    struct veil_tensor fused[1] = {{0}};
    struct veil_tensor open[2] = {{0}};
    int64_t dx[4] = {1, 3, 6, 5};
    int64_t dw[4] = {4, 3, 3, 3};
    int64_t d4[1] = {4};
    uint32_t skipped;
    (void)state;

    make(&inits[0], VEIL_DT_FLOAT, 4, dw, NULL);
    for (int i = 1; i < 6; i++) {
        make(&inits[i], VEIL_DT_FLOAT, 1, d4, NULL);
    }
    for (int i = 0; i < 6; i++) {
        fill(&inits[i], (uint32_t)i + 31);
    }
    for (size_t i = 0; i < 4; i++) { /* variances must be positive */
        ((float *)inits[5].data)[i] = fabsf(((float *)inits[5].data)[i]) + 0.25f;
    }
    make(&x[0], VEIL_DT_FLOAT, 4, dx, NULL);
    fill(&x[0], 37);
    chain_borrow = true;
    chain_watch = &inits[0];
    EXPECT_OK(run_chain(nodes, 4, names, inits, 6, (const char *[]){"y"}, 1, x, fused, &skipped));
    EXPECT_EQ(skipped, 1);
    EXPECT_EQ(chain_inplace, 0);
    /* the fused Conv's folded copy is its own: packed over; the other Conv's w is not */
    EXPECT_EQ(chain_packed, veil_gemm_pack_fast() ? 2 : 0);
    EXPECT_EQ(chain_pack_only, veil_gemm_pack_fast() ? 1 : 0);
    EXPECT_TRUE(chain_watch_intact);
    EXPECT_OK(
        run_chain(nodes, 4, names, inits, 6, (const char *[]){"y", "c0"}, 2, x, open, &skipped));
    EXPECT_EQ(skipped, 0);
    EXPECT_EQ(chain_pack_only, 0);
    EXPECT_TRUE(chain_watch_intact);
    chain_borrow = false;
    chain_watch = NULL;
    for (size_t i = 0; i < fused[0].count; i++) {
        EXPECT_TRUE(fabsf(at(&fused[0], i) - at(&open[0], i)) <= 1e-4f);
    }
    free_n(fused, 1);
    free_n(open, 2);
    free_n(inits, 6);
    free_n(x, 1);
}

/* MaxPool whose windows all lie inside the input (the row-wise path) against a plain window
 * loop with the same rule (first element, then larger ones: NaN only when first). */
static void test_maxpool_inside(void **state)
{
    static const struct {
        int64_t k[2], st[2], dl[2];
    } cases[] = {{{2, 2}, {2, 2}, {1, 1}}, {{3, 2}, {2, 1}, {1, 1}}, {{2, 3}, {1, 2}, {2, 1}}};
    int64_t dx[4] = {1, 2, 8, 9};
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct veil_tensor in[1];
        struct veil_tensor out[1] = {{0}};
        int64_t ks[2] = {cases[c].k[0], cases[c].k[1]};
        int64_t st[2] = {cases[c].st[0], cases[c].st[1]};
        int64_t dl[2] = {cases[c].dl[0], cases[c].dl[1]};
        Onnx__AttributeProto a[3] = {attr_ints("kernel_shape", ks, 2), attr_ints("strides", st, 2),
                                     attr_ints("dilations", dl, 2)};
        Onnx__AttributeProto *ap[3] = {&a[0], &a[1], &a[2]};
        make(&in[0], VEIL_DT_FLOAT, 4, dx, NULL);
        fill(&in[0], 31);
        ((float *)in[0].data)[0] = NAN;  /* first element of the first window */
        ((float *)in[0].data)[12] = NAN; /* inside windows of row 1 */
        EXPECT_OK(run_one("MaxPool", 1, in, ap, 3, 1, out));
        for (size_t i = 0; i < out[0].count; i++) {
            int64_t ow = (int64_t)i % out[0].dims[3];
            int64_t oh = (int64_t)i / out[0].dims[3] % out[0].dims[2];
            int64_t pl = (int64_t)i / out[0].dims[3] / out[0].dims[2];
            float m = 0.0f;
            for (int64_t kh = 0; kh < ks[0]; kh++) {
                for (int64_t kw = 0; kw < ks[1]; kw++) {
                    int64_t ih = oh * st[0] + kh * dl[0];
                    int64_t iw = ow * st[1] + kw * dl[1];
                    float v = at(&in[0], (size_t)((pl * dx[2] + ih) * dx[3] + iw));
                    m = (kh == 0 && kw == 0) || v > m ? v : m;
                }
            }
            EXPECT_TRUE(isnan(m) ? isnan(at(&out[0], i)) : at(&out[0], i) == m);
        }
        free_n(out, 1);
        free_n(in, 1);
    }
}

/* Float reductions over one block of axes (the direct loop) against the same values as
 * doubles (the general loop, same double arithmetic): equal after rounding to float, but for
 * sums over the last axis (partial sums in double: within a few units of the last place). */
static void test_reduce_block(void **state)
{
    static const char *const ops[] = {"ReduceSum", "ReduceMean",      "ReduceMax",      "ReduceMin",
                                      "ReduceL2",  "ReduceLogSumExp", "ReduceSumSquare"};
    static const int64_t axes[][3] = {{1, 1}, {2, 1, 2}, {1, 3}, {1, 0}, {2, 2, 3}, {2, 1, 3}};
    int64_t dx[4] = {2, 3, 4, 21}; /* the last axis longer than the 8 partial sums */
    (void)state;
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        for (size_t a = 0; a < sizeof(axes) / sizeof(axes[0]); a++) {
            for (int64_t keep = 0; keep < 2; keep++) {
                struct veil_tensor xf[1];
                struct veil_tensor xd[1];
                struct veil_tensor yf[1] = {{0}};
                struct veil_tensor yd[1] = {{0}};
                int64_t ax[2] = {axes[a][1], axes[a][2]};
                Onnx__AttributeProto attrs[2] = {attr_ints("axes", ax, (size_t)axes[a][0]),
                                                 attr_int("keepdims", keep)};
                Onnx__AttributeProto *ap[2] = {&attrs[0], &attrs[1]};
                make(&xf[0], VEIL_DT_FLOAT, 4, dx, NULL);
                make(&xd[0], VEIL_DT_DOUBLE, 4, dx, NULL);
                fill(&xf[0], 41);
                ((float *)xf[0].data)[7] = NAN;
                for (size_t i = 0; i < xf[0].count; i++) {
                    ((double *)xd[0].data)[i] = ((float *)xf[0].data)[i];
                }
                EXPECT_OK(run_one(ops[o], 1, xf, ap, 2, 1, yf));
                EXPECT_OK(run_one(ops[o], 1, xd, ap, 2, 1, yd));
                EXPECT_TRUE(veil_tensor_same_shape(&yf[0], &yd[0]));
                for (size_t i = 0; i < yf[0].count; i++) {
                    float want = (float)((double *)yd[0].data)[i];
                    float got = at(&yf[0], i);
                    EXPECT_TRUE(isnan(want) ? isnan(got)
                                            : fabsf(got - want) <= 1e-6f * (1.0f + fabsf(want)));
                }
                free_n(yf, 1);
                free_n(yd, 1);
                free_n(xf, 1);
                free_n(xd, 1);
            }
        }
    }
}

/* Float nearest Resize split by output rows over threads: the same bytes as one thread, and
 * each output the input element floor(o / 2) at scale 2 (half_pixel, round_prefer_floor). */
static void test_resize_nearest_threads(void **state)
{
    struct veil_tensor in[3];
    int64_t dx[4] = {1, 3, 40, 30};
    int64_t d0[1] = {0};
    int64_t d4[1] = {4};
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 4, dx, NULL);
    make(&in[1], VEIL_DT_FLOAT, 1, d0, NULL);
    make(&in[2], VEIL_DT_FLOAT, 1, d4, (double[]){1, 1, 2, 2});
    fill(&in[0], 51);
    struct veil_tensor one[1] = {{0}};
    struct veil_tensor many[1] = {{0}};
    run_threads = 1;
    EXPECT_OK(run_one("Resize", 3, in, NULL, 0, 1, one));
    run_threads = 4;
    EXPECT_OK(run_one("Resize", 3, in, NULL, 0, 1, many));
    run_threads = 1;
    EXPECT_TRUE(veil_tensor_same_shape(&one[0], &many[0]));
    EXPECT_EQ(one[0].dims[2], 80);
    EXPECT_BYTES_EQ(one[0].data, many[0].data, one[0].size);
    for (size_t i = 0; i < one[0].count; i++) {
        size_t ow = i % 60;
        size_t oh = i / 60 % 80;
        size_t ch = i / 60 / 80;
        EXPECT_TRUE(at(&one[0], i) == at(&in[0], (ch * 40 + oh / 2) * 30 + ow / 2));
    }
    free_n(one, 1);
    free_n(many, 1);
    free_n(in, 3);
}

/* LSTM (gates four hidden units at a time with AVX-512) against a plain double LSTM: forward,
 * 2 steps, input 19 and hidden 6 (a block of 4 and 2 single units, vector tails), with bias;
 * Y, Y_h and Y_c. */
static void test_lstm_against_plain(void **state)
{
    enum { S = 2, I = 19, H = 6 };
    struct veil_tensor in[4];
    struct veil_tensor out[3] = {{0}};
    int64_t dx[3] = {S, 1, I};
    int64_t dw[3] = {1, 4 * H, I};
    int64_t dr[3] = {1, 4 * H, H};
    int64_t db[2] = {1, 8 * H};
    Onnx__AttributeProto a[1] = {attr_int("hidden_size", H)};
    Onnx__AttributeProto *ap[1] = {&a[0]};
    double h[H];
    double cs[H];
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 3, dx, NULL);
    make(&in[1], VEIL_DT_FLOAT, 3, dw, NULL);
    make(&in[2], VEIL_DT_FLOAT, 3, dr, NULL);
    make(&in[3], VEIL_DT_FLOAT, 2, db, NULL);
    for (int i = 0; i < 4; i++) {
        fill(&in[i], 60 + (uint32_t)i);
    }
    EXPECT_OK(run_one("LSTM", 4, in, ap, 1, 3, out));
    for (int j = 0; j < H; j++) {
        h[j] = 0.0;
        cs[j] = 0.0;
    }
    for (int t = 0; t < S; t++) {
        double g[4][H];
        double nh[H];
        for (int q = 0; q < 4; q++) { /* gates i, o, f, c */
            for (int j = 0; j < H; j++) {
                size_t row = (size_t)(q * H + j);
                double v = at(&in[3], row) + at(&in[3], (size_t)(4 * H) + row);
                for (int k = 0; k < I; k++) {
                    v += (double)at(&in[0], (size_t)(t * I + k)) * at(&in[1], row * I + (size_t)k);
                }
                for (int k = 0; k < H; k++) {
                    v += h[k] * at(&in[2], row * H + (size_t)k);
                }
                g[q][j] = v;
            }
        }
        for (int j = 0; j < H; j++) {
            double it = 1.0 / (1.0 + exp(-g[0][j]));
            double ot = 1.0 / (1.0 + exp(-g[1][j]));
            double ft = 1.0 / (1.0 + exp(-g[2][j]));
            cs[j] = ft * cs[j] + it * tanh(g[3][j]);
            nh[j] = ot * tanh(cs[j]);
        }
        memcpy(h, nh, sizeof(h));
    }
    for (int j = 0; j < H; j++) {
        EXPECT_TRUE(fabs(at(&out[1], (size_t)j) - h[j]) < 1e-5);
        EXPECT_TRUE(fabs(at(&out[2], (size_t)j) - cs[j]) < 1e-5);
        EXPECT_TRUE(fabs(at(&out[0], (size_t)(H + j)) - h[j]) < 1e-5); /* Y at the last step */
    }
    free_n(out, 3);
    free_n(in, 4);
}

/* LSTM refuses an X that is not rank 3 as a shape error (Silero VAD given a sample rate its If
 * does not expect feeds it one), and an X of another type as a type the kernel lacks. */
static void test_lstm_refusals(void **state)
{
    enum { I = 3, H = 2 };
    struct veil_tensor in[3];
    struct veil_tensor out[3] = {{0}};
    int64_t dx2[2] = {1, I};
    int64_t dx[3] = {1, 1, I};
    int64_t dw[3] = {1, 4 * H, I};
    int64_t dr[3] = {1, 4 * H, H};
    Onnx__AttributeProto a[1] = {attr_int("hidden_size", H)};
    Onnx__AttributeProto *ap[1] = {&a[0]};
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 2, dx2, NULL);
    make(&in[1], VEIL_DT_FLOAT, 3, dw, NULL);
    make(&in[2], VEIL_DT_FLOAT, 3, dr, NULL);
    EXPECT_ERR(run_one("LSTM", 3, in, ap, 1, 3, out), VEIL_ERR_ENGINE_SHAPE);
    free_n(in, 1);
    make(&in[0], VEIL_DT_INT32, 3, dx, NULL);
    EXPECT_ERR(run_one("LSTM", 3, in, ap, 1, 3, out), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    free_n(out, 3);
    free_n(in, 3);
}

/* Float GlobalAveragePool (partial sums, planes over threads) against a plain double mean. */
static void test_global_average_pool(void **state)
{
    struct veil_tensor in[1];
    int64_t dx[4] = {2, 40, 7, 9}; /* 63 elements a plane: 7 blocks of 8 and a tail */
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 4, dx, NULL);
    fill(&in[0], 71);
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        struct veil_tensor out[1] = {{0}};
        run_threads = threads;
        EXPECT_OK(run_one("GlobalAveragePool", 1, in, NULL, 0, 1, out));
        run_threads = 1;
        EXPECT_EQ(out[0].count, 80);
        for (size_t pl = 0; pl < 80; pl++) {
            double want = 0.0;
            for (size_t i = 0; i < 63; i++) {
                want += at(&in[0], pl * 63 + i);
            }
            want /= 63.0;
            EXPECT_TRUE(fabs(at(&out[0], pl) - want) <= 1e-6 * (1.0 + fabs(want)));
        }
        free_n(out, 1);
    }
    free_n(in, 1);
}

/* Float Softmax split by rows over threads: the same bytes as one thread; rows sum to 1. */
static void test_softmax_threads(void **state)
{
    struct veil_tensor in[1];
    struct veil_tensor one[1] = {{0}};
    struct veil_tensor many[1] = {{0}};
    int64_t dx[2] = {200, 700}; /* 24 rows a part: 8 parts */
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 2, dx, NULL);
    fill(&in[0], 81);
    run_threads = 1;
    EXPECT_OK(run_one("Softmax", 1, in, NULL, 0, 1, one));
    run_threads = 4;
    EXPECT_OK(run_one("Softmax", 1, in, NULL, 0, 1, many));
    run_threads = 1;
    EXPECT_BYTES_EQ(one[0].data, many[0].data, one[0].size);
    for (size_t r = 0; r < 200; r++) {
        double sum = 0.0;
        for (size_t k = 0; k < 700; k++) {
            sum += at(&one[0], r * 700 + k);
        }
        EXPECT_TRUE(fabs(sum - 1.0) < 1e-4);
    }
    free_n(one, 1);
    free_n(many, 1);
    free_n(in, 1);
}

/* Exp, Sigmoid and Tanh (vmath.c float kernels) and Softmax/LogSoftmax (float exp) against the
 * double reference: within a few float ulp (a relative 4e-7, or 1e-37 absolute near 0), over
 * values from -120 to 120 with the edges (infinities, NaN, zeros) and a length that is not a
 * multiple of the vector width, at 1 and 2 threads. */
static double ref_unary(const char *op, double x)
{
    switch (op[0]) {
        case 'E':
            return exp(x);
        case 'S':
            return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
        default:
            return tanh(x);
    }
}

static bool close_float(float got, double want)
{
    if (isnan(want)) {
        return isnan(got);
    }
    if (isinf((float)want)) { /* also beyond the float range */
        return got == (float)want;
    }
    return fabs((double)got - want) <= 4e-7 * fabs(want) + 1e-37;
}

static void test_float_exp_ops(void **state)
{
    static const char *const ops[] = {"Exp", "Sigmoid", "Tanh"};
    struct veil_tensor in[1];
    int64_t dx[2] = {7, 4099};
    (void)state;
    make(&in[0], VEIL_DT_FLOAT, 2, dx, NULL);
    float *x = in[0].data;
    for (size_t i = 0; i < in[0].count; i++) {
        x[i] = (float)((double)((i * 7919) % 24001) / 100.0 - 120.0);
    }
    x[3] = INFINITY;
    x[4] = -INFINITY;
    x[5] = NAN;
    x[6] = 0.0f;
    x[7] = -0.0f;
    x[8] = 88.8f;
    x[9] = -103.5f;
    for (unsigned t = 1; t <= 2; t++) {
        run_threads = t;
        for (size_t k = 0; k < 3; k++) {
            struct veil_tensor out[1] = {{0}};
            EXPECT_OK(run_one(ops[k], 1, in, NULL, 0, 1, out));
            for (size_t i = 0; i < in[0].count; i++) {
                EXPECT_TRUE(close_float(at(&out[0], i), ref_unary(ops[k], (double)x[i])));
            }
            free_n(out, 1);
        }
        /* Softmax rows of 4099 (heap row buffer) and of 7 (stack), with a -inf in a row */
        for (int log_sm = 0; log_sm < 2; log_sm++) {
            for (int wide = 0; wide < 2; wide++) {
                struct veil_tensor sin[1];
                struct veil_tensor out[1] = {{0}};
                int64_t ds[2] = {wide ? 7 : 4099, wide ? 4099 : 7};
                Onnx__AttributeProto a = attr_int("axis", 1);
                Onnx__AttributeProto *ap = &a;
                make(&sin[0], VEIL_DT_FLOAT, 2, ds, NULL);
                float *sx = sin[0].data;
                for (size_t i = 0; i < sin[0].count; i++) {
                    sx[i] = isfinite(x[i]) ? x[i] / 8.0f : (float)i / 1000.0f;
                }
                sx[1] = -INFINITY;
                EXPECT_OK(run_one(log_sm ? "LogSoftmax" : "Softmax", 1, sin, &ap, 1, 1, out));
                size_t n = (size_t)ds[1];
                for (size_t r = 0; r < (size_t)ds[0]; r++) {
                    const float *xr = sx + r * n;
                    double mx = -INFINITY;
                    double sum = 0;
                    for (size_t j = 0; j < n; j++) {
                        mx = xr[j] > mx ? xr[j] : mx;
                    }
                    for (size_t j = 0; j < n; j++) {
                        sum += exp((double)xr[j] - mx);
                    }
                    for (size_t j = 0; j < n; j++) {
                        double d = (double)xr[j] - mx;
                        double want = log_sm ? d - log(sum) : exp(d) / sum;
                        float got = at(&out[0], r * n + j);
                        /* softmax: a few ulp of each term and of the sum, and x - max
                         * rounded to float (as ONNX Runtime does): |d| ulp of e^d */
                        bool ok =
                            got == want ||
                            (log_sm ? fabs(got - want) <= 1e-6 * (1 + fabs(want))
                                    : fabs(got - want) <= (5e-7 + 1.2e-7 * fabs(d)) * want + 1e-37);
                        if (!ok) {
                            print_message("%s wide %d [%zu,%zu]: got %g want %g d %g\n",
                                          log_sm ? "LogSoftmax" : "Softmax", wide, r, j,
                                          (double)got, want, d);
                        }
                        EXPECT_TRUE(ok);
                    }
                }
                free_n(out, 1);
                free_n(sin, 1);
            }
        }
    }
    run_threads = 1;
    free_n(in, 1);
}

/* The packed-weights SGEMM (pack.c), vector and plain micro-kernels, against the reference
 * GEMM plus bias: row counts that are not a multiple of the panel height, column tails, depths
 * beyond one block, a row stride wider than the columns. */
static void test_sgemm_packed(void **state)
{
    static const size_t shapes[][4] = {
        /* m, n, k, ldb */
        {1, 1, 1, 1},         {8, 48, 16, 48},   {5, 47, 3, 50},     {13, 97, 200, 97},
        {16, 1000, 27, 1000}, {24, 50, 400, 64}, {3, 769, 193, 800}, {9, 16, 1, 16},
        {20, 3, 300, 5},      {33, 8, 64, 8},    {17, 5, 7, 9},      {8, 2, 5, 2},
        {258, 4, 256, 4}, /* few columns: the row-vector kernel (pack.c small_n) */
    };
    (void)state;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        size_t m = shapes[s][0];
        size_t n = shapes[s][1];
        size_t k = shapes[s][2];
        size_t ldb = shapes[s][3];
        size_t ldc = n + 3;
        float *a = calloc(m * k, sizeof(float));
        float *b = calloc(k * ldb, sizeof(float));
        float *bias = calloc(m, sizeof(float));
        float *want = calloc(m * ldc, sizeof(float));
        float *got = calloc(m * ldc, sizeof(float));
        float *ref = calloc(m * ldc, sizeof(float));
        float *ac = calloc(m * k, sizeof(float));
        struct veil_gemm_pack *pk = NULL;
        assert_true(a != NULL && b != NULL && bias != NULL && want != NULL && got != NULL &&
                    ref != NULL && ac != NULL);
        for (size_t i = 0; i < m * k; i++) {
            a[i] = (float)((i * 7919) % 97) / 48.0f - 1.0f;
        }
        for (size_t i = 0; i < k * ldb; i++) {
            b[i] = (float)((i * 104729) % 89) / 44.0f - 1.0f;
        }
        for (size_t i = 0; i < m; i++) {
            bias[i] = (float)i - 2.5f;
        }
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            for (size_t i = 0; i < m * ldc; i++) {
                want[i] = got[i] = ref[i] = -7.0f; /* the gaps between rows stay as they are */
            }
            veil_sgemm_ref(false, false, m, n, k, 1.0f, a, k, b, ldb, 0.0f, want, ldc);
            for (size_t i = 0; with_bias && i < m; i++) {
                for (size_t j = 0; j < n; j++) {
                    want[i * ldc + j] += bias[i];
                }
            }
            if (with_bias) { /* packed over a copy of a (the tail panel allocated) */
                memcpy(ac, a, m * k * sizeof(float));
                EXPECT_OK(veil_gemm_pack_in_place(ac, m, k, &pk));
                EXPECT_EQ(pk->owned, m % VEIL_PACK_MR != 0 ? k * VEIL_PACK_MR * sizeof(float) : 0);
            } else {
                EXPECT_OK(veil_gemm_pack_new(a, m, k, k, &pk));
            }
            if (with_bias) {
                /* in two parts by panels, as threads run it */
                size_t half = pk->panels / 2;
                veil_sgemm_packed_panels(pk, 0, half, n, b, ldb, bias, got, ldc);
                veil_sgemm_packed_panels(pk, half, pk->panels + 1, n, b, ldb, bias, got, ldc);
            } else {
                veil_sgemm_packed(pk, n, b, ldb, NULL, got, ldc);
            }
            veil_sgemm_packed_ref(pk, n, b, ldb, with_bias ? bias : NULL, ref, ldc);
            veil_gemm_pack_free(pk);
            for (size_t i = 0; i < m * ldc; i++) {
                bool gap = i % ldc >= n;
                float tol = 1e-4f * (1.0f + fabsf(want[i]));
                EXPECT_TRUE(gap ? got[i] == -7.0f && ref[i] == -7.0f
                                : fabsf(got[i] - want[i]) <= tol && fabsf(ref[i] - want[i]) <= tol);
            }
        }
        free(a);
        free(b);
        free(bias);
        free(want);
        free(got);
        free(ref);
        free(ac);
    }
    EXPECT_ERR(veil_gemm_pack_new(NULL, 0, 4, 4, &(struct veil_gemm_pack *){NULL}),
               VEIL_ERR_ENGINE_SHAPE);
    EXPECT_ERR(veil_gemm_pack_in_place(NULL, 8, 4, &(struct veil_gemm_pack *){NULL}),
               VEIL_ERR_ENGINE_SHAPE);
}

/* Conv with constant weights (packed at load when the CPU has the vector kernel) gives what
 * the same Conv with the weights as a graph input (veil_sgemm) gives: 1-, 2- and 3-D, 1x1,
 * padding, stride, im2col in several tiles, channels not a multiple of 8, depth beyond one
 * block, few output columns, with and without bias, at 1 and 4 threads, planned or not. The
 * Conv is the weights' only reader: the panels are written over them (owned, or borrowed from
 * the model buffer, where they are then no longer found) and it runs from the panels alone. */
static void test_conv_packed_weights(void **state)
{
    static const struct {
        uint32_t rank;
        int64_t x[5], w[5], st, pd;
        bool bias;
    } cases[] = {
        {4, {1, 4, 5, 6}, {3, 4, 1, 1}, 1, 0, true},        /* pointwise */
        {4, {2, 24, 9, 11}, {13, 24, 3, 3}, 1, 1, true},    /* k = 216, 2 images */
        {4, {1, 3, 17, 19}, {8, 3, 3, 3}, 2, 1, false},     /* stride 2 */
        {4, {1, 16, 128, 128}, {4, 16, 3, 3}, 1, 1, true},  /* 3 im2col tiles */
        {4, {1, 32, 40, 40}, {20, 32, 1, 1}, 1, 0, true},   /* pointwise, split by columns */
        {4, {1, 512, 12, 12}, {64, 512, 1, 1}, 1, 0, true}, /* few columns: split by channels */
        {4, {2, 6, 9, 11}, {5, 6, 3, 1}, 1, 0, true},       /* 3x1: input rows read in place */
        {4, {1, 96, 34, 32}, {96, 96, 3, 1}, 1, 0, false},  /* the same, split over threads */
        {3, {1, 6, 50, 0}, {9, 6, 5, 0}, 1, 2, true},       /* 1-D */
        {5, {1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, 1, true},  /* 3-D */
        {3, {1, 6, 10, 0}, {9, 6, 3, 0}, 1, 0, true},       /* 8 columns: 16-wide tile */
        {3, {2, 40, 20, 0}, {24, 40, 4, 0}, 2, 1, false},   /* 10 columns, 2 images */
        {4, {1, 16, 5, 4}, {16, 16, 3, 3}, 1, 1, true},     /* 20 columns */
        /* 1x3, rows as wide as the input's: each tap's im2col row one shifted copy (the
         * first and last output rows read outside the input: zeros) */
        {4, {1, 24, 74, 32}, {24, 24, 1, 3}, 1, 1, true},
        {4, {1, 72, 14, 4}, {96, 72, 1, 3}, 1, 1, true}, /* 64 columns: split by panels */
        {4, {1, 1, 7, 7}, {1, 1, 3, 3}, 1, 1, true},     /* one channel in and out */
    };
    size_t borrowed = 0;
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint32_t rank = cases[c].rank;
        uint32_t sp = rank - 2;
        int64_t st[3] = {cases[c].st, cases[c].st, cases[c].st};
        int64_t pd[6] = {cases[c].pd, cases[c].pd, cases[c].pd,
                         cases[c].pd, cases[c].pd, cases[c].pd};
        Onnx__AttributeProto a[2] = {attr_ints("strides", st, sp), attr_ints("pads", pd, 2 * sp)};
        Onnx__AttributeProto *ap[2] = {&a[0], &a[1]};
        struct chain_node node[1] = {{"Conv", {"x", "w", cases[c].bias ? "b" : NULL}, "y"}};
        const char *names[2] = {"w", "b"};
        struct veil_tensor in[3];
        int64_t db = cases[c].w[0];
        uint32_t skipped;
        make(&in[0], VEIL_DT_FLOAT, rank, cases[c].x, NULL);
        make(&in[1], VEIL_DT_FLOAT, rank, cases[c].w, NULL);
        make(&in[2], VEIL_DT_FLOAT, 1, &db, NULL);
        fill(&in[0], 21);
        fill(&in[1], 22);
        fill(&in[2], 23);
        /* threads 1 and 4; owned and borrowed weights; planned (threads 4) or not */
        for (unsigned v = 0; v < 4; v++) {
            struct veil_tensor packed[1] = {{0}};
            struct veil_tensor plain[1] = {{0}};
            run_threads = v < 2 ? 1 : 4;
            chain_borrow = v % 2 == 1;
            chain_plan = v >= 2;
            chain_watch = &in[1];
            chain_attrs = ap;
            chain_nattr = 2;
            EXPECT_OK(run_chain(node, 1, names, &in[1], cases[c].bias ? 2 : 1,
                                (const char *[]){"y"}, 1, &in[0], packed, &skipped));
            chain_attrs = NULL;
            chain_nattr = 0;
            chain_borrow = false;
            chain_plan = false;
            chain_watch = NULL;
            EXPECT_EQ(chain_packed, veil_gemm_pack_fast() ? 1 : 0);
            /* the only reader: packed over the weights, which are then gone from the buffer
             * when borrowed from it */
            EXPECT_EQ(chain_pack_only, chain_packed);
            EXPECT_EQ(chain_watch_intact, !(chain_w_borrowed && chain_pack_only == 1));
            borrowed += chain_w_borrowed;
            EXPECT_OK(run_one("Conv", cases[c].bias ? 3 : 2, in, ap, 2, 1, plain));
            run_threads = 1;
            EXPECT_TRUE(veil_tensor_same_shape(&packed[0], &plain[0]));
            for (size_t i = 0; i < plain[0].count; i++) {
                float want = at(&plain[0], i);
                EXPECT_TRUE(fabsf(at(&packed[0], i) - want) <= 1e-4f * (1.0f + fabsf(want)));
            }
            free_n(packed, 1);
            free_n(plain, 1);
        }
        free_n(in, 3);
    }
    assert_true(borrowed > 0); /* the borrowed case was there to check */
}

/* Slice/Concat/Reshape of constants are computed once at load (the nodes then hand out the
 * result) and give what running them gives. */
static void test_constant_folding(void **state)
{
    static const struct chain_node nodes[] = {
        {"Slice", {"c", "st", "en"}, "s"},
        {"Concat", {"s", "s"}, "cc"},
        {"Reshape", {"cc", "shape"}, "r"},
        {"Add", {"x", "r"}, "y"},
    };
    const char *names[] = {"c", "st", "en", "shape"};
    struct veil_tensor inits[4];
    struct veil_tensor x[1];
    struct veil_tensor out[1] = {{0}};
    int64_t d10[1] = {10};
    int64_t d1[1] = {1};
    int64_t d2[1] = {2};
    int64_t dx[2] = {2, 3};
    uint32_t skipped;
    (void)state;

    make(&inits[0], VEIL_DT_FLOAT, 1, d10, (double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    make(&inits[1], VEIL_DT_INT64, 1, d1, (double[]){2});
    make(&inits[2], VEIL_DT_INT64, 1, d1, (double[]){5});
    make(&inits[3], VEIL_DT_INT64, 1, d2, (double[]){2, 3});
    make(&x[0], VEIL_DT_FLOAT, 2, dx, (double[]){10, 20, 30, 40, 50, 60});
    EXPECT_OK(run_chain(nodes, 4, names, inits, 4, (const char *[]){"y"}, 1, x, out, &skipped));
    /* only r is kept: s and cc, read by folded nodes only, are dropped after loading */
    EXPECT_EQ(chain_folded, 1);
    EXPECT_EQ(skipped, 2);
    EXPECT_EQ(out[0].count, 6);
    for (size_t i = 0; i < 6; i++) {
        EXPECT_TRUE(at(&out[0], i) == (float)(10 * (i + 1) + 2 + i % 3));
    }
    free_n(out, 1);
    free_n(inits, 4);
    free_n(x, 1);
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

/* ConvTranspose (2-D, stride 2, pad 1, kernel 4: every output sums 4 taps from 2 input rows) whose
 * columns take 4 tiles of input rows, against a direct sum in double; one call on a small image
 * (one tile) too. */
static void test_conv_transpose_tiles(void **state)
{
    static const int64_t xs[2][4] = {{1, 2, 128, 64}, {2, 4, 5, 3}};
    static const int64_t ws[2][4] = {{2, 32, 4, 4}, {4, 3, 4, 4}};
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        struct veil_tensor in[3];
        struct veil_tensor out[1] = {{0}};
        int64_t db = ws[c][1] * 2;
        int64_t st[2] = {2, 2};
        int64_t pd[4] = {1, 1, 1, 1};
        Onnx__AttributeProto a[3] = {attr_int("group", 2), attr_ints("strides", st, 2),
                                     attr_ints("pads", pd, 4)};
        Onnx__AttributeProto *ap[3] = {&a[0], &a[1], &a[2]};
        double worst = 0;
        make(&in[0], VEIL_DT_FLOAT, 4, xs[c], NULL);
        make(&in[1], VEIL_DT_FLOAT, 4, ws[c], NULL);
        make(&in[2], VEIL_DT_FLOAT, 1, &db, NULL);
        fill(&in[0], 4);
        fill(&in[1], 5);
        fill(&in[2], 6);
        EXPECT_OK(run_one("ConvTranspose", 3, in, ap, 3, 1, out));
        int64_t cin = xs[c][1], ih_n = xs[c][2], iw_n = xs[c][3], mg = ws[c][1];
        int64_t oh_n = out[0].dims[2], ow_n = out[0].dims[3], cg = cin / 2;
        assert_int_equal(oh_n, (ih_n - 1) * 2 - 2 + 4);
        for (size_t i = 0; i < out[0].count; i++) {
            int64_t ow = (int64_t)i % ow_n;
            int64_t oh = (int64_t)i / ow_n % oh_n;
            int64_t co = (int64_t)i / ow_n / oh_n % (2 * mg);
            int64_t n = (int64_t)i / ow_n / oh_n / (2 * mg);
            int64_t gr = co / mg;
            double want = at(&in[2], (size_t)co);
            for (int64_t ci = gr * cg; ci < (gr + 1) * cg; ci++) {
                for (int64_t kh = 0; kh < 4; kh++) {
                    for (int64_t kw = 0; kw < 4; kw++) {
                        int64_t th = oh + 1 - kh;
                        int64_t tw = ow + 1 - kw;
                        if (th < 0 || tw < 0 || th % 2 != 0 || tw % 2 != 0 || th / 2 >= ih_n ||
                            tw / 2 >= iw_n) {
                            continue;
                        }
                        want +=
                            (double)at(&in[0],
                                       (size_t)(((n * cin + ci) * ih_n + th / 2) * iw_n + tw / 2)) *
                            at(&in[1], (size_t)(((ci * mg + co % mg) * 4 + kh) * 4 + kw));
                    }
                }
            }
            double d = fabs(want - at(&out[0], i));
            worst = d > worst ? d : worst;
        }
        EXPECT_TRUE(worst < 1e-4);
        free_n(out, 1);
        free_n(in, 3);
    }
}

/* A new buffer of `size` bytes filled with 0xAA, given to the pool. */
static void pool_put(struct veil_engine_pool *p, size_t size)
{
    struct veil_tensor t = {0};
    t.size = size;
    EXPECT_OK(veil_tensor_alloc(&t));
    memset(t.data, 0xAA, size);
    veil_pool_give(p, &t);
}

/* The run-time buffer pool: reuse within 2x, earlier bytes never visible, a miss frees the smaller
 * idle buffers (up to the request) instead of keeping them beside the new one, bounded count. */
static void test_buffer_pool_bounded(void **state)
{
    struct veil_engine_pool p = {0};
    struct veil_tensor t = {0};
    uint8_t *u;
    (void)state;

    pool_put(&p, 1000);
    assert_int_equal(p.count, 1);
    t.size = 600; /* reused; the tail beyond the tensor zeroed */
    EXPECT_OK(veil_pool_take(&p, &t, false));
    assert_int_equal(p.count, 0);
    u = t.data;
    for (size_t i = 600; i < 1000; i++) {
        assert_int_equal(u[i], 0);
    }
    memset(t.data, 0xAA, 600);
    veil_pool_give(&p, &t);
    t.size = 100; /* reused and zeroed whole */
    EXPECT_OK(veil_pool_take(&p, &t, true));
    u = t.data;
    for (size_t i = 0; i < 1000; i++) {
        assert_int_equal(u[i], 0);
    }
    veil_pool_give(&p, &t);

    pool_put(&p, 2000);
    assert_int_equal(p.count, 2);
    t.size = 100000; /* a miss: both smaller idle buffers go */
    EXPECT_OK(veil_pool_take(&p, &t, true));
    assert_int_equal(p.count, 0);
    veil_tensor_free(&t);

    pool_put(&p, 10000);
    pool_put(&p, 20000);
    pool_put(&p, 300000);
    assert_int_equal(p.count, 3);
    t.size = 25000; /* a miss: 20000 then 10000 freed (together >= the request), 300000 kept */
    EXPECT_OK(veil_pool_take(&p, &t, true));
    veil_tensor_free(&t);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.size[0], 300000);
    t.size = 16000; /* a miss: nothing smaller to free; the big one stays (more than 2x) */
    EXPECT_OK(veil_pool_take(&p, &t, true));
    veil_tensor_free(&t);
    assert_int_equal(p.count, 1);
    t.size = 200000; /* within 2x: reused */
    EXPECT_OK(veil_pool_take(&p, &t, true));
    assert_int_equal(p.count, 0);
    veil_tensor_free(&t);

    for (size_t i = 0; i < 100; i++) { /* at most 64 idle buffers, the rest wiped and freed */
        struct veil_tensor b = {0};
        b.size = 64;
        EXPECT_OK(veil_tensor_alloc(&b));
        veil_pool_give(&p, &b);
    }
    assert_int_equal(p.count, 64);

    void *s1;
    void *s2;
    EXPECT_OK(veil_pool_take_scratch(&p, 4096, &s1)); /* one scratch buffer, grown in place */
    EXPECT_OK(veil_pool_take_scratch(&p, 100, &s2));  /* busy: a second comes from the pool */
    assert_ptr_not_equal(s1, s2);
    veil_pool_give_scratch(&p, s2, 100);
    veil_pool_give_scratch(&p, s1, 4096);
    EXPECT_OK(veil_pool_take_scratch(&p, 8192, &s1));
    assert_int_equal(p.scratch_size, 8192);
    veil_pool_give_scratch(&p, s1, 8192);
    EXPECT_OK(veil_pool_take_scratch(&p, 1000, &s1));
    assert_int_equal(p.scratch_size, 8192);
    veil_pool_give_scratch(&p, s1, 1000);
    veil_pool_free(&p);

    p.keep_none = true; /* the planning run's pool: nothing idle */
    pool_put(&p, 1000);
    assert_int_equal(p.count, 0);
    veil_pool_free(&p);
}

/* The kept worker threads under races: several threads dispatch at once (one gets the workers,
 * the others threads of their own), inside and outside graph runs (workers spinning or asleep,
 * woken), with parts nested in parts and parts slow enough that the dispatcher sleeps until a
 * worker finishes. Every item of every dispatch must be done exactly once. */
#define RACE_THREADS 4
#define RACE_ROUNDS  400
#define RACE_N       256
#define RACE_INNER   8

struct race {
    const struct veil_op_ctx *c;
    _Atomic unsigned hits[RACE_N];
    _Atomic unsigned inner[RACE_N * RACE_INNER];
    size_t outer; /* nested dispatches count into inner[outer * RACE_INNER ...] */
    bool nested;
    bool slow;
};

static void race_inner(void *ctx, size_t begin, size_t end)
{
    struct race *r = ctx;
    for (size_t i = begin; i < end; i++) {
        atomic_fetch_add(&r->inner[r->outer * RACE_INNER + i], 1);
    }
}

static void race_part(void *ctx, size_t begin, size_t end)
{
    struct race *r = ctx;
    for (size_t i = begin; i < end; i++) {
        atomic_fetch_add(&r->hits[i], 1);
    }
    if (r->slow && begin > 0) {
        struct timespec ts = {0, 300000};
        (void)nanosleep(&ts, NULL);
    }
    if (r->nested) {
        /* a part of its own with the workers taken: threads of its own or inline */
        struct race *in = malloc(sizeof(*in));
        if (in == NULL) {
            return;
        }
        memset(in, 0, sizeof(*in));
        in->outer = begin;
        veil_result res = veil_op_parallel(r->c, RACE_INNER, 1, race_inner, in);
        for (size_t k = 0; k < RACE_INNER; k++) {
            unsigned want = veil_ok(res) ? 1 : 0;
            if (atomic_load(&in->inner[begin * RACE_INNER + k]) != want || !veil_ok(res)) {
                atomic_fetch_add(&r->hits[begin], 1000); /* reported by the caller */
            }
        }
        free(in);
    }
}

static _Atomic unsigned race_errors;

static void *race_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct veil_engine_frame f = {0};
    struct veil_op_ctx c = {0};
    struct race *r = malloc(sizeof(*r));
    if (r == NULL) {
        atomic_fetch_add(&race_errors, 1);
        return NULL;
    }
    f.threads = 2 + id % 3;
    c.frame = &f;
    for (unsigned it = 0; it < RACE_ROUNDS; it++) {
        bool in_run = it % 4 != 0;
        size_t n = 1 + (it * 37 + id * 11) % RACE_N;
        memset(r, 0, sizeof(*r));
        r->c = &c;
        r->nested = it % 5 == 1;
        r->slow = it % 7 == 3;
        if (in_run) {
            veil_par_run_begin(f.threads);
        }
        if (!veil_ok(veil_op_parallel(&c, n, 1 + it % 3, race_part, r))) {
            atomic_fetch_add(&race_errors, 1);
        }
        for (size_t i = 0; i < RACE_N; i++) {
            if (atomic_load(&r->hits[i]) != (i < n ? 1u : 0u)) {
                atomic_fetch_add(&race_errors, 1);
            }
        }
        if (in_run) {
            veil_par_run_end(f.threads);
        }
        if (it % 64 == 63) {
            struct timespec ts = {0, 3000000}; /* outside runs the workers go to sleep */
            (void)nanosleep(&ts, NULL);
        }
    }
    free(r);
    return NULL;
}

static void test_parallel_pool_races(void **state)
{
    pthread_t t[RACE_THREADS];
    (void)state;
    atomic_store(&race_errors, 0);
    for (unsigned i = 0; i < RACE_THREADS; i++) {
        EXPECT_EQ(pthread_create(&t[i], NULL, race_thread, (void *)(uintptr_t)i), 0);
    }
    for (unsigned i = 0; i < RACE_THREADS; i++) {
        EXPECT_EQ(pthread_join(t[i], NULL), 0);
    }
    EXPECT_EQ(atomic_load(&race_errors), 0);
}

VEIL_TEST_MAIN(test_add_broadcast, test_softmax_threads, test_global_average_pool,
               test_lstm_against_plain, test_lstm_refusals, test_resize_nearest_threads,
               test_maxpool_inside, test_reduce_block, test_sgemm_packed, test_conv_packed_weights,
               test_int_arith_is_defined, test_cast_saturates, test_gather_bounds,
               test_shapes_from_data_are_bounded, test_matmul_and_softmax, test_conv,
               test_half_precision, test_threads_agree, test_work_budget, test_conv_fast_paths,
               test_binary_fast_paths, test_pool_and_gemv_fast_paths, test_fusions_match_unfused,
               test_fusion_shared_weights, test_constant_folding, test_buffer_pool_bounded,
               test_conv_transpose_tiles, test_float_exp_ops, test_parallel_pool_races,
               test_fusion_conv_act)
