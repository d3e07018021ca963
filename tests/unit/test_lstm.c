/* LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM and BIDIRECTIONAL_SEQUENCE_LSTM (float32) against a naive
 * LSTM written here in double precision. The state tensors are variables, so the models are
 * built with the model builder (weights constant, states mb_variable) and run through the
 * public API; several invokes check that the states carry over. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

enum { MAXN = 8, MAXROWS = 32, GATES = 4, GI = 0, GF = 1, GC = 2, GO = 3 };
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4 };

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
} lstm_cfg;

typedef struct cell_weights {
  float in_w[GATES][MAXN * MAXN], rec_w[GATES][MAXN * MAXN], aux_w[GATES][MAXN * MAXN];
  float peep[GATES][MAXN], bias[GATES][MAXN], ln[GATES][MAXN];
  float proj_w[MAXN * MAXN], proj_b[MAXN];
} cell_weights;

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

/* A whole sequence; out rows have out_ld values, this cell's at out_off. States are
 * [n_batch][MAXN]. */
static void ref_sequence(const lstm_cfg *c, const cell_weights *w, const float *x, int n_x,
                         const float *aux, int forward, double h[][MAXN], double cell[][MAXN],
                         double *out, int out_ld, int out_off) {
  for (int s = 0; s < c->max_time; s++) {
    int t = forward ? s : c->max_time - 1 - s;
    for (int b = 0; b < c->n_batch; b++) {
      int row = ref_row(c, t, b);
      ref_step(c, w, x + row * n_x, aux ? aux + row * c->n_aux : NULL, h[b], cell[b]);
      for (int k = 0; k < c->n_output; k++) out[row * out_ld + out_off + k] = h[b][k];
    }
  }
}

/* ---- random data ------------------------------------------------------------------ */

static float rnd(uint32_t *seed, float lo, float hi) {
  *seed = *seed * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)((*seed >> 8) & 0xFFFFFF) / (float)0x1000000;
}

static void fill(uint32_t *seed, float *p, int n, float lo, float hi) {
  for (int i = 0; i < n; i++) p[i] = rnd(seed, lo, hi);
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
  mb_model *mb;
  int in[48];
  int n_in;
  int graph_in[2], n_graph_in;
  int out[2], n_out;
} lstm_net;

static int add_const(lstm_net *n, int ndim, int32_t d0, int32_t d1, const float *data) {
  int32_t dims[2] = {d0, d1};
  size_t count = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
  return mb_tensor(n->mb, TFL_FLOAT32, ndim, dims, data, count * sizeof(float), NULL);
}

static int add_state(lstm_net *n, int32_t d1) {
  int32_t dims[2] = {n->cfg.n_batch, d1};
  int t = mb_tensor(n->mb, TFL_FLOAT32, 2, dims, NULL, 0, NULL);
  mb_variable(n->mb, t);
  return t;
}

static void add_cell(lstm_net *n, const cell_pos *p, const cell_weights *w) {
  const lstm_cfg *c = &n->cfg;
  static const int peep_gates[3] = {GI, GF, GO};
  for (int g = 0; g < GATES; g++) {
    int used = g != GI || !c->cifg;
    n->in[p->in_w + g] = used ? add_const(n, 2, c->n_cell, c->n_input, w->in_w[g]) : -1;
    n->in[p->rec_w + g] =
        !used ? -1
        : c->diag ? add_const(n, 1, c->n_cell, 0, w->rec_w[g])
                  : add_const(n, 2, c->n_cell, c->n_output, w->rec_w[g]);
    n->in[p->bias + g] = used ? add_const(n, 1, c->n_cell, 0, w->bias[g]) : -1;
    if (p->ln >= 0 && !c->legacy_20_inputs)
      n->in[p->ln + g] = used && c->layer_norm ? add_const(n, 1, c->n_cell, 0, w->ln[g]) : -1;
    if (p->aux_w >= 0)
      n->in[p->aux_w + g] =
          used && c->aux == 1 ? add_const(n, 2, c->n_cell, c->n_aux, w->aux_w[g]) : -1;
  }
  for (int i = 0; i < 3; i++) {
    int used = c->peephole && (peep_gates[i] != GI || !c->cifg);
    n->in[p->peep + i] = used ? add_const(n, 1, c->n_cell, 0, w->peep[peep_gates[i]]) : -1;
  }
  n->in[p->proj] = c->projection ? add_const(n, 2, c->n_output, c->n_cell, w->proj_w) : -1;
  n->in[p->proj + 1] =
      c->projection && c->proj_bias ? add_const(n, 1, c->n_output, 0, w->proj_b) : -1;
  n->in[p->h] = add_state(n, c->n_output);
  n->in[p->c] = add_state(n, c->n_cell);
}

