/* RNN, UNIDIRECTIONAL_SEQUENCE_RNN and BIDIRECTIONAL_SEQUENCE_RNN, float and hybrid, against a
 * reference written here: the float cell in double, the hybrid cell with TFLite's row
 * quantization written out step by step in float. Models are built with the model builder
 * (the hidden states are variable tensors) and invoked several times, so the state carries
 * across invokes. Covers both layouts, merged and separate outputs, the aux input in both
 * roles, activations, TFLite's reproduced quirks, and errors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

enum { MAXB = 3, MAXT = 4, MAXI = 6, MAXU = 5, MAXN = MAXB * MAXT * 2 * MAXU };
enum { AUX_NONE, AUX_STACKING, AUX_AS_BW_INPUT };

typedef struct rnn_cfg {
  int op;
  int hybrid, asymmetric, act, time_major, merge, aux;
  int batch, time, input, units, bw_units, aux_size;
} rnn_cfg;

/* One cell's parameters, float and int8 codes. */
typedef struct cell_params {
  float w[MAXU * MAXI], aux_w[MAXU * MAXI], rec[MAXU * MAXU], bias[MAXU];
  int8_t wq[MAXU * MAXI], aux_wq[MAXU * MAXI], recq[MAXU * MAXU];
  float w_scale, aux_scale, rec_scale;
} cell_params;

