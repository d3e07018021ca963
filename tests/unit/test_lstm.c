/* LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM and BIDIRECTIONAL_SEQUENCE_LSTM (float32) against a naive
 * LSTM written here in double precision. The state tensors are variables, so the models are
 * built with the model builder (weights constant, states mb_variable) and run through the
 * public API; several invokes check that the states carry over. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hybrid.h"
#include "kernels/quant.h"
#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

enum { MAXN = 8, MAXROWS = 32, GATES = 4, GI = 0, GF = 1, GC = 2, GO = 3 };
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4 };
enum { KIND_FLOAT, KIND_HYBRID, KIND_INTEGER };

typedef struct lstm_cfg {
  int op;              /* TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM, TFL_OP_LSTM, TFL_OP_BIDI... */
  int n_batch, max_time, n_input, n_cell, n_output;
  int cifg, peephole, projection, proj_bias, layer_norm, diag;
  int time_major;
  int act;
  float cell_clip, proj_clip;
  int legacy_20_inputs;  /* LSTM / UNIDIRECTIONAL with 20 inputs (no layer-norm slots) */
  int kernel_type;       /* LSTM only: 0 FULL, 1 BASIC */
  /* bidirectional only */
  int merge_outputs;
  int aux;               /* 0 none, 1 aux input with aux weights, 2 aux input as bw input */
  int n_aux;
  /* quantized variants */
  int kind;              /* KIND_FLOAT, KIND_HYBRID or KIND_INTEGER */
  int asymmetric;        /* hybrid: asymmetric_quantize_inputs */
  int intermediates;     /* integer: 0 for the usual five, else this many (-1: none) */
} lstm_cfg;

typedef struct cell_weights {
  float in_w[GATES][MAXN * MAXN], rec_w[GATES][MAXN * MAXN], aux_w[GATES][MAXN * MAXN];
  float peep[GATES][MAXN], bias[GATES][MAXN], ln[GATES][MAXN];
  float proj_w[MAXN * MAXN], proj_b[MAXN];
} cell_weights;

typedef struct qweights qweights; /* a cell's quantized weights (hybrid and integer nets) */

/* ---- the reference: one LSTM cell over a sequence, in double -------------------------- */

static double ref_act(int act, double x) {
  switch (act) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_RELU_N1_TO_1: return x < -1 ? -1 : x > 1 ? 1 : x;
    case ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case ACT_TANH: return tanh(x);
    default: return x;
  }
}

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double ref_clip(double x, double clip) {
  if (clip <= 0) return x;
  return x > clip ? clip : x < -clip ? -clip : x;
}

static int ref_row(const lstm_cfg *c, int t, int b) {
  return c->time_major ? t * c->n_batch + b : b * c->max_time + t;
}

/* Pre-activation of gate g for one row: W x + W_aux aux + R h + p .* cell (+ layer norm). */
static double ref_gate_sum(const lstm_cfg *c, const cell_weights *w, int g, int k,
                           const float *x, const float *aux, const double *h,
                           const double *cell) {
  double s = 0;
  for (int j = 0; j < c->n_input; j++) s += (double)w->in_w[g][k * c->n_input + j] * x[j];
  if (aux)
    for (int j = 0; j < c->n_aux; j++) s += (double)w->aux_w[g][k * c->n_aux + j] * aux[j];
  if (c->diag)
    s += (double)w->rec_w[g][k] * h[k];
  else
    for (int j = 0; j < c->n_output; j++) s += (double)w->rec_w[g][k * c->n_output + j] * h[j];
  if (c->peephole && g != GC) s += (double)w->peep[g][k] * cell[k];
  return s;
}

static void ref_gate(const lstm_cfg *c, const cell_weights *w, int g, const float *x,
                     const float *aux, const double *h, const double *cell, double *out) {
  int n = c->n_cell;
  for (int k = 0; k < n; k++) out[k] = ref_gate_sum(c, w, g, k, x, aux, h, cell);
  if (c->layer_norm) {
    double mean = 0, var = 0;
    for (int k = 0; k < n; k++) mean += out[k];
    mean /= n;
    for (int k = 0; k < n; k++) var += (out[k] - mean) * (out[k] - mean);
    var /= n;
    for (int k = 0; k < n; k++)
      out[k] = (out[k] - mean) / sqrt(var + 1e-8) * w->ln[g][k] + w->bias[g][k];
  } else {
    for (int k = 0; k < n; k++) out[k] += w->bias[g][k];
  }
  for (int k = 0; k < n; k++) out[k] = g == GC ? ref_act(c->act, out[k]) : ref_sigmoid(out[k]);
}

/* One row's step: h [n_output] and cell [n_cell] are updated. */
static void ref_step(const lstm_cfg *c, const cell_weights *w, const float *x, const float *aux,
                     double *h, double *cell) {
  double gi[MAXN], gf[MAXN], gg[MAXN], go[MAXN], m[MAXN];
  if (!c->cifg) ref_gate(c, w, GI, x, aux, h, cell, gi);
  ref_gate(c, w, GF, x, aux, h, cell, gf);
  ref_gate(c, w, GC, x, aux, h, cell, gg);
  for (int k = 0; k < c->n_cell; k++) {
    double in = c->cifg ? 1 - gf[k] : gi[k];
    cell[k] = ref_clip(gf[k] * cell[k] + in * gg[k], c->cell_clip);
  }
  ref_gate(c, w, GO, x, aux, h, cell, go);
  for (int k = 0; k < c->n_cell; k++) m[k] = go[k] * ref_act(c->act, cell[k]);
  if (!c->projection) {
    for (int k = 0; k < c->n_cell; k++) h[k] = m[k];
    return;
  }
  for (int r = 0; r < c->n_output; r++) {
    double s = c->proj_bias ? w->proj_b[r] : 0;
    for (int k = 0; k < c->n_cell; k++) s += (double)w->proj_w[r * c->n_cell + k] * m[k];
    h[r] = ref_clip(s, c->proj_clip);
  }
}

/* One row's step of some reference; h [n_output] and cell [n_cell] are updated. */
typedef void (*ref_step_fn)(const lstm_cfg *c, const cell_weights *w, const qweights *q,
                            const float *x, const float *aux, double *h, double *cell);

static void ref_step_real(const lstm_cfg *c, const cell_weights *w, const qweights *q,
                          const float *x, const float *aux, double *h, double *cell) {
  (void)q;
  ref_step(c, w, x, aux, h, cell);
}

/* A whole sequence; out rows have out_ld values, this cell's at out_off. States are
 * [n_batch][MAXN]. */
static void ref_sequence(const lstm_cfg *c, const cell_weights *w, const qweights *q,
                         ref_step_fn step, const float *x, int n_x, const float *aux, int forward,
                         double h[][MAXN], double cell[][MAXN], double *out, int out_ld,
                         int out_off) {
  for (int s = 0; s < c->max_time; s++) {
    int t = forward ? s : c->max_time - 1 - s;
    for (int b = 0; b < c->n_batch; b++) {
      int row = ref_row(c, t, b);
      step(c, w, q, x + row * n_x, aux ? aux + row * c->n_aux : NULL, h[b], cell[b]);
      for (int k = 0; k < c->n_output; k++) out[row * out_ld + out_off + k] = h[b][k];
    }
  }
}

/* ---- random data ------------------------------------------------------------------ */

static void fill(uint32_t *seed, float *p, int n, float lo, float hi) {
  for (int i = 0; i < n; i++) p[i] = ck_rnd(seed, lo, hi);
}

static void make_weights(uint32_t seed, float scale, cell_weights *w) {
  memset(w, 0, sizeof(*w));
  for (int g = 0; g < GATES; g++) {
    fill(&seed, w->in_w[g], MAXN * MAXN, -scale, scale);
    fill(&seed, w->rec_w[g], MAXN * MAXN, -scale, scale);
    fill(&seed, w->aux_w[g], MAXN * MAXN, -scale, scale);
    fill(&seed, w->peep[g], MAXN, -scale, scale);
    fill(&seed, w->bias[g], MAXN, -0.5f, 0.5f);
    fill(&seed, w->ln[g], MAXN, 0.5f, 1.5f);
  }
  fill(&seed, w->proj_w, MAXN * MAXN, -scale, scale);
  fill(&seed, w->proj_b, MAXN, -0.5f, 0.5f);
}

/* ---- quantized parameters (hybrid and integer nets) ------------------------------------ */

/* A cell's weights in the types the hybrid and integer kernels take, with their scales. The
 * float cell_weights of such a net are replaced by the dequantized values, so that the
 * double-precision reference runs the same LSTM in real numbers. */
