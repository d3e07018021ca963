/* Images for tfl label: decoding (JPEG, PNG, BMP and raw .rgb), grayscale conversion and
 * resizing, done exactly as the conformance suite prepared its image inputs, so that tfl
 * label feeds a model the same bytes as the suite's .npy files. */
#ifndef TFL_TOOLS_IMAGE_H
#define TFL_TOOLS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"

typedef struct image {
  int width, height;
  int channels;    /* 3 (RGB) or 1 (gray) */
  uint8_t *pixels; /* row-major, channels interleaved */
} image;

/* Decodes JPEG, PNG or BMP (any bit depth stb_image reads; alpha is dropped, palettes are
 * expanded) into 8-bit RGB. A file ending in ".rgb" is raw interleaved RGB bytes of a square
 * image (side = sqrt(size / 3)). On failure writes a one-line message naming the file. */
tfl_status image_load_rgb(const char *path, image *out, char *err, size_t err_size);

/* Gray = (R*19595 + G*38470 + B*7471 + 32768) >> 16, as PIL's convert("L"). */
tfl_status image_to_gray(const image *rgb, image *out);

/* Bilinear resize with half-pixel centres and no antialiasing; values are rounded half up
 * to uint8. Resizing to the same size copies the pixels. */
tfl_status image_resize_bilinear(const image *in, int width, int height, image *out);

void image_free(image *img);

#endif
