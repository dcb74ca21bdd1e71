/*
 * Data movement: Concat, Split, Slice, Transpose, Gather, GatherElements, ScatterElements,
 * Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu. Every index read from tensor data is
 * checked against the dimension it indexes before use.
 */
#include <string.h>

#include "engine/ops.h"

static size_t esize(const struct veil_tensor *t)
{
    return veil_dtype_size(t->dtype);
}

static void strides_of(const struct veil_tensor *t, size_t *s)
{
    size_t acc = 1;
    for (uint32_t d = t->rank; d-- > 0;) {
        s[d] = acc;
        acc *= (size_t)t->dims[d];
    }
}

/* ---- Concat ---- */
static VEIL_RESULT concat_shape(struct veil_op_ctx *c)
{
    int64_t axis;
    uint32_t ax;
    const struct veil_tensor *x0;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 1, VEIL_OP_IN_MAX, 1));
    x0 = c->in[0];
    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x0->rank, 0, &ax));
    memcpy(dims, x0->dims, sizeof(dims));
    dims[ax] = 0;
    for (uint32_t k = 0; k < c->in_count; k++) {
        const struct veil_tensor *x = c->in[k];
        ENSURE(x != NULL && x->dtype == x0->dtype && x->rank == x0->rank, VEIL_ERR_ENGINE_SHAPE);
        for (uint32_t d = 0; d < x->rank; d++) {
            ENSURE(d == ax || x->dims[d] == x0->dims[d], VEIL_ERR_ENGINE_SHAPE);
        }
        ENSURE(dims[ax] <= INT64_MAX - x->dims[ax], VEIL_ERR_ENGINE_LIMIT);
        dims[ax] += x->dims[ax];
    }
    return veil_op_out(c, 0, x0->dtype, x0->rank, dims);
}

static VEIL_RESULT concat_run(struct veil_op_ctx *c)
{
    int64_t axis;
    uint32_t ax;
    struct veil_tensor *y = c->out[0];
    size_t es = esize(y);
    size_t outer;
    size_t yrow;
    size_t off = 0;

    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, y->rank, 0, &ax));
    outer = veil_op_span(y, 0, ax);
    yrow = veil_op_span(y, ax, y->rank) * es;
    for (uint32_t k = 0; k < c->in_count; k++) {
        const struct veil_tensor *x = c->in[k];
        size_t xrow = veil_op_span(x, ax, x->rank) * es;
        for (size_t o = 0; o < outer && xrow > 0; o++) {
            memcpy((uint8_t *)y->data + o * yrow + off, (const uint8_t *)x->data + o * xrow, xrow);
        }
        off += xrow;
    }
    return VEIL_RESULT_OK;
}

