/* LSTM (one step, "full" kernel), UNIDIRECTIONAL_SEQUENCE_LSTM and
 * BIDIRECTIONAL_SEQUENCE_LSTM, float32.
 *
 * One cell, per batch row and time step, as TFLite's float lstm_eval computes it (x the input,
 * h the output state, c the cell state; W, R, p, b a gate's input, recurrent, peephole weights
 * and bias; act the fused activation, usually TANH):
 *   i = sigmoid(W_i x + R_i h + p_i .* c + b_i)      CIFG (no input weights): i = 1 - f
 *   f = sigmoid(W_f x + R_f h + p_f .* c + b_f)
 *   g = act(W_c x + R_c h + b_c)
 *   c = clip(f .* c + i .* g, cell_clip)
 *   o = sigmoid(W_o x + R_o h + p_o .* c + b_o)      the peephole sees the new c
 *   h = o .* act(c), or with projection h = clip(P (o .* act(c)) + pb, proj_clip)
 * and the output row is h. Clips apply when > 0. With layer norm a gate's sum without the
 * bias is normalized to zero mean and unit variance (epsilon 1e-8 on the variance), scaled by
 * the gate's coefficients, and then the bias is added. Diagonal recurrent weights
 * (UNIDIRECTIONAL_SEQUENCE_LSTM, 1-D R) make R h an elementwise product. BIDIRECTIONAL runs a
 * forward cell and then a backward cell (time reversed); an auxiliary input with its own
 * weights feeds both cells, or, without aux weights, it is the backward cell's input.
 *
 * Sums are formed in TFLite's order: a gate starts at its bias (0 with layer norm), each
 * matrix-vector product is summed on its own and then added; products with an all-zero input
 * row are skipped, as TFLite does. Input rows are [time, batch] (time_major) or [batch, time];
 * the rows of one time step are independent, so both layouts run one step for all batches.
 *
 * The output and cell states are inputs the op overwrites: variable tensors, which the runtime
 * zeroes at allocation and which keep their values across invokes.
 *
 * Differences from TFLite, only where TFLite misbehaves: activation NONE is the identity here
 * (TFLite then leaves stale scratch values in the cell gate and the output); batch-major
 * merged BIDIRECTIONAL outputs with several batches keep each direction's states separate
 * (TFLite writes the forward state at the merged row stride, past its end); an auxiliary input
 * narrower or wider than the input is read at its own row size.
 *
 * Hybrid (int8 weights with float input) and integer LSTMs are recognized in prepare and
 * reported as TFL_UNSUPPORTED; they get their own prepare/eval paths beside the float one. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/families.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { LSTM_GATE_I, LSTM_GATE_F, LSTM_GATE_C, LSTM_GATE_O, LSTM_GATES };
static const char *const lstm_gate_names[LSTM_GATES] = {"input", "forget", "cell", "output"};

/* Option fields shared by LSTMOptions, UnidirectionalSequenceLSTMOptions and
 * BidirectionalSequenceLSTMOptions, then each table's own. */
enum { LSTM_OPT_ACTIVATION = 0, LSTM_OPT_CELL_CLIP = 1, LSTM_OPT_PROJ_CLIP = 2 };
enum { LSTM_OPT_KERNEL_TYPE = 3 };                           /* LSTMOptions: FULL 0, BASIC 1 */
enum { UNI_LSTM_OPT_TIME_MAJOR = 3 };                        /* default false */
enum { BIDI_LSTM_OPT_MERGE_OUTPUTS = 3, BIDI_LSTM_OPT_TIME_MAJOR = 4 }; /* default true */

/* Where one cell's tensors sit in the node's inputs; -1 where the op has no such input. */
typedef struct lstm_slots {
  const char *prefix; /* for messages: "", "fw_", "bw_" */
  int in_w[LSTM_GATES];  /* input-to-gate weights [n_cell, n_input]; input gate optional */
  int rec_w[LSTM_GATES]; /* recurrent-to-gate [n_cell, n_output], or diagonal [n_cell] */
  int peep[LSTM_GATES];  /* cell-to-gate (peephole) [n_cell]; the cell gate has none */
  int bias[LSTM_GATES];  /* [n_cell] */
  int ln[LSTM_GATES];    /* layer-norm coefficients [n_cell] */
  int aux_w[LSTM_GATES]; /* aux-input-to-gate weights [n_cell, n_aux] */
  int proj_w, proj_b;    /* [n_output, n_cell], [n_output] */
  int h_state, c_state;  /* variables: n_batch * n_output and n_batch * n_cell elements */
} lstm_slots;

/* LSTM and UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's lstm_shared.h). */
static const lstm_slots lstm_full_slots = {
    .prefix = "",
    .in_w = {1, 2, 3, 4},
    .rec_w = {5, 6, 7, 8},
    .peep = {9, 10, -1, 11},
    .bias = {12, 13, 14, 15},
    .ln = {20, 21, 22, 23},
    .aux_w = {-1, -1, -1, -1},
    .proj_w = 16,
    .proj_b = 17,
    .h_state = 18,
    .c_state = 19,
};

