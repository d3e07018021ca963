/* SVDF (float32, hybrid and integer) against naive implementations written here: double
 * precision for float, the same quantization steps done one by one for hybrid, and
 * straightforward integer arithmetic for the integer kernel (plus a check that it stays
 * within a few LSB of the real-valued SVDF). The state is a variable tensor, so the models
 * are built with the model builder and run through the public API over several invokes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

enum { KIND_FLOAT, KIND_HYBRID, KIND_INTEGER };
enum { MAXB = 3, MAXI = 8, MAXF = 12, MAXM = 6, MAXU = 12 };
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU6 = 3, ACT_TANH = 4 };

typedef struct svdf_cfg {
  int kind;
  int batch, input_size, units, rank, memory;
  int bias, act, asymmetric;
} svdf_cfg;

static int filters(const svdf_cfg *c) { return c->units * c->rank; }

/* ---- random data ------------------------------------------------------------------ */

/* The parameters of one case: weights in every representation the kinds use. */
typedef struct svdf_params {
  float wf[MAXF * MAXI], wt[MAXF * MAXM], bias[MAXU];
  int8_t wf_q[MAXF * MAXI], wt_q8[MAXF * MAXM];
  int16_t wt_q16[MAXF * MAXM];
  int32_t bias_q[MAXU];
  float wf_scale, wt_scale;
  /* integer: activation quantization */
  float in_scale, state_scale, out_scale;
  int32_t in_zp, out_zp;
} svdf_params;

static void make_params(const svdf_cfg *c, uint32_t seed, svdf_params *p) {
  memset(p, 0, sizeof(*p));
  p->wf_scale = 0.01f;
  p->wt_scale = c->kind == KIND_INTEGER ? 1.0f / 4096.0f : 0.008f;
  p->in_scale = 0.02f;
  p->in_zp = -5;
  p->state_scale = 1.0f / 2048.0f;
  p->out_scale = 0.015f;
  p->out_zp = -20;
  for (int i = 0; i < MAXF * MAXI; i++) {
    p->wf_q[i] = (int8_t)ck_rnd_int(&seed, -127, 127);
    p->wf[i] = c->kind == KIND_FLOAT ? ck_rnd(&seed, -1.0f, 1.0f) : p->wf_q[i] * p->wf_scale;
  }
  for (int i = 0; i < MAXF * MAXM; i++) {
    p->wt_q8[i] = (int8_t)ck_rnd_int(&seed, -127, 127);
    p->wt_q16[i] = (int16_t)ck_rnd_int(&seed, -400, 400);
    p->wt[i] = c->kind == KIND_FLOAT ? ck_rnd(&seed, -1.0f, 1.0f) : p->wt_q8[i] * p->wt_scale;
  }
  for (int i = 0; i < MAXU; i++) {
    p->bias[i] = ck_rnd(&seed, -0.5f, 0.5f);
    p->bias_q[i] = ck_rnd_int(&seed, -2000000, 2000000);
  }
}

/* ---- the model ------------------------------------------------------------------------ */

static int quant_tensor(mb_model *m, tfl_type type, int ndim, const int32_t *dims,
                        const void *data, size_t bytes, float scale, int64_t zp) {
  int t = mb_tensor(m, type, ndim, dims, data, bytes, NULL);
  mb_quant(m, t, 1, &scale, &zp, 0);
  return t;
}

/* Tensor types per kind: input, weights_feature, weights_time, bias, state, output. */
static const tfl_type kind_types[3][6] = {
    {TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32},
    {TFL_FLOAT32, TFL_INT8, TFL_INT8, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32},
    {TFL_INT8, TFL_INT8, TFL_INT16, TFL_INT32, TFL_INT16, TFL_INT8},
};

/* Edits a test may make to the model to provoke an error. */
typedef struct svdf_edit {
  int rank_override;   /* nonzero: the rank option written */
  int state_extra;     /* added to the state's second dimension */
  int constant_state;
  int wt_type_override; /* nonzero: weights_time of type wt_type_override - 1 */
  int per_channel_wf;
  int drop_input;       /* index of a required input to omit, or 0 */
} svdf_edit;

