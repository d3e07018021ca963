/* FULLY_CONNECTED: hand-computed cases, shapes against a naive matrix product in double,
 * output shapes with and without keep_num_dims, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

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

static void check_against_reference(const fc_case *c, unsigned seed) {
  const size_t n_in = ck_count(c->in_ndim, c->in);
  const size_t batch = n_in / (size_t)c->features;
  float *x = qr_random_floats(n_in, seed, 2.0f);
  float *w = qr_random_floats((size_t)c->units * c->features, seed + 1, 1.0f);
  float *b = qr_random_floats((size_t)c->units, seed + 2, 1.0f);
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
        s = ck_float_activation(c->act, s);
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
  const size_t n_in = ck_count(c->in_ndim, c->in);
  float *x = qr_random_floats(n_in, 1, 1.0f);
  float *w = qr_random_floats((size_t)c->units * c->features, 2, 1.0f);
  float *b = qr_random_floats((size_t)c->units, 3, 1.0f);
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

/* TFLite zeroes the output when there are no input features, bias or not. */
TEST(no_features_gives_zeros) {
  const float x[1] = {0}, w[1] = {0}, b[2] = {1.5f, -2};
  int32_t in_dims[2] = {3, 0}, w_dims[2] = {2, 0}, b_dims[1] = {2};
  ot_spec in[3] = {OT_F32(2, in_dims, x), OT_F32_CONST(2, w_dims, w), OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_FULLY_CONNECTED, 1, in, 3, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[0], 3);
  CHECK_EQ_INT(r.out[0].dims[1], 2);
  for (int i = 0; i < 6; i++) CHECK_NEAR(ot_f32(&r, 0)[i], 0, 0);
  ot_result_free(&r);
}

/* ---- quantized path -----------------------------------------------------------------------
 * Expected codes come from a naive int64 matrix product written here and TFLite's
 * requantization forms (util/quant_ref): uint8 rounds twice; int8, and int16 with an int32
 * bias and no zero points, go through ruy (the final shift breaks ties upward); the 16x8
 * reference kernel (int64 bias, quantized_bias_type int64 or a filter zero point) rounds
 * acc * real in double. A per-tensor filter's multiplier uses the scales multiplied in
 * float; per-channel ones multiply in double. */

typedef struct qfc_case {
  int32_t batches, units, features;
  tfl_type type;      /* input and output */
  tfl_type bias_type; /* 0 (TFL_FLOAT32) for no bias */
  int bias_option;    /* quantized_bias_type (0 unset) */
  float in_scale, out_scale;
  int32_t in_zp, out_zp;
  int n_scales;
  const float *f_scales;
  int32_t f_zp;
  int act;
} qfc_case;

static tfl_type fc_filter_type(tfl_type t) { return t == TFL_UINT8 ? TFL_UINT8 : TFL_INT8; }

static int64_t ref_fc_code(const qfc_case *q, int32_t u, int64_t acc) {
  const float fs = q->f_scales[q->n_scales > 1 ? u : 0];
  const double real_double = (double)q->in_scale * fs / q->out_scale;
  const double real_float = (double)(q->in_scale * fs) / q->out_scale;
  const int reference16 = q->type == TFL_INT16 && (q->bias_type == TFL_INT64 ||
                                                   q->bias_option == TFL_INT64 || q->f_zp != 0);
  qr_requant form = q->type == TFL_UINT8 ? QR_DOUBLE : reference16 ? QR_REAL : QR_RUY;
  const double real = form == QR_REAL || q->n_scales > 1 ? real_double : real_float;
  int64_t lo, hi;
  qr_act_range(q->act, q->type, q->out_scale, q->out_zp, &lo, &hi);
  return qr_requantize(form, acc, real, q->out_zp, lo, hi);
}

