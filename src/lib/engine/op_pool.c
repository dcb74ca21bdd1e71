/* MaxPool (with Indices), AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool. */
#include <math.h>
#include <string.h>

#include "engine/ops.h"

static VEIL_RESULT pool_geom(const struct veil_op_ctx *c, struct veil_geom *g)
{
    int64_t ceil_mode;
    GUARD(veil_attr_int(c, "ceil_mode", 0, &ceil_mode));
    return veil_op_geom(c, c->in[0], NULL, ceil_mode != 0, g);
}

static VEIL_RESULT pool_shape(struct veil_op_ctx *c)
{
    struct veil_geom g;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *x;

    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    ENSURE(veil_dtype_is_float(x->dtype) || x->dtype == VEIL_DT_INT8 || x->dtype == VEIL_DT_UINT8,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(pool_geom(c, &g));
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (uint32_t i = 0; i < g.sp; i++) {
        dims[i + 2] = g.out[i];
    }
    GUARD(veil_op_out(c, 0, x->dtype, x->rank, dims));
    if (c->out_count > 1) {
        GUARD(veil_op_out(c, 1, VEIL_DT_INT64, x->rank, dims));
    }
    return VEIL_RESULT_OK;
}

enum pool_kind { P_MAX, P_AVG, P_LP };

/* Float 2-D MaxPool/AveragePool without Indices: a direct loop per plane, the window clipped to
 * the input once per output row and column. Same results as the general path below (max keeps
 * the first element and then only larger ones; the average sums in double). */
struct pool_job {
    const struct veil_geom *g;
    const float *x;
    float *y;
    size_t isz, osz;
    bool max;
    bool include_pad;
};

static void pool2d_part(void *ctx, size_t begin, size_t end)
{
    const struct pool_job *j = ctx;
    const struct veil_geom *g = j->g;
    for (size_t pl = begin; pl < end; pl++) {
        const float *x = j->x + pl * j->isz;
        float *y = j->y + pl * j->osz;
        for (int64_t oh = 0; oh < g->out[0]; oh++) {
            int64_t h0 = oh * g->stride[0] - g->pad_begin[0];
            for (int64_t ow = 0; ow < g->out[1]; ow++) {
                int64_t w0 = ow * g->stride[1] - g->pad_begin[1];
                double acc = 0.0;
                float m = 0.0f;
                bool first = true;
                size_t count = 0;
                for (int64_t kh = 0; kh < g->kernel[0]; kh++) {
                    int64_t ih = h0 + kh * g->dil[0];
                    bool hin = ih >= 0 && ih < g->in[0];
                    bool hpad = ih >= -g->pad_begin[0] && ih < g->in[0] + g->pad_end[0];
                    for (int64_t kw = 0; kw < g->kernel[1]; kw++) {
                        int64_t iw = w0 + kw * g->dil[1];
                        if (!hin || iw < 0 || iw >= g->in[1]) {
                            count += j->include_pad && hpad && iw >= -g->pad_begin[1] &&
                                     iw < g->in[1] + g->pad_end[1];
                            continue;
                        }
                        float v = x[ih * g->in[1] + iw];
                        count++;
                        if (first || v > m) {
                            m = v;
                            first = false;
                        }
                        acc += v;
                    }
                }
                if (j->max) {
                    y[oh * g->out[1] + ow] = first ? -INFINITY : m;
                } else {
                    y[oh * g->out[1] + ow] = (float)(count > 0 ? acc / (double)count : 0.0);
                }
            }
        }
    }
}

/* Every window of a 2-D pool inside the input (no padding reached): MaxPool then needs no
 * bounds checks. */
static bool pool_inside(const struct veil_geom *g)
{
    for (uint32_t i = 0; i < 2; i++) {
        if (g->pad_begin[i] != 0 ||
            (g->out[i] - 1) * g->stride[i] + (g->kernel[i] - 1) * g->dil[i] >= g->in[i]) {
            return false;
        }
    }
    return true;
}

/* MaxPool with every window inside: per output row, the first tap of every window, then each
 * further tap in the same (kh, kw) order where larger, which is pool2d_part's rule (NaN kept
 * only as first element), over whole rows (vectorizes). */
VEIL_TARGET_CLONES
static void maxpool_inside_part(void *ctx, size_t begin, size_t end)
{
    const struct pool_job *j = ctx;
    const struct veil_geom *g = j->g;
    int64_t ow_n = g->out[1];
    int64_t sw = g->stride[1];
    for (size_t pl = begin; pl < end; pl++) {
        const float *x = j->x + pl * j->isz;
        float *y = j->y + pl * j->osz;
        for (int64_t oh = 0; oh < g->out[0]; oh++) {
            float *yr = y + oh * ow_n;
            for (int64_t kh = 0; kh < g->kernel[0]; kh++) {
                const float *xr = x + (oh * g->stride[0] + kh * g->dil[0]) * g->in[1];
                for (int64_t kw = 0; kw < g->kernel[1]; kw++) {
                    const float *xs = xr + kw * g->dil[1];
                    if (kh == 0 && kw == 0) {
                        for (int64_t ow = 0; ow < ow_n; ow++) {
                            yr[ow] = xs[ow * sw];
                        }
                        continue;
                    }
                    for (int64_t ow = 0; ow < ow_n; ow++) {
                        float v = xs[ow * sw];
                        yr[ow] = v > yr[ow] ? v : yr[ow];
                    }
                }
            }
        }
    }
}

static VEIL_RESULT pool_run_kind(struct veil_op_ctx *c, enum pool_kind kind)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    struct veil_geom g;
    int64_t include_pad;
    int64_t order;
    int64_t p;
    size_t isz;
    size_t osz;
    size_t ksz = 1;
    size_t planes = (size_t)x->dims[0] * (size_t)x->dims[1];

    GUARD(pool_geom(c, &g));
    GUARD(veil_attr_int(c, "count_include_pad", 0, &include_pad));
    GUARD(veil_attr_int(c, "storage_order", 0, &order));
    GUARD(veil_attr_int(c, "p", 2, &p));
    ENSURE(order == 0 || order == 1, VEIL_ERR_ENGINE_ATTR);
    isz = veil_op_span(x, 2, x->rank);
    osz = veil_op_span(y, 2, y->rank);
    for (uint32_t i = 0; i < g.sp; i++) {
        GUARD(veil_op_work(c, ksz, (uint64_t)g.kernel[i], 1, 1));
        ksz *= (size_t)g.kernel[i];
    }
    GUARD(veil_op_work(c, planes, osz, ksz, 1));
    if (x->dtype == VEIL_DT_FLOAT && g.sp == 2 && kind != P_LP && c->out_count == 1) {
        struct pool_job j = {&g, x->data, y->data, isz, osz, kind == P_MAX, include_pad != 0};
        return veil_op_parallel(
            c, planes, 1 + 16384 / (osz * ksz + 1),
            kind == P_MAX && pool_inside(&g) ? maxpool_inside_part : pool2d_part, &j);
    }
    for (size_t pl = 0; pl < planes; pl++) {
        for (size_t o = 0; o < osz; o++) {
            int64_t oidx[VEIL_ENGINE_RANK_MAX];
            size_t u = o;
            double acc = kind == P_MAX ? -INFINITY : 0.0;
            int64_t best = -1;
            size_t count = 0;
            for (uint32_t i = g.sp; i-- > 0;) {
                oidx[i] = (int64_t)(u % (size_t)g.out[i]);
                u /= (size_t)g.out[i];
            }
            for (size_t kr = 0; kr < ksz; kr++) {
                size_t t = kr;
                size_t off = 0;
                size_t off_cm = 0; /* column-major, for storage_order 1 */
                bool inside = true;
                bool in_pad = true;
                int64_t pos[VEIL_ENGINE_RANK_MAX];
                for (uint32_t i = g.sp; i-- > 0;) {
                    int64_t k = (int64_t)(t % (size_t)g.kernel[i]);
                    t /= (size_t)g.kernel[i];
                    pos[i] = oidx[i] * g.stride[i] - g.pad_begin[i] + k * g.dil[i];
                }
                for (uint32_t i = 0; i < g.sp; i++) {
                    inside &= pos[i] >= 0 && pos[i] < g.in[i];
                    in_pad &= pos[i] >= -g.pad_begin[i] && pos[i] < g.in[i] + g.pad_end[i];
                    off = off * (size_t)g.in[i] + (size_t)(pos[i] < 0 ? 0 : pos[i]);
                }
                for (uint32_t i = g.sp; i-- > 0;) {
                    off_cm = off_cm * (size_t)g.in[i] + (size_t)(pos[i] < 0 ? 0 : pos[i]);
                }
                if (!inside) {
                    count += (kind == P_AVG && include_pad && in_pad) ? 1 : 0;
                    continue;
                }
                double v = veil_tensor_get_f64(x, pl * isz + off);
                count++;
                if (kind == P_MAX) {
                    if (v > acc || best < 0) {
                        acc = v;
                        best = (int64_t)(pl * isz + (order ? off_cm : off));
                    }
                } else if (kind == P_LP) {
                    acc += pow(fabs(v), (double)p);
                } else {
                    acc += v;
                }
            }
            if (kind == P_AVG) {
                acc = count > 0 ? acc / (double)count : 0.0;
            } else if (kind == P_LP) {
                acc = pow(acc, 1.0 / (double)p);
            }
            veil_tensor_set_f64(y, pl * osz + o, acc);
            if (kind == P_MAX && c->out_count > 1) {
                ((int64_t *)c->out[1]->data)[pl * osz + o] = best;
            }
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT maxpool_run(struct veil_op_ctx *c)
{
    return pool_run_kind(c, P_MAX);
}

static VEIL_RESULT avgpool_run(struct veil_op_ctx *c)
{
    return pool_run_kind(c, P_AVG);
}

static VEIL_RESULT lppool_run(struct veil_op_ctx *c)
{
    return pool_run_kind(c, P_LP);
}

static VEIL_RESULT gpool_shape(struct veil_op_ctx *c)
{
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *x;

    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    ENSURE(x->rank >= 2, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(veil_dtype_is_float(x->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    for (uint32_t d = 0; d < x->rank; d++) {
        dims[d] = d < 2 ? x->dims[d] : 1;
    }
    return veil_op_out(c, 0, x->dtype, x->rank, dims);
}

/* Float GlobalAveragePool: the sum of each plane in double, with 8 partial sums (one chain of
 * dependent additions per plane was 10% of PaddleOCR cls). Work item = plane. */
struct gavg_job {
    const float *x;
    float *y;
    size_t isz;
};

VEIL_TARGET_CLONES
static void gavg_part(void *ctx, size_t begin, size_t end)
{
    const struct gavg_job *j = ctx;
    for (size_t pl = begin; pl < end; pl++) {
        const float *p = j->x + pl * j->isz;
        double part[8] = {0};
        double acc = 0.0;
        size_t i = 0;
        for (; i + 8 <= j->isz; i += 8) {
            for (size_t q = 0; q < 8; q++) {
                part[q] += (double)p[i + q];
            }
        }
        for (; i < j->isz; i++) {
            acc += p[i];
        }
        for (size_t q = 0; q < 8; q++) {
            acc += part[q];
        }
        j->y[pl] = (float)(acc / (double)j->isz);
    }
}

static VEIL_RESULT gpool_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    bool is_max = c->node->op == &veil_op_GlobalMaxPool;
    size_t planes = (size_t)x->dims[0] * (size_t)x->dims[1];
    size_t isz = veil_op_span(x, 2, x->rank);

    if (x->dtype == VEIL_DT_FLOAT && !is_max && isz > 0) {
        struct gavg_job j = {x->data, c->out[0]->data, isz};
        return veil_op_parallel(c, planes, 1 + 65536 / isz, gavg_part, &j);
    }
    for (size_t pl = 0; pl < planes; pl++) {
        double acc = is_max ? -INFINITY : 0.0;
        for (size_t i = 0; i < isz; i++) {
            double v = veil_tensor_get_f64(x, pl * isz + i);
            acc = is_max ? (v > acc ? v : acc) : acc + v;
        }
        veil_tensor_set_f64(c->out[0], pl, is_max ? acc : (isz > 0 ? acc / (double)isz : NAN));
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_MaxPool = {"MaxPool", pool_shape, maxpool_run, false};
const struct veil_op veil_op_AveragePool = {"AveragePool", pool_shape, avgpool_run, false};
const struct veil_op veil_op_LpPool = {"LpPool", pool_shape, lppool_run, false};
const struct veil_op veil_op_GlobalAveragePool = {"GlobalAveragePool", gpool_shape, gpool_run,
                                                  false};
const struct veil_op veil_op_GlobalMaxPool = {"GlobalMaxPool", gpool_shape, gpool_run, false};
