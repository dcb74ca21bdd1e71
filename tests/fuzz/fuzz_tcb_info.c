/* TCB info JSON (the signed "tcbInfo" text), the collateral bundle recognizer (PCS responses,
 * dcap-qvl bundles) and TCB level matching over whatever parses. */
#include <stdlib.h>
#include <string.h>

#include "veil_fuzz.h"
#include "verify/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_dcap_tcb_info t;
    struct veil_dcap_collateral c;
    static const uint8_t svn[16] = {5, 5, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t tee[16] = {3, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const char *member;
    size_t member_size;
    veil_result r;

    if (veil_ok(veil_dcap_tcb_info_parse((const char *)data, size, &t))) {
        (void)veil_dcap_tcb_match(&t, svn, 11, t.is_tdx ? tee : NULL);
        (void)veil_dcap_module_find(&t, tee);
        veil_dcap_tcb_info_free(&t);
    }
    veil_dcap_collateral_init(&c);
    r = veil_dcap_collateral_add_json(&c, (const char *)data, size);
    (void)r;
    veil_dcap_collateral_free(&c);
    r = veil_dcap_json_member((const char *)data, size, "tcbInfo", &member, &member_size);
    (void)r;
    return 0;
}
