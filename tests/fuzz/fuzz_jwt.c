/*
 * Fuzz target: JWT verification. The first byte picks the mode:
 *   even: the rest is a token, verified with a fixed Ed25519 and a fixed P-256 key;
 *   odd:  the rest is a claims object, signed with the Ed25519 key (deterministic) and verified:
 *         it must verify, or be refused only for its times or its exp/nbf/iat types, and the
 *         claims that come back are the ones signed.
 */
#include "jose/jose.h"
#include "jose_test.h"
#include "veil_fuzz.h"

#define NOW    1700000000
#define LEEWAY 60

static void verify_token(EVP_PKEY *key, const uint8_t *data, size_t size)
{
    json_t *claims = NULL;
    veil_result r = veil_jwt_verify(key, (const char *)data, size, NOW, LEEWAY, &claims);

    VEIL_ASSERT(veil_ok(r) == (claims != NULL));
    VEIL_ASSERT(!veil_ok(r) || json_is_integer(json_object_get(claims, "exp")));
    json_decref(claims);
}

static void sign_and_verify(EVP_PKEY *key, const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    json_t *claims = NULL;
    struct veil_wr w;
    veil_result r;

    if (in == NULL) {
        return;
    }
    veil_wr_init(&w, 4 * VEIL_JOSE_SIZE_MAX);
    if (json_is_object(in) && veil_ok(veil_jwt_sign(key, in, &w))) {
        r = veil_jwt_verify(key, (const char *)w.data, w.len, NOW, LEEWAY, &claims);
        VEIL_ASSERT(veil_ok(r) || r.code == VEIL_ERR_JWT_EXPIRED ||
                    r.code == VEIL_ERR_JWT_NOT_YET_VALID || r.code == VEIL_ERR_JWT_CLAIMS ||
                    r.code == VEIL_ERR_PROTO_LIMIT);
        VEIL_ASSERT(!veil_ok(r) || json_equal(in, claims));
    }
    json_decref(claims);
    veil_wr_free(&w);
    json_decref(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static EVP_PKEY *ed;
    static EVP_PKEY *p256;

    if (ed == NULL) {
        ed = jose_test_ed25519();
        p256 = jose_test_p256_private();
        VEIL_ASSERT(ed != NULL && p256 != NULL);
    }
    if (size < 1 || size > VEIL_JOSE_SIZE_MAX) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        verify_token(ed, data + 1, size - 1);
        verify_token(p256, data + 1, size - 1);
    } else {
        sign_and_verify(ed, data + 1, size - 1);
    }
    return 0;
}
