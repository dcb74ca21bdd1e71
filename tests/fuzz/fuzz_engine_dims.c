/* Fuzz target: the DIMxDIM shape parser (veil_engine_parse_dims) behind `veil onnx --shape` and
 * veil-serve's input_shapes. Any string is refused or parsed into at most VEIL_ENGINE_RANK_MAX
 * dims of 0..2^40, and a parsed shape written back as DIMxDIM parses to the same dims. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    char again[VEIL_ENGINE_RANK_MAX * 16 + 1];
    size_t len = 0;
    uint32_t rank = 0;
    uint32_t rank2 = 0;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    int64_t dims2[VEIL_ENGINE_RANK_MAX];

    if (size > 4096) {
        return 0;
    }
    s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (veil_engine_parse_dims(s, &rank, dims)) {
        VEIL_ASSERT(rank >= 1 && rank <= VEIL_ENGINE_RANK_MAX);
        for (uint32_t d = 0; d < rank; d++) {
            VEIL_ASSERT(dims[d] >= 0 && dims[d] <= ((int64_t)1 << 40));
            len += (size_t)snprintf(again + len, sizeof(again) - len, "%s%" PRId64,
                                    d == 0 ? "" : "x", dims[d]);
        }
        VEIL_ASSERT(veil_engine_parse_dims(again, &rank2, dims2));
        VEIL_ASSERT(rank2 == rank && memcmp(dims, dims2, rank * sizeof(*dims)) == 0);
    }
    free(s);
    return 0;
}