static uint8_t *build(const svdf_cfg *c, const svdf_params *p, const svdf_edit *e,
                      size_t *size) {
  const int k = c->kind, nf = filters(c);
  mb_model *m = mb_new();
  const int32_t in_dims[2] = {c->batch, c->input_size}, wf_dims[2] = {nf, c->input_size};
  const int32_t wt_dims[2] = {nf, c->memory}, b_dims[1] = {c->units};
  const int32_t st_dims[2] = {c->batch, c->memory * nf + e->state_extra};
  int in[5], out;
  in[0] = k == KIND_INTEGER
              ? quant_tensor(m, TFL_INT8, 2, in_dims, NULL, 0, p->in_scale, p->in_zp)
              : mb_tensor(m, TFL_FLOAT32, 2, in_dims, NULL, 0, "input");
  if (k == KIND_FLOAT) {
    in[1] = mb_tensor(m, TFL_FLOAT32, 2, wf_dims, p->wf,
                      sizeof(float) * (size_t)(nf * c->input_size), NULL);
  } else if (e->per_channel_wf) {
    float scales[MAXF];
    int64_t zps[MAXF] = {0};
    for (int i = 0; i < nf; i++) scales[i] = p->wf_scale;
    in[1] = mb_tensor(m, TFL_INT8, 2, wf_dims, p->wf_q, (size_t)(nf * c->input_size), NULL);
    mb_quant(m, in[1], nf, scales, zps, 0);
  } else {
    in[1] = quant_tensor(m, TFL_INT8, 2, wf_dims, p->wf_q, (size_t)(nf * c->input_size),
                         p->wf_scale, 0);
  }
  tfl_type wt_type =
      e->wt_type_override ? (tfl_type)(e->wt_type_override - 1) : kind_types[k][2];
  const size_t n_wt = (size_t)(nf * c->memory);
  if (wt_type == TFL_FLOAT32)
    in[2] = mb_tensor(m, TFL_FLOAT32, 2, wt_dims, p->wt, sizeof(float) * n_wt, NULL);
  else if (wt_type == TFL_INT8)
    in[2] = quant_tensor(m, TFL_INT8, 2, wt_dims, p->wt_q8, n_wt, p->wt_scale, 0);
  else
    in[2] = quant_tensor(m, TFL_INT16, 2, wt_dims, p->wt_q16, 2 * n_wt, p->wt_scale, 0);
  in[3] = -1;
  if (c->bias && k == KIND_INTEGER)
    in[3] = quant_tensor(m, TFL_INT32, 1, b_dims, p->bias_q, 4 * (size_t)c->units,
                         p->in_scale * p->wf_scale, 0);
  else if (c->bias)
    in[3] = mb_tensor(m, TFL_FLOAT32, 1, b_dims, p->bias, 4 * (size_t)c->units, NULL);
  static const int16_t zeros[MAXB * MAXF * MAXM + 64];
  const void *st_data = e->constant_state ? zeros : NULL;
  const size_t st_bytes = e->constant_state ? tfl_type_size(kind_types[k][4]) *
                                                  (size_t)(st_dims[0] * st_dims[1])
                                            : 0;
  in[4] = k == KIND_INTEGER
              ? quant_tensor(m, TFL_INT16, 2, st_dims, st_data, st_bytes, p->state_scale, 0)
              : mb_tensor(m, TFL_FLOAT32, 2, st_dims, st_data, st_bytes, NULL);
  if (!e->constant_state) mb_variable(m, in[4]);
  out = k == KIND_INTEGER ? quant_tensor(m, TFL_INT8, 2, in_dims, NULL, 0, p->out_scale, p->out_zp)
                          : mb_tensor(m, TFL_FLOAT32, 2, in_dims, NULL, 0, "output");
  if (e->drop_input) in[e->drop_input] = -1;
  mb_inputs(m, 1, &in[0]);
  mb_outputs(m, 1, &out);
  mb_field opts[] = {MB_INT(0, e->rank_override ? e->rank_override : c->rank),
                     MB_BYTE(1, c->act), MB_BYTE(2, c->asymmetric), MB_FIELDS_END};
  mb_op(m, TFL_OP_SVDF, k == KIND_INTEGER ? 3 : 1, 5, in, 1, &out, TFL_OPTS_SVDF, opts);
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

typedef struct svdf_run {
  uint8_t *buf;
  tfl_model *model;
  tfl_interpreter *interp;
  tfl_status status;
  char err[512];
} svdf_run;

static void run_open(const svdf_cfg *c, const svdf_params *p, const svdf_edit *e, svdf_run *r) {
  size_t size = 0;
  memset(r, 0, sizeof(*r));
  r->status = TFL_ERROR;
  r->buf = build(c, p, e, &size);
  if (!r->buf) return;
  r->status = tfl_model_load_buffer(r->buf, size, &r->model, r->err, sizeof(r->err));
  if (r->status == TFL_OK)
    r->status = tfl_interpreter_create(r->model, NULL, &r->interp, r->err, sizeof(r->err));
  if (r->status != TFL_OK) return;
  r->status = tfl_interpreter_allocate_tensors(r->interp);
  if (r->status != TFL_OK) snprintf(r->err, sizeof(r->err), "%s", tfl_interpreter_error(r->interp));
}

static void run_close(svdf_run *r) {
  tfl_interpreter_free(r->interp);
  tfl_model_free(r->model);
  free(r->buf);
}

static tfl_status run_invoke(svdf_run *r, const void *x, void *out) {
  tfl_tensor *in = tfl_interpreter_input(r->interp, 0);
  tfl_status st = tfl_tensor_copy_from(in, x, tfl_tensor_byte_size(in));
  if (st == TFL_OK) st = tfl_interpreter_invoke(r->interp);
  const tfl_tensor *o = tfl_interpreter_output(r->interp, 0);
  if (st == TFL_OK) st = tfl_tensor_copy_to(o, out, tfl_tensor_byte_size(o));
  return st;
}

/* ---- the references ------------------------------------------------------------------- */

static double act(int a, double x) {
  switch (a) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case ACT_TANH: return tanh(x);
    default: return x;
  }
}

