/* The DER walker for the Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1). */
#include "veil_fuzz.h"
#include "verify/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_dcap_pck_ext e;
    veil_result r = veil_dcap_pck_ext_parse_der(data, size, &e);

    (void)r;
    return 0;
}
