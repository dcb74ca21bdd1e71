/* Fuzz target: resource path validation (paths come from request URLs), against a second,
 * deliberately different implementation of the rule in store.h. */
#include <stdbool.h>
#include <string.h>

#include "store/store.h"
#include "veil_fuzz.h"

#define PATH_FUZZ_SIZE_MAX 600

static bool reference_valid(const char *path, size_t n)
{
    size_t segments = 1;
    size_t start = 0;

    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && path[i] != '/') {
            if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
                       path[i]) == NULL) {
                return false;
            }
            continue;
        }
        size_t len = i - start;

        if (len == 0 || len > 128 || (len == 1 && path[start] == '.') ||
            (len == 2 && path[start] == '.' && path[start + 1] == '.')) {
            return false;
        }
        if (i < n && ++segments > 3) {
            return false;
        }
        start = i + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[PATH_FUZZ_SIZE_MAX + 1];
    size_t n = size < PATH_FUZZ_SIZE_MAX ? size : PATH_FUZZ_SIZE_MAX;

    memcpy(path, data, n);
    path[n] = '\0';
    n = strlen(path); /* a C string ends at its first NUL, as the broker's paths do */
    VEIL_ASSERT(veil_store_path_valid(path) == reference_valid(path, n));
    return 0;
}
