/* The operator registry and the helpers every operator file shares. */
#include "engine/ops.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if VEIL_HAVE_OPENBLAS
#include <cblas.h>
#endif

#define VEIL_OP_ENTRY(x) &veil_op_##x,
static const struct veil_op *const ops[] = {VEIL_OP_LIST(VEIL_OP_ENTRY)};

const struct veil_op *veil_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(ops[i]->name, name) == 0) {
            return ops[i];
        }
    }
    return NULL;
}

bool veil_op_writes_all(const struct veil_op *op)
{
    /* kernels checked to write every element of every output on success, on every path */
    static const struct veil_op *const all[] = {
        &veil_op_Conv,    &veil_op_Add,         &veil_op_Sub,
        &veil_op_Mul,     &veil_op_Div,         &veil_op_Max,
        &veil_op_Min,     &veil_op_Relu,        &veil_op_LeakyRelu,
        &veil_op_Sigmoid, &veil_op_HardSigmoid, &veil_op_HardSwish,
        &veil_op_Tanh,    &veil_op_Clip,        &veil_op_BatchNormalization,
        &veil_op_MaxPool, &veil_op_AveragePool, &veil_op_GlobalAveragePool,
        &veil_op_Resize,  &veil_op_MatMul,      &veil_op_Concat,
        &veil_op_Slice,   &veil_op_Reshape,     &veil_op_Flatten,
        &veil_op_Squeeze, &veil_op_Unsqueeze,
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (all[i] == op) {
            return true;
        }
    }
    return false;
}

