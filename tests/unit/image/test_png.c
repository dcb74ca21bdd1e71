#include <png.h>
#include <stdlib.h>

#include "image/image.h"
#include "veil_test.h"

/* A PNG made by libpng's writer: width x height of the given format and pixels. */
static uint8_t *make_png(uint32_t width, uint32_t height, uint32_t format, const void *pixels,
                         size_t *size)
{
    png_image png;
    uint8_t *buf;
    png_alloc_size_t n = 0;

    memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    png.width = width;
    png.height = height;
    png.format = format;
    assert_true(png_image_write_to_memory(&png, NULL, &n, 0, pixels, 0, NULL) != 0);
    buf = malloc(n);
    assert_non_null(buf);
    assert_true(png_image_write_to_memory(&png, buf, &n, 0, pixels, 0, NULL) != 0);
    *size = n;
    return buf;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
    }
    return c ^ 0xffffffffu;
}

/* Rewrites the IHDR's width and height (bytes 16..23) and its CRC, so libpng accepts the header. */
static void set_dims(uint8_t *png, uint32_t width, uint32_t height)
{
    uint32_t crc;

    png[16] = (uint8_t)(width >> 24), png[17] = (uint8_t)(width >> 16);
    png[18] = (uint8_t)(width >> 8), png[19] = (uint8_t)width;
    png[20] = (uint8_t)(height >> 24), png[21] = (uint8_t)(height >> 16);
    png[22] = (uint8_t)(height >> 8), png[23] = (uint8_t)height;
    crc = crc32_png(png + 12, 17);
    png[29] = (uint8_t)(crc >> 24), png[30] = (uint8_t)(crc >> 16);
    png[31] = (uint8_t)(crc >> 8), png[32] = (uint8_t)crc;
}

static void test_rgb(void **state)
{
    static const uint8_t px[] = {1, 2, 3, 250, 251, 252, 0, 128, 255, 9, 8, 7};
    struct veil_image img;
    size_t n;
    uint8_t *png = make_png(2, 2, PNG_FORMAT_RGB, px, &n);

    (void)state;
    EXPECT_OK(veil_image_decode_png(png, n, &img));
    EXPECT_EQ(img.width, 2);
    EXPECT_EQ(img.height, 2);
    EXPECT_BYTES_EQ(img.rgb, px, sizeof(px));
    veil_image_free(&img);
    free(png);
}

static void test_grey_alpha_on_white(void **state)
{
    /* grey 0 opaque, grey 0 fully transparent */
    static const uint8_t px[] = {0, 255, 0, 0};
    struct veil_image img;
    size_t n;
    uint8_t *png = make_png(2, 1, PNG_FORMAT_GA, px, &n);

    (void)state;
    EXPECT_OK(veil_image_decode(png, n, &img));
    EXPECT_BYTES_EQ(img.rgb, "\x00\x00\x00\xff\xff\xff", 6);
    veil_image_free(&img);
    free(png);
}

static void test_sixteen_bit(void **state)
{
    /* linear 16-bit 65535 and 0 become sRGB 255 and 0 */
    static const uint16_t px[] = {65535, 0, 65535};
    struct veil_image img;
    size_t n;
    uint8_t *png = make_png(1, 1, PNG_FORMAT_LINEAR_RGB, px, &n);

    (void)state;
    EXPECT_OK(veil_image_decode_png(png, n, &img));
    EXPECT_BYTES_EQ(img.rgb, "\xff\x00\xff", 3);
    veil_image_free(&img);
    free(png);
}

static void test_corrupt(void **state)
{
    static uint8_t px[64 * 64 * 3];
    struct veil_image img = {0, 0, NULL};
    size_t n;
    uint8_t *png;

    (void)state;
    for (size_t i = 0; i < sizeof(px); i++) {
        px[i] = (uint8_t)(i * 7);
    }
    png = make_png(64, 64, PNG_FORMAT_RGB, px, &n);
    /* Truncated anywhere after the signature. */
    for (size_t cut = 8; cut < n; cut += 97) {
        EXPECT_ERR(veil_image_decode_png(png, cut, &img), VEIL_ERR_IMAGE_MALFORMED);
    }
    /* A byte of the compressed data changed: its chunk's CRC no longer matches. */
    png[n / 2] ^= 0x40;
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_MALFORMED);
    png[n / 2] ^= 0x40;
    /* A bad signature is not a PNG. */
    png[1] = 'Q';
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_FORMAT);
    png[1] = 'P';
    EXPECT_ERR(veil_image_decode_png(png, 0, &img), VEIL_ERR_IMAGE_FORMAT);
    /* Dimensions libpng accepts but veil refuses, before any pixel memory is allocated. */
    set_dims(png, 100000, 1);
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_SIZE);
    set_dims(png, 8192, 8192);
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_SIZE);
    /* Dimensions libpng refuses. */
    set_dims(png, 0, 64);
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_MALFORMED);
    /* Larger than the header says: the pixel data runs out. */
    set_dims(png, 64, 65);
    EXPECT_ERR(veil_image_decode_png(png, n, &img), VEIL_ERR_IMAGE_MALFORMED);
    set_dims(png, 64, 64);
    EXPECT_OK(veil_image_decode_png(png, n, &img));
    EXPECT_BYTES_EQ(img.rgb, px, sizeof(px));
    veil_image_free(&img);
    free(png);
}

VEIL_TEST_MAIN(test_rgb, test_grey_alpha_on_white, test_sixteen_bit, test_corrupt)
