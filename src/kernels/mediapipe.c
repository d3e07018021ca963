/* MediaPipe's custom ops (mediapipe/util/tflite/operations/, one .cc file each), with their
 * semantics:
 *
 * - Convolution2DTransposeBias: input, weights [out_c, kh, kw, in_c], bias [out_c], all
 *   float32. custom_options are the raw bytes of TfLitePadding/stride_width/stride_height
 *   (native int32s, TfLitePadding 1 = SAME; anything else pads nothing, like VALID). Output
 *   [batch, stride * (in - 1) + k - total_pad, ..., out_c] with SAME's
 *   total_pad = max(0, k - (in - 1) % stride - 1). Computed by transpose_conv.h's core.
 * - MaxPoolingWithArgmax2D: max pool (TfLitePoolParams POD options: padding, strides, filter,
 *   activation) with a second float32 output holding, per output, the window-local position
 *   of the maximum (ky * filter_w + kx, + 0.1 so that it truncates safely); the first maximum
 *   wins ties, and an all-padding window gives the lowest float.
 * - MaxUnpooling2D: the inverse: output [batch, in_h * filter_h, in_w * filter_w, c], zeros
 *   except at the positions the float indices name inside each window.
 * - LiteRtMaxUnpooling2D (LiteRT's perception op, a different operator despite the name): the
 *   indices are int32 positions in the flattened [h, w, c] output of each batch, whose size is
 *   in * stride (SAME) or (in - 1) * stride + filter (VALID).
 * - Landmarks2TransformMatrix (version 1: landmarks [1, 1, 1, 3n]; version 2: [1, n, 3]) and
 *   TransformLandmarks (1: 4-D with a scale option, 2: 3-D) and TransformTensor (1) /
 *   TransformTensorBilinear (2): FlexBuffers options, arithmetic as MediaPipe's CPU kernels
 *   (float, with double where their C++ mixes double literals in). Only batch 0 is computed,
 *   as there; the rest of the output is zero.
 *
 * MediaPipe trusts its indices; tfl checks them (landmark indices against the input, unpool
 * positions against the output) and fails the op instead of reading or writing out of
 * bounds. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "format/flexbuf.h"
#include "kernels/families.h"
#include "kernels/transpose_conv.h"
#include "kernels/window.h"
#include "runtime/kernel.h"

/* TfLitePadding, as MediaPipe's POD options hold it. */
enum { MP_PADDING_UNKNOWN = 0, MP_PADDING_SAME = 1, MP_PADDING_VALID = 2 };

/* ---- shared helpers ---------------------------------------------------------------------- */

/* custom_options as the first n native int32 fields of a C struct (TfLitePoolParams,
 * TfLiteTransposeConvParams). */
static tfl_status mp_read_pod(tfl_context *ctx, const tfl_node *node, int32_t *v, int n) {
  if (!node->custom_options || node->custom_options_size < (size_t)n * sizeof(int32_t))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "custom_options hold %zu bytes, expected at least %zu",
                            node->custom_options_size, (size_t)n * sizeof(int32_t));
  memcpy(v, node->custom_options, (size_t)n * sizeof(int32_t));
  return TFL_OK;
}

static tfl_status mp_check_float(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                 const char *what, int ndim) {
  if (ndim >= 0 && t->ndim != ndim)
    return tfl_context_error(ctx, node, "%s '%s' must have %d dimensions, has %d", what, t->name,
                             ndim, t->ndim);
  return tfl_check_type(ctx, node, t, what, TFL_FLOAT32);
}

static int32_t mp_min32(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t mp_max32(int32_t a, int32_t b) { return a < b ? b : a; }

/* ---- Convolution2DTransposeBias --------------------------------------------------------- */

typedef struct mp_tconv_data {
  tfl_tconv g;
} mp_tconv_data;

static tfl_status mp_tconv_prepare(tfl_context *ctx, tfl_node *node) {
  mp_tconv_data *d = node->user_data;
  int32_t opt[3]; /* padding, stride_w, stride_h */
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st == TFL_OK) st = mp_read_pod(ctx, node, opt, 3);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *weights = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  st = mp_check_float(ctx, node, input, "input", 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, weights, "weights", 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, bias, "bias", 1);
  if (st == TFL_OK) st = mp_check_float(ctx, node, output, "output", -1);
  if (st != TFL_OK) return st;
  if (input->dims[3] != weights->dims[3] || bias->dims[0] != weights->dims[0])
    return tfl_context_error(ctx, node,
                             "input '%s' has %d channels and bias '%s' %d; weights '%s' are "
                             "[%d, %d, %d, %d]",
                             input->name, (int)input->dims[3], bias->name, (int)bias->dims[0],
                             weights->name, (int)weights->dims[0], (int)weights->dims[1],
                             (int)weights->dims[2], (int)weights->dims[3]);
  if (opt[1] < 1 || opt[2] < 1 || input->dims[1] < 1 || input->dims[2] < 1 ||
      weights->dims[1] < 1 || weights->dims[2] < 1)
    return tfl_context_error(ctx, node,
                             "strides (%d, %d), input '%s' and kernel sizes must be positive",
                             (int)opt[1], (int)opt[2], input->name);
  const int same = opt[0] == MP_PADDING_SAME;
  tfl_tconv *g = &d->g;
  *g = (tfl_tconv){.batches = input->dims[0], .in_c = input->dims[3], .out_c = weights->dims[0]};
  g->h = (tfl_tconv_axis){.in = input->dims[1], .kernel = weights->dims[1], .stride = opt[2]};
  g->w = (tfl_tconv_axis){.in = input->dims[2], .kernel = weights->dims[2], .stride = opt[1]};
  const int64_t out_h = tfl_tconv_out_size(same, g->h.in, g->h.kernel, g->h.stride);
  const int64_t out_w = tfl_tconv_out_size(same, g->w.in, g->w.kernel, g->w.stride);
  if (out_h < 1 || out_w < 1)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "output size is out of range");
  g->h.out = (int32_t)out_h;
  g->w.out = (int32_t)out_w;
  st = tfl_tconv_plan_axis(ctx, node, "height", same, &g->h);
  if (st == TFL_OK) st = tfl_tconv_plan_axis(ctx, node, "width", same, &g->w);
  if (st != TFL_OK) return st;
  const int32_t dims[4] = {g->batches, g->h.out, g->w.out, g->out_c};
  return tfl_context_resize(ctx, output, 4, dims);
}

