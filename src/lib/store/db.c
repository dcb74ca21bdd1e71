/*
 * The database: open, schema and migrations, pragmas, the prepared statement table, and the
 * small helpers the other files use (docs/STORE.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store_int.h"

/* Migration i brings the schema from version i to i + 1. Constant DDL only. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE resources ("
    " path TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (version > 0),"
    " nonce BLOB NOT NULL CHECK (length(nonce) = 12),"
    " ciphertext BLOB NOT NULL,"
    " tag BLOB NOT NULL CHECK (length(tag) = 16),"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (path, version)) WITHOUT ROWID;"
    "CREATE TABLE policies ("
    " target TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (version > 0),"
    " json TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (target, version)) WITHOUT ROWID;"
    /* sessions: written by veil-kbs until sessions moved into its memory (src/lib/kbs/sessions.c);
     * the table stays in this migration, which existing stores have applied, and is unused. */
    "CREATE TABLE sessions ("
    " id BLOB PRIMARY KEY CHECK (length(id) = 32),"
    " nonce TEXT NOT NULL,"
    " tee TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " nonce_expires_at INTEGER NOT NULL,"
    " nonce_used INTEGER NOT NULL DEFAULT 0 CHECK (nonce_used IN (0, 1)),"
    " attested INTEGER NOT NULL DEFAULT 0 CHECK (attested IN (0, 1)),"
    " expires_at INTEGER NOT NULL,"
    " tee_pubkey_json TEXT,"
    " claims_json TEXT) WITHOUT ROWID;"
    "CREATE INDEX sessions_expiry ON sessions (expires_at);"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " requester TEXT NOT NULL,"
    " tee TEXT NOT NULL,"
    " chip_id TEXT NOT NULL,"
    " measurement TEXT NOT NULL,"
    " tcb TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " policy_version INTEGER NOT NULL,"
    " resource TEXT NOT NULL,"
    " decision TEXT NOT NULL,"
    " reasons TEXT NOT NULL,"
    " prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
    " hash BLOB NOT NULL CHECK (length(hash) = 32));"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
};

#define SCHEMA_VERSION ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const stmt_sql[STMT_COUNT_] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_RESOURCE_LAST_VERSION] =
        "SELECT coalesce(max(version), 0) FROM resources WHERE path = ?1",
    [STMT_RESOURCE_INSERT] =
        "INSERT INTO resources (path, version, nonce, ciphertext, tag, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_RESOURCE_GET_LATEST] =
        "SELECT version, nonce, ciphertext, tag FROM resources WHERE path = ?1"
        " ORDER BY version DESC LIMIT 1",
    [STMT_RESOURCE_GET_VERSION] =
        "SELECT version, nonce, ciphertext, tag FROM resources WHERE path = ?1 AND version = ?2",
    [STMT_POLICY_LAST_VERSION] = "SELECT coalesce(max(version), 0) FROM policies WHERE target = ?1",
    [STMT_POLICY_INSERT] =
        "INSERT INTO policies (target, version, json, created_at) VALUES (?1, ?2, ?3, ?4)",
    [STMT_POLICY_GET_LATEST] =
        "SELECT version, json FROM policies WHERE target = ?1 ORDER BY version DESC LIMIT 1",
    [STMT_POLICY_FOREACH] =
        "SELECT p.target, p.version, p.json FROM policies p"
        " WHERE p.version = (SELECT max(q.version) FROM policies q WHERE q.target = p.target)"
        " ORDER BY p.target",
    [STMT_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [STMT_AUDIT_INSERT] =
        "INSERT INTO audit (seq, time, kind, requester, tee, chip_id, measurement, tcb, policy,"
        " policy_version, resource, decision, reasons, prev_hash, hash)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [STMT_AUDIT_FROM] =
        "SELECT seq, time, kind, requester, tee, chip_id, measurement, tcb, policy,"
        " policy_version, resource, decision, reasons, prev_hash, hash FROM audit"
        " WHERE seq >= ?1 ORDER BY seq",
};

void store_lock(struct veil_store *s)
{
    int rc = pthread_mutex_lock(&s->lock);

    VEIL_ASSERT(rc == 0);
}

void store_unlock(struct veil_store *s)
{
    int rc = pthread_mutex_unlock(&s->lock);

    VEIL_ASSERT(rc == 0);
}

sqlite3_stmt *store_stmt(struct veil_store *s, enum store_stmt id)
{
    VEIL_ASSERT(id < STMT_COUNT_ && s->stmt[id] != NULL);
    return s->stmt[id];
}