/* ---- Split ---- */
static VEIL_RESULT split_sizes(const struct veil_op_ctx *c, uint32_t *ax, int64_t *sizes)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *st = veil_op_in(c, 1);
    int64_t axis;
    int64_t total = 0;
    size_t n = 0;

    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, ax));
    if (st != NULL) {
        ENSURE(st->count == c->out_count, VEIL_ERR_ENGINE_SHAPE);
        GUARD(veil_op_ints(st, VEIL_ENGINE_IO_COUNT_MAX, sizes, &n));
    } else {
        const int64_t *a;
        GUARD(veil_attr_ints(c, "split", &a, &n));
        ENSURE(n == 0 || n == c->out_count, VEIL_ERR_ENGINE_ATTR);
        for (size_t i = 0; i < n; i++) {
            sizes[i] = a[i];
        }
    }
    if (n == 0) {
        int64_t d = x->dims[*ax];
        int64_t k = (int64_t)c->out_count;
        int64_t each = (d + k - 1) / k;
        for (uint32_t i = 0; i < c->out_count; i++) {
            int64_t left = d - each * (int64_t)i;
            sizes[i] = left < 0 ? 0 : (left < each ? left : each);
        }
        return VEIL_RESULT_OK;
    }
    for (uint32_t i = 0; i < c->out_count; i++) {
        ENSURE(sizes[i] >= 0 && sizes[i] <= x->dims[*ax], VEIL_ERR_ENGINE_SHAPE);
        total += sizes[i];
    }
    ENSURE(total == x->dims[*ax], VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT split_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    int64_t sizes[VEIL_ENGINE_IO_COUNT_MAX];

    GUARD(veil_op_arity(c, 1, 2, 1));
    GUARD(split_sizes(c, &ax, sizes));
    for (uint32_t k = 0; k < c->out_count; k++) {
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        memcpy(dims, c->in[0]->dims, sizeof(dims));
        dims[ax] = sizes[k];
        GUARD(veil_op_out(c, k, c->in[0]->dtype, c->in[0]->rank, dims));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT split_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    uint32_t ax;
    int64_t sizes[VEIL_ENGINE_IO_COUNT_MAX];
    size_t es = esize(x);
    size_t outer;
    size_t xrow;
    size_t off = 0;

    GUARD(split_sizes(c, &ax, sizes));
    outer = veil_op_span(x, 0, ax);
    xrow = veil_op_span(x, ax, x->rank) * es;
    for (uint32_t k = 0; k < c->out_count; k++) {
        struct veil_tensor *y = c->out[k];
        size_t yrow = veil_op_span(y, ax, y->rank) * es;
        for (size_t o = 0; o < outer && yrow > 0; o++) {
            memcpy((uint8_t *)y->data + o * yrow, (const uint8_t *)x->data + o * xrow + off, yrow);
        }
        off += yrow;
    }
    return VEIL_RESULT_OK;
}

/* ---- Slice ---- */
struct slice_plan {
    int64_t start[VEIL_ENGINE_RANK_MAX];
    int64_t step[VEIL_ENGINE_RANK_MAX];
    int64_t dims[VEIL_ENGINE_RANK_MAX];
};

static VEIL_RESULT slice_plan(const struct veil_op_ctx *c, struct slice_plan *p)
{
    const struct veil_tensor *x = c->in[0];
    int64_t starts[VEIL_ENGINE_RANK_MAX];
    int64_t ends[VEIL_ENGINE_RANK_MAX];
    int64_t axes[VEIL_ENGINE_RANK_MAX];
    int64_t steps[VEIL_ENGINE_RANK_MAX];
    size_t n = 0;
    size_t ne = 0;
    size_t na = 0;
    size_t ns = 0;
    bool seen[VEIL_ENGINE_RANK_MAX] = {false};

    if (c->in_count >= 3) {
        ENSURE(c->in[1] != NULL && c->in[2] != NULL, VEIL_ERR_ENGINE_SHAPE);
        GUARD(veil_op_ints(c->in[1], VEIL_ENGINE_RANK_MAX, starts, &n));
        GUARD(veil_op_ints(c->in[2], VEIL_ENGINE_RANK_MAX, ends, &ne));
        if (veil_op_in(c, 3) != NULL) {
            GUARD(veil_op_ints(c->in[3], VEIL_ENGINE_RANK_MAX, axes, &na));
        }
        if (veil_op_in(c, 4) != NULL) {
            GUARD(veil_op_ints(c->in[4], VEIL_ENGINE_RANK_MAX, steps, &ns));
        }
    } else {
        const int64_t *a;
        GUARD(veil_attr_ints(c, "starts", &a, &n));
        ENSURE(n <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(starts, a, n);
        GUARD(veil_attr_ints(c, "ends", &a, &ne));
        ENSURE(ne <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(ends, a, ne);
        GUARD(veil_attr_ints(c, "axes", &a, &na));
        ENSURE(na <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(axes, a, na);
    }
    ENSURE(ne == n && (na == 0 || na == n) && (ns == 0 || ns == n), VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t d = 0; d < x->rank; d++) {
        p->start[d] = 0;
        p->step[d] = 1;
        p->dims[d] = x->dims[d];
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t ax;
        int64_t dim;
        int64_t s;
        int64_t e;
        int64_t st = ns ? steps[i] : 1;
        GUARD(veil_op_axis(na ? axes[i] : (int64_t)i, x->rank, 0, &ax));
        ENSURE(!seen[ax] && st != 0, VEIL_ERR_ENGINE_SHAPE);
        seen[ax] = true;
        dim = x->dims[ax];
        s = starts[i];
        e = ends[i];
        ENSURE(st != INT64_MIN, VEIL_ERR_ENGINE_SHAPE);
        if (st > 0) {
            s = s < 0 ? (s < -dim ? 0 : s + dim) : (s > dim ? dim : s);
            e = e < 0 ? (e < -dim ? 0 : e + dim) : (e > dim ? dim : e);
            p->dims[ax] = e > s ? (e - s - 1) / st + 1 : 0;
        } else {
            s = s < 0 ? (s < -dim ? -1 : s + dim) : (s > dim - 1 ? dim - 1 : s);
            e = e < 0 ? (e < -dim ? -1 : e + dim) : (e > dim - 1 ? dim - 1 : e);
            p->dims[ax] = s > e ? (s - e - 1) / (-st) + 1 : 0;
        }
        p->start[ax] = s;
        p->step[ax] = st;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT slice_shape(struct veil_op_ctx *c)
{
    struct slice_plan p;
    GUARD(veil_op_arity(c, 1, 5, 1));
    GUARD(slice_plan(c, &p));
    return veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, p.dims);
}

static VEIL_RESULT slice_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    struct slice_plan p;
    size_t xs[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t es = esize(x);

    GUARD(slice_plan(c, &p));
    strides_of(x, xs);
    if (y->rank > 0 && p.step[y->rank - 1] == 1 && y->count > 0) {
        /* unit step on the last axis: one copy per row */
        size_t row = (size_t)y->dims[y->rank - 1];
        for (size_t i = 0; i < y->count; i += row) {
            size_t off = 0;
            for (uint32_t d = 0; d < x->rank; d++) {
                off += (size_t)(p.start[d] + idx[d] * p.step[d]) * xs[d];
            }
            memcpy((uint8_t *)y->data + i * es, (const uint8_t *)x->data + off * es, row * es);
            for (uint32_t d = y->rank - 1; d-- > 0;) {
                if (++idx[d] < y->dims[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return VEIL_RESULT_OK;
    }
    for (size_t i = 0; i < y->count; i++) {
        size_t off = 0;
        for (uint32_t d = 0; d < x->rank; d++) {
            off += (size_t)(p.start[d] + idx[d] * p.step[d]) * xs[d];
        }
        veil_op_elem(y->data, i, x->data, off, es);
        for (uint32_t d = y->rank; d-- > 0;) {
            if (++idx[d] < y->dims[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Transpose ---- */
static VEIL_RESULT perm_of(const struct veil_op_ctx *c, uint32_t *perm)
{
    const int64_t *a;
    size_t n;
    uint32_t r = c->in[0]->rank;
    bool seen[VEIL_ENGINE_RANK_MAX] = {false};

    GUARD(veil_attr_ints(c, "perm", &a, &n));
    ENSURE(n == 0 || n == r, VEIL_ERR_ENGINE_ATTR);
    for (uint32_t d = 0; d < r; d++) {
        if (n == 0) {
            perm[d] = r - 1 - d;
            continue;
        }
        ENSURE(a[d] >= 0 && a[d] < (int64_t)r && !seen[a[d]], VEIL_ERR_ENGINE_ATTR);
        seen[a[d]] = true;
        perm[d] = (uint32_t)a[d];
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT transpose_shape(struct veil_op_ctx *c)
{
    uint32_t perm[VEIL_ENGINE_RANK_MAX];
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    GUARD(veil_op_arity(c, 1, 1, 1));
    GUARD(perm_of(c, perm));
    for (uint32_t d = 0; d < c->in[0]->rank; d++) {
        dims[d] = c->in[0]->dims[perm[d]];
    }
    return veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, dims);
}

static VEIL_RESULT transpose_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    uint32_t perm[VEIL_ENGINE_RANK_MAX];
    size_t xs[VEIL_ENGINE_RANK_MAX];
    size_t ps[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t es = esize(x);
    size_t off = 0;

    GUARD(perm_of(c, perm));
    strides_of(x, xs);
    for (uint32_t d = 0; d < x->rank; d++) {
        ps[d] = xs[perm[d]];
    }
    for (size_t i = 0; i < y->count; i++) {
        veil_op_elem(y->data, i, x->data, off, es);
        for (uint32_t d = y->rank; d-- > 0;) {
            off += ps[d];
            if (++idx[d] < y->dims[d]) {
                break;
            }
            off -= ps[d] * (size_t)y->dims[d];
            idx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Gather ---- */
static VEIL_RESULT gather_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    const struct veil_tensor *ind;
    int64_t axis;
    uint32_t ax;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t r = 0;

    GUARD(veil_op_arity(c, 2, 2, 1));
    x = c->in[0];
    ind = c->in[1];
    ENSURE(ind->dtype == VEIL_DT_INT64 || ind->dtype == VEIL_DT_INT32, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    ENSURE(x->rank - 1 + ind->rank <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    for (uint32_t d = 0; d < ax; d++) {
        dims[r++] = x->dims[d];
    }
    for (uint32_t d = 0; d < ind->rank; d++) {
        dims[r++] = ind->dims[d];
    }
    for (uint32_t d = ax + 1; d < x->rank; d++) {
        dims[r++] = x->dims[d];
    }
    return veil_op_out(c, 0, x->dtype, r, dims);
}

static VEIL_RESULT gather_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    int64_t axis;
    uint32_t ax;
    size_t es = esize(x);
    size_t outer;
    size_t inner;
    int64_t dim;
    uint8_t *y = c->out[0]->data;

    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    outer = veil_op_span(x, 0, ax);
    inner = veil_op_span(x, ax + 1, x->rank) * es;
    dim = x->dims[ax];
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < ind->count; i++) {
            int64_t k = veil_tensor_get_i64(ind, i);
            k = k < 0 ? k + dim : k;
            ENSURE(k >= 0 && k < dim, VEIL_ERR_ENGINE_INDEX);
            memcpy(y, (const uint8_t *)x->data + (o * (size_t)dim + (size_t)k) * inner, inner);
            y += inner;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- GatherElements, ScatterElements ---- */
static VEIL_RESULT elements_check(struct veil_op_ctx *c, bool scatter)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    int64_t axis;
    uint32_t ax;

    ENSURE(ind->dtype == VEIL_DT_INT64 || ind->dtype == VEIL_DT_INT32, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(ind->rank == x->rank, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    for (uint32_t d = 0; d < x->rank; d++) {
        ENSURE(d == ax || ind->dims[d] <= x->dims[d], VEIL_ERR_ENGINE_SHAPE);
    }
    if (scatter) {
        ENSURE(c->in[2]->dtype == x->dtype && veil_tensor_same_shape(c->in[2], ind),
               VEIL_ERR_ENGINE_SHAPE);
        return veil_op_out_like(c, 0, x);
    }
    return veil_op_out(c, 0, x->dtype, ind->rank, ind->dims);
}

static VEIL_RESULT gather_el_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 2, 2, 1));
    return elements_check(c, false);
}

static VEIL_RESULT scatter_el_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 3, 3, 1));
    return elements_check(c, true);
}

static VEIL_RESULT elements_run(struct veil_op_ctx *c, bool scatter)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *ind = c->in[1];
    struct veil_tensor *y = c->out[0];
    int64_t axis;
    uint32_t ax;
    size_t xs[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t es = esize(x);
    char red[8];

    GUARD(veil_attr_int(c, "axis", 0, &axis));
    GUARD(veil_op_axis(axis, x->rank, 0, &ax));
    GUARD(veil_attr_string(c, "reduction", "none", red, sizeof(red)));
    strides_of(x, xs);
    if (scatter) {
        memcpy(y->data, x->data, x->size);
    }
    for (size_t i = 0; i < ind->count; i++) {
        int64_t k = veil_tensor_get_i64(ind, i);
        size_t off = 0;
        k = k < 0 ? k + x->dims[ax] : k;
        ENSURE(k >= 0 && k < x->dims[ax], VEIL_ERR_ENGINE_INDEX);
        for (uint32_t d = 0; d < x->rank; d++) {
            off += (size_t)(d == ax ? k : idx[d]) * xs[d];
        }
        if (!scatter) {
            veil_op_elem(y->data, i, x->data, off, es);
        } else if (strcmp(red, "none") == 0) {
            memcpy((uint8_t *)y->data + off * es, (const uint8_t *)c->in[2]->data + i * es, es);
        } else {
            double a = veil_tensor_get_f64(y, off);
            double b = veil_tensor_get_f64(c->in[2], i);
            double v = strcmp(red, "add") == 0   ? a + b
                       : strcmp(red, "mul") == 0 ? a * b
                       : strcmp(red, "max") == 0 ? (a > b ? a : b)
                                                 : (a < b ? a : b);
            veil_tensor_set_f64(y, off, v);
        }
        for (uint32_t d = ind->rank; d-- > 0;) {
            if (++idx[d] < ind->dims[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT gather_el_run(struct veil_op_ctx *c)
{
    return elements_run(c, false);
}

static VEIL_RESULT scatter_el_run(struct veil_op_ctx *c)
{
    return elements_run(c, true);
}

/* ---- Expand, Tile ---- */
static VEIL_RESULT expand_shape(struct veil_op_ctx *c)
{
    struct veil_tensor shape = {0};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t n;
    uint32_t rank;
    int64_t out[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 2, 2, 1));
    GUARD(veil_op_ints(c->in[1], VEIL_ENGINE_RANK_MAX, dims, &n));
    GUARD(veil_tensor_shape(&shape, VEIL_DT_UINT8, (uint32_t)n, dims));
    GUARD(
        veil_op_bcast_shape((const struct veil_tensor *const[]){c->in[0], &shape}, 2, &rank, out));
    return veil_op_out(c, 0, c->in[0]->dtype, rank, out);
}

static VEIL_RESULT expand_run(struct veil_op_ctx *c)
{
    struct veil_bcast it;
    size_t es = esize(c->in[0]);
    veil_bcast_init(&it, c->out[0], c->in, 1);
    for (size_t i = 0; i < c->out[0]->count; i++, veil_bcast_next(&it)) {
        veil_op_elem(c->out[0]->data, i, c->in[0]->data, it.off[0], es);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT tile_shape(struct veil_op_ctx *c)
{
    int64_t rep[VEIL_ENGINE_RANK_MAX];
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t n;
    const struct veil_tensor *x;

    GUARD(veil_op_arity(c, 2, 2, 1));
    x = c->in[0];
    GUARD(veil_op_ints(c->in[1], VEIL_ENGINE_RANK_MAX, rep, &n));
    ENSURE(n == x->rank, VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t d = 0; d < x->rank; d++) {
        ENSURE(rep[d] >= 0 && (uint64_t)rep[d] <= VEIL_ENGINE_TENSOR_SIZE_MAX,
               VEIL_ERR_ENGINE_SHAPE);
        ENSURE(x->dims[d] == 0 ||
                   rep[d] <= (int64_t)(VEIL_ENGINE_TENSOR_SIZE_MAX / (size_t)x->dims[d]),
               VEIL_ERR_ENGINE_LIMIT);
        dims[d] = x->dims[d] * rep[d];
    }
    return veil_op_out(c, 0, x->dtype, x->rank, dims);
}

static VEIL_RESULT tile_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    size_t xs[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t es = esize(x);

    strides_of(x, xs);
    for (size_t i = 0; i < y->count; i++) {
        size_t off = 0;
        for (uint32_t d = 0; d < x->rank; d++) {
            off += (size_t)(idx[d] % x->dims[d]) * xs[d];
        }
        veil_op_elem(y->data, i, x->data, off, es);
        for (uint32_t d = y->rank; d-- > 0;) {
            if (++idx[d] < y->dims[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Pad ---- */
static VEIL_RESULT pads_of(const struct veil_op_ctx *c, int64_t *pads)
{
    const struct veil_tensor *x = c->in[0];
    int64_t raw[2 * VEIL_ENGINE_RANK_MAX];
    int64_t axes[VEIL_ENGINE_RANK_MAX];
    size_t n;
    size_t na = x->rank;

    if (veil_op_in(c, 1) != NULL) {
        GUARD(veil_op_ints(c->in[1], 2 * VEIL_ENGINE_RANK_MAX, raw, &n));
    } else {
        const int64_t *a;
        GUARD(veil_attr_ints(c, "pads", &a, &n));
        ENSURE(n <= 2 * VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        veil_op_copy_ints(raw, a, n);
    }
    if (veil_op_in(c, 3) != NULL) {
        GUARD(veil_op_ints(c->in[3], VEIL_ENGINE_RANK_MAX, axes, &na));
    } else {
        for (uint32_t d = 0; d < x->rank; d++) {
            axes[d] = d;
        }
    }
    ENSURE(n == 2 * na, VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t d = 0; d < 2 * x->rank; d++) {
        pads[d] = 0;
    }
    for (size_t i = 0; i < na; i++) {
        uint32_t ax;
        GUARD(veil_op_axis(axes[i], x->rank, 0, &ax));
        pads[ax] = raw[i];
        pads[ax + x->rank] = raw[i + na];
        ENSURE(pads[ax] > -((int64_t)1 << 40) && pads[ax] < ((int64_t)1 << 40) &&
                   pads[ax + x->rank] > -((int64_t)1 << 40) &&
                   pads[ax + x->rank] < ((int64_t)1 << 40),
               VEIL_ERR_ENGINE_LIMIT);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT pad_shape(struct veil_op_ctx *c)
{
    int64_t pads[2 * VEIL_ENGINE_RANK_MAX];
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *x;
    char mode[16];

    GUARD(veil_op_arity(c, 1, 4, 1));
    x = c->in[0];
    GUARD(pads_of(c, pads));
    GUARD(veil_attr_string(c, "mode", "constant", mode, sizeof(mode)));
    ENSURE(
        strcmp(mode, "constant") == 0 || strcmp(mode, "reflect") == 0 || strcmp(mode, "edge") == 0,
        VEIL_ERR_ENGINE_ATTR);
    for (uint32_t d = 0; d < x->rank; d++) {
        dims[d] = x->dims[d] + pads[d] + pads[d + x->rank];
        ENSURE(dims[d] >= 0, VEIL_ERR_ENGINE_SHAPE);
        ENSURE(mode[0] == 'c' || x->dims[d] > 0 || dims[d] == 0, VEIL_ERR_ENGINE_SHAPE);
        ENSURE(mode[0] != 'r' || x->dims[d] > 1 || (pads[d] <= 0 && pads[d + x->rank] <= 0) ||
                   dims[d] == 0,
               VEIL_ERR_ENGINE_SHAPE);
    }
    return veil_op_out(c, 0, x->dtype, x->rank, dims);
}

static VEIL_RESULT pad_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *cv = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    int64_t pads[2 * VEIL_ENGINE_RANK_MAX];
    size_t xs[VEIL_ENGINE_RANK_MAX];
    int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t es = esize(x);
    char mode[16];
    float value;

    GUARD(pads_of(c, pads));
    GUARD(veil_attr_string(c, "mode", "constant", mode, sizeof(mode)));
    GUARD(veil_attr_float(c, "value", 0.0f, &value));
    ENSURE(cv == NULL || cv->count <= 1, VEIL_ERR_ENGINE_SHAPE);
    strides_of(x, xs);
    for (size_t i = 0; i < y->count; i++) {
        size_t off = 0;
        bool outside = false;
        for (uint32_t d = 0; d < x->rank; d++) {
            int64_t n = x->dims[d];
            int64_t s = idx[d] - pads[d];
            if (s < 0 || s >= n) {
                if (mode[0] == 'c') {
                    outside = true;
                    break;
                }
                if (mode[0] == 'e') {
                    s = s < 0 ? 0 : n - 1;
                } else {
                    int64_t period = 2 * (n - 1);
                    s = s % period;
                    s = s < 0 ? s + period : s;
                    s = s >= n ? period - s : s;
                }
            }
            off += (size_t)s * xs[d];
        }
        if (outside) {
            if (cv != NULL && cv->count == 1) {
                memcpy((uint8_t *)y->data + i * es, cv->data, es);
            } else {
                veil_tensor_set_f64(y, i, value);
            }
        } else {
            veil_op_elem(y->data, i, x->data, off, es);
        }
        for (uint32_t d = y->rank; d-- > 0;) {
            if (++idx[d] < y->dims[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- DepthToSpace, SpaceToDepth ---- */
static VEIL_RESULT d2s_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    int64_t b;
    int64_t dims[4];
    bool d2s = strcmp(c->node->op->name, "DepthToSpace") == 0;

    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    ENSURE(x->rank == 4, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "blocksize", 0, &b));
    ENSURE(b > 0 && b < 65536, VEIL_ERR_ENGINE_ATTR);
    dims[0] = x->dims[0];
    if (d2s) {
        ENSURE(x->dims[1] % (b * b) == 0, VEIL_ERR_ENGINE_SHAPE);
        dims[1] = x->dims[1] / (b * b);
        dims[2] = x->dims[2] * b;
        dims[3] = x->dims[3] * b;
    } else {
        ENSURE(x->dims[2] % b == 0 && x->dims[3] % b == 0, VEIL_ERR_ENGINE_SHAPE);
        dims[1] = x->dims[1] * b * b;
        dims[2] = x->dims[2] / b;
        dims[3] = x->dims[3] / b;
    }
    return veil_op_out(c, 0, x->dtype, 4, dims);
}

static VEIL_RESULT d2s_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    bool d2s = strcmp(c->node->op->name, "DepthToSpace") == 0;
    const struct veil_tensor *big = d2s ? y : x; /* the spatial (N, C, H*b, W*b) side */
    const struct veil_tensor *deep = d2s ? x : y;
    size_t es = esize(x);
    int64_t b;
    char mode[8];

    GUARD(veil_attr_int(c, "blocksize", 0, &b));
    GUARD(veil_attr_string(c, "mode", "DCR", mode, sizeof(mode)));
    ENSURE(strcmp(mode, "DCR") == 0 || strcmp(mode, "CRD") == 0, VEIL_ERR_ENGINE_ATTR);
    int64_t nb = big->dims[0], cc = big->dims[1], hh = big->dims[2], ww = big->dims[3];
    for (int64_t n = 0; n < nb; n++) {
        for (int64_t ch = 0; ch < cc; ch++) {
            for (int64_t h = 0; h < hh; h++) {
                for (int64_t w = 0; w < ww; w++) {
                    int64_t bh = h % b;
                    int64_t bw = w % b;
                    int64_t dc = (d2s && mode[0] == 'C') ? ch * b * b + bh * b + bw
                                                         : (bh * b + bw) * cc + ch;
                    size_t bo = (size_t)(((n * cc + ch) * hh + h) * ww + w);
                    size_t dof = (size_t)(((n * deep->dims[1] + dc) * deep->dims[2] + h / b) *
                                              deep->dims[3] +
                                          w / b);
                    uint8_t *dst = (uint8_t *)y->data + (d2s ? bo : dof) * es;
                    const uint8_t *src = (const uint8_t *)x->data + (d2s ? dof : bo) * es;
                    memcpy(dst, src, es);
                }
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Trilu ---- */
static VEIL_RESULT trilu_shape(struct veil_op_ctx *c)
{
    GUARD(veil_op_arity(c, 1, 2, 1));
    ENSURE(c->in[0]->rank >= 2, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(veil_op_in(c, 1) == NULL || c->in[1]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out_like(c, 0, c->in[0]);
}

static VEIL_RESULT trilu_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    int64_t upper;
    int64_t k = veil_op_in(c, 1) != NULL ? veil_tensor_get_i64(c->in[1], 0) : 0;
    int64_t rows = x->dims[x->rank - 2];
    int64_t cols = x->dims[x->rank - 1];
    size_t es = esize(x);

    GUARD(veil_attr_int(c, "upper", 1, &upper));
    memcpy(c->out[0]->data, x->data, x->size);
    for (size_t i = 0; i < x->count; i++) {
        int64_t col = (int64_t)(i % (size_t)cols);
        int64_t row = (int64_t)((i / (size_t)cols) % (size_t)rows);
        bool keep = upper ? (col - row >= k) : (col - row <= k);
        if (!keep) {
            memset((uint8_t *)c->out[0]->data + i * es, 0, es);
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_Concat = {"Concat", concat_shape, concat_run, false};
const struct veil_op veil_op_Split = {"Split", split_shape, split_run, false};
const struct veil_op veil_op_Slice = {"Slice", slice_shape, slice_run, false};
const struct veil_op veil_op_Transpose = {"Transpose", transpose_shape, transpose_run, false};
const struct veil_op veil_op_Gather = {"Gather", gather_shape, gather_run, false};
const struct veil_op veil_op_GatherElements = {"GatherElements", gather_el_shape, gather_el_run,
                                               false};
const struct veil_op veil_op_ScatterElements = {"ScatterElements", scatter_el_shape, scatter_el_run,
                                                false};
const struct veil_op veil_op_Scatter = {"Scatter", scatter_el_shape, scatter_el_run, false};
const struct veil_op veil_op_Expand = {"Expand", expand_shape, expand_run, false};
const struct veil_op veil_op_Tile = {"Tile", tile_shape, tile_run, false};
const struct veil_op veil_op_Pad = {"Pad", pad_shape, pad_run, false};
const struct veil_op veil_op_DepthToSpace = {"DepthToSpace", d2s_shape, d2s_run, false};
const struct veil_op veil_op_SpaceToDepth = {"SpaceToDepth", d2s_shape, d2s_run, false};
const struct veil_op veil_op_Trilu = {"Trilu", trilu_shape, trilu_run, false};
