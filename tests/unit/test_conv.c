/* CONV_2D: hand-computed cases, then many shapes and options against a naive convolution in
 * double written independently below, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

typedef struct conv_cfg {
  int32_t in[4];     /* n, h, w, c */
  int32_t filter[4]; /* out_c, kh, kw, filter_c */
  int has_bias;
  int padding; /* 0 SAME, 1 VALID */
  int stride_h, stride_w, dil_h, dil_w;
  int act;
} conv_cfg;

/* The output shape of a case, and its top and left padding. */
static void geometry(const conv_cfg *c, int32_t od[4], int32_t *pt, int32_t *pl) {
  od[0] = c->in[0];
  od[1] = ck_window_out_size(c->padding, c->in[1], c->filter[1], c->stride_h, c->dil_h);
  od[2] = ck_window_out_size(c->padding, c->in[2], c->filter[2], c->stride_w, c->dil_w);
  od[3] = c->filter[0];
  *pt = ck_window_pad(c->in[1], od[1], c->filter[1], c->stride_h, c->dil_h);
  *pl = ck_window_pad(c->in[2], od[2], c->filter[2], c->stride_w, c->dil_w);
}

/* Naive grouped convolution with explicit zero padding. */
static double *ref_conv(const conv_cfg *c, const float *x, const float *w, const float *b,
                        int32_t od[4]) {
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t OC = c->filter[0], KH = c->filter[1], KW = c->filter[2], FC = c->filter[3];
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  const int32_t groups = C / FC, per_group = OC / groups;
  double *y = calloc(ck_count(4, od) + 1, sizeof(double));
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
          y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = ck_float_activation(c->act, s);
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
  float *x = qr_random_floats(ck_count(4, c->in), seed, 2.0f);
  float *w = qr_random_floats(ck_count(4, c->filter), seed + 1, 1.0f);
  float *b = qr_random_floats((size_t)c->filter[0], seed + 2, 1.0f);
  int32_t od[4];
  double *want = ref_conv(c, x, w, b, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_conv(c, x, w, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) ck_f32_output(&r, 0, 4, od, want, 1e-4);
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
  float *x = qr_random_floats(ck_count(4, c->in), 1, 1.0f);
  float *w = qr_random_floats(ck_count(4, c->filter), 2, 1.0f);
  float *b = qr_random_floats((size_t)c->filter[0], 3, 1.0f);
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

/* ---- quantized path -----------------------------------------------------------------------
 * Expected codes come from a naive convolution with int64 accumulation written here and
 * TFLite's requantization computed with quant.h's helpers (tested on their own against exact
 * arithmetic in test_quant): uint8 uses the double-rounding multiplier of input_scale *
 * filter_scale multiplied in float; int8/int16 multiply the scales in double and, without
 * groups, break the final shift's ties upward (TFLite's x86 build runs them through ruy);
 * int16 with an int64 bias uses the 64-bit form. */

typedef struct qconv_case {
  conv_cfg c;
  tfl_type type; /* input and output: TFL_UINT8, TFL_INT8 or TFL_INT16 */
  float in_scale, out_scale;
  int32_t in_zp, out_zp;
  int n_scales; /* filter scales: 1 or out_c */
  const float *f_scales;
  int32_t f_zp;        /* uint8 filters */
  tfl_type bias_type;  /* TFL_INT32 or TFL_INT64 */
} qconv_case;

static tfl_type filter_type_of(tfl_type t) { return t == TFL_UINT8 ? TFL_UINT8 : TFL_INT8; }

static int32_t ref_requantize(const qconv_case *q, int32_t oc, int64_t acc) {
  const float fs = q->f_scales[q->n_scales > 1 ? oc : 0];
  const int groups = q->c.in[3] / q->c.filter[3];
  const double real = q->type == TFL_UINT8 ? (double)(q->in_scale * fs) / q->out_scale
                                           : (double)q->in_scale * fs / q->out_scale;
  /* Without a bias (and quantized_bias_type unset) TFLite takes the int64 kernel too. */
  const qr_requant form = q->type == TFL_INT16 && (q->bias_type == TFL_INT64 || !q->c.has_bias)
                              ? QR_WIDE
                          : q->type != TFL_UINT8 && groups == 1 ? QR_RUY
                                                                : QR_DOUBLE;
  int64_t lo, hi;
  qr_act_range(q->c.act, q->type, q->out_scale, q->out_zp, &lo, &hi);
  return (int32_t)qr_requantize(form, acc, real, q->out_zp, lo, hi);
}

/* Naive grouped convolution of codes, accumulating (x - in_zp) * (w - f_zp) in int64. */
static int64_t *ref_qconv_acc(const qconv_case *q, const int64_t *x, const int64_t *w,
                              const int64_t *b, int32_t od[4]) {
  const conv_cfg *c = &q->c;
  const int32_t H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t OC = c->filter[0], KH = c->filter[1], KW = c->filter[2], FC = c->filter[3];
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  const int32_t per_group = OC / (C / FC);
  int64_t *y = calloc(ck_count(4, od) + 1, sizeof(int64_t));
  for (int32_t n = 0; n < od[0]; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t oc = 0; oc < OC; oc++) {
          int64_t s = b ? b[oc] : 0;
          for (int32_t ky = 0; ky < KH; ky++)
            for (int32_t kx = 0; kx < KW; kx++)
              for (int32_t fc = 0; fc < FC; fc++) {
                int32_t iy = oy * c->stride_h - pt + ky * c->dil_h;
                int32_t ix = ox * c->stride_w - pl + kx * c->dil_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                int32_t ic = (oc / per_group) * FC + fc;
                s += (x[((n * H + iy) * W + ix) * C + ic] - q->in_zp) *
                     (w[((oc * KH + ky) * KW + kx) * FC + fc] - q->f_zp);
              }
          y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = s;
        }
  return y;
}

typedef struct qconv_data {
  void *x, *w, *b; /* tensor buffers; b may be NULL */
} qconv_data;

static tfl_status run_qconv(const qconv_case *q, const qconv_data *data, ot_result *r) {
  const conv_cfg *c = &q->c;
  const int32_t oc = c->filter[0];
  int64_t in_zp[1] = {q->in_zp}, out_zp[1] = {q->out_zp};
  int64_t *f_zp = calloc((size_t)q->n_scales, sizeof(int64_t));
  int64_t *b_zp = calloc((size_t)oc, sizeof(int64_t));
  float *b_scales = malloc((size_t)oc * sizeof(float));
  for (int i = 0; i < q->n_scales; i++) f_zp[i] = q->f_zp;
  for (int32_t i = 0; i < oc; i++)
    b_scales[i] = q->in_scale * q->f_scales[q->n_scales > 1 ? i : 0];
  int32_t bias_dims[1] = {oc};
  ot_spec in[3] = {
      {.type = q->type, .ndim = 4, .dims = c->in, .data = data->x, .q_count = 1,
       .scales = &q->in_scale, .zero_points = in_zp},
      {.type = filter_type_of(q->type), .ndim = 4, .dims = c->filter, .data = data->w,
       .constant = 1, .q_count = q->n_scales, .scales = q->f_scales, .zero_points = f_zp},
      {.type = q->bias_type, .ndim = 1, .dims = bias_dims, .data = data->b, .constant = 1,
       .q_count = oc, .scales = b_scales, .zero_points = b_zp}};
  ot_spec out[1] = {
      {.type = q->type, .q_count = 1, .scales = &q->out_scale, .zero_points = out_zp}};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w),  MB_INT(2, c->stride_h),
                    MB_BYTE(3, c->act),     MB_INT(4, c->dil_w),     MB_INT(5, c->dil_h),
                    MB_FIELDS_END};
  tfl_status st = ot_run(TFL_OP_CONV_2D, 1, in, data->b ? 3 : 2, out, 1, TFL_OPTS_CONV_2D, opt,
                         r);
  free(f_zp);
  free(b_zp);
  free(b_scales);
  return st;
}

