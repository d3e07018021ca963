/* FULLY_CONNECTED: hand-computed cases, shapes against a naive matrix product in double,
 * output shapes with and without keep_num_dims, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

/* Deterministic values in [-scale, scale]. */
static float *random_floats(size_t n, unsigned seed, float scale) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  uint32_t s = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = scale * ((float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f);
  }
  return p;
}

static size_t count(int ndim, const int32_t *dims) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  return n;
}

typedef struct fc_case {
  int in_ndim;
  int32_t in[4];
  int32_t units, features;
  int bias; /* 0 none (two inputs), 1 given, 2 omitted (-1) */
  int act;
  int keep_num_dims;
  int weights_constant;
} fc_case;

static tfl_status run_fc(const fc_case *c, const float *x, const float *w, const float *b,
                         ot_result *r) {
  int32_t w_dims[2] = {c->units, c->features}, b_dims[1] = {c->units};
  ot_spec in[3] = {OT_F32(c->in_ndim, c->in, x), OT_F32(2, w_dims, w)};
  in[1].constant = c->weights_constant;
  int n_in = 2;
  if (c->bias == 1) in[n_in++] = (ot_spec)OT_F32_CONST(1, b_dims, b);
  if (c->bias == 2) in[n_in++] = (ot_spec)OT_OMITTED;
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, c->act), MB_BYTE(1, 0), MB_BYTE(2, c->keep_num_dims),
                    MB_FIELDS_END};
  return ot_run(TFL_OP_FULLY_CONNECTED, 1, in, n_in, out, 1, TFL_OPTS_FULLY_CONNECTED, opt, r);
}

static double ref_activation(int act, double x) {
  switch (act) {
    case TFL_ACT_RELU:
      return x < 0 ? 0 : x;
    case TFL_ACT_RELU_N1_TO_1:
      return x < -1 ? -1 : x > 1 ? 1 : x;
    case TFL_ACT_RELU6:
      return x < 0 ? 0 : x > 6 ? 6 : x;
    default:
      return x;
  }
}

static void check_against_reference(const fc_case *c, unsigned seed) {
  const size_t n_in = count(c->in_ndim, c->in);
  const size_t batch = n_in / (size_t)c->features;
  float *x = random_floats(n_in, seed, 2.0f);
  float *w = random_floats((size_t)c->units * c->features, seed + 1, 1.0f);
  float *b = random_floats((size_t)c->units, seed + 2, 1.0f);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_fc(c, x, w, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    if (c->keep_num_dims) {
      CHECK_EQ_INT(r.out[0].ndim, c->in_ndim);
      for (int i = 0; i < c->in_ndim - 1; i++) CHECK_EQ_INT(r.out[0].dims[i], c->in[i]);
    } else {
      CHECK_EQ_INT(r.out[0].ndim, 2);
      CHECK_EQ_INT(r.out[0].dims[0], batch);
    }
    CHECK_EQ_INT(r.out[0].dims[r.out[0].ndim - 1], c->units);
    const float *got = ot_f32(&r, 0);
    for (size_t i = 0; i < batch && test_failures_in_current == 0; i++)
      for (int32_t u = 0; u < c->units; u++) {
        double s = c->bias == 1 ? b[u] : 0.0;
        for (int32_t k = 0; k < c->features; k++)
          s += (double)x[i * c->features + k] * w[u * c->features + k];
        s = ref_activation(c->act, s);
        CHECK_NEAR(got[i * c->units + u], s, 1e-4 * (1.0 + fabs(s)));
      }
  }
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
}

TEST(by_hand_with_each_clamping_activation) {
  const float x[3] = {1, 2, 3};
  const float w[6] = {1, 0, -1, 2, 2, 2};
  const float b[2] = {0.5f, -1};
  const float want[4][2] = {{-1.5f, 11}, {0, 11}, {-1, 1}, {0, 6}};
  for (int act = TFL_ACT_NONE; act <= TFL_ACT_RELU6; act++) {
    fc_case c = {2, {1, 3}, 2, 3, 1, act, 0, 1};
    ot_result r;
    REQUIRE(run_fc(&c, x, w, b, &r) == TFL_OK);
    CHECK_NEAR(ot_f32(&r, 0)[0], want[act][0], 0);
    CHECK_NEAR(ot_f32(&r, 0)[1], want[act][1], 0);
    ot_result_free(&r);
  }
}

