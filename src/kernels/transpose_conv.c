/* TRANSPOSE_CONV, and the transposed-convolution core it shares with MediaPipe's
 * Convolution2DTransposeBias (transpose_conv.h).
 *
 * Inputs: output_shape (int32 [4]), weights [out_c, kh, kw, in_c], input [batch, h, w, in_c],
 * optional bias [out_c]. TransposeConvOptions: padding, stride_w, stride_h, fused activation
 * (version 4), quantized_bias_type (version 5). The output's shape is the output_shape
 * tensor's value: known in prepare when it is constant, else the output is dynamic and
 * resized in eval.
 *
 * Float: see tfl_tconv_eval_float; the activation clamps as TFLite's float kernels do
 * (NONE, TANH and SIGN_BIT clamp to the finite float range).
 *
 * Quantized (TFLite's transpose_conv.cc): uint8 per-tensor, int8 per-channel (symmetric
 * weights), int16 activations with int8 weights. Each output accumulates
 * (x - input_zero_point) * (w - weights_zero_point) over its contributions, adds the bias and is
 * requantized with MultiplyByQuantizedMultiplier (two roundings) and the output zero point,
 * then clamped to the activation range. int16 accumulates in int64 and requantizes with the
 * 64-bit form unless quantized_bias_type says int32 (TFLite's two 16x8 kernels); an int32 bias
 * with no quantized_bias_type is read as int32 (TFLite would read it as int64). Multipliers
 * and checks come from tfl_window_quant_prepare, as for CONV_2D.
 *
 * Not supported: float input with int8 weights (TFLite's hybrid kernel). */
#include "kernels/transpose_conv.h"

#include <stddef.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* TransposeConvOptions fields. */
enum {
  TCONV_OPT_PADDING = 0,
  TCONV_OPT_STRIDE_W = 1,
  TCONV_OPT_STRIDE_H = 2,
  TCONV_OPT_ACTIVATION = 3,
  TCONV_OPT_BIAS_TYPE = 4
};

enum { TCONV_SHAPE = 0, TCONV_WEIGHTS = 1, TCONV_INPUT = 2, TCONV_BIAS = 3 };

/* Output rows per thread when threads share the work: a few tasks each, to balance. */
#define TCONV_TASKS_PER_THREAD 4

/* ---- the shared core ----------------------------------------------------------------------- */

tfl_status tfl_tconv_plan_axis(tfl_context *ctx, const tfl_node *node, const char *axis, int same,
                               tfl_tconv_axis *a) {
  const int64_t out = a->out, k = a->kernel, s = a->stride;
  const int64_t back = same ? (out + s - 1) / s : (out + s - k) / s;
  if (back != a->in)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "output %s %d does not match input %s %d (kernel %d, stride %d, %s "
                            "padding gives input %lld)",
                            axis, (int)a->out, axis, (int)a->in, (int)a->kernel, (int)a->stride,
                            same ? "SAME" : "VALID", (long long)back);
  const int64_t total = (back - 1) * s + k - out;
  a->pad = total > 0 ? (int32_t)(total / 2) : 0;
  return TFL_OK;
}

int64_t tfl_tconv_out_size(int same, int32_t in, int32_t kernel, int32_t stride) {
  int64_t total = 0;
  if (same) {
    total = (int64_t)kernel - ((int64_t)in - 1) % stride - 1;
    if (total < 0) total = 0;
  }
  const int64_t out = (int64_t)stride * ((int64_t)in - 1) + kernel - total;
  return out > INT32_MAX ? -1 : out;
}

/* The input positions [*first, *last] that reach output position o along an axis. */
static void tconv_sources(const tfl_tconv_axis *a, int32_t o, int32_t *first, int32_t *last) {
  const int64_t top = (int64_t)o + a->pad; /* input i reaches o through tap top - i * stride */
  const int64_t low = top - (a->kernel - 1);
  int64_t lo = low <= 0 ? 0 : (low + a->stride - 1) / a->stride;
  int64_t hi = top / a->stride;
  if (hi > a->in - 1) hi = a->in - 1;
  *first = (int32_t)lo;
  *last = (int32_t)hi;
}

typedef void (*tconv_rows_fn)(const void *arg, int32_t row0, int32_t row1, int thread);

typedef struct tconv_job {
  tconv_rows_fn fn;
  const void *arg;
  int32_t rows, chunk;
} tconv_job;