static tfl_status mp_tconv_eval(tfl_context *ctx, tfl_node *node) {
  const mp_tconv_data *d = node->user_data;
  tfl_tconv_eval_float(ctx, &d->g, tfl_node_input(ctx, node, 0)->data,
                       tfl_node_input(ctx, node, 1)->data, tfl_node_input(ctx, node, 2)->data,
                       -INFINITY, INFINITY, tfl_node_output(ctx, node, 0)->data);
  return TFL_OK;
}

/* ---- pooling with argmax, unpooling -------------------------------------------------------- */

/* TfLitePoolParams' leading fields. */
typedef struct mp_pool {
  int32_t padding, stride_w, stride_h, filter_w, filter_h, activation;
  int32_t pad_h, pad_w; /* computed */
  float lo, hi;         /* activation clamp */
} mp_pool;

static tfl_status mp_read_pool(tfl_context *ctx, const tfl_node *node, mp_pool *p) {
  int32_t v[6];
  tfl_status st = mp_read_pod(ctx, node, v, 6);
  if (st != TFL_OK) return st;
  *p = (mp_pool){v[0], v[1], v[2], v[3], v[4], v[5], 0, 0, -FLT_MAX, FLT_MAX};
  if (p->stride_w < 1 || p->stride_h < 1 || p->filter_w < 1 || p->filter_h < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "strides (%d, %d) and filter (%d, %d) must be positive",
                            (int)p->stride_w, (int)p->stride_h, (int)p->filter_w, (int)p->filter_h);
  /* TFLite's CalculateActivationRange: only the clamping activations clamp. */
  if (tfl_activation_range_f32(p->activation, &p->lo, &p->hi) == TFL_OK) {
    if (p->lo < -FLT_MAX) p->lo = -FLT_MAX;
    if (p->hi > FLT_MAX) p->hi = FLT_MAX;
  }
  return TFL_OK;
}

/* TFLite's ComputePadding with dilation 1 (the before-side padding). */
static int32_t mp_padding(int32_t stride, int32_t in, int32_t filter, int32_t out) {
  const int64_t pad = ((int64_t)(out - 1) * stride + filter - in) / 2;
  return pad > 0 ? (int32_t)pad : 0;
}

static int32_t mp_pool_out(const mp_pool *p, int32_t in, int32_t filter, int32_t stride) {
  if (p->padding == MP_PADDING_SAME) return (int32_t)(((int64_t)in + stride - 1) / stride);
  if (p->padding == MP_PADDING_VALID) {
    const int64_t out = ((int64_t)in - filter + stride) / stride;
    return out > 0 ? (int32_t)out : 0;
  }
  return 0;
}

static tfl_status mp_argmax_prepare(tfl_context *ctx, tfl_node *node) {
  mp_pool *p = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 2);
  if (st == TFL_OK) st = mp_read_pool(ctx, node, p);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  tfl_tensor *output = tfl_node_output(ctx, node, 0), *indices = tfl_node_output(ctx, node, 1);
  st = mp_check_float(ctx, node, input, "input", 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, output, "output", -1);
  if (st == TFL_OK) st = mp_check_float(ctx, node, indices, "indices", -1);
  if (st != TFL_OK) return st;
  const int32_t out_h = mp_pool_out(p, input->dims[1], p->filter_h, p->stride_h);
  const int32_t out_w = mp_pool_out(p, input->dims[2], p->filter_w, p->stride_w);
  p->pad_h = mp_padding(p->stride_h, input->dims[1], p->filter_h, out_h);
  p->pad_w = mp_padding(p->stride_w, input->dims[2], p->filter_w, out_w);
  const int32_t dims[4] = {input->dims[0], out_h, out_w, input->dims[3]};
  st = tfl_context_resize(ctx, output, 4, dims);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, indices, 4, dims);
}

