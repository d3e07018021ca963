/* RNN, UNIDIRECTIONAL_SEQUENCE_RNN and BIDIRECTIONAL_SEQUENCE_RNN: fully connected recurrent
 * cells, float32 or hybrid (float activations, int8 weights), as TensorFlow Lite computes
 * them (kernel_utils' RnnBatchStep).
 *
 * One step of a cell with `units` outputs, for each batch row:
 *   out = activation(bias + W x + W_aux aux + W_rec h);  h = out
 * where h, the hidden state, is a variable tensor [batch, units] that keeps its value across
 * invokes. In float each product is a dot product summed from zero in order, added to the
 * output in the order input, aux input, recurrent. Hybrid: each row (of the input, aux input
 * and hidden state) is quantized to int8 on the fly (symmetrically, or asymmetrically with
 * asymmetric_quantize_inputs; hybrid.h), and the output gains float(int32 dot) * row_scale *
 * weight_scale; an all-zero row adds nothing. Weight scales are the per-tensor ones.
 *
 * RNN: input [batch, input_size], one step. The sequence ops take [time, batch, input_size]
 * (time_major) or [batch, time, input_size] and emit the output of every step in the same
 * layout. BIDIRECTIONAL_SEQUENCE_RNN runs a forward cell over time and a backward cell from the
 * last step to the first; with merge_outputs its single output holds both, forward units
 * first. Its optional aux input (with aux weights for both cells) feeds both cells
 * ("stacking"); without aux weights the aux input is the backward cell's input instead.
 * TFLite quirks reproduced: in the batch-major layout the backward cell reads the main input
 * even then, and the time-major hybrid kernel runs both passes time-many times over (its
 * loops are nested), so the state advances time^2 steps per invoke. An aux input whose size
 * differs from the input's is accepted only where TFLite reads it with its own stride (float,
 * batch-major). */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/hybrid.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Input slots of one cell (-1: absent). */
typedef struct rnn_slots {
  int w, rec, bias, hidden, aux_w;
} rnn_slots;

typedef struct rnn_cell {
  rnn_slots s;
  int32_t units;
  float w_scale, rec_scale, aux_scale; /* hybrid */
} rnn_cell;

typedef struct rnn_data {
  int hybrid, asymmetric, act, time_major;
  int32_t batch, time, input_size, aux_size;
  int n_cells;
  rnn_cell cell[2]; /* forward, backward */
  int aux_input;    /* slot of the aux input the cells read, or -1 */
  int bw_input;     /* slot the backward cell reads */
  int merge;        /* bidirectional: one output for both cells */
  int repeats;      /* passes per invoke (see the quirks in the file comment) */
  int scratch;      /* hybrid: one quantized row */
} rnn_data;

/* ---- one step ---------------------------------------------------------------------------- */

/* Rows of a [time, batch, n] or [batch, time, n] tensor at one step. */
typedef struct rnn_rows {
  const float *first;
  size_t stride; /* between batch rows */
} rnn_rows;

static rnn_rows rnn_step_rows(const rnn_data *d, const float *base, size_t n, int32_t t) {
  rnn_rows r;
  if (d->time_major) {
    r.first = base + (size_t)t * (size_t)d->batch * n;
    r.stride = n;
  } else {
    r.first = base + (size_t)t * n;
    r.stride = (size_t)d->time * n;
  }
  return r;
}

typedef struct rnn_eval_ctx {
  const rnn_data *d;
  int8_t *q; /* hybrid: a quantized row */
} rnn_eval_ctx;

static void rnn_matvec_f32(const float *w, int32_t rows, int32_t cols, const float *x, float *out) {
  for (int32_t r = 0; r < rows; r++, w += cols) {
    float dot = 0.0f;
    for (int32_t c = 0; c < cols; c++) dot += w[c] * x[c];
    out[r] += dot;
  }
}

