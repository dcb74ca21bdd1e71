/* Helpers shared by the operator files (op_*.c) and the operator registry. */
#ifndef VEIL_ENGINE_OPS_H
#define VEIL_ENGINE_OPS_H

#include <string.h>

#include "engine/graph.h"

/* Input k, or NULL if absent (optional) or beyond the node's inputs. */
static inline const struct veil_tensor *veil_op_in(const struct veil_op_ctx *c, uint32_t k)
{
    return k < c->in_count ? c->in[k] : NULL;
}

/* The run's cap on any one tensor or kernel scratch buffer, in bytes. */
static inline size_t veil_op_size_max(const struct veil_op_ctx *c)
{
    return c->frame != NULL ? c->frame->graph->model->tensor_size_max : VEIL_ENGINE_TENSOR_SIZE_MAX;
}

/* The node's work (the product of up to 4 factors, ~multiply-adds) must fit the model's budget:
 * a hostile model then fails with VEIL_ERR_ENGINE_LIMIT instead of computing for hours. */
static inline VEIL_RESULT veil_op_work(const struct veil_op_ctx *c, uint64_t a, uint64_t b,
                                       uint64_t d, uint64_t e)
{
    uint64_t max = c->frame != NULL ? c->frame->graph->model->work_max : VEIL_ENGINE_WORK_MAX;
    uint64_t f[4] = {a, b, d, e};
    uint64_t w = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] == 0) {
            return VEIL_RESULT_OK;
        }
    }
    for (int i = 0; i < 4; i++) {
        ENSURE(w <= max / f[i], VEIL_ERR_ENGINE_LIMIT);
        w *= f[i];
    }
    return VEIL_RESULT_OK;
}

/* Input k, which must be present. */
VEIL_RESULT veil_op_need(const struct veil_op_ctx *c, uint32_t k, const struct veil_tensor **t);
/* The node must have between lo and hi inputs and at least out_min outputs. */
VEIL_RESULT veil_op_arity(const struct veil_op_ctx *c, uint32_t lo, uint32_t hi, uint32_t out_min);
/* Normalizes an axis in [-rank, rank + extra); a negative axis counts from rank. */
VEIL_RESULT veil_op_axis(int64_t axis, uint32_t rank, uint32_t extra, uint32_t *out);
/* numpy broadcasting of n shapes. */
VEIL_RESULT veil_op_bcast_shape(const struct veil_tensor *const *ts, uint32_t n, uint32_t *rank,
                                int64_t *dims);
/* Output k gets this type and shape. */
VEIL_RESULT veil_op_out(struct veil_op_ctx *c, uint32_t k, int32_t dtype, uint32_t rank,
                        const int64_t *dims);
/* Output k gets the type and shape of t. */
VEIL_RESULT veil_op_out_like(struct veil_op_ctx *c, uint32_t k, const struct veil_tensor *t);
/* Reads a 1-D integer tensor (shape, axes, pads...) of at most max elements. */
VEIL_RESULT veil_op_ints(const struct veil_tensor *t, size_t max, int64_t *v, size_t *count);
/* Copies n int64s; src may be NULL when n is 0 (attribute absent). */
static inline void veil_op_copy_ints(int64_t *dst, const int64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[i];
    }
}

/* Copies element i of src to element j of dst, es bytes each (typed for the common sizes:
 * a variable-size memcpy per element is a call per element). */
static inline void veil_op_elem(void *dst, size_t j, const void *src, size_t i, size_t es)
{
    switch (es) {
        case 4:
            ((uint32_t *)dst)[j] = ((const uint32_t *)src)[i];
            break;
        case 8:
            ((uint64_t *)dst)[j] = ((const uint64_t *)src)[i];
            break;
        case 2:
            ((uint16_t *)dst)[j] = ((const uint16_t *)src)[i];
            break;
        case 1:
            ((uint8_t *)dst)[j] = ((const uint8_t *)src)[i];
            break;
        default:
            memcpy((uint8_t *)dst + j * es, (const uint8_t *)src + i * es, es);
            break;
    }
}

