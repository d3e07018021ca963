/* CONV_2D: hand-computed cases, then many shapes and options against a naive convolution in
 * double written independently below, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

typedef struct conv_cfg {
  int32_t in[4];     /* n, h, w, c */
  int32_t filter[4]; /* out_c, kh, kw, filter_c */
  int has_bias;
  int padding; /* 0 SAME, 1 VALID */
  int stride_h, stride_w, dil_h, dil_w;
  int act;
} conv_cfg;

static size_t count4(const int32_t *d) { return (size_t)d[0] * d[1] * d[2] * d[3]; }

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

/* The fused activation as TFLite's float conv applies it: TANH and SIGN_BIT are ignored. */
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

static int32_t ref_out_size(int padding, int32_t in, int32_t k, int stride, int dil) {
  int32_t eff = (k - 1) * dil + 1;
  if (padding == 0) return (in + stride - 1) / stride;
  return in >= eff ? (in - eff) / stride + 1 : 0;
}

static int32_t ref_pad(int32_t in, int32_t out, int32_t k, int stride, int dil) {
  int32_t total = (out - 1) * stride + (k - 1) * dil + 1 - in;
  return total > 0 ? total / 2 : 0;
}

/* Naive grouped convolution with explicit zero padding. */
static double *ref_conv(const conv_cfg *c, const float *x, const float *w, const float *b,
                        int32_t od[4]) {
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t OC = c->filter[0], KH = c->filter[1], KW = c->filter[2], FC = c->filter[3];
  od[0] = N;
  od[1] = ref_out_size(c->padding, H, KH, c->stride_h, c->dil_h);
  od[2] = ref_out_size(c->padding, W, KW, c->stride_w, c->dil_w);
  od[3] = OC;
  const int32_t pt = ref_pad(H, od[1], KH, c->stride_h, c->dil_h);
  const int32_t pl = ref_pad(W, od[2], KW, c->stride_w, c->dil_w);
  const int32_t groups = C / FC, per_group = OC / groups;
  double *y = calloc(count4(od) + 1, sizeof(double));
  for (int32_t n = 0; n < N; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t oc = 0; oc < OC; oc++) {
          double s = c->has_bias ? b[oc] : 0.0;
          for (int32_t ky = 0; ky < KH; ky++)
            for (int32_t kx = 0; kx < KW; kx++)
              for (int32_t fc = 0; fc < FC; fc++) {
                int32_t iy = oy * c->stride_h - pt + ky * c->dil_h;
                int32_t ix = ox * c->stride_w - pl + kx * c->dil_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                int32_t ic = (oc / per_group) * FC + fc;
                s += (double)x[((n * H + iy) * W + ix) * C + ic] *
                     w[((oc * KH + ky) * KW + kx) * FC + fc];
              }
          y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = ref_activation(c->act, s);
        }
  return y;
}

static tfl_status run_conv(const conv_cfg *c, const float *x, const float *w, const float *b,
                           ot_result *r) {
  ot_spec in[3] = {OT_F32(4, c->in, x), OT_F32_CONST(4, c->filter, w)};
  int32_t bias_dims[1] = {c->filter[0]};
  int n_in = 2;
  if (c->has_bias) in[n_in++] = (ot_spec)OT_F32_CONST(1, bias_dims, b);
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w),  MB_INT(2, c->stride_h),
                    MB_BYTE(3, c->act),     MB_INT(4, c->dil_w),     MB_INT(5, c->dil_h),
                    MB_FIELDS_END};
  return ot_run(TFL_OP_CONV_2D, 1, in, n_in, out, 1, TFL_OPTS_CONV_2D, opt, r);
}

/* Runs the case through the kernel and compares with ref_conv. */
static void check_against_reference(const conv_cfg *c, unsigned seed) {
  float *x = random_floats(count4(c->in), seed, 2.0f);
  float *w = random_floats(count4(c->filter), seed + 1, 1.0f);
  float *b = random_floats((size_t)c->filter[0], seed + 2, 1.0f);
  int32_t od[4];
  double *want = ref_conv(c, x, w, b, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_conv(c, x, w, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].ndim, 4);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(r.out[0].dims[i], od[i]);
    const float *got = ot_f32(&r, 0);
    for (size_t i = 0; i < count4(od) && test_failures_in_current == 0; i++)
      CHECK_NEAR(got[i], want[i], 1e-4 * (1.0 + fabs(want[i])));
  }
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(want);
}

TEST(valid_3x3_input_2x2_filter_by_hand) {
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 1, 1, 1};
  const float b[1] = {1};
  conv_cfg c = {{1, 3, 3, 1}, {1, 2, 2, 1}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, b, &r) == TFL_OK);
  const float want[4] = {13, 17, 25, 29};
  CHECK_EQ_INT(r.out[0].dims[1], 2);
  CHECK_EQ_INT(r.out[0].dims[2], 2);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