static uint32_t seed = 4242;
static float frand(void) {
  seed = seed * 1664525u + 1013904223u;
  return (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static void make_cell(int hybrid, cell_params *p) {
  p->w_scale = 0.006f, p->aux_scale = 0.004f, p->rec_scale = 0.005f;
  for (int i = 0; i < MAXU * MAXI; i++) {
    p->wq[i] = (int8_t)(frand() * 127);
    p->aux_wq[i] = (int8_t)(frand() * 127);
    p->w[i] = hybrid ? p->wq[i] * p->w_scale : frand() * 0.8f;
    p->aux_w[i] = hybrid ? p->aux_wq[i] * p->aux_scale : frand() * 0.8f;
  }
  for (int i = 0; i < MAXU * MAXU; i++) {
    p->recq[i] = (int8_t)(frand() * 127);
    p->rec[i] = hybrid ? p->recq[i] * p->rec_scale : frand() * 0.8f;
  }
  for (int i = 0; i < MAXU; i++) p->bias[i] = frand() * 0.3f;
}

/* ---- model ---------------------------------------------------------------------------------- */

typedef struct rnn_edit {
  int constant_state, bad_rec_rows, uint8_weights, aux_weights_only, wrong_output_count;
} rnn_edit;

static int weights(mb_model *m, const rnn_cfg *c, const rnn_edit *e, int rows, int cols,
                   const float *f, const int8_t *q, float scale) {
  const int32_t d[2] = {rows, cols};
  if (!c->hybrid)
    return mb_tensor(m, TFL_FLOAT32, 2, d, f, sizeof(float) * (size_t)(rows * cols), NULL);
  const tfl_type t = e->uint8_weights ? TFL_UINT8 : TFL_INT8;
  const int id = mb_tensor(m, t, 2, d, q, (size_t)(rows * cols), NULL);
  const int64_t zp = 0;
  mb_quant(m, id, 1, &scale, &zp, 0);
  return id;
}

static int seq_dims(const rnn_cfg *c, int n, int32_t *d) {
  if (c->op == TFL_OP_RNN) {
    d[0] = c->batch, d[1] = n;
    return 2;
  }
  d[0] = c->time_major ? c->time : c->batch;
  d[1] = c->time_major ? c->batch : c->time;
  d[2] = n;
  return 3;
}

/* The cell's four inputs (weights, recurrent weights, bias, hidden state) into in[]. */
static void add_cell(mb_model *m, const rnn_cfg *c, const rnn_edit *e, const cell_params *p,
                     int units, int *in) {
  in[0] = weights(m, c, e, units, c->input, p->w, p->wq, p->w_scale);
  in[1] = weights(m, c, e, units - e->bad_rec_rows, units, p->rec, p->recq, p->rec_scale);
  const int32_t bd[1] = {units}, hd[2] = {c->batch, units};
  in[2] = mb_tensor(m, TFL_FLOAT32, 1, bd, p->bias, sizeof(float) * (size_t)units, NULL);
  static const float zeros[MAXB * MAXU];
  in[3] = mb_tensor(m, TFL_FLOAT32, 2, hd, e->constant_state ? zeros : NULL,
                    e->constant_state ? sizeof(float) * (size_t)(c->batch * units) : 0, NULL);
  if (!e->constant_state) mb_variable(m, in[3]);
}

static uint8_t *build(const rnn_cfg *c, const rnn_edit *e, const cell_params *fw,
                      const cell_params *bw, size_t *size) {
  mb_model *m = mb_new();
  int32_t d[3];
  int nd = seq_dims(c, c->input, d);
  int in[12], graph_in[2], n_graph_in = 1, out[2];
  in[0] = graph_in[0] = mb_tensor(m, TFL_FLOAT32, nd, d, NULL, 0, "input");
  add_cell(m, c, e, fw, c->units, in + 1);
  const int fw_width = c->merge ? c->units + c->bw_units : c->units;
  nd = seq_dims(c, fw_width, d);
  out[0] = mb_tensor(m, TFL_FLOAT32, nd, d, NULL, 0, "fw_out");
  int n_in = 5, n_out = 1;
  if (c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN) {
    add_cell(m, c, e, bw, c->bw_units, in + 5);
    for (int i = 9; i < 12; i++) in[i] = -1;
    if (c->aux != AUX_NONE || e->aux_weights_only) {
      if (c->aux != AUX_NONE) {
        nd = seq_dims(c, c->aux_size, d);
        in[9] = graph_in[n_graph_in++] = mb_tensor(m, TFL_FLOAT32, nd, d, NULL, 0, "aux");
      }
      if (c->aux == AUX_STACKING || e->aux_weights_only) {
        rnn_cfg ca = *c;
        ca.input = c->aux_size;
        in[10] = weights(m, &ca, e, c->units, c->aux_size, fw->aux_w, fw->aux_wq, fw->aux_scale);
        in[11] = weights(m, &ca, e, c->bw_units, c->aux_size, bw->aux_w, bw->aux_wq, bw->aux_scale);
      }
    }
    n_in = 12;
    if (!c->merge) {
      nd = seq_dims(c, c->bw_units, d);
      out[n_out++] = mb_tensor(m, TFL_FLOAT32, nd, d, NULL, 0, "bw_out");
    }
  }
  mb_inputs(m, n_graph_in, graph_in);
  mb_outputs(m, n_out, out);
  const int op_outs = n_out + e->wrong_output_count;
  if (c->op == TFL_OP_RNN) {
    mb_field f[] = {MB_BYTE(0, c->act), MB_BYTE(1, c->asymmetric), MB_FIELDS_END};
    mb_op(m, c->op, c->hybrid ? 2 : 1, n_in, in, op_outs, out, TFL_OPTS_RNN, f);
  } else if (c->op == TFL_OP_UNIDIRECTIONAL_SEQUENCE_RNN) {
    mb_field f[] = {MB_BYTE(0, c->time_major), MB_BYTE(1, c->act), MB_BYTE(2, c->asymmetric),
                    MB_FIELDS_END};
    mb_op(m, c->op, c->hybrid ? 2 : 1, n_in, in, op_outs, out, TFL_OPTS_SEQUENCE_RNN, f);
  } else {
    mb_field f[] = {MB_BYTE(0, c->time_major), MB_BYTE(1, c->act), MB_BYTE(2, c->merge),
                    MB_BYTE(3, c->asymmetric), MB_FIELDS_END};
    mb_op(m, c->op, c->hybrid ? 2 : 1, n_in, in, op_outs, out, TFL_OPTS_BIDIRECTIONAL_SEQUENCE_RNN,
          f);
  }
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

typedef struct rnn_run {
  uint8_t *buf;
  tfl_model *model;
  tfl_interpreter *interp;
  tfl_status status;
  char err[512];
} rnn_run;

static void run_open(const rnn_cfg *c, const rnn_edit *e, const cell_params *fw,
                     const cell_params *bw, rnn_run *r) {
  size_t size = 0;
  memset(r, 0, sizeof(*r));
  r->status = TFL_ERROR;
  r->buf = build(c, e, fw, bw, &size);
  if (!r->buf) return;
  r->status = tfl_model_load_buffer(r->buf, size, &r->model, r->err, sizeof(r->err));
  if (r->status == TFL_OK)
    r->status = tfl_interpreter_create(r->model, NULL, &r->interp, r->err, sizeof(r->err));
  if (r->status != TFL_OK) return;
  r->status = tfl_interpreter_allocate_tensors(r->interp);
  if (r->status != TFL_OK) snprintf(r->err, sizeof(r->err), "%s", tfl_interpreter_error(r->interp));
}

static void run_close(rnn_run *r) {
  tfl_interpreter_free(r->interp);
  tfl_model_free(r->model);
  free(r->buf);
}

/* ---- reference ----------------------------------------------------------------------------- */

static double act(int a, double v) {
  switch (a) {
    case TFL_ACT_RELU:
      return v < 0 ? 0 : v;
    case TFL_ACT_RELU6:
      return v < 0 ? 0 : v > 6 ? 6 : v;
    case TFL_ACT_TANH:
      return tanh(v);
    default:
      return v;
  }
}

/* TFLite's symmetric / asymmetric row quantization, written out from its definition. */
static void quantize_row(const float *x, int n, int asymmetric, int8_t *q, float *scale,
                         int32_t *zp) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
  *zp = 0;
  if (!asymmetric) {
    const float range = fmaxf(fabsf(lo), fabsf(hi));
    *scale = range / 127.0f;
    for (int i = 0; i < n; i++) {
      const long v = lroundf(x[i] * (127.0f / range));
      q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return;
  }
  const double rmin = fmin(lo, 0.0), rmax = fmax(hi, 0.0);
  const double s = (rmax - rmin) / 255.0;
  const double z_lo = -128.0 - rmin / s, z_hi = 127.0 - rmax / s;
  const double z = 128.0 + fabs(rmin / s) < 127.0 + fabs(rmax / s) ? z_lo : z_hi;
  *zp = z <= -128 ? -128 : z >= 127 ? 127 : (int32_t)lround(z);
  *scale = (float)s;
  for (int i = 0; i < n; i++) {
    const long v = lroundf((float)*zp + x[i] * (1.0f / *scale));
    q[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
  }
}

/* acc[u] (+)= W[u] . x for one row: double for float cells, TFLite's hybrid steps otherwise. */
static void ref_matvec(const rnn_cfg *c, const float *wf, const int8_t *wq, float ws, int units,
                       const float *x, int n, double *acc) {
  if (!c->hybrid) {
    for (int u = 0; u < units; u++)
      for (int k = 0; k < n; k++) acc[u] += (double)wf[u * n + k] * x[k];
    return;
  }
  int zero = 1;
  for (int k = 0; k < n; k++) zero = zero && x[k] == 0.0f;
  if (zero) return;
  int8_t q[MAXI > MAXU ? MAXI : MAXU];
  float s;
  int32_t zp;
  quantize_row(x, n, c->asymmetric, q, &s, &zp);
  for (int u = 0; u < units; u++) {
    int32_t dot = 0;
    for (int k = 0; k < n; k++) dot += wq[u * n + k] * (q[k] - zp);
    acc[u] = (float)acc[u] + (float)dot * (s * ws);
  }
}

static size_t row_of(const rnn_cfg *c, int t, int b) {
  return c->time_major ? (size_t)t * c->batch + b : (size_t)b * c->time + t;
}

/* One pass of a cell over the sequence (forward or backward) on a float hidden state. */
static void ref_pass(const rnn_cfg *c, const cell_params *p, int units, const float *x,
                     const float *aux, float *h, float *out, int width, int col, int backward) {
  for (int i = 0; i < c->time; i++) {
    const int t = backward ? c->time - 1 - i : i;
    for (int b = 0; b < c->batch; b++) {
      double acc[MAXU];
      for (int u = 0; u < units; u++) acc[u] = p->bias[u];
      const size_t row = row_of(c, t, b);
      ref_matvec(c, p->w, p->wq, p->w_scale, units, x + row * c->input, c->input, acc);
      if (aux)
        ref_matvec(c, p->aux_w, p->aux_wq, p->aux_scale, units, aux + row * c->aux_size,
                   c->aux_size, acc);
      ref_matvec(c, p->rec, p->recq, p->rec_scale, units, h + b * units, units, acc);
      for (int u = 0; u < units; u++) {
        const float v = (float)act(c->act, acc[u]);
        h[b * units + u] = v;
        out[row * width + col + u] = v;
      }
    }
  }
}

/* A whole invoke of the op. Quirks: batch-major backward reads the main input; time-major
 * hybrid bidirectional passes run `time` times. */
static void ref_invoke(const rnn_cfg *c, const cell_params *fw, const cell_params *bw,
                       const float *x, const float *aux, float *h_fw, float *h_bw, float *out_fw,
                       float *out_bw) {
  const int bidi = c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN;
  const int width = c->merge ? c->units + c->bw_units : c->units;
  const int repeats = bidi && c->hybrid && c->time_major ? c->time : 1;
  const float *cell_aux = c->aux == AUX_STACKING ? aux : NULL;
  for (int r = 0; r < repeats; r++)
    ref_pass(c, fw, c->units, x, cell_aux, h_fw, out_fw, width, 0, 0);
  if (!bidi) return;
  const float *bw_x = c->aux == AUX_AS_BW_INPUT && c->time_major ? aux : x;
  for (int r = 0; r < repeats; r++) {
    if (c->merge)
      ref_pass(c, bw, c->bw_units, bw_x, cell_aux, h_bw, out_fw, width, c->units, 1);
    else
      ref_pass(c, bw, c->bw_units, bw_x, cell_aux, h_bw, out_bw, c->bw_units, 0, 1);
  }
}

/* ---- driver ---------------------------------------------------------------------------------- */

static void check_case(const rnn_cfg *c) {
  cell_params fw, bw;
  make_cell(c->hybrid, &fw);
  make_cell(c->hybrid, &bw);
  rnn_run r;
  const rnn_edit none = {0};
  run_open(c, &none, &fw, &bw, &r);
  CHECK(r.status == TFL_OK);
  if (r.status != TFL_OK) {
    printf("    %s\n", r.err);
    run_close(&r);
    return;
  }
  const int bidi = c->op == TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN;
  const int rows = c->batch * (c->op == TFL_OP_RNN ? 1 : c->time);
  float h_fw[MAXB * MAXU] = {0}, h_bw[MAXB * MAXU] = {0};
  for (int step = 0; step < 3; step++) {
    float x[MAXN], aux[MAXN], want_fw[MAXN], want_bw[MAXN];
    for (int i = 0; i < rows * c->input; i++) x[i] = frand() * 2.0f;
    for (int i = 0; i < rows * c->aux_size; i++) aux[i] = frand() * 2.0f;
    if (step == 1)
      for (int i = 0; i < c->input; i++) x[i] = 0.0f; /* an all-zero row */
    ref_invoke(c, &fw, &bw, x, aux, h_fw, h_bw, want_fw, want_bw);
    CHECK(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 0), x,
                               sizeof(float) * (size_t)(rows * c->input)) == TFL_OK);
    if (c->aux != AUX_NONE)
      CHECK(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), aux,
                                 sizeof(float) * (size_t)(rows * c->aux_size)) == TFL_OK);
    REQUIRE(tfl_interpreter_invoke(r.interp) == TFL_OK);
    const int width = c->merge ? c->units + c->bw_units : c->units;
    const float *got = tfl_tensor_data_const(tfl_interpreter_output(r.interp, 0));
    const double tol = c->hybrid ? 1e-5 : 2e-5;
    for (int i = 0; i < rows * width; i++)
      CHECK_NEAR(got[i], want_fw[i], tol * (1 + fabs(want_fw[i])));
    if (bidi && !c->merge) {
      const float *got_bw = tfl_tensor_data_const(tfl_interpreter_output(r.interp, 1));
      for (int i = 0; i < rows * c->bw_units; i++)
        CHECK_NEAR(got_bw[i], want_bw[i], tol * (1 + fabs(want_bw[i])));
    }
  }
  run_close(&r);
}

