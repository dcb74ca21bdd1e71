#include <pthread.h>
#include <sys/wait.h>

#include "sql_raw.h"
#include "store_test.h"

#define RECORDS 5

struct event_buf {
    char reasons[64];
    char resource[32];
};

/* Record i of the test log (deterministic, so two stores can hold the same chain). */
static void make_event(int i, struct event_buf *b, struct veil_audit_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    snprintf(b->reasons, sizeof(b->reasons), "record %d: all conditions met", i);
    snprintf(b->resource, sizeof(b->resource), "repo/key/%d", i);
    ev->time = 1700000000 + i;
    ev->kind = "release";
    ev->requester = "127.0.0.1:5555";
    ev->tee = "snp";
    ev->chip_id = "00ff";
    ev->measurement = "abcd";
    ev->tcb = "{\"snp\":23}";
    ev->policy = "repo/*";
    ev->policy_version = 2;
    ev->resource = b->resource;
    ev->decision = "allow";
    ev->reasons = b->reasons;
}

static void append_records(struct veil_store *s, int count)
{
    struct veil_audit_event ev;
    struct event_buf b;
    int64_t seq = 0;

    for (int i = 0; i < count; i++) {
        make_event(i, &b, &ev);
        EXPECT_OK(veil_store_audit_append(s, &ev, &seq));
        EXPECT_EQ(seq, i + 1);
    }
}

/* want_count: records that verified before the first bad one. */
static void expect_broken(struct store_fixture *f, int64_t want_bad, int64_t want_count)
{
    int64_t count = -1;
    int64_t bad = -1;

    EXPECT_ERR(veil_store_audit_verify(f->s, &count, &bad), VEIL_ERR_STORE_AUDIT_BROKEN);
    EXPECT_EQ(bad, want_bad);
    EXPECT_EQ(count, want_count);
}

/* As an attacker with the sqlite3 tool would: the triggers go first. */
static void tamper(struct store_fixture *f, const char *sql)
{
    sql_raw(f->db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
    sql_raw(f->db, sql);
}

static void test_chain_verifies(void **state)
{
    struct store_fixture f;
    uint8_t head[32];
    uint8_t zero[32] = {0};
    int64_t count = -1;
    int64_t bad = -1;
    int64_t seq = -1;

    (void)state;
    fixture_open(&f);
    EXPECT_OK(veil_store_audit_head(f.s, &seq, head));
    EXPECT_EQ(seq, 0);
    EXPECT_BYTES_EQ(head, zero, 32);
    EXPECT_OK(veil_store_audit_verify(f.s, &count, &bad));
    EXPECT_EQ(count, 0);
    append_records(f.s, 3);
    fixture_reopen(&f);
    append_records(f.s, 0);
    {
        struct veil_audit_event ev = {.time = 1, .kind = "attest", .decision = "deny"};

        /* NULL strings are recorded as "". */
        EXPECT_OK(veil_store_audit_append(f.s, &ev, &seq));
        EXPECT_EQ(seq, 4);
        ev.kind = "other";
        EXPECT_ERR(veil_store_audit_append(f.s, &ev, &seq), VEIL_ERR_USAGE);
        ev.kind = "refuse";
        ev.decision = "maybe";
        EXPECT_ERR(veil_store_audit_append(f.s, &ev, &seq), VEIL_ERR_USAGE);
    }
    EXPECT_OK(veil_store_audit_verify(f.s, &count, &bad));
    EXPECT_EQ(count, 4);
    EXPECT_EQ(bad, 0);
    EXPECT_OK(veil_store_audit_head(f.s, &seq, head));
    EXPECT_EQ(seq, 4);
    EXPECT_BYTES_NE(head, zero, 32);
    EXPECT_OK(veil_store_audit_verify_head(f.s, seq, head, &count, &bad));
    fixture_close(&f);
}

static void test_triggers_refuse_changes(void **state)
{
    struct store_fixture f;
    sqlite3 *db = NULL;

    (void)state;
    fixture_open(&f);
    append_records(f.s, 2);
    assert_int_equal(sqlite3_open(f.db, &db), SQLITE_OK);
    EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET decision = 'deny'", NULL, NULL, NULL), SQLITE_OK);
    EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit WHERE seq = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    EXPECT_OK(veil_store_audit_verify(f.s, NULL, NULL));
    fixture_close(&f);
}

static void test_edited_field(void **state)
{
    struct store_fixture f;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f, "UPDATE audit SET decision = 'deny' WHERE seq = 3");
    expect_broken(&f, 3, 2);
    fixture_close(&f);

    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f, "UPDATE audit SET policy_version = 3 WHERE seq = 5");
    expect_broken(&f, 5, 4);
    fixture_close(&f);

    /* A stored hash overwritten. */
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f, "UPDATE audit SET hash = zeroblob(32) WHERE seq = 2");
    expect_broken(&f, 2, 1);
    fixture_close(&f);
}

