/* glibc heap policy around an engine planning run, for the programs that choose it (veil onnx,
 * veil-serve). The engine library itself leaves the process's malloc settings alone: they are
 * process-wide, and a library that set them would override its host's choices.
 *
 * The planning run (veil_engine_plan) runs the model once on zero inputs with the buffer pool
 * keeping nothing, so its peak is its live set; but glibc's heap keeps freed holes between live
 * buffers (PaddleOCR det: the planning run peaked 16 MB above its live set, above the planned
 * runs). Between veil_heap_planning_begin and veil_heap_planning_end, every allocation of 128 KiB
 * or more gets a mapping of its own, returned to the system when freed. */
#ifndef VEIL_BASE_HEAP_H
#define VEIL_BASE_HEAP_H

#include <stddef.h>

/* glibc's settings, for the programs that choose them (no-ops without glibc): allocations of
 * bytes or more get mappings of their own (M_MMAP_THRESHOLD, at most 32 MiB); free heap up to
 * bytes stays mapped at the top of an arena (M_TRIM_THRESHOLD); free heap pages are handed back
 * now (malloc_trim). */
void veil_heap_set_mmap_threshold(size_t bytes);
void veil_heap_set_trim_threshold(size_t bytes);
void veil_heap_trim(void);

/* Before veil_engine_plan / veil_engine_plan_for. */
void veil_heap_planning_begin(void);

/* After it: hands the freed heap pages back (before the arena is allocated beside them; det:
 * about 20 MB of peak RSS), then sets glibc's mmap threshold to run_mmap_threshold for what
 * follows (0: glibc's maximum on 64-bit, 32 MiB, what its dynamic threshold grows to, so runs
 * reuse heap memory rather than fault in fresh mappings for every buffer). No-ops without glibc. */
void veil_heap_planning_end(size_t run_mmap_threshold);

#endif