/* out += W x for one row x of n values: float, or hybrid with the weight scale. */
static void rnn_accumulate(const rnn_eval_ctx *e, const void *w, float w_scale, int32_t units,
                           const float *x, int32_t n, float *out) {
  if (!e->d->hybrid) {
    rnn_matvec_f32(w, units, n, x, out);
    return;
  }
  int nonzero = 0;
  for (int32_t c = 0; c < n && !nonzero; c++) nonzero = x[c] != 0.0f;
  if (!nonzero) return;
  tfl_hybrid_row row;
  if (e->d->asymmetric)
    tfl_hybrid_quantize_asymmetric(x, (size_t)n, e->q, &row);
  else
    tfl_hybrid_quantize_symmetric(x, (size_t)n, e->q, &row);
  tfl_hybrid_matvec_acc(w, units, n, e->q, row.zero_point, row.scale * w_scale, out);
}

/* Tensor data of a cell, resolved for this invoke. */
typedef struct rnn_cell_data {
  const rnn_cell *c;
  const void *w, *rec, *aux_w;
  const float *bias;
  float *hidden;
} rnn_cell_data;

/* One step of a cell for every batch row. */
static void rnn_step(const rnn_eval_ctx *e, const rnn_cell_data *cd, rnn_rows x, rnn_rows aux,
                     float *out, size_t out_stride) {
  const rnn_data *d = e->d;
  const rnn_cell *c = cd->c;
  const int32_t u = c->units;
  for (int32_t b = 0; b < d->batch; b++) {
    float *o = out + (size_t)b * out_stride;
    float *h = cd->hidden + (size_t)b * (size_t)u;
    memcpy(o, cd->bias, (size_t)u * sizeof(float));
    rnn_accumulate(e, cd->w, c->w_scale, u, x.first + (size_t)b * x.stride, d->input_size, o);
    if (cd->aux_w)
      rnn_accumulate(e, cd->aux_w, c->aux_scale, u, aux.first + (size_t)b * aux.stride, d->aux_size,
                     o);
    rnn_accumulate(e, cd->rec, c->rec_scale, u, h, u, o);
    tfl_activation_apply_f32(d->act, o, (size_t)u);
    memcpy(h, o, (size_t)u * sizeof(float));
  }
}

/* A whole pass of a cell over time (backward: from the last step), writing its units at
 * column `col` of rows of `out_width` values. */
static void rnn_pass(const rnn_eval_ctx *e, const rnn_cell_data *cd, const float *x,
                     const float *aux, float *out, int32_t out_width, int32_t col, int backward) {
  const rnn_data *d = e->d;
  for (int32_t i = 0; i < d->time; i++) {
    const int32_t t = backward ? d->time - 1 - i : i;
    const rnn_rows xr = rnn_step_rows(d, x, (size_t)d->input_size, t);
    const rnn_rows ar = aux ? rnn_step_rows(d, aux, (size_t)d->aux_size, t) : (rnn_rows){0};
    const rnn_rows orow = rnn_step_rows(d, out, (size_t)out_width, t);
    rnn_step(e, cd, xr, ar, (float *)orow.first + col, orow.stride);
  }
}

static const void *rnn_data_of(tfl_context *ctx, const tfl_node *node, int slot) {
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  return t ? t->data : NULL;
}

static rnn_cell_data rnn_resolve(tfl_context *ctx, const tfl_node *node, const rnn_cell *c) {
  rnn_cell_data cd = {.c = c,
                      .w = rnn_data_of(ctx, node, c->s.w),
                      .rec = rnn_data_of(ctx, node, c->s.rec),
                      .aux_w = rnn_data_of(ctx, node, c->s.aux_w),
                      .bias = rnn_data_of(ctx, node, c->s.bias)};
  cd.hidden = tfl_node_input(ctx, node, c->s.hidden)->data;
  return cd;
}

