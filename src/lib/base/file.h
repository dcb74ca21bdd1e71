/* Small-file helpers: capped reads, atomic writes (temp file in the same directory + rename). */
#ifndef VEIL_BASE_FILE_H
#define VEIL_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/secret.h"

/* out = dir + "/" + name; false (out unspecified) if it does not fit. */
bool veil_path_join(char *out, size_t size, const char *dir, const char *name);

/* Reads a whole regular file of at most max bytes into w (which it initialises). */
VEIL_RESULT veil_file_read(const char *path, size_t max, struct veil_wr *w);
/* VEIL_ERR_IO_PERMISSIONS if a private key file is readable or writable by group or others. */
VEIL_RESULT veil_file_check_private(const char *path);
/* Reads a key file of exactly size bytes into locked memory; refuses group/other access. */
VEIL_RESULT veil_file_read_secret(const char *path, size_t size, struct veil_secret **out);
/* Writes data to path atomically with the given mode; refuses to replace unless overwrite. */
VEIL_RESULT veil_file_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                                   int overwrite);
/* read()/write() loops that restart on EINTR and short transfers. */
VEIL_RESULT veil_read_full(int fd, void *buf, size_t n, size_t *got);
VEIL_RESULT veil_write_full(int fd, const void *buf, size_t n);
VEIL_RESULT veil_pwrite_full(int fd, const void *buf, size_t n, off_t off);

/* Temp file beside `path` (same directory, so the final rename is atomic). */
struct veil_tmpfile {
    int fd;
    char *tmp_path;
    char *final_path;
};

VEIL_RESULT veil_tmpfile_open(const char *final_path, mode_t mode, struct veil_tmpfile *t);
/* fsync, then rename into place (refusing to replace unless overwrite). */
VEIL_RESULT veil_tmpfile_commit(struct veil_tmpfile *t, int overwrite);
/* Unlinks the temp file: nothing is left behind. Safe after commit (does nothing). */
void veil_tmpfile_abort(struct veil_tmpfile *t);

#endif