/* An attacker who edits record 3 and gives it its correct new hash: record 4 no longer links. */
static void test_edited_and_rehashed(void **state)
{
    struct store_fixture f;
    struct store_fixture scratch;
    struct veil_audit_event ev;
    struct event_buf b;
    uint8_t hash[32];
    char sql[256];
    int64_t seq = 0;
    int n;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    /* The same chain up to 2, then record 3 as the attacker wants it, hashed by the library. */
    fixture_open(&scratch);
    append_records(scratch.s, 2);
    make_event(2, &b, &ev);
    ev.decision = "deny";
    EXPECT_OK(veil_store_audit_append(scratch.s, &ev, &seq));
    EXPECT_OK(veil_store_audit_head(scratch.s, &seq, hash));
    EXPECT_EQ(seq, 3);
    fixture_close(&scratch);
    n = snprintf(sql, sizeof(sql), "UPDATE audit SET decision = 'deny', hash = x'");
    for (int i = 0; i < 32; i++) {
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%02x", hash[i]);
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, "' WHERE seq = 3");
    tamper(&f, sql);
    expect_broken(&f, 4, 3);
    fixture_close(&f);
}

static void test_dropped_record(void **state)
{
    struct store_fixture f;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f, "DELETE FROM audit WHERE seq = 3");
    expect_broken(&f, 4, 2); /* the record after the gap */
    fixture_close(&f);

    /* Renumbered to hide the gap: the record now at 3 does not hash to what it says. */
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f,
           "DELETE FROM audit WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4;"
           " UPDATE audit SET seq = 4 WHERE seq = 5;");
    expect_broken(&f, 3, 2);
    fixture_close(&f);

    /* The first record dropped. */
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f, "DELETE FROM audit WHERE seq = 1");
    expect_broken(&f, 2, 0);
    fixture_close(&f);
}

static void test_swapped_records(void **state)
{
    struct store_fixture f;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f,
           "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;"
           " UPDATE audit SET seq = 3 WHERE seq = -1;");
    expect_broken(&f, 2, 1);
    fixture_close(&f);

    /* Contents swapped, seq columns left in place. */
    fixture_open(&f);
    append_records(f.s, RECORDS);
    tamper(&f,
           "UPDATE audit SET resource = CASE seq WHEN 3 THEN 'repo/key/3' ELSE 'repo/key/2' END,"
           " reasons = CASE seq WHEN 3 THEN 'record 3: all conditions met'"
           " ELSE 'record 2: all conditions met' END WHERE seq IN (3, 4)");
    expect_broken(&f, 3, 2);
    fixture_close(&f);
}

static void test_truncated_tail_needs_the_head(void **state)
{
    struct store_fixture f;
    uint8_t head[32];
    int64_t seq = 0;
    int64_t count = -1;
    int64_t bad = -1;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    EXPECT_OK(veil_store_audit_head(f.s, &seq, head));
    EXPECT_EQ(seq, RECORDS);
    tamper(&f, "DELETE FROM audit WHERE seq > 3");
    /* The chain alone cannot tell (docs/STORE.md)... */
    EXPECT_OK(veil_store_audit_verify(f.s, &count, &bad));
    EXPECT_EQ(count, 3);
    /* ...the head noted elsewhere does. */
    EXPECT_ERR(veil_store_audit_verify_head(f.s, seq, head, &count, &bad),
               VEIL_ERR_STORE_AUDIT_BROKEN);
    EXPECT_EQ(bad, RECORDS);
    fixture_close(&f);

    /* A tail rewritten after the noted head was taken. */
    fixture_open(&f);
    append_records(f.s, RECORDS);
    EXPECT_OK(veil_store_audit_head(f.s, &seq, head));
    head[0] ^= 1;
    EXPECT_ERR(veil_store_audit_verify_head(f.s, seq, head, &count, &bad),
               VEIL_ERR_STORE_AUDIT_BROKEN);
    EXPECT_EQ(bad, RECORDS);
    fixture_close(&f);
}

