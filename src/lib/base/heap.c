/* glibc heap policy around an engine planning run (see heap.h). */
#include "base/heap.h"

#include <stdlib.h> /* first: on glibc it defines __GLIBC__, which the rest tests */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define PLANNING_MMAP_THRESHOLD (128 * 1024)
#define RUN_MMAP_THRESHOLD_MAX  (32 * 1024 * 1024)

void veil_heap_planning_begin(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, PLANNING_MMAP_THRESHOLD);
#endif
}

void veil_heap_planning_end(size_t run_mmap_threshold)
{
#ifdef __GLIBC__
    if (run_mmap_threshold == 0 || run_mmap_threshold > RUN_MMAP_THRESHOLD_MAX) {
        run_mmap_threshold = RUN_MMAP_THRESHOLD_MAX;
    }
    (void)malloc_trim(0);
    (void)mallopt(M_MMAP_THRESHOLD, (int)run_mmap_threshold);
#else
    (void)run_mmap_threshold;
#endif
}
