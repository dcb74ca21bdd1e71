/*
 * Reductions (Reduce*), ArgMax/ArgMin, the Softmax family (Softmax, LogSoftmax, Hardmax) and
 * CumSum. Accumulation is in double.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

enum red { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ };

static VEIL_RESULT red_kind(const struct veil_op_ctx *c, enum red *k)
{
    static const struct {
        const struct veil_op *op; /* compared by address: no string compares per run */
        enum red k;
    } map[] = {{&veil_op_ReduceSum, R_SUM},
               {&veil_op_ReduceMean, R_MEAN},
               {&veil_op_ReduceMax, R_MAX},
               {&veil_op_ReduceMin, R_MIN},
               {&veil_op_ReduceProd, R_PROD},
               {&veil_op_ReduceL1, R_L1},
               {&veil_op_ReduceL2, R_L2},
               {&veil_op_ReduceLogSum, R_LOGSUM},
               {&veil_op_ReduceLogSumExp, R_LOGSUMEXP},
               {&veil_op_ReduceSumSquare, R_SUMSQ}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].op == c->node->op) {
            *k = map[i].k;
            return VEIL_RESULT_OK;
        }
    }
    BAIL(VEIL_ERR_INTERNAL);
}

/* Which axes are reduced, and the output dims. */
static VEIL_RESULT red_plan(const struct veil_op_ctx *c, bool *reduced, uint32_t *rank,
                            int64_t *dims)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *at = veil_op_in(c, 1);
    int64_t axes[VEIL_ENGINE_RANK_MAX];
    size_t n = 0;
    int64_t keep;
    int64_t noop;

    GUARD(veil_attr_int(c, "keepdims", 1, &keep));
    GUARD(veil_attr_int(c, "noop_with_empty_axes", 0, &noop));
    if (at != NULL) {
        GUARD(veil_op_ints(at, VEIL_ENGINE_RANK_MAX, axes, &n));
    } else {
        const int64_t *a;
        GUARD(veil_attr_ints(c, "axes", &a, &n));
        ENSURE(n <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(axes, a, n);
    }
    for (uint32_t d = 0; d < x->rank; d++) {
        reduced[d] = n == 0 && !noop;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t ax;
        GUARD(veil_op_axis(axes[i], x->rank, 0, &ax));
        reduced[ax] = true;
    }
    *rank = 0;
    for (uint32_t d = 0; d < x->rank; d++) {
        if (!reduced[d]) {
            dims[(*rank)++] = x->dims[d];
        } else if (keep) {
            dims[(*rank)++] = 1;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT red_shape(struct veil_op_ctx *c)
{
    bool reduced[VEIL_ENGINE_RANK_MAX];
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 1, 2, 1));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(red_plan(c, reduced, &rank, dims));
    return veil_op_out(c, 0, c->in[0]->dtype, rank, dims);
}

/* One reduction step, in double (the general loop's arithmetic). */
static inline double red_step(enum red k, double a, double v)
{
    switch (k) {
        case R_MAX:
            return (v > a || isnan(v)) ? v : a;
        case R_MIN:
            return (v < a || isnan(v)) ? v : a;
        case R_PROD:
            return a * v;
        case R_L1:
            return a + fabs(v);
        case R_L2:
        case R_SUMSQ:
            return a + v * v;
        case R_LOGSUMEXP:
            return a + exp(v);
        default:
            return a + v;
    }
}

/* Sum of n floats in double with 8 partial sums. */
VEIL_TARGET_CLONES
static double red_sum_f32(const float *x, size_t n)
{
    double part[8] = {0};
    double s = 0.0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (size_t q = 0; q < 8; q++) {
            part[q] += (double)x[i + q];
        }
    }
    for (; i < n; i++) {
        s += (double)x[i];
    }
    for (size_t q = 0; q < 8; q++) {
        s += part[q];
    }
    return s;
}

/* Float input whose reduced axes are one block [d0, d1): x is [outer, red, inner] and each
 * output (o, i) folds x[o, r, i] for r ascending, the order of the general loop, so the results
 * are the same (sums over the last axis excepted: partial sums, see red_sum_f32), without
 * per-element index arithmetic or type dispatch. acc holds inner sums. */
