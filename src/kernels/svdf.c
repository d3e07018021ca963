/* SVDF: a fully connected layer factored into a feature and a time filter, with state.
 *
 * input [batch, input_size], weights_feature [filters, input_size], weights_time [filters,
 * memory], optional bias [units] with filters = units * rank, and the state (a variable
 * tensor) [batch, memory * filters] holding each filter's last `memory` activations, oldest
 * first. Per invoke and batch row (TFLite's reference svdf.h):
 *   1. every filter's history moves one step back (the oldest value drops out),
 *   2. each filter's newest activation is weights_feature[f] . input,
 *   3. each filter's output is weights_time[f] . history[f],
 *   4. output[u] = activation(sum of the rank filter outputs of unit u + bias[u]).
 *
 * float32: sums in float in TFLite's order (each dot product from zero, then the rank sum,
 * then the bias).
 *
 * Hybrid (float input, int8 weights): each input row is quantized to int8 (symmetrically, or
 * asymmetrically with asymmetric_quantize_inputs) and the feature activations are
 * float(int8 dot) * row_scale * weights_feature_scale; the time filter uses the int8
 * weights_time dequantized to float; the state and the rest are float.
 *
 * Integer (int8 input and output, int8 weights_feature, int16 weights_time and state, int32
 * bias): feature activations are rescaled by input_scale * feature_scale / state_scale into
 * the int16 state (saturating), the time dot products and the rank sum plus bias are int32,
 * and the output is rescaled by state_scale * time_scale / output_scale into int8. As in
 * TFLite the fused activation must be RELU, but only the int8 clamp is applied, and the state
 * is assumed symmetric (its zero point is ignored). */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/hybrid.h"
#include "kernels/quant.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { SVDF_INPUT, SVDF_WEIGHTS_FEATURE, SVDF_WEIGHTS_TIME, SVDF_BIAS, SVDF_STATE, SVDF_INPUTS };
enum { SVDF_OPT_RANK = 0, SVDF_OPT_ACTIVATION = 1, SVDF_OPT_ASYMMETRIC = 2 };

typedef enum svdf_kind { SVDF_FLOAT, SVDF_HYBRID, SVDF_INTEGER } svdf_kind;

typedef struct svdf_data {
  svdf_kind kind;
  int act;
  int asymmetric;
  int32_t batch, input_size, filters, units, rank, memory;
  float feature_scale, time_scale;          /* hybrid */
  int32_t feature_mult, output_mult;        /* integer: into the state, into the output */
  int feature_shift, output_shift;
  int32_t input_zp, output_zp;
  int scratch; /* see svdf_request_scratch */
} svdf_data;

/* Drops the oldest value of every filter's history; the newest slot is then rewritten. The
 * state is one run of filters * memory values per batch row, so one move does it all. */
static void svdf_shift_state(void *state, size_t count, size_t elem) {
  if (count > 1) memmove(state, (unsigned char *)state + elem, (count - 1) * elem);
}

/* ---- float and hybrid --------------------------------------------------------------- */

/* Steps 3 and 4 in float: time filter dot products into scratch, rank sums, bias,
 * activation. Hybrid weights_time are int8, dequantized as TFLite does (int8 * scale). */
static void svdf_time_and_output(const svdf_data *d, const void *weights_time, const float *bias,
                                 const float *state, float *scratch, float *output) {
  const int32_t m = d->memory;
  for (int32_t b = 0; b < d->batch; b++) {
    const float *hist = state + (size_t)b * (size_t)d->filters * (size_t)m;
    float *s = scratch + (size_t)b * (size_t)d->filters;
    for (int32_t f = 0; f < d->filters; f++, hist += m) {
      float dot = 0.0f;
      if (d->kind == SVDF_FLOAT) {
        const float *wt = (const float *)weights_time + (size_t)f * (size_t)m;
        for (int32_t k = 0; k < m; k++) dot += wt[k] * hist[k];
      } else {
        const int8_t *wt = (const int8_t *)weights_time + (size_t)f * (size_t)m;
        for (int32_t k = 0; k < m; k++) dot += ((float)wt[k] * d->time_scale) * hist[k];
      }
      s[f] = dot;
    }
    float *out = output + (size_t)b * (size_t)d->units;
    for (int32_t u = 0; u < d->units; u++) {
      float sum = 0.0f;
      for (int32_t r = 0; r < d->rank; r++) sum += s[u * d->rank + r];
      out[u] = bias ? sum + bias[u] : sum;
    }
  }
  tfl_activation_apply_f32(d->act, output, (size_t)d->batch * (size_t)d->units);
}

