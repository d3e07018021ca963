/* LSTM (one step, "full" kernel), UNIDIRECTIONAL_SEQUENCE_LSTM and
 * BIDIRECTIONAL_SEQUENCE_LSTM: float32, hybrid (float activations, int8 weights) and, for the
 * first two, integer (int8 activations and weights, int16 cell state).
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
 * Hybrid: each row of x, aux and h (and, before the projection, of o .* act(c)) is quantized
 * to int8 on the fly (symmetric, or asymmetric with option asymmetric_quantize_inputs), each
 * int8 product is summed exactly and added as dot * row_scale * weight_scale; peepholes are
 * int8 with a scale, diagonal recurrent weights float; the rest is the float cell above. An
 * all-zero row is skipped instead of quantized, which adds the same nothing.
 *
 * Integer (TFLite's "8x8->16" kernel, five intermediate tensors): gates are int16 Q3.12
 * (intermediates 0-3 give their scales with layer norm), each int8 product term is rescaled
 * on its own into the gate with saturation, sigmoid and tanh are gemmlowp's 16-bit fixed-point
 * functions, the cell state is int16 with a power-of-two scale 2^-15..2^-9, and the output is
 * requantized from o .* tanh(c) through intermediate 4 ("hidden"). The integer kernel ignores
 * the fused activation (always tanh). Zero-point terms are summed with the products instead of
 * being folded into precomputed biases: in wrapping int32 arithmetic that is the same sum.
 *
 * The output and cell states are inputs the op overwrites: variable tensors, which the runtime
 * resets at allocation (to the zero point for int8) and which keep their values across
 * invokes.
 *
 * Differences from TFLite, only where TFLite misbehaves: activation NONE is the identity here
 * (TFLite then leaves stale scratch values in the cell gate and the output); batch-major
 * merged BIDIRECTIONAL outputs with several batches keep each direction's states separate
 * (TFLite writes the forward state at the merged row stride, past its end); an auxiliary input
 * narrower or wider than the input is read at its own row size; integer peepholes with a
 * projection apply to all n_cell cells (TFLite covers n_output of them).
 *
 * Not supported (TFL_UNSUPPORTED): the BASIC LSTM kernel, the "8x8->8" integer kernel (twelve
 * intermediates), integer BIDIRECTIONAL (TFLite has none), integer diagonal recurrent weights,
 * uint8 or per-channel weights. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/hybrid.h"
#include "kernels/quant.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

enum { LSTM_GATE_I, LSTM_GATE_F, LSTM_GATE_C, LSTM_GATE_O, LSTM_GATES };
static const char *const lstm_gate_names[LSTM_GATES] = {"input", "forget", "cell", "output"};

/* Option fields shared by LSTMOptions, UnidirectionalSequenceLSTMOptions and
 * BidirectionalSequenceLSTMOptions, then each table's own. */
enum { LSTM_OPT_ACTIVATION = 0, LSTM_OPT_CELL_CLIP = 1, LSTM_OPT_PROJ_CLIP = 2 };
enum { LSTM_OPT_KERNEL_TYPE = 3, LSTM_OPT_ASYMMETRIC = 4 }; /* LSTMOptions: FULL 0, BASIC 1 */
enum { UNI_LSTM_OPT_TIME_MAJOR = 3, UNI_LSTM_OPT_ASYMMETRIC = 4 }; /* time_major default false */
enum {
  BIDI_LSTM_OPT_MERGE_OUTPUTS = 3,
  BIDI_LSTM_OPT_TIME_MAJOR = 4, /* default true */
  BIDI_LSTM_OPT_ASYMMETRIC = 5
};

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
  LSTM_HYBRID,  /* float32 input, int8 weights */
  LSTM_INTEGER, /* int8 input and weights, int16 cell state (8x8->16) */
  LSTM_KINDS
} lstm_kind;

/* What a tensor is to the cell, for its expected type. */
typedef enum lstm_role {
  LSTM_ROLE_WEIGHTS,   /* input, aux, recurrent and projection weights */
  LSTM_ROLE_DIAGONAL,  /* 1-D recurrent weights */
  LSTM_ROLE_PEEPHOLE,
  LSTM_ROLE_BIAS,      /* gate and projection biases */
  LSTM_ROLE_LAYER_NORM,
  LSTM_ROLE_H_STATE,   /* also the input and the output */
  LSTM_ROLE_C_STATE,
  LSTM_ROLES
} lstm_role;

/* Per kind, in lstm_role order; TFL_TYPE_COUNT marks a role the kind does not have (integer
 * diagonal weights are refused before their type is looked at). */
static const tfl_type lstm_role_types[LSTM_KINDS][LSTM_ROLES] = {
    [LSTM_FLOAT] = {TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32,
                    TFL_FLOAT32, TFL_FLOAT32},
    [LSTM_HYBRID] = {TFL_INT8, TFL_FLOAT32, TFL_INT8, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32,
                     TFL_FLOAT32},
    [LSTM_INTEGER] = {TFL_INT8, TFL_TYPE_COUNT, TFL_INT16, TFL_INT32, TFL_INT16, TFL_INT8,
                      TFL_INT16},
};

/* One gate's integer rescaling: each product term to the gate's Q3.12, layer norm output. */
typedef struct lstm_qgate {
  int32_t in_mult, rec_mult, peep_mult, ln_mult;
  int in_shift, rec_shift, peep_shift, ln_shift;
  int32_t variance_guard; /* stands for a zero variance in the layer norm */
} lstm_qgate;

/* An integer cell's parameters (TFLite's PopulateQuantizedLstmParams8x8_16). */
typedef struct lstm_qparams {
  lstm_qgate gate[LSTM_GATES];
  int32_t hidden_mult, proj_mult;
  int hidden_shift, proj_shift;
  int32_t input_zp, h_zp, hidden_zp;
  int cell_shift;    /* the cell state's scale is 2^cell_shift, cell_shift in [-15, -9] */
  int16_t cell_clip; /* quantized clips, 0 for none */
  int8_t proj_clip;
} lstm_qparams;

/* A hybrid cell's weight scales. */
typedef struct lstm_hscales {
  float in_w[LSTM_GATES], aux_w[LSTM_GATES], rec_w[LSTM_GATES], peep[LSTM_GATES], proj_w;
} lstm_hscales;

/* One cell as prepare found it. */
typedef struct lstm_cell {
  const lstm_slots *slots;
  int32_t n_cell, n_output;
  int32_t n_aux; /* aux input columns; 0 when the cell has no aux weights */
  int cifg, peephole, layer_norm;
  int rec_diag[LSTM_GATES];
  lstm_qparams q;  /* LSTM_INTEGER */
  lstm_hscales hs; /* LSTM_HYBRID */
} lstm_cell;

typedef struct lstm_data {
  lstm_kind kind;
  int act;
  float cell_clip, proj_clip;
  int time_major;
  int asymmetric; /* hybrid: asymmetric_quantize_inputs */
  int32_t max_time, n_batch, n_input;
  int n_cells; /* 1, or 2 (forward, backward) */
  lstm_cell cells[2];
  int bw_input;      /* input index the backward cell reads: 0, or the aux input */
  int aux_input;     /* input index feeding the cells' aux weights, -1 if none */
  int merge_outputs; /* backward output goes into output 0 after the forward columns */
  int scratch;       /* gate buffers and per-kind work space (lstm_carve) */
} lstm_data;

