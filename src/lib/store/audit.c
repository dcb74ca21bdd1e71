/*
 * The audit log: an append-only table whose records are hash-chained.
 *
 *   hash = SHA-256(prev_hash || u64be(seq) || u64be(time) || vec32(kind) || vec32(requester) ||
 *                  vec32(tee) || vec32(chip_id) || vec32(measurement) || vec32(tcb) ||
 *                  vec32(policy) || u64be(policy_version) || vec32(resource) || vec32(decision) ||
 *                  vec32(reasons))
 *
 * vec32 = u32be length then the bytes, so no two field lists encode alike. The first record's
 * prev_hash is 32 zero bytes; an append reads the head and inserts in one BEGIN IMMEDIATE
 * transaction, shared with the appends of other threads waiting at that moment (group commit:
 * one fsync for all of them, and none returns before it). Triggers refuse UPDATE and DELETE; the
 * chain is what catches edits made with any other tool. A cut-off tail leaves a valid chain: see
 * veil_store_audit_head.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "store/store_int.h"

#define AUDIT_TEXT_COUNT 10
#define AUDIT_ENC_SIZE_MAX \
    (VEIL_SHA256_SIZE + 3 * 8 + AUDIT_TEXT_COUNT * (4 + (size_t)VEIL_STORE_AUDIT_FIELD_MAX))

/* The ten text fields in encoding order; policy_version goes after the 7th (policy). */
struct audit_fields {
    int64_t seq;
    int64_t time;
    int64_t policy_version;
    const uint8_t *text[AUDIT_TEXT_COUNT];
    size_t text_size[AUDIT_TEXT_COUNT];
};

#define AUDIT_POLICY_INDEX                                                \
    6 /* kind requester tee chip_id measurement tcb policy | resource ... \
       */

/* The columns of STMT_AUDIT_FROM. */
enum {
    COL_SEQ = 0,
    COL_TIME = 1,
    COL_KIND = 2, /* ... through COL_POLICY = 8 */
    COL_POLICY_VERSION = 9,
    COL_RESOURCE = 10, /* ... through COL_REASONS = 12 */
    COL_PREV_HASH = 13,
    COL_HASH = 14,
};

static int text_column(int i)
{
    return i <= AUDIT_POLICY_INDEX ? COL_KIND + i : COL_RESOURCE + (i - AUDIT_POLICY_INDEX - 1);
}

static VEIL_RESULT audit_hash(const uint8_t prev[VEIL_SHA256_SIZE], const struct audit_fields *f,
                              uint8_t out[VEIL_SHA256_SIZE])
{
    struct veil_wr w;
    veil_result r = VEIL_RESULT_OK;

    veil_wr_init(&w, AUDIT_ENC_SIZE_MAX);
    r = veil_wr_bytes(&w, prev, VEIL_SHA256_SIZE);
    if (veil_ok(r)) {
        r = veil_wr_u64be(&w, (uint64_t)f->seq);
    }
    if (veil_ok(r)) {
        r = veil_wr_u64be(&w, (uint64_t)f->time);
    }
    for (int i = 0; i < AUDIT_TEXT_COUNT && veil_ok(r); i++) {
        if (f->text_size[i] > VEIL_STORE_AUDIT_FIELD_MAX) {
            r = veil_result_of(VEIL_ERR_PROTO_LIMIT);
            break;
        }
        r = veil_wr_vec32(&w, f->text[i], f->text_size[i]);
        if (veil_ok(r) && i == AUDIT_POLICY_INDEX) {
            r = veil_wr_u64be(&w, (uint64_t)f->policy_version);
        }
    }
    if (veil_ok(r)) {
        r = veil_sha256(w.data, w.len, out);
    }
    veil_wr_free(&w);
    return r;
}