void store_stmt_done(sqlite3_stmt *st)
{
    /* reset returns the last step's error again; the step already reported it. */
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

veil_result store_check(struct veil_store *s, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return VEIL_RESULT_OK;
    }
    /* SQLite's message names tables and constraints, never bound values. */
    veil_log(VEIL_LOG_WARN, "sqlite=%d %s (in: %s)", rc,
             s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), what);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        BAIL(VEIL_ERR_STORE_BUSY);
    }
    BAIL(VEIL_ERR_STORE_DB);
}

veil_result store_step(struct veil_store *s, sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);

    *row = rc == SQLITE_ROW;
    ENSURE(rc == SQLITE_ROW || rc == SQLITE_DONE, store_check(s, rc, sqlite3_sql(st)).code);
    return VEIL_RESULT_OK;
}

veil_result store_exec(struct veil_store *s, sqlite3_stmt *st)
{
    int row = 0;
    veil_result r = store_step(s, st, &row);

    store_stmt_done(st);
    return r;
}

veil_result store_bind_text(struct veil_store *s, sqlite3_stmt *st, int i, const char *p, size_t n)
{
    ENSURE(n <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
    return store_check(s, sqlite3_bind_text(st, i, p, (int)n, SQLITE_STATIC), "bind");
}

veil_result store_bind_blob(struct veil_store *s, sqlite3_stmt *st, int i, const void *p, size_t n)
{
    ENSURE(n <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
    /* A zero-length blob must still be a blob, not NULL. */
    if (n == 0) {
        return store_check(s, sqlite3_bind_zeroblob(st, i, 0), "bind");
    }
    return store_check(s, sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC), "bind");
}

veil_result store_bind_int64(struct veil_store *s, sqlite3_stmt *st, int i, int64_t v)
{
    return store_check(s, sqlite3_bind_int64(st, i, (sqlite3_int64)v), "bind");
}

veil_result store_begin(struct veil_store *s)
{
    return store_exec(s, store_stmt(s, STMT_BEGIN));
}

veil_result store_commit(struct veil_store *s)
{
    return store_exec(s, store_stmt(s, STMT_COMMIT));
}

void store_rollback(struct veil_store *s)
{
    if (sqlite3_get_autocommit(s->db)) {
        return; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    }
    veil_result r = store_exec(s, store_stmt(s, STMT_ROLLBACK));

    if (!veil_ok(r)) {
        veil_log_r(VEIL_LOG_ERROR, r, "rollback failed");
    }
}

const uint8_t *store_column_bytes(sqlite3_stmt *st, int col, size_t *n)
{
    const uint8_t *p;
    int len;

    if (sqlite3_column_type(st, col) == SQLITE_BLOB) {
        p = sqlite3_column_blob(st, col);
    } else {
        p = sqlite3_column_text(st, col);
    }
    len = sqlite3_column_bytes(st, col);
    *n = len > 0 ? (size_t)len : 0;
    return p != NULL ? p : (const uint8_t *)"";
}

/* A single-row, single-column integer query (constant SQL). */
static VEIL_RESULT query_int(struct veil_store *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    veil_result r;
    int row = 0;

    GUARD(store_check(s, sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), sql));
    r = store_step(s, st, &row);
    if (veil_ok(r) && !row) {
        r = veil_result_of(VEIL_ERR_STORE_DB);
    }
    if (veil_ok(r)) {
        *v = sqlite3_column_int64(st, 0);
    }
    (void)sqlite3_finalize(st);
    return r;
}

static VEIL_RESULT exec_const(struct veil_store *s, const char *sql)
{
    return store_check(s, sqlite3_exec(s->db, sql, NULL, NULL, NULL), sql);
}

