/* Fuzz target: release policy parsing, then evaluation over a fixed claim set. */
#include "policy/policy.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t m[] = {0xab, 0xcd};
    static const char *const ids[] = {"INTEL-SA-00289"};
    struct veil_policy p;
    struct veil_claims c;
    struct veil_policy_decision d;
    char err[256];

    if (!veil_ok(veil_policy_parse(data, size, &p, err, sizeof(err)))) {
        return 0;
    }
    veil_claims_init(&c);
    VEIL_ASSERT(veil_ok(veil_claims_add_str(&c, "tee", size % 2 == 0 ? "sim" : "snp")));
    VEIL_ASSERT(veil_ok(veil_claims_add_bytes(&c, "snp.measurement", m, sizeof(m))));
    VEIL_ASSERT(veil_ok(veil_claims_add_int(&c, "snp.vmpl", 0)));
    VEIL_ASSERT(veil_ok(veil_claims_add_bool(&c, "snp.debug", false)));
    VEIL_ASSERT(veil_ok(veil_claims_add_str_list(&c, "tdx.advisory_ids", ids, 1)));
    veil_policy_decision_init(&d);
    VEIL_ASSERT(veil_ok(veil_policy_evaluate(&p, &c, &d)));
    /* The simulated TEE is never allowed by a policy that does not name it. */
    VEIL_ASSERT(!(d.allow && size % 2 == 0 && !p.names_sim));
    veil_policy_decision_free(&d);
    veil_claims_free(&c);
    veil_policy_free(&p);
    return 0;
}
