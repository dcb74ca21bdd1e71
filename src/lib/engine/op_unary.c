/*
 * Elementwise unary operators: math functions and activations (one table, one kernel), plus
 * Clip, Identity and Dropout (inference: identity, mask all true).
 */
#include <math.h>
#include <string.h>

#include "engine/ops.h"

struct unary_params {
    float alpha;
    float beta;
    float gamma;
    int64_t neg;
    int64_t pos;
};

typedef double (*unary_fn)(double x, const struct unary_params *p);

static double u_abs(double x, const struct unary_params *p)
{
    (void)p;
    return fabs(x);
}
static double u_neg(double x, const struct unary_params *p)
{
    (void)p;
    return -x;
}
static double u_sign(double x, const struct unary_params *p)
{
    (void)p;
    return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
}
static double u_ceil(double x, const struct unary_params *p)
{
    (void)p;
    return ceil(x);
}
static double u_floor(double x, const struct unary_params *p)
{
    (void)p;
    return floor(x);
}
static double u_round(double x, const struct unary_params *p)
{
    (void)p;
    return nearbyint(x);
}
static double u_sqrt(double x, const struct unary_params *p)
{
    (void)p;
    return sqrt(x);
}
static double u_recip(double x, const struct unary_params *p)
{
    (void)p;
    return 1.0 / x;
}
static double u_exp(double x, const struct unary_params *p)
{
    (void)p;
    return exp(x);
}
static double u_log(double x, const struct unary_params *p)
{
    (void)p;
    return log(x);
}
static double u_sin(double x, const struct unary_params *p)
{
    (void)p;
    return sin(x);
}
static double u_cos(double x, const struct unary_params *p)
{
    (void)p;
    return cos(x);
}
static double u_tan(double x, const struct unary_params *p)
{
    (void)p;
    return tan(x);
}
static double u_asin(double x, const struct unary_params *p)
{
    (void)p;
    return asin(x);
}
static double u_acos(double x, const struct unary_params *p)
{
    (void)p;
    return acos(x);
}
static double u_atan(double x, const struct unary_params *p)
{
    (void)p;
    return atan(x);
}
static double u_sinh(double x, const struct unary_params *p)
{
    (void)p;
    return sinh(x);
}
static double u_cosh(double x, const struct unary_params *p)
{
    (void)p;
    return cosh(x);
}
static double u_asinh(double x, const struct unary_params *p)
{
    (void)p;
    return asinh(x);
}
static double u_acosh(double x, const struct unary_params *p)
{
    (void)p;
    return acosh(x);
}
static double u_atanh(double x, const struct unary_params *p)
{
    (void)p;
    return atanh(x);
}
static double u_erf(double x, const struct unary_params *p)
{
    (void)p;
    return erf(x);
}
static double u_relu(double x, const struct unary_params *p)
{
    (void)p;
    return x > 0 ? x : 0;
}
static double u_sigmoid(double x, const struct unary_params *p)
{
    (void)p;
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}
static double u_tanh(double x, const struct unary_params *p)
{
    (void)p;
    return tanh(x);
}
static double u_softplus(double x, const struct unary_params *p)
{
    (void)p;
    return x > 30 ? x : log1p(exp(x));
}
static double u_softsign(double x, const struct unary_params *p)
{
    (void)p;
    return x / (1.0 + fabs(x));
}
static double u_elu(double x, const struct unary_params *p)
{
    return x >= 0 ? x : p->alpha * (exp(x) - 1.0);
}
static double u_selu(double x, const struct unary_params *p)
{
    return p->gamma * (x > 0 ? x : p->alpha * (exp(x) - 1.0));
}
static double u_leaky(double x, const struct unary_params *p)
{
    return x >= 0 ? x : p->alpha * x;
}
static double u_hsig(double x, const struct unary_params *p)
{
    double v = p->alpha * x + p->beta;
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}
static double u_hswish(double x, const struct unary_params *p)
{
    double v = x / 6.0 + 0.5;
    (void)p;
    return x * (v < 0 ? 0 : (v > 1 ? 1 : v));
}
static double u_thrrelu(double x, const struct unary_params *p)
{
    return x > p->alpha ? x : 0;
}
static double u_celu(double x, const struct unary_params *p)
{
    return (x > 0 ? x : 0) + fmin(0.0, p->alpha * (exp(x / p->alpha) - 1.0));
}
static double u_not(double x, const struct unary_params *p)
{
    (void)p;
    return x == 0;
}
static double u_isnan(double x, const struct unary_params *p)
{
    (void)p;
    return isnan(x);
}
static double u_isinf(double x, const struct unary_params *p)
{
    return isinf(x) && ((x > 0 && p->pos) || (x < 0 && p->neg));
}
static double u_shrink(double x, const struct unary_params *p)
{
    return x < -p->gamma ? x + p->beta : (x > p->gamma ? x - p->beta : 0);
}
static double u_mish(double x, const struct unary_params *p)
{
    return x * tanh(u_softplus(x, p));
}

