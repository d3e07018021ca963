/* FULLY_CONNECTED, reference kernels.
 *
 * weights [units, in_features], optional bias [units]. The input is read as a matrix
 * [batch, in_features] with batch = element count / in_features (it must divide evenly).
 * The output is [batch, units], or with keep_num_dims the input's shape with its last
 * dimension (which must be in_features) replaced by units.
 *
 * The float path sums each dot product in float in order and adds the bias last, as TFLite's
 * reference kernel does. Like TFLite, it accepts only the clamping fused activations (TFLite
 * runs TANH and SIGN_BIT only on its hybrid path). Hybrid and quantized paths will sit beside
 * it. */
#include <stddef.h>

#include "kernels/families.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* FullyConnectedOptions fields. */
enum { FC_OPT_ACTIVATION = 0, FC_OPT_WEIGHTS_FORMAT = 1, FC_OPT_KEEP_NUM_DIMS = 2 };

typedef struct fc_data {
  tfl_window_path path;
  int32_t batches, in_features, units;
  float act_lo, act_hi;
} fc_data;

/* Output shape: see the file comment. Also sets d->batches. */
static tfl_status fc_output_shape(tfl_context *ctx, const tfl_node *node,
                                  const tfl_tensor *input, fc_data *d, int *ndim,
                                  int32_t *dims) {
  const size_t count = tfl_tensor_count(input);
  if (tfl_opt_bool(node, FC_OPT_KEEP_NUM_DIMS, 0)) {
    if (input->ndim < 1 || input->dims[input->ndim - 1] != d->in_features)
      return tfl_context_error(ctx, node,
                               "with keep_num_dims the last dimension of input '%s' must be "
                               "the %d input features of the weights",
                               input->name, (int)d->in_features);
    *ndim = input->ndim;
    for (int i = 0; i < input->ndim - 1; i++) dims[i] = input->dims[i];
  } else {
    if (d->in_features > 0 && count % (size_t)d->in_features != 0)
      return tfl_context_error(ctx, node,
                               "input '%s' has %zu elements, not a multiple of the %d input "
                               "features of the weights",
                               input->name, count, (int)d->in_features);
    *ndim = 2;
    /* Without features, TFLite keeps the input's leading dimensions as the batch. */
    dims[0] = d->in_features > 0 ? (int32_t)(count / (size_t)d->in_features)
              : input->ndim > 0 ? (int32_t)tfl_shape_count(input->ndim - 1, input->dims)
                                : 1;
  }
  dims[*ndim - 1] = d->units;
  d->batches = (int32_t)tfl_shape_count(*ndim - 1, dims);
  return TFL_OK;
}

static tfl_status fc_check_options(tfl_context *ctx, const tfl_node *node) {
  tfl_status st = tfl_window_check_options(ctx, node, TFL_OPTS_FULLY_CONNECTED);
  if (st != TFL_OK) return st;
  int format = tfl_window_opt_byte(node, FC_OPT_WEIGHTS_FORMAT, 0);
  if (format != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "weights_format %d is not supported (only DEFAULT)", format);
  return TFL_OK;
}

static tfl_status fc_prepare_float(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *bias, fc_data *d) {
  int act = tfl_window_opt_byte(node, FC_OPT_ACTIVATION, TFL_ACT_NONE);
  if (act == TFL_ACT_TANH || act == TFL_ACT_SIGN_BIT)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "fused activation %d is not supported with float weights", act);
  return tfl_window_float_epilogue(ctx, node, bias, FC_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
}

static tfl_status fc_prepare(tfl_context *ctx, tfl_node *node) {
  fc_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 3, 1);
  if (st == TFL_OK) st = fc_check_options(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *weights = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);

  st = tfl_window_pick_path(ctx, node, input, weights, output, &d->path);
  if (st != TFL_OK) return st;
  if (weights->ndim != 2)
    return tfl_context_error(ctx, node,
                             "weights '%s' must be 2-D [units, in_features], has %d dimensions",
                             weights->name, weights->ndim);
  d->units = weights->dims[0];
  d->in_features = weights->dims[1];
  if (bias && tfl_tensor_count(bias) != (size_t)d->units)
    return tfl_context_error(ctx, node, "bias '%s' has %zu elements, expected %d", bias->name,
                             tfl_tensor_count(bias), (int)d->units);
  if (d->path != TFL_PATH_FLOAT) return tfl_window_path_unsupported(ctx, node, d->path);
  st = fc_prepare_float(ctx, node, bias, d);
  if (st != TFL_OK) return st;

  int ndim = 0;
  int32_t dims[TFL_MAX_DIMS];
  st = fc_output_shape(ctx, node, input, d, &ndim, dims);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, output, ndim, dims);
}

static void fc_eval_float(const fc_data *d, const float *in, const float *weights,
                          const float *bias, float *out) {
  const size_t k = (size_t)d->in_features;
  for (int32_t b = 0; b < d->batches; b++, in += k) {
    const float *w = weights;
    for (int32_t u = 0; u < d->units; u++, w += k) {
      float total = 0.0f;
      for (size_t i = 0; i < k; i++) total += in[i] * w[i];
      *out++ = tfl_window_clamp(total + (bias ? bias[u] : 0.0f), d->act_lo, d->act_hi);
    }
  }
}

static tfl_status fc_eval(tfl_context *ctx, tfl_node *node) {
  const fc_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *weights = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  switch (d->path) {
    case TFL_PATH_FLOAT:
      fc_eval_float(d, input->data, weights->data, bias ? bias->data : NULL, output->data);
      return TFL_OK;
    default:
      return tfl_window_path_unsupported(ctx, node, d->path);
  }
}

static const tfl_op_registration fully_connected = {
    .name = "FULLY_CONNECTED",
    .builtin_code = TFL_OP_FULLY_CONNECTED,
    .data_size = sizeof(fc_data),
    .prepare = fc_prepare,
    .eval = fc_eval,
};

const tfl_op_registration *const tfl_kernels_fully_connected[] = {&fully_connected, NULL};