typedef struct qweights {
  int8_t in_w[GATES][MAXN * MAXN], rec_w[GATES][MAXN * MAXN], aux_w[GATES][MAXN * MAXN];
  int8_t proj_w[MAXN * MAXN], peep8[GATES][MAXN];
  int16_t peep16[GATES][MAXN], ln[GATES][MAXN];
  int32_t bias[GATES][MAXN], proj_b[MAXN];
  float in_s[GATES], rec_s[GATES], aux_s[GATES], peep_s[GATES], ln_s[GATES], proj_s;
} qweights;

/* Integer nets: activation quantization. gate_s are the intermediate (gate) scales. */
typedef struct qio {
  float in_s, h_s, hidden_s, gate_s[GATES];
  int32_t in_zp, h_zp, hidden_zp;
  int cell_shift; /* cell state scale 2^cell_shift */
} qio;

static const qio int_io = {.in_s = 1.0f / 64, .h_s = 1.0f / 128, .hidden_s = 1.0f / 100,
                           .gate_s = {1.0f / 4096, 1.0f / 4096, 1.0f / 4096, 1.0f / 4096},
                           .in_zp = 3, .h_zp = -2, .hidden_zp = 1, .cell_shift = -11};

/* The scale and zero point of intermediate 4: the hidden state before the projection, or
 * the output itself without one. */
static void hidden_quant(const lstm_cfg *c, float *scale, int32_t *zp) {
  *scale = c->projection ? int_io.hidden_s : int_io.h_s;
  *zp = c->projection ? int_io.hidden_zp : int_io.h_zp;
}

static float gate_scale(const lstm_cfg *c, int g) {
  return c->layer_norm ? int_io.gate_s[g] : 1.0f / 4096;
}

static float absmax(const float *x, int n) {
  float m = 0;
  for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
  return m > 0 ? m : 1;
}

/* Rounds x / scale into [-limit, limit] and replaces x by the dequantized value. */
static int32_t quantize_value(float *x, float scale, int32_t limit) {
  long q = lround((double)*x / scale);
  q = q > limit ? limit : q < -limit ? -limit : q;
  *x = (float)(q * (double)scale);
  return (int32_t)q;
}

static void quantize_i8(float *x, int n, int8_t *q, float *scale) {
  *scale = absmax(x, n) / 127;
  for (int i = 0; i < n; i++) q[i] = (int8_t)quantize_value(&x[i], *scale, 127);
}

static void quantize_i16(float *x, int n, int16_t *q, float *scale) {
  *scale = absmax(x, n) / 32767;
  for (int i = 0; i < n; i++) q[i] = (int16_t)quantize_value(&x[i], *scale, 32767);
}

static void quantize_i32(float *x, int n, int32_t *q, float scale) {
  for (int i = 0; i < n; i++) q[i] = quantize_value(&x[i], scale, INT32_MAX);
}

/* Quantizes a cell's weights for the net's kind. Integer biases take the scale of the sum they
 * join: input x weights, or with layer norm the coefficients' scale / 1024. */
static void quantize_cell(const lstm_cfg *c, cell_weights *w, qweights *q) {
  const int nn = MAXN * MAXN;
  for (int g = 0; g < GATES; g++) {
    quantize_i8(w->in_w[g], nn, q->in_w[g], &q->in_s[g]);
    quantize_i8(w->aux_w[g], nn, q->aux_w[g], &q->aux_s[g]);
    if (c->diag && c->kind == KIND_HYBRID)
      q->rec_s[g] = 1; /* diagonal recurrent weights stay float */
    else
      quantize_i8(w->rec_w[g], nn, q->rec_w[g], &q->rec_s[g]);
    if (c->kind == KIND_HYBRID) {
      quantize_i8(w->peep[g], MAXN, q->peep8[g], &q->peep_s[g]);
      continue;
    }
    quantize_i16(w->peep[g], MAXN, q->peep16[g], &q->peep_s[g]);
    quantize_i16(w->ln[g], MAXN, q->ln[g], &q->ln_s[g]);
    const float bias_s = c->layer_norm ? q->ln_s[g] / 1024 : int_io.in_s * q->in_s[g];
    quantize_i32(w->bias[g], MAXN, q->bias[g], bias_s);
  }
  quantize_i8(w->proj_w, nn, q->proj_w, &q->proj_s);
  if (c->kind == KIND_INTEGER)
    quantize_i32(w->proj_b, MAXN, q->proj_b, q->proj_s * int_io.hidden_s);
}

/* ---- building the model ------------------------------------------------------------- */

/* First input index of each group of one cell's tensors (-1: the op has none). */
typedef struct cell_pos {
  int in_w, rec_w, peep, bias, proj, h, c, ln, aux_w;
} cell_pos;
static const cell_pos uni_pos = {1, 5, 9, 12, 16, 18, 19, 20, -1};
static const cell_pos bidi_pos[2] = {{1, 5, 9, 12, 16, 35, 36, -1, 40},
                                     {18, 22, 26, 29, 33, 37, 38, -1, 44}};

typedef struct lstm_net {
  lstm_cfg cfg;
  cell_weights w[2];
  qweights q[2];
  mb_model *mb;
  int in[48];
  int n_in;
  int graph_in[2], n_graph_in;
  int out[2], n_out;
} lstm_net;

/* What a parameter is, for its type in hybrid and integer nets. */
typedef enum param_role { R_WEIGHTS, R_DIAG, R_PEEP, R_BIAS, R_LN } param_role;

static int add_quant(lstm_net *n, tfl_type type, int ndim, const int32_t *dims, const void *data,
                     size_t bytes, float scale, int32_t zp) {
  int t = mb_tensor(n->mb, type, ndim, dims, data, bytes, NULL);
  int64_t z = zp;
  mb_quant(n->mb, t, 1, &scale, &z, 0);
  return t;
}

static int add_const(lstm_net *n, int ndim, int32_t d0, int32_t d1, const float *data) {
  int32_t dims[2] = {d0, d1};
  size_t count = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
  return mb_tensor(n->mb, TFL_FLOAT32, ndim, dims, data, count * sizeof(float), NULL);
}

/* A constant parameter: f (float), or q (int8/int16/int32 as the role and kind give) with
 * `scale`. */
static int add_param(lstm_net *n, param_role role, int ndim, int32_t d0, int32_t d1,
                     const float *f, const void *q, float scale) {
  const int kind = n->cfg.kind;
  int32_t dims[2] = {d0, d1};
  size_t count = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
  int quantized = kind != KIND_FLOAT && (role == R_WEIGHTS || role == R_PEEP ||
                                         (kind == KIND_INTEGER && role != R_DIAG));
  if (!quantized) return add_const(n, ndim, d0, d1, f);
  tfl_type type = role == R_WEIGHTS || kind == KIND_HYBRID ? TFL_INT8
                  : role == R_BIAS                         ? TFL_INT32
                                                           : TFL_INT16;
  return add_quant(n, type, ndim, dims, q, count * tfl_type_size(type), scale, 0);
}

static int add_state(lstm_net *n, int32_t d1, int is_cell) {
  int32_t dims[2] = {n->cfg.n_batch, d1};
  int t;
  if (n->cfg.kind != KIND_INTEGER)
    t = mb_tensor(n->mb, TFL_FLOAT32, 2, dims, NULL, 0, NULL);
  else if (is_cell)
    t = add_quant(n, TFL_INT16, 2, dims, NULL, 0, ldexpf(1.0f, int_io.cell_shift), 0);
  else
    t = add_quant(n, TFL_INT8, 2, dims, NULL, 0, int_io.h_s, int_io.h_zp);
  mb_variable(n->mb, t);
  return t;
}