/* BIDIRECTIONAL_SEQUENCE_LSTM: forward then backward cell; input 39 is the aux input. */
enum { BIDI_LSTM_INPUTS = 48, BIDI_LSTM_AUX_INPUT = 39 };
static const lstm_slots lstm_bidi_slots[2] = {
    {
        .prefix = "fw_",
        .in_w = {1, 2, 3, 4},
        .rec_w = {5, 6, 7, 8},
        .peep = {9, 10, -1, 11},
        .bias = {12, 13, 14, 15},
        .ln = {-1, -1, -1, -1},
        .aux_w = {40, 41, 42, 43},
        .proj_w = 16,
        .proj_b = 17,
        .h_state = 35,
        .c_state = 36,
    },
    {
        .prefix = "bw_",
        .in_w = {18, 19, 20, 21},
        .rec_w = {22, 23, 24, 25},
        .peep = {26, 27, -1, 28},
        .bias = {29, 30, 31, 32},
        .ln = {-1, -1, -1, -1},
        .aux_w = {44, 45, 46, 47},
        .proj_w = 33,
        .proj_b = 34,
        .h_state = 37,
        .c_state = 38,
    },
};

/* The arithmetic, decided by the input and weight types. */
typedef enum lstm_kind {
  LSTM_FLOAT,   /* float32 input and weights */
  LSTM_HYBRID,  /* float32 input, int8/uint8 weights: not yet */
  LSTM_INTEGER  /* int8 input (8x8->16 or 8x8->8): not yet */
} lstm_kind;

/* One cell as prepare found it. */
typedef struct lstm_cell {
  const lstm_slots *slots;
  int32_t n_cell, n_output;
  int32_t n_aux; /* aux input columns; 0 when the cell has no aux weights */
  int cifg, peephole, layer_norm;
  int rec_diag[LSTM_GATES];
} lstm_cell;

typedef struct lstm_data {
  lstm_kind kind;
  int act;
  float cell_clip, proj_clip;
  int time_major;
  int32_t max_time, n_batch, n_input;
  int n_cells; /* 1, or 2 (forward, backward) */
  lstm_cell cells[2];
  int bw_input;      /* input index the backward cell reads: 0, or the aux input */
  int aux_input;     /* input index feeding the cells' aux weights, -1 if none */
  int merge_outputs; /* backward output goes into output 0 after the forward columns */
  int scratch;       /* gate buffers: 4 x n_batch x max n_cell floats */
} lstm_data;

/* ---- float arithmetic -------------------------------------------------------------- */

static int lstm_all_zero(const float *x, int32_t n) {
  for (int32_t k = 0; k < n; k++)
    if (x[k] != 0.0f) return 0;
  return 1;
}

/* acc[r] += sum_c w[r][c] * x[c]; each row's dot product is summed before it is added. */
static void lstm_matvec_acc(const float *w, int32_t rows, int32_t cols, const float *x,
                            float *acc) {
  for (int32_t r = 0; r < rows; r++, w += cols) {
    float dot = 0.0f;
    for (int32_t c = 0; c < cols; c++) dot += w[c] * x[c];
    acc[r] += dot;
  }
}

static void lstm_mul_acc(const float *w, const float *x, int32_t n, float *acc) {
  for (int32_t k = 0; k < n; k++) acc[k] += w[k] * x[k];
}

/* TFLite's clip: max(min(clip, x), -clip), which also turns NaN into +clip. */
static float lstm_clip(float x, float clip) {
  float v = x < clip ? x : clip;
  return v < -clip ? -clip : v;
}

static void lstm_sigmoid(float *x, size_t n) {
  for (size_t k = 0; k < n; k++) x[k] = 1.0f / (1.0f + expf(-x[k]));
}

static void lstm_layer_norm(float *v, int32_t n, const float *coef, const float *bias) {
  float sum = 0.0f;
  for (int32_t k = 0; k < n; k++) sum += v[k];
  const float mean = sum / (float)n;
  float sum_sq = 0.0f;
  for (int32_t k = 0; k < n; k++) {
    const float diff = v[k] - mean;
    sum_sq += diff * diff;
  }
  const float inv_stddev = 1.0f / sqrtf(sum_sq / (float)n + 1e-8f);
  for (int32_t k = 0; k < n; k++) {
    const float normed = (v[k] - mean) * inv_stddev;
    v[k] = coef[k] * normed + bias[k];
  }
}

/* ---- evaluation -------------------------------------------------------------------- */

/* A cell's data for one eval; NULL for absent optional tensors. */
typedef struct lstm_weights {
  const float *in_w[LSTM_GATES], *aux_w[LSTM_GATES], *rec_w[LSTM_GATES];
  const float *peep[LSTM_GATES], *bias[LSTM_GATES], *ln[LSTM_GATES];
  const float *proj_w, *proj_b;
  float *h, *c;
} lstm_weights;

/* What one cell reads and writes over the sequence. Rows are indexed as the input's. */
typedef struct lstm_seq {
  const float *x;   /* n_input floats per row */
  const float *aux; /* n_aux floats per row, or NULL */
  float *out;       /* out_ld floats per row; this cell writes n_output of them at out_offset */
  int32_t out_ld, out_offset;
  int forward;
} lstm_seq;

static size_t lstm_row(const lstm_data *d, int32_t t, int32_t b) {
  return d->time_major ? (size_t)t * (size_t)d->n_batch + (size_t)b
                       : (size_t)b * (size_t)d->max_time + (size_t)t;
}