/* A cell's tensors for one eval, typed by the kind; NULL for absent optional tensors. */
typedef struct lstm_weights {
  const void *in_w[LSTM_GATES], *aux_w[LSTM_GATES], *rec_w[LSTM_GATES];
  const void *peep[LSTM_GATES], *bias[LSTM_GATES], *ln[LSTM_GATES];
  const void *proj_w, *proj_b;
  void *h, *c;
} lstm_weights;

/* What one cell reads and writes over the sequence. Rows are indexed as the input's. */
typedef struct lstm_seq {
  const void *x;   /* n_input values per row */
  const void *aux; /* n_aux values per row, or NULL */
  void *out;       /* out_ld values per row; this cell writes n_output of them at out_offset */
  int32_t out_ld, out_offset;
  int forward;
} lstm_seq;

/* Work space of one step, carved from the node's scratch (sizes for the largest cell). */
typedef struct lstm_bufs {
  void *gate[LSTM_GATES]; /* float or int16, n_batch x n_cell each */
  float *peep_w;          /* hybrid: the dequantized peephole weights of a gate */
  int8_t *q_hidden;       /* integer and hybrid: int8 hidden for the projection */
  int8_t *q_x, *q_aux, *q_h;                         /* hybrid: quantized rows */
  tfl_hybrid_row *x_row, *aux_row, *h_row, *hid_row; /* hybrid: one per batch row */
} lstm_bufs;

static size_t lstm_row(const lstm_data *d, int32_t t, int32_t b) {
  return d->time_major ? (size_t)t * (size_t)d->n_batch + (size_t)b
                       : (size_t)b * (size_t)d->max_time + (size_t)t;
}

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

/* Starts a float gate row at its bias, or at zero when layer norm adds the bias later. */
static void lstm_gate_start(const lstm_weights *w, int g, int32_t n, float *acc) {
  if (w->ln[g])
    memset(acc, 0, (size_t)n * sizeof(float));
  else
    memcpy(acc, w->bias[g], (size_t)n * sizeof(float));
}

/* Peephole, layer norm and the activation of gate g over all batch rows (float and hybrid). */
static void lstm_gate_finish(const lstm_data *d, const lstm_cell *cell, const float *peep,
                             const lstm_weights *w, int g, float *gate) {
  const int32_t nc = cell->n_cell;
  for (int32_t b = 0; b < d->n_batch; b++) {
    float *acc = gate + (size_t)b * (size_t)nc;
    if (peep) lstm_mul_acc(peep, (const float *)w->c + (size_t)b * (size_t)nc, nc, acc);
    if (w->ln[g]) lstm_layer_norm(acc, nc, w->ln[g], w->bias[g]);
  }
  const size_t n = (size_t)d->n_batch * (size_t)nc;
  if (g == LSTM_GATE_C)
    tfl_activation_apply_f32(d->act, gate, n);
  else
    lstm_sigmoid(gate, n);
}

