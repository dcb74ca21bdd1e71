/*
 * Resize (opsets 10-18: nearest, linear, cubic; every coordinate transformation mode except
 * half_pixel_symmetric; no antialias) and Upsample. N-d and separable: each output element sums
 * over the product of per-axis taps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

enum rmode { RM_NEAREST, RM_LINEAR, RM_CUBIC };
enum ctm { CT_HALF, CT_PYTORCH_HALF, CT_ALIGN, CT_ASYM, CT_TF_HALF_NN, CT_TF_CROP };
enum nmode { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

#define TAPS_MAX 4

struct rplan {
    enum rmode mode;
    enum ctm ct;
    enum nmode nm;
    float cubic_a;
    int64_t exclude;
    float extrap;
    double scale[VEIL_ENGINE_RANK_MAX];
    double roi_start[VEIL_ENGINE_RANK_MAX];
    double roi_end[VEIL_ENGINE_RANK_MAX];
    int64_t out[VEIL_ENGINE_RANK_MAX];
    double out_len[VEIL_ENGINE_RANK_MAX]; /* len * scale, unrounded, as the reference uses */
};

static VEIL_RESULT pick(const char *s, const char *const *names, size_t n, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return VEIL_RESULT_OK;
        }
    }
    BAIL(VEIL_ERR_ENGINE_ATTR);
}