/* Gate g for all batch rows of time step t, activated, into gate[n_batch * n_cell]. */
static void lstm_gate(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                      const lstm_seq *s, int32_t t, int g, float *gate) {
  const int32_t nc = cell->n_cell;
  for (int32_t b = 0; b < d->n_batch; b++) {
    float *acc = gate + (size_t)b * (size_t)nc;
    const size_t row = lstm_row(d, t, b);
    const float *x = s->x + row * (size_t)d->n_input;
    const float *h = w->h + (size_t)b * (size_t)cell->n_output;
    if (w->ln[g])
      memset(acc, 0, (size_t)nc * sizeof(float));
    else
      memcpy(acc, w->bias[g], (size_t)nc * sizeof(float));
    if (!lstm_all_zero(x, d->n_input)) lstm_matvec_acc(w->in_w[g], nc, d->n_input, x, acc);
    if (w->aux_w[g]) {
      const float *aux = s->aux + row * (size_t)cell->n_aux;
      if (!lstm_all_zero(aux, cell->n_aux)) lstm_matvec_acc(w->aux_w[g], nc, cell->n_aux, aux, acc);
    }
    if (cell->rec_diag[g])
      lstm_mul_acc(w->rec_w[g], h, nc, acc);
    else
      lstm_matvec_acc(w->rec_w[g], nc, cell->n_output, h, acc);
    if (w->peep[g]) lstm_mul_acc(w->peep[g], w->c + (size_t)b * (size_t)nc, nc, acc);
    if (w->ln[g]) lstm_layer_norm(acc, nc, w->ln[g], w->bias[g]);
  }
  const size_t n = (size_t)d->n_batch * (size_t)nc;
  if (g == LSTM_GATE_C)
    tfl_activation_apply_f32(d->act, gate, n);
  else
    lstm_sigmoid(gate, n);
}

static void lstm_update_cell(const lstm_data *d, const lstm_cell *cell, float *c,
                             const float *ig, const float *fg, const float *gg) {
  const size_t n = (size_t)d->n_batch * (size_t)cell->n_cell;
  for (size_t k = 0; k < n; k++) {
    const float in = cell->cifg ? 1.0f - fg[k] : ig[k];
    float v = fg[k] * c[k];
    v += gg[k] * in;
    c[k] = d->cell_clip > 0.0f ? lstm_clip(v, d->cell_clip) : v;
  }
}

/* New output state from the output gate og; hidden (n_batch * n_cell) is scratch. Copies
 * the state rows into the output rows of time step t. */
static void lstm_output(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                        const lstm_seq *s, int32_t t, const float *og, float *hidden) {
  const int32_t nc = cell->n_cell, no = cell->n_output;
  const size_t n = (size_t)d->n_batch * (size_t)nc;
  memcpy(hidden, w->c, n * sizeof(float));
  tfl_activation_apply_f32(d->act, hidden, n);
  for (size_t k = 0; k < n; k++) hidden[k] = og[k] * hidden[k];
  if (!w->proj_w) memcpy(w->h, hidden, n * sizeof(float)); /* n_output == n_cell */
  for (int32_t b = 0; b < d->n_batch; b++) {
    float *h = w->h + (size_t)b * (size_t)no;
    if (w->proj_w) {
      const float *hid = hidden + (size_t)b * (size_t)nc;
      const float *p = w->proj_w;
      for (int32_t r = 0; r < no; r++, p += nc) {
        float dot = 0.0f;
        for (int32_t k = 0; k < nc; k++) dot += p[k] * hid[k];
        const float v = dot + (w->proj_b ? w->proj_b[r] : 0.0f);
        h[r] = d->proj_clip > 0.0f ? lstm_clip(v, d->proj_clip) : v;
      }
    }
    float *out = s->out + lstm_row(d, t, b) * (size_t)s->out_ld + (size_t)s->out_offset;
    memcpy(out, h, (size_t)no * sizeof(float));
  }
}

static void lstm_step(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                      const lstm_seq *s, int32_t t, float *scratch) {
  const size_t n = (size_t)d->n_batch * (size_t)cell->n_cell;
  float *gate[LSTM_GATES];
  for (int g = 0; g < LSTM_GATES; g++) gate[g] = scratch + (size_t)g * n;
  if (!cell->cifg) lstm_gate(d, cell, w, s, t, LSTM_GATE_I, gate[LSTM_GATE_I]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_F, gate[LSTM_GATE_F]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_C, gate[LSTM_GATE_C]);
  lstm_update_cell(d, cell, w->c, gate[LSTM_GATE_I], gate[LSTM_GATE_F], gate[LSTM_GATE_C]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_O, gate[LSTM_GATE_O]);
  lstm_output(d, cell, w, s, t, gate[LSTM_GATE_O], gate[LSTM_GATE_C]);
}

static const float *lstm_input_f32(tfl_context *ctx, const tfl_node *node, int slot) {
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  return t ? (const float *)t->data : NULL;
}

static float *lstm_state_f32(tfl_context *ctx, const tfl_node *node, int slot) {
  return (float *)tfl_node_input(ctx, node, slot)->data;
}