/* Gate g for all batch rows of time step t, activated, into gate[n_batch * n_cell]. */
static void lstm_gate(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                      const lstm_seq *s, int32_t t, int g, float *gate) {
  const int32_t nc = cell->n_cell;
  for (int32_t b = 0; b < d->n_batch; b++) {
    float *acc = gate + (size_t)b * (size_t)nc;
    const size_t row = lstm_row(d, t, b);
    const float *x = (const float *)s->x + row * (size_t)d->n_input;
    const float *h = (const float *)w->h + (size_t)b * (size_t)cell->n_output;
    lstm_gate_start(w, g, nc, acc);
    if (!lstm_all_zero(x, d->n_input)) lstm_matvec_acc(w->in_w[g], nc, d->n_input, x, acc);
    if (w->aux_w[g]) {
      const float *aux = (const float *)s->aux + row * (size_t)cell->n_aux;
      if (!lstm_all_zero(aux, cell->n_aux)) lstm_matvec_acc(w->aux_w[g], nc, cell->n_aux, aux, acc);
    }
    if (cell->rec_diag[g])
      lstm_mul_acc(w->rec_w[g], h, nc, acc);
    else
      lstm_matvec_acc(w->rec_w[g], nc, cell->n_output, h, acc);
  }
  lstm_gate_finish(d, cell, w->peep[g], w, g, gate);
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

/* o .* act(c) into hidden (n_batch * n_cell), as the float and hybrid output start. */
static void lstm_hidden(const lstm_data *d, const lstm_cell *cell, const float *c,
                        const float *og, float *hidden) {
  const size_t n = (size_t)d->n_batch * (size_t)cell->n_cell;
  memcpy(hidden, c, n * sizeof(float));
  tfl_activation_apply_f32(d->act, hidden, n);
  for (size_t k = 0; k < n; k++) hidden[k] = og[k] * hidden[k];
}

/* Copies the output state rows of one step into the output rows of time step t. */
static void lstm_emit(const lstm_data *d, const lstm_cell *cell, const lstm_seq *s, int32_t t,
                      const void *h, size_t elem) {
  const size_t no = (size_t)cell->n_output;
  for (int32_t b = 0; b < d->n_batch; b++) {
    unsigned char *out = (unsigned char *)s->out +
                         (lstm_row(d, t, b) * (size_t)s->out_ld + (size_t)s->out_offset) * elem;
    memcpy(out, (const unsigned char *)h + (size_t)b * no * elem, no * elem);
  }
}

/* New output state from the output gate og; hidden (n_batch * n_cell) is scratch. */
static void lstm_output(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                        const lstm_seq *s, int32_t t, const float *og, float *hidden) {
  const int32_t nc = cell->n_cell, no = cell->n_output;
  float *h_state = w->h;
  const float *proj_b = w->proj_b;
  lstm_hidden(d, cell, w->c, og, hidden);
  if (!w->proj_w) memcpy(h_state, hidden, (size_t)d->n_batch * (size_t)nc * sizeof(float));
  for (int32_t b = 0; w->proj_w && b < d->n_batch; b++) {
    float *h = h_state + (size_t)b * (size_t)no;
    const float *hid = hidden + (size_t)b * (size_t)nc;
    const float *p = w->proj_w;
    for (int32_t r = 0; r < no; r++, p += nc) {
      float dot = 0.0f;
      for (int32_t k = 0; k < nc; k++) dot += p[k] * hid[k];
      const float v = dot + (proj_b ? proj_b[r] : 0.0f);
      h[r] = d->proj_clip > 0.0f ? lstm_clip(v, d->proj_clip) : v;
    }
  }
  lstm_emit(d, cell, s, t, h_state, sizeof(float));
}

static void lstm_step_float(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                            const lstm_seq *s, int32_t t, const lstm_bufs *bufs) {
  float *gate[LSTM_GATES];
  for (int g = 0; g < LSTM_GATES; g++) gate[g] = bufs->gate[g];
  if (!cell->cifg) lstm_gate(d, cell, w, s, t, LSTM_GATE_I, gate[LSTM_GATE_I]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_F, gate[LSTM_GATE_F]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_C, gate[LSTM_GATE_C]);
  lstm_update_cell(d, cell, w->c, gate[LSTM_GATE_I], gate[LSTM_GATE_F], gate[LSTM_GATE_C]);
  lstm_gate(d, cell, w, s, t, LSTM_GATE_O, gate[LSTM_GATE_O]);
  lstm_output(d, cell, w, s, t, gate[LSTM_GATE_O], gate[LSTM_GATE_C]);
}

/* ---- hybrid arithmetic (float activations, int8 weights) ------------------------------ */

/* Quantizes the n-value rows of the batch: those of time step t of a sequence (per_step), or
 * rows 0..n_batch-1 of a state. A row that is all zero gets scale 0 so that its products are
 * skipped. */
static void lstm_h_quantize(const lstm_data *d, const float *base, int32_t t, int per_step,
                            int32_t n, int8_t *q, tfl_hybrid_row *rows) {
  for (int32_t b = 0; b < d->n_batch; b++) {
    const size_t row = per_step ? lstm_row(d, t, b) : (size_t)b;
    const float *x = base + row * (size_t)n;
    int8_t *qb = q + (size_t)b * (size_t)n;
    if (lstm_all_zero(x, n)) {
      rows[b].scale = 0.0f;
      rows[b].zero_point = 0;
    } else if (d->asymmetric) {
      tfl_hybrid_quantize_asymmetric(x, (size_t)n, qb, &rows[b]);
    } else {
      tfl_hybrid_quantize_symmetric(x, (size_t)n, qb, &rows[b]);
    }
  }
}

/* acc += W q for one quantized row (skipped when the row was all zero). */
static void lstm_h_matvec(const int8_t *w, float w_scale, int32_t rows, int32_t cols,
                          const int8_t *q, const tfl_hybrid_row *row, float *acc) {
  if (row->scale == 0.0f) return;
  tfl_hybrid_matvec_acc(w, rows, cols, q, row->zero_point, row->scale * w_scale, acc);
}

/* Gate g of all batch rows from the quantized rows in bufs, activated. */
static void lstm_h_gate(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                        const lstm_bufs *bufs, int g, float *gate) {
  const int32_t nc = cell->n_cell, no = cell->n_output;
  const lstm_hscales *hs = &cell->hs;
  for (int32_t b = 0; b < d->n_batch; b++) {
    float *acc = gate + (size_t)b * (size_t)nc;
    lstm_gate_start(w, g, nc, acc);
    lstm_h_matvec(w->in_w[g], hs->in_w[g], nc, d->n_input,
                  bufs->q_x + (size_t)b * (size_t)d->n_input, &bufs->x_row[b], acc);
    if (w->aux_w[g])
      lstm_h_matvec(w->aux_w[g], hs->aux_w[g], nc, cell->n_aux,
                    bufs->q_aux + (size_t)b * (size_t)cell->n_aux, &bufs->aux_row[b], acc);
    if (!cell->rec_diag[g])
      lstm_h_matvec(w->rec_w[g], hs->rec_w[g], nc, no, bufs->q_h + (size_t)b * (size_t)no,
                    &bufs->h_row[b], acc);
    else if (bufs->h_row[b].scale != 0.0f)
      lstm_mul_acc(w->rec_w[g], (const float *)w->h + (size_t)b * (size_t)no, nc, acc);
  }
  const float *peep = NULL;
  if (w->peep[g]) {
    const int8_t *p = w->peep[g];
    for (int32_t k = 0; k < nc; k++) bufs->peep_w[k] = hs->peep[g] * (float)p[k];
    peep = bufs->peep_w;
  }
  lstm_gate_finish(d, cell, peep, w, g, gate);
}

/* New output state: the projection quantizes each row of o .* act(c) like an input. */
static void lstm_h_output(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                          const lstm_seq *s, int32_t t, const float *og, const lstm_bufs *bufs,
                          float *hidden) {
  const int32_t nc = cell->n_cell, no = cell->n_output;
  float *h_state = w->h;
  const float *proj_b = w->proj_b;
  lstm_hidden(d, cell, w->c, og, hidden);
  if (!w->proj_w) {
    memcpy(h_state, hidden, (size_t)d->n_batch * (size_t)nc * sizeof(float));
  } else {
    lstm_h_quantize(d, hidden, 0, 0, nc, bufs->q_hidden, bufs->hid_row);
    for (int32_t b = 0; b < d->n_batch; b++) {
      float *h = h_state + (size_t)b * (size_t)no;
      for (int32_t r = 0; r < no; r++) h[r] = proj_b ? proj_b[r] : 0.0f;
      lstm_h_matvec(w->proj_w, cell->hs.proj_w, no, nc, bufs->q_hidden + (size_t)b * (size_t)nc,
                    &bufs->hid_row[b], h);
      for (int32_t r = 0; r < no && d->proj_clip > 0.0f; r++) h[r] = lstm_clip(h[r], d->proj_clip);
    }
  }
  lstm_emit(d, cell, s, t, h_state, sizeof(float));
}

static void lstm_step_hybrid(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                             const lstm_seq *s, int32_t t, const lstm_bufs *bufs) {
  float *gate[LSTM_GATES];
  for (int g = 0; g < LSTM_GATES; g++) gate[g] = bufs->gate[g];
  lstm_h_quantize(d, s->x, t, 1, d->n_input, bufs->q_x, bufs->x_row);
  if (cell->n_aux) lstm_h_quantize(d, s->aux, t, 1, cell->n_aux, bufs->q_aux, bufs->aux_row);
  lstm_h_quantize(d, w->h, 0, 0, cell->n_output, bufs->q_h, bufs->h_row);
  if (!cell->cifg) lstm_h_gate(d, cell, w, bufs, LSTM_GATE_I, gate[LSTM_GATE_I]);
  lstm_h_gate(d, cell, w, bufs, LSTM_GATE_F, gate[LSTM_GATE_F]);
  lstm_h_gate(d, cell, w, bufs, LSTM_GATE_C, gate[LSTM_GATE_C]);
  lstm_update_cell(d, cell, w->c, gate[LSTM_GATE_I], gate[LSTM_GATE_F], gate[LSTM_GATE_C]);
  lstm_h_gate(d, cell, w, bufs, LSTM_GATE_O, gate[LSTM_GATE_O]);
  lstm_h_output(d, cell, w, s, t, gate[LSTM_GATE_O], bufs, gate[LSTM_GATE_C]);
}

/* ---- integer arithmetic (8x8->16) ----------------------------------------------------- */

static int16_t lstm_sat16(int32_t v) {
  return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

/* a + b clamped to [lo, hi], without int32 overflow: a rescaled term (any int32 under an
 * extreme scale) plus a 16-bit partial sum or a zero point. */
static int32_t lstm_sat_add(int32_t a, int32_t b, int32_t lo, int32_t hi) {
  const int64_t v = (int64_t)a + (int64_t)b;
  return (int32_t)(v > hi ? hi : v < lo ? lo : v);
}

/* The int16 result of TFLite's CwiseMul with a power-of-two shift: truncated, not saturated. */
static int16_t lstm_mul_shift16(int16_t a, int16_t b, int shift) {
  return (int16_t)(uint16_t)(uint32_t)tfl_rdbpot((int32_t)a * (int32_t)b, shift);
}

/* sum_c w[c] * (x[c] - zp) + bias in wrapping int32 arithmetic. */
static int32_t lstm_q_dot(const int8_t *w, const int8_t *x, int32_t n, int32_t zp, int32_t bias) {
  uint32_t sum = (uint32_t)bias;
  for (int32_t c = 0; c < n; c++) sum += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] - zp));
  return (int32_t)sum;
}

