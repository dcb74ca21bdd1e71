/* glibc heap policy around an engine planning run (see heap.h). */
#include "base/heap.h"

#include <limits.h>
#include <stdlib.h> /* first: on glibc it defines __GLIBC__, which the rest tests */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define PLANNING_MMAP_THRESHOLD (128 * 1024)
#define RUN_MMAP_THRESHOLD_MAX  (32 * 1024 * 1024)

void veil_heap_set_mmap_threshold(size_t bytes)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD,
                  (int)(bytes < RUN_MMAP_THRESHOLD_MAX ? bytes : RUN_MMAP_THRESHOLD_MAX));
#else
    (void)bytes;
#endif
}

void veil_heap_set_trim_threshold(size_t bytes)
{
#ifdef __GLIBC__
    (void)mallopt(M_TRIM_THRESHOLD, (int)(bytes < INT_MAX ? bytes : INT_MAX));
#else
    (void)bytes;
#endif
}

void veil_heap_trim(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

void veil_heap_planning_begin(void)
{
    veil_heap_set_mmap_threshold(PLANNING_MMAP_THRESHOLD);
}

void veil_heap_planning_end(size_t run_mmap_threshold)
{
    veil_heap_trim();
    veil_heap_set_mmap_threshold(run_mmap_threshold == 0 ? RUN_MMAP_THRESHOLD_MAX
                                                         : run_mmap_threshold);
}
