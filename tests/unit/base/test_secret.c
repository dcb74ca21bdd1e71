#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The smaps entry of the mapping that starts at p: its VmFlags line and its Locked: kB. */
static void smaps_of(const void *p, char *flags, size_t flags_size, long *locked_kb)
{
    char line[512];
    char head[32];
    FILE *f = fopen("/proc/self/smaps", "r");
    int in = 0;

    EXPECT_NOT_NULL(f);
    (void)snprintf(head, sizeof(head), "%lx-", (unsigned long)(uintptr_t)p);
    flags[0] = '\0';
    *locked_kb = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, head, strlen(head)) == 0) {
            in = 1;
        } else if (in && strncmp(line, "Locked:", 7) == 0) {
            *locked_kb = strtol(line + 7, NULL, 10);
        } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            (void)snprintf(flags, flags_size, "%s", line + 8);
            break;
        }
    }
    (void)fclose(f);
    EXPECT_TRUE(in);
}

static int has_flag(const char *flags, const char *flag)
{
    char want[8];

    (void)snprintf(want, sizeof(want), " %s", flag);
    return strstr(flags, want) != NULL;
}

static size_t resident_pages(const void *p, size_t size)
{
    size_t pages = (size + 4095) / 4096;
    unsigned char *vec = calloc(pages, 1);
    size_t n = 0;

    EXPECT_NOT_NULL(vec);
    EXPECT_EQ(mincore((void *)(uintptr_t)p, size, vec), 0);
    for (size_t i = 0; i < pages; i++) {
        n += vec[i] & 1;
    }
    free(vec);
    return n;
}

/* Locked on fault: locked (lo, lf), not dumped (dd), not inherited (dc) from the start; no page
 * resident until touched, and then locked. */
static void test_locked_onfault_is_locked_before_any_page_exists(void **state)
{
    const size_t size = 16 * 4096;
    char flags[512];
    long locked_kb = 0;
    uint8_t *p = NULL;

    (void)state;
    EXPECT_OK(veil_locked_map_onfault(size, (void **)&p));
    smaps_of(p, flags, sizeof(flags), &locked_kb);
    EXPECT_TRUE(has_flag(flags, "lo"));
    EXPECT_TRUE(has_flag(flags, "lf"));
    EXPECT_TRUE(has_flag(flags, "dd"));
    EXPECT_TRUE(has_flag(flags, "dc"));
    EXPECT_EQ(resident_pages(p, size), 0);
    p[5 * 4096] = 0xa5;
    EXPECT_EQ(resident_pages(p, size), 1);
    smaps_of(p, flags, sizeof(flags), &locked_kb);
    EXPECT_EQ(locked_kb, 4);
    EXPECT_EQ(p[0], 0);
    veil_locked_unmap(p, size);
}

/* The fault-in thread leaves every page resident and locked, and never changes a byte the caller
 * wrote meanwhile. */
static void test_prefault_keeps_concurrent_writes(void **state)
{
    const size_t size = (6u << 20) + 123; /* under the default 8 MiB RLIMIT_MEMLOCK */
    struct veil_locked_prefault f;
    char flags[512];
    long locked_kb = 0;
    uint8_t *p = NULL;

    (void)state;
    EXPECT_OK(veil_locked_map_onfault(size, (void **)&p));
    EXPECT_TRUE(veil_locked_prefault_start(&f, p, size));
    for (size_t i = 0; i < size; i += 512) {
        p[i] = (uint8_t)(i / 512 + 1);
    }
    EXPECT_OK(veil_locked_prefault_join(&f, false));
    EXPECT_EQ(f.done, (size + 4095) / 4096 * 4096);
    EXPECT_EQ(resident_pages(p, size), (size + 4095) / 4096);
    smaps_of(p, flags, sizeof(flags), &locked_kb);
    EXPECT_EQ((size_t)locked_kb, (size + 4095) / 4096 * 4);
    EXPECT_TRUE(has_flag(flags, "lo") && has_flag(flags, "dd"));
    for (size_t i = 0; i < size; i++) {
        if (p[i] != (i % 512 == 0 ? (uint8_t)(i / 512 + 1) : 0)) {
            fail_msg("byte %zu changed", i);
        }
    }
    EXPECT_OK(veil_locked_prefault_join(&f, false)); /* joined already: a no-op */
    veil_locked_unmap(p, size);
}