struct collected {
    int count;
    int64_t first_seq;
    char last_resource[32];
};

static void collect(void *ctx, const struct veil_audit_record *r)
{
    struct collected *c = ctx;

    if (c->count == 0) {
        c->first_seq = r->seq;
    }
    c->count++;
    EXPECT_STR_EQ(r->ev.kind, "release");
    EXPECT_STR_EQ(r->ev.tcb, "{\"snp\":23}");
    EXPECT_EQ(r->ev.policy_version, 2);
    EXPECT_EQ(r->ev.time, 1700000000 + r->seq - 1);
    snprintf(c->last_resource, sizeof(c->last_resource), "%s", r->ev.resource);
}

static void test_foreach(void **state)
{
    struct store_fixture f;
    struct collected c;

    (void)state;
    fixture_open(&f);
    append_records(f.s, RECORDS);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(veil_store_audit_foreach(f.s, 2, collect, &c));
    EXPECT_EQ(c.count, RECORDS - 1);
    EXPECT_EQ(c.first_seq, 2);
    EXPECT_STR_EQ(c.last_resource, "repo/key/4");
    fixture_close(&f);
}

#define APPENDERS          4
#define APPENDS_PER_WRITER 25

static void *appender(void *arg)
{
    struct veil_store *s = arg;

    append_records(s, 0);
    for (int i = 0; i < APPENDS_PER_WRITER; i++) {
        struct veil_audit_event ev = {.time = i, .kind = "attest", .decision = "allow"};

        if (!veil_ok(veil_store_audit_append(s, &ev, NULL))) {
            return s; /* non-NULL: failed */
        }
    }
    return NULL;
}

/* Threads sharing one handle, and processes with their own: the chain stays one chain. */
static void test_concurrent_appends(void **state)
{
    struct store_fixture f;
    pthread_t t[APPENDERS];
    pid_t pid[2];
    int64_t count = -1;
    int status = 0;
    void *ret;

    (void)state;
    fixture_open(&f);
    for (int p = 0; p < 2; p++) {
        pid[p] = fork();
        assert_true(pid[p] >= 0);
        if (pid[p] == 0) {
            struct veil_store *s = NULL;

            _exit(veil_ok(veil_store_open(f.db, f.kek, &s)) && appender(s) == NULL ? 0 : 1);
        }
    }
    for (int i = 0; i < APPENDERS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, appender, f.s), 0);
    }
    for (int i = 0; i < APPENDERS; i++) {
        assert_int_equal(pthread_join(t[i], &ret), 0);
        EXPECT_NULL(ret);
    }
    for (int p = 0; p < 2; p++) {
        assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_OK(veil_store_audit_verify(f.s, &count, NULL));
    EXPECT_EQ(count, (APPENDERS + 2) * APPENDS_PER_WRITER);
    fixture_close(&f);
}

#define GROUP_THREADS 8
#define GROUP_APPENDS 50

struct group_writer {
    struct veil_store *s;
    int id;
    int64_t seq[GROUP_APPENDS]; /* what each append returned */
    int failures;
};

static void *group_appender(void *arg)
{
    struct group_writer *w = arg;

    for (int i = 0; i < GROUP_APPENDS; i++) {
        /* Who made it and in which order, in the integer fields. */
        struct veil_audit_event ev = {.time = i,
                                      .kind = "release",
                                      .policy_version = w->id,
                                      .decision = "allow",
                                      .reasons = "group commit test"};
        if (!veil_ok(veil_store_audit_append(w->s, &ev, &w->seq[i]))) {
            w->failures++;
        }
    }
    return NULL;
}