static void tconv_task(void *arg, int task, int thread) {
  const tconv_job *job = arg;
  const int32_t row0 = task * job->chunk;
  const int32_t row1 = row0 + job->chunk < job->rows ? row0 + job->chunk : job->rows;
  job->fn(job->arg, row0, row1, thread);
}

/* fn over output rows [0, rows) (batch-major), split over the context's threads. */
static void tconv_for_rows(tfl_context *ctx, int32_t rows, tconv_rows_fn fn, const void *arg) {
  const int threads = tfl_context_threads(ctx);
  if (rows <= 0) return;
  if (threads <= 1) {
    fn(arg, 0, rows, 0);
    return;
  }
  int32_t tasks = threads * TCONV_TASKS_PER_THREAD;
  if (tasks > rows) tasks = rows;
  const int32_t chunk = (rows + tasks - 1) / tasks;
  tconv_job job = {fn, arg, rows, chunk};
  tfl_context_parallel(ctx, (int)((rows + chunk - 1) / chunk), tconv_task, &job);
}

typedef struct tconv_float_args {
  const tfl_tconv *g;
  const float *in, *weights, *bias;
  float lo, hi;
  float *out;
} tconv_float_args;

/* One output pixel's channels. */
static void tconv_pixel_float(const tconv_float_args *a, const float *image, int32_t oy, int32_t ox,
                              float *out) {
  const tfl_tconv *g = a->g;
  int32_t iy0, iy1, ix0, ix1;
  tconv_sources(&g->h, oy, &iy0, &iy1);
  tconv_sources(&g->w, ox, &ix0, &ix1);
  const size_t in_c = (size_t)g->in_c;
  for (int32_t oc = 0; oc < g->out_c; oc++) {
    const float *w_oc = a->weights + (size_t)oc * (size_t)g->h.kernel * (size_t)g->w.kernel * in_c;
    float acc = 0.0f;
    for (int32_t iy = iy0; iy <= iy1; iy++) {
      const int32_t ky = oy + g->h.pad - iy * g->h.stride;
      for (int32_t ix = ix0; ix <= ix1; ix++) {
        const int32_t kx = ox + g->w.pad - ix * g->w.stride;
        const float *x = image + ((size_t)iy * (size_t)g->w.in + (size_t)ix) * in_c;
        const float *w = w_oc + ((size_t)ky * (size_t)g->w.kernel + (size_t)kx) * in_c;
        float dot = 0.0f;
        for (size_t c = 0; c < in_c; c++) dot += x[c] * w[c];
        acc += dot;
      }
    }
    out[oc] = tfl_window_clamp(acc + (a->bias ? a->bias[oc] : 0.0f), a->lo, a->hi);
  }
}

static void tconv_rows_float(const void *arg, int32_t row0, int32_t row1, int thread) {
  (void)thread;
  const tconv_float_args *a = arg;
  const tfl_tconv *g = a->g;
  const size_t in_image = (size_t)g->h.in * (size_t)g->w.in * (size_t)g->in_c;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / g->h.out, oy = row % g->h.out;
    float *out = a->out + (size_t)row * (size_t)g->w.out * (size_t)g->out_c;
    for (int32_t ox = 0; ox < g->w.out; ox++, out += g->out_c)
      tconv_pixel_float(a, a->in + (size_t)n * in_image, oy, ox, out);
  }
}

void tfl_tconv_eval_float(tfl_context *ctx, const tfl_tconv *g, const float *in,
                          const float *weights, const float *bias, float lo, float hi, float *out) {
  tconv_float_args a = {g, in, weights, bias, lo, hi, out};
  tconv_for_rows(ctx, g->batches * g->h.out, tconv_rows_float, &a);
}

/* ---- TRANSPOSE_CONV ------------------------------------------------------------------------ */

typedef struct tconv_data {
  tfl_tconv g;
  int same;
  int dynamic; /* the output shape is known only in eval */
  int quantized;
  float lo, hi; /* float activation range */
  tfl_window_quant q;
  int scratch;       /* quantized: per thread, in_c int32 inputs then out_c 64-bit sums */
  size_t per_thread; /* bytes */
} tconv_data;

