/* DEPTHWISE_CONV_2D, reference kernels.
 *
 * input [batch, in_h, in_w, in_c] (NHWC), filter [1, kh, kw, out_c], optional bias [out_c],
 * output [batch, out_h, out_w, out_c] with out_c = in_c * multiplier: output channel
 * ic * multiplier + m convolves input channel ic alone with filter channel
 * ic * multiplier + m. Like TFLite since version 2, the multiplier comes from the shapes; the
 * depth_multiplier option is redundant and ignored.
 *
 * The float path accumulates each output in float over the taps in TFLite's reference order
 * and adds the bias last.
 *
 * The quantized path (uint8 per-tensor, int8 per-channel, int16 activations with int8
 * weights) accumulates (w - filter_zp) * (x - input_zp) over the in-bounds taps, the filter
 * widened once per invoke; tfl_window_quant_prepare has the arithmetic rules. The hybrid
 * path (float input, int8 filter) quantizes each batch image asymmetrically, as TFLite does,
 * and computes out = (float(acc) * input_scale) * filter_scale[c] + bias. */
#include <stddef.h>

#include "kernels/dwconv.h"
#include "kernels/families.h"
#include "kernels/fused.h"
#include "kernels/hybrid.h"
#include "kernels/qdwconv.h"
#include "kernels/type_sets.h"
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
  tfl_window_quant q;        /* quantized and hybrid paths */
  int work;                  /* scratch: dw_work */
  tfl_hybrid_scratch hybrid; /* scratch: the quantized input */
  tfl_qdwconv qfast;         /* quantized: the fast path of qdwconv.h, when active */
  int use_fast;              /* float: the vectorized kernel of dwconv.h runs instead */
  tfl_dwconv fast;
  tfl_gemm_weights expand_w; /* float, fused 1x1 expansion (runtime/fuse.h): its filter */
  tfl_dwconv_expand expand;
  int expand_scratch;        /* scratch: its slices */
} dw_data;

/* The integer paths' scratch, carved from one buffer: the accumulators of a pixel, the
 * filter widened to int32 with its zero point removed, and one input pixel widened. */
typedef struct dw_work {
  int64_t *acc;    /* [out_c] */
  int32_t *filter; /* [kh * kw * out_c] */
  int32_t *pixel;  /* [in_c] */
} dw_work;

static size_t dw_filter_size(const dw_data *d) {
  return (size_t)d->win.h.filter * (size_t)d->win.w.filter * (size_t)d->out_c;
}

static size_t dw_work_bytes(const dw_data *d) {
  return (size_t)d->out_c * sizeof(int64_t) +
         (dw_filter_size(d) + (size_t)d->in_c) * sizeof(int32_t);
}

static dw_work dw_work_at(tfl_context *ctx, const tfl_node *node, const dw_data *d) {
  dw_work w;
  w.acc = tfl_context_scratch(ctx, node, d->work);
  w.filter = (int32_t *)(w.acc + d->out_c);
  w.pixel = w.filter + dw_filter_size(d);
  return w;
}

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

static tfl_status dw_prepare_quantized(tfl_context *ctx, tfl_node *node,
                                       const tfl_tensor *input, const tfl_tensor *filter,
                                       const tfl_tensor *bias, const tfl_tensor *output,
                                       dw_data *d) {
  const int act = tfl_opt_int(node, DW_OPT_ACTIVATION, TFL_ACT_NONE);
  tfl_status st = tfl_window_quant_prepare(ctx, node, TFL_WINDOW_DEPTHWISE, 0, input, filter,
                                           bias, output, act, d->out_c, &d->q);
  if (st == TFL_OK)
    st = tfl_qdwconv_setup(ctx, node, &d->qfast, &d->win, d->batches, d->in_c, d->multiplier,
                           &d->q, input, filter, bias);
  if (st != TFL_OK || d->qfast.active) return st;
  return tfl_context_request_scratch(ctx, node, dw_work_bytes(d), &d->work);
}

