/*
 * Recurrent layers: RNN, GRU, LSTM (forward, reverse, bidirectional; layout 0 and 1;
 * sequence_lens; clip; custom activations; LSTM peepholes and input_forget; GRU
 * linear_before_reset). Reference kernels in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

#if VEIL_X86_AVX512
#include <immintrin.h>
#endif

#define HIDDEN_MAX ((int64_t)1 << 16)

enum rnn_kind { K_RNN, K_GRU, K_LSTM };

struct act {
    int fn;
    double a;
    double b;
};

enum {
    A_SIGMOID,
    A_TANH,
    A_RELU,
    A_HSIG,
    A_LEAKY,
    A_AFFINE,
    A_STANH,
    A_THR,
    A_ELU,
    A_SOFTSIGN,
    A_SOFTPLUS
};

static double act_apply(const struct act *f, double x)
{
    switch (f->fn) {
        case A_SIGMOID:
            return 1.0 / (1.0 + exp(-x));
        case A_TANH:
            return tanh(x);
        case A_RELU:
            return x > 0 ? x : 0;
        case A_HSIG: {
            double v = f->a * x + f->b;
            return v < 0 ? 0 : (v > 1 ? 1 : v);
        }
        case A_LEAKY:
            return x >= 0 ? x : f->a * x;
        case A_AFFINE:
            return f->a * x + f->b;
        case A_STANH:
            return f->a * tanh(f->b * x);
        case A_THR:
            return x > f->a ? x : 0;
        case A_ELU:
            return x >= 0 ? x : f->a * (exp(x) - 1);
        case A_SOFTSIGN:
            return x / (1 + fabs(x));
        default:
            return log1p(exp(x));
    }
}

struct rnn {
    enum rnn_kind kind;
    int64_t hidden;
    int64_t dirs;
    int64_t layout;
    bool reverse_only;
    int64_t seq;
    int64_t batch;
    int64_t input;
    uint32_t gates;
    float clip;
    bool has_clip;
    int64_t lbr;
    int64_t input_forget;
    struct act acts[6];
};

static VEIL_RESULT parse_acts(const struct veil_op_ctx *c, struct rnn *r)
{
    static const char *const names[] = {"Sigmoid",   "Tanh",     "Relu",       "HardSigmoid",
                                        "LeakyRelu", "Affine",   "ScaledTanh", "ThresholdedRelu",
                                        "Elu",       "Softsign", "Softplus"};
    static const double def_a[] = {0, 0, 0, 0.2, 0.01, 1.0, 1.0, 1.0, 1.0, 0, 0};
    static const double def_b[] = {0, 0, 0, 0.5, 0, 0, 1.0, 0, 0, 0, 0};
    const struct veil_attr *a = veil_attr_find(c, "activations");
    const float *alpha;
    const float *beta;
    size_t na;
    size_t nb;
    uint32_t per = r->kind == K_RNN ? 1 : (r->kind == K_GRU ? 2 : 3);
    size_t want = (size_t)per * (size_t)r->dirs;
    size_t ai = 0;
    size_t bi = 0;

    GUARD(veil_attr_floats(c, "activation_alpha", &alpha, &na));
    GUARD(veil_attr_floats(c, "activation_beta", &beta, &nb));
    for (size_t i = 0; i < want; i++) {
        int fn = r->kind == K_RNN ? A_TANH : ((i % per) == 0 ? A_SIGMOID : A_TANH);
        if (a != NULL) {
            struct veil_attr_fields f;
            const struct veil_bytes *s;
            fn = -1;
            veil_attr_fields(a, &f);
            ENSURE(f.n_strings == want, VEIL_ERR_ENGINE_ATTR);
            s = &f.strings[i];
            for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
                if (s->len == strlen(names[k]) && memcmp(s->data, names[k], s->len) == 0) {
                    fn = (int)k;
                }
            }
            ENSURE(fn >= 0, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
        }
        r->acts[i].fn = fn;
        r->acts[i].a = def_a[fn];
        r->acts[i].b = def_b[fn];
        bool takes_a = fn == A_HSIG || fn == A_LEAKY || fn == A_AFFINE || fn == A_STANH ||
                       fn == A_THR || fn == A_ELU;
        bool takes_b = fn == A_HSIG || fn == A_AFFINE || fn == A_STANH;
        if (takes_a && ai < na) {
            r->acts[i].a = alpha[ai++];
        }
        if (takes_b && bi < nb) {
            r->acts[i].b = beta[bi++];
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT rnn_plan(const struct veil_op_ctx *c, struct rnn *r)
{
    const char *n = c->node->op->name;
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = c->in[1];
    const struct veil_tensor *rr = c->in[2];
    char dir[16];

    r->kind = strcmp(n, "RNN") == 0 ? K_RNN : (strcmp(n, "GRU") == 0 ? K_GRU : K_LSTM);
    r->gates = r->kind == K_RNN ? 1 : (r->kind == K_GRU ? 3 : 4);
    GUARD(veil_attr_int(c, "hidden_size", 0, &r->hidden));
    GUARD(veil_attr_int(c, "layout", 0, &r->layout));
    GUARD(veil_attr_int(c, "linear_before_reset", 0, &r->lbr));
    GUARD(veil_attr_int(c, "input_forget", 0, &r->input_forget));
    GUARD(veil_attr_string(c, "direction", "forward", dir, sizeof(dir)));
    r->has_clip = veil_attr_find(c, "clip") != NULL;
    GUARD(veil_attr_float(c, "clip", 0.0f, &r->clip));
    ENSURE(r->hidden >= 1 && r->hidden <= HIDDEN_MAX && (r->layout == 0 || r->layout == 1),
           VEIL_ERR_ENGINE_ATTR);
    if (strcmp(dir, "bidirectional") == 0) {
        r->dirs = 2;
    } else {
        ENSURE(strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0, VEIL_ERR_ENGINE_ATTR);
        r->dirs = 1;
        r->reverse_only = dir[0] == 'r';
    }
    ENSURE(x->dtype == VEIL_DT_FLOAT, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(x->rank == 3, VEIL_ERR_ENGINE_SHAPE); /* a shape error, not a type the engine lacks */
    r->seq = r->layout ? x->dims[1] : x->dims[0];
    r->batch = r->layout ? x->dims[0] : x->dims[1];
    r->input = x->dims[2];
    ENSURE(w->rank == 3 && w->dims[0] == r->dirs && w->dims[1] == r->gates * r->hidden &&
               w->dims[2] == r->input && w->dtype == VEIL_DT_FLOAT,
           VEIL_ERR_ENGINE_SHAPE);
    ENSURE(rr->rank == 3 && rr->dims[0] == r->dirs && rr->dims[1] == r->gates * r->hidden &&
               rr->dims[2] == r->hidden && rr->dtype == VEIL_DT_FLOAT,
           VEIL_ERR_ENGINE_SHAPE);
    const struct veil_tensor *b = veil_op_in(c, 3);
    const struct veil_tensor *sl = veil_op_in(c, 4);
    const struct veil_tensor *h0 = veil_op_in(c, 5);
    const struct veil_tensor *c0 = r->kind == K_LSTM ? veil_op_in(c, 6) : NULL;
    const struct veil_tensor *p = r->kind == K_LSTM ? veil_op_in(c, 7) : NULL;
    size_t state = (size_t)(r->dirs * r->batch * r->hidden);
    /* the kernel reads B, initial_h, initial_c and P as float */
    ENSURE(b == NULL || (b->dtype == VEIL_DT_FLOAT &&
                         b->count == (size_t)(r->dirs * 2 * r->gates * r->hidden)),
           VEIL_ERR_ENGINE_SHAPE);
    ENSURE(h0 == NULL || h0->dtype == VEIL_DT_FLOAT, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c0 == NULL || c0->dtype == VEIL_DT_FLOAT, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(p == NULL || p->dtype == VEIL_DT_FLOAT, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(sl == NULL || (veil_dtype_is_int(sl->dtype) && sl->count == (size_t)r->batch),
           VEIL_ERR_ENGINE_SHAPE);
    ENSURE(h0 == NULL || h0->count == state, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c0 == NULL || c0->count == state, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(p == NULL || p->count == (size_t)(r->dirs * 3 * r->hidden), VEIL_ERR_ENGINE_SHAPE);
    return parse_acts(c, r);
}

static VEIL_RESULT rnn_shape(struct veil_op_ctx *c)
{
    struct rnn r = {0};
    int64_t y[4];
    int64_t h[3];

    GUARD(veil_op_arity(c, 3, 8, 0));
    GUARD(rnn_plan(c, &r));
    if (r.layout == 0) {
        y[0] = r.seq, y[1] = r.dirs, y[2] = r.batch, y[3] = r.hidden;
        h[0] = r.dirs, h[1] = r.batch, h[2] = r.hidden;
    } else {
        y[0] = r.batch, y[1] = r.seq, y[2] = r.dirs, y[3] = r.hidden;
        h[0] = r.batch, h[1] = r.dirs, h[2] = r.hidden;
    }
    for (uint32_t k = 0; k < c->out_count && k < 3; k++) {
        GUARD(k == 0 ? veil_op_out(c, 0, VEIL_DT_FLOAT, 4, y)
                     : veil_op_out(c, k, VEIL_DT_FLOAT, 3, h));
    }
    return VEIL_RESULT_OK;
}

static double clipv(const struct rnn *r, double v)
{
    if (!r->has_clip) {
        return v;
    }
    return v < -r->clip ? -r->clip : (v > r->clip ? r->clip : v);
}

/* Gate pre-activation: x.W[g]^T + h.R[g]^T + Wb[g] + Rb[g] for one hidden unit j. */
struct rnn_io {
    const float *x, *w, *rw, *bias;
    double *h, *cst, *tmp;
    double *pre; /* LSTM: every gate's pre-activation of the step (gates * hidden) */
};

/* Dot products in double with 8 partial sums, so the loops vectorize. */
VEIL_TARGET_CLONES
static double dot_ff(const float *x, const float *w, int64_t n)
{
    double part[8] = {0};
    double s = 0;
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        for (int q = 0; q < 8; q++) {
            part[q] += (double)x[k + q] * w[k + q];
        }
    }
    for (; k < n; k++) {
        s += (double)x[k] * w[k];
    }
    for (int q = 0; q < 8; q++) {
        s += part[q];
    }
    return s;
}

VEIL_TARGET_CLONES
static double dot_df(const double *h, const float *w, int64_t n)
{
    double part[8] = {0};
    double s = 0;
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        for (int q = 0; q < 8; q++) {
            part[q] += h[k + q] * w[k + q];
        }
    }
    for (; k < n; k++) {
        s += h[k] * w[k];
    }
    for (int q = 0; q < 8; q++) {
        s += part[q];
    }
    return s;
}

