/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (forward, as inference graphs use them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

enum reduction { RED_NONE, RED_SUM, RED_MEAN };

static VEIL_RESULT reduction_of(const struct veil_op_ctx *c, enum reduction *r)
{
    char s[8];
    GUARD(veil_attr_string(c, "reduction", "mean", s, sizeof(s)));
    if (strcmp(s, "none") == 0) {
        *r = RED_NONE;
    } else if (strcmp(s, "sum") == 0) {
        *r = RED_SUM;
    } else if (strcmp(s, "mean") == 0) {
        *r = RED_MEAN;
    } else {
        BAIL(VEIL_ERR_ENGINE_ATTR);
    }
    return VEIL_RESULT_OK;
}

/* input [N, C, d...], target [N, d...], weight [C] */
static VEIL_RESULT loss_check(const struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *t = c->in[1];
    const struct veil_tensor *w = veil_op_in(c, 2);

    ENSURE(veil_dtype_is_float(x->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(t->dtype == VEIL_DT_INT64 || t->dtype == VEIL_DT_INT32, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(x->rank >= 2 && t->rank == x->rank - 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(t->dims[0] == x->dims[0], VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t d = 1; d < t->rank; d++) {
        ENSURE(t->dims[d] == x->dims[d + 1], VEIL_ERR_ENGINE_SHAPE);
    }
    ENSURE(w == NULL || (w->rank == 1 && w->dims[0] == x->dims[1] && w->dtype == x->dtype),
           VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT loss_shape(struct veil_op_ctx *c)
{
    enum reduction red;
    GUARD(veil_op_arity(c, 2, 3, 1));
    GUARD(loss_check(c));
    GUARD(reduction_of(c, &red));
    if (red == RED_NONE) {
        GUARD(veil_op_out(c, 0, c->in[0]->dtype, c->in[1]->rank, c->in[1]->dims));
    } else {
        GUARD(veil_op_out(c, 0, c->in[0]->dtype, 0, NULL));
    }
    if (c->out_count > 1) {
        GUARD(veil_op_out_like(c, 1, c->in[0]));
    }
    return VEIL_RESULT_OK;
}

/* NLL over log-probabilities lp (same layout as the input). */
static VEIL_RESULT nll(const struct veil_op_ctx *c, const struct veil_tensor *lp)
{
    const struct veil_tensor *t = c->in[1];
    const struct veil_tensor *w = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    enum reduction red;
    int64_t ignore;
    size_t n = (size_t)lp->dims[0];
    size_t cc = (size_t)lp->dims[1];
    size_t inner = veil_op_span(lp, 2, lp->rank);
    double sum = 0;
    double wsum = 0;

    GUARD(reduction_of(c, &red));
    GUARD(veil_attr_int(c, "ignore_index", INT64_MIN, &ignore));
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < inner; i++) {
            size_t ti = b * inner + i;
            int64_t k = veil_tensor_get_i64(t, ti);
            double loss = 0;
            double wk = 0;
            if (k != ignore) {
                ENSURE(k >= 0 && (size_t)k < cc, VEIL_ERR_ENGINE_INDEX);
                wk = w != NULL ? veil_tensor_get_f64(w, (size_t)k) : 1.0;
                loss = -veil_tensor_get_f64(lp, (b * cc + (size_t)k) * inner + i) * wk;
            }
            if (red == RED_NONE) {
                veil_tensor_set_f64(y, ti, loss);
            }
            sum += loss;
            wsum += wk;
        }
    }
    if (red == RED_SUM) {
        veil_tensor_set_f64(y, 0, sum);
    } else if (red == RED_MEAN) {
        veil_tensor_set_f64(y, 0, wsum != 0 ? sum / wsum : 0.0);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT nll_run(struct veil_op_ctx *c)
{
    return nll(c, c->in[0]);
}

static VEIL_RESULT sce_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor lp = {0};
    size_t cc = (size_t)x->dims[1];
    size_t inner = veil_op_span(x, 2, x->rank);
    size_t n = (size_t)x->dims[0];
    veil_result r;

    GUARD(veil_tensor_shape(&lp, VEIL_DT_DOUBLE, x->rank, x->dims));
    GUARD(veil_tensor_alloc(&lp));
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < inner; i++) {
            double mx = -INFINITY;
            double s = 0;
            for (size_t k = 0; k < cc; k++) {
                double v = veil_tensor_get_f64(x, (b * cc + k) * inner + i);
                mx = v > mx ? v : mx;
            }
            for (size_t k = 0; k < cc; k++) {
                s += exp(veil_tensor_get_f64(x, (b * cc + k) * inner + i) - mx);
            }
            for (size_t k = 0; k < cc; k++) {
                size_t o = (b * cc + k) * inner + i;
                double v = veil_tensor_get_f64(x, o) - mx - log(s);
                ((double *)lp.data)[o] = v;
                if (c->out_count > 1) {
                    veil_tensor_set_f64(c->out[1], o, v);
                }
            }
        }
    }
    r = nll(c, &lp);
    veil_tensor_free(&lp);
    return r;
}

const struct veil_op veil_op_NegativeLogLikelihoodLoss = {"NegativeLogLikelihoodLoss", loss_shape,
                                                          nll_run, false};
const struct veil_op veil_op_SoftmaxCrossEntropyLoss = {"SoftmaxCrossEntropyLoss", loss_shape,
                                                        sce_run, false};