/* The newest activations (scratch, filters per row) into the state. */
static void svdf_store_newest_f32(const svdf_data *d, const float *scratch, float *state) {
  const size_t n = (size_t)d->batch * (size_t)d->filters;
  for (size_t i = 0; i < n; i++) state[i * (size_t)d->memory + (size_t)d->memory - 1] = scratch[i];
}

static void svdf_eval_float(tfl_context *ctx, const tfl_node *node, const svdf_data *d,
                            float *state, float *scratch) {
  const float *input = tfl_node_input(ctx, node, SVDF_INPUT)->data;
  const float *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE)->data;
  for (int32_t b = 0; b < d->batch; b++) {
    const float *x = input + (size_t)b * (size_t)d->input_size;
    const float *w = wf;
    for (int32_t f = 0; f < d->filters; f++, w += d->input_size) {
      float dot = 0.0f;
      for (int32_t c = 0; c < d->input_size; c++) dot += w[c] * x[c];
      scratch[(size_t)b * (size_t)d->filters + (size_t)f] = dot;
    }
  }
  svdf_store_newest_f32(d, scratch, state);
}

/* An all-zero input row contributes nothing (TFLite skips an all-zero batch). */
static void svdf_eval_hybrid(tfl_context *ctx, const tfl_node *node, const svdf_data *d,
                             float *state, float *scratch) {
  const float *input = tfl_node_input(ctx, node, SVDF_INPUT)->data;
  const int8_t *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE)->data;
  int8_t *q = (int8_t *)(scratch + (size_t)d->batch * (size_t)d->filters);
  memset(scratch, 0, (size_t)d->batch * (size_t)d->filters * sizeof(float));
  for (int32_t b = 0; b < d->batch; b++) {
    const float *x = input + (size_t)b * (size_t)d->input_size;
    tfl_hybrid_row row;
    int nonzero = 0;
    for (int32_t c = 0; c < d->input_size && !nonzero; c++) nonzero = x[c] != 0.0f;
    if (!nonzero) continue;
    if (d->asymmetric)
      tfl_hybrid_quantize_asymmetric(x, (size_t)d->input_size, q, &row);
    else
      tfl_hybrid_quantize_symmetric(x, (size_t)d->input_size, q, &row);
    tfl_hybrid_matvec_acc(wf, d->filters, d->input_size, q, row.zero_point,
                          row.scale * d->feature_scale, scratch + (size_t)b * (size_t)d->filters);
  }
  svdf_store_newest_f32(d, scratch, state);
}

/* ---- integer ------------------------------------------------------------------------ */