static void fields_from_event(const struct veil_audit_event *ev, int64_t seq,
                              struct audit_fields *f)
{
    const char *text[AUDIT_TEXT_COUNT] = {
        ev->kind, ev->requester, ev->tee,      ev->chip_id,  ev->measurement,
        ev->tcb,  ev->policy,    ev->resource, ev->decision, ev->reasons,
    };

    f->seq = seq;
    f->time = ev->time;
    f->policy_version = ev->policy_version;
    for (int i = 0; i < AUDIT_TEXT_COUNT; i++) {
        f->text[i] = (const uint8_t *)(text[i] != NULL ? text[i] : "");
        f->text_size[i] = strlen((const char *)f->text[i]);
    }
}

static void fields_from_row(sqlite3_stmt *st, struct audit_fields *f)
{
    f->seq = sqlite3_column_int64(st, COL_SEQ);
    f->time = sqlite3_column_int64(st, COL_TIME);
    f->policy_version = sqlite3_column_int64(st, COL_POLICY_VERSION);
    for (int i = 0; i < AUDIT_TEXT_COUNT; i++) {
        f->text[i] = store_column_bytes(st, text_column(i), &f->text_size[i]);
    }
}

static bool one_of(const char *v, const char *a, const char *b, const char *c)
{
    return v != NULL && (strcmp(v, a) == 0 || strcmp(v, b) == 0 || strcmp(v, c) == 0);
}

/* The head: last seq and hash, or 0 and zeros. */
static VEIL_RESULT audit_head(struct veil_store *s, int64_t *seq, uint8_t hash[VEIL_SHA256_SIZE])
{
    sqlite3_stmt *st = store_stmt(s, STMT_AUDIT_HEAD);
    const uint8_t *h;
    size_t n = 0;
    veil_result r;
    int row = 0;

    r = store_step(s, st, &row);
    if (veil_ok(r)) {
        *seq = 0;
        memset(hash, 0, VEIL_SHA256_SIZE);
        if (row) {
            *seq = sqlite3_column_int64(st, 0);
            h = store_column_bytes(st, 1, &n);
            if (n == VEIL_SHA256_SIZE) {
                memcpy(hash, h, VEIL_SHA256_SIZE);
            } else {
                r = veil_result_of(VEIL_ERR_STORE_AUDIT_BROKEN);
            }
        }
    }
    store_stmt_done(st);
    return r;
}

static VEIL_RESULT audit_insert(struct veil_store *s, const struct audit_fields *f,
                                const uint8_t prev[VEIL_SHA256_SIZE],
                                const uint8_t hash[VEIL_SHA256_SIZE])
{
    sqlite3_stmt *st = store_stmt(s, STMT_AUDIT_INSERT);
    veil_result r;

    r = store_bind_int64(s, st, 1, f->seq);
    if (veil_ok(r)) {
        r = store_bind_int64(s, st, 2, f->time);
    }
    for (int i = 0; i < AUDIT_TEXT_COUNT && veil_ok(r); i++) {
        r = store_bind_text(s, st, text_column(i) + 1, (const char *)f->text[i], f->text_size[i]);
    }
    if (veil_ok(r)) {
        r = store_bind_int64(s, st, COL_POLICY_VERSION + 1, f->policy_version);
    }
    if (veil_ok(r)) {
        r = store_bind_blob(s, st, COL_PREV_HASH + 1, prev, VEIL_SHA256_SIZE);
    }
    if (veil_ok(r)) {
        r = store_bind_blob(s, st, COL_HASH + 1, hash, VEIL_SHA256_SIZE);
    }
    if (!veil_ok(r)) {
        store_stmt_done(st);
        return r;
    }
    return store_exec(s, st);
}

/* One append waiting for its transaction (on the appender's stack). */
struct audit_pending {
    const struct veil_audit_event *ev;
    int64_t seq;
    veil_result r;
    bool done;
    struct audit_pending *next;
};

#define AUDIT_BATCH_MAX 256

/* The store this thread announced a record for (veil_store_audit_expect), or NULL. */
static _Thread_local struct veil_store *audit_expecting;