static void lstm_bind(tfl_context *ctx, const tfl_node *node, const lstm_cell *cell,
                      lstm_weights *w) {
  const lstm_slots *s = cell->slots;
  memset(w, 0, sizeof(*w));
  for (int g = 0; g < LSTM_GATES; g++) {
    if (g == LSTM_GATE_I && cell->cifg) continue;
    w->in_w[g] = lstm_input_f32(ctx, node, s->in_w[g]);
    w->rec_w[g] = lstm_input_f32(ctx, node, s->rec_w[g]);
    w->bias[g] = lstm_input_f32(ctx, node, s->bias[g]);
    if (cell->peephole) w->peep[g] = lstm_input_f32(ctx, node, s->peep[g]);
    if (cell->layer_norm) w->ln[g] = lstm_input_f32(ctx, node, s->ln[g]);
    if (cell->n_aux) w->aux_w[g] = lstm_input_f32(ctx, node, s->aux_w[g]);
  }
  w->proj_w = lstm_input_f32(ctx, node, s->proj_w);
  w->proj_b = lstm_input_f32(ctx, node, s->proj_b);
  w->h = lstm_state_f32(ctx, node, s->h_state);
  w->c = lstm_state_f32(ctx, node, s->c_state);
}

static void lstm_sequence(tfl_context *ctx, const tfl_node *node, const lstm_data *d, int k,
                          lstm_seq *s) {
  const int to_second_output = k == 1 && !d->merge_outputs;
  tfl_tensor *out = tfl_node_output(ctx, node, to_second_output ? 1 : 0);
  s->x = lstm_input_f32(ctx, node, k == 0 ? 0 : d->bw_input);
  s->aux = lstm_input_f32(ctx, node, d->aux_input);
  s->out = out->data;
  s->out_ld = out->dims[out->ndim - 1];
  s->out_offset = k == 1 && d->merge_outputs ? d->cells[0].n_output : 0;
  s->forward = k == 0;
}

static void lstm_eval_float(tfl_context *ctx, const tfl_node *node, const lstm_data *d) {
  float *scratch = tfl_context_scratch(ctx, node, d->scratch);
  for (int k = 0; k < d->n_cells; k++) {
    const lstm_cell *cell = &d->cells[k];
    lstm_weights w;
    lstm_seq s;
    lstm_bind(ctx, node, cell, &w);
    lstm_sequence(ctx, node, d, k, &s);
    for (int32_t step = 0; step < d->max_time; step++)
      lstm_step(d, cell, &w, &s, s.forward ? step : d->max_time - 1 - step, scratch);
  }
}

static tfl_status lstm_kind_unsupported(tfl_context *ctx, const tfl_node *node, lstm_kind kind) {
  if (kind == LSTM_HYBRID)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "hybrid LSTM (float32 input, int8/uint8 weights) is not supported "
                            "yet");
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "integer LSTM is not supported yet");
}

static tfl_status lstm_eval(tfl_context *ctx, tfl_node *node) {
  const lstm_data *d = node->user_data;
  if (d->n_batch == 0 || d->max_time == 0) return TFL_OK;
  switch (d->kind) {
    case LSTM_FLOAT:
      lstm_eval_float(ctx, node, d);
      return TFL_OK;
    default:
      return lstm_kind_unsupported(ctx, node, d->kind);
  }
}

/* ---- prepare ----------------------------------------------------------------------- */

static void lstm_shape_str(const tfl_tensor *t, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < t->ndim && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, i ? ", %d" : "%d", (int)t->dims[i]);
  if (len < size) snprintf(buf + len, size - len, "]");
}

/* Checks the node's input `slot` (named by fmt with the cell prefix and gate name): absent
 * is an error only if `required`; present, it must be float32 of shape [d0] (ndim 1) or
 * [d0, d1]. *present (may be NULL) tells which. */
static tfl_status lstm_check_input(tfl_context *ctx, const tfl_node *node, const lstm_slots *s,
                                   const char *fmt, const char *gate, int slot, int required,
                                   int ndim, int32_t d0, int32_t d1, int *present) {
  char name[64];
  snprintf(name, sizeof(name), fmt, s->prefix, gate);
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  if (present) *present = t != NULL;
  if (!t) {
    if (!required) return TFL_OK;
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) is required", slot,
                            name);
  }
  if (t->type != TFL_FLOAT32)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) must be float32, is %s",
                            slot, name, tfl_type_name(t->type));
  if (t->ndim != ndim || t->dims[0] != d0 || (ndim == 2 && t->dims[1] != d1)) {
    char shape[96];
    lstm_shape_str(t, shape, sizeof(shape));
    if (ndim == 1)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "input %d (%s) must have shape [%d], has %s", slot, name, (int)d0,
                              shape);
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s) must have shape [%d, %d], has %s", slot, name,
                            (int)d0, (int)d1, shape);
  }
  return TFL_OK;
}