/* veil_prefault faults in exactly the pages that hold the range, locked, and writes nothing. */
static void test_prefault_range(void **state)
{
    const size_t size = 16 * 4096;
    unsigned char vec[16];
    char flags[512];
    long locked_kb = 0;
    uint8_t *p = NULL;

    (void)state;
    EXPECT_OK(veil_locked_map_onfault(size, (void **)&p));
    veil_prefault(p + 4096 + 100, 2 * 4096); /* bytes in pages 1, 2 and 3 */
    EXPECT_EQ(mincore(p, size, vec), 0);
    for (size_t i = 0; i < 16; i++) {
        EXPECT_EQ(vec[i] & 1, i >= 1 && i <= 3);
    }
    smaps_of(p, flags, sizeof(flags), &locked_kb);
    EXPECT_EQ(locked_kb, 3 * 4);
    for (size_t i = 0; i < size; i++) {
        EXPECT_EQ(p[i], 0);
    }
    veil_prefault(NULL, 4096);
    veil_prefault(p, 0);
    veil_locked_unmap(p, size);
}

static void test_prefault_stops_when_asked(void **state)
{
    const size_t size = 7u << 20;
    struct veil_locked_prefault f;
    uint8_t *p = NULL;

    (void)state;
    EXPECT_OK(veil_locked_map_onfault(size, (void **)&p));
    EXPECT_TRUE(veil_locked_prefault_start(&f, p, size));
    EXPECT_OK(veil_locked_prefault_join(&f, true));
    EXPECT_TRUE(resident_pages(p, size) <= size / 4096);
    veil_locked_unmap(p, size);
    EXPECT_FALSE(veil_locked_prefault_start(&f, NULL, 0));
    EXPECT_OK(veil_locked_prefault_join(&f, true));
}

/* A released part of a locked region: wiped to its last byte, its whole pages no longer resident
 * (nor locked); the bytes around it untouched and still locked; the region stays usable and is
 * unmapped whole. Nothing to hand back within one page. */
static void test_locked_release(void **state)
{
    const size_t size = 8 * 4096;
    char flags[512];
    long locked_kb = 0;
    uint8_t *p = NULL;

    (void)state;
    EXPECT_OK(veil_locked_map_onfault(size, (void **)&p));
    memset(p, 0xa5, size);
    EXPECT_EQ(resident_pages(p, size), 8);
    /* from the middle of page 1 to the middle of page 6: pages 2..5 handed back */
    EXPECT_EQ(veil_locked_release(p + 4096 + 100, 5 * 4096), 4 * 4096);
    EXPECT_EQ(resident_pages(p, size), 4);
    for (size_t i = 0; i < size; i++) { /* (reading maps the released pages back, as zeros) */
        bool inside = i >= 4096 + 100 && i < 6 * 4096 + 100;
        if (p[i] != (inside ? 0 : 0xa5)) {
            fail_msg("byte %zu is %u", i, p[i]);
        }
    }
    smaps_of(p, flags, sizeof(flags), &locked_kb);
    EXPECT_TRUE(has_flag(flags, "lo"));
    EXPECT_EQ(locked_kb, 8); /* pages 0 and 1 (the mapping split after page 1) */
    /* within one page: wiped, nothing handed back */
    EXPECT_EQ(veil_locked_release(p + 10, 20), 0);
    EXPECT_EQ(p[9], 0xa5);
    EXPECT_EQ(p[10], 0);
    EXPECT_EQ(p[29], 0);
    EXPECT_EQ(p[30], 0xa5);
    EXPECT_EQ(veil_locked_release(NULL, 10), 0);
    EXPECT_EQ(veil_locked_release(p, 0), 0);
    veil_locked_unmap(p, size);
}

static void test_harden_process_disables_dumps(void **state)
{
    (void)state;
    EXPECT_API_OK(veil_harden_process());
}

VEIL_TEST_MAIN(test_secret_is_locked_and_zeroed, test_locked_alloc_public_api,
               test_locked_onfault_is_locked_before_any_page_exists,
               test_prefault_keeps_concurrent_writes, test_prefault_range,
               test_prefault_stops_when_asked, test_harden_process_disables_dumps,
               test_locked_release)