static tfl_status tconv_check_tensors(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *shape, const tfl_tensor *weights,
                                      const tfl_tensor *input, const tfl_tensor *bias) {
  if (shape->type != TFL_INT32 || shape->ndim != 1 || shape->dims[0] != 4)
    return tfl_context_error(ctx, node,
                             "output_shape '%s' must be an int32 vector of 4, is %s "
                             "with %d dimensions",
                             shape->name, tfl_type_name(shape->type), shape->ndim);
  if (input->ndim != 4 || weights->ndim != 4)
    return tfl_context_error(ctx, node,
                             "input '%s' and weights '%s' must be 4-D, have %d and %d "
                             "dimensions",
                             input->name, weights->name, input->ndim, weights->ndim);
  for (int i = 1; i < 4; i++)
    if (input->dims[i] < 1 || weights->dims[i - 1] < 1)
      return tfl_context_error(ctx, node, "input '%s' and weights '%s' must not be empty",
                               input->name, weights->name);
  if (input->dims[3] != weights->dims[3])
    return tfl_context_error(ctx, node, "input '%s' has %d channels, weights '%s' expect %d",
                             input->name, (int)input->dims[3], weights->name,
                             (int)weights->dims[3]);
  if (bias && tfl_tensor_count(bias) != (size_t)weights->dims[0])
    return tfl_context_error(ctx, node, "bias '%s' has %zu elements, expected %d", bias->name,
                             tfl_tensor_count(bias), (int)weights->dims[0]);
  return TFL_OK;
}

static tfl_status tconv_read_options(tfl_context *ctx, const tfl_node *node, tconv_data *d) {
  tfl_status st = tfl_window_check_options(ctx, node, TFL_OPTS_TRANSPOSE_CONV);
  if (st != TFL_OK) return st;
  const int padding = tfl_opt_int(node, TCONV_OPT_PADDING, TFL_PADDING_SAME);
  if (padding != TFL_PADDING_SAME && padding != TFL_PADDING_VALID)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "unknown padding %d", padding);
  d->same = padding == TFL_PADDING_SAME;
  d->g.h.stride = tfl_opt_int(node, TCONV_OPT_STRIDE_H, 0);
  d->g.w.stride = tfl_opt_int(node, TCONV_OPT_STRIDE_W, 0);
  if (d->g.h.stride < 1 || d->g.w.stride < 1 || d->g.h.stride > INT16_MAX ||
      d->g.w.stride > INT16_MAX)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "strides %d x %d must be in [1, %d]",
                            (int)d->g.h.stride, (int)d->g.w.stride, INT16_MAX);
  return TFL_OK;
}

/* Output shape `dims` (the output_shape tensor's value): checks it against the input and
 * weights and plans the padding. */
static tfl_status tconv_geometry(tfl_context *ctx, const tfl_node *node, const int32_t *dims,
                                 tconv_data *d) {
  tfl_tconv *g = &d->g;
  if (dims[0] != g->batches || dims[3] != g->out_c || dims[1] < 1 || dims[2] < 1)
    return tfl_context_error(ctx, node,
                             "output_shape [%d, %d, %d, %d] must be [%d, >0, >0, %d] (batch of "
                             "the input, channels of the weights)",
                             (int)dims[0], (int)dims[1], (int)dims[2], (int)dims[3],
                             (int)g->batches, (int)g->out_c);
  g->h.out = dims[1];
  g->w.out = dims[2];
  tfl_status st = tfl_tconv_plan_axis(ctx, node, "height", d->same, &g->h);
  if (st != TFL_OK) return st;
  return tfl_tconv_plan_axis(ctx, node, "width", d->same, &g->w);
}

/* TFLite's 16x8 kernel choice: int32 accumulation only when quantized_bias_type says so. */
static tfl_status tconv_int16_accumulator(tfl_context *ctx, const tfl_node *node,
                                          const tfl_tensor *bias, tconv_data *d) {
  const int option = tfl_opt_int(node, TCONV_OPT_BIAS_TYPE, 0);
  if (option != 0 && option != TFL_INT32 && option != TFL_INT64)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "quantized_bias_type is %d, must be int32 or int64", option);
  if (option != 0 && bias && (int)bias->type != option)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "bias '%s' has type %s but quantized_bias_type says %s", bias->name,
                            tfl_type_name(bias->type), tfl_type_name((tfl_type)option));
  d->q.acc64 = option == TFL_INT32 ? 0 : bias ? bias->type == TFL_INT64 : 1;
  d->q.mode = d->q.acc64 ? TFL_REQUANT_WIDE : TFL_REQUANT_DOUBLE;
  return TFL_OK;
}

