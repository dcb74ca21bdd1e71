/* Fuzz target: %XX decoding of issuer-chain headers from Intel PCS. */
#include <string.h>

#include "veil_fuzz.h"
#include "verify/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_wr w;

    veil_wr_init(&w, 1 << 20);
    if (veil_ok(veil_wr_bytes(&w, data, size)) && veil_ok(veil_fetch_url_decode(&w))) {
        VEIL_ASSERT(w.len <= size);
    }
    veil_wr_free(&w);
    return 0;
}
