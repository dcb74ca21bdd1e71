/*
 * Fuzz target: JWE flattened JSON -> decrypt with a fixed P-256 key (RFC 7518 appendix C's
 * "Bob"). Property: a refusal leaves the secret plaintext writer empty; nothing crashes, leaks
 * or reads out of bounds. The seeds are real encryptions to that key.
 */
#include "jose/jose.h"
#include "jose_test.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static EVP_PKEY *bob;
    json_error_t err;
    json_t *j;
    struct veil_wr w;
    veil_result r;

    if (bob == NULL) {
        bob = jose_test_ec_private("P-256", RFC7518_BOB_X, RFC7518_BOB_Y, RFC7518_BOB_D);
        VEIL_ASSERT(bob != NULL);
    }
    if (size > VEIL_JOSE_SIZE_MAX) {
        return 0;
    }
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (j == NULL) {
        return 0;
    }
    veil_wr_init_secret(&w, VEIL_JOSE_SIZE_MAX);
    r = veil_jwe_decrypt(bob, j, &w);
    VEIL_ASSERT(veil_ok(r) || w.len == 0);
    veil_wr_free(&w);
    json_decref(j);
    return 0;
}