/* A thread's widened input pixel, rounded up so that its 64-bit sums that follow are aligned. */
static size_t tconv_inputs_bytes(const tconv_data *d) {
  return ((size_t)d->g.in_c * sizeof(int32_t) + 7) & ~(size_t)7;
}

static tfl_status tconv_prepare_quantized(tfl_context *ctx, tfl_node *node, const tfl_tensor *input,
                                          const tfl_tensor *weights, const tfl_tensor *bias,
                                          const tfl_tensor *output, tconv_data *d) {
  const int act = tfl_opt_int(node, TCONV_OPT_ACTIVATION, TFL_ACT_NONE);
  /* CONV_2D's rules (weights' channel axis 0, TFLite's two-rounding requantization). */
  tfl_status st = tfl_window_quant_prepare(ctx, node, TFL_WINDOW_CONV, 0, input, weights, bias,
                                           output, act, d->g.out_c, &d->q);
  if (st == TFL_OK && input->type == TFL_INT16) st = tconv_int16_accumulator(ctx, node, bias, d);
  if (st != TFL_OK) return st;
  d->per_thread = tconv_inputs_bytes(d) + (size_t)d->g.out_c * sizeof(uint64_t);
  const size_t threads = (size_t)tfl_context_threads(ctx);
  if (d->per_thread > SIZE_MAX / threads)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "channels too large");
  return tfl_context_request_scratch(ctx, node, d->per_thread * threads, &d->scratch);
}

static tfl_status tconv_prepare(tfl_context *ctx, tfl_node *node) {
  tconv_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 3, 4, 1);
  if (st == TFL_OK) st = tconv_read_options(ctx, node, d);
  if (st != TFL_OK) return st;
  const tfl_tensor *shape = tfl_node_input(ctx, node, TCONV_SHAPE);
  const tfl_tensor *weights = tfl_node_input(ctx, node, TCONV_WEIGHTS);
  const tfl_tensor *input = tfl_node_input(ctx, node, TCONV_INPUT);
  const tfl_tensor *bias = tfl_node_input(ctx, node, TCONV_BIAS);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  tfl_window_path path;
  st = tconv_check_tensors(ctx, node, shape, weights, input, bias);
  if (st == TFL_OK) st = tfl_window_pick_path(ctx, node, input, weights, output, &path);
  if (st != TFL_OK) return st;
  d->g.batches = input->dims[0];
  d->g.h.in = input->dims[1];
  d->g.w.in = input->dims[2];
  d->g.in_c = input->dims[3];
  d->g.out_c = weights->dims[0];
  d->g.h.kernel = weights->dims[1];
  d->g.w.kernel = weights->dims[2];
  d->quantized = path == TFL_PATH_QUANTIZED;
  if (path == TFL_PATH_HYBRID) return tfl_window_path_unsupported(ctx, node, path);
  st = d->quantized
           ? tconv_prepare_quantized(ctx, node, input, weights, bias, output, d)
           : tfl_window_float_epilogue(ctx, node, bias, TCONV_OPT_ACTIVATION, &d->lo, &d->hi);
  if (st != TFL_OK) return st;
  d->dynamic = !tfl_tensor_is_constant(shape);
  if (d->dynamic) return tfl_context_set_dynamic(ctx, output);
  st = tconv_geometry(ctx, node, shape->data, d);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, output, 4, shape->data);
}

typedef struct tconv_quant_args {
  const tconv_data *d;
  const tfl_tensor *input, *weights, *bias;
  tfl_tensor *output;
  uint8_t *scratch;
} tconv_quant_args;

/* One output pixel: the sums of every channel in acc (wrapping; only their low 32 bits count
 * for 32-bit accumulation), then requantized. */