/* Recurrent weights of gate g: [n_cell, n_output], or [n_cell] when diagonal is allowed. */
static tfl_status lstm_check_recurrent(tfl_context *ctx, const tfl_node *node, int allow_diag,
                                       lstm_cell *cell, int g) {
  const lstm_slots *s = cell->slots;
  const tfl_tensor *t = tfl_node_input(ctx, node, s->rec_w[g]);
  cell->rec_diag[g] = allow_diag && t && t->ndim == 1;
  if (cell->rec_diag[g] && cell->n_output != cell->n_cell)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "diagonal %srecurrent_to_%s_weights need n_output (%d) == n_cell "
                            "(%d)",
                            s->prefix, lstm_gate_names[g], (int)cell->n_output,
                            (int)cell->n_cell);
  return lstm_check_input(ctx, node, s, "%srecurrent_to_%s_weights", lstm_gate_names[g],
                          s->rec_w[g], 1, cell->rec_diag[g] ? 1 : 2, cell->n_cell,
                          cell->n_output, NULL);
}

/* n_cell from input_to_output_weights, n_output from recurrent_to_output_weights. */
static tfl_status lstm_cell_sizes(tfl_context *ctx, const tfl_node *node, int allow_diag,
                                  lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  const tfl_tensor *w = tfl_node_input(ctx, node, s->in_w[LSTM_GATE_O]);
  const tfl_tensor *r = tfl_node_input(ctx, node, s->rec_w[LSTM_GATE_O]);
  if (!w || !r)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%sinput_to_output_weights and %srecurrent_to_output_weights are "
                            "required",
                            s->prefix, s->prefix);
  if (w->ndim != 2 || r->ndim < 1 || r->ndim > 2 || (r->ndim == 1 && !allow_diag))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%sinput_to_output_weights must be 2-D and %srecurrent_to_output_"
                            "weights %s, have %d and %d dimensions",
                            s->prefix, s->prefix, allow_diag ? "1-D or 2-D" : "2-D", w->ndim,
                            r->ndim);
  cell->n_cell = w->dims[0];
  cell->n_output = r->ndim == 1 ? r->dims[0] : r->dims[1];
  if (cell->n_cell < 1 || cell->n_output < 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%sLSTM cell with %d cells and %d outputs", s->prefix,
                            (int)cell->n_cell, (int)cell->n_output);
  return TFL_OK;
}

/* Input and recurrent weights; decides CIFG (no input gate). */
static tfl_status lstm_check_weights(tfl_context *ctx, const tfl_node *node,
                                     const lstm_data *d, int allow_diag, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  int has_i;
  tfl_status st = lstm_check_input(ctx, node, s, "%sinput_to_%s_weights", "input",
                                   s->in_w[LSTM_GATE_I], 0, 2, cell->n_cell, d->n_input, &has_i);
  if (st != TFL_OK) return st;
  cell->cifg = !has_i;
  for (int g = LSTM_GATE_F; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_input(ctx, node, s, "%sinput_to_%s_weights", lstm_gate_names[g],
                          s->in_w[g], 1, 2, cell->n_cell, d->n_input, NULL);
  if (st != TFL_OK) return st;
  if (cell->cifg && tfl_node_input(ctx, node, s->rec_w[LSTM_GATE_I]))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%srecurrent_to_input_weights without %sinput_to_input_weights",
                            s->prefix, s->prefix);
  for (int g = cell->cifg ? LSTM_GATE_F : LSTM_GATE_I; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_recurrent(ctx, node, allow_diag, cell, g);
  return st;
}

/* Peepholes come all or none (the input gate's may be missing with CIFG). */
static tfl_status lstm_check_peepholes(tfl_context *ctx, const tfl_node *node, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  int has[LSTM_GATES] = {0};
  for (int g = 0; g < LSTM_GATES; g++) {
    if (g == LSTM_GATE_C) continue;
    tfl_status st = lstm_check_input(ctx, node, s, "%scell_to_%s_weights", lstm_gate_names[g],
                                     s->peep[g], 0, 1, cell->n_cell, 0, &has[g]);
    if (st != TFL_OK) return st;
  }
  const int all = (has[LSTM_GATE_I] || cell->cifg) && has[LSTM_GATE_F] && has[LSTM_GATE_O];
  const int none = !has[LSTM_GATE_I] && !has[LSTM_GATE_F] && !has[LSTM_GATE_O];
  if (!all && !none)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%scell_to_{input,forget,output}_weights (peepholes) must be all "
                            "present or all omitted",
                            s->prefix);
  cell->peephole = all;
  return TFL_OK;
}

/* Per-gate vectors [n_cell] (biases or layer-norm coefficients): the input gate's exactly
 * when not CIFG, the others always. */
static tfl_status lstm_check_gate_vectors(tfl_context *ctx, const tfl_node *node,
                                          const lstm_cell *cell, const int *slots,
                                          const char *fmt) {
  const lstm_slots *s = cell->slots;
  for (int g = 0; g < LSTM_GATES; g++) {
    int cifg_input = g == LSTM_GATE_I && cell->cifg;
    if (cifg_input && tfl_node_input(ctx, node, slots[g])) {
      char name[64];
      snprintf(name, sizeof(name), fmt, s->prefix, lstm_gate_names[g]);
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "input %d (%s) must be omitted in a CIFG LSTM (no "
                              "input_to_input_weights)",
                              slots[g], name);
    }
    if (cifg_input) continue;
    tfl_status st = lstm_check_input(ctx, node, s, fmt, lstm_gate_names[g], slots[g], 1, 1,
                                     cell->n_cell, 0, NULL);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_status lstm_check_projection(tfl_context *ctx, const tfl_node *node,
                                        const lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  int has_w, has_b;
  tfl_status st = lstm_check_input(ctx, node, s, "%sprojection_weights%s", "", s->proj_w, 0, 2,
                                   cell->n_output, cell->n_cell, &has_w);
  if (st == TFL_OK)
    st = lstm_check_input(ctx, node, s, "%sprojection_bias%s", "", s->proj_b, 0, 1,
                          cell->n_output, 0, &has_b);
  if (st != TFL_OK) return st;
  if (has_b && !has_w)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%sprojection_bias without %sprojection_weights", s->prefix,
                            s->prefix);
  if (!has_w && cell->n_output != cell->n_cell)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "without projection the output size (%d) must equal the cell "
                            "count (%d)",
                            (int)cell->n_output, (int)cell->n_cell);
  return TFL_OK;
}

