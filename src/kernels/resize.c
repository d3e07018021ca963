/* RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on NHWC tensors.
 *
 * The size input is an int32 vector (new_height, new_width); when it is not constant the
 * output is dynamic. Coordinates follow TFLite exactly, in float32 as it computes them:
 *   scale = in / out, or (in - 1) / (out - 1) with align_corners (when out > 1);
 *   bilinear: src = (dst + 0.5) * scale - 0.5 with half_pixel_centers, else dst * scale;
 *             the two neighbours floor(src) and ceil(src) are clamped into [0, in - 1] and
 *             weighted by src - lower neighbour; past an edge both neighbours are the edge
 *             pixel, so the weights (one of them negative) still reproduce it;
 *   nearest:  src = (dst + 0.5 if half_pixel_centers) * scale, rounded half away from zero
 *             with align_corners, else floored; clamped to in - 1 (and to 0 with half pixel).
 * Float and uint8 bilinear weight the four neighbours in float (uint8 rounds by adding 0.5 and
 * truncating), summing in the order of TFLite's optimized kernel; an exact 2x upscale without
 * options uses its dedicated midpoint formula. int8 and int16 bilinear use TFLite's integer
 * path with 10 fractional bits. Nearest neighbour only copies, so it takes any element type. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

typedef struct resize_data {
  int shape_at_eval; /* the size input is not constant */
  int align_corners;
  int half_pixel_centers;
} resize_data;

/* Sizes of one resize: NHWC input, output height and width. */
typedef struct resize_geom {
  int32_t batches, in_h, in_w, depth, out_h, out_w;
} resize_geom;

/* Reads (new_height, new_width); RESIZE_BILINEAR requires them positive, the nearest
 * neighbour kernel allows an empty output. */
static tfl_status resize_read_size(tfl_context *ctx, const tfl_node *node, int32_t min_size,
                                   int32_t *dims) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const int32_t *size = tfl_node_input(ctx, node, 1)->data;
  if (!size) return tfl_context_error(ctx, node, "size has no data");
  if (size[0] < min_size || size[1] < min_size)
    return tfl_context_error(ctx, node, "invalid output size %d x %d", (int)size[0],
                             (int)size[1]);
  /* Nothing to sample from (TFLite would read out of bounds). */
  const int out_empty = in->dims[0] == 0 || in->dims[3] == 0 || size[0] == 0 || size[1] == 0;
  if (!out_empty && (in->dims[1] == 0 || in->dims[2] == 0))
    return tfl_context_error(ctx, node, "cannot resize an empty %d x %d image to %d x %d",
                             (int)in->dims[1], (int)in->dims[2], (int)size[0], (int)size[1]);
  dims[0] = in->dims[0];
  dims[1] = size[0];
  dims[2] = size[1];
  dims[3] = in->dims[3];
  return TFL_OK;
}

typedef tfl_status (*resize_type_check)(tfl_context *ctx, const tfl_node *node,
                                        const tfl_tensor *in);

static tfl_status resize_prepare_common(tfl_context *ctx, tfl_node *node, int32_t min_size,
                                        resize_type_check check_input) {
  resize_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *size = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = check_input(ctx, node, in);
  /* TFLite gives the output the input's type whatever the model declares. */
  if (st == TFL_OK) st = tfl_context_set_type(ctx, out, in->type);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, size, "size", TFL_INT32);
  if (st != TFL_OK) return st;
  if (in->ndim != 4)
    return tfl_context_error(ctx, node, "input must be 4-D (NHWC), it has %d dimensions",
                             in->ndim);
  if (size->ndim != 1 || size->dims[0] != 2)
    return tfl_context_error(ctx, node, "size must have shape [2]");
  d->shape_at_eval = !tfl_tensor_is_constant(size);
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, out);
  int32_t dims[4];
  st = resize_read_size(ctx, node, min_size, dims);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, 4, dims);
}

/* Resizes a dynamic output; fills g. Returns TFL_OK with an empty output when there is
 * nothing to compute (the caller checks out->bytes). */
