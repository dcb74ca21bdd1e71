/*
 * Binary Netpbm: PGM (P5) and PPM (P6). Header: magic, then width, height and maxval as
 * decimal numbers separated by whitespace and '#' comments, then exactly one whitespace byte,
 * then the raster (1 byte a sample below maxval 256, else 2 bytes big-endian). One image only.
 */
#include <stdbool.h>

#include "base/buf.h"
#include "image/image.h"

#define PNM_NUMBER_DIGITS_MAX 9

static bool pnm_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Whitespace and comments (a comment runs to the end of its line); at least one byte of them. */
static VEIL_RESULT pnm_skip_space(struct veil_rd *r)
{
    size_t start = r->off;
    uint8_t c;

    while (veil_rd_left(r) > 0) {
        c = veil_rd_ptr(r)[0];
        if (c == '#') {
            while (veil_rd_left(r) > 0 && veil_rd_ptr(r)[0] != '\n' && veil_rd_ptr(r)[0] != '\r') {
                GUARD(veil_rd_skip(r, 1));
            }
        } else if (pnm_space(c)) {
            GUARD(veil_rd_skip(r, 1));
        } else {
            break;
        }
    }
    ENSURE(r->off > start, VEIL_ERR_IMAGE_MALFORMED);
    return VEIL_RESULT_OK;
}

/* A decimal number of 1..9 digits, 1..max (over: err_over; zero: VEIL_ERR_IMAGE_SIZE). */
static VEIL_RESULT pnm_number(struct veil_rd *r, uint32_t max, int32_t err_over, uint32_t *out)
{
    uint32_t v = 0;
    size_t digits = 0;
    uint8_t c;

    while (veil_rd_left(r) > 0 && veil_rd_ptr(r)[0] >= '0' && veil_rd_ptr(r)[0] <= '9') {
        GUARD(veil_rd_u8(r, &c));
        ENSURE(++digits <= PNM_NUMBER_DIGITS_MAX, err_over);
        v = v * 10 + (uint32_t)(c - '0');
    }
    ENSURE(digits > 0, VEIL_ERR_IMAGE_MALFORMED);
    ENSURE(v > 0, VEIL_ERR_IMAGE_SIZE);
    ENSURE(v <= max, err_over);
    *out = v;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT pnm_sample(struct veil_rd *r, uint32_t maxval, uint8_t *out)
{
    uint8_t b;
    uint16_t w;
    uint32_t v;

    if (maxval < 256) {
        GUARD(veil_rd_u8(r, &b));
        v = b;
    } else {
        GUARD(veil_rd_u16be(r, &w));
        v = w;
    }
    ENSURE(v <= maxval, VEIL_ERR_IMAGE_MALFORMED);
    *out = (uint8_t)((v * 255u + maxval / 2) / maxval);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT pnm_raster(struct veil_rd *r, uint32_t channels, uint32_t maxval,
                              struct veil_image *img)
{
    size_t pixels = (size_t)img->width * img->height;
    size_t sample_size = maxval < 256 ? 1 : 2;
    uint8_t v;

    ENSURE(veil_rd_left(r) >= pixels * channels * sample_size, VEIL_ERR_IMAGE_MALFORMED);
    for (size_t i = 0; i < pixels; i++) {
        for (uint32_t c = 0; c < channels; c++) {
            GUARD(pnm_sample(r, maxval, &v));
            img->rgb[i * 3 + c] = v;
        }
        if (channels == 1) {
            img->rgb[i * 3 + 1] = img->rgb[i * 3];
            img->rgb[i * 3 + 2] = img->rgb[i * 3];
        }
    }
    return veil_rd_done(r);
}

VEIL_RESULT veil_image_decode_pnm(const uint8_t *data, size_t size, struct veil_image *out)
{
    struct veil_rd r;
    struct veil_image img = {0, 0, NULL};
    uint8_t magic[2];
    uint8_t sep;
    uint32_t width;
    uint32_t height;
    uint32_t maxval;
    uint32_t channels;
    veil_result res;

    ENSURE_REF(out);
    ENSURE(data != NULL || size == 0, VEIL_ERR_INTERNAL);
    veil_rd_init(&r, data, size);
    ENSURE(veil_ok(veil_rd_bytes(&r, magic, sizeof(magic))), VEIL_ERR_IMAGE_FORMAT);
    ENSURE(magic[0] == 'P' && (magic[1] == '5' || magic[1] == '6'), VEIL_ERR_IMAGE_FORMAT);
    channels = magic[1] == '6' ? 3 : 1;
    GUARD(pnm_skip_space(&r));
    GUARD(pnm_number(&r, VEIL_IMAGE_SIDE_MAX, VEIL_ERR_IMAGE_SIZE, &width));
    GUARD(pnm_skip_space(&r));
    GUARD(pnm_number(&r, VEIL_IMAGE_SIDE_MAX, VEIL_ERR_IMAGE_SIZE, &height));
    GUARD(pnm_skip_space(&r));
    GUARD(pnm_number(&r, 65535, VEIL_ERR_IMAGE_MALFORMED, &maxval));
    /* Exactly one whitespace byte ends the header; the raster may start with any byte. */
    ENSURE(veil_ok(veil_rd_u8(&r, &sep)) && pnm_space(sep), VEIL_ERR_IMAGE_MALFORMED);
    GUARD(veil_image_alloc(width, height, &img));
    res = pnm_raster(&r, channels, maxval, &img);
    if (!veil_ok(res)) {
        veil_image_free(&img);
        return res;
    }
    *out = img;
    return VEIL_RESULT_OK;
}
