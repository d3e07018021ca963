/* Activations and unary math (activations.c): every float op against its formula evaluated
 * in double, hand-picked edge values (rounding ties, cutoffs, NaN, INT_MIN), integer variants,
 * PRELU broadcasting against a naive loop, zero sizes and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

static const float probe[] = {-20.0f, -9.5f,  -6.0f, -3.0f, -2.5f, -1.5f, -1.0f, -0.75f,
                              -0.5f,  -1e-3f, -0.0f, 0.0f,  1e-3f, 0.3f,  0.5f,  1.0f,
                              1.5f,   2.5f,   3.0f,  5.99f, 6.0f,  7.5f,  16.0f, 17.0f};
#define N_PROBE ((int)(sizeof(probe) / sizeof(probe[0])))

static tfl_status run1(int op, tfl_type type, int n, const void *x, int opt_type,
                       const mb_field *opt, ot_result *r) {
  const int32_t dims[] = {n};
  ot_spec in[1] = {OT_IN(type, 1, dims, x)};
  ot_spec out[1] = {OT_OUT(type)};
  return ot_run(op, 1, in, 1, out, 1, opt_type, opt, r);
}

typedef double (*ref_fn)(double x);

static double r_relu(double x) { return x < 0 ? 0 : x; }
static double r_relu6(double x) { return x < 0 ? 0 : (x > 6 ? 6 : x); }
static double r_relu1(double x) { return x < -1 ? -1 : (x > 1 ? 1 : x); }
static double r_relu01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }
static double r_logistic(double x) { return 1.0 / (1.0 + exp(-x)); }
static double r_hard_swish(double x) { return x * r_relu6(x + 3) / 6; }
static double r_elu(double x) { return x < 0 ? exp(x) - 1 : x; }
static double r_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double r_gelu_tanh(double x) {
  return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}
static double r_neg(double x) { return -x; }
static double r_rsqrt(double x) { return 1 / sqrt(x); }
static double r_square(double x) { return x * x; }
static double r_sign(double x) { return x > 0 ? 1 : (x < 0 ? -1 : 0); }
/* Round half to even, independent of TFLite's formula. */
static double r_round(double x) {
  double f = floor(x), diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return fmod(f, 2) == 0 ? f : f + 1;
}

typedef struct unary_case {
  int op;
  ref_fn ref;
  double rel_tol;
  float lo; /* probes below lo are skipped (domain of log/sqrt) */
} unary_case;

static void check_unary(const unary_case *c, int opt_type, const mb_field *opt) {
  ot_result r;
  tfl_status st = run1(c->op, TFL_FLOAT32, N_PROBE, probe, opt_type, opt, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, __LINE__, "op %d: %s", c->op, r.error);
    return;
  }
  const float *y = ot_f32(&r, 0);
  CHECK_EQ_INT(r.out[0].ndim, 1);
  CHECK_EQ_INT(r.out[0].dims[0], N_PROBE);
  for (int i = 0; i < N_PROBE; i++) {
    if (probe[i] < c->lo) continue;
    double want = c->ref(probe[i]);
    if (!(fabs(y[i] - want) <= c->rel_tol * (1e-30 + fabs(want)) + 1e-7))
      test_fail(__FILE__, __LINE__, "op %d x=%g: %.9g vs %.9g", c->op, probe[i], y[i], want);
  }
  ot_result_free(&r);
}

