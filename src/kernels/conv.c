/* CONV_2D, reference kernels.
 *
 * input [batch, in_h, in_w, in_c] (NHWC), filter [out_c, kh, kw, filter_c], optional bias
 * [out_c], output [batch, out_h, out_w, out_c]. When in_c is a multiple of filter_c the
 * convolution is grouped (TFLite's newer versions): groups = in_c / filter_c, and output
 * channel oc reads input channels [g * filter_c, (g + 1) * filter_c) with
 * g = oc / (out_c / groups). Taps in the padding contribute nothing.
 *
 * The float path sums in float in TFLite's reference order (taps row by row, then channels)
 * and adds the bias last, so results match TFLite's reference kernel bit for bit.
 *
 * The quantized path (uint8 per-tensor, int8 per-channel, int16 activations with int8
 * weights) gathers each output pixel's window once, offset by the input zero point, and dots
 * it with every filter row of the group; tfl_window_quant_prepare has the arithmetic rules.
 *
 * The hybrid path (float input, int8 filter) follows TFLite's two kernels: with one filter
 * scale (or all equal) each batch image is quantized symmetrically and
 * out = float(acc) * (input_scale * filter_scale) + bias; with per-channel scales (or groups)
 * asymmetrically and out = float(acc) * (filter_scale[c] * input_scale) + bias, acc summing
 * w * (q - zero_point) over the in-bounds taps. */
#include <stddef.h>

#include "kernels/conv_first.h"
#include "kernels/conv_gemm.h"
#include "kernels/families.h"
#include "kernels/fused.h"
#include "kernels/hybrid.h"
#include "kernels/qgemm.h"
#include "kernels/type_sets.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Conv2DOptions fields. */
enum {
  CONV_OPT_PADDING = 0,
  CONV_OPT_STRIDE_W = 1,
  CONV_OPT_STRIDE_H = 2,
  CONV_OPT_ACTIVATION = 3,
  CONV_OPT_DILATION_W = 4,
  CONV_OPT_DILATION_H = 5
};

static const tfl_window_fields conv_fields = {CONV_OPT_PADDING, CONV_OPT_STRIDE_W,
                                              CONV_OPT_STRIDE_H, CONV_OPT_DILATION_W,
                                              CONV_OPT_DILATION_H};

typedef struct conv_data {
  tfl_window_path path;
  tfl_window win;
  int32_t batches, in_c, filter_c, out_c;
  int32_t groups;
  float act_lo, act_hi;
  tfl_window_quant q;        /* quantized and hybrid paths */
  int asymmetric;            /* hybrid: per-channel kernel, asymmetric input quantization */
  int patch;                 /* scratch: one gathered window, int32 */
  tfl_hybrid_scratch hybrid; /* scratch: the quantized input */
  tfl_qconv qfast;           /* quantized: the fast path of qgemm.h, when active */
  int use_gemm;              /* float: the packed GEMM of conv_gemm.h runs instead */
  tfl_conv_gemm gemm;
  int gemm_scratch;          /* scratch: its gathered rows, or -1 */
  tfl_conv_first first;      /* float, few input channels: runs instead when first.rows */
  tfl_fused_add_plan add;    /* a fused ADD (float) */
} conv_data;

static tfl_status conv_check_shapes(tfl_context *ctx, const tfl_node *node,
                                    const tfl_tensor *input, const tfl_tensor *filter,
                                    const tfl_tensor *bias, conv_data *d) {
  if (input->ndim != 4)
    return tfl_context_error(ctx, node, "input '%s' must be 4-D (NHWC), has %d dimensions",
                             input->name, input->ndim);
  if (filter->ndim != 4)
    return tfl_context_error(ctx, node,
                             "filter '%s' must be 4-D [out_c, kh, kw, in_c], has %d dimensions",
                             filter->name, filter->ndim);
  int32_t in_c = input->dims[3], filter_c = filter->dims[3], out_c = filter->dims[0];
  if (filter_c < 1 || in_c < filter_c || in_c % filter_c != 0)
    return tfl_context_error(ctx, node,
                             "input '%s' has %d channels, not a multiple of the %d input "
                             "channels of filter '%s'",
                             input->name, (int)in_c, (int)filter_c, filter->name);
  d->batches = input->dims[0];
  d->in_c = in_c;
  d->filter_c = filter_c;
  d->out_c = out_c;
  d->groups = in_c / filter_c;
  if (out_c % d->groups != 0)
    return tfl_context_error(ctx, node,
                             "filter '%s' has %d output channels, not a multiple of the %d "
                             "groups",
                             filter->name, (int)out_c, (int)d->groups);
  if (bias && tfl_tensor_count(bias) != (size_t)out_c)
    return tfl_context_error(ctx, node, "bias '%s' has %zu elements, expected %d", bias->name,
                             tfl_tensor_count(bias), (int)out_c);
  return TFL_OK;
}