static tfl_status mp_argmax_eval(tfl_context *ctx, tfl_node *node) {
  const mp_pool *p = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *output = tfl_node_output(ctx, node, 0);
  const float *in = input->data;
  float *out = output->data, *idx = tfl_node_output(ctx, node, 1)->data;
  const int32_t in_h = input->dims[1], in_w = input->dims[2], c = input->dims[3];
  const int32_t rows = output->dims[0] * output->dims[1], out_h = output->dims[1];
  for (int32_t row = 0; row < rows; row++) {
    const float *image = in + (size_t)(row / out_h) * (size_t)in_h * (size_t)in_w * (size_t)c;
    const int32_t y0 = (row % out_h) * p->stride_h - p->pad_h;
    const int32_t ky0 = mp_max32(0, -y0), ky1 = mp_min32(p->filter_h, in_h - y0);
    for (int32_t ox = 0; ox < output->dims[2]; ox++) {
      const int32_t x0 = ox * p->stride_w - p->pad_w;
      const int32_t kx0 = mp_max32(0, -x0), kx1 = mp_min32(p->filter_w, in_w - x0);
      for (int32_t ch = 0; ch < c; ch++) {
        float best = -FLT_MAX;
        int32_t best_y = 0, best_x = 0;
        for (int32_t ky = ky0; ky < ky1; ky++)
          for (int32_t kx = kx0; kx < kx1; kx++) {
            const float v =
                image[((size_t)(y0 + ky) * (size_t)in_w + (size_t)(x0 + kx)) * (size_t)c +
                      (size_t)ch];
            if (v > best) {
              best = v;
              best_y = ky;
              best_x = kx;
            }
          }
        *out++ = tfl_window_clamp(best, p->lo, p->hi);
        *idx++ = (float)(best_y * p->filter_w + best_x) + 0.1f;
      }
    }
  }
  return TFL_OK;
}

/* The common checks of both unpooling ops: a float32 4-D input and an index tensor of `type`
 * with the same shape. */
static tfl_status mp_unpool_check(tfl_context *ctx, const tfl_node *node, tfl_type index_type) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0), *indices = tfl_node_input(ctx, node, 1);
  st = mp_check_float(ctx, node, input, "input", 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, tfl_node_output(ctx, node, 0), "output", -1);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, indices, "indices", index_type);
  if (st != TFL_OK) return st;
  if (!tfl_same_shape(input, indices))
    return tfl_context_error(ctx, node, "indices '%s' must have the shape of input '%s'",
                             indices->name, input->name);
  return TFL_OK;
}

static tfl_status mp_unpool_resize(tfl_context *ctx, const tfl_node *node, int64_t out_h,
                                   int64_t out_w) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  if (out_h > INT32_MAX || out_w > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "output size is out of range");
  const int32_t dims[4] = {input->dims[0], (int32_t)out_h, (int32_t)out_w, input->dims[3]};
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 4, dims);
}

static tfl_status mp_unpool_prepare(tfl_context *ctx, tfl_node *node) {
  mp_pool *p = node->user_data;
  tfl_status st = mp_unpool_check(ctx, node, TFL_FLOAT32);
  if (st == TFL_OK) st = mp_read_pool(ctx, node, p);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const int64_t out_h = (int64_t)input->dims[1] * p->filter_h;
  const int64_t out_w = (int64_t)input->dims[2] * p->filter_w;
  st = mp_unpool_resize(ctx, node, out_h, out_w);
  if (st != TFL_OK) return st;
  p->pad_h = mp_padding(p->stride_h, (int32_t)out_h, p->filter_h, input->dims[1]);
  p->pad_w = mp_padding(p->stride_w, (int32_t)out_w, p->filter_w, input->dims[2]);
  return TFL_OK;
}

/* (int)v as x86-64 converts it (INT32_MIN for NaN and out-of-range values). */
static int32_t mp_trunc(float v) {
  if (!(v > -2147483649.0f && v < 2147483648.0f)) return INT32_MIN;
  return (int32_t)v;
}

static tfl_status mp_unpool_eval(tfl_context *ctx, tfl_node *node) {
  const mp_pool *p = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0), *output = tfl_node_output(ctx, node, 0);
  const float *in = input->data, *indices = tfl_node_input(ctx, node, 1)->data;
  float *out = output->data;
  const int32_t in_h = input->dims[1], in_w = input->dims[2], c = input->dims[3];
  const int32_t out_h = output->dims[1], out_w = output->dims[2];
  memset(out, 0, tfl_tensor_count(output) * sizeof(float));
  size_t i = 0;
  for (int32_t n = 0; n < input->dims[0]; n++)
    for (int32_t iy = 0; iy < in_h; iy++)
      for (int32_t ix = 0; ix < in_w; ix++)
        for (int32_t ch = 0; ch < c; ch++, i++) {
          const int32_t at = mp_trunc(indices[i]);
          const int64_t oy = (int64_t)iy * p->stride_h - p->pad_h + at / p->filter_w;
          const int64_t ox = (int64_t)ix * p->stride_w - p->pad_w + at % p->filter_w;
          if (oy < 0 || oy >= out_h || ox < 0 || ox >= out_w)
            return tfl_context_error(ctx, node, "index %g of element %zu points outside the output",
                                     (double)indices[i], i);
          out[(((size_t)n * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) * (size_t)c +
              (size_t)ch] = in[i];
        }
  return TFL_OK;
}