#if VEIL_X86_AVX512
/* The input and hidden dot products of four gate rows (x and h loaded once for the four):
 * sw[t] = x . w[t], sr[t] = h . rw[t], each in double as dot_ff / dot_df form them (8 partial
 * sums, the tail, then the partials), up to the rounding of fused multiply-adds. */
__attribute__((target("avx512f"))) static void dot4_avx512(const float *x, int64_t nin,
                                                           const double *h, int64_t nh,
                                                           const float *const *w,
                                                           const float *const *rw, double *sw,
                                                           double *sr)
{
    __m512d z = _mm512_setzero_pd();
    __m512d a0 = z, a1 = z, a2 = z, a3 = z;
    __m512d b0 = z, b1 = z, b2 = z, b3 = z;
    int64_t k = 0;
    for (; k + 8 <= nin; k += 8) {
        __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x + k));
        a0 = _mm512_fmadd_pd(xv, _mm512_cvtps_pd(_mm256_loadu_ps(w[0] + k)), a0);
        a1 = _mm512_fmadd_pd(xv, _mm512_cvtps_pd(_mm256_loadu_ps(w[1] + k)), a1);
        a2 = _mm512_fmadd_pd(xv, _mm512_cvtps_pd(_mm256_loadu_ps(w[2] + k)), a2);
        a3 = _mm512_fmadd_pd(xv, _mm512_cvtps_pd(_mm256_loadu_ps(w[3] + k)), a3);
    }
    int64_t kin = k;
    for (k = 0; k + 8 <= nh; k += 8) {
        __m512d hv = _mm512_loadu_pd(h + k);
        b0 = _mm512_fmadd_pd(hv, _mm512_cvtps_pd(_mm256_loadu_ps(rw[0] + k)), b0);
        b1 = _mm512_fmadd_pd(hv, _mm512_cvtps_pd(_mm256_loadu_ps(rw[1] + k)), b1);
        b2 = _mm512_fmadd_pd(hv, _mm512_cvtps_pd(_mm256_loadu_ps(rw[2] + k)), b2);
        b3 = _mm512_fmadd_pd(hv, _mm512_cvtps_pd(_mm256_loadu_ps(rw[3] + k)), b3);
    }
    int64_t kh = k;
    __m512d av[4] = {a0, a1, a2, a3};
    __m512d bv[4] = {b0, b1, b2, b3};
    for (int t = 0; t < 4; t++) {
        double s = 0.0;
        double u = 0.0;
        for (int64_t q = kin; q < nin; q++) {
            s += (double)x[q] * w[t][q];
        }
        for (int64_t q = kh; q < nh; q++) {
            u += h[q] * rw[t][q];
        }
        sw[t] = s + _mm512_reduce_add_pd(av[t]);
        sr[t] = u + _mm512_reduce_add_pd(bv[t]);
    }
}
#endif

