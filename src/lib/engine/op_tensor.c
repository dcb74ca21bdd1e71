/*
 * Tensor plumbing: Constant, Shape, Size, Cast, CastLike, Reshape, Flatten, Squeeze, Unsqueeze,
 * ConstantOfShape, Range, EyeLike. Shapes taken from data are bounded like shapes from the model.
 */
#include <math.h>
#include <string.h>

#include "engine/ops.h"

static VEIL_RESULT copy_run(struct veil_op_ctx *c)
{
    if (c->in[0]->size > 0) {
        memcpy(c->out[0]->data, c->in[0]->data, c->in[0]->size);
    }
    return VEIL_RESULT_OK;
}

/* ---- Constant: a tensor 'value' is decoded (and bounded) once at load and viewed by every run;
 * the other forms are made into the output at every run ---- */
static VEIL_RESULT constant_shape(struct veil_op_ctx *c)
{
    const struct veil_attr *a;
    struct veil_attr_fields f;
    struct veil_tensor *o;

    ENSURE(c->out_count == 1 && c->in_count == 0, VEIL_ERR_ENGINE_SHAPE);
    o = c->out[0];
    if ((a = veil_attr_find(c, "value")) != NULL) {
        ENSURE(veil_attr_tensor(a) != NULL, VEIL_ERR_ENGINE_ATTR);
        veil_tensor_view(veil_attr_tensor(a), o); /* decoded at load (graph.c) */
        return VEIL_RESULT_OK;
    }
    if ((a = veil_attr_find(c, "value_float")) != NULL) {
        veil_attr_fields(a, &f);
        ENSURE(f.has_f, VEIL_ERR_ENGINE_ATTR);
        GUARD(veil_tensor_shape(o, VEIL_DT_FLOAT, 0, NULL));
        GUARD(veil_tensor_alloc(o));
        ((float *)o->data)[0] = f.f;
        return VEIL_RESULT_OK;
    }
    if ((a = veil_attr_find(c, "value_int")) != NULL) {
        veil_attr_fields(a, &f);
        ENSURE(f.has_i, VEIL_ERR_ENGINE_ATTR);
        GUARD(veil_tensor_shape(o, VEIL_DT_INT64, 0, NULL));
        GUARD(veil_tensor_alloc(o));
        ((int64_t *)o->data)[0] = f.i;
        return VEIL_RESULT_OK;
    }
    if ((a = veil_attr_find(c, "value_floats")) != NULL) {
        veil_attr_fields(a, &f);
        int64_t n = (int64_t)f.n_floats;
        GUARD(veil_tensor_shape(o, VEIL_DT_FLOAT, 1, &n));
        GUARD(veil_tensor_alloc(o));
        if (o->size > 0) {
            memcpy(o->data, f.floats, o->size);
        }
        return VEIL_RESULT_OK;
    }
    if ((a = veil_attr_find(c, "value_ints")) != NULL) {
        veil_attr_fields(a, &f);
        int64_t n = (int64_t)f.n_ints;
        GUARD(veil_tensor_shape(o, VEIL_DT_INT64, 1, &n));
        GUARD(veil_tensor_alloc(o));
        if (o->size > 0) {
            memcpy(o->data, f.ints, o->size);
        }
        return VEIL_RESULT_OK;
    }
    BAIL(VEIL_ERR_ENGINE_UNSUPPORTED_TYPE); /* string(s) or sparse_value */
}

static VEIL_RESULT nothing_run(struct veil_op_ctx *c)
{
    (void)c;
    return VEIL_RESULT_OK;
}

/* ---- Shape (with start/end since opset 15), Size ---- */
static VEIL_RESULT shape_shape(struct veil_op_ctx *c)
{
    int64_t start;
    int64_t end;
    int64_t r;
    int64_t n;

    GUARD(veil_op_arity(c, 1, 1, 1));
    r = c->in[0]->rank;
    GUARD(veil_attr_int(c, "start", 0, &start));
    GUARD(veil_attr_int(c, "end", r, &end));
    start = start < 0 ? start + r : start;
    end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : (start > r ? r : start);
    end = end < 0 ? 0 : (end > r ? r : end);
    n = end > start ? end - start : 0;
    return veil_op_out(c, 0, VEIL_DT_INT64, 1, &n);
}

