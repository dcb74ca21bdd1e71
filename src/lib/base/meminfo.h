/* How much memory this process can still get: MemAvailable from /proc/meminfo, and the room left
 * under every memory cgroup limit above it (v2 memory.max - memory.current, v1
 * memory.limit_in_bytes - memory.usage_in_bytes). veil-serve checks a model's plaintext against
 * it before locking memory for it, so that a model too big for the machine is refused in one
 * line instead of the kernel's OOM killer ending the process half-way through the fault-in. */
#ifndef VEIL_BASE_MEMINFO_H
#define VEIL_BASE_MEMINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The least of the above in bytes; UINT64_MAX when none of them can be read. */
uint64_t veil_mem_available(void);

/* Parsers, exposed for the tests and the fuzz target. Each reads exactly len bytes (no NUL
 * needed) and returns false on anything malformed or out of range. */
/* "MemAvailable:   123456 kB" in /proc/meminfo's text -> bytes. */
bool veil_meminfo_parse_available(const char *text, size_t len, uint64_t *bytes);
/* A cgroup memory file's one number ("123\n"), or "max" (v2: no limit) -> UINT64_MAX. */
bool veil_cgroup_parse_value(const char *text, size_t len, uint64_t *value);
/* The cgroup path of the memory controller in /proc/self/cgroup's text: v2's "0::/path" line
 * when v2, else the v1 line whose controller list holds "memory". The path starts with '/' and
 * holds no "." or ".." component. */
bool veil_cgroup_parse_path(const char *text, size_t len, bool v2, char *path, size_t path_size);

#endif
