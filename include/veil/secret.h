/*
 * Locked, non-dumpable memory for keys and plaintext model bytes.
 * Pages are mlock'ed (never swapped), excluded from core dumps (MADV_DONTDUMP) and from forked
 * children (MADV_DONTFORK), and wiped with OPENSSL_cleanse before they are unmapped.
 */
#ifndef VEIL_SECRET_H
#define VEIL_SECRET_H

#include <stddef.h>

#include <veil/export.h>

/* *out receives size bytes of zeroed locked memory. -VEIL_ERR_NOMEM_LOCK if mlock is refused. */
VEIL_API int veil_locked_alloc(size_t size, void **out);
/* Wipes and releases memory from veil_locked_alloc; size must be the size it was given. */
VEIL_API void veil_locked_free(void *p, size_t size);

/* Process hardening for programs that hold secrets: no core dumps, no ptrace by peers. */
VEIL_API int veil_harden_process(void);

#endif