/* Random codes over the full ranges (bias within +-bias_range) against the naive reference. */
static void check_quantized(const qconv_case *q, unsigned seed, int64_t bias_range) {
  const conv_cfg *c = &q->c;
  int64_t lo, hi;
  qr_type_range(q->type, &lo, &hi);
  int64_t *x = qr_random_ints(ck_count(4, c->in), seed, lo, hi);
  int64_t *w = q->type == TFL_UINT8 ? qr_random_ints(ck_count(4, c->filter), seed + 1, 0, 255)
                                    : qr_random_ints(ck_count(4, c->filter), seed + 1, -127, 127);
  int64_t *b = qr_random_ints((size_t)c->filter[0], seed + 2, -bias_range, bias_range);
  qconv_data data = {qr_pack(q->type, x, ck_count(4, c->in)),
                     qr_pack(filter_type_of(q->type), w, ck_count(4, c->filter)),
                     c->has_bias ? qr_pack(q->bias_type, b, (size_t)c->filter[0]) : NULL};
  int32_t od[4];
  int64_t *acc = ref_qconv_acc(q, x, w, c->has_bias ? b : NULL, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_qconv(q, &data, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(r.out[0].dims[i], od[i]);
    for (size_t i = 0; i < ck_count(4, od) && test_failures_in_current == 0; i++) {
      const int32_t want = ref_requantize(q, (int32_t)(i % (size_t)od[3]), acc[i]);
      if (qr_code_at(q->type, r.out[0].data, i) != want)
        test_fail(__FILE__, __LINE__, "seed %u element %zu: got %lld, want %d", seed, i,
                  (long long)qr_code_at(q->type, r.out[0].data, i), (int)want);
    }
  }
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(data.x);
  free(data.w);
  free(data.b);
  free(acc);
}

/* Input zp 128 and scale 0.5: codes {130, 126, 132} are {1, -1, 2}. Filter zp 0, scale 1:
 * {3, 1}. VALID 1x2 windows: 1*3 - 1*1 = 2 and -1*3 + 2*1 = -1. Bias 2 at scale 0.5 adds 1,
 * so reals {3, 0}; output scale 0.25, zp 0: codes {12, 0}. */
TEST(quantized_uint8_by_hand) {
  const uint8_t x[3] = {130, 126, 132}, w[2] = {3, 1};
  const int32_t b[1] = {2};
  const float fs[1] = {1.0f};
  qconv_case q = {{{1, 1, 3, 1}, {1, 1, 2, 1}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
                  TFL_UINT8, 0.5f, 0.25f, 128, 0, 1, fs, 0, TFL_INT32};
  qconv_data data = {(void *)x, (void *)w, (void *)b};
  ot_result r;
  REQUIRE(run_qconv(&q, &data, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[2], 2);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 12);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 0);
  ot_result_free(&r);
}

/* A uint8 filter with zero point 255 (so real = code - 255 <= 0) and fused RELU6: output
 * scale 0.1, zp 10 puts 0.0 at code 10 and 6.0 at code 70. Input zp 0, scale 1: pixel 0 is
 * {2, 3}, pixel 1 is {0, 0}; filter codes {254, 250} are {-1, -5}; so the sums are -17 and 0,
 * plus the bias. */
TEST(quantized_uint8_filter_zero_point_255_relu6_by_hand) {
  const uint8_t x[4] = {2, 3, 0, 0}, w[2] = {254, 250};
  const int32_t b[1] = {40};
  const float fs[1] = {1.0f};
  qconv_case q = {{{1, 1, 2, 2}, {1, 1, 1, 2}, 1, 1, 1, 1, 1, 1, TFL_ACT_RELU6},
                  TFL_UINT8, 1.0f, 0.1f, 0, 10, 1, fs, 255, TFL_INT32};
  qconv_data data = {(void *)x, (void *)w, (void *)b};
  ot_result r;
  REQUIRE(run_qconv(&q, &data, &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 70); /* 23 -> clamped to 6.0 */
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 70); /* 40 -> 6.0 */
  ot_result_free(&r);
  const int32_t b2[1] = {20};
  data.b = (void *)b2;
  REQUIRE(run_qconv(&q, &data, &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 40); /* 3 -> code 30 + 10 */
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 70); /* 20 -> 6.0 */
  ot_result_free(&r);
  const int32_t b3[1] = {0};
  data.b = (void *)b3;
  REQUIRE(run_qconv(&q, &data, &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 10); /* -17 -> clamped to 0.0 */
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 10); /* 0 */
  ot_result_free(&r);
}

/* Real multiplier 0.25 on accumulators +-6 lands on ties of +-1.5: the uint8 path's shift
 * sends -1.5 away from zero to -2, the int8 GEMM path's (ruy) up to -1; both send 1.5 to 2. */
TEST(quantized_rounding_ties_by_hand) {
  const float fs[1] = {0.25f};
  const int32_t b[1] = {0};
  const uint8_t xu[2] = {122, 134}, wu[1] = {1}; /* input zp 128: -6, 6 */
  qconv_case qu = {{{1, 1, 2, 1}, {1, 1, 1, 1}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
                   TFL_UINT8, 1.0f, 1.0f, 128, 128, 1, fs, 0, TFL_INT32};
  qconv_data du = {(void *)xu, (void *)wu, (void *)b};
  ot_result r;
  REQUIRE(run_qconv(&qu, &du, &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 128 - 2);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 128 + 2);
  ot_result_free(&r);

  const int8_t xs[2] = {-6, 6}, ws[1] = {1};
  qconv_case qs = qu;
  qs.type = TFL_INT8;
  qs.in_zp = qs.out_zp = 0;
  qconv_data ds = {(void *)xs, (void *)ws, (void *)b};
  REQUIRE(run_qconv(&qs, &ds, &r) == TFL_OK);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[0], -1);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[1], 2);
  ot_result_free(&r);
}