/* acc[r] = sat16(acc[r] + rescaled (W (x - zp) + bias)[r]): one product term of a gate. */
static void lstm_q_matvec_acc(const int8_t *w, const int32_t *bias, int32_t rows, int32_t cols,
                              const int8_t *x, int32_t zp, int32_t mult, int shift, int16_t *acc) {
  for (int32_t r = 0; r < rows; r++, w += cols) {
    const int32_t dot = lstm_q_dot(w, x, cols, zp, bias ? bias[r] : 0);
    acc[r] = (int16_t)lstm_sat_add(tfl_mul_by_quantized_multiplier(dot, mult, shift), acc[r],
                                   INT16_MIN, INT16_MAX);
  }
}

/* TFLite's integer layer norm of one gate row: mean and variance in Q10 via 64-bit sums (the
 * variance formula is exact only for power-of-two sizes, as in TFLite), 1/stddev as a
 * fixed-point multiplier, then coefficients (Q10 rounded away) and bias, rescaled to Q3.12. */
static void lstm_q_layer_norm(int16_t *v, int32_t n, const int16_t *coef, const int32_t *bias,
                              const lstm_qgate *qg) {
  int64_t sum = 0, sum_sq = 0;
  for (int32_t k = 0; k < n; k++) {
    sum += v[k];
    sum_sq += (int64_t)((int32_t)v[k] * (int32_t)v[k]);
  }
  const int32_t mean = (int32_t)(sum * 1024 / n);
  const int64_t variance = sum_sq * ((1 << 20) / n) - (int64_t)mean * (int64_t)mean;
  int32_t variance2 = (int32_t)(variance / (1 << 20));
  if (variance2 < 1) variance2 = qg->variance_guard;
  int32_t inv_mult;
  int inv_shift;
  tfl_inv_sqrt_multiplier(variance2, -1, &inv_mult, &inv_shift);
  for (int32_t k = 0; k < n; k++) {
    const int32_t shifted = 1024 * (int32_t)v[k] - mean;
    const int32_t rescaled = tfl_mul_by_quantized_multiplier(shifted, inv_mult, inv_shift);
    /* TFLite forms this in int32 before widening. */
    const int64_t weighted =
        (int32_t)((uint32_t)rescaled * (uint32_t)(int32_t)coef[k] + (uint32_t)bias[k]);
    const int32_t q10 = (int32_t)((weighted > 0 ? weighted + 512 : weighted - 512) / 1024);
    v[k] = lstm_sat16(tfl_mul_by_quantized_multiplier(q10, qg->ln_mult, qg->ln_shift + 12));
  }
}

/* Gate g of all batch rows, Q3.12 sums activated to Q0.15. */
static void lstm_q_gate(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                        const lstm_seq *s, int32_t t, int g, int16_t *gate) {
  const lstm_qparams *q = &cell->q;
  const lstm_qgate *qg = &q->gate[g];
  const int32_t nc = cell->n_cell, no = cell->n_output;
  const int16_t *peep = w->peep[g];
  const int16_t *c = w->c;
  for (int32_t b = 0; b < d->n_batch; b++) {
    int16_t *acc = gate + (size_t)b * (size_t)nc;
    const int8_t *x = (const int8_t *)s->x + lstm_row(d, t, b) * (size_t)d->n_input;
    const int8_t *h = (const int8_t *)w->h + (size_t)b * (size_t)no;
    const int16_t *cb = c + (size_t)b * (size_t)nc;
    memset(acc, 0, (size_t)nc * sizeof(int16_t));
    lstm_q_matvec_acc(w->in_w[g], w->ln[g] ? NULL : w->bias[g], nc, d->n_input, x, q->input_zp,
                      qg->in_mult, qg->in_shift, acc);
    lstm_q_matvec_acc(w->rec_w[g], NULL, nc, no, h, q->h_zp, qg->rec_mult, qg->rec_shift, acc);
    for (int32_t k = 0; peep && k < nc; k++) {
      const int32_t term = tfl_mul_by_quantized_multiplier((int32_t)peep[k] * (int32_t)cb[k],
                                                           qg->peep_mult, qg->peep_shift);
      acc[k] = (int16_t)lstm_sat_add(term, acc[k], INT16_MIN, INT16_MAX);
    }
    if (w->ln[g]) lstm_q_layer_norm(acc, nc, w->ln[g], w->bias[g], qg);
  }
  const size_t n = (size_t)d->n_batch * (size_t)nc;
  for (size_t k = 0; k < n; k++)
    gate[k] = g == LSTM_GATE_C ? tfl_fx16_tanh(gate[k], 3) : tfl_fx16_logistic(gate[k], 3);
}

/* c = sat16(f .* c + i .* g) in the cell's Q format, then the quantized clip. */
static void lstm_q_update_cell(const lstm_data *d, const lstm_cell *cell, int16_t *c,
                               const int16_t *ig, const int16_t *fg, const int16_t *gg) {
  const size_t n = (size_t)d->n_batch * (size_t)cell->n_cell;
  const int16_t clip = cell->q.cell_clip;
  for (size_t k = 0; k < n; k++) {
    const int16_t in = cell->cifg ? (int16_t)(INT16_MAX - fg[k]) : ig[k];
    const int16_t kept = lstm_mul_shift16(fg[k], c[k], 15);
    const int16_t added = lstm_mul_shift16(in, gg[k], 30 + cell->q.cell_shift);
    int16_t v = lstm_sat16((int32_t)kept + added);
    if (clip > 0) v = v > clip ? clip : v < -clip ? (int16_t)-clip : v;
    c[k] = v;
  }
}

/* New int8 output state: o .* tanh(c) requantized to the output, or through the hidden
 * intermediate into the projection. */
static void lstm_q_output(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                          const lstm_seq *s, int32_t t, const int16_t *og, const lstm_bufs *bufs) {
  const lstm_qparams *q = &cell->q;
  const int32_t nc = cell->n_cell, no = cell->n_output;
  const size_t n = (size_t)d->n_batch * (size_t)nc;
  const int16_t *c = w->c;
  int8_t *h_state = w->h;
  const int32_t *proj_b = w->proj_b;
  /* With a projection the product is stored minus the hidden zero point (TFLite's layout). */
  const int32_t zp = w->proj_w ? -q->hidden_zp : q->hidden_zp;
  int8_t *hidden = w->proj_w ? bufs->q_hidden : h_state;
  for (size_t k = 0; k < n; k++) {
    const int16_t tanh_c = tfl_fx16_tanh(c[k], 15 + q->cell_shift);
    const int32_t v = tfl_mul_by_quantized_multiplier((int32_t)og[k] * (int32_t)tanh_c,
                                                      q->hidden_mult, q->hidden_shift);
    hidden[k] = (int8_t)lstm_sat_add(v, zp, INT8_MIN, INT8_MAX);
  }
  for (int32_t b = 0; w->proj_w && b < d->n_batch; b++) {
    const int8_t *hid = hidden + (size_t)b * (size_t)nc;
    const int8_t *p = w->proj_w;
    int8_t *h = h_state + (size_t)b * (size_t)no;
    for (int32_t r = 0; r < no; r++, p += nc) {
      const int32_t dot = lstm_q_dot(p, hid, nc, -q->hidden_zp, proj_b ? proj_b[r] : 0);
      const int32_t v = tfl_mul_by_quantized_multiplier(dot, q->proj_mult, q->proj_shift);
      h[r] = (int8_t)lstm_sat_add(v, q->h_zp, INT8_MIN, INT8_MAX);
      if (q->proj_clip > 0 && h[r] > q->proj_clip) h[r] = q->proj_clip;
      if (q->proj_clip > 0 && h[r] < -q->proj_clip) h[r] = (int8_t)-q->proj_clip;
    }
  }
  lstm_emit(d, cell, s, t, h_state, sizeof(int8_t));
}

