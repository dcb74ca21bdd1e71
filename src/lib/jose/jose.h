/*
 * JOSE for the key broker protocol (docs/PROTOCOL.kbs.md): JWK (RFC 7517/7518/8037), JWS compact
 * and JWT (RFC 7515/7519), JWE flattened JSON serialization (RFC 7516). OpenSSL 3 does the
 * cryptography; jansson the JSON. Every input is hostile: sizes capped, unknown or missing members
 * and wrong types refused, "alg": "none" and algorithm confusion refused, EC points checked on the
 * curve, RSA moduli 2048..8192 bits.
 */
#ifndef VEIL_JOSE_H
#define VEIL_JOSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/result.h"

#define VEIL_JOSE_SIZE_MAX (1u << 20) /* any JOSE object we accept */
/* The largest plaintext veil_jwe_encrypt takes: its JWE stays under VEIL_JOSE_SIZE_MAX. */
#define VEIL_JWE_PLAINTEXT_SIZE_MAX (VEIL_JOSE_SIZE_MAX / 4 * 3 - 4096)

/* ---- JWK: public keys only (kty EC with crv P-256 or P-384, RSA, OKP Ed25519). */
VEIL_RESULT veil_jwk_from_json(const json_t *jwk, EVP_PKEY **out);
VEIL_RESULT veil_jwk_to_json(EVP_PKEY *key, json_t **out); /* public part, members sorted */
/* RFC 7638 thumbprint (SHA-256). */
VEIL_RESULT veil_jwk_thumbprint(EVP_PKEY *key, uint8_t out[32]);

/* ---- JWS compact / JWT. Algorithms follow the key: ES256 (P-256), ES384 (P-384), EdDSA. */
VEIL_RESULT veil_jws_sign(EVP_PKEY *key, const char *typ, const uint8_t *payload, size_t n,
                          struct veil_wr *out);
/* Verifies with key; the header's alg must be the key's algorithm. */
VEIL_RESULT veil_jws_verify(EVP_PKEY *key, const char *compact, size_t n, struct veil_wr *payload);
/* Signs claims (adds nothing); verify checks the signature and exp/nbf/iat against now (with
 * leeway_s), and returns the claims. */
/* Loads a signing key for JWS/JWT from a PEM file that only its owner may read: P-256, P-384,
 * Ed25519 or RSA (2048 bits and up); anything else is VEIL_ERR_CRYPTO_KEY. */
VEIL_RESULT veil_jws_key_load(const char *path, EVP_PKEY **out);
VEIL_RESULT veil_jwt_sign(EVP_PKEY *key, const json_t *claims, struct veil_wr *out);
VEIL_RESULT veil_jwt_verify(EVP_PKEY *key, const char *token, size_t n, time_t now, long leeway_s,
                            json_t **claims);

/* ---- JWE flattened JSON serialization, one recipient.
 * EC recipient (P-256/P-384): alg ECDH-ES+A256KW (Concat KDF, RFC 7518 4.6), enc A256GCM.
 * RSA recipient: alg RSA-OAEP-256, enc A256GCM. The protected header carries alg, enc (and epk).
 */
VEIL_RESULT veil_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *plaintext, size_t n, json_t **out);
/* recipient holds the private key; plaintext goes into a secret writer the caller initialised. */
VEIL_RESULT veil_jwe_decrypt(EVP_PKEY *recipient, const json_t *jwe, struct veil_wr *plaintext);

#endif
