/*
 * Runs of a loaded model (veil_engine_run, and the same run in steps: veil_engine_run_begin,
 * veil_engine_run_input_room, veil_engine_run_exec, veil_engine_run_end). A run holds the
 * buffers it computes in: the model's cached ones when no other run holds them, else its own.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "engine/graph.h"

struct veil_engine_run {
    struct veil_engine_model *m;
    struct veil_engine_pool pool;
    struct veil_tensor *vals; /* the frame (the cached one), or NULL: graph_run allocates one */
    uint8_t *arena;           /* with a plan: the intermediates and the inputs given room */
    size_t arena_size;
    bool cached; /* holds the model's cached buffers (cache_busy) */
    bool ran;
};

/* All online cores, read once per process: glibc's sysconf reads /sys for it, a few us that
 * every run with the default thread count paid. */
static unsigned threads_default(void)
{
    static _Atomic unsigned cores;
    unsigned c = atomic_load_explicit(&cores, memory_order_relaxed);
    if (c == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c = n < 1 ? 1 : n > VEIL_ENGINE_THREADS_MAX ? VEIL_ENGINE_THREADS_MAX : (unsigned)n;
        atomic_store_explicit(&cores, c, memory_order_relaxed);
    }
    return c;
}

/* Inputs of a run whose pointer array lives on the stack. */
#define RUN_IN_STACK 16

static void run_give(struct veil_engine_run *run);

/* Takes the buffers a run computes in into run (zeroed by the caller). */
static VEIL_RESULT run_take(struct veil_engine_model *m, struct veil_engine_run *run)
{
    run->m = m;
    /* The buffers and the frame of the previous run, unless another run holds them: the pages
     * stay mapped, which saves a page fault per 4 KiB of intermediates and run, and the frame's
     * calloc. A concurrent run (veil-serve runs requests on one model at once) finds cache_busy
     * set and allocates its own, freed when it ends. */
    run->cached = atomic_exchange(&m->cache_busy, 1) == 0;
    if (run->cached) {
        run->pool = m->cache_pool;
        memset(&m->cache_pool, 0, sizeof(m->cache_pool));
        if (m->cache_vals == NULL) {
            m->cache_vals =
                calloc(m->main->slot_count > 0 ? m->main->slot_count : 1, sizeof(*m->cache_vals));
        }
        run->vals = m->cache_vals; /* NULL (out of memory): graph_run allocates its own */
    }
    if (m->plan != NULL) {
        run->arena_size = (m->plan->arena_size + 63) / 64 * 64 + 64;
        if (run->cached && m->cache_arena != NULL && m->cache_arena_size == run->arena_size) {
            run->arena = m->cache_arena;
            m->cache_arena = NULL;
        } else {
            run->arena = aligned_alloc(64, run->arena_size);
        }
        if (run->arena == NULL) {
            run_give(run);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_engine_run_begin(struct veil_engine_model *m, struct veil_engine_run **out)
{
    struct veil_engine_run *run = calloc(1, sizeof(*run));
    veil_result r;

    *out = NULL;
    ENSURE(run != NULL, VEIL_ERR_NOMEM);
    r = run_take(m, run);
    if (!veil_ok(r)) {
        free(run);
        return r;
    }
    *out = run;
    return VEIL_RESULT_OK;
}

bool veil_engine_run_input_room(struct veil_engine_run *run, size_t i, struct veil_tensor *t)
{
    const struct veil_engine_model *m = run->m;
    const struct veil_tensor *want;
    uint32_t v;

    if (run->arena == NULL || run->ran || i >= m->main->input_count || t->data != NULL) {
        return false;
    }
    v = m->main->inputs[i];
    if (m->plan->offset[v] == SIZE_MAX) {
        return false;
    }
    want = veil_plan_shape(m->plan, v);
    if (want == NULL || want->dtype != t->dtype || !veil_tensor_same_shape(want, t)) {
        return false;
    }
    t->data = run->arena + m->plan->offset[v];
    t->borrowed = true;
    return true;
}

VEIL_RESULT veil_engine_run_exec(struct veil_engine_run *run, const struct veil_tensor *inputs,
                                 struct veil_tensor *outputs, struct veil_engine_diag *diag)
{
    struct veil_engine_model *m = run->m;
    const struct veil_tensor *in_stack[RUN_IN_STACK] = {NULL};
    const struct veil_tensor **in = in_stack;
    size_t n = m->main->input_count;
    veil_result r;

    if (diag != NULL) {
        diag->what[0] = '\0';
    }
    ENSURE(!run->ran, VEIL_ERR_USAGE); /* the inputs given room are overwritten by the run */
    run->ran = true;
    if (n > RUN_IN_STACK) {
        in = calloc(n, sizeof(*in));
        ENSURE(in != NULL, VEIL_ERR_NOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        in[i] = &inputs[i];
    }
    r = veil_graph_run_main(m->main, &run->pool, m->threads > 0 ? m->threads : threads_default(),
                            in, (uint32_t)n, outputs, diag, m->plan, run->arena, NULL, run->vals);
    if (in != in_stack) {
        free(in);
    }
    return r;
}

/* Gives run's buffers back to the model (or frees them: not the cached ones). */
static void run_give(struct veil_engine_run *run)
{
    struct veil_engine_model *m = run->m;

    if (run->cached) {
        m->cache_pool = run->pool;
        if (run->arena != NULL) {
            if (m->cache_arena != NULL) {
                OPENSSL_cleanse(m->cache_arena, m->cache_arena_size);
                free(m->cache_arena);
            }
            m->cache_arena = run->arena;
            m->cache_arena_size = run->arena_size;
        }
        atomic_store(&m->cache_busy, 0);
    } else {
        veil_pool_free(&run->pool);
        if (run->arena != NULL) {
            OPENSSL_cleanse(run->arena, run->arena_size);
            free(run->arena);
        }
    }
}

void veil_engine_run_end(struct veil_engine_run *run)
{
    if (run == NULL) {
        return;
    }
    run_give(run);
    free(run);
}

VEIL_RESULT veil_engine_run(struct veil_engine_model *m, const struct veil_tensor *inputs,
                            struct veil_tensor *outputs, struct veil_engine_diag *diag)
{
    struct veil_engine_run run = {0}; /* the steps on the stack: no allocation per inference */
    veil_result r;

    if (diag != NULL) {
        diag->what[0] = '\0';
    }
    GUARD(run_take(m, &run));
    r = veil_engine_run_exec(&run, inputs, outputs, diag);
    run_give(&run);
    return r;
}
