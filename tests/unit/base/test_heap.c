/* The heap policy around a planning run (base/heap.h): between begin and end, an allocation of
 * 128 KiB or more gets a mapping of its own (returned to the system when freed); after end, the
 * runs' threshold applies. Checked with glibc's own count of mapped bytes (mallinfo2). Under
 * AddressSanitizer malloc is ASan's and glibc's settings mean nothing: skipped there. */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/heap.h"
#include "veil_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#if defined(__GLIBC__) && !defined(UNDER_ASAN)
/* Bytes glibc holds in mappings of their own after allocating n bytes (touched), and frees it. */
static size_t mapped_by(size_t n)
{
    size_t before = mallinfo2().hblkhd;
    unsigned char *p = malloc(n);
    size_t after;

    assert_non_null(p);
    memset(p, 1, n);
    after = mallinfo2().hblkhd;
    free(p);
    return after - before;
}
#endif

static void test_heap_planning(void **state)
{
    (void)state;
#if defined(__GLIBC__) && !defined(UNDER_ASAN)
    veil_heap_planning_begin();
    assert_true(mapped_by(256 * 1024) >= 256 * 1024); /* its own mapping */
    assert_int_equal(mapped_by(64 * 1024), 0);        /* below the threshold: the heap */
    veil_heap_planning_end(0);
#else
    skip();
#endif
}

static void test_heap_runs(void **state)
{
    (void)state;
#if defined(__GLIBC__) && !defined(UNDER_ASAN)
    veil_heap_planning_begin();
    veil_heap_planning_end(0); /* 32 MiB for the runs (veil onnx) */
    assert_int_equal(mapped_by(4 * 1024 * 1024), 0);
    assert_true(mapped_by(40 * 1024 * 1024) >= 40 * 1024 * 1024);
    veil_heap_planning_end(64 * 1024 * 1024); /* above glibc's maximum: its maximum */
    assert_int_equal(mapped_by(4 * 1024 * 1024), 0);
    veil_heap_planning_end(2 * 1024 * 1024); /* veil-serve's */
    assert_int_equal(mapped_by(1024 * 1024), 0);
    assert_true(mapped_by(3 * 1024 * 1024) >= 3 * 1024 * 1024);
#else
    skip();
#endif
}

VEIL_TEST_MAIN(test_heap_planning, test_heap_runs)
