/*
 * Control flow: If, Loop, Scan. The bodies are subgraphs built at load time; they run in a frame
 * whose parent is the calling node's frame, so they can read outer values. These operators
 * allocate their own outputs (the subgraph produces them).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

static VEIL_RESULT run_sub(const struct veil_op_ctx *c, const struct veil_engine_graph *g,
                           const struct veil_tensor *const *in, uint32_t nin,
                           struct veil_tensor *out)
{
    return veil_graph_run(g, c->frame, c->frame->pool, c->frame->threads, in, nin, out,
                          c->frame->diag);
}

static void free_all(struct veil_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        veil_tensor_free(&t[i]);
    }
}

/* ---- If ---- */
static VEIL_RESULT if_shape(struct veil_op_ctx *c)
{
    const struct veil_engine_graph *tg = veil_attr_graph(c, "then_branch");
    const struct veil_engine_graph *eg = veil_attr_graph(c, "else_branch");

    GUARD(veil_op_arity(c, 1, 1, 0));
    ENSURE(tg != NULL && eg != NULL, VEIL_ERR_ENGINE_ATTR);
    ENSURE(c->in[0]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(tg->input_count == 0 && eg->input_count == 0, VEIL_ERR_ENGINE_GRAPH);
    ENSURE(tg->output_count == c->out_count && eg->output_count == c->out_count,
           VEIL_ERR_ENGINE_GRAPH);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT if_run(struct veil_op_ctx *c)
{
    bool cond = veil_tensor_get_i64(c->in[0], 0) != 0;
    const struct veil_engine_graph *g = veil_attr_graph(c, cond ? "then_branch" : "else_branch");
    struct veil_tensor *res = calloc(c->out_count > 0 ? c->out_count : 1, sizeof(*res));
    veil_result r;

    ENSURE(res != NULL, VEIL_ERR_NOMEM);
    r = run_sub(c, g, NULL, 0, res);
    if (veil_ok(r)) {
        for (uint32_t k = 0; k < c->out_count; k++) {
            *c->out[k] = res[k];
        }
    }
    free(res);
    return r;
}

/* Stacks n same-shaped tensors along a new axis ax. */
static VEIL_RESULT stack(const struct veil_tensor *parts, size_t n, uint32_t ax, bool reverse,
                         int32_t dtype_if_empty, size_t size_max, struct veil_tensor *out)
{
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *p0 = n > 0 ? &parts[0] : NULL;
    uint32_t rank = p0 != NULL ? p0->rank + 1 : 1;
    size_t es;
    size_t outer;
    size_t inner;

    ENSURE(rank <= VEIL_ENGINE_RANK_MAX && ax < rank, VEIL_ERR_ENGINE_LIMIT);
    for (uint32_t d = 0, s = 0; d < rank; d++) {
        dims[d] = d == ax ? (int64_t)n : p0->dims[s++];
    }
    for (size_t i = 1; i < n; i++) {
        ENSURE(parts[i].dtype == p0->dtype && veil_tensor_same_shape(&parts[i], p0),
               VEIL_ERR_ENGINE_SHAPE);
    }
    GUARD(veil_tensor_shape(out, p0 != NULL ? p0->dtype : dtype_if_empty, rank, dims));
    ENSURE(out->size <= size_max, VEIL_ERR_ENGINE_LIMIT);
    GUARD(veil_tensor_alloc(out));
    if (n == 0) {
        return VEIL_RESULT_OK;
    }
    es = veil_dtype_size(p0->dtype);
    outer = veil_op_span(p0, 0, ax);
    inner = veil_op_span(p0, ax, p0->rank) * es;
    for (size_t i = 0; i < n; i++) {
        const struct veil_tensor *src = &parts[reverse ? n - 1 - i : i];
        for (size_t o = 0; o < outer && inner > 0; o++) {
            memcpy((uint8_t *)out->data + (o * n + i) * inner,
                   (const uint8_t *)src->data + o * inner, inner);
        }
    }
    return VEIL_RESULT_OK;
}

/* Scan outputs collected per iteration: a growable array of tensors. */
struct collect {
    struct veil_tensor *t;
    size_t n;
    size_t cap;
    size_t bytes;
};

/* The stacked result must fit the tensor limit, so the parts must too. */
static VEIL_RESULT collect_push(struct collect *col, struct veil_tensor *t, size_t size_max)
{
    ENSURE(t->size <= size_max - col->bytes, VEIL_ERR_ENGINE_LIMIT);
    col->bytes += t->size;
    if (col->n == col->cap) {
        size_t cap = col->cap == 0 ? 16 : col->cap * 2;
        struct veil_tensor *nt = realloc(col->t, cap * sizeof(*nt));
        ENSURE(nt != NULL, VEIL_ERR_NOMEM);
        col->t = nt;
        col->cap = cap;
    }
    col->t[col->n++] = *t;
    memset(t, 0, sizeof(*t));
    return VEIL_RESULT_OK;
}

static void collect_free(struct collect *col, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        free_all(col[k].t, col[k].n);
        free(col[k].t);
    }
    free(col);
}

/* ---- Loop ---- */
static VEIL_RESULT loop_shape(struct veil_op_ctx *c)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    uint32_t carried;

    ENSURE(g != NULL, VEIL_ERR_ENGINE_ATTR);
    ENSURE(c->in_count >= 2, VEIL_ERR_ENGINE_SHAPE);
    carried = c->in_count - 2;
    ENSURE(g->input_count == carried + 2, VEIL_ERR_ENGINE_GRAPH);
    ENSURE(g->output_count >= carried + 1 && c->out_count == g->output_count - 1,
           VEIL_ERR_ENGINE_GRAPH);
    for (uint32_t k = 2; k < c->in_count; k++) {
        ENSURE(c->in[k] != NULL, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE); /* optional state */
    }
    ENSURE(veil_op_in(c, 0) == NULL || c->in[0]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(veil_op_in(c, 1) == NULL || c->in[1]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

struct loop_state {
    uint32_t carried;
    uint32_t scans;
    struct veil_tensor *state; /* carried values, owned */
    struct veil_tensor *res;   /* body outputs */
    const struct veil_tensor **in;
    struct collect *col;
};

static VEIL_RESULT loop_iterate(struct veil_op_ctx *c, const struct veil_engine_graph *g,
                                struct loop_state *s)
{
    int64_t max = veil_op_in(c, 0) != NULL ? veil_tensor_get_i64(c->in[0], 0) : INT64_MAX;
    bool cond = veil_op_in(c, 1) != NULL ? veil_tensor_get_i64(c->in[1], 0) != 0 : true;
    struct veil_tensor iter = {0};
    struct veil_tensor cond_t = {0};
    veil_result r = VEIL_RESULT_OK;

    GUARD(veil_tensor_shape(&iter, VEIL_DT_INT64, 0, NULL));
    GUARD(veil_tensor_shape(&cond_t, VEIL_DT_BOOL, 0, NULL));
    GUARD(veil_tensor_alloc(&iter));
    r = veil_tensor_alloc(&cond_t);
    for (int64_t i = 0; veil_ok(r) && i < max && cond; i++) {
        if (i >= c->frame->graph->model->loop_iterations_max) {
            r = veil_result_of(VEIL_ERR_ENGINE_LIMIT);
            break;
        }
        ((int64_t *)iter.data)[0] = i;
        ((uint8_t *)cond_t.data)[0] = 1;
        s->in[0] = &iter;
        s->in[1] = &cond_t;
        for (uint32_t k = 0; k < s->carried; k++) {
            s->in[2 + k] = &s->state[k];
        }
        r = run_sub(c, g, s->in, s->carried + 2, s->res);
        if (!veil_ok(r)) {
            break;
        }
        cond = s->res[0].count > 0 && veil_tensor_get_i64(&s->res[0], 0) != 0;
        veil_tensor_free(&s->res[0]);
        for (uint32_t k = 0; k < s->carried; k++) {
            veil_tensor_free(&s->state[k]);
            s->state[k] = s->res[1 + k];
            memset(&s->res[1 + k], 0, sizeof(s->res[1 + k]));
        }
        for (uint32_t k = 0; k < s->scans && veil_ok(r); k++) {
            r = collect_push(&s->col[k], &s->res[1 + s->carried + k],
                             c->frame->graph->model->tensor_size_max);
        }
        free_all(s->res, s->carried + s->scans + 1);
    }
    veil_tensor_free(&iter);
    veil_tensor_free(&cond_t);
    return r;
}

static VEIL_RESULT loop_run(struct veil_op_ctx *c)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    struct loop_state s = {0};
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    s.carried = c->in_count - 2;
    s.scans = c->out_count - s.carried;
    s.state = calloc(s.carried + 1, sizeof(*s.state));
    s.res = calloc(g->output_count + 1, sizeof(*s.res));
    s.in = calloc(s.carried + 2, sizeof(*s.in));
    s.col = calloc(s.scans + 1, sizeof(*s.col));
    if (s.state == NULL || s.res == NULL || s.in == NULL || s.col == NULL) {
        goto out;
    }
    for (uint32_t k = 0; k < s.carried; k++) {
        r = veil_tensor_copy(c->in[2 + k], &s.state[k]);
        if (!veil_ok(r)) {
            goto out;
        }
    }
    r = loop_iterate(c, g, &s);
    for (uint32_t k = 0; veil_ok(r) && k < s.scans; k++) {
        int32_t dt = VEIL_DT_FLOAT;
        r = stack(s.col[k].t, s.col[k].n, 0, false, dt, c->frame->graph->model->tensor_size_max,
                  c->out[s.carried + k]);
    }
    if (veil_ok(r)) {
        for (uint32_t k = 0; k < s.carried; k++) {
            *c->out[k] = s.state[k];
            memset(&s.state[k], 0, sizeof(s.state[k]));
        }
    } else {
        for (uint32_t k = 0; k < s.scans; k++) {
            veil_tensor_free(c->out[s.carried + k]);
        }
    }
out:
    if (s.state != NULL) {
        free_all(s.state, s.carried);
    }
    if (s.col != NULL) {
        collect_free(s.col, s.scans);
    }
    free(s.state);
    free(s.res);
    free(s.in);
    return r;
}

/* ---- Scan (opset 9+) ---- */
struct scan_attrs {
    int64_t nscan;
    uint32_t nstate;
    uint32_t nout;
    uint32_t in_axis[VEIL_ENGINE_IO_COUNT_MAX];
    bool in_rev[VEIL_ENGINE_IO_COUNT_MAX];
    uint32_t out_axis[VEIL_ENGINE_IO_COUNT_MAX];
    bool out_rev[VEIL_ENGINE_IO_COUNT_MAX];
    int64_t len;
};

static VEIL_RESULT scan_attrs(const struct veil_op_ctx *c, struct scan_attrs *a)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    const int64_t *v;
    size_t n;

    ENSURE(g != NULL, VEIL_ERR_ENGINE_ATTR);
    ENSURE(c->opset >= 9, VEIL_ERR_ENGINE_UNSUPPORTED_OP); /* Scan-8 has sequence_lens */
    GUARD(veil_attr_int(c, "num_scan_inputs", 0, &a->nscan));
    ENSURE(a->nscan >= 1 && a->nscan <= (int64_t)c->in_count, VEIL_ERR_ENGINE_ATTR);
    a->nstate = c->in_count - (uint32_t)a->nscan;
    ENSURE(c->out_count >= a->nstate, VEIL_ERR_ENGINE_SHAPE);
    a->nout = c->out_count - a->nstate;
    ENSURE(g->input_count == c->in_count && g->output_count == c->out_count, VEIL_ERR_ENGINE_GRAPH);
    for (uint32_t k = 0; k < c->in_count; k++) {
        ENSURE(c->in[k] != NULL, VEIL_ERR_ENGINE_SHAPE);
    }
    GUARD(veil_attr_ints(c, "scan_input_axes", &v, &n));
    ENSURE(n == 0 || n == (size_t)a->nscan, VEIL_ERR_ENGINE_ATTR);
    a->len = -1;
    for (uint32_t k = 0; k < (uint32_t)a->nscan; k++) {
        const struct veil_tensor *x = c->in[a->nstate + k];
        ENSURE(x->rank >= 1, VEIL_ERR_ENGINE_SHAPE);
        GUARD(veil_op_axis(n ? v[k] : 0, x->rank, 0, &a->in_axis[k]));
        ENSURE(a->len < 0 || a->len == x->dims[a->in_axis[k]], VEIL_ERR_ENGINE_SHAPE);
        a->len = x->dims[a->in_axis[k]];
    }
    GUARD(veil_attr_ints(c, "scan_input_directions", &v, &n));
    ENSURE(n == 0 || n == (size_t)a->nscan, VEIL_ERR_ENGINE_ATTR);
    for (uint32_t k = 0; k < (uint32_t)a->nscan; k++) {
        a->in_rev[k] = n ? v[k] != 0 : false;
    }
    GUARD(veil_attr_ints(c, "scan_output_directions", &v, &n));
    ENSURE(n == 0 || n == a->nout, VEIL_ERR_ENGINE_ATTR);
    for (uint32_t k = 0; k < a->nout; k++) {
        a->out_rev[k] = n ? v[k] != 0 : false;
    }
    GUARD(veil_attr_ints(c, "scan_output_axes", &v, &n));
    ENSURE(n == 0 || n == a->nout, VEIL_ERR_ENGINE_ATTR);
    for (uint32_t k = 0; k < a->nout; k++) {
        int64_t ax = n ? v[k] : 0;
        ENSURE(ax >= -VEIL_ENGINE_RANK_MAX && ax < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_ATTR);
        a->out_axis[k] = (uint32_t)(ax < 0 ? 0 : ax); /* negative: resolved after the first step */
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT scan_shape(struct veil_op_ctx *c)
{
    struct scan_attrs *a = malloc(sizeof(*a));
    veil_result r;
    ENSURE(a != NULL, VEIL_ERR_NOMEM);
    r = scan_attrs(c, a);
    free(a);
    return r;
}

/* Slice i along ax of x, with that axis removed. */
static VEIL_RESULT take_slice(const struct veil_tensor *x, uint32_t ax, size_t i,
                              struct veil_tensor *out)
{
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t es = veil_dtype_size(x->dtype);
    size_t outer = veil_op_span(x, 0, ax);
    size_t inner = veil_op_span(x, ax + 1, x->rank) * es;
    size_t n = (size_t)x->dims[ax];

    for (uint32_t d = 0, s = 0; d < x->rank; d++) {
        if (d != ax) {
            dims[s++] = x->dims[d];
        }
    }
    GUARD(veil_tensor_shape(out, x->dtype, x->rank - 1, dims));
    GUARD(veil_tensor_alloc(out));
    for (size_t o = 0; o < outer && inner > 0; o++) {
        memcpy((uint8_t *)out->data + o * inner, (const uint8_t *)x->data + (o * n + i) * inner,
               inner);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT scan_step(struct veil_op_ctx *c, const struct scan_attrs *a, int64_t i,
                             struct loop_state *s, struct veil_tensor *slices)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    veil_result r = VEIL_RESULT_OK;

    for (uint32_t k = 0; k < (uint32_t)a->nscan && veil_ok(r); k++) {
        const struct veil_tensor *x = c->in[a->nstate + k];
        size_t at = a->in_rev[k] ? (size_t)(a->len - 1 - i) : (size_t)i;
        r = take_slice(x, a->in_axis[k], at, &slices[k]);
    }
    for (uint32_t k = 0; k < a->nstate; k++) {
        s->in[k] = &s->state[k];
    }
    for (uint32_t k = 0; k < (uint32_t)a->nscan; k++) {
        s->in[a->nstate + k] = &slices[k];
    }
    if (veil_ok(r)) {
        r = run_sub(c, g, s->in, c->in_count, s->res);
    }
    free_all(slices, (size_t)a->nscan);
    if (!veil_ok(r)) {
        return r;
    }
    for (uint32_t k = 0; k < a->nstate; k++) {
        veil_tensor_free(&s->state[k]);
        s->state[k] = s->res[k];
        memset(&s->res[k], 0, sizeof(s->res[k]));
    }
    for (uint32_t k = 0; k < a->nout && veil_ok(r); k++) {
        r = collect_push(&s->col[k], &s->res[a->nstate + k],
                         c->frame->graph->model->tensor_size_max);
    }
    free_all(s->res, c->out_count);
    return r;
}

static VEIL_RESULT scan_run(struct veil_op_ctx *c)
{
    struct scan_attrs *a = malloc(sizeof(*a));
    struct loop_state s = {0};
    struct veil_tensor *slices = NULL;
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    if (a == NULL) {
        return r;
    }
    r = scan_attrs(c, a);
    if (!veil_ok(r)) {
        free(a);
        return r;
    }
    r = veil_result_of(VEIL_ERR_NOMEM);
    s.state = calloc(a->nstate + 1, sizeof(*s.state));
    s.res = calloc(c->out_count + 1, sizeof(*s.res));
    s.in = calloc(c->in_count + 1, sizeof(*s.in));
    s.col = calloc(a->nout + 1, sizeof(*s.col));
    slices = calloc((size_t)a->nscan + 1, sizeof(*slices));
    if (s.state == NULL || s.res == NULL || s.in == NULL || s.col == NULL || slices == NULL) {
        goto out;
    }
    r = VEIL_RESULT_OK;
    for (uint32_t k = 0; k < a->nstate && veil_ok(r); k++) {
        r = veil_tensor_copy(c->in[k], &s.state[k]);
    }
    for (int64_t i = 0; i < a->len && veil_ok(r); i++) {
        r = scan_step(c, a, i, &s, slices);
    }
    for (uint32_t k = 0; k < a->nout && veil_ok(r); k++) {
        r = stack(s.col[k].t, s.col[k].n, a->out_axis[k], a->out_rev[k], VEIL_DT_FLOAT,
                  c->frame->graph->model->tensor_size_max, c->out[a->nstate + k]);
    }
    if (veil_ok(r)) {
        for (uint32_t k = 0; k < a->nstate; k++) {
            *c->out[k] = s.state[k];
            memset(&s.state[k], 0, sizeof(s.state[k]));
        }
    } else {
        for (uint32_t k = 0; k < a->nout; k++) {
            veil_tensor_free(c->out[a->nstate + k]);
        }
    }
out:
    if (s.state != NULL) {
        free_all(s.state, a->nstate);
    }
    if (s.col != NULL) {
        collect_free(s.col, a->nout);
    }
    free(s.state);
    free(s.res);
    free(s.in);
    free(slices);
    free(a);
    return r;
}

const struct veil_op veil_op_If = {"If", if_shape, if_run, true};
const struct veil_op veil_op_Loop = {"Loop", loop_shape, loop_run, true};
/* ---- Scan-8: a batch axis first, optional sequence_lens as input 0, directions ---- */
struct scan8 {
    uint32_t first;  /* index of the first state input (1: after sequence_lens) */
    uint32_t nstate; /* loop state variables */
    uint32_t nscan;  /* scan inputs */
    uint32_t nout;   /* scan outputs */
    int64_t batch;
    int64_t len;
};

static VEIL_RESULT scan8_attrs(const struct veil_op_ctx *c, struct scan8 *a)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    const struct veil_tensor *sl = veil_op_in(c, 0);
    int64_t nscan;

    ENSURE(g != NULL && c->in_count >= 2, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "num_scan_inputs", 0, &nscan));
    a->first = 1;
    ENSURE(nscan >= 1 && nscan <= (int64_t)(c->in_count - a->first), VEIL_ERR_ENGINE_ATTR);
    a->nscan = (uint32_t)nscan;
    a->nstate = c->in_count - a->first - a->nscan;
    ENSURE(c->out_count >= a->nstate, VEIL_ERR_ENGINE_SHAPE);
    a->nout = c->out_count - a->nstate;
    ENSURE(g->input_count == a->nstate + a->nscan && g->output_count == c->out_count,
           VEIL_ERR_ENGINE_GRAPH);
    for (uint32_t k = a->first; k < c->in_count; k++) {
        ENSURE(c->in[k] != NULL && c->in[k]->rank >= 1, VEIL_ERR_ENGINE_SHAPE);
        ENSURE(c->in[k]->dims[0] == c->in[a->first]->dims[0], VEIL_ERR_ENGINE_SHAPE);
    }
    a->batch = c->in[a->first]->dims[0];
    a->len = -1;
    for (uint32_t k = 0; k < a->nscan; k++) {
        const struct veil_tensor *x = c->in[a->first + a->nstate + k];
        ENSURE(x->rank >= 2 && (a->len < 0 || a->len == x->dims[1]), VEIL_ERR_ENGINE_SHAPE);
        a->len = x->dims[1];
    }
    /* per-batch lengths other than the full length would need padded outputs */
    for (size_t b = 0; sl != NULL && b < sl->count; b++) {
        ENSURE(veil_tensor_get_i64(sl, b) == a->len, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    }
    return VEIL_RESULT_OK;
}

/* One batch entry: states and scan inputs already sliced to that entry. */
static VEIL_RESULT scan8_batch(struct veil_op_ctx *c, const struct scan8 *a,
                               struct veil_tensor *state, const struct veil_tensor *scan,
                               struct loop_state *s, struct veil_tensor *slices)
{
    const struct veil_engine_graph *g = veil_attr_graph(c, "body");
    const int64_t *dirs;
    size_t ndirs;
    veil_result r = VEIL_RESULT_OK;

    GUARD(veil_attr_ints(c, "directions", &dirs, &ndirs));
    ENSURE(ndirs == 0 || ndirs == a->nscan, VEIL_ERR_ENGINE_ATTR);
    for (int64_t t = 0; t < a->len && veil_ok(r); t++) {
        for (uint32_t k = 0; k < a->nscan && veil_ok(r); k++) {
            size_t at = ndirs && dirs[k] ? (size_t)(a->len - 1 - t) : (size_t)t;
            r = take_slice(&scan[k], 0, at, &slices[k]);
        }
        for (uint32_t k = 0; k < a->nstate; k++) {
            s->in[k] = &state[k];
        }
        for (uint32_t k = 0; k < a->nscan; k++) {
            s->in[a->nstate + k] = &slices[k];
        }
        if (veil_ok(r)) {
            r = run_sub(c, g, s->in, a->nstate + a->nscan, s->res);
        }
        free_all(slices, a->nscan);
        if (!veil_ok(r)) {
            break;
        }
        for (uint32_t k = 0; k < a->nstate; k++) {
            veil_tensor_free(&state[k]);
            state[k] = s->res[k];
            memset(&s->res[k], 0, sizeof(s->res[k]));
        }
        for (uint32_t k = 0; k < a->nout && veil_ok(r); k++) {
            r = collect_push(&s->col[k], &s->res[a->nstate + k],
                             c->frame->graph->model->tensor_size_max);
        }
        free_all(s->res, c->out_count);
    }
    return r;
}

static VEIL_RESULT scan8_run(struct veil_op_ctx *c)
{
    struct scan8 a;
    struct loop_state s = {0};
    struct veil_tensor *state;
    struct veil_tensor *scan;
    struct veil_tensor *slices;
    struct collect *final;
    size_t size_max = c->frame->graph->model->tensor_size_max;
    veil_result r;

    GUARD(scan8_attrs(c, &a));
    state = calloc(a.nstate + 1, sizeof(*state));
    scan = calloc(a.nscan + 1, sizeof(*scan));
    slices = calloc(a.nscan + 1, sizeof(*slices));
    final = calloc(c->out_count + 1, sizeof(*final)); /* per output: one entry per batch */
    s.res = calloc(c->out_count + 1, sizeof(*s.res));
    s.in = calloc(a.nstate + a.nscan + 1, sizeof(*s.in));
    s.col = calloc(a.nout + 1, sizeof(*s.col));
    r = veil_result_of(VEIL_ERR_NOMEM);
    if (state == NULL || scan == NULL || slices == NULL || final == NULL || s.res == NULL ||
        s.in == NULL || s.col == NULL) {
        goto out;
    }
    r = VEIL_RESULT_OK;
    for (int64_t b = 0; b < a.batch && veil_ok(r); b++) {
        for (uint32_t k = 0; k < a.nstate && veil_ok(r); k++) {
            r = take_slice(c->in[a.first + k], 0, (size_t)b, &state[k]);
        }
        for (uint32_t k = 0; k < a.nscan && veil_ok(r); k++) {
            r = take_slice(c->in[a.first + a.nstate + k], 0, (size_t)b, &scan[k]);
        }
        if (veil_ok(r)) {
            r = scan8_batch(c, &a, state, scan, &s, slices);
        }
        for (uint32_t k = 0; k < a.nout && veil_ok(r); k++) {
            struct veil_tensor stacked = {0};
            r = stack(s.col[k].t, s.col[k].n, 0, false, VEIL_DT_FLOAT, size_max, &stacked);
            if (veil_ok(r)) {
                r = collect_push(&final[a.nstate + k], &stacked, size_max);
            }
            veil_tensor_free(&stacked);
            free_all(s.col[k].t, s.col[k].n);
            s.col[k].n = 0;
            s.col[k].bytes = 0;
        }
        for (uint32_t k = 0; k < a.nstate && veil_ok(r); k++) {
            r = collect_push(&final[k], &state[k], size_max);
        }
        free_all(state, a.nstate);
        free_all(scan, a.nscan);
    }
    for (uint32_t k = 0; k < c->out_count && veil_ok(r); k++) {
        r = stack(final[k].t, final[k].n, 0, false, VEIL_DT_FLOAT, size_max, c->out[k]);
    }
    if (!veil_ok(r)) {
        for (uint32_t k = 0; k < c->out_count; k++) {
            veil_tensor_free(c->out[k]);
        }
    }
out:
    if (final != NULL) {
        collect_free(final, c->out_count);
    }
    if (s.col != NULL) {
        collect_free(s.col, a.nout);
    }
    if (state != NULL) {
        free_all(state, a.nstate);
    }
    if (scan != NULL) {
        free_all(scan, a.nscan);
    }
    free(state);
    free(scan);
    free(slices);
    free(s.res);
    free(s.in);
    return r;
}

static VEIL_RESULT scan_any_shape(struct veil_op_ctx *c)
{
    struct scan8 a;
    if (c->opset < 9) {
        return scan8_attrs(c, &a);
    }
    return scan_shape(c);
}

static VEIL_RESULT scan_any_run(struct veil_op_ctx *c)
{
    return c->opset < 9 ? scan8_run(c) : scan_run(c);
}

const struct veil_op veil_op_Scan = {"Scan", scan_any_shape, scan_any_run, true};