static tfl_status mp_litert_unpool_prepare(tfl_context *ctx, tfl_node *node) {
  mp_pool *p = node->user_data;
  tfl_status st = mp_unpool_check(ctx, node, TFL_INT32);
  if (st == TFL_OK) st = mp_read_pool(ctx, node, p);
  if (st != TFL_OK) return st;
  if (p->padding == MP_PADDING_UNKNOWN)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "padding is unknown (0)");
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const int64_t in_h = input->dims[1], in_w = input->dims[2];
  if (p->padding == MP_PADDING_SAME)
    return mp_unpool_resize(ctx, node, in_h * p->stride_h, in_w * p->stride_w);
  return mp_unpool_resize(ctx, node, in_h > 0 ? (in_h - 1) * p->stride_h + p->filter_h : 0,
                          in_w > 0 ? (in_w - 1) * p->stride_w + p->filter_w : 0);
}

static tfl_status mp_litert_unpool_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0), *output = tfl_node_output(ctx, node, 0);
  const float *in = input->data;
  const int32_t *indices = tfl_node_input(ctx, node, 1)->data;
  float *out = output->data;
  const int32_t batches = input->dims[0];
  const size_t per_in = batches ? tfl_tensor_count(input) / (size_t)batches : 0;
  const size_t per_out = batches ? tfl_tensor_count(output) / (size_t)batches : 0;
  memset(out, 0, tfl_tensor_count(output) * sizeof(float));
  for (int32_t n = 0; n < batches; n++)
    for (size_t i = (size_t)n * per_in; i < (size_t)(n + 1) * per_in; i++) {
      if (indices[i] < 0 || (size_t)indices[i] >= per_out)
        return tfl_context_error(ctx, node, "index %d of element %zu is outside [0, %zu)",
                                 (int)indices[i], i, per_out);
      out[(size_t)n * per_out + (size_t)indices[i]] = in[i];
    }
  return TFL_OK;
}

/* ---- small matrices (MediaPipe's Mat3/Mat4: row-major, float sums) ------------------------- */

static void mp_mat_mul(const float *a, const float *b, int n, float *out) {
  float r[16];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      float sum = 0;
      for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
      r[i * n + j] = sum;
    }
  memcpy(out, r, (size_t)(n * n) * sizeof(float));
}

static void mp_mat3_apply(const float *m, const float *v, float *out) {
  float r[3];
  for (int i = 0; i < 3; i++) {
    float sum = 0;
    for (int k = 0; k < 3; k++) sum += m[i * 3 + k] * v[k];
    r[i] = sum;
  }
  memcpy(out, r, sizeof(r));
}

/* ---- Landmarks2TransformMatrix -------------------------------------------------------------- */

#define MP_MAX_SUBSET 64

typedef struct mp_l2t_data {
  int32_t input_h, input_w, output_h, output_w; /* version 1 */
  int32_t dimensions, landmarks_range;
  float bbox_size_multiplier;
  float target_rotation, scale_x, scale_y; /* version 2 */
  int32_t left, right;
  int32_t subset[2 * MP_MAX_SUBSET];
  int32_t n_subset; /* pairs */
  int version;
} mp_l2t_data;

static int32_t mp_int(flex_ref map, const char *key) {
  const int64_t v = flex_as_int(flex_map_get(map, key));
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static float mp_float(flex_ref map, const char *key) {
  return (float)flex_as_float(flex_map_get(map, key));
}

/* A typed vector of int pairs; an odd count repeats the last value (as MediaPipe's parser). */
static tfl_status mp_read_pairs(tfl_context *ctx, const tfl_node *node, flex_ref v,
                                mp_l2t_data *d) {
  const size_t n = flex_vector_len(v);
  if (n == 0) return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "the landmark subset is empty");
  if (n > 2 * MP_MAX_SUBSET)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "subset of %zu landmarks is too long", n);
  for (size_t i = 0; i < n; i++) {
    const int64_t x = flex_as_int(flex_vector_at(v, i));
    d->subset[i] = x < INT32_MIN ? INT32_MIN : x > INT32_MAX ? INT32_MAX : (int32_t)x;
  }
  if (n % 2) d->subset[n] = d->subset[n - 1];
  d->n_subset = (int32_t)((n + 1) / 2);
  return TFL_OK;
}