static tfl_status rnn_eval(tfl_context *ctx, tfl_node *node) {
  const rnn_data *d = node->user_data;
  const rnn_eval_ctx e = {.d = d,
                          .q = d->hybrid ? tfl_context_scratch(ctx, node, d->scratch) : NULL};
  const float *x = rnn_data_of(ctx, node, 0);
  const float *aux = rnn_data_of(ctx, node, d->aux_input);
  const int32_t fw_units = d->cell[0].units;
  const int32_t width = d->merge ? fw_units + d->cell[1].units : fw_units;
  float *fw_out = tfl_node_output(ctx, node, 0)->data;
  const rnn_cell_data fw = rnn_resolve(ctx, node, &d->cell[0]);
  for (int r = 0; r < d->repeats; r++) rnn_pass(&e, &fw, x, aux, fw_out, width, 0, 0);
  if (d->n_cells < 2) return TFL_OK;
  const rnn_cell_data bw = rnn_resolve(ctx, node, &d->cell[1]);
  const float *bw_x = rnn_data_of(ctx, node, d->bw_input);
  float *bw_out = d->merge ? fw_out : tfl_node_output(ctx, node, 1)->data;
  const int32_t bw_width = d->merge ? width : d->cell[1].units;
  for (int r = 0; r < d->repeats; r++)
    rnn_pass(&e, &bw, bw_x, aux, bw_out, bw_width, d->merge ? fw_units : 0, 1);
  return TFL_OK;
}

/* ---- prepare ----------------------------------------------------------------------------- */

static tfl_status rnn_need(tfl_context *ctx, const tfl_node *node, int slot, const char *what,
                           const tfl_tensor **t) {
  *t = tfl_node_input(ctx, node, slot);
  if (*t) return TFL_OK;
  return tfl_context_error(ctx, node, "input %d (%s) is required", slot, what);
}

static tfl_status rnn_check_matrix(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                   const char *what, int32_t rows, int32_t cols) {
  if (t->ndim == 2 && t->dims[0] == rows && t->dims[1] == cols) return TFL_OK;
  return tfl_context_error(ctx, node, "%s '%s' must have shape [%d, %d]", what, t->name, (int)rows,
                           (int)cols);
}

/* The weights' element type decides float or hybrid; all weights of the op share it. */
static tfl_status rnn_check_weights(tfl_context *ctx, const tfl_node *node, rnn_data *d,
                                    const tfl_tensor *w, const char *what, float *scale) {
  const tfl_type want = d->hybrid ? TFL_INT8 : TFL_FLOAT32;
  if (w->type != want)
    return tfl_context_fail(ctx, node, w->type == TFL_UINT8 ? TFL_UNSUPPORTED : TFL_INVALID_MODEL,
                            "%s '%s' has type %s; the cell's weights must all be %s", what, w->name,
                            tfl_type_name(w->type), tfl_type_name(want));
  int32_t unused;
  tfl_quant_params(w, scale, &unused);
  return TFL_OK;
}