veil_result store_audit_init(struct veil_store *s)
{
    pthread_condattr_t attr;
    int rc;

    ENSURE(pthread_mutex_init(&s->audit_mu, NULL) == 0, VEIL_ERR_NOMEM);
    if (pthread_cond_init(&s->audit_cv, NULL) != 0) {
        (void)pthread_mutex_destroy(&s->audit_mu);
        BAIL(VEIL_ERR_NOMEM);
    }
    /* The commit delay's deadline is on the monotonic clock. */
    rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0) {
            rc = pthread_cond_init(&s->audit_lead_cv, &attr);
        }
        (void)pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        (void)pthread_cond_destroy(&s->audit_cv);
        (void)pthread_mutex_destroy(&s->audit_mu);
        BAIL(VEIL_ERR_NOMEM);
    }
    s->audit_queue = NULL;
    s->audit_tail = &s->audit_queue;
    s->audit_init = true;
    return VEIL_RESULT_OK;
}

void store_audit_fini(struct veil_store *s)
{
    if (s->audit_init) {
        VEIL_ASSERT(s->audit_queue == NULL && !s->audit_flushing);
        (void)pthread_cond_destroy(&s->audit_lead_cv);
        (void)pthread_cond_destroy(&s->audit_cv);
        (void)pthread_mutex_destroy(&s->audit_mu);
        s->audit_init = false;
    }
}

static void audit_lock(struct veil_store *s)
{
    int rc = pthread_mutex_lock(&s->audit_mu);

    VEIL_ASSERT(rc == 0);
}

static void audit_unlock(struct veil_store *s)
{
    int rc = pthread_mutex_unlock(&s->audit_mu);

    VEIL_ASSERT(rc == 0);
}

veil_result veil_store_audit_set_commit_delay(struct veil_store *s, uint32_t delay_us)
{
    ENSURE(s != NULL && delay_us <= VEIL_STORE_AUDIT_DELAY_MAX_US, VEIL_ERR_USAGE);
    audit_lock(s);
    s->audit_delay_us = delay_us;
    audit_unlock(s);
    return VEIL_RESULT_OK;
}

void veil_store_audit_expect(struct veil_store *s)
{
    if (s == NULL || audit_expecting != NULL) {
        return;
    }
    audit_expecting = s;
    audit_lock(s);
    s->audit_expected++;
    audit_unlock(s);
}

/* Under audit_mu: this thread's announcement on s, if open, ends (queued or withdrawn). */
static void expect_close(struct veil_store *s)
{
    if (audit_expecting == s) {
        audit_expecting = NULL;
        VEIL_ASSERT(s->audit_expected > 0);
        s->audit_expected--;
        if (s->audit_flushing) {
            int rc = pthread_cond_signal(&s->audit_lead_cv); /* one leader waits at most */
            VEIL_ASSERT(rc == 0);
        }
    }
}

void veil_store_audit_expect_end(struct veil_store *s)
{
    if (s == NULL || audit_expecting != s) {
        return;
    }
    audit_lock(s);
    expect_close(s);
    audit_unlock(s);
}

/* The leader's commit delay (under audit_mu, with audit_flushing set so that nobody else leads):
 * waits while some announced record has not queued yet, at most delay_us. */
static void commit_delay(struct veil_store *s, size_t queued)
{
    struct timespec until;

    if (s->audit_delay_us == 0 || s->audit_expected == 0 || queued >= AUDIT_BATCH_MAX) {
        return;
    }
    (void)clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)s->audit_delay_us * 1000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (s->audit_expected > 0) {
        int rc = pthread_cond_timedwait(&s->audit_lead_cv, &s->audit_mu, &until);
        if (rc == ETIMEDOUT) {
            break;
        }
        VEIL_ASSERT(rc == 0);
    }
}

/* What can make one record fail on its own is checked before it joins a batch, so that a bad
 * record never takes the others of its transaction down with it. */
