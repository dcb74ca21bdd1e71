/* Shared fixture for the store tests: a fresh directory with a KEK and a database path. */
#ifndef VEIL_STORE_TEST_H
#define VEIL_STORE_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "veil_test.h"

struct store_fixture {
    char dir[64];
    char db[128];
    char kek[128];
    struct veil_store *s;
};

static inline void fixture_path(const struct store_fixture *f, const char *name, char *out,
                                size_t size)
{
    int n = snprintf(out, size, "%s/%s", f->dir, name);

    assert_true(n > 0 && (size_t)n < size);
}

/* Creates the directory and the KEK, and opens the store. */
static inline void fixture_open(struct store_fixture *f)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->dir, "/tmp/veil-store-XXXXXX", sizeof("/tmp/veil-store-XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    fixture_path(f, "store.db", f->db, sizeof(f->db));
    fixture_path(f, "kek", f->kek, sizeof(f->kek));
    EXPECT_OK(veil_store_kek_create(f->kek));
    EXPECT_OK(veil_store_open(f->db, f->kek, &f->s));
}

static inline void fixture_reopen(struct store_fixture *f)
{
    veil_store_close(f->s);
    f->s = NULL;
    EXPECT_OK(veil_store_open(f->db, f->kek, &f->s));
}

/* Closes the store and removes the directory and everything in it. */
static inline void fixture_close(struct store_fixture *f)
{
    DIR *d;
    struct dirent *e;
    char p[256];

    veil_store_close(f->s);
    f->s = NULL;
    d = opendir(f->dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        fixture_path(f, e->d_name, p, sizeof(p));
        assert_int_equal(unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(f->dir), 0);
}

#endif