/* Values in one gathered window: kh * kw * filter_c (no more than the filter holds). */
static size_t conv_patch_size(const conv_data *d) {
  return (size_t)d->win.h.filter * (size_t)d->win.w.filter * (size_t)d->filter_c;
}

static tfl_status conv_prepare_quantized(tfl_context *ctx, tfl_node *node,
                                         const tfl_tensor *input, const tfl_tensor *filter,
                                         const tfl_tensor *bias, const tfl_tensor *output,
                                         conv_data *d) {
  const int act = tfl_opt_int(node, CONV_OPT_ACTIVATION, TFL_ACT_NONE);
  tfl_status st = tfl_window_quant_prepare(ctx, node, TFL_WINDOW_CONV, d->groups == 1, input,
                                           filter, bias, output, act, d->out_c, &d->q);
  if (st == TFL_OK)
    st = tfl_qconv_setup(ctx, node, &d->qfast, &d->win, d->batches, d->in_c, d->out_c,
                         d->groups, &d->q, input, filter, bias);
  if (st != TFL_OK || d->qfast.active) return st;
  return tfl_context_request_scratch(ctx, node, conv_patch_size(d) * sizeof(int32_t),
                                     &d->patch);
}

static tfl_status conv_prepare_hybrid(tfl_context *ctx, tfl_node *node,
                                      const tfl_tensor *input, const tfl_tensor *filter,
                                      const tfl_tensor *bias, conv_data *d) {
  tfl_status st =
      tfl_window_float_epilogue(ctx, node, bias, CONV_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
  if (st == TFL_OK)
    st = tfl_window_hybrid_prepare(ctx, node, TFL_WINDOW_CONV, filter, d->out_c, &d->q);
  if (st != TFL_OK) return st;
  d->asymmetric = !d->q.uniform_scale || d->groups != 1;
  st = tfl_hybrid_request_scratch(ctx, node, tfl_tensor_count(input), (size_t)d->batches,
                                  &d->hybrid);
  if (st != TFL_OK) return st;
  return tfl_context_request_scratch(ctx, node, conv_patch_size(d) * sizeof(int32_t),
                                     &d->patch);
}

/* The float path's fast variant, when the CPU level has one and the weights are constant:
 * packs them once here. */
static tfl_status conv_prepare_gemm(tfl_context *ctx, tfl_node *node, const tfl_tensor *filter,
                                    const tfl_tensor *bias, conv_data *d) {
  tfl_conv_gemm_free(&d->gemm);
  tfl_conv_first_free(&d->first);
  d->use_gemm = 0;
  d->gemm_scratch = -1;
  const tfl_cpu_level level = tfl_context_cpu(ctx);
  if (!tfl_tensor_is_constant(filter) || (bias && !tfl_tensor_is_constant(bias))) return TFL_OK;
  if (tfl_conv_first_supports(level, d->in_c, d->groups)) {
    if (tfl_conv_first_prepare(&d->first, level, &d->win, d->batches, d->in_c, d->out_c,
                               filter->data, bias ? bias->data : NULL, d->act_lo,
                               d->act_hi) != TFL_OK)
      return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory packing filter '%s'",
                              filter->name);
    return TFL_OK;
  }
  if (!tfl_conv_gemm_supports(level, &d->win, d->in_c, d->groups)) return TFL_OK;
  if (tfl_conv_gemm_prepare(&d->gemm, level, &d->win, d->batches, d->in_c, d->out_c,
                            filter->data, bias ? bias->data : NULL) != TFL_OK)
    return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory packing filter '%s'",
                            filter->name);
  d->use_gemm = 1;
  const size_t scratch = tfl_conv_gemm_scratch_bytes(&d->gemm, tfl_context_threads(ctx));
  return scratch ? tfl_context_request_scratch(ctx, node, scratch, &d->gemm_scratch) : TFL_OK;
}

