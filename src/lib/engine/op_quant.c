/*
 * Quantized operators: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
 * QLinearMatMul, ConvInteger, QLinearConv. The integer products run through the MatMul (double,
 * exact) and Conv (float) kernels on zero-point-shifted copies, then are requantized with
 * round-half-to-even and saturation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

static double saturate(int32_t dtype, double v)
{
    double lo = dtype == VEIL_DT_INT8 ? -128.0 : (dtype == VEIL_DT_INT32 ? -2147483648.0 : 0.0);
    double hi = dtype == VEIL_DT_INT8 ? 127.0 : (dtype == VEIL_DT_INT32 ? 2147483647.0 : 255.0);
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Per-tensor (count 1) or per-axis (1-D along axis) parameter lookup for element i. */
static size_t param_index(const struct veil_tensor *x, const struct veil_tensor *p, uint32_t ax,
                          size_t i)
{
    if (p == NULL || p->count <= 1) {
        return 0;
    }
    size_t inner = veil_op_span(x, ax + 1, x->rank);
    return (i / inner) % (size_t)x->dims[ax];
}

static VEIL_RESULT qparams_check(const struct veil_op_ctx *c, uint32_t *ax)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *scale = c->in[1];
    const struct veil_tensor *zp = veil_op_in(c, 2);
    int64_t axis;

    GUARD(veil_attr_int(c, "axis", 1, &axis));
    ENSURE(veil_dtype_is_float(scale->dtype), VEIL_ERR_ENGINE_SHAPE);
    if (scale->count > 1 || (zp != NULL && zp->count > 1)) {
        GUARD(veil_op_axis(axis, x->rank, 0, ax));
        ENSURE(scale->rank == 1 && scale->count == (size_t)x->dims[*ax], VEIL_ERR_ENGINE_SHAPE);
        ENSURE(zp == NULL || zp->count == scale->count, VEIL_ERR_ENGINE_SHAPE);
    } else {
        *ax = 0;
        ENSURE(scale->count == 1 && (zp == NULL || zp->count == 1), VEIL_ERR_ENGINE_SHAPE);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT quant_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    const struct veil_tensor *zp;
    int32_t dt;

    GUARD(veil_op_arity(c, 2, 3, 1));
    GUARD(qparams_check(c, &ax));
    zp = veil_op_in(c, 2);
    dt = zp != NULL ? zp->dtype : VEIL_DT_UINT8;
    ENSURE(dt == VEIL_DT_UINT8 || dt == VEIL_DT_INT8, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(veil_dtype_is_float(c->in[0]->dtype), VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out(c, 0, dt, c->in[0]->rank, c->in[0]->dims);
}

static VEIL_RESULT quant_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *scale = c->in[1];
    const struct veil_tensor *zp = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    uint32_t ax;

    GUARD(qparams_check(c, &ax));
    for (size_t i = 0; i < x->count; i++) {
        size_t p = param_index(x, scale, ax, i);
        double s = veil_tensor_get_f64(scale, p);
        double z = zp != NULL ? veil_tensor_get_f64(zp, p) : 0.0;
        double q = veil_tensor_get_f64(x, i) / s;
        /* float inputs divide in float, as the reference does */
        double v = nearbyint(x->dtype == VEIL_DT_FLOAT ? (double)(float)q : q) + z;
        veil_tensor_set_f64(y, i, saturate(y->dtype, isnan(v) ? 0.0 : v));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT dequant_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    const struct veil_tensor *x;

    GUARD(veil_op_arity(c, 2, 3, 1));
    GUARD(qparams_check(c, &ax));
    x = c->in[0];
    ENSURE(x->dtype == VEIL_DT_UINT8 || x->dtype == VEIL_DT_INT8 || x->dtype == VEIL_DT_INT32,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    return veil_op_out(c, 0, c->in[1]->dtype, x->rank, x->dims);
}

static VEIL_RESULT dequant_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *scale = c->in[1];
    const struct veil_tensor *zp = veil_op_in(c, 2);
    uint32_t ax;

    GUARD(qparams_check(c, &ax));
    for (size_t i = 0; i < x->count; i++) {
        size_t p = param_index(x, scale, ax, i);
        double z = zp != NULL ? veil_tensor_get_f64(zp, p) : 0.0;
        veil_tensor_set_f64(c->out[0], i,
                            (veil_tensor_get_f64(x, i) - z) * veil_tensor_get_f64(scale, p));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT dynq_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 1, 3));
    ENSURE(c->in[0]->dtype == VEIL_DT_FLOAT, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(veil_op_out(c, 0, VEIL_DT_UINT8, c->in[0]->rank, c->in[0]->dims));
    GUARD(veil_op_out(c, 1, VEIL_DT_FLOAT, 0, NULL));
    return veil_op_out(c, 2, VEIL_DT_UINT8, 0, NULL);
}

static VEIL_RESULT dynq_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const float *px = x->data;
    float lo = 0.0f;
    float hi = 0.0f;
    float scale;
    double zp;

    for (size_t i = 0; i < x->count; i++) {
        lo = px[i] < lo ? px[i] : lo;
        hi = px[i] > hi ? px[i] : hi;
    }
    scale = (hi - lo) / 255.0f;
    zp = scale != 0.0f ? saturate(VEIL_DT_UINT8, nearbyint((0.0f - lo) / scale)) : 0.0;
    ((float *)c->out[1]->data)[0] = scale;
    ((uint8_t *)c->out[2]->data)[0] = (uint8_t)zp;
    for (size_t i = 0; i < x->count; i++) {
        double v = scale != 0.0f ? nearbyint(px[i] / scale) + zp : zp;
        ((uint8_t *)c->out[0]->data)[i] = (uint8_t)saturate(VEIL_DT_UINT8, v);
    }
    return VEIL_RESULT_OK;
}

/* x - zp as a new tensor of type dt; zp per tensor, per row of a 2-D A (axis 0), or per column
 * of B (the last axis). */
static VEIL_RESULT shifted(const struct veil_tensor *x, const struct veil_tensor *zp, bool is_b,
                           int32_t dt, struct veil_tensor *out)
{
    GUARD(veil_tensor_shape(out, dt, x->rank, x->dims));
    if (zp != NULL && zp->count != 1) {
        size_t want = x->rank >= 2 ? (size_t)x->dims[is_b ? x->rank - 1 : x->rank - 2] : 0;
        ENSURE(zp->count == want && want > 0, VEIL_ERR_ENGINE_SHAPE);
    }
    GUARD(veil_tensor_alloc(out));
    for (size_t i = 0; i < x->count; i++) {
        double z = 0;
        if (zp != NULL && zp->count == 1) {
            z = veil_tensor_get_f64(zp, 0);
        } else if (zp != NULL) {
            size_t cols = (size_t)x->dims[x->rank - 1];
            size_t k = is_b ? i % cols : (i / cols) % (size_t)x->dims[x->rank - 2];
            z = veil_tensor_get_f64(zp, k);
        }
        veil_tensor_set_f64(out, i, veil_tensor_get_f64(x, i) - z);
    }
    return VEIL_RESULT_OK;
}

/* Runs op (MatMul or Conv) on inputs a, b (and bias) into a new tensor res. */
static VEIL_RESULT run_inner(const struct veil_op_ctx *c, const struct veil_op *op,
                             const struct veil_tensor *a, const struct veil_tensor *b,
                             bool shape_only, struct veil_tensor *res)
{
    const struct veil_tensor *in[2] = {a, b};
    struct veil_tensor *out[1] = {res};
    struct veil_op_ctx c2 = *c;
    veil_result r;

    c2.in = in;
    c2.in_count = 2;
    c2.out = out;
    c2.out_count = 1;
    GUARD(op->shape(&c2));
    if (shape_only) {
        return VEIL_RESULT_OK;
    }
    GUARD(veil_tensor_alloc(res));
    r = op->run(&c2);
    if (!veil_ok(r)) {
        veil_tensor_free(res);
    }
    return r;
}

static bool is_q8(const struct veil_tensor *t)
{
    return t != NULL && (t->dtype == VEIL_DT_UINT8 || t->dtype == VEIL_DT_INT8);
}

/* Integer product of (A - azp) and (B - bzp) into res (double for MatMul, float for Conv). */
static VEIL_RESULT int_product(const struct veil_op_ctx *c, bool conv, const struct veil_tensor *a,
                               const struct veil_tensor *azp, const struct veil_tensor *b,
                               const struct veil_tensor *bzp, bool shape_only,
                               struct veil_tensor *res)
{
    struct veil_tensor sa = {0};
    struct veil_tensor sb = {0};
    int32_t dt = conv ? VEIL_DT_FLOAT : VEIL_DT_DOUBLE;
    veil_result r;

    ENSURE(is_q8(a) && is_q8(b), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(azp == NULL || azp->dtype == a->dtype, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(bzp == NULL || bzp->dtype == b->dtype, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(!conv || azp == NULL || azp->count == 1, VEIL_ERR_ENGINE_SHAPE);
    r = shifted(a, azp, false, dt, &sa);
    if (veil_ok(r)) {
        if (conv && bzp != NULL && bzp->count > 1) {
            /* per output channel: the first axis of W */
            r = veil_tensor_shape(&sb, dt, b->rank, b->dims);
            if (veil_ok(r) && (b->rank == 0 || bzp->count != (size_t)b->dims[0])) {
                r = veil_result_of(VEIL_ERR_ENGINE_SHAPE);
            }
            if (veil_ok(r)) {
                r = veil_tensor_alloc(&sb);
            }
            for (size_t i = 0; veil_ok(r) && i < b->count; i++) {
                size_t per = b->count / (size_t)b->dims[0];
                veil_tensor_set_f64(&sb, i,
                                    veil_tensor_get_f64(b, i) - veil_tensor_get_f64(bzp, i / per));
            }
        } else {
            r = shifted(b, bzp, true, dt, &sb);
        }
    }
    if (veil_ok(r)) {
        r = run_inner(c, conv ? &veil_op_Conv : &veil_op_MatMul, &sa, &sb, shape_only, res);
    }
    veil_tensor_free(&sa);
    veil_tensor_free(&sb);
    return r;
}

/* ---- MatMulInteger, ConvInteger: int32 out ---- */
static VEIL_RESULT int_op(struct veil_op_ctx *c, bool conv, bool run)
{
    struct veil_tensor res = {0};
    veil_result r;

    GUARD(veil_op_arity(c, 2, 4, 1));
    r = int_product(c, conv, c->in[0], veil_op_in(c, 2), c->in[1], veil_op_in(c, 3), !run, &res);
    if (veil_ok(r) && !run) {
        r = veil_op_out(c, 0, VEIL_DT_INT32, res.rank, res.dims);
    }
    for (size_t i = 0; veil_ok(r) && run && i < res.count; i++) {
        veil_tensor_set_f64(c->out[0], i, nearbyint(veil_tensor_get_f64(&res, i)));
    }
    veil_tensor_free(&res);
    return r;
}

static VEIL_RESULT mmi_shape(struct veil_op_ctx *c)
{
    return int_op(c, false, false);
}

static VEIL_RESULT mmi_run(struct veil_op_ctx *c)
{
    return int_op(c, false, true);
}

static VEIL_RESULT convi_shape(struct veil_op_ctx *c)
{
    return int_op(c, true, false);
}

static VEIL_RESULT convi_run(struct veil_op_ctx *c)
{
    return int_op(c, true, true);
}

/* ---- QLinearMatMul (a, as, azp, b, bs, bzp, ys, yzp), QLinearConv (x, xs, xzp, w, ws, wzp, ys,
 * yzp, B) ---- */
static VEIL_RESULT qlinear(struct veil_op_ctx *c, bool conv, bool run)
{
    const struct veil_tensor *as;
    const struct veil_tensor *bs;
    const struct veil_tensor *ys;
    const struct veil_tensor *yzp;
    const struct veil_tensor *bias = conv ? veil_op_in(c, 8) : NULL;
    struct veil_tensor res = {0};
    veil_result r;

    GUARD(veil_op_arity(c, 8, conv ? 9 : 8, 1));
    as = c->in[1];
    bs = c->in[4];
    ys = c->in[6];
    yzp = c->in[7];
    ENSURE(as->count == 1 && ys->count == 1 && yzp->count == 1 && is_q8(yzp),
           VEIL_ERR_ENGINE_SHAPE);
    ENSURE(bias == NULL || (bias->dtype == VEIL_DT_INT32 && bias->rank == 1),
           VEIL_ERR_ENGINE_SHAPE);
    r = int_product(c, conv, c->in[0], c->in[2], c->in[3], c->in[5], !run, &res);
    if (veil_ok(r) && !run) {
        r = veil_op_out(c, 0, yzp->dtype, res.rank, res.dims);
    }
    if (veil_ok(r) && run) {
        size_t ch = conv ? (size_t)res.dims[1] : (size_t)res.dims[res.rank - 1];
        size_t inner = conv ? veil_op_span(&res, 2, res.rank) : 1;
        double a_s = veil_tensor_get_f64(as, 0);
        double y_s = veil_tensor_get_f64(ys, 0);
        double y_z = veil_tensor_get_f64(yzp, 0);
        if ((bias != NULL && bias->count != ch) || (bs->count != 1 && bs->count != ch)) {
            r = veil_result_of(VEIL_ERR_ENGINE_SHAPE);
        }
        for (size_t i = 0; veil_ok(r) && i < res.count; i++) {
            size_t k = (i / inner) % ch;
            double acc = veil_tensor_get_f64(&res, i);
            double b_s = veil_tensor_get_f64(bs, bs->count == 1 ? 0 : k);
            if (bias != NULL) {
                acc += veil_tensor_get_f64(bias, k);
            }
            double v = nearbyint(acc * a_s * b_s / y_s) + y_z;
            veil_tensor_set_f64(c->out[0], i, saturate(yzp->dtype, v));
        }
    }
    veil_tensor_free(&res);
    return r;
}

static VEIL_RESULT qlmm_shape(struct veil_op_ctx *c)
{
    return qlinear(c, false, false);
}

static VEIL_RESULT qlmm_run(struct veil_op_ctx *c)
{
    return qlinear(c, false, true);
}

static VEIL_RESULT qlconv_shape(struct veil_op_ctx *c)
{
    return qlinear(c, true, false);
}

static VEIL_RESULT qlconv_run(struct veil_op_ctx *c)
{
    return qlinear(c, true, true);
}

const struct veil_op veil_op_QuantizeLinear = {"QuantizeLinear", quant_shape, quant_run, false};
const struct veil_op veil_op_DequantizeLinear = {"DequantizeLinear", dequant_shape, dequant_run,
                                                 false};
const struct veil_op veil_op_DynamicQuantizeLinear = {"DynamicQuantizeLinear", dynq_shape, dynq_run,
                                                      false};
const struct veil_op veil_op_MatMulInteger = {"MatMulInteger", mmi_shape, mmi_run, false};
const struct veil_op veil_op_ConvInteger = {"ConvInteger", convi_shape, convi_run, false};
const struct veil_op veil_op_QLinearMatMul = {"QLinearMatMul", qlmm_shape, qlmm_run, false};
const struct veil_op veil_op_QLinearConv = {"QLinearConv", qlconv_shape, qlconv_run, false};