static tfl_status mp_l2t_options(tfl_context *ctx, const tfl_node *node, mp_l2t_data *d) {
  flex_ref m = flex_root(node->custom_options, node->custom_options_size);
  d->version = node->version;
  d->left = mp_int(m, "left_rotation_idx");
  d->right = mp_int(m, "right_rotation_idx");
  if (d->version == 2) {
    d->target_rotation = mp_float(m, "target_rotation_radians");
    d->output_h = mp_int(m, "output_height");
    d->output_w = mp_int(m, "output_width");
    d->scale_x = mp_float(m, "scale_x");
    d->scale_y = mp_float(m, "scale_y");
    if (!(d->scale_x > 0) || !(d->scale_y > 0))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "scale_x and scale_y must be > 0");
    return mp_read_pairs(ctx, node, flex_map_get(m, "subset_idxs"), d);
  }
  flex_ref in_hw = flex_map_get(m, "input_hw"), out_hw = flex_map_get(m, "output_hw");
  d->input_h = (int32_t)flex_as_int(flex_vector_at(in_hw, 0));
  d->input_w = (int32_t)flex_as_int(flex_vector_at(in_hw, 1));
  d->output_h = (int32_t)flex_as_int(flex_vector_at(out_hw, 0));
  d->output_w = (int32_t)flex_as_int(flex_vector_at(out_hw, 1));
  d->dimensions = mp_int(m, "dimensions");
  d->landmarks_range = mp_int(m, "landmarks_range");
  d->bbox_size_multiplier = mp_float(m, "bbox_size_multiplier");
  if (d->bbox_size_multiplier == 0 || d->dimensions != 3 || d->input_h <= 0 || d->input_w <= 0 ||
      d->landmarks_range <= 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "bad options: dimensions %d (must be 3), input_hw %dx%d, "
                            "landmarks_range %d, bbox_size_multiplier %g",
                            (int)d->dimensions, (int)d->input_h, (int)d->input_w,
                            (int)d->landmarks_range, (double)d->bbox_size_multiplier);
  return mp_read_pairs(ctx, node, flex_map_get(m, "subset"), d);
}

static tfl_status mp_l2t_prepare(tfl_context *ctx, tfl_node *node) {
  mp_l2t_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = mp_l2t_options(ctx, node, d);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  st = mp_check_float(ctx, node, input, "landmarks", d->version == 2 ? 3 : 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, tfl_node_output(ctx, node, 0), "output", -1);
  if (st != TFL_OK) return st;
  if (d->output_h <= 0 || d->output_w <= 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output size %dx%d must be positive",
                            (int)d->output_h, (int)d->output_w);
  const int64_t landmarks = (int64_t)(tfl_tensor_count(input) / 3);
  int32_t highest = mp_max32(d->left, d->right), lowest = mp_min32(d->left, d->right);
  for (int32_t i = 0; i < 2 * d->n_subset; i++) {
    highest = mp_max32(highest, d->subset[i]);
    lowest = mp_min32(lowest, d->subset[i]);
  }
  if (lowest < 0 || highest >= landmarks)
    return tfl_context_error(ctx, node,
                             "landmark indices [%d, %d] are outside the %lld landmarks of '%s'",
                             (int)lowest, (int)highest, (long long)landmarks, input->name);
  const int32_t dims[3] = {1, 4, 4};
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 3, dims);
}

static void mp_l2t_v1(const mp_l2t_data *d, const float *lm, float *out) {
  const float ly = lm[d->left * 3 + 1], lx = lm[d->left * 3];
  const float ry = lm[d->right * 3 + 1], rx = lm[d->right * 3];
  const float alpha = -atanf((ry - ly) / (rx - lx));
  const float ca = cosf(alpha), sa = sinf(alpha), cn = cosf(-alpha), sn = sinf(-alpha);
  float max_x = -100000, max_y = -100000, min_x = 100000, min_y = 100000;
  for (int32_t i = 0; i < 2 * d->n_subset; i++) {
    const float x = lm[d->subset[i] * 3], y = lm[d->subset[i] * 3 + 1];
    const float rot_x = x * ca - y * sa, rot_y = x * sa + y * ca;
    max_x = max_x < rot_x ? rot_x : max_x;
    max_y = max_y < rot_y ? rot_y : max_y;
    min_x = rot_x < min_x ? rot_x : min_x;
    min_y = rot_y < min_y ? rot_y : min_y;
  }
  const float range = (float)d->landmarks_range;
  const float box_x = (max_x - min_x) * d->bbox_size_multiplier;
  const float box_y = (max_y - min_y) * d->bbox_size_multiplier;
  const float mid_x = (float)((max_x + min_x) / 2.0);
  const float mid_y = (float)((max_y + min_y) / 2.0);
  const float rmid_x = mid_x * cn - mid_y * sn, rmid_y = mid_x * sn + mid_y * cn;
  const float scale[9] = {box_x / range, 0, 0, 0, box_y / range, 0, 0, 0, 1};
  const float rotation[9] = {cn, -sn, (float)((rmid_x / range) * 2.0 - 1.0),
                             sn, cn,  (float)((rmid_y / range) * 2.0 - 1.0),
                             0,  0,   1};
  const float rel_x = (float)(2.0 / (d->output_w - 1.0));
  const float rel_y = (float)(2.0 / (d->output_h - 1.0));
  const float to_relative[9] = {rel_x, 0, -1, 0, rel_y, -1, 0, 0, 1};
  const float half_w = (float)((d->input_w - 1.0) / 2.0),
              half_h = (float)((d->input_h - 1.0) / 2.0);
  const float to_absolute[9] = {half_w, 0, half_w, 0, half_h, half_h, 0, 0, 1};
  float m[9];
  mp_mat_mul(to_absolute, rotation, 3, m);
  mp_mat_mul(m, scale, 3, m);
  mp_mat_mul(m, to_relative, 3, m);
  const float result[16] = {m[0], m[1], 0,    m[2], m[3], m[4], 0, m[5],
                            m[6], m[7], m[8], 0,    0,    0,    0, 1};
  memcpy(out, result, sizeof(result));
}