/* Layer norm is on when the forget gate's coefficients are present (TFLite's rule). */
static tfl_status lstm_check_layer_norm(tfl_context *ctx, const tfl_node *node,
                                        lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  cell->layer_norm =
      s->ln[LSTM_GATE_F] >= 0 && tfl_node_input(ctx, node, s->ln[LSTM_GATE_F]) != NULL;
  if (!cell->layer_norm) return TFL_OK;
  return lstm_check_gate_vectors(ctx, node, cell, s->ln, "%s%s_layer_norm_coefficients");
}

static tfl_status lstm_check_aux_weights(tfl_context *ctx, const tfl_node *node,
                                         const lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  tfl_status st = TFL_OK;
  for (int g = cell->cifg ? LSTM_GATE_F : LSTM_GATE_I; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_input(ctx, node, s, "%saux_input_to_%s_weights", lstm_gate_names[g],
                          s->aux_w[g], 1, 2, cell->n_cell, cell->n_aux, NULL);
  return st;
}

/* A state the op overwrites: float32, not constant, with `count` elements in any shape. */
static tfl_status lstm_check_state(tfl_context *ctx, const tfl_node *node, const lstm_slots *s,
                                   int slot, const char *what, size_t count) {
  const tfl_tensor *t = tfl_node_input(ctx, node, slot);
  if (!t)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s%s) is required", slot,
                            s->prefix, what);
  if (t->type != TFL_FLOAT32)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s%s) must be float32, is %s",
                            slot, s->prefix, what, tfl_type_name(t->type));
  if (tfl_tensor_is_constant(t))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s%s) must be a variable tensor, not a constant", slot,
                            s->prefix, what);
  if (tfl_tensor_count(t) != count)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s%s) has %zu elements, expected %zu", slot, s->prefix,
                            what, tfl_tensor_count(t), count);
  return TFL_OK;
}

static tfl_status lstm_prepare_cell(tfl_context *ctx, const tfl_node *node, const lstm_data *d,
                                    int allow_diag, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  tfl_status st = lstm_cell_sizes(ctx, node, allow_diag, cell);
  if (st == TFL_OK) st = lstm_check_weights(ctx, node, d, allow_diag, cell);
  if (st == TFL_OK) st = lstm_check_peepholes(ctx, node, cell);
  if (st == TFL_OK) st = lstm_check_gate_vectors(ctx, node, cell, s->bias, "%s%s_gate_bias");
  if (st == TFL_OK) st = lstm_check_projection(ctx, node, cell);
  if (st == TFL_OK) st = lstm_check_layer_norm(ctx, node, cell);
  if (st == TFL_OK && cell->n_aux) st = lstm_check_aux_weights(ctx, node, cell);
  if (st != TFL_OK) return st;
  const size_t batch = (size_t)d->n_batch;
  st = lstm_check_state(ctx, node, s, s->h_state, "output_state", batch * (size_t)cell->n_output);
  if (st == TFL_OK)
    st = lstm_check_state(ctx, node, s, s->c_state, "cell_state", batch * (size_t)cell->n_cell);
  return st;
}

/* Options shared by the three ops; the kind from the input and input_to_output_weights. */
static tfl_status lstm_prepare_common(tfl_context *ctx, const tfl_node *node, int options_type,
                                      lstm_data *d) {
  if (tfl_opt_type(node) != 0 && tfl_opt_type(node) != options_type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d",
                            tfl_opt_type(node), options_type);
  d->act = tfl_opt_int(node, LSTM_OPT_ACTIVATION, TFL_ACT_NONE);
  d->cell_clip = tfl_opt_float(node, LSTM_OPT_CELL_CLIP, 0.0f);
  d->proj_clip = tfl_opt_float(node, LSTM_OPT_PROJ_CLIP, 0.0f);
  tfl_status st = tfl_check_activation(ctx, node, d->act);
  if (st != TFL_OK) return st;
  if (!(d->cell_clip >= 0.0f) || !(d->proj_clip >= 0.0f))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "cell_clip (%g) and proj_clip (%g) must be >= 0", d->cell_clip,
                            d->proj_clip);

  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *w = tfl_node_input(ctx, node, 4); /* input_to_output_weights (fw) */
  if (!input || !w)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the input and input_to_output_weights are required");
  if (input->type == TFL_FLOAT32 && w->type == TFL_FLOAT32) {
    d->kind = LSTM_FLOAT;
    return TFL_OK;
  }
  if (input->type == TFL_FLOAT32 && (w->type == TFL_INT8 || w->type == TFL_UINT8))
    return lstm_kind_unsupported(ctx, node, LSTM_HYBRID);
  if (input->type == TFL_INT8 || input->type == TFL_INT16)
    return lstm_kind_unsupported(ctx, node, LSTM_INTEGER);
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "%s input with %s weights is not supported", tfl_type_name(input->type),
                          tfl_type_name(w->type));
}