VEIL_RESULT veil_op_need(const struct veil_op_ctx *c, uint32_t k, const struct veil_tensor **t)
{
    *t = veil_op_in(c, k);
    ENSURE(*t != NULL, VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_op_arity(const struct veil_op_ctx *c, uint32_t lo, uint32_t hi, uint32_t out_min)
{
    ENSURE(c->in_count >= lo && c->in_count <= hi, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c->out_count >= out_min, VEIL_ERR_ENGINE_SHAPE);
    for (uint32_t k = 0; k < lo; k++) {
        ENSURE(c->in[k] != NULL, VEIL_ERR_ENGINE_SHAPE);
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_op_axis(int64_t axis, uint32_t rank, uint32_t extra, uint32_t *out)
{
    int64_t r = (int64_t)rank;
    ENSURE(axis >= -r && axis < r + (int64_t)extra, VEIL_ERR_ENGINE_ATTR);
    *out = (uint32_t)(axis < 0 ? axis + r : axis);
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_op_bcast_shape(const struct veil_tensor *const *ts, uint32_t n, uint32_t *rank,
                                int64_t *dims)
{
    uint32_t r = 0;
    for (uint32_t k = 0; k < n; k++) {
        r = ts[k]->rank > r ? ts[k]->rank : r;
    }
    for (uint32_t d = 0; d < r; d++) {
        dims[d] = 1;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t shift = r - ts[k]->rank;
        for (uint32_t d = 0; d < ts[k]->rank; d++) {
            int64_t v = ts[k]->dims[d];
            int64_t *o = &dims[d + shift];
            if (*o == 1) {
                *o = v;
            } else {
                ENSURE(v == 1 || v == *o, VEIL_ERR_ENGINE_SHAPE);
            }
        }
    }
    *rank = r;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_op_out(struct veil_op_ctx *c, uint32_t k, int32_t dtype, uint32_t rank,
                        const int64_t *dims)
{
    ENSURE(k < c->out_count, VEIL_ERR_ENGINE_SHAPE);
    return veil_tensor_shape(c->out[k], dtype, rank, dims);
}

VEIL_RESULT veil_op_out_like(struct veil_op_ctx *c, uint32_t k, const struct veil_tensor *t)
{
    return veil_op_out(c, k, t->dtype, t->rank, t->dims);
}

VEIL_RESULT veil_op_ints(const struct veil_tensor *t, size_t max, int64_t *v, size_t *count)
{
    ENSURE(t->dtype == VEIL_DT_INT64 || t->dtype == VEIL_DT_INT32, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(t->rank <= 1, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(t->count <= max, VEIL_ERR_ENGINE_LIMIT);
    for (size_t i = 0; i < t->count; i++) {
        v[i] = veil_tensor_get_i64(t, i);
    }
    *count = t->count;
    return VEIL_RESULT_OK;
}

size_t veil_op_span(const struct veil_tensor *t, uint32_t from, uint32_t to)
{
    size_t n = 1;
    for (uint32_t d = from; d < to && d < t->rank; d++) {
        n *= (size_t)t->dims[d];
    }
    return n;
}

void veil_bcast_init(struct veil_bcast *b, const struct veil_tensor *out,
                     const struct veil_tensor *const *ins, uint32_t n)
{
    VEIL_ASSERT(n <= VEIL_BCAST_MAX);
    memset(b, 0, sizeof(*b));
    b->rank = out->rank;
    b->n = n;
    for (uint32_t d = 0; d < out->rank; d++) {
        b->dims[d] = out->dims[d];
    }
    for (uint32_t k = 0; k < n; k++) {
        size_t s = 1;
        uint32_t shift = out->rank - ins[k]->rank;
        for (uint32_t d = ins[k]->rank; d-- > 0;) {
            b->stride[k][d + shift] = ins[k]->dims[d] == 1 ? 0 : s;
            s *= (size_t)ins[k]->dims[d];
        }
    }
}

struct par_job {
    veil_par_fn fn;
    void *ctx;
    size_t begin;
    size_t end;
};

static void *par_main(void *arg)
{
    struct par_job *j = arg;
    j->fn(j->ctx, j->begin, j->end);
    return NULL;
}

/*
 * Worker threads kept for the life of the process (started on first use, up to the largest
 * --threads seen), so a parallel kernel costs a wake-up instead of a pthread_create per thread.
 * One kernel at a time uses them: a second concurrent caller (another veil_engine_run in the
 * same process) falls back to threads of its own.
 *
 * Run-scoped spinning (as ONNX Runtime's intra-op pool does): while a graph run is active
 * (veil_par_run_begin .. veil_par_run_end, counted, so nested and concurrent runs are fine) a
 * worker that has done a part keeps spinning for the next dispatch, up to RUN_IDLE_NS without
 * one; outside runs it spins SPIN_ROUNDS only. Then it sleeps on a condition variable. A
 * dispatch publishes its ticket with one atomic store and takes the lock to broadcast only when
 * a worker sleeps, so within a run a kernel's split costs a cache line, not a futex wake. A run
 * that never dispatches (tiny graphs) wakes nobody.
 *
 * The parts of a dispatch are claimed, not assigned: the caller and every worker take the next
 * unclaimed part until none is left, and the caller waits only for parts that were claimed. A
 * worker that the scheduler runs late (other processes on the cores) then finds the parts done
 * by the caller instead of holding the kernel up. One atomic word, the ticket, holds the
 * dispatch's generation, its part count and the next part, so a claim (compare-and-swap) can
 * only take a part of the dispatch the claimer saw.
 *
 * Sleeping and waking: a worker counts itself in sleepers (under the lock) before it reads the
 * ticket a last time and waits; a dispatcher stores the ticket before it reads sleepers. Both
 * are sequentially consistent, so either the worker sees the new ticket or the dispatcher sees
 * the sleeper and broadcasts under the lock (which the worker holds until it waits).
 */
#define SPIN_ROUNDS 1000           /* pause rounds, outside runs: ~15 us here (pause ~15 ns) */
#define RUN_IDLE_NS ((int64_t)2e6) /* within a run: spin up to 2 ms without a dispatch */
#define CLOCK_EVERY 64             /* pause rounds between reads of the clock */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define TICKET(gen, parts, next) (((uint64_t)(gen) << 32) | ((uint64_t)(parts) << 16) | (next))
#define TICKET_GEN(t)            ((t) >> 32)
#define TICKET_PARTS(t)          ((size_t)(((t) >> 16) & 0xFFFFu))
#define TICKET_NEXT(t)           ((size_t)((t)&0xFFFFu))

static struct {
    pthread_mutex_t use; /* held by the kernel that dispatches */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t finished;
    size_t started;            /* workers running */
    pid_t pid;                 /* process the workers belong to */
    _Atomic uint64_t ticket;   /* generation << 32 | parts << 16 | next unclaimed part */
    _Atomic size_t done;       /* parts of this dispatch finished */
    _Atomic unsigned runs;     /* graph runs in progress (threads > 1) */
    _Atomic unsigned sleepers; /* workers waiting on wake (or about to) */
    _Atomic bool waiting;      /* the dispatcher waits on finished (or is about to) */
    struct par_job *jobs;      /* this dispatch's parts: read only by whoever claimed one */
} par = {PTHREAD_MUTEX_INITIALIZER,
         PTHREAD_MUTEX_INITIALIZER,
         PTHREAD_COND_INITIALIZER,
         PTHREAD_COND_INITIALIZER,
         0,
         0,
         0,
         0,
         0,
         0,
         false,
         NULL};

void veil_par_run_begin(unsigned threads)
{
    if (threads > 1) {
        atomic_fetch_add(&par.runs, 1);
    }
}

void veil_par_run_end(unsigned threads)
{
    if (threads > 1) {
        atomic_fetch_sub(&par.runs, 1);
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Runs unclaimed parts of dispatch gen until there are none. */
static void par_claim(uint64_t gen)
{
    uint64_t t = atomic_load(&par.ticket);
    while (TICKET_GEN(t) == gen && TICKET_NEXT(t) < TICKET_PARTS(t)) {
        if (!atomic_compare_exchange_weak(&par.ticket, &t, t + 1)) {
            continue; /* t was reloaded */
        }
        /* the part is ours: the caller cannot finish this dispatch (and replace jobs) before
         * it is done */
        par_main(&par.jobs[TICKET_NEXT(t)]);
        if (atomic_fetch_add(&par.done, 1) + 1 == TICKET_PARTS(t) && atomic_load(&par.waiting)) {
            /* the last part, and the dispatcher sleeps (it may be this thread: then no one
             * waits and the broadcast is a no-op) */
            (void)pthread_mutex_lock(&par.lock);
            (void)pthread_cond_broadcast(&par.finished);
            (void)pthread_mutex_unlock(&par.lock);
        }
        t = atomic_load(&par.ticket);
    }
}

/* Spins until the ticket leaves generation seen or the spinning budget is spent; returns the
 * last ticket read. */
static uint64_t par_spin(uint64_t seen)
{
    uint64_t t = atomic_load(&par.ticket);
    int64_t since = 0;
    for (unsigned spin = 0; TICKET_GEN(t) == seen; spin++) {
        if (spin >= SPIN_ROUNDS && spin % CLOCK_EVERY == 0) {
            if (atomic_load(&par.runs) == 0) {
                break;
            }
            int64_t now = now_ns();
            since = since != 0 ? since : now;
            if (now - since > RUN_IDLE_NS) {
                break;
            }
            (void)sched_yield();
        }
        CPU_RELAX();
        t = atomic_load(&par.ticket);
    }
    return t;
}

static void *par_worker(void *arg)
{
    uint64_t seen = (uint64_t)(uintptr_t)arg; /* the generation when this thread was created */
    for (;;) {
        uint64_t t = par_spin(seen);
        if (TICKET_GEN(t) == seen) {
            (void)pthread_mutex_lock(&par.lock);
            atomic_fetch_add(&par.sleepers, 1);
            while (TICKET_GEN(t = atomic_load(&par.ticket)) == seen) {
                (void)pthread_cond_wait(&par.wake, &par.lock);
            }
            atomic_fetch_sub(&par.sleepers, 1);
            (void)pthread_mutex_unlock(&par.lock);
        }
        seen = TICKET_GEN(t);
        par_claim(seen);
    }
    return NULL;
}

/* Runs jobs[0..parts) on the kept workers (threads - 1 of them) and the calling thread; false
 * if they are busy. */
static bool par_dispatch(struct par_job *jobs, size_t parts, unsigned threads)
{
    uint64_t gen;
    if (parts > 0xFFFFu || pthread_mutex_trylock(&par.use) != 0) {
        return false;
    }
    if (par.pid != getpid()) {
        /* first use, or a child after fork(): the parent's workers do not exist here */
        (void)pthread_mutex_init(&par.lock, NULL);
        (void)pthread_cond_init(&par.wake, NULL);
        (void)pthread_cond_init(&par.finished, NULL);
        par.started = 0;
        atomic_store(&par.sleepers, 0);
        par.pid = getpid();
    }
    gen = TICKET_GEN(atomic_load(&par.ticket));
    while (par.started + 1 < threads) {
        pthread_t t;
        if (pthread_create(&t, NULL, par_worker, (void *)(uintptr_t)gen) != 0) {
            break;
        }
        (void)pthread_detach(t);
        par.started++;
    }
    /* fewer workers than threads (thread creation failed) is fine: the caller claims the rest */
    par.jobs = jobs;
    atomic_store(&par.done, 0);
    gen = (gen + 1) & 0xFFFFFFFFu;
    atomic_store(&par.ticket, TICKET(gen, parts, 0));
    if (atomic_load(&par.sleepers) > 0) {
        (void)pthread_mutex_lock(&par.lock);
        (void)pthread_cond_broadcast(&par.wake);
        (void)pthread_mutex_unlock(&par.lock);
    }
    par_claim(gen);
    for (unsigned spin = 0; atomic_load(&par.done) != parts && spin < SPIN_ROUNDS; spin++) {
        CPU_RELAX();
    }
    if (atomic_load(&par.done) != parts) {
        /* a worker holds a part, perhaps preempted: sleep rather than take a core from it */
        (void)pthread_mutex_lock(&par.lock);
        atomic_store(&par.waiting, true);
        while (atomic_load(&par.done) != parts) {
            (void)pthread_cond_wait(&par.finished, &par.lock);
        }
        atomic_store(&par.waiting, false);
        (void)pthread_mutex_unlock(&par.lock);
    }
    (void)pthread_mutex_unlock(&par.use);
    return true;
}

/* A split over parts (2..threads) parts; out of line, so the common unsplit call does not set
 * up (and probe) its 11 KiB of per-thread arrays. */
__attribute__((noinline)) static void par_split(size_t n, size_t parts, unsigned threads,
                                                veil_par_fn fn, void *ctx)
{
    struct par_job jobs[VEIL_ENGINE_THREADS_MAX];
    pthread_t tids[VEIL_ENGINE_THREADS_MAX];
    bool started[VEIL_ENGINE_THREADS_MAX];

    for (size_t i = 0; i < parts; i++) {
        jobs[i].fn = fn;
        jobs[i].ctx = ctx;
        jobs[i].begin = n * i / parts;
        jobs[i].end = n * (i + 1) / parts;
    }
    if (par_dispatch(jobs, parts, threads)) {
        return;
    }
    /* the workers are busy: threads of this call's own */
    for (size_t i = 1; i < parts; i++) {
        started[i] = pthread_create(&tids[i], NULL, par_main, &jobs[i]) == 0;
    }
    par_main(&jobs[0]);
    for (size_t i = 1; i < parts; i++) {
        if (started[i]) {
            (void)pthread_join(tids[i], NULL);
        } else {
            par_main(&jobs[i]);
        }
    }
}

VEIL_RESULT veil_op_parallel(const struct veil_op_ctx *c, size_t n, size_t grain, veil_par_fn fn,
                             void *ctx)
{
    unsigned threads = c->frame != NULL ? c->frame->threads : 1;
    size_t parts;

    grain = grain > 0 ? grain : 1;
    parts = n / grain;
    parts = parts < threads ? parts : threads;
    if (parts <= 1) {
        fn(ctx, 0, n);
    } else {
        par_split(n, parts, threads, fn, ctx);
    }
    return VEIL_RESULT_OK;
}

#if VEIL_HAVE_OPENBLAS
/* Products smaller than this stay on the reference kernel (call overhead dominates). */
#define BLAS_MIN_WORK ((size_t)1 << 10)

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static bool blas_on = true;

/* The engine splits work over its own threads: OpenBLAS runs single-threaded inside each part.
 * VEIL_ENGINE_GEMM=reference turns it off (for comparisons). */
static void blas_init(void)
{
    const char *e = getenv("VEIL_ENGINE_GEMM");
    blas_on = e == NULL || strcmp(e, "reference") != 0;
    openblas_set_num_threads(1);
}

static bool blas_fits(size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc)
{
    const size_t lim = (size_t)INT32_MAX;
    /* bench/engine/bench_sgemm: OpenBLAS wins 4-9x from 64^3 up, but loses on single-row
     * products (vector x matrix), which stay on the reference kernel */
    return m <= lim && n <= lim && k <= lim && lda <= lim && ldb <= lim && ldc <= lim && m >= 2 &&
           m * n * k >= BLAS_MIN_WORK;
}
#endif

bool veil_sgemm_uses_blas(void)
{
#if VEIL_HAVE_OPENBLAS
    (void)pthread_once(&blas_once, blas_init);
    return blas_on;
#else
    return false;
#endif
}

void veil_sgemm_set_blas(bool on)
{
#if VEIL_HAVE_OPENBLAS
    (void)pthread_once(&blas_once, blas_init);
    blas_on = on;
#else
    (void)on;
#endif
}

/* One row of A times B (m = 1, A not transposed): batch-1 Gemm/MatMul. B transposed takes dot
 * products with 16 partial sums, so the loop vectorizes; otherwise rows of B are added with the
 * row's weights. */
VEIL_TARGET_CLONES
static void sgemv_row(bool tb, size_t n, size_t k, float alpha, const float *a, const float *b,
                      size_t ldb, float beta, float *c)
{
    enum { L = 16 };
    if (beta == 0.0f) {
        for (size_t j = 0; j < n; j++) {
            c[j] = 0.0f;
        }
    } else if (beta != 1.0f) {
        for (size_t j = 0; j < n; j++) {
            c[j] *= beta;
        }
    }
    if (!tb) {
        for (size_t p = 0; p < k; p++) {
            float av = alpha * a[p];
            const float *brow = &b[p * ldb];
            for (size_t j = 0; j < n; j++) {
                c[j] += av * brow[j];
            }
        }
        return;
    }
    /* four columns at a time share the loads of a (same sums, same order, as one at a time) */
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *b0 = &b[j * ldb];
        const float *b1 = b0 + ldb;
        const float *b2 = b1 + ldb;
        const float *b3 = b2 + ldb;
        float p0[L] = {0};
        float p1[L] = {0};
        float p2[L] = {0};
        float p3[L] = {0};
        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        size_t p = 0;
        for (; p + L <= k; p += L) {
            for (size_t q = 0; q < L; q++) {
                float av = a[p + q];
                p0[q] += av * b0[p + q];
                p1[q] += av * b1[p + q];
                p2[q] += av * b2[p + q];
                p3[q] += av * b3[p + q];
            }
        }
        for (; p < k; p++) {
            s[0] += a[p] * b0[p];
            s[1] += a[p] * b1[p];
            s[2] += a[p] * b2[p];
            s[3] += a[p] * b3[p];
        }
        for (size_t q = 0; q < L; q++) {
            s[0] += p0[q];
            s[1] += p1[q];
            s[2] += p2[q];
            s[3] += p3[q];
        }
        for (size_t t = 0; t < 4; t++) {
            c[j + t] += alpha * s[t];
        }
    }
    for (; j < n; j++) {
        const float *brow = &b[j * ldb];
        float part[L] = {0};
        float s = 0.0f;
        size_t p = 0;
        for (; p + L <= k; p += L) {
            for (size_t q = 0; q < L; q++) {
                part[q] += a[p + q] * brow[p + q];
            }
        }
        for (; p < k; p++) {
            s += a[p] * brow[p];
        }
        for (size_t q = 0; q < L; q++) {
            s += part[q];
        }
        c[j] += alpha * s;
    }
}

void veil_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                size_t lda, const float *b, size_t ldb, float beta, float *cm, size_t ldc)
{
    if (m == 1 && !ta) {
        sgemv_row(tb, n, k, alpha, a, b, ldb, beta, cm);
        return;
    }
#if VEIL_HAVE_OPENBLAS
    if (veil_sgemm_uses_blas() && blas_fits(m, n, k, lda, ldb, ldc)) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb,
                    beta, cm, (blasint)ldc);
        return;
    }
#endif
    veil_sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc);
}

void veil_sgemm_ref(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                    size_t lda, const float *b, size_t ldb, float beta, float *cm, size_t ldc)
{
    enum { KB = 256 };
    for (size_t i = 0; i < m; i++) {
        float *crow = &cm[i * ldc];
        if (beta == 0.0f) {
            for (size_t j = 0; j < n; j++) {
                crow[j] = 0.0f;
            }
        } else if (beta != 1.0f) {
            for (size_t j = 0; j < n; j++) {
                crow[j] *= beta;
            }
        }
    }
    if (!tb) {
        for (size_t p0 = 0; p0 < k; p0 += KB) {
            size_t p1 = p0 + KB < k ? p0 + KB : k;
            for (size_t i = 0; i < m; i++) {
                float *crow = &cm[i * ldc];
                for (size_t p = p0; p < p1; p++) {
                    float av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
                    const float *brow = &b[p * ldb];
                    for (size_t j = 0; j < n; j++) {
                        crow[j] += av * brow[j];
                    }
                }
            }
        }
        return;
    }
    for (size_t i = 0; i < m; i++) {
        float *crow = &cm[i * ldc];
        for (size_t j = 0; j < n; j++) {
            const float *brow = &b[j * ldb];
            float s = 0.0f;
            if (!ta) {
                const float *arow = &a[i * lda];
                for (size_t p = 0; p < k; p++) {
                    s += arow[p] * brow[p];
                }
            } else {
                for (size_t p = 0; p < k; p++) {
                    s += a[p * lda + i] * brow[p];
                }
            }
            crow[j] += alpha * s;
        }
    }
}