/* 4x4 input, 3x3 filter, stride 2, SAME: out 2x2, total padding 1 goes after (bottom/right). */
TEST(same_even_input_pads_after_by_hand) {
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
  float w[9];
  for (int i = 0; i < 9; i++) w[i] = 1.0f;
  conv_cfg c = {{1, 4, 4, 1}, {1, 3, 3, 1}, 0, 0, 2, 2, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, NULL, &r) == TFL_OK);
  const float want[4] = {54, 45, 72, 54};
  CHECK_EQ_INT(r.out[0].dims[1], 2);
  CHECK_EQ_INT(r.out[0].dims[2], 2);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

/* 1x5 input, 1x4 filter, SAME stride 1: total padding 3, one before and two after. */
TEST(same_odd_total_padding_by_hand) {
  const float x[5] = {1, 2, 3, 4, 5};
  const float w[4] = {1, 10, 100, 1000};
  conv_cfg c = {{1, 1, 5, 1}, {1, 1, 4, 1}, 0, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, NULL, &r) == TFL_OK);
  /* window of output 0 covers input -1..2: 0*1 + 1*10 + 2*100 + 3*1000 */
  const float want[5] = {3210, 4321, 5432, 543, 54};
  CHECK_EQ_INT(r.out[0].dims[2], 5);
  for (int i = 0; i < 5; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

/* Dilation 2 on a 1x5 row with a 1x2 filter, VALID: taps at x and x+2. */
TEST(dilation_by_hand) {
  const float x[5] = {1, 2, 3, 4, 5};
  const float w[2] = {1, 10};
  conv_cfg c = {{1, 1, 5, 1}, {1, 1, 2, 1}, 0, 1, 1, 1, 1, 2, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, NULL, &r) == TFL_OK);
  const float want[3] = {31, 42, 53};
  CHECK_EQ_INT(r.out[0].dims[2], 3);
  for (int i = 0; i < 3; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

/* Two groups: output channel 0 sees input channel 0, output channel 1 sees input channel 1. */
TEST(grouped_by_hand) {
  const float x[4] = {1, 2, 3, 4}; /* 1x1x2x2 */
  const float w[2] = {10, 100};    /* [2, 1, 1, 1] */
  conv_cfg c = {{1, 1, 2, 2}, {2, 1, 1, 1}, 0, 1, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, NULL, &r) == TFL_OK);
  const float want[4] = {10, 200, 30, 400};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

TEST(matches_reference_over_shapes_and_options) {
  static const conv_cfg cases[] = {
      {{1, 5, 5, 3}, {4, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
      {{1, 5, 5, 3}, {4, 3, 3, 3}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
      {{2, 6, 7, 2}, {3, 3, 3, 2}, 1, 0, 2, 2, 1, 1, TFL_ACT_NONE},
      {{2, 6, 7, 2}, {3, 3, 3, 2}, 0, 1, 2, 2, 1, 1, TFL_ACT_NONE},
      {{1, 8, 8, 2}, {2, 3, 3, 2}, 1, 0, 1, 1, 2, 2, TFL_ACT_NONE},
      {{1, 9, 8, 2}, {2, 3, 2, 2}, 1, 1, 1, 2, 2, 3, TFL_ACT_NONE},
      {{1, 7, 6, 1}, {2, 4, 2, 1}, 1, 0, 3, 2, 1, 1, TFL_ACT_NONE},
      {{1, 6, 6, 4}, {6, 3, 3, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
      {{3, 4, 5, 6}, {3, 1, 1, 2}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
      {{1, 1, 1, 5}, {7, 1, 1, 5}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
      {{1, 4, 4, 2}, {2, 5, 5, 2}, 1, 0, 2, 1, 1, 1, TFL_ACT_NONE},
      {{2, 10, 3, 3}, {5, 3, 3, 3}, 0, 0, 3, 1, 2, 1, TFL_ACT_NONE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_against_reference(&cases[i], 100u + (unsigned)i);
}

TEST(every_fused_activation) {
  for (int act = TFL_ACT_NONE; act <= TFL_ACT_SIGN_BIT; act++) {
    conv_cfg c = {{2, 5, 4, 3}, {4, 3, 3, 3}, 1, 0, 1, 2, 1, 1, act};
    check_against_reference(&c, 300u + (unsigned)act);
  }
}

TEST(filter_larger_than_input_valid_gives_empty_output) {
  const float x[4] = {1, 2, 3, 4};
  const float w[9] = {0};
  conv_cfg c = {{1, 2, 2, 1}, {1, 3, 3, 1}, 0, 1, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_conv(&c, x, w, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 0);
  ot_result_free(&r);
}

/* Runs a case that must fail and checks the status and that a message came back. */
static void check_fails(const conv_cfg *c, tfl_status expected) {
  float *x = random_floats(count4(c->in), 1, 1.0f);
  float *w = random_floats(count4(c->filter), 2, 1.0f);
  float *b = random_floats((size_t)c->filter[0], 3, 1.0f);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_conv(c, x, w, b, &r);
  CHECK_EQ_INT(st, expected);
  CHECK(r.error[0] != '\0');
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
}

TEST(zero_stride_is_an_error) {
  conv_cfg c = {{1, 4, 4, 1}, {1, 2, 2, 1}, 1, 0, 0, 1, 1, 1, TFL_ACT_NONE};
  check_fails(&c, TFL_INVALID_MODEL);
  c.stride_h = 1;
  c.stride_w = 0;
  check_fails(&c, TFL_INVALID_MODEL);
}

TEST(zero_dilation_is_an_error) {
  conv_cfg c = {{1, 4, 4, 1}, {1, 2, 2, 1}, 1, 0, 1, 1, 0, 1, TFL_ACT_NONE};
  check_fails(&c, TFL_INVALID_MODEL);
}

TEST(channel_mismatch_is_an_error) {
  conv_cfg c = {{1, 4, 4, 3}, {1, 2, 2, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_fails(&c, TFL_ERROR);
  /* two groups but an odd number of output channels */
  conv_cfg g = {{1, 4, 4, 4}, {3, 2, 2, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_fails(&g, TFL_ERROR);
}

TEST(unknown_padding_and_activation_are_errors) {
  conv_cfg c = {{1, 4, 4, 1}, {1, 2, 2, 1}, 1, 2, 1, 1, 1, 1, TFL_ACT_NONE};
  check_fails(&c, TFL_INVALID_MODEL);
  conv_cfg a = {{1, 4, 4, 1}, {1, 2, 2, 1}, 1, 0, 1, 1, 1, 1, 9};
  check_fails(&a, TFL_INVALID_MODEL);
}

TEST(bad_bias_and_rank_are_errors) {
  const float x[16] = {0}, w[4] = {0}, b[3] = {0};
  int32_t in_dims[4] = {1, 4, 4, 1}, w_dims[4] = {1, 2, 2, 1}, b_dims[1] = {3};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;

  ot_spec wrong_bias[3] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, w_dims, w),
                           OT_F32_CONST(1, b_dims, b)};
  CHECK(ot_run(TFL_OP_CONV_2D, 1, wrong_bias, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r) != TFL_OK);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);

  int32_t w3_dims[3] = {1, 2, 2};
  ot_spec rank3[2] = {OT_F32(4, in_dims, x), OT_F32_CONST(3, w3_dims, w)};
  CHECK(ot_run(TFL_OP_CONV_2D, 1, rank3, 2, out, 1, TFL_OPTS_CONV_2D, opt, &r) != TFL_OK);
  CHECK(strstr(r.error, "filter") != NULL);
  ot_result_free(&r);
}

TEST(omitted_bias_input) {
  const float x[4] = {1, 2, 3, 4};
  const float w[1] = {3};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1};
  ot_spec in[3] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, w_dims, w), OT_OMITTED};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, 1), MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], 3.0f * x[i], 0);
  ot_result_free(&r);
}

TEST(missing_options_mean_zero_stride) {
  const float x[4] = {0}, w[1] = {0};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1};
  ot_spec in[2] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, w_dims, w)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 2, out, 1, 0, NULL, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "stride") != NULL);
  ot_result_free(&r);
}

TEST(hybrid_and_quantized_are_unsupported_for_now) {
  const float x[4] = {0};
  const int8_t wq[1] = {1};
  const float scale[1] = {1.0f};
  const int64_t zp[1] = {0};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;

  ot_spec hybrid[2] = {OT_F32(4, in_dims, x), OT_CONST(TFL_INT8, 4, w_dims, wq)};
  hybrid[1].q_count = 1;
  hybrid[1].scales = scale;
  hybrid[1].zero_points = zp;
  ot_spec out_f[1] = {OT_OUT(TFL_FLOAT32)};
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, hybrid, 2, out_f, 1, TFL_OPTS_CONV_2D, opt, &r),
               TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "hybrid") != NULL);
  ot_result_free(&r);

  const int8_t xq[4] = {0};
  ot_spec quant[2] = {OT_IN(TFL_INT8, 4, in_dims, xq), OT_CONST(TFL_INT8, 4, w_dims, wq)};
  for (int i = 0; i < 2; i++) {
    quant[i].q_count = 1;
    quant[i].scales = scale;
    quant[i].zero_points = zp;
  }
  ot_spec out_q[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, quant, 2, out_q, 1, TFL_OPTS_CONV_2D, opt, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

int main(void) {
  RUN(valid_3x3_input_2x2_filter_by_hand);
  RUN(same_even_input_pads_after_by_hand);
  RUN(same_odd_total_padding_by_hand);
  RUN(dilation_by_hand);
  RUN(grouped_by_hand);
  RUN(matches_reference_over_shapes_and_options);
  RUN(every_fused_activation);
  RUN(filter_larger_than_input_valid_gives_empty_output);
  RUN(zero_stride_is_an_error);
  RUN(zero_dilation_is_an_error);
  RUN(channel_mismatch_is_an_error);
  RUN(unknown_padding_and_activation_are_errors);
  RUN(bad_bias_and_rank_are_errors);
  RUN(omitted_bias_input);
  RUN(missing_options_mean_zero_stride);
  RUN(hybrid_and_quantized_are_unsupported_for_now);
  return test_summary();
}