static VEIL_RESULT audit_event_check(const struct veil_audit_event *ev)
{
    struct audit_fields f;

    ENSURE(one_of(ev->kind, "attest", "release", "refuse"), VEIL_ERR_USAGE);
    ENSURE(one_of(ev->decision, "allow", "deny", "error"), VEIL_ERR_USAGE);
    fields_from_event(ev, 0, &f);
    for (int i = 0; i < AUDIT_TEXT_COUNT; i++) {
        ENSURE(f.text_size[i] <= VEIL_STORE_AUDIT_FIELD_MAX, VEIL_ERR_PROTO_LIMIT);
    }
    return VEIL_RESULT_OK;
}

/* Writes the batch (in queue order) in one BEGIN IMMEDIATE transaction, under the store lock:
 * each record chains onto the one before it. Sets every record's seq, or the error for all. */
static VEIL_RESULT audit_write_batch(struct veil_store *s, struct audit_pending *batch)
{
    uint8_t prev[VEIL_SHA256_SIZE];
    uint8_t hash[VEIL_SHA256_SIZE];
    struct audit_fields f;
    int64_t head = 0;
    veil_result r;

    GUARD(store_begin(s));
    r = audit_head(s, &head, prev);
    for (struct audit_pending *p = batch; p != NULL && veil_ok(r); p = p->next) {
        if (head == INT64_MAX) {
            r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
            break;
        }
        fields_from_event(p->ev, head + 1, &f);
        r = audit_hash(prev, &f, hash);
        if (veil_ok(r)) {
            r = audit_insert(s, &f, prev, hash);
        }
        if (veil_ok(r)) {
            p->seq = ++head;
            memcpy(prev, hash, sizeof(prev));
        }
    }
    if (veil_ok(r)) {
        r = store_commit(s);
    }
    if (!veil_ok(r)) {
        store_rollback(s);
    }
    return r;
}

veil_result veil_store_audit_append(struct veil_store *s, const struct veil_audit_event *ev,
                                    int64_t *seq)
{
    struct audit_pending me = {ev, 0, VEIL_RESULT_OK, false, NULL};

    ENSURE(s != NULL && ev != NULL, VEIL_ERR_USAGE);
    GUARD(audit_event_check(ev));
    audit_lock(s);
    *s->audit_tail = &me;
    s->audit_tail = &me.next;
    expect_close(s);
    while (!me.done) {
        if (s->audit_flushing) {
            int rc = pthread_cond_wait(&s->audit_cv, &s->audit_mu);
            VEIL_ASSERT(rc == 0);
            continue;
        }
        /* Leader: wait for announced records (bounded), then take up to AUDIT_BATCH_MAX waiting
         * appends (ours among them: it is queued and not done, and a leader always takes the
         * head of the queue; whoever queues meanwhile only joins it). */
        s->audit_flushing = true;
        size_t queued = 0;
        for (struct audit_pending *p = s->audit_queue; p != NULL; p = p->next) {
            queued++;
        }
        commit_delay(s, queued);
        struct audit_pending *batch = s->audit_queue;
        struct audit_pending *last = batch;
        size_t n = 1;
        while (last->next != NULL && n < AUDIT_BATCH_MAX) {
            last = last->next;
            n++;
        }
        s->audit_queue = last->next;
        if (s->audit_queue == NULL) {
            s->audit_tail = &s->audit_queue;
        }
        last->next = NULL;
        audit_unlock(s);

        store_lock(s);
        veil_result r = audit_write_batch(s, batch);
        store_unlock(s);

        audit_lock(s);
        if (veil_ok(r)) {
            s->audit_commits++;
            s->audit_records += n;
        }
        for (struct audit_pending *p = batch; p != NULL;) {
            struct audit_pending *next = p->next; /* p may return (and vanish) once done */
            p->r = r;
            p->done = true;
            p = next;
        }
        s->audit_flushing = false;
        int rc = pthread_cond_broadcast(&s->audit_cv);
        VEIL_ASSERT(rc == 0);
    }
    audit_unlock(s);
    GUARD(me.r);
    if (seq != NULL) {
        *seq = me.seq;
    }
    return VEIL_RESULT_OK;
}