static void tconv_pixel_quantized(const tconv_quant_args *a, size_t image, int32_t oy, int32_t ox,
                                  int32_t *x, uint64_t *acc, size_t out) {
  const tconv_data *d = a->d;
  const tfl_tconv *g = &d->g;
  const size_t in_c = (size_t)g->in_c, elem = tfl_type_size(a->weights->type);
  int32_t iy0, iy1, ix0, ix1;
  tconv_sources(&g->h, oy, &iy0, &iy1);
  tconv_sources(&g->w, ox, &ix0, &ix1);
  memset(acc, 0, (size_t)g->out_c * sizeof(*acc));
  for (int32_t iy = iy0; iy <= iy1; iy++) {
    const int32_t ky = oy + g->h.pad - iy * g->h.stride;
    for (int32_t ix = ix0; ix <= ix1; ix++) {
      const int32_t kx = ox + g->w.pad - ix * g->w.stride;
      const size_t at = image + ((size_t)iy * (size_t)g->w.in + (size_t)ix) * in_c;
      const int64_t xsum =
          tfl_window_widen(a->input->type, a->input->data, at, in_c, d->q.input_offset, x);
      const uint64_t zero_term = (uint64_t)(int64_t)d->q.filter_offset * (uint64_t)xsum;
      for (int32_t oc = 0; oc < g->out_c; oc++) {
        const size_t row =
            (((size_t)oc * (size_t)g->h.kernel + (size_t)ky) * (size_t)g->w.kernel + (size_t)kx) *
            in_c;
        const void *w = (const uint8_t *)a->weights->data + row * elem;
        const int64_t dot = d->q.acc64 ? tfl_window_dot64(w, x, in_c)
                                       : tfl_window_dot32(a->weights->type, w, x, in_c);
        acc[oc] += (uint64_t)dot + zero_term;
      }
    }
  }
  for (int32_t oc = 0; oc < g->out_c; oc++) {
    const uint64_t sum = acc[oc] + (uint64_t)tfl_window_bias_at(a->bias, oc);
    const int64_t total = d->q.acc64 ? (int64_t)sum : (int64_t)(int32_t)(uint32_t)sum;
    tfl_window_store(a->output->type, a->output->data, out + (size_t)oc,
                     tfl_window_requantize(&d->q, oc, total));
  }
}

static void tconv_rows_quantized(const void *arg, int32_t row0, int32_t row1, int thread) {
  const tconv_quant_args *a = arg;
  const tfl_tconv *g = &a->d->g;
  uint8_t *mine = a->scratch + (size_t)thread * a->d->per_thread;
  int32_t *x = (int32_t *)mine;
  uint64_t *acc = (uint64_t *)(mine + tconv_inputs_bytes(a->d));
  const size_t in_image = (size_t)g->h.in * (size_t)g->w.in * (size_t)g->in_c;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / g->h.out, oy = row % g->h.out;
    size_t out = (size_t)row * (size_t)g->w.out * (size_t)g->out_c;
    for (int32_t ox = 0; ox < g->w.out; ox++, out += (size_t)g->out_c)
      tconv_pixel_quantized(a, (size_t)n * in_image, oy, ox, x, acc, out);
  }
}

static tfl_status tconv_eval(tfl_context *ctx, tfl_node *node) {
  tconv_data *d = node->user_data;
  const tfl_tensor *weights = tfl_node_input(ctx, node, TCONV_WEIGHTS);
  const tfl_tensor *input = tfl_node_input(ctx, node, TCONV_INPUT);
  const tfl_tensor *bias = tfl_node_input(ctx, node, TCONV_BIAS);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  if (d->dynamic) {
    const int32_t *dims = tfl_node_input(ctx, node, TCONV_SHAPE)->data;
    tfl_status st = tconv_geometry(ctx, node, dims, d);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, output, 4, dims);
    if (st != TFL_OK) return st;
  }
  if (!d->quantized) {
    tfl_tconv_eval_float(ctx, &d->g, input->data, weights->data, bias ? bias->data : NULL, d->lo,
                         d->hi, output->data);
    return TFL_OK;
  }
  tconv_quant_args a = {d,    input,  weights,
                        bias, output, tfl_context_scratch(ctx, node, d->scratch)};
  tconv_for_rows(ctx, d->g.batches * d->g.h.out, tconv_rows_quantized, &a);
  return TFL_OK;
}

static void tconv_free(tfl_context *ctx, void *node_data, void *op_user_data) {
  tconv_data *d = node_data;
  if (d) tfl_window_quant_free(&d->q);
}

static const tfl_op_registration transpose_conv = {
    .name = "TRANSPOSE_CONV",
    .builtin_code = TFL_OP_TRANSPOSE_CONV,
    .data_size = sizeof(tconv_data),
    .free = tconv_free,
    .prepare = tconv_prepare,
    .eval = tconv_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_UINT8) | TFL_TYPE_BIT(TFL_INT8) |
             TFL_TYPE_BIT(TFL_INT16),
};

const tfl_op_registration *const tfl_kernels_transpose_conv[] = {&transpose_conv, NULL};