static tfl_status conv_prepare(tfl_context *ctx, tfl_node *node) {
  conv_data *d = node->user_data;
  /* A fused node (runtime/fuse.h) has more input slots, one for a fused ADD's operand. */
  const tfl_fusion *fusion = tfl_node_fusion(node);
  tfl_status st = tfl_check_io(ctx, node, 2, fusion ? TFL_FUSED_INPUTS : 3, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_CONV_2D);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);

  st = tfl_window_pick_path(ctx, node, input, filter, output, &d->path);
  if (st == TFL_OK) st = conv_check_shapes(ctx, node, input, filter, bias, d);
  if (st == TFL_OK)
    st = tfl_fused_window_plan(ctx, node, &conv_fields, input, filter->dims[1],
                               filter->dims[2], fusion, &d->win);
  if (st == TFL_OK && fusion && d->path != TFL_PATH_FLOAT)
    st = tfl_context_error(ctx, node, "only float convolutions are fused");
  if (st != TFL_OK) return st;
  switch (d->path) {
    case TFL_PATH_FLOAT:
      st = tfl_window_float_epilogue(ctx, node, bias, CONV_OPT_ACTIVATION, &d->act_lo,
                                     &d->act_hi);
      if (st == TFL_OK) st = conv_prepare_gemm(ctx, node, filter, bias, d);
      break;
    case TFL_PATH_HYBRID:
      st = conv_prepare_hybrid(ctx, node, input, filter, bias, d);
      break;
    case TFL_PATH_QUANTIZED:
      st = conv_prepare_quantized(ctx, node, input, filter, bias, output, d);
      break;
  }
  if (st != TFL_OK) return st;
  const int32_t dims[4] = {d->batches, d->win.h.out, d->win.w.out, d->out_c};
  return tfl_fused_add_prepare(ctx, node, fusion, dims, output, &d->add);
}

/* Output channels [0, out_c) of one output pixel whose window starts at input row y0 and
 * column x0 of image `in`, over the in-bounds taps [ky0, ky1) x [kx0, kx1). */
typedef struct conv_pixel {
  int32_t y0, ky0, ky1, x0, kx0, kx1;
} conv_pixel;

static void conv_pixel_float(const conv_data *d, const conv_pixel *p, const float *in,
                             const float *filter, const float *bias, float *out) {
  const int32_t per_group = d->out_c / d->groups;
  const size_t in_row = (size_t)d->win.w.in * (size_t)d->in_c;
  const size_t tap_row = (size_t)d->win.w.filter * (size_t)d->filter_c;
  const size_t filter_size = (size_t)d->win.h.filter * tap_row;
  for (int32_t oc = 0; oc < d->out_c; oc++) {
    const float *f = filter + (size_t)oc * filter_size;
    const float *in_group = in + (size_t)(oc / per_group) * (size_t)d->filter_c;
    /* Summed in double: TFLite's builtin kernels sum in an order of their own, and the closest
     * a portable loop can stay to any order is the exact sum (deep float16-weight models such
     * as pose_landmark_lite drift past the tolerance with a float accumulator). */
    double total = 0.0;
    for (int32_t ky = p->ky0; ky < p->ky1; ky++) {
      const int32_t iy = p->y0 + ky * d->win.h.dilation;
      for (int32_t kx = p->kx0; kx < p->kx1; kx++) {
        const int32_t ix = p->x0 + kx * d->win.w.dilation;
        const float *iv = in_group + (size_t)iy * in_row + (size_t)ix * (size_t)d->in_c;
        const float *fv = f + (size_t)ky * tap_row + (size_t)kx * (size_t)d->filter_c;
        for (int32_t c = 0; c < d->filter_c; c++) total += (double)iv[c] * fv[c];
      }
    }
    out[oc] = tfl_window_clamp((float)(total + (bias ? bias[oc] : 0.0f)), d->act_lo, d->act_hi);
  }
}