static tfl_status run_qfc(const qfc_case *q, const void *x, const void *w, const void *b,
                          ot_result *r) {
  int32_t in_dims[2] = {q->batches, q->features}, w_dims[2] = {q->units, q->features};
  int32_t b_dims[1] = {q->units};
  int64_t in_zp[1] = {q->in_zp}, out_zp[1] = {q->out_zp};
  int64_t *f_zp = calloc((size_t)q->n_scales, sizeof(int64_t));
  int64_t *b_zp = calloc((size_t)q->units, sizeof(int64_t));
  float *b_scales = malloc((size_t)q->units * sizeof(float));
  for (int i = 0; i < q->n_scales; i++) f_zp[i] = q->f_zp;
  for (int32_t i = 0; i < q->units; i++)
    b_scales[i] = q->in_scale * q->f_scales[q->n_scales > 1 ? i : 0];
  ot_spec in[3] = {
      {.type = q->type, .ndim = 2, .dims = in_dims, .data = x, .q_count = 1,
       .scales = &q->in_scale, .zero_points = in_zp},
      {.type = fc_filter_type(q->type), .ndim = 2, .dims = w_dims, .data = w, .constant = 1,
       .q_count = q->n_scales, .scales = q->f_scales, .zero_points = f_zp},
      {.type = q->bias_type, .ndim = 1, .dims = b_dims, .data = b, .constant = 1,
       .q_count = q->units, .scales = b_scales, .zero_points = b_zp}};
  ot_spec out[1] = {
      {.type = q->type, .q_count = 1, .scales = &q->out_scale, .zero_points = out_zp}};
  mb_field opt[] = {MB_BYTE(0, q->act), MB_BYTE(4, q->bias_option), MB_FIELDS_END};
  tfl_status st = ot_run(TFL_OP_FULLY_CONNECTED, 1, in, q->bias_type ? 3 : 2, out, 1,
                         TFL_OPTS_FULLY_CONNECTED, opt, r);
  free(f_zp);
  free(b_zp);
  free(b_scales);
  return st;
}

static void check_quantized(const qfc_case *q, unsigned seed) {
  const size_t n_x = (size_t)q->batches * q->features, n_w = (size_t)q->units * q->features;
  int64_t lo, hi;
  qr_type_range(q->type, &lo, &hi);
  const int64_t bias_range = q->type == TFL_INT16 ? 3000000 : 30000;
  int64_t *x = qr_random_ints(n_x, seed, lo, hi);
  int64_t *w = q->type == TFL_UINT8 ? qr_random_ints(n_w, seed + 1, 0, 255)
                                    : qr_random_ints(n_w, seed + 1, -127, 127);
  int64_t *b = qr_random_ints((size_t)q->units, seed + 2, -bias_range, bias_range);
  void *xp = qr_pack(q->type, x, n_x), *wp = qr_pack(fc_filter_type(q->type), w, n_w);
  void *bp = q->bias_type ? qr_pack(q->bias_type, b, (size_t)q->units) : NULL;
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_qfc(q, xp, wp, bp, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  for (int32_t bt = 0; st == TFL_OK && bt < q->batches && test_failures_in_current == 0; bt++)
    for (int32_t u = 0; u < q->units; u++) {
      int64_t acc = q->bias_type ? b[u] : 0;
      for (int32_t k = 0; k < q->features; k++)
        acc += (x[bt * q->features + k] - q->in_zp) * (w[u * q->features + k] - q->f_zp);
      const int64_t want = ref_fc_code(q, u, acc);
      const int64_t got = qr_code_at(q->type, r.out[0].data, (size_t)(bt * q->units + u));
      if (got != want)
        test_fail(__FILE__, __LINE__, "seed %u batch %d unit %d: got %lld, want %lld", seed,
                  (int)bt, (int)u, (long long)got, (long long)want);
    }
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(xp);
  free(wp);
  free(bp);
}

/* int8 per-tensor with a filter zero point (TFLite allows it here): inputs {-3, 5} (zp -1:
 * reals -2, 6 at scale 1), filter codes {3, 0} with zp 1: {2, -1} at scale 0.5; so
 * (-2*2 + 6*-1) * 0.5 = -5, plus bias 4 (scale 0.5) = -3; output scale 0.5, zp 10: 4. */
TEST(quantized_int8_filter_zero_point_by_hand) {
  const int8_t x[2] = {-3, 5}, w[2] = {3, 0};
  const int32_t b[1] = {4};
  const float fs[1] = {0.5f};
  qfc_case q = {1, 1, 2, TFL_INT8, TFL_INT32, 0, 1.0f, 0.5f, -1, 10, 1, fs, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_qfc(&q, x, w, b, &r) == TFL_OK);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[0], 4);
  ot_result_free(&r);
  q.act = TFL_ACT_RELU; /* -3 clamps to 0.0: code 10 */
  REQUIRE(run_qfc(&q, x, w, b, &r) == TFL_OK);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[0], 10);
  ot_result_free(&r);
}

