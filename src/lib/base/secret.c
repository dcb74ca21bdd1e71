/* Locked memory (after libsodium's sodium_malloc and s2n's mlock'ed blobs). */
#include "base/secret.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/log.h"

static size_t page_round(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t ps = page > 0 ? (size_t)page : 4096;

    if (size == 0) {
        size = 1;
    }
    if (size > SIZE_MAX - ps) {
        return 0;
    }
    return (size + ps - 1) / ps * ps;
}

/* Not in core dumps, not inherited by children. Failure here is not fatal, but loud. */
static void keep_private(void *p, size_t map_size)
{
    if (madvise(p, map_size, MADV_DONTDUMP) != 0 || madvise(p, map_size, MADV_DONTFORK) != 0) {
        veil_log(VEIL_LOG_WARN, "madvise(DONTDUMP|DONTFORK) failed; secrets may reach a core");
    }
}

/* mmap, lock (now, or as each page is first touched with onfault), keep private. */
static veil_result locked_map(size_t size, bool onfault, void **out)
{
    size_t map_size = page_round(size);
    void *p;

    ENSURE_REF(out);
    ENSURE(map_size != 0, VEIL_ERR_NOMEM);
    p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ENSURE(p != MAP_FAILED, VEIL_ERR_NOMEM);
    if ((onfault ? mlock2(p, map_size, MLOCK_ONFAULT) : mlock(p, map_size)) != 0) {
        int e = errno;
        (void)munmap(p, map_size);
        if (onfault && (e == EINVAL || e == ENOSYS)) { /* before Linux 4.4: lock all now */
            return locked_map(size, false, out);
        }
        BAIL(VEIL_ERR_NOMEM_LOCK);
    }
    keep_private(p, map_size);
    *out = p;
    return VEIL_RESULT_OK;
}

veil_result veil_locked_map(size_t size, void **out)
{
    return locked_map(size, false, out);
}

veil_result veil_locked_map_onfault(size_t size, void **out)
{
    return locked_map(size, true, out);
}

void veil_prefault(void *p, size_t size)
{
    static atomic_bool unsupported;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t ps = page > 0 ? (uintptr_t)page : 4096;
    uintptr_t start = (uintptr_t)p / ps * ps;
    uintptr_t end;

    if (p == NULL || size == 0 || atomic_load(&unsupported) || (uintptr_t)p > UINTPTR_MAX - size) {
        return;
    }
    end = (uintptr_t)p + size;
    if (madvise((void *)start, end - start, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
        atomic_store(&unsupported, true);
    }
}

/* Steps small enough that a page the caller is about to write is soon reached, and that a stop
 * request is soon seen. */
#define PREFAULT_STEP_SIZE ((size_t)4 << 20)

static void *prefault_main(void *arg)
{
    struct veil_locked_prefault *f = arg;
    size_t map_size = page_round(f->size);
    bool populate = true;

    for (size_t off = 0; off < map_size && !atomic_load(&f->stop); off += PREFAULT_STEP_SIZE) {
        size_t n = map_size - off < PREFAULT_STEP_SIZE ? map_size - off : PREFAULT_STEP_SIZE;
        int rc = populate ? madvise(f->p + off, n, MADV_POPULATE_WRITE) : -1;
        if (rc != 0 && populate && errno == EINVAL) {
            populate = false; /* before Linux 5.14; mlock faults the pages in (and keeps them) */
        }
        if (rc != 0 && !populate) {
            rc = mlock(f->p + off, n);
        }
        if (rc != 0) {
            f->result = veil_result_of(VEIL_ERR_NOMEM);
            break;
        }
        f->done = off + n;
    }
    return NULL;
}

bool veil_locked_prefault_start(struct veil_locked_prefault *f, void *p, size_t size)
{
    f->p = p;
    f->size = size;
    f->result = VEIL_RESULT_OK;
    f->done = 0;
    atomic_init(&f->stop, false);
    f->started = p != NULL && pthread_create(&f->thread, NULL, prefault_main, f) == 0;
    return f->started;
}

veil_result veil_locked_prefault_join(struct veil_locked_prefault *f, bool stop)
{
    if (!f->started) {
        return VEIL_RESULT_OK;
    }
    if (stop) {
        atomic_store(&f->stop, true);
    }
    (void)pthread_join(f->thread, NULL);
    f->started = false;
    return f->result;
}

size_t veil_locked_release(void *p, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t ps = page > 0 ? (uintptr_t)page : 4096;
    uintptr_t start;
    uintptr_t end;

    if (p == NULL || size == 0 || (uintptr_t)p > UINTPTR_MAX - size - ps) {
        return 0;
    }
    OPENSSL_cleanse(p, size);
    start = ((uintptr_t)p + ps - 1) / ps * ps;
    end = ((uintptr_t)p + size) / ps * ps;
    if (end <= start) {
        return 0;
    }
    /* locked pages refuse MADV_DONTNEED (EINVAL): unlock them first (the system call itself:
     * AddressSanitizer's munlock does nothing, and the region was locked with mlock2, which it
     * lets through) */
    if (syscall(SYS_munlock, (void *)start, end - start) != 0 ||
        madvise((void *)start, end - start, MADV_DONTNEED) != 0) {
        return 0;
    }
    return end - start;
}

void veil_locked_unmap(void *p, size_t size)
{
    size_t map_size = page_round(size);

    if (p == NULL) {
        return;
    }
    OPENSSL_cleanse(p, map_size);
    (void)munlock(p, map_size);
    (void)munmap(p, map_size);
}

veil_result veil_secret_new(size_t size, struct veil_secret **out)
{
    struct veil_secret *s;
    void *p = NULL;
    veil_result r;

    ENSURE_REF(out);
    s = calloc(1, sizeof(*s));
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    r = veil_locked_map(size, &p);
    if (!veil_ok(r)) {
        free(s);
        return r;
    }
    s->data = p;
    s->size = size;
    *out = s;
    return VEIL_RESULT_OK;
}

void veil_secret_free(struct veil_secret *s)
{
    if (s == NULL) {
        return;
    }
    veil_locked_unmap(s->data, s->size);
    free(s);
}

int veil_locked_alloc(size_t size, void **out)
{
    return veil_result_to_int(veil_locked_map(size, out));
}

void veil_locked_free(void *p, size_t size)
{
    veil_locked_unmap(p, size);
}

int veil_harden_process(void)
{
    struct rlimit no_core = {0, 0};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        return -VEIL_ERR_INTERNAL;
    }
    if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
        return -VEIL_ERR_INTERNAL;
    }
    return 0;
}
