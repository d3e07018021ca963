#include "kernels/window.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"

static tfl_status plan_axis(tfl_context *ctx, const tfl_node *node, const char *axis,
                            int padding, tfl_window_axis *a) {
  if (a->stride < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "%s stride is %d, must be at least 1",
                            axis, (int)a->stride);
  if (a->dilation < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%s dilation is %d, must be at least 1", axis, (int)a->dilation);
  if (a->filter < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "filter %s is %d, must be at least 1", axis, (int)a->filter);
  int64_t eff = (int64_t)(a->filter - 1) * a->dilation + 1;
  int64_t out;
  if (padding == TFL_PADDING_SAME)
    out = ((int64_t)a->in + a->stride - 1) / a->stride;
  else
    out = a->in >= eff ? ((int64_t)a->in - eff + a->stride) / a->stride : 0;
  /* The input span the windows cover; bounding it keeps every coordinate eval computes, and
   * the padding, inside int32. */
  int64_t span = (out > 0 ? (out - 1) * a->stride : 0) + eff;
  if (span > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "window along %s spans %lld elements, more than supported", axis,
                            (long long)span);
  int64_t total_pad = span - a->in;
  a->out = (int32_t)out;
  a->pad = total_pad > 0 ? (int32_t)(total_pad / 2) : 0;
  return TFL_OK;
}

static int32_t opt_or_one(const tfl_node *node, int field) {
  return field < 0 ? 1 : tfl_opt_int(node, field, 1);
}

tfl_status tfl_window_plan(tfl_context *ctx, const tfl_node *node, const tfl_window_fields *f,
                           const tfl_tensor *input, int32_t kh, int32_t kw, tfl_window *win) {
  int padding = tfl_opt_int(node, f->padding, TFL_PADDING_SAME);
  if (padding != TFL_PADDING_SAME && padding != TFL_PADDING_VALID)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "unknown padding %d", padding);
  /* Absent strides read as 0, the schema default, which plan_axis rejects. */
  win->h = (tfl_window_axis){.in = input->dims[1],
                             .filter = kh,
                             .stride = tfl_opt_int(node, f->stride_h, 0),
                             .dilation = opt_or_one(node, f->dilation_h)};
  win->w = (tfl_window_axis){.in = input->dims[2],
                             .filter = kw,
                             .stride = tfl_opt_int(node, f->stride_w, 0),
                             .dilation = opt_or_one(node, f->dilation_w)};
  tfl_status st = plan_axis(ctx, node, "height", padding, &win->h);
  if (st != TFL_OK) return st;
  return plan_axis(ctx, node, "width", padding, &win->w);
}

int32_t tfl_window_taps(const tfl_window_axis *a, int32_t o, int32_t *first, int32_t *end) {
  int64_t origin = (int64_t)o * a->stride - a->pad;
  int64_t d = a->dilation;
  int64_t lo = origin >= 0 ? 0 : (-origin + d - 1) / d;
  int64_t hi = origin >= a->in ? 0 : ((int64_t)a->in - origin + d - 1) / d;
  if (hi > a->filter) hi = a->filter;
  if (lo > hi) lo = hi;
  *first = (int32_t)lo;
  *end = (int32_t)hi;
  return (int32_t)origin;
}

static tfl_status act_range(tfl_context *ctx, const tfl_node *node, int act, float *lo,
                            float *hi) {
  tfl_status st = tfl_check_activation(ctx, node, act);
  if (st != TFL_OK) return st;
  if (tfl_activation_range_f32(act, lo, hi) != TFL_OK) {
    *lo = -FLT_MAX;
    *hi = FLT_MAX;
  }
  if (*lo < -FLT_MAX) *lo = -FLT_MAX;
  if (*hi > FLT_MAX) *hi = FLT_MAX;
  return TFL_OK;
}

tfl_status tfl_window_float_epilogue(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *bias, int act_field, float *lo,
                                     float *hi) {
  if (bias) {
    tfl_status st = tfl_check_type(ctx, node, bias, "bias", TFL_FLOAT32);
    if (st != TFL_OK) return st;
  }
  int act = tfl_opt_int(node, act_field, TFL_ACT_NONE);
  return act_range(ctx, node, act, lo, hi);
}

