/*
 * The executor: runs a built graph in topological order. Per node: shape inference on the actual
 * inputs (dynamic shapes are resolved here), output buffers from the pool, the kernel, then every
 * intermediate whose last reader this was goes back to the pool for the next nodes to reuse.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/graph.h"
#include "engine/ops.h"

#define POOL_KEEP_MAX 64

/* Pooled buffers may hold Constant weights or activations: wiped before they are freed. */
void veil_pool_free(struct veil_engine_pool *p)
{
    for (size_t i = 0; i < p->count; i++) {
        OPENSSL_cleanse(p->ptr[i], p->size[i]);
        free(p->ptr[i]);
    }
    free(p->ptr);
    free(p->size);
    if (p->scratch != NULL) {
        OPENSSL_cleanse(p->scratch, p->scratch_size);
        free(p->scratch);
    }
    memset(p, 0, sizeof(*p));
}

static void pool_give(struct veil_engine_pool *p, struct veil_tensor *t);

static void pool_drop(struct veil_engine_pool *p, size_t i)
{
    OPENSSL_cleanse(p->ptr[i], p->size[i]);
    free(p->ptr[i]);
    p->count--;
    p->ptr[i] = p->ptr[p->count];
    p->size[i] = p->size[p->count];
}

/* Best fit among pooled buffers no more than twice the request (plus a page); zeroed unless the
 * kernel writes every element (zero false). On a miss, pooled buffers smaller than the request
 * (which cannot serve it) are wiped and freed, largest first, until they add up to the request:
 * idle memory is handed back to malloc for the new buffer instead of being kept beside it, so the
 * pool does not accumulate every size a run has seen. */
