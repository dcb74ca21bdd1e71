/* Fuzz target: the simulated-TEE evidence parser and verifier (no trust anchor given). */
#include <time.h>

#include "attest/sim.h"
#include "veil_fuzz.h"
#include "verify/sim_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_verify_opts opts = {.at = 1700000000};
    struct veil_claims c;
    struct veil_report r;
    veil_result res;

    veil_claims_init(&c);
    veil_report_init(&r);
    res = veil_verify_sim(data, size, &opts, &c, &r);
    /* Without a trust anchor nothing may verify. */
    VEIL_ASSERT(!veil_ok(res));
    veil_claims_free(&c);
    veil_report_free(&r);
    return 0;
}