TEST(float_ops_match_formulas) {
  const unary_case cases[] = {
      {TFL_OP_RELU, r_relu, 0, -100},
      {TFL_OP_RELU6, r_relu6, 0, -100},
      {TFL_OP_RELU_N1_TO_1, r_relu1, 0, -100},
      {TFL_OP_RELU_0_TO_1, r_relu01, 0, -100},
      {TFL_OP_LOGISTIC, r_logistic, 2e-6, -100},
      {TFL_OP_TANH, tanh, 2e-6, -100},
      {TFL_OP_HARD_SWISH, r_hard_swish, 2e-7, -100},
      {TFL_OP_ELU, r_elu, 2e-6, -100},
      {TFL_OP_GELU, r_gelu, 1e-5, -6},
      {TFL_OP_ABS, fabs, 0, -100},
      {TFL_OP_NEG, r_neg, 0, -100},
      {TFL_OP_EXP, exp, 2e-6, -100},
      {TFL_OP_LOG, log, 2e-6, 1e-9f},
      {TFL_OP_SQRT, sqrt, 2e-7, 0},
      {TFL_OP_RSQRT, r_rsqrt, 2e-7, 1e-9f},
      {TFL_OP_SQUARE, r_square, 2e-7, -100},
      {TFL_OP_SIN, sin, 2e-6, -100},
      {TFL_OP_COS, cos, 2e-6, -100},
      {TFL_OP_FLOOR, floor, 0, -100},
      {TFL_OP_CEIL, ceil, 0, -100},
      {TFL_OP_ROUND, r_round, 0, -100},
      {TFL_OP_SIGN, r_sign, 0, -100},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_unary(&cases[i], 0, NULL);
}

TEST(gelu_both_forms) {
  unary_case exact = {TFL_OP_GELU, r_gelu, 1e-5, -6};
  unary_case approx = {TFL_OP_GELU, r_gelu_tanh, 1e-5, -6};
  mb_field off[] = {MB_BYTE(0, 0), MB_FIELDS_END};
  mb_field on[] = {MB_BYTE(0, 1), MB_FIELDS_END};
  check_unary(&exact, TFL_OPTS_GELU, off);
  check_unary(&approx, TFL_OPTS_GELU, on);
  /* Published values: GELU(1) = 0.8413447, tanh form 0.8411920. */
  const float one = 1.0f;
  ot_result r;
  REQUIRE(run1(TFL_OP_GELU, TFL_FLOAT32, 1, &one, TFL_OPTS_GELU, on, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], 0.8411920, 1e-6);
  ot_result_free(&r);
  REQUIRE(run1(TFL_OP_GELU, TFL_FLOAT32, 1, &one, 0, NULL, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], 0.8413447, 1e-6);
  ot_result_free(&r);
}

TEST(leaky_relu_alphas) {
  const float alphas[] = {0.2f, 0.0f, -0.5f, 2.0f};
  for (int a = 0; a < 4; a++) {
    mb_field opt[] = {MB_FLOAT(0, alphas[a]), MB_FIELDS_END};
    ot_result r;
    REQUIRE(run1(TFL_OP_LEAKY_RELU, TFL_FLOAT32, N_PROBE, probe, TFL_OPTS_LEAKY_RELU, opt, &r) ==
            TFL_OK);
    for (int i = 0; i < N_PROBE; i++) {
      float want = probe[i] > 0 ? probe[i] : probe[i] * alphas[a];
      CHECK_NEAR(ot_f32(&r, 0)[i], want, 0);
    }
    ot_result_free(&r);
  }
}

TEST(edge_values) {
  ot_result r;
  /* ROUND: ties to even, and TFLite's -0.5 -> +0. */
  const float rx[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999f, -3.7f, 8388609.0f};
  const float ry[] = {0, 2, 2, 0, -2, -2, 2, -4, 8388609.0f};
  REQUIRE(run1(TFL_OP_ROUND, TFL_FLOAT32, 9, rx, 0, NULL, &r) == TFL_OK);
  for (int i = 0; i < 9; i++) CHECK_NEAR(ot_f32(&r, 0)[i], ry[i], 0);
  CHECK(!signbit(ot_f32(&r, 0)[3]));
  ot_result_free(&r);

  /* LOGISTIC cutoffs: exactly 1 above 16.619, exp(x) below -9. */
  const float lx[] = {16.7f, 100.0f, -9.5f, -100.0f, 0.0f};
  REQUIRE(run1(TFL_OP_LOGISTIC, TFL_FLOAT32, 5, lx, 0, NULL, &r) == TFL_OK);
  CHECK(ot_f32(&r, 0)[0] == 1.0f && ot_f32(&r, 0)[1] == 1.0f);
  CHECK(ot_f32(&r, 0)[2] == expf(-9.5f));
  CHECK(ot_f32(&r, 0)[3] == expf(-100.0f));
  CHECK(ot_f32(&r, 0)[4] == 0.5f);
  ot_result_free(&r);

  /* SIGN keeps NaN; NaN passes the RELU clamp. */
  const float nan_in[] = {NAN, -0.0f};
  REQUIRE(run1(TFL_OP_SIGN, TFL_FLOAT32, 2, nan_in, 0, NULL, &r) == TFL_OK);
  CHECK(isnan(ot_f32(&r, 0)[0]));
  CHECK(ot_f32(&r, 0)[1] == 0.0f);
  ot_result_free(&r);
  REQUIRE(run1(TFL_OP_RELU6, TFL_FLOAT32, 2, nan_in, 0, NULL, &r) == TFL_OK);
  CHECK(isnan(ot_f32(&r, 0)[0]));
  ot_result_free(&r);

  /* LOG / SQRT / RSQRT outside their domain follow IEEE. */
  const float dom[] = {-1.0f, 0.0f};
  REQUIRE(run1(TFL_OP_LOG, TFL_FLOAT32, 2, dom, 0, NULL, &r) == TFL_OK);
  CHECK(isnan(ot_f32(&r, 0)[0]));
  CHECK(isinf(ot_f32(&r, 0)[1]) && ot_f32(&r, 0)[1] < 0);
  ot_result_free(&r);
  REQUIRE(run1(TFL_OP_RSQRT, TFL_FLOAT32, 2, dom, 0, NULL, &r) == TFL_OK);
  CHECK(isnan(ot_f32(&r, 0)[0]));
  CHECK(isinf(ot_f32(&r, 0)[1]) && ot_f32(&r, 0)[1] > 0);
  ot_result_free(&r);
}

TEST(integer_variants) {
  ot_result r;
  const int32_t xi[] = {INT32_MIN, -7, 0, 5, INT32_MAX};
  REQUIRE(run1(TFL_OP_ABS, TFL_INT32, 5, xi, 0, NULL, &r) == TFL_OK);
  const int32_t *y = r.out[0].data;
  CHECK(y[0] == INT32_MIN && y[1] == 7 && y[2] == 0 && y[3] == 5 && y[4] == INT32_MAX);
  ot_result_free(&r);
  REQUIRE(run1(TFL_OP_NEG, TFL_INT32, 5, xi, 0, NULL, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == INT32_MIN && y[1] == 7 && y[2] == 0 && y[3] == -5 && y[4] == -INT32_MAX);
  ot_result_free(&r);
  REQUIRE(run1(TFL_OP_SIGN, TFL_INT32, 5, xi, 0, NULL, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == -1 && y[1] == -1 && y[2] == 0 && y[3] == 1 && y[4] == 1);
  ot_result_free(&r);

  const int64_t xl[] = {INT64_MIN, -3, 1LL << 40};
  REQUIRE(run1(TFL_OP_NEG, TFL_INT64, 3, xl, 0, NULL, &r) == TFL_OK);
  const int64_t *yl = r.out[0].data;
  CHECK(yl[0] == INT64_MIN && yl[1] == 3 && yl[2] == -(1LL << 40));
  ot_result_free(&r);

  const int16_t xs[] = {-32768, -5, 7};
  REQUIRE(run1(TFL_OP_ABS, TFL_INT16, 3, xs, 0, NULL, &r) == TFL_OK);
  const int16_t *ys = r.out[0].data;
  CHECK(ys[0] == -32768 && ys[1] == 5 && ys[2] == 7);
  ot_result_free(&r);
}

/* --- PRELU ------------------------------------------------------------------------------ */

static void check_prelu(int nd_x, const int32_t *dx, int nd_a, const int32_t *da) {
  int nd = nd_x > nd_a ? nd_x : nd_a;
  int32_t px[8], pa[8], po[8];
  size_t nx = 1, na = 1, no = 1;
  for (int i = 0; i < nd; i++) {
    px[i] = i < nd - nd_x ? 1 : dx[i - (nd - nd_x)];
    pa[i] = i < nd - nd_a ? 1 : da[i - (nd - nd_a)];
    po[i] = px[i] > pa[i] ? px[i] : pa[i];
    no *= (size_t)po[i];
  }
  for (int i = 0; i < nd_x; i++) nx *= (size_t)dx[i];
  for (int i = 0; i < nd_a; i++) na *= (size_t)da[i];
  float *x = malloc((nx + 1) * sizeof(float)), *alpha = malloc((na + 1) * sizeof(float));
  for (size_t i = 0; i < nx; i++) x[i] = (float)((int)(i * 7 % 11) - 5) * 0.5f;
  for (size_t i = 0; i < na; i++) alpha[i] = 0.1f * (float)(i + 1);
  ot_spec in[2] = {OT_F32(nd_x, dx, x), OT_F32_CONST(nd_a, da, alpha)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_PRELU, 1, in, 2, out, 1, 0, NULL, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "prelu: %s", r.error);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].ndim, nd);
    for (size_t o = 0; o < no; o++) {
      size_t rem = o, ix = 0, ia = 0, mx = 1, ma = 1;
      for (int i = nd - 1; i >= 0; i--) {
        size_t c = rem % (size_t)po[i];
        rem /= (size_t)po[i];
        ix += (px[i] == 1 ? 0 : c) * mx;
        ia += (pa[i] == 1 ? 0 : c) * ma;
        mx *= (size_t)px[i];
        ma *= (size_t)pa[i];
      }
      float want = x[ix] >= 0 ? x[ix] : x[ix] * alpha[ia];
      CHECK_NEAR(ot_f32(&r, 0)[o], want, 0);
    }
  }
  ot_result_free(&r);
  free(x);
  free(alpha);
}

