/* The CHW float tensor of a text-recognition model (PaddleOCR's resize_norm_img). */
#include <math.h>
#include <stdlib.h>

#include "image/image.h"

#define CHW_HEIGHT_MAX   1024u
#define CHW_MULTIPLE_MAX 64u

static VEIL_RESULT chw_check(const struct veil_image_chw_opts *o)
{
    ENSURE(o->height >= 1 && o->height <= CHW_HEIGHT_MAX, VEIL_ERR_TENSOR_GEOMETRY);
    ENSURE(o->width_multiple >= 1 && o->width_multiple <= CHW_MULTIPLE_MAX,
           VEIL_ERR_TENSOR_GEOMETRY);
    ENSURE(o->width_max >= 1 && o->width_max <= VEIL_IMAGE_SIDE_MAX, VEIL_ERR_TENSOR_GEOMETRY);
    ENSURE(o->width_min <= o->width_max, VEIL_ERR_TENSOR_GEOMETRY);
    ENSURE(isfinite(o->mean) && isfinite(o->std) && o->std > 0, VEIL_ERR_USAGE_LIMIT);
    return VEIL_RESULT_OK;
}

/* Resized width: ceil(height * w / h), 1..width_max. */
static uint32_t chw_resized_width(const struct veil_image *img, const struct veil_image_chw_opts *o)
{
    uint64_t w = ((uint64_t)o->height * img->width + img->height - 1) / img->height;

    if (w > o->width_max) {
        w = o->width_max;
    }
    return w == 0 ? 1 : (uint32_t)w;
}

/* Padded width: at least width_min, a multiple of width_multiple, at most the side limit. */
static VEIL_RESULT chw_padded_width(uint32_t resized, const struct veil_image_chw_opts *o,
                                    uint32_t *out)
{
    uint64_t w = resized > o->width_min ? resized : o->width_min;

    w = (w + o->width_multiple - 1) / o->width_multiple * o->width_multiple;
    ENSURE(w <= VEIL_IMAGE_SIDE_MAX, VEIL_ERR_TENSOR_GEOMETRY);
    *out = (uint32_t)w;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_image_chw(const struct veil_image *img, const struct veil_image_chw_opts *o,
                           float **out, uint32_t *width)
{
    struct veil_image small;
    uint32_t rw;
    uint32_t pw;
    size_t plane;
    float *t;

    ENSURE_REF(img);
    ENSURE_REF(img->rgb);
    ENSURE_REF(o);
    ENSURE_REF(out);
    ENSURE_REF(width);
    GUARD(chw_check(o));
    rw = chw_resized_width(img, o);
    GUARD(chw_padded_width(rw, o, &pw));
    plane = (size_t)o->height * pw;
    t = calloc(plane * 3, sizeof(float)); /* 0.0f: PaddleOCR's padding, after normalising */
    ENSURE(t != NULL, VEIL_ERR_NOMEM);
    {
        veil_result r = veil_image_resize(img, rw, o->height, &small);

        if (!veil_ok(r)) {
            free(t);
            return r;
        }
    }
    for (uint32_t c = 0; c < 3; c++) {
        uint32_t src = o->rgb ? c : 2 - c; /* BGR: plane 0 is blue */

        for (uint32_t y = 0; y < o->height; y++) {
            for (uint32_t x = 0; x < rw; x++) {
                float v = small.rgb[((size_t)y * rw + x) * 3 + src] / 255.0f;

                t[c * plane + (size_t)y * pw + x] = (v - o->mean) / o->std;
            }
        }
    }
    veil_image_free(&small);
    *out = t;
    *width = pw;
    return VEIL_RESULT_OK;
}
