/* CONV_3D and CONV_3D_TRANSPOSE (float32), with TensorFlow Lite's shapes and arithmetic.
 *
 * CONV_3D: input [N, D, H, W, Cin], filter [KD, KH, KW, Cin, Cout], optional bias [Cout];
 * output [N, OD, OH, OW, Cout]. Each output value is the float sum over the filter taps that
 * land inside the input (depth, height, width, then input channel, in order) plus the bias,
 * clamped by the fused activation.
 *
 * CONV_3D_TRANSPOSE: inputs output_shape (int32 [5]), filter [KD, KH, KW, Cout, Cin], input
 * [N, D, H, W, Cin] and an optional bias [Cout]. The output shape is given; the forward
 * convolution it inverts (same padding, strides and dilations) must map it back to the
 * input's spatial size. Every input value, channel by channel, is scattered through every
 * filter tap into the output (zeros first), as TFLite's reference kernel does; then the bias
 * and the activation. A non-constant output_shape makes the output dynamic.
 *
 * Both read Conv3DOptions. Padding follows window.h's rule on each of the three axes; as in
 * TFLite's float kernels, RELU, RELU_N1_TO_1 and RELU6 clamp and NONE, TANH and SIGN_BIT
 * only clamp to the finite float range. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Conv3DOptions fields. */
enum {
  C3_OPT_PADDING = 0,
  C3_OPT_STRIDE_D = 1,
  C3_OPT_STRIDE_W = 2,
  C3_OPT_STRIDE_H = 3,
  C3_OPT_ACTIVATION = 4,
  C3_OPT_DILATION_D = 5,
  C3_OPT_DILATION_W = 6,
  C3_OPT_DILATION_H = 7
};
enum { C3_D, C3_H, C3_W, C3_AXES };

typedef struct conv3d_data {
  tfl_window_axis axis[C3_AXES]; /* of the forward convolution */
  int32_t batch, in_c, out_c;
  float lo, hi;
  int dynamic; /* CONV_3D_TRANSPOSE: the output shape is known only at eval */
} conv3d_data;

/* ---- window planning ------------------------------------------------------------------ */

static const char *const c3_axis_names[C3_AXES] = {"depth", "height", "width"};

/* Output size and leading padding of one axis (the rule of window.h). */
static tfl_status c3_plan_axis(tfl_context *ctx, const tfl_node *node, int axis, int padding,
                               tfl_window_axis *a) {
  const char *name = c3_axis_names[axis];
  if (a->stride < 1 || a->dilation < 1 || a->filter < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%s: stride %d, dilation %d and filter size %d must all be at "
                            "least 1",
                            name, (int)a->stride, (int)a->dilation, (int)a->filter);
  const int64_t eff = (int64_t)(a->filter - 1) * a->dilation + 1;
  int64_t out;
  if (padding == TFL_PADDING_SAME)
    out = ((int64_t)a->in + a->stride - 1) / a->stride;
  else
    out = a->in >= eff ? ((int64_t)a->in - eff + a->stride) / a->stride : 0;
  const int64_t span = (out > 0 ? (out - 1) * a->stride : 0) + eff;
  if (span > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "window along %s spans %lld elements, more than supported", name,
                            (long long)span);
  a->out = (int32_t)out;
  a->pad = span > a->in ? (int32_t)((span - a->in) / 2) : 0;
  return TFL_OK;
}

/* Plans the three axes of the forward convolution over spatial sizes in[] (D, H, W) with a
 * filter of taps[] (KD, KH, KW). */