static const float scales_2[2] = {0.5f, 0.002f};
static const float scales_3[3] = {0.02f, 0.0003f, 0.7f};
static const float scales_4[4] = {1e-4f, 0.01f, 0.3f, 3e-3f};
static const float scales_6[6] = {0.01f, 0.002f, 0.05f, 1e-4f, 0.03f, 0.008f};
static const float scale_1[1] = {0.004f};

TEST(quantized_matches_reference) {
  static const qconv_case cases[] = {
      /* uint8 with zero points at the ends of the range, SAME and VALID, strides, dilation */
      {{{1, 5, 5, 3}, {4, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_UINT8, 0.02f, 0.1f, 0, 255, 1, scale_1, 255, TFL_INT32},
      {{{2, 6, 7, 2}, {3, 3, 3, 2}, 1, 0, 2, 2, 1, 1, TFL_ACT_RELU},
       TFL_UINT8, 0.05f, 0.2f, 255, 0, 1, scale_1, 0, TFL_INT32},
      {{{1, 8, 8, 2}, {2, 3, 3, 2}, 1, 1, 1, 1, 2, 2, TFL_ACT_RELU6},
       TFL_UINT8, 0.03f, 0.05f, 128, 3, 1, scale_1, 140, TFL_INT32},
      {{{1, 7, 6, 3}, {5, 2, 4, 3}, 0, 0, 3, 2, 1, 1, TFL_ACT_RELU_N1_TO_1},
       TFL_UINT8, 0.01f, 0.01f, 10, 128, 1, scale_1, 77, TFL_INT32},
      /* int8 per-channel with scales orders of magnitude apart, zero points at the ends */
      {{{1, 5, 5, 3}, {4, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_INT8, 0.02f, 0.05f, -128, 127, 4, scales_4, 0, TFL_INT32},
      {{{2, 6, 7, 2}, {3, 3, 3, 2}, 1, 0, 2, 2, 1, 1, TFL_ACT_RELU6},
       TFL_INT8, 0.05f, 0.02f, 127, -128, 3, scales_3, 0, TFL_INT32},
      {{{1, 9, 8, 2}, {2, 3, 2, 2}, 1, 1, 1, 2, 2, 3, TFL_ACT_RELU},
       TFL_INT8, 0.1f, 0.3f, 3, -5, 2, scales_2, 0, TFL_INT32},
      {{{1, 6, 6, 4}, {6, 3, 3, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE}, /* two groups */
       TFL_INT8, 0.02f, 0.01f, -3, 7, 6, scales_6, 0, TFL_INT32},
      {{{3, 4, 5, 6}, {3, 1, 1, 2}, 0, 1, 1, 1, 1, 1, TFL_ACT_NONE}, /* three groups */
       TFL_INT8, 0.02f, 0.001f, 0, 0, 1, scale_1, 0, TFL_INT32},
      {{{1, 1, 1, 5}, {4, 1, 1, 5}, 1, 0, 1, 1, 1, 1, TFL_ACT_RELU_N1_TO_1},
       TFL_INT8, 0.5f, 0.01f, 0, 0, 4, scales_4, 0, TFL_INT32},
      /* int16 activations: int64 and int32 biases */
      {{{1, 5, 5, 3}, {4, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_INT16, 0.001f, 0.002f, 0, 0, 4, scales_4, 0, TFL_INT64},
      {{{2, 6, 7, 2}, {3, 3, 3, 2}, 1, 0, 2, 2, 2, 1, TFL_ACT_RELU6},
       TFL_INT16, 0.0005f, 0.0003f, 0, 0, 3, scales_3, 0, TFL_INT64},
      {{{1, 6, 6, 4}, {6, 3, 3, 2}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE}, /* groups, int32 bias */
       TFL_INT16, 0.001f, 0.01f, 0, 0, 6, scales_6, 0, TFL_INT32},
      {{{1, 5, 5, 3}, {4, 3, 3, 3}, 0, 0, 1, 1, 1, 1, TFL_ACT_RELU},
       TFL_INT16, 0.001f, 0.002f, 0, 0, 4, scales_4, 0, TFL_INT32},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const int64_t bias_range = cases[i].type == TFL_INT16 ? 2000000 : 20000;
    check_quantized(&cases[i], 500u + (unsigned)i, bias_range);
  }
}

/* Runs a quantized case that must be refused and checks the message mentions `what`. */
static void check_quantized_fails(const qconv_case *q, const char *what) {
  const conv_cfg *c = &q->c;
  int64_t *x = qr_random_ints(ck_count(4, c->in), 1, 0, 1);
  int64_t *w = qr_random_ints(ck_count(4, c->filter), 2, 0, 1);
  int64_t *b = qr_random_ints((size_t)c->filter[0], 3, 0, 1);
  qconv_data data = {qr_pack(q->type, x, ck_count(4, c->in)),
                     qr_pack(filter_type_of(q->type), w, ck_count(4, c->filter)),
                     qr_pack(q->bias_type, b, (size_t)c->filter[0])};
  ot_result r;
  memset(&r, 0, sizeof(r));
  CHECK(run_qconv(q, &data, &r) != TFL_OK);
  if (!strstr(r.error, what)) test_fail(__FILE__, __LINE__, "'%s' lacks '%s'", r.error, what);
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(data.x);
  free(data.w);
  free(data.b);
}

TEST(quantized_bad_models_are_errors) {
  const conv_cfg c = {{1, 3, 3, 2}, {2, 1, 1, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  const float three[3] = {0.1f, 0.1f, 0.1f};
  qconv_case per_channel_count = {c, TFL_INT8, 0.1f, 0.1f, 0, 0, 3, three, 0, TFL_INT32};
  check_quantized_fails(&per_channel_count, "scales");
  qconv_case filter_zp = {c, TFL_INT8, 0.1f, 0.1f, 0, 0, 1, scale_1, 3, TFL_INT32};
  check_quantized_fails(&filter_zp, "zero point");
  qconv_case int16_zp = {c, TFL_INT16, 0.1f, 0.1f, 5, 0, 1, scale_1, 0, TFL_INT64};
  check_quantized_fails(&int16_zp, "zero point");
  qconv_case zero_scale = {c, TFL_INT8, 0.0f, 0.1f, 0, 0, 1, scale_1, 0, TFL_INT32};
  check_quantized_fails(&zero_scale, "scale");
  qconv_case bias64 = {c, TFL_INT8, 0.1f, 0.1f, 0, 0, 1, scale_1, 0, TFL_INT64};
  check_quantized_fails(&bias64, "bias");
  qconv_case per_channel_uint8 = {c, TFL_UINT8, 0.1f, 0.1f, 0, 0, 2, scales_2, 0, TFL_INT32};
  check_quantized_fails(&per_channel_uint8, "per-channel");
}

/* uint8 requires bias_scale ~= input_scale * filter_scale, as TFLite does. */
TEST(quantized_uint8_bias_scale_is_checked) {
  const uint8_t x[1] = {1}, w[1] = {1};
  const int32_t b[1] = {0};
  const float fs[1] = {0.5f}, wrong_bias_scale[1] = {1.0f};
  const int64_t zp[1] = {0};
  int32_t dims[4] = {1, 1, 1, 1}, bias_dims[1] = {1};
  const float in_scale[1] = {0.5f};
  ot_spec in[3] = {
      {.type = TFL_UINT8, .ndim = 4, .dims = dims, .data = x, .q_count = 1, .scales = in_scale,
       .zero_points = zp},
      {.type = TFL_UINT8, .ndim = 4, .dims = dims, .data = w, .constant = 1, .q_count = 1,
       .scales = fs, .zero_points = zp},
      {.type = TFL_INT32, .ndim = 1, .dims = bias_dims, .data = b, .constant = 1, .q_count = 1,
       .scales = wrong_bias_scale, .zero_points = zp}};
  ot_spec out[1] = {{.type = TFL_UINT8, .q_count = 1, .scales = in_scale, .zero_points = zp}};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r),
               TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);
}

/* Per-channel bias scales must match input_scale * filter_scale[c] (within 0.02 output steps);
 * an int16 conv's bias must agree with quantized_bias_type (option field 6). */
TEST(quantized_bias_scale_and_type_are_checked) {
  const int8_t x[2] = {0}, w[2] = {0};
  const int32_t b32[2] = {0};
  const int64_t b64[2] = {0};
  const float one[1] = {1.0f}, fs[2] = {0.5f, 0.25f}, bad_scales[2] = {0.5f, 0.5f};
  const int64_t zp[2] = {0, 0};
  int32_t in_dims[4] = {1, 1, 1, 1}, w_dims[4] = {2, 1, 1, 1}, b_dims[1] = {2};
  ot_spec in[3] = {
      {.type = TFL_INT8, .ndim = 4, .dims = in_dims, .data = x, .q_count = 1, .scales = one,
       .zero_points = zp},
      {.type = TFL_INT8, .ndim = 4, .dims = w_dims, .data = w, .constant = 1, .q_count = 2,
       .scales = fs, .zero_points = zp},
      {.type = TFL_INT32, .ndim = 1, .dims = b_dims, .data = b32, .constant = 1, .q_count = 2,
       .scales = bad_scales, .zero_points = zp}};
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = one, .zero_points = zp}};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r),
               TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "channel 1") != NULL);
  ot_result_free(&r);

  const int16_t x16[1] = {0};
  in[0].type = out[0].type = TFL_INT16;
  in[0].data = x16;
  in[2].type = TFL_INT64;
  in[2].data = b64;
  in[2].scales = fs;
  mb_field opt32[] = {MB_INT(1, 1), MB_INT(2, 1), MB_BYTE(6, TFL_INT32), MB_FIELDS_END};
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt32, &r),
               TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "quantized_bias_type") != NULL);
  ot_result_free(&r);
  mb_field opt64[] = {MB_INT(1, 1), MB_INT(2, 1), MB_BYTE(6, TFL_INT64), MB_FIELDS_END};
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt64, &r), TFL_OK);
  ot_result_free(&r);
}

