/*
 * A writer killed with SIGKILL in the middle of its puts: every put (and audit append) that had
 * returned success before the kill is intact after reopening, and the audit chain verifies.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_test.h"

#define ROUNDS     3
#define RUN_MS     400
#define RESOURCE   "crash/key/k"
#define VALUE_SIZE 48
#define ACKS_MAX   100000

struct ack {
    int64_t version;
    int64_t seq;
    uint32_t i;
};

static void value_for(uint32_t i, uint8_t out[VALUE_SIZE])
{
    for (size_t k = 0; k < VALUE_SIZE; k++) {
        out[k] = (uint8_t)(i * 31u + k);
    }
}

static bool write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = write(fd, b, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* The child: puts and appends until killed; acknowledges each only after both returned. */
static _Noreturn void writer(const struct store_fixture *f, int fd, uint32_t first)
{
    struct veil_store *s = NULL;
    uint8_t value[VALUE_SIZE];
    struct veil_audit_event ev = {.kind = "release", .decision = "allow", .resource = RESOURCE};
    struct ack a;

    if (!veil_ok(veil_store_open(f->db, f->kek, &s))) {
        _exit(2);
    }
    for (uint32_t i = first;; i++) {
        value_for(i, value);
        memset(&a, 0, sizeof(a));
        a.i = i;
        if (!veil_ok(veil_store_resource_put(s, RESOURCE, value, sizeof(value), &a.version))) {
            _exit(3);
        }
        ev.time = (int64_t)i;
        ev.policy_version = a.version;
        if (!veil_ok(veil_store_audit_append(s, &ev, &a.seq))) {
            _exit(4);
        }
        if (!write_all(fd, &a, sizeof(a))) {
            _exit(5);
        }
    }
}

static size_t read_acks(int fd, struct ack *acks, size_t have)
{
    for (;;) {
        ssize_t r = read(fd, &acks[have], sizeof(acks[0]));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return have;
        }
        assert_int_equal(r, sizeof(acks[0])); /* pipe writes of < PIPE_BUF bytes are atomic */
        have++;
        assert_true(have < ACKS_MAX);
    }
}

static void test_sigkill_loses_nothing_committed(void **state)
{
    static struct ack acks[ACKS_MAX];
    struct timespec run = {0, RUN_MS * 1000000L};
    struct store_fixture f;
    struct veil_wr out;
    uint8_t value[VALUE_SIZE];
    size_t n = 0;
    int64_t count = 0;
    int64_t bad = -1;
    int status = 0;

    (void)state;
    fixture_open(&f);
    veil_store_close(f.s);
    f.s = NULL;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        pid_t pid;
        size_t before = n;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            writer(&f, fds[1], (uint32_t)(round * 1000000));
        }
        close(fds[1]);
        nanosleep(&run, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        n = read_acks(fds[0], acks, n);
        close(fds[0]);
        print_message("round %d: %zu puts acknowledged before SIGKILL\n", round, n - before);
        assert_true(n > before);
    }

    EXPECT_OK(veil_store_open(f.db, f.kek, &f.s));
    veil_wr_init_secret(&out, 1024);
    for (size_t k = 0; k < n; k++) {
        veil_wr_reset(&out);
        EXPECT_OK(veil_store_resource_get_version(f.s, RESOURCE, acks[k].version, &out));
        value_for(acks[k].i, value);
        EXPECT_EQ(out.len, VALUE_SIZE);
        EXPECT_BYTES_EQ(out.data, value, VALUE_SIZE);
        if (k > 0) {
            EXPECT_TRUE(acks[k].version > acks[k - 1].version);
            EXPECT_TRUE(acks[k].seq > acks[k - 1].seq);
        }
    }
    veil_wr_free(&out);
    EXPECT_OK(veil_store_audit_verify(f.s, &count, &bad));
    EXPECT_TRUE(count >= acks[n - 1].seq);
    /* And the store still takes writes after the crashes. */
    EXPECT_OK(veil_store_resource_put(f.s, RESOURCE, value, sizeof(value), NULL));
    fixture_close(&f);
}

/* Killed while creating the database (schema migration in flight): the next open completes it. */
static void test_sigkill_during_create(void **state)
{
    struct store_fixture f;
    int64_t count = -1;
    int status = 0;

    (void)state;
    for (long delay_us = 0; delay_us < 4000; delay_us += 500) {
        struct timespec t = {0, delay_us * 1000L};
        pid_t pid;

        fixture_open(&f);
        veil_store_close(f.s);
        f.s = NULL;
        assert_int_equal(unlink(f.db), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct veil_store *s = NULL;

            _exit(veil_ok(veil_store_open(f.db, f.kek, &s)) ? 0 : 1);
        }
        nanosleep(&t, NULL);
        (void)kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        EXPECT_OK(veil_store_open(f.db, f.kek, &f.s));
        EXPECT_OK(veil_store_resource_put(f.s, RESOURCE, (const uint8_t *)"x", 1, NULL));
        EXPECT_OK(veil_store_audit_verify(f.s, &count, NULL));
        fixture_close(&f);
    }
}

VEIL_TEST_MAIN(test_sigkill_loses_nothing_committed, test_sigkill_during_create)
