/*
 * Shared by jwk.c, jws.c and jwe.c (not part of jose.h): strict base64url, the member-table
 * schema check, capped JSON loading, the key kinds JOSE accepts, and the Concat KDF.
 */
#ifndef VEIL_JOSE_INTERNAL_H
#define VEIL_JOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/result.h"
#include "jose/jose.h"

#define VEIL_JOSE_HEADER_SIZE_MAX 4096 /* a decoded JWS or JWE protected header */
#define VEIL_JOSE_PARTY_SIZE_MAX  256  /* decoded apu / apv */
#define VEIL_JOSE_RSA_BITS_MIN    2048
#define VEIL_JOSE_RSA_BITS_MAX    8192
#define VEIL_JOSE_RSA_SIZE_MAX    (VEIL_JOSE_RSA_BITS_MAX / 8)
#define VEIL_JOSE_RSA_E_SIZE_MAX  32 /* 256 bits, as SP 800-56B allows */
#define VEIL_JOSE_EC_SIZE_MAX     48 /* P-384 field and scalar */

/* The keys JOSE works with. */
enum veil_jose_kind {
    VEIL_JOSE_P256 = 1,
    VEIL_JOSE_P384 = 2,
    VEIL_JOSE_RSA = 3,
    VEIL_JOSE_ED25519 = 4,
};

/* The kind of a loaded key; VEIL_ERR_CRYPTO_KEY for anything else (other curves, RSA outside
 * 2048..8192 bits). */
VEIL_RESULT veil_jose_key_kind(EVP_PKEY *key, enum veil_jose_kind *kind);
/* Field (coordinate) size of an EC kind; 0 for the others. */
size_t veil_jose_ec_size(enum veil_jose_kind kind);
/* OpenSSL's group name for an EC kind. */
const char *veil_jose_ec_group(enum veil_jose_kind kind);

/* base64url without padding (RFC 7515 section 2). '=' and anything outside the alphabet is
 * VEIL_ERR_PROTO_ENCODING; more than out_size bytes is VEIL_ERR_PROTO_LIMIT. */
VEIL_RESULT veil_jose_b64_decode(const char *in, size_t n, uint8_t *out, size_t out_size,
                                 size_t *out_len);
/* Exactly size bytes, or VEIL_ERR_JOSE_LENGTH. */
VEIL_RESULT veil_jose_b64_decode_exact(const char *in, size_t n, uint8_t *out, size_t size);
/* A JSON string member's base64url content (json must be a string). */
VEIL_RESULT veil_jose_b64_decode_json(const json_t *s, uint8_t *out, size_t out_size,
                                      size_t *out_len);
/* Appends the base64url encoding of in to w. */
VEIL_RESULT veil_jose_b64_append(struct veil_wr *w, const uint8_t *in, size_t n);
/* A new JSON string holding the base64url encoding of in. */
VEIL_RESULT veil_jose_b64_json(const uint8_t *in, size_t n, json_t **out);

/* A JSON object from at most cap bytes, duplicate keys refused (VEIL_ERR_JOSE otherwise). */
VEIL_RESULT veil_jose_json_load(const uint8_t *p, size_t n, size_t cap, json_t **out);
/* A string member equals lit exactly (no embedded NUL tricks). */
bool veil_jose_str_eq(const json_t *s, const char *lit);

/* One row of an object schema. */
enum veil_jose_type {
    VEIL_JOSE_STRING = 1,
    VEIL_JOSE_OBJECT = 2,
    VEIL_JOSE_INTEGER = 3,
    VEIL_JOSE_ANY = 4,
};

struct veil_jose_member {
    const char *name;
    enum veil_jose_type type;
    bool required;
    int refuse;    /* nonzero: the member's presence is this error (private keys, crit, zip) */
    json_t *value; /* set by veil_jose_members (borrowed) */
};

/* Checks obj against the table: every member known, of its type, required ones present.
 * Unknown members are VEIL_ERR_JOSE_MEMBER; a member with refuse set returns that error. */
VEIL_RESULT veil_jose_members(const json_t *obj, struct veil_jose_member *m, size_t count);

/* Concat KDF (NIST SP 800-56A, RFC 7518 section 4.6.2) with SHA-256: AlgorithmID, PartyUInfo
 * and PartyVInfo length-prefixed, SuppPubInfo the key length in bits. out_size <= 32. */
VEIL_RESULT veil_jose_concat_kdf(const uint8_t *z, size_t z_size, const char *alg_id,
                                 const uint8_t *apu, size_t apu_size, const uint8_t *apv,
                                 size_t apv_size, uint8_t *out, size_t out_size);

/* The algorithm name a JWS made with this key carries ("ES256", "ES384", "EdDSA", "RS256"). */
const char *veil_jws_alg_of(enum veil_jose_kind kind);

#endif
