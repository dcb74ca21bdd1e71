/* QE identity JSON (the signed "enclaveIdentity" text) and ISV SVN level matching. */
#include "veil_fuzz.h"
#include "verify/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_dcap_qe_identity q;

    if (veil_ok(veil_dcap_qe_identity_parse((const char *)data, size, &q))) {
        (void)veil_dcap_isv_match(q.levels, q.level_count, 4);
        veil_dcap_qe_identity_free(&q);
    }
    return 0;
}
