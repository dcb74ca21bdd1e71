/* Fuzz target: image decoding (PNG through libpng, binary PGM/PPM), then the text-recognition
 * tensor (resize, normalise, CHW) on whatever decoded. */
#include <stdlib.h>

#include "image/image.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_image img;
    struct veil_image_chw_opts o = {48, 8, 0, 1024, 0.5f, 0.5f, 0};
    float *t = NULL;
    uint32_t w = 0;

    if (!veil_ok(veil_image_decode(data, size, &img))) {
        return 0;
    }
    VEIL_ASSERT(img.width >= 1 && img.width <= VEIL_IMAGE_SIDE_MAX);
    VEIL_ASSERT(img.height >= 1 && img.height <= VEIL_IMAGE_SIDE_MAX);
    VEIL_ASSERT((uint64_t)img.width * img.height <= VEIL_IMAGE_PIXELS_MAX);
    if (veil_ok(veil_image_chw(&img, &o, &t, &w))) {
        VEIL_ASSERT(w >= 8 && w % 8 == 0 && w <= 1024);
        free(t);
    }
    veil_image_free(&img);
    return 0;
}
