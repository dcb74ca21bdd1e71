/*
 * Static shape inference and memory planning for the main graph (veil_engine_plan).
 *
 * When every model input has a static shape, one planning run on zero inputs infers the type and
 * shape of every value (the operators' shape functions, with data-dependent shapes taken from
 * the actual computation). Each intermediate then gets a lifetime [producer, last reader] in
 * topological positions, and a greedy best-fit places the largest first at the lowest offset
 * that does not overlap any placed intermediate whose lifetime intersects its own. Runs then put
 * every intermediate whose run-time shape matches the plan into one arena; anything else (other
 * input shapes, data-dependent sizes, control flow) falls back to the buffer pool. Each input
 * read by a node is placed too, alive from before the first node to its last reader: room a
 * caller may write the input in (veil_engine_run_input_room). It nearly always fits in room the
 * packing leaves (the real models' arenas did not grow), and it saves holding the input beside
 * the arena.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"

#define PLAN_ALIGN 64

struct interval {
    uint32_t value;
    uint32_t start;
    uint32_t end;
    size_t size;
    size_t offset;
    size_t min; /* a kernel scratch: the least its kernel works well with (0: all of size) */
};

static int by_size_desc(const void *a, const void *b)
{
    const struct interval *x = a;
    const struct interval *y = b;
    if (x->size != y->size) {
        return x->size > y->size ? -1 : 1;
    }
    return (x->value > y->value) - (x->value < y->value);
}

static int by_offset(const void *a, const void *b)
{
    const struct interval *const *x = a;
    const struct interval *const *y = b;
    return ((*x)->offset > (*y)->offset) - ((*x)->offset < (*y)->offset);
}

void veil_plan_free(struct veil_engine_plan *p)
{
    if (p == NULL) {
        return;
    }
    free(p->offset);
    free(p->shape_at);
    free(p->shape);
    free(p->scratch_offset);
    free(p->scratch_size);
    free(p);
}

/* Keeps the recorded shapes of the values veil_plan_shape is asked about (planned, graph input,
 * graph output: veil_engine_plan_live_max counts those), in a compact array. */
static VEIL_RESULT keep_shapes(const struct veil_engine_graph *g, struct veil_engine_plan *p)
{
    uint32_t n = 0;
    struct veil_tensor *kept;

    p->shape_at = malloc(((size_t)g->value_count + 1) * sizeof(*p->shape_at));
    ENSURE(p->shape_at != NULL, VEIL_ERR_NOMEM);
    for (uint32_t v = 0; v < g->value_count; v++) {
        const struct veil_engine_value *val = &g->values[v];
        bool keep = p->offset[v] != SIZE_MAX || val->kind == VEIL_VALUE_INPUT ||
                    (val->kind == VEIL_VALUE_NODE && val->last_use == VEIL_LAST_NEVER);
        p->shape_at[v] = keep ? n++ : UINT32_MAX;
    }
    kept = malloc(((size_t)n + 1) * sizeof(*kept));
    ENSURE(kept != NULL, VEIL_ERR_NOMEM);
    for (uint32_t v = 0; v < g->value_count; v++) {
        if (p->shape_at[v] != UINT32_MAX) {
            kept[p->shape_at[v]] = p->shape[v];
        }
    }
    free(p->shape);
    p->shape = kept;
    return VEIL_RESULT_OK;
}

/* The placed intervals among iv[0..n) whose lifetime meets [start, end], by offset, into live;
 * returns their count. */
static size_t live_at(const struct interval *iv, size_t n, uint32_t start, uint32_t end,
                      const struct interval **live)
{
    size_t nl = 0;
    for (size_t j = 0; j < n; j++) {
        if (!(iv[j].end < start || end < iv[j].start)) {
            live[nl++] = &iv[j];
        }
    }
    qsort(live, nl, sizeof(*live), by_offset);
    return nl;
}