/* U_PARAMS: the function reads unary_params (alpha, beta, gamma, detect_*) */
enum { U_ANY = 0, U_FLOAT = 1, U_BOOL_IN = 2, U_BOOL_OUT = 4, U_PARAMS = 8 };

static const struct unary_def {
    const char *name;
    unary_fn fn;
    int flags;
} unary_defs[] = {
    {"Abs", u_abs, U_ANY},
    {"Neg", u_neg, U_ANY},
    {"Sign", u_sign, U_ANY},
    {"Ceil", u_ceil, U_FLOAT},
    {"Floor", u_floor, U_FLOAT},
    {"Round", u_round, U_FLOAT},
    {"Sqrt", u_sqrt, U_FLOAT},
    {"Reciprocal", u_recip, U_FLOAT},
    {"Exp", u_exp, U_FLOAT},
    {"Log", u_log, U_FLOAT},
    {"Sin", u_sin, U_FLOAT},
    {"Cos", u_cos, U_FLOAT},
    {"Tan", u_tan, U_FLOAT},
    {"Asin", u_asin, U_FLOAT},
    {"Acos", u_acos, U_FLOAT},
    {"Atan", u_atan, U_FLOAT},
    {"Sinh", u_sinh, U_FLOAT},
    {"Cosh", u_cosh, U_FLOAT},
    {"Asinh", u_asinh, U_FLOAT},
    {"Acosh", u_acosh, U_FLOAT},
    {"Atanh", u_atanh, U_FLOAT},
    {"Erf", u_erf, U_ANY},
    {"Relu", u_relu, U_ANY},
    {"Sigmoid", u_sigmoid, U_FLOAT},
    {"Tanh", u_tanh, U_FLOAT},
    {"Softplus", u_softplus, U_FLOAT},
    {"Softsign", u_softsign, U_FLOAT},
    {"Elu", u_elu, U_FLOAT | U_PARAMS},
    {"Selu", u_selu, U_FLOAT | U_PARAMS},
    {"LeakyRelu", u_leaky, U_FLOAT | U_PARAMS},
    {"HardSigmoid", u_hsig, U_FLOAT | U_PARAMS},
    {"HardSwish", u_hswish, U_FLOAT},
    {"ThresholdedRelu", u_thrrelu, U_FLOAT | U_PARAMS},
    {"Celu", u_celu, U_FLOAT | U_PARAMS},
    {"Not", u_not, U_BOOL_IN | U_BOOL_OUT},
    {"IsNaN", u_isnan, U_FLOAT | U_BOOL_OUT},
    {"IsInf", u_isinf, U_FLOAT | U_BOOL_OUT | U_PARAMS},
    {"Shrink", u_shrink, U_ANY | U_PARAMS},
    {"Mish", u_mish, U_FLOAT},
};

static const struct unary_def *unary_find(const struct veil_op_ctx *c)
{
    const char *name = c->node->op->name;
    for (size_t i = 0; i < sizeof(unary_defs) / sizeof(unary_defs[0]); i++) {
        /* the first letter first: twice per node and run, a full compare per entry showed */
        if (unary_defs[i].name[0] == name[0] && strcmp(unary_defs[i].name, name) == 0) {
            return &unary_defs[i];
        }
    }
    return NULL;
}

