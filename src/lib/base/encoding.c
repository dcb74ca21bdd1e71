/*
 * Constant-time hex and base64. No table lookups indexed by secret data and no branches on it:
 * each character is classified with arithmetic masks (after WireGuard's encoding.c and
 * libsodium's codecs.c). Branches depend only on lengths and on the final validity flag.
 */
#include "base/encoding.h"

/* 0xff..ff when a < b (both < 2^15), else 0. */
static unsigned lt_mask(unsigned a, unsigned b)
{
    return (unsigned)(-(int)((a - b) >> 31 & 1u)) & 0xffu;
}

static unsigned range_mask(unsigned c, unsigned lo, unsigned hi)
{
    /* lo <= c <= hi */
    return lt_mask(c, hi + 1) & ~lt_mask(c, lo) & 0xffu;
}

size_t veil_hex_encoded_size(size_t n)
{
    return n * 2;
}

veil_result veil_hex_encode(const uint8_t *in, size_t n, char *out, size_t out_size)
{
    ENSURE(n <= (SIZE_MAX - 1) / 2, VEIL_ERR_USAGE_LIMIT);
    ENSURE(out_size >= n * 2 + 1, VEIL_ERR_USAGE_LIMIT);
    for (size_t i = 0; i < n; i++) {
        unsigned hi = in[i] >> 4;
        unsigned lo = in[i] & 0xfu;
        /* 0-9 -> '0'.., 10-15 -> 'a'.. : add 39 when >= 10 */
        out[2 * i] = (char)(hi + '0' + ((39u & ~lt_mask(hi, 10))));
        out[2 * i + 1] = (char)(lo + '0' + ((39u & ~lt_mask(lo, 10))));
    }
    out[n * 2] = '\0';
    return VEIL_RESULT_OK;
}

/* Returns the nibble and clears *ok's mask on an invalid character. */
static unsigned hex_nibble(unsigned c, unsigned *bad)
{
    unsigned d = range_mask(c, '0', '9');
    unsigned l = range_mask(c, 'a', 'f');
    unsigned u = range_mask(c, 'A', 'F');

    *bad |= ~(d | l | u) & 0xffu;
    return ((c - '0') & d) | ((c - 'a' + 10) & l) | ((c - 'A' + 10) & u);
}

veil_result veil_hex_decode(const char *in, size_t n, uint8_t *out, size_t out_size,
                            size_t *out_len)
{
    unsigned bad = 0;

    ENSURE(n % 2 == 0, VEIL_ERR_PROTO_ENCODING);
    ENSURE(n / 2 <= out_size, VEIL_ERR_PROTO_LIMIT);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned hi = hex_nibble((unsigned char)in[2 * i], &bad);
        unsigned lo = hex_nibble((unsigned char)in[2 * i + 1], &bad);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    ENSURE(bad == 0, VEIL_ERR_PROTO_ENCODING);
    *out_len = n / 2;
    return VEIL_RESULT_OK;
}