static void add_cell(lstm_net *n, const cell_pos *p, int k) {
  const lstm_cfg *c = &n->cfg;
  const cell_weights *w = &n->w[k];
  const qweights *q = &n->q[k];
  const int hybrid = c->kind == KIND_HYBRID;
  static const int peep_gates[3] = {GI, GF, GO};
  for (int g = 0; g < GATES; g++) {
    int used = g != GI || !c->cifg;
    n->in[p->in_w + g] =
        used ? add_param(n, R_WEIGHTS, 2, c->n_cell, c->n_input, w->in_w[g], q->in_w[g], q->in_s[g])
             : -1;
    n->in[p->rec_w + g] =
        !used     ? -1
        : c->diag ? add_param(n, R_DIAG, 1, c->n_cell, 0, w->rec_w[g], NULL, 1)
                  : add_param(n, R_WEIGHTS, 2, c->n_cell, c->n_output, w->rec_w[g], q->rec_w[g],
                              q->rec_s[g]);
    n->in[p->bias + g] = used ? add_param(n, R_BIAS, 1, c->n_cell, 0, w->bias[g], q->bias[g],
                                          int_io.in_s * q->in_s[g])
                              : -1;
    if (p->ln >= 0 && !c->legacy_20_inputs)
      n->in[p->ln + g] = used && c->layer_norm ? add_param(n, R_LN, 1, c->n_cell, 0, w->ln[g],
                                                           q->ln[g], q->ln_s[g])
                                               : -1;
    if (p->aux_w >= 0)
      n->in[p->aux_w + g] = used && c->aux == 1 ? add_param(n, R_WEIGHTS, 2, c->n_cell, c->n_aux,
                                                            w->aux_w[g], q->aux_w[g], q->aux_s[g])
                                                : -1;
  }
  for (int i = 0; i < 3; i++) {
    int g = peep_gates[i];
    int used = c->peephole && (g != GI || !c->cifg);
    n->in[p->peep + i] =
        used ? add_param(n, R_PEEP, 1, c->n_cell, 0, w->peep[g],
                         hybrid ? (const void *)q->peep8[g] : (const void *)q->peep16[g],
                         q->peep_s[g])
             : -1;
  }
  n->in[p->proj] = c->projection ? add_param(n, R_WEIGHTS, 2, c->n_output, c->n_cell, w->proj_w,
                                             q->proj_w, q->proj_s)
                                 : -1;
  n->in[p->proj + 1] = c->projection && c->proj_bias
                           ? add_param(n, R_BIAS, 1, c->n_output, 0, w->proj_b, q->proj_b,
                                       q->proj_s * int_io.hidden_s)
                           : -1;
  n->in[p->h] = add_state(n, c->n_output, 0);
  n->in[p->c] = add_state(n, c->n_cell, 1);
}

static int add_sequence_tensor(lstm_net *n, int32_t last, int is_output) {
  const lstm_cfg *c = &n->cfg;
  int32_t dims[3] = {c->time_major ? c->max_time : c->n_batch,
                     c->time_major ? c->n_batch : c->max_time, last};
  const int ndim = c->op == TFL_OP_LSTM ? 2 : 3;
  if (ndim == 2) {
    dims[0] = c->n_batch;
    dims[1] = last;
  }
  if (c->kind != KIND_INTEGER) return mb_tensor(n->mb, TFL_FLOAT32, ndim, dims, NULL, 0, NULL);
  return is_output ? add_quant(n, TFL_INT8, ndim, dims, NULL, 0, int_io.h_s, int_io.h_zp)
                   : add_quant(n, TFL_INT8, ndim, dims, NULL, 0, int_io.in_s, int_io.in_zp);
}

/* Creates every tensor and the input list; tests may then edit n->in before net_finish. */
static void net_begin(lstm_net *n, const lstm_cfg *c, uint32_t seed, float scale) {
  memset(n, 0, sizeof(*n));
  n->cfg = *c;
  if (n->cfg.op == TFL_OP_LSTM) {
    n->cfg.max_time = 1;
    n->cfg.time_major = 1;
  }
  n->mb = mb_new();
  make_weights(seed, scale, &n->w[0]);
  make_weights(seed + 7919u, scale, &n->w[1]);
  for (int k = 0; k < 2 && c->kind != KIND_FLOAT; k++) quantize_cell(c, &n->w[k], &n->q[k]);
  int bidi = c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM;
  n->n_in = bidi ? 48 : c->legacy_20_inputs ? 20 : 24;
  for (int i = 0; i < 48; i++) n->in[i] = -1;
  n->in[0] = add_sequence_tensor(n, c->n_input, 0);
  n->graph_in[n->n_graph_in++] = n->in[0];
  if (bidi) {
    add_cell(n, &bidi_pos[0], 0);
    add_cell(n, &bidi_pos[1], 1);
    if (c->aux) {
      n->in[39] = add_sequence_tensor(n, c->aux == 1 ? c->n_aux : c->n_input, 0);
      n->graph_in[n->n_graph_in++] = n->in[39];
    }
    int fw_cols = c->merge_outputs ? 2 * c->n_output : c->n_output;
    n->out[n->n_out++] = add_sequence_tensor(n, fw_cols, 1);
    if (!c->merge_outputs) n->out[n->n_out++] = add_sequence_tensor(n, c->n_output, 1);
  } else {
    add_cell(n, &uni_pos, 0);
    n->out[n->n_out++] = add_sequence_tensor(n, c->n_output, 1);
  }
}

/* The integer kernel's five intermediates: gate scales (float32 placeholders without layer
 * norm, as converted models have them) and the hidden state's quantization. */
static void add_intermediates(lstm_net *n, int op) {
  int t[12];
  const int32_t zero[1] = {0};
  for (int g = 0; g < GATES; g++)
    t[g] = n->cfg.layer_norm ? add_quant(n, TFL_INT16, 1, zero, NULL, 0, int_io.gate_s[g], 0)
                             : mb_tensor(n->mb, TFL_FLOAT32, 1, zero, NULL, 0, NULL);
  float hidden_s;
  int32_t hidden_zp;
  hidden_quant(&n->cfg, &hidden_s, &hidden_zp);
  t[4] = add_quant(n, TFL_INT8, 1, zero, NULL, 0, hidden_s, hidden_zp);
  const int count = n->cfg.intermediates ? n->cfg.intermediates : 5;
  for (int i = 5; i < count; i++) t[i] = t[4];
  mb_op_intermediates(n->mb, op, count, t);
}

static uint8_t *net_finish(lstm_net *n, size_t *size) {
  const lstm_cfg *c = &n->cfg;
  mb_field uni[] = {MB_BYTE(0, c->act),        MB_FLOAT(1, c->cell_clip),
                    MB_FLOAT(2, c->proj_clip), MB_BYTE(3, c->time_major),
                    MB_BYTE(4, c->asymmetric), MB_FIELDS_END};
  mb_field step[] = {MB_BYTE(0, c->act),         MB_FLOAT(1, c->cell_clip),
                     MB_FLOAT(2, c->proj_clip),  MB_BYTE(3, c->kernel_type),
                     MB_BYTE(4, c->asymmetric),  MB_FIELDS_END};
  mb_field bidi[] = {MB_BYTE(0, c->act),          MB_FLOAT(1, c->cell_clip),
                     MB_FLOAT(2, c->proj_clip),   MB_BYTE(3, c->merge_outputs),
                     MB_BYTE(4, c->time_major),   MB_BYTE(5, c->asymmetric),
                     MB_FIELDS_END};
  const mb_field *fields = c->op == TFL_OP_LSTM ? step
                           : c->op == TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM ? uni
                                                                          : bidi;
  int opts = c->op == TFL_OP_LSTM ? TFL_OPTS_LSTM
             : c->op == TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM ? TFL_OPTS_UNIDIRECTIONAL_SEQUENCE_LSTM
                                                            : TFL_OPTS_BIDIRECTIONAL_SEQUENCE_LSTM;
  mb_inputs(n->mb, n->n_graph_in, n->graph_in);
  mb_outputs(n->mb, n->n_out, n->out);
  int op = mb_op(n->mb, c->op, 1, n->n_in, n->in, n->n_out, n->out, opts, fields);
  if (c->kind == KIND_INTEGER && c->intermediates >= 0) add_intermediates(n, op);
  uint8_t *buf = mb_finish(n->mb, size);
  mb_free(n->mb);
  n->mb = NULL;
  return buf;
}

/* A loaded, allocated interpreter for a finished net. */
typedef struct lstm_run {
  uint8_t *buf;
  tfl_model *model;
  tfl_interpreter *interp;
  tfl_status status; /* of loading, creation or allocation */
  char err[512];
} lstm_run;

static void run_open(lstm_net *n, lstm_run *r) {
  size_t size = 0;
  memset(r, 0, sizeof(*r));
  r->buf = net_finish(n, &size);
  r->status = TFL_ERROR;
  if (!r->buf) return;
  r->status = tfl_model_load_buffer(r->buf, size, &r->model, r->err, sizeof(r->err));
  if (r->status != TFL_OK) return;
  r->status = tfl_interpreter_create(r->model, NULL, &r->interp, r->err, sizeof(r->err));
  if (r->status != TFL_OK) return;
  r->status = tfl_interpreter_allocate_tensors(r->interp);
  if (r->status != TFL_OK)
    snprintf(r->err, sizeof(r->err), "%s", tfl_interpreter_error(r->interp));
}