static const float fc_scales_3[3] = {0.02f, 0.0003f, 0.7f};
static const float fc_scales_5[5] = {1e-4f, 0.01f, 0.3f, 3e-3f, 0.05f};
static const float fc_scale_1[1] = {0.004f};

TEST(quantized_matches_reference) {
  static const qfc_case cases[] = {
      {1, 5, 8, TFL_UINT8, TFL_INT32, 0, 0.02f, 0.1f, 0, 255, 1, fc_scale_1, 255, TFL_ACT_NONE},
      {4, 3, 7, TFL_UINT8, TFL_INT32, 0, 0.05f, 0.2f, 255, 0, 1, fc_scale_1, 0, TFL_ACT_RELU6},
      {3, 5, 9, TFL_UINT8, 0, 0, 0.03f, 0.05f, 128, 128, 1, fc_scale_1, 77, TFL_ACT_RELU},
      {1, 5, 8, TFL_INT8, TFL_INT32, 0, 0.02f, 0.05f, -128, 127, 1, fc_scale_1, 0, TFL_ACT_NONE},
      {2, 3, 16, TFL_INT8, TFL_INT32, 0, 0.05f, 0.02f, 127, -128, 1, fc_scale_1, -7,
       TFL_ACT_RELU_N1_TO_1},
      {3, 5, 6, TFL_INT8, TFL_INT32, 0, 0.1f, 0.3f, 3, -5, 5, fc_scales_5, 0, TFL_ACT_RELU6},
      {2, 3, 10, TFL_INT8, 0, 0, 0.1f, 0.01f, 0, 0, 3, fc_scales_3, 0, TFL_ACT_NONE},
      /* 16x8: int64 bias (reference kernel, double), int32 bias (ruy), a filter zero point
       * with quantized_bias_type int32 (reference kernel accumulating in int32) */
      {2, 5, 12, TFL_INT16, TFL_INT64, 0, 0.001f, 0.002f, 0, 0, 5, fc_scales_5, 0, TFL_ACT_NONE},
      {3, 3, 9, TFL_INT16, TFL_INT64, TFL_INT64, 0.0005f, 0.0003f, 0, 0, 1, fc_scale_1, 0,
       TFL_ACT_RELU},
      {2, 3, 9, TFL_INT16, TFL_INT32, 0, 0.001f, 0.01f, 0, 0, 3, fc_scales_3, 0, TFL_ACT_NONE},
      {2, 3, 9, TFL_INT16, TFL_INT32, TFL_INT32, 0.001f, 0.004f, 0, 0, 1, fc_scale_1, 5,
       TFL_ACT_RELU6},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_quantized(&cases[i], 1000u + (unsigned)i);
}

TEST(quantized_bad_models_are_errors) {
  const int8_t x[3] = {0}, w[6] = {0};
  const int32_t b[2] = {0};
  const float fs[1] = {0.5f}, three[3] = {0.1f, 0.1f, 0.1f};
  ot_result r;
  qfc_case tanh = {1, 2, 3, TFL_INT8, TFL_INT32, 0, 1.0f, 1.0f, 0, 0, 1, fs, 0, TFL_ACT_TANH};
  CHECK_EQ_INT(run_qfc(&tanh, x, w, b, &r), TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "activation") != NULL);
  ot_result_free(&r);
  qfc_case count = {1, 2, 3, TFL_INT8, TFL_INT32, 0, 1.0f, 1.0f, 0, 0, 3, three, 0, 0};
  CHECK_EQ_INT(run_qfc(&count, x, w, b, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "scales") != NULL);
  ot_result_free(&r);
  /* int16 with quantized_bias_type int64 but an int32 bias */
  const int16_t x16[3] = {0};
  qfc_case option = {1, 2, 3, TFL_INT16, TFL_INT32, TFL_INT64, 1.0f, 1.0f, 0, 0, 1, fs, 0, 0};
  CHECK_EQ_INT(run_qfc(&option, x16, w, b, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "quantized_bias_type") != NULL);
  ot_result_free(&r);
}