static tfl_status rnn_prepare_cell(tfl_context *ctx, const tfl_node *node, rnn_data *d,
                                   rnn_cell *c) {
  const tfl_tensor *w, *rec, *bias, *hidden;
  tfl_status st = rnn_need(ctx, node, c->s.w, "weights", &w);
  if (st == TFL_OK) st = rnn_need(ctx, node, c->s.rec, "recurrent weights", &rec);
  if (st == TFL_OK) st = rnn_need(ctx, node, c->s.bias, "bias", &bias);
  if (st == TFL_OK) st = rnn_need(ctx, node, c->s.hidden, "hidden state", &hidden);
  if (st != TFL_OK) return st;
  if (w->ndim != 2) return tfl_context_error(ctx, node, "weights '%s' must be 2-D", w->name);
  c->units = w->dims[0];
  st = rnn_check_matrix(ctx, node, w, "weights", c->units, d->input_size);
  if (st == TFL_OK) st = rnn_check_matrix(ctx, node, rec, "recurrent weights", c->units, c->units);
  if (st == TFL_OK) st = rnn_check_matrix(ctx, node, hidden, "hidden state", d->batch, c->units);
  if (st == TFL_OK) st = rnn_check_weights(ctx, node, d, w, "weights", &c->w_scale);
  if (st == TFL_OK) st = rnn_check_weights(ctx, node, d, rec, "recurrent weights", &c->rec_scale);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, bias, "bias", TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, hidden, "hidden state", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  if (bias->ndim != 1 || bias->dims[0] != c->units)
    return tfl_context_error(ctx, node, "bias '%s' must have shape [%d]", bias->name,
                             (int)c->units);
  if (hidden->alloc != TFL_ALLOC_VARIABLE)
    return tfl_context_error(ctx, node, "the hidden state '%s' must be a variable tensor",
                             hidden->name);
  if (c->s.aux_w < 0) return TFL_OK;
  const tfl_tensor *aux_w = tfl_node_input(ctx, node, c->s.aux_w);
  st = rnn_check_matrix(ctx, node, aux_w, "aux weights", c->units, d->aux_size);
  if (st == TFL_OK) st = rnn_check_weights(ctx, node, d, aux_w, "aux weights", &c->aux_scale);
  return st;
}

/* Common to the three ops: the input, the kind (from the first cell's weights), the options
 * read by the caller into d, then every cell. */
static tfl_status rnn_prepare_common(tfl_context *ctx, tfl_node *node, rnn_data *d) {
  const tfl_tensor *input, *w;
  tfl_status st = rnn_need(ctx, node, 0, "input", &input);
  if (st == TFL_OK) st = rnn_need(ctx, node, d->cell[0].s.w, "weights", &w);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, input, "input", TFL_FLOAT32);
  if (st == TFL_OK) st = tfl_check_activation(ctx, node, d->act);
  if (st != TFL_OK) return st;
  d->hybrid = w->type != TFL_FLOAT32;
  for (int i = 0; i < d->n_cells && st == TFL_OK; i++)
    st = rnn_prepare_cell(ctx, node, d, &d->cell[i]);
  if (st != TFL_OK || !d->hybrid) return st;
  int32_t longest = d->input_size > d->aux_size ? d->input_size : d->aux_size;
  for (int i = 0; i < d->n_cells; i++)
    if (d->cell[i].units > longest) longest = d->cell[i].units;
  return tfl_context_request_scratch(ctx, node, (size_t)longest, &d->scratch);
}

/* Output i: [time, batch, units] / [batch, time, units] (RNN: [batch, units]). */
static tfl_status rnn_resize_output(tfl_context *ctx, const tfl_node *node, const rnn_data *d,
                                    int i, int sequence, int32_t units) {
  tfl_tensor *out = tfl_node_output(ctx, node, i);
  if (!out) return tfl_context_error(ctx, node, "output %d is required", i);
  tfl_status st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  if (st != TFL_OK) return st;
  if (!sequence) {
    const int32_t dims[2] = {d->batch, units};
    return tfl_context_resize(ctx, out, 2, dims);
  }
  const int32_t dims[3] = {d->time_major ? d->time : d->batch, d->time_major ? d->batch : d->time,
                           units};
  return tfl_context_resize(ctx, out, 3, dims);
}

/* The sequence input [time, batch, n] or [batch, time, n]. */
static tfl_status rnn_sequence_shape(tfl_context *ctx, const tfl_node *node, rnn_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  if (!input || input->ndim != 3) return tfl_context_error(ctx, node, "the input must be 3-D");
  d->time = d->time_major ? input->dims[0] : input->dims[1];
  d->batch = d->time_major ? input->dims[1] : input->dims[0];
  d->input_size = input->dims[2];
  return TFL_OK;
}

static void rnn_reset(rnn_data *d) {
  memset(d, 0, sizeof(*d));
  d->n_cells = 1;
  d->repeats = 1;
  d->aux_input = -1;
  d->cell[0].s = (rnn_slots){.w = 1, .rec = 2, .bias = 3, .hidden = 4, .aux_w = -1};
}