static void svdf_eval_integer(tfl_context *ctx, const tfl_node *node, const svdf_data *d,
                              int16_t *state, int32_t *scratch) {
  const int8_t *input = tfl_node_input(ctx, node, SVDF_INPUT)->data;
  const int8_t *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE)->data;
  const int16_t *wt = tfl_node_input(ctx, node, SVDF_WEIGHTS_TIME)->data;
  const tfl_tensor *bias_t = tfl_node_input(ctx, node, SVDF_BIAS);
  const int32_t *bias = bias_t ? bias_t->data : NULL;
  int8_t *output = tfl_node_output(ctx, node, 0)->data;
  const int32_t m = d->memory;
  for (int32_t b = 0; b < d->batch; b++) {
    const int8_t *x = input + (size_t)b * (size_t)d->input_size;
    int16_t *hist = state + (size_t)b * (size_t)d->filters * (size_t)m;
    int32_t *s = scratch + (size_t)b * (size_t)d->filters;
    for (int32_t f = 0; f < d->filters; f++, hist += m) {
      const int8_t *w = wf + (size_t)f * (size_t)d->input_size;
      uint32_t dot = 0; /* TFLite's int32 sum, wrapping */
      for (int32_t c = 0; c < d->input_size; c++)
        dot += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] - d->input_zp));
      int32_t v = tfl_mul_by_quantized_multiplier((int32_t)dot, d->feature_mult, d->feature_shift);
      hist[m - 1] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
      const int16_t *wt_f = wt + (size_t)f * (size_t)m;
      uint32_t t = 0;
      for (int32_t k = 0; k < m; k++) t += (uint32_t)((int32_t)wt_f[k] * (int32_t)hist[k]);
      s[f] = (int32_t)t;
    }
    int8_t *out = output + (size_t)b * (size_t)d->units;
    for (int32_t u = 0; u < d->units; u++) {
      uint32_t sum = 0;
      for (int32_t r = 0; r < d->rank; r++) sum += (uint32_t)s[u * d->rank + r];
      if (bias) sum += (uint32_t)bias[u];
      const int32_t v =
          tfl_mul_by_quantized_multiplier((int32_t)sum, d->output_mult, d->output_shift) +
          d->output_zp;
      out[u] = (int8_t)(v > INT8_MAX ? INT8_MAX : v < INT8_MIN ? INT8_MIN : v);
    }
  }
}

static tfl_status svdf_eval(tfl_context *ctx, tfl_node *node) {
  const svdf_data *d = node->user_data;
  if (d->batch == 0 || d->units == 0) return TFL_OK;
  tfl_tensor *state = tfl_node_input(ctx, node, SVDF_STATE);
  void *scratch = tfl_context_scratch(ctx, node, d->scratch);
  const size_t count = (size_t)d->batch * (size_t)d->filters * (size_t)d->memory;
  if (d->kind == SVDF_INTEGER) {
    svdf_shift_state(state->data, count, sizeof(int16_t));
    svdf_eval_integer(ctx, node, d, state->data, scratch);
    return TFL_OK;
  }
  svdf_shift_state(state->data, count, sizeof(float));
  if (d->kind == SVDF_HYBRID)
    svdf_eval_hybrid(ctx, node, d, state->data, scratch);
  else
    svdf_eval_float(ctx, node, d, state->data, scratch);
  const tfl_tensor *bias = tfl_node_input(ctx, node, SVDF_BIAS);
  svdf_time_and_output(d, tfl_node_input(ctx, node, SVDF_WEIGHTS_TIME)->data,
                       bias ? bias->data : NULL, state->data, scratch,
                       tfl_node_output(ctx, node, 0)->data);
  return TFL_OK;
}

/* ---- prepare ----------------------------------------------------------------------- */

/* Per-tensor scale of a quantized tensor the kind needs one from. */
static tfl_status svdf_scale(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                             const char *what, float *scale) {
  if (t->quant.count > 1)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "per-channel quantization of %s is not supported", what);
  if (t->quant.count != 1 || !(t->quant.scale[0] > 0.0f))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%s must be quantized with a positive scale", what);
  *scale = t->quant.scale[0];
  return TFL_OK;
}

/* Expected types per tensor for each kind: input, weights_feature, weights_time, bias, state,
 * output. */
static const tfl_type svdf_types[3][6] = {
    [SVDF_FLOAT] = {TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32},
    [SVDF_HYBRID] = {TFL_FLOAT32, TFL_INT8, TFL_INT8, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32},
    [SVDF_INTEGER] = {TFL_INT8, TFL_INT8, TFL_INT16, TFL_INT32, TFL_INT16, TFL_INT8},
};
static const char *const svdf_names[6] = {"input", "weights_feature", "weights_time",
                                          "bias",  "state",           "output"};

