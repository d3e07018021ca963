/* Image decoding and resampling (image.h). The decoders are Debian's stb_image (libstb-dev);
 * this is the one file that compiles its implementation. */
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

/* Only the formats tfl label documents; no float (HDR) decoding. */
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

static tfl_status fail(char *err, size_t err_size, tfl_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static tfl_status fail(char *err, size_t err_size, tfl_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  return status;
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static tfl_status image_alloc(image *img, int width, int height, int channels) {
  img->width = width;
  img->height = height;
  img->channels = channels;
  img->pixels = malloc((size_t)width * (size_t)height * (size_t)channels + 1);
  return img->pixels ? TFL_OK : TFL_OUT_OF_MEMORY;
}

static tfl_status load_raw_rgb(const char *path, image *out, char *err, size_t err_size) {
  char *data;
  size_t size;
  tfl_status st = tool_read_file(path, &data, &size, err, err_size);
  if (st != TFL_OK) return st;
  size_t side = (size_t)llround(sqrt((double)size / 3));
  if (side == 0 || side > INT32_MAX || side * side * 3 != size) {
    free(data);
    return fail(err, err_size, TFL_INVALID_ARGUMENT,
                "%s: a raw .rgb image must hold a square RGB image (3 * side * side bytes), "
                "not %zu bytes", path, size);
  }
  *out = (image){(int)side, (int)side, 3, (uint8_t *)data};
  return TFL_OK;
}

tfl_status image_load_rgb(const char *path, image *out, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  if (has_suffix(path, ".rgb")) return load_raw_rgb(path, out, err, err_size);
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, err_size, TFL_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
  int width, height, channels;
  stbi_uc *pixels = stbi_load_from_file(f, &width, &height, &channels, 3);
  fclose(f);
  if (!pixels)
    return fail(err, err_size, TFL_INVALID_ARGUMENT,
                "%s: cannot decode the image (%s); JPEG, PNG, BMP and raw .rgb are supported",
                path, stbi_failure_reason());
  tfl_status st = image_alloc(out, width, height, 3);
  if (st == TFL_OK)
    memcpy(out->pixels, pixels, (size_t)width * (size_t)height * 3);
  else
    fail(err, err_size, st, "%s: out of memory", path);
  stbi_image_free(pixels);
  return st;
}

tfl_status image_to_gray(const image *rgb, image *out) {
  tfl_status st = image_alloc(out, rgb->width, rgb->height, 1);
  if (st != TFL_OK) return st;
  size_t n = (size_t)rgb->width * (size_t)rgb->height;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = &rgb->pixels[3 * i];
    out->pixels[i] = (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 32768u) >> 16);
  }
  return TFL_OK;
}

/* Where output coordinate i samples the input along one axis: the two neighbours and the
 * weight of the second. Coordinates outside the input clamp to its edge. The order of the
 * floating-point operations here and in image_resize_bilinear (scale factor first, then
 * horizontal, then vertical interpolation) is the suite's: others differ in a few pixels
 * that land near .5. */
typedef struct sample {
  int lo, hi;
  double w;
} sample;

static sample sample_at(int i, int in_size, int out_size) {
  double x = ((double)i + 0.5) * ((double)in_size / out_size) - 0.5;
  if (x < 0) x = 0;
  if (x > in_size - 1) x = in_size - 1;
  sample s;
  s.lo = (int)floor(x);
  s.hi = s.lo + 1 < in_size ? s.lo + 1 : in_size - 1;
  s.w = x - s.lo;
  return s;
}

static uint8_t round_pixel(double v) {
  double r = floor(v + 0.5);
  return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

tfl_status image_resize_bilinear(const image *in, int width, int height, image *out) {
  tfl_status st = image_alloc(out, width, height, in->channels);
  if (st != TFL_OK) return st;
  int c = in->channels;
  for (int y = 0; y < height; y++) {
    sample sy = sample_at(y, in->height, height);
    const uint8_t *row0 = in->pixels + (size_t)sy.lo * in->width * c;
    const uint8_t *row1 = in->pixels + (size_t)sy.hi * in->width * c;
    for (int x = 0; x < width; x++) {
      sample sx = sample_at(x, in->width, width);
      uint8_t *o = out->pixels + ((size_t)y * width + x) * c;
      for (int k = 0; k < c; k++) {
        double top = row0[sx.lo * c + k] * (1 - sx.w) + row0[sx.hi * c + k] * sx.w;
        double bottom = row1[sx.lo * c + k] * (1 - sx.w) + row1[sx.hi * c + k] * sx.w;
        o[k] = round_pixel(top * (1 - sy.w) + bottom * sy.w);
      }
    }
  }
  return TFL_OK;
}

void image_free(image *img) {
  if (!img) return;
  free(img->pixels);
  memset(img, 0, sizeof *img);
}
