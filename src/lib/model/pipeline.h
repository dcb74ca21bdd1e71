/*
 * The chunk pipeline shared by seal and open: the calling thread reads chunks in order into a
 * ring of slots, worker threads transform them (AES-GCM + SHA-256), and the calling thread
 * consumes finished slots in order (folding each chunk digest into the chunk root, and writing
 * output that must stay ordered). Memory is constant: slots x (chunk size + tag).
 */
#ifndef VEIL_MODEL_PIPELINE_H
#define VEIL_MODEL_PIPELINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/result.h"
#include "crypto/crypto.h"

struct veil_pipe_slot {
    uint64_t index;
    size_t len;   /* plaintext length of this chunk */
    uint8_t *buf; /* chunk_size + tag bytes */
    uint8_t digest[VEIL_SHA256_SIZE];
    veil_result result;
    int state; /* internal */
};

/* Per-thread state handed to the work function. */
struct veil_pipe_worker {
    struct veil_gcm gcm;
    EVP_MD_CTX *md; /* SHA-256, reused chunk after chunk */
};

/* Transforms one slot; runs on a worker thread with that worker's contexts. */
typedef veil_result (*veil_pipe_work_fn)(void *ctx, struct veil_pipe_worker *w,
                                         struct veil_pipe_slot *slot);

struct veil_pipe {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    struct veil_pipe_slot *slots;
    size_t slot_count;
    size_t buf_size;
    bool locked_bufs;
    pthread_t *threads;
    size_t thread_count; /* 0: work runs inline on the calling thread */
    size_t started;
    bool stopping;
    veil_pipe_work_fn work;
    void *ctx;
    uint8_t key[VEIL_AES256_KEY_SIZE];
    int encrypt;
    struct veil_pipe_worker inline_worker;
    veil_result thread_init_result;
};

/* threads >= 1; threads == 1 runs everything on the caller. The key is copied and wiped at free. */
VEIL_RESULT veil_pipe_start(struct veil_pipe *p, unsigned threads, size_t buf_size,
                            const uint8_t key[VEIL_AES256_KEY_SIZE], int encrypt,
                            veil_pipe_work_fn work, void *ctx);
/* The slot that chunk `index` goes into. If it still holds an earlier chunk, waits for it and
 * sets *previous so the caller consumes it first (then calls again). */
struct veil_pipe_slot *veil_pipe_slot_for(struct veil_pipe *p, uint64_t index);
/* Waits until the slot's work is done; returns its result. */
VEIL_RESULT veil_pipe_wait(struct veil_pipe *p, struct veil_pipe_slot *slot);
bool veil_pipe_slot_busy(struct veil_pipe *p, struct veil_pipe_slot *slot);
/* Hands a filled slot to the workers (or runs it now when inline). */
void veil_pipe_submit(struct veil_pipe *p, struct veil_pipe_slot *slot);
/* Marks a consumed slot free. */
void veil_pipe_release(struct veil_pipe *p, struct veil_pipe_slot *slot);
/* Waits for in-flight work, stops the workers, wipes and frees every buffer. */
void veil_pipe_stop(struct veil_pipe *p);

/* Default thread count: online cores, capped. */
unsigned veil_pipe_default_threads(void);

#endif