static tfl_status dw_prepare_hybrid(tfl_context *ctx, tfl_node *node, const tfl_tensor *input,
                                    const tfl_tensor *filter, const tfl_tensor *bias,
                                    dw_data *d) {
  tfl_status st =
      tfl_window_float_epilogue(ctx, node, bias, DW_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
  if (st == TFL_OK)
    st = tfl_window_hybrid_prepare(ctx, node, TFL_WINDOW_DEPTHWISE, filter, d->out_c, &d->q);
  if (st == TFL_OK)
    st = tfl_hybrid_request_scratch(ctx, node, tfl_tensor_count(input), (size_t)d->batches,
                                    &d->hybrid);
  if (st != TFL_OK) return st;
  return tfl_context_request_scratch(ctx, node, dw_work_bytes(d), &d->work);
}

/* A fused expansion: *expanded is x as the 1x1 convolution would have widened it (its
 * filter [C, 1, 1, x's channels] and optional bias checked here). */
static tfl_status dw_expanded_input(tfl_context *ctx, const tfl_node *node, const tfl_tensor *x,
                                    tfl_tensor *expanded) {
  const tfl_tensor *w = tfl_node_input(ctx, node, TFL_FUSED_EXPAND_FILTER);
  const tfl_tensor *b = tfl_node_input(ctx, node, TFL_FUSED_EXPAND_BIAS);
  if (x->ndim != 4 || !w || w->type != TFL_FLOAT32 || w->ndim != 4 || w->dims[1] != 1 ||
      w->dims[2] != 1 || w->dims[3] != x->dims[3] || !tfl_tensor_is_constant(w) ||
      (b && (b->type != TFL_FLOAT32 || tfl_tensor_count(b) != (size_t)w->dims[0] ||
             !tfl_tensor_is_constant(b))))
    return tfl_context_error(ctx, node, "the fused 1x1 expansion does not fit input '%s'",
                             x->name);
  *expanded = *x;
  expanded->dims[3] = w->dims[0];
  return TFL_OK;
}

/* The fused expansion's weights and slices, once the depthwise fast path is set up. */
static tfl_status dw_prepare_expand(tfl_context *ctx, tfl_node *node, const tfl_fusion *fusion,
                                    const tfl_tensor *x, dw_data *d) {
  const tfl_tensor *w = tfl_node_input(ctx, node, TFL_FUSED_EXPAND_FILTER);
  const tfl_tensor *b = tfl_node_input(ctx, node, TFL_FUSED_EXPAND_BIAS);
  if (!d->use_fast)
    return tfl_context_error(ctx, node, "a fused 1x1 expansion needs the fast kernels");
  if (tfl_gemm_pack(&d->expand_w, tfl_context_cpu(ctx), w->data, b ? b->data : NULL,
                    w->dims[0], x->dims[3]) != TFL_OK)
    return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory packing filter '%s'",
                            w->name);
  d->expand = (tfl_dwconv_expand){.w = &d->expand_w, .lo = fusion->expand_lo,
                                  .hi = fusion->expand_hi, .in_c = x->dims[3]};
  const size_t bytes = tfl_dwconv_expand_plan(&d->fast, &d->expand, tfl_context_threads(ctx));
  return tfl_context_request_scratch(ctx, node, bytes, &d->expand_scratch);
}

/* The io of the float path. */
static tfl_dwconv_io dw_float_io(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  const tfl_dwconv_io io = {tfl_node_input(ctx, node, 0)->data,
                            tfl_node_input(ctx, node, 1)->data, bias ? bias->data : NULL,
                            tfl_node_output(ctx, node, 0)->data};
  return io;
}

static tfl_status dw_prepare(tfl_context *ctx, tfl_node *node) {
  dw_data *d = node->user_data;
  /* A fused node (runtime/fuse.h) has more input slots, for a fused 1x1 expansion. */
  const tfl_fusion *fusion = tfl_node_fusion(node);
  tfl_status st = tfl_check_io(ctx, node, 2, fusion ? TFL_FUSED_INPUTS : 3, 1);
  if (st == TFL_OK) st = tfl_window_check_options(ctx, node, TFL_OPTS_DEPTHWISE_CONV_2D);
  if (st != TFL_OK) return st;
  const tfl_tensor *x = tfl_node_input(ctx, node, 0);
  tfl_tensor expanded;
  const tfl_tensor *input = x;
  if (fusion && fusion->expand) {
    st = dw_expanded_input(ctx, node, x, &expanded);
    if (st != TFL_OK) return st;
    input = &expanded;
  }
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);

  st = tfl_window_pick_path(ctx, node, input, filter, output, &d->path);
  if (st == TFL_OK) st = dw_check_shapes(ctx, node, input, filter, bias, d);
  if (st == TFL_OK)
    st = tfl_fused_window_plan(ctx, node, &dw_fields, input, filter->dims[1], filter->dims[2],
                               fusion, &d->win);
  if (st == TFL_OK && fusion && (d->path != TFL_PATH_FLOAT || fusion->residual >= 0))
    st = tfl_context_error(ctx, node, "only float depthwise convolutions fuse, and no ADD");
  if (st != TFL_OK) return st;
  switch (d->path) {
    case TFL_PATH_FLOAT:
      st = tfl_window_float_epilogue(ctx, node, bias, DW_OPT_ACTIVATION, &d->act_lo,
                                     &d->act_hi);
      d->use_fast = st == TFL_OK &&
                    tfl_dwconv_setup(&d->fast, tfl_context_cpu(ctx), &d->win, d->batches,
                                     d->in_c, d->out_c, d->act_lo, d->act_hi);
      if (st == TFL_OK && fusion && fusion->expand) st = dw_prepare_expand(ctx, node, fusion, x, d);
      break;
    case TFL_PATH_HYBRID:
      st = dw_prepare_hybrid(ctx, node, input, filter, bias, d);
      break;
    case TFL_PATH_QUANTIZED:
      st = dw_prepare_quantized(ctx, node, input, filter, bias, output, d);
      break;
  }
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

