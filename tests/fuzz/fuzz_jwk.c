/*
 * Fuzz target: JSON -> public JWK. Property: whatever parses is a public key that writes back
 * to a JWK which parses to the same key and the same JSON, and that input had no private member.
 */
#include "jose/jose.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *j;
    json_t *out = NULL;
    json_t *again = NULL;
    EVP_PKEY *key = NULL;
    EVP_PKEY *back = NULL;
    uint8_t tp1[32];
    uint8_t tp2[32];

    if (size > VEIL_JOSE_SIZE_MAX) {
        return 0;
    }
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (j == NULL) {
        return 0;
    }
    if (veil_ok(veil_jwk_from_json(j, &key))) {
        VEIL_ASSERT(json_object_get(j, "d") == NULL && json_object_get(j, "k") == NULL);
        VEIL_ASSERT(veil_ok(veil_jwk_to_json(key, &out)));
        VEIL_ASSERT(veil_ok(veil_jwk_from_json(out, &back)));
        VEIL_ASSERT(EVP_PKEY_eq(key, back) == 1);
        VEIL_ASSERT(veil_ok(veil_jwk_to_json(back, &again)));
        VEIL_ASSERT(json_equal(out, again));
        VEIL_ASSERT(veil_ok(veil_jwk_thumbprint(key, tp1)));
        VEIL_ASSERT(veil_ok(veil_jwk_thumbprint(back, tp2)));
        VEIL_ASSERT(CRYPTO_memcmp(tp1, tp2, sizeof(tp1)) == 0);
    } else {
        VEIL_ASSERT(key == NULL);
    }
    json_decref(again);
    json_decref(out);
    EVP_PKEY_free(back);
    EVP_PKEY_free(key);
    json_decref(j);
    return 0;
}
