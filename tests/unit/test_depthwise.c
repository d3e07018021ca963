/* DEPTHWISE_CONV_2D: hand-computed cases, many shapes and options against a naive depthwise
 * convolution in double written independently below, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

typedef struct dw_cfg {
  int32_t in[4];     /* n, h, w, c */
  int32_t filter[4]; /* 1, kh, kw, out_c */
  int has_bias;
  int padding; /* 0 SAME, 1 VALID */
  int stride_h, stride_w, dil_h, dil_w;
  int act;
} dw_cfg;

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

/* The fused activation as TFLite's float kernel applies it: TANH and SIGN_BIT are ignored. */
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

static double *ref_depthwise(const dw_cfg *c, const float *x, const float *w, const float *b,
                             int32_t od[4]) {
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t KH = c->filter[1], KW = c->filter[2], OC = c->filter[3], M = OC / C;
  od[0] = N;
  od[1] = ref_out_size(c->padding, H, KH, c->stride_h, c->dil_h);
  od[2] = ref_out_size(c->padding, W, KW, c->stride_w, c->dil_w);
  od[3] = OC;
  const int32_t pt = ref_pad(H, od[1], KH, c->stride_h, c->dil_h);
  const int32_t pl = ref_pad(W, od[2], KW, c->stride_w, c->dil_w);
  double *y = calloc(count4(od) + 1, sizeof(double));
  for (int32_t n = 0; n < N; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t ic = 0; ic < C; ic++)
          for (int32_t m = 0; m < M; m++) {
            const int32_t oc = ic * M + m;
            double s = c->has_bias ? b[oc] : 0.0;
            for (int32_t ky = 0; ky < KH; ky++)
              for (int32_t kx = 0; kx < KW; kx++) {
                int32_t iy = oy * c->stride_h - pt + ky * c->dil_h;
                int32_t ix = ox * c->stride_w - pl + kx * c->dil_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += (double)x[((n * H + iy) * W + ix) * C + ic] * w[(ky * KW + kx) * OC + oc];
              }
            y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = ref_activation(c->act, s);
          }
  return y;
}

static tfl_status run_dw(const dw_cfg *c, const float *x, const float *w, const float *b,
                         ot_result *r) {
  ot_spec in[3] = {OT_F32(4, c->in, x), OT_F32_CONST(4, c->filter, w)};
  int32_t bias_dims[1] = {c->filter[3]};
  int n_in = 2;
  if (c->has_bias) in[n_in++] = (ot_spec)OT_F32_CONST(1, bias_dims, b);
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  /* depth_multiplier (field 3) is deliberately wrong: newer TFLite ignores it. */
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w), MB_INT(2, c->stride_h),
                    MB_INT(3, 7),           MB_BYTE(4, c->act),     MB_INT(5, c->dil_w),
                    MB_INT(6, c->dil_h),    MB_FIELDS_END};
  return ot_run(TFL_OP_DEPTHWISE_CONV_2D, 2, in, n_in, out, 1, TFL_OPTS_DEPTHWISE_CONV_2D, opt,
                r);
}