TEST(rnn_float_and_hybrid) {
  for (int hybrid = 0; hybrid < 2; hybrid++)
    for (int asym = 0; asym <= hybrid; asym++) {
      const int acts[3] = {TFL_ACT_NONE, TFL_ACT_RELU, TFL_ACT_TANH};
      for (int a = 0; a < 3; a++) {
        const rnn_cfg c = {.op = TFL_OP_RNN,
                           .hybrid = hybrid,
                           .asymmetric = asym,
                           .act = acts[a],
                           .batch = 2,
                           .time = 1,
                           .input = 3,
                           .units = 4};
        check_case(&c);
      }
    }
}

TEST(unidirectional_layouts) {
  for (int hybrid = 0; hybrid < 2; hybrid++)
    for (int tm = 0; tm < 2; tm++)
      for (int asym = 0; asym <= hybrid; asym++) {
        const rnn_cfg c = {.op = TFL_OP_UNIDIRECTIONAL_SEQUENCE_RNN,
                           .hybrid = hybrid,
                           .asymmetric = asym,
                           .act = TFL_ACT_TANH,
                           .time_major = tm,
                           .batch = 3,
                           .time = 4,
                           .input = 5,
                           .units = 4};
        check_case(&c);
      }
}

TEST(bidirectional_outputs_and_layouts) {
  for (int hybrid = 0; hybrid < 2; hybrid++)
    for (int tm = 0; tm < 2; tm++)
      for (int merge = 0; merge < 2; merge++) {
        const rnn_cfg c = {.op = TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN,
                           .hybrid = hybrid,
                           .asymmetric = merge,
                           .act = TFL_ACT_RELU,
                           .time_major = tm,
                           .merge = merge,
                           .batch = 2,
                           .time = 3,
                           .input = 4,
                           .units = 3,
                           .bw_units = 5};
        check_case(&c);
      }
}