/* Each node's kernel scratch (iv[nv..n), one node each, sorted by size) beside the intermediates
 * iv[0..nv): in the largest gap the intermediates alive at its node leave within their part of
 * the arena (values) when all of it fits there; else, when that gap holds at least its min, in
 * the gap, cut to it (the kernel then works in smaller tiles: veil_pool_scratch_budget); else
 * after the last of them, cut to its min, growing the arena by as little as its kernel allows. */
static VEIL_RESULT place_scratch(struct interval *iv, size_t nv, size_t n, size_t values,
                                 size_t *arena)
{
    const struct interval **live = malloc((n + 1) * sizeof(*live));
    *arena = values;
    ENSURE(live != NULL, VEIL_ERR_NOMEM);
    for (size_t i = nv; i < n; i++) {
        size_t nl = live_at(iv, nv, iv[i].start, iv[i].end, live);
        size_t off = 0;
        size_t gap_off = 0;
        size_t gap = 0;
        for (size_t j = 0; j <= nl; j++) {
            size_t next = j < nl ? live[j]->offset : values;
            if (next > off && next - off > gap) {
                gap = next - off;
                gap_off = off;
            }
            if (j < nl) {
                size_t end = live[j]->offset + live[j]->size;
                off = end > off ? end : off;
            }
        }
        gap = gap / PLAN_ALIGN * PLAN_ALIGN;
        if (gap >= iv[i].size) {
            iv[i].offset = gap_off;
        } else if (iv[i].min > 0 && iv[i].min < iv[i].size && gap >= iv[i].min) {
            iv[i].offset = gap_off; /* cut to the gap */
            iv[i].size = gap;
        } else {
            /* after the last intermediate alive then, past the values' part: cut to its least
             * (or to the room up to the values' end, if more), the arena grows by the rest */
            size_t tail = values > off ? (values - off) / PLAN_ALIGN * PLAN_ALIGN : 0;
            if (iv[i].min > 0 && iv[i].min < iv[i].size) {
                size_t cut = tail > iv[i].min ? tail : iv[i].min;
                iv[i].size = cut < iv[i].size ? cut : iv[i].size;
            }
            iv[i].offset = off;
        }
        *arena = iv[i].offset + iv[i].size > *arena ? iv[i].offset + iv[i].size : *arena;
    }
    free(live);
    return VEIL_RESULT_OK;
}