static void check_against_reference(const dw_cfg *c, unsigned seed) {
  float *x = random_floats(count4(c->in), seed, 2.0f);
  float *w = random_floats(count4(c->filter), seed + 1, 1.0f);
  float *b = random_floats((size_t)c->filter[3], seed + 2, 1.0f);
  int32_t od[4];
  double *want = ref_depthwise(c, x, w, b, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_dw(c, x, w, b, &r);
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

/* Multiplier 2: output channel ic * 2 + m uses input channel ic and filter channel ic * 2 + m. */
TEST(depth_multiplier_2_by_hand) {
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* 1x2x2x2 */
  const float w[4] = {1, 10, 100, 1000};       /* 1x1x1x4 */
  const float b[4] = {0.5f, 0, 0, -1};
  dw_cfg c = {{1, 2, 2, 2}, {1, 1, 1, 4}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_dw(&c, x, w, b, &r) == TFL_OK);
  const float want[16] = {1.5f, 10, 200, 1999, 3.5f, 30, 400, 3999,
                          5.5f, 50, 600, 5999, 7.5f, 70, 800, 7999};
  CHECK_EQ_INT(r.out[0].dims[3], 4);
  for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

/* 3x3 input, 2x2 filter, SAME stride 1: the one padding row/column goes after. */
TEST(same_pads_after_by_hand) {
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 2, 3, 4};
  dw_cfg c = {{1, 3, 3, 1}, {1, 2, 2, 1}, 0, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_dw(&c, x, w, NULL, &r) == TFL_OK);
  const float want[9] = {37, 47, 21, 67, 77, 33, 23, 26, 9};
  for (int i = 0; i < 9; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

TEST(matches_reference_over_shapes_and_options) {
  static const dw_cfg cases[] = {
      {{1, 5, 5, 3}, {1, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
      {{1, 5, 5, 3}, {1, 3, 3, 3}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
      {{2, 6, 7, 2}, {1, 3, 3, 4}, 1, 0, 2, 2, 1, 1, TFL_ACT_NONE},
      {{2, 6, 7, 2}, {1, 3, 3, 6}, 0, 1, 2, 1, 1, 1, TFL_ACT_NONE},
      {{1, 8, 8, 4}, {1, 3, 3, 8}, 1, 0, 1, 1, 2, 2, TFL_ACT_NONE},
      {{1, 9, 8, 2}, {1, 3, 2, 2}, 1, 1, 1, 2, 2, 3, TFL_ACT_NONE},
      {{3, 7, 6, 1}, {1, 4, 2, 3}, 1, 0, 3, 2, 1, 1, TFL_ACT_NONE},
      {{1, 4, 4, 2}, {1, 5, 5, 2}, 1, 0, 2, 1, 1, 1, TFL_ACT_NONE},
      {{2, 10, 3, 5}, {1, 3, 3, 5}, 0, 0, 3, 1, 2, 1, TFL_ACT_NONE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_against_reference(&cases[i], 100u + (unsigned)i);
}

TEST(every_fused_activation) {
  for (int act = TFL_ACT_NONE; act <= TFL_ACT_SIGN_BIT; act++) {
    dw_cfg c = {{2, 5, 4, 3}, {1, 3, 3, 6}, 1, 0, 1, 2, 1, 1, act};
    check_against_reference(&c, 300u + (unsigned)act);
  }
}

static void check_fails(const dw_cfg *c) {
  float *x = random_floats(count4(c->in), 1, 1.0f);
  float *w = random_floats(count4(c->filter), 2, 1.0f);
  float *b = random_floats((size_t)c->filter[3], 3, 1.0f);
  ot_result r;
  memset(&r, 0, sizeof(r));
  CHECK(run_dw(c, x, w, b, &r) != TFL_OK);
  CHECK(r.error[0] != '\0');
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
}

TEST(bad_models_are_errors) {
  const dw_cfg zero_stride = {{1, 4, 4, 2}, {1, 2, 2, 2}, 1, 0, 1, 0, 1, 1, TFL_ACT_NONE};
  const dw_cfg zero_dilation = {{1, 4, 4, 2}, {1, 2, 2, 2}, 1, 0, 1, 1, 0, 1, TFL_ACT_NONE};
  const dw_cfg not_multiple = {{1, 4, 4, 2}, {1, 2, 2, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  const dw_cfg filter_batch = {{1, 4, 4, 2}, {2, 2, 2, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  const dw_cfg zero_channels = {{1, 4, 4, 0}, {1, 2, 2, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_fails(&zero_stride);
  check_fails(&zero_dilation);
  check_fails(&not_multiple);
  check_fails(&filter_batch);
  check_fails(&zero_channels);
}

TEST(wrong_bias_length_is_an_error) {
  const float x[8] = {0}, w[8] = {0}, b[3] = {0};
  int32_t in_dims[4] = {1, 2, 2, 2}, w_dims[4] = {1, 2, 2, 2}, b_dims[1] = {3};
  ot_spec in[3] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, w_dims, w), OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  CHECK(ot_run(TFL_OP_DEPTHWISE_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_DEPTHWISE_CONV_2D, opt,
               &r) != TFL_OK);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);
}

TEST(omitted_bias_input) {
  const float x[4] = {1, 2, 3, 4};
  const float w[2] = {2, -1};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 2};
  ot_spec in[3] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, w_dims, w), OT_OMITTED};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, 1), MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_DEPTHWISE_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_DEPTHWISE_CONV_2D, opt,
                 &r) == TFL_OK);
  for (int i = 0; i < 4; i++) {
    CHECK_NEAR(ot_f32(&r, 0)[2 * i], 2.0f * x[i], 0);
    CHECK_NEAR(ot_f32(&r, 0)[2 * i + 1], -x[i], 0);
  }
  ot_result_free(&r);
}

TEST(quantized_is_unsupported_for_now) {
  const int8_t xq[4] = {0}, wq[1] = {1};
  const float scale[1] = {1.0f};
  const int64_t zp[1] = {0};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1};
  ot_spec in[2] = {OT_IN(TFL_INT8, 4, in_dims, xq), OT_CONST(TFL_INT8, 4, w_dims, wq)};
  for (int i = 0; i < 2; i++) {
    in[i].q_count = 1;
    in[i].scales = scale;
    in[i].zero_points = zp;
  }
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_DEPTHWISE_CONV_2D, 1, in, 2, out, 1, TFL_OPTS_DEPTHWISE_CONV_2D,
                      opt, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

int main(void) {
  RUN(depth_multiplier_2_by_hand);
  RUN(same_pads_after_by_hand);
  RUN(matches_reference_over_shapes_and_options);
  RUN(every_fused_activation);
  RUN(bad_models_are_errors);
  RUN(wrong_bias_length_is_an_error);
  RUN(omitted_bias_input);
  RUN(quantized_is_unsupported_for_now);
  return test_summary();
}