static double pre(const struct rnn *r, const struct rnn_io *io, const float *xt, const double *h,
                  int64_t d, uint32_t g, int64_t j, bool with_h)
{
    const float *wrow =
        io->w + ((size_t)d * r->gates * (size_t)r->hidden + g * (size_t)r->hidden + (size_t)j) *
                    (size_t)r->input;
    const float *rrow =
        io->rw + ((size_t)d * r->gates * (size_t)r->hidden + g * (size_t)r->hidden + (size_t)j) *
                     (size_t)r->hidden;
    double s = dot_ff(xt, wrow, r->input);
    if (with_h) {
        s += dot_df(h, rrow, r->hidden);
    }
    if (io->bias != NULL) {
        size_t base = (size_t)d * 2 * r->gates * (size_t)r->hidden;
        s += io->bias[base + g * (size_t)r->hidden + (size_t)j];
        if (with_h) {
            s += io->bias[base + (r->gates + g) * (size_t)r->hidden + (size_t)j];
        }
    }
    return s;
}

static double rdot(const struct rnn *r, const struct rnn_io *io, const double *h, int64_t d,
                   uint32_t g, int64_t j)
{
    const float *rrow =
        io->rw + ((size_t)d * r->gates * (size_t)r->hidden + g * (size_t)r->hidden + (size_t)j) *
                     (size_t)r->hidden;
    double s = dot_df(h, rrow, r->hidden);
    if (io->bias != NULL) {
        s += io->bias[(size_t)d * 2 * r->gates * (size_t)r->hidden +
                      (r->gates + g) * (size_t)r->hidden + (size_t)j];
    }
    return s;
}

