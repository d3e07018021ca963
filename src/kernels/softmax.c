/* SOFTMAX and LOG_SOFTMAX over the last axis, float32 (quantized paths will sit beside).
 *
 * As TFLite's reference kernels: per row, the maximum is subtracted first so that exp never
 * overflows; SOFTMAX computes exp((x - max) * beta), sums in float and divides each term by
 * the sum; LOG_SOFTMAX (no beta) gives x - max - log(sum(exp(x - max))). */
#include <float.h>
#include <math.h>

#include "kernels/families.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { SOFTMAX_OPT_BETA = 0 };

typedef struct softmax_data {
  void (*row)(const float *x, float *y, size_t depth, float beta);
  float beta;
  size_t depth; /* last dimension */
  size_t rows;  /* product of the others */
} softmax_data;

static float row_max(const float *x, size_t depth) {
  float m = -FLT_MAX;
  for (size_t c = 0; c < depth; c++)
    if (m < x[c]) m = x[c];
  return m;
}

static void softmax_row(const float *x, float *y, size_t depth, float beta) {
  const float m = row_max(x, depth);
  float sum = 0.0f;
  for (size_t c = 0; c < depth; c++) {
    y[c] = expf((x[c] - m) * beta);
    sum += y[c];
  }
  for (size_t c = 0; c < depth; c++) y[c] /= sum;
}

static void log_softmax_row(const float *x, float *y, size_t depth, float beta) {
  const float m = row_max(x, depth);
  float sum = 0.0f;
  for (size_t c = 0; c < depth; c++) sum += expf(x[c] - m);
  const float log_sum = logf(sum);
  for (size_t c = 0; c < depth; c++) y[c] = x[c] - m - log_sum;
}

static tfl_status softmax_prepare(tfl_context *ctx, tfl_node *node) {
  softmax_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (in->type != TFL_FLOAT32) {
    const char *what = in->quant.count ? "quantized " : "";
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s%s input '%s' is not supported",
                            what, tfl_type_name(in->type), in->name);
  }
  st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  if (in->ndim < 1)
    return tfl_context_error(ctx, node, "input '%s' must have at least 1 dimension", in->name);
  d->row = log_softmax_row;
  if (node->builtin_code == TFL_OP_SOFTMAX) {
    d->row = softmax_row;
    int type = tfl_opt_type(node);
    if (type != TFL_OPTS_NONE && type != TFL_OPTS_SOFTMAX)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "builtin options have union type %d, expected %d", type,
                              TFL_OPTS_SOFTMAX);
    d->beta = tfl_opt_float(node, SOFTMAX_OPT_BETA, 0.0f);
  }
  d->depth = (size_t)in->dims[in->ndim - 1];
  d->rows = d->depth ? tfl_tensor_count(in) / d->depth : 0;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status softmax_eval(tfl_context *ctx, tfl_node *node) {
  const softmax_data *d = node->user_data;
  const float *x = tfl_node_input(ctx, node, 0)->data;
  float *y = tfl_node_output(ctx, node, 0)->data;
  for (size_t r = 0; r < d->rows; r++)
    d->row(x + r * d->depth, y + r * d->depth, d->depth, d->beta);
  return TFL_OK;
}

static const tfl_op_registration reg_softmax = {.name = "SOFTMAX",
                                                .builtin_code = TFL_OP_SOFTMAX,
                                                .data_size = sizeof(softmax_data),
                                                .prepare = softmax_prepare,
                                                .eval = softmax_eval};

static const tfl_op_registration reg_log_softmax = {.name = "LOG_SOFTMAX",
                                                    .builtin_code = TFL_OP_LOG_SOFTMAX,
                                                    .data_size = sizeof(softmax_data),
                                                    .prepare = softmax_prepare,
                                                    .eval = softmax_eval};

const tfl_op_registration *const tfl_kernels_softmax[] = {&reg_softmax, &reg_log_softmax, NULL};