static void lstm_step_integer(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                              const lstm_seq *s, int32_t t, const lstm_bufs *bufs) {
  int16_t *gate[LSTM_GATES];
  for (int g = 0; g < LSTM_GATES; g++) gate[g] = bufs->gate[g];
  if (!cell->cifg) lstm_q_gate(d, cell, w, s, t, LSTM_GATE_I, gate[LSTM_GATE_I]);
  lstm_q_gate(d, cell, w, s, t, LSTM_GATE_F, gate[LSTM_GATE_F]);
  lstm_q_gate(d, cell, w, s, t, LSTM_GATE_C, gate[LSTM_GATE_C]);
  lstm_q_update_cell(d, cell, w->c, gate[LSTM_GATE_I], gate[LSTM_GATE_F], gate[LSTM_GATE_C]);
  lstm_q_gate(d, cell, w, s, t, LSTM_GATE_O, gate[LSTM_GATE_O]);
  lstm_q_output(d, cell, w, s, t, gate[LSTM_GATE_O], bufs);
}

/* ---- evaluation -------------------------------------------------------------------- */

typedef void (*lstm_step_fn)(const lstm_data *d, const lstm_cell *cell, const lstm_weights *w,
                             const lstm_seq *s, int32_t t, const lstm_bufs *bufs);

/* The next 16-byte aligned piece of count * elem bytes at *offset in base (NULL: only
 * measures). A size that overflows saturates the total at SIZE_MAX, which prepare refuses. */
static void *lstm_take(unsigned char *base, size_t *offset, size_t count, size_t elem) {
  const size_t at = (*offset + 15) & ~(size_t)15;
  if (at < *offset || count > (SIZE_MAX - at) / elem) {
    *offset = SIZE_MAX;
    return NULL;
  }
  *offset = at + count * elem;
  return base ? base + at : NULL;
}

/* Lays the step buffers of the node's kind out in base (NULL: only measures); returns the
 * bytes needed. */
static size_t lstm_carve(const lstm_data *d, unsigned char *base, lstm_bufs *bufs) {
  size_t nc = 0, no = 0, na = 0, off = 0;
  for (int k = 0; k < d->n_cells; k++) {
    if ((size_t)d->cells[k].n_cell > nc) nc = (size_t)d->cells[k].n_cell;
    if ((size_t)d->cells[k].n_output > no) no = (size_t)d->cells[k].n_output;
    if ((size_t)d->cells[k].n_aux > na) na = (size_t)d->cells[k].n_aux;
  }
  const size_t nb = (size_t)d->n_batch;
  const size_t per_gate = nb * nc; /* both at most INT32_MAX */
  const size_t gate_elem = d->kind == LSTM_INTEGER ? sizeof(int16_t) : sizeof(float);
  memset(bufs, 0, sizeof(*bufs));
  for (int g = 0; g < LSTM_GATES; g++) bufs->gate[g] = lstm_take(base, &off, per_gate, gate_elem);
  if (d->kind != LSTM_FLOAT) bufs->q_hidden = lstm_take(base, &off, per_gate, 1);
  if (d->kind == LSTM_HYBRID) {
    bufs->peep_w = lstm_take(base, &off, nc, sizeof(float));
    bufs->q_x = lstm_take(base, &off, nb * (size_t)d->n_input, 1);
    bufs->q_aux = lstm_take(base, &off, nb * na, 1);
    bufs->q_h = lstm_take(base, &off, nb * no, 1);
    tfl_hybrid_row **rows[4] = {&bufs->x_row, &bufs->aux_row, &bufs->h_row, &bufs->hid_row};
    for (int i = 0; i < 4; i++) *rows[i] = lstm_take(base, &off, nb, sizeof(tfl_hybrid_row));
  }
  return off ? off : 1; /* at least one byte, so that eval never holds a NULL buffer */
}

static const void *lstm_input_data(tfl_context *ctx, const tfl_node *node, int slot) {
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  return t ? t->data : NULL;
}

static void lstm_bind(tfl_context *ctx, const tfl_node *node, const lstm_cell *cell,
                      lstm_weights *w) {
  const lstm_slots *s = cell->slots;
  memset(w, 0, sizeof(*w));
  for (int g = 0; g < LSTM_GATES; g++) {
    if (g == LSTM_GATE_I && cell->cifg) continue;
    w->in_w[g] = lstm_input_data(ctx, node, s->in_w[g]);
    w->rec_w[g] = lstm_input_data(ctx, node, s->rec_w[g]);
    w->bias[g] = lstm_input_data(ctx, node, s->bias[g]);
    if (cell->peephole) w->peep[g] = lstm_input_data(ctx, node, s->peep[g]);
    if (cell->layer_norm) w->ln[g] = lstm_input_data(ctx, node, s->ln[g]);
    if (cell->n_aux) w->aux_w[g] = lstm_input_data(ctx, node, s->aux_w[g]);
  }
  w->proj_w = lstm_input_data(ctx, node, s->proj_w);
  w->proj_b = lstm_input_data(ctx, node, s->proj_b);
  w->h = tfl_node_input(ctx, node, s->h_state)->data;
  w->c = tfl_node_input(ctx, node, s->c_state)->data;
}

static void lstm_sequence(tfl_context *ctx, const tfl_node *node, const lstm_data *d, int k,
                          lstm_seq *s) {
  const int to_second_output = k == 1 && !d->merge_outputs;
  tfl_tensor *out = tfl_node_output(ctx, node, to_second_output ? 1 : 0);
  s->x = lstm_input_data(ctx, node, k == 0 ? 0 : d->bw_input);
  s->aux = lstm_input_data(ctx, node, d->aux_input);
  s->out = out->data;
  s->out_ld = out->dims[out->ndim - 1];
  s->out_offset = k == 1 && d->merge_outputs ? d->cells[0].n_output : 0;
  s->forward = k == 0;
}

static tfl_status lstm_eval(tfl_context *ctx, tfl_node *node) {
  const lstm_data *d = node->user_data;
  if (d->n_batch == 0 || d->max_time == 0) return TFL_OK;
  static const lstm_step_fn steps[LSTM_KINDS] = {
      [LSTM_FLOAT] = lstm_step_float,
      [LSTM_HYBRID] = lstm_step_hybrid,
      [LSTM_INTEGER] = lstm_step_integer,
  };
  lstm_bufs bufs;
  lstm_carve(d, tfl_context_scratch(ctx, node, d->scratch), &bufs);
  for (int k = 0; k < d->n_cells; k++) {
    const lstm_cell *cell = &d->cells[k];
    lstm_weights w;
    lstm_seq s;
    lstm_bind(ctx, node, cell, &w);
    lstm_sequence(ctx, node, d, k, &s);
    for (int32_t step = 0; step < d->max_time; step++)
      steps[d->kind](d, cell, &w, &s, s.forward ? step : d->max_time - 1 - step, &bufs);
  }
  return TFL_OK;
}

/* ---- prepare ----------------------------------------------------------------------- */

static void lstm_shape_str(const tfl_tensor *t, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < t->ndim && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, i ? ", %d" : "%d", (int)t->dims[i]);
  if (len < size) snprintf(buf + len, size - len, "]");
}