tfl_status tfl_window_pick_path(tfl_context *ctx, const tfl_node *node, const tfl_tensor *input,
                                const tfl_tensor *filter, const tfl_tensor *output,
                                tfl_window_path *path) {
  if (output->type != input->type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "output '%s' has type %s but input '%s' has type %s", output->name,
                            tfl_type_name(output->type), input->name, tfl_type_name(input->type));
  switch (input->type) {
    case TFL_FLOAT32:
      if (filter->type == TFL_FLOAT32) {
        *path = TFL_PATH_FLOAT;
        return TFL_OK;
      }
      if (filter->type == TFL_INT8 || filter->type == TFL_UINT8 || filter->type == TFL_INT4) {
        *path = TFL_PATH_HYBRID;
        return TFL_OK;
      }
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                              "filter '%s' has type %s, not supported with a float32 input",
                              filter->name, tfl_type_name(filter->type));
    case TFL_INT8:
    case TFL_UINT8:
    case TFL_INT16:
      *path = TFL_PATH_QUANTIZED;
      return TFL_OK;
    default:
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "input '%s' has unsupported type %s",
                              input->name, tfl_type_name(input->type));
  }
}

tfl_status tfl_window_path_unsupported(tfl_context *ctx, const tfl_node *node,
                                       tfl_window_path path) {
  const char *what = path == TFL_PATH_HYBRID ? "hybrid (float input, quantized filter)"
                     : path == TFL_PATH_QUANTIZED ? "quantized"
                                                  : "float";
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s evaluation is not supported yet",
                          what);
}

tfl_status tfl_window_check_options(tfl_context *ctx, const tfl_node *node, int options_type) {
  int type = tfl_opt_type(node);
  if (type == TFL_OPTS_NONE || type == options_type) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "builtin options have union type %d, expected %d", type, options_type);
}

/* ---- integer arithmetic of the weighted ops ------------------------------------------- */

/* Values of the schema's TensorType that quantized_bias_type may hold. */
enum { BIAS_TYPE_UNSET = 0 };

static int channel_axis(tfl_window_op op) { return op == TFL_WINDOW_DEPTHWISE ? 3 : 0; }

/* Field of quantized_bias_type in the op's options table; DepthwiseConv2DOptions has none. */
static int bias_type_field(tfl_window_op op) {
  return op == TFL_WINDOW_CONV ? 6 : op == TFL_WINDOW_FULLY_CONNECTED ? 4 : -1;
}

static int finite_scale(float s) { return s >= 0.0f && s <= FLT_MAX; }

static tfl_status check_zero_point_range(tfl_context *ctx, const tfl_node *node,
                                         const tfl_tensor *t, const char *what, int32_t zp) {
  int32_t lo, hi;
  tfl_quantized_type_range(t->type, &lo, &hi);
  if (zp >= lo && zp <= hi) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "%s '%s' has zero point %d, outside the range of %s", what, t->name,
                          (int)zp, tfl_type_name(t->type));
}

/* An activation tensor (input or output) of a quantized op: one positive scale and a zero
 * point in its type's range, 0 for int16. */
static tfl_status check_activation_quant(tfl_context *ctx, const tfl_node *node,
                                         const tfl_tensor *t, const char *what) {
  if (t->quant.count < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%s '%s' has type %s but no quantization parameters", what, t->name,
                            tfl_type_name(t->type));
  const float scale = t->quant.scale[0];
  if (!(scale > 0.0f) || !finite_scale(scale))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%s '%s' has scale %g, must be positive and finite", what, t->name,
                            (double)scale);
  const int32_t zp = t->quant.zero_point[0];
  if (t->type == TFL_INT16 && zp != 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "int16 %s '%s' has zero point %d, must be 0", what, t->name, (int)zp);
  return check_zero_point_range(ctx, node, t, what, zp);
}

/* One scale, or one per output channel along the op's channel axis; finite non-negative
 * scales; zero points 0 unless `zp_allowed` (then in the type's range). */
