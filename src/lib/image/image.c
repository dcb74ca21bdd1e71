/* Image decoding by magic, file loading, allocation within the limits. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"

VEIL_RESULT veil_image_alloc(uint32_t width, uint32_t height, struct veil_image *out)
{
    uint8_t *p;

    ENSURE_REF(out);
    ENSURE(width > 0 && height > 0, VEIL_ERR_IMAGE_SIZE);
    ENSURE(width <= VEIL_IMAGE_SIDE_MAX && height <= VEIL_IMAGE_SIDE_MAX, VEIL_ERR_IMAGE_SIZE);
    ENSURE((uint64_t)width * height <= VEIL_IMAGE_PIXELS_MAX, VEIL_ERR_IMAGE_SIZE);
    p = calloc((size_t)width * height, 3);
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    out->width = width;
    out->height = height;
    out->rgb = p;
    return VEIL_RESULT_OK;
}

void veil_image_free(struct veil_image *img)
{
    if (img == NULL) {
        return;
    }
    free(img->rgb);
    img->rgb = NULL;
    img->width = 0;
    img->height = 0;
}

VEIL_RESULT veil_image_decode(const uint8_t *data, size_t size, struct veil_image *out)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    ENSURE_REF(out);
    ENSURE(data != NULL || size == 0, VEIL_ERR_INTERNAL);
    ENSURE(size <= VEIL_IMAGE_FILE_SIZE_MAX, VEIL_ERR_IMAGE_SIZE);
    if (size >= sizeof(png_magic) && memcmp(data, png_magic, sizeof(png_magic)) == 0) {
        return veil_image_decode_png(data, size, out);
    }
    if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')) {
        return veil_image_decode_pnm(data, size, out);
    }
    BAIL(VEIL_ERR_IMAGE_FORMAT);
}

VEIL_RESULT veil_image_load(const char *path, struct veil_image *out)
{
    struct veil_wr w;
    veil_result r;

    ENSURE_REF(path);
    r = veil_file_read(path, VEIL_IMAGE_FILE_SIZE_MAX, &w);
    if (veil_ok(r)) {
        r = veil_image_decode(w.data, w.len, out);
    }
    veil_wr_free(&w);
    return r;
}