static void mp_l2t_v2(const mp_l2t_data *d, const float *lm, float *out) {
  const float dy = lm[d->right * 3 + 1] - lm[d->left * 3 + 1];
  const float dx = lm[d->right * 3] - lm[d->left * 3];
  const float r = d->target_rotation - atan2f(dy, dx);
  const float rot[9] = {cosf(r), -sinf(r), 0, sinf(r), cosf(r), 0, 0, 0, 1};
  const float inverse[9] = {cosf(-r), -sinf(-r), 0, sinf(-r), cosf(-r), 0, 0, 0, 1};
  float lo[3] = {0}, hi[3] = {0};
  for (int32_t i = 0; i < 2 * d->n_subset; i++) {
    const float *p = lm + d->subset[i] * 3;
    float v[3] = {p[0], p[1], 1.0f};
    mp_mat3_apply(rot, v, v);
    if (i == 0 || hi[0] < v[0]) hi[0] = v[0];
    if (i == 0 || hi[1] < v[1]) hi[1] = v[1];
    if (i == 0 || lo[0] > v[0]) lo[0] = v[0];
    if (i == 0 || lo[1] > v[1]) lo[1] = v[1];
    if (i == 0) lo[2] = v[2];
  }
  const float crop_w = hi[0] - lo[0], crop_h = hi[1] - lo[1];
  float center[3] = {(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]};
  mp_mat3_apply(inverse, center, center);
  const float nr = -r;
  const float scale_x = d->scale_x * crop_w / (float)d->output_w;
  const float scale_y = d->scale_y * crop_h / (float)d->output_h;
  const float shift_x = (float)(-1.0 * (d->output_w / 2.0));
  const float shift_y = (float)(-1.0 * (d->output_h / 2.0));
  const float steps[4][16] = {
      {1, 0, 0, center[0], 0, 1, 0, center[1], 0, 0, 1, 0, 0, 0, 0, 1},
      {cosf(nr), -sinf(nr), 0, 0, sinf(nr), cosf(nr), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
      {scale_x, 0, 0, 0, 0, scale_y, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
      {1, 0, 0, shift_x, 0, 1, 0, shift_y, 0, 0, 1, 0, 0, 0, 0, 1}};
  float t[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  for (int s = 0; s < 4; s++) mp_mat_mul(t, steps[s], 4, t);
  memcpy(out, t, sizeof(t));
}

static tfl_status mp_l2t_eval(tfl_context *ctx, tfl_node *node) {
  const mp_l2t_data *d = node->user_data;
  const float *lm = tfl_node_input(ctx, node, 0)->data;
  float *out = tfl_node_output(ctx, node, 0)->data;
  if (d->version == 2)
    mp_l2t_v2(d, lm, out);
  else
    mp_l2t_v1(d, lm, out);
  return TFL_OK;
}

/* ---- TransformLandmarks --------------------------------------------------------------------- */

typedef struct mp_tl_data {
  int32_t dimensions;
  float scale;
  int32_t landmarks; /* per pixel (version 1) or in total (version 2) */
  int32_t stride;    /* values between consecutive landmarks */
  int32_t pixels;    /* version 1: pixels of batch 0 */
} mp_tl_data;

/* The 4x4 transform matrix input. */
static tfl_status mp_check_matrix(tfl_context *ctx, const tfl_node *node, const tfl_tensor *m) {
  tfl_status st = mp_check_float(ctx, node, m, "matrix", -1);
  if (st != TFL_OK) return st;
  if (tfl_tensor_count(m) != 16)
    return tfl_context_error(ctx, node, "matrix '%s' must hold a 4x4 matrix, has %zu values",
                             m->name, tfl_tensor_count(m));
  return TFL_OK;
}

static tfl_status mp_tl_prepare(tfl_context *ctx, tfl_node *node) {
  mp_tl_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  const int v2 = node->version == 2;
  st = mp_check_float(ctx, node, input, "landmarks", v2 ? 3 : 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, output, "output", -1);
  if (st == TFL_OK) st = mp_check_matrix(ctx, node, tfl_node_input(ctx, node, 1));
  if (st != TFL_OK) return st;
  const int32_t last = input->dims[input->ndim - 1];
  if (v2) {
    d->dimensions = last;
    d->scale = 1.0f;
  } else {
    flex_ref m = flex_root(node->custom_options, node->custom_options_size);
    flex_ref dims = flex_map_get(m, "dimensions"), scale = flex_map_get(m, "scale");
    d->dimensions = flex_is_null(dims) ? 3 : mp_int(m, "dimensions");
    d->scale = flex_is_null(scale) ? 1.0f : mp_float(m, "scale");
    if (d->scale == 0) return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "scale must not be 0");
  }
  if (d->dimensions != 2 && d->dimensions != 3)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "landmarks have %d dimensions, must be 2 or 3", (int)d->dimensions);
  if (last % d->dimensions != 0)
    return tfl_context_error(ctx, node, "%d values per pixel are not whole %d-D landmarks",
                             (int)last, (int)d->dimensions);
  d->landmarks = v2 ? input->dims[1] : last / d->dimensions;
  d->stride = v2 ? last : d->dimensions;
  d->pixels = tfl_tensor_count(input) == 0 ? 0 : v2 ? 1 : input->dims[1] * input->dims[2];
  return tfl_context_resize(ctx, output, input->ndim, input->dims);
}

/* l.r over 4 components in float, left to right (MediaPipe's DotProduct). */
static float mp_dot4(const float *l, const float *r) {
  return l[0] * r[0] + l[1] * r[1] + l[2] * r[2] + l[3] * r[3];
}

static tfl_status mp_tl_eval(tfl_context *ctx, tfl_node *node) {
  const mp_tl_data *d = node->user_data;
  const tfl_tensor *output = tfl_node_output(ctx, node, 0);
  const float *in = tfl_node_input(ctx, node, 0)->data;
  const float *m = tfl_node_input(ctx, node, 1)->data;
  float *out = output->data;
  const float xt[4] = {m[0], m[1], m[2], m[3] * d->scale};
  const float yt[4] = {m[4], m[5], m[6], m[7] * d->scale};
  memset(out, 0, tfl_tensor_count(output) * sizeof(float));
  const size_t per_pixel = (size_t)d->landmarks * (size_t)d->stride;
  for (size_t p = 0; p < (size_t)d->pixels; p++)
    for (size_t l = 0; l < (size_t)d->landmarks; l++) {
      const size_t at = p * per_pixel + l * (size_t)d->stride;
      const float v[4] = {in[at], in[at + 1], 0.0f, 1.0f};
      out[at] = mp_dot4(xt, v);
      out[at + 1] = mp_dot4(yt, v);
      if (d->dimensions == 3) out[at + 2] = in[at + 2];
    }
  return TFL_OK;
}

/* ---- TransformTensor (version 1) / TransformTensorBilinear (version 2) --------------------- */

typedef struct mp_tt_data {
  int align_corners; /* version 2 */
} mp_tt_data;

static tfl_status mp_tt_prepare(tfl_context *ctx, tfl_node *node) {
  mp_tt_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *output = tfl_node_output(ctx, node, 0);
  st = mp_check_float(ctx, node, input, "input", 4);
  if (st == TFL_OK) st = mp_check_float(ctx, node, output, "output", 4);
  if (st == TFL_OK) st = mp_check_matrix(ctx, node, tfl_node_input(ctx, node, 1));
  if (st != TFL_OK) return st;
  d->align_corners = node->version == 2;
  if (!d->align_corners) {
    flex_ref mode =
        flex_map_get(flex_root(node->custom_options, node->custom_options_size), "mode");
    const char *s = flex_as_string(mode, NULL);
    if (!flex_is_null(mode) && (!s || strcmp(s, "bilinear") != 0))
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "only mode \"bilinear\" is supported");
  }
  /* As MediaPipe's kernel, the output keeps the model's shape; it reads input channel z for
   * output channel z. */
  if (output->dims[3] > input->dims[3])
    return tfl_context_error(ctx, node, "output '%s' has %d channels, input '%s' only %d",
                             output->name, (int)output->dims[3], input->name, (int)input->dims[3]);
  int32_t dims[4];
  memcpy(dims, output->dims, sizeof(dims));
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 4, dims);
}