/* Every gate's pre-activation with h (pre(..., true)) into out[g * hidden + j]: with AVX-512
 * four hidden units at a time (dot4_avx512), else one at a time. */
static void pre_all(const struct rnn *r, const struct rnn_io *io, const float *xt, const double *h,
                    int64_t d, double *out)
{
    int64_t H = r->hidden;
    for (uint32_t g = 0; g < r->gates; g++) {
        int64_t j = 0;
#if VEIL_X86_AVX512
        for (; veil_cpu_avx512() && j + 4 <= H; j += 4) {
            size_t row = (size_t)d * r->gates * (size_t)H + g * (size_t)H + (size_t)j;
            const float *wr[4];
            const float *rr[4];
            double sw[4];
            double sr[4];
            for (size_t t = 0; t < 4; t++) {
                wr[t] = io->w + (row + t) * (size_t)r->input;
                rr[t] = io->rw + (row + t) * (size_t)H;
            }
            dot4_avx512(xt, r->input, h, H, wr, rr, sw, sr);
            for (size_t t = 0; t < 4; t++) {
                double v = sw[t];
                v += sr[t];
                if (io->bias != NULL) {
                    size_t base = (size_t)d * 2 * r->gates * (size_t)H;
                    v += io->bias[base + g * (size_t)H + (size_t)j + t];
                    v += io->bias[base + (r->gates + g) * (size_t)H + (size_t)j + t];
                }
                out[g * (size_t)H + (size_t)j + t] = v;
            }
        }
#endif
        for (; j < H; j++) {
            out[g * (size_t)H + (size_t)j] = pre(r, io, xt, h, d, g, j, true);
        }
    }
}

