/*
 * Commit rate of the store next to raw SQLite in the same process and directory.
 *   bench_store DIR COUNT
 * Prints one line per measurement: "<name> commits=N seconds=S commits_per_s=R".
 *   store_put       veil_store_resource_put (wrap + one BEGIN IMMEDIATE ... COMMIT)
 *   store_audit     veil_store_audit_append (head read + SHA-256 + insert, one transaction)
 *   raw_full        INSERT of a 64-byte blob per autocommit transaction, WAL, synchronous=FULL
 *   raw_normal      the same with synchronous=NORMAL (what the store would get if it chose it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, long count, double secs)
{
    printf("%-12s commits=%ld seconds=%.3f commits_per_s=%.0f\n", name, count, secs,
           (double)count / secs);
}

static int raw_loop(const char *path, const char *sync_pragma, long count, double *secs)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t blob[64];
    double t0;
    int ok = 0;

    memset(blob, 0x5a, sizeof(blob));
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sync_pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?1)", -1, &st, NULL) != SQLITE_OK) {
        goto out;
    }
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        if (sqlite3_bind_blob(st, 1, blob, sizeof(blob), SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE || sqlite3_reset(st) != SQLITE_OK) {
            goto out;
        }
    }
    *secs = now_s() - t0;
    ok = 1;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static int store_loops(const char *db, const char *kek, long count, double *put_s, double *audit_s)
{
    struct veil_audit_event ev = {.kind = "release",
                                  .requester = "10.0.0.1:443",
                                  .tee = "snp",
                                  .measurement = "0123456789abcdef",
                                  .policy = "repo/*",
                                  .resource = "repo/key/bench",
                                  .decision = "allow",
                                  .reasons = "all conditions met"};
    struct veil_store *s = NULL;
    uint8_t value[64];
    double t0;
    int ok = 0;

    memset(value, 0x33, sizeof(value));
    if (!veil_ok(veil_store_kek_create(kek)) || !veil_ok(veil_store_open(db, kek, &s))) {
        return 0;
    }
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        if (!veil_ok(veil_store_resource_put(s, "repo/key/bench", value, sizeof(value), NULL))) {
            goto out;
        }
    }
    *put_s = now_s() - t0;
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        ev.time = i;
        if (!veil_ok(veil_store_audit_append(s, &ev, NULL))) {
            goto out;
        }
    }
    *audit_s = now_s() - t0;
    ok = 1;
out:
    veil_store_close(s);
    return ok;
}

int main(int argc, char **argv)
{
    char db[512];
    char kek[512];
    char raw_full[512];
    char raw_normal[512];
    double put_s = 0;
    double audit_s = 0;
    double full_s = 0;
    double normal_s = 0;
    long count;

    if (argc != 3 || (count = strtol(argv[2], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: bench_store DIR COUNT\n");
        return 2;
    }
    snprintf(db, sizeof(db), "%s/store.db", argv[1]);
    snprintf(kek, sizeof(kek), "%s/kek", argv[1]);
    snprintf(raw_full, sizeof(raw_full), "%s/raw_full.db", argv[1]);
    snprintf(raw_normal, sizeof(raw_normal), "%s/raw_normal.db", argv[1]);
    if (!store_loops(db, kek, count, &put_s, &audit_s) ||
        !raw_loop(raw_full, "PRAGMA synchronous=FULL", count, &full_s) ||
        !raw_loop(raw_normal, "PRAGMA synchronous=NORMAL", count, &normal_s)) {
        fprintf(stderr, "bench_store: failed (does %s exist and is it empty?)\n", argv[1]);
        return 1;
    }
    report("store_put", count, put_s);
    report("store_audit", count, audit_s);
    report("raw_full", count, full_s);
    report("raw_normal", count, normal_s);
    return 0;
}
