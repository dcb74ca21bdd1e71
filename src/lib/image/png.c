/*
 * PNG through libpng's simplified read API (no setjmp in our code): the header is read first and
 * the dimensions checked against the limits before any pixel memory exists; the pixels are then
 * decoded (CRCs checked, zlib stream bounded by the buffer we give) straight into 8-bit RGB,
 * with grey, palette, 16-bit and gamma converted by libpng and alpha composited onto white.
 */
#include <png.h>
#include <string.h>

#include "base/log.h"
#include "image/image.h"

VEIL_RESULT veil_image_decode_png(const uint8_t *data, size_t size, struct veil_image *out)
{
    static const png_color white = {255, 255, 255};
    png_image png;
    struct veil_image img = {0, 0, NULL};
    veil_result r;

    ENSURE_REF(out);
    ENSURE(data != NULL && size > 0, VEIL_ERR_IMAGE_FORMAT);
    ENSURE(size <= VEIL_IMAGE_FILE_SIZE_MAX, VEIL_ERR_IMAGE_SIZE);
    memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_memory(&png, data, size) == 0) {
        veil_log(VEIL_LOG_DEBUG, "libpng: %s", png.message);
        png_image_free(&png);
        BAIL(png_sig_cmp(data, 0, size < 8 ? size : 8) != 0 ? VEIL_ERR_IMAGE_FORMAT
                                                            : VEIL_ERR_IMAGE_MALFORMED);
    }
    r = veil_image_alloc(png.width, png.height, &img);
    if (!veil_ok(r)) {
        png_image_free(&png);
        return r;
    }
    png.format = PNG_FORMAT_RGB;
    if (png_image_finish_read(&png, &white, img.rgb, (png_int_32)(img.width * 3), NULL) == 0) {
        veil_log(VEIL_LOG_DEBUG, "libpng: %s", png.message);
        png_image_free(&png);
        veil_image_free(&img);
        BAIL(VEIL_ERR_IMAGE_MALFORMED);
    }
    /* Warnings (an ancillary chunk with a bad CRC, for example) are not failures. */
    png_image_free(&png);
    *out = img;
    return VEIL_RESULT_OK;
}
