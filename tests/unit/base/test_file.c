#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "veil_test.h"

static char dir[] = "/tmp/veil-test-file-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[64];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_atomic_write_creates_and_replaces_regular_files(void **state)
{
    char path[256];
    struct stat st;

    (void)state;
    (void)snprintf(path, sizeof(path), "%s/out", dir);
    EXPECT_OK(veil_file_write_atomic(path, "one", 3, 0600, 0));
    EXPECT_ERR(veil_file_write_atomic(path, "two", 3, 0600, 0), VEIL_ERR_IO_EXISTS);
    EXPECT_OK(veil_file_write_atomic(path, "two", 3, 0600, 1));
    EXPECT_EQ(stat(path, &st), 0);
    EXPECT_EQ(st.st_size, 3);
    EXPECT_EQ(st.st_mode & 0777, 0600);
}

/* The rename that makes a write atomic would replace a device or a FIFO with a regular file
 * (as root, `-o /dev/null` did exactly that to /dev/null). A FIFO stands in for the device. */
static void test_atomic_write_refuses_to_replace_what_is_not_a_regular_file(void **state)
{
    char fifo[256];
    char sub[256];
    struct stat st;

    (void)state;
    (void)snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    (void)snprintf(sub, sizeof(sub), "%s/sub", dir);
    EXPECT_EQ(mkfifo(fifo, 0600), 0);
    EXPECT_EQ(mkdir(sub, 0700), 0);
    EXPECT_ERR(veil_file_write_atomic(fifo, "x", 1, 0600, 1), VEIL_ERR_IO_NOT_REGULAR);
    EXPECT_ERR(veil_file_write_atomic(sub, "x", 1, 0600, 1), VEIL_ERR_IO_NOT_REGULAR);
    EXPECT_EQ(lstat(fifo, &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(lstat(sub, &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

VEIL_TEST_MAIN_WITH(setup, teardown, test_atomic_write_creates_and_replaces_regular_files,
                    test_atomic_write_refuses_to_replace_what_is_not_a_regular_file)