static VEIL_RESULT rplan_attrs(const struct veil_op_ctx *c, bool upsample, struct rplan *p)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const cts[] = {"half_pixel", "pytorch_half_pixel",   "align_corners",
                                      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    char buf[32];
    int v;
    int64_t antialias;
    bool legacy = upsample || c->opset < 11;

    GUARD(veil_attr_string(c, "mode", "nearest", buf, sizeof(buf)));
    GUARD(pick(strcmp(buf, "bilinear") == 0 ? "linear" : buf, modes, 3, &v));
    p->mode = (enum rmode)v;
    GUARD(veil_attr_string(c, "coordinate_transformation_mode",
                           legacy ? "asymmetric" : "half_pixel", buf, sizeof(buf)));
    GUARD(pick(buf, cts, 6, &v));
    p->ct = (enum ctm)v;
    GUARD(veil_attr_string(c, "nearest_mode", legacy ? "floor" : "round_prefer_floor", buf,
                           sizeof(buf)));
    GUARD(pick(buf, nms, 4, &v));
    p->nm = (enum nmode)v;
    GUARD(veil_attr_float(c, "cubic_coeff_a", -0.75f, &p->cubic_a));
    GUARD(veil_attr_int(c, "exclude_outside", 0, &p->exclude));
    GUARD(veil_attr_float(c, "extrapolation_value", 0.0f, &p->extrap));
    GUARD(veil_attr_int(c, "antialias", 0, &antialias));
    ENSURE(antialias == 0 && veil_attr_find(c, "axes") == NULL &&
               veil_attr_find(c, "keep_aspect_ratio_policy") == NULL,
           VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT rplan_make(const struct veil_op_ctx *c, bool upsample, struct rplan *p)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *roi = NULL;
    const struct veil_tensor *scales = NULL;
    const struct veil_tensor *sizes = NULL;
    uint32_t r = x->rank;

    GUARD(rplan_attrs(c, upsample, p));
    if (upsample || c->opset < 11) {
        scales = veil_op_in(c, 1);
        if (scales == NULL) {
            const float *f;
            size_t n;
            GUARD(veil_attr_floats(c, "scales", &f, &n));
            ENSURE(n == r, VEIL_ERR_ENGINE_ATTR);
            for (uint32_t d = 0; d < r; d++) {
                p->scale[d] = f[d];
            }
        }
    } else {
        roi = veil_op_in(c, 1);
        scales = veil_op_in(c, 2);
        sizes = veil_op_in(c, 3);
        if (scales != NULL && scales->count == 0) {
            scales = NULL;
        }
        if (sizes != NULL && sizes->count == 0) {
            sizes = NULL;
        }
        ENSURE((scales == NULL) != (sizes == NULL), VEIL_ERR_ENGINE_SHAPE);
    }
    for (uint32_t d = 0; d < r; d++) {
        p->roi_start[d] = 0.0;
        p->roi_end[d] = 1.0;
    }
    if (roi != NULL && roi->count > 0) {
        ENSURE(veil_dtype_is_float(roi->dtype) && roi->count == 2 * (size_t)r,
               VEIL_ERR_ENGINE_SHAPE);
        for (uint32_t d = 0; d < r; d++) {
            p->roi_start[d] = veil_tensor_get_f64(roi, d);
            p->roi_end[d] = veil_tensor_get_f64(roi, d + r);
        }
    }
    if (scales != NULL) {
        ENSURE(veil_dtype_is_float(scales->dtype) && scales->count == r, VEIL_ERR_ENGINE_SHAPE);
        for (uint32_t d = 0; d < r; d++) {
            p->scale[d] = veil_tensor_get_f64(scales, d);
        }
    }
    for (uint32_t d = 0; d < r; d++) {
        if (sizes != NULL) {
            ENSURE(sizes->dtype == VEIL_DT_INT64 && sizes->count == r, VEIL_ERR_ENGINE_SHAPE);
            p->out[d] = veil_tensor_get_i64(sizes, d);
            ENSURE(p->out[d] >= 0 && p->out[d] <= (int64_t)VEIL_ENGINE_TENSOR_SIZE_MAX,
                   VEIL_ERR_ENGINE_SHAPE);
            p->scale[d] = x->dims[d] > 0 ? (double)p->out[d] / (double)x->dims[d] : 1.0;
            p->out_len[d] = (double)p->out[d];
        } else {
            double o = floor((double)x->dims[d] * p->scale[d] *
                             (p->ct == CT_TF_CROP ? p->roi_end[d] - p->roi_start[d] : 1.0));
            ENSURE(p->scale[d] > 0 && isfinite(o) && o >= 0 &&
                       o <= (double)VEIL_ENGINE_TENSOR_SIZE_MAX,
                   VEIL_ERR_ENGINE_SHAPE);
            p->out[d] = (int64_t)o;
            p->out_len[d] = (double)x->dims[d] * p->scale[d];
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT resize_shape_k(struct veil_op_ctx *c, bool upsample)
{
    struct rplan p;
    GUARD(veil_op_arity(c, 1, 4, 1));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(rplan_make(c, upsample, &p));
    return veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, p.out);
}

/* Source coordinate of output index o on one axis; *outside for tf_crop_and_resize. */
static double src_coord(const struct rplan *p, uint32_t d, int64_t o, int64_t len, bool *outside)
{
    double s = p->scale[d];
    int64_t lo = p->out[d];
    double x;
    *outside = false;
    switch (p->ct) {
        case CT_HALF:
            return ((double)o + 0.5) / s - 0.5;
        case CT_PYTORCH_HALF:
            return lo > 1 ? ((double)o + 0.5) / s - 0.5 : 0.0;
        case CT_ALIGN:
            return p->out_len[d] == 1.0 ? 0.0
                                        : (double)o * (double)(len - 1) / (p->out_len[d] - 1.0);
        case CT_ASYM:
            return (double)o / s;
        case CT_TF_HALF_NN:
            return ((double)o + 0.5) / s;
        default:
            if (lo > 1) {
                x = p->roi_start[d] * (double)(len - 1) + (double)o *
                                                              (p->roi_end[d] - p->roi_start[d]) *
                                                              (double)(len - 1) / (double)(lo - 1);
            } else {
                x = 0.5 * (p->roi_start[d] + p->roi_end[d]) * (double)(len - 1);
            }
            *outside = x < 0 || x > (double)(len - 1);
            return x;
    }
}

static double cubic_w(double a, double t)
{
    t = fabs(t);
    if (t <= 1) {
        return ((a + 2) * t - (a + 3)) * t * t + 1;
    }
    if (t < 2) {
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    }
    return 0;
}

/* Taps (index, weight) of one axis. */
static int axis_taps(const struct rplan *p, uint32_t d, int64_t o, int64_t len, int64_t *idx,
                     double *w, bool *outside)
{
    double x = src_coord(p, d, o, len, outside);
    if (p->mode == RM_NEAREST) {
        double f = floor(x);
        double r;
        switch (p->nm) {
            case NM_ROUND_FLOOR:
                r = x - f == 0.5 ? f : nearbyint(x);
                break;
            case NM_ROUND_CEIL:
                r = x - f == 0.5 ? f + 1 : nearbyint(x);
                break;
            case NM_FLOOR:
                r = f;
                break;
            default:
                r = ceil(x);
                break;
        }
        r = r < 0 ? 0 : (r > (double)(len - 1) ? (double)(len - 1) : r);
        idx[0] = (int64_t)r;
        w[0] = 1.0;
        return 1;
    }
    if (p->mode == RM_LINEAR) {
        double xc = x < 0 ? 0 : (x > (double)(len - 1) ? (double)(len - 1) : x);
        double f = floor(xc);
        int64_t i0 = (int64_t)f;
        int64_t i1 = i0 + 1 < len ? i0 + 1 : i0;
        idx[0] = i0;
        idx[1] = i1;
        w[0] = 1.0 - (xc - f);
        w[1] = xc - f;
        return 2;
    }
    double f = floor(x);
    double t = x - f;
    double sum = 0;
    for (int k = 0; k < 4; k++) {
        int64_t i = (int64_t)f - 1 + k;
        double wk = cubic_w(p->cubic_a, t + 1 - k);
        if (i < 0 || i >= len) {
            if (p->exclude) {
                wk = 0;
            }
            i = i < 0 ? 0 : len - 1;
        }
        idx[k] = i;
        w[k] = wk;
        sum += wk;
    }
    if (p->exclude && sum != 0) {
        for (int k = 0; k < 4; k++) {
            w[k] /= sum;
        }
    }
    return 4;
}

/* Float nearest: the source offset of every output index is computed once per axis, then the
 * output is a gather along the last axis. Same taps as axis_taps. */
/* Rows (runs along the last axis) of a float nearest-neighbour resize, from the per-axis index
 * tables. Work item = one output row. */
struct rnear_job {
    const struct rplan *p;
    const float *px;
    float *py;
    const size_t *tab;
    const bool *outside;
    const size_t *base;
    const int64_t *dims;
    uint32_t r;
    size_t last;
};

static void rnear_part(void *ctx, size_t begin, size_t end)
{
    const struct rnear_job *j = ctx;
    uint32_t r = j->r;
    int64_t oidx[VEIL_ENGINE_RANK_MAX] = {0};
    const size_t *lt = j->tab + j->base[r - 1];
    const bool *lo = j->outside + j->base[r - 1];
    size_t rest = begin;
    for (uint32_t d = r - 1; d-- > 0;) {
        oidx[d] = (int64_t)(rest % (size_t)j->dims[d]);
        rest /= (size_t)j->dims[d];
    }
    for (size_t row = begin; row < end; row++) {
        size_t off = 0;
        bool out = false;
        float *yr = j->py + row * j->last;
        for (uint32_t d = 0; d + 1 < r; d++) {
            off += j->tab[j->base[d] + (size_t)oidx[d]];
            out |= j->outside[j->base[d] + (size_t)oidx[d]];
        }
        for (size_t k = 0; k < j->last; k++) {
            yr[k] = out || lo[k] ? (float)j->p->extrap : j->px[off + lt[k]];
        }
        for (uint32_t d = r - 1; d-- > 0;) {
            if (++oidx[d] < j->dims[d]) {
                break;
            }
            oidx[d] = 0;
        }
    }
}

static VEIL_RESULT resize_nearest_f32(struct veil_op_ctx *c, const struct rplan *p,
                                      const struct veil_tensor *x, struct veil_tensor *y,
                                      const size_t *xs)
{
    uint32_t r = y->rank;
    size_t total = 0;
    size_t base[VEIL_ENGINE_RANK_MAX];
    size_t *tab;
    bool *outside;
    size_t last = (size_t)y->dims[r - 1];
    veil_result res;

    for (uint32_t d = 0; d < r; d++) {
        base[d] = total;
        total += (size_t)y->dims[d];
    }
    tab = calloc(total + 1, sizeof(*tab));
    outside = calloc(total + 1, sizeof(*outside));
    if (tab == NULL || outside == NULL) {
        free(tab);
        free(outside);
        BAIL(VEIL_ERR_NOMEM);
    }
    for (uint32_t d = 0; d < r; d++) {
        for (int64_t o = 0; o < y->dims[d]; o++) {
            int64_t idx[TAPS_MAX];
            double w[TAPS_MAX];
            (void)axis_taps(p, d, o, x->dims[d], idx, w, &outside[base[d] + (size_t)o]);
            tab[base[d] + (size_t)o] = (size_t)idx[0] * xs[d];
        }
    }
    struct rnear_job j = {p, x->data, y->data, tab, outside, base, y->dims, r, last};
    res = veil_op_parallel(c, y->count / last, 1 + 32768 / last, rnear_part, &j);
    free(tab);
    free(outside);
    return res;
}

static VEIL_RESULT resize_run_k(struct veil_op_ctx *c, bool upsample)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    struct rplan p;
    uint32_t r = x->rank;
    int64_t oidx[VEIL_ENGINE_RANK_MAX] = {0};
    size_t xs[VEIL_ENGINE_RANK_MAX];
    size_t acc = 1;

    GUARD(rplan_make(c, upsample, &p));
    GUARD(veil_op_work(
        c, y->count, p.mode == RM_NEAREST ? 1 : (p.mode == RM_LINEAR ? 2 : 4), r,
        (uint64_t)1 << (p.mode == RM_NEAREST ? 0 : (p.mode == RM_LINEAR ? r : 2 * r))));
    for (uint32_t d = r; d-- > 0;) {
        xs[d] = acc;
        acc *= (size_t)x->dims[d];
        ENSURE(x->dims[d] > 0 || y->count == 0, VEIL_ERR_ENGINE_SHAPE);
    }
    if (p.mode == RM_NEAREST && x->dtype == VEIL_DT_FLOAT && y->rank > 0 && y->count > 0) {
        return resize_nearest_f32(c, &p, x, y, xs);
    }
    for (size_t i = 0; i < y->count; i++) {
        int64_t tidx[VEIL_ENGINE_RANK_MAX][TAPS_MAX];
        double tw[VEIL_ENGINE_RANK_MAX][TAPS_MAX];
        int nt[VEIL_ENGINE_RANK_MAX];
        int k[VEIL_ENGINE_RANK_MAX] = {0};
        bool outside = false;
        double sum = 0;

        for (uint32_t d = 0; d < r; d++) {
            bool o = false;
            nt[d] = axis_taps(&p, d, oidx[d], x->dims[d], tidx[d], tw[d], &o);
            outside |= o;
        }
        if (outside) {
            sum = p.extrap;
        } else {
            for (;;) {
                double w = 1.0;
                size_t off = 0;
                for (uint32_t d = 0; d < r; d++) {
                    w *= tw[d][k[d]];
                    off += (size_t)tidx[d][k[d]] * xs[d];
                }
                if (w != 0) {
                    sum += w * veil_tensor_get_f64(x, off);
                }
                uint32_t d = r;
                while (d-- > 0) {
                    if (++k[d] < nt[d]) {
                        break;
                    }
                    k[d] = 0;
                }
                if (d == UINT32_MAX) {
                    break;
                }
            }
        }
        veil_tensor_set_f64(y, i, veil_dtype_is_int(y->dtype) ? nearbyint(sum) : sum);
        for (uint32_t d = r; d-- > 0;) {
            if (++oidx[d] < y->dims[d]) {
                break;
            }
            oidx[d] = 0;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT resize_shape(struct veil_op_ctx *c)
{
    return resize_shape_k(c, false);
}

static VEIL_RESULT resize_run(struct veil_op_ctx *c)
{
    return resize_run_k(c, false);
}

static VEIL_RESULT upsample_shape(struct veil_op_ctx *c)
{
    return resize_shape_k(c, true);
}

static VEIL_RESULT upsample_run(struct veil_op_ctx *c)
{
    return resize_run_k(c, true);
}

const struct veil_op veil_op_Resize = {"Resize", resize_shape, resize_run, false};
const struct veil_op veil_op_Upsample = {"Upsample", upsample_shape, upsample_run, false};