static void step(const struct rnn *r, const struct rnn_io *io, const float *peep, int64_t d,
                 const float *xt, double *h, double *cs, double *nh)
{
    const struct act *f = &r->acts[d * (r->kind == K_RNN ? 1 : (r->kind == K_GRU ? 2 : 3))];
    int64_t H = r->hidden;
    if (r->kind == K_RNN) {
        for (int64_t j = 0; j < H; j++) {
            nh[j] = act_apply(&f[0], clipv(r, pre(r, io, xt, h, d, 0, j, true)));
        }
    } else if (r->kind == K_GRU) {
        double *rh = io->tmp;
        for (int64_t j = 0; j < H; j++) {
            rh[j] = act_apply(&f[0], clipv(r, pre(r, io, xt, h, d, 1, j, true))) * h[j];
        }
        for (int64_t j = 0; j < H; j++) {
            double z = act_apply(&f[0], clipv(r, pre(r, io, xt, h, d, 0, j, true)));
            double hh;
            if (r->lbr) {
                double rt = act_apply(&f[0], clipv(r, pre(r, io, xt, h, d, 1, j, true)));
                hh = pre(r, io, xt, h, d, 2, j, false) + rt * rdot(r, io, h, d, 2, j);
            } else {
                hh = pre(r, io, xt, rh, d, 2, j, true);
            }
            hh = act_apply(&f[1], clipv(r, hh));
            nh[j] = (1 - z) * hh + z * h[j];
        }
    } else {
        double *nc = io->tmp;
        double *pa = io->pre;
        pre_all(r, io, xt, h, d, pa);
        for (int64_t j = 0; j < H; j++) {
            const float *p = peep != NULL ? peep + (size_t)d * 3 * (size_t)H : NULL;
            double gi = pa[j] + (p ? p[j] * cs[j] : 0);
            double gf = pa[2 * H + j] + (p ? p[2 * H + j] * cs[j] : 0);
            double gc = pa[3 * H + j];
            double it = act_apply(&f[0], clipv(r, gi));
            double ft = r->input_forget ? 1 - it : act_apply(&f[0], clipv(r, gf));
            double ct = act_apply(&f[1], clipv(r, gc));
            nc[j] = ft * cs[j] + it * ct;
            double go = pa[H + j] + (p ? p[H + j] * nc[j] : 0);
            double ot = act_apply(&f[0], clipv(r, go));
            nh[j] = ot * act_apply(&f[2], nc[j]);
        }
        memcpy(cs, nc, (size_t)H * sizeof(*cs));
    }
}