static bool red_float_block(const struct veil_tensor *x, const bool *reduced, enum red k,
                            double init, double *acc, float *y)
{
    uint32_t d0 = 0;
    uint32_t d1;
    size_t outer;
    size_t red;
    size_t inner;
    if (x->dtype != VEIL_DT_FLOAT) {
        return false;
    }
    while (d0 < x->rank && !reduced[d0]) {
        d0++;
    }
    d1 = d0;
    while (d1 < x->rank && reduced[d1]) {
        d1++;
    }
    for (uint32_t d = d1; d < x->rank; d++) {
        if (reduced[d]) {
            return false;
        }
    }
    outer = veil_op_span(x, 0, d0);
    red = veil_op_span(x, d0, d1);
    inner = veil_op_span(x, d1, x->rank);
    for (size_t o = 0; o < outer; o++) {
        const float *xo = (const float *)x->data + o * red * inner;
        for (size_t i = 0; i < inner; i++) {
            acc[i] = init;
        }
        if (inner == 1 && (k == R_SUM || k == R_MEAN)) {
            /* a sum along contiguous elements: 8 partial sums (vectorized), not one chain */
            acc[0] = red_sum_f32(xo, red);
        } else {
            for (size_t r = 0; r < red; r++) {
                const float *xr = xo + r * inner;
                for (size_t i = 0; i < inner; i++) {
                    acc[i] = red_step(k, acc[i], (double)xr[i]);
                }
            }
        }
        for (size_t i = 0; i < inner; i++) {
            double v = acc[i];
            if (k == R_MEAN) {
                v = red > 0 ? v / (double)red : NAN;
            } else if (k == R_L2) {
                v = sqrt(v);
            } else if (k == R_LOGSUM || k == R_LOGSUMEXP) {
                v = log(v);
            }
            y[o * inner + i] = (float)v;
        }
    }
    return true;
}

static VEIL_RESULT red_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    bool reduced[VEIL_ENGINE_RANK_MAX];
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t ostride[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    double *acc;
    enum red k;
    double init = 0;
    size_t per;
    size_t s = 1;
    size_t off = 0;

    GUARD(red_kind(c, &k));
    GUARD(red_plan(c, reduced, &rank, dims));
    for (uint32_t d = x->rank; d-- > 0;) {
        ostride[d] = reduced[d] ? 0 : s;
        s *= reduced[d] ? 1 : (size_t)x->dims[d];
    }
    per = y->count > 0 ? x->count / y->count : 0;
    init = k == R_MAX ? -INFINITY : (k == R_MIN ? INFINITY : (k == R_PROD ? 1.0 : 0.0));
    acc = malloc((y->count > 0 ? y->count : 1) * sizeof(*acc));
    ENSURE(acc != NULL, VEIL_ERR_NOMEM);
    if (y->count > 0 && red_float_block(x, reduced, k, init, acc, y->data)) {
        free(acc);
        return VEIL_RESULT_OK;
    }
    for (size_t i = 0; i < y->count; i++) {
        acc[i] = init;
    }
    for (size_t i = 0; i < x->count; i++) {
        double *a = &acc[off];
        *a = red_step(k, *a, veil_tensor_get_f64(x, i));
        for (uint32_t d = x->rank; d-- > 0;) {
            off += ostride[d];
            if (++idx[d] < x->dims[d]) {
                break;
            }
            off -= ostride[d] * (size_t)x->dims[d];
            idx[d] = 0;
        }
    }
    for (size_t i = 0; i < y->count; i++) {
        double v = acc[i];
        if (k == R_MEAN) {
            v = per > 0 ? v / (double)per : NAN;
        } else if (k == R_L2) {
            v = sqrt(v);
        } else if (k == R_LOGSUM || k == R_LOGSUMEXP) {
            v = log(v);
        }
        veil_tensor_set_f64(y, i, v);
    }
    free(acc);
    return VEIL_RESULT_OK;
}

