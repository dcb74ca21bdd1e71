#include <sys/stat.h>

#include <sqlite3.h>

#include "store_test.h"

static void test_create_and_reopen(void **state)
{
    struct store_fixture f;
    struct veil_wr out;
    struct stat st;
    int64_t v = 0;

    (void)state;
    fixture_open(&f);
    /* The database is private, like the KEK. */
    assert_int_equal(stat(f.db, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    assert_int_equal(stat(f.kek, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", (const uint8_t *)"abc", 3, &v));
    EXPECT_EQ(v, 1);
    fixture_reopen(&f);
    veil_wr_init_secret(&out, 1024);
    EXPECT_OK(veil_store_resource_get(f.s, "repo/key/one", &out, &v));
    EXPECT_EQ(v, 1);
    EXPECT_EQ(out.len, 3);
    EXPECT_BYTES_EQ(out.data, "abc", 3);
    veil_wr_free(&out);
    fixture_close(&f);
}

static int64_t sql_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema_wal_and_version(void **state)
{
    struct store_fixture f;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    (void)state;
    fixture_open(&f);
    EXPECT_EQ(sql_int(f.db, "SELECT version FROM schema_version"), 1);
    EXPECT_EQ(sql_int(f.db, "SELECT count(*) FROM schema_version"), 1);
    EXPECT_EQ(sql_int(f.db, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 2);
    assert_int_equal(sqlite3_open_v2(f.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STR_EQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* Reopening does not migrate twice. */
    fixture_reopen(&f);
    EXPECT_EQ(sql_int(f.db, "SELECT count(*) FROM schema_version"), 1);
    fixture_close(&f);
}

static void test_newer_schema_refused(void **state)
{
    struct store_fixture f;
    struct veil_store *s = NULL;
    sqlite3 *db = NULL;

    (void)state;
    fixture_open(&f);
    veil_store_close(f.s);
    f.s = NULL;
    assert_int_equal(sqlite3_open(f.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    EXPECT_ERR(veil_store_open(f.db, f.kek, &s), VEIL_ERR_STORE_SCHEMA);
    EXPECT_NULL(s);
    fixture_close(&f);
}

static void test_kek_file_checks(void **state)
{
    struct store_fixture f;
    struct veil_store *s = NULL;
    char other[128];
    FILE *fp;

    (void)state;
    fixture_open(&f);
    /* Never replaces an existing KEK. */
    EXPECT_ERR(veil_store_kek_create(f.kek), VEIL_ERR_IO_EXISTS);
    /* Readable by others: refused. */
    assert_int_equal(chmod(f.kek, 0644), 0);
    EXPECT_ERR(veil_store_open(f.db, f.kek, &s), VEIL_ERR_IO_PERMISSIONS);
    EXPECT_NULL(s);
    assert_int_equal(chmod(f.kek, 0600), 0);
    /* Missing, or not 32 bytes: refused. */
    fixture_path(&f, "short", other, sizeof(other));
    EXPECT_ERR(veil_store_open(f.db, other, &s), VEIL_ERR_IO_OPEN);
    fp = fopen(other, "w");
    assert_non_null(fp);
    fputs("too short", fp);
    fclose(fp);
    assert_int_equal(chmod(other, 0600), 0);
    EXPECT_ERR(veil_store_open(f.db, other, &s), VEIL_ERR_PROTO_KEY);
    EXPECT_NULL(s);
    fixture_close(&f);
}

static void test_not_a_database(void **state)
{
    struct store_fixture f;
    struct veil_store *s = NULL;
    char junk[128];
    char missing[160];
    FILE *fp;

    (void)state;
    fixture_open(&f);
    fixture_path(&f, "junk.db", junk, sizeof(junk));
    fp = fopen(junk, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++) {
        fputs("this is not an SQLite database. ", fp);
    }
    fclose(fp);
    EXPECT_ERR(veil_store_open(junk, f.kek, &s), VEIL_ERR_STORE_DB);
    EXPECT_NULL(s);
    fixture_path(&f, "no/such/dir.db", missing, sizeof(missing));
    EXPECT_ERR(veil_store_open(missing, f.kek, &s), VEIL_ERR_IO_OPEN);
    EXPECT_ERR(veil_store_open(NULL, f.kek, &s), VEIL_ERR_USAGE);
    fixture_close(&f);
}

VEIL_TEST_MAIN(test_create_and_reopen, test_schema_wal_and_version, test_newer_schema_refused,
               test_kek_file_checks, test_not_a_database)
