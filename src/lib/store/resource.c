/*
 * Resources: each version wrapped with AES-256-GCM under the KEK, a fresh random 96-bit nonce per
 * version, AAD = "veil kbs resource v1" || path || NUL || u64be(version). A row copied to another
 * path or version fails to authenticate. Plaintext only ever lands in the caller's writer.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"
#include "store/store_int.h"

#define RESOURCE_AAD_LABEL "veil kbs resource v1"
#define PATH_SIZE_MAX      (3 * (VEIL_STORE_SEGMENT_SIZE_MAX + 1))

static bool segment_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* One segment at p, up to '/' or NUL; *len set. "." and ".." are refused (URL routing). */
static bool segment_valid(const char *p, size_t *len)
{
    size_t n = 0;

    while (p[n] != '\0' && p[n] != '/') {
        if (!segment_char(p[n]) || n >= VEIL_STORE_SEGMENT_SIZE_MAX) {
            return false;
        }
        n++;
    }
    *len = n;
    return n > 0 && !(n == 1 && p[0] == '.') && !(n == 2 && p[0] == '.' && p[1] == '.');
}

bool veil_store_path_valid(const char *path)
{
    size_t len = 0;

    if (path == NULL) {
        return false;
    }
    for (int seg = 0; seg < 3; seg++) {
        if (!segment_valid(path, &len)) {
            return false;
        }
        path += len;
        if (*path == '\0') {
            return true;
        }
        path++; /* the '/' */
    }
    return false;
}

static VEIL_RESULT resource_aad(const char *path, int64_t version, struct veil_wr *aad)
{
    GUARD(veil_wr_bytes(aad, RESOURCE_AAD_LABEL, strlen(RESOURCE_AAD_LABEL)));
    GUARD(veil_wr_bytes(aad, path, strlen(path) + 1)); /* with its NUL */
    GUARD(veil_wr_u64be(aad, (uint64_t)version));
    return VEIL_RESULT_OK;
}

veil_result store_last_version(struct veil_store *s, enum store_stmt id, const char *key,
                               int64_t *version)
{
    sqlite3_stmt *st = store_stmt(s, id);
    veil_result r;
    int row = 0;

    r = store_bind_text(s, st, 1, key, strlen(key));
    if (veil_ok(r)) {
        r = store_step(s, st, &row);
    }
    if (veil_ok(r) && !row) {
        r = veil_result_of(VEIL_ERR_STORE_DB);
    }
    if (veil_ok(r)) {
        *version = sqlite3_column_int64(st, 0);
    }
    store_stmt_done(st);
    return r;
}

/* Inside the caller's transaction: wraps and inserts version `version`. */
static VEIL_RESULT put_version(struct veil_store *s, const char *path, int64_t version,
                               const uint8_t *data, size_t n)
{
    uint8_t aad_buf[sizeof(RESOURCE_AAD_LABEL) + PATH_SIZE_MAX + 8];
    uint8_t nonce[VEIL_GCM_NONCE_SIZE];
    uint8_t tag[VEIL_GCM_TAG_SIZE];
    struct veil_gcm g = {0};
    struct veil_wr aad;
    sqlite3_stmt *st = NULL;
    uint8_t *ct = NULL;
    veil_result r;

    veil_wr_init_fixed(&aad, aad_buf, sizeof(aad_buf));
    GUARD(resource_aad(path, version, &aad));
    GUARD_OSSL(RAND_bytes(nonce, sizeof(nonce)), VEIL_ERR_INTERNAL_OSSL);
    ct = malloc(n > 0 ? n : 1);
    ENSURE(ct != NULL, VEIL_ERR_NOMEM);
    r = veil_gcm_init(&g, s->kek->data, 1);
    if (veil_ok(r)) {
        r = veil_gcm_seal(&g, nonce, aad.data, aad.len, data, n, ct, tag);
    }
    veil_gcm_free(&g);
    if (!veil_ok(r)) {
        goto out_free;
    }
    st = store_stmt(s, STMT_RESOURCE_INSERT);
    r = store_bind_text(s, st, 1, path, strlen(path));
    if (veil_ok(r)) {
        r = store_bind_int64(s, st, 2, version);
    }
    if (veil_ok(r)) {
        r = store_bind_blob(s, st, 3, nonce, sizeof(nonce));
    }
    if (veil_ok(r)) {
        r = store_bind_blob(s, st, 4, ct, n);
    }
    if (veil_ok(r)) {
        r = store_bind_blob(s, st, 5, tag, sizeof(tag));
    }
    if (veil_ok(r)) {
        r = store_bind_int64(s, st, 6, (int64_t)time(NULL));
    }
    if (veil_ok(r)) {
        r = store_exec(s, st);
    } else {
        store_stmt_done(st);
    }
out_free:
    free(ct);
    return r;
}

