/* Fuzz target: the key broker's request bodies (Request and Attestation) and typed claims. */
#include "kbs/proto.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_kbs_request req;
    struct veil_kbs_attestation att;
    struct veil_claims c;
    char why[256];
    char nonce[128];
    json_t *j;

    (void)veil_ok(veil_kbs_request_parse(data, size, &req, why, sizeof(why)));
    (void)veil_ok(veil_kbs_challenge_parse(data, size, nonce, sizeof(nonce)));
    if (veil_ok(veil_kbs_attestation_parse(data, size, &att, why, sizeof(why)))) {
        VEIL_ASSERT(att.evidence_size <= VEIL_KBS_EVIDENCE_SIZE_MAX);
        veil_kbs_attestation_free(&att);
    }
    j = size <= VEIL_KBS_BODY_SIZE_MAX ? json_loadb((const char *)data, size, 0, NULL) : NULL;
    if (j != NULL) {
        veil_claims_init(&c);
        (void)veil_ok(veil_kbs_claims_from_json(j, &c));
        veil_claims_free(&c);
        json_decref(j);
    }
    return 0;
}