static tfl_status svdf_kind_of(tfl_context *ctx, const tfl_node *node, svdf_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, SVDF_INPUT);
  const tfl_tensor *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE);
  if (input->type == TFL_FLOAT32 && wf->type == TFL_FLOAT32)
    d->kind = SVDF_FLOAT;
  else if (input->type == TFL_FLOAT32 && wf->type == TFL_INT8)
    d->kind = SVDF_HYBRID;
  else if (input->type == TFL_INT8 && wf->type == TFL_INT8)
    d->kind = SVDF_INTEGER;
  else
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "%s input with %s weights_feature is not supported",
                            tfl_type_name(input->type), tfl_type_name(wf->type));
  const tfl_tensor *tensors[6] = {input,
                                  wf,
                                  tfl_node_input(ctx, node, SVDF_WEIGHTS_TIME),
                                  tfl_node_input(ctx, node, SVDF_BIAS),
                                  tfl_node_input(ctx, node, SVDF_STATE),
                                  tfl_node_output(ctx, node, 0)};
  for (int i = 0; i < 6; i++) {
    if (!tensors[i]) continue; /* the bias is optional; the others are checked present */
    const tfl_status st =
        tfl_check_type(ctx, node, tensors[i], svdf_names[i], svdf_types[d->kind][i]);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Shapes: input [batch, input_size], weights_feature [filters, input_size], weights_time
 * [filters, memory], bias [units], state [batch, memory * filters] (TFLite's checks). */
static tfl_status svdf_shapes(tfl_context *ctx, const tfl_node *node, svdf_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, SVDF_INPUT);
  const tfl_tensor *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE);
  const tfl_tensor *wt = tfl_node_input(ctx, node, SVDF_WEIGHTS_TIME);
  const tfl_tensor *bias = tfl_node_input(ctx, node, SVDF_BIAS);
  const tfl_tensor *state = tfl_node_input(ctx, node, SVDF_STATE);
  if (input->ndim != 2 || wf->ndim != 2 || wt->ndim != 2)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input, weights_feature and weights_time must be 2-D");
  d->batch = input->dims[0];
  d->input_size = input->dims[1];
  d->filters = wf->dims[0];
  d->memory = wt->dims[1];
  if (d->rank < 1 || d->filters % d->rank != 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "rank (%d) must be positive and divide the %d filters", (int)d->rank,
                            (int)d->filters);
  d->units = d->filters / d->rank;
  if (wf->dims[1] != d->input_size || wt->dims[0] != d->filters || d->memory < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "weights_feature must be [filters, %d] and weights_time [%d, memory "
                            ">= 1]",
                            (int)d->input_size, (int)d->filters);
  if (bias && (bias->ndim != 1 || bias->dims[0] != d->units))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "bias must have shape [%d]",
                            (int)d->units);
  if (tfl_tensor_is_constant(state))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the state (input 4) must be a variable tensor, not a constant");
  if (state->ndim != 2 || state->dims[0] != d->batch ||
      (int64_t)state->dims[1] != (int64_t)d->memory * d->filters)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the state must have shape [%d, %lld] (batch, memory * filters)",
                            (int)d->batch, (long long)d->memory * d->filters);
  return TFL_OK;
}

/* Quantization parameters: hybrid weight scales; integer multipliers, formed as TFLite does
 * (scale products and quotients in float, then split). */
