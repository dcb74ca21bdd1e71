/*
 * Index-driven operators: TopK, OneHot, Compress, GatherND, ScatterND, NonZero, ReverseSequence,
 * MaxUnpool. Every index read from tensor data is checked before it addresses memory.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

/* ---- TopK ---- */
static VEIL_RESULT topk_params(const struct veil_op_ctx *c, uint32_t *ax, int64_t *k)
{
    const struct veil_tensor *x = c->in[0];
    int64_t axis;
    GUARD(veil_attr_int(c, "axis", -1, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, ax));
    if (veil_op_in(c, 1) != NULL) {
        ENSURE(c->in[1]->count == 1 && veil_dtype_is_int(c->in[1]->dtype), VEIL_ERR_ENGINE_SHAPE);
        *k = veil_tensor_get_i64(c->in[1], 0);
    } else {
        GUARD(veil_attr_int(c, "k", -1, k));
    }
    ENSURE(*k >= 0 && *k <= x->dims[*ax], VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT topk_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    int64_t k;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 1, 2, 2));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(topk_params(c, &ax, &k));
    memcpy(dims, c->in[0]->dims, sizeof(dims));
    dims[ax] = k;
    GUARD(veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, dims));
    return veil_op_out(c, 1, VEIL_DT_INT64, c->in[0]->rank, dims);
}

struct topk_item {
    double v;
    int64_t i;
};

static int topk_desc(const void *a, const void *b)
{
    const struct topk_item *x = a;
    const struct topk_item *y = b;
    if (x->v != y->v) {
        return x->v > y->v ? -1 : 1;
    }
    return (x->i > y->i) - (x->i < y->i);
}

static int topk_asc(const void *a, const void *b)
{
    const struct topk_item *x = a;
    const struct topk_item *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return (x->i > y->i) - (x->i < y->i);
}

static VEIL_RESULT topk_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    uint32_t ax;
    int64_t k;
    int64_t largest;
    size_t outer;
    size_t inner;
    size_t n;
    struct topk_item *items;

    GUARD(topk_params(c, &ax, &k));
    GUARD(veil_attr_int(c, "largest", 1, &largest));
    outer = veil_op_span(x, 0, ax);
    inner = veil_op_span(x, ax + 1, x->rank);
    n = (size_t)x->dims[ax];
    items = malloc((n > 0 ? n : 1) * sizeof(*items));
    ENSURE(items != NULL, VEIL_ERR_NOMEM);
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            for (size_t j = 0; j < n; j++) {
                items[j].v = veil_tensor_get_f64(x, (o * n + j) * inner + in);
                items[j].i = (int64_t)j;
            }
            qsort(items, n, sizeof(*items), largest ? topk_desc : topk_asc);
            for (size_t j = 0; j < (size_t)k; j++) {
                size_t dst = (o * (size_t)k + j) * inner + in;
                size_t src = (o * n + (size_t)items[j].i) * inner + in;
                memcpy((uint8_t *)c->out[0]->data + dst * veil_dtype_size(x->dtype),
                       (const uint8_t *)x->data + src * veil_dtype_size(x->dtype),
                       veil_dtype_size(x->dtype));
                ((int64_t *)c->out[1]->data)[dst] = items[j].i;
            }
        }
    }
    free(items);
    return VEIL_RESULT_OK;
}

