/*
 * Fuzz target: the SEV-SNP report parser and the verifier on top of it (extended reports carry
 * a certificate table after the 1184 bytes). No collateral: only an extended report whose own
 * table holds a genuine chain can pass, and then its signature check must have passed.
 */
#include "veil_fuzz.h"
#include "verify/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One cache for the whole run (as a long-lived verifier keeps one): parsed roots, and
     * whatever chains inputs with certificate tables get verified. */
    static struct veil_snp_cache *cache;
    struct veil_snp_report r;
    struct veil_snp_tcb t;
    struct veil_claims claims;
    struct veil_report report;
    veil_result res;

    if (veil_ok(veil_snp_report_parse(data, size, &r))) {
        veil_snp_tcb_decode(r.reported_tcb, VEIL_SNP_PRODUCT_TURIN, &t);
        (void)veil_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
    }
    if (cache == NULL && !veil_ok(veil_snp_cache_new(&cache))) {
        return 0;
    }
    veil_claims_init(&claims);
    veil_report_init(&report);
    res = veil_verify_snp_cached(size % 2 == 0 ? cache : NULL, data, size, NULL, &claims, &report);
    if (veil_ok(res)) {
        const struct veil_check *sig = veil_report_find(&report, "snp.signature");
        VEIL_ASSERT(size > VEIL_SNP_REPORT_SIZE && veil_report_passed(&report));
        VEIL_ASSERT(sig != NULL && sig->status == VEIL_CHECK_PASS);
    }
    veil_claims_free(&claims);
    veil_report_free(&report);
    return 0;
}
