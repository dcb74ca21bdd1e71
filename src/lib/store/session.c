/*
 * Sessions (the kbs-session-id cookie), kept here so that a restarted broker keeps them. The
 * nonce is single-use: marking it used is one UPDATE ... WHERE nonce_used = 0, and only the
 * caller whose UPDATE changed the row wins.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "store/store_int.h"

#define SESSION_ID_SIZE 32

void veil_store_session_free(struct veil_store_session *ss)
{
    if (ss == NULL) {
        return;
    }
    free(ss->tee_pubkey_json);
    free(ss->claims_json);
    ss->tee_pubkey_json = NULL;
    ss->claims_json = NULL;
}

static bool field_ok(const char *p, size_t size)
{
    return memchr(p, '\0', size) != NULL;
}

static VEIL_RESULT bind_json(struct veil_store *s, sqlite3_stmt *st, int i, const char *json)
{
    size_t n;

    if (json == NULL) {
        return store_check(s, sqlite3_bind_null(st, i), "bind");
    }
    n = strlen(json);
    ENSURE(n <= VEIL_STORE_JSON_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    return store_bind_text(s, st, i, json, n);
}

static VEIL_RESULT session_bind(struct veil_store *s, sqlite3_stmt *st,
                                const struct veil_store_session *ss)
{
    GUARD(store_bind_blob(s, st, 1, ss->id, SESSION_ID_SIZE));
    GUARD(store_bind_text(s, st, 2, ss->nonce, strlen(ss->nonce)));
    GUARD(store_bind_text(s, st, 3, ss->tee, strlen(ss->tee)));
    GUARD(store_bind_int64(s, st, 4, ss->created_at));
    GUARD(store_bind_int64(s, st, 5, ss->nonce_expires_at));
    GUARD(store_bind_int64(s, st, 6, ss->nonce_used ? 1 : 0));
    GUARD(store_bind_int64(s, st, 7, ss->attested ? 1 : 0));
    GUARD(store_bind_int64(s, st, 8, ss->expires_at));
    GUARD(bind_json(s, st, 9, ss->tee_pubkey_json));
    GUARD(bind_json(s, st, 10, ss->claims_json));
    return VEIL_RESULT_OK;
}

veil_result veil_store_session_create(struct veil_store *s, const struct veil_store_session *ss)
{
    sqlite3_stmt *st;
    veil_result r;

    ENSURE(s != NULL && ss != NULL, VEIL_ERR_USAGE);
    ENSURE(field_ok(ss->nonce, sizeof(ss->nonce)) && field_ok(ss->tee, sizeof(ss->tee)),
           VEIL_ERR_USAGE);
    store_lock_ephemeral(s);
    st = store_stmt(s, STMT_SESSION_INSERT);
    r = session_bind(s, st, ss);
    if (veil_ok(r)) {
        r = store_exec(s, st); /* a duplicate id is a constraint error: VEIL_ERR_STORE_DB */
    } else {
        store_stmt_done(st);
    }
    store_unlock_ephemeral(s);
    return r;
}

static VEIL_RESULT copy_text(sqlite3_stmt *st, int col, char *dst, size_t dst_size)
{
    size_t n = 0;
    const uint8_t *p = store_column_bytes(st, col, &n);

    ENSURE(n < dst_size && memchr(p, '\0', n) == NULL, VEIL_ERR_STORE_DB);
    memcpy(dst, p, n);
    dst[n] = '\0';
    return VEIL_RESULT_OK;
}

static VEIL_RESULT dup_json(sqlite3_stmt *st, int col, char **out)
{
    size_t n = 0;
    const uint8_t *p;
    char *c;

    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return VEIL_RESULT_OK;
    }
    p = store_column_bytes(st, col, &n);
    ENSURE(n <= VEIL_STORE_JSON_SIZE_MAX && memchr(p, '\0', n) == NULL, VEIL_ERR_STORE_DB);
    c = malloc(n + 1);
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    memcpy(c, p, n);
    c[n] = '\0';
    *out = c;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT session_row(sqlite3_stmt *st, const uint8_t id[32],
                               struct veil_store_session *out)
{
    struct veil_store_session ss;
    veil_result r;

    memset(&ss, 0, sizeof(ss));
    memcpy(ss.id, id, SESSION_ID_SIZE);
    GUARD(copy_text(st, 0, ss.nonce, sizeof(ss.nonce)));
    GUARD(copy_text(st, 1, ss.tee, sizeof(ss.tee)));
    ss.created_at = sqlite3_column_int64(st, 2);
    ss.nonce_expires_at = sqlite3_column_int64(st, 3);
    ss.nonce_used = sqlite3_column_int64(st, 4) != 0;
    ss.attested = sqlite3_column_int64(st, 5) != 0;
    ss.expires_at = sqlite3_column_int64(st, 6);
    r = dup_json(st, 7, &ss.tee_pubkey_json);
    if (veil_ok(r)) {
        r = dup_json(st, 8, &ss.claims_json);
    }
    if (!veil_ok(r)) {
        veil_store_session_free(&ss);
        return r;
    }
    *out = ss;
    return VEIL_RESULT_OK;
}