static tfl_status c3_plan(tfl_context *ctx, const tfl_node *node, const int32_t *in,
                          const int32_t *taps, conv3d_data *d) {
  const int padding = tfl_opt_int(node, C3_OPT_PADDING, TFL_PADDING_SAME);
  if (padding != TFL_PADDING_SAME && padding != TFL_PADDING_VALID)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "unknown padding %d", padding);
  static const int stride_field[C3_AXES] = {C3_OPT_STRIDE_D, C3_OPT_STRIDE_H, C3_OPT_STRIDE_W};
  static const int dilation_field[C3_AXES] = {C3_OPT_DILATION_D, C3_OPT_DILATION_H,
                                              C3_OPT_DILATION_W};
  for (int i = 0; i < C3_AXES; i++) {
    /* Absent strides read as 0, the schema default, which the plan rejects. */
    d->axis[i] = (tfl_window_axis){.in = in[i],
                                   .filter = taps[i],
                                   .stride = tfl_opt_int(node, stride_field[i], 0),
                                   .dilation = tfl_opt_int(node, dilation_field[i], 1)};
    tfl_status st = c3_plan_axis(ctx, node, i, padding, &d->axis[i]);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Types, ranks, the optional bias of `bias_count` values and the activation clamp. */
static tfl_status c3_check(tfl_context *ctx, const tfl_node *node, const tfl_tensor *input,
                           const tfl_tensor *filter, const tfl_tensor *bias,
                           const tfl_tensor *output, int32_t bias_count, conv3d_data *d) {
  tfl_status st = tfl_window_check_options(ctx, node, TFL_OPTS_CONV_3D);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, input, "input", TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, filter, "filter", TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, output, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  if (input->ndim != 5 || filter->ndim != 5)
    return tfl_context_error(ctx, node, "input '%s' and filter '%s' must be 5-D (have %d and %d)",
                             input->name, filter->name, input->ndim, filter->ndim);
  if (bias && (int64_t)tfl_tensor_count(bias) != bias_count)
    return tfl_context_error(ctx, node, "bias '%s' has %zu values, expected %d", bias->name,
                             tfl_tensor_count(bias), (int)bias_count);
  return tfl_window_float_epilogue(ctx, node, bias, C3_OPT_ACTIVATION, &d->lo, &d->hi);
}

/* Bias and clamp over n pixels of out_c channels. */
static void c3_finish(const conv3d_data *d, const float *bias, float *out, size_t n) {
  for (size_t p = 0; p < n; p++, out += d->out_c)
    for (int32_t c = 0; c < d->out_c; c++)
      out[c] = tfl_window_clamp(bias ? out[c] + bias[c] : out[c], d->lo, d->hi);
}

/* ---- the window of one position ------------------------------------------------------------ */

/* The taps of window position o (batch n) of the forward convolution that land inside its
 * input grid; for CONV_3D_TRANSPOSE that grid is the output. */
typedef struct c3_window {
  int32_t first[C3_AXES], end[C3_AXES], origin[C3_AXES];
  size_t base; /* flat index of pixel (n, 0, 0, 0) of the grid */
} c3_window;

static void c3_window_at(const conv3d_data *d, int32_t n, const int32_t *o, c3_window *w) {
  for (int i = 0; i < C3_AXES; i++)
    w->origin[i] = tfl_window_taps(&d->axis[i], o[i], &w->first[i], &w->end[i]);
  w->base = (size_t)n * (size_t)d->axis[C3_D].in;
}

/* Flat pixel index in the grid of tap k, and the tap's index in the filter. */
static size_t c3_tap_pixel(const conv3d_data *d, const c3_window *w, const int32_t *k) {
  size_t p = w->base;
  for (int i = 0; i < C3_AXES; i++) {
    if (i > 0) p *= (size_t)d->axis[i].in;
    p += (size_t)(w->origin[i] + k[i] * d->axis[i].dilation);
  }
  return p;
}

static size_t c3_tap_index(const conv3d_data *d, const int32_t *k) {
  return ((size_t)k[C3_D] * (size_t)d->axis[C3_H].filter + (size_t)k[C3_H]) *
             (size_t)d->axis[C3_W].filter +
         (size_t)k[C3_W];
}

/* ---- CONV_3D ------------------------------------------------------------------------- */

typedef struct c3_task {
  const conv3d_data *d;
  const float *input, *filter, *bias;
  float *output;
} c3_task;

/* Adds the taps of one output pixel to acc (out_c values), in TFLite's order. */
static void c3_pixel(const c3_task *t, const c3_window *w, float *acc) {
  const conv3d_data *d = t->d;
  const size_t ci_n = (size_t)d->in_c, co_n = (size_t)d->out_c;
  int32_t k[C3_AXES];
  for (k[C3_D] = w->first[C3_D]; k[C3_D] < w->end[C3_D]; k[C3_D]++)
    for (k[C3_H] = w->first[C3_H]; k[C3_H] < w->end[C3_H]; k[C3_H]++)
      for (k[C3_W] = w->first[C3_W]; k[C3_W] < w->end[C3_W]; k[C3_W]++) {
        const float *x = t->input + c3_tap_pixel(d, w, k) * ci_n;
        const float *f = t->filter + c3_tap_index(d, k) * ci_n * co_n;
        for (size_t ci = 0; ci < ci_n; ci++, f += co_n) {
          const float xv = x[ci];
          for (size_t co = 0; co < co_n; co++) acc[co] += xv * f[co];
        }
      }
}

/* One task: the output rows (all of OH x OW) of one batch and output depth. */
static void c3_task_run(void *arg, int task, int thread) {
  const c3_task *t = arg;
  const conv3d_data *d = t->d;
  const int32_t od_n = d->axis[C3_D].out, oh_n = d->axis[C3_H].out, ow_n = d->axis[C3_W].out;
  const int32_t n = task / od_n;
  int32_t o[C3_AXES] = {task % od_n, 0, 0};
  float *out = t->output + (size_t)task * (size_t)oh_n * (size_t)ow_n * (size_t)d->out_c;
  for (o[C3_H] = 0; o[C3_H] < oh_n; o[C3_H]++) {
    for (o[C3_W] = 0; o[C3_W] < ow_n; o[C3_W]++, out += d->out_c) {
      c3_window w;
      c3_window_at(d, n, o, &w);
      memset(out, 0, (size_t)d->out_c * sizeof(float));
      c3_pixel(t, &w, out);
      c3_finish(d, t->bias, out, 1);
    }
  }
}

static tfl_status conv3d_eval(tfl_context *ctx, tfl_node *node) {
  const conv3d_data *d = node->user_data;
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  c3_task t = {.d = d,
               .input = tfl_node_input(ctx, node, 0)->data,
               .filter = tfl_node_input(ctx, node, 1)->data,
               .bias = bias ? bias->data : NULL,
               .output = tfl_node_output(ctx, node, 0)->data};
  const int tasks = (int)(d->batch * d->axis[C3_D].out); /* bounded in prepare */
  if (tasks > 0) tfl_context_parallel(ctx, tasks, c3_task_run, &t);
  return TFL_OK;
}

static tfl_status conv3d_prepare(tfl_context *ctx, tfl_node *node) {
  conv3d_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  tfl_status st = tfl_check_io(ctx, node, 2, 3, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  st = c3_check(ctx, node, input, filter, bias, output, filter->ndim == 5 ? filter->dims[4] : 0, d);
  if (st != TFL_OK) return st;
  for (int i = 1; i < 5; i++)
    if (input->dims[i] < 1)
      return tfl_context_error(ctx, node, "input '%s' dimension %d is %d, must be positive",
                               input->name, i, (int)input->dims[i]);
  if (filter->dims[3] != input->dims[4] || filter->dims[4] < 1)
    return tfl_context_error(ctx, node, "filter '%s' must be [KD, KH, KW, %d, out channels >= 1]",
                             filter->name, (int)input->dims[4]);
  d->batch = input->dims[0];
  d->in_c = input->dims[4];
  d->out_c = filter->dims[4];
  st = c3_plan(ctx, node, input->dims + 1, filter->dims, d);
  if (st != TFL_OK) return st;
  if ((int64_t)d->batch * d->axis[C3_D].out > INT32_MAX)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "too many output planes");
  const int32_t dims[5] = {d->batch, d->axis[C3_D].out, d->axis[C3_H].out, d->axis[C3_W].out,
                           d->out_c};
  return tfl_context_resize(ctx, output, 5, dims);
}

/* ---- CONV_3D_TRANSPOSE --------------------------------------------------------------- */

enum { C3T_SHAPE, C3T_FILTER, C3T_INPUT, C3T_BIAS };

/* Checks the requested output shape against the input and filter and plans the padding. */
static tfl_status c3t_plan_shape(tfl_context *ctx, const tfl_node *node, const int32_t *shape,
                                 const tfl_tensor *input, const tfl_tensor *filter,
                                 conv3d_data *d) {
  for (int i = 0; i < 5; i++)
    if (shape[i] < 0)
      return tfl_context_error(ctx, node, "output shape has a negative dimension (%d)",
                               (int)shape[i]);
  if (shape[0] != input->dims[0] || shape[4] != filter->dims[3])
    return tfl_context_error(ctx, node,
                             "output shape [%d,...,%d] must keep the input's batch %d and have "
                             "the filter's %d output channels",
                             (int)shape[0], (int)shape[4], (int)input->dims[0],
                             (int)filter->dims[3]);
  tfl_status st = c3_plan(ctx, node, shape + 1, filter->dims, d);
  if (st != TFL_OK) return st;
  for (int i = 0; i < C3_AXES; i++)
    if (d->axis[i].out != input->dims[1 + i])
      return tfl_context_error(ctx, node,
                               "output %s %d does not convolve back to the input's %d (it "
                               "gives %d)",
                               c3_axis_names[i], (int)shape[1 + i], (int)input->dims[1 + i],
                               (int)d->axis[i].out);
  return TFL_OK;
}

/* Adds input value x of channel ci, through every tap of its window, to the output. */
static void c3t_stamp(const conv3d_data *d, const c3_window *w, size_t ci, float x,
                      const float *filter, float *out) {
  const size_t ci_n = (size_t)d->in_c, co_n = (size_t)d->out_c;
  int32_t k[C3_AXES];
  for (k[C3_D] = w->first[C3_D]; k[C3_D] < w->end[C3_D]; k[C3_D]++)
    for (k[C3_H] = w->first[C3_H]; k[C3_H] < w->end[C3_H]; k[C3_H]++)
      for (k[C3_W] = w->first[C3_W]; k[C3_W] < w->end[C3_W]; k[C3_W]++) {
        const float *f = filter + c3_tap_index(d, k) * co_n * ci_n + ci;
        float *o = out + c3_tap_pixel(d, w, k) * co_n;
        for (size_t co = 0; co < co_n; co++) o[co] += x * f[co * ci_n];
      }
}

/* TFLite's reference order: input pixel by pixel, channel by channel, tap by tap. */
static void c3t_scatter(const conv3d_data *d, const float *input, const float *filter, float *out) {
  const size_t ci_n = (size_t)d->in_c;
  int32_t i[C3_AXES];
  for (int32_t n = 0; n < d->batch; n++)
    for (i[C3_D] = 0; i[C3_D] < d->axis[C3_D].out; i[C3_D]++)
      for (i[C3_H] = 0; i[C3_H] < d->axis[C3_H].out; i[C3_H]++)
        for (i[C3_W] = 0; i[C3_W] < d->axis[C3_W].out; i[C3_W]++, input += ci_n) {
          c3_window w;
          c3_window_at(d, n, i, &w);
          for (size_t ci = 0; ci < ci_n; ci++) c3t_stamp(d, &w, ci, input[ci], filter, out);
        }
}

static tfl_status c3t_eval(tfl_context *ctx, tfl_node *node) {
  conv3d_data *d = node->user_data;
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  const tfl_tensor *input = tfl_node_input(ctx, node, C3T_INPUT);
  const tfl_tensor *filter = tfl_node_input(ctx, node, C3T_FILTER);
  if (d->dynamic) {
    int32_t shape[5];
    memcpy(shape, tfl_node_input(ctx, node, C3T_SHAPE)->data, sizeof(shape));
    tfl_status st = c3t_plan_shape(ctx, node, shape, input, filter, d);
    if (st == TFL_OK) st = tfl_context_resize_dynamic(ctx, output, 5, shape);
    if (st != TFL_OK) return st;
  }
  const tfl_tensor *bias = tfl_node_input(ctx, node, C3T_BIAS);
  const size_t count = tfl_tensor_count(output);
  float *out = output->data;
  memset(out, 0, count * sizeof(float));
  c3t_scatter(d, input->data, filter->data, out);
  c3_finish(d, bias ? bias->data : NULL, out, d->out_c ? count / (size_t)d->out_c : 0);
  return TFL_OK;
}

static tfl_status c3t_prepare(tfl_context *ctx, tfl_node *node) {
  conv3d_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  tfl_status st = tfl_check_io(ctx, node, 3, 4, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *shape = tfl_node_input(ctx, node, C3T_SHAPE);
  const tfl_tensor *filter = tfl_node_input(ctx, node, C3T_FILTER);
  const tfl_tensor *input = tfl_node_input(ctx, node, C3T_INPUT);
  const tfl_tensor *bias = tfl_node_input(ctx, node, C3T_BIAS);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, shape, "output_shape", TFL_INT32);
  if (st == TFL_OK)
    st = c3_check(ctx, node, input, filter, bias, output, filter->ndim == 5 ? filter->dims[3] : 0,
                  d);
  if (st != TFL_OK) return st;
  if (shape->ndim != 1 || shape->dims[0] != 5)
    return tfl_context_error(ctx, node, "output_shape '%s' must hold 5 values", shape->name);
  if (filter->dims[4] != input->dims[4])
    return tfl_context_error(ctx, node, "filter '%s' has %d input channels, input '%s' %d",
                             filter->name, (int)filter->dims[4], input->name, (int)input->dims[4]);
  d->batch = input->dims[0];
  d->in_c = input->dims[4];
  d->out_c = filter->dims[3];
  if (!tfl_tensor_is_constant(shape)) {
    d->dynamic = 1;
    return tfl_context_set_dynamic(ctx, output);
  }
  int32_t dims[5];
  memcpy(dims, shape->data, sizeof(dims));
  st = c3t_plan_shape(ctx, node, dims, input, filter, d);
  if (st == TFL_OK) st = tfl_context_resize(ctx, output, 5, dims);
  return st;
}

static const tfl_op_registration conv3d_op = {
    .name = "CONV_3D",
    .builtin_code = TFL_OP_CONV_3D,
    .version_min = 1,
    .version_max = 1,
    .data_size = sizeof(conv3d_data),
    .prepare = conv3d_prepare,
    .eval = conv3d_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32),
};

static const tfl_op_registration conv3d_transpose_op = {
    .name = "CONV_3D_TRANSPOSE",
    .builtin_code = TFL_OP_CONV_3D_TRANSPOSE,
    .version_min = 1,
    .version_max = 1,
    .data_size = sizeof(conv3d_data),
    .prepare = c3t_prepare,
    .eval = c3t_eval,
    .types = TFL_TYPE_BIT(TFL_FLOAT32),
};

const tfl_op_registration *const tfl_kernels_conv3d[] = {&conv3d_op, &conv3d_transpose_op, NULL};