/* Integer and hybrid kernels read one scale (and zero point) per quantized tensor. */
static tfl_status lstm_check_quant(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                   int slot, const char *name) {
  if (t->type != TFL_INT8 && t->type != TFL_INT16) return TFL_OK;
  if (t->quant.count > 1)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "input %d (%s): per-channel quantization is not supported", slot,
                            name);
  if (t->quant.count != 1 || !(t->quant.scale[0] > 0.0f))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s) must be quantized with a positive scale", slot, name);
  return TFL_OK;
}

/* Checks the node's input `slot` (named by fmt with the cell prefix and gate name): absent
 * is an error only if `required`; present, it must have the role's type for the kind, shape
 * [d0] (ndim 1) or [d0, d1], and a scale if quantized. *present (may be NULL) tells which. */
static tfl_status lstm_check_input(tfl_context *ctx, const tfl_node *node, const lstm_data *d,
                                   const lstm_slots *s, const char *fmt, const char *gate,
                                   int slot, lstm_role role, int required, int ndim, int32_t d0,
                                   int32_t d1, int *present) {
  char name[64];
  snprintf(name, sizeof(name), fmt, s->prefix, gate);
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  if (present) *present = t != NULL;
  if (!t) {
    if (!required) return TFL_OK;
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) is required", slot,
                            name);
  }
  const tfl_type type = lstm_role_types[d->kind][role];
  if (t->type != type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) must be %s, is %s",
                            slot, name, tfl_type_name(type), tfl_type_name(t->type));
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
  return lstm_check_quant(ctx, node, t, slot, name);
}

/* Recurrent weights of gate g: [n_cell, n_output], or [n_cell] when diagonal is allowed. */
static tfl_status lstm_check_recurrent(tfl_context *ctx, const tfl_node *node,
                                       const lstm_data *d, int allow_diag, lstm_cell *cell,
                                       int g) {
  const lstm_slots *s = cell->slots;
  const tfl_tensor *t = tfl_node_input(ctx, node, s->rec_w[g]);
  cell->rec_diag[g] = allow_diag && t && t->ndim == 1;
  if (cell->rec_diag[g] && d->kind == LSTM_INTEGER)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "diagonal recurrent weights are not supported by the integer LSTM");
  if (cell->rec_diag[g] && cell->n_output != cell->n_cell)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "diagonal %srecurrent_to_%s_weights need n_output (%d) == n_cell "
                            "(%d)",
                            s->prefix, lstm_gate_names[g], (int)cell->n_output,
                            (int)cell->n_cell);
  return lstm_check_input(ctx, node, d, s, "%srecurrent_to_%s_weights", lstm_gate_names[g],
                          s->rec_w[g], cell->rec_diag[g] ? LSTM_ROLE_DIAGONAL : LSTM_ROLE_WEIGHTS,
                          1, cell->rec_diag[g] ? 1 : 2, cell->n_cell, cell->n_output, NULL);
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
  tfl_status st = lstm_check_input(ctx, node, d, s, "%sinput_to_%s_weights", "input",
                                   s->in_w[LSTM_GATE_I], LSTM_ROLE_WEIGHTS, 0, 2, cell->n_cell,
                                   d->n_input, &has_i);
  if (st != TFL_OK) return st;
  cell->cifg = !has_i;
  for (int g = LSTM_GATE_F; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_input(ctx, node, d, s, "%sinput_to_%s_weights", lstm_gate_names[g],
                          s->in_w[g], LSTM_ROLE_WEIGHTS, 1, 2, cell->n_cell, d->n_input, NULL);
  if (st != TFL_OK) return st;
  if (cell->cifg && tfl_node_input(ctx, node, s->rec_w[LSTM_GATE_I]))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "%srecurrent_to_input_weights without %sinput_to_input_weights",
                            s->prefix, s->prefix);
  for (int g = cell->cifg ? LSTM_GATE_F : LSTM_GATE_I; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_recurrent(ctx, node, d, allow_diag, cell, g);
  return st;
}

/* Peepholes come all or none (the input gate's may be missing with CIFG). */
static tfl_status lstm_check_peepholes(tfl_context *ctx, const tfl_node *node,
                                       const lstm_data *d, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  int has[LSTM_GATES] = {0};
  for (int g = 0; g < LSTM_GATES; g++) {
    if (g == LSTM_GATE_C) continue;
    tfl_status st = lstm_check_input(ctx, node, d, s, "%scell_to_%s_weights", lstm_gate_names[g],
                                     s->peep[g], LSTM_ROLE_PEEPHOLE, 0, 1, cell->n_cell, 0,
                                     &has[g]);
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
                                          const lstm_data *d, const lstm_cell *cell,
                                          const int *slots, lstm_role role, const char *fmt) {
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
    tfl_status st = lstm_check_input(ctx, node, d, s, fmt, lstm_gate_names[g], slots[g], role, 1,
                                     1, cell->n_cell, 0, NULL);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_status lstm_check_projection(tfl_context *ctx, const tfl_node *node,
                                        const lstm_data *d, const lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  int has_w, has_b;
  tfl_status st = lstm_check_input(ctx, node, d, s, "%sprojection_weights%s", "", s->proj_w,
                                   LSTM_ROLE_WEIGHTS, 0, 2, cell->n_output, cell->n_cell, &has_w);
  if (st == TFL_OK)
    st = lstm_check_input(ctx, node, d, s, "%sprojection_bias%s", "", s->proj_b, LSTM_ROLE_BIAS,
                          0, 1, cell->n_output, 0, &has_b);
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
                                        const lstm_data *d, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  cell->layer_norm =
      s->ln[LSTM_GATE_F] >= 0 && tfl_node_input(ctx, node, s->ln[LSTM_GATE_F]) != NULL;
  if (!cell->layer_norm) return TFL_OK;
  return lstm_check_gate_vectors(ctx, node, d, cell, s->ln, LSTM_ROLE_LAYER_NORM,
                                 "%s%s_layer_norm_coefficients");
}

static tfl_status lstm_check_aux_weights(tfl_context *ctx, const tfl_node *node,
                                         const lstm_data *d, const lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  tfl_status st = TFL_OK;
  for (int g = cell->cifg ? LSTM_GATE_F : LSTM_GATE_I; g < LSTM_GATES && st == TFL_OK; g++)
    st = lstm_check_input(ctx, node, d, s, "%saux_input_to_%s_weights", lstm_gate_names[g],
                          s->aux_w[g], LSTM_ROLE_WEIGHTS, 1, 2, cell->n_cell, cell->n_aux, NULL);
  return st;
}

/* A state the op overwrites: the role's type, not constant, `count` elements in any shape. */
static tfl_status lstm_check_state(tfl_context *ctx, const tfl_node *node, const lstm_data *d,
                                   const lstm_slots *s, int slot, lstm_role role,
                                   const char *what, size_t count) {
  const tfl_tensor *t = tfl_node_input(ctx, node, slot);
  const tfl_type type = lstm_role_types[d->kind][role];
  char name[64];
  snprintf(name, sizeof(name), "%s%s", s->prefix, what);
  if (!t)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) is required", slot,
                            name);
  if (t->type != type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input %d (%s) must be %s, is %s",
                            slot, name, tfl_type_name(type), tfl_type_name(t->type));
  if (tfl_tensor_is_constant(t))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s) must be a variable tensor, not a constant", slot,
                            name);
  if (tfl_tensor_count(t) != count)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "input %d (%s) has %zu elements, expected %zu", slot, name,
                            tfl_tensor_count(t), count);
  return lstm_check_quant(ctx, node, t, slot, name);
}