static void run_close(lstm_run *r) {
  tfl_interpreter_free(r->interp);
  tfl_model_free(r->model);
  free(r->buf);
}

static int rows(const lstm_cfg *c) { return c->n_batch * c->max_time; }

/* Feeds input (and aux), invokes, copies the outputs. */
static tfl_status run_invoke(lstm_run *r, const lstm_net *n, const void *x, const void *aux,
                             void *out0, void *out1) {
  const void *feeds[2] = {x, aux};
  for (int i = 0; i < n->n_graph_in; i++) {
    tfl_tensor *t = tfl_interpreter_input(r->interp, i);
    tfl_status st = tfl_tensor_copy_from(t, feeds[i], tfl_tensor_byte_size(t));
    if (st != TFL_OK) return st;
  }
  tfl_status st = tfl_interpreter_invoke(r->interp);
  if (st != TFL_OK) return st;
  void *outs[2] = {out0, out1};
  for (int i = 0; i < n->n_out; i++) {
    const tfl_tensor *t = tfl_interpreter_output(r->interp, i);
    st = tfl_tensor_copy_to(t, outs[i], tfl_tensor_byte_size(t));
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* ---- driving a case ------------------------------------------------------------------ */

static void check_close(const double *ref, const float *got, int n, double rel,
                        const char *what) {
  int bad = 0;
  for (int i = 0; i < n && bad < 5; i++) {
    double tol = rel + rel * fabs(ref[i]);
    if (!(fabs(ref[i] - got[i]) <= tol)) {
      test_fail(__FILE__, __LINE__, "%s[%d]: got %.9g, reference %.9g", what, i, got[i], ref[i]);
      bad++;
    }
  }
}

/* Builds the configuration, runs `invokes` sequences through one interpreter (states carry
 * over) and compares every output with the reference `step` within `tol` (absolute plus
 * relative). */
static void run_case_with(const lstm_cfg *cfg, int invokes, ref_step_fn step, double tol) {
  lstm_net n;
  lstm_run r;
  net_begin(&n, cfg, 12345u + (uint32_t)cfg->n_cell * 31u, 0.6f);
  const lstm_cfg *c = &n.cfg;
  run_open(&n, &r);
  if (r.status != TFL_OK) {
    test_fail(__FILE__, __LINE__, "setup failed (%d): %s", (int)r.status, r.err);
    run_close(&r);
    return;
  }
  int bidi = c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM;
  int fw_ld = bidi && c->merge_outputs ? 2 * c->n_output : c->n_output;
  double h[2][MAXN][MAXN], cell[2][MAXN][MAXN];
  memset(h, 0, sizeof(h));
  memset(cell, 0, sizeof(cell));
  uint32_t seed = 777u;
  for (int inv = 0; inv < invokes; inv++) {
    float x[MAXROWS * MAXN], aux[MAXROWS * MAXN], out0[MAXROWS * 2 * MAXN], out1[MAXROWS * MAXN];
    double ref0[MAXROWS * 2 * MAXN], ref1[MAXROWS * MAXN];
    fill(&seed, x, MAXROWS * MAXN, -1.0f, 1.0f);
    fill(&seed, aux, MAXROWS * MAXN, -1.0f, 1.0f);
    tfl_status st = run_invoke(&r, &n, x, c->aux ? aux : NULL, out0, out1);
    if (st != TFL_OK) {
      test_fail(__FILE__, __LINE__, "invoke %d failed (%d): %s", inv, (int)st,
                tfl_interpreter_error(r.interp));
      break;
    }
    const float *cell_aux = c->aux == 1 ? aux : NULL;
    lstm_cfg fw = *c;
    if (c->aux != 1) fw.n_aux = 0;
    ref_sequence(&fw, &n.w[0], &n.q[0], step, x, c->n_input, cell_aux, 1, h[0], cell[0], ref0,
                 fw_ld, 0);
    if (bidi) {
      const float *bw_x = c->aux == 2 ? aux : x;
      double *bw_ref = c->merge_outputs ? ref0 : ref1;
      ref_sequence(&fw, &n.w[1], &n.q[1], step, bw_x, c->n_input, cell_aux, 0, h[1], cell[1],
                   bw_ref, c->merge_outputs ? fw_ld : c->n_output,
                   c->merge_outputs ? c->n_output : 0);
    }
    check_close(ref0, out0, rows(c) * fw_ld, tol, "output 0");
    if (bidi && !c->merge_outputs) check_close(ref1, out1, rows(c) * c->n_output, tol, "output 1");
  }
  run_close(&r);
}

static void run_case(const lstm_cfg *cfg, int invokes) {
  run_case_with(cfg, invokes, ref_step_real, 2e-5);
}

/* ---- the hybrid reference: TFLite's hybrid cell in float, in its order of operations ----- */

typedef struct hyb_rows {
  int8_t x[MAXN], aux[MAXN], h[MAXN];
  tfl_hybrid_row rx, ra, rh;
  int nx, na, nh; /* the row had a nonzero value (all-zero rows are skipped) */
} hyb_rows;

static int hyb_quantize(const lstm_cfg *c, const float *v, int n, int8_t *q,
                        tfl_hybrid_row *row) {
  int nonzero = 0;
  for (int i = 0; i < n; i++) nonzero |= v[i] != 0.0f;
  if (nonzero && c->asymmetric) tfl_hybrid_quantize_asymmetric(v, (size_t)n, q, row);
  if (nonzero && !c->asymmetric) tfl_hybrid_quantize_symmetric(v, (size_t)n, q, row);
  return nonzero;
}

static void hyb_acc(const int8_t *w, float w_s, int rows, int cols, const int8_t *q,
                    const tfl_hybrid_row *row, float *acc) {
  for (int r = 0; r < rows; r++) {
    int32_t dot = 0;
    for (int k = 0; k < cols; k++) dot += w[r * cols + k] * (q[k] - row->zero_point);
    acc[r] += (float)dot * (row->scale * w_s);
  }
}

static void float_layer_norm(float *v, int n, const float *coef, const float *bias) {
  float sum = 0, sum_sq = 0;
  for (int k = 0; k < n; k++) sum += v[k];
  const float mean = sum / (float)n;
  for (int k = 0; k < n; k++) sum_sq += (v[k] - mean) * (v[k] - mean);
  const float inv = 1.0f / sqrtf(sum_sq / (float)n + 1e-8f);
  for (int k = 0; k < n; k++) v[k] = coef[k] * ((v[k] - mean) * inv) + bias[k];
}

static void ref_hyb_gate(const lstm_cfg *c, const cell_weights *w, const qweights *q, int g,
                         const hyb_rows *r, const float *h, const float *cell, float *out) {
  const int nc = c->n_cell;
  for (int k = 0; k < nc; k++) out[k] = c->layer_norm ? 0.0f : w->bias[g][k];
  if (r->nx) hyb_acc(q->in_w[g], q->in_s[g], nc, c->n_input, r->x, &r->rx, out);
  if (c->n_aux && r->na) hyb_acc(q->aux_w[g], q->aux_s[g], nc, c->n_aux, r->aux, &r->ra, out);
  if (c->diag && r->nh)
    for (int k = 0; k < nc; k++) out[k] += w->rec_w[g][k] * h[k];
  if (!c->diag && r->nh) hyb_acc(q->rec_w[g], q->rec_s[g], nc, c->n_output, r->h, &r->rh, out);
  if (c->peephole && g != GC)
    for (int k = 0; k < nc; k++) out[k] += (q->peep_s[g] * (float)q->peep8[g][k]) * cell[k];
  if (c->layer_norm) float_layer_norm(out, nc, w->ln[g], w->bias[g]);
  for (int k = 0; k < nc; k++)
    out[k] = g == GC ? (float)ref_act(c->act, out[k]) : 1.0f / (1.0f + expf(-out[k]));
}

/* One row's hybrid step; h and cell hold float values. */
static void ref_hyb_step(const lstm_cfg *c, const cell_weights *w, const qweights *q,
                         const float *x, const float *aux, double *hd, double *celld) {
  float h[MAXN], cell[MAXN], gate[GATES][MAXN], m[MAXN];
  hyb_rows r;
  memset(&r, 0, sizeof(r));
  for (int k = 0; k < MAXN; k++) {
    h[k] = (float)hd[k];
    cell[k] = (float)celld[k];
  }
  r.nx = hyb_quantize(c, x, c->n_input, r.x, &r.rx);
  if (aux) r.na = hyb_quantize(c, aux, c->n_aux, r.aux, &r.ra);
  r.nh = hyb_quantize(c, h, c->n_output, r.h, &r.rh);
  for (int g = 0; g < GATES; g++)
    if (g != GI || !c->cifg) ref_hyb_gate(c, w, q, g, &r, h, cell, gate[g]);
  for (int k = 0; k < c->n_cell; k++) {
    const float in = c->cifg ? 1.0f - gate[GF][k] : gate[GI][k];
    float v = gate[GF][k] * cell[k];
    v += gate[GC][k] * in;
    cell[k] = (float)ref_clip(v, c->cell_clip);
  }
  ref_hyb_gate(c, w, q, GO, &r, h, cell, gate[GO]);
  for (int k = 0; k < c->n_cell; k++) m[k] = gate[GO][k] * (float)ref_act(c->act, cell[k]);
  if (!c->projection) {
    for (int k = 0; k < c->n_cell; k++) h[k] = m[k];
  } else {
    int8_t qm[MAXN];
    tfl_hybrid_row rm;
    const int nonzero = hyb_quantize(c, m, c->n_cell, qm, &rm);
    for (int o = 0; o < c->n_output; o++) h[o] = c->proj_bias ? w->proj_b[o] : 0.0f;
    if (nonzero) hyb_acc(q->proj_w, q->proj_s, c->n_output, c->n_cell, qm, &rm, h);
    for (int o = 0; o < c->n_output; o++) h[o] = (float)ref_clip(h[o], c->proj_clip);
  }
  for (int k = 0; k < MAXN; k++) {
    hd[k] = h[k];
    celld[k] = cell[k];
  }
}

/* ---- the integer reference: TFLite's 8x8->16 cell in plain integer arithmetic ---------- */

static int32_t q_apply(int64_t acc, float real) {
  int32_t m;
  int s;
  tfl_quantize_multiplier(real, &m, &s);
  return tfl_mul_by_quantized_multiplier((int32_t)acc, m, s);
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi) {
  return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

static void ref_int_layer_norm(int16_t *v, int n, const int16_t *coef, const int32_t *bias,
                               float ln_s) {
  int64_t sum = 0, sum_sq = 0;
  for (int k = 0; k < n; k++) {
    sum += v[k];
    sum_sq += v[k] * v[k];
  }
  const int32_t mean = (int32_t)(sum * 1024 / n);
  int32_t var = (int32_t)((sum_sq * ((1 << 20) / n) - (int64_t)mean * mean) / (1 << 20));
  if (var < 1) var = (int32_t)fmaxf(1.0f, (float)(int32_t)(10000.0f * ln_s));
  int32_t m;
  int s;
  tfl_inv_sqrt_multiplier(var, -1, &m, &s);
  for (int k = 0; k < n; k++) {
    const int64_t normed = tfl_mul_by_quantized_multiplier(1024 * v[k] - mean, m, s);
    const int64_t weighted = normed * coef[k] + bias[k];
    const int64_t q10 = (weighted > 0 ? weighted + 512 : weighted - 512) / 1024;
    v[k] = (int16_t)clamp32(q_apply(q10, ln_s * 4096.0f), -32768, 32767);
  }
}

static void ref_int_gate(const lstm_cfg *c, const qweights *q, int g, const int8_t *x,
                         const int8_t *h, const int16_t *cell, int16_t *out) {
  const float gs = gate_scale(c, g);
  for (int k = 0; k < c->n_cell; k++) {
    int64_t in = c->layer_norm ? 0 : q->bias[g][k];
    for (int j = 0; j < c->n_input; j++)
      in += q->in_w[g][k * c->n_input + j] * (x[j] - int_io.in_zp);
    int64_t rec = 0;
    for (int j = 0; j < c->n_output; j++)
      rec += q->rec_w[g][k * c->n_output + j] * (h[j] - int_io.h_zp);
    int32_t acc = clamp32(q_apply(in, q->in_s[g] * int_io.in_s / gs), -32768, 32767);
    acc = clamp32(acc + q_apply(rec, q->rec_s[g] * int_io.h_s / gs), -32768, 32767);
    if (c->peephole && g != GC) {
      const float s = (float)(ldexp(1.0, int_io.cell_shift) * q->peep_s[g] / gs);
      acc = clamp32(acc + q_apply(q->peep16[g][k] * cell[k], s), -32768, 32767);
    }
    out[k] = (int16_t)acc;
  }
  if (c->layer_norm) ref_int_layer_norm(out, c->n_cell, q->ln[g], q->bias[g], q->ln_s[g]);
  for (int k = 0; k < c->n_cell; k++)
    out[k] = g == GC ? tfl_fx16_tanh(out[k], 3) : tfl_fx16_logistic(out[k], 3);
}

static void ref_int_step(const lstm_cfg *c, const qweights *q, const int8_t *x, int8_t *h,
                         int16_t *cell) {
  int16_t gate[GATES][MAXN];
  const int cs = int_io.cell_shift;
  for (int g = 0; g < GATES; g++)
    if (g != GI || !c->cifg) ref_int_gate(c, q, g, x, h, cell, gate[g]);
  const int16_t cell_clip = (int16_t)fminf(fmaxf(c->cell_clip / ldexpf(1, cs), -32768), 32767);
  for (int k = 0; k < c->n_cell; k++) {
    const int32_t in = c->cifg ? 32767 - gate[GF][k] : gate[GI][k];
    const int32_t kept = tfl_rdbpot(gate[GF][k] * cell[k], 15);
    const int32_t added = tfl_rdbpot(in * gate[GC][k], 30 + cs);
    int32_t v = clamp32(kept + added, -32768, 32767);
    if (cell_clip > 0) v = clamp32(v, -cell_clip, cell_clip);
    cell[k] = (int16_t)v;
  }
  ref_int_gate(c, q, GO, x, h, cell, gate[GO]);
  float hid_s;
  int32_t hid_zp;
  hidden_quant(c, &hid_s, &hid_zp);
  const float hidden_scale = (float)(ldexp(1, -15) / hid_s * ldexp(1, -15));
  int32_t m[MAXN];
  for (int k = 0; k < c->n_cell; k++)
    m[k] = q_apply(gate[GO][k] * tfl_fx16_tanh(cell[k], 15 + cs), hidden_scale);
  if (!c->projection) {
    for (int k = 0; k < c->n_cell; k++) h[k] = (int8_t)clamp32(m[k] + hid_zp, -128, 127);
    return;
  }
  const int8_t proj_clip = (int8_t)fminf(fmaxf(c->proj_clip / int_io.h_s, -128), 127);
  for (int o = 0; o < c->n_output; o++) {
    int64_t acc = c->proj_bias ? q->proj_b[o] : 0;
    for (int k = 0; k < c->n_cell; k++) {
      /* the hidden value as stored (requantized, minus its zero point), plus the zero point */
      const int32_t stored = clamp32(m[k] - hid_zp, -128, 127);
      acc += q->proj_w[o * c->n_cell + k] * (stored + hid_zp);
    }
    int32_t v = clamp32(q_apply(acc, q->proj_s * hid_s / int_io.h_s) + int_io.h_zp, -128, 127);
    if (proj_clip > 0) v = clamp32(v, -proj_clip, proj_clip);
    h[o] = (int8_t)v;
  }
}

/* ---- driving quantized cases ------------------------------------------------------------ */

/* Hybrid: exact-order float reference (tight) and the real-valued LSTM on the dequantized
 * weights (loose: int8 activations). Float nets go through run_case. */
static void run_hybrid_case(const lstm_cfg *cfg, int invokes) {
  lstm_cfg c = *cfg;
  c.kind = KIND_HYBRID;
  run_case_with(&c, invokes, ref_hyb_step, 2e-5);
  run_case_with(&c, invokes, ref_step_real, 0.03);
}

static int8_t quantize_output(double v) {
  return (int8_t)clamp32(lround(v / int_io.h_s) + int_io.h_zp, -128, 127);
}

/* Integer: bit-exact against ref_int_step, and within a few LSB of the real-valued LSTM run on
 * the dequantized weights and inputs. */
static void run_int_case(const lstm_cfg *cfg, int invokes) {
  lstm_net n;
  lstm_run r;
  lstm_cfg cq = *cfg;
  cq.kind = KIND_INTEGER;
  cq.act = ACT_TANH;
  net_begin(&n, &cq, 4242u + (uint32_t)cq.n_cell * 17u, 0.6f);
  const lstm_cfg *c = &n.cfg;
  run_open(&n, &r);
  if (r.status != TFL_OK) {
    test_fail(__FILE__, __LINE__, "setup failed (%d): %s", (int)r.status, r.err);
    run_close(&r);
    return;
  }
  int8_t h[MAXN][MAXN];
  int16_t cell[MAXN][MAXN] = {{0}};
  double hd[MAXN][MAXN] = {{0}}, celld[MAXN][MAXN] = {{0}};
  memset(h, int_io.h_zp, sizeof(h));
  uint32_t seed = 31u;
  int worst = 0;
  for (int inv = 0; inv < invokes; inv++) {
    int8_t x[MAXROWS * MAXN], out[MAXROWS * MAXN], ref[MAXROWS * MAXN];
    float xf[MAXROWS * MAXN];
    double real[MAXROWS * MAXN];
    for (int i = 0; i < MAXROWS * MAXN; i++) {
      x[i] = (int8_t)fminf(127.0f, floorf(ck_rnd(&seed, -128.0f, 128.0f)));
      xf[i] = (float)((x[i] - int_io.in_zp) * (double)int_io.in_s);
    }
    tfl_status st = run_invoke(&r, &n, x, NULL, out, NULL);
    if (st != TFL_OK) {
      test_fail(__FILE__, __LINE__, "invoke %d failed (%d): %s", inv, (int)st,
                tfl_interpreter_error(r.interp));
      break;
    }
    for (int s = 0; s < c->max_time; s++)
      for (int b = 0; b < c->n_batch; b++) {
        const int row = ref_row(c, s, b);
        ref_int_step(c, &n.q[0], x + row * c->n_input, h[b], cell[b]);
        memcpy(ref + row * c->n_output, h[b], (size_t)c->n_output);
      }
    ref_sequence(c, &n.w[0], NULL, ref_step_real, xf, c->n_input, NULL, 1, hd, celld, real,
                 c->n_output, 0);
    for (int i = 0; i < rows(c) * c->n_output; i++) {
      if (out[i] != ref[i]) {
        test_fail(__FILE__, __LINE__, "invoke %d [%d]: got %d, integer reference %d", inv, i,
                  out[i], ref[i]);
        break;
      }
      const int diff = abs(out[i] - quantize_output(real[i]));
      worst = diff > worst ? diff : worst;
    }
  }
  if (worst > 3) test_fail(__FILE__, __LINE__, "%d LSB from the real-valued LSTM", worst);
  run_close(&r);
}

static lstm_cfg uni(int time_major) {
  lstm_cfg c = {.op = TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM,
                .n_batch = 2,
                .max_time = 4,
                .n_input = 3,
                .n_cell = 5,
                .n_output = 5,
                .time_major = time_major,
                .act = ACT_TANH};
  return c;
}

/* ---- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------------------ */

TEST(uni_basic_batch_major) { lstm_cfg c = uni(0); run_case(&c, 1); }
TEST(uni_basic_time_major) { lstm_cfg c = uni(1); run_case(&c, 1); }

TEST(uni_states_carry_over_invokes) {
  lstm_cfg c = uni(0);
  run_case(&c, 3);
  c.time_major = 1;
  run_case(&c, 3);
}

TEST(uni_cifg) {
  lstm_cfg c = uni(0);
  c.cifg = 1;
  run_case(&c, 2);
  c.time_major = 1;
  run_case(&c, 2);
}

TEST(uni_peephole) {
  lstm_cfg c = uni(1);
  c.peephole = 1;
  run_case(&c, 2);
  c.cifg = 1;
  run_case(&c, 2);
}

TEST(uni_projection) {
  lstm_cfg c = uni(0);
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 3;
  run_case(&c, 2);
  c.proj_bias = 0;
  c.n_output = 6;
  run_case(&c, 2);
}

TEST(uni_projection_clip) {
  lstm_cfg c = uni(1);
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 4;
  c.proj_clip = 0.05f;
  run_case(&c, 2);
}

TEST(uni_cell_clip) {
  lstm_cfg c = uni(0);
  c.cell_clip = 0.15f;
  run_case(&c, 2);
  c.cifg = 1;
  c.peephole = 1;
  run_case(&c, 2);
}

TEST(uni_layer_norm) {
  lstm_cfg c = uni(0);
  c.layer_norm = 1;
  run_case(&c, 2);
  c.cifg = 1;
  c.time_major = 1;
  run_case(&c, 2);
}

TEST(uni_everything) {
  lstm_cfg c = uni(0);
  c.layer_norm = 1;
  c.peephole = 1;
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 4;
  c.cell_clip = 0.4f;
  c.proj_clip = 0.3f;
  c.n_batch = 3;
  run_case(&c, 2);
  c.cifg = 1;
  c.time_major = 1;
  run_case(&c, 2);
}

TEST(uni_diagonal_recurrent) {
  lstm_cfg c = uni(0);
  c.diag = 1;
  run_case(&c, 2);
  c.cifg = 1;
  c.peephole = 1;
  c.time_major = 1;
  run_case(&c, 2);
}

TEST(uni_other_activations) {
  int acts[] = {ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1};
  for (int i = 0; i < 3; i++) {
    lstm_cfg c = uni(i & 1);
    c.act = acts[i];
    run_case(&c, 2);
  }
}

TEST(uni_legacy_20_inputs) {
  lstm_cfg c = uni(0);
  c.legacy_20_inputs = 1;
  c.peephole = 1;
  run_case(&c, 2);
}

TEST(uni_batch_one_long_sequence) {
  lstm_cfg c = uni(0);
  c.n_batch = 1;
  c.max_time = 16;
  c.n_input = 8;
  c.n_cell = 8;
  c.n_output = 8;
  run_case(&c, 1);
}

TEST(uni_zero_batch) {
  lstm_cfg c = uni(0);
  c.n_batch = 0;
  lstm_net n;
  lstm_run r;
  net_begin(&n, &c, 1u, 0.5f);
  run_open(&n, &r);
  REQUIRE(r.status == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(r.interp), TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(r.interp, 0);
  CHECK_EQ_INT(tfl_tensor_ndim(out), 3);
  CHECK_EQ_INT(tfl_tensor_dim(out, 0), 0);
  CHECK_EQ_INT(tfl_tensor_dim(out, 2), 5);
  run_close(&r);
}

/* ---- LSTM (one step per invoke) -------------------------------------------------------- */

TEST(step_lstm_over_invokes) {
  lstm_cfg c = uni(1);
  c.op = TFL_OP_LSTM;
  run_case(&c, 4);
  c.peephole = 1;
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 3;
  c.cell_clip = 0.5f;
  run_case(&c, 4);
  c.cifg = 1;
  c.layer_norm = 1;
  run_case(&c, 3);
  c.legacy_20_inputs = 1;
  c.layer_norm = 0;
  run_case(&c, 3);
}

/* ---- BIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------------------- */

static lstm_cfg bidi(int time_major, int merge) {
  lstm_cfg c = uni(time_major);
  c.op = TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM;
  c.merge_outputs = merge;
  return c;
}

TEST(bidi_separate_and_merged) {
  for (int tm = 0; tm < 2; tm++)
    for (int merge = 0; merge < 2; merge++) {
      lstm_cfg c = bidi(tm, merge);
      run_case(&c, 2);
    }
}

TEST(bidi_peephole_projection_cifg) {
  lstm_cfg c = bidi(1, 1);
  c.peephole = 1;
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 3;
  c.cell_clip = 0.3f;
  run_case(&c, 2);
  c.cifg = 1;
  c.merge_outputs = 0;
  c.time_major = 0;
  run_case(&c, 2);
}

TEST(bidi_aux_input_with_weights) {
  lstm_cfg c = bidi(1, 0);
  c.aux = 1;
  c.n_aux = 2;
  run_case(&c, 2);
  c.cifg = 1;
  c.merge_outputs = 1;
  c.time_major = 0;
  run_case(&c, 2);
}

TEST(bidi_aux_input_feeds_backward_cell) {
  lstm_cfg c = bidi(0, 1);
  c.aux = 2;
  run_case(&c, 2);
  c.time_major = 1;
  c.merge_outputs = 0;
  run_case(&c, 2);
}

/* ---- integer (8x8->16) ------------------------------------------------------------------ */

TEST(int_uni_basic_both_layouts) {
  lstm_cfg c = uni(0);
  run_int_case(&c, 3);
  c.time_major = 1;
  c.n_batch = 3;
  run_int_case(&c, 2);
}

TEST(int_cifg_peephole_clip) {
  lstm_cfg c = uni(0);
  c.cifg = 1;
  run_int_case(&c, 2);
  c.peephole = 1;
  c.cell_clip = 0.5f;
  run_int_case(&c, 2);
  c.cifg = 0;
  c.time_major = 1;
  run_int_case(&c, 2);
}

TEST(int_layer_norm) {
  lstm_cfg c = uni(0);
  c.layer_norm = 1;
  c.n_cell = c.n_output = 4; /* TFLite's integer variance is exact for power-of-two sizes */
  run_int_case(&c, 3);
  c.cifg = 1;
  c.peephole = 1;
  run_int_case(&c, 2);
}

TEST(int_projection) {
  lstm_cfg c = uni(0);
  c.projection = 1;
  c.proj_bias = 1;
  c.n_output = 3;
  run_int_case(&c, 3);
  c.proj_bias = 0;
  c.proj_clip = 0.3f;
  c.n_output = 6;
  c.time_major = 1;
  run_int_case(&c, 2);
}

TEST(int_everything_and_step_lstm) {
  lstm_cfg c = uni(1);
  c.layer_norm = 1;
  c.peephole = 1;
  c.projection = 1;
  c.proj_bias = 1;
  c.n_cell = 8;
  c.n_output = 4;
  c.cell_clip = 1.0f;
  c.proj_clip = 0.5f;
  run_int_case(&c, 2);
  c.op = TFL_OP_LSTM;
  run_int_case(&c, 4);
  c.layer_norm = 0;
  c.projection = 0;
  c.n_output = c.n_cell;
  run_int_case(&c, 4);
}

/* ---- hybrid ------------------------------------------------------------------------ */

TEST(hybrid_uni_symmetric_and_asymmetric) {
  lstm_cfg c = uni(0);
  run_hybrid_case(&c, 3);
  c.asymmetric = 1;
  c.time_major = 1;
  run_hybrid_case(&c, 3);
}

TEST(hybrid_cifg_peephole_projection_layer_norm) {
  lstm_cfg c = uni(0);
  c.cifg = 1;
  c.peephole = 1;
  c.cell_clip = 0.5f;
  run_hybrid_case(&c, 2);
  c.projection = 1;
  c.proj_bias = 1;
  c.proj_clip = 0.3f;
  c.n_output = 3;
  c.asymmetric = 1;
  run_hybrid_case(&c, 2);
  c.layer_norm = 1;
  c.cifg = 0;
  run_hybrid_case(&c, 2);
}

TEST(hybrid_diagonal_step_and_bidirectional) {
  lstm_cfg c = uni(1);
  c.diag = 1;
  run_hybrid_case(&c, 2);
  c = uni(1);
  c.op = TFL_OP_LSTM;
  c.peephole = 1;
  run_hybrid_case(&c, 3);
  c = bidi(1, 1);
  c.aux = 1;
  c.n_aux = 2;
  run_hybrid_case(&c, 2);
  c.merge_outputs = 0;
  c.time_major = 0;
  c.asymmetric = 1;
  c.aux = 2;
  run_hybrid_case(&c, 2);
}

/* ---- errors ------------------------------------------------------------------------- */

/* Builds uni(0) edited by `edit`, expects allocation to fail with `status` and a message
 * containing `needle`. */
static void expect_error(void (*edit)(lstm_net *), lstm_cfg c, tfl_status status,
                         const char *needle) {
  lstm_net n;
  lstm_run r;
  net_begin(&n, &c, 5u, 0.5f);
  edit(&n);
  run_open(&n, &r);
  CHECK_EQ_INT(r.status, status);
  if (!strstr(r.err, needle))
    test_fail(__FILE__, __LINE__, "error \"%s\" does not mention \"%s\"", r.err, needle);
  run_close(&r);
}

static void drop_forget_weights(lstm_net *n) { n->in[2] = -1; }
static void wrong_weight_shape(lstm_net *n) {
  n->in[3] = add_const(n, 2, n->cfg.n_cell, n->cfg.n_input + 1, n->w[0].in_w[GC]);
}
static void input_bias_with_cifg(lstm_net *n) {
  n->in[1] = n->in[5] = -1; /* CIFG, but input_gate_bias (12) stays */
}
static void recurrent_input_without_input_weights(lstm_net *n) { n->in[1] = -1; }
static void partial_peephole(lstm_net *n) {
  n->in[10] = add_const(n, 1, n->cfg.n_cell, 0, n->w[0].peep[GF]);
}
static void projection_bias_alone(lstm_net *n) {
  n->in[17] = add_const(n, 1, n->cfg.n_output, 0, n->w[0].proj_b);
}
static void constant_cell_state(lstm_net *n) {
  static const float zeros[MAXN * MAXN];
  n->in[19] = add_const(n, 2, n->cfg.n_batch, n->cfg.n_cell, zeros);
}
static void wrong_state_size(lstm_net *n) {
  int32_t dims[2] = {n->cfg.n_batch, n->cfg.n_output + 1};
  n->in[18] = mb_tensor(n->mb, TFL_FLOAT32, 2, dims, NULL, 0, NULL);
  mb_variable(n->mb, n->in[18]);
}
static void int8_weights(lstm_net *n) {
  static const int8_t q[MAXN * MAXN];
  int32_t dims[2] = {n->cfg.n_cell, n->cfg.n_input};
  float scale = 0.01f;
  int64_t zp = 0;
  n->in[4] = mb_tensor(n->mb, TFL_INT8, 2, dims, q, sizeof(int8_t) * (size_t)(dims[0] * dims[1]),
                       NULL);
  mb_quant(n->mb, n->in[4], 1, &scale, &zp, 0);
}
static void too_few_inputs(lstm_net *n) { n->n_in = 19; }
static void partial_layer_norm(lstm_net *n) {
  n->in[21] = add_const(n, 1, n->cfg.n_cell, 0, n->w[0].ln[GF]);
}
static void int8_input(lstm_net *n) {
  int32_t dims[3] = {n->cfg.n_batch, n->cfg.max_time, n->cfg.n_input};
  float scale = 0.01f;
  int64_t zp = 0;
  n->in[0] = n->graph_in[0] = mb_tensor(n->mb, TFL_INT8, 3, dims, NULL, 0, NULL);
  mb_quant(n->mb, n->in[0], 1, &scale, &zp, 0);
}
static void diagonal_forget_only(lstm_net *n) {
  n->in[6] = add_const(n, 1, n->cfg.n_cell, 0, n->w[0].rec_w[GF]);
}
static void drop_bw_aux_forget(lstm_net *n) { n->in[45] = -1; }
static void no_edit(lstm_net *n) { (void)n; }
static void cell_state_scale(lstm_net *n, float scale) {
  int32_t dims[2] = {n->cfg.n_batch, n->cfg.n_cell};
  n->in[19] = add_quant(n, TFL_INT16, 2, dims, NULL, 0, scale, 0);
  mb_variable(n->mb, n->in[19]);
}
static void cell_scale_not_pot(lstm_net *n) { cell_state_scale(n, 0.001f); }
static void cell_scale_too_coarse(lstm_net *n) { cell_state_scale(n, 1.0f / 256); }
static void float_forget_bias(lstm_net *n) {
  n->in[13] = add_const(n, 1, n->cfg.n_cell, 0, n->w[0].bias[GF]);
}
static void uint8_weights(lstm_net *n) {
  int32_t dims[2] = {n->cfg.n_cell, n->cfg.n_input};
  n->in[4] = add_quant(n, TFL_UINT8, 2, dims, n->q[0].in_w[GO],
                       (size_t)(dims[0] * dims[1]), 0.01f, 128);
}
static void per_channel_weights(lstm_net *n) {
  int32_t dims[2] = {n->cfg.n_cell, n->cfg.n_input};
  float scales[MAXN];
  int64_t zps[MAXN] = {0};
  for (int i = 0; i < dims[0]; i++) scales[i] = 0.01f;
  n->in[2] = mb_tensor(n->mb, TFL_INT8, 2, dims, n->q[0].in_w[GF], (size_t)(dims[0] * dims[1]),
                       NULL);
  mb_quant(n->mb, n->in[2], dims[0], scales, zps, 0);
}

static void int8_sequence_input(lstm_net *n, float scale, int32_t zp) {
  int32_t dims[3] = {n->cfg.n_batch, n->cfg.max_time, n->cfg.n_input};
  n->in[0] = n->graph_in[0] = add_quant(n, TFL_INT8, 3, dims, NULL, 0, scale, zp);
}
static void int_state(lstm_net *n, int slot, tfl_type type, float scale, int32_t zp) {
  int32_t dims[2] = {n->cfg.n_batch, slot == 18 ? n->cfg.n_output : n->cfg.n_cell};
  n->in[slot] = add_quant(n, type, 2, dims, NULL, 0, scale, zp);
  mb_variable(n->mb, n->in[slot]);
}
/* The fuzzer's input zero point: w * (x - zp) overflowed int32. */
static void input_zp_far_outside_int8(lstm_net *n) {
  int8_sequence_input(n, int_io.in_s, -67108864);
}
static void input_zp_just_outside_int8(lstm_net *n) { int8_sequence_input(n, int_io.in_s, 128); }
static void h_state_zp_outside_int8(lstm_net *n) {
  int_state(n, 18, TFL_INT8, int_io.h_s, -129);
}
static void cell_state_zp_not_zero(lstm_net *n) {
  int_state(n, 19, TFL_INT16, ldexpf(1.0f, int_io.cell_shift), 5);
}

TEST(integer_zero_points_are_bounded) {
  lstm_cfg c = uni(0);
  c.kind = KIND_INTEGER;
  /* the loader refuses these already: an int8 tensor's zero point is an int8 value */
  expect_error(input_zp_far_outside_int8, c, TFL_INVALID_MODEL,
               "zero point -67108864 is out of range for int8");
  expect_error(input_zp_just_outside_int8, c, TFL_INVALID_MODEL, "zero point 128 is out of range");
  expect_error(h_state_zp_outside_int8, c, TFL_INVALID_MODEL, "zero point -129 is out of range");
  expect_error(cell_state_zp_not_zero, c, TFL_INVALID_MODEL, "cell state zero point");
}

/* Scales 2^+-100 away from the usual ones turn every rescaling into a shift far out of range
 * and every rescaled term into an arbitrary int32; the sums with partial gates and zero points
 * must still be defined (the sanitizer builds check) and the output saturated int8. */
static void extreme_input_scale(lstm_net *n) { int8_sequence_input(n, 1e30f, 127); }
static void extreme_state_scales(lstm_net *n) {
  int_state(n, 18, TFL_INT8, 1e-30f, -128);
}

TEST(integer_extreme_scales_stay_defined) {
  void (*edits[2])(lstm_net *) = {extreme_input_scale, extreme_state_scales};
  for (int e = 0; e < 2; e++)
    for (int projection = 0; projection < 2; projection++) {
      lstm_cfg c = uni(0);
      c.kind = KIND_INTEGER;
      c.projection = projection;
      c.peephole = 1;
      if (projection) c.n_output = 3;
      lstm_net n;
      lstm_run r;
      net_begin(&n, &c, 9u, 0.5f);
      edits[e](&n);
      run_open(&n, &r);
      CHECK_EQ_INT(r.status, TFL_OK);
      if (r.status != TFL_OK) {
        test_fail(__FILE__, __LINE__, "edit %d: %s", e, r.err);
        run_close(&r);
        continue;
      }
      int8_t x[MAXROWS * MAXN], out[MAXROWS * MAXN];
      for (int fill = -128; fill <= 127; fill += 255) {
        memset(x, fill, sizeof(x));
        for (int k = 0; k < 3; k++) CHECK_EQ_INT(run_invoke(&r, &n, x, NULL, out, NULL), TFL_OK);
      }
      run_close(&r);
    }
}

TEST(quantized_errors_are_clean) {
  lstm_cfg c = uni(0);
  c.kind = KIND_INTEGER;
  c.intermediates = -1;
  expect_error(no_edit, c, TFL_INVALID_MODEL, "intermediate");
  c.intermediates = 12;
  expect_error(no_edit, c, TFL_UNSUPPORTED, "8x8->8");
  c.intermediates = 0;
  expect_error(cell_scale_not_pot, c, TFL_INVALID_MODEL, "power of two");
  expect_error(cell_scale_too_coarse, c, TFL_UNSUPPORTED, "2^-8");
  expect_error(float_forget_bias, c, TFL_INVALID_MODEL, "must be int32");
  lstm_cfg diag = c;
  diag.diag = 1;
  expect_error(no_edit, diag, TFL_UNSUPPORTED, "diagonal");
  lstm_cfg b = bidi(1, 0);
  b.kind = KIND_INTEGER;
  expect_error(no_edit, b, TFL_UNSUPPORTED, "integer BIDIRECTIONAL");
  lstm_cfg h = uni(0);
  h.kind = KIND_HYBRID;
  expect_error(uint8_weights, h, TFL_UNSUPPORTED, "uint8 weights");
  expect_error(per_channel_weights, h, TFL_UNSUPPORTED, "per-channel");
}

TEST(errors_are_clean) {
  lstm_cfg c = uni(0);
  expect_error(drop_forget_weights, c, TFL_INVALID_MODEL, "input_to_forget_weights");
  expect_error(wrong_weight_shape, c, TFL_INVALID_MODEL, "input_to_cell_weights");
  expect_error(input_bias_with_cifg, c, TFL_INVALID_MODEL, "input_gate_bias");
  expect_error(recurrent_input_without_input_weights, c, TFL_INVALID_MODEL,
               "recurrent_to_input_weights");
  expect_error(projection_bias_alone, c, TFL_INVALID_MODEL, "projection_bias");
  expect_error(constant_cell_state, c, TFL_INVALID_MODEL, "variable");
  expect_error(wrong_state_size, c, TFL_INVALID_MODEL, "output_state");
  expect_error(int8_weights, c, TFL_INVALID_MODEL, "must be int8"); /* hybrid, not all int8 */
  expect_error(too_few_inputs, c, TFL_INVALID_MODEL, "20 or 24");
  expect_error(partial_layer_norm, c, TFL_INVALID_MODEL, "layer_norm");
  c.peephole = 0;
  expect_error(partial_peephole, c, TFL_INVALID_MODEL, "peephole");
  lstm_cfg neg = uni(0);
  neg.cell_clip = -1.0f;
  expect_error(no_edit, neg, TFL_INVALID_MODEL, "cell_clip");
  lstm_cfg no_proj = uni(0);
  no_proj.n_output = 3; /* recurrent weights [5, 3] without projection */
  expect_error(no_edit, no_proj, TFL_INVALID_MODEL, "output size");
}

TEST(unsupported_and_inconsistent_variants) {
  lstm_cfg c = uni(0);
  expect_error(int8_input, c, TFL_UNSUPPORTED, "int8 input with float32 weights");
  lstm_cfg proj = uni(0);
  proj.projection = 1;
  proj.n_output = 3; /* a diagonal forget gate needs n_output == n_cell */
  expect_error(diagonal_forget_only, proj, TFL_INVALID_MODEL, "diagonal");
  lstm_cfg basic = uni(1);
  basic.op = TFL_OP_LSTM;
  basic.kernel_type = 1;
  expect_error(no_edit, basic, TFL_UNSUPPORTED, "BASIC");
  lstm_cfg b = bidi(1, 0);
  b.aux = 1;
  b.n_aux = 2;
  expect_error(drop_bw_aux_forget, b, TFL_INVALID_MODEL, "aux_input_to");
  b.aux = 0;
  b.cell_clip = -0.5f;
  expect_error(no_edit, b, TFL_INVALID_MODEL, "cell_clip");
}

int main(void) {
  RUN(uni_basic_batch_major);
  RUN(uni_basic_time_major);
  RUN(uni_states_carry_over_invokes);
  RUN(uni_cifg);
  RUN(uni_peephole);
  RUN(uni_projection);
  RUN(uni_projection_clip);
  RUN(uni_cell_clip);
  RUN(uni_layer_norm);
  RUN(uni_everything);
  RUN(uni_diagonal_recurrent);
  RUN(uni_other_activations);
  RUN(uni_legacy_20_inputs);
  RUN(uni_batch_one_long_sequence);
  RUN(uni_zero_batch);
  RUN(step_lstm_over_invokes);
  RUN(bidi_separate_and_merged);
  RUN(bidi_peephole_projection_cifg);
  RUN(bidi_aux_input_with_weights);
  RUN(bidi_aux_input_feeds_backward_cell);
  RUN(int_uni_basic_both_layouts);
  RUN(int_cifg_peephole_clip);
  RUN(int_layer_norm);
  RUN(int_projection);
  RUN(int_everything_and_step_lstm);
  RUN(hybrid_uni_symmetric_and_asymmetric);
  RUN(hybrid_cifg_peephole_projection_layer_norm);
  RUN(hybrid_diagonal_step_and_bidirectional);
  RUN(errors_are_clean);
  RUN(unsupported_and_inconsistent_variants);
  RUN(quantized_errors_are_clean);
  RUN(integer_zero_points_are_bounded);
  RUN(integer_extreme_scales_stay_defined);
  return test_summary();
}