static int add_sequence_tensor(lstm_net *n, int32_t last) {
  const lstm_cfg *c = &n->cfg;
  if (c->op == TFL_OP_LSTM) {
    int32_t dims[2] = {c->n_batch, last};
    return mb_tensor(n->mb, TFL_FLOAT32, 2, dims, NULL, 0, NULL);
  }
  int32_t dims[3] = {c->time_major ? c->max_time : c->n_batch,
                     c->time_major ? c->n_batch : c->max_time, last};
  return mb_tensor(n->mb, TFL_FLOAT32, 3, dims, NULL, 0, NULL);
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
  int bidi = c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_LSTM;
  n->n_in = bidi ? 48 : c->legacy_20_inputs ? 20 : 24;
  for (int i = 0; i < 48; i++) n->in[i] = -1;
  n->in[0] = add_sequence_tensor(n, c->n_input);
  n->graph_in[n->n_graph_in++] = n->in[0];
  if (bidi) {
    add_cell(n, &bidi_pos[0], &n->w[0]);
    add_cell(n, &bidi_pos[1], &n->w[1]);
    if (c->aux) {
      n->in[39] = add_sequence_tensor(n, c->aux == 1 ? c->n_aux : c->n_input);
      n->graph_in[n->n_graph_in++] = n->in[39];
    }
    int fw_cols = c->merge_outputs ? 2 * c->n_output : c->n_output;
    n->out[n->n_out++] = add_sequence_tensor(n, fw_cols);
    if (!c->merge_outputs) n->out[n->n_out++] = add_sequence_tensor(n, c->n_output);
  } else {
    add_cell(n, &uni_pos, &n->w[0]);
    n->out[n->n_out++] = add_sequence_tensor(n, c->n_output);
  }
}

static uint8_t *net_finish(lstm_net *n, size_t *size) {
  const lstm_cfg *c = &n->cfg;
  mb_field uni[] = {MB_BYTE(0, c->act), MB_FLOAT(1, c->cell_clip), MB_FLOAT(2, c->proj_clip),
                    MB_BYTE(3, c->time_major), MB_FIELDS_END};
  mb_field step[] = {MB_BYTE(0, c->act), MB_FLOAT(1, c->cell_clip), MB_FLOAT(2, c->proj_clip),
                     MB_BYTE(3, c->kernel_type), MB_FIELDS_END};
  mb_field bidi[] = {MB_BYTE(0, c->act),          MB_FLOAT(1, c->cell_clip),
                     MB_FLOAT(2, c->proj_clip),   MB_BYTE(3, c->merge_outputs),
                     MB_BYTE(4, c->time_major),   MB_FIELDS_END};
  const mb_field *fields = c->op == TFL_OP_LSTM ? step
                           : c->op == TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM ? uni
                                                                          : bidi;
  int opts = c->op == TFL_OP_LSTM ? TFL_OPTS_LSTM
             : c->op == TFL_OP_UNIDIRECTIONAL_SEQUENCE_LSTM ? TFL_OPTS_UNIDIRECTIONAL_SEQUENCE_LSTM
                                                            : TFL_OPTS_BIDIRECTIONAL_SEQUENCE_LSTM;
  mb_inputs(n->mb, n->n_graph_in, n->graph_in);
  mb_outputs(n->mb, n->n_out, n->out);
  mb_op(n->mb, c->op, 1, n->n_in, n->in, n->n_out, n->out, opts, fields);
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
static tfl_status run_invoke(lstm_run *r, const lstm_net *n, const float *x, const float *aux,
                             float *out0, float *out1) {
  const float *feeds[2] = {x, aux};
  for (int i = 0; i < n->n_graph_in; i++) {
    tfl_tensor *t = tfl_interpreter_input(r->interp, i);
    tfl_status st = tfl_tensor_copy_from(t, feeds[i], tfl_tensor_byte_size(t));
    if (st != TFL_OK) return st;
  }
  tfl_status st = tfl_interpreter_invoke(r->interp);
  if (st != TFL_OK) return st;
  float *outs[2] = {out0, out1};
  for (int i = 0; i < n->n_out; i++) {
    const tfl_tensor *t = tfl_interpreter_output(r->interp, i);
    st = tfl_tensor_copy_to(t, outs[i], tfl_tensor_byte_size(t));
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* ---- driving a case ------------------------------------------------------------------ */

static void check_close(const double *ref, const float *got, int n, const char *what) {
  int bad = 0;
  for (int i = 0; i < n && bad < 5; i++) {
    double tol = 2e-5 + 2e-5 * fabs(ref[i]);
    if (!(fabs(ref[i] - got[i]) <= tol)) {
      test_fail(__FILE__, __LINE__, "%s[%d]: got %.9g, reference %.9g", what, i, got[i], ref[i]);
      bad++;
    }
  }
}

/* Builds the configuration, runs `invokes` sequences through one interpreter (states carry
 * over) and compares every output with the reference. */
static void run_case(const lstm_cfg *cfg, int invokes) {
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
    ref_sequence(&fw, &n.w[0], x, c->n_input, cell_aux, 1, h[0], cell[0], ref0, fw_ld, 0);
    if (bidi) {
      const float *bw_x = c->aux == 2 ? aux : x;
      double *bw_ref = c->merge_outputs ? ref0 : ref1;
      ref_sequence(&fw, &n.w[1], bw_x, c->n_input, cell_aux, 0, h[1], cell[1], bw_ref,
                   c->merge_outputs ? fw_ld : c->n_output, c->merge_outputs ? c->n_output : 0);
    }
    check_close(ref0, out0, rows(c) * fw_ld, "output 0");
    if (bidi && !c->merge_outputs) check_close(ref1, out1, rows(c) * c->n_output, "output 1");
  }
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
  expect_error(int8_weights, c, TFL_UNSUPPORTED, "hybrid");
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
  expect_error(int8_input, c, TFL_UNSUPPORTED, "integer LSTM");
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
  RUN(errors_are_clean);
  RUN(unsupported_and_inconsistent_variants);
  return test_summary();
}
