/* Bilinear resizing with pixel centres aligned, as OpenCV's INTER_LINEAR (what PaddleOCR uses). */
#include <math.h>

#include "image/image.h"

struct tap {
    uint32_t i0;
    uint32_t i1;
    double w1; /* weight of i1; i0 gets 1 - w1 */
};

/* Source position of output index d when n_in pixels map onto n_out. */
static struct tap resize_tap(uint32_t d, uint32_t n_in, uint32_t n_out)
{
    double f = ((double)d + 0.5) * (double)n_in / (double)n_out - 0.5;
    double fl = floor(f);
    struct tap t;

    if (fl < 0) {
        t.i0 = 0;
        t.w1 = 0;
    } else if (fl >= (double)(n_in - 1)) {
        t.i0 = n_in - 1;
        t.w1 = 0;
    } else {
        t.i0 = (uint32_t)fl;
        t.w1 = f - fl;
    }
    t.i1 = t.i0 + 1 < n_in ? t.i0 + 1 : t.i0;
    return t;
}

static uint8_t resize_pixel(const struct veil_image *in, struct tap tx, struct tap ty, int c)
{
    const uint8_t *p = in->rgb;
    size_t w = in->width;
    double top = p[(ty.i0 * w + tx.i0) * 3 + (size_t)c] * (1 - tx.w1) +
                 p[(ty.i0 * w + tx.i1) * 3 + (size_t)c] * tx.w1;
    double bottom = p[(ty.i1 * w + tx.i0) * 3 + (size_t)c] * (1 - tx.w1) +
                    p[(ty.i1 * w + tx.i1) * 3 + (size_t)c] * tx.w1;
    double v = top * (1 - ty.w1) + bottom * ty.w1;

    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
}

VEIL_RESULT veil_image_resize(const struct veil_image *in, uint32_t width, uint32_t height,
                              struct veil_image *out)
{
    struct veil_image img;

    ENSURE_REF(in);
    ENSURE_REF(in->rgb);
    ENSURE_REF(out);
    GUARD(veil_image_alloc(width, height, &img));
    for (uint32_t y = 0; y < height; y++) {
        struct tap ty = resize_tap(y, in->height, height);

        for (uint32_t x = 0; x < width; x++) {
            struct tap tx = resize_tap(x, in->width, width);

            for (int c = 0; c < 3; c++) {
                img.rgb[((size_t)y * width + x) * 3 + (size_t)c] = resize_pixel(in, tx, ty, c);
            }
        }
    }
    *out = img;
    return VEIL_RESULT_OK;
}