static tfl_status check_filter_quant(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                     const tfl_tensor *filter, int32_t channels, int zp_allowed,
                                     tfl_window_quant *q) {
  const tfl_quantization *fq = &filter->quant;
  if (fq->count < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "filter '%s' has type %s but no quantization parameters",
                            filter->name, tfl_type_name(filter->type));
  const int axis = channel_axis(op);
  if (fq->count > 1 && (fq->count != channels || fq->axis != axis))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "filter '%s' has %d scales along dimension %d; expected 1, or %d "
                            "(one per output channel) along dimension %d",
                            filter->name, fq->count, fq->axis, (int)channels, axis);
  q->per_channel = fq->count > 1;
  q->uniform_scale = 1;
  for (int i = 0; i < fq->count; i++) {
    if (!finite_scale(fq->scale[i]))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "filter '%s' has scale %g, must be non-negative and finite",
                              filter->name, (double)fq->scale[i]);
    if (fq->scale[i] != fq->scale[0]) q->uniform_scale = 0;
    if (!zp_allowed && fq->zero_point[i] != 0)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "filter '%s' has zero point %d, must be 0 (symmetric weights)",
                              filter->name, (int)fq->zero_point[i]);
  }
  return zp_allowed ? check_zero_point_range(ctx, node, filter, "filter", fq->zero_point[0])
                    : TFL_OK;
}

/* The bias types TFLite accepts: int32 with 8-bit inputs; with int16 inputs int64 and, except
 * for DEPTHWISE_CONV_2D, int32. */
static const char *allowed_bias_types(tfl_window_op op, tfl_type in_type) {
  if (in_type != TFL_INT16) return "int32";
  return op == TFL_WINDOW_DEPTHWISE ? "int64" : "int32 or int64";
}

static int bias_type_allowed(tfl_window_op op, tfl_type in_type, tfl_type bias_type) {
  if (bias_type == TFL_INT64) return in_type == TFL_INT16;
  return bias_type == TFL_INT32 && (in_type != TFL_INT16 || op != TFL_WINDOW_DEPTHWISE);
}

/* The bias: an allowed type, zero points 0, one scale or one per channel; and the op's
 * quantized_bias_type option (*option, 0 when unset), which must be int32 or int64 and match
 * the bias when set. */
static tfl_status check_bias_quant(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                   const tfl_tensor *input, const tfl_tensor *bias,
                                   int32_t channels, int *option) {
  const int field = bias_type_field(op);
  *option = field >= 0 ? tfl_opt_int(node, field, BIAS_TYPE_UNSET) : BIAS_TYPE_UNSET;
  const int is16 = input->type == TFL_INT16;
  if (is16 && *option != BIAS_TYPE_UNSET && *option != TFL_INT32 && *option != TFL_INT64)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "quantized_bias_type is %d, must be int32 or int64", *option);
  if (!bias) return TFL_OK;
  if (!bias_type_allowed(op, input->type, bias->type))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "bias '%s' has type %s, expected %s with %s input '%s'", bias->name,
                            tfl_type_name(bias->type), allowed_bias_types(op, input->type),
                            tfl_type_name(input->type), input->name);
  if (is16 && *option != BIAS_TYPE_UNSET && (int)bias->type != *option)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "bias '%s' has type %s but quantized_bias_type says %s", bias->name,
                            tfl_type_name(bias->type), tfl_type_name((tfl_type)*option));
  if (bias->quant.count > 1 && bias->quant.count != channels)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "bias '%s' has %d scales, expected 1 or %d", bias->name,
                            bias->quant.count, (int)channels);
  for (int i = 0; i < bias->quant.count; i++)
    if (bias->quant.zero_point[i] != 0)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "bias '%s' has zero point %d, must be 0", bias->name,
                              (int)bias->quant.zero_point[i]);
  return TFL_OK;
}

static tfl_status reserve_channels(tfl_context *ctx, const tfl_node *node, int32_t channels,
                                   tfl_window_quant *q) {
  const size_t n = channels > 0 ? (size_t)channels : 1;
  const size_t per = sizeof(double) + 2 * sizeof(int32_t) + sizeof(float);
  if (n > SIZE_MAX / per)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "%d output channels are too many",
                            (int)channels);
  if (n * per > q->block_bytes) {
    void *p = realloc(q->block, n * per);
    if (!p) return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory");
    q->block = p;
    q->block_bytes = n * per;
  }
  q->channels = channels;
  q->real = q->block;
  q->multiplier = (int32_t *)(q->real + n);
  q->shift = q->multiplier + n;
  q->filter_scale = (float *)(q->shift + n);
  return TFL_OK;
}

void tfl_window_quant_free(tfl_window_quant *q) {
  free(q->block);
  q->block = NULL;
  q->block_bytes = 0;
}

/* The bias scale of channel c within 2% of an output step of input_scale * filter_scale, the
 * tolerance of TFLite's GetQuantizedConvolutionMultipler (a bias without a scale counts as
 * scale 0 there). */