static tfl_status resize_eval_geometry(tfl_context *ctx, tfl_node *node, int32_t min_size,
                                       resize_geom *g) {
  const resize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (d->shape_at_eval) {
    int32_t dims[4];
    tfl_status st = resize_read_size(ctx, node, min_size, dims);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, out, 4, dims);
    if (st != TFL_OK) return st;
  }
  *g = (resize_geom){in->dims[0], in->dims[1], in->dims[2], in->dims[3], out->dims[1],
                     out->dims[2]};
  return TFL_OK;
}

static float resize_scale(int32_t in, int32_t out, int align_corners) {
  if (align_corners && out > 1) return (float)(in - 1) / (float)(out - 1);
  return (float)in / (float)out;
}

static int32_t clamp_index(int32_t i, int32_t size) {
  return i < 0 ? 0 : i > size - 1 ? size - 1 : i;
}

/* --- RESIZE_BILINEAR, float weights (float32, uint8) ------------------------------------ */

/* Where output index i samples the input: the two neighbours and src - lo (negative before
 * the first pixel with half_pixel_centers, where lo == hi). */
typedef struct bilinear_tap {
  int32_t lo, hi;
  float frac;
} bilinear_tap;

static bilinear_tap bilinear_tap_at(int32_t i, float scale, int half_pixel, int32_t in_size) {
  const float src = half_pixel ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
  bilinear_tap t;
  /* src > -1 (it is at least -0.5), so truncation is floor wherever clamping keeps the
   * result, and floor plus "has a fraction" is ceil: no libm calls per pixel. */
  const int32_t whole = (int32_t)src;
  t.lo = clamp_index(whole, in_size);
  t.hi = clamp_index(whole + ((float)whole < src), in_size);
  t.frac = src - (float)t.lo;
  return t;
}

/* Element offsets of the four neighbours (top-left, top-right, bottom-left, bottom-right) of
 * one output pixel, channel 0, in the image starting at element `image`. */
static void bilinear_corners(const resize_geom *g, size_t image, int32_t y_lo, int32_t y_hi,
                             int32_t x_lo, int32_t x_hi, size_t at[4]) {
  const size_t row = (size_t)g->in_w * (size_t)g->depth, depth = (size_t)g->depth;
  at[0] = image + (size_t)y_lo * row + (size_t)x_lo * depth;
  at[1] = image + (size_t)y_lo * row + (size_t)x_hi * depth;
  at[2] = image + (size_t)y_hi * row + (size_t)x_lo * depth;
  at[3] = image + (size_t)y_hi * row + (size_t)x_hi * depth;
}

/* One output pixel's channels from its four neighbours' (top-left, top-right, bottom-left,
 * bottom-right), weighted as the reference sums them (left to right). */
static void bilinear_pixel_f32(const float *restrict p0, const float *restrict p1,
                               const float *restrict p2, const float *restrict p3,
                               const float w[4], int32_t depth, float *restrict out) {
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  for (int32_t c = 0; c < depth; c++) out[c] = p0[c] * w0 + p1[c] * w1 + p2[c] * w2 + p3[c] * w3;
}

/* The same for uint8, rounded half up. */
static void bilinear_pixel_u8(const uint8_t *restrict p0, const uint8_t *restrict p1,
                              const uint8_t *restrict p2, const uint8_t *restrict p3,
                              const float w[4], int32_t depth, uint8_t *restrict out) {
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  for (int32_t c = 0; c < depth; c++)
    out[c] = (uint8_t)((float)p0[c] * w0 + (float)p1[c] * w1 + (float)p2[c] * w2 +
                       (float)p3[c] * w3 + 0.5f);
}

/* Float weights for float32 or uint8 data (elem: its size): each pixel's channels go
 * through a per-type loop over contiguous channels, which the compiler vectorizes. */
