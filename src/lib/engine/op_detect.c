/* Detection and sampling operators: NonMaxSuppression, RoiAlign, GridSample. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

/* ---- NonMaxSuppression ---- */
struct nms_cand {
    double score;
    int64_t box;
};

static int nms_cmp(const void *a, const void *b)
{
    const struct nms_cand *x = a;
    const struct nms_cand *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return (x->box > y->box) - (x->box < y->box);
}

static void nms_corners(const struct veil_tensor *boxes, size_t i, int64_t center, double *c)
{
    double a = veil_tensor_get_f64(boxes, i * 4);
    double b = veil_tensor_get_f64(boxes, i * 4 + 1);
    double d = veil_tensor_get_f64(boxes, i * 4 + 2);
    double e = veil_tensor_get_f64(boxes, i * 4 + 3);
    if (center) {
        /* [x_center, y_center, width, height] */
        c[0] = b - e / 2, c[1] = a - d / 2, c[2] = b + e / 2, c[3] = a + d / 2;
    } else {
        /* [y1, x1, y2, x2], corners in any order */
        c[0] = fmin(a, d), c[1] = fmin(b, e), c[2] = fmax(a, d), c[3] = fmax(b, e);
    }
}

static double nms_iou(const double *p, const double *q)
{
    double ih = fmin(p[2], q[2]) - fmax(p[0], q[0]);
    double iw = fmin(p[3], q[3]) - fmax(p[1], q[1]);
    double inter = ih > 0 && iw > 0 ? ih * iw : 0;
    double ua = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    return ua > 0 ? inter / ua : 0;
}

struct nms_params {
    int64_t max_out;
    double iou;
    double score;
    bool has_score;
    int64_t center;
};

