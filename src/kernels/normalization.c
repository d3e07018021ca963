/* L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION, along the last dimension, as
 * TensorFlow Lite's kernels compute them.
 *
 * L2_NORMALIZATION: out = x / max(sqrt(sum x^2), 1e-6) per row of the last dimension, the sum
 * in float in order. Quantized, the output has the fixed scale 1/128 (zero point 128 for
 * uint8, 0 for int8) and the row is rescaled in integers: with d = x - input_zero_point and
 * (m, s) = TFLite's inverse square root multiplier of sum(d^2) (quant.h),
 *   uint8: out = clamp(128 + MultiplyByQuantizedMultiplier(128 * d, m, s), 0, 255)
 *   int8:  out = clamp(MultiplyByQuantizedMultiplier(d, m, s + 7), -128, 127)
 * (two different roundings, as in TFLite). The fused activation must be NONE.
 *
 * LOCAL_RESPONSE_NORMALIZATION (float, 4-D): out = x * (bias + alpha * sum(x_j^2))^-beta over
 * the channels j within `radius` of the channel (inclusive), computed as TFLite's optimized
 * kernel (the one it registers) does: a running sum of alpha * x^2 that adds the channel
 * entering the window and subtracts the one leaving it, and x * (1 / v) for beta 1,
 * x * (1 / sqrt(v)) for beta 0.5. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* The last dimension as rows of `depth` values. */
typedef struct norm_rows {
  size_t rows;
  int32_t depth;
} norm_rows;

static void norm_rows_of(const tfl_tensor *t, norm_rows *r) {
  r->depth = t->ndim > 0 ? t->dims[t->ndim - 1] : 1;
  r->rows = r->depth > 0 ? tfl_tensor_count(t) / (size_t)r->depth : 0;
}

/* ---- L2_NORMALIZATION ------------------------------------------------------------------ */

enum { L2_OPT_ACTIVATION = 0 };
static const float l2_epsilon = 1e-6f;

typedef struct l2_data {
  norm_rows r;
  int32_t input_zp;
} l2_data;

static void l2_float(const l2_data *d, const float *x, float *out) {
  for (size_t i = 0; i < d->r.rows; i++, x += d->r.depth, out += d->r.depth) {
    float sum = 0.0f;
    for (int32_t c = 0; c < d->r.depth; c++) sum += x[c] * x[c];
    float norm = sqrtf(sum);
    if (norm < l2_epsilon) norm = l2_epsilon;
    for (int32_t c = 0; c < d->r.depth; c++) out[c] = x[c] / norm;
  }
}

static int32_t l2_code(tfl_type type, const void *x, size_t i) {
  return type == TFL_UINT8 ? (int32_t)((const uint8_t *)x)[i] : (int32_t)((const int8_t *)x)[i];
}

static void l2_quantized(const l2_data *d, tfl_type type, const void *x, void *out) {
  const size_t depth = (size_t)d->r.depth;
  for (size_t i = 0; i < d->r.rows; i++) {
    const size_t base = i * depth;
    uint32_t sum = 0; /* TFLite's int32 sum, wrapping */
    for (size_t c = 0; c < depth; c++) {
      const int32_t v = l2_code(type, x, base + c) - d->input_zp;
      sum += (uint32_t)(v * v);
    }
    int32_t mult;
    int shift;
    tfl_inv_sqrt_multiplier((int32_t)sum, -1, &mult, &shift);
    for (size_t c = 0; c < depth; c++) {
      const int32_t v = l2_code(type, x, base + c) - d->input_zp;
      if (type == TFL_UINT8) {
        const int32_t q = 128 + tfl_mul_by_quantized_multiplier(128 * v, mult, shift);
        ((uint8_t *)out)[base + c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
      } else {
        const int32_t q = tfl_mul_by_quantized_multiplier(v, mult, shift + 7);
        ((int8_t *)out)[base + c] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
      }
    }
  }
}

static tfl_status l2_eval(tfl_context *ctx, tfl_node *node) {
  const l2_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  void *out = tfl_node_output(ctx, node, 0)->data;
  if (in->type == TFL_FLOAT32)
    l2_float(d, in->data, out);
  else
    l2_quantized(d, in->type, in->data, out);
  return TFL_OK;
}

/* The fixed output quantization TFLite requires: scale 1/128, zero point 128 (uint8) or 0. */
static tfl_status l2_check_output_quant(tfl_context *ctx, const tfl_node *node,
                                        const tfl_tensor *out) {
  float scale;
  int32_t zp;
  tfl_quant_params(out, &scale, &zp);
  const int32_t want_zp = out->type == TFL_UINT8 ? 128 : 0;
  if (scale == 1.0f / 128.0f && zp == want_zp) return TFL_OK;
  return tfl_context_error(ctx, node,
                           "%s output '%s' must have scale 1/128 and zero point %d (has %g and "
                           "%d)",
                           tfl_type_name(out->type), out->name, (int)want_zp, (double)scale,
                           (int)zp);
}

static tfl_status l2_prepare(tfl_context *ctx, tfl_node *node) {
  l2_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_L2_NORM);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (in->type != TFL_FLOAT32 && in->type != TFL_UINT8 && in->type != TFL_INT8)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "input '%s' has type %s; float32, uint8 and int8 are supported",
                            in->name, tfl_type_name(in->type));
  st = tfl_check_type(ctx, node, out, "output", in->type);
  if (st == TFL_OK && in->type != TFL_FLOAT32) st = l2_check_output_quant(ctx, node, out);
  if (st != TFL_OK) return st;
  if (in->ndim < 1)
    return tfl_context_error(ctx, node, "input '%s' must have at least one dimension", in->name);
  const int act = tfl_opt_int(node, L2_OPT_ACTIVATION, TFL_ACT_NONE);
  if (act != TFL_ACT_NONE)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "fused activation %d is not supported (only NONE)", act);
  norm_rows_of(in, &d->r);
  float unused;
  tfl_quant_params(in, &unused, &d->input_zp);
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