/* Hot float loops get AVX2 and AVX-512 clones picked at load time (gcc on x86-64; other
 * compilers build the portable loop only). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEIL_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEIL_TARGET_CLONES
#endif

/* Kernels written with AVX-512 intrinsics (gcc or clang on x86-64), used where the CPU has
 * them (checked at run time). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VEIL_X86_AVX512 1
#else
#define VEIL_X86_AVX512 0
#endif
/* The CPU has AVX-512F (checked once). */
bool veil_cpu_avx512(void);

/* y[i] = e^x[i], 1 / (1 + e^-x[i]), tanh(x[i]) in float, vectorized (vmath.c): within 1 ulp
 * of the correctly rounded exp (sigmoid and tanh a few ulp); overflow to +inf, underflow
 * through the subnormals to 0, NaN and infinities as expf. x and y may be the same array. */
void veil_vexpf(const float *x, float *y, size_t n);
void veil_vsigmoidf(const float *x, float *y, size_t n);
void veil_vtanhf(const float *x, float *y, size_t n);
/* Largest of x[0..n) ignoring NaN (-inf for none); sum of x[0..n) in double, in lanes. */
float veil_vmaxf(const float *x, size_t n);
double veil_vsumf(const float *x, size_t n);

/* True for operators whose kernels write every output element: the executor hands them
 * output buffers without zeroing them first. */
bool veil_op_writes_all(const struct veil_op *op);

/* Kernel scratch memory from the run's buffer pool (not zeroed: the kernel overwrites what it
 * reads); given back with veil_pool_give_scratch. Only from the thread that runs the node. */
VEIL_RESULT veil_pool_take_scratch(struct veil_engine_pool *p, size_t size, void **out);
void veil_pool_give_scratch(struct veil_engine_pool *p, void *ptr, size_t size);
/* For a kernel that works its scratch in tiles: the most bytes one tile may take, dflt or, in a
 * planned run, the room the plan gave the node in the arena where that is less (plan.c gives a
 * node less than it asked for only where its whole scratch would have grown the arena, and
 * never less than min). min, the least it works well with (a tile of one row, or of enough
 * columns for the GEMM), is what the planning run records for the plan. */
size_t veil_pool_scratch_budget(struct veil_engine_pool *p, size_t dflt, size_t min);

/* The hard-swish an Add node computes when the graph builder folded Add, Clip, Mul, Div into it
 * (graph.h): out = (x * clip(x + p[0], p[1], p[2])) / p[3], x = input xi, in float steps. */
VEIL_RESULT veil_op_hard_swish_run(struct veil_op_ctx *c, uint32_t xi, const float *p);

/* Product of dims [from, to). */
size_t veil_op_span(const struct veil_tensor *t, uint32_t from, uint32_t to);

/* Broadcast iteration over an output shape with up to 3 inputs. */
#define VEIL_BCAST_MAX 3
struct veil_bcast {
    uint32_t rank;
    uint32_t n;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX];
    size_t stride[VEIL_BCAST_MAX][VEIL_ENGINE_RANK_MAX];
    size_t off[VEIL_BCAST_MAX];
};

void veil_bcast_init(struct veil_bcast *b, const struct veil_tensor *out,
                     const struct veil_tensor *const *ins, uint32_t n);

static inline void veil_bcast_next(struct veil_bcast *b)
{
    for (uint32_t d = b->rank; d-- > 0;) {
        b->idx[d]++;
        for (uint32_t k = 0; k < b->n; k++) {
            b->off[k] += b->stride[k][d];
        }
        if (b->idx[d] < b->dims[d]) {
            return;
        }
        for (uint32_t k = 0; k < b->n; k++) {
            b->off[k] -= b->stride[k][d] * (size_t)b->dims[d];
        }
        b->idx[d] = 0;
    }
}

/* A graph run with this many threads starts / ends: within runs the pool's workers spin between
 * parallel kernels instead of sleeping (ops.c). Counted: nested and concurrent runs may overlap. */
