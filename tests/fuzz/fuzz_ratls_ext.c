/* Fuzz target: the attested TLS evidence extension parser (tagged CBOR). */
#include <string.h>

#include "ratls/ratls.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_wr ev;
    struct veil_wr again;
    enum veil_tee tee = VEIL_TEE_SIM;
    enum veil_tee tee2 = VEIL_TEE_SIM;

    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    veil_wr_init(&again, VEIL_RATLS_EXT_SIZE_MAX);
    if (veil_ok(veil_ratls_ext_decode(data, size, &tee, &ev))) {
        /* What decodes re-encodes to the same bytes (the encoding is canonical). */
        VEIL_ASSERT(veil_ok(veil_ratls_ext_encode(tee, ev.data, ev.len, &again)));
        VEIL_ASSERT(again.len == size && memcmp(again.data, data, size) == 0);
        veil_wr_reset(&ev);
        VEIL_ASSERT(veil_ok(veil_ratls_ext_decode(again.data, again.len, &tee2, &ev)));
        VEIL_ASSERT(tee == tee2);
    }
    veil_wr_free(&again);
    veil_wr_free(&ev);
    return 0;
}
