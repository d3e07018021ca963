/* SOFTMAX and LOG_SOFTMAX against a naive double computation, beta, numerical stability on
 * large logits, several ranks, zero sizes and errors. Quantized: uint8/int8 inputs with
 * uint8/int8/int16 outputs and LOG_SOFTMAX against the double result wherever it is not
 * within 1e-3 of a rounding boundary, int16 SOFTMAX within 2 LSB, hand-computed rows, and
 * the output parameters TFLite requires. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

static tfl_status run_softmax(int op, int ndim, const int32_t *dims, const float *x, float beta,
                              ot_result *r) {
  ot_spec in[1] = {OT_F32(ndim, dims, x)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_FLOAT(0, beta), MB_FIELDS_END};
  int with_opt = op == TFL_OP_SOFTMAX;
  return ot_run(op, 1, in, 1, out, 1, with_opt ? TFL_OPTS_SOFTMAX : 0, with_opt ? opt : NULL, r);
}

/* Softmax of one row in double, straight from the definition (shifted by the row's mean,
 * which keeps exp in range without using the kernel's max trick). */
static void ref_row(int log_form, const float *x, double *y, int depth, double beta) {
  double mean = 0;
  for (int c = 0; c < depth; c++) mean += x[c];
  mean /= depth;
  double sum = 0;
  for (int c = 0; c < depth; c++) sum += exp(beta * (x[c] - mean));
  for (int c = 0; c < depth; c++)
    y[c] = log_form ? (x[c] - mean) - log(sum) : exp(beta * (x[c] - mean)) / sum;
}

static void check_case(int op, int ndim, const int32_t *dims, float beta, float spread) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  int depth = dims[ndim - 1];
  float *x = malloc(n * sizeof(float));
  double *want = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) x[i] = spread * (float)((int)((i * 37 + 11) % 23) - 11) / 11.0f;
  for (size_t r = 0; r < n / (size_t)depth; r++)
    ref_row(op == TFL_OP_LOG_SOFTMAX, x + r * depth, want + r * depth, depth, beta);
  ot_result res;
  tfl_status st = run_softmax(op, ndim, dims, x, beta, &res);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s", res.error);
  if (st == TFL_OK) {
    CHECK_EQ_INT(res.out[0].ndim, ndim);
    for (size_t i = 0; i < n; i++)
      CHECK_NEAR(ot_f32(&res, 0)[i], want[i], 2e-6 * (1 + fabs(want[i])));
  }
  ot_result_free(&res);
  free(x);
  free(want);
}

TEST(softmax_shapes_and_betas) {
  const int32_t d1[] = {7}, d2[] = {3, 5}, d4[] = {1, 2, 2, 10}, d3[] = {2, 3, 1};
  const float betas[] = {1.0f, 0.5f, 2.0f, 0.0f};
  for (int b = 0; b < 4; b++) {
    check_case(TFL_OP_SOFTMAX, 1, d1, betas[b], 3.0f);
    check_case(TFL_OP_SOFTMAX, 2, d2, betas[b], 3.0f);
    check_case(TFL_OP_SOFTMAX, 4, d4, betas[b], 3.0f);
    check_case(TFL_OP_SOFTMAX, 3, d3, betas[b], 3.0f);
  }
}

TEST(log_softmax_shapes) {
  const int32_t d1[] = {7}, d2[] = {3, 5}, d4[] = {1, 2, 2, 10};
  check_case(TFL_OP_LOG_SOFTMAX, 1, d1, 1.0f, 3.0f);
  check_case(TFL_OP_LOG_SOFTMAX, 2, d2, 1.0f, 3.0f);
  check_case(TFL_OP_LOG_SOFTMAX, 4, d4, 1.0f, 20.0f);
}