veil_result veil_store_session_get(struct veil_store *s, const uint8_t id[32],
                                   struct veil_store_session *out)
{
    sqlite3_stmt *st;
    veil_result r;
    int row = 0;

    ENSURE(s != NULL && id != NULL && out != NULL, VEIL_ERR_USAGE);
    store_lock(s);
    st = store_stmt(s, STMT_SESSION_GET);
    r = store_bind_blob(s, st, 1, id, SESSION_ID_SIZE);
    if (veil_ok(r)) {
        r = store_step(s, st, &row);
    }
    if (veil_ok(r) && !row) {
        r = veil_result_of(VEIL_ERR_STORE_NOT_FOUND);
    }
    if (veil_ok(r)) {
        r = session_row(st, id, out);
    }
    store_stmt_done(st);
    store_unlock(s);
    return r;
}

/* After an UPDATE that changed nothing: why (absent, used, expired). */
static VEIL_RESULT session_why_not(struct veil_store *s, const uint8_t id[32])
{
    sqlite3_stmt *st = store_stmt(s, STMT_SESSION_EXISTS);
    veil_result r;
    int row = 0;

    r = store_bind_blob(s, st, 1, id, SESSION_ID_SIZE);
    if (veil_ok(r)) {
        r = store_step(s, st, &row);
    }
    if (veil_ok(r)) {
        if (!row) {
            r = veil_result_of(VEIL_ERR_STORE_NOT_FOUND);
        } else if (sqlite3_column_int64(st, 0) != 0) {
            r = veil_result_of(VEIL_ERR_STORE_NONCE_USED);
        } else {
            r = veil_result_of(VEIL_ERR_STORE_NONCE_EXPIRED);
        }
    }
    store_stmt_done(st);
    return r;
}

static VEIL_RESULT use_nonce(struct veil_store *s, const uint8_t id[32], int64_t now)
{
    sqlite3_stmt *st = store_stmt(s, STMT_SESSION_USE_NONCE);

    GUARD(store_bind_blob(s, st, 1, id, SESSION_ID_SIZE));
    GUARD(store_bind_int64(s, st, 2, now));
    GUARD(store_exec(s, st));
    /* One connection under our mutex: changes() is this UPDATE's count. */
    if (sqlite3_changes(s->db) == 1) {
        return VEIL_RESULT_OK;
    }
    return session_why_not(s, id);
}

veil_result veil_store_session_use_nonce_at(struct veil_store *s, const uint8_t id[32], int64_t now)
{
    veil_result r;

    ENSURE(s != NULL && id != NULL, VEIL_ERR_USAGE);
    store_lock_ephemeral(s);
    r = use_nonce(s, id, now);
    store_unlock_ephemeral(s);
    return r;
}

veil_result veil_store_session_use_nonce(struct veil_store *s, const uint8_t id[32])
{
    return veil_store_session_use_nonce_at(s, id, (int64_t)time(NULL));
}

static VEIL_RESULT attest(struct veil_store *s, const uint8_t id[32], const char *tee_pubkey_json,
                          const char *claims_json, int64_t expires_at)
{
    sqlite3_stmt *st = store_stmt(s, STMT_SESSION_ATTEST);
    veil_result r;

    r = store_bind_blob(s, st, 1, id, SESSION_ID_SIZE);
    if (veil_ok(r)) {
        r = bind_json(s, st, 2, tee_pubkey_json);
    }
    if (veil_ok(r)) {
        r = bind_json(s, st, 3, claims_json);
    }
    if (veil_ok(r)) {
        r = store_bind_int64(s, st, 4, expires_at);
    }
    if (!veil_ok(r)) {
        store_stmt_done(st);
        return r;
    }
    GUARD(store_exec(s, st));
    if (sqlite3_changes(s->db) == 1) {
        return VEIL_RESULT_OK;
    }
    /* Absent, or its nonce was never consumed: attestation without a fresh nonce is refused. */
    r = session_why_not(s, id);
    return r.code == VEIL_ERR_STORE_NOT_FOUND ? r : veil_result_of(VEIL_ERR_USAGE);
}

veil_result veil_store_session_attest(struct veil_store *s, const uint8_t id[32],
                                      const char *tee_pubkey_json, const char *claims_json,
                                      int64_t expires_at)
{
    veil_result r;

    ENSURE(s != NULL && id != NULL && tee_pubkey_json != NULL && claims_json != NULL,
           VEIL_ERR_USAGE);
    store_lock_ephemeral(s);
    r = attest(s, id, tee_pubkey_json, claims_json, expires_at);
    store_unlock_ephemeral(s);
    return r;
}

veil_result veil_store_session_expire(struct veil_store *s, int64_t now, int64_t *removed)
{
    sqlite3_stmt *st;
    veil_result r;

    ENSURE_REF(s);
    store_lock_ephemeral(s);
    st = store_stmt(s, STMT_SESSION_EXPIRE);
    r = store_bind_int64(s, st, 1, now);
    if (veil_ok(r)) {
        r = store_exec(s, st);
    } else {
        store_stmt_done(st);
    }
    if (veil_ok(r) && removed != NULL) {
        *removed = sqlite3_changes64(s->db);
    }
    store_unlock_ephemeral(s);
    return r;
}
