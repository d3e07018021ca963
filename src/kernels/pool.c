/* AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D, reference kernels.
 *
 * input and output NHWC with the same channels; each output is a function of the input
 * values its window covers, padding excluded: the average (divided by the number of
 * in-bounds values, as TFLite does), the maximum, or sqrt(mean of squares). TFLite's padding
 * rule guarantees every window covers at least one input value (see window.h).
 *
 * The float path keeps one accumulator per channel of an output pixel (the output itself)
 * and walks the window taps in TFLite's reference order, so results match it bit for bit.
 *
 * The quantized paths (uint8, int8, int16; AVERAGE and MAX only, as in TFLite) work on the
 * codes directly, without rescaling (TFLite expects equal input and output quantization):
 * the average is the int32 sum divided by the tap count, rounded half away from zero, and
 * both clamp to the fused activation's quantized range. The int8/uint8 AVERAGE and MAX take
 * the vector kernels of qpool.h where the CPU has them. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels/families.h"
#include "kernels/pool_fast.h"
#include "kernels/qpool.h"
#include "kernels/quant.h"
#include "kernels/type_sets.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Pool2DOptions fields. */
enum {
  POOL_OPT_PADDING = 0,
  POOL_OPT_STRIDE_W = 1,
  POOL_OPT_STRIDE_H = 2,
  POOL_OPT_FILTER_W = 3,
  POOL_OPT_FILTER_H = 4,
  POOL_OPT_ACTIVATION = 5
};

static const tfl_window_fields pool_fields = {POOL_OPT_PADDING, POOL_OPT_STRIDE_W,
                                              POOL_OPT_STRIDE_H, -1, -1};

/* How one pool kind reduces a window, per channel of an output pixel. */
typedef struct pool_reducer {
  float start;                                                  /* accumulator before taps */
  void (*add)(float *acc, const float *in, int32_t channels);   /* one tap */
  float (*finish)(float acc, int32_t count);                    /* before the activation */
} pool_reducer;

typedef struct pool_data {
  const pool_reducer *reducer;
  tfl_window win;
  int32_t batches, channels;
  float act_lo, act_hi;
  int quantized;
  int32_t act_min, act_max; /* quantized path */
  int work;                 /* quantized path: scratch int32 accumulators and one tap */
  int use_fast;             /* float MAX and AVERAGE: the kernel of pool_fast.h runs instead */
  tfl_pool_fast fast;
  int use_qfast;            /* 8-bit MAX and AVERAGE: the kernel of qpool.h runs instead */
  tfl_qpool qfast;
} pool_data;

static void add_sum(float *acc, const float *in, int32_t channels) {
  for (int32_t c = 0; c < channels; c++) acc[c] += in[c];
}

static void add_max(float *acc, const float *in, int32_t channels) {
  /* std::max(acc, v) in TFLite: a NaN input never replaces the running maximum. */
  for (int32_t c = 0; c < channels; c++)
    if (acc[c] < in[c]) acc[c] = in[c];
}

static void add_squares(float *acc, const float *in, int32_t channels) {
  for (int32_t c = 0; c < channels; c++) acc[c] += in[c] * in[c];
}

static float finish_mean(float acc, int32_t count) { return acc / (float)count; }
static float finish_max(float acc, int32_t count) { return acc; }
static float finish_l2(float acc, int32_t count) { return sqrtf(acc / (float)count); }

static const pool_reducer average_reducer = {0.0f, add_sum, finish_mean};
static const pool_reducer max_reducer = {-FLT_MAX, add_max, finish_max};
static const pool_reducer l2_reducer = {0.0f, add_squares, finish_l2};

static const pool_reducer *reducer_for(int32_t builtin_code) {
  switch (builtin_code) {
    case TFL_OP_AVERAGE_POOL_2D:
      return &average_reducer;
    case TFL_OP_MAX_POOL_2D:
      return &max_reducer;
    default:
      return &l2_reducer;
  }
}

static int pool_is_quantized_type(tfl_type t) {
  return t == TFL_INT8 || t == TFL_UINT8 || t == TFL_INT16;
}

static tfl_status pool_check_types(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *input, const tfl_tensor *output) {
  if (output->type != input->type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "output '%s' has type %s but input '%s' has type %s", output->name,
                            tfl_type_name(output->type), input->name, tfl_type_name(input->type));
  if (pool_is_quantized_type(input->type) && node->builtin_code == TFL_OP_L2_POOL_2D)
    return tfl_window_path_unsupported(ctx, node, TFL_PATH_QUANTIZED);
  if (pool_is_quantized_type(input->type)) return TFL_OK;
  return tfl_check_type(ctx, node, input, "input", TFL_FLOAT32);
}