static VEIL_RESULT unary_params(const struct veil_op_ctx *c, struct unary_params *p)
{
    const char *n = c->node->op->name;
    float alpha = 0.01f;
    if (strcmp(n, "Elu") == 0 || strcmp(n, "Celu") == 0) {
        alpha = 1.0f;
    } else if (strcmp(n, "Selu") == 0) {
        alpha = 1.67326319217681884765625f;
    } else if (strcmp(n, "HardSigmoid") == 0) {
        alpha = 0.2f;
    } else if (strcmp(n, "ThresholdedRelu") == 0) {
        alpha = 1.0f;
    }
    GUARD(veil_attr_float(c, "alpha", alpha, &p->alpha));
    if (strcmp(n, "Shrink") == 0) {
        GUARD(veil_attr_float(c, "bias", 0.0f, &p->beta));
        GUARD(veil_attr_float(c, "lambd", 0.5f, &p->gamma));
    } else {
        GUARD(veil_attr_float(c, "beta", 0.5f, &p->beta));
        GUARD(veil_attr_float(c, "gamma", 1.05070102214813232421875f, &p->gamma));
    }
    GUARD(veil_attr_int(c, "detect_negative", 1, &p->neg));
    GUARD(veil_attr_int(c, "detect_positive", 1, &p->pos));
    ENSURE(strcmp(n, "Celu") != 0 || p->alpha != 0.0f, VEIL_ERR_ENGINE_ATTR);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT unary_shape(struct veil_op_ctx *c)
{
    const struct unary_def *d = unary_find(c);
    const struct veil_tensor *x;

    ENSURE(d != NULL, VEIL_ERR_INTERNAL);
    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    if (d->flags & U_BOOL_IN) {
        ENSURE(x->dtype == VEIL_DT_BOOL, VEIL_ERR_ENGINE_SHAPE);
    } else if (d->flags & U_FLOAT) {
        ENSURE(veil_dtype_is_float(x->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    } else {
        ENSURE(veil_dtype_is_float(x->dtype) || veil_dtype_is_int(x->dtype),
               VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    }
    return veil_op_out(c, 0, (d->flags & U_BOOL_OUT) ? VEIL_DT_BOOL : x->dtype, x->rank, x->dims);
}

/* Float elementwise over [begin, end): Relu and LeakyRelu as plain float loops (a float product
 * rounds exactly as the double one), Exp, Sigmoid and Tanh by the vectorized float functions
 * (vmath.c, a few ulp from the double ones), the others through their double function. */
struct unary_job {
    unary_fn fn;
    const struct unary_params *p;
    const float *x;
    float *y;
};

VEIL_TARGET_CLONES
static void unary_part(void *ctx, size_t begin, size_t end)
{
    const struct unary_job *j = ctx;
    const float *x = j->x;
    float *y = j->y;
    if (j->fn == u_relu) {
        for (size_t i = begin; i < end; i++) {
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        }
    } else if (j->fn == u_leaky) {
        float a = j->p->alpha;
        for (size_t i = begin; i < end; i++) {
            y[i] = x[i] >= 0.0f ? x[i] : a * x[i];
        }
    } else if (j->fn == u_exp) {
        veil_vexpf(x + begin, y + begin, end - begin);
    } else if (j->fn == u_sigmoid) {
        veil_vsigmoidf(x + begin, y + begin, end - begin);
    } else if (j->fn == u_tanh) {
        veil_vtanhf(x + begin, y + begin, end - begin);
    } else {
        for (size_t i = begin; i < end; i++) {
            y[i] = (float)j->fn(x[i], j->p);
        }
    }
}

static VEIL_RESULT unary_run(struct veil_op_ctx *c)
{
    const struct unary_def *d = unary_find(c);
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    struct unary_params p;

    ENSURE(d != NULL, VEIL_ERR_INTERNAL);
    memset(&p, 0, sizeof(p));
    if ((d->flags & U_PARAMS) || c->node->attr_count > 0) {
        /* (a node without attributes of a function without parameters has nothing to read or
         * check: ten attribute lookups and name compares per node and run saved) */
        GUARD(unary_params(c, &p));
    }
    if (x->dtype == VEIL_DT_FLOAT && y->dtype == VEIL_DT_FLOAT) {
        struct unary_job j = {d->fn, &p, x->data, y->data};
        return veil_op_parallel(c, x->count, 32768, unary_part, &j);
    }
    if (veil_dtype_is_int(x->dtype) && (d->fn == u_abs || d->fn == u_neg)) {
        for (size_t i = 0; i < x->count; i++) {
            int64_t v = veil_tensor_get_i64(x, i);
            bool flip = d->fn == u_neg || v < 0;
            veil_tensor_set_i64(y, i, flip ? (int64_t)(0 - (uint64_t)v) : v);
        }
        return VEIL_RESULT_OK;
    }
    for (size_t i = 0; i < x->count; i++) {
        veil_tensor_set_f64(y, i, d->fn(veil_tensor_get_f64(x, i), &p));
    }
    return VEIL_RESULT_OK;
}

/* Clip: min/max from inputs (opset >= 11) or attributes (older). */
static VEIL_RESULT clip_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 3, 1));
    for (uint32_t k = 1; k < c->in_count; k++) {
        const struct veil_tensor *t = c->in[k];
        ENSURE(t == NULL || (t->count == 1 && t->dtype == c->in[0]->dtype), VEIL_ERR_ENGINE_SHAPE);
    }
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    return veil_op_out_like(c, 0, c->in[0]);
}

struct clip_job {
    const float *x;
    float *y;
    float lo, hi;
};

/* Same comparisons as the double path: NaN passes through. */
VEIL_TARGET_CLONES
static void clip_part(void *ctx, size_t begin, size_t end)
{
    const struct clip_job *j = ctx;
    for (size_t i = begin; i < end; i++) {
        float v = j->x[i];
        v = v < j->lo ? j->lo : v;
        j->y[i] = v > j->hi ? j->hi : v;
    }
}

static VEIL_RESULT clip_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *tmin = veil_op_in(c, 1);
    const struct veil_tensor *tmax = veil_op_in(c, 2);
    float amin;
    float amax;
    double lo = -INFINITY;
    double hi = INFINITY;

    GUARD(veil_attr_float(c, "min", -INFINITY, &amin));
    GUARD(veil_attr_float(c, "max", INFINITY, &amax));
    lo = amin;
    hi = amax;
    if (veil_dtype_is_int(x->dtype)) {
        int64_t ilo = tmin != NULL ? veil_tensor_get_i64(tmin, 0) : INT64_MIN;
        int64_t ihi = tmax != NULL ? veil_tensor_get_i64(tmax, 0) : INT64_MAX;
        for (size_t i = 0; i < x->count; i++) {
            int64_t v = veil_tensor_get_i64(x, i);
            v = v < ilo ? ilo : v;
            v = v > ihi ? ihi : v;
            veil_tensor_set_i64(c->out[0], i, v);
        }
        return VEIL_RESULT_OK;
    }
    if (tmin != NULL) {
        lo = veil_tensor_get_f64(tmin, 0);
    }
    if (tmax != NULL) {
        hi = veil_tensor_get_f64(tmax, 0);
    }
    if (x->dtype == VEIL_DT_FLOAT) {
        struct clip_job j = {x->data, c->out[0]->data, (float)lo, (float)hi};
        return veil_op_parallel(c, x->count, 32768, clip_part, &j);
    }
    for (size_t i = 0; i < x->count; i++) {
        double v = veil_tensor_get_f64(x, i);
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        veil_tensor_set_f64(c->out[0], i, v);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT identity_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 3, 1));
    GUARD(veil_op_out_like(c, 0, c->in[0]));
    if (c->out_count > 1) {
        /* Dropout's mask */
        GUARD(veil_op_out(c, 1, VEIL_DT_BOOL, c->in[0]->rank, c->in[0]->dims));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT identity_run(struct veil_op_ctx *c)
{
    if (c->in[0]->size > 0) {
        memcpy(c->out[0]->data, c->in[0]->data, c->in[0]->size);
    }
    if (c->out_count > 1) {
        memset(c->out[1]->data, 1, c->out[1]->size);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT dropout_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *training = veil_op_in(c, 2);
    /* inference only: a training_mode input that is true would need randomness */
    ENSURE(training == NULL || training->count == 0 || veil_tensor_get_i64(training, 0) == 0,
           VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    return identity_run(c);
}

#define UNARY_OP(n) const struct veil_op veil_op_##n = {#n, unary_shape, unary_run, false};
UNARY_OP(Abs)
UNARY_OP(Neg)
UNARY_OP(Sign)
UNARY_OP(Ceil)
UNARY_OP(Floor)
UNARY_OP(Round)
UNARY_OP(Sqrt)
UNARY_OP(Reciprocal)
UNARY_OP(Exp)
UNARY_OP(Log)
UNARY_OP(Sin)
UNARY_OP(Cos)
UNARY_OP(Tan)
UNARY_OP(Asin)
UNARY_OP(Acos)
UNARY_OP(Atan)
UNARY_OP(Sinh)
UNARY_OP(Cosh)
UNARY_OP(Asinh)
UNARY_OP(Acosh)
UNARY_OP(Atanh)
UNARY_OP(Erf)
UNARY_OP(Relu)
UNARY_OP(Sigmoid)
UNARY_OP(Tanh)
UNARY_OP(Softplus)
UNARY_OP(Softsign)
UNARY_OP(Elu)
UNARY_OP(Selu)
UNARY_OP(LeakyRelu)
UNARY_OP(HardSigmoid)
UNARY_OP(HardSwish)
UNARY_OP(ThresholdedRelu)
UNARY_OP(Celu)
UNARY_OP(Not)
UNARY_OP(IsNaN)
UNARY_OP(IsInf)
UNARY_OP(Shrink)
UNARY_OP(Mish)
const struct veil_op veil_op_Clip = {"Clip", clip_shape, clip_run, false};
const struct veil_op veil_op_Identity = {"Identity", identity_shape, identity_run, false};
const struct veil_op veil_op_Dropout = {"Dropout", identity_shape, dropout_run, false};
