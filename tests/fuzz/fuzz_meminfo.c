/* Fuzz target: the parsers behind veil_mem_available (/proc/meminfo's MemAvailable, a cgroup
 * memory value, the memory controller's path in /proc/self/cgroup, v1 and v2). A path parsed
 * is absolute, NUL-terminated within its buffer, and has no "." or ".." component. */
#include <string.h>

#include "base/meminfo.h"
#include "base/result.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char path[64];
    uint64_t v;

    (void)veil_meminfo_parse_available(text, size, &v);
    (void)veil_cgroup_parse_value(text, size, &v);
    for (int v2 = 0; v2 <= 1; v2++) {
        if (veil_cgroup_parse_path(text, size, v2 == 1, path, sizeof(path))) {
            size_t n = strnlen(path, sizeof(path));
            VEIL_ASSERT(n < sizeof(path) && path[0] == '/');
            VEIL_ASSERT(strstr(path, "/../") == NULL && strstr(path, "/./") == NULL);
            VEIL_ASSERT(n < 3 || strcmp(path + n - 3, "/..") != 0);
        }
    }
    return 0;
}
