#include <stdio.h>

#include "base/file.h"
#include "image/image.h"
#include "veil_test.h"

static void test_dispatch_by_magic(void **state)
{
    struct veil_image img;
    static const uint8_t pgm[] = "P5 1 1 255\n\x07";
    static const uint8_t png_sig_only[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    (void)state;
    EXPECT_OK(veil_image_decode(pgm, sizeof(pgm) - 1, &img));
    EXPECT_EQ(img.rgb[2], 7);
    veil_image_free(&img);
    EXPECT_ERR(veil_image_decode(png_sig_only, sizeof(png_sig_only), &img),
               VEIL_ERR_IMAGE_MALFORMED);
    EXPECT_ERR(veil_image_decode((const uint8_t *)"GIF89a", 6, &img), VEIL_ERR_IMAGE_FORMAT);
    EXPECT_ERR(veil_image_decode((const uint8_t *)"P", 1, &img), VEIL_ERR_IMAGE_FORMAT);
    EXPECT_ERR(veil_image_decode(NULL, 0, &img), VEIL_ERR_IMAGE_FORMAT);
}

static void test_alloc_limits(void **state)
{
    struct veil_image img;

    (void)state;
    EXPECT_ERR(veil_image_alloc(0, 1, &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(veil_image_alloc(1, 0, &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(veil_image_alloc(VEIL_IMAGE_SIDE_MAX + 1, 1, &img), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(veil_image_alloc(VEIL_IMAGE_SIDE_MAX, VEIL_IMAGE_SIDE_MAX, &img),
               VEIL_ERR_IMAGE_SIZE);
    EXPECT_OK(veil_image_alloc(VEIL_IMAGE_SIDE_MAX, 2, &img));
    EXPECT_EQ(img.rgb[VEIL_IMAGE_SIDE_MAX * 2 * 3 - 1], 0);
    veil_image_free(&img);
    veil_image_free(NULL);
}

static void test_load_files(void **state)
{
    struct veil_image img;
    const char *src = getenv("VEIL_SOURCE_DIR");
    char path[4096];

    (void)state;
    EXPECT_NOT_NULL(src);
    EXPECT_TRUE(
        veil_path_join(path, sizeof(path), src, "tests/data/ocr/confidential-inference.png"));
    EXPECT_OK(veil_image_load(path, &img));
    EXPECT_EQ(img.width, 362);
    EXPECT_EQ(img.height, 47);
    /* White border, grey image: every channel equal. */
    EXPECT_EQ(img.rgb[0], 255);
    for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
        EXPECT_EQ(img.rgb[i * 3], img.rgb[i * 3 + 1]);
        EXPECT_EQ(img.rgb[i * 3], img.rgb[i * 3 + 2]);
    }
    veil_image_free(&img);
    EXPECT_ERR(veil_image_load("/nonexistent/image.png", &img), VEIL_ERR_IO_OPEN);
    EXPECT_ERR(veil_image_load("/", &img), VEIL_ERR_IO_NOT_REGULAR);
}

VEIL_TEST_MAIN(test_dispatch_by_magic, test_alloc_limits, test_load_files)
