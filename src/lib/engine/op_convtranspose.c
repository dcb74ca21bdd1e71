/* ConvTranspose (N-d, groups, dilations, output_padding, output_shape, auto_pad): GEMM + col2im. */
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

#define CT_MAX ((int64_t)1 << 20)

struct ct_geom {
    uint32_t sp;
    int64_t group;
    int64_t in[VEIL_ENGINE_RANK_MAX];
    int64_t k[VEIL_ENGINE_RANK_MAX];
    int64_t stride[VEIL_ENGINE_RANK_MAX];
    int64_t dil[VEIL_ENGINE_RANK_MAX];
    int64_t pad[VEIL_ENGINE_RANK_MAX];
    int64_t out[VEIL_ENGINE_RANK_MAX];
};

static VEIL_RESULT ints_n(const struct veil_op_ctx *c, const char *name, size_t n, int64_t def,
                          int64_t *out, bool *given)
{
    const int64_t *v;
    size_t count;
    GUARD(veil_attr_ints(c, name, &v, &count));
    ENSURE(count == 0 || count == n, VEIL_ERR_ENGINE_ATTR);
    for (size_t i = 0; i < n; i++) {
        out[i] = count ? v[i] : def;
        ENSURE(out[i] >= -CT_MAX && out[i] <= CT_MAX, VEIL_ERR_ENGINE_ATTR);
    }
    if (given != NULL) {
        *given = count > 0;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT ct_geom(const struct veil_op_ctx *c, struct ct_geom *g)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = c->in[1];
    int64_t pads[2 * VEIL_ENGINE_RANK_MAX];
    int64_t opad[VEIL_ENGINE_RANK_MAX];
    int64_t oshape[VEIL_ENGINE_RANK_MAX];
    bool has_oshape;
    char ap[16];

    ENSURE(x->dtype == VEIL_DT_FLOAT && w->dtype == VEIL_DT_FLOAT,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(x->rank >= 3 && w->rank == x->rank && w->dims[0] == x->dims[1], VEIL_ERR_ENGINE_SHAPE);
    g->sp = x->rank - 2;
    GUARD(veil_attr_int(c, "group", 1, &g->group));
    ENSURE(g->group >= 1 && x->dims[1] % g->group == 0, VEIL_ERR_ENGINE_ATTR);
    GUARD(ints_n(c, "strides", g->sp, 1, g->stride, NULL));
    GUARD(ints_n(c, "dilations", g->sp, 1, g->dil, NULL));
    GUARD(ints_n(c, "pads", 2 * g->sp, 0, pads, NULL));
    GUARD(ints_n(c, "output_padding", g->sp, 0, opad, NULL));
    GUARD(ints_n(c, "output_shape", g->sp, 0, oshape, &has_oshape));
    GUARD(veil_attr_string(c, "auto_pad", "NOTSET", ap, sizeof(ap)));
    for (uint32_t i = 0; i < g->sp; i++) {
        int64_t ek;
        int64_t full;
        g->in[i] = x->dims[i + 2];
        g->k[i] = w->dims[i + 2];
        ENSURE(g->stride[i] >= 1 && g->dil[i] >= 1 && pads[i] >= 0 && pads[i + g->sp] >= 0 &&
                   opad[i] >= 0,
               VEIL_ERR_ENGINE_ATTR);
        ek = (g->k[i] - 1) * g->dil[i] + 1;
        full = g->stride[i] * (g->in[i] - 1) + opad[i] + ek;
        if (has_oshape || strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t want = has_oshape ? oshape[i] : g->in[i] * g->stride[i];
            int64_t total = full - want;
            total = total < 0 ? 0 : total;
            g->pad[i] = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
            g->out[i] = want;
        } else {
            ENSURE(strcmp(ap, "NOTSET") == 0 || strcmp(ap, "VALID") == 0, VEIL_ERR_ENGINE_ATTR);
            int64_t pb = ap[0] == 'V' ? 0 : pads[i];
            int64_t pe = ap[0] == 'V' ? 0 : pads[i + g->sp];
            g->pad[i] = pb;
            g->out[i] = full - pb - pe;
        }
        ENSURE(g->out[i] >= 0, VEIL_ERR_ENGINE_SHAPE);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT ct_shape(struct veil_op_ctx *c)
{
    struct ct_geom g;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *b;

    GUARD(veil_op_arity(c, 2, 3, 1));
    GUARD(ct_geom(c, &g));
    dims[0] = c->in[0]->dims[0];
    dims[1] = c->in[1]->dims[1] * g.group;
    for (uint32_t i = 0; i < g.sp; i++) {
        dims[i + 2] = g.out[i];
    }
    b = veil_op_in(c, 2);
    ENSURE(b == NULL || (b->dtype == VEIL_DT_FLOAT && b->count == (size_t)dims[1]),
           VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out(c, 0, VEIL_DT_FLOAT, c->in[0]->rank, dims);
}

/* The GEMM columns are made and scattered in tiles of input rows whose columns take at most this
 * many bytes (at least one row), in the pool's scratch buffer: bounded whatever the image size
 * (PaddleOCR det's largest whole column buffer was 9.8 MB). */
#define CT_TILE_BYTES ((size_t)4 << 20)

/* Scatters the GEMM columns of input rows [ih0, ih1) (nc = their count x in[1] columns a row)
 * into the 2-D output without a division per element. */
static void col2im_2d(const struct ct_geom *g, const float *cols, size_t mg, int64_t ih0,
                      int64_t ih1, size_t nc, float *y)
{
    size_t osz = (size_t)(g->out[0] * g->out[1]);
    for (size_t m = 0; m < mg; m++) {
        for (int64_t kh = 0; kh < g->k[0]; kh++) {
            for (int64_t kw = 0; kw < g->k[1]; kw++) {
                const float *col =
                    cols + ((m * (size_t)g->k[0] + (size_t)kh) * (size_t)g->k[1] + (size_t)kw) * nc;
                for (int64_t ih = ih0; ih < ih1; ih++) {
                    int64_t oh = ih * g->stride[0] - g->pad[0] + kh * g->dil[0];
                    if (oh < 0 || oh >= g->out[0]) {
                        continue;
                    }
                    float *yr = y + m * osz + (size_t)(oh * g->out[1]);
                    const float *cr = col + (size_t)((ih - ih0) * g->in[1]);
                    for (int64_t iw = 0; iw < g->in[1]; iw++) {
                        int64_t ow = iw * g->stride[1] - g->pad[1] + kw * g->dil[1];
                        if (ow >= 0 && ow < g->out[1]) {
                            yr[ow] += cr[iw];
                        }
                    }
                }
            }
        }
    }
}

static VEIL_RESULT ct_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = c->in[1];
    const struct veil_tensor *b = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    struct ct_geom g;
    size_t cg;
    size_t mg;
    size_t krn;
    size_t isz;
    size_t osz;
    size_t rows;
    size_t rw;
    size_t tile;
    size_t col_size;
    void *colv;
    float *cols;

    GUARD(ct_geom(c, &g));
    cg = (size_t)(x->dims[1] / g.group);
    mg = (size_t)w->dims[1];
    krn = veil_op_span(w, 2, w->rank);
    isz = veil_op_span(x, 2, x->rank);
    osz = veil_op_span(y, 2, y->rank);
    GUARD(veil_op_work(c, x->count, mg, krn, 1));
    ENSURE(mg * krn <= veil_op_size_max(c) / (isz + 1) / sizeof(float), VEIL_ERR_ENGINE_LIMIT);
    rows = g.sp == 2 ? (size_t)g.in[0] : 1;
    rw = rows > 0 ? isz / rows : 0;
    tile = mg * krn * rw > 0 ? CT_TILE_BYTES / (mg * krn * rw * sizeof(float)) : rows;
    tile = tile > 0 ? tile : 1;
    tile = tile < rows ? tile : rows;
    col_size = mg * krn * rw * tile * sizeof(float);
    GUARD(veil_pool_take_scratch(c->frame->pool, col_size, &colv));
    cols = colv;
    for (int64_t n = 0; n < x->dims[0]; n++) {
        for (int64_t gr = 0; gr < g.group; gr++) {
            const float *xg =
                (const float *)x->data + ((size_t)n * (size_t)x->dims[1] + (size_t)gr * cg) * isz;
            const float *wg = (const float *)w->data + (size_t)gr * cg * mg * krn;
            float *yg = (float *)y->data + ((size_t)n * (size_t)y->dims[1] + (size_t)gr * mg) * osz;
            if (g.sp == 2) {
                for (size_t r0 = 0; r0 < rows; r0 += tile) {
                    size_t r1 = r0 + tile < rows ? r0 + tile : rows;
                    size_t nc = (r1 - r0) * rw;
                    veil_sgemm(true, false, mg * krn, nc, cg, 1.0f, wg, mg * krn, xg + r0 * rw, isz,
                               0.0f, cols, nc);
                    col2im_2d(&g, cols, mg, (int64_t)r0, (int64_t)r1, nc, yg);
                }
                continue;
            }
            veil_sgemm(true, false, mg * krn, isz, cg, 1.0f, wg, mg * krn, xg, isz, 0.0f, cols,
                       isz);
            for (size_t m = 0; m < mg; m++) {
                for (size_t kr = 0; kr < krn; kr++) {
                    int64_t kidx[VEIL_ENGINE_RANK_MAX];
                    size_t t = kr;
                    for (uint32_t i = g.sp; i-- > 0;) {
                        kidx[i] = (int64_t)(t % (size_t)g.k[i]);
                        t /= (size_t)g.k[i];
                    }
                    for (size_t ip = 0; ip < isz; ip++) {
                        size_t u = ip;
                        size_t off = 0;
                        bool inside = true;
                        int64_t iidx[VEIL_ENGINE_RANK_MAX];
                        for (uint32_t i = g.sp; i-- > 0;) {
                            iidx[i] = (int64_t)(u % (size_t)g.in[i]);
                            u /= (size_t)g.in[i];
                        }
                        for (uint32_t i = 0; i < g.sp; i++) {
                            int64_t o = iidx[i] * g.stride[i] - g.pad[i] + kidx[i] * g.dil[i];
                            if (o < 0 || o >= g.out[i]) {
                                inside = false;
                                break;
                            }
                            off = off * (size_t)g.out[i] + (size_t)o;
                        }
                        if (inside) {
                            yg[m * osz + off] += cols[(m * krn + kr) * isz + ip];
                        }
                    }
                }
            }
        }
    }
    veil_pool_give_scratch(c->frame->pool, colv, col_size);
    if (b != NULL) {
        size_t ch = (size_t)y->dims[1];
        for (size_t i = 0; i < y->count; i++) {
            ((float *)y->data)[i] += ((const float *)b->data)[(i / osz) % ch];
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_ConvTranspose = {"ConvTranspose", ct_shape, ct_run, false};
