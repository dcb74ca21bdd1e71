/*
 * Images for client-side pre-processing: decoding PNG (libpng's simplified API) and binary
 * PGM/PPM (P5/P6, parsed here with the bounded reader), bilinear resizing, and the CHW float
 * tensor a vision model takes. Every decoder is bounded (VEIL_IMAGE_*_MAX) before it allocates,
 * and fails closed with VEIL_ERR_IMAGE_*.
 */
#ifndef VEIL_IMAGE_IMAGE_H
#define VEIL_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"

#define VEIL_IMAGE_SIDE_MAX      8192u
#define VEIL_IMAGE_PIXELS_MAX    (16u << 20)
#define VEIL_IMAGE_FILE_SIZE_MAX (64u << 20)

/* 8-bit RGB, row-major, rows packed: rgb[(y * width + x) * 3 + c], c = 0 red, 1 green, 2 blue. */
struct veil_image {
    uint32_t width;
    uint32_t height;
    uint8_t *rgb;
};

/* By magic: PNG, P5 or P6. Transparent pixels are composited onto white. */
VEIL_RESULT veil_image_decode(const uint8_t *data, size_t size, struct veil_image *out);
VEIL_RESULT veil_image_decode_png(const uint8_t *data, size_t size, struct veil_image *out);
/* Binary PGM (P5, grey replicated to RGB) or PPM (P6), maxval 1..65535, one image, nothing after.
 */
VEIL_RESULT veil_image_decode_pnm(const uint8_t *data, size_t size, struct veil_image *out);
/* Reads a file of at most VEIL_IMAGE_FILE_SIZE_MAX bytes and decodes it. */
VEIL_RESULT veil_image_load(const char *path, struct veil_image *out);
void veil_image_free(struct veil_image *img);

/* Allocates width x height within the limits (VEIL_ERR_IMAGE_SIZE otherwise), zero-filled. */
VEIL_RESULT veil_image_alloc(uint32_t width, uint32_t height, struct veil_image *out);

/* Bilinear resize with pixel centres aligned (OpenCV's INTER_LINEAR), rounded to 8 bits. */
VEIL_RESULT veil_image_resize(const struct veil_image *in, uint32_t width, uint32_t height,
                              struct veil_image *out);

/* Text-recognition input (PaddleOCR's rec pre-processing): resize to `height` keeping the aspect
 * ratio (width ceil(height * w / h), at most width_max), normalise each channel to
 * (v / 255 - mean) / std, lay it out as 1 x 3 x height x W (CHW, channels BGR unless rgb),
 * and pad on the right with zeros up to W = max(width_min, the width rounded up to a multiple
 * of width_multiple). */
struct veil_image_chw_opts {
    uint32_t height;         /* 1..1024; PaddleOCR v4 rec: 48 */
    uint32_t width_multiple; /* 1..64 */
    uint32_t width_min;      /* 0..VEIL_IMAGE_SIDE_MAX; PaddleOCR: 320 */
    uint32_t width_max;      /* 1..VEIL_IMAGE_SIDE_MAX */
    float mean;
    float std; /* > 0 */
    int rgb;   /* 0: BGR as PaddleOCR (OpenCV) reads images */
};

/* *out (malloc'd, 3 * height * *width floats; free()) and *width (W above). */
VEIL_RESULT veil_image_chw(const struct veil_image *img, const struct veil_image_chw_opts *o,
                           float **out, uint32_t *width);

#endif