static VEIL_RESULT shape_run(struct veil_op_ctx *c)
{
    int64_t start;
    int64_t r = c->in[0]->rank;
    GUARD(veil_attr_int(c, "start", 0, &start));
    start = start < 0 ? start + r : start;
    start = start < 0 ? 0 : (start > r ? r : start);
    for (size_t i = 0; i < c->out[0]->count; i++) {
        ((int64_t *)c->out[0]->data)[i] = c->in[0]->dims[(size_t)start + i];
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT size_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 1, 1));
    return veil_op_out(c, 0, VEIL_DT_INT64, 0, NULL);
}

static VEIL_RESULT size_run(struct veil_op_ctx *c)
{
    ((int64_t *)c->out[0]->data)[0] = (int64_t)c->in[0]->count;
    return VEIL_RESULT_OK;
}

/* ---- Cast, CastLike ---- */
static VEIL_RESULT cast_shape(struct veil_op_ctx *c)
{
    int64_t to;
    bool like = strcmp(c->node->op->name, "CastLike") == 0;

    GUARD(veil_op_arity(c, like ? 2 : 1, like ? 2 : 1, 1));
    if (like) {
        to = c->in[1]->dtype;
    } else {
        GUARD(veil_attr_int(c, "to", 0, &to));
    }
    ENSURE(to > 0 && to <= INT32_MAX, VEIL_ERR_ENGINE_ATTR);
    ENSURE(veil_dtype_size((int32_t)to) != 0, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    return veil_op_out(c, 0, (int32_t)to, c->in[0]->rank, c->in[0]->dims);
}

static VEIL_RESULT cast_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];

    if (x->dtype == y->dtype) {
        return copy_run(c);
    }
    for (size_t i = 0; i < x->count; i++) {
        if (veil_dtype_is_float(y->dtype)) {
            double v = x->dtype == VEIL_DT_UINT64 ? (double)((const uint64_t *)x->data)[i]
                                                  : veil_tensor_get_f64(x, i);
            veil_tensor_set_f64(y, i, v);
        } else if (veil_dtype_is_float(x->dtype)) {
            veil_tensor_set_f64(y, i, trunc(veil_tensor_get_f64(x, i)));
        } else {
            veil_tensor_set_i64(y, i, veil_tensor_get_i64(x, i));
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Reshape ---- */
static VEIL_RESULT reshape_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t n;
    int64_t allowzero;
    int64_t infer = -1;
    size_t known = 1;

    GUARD(veil_op_arity(c, 2, 2, 1));
    x = c->in[0];
    GUARD(veil_op_ints(c->in[1], VEIL_ENGINE_RANK_MAX, dims, &n));
    GUARD(veil_attr_int(c, "allowzero", 0, &allowzero));
    for (size_t i = 0; i < n; i++) {
        if (dims[i] == 0 && !allowzero) {
            ENSURE(i < x->rank, VEIL_ERR_ENGINE_SHAPE);
            dims[i] = x->dims[i];
        }
        if (dims[i] == -1) {
            ENSURE(infer < 0, VEIL_ERR_ENGINE_SHAPE);
            infer = (int64_t)i;
            continue;
        }
        ENSURE(dims[i] >= 0, VEIL_ERR_ENGINE_SHAPE);
        ENSURE((uint64_t)dims[i] <= VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ERR_ENGINE_LIMIT);
        if (dims[i] != 0) {
            ENSURE(known <= VEIL_ENGINE_TENSOR_SIZE_MAX / (size_t)dims[i], VEIL_ERR_ENGINE_LIMIT);
        }
        known *= (size_t)dims[i];
    }
    if (infer >= 0) {
        ENSURE(known != 0 && x->count % known == 0, VEIL_ERR_ENGINE_SHAPE);
        dims[infer] = (int64_t)(x->count / known);
    } else {
        ENSURE(known == x->count, VEIL_ERR_ENGINE_SHAPE);
    }
    return veil_op_out(c, 0, x->dtype, (uint32_t)n, dims);
}

/* ---- Flatten ---- */
static VEIL_RESULT flatten_shape(struct veil_op_ctx *c)
{
    int64_t axis;
    uint32_t ax;
    int64_t dims[2];

    GUARD(veil_op_arity(c, 1, 1, 1));
    GUARD(veil_attr_int(c, "axis", 1, &axis));
    GUARD(veil_op_axis(axis, c->in[0]->rank, 1, &ax));
    dims[0] = (int64_t)veil_op_span(c->in[0], 0, ax);
    dims[1] = (int64_t)veil_op_span(c->in[0], ax, c->in[0]->rank);
    return veil_op_out(c, 0, c->in[0]->dtype, 2, dims);
}

/* axes from input 1 (opset >= 13) or the "axes" attribute */
static VEIL_RESULT axes_of(const struct veil_op_ctx *c, int64_t *axes, size_t *n, bool *given)
{
    const struct veil_tensor *t = veil_op_in(c, 1);
    const int64_t *a;
    *given = false;
    if (t != NULL) {
        GUARD(veil_op_ints(t, VEIL_ENGINE_RANK_MAX, axes, n));
        *given = true;
        return VEIL_RESULT_OK;
    }
    GUARD(veil_attr_ints(c, "axes", &a, n));
    ENSURE(*n <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
    for (size_t i = 0; i < *n; i++) {
        axes[i] = a[i];
    }
    *given = veil_attr_find(c, "axes") != NULL;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT squeeze_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t axes[VEIL_ENGINE_RANK_MAX];
    size_t n;
    bool given;
    bool drop[VEIL_ENGINE_RANK_MAX] = {false};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t r = 0;

    GUARD(veil_op_arity(c, 1, 2, 1));
    x = c->in[0];
    GUARD(axes_of(c, axes, &n, &given));
    if (!given || n == 0) {
        for (uint32_t d = 0; d < x->rank; d++) {
            drop[d] = x->dims[d] == 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t ax;
        GUARD(veil_op_axis(axes[i], x->rank, 0, &ax));
        ENSURE(x->dims[ax] == 1, VEIL_ERR_ENGINE_SHAPE);
        drop[ax] = true;
    }
    for (uint32_t d = 0; d < x->rank; d++) {
        if (!drop[d]) {
            dims[r++] = x->dims[d];
        }
    }
    return veil_op_out(c, 0, x->dtype, r, dims);
}

static VEIL_RESULT unsqueeze_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t axes[VEIL_ENGINE_RANK_MAX];
    size_t n;
    bool given;
    bool add[VEIL_ENGINE_RANK_MAX] = {false};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t r;
    uint32_t src = 0;

    GUARD(veil_op_arity(c, 1, 2, 1));
    x = c->in[0];
    GUARD(axes_of(c, axes, &n, &given));
    ENSURE(x->rank + n <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    r = x->rank + (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        uint32_t ax;
        GUARD(veil_op_axis(axes[i], r, 0, &ax));
        ENSURE(!add[ax], VEIL_ERR_ENGINE_ATTR);
        add[ax] = true;
    }
    for (uint32_t d = 0; d < r; d++) {
        dims[d] = add[d] ? 1 : x->dims[src++];
    }
    return veil_op_out(c, 0, x->dtype, r, dims);
}

/* ---- ConstantOfShape, Range, EyeLike ---- */
static VEIL_RESULT cos_shape(struct veil_op_ctx *c)
{
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t n;
    int32_t dt = VEIL_DT_FLOAT;
    const struct veil_attr *a = veil_attr_find(c, "value");

    GUARD(veil_op_arity(c, 1, 1, 1));
    GUARD(veil_op_ints(c->in[0], VEIL_ENGINE_RANK_MAX, dims, &n));
    if (a != NULL) {
        ENSURE(veil_attr_tensor(a) != NULL, VEIL_ERR_ENGINE_ATTR);
        dt = veil_attr_tensor(a)->dtype;
    }
    return veil_op_out(c, 0, dt, (uint32_t)n, dims);
}

static VEIL_RESULT cos_run(struct veil_op_ctx *c)
{
    const struct veil_attr *a = veil_attr_find(c, "value");
    const struct veil_tensor *t = a != NULL ? veil_attr_tensor(a) : NULL;
    size_t es = veil_dtype_size(c->out[0]->dtype);

    if (a == NULL) {
        return VEIL_RESULT_OK; /* zeros */
    }
    /* decoded at load (graph.c) */
    ENSURE(t != NULL && t->count == 1 && t->dtype == c->out[0]->dtype, VEIL_ERR_ENGINE_ATTR);
    for (size_t i = 0; i < c->out[0]->count; i++) {
        memcpy((uint8_t *)c->out[0]->data + i * es, t->data, es);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT range_shape(struct veil_op_ctx *c)
{
    double start;
    double limit;
    double delta;
    double n;
    int64_t count;

    GUARD(veil_op_arity(c, 3, 3, 1));
    for (uint32_t k = 0; k < 3; k++) {
        ENSURE(c->in[k]->count == 1 && c->in[k]->dtype == c->in[0]->dtype, VEIL_ERR_ENGINE_SHAPE);
    }
    start = veil_tensor_get_f64(c->in[0], 0);
    limit = veil_tensor_get_f64(c->in[1], 0);
    delta = veil_tensor_get_f64(c->in[2], 0);
    ENSURE(delta != 0 && isfinite(start) && isfinite(limit) && isfinite(delta),
           VEIL_ERR_ENGINE_INDEX);
    n = ceil((limit - start) / delta);
    n = n < 0 ? 0 : n;
    ENSURE(n <= (double)VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ERR_ENGINE_LIMIT);
    count = (int64_t)n;
    return veil_op_out(c, 0, c->in[0]->dtype, 1, &count);
}

static VEIL_RESULT range_run(struct veil_op_ctx *c)
{
    struct veil_tensor *y = c->out[0];
    if (veil_dtype_is_float(y->dtype)) {
        double s = veil_tensor_get_f64(c->in[0], 0);
        double d = veil_tensor_get_f64(c->in[2], 0);
        for (size_t i = 0; i < y->count; i++) {
            veil_tensor_set_f64(y, i, s + (double)i * d);
        }
    } else {
        int64_t s = veil_tensor_get_i64(c->in[0], 0);
        int64_t d = veil_tensor_get_i64(c->in[2], 0);
        for (size_t i = 0; i < y->count; i++) {
            veil_tensor_set_i64(y, i, (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d));
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT eyelike_shape(struct veil_op_ctx *c)
{
    int64_t dt;
    GUARD(veil_op_arity(c, 1, 1, 1));
    ENSURE(c->in[0]->rank == 2, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "dtype", c->in[0]->dtype, &dt));
    ENSURE(dt > 0 && dt <= INT32_MAX, VEIL_ERR_ENGINE_ATTR);
    return veil_op_out(c, 0, (int32_t)dt, 2, c->in[0]->dims);
}

static VEIL_RESULT eyelike_run(struct veil_op_ctx *c)
{
    int64_t k;
    struct veil_tensor *y = c->out[0];
    GUARD(veil_attr_int(c, "k", 0, &k));
    for (int64_t i = 0; i < y->dims[0]; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < y->dims[1]) {
            veil_tensor_set_i64(y, (size_t)(i * y->dims[1] + j), 1);
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_Constant = {"Constant", constant_shape, nothing_run, true};
const struct veil_op veil_op_Shape = {"Shape", shape_shape, shape_run, false};
const struct veil_op veil_op_Size = {"Size", size_shape, size_run, false};
const struct veil_op veil_op_Cast = {"Cast", cast_shape, cast_run, false};
const struct veil_op veil_op_CastLike = {"CastLike", cast_shape, cast_run, false};
const struct veil_op veil_op_Reshape = {"Reshape", reshape_shape, copy_run, false};
const struct veil_op veil_op_Flatten = {"Flatten", flatten_shape, copy_run, false};
const struct veil_op veil_op_Squeeze = {"Squeeze", squeeze_shape, copy_run, false};
const struct veil_op veil_op_Unsqueeze = {"Unsqueeze", unsqueeze_shape, copy_run, false};
const struct veil_op veil_op_ConstantOfShape = {"ConstantOfShape", cos_shape, cos_run, false};
const struct veil_op veil_op_Range = {"Range", range_shape, range_run, false};
const struct veil_op veil_op_EyeLike = {"EyeLike", eyelike_shape, eyelike_run, false};
