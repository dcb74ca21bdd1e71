/*
 * OpenSSL 3 wrappers: AES-256-GCM, HKDF-SHA-256, SHA-256, and provider signatures (Ed25519,
 * ECDSA P-384). Thin on purpose: OpenSSL does the cryptography, these fix the parameters and turn
 * its 1/0 conventions into veil results.
 */
#ifndef VEIL_CRYPTO_H
#define VEIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/result.h"

#define VEIL_SHA256_SIZE     32
#define VEIL_AES256_KEY_SIZE 32
#define VEIL_GCM_NONCE_SIZE  12
#define VEIL_GCM_TAG_SIZE    16

VEIL_RESULT veil_sha256(const void *data, size_t n, uint8_t out[VEIL_SHA256_SIZE]);

/* HKDF-SHA-256 (RFC 5869), extract and expand. */
VEIL_RESULT veil_hkdf_sha256(const uint8_t *ikm, size_t ikm_size, const uint8_t *salt,
                             size_t salt_size, const char *info, uint8_t *out, size_t out_size);

/* One AES-256-GCM context per thread; the key is set once and the nonce per message. */
struct veil_gcm {
    EVP_CIPHER_CTX *ctx;
    int encrypt;
};

VEIL_RESULT veil_gcm_init(struct veil_gcm *g, const uint8_t key[VEIL_AES256_KEY_SIZE], int encrypt);
/* Frees the context; OpenSSL wipes the key schedule. */
void veil_gcm_free(struct veil_gcm *g);
/* out may equal in (in place). Encrypt writes the tag; decrypt checks it in constant time and
 * returns VEIL_ERR_CRYPTO on mismatch (out must then be treated as garbage). */
VEIL_RESULT veil_gcm_seal(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                          const uint8_t *aad, size_t aad_size, const uint8_t *in, size_t n,
                          uint8_t *out, uint8_t tag[VEIL_GCM_TAG_SIZE]);
VEIL_RESULT veil_gcm_open(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                          const uint8_t *aad, size_t aad_size, const uint8_t *in, size_t n,
                          uint8_t *out, const uint8_t tag[VEIL_GCM_TAG_SIZE]);

/* Streaming form, for callers that interleave other work (hashing) with the cipher pass:
 * begin, any number of updates (out may equal in), then finish with the tag (written when
 * encrypting, checked in constant time when decrypting: VEIL_ERR_CRYPTO on mismatch). */
VEIL_RESULT veil_gcm_begin(struct veil_gcm *g, const uint8_t nonce[VEIL_GCM_NONCE_SIZE],
                           const uint8_t *aad, size_t aad_size);
VEIL_RESULT veil_gcm_update(struct veil_gcm *g, const uint8_t *in, size_t n, uint8_t *out);
VEIL_RESULT veil_gcm_finish(struct veil_gcm *g, uint8_t tag[VEIL_GCM_TAG_SIZE]);

/* Provider signature algorithms, as numbered in the sealed model format. */
enum veil_sig_alg {
    VEIL_SIG_ED25519 = 1,    /* 64-byte signature */
    VEIL_SIG_ECDSA_P384 = 2, /* SHA-384, raw r || s, 96 bytes */
};

#define VEIL_SIG_SIZE_MAX 96

const char *veil_sig_alg_name(enum veil_sig_alg alg);
size_t veil_sig_alg_size(enum veil_sig_alg alg);

VEIL_RESULT veil_sign_keygen(enum veil_sig_alg alg, EVP_PKEY **out);
/* The algorithm of a loaded key; VEIL_ERR_CRYPTO_KEY for anything but Ed25519 / P-384. */
VEIL_RESULT veil_sign_key_alg(EVP_PKEY *key, enum veil_sig_alg *alg);
/* PEM private (PKCS#8) or public (SubjectPublicKeyInfo) key from a file. */
/* Any private key from a PEM file that only its owner may read (the PEM is wiped); callers
 * check the key type they need. */
VEIL_RESULT veil_key_load_private_pem(const char *path, EVP_PKEY **out);
VEIL_RESULT veil_sign_load_private(const char *path, EVP_PKEY **out);
VEIL_RESULT veil_sign_load_public(const char *path, EVP_PKEY **out);
VEIL_RESULT veil_sign_public_from_pem(const uint8_t *pem, size_t n, EVP_PKEY **out);
/* SHA-256 of the DER SubjectPublicKeyInfo: the signer's key id. */
VEIL_RESULT veil_sign_key_id(EVP_PKEY *key, uint8_t out[VEIL_SHA256_SIZE]);
/* PEM encodings (private: PKCS#8, unencrypted; the caller writes it with mode 0600). */
VEIL_RESULT veil_sign_private_pem(EVP_PKEY *key, struct veil_wr *w);
VEIL_RESULT veil_sign_public_pem(EVP_PKEY *key, struct veil_wr *w);

/* Fixed-size signatures (sig_size = veil_sig_alg_size(alg)). */
VEIL_RESULT veil_sign(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_size);
/* VEIL_ERR_CRYPTO when the signature does not verify. */
VEIL_RESULT veil_sign_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t *sig,
                             size_t sig_size);

#endif
