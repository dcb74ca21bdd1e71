/* BatchNormalization (inference), InstanceNormalization, LayerNormalization, LRN. */
#include <math.h>

#include "engine/ops.h"

static VEIL_RESULT bn_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t training;

    GUARD(veil_op_arity(c, 5, 5, 1));
    x = c->in[0];
    GUARD(veil_attr_int(c, "training_mode", 0, &training));
    ENSURE(training == 0 && c->out_count == 1, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    ENSURE(veil_dtype_is_float(x->dtype) && x->rank >= 2, VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t k = 1; k < 5; k++) {
        ENSURE(veil_dtype_is_float(c->in[k]->dtype) && c->in[k]->count == (size_t)x->dims[1],
               VEIL_ERR_ENGINE_SHAPE);
    }
    return veil_op_out_like(c, 0, x);
}

VEIL_TARGET_CLONES
static void bn_plane(const float *px, float *py, size_t sp, double mean, double mul, double bias)
{
    for (size_t i = 0; i < sp; i++) {
        py[i] = (float)(((double)px[i] - mean) * mul + bias);
    }
}

static VEIL_RESULT bn_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    float eps;
    size_t n = (size_t)x->dims[0];
    size_t ch = (size_t)x->dims[1];
    size_t sp = veil_op_span(x, 2, x->rank);

    GUARD(veil_attr_float(c, "epsilon", 1e-5f, &eps));
    for (size_t b = 0; b < n; b++) {
        for (size_t k = 0; k < ch; k++) {
            double scale = veil_tensor_get_f64(c->in[1], k);
            double bias = veil_tensor_get_f64(c->in[2], k);
            double mean = veil_tensor_get_f64(c->in[3], k);
            double var = veil_tensor_get_f64(c->in[4], k);
            double mul = scale / sqrt(var + eps);
            size_t base = (b * ch + k) * sp;
            if (x->dtype == VEIL_DT_FLOAT) {
                bn_plane((const float *)x->data + base, (float *)c->out[0]->data + base, sp, mean,
                         mul, bias);
                continue;
            }
            for (size_t i = 0; i < sp; i++) {
                veil_tensor_set_f64(c->out[0], base + i,
                                    (veil_tensor_get_f64(x, base + i) - mean) * mul + bias);
            }
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT in_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    GUARD(veil_op_arity(c, 3, 3, 1));
    x = c->in[0];
    ENSURE(veil_dtype_is_float(x->dtype) && x->rank >= 3, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c->in[1]->count == (size_t)x->dims[1] && c->in[2]->count == (size_t)x->dims[1],
           VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out_like(c, 0, x);
}

static VEIL_RESULT in_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    float eps;
    size_t ch = (size_t)x->dims[1];
    size_t planes = (size_t)x->dims[0] * ch;
    size_t sp = veil_op_span(x, 2, x->rank);

    GUARD(veil_attr_float(c, "epsilon", 1e-5f, &eps));
    for (size_t pl = 0; pl < planes; pl++) {
        double mean = 0;
        double var = 0;
        for (size_t i = 0; i < sp; i++) {
            mean += veil_tensor_get_f64(x, pl * sp + i);
        }
        mean /= (double)(sp > 0 ? sp : 1);
        for (size_t i = 0; i < sp; i++) {
            double d = veil_tensor_get_f64(x, pl * sp + i) - mean;
            var += d * d;
        }
        var /= (double)(sp > 0 ? sp : 1);
        double mul = veil_tensor_get_f64(c->in[1], pl % ch) / sqrt(var + eps);
        double bias = veil_tensor_get_f64(c->in[2], pl % ch);
        for (size_t i = 0; i < sp; i++) {
            size_t o = pl * sp + i;
            veil_tensor_set_f64(c->out[0], o, (veil_tensor_get_f64(x, o) - mean) * mul + bias);
        }
    }
    return VEIL_RESULT_OK;
}

/* LayerNormalization: normalize over dims [axis, rank); Mean and InvStdDev keep those as 1. */
static VEIL_RESULT ln_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t axis;
    uint32_t ax;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    int64_t stash;

    GUARD(veil_op_arity(c, 2, 3, 1));
    x = c->in[0];
    ENSURE(veil_dtype_is_float(x->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(veil_attr_int(c, "axis", -1, &axis));
    GUARD(veil_attr_int(c, "stash_type", 1, &stash));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    size_t norm = veil_op_span(x, ax, x->rank);
    ENSURE(c->in[1]->count == norm || c->in[1]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(veil_op_in(c, 2) == NULL || c->in[2]->count == norm || c->in[2]->count == 1,
           VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_op_out_like(c, 0, x));
    for (uint32_t d = 0; d < x->rank; d++) {
        dims[d] = d < ax ? x->dims[d] : 1;
    }
    for (uint32_t k = 1; k < c->out_count && k < 3; k++) {
        GUARD(veil_op_out(c, k, stash == 1 ? VEIL_DT_FLOAT : x->dtype, x->rank, dims));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT ln_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *scale = c->in[1];
    const struct veil_tensor *bias = veil_op_in(c, 2);
    int64_t axis;
    uint32_t ax;
    float eps;

    GUARD(veil_attr_int(c, "axis", -1, &axis));
    GUARD(veil_attr_float(c, "epsilon", 1e-5f, &eps));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    size_t rows = veil_op_span(x, 0, ax);
    size_t n = veil_op_span(x, ax, x->rank);
    bool f32 = x->dtype == VEIL_DT_FLOAT && scale->dtype == VEIL_DT_FLOAT && scale->count == n &&
               (bias == NULL || (bias->dtype == VEIL_DT_FLOAT && bias->count == n));
    for (size_t r = 0; f32 && r < rows; r++) {
        const float *xr = (const float *)x->data + r * n;
        float *yr = (float *)c->out[0]->data + r * n;
        const float *sc = scale->data;
        const float *bi = bias != NULL ? bias->data : NULL;
        double mean = 0;
        double var = 0;
        for (size_t i = 0; i < n; i++) {
            mean += xr[i];
        }
        mean /= (double)(n > 0 ? n : 1);
        for (size_t i = 0; i < n; i++) {
            var += ((double)xr[i] - mean) * ((double)xr[i] - mean);
        }
        var /= (double)(n > 0 ? n : 1);
        double inv = 1.0 / sqrt(var + eps);
        for (size_t i = 0; i < n; i++) {
            yr[i] = (float)(((double)xr[i] - mean) * inv * sc[i] + (bi != NULL ? bi[i] : 0.0));
        }
        if (c->out_count > 1) {
            veil_tensor_set_f64(c->out[1], r, mean);
        }
        if (c->out_count > 2) {
            veil_tensor_set_f64(c->out[2], r, inv);
        }
    }
    for (size_t r = 0; !f32 && r < rows; r++) {
        double mean = 0;
        double var = 0;
        for (size_t i = 0; i < n; i++) {
            mean += veil_tensor_get_f64(x, r * n + i);
        }
        mean /= (double)(n > 0 ? n : 1);
        for (size_t i = 0; i < n; i++) {
            double d = veil_tensor_get_f64(x, r * n + i) - mean;
            var += d * d;
        }
        var /= (double)(n > 0 ? n : 1);
        double inv = 1.0 / sqrt(var + eps);
        for (size_t i = 0; i < n; i++) {
            double s = veil_tensor_get_f64(scale, scale->count == 1 ? 0 : i);
            double b = bias == NULL ? 0.0 : veil_tensor_get_f64(bias, bias->count == 1 ? 0 : i);
            double v = (veil_tensor_get_f64(x, r * n + i) - mean) * inv * s + b;
            veil_tensor_set_f64(c->out[0], r * n + i, v);
        }
        if (c->out_count > 1) {
            veil_tensor_set_f64(c->out[1], r, mean);
        }
        if (c->out_count > 2) {
            veil_tensor_set_f64(c->out[2], r, inv);
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT lrn_shape(struct veil_op_ctx *c)
{
    int64_t size;
    GUARD(veil_op_arity(c, 1, 1, 1));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) && c->in[0]->rank >= 3, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "size", 0, &size));
    ENSURE(size >= 1 && size <= 65535, VEIL_ERR_ENGINE_ATTR);
    return veil_op_out_like(c, 0, c->in[0]);
}

static VEIL_RESULT lrn_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    float alpha;
    float beta;
    float bias;
    int64_t size;
    int64_t ch = x->dims[1];
    size_t sp = veil_op_span(x, 2, x->rank);

    GUARD(veil_attr_float(c, "alpha", 1e-4f, &alpha));
    GUARD(veil_attr_float(c, "beta", 0.75f, &beta));
    GUARD(veil_attr_float(c, "bias", 1.0f, &bias));
    GUARD(veil_attr_int(c, "size", 0, &size));
    GUARD(veil_op_work(c, x->count, (uint64_t)size, 1, 1));
    for (int64_t b = 0; b < x->dims[0]; b++) {
        for (int64_t k = 0; k < ch; k++) {
            int64_t lo = k - (size - 1) / 2;
            int64_t hi = k + size / 2;
            lo = lo < 0 ? 0 : lo;
            hi = hi > ch - 1 ? ch - 1 : hi;
            for (size_t i = 0; i < sp; i++) {
                double sq = 0;
                for (int64_t j = lo; j <= hi; j++) {
                    double v = veil_tensor_get_f64(x, ((size_t)(b * ch + j)) * sp + i);
                    sq += v * v;
                }
                size_t o = ((size_t)(b * ch + k)) * sp + i;
                double d = pow(bias + alpha / (double)size * sq, beta);
                veil_tensor_set_f64(c->out[0], o, veil_tensor_get_f64(x, o) / d);
            }
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_BatchNormalization = {"BatchNormalization", bn_shape, bn_run, false};
const struct veil_op veil_op_InstanceNormalization = {"InstanceNormalization", in_shape, in_run,
                                                      false};
const struct veil_op veil_op_LayerNormalization = {"LayerNormalization", ln_shape, ln_run, false};
const struct veil_op veil_op_LRN = {"LRN", lrn_shape, lrn_run, false};
