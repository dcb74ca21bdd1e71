/* File helpers. Every output goes through a temp file and a rename, so a crash or a failed
 * verification never leaves a partial file under the final name. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/encoding.h"

bool veil_path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);

    return n >= 0 && (size_t)n < size;
}

veil_result veil_read_full(int fd, void *buf, size_t n, size_t *got)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = read(fd, (uint8_t *)buf + done, n - done);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        ENSURE(k >= 0, VEIL_ERR_IO_READ);
        if (k == 0) {
            break;
        }
        done += (size_t)k;
    }
    *got = done;
    return VEIL_RESULT_OK;
}

veil_result veil_write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = write(fd, (const uint8_t *)buf + done, n - done);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        ENSURE(k > 0, VEIL_ERR_IO_WRITE);
        done += (size_t)k;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = pwrite(fd, (const uint8_t *)buf + done, n - done, off + (off_t)done);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        ENSURE(k > 0, VEIL_ERR_IO_WRITE);
        done += (size_t)k;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_file_read(const char *path, size_t max, struct veil_wr *w)
{
    struct stat st;
    int fd;
    veil_result r = VEIL_RESULT_OK;
    size_t got = 0;

    veil_wr_init(w, max);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    ENSURE(fd >= 0, VEIL_ERR_IO_OPEN);
    if (fstat(fd, &st) != 0) {
        r = veil_result_of(VEIL_ERR_IO_READ);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = veil_result_of(VEIL_ERR_IO_NOT_REGULAR);
        goto out_close;
    }
    if ((uint64_t)st.st_size > max) {
        r = veil_result_of(VEIL_ERR_PROTO_LIMIT);
        goto out_close;
    }
    r = veil_wr_reserve(w, (size_t)st.st_size);
    if (!veil_ok(r)) {
        goto out_close;
    }
    r = veil_read_full(fd, w->data, (size_t)st.st_size, &got);
    if (veil_ok(r)) {
        w->len = got;
    }
out_close:
    (void)close(fd);
    if (!veil_ok(r)) {
        veil_wr_free(w);
    }
    return r;
}

veil_result veil_file_check_private(const char *path)
{
    struct stat st;

    ENSURE(stat(path, &st) == 0, VEIL_ERR_IO_OPEN);
    ENSURE(S_ISREG(st.st_mode), VEIL_ERR_IO_NOT_REGULAR);
    ENSURE((st.st_mode & 077) == 0, VEIL_ERR_IO_PERMISSIONS);
    return VEIL_RESULT_OK;
}

veil_result veil_file_read_secret(const char *path, size_t size, struct veil_secret **out)
{
    struct stat st;
    struct veil_secret *s = NULL;
    veil_result r = VEIL_RESULT_OK;
    size_t got = 0;
    uint8_t extra;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ENSURE(fd >= 0, VEIL_ERR_IO_OPEN);
    if (fstat(fd, &st) != 0) {
        r = veil_result_of(VEIL_ERR_IO_READ);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = veil_result_of(VEIL_ERR_IO_NOT_REGULAR);
        goto out_close;
    }
    if ((st.st_mode & 077) != 0) {
        r = veil_result_of(VEIL_ERR_IO_PERMISSIONS);
        goto out_close;
    }
    r = veil_secret_new(size, &s);
    if (!veil_ok(r)) {
        goto out_close;
    }
    r = veil_read_full(fd, s->data, size, &got);
    if (veil_ok(r) && got != size) {
        r = veil_result_of(VEIL_ERR_PROTO_KEY);
    }
    if (veil_ok(r)) {
        r = veil_read_full(fd, &extra, 1, &got);
        if (veil_ok(r) && got != 0) {
            r = veil_result_of(VEIL_ERR_PROTO_KEY);
        }
    }
    if (veil_ok(r)) {
        *out = s;
        s = NULL;
    }
    veil_secret_free(s);
out_close:
    (void)close(fd);
    return r;
}

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

veil_result veil_tmpfile_open(const char *final_path, mode_t mode, struct veil_tmpfile *t)
{
    uint8_t rnd[8];
    char suffix[17];
    size_t n = strlen(final_path);
    struct stat st;
    veil_result r;

    t->fd = -1;
    t->tmp_path = NULL;
    t->final_path = NULL;
    ENSURE(n > 0 && n < PATH_MAX - 32, VEIL_ERR_USAGE);
    /* The rename would replace whatever is there: never a device, FIFO or directory. As root,
     * `-o /dev/null` would otherwise turn /dev/null into a regular file. */
    ENSURE(stat(final_path, &st) != 0 ? errno == ENOENT : S_ISREG(st.st_mode),
           VEIL_ERR_IO_NOT_REGULAR);
    GUARD_OSSL(RAND_bytes(rnd, sizeof(rnd)), VEIL_ERR_INTERNAL_OSSL);
    GUARD(veil_hex_encode(rnd, sizeof(rnd), suffix, sizeof(suffix)));
    t->tmp_path = malloc(n + 32);
    t->final_path = str_dup(final_path);
    if (t->tmp_path == NULL || t->final_path == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto fail;
    }
    (void)snprintf(t->tmp_path, n + 32, "%s.%s.tmp", final_path, suffix);
    t->fd = open(t->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (t->fd < 0) {
        r = veil_result_of(VEIL_ERR_IO_OPEN);
        goto fail;
    }
    return VEIL_RESULT_OK;
fail:
    free(t->tmp_path);
    free(t->final_path);
    t->tmp_path = NULL;
    t->final_path = NULL;
    return r;
}

veil_result veil_tmpfile_commit(struct veil_tmpfile *t, int overwrite)
{
    ENSURE(t->fd >= 0, VEIL_ERR_INTERNAL);
    ENSURE(fsync(t->fd) == 0, VEIL_ERR_IO_WRITE);
    ENSURE(close(t->fd) == 0, VEIL_ERR_IO_WRITE);
    t->fd = -1;
    if (overwrite) {
        ENSURE(rename(t->tmp_path, t->final_path) == 0, VEIL_ERR_IO_RENAME);
    } else {
        /* link() fails if the target exists: no race with another writer. */
        if (link(t->tmp_path, t->final_path) != 0) {
            BAIL(errno == EEXIST ? VEIL_ERR_IO_EXISTS : VEIL_ERR_IO_RENAME);
        }
        (void)unlink(t->tmp_path);
    }
    free(t->tmp_path);
    free(t->final_path);
    t->tmp_path = NULL;
    t->final_path = NULL;
    return VEIL_RESULT_OK;
}

void veil_tmpfile_abort(struct veil_tmpfile *t)
{
    if (t->fd >= 0) {
        (void)close(t->fd);
        t->fd = -1;
    }
    if (t->tmp_path != NULL) {
        (void)unlink(t->tmp_path);
    }
    free(t->tmp_path);
    free(t->final_path);
    t->tmp_path = NULL;
    t->final_path = NULL;
}

veil_result veil_file_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                                   int overwrite)
{
    struct veil_tmpfile t;
    veil_result r;

    GUARD(veil_tmpfile_open(path, mode, &t));
    r = veil_write_full(t.fd, data, n);
    if (veil_ok(r)) {
        r = veil_tmpfile_commit(&t, overwrite);
    }
    if (!veil_ok(r)) {
        veil_tmpfile_abort(&t);
    }
    return r;
}
