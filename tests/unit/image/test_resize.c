#include "image/image.h"
#include "veil_test.h"

static void test_upscale_matches_opencv(void **state)
{
    struct veil_image in;
    struct veil_image out;

    (void)state;
    EXPECT_OK(veil_image_alloc(2, 1, &in));
    in.rgb[3] = 100, in.rgb[4] = 200, in.rgb[5] = 40;
    EXPECT_OK(veil_image_resize(&in, 4, 1, &out));
    /* cv2.resize(np.array([[0, 100]], np.uint8), (4, 1)) == [[0, 25, 75, 100]] */
    EXPECT_EQ(out.rgb[0], 0);
    EXPECT_EQ(out.rgb[3], 25);
    EXPECT_EQ(out.rgb[6], 75);
    EXPECT_EQ(out.rgb[9], 100);
    EXPECT_EQ(out.rgb[7], 150);
    EXPECT_EQ(out.rgb[11], 40);
    veil_image_free(&out);
    veil_image_free(&in);
}

static void test_downscale_and_identity(void **state)
{
    struct veil_image in;
    struct veil_image out;

    (void)state;
    EXPECT_OK(veil_image_alloc(4, 2, &in));
    for (size_t i = 0; i < 4 * 2 * 3; i++) {
        in.rgb[i] = (uint8_t)(i * 10);
    }
    EXPECT_OK(veil_image_resize(&in, 4, 2, &out));
    EXPECT_BYTES_EQ(out.rgb, in.rgb, 4 * 2 * 3);
    veil_image_free(&out);
    /* 4x2 -> 2x1: each output is the mean of a 2x2 block (centres fall between pixels). */
    EXPECT_OK(veil_image_resize(&in, 2, 1, &out));
    EXPECT_EQ(out.rgb[0], (0 + 30 + 120 + 150) / 4);
    EXPECT_EQ(out.rgb[3], (60 + 90 + 180 + 210) / 4);
    veil_image_free(&out);
    EXPECT_ERR(veil_image_resize(&in, 0, 1, &out), VEIL_ERR_IMAGE_SIZE);
    EXPECT_ERR(veil_image_resize(&in, VEIL_IMAGE_SIDE_MAX + 1, 1, &out), VEIL_ERR_IMAGE_SIZE);
    veil_image_free(&in);
}

VEIL_TEST_MAIN(test_upscale_matches_opencv, test_downscale_and_identity)