/* [time, batch, n] or [batch, time, n] as the input is laid out. */
static tfl_status lstm_resize_sequence(tfl_context *ctx, const tfl_node *node,
                                       const lstm_data *d, int i, int32_t n) {
  tfl_tensor *out = tfl_node_output(ctx, node, i);
  int32_t dims[3] = {d->time_major ? d->max_time : d->n_batch,
                     d->time_major ? d->n_batch : d->max_time, n};
  return tfl_context_resize(ctx, out, 3, dims);
}

/* Sequence input [time, batch, n_input] or [batch, time, n_input]. */
static tfl_status lstm_sequence_dims(tfl_context *ctx, const tfl_node *node, lstm_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  if (input->ndim != 3)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input must be 3-D (%s), has %d dimensions",
                            d->time_major ? "[time, batch, input]" : "[batch, time, input]",
                            input->ndim);
  d->max_time = input->dims[d->time_major ? 0 : 1];
  d->n_batch = input->dims[d->time_major ? 1 : 0];
  d->n_input = input->dims[2];
  return TFL_OK;
}

/* Four gate buffers of n_batch x n_cell floats, for the largest cell. */
static tfl_status lstm_request_scratch(tfl_context *ctx, tfl_node *node, lstm_data *d) {
  size_t n_cell = 0;
  for (int k = 0; k < d->n_cells; k++)
    if ((size_t)d->cells[k].n_cell > n_cell) n_cell = (size_t)d->cells[k].n_cell;
  const size_t per_gate = (size_t)d->n_batch * n_cell;
  if (per_gate > SIZE_MAX / (LSTM_GATES * sizeof(float)))
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "LSTM scratch size overflows");
  /* At least one element, so that eval never holds a NULL buffer. */
  const size_t bytes = per_gate ? per_gate * LSTM_GATES * sizeof(float) : sizeof(float);
  return tfl_context_request_scratch(ctx, node, bytes, &d->scratch);
}

/* Input and output counts (most inputs are optional, so tfl_check_io does not fit), then
 * the options and the kind, then the outputs' presence and type. */
static tfl_status lstm_check_node(tfl_context *ctx, const tfl_node *node, int n_in_a,
                                  int n_in_b, int n_out, int options_type, lstm_data *d) {
  if (node->num_inputs != n_in_a && node->num_inputs != n_in_b) {
    if (n_in_a == n_in_b)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d inputs, has %d",
                              n_in_a, node->num_inputs);
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d or %d inputs, has %d",
                            n_in_a, n_in_b, node->num_inputs);
  }
  if (node->num_outputs != n_out)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d output%s, has %d", n_out,
                            n_out == 1 ? "" : "s", node->num_outputs);
  tfl_status st = lstm_prepare_common(ctx, node, options_type, d);
  for (int i = 0; i < n_out && st == TFL_OK; i++) {
    const tfl_tensor *out = tfl_node_output(ctx, node, i);
    if (!out) return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output %d is missing", i);
    st = tfl_check_type(ctx, node, out, "output", TFL_FLOAT32);
  }
  return st;
}

static tfl_status lstm_start(tfl_context *ctx, tfl_node *node, int options_type) {
  lstm_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  d->aux_input = -1;
  d->n_cells = 1;
  d->cells[0].slots = &lstm_full_slots;
  return lstm_check_node(ctx, node, 20, 24, 1, options_type, d);
}

static tfl_status lstm_unidi_prepare(tfl_context *ctx, tfl_node *node) {
  lstm_data *d = node->user_data;
  tfl_status st = lstm_start(ctx, node, TFL_OPTS_UNIDIRECTIONAL_SEQUENCE_LSTM);
  if (st != TFL_OK) return st;
  d->time_major = tfl_opt_bool(node, UNI_LSTM_OPT_TIME_MAJOR, 0);
  st = lstm_sequence_dims(ctx, node, d);
  if (st == TFL_OK) st = lstm_prepare_cell(ctx, node, d, 1, &d->cells[0]);
  if (st == TFL_OK) st = lstm_resize_sequence(ctx, node, d, 0, d->cells[0].n_output);
  if (st == TFL_OK) st = lstm_request_scratch(ctx, node, d);
  return st;
}

/* One step: input [batch, input], output [batch, output]. */
static tfl_status lstm_step_prepare(tfl_context *ctx, tfl_node *node) {
  lstm_data *d = node->user_data;
  if (tfl_opt_type(node) == TFL_OPTS_LSTM && tfl_opt_int(node, LSTM_OPT_KERNEL_TYPE, 0) != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "the BASIC LSTM kernel type is not supported (only FULL)");
  tfl_status st = lstm_start(ctx, node, TFL_OPTS_LSTM);
  if (st != TFL_OK) return st;
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  if (input->ndim != 2)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input must be 2-D [batch, input], has %d dimensions", input->ndim);
  d->time_major = 1;
  d->max_time = 1;
  d->n_batch = input->dims[0];
  d->n_input = input->dims[1];
  st = lstm_prepare_cell(ctx, node, d, 0, &d->cells[0]);
  if (st != TFL_OK) return st;
  int32_t dims[2] = {d->n_batch, d->cells[0].n_output};
  st = tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 2, dims);
  if (st == TFL_OK) st = lstm_request_scratch(ctx, node, d);
  return st;
}