/* ---- hybrid path ---------------------------------------------------------------------------
 * The reference quantizes each image the way TFLite's tensor_utils does (written out here),
 * accumulates in int64 and rescales in TFLite's float order; it must agree to ~1e-6. A second
 * check against the float convolution bounds the error by half an input step times the sum of
 * the weights' magnitudes. */

static void check_hybrid(const conv_cfg *c, int n_scales, const float *f_scales, unsigned seed) {
  const size_t n_in = ck_count(4, c->in), n_w = ck_count(4, c->filter);
  const int32_t OC = c->filter[0];
  float *x = qr_random_floats(n_in, seed, 3.0f);
  int64_t *w64 = qr_random_ints(n_w, seed + 1, -127, 127);
  int8_t *w = qr_pack(TFL_INT8, w64, n_w);
  float *b = qr_random_floats((size_t)OC, seed + 2, 1.0f);
  float *wf = malloc(n_w * sizeof(float));
  const size_t per_filter = n_w / (size_t)OC;
  for (size_t i = 0; i < n_w; i++) wf[i] = (float)w64[i] * f_scales[n_scales > 1 ? i / per_filter : 0];
  int uniform = 1;
  for (int i = 1; i < n_scales; i++) uniform &= f_scales[i] == f_scales[0];
  const int asymmetric = !uniform || c->in[3] != c->filter[3];

  /* The reference on quantized codes: reuse the integer convolution with input zp per image. */
  const size_t image = n_in / (size_t)c->in[0];
  int8_t *xq = malloc(n_in);
  float *img_scale = malloc((size_t)c->in[0] * sizeof(float));
  int32_t *img_zp = malloc((size_t)c->in[0] * sizeof(int32_t));
  for (int32_t n = 0; n < c->in[0]; n++)
    qr_quantize_row(x + n * image, image, asymmetric, xq + n * image, &img_scale[n],
                       &img_zp[n]);
  int32_t od[4];
  double *want_float = ref_conv(c, x, wf, b, od);
  const size_t per_image_out = ck_count(4, od) / (size_t)od[0];

  int64_t *f_zp = calloc((size_t)n_scales, sizeof(int64_t));
  int32_t bias_dims[1] = {OC};
  ot_spec in[3] = {OT_F32(4, c->in, x),
                   {.type = TFL_INT8, .ndim = 4, .dims = c->filter, .data = w, .constant = 1,
                    .q_count = n_scales, .scales = f_scales, .zero_points = f_zp},
                   OT_F32_CONST(1, bias_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w),  MB_INT(2, c->stride_h),
                    MB_BYTE(3, c->act),     MB_INT(4, c->dil_w),     MB_INT(5, c->dil_h),
                    MB_FIELDS_END};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    const float *got = ot_f32(&r, 0);
    for (int32_t n = 0; n < c->in[0] && test_failures_in_current == 0; n++) {
      /* one image at a time through the integer reference, with this image's zero point */
      int64_t *xi = malloc(image * sizeof(int64_t));
      for (size_t i = 0; i < image; i++) xi[i] = xq[n * image + i];
      qconv_case qc = {*c, TFL_INT8, 1, 1, img_zp[n], 0, 1, f_scales, 0, TFL_INT32};
      qc.c.in[0] = 1;
      int32_t od1[4];
      int64_t *acc = ref_qconv_acc(&qc, xi, w64, NULL, od1);
      for (size_t i = 0; i < per_image_out; i++) {
        const int32_t oc = (int32_t)(i % (size_t)OC);
        const float fs = f_scales[n_scales > 1 ? oc : 0];
        float v = asymmetric ? (float)acc[i] * (fs * img_scale[n])
                             : (float)acc[i] * (img_scale[n] * fs);
        v = (float)ck_float_activation(c->act, v + b[oc]);
        const float g = got[n * per_image_out + i];
        CHECK_NEAR(g, v, 1e-6 * (1.0 + fabs(v)));
        /* quantization error: half a step of the input and of the weights, summed over taps */
        /* each input is off by at most half a step: the error is bounded by the weights */
        double bound = 0;
        for (size_t k = 0; k < per_filter; k++) bound += fabs(wf[(size_t)oc * per_filter + k]);
        bound = 0.5 * img_scale[n] * bound * 1.001 + 1e-5;
        CHECK_NEAR(g, want_float[n * per_image_out + i], bound);
      }
      free(acc);
      free(xi);
    }
  }
  ot_result_free(&r);
  free(x);
  free(w64);
  free(w);
  free(b);
  free(wf);
  free(xq);
  free(img_scale);
  free(img_zp);
  free(want_float);
  free(f_zp);
}