static void bilinear_float_weights(const resize_geom *g, int align, int half_pixel,
                                   const void *in, void *out, size_t elem) {
  const float sy = resize_scale(g->in_h, g->out_h, align);
  const float sx = resize_scale(g->in_w, g->out_w, align);
  const size_t row = (size_t)g->in_w * (size_t)g->depth, depth = (size_t)g->depth;
  const unsigned char *src = in;
  unsigned char *dst = out;
  for (int32_t b = 0; b < g->batches; b++) {
    const size_t image = (size_t)b * (size_t)g->in_h * row;
    for (int32_t y = 0; y < g->out_h; y++) {
      const bilinear_tap ty = bilinear_tap_at(y, sy, half_pixel, g->in_h);
      for (int32_t x = 0; x < g->out_w; x++, dst += depth * elem) {
        const bilinear_tap tx = bilinear_tap_at(x, sx, half_pixel, g->in_w);
        size_t at[4];
        bilinear_corners(g, image, ty.lo, ty.hi, tx.lo, tx.hi, at);
        const float w[4] = {(1 - ty.frac) * (1 - tx.frac), (1 - ty.frac) * tx.frac,
                            ty.frac * (1 - tx.frac), ty.frac * tx.frac};
        if (elem == sizeof(float))
          bilinear_pixel_f32((const float *)in + at[0], (const float *)in + at[1],
                             (const float *)in + at[2], (const float *)in + at[3], w,
                             g->depth, (float *)(void *)dst);
        else
          bilinear_pixel_u8(src + at[0], src + at[1], src + at[2], src + at[3], w, g->depth,
                            dst);
      }
    }
  }
}

/* TFLite's float kernel special-cases an exact 2x upscale without options: each input pixel
 * becomes itself, the midpoints with its right and lower neighbours (the edge repeats), and
 * the midpoint of those midpoints. */
static void bilinear_2x_f32(const resize_geom *g, const float *in, float *out) {
  const int32_t depth = g->depth;
  const size_t in_row = (size_t)g->in_w * (size_t)depth;
  const size_t out_row = (size_t)g->out_w * (size_t)depth;
  for (int32_t b = 0; b < g->batches; b++) {
    const float *image = in + (size_t)b * (size_t)g->in_h * in_row;
    float *dst = out + (size_t)b * (size_t)g->out_h * out_row;
    for (int32_t y0 = 0; y0 < g->in_h; y0++) {
      const int32_t y1 = y0 + 1 < g->in_h ? y0 + 1 : y0;
      for (int32_t x0 = 0; x0 < g->in_w; x0++) {
        const int32_t x1 = x0 + 1 < g->in_w ? x0 + 1 : x0;
        const float *p00 = image + (size_t)y0 * in_row + (size_t)x0 * (size_t)depth;
        const float *p01 = image + (size_t)y0 * in_row + (size_t)x1 * (size_t)depth;
        const float *p10 = image + (size_t)y1 * in_row + (size_t)x0 * (size_t)depth;
        const float *p11 = image + (size_t)y1 * in_row + (size_t)x1 * (size_t)depth;
        float *top = dst + (size_t)(2 * y0) * out_row + (size_t)(2 * x0) * (size_t)depth;
        float *bottom = top + out_row;
        for (int32_t c = 0; c < depth; c++) {
          const float left = (p00[c] + p10[c]) / 2;
          top[c] = p00[c];
          top[depth + c] = (p00[c] + p01[c]) / 2;
          bottom[c] = left;
          bottom[depth + c] = (left + (p01[c] + p11[c]) / 2) / 2;
        }
      }
    }
  }
}

/* --- RESIZE_BILINEAR, integer (int8, int16) --------------------------------------------- */

enum { FRAC_BITS = 10, ONE = 1 << FRAC_BITS };

/* The same taps in fixed point with 10 fractional bits. */
typedef struct bilinear_itap {
  int32_t lo, hi;
  int64_t frac; /* src - lo * ONE, in 1/ONE units */
} bilinear_itap;