static tfl_status rnn_check_options(tfl_context *ctx, const tfl_node *node, int type) {
  if (tfl_opt_type(node) == 0 || tfl_opt_type(node) == type) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                          "builtin options have union type %d, expected %d", tfl_opt_type(node),
                          type);
}

/* RNNOptions: activation, asymmetric_quantize_inputs. */
static tfl_status rnn_prepare(tfl_context *ctx, tfl_node *node) {
  rnn_data *d = node->user_data;
  rnn_reset(d);
  tfl_status st = tfl_check_io(ctx, node, 5, 5, 1);
  if (st == TFL_OK) st = rnn_check_options(ctx, node, TFL_OPTS_RNN);
  if (st != TFL_OK) return st;
  d->act = tfl_opt_int(node, 0, TFL_ACT_NONE);
  d->asymmetric = tfl_opt_bool(node, 1, 0);
  d->time_major = 1;
  d->time = 1;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  if (!input || input->ndim != 2) return tfl_context_error(ctx, node, "the input must be 2-D");
  d->batch = input->dims[0];
  d->input_size = input->dims[1];
  st = rnn_prepare_common(ctx, node, d);
  if (st == TFL_OK) st = rnn_resize_output(ctx, node, d, 0, 0, d->cell[0].units);
  return st;
}

/* SequenceRNNOptions: time_major, activation, asymmetric_quantize_inputs. */
static tfl_status rnn_uni_prepare(tfl_context *ctx, tfl_node *node) {
  rnn_data *d = node->user_data;
  rnn_reset(d);
  tfl_status st = tfl_check_io(ctx, node, 5, 5, 1);
  if (st == TFL_OK) st = rnn_check_options(ctx, node, TFL_OPTS_SEQUENCE_RNN);
  if (st != TFL_OK) return st;
  d->time_major = tfl_opt_bool(node, 0, 0);
  d->act = tfl_opt_int(node, 1, TFL_ACT_NONE);
  d->asymmetric = tfl_opt_bool(node, 2, 0);
  st = rnn_sequence_shape(ctx, node, d);
  if (st == TFL_OK) st = rnn_prepare_common(ctx, node, d);
  if (st == TFL_OK) st = rnn_resize_output(ctx, node, d, 0, 1, d->cell[0].units);
  return st;
}

enum { BIRNN_AUX_INPUT = 9, BIRNN_FW_AUX_W = 10, BIRNN_BW_AUX_W = 11, BIRNN_INPUTS = 12 };

/* Where the bidirectional op's aux input goes (see the file comment). */
static tfl_status birnn_aux(tfl_context *ctx, const tfl_node *node, rnn_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *aux = tfl_node_input(ctx, node, BIRNN_AUX_INPUT);
  const int fw_w = tfl_node_input(ctx, node, BIRNN_FW_AUX_W) != NULL;
  const int bw_w = tfl_node_input(ctx, node, BIRNN_BW_AUX_W) != NULL;
  if (fw_w != bw_w)
    return tfl_context_error(ctx, node, "aux weights must be given for both cells or neither");
  if (!aux) {
    if (fw_w) return tfl_context_error(ctx, node, "aux weights need the aux input");
    return TFL_OK;
  }
  if (aux->ndim != 3 || aux->dims[0] != input->dims[0] || aux->dims[1] != input->dims[1])
    return tfl_context_error(ctx, node,
                             "aux input '%s' must be 3-D with the input's first two "
                             "dimensions",
                             aux->name);
  if (!fw_w) {
    /* No aux weights: the aux input is the backward cell's input (time-major only). */
    if (aux->dims[2] != d->input_size)
      return tfl_context_error(ctx, node, "aux input '%s' must have the input's shape", aux->name);
    if (d->time_major) d->bw_input = BIRNN_AUX_INPUT;
    return TFL_OK;
  }
  d->aux_input = BIRNN_AUX_INPUT;
  d->aux_size = aux->dims[2];
  d->cell[0].s.aux_w = BIRNN_FW_AUX_W;
  d->cell[1].s.aux_w = BIRNN_BW_AUX_W;
  return TFL_OK;
}