/* ---- integer parameters ---------------------------------------------------------------- */

/* The cell state's scale must be 2^k (TFLite's CheckedLog2) with k in [-15, -9],
 * the range of Q formats TFLite's fixed-point tanh covers for it. */
static tfl_status lstm_q_cell_shift(tfl_context *ctx, const tfl_node *node, float scale,
                                    int *shift) {
  if (!tfl_checked_log2(scale, shift))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the integer LSTM's cell state scale (%g) must be a power of two",
                            (double)scale);
  if (*shift < -15 || *shift > -9)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "integer LSTM cell state scale 2^%d is not supported (2^-15 to "
                            "2^-9)",
                            *shift);
  return TFL_OK;
}

static float lstm_scale_of(tfl_context *ctx, const tfl_node *node, int slot) {
  const tfl_tensor *t = slot >= 0 ? tfl_node_input(ctx, node, slot) : NULL;
  return t && t->quant.count ? t->quant.scale[0] : 1.0f;
}

/* The five intermediates: gate scales (Q3.12 = 2^-12 without layer norm) and the hidden
 * state's scale and zero point. */
static tfl_status lstm_q_intermediates(tfl_context *ctx, const tfl_node *node,
                                       const lstm_cell *cell, float gate_scale[LSTM_GATES],
                                       float *hidden_scale, int32_t *hidden_zp) {
  if (node->num_intermediates == 12)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "the 8x8->8 integer LSTM (12 intermediate tensors) is not "
                            "supported");
  if (node->num_intermediates != 5)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the integer LSTM needs 5 intermediate tensors, has %d",
                            node->num_intermediates);
  for (int i = 0; i < 5; i++) {
    const int32_t index = node->intermediates[i];
    const tfl_tensor *t = index >= 0 ? tfl_context_tensor(ctx, index) : NULL;
    const int needed = i == 4 || cell->layer_norm;
    if (needed && (!t || t->quant.count < 1 || !(t->quant.scale[0] > 0.0f)))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "intermediate tensor %d must be quantized", i);
    if (i < 4) gate_scale[i] = needed ? t->quant.scale[0] : 1.0f / 4096.0f;
    if (i == 4) {
      *hidden_scale = t->quant.scale[0];
      *hidden_zp = t->quant.zero_point[0];
    }
  }
  return TFL_OK;
}

/* The zero points the integer kernel computes with. The int8 ones are subtracted inside int32
 * products (w * (x - zp)) and added to rescaled sums: outside [-128, 127] they describe no
 * int8 quantization and would overflow those. The cell state is symmetric (TFLite reads only
 * its power-of-two scale), so a zero point there would be silently ignored. */
static tfl_status lstm_q_zero_points(tfl_context *ctx, const tfl_node *node,
                                     const lstm_qparams *q, const tfl_tensor *c) {
  static const char *const names[3] = {"input", "output_state", "intermediate 4 (hidden)"};
  const int32_t zps[3] = {q->input_zp, q->h_zp, q->hidden_zp};
  for (int i = 0; i < 3; i++)
    if (zps[i] < INT8_MIN || zps[i] > INT8_MAX)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                              "integer LSTM: the %s zero point %ld is outside the int8 range",
                              names[i], (long)zps[i]);
  if (c->quant.zero_point[0] != 0)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "integer LSTM: the cell state zero point must be 0, is %ld",
                            (long)c->quant.zero_point[0]);
  return TFL_OK;
}

/* Effective scales as TFLite forms them: float products and quotients, with the power-of-two
 * factors (std::pow in double) widening those expressions to double. */
static tfl_status lstm_q_prepare(tfl_context *ctx, const tfl_node *node, const lstm_data *d,
                                 lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  lstm_qparams *q = &cell->q;
  float gate_scale[LSTM_GATES], hidden_scale = 1.0f;
  tfl_status st = lstm_q_intermediates(ctx, node, cell, gate_scale, &hidden_scale, &q->hidden_zp);
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *h = tfl_node_input(ctx, node, s->h_state);
  const tfl_tensor *c = tfl_node_input(ctx, node, s->c_state);
  const tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (st == TFL_OK) st = lstm_q_cell_shift(ctx, node, c->quant.scale[0], &q->cell_shift);
  if (st != TFL_OK) return st;
  const float input_scale = input->quant.scale[0], h_scale = h->quant.scale[0];
  q->input_zp = input->quant.zero_point[0];
  q->h_zp = h->quant.zero_point[0];
  st = lstm_q_zero_points(ctx, node, q, c);
  if (st != TFL_OK) return st;
  for (int g = 0; g < LSTM_GATES; g++) {
    lstm_qgate *qg = &q->gate[g];
    const float in_w = lstm_scale_of(ctx, node, s->in_w[g]);
    const float rec_w = lstm_scale_of(ctx, node, s->rec_w[g]);
    const float ln = cell->layer_norm ? lstm_scale_of(ctx, node, s->ln[g]) : 1.0f;
    tfl_quantize_multiplier(in_w * input_scale / gate_scale[g], &qg->in_mult, &qg->in_shift);
    tfl_quantize_multiplier(rec_w * h_scale / gate_scale[g], &qg->rec_mult, &qg->rec_shift);
    if (cell->peephole && g != LSTM_GATE_C) {
      const float peep = (float)(ldexp(1.0, q->cell_shift) *
                                 (double)lstm_scale_of(ctx, node, s->peep[g]) /
                                 (double)gate_scale[g]);
      tfl_quantize_multiplier(peep, &qg->peep_mult, &qg->peep_shift);
    }
    tfl_quantize_multiplier(ln, &qg->ln_mult, &qg->ln_shift);
    const int32_t guard = (int32_t)(10000.0f * ln);
    qg->variance_guard = guard > 1 ? guard : 1;
  }
  const float hidden = (float)(ldexp(1.0, -15) / (double)hidden_scale * ldexp(1.0, -15));
  tfl_quantize_multiplier(hidden, &q->hidden_mult, &q->hidden_shift);
  const float proj = lstm_scale_of(ctx, node, s->proj_w) * hidden_scale / h_scale;
  tfl_quantize_multiplier(proj, &q->proj_mult, &q->proj_shift);
  q->cell_clip = 0;
  q->proj_clip = 0;
  if (d->cell_clip > 0.0f)
    q->cell_clip = (int16_t)fminf(fmaxf(d->cell_clip / c->quant.scale[0], -32768.0f), 32767.0f);
  if (d->proj_clip > 0.0f)
    q->proj_clip = (int8_t)fminf(fmaxf(d->proj_clip / out->quant.scale[0], -128.0f), 127.0f);
  return TFL_OK;
}

/* Hybrid: the weights' scales. */
static void lstm_h_prepare(tfl_context *ctx, const tfl_node *node, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  lstm_hscales *hs = &cell->hs;
  for (int g = 0; g < LSTM_GATES; g++) {
    hs->in_w[g] = lstm_scale_of(ctx, node, s->in_w[g]);
    hs->rec_w[g] = lstm_scale_of(ctx, node, s->rec_w[g]);
    hs->aux_w[g] = lstm_scale_of(ctx, node, s->aux_w[g]);
    hs->peep[g] = lstm_scale_of(ctx, node, s->peep[g]);
  }
  hs->proj_w = lstm_scale_of(ctx, node, s->proj_w);
}