/* The clamp of the fused activation on the output's codes; TANH and SIGN_BIT clamp nothing,
 * as in TFLite's quantized pools. */
static tfl_status pool_prepare_quantized(tfl_context *ctx, tfl_node *node,
                                         const tfl_tensor *output, pool_data *d) {
  int act = tfl_opt_int(node, POOL_OPT_ACTIVATION, TFL_ACT_NONE);
  tfl_status st = tfl_check_activation(ctx, node, act);
  if (st != TFL_OK) return st;
  if (act == TFL_ACT_TANH || act == TFL_ACT_SIGN_BIT) act = TFL_ACT_NONE;
  const float scale = output->quant.count ? output->quant.scale[0] : 0.0f;
  if (act != TFL_ACT_NONE && !(scale > 0.0f && scale <= FLT_MAX))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "output '%s' needs a positive scale for its fused activation",
                            output->name);
  tfl_quantized_activation_range(act, output->type, scale, tfl_q_zero_point(output),
                                 &d->act_min, &d->act_max);
  return tfl_context_request_scratch(ctx, node, 2 * (size_t)d->channels * sizeof(int32_t),
                                     &d->work);
}

static tfl_status pool_prepare(tfl_context *ctx, tfl_node *node) {
  pool_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_POOL_2D);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  st = pool_check_types(ctx, node, input, output);
  if (st != TFL_OK) return st;
  if (input->ndim != 4)
    return tfl_context_error(ctx, node, "input '%s' must be 4-D (NHWC), has %d dimensions",
                             input->name, input->ndim);
  d->reducer = reducer_for(node->builtin_code);
  d->batches = input->dims[0];
  d->channels = input->dims[3];
  d->quantized = pool_is_quantized_type(input->type);
  st = d->quantized ? pool_prepare_quantized(ctx, node, output, d)
                    : tfl_window_float_epilogue(ctx, node, NULL, POOL_OPT_ACTIVATION,
                                                &d->act_lo, &d->act_hi);
  if (st != TFL_OK) return st;
  st = tfl_window_plan(ctx, node, &pool_fields, input, tfl_opt_int(node, POOL_OPT_FILTER_H, 0),
                       tfl_opt_int(node, POOL_OPT_FILTER_W, 0), &d->win);
  if (st != TFL_OK) return st;
  const tfl_pool_kind kind =
      node->builtin_code == TFL_OP_MAX_POOL_2D ? TFL_POOL_MAX : TFL_POOL_AVERAGE;
  d->use_fast = !d->quantized && node->builtin_code != TFL_OP_L2_POOL_2D &&
                tfl_pool_fast_setup(&d->fast, tfl_context_cpu(ctx), kind, &d->win, d->batches,
                                    d->channels, d->act_lo, d->act_hi);
  d->use_qfast = d->quantized && tfl_qpool_setup(&d->qfast, tfl_context_cpu(ctx),
                                                 kind == TFL_POOL_MAX, input->type, &d->win,
                                                 d->batches, d->channels, d->act_min, d->act_max);
  int32_t dims[4] = {d->batches, d->win.h.out, d->win.w.out, d->channels};
  return tfl_context_resize(ctx, output, 4, dims);
}

/* All channels of the output pixel (oy, ox) of image `in`. */
static void pool_pixel_float(const pool_data *d, int32_t oy, int32_t ox, const float *in,
                             float *out) {
  const pool_reducer *r = d->reducer;
  int32_t ky0, ky1, kx0, kx1;
  const int32_t y0 = tfl_window_taps(&d->win.h, oy, &ky0, &ky1);
  const int32_t x0 = tfl_window_taps(&d->win.w, ox, &kx0, &kx1);
  for (int32_t c = 0; c < d->channels; c++) out[c] = r->start;
  for (int32_t ky = ky0; ky < ky1; ky++) {
    const float *row = in + (size_t)(y0 + ky) * (size_t)d->win.w.in * (size_t)d->channels;
    for (int32_t kx = kx0; kx < kx1; kx++)
      r->add(out, row + (size_t)(x0 + kx) * (size_t)d->channels, d->channels);
  }
  const int32_t count = (ky1 - ky0) * (kx1 - kx0);
  for (int32_t c = 0; c < d->channels; c++)
    out[c] = tfl_window_clamp(r->finish(out[c], count), d->act_lo, d->act_hi);
}

/* All channels of the output pixel (oy, ox) of image `in` (codes of `type`), written from
 * output element `out`. acc and tap are channels-long int32 buffers. */
