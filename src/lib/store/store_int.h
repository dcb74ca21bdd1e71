/*
 * Inside the store: the handle, the table of prepared statements, and the helpers every file of
 * the module uses. One SQLite connection per struct veil_store, guarded by one mutex: every public
 * function takes it for its whole duration (callbacks of the foreach functions run under it and
 * must not call back into the store), except that an audit append may wait for another thread
 * to write its record (group commit, audit.c) and takes it only to write a batch.
 */
#ifndef VEIL_STORE_INT_H
#define VEIL_STORE_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "base/secret.h"
#include "store/store.h"

/* Each statement is prepared once at open and reused (reset and unbound after every use). */
enum store_stmt {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_RESOURCE_LAST_VERSION,
    STMT_RESOURCE_INSERT,
    STMT_RESOURCE_GET_LATEST,
    STMT_RESOURCE_GET_VERSION,
    STMT_POLICY_LAST_VERSION,
    STMT_POLICY_INSERT,
    STMT_POLICY_GET_LATEST,
    STMT_POLICY_FOREACH,
    STMT_AUDIT_HEAD,
    STMT_AUDIT_INSERT,
    STMT_AUDIT_FROM,
    STMT_COUNT_,
};

struct audit_pending;

struct veil_store {
    pthread_mutex_t lock;
    sqlite3 *db;
    struct veil_secret *kek; /* VEIL_AES256_KEY_SIZE bytes, locked memory */
    sqlite3_stmt *stmt[STMT_COUNT_];
    /* Audit group commit (audit.c): appends waiting for the next transaction, under audit_mu
     * (never held while taking `lock`). One appender at a time is the leader: it takes the whole
     * queue, writes it in one transaction and wakes the others once it is durable. */
    bool audit_init;
    pthread_mutex_t audit_mu;
    pthread_cond_t audit_cv;
    pthread_cond_t audit_lead_cv; /* the leader's commit delay: signalled when one may end */
    struct audit_pending *audit_queue;
    struct audit_pending **audit_tail;
    bool audit_flushing;
    uint32_t audit_delay_us; /* commit delay: 0 = commit at once */
    size_t audit_expected;   /* callers that said a record will follow and have not queued it */
    uint64_t audit_commits;
    uint64_t audit_records;
};

/* audit.c: the group-commit state (called by veil_store_open / veil_store_close). */
VEIL_RESULT store_audit_init(struct veil_store *s);
void store_audit_fini(struct veil_store *s);

void store_lock(struct veil_store *s);
void store_unlock(struct veil_store *s);

/* The cached statement, ready for binding. Give it back with store_stmt_done. */
sqlite3_stmt *store_stmt(struct veil_store *s, enum store_stmt id);
void store_stmt_done(sqlite3_stmt *st);

/* SQLite result codes to veil results (SQLITE_BUSY -> VEIL_ERR_STORE_BUSY, else STORE_DB). */
VEIL_RESULT store_check(struct veil_store *s, int rc, const char *what);
/* One step; *row is 1 for SQLITE_ROW, 0 for SQLITE_DONE, anything else is an error. */
VEIL_RESULT store_step(struct veil_store *s, sqlite3_stmt *st, int *row);
/* Steps a statement that returns no row, then gives it back. */
VEIL_RESULT store_exec(struct veil_store *s, sqlite3_stmt *st);

VEIL_RESULT store_bind_text(struct veil_store *s, sqlite3_stmt *st, int i, const char *p, size_t n);
VEIL_RESULT store_bind_blob(struct veil_store *s, sqlite3_stmt *st, int i, const void *p, size_t n);
VEIL_RESULT store_bind_int64(struct veil_store *s, sqlite3_stmt *st, int i, int64_t v);

/* BEGIN IMMEDIATE (the write lock is taken at once, so reads inside see the latest state). */
VEIL_RESULT store_begin(struct veil_store *s);
VEIL_RESULT store_commit(struct veil_store *s);
void store_rollback(struct veil_store *s);

/* A column as bytes (SQLite gives "" for NULL) with its size. */
const uint8_t *store_column_bytes(sqlite3_stmt *st, int col, size_t *n);

/* max(version) for a path or target (0 if none); a STMT_*_LAST_VERSION statement. */
VEIL_RESULT store_last_version(struct veil_store *s, enum store_stmt id, const char *key,
                               int64_t *version);

/* kek.c */
VEIL_RESULT store_kek_load(const char *path, struct veil_secret **out);

/* Limits. */
#define VEIL_STORE_RESOURCE_SIZE_MAX (1u << 20)
#define VEIL_STORE_POLICY_SIZE_MAX   (64u << 10)
#define VEIL_STORE_JSON_SIZE_MAX     (64u << 10)
#define VEIL_STORE_AUDIT_FIELD_MAX   (64u << 10)
#define VEIL_STORE_SEGMENT_SIZE_MAX  128

#endif