/* ---- ArgMax, ArgMin ---- */
static VEIL_RESULT arg_plan(const struct veil_op_ctx *c, uint32_t *ax, int64_t *dims,
                            uint32_t *rank)
{
    const struct veil_tensor *x = c->in[0];
    int64_t axis;
    int64_t keep;

    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_attr_int(c, "keepdims", 1, &keep));
    GUARD(veil_op_axis(axis, x->rank, 0, ax));
    ENSURE(x->dims[*ax] > 0, VEIL_ERR_ENGINE_SHAPE);
    *rank = 0;
    for (uint32_t d = 0; d < x->rank; d++) {
        if (d != *ax) {
            dims[(*rank)++] = x->dims[d];
        } else if (keep) {
            dims[(*rank)++] = 1;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT arg_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t rank;
    GUARD(veil_op_arity(c, 1, 1, 1));
    GUARD(arg_plan(c, &ax, dims, &rank));
    return veil_op_out(c, 0, VEIL_DT_INT64, rank, dims);
}

static VEIL_RESULT arg_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    uint32_t ax;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t rank;
    int64_t last;
    bool is_max = strcmp(c->node->op->name, "ArgMax") == 0;
    size_t outer;
    size_t inner;
    size_t n;

    GUARD(arg_plan(c, &ax, dims, &rank));
    GUARD(veil_attr_int(c, "select_last_index", 0, &last));
    outer = veil_op_span(x, 0, ax);
    inner = veil_op_span(x, ax + 1, x->rank);
    n = (size_t)x->dims[ax];
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            size_t best = 0;
            double bv = veil_tensor_get_f64(x, o * n * inner + in);
            for (size_t j = 1; j < n; j++) {
                double v = veil_tensor_get_f64(x, (o * n + j) * inner + in);
                bool better =
                    is_max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
                if (better) {
                    bv = v;
                    best = j;
                }
            }
            ((int64_t *)c->out[0]->data)[o * inner + in] = (int64_t)best;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Softmax, LogSoftmax, Hardmax ---- */
static VEIL_RESULT smax_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 1, 1));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    return veil_op_out_like(c, 0, c->in[0]);
}

/* Softmax / LogSoftmax over contiguous float rows: x - max in float, e^(x - max) by the
 * vectorized float exp into e (n floats), their sum in double (vmath.c); y = e * (1 / sum) rounded
 * once from double, or (x - max) - log(sum) for LogSoftmax. */
VEIL_TARGET_CLONES
static void smax_rows_f32(const float *x, float *y, size_t rows, size_t n, bool log_softmax,
                          float *e)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float mx = veil_vmaxf(xr, n);
        double sum;
        for (size_t j = 0; j < n; j++) {
            e[j] = xr[j] - mx;
        }
        veil_vexpf(e, e, n);
        sum = veil_vsumf(e, n);
        if (log_softmax) {
            double ls = log(sum);
            for (size_t j = 0; j < n; j++) {
                yr[j] = (float)((double)xr[j] - mx - ls);
            }
        } else {
            double inv = 1.0 / sum;
            for (size_t j = 0; j < n; j++) {
                yr[j] = (float)(e[j] * inv);
            }
        }
    }
}

/* Work item = row. Each part keeps its own row buffer of exp() values (on the stack up to 1024,
 * from the heap above; when that cannot be had the part sets failed and the node fails). */
struct smax_job {
    const float *x;
    float *y;
    size_t n;
    bool log_softmax;
    atomic_bool failed;
};

static void smax_part(void *ctx, size_t begin, size_t end)
{
    struct smax_job *j = ctx;
    float buf[1024];
    float *e = j->n <= 1024 ? buf : malloc(j->n * sizeof(float));
    if (e == NULL) {
        atomic_store(&j->failed, true);
        return;
    }
    smax_rows_f32(j->x + begin * j->n, j->y + begin * j->n, end - begin, j->n, j->log_softmax, e);
    if (e != buf) {
        free(e);
    }
}