static void pool_pixel_quantized(const pool_data *d, int32_t oy, int32_t ox, tfl_type type,
                                 const void *in, void *output, size_t out, int32_t *acc,
                                 int32_t *tap) {
  const int is_max = d->reducer == &max_reducer;
  int32_t lowest, highest, ky0, ky1, kx0, kx1;
  tfl_quantized_type_range(type, &lowest, &highest);
  const int32_t y0 = tfl_window_taps(&d->win.h, oy, &ky0, &ky1);
  const int32_t x0 = tfl_window_taps(&d->win.w, ox, &kx0, &kx1);
  for (int32_t c = 0; c < d->channels; c++) acc[c] = is_max ? lowest : 0;
  for (int32_t ky = ky0; ky < ky1; ky++) {
    for (int32_t kx = kx0; kx < kx1; kx++) {
      const size_t at =
          ((size_t)(y0 + ky) * (size_t)d->win.w.in + (size_t)(x0 + kx)) * (size_t)d->channels;
      tfl_window_widen(type, in, at, (size_t)d->channels, 0, tap);
      for (int32_t c = 0; c < d->channels; c++) {
        if (is_max)
          acc[c] = tap[c] > acc[c] ? tap[c] : acc[c];
        else
          acc[c] = (int32_t)((uint32_t)acc[c] + (uint32_t)tap[c]);
      }
    }
  }
  const int32_t count = (ky1 - ky0) * (kx1 - kx0);
  for (int32_t c = 0; c < d->channels; c++) {
    int32_t v = is_max ? acc[c] : tfl_qpool_rounded_mean(type, acc[c], count);
    v = v < d->act_min ? d->act_min : v > d->act_max ? d->act_max : v;
    tfl_window_store(type, output, out + (size_t)c, v);
  }
}

static void pool_eval_quantized(tfl_context *ctx, const tfl_node *node, const pool_data *d,
                                const tfl_tensor *input, tfl_tensor *output) {
  int32_t *acc = tfl_context_scratch(ctx, node, d->work);
  int32_t *tap = acc + d->channels;
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->channels;
  const size_t elem = tfl_type_size(input->type);
  size_t out = 0;
  for (int32_t n = 0; n < d->batches; n++) {
    const void *image = (const char *)input->data + (size_t)n * in_image * elem;
    for (int32_t oy = 0; oy < d->win.h.out; oy++)
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += (size_t)d->channels)
        pool_pixel_quantized(d, oy, ox, input->type, image, output->data, out, acc, tap);
  }
}

static tfl_status pool_eval(tfl_context *ctx, tfl_node *node) {
  const pool_data *d = node->user_data;
  if (d->use_qfast) {
    tfl_qpool_eval(ctx, &d->qfast, tfl_node_input(ctx, node, 0)->data,
                   tfl_node_output(ctx, node, 0)->data);
    return TFL_OK;
  }
  if (d->quantized) {
    pool_eval_quantized(ctx, node, d, tfl_node_input(ctx, node, 0),
                        tfl_node_output(ctx, node, 0));
    return TFL_OK;
  }
  const float *in = tfl_node_input(ctx, node, 0)->data;
  float *out = tfl_node_output(ctx, node, 0)->data;
  if (d->use_fast) {
    tfl_pool_fast_eval(ctx, &d->fast, in, out);
    return TFL_OK;
  }
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->channels;
  for (int32_t n = 0; n < d->batches; n++, in += in_image)
    for (int32_t oy = 0; oy < d->win.h.out; oy++)
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += d->channels)
        pool_pixel_float(d, oy, ox, in, out);
  return TFL_OK;
}

#define POOL_REGISTRATION(var, op, type_set)                                               \
  static const tfl_op_registration var = {                                                 \
      .name = #op,                                                                         \
      .builtin_code = TFL_OP_##op,                                                         \
      .data_size = sizeof(pool_data),                                                      \
      .prepare = pool_prepare,                                                             \
      .eval = pool_eval,                                                                   \
      .types = type_set,                                                                   \
  }

POOL_REGISTRATION(average_pool_2d, AVERAGE_POOL_2D, TFL_TYPES_F32 | TFL_TYPES_QUANT);
POOL_REGISTRATION(max_pool_2d, MAX_POOL_2D, TFL_TYPES_F32 | TFL_TYPES_QUANT);
POOL_REGISTRATION(l2_pool_2d, L2_POOL_2D, TFL_TYPES_F32);

const tfl_op_registration *const tfl_kernels_pool[] = {&average_pool_2d, &max_pool_2d,
                                                       &l2_pool_2d, NULL};
