/*
 * Fuzz target: the sealed model header/manifest/signature parser.
 * Property: whatever parses re-encodes to exactly the bytes it was parsed from.
 */
#include <stdlib.h>
#include <string.h>

#include "model/format.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_model_header h;
    struct veil_model_header again;
    uint8_t buf[VEIL_MODEL_HEADER_SIZE_MAX];
    struct veil_wr w;

    if (!veil_ok(veil_model_header_parse(data, size, &h))) {
        return 0;
    }
    VEIL_ASSERT(h.total_size <= size && h.manifest_size < h.total_size);
    again = h;
    veil_wr_init_fixed(&w, buf, sizeof(buf));
    VEIL_ASSERT(veil_ok(veil_model_header_encode(&again, &w)));
    VEIL_ASSERT(w.len == h.manifest_size);
    VEIL_ASSERT(memcmp(buf, data, w.len) == 0);
    VEIL_ASSERT(memcmp(again.model_id, h.model_id, sizeof(h.model_id)) == 0);
    VEIL_ASSERT(memcmp(again.header_digest, h.header_digest, sizeof(h.header_digest)) == 0);
    return 0;
}