/* Greedy best-fit offsets for the intervals (sorted by size, largest first). */
static VEIL_RESULT place(struct interval *iv, size_t n, size_t *arena)
{
    const struct interval **live = malloc((n + 1) * sizeof(*live));
    *arena = 0;
    ENSURE(live != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        size_t nl = live_at(iv, i, iv[i].start, iv[i].end, live);
        size_t off = 0;
        for (size_t j = 0; j < nl; j++) {
            if (live[j]->offset >= off + iv[i].size) {
                break; /* the gap before this one fits */
            }
            size_t end = live[j]->offset + live[j]->size;
            off = end > off ? end : off;
        }
        iv[i].offset = off;
        *arena = off + iv[i].size > *arena ? off + iv[i].size : *arena;
    }
    free(live);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT zero_inputs(const struct veil_engine_model *m, struct veil_tensor *in)
{
    for (size_t k = 0; k < veil_engine_input_count(m); k++) {
        int32_t dtype;
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        veil_engine_input_info(m, k, &dtype, &rank, dims);
        ENSURE(dtype != 0, VEIL_ERR_ENGINE_INPUT);
        for (uint32_t d = 0; d < rank; d++) {
            ENSURE(dims[d] >= 0, VEIL_ERR_ENGINE_INPUT); /* symbolic: nothing to plan for */
        }
        GUARD(veil_tensor_shape(&in[k], dtype, rank, dims));
        GUARD(veil_tensor_alloc(&in[k]));
    }
    return VEIL_RESULT_OK;
}

/* Lifetimes of the intermediates that can live in the arena. */
static VEIL_RESULT intervals(const struct veil_engine_graph *g, const struct veil_tensor *rec,
                             const size_t *scratch, const size_t *scratch_min, struct interval *iv,
                             size_t *n, size_t *nv)
{
    uint32_t *pos = calloc(g->node_count + 1, sizeof(*pos));
    ENSURE(pos != NULL, VEIL_ERR_NOMEM);
    for (uint32_t p = 0; p < g->node_count; p++) {
        pos[g->order[p]] = p;
    }
    *n = 0;
    /* each input read by a node, from before the first node to its last reader: a caller that
     * writes it there (veil_engine_run_input_room) does not hold it beside the arena */
    for (uint32_t k = 0; k < g->input_count; k++) {
        uint32_t v = g->inputs[k];
        if (rec[v].dtype == 0 || rec[v].size == 0 || rec[v].size > SIZE_MAX - PLAN_ALIGN ||
            g->values[v].kind != VEIL_VALUE_INPUT || g->values[v].last_use == VEIL_LAST_NEVER) {
            continue;
        }
        iv[*n].value = v;
        iv[*n].start = 0;
        iv[*n].end = g->values[v].last_use;
        iv[*n].size = (rec[v].size + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
        (*n)++;
    }
    for (uint32_t v = 0; v < g->value_count; v++) {
        const struct veil_engine_value *val = &g->values[v];
        if (val->kind != VEIL_VALUE_NODE || val->producer < 0 || rec[v].dtype == 0 ||
            rec[v].size == 0 || val->last_use == VEIL_LAST_NEVER ||
            g->nodes[val->producer].op->own_alloc) {
            continue;
        }
        iv[*n].value = v;
        iv[*n].start = pos[val->producer];
        iv[*n].end = val->last_use;
        iv[*n].size = (rec[v].size + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
        (*n)++;
    }
    *nv = *n;
    /* each node's kernel scratch, alive during that node only: placed beside what is live then
     * (often in room the packing leaves) rather than held apart for the whole run */
    for (uint32_t p = 0; scratch != NULL && p < g->node_count; p++) {
        if (scratch[p] == 0 || scratch[p] > SIZE_MAX - PLAN_ALIGN) {
            continue;
        }
        iv[*n].value = g->value_count + p;
        iv[*n].start = p;
        iv[*n].end = p;
        iv[*n].size = (scratch[p] + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
        iv[*n].min = scratch_min != NULL && scratch_min[p] < scratch[p]
                         ? (scratch_min[p] + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN
                         : 0;
        (*n)++;
    }
    free(pos);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT build_plan(const struct veil_engine_graph *g, struct veil_tensor *rec,
                              const size_t *scratch, const size_t *scratch_min,
                              struct veil_engine_plan *p)
{
    struct interval *iv =
        calloc((size_t)g->value_count + g->input_count + g->node_count + 1, sizeof(*iv));
    size_t n = 0;
    size_t nv = 0;
    veil_result r;

    ENSURE(iv != NULL, VEIL_ERR_NOMEM);
    r = intervals(g, rec, scratch, scratch_min, iv, &n, &nv);
    if (veil_ok(r)) {
        /* the intermediates first, packed as without scratch; then each node's scratch in the
         * room they leave at its position, or above them */
        qsort(iv, nv, sizeof(*iv), by_size_desc);
        qsort(iv + nv, n - nv, sizeof(*iv), by_size_desc);
        r = place(iv, nv, &p->values_arena_size);
    }
    if (veil_ok(r)) {
        r = place_scratch(iv, nv, n, p->values_arena_size, &p->arena_size);
    }
    p->planned_count = 0;
    for (size_t i = 0; veil_ok(r) && i < n; i++) {
        if (iv[i].value < g->value_count) {
            p->offset[iv[i].value] = iv[i].offset;
            p->planned_count += g->values[iv[i].value].kind == VEIL_VALUE_NODE;
        } else {
            p->scratch_offset[iv[i].value - g->value_count] = iv[i].offset;
            p->scratch_size[iv[i].value - g->value_count] = iv[i].size;
        }
    }
    free(iv);
    return r;
}

/* Whether any value could live in the arena, judged from the graph alone (the planning run's
 * shapes can only remove candidates). Without one a plan would be empty, and its run (one
 * inference on zero inputs: for a 1 GiB Add, 0.7-0.9 s and the inputs and outputs allocated
 * once more) buys nothing. */
static bool has_plannable(const struct veil_engine_graph *g)
{
    for (uint32_t v = 0; v < g->value_count; v++) {
        const struct veil_engine_value *val = &g->values[v];
        if (val->kind == VEIL_VALUE_NODE && val->producer >= 0 &&
            val->last_use != VEIL_LAST_NEVER && !g->nodes[val->producer].op->own_alloc &&
            !g->nodes[val->producer].has_constant) {
            return true;
        }
    }
    return false;
}

VEIL_RESULT veil_engine_plan(struct veil_engine_model *m, struct veil_engine_diag *diag)
{
    return veil_engine_plan_for(m, NULL, diag);
}

VEIL_RESULT veil_engine_plan_for(struct veil_engine_model *m, const struct veil_tensor *given,
                                 struct veil_engine_diag *diag)
{
    const struct veil_engine_graph *g = m->main;
    size_t nin = g->input_count;
    size_t nout = g->output_count;
    struct veil_tensor *in = calloc(nin + 1, sizeof(*in));
    struct veil_tensor *out = calloc(nout + 1, sizeof(*out));
    const struct veil_tensor **inp = calloc(nin + 1, sizeof(*inp));
    struct veil_engine_plan *p = calloc(1, sizeof(*p));
    struct veil_engine_pool pool = {0};
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    if (!has_plannable(g)) {
        free(in);
        free(out);
        free(inp);
        free(p);
        BAIL(VEIL_ERR_ENGINE_NOTHING_TO_PLAN);
    }
    if (in == NULL || out == NULL || inp == NULL || p == NULL) {
        goto out;
    }
    /* the planning run's peak is its live set, then the arena's (and, with the heap policy of
     * base/heap.h, which the calling program chooses, no more than that) */
    pool.keep_none = true;
    p->offset = malloc((g->value_count + 1) * sizeof(*p->offset));
    p->shape = calloc(g->value_count + 1, sizeof(*p->shape));
    p->scratch_offset = malloc((g->node_count + 1) * sizeof(*p->scratch_offset));
    p->scratch_size = calloc(g->node_count + 1, sizeof(*p->scratch_size));
    pool.scratch_record = calloc(g->node_count + 1, sizeof(*pool.scratch_record));
    pool.scratch_min_record = calloc(g->node_count + 1, sizeof(*pool.scratch_min_record));
    if (p->offset == NULL || p->shape == NULL || p->scratch_offset == NULL ||
        p->scratch_size == NULL || pool.scratch_record == NULL || pool.scratch_min_record == NULL) {
        goto out;
    }
    for (uint32_t v = 0; v < g->value_count; v++) {
        p->offset[v] = SIZE_MAX;
    }
    for (uint32_t k = 0; k < g->node_count; k++) {
        p->scratch_offset[k] = SIZE_MAX;
    }
    r = given != NULL ? VEIL_RESULT_OK : zero_inputs(m, in);
    for (size_t k = 0; k < nin; k++) {
        inp[k] = given != NULL ? &given[k] : &in[k];
    }
    if (veil_ok(r)) {
        r = veil_graph_run_main(g, &pool, m->threads > 0 ? m->threads : 1, inp, (uint32_t)nin, out,
                                diag, NULL, NULL, p->shape, NULL);
    }
    if (veil_ok(r)) {
        for (size_t k = 0; k < nout; k++) {
            veil_tensor_free(&out[k]);
        }
        for (size_t k = 0; k < nin; k++) { /* for veil_engine_plan_live_max */
            p->shape[g->inputs[k]] = *inp[k];
            p->shape[g->inputs[k]].data = NULL;
            p->shape[g->inputs[k]].borrowed = true;
        }
        r = build_plan(g, p->shape, pool.scratch_record, pool.scratch_min_record, p);
    }
    if (veil_ok(r)) {
        r = keep_shapes(g, p);
    }
    if (veil_ok(r)) {
        veil_plan_free(m->plan);
        m->plan = p;
        p = NULL;
    }
out:
    if (in != NULL) {
        for (size_t k = 0; k < nin; k++) {
            veil_tensor_free(&in[k]);
        }
    }
    free(pool.scratch_record);
    pool.scratch_record = NULL;
    free(pool.scratch_min_record);
    pool.scratch_min_record = NULL;
    veil_pool_free(&pool);
    veil_plan_free(p);
    free(in);
    free(out);
    free(inp);
    return r;
}

VEIL_RESULT veil_engine_plan_info(const struct veil_engine_model *m, size_t *arena_size,
                                  size_t *planned, size_t *total_size)
{
    const struct veil_engine_graph *g = m->main;
    ENSURE(m->plan != NULL, VEIL_ERR_USAGE);
    *arena_size = m->plan->arena_size;
    *planned = m->plan->planned_count;
    *total_size = 0;
    for (uint32_t v = 0; v < g->value_count; v++) {
        if (m->plan->offset[v] != SIZE_MAX && g->values[v].kind == VEIL_VALUE_NODE) {
            *total_size += veil_plan_shape(m->plan, v)->size;
        }
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_engine_plan_values_arena(const struct veil_engine_model *m, size_t *size)
{
    ENSURE(m->plan != NULL, VEIL_ERR_USAGE);
    *size = m->plan->values_arena_size;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_engine_plan_live_max(const struct veil_engine_model *m, size_t *live_max)
{
    const struct veil_engine_graph *g = m->main;
    size_t *delta;
    size_t live = 0;
    uint32_t last = g->node_count > 0 ? g->node_count - 1 : 0;

    ENSURE(m->plan != NULL, VEIL_ERR_USAGE);
    *live_max = 0;
    /* sizes entering at their producer's position, leaving after their last reader's */
    delta = calloc((size_t)g->node_count + 2, 2 * sizeof(*delta));
    uint32_t *pos = calloc((size_t)g->node_count + 1, sizeof(*pos));
    if (delta == NULL || pos == NULL) {
        free(delta);
        free(pos);
        BAIL(VEIL_ERR_NOMEM);
    }
    for (uint32_t p = 0; p < g->node_count; p++) {
        pos[g->order[p]] = p;
    }
    for (uint32_t v = 0; v < g->value_count; v++) {
        const struct veil_engine_value *val = &g->values[v];
        const struct veil_tensor *shape = veil_plan_shape(m->plan, v);
        size_t size = shape != NULL && shape->dtype != 0 ? shape->size : 0;
        uint32_t start;
        uint32_t end = val->last_use == VEIL_LAST_NEVER ? last : val->last_use;
        if (val->kind == VEIL_VALUE_INPUT) {
            start = 0; /* given before the first node */
        } else if (val->kind == VEIL_VALUE_NODE && val->producer >= 0 &&
                   (m->plan->offset[v] != SIZE_MAX || val->last_use == VEIL_LAST_NEVER) &&
                   !g->nodes[val->producer].has_constant) {
            start = pos[val->producer]; /* planned, or a graph output */
        } else {
            continue; /* weights, views, values outside the plan */
        }
        if (size == 0 || end > last || start > end) {
            continue;
        }
        delta[2 * start] += size;
        delta[2 * ((size_t)end + 1) + 1] += size;
    }
    for (size_t p = 0; p <= g->node_count; p++) {
        live += delta[2 * p];
        live -= delta[2 * p + 1];
        *live_max = live > *live_max ? live : *live_max;
    }
    free(delta);
    free(pos);
    return VEIL_RESULT_OK;
}
