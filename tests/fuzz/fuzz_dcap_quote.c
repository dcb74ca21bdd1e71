/* DCAP quotes: the parser, then the whole verifier without collateral (PEM chain, PCK extension,
 * signatures) for inputs that parse. */
#include <string.h>

#include "veil_fuzz.h"
#include "verify/dcap.h"
#include "verify/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_dcap_quote q;
    struct veil_verify_opts opts;
    struct veil_claims claims;
    struct veil_report report;
    veil_result r;

    if (!veil_ok(veil_dcap_quote_parse(data, size, &q))) {
        return 0;
    }
    memset(&opts, 0, sizeof(opts));
    opts.at = 1750000000; /* 2025-06-15 */
    veil_claims_init(&claims);
    veil_report_init(&report);
    r = q.tee_type == VEIL_DCAP_TEE_TDX ? veil_verify_tdx(data, size, &opts, &claims, &report)
                                        : veil_verify_sgx(data, size, &opts, &claims, &report);
    (void)r;
    veil_claims_free(&claims);
    veil_report_free(&report);
    return 0;
}