TEST(bidirectional_aux_input) {
  for (int hybrid = 0; hybrid < 2; hybrid++)
    for (int tm = 0; tm < 2; tm++)
      for (int aux = AUX_STACKING; aux <= AUX_AS_BW_INPUT; aux++) {
        rnn_cfg c = {.op = TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN,
                     .hybrid = hybrid,
                     .act = TFL_ACT_TANH,
                     .time_major = tm,
                     .aux = aux,
                     .batch = 2,
                     .time = 3,
                     .input = 4,
                     .units = 3,
                     .bw_units = 2,
                     .aux_size = 4};
        check_case(&c);
      }
  /* An aux input of its own size: float batch-major only. */
  const rnn_cfg c = {.op = TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN,
                     .act = TFL_ACT_NONE,
                     .aux = AUX_STACKING,
                     .merge = 1,
                     .batch = 2,
                     .time = 3,
                     .input = 4,
                     .units = 3,
                     .bw_units = 2,
                     .aux_size = 6};
  check_case(&c);
}

/* ---- errors -----------------------------------------------------------------------------------
 */

static void expect_error(const rnn_cfg *c, const rnn_edit *e, const char *what) {
  cell_params p;
  make_cell(c->hybrid, &p);
  rnn_run r;
  run_open(c, e, &p, &p, &r);
  CHECK(r.status != TFL_OK);
  if (r.status != TFL_OK && !strstr(r.err, what)) {
    printf("    expected \"%s\" in: %s\n", what, r.err);
    CHECK(0);
  }
  run_close(&r);
}