/* BidirectionalSequenceRNNOptions: time_major, activation, merge_outputs,
 * asymmetric_quantize_inputs. */
static tfl_status birnn_prepare(tfl_context *ctx, tfl_node *node) {
  rnn_data *d = node->user_data;
  rnn_reset(d);
  tfl_status st = rnn_check_options(ctx, node, TFL_OPTS_BIDIRECTIONAL_SEQUENCE_RNN);
  if (st != TFL_OK) return st;
  d->time_major = tfl_opt_bool(node, 0, 0);
  d->act = tfl_opt_int(node, 1, TFL_ACT_NONE);
  d->merge = tfl_opt_bool(node, 2, 0);
  d->asymmetric = tfl_opt_bool(node, 3, 0);
  /* Inputs 9 to 11 are optional but, as in TFLite, must be listed (possibly as -1). */
  st = tfl_check_io(ctx, node, BIRNN_AUX_INPUT, BIRNN_INPUTS, d->merge ? 1 : 2);
  if (st == TFL_OK && node->num_inputs != BIRNN_INPUTS)
    st = tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d inputs, has %d", BIRNN_INPUTS,
                          node->num_inputs);
  if (st == TFL_OK) st = rnn_sequence_shape(ctx, node, d);
  if (st != TFL_OK) return st;
  d->n_cells = 2;
  d->bw_input = 0;
  d->cell[1].s = (rnn_slots){.w = 5, .rec = 6, .bias = 7, .hidden = 8, .aux_w = -1};
  st = birnn_aux(ctx, node, d);
  if (st == TFL_OK) st = rnn_prepare_common(ctx, node, d);
  if (st != TFL_OK) return st;
  if (d->aux_input >= 0 && d->aux_size != d->input_size && (d->time_major || d->hybrid))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "an aux input of %d values per step, unlike the input's %d, is "
                            "supported only for float batch-major sequences",
                            (int)d->aux_size, (int)d->input_size);
  if (d->hybrid && d->time_major) d->repeats = d->time;
  const int32_t fw = d->cell[0].units, bw = d->cell[1].units;
  st = rnn_resize_output(ctx, node, d, 0, 1, d->merge ? fw + bw : fw);
  if (st == TFL_OK && !d->merge) st = rnn_resize_output(ctx, node, d, 1, 1, bw);
  return st;
}

static const tfl_op_registration rnn_op = {
    .name = "RNN",
    .builtin_code = TFL_OP_RNN,
    .version_min = 1,
    .version_max = 3,
    .data_size = sizeof(rnn_data),
    .prepare = rnn_prepare,
    .eval = rnn_eval,
    .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_INT8),
};

static const tfl_op_registration rnn_uni_op = {
    .name = "UNIDIRECTIONAL_SEQUENCE_RNN",
    .builtin_code = TFL_OP_UNIDIRECTIONAL_SEQUENCE_RNN,
    .version_min = 1,
    .version_max = 3,
    .data_size = sizeof(rnn_data),
    .prepare = rnn_uni_prepare,
    .eval = rnn_eval,
    .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_INT8),
};

static const tfl_op_registration birnn_op = {
    .name = "BIDIRECTIONAL_SEQUENCE_RNN",
    .builtin_code = TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN,
    .version_min = 1,
    .version_max = 3,
    .data_size = sizeof(rnn_data),
    .prepare = birnn_prepare,
    .eval = rnn_eval,
    .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPE_BIT(TFL_FLOAT32) | TFL_TYPE_BIT(TFL_INT8),
};

const tfl_op_registration *const tfl_kernels_rnn[] = {&rnn_op, &rnn_uni_op, &birnn_op, NULL};