static VEIL_RESULT pool_take(struct veil_engine_pool *p, struct veil_tensor *t, bool zero)
{
    size_t need = t->size > 0 ? t->size : 1;
    size_t best = SIZE_MAX;

    for (size_t i = 0; i < p->count; i++) {
        if (p->size[i] >= need && p->size[i] - need <= need + 4096 &&
            (best == SIZE_MAX || p->size[i] < p->size[best])) {
            best = i;
        }
    }
    if (best == SIZE_MAX) {
        size_t freed = 0;
        while (freed < need) {
            size_t big = SIZE_MAX;
            for (size_t i = 0; i < p->count; i++) {
                if (p->size[i] < need && (big == SIZE_MAX || p->size[i] > p->size[big])) {
                    big = i;
                }
            }
            if (big == SIZE_MAX) {
                break;
            }
            freed += p->size[big];
            pool_drop(p, big);
        }
        return veil_tensor_alloc(t);
    }
    t->data = p->ptr[best];
    t->borrowed = false;
    /* all of it: the tail must not keep an earlier tensor's bytes once the size is forgotten */
    if (zero) {
        memset(t->data, 0, p->size[best]);
    } else if (p->size[best] > t->size) {
        memset((uint8_t *)t->data + t->size, 0, p->size[best] - t->size);
    }
    p->count--;
    p->ptr[best] = p->ptr[p->count];
    p->size[best] = p->size[p->count];
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_pool_take(struct veil_engine_pool *p, struct veil_tensor *t, bool zero)
{
    return pool_take(p, t, zero);
}

void veil_pool_give(struct veil_engine_pool *p, struct veil_tensor *t)
{
    pool_give(p, t);
}

/* The pool's one scratch buffer, grown to the largest request (so memory is the largest im2col,
 * not the sum of all sizes seen); a second concurrent request gets a pooled buffer. */
VEIL_RESULT veil_pool_take_scratch(struct veil_engine_pool *p, size_t size, void **out)
{
    struct veil_tensor t = {0};
    size = size > 0 ? size : 1;
    p->scratch_seen = size > p->scratch_seen ? size : p->scratch_seen;
    if (!p->node_scratch_busy && p->node_scratch != NULL && size <= p->node_scratch_size) {
        p->node_scratch_busy = true;
        *out = p->node_scratch;
        return VEIL_RESULT_OK;
    }
    if (!p->scratch_busy) {
        if (p->scratch_size < size) {
            /* the old one goes first: never both at once */
            if (p->scratch != NULL) {
                OPENSSL_cleanse(p->scratch, p->scratch_size);
                free(p->scratch);
                p->scratch = NULL;
                p->scratch_size = 0;
            }
            p->scratch = malloc(size);
            ENSURE(p->scratch != NULL, VEIL_ERR_NOMEM);
            p->scratch_size = size;
        }
        p->scratch_busy = true;
        *out = p->scratch;
        return VEIL_RESULT_OK;
    }
    t.size = size;
    GUARD(pool_take(p, &t, false));
    *out = t.data;
    return VEIL_RESULT_OK;
}

size_t veil_pool_scratch_budget(struct veil_engine_pool *p, size_t dflt, size_t min)
{
    p->scratch_min_seen = min > p->scratch_min_seen ? min : p->scratch_min_seen;
    if (!p->node_scratch_busy && p->node_scratch != NULL && p->node_scratch_size < dflt) {
        return p->node_scratch_size;
    }
    return dflt;
}

void veil_pool_give_scratch(struct veil_engine_pool *p, void *ptr, size_t size)
{
    struct veil_tensor t = {0};
    if (ptr != NULL && ptr == p->node_scratch) {
        p->node_scratch_busy = false;
        return;
    }
    if (ptr == p->scratch) {
        p->scratch_busy = false;
        return;
    }
    t.data = ptr;
    t.size = size > 0 ? size : 1;
    pool_give(p, &t);
}

static void pool_give(struct veil_engine_pool *p, struct veil_tensor *t)
{
    if (t->borrowed || t->data == NULL) {
        veil_tensor_free(t);
        return;
    }
    if (p->count == p->cap && p->cap < POOL_KEEP_MAX && !p->keep_none) {
        size_t cap = p->cap == 0 ? 8 : p->cap * 2;
        void **np = realloc(p->ptr, cap * sizeof(*np));
        if (np != NULL) {
            p->ptr = np;
            size_t *ns = realloc(p->size, cap * sizeof(*ns));
            if (ns != NULL) {
                p->size = ns;
                p->cap = cap;
            }
        }
    }
    if (p->count < p->cap) {
        p->ptr[p->count] = t->data;
        p->size[p->count] = t->size > 0 ? t->size : 1;
        p->count++;
        t->data = NULL;
    } else {
        OPENSSL_cleanse(t->data, t->size);
    }
    veil_tensor_free(t);
}

__attribute__((format(printf, 2, 3))) static void diag_set(struct veil_engine_diag *d,
                                                           const char *fmt, ...)
{
    va_list ap;
    if (d == NULL || d->what[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(d->what, sizeof(d->what), fmt, ap);
    va_end(ap);
}

/* Places a planned intermediate in the arena when its run-time shape is the planned one. */
static bool arena_take(const struct veil_engine_frame *f, int32_t v, struct veil_tensor *t,
                       bool zero)
{
    const struct veil_tensor *want;
    if (f->arena == NULL || v == VEIL_NO_VALUE || f->plan->offset[v] == SIZE_MAX) {
        return false;
    }
    want = veil_plan_shape(f->plan, (uint32_t)v);
    if (want->dtype != t->dtype || !veil_tensor_same_shape(want, t)) {
        return false;
    }
    t->data = f->arena + f->plan->offset[v];
    t->borrowed = true;
    if (zero && t->size > 0) {
        memset(t->data, 0, t->size);
    }
    return true;
}

/* Value v of the frame's graph: its frame slot, or the model's tensor (veil_graph_fixed). */
static const struct veil_tensor *frame_value(const struct veil_engine_frame *f, uint32_t v)
{
    uint32_t s = f->graph->slot[v];
    return s != VEIL_NO_SLOT ? &f->vals[s] : veil_graph_fixed(f->graph, v);
}

static VEIL_RESULT run_node(struct veil_engine_frame *f, const struct veil_engine_node *n,
                            const struct veil_tensor **in, struct veil_tensor **out,
                            struct veil_tensor *scratch)
{
    struct veil_op_ctx c = {0};
    veil_result r;

    for (uint32_t k = 0; k < n->in_count; k++) {
        in[k] = n->in[k] == VEIL_NO_VALUE ? NULL : frame_value(f, (uint32_t)n->in[k]);
    }
    if (n->has_constant) {
        /* its output has no slot (graph.h): readers read n->constant in place */
        ENSURE(n->constant->size <= f->graph->model->tensor_size_max, VEIL_ERR_ENGINE_LIMIT);
        if (f->record != NULL && n->out[0] != VEIL_NO_VALUE) {
            veil_tensor_view(n->constant, &f->record[n->out[0]]);
            f->record[n->out[0]].data = NULL;
        }
        return VEIL_RESULT_OK;
    }
    for (uint32_t k = 0; k < n->out_count; k++) {
        out[k] = n->out[k] == VEIL_NO_VALUE ? &scratch[k] : &f->vals[f->graph->slot[n->out[k]]];
        VEIL_ASSERT(out[k]->data == NULL);
    }
    c.node = n;
    c.frame = f;
    c.opset = f->graph->model->opset;
    c.in_count = n->in_count;
    if (n->fused) {
        in[1] = n->x->fused_w;
        in[2] = n->x->fused_b;
        c.in_count = 3;
    }
    c.in = in;
    c.out_count = n->out_count;
    c.out = out;
    r = n->op->shape(&c);
    for (uint32_t k = 0; k < n->out_count && veil_ok(r); k++) {
        if (out[k]->size > f->graph->model->tensor_size_max) {
            r = veil_result_of(VEIL_ERR_ENGINE_LIMIT);
        }
    }
    if (veil_ok(r) && f->record != NULL) {
        for (uint32_t k = 0; k < n->out_count; k++) {
            if (n->out[k] != VEIL_NO_VALUE) {
                f->record[n->out[k]] = *out[k];
                f->record[n->out[k]].data = NULL;
            }
        }
    }
    if (veil_ok(r) && !n->op->own_alloc) {
        for (uint32_t k = 0; k < n->out_count && veil_ok(r); k++) {
            bool zero = !n->writes_all;
            if (!arena_take(f, n->out[k], out[k], zero)) {
                r = pool_take(f->pool, out[k], zero);
            }
        }
    }
    if (veil_ok(r)) {
        r = n->hswish ? veil_op_hard_swish_run(&c, n->x->hs_x, n->x->hs) : n->op->run(&c);
    }
    return r;
}

static VEIL_RESULT frame_bind(struct veil_engine_frame *f, const struct veil_tensor *const *inputs,
                              uint32_t input_count)
{
    const struct veil_engine_graph *g = f->graph;

    ENSURE(input_count == g->input_count, VEIL_ERR_ENGINE_INPUT);
    for (uint32_t i = 0; i < g->value_count; i++) {
        const struct veil_engine_value *v = &g->values[i];
        if (g->slot[i] == VEIL_NO_SLOT) {
            continue; /* read in place */
        }
        if (v->kind == VEIL_VALUE_INITIALIZER) {
            veil_tensor_view(v->init, &f->vals[g->slot[i]]);
        } else if (v->kind == VEIL_VALUE_OUTER) {
            VEIL_ASSERT(f->parent != NULL);
            veil_tensor_view(frame_value(f->parent, v->outer), &f->vals[g->slot[i]]);
        }
    }
    for (uint32_t i = 0; i < input_count; i++) {
        ENSURE(inputs[i] != NULL, VEIL_ERR_ENGINE_INPUT);
        veil_tensor_view(inputs[i], &f->vals[g->slot[g->inputs[i]]]);
    }
    return VEIL_RESULT_OK;
}

static void frame_release(struct veil_engine_frame *f, uint32_t pos)
{
    const struct veil_engine_graph *g = f->graph;

    for (uint32_t i = g->release_at[pos]; i < g->release_at[pos + 1]; i++) {
        struct veil_tensor *t = &f->vals[g->release[i]];
        if (t->borrowed) {
            t->data = NULL; /* a view (the arena): nothing to give back, nobody reads it again */
        } else {
            pool_give(f->pool, t);
        }
    }
}

/* Argument arrays of up to this many entries live on the stack (every node of the real models). */
#define IO_STACK 8

static VEIL_RESULT frame_run(struct veil_engine_frame *f)
{
    const struct veil_engine_graph *g = f->graph;
    size_t io = g->io_max;
    const struct veil_tensor *in_stack[IO_STACK];
    struct veil_tensor *out_stack[IO_STACK];
    struct veil_tensor scratch_stack[IO_STACK];
    const struct veil_tensor **in = in_stack;
    struct veil_tensor **out = out_stack;
    struct veil_tensor *scratch = scratch_stack;
    veil_result r = VEIL_RESULT_OK;

    if (io > IO_STACK) {
        in = calloc(io, sizeof(*in));
        out = calloc(io, sizeof(*out));
        scratch = calloc(io, sizeof(*scratch));
        if (in == NULL || out == NULL || scratch == NULL) {
            r = veil_result_of(VEIL_ERR_NOMEM);
            goto out_free;
        }
    } else {
        memset(scratch_stack, 0, sizeof(scratch_stack));
    }
    for (uint32_t pos = 0; pos < g->node_count && veil_ok(r); pos++) {
        const struct veil_engine_node *n = &g->nodes[g->order[pos]];
        if (n->skip) {
            frame_release(f, pos); /* folded into an earlier Conv */
            continue;
        }
        /* the main graph's planned run: the node's scratch in the arena; the planning run:
         * record the scratch the node asks for (subgraphs run within their node count to it) */
        if (f->arena != NULL && f->plan->scratch_offset != NULL &&
            f->plan->scratch_offset[pos] != SIZE_MAX) {
            f->pool->node_scratch = f->arena + f->plan->scratch_offset[pos];
            f->pool->node_scratch_size = f->plan->scratch_size[pos];
        }
        if (f->record != NULL) {
            f->pool->scratch_seen = 0;
            f->pool->scratch_min_seen = 0;
        }
        r = run_node(f, n, in, out, scratch);
        if (f->record != NULL && f->pool->scratch_record != NULL) {
            f->pool->scratch_record[pos] = f->pool->scratch_seen;
        }
        if (f->record != NULL && f->pool->scratch_min_record != NULL) {
            f->pool->scratch_min_record[pos] = f->pool->scratch_min_seen;
        }
        if (f->arena != NULL) {
            f->pool->node_scratch = NULL;
            f->pool->node_scratch_size = 0;
            f->pool->node_scratch_busy = false;
        }
        for (uint32_t k = 0; k < n->out_count; k++) {
            if (n->out[k] == VEIL_NO_VALUE) { /* only these used scratch[k] */
                pool_give(f->pool, &scratch[k]);
            }
        }
        if (!veil_ok(r)) {
            diag_set(f->diag, "node %u (%.64s '%.64s'): %s", n->index, n->op->name,
                     n->name != NULL ? n->name : "", veil_strerror(r.code));
            break;
        }
        frame_release(f, pos);
    }
out_free:
    if (in != in_stack) {
        free(in);
        free(out);
        free(scratch);
    }
    return r;
}

static VEIL_RESULT graph_run(struct veil_engine_frame f, const struct veil_tensor *const *inputs,
                             uint32_t input_count, struct veil_tensor *outputs);

VEIL_RESULT veil_graph_run(const struct veil_engine_graph *g,
                           const struct veil_engine_frame *parent, struct veil_engine_pool *pool,
                           unsigned threads, const struct veil_tensor *const *inputs,
                           uint32_t input_count, struct veil_tensor *outputs,
                           struct veil_engine_diag *diag)
{
    struct veil_engine_frame f = {0};

    f.graph = g;
    f.parent = parent;
    f.pool = pool;
    f.threads = threads;
    f.diag = diag;
    return graph_run(f, inputs, input_count, outputs);
}

VEIL_RESULT veil_graph_run_main(const struct veil_engine_graph *g, struct veil_engine_pool *pool,
                                unsigned threads, const struct veil_tensor *const *inputs,
                                uint32_t input_count, struct veil_tensor *outputs,
                                struct veil_engine_diag *diag, const struct veil_engine_plan *plan,
                                uint8_t *arena, struct veil_tensor *record,
                                struct veil_tensor *vals)
{
    struct veil_engine_frame f = {0};
    veil_result r;

    f.graph = g;
    f.pool = pool;
    f.threads = threads;
    f.diag = diag;
    f.plan = plan;
    f.arena = plan != NULL ? arena : NULL;
    f.record = record;
    f.vals = vals;
    f.vals_given = vals != NULL;
    veil_par_run_begin(threads);
    r = graph_run(f, inputs, input_count, outputs);
    veil_par_run_end(threads);
    return r;
}

static VEIL_RESULT graph_run(struct veil_engine_frame f, const struct veil_tensor *const *inputs,
                             uint32_t input_count, struct veil_tensor *outputs)
{
    const struct veil_engine_graph *g = f.graph;
    struct veil_engine_pool *pool = f.pool;
    veil_result r;
    uint32_t done = 0;

    if (f.vals_given) {
        /* the caller's frame, reused from run to run: as calloc would give it */
        memset(f.vals, 0, g->slot_count * sizeof(*f.vals));
    } else {
        f.vals = calloc(g->slot_count > 0 ? g->slot_count : 1, sizeof(*f.vals));
        ENSURE(f.vals != NULL, VEIL_ERR_NOMEM);
    }
    r = frame_bind(&f, inputs, input_count);
    if (veil_ok(r)) {
        r = frame_run(&f);
    }
    while (veil_ok(r) && done < g->output_count) {
        uint32_t s = g->slot[g->outputs[done]];
        struct veil_tensor *v;
        if (s == VEIL_NO_SLOT) { /* a constant: the caller gets a copy */
            r = veil_tensor_copy(veil_graph_fixed(g, g->outputs[done]), &outputs[done]);
            if (!veil_ok(r)) {
                break;
            }
            done++;
            continue;
        }
        v = &f.vals[s];
        if (v->data == NULL) {
            r = veil_result_of(VEIL_ERR_ENGINE_GRAPH);
            break;
        }
        if (v->borrowed) {
            r = veil_tensor_copy(v, &outputs[done]);
            if (!veil_ok(r)) {
                break;
            }
        } else {
            outputs[done] = *v; /* ownership moves to the caller */
            memset(v, 0, sizeof(*v));
            /* the same value may be listed twice as an output */
            veil_tensor_view(&outputs[done], v);
        }
        done++;
    }
    if (!veil_ok(r)) {
        for (uint32_t k = 0; k < done; k++) {
            veil_tensor_free(&outputs[k]);
        }
    }
    for (uint32_t i = 0; i < g->slot_count; i++) {
        /* views (initializers, outer values, arena) need no clearing: vals goes next */
        if (f.vals[i].data != NULL && !f.vals[i].borrowed) {
            pool_give(pool, &f.vals[i]);
        }
    }
    if (!f.vals_given) {
        free(f.vals);
    }
    return r;
}