TEST(hybrid_matches_reference) {
  static const float uniform3[3] = {0.01f, 0.01f, 0.01f};
  /* one scale: symmetric input quantization */
  conv_cfg a = {{2, 5, 5, 3}, {4, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_hybrid(&a, 1, scale_1, 700);
  /* equal per-channel scales still take the per-tensor kernel */
  conv_cfg b = {{1, 6, 7, 2}, {3, 3, 3, 2}, 1, 0, 2, 2, 1, 1, TFL_ACT_RELU};
  check_hybrid(&b, 3, uniform3, 701);
  /* per-channel scales: asymmetric input quantization */
  conv_cfg c = {{2, 8, 8, 2}, {4, 3, 3, 2}, 1, 1, 1, 1, 2, 2, TFL_ACT_RELU6};
  check_hybrid(&c, 4, scales_4, 702);
  /* groups use the per-channel kernel even with one scale */
  conv_cfg d = {{1, 6, 6, 4}, {6, 3, 3, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_hybrid(&d, 1, scale_1, 703);
}

TEST(hybrid_zero_input_gives_bias) {
  const float x[4] = {0, 0, 0, 0};
  const int8_t w[1] = {100};
  const float b[1] = {0.75f}, fs[1] = {0.1f};
  const int64_t zp[1] = {0};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1}, b_dims[1] = {1};
  ot_spec in[3] = {OT_F32(4, in_dims, x),
                   {.type = TFL_INT8, .ndim = 4, .dims = w_dims, .data = w, .constant = 1,
                    .q_count = 1, .scales = fs, .zero_points = zp},
                   OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONV_2D, 1, in, 3, out, 1, TFL_OPTS_CONV_2D, opt, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], 0.75f, 0);
  ot_result_free(&r);
}

TEST(hybrid_uint8_filter_is_unsupported) {
  const float x[4] = {0};
  const uint8_t w[1] = {1};
  const float fs[1] = {1.0f};
  const int64_t zp[1] = {0};
  int32_t in_dims[4] = {1, 2, 2, 1}, w_dims[4] = {1, 1, 1, 1};
  ot_spec in[2] = {OT_F32(4, in_dims, x),
                   {.type = TFL_UINT8, .ndim = 4, .dims = w_dims, .data = w, .constant = 1,
                    .q_count = 1, .scales = fs, .zero_points = zp}};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_CONV_2D, 1, in, 2, out, 1, TFL_OPTS_CONV_2D, opt, &r),
               TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "hybrid") != NULL);
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
  RUN(quantized_uint8_by_hand);
  RUN(quantized_uint8_filter_zero_point_255_relu6_by_hand);
  RUN(quantized_rounding_ties_by_hand);
  RUN(quantized_matches_reference);
  RUN(quantized_bad_models_are_errors);
  RUN(quantized_uint8_bias_scale_is_checked);
  RUN(quantized_bias_scale_and_type_are_checked);
  RUN(hybrid_matches_reference);
  RUN(hybrid_zero_input_gives_bias);
  RUN(hybrid_uint8_filter_is_unsupported);
  return test_summary();
}