/* ---- OneHot ---- */
static VEIL_RESULT onehot_plan(const struct veil_op_ctx *c, uint32_t *ax, int64_t *depth)
{
    int64_t axis;
    double d;
    ENSURE(c->in[1]->count == 1 && c->in[2]->count == 2, VEIL_ERR_ENGINE_SHAPE);
    d = veil_tensor_get_f64(c->in[1], 0);
    ENSURE(d >= 1 && d <= (double)VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ERR_ENGINE_SHAPE);
    *depth = (int64_t)d;
    GUARD(veil_attr_int(c, "axis", -1, &axis));
    GUARD(veil_op_axis(axis, c->in[0]->rank + 1, 0, ax));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT onehot_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    int64_t depth;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *ind;

    GUARD(veil_op_arity(c, 3, 3, 1));
    ind = c->in[0];
    ENSURE(ind->rank + 1 <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    GUARD(onehot_plan(c, &ax, &depth));
    for (uint32_t d = 0, s = 0; d < ind->rank + 1; d++) {
        dims[d] = d == ax ? depth : ind->dims[s++];
    }
    return veil_op_out(c, 0, c->in[2]->dtype, ind->rank + 1, dims);
}

static VEIL_RESULT onehot_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *ind = c->in[0];
    struct veil_tensor *y = c->out[0];
    uint32_t ax;
    int64_t depth;
    size_t es = veil_dtype_size(y->dtype);
    size_t outer;
    size_t inner;
    const uint8_t *off_v = c->in[2]->data;
    const uint8_t *on_v = off_v + es;

    GUARD(onehot_plan(c, &ax, &depth));
    outer = veil_op_span(ind, 0, ax);
    inner = veil_op_span(ind, ax, ind->rank);
    for (size_t i = 0; i < y->count; i++) {
        memcpy((uint8_t *)y->data + i * es, off_v, es);
    }
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            int64_t k = veil_tensor_get_i64(ind, o * inner + in);
            k = k < 0 ? k + depth : k;
            if (k >= 0 && k < depth) {
                size_t dst = (o * (size_t)depth + (size_t)k) * inner + in;
                memcpy((uint8_t *)y->data + dst * es, on_v, es);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Compress ---- */
static VEIL_RESULT compress_plan(const struct veil_op_ctx *c, bool *flat, uint32_t *ax,
                                 int64_t *kept)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *cond = c->in[1];
    const struct veil_attr *a = veil_attr_find(c, "axis");
    size_t len;

    ENSURE(cond->rank == 1, VEIL_ERR_ENGINE_SHAPE);
    *flat = a == NULL;
    if (!*flat) {
        int64_t axis;
        GUARD(veil_attr_int(c, "axis", 0, &axis));
        GUARD(veil_op_axis(axis, x->rank, 0, ax));
        len = (size_t)x->dims[*ax];
    } else {
        *ax = 0;
        len = x->count;
    }
    ENSURE(cond->count <= len, VEIL_ERR_ENGINE_SHAPE);
    *kept = 0;
    for (size_t i = 0; i < cond->count; i++) {
        *kept += veil_tensor_get_i64(cond, i) != 0;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT compress_shape(struct veil_op_ctx *c)
{
    bool flat;
    uint32_t ax;
    int64_t kept;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 2, 2, 1));
    GUARD(compress_plan(c, &flat, &ax, &kept));
    if (flat) {
        return veil_op_out(c, 0, c->in[0]->dtype, 1, &kept);
    }
    memcpy(dims, c->in[0]->dims, sizeof(dims));
    dims[ax] = kept;
    return veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, dims);
}

