#include "image/image.h"
#include "veil_test.h"

#define DECODE(lit, img) veil_image_decode_pnm((const uint8_t *)(lit), sizeof(lit) - 1, (img))

static void test_ppm(void **state)
{
    struct veil_image img;
    static const char ppm[] = "P6\n2 1\n255\n\x01\x02\x03\xfd\xfe\xff";

    (void)state;
    EXPECT_OK(DECODE(ppm, &img));
    EXPECT_EQ(img.width, 2);
    EXPECT_EQ(img.height, 1);
    EXPECT_BYTES_EQ(img.rgb, "\x01\x02\x03\xfd\xfe\xff", 6);
    veil_image_free(&img);
    EXPECT_NULL(img.rgb);
}

static void test_pgm_comments_and_maxval(void **state)
{
    struct veil_image img;
    /* maxval 15: 15 -> 255, 0 -> 0, 5 -> 85 */
    static const char pgm[] = "P5 # a comment\r\n3 # width\n1\n15\t\x0f\x00\x05";

    (void)state;
    EXPECT_OK(DECODE(pgm, &img));
    EXPECT_EQ(img.width, 3);
    EXPECT_BYTES_EQ(img.rgb, "\xff\xff\xff\x00\x00\x00\x55\x55\x55", 9);
    veil_image_free(&img);
}

static void test_sixteen_bit(void **state)
{
    struct veil_image img;
    static const char pgm[] = "P5 1 2 65535\n\xff\xff\x80\x00";

    (void)state;
    EXPECT_OK(DECODE(pgm, &img));
    EXPECT_EQ(img.rgb[0], 255);
    EXPECT_EQ(img.rgb[3], 128);
    veil_image_free(&img);
}

static void test_raster_starts_with_whitespace_byte(void **state)
{
    struct veil_image img;
    static const char pgm[] = "P5 2 1 255\n\n ";

    (void)state;
    EXPECT_OK(DECODE(pgm, &img));
    EXPECT_EQ(img.rgb[0], '\n');
    EXPECT_EQ(img.rgb[3], ' ');
    veil_image_free(&img);
}

static void test_refusals(void **state)
{
    struct veil_image img = {0, 0, NULL};

    (void)state;
    EXPECT_ERR(DECODE("", &img), VEIL_ERR_IMAGE_FORMAT);
    EXPECT_ERR(DECODE("P3 1 1 255\n1 2 3", &img), VEIL_ERR_IMAGE_FORMAT);
    EXPECT_ERR(DECODE("P6", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P61 1 255\n\x01\x02\x03", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P6 1 1 255\n\x01\x02", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P6 1 1 255\n\x01\x02\x03\x04", &img), VEIL_ERR_PROTO_TRAILING);
    EXPECT_ERR(DECODE("P6 1 1 255", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P6 1 1 255x\x01\x02\x03", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P6 0 1 255\n", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 1 0 255\n", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 8193 1 255\n", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 4096 4097 255\n", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 1234567890 1 255\n", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 -1 1 255\n", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P6 1 1 0\n\x00\x00\x00", &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(DECODE("P6 1 1 65536\n\x00\x00\x00", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P5 1 1 15\n\x10", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P5 1 1 1000\n\x03\xe9", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(DECODE("P5 1 1 # comment to the end", &img), VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_NULL(img.rgb);
}

VEIL_TEST_MAIN(test_ppm, test_pgm_comments_and_maxval, test_sixteen_bit,
               test_raster_starts_with_whitespace_byte, test_refusals)