/* A per-tensor filter: TFLite checks the bias scale against input_scale * filter_scale. */
TEST(quantized_bias_scale_is_checked) {
  const int8_t x[2] = {0}, w[2] = {0};
  const int32_t b[1] = {0};
  const float one[1] = {1.0f}, fs[1] = {0.5f}, bias_scale[1] = {0.25f};
  const int64_t zp[1] = {0};
  int32_t in_dims[2] = {1, 2}, w_dims[2] = {1, 2}, b_dims[1] = {1};
  ot_spec in[3] = {
      {.type = TFL_INT8, .ndim = 2, .dims = in_dims, .data = x, .q_count = 1, .scales = one,
       .zero_points = zp},
      {.type = TFL_INT8, .ndim = 2, .dims = w_dims, .data = w, .constant = 1, .q_count = 1,
       .scales = fs, .zero_points = zp},
      {.type = TFL_INT32, .ndim = 1, .dims = b_dims, .data = b, .constant = 1, .q_count = 1,
       .scales = bias_scale, .zero_points = zp}};
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = one, .zero_points = zp}};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_FULLY_CONNECTED, 1, in, 3, out, 1, 0, NULL, &r),
               TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);
}

/* ---- hybrid path ---------------------------------------------------------------------------
 * The reference quantizes each input row with util/quant_ref (symmetric, or asymmetric with
 * asymmetric_quantize_inputs), sums w * (q - zero_point) in int64 and forms
 * bias + float(acc) * scale in TFLite's order; a float matrix product bounds the error. */

typedef struct hfc_case {
  int32_t batches, units, features;
  int n_scales;
  const float *f_scales;
  int asymmetric;
  int act;
} hfc_case;

static tfl_status run_hfc(const hfc_case *h, const float *x, const int8_t *w, const float *b,
                          ot_result *r) {
  int32_t in_dims[2] = {h->batches, h->features}, w_dims[2] = {h->units, h->features};
  int32_t b_dims[1] = {h->units};
  int64_t *f_zp = calloc((size_t)h->n_scales, sizeof(int64_t));
  ot_spec in[3] = {OT_F32(2, in_dims, x),
                   {.type = TFL_INT8, .ndim = 2, .dims = w_dims, .data = w, .constant = 1,
                    .q_count = h->n_scales, .scales = h->f_scales, .zero_points = f_zp},
                   OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, h->act), MB_BYTE(3, h->asymmetric), MB_FIELDS_END};
  tfl_status st =
      ot_run(TFL_OP_FULLY_CONNECTED, 1, in, 3, out, 1, TFL_OPTS_FULLY_CONNECTED, opt, r);
  free(f_zp);
  return st;
}

static double ref_hybrid_activation(int act, double v) {
  if (act == TFL_ACT_TANH) return tanh(v);
  if (act == TFL_ACT_SIGN_BIT) return signbit(v) ? 1.0 : 0.0;
  return ck_float_activation(act, v);
}