size_t veil_b64_encoded_size(size_t n, enum veil_b64_variant v)
{
    if (v == VEIL_B64_STD) {
        return (n + 2) / 3 * 4;
    }
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static char b64_char(unsigned x, enum veil_b64_variant v)
{
    unsigned c = 0;
    unsigned c62 = v == VEIL_B64_URL ? '-' : '+';
    unsigned c63 = v == VEIL_B64_URL ? '_' : '/';

    c |= (x + 'A') & lt_mask(x, 26);
    c |= (x + 'a' - 26) & range_mask(x, 26, 51);
    c |= (x + '0' - 52) & range_mask(x, 52, 61);
    c |= c62 & range_mask(x, 62, 62);
    c |= c63 & range_mask(x, 63, 63);
    return (char)c;
}

veil_result veil_b64_encode(const uint8_t *in, size_t n, enum veil_b64_variant v, char *out,
                            size_t out_size)
{
    size_t need;
    size_t o = 0;
    size_t i = 0;

    ENSURE(n <= SIZE_MAX / 2, VEIL_ERR_USAGE_LIMIT);
    need = veil_b64_encoded_size(n, v);
    ENSURE(out_size >= need + 1, VEIL_ERR_USAGE_LIMIT);
    for (; i + 3 <= n; i += 3) {
        unsigned w = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_char(w >> 18 & 63, v);
        out[o++] = b64_char(w >> 12 & 63, v);
        out[o++] = b64_char(w >> 6 & 63, v);
        out[o++] = b64_char(w & 63, v);
    }
    if (n - i == 1) {
        unsigned w = (unsigned)in[i] << 16;
        out[o++] = b64_char(w >> 18 & 63, v);
        out[o++] = b64_char(w >> 12 & 63, v);
        if (v == VEIL_B64_STD) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        unsigned w = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = b64_char(w >> 18 & 63, v);
        out[o++] = b64_char(w >> 12 & 63, v);
        out[o++] = b64_char(w >> 6 & 63, v);
        if (v == VEIL_B64_STD) {
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    return VEIL_RESULT_OK;
}

static unsigned b64_value(unsigned c, enum veil_b64_variant v, unsigned *bad)
{
    unsigned c62 = v == VEIL_B64_URL ? '-' : '+';
    unsigned c63 = v == VEIL_B64_URL ? '_' : '/';
    unsigned up = range_mask(c, 'A', 'Z');
    unsigned lo = range_mask(c, 'a', 'z');
    unsigned di = range_mask(c, '0', '9');
    unsigned m62 = range_mask(c, c62, c62);
    unsigned m63 = range_mask(c, c63, c63);

    *bad |= ~(up | lo | di | m62 | m63) & 0xffu;
    return ((c - 'A') & up) | ((c - 'a' + 26) & lo) | ((c - '0' + 52) & di) | (62 & m62) |
           (63 & m63);
}

veil_result veil_b64_decode(const char *in, size_t n, enum veil_b64_variant v, uint8_t *out,
                            size_t out_size, size_t *out_len)
{
    unsigned bad = 0;
    size_t o = 0;
    size_t i = 0;
    size_t rem;
    size_t full;

    /* Strip padding: at most two '=', only where the length says they belong. */
    if (n % 4 == 0 && n >= 4 && in[n - 1] == '=') {
        n--;
        if (in[n - 1] == '=') {
            n--;
        }
    }
    rem = n % 4;
    ENSURE(rem != 1, VEIL_ERR_PROTO_ENCODING);
    full = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    ENSURE(full <= out_size, VEIL_ERR_PROTO_LIMIT);
    for (; i + 4 <= n; i += 4) {
        unsigned w = b64_value((unsigned char)in[i], v, &bad) << 18 |
                     b64_value((unsigned char)in[i + 1], v, &bad) << 12 |
                     b64_value((unsigned char)in[i + 2], v, &bad) << 6 |
                     b64_value((unsigned char)in[i + 3], v, &bad);
        out[o++] = (uint8_t)(w >> 16);
        out[o++] = (uint8_t)(w >> 8);
        out[o++] = (uint8_t)w;
    }
    if (rem >= 2) {
        unsigned w = b64_value((unsigned char)in[i], v, &bad) << 18 |
                     b64_value((unsigned char)in[i + 1], v, &bad) << 12;
        if (rem == 3) {
            w |= b64_value((unsigned char)in[i + 2], v, &bad) << 6;
        }
        out[o++] = (uint8_t)(w >> 16);
        if (rem == 3) {
            out[o++] = (uint8_t)(w >> 8);
        }
        /* Non-canonical: unused low bits must be zero. */
        bad |= (rem == 2 ? (w & 0xffffu) : (w & 0xffu)) != 0 ? 1u : 0u;
    }
    ENSURE(bad == 0, VEIL_ERR_PROTO_ENCODING);
    *out_len = o;
    return VEIL_RESULT_OK;
}
