/* MatMul (numpy semantics: 1-D promotion, batch broadcasting) and Gemm. */
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

struct mm_plan {
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t m, n, k;
    size_t batch;
    struct veil_tensor abatch, bbatch, obatch; /* shapes of the batch dims only */
};

static VEIL_RESULT mm_plan(const struct veil_tensor *a, const struct veil_tensor *b,
                           struct mm_plan *p)
{
    int64_t ad[VEIL_ENGINE_RANK_MAX];
    int64_t bd[VEIL_ENGINE_RANK_MAX];
    uint32_t ar = a->rank;
    uint32_t br = b->rank;
    uint32_t orank;
    int64_t odims[VEIL_ENGINE_RANK_MAX];

    ENSURE(ar >= 1 && br >= 1, VEIL_ERR_ENGINE_SHAPE);
    memcpy(ad, a->dims, sizeof(ad));
    memcpy(bd, b->dims, sizeof(bd));
    if (ar == 1) {
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (br == 1) {
        bd[1] = 1;
        br = 2;
    }
    ENSURE(ad[ar - 1] == bd[br - 2], VEIL_ERR_ENGINE_SHAPE);
    p->m = (size_t)ad[ar - 2];
    p->k = (size_t)ad[ar - 1];
    p->n = (size_t)bd[br - 1];
    GUARD(veil_tensor_shape(&p->abatch, VEIL_DT_UINT8, ar - 2, ad));
    GUARD(veil_tensor_shape(&p->bbatch, VEIL_DT_UINT8, br - 2, bd));
    GUARD(veil_op_bcast_shape((const struct veil_tensor *const[]){&p->abatch, &p->bbatch}, 2,
                              &orank, odims));
    GUARD(veil_tensor_shape(&p->obatch, VEIL_DT_UINT8, orank, odims));
    p->batch = p->obatch.count;
    p->rank = orank;
    memcpy(p->dims, odims, sizeof(odims));
    if (a->rank > 1) {
        ENSURE(p->rank < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
        p->dims[p->rank++] = (int64_t)p->m;
    }
    if (b->rank > 1) {
        ENSURE(p->rank < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
        p->dims[p->rank++] = (int64_t)p->n;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT matmul_shape(struct veil_op_ctx *c)
{
    struct mm_plan p;
    GUARD(veil_op_arity(c, 2, 2, 1));
    ENSURE(c->in[0]->dtype == c->in[1]->dtype, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(mm_plan(c->in[0], c->in[1], &p));
    return veil_op_out(c, 0, c->in[0]->dtype, p.rank, p.dims);
}

struct mm_job {
    const struct mm_plan *p;
    const float *a;
    const float *b;
    float *o;
    size_t *aoff;
    size_t *boff;
};

#define MM_ROWS 16
#define MM_COLS 256

/* Work item = (batch, block of 16 rows, block of 256 columns). */
static void mm_part(void *ctx, size_t begin, size_t end)
{
    struct mm_job *j = ctx;
    const struct mm_plan *p = j->p;
    size_t rblocks = (p->m + MM_ROWS - 1) / MM_ROWS;
    size_t cblocks = (p->n + MM_COLS - 1) / MM_COLS;
    for (size_t w = begin; w < end; w++) {
        size_t bi = w / (rblocks * cblocks);
        size_t r0 = (w / cblocks % rblocks) * MM_ROWS;
        size_t c0 = (w % cblocks) * MM_COLS;
        size_t rows = p->m - r0 < MM_ROWS ? p->m - r0 : MM_ROWS;
        size_t cols = p->n - c0 < MM_COLS ? p->n - c0 : MM_COLS;
        veil_sgemm(false, false, rows, cols, p->k, 1.0f, j->a + j->aoff[bi] + r0 * p->k, p->k,
                   j->b + j->boff[bi] + c0, p->n, 0.0f, j->o + (bi * p->m + r0) * p->n + c0, p->n);
    }
}

static VEIL_RESULT matmul_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *a = c->in[0];
    const struct veil_tensor *b = c->in[1];
    struct veil_tensor *o = c->out[0];
    struct mm_plan p;
    struct veil_bcast it;
    size_t *aoff;
    size_t *boff;

    GUARD(mm_plan(a, b, &p));
    GUARD(veil_op_work(c, p.batch, p.m, p.n, p.k));
    aoff = calloc(p.batch > 0 ? p.batch : 1, sizeof(*aoff));
    boff = calloc(p.batch > 0 ? p.batch : 1, sizeof(*boff));
    if (aoff == NULL || boff == NULL) {
        free(aoff);
        free(boff);
        BAIL(VEIL_ERR_NOMEM);
    }
    veil_bcast_init(&it, &p.obatch, (const struct veil_tensor *const[]){&p.abatch, &p.bbatch}, 2);
    for (size_t i = 0; i < p.batch; i++, veil_bcast_next(&it)) {
        aoff[i] = it.off[0] * p.m * p.k;
        boff[i] = it.off[1] * p.k * p.n;
    }
    if (a->dtype == VEIL_DT_FLOAT) {
        struct mm_job j = {&p, a->data, b->data, o->data, aoff, boff};
        size_t work = p.batch * ((p.m + MM_ROWS - 1) / MM_ROWS) * ((p.n + MM_COLS - 1) / MM_COLS);
        size_t per = MM_ROWS * (p.n < MM_COLS ? p.n : MM_COLS) * p.k + 1;
        veil_result r = veil_op_parallel(c, work, 1 + (1 << 18) / per, mm_part, &j);
        free(aoff);
        free(boff);
        return r;
    }
    for (size_t bi = 0; bi < p.batch; bi++) {
        for (size_t i = 0; i < p.m; i++) {
            for (size_t jj = 0; jj < p.n; jj++) {
                size_t oi = (bi * p.m + i) * p.n + jj;
                if (veil_dtype_is_float(a->dtype)) {
                    double s = 0;
                    for (size_t q = 0; q < p.k; q++) {
                        s += veil_tensor_get_f64(a, aoff[bi] + i * p.k + q) *
                             veil_tensor_get_f64(b, boff[bi] + q * p.n + jj);
                    }
                    veil_tensor_set_f64(o, oi, s);
                } else {
                    uint64_t s = 0;
                    for (size_t q = 0; q < p.k; q++) {
                        s += (uint64_t)veil_tensor_get_i64(a, aoff[bi] + i * p.k + q) *
                             (uint64_t)veil_tensor_get_i64(b, boff[bi] + q * p.n + jj);
                    }
                    veil_tensor_set_i64(o, oi, (int64_t)s);
                }
            }
        }
    }
    free(aoff);
    free(boff);
    return VEIL_RESULT_OK;
}

/* ---- Gemm: Y = alpha * A' B' + beta * C, C unidirectionally broadcast ---- */
struct gemm_attrs {
    int64_t ta, tb;
    float alpha, beta;
    size_t m, n, k;
};

static VEIL_RESULT gemm_attrs(const struct veil_op_ctx *c, struct gemm_attrs *g)
{
    const struct veil_tensor *a = c->in[0];
    const struct veil_tensor *b = c->in[1];
    GUARD(veil_attr_int(c, "transA", 0, &g->ta));
    GUARD(veil_attr_int(c, "transB", 0, &g->tb));
    GUARD(veil_attr_float(c, "alpha", 1.0f, &g->alpha));
    GUARD(veil_attr_float(c, "beta", 1.0f, &g->beta));
    ENSURE(a->rank == 2 && b->rank == 2, VEIL_ERR_ENGINE_SHAPE);
    g->m = (size_t)(g->ta ? a->dims[1] : a->dims[0]);
    g->k = (size_t)(g->ta ? a->dims[0] : a->dims[1]);
    g->n = (size_t)(g->tb ? b->dims[0] : b->dims[1]);
    ENSURE((size_t)(g->tb ? b->dims[1] : b->dims[0]) == g->k, VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT gemm_shape(struct veil_op_ctx *c)
{
    struct gemm_attrs g;
    int64_t dims[2];
    const struct veil_tensor *cc;

    GUARD(veil_op_arity(c, 2, 3, 1));
    ENSURE(c->in[0]->dtype == VEIL_DT_FLOAT && c->in[1]->dtype == VEIL_DT_FLOAT,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(gemm_attrs(c, &g));
    dims[0] = (int64_t)g.m;
    dims[1] = (int64_t)g.n;
    cc = veil_op_in(c, 2);
    if (cc != NULL) {
        ENSURE(cc->dtype == VEIL_DT_FLOAT && cc->rank <= 2, VEIL_ERR_ENGINE_SHAPE);
        for (uint32_t d = 0; d < cc->rank; d++) {
            int64_t want = dims[2 - cc->rank + d];
            ENSURE(cc->dims[d] == 1 || cc->dims[d] == want, VEIL_ERR_ENGINE_SHAPE);
        }
    }
    return veil_op_out(c, 0, VEIL_DT_FLOAT, 2, dims);
}

struct gemm_job {
    const struct gemm_attrs *g;
    const float *a;
    const float *b;
    float *y;
};

static void gemm_part(void *ctx, size_t begin, size_t end)
{
    struct gemm_job *j = ctx;
    const struct gemm_attrs *g = j->g;
    const float *a = g->ta ? j->a + begin : j->a + begin * g->k;
    veil_sgemm(g->ta != 0, g->tb != 0, end - begin, g->n, g->k, g->alpha, a, g->ta ? g->m : g->k,
               j->b, g->tb ? g->k : g->n, 1.0f, j->y + begin * g->n, g->n);
}

/* Work item = a block of GEMM_COLS output columns, all rows (a few rows, many columns: batch-1
 * linear layers, whose weights then split over the threads' caches). */
#define GEMM_COLS      32
#define GEMM_PART_WORK ((size_t)1 << 18) /* multiply-adds worth waking a thread for */

static void gemm_cols_part(void *ctx, size_t begin, size_t end)
{
    struct gemm_job *j = ctx;
    const struct gemm_attrs *g = j->g;
    size_t c0 = begin * GEMM_COLS;
    size_t c1 = end * GEMM_COLS < g->n ? end * GEMM_COLS : g->n;
    veil_sgemm(g->ta != 0, g->tb != 0, g->m, c1 - c0, g->k, g->alpha, j->a, g->ta ? g->m : g->k,
               g->tb ? j->b + c0 * g->k : j->b + c0, g->tb ? g->k : g->n, 1.0f, j->y + c0, g->n);
}

static VEIL_RESULT gemm_run(struct veil_op_ctx *c)
{
    struct gemm_attrs g;
    const struct veil_tensor *cc = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    float *py = y->data;
    struct gemm_job j;

    GUARD(gemm_attrs(c, &g));
    GUARD(veil_op_work(c, g.m, g.n, g.k, 1));
    if (cc != NULL && g.beta != 0.0f) {
        const float *pc = cc->data;
        if (cc->rank >= 1 && cc->count == g.n && cc->dims[cc->rank - 1] == (int64_t)g.n) {
            /* a bias row ([n] or [1, n]; the shape function checked it broadcasts): no
             * per-element broadcast iterator for the common linear layer */
            for (size_t i = 0; i < g.m; i++) {
                for (size_t q = 0; q < g.n; q++) {
                    py[i * g.n + q] = g.beta * pc[q];
                }
            }
        } else {
            struct veil_bcast it;
            veil_bcast_init(&it, y, &cc, 1);
            for (size_t i = 0; i < y->count; i++, veil_bcast_next(&it)) {
                py[i] = g.beta * pc[it.off[0]];
            }
        }
    }
    j.g = &g;
    j.a = c->in[0]->data;
    j.b = c->in[1]->data;
    j.y = py;
    if (g.m < c->frame->threads) {
        size_t per = g.m * GEMM_COLS * g.k + 1;
        return veil_op_parallel(c, (g.n + GEMM_COLS - 1) / GEMM_COLS, 1 + GEMM_PART_WORK / per,
                                gemm_cols_part, &j);
    }
    return veil_op_parallel(c, g.m, 1 + 65536 / (g.n * g.k + 1), gemm_part, &j);
}

const struct veil_op veil_op_MatMul = {"MatMul", matmul_shape, matmul_run, false};
const struct veil_op veil_op_Gemm = {"Gemm", gemm_shape, gemm_run, false};