static void conv_eval_float(const conv_data *d, const float *in, const float *filter,
                            const float *bias, float *out) {
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  for (int32_t n = 0; n < d->batches; n++, in += in_image) {
    for (int32_t oy = 0; oy < d->win.h.out; oy++) {
      conv_pixel p;
      p.y0 = tfl_window_taps(&d->win.h, oy, &p.ky0, &p.ky1);
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += d->out_c) {
        p.x0 = tfl_window_taps(&d->win.w, ox, &p.kx0, &p.kx1);
        conv_pixel_float(d, &p, in, filter, bias, out);
      }
    }
  }
}

/* Calls fn(d, arg, n, oy, ox, g, image, out) for every output pixel and group, where `image`
 * is batch n of `in` (elements of `elem` bytes) and `out` the pixel's first output channel. */
typedef void (*conv_pixel_fn)(const conv_data *d, void *arg, int32_t n, int32_t oy, int32_t ox,
                              int32_t g, const void *image, size_t out);

static void conv_for_each_pixel(const conv_data *d, const void *in, size_t elem,
                                conv_pixel_fn fn, void *arg) {
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  size_t out = 0;
  for (int32_t n = 0; n < d->batches; n++) {
    const void *image = (const char *)in + (size_t)n * in_image * elem;
    for (int32_t oy = 0; oy < d->win.h.out; oy++)
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += (size_t)d->out_c)
        for (int32_t g = 0; g < d->groups; g++) fn(d, arg, n, oy, ox, g, image, out);
  }
}

typedef struct conv_quant_args {
  const tfl_tensor *input, *filter, *bias;
  tfl_tensor *output;
  int32_t *patch;
} conv_quant_args;

static void conv_pixel_quantized(const conv_data *d, void *arg, int32_t n, int32_t oy,
                                 int32_t ox, int32_t g, const void *image, size_t out) {
  const conv_quant_args *a = arg;
  const size_t k = conv_patch_size(d);
  const int32_t per_group = d->out_c / d->groups;
  const int64_t xsum = tfl_window_gather(&d->win, oy, ox, a->input->type, image, d->in_c,
                                         g * d->filter_c, d->filter_c, d->q.input_offset,
                                         a->patch);
  for (int32_t oc = g * per_group; oc < (g + 1) * per_group; oc++) {
    const int64_t acc =
        tfl_window_accumulate(&d->q, a->filter, (size_t)oc, k, a->patch, xsum, a->bias, oc);
    tfl_window_store(a->output->type, a->output->data, out + (size_t)oc,
                     tfl_window_requantize(&d->q, oc, acc));
  }
}

typedef struct conv_hybrid_args {
  const int8_t *filter;
  const float *bias;
  float *out;
  const tfl_hybrid_row *rows;
  int32_t *patch;
} conv_hybrid_args;

static void conv_pixel_hybrid(const conv_data *d, void *arg, int32_t n, int32_t oy, int32_t ox,
                              int32_t g, const void *image, size_t out) {
  const conv_hybrid_args *a = arg;
  const size_t k = conv_patch_size(d);
  const int32_t per_group = d->out_c / d->groups;
  const tfl_hybrid_row row = a->rows[n];
  tfl_window_gather(&d->win, oy, ox, TFL_INT8, image, d->in_c, g * d->filter_c, d->filter_c,
                    -row.zero_point, a->patch);
  for (int32_t oc = g * per_group; oc < (g + 1) * per_group; oc++) {
    const int32_t acc = tfl_window_dot32(TFL_INT8, a->filter + (size_t)oc * k, a->patch, k);
    /* The two TFLite kernels group the scale products differently. */
    float v = d->asymmetric ? (float)acc * (d->q.filter_scale[oc] * row.scale)
                            : (float)acc * row.scale;
    if (a->bias) v += a->bias[oc];
    a->out[out + (size_t)oc] = tfl_window_clamp(v, d->act_lo, d->act_hi);
  }
}

