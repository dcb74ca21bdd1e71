#include "base/file.h"
#include "sql_raw.h"
#include "store_test.h"

static const uint8_t secret1[] = "first secret key material 0123456789";
static const uint8_t secret2[] = "second";

static void test_round_trip_and_versions(void **state)
{
    struct store_fixture f;
    struct veil_wr out;
    int64_t v = 0;

    (void)state;
    fixture_open(&f);
    veil_wr_init_secret(&out, 4096);
    EXPECT_ERR(veil_store_resource_get(f.s, "repo/key/one", &out, &v), VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", secret1, sizeof(secret1), &v));
    EXPECT_EQ(v, 1);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", secret2, sizeof(secret2), &v));
    EXPECT_EQ(v, 2);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/two", secret1, sizeof(secret1), &v));
    EXPECT_EQ(v, 1);
    /* Latest wins. */
    EXPECT_OK(veil_store_resource_get(f.s, "repo/key/one", &out, &v));
    EXPECT_EQ(v, 2);
    EXPECT_EQ(out.len, sizeof(secret2));
    EXPECT_BYTES_EQ(out.data, secret2, sizeof(secret2));
    /* The history is kept. */
    veil_wr_reset(&out);
    EXPECT_OK(veil_store_resource_get_version(f.s, "repo/key/one", 1, &out));
    EXPECT_EQ(out.len, sizeof(secret1));
    EXPECT_BYTES_EQ(out.data, secret1, sizeof(secret1));
    veil_wr_reset(&out);
    EXPECT_ERR(veil_store_resource_get_version(f.s, "repo/key/one", 3, &out),
               VEIL_ERR_STORE_NOT_FOUND);
    EXPECT_ERR(veil_store_resource_get_version(f.s, "repo/key/one", 0, &out),
               VEIL_ERR_STORE_NOT_FOUND);
    /* Empty resources are allowed. */
    EXPECT_OK(veil_store_resource_put(f.s, "empty", NULL, 0, &v));
    EXPECT_OK(veil_store_resource_get(f.s, "empty", &out, &v));
    EXPECT_EQ(out.len, 0);
    /* The writer's cap is honoured. */
    veil_wr_free(&out);
    veil_wr_init_secret(&out, 4);
    EXPECT_ERR(veil_store_resource_get(f.s, "repo/key/two", &out, &v), VEIL_ERR_PROTO_LIMIT);
    veil_wr_free(&out);
    fixture_close(&f);
}

static void test_no_plaintext_on_disk(void **state)
{
    struct store_fixture f;
    struct veil_wr db;
    uint8_t marker[64];

    (void)state;
    fixture_open(&f);
    memset(marker, 'Q', sizeof(marker));
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", marker, sizeof(marker), NULL));
    veil_store_close(f.s);
    f.s = NULL; /* the last connection checkpoints the WAL into the main file */
    EXPECT_OK(veil_file_read(f.db, 16u << 20, &db));
    EXPECT_TRUE(db.len > 0);
    EXPECT_NULL(memmem(db.data, db.len, marker, 16));
    veil_wr_free(&db);
    fixture_close(&f);
}

static void test_wrong_kek_refused(void **state)
{
    struct store_fixture f;
    struct veil_store *other = NULL;
    struct veil_wr out;
    char kek2[128];
    int64_t v = 0;

    (void)state;
    fixture_open(&f);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", secret1, sizeof(secret1), NULL));
    veil_store_close(f.s);
    f.s = NULL;
    fixture_path(&f, "kek2", kek2, sizeof(kek2));
    EXPECT_OK(veil_store_kek_create(kek2));
    EXPECT_OK(veil_store_open(f.db, kek2, &other));
    veil_wr_init_secret(&out, 4096);
    EXPECT_ERR(veil_store_resource_get(other, "repo/key/one", &out, &v), VEIL_ERR_CRYPTO);
    EXPECT_EQ(out.len, 0);
    veil_wr_free(&out);
    veil_store_close(other);
    fixture_close(&f);
}

static void test_moved_row_refused(void **state)
{
    struct store_fixture f;
    struct veil_wr out;
    int64_t v = 0;

    (void)state;
    fixture_open(&f);
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", secret1, sizeof(secret1), NULL));
    EXPECT_OK(veil_store_resource_put(f.s, "repo/key/one", secret2, sizeof(secret2), NULL));
    /* A copy of a wrapped row under another path. */
    sql_raw(f.db,
            "INSERT INTO resources SELECT 'repo/key/two', version, nonce, ciphertext, tag,"
            " created_at FROM resources WHERE path = 'repo/key/one' AND version = 1");
    /* The old version presented as a newer one (a rollback attempt). */
    sql_raw(f.db,
            "INSERT INTO resources SELECT path, 3, nonce, ciphertext, tag, created_at"
            " FROM resources WHERE path = 'repo/key/one' AND version = 1");
    veil_wr_init_secret(&out, 4096);
    EXPECT_ERR(veil_store_resource_get(f.s, "repo/key/two", &out, &v), VEIL_ERR_CRYPTO);
    EXPECT_ERR(veil_store_resource_get(f.s, "repo/key/one", &out, &v), VEIL_ERR_CRYPTO);
    EXPECT_EQ(out.len, 0);
    EXPECT_OK(veil_store_resource_get_version(f.s, "repo/key/one", 2, &out));
    EXPECT_BYTES_EQ(out.data, secret2, sizeof(secret2));
    veil_wr_reset(&out);
    /* A changed ciphertext. */
    sql_raw(f.db,
            "UPDATE resources SET ciphertext = zeroblob(length(ciphertext))"
            " WHERE path = 'repo/key/one' AND version = 2");
    EXPECT_ERR(veil_store_resource_get_version(f.s, "repo/key/one", 2, &out), VEIL_ERR_CRYPTO);
    veil_wr_free(&out);
    fixture_close(&f);
}

static void test_paths(void **state)
{
    struct store_fixture f;
    char long_seg[200];
    struct veil_wr out;
    uint8_t big[16];

    (void)state;
    EXPECT_TRUE(veil_store_path_valid("repo"));
    EXPECT_TRUE(veil_store_path_valid("repo/type"));
    EXPECT_TRUE(veil_store_path_valid("my-repo/key_type/tag.v1"));
    EXPECT_TRUE(veil_store_path_valid("A.b-C_9/x/y"));
    EXPECT_FALSE(veil_store_path_valid(NULL));
    EXPECT_FALSE(veil_store_path_valid(""));
    EXPECT_FALSE(veil_store_path_valid("/repo"));
    EXPECT_FALSE(veil_store_path_valid("repo/"));
    EXPECT_FALSE(veil_store_path_valid("repo//tag"));
    EXPECT_FALSE(veil_store_path_valid("a/b/c/d"));
    EXPECT_FALSE(veil_store_path_valid("repo/ty pe/tag"));
    EXPECT_FALSE(veil_store_path_valid("repo/type/t*g"));
    EXPECT_FALSE(veil_store_path_valid("repo/../tag"));
    EXPECT_FALSE(veil_store_path_valid("./type/tag"));
    EXPECT_FALSE(veil_store_path_valid("repo/type/tag\n"));
    EXPECT_FALSE(veil_store_path_valid("r\xc3\xa9po"));
    memset(long_seg, 'a', sizeof(long_seg));
    long_seg[128] = '\0';
    EXPECT_TRUE(veil_store_path_valid(long_seg));
    long_seg[128] = 'a';
    long_seg[129] = '\0';
    EXPECT_FALSE(veil_store_path_valid(long_seg));

    fixture_open(&f);
    memset(big, 0, sizeof(big));
    veil_wr_init_secret(&out, 64);
    EXPECT_ERR(veil_store_resource_put(f.s, "repo/../x", big, sizeof(big), NULL),
               VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_resource_put(f.s, "", big, sizeof(big), NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_resource_get(f.s, "a/b/c/d", &out, NULL), VEIL_ERR_STORE_PATH);
    EXPECT_ERR(veil_store_resource_put(f.s, "repo/x", big, (1u << 20) + 1, NULL),
               VEIL_ERR_PROTO_LIMIT);
    veil_wr_free(&out);
    fixture_close(&f);
}

VEIL_TEST_MAIN(test_round_trip_and_versions, test_no_plaintext_on_disk, test_wrong_kek_refused,
               test_moved_row_refused, test_paths)