static size_t y_index(const struct rnn *r, int64_t t, int64_t d, int64_t b)
{
    if (r->layout == 0) {
        return (size_t)(((t * r->dirs + d) * r->batch + b) * r->hidden);
    }
    return (size_t)(((b * r->seq + t) * r->dirs + d) * r->hidden);
}

static size_t h_index(const struct rnn *r, int64_t d, int64_t b)
{
    return (size_t)((r->layout == 0 ? d * r->batch + b : b * r->dirs + d) * r->hidden);
}

static VEIL_RESULT rnn_run(struct veil_op_ctx *c)
{
    struct rnn r = {0};
    struct rnn_io io = {0};
    const struct veil_tensor *sl = veil_op_in(c, 4);
    const struct veil_tensor *h0 = veil_op_in(c, 5);
    const struct veil_tensor *c0 = veil_op_in(c, 6);
    const struct veil_tensor *pp = veil_op_in(c, 7);
    double *buf;

    GUARD(rnn_plan(c, &r));
    GUARD(veil_op_work(c, (uint64_t)(r.dirs * r.batch * r.seq), r.gates, (uint64_t)r.hidden,
                       (uint64_t)(r.input + r.hidden)));
    if (r.kind != K_LSTM) {
        c0 = NULL;
        pp = NULL;
    }
    io.x = c->in[0]->data;
    io.w = c->in[1]->data;
    io.rw = c->in[2]->data;
    io.bias = veil_op_in(c, 3) != NULL ? c->in[3]->data : NULL;
    buf = calloc((size_t)r.hidden * (4 + r.gates), sizeof(*buf));
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    io.h = buf;
    io.cst = buf + r.hidden;
    io.tmp = buf + 2 * r.hidden;
    double *nh = buf + 3 * r.hidden;
    io.pre = buf + 4 * r.hidden;
    for (int64_t d = 0; d < r.dirs; d++) {
        bool rev = r.reverse_only || d == 1;
        for (int64_t b = 0; b < r.batch; b++) {
            int64_t len = sl != NULL ? veil_tensor_get_i64(sl, (size_t)b) : r.seq;
            if (len < 0 || len > r.seq) {
                free(buf);
                BAIL(VEIL_ERR_ENGINE_INDEX);
            }
            for (int64_t j = 0; j < r.hidden; j++) {
                size_t si = (size_t)((d * r.batch + b) * r.hidden + j);
                io.h[j] = h0 != NULL ? ((const float *)h0->data)[si] : 0.0;
                io.cst[j] = c0 != NULL ? ((const float *)c0->data)[si] : 0.0;
            }
            for (int64_t s = 0; s < len; s++) {
                int64_t t = rev ? len - 1 - s : s;
                const float *xt =
                    io.x + (size_t)((r.layout == 0 ? t * r.batch + b : b * r.seq + t) * r.input);
                step(&r, &io, pp != NULL ? pp->data : NULL, d, xt, io.h, io.cst, nh);
                memcpy(io.h, nh, (size_t)r.hidden * sizeof(*nh));
                if (c->out_count > 0) {
                    float *y = (float *)c->out[0]->data + y_index(&r, t, d, b);
                    for (int64_t j = 0; j < r.hidden; j++) {
                        y[j] = (float)io.h[j];
                    }
                }
            }
            for (uint32_t k = 1; k < c->out_count && k < 3; k++) {
                const double *src = k == 1 ? io.h : io.cst;
                float *o = (float *)c->out[k]->data + h_index(&r, d, b);
                for (int64_t j = 0; j < r.hidden; j++) {
                    o[j] = (float)src[j];
                }
            }
        }
    }
    free(buf);
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_RNN = {"RNN", rnn_shape, rnn_run, false};
const struct veil_op veil_op_GRU = {"GRU", rnn_shape, rnn_run, false};
const struct veil_op veil_op_LSTM = {"LSTM", rnn_shape, rnn_run, false};