static VEIL_RESULT nms_params(const struct veil_op_ctx *c, struct nms_params *p)
{
    const struct veil_tensor *boxes = c->in[0];
    const struct veil_tensor *scores = c->in[1];
    const struct veil_tensor *t;

    ENSURE(boxes->rank == 3 && boxes->dims[2] == 4 && scores->rank == 3 &&
               scores->dims[0] == boxes->dims[0] && scores->dims[2] == boxes->dims[1] &&
               veil_dtype_is_float(boxes->dtype) && veil_dtype_is_float(scores->dtype),
           VEIL_ERR_ENGINE_SHAPE);
    p->max_out = (t = veil_op_in(c, 2)) != NULL && t->count > 0 ? veil_tensor_get_i64(t, 0) : 0;
    p->iou = (t = veil_op_in(c, 3)) != NULL && t->count > 0 ? veil_tensor_get_f64(t, 0) : 0.0;
    p->has_score = (t = veil_op_in(c, 4)) != NULL && t->count > 0;
    p->score = p->has_score ? veil_tensor_get_f64(t, 0) : 0.0;
    GUARD(veil_attr_int(c, "center_point_box", 0, &p->center));
    ENSURE(p->max_out >= 0, VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

/* Runs the selection; with out == NULL only counts. */
static VEIL_RESULT nms_select(const struct veil_op_ctx *c, int64_t *out, size_t *count)
{
    const struct veil_tensor *boxes = c->in[0];
    const struct veil_tensor *scores = c->in[1];
    struct nms_params p;
    size_t nb = (size_t)boxes->dims[1];
    struct nms_cand *cand;
    size_t *sel;
    size_t n = 0;

    GUARD(nms_params(c, &p));
    GUARD(veil_op_work(c, (uint64_t)boxes->dims[0], (uint64_t)scores->dims[1], nb, nb));
    cand = malloc((nb + 1) * sizeof(*cand));
    sel = malloc((nb + 1) * sizeof(*sel));
    if (cand == NULL || sel == NULL) {
        free(cand);
        free(sel);
        BAIL(VEIL_ERR_NOMEM);
    }
    for (int64_t b = 0; b < boxes->dims[0]; b++) {
        for (int64_t k = 0; k < scores->dims[1]; k++) {
            size_t nc = 0;
            size_t ns = 0;
            for (size_t i = 0; i < nb; i++) {
                double s = veil_tensor_get_f64(
                    scores, ((size_t)b * (size_t)scores->dims[1] + (size_t)k) * nb + i);
                if (!p.has_score || s > p.score) {
                    cand[nc].score = s;
                    cand[nc++].box = (int64_t)i;
                }
            }
            qsort(cand, nc, sizeof(*cand), nms_cmp);
            for (size_t i = 0; i < nc && (int64_t)ns < p.max_out; i++) {
                double ci[4];
                bool keep = true;
                nms_corners(boxes, (size_t)b * nb + (size_t)cand[i].box, p.center, ci);
                for (size_t j = 0; j < ns && keep; j++) {
                    double cj[4];
                    nms_corners(boxes, (size_t)b * nb + sel[j], p.center, cj);
                    keep = nms_iou(ci, cj) <= p.iou;
                }
                if (keep) {
                    sel[ns++] = (size_t)cand[i].box;
                    if (out != NULL) {
                        out[n * 3] = b;
                        out[n * 3 + 1] = k;
                        out[n * 3 + 2] = cand[i].box;
                    }
                    n++;
                }
            }
        }
    }
    free(cand);
    free(sel);
    *count = n;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT nms_shape(struct veil_op_ctx *c)
{
    size_t n;
    int64_t dims[2];
    GUARD(veil_op_arity(c, 2, 5, 1));
    GUARD(nms_select(c, NULL, &n));
    dims[0] = (int64_t)n;
    dims[1] = 3;
    return veil_op_out(c, 0, VEIL_DT_INT64, 2, dims);
}

static VEIL_RESULT nms_run(struct veil_op_ctx *c)
{
    size_t n;
    GUARD(nms_select(c, c->out[0]->data, &n));
    ENSURE(n == (size_t)c->out[0]->dims[0], VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

/* ---- RoiAlign ---- */
struct roi_attrs {
    bool max_mode;
    bool half_pixel;
    int64_t oh, ow, ratio;
    float scale;
};

static VEIL_RESULT roi_attrs(const struct veil_op_ctx *c, struct roi_attrs *a)
{
    char s[24];
    GUARD(veil_attr_string(c, "mode", "avg", s, sizeof(s)));
    ENSURE(strcmp(s, "avg") == 0 || strcmp(s, "max") == 0, VEIL_ERR_ENGINE_ATTR);
    a->max_mode = s[1] == 'a';
    GUARD(veil_attr_string(c, "coordinate_transformation_mode", "half_pixel", s, sizeof(s)));
    ENSURE(strcmp(s, "half_pixel") == 0 || strcmp(s, "output_half_pixel") == 0,
           VEIL_ERR_ENGINE_ATTR);
    a->half_pixel = s[0] == 'h' && c->opset >= 16;
    GUARD(veil_attr_int(c, "output_height", 1, &a->oh));
    GUARD(veil_attr_int(c, "output_width", 1, &a->ow));
    GUARD(veil_attr_int(c, "sampling_ratio", 0, &a->ratio));
    GUARD(veil_attr_float(c, "spatial_scale", 1.0f, &a->scale));
    ENSURE(a->oh >= 1 && a->ow >= 1 && a->oh <= 65536 && a->ow <= 65536 && a->ratio >= 0 &&
               a->ratio <= 1024,
           VEIL_ERR_ENGINE_ATTR);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT roi_shape(struct veil_op_ctx *c)
{
    struct roi_attrs a;
    const struct veil_tensor *x;
    const struct veil_tensor *rois;
    int64_t dims[4];

    GUARD(veil_op_arity(c, 3, 3, 1));
    GUARD(roi_attrs(c, &a));
    x = c->in[0];
    rois = c->in[1];
    ENSURE(x->rank == 4 && veil_dtype_is_float(x->dtype) && rois->rank == 2 && x->dims[2] > 0 &&
               x->dims[3] > 0 && rois->dims[1] == 4 && c->in[2]->count == (size_t)rois->dims[0] &&
               veil_dtype_is_int(c->in[2]->dtype),
           VEIL_ERR_ENGINE_SHAPE);
    dims[0] = rois->dims[0];
    dims[1] = x->dims[1];
    dims[2] = a.oh;
    dims[3] = a.ow;
    return veil_op_out(c, 0, x->dtype, 4, dims);
}

static VEIL_RESULT roi_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *rois = c->in[1];
    struct roi_attrs a;
    int64_t H = x->dims[2];
    int64_t W = x->dims[3];

    GUARD(roi_attrs(c, &a));
    for (int64_t r = 0; r < rois->dims[0]; r++) {
        int64_t b = veil_tensor_get_i64(c->in[2], (size_t)r);
        double off = a.half_pixel ? 0.5 : 0.0;
        double x1 = veil_tensor_get_f64(rois, (size_t)r * 4) * a.scale - off;
        double y1 = veil_tensor_get_f64(rois, (size_t)r * 4 + 1) * a.scale - off;
        double x2 = veil_tensor_get_f64(rois, (size_t)r * 4 + 2) * a.scale - off;
        double y2 = veil_tensor_get_f64(rois, (size_t)r * 4 + 3) * a.scale - off;
        double rw = x2 - x1;
        double rh = y2 - y1;
        ENSURE(b >= 0 && b < x->dims[0], VEIL_ERR_ENGINE_INDEX);
        ENSURE(isfinite(x1) && isfinite(y1) && isfinite(rw) && isfinite(rh), VEIL_ERR_ENGINE_INDEX);
        if (!a.half_pixel) {
            rw = fmax(rw, 1.0);
            rh = fmax(rh, 1.0);
        }
        double bh = rh / (double)a.oh;
        double bw = rw / (double)a.ow;
        int64_t gh = a.ratio > 0 ? a.ratio : (int64_t)ceil(rh / (double)a.oh);
        int64_t gw = a.ratio > 0 ? a.ratio : (int64_t)ceil(rw / (double)a.ow);
        gh = gh < 0 ? 0 : (gh > 1024 ? 1024 : gh);
        gw = gw < 0 ? 0 : (gw > 1024 ? 1024 : gw);
        double count = (double)(gh * gw > 0 ? gh * gw : 1);
        GUARD(veil_op_work(c, (uint64_t)x->dims[1], (uint64_t)(a.oh * a.ow), (uint64_t)gh,
                           (uint64_t)gw));
        for (int64_t ch = 0; ch < x->dims[1]; ch++) {
            size_t plane = ((size_t)b * (size_t)x->dims[1] + (size_t)ch) * (size_t)(H * W);
            for (int64_t ph = 0; ph < a.oh; ph++) {
                for (int64_t pw = 0; pw < a.ow; pw++) {
                    double acc = a.max_mode ? -INFINITY : 0.0;
                    bool any = false;
                    for (int64_t iy = 0; iy < gh; iy++) {
                        double yy = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            double xx = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                            double v = 0;
                            if (!(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W)) {
                                double y = yy < 0 ? 0 : yy;
                                double xv = xx < 0 ? 0 : xx;
                                int64_t yl = (int64_t)y;
                                int64_t xl = (int64_t)xv;
                                int64_t yh2;
                                int64_t xh2;
                                if (yl >= H - 1) {
                                    yh2 = yl = H - 1;
                                    y = (double)yl;
                                } else {
                                    yh2 = yl + 1;
                                }
                                if (xl >= W - 1) {
                                    xh2 = xl = W - 1;
                                    xv = (double)xl;
                                } else {
                                    xh2 = xl + 1;
                                }
                                double ly = y - (double)yl;
                                double lx = xv - (double)xl;
                                double hy = 1 - ly;
                                double hx = 1 - lx;
                                double v1 = veil_tensor_get_f64(x, plane + (size_t)(yl * W + xl));
                                double v2 = veil_tensor_get_f64(x, plane + (size_t)(yl * W + xh2));
                                double v3 = veil_tensor_get_f64(x, plane + (size_t)(yh2 * W + xl));
                                double v4 = veil_tensor_get_f64(x, plane + (size_t)(yh2 * W + xh2));
                                if (a.max_mode) {
                                    v = fmax(fmax(hy * hx * v1, hy * lx * v2),
                                             fmax(ly * hx * v3, ly * lx * v4));
                                } else {
                                    v = hy * hx * v1 + hy * lx * v2 + ly * hx * v3 + ly * lx * v4;
                                }
                            }
                            if (a.max_mode) {
                                acc = !any || v > acc ? v : acc;
                                any = true;
                            } else {
                                acc += v;
                            }
                        }
                    }
                    size_t o = (((size_t)r * (size_t)x->dims[1] + (size_t)ch) * (size_t)a.oh +
                                (size_t)ph) *
                                   (size_t)a.ow +
                               (size_t)pw;
                    veil_tensor_set_f64(c->out[0], o, a.max_mode ? (any ? acc : 0) : acc / count);
                }
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- GridSample (2-D) ---- */
enum gs_mode { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum gs_pad { GS_ZEROS, GS_BORDER, GS_REFLECTION };

struct gs_attrs {
    enum gs_mode mode;
    enum gs_pad pad;
    int64_t align;
};

static VEIL_RESULT gs_attrs(const struct veil_op_ctx *c, struct gs_attrs *a)
{
    char s[16];
    GUARD(veil_attr_string(c, "mode", "bilinear", s, sizeof(s)));
    if (strcmp(s, "bilinear") == 0 || strcmp(s, "linear") == 0) {
        a->mode = GS_BILINEAR;
    } else if (strcmp(s, "nearest") == 0) {
        a->mode = GS_NEAREST;
    } else if (strcmp(s, "bicubic") == 0 || strcmp(s, "cubic") == 0) {
        a->mode = GS_BICUBIC;
    } else {
        BAIL(VEIL_ERR_ENGINE_ATTR);
    }
    GUARD(veil_attr_string(c, "padding_mode", "zeros", s, sizeof(s)));
    if (strcmp(s, "zeros") == 0) {
        a->pad = GS_ZEROS;
    } else if (strcmp(s, "border") == 0) {
        a->pad = GS_BORDER;
    } else if (strcmp(s, "reflection") == 0) {
        a->pad = GS_REFLECTION;
    } else {
        BAIL(VEIL_ERR_ENGINE_ATTR);
    }
    GUARD(veil_attr_int(c, "align_corners", 0, &a->align));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT gs_shape(struct veil_op_ctx *c)
{
    struct gs_attrs a;
    const struct veil_tensor *x;
    const struct veil_tensor *g;
    int64_t dims[4];

    GUARD(veil_op_arity(c, 2, 2, 1));
    GUARD(gs_attrs(c, &a));
    x = c->in[0];
    g = c->in[1];
    ENSURE(x->rank == 4 && g->rank == 4 && g->dims[0] == x->dims[0] && g->dims[3] == 2 &&
               veil_dtype_is_float(x->dtype) && veil_dtype_is_float(g->dtype) && x->dims[2] > 0 &&
               x->dims[3] > 0,
           VEIL_ERR_ENGINE_SHAPE);
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    dims[2] = g->dims[1];
    dims[3] = g->dims[2];
    return veil_op_out(c, 0, x->dtype, 4, dims);
}

static double gs_reflect(double x, double lo, double hi)
{
    double rng = hi - lo;
    if (rng <= 0) {
        return lo;
    }
    if (x < lo) {
        double dx = lo - x;
        double n = floor(dx / rng);
        double r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi;
        double n = floor(dx / rng);
        double r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? hi - r : lo + r;
    }
    return x;
}

static double gs_pixel(const struct veil_tensor *x, size_t plane, int64_t H, int64_t W,
                       const struct gs_attrs *a, int64_t yi, int64_t xi)
{
    if (a->pad == GS_ZEROS) {
        if (yi < 0 || yi >= H || xi < 0 || xi >= W) {
            return 0;
        }
    } else if (a->pad == GS_BORDER) {
        yi = yi < 0 ? 0 : (yi >= H ? H - 1 : yi);
        xi = xi < 0 ? 0 : (xi >= W ? W - 1 : xi);
    } else {
        double ylo = a->align ? 0 : -0.5;
        double yhi = a->align ? (double)(H - 1) : (double)H - 0.5;
        double xlo = a->align ? 0 : -0.5;
        double xhi = a->align ? (double)(W - 1) : (double)W - 0.5;
        yi = (int64_t)gs_reflect((double)yi, ylo, yhi);
        xi = (int64_t)gs_reflect((double)xi, xlo, xhi);
        yi = yi < 0 ? 0 : (yi >= H ? H - 1 : yi);
        xi = xi < 0 ? 0 : (xi >= W ? W - 1 : xi);
    }
    return veil_tensor_get_f64(x, plane + (size_t)(yi * W + xi));
}

static void gs_cubic(double t, double *w)
{
    const double a = -0.75;
    double t1 = t + 1;
    double t2 = 1 - t;
    double t3 = 2 - t;
    w[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
    w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
    w[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
    w[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

static VEIL_RESULT gs_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *g = c->in[1];
    struct gs_attrs a;
    int64_t H = x->dims[2];
    int64_t W = x->dims[3];
    int64_t HO = g->dims[1];
    int64_t WO = g->dims[2];

    GUARD(gs_attrs(c, &a));
    GUARD(veil_op_work(c, c->out[0]->count, 16, 1, 1));
    for (int64_t n = 0; n < x->dims[0]; n++) {
        for (int64_t ch = 0; ch < x->dims[1]; ch++) {
            size_t plane = ((size_t)n * (size_t)x->dims[1] + (size_t)ch) * (size_t)(H * W);
            for (int64_t i = 0; i < HO * WO; i++) {
                size_t gi = ((size_t)n * (size_t)(HO * WO) + (size_t)i) * 2;
                double gx = veil_tensor_get_f64(g, gi);
                double gy = veil_tensor_get_f64(g, gi + 1);
                double px =
                    a.align ? (gx + 1) / 2 * (double)(W - 1) : ((gx + 1) * (double)W - 1) / 2;
                double py =
                    a.align ? (gy + 1) / 2 * (double)(H - 1) : ((gy + 1) * (double)H - 1) / 2;
                double v = 0;
                if (!isfinite(px) || !isfinite(py) || fabs(px) > 1e9 || fabs(py) > 1e9) {
                    v = 0;
                } else if (a.mode == GS_NEAREST) {
                    if (a.pad == GS_BORDER) {
                        px = fmin(fmax(px, 0), (double)(W - 1));
                        py = fmin(fmax(py, 0), (double)(H - 1));
                    } else if (a.pad == GS_REFLECTION) {
                        px = gs_reflect(px, a.align ? 0 : -0.5,
                                        a.align ? (double)(W - 1) : (double)W - 0.5);
                        py = gs_reflect(py, a.align ? 0 : -0.5,
                                        a.align ? (double)(H - 1) : (double)H - 0.5);
                    }
                    v = gs_pixel(x, plane, H, W, &a, (int64_t)nearbyint(py),
                                 (int64_t)nearbyint(px));
                } else if (a.mode == GS_BILINEAR) {
                    if (a.pad == GS_BORDER) {
                        px = fmin(fmax(px, 0), (double)(W - 1));
                        py = fmin(fmax(py, 0), (double)(H - 1));
                    } else if (a.pad == GS_REFLECTION) {
                        px = gs_reflect(px, a.align ? 0 : -0.5,
                                        a.align ? (double)(W - 1) : (double)W - 0.5);
                        py = gs_reflect(py, a.align ? 0 : -0.5,
                                        a.align ? (double)(H - 1) : (double)H - 0.5);
                    }
                    double fx = floor(px);
                    double fy = floor(py);
                    double lx = px - fx;
                    double ly = py - fy;
                    int64_t x0 = (int64_t)fx;
                    int64_t y0 = (int64_t)fy;
                    v = (1 - ly) * (1 - lx) * gs_pixel(x, plane, H, W, &a, y0, x0) +
                        (1 - ly) * lx * gs_pixel(x, plane, H, W, &a, y0, x0 + 1) +
                        ly * (1 - lx) * gs_pixel(x, plane, H, W, &a, y0 + 1, x0) +
                        ly * lx * gs_pixel(x, plane, H, W, &a, y0 + 1, x0 + 1);
                } else {
                    if (a.pad == GS_BORDER) {
                        px = fmin(fmax(px, 0), (double)(W - 1));
                        py = fmin(fmax(py, 0), (double)(H - 1));
                    } else if (a.pad == GS_REFLECTION) {
                        px = gs_reflect(px, a.align ? 0 : -0.5,
                                        a.align ? (double)(W - 1) : (double)W - 0.5);
                        py = gs_reflect(py, a.align ? 0 : -0.5,
                                        a.align ? (double)(H - 1) : (double)H - 0.5);
                    }
                    double fx = floor(px);
                    double fy = floor(py);
                    double wx[4];
                    double wy[4];
                    gs_cubic(px - fx, wx);
                    gs_cubic(py - fy, wy);
                    for (int j = 0; j < 4; j++) {
                        for (int k = 0; k < 4; k++) {
                            v += wy[j] * wx[k] *
                                 gs_pixel(x, plane, H, W, &a, (int64_t)fy - 1 + j,
                                          (int64_t)fx - 1 + k);
                        }
                    }
                }
                size_t o =
                    ((size_t)n * (size_t)x->dims[1] + (size_t)ch) * (size_t)(HO * WO) + (size_t)i;
                veil_tensor_set_f64(c->out[0], o, v);
            }
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_NonMaxSuppression = {"NonMaxSuppression", nms_shape, nms_run, false};
const struct veil_op veil_op_RoiAlign = {"RoiAlign", roi_shape, roi_run, false};
const struct veil_op veil_op_GridSample = {"GridSample", gs_shape, gs_run, false};