void veil_par_run_begin(unsigned threads);
void veil_par_run_end(unsigned threads);
/* Splits [0, n) over the frame's threads and calls fn(ctx, begin, end) on each part. */
typedef void (*veil_par_fn)(void *ctx, size_t begin, size_t end);
VEIL_RESULT veil_op_parallel(const struct veil_op_ctx *c, size_t n, size_t grain, veil_par_fn fn,
                             void *ctx);

/* Row-major float GEMM: C[m,n] = alpha * op(A) op(B) + beta * C, op = transpose when t*.
 * Large products go to OpenBLAS when the build has it (and VEIL_ENGINE_GEMM is not "reference");
 * veil_sgemm_ref is the plain C kernel. */
bool veil_sgemm_uses_blas(void);
/* Benchmarks only: switch the OpenBLAS dispatch off (false) or back on (no-op without it). */
void veil_sgemm_set_blas(bool on);
void veil_sgemm_ref(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                    size_t lda, const float *b, size_t ldb, float beta, float *cm, size_t ldc);
void veil_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                size_t lda, const float *b, size_t ldb, float beta, float *cm, size_t ldc);

/* The left operand of a GEMM packed once (pack.c): panels of VEIL_PACK_MR rows, k steps of MR
 * floats each, rows past m zero. Convolution weights are packed at load (veil_conv_prepack). */
#define VEIL_PACK_MR 8
struct veil_gemm_pack {
    size_t m;
    size_t k;
    size_t panels;
    size_t full;  /* panels at data; a last one past them (m not a multiple of MR) at tail */
    float *data;  /* owned (veil_gemm_pack_new), or the caller's matrix (veil_gemm_pack_in_place) */
    size_t size;  /* bytes at data */
    float *tail;  /* NULL, or the last panel (owned) */
    size_t owned; /* bytes this pack allocated (data when owned, tail): what it adds to memory */
    bool borrowed; /* data is the caller's: its owner wipes and frees it */
};
VEIL_RESULT veil_gemm_pack_new(const float *a, size_t m, size_t k, size_t lda,
                               struct veil_gemm_pack **out);
/* The same with the panels written over a (m x k, row stride k), which then holds them and must
 * outlive the pack: the full panels of MR rows take exactly the bytes of those rows, each
 * transposed in place; a last partial panel (m % MR rows, zero-padded) is allocated, and the
 * rows it came from are wiped. Only for a matrix nothing else reads. */
VEIL_RESULT veil_gemm_pack_in_place(float *a, size_t m, size_t k, struct veil_gemm_pack **out);
void veil_gemm_pack_free(struct veil_gemm_pack *p);
/* C[m,n] (row stride ldc) = A B[k,n] (row stride ldb) + bias[i] on row i (bias may be NULL).
 * B is read in place; C is only written. */
void veil_sgemm_packed(const struct veil_gemm_pack *a, size_t n, const float *b, size_t ldb,
                       const float *bias, float *c, size_t ldc);
/* Only the rows of panels [p0, p1) (rows p0 * VEIL_PACK_MR on; c, bias and the result as for
 * the whole product): a part of it for one thread. */
void veil_sgemm_packed_panels(const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n,
                              const float *b, size_t ldb, const float *bias, float *c, size_t ldc);
/* The same with B given by rows: element (q, j) at bp[q][boff + j] (a convolution's input rows
 * read in place, no im2col). */
void veil_sgemm_packed_rows(const struct veil_gemm_pack *a, size_t p0, size_t p1, size_t n,
                            const float *const *bp, size_t boff, const float *bias, float *c,
                            size_t ldc);
/* The same with the plain C micro-kernel (tests compare the two). */
void veil_sgemm_packed_ref(const struct veil_gemm_pack *a, size_t n, const float *b, size_t ldb,
                           const float *bias, float *c, size_t ldc);
/* True when veil_sgemm_packed has a vector micro-kernel on this CPU (AVX-512) and
 * VEIL_ENGINE_GEMM is not "reference": only then are convolution weights packed. */
bool veil_gemm_pack_fast(void);

