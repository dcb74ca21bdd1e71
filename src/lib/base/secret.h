/*
 * struct veil_secret: key material in locked memory (include/veil/secret.h for the mechanism).
 * It has no print function; compare with CRYPTO_memcmp only.
 */
#ifndef VEIL_BASE_SECRET_H
#define VEIL_BASE_SECRET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include <veil/secret.h>

struct veil_secret {
    uint8_t *data;
    size_t size;
};

VEIL_RESULT veil_secret_new(size_t size, struct veil_secret **out);
/* Wipes, unlocks and frees; NULL is fine. */
void veil_secret_free(struct veil_secret *s);

VEIL_RESULT veil_locked_map(size_t size, void **out);
void veil_locked_unmap(void *p, size_t size);

/*
 * Like veil_locked_map, but locked on fault (mlock2 MLOCK_ONFAULT): the whole size counts against
 * RLIMIT_MEMLOCK now, so a refusal comes now, and every page is locked the moment it is first
 * touched, so nothing written into the region can be swapped; but faulting the pages in (about
 * 0.4 s per GiB) is not paid here. Zeroed, MADV_DONTDUMP and MADV_DONTFORK like veil_locked_map;
 * freed with veil_locked_unmap. Where the kernel has no MLOCK_ONFAULT it is veil_locked_map.
 */
VEIL_RESULT veil_locked_map_onfault(size_t size, void **out);

/*
 * For a part of a locked region that will not be read again: wipes p[0..size), and hands the
 * whole pages within it back (unlocked, then MADV_DONTNEED: they read as zeros if touched again,
 * and veil_locked_unmap still wipes and unmaps the whole region). Returns the bytes handed back;
 * best effort (0 where the kernel refuses, e.g. at its limit of mappings: munlock splits the
 * region's mapping).
 */
size_t veil_locked_release(void *p, size_t size);

/*
 * Faults in the pages that hold p[0..size) (MADV_POPULATE_WRITE: writable, without writing them;
 * in a locked-on-fault region they are locked as they come). Best effort: where the kernel cannot
 * (before Linux 5.14), the caller's first write faults them in as it would have anyway.
 */
void veil_prefault(void *p, size_t size);

/*
 * Faults the pages of a region in on a thread of its own, front to back, while the caller does
 * something else (veil-serve: while the key is fetched). The thread never writes the memory
 * (MADV_POPULATE_WRITE, or mlock on kernels without it), so the caller may write into it
 * meanwhile (whichever touches a page first faults it in; it is locked either way).
 */
struct veil_locked_prefault {
    pthread_t thread;
    uint8_t *p;
    size_t size;
    atomic_bool stop;
    bool started;
    veil_result result;
    size_t done; /* bytes from the start that the thread faulted in */
};

/* Starts the thread; false if it could not be started (the caller's writes fault the pages in). */
bool veil_locked_prefault_start(struct veil_locked_prefault *f, void *p, size_t size);
/* Waits for the thread, asking it to stop first when stop is set (the caller gave up); returns
 * whether every page could be faulted in (VEIL_ERR_NOMEM if not). OK if it never started. */
VEIL_RESULT veil_locked_prefault_join(struct veil_locked_prefault *f, bool stop);

#endif