TEST(prelu_broadcasting) {
  check_prelu(4, (const int32_t[]){1, 3, 4, 5}, 1, (const int32_t[]){5});
  check_prelu(4, (const int32_t[]){2, 3, 4, 5}, 3, (const int32_t[]){1, 1, 5});
  check_prelu(2, (const int32_t[]){3, 4}, 2, (const int32_t[]){3, 4});
  check_prelu(2, (const int32_t[]){3, 4}, 3, (const int32_t[]){2, 1, 4});
  check_prelu(1, (const int32_t[]){6}, 0, NULL);
}

/* --- zero sizes and errors -------------------------------------------------------------- */

TEST(zero_size) {
  const int32_t dims[] = {2, 0, 3};
  ot_spec in[1] = {OT_F32(3, dims, NULL)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_TANH, 1, in, 1, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 3);
  CHECK_EQ_INT(r.out[0].dims[1], 0);
  CHECK_EQ_INT(r.out[0].bytes, 0);
  ot_result_free(&r);
}

TEST(errors) {
  ot_result r;
  const int32_t xi[] = {1, 2};
  CHECK_EQ_INT(run1(TFL_OP_LOG, TFL_INT32, 2, xi, 0, NULL, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);

  const int32_t dims[] = {2};
  const int8_t q[] = {1, 2};
  const float scale[] = {0.1f};
  const int64_t zp[] = {0};
  ot_spec qin[1] = {{.type = TFL_INT8, .ndim = 1, .dims = dims, .data = q, .q_count = 1,
                     .scales = scale, .zero_points = zp}};
  ot_spec qout[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  CHECK_EQ_INT(ot_run(TFL_OP_RELU, 1, qin, 1, qout, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "quantized") != NULL);
  ot_result_free(&r);

  const float f[] = {1, 2};
  ot_spec fin[1] = {OT_F32(1, dims, f)};
  ot_spec iout[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_EXP, 1, fin, 1, iout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);

  ot_spec two[2] = {OT_F32(1, dims, f), OT_F32(1, dims, f)};
  ot_spec fout[1] = {OT_OUT(TFL_FLOAT32)};
  CHECK(ot_run(TFL_OP_RELU, 1, two, 2, fout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);

  const int32_t d3[] = {3};
  const float a3[] = {1, 2, 3};
  ot_spec bad_alpha[2] = {OT_F32(1, dims, f), OT_F32_CONST(1, d3, a3)};
  CHECK(ot_run(TFL_OP_PRELU, 1, bad_alpha, 2, fout, 1, 0, NULL, &r) != TFL_OK);
  CHECK(strstr(r.error, "broadcast") != NULL);
  ot_result_free(&r);

  mb_field wrong[] = {MB_FLOAT(0, 0.5f), MB_FIELDS_END};
  CHECK(run1(TFL_OP_LEAKY_RELU, TFL_FLOAT32, 2, f, TFL_OPTS_GELU, wrong, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_ops_match_formulas);
  RUN(gelu_both_forms);
  RUN(leaky_relu_alphas);
  RUN(edge_values);
  RUN(integer_variants);
  RUN(prelu_broadcasting);
  RUN(zero_size);
  RUN(errors);
  return test_summary();
}