static int32_t fixed_scale(int32_t in, int32_t out, int align_corners) {
  if (align_corners && out > 1) return (ONE * (in - 1) + (out - 1) / 2) / (out - 1);
  return (ONE * in + out / 2) / out;
}

static bilinear_itap bilinear_itap_at(int32_t i, int32_t scale, int half_pixel,
                                      int32_t in_size) {
  const int64_t src = half_pixel ? (int64_t)i * scale + scale / 2 - ONE / 2
                                 : (int64_t)i * scale;
  bilinear_itap t;
  /* C division truncates toward zero, as TFLite's does: lo of a small negative src is 0. */
  t.lo = clamp_index((int32_t)(src / ONE), in_size);
  t.hi = clamp_index((int32_t)((src + ONE - 1) / ONE), in_size);
  t.frac = src - (int64_t)t.lo * ONE;
  return t;
}

/* Rounds a value with 20 fractional bits half away from zero. */
static int64_t round_frac20(int64_t v) {
  const int64_t half = (int64_t)1 << (2 * FRAC_BITS - 1);
  return (v + (v > 0 ? half : -half)) / ((int64_t)1 << (2 * FRAC_BITS));
}

static void bilinear_integer(const resize_geom *g, int align, int half_pixel, const void *in,
                             void *out, tfl_type type) {
  const int32_t sy = fixed_scale(g->in_h, g->out_h, align);
  const int32_t sx = fixed_scale(g->in_w, g->out_w, align);
  const size_t row = (size_t)g->in_w * (size_t)g->depth;
  size_t o = 0;
  for (int32_t b = 0; b < g->batches; b++) {
    const size_t image = (size_t)b * (size_t)g->in_h * row;
    for (int32_t y = 0; y < g->out_h; y++) {
      const bilinear_itap ty = bilinear_itap_at(y, sy, half_pixel, g->in_h);
      for (int32_t x = 0; x < g->out_w; x++) {
        const bilinear_itap tx = bilinear_itap_at(x, sx, half_pixel, g->in_w);
        size_t at[4];
        bilinear_corners(g, image, ty.lo, ty.hi, tx.lo, tx.hi, at);
        const int64_t w[4] = {(ONE - ty.frac) * (ONE - tx.frac), (ONE - ty.frac) * tx.frac,
                              ty.frac * (ONE - tx.frac), ty.frac * tx.frac};
        for (int32_t c = 0; c < g->depth; c++, o++) {
          int64_t v[4];
          for (int k = 0; k < 4; k++)
            v[k] = type == TFL_INT8 ? ((const int8_t *)in)[at[k] + (size_t)c]
                                    : ((const int16_t *)in)[at[k] + (size_t)c];
          const int64_t r = round_frac20(v[0] * w[0] + v[1] * w[1] + v[2] * w[2] + v[3] * w[3]);
          if (type == TFL_INT8)
            ((int8_t *)out)[o] = (int8_t)r;
          else
            ((int16_t *)out)[o] = (int16_t)r;
        }
      }
    }
  }
}

#define BILINEAR_TYPES (TFL_TYPES_F32 | TFL_TYPES_QUANT)

static tfl_status bilinear_check_input(tfl_context *ctx, const tfl_node *node,
                                       const tfl_tensor *in) {
  if (tfl_type_in(in->type, BILINEAR_TYPES)) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "input type %s is not supported (float32, uint8, int8, int16)",
                          tfl_type_name(in->type));
}

static tfl_status bilinear_prepare(tfl_context *ctx, tfl_node *node) {
  resize_data *d = node->user_data;
  /* ResizeBilinearOptions: fields 0 and 1 are the deprecated new_height / new_width. */
  d->align_corners = tfl_opt_bool(node, 2, 0);
  d->half_pixel_centers = tfl_opt_bool(node, 3, 0);
  /* TFLite checks this only for a constant size; a model with both is invalid either way.
   * Its nearest neighbour kernel accepts both. */
  if (d->align_corners && d->half_pixel_centers)
    return tfl_context_error(ctx, node, "align_corners and half_pixel_centers are exclusive");
  return resize_prepare_common(ctx, node, 1, bilinear_check_input);
}