static tfl_status svdf_quant_prepare(tfl_context *ctx, const tfl_node *node, svdf_data *d) {
  const tfl_tensor *wf = tfl_node_input(ctx, node, SVDF_WEIGHTS_FEATURE);
  const tfl_tensor *wt = tfl_node_input(ctx, node, SVDF_WEIGHTS_TIME);
  tfl_status st = svdf_scale(ctx, node, wf, "weights_feature", &d->feature_scale);
  if (st == TFL_OK) st = svdf_scale(ctx, node, wt, "weights_time", &d->time_scale);
  if (st != TFL_OK || d->kind == SVDF_HYBRID) return st;
  if (d->act != TFL_ACT_RELU)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "the integer SVDF supports only the RELU activation");
  const tfl_tensor *input = tfl_node_input(ctx, node, SVDF_INPUT);
  const tfl_tensor *state = tfl_node_input(ctx, node, SVDF_STATE);
  const tfl_tensor *output = tfl_node_output(ctx, node, 0);
  float in_scale = 1.0f, state_scale = 1.0f, out_scale = 1.0f;
  st = svdf_scale(ctx, node, input, "input", &in_scale);
  if (st == TFL_OK) st = svdf_scale(ctx, node, state, "state", &state_scale);
  if (st == TFL_OK) st = svdf_scale(ctx, node, output, "output", &out_scale);
  if (st != TFL_OK) return st;
  d->input_zp = input->quant.zero_point[0];
  d->output_zp = output->quant.zero_point[0];
  tfl_quantize_multiplier(in_scale * d->feature_scale / state_scale, &d->feature_mult,
                          &d->feature_shift);
  tfl_quantize_multiplier(state_scale * d->time_scale / out_scale, &d->output_mult,
                          &d->output_shift);
  return TFL_OK;
}

/* filters values (float, or int32 for the integer kind) per batch row; hybrid: then one
 * quantized input row. */
static tfl_status svdf_request_scratch(tfl_context *ctx, tfl_node *node, svdf_data *d) {
  const size_t per_row = (size_t)d->filters * sizeof(float); /* filters <= INT32_MAX */
  const size_t extra = d->kind == SVDF_HYBRID ? (size_t)d->input_size : 0;
  if ((size_t)d->batch > (SIZE_MAX - extra) / per_row)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "SVDF scratch size overflows");
  const size_t bytes = (size_t)d->batch * per_row + extra;
  return tfl_context_request_scratch(ctx, node, bytes ? bytes : 1, &d->scratch);
}

static tfl_status svdf_prepare(tfl_context *ctx, tfl_node *node) {
  svdf_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  if (node->num_inputs != SVDF_INPUTS || node->num_outputs != 1 ||
      !tfl_node_output(ctx, node, 0))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "expects 5 inputs and 1 output, has %d and %d", node->num_inputs,
                            node->num_outputs);
  for (int i = 0; i < SVDF_INPUTS; i++)
    if (i != SVDF_BIAS && !tfl_node_input(ctx, node, i))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) is required", i,
                              svdf_names[i]);
  if (tfl_opt_type(node) != 0 && tfl_opt_type(node) != TFL_OPTS_SVDF)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d", tfl_opt_type(node),
                            TFL_OPTS_SVDF);
  d->rank = tfl_opt_int(node, SVDF_OPT_RANK, 0);
  d->act = tfl_opt_int(node, SVDF_OPT_ACTIVATION, TFL_ACT_NONE);
  d->asymmetric = tfl_opt_bool(node, SVDF_OPT_ASYMMETRIC, 0);
  tfl_status st = tfl_check_activation(ctx, node, d->act);
  if (st == TFL_OK) st = svdf_kind_of(ctx, node, d);
  if (st == TFL_OK) st = svdf_shapes(ctx, node, d);
  if (st == TFL_OK && d->kind != SVDF_FLOAT) st = svdf_quant_prepare(ctx, node, d);
  if (st != TFL_OK) return st;
  int32_t dims[2] = {d->batch, d->units};
  st = tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 2, dims);
  if (st == TFL_OK) st = svdf_request_scratch(ctx, node, d);
  return st;
}

static const tfl_op_registration svdf_op = {
    .name = "SVDF",
    .builtin_code = TFL_OP_SVDF,
    .version_min = 1,
    .version_max = 4,
    .data_size = sizeof(svdf_data),
    .prepare = svdf_prepare,
    .eval = svdf_eval,
    .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8),
};

const tfl_op_registration *const tfl_kernels_svdf[] = {&svdf_op, NULL};