void veil_store_audit_stats(struct veil_store *s, uint64_t *commits, uint64_t *records)
{
    audit_lock(s);
    if (commits != NULL) {
        *commits = s->audit_commits;
    }
    if (records != NULL) {
        *records = s->audit_records;
    }
    audit_unlock(s);
}

static const char *row_text(sqlite3_stmt *st, int col)
{
    const unsigned char *p = sqlite3_column_text(st, col);

    return p != NULL ? (const char *)p : "";
}

static void record_from_row(sqlite3_stmt *st, struct veil_audit_record *rec)
{
    const char **text[AUDIT_TEXT_COUNT] = {
        &rec->ev.kind,        &rec->ev.requester, &rec->ev.tee,    &rec->ev.chip_id,
        &rec->ev.measurement, &rec->ev.tcb,       &rec->ev.policy, &rec->ev.resource,
        &rec->ev.decision,    &rec->ev.reasons,
    };
    const uint8_t *h;
    size_t n = 0;

    memset(rec, 0, sizeof(*rec));
    rec->seq = sqlite3_column_int64(st, COL_SEQ);
    rec->ev.time = sqlite3_column_int64(st, COL_TIME);
    rec->ev.policy_version = sqlite3_column_int64(st, COL_POLICY_VERSION);
    for (int i = 0; i < AUDIT_TEXT_COUNT; i++) {
        *text[i] = row_text(st, text_column(i));
    }
    h = store_column_bytes(st, COL_PREV_HASH, &n);
    if (n == VEIL_SHA256_SIZE) {
        memcpy(rec->prev_hash, h, n);
    }
    h = store_column_bytes(st, COL_HASH, &n);
    if (n == VEIL_SHA256_SIZE) {
        memcpy(rec->hash, h, n);
    }
}

static VEIL_RESULT audit_foreach(struct veil_store *s, int64_t from_seq,
                                 void (*fn)(void *ctx, const struct veil_audit_record *r),
                                 void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, STMT_AUDIT_FROM);
    struct veil_audit_record rec;
    veil_result r;
    int row = 0;

    r = store_bind_int64(s, st, 1, from_seq);
    while (veil_ok(r)) {
        r = store_step(s, st, &row);
        if (!veil_ok(r) || !row) {
            break;
        }
        record_from_row(st, &rec);
        fn(ctx, &rec);
    }
    store_stmt_done(st);
    return r;
}

veil_result veil_store_audit_foreach(struct veil_store *s, int64_t from_seq,
                                     void (*fn)(void *ctx, const struct veil_audit_record *r),
                                     void *ctx)
{
    veil_result r;

    ENSURE(s != NULL && fn != NULL, VEIL_ERR_USAGE);
    store_lock(s);
    r = audit_foreach(s, from_seq, fn, ctx);
    store_unlock(s);
    return r;
}

/* One row against the chain so far; false if it does not follow from prev at seq `want`. */
static bool row_follows(sqlite3_stmt *st, int64_t want, const uint8_t prev[VEIL_SHA256_SIZE],
                        uint8_t hash[VEIL_SHA256_SIZE])
{
    uint8_t computed[VEIL_SHA256_SIZE];
    struct audit_fields f;
    const uint8_t *p;
    const uint8_t *h;
    size_t pn = 0;
    size_t hn = 0;

    fields_from_row(st, &f);
    if (f.seq != want) {
        return false; /* a gap (dropped record) or a renumbering */
    }
    p = store_column_bytes(st, COL_PREV_HASH, &pn);
    h = store_column_bytes(st, COL_HASH, &hn);
    if (pn != VEIL_SHA256_SIZE || hn != VEIL_SHA256_SIZE ||
        CRYPTO_memcmp(p, prev, VEIL_SHA256_SIZE) != 0) {
        return false; /* dropped or reordered: the link to the previous record is wrong */
    }
    if (!veil_ok(audit_hash(prev, &f, computed)) ||
        CRYPTO_memcmp(computed, h, VEIL_SHA256_SIZE) != 0) {
        return false; /* edited */
    }
    memcpy(hash, h, VEIL_SHA256_SIZE);
    return true;
}