struct group_check {
    struct group_writer *w;
    int last[GROUP_THREADS]; /* last append index seen per writer, in seq order */
    int64_t rows;
    int mismatches;
};

static void group_collect(void *ctx, const struct veil_audit_record *r)
{
    struct group_check *c = ctx;
    int64_t id = r->ev.policy_version;
    int64_t i = r->ev.time;

    c->rows++;
    if (id < 0 || id >= GROUP_THREADS || i < 0 || i >= GROUP_APPENDS || c->w[id].seq[i] != r->seq ||
        i != c->last[id] + 1) {
        c->mismatches++;
        return;
    }
    c->last[id] = (int)i;
}

/* Group commit: appends racing from many threads of one handle are joined into shared
 * transactions, and still each returns the seq its record got, every record is there after a
 * reopen (durable), each writer's records are chained in the order it made them, and the chain
 * verifies. */
static void test_group_commit(void **state)
{
    struct store_fixture f;
    struct group_writer w[GROUP_THREADS];
    struct group_check c;
    pthread_t t[GROUP_THREADS];
    uint64_t commits = 0;
    uint64_t records = 0;
    int64_t count = -1;

    (void)state;
    fixture_open(&f);
    for (int i = 0; i < GROUP_THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = f.s;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, group_appender, &w[i]), 0);
    }
    for (int i = 0; i < GROUP_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        EXPECT_EQ(w[i].failures, 0);
    }
    veil_store_audit_stats(f.s, &commits, &records);
    EXPECT_EQ(records, GROUP_THREADS * GROUP_APPENDS);
    EXPECT_TRUE(commits >= 1 && commits <= records);
    (void)printf("group commit: %llu records in %llu transactions\n", (unsigned long long)records,
                 (unsigned long long)commits);
    fixture_reopen(&f);
    EXPECT_OK(veil_store_audit_verify(f.s, &count, NULL));
    EXPECT_EQ(count, GROUP_THREADS * GROUP_APPENDS);
    memset(&c, 0, sizeof(c));
    c.w = w;
    for (int i = 0; i < GROUP_THREADS; i++) {
        c.last[i] = -1;
    }
    EXPECT_OK(veil_store_audit_foreach(f.s, 1, group_collect, &c));
    EXPECT_EQ(c.rows, GROUP_THREADS * GROUP_APPENDS);
    EXPECT_EQ(c.mismatches, 0);
    for (int i = 0; i < GROUP_THREADS; i++) {
        EXPECT_EQ(c.last[i], GROUP_APPENDS - 1);
    }
    fixture_close(&f);
}

#define DELAY_THREADS 6
#define DELAY_APPENDS 10

struct delay_writer {
    struct veil_store *s;
    const struct store_fixture *f;
    int id;
    int failures;  /* appends that failed */
    int not_there; /* appends that returned before another connection could read their record */
};

struct delay_find {
    int64_t seq;
    int64_t id;
    int64_t i;
    bool found;
};

static void delay_collect(void *ctx, const struct veil_audit_record *r)
{
    struct delay_find *d = ctx;

    if (r->seq == d->seq && r->ev.policy_version == d->id && r->ev.time == d->i) {
        d->found = true;
    }
}

/* Announces, appends, then looks for its record through its own connection to the file: a record
 * another connection can read has been committed (and with synchronous=FULL, fsynced). */
static void *delay_appender(void *arg)
{
    struct delay_writer *w = arg;
    struct veil_store *reader = NULL;

    if (!veil_ok(veil_store_open(w->f->db, w->f->kek, &reader))) {
        w->failures = DELAY_APPENDS;
        return NULL;
    }
    for (int i = 0; i < DELAY_APPENDS; i++) {
        struct veil_audit_event ev = {.time = i,
                                      .kind = "attest",
                                      .policy_version = w->id,
                                      .decision = "allow",
                                      .reasons = "commit delay test"};
        struct delay_find d = {0, w->id, i, false};
        veil_store_audit_expect(w->s);
        if (!veil_ok(veil_store_audit_append(w->s, &ev, &d.seq))) {
            w->failures++;
        } else if (!veil_ok(veil_store_audit_foreach(reader, d.seq, delay_collect, &d)) ||
                   !d.found) {
            w->not_there++;
        }
        veil_store_audit_expect_end(w->s); /* fulfilled already: nothing to do */
    }
    veil_store_close(reader);
    return NULL;
}