TEST(hand_computed) {
  const int32_t d[] = {1, 3};
  const float x[] = {1, 2, 3};
  ot_result r;
  REQUIRE(run_softmax(TFL_OP_SOFTMAX, 2, d, x, 1.0f, &r) == TFL_OK);
  /* e^-2, e^-1, 1 over their sum 1.5032147 */
  CHECK_NEAR(ot_f32(&r, 0)[0], 0.09003057, 1e-7);
  CHECK_NEAR(ot_f32(&r, 0)[1], 0.24472847, 1e-7);
  CHECK_NEAR(ot_f32(&r, 0)[2], 0.66524096, 1e-7);
  ot_result_free(&r);
  REQUIRE(run_softmax(TFL_OP_LOG_SOFTMAX, 2, d, x, 1.0f, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], -2.40760596, 1e-6);
  CHECK_NEAR(ot_f32(&r, 0)[2], -0.40760596, 1e-6);
  ot_result_free(&r);
}

TEST(large_logits_are_stable) {
  const int32_t d[] = {4};
  const float x[] = {1000, 1001, 1002, -1000};
  ot_result r;
  REQUIRE(run_softmax(TFL_OP_SOFTMAX, 1, d, x, 1.0f, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], 0.09003057, 1e-7);
  CHECK_NEAR(ot_f32(&r, 0)[2], 0.66524096, 1e-7);
  CHECK(ot_f32(&r, 0)[3] == 0.0f);
  ot_result_free(&r);
  REQUIRE(run_softmax(TFL_OP_LOG_SOFTMAX, 1, d, x, 1.0f, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[1], -1.40760596, 1e-4);
  CHECK(isfinite(ot_f32(&r, 0)[3]));
  CHECK_NEAR(ot_f32(&r, 0)[3], -2002.40760596, 1e-2);
  ot_result_free(&r);
}

TEST(zero_sizes) {
  const int32_t a[] = {0, 5}, b[] = {3, 0};
  ot_result r;
  REQUIRE(run_softmax(TFL_OP_SOFTMAX, 2, a, NULL, 1.0f, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[0], 0);
  ot_result_free(&r);
  REQUIRE(run_softmax(TFL_OP_LOG_SOFTMAX, 2, b, NULL, 1.0f, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 0);
  ot_result_free(&r);
}

TEST(errors) {
  ot_result r;
  const float s = 1.0f;
  CHECK(run_softmax(TFL_OP_SOFTMAX, 0, NULL, &s, 1.0f, &r) != TFL_OK);
  ot_result_free(&r);

  const int32_t d[] = {2};
  const float x[] = {1, 2};
  ot_spec in[1] = {OT_F32(1, d, x)};
  ot_spec iout[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_LOG_SOFTMAX, 1, in, 1, iout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- quantized ------------------------------------------------------------------------------ */

typedef struct qp {
  float scale;
  int64_t zp;
} qp;

static tfl_status run_q(int op, tfl_type in_type, int ndim, const int32_t *dims, const void *x,
                        const qp *qi, tfl_type out_type, const qp *qo, float beta,
                        ot_result *r) {
  ot_spec in[1] = {{.type = in_type, .ndim = ndim, .dims = dims, .data = x, .q_count = 1,
                    .scales = &qi->scale, .zero_points = &qi->zp}};
  ot_spec out[1] = {{.type = out_type, .q_count = 1, .scales = &qo->scale,
                     .zero_points = &qo->zp}};
  mb_field opt[] = {MB_FLOAT(0, beta), MB_FIELDS_END};
  int with_opt = op == TFL_OP_SOFTMAX;
  return ot_run(op, 1, in, 1, out, 1, with_opt ? TFL_OPTS_SOFTMAX : 0, with_opt ? opt : NULL, r);
}

static int32_t qget(tfl_type t, const void *p, size_t i) {
  switch (t) {
    case TFL_UINT8:
      return ((const uint8_t *)p)[i];
    case TFL_INT8:
      return ((const int8_t *)p)[i];
    default:
      return ((const int16_t *)p)[i];
  }
}

static void qset(tfl_type t, void *p, size_t i, int32_t v) {
  if (t == TFL_UINT8) ((uint8_t *)p)[i] = (uint8_t)v;
  else if (t == TFL_INT8) ((int8_t *)p)[i] = (int8_t)v;
  else ((int16_t *)p)[i] = (int16_t)v;
}

static void type_range(tfl_type t, int32_t *lo, int32_t *hi) {
  *lo = t == TFL_UINT8 ? 0 : (t == TFL_INT8 ? -128 : -32768);
  *hi = t == TFL_UINT8 ? 255 : (t == TFL_INT8 ? 127 : 32767);
}

/* Quantized SOFTMAX/LOG_SOFTMAX of random rows against the double result: rounding of
 * `v` on the output scale is half up for uint8 SOFTMAX, half to even for LOG_SOFTMAX and half
 * away from zero otherwise; values near a boundary are skipped, and with `tolerance` > 0
 * (int16) a difference up to it is accepted instead. */
static void check_quantized(int op, tfl_type in_type, const qp *qi, tfl_type out_type,
                            const qp *qo, float beta, int tolerance, unsigned seed) {
  enum { ROWS = 3, DEPTH = 37 };
  const int32_t dims[] = {ROWS, DEPTH};
  int16_t x[ROWS * DEPTH];
  int32_t lo, hi, olo, ohi;
  type_range(in_type, &lo, &hi);
  type_range(out_type, &olo, &ohi);
  uint32_t st = seed * 2654435761u + 3u;
  for (int i = 0; i < ROWS * DEPTH; i++) {
    st = st * 1664525u + 1013904223u;
    qset(in_type, x, (size_t)i, lo + (int32_t)((st >> 8) % (uint32_t)(hi - lo + 1)));
  }
  ot_result r;
  if (run_q(op, in_type, 2, dims, x, qi, out_type, qo, beta, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "%s -> %s: %s", tfl_type_name(in_type),
              tfl_type_name(out_type), r.error);
    ot_result_free(&r);
    return;
  }
  for (int row = 0; row < ROWS; row++) {
    float real[DEPTH];
    double want[DEPTH];
    for (int c = 0; c < DEPTH; c++)
      real[c] = qi->scale * (float)(qget(in_type, x, (size_t)(row * DEPTH + c)) - qi->zp);
    ref_row(op == TFL_OP_LOG_SOFTMAX, real, want, DEPTH, beta);
    for (int c = 0; c < DEPTH; c++) {
      const double v = want[c] / qo->scale;
      double q;
      if (op == TFL_OP_LOG_SOFTMAX) q = nearbyint(v) + (double)qo->zp;
      else if (out_type == TFL_UINT8) q = floor(v + 0.5);
      else q = round(v) + (double)qo->zp;
      q = q < olo ? olo : (q > ohi ? ohi : q);
      const int32_t got = qget(out_type, r.out[0].data, (size_t)(row * DEPTH + c));
      const int near_tie = fabs(v - floor(v) - 0.5) < 1e-3;
      if ((tolerance == 0 && !near_tie && got != (int32_t)q) || fabs(got - q) > tolerance + 1) {
        test_fail(__FILE__, __LINE__, "%s %s -> %s row %d col %d: got %d, want %g (%.4f)",
                  op == TFL_OP_SOFTMAX ? "SOFTMAX" : "LOG_SOFTMAX", tfl_type_name(in_type),
                  tfl_type_name(out_type), row, c, (int)got, q, v);
        ot_result_free(&r);
        return;
      }
      if (tolerance > 0 && fabs(got - q) > tolerance)
        test_fail(__FILE__, __LINE__, "int16 row %d col %d: got %d, want %g", row, c, (int)got, q);
    }
  }
  ot_result_free(&r);
}

TEST(quantized_softmax_against_double) {
  const qp u8_in = {0.05f, 128}, i8_in = {0.1f, -3}, tight = {0.02f, 255};
  const qp u8_out = {1.0f / 256, 0}, i8_out = {1.0f / 256, -128}, i16_out = {1.0f / 65536, -32768};
  for (unsigned seed = 1; seed <= 4; seed++) {
    check_quantized(TFL_OP_SOFTMAX, TFL_UINT8, &u8_in, TFL_UINT8, &u8_out, 1.0f, 0, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_UINT8, &tight, TFL_UINT8, &u8_out, 2.5f, 0, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_INT8, &i8_in, TFL_INT8, &i8_out, 1.0f, 0, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_INT8, &i8_in, TFL_INT8, &i8_out, 0.3f, 0, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_UINT8, &u8_in, TFL_INT16, &i16_out, 1.0f, 0, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_INT8, &i8_in, TFL_INT16, &i16_out, 1.0f, 0, seed);
  }
}

TEST(quantized_log_softmax_against_double) {
  const qp u8_in = {0.05f, 128}, i8_in = {0.1f, -3};
  const qp u8_out = {16.0f / 256, 255}, i8_out = {16.0f / 256, 127};
  for (unsigned seed = 1; seed <= 4; seed++) {
    check_quantized(TFL_OP_LOG_SOFTMAX, TFL_UINT8, &u8_in, TFL_UINT8, &u8_out, 1.0f, 0, seed);
    check_quantized(TFL_OP_LOG_SOFTMAX, TFL_INT8, &i8_in, TFL_INT8, &i8_out, 1.0f, 0, seed);
  }
}

TEST(int16_softmax) {
  /* TFLite's integer algorithm interpolates exp and 1 / (1 + x) in 513-entry tables; the
   * exp table's last segment is off by up to 6 LSB, so a probability near 1 can be off by
   * 0.3% */
  const qp in = {1.0f / 2048, 0}, out = {1.0f / 32768, 0}, wide = {1.0f / 256, 0};
  for (unsigned seed = 1; seed <= 4; seed++) {
    check_quantized(TFL_OP_SOFTMAX, TFL_INT16, &in, TFL_INT16, &out, 1.0f, 100, seed);
    check_quantized(TFL_OP_SOFTMAX, TFL_INT16, &wide, TFL_INT16, &out, 0.5f, 100, seed);
  }
  ot_result r;
  /* equal logits: every probability is exactly 1/4 */
  const int32_t dims[] = {1, 4};
  const int16_t x[] = {-7, -7, -7, -7};
  REQUIRE(run_q(TFL_OP_SOFTMAX, TFL_INT16, 2, dims, x, &in, TFL_INT16, &out, 1.0f, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((const int16_t *)r.out[0].data)[i], 8192);
  ot_result_free(&r);
  /* TFLite's algorithm worked through for one row: exp table entries for the rescaled
   * differences, their sum normalized, the reciprocal table, the final products (the exact
   * probabilities times 32768 are 13067.0, 0.75, 3020.0, 16680.3) */
  const int16_t row[] = {0, -20000, -3000, 500};
  REQUIRE(run_q(TFL_OP_SOFTMAX, TFL_INT16, 2, dims, row, &in, TFL_INT16, &out, 1.0f, &r) ==
          TFL_OK);
  const int16_t *y = r.out[0].data;
  CHECK(y[0] == 13067 && y[1] == 1 && y[2] == 3020 && y[3] == 16680);
  ot_result_free(&r);
}

TEST(quantized_hand_computed) {
  const int32_t dims[] = {1, 4};
  ot_result r;
  /* four equal uint8 logits: 1/4 on the 1/256 scale */
  const uint8_t u[] = {200, 200, 200, 200};
  const qp qi = {0.5f, 0}, qo = {1.0f / 256, 0};
  REQUIRE(run_q(TFL_OP_SOFTMAX, TFL_UINT8, 2, dims, u, &qi, TFL_UINT8, &qo, 1.0f, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((const uint8_t *)r.out[0].data)[i], 64);
  ot_result_free(&r);
  /* int8 logits 0, 0 and two far below: 1/2 each (128 - 128 = 0), the others -128 */
  const int8_t s[] = {127, 127, -128, -128};
  const qp qs = {1.0f, 0}, qso = {1.0f / 256, -128};
  REQUIRE(run_q(TFL_OP_SOFTMAX, TFL_INT8, 2, dims, s, &qs, TFL_INT8, &qso, 1.0f, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == 0 && y[1] == 0 && y[2] == -128 && y[3] == -128);
  ot_result_free(&r);
  /* a probability of 1 saturates at 127 */
  const int8_t one[] = {127, -128, -128, -128};
  REQUIRE(run_q(TFL_OP_SOFTMAX, TFL_INT8, 2, dims, one, &qs, TFL_INT8, &qso, 1.0f, &r) == TFL_OK);
  CHECK_EQ_INT(((const int8_t *)r.out[0].data)[0], 127);
  ot_result_free(&r);
  /* LOG_SOFTMAX of two equal logits: log(1/2) = -0.693 on the 1/16 scale is -11.09 -> -11 */
  const int32_t d2[] = {2};
  const uint8_t two[] = {9, 9};
  const qp ql = {16.0f / 256, 255};
  REQUIRE(run_q(TFL_OP_LOG_SOFTMAX, TFL_UINT8, 1, d2, two, &qi, TFL_UINT8, &ql, 1.0f, &r) ==
          TFL_OK);
  CHECK(((const uint8_t *)r.out[0].data)[0] == 244 && ((const uint8_t *)r.out[0].data)[1] == 244);
  ot_result_free(&r);
}

TEST(quantized_output_parameters_are_checked) {
  const int32_t d[] = {2};
  const int8_t q[] = {1, 2};
  const int16_t h[] = {1, 2};
  const uint8_t u[] = {1, 2};
  const qp in = {0.1f, 0};
  const qp bad_scale = {1.0f / 128, -128}, bad_zp = {1.0f / 256, -127};
  const qp near = {1.0f / 256.1f, -128};
  ot_result r;
  CHECK(run_q(TFL_OP_SOFTMAX, TFL_INT8, 1, d, q, &in, TFL_INT8, &bad_scale, 1.0f, &r) == TFL_ERROR);
  CHECK(strstr(r.error, "1/256") != NULL);
  ot_result_free(&r);
  CHECK(run_q(TFL_OP_SOFTMAX, TFL_INT8, 1, d, q, &in, TFL_INT8, &bad_zp, 1.0f, &r) == TFL_ERROR);
  ot_result_free(&r);
  /* within TFLite's 0.1% tolerance */
  CHECK(run_q(TFL_OP_SOFTMAX, TFL_INT8, 1, d, q, &in, TFL_INT8, &near, 1.0f, &r) == TFL_OK);
  ot_result_free(&r);
  const qp h_bad = {1.0f / 32768, 1};
  CHECK(run_q(TFL_OP_SOFTMAX, TFL_INT16, 1, d, h, &in, TFL_INT16, &h_bad, 1.0f, &r) == TFL_ERROR);
  CHECK(strstr(r.error, "1/32768") != NULL);
  ot_result_free(&r);
  const qp log_bad = {1.0f / 16, 0};
  CHECK(run_q(TFL_OP_LOG_SOFTMAX, TFL_UINT8, 1, d, u, &in, TFL_UINT8, &log_bad, 1.0f, &r) ==
        TFL_ERROR);
  CHECK(strstr(r.error, "16/256") != NULL);
  ot_result_free(&r);
  const qp log_i8 = {16.0f / 256, 255};
  CHECK(run_q(TFL_OP_LOG_SOFTMAX, TFL_INT8, 1, d, q, &in, TFL_INT8, &log_i8, 1.0f, &r) ==
        TFL_INVALID_MODEL); /* the loader refuses an int8 zero point of 255 */
  ot_result_free(&r);
  /* uint8 input with an int8 output has no kernel */
  const qp any = {1.0f / 256, 0};
  CHECK_EQ_INT(run_q(TFL_OP_SOFTMAX, TFL_UINT8, 1, d, u, &in, TFL_INT8, &any, 1.0f, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

int main(void) {
  RUN(softmax_shapes_and_betas);
  RUN(log_softmax_shapes);
  RUN(hand_computed);
  RUN(large_logits_are_stable);
  RUN(zero_sizes);
  RUN(errors);
  RUN(quantized_softmax_against_double);
  RUN(quantized_log_softmax_against_double);
  RUN(int16_softmax);
  RUN(quantized_hand_computed);
  RUN(quantized_output_parameters_are_checked);
  return test_summary();
}
