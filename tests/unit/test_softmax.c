/* SOFTMAX and LOG_SOFTMAX against a naive double computation, beta, numerical stability on
 * large logits, several ranks, zero sizes and errors. */
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
  const int8_t q[] = {1, 2};
  const float scale[] = {0.1f};
  const int64_t zp[] = {0};
  ot_spec qin[1] = {{.type = TFL_INT8, .ndim = 1, .dims = d, .data = q, .q_count = 1,
                     .scales = scale, .zero_points = zp}};
  ot_spec qout[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  CHECK_EQ_INT(ot_run(TFL_OP_SOFTMAX, 1, qin, 1, qout, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);

  const float x[] = {1, 2};
  ot_spec in[1] = {OT_F32(1, d, x)};
  ot_spec iout[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_LOG_SOFTMAX, 1, in, 1, iout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(softmax_shapes_and_betas);
  RUN(log_softmax_shapes);
  RUN(hand_computed);
  RUN(large_logits_are_stable);
  RUN(zero_sizes);
  RUN(errors);
  return test_summary();
}