/* ---- LOCAL_RESPONSE_NORMALIZATION ----------------------------------------------------- */

enum { LRN_OPT_RADIUS = 0, LRN_OPT_BIAS = 1, LRN_OPT_ALPHA = 2, LRN_OPT_BETA = 3 };

typedef struct lrn_data {
  norm_rows r;
  int32_t radius;
  float bias, alpha, beta;
  int scratch; /* depth + 2 * radius floats: alpha * x^2 with radius zeros on each side */
} lrn_data;

static float lrn_scale(const lrn_data *d, float x, float v) {
  if (d->beta == 1.0f) return x * (1.0f / v);
  if (d->beta == 0.5f) return x * (1.0f / sqrtf(v));
  return x * powf(v, -d->beta);
}

static void lrn_row(const lrn_data *d, const float *x, float *padded, float *out) {
  const int32_t depth = d->r.depth, r = d->radius;
  for (int32_t c = 0; c < depth; c++) padded[r + c] = x[c] * x[c] * d->alpha;
  float acc = 0.0f;
  for (int32_t i = 0; i < 2 * r; i++) acc += padded[i];
  for (int32_t c = 0; c < depth; c++) {
    acc += padded[c + 2 * r];
    out[c] = d->bias + acc;
    acc -= padded[c];
  }
  for (int32_t c = 0; c < depth; c++) out[c] = lrn_scale(d, x[c], out[c]);
}

static tfl_status lrn_eval(tfl_context *ctx, tfl_node *node) {
  const lrn_data *d = node->user_data;
  const float *x = tfl_node_input(ctx, node, 0)->data;
  float *out = tfl_node_output(ctx, node, 0)->data;
  float *padded = tfl_context_scratch(ctx, node, d->scratch);
  const size_t depth = (size_t)d->r.depth, pad = (size_t)d->radius;
  memset(padded, 0, (depth + 2 * pad) * sizeof(float));
  for (size_t i = 0; i < d->r.rows; i++) lrn_row(d, x + i * depth, padded, out + i * depth);
  return TFL_OK;
}

static tfl_status lrn_prepare(tfl_context *ctx, tfl_node *node) {
  lrn_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_LOCAL_RESPONSE_NORMALIZATION);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, in, "input", TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  if (in->ndim != 4)
    return tfl_context_error(ctx, node, "input '%s' must be 4-D (has %d dimensions)", in->name,
                             in->ndim);
  d->radius = tfl_opt_int(node, LRN_OPT_RADIUS, 0);
  d->bias = tfl_opt_float(node, LRN_OPT_BIAS, 0.0f);
  d->alpha = tfl_opt_float(node, LRN_OPT_ALPHA, 0.0f);
  d->beta = tfl_opt_float(node, LRN_OPT_BETA, 0.0f);
  norm_rows_of(in, &d->r);
  if (d->radius < 0 || d->radius > (INT32_MAX - d->r.depth) / 2)
    return tfl_context_error(ctx, node, "radius %d is out of range", (int)d->radius);
  st = tfl_context_resize(ctx, out, 4, in->dims);
  if (st != TFL_OK) return st;
  const size_t padded = (size_t)d->r.depth + 2 * (size_t)d->radius;
  return tfl_context_request_scratch(ctx, node, padded * sizeof(float), &d->scratch);
}

static const tfl_op_registration l2_op = {
    .name = "L2_NORMALIZATION",
    .builtin_code = TFL_OP_L2_NORMALIZATION,
    .version_min = 1,
    .version_max = 2,
    .data_size = sizeof(l2_data),
    .prepare = l2_prepare,
    .eval = l2_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_UINT8) | TFL_TYPE_BIT(TFL_INT8),
};

static const tfl_op_registration lrn_op = {
    .name = "LOCAL_RESPONSE_NORMALIZATION",
    .builtin_code = TFL_OP_LOCAL_RESPONSE_NORMALIZATION,
    .version_min = 1,
    .version_max = 1,
    .data_size = sizeof(lrn_data),
    .prepare = lrn_prepare,
    .eval = lrn_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32),
};

const tfl_op_registration *const tfl_kernels_normalization[] = {&l2_op, &lrn_op, NULL};