/* The commit delay: leaders wait (boundedly) for announced records, so commits join more of
 * them; yet every append returns only once its record is committed, and an announcement that is
 * never fulfilled (this thread's, held for the whole test) delays commits, never blocks them. */
static void test_commit_delay(void **state)
{
    struct store_fixture f;
    struct delay_writer w[DELAY_THREADS];
    pthread_t t[DELAY_THREADS];
    uint64_t commits = 0;
    uint64_t records = 0;
    int64_t count = -1;

    (void)state;
    fixture_open(&f);
    EXPECT_ERR(veil_store_audit_set_commit_delay(f.s, VEIL_STORE_AUDIT_DELAY_MAX_US + 1),
               VEIL_ERR_USAGE);
    EXPECT_OK(veil_store_audit_set_commit_delay(f.s, 20000));
    veil_store_audit_expect(f.s); /* never fulfilled until the end */
    for (int i = 0; i < DELAY_THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].s = f.s;
        w[i].f = &f;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, delay_appender, &w[i]), 0);
    }
    for (int i = 0; i < DELAY_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        EXPECT_EQ(w[i].failures, 0);
        EXPECT_EQ(w[i].not_there, 0);
    }
    veil_store_audit_expect_end(f.s);
    veil_store_audit_expect_end(f.s); /* a second end is a no-op */
    veil_store_audit_stats(f.s, &commits, &records);
    EXPECT_EQ(records, DELAY_THREADS * DELAY_APPENDS);
    EXPECT_TRUE(commits >= 1 && commits <= records);
    (void)printf("commit delay: %llu records in %llu transactions\n", (unsigned long long)records,
                 (unsigned long long)commits);
    /* Without announcements the delay never applies: a lone append commits at once. */
    struct veil_audit_event ev = {.time = 1, .kind = "attest", .decision = "allow"};
    int64_t seq = 0;
    EXPECT_OK(veil_store_audit_append(f.s, &ev, &seq));
    EXPECT_EQ(seq, DELAY_THREADS * DELAY_APPENDS + 1);
    fixture_reopen(&f);
    EXPECT_OK(veil_store_audit_verify(f.s, &count, NULL));
    EXPECT_EQ(count, DELAY_THREADS * DELAY_APPENDS + 1);
    fixture_close(&f);
}

/* A record that cannot be written is refused on its own, before it joins anyone's transaction. */
static void test_bad_record_fails_alone(void **state)
{
    struct store_fixture f;
    struct veil_audit_event ev = {.time = 1, .kind = "release", .decision = "maybe"};
    char *big = malloc(70000);
    int64_t seq = 0;
    int64_t count = -1;

    (void)state;
    assert_non_null(big);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    fixture_open(&f);
    EXPECT_ERR(veil_store_audit_append(f.s, &ev, &seq), VEIL_ERR_USAGE);
    ev.decision = "allow";
    ev.reasons = big;
    EXPECT_ERR(veil_store_audit_append(f.s, &ev, &seq), VEIL_ERR_PROTO_LIMIT);
    ev.reasons = "fine";
    EXPECT_OK(veil_store_audit_append(f.s, &ev, &seq));
    EXPECT_EQ(seq, 1);
    EXPECT_OK(veil_store_audit_verify(f.s, &count, NULL));
    EXPECT_EQ(count, 1);
    free(big);
    fixture_close(&f);
}

VEIL_TEST_MAIN(test_chain_verifies, test_triggers_refuse_changes, test_edited_field,
               test_edited_and_rehashed, test_dropped_record, test_swapped_records,
               test_truncated_tail_needs_the_head, test_foreach, test_concurrent_appends,
               test_group_commit, test_commit_delay, test_bad_record_fails_alone)
