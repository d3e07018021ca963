/* DEPTHWISE_CONV_2D, reference kernels.
 *
 * input [batch, in_h, in_w, in_c] (NHWC), filter [1, kh, kw, out_c], optional bias [out_c],
 * output [batch, out_h, out_w, out_c] with out_c = in_c * multiplier: output channel
 * ic * multiplier + m convolves input channel ic alone with filter channel
 * ic * multiplier + m. Like TFLite since version 2, the multiplier comes from the shapes; the
 * depth_multiplier option is redundant and ignored.
 *
 * The float path accumulates each output in float over the taps in TFLite's reference order
 * and adds the bias last. Hybrid and quantized paths will sit beside it. */
#include <stddef.h>

#include "kernels/families.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* DepthwiseConv2DOptions fields (3 is the ignored depth_multiplier). */
enum {
  DW_OPT_PADDING = 0,
  DW_OPT_STRIDE_W = 1,
  DW_OPT_STRIDE_H = 2,
  DW_OPT_ACTIVATION = 4,
  DW_OPT_DILATION_W = 5,
  DW_OPT_DILATION_H = 6
};

static const tfl_window_fields dw_fields = {DW_OPT_PADDING, DW_OPT_STRIDE_W, DW_OPT_STRIDE_H,
                                            DW_OPT_DILATION_W, DW_OPT_DILATION_H};

typedef struct dw_data {
  tfl_window_path path;
  tfl_window win;
  int32_t batches, in_c, out_c, multiplier;
  float act_lo, act_hi;
} dw_data;

static tfl_status dw_check_shapes(tfl_context *ctx, const tfl_node *node,
                                  const tfl_tensor *input, const tfl_tensor *filter,
                                  const tfl_tensor *bias, dw_data *d) {
  if (input->ndim != 4)
    return tfl_context_error(ctx, node, "input '%s' must be 4-D (NHWC), has %d dimensions",
                             input->name, input->ndim);
  if (filter->ndim != 4 || filter->dims[0] != 1)
    return tfl_context_error(ctx, node, "filter '%s' must have shape [1, kh, kw, out_c]",
                             filter->name);
  int32_t in_c = input->dims[3], out_c = filter->dims[3];
  if (in_c < 1 || out_c % in_c != 0)
    return tfl_context_error(ctx, node,
                             "filter '%s' has %d channels, not a multiple of the %d channels "
                             "of input '%s'",
                             filter->name, (int)out_c, (int)in_c, input->name);
  if (bias && (bias->ndim != 1 || bias->dims[0] != out_c))
    return tfl_context_error(ctx, node, "bias '%s' must have shape [%d]", bias->name,
                             (int)out_c);
  d->batches = input->dims[0];
  d->in_c = in_c;
  d->out_c = out_c;
  d->multiplier = out_c / in_c;
  return TFL_OK;
}

static tfl_status dw_prepare(tfl_context *ctx, tfl_node *node) {
  dw_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 3, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_DEPTHWISE_CONV_2D);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);

  st = tfl_window_pick_path(ctx, node, input, filter, output, &d->path);
  if (st != TFL_OK) return st;
  st = dw_check_shapes(ctx, node, input, filter, bias, d);
  if (st != TFL_OK) return st;
  if (d->path != TFL_PATH_FLOAT) return tfl_window_path_unsupported(ctx, node, d->path);
  st = tfl_window_float_epilogue(ctx, node, bias, DW_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
  if (st != TFL_OK) return st;

  st = tfl_window_plan(ctx, node, &dw_fields, input, filter->dims[1], filter->dims[2], &d->win);
  if (st != TFL_OK) return st;
  int32_t dims[4] = {d->batches, d->win.h.out, d->win.w.out, d->out_c};
  return tfl_context_resize(ctx, output, 4, dims);
}

/* Adds one tap's contribution to all output channels of a pixel: input pixel `in`
 * (in_c values) times filter tap `f` (out_c values). */
static void dw_tap_float(const dw_data *d, const float *in, const float *f, float *acc) {
  const int32_t m_count = d->multiplier;
  if (m_count == 1) { /* the common case, kept as one contiguous loop */
    for (int32_t c = 0; c < d->in_c; c++) acc[c] += in[c] * f[c];
    return;
  }
  for (int32_t ic = 0; ic < d->in_c; ic++, f += m_count, acc += m_count) {
    const float v = in[ic];
    for (int32_t m = 0; m < m_count; m++) acc[m] += v * f[m];
  }
}

/* All output channels of the pixel (oy, ox) of image `in`, accumulated in place in `out`. */
static void dw_pixel_float(const dw_data *d, int32_t oy, int32_t ox, const float *in,
                           const float *filter, const float *bias, float *out) {
  int32_t ky0, ky1, kx0, kx1;
  const int32_t y0 = tfl_window_taps(&d->win.h, oy, &ky0, &ky1);
  const int32_t x0 = tfl_window_taps(&d->win.w, ox, &kx0, &kx1);
  for (int32_t c = 0; c < d->out_c; c++) out[c] = 0.0f;
  for (int32_t ky = ky0; ky < ky1; ky++) {
    const int32_t iy = y0 + ky * d->win.h.dilation;
    for (int32_t kx = kx0; kx < kx1; kx++) {
      const int32_t ix = x0 + kx * d->win.w.dilation;
      const float *iv = in + ((size_t)iy * (size_t)d->win.w.in + (size_t)ix) * (size_t)d->in_c;
      const float *fv = filter + ((size_t)ky * (size_t)d->win.w.filter + (size_t)kx) *
                                     (size_t)d->out_c;
      dw_tap_float(d, iv, fv, out);
    }
  }
  for (int32_t c = 0; c < d->out_c; c++)
    out[c] = tfl_window_clamp(out[c] + (bias ? bias[c] : 0.0f), d->act_lo, d->act_hi);
}

static void dw_eval_float(const dw_data *d, const float *in, const float *filter,
                          const float *bias, float *out) {
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  for (int32_t n = 0; n < d->batches; n++, in += in_image)
    for (int32_t oy = 0; oy < d->win.h.out; oy++)
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += d->out_c)
        dw_pixel_float(d, oy, ox, in, filter, bias, out);
}

static tfl_status dw_eval(tfl_context *ctx, tfl_node *node) {
  const dw_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  switch (d->path) {
    case TFL_PATH_FLOAT:
      dw_eval_float(d, input->data, filter->data, bias ? bias->data : NULL, output->data);
      return TFL_OK;
    default:
      return tfl_window_path_unsupported(ctx, node, d->path);
  }
}

static const tfl_op_registration depthwise_conv_2d = {
    .name = "DEPTHWISE_CONV_2D",
    .builtin_code = TFL_OP_DEPTHWISE_CONV_2D,
    .data_size = sizeof(dw_data),
    .prepare = dw_prepare,
    .eval = dw_eval,
};

const tfl_op_registration *const tfl_kernels_depthwise[] = {&depthwise_conv_2d, NULL};