static void conv_eval_hybrid(tfl_context *ctx, const tfl_node *node, const conv_data *d,
                             const tfl_tensor *input, const tfl_tensor *filter,
                             const tfl_tensor *bias, tfl_tensor *output) {
  int8_t *values = tfl_context_scratch(ctx, node, d->hybrid.values);
  tfl_hybrid_row *rows = tfl_context_scratch(ctx, node, d->hybrid.rows);
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  tfl_hybrid_quantize_rows_cpu(tfl_context_cpu(ctx), input->data, (size_t)d->batches, in_image,
                               d->asymmetric, values, rows);
  /* The symmetric kernel folds the filter scale into each image's scale first. */
  if (!d->asymmetric)
    for (int32_t n = 0; n < d->batches; n++) rows[n].scale *= d->q.filter_scale[0];
  conv_hybrid_args a = {filter->data, bias ? bias->data : NULL, output->data, rows,
                        tfl_context_scratch(ctx, node, d->patch)};
  conv_for_each_pixel(d, values, 1, conv_pixel_hybrid, &a);
}

static tfl_status conv_eval(tfl_context *ctx, tfl_node *node) {
  const conv_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  switch (d->path) {
    case TFL_PATH_FLOAT: {
      tfl_gemm_residual res;
      const tfl_gemm_residual *r = tfl_fused_residual(ctx, node, tfl_node_fusion(node), d->out_c,
                                                      &res);
      float *out = d->add.apart ? tfl_context_scratch(ctx, node, d->add.scratch) : output->data;
      const tfl_gemm_residual *epilogue = d->add.apart ? NULL : r;
      if (d->first.rows)
        tfl_conv_first_eval(ctx, &d->first, input->data, out);
      else if (d->use_gemm)
        tfl_conv_gemm_eval_residual(ctx, &d->gemm, input->data, out,
                                    tfl_context_scratch(ctx, node, d->gemm_scratch), d->act_lo,
                                    d->act_hi, epilogue);
      else
        conv_eval_float(d, input->data, filter->data, bias ? bias->data : NULL, out);
      if (d->add.apart)
        tfl_fused_add_apart(&d->add, out, r, output->data);
      else if (r && !d->use_gemm)
        tfl_fused_add(out, r, tfl_tensor_count(output));
      break;
    }
    case TFL_PATH_HYBRID:
      conv_eval_hybrid(ctx, node, d, input, filter, bias, output);
      break;
    case TFL_PATH_QUANTIZED: {
      if (d->qfast.active) {
        tfl_qconv_run(ctx, node, &d->qfast, input->data, output->data);
        break;
      }
      conv_quant_args a = {input, filter, bias, output, tfl_context_scratch(ctx, node, d->patch)};
      conv_for_each_pixel(d, input->data, tfl_type_size(input->type), conv_pixel_quantized, &a);
      break;
    }
  }
  return TFL_OK;
}

static void conv_free(tfl_context *ctx, void *node_data, void *op_user_data) {
  conv_data *d = node_data;
  if (!d) return;
  tfl_window_quant_free(&d->q);
  tfl_qconv_free(&d->qfast);
  tfl_conv_gemm_free(&d->gemm);
  tfl_conv_first_free(&d->first);
}

/* One initializer for the registration a model's op matches and for the same kernel on a node
 * the fusion pass rewrote (runtime/fuse.h), which is told apart by its address and is not in
 * the family's list. */
#define REGISTRATION                                               \
  {                                                                \
    .name = "CONV_2D", .builtin_code = TFL_OP_CONV_2D,             \
    .data_size = sizeof(conv_data),                                \
    .free = conv_free, .prepare = conv_prepare, .eval = conv_eval, \
    .types = TFL_TYPES_F32 | TFL_TYPES_QUANT,                      \
  }

static const tfl_op_registration conv_2d = REGISTRATION;

const tfl_op_registration tfl_conv_2d_fused = REGISTRATION;

const tfl_op_registration *const tfl_kernels_conv[] = {&conv_2d, NULL};
