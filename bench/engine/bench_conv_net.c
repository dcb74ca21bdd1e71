/* bench_conv_net: an 8-layer 3x3 convolution net (64 channels, 56x56, 1.85 GFLOP) built in
 * memory, run by the engine with its GEMM dispatch and, in the same run, with the reference
 * kernel only (the reference this benchmark is measured against), with and without a static
 * memory plan. Prints milliseconds per inference and GFLOP/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/ops.h"

#define LAYERS 8
#define CH     64
#define HW     56

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct net {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto os;
    Onnx__OperatorSetIdProto *osp;
    Onnx__NodeProto nodes[2 * LAYERS];
    Onnx__NodeProto *nodep[2 * LAYERS];
    Onnx__TensorProto inits[2 * LAYERS];
    Onnx__TensorProto *initp[2 * LAYERS];
    Onnx__AttributeProto pads;
    Onnx__AttributeProto *padsp;
    int64_t pads_v[4];
    int64_t wdims[4];
    int64_t bdims[1];
    char names[6 * LAYERS][16];
    char *io[6 * LAYERS][3];
    float *w;
    float *b;
    Onnx__ValueInfoProto vi, vo;
    Onnx__ValueInfoProto *vip, *vop;
    Onnx__TypeProto tp;
    Onnx__TypeProto__Tensor tt;
    Onnx__TensorShapeProto sh;
    Onnx__TensorShapeProto__Dimension dim[4];
    Onnx__TensorShapeProto__Dimension *dimp[4];
};

static uint8_t *build(struct net *n, size_t *size)
{
    size_t wcount = (size_t)CH * CH * 9;
    const char *prev = "X";

    memset(n, 0, sizeof(*n));
    onnx__model_proto__init(&n->m);
    onnx__graph_proto__init(&n->g);
    onnx__operator_set_id_proto__init(&n->os);
    n->os.has_version = 1;
    n->os.version = 13;
    n->osp = &n->os;
    n->m.n_opset_import = 1;
    n->m.opset_import = &n->osp;
    n->m.graph = &n->g;
    n->w = malloc(wcount * sizeof(float));
    n->b = malloc(CH * sizeof(float));
    if (n->w == NULL || n->b == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < wcount; i++) {
        n->w[i] = (float)((int)(i * 7919 % 101) - 50) / 2500.0f;
    }
    for (size_t i = 0; i < CH; i++) {
        n->b[i] = 0.01f;
    }
    n->wdims[0] = CH, n->wdims[1] = CH, n->wdims[2] = 3, n->wdims[3] = 3;
    n->bdims[0] = CH;
    onnx__attribute_proto__init(&n->pads);
    n->pads.name = (char *)"pads";
    n->pads.has_type = 1;
    n->pads.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    n->pads.n_ints = 4;
    for (int i = 0; i < 4; i++) {
        n->pads_v[i] = 1;
    }
    n->pads.ints = n->pads_v;
    n->padsp = &n->pads;
    for (int l = 0; l < LAYERS; l++) {
        char *w = n->names[6 * l];
        char *bb = n->names[6 * l + 1];
        char *cv = n->names[6 * l + 2];
        char *r = n->names[6 * l + 3];
        (void)snprintf(w, 16, "w%d", l);
        (void)snprintf(bb, 16, "b%d", l);
        (void)snprintf(cv, 16, "c%d", l);
        (void)snprintf(r, 16, l == LAYERS - 1 ? "Y" : "r%d", l);
        for (int k = 0; k < 2; k++) {
            Onnx__TensorProto *t = &n->inits[2 * l + k];
            onnx__tensor_proto__init(t);
            t->name = k ? bb : w;
            t->has_data_type = 1;
            t->data_type = VEIL_DT_FLOAT;
            t->n_dims = k ? 1 : 4;
            t->dims = k ? n->bdims : n->wdims;
            t->n_float_data = k ? CH : wcount;
            t->float_data = k ? n->b : n->w;
            n->initp[2 * l + k] = t;
        }
        n->io[3 * l][0] = (char *)prev;
        n->io[3 * l][1] = w;
        n->io[3 * l][2] = bb;
        n->io[3 * l + 1][0] = cv;
        n->io[3 * l + 2][0] = r;
        onnx__node_proto__init(&n->nodes[2 * l]);
        n->nodes[2 * l].op_type = (char *)"Conv";
        n->nodes[2 * l].n_input = 3;
        n->nodes[2 * l].input = n->io[3 * l];
        n->nodes[2 * l].n_output = 1;
        n->nodes[2 * l].output = n->io[3 * l + 1];
        n->nodes[2 * l].n_attribute = 1;
        n->nodes[2 * l].attribute = &n->padsp;
        onnx__node_proto__init(&n->nodes[2 * l + 1]);
        n->nodes[2 * l + 1].op_type = (char *)"Relu";
        n->nodes[2 * l + 1].n_input = 1;
        n->nodes[2 * l + 1].input = n->io[3 * l + 1];
        n->nodes[2 * l + 1].n_output = 1;
        n->nodes[2 * l + 1].output = n->io[3 * l + 2];
        n->nodep[2 * l] = &n->nodes[2 * l];
        n->nodep[2 * l + 1] = &n->nodes[2 * l + 1];
        prev = r;
    }
    n->g.n_node = 2 * LAYERS;
    n->g.node = n->nodep;
    n->g.n_initializer = 2 * LAYERS;
    n->g.initializer = n->initp;
    onnx__value_info_proto__init(&n->vi);
    onnx__value_info_proto__init(&n->vo);
    n->vi.name = (char *)"X";
    onnx__type_proto__init(&n->tp);
    onnx__type_proto__tensor__init(&n->tt);
    onnx__tensor_shape_proto__init(&n->sh);
    for (int i = 0; i < 4; i++) {
        static const int64_t xd[4] = {1, CH, HW, HW};
        onnx__tensor_shape_proto__dimension__init(&n->dim[i]);
        n->dim[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        n->dim[i].dim_value = xd[i];
        n->dimp[i] = &n->dim[i];
    }
    n->sh.n_dim = 4;
    n->sh.dim = n->dimp;
    n->tt.has_elem_type = 1;
    n->tt.elem_type = VEIL_DT_FLOAT;
    n->tt.shape = &n->sh;
    n->tp.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    n->tp.tensor_type = &n->tt;
    n->vi.type = &n->tp;
    n->vo.name = (char *)"Y";
    n->vip = &n->vi;
    n->vop = &n->vo;
    n->g.n_input = 1;
    n->g.input = &n->vip;
    n->g.n_output = 1;
    n->g.output = &n->vop;
    *size = onnx__model_proto__get_packed_size(&n->m);
    uint8_t *buf = malloc(*size);
    if (buf != NULL) {
        (void)onnx__model_proto__pack(&n->m, buf);
    }
    return buf;
}

static double run_ms(struct veil_engine_model *m, const struct veil_tensor *x, int reps)
{
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        struct veil_tensor y = {0};
        double t0 = now_s();
        if (!veil_ok(veil_engine_run(m, x, &y, NULL))) {
            return -1;
        }
        double t = (now_s() - t0) * 1e3;
        best = t < best ? t : best;
        veil_tensor_free(&y);
    }
    return best;
}

int main(int argc, char **argv)
{
    struct net n;
    size_t size;
    uint8_t *pb = build(&n, &size);
    struct veil_engine_model *m = NULL;
    struct veil_tensor x = {0};
    int64_t dims[4] = {1, CH, HW, HW};
    double gflop = 2.0 * CH * CH * 9 * HW * HW * LAYERS / 1e9;
    unsigned threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;

    if (pb == NULL || !veil_ok(veil_engine_load(pb, size, NULL, &m)) ||
        !veil_ok(veil_engine_set_threads(m, threads)) ||
        !veil_ok(veil_tensor_shape(&x, VEIL_DT_FLOAT, 4, dims)) ||
        !veil_ok(veil_tensor_alloc(&x))) {
        (void)fprintf(stderr, "bench_conv_net: setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < x.count; i++) {
        ((float *)x.data)[i] = (float)(i % 97) / 97.0f;
    }
    bool blas = veil_sgemm_uses_blas();
    double used = run_ms(m, &x, 5);
    veil_sgemm_set_blas(false);
    double ref = run_ms(m, &x, 3);
    veil_sgemm_set_blas(blas);
    (void)printf("conv net: %d layers, %.2f GFLOP, %u thread(s)\n", LAYERS, gflop, threads);
    (void)printf("reference GEMM:           %8.2f ms  %6.2f GFLOP/s\n", ref, gflop / ref * 1e3);
    (void)printf("engine GEMM (%s): %8.2f ms  %6.2f GFLOP/s  x%.1f\n",
                 blas ? "OpenBLAS" : "reference", used, gflop / used * 1e3, ref / used);
    if (veil_ok(veil_engine_plan(m, NULL))) {
        size_t arena;
        size_t planned;
        size_t total;
        double t = run_ms(m, &x, 5);
        if (veil_ok(veil_engine_plan_info(m, &arena, &planned, &total))) {
            (void)printf(
                "planned:                  %8.2f ms  (arena %zu bytes for %zu intermediates"
                " of %zu bytes)\n",
                t, arena, planned, total);
        }
    }
    veil_tensor_free(&x);
    veil_engine_free(m);
    free(pb);
    free(n.w);
    free(n.b);
    return 0;
}