static tfl_status check_bias_scale(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *bias, int32_t c, double product,
                                   float out_scale) {
  const int count = bias->quant.count;
  const double bias_scale = count ? (double)bias->quant.scale[count > 1 ? c : 0] : 0.0;
  if (fabs(product - bias_scale) / (double)out_scale <= 0.02) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "bias '%s' has scale %g for channel %d, expected input scale x "
                          "filter scale = %g",
                          bias->name, bias_scale, (int)c, product);
}

/* Largest shift each form accepts: the 64-bit form needs 15 - shift >= 1, the 32-bit forms
 * shift x left by it. */
static int max_shift(tfl_window_requant mode) { return mode == TFL_REQUANT_WIDE ? 14 : 31; }

/* Multipliers input_scale * filter_scale[c] / output_scale, and the bias scale checks. For
 * uint8 inputs and per-tensor FULLY_CONNECTED filters TFLite takes its older route: the scales
 * multiplied in float, and a bias scale that must match (even an absent one). Elsewhere it
 * checks nothing; tfl checks biases that have scales, with the same tolerance. */
static tfl_status fill_multipliers(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                   const tfl_tensor *input, const tfl_tensor *filter,
                                   const tfl_tensor *bias, const tfl_tensor *output,
                                   tfl_window_quant *q) {
  const float in_scale = input->quant.scale[0], out_scale = output->quant.scale[0];
  const int legacy =
      input->type == TFL_UINT8 || (op == TFL_WINDOW_FULLY_CONNECTED && !q->per_channel);
  const int check_bias = bias && (legacy || bias->quant.count > 0);
  for (int32_t c = 0; c < q->channels; c++) {
    const float fs = filter->quant.scale[q->per_channel ? c : 0];
    const double product = (double)in_scale * (double)fs;
    q->real[c] = product / (double)out_scale;
    if (check_bias) {
      tfl_status st = check_bias_scale(ctx, node, bias, c, product, out_scale);
      if (st != TFL_OK) return st;
    }
    const double real = legacy ? (double)(in_scale * fs) / (double)out_scale : q->real[c];
    tfl_quantize_multiplier(real, &q->multiplier[c], &q->shift[c]);
    if (q->mode != TFL_REQUANT_REAL && q->shift[c] > max_shift(q->mode))
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                              "output multiplier %g of channel %d is too large", real, (int)c);
  }
  return TFL_OK;
}

/* TFLite's kernel choice (see tfl_window_requant). int16 inputs: DEPTHWISE_CONV_2D always
 * accumulates in int64; CONV_2D in int64 with an int64 bias (without a bias: unless
 * quantized_bias_type says int32); the 16x8 FULLY_CONNECTED leaves its GEMM path for the
 * reference kernel (REAL) with an int64 bias, quantized_bias_type int64 or a filter zero
 * point, and that kernel accumulates in int32 only when quantized_bias_type says so. */
static void pick_requant(tfl_window_op op, int gemm, tfl_type in_type, const tfl_tensor *bias,
                         int option, int32_t filter_zp, tfl_window_quant *q) {
  const int bias64 = bias && bias->type == TFL_INT64;
  q->acc64 = 0;
  if (in_type == TFL_UINT8) {
    q->mode = TFL_REQUANT_DOUBLE;
    return;
  }
  if (in_type == TFL_INT8) {
    q->mode = gemm ? TFL_REQUANT_RUY : TFL_REQUANT_DOUBLE;
    return;
  }
  switch (op) {
    case TFL_WINDOW_DEPTHWISE:
      q->acc64 = 1;
      q->mode = TFL_REQUANT_WIDE;
      return;
    case TFL_WINDOW_CONV:
      q->acc64 = bias ? bias64 : option != TFL_INT32;
      q->mode = q->acc64 ? TFL_REQUANT_WIDE : gemm ? TFL_REQUANT_RUY : TFL_REQUANT_DOUBLE;
      return;
    case TFL_WINDOW_FULLY_CONNECTED:
      if (bias64 || option == TFL_INT64 || filter_zp != 0) {
        q->acc64 = option != TFL_INT32;
        q->mode = TFL_REQUANT_REAL;
      } else {
        q->mode = TFL_REQUANT_RUY;
      }
      return;
  }
}