/* The aux input (39) either feeds both cells through aux weights (all of the forward and
 * backward forget/cell/output aux weights present) or, without aux weights, replaces the
 * input of the backward cell. */
static tfl_status lstm_bidi_aux(tfl_context *ctx, const tfl_node *node, lstm_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *aux = tfl_node_input(ctx, node, BIDI_LSTM_AUX_INPUT);
  int n_weights = 0;
  for (int k = 0; k < 2; k++)
    for (int g = LSTM_GATE_F; g < LSTM_GATES; g++)
      n_weights += tfl_node_input(ctx, node, lstm_bidi_slots[k].aux_w[g]) != NULL;
  if (n_weights != 0 && n_weights != 6)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the forward and backward aux_input_to_{forget,cell,output}_weights "
                            "must be all present or all omitted");
  d->bw_input = 0;
  if (!aux) {
    if (n_weights)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "aux input weights without the aux input (input %d)",
                              BIDI_LSTM_AUX_INPUT);
    return TFL_OK;
  }
  if (aux->type != TFL_FLOAT32 || aux->ndim != 3 || aux->dims[0] != input->dims[0] ||
      aux->dims[1] != input->dims[1] || (!n_weights && aux->dims[2] != d->n_input))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "aux input (input %d) must be float32 with the input's first two "
                            "dimensions%s",
                            BIDI_LSTM_AUX_INPUT,
                            n_weights ? "" : " and, without aux weights, its input size");
  if (!n_weights) {
    d->bw_input = BIDI_LSTM_AUX_INPUT;
    return TFL_OK;
  }
  d->aux_input = BIDI_LSTM_AUX_INPUT;
  d->cells[0].n_aux = d->cells[1].n_aux = aux->dims[2];
  return TFL_OK;
}

static tfl_status lstm_bidi_prepare(tfl_context *ctx, tfl_node *node) {
  lstm_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  d->aux_input = -1;
  d->n_cells = 2;
  d->cells[0].slots = &lstm_bidi_slots[0];
  d->cells[1].slots = &lstm_bidi_slots[1];
  d->merge_outputs = tfl_opt_bool(node, BIDI_LSTM_OPT_MERGE_OUTPUTS, 0);
  d->time_major = tfl_opt_bool(node, BIDI_LSTM_OPT_TIME_MAJOR, 1);
  const int n_out = d->merge_outputs ? 1 : 2;
  tfl_status st = lstm_check_node(ctx, node, BIDI_LSTM_INPUTS, BIDI_LSTM_INPUTS, n_out,
                                  TFL_OPTS_BIDIRECTIONAL_SEQUENCE_LSTM, d);
  if (st == TFL_OK) st = lstm_sequence_dims(ctx, node, d);
  if (st == TFL_OK) st = lstm_bidi_aux(ctx, node, d);
  for (int k = 0; k < 2 && st == TFL_OK; k++)
    st = lstm_prepare_cell(ctx, node, d, 0, &d->cells[k]);
  if (st != TFL_OK) return st;
  const int32_t fw = d->cells[0].n_output, bw = d->cells[1].n_output;
  if (d->merge_outputs && fw > INT32_MAX - bw)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "merged output size overflows");
  st = lstm_resize_sequence(ctx, node, d, 0, d->merge_outputs ? fw + bw : fw);
  if (st == TFL_OK && !d->merge_outputs) st = lstm_resize_sequence(ctx, node, d, 1, bw);
  if (st == TFL_OK) st = lstm_request_scratch(ctx, node, d);
  return st;
}

static const tfl_op_registration lstm_step_op = {
    .name = "LSTM",
    .builtin_code = TFL_OP_LSTM,
    .version_min = 1,
    .version_max = 4,
    .data_size = sizeof(lstm_data),
    .prepare = lstm_step_prepare,
    .eval = lstm_eval,
    .flags = TFL_OP_STATEFUL,
};

static const tfl_op_registration lstm_unidi_op = {
    .name = "UNIDIRECTIONAL_SEQUENCE_LSTM",
    .builtin_code = TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM,
    .version_min = 1,
    .version_max = 4,
    .data_size = sizeof(lstm_data),
    .prepare = lstm_unidi_prepare,
    .eval = lstm_eval,
    .flags = TFL_OP_STATEFUL,
};

static const tfl_op_registration lstm_bidi_op = {
    .name = "BIDIRECTIONAL_SEQUENCE_LSTM",
    .builtin_code = TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM,
    .version_min = 1,
    .version_max = 3,
    .data_size = sizeof(lstm_data),
    .prepare = lstm_bidi_prepare,
    .eval = lstm_eval,
    .flags = TFL_OP_STATEFUL,
};

const tfl_op_registration *const tfl_kernels_lstm[] = {&lstm_step_op, &lstm_unidi_op,
                                                       &lstm_bidi_op, NULL};
