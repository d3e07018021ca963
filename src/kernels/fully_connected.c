/* FULLY_CONNECTED, reference kernels.
 *
 * weights [units, in_features], optional bias [units]. The input is read as a matrix
 * [batch, in_features] with batch = element count / in_features (it must divide evenly).
 * The output is [batch, units], or with keep_num_dims the input's shape with its last
 * dimension (which must be in_features) replaced by units.
 *
 * The float path sums each dot product in float in order and adds the bias last, as TFLite's
 * reference kernel does. Like TFLite, the float and quantized paths accept only the clamping
 * fused activations; TANH and SIGN_BIT run only on the hybrid path.
 *
 * The quantized path (uint8, int8 per-tensor or per-channel, int16 activations with int8
 * weights) widens each input row once, offset by the input zero point, and dots it with every
 * weight row; tfl_window_quant_prepare has the arithmetic rules.
 *
 * The hybrid path (float input, int8 weights) is TFLite's: each input row is quantized
 * (symmetrically, or asymmetrically with asymmetric_quantize_inputs), the output starts as
 * the bias, out += float(sum(w * (q - zero_point))) * scale with scale = row_scale *
 * filter_scale (per-tensor: folded into row_scale first; per-channel: row_scale *
 * filter_scale[u]), then the activation. An input of all zeros yields activation(bias).
 *
 * Float input with int4 weights quantized blockwise (per block of input features, fp16
 * scales) takes TFLite's blockwise path instead: blockwise.h has its arithmetic. */
#include <stddef.h>
#include <string.h>

#include "kernels/blockwise.h"
#include "kernels/families.h"
#include "kernels/gemm.h"
#include "kernels/hybrid.h"
#include "kernels/qgemm.h"
#include "kernels/type_sets.h"
#include "kernels/window.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* FullyConnectedOptions fields. */
enum {
  FC_OPT_ACTIVATION = 0,
  FC_OPT_WEIGHTS_FORMAT = 1,
  FC_OPT_KEEP_NUM_DIMS = 2,
  FC_OPT_ASYMMETRIC_INPUTS = 3
};

typedef struct fc_data {
  tfl_window_path path;
  int32_t batches, in_features, units;
  float act_lo, act_hi;
  int act;                   /* hybrid: any fused activation */
  int asymmetric;            /* hybrid: asymmetric_quantize_inputs */
  tfl_window_quant q;        /* quantized and hybrid paths */
  int row;                   /* scratch: one input row widened to int32 */
  tfl_hybrid_scratch hybrid; /* scratch: the quantized input */
  tfl_qfc qfast;             /* quantized: the fast path of qgemm.h, when active */
  tfl_blockwise_fc bw;       /* hybrid with blockwise int4 weights, when active */
  int use_gemm;              /* float: the packed GEMM of gemm.h runs instead */
  tfl_gemm_weights gemm;
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
  int format = tfl_opt_int(node, FC_OPT_WEIGHTS_FORMAT, 0);
  if (format != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "weights_format %d is not supported (only DEFAULT)", format);
  return TFL_OK;
}

/* TFLite accepts TANH and SIGN_BIT only on its hybrid path. */
static tfl_status fc_check_clamping_activation(tfl_context *ctx, const tfl_node *node,
                                               int *act) {
  *act = tfl_opt_int(node, FC_OPT_ACTIVATION, TFL_ACT_NONE);
  if (*act == TFL_ACT_TANH || *act == TFL_ACT_SIGN_BIT)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "fused activation %d is supported only with float input and "
                            "quantized weights",
                            *act);
  return TFL_OK;
}