static VEIL_RESULT configure(struct veil_store *s)
{
    sqlite3_stmt *st = NULL;
    veil_result r;
    int row = 0;
    int on = 0;

    /* The schema is data an attacker with file access may have edited: trust none of it. */
    GUARD(store_check(s, sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on), "config"));
    GUARD(
        store_check(s, sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on), "config"));
    GUARD(store_check(s, sqlite3_busy_timeout(s->db, 5000), "busy_timeout"));
    GUARD(store_check(s, sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL),
                      "journal_mode"));
    r = store_step(s, st, &row);
    if (veil_ok(r) &&
        (!row || sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)) {
        veil_log(VEIL_LOG_ERROR, "cannot switch the database to WAL mode");
        r = veil_result_of(VEIL_ERR_STORE_DB);
    }
    (void)sqlite3_finalize(st);
    GUARD(r);
    /* FULL: every commit fsyncs the WAL, so a power cut loses nothing committed (STORE.md). */
    GUARD(exec_const(s, "PRAGMA synchronous=FULL"));
    GUARD(exec_const(s, "PRAGMA foreign_keys=ON"));
    GUARD(exec_const(s, "PRAGMA secure_delete=ON"));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT migrate_locked(struct veil_store *s)
{
    int64_t have = 0;
    int64_t rows = 0;

    GUARD(exec_const(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    GUARD(query_int(s, "SELECT count(*) FROM schema_version", &rows));
    if (rows == 0) {
        GUARD(exec_const(s, "INSERT INTO schema_version (version) VALUES (0)"));
    }
    GUARD(query_int(s, "SELECT max(version) FROM schema_version", &have));
    ENSURE(have >= 0, VEIL_ERR_STORE_DB);
    if (have > SCHEMA_VERSION) {
        veil_log(VEIL_LOG_ERROR, "schema=%lld known=%lld", (long long)have,
                 (long long)SCHEMA_VERSION);
        BAIL(VEIL_ERR_STORE_SCHEMA);
    }
    for (int64_t v = have; v < SCHEMA_VERSION; v++) {
        GUARD(exec_const(s, migrations[v]));
        /* The only row: one UPDATE per step, so a half-applied migration cannot commit. */
        GUARD(exec_const(s, "UPDATE schema_version SET version = version + 1"));
        veil_log(VEIL_LOG_INFO, "schema migrated to=%lld", (long long)(v + 1));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT migrate(struct veil_store *s)
{
    veil_result r;

    GUARD(exec_const(s, "BEGIN IMMEDIATE"));
    r = migrate_locked(s);
    if (veil_ok(r)) {
        r = exec_const(s, "COMMIT");
    }
    if (!veil_ok(r) && !sqlite3_get_autocommit(s->db)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return r;
}

static VEIL_RESULT prepare_all(struct veil_store *s)
{
    for (int i = 0; i < STMT_COUNT_; i++) {
        GUARD(store_check(s,
                          sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                             &s->stmt[i], NULL),
                          stmt_sql[i]));
    }
    return VEIL_RESULT_OK;
}

/* The database and its -wal/-shm (SQLite copies the mode) are created 0600. */
static VEIL_RESULT create_private(const char *db_path)
{
    int fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    ENSURE(fd >= 0, errno == EEXIST ? VEIL_ERR_IO_EXISTS : VEIL_ERR_IO_OPEN);
    ENSURE(close(fd) == 0, VEIL_ERR_IO_WRITE);
    return VEIL_RESULT_OK;
}

veil_result veil_store_open(const char *db_path, const char *kek_path, struct veil_store **out)
{
    struct veil_store *s = NULL;
    pthread_mutexattr_t attr;
    veil_result r;
    int rc;

    ENSURE(db_path != NULL && kek_path != NULL && out != NULL, VEIL_ERR_USAGE);
    s = calloc(1, sizeof(*s));
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    /* Error-checking: a foreach callback that calls back into the store asserts, not hangs. */
    if (pthread_mutexattr_init(&attr) != 0) {
        free(s);
        BAIL(VEIL_ERR_NOMEM);
    }
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0) {
        rc = pthread_mutex_init(&s->lock, &attr);
    }
    (void)pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        free(s);
        BAIL(VEIL_ERR_NOMEM);
    }
    r = store_audit_init(s);
    if (!veil_ok(r)) {
        goto out_close;
    }
    r = store_kek_load(kek_path, &s->kek);
    if (!veil_ok(r)) {
        goto out_close;
    }
    r = create_private(db_path);
    if (!veil_ok(r)) {
        goto out_close;
    }
    /* Our mutex serialises every use of the connection: SQLite's own mutex is not needed. */
    rc = sqlite3_open_v2(db_path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
    r = store_check(s, rc, "open");
    if (veil_ok(r)) {
        r = configure(s);
    }
    if (veil_ok(r)) {
        r = migrate(s);
    }
    if (veil_ok(r)) {
        r = prepare_all(s);
    }
    if (veil_ok(r)) {
        *out = s;
        s = NULL;
    }
out_close:
    veil_store_close(s);
    return r;
}

void veil_store_close(struct veil_store *s)
{
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < STMT_COUNT_; i++) {
        (void)sqlite3_finalize(s->stmt[i]);
    }
    if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK) {
        veil_log(VEIL_LOG_ERROR, "sqlite3_close: %s", sqlite3_errmsg(s->db));
    }
    veil_secret_free(s->kek);
    store_audit_fini(s);
    (void)pthread_mutex_destroy(&s->lock);
    free(s);
}