tfl_status tfl_window_quant_prepare(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                    int gemm, const tfl_tensor *input, const tfl_tensor *filter,
                                    const tfl_tensor *bias, const tfl_tensor *output, int act,
                                    int32_t channels, tfl_window_quant *q) {
  const tfl_type want = input->type == TFL_UINT8 ? TFL_UINT8 : TFL_INT8;
  if (filter->type != want)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "filter '%s' has type %s, not supported with %s input '%s' "
                            "(expected %s)",
                            filter->name, tfl_type_name(filter->type),
                            tfl_type_name(input->type), input->name, tfl_type_name(want));
  tfl_status st = check_activation_quant(ctx, node, input, "input");
  if (st == TFL_OK) st = check_activation_quant(ctx, node, output, "output");
  if (st != TFL_OK) return st;
  const int zp_allowed =
      input->type == TFL_UINT8 || (op == TFL_WINDOW_FULLY_CONNECTED && filter->quant.count == 1);
  st = check_filter_quant(ctx, node, op, filter, channels, zp_allowed, q);
  if (st != TFL_OK) return st;
  if (q->per_channel && input->type == TFL_UINT8)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "per-channel filter '%s' needs an int8 or int16 input, not uint8",
                            filter->name);
  int option = BIAS_TYPE_UNSET;
  st = check_bias_quant(ctx, node, op, input, bias, channels, &option);
  if (st != TFL_OK) return st;
  const int32_t filter_zp = filter->quant.zero_point[0];
  pick_requant(op, gemm, input->type, bias, option, filter_zp, q);

  st = reserve_channels(ctx, node, channels, q);
  if (st == TFL_OK) st = fill_multipliers(ctx, node, op, input, filter, bias, output, q);
  if (st == TFL_OK) st = tfl_check_activation(ctx, node, act);
  if (st != TFL_OK) return st;
  q->input_offset = -input->quant.zero_point[0];
  q->filter_offset = -filter_zp;
  q->output_offset = output->quant.zero_point[0];
  if (act == TFL_ACT_TANH || act == TFL_ACT_SIGN_BIT) act = TFL_ACT_NONE;
  return tfl_quantized_activation_range(act, output->type, output->quant.scale[0],
                                        q->output_offset, &q->act_min, &q->act_max);
}

tfl_status tfl_window_hybrid_prepare(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                     const tfl_tensor *filter, int32_t channels,
                                     tfl_window_quant *q) {
  if (filter->type != TFL_INT8)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "filter '%s' has type %s; hybrid evaluation supports int8 filters",
                            filter->name, tfl_type_name(filter->type));
  tfl_status st = check_filter_quant(ctx, node, op, filter, channels, 0, q);
  if (st == TFL_OK) st = reserve_channels(ctx, node, channels, q);
  if (st != TFL_OK) return st;
  q->acc64 = 0;
  q->input_offset = q->filter_offset = 0;
  for (int32_t c = 0; c < channels; c++)
    q->filter_scale[c] = filter->quant.scale[q->per_channel ? c : 0];
  return TFL_OK;
}

/* Widens n values of type T at s into d with `offset` added, summing them into `sum`. */
#define WIDEN_RUN(T, s, d, n, offset, sum)          \
  do {                                              \
    const T *src_ = (const T *)(s);                 \
    for (size_t i_ = 0; i_ < (n); i_++) {           \
      (d)[i_] = (int32_t)src_[i_] + (offset);       \
      (sum) += (d)[i_];                             \
    }                                               \
  } while (0)

int64_t tfl_window_widen(tfl_type type, const void *src, size_t start, size_t n, int32_t offset,
                         int32_t *dst) {
  int64_t sum = 0;
  switch (type) {
    case TFL_UINT8:
      WIDEN_RUN(uint8_t, (const uint8_t *)src + start, dst, n, offset, sum);
      break;
    case TFL_INT16:
      WIDEN_RUN(int16_t, (const int16_t *)src + start, dst, n, offset, sum);
      break;
    default:
      WIDEN_RUN(int8_t, (const int8_t *)src + start, dst, n, offset, sum);
      break;
  }
  return sum;
}

