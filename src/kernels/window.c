#include "kernels/window.h"

#include <float.h>

#include "format/flatbuf.h"
#include "model/model.h"
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
  int padding = tfl_window_opt_byte(node, f->padding, TFL_PADDING_SAME);
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
  int act = tfl_window_opt_byte(node, act_field, TFL_ACT_NONE);
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

int tfl_window_opt_byte(const tfl_node *node, int field, int def) {
  const tfl_model_op *op = node->builtin_options;
  if (!op) return def;
  return fb_i8(op->builtin_options, field, (int8_t)def);
}