static void check_hybrid(const hfc_case *h, unsigned seed) {
  const size_t n_x = (size_t)h->batches * h->features, n_w = (size_t)h->units * h->features;
  float *x = qr_random_floats(n_x, seed, 3.0f);
  int64_t *w64 = qr_random_ints(n_w, seed + 1, -127, 127);
  int8_t *w = qr_pack(TFL_INT8, w64, n_w);
  float *b = qr_random_floats((size_t)h->units, seed + 2, 1.0f);
  int8_t *q = malloc(n_x);
  ot_result r;
  tfl_status st = run_hfc(h, x, w, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  for (int32_t bt = 0; st == TFL_OK && bt < h->batches && test_failures_in_current == 0; bt++) {
    float scale;
    int32_t zp;
    qr_quantize_row(x + bt * h->features, (size_t)h->features, h->asymmetric,
                    q + bt * h->features, &scale, &zp);
    for (int32_t u = 0; u < h->units; u++) {
      const float fs = h->f_scales[h->n_scales > 1 ? u : 0];
      int64_t acc = 0;
      double exact = b[u], magnitude = 0;
      for (int32_t k = 0; k < h->features; k++) {
        acc += (int64_t)w64[u * h->features + k] * (q[bt * h->features + k] - zp);
        exact += (double)x[bt * h->features + k] * (double)w64[u * h->features + k] * fs;
        magnitude += fabs((double)w64[u * h->features + k] * fs);
      }
      /* per-tensor: (row_scale * filter_scale) first; per-channel: row_scale * scale[u] */
      const float v = b[u] + (float)acc * (scale * fs);
      const double want = ref_hybrid_activation(h->act, v);
      const float got = ot_f32(&r, 0)[bt * h->units + u];
      CHECK_NEAR(got, want, 1e-6 * (1.0 + fabs(want)));
      if (h->act != TFL_ACT_SIGN_BIT)
        CHECK_NEAR(got, ref_hybrid_activation(h->act, exact),
                   0.5 * scale * magnitude * 1.001 + 1e-5);
    }
  }
  ot_result_free(&r);
  free(x);
  free(w64);
  free(w);
  free(b);
  free(q);
}

TEST(hybrid_matches_reference) {
  static const hfc_case cases[] = {
      {1, 5, 8, 1, fc_scale_1, 0, TFL_ACT_NONE},
      {4, 3, 16, 1, fc_scale_1, 1, TFL_ACT_RELU},
      {3, 5, 12, 5, fc_scales_5, 0, TFL_ACT_RELU6},
      {2, 3, 9, 3, fc_scales_3, 1, TFL_ACT_RELU_N1_TO_1},
      {2, 5, 7, 5, fc_scales_5, 1, TFL_ACT_TANH}, /* hybrid runs TANH and SIGN_BIT too */
      {2, 3, 6, 1, fc_scale_1, 0, TFL_ACT_SIGN_BIT},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_hybrid(&cases[i], 1100u + (unsigned)i);
}

/* An all-zero input skips the product: the output is the activation of the bias. */
TEST(hybrid_zero_input_gives_activation_of_bias) {
  const float x[6] = {0}, b[2] = {-0.5f, 7.0f};
  const int8_t w[6] = {1, 2, 3, 4, 5, 6};
  hfc_case h = {2, 2, 3, 1, fc_scale_1, 1, TFL_ACT_RELU6};
  ot_result r;
  REQUIRE(run_hfc(&h, x, w, b, &r) == TFL_OK);
  const float want[4] = {0, 6, 0, 6};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

TEST(hybrid_filter_must_be_symmetric) {
  const float x[3] = {0}, b[1] = {0};
  const int8_t w[3] = {0};
  const float fs[1] = {0.5f};
  const int64_t zp[1] = {3};
  int32_t in_dims[2] = {1, 3}, w_dims[2] = {1, 3}, b_dims[1] = {1};
  ot_spec in[3] = {OT_F32(2, in_dims, x),
                   {.type = TFL_INT8, .ndim = 2, .dims = w_dims, .data = w, .constant = 1,
                    .q_count = 1, .scales = fs, .zero_points = zp},
                   OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_FULLY_CONNECTED, 1, in, 3, out, 1, 0, NULL, &r),
               TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "zero point") != NULL);
  ot_result_free(&r);
}

int main(void) {
  RUN(by_hand_with_each_clamping_activation);
  RUN(matches_reference_over_shapes);
  RUN(bad_models_are_errors);
  RUN(shuffled_weights_format_is_unsupported);
  RUN(weights_rank_and_bias_length_are_checked);
  RUN(no_features_gives_zeros);
  RUN(quantized_int8_filter_zero_point_by_hand);
  RUN(quantized_matches_reference);
  RUN(quantized_bad_models_are_errors);
  RUN(quantized_bias_scale_is_checked);
  RUN(hybrid_matches_reference);
  RUN(hybrid_zero_input_gives_activation_of_bias);
  RUN(hybrid_filter_must_be_symmetric);
  return test_summary();
}