typedef struct mp_image {
  const float *data;
  int32_t h, w, c;
} mp_image;

static float mp_pixel(const mp_image *im, double y, double x, int32_t z) {
  const int32_t iy = (int32_t)y, ix = (int32_t)x;
  if (iy < 0 || ix < 0 || iy >= im->h || ix >= im->w) return 0;
  return im->data[((size_t)iy * (size_t)im->w + (size_t)ix) * (size_t)im->c + (size_t)z];
}

/* One output channel at input position (tx, ty), MediaPipe's interpolation with its mix of
 * float and double arithmetic. */
static float mp_bilinear(const mp_image *im, float tx, float ty, int32_t z) {
  const double fx = floor(tx), fy = floor(ty);
  const float q11 = mp_pixel(im, fy, fx, z), q21 = mp_pixel(im, fy, fx + 1, z);
  const float q12 = mp_pixel(im, fy + 1, fx, z), q22 = mp_pixel(im, fy + 1, fx + 1, z);
  const float right = (float)(tx - fx), lower = (float)(ty - fy);
  const float upper_row = (float)((1.0 - right) * q11 + right * q21);
  const float lower_row = (float)((1.0 - right) * q12 + right * q22);
  return (float)(lower * lower_row + (1.0 - lower) * upper_row);
}

