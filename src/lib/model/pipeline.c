/* Worker pool for the chunk pipeline (see pipeline.h). */
#include "model/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "base/secret.h"

#define PIPE_THREADS_MAX 64

enum { SLOT_FREE = 0, SLOT_READY, SLOT_RUNNING, SLOT_DONE };

unsigned veil_pipe_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1) {
        return 1;
    }
    return n > PIPE_THREADS_MAX ? PIPE_THREADS_MAX : (unsigned)n;
}

static VEIL_RESULT worker_init(struct veil_pipe *p, struct veil_pipe_worker *w)
{
    w->md = EVP_MD_CTX_new();
    ENSURE(w->md != NULL, VEIL_ERR_NOMEM);
    return veil_gcm_init(&w->gcm, p->key, p->encrypt);
}

static void worker_free(struct veil_pipe_worker *w)
{
    veil_gcm_free(&w->gcm);
    EVP_MD_CTX_free(w->md);
    w->md = NULL;
}

static void *worker_main(void *arg)
{
    struct veil_pipe *p = arg;
    struct veil_pipe_worker w = {0};
    veil_result r = worker_init(p, &w);

    pthread_mutex_lock(&p->mu);
    if (!veil_ok(r)) {
        p->thread_init_result = r;
    }
    for (;;) {
        struct veil_pipe_slot *slot = NULL;
        while (!p->stopping) {
            for (size_t i = 0; i < p->slot_count; i++) {
                if (p->slots[i].state == SLOT_READY) {
                    slot = &p->slots[i];
                    break;
                }
            }
            if (slot != NULL) {
                break;
            }
            pthread_cond_wait(&p->work_cv, &p->mu);
        }
        if (slot == NULL) {
            break;
        }
        slot->state = SLOT_RUNNING;
        pthread_mutex_unlock(&p->mu);
        slot->result = veil_ok(r) ? p->work(p->ctx, &w, slot) : r;
        pthread_mutex_lock(&p->mu);
        slot->state = SLOT_DONE;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    worker_free(&w);
    return NULL;
}

static void free_bufs(struct veil_pipe *p)
{
    if (p->slots == NULL) {
        return;
    }
    for (size_t i = 0; i < p->slot_count; i++) {
        if (p->slots[i].buf == NULL) {
            continue;
        }
        if (p->locked_bufs) {
            veil_locked_unmap(p->slots[i].buf, p->buf_size);
        } else {
            OPENSSL_cleanse(p->slots[i].buf, p->buf_size);
            free(p->slots[i].buf);
        }
    }
    free(p->slots);
    p->slots = NULL;
}

/* Slot buffers hold plaintext: locked memory when the limit allows, otherwise plain memory that
 * is still wiped on release (the CLI path writes that plaintext to a file anyway; veil-serve
 * decrypts straight into its own locked region). */
static VEIL_RESULT alloc_bufs(struct veil_pipe *p)
{
    size_t i;

    p->slots = calloc(p->slot_count, sizeof(*p->slots));
    ENSURE(p->slots != NULL, VEIL_ERR_NOMEM);
    p->locked_bufs = true;
    for (i = 0; i < p->slot_count; i++) {
        void *buf = NULL;
        if (!veil_ok(veil_locked_map(p->buf_size, &buf))) {
            break;
        }
        p->slots[i].buf = buf;
    }
    if (i == p->slot_count) {
        return VEIL_RESULT_OK;
    }
    veil_log(VEIL_LOG_DEBUG,
             "cannot lock %zu chunk buffers (RLIMIT_MEMLOCK); using unlocked memory",
             p->slot_count);
    for (size_t j = 0; j < i; j++) {
        veil_locked_unmap(p->slots[j].buf, p->buf_size);
        p->slots[j].buf = NULL;
    }
    p->locked_bufs = false;
    for (i = 0; i < p->slot_count; i++) {
        p->slots[i].buf = malloc(p->buf_size);
        ENSURE(p->slots[i].buf != NULL, VEIL_ERR_NOMEM);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_pipe_start(struct veil_pipe *p, unsigned threads, size_t buf_size,
                            const uint8_t key[VEIL_AES256_KEY_SIZE], int encrypt,
                            veil_pipe_work_fn work, void *ctx)
{
    veil_result r;

    memset(p, 0, sizeof(*p));
    ENSURE(threads >= 1 && threads <= PIPE_THREADS_MAX, VEIL_ERR_USAGE_LIMIT);
    p->work = work;
    p->ctx = ctx;
    p->encrypt = encrypt;
    p->buf_size = buf_size;
    memcpy(p->key, key, sizeof(p->key));
    p->thread_count = threads == 1 ? 0 : threads;
    /* Two slots per worker keep every worker busy while the reader fills the next. */
    p->slot_count = threads == 1 ? 1 : 2 * (size_t)threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    r = alloc_bufs(p);
    if (!veil_ok(r)) {
        goto fail;
    }
    if (p->thread_count == 0) {
        r = worker_init(p, &p->inline_worker);
        if (!veil_ok(r)) {
            goto fail;
        }
        return VEIL_RESULT_OK;
    }
    p->threads = calloc(p->thread_count, sizeof(*p->threads));
    if (p->threads == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto fail;
    }
    for (; p->started < p->thread_count; p->started++) {
        if (pthread_create(&p->threads[p->started], NULL, worker_main, p) != 0) {
            r = veil_result_of(VEIL_ERR_INTERNAL_THREAD);
            goto fail;
        }
    }
    return VEIL_RESULT_OK;
fail:
    veil_pipe_stop(p);
    return r;
}

bool veil_pipe_slot_busy(struct veil_pipe *p, struct veil_pipe_slot *slot)
{
    (void)p;
    return slot->state != SLOT_FREE;
}

struct veil_pipe_slot *veil_pipe_slot_for(struct veil_pipe *p, uint64_t index)
{
    return &p->slots[index % p->slot_count];
}

veil_result veil_pipe_wait(struct veil_pipe *p, struct veil_pipe_slot *slot)
{
    veil_result r;

    if (p->thread_count == 0) {
        return slot->result;
    }
    pthread_mutex_lock(&p->mu);
    while (slot->state != SLOT_DONE) {
        pthread_cond_wait(&p->done_cv, &p->mu);
    }
    r = slot->result;
    pthread_mutex_unlock(&p->mu);
    return r;
}

void veil_pipe_submit(struct veil_pipe *p, struct veil_pipe_slot *slot)
{
    if (p->thread_count == 0) {
        slot->result = p->work(p->ctx, &p->inline_worker, slot);
        slot->state = SLOT_DONE;
        return;
    }
    pthread_mutex_lock(&p->mu);
    slot->state = SLOT_READY;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void veil_pipe_release(struct veil_pipe *p, struct veil_pipe_slot *slot)
{
    pthread_mutex_lock(&p->mu);
    slot->state = SLOT_FREE;
    pthread_mutex_unlock(&p->mu);
}

void veil_pipe_stop(struct veil_pipe *p)
{
    if (p->threads != NULL) {
        pthread_mutex_lock(&p->mu);
        /* Let submitted work finish: a worker may be writing into caller memory. */
        for (;;) {
            bool busy = false;
            for (size_t i = 0; i < p->slot_count; i++) {
                if (p->slots[i].state == SLOT_READY || p->slots[i].state == SLOT_RUNNING) {
                    busy = true;
                }
            }
            if (!busy || p->started < p->thread_count) {
                break;
            }
            pthread_cond_wait(&p->done_cv, &p->mu);
        }
        p->stopping = true;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->started; i++) {
            pthread_join(p->threads[i], NULL);
        }
        free(p->threads);
        p->threads = NULL;
    }
    worker_free(&p->inline_worker);
    free_bufs(p);
    OPENSSL_cleanse(p->key, sizeof(p->key));
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
}