static VEIL_RESULT compress_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *cond = c->in[1];
    bool flat;
    uint32_t ax;
    int64_t kept;
    size_t es = veil_dtype_size(x->dtype);
    size_t outer = 1;
    size_t inner = es;
    size_t n = x->count;
    uint8_t *y = c->out[0]->data;

    GUARD(compress_plan(c, &flat, &ax, &kept));
    if (!flat) {
        outer = veil_op_span(x, 0, ax);
        inner = veil_op_span(x, ax + 1, x->rank) * es;
        n = (size_t)x->dims[ax];
    }
    for (size_t o = 0; o < outer; o++) {
        for (size_t j = 0; j < cond->count; j++) {
            if (veil_tensor_get_i64(cond, j) != 0 && inner > 0) {
                memcpy(y, (const uint8_t *)x->data + (o * n + j) * inner, inner);
                y += inner;
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- GatherND ---- */
static VEIL_RESULT gnd_plan(const struct veil_op_ctx *c, int64_t *bd, size_t *k)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    GUARD(veil_attr_int(c, "batch_dims", 0, bd));
    ENSURE(ind->dtype == VEIL_DT_INT64 && ind->rank >= 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(*bd >= 0 && *bd < (int64_t)ind->rank && *bd < (int64_t)x->rank, VEIL_ERR_ENGINE_ATTR);
    for (int64_t d = 0; d < *bd; d++) {
        ENSURE(x->dims[d] == ind->dims[d], VEIL_ERR_ENGINE_SHAPE);
    }
    *k = (size_t)ind->dims[ind->rank - 1];
    ENSURE(*k >= 1 && (int64_t)*k <= (int64_t)x->rank - *bd, VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT gnd_shape(struct veil_op_ctx *c)
{
    int64_t bd;
    size_t k;
    int64_t dims[2 * VEIL_ENGINE_RANK_MAX];
    uint32_t r = 0;
    const struct veil_tensor *x;
    const struct veil_tensor *ind;

    GUARD(veil_op_arity(c, 2, 2, 1));
    GUARD(gnd_plan(c, &bd, &k));
    x = c->in[0];
    ind = c->in[1];
    for (uint32_t d = 0; d + 1 < ind->rank; d++) {
        dims[r++] = ind->dims[d];
    }
    for (uint32_t d = (uint32_t)(bd + (int64_t)k); d < x->rank; d++) {
        dims[r++] = x->dims[d];
    }
    ENSURE(r <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    return veil_op_out(c, 0, x->dtype, r, dims);
}

static VEIL_RESULT gnd_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    int64_t bd;
    size_t k;
    size_t es = veil_dtype_size(x->dtype);
    size_t batch;
    size_t per_batch;
    size_t slice;
    size_t xbatch;
    uint8_t *y = c->out[0]->data;

    GUARD(gnd_plan(c, &bd, &k));
    batch = veil_op_span(x, 0, (uint32_t)bd);
    per_batch = veil_op_span(ind, (uint32_t)bd, ind->rank - 1);
    slice = veil_op_span(x, (uint32_t)bd + (uint32_t)k, x->rank) * es;
    xbatch = veil_op_span(x, (uint32_t)bd, x->rank);
    for (size_t b = 0; b < batch; b++) {
        for (size_t i = 0; i < per_batch; i++) {
            size_t off = 0;
            for (size_t j = 0; j < k; j++) {
                int64_t dim = x->dims[(size_t)bd + j];
                int64_t v = ((const int64_t *)ind->data)[(b * per_batch + i) * k + j];
                v = v < 0 ? v + dim : v;
                ENSURE(v >= 0 && v < dim, VEIL_ERR_ENGINE_INDEX);
                off = off * (size_t)dim + (size_t)v;
            }
            if (slice > 0) {
                memcpy(y, (const uint8_t *)x->data + b * xbatch * es + off * slice, slice);
                y += slice;
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- ScatterND ---- */
static VEIL_RESULT snd_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    const struct veil_tensor *ind;
    const struct veil_tensor *upd;
    size_t k;

    GUARD(veil_op_arity(c, 3, 3, 1));
    x = c->in[0];
    ind = c->in[1];
    upd = c->in[2];
    ENSURE(ind->dtype == VEIL_DT_INT64 && ind->rank >= 1 && upd->dtype == x->dtype,
           VEIL_ERR_ENGINE_SHAPE);
    k = (size_t)ind->dims[ind->rank - 1];
    ENSURE(k >= 1 && k <= x->rank, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(upd->rank == ind->rank - 1 + x->rank - k, VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t d = 0; d + 1 < ind->rank; d++) {
        ENSURE(upd->dims[d] == ind->dims[d], VEIL_ERR_ENGINE_SHAPE);
    }
    for (uint32_t d = (uint32_t)k; d < x->rank; d++) {
        ENSURE(upd->dims[ind->rank - 1 + d - k] == x->dims[d], VEIL_ERR_ENGINE_SHAPE);
    }
    return veil_op_out_like(c, 0, x);
}

static VEIL_RESULT snd_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    const struct veil_tensor *upd = c->in[2];
    struct veil_tensor *y = c->out[0];
    size_t k = (size_t)ind->dims[ind->rank - 1];
    size_t n = ind->count / k;
    size_t slice = veil_op_span(x, (uint32_t)k, x->rank);
    char red[8];

    GUARD(veil_attr_string(c, "reduction", "none", red, sizeof(red)));
    memcpy(y->data, x->data, x->size);
    for (size_t i = 0; i < n; i++) {
        size_t off = 0;
        for (size_t j = 0; j < k; j++) {
            int64_t v = ((const int64_t *)ind->data)[i * k + j];
            v = v < 0 ? v + x->dims[j] : v;
            ENSURE(v >= 0 && v < x->dims[j], VEIL_ERR_ENGINE_INDEX);
            off = off * (size_t)x->dims[j] + (size_t)v;
        }
        for (size_t e = 0; e < slice; e++) {
            double a = veil_tensor_get_f64(y, off * slice + e);
            double b = veil_tensor_get_f64(upd, i * slice + e);
            double r = strcmp(red, "add") == 0   ? a + b
                       : strcmp(red, "mul") == 0 ? a * b
                       : strcmp(red, "max") == 0 ? (a > b ? a : b)
                       : strcmp(red, "min") == 0 ? (a < b ? a : b)
                                                 : b;
            if (strcmp(red, "none") == 0) {
                size_t es = veil_dtype_size(x->dtype);
                memcpy((uint8_t *)y->data + (off * slice + e) * es,
                       (const uint8_t *)upd->data + (i * slice + e) * es, es);
            } else {
                veil_tensor_set_f64(y, off * slice + e, r);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- NonZero ---- */
static VEIL_RESULT nonzero_shape(struct veil_op_ctx *c)
{
    int64_t dims[2];
    size_t nnz = 0;
    GUARD(veil_op_arity(c, 1, 1, 1));
    for (size_t i = 0; i < c->in[0]->count; i++) {
        nnz += veil_tensor_get_f64(c->in[0], i) != 0;
    }
    dims[0] = c->in[0]->rank;
    dims[1] = (int64_t)nnz;
    return veil_op_out(c, 0, VEIL_DT_INT64, 2, dims);
}

static VEIL_RESULT nonzero_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    size_t nnz = (size_t)c->out[0]->dims[1];
    size_t j = 0;
    for (size_t i = 0; i < x->count; i++) {
        if (veil_tensor_get_f64(x, i) == 0) {
            continue;
        }
        size_t u = i;
        for (uint32_t d = x->rank; d-- > 0;) {
            ((int64_t *)c->out[0]->data)[d * nnz + j] = (int64_t)(u % (size_t)x->dims[d]);
            u /= (size_t)x->dims[d];
        }
        j++;
    }
    return VEIL_RESULT_OK;
}

/* ---- ReverseSequence ---- */
static VEIL_RESULT revseq_axes(const struct veil_op_ctx *c, uint32_t *bax, uint32_t *tax)
{
    int64_t b;
    int64_t t;
    GUARD(veil_attr_int(c, "batch_axis", 1, &b));
    GUARD(veil_attr_int(c, "time_axis", 0, &t));
    ENSURE((b == 0 && t == 1) || (b == 1 && t == 0), VEIL_ERR_ENGINE_ATTR);
    *bax = (uint32_t)b;
    *tax = (uint32_t)t;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT revseq_shape(struct veil_op_ctx *c)
{
    uint32_t bax;
    uint32_t tax;
    GUARD(veil_op_arity(c, 2, 2, 1));
    ENSURE(c->in[0]->rank >= 2, VEIL_ERR_ENGINE_SHAPE);
    GUARD(revseq_axes(c, &bax, &tax));
    ENSURE(c->in[1]->count == (size_t)c->in[0]->dims[bax], VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out_like(c, 0, c->in[0]);
}

static VEIL_RESULT revseq_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    uint32_t bax;
    uint32_t tax;
    size_t es = veil_dtype_size(x->dtype);
    size_t inner = veil_op_span(x, 2, x->rank) * es;
    int64_t d0 = x->dims[0];
    int64_t d1 = x->dims[1];

    GUARD(revseq_axes(c, &bax, &tax));
    for (int64_t i = 0; i < d0; i++) {
        for (int64_t j = 0; j < d1; j++) {
            int64_t b = bax == 0 ? i : j;
            int64_t t = tax == 0 ? i : j;
            int64_t len = veil_tensor_get_i64(c->in[1], (size_t)b);
            int64_t tmax = x->dims[tax];
            ENSURE(len >= 0 && len <= tmax, VEIL_ERR_ENGINE_INDEX);
            int64_t src_t = t < len ? len - 1 - t : t;
            int64_t si = tax == 0 ? src_t : i;
            int64_t sj = tax == 0 ? j : src_t;
            if (inner > 0) {
                memcpy((uint8_t *)c->out[0]->data + (size_t)(i * d1 + j) * inner,
                       (const uint8_t *)x->data + (size_t)(si * d1 + sj) * inner, inner);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- MaxUnpool ---- */
/* The output shape MaxPool's indices refer to: (in - 1) * stride + kernel - pads. */
static VEIL_RESULT unpool_default(const struct veil_op_ctx *c, int64_t *dims)
{
    const struct veil_tensor *x = c->in[0];
    const int64_t *ks;
    const int64_t *st;
    const int64_t *pads;
    size_t nk;
    size_t ns;
    size_t np;

    GUARD(veil_attr_ints(c, "kernel_shape", &ks, &nk));
    GUARD(veil_attr_ints(c, "strides", &st, &ns));
    GUARD(veil_attr_ints(c, "pads", &pads, &np));
    ENSURE(nk == x->rank - 2 && (ns == 0 || ns == nk) && (np == 0 || np == 2 * nk),
           VEIL_ERR_ENGINE_ATTR);
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (size_t i = 0; i < nk; i++) {
        int64_t s = ns ? st[i] : 1;
        int64_t p = np ? pads[i] + pads[i + nk] : 0;
        ENSURE(s >= 1 && s < 65536 && ks[i] >= 1 && ks[i] < 65536 && p >= 0 && p < 65536,
               VEIL_ERR_ENGINE_ATTR);
        dims[i + 2] = (x->dims[i + 2] - 1) * s + ks[i] - p;
        ENSURE(dims[i + 2] >= 0, VEIL_ERR_ENGINE_SHAPE);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT unpool_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 2, 3, 1));
    x = c->in[0];
    ENSURE(x->rank >= 3 && c->in[1]->dtype == VEIL_DT_INT64 && veil_tensor_same_shape(x, c->in[1]),
           VEIL_ERR_ENGINE_SHAPE);
    GUARD(unpool_default(c, dims));
    if (veil_op_in(c, 2) != NULL) {
        size_t n;
        GUARD(veil_op_ints(c->in[2], VEIL_ENGINE_RANK_MAX, dims, &n));
        ENSURE(n == x->rank, VEIL_ERR_ENGINE_SHAPE);
    }
    return veil_op_out(c, 0, x->dtype, x->rank, dims);
}

static VEIL_RESULT unpool_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    struct veil_tensor *y = c->out[0];
    struct veil_tensor def = {0};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t es = veil_dtype_size(x->dtype);

    GUARD(unpool_default(c, dims));
    GUARD(veil_tensor_shape(&def, VEIL_DT_UINT8, x->rank, dims));
    for (size_t i = 0; i < x->count; i++) {
        int64_t k = ((const int64_t *)ind->data)[i];
        int64_t coord[VEIL_ENGINE_RANK_MAX];
        size_t u;
        size_t off = 0;
        ENSURE(k >= 0 && (size_t)k < def.count, VEIL_ERR_ENGINE_INDEX);
        u = (size_t)k;
        for (uint32_t d = x->rank; d-- > 0;) {
            coord[d] = (int64_t)(u % (size_t)dims[d]);
            u /= (size_t)dims[d];
        }
        for (uint32_t d = 0; d < x->rank; d++) {
            ENSURE(coord[d] < y->dims[d], VEIL_ERR_ENGINE_INDEX);
            off = off * (size_t)y->dims[d] + (size_t)coord[d];
        }
        memcpy((uint8_t *)y->data + off * es, (const uint8_t *)x->data + i * es, es);
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_TopK = {"TopK", topk_shape, topk_run, false};
const struct veil_op veil_op_OneHot = {"OneHot", onehot_shape, onehot_run, false};
const struct veil_op veil_op_Compress = {"Compress", compress_shape, compress_run, false};
const struct veil_op veil_op_GatherND = {"GatherND", gnd_shape, gnd_run, false};
const struct veil_op veil_op_ScatterND = {"ScatterND", snd_shape, snd_run, false};
const struct veil_op veil_op_NonZero = {"NonZero", nonzero_shape, nonzero_run, false};
const struct veil_op veil_op_ReverseSequence = {"ReverseSequence", revseq_shape, revseq_run, false};
const struct veil_op veil_op_MaxUnpool = {"MaxUnpool", unpool_shape, unpool_run, false};