static VEIL_RESULT resource_put(struct veil_store *s, const char *path, const uint8_t *data,
                                size_t n, int64_t *version)
{
    int64_t last = 0;
    veil_result r;

    ENSURE(veil_store_path_valid(path), VEIL_ERR_STORE_PATH);
    ENSURE(data != NULL || n == 0, VEIL_ERR_USAGE);
    ENSURE(n <= VEIL_STORE_RESOURCE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    GUARD(store_begin(s));
    r = store_last_version(s, STMT_RESOURCE_LAST_VERSION, path, &last);
    if (veil_ok(r) && last == INT64_MAX) {
        r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
    }
    if (veil_ok(r)) {
        r = put_version(s, path, last + 1, data, n);
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

veil_result veil_store_resource_put(struct veil_store *s, const char *path, const uint8_t *data,
                                    size_t n, int64_t *version)
{
    veil_result r;

    ENSURE_REF(s);
    store_lock(s);
    r = resource_put(s, path, data, n, version);
    store_unlock(s);
    return r;
}

/* Unwraps the row under st into out (appending); VEIL_ERR_CRYPTO if it fails to authenticate. */
static VEIL_RESULT unwrap_row(struct veil_store *s, sqlite3_stmt *st, const char *path,
                              struct veil_wr *out, int64_t *version)
{
    uint8_t aad_buf[sizeof(RESOURCE_AAD_LABEL) + PATH_SIZE_MAX + 8];
    struct veil_gcm g = {0};
    struct veil_wr aad;
    const uint8_t *nonce;
    const uint8_t *ct;
    const uint8_t *tag;
    size_t nonce_size;
    size_t ct_size;
    size_t tag_size;
    int64_t v = sqlite3_column_int64(st, 0);
    veil_result r;

    nonce = store_column_bytes(st, 1, &nonce_size);
    ct = store_column_bytes(st, 2, &ct_size);
    tag = store_column_bytes(st, 3, &tag_size);
    /* The row is data from disk: sizes are checked like any other input. */
    ENSURE(nonce_size == VEIL_GCM_NONCE_SIZE && tag_size == VEIL_GCM_TAG_SIZE, VEIL_ERR_CRYPTO);
    ENSURE(ct_size <= VEIL_STORE_RESOURCE_SIZE_MAX, VEIL_ERR_CRYPTO);
    veil_wr_init_fixed(&aad, aad_buf, sizeof(aad_buf));
    GUARD(resource_aad(path, v, &aad));
    GUARD(veil_wr_reserve(out, ct_size));
    GUARD(veil_gcm_init(&g, s->kek->data, 0));
    r = veil_gcm_open(&g, nonce, aad.data, aad.len, ct, ct_size,
                      ct_size > 0 ? out->data + out->len : NULL, tag);
    veil_gcm_free(&g);
    if (!veil_ok(r)) {
        if (ct_size > 0) {
            OPENSSL_cleanse(out->data + out->len, ct_size);
        }
        return r;
    }
    out->len += ct_size;
    if (version != NULL) {
        *version = v;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT resource_get(struct veil_store *s, const char *path, int64_t want,
                                struct veil_wr *out, int64_t *version)
{
    enum store_stmt id = want > 0 ? STMT_RESOURCE_GET_VERSION : STMT_RESOURCE_GET_LATEST;
    sqlite3_stmt *st = store_stmt(s, id);
    veil_result r;
    int row = 0;

    r = store_bind_text(s, st, 1, path, strlen(path));
    if (veil_ok(r) && want > 0) {
        r = store_bind_int64(s, st, 2, want);
    }
    if (veil_ok(r)) {
        r = store_step(s, st, &row);
    }
    if (veil_ok(r) && !row) {
        r = veil_result_of(VEIL_ERR_STORE_NOT_FOUND);
    }
    if (veil_ok(r)) {
        r = unwrap_row(s, st, path, out, version);
    }
    store_stmt_done(st);
    return r;
}

veil_result veil_store_resource_get(struct veil_store *s, const char *path, struct veil_wr *out,
                                    int64_t *version)
{
    veil_result r;

    ENSURE(s != NULL && out != NULL, VEIL_ERR_USAGE);
    ENSURE(veil_store_path_valid(path), VEIL_ERR_STORE_PATH);
    store_lock(s);
    r = resource_get(s, path, 0, out, version);
    store_unlock(s);
    return r;
}

veil_result veil_store_resource_get_version(struct veil_store *s, const char *path, int64_t version,
                                            struct veil_wr *out)
{
    veil_result r;

    ENSURE(s != NULL && out != NULL, VEIL_ERR_USAGE);
    ENSURE(veil_store_path_valid(path), VEIL_ERR_STORE_PATH);
    ENSURE(version > 0, VEIL_ERR_STORE_NOT_FOUND);
    store_lock(s);
    r = resource_get(s, path, version, out, NULL);
    store_unlock(s);
    return r;
}