/* w.acc[c] = sum over the in-bounds taps of pixel (oy, ox) of w.filter * (x + in_offset), for
 * the int8/uint8/int16 image `image`. */
static void dw_accumulate(const dw_data *d, int32_t oy, int32_t ox, tfl_type type,
                          const void *image, int32_t in_offset, const dw_work *w) {
  int32_t ky0, ky1, kx0, kx1;
  const int32_t y0 = tfl_window_taps(&d->win.h, oy, &ky0, &ky1);
  const int32_t x0 = tfl_window_taps(&d->win.w, ox, &kx0, &kx1);
  const int32_t m_count = d->multiplier;
  for (int32_t c = 0; c < d->out_c; c++) w->acc[c] = 0;
  for (int32_t ky = ky0; ky < ky1; ky++) {
    const size_t iy = (size_t)(y0 + ky * d->win.h.dilation);
    for (int32_t kx = kx0; kx < kx1; kx++) {
      const size_t ix = (size_t)(x0 + kx * d->win.w.dilation);
      tfl_window_widen(type, image, (iy * (size_t)d->win.w.in + ix) * (size_t)d->in_c,
                       (size_t)d->in_c, in_offset, w->pixel);
      const int32_t *f =
          w->filter + ((size_t)ky * (size_t)d->win.w.filter + (size_t)kx) * (size_t)d->out_c;
      int64_t *acc = w->acc;
      for (int32_t ic = 0; ic < d->in_c; ic++, f += m_count, acc += m_count)
        for (int32_t m = 0; m < m_count; m++) acc[m] += f[m] * w->pixel[ic];
    }
  }
}

/* Calls fn(d, arg, n, oy, ox, image, out) for every output pixel; `image` is batch n of `in`
 * (elements of `elem` bytes), `out` the pixel's first output element. */
typedef void (*dw_pixel_fn)(const dw_data *d, void *arg, int32_t n, int32_t oy, int32_t ox,
                            const void *image, size_t out);

static void dw_for_each_pixel(const dw_data *d, const void *in, size_t elem, dw_pixel_fn fn,
                              void *arg) {
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  size_t out = 0;
  for (int32_t n = 0; n < d->batches; n++) {
    const void *image = (const char *)in + (size_t)n * in_image * elem;
    for (int32_t oy = 0; oy < d->win.h.out; oy++)
      for (int32_t ox = 0; ox < d->win.w.out; ox++, out += (size_t)d->out_c)
        fn(d, arg, n, oy, ox, image, out);
  }
}

typedef struct dw_quant_args {
  tfl_type in_type;
  const tfl_tensor *bias;
  tfl_tensor *output;
  dw_work work;
} dw_quant_args;

static void dw_pixel_quantized(const dw_data *d, void *arg, int32_t n, int32_t oy, int32_t ox,
                               const void *image, size_t out) {
  const dw_quant_args *a = arg;
  dw_accumulate(d, oy, ox, a->in_type, image, d->q.input_offset, &a->work);
  for (int32_t c = 0; c < d->out_c; c++) {
    /* Summing in 64 bits and wrapping once gives what int32 accumulators give. */
    const uint64_t sum = (uint64_t)a->work.acc[c] + (uint64_t)tfl_window_bias_at(a->bias, c);
    const int64_t acc = d->q.acc64 ? (int64_t)sum : (int64_t)(int32_t)(uint32_t)sum;
    tfl_window_store(a->output->type, a->output->data, out + (size_t)c,
                     tfl_window_requantize(&d->q, c, acc));
  }
}

