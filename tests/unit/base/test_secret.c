#include <sys/mman.h>
#include <unistd.h>

#include "base/secret.h"
#include "veil_test.h"

static void test_secret_is_locked_and_zeroed(void **state)
{
    struct veil_secret *s = NULL;
    unsigned char vec[1];

    (void)state;
    EXPECT_OK(veil_secret_new(32, &s));
    EXPECT_EQ(s->size, 32);
    for (size_t i = 0; i < 32; i++) {
        EXPECT_EQ(s->data[i], 0);
    }
    /* Resident (mlock'ed pages are). */
    EXPECT_EQ(mincore(s->data, 1, vec), 0);
    EXPECT_TRUE(vec[0] & 1);
    veil_secret_free(s);
    veil_secret_free(NULL);
}

static void test_locked_alloc_public_api(void **state)
{
    void *p = NULL;

    (void)state;
    EXPECT_API_OK(veil_locked_alloc(3 * 4096 + 1, &p));
    memset(p, 0xa5, 3 * 4096 + 1);
    veil_locked_free(p, 3 * 4096 + 1);
}

static void test_harden_process_disables_dumps(void **state)
{
    (void)state;
    EXPECT_API_OK(veil_harden_process());
}

VEIL_TEST_MAIN(test_secret_is_locked_and_zeroed, test_locked_alloc_public_api,
               test_harden_process_disables_dumps)
