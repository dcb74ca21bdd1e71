/*
 * Hex and base64 in constant time with respect to the data (WireGuard encoding.c, libsodium
 * codecs): safe for keys. Decoders reject any character outside the alphabet.
 */
#ifndef VEIL_BASE_ENCODING_H
#define VEIL_BASE_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"

enum veil_b64_variant {
    VEIL_B64_STD = 0, /* RFC 4648 section 4, with padding */
    VEIL_B64_URL = 1, /* RFC 4648 section 5, no padding (JOSE) */
};

/* Sizes of the encodings, without the NUL the encoders add. */
size_t veil_hex_encoded_size(size_t n);
size_t veil_b64_encoded_size(size_t n, enum veil_b64_variant v);

/* out must hold encoded_size + 1 bytes (NUL-terminated). */
VEIL_RESULT veil_hex_encode(const uint8_t *in, size_t n, char *out, size_t out_size);
VEIL_RESULT veil_b64_encode(const uint8_t *in, size_t n, enum veil_b64_variant v, char *out,
                            size_t out_size);

/* Decoders write at most out_size bytes; *out_len receives the count. Upper or lower case hex.
 * The base64 decoder accepts the variant's alphabet, with or without padding; no whitespace. */
VEIL_RESULT veil_hex_decode(const char *in, size_t n, uint8_t *out, size_t out_size,
                            size_t *out_len);
VEIL_RESULT veil_b64_decode(const char *in, size_t n, enum veil_b64_variant v, uint8_t *out,
                            size_t out_size, size_t *out_len);

#endif