static VEIL_RESULT smax_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    const char *name = c->node->op->name;
    int64_t axis;
    uint32_t ax;
    size_t outer;
    size_t inner;
    size_t n;
    bool legacy = c->opset < 13;

    GUARD(veil_attr_int(c, "axis", legacy ? 1 : -1, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    outer = veil_op_span(x, 0, ax);
    if (legacy) {
        /* coerced to 2-D: [outer, everything from axis on] */
        n = veil_op_span(x, ax, x->rank);
        inner = 1;
    } else {
        n = (size_t)x->dims[ax];
        inner = veil_op_span(x, ax + 1, x->rank);
    }
    if (x->dtype == VEIL_DT_FLOAT && inner == 1 && name[0] != 'H') {
        struct smax_job j = {x->data, y->data, n, name[0] == 'L', false};
        GUARD(veil_op_parallel(c, outer, 1 + 16384 / (n + 1), smax_part, &j));
        ENSURE(!atomic_load(&j.failed), VEIL_ERR_NOMEM);
        return VEIL_RESULT_OK;
    }
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            size_t base = o * n * inner + in;
            double mx = -INFINITY;
            size_t arg = 0;
            double sum = 0;
            for (size_t j = 0; j < n; j++) {
                double v = veil_tensor_get_f64(x, base + j * inner);
                if (v > mx) {
                    mx = v;
                    arg = j;
                }
            }
            for (size_t j = 0; j < n; j++) {
                sum += exp(veil_tensor_get_f64(x, base + j * inner) - mx);
            }
            for (size_t j = 0; j < n; j++) {
                double v = veil_tensor_get_f64(x, base + j * inner);
                double r;
                if (name[0] == 'H') {
                    r = j == arg ? 1.0 : 0.0;
                } else if (name[0] == 'L') {
                    r = v - mx - log(sum);
                } else {
                    r = exp(v - mx) / sum;
                }
                veil_tensor_set_f64(y, base + j * inner, r);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- CumSum ---- */
static VEIL_RESULT cumsum_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    GUARD(veil_op_arity(c, 2, 2, 1));
    ENSURE(c->in[1]->count == 1 && veil_dtype_is_int(c->in[1]->dtype), VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_op_axis(veil_tensor_get_i64(c->in[1], 0), c->in[0]->rank, 0, &ax));
    return veil_op_out_like(c, 0, c->in[0]);
}

static VEIL_RESULT cumsum_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    uint32_t ax;
    int64_t excl;
    int64_t rev;
    size_t outer;
    size_t inner;
    size_t n;

    GUARD(veil_op_axis(veil_tensor_get_i64(c->in[1], 0), x->rank, 0, &ax));
    GUARD(veil_attr_int(c, "exclusive", 0, &excl));
    GUARD(veil_attr_int(c, "reverse", 0, &rev));
    outer = veil_op_span(x, 0, ax);
    inner = veil_op_span(x, ax + 1, x->rank);
    n = (size_t)x->dims[ax];
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            double acc = 0;
            for (size_t jj = 0; jj < n; jj++) {
                size_t j = rev ? n - 1 - jj : jj;
                size_t i = (o * n + j) * inner + in;
                double v = veil_tensor_get_f64(x, i);
                if (excl) {
                    veil_tensor_set_f64(y, i, acc);
                    acc += v;
                } else {
                    acc += v;
                    veil_tensor_set_f64(y, i, acc);
                }
            }
        }
    }
    return VEIL_RESULT_OK;
}

#define RED_OP(n) const struct veil_op veil_op_##n = {#n, red_shape, red_run, false};
RED_OP(ReduceSum)
RED_OP(ReduceMean)
RED_OP(ReduceMax)
RED_OP(ReduceMin)
RED_OP(ReduceProd)
RED_OP(ReduceL1)
RED_OP(ReduceL2)
RED_OP(ReduceLogSum)
RED_OP(ReduceLogSumExp)
RED_OP(ReduceSumSquare)
const struct veil_op veil_op_ArgMax = {"ArgMax", arg_shape, arg_run, false};
const struct veil_op veil_op_ArgMin = {"ArgMin", arg_shape, arg_run, false};
const struct veil_op veil_op_Softmax = {"Softmax", smax_shape, smax_run, false};
const struct veil_op veil_op_LogSoftmax = {"LogSoftmax", smax_shape, smax_run, false};
const struct veil_op veil_op_Hardmax = {"Hardmax", smax_shape, smax_run, false};
const struct veil_op veil_op_CumSum = {"CumSum", cumsum_shape, cumsum_run, false};