static tfl_status mp_tt_eval(tfl_context *ctx, tfl_node *node) {
  const mp_tt_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *output = tfl_node_output(ctx, node, 0);
  const float *m = tfl_node_input(ctx, node, 1)->data;
  const mp_image im = {input->data, input->dims[1], input->dims[2], input->dims[3]};
  float xt[4] = {m[0], m[1], m[2], m[3]}, yt[4] = {m[4], m[5], m[6], m[7]};
  if (d->align_corners) {
    /* Samples pixel centres: T -> S * T * A with A = +0.5 and S = -0.5 translations. */
    xt[3] = (float)(xt[3] + (xt[0] * 0.5 + xt[1] * 0.5 - 0.5));
    yt[3] = (float)(yt[3] + (yt[0] * 0.5 + yt[1] * 0.5 - 0.5));
  }
  float *out = output->data;
  memset(out, 0, tfl_tensor_count(output) * sizeof(float));
  if (input->dims[0] < 1 || output->dims[0] < 1) return TFL_OK;
  const int32_t out_c = output->dims[3];
  for (int32_t oy = 0; oy < output->dims[1]; oy++)
    for (int32_t ox = 0; ox < output->dims[2]; ox++, out += out_c) {
      const float coord[4] = {(float)ox, (float)oy, 0.0f, 1.0f};
      const float tx = mp_dot4(xt, coord), ty = mp_dot4(yt, coord);
      if (tx < 0.0 || tx > im.w - 1 || ty < 0.0 || ty > im.h - 1) continue;
      for (int32_t z = 0; z < out_c; z++) out[z] = mp_bilinear(&im, tx, ty, z);
    }
  return TFL_OK;
}

/* ---- registrations -------------------------------------------------------------------------- */

#define MP_F32 TFL_TYPE_BIT(TFL_FLOAT32)

static const tfl_op_registration conv2d_transpose_bias = {
    .name = "Convolution2DTransposeBias",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .data_size = sizeof(mp_tconv_data),
    .prepare = mp_tconv_prepare,
    .eval = mp_tconv_eval,
    .types = MP_F32,
};

static const tfl_op_registration max_pool_argmax = {
    .name = "MaxPoolingWithArgmax2D",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .data_size = sizeof(mp_pool),
    .prepare = mp_argmax_prepare,
    .eval = mp_argmax_eval,
    .types = MP_F32,
};

static const tfl_op_registration max_unpooling = {
    .name = "MaxUnpooling2D",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .data_size = sizeof(mp_pool),
    .prepare = mp_unpool_prepare,
    .eval = mp_unpool_eval,
    .types = MP_F32,
};

static const tfl_op_registration litert_max_unpooling = {
    .name = "LiteRtMaxUnpooling2D",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .data_size = sizeof(mp_pool),
    .prepare = mp_litert_unpool_prepare,
    .eval = mp_litert_unpool_eval,
    .types = MP_F32,
};

static const tfl_op_registration landmarks_to_matrix = {
    .name = "Landmarks2TransformMatrix",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .version_min = 1,
    .version_max = 2,
    .data_size = sizeof(mp_l2t_data),
    .prepare = mp_l2t_prepare,
    .eval = mp_l2t_eval,
    .types = MP_F32,
};

static const tfl_op_registration transform_landmarks = {
    .name = "TransformLandmarks",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .version_min = 1,
    .version_max = 2,
    .data_size = sizeof(mp_tl_data),
    .prepare = mp_tl_prepare,
    .eval = mp_tl_eval,
    .types = MP_F32,
};

static const tfl_op_registration transform_tensor = {
    .name = "TransformTensor",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .version_min = 1,
    .version_max = 1,
    .data_size = sizeof(mp_tt_data),
    .prepare = mp_tt_prepare,
    .eval = mp_tt_eval,
    .types = MP_F32,
};

static const tfl_op_registration transform_tensor_bilinear = {
    .name = "TransformTensorBilinear",
    .builtin_code = TFL_BUILTIN_CUSTOM,
    .version_min = 2,
    .version_max = 2,
    .data_size = sizeof(mp_tt_data),
    .prepare = mp_tt_prepare,
    .eval = mp_tt_eval,
    .types = MP_F32,
};

const tfl_op_registration *const tfl_kernels_mediapipe[] = {
    &conv2d_transpose_bias, &max_pool_argmax,           &max_unpooling,
    &litert_max_unpooling,  &landmarks_to_matrix,       &transform_landmarks,
    &transform_tensor,      &transform_tensor_bilinear, NULL};