static tfl_status fc_prepare_float(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *bias, fc_data *d) {
  int act;
  tfl_status st = fc_check_clamping_activation(ctx, node, &act);
  if (st != TFL_OK) return st;
  return tfl_window_float_epilogue(ctx, node, bias, FC_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
}

static tfl_status fc_prepare_quantized(tfl_context *ctx, tfl_node *node,
                                       const tfl_tensor *input, const tfl_tensor *weights,
                                       const tfl_tensor *bias, const tfl_tensor *output,
                                       fc_data *d) {
  int act;
  tfl_status st = fc_check_clamping_activation(ctx, node, &act);
  if (st == TFL_OK)
    st = tfl_window_quant_prepare(ctx, node, TFL_WINDOW_FULLY_CONNECTED, 1, input, weights,
                                  bias, output, act, d->units, &d->q);
  if (st == TFL_OK)
    st = tfl_qfc_setup(ctx, node, &d->qfast, &d->q, input, weights, bias, d->units,
                       d->in_features, d->batches);
  if (st != TFL_OK || d->qfast.active) return st;
  return tfl_context_request_scratch(ctx, node, (size_t)d->in_features * sizeof(int32_t),
                                     &d->row);
}

static tfl_status fc_prepare_hybrid(tfl_context *ctx, tfl_node *node, const tfl_tensor *input,
                                    const tfl_tensor *weights, const tfl_tensor *bias,
                                    fc_data *d) {
  d->act = tfl_opt_int(node, FC_OPT_ACTIVATION, TFL_ACT_NONE);
  d->asymmetric = tfl_opt_bool(node, FC_OPT_ASYMMETRIC_INPUTS, 0);
  tfl_status st =
      tfl_window_float_epilogue(ctx, node, bias, FC_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
  if (st == TFL_OK)
    st = tfl_window_hybrid_prepare(ctx, node, TFL_WINDOW_FULLY_CONNECTED, weights, d->units,
                                   &d->q);
  if (st == TFL_OK)
    st = tfl_hybrid_request_scratch(ctx, node, tfl_tensor_count(input), (size_t)d->batches,
                                    &d->hybrid);
  if (st != TFL_OK) return st;
  return tfl_context_request_scratch(ctx, node, (size_t)d->in_features * sizeof(int32_t),
                                     &d->row);
}

/* The hybrid path's blockwise variant (see blockwise.h); it requests its own scratch. */
static tfl_status fc_prepare_blockwise(tfl_context *ctx, tfl_node *node, const tfl_tensor *weights,
                                       const tfl_tensor *bias, const tfl_quant_details *qd,
                                       fc_data *d) {
  d->act = tfl_opt_int(node, FC_OPT_ACTIVATION, TFL_ACT_NONE);
  tfl_status st =
      tfl_window_float_epilogue(ctx, node, bias, FC_OPT_ACTIVATION, &d->act_lo, &d->act_hi);
  if (st != TFL_OK) return st;
  return tfl_blockwise_fc_prepare(ctx, node, weights, qd, (size_t)d->batches, &d->bw);
}

/* The float path's fast variant, when the CPU level has one and the weights are constant:
 * packs them once here. */
static tfl_status fc_prepare_gemm(tfl_context *ctx, const tfl_node *node,
                                  const tfl_tensor *weights, const tfl_tensor *bias,
                                  fc_data *d) {
  tfl_gemm_weights_free(&d->gemm);
  d->use_gemm = 0;
  const tfl_cpu_level level = tfl_context_cpu(ctx);
  if (level == TFL_CPU_SCALAR || !tfl_tensor_is_constant(weights) ||
      (bias && !tfl_tensor_is_constant(bias)))
    return TFL_OK;
  if (tfl_gemm_pack(&d->gemm, level, weights->data, bias ? bias->data : NULL, d->units,
                    d->in_features) != TFL_OK)
    return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory packing weights '%s'",
                            weights->name);
  d->use_gemm = 1;
  return TFL_OK;
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
  /* The output shape also gives the batch count the scratch sizes need. */
  int ndim = 0;
  int32_t dims[TFL_MAX_DIMS];
  st = fc_output_shape(ctx, node, input, d, &ndim, dims);
  if (st != TFL_OK) return st;
  const tfl_quant_details qd = tfl_tensor_quant_details(ctx, weights);
  const int blockwise = qd.type == TFL_QDETAILS_BLOCKWISE;
  d->bw.active = 0;
  if (blockwise && d->path != TFL_PATH_HYBRID)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "blockwise-quantized weights '%s' need a float32 input, not %s",
                            weights->name, tfl_type_name(input->type));
  switch (d->path) {
    case TFL_PATH_FLOAT:
      st = fc_prepare_float(ctx, node, bias, d);
      if (st == TFL_OK) st = fc_prepare_gemm(ctx, node, weights, bias, d);
      break;
    case TFL_PATH_HYBRID:
      st = blockwise ? fc_prepare_blockwise(ctx, node, weights, bias, &qd, d)
                     : fc_prepare_hybrid(ctx, node, input, weights, bias, d);
      break;
    case TFL_PATH_QUANTIZED:
      st = fc_prepare_quantized(ctx, node, input, weights, bias, output, d);
      break;
  }
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

static void fc_eval_quantized(tfl_context *ctx, const tfl_node *node, const fc_data *d,
                              const tfl_tensor *input, const tfl_tensor *weights,
                              const tfl_tensor *bias, tfl_tensor *output) {
  if (d->qfast.active) {
    tfl_qfc_run(ctx, node, &d->qfast, input->data, d->batches, output->data);
    return;
  }
  int32_t *row = tfl_context_scratch(ctx, node, d->row);
  const size_t k = (size_t)d->in_features;
  size_t out = 0;
  for (int32_t b = 0; b < d->batches; b++) {
    const int64_t xsum =
        tfl_window_widen(input->type, input->data, (size_t)b * k, k, d->q.input_offset, row);
    for (int32_t u = 0; u < d->units; u++, out++) {
      const int64_t acc = tfl_window_accumulate(&d->q, weights, (size_t)u, k, row, xsum, bias, u);
      tfl_window_store(output->type, output->data, out, tfl_window_requantize(&d->q, u, acc));
    }
  }
}

static int fc_all_zero(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (x[i] != 0.0f) return 0;
  return 1;
}

/* out += float(sum(w * (q - zero_point))) * scale for every row and unit. */
static void fc_hybrid_product(tfl_context *ctx, const tfl_node *node, const fc_data *d,
                              const float *input, const int8_t *weights, float *out) {
  const size_t k = (size_t)d->in_features;
  int8_t *values = tfl_context_scratch(ctx, node, d->hybrid.values);
  tfl_hybrid_row *rows = tfl_context_scratch(ctx, node, d->hybrid.rows);
  int32_t *row = tfl_context_scratch(ctx, node, d->row);
  tfl_hybrid_quantize_rows_cpu(tfl_context_cpu(ctx), input, (size_t)d->batches, k, d->asymmetric,
                               values, rows);
  for (int32_t b = 0; b < d->batches; b++) {
    /* A per-tensor filter scale is folded into the row scale first, as TFLite does. */
    const float row_scale =
        d->q.per_channel ? rows[b].scale : rows[b].scale * d->q.filter_scale[0];
    tfl_window_widen(TFL_INT8, values, (size_t)b * k, k, -rows[b].zero_point, row);
    for (int32_t u = 0; u < d->units; u++, out++) {
      const int32_t acc = tfl_window_dot32(TFL_INT8, weights + (size_t)u * k, row, k);
      const float scale = d->q.per_channel ? row_scale * d->q.filter_scale[u] : row_scale;
      *out += (float)acc * scale;
    }
  }
}

static void fc_eval_blockwise(tfl_context *ctx, const tfl_node *node, const fc_data *d,
                              const tfl_tensor *input, const tfl_tensor *weights,
                              const tfl_tensor *bias, tfl_tensor *output) {
  tfl_blockwise_fc_eval(ctx, node, &d->bw, input->data, (size_t)d->batches, weights->data,
                        bias ? bias->data : NULL, output->data);
  tfl_activation_apply_f32(d->act, output->data, (size_t)d->batches * (size_t)d->units);
}

static void fc_eval_hybrid(tfl_context *ctx, const tfl_node *node, const fc_data *d,
                           const tfl_tensor *input, const tfl_tensor *weights,
                           const tfl_tensor *bias, tfl_tensor *output) {
  const size_t n_out = (size_t)d->batches * (size_t)d->units;
  float *out = output->data;
  for (size_t i = 0; i < n_out; i++)
    out[i] = bias ? ((const float *)bias->data)[i % (size_t)d->units] : 0.0f;
  if (!fc_all_zero(input->data, (size_t)d->batches * (size_t)d->in_features))
    fc_hybrid_product(ctx, node, d, input->data, weights->data, out);
  tfl_activation_apply_f32(d->act, out, n_out);
}

static tfl_status fc_eval(tfl_context *ctx, tfl_node *node) {
  const fc_data *d = node->user_data;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *weights = tfl_node_input(ctx, node, 1);
  const tfl_tensor *bias = tfl_node_input(ctx, node, 2);
  tfl_tensor *output = tfl_node_output(ctx, node, 0);
  if (d->in_features == 0) {
    /* TFLite zeroes the output of an empty dot product, bias or not. */
    if (output->bytes) memset(output->data, 0, output->bytes);
    return TFL_OK;
  }
  switch (d->path) {
    case TFL_PATH_FLOAT:
      if (d->use_gemm)
        tfl_gemm_matrix(ctx, &d->gemm, input->data, (size_t)d->in_features, d->batches,
                        output->data, (size_t)d->units, d->act_lo, d->act_hi);
      else
        fc_eval_float(d, input->data, weights->data, bias ? bias->data : NULL, output->data);
      break;
    case TFL_PATH_HYBRID:
      if (d->bw.active)
        fc_eval_blockwise(ctx, node, d, input, weights, bias, output);
      else
        fc_eval_hybrid(ctx, node, d, input, weights, bias, output);
      break;
    case TFL_PATH_QUANTIZED:
      fc_eval_quantized(ctx, node, d, input, weights, bias, output);
      break;
  }
  return TFL_OK;
}

static void fc_free(tfl_context *ctx, void *node_data, void *op_user_data) {
  fc_data *d = node_data;
  if (!d) return;
  tfl_window_quant_free(&d->q);
  tfl_qfc_free(&d->qfast);
  tfl_gemm_weights_free(&d->gemm);
  tfl_blockwise_fc_free(&d->bw);
}

static const tfl_op_registration fully_connected = {
    .name = "FULLY_CONNECTED",
    .builtin_code = TFL_OP_FULLY_CONNECTED,
    .data_size = sizeof(fc_data),
    .free = fc_free,
    .prepare = fc_prepare,
    .eval = fc_eval,
    .types = TFL_TYPES_F32 | TFL_TYPES_QUANT,
};

const tfl_op_registration *const tfl_kernels_fully_connected[] = {&fully_connected, NULL};