static tfl_status lstm_prepare_cell(tfl_context *ctx, const tfl_node *node, const lstm_data *d,
                                    int allow_diag, lstm_cell *cell) {
  const lstm_slots *s = cell->slots;
  tfl_status st = lstm_cell_sizes(ctx, node, allow_diag, cell);
  if (st == TFL_OK) st = lstm_check_weights(ctx, node, d, allow_diag, cell);
  if (st == TFL_OK) st = lstm_check_peepholes(ctx, node, d, cell);
  if (st == TFL_OK)
    st = lstm_check_gate_vectors(ctx, node, d, cell, s->bias, LSTM_ROLE_BIAS, "%s%s_gate_bias");
  if (st == TFL_OK) st = lstm_check_projection(ctx, node, d, cell);
  if (st == TFL_OK) st = lstm_check_layer_norm(ctx, node, d, cell);
  if (st == TFL_OK && cell->n_aux) st = lstm_check_aux_weights(ctx, node, d, cell);
  if (st != TFL_OK) return st;
  const size_t batch = (size_t)d->n_batch;
  st = lstm_check_state(ctx, node, d, s, s->h_state, LSTM_ROLE_H_STATE, "output_state",
                        batch * (size_t)cell->n_output);
  if (st == TFL_OK)
    st = lstm_check_state(ctx, node, d, s, s->c_state, LSTM_ROLE_C_STATE, "cell_state",
                          batch * (size_t)cell->n_cell);
  if (st != TFL_OK) return st;
  if (d->kind == LSTM_HYBRID) lstm_h_prepare(ctx, node, cell);
  if (d->kind == LSTM_INTEGER) return lstm_q_prepare(ctx, node, d, cell);
  return TFL_OK;
}

/* The kind from the input and input_to_output_weights. */
static tfl_status lstm_kind_of(tfl_context *ctx, const tfl_node *node, lstm_data *d) {
  const tfl_tensor *input = tfl_node_input(ctx, node, 0);
  const tfl_tensor *w = tfl_node_input(ctx, node, 4); /* input_to_output_weights (fw) */
  if (!input || !w)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the input and input_to_output_weights are required");
  if (input->type == TFL_FLOAT32 && w->type == TFL_FLOAT32) {
    d->kind = LSTM_FLOAT;
    return TFL_OK;
  }
  if (input->type == TFL_FLOAT32 && w->type == TFL_INT8) {
    d->kind = LSTM_HYBRID;
    return TFL_OK;
  }
  if (input->type == TFL_INT8 && w->type == TFL_INT8) {
    d->kind = LSTM_INTEGER;
    return TFL_OK;
  }
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "%s input with %s weights is not supported", tfl_type_name(input->type),
                          tfl_type_name(w->type));
}

/* Options shared by the three ops (asymmetric_quantize_inputs at `asym_field`), the kind. */
static tfl_status lstm_prepare_common(tfl_context *ctx, const tfl_node *node, int options_type,
                                      int asym_field, lstm_data *d) {
  if (tfl_opt_type(node) != 0 && tfl_opt_type(node) != options_type)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "builtin options have union type %d, expected %d",
                            tfl_opt_type(node), options_type);
  d->act = tfl_opt_int(node, LSTM_OPT_ACTIVATION, TFL_ACT_NONE);
  d->cell_clip = tfl_opt_float(node, LSTM_OPT_CELL_CLIP, 0.0f);
  d->proj_clip = tfl_opt_float(node, LSTM_OPT_PROJ_CLIP, 0.0f);
  d->asymmetric = tfl_opt_bool(node, asym_field, 0);
  tfl_status st = tfl_check_activation(ctx, node, d->act);
  if (st != TFL_OK) return st;
  if (!(d->cell_clip >= 0.0f) || !(d->proj_clip >= 0.0f))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "cell_clip (%g) and proj_clip (%g) must be >= 0", d->cell_clip,
                            d->proj_clip);
  return lstm_kind_of(ctx, node, d);
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

static tfl_status lstm_request_scratch(tfl_context *ctx, tfl_node *node, lstm_data *d) {
  lstm_bufs bufs;
  const size_t bytes = lstm_carve(d, NULL, &bufs);
  if (bytes == SIZE_MAX)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED, "LSTM scratch size overflows");
  return tfl_context_request_scratch(ctx, node, bytes, &d->scratch);
}

/* The input and the outputs: the kind's activation type, with a scale if quantized. */
static tfl_status lstm_check_io_types(tfl_context *ctx, const tfl_node *node,
                                      const lstm_data *d, int n_out) {
  const tfl_type type = lstm_role_types[d->kind][LSTM_ROLE_H_STATE];
  tfl_status st = lstm_check_quant(ctx, node, tfl_node_input(ctx, node, 0), 0, "input");
  for (int i = 0; i < n_out && st == TFL_OK; i++) {
    const tfl_tensor *out = tfl_node_output(ctx, node, i);
    if (!out) return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output %d is missing", i);
    st = tfl_check_type(ctx, node, out, "output", type);
    if (st == TFL_OK && type == TFL_INT8 && !(out->quant.count >= 1 && out->quant.scale[0] > 0.0f))
      st = tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output %d must be quantized", i);
  }
  return st;
}

/* Input and output counts (most inputs are optional, so tfl_check_io does not fit), then
 * the options and the kind, then the input's and outputs' types. */
static tfl_status lstm_check_node(tfl_context *ctx, const tfl_node *node, int n_in_a,
                                  int n_in_b, int n_out, int options_type, int asym_field,
                                  lstm_data *d) {
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
  tfl_status st = lstm_prepare_common(ctx, node, options_type, asym_field, d);
  if (st == TFL_OK) st = lstm_check_io_types(ctx, node, d, n_out);
  return st;
}

static tfl_status lstm_start(tfl_context *ctx, tfl_node *node, int options_type, int asym_field) {
  lstm_data *d = node->user_data;
  memset(d, 0, sizeof(*d));
  d->aux_input = -1;
  d->n_cells = 1;
  d->cells[0].slots = &lstm_full_slots;
  return lstm_check_node(ctx, node, 20, 24, 1, options_type, asym_field, d);
}

static tfl_status lstm_unidi_prepare(tfl_context *ctx, tfl_node *node) {
  lstm_data *d = node->user_data;
  tfl_status st =
      lstm_start(ctx, node, TFL_OPTS_UNIDIRECTIONAL_SEQUENCE_LSTM, UNI_LSTM_OPT_ASYMMETRIC);
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
  tfl_status st = lstm_start(ctx, node, TFL_OPTS_LSTM, LSTM_OPT_ASYMMETRIC);
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
                                  TFL_OPTS_BIDIRECTIONAL_SEQUENCE_LSTM, BIDI_LSTM_OPT_ASYMMETRIC,
                                  d);
  if (st == TFL_OK && d->kind == LSTM_INTEGER)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "integer BIDIRECTIONAL_SEQUENCE_LSTM is not supported");
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
    .types = TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8),
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
    .types = TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8),
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
    .types = TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT8),
};

const tfl_op_registration *const tfl_kernels_lstm[] = {&lstm_step_op, &lstm_unidi_op,
                                                       &lstm_bidi_op, NULL};