TEST(errors) {
  const rnn_cfg rnn = {.op = TFL_OP_RNN, .batch = 2, .time = 1, .input = 3, .units = 4};
  expect_error(&rnn, &(rnn_edit){.constant_state = 1}, "variable");
  expect_error(&rnn, &(rnn_edit){.bad_rec_rows = 1}, "recurrent weights");
  rnn_cfg hyb = rnn;
  hyb.hybrid = 1;
  expect_error(&hyb, &(rnn_edit){.uint8_weights = 1}, "uint8");
  const rnn_cfg bidi = {.op = TFL_OP_BIDIRECTIONAL_SEQUENCE_RNN,
                        .batch = 2,
                        .time = 3,
                        .input = 4,
                        .units = 3,
                        .bw_units = 2,
                        .aux_size = 4};
  expect_error(&bidi, &(rnn_edit){.aux_weights_only = 1}, "aux");
  expect_error(&bidi, &(rnn_edit){.wrong_output_count = -1}, "output");
  rnn_cfg tm_aux = bidi;
  tm_aux.time_major = 1, tm_aux.aux = AUX_STACKING, tm_aux.aux_size = 6;
  expect_error(&tm_aux, &(rnn_edit){0}, "aux input");
}

int main(void) {
  RUN(rnn_float_and_hybrid);
  RUN(unidirectional_layouts);
  RUN(bidirectional_outputs_and_layouts);
  RUN(bidirectional_aux_input);
  RUN(errors);
  return test_summary();
}
