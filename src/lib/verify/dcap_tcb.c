/*
 * TCB level matching (Intel QVL / PCS semantics).
 *
 * Platform: the first TCB level (PCS lists them newest first) such that every SGX TCB component
 * SVN of the PCK certificate and its PCESVN are >= the level's; for TDX also every TEE_TCB_SVN
 * byte >= the level's tdxtcbcomponents, except that when TEE_TCB_SVN[1] (TDX module major
 * version) is non-zero, bytes 0 and 1 are judged by the TDX module identity instead.
 * QE and TDX module identities: the first level whose ISV SVN is <= the reported one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/dcap_internal.h"

static bool svn_ge(const uint8_t *have, const uint8_t *want, size_t from)
{
    for (size_t i = from; i < 16; i++) {
        if (have[i] < want[i]) {
            return false;
        }
    }
    return true;
}

const struct veil_dcap_tcb_level *veil_dcap_tcb_match(const struct veil_dcap_tcb_info *t,
                                                      const uint8_t comp_svn[16], uint16_t pce_svn,
                                                      const uint8_t *tee_tcb_svn)
{
    for (size_t i = 0; i < t->level_count; i++) {
        const struct veil_dcap_tcb_level *l = &t->levels[i];
        if (!svn_ge(comp_svn, l->sgx_svn, 0) || pce_svn < l->pce_svn) {
            continue;
        }
        if (tee_tcb_svn != NULL) {
            if (!l->has_tdx || !svn_ge(tee_tcb_svn, l->tdx_svn, tee_tcb_svn[1] > 0 ? 2 : 0)) {
                continue;
            }
        }
        return l;
    }
    return NULL;
}

const struct veil_dcap_isv_level *veil_dcap_isv_match(const struct veil_dcap_isv_level *levels,
                                                      size_t count, uint16_t svn)
{
    for (size_t i = 0; i < count; i++) {
        if (levels[i].isv_svn <= svn) {
            return &levels[i];
        }
    }
    return NULL;
}

const struct veil_dcap_module_identity *veil_dcap_module_find(const struct veil_dcap_tcb_info *t,
                                                              const uint8_t tee_tcb_svn[16])
{
    char id[16];

    (void)snprintf(id, sizeof(id), "TDX_%02X", tee_tcb_svn[1]);
    for (size_t i = 0; i < t->module_count; i++) {
        if (strcmp(t->modules[i].id, id) == 0) {
            return &t->modules[i];
        }
    }
    return NULL;
}

enum {
    FLAG_SW = 1,
    FLAG_CONFIG = 2,
    FLAG_OUT_OF_DATE = 4,
    FLAG_REVOKED = 8,
};

static unsigned flags_of(enum veil_dcap_tcb_status s)
{
    switch (s) {
        case VEIL_DCAP_UP_TO_DATE:
            return 0;
        case VEIL_DCAP_SW_HARDENING_NEEDED:
            return FLAG_SW;
        case VEIL_DCAP_CONFIGURATION_NEEDED:
            return FLAG_CONFIG;
        case VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED:
            return FLAG_CONFIG | FLAG_SW;
        case VEIL_DCAP_OUT_OF_DATE:
            return FLAG_OUT_OF_DATE;
        case VEIL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED:
            return FLAG_OUT_OF_DATE | FLAG_CONFIG;
        case VEIL_DCAP_REVOKED:
        default:
            return FLAG_REVOKED;
    }
}

enum veil_dcap_tcb_status veil_dcap_tcb_merge(enum veil_dcap_tcb_status a,
                                              enum veil_dcap_tcb_status b)
{
    unsigned f = flags_of(a) | flags_of(b);

    if (f & FLAG_REVOKED) {
        return VEIL_DCAP_REVOKED;
    }
    if (f & FLAG_OUT_OF_DATE) {
        return (f & FLAG_CONFIG) ? VEIL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED
                                 : VEIL_DCAP_OUT_OF_DATE;
    }
    if ((f & FLAG_CONFIG) && (f & FLAG_SW)) {
        return VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED;
    }
    if (f & FLAG_CONFIG) {
        return VEIL_DCAP_CONFIGURATION_NEEDED;
    }
    return (f & FLAG_SW) ? VEIL_DCAP_SW_HARDENING_NEEDED : VEIL_DCAP_UP_TO_DATE;
}

veil_result veil_dcap_advisories_merge(struct veil_dcap_advisories *dst,
                                       const struct veil_dcap_advisories *src)
{
    for (size_t i = 0; i < src->count; i++) {
        bool seen = false;
        char **ids;
        size_t n;
        for (size_t j = 0; j < dst->count && !seen; j++) {
            seen = strcmp(dst->ids[j], src->ids[i]) == 0;
        }
        if (seen) {
            continue;
        }
        ENSURE(dst->count < VEIL_DCAP_ADVISORY_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
        ids = realloc(dst->ids, (dst->count + 1) * sizeof(*ids));
        ENSURE(ids != NULL, VEIL_ERR_NOMEM);
        dst->ids = ids;
        n = strlen(src->ids[i]) + 1;
        dst->ids[dst->count] = malloc(n);
        ENSURE(dst->ids[dst->count] != NULL, VEIL_ERR_NOMEM);
        memcpy(dst->ids[dst->count], src->ids[i], n);
        dst->count++;
    }
    return VEIL_RESULT_OK;
}
