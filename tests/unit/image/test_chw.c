#include <stdlib.h>

#include "image/image.h"
#include "veil_test.h"

static void test_layout_bgr_and_padding(void **state)
{
    struct veil_image_chw_opts o = {2, 4, 12, 100, 0.5f, 0.5f, 0};
    struct veil_image img;
    float *t = NULL;
    uint32_t w = 0;

    (void)state;
    /* 1 x 1 red pixel: resized to 2 x 2, padded to 12 (width_min, a multiple of 4). */
    EXPECT_OK(veil_image_alloc(1, 1, &img));
    img.rgb[0] = 255;
    EXPECT_OK(veil_image_chw(&img, &o, &t, &w));
    EXPECT_EQ(w, 12);
    /* BGR planes of 2 x 12: blue -1, green -1, red +1; padding 0 */
    for (uint32_t c = 0; c < 3; c++) {
        for (uint32_t y = 0; y < 2; y++) {
            for (uint32_t x = 0; x < 12; x++) {
                float want = x >= 2 ? 0.0f : c == 2 ? 1.0f : -1.0f;
                EXPECT_TRUE(t[(c * 2 + y) * 12 + x] == want);
            }
        }
    }
    free(t);
    o.rgb = 1;
    EXPECT_OK(veil_image_chw(&img, &o, &t, &w));
    EXPECT_TRUE(t[0] == 1.0f);
    free(t);
    veil_image_free(&img);
}

static void test_aspect_and_clamp(void **state)
{
    struct veil_image_chw_opts o = {48, 8, 0, 3200, 0.0f, 1.0f, 0};
    struct veil_image img;
    float *t = NULL;
    uint32_t w = 0;

    (void)state;
    /* 362 x 47 -> ceil(48 * 362 / 47) = 370 -> 376 (multiple of 8) */
    EXPECT_OK(veil_image_alloc(362, 47, &img));
    EXPECT_OK(veil_image_chw(&img, &o, &t, &w));
    EXPECT_EQ(w, 376);
    free(t);
    o.width_max = 100;
    EXPECT_OK(veil_image_chw(&img, &o, &t, &w));
    EXPECT_EQ(w, 104);
    free(t);
    veil_image_free(&img);
    /* very tall and thin: width rounds up to 1, then to the multiple */
    EXPECT_OK(veil_image_alloc(1, 4000, &img));
    EXPECT_OK(veil_image_chw(&img, &o, &t, &w));
    EXPECT_EQ(w, 8);
    free(t);
    veil_image_free(&img);
}

static void test_refusals(void **state)
{
    struct veil_image_chw_opts good = {48, 8, 320, 3200, 0.5f, 0.5f, 0};
    struct veil_image_chw_opts o;
    struct veil_image img;
    float *t = NULL;
    uint32_t w = 0;

    (void)state;
    EXPECT_OK(veil_image_alloc(2, 2, &img));
    o = good, o.height = 0;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.height = 1025;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.width_multiple = 0;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.width_multiple = 65;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.width_min = 4000, o.width_max = 3000;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.width_min = 8192, o.width_max = 8192, o.width_multiple = 3;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_TENSOR_GEOMETRY);
    o = good, o.std = 0;
    EXPECT_ERR(veil_image_chw(&img, &o, &t, &w), VEIL_ERR_USAGE_LIMIT);
    EXPECT_NULL(t);
    veil_image_free(&img);
}

VEIL_TEST_MAIN(test_layout_bgr_and_padding, test_aspect_and_clamp, test_refusals)
