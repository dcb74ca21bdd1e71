/*
 * Policies: versioned rows (target, version, json, created_at); every version is kept and the
 * latest wins. A target is a resource path or the repository wildcard "repo/" "*"; a resource
 * without its own policy falls back to its repository's. The JSON is stored as given (the policy
 * module parses it).
 */
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define REPO_WILDCARD_SIZE_MAX (VEIL_STORE_SEGMENT_SIZE_MAX + 3) /* repo, slash, star, NUL */

static bool target_valid(const char *target)
{
    size_t n;
    char repo[VEIL_STORE_SEGMENT_SIZE_MAX + 1];

    if (target == NULL) {
        return false;
    }
    n = strlen(target);
    if (n >= 3 && n - 2 <= VEIL_STORE_SEGMENT_SIZE_MAX && strcmp(target + n - 2, "/*") == 0) {
        memcpy(repo, target, n - 2);
        repo[n - 2] = '\0';
        return strchr(repo, '/') == NULL && veil_store_path_valid(repo);
    }
    return veil_store_path_valid(target);
}

static VEIL_RESULT policy_set(struct veil_store *s, const char *target, const char *json, size_t n,
                              int64_t *version)
{
    sqlite3_stmt *st;
    int64_t last = 0;
    veil_result r;

    ENSURE(target_valid(target), VEIL_ERR_STORE_PATH);
    ENSURE(json != NULL, VEIL_ERR_USAGE);
    ENSURE(n <= VEIL_STORE_POLICY_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    ENSURE(memchr(json, '\0', n) == NULL, VEIL_ERR_PROTO);
    GUARD(store_begin(s));
    r = store_last_version(s, STMT_POLICY_LAST_VERSION, target, &last);
    if (veil_ok(r) && last == INT64_MAX) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        st = store_stmt(s, STMT_POLICY_INSERT);
        r = store_bind_text(s, st, 1, target, strlen(target));
        if (veil_ok(r)) {
            r = store_bind_int64(s, st, 2, last + 1);
        }
        if (veil_ok(r)) {
            r = store_bind_text(s, st, 3, json, n);
        }
        if (veil_ok(r)) {
            r = store_bind_int64(s, st, 4, (int64_t)time(NULL));
        }
        if (veil_ok(r)) {
            r = store_exec(s, st);
        } else {
            store_stmt_done(st);
        }
    }
    if (veil_ok(r)) {
        r = store_commit(s);
    }
    if (!veil_ok(r)) {
        store_rollback(s);
        return r;
    }
    if (version != NULL) {
        *version = last + 1;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_store_policy_set(struct veil_store *s, const char *target, const char *json,
                                  size_t n, int64_t *version)
{
    veil_result r;

    ENSURE_REF(s);
    store_lock(s);
    r = policy_set(s, target, json, n, version);
    store_unlock(s);
    return r;
}

/* The latest policy of exactly `target`; *found = false when it has none. */
static VEIL_RESULT policy_lookup(struct veil_store *s, const char *target, struct veil_wr *json,
                                 int64_t *version, bool *found)
{
    sqlite3_stmt *st = store_stmt(s, STMT_POLICY_GET_LATEST);
    const uint8_t *p;
    size_t n = 0;
    veil_result r;
    int row = 0;

    *found = false;
    r = store_bind_text(s, st, 1, target, strlen(target));
    if (veil_ok(r)) {
        r = store_step(s, st, &row);
    }
    if (veil_ok(r) && row) {
        p = store_column_bytes(st, 1, &n);
        r = n <= VEIL_STORE_POLICY_SIZE_MAX ? veil_wr_bytes(json, p, n)
                                            : veil_result_of(VEIL_ERR_PROTO_LIMIT);
        if (veil_ok(r)) {
            *found = true;
            if (version != NULL) {
                *version = sqlite3_column_int64(st, 0);
            }
        }
    }
    store_stmt_done(st);
    return r;
}

static VEIL_RESULT copy_target(const char *t, char *target, size_t target_size)
{
    size_t n = strlen(t);

    if (target == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(n < target_size, VEIL_ERR_USAGE_LIMIT);
    memcpy(target, t, n + 1);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT policy_get(struct veil_store *s, const char *resource_path, struct veil_wr *json,
                              char *target, size_t target_size, int64_t *version)
{
    char repo[REPO_WILDCARD_SIZE_MAX];
    size_t repo_size;
    bool found = false;

    ENSURE(target_valid(resource_path), VEIL_ERR_STORE_PATH);
    ENSURE(json != NULL, VEIL_ERR_USAGE);
    GUARD(policy_lookup(s, resource_path, json, version, &found));
    if (found) {
        return copy_target(resource_path, target, target_size);
    }
    repo_size = strcspn(resource_path, "/");
    if (resource_path[repo_size] == '\0' || resource_path[repo_size + 1] == '*') {
        BAIL(VEIL_ERR_STORE_NOT_FOUND); /* a bare repo or already a wildcard */
    }
    VEIL_ASSERT(repo_size <= VEIL_STORE_SEGMENT_SIZE_MAX);
    memcpy(repo, resource_path, repo_size);
    memcpy(repo + repo_size, "/*", 3);
    GUARD(policy_lookup(s, repo, json, version, &found));
    ENSURE(found, VEIL_ERR_STORE_NOT_FOUND);
    return copy_target(repo, target, target_size);
}

veil_result veil_store_policy_get(struct veil_store *s, const char *resource_path,
                                  struct veil_wr *json, char *target, size_t target_size,
                                  int64_t *version)
{
    veil_result r;

    ENSURE_REF(s);
    store_lock(s);
    r = policy_get(s, resource_path, json, target, target_size, version);
    store_unlock(s);
    return r;
}

static VEIL_RESULT policy_foreach(struct veil_store *s,
                                  void (*fn)(void *ctx, const char *target, int64_t version,
                                             const char *json, size_t n),
                                  void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, STMT_POLICY_FOREACH);
    veil_result r;
    int row = 0;

    for (;;) {
        r = store_step(s, st, &row);
        if (!veil_ok(r) || !row) {
            break;
        }
        size_t n = 0;
        const uint8_t *json = store_column_bytes(st, 2, &n);
        const char *target = (const char *)sqlite3_column_text(st, 0);

        fn(ctx, target != NULL ? target : "", sqlite3_column_int64(st, 1), (const char *)json, n);
    }
    store_stmt_done(st);
    return r;
}

veil_result veil_store_policy_foreach(struct veil_store *s,
                                      void (*fn)(void *ctx, const char *target, int64_t version,
                                                 const char *json, size_t n),
                                      void *ctx)
{
    veil_result r;

    ENSURE(s != NULL && fn != NULL, VEIL_ERR_USAGE);
    store_lock(s);
    r = policy_foreach(s, fn, ctx);
    store_unlock(s);
    return r;
}