typedef struct dw_hybrid_args {
  const tfl_hybrid_row *rows;
  const float *bias;
  float *out;
  dw_work work;
} dw_hybrid_args;

static void dw_pixel_hybrid(const dw_data *d, void *arg, int32_t n, int32_t oy, int32_t ox,
                            const void *image, size_t out) {
  const dw_hybrid_args *a = arg;
  const tfl_hybrid_row row = a->rows[n];
  dw_accumulate(d, oy, ox, TFL_INT8, image, -row.zero_point, &a->work);
  for (int32_t c = 0; c < d->out_c; c++) {
    const int32_t acc = (int32_t)(uint32_t)(uint64_t)a->work.acc[c];
    float v = (float)acc * row.scale * d->q.filter_scale[c];
    if (a->bias) v += a->bias[c];
    a->out[out + (size_t)c] = tfl_window_clamp(v, d->act_lo, d->act_hi);
  }
}

static tfl_status dw_eval(tfl_context *ctx, tfl_node *node) {
  const dw_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *filter = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  if (d->path == TFL_PATH_FLOAT) {
    const tfl_dwconv_io io = dw_float_io(ctx, node);
    const tfl_fusion *fusion = tfl_node_fusion(node);
    if (fusion && fusion->expand)
      tfl_dwconv_eval_expand(ctx, &d->fast, &d->expand, &io,
                             tfl_context_scratch(ctx, node, d->expand_scratch));
    else if (d->use_fast)
      tfl_dwconv_eval(ctx, &d->fast, &io);
    else
      dw_eval_float(d, io.in, io.filter, io.bias, io.out);
    return TFL_OK;
  }
  if (d->path == TFL_PATH_QUANTIZED && d->qfast.active) {
    tfl_qdwconv_eval(ctx, &d->qfast, input->data, output->data);
    return TFL_OK;
  }
  const dw_work work = dw_work_at(ctx, node, d);
  tfl_window_widen(filter->type, filter->data, 0, dw_filter_size(d), d->q.filter_offset,
                   work.filter);
  if (d->path == TFL_PATH_QUANTIZED) {
    dw_quant_args a = {input->type, bias, output, work};
    dw_for_each_pixel(d, input->data, tfl_type_size(input->type), dw_pixel_quantized, &a);
    return TFL_OK;
  }
  int8_t *values = tfl_context_scratch(ctx, node, d->hybrid.values);
  tfl_hybrid_row *rows = tfl_context_scratch(ctx, node, d->hybrid.rows);
  const size_t in_image = (size_t)d->win.h.in * (size_t)d->win.w.in * (size_t)d->in_c;
  tfl_hybrid_quantize_rows_cpu(tfl_context_cpu(ctx), input->data, (size_t)d->batches, in_image, 1,
                               values, rows);
  dw_hybrid_args a = {rows, bias ? bias->data : NULL, output->data, work};
  dw_for_each_pixel(d, values, 1, dw_pixel_hybrid, &a);
  return TFL_OK;
}

static void dw_free(tfl_context *ctx, void *node_data, void *op_user_data) {
  dw_data *d = node_data;
  if (!d) return;
  tfl_window_quant_free(&d->q);
  tfl_qdwconv_free(&d->qfast);
  tfl_gemm_weights_free(&d->expand_w);
}

/* One initializer for the registration a model's op matches and for the same kernel on a node
 * the fusion pass rewrote (runtime/fuse.h), which is told apart by its address and is not in
 * the family's list. */
#define REGISTRATION                                                       \
  {                                                                        \
    .name = "DEPTHWISE_CONV_2D", .builtin_code = TFL_OP_DEPTHWISE_CONV_2D, \
    .data_size = sizeof(dw_data),                                          \
    .free = dw_free, .prepare = dw_prepare, .eval = dw_eval,               \
    .types = TFL_TYPES_F32 | TFL_TYPES_QUANT,                              \
  }

static const tfl_op_registration depthwise_conv_2d = REGISTRATION;

const tfl_op_registration tfl_depthwise_conv_2d_fused = REGISTRATION;

const tfl_op_registration *const tfl_kernels_depthwise[] = {&depthwise_conv_2d, NULL};