/* Real-valued SVDF step on a state kept in double: history [batch][filter][memory]. */
static void ref_real_step(const svdf_cfg *c, const float *wf, const float *wt, const float *bias,
                          const double *x, double hist[MAXB][MAXF][MAXM], double *out) {
  const int nf = filters(c);
  for (int b = 0; b < c->batch; b++) {
    double filt[MAXF];
    for (int f = 0; f < nf; f++) {
      memmove(hist[b][f], hist[b][f] + 1, sizeof(double) * (size_t)(c->memory - 1));
      double a = 0;
      for (int i = 0; i < c->input_size; i++)
        a += (double)wf[f * c->input_size + i] * x[b * c->input_size + i];
      hist[b][f][c->memory - 1] = a;
      filt[f] = 0;
      for (int t = 0; t < c->memory; t++) filt[f] += (double)wt[f * c->memory + t] * hist[b][f][t];
    }
    for (int u = 0; u < c->units; u++) {
      double s = bias ? bias[u] : 0;
      for (int r = 0; r < c->rank; r++) s += filt[u * c->rank + r];
      out[b * c->units + u] = act(c->act, s);
    }
  }
}

/* TFLite's symmetric and asymmetric row quantization, written out from its definition. */
static void ref_quantize_row(const float *x, int n, int asymmetric, int8_t *q, float *scale,
                             int32_t *zp) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *zp = 0;
  if (!asymmetric) {
    float range = fmaxf(fabsf(lo), fabsf(hi));
    *scale = range / 127.0f;
    for (int i = 0; i < n; i++) {
      long v = lroundf(x[i] * (127.0f / range));
      q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return;
  }
  double rmin = fmin(lo, 0.0), rmax = fmax(hi, 0.0);
  double s = (rmax - rmin) / 255.0;
  double z_lo = -128.0 - rmin / s, z_hi = 127.0 - rmax / s;
  double z = 128.0 + fabs(rmin / s) < 127.0 + fabs(rmax / s) ? z_lo : z_hi;
  *zp = z <= -128 ? -128 : z >= 127 ? 127 : (int32_t)round(z);
  *scale = (float)s;
  for (int i = 0; i < n; i++) {
    long v = lroundf((float)*zp + x[i] * (1.0f / *scale));
    q[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
  }
}

/* Hybrid: the feature activations exactly as the kernel must form them (float of the int8
 * dot, times the float scale product), then the real-valued rest in double. */
static void ref_hybrid_step(const svdf_cfg *c, const svdf_params *p, const float *x,
                            double hist[MAXB][MAXF][MAXM], double *out) {
  const int nf = filters(c);
  for (int b = 0; b < c->batch; b++) {
    const float *xb = x + b * c->input_size;
    int nonzero = 0;
    for (int i = 0; i < c->input_size; i++) nonzero |= xb[i] != 0.0f;
    int8_t q[MAXI];
    float scale = 0;
    int32_t zp = 0;
    if (nonzero) ref_quantize_row(xb, c->input_size, c->asymmetric, q, &scale, &zp);
    double filt[MAXF];
    for (int f = 0; f < nf; f++) {
      memmove(hist[b][f], hist[b][f] + 1, sizeof(double) * (size_t)(c->memory - 1));
      int32_t dot = 0;
      for (int i = 0; nonzero && i < c->input_size; i++)
        dot += p->wf_q[f * c->input_size + i] * (q[i] - zp);
      hist[b][f][c->memory - 1] = nonzero ? (float)dot * (scale * p->wf_scale) : 0.0f;
      filt[f] = 0;
      for (int t = 0; t < c->memory; t++)
        filt[f] += (double)((float)p->wt_q8[f * c->memory + t] * p->wt_scale) * hist[b][f][t];
    }
    for (int u = 0; u < c->units; u++) {
      double s = c->bias ? p->bias[u] : 0;
      for (int r = 0; r < c->rank; r++) s += filt[u * c->rank + r];
      out[b * c->units + u] = act(c->act, s);
    }
  }
}

static int32_t mbqm(int64_t x, float real) {
  int32_t m;
  int s;
  tfl_quantize_multiplier(real, &m, &s);
  return tfl_mul_by_quantized_multiplier((int32_t)x, m, s);
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Integer: every step in plain integer arithmetic; the state is int16 history. */
static void ref_integer_step(const svdf_cfg *c, const svdf_params *p, const int8_t *x,
                             int16_t hist[MAXB][MAXF][MAXM], int8_t *out) {
  const int nf = filters(c);
  const float m1 = p->in_scale * p->wf_scale / p->state_scale;
  const float m2 = p->state_scale * p->wt_scale / p->out_scale;
  for (int b = 0; b < c->batch; b++) {
    int64_t filt[MAXF];
    for (int f = 0; f < nf; f++) {
      memmove(hist[b][f], hist[b][f] + 1, sizeof(int16_t) * (size_t)(c->memory - 1));
      int64_t dot = 0;
      for (int i = 0; i < c->input_size; i++)
        dot += p->wf_q[f * c->input_size + i] * (x[b * c->input_size + i] - p->in_zp);
      hist[b][f][c->memory - 1] = (int16_t)clamp(mbqm(dot, m1), -32768, 32767);
      filt[f] = 0;
      for (int t = 0; t < c->memory; t++) filt[f] += p->wt_q16[f * c->memory + t] * hist[b][f][t];
    }
    for (int u = 0; u < c->units; u++) {
      int64_t s = c->bias ? p->bias_q[u] : 0;
      for (int r = 0; r < c->rank; r++) s += filt[u * c->rank + r];
      out[b * c->units + u] = (int8_t)clamp(mbqm(s, m2) + p->out_zp, -128, 127);
    }
  }
}

/* ---- driving cases -------------------------------------------------------------------- */

static void check_float_outputs(const double *ref, const float *got, int n, double tol,
                                const char *what, int invoke) {
  for (int i = 0; i < n; i++) {
    if (!(fabs(ref[i] - got[i]) <= tol + tol * fabs(ref[i]))) {
      test_fail(__FILE__, __LINE__, "%s invoke %d [%d]: got %.9g, reference %.9g", what, invoke,
                i, got[i], ref[i]);
      return;
    }
  }
}

/* Runs `invokes` invokes of a float or hybrid case against the reference (states carry over);
 * one input of the sequence is all zeros to exercise the skipped rows. */
static void run_float_case(const svdf_cfg *c, int invokes) {
  svdf_params p;
  svdf_run r;
  svdf_edit none = {0};
  make_params(c, 1000u + (uint32_t)(c->units * 7 + c->rank), &p);
  run_open(c, &p, &none, &r);
  if (r.status != TFL_OK) {
    test_fail(__FILE__, __LINE__, "setup failed (%d): %s", (int)r.status, r.err);
    run_close(&r);
    return;
  }
  double hist[MAXB][MAXF][MAXM] = {{{0}}}, hist_real[MAXB][MAXF][MAXM] = {{{0}}};
  uint32_t seed = 99u;
  for (int inv = 0; inv < invokes; inv++) {
    float x[MAXB * MAXI], got[MAXB * MAXU];
    double xd[MAXB * MAXI], ref[MAXB * MAXU], real[MAXB * MAXU];
    for (int i = 0; i < MAXB * MAXI; i++) {
      x[i] = inv == 1 ? 0.0f : ck_rnd(&seed, -1.0f, 1.0f);
      xd[i] = x[i];
    }
    if (run_invoke(&r, x, got) != TFL_OK) {
      test_fail(__FILE__, __LINE__, "invoke failed: %s", tfl_interpreter_error(r.interp));
      break;
    }
    const int n = c->batch * c->units;
    ref_real_step(c, p.wf, p.wt, c->bias ? p.bias : NULL, xd, hist_real, real);
    if (c->kind == KIND_FLOAT) {
      check_float_outputs(real, got, n, 1e-5, "float", inv);
      continue;
    }
    ref_hybrid_step(c, &p, x, hist, ref);
    check_float_outputs(ref, got, n, 1e-5, "hybrid", inv);
    /* int8 input quantization keeps the result near the real-valued SVDF */
    check_float_outputs(real, got, n, 0.05, "hybrid vs real", inv);
  }
  run_close(&r);
}

static void run_integer_case(const svdf_cfg *c, int invokes) {
  svdf_params p;
  svdf_run r;
  svdf_edit none = {0};
  make_params(c, 2000u + (uint32_t)(c->units * 5 + c->rank), &p);
  run_open(c, &p, &none, &r);
  if (r.status != TFL_OK) {
    test_fail(__FILE__, __LINE__, "setup failed (%d): %s", (int)r.status, r.err);
    run_close(&r);
    return;
  }
  int16_t hist[MAXB][MAXF][MAXM] = {{{0}}};
  double hist_real[MAXB][MAXF][MAXM] = {{{0}}};
  float wf[MAXF * MAXI], wt[MAXF * MAXM];
  for (int i = 0; i < MAXF * MAXI; i++) wf[i] = p.wf_q[i] * p.wf_scale;
  for (int i = 0; i < MAXF * MAXM; i++) wt[i] = p.wt_q16[i] * p.wt_scale;
  uint32_t seed = 7u;
  for (int inv = 0; inv < invokes; inv++) {
    int8_t x[MAXB * MAXI], got[MAXB * MAXU], ref[MAXB * MAXU];
    double xd[MAXB * MAXI], real[MAXB * MAXU];
    for (int i = 0; i < MAXB * MAXI; i++) {
      x[i] = (int8_t)ck_rnd_int(&seed, -128, 127);
      xd[i] = (x[i] - p.in_zp) * (double)p.in_scale;
    }
    if (run_invoke(&r, x, got) != TFL_OK) {
      test_fail(__FILE__, __LINE__, "invoke failed: %s", tfl_interpreter_error(r.interp));
      break;
    }
    ref_integer_step(c, &p, x, hist, ref);
    svdf_cfg real_cfg = *c;
    real_cfg.act = ACT_NONE; /* the integer kernel only clamps */
    ref_real_step(&real_cfg, wf, wt, NULL, xd, hist_real, real);
    for (int i = 0; i < c->batch * c->units; i++) {
      CHECK_EQ_INT(got[i], ref[i]);
      /* the int32 sums are in units of state_scale * time_scale, the bias too */
      const double b = c->bias ? p.bias_q[i % c->units] * (double)p.state_scale * p.wt_scale : 0;
      const double y = real[i] + b;
      double q = fmin(fmax(round(y / p.out_scale) + p.out_zp, -128), 127);
      if (fabs(q - got[i]) > 2)
        test_fail(__FILE__, __LINE__, "integer vs real, invoke %d [%d]: %d vs %g", inv, i,
                  got[i], q);
    }
  }
  run_close(&r);
}

static svdf_cfg cfg(int kind, int rank) {
  svdf_cfg c = {.kind = kind, .batch = 2, .input_size = 5, .units = 3, .rank = rank,
                .memory = 4, .bias = 1, .act = ACT_NONE};
  if (kind == KIND_INTEGER) c.act = ACT_RELU;
  return c;
}

/* ---- float ------------------------------------------------------------------------ */

TEST(float_rank1_and_rank2_over_invokes) {
  svdf_cfg c = cfg(KIND_FLOAT, 1);
  run_float_case(&c, 5);
  c.rank = 2;
  run_float_case(&c, 5);
  c.rank = 4;
  c.units = 2;
  run_float_case(&c, 3);
}

TEST(float_no_bias_activations_batch_and_memory) {
  svdf_cfg c = cfg(KIND_FLOAT, 2);
  c.bias = 0;
  c.act = ACT_RELU;
  run_float_case(&c, 4);
  c.act = ACT_TANH;
  c.batch = 3;
  c.memory = 1;
  run_float_case(&c, 3);
  c.act = ACT_RELU6;
  c.batch = 1;
  c.memory = 6;
  c.input_size = 8;
  run_float_case(&c, 8);
}

/* ---- hybrid ------------------------------------------------------------------------ */

TEST(hybrid_symmetric_and_asymmetric) {
  svdf_cfg c = cfg(KIND_HYBRID, 1);
  run_float_case(&c, 5);
  c.rank = 3;
  c.units = 2;
  run_float_case(&c, 4);
  c.asymmetric = 1;
  run_float_case(&c, 4);
  c.bias = 0;
  c.act = ACT_RELU;
  c.batch = 3;
  run_float_case(&c, 3);
}

/* ---- integer ----------------------------------------------------------------------- */

TEST(integer_matches_integer_reference) {
  svdf_cfg c = cfg(KIND_INTEGER, 1);
  run_integer_case(&c, 6);
  c.rank = 2;
  run_integer_case(&c, 6);
  c.bias = 0;
  c.rank = 3;
  c.units = 4;
  c.batch = 3;
  c.memory = 2;
  run_integer_case(&c, 4);
  c.memory = 1;
  c.batch = 1;
  run_integer_case(&c, 3);
}

TEST(zero_batch) {
  svdf_cfg c = cfg(KIND_FLOAT, 1);
  c.batch = 0;
  svdf_params p;
  svdf_run r;
  svdf_edit none = {0};
  make_params(&c, 5u, &p);
  run_open(&c, &p, &none, &r);
  REQUIRE(r.status == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(r.interp), TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(r.interp, 0);
  CHECK_EQ_INT(tfl_tensor_dim(out, 0), 0);
  CHECK_EQ_INT(tfl_tensor_dim(out, 1), 3);
  run_close(&r);
}

/* ---- errors ------------------------------------------------------------------------ */

static void expect_error(svdf_cfg c, svdf_edit e, tfl_status status, const char *needle) {
  svdf_params p;
  svdf_run r;
  make_params(&c, 3u, &p);
  run_open(&c, &p, &e, &r);
  if (r.status != status || !strstr(r.err, needle))
    test_fail(__FILE__, __LINE__, "status %d, error \"%s\"; expected %d mentioning \"%s\"",
              (int)r.status, r.err, (int)status, needle);
  run_close(&r);
}

TEST(errors_are_clean) {
  svdf_cfg c = cfg(KIND_FLOAT, 2);
  expect_error(c, (svdf_edit){.rank_override = 4}, TFL_INVALID_MODEL, "rank");
  expect_error(c, (svdf_edit){.rank_override = -1}, TFL_INVALID_MODEL, "rank");
  expect_error(c, (svdf_edit){.state_extra = 1}, TFL_INVALID_MODEL, "state");
  expect_error(c, (svdf_edit){.constant_state = 1}, TFL_INVALID_MODEL, "variable");
  expect_error(c, (svdf_edit){.wt_type_override = TFL_INT8 + 1}, TFL_UNSUPPORTED, "weights_time");
  expect_error(c, (svdf_edit){.drop_input = 2}, TFL_INVALID_MODEL, "weights_time");
  svdf_cfg h = cfg(KIND_HYBRID, 1);
  expect_error(h, (svdf_edit){.per_channel_wf = 1}, TFL_UNSUPPORTED, "per-channel");
  expect_error(h, (svdf_edit){.wt_type_override = TFL_FLOAT32 + 1}, TFL_UNSUPPORTED,
               "weights_time");
  svdf_cfg i = cfg(KIND_INTEGER, 1);
  expect_error(i, (svdf_edit){.wt_type_override = TFL_INT8 + 1}, TFL_UNSUPPORTED, "weights_time");
  i.act = ACT_NONE;
  expect_error(i, (svdf_edit){0}, TFL_UNSUPPORTED, "RELU");
}

int main(void) {
  RUN(float_rank1_and_rank2_over_invokes);
  RUN(float_no_bias_activations_batch_and_memory);
  RUN(hybrid_symmetric_and_asymmetric);
  RUN(integer_matches_integer_reference);
  RUN(zero_batch);
  RUN(errors_are_clean);
  return test_summary();
}