/* Sliding-window geometry shared by Conv and the pools (N-d spatial, NC... layout). */
struct veil_geom {
    uint32_t sp; /* spatial rank */
    int64_t in[VEIL_ENGINE_RANK_MAX];
    int64_t kernel[VEIL_ENGINE_RANK_MAX];
    int64_t stride[VEIL_ENGINE_RANK_MAX];
    int64_t dil[VEIL_ENGINE_RANK_MAX];
    int64_t pad_begin[VEIL_ENGINE_RANK_MAX];
    int64_t pad_end[VEIL_ENGINE_RANK_MAX];
    int64_t out[VEIL_ENGINE_RANK_MAX];
};

/* kernel: from W (Conv) or the kernel_shape attribute (pools, when kernel is NULL). */
VEIL_RESULT veil_op_geom(const struct veil_op_ctx *c, const struct veil_tensor *x,
                         const int64_t *kernel, bool ceil_mode, struct veil_geom *g);

#define VEIL_OP_DECL(x) extern const struct veil_op veil_op_##x;
/* clang-format off */
#define VEIL_OP_LIST(X) \
    X(Add) X(Sub) X(Mul) X(Div) X(Pow) X(Mod) X(And) X(Or) X(Xor) X(Equal) X(Less) X(Greater) \
    X(LessOrEqual) X(GreaterOrEqual) X(BitShift) X(Max) X(Min) X(Sum) X(Mean) X(PRelu) \
    X(Where) \
    X(Abs) X(Neg) X(Sign) X(Ceil) X(Floor) X(Round) X(Sqrt) X(Reciprocal) X(Exp) X(Log) X(Sin) \
    X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh) X(Erf) \
    X(Relu) X(Sigmoid) X(Tanh) X(Softplus) X(Softsign) X(Elu) X(Selu) X(LeakyRelu) \
    X(HardSigmoid) X(HardSwish) X(ThresholdedRelu) X(Celu) X(Not) X(IsNaN) X(IsInf) X(Shrink) \
    X(Clip) X(Identity) X(Dropout) X(Mish) \
    X(Constant) X(Shape) X(Size) X(Cast) X(CastLike) X(Reshape) X(Flatten) X(Squeeze) \
    X(Unsqueeze) X(ConstantOfShape) X(Range) X(EyeLike) \
    X(Concat) X(Split) X(Slice) X(Transpose) X(Gather) X(GatherElements) X(ScatterElements) \
    X(Expand) X(Tile) X(Pad) X(DepthToSpace) X(SpaceToDepth) X(Trilu) \
    X(ReduceSum) X(ReduceMean) X(ReduceMax) X(ReduceMin) X(ReduceProd) X(ReduceL1) X(ReduceL2) \
    X(ReduceLogSum) X(ReduceLogSumExp) X(ReduceSumSquare) X(ArgMax) X(ArgMin) X(Softmax) \
    X(LogSoftmax) X(Hardmax) X(CumSum) \
    X(MatMul) X(Gemm) X(Conv) X(MaxPool) X(AveragePool) X(LpPool) X(GlobalAveragePool) \
    X(GlobalMaxPool) X(BatchNormalization) X(InstanceNormalization) X(LayerNormalization) X(LRN) \
    X(If) X(Loop) X(Scan) X(NegativeLogLikelihoodLoss) X(SoftmaxCrossEntropyLoss) \
    X(TopK) X(OneHot) X(Compress) X(GatherND) X(ScatterND) X(NonZero) X(ReverseSequence) \
    X(MaxUnpool) X(Scatter) \
    X(QuantizeLinear) X(DequantizeLinear) X(DynamicQuantizeLinear) X(MatMulInteger) \
    X(ConvInteger) X(QLinearMatMul) X(QLinearConv) X(Resize) X(Upsample) \
    X(ConvTranspose) X(RNN) X(GRU) X(LSTM) \
    X(MeanVarianceNormalization) X(Det) X(Einsum) X(Unique) X(HannWindow) X(HammingWindow) \
    X(BlackmanWindow) X(DFT) X(STFT) X(NonMaxSuppression) X(RoiAlign) X(GridSample) \
    X(TfIdfVectorizer) X(MelWeightMatrix)
/* clang-format on */
VEIL_OP_LIST(VEIL_OP_DECL)

#endif