static tfl_status bilinear_eval(tfl_context *ctx, tfl_node *node) {
  const resize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  resize_geom g;
  tfl_status st = resize_eval_geometry(ctx, node, 1, &g);
  if (st != TFL_OK || out->bytes == 0) return st;
  const int align = d->align_corners, half = d->half_pixel_centers;
  switch (in->type) {
    case TFL_FLOAT32:
      if (!align && !half && g.out_h == 2 * g.in_h && g.out_w == 2 * g.in_w)
        bilinear_2x_f32(&g, in->data, out->data);
      else
        bilinear_float_weights(&g, align, half, in->data, out->data, sizeof(float));
      break;
    case TFL_UINT8:
      bilinear_float_weights(&g, align, half, in->data, out->data, sizeof(uint8_t));
      break;
    default:
      bilinear_integer(&g, align, half, in->data, out->data, in->type);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_resize_bilinear = {
    .name = "RESIZE_BILINEAR",
    .builtin_code = TFL_OP_RESIZE_BILINEAR,
    .data_size = sizeof(resize_data),
    .prepare = bilinear_prepare,
    .eval = bilinear_eval,
    .types = BILINEAR_TYPES,
};

/* --- RESIZE_NEAREST_NEIGHBOR ------------------------------------------------------------ */

static int32_t nearest_index(int32_t i, float scale, int32_t in_size, int align,
                             int half_pixel) {
  const float src = ((float)i + (half_pixel ? 0.5f : 0.0f)) * scale;
  int32_t r = align ? (int32_t)roundf(src) : (int32_t)floorf(src);
  if (r > in_size - 1) r = in_size - 1;
  if (half_pixel && r < 0) r = 0;
  return r;
}

static tfl_status nearest_check_input(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *in) {
  return tfl_check_fixed_size(ctx, node, in, "input");
}

static tfl_status nearest_prepare(tfl_context *ctx, tfl_node *node) {
  resize_data *d = node->user_data;
  d->align_corners = tfl_opt_bool(node, 0, 0);
  d->half_pixel_centers = tfl_opt_bool(node, 1, 0);
  return resize_prepare_common(ctx, node, 0, nearest_check_input);
}

static tfl_status nearest_eval(tfl_context *ctx, tfl_node *node) {
  const resize_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  resize_geom g;
  tfl_status st = resize_eval_geometry(ctx, node, 0, &g);
  if (st != TFL_OK || out->bytes == 0) return st;
  const size_t pixel = (size_t)g.depth * tfl_type_size(in->type);
  const size_t row = (size_t)g.in_w * pixel;
  const int align = d->align_corners, half = d->half_pixel_centers;
  const float sy = resize_scale(g.in_h, g.out_h, align);
  const float sx = resize_scale(g.in_w, g.out_w, align);
  const uint8_t *src = in->data;
  uint8_t *dst = out->data;
  for (int32_t b = 0; b < g.batches; b++) {
    const uint8_t *image = src + (size_t)b * (size_t)g.in_h * row;
    for (int32_t y = 0; y < g.out_h; y++) {
      const int32_t iy = nearest_index(y, sy, g.in_h, align, half);
      for (int32_t x = 0; x < g.out_w; x++, dst += pixel) {
        const int32_t ix = nearest_index(x, sx, g.in_w, align, half);
        memcpy(dst, image + (size_t)iy * row + (size_t)ix * pixel, pixel);
      }
    }
  }
  return TFL_OK;
}

static const tfl_op_registration reg_resize_nearest = {
    .name = "RESIZE_NEAREST_NEIGHBOR",
    .builtin_code = TFL_OP_RESIZE_NEAREST_NEIGHBOR,
    .data_size = sizeof(resize_data),
    .prepare = nearest_prepare,
    .eval = nearest_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_resize[] = {&reg_resize_bilinear,
                                                         &reg_resize_nearest, NULL};