struct audit_check {
    int64_t head_seq; /* 0: no head to check */
    const uint8_t *head_hash;
    int64_t count;
    int64_t bad_seq;
};

static VEIL_RESULT audit_verify(struct veil_store *s, struct audit_check *c)
{
    sqlite3_stmt *st = store_stmt(s, STMT_AUDIT_FROM);
    uint8_t prev[VEIL_SHA256_SIZE] = {0};
    bool head_seen = false;
    veil_result r;
    int row = 0;

    c->count = 0;
    c->bad_seq = 0;
    r = store_bind_int64(s, st, 1, INT64_MIN);
    while (veil_ok(r)) {
        r = store_step(s, st, &row);
        if (!veil_ok(r) || !row) {
            break;
        }
        if (!row_follows(st, c->count + 1, prev, prev)) {
            c->bad_seq = sqlite3_column_int64(st, COL_SEQ);
            /* A renumbered first record still points at the first missing one. */
            if (c->bad_seq < c->count + 1) {
                c->bad_seq = c->count + 1;
            }
            r = veil_result_of(VEIL_ERR_STORE_AUDIT_BROKEN);
            break;
        }
        c->count++;
        if (c->count == c->head_seq) {
            head_seen = true;
            if (CRYPTO_memcmp(prev, c->head_hash, VEIL_SHA256_SIZE) != 0) {
                c->bad_seq = c->head_seq;
                r = veil_result_of(VEIL_ERR_STORE_AUDIT_BROKEN);
            }
        }
    }
    store_stmt_done(st);
    if (veil_ok(r) && c->head_seq > 0 && !head_seen) {
        c->bad_seq = c->head_seq; /* the tail was cut off below the noted head */
        r = veil_result_of(VEIL_ERR_STORE_AUDIT_BROKEN);
    }
    return r;
}

static VEIL_RESULT verify_locked(struct veil_store *s, struct audit_check *c, int64_t *count,
                                 int64_t *bad_seq)
{
    veil_result r;

    store_lock(s);
    r = audit_verify(s, c);
    store_unlock(s);
    if (count != NULL) {
        *count = c->count;
    }
    if (bad_seq != NULL) {
        *bad_seq = c->bad_seq;
    }
    return r;
}

veil_result veil_store_audit_verify(struct veil_store *s, int64_t *count, int64_t *bad_seq)
{
    struct audit_check c = {0};

    ENSURE_REF(s);
    return verify_locked(s, &c, count, bad_seq);
}

veil_result veil_store_audit_verify_head(struct veil_store *s, int64_t head_seq,
                                         const uint8_t head_hash[32], int64_t *count,
                                         int64_t *bad_seq)
{
    struct audit_check c = {0};

    ENSURE(s != NULL && head_hash != NULL && head_seq >= 0, VEIL_ERR_USAGE);
    c.head_seq = head_seq;
    c.head_hash = head_hash;
    return verify_locked(s, &c, count, bad_seq);
}

veil_result veil_store_audit_head(struct veil_store *s, int64_t *seq, uint8_t hash[32])
{
    int64_t head = 0;
    uint8_t h[VEIL_SHA256_SIZE];
    veil_result r;

    ENSURE(s != NULL && seq != NULL && hash != NULL, VEIL_ERR_USAGE);
    store_lock(s);
    r = audit_head(s, &head, h);
    store_unlock(s);
    GUARD(r);
    *seq = head;
    memcpy(hash, h, VEIL_SHA256_SIZE);
    return VEIL_RESULT_OK;
}