TEST(matches_reference_over_shapes) {
  static const fc_case cases[] = {
      {2, {1, 8}, 5, 8, 1, TFL_ACT_NONE, 0, 1},
      {2, {4, 8}, 5, 8, 1, TFL_ACT_RELU, 0, 1},
      {2, {2, 6}, 3, 3, 1, TFL_ACT_NONE, 0, 1},       /* flattened to batch 4 */
      {3, {2, 3, 4}, 7, 4, 1, TFL_ACT_RELU6, 0, 1},   /* batch 6 */
      {3, {2, 3, 4}, 7, 4, 1, TFL_ACT_NONE, 1, 1},    /* keep_num_dims: [2, 3, 7] */
      {4, {2, 1, 3, 5}, 2, 5, 0, TFL_ACT_NONE, 1, 1}, /* keep_num_dims, no bias */
      {1, {6}, 4, 6, 2, TFL_ACT_RELU_N1_TO_1, 0, 1},  /* 1-D input, omitted bias */
      {2, {3, 9}, 4, 9, 1, TFL_ACT_NONE, 0, 0},       /* weights fed at run time */
      {2, {3, 1}, 1, 1, 1, TFL_ACT_NONE, 0, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_against_reference(&cases[i], 200u + (unsigned)i);
}

static void check_fails(const fc_case *c, tfl_status expected, const char *needle) {
  const size_t n_in = count(c->in_ndim, c->in);
  float *x = random_floats(n_in, 1, 1.0f);
  float *w = random_floats((size_t)c->units * c->features, 2, 1.0f);
  float *b = random_floats((size_t)c->units, 3, 1.0f);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_fc(c, x, w, b, &r);
  if (expected == TFL_OK)
    CHECK(st != TFL_OK);
  else
    CHECK_EQ_INT(st, expected);
  if (!strstr(r.error, needle)) test_fail(__FILE__, __LINE__, "message: %s", r.error);
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
}

TEST(bad_models_are_errors) {
  const fc_case not_divisible = {2, {1, 5}, 2, 3, 1, TFL_ACT_NONE, 0, 1};
  const fc_case keep_dims_mismatch = {2, {2, 6}, 2, 3, 1, TFL_ACT_NONE, 1, 1};
  const fc_case tanh_act = {2, {1, 3}, 2, 3, 1, TFL_ACT_TANH, 0, 1};
  const fc_case sign_bit = {2, {1, 3}, 2, 3, 1, TFL_ACT_SIGN_BIT, 0, 1};
  const fc_case unknown_act = {2, {1, 3}, 2, 3, 1, 11, 0, 1};
  check_fails(&not_divisible, TFL_OK, "multiple");
  check_fails(&keep_dims_mismatch, TFL_OK, "keep_num_dims");
  check_fails(&tanh_act, TFL_UNSUPPORTED, "activation");
  check_fails(&sign_bit, TFL_UNSUPPORTED, "activation");
  check_fails(&unknown_act, TFL_INVALID_MODEL, "activation");
}

TEST(shuffled_weights_format_is_unsupported) {
  const float x[3] = {0}, w[6] = {0};
  int32_t in_dims[2] = {1, 3}, w_dims[2] = {2, 3};
  ot_spec in[2] = {OT_F32(2, in_dims, x), OT_F32_CONST(2, w_dims, w)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(1, 1), MB_FIELDS_END};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_FULLY_CONNECTED, 2, in, 2, out, 1, TFL_OPTS_FULLY_CONNECTED, opt,
                      &r),
               TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "weights_format") != NULL);
  ot_result_free(&r);
}

TEST(weights_rank_and_bias_length_are_checked) {
  const float x[4] = {0}, w[8] = {0}, b[3] = {0};
  int32_t in_dims[2] = {1, 4}, w3_dims[3] = {2, 1, 4}, w_dims[2] = {2, 4}, b_dims[1] = {3};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;

  ot_spec rank3[2] = {OT_F32(2, in_dims, x), OT_F32_CONST(3, w3_dims, w)};
  CHECK(ot_run(TFL_OP_FULLY_CONNECTED, 1, rank3, 2, out, 1, 0, NULL, &r) != TFL_OK);
  CHECK(strstr(r.error, "weights") != NULL);
  ot_result_free(&r);

  ot_spec bad_bias[3] = {OT_F32(2, in_dims, x), OT_F32_CONST(2, w_dims, w),
                         OT_F32_CONST(1, b_dims, b)};
  CHECK(ot_run(TFL_OP_FULLY_CONNECTED, 1, bad_bias, 3, out, 1, 0, NULL, &r) != TFL_OK);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);
}

TEST(hybrid_is_unsupported_for_now) {
  const float x[3] = {0};
  const int8_t wq[6] = {0};
  const float scale[1] = {0.5f};
  const int64_t zp[1] = {0};
  int32_t in_dims[2] = {1, 3}, w_dims[2] = {2, 3};
  ot_spec in[2] = {OT_F32(2, in_dims, x), OT_CONST(TFL_INT8, 2, w_dims, wq)};
  in[1].q_count = 1;
  in[1].scales = scale;
  in[1].zero_points = zp;
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_FULLY_CONNECTED, 1, in, 2, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "hybrid") != NULL);
  ot_result_free(&r);
}

int main(void) {
  RUN(by_hand_with_each_clamping_activation);
  RUN(matches_reference_over_shapes);
  RUN(bad_models_are_errors);
  RUN(shuffled_weights_format_is_unsupported);
  RUN(weights_rank_and_bias_length_are_checked);
  RUN(hybrid_is_unsupported_for_now);
  return test_summary();
}