int64_t tfl_window_gather(const tfl_window *win, int32_t oy, int32_t ox, tfl_type type,
                          const void *image, int32_t channels, int32_t c0, int32_t n,
                          int32_t offset, int32_t *patch) {
  int32_t ky0, ky1, kx0, kx1;
  const int32_t y0 = tfl_window_taps(&win->h, oy, &ky0, &ky1);
  const int32_t x0 = tfl_window_taps(&win->w, ox, &kx0, &kx1);
  const size_t tap = (size_t)n, row = (size_t)win->w.filter * tap;
  int64_t sum = 0;
  for (int32_t ky = 0; ky < win->h.filter; ky++) {
    int32_t *dst = patch + (size_t)ky * row;
    if (ky < ky0 || ky >= ky1) {
      memset(dst, 0, row * sizeof(int32_t));
      continue;
    }
    const size_t iy = (size_t)(y0 + ky * win->h.dilation);
    for (int32_t kx = 0; kx < win->w.filter; kx++, dst += tap) {
      if (kx < kx0 || kx >= kx1) {
        memset(dst, 0, tap * sizeof(int32_t));
        continue;
      }
      const size_t ix = (size_t)(x0 + kx * win->w.dilation);
      const size_t at = (iy * (size_t)win->w.in + ix) * (size_t)channels + (size_t)c0;
      sum += tfl_window_widen(type, image, at, tap, offset, dst);
    }
  }
  return sum;
}

int32_t tfl_window_dot32(tfl_type w_type, const void *w, const int32_t *x, size_t n) {
  uint32_t acc = 0;
  if (w_type == TFL_UINT8) {
    const uint8_t *p = w;
    for (size_t i = 0; i < n; i++) acc += (uint32_t)((int32_t)p[i] * x[i]);
  } else {
    const int8_t *p = w;
    for (size_t i = 0; i < n; i++) acc += (uint32_t)((int32_t)p[i] * x[i]);
  }
  return (int32_t)acc;
}

int64_t tfl_window_dot64(const int8_t *w, const int32_t *x, size_t n) {
  int64_t acc = 0;
  for (size_t i = 0; i < n; i++) acc += (int64_t)w[i] * x[i];
  return acc;
}

int64_t tfl_window_bias_at(const tfl_tensor *bias, int32_t c) {
  if (!bias) return 0;
  if (bias->type == TFL_INT64) return ((const int64_t *)bias->data)[c];
  return ((const int32_t *)bias->data)[c];
}

int64_t tfl_window_accumulate(const tfl_window_quant *q, const tfl_tensor *filter, size_t row,
                              size_t k, const int32_t *x, int64_t xsum, const tfl_tensor *bias,
                              int32_t c) {
  const uint8_t *w = (const uint8_t *)filter->data + row * k;
  const int64_t b = tfl_window_bias_at(bias, c);
  if (q->acc64) {
    uint64_t acc = (uint64_t)tfl_window_dot64((const int8_t *)w, x, k);
    acc += (uint64_t)(int64_t)q->filter_offset * (uint64_t)xsum + (uint64_t)b;
    return (int64_t)acc;
  }
  uint32_t acc = (uint32_t)tfl_window_dot32(filter->type, w, x, k);
  acc += (uint32_t)q->filter_offset * (uint32_t)xsum + (uint32_t)b;
  return (int32_t)acc;
}

/* The 64-bit form's documented input range; TFLite's result is undefined beyond it. */
static int64_t clamp47(int64_t x) {
  const int64_t limit = (int64_t)1 << 47;
  return x < -limit ? -limit : x >= limit ? limit - 1 : x;
}

int32_t tfl_window_requantize(const tfl_window_quant *q, int32_t c, int64_t acc) {
  int32_t v;
  switch (q->mode) {
    case TFL_REQUANT_RUY:
      v = tfl_mul_by_quantized_multiplier_ruy((int32_t)acc, q->multiplier[c], q->shift[c]);
      break;
    case TFL_REQUANT_WIDE:
      v = tfl_mul_by_quantized_multiplier64(clamp47(acc), q->multiplier[c], q->shift[c]);
      break;
    case TFL_REQUANT_REAL:
      v = tfl_trunc_i32(round((double)acc * q->real[c]));
      break;
    default:
      v = tfl_mul_by_quantized_multiplier((int32_t)acc, q->multiplier[c], q->shift[c]);
      break;
  }
  /* int32 arithmetic as in TFLite, wrapping instead of overflowing. */
  v = (int32_t)((uint32_t)v + (uint32_t)q->output_offset);
  return v < q->act_min ? q->act_min : v > q->act_max ? q->act_max : v;
}
