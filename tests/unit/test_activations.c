/* Activations and unary math (activations.c): every float op against its formula evaluated
 * in double, hand-picked edge values (rounding ties, cutoffs, NaN, INT_MIN), integer variants,
 * PRELU broadcasting against a naive loop, zero sizes and errors. Quantized: hand-computed
 * RELU/LEAKY_RELU/PRELU/HARD_SWISH values, every 8-bit input code of the table-driven ops
 * against the function in double (away from rounding boundaries), int16 LOGISTIC/TANH/GELU
 * within a few LSB, and the parameter checks. */
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

/* Tensors of several 16k-element chunks, split over two threads: every element still matches
 * its formula. */
TEST(large_tensors_on_two_threads) {
  const unary_case cases[] = {
      {TFL_OP_RELU6, r_relu6, 0, -100},          {TFL_OP_LOGISTIC, r_logistic, 2e-6, -100},
      {TFL_OP_TANH, tanh, 2e-6, -100},           {TFL_OP_EXP, exp, 2e-6, -100},
      {TFL_OP_HARD_SWISH, r_hard_swish, 2e-7, -100},
  };
  enum { N = 70001 };
  float *x = malloc(N * sizeof(float));
  for (int i = 0; i < N; i++) x[i] = -20.0f + 40.0f * (float)i / (float)(N - 1);
  const int32_t dims[] = {N};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    ot_spec in[1] = {OT_IN(TFL_FLOAT32, 1, dims, x)};
    ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
    const ot_op op = {.builtin_code = cases[c].op, .version = 1, .threads = 2};
    ot_result r;
    REQUIRE(ot_run_op(&op, in, 1, out, 1, &r) == TFL_OK);
    const float *y = ot_f32(&r, 0);
    int bad = 0;
    for (int i = 0; i < N && !bad; i++) {
      const double want = cases[c].ref(x[i]);
      bad = !(fabs(y[i] - want) <= cases[c].rel_tol * (1e-30 + fabs(want)) + 1e-7);
      if (bad)
        test_fail(__FILE__, __LINE__, "op %d x=%g: %.9g vs %.9g", cases[c].op, x[i], y[i], want);
    }
    ot_result_free(&r);
  }
  free(x);
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
  check_prelu(3, (const int32_t[]){2, 3, 4}, 2, (const int32_t[]){3, 1});
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
  CHECK_EQ_INT(ot_run(TFL_OP_SIN, 1, qin, 1, qout, 1, 0, NULL, &r), TFL_UNSUPPORTED);
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
  /* TFLite keeps the input's shape: an alpha that would enlarge it is refused */
  const int32_t d21[] = {2, 1};
  const float a2[] = {1, 2};
  ot_spec wide_alpha[2] = {OT_F32(1, dims, f), OT_F32_CONST(2, d21, a2)};
  CHECK(ot_run(TFL_OP_PRELU, 1, wide_alpha, 2, fout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);

  mb_field wrong[] = {MB_FLOAT(0, 0.5f), MB_FIELDS_END};
  CHECK(run1(TFL_OP_LEAKY_RELU, TFL_FLOAT32, 2, f, TFL_OPTS_GELU, wrong, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- quantized ------------------------------------------------------------------------------ */

typedef struct qp {
  float scale;
  int64_t zp;
} qp;

static tfl_status run1q(int op, tfl_type type, int n, const void *x, const qp *qi, const qp *qo,
                        int opt_type, const mb_field *opt, ot_result *r) {
  const int32_t dims[] = {n};
  ot_spec in[1] = {{.type = type, .ndim = 1, .dims = dims, .data = x, .q_count = 1,
                    .scales = &qi->scale, .zero_points = &qi->zp}};
  ot_spec out[1] = {{.type = type, .q_count = 1, .scales = &qo->scale, .zero_points = &qo->zp}};
  return ot_run(op, 1, in, 1, out, 1, opt_type, opt, r);
}

static int32_t qat(tfl_type t, const void *p, int i) {
  return t == TFL_UINT8 ? ((const uint8_t *)p)[i]
                        : (t == TFL_INT8 ? ((const int8_t *)p)[i] : ((const int16_t *)p)[i]);
}

TEST(quantized_relu_family) {
  /* uint8 in (0.5, zp 10) -> out (0.25, zp 5): q' = 5 + 2 (q - 10), clamped */
  const uint8_t u[] = {0, 9, 10, 11, 13, 16, 255};
  const qp qi = {0.5f, 10}, qo = {0.25f, 5};
  ot_result r;
  REQUIRE(run1q(TFL_OP_RELU, TFL_UINT8, 7, u, &qi, &qo, 0, NULL, &r) == TFL_OK);
  const uint8_t *y = r.out[0].data;
  CHECK(y[0] == 5 && y[1] == 5 && y[2] == 5 && y[3] == 7 && y[4] == 11 && y[5] == 17 &&
        y[6] == 255);
  ot_result_free(&r);
  /* RELU6: 6 is 24 steps above the zero point: 29 */
  REQUIRE(run1q(TFL_OP_RELU6, TFL_UINT8, 7, u, &qi, &qo, 0, NULL, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[4] == 11 && y[5] == 17 && y[6] == 29);
  ot_result_free(&r);
  /* RELU_N1_TO_1 on int8 (1, 0) -> (0.5, -1): [-1, 1] is [-3, 1] */
  const int8_t s[] = {-128, -2, -1, 0, 1, 2, 127};
  const qp si = {1.0f, 0}, so = {0.5f, -1};
  REQUIRE(run1q(TFL_OP_RELU_N1_TO_1, TFL_INT8, 7, s, &si, &so, 0, NULL, &r) == TFL_OK);
  const int8_t *z = r.out[0].data;
  CHECK(z[0] == -3 && z[1] == -3 && z[2] == -3 && z[3] == -1 && z[4] == 1 && z[5] == 1 &&
        z[6] == 1);
  ot_result_free(&r);
  /* RELU_0_TO_1 */
  REQUIRE(run1q(TFL_OP_RELU_0_TO_1, TFL_INT8, 7, s, &si, &so, 0, NULL, &r) == TFL_OK);
  z = r.out[0].data;
  CHECK(z[2] == -1 && z[3] == -1 && z[4] == 1 && z[6] == 1);
  ot_result_free(&r);
  /* int16 RELU with a rescale (zero points 0): 3 * 0.5 / 0.75 = 2 */
  const int16_t h[] = {-30000, 3, 30000};
  const qp hi = {0.5f, 0}, ho = {0.75f, 0};
  REQUIRE(run1q(TFL_OP_RELU, TFL_INT16, 3, h, &hi, &ho, 0, NULL, &r) == TFL_OK);
  const int16_t *w = r.out[0].data;
  CHECK(w[0] == 0 && w[1] == 2 && w[2] == 20000);
  ot_result_free(&r);
  /* int16 zero points must be 0, and RELU_N1_TO_1 has no int16 kernel */
  const qp hz = {0.5f, 1};
  CHECK(run1q(TFL_OP_RELU, TFL_INT16, 3, h, &hz, &ho, 0, NULL, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK_EQ_INT(run1q(TFL_OP_RELU_N1_TO_1, TFL_INT16, 3, h, &hi, &ho, 0, NULL, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

TEST(quantized_leaky_relu) {
  /* int8 (0.5, zp 0) -> (0.25, zp 10), alpha 0.5: positive x doubles, negative keeps its
   * code (0.5 * 0.5 / 0.25 = 1) */
  const int8_t s[] = {-100, -3, 0, 3, 100};
  const qp qi = {0.5f, 0}, qo = {0.25f, 10};
  mb_field half[] = {MB_FLOAT(0, 0.5f), MB_FIELDS_END};
  ot_result r;
  REQUIRE(run1q(TFL_OP_LEAKY_RELU, TFL_INT8, 5, s, &qi, &qo, TFL_OPTS_LEAKY_RELU, half, &r) ==
          TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == -90 && y[1] == 7 && y[2] == 10 && y[3] == 16 && y[4] == 127);
  ot_result_free(&r);
  /* a negative alpha -0.3 on uint8 (1, zp 100) -> (1, zp 100): 100 - 0.3 (q - 100) */
  const uint8_t u[] = {0, 90, 95, 100, 200};
  const qp ui = {1.0f, 100};
  mb_field neg[] = {MB_FLOAT(0, -0.3f), MB_FIELDS_END};
  REQUIRE(run1q(TFL_OP_LEAKY_RELU, TFL_UINT8, 5, u, &ui, &ui, TFL_OPTS_LEAKY_RELU, neg, &r) ==
          TFL_OK);
  const uint8_t *z = r.out[0].data;
  CHECK(z[0] == 130 && z[1] == 103 && z[2] == 102 && z[3] == 100 && z[4] == 200);
  ot_result_free(&r);
  /* int16, alpha 0.25, same scales */
  const int16_t h[] = {-32768, -5, 7};
  const qp hq = {0.01f, 0};
  mb_field quarter[] = {MB_FLOAT(0, 0.25f), MB_FIELDS_END};
  REQUIRE(run1q(TFL_OP_LEAKY_RELU, TFL_INT16, 3, h, &hq, &hq, TFL_OPTS_LEAKY_RELU, quarter, &r) ==
          TFL_OK);
  const int16_t *w = r.out[0].data;
  CHECK(w[0] == -8192 && w[1] == -1 && w[2] == 7); /* -1.25 -> -1 */
  ot_result_free(&r);
}

static double d_logistic(double x) { return 1.0 / (1.0 + exp(-x)); }
static double d_tanh(double x) { return tanh(x); }
static double d_elu(double x) { return x < 0 ? expm1(x) : x; }
static double d_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double d_exp(double x) { return exp(x); }
static double d_log(double x) { return x <= 0 ? -INFINITY : log(x); }

/* Every input code of an 8-bit table op against f in double; codes whose exact result lies
 * within 1e-3 of a rounding boundary are skipped. */
static void check_table_op(int op, tfl_type type, const qp *qi, const qp *qo,
                           double (*f)(double)) {
  int8_t codes[256];
  for (int i = 0; i < 256; i++) codes[i] = (int8_t)i;
  ot_result r;
  if (run1q(op, type, 256, codes, qi, qo, 0, NULL, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "op %d %s: %s", op, tfl_type_name(type), r.error);
    ot_result_free(&r);
    return;
  }
  const int32_t lo = type == TFL_UINT8 ? 0 : -128, hi = type == TFL_UINT8 ? 255 : 127;
  for (int i = 0; i < 256; i++) {
    const int32_t q = qat(type, codes, i);
    const double v = f(qi->scale * (double)(q - qi->zp)) / qo->scale;
    if (fabs(v - floor(v) - 0.5) < 1e-3) continue;
    double want = round(v) + (double)qo->zp;
    want = want < lo ? lo : (want > hi ? hi : want);
    if (qat(type, r.out[0].data, i) != (int32_t)want) {
      test_fail(__FILE__, __LINE__, "op %d %s code %d: got %d, want %g", op, tfl_type_name(type),
                (int)q, (int)qat(type, r.out[0].data, i), want);
      break;
    }
  }
  ot_result_free(&r);
}

TEST(quantized_table_ops) {
  const qp u_in = {0.06f, 128}, i_in = {0.05f, -10};
  const qp u_sig = {1.0f / 256, 0}, i_sig = {1.0f / 256, -128};
  const qp u_tanh = {1.0f / 128, 128}, i_tanh = {1.0f / 128, 0};
  check_table_op(TFL_OP_LOGISTIC, TFL_UINT8, &u_in, &u_sig, d_logistic);
  check_table_op(TFL_OP_LOGISTIC, TFL_INT8, &i_in, &i_sig, d_logistic);
  check_table_op(TFL_OP_TANH, TFL_UINT8, &u_in, &u_tanh, d_tanh);
  check_table_op(TFL_OP_TANH, TFL_INT8, &i_in, &i_tanh, d_tanh);
  /* TANH takes any output parameters (TFLite checks none for 8 bits) */
  const qp odd = {0.01f, 7};
  check_table_op(TFL_OP_TANH, TFL_INT8, &i_in, &odd, d_tanh);
  const qp elu_out = {0.03f, 20};
  check_table_op(TFL_OP_ELU, TFL_INT8, &i_in, &elu_out, d_elu);
  const qp gelu_out = {0.02f, -100};
  check_table_op(TFL_OP_GELU, TFL_INT8, &i_in, &gelu_out, d_gelu);
  const qp gelu_u_out = {0.02f, 28}; /* the same real range in uint8 codes */
  check_table_op(TFL_OP_GELU, TFL_UINT8, &u_in, &gelu_u_out, d_gelu);
  const qp exp_out = {0.1f, -128}, log_out = {0.03f, 60};
  check_table_op(TFL_OP_EXP, TFL_INT8, &i_in, &exp_out, d_exp);
  check_table_op(TFL_OP_LOG, TFL_INT8, &i_in, &log_out, d_log); /* log(x <= 0): the minimum */
  /* LOGISTIC needs the 1/256 output scale (the zero point is not checked for uint8) */
  const int8_t x[] = {1};
  const qp bad = {1.0f / 128, -128};
  ot_result r;
  CHECK(run1q(TFL_OP_LOGISTIC, TFL_INT8, 1, x, &i_in, &bad, 0, NULL, &r) == TFL_ERROR);
  CHECK(strstr(r.error, "1/256") != NULL);
  ot_result_free(&r);
  const qp shifted = {1.0f / 256, 5};
  CHECK(run1q(TFL_OP_LOGISTIC, TFL_UINT8, 1, x, &u_in, &shifted, 0, NULL, &r) == TFL_OK);
  ot_result_free(&r);
  /* ELU has no uint8 kernel */
  CHECK_EQ_INT(run1q(TFL_OP_ELU, TFL_UINT8, 1, x, &u_in, &elu_out, 0, NULL, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);
}

/* An int16 op over the whole input range, within `tol` LSB of f in double. */
static void check_int16_op(int op, const qp *qi, const qp *qo, double (*f)(double), double tol) {
  enum { N = 65536 / 7 + 1 };
  static int16_t x[N];
  for (int i = 0; i < N; i++) x[i] = (int16_t)(-32768 + 7 * i);
  ot_result r;
  if (run1q(op, TFL_INT16, N, x, qi, qo, 0, NULL, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "op %d: %s", op, r.error);
    ot_result_free(&r);
    return;
  }
  for (int i = 0; i < N; i++) {
    double want = f(qi->scale * (double)x[i]) / qo->scale;
    want = want > 32767 ? 32767 : (want < -32768 ? -32768 : want);
    const int16_t got = ((const int16_t *)r.out[0].data)[i];
    if (fabs(got - want) > tol) {
      test_fail(__FILE__, __LINE__, "op %d x %d: got %d, want %.2f", op, x[i], got, want);
      break;
    }
  }
  ot_result_free(&r);
}

TEST(quantized_int16_activations) {
  /* gemmlowp's 16-bit functions stay within 6 (logistic) and 12 (tanh) LSB */
  const qp q12 = {1.0f / 4096, 0}, q11 = {1.0f / 2048, 0}, q15 = {1.0f / 32768, 0};
  check_int16_op(TFL_OP_LOGISTIC, &q12, &q15, d_logistic, 6.5);
  check_int16_op(TFL_OP_TANH, &q12, &q15, d_tanh, 12.5);
  check_int16_op(TFL_OP_TANH, &q11, &q15, d_tanh, 12.5);
  const qp gin = {0.001f, 0}, gout = {0.0005f, 0};
  check_int16_op(TFL_OP_GELU, &gin, &gout, d_gelu, 3.0);
  const qp ein = {1.0f / 16384, 0}, eout = {1.0f / 4096, 0}; /* exp on [-2, 2) below 8 */
  check_int16_op(TFL_OP_EXP, &ein, &eout, d_exp, 3.0);
  /* exact fixed points: 0 -> 1/2 and 0 */
  const int16_t zero[] = {0};
  ot_result r;
  REQUIRE(run1q(TFL_OP_LOGISTIC, TFL_INT16, 1, zero, &q12, &q15, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(((const int16_t *)r.out[0].data)[0], 16384);
  ot_result_free(&r);
  /* other input scales need TFLite's sigmoid table, which tfl does not have */
  const qp odd = {0.001f, 0};
  CHECK_EQ_INT(run1q(TFL_OP_LOGISTIC, TFL_INT16, 1, zero, &odd, &q15, 0, NULL, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK_EQ_INT(run1q(TFL_OP_TANH, TFL_INT16, 1, zero, &odd, &q15, 0, NULL, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);
  /* the output must be Q0.15 */
  CHECK(run1q(TFL_OP_TANH, TFL_INT16, 1, zero, &q12, &q12, 0, NULL, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run1q(TFL_OP_LOGISTIC, TFL_INT16, 1, zero, &q12, &q12, 0, NULL, &r) == TFL_ERROR);
  ot_result_free(&r);
}

static double d_hard_swish(double x) { return x * (x + 3 < 0 ? 0 : (x + 3 > 6 ? 6 : x + 3)) / 6; }

TEST(quantized_abs) {
  /* int8 (0.5, zp -3) -> (0.25, zp -128): |q + 3| doubled: 250, 0, 4, 6, 206 */
  const int8_t x[] = {-128, -3, -1, -6, 100};
  const qp qi = {0.5f, -3}, qo = {0.25f, -128};
  ot_result r;
  REQUIRE(run1q(TFL_OP_ABS, TFL_INT8, 5, x, &qi, &qo, 0, NULL, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == 122 && y[1] == -128 && y[2] == -124 && y[3] == -122 && y[4] == 78);
  ot_result_free(&r);
  /* the same scales: |q - zp| + zp exactly; int16 needs zero points 0 */
  const int16_t h[] = {-32768, -5, 7};
  const qp hq = {0.01f, 0};
  REQUIRE(run1q(TFL_OP_ABS, TFL_INT16, 3, h, &hq, &hq, 0, NULL, &r) == TFL_OK);
  const int16_t *z = r.out[0].data;
  CHECK(z[0] == 32767 && z[1] == 5 && z[2] == 7);
  ot_result_free(&r);
  const qp hz = {0.01f, 1};
  CHECK(run1q(TFL_OP_ABS, TFL_INT16, 3, h, &hz, &hz, 0, NULL, &r) == TFL_ERROR);
  ot_result_free(&r);
}

TEST(quantized_hard_swish) {
  /* int8 (1/16, zp 0) -> (1/32, zp -50): exact at 0, below -3 and above 3 */
  int8_t x[256];
  for (int i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
  const qp qi = {1.0f / 16, 0}, qo = {1.0f / 32, -50};
  ot_result r;
  REQUIRE(run1q(TFL_OP_HARD_SWISH, TFL_INT8, 256, x, &qi, &qo, 0, NULL, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[128], -50);     /* 0 */
  CHECK_EQ_INT(y[0], -50);       /* -8 -> 0 */
  CHECK_EQ_INT(y[128 + 48], 46); /* 3 -> 3 = 96 steps */
  CHECK_EQ_INT(y[255], 127);     /* 7.94 saturates */
  /* everywhere within 1 LSB of the function (TFLite's 16-bit fixed point) */
  for (int i = 0; i < 256; i++) {
    double want = d_hard_swish(qi.scale * (double)x[i]) / qo.scale + (double)qo.zp;
    want = want > 127 ? 127 : want;
    CHECK_NEAR(y[i], want, 1.0);
  }
  ot_result_free(&r);
  /* uint8 */
  const uint8_t u[] = {0, 100, 120, 200, 255};
  const qp ui = {0.05f, 100}, uo = {0.05f, 100};
  REQUIRE(run1q(TFL_OP_HARD_SWISH, TFL_UINT8, 5, u, &ui, &uo, 0, NULL, &r) == TFL_OK);
  const uint8_t *z = r.out[0].data;
  for (int i = 0; i < 5; i++) {
    const double want = d_hard_swish(ui.scale * (double)(u[i] - 100)) / uo.scale + 100.0;
    CHECK_NEAR(z[i], want, 1.0);
  }
  CHECK(z[1] == 100 && z[3] == 200);
  ot_result_free(&r);
  /* an output scale finer than input / 256 would need a left shift */
  const qp fine = {1.0f / 8192, 0};
  CHECK(run1q(TFL_OP_HARD_SWISH, TFL_INT8, 1, x, &qi, &fine, 0, NULL, &r) == TFL_ERROR);
  ot_result_free(&r);
}

TEST(quantized_prelu) {
  /* int8 x (0.5, zp -10) with alpha [2] (0.25, zp 0) broadcast over [2, 2], out (0.5, zp 5):
   * x >= 0 keeps its step count; x < 0 times alpha */
  const int32_t xd[] = {2, 2}, ad[] = {2};
  const int8_t x[] = {-10, 0, -20, -30};
  const int8_t a[] = {2, -4};
  const float xs = 0.5f, as = 0.25f, os = 0.5f;
  const int64_t xz = -10, az = 0, oz = 5;
  ot_spec in[2] = {{.type = TFL_INT8, .ndim = 2, .dims = xd, .data = x, .q_count = 1,
                    .scales = &xs, .zero_points = &xz},
                   {.type = TFL_INT8, .ndim = 1, .dims = ad, .data = a, .constant = 1,
                    .q_count = 1, .scales = &as, .zero_points = &az}};
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = &os, .zero_points = &oz}};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_PRELU, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], 5);  /* 0 */
  CHECK_EQ_INT(y[1], 15); /* 10 steps */
  CHECK_EQ_INT(y[2], 0);  /* -10 steps * 0.5 = -5 */
  CHECK_EQ_INT(y[3], 25); /* -20 steps * -1 = 20 */
  ot_result_free(&r);
  /* int16 input with int8 alpha, and the output retyped to the input's type */
  const int16_t h[] = {-1000, 1000, -7, 3};
  const float hs = 1.0f, hos = 1.0f;
  const int64_t z0 = 0;
  ot_spec hin[2] = {{.type = TFL_INT16, .ndim = 2, .dims = xd, .data = h, .q_count = 1,
                     .scales = &hs, .zero_points = &z0},
                    {.type = TFL_INT8, .ndim = 1, .dims = ad, .data = a, .constant = 1,
                     .q_count = 1, .scales = &as, .zero_points = &az}};
  ot_spec hout[1] = {{.type = TFL_FLOAT32, .q_count = 1, .scales = &hos, .zero_points = &z0}};
  REQUIRE(ot_run(TFL_OP_PRELU, 1, hin, 2, hout, 1, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].type, TFL_INT16);
  const int16_t *w = r.out[0].data;
  CHECK(w[0] == -500 && w[1] == 1000 && w[2] == -4 && w[3] == 3); /* -3.5 -> -4 */
  ot_result_free(&r);
  /* the alpha type must go with the input's */
  in[1].type = TFL_UINT8;
  CHECK(ot_run(TFL_OP_PRELU, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_ops_match_formulas);
  RUN(large_tensors_on_two_threads);
  RUN(gelu_both_forms);
  RUN(leaky_relu_alphas);
  RUN(edge_values);
  RUN(integer_variants);
  RUN(prelu_broadcasting);
  RUN(zero_size);
  RUN(errors);
  RUN(quantized_relu_family);
  RUN(quantized_leaky_relu);
  RUN(quantized_table_ops);
  RUN(quantized_int16_activations);
  RUN(quantized_abs);
  RUN(quantized_hard_swish);
  RUN(quantized_prelu);
  return test_summary();
}
