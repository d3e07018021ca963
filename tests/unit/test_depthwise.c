/* DEPTHWISE_CONV_2D: hand-computed cases, many shapes and options against a naive depthwise
 * convolution in double written independently below, then bad models. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dwconv.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "runtime/kernel.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

typedef struct dw_cfg {
  int32_t in[4];     /* n, h, w, c */
  int32_t filter[4]; /* 1, kh, kw, out_c */
  int has_bias;
  int padding; /* 0 SAME, 1 VALID */
  int stride_h, stride_w, dil_h, dil_w;
  int act;
} dw_cfg;

/* The output shape of a case, and its top and left padding. */
static void geometry(const dw_cfg *c, int32_t od[4], int32_t *pt, int32_t *pl) {
  od[0] = c->in[0];
  od[1] = ck_window_out_size(c->padding, c->in[1], c->filter[1], c->stride_h, c->dil_h);
  od[2] = ck_window_out_size(c->padding, c->in[2], c->filter[2], c->stride_w, c->dil_w);
  od[3] = c->filter[3];
  *pt = ck_window_pad(c->in[1], od[1], c->filter[1], c->stride_h, c->dil_h);
  *pl = ck_window_pad(c->in[2], od[2], c->filter[2], c->stride_w, c->dil_w);
}

static double *ref_depthwise(const dw_cfg *c, const float *x, const float *w, const float *b,
                             int32_t od[4]) {
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t KH = c->filter[1], KW = c->filter[2], OC = c->filter[3], M = OC / C;
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  double *y = calloc(ck_count(4, od) + 1, sizeof(double));
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
            y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = ck_float_activation(c->act, s);
          }
  return y;
}

static tfl_status run_dw_threads(const dw_cfg *c, const float *x, const float *w,
                                 const float *b, int threads, ot_result *r) {
  ot_spec in[3] = {OT_F32(4, c->in, x), OT_F32_CONST(4, c->filter, w)};
  int32_t bias_dims[1] = {c->filter[3]};
  int n_in = 2;
  if (c->has_bias) in[n_in++] = (ot_spec)OT_F32_CONST(1, bias_dims, b);
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  /* depth_multiplier (field 3) is deliberately wrong: newer TFLite ignores it. */
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w), MB_INT(2, c->stride_h),
                    MB_INT(3, 7),           MB_BYTE(4, c->act),     MB_INT(5, c->dil_w),
                    MB_INT(6, c->dil_h),    MB_FIELDS_END};
  const ot_op op = {.builtin_code = TFL_OP_DEPTHWISE_CONV_2D,
                    .version = 2,
                    .options_type = TFL_OPTS_DEPTHWISE_CONV_2D,
                    .options = opt,
                    .threads = threads};
  memset(r, 0, sizeof(*r));
  return ot_run_op(&op, in, n_in, out, 1, r);
}

static tfl_status run_dw(const dw_cfg *c, const float *x, const float *w, const float *b,
                         ot_result *r) {
  return run_dw_threads(c, x, w, b, 1, r);
}

static void check_against_reference(const dw_cfg *c, unsigned seed) {
  float *x = qr_random_floats(ck_count(4, c->in), seed, 2.0f);
  float *w = qr_random_floats(ck_count(4, c->filter), seed + 1, 1.0f);
  float *b = qr_random_floats((size_t)c->filter[3], seed + 2, 1.0f);
  int32_t od[4];
  double *want = ref_depthwise(c, x, w, b, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_dw(c, x, w, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) ck_f32_output(&r, 0, 4, od, want, 1e-4);
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(want);
}

/* What the fast float path promises (dwconv.h), for a channel multiplier of 1: each output
 * sums its in-bounds taps in order (filter rows, then columns) with fused multiply-adds from
 * zero, then adds the bias and clamps. */
static float *fma_depthwise(const dw_cfg *c, const float *x, const float *w, const float *b,
                            int32_t od[4]) {
  const int32_t H = c->in[1], W = c->in[2], C = c->in[3], KH = c->filter[1], KW = c->filter[2];
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  float *y = calloc(ck_count(4, od) + 1, sizeof(float));
  for (int32_t n = 0; n < od[0]; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t ch = 0; ch < C; ch++) {
          float s = 0.0f;
          for (int32_t ky = 0; ky < KH; ky++)
            for (int32_t kx = 0; kx < KW; kx++) {
              const int32_t iy = oy * c->stride_h - pt + ky * c->dil_h;
              const int32_t ix = ox * c->stride_w - pl + kx * c->dil_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s = fmaf(x[((n * H + iy) * W + ix) * C + ch], w[(ky * KW + kx) * C + ch], s);
            }
          if (c->has_bias) s += b[ch];
          y[((n * od[1] + oy) * od[2] + ox) * C + ch] = (float)ck_float_activation(c->act, s);
        }
  return y;
}

/* Case c on `threads` threads: within tolerance of the double reference, and where the fast
 * path runs, bit for bit the sums it promises. */
static void check_fast_path(const dw_cfg *c, int threads, unsigned seed) {
  float *x = qr_random_floats(ck_count(4, c->in), seed, 2.0f);
  float *w = qr_random_floats(ck_count(4, c->filter), seed + 1, 1.0f);
  float *b = qr_random_floats((size_t)c->filter[3], seed + 2, 1.0f);
  int32_t od[4];
  double *want = ref_depthwise(c, x, w, b, od);
  float *exact = fma_depthwise(c, x, w, b, od);
  ot_result r;
  tfl_status st = run_dw_threads(c, x, w, b, threads, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    ck_f32_output(&r, 0, 4, od, want, 1e-4);
    if (tfl_dwconv_available(tfl_cpu_detect())) {
      const float *got = ot_f32(&r, 0);
      for (size_t i = 0; i < ck_count(4, od); i++)
        if (memcmp(&got[i], &exact[i], sizeof(float)) != 0) {
          test_fail(__FILE__, __LINE__, "seed %u: element %zu is %.9g, the fused sums give %.9g",
                    seed, i, (double)got[i], (double)exact[i]);
          break;
        }
    }
  }
  ot_result_free(&r);
  free(x), free(w), free(b), free(want), free(exact);
}

/* The fast path's 3x3 runs: widths around its runs of 7 and 4 pixels (and narrower rows, pixel
 * by pixel), both strides, SAME (border columns folded into the runs) and VALID, heights
 * where 0 to 3 filter rows land inside the input, channels in blocks of 8 and a masked
 * tail, batches, dilated rows, two threads. */
TEST(fast_path_3x3_runs_match_reference) {
  static const int32_t widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 15, 16, 21, 23, 29};
  static const int32_t channels[] = {3, 8, 13, 24};
  unsigned seed = 1000;
  for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
    for (int stride = 1; stride <= 2; stride++)
      for (int padding = 0; padding <= 1; padding++) {
        const int32_t W = widths[wi], C = channels[(wi + (size_t)stride) % 4];
        const int32_t H = 1 + (int32_t)(wi % 5);
        dw_cfg c = {{1 + (int32_t)(wi % 2), H, W, C}, {1, 3, 3, C}, (int)(wi % 3 != 0), padding,
                    stride, stride, 1, 1, wi % 2 ? TFL_ACT_RELU6 : TFL_ACT_NONE};
        if (padding == 1 && (W < 3 || H < 3)) continue; /* VALID: an empty output */
        check_fast_path(&c, 1 + (int)(wi % 2), seed++);
      }
}

TEST(fast_path_other_windows_match_reference) {
  static const dw_cfg cases[] = {
      {{2, 9, 16, 13}, {1, 3, 3, 13}, 1, 0, 1, 1, 2, 1, TFL_ACT_RELU},     /* dilated rows */
      {{1, 11, 12, 16}, {1, 3, 3, 16}, 1, 0, 1, 1, 1, 2, TFL_ACT_NONE},    /* dilated columns */
      {{1, 12, 12, 9}, {1, 3, 3, 9}, 0, 0, 3, 3, 1, 1, TFL_ACT_NONE},      /* stride 3 */
      {{1, 10, 17, 8}, {1, 3, 3, 8}, 1, 0, 1, 2, 1, 1, TFL_ACT_RELU6},     /* strides 1 x 2 */
      {{1, 9, 10, 11}, {1, 5, 5, 11}, 1, 0, 1, 1, 1, 1, TFL_ACT_RELU_N1_TO_1},
      {{2, 8, 7, 20}, {1, 2, 3, 20}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
      {{1, 30, 30, 32}, {1, 3, 3, 32}, 1, 0, 1, 1, 1, 1, TFL_ACT_RELU6},   /* long rows */
      {{1, 31, 31, 40}, {1, 3, 3, 40}, 1, 1, 2, 2, 1, 1, TFL_ACT_NONE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    check_fast_path(&cases[i], 1, 2000u + (unsigned)i);
    check_fast_path(&cases[i], 2, 2100u + (unsigned)i);
  }
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
  float *x = qr_random_floats(ck_count(4, c->in), 1, 1.0f);
  float *w = qr_random_floats(ck_count(4, c->filter), 2, 1.0f);
  float *b = qr_random_floats((size_t)c->filter[3], 3, 1.0f);
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

/* ---- quantized path -----------------------------------------------------------------------
 * Expected codes come from a naive depthwise convolution with int64 accumulation written here
 * and TFLite's requantization forms (util/quant_ref). TFLite's depthwise kernels round the
 * final shift's ties away from zero for every type (they never go through ruy); uint8
 * multiplies the scales in float; int16 accumulates in 64 bits with an int64 bias. */

typedef struct qdw_case {
  dw_cfg c;
  tfl_type type; /* input and output */
  float in_scale, out_scale;
  int32_t in_zp, out_zp;
  int n_scales; /* filter scales: 1 or out_c (along dimension 3) */
  const float *f_scales;
  int32_t f_zp; /* uint8 filters */
} qdw_case;

static tfl_type dw_filter_type(tfl_type t) { return t == TFL_UINT8 ? TFL_UINT8 : TFL_INT8; }
static tfl_type dw_bias_type(tfl_type t) { return t == TFL_INT16 ? TFL_INT64 : TFL_INT32; }

static int64_t *ref_qdw_acc(const qdw_case *q, const int64_t *x, const int64_t *w,
                            const int64_t *b, int32_t od[4]) {
  const dw_cfg *c = &q->c;
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  const int32_t KH = c->filter[1], KW = c->filter[2], OC = c->filter[3], M = OC / C;
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  int64_t *y = calloc(ck_count(4, od) + 1, sizeof(int64_t));
  for (int32_t n = 0; n < N; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t oc = 0; oc < OC; oc++) {
          int64_t s = b ? b[oc] : 0;
          for (int32_t ky = 0; ky < KH; ky++)
            for (int32_t kx = 0; kx < KW; kx++) {
              int32_t iy = oy * c->stride_h - pt + ky * c->dil_h;
              int32_t ix = ox * c->stride_w - pl + kx * c->dil_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s += (x[((n * H + iy) * W + ix) * C + oc / M] - q->in_zp) *
                   (w[(ky * KW + kx) * OC + oc] - q->f_zp);
            }
          y[((n * od[1] + oy) * od[2] + ox) * OC + oc] = s;
        }
  return y;
}

static int32_t ref_dw_requantize(const qdw_case *q, int32_t oc, int64_t acc) {
  const float fs = q->f_scales[q->n_scales > 1 ? oc : 0];
  const double real = q->type == TFL_UINT8 ? (double)(q->in_scale * fs) / q->out_scale
                                           : (double)q->in_scale * fs / q->out_scale;
  int64_t lo, hi;
  qr_act_range(q->c.act, q->type, q->out_scale, q->out_zp, &lo, &hi);
  return (int32_t)qr_requantize(q->type == TFL_INT16 ? QR_WIDE : QR_DOUBLE, acc, real,
                                q->out_zp, lo, hi);
}

static tfl_status run_qdw(const qdw_case *q, const void *x, const void *w, const void *b,
                          tfl_type bias_type, ot_result *r) {
  const dw_cfg *c = &q->c;
  const int32_t oc = c->filter[3];
  int64_t in_zp[1] = {q->in_zp}, out_zp[1] = {q->out_zp};
  int64_t *f_zp = calloc((size_t)q->n_scales, sizeof(int64_t));
  int64_t *b_zp = calloc((size_t)oc, sizeof(int64_t));
  float *b_scales = malloc((size_t)oc * sizeof(float));
  for (int i = 0; i < q->n_scales; i++) f_zp[i] = q->f_zp;
  for (int32_t i = 0; i < oc; i++)
    b_scales[i] = q->in_scale * q->f_scales[q->n_scales > 1 ? i : 0];
  int32_t bias_dims[1] = {oc};
  ot_spec in[3] = {
      {.type = q->type, .ndim = 4, .dims = c->in, .data = x, .q_count = 1,
       .scales = &q->in_scale, .zero_points = in_zp},
      {.type = dw_filter_type(q->type), .ndim = 4, .dims = c->filter, .data = w,
       .constant = 1, .q_count = q->n_scales, .scales = q->f_scales, .zero_points = f_zp,
       .q_axis = 3},
      {.type = bias_type, .ndim = 1, .dims = bias_dims, .data = b, .constant = 1,
       .q_count = oc, .scales = b_scales, .zero_points = b_zp}};
  ot_spec out[1] = {
      {.type = q->type, .q_count = 1, .scales = &q->out_scale, .zero_points = out_zp}};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w), MB_INT(2, c->stride_h),
                    MB_INT(3, 1),           MB_BYTE(4, c->act),     MB_INT(5, c->dil_w),
                    MB_INT(6, c->dil_h),    MB_FIELDS_END};
  tfl_status st = ot_run(TFL_OP_DEPTHWISE_CONV_2D, 2, in, b ? 3 : 2, out, 1,
                         TFL_OPTS_DEPTHWISE_CONV_2D, opt, r);
  free(f_zp);
  free(b_zp);
  free(b_scales);
  return st;
}

static void check_quantized(const qdw_case *q, unsigned seed) {
  const dw_cfg *c = &q->c;
  const int32_t oc = c->filter[3];
  int64_t lo, hi;
  qr_type_range(q->type, &lo, &hi);
  const int64_t bias_range = q->type == TFL_INT16 ? 5000000 : 20000;
  int64_t *x = qr_random_ints(ck_count(4, c->in), seed, lo, hi);
  int64_t *w = q->type == TFL_UINT8 ? qr_random_ints(ck_count(4, c->filter), seed + 1, 0, 255)
                                    : qr_random_ints(ck_count(4, c->filter), seed + 1, -127, 127);
  int64_t *b = qr_random_ints((size_t)oc, seed + 2, -bias_range, bias_range);
  void *xp = qr_pack(q->type, x, ck_count(4, c->in));
  void *wp = qr_pack(dw_filter_type(q->type), w, ck_count(4, c->filter));
  void *bp = c->has_bias ? qr_pack(dw_bias_type(q->type), b, (size_t)oc) : NULL;
  int32_t od[4];
  int64_t *acc = ref_qdw_acc(q, x, w, c->has_bias ? b : NULL, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_qdw(q, xp, wp, bp, dw_bias_type(q->type), &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  if (st == TFL_OK) {
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(r.out[0].dims[i], od[i]);
    for (size_t i = 0; i < ck_count(4, od) && test_failures_in_current == 0; i++) {
      const int32_t want = ref_dw_requantize(q, (int32_t)(i % (size_t)oc), acc[i]);
      if (qr_code_at(q->type, r.out[0].data, i) != want)
        test_fail(__FILE__, __LINE__, "seed %u element %zu: got %lld, want %d", seed, i,
                  (long long)qr_code_at(q->type, r.out[0].data, i), (int)want);
    }
  }
  ot_result_free(&r);
  free(x);
  free(w);
  free(b);
  free(xp);
  free(wp);
  free(bp);
  free(acc);
}

/* uint8, multiplier 2, filter zp 128: input {3, 5} (zp 1: reals 2, 4 at scale 1); filter codes
 * {130, 126, 129, 128} are {2, -2, 1, 0} at scale 0.5; outputs 2*2*0.5 = 2, -2*2*0.5 = -2,
 * 4*1*0.5 = 2, 0; output scale 1, zp 10: {12, 8, 12, 10}. Fused RELU clamps -2 to 0: 10. */
TEST(quantized_uint8_multiplier_2_by_hand) {
  const uint8_t x[2] = {3, 5}, w[4] = {130, 126, 129, 128};
  const int32_t b[4] = {0, 0, 0, 0};
  const float fs[1] = {0.5f};
  qdw_case q = {{{1, 1, 1, 2}, {1, 1, 1, 4}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
                TFL_UINT8, 1.0f, 1.0f, 1, 10, 1, fs, 128};
  ot_result r;
  REQUIRE(run_qdw(&q, x, w, b, dw_bias_type(q.type), &r) == TFL_OK);
  const uint8_t want[4] = {12, 8, 12, 10};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((uint8_t *)r.out[0].data)[i], want[i]);
  ot_result_free(&r);
  q.c.act = TFL_ACT_RELU;
  REQUIRE(run_qdw(&q, x, w, b, dw_bias_type(q.type), &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 10);
  ot_result_free(&r);
}

/* Real multiplier 0.25 on accumulators -6 and 6: the int8 depthwise kernel rounds the tie
 * -1.5 away from zero to -2 (unlike the int8 CONV_2D, which goes through ruy). */
TEST(quantized_int8_rounding_ties_by_hand) {
  const int8_t x[2] = {-6, 6}, w[2] = {1, 1};
  const int32_t b[2] = {0, 0};
  const float fs[2] = {0.25f, 0.25f};
  qdw_case q = {{{1, 1, 1, 2}, {1, 1, 1, 2}, 1, 1, 1, 1, 1, 1, TFL_ACT_NONE},
                TFL_INT8, 1.0f, 1.0f, 0, 0, 2, fs, 0};
  ot_result r;
  REQUIRE(run_qdw(&q, x, w, b, dw_bias_type(q.type), &r) == TFL_OK);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[0], -2);
  CHECK_EQ_INT(((int8_t *)r.out[0].data)[1], 2);
  ot_result_free(&r);
}

static const float dw_scales_3[3] = {0.02f, 0.0003f, 0.7f};
static const float dw_scales_4[4] = {1e-4f, 0.01f, 0.3f, 3e-3f};
static const float dw_scales_6[6] = {0.01f, 0.002f, 0.05f, 1e-4f, 0.03f, 0.008f};
static const float dw_scale_1[1] = {0.004f};

TEST(quantized_matches_reference) {
  static const qdw_case cases[] = {
      {{{1, 5, 5, 3}, {1, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_UINT8, 0.02f, 0.05f, 0, 255, 1, dw_scale_1, 255},
      {{{2, 6, 7, 2}, {1, 3, 3, 4}, 1, 0, 2, 2, 1, 1, TFL_ACT_RELU6},
       TFL_UINT8, 0.05f, 0.02f, 255, 0, 1, dw_scale_1, 0},
      {{{1, 8, 8, 3}, {1, 3, 3, 6}, 1, 1, 1, 1, 2, 2, TFL_ACT_RELU},
       TFL_UINT8, 0.03f, 0.05f, 128, 3, 1, dw_scale_1, 100},
      {{{1, 5, 5, 3}, {1, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_INT8, 0.02f, 0.01f, -128, 127, 3, dw_scales_3, 0},
      {{{2, 7, 6, 2}, {1, 2, 3, 4}, 1, 0, 2, 1, 1, 1, TFL_ACT_RELU6},
       TFL_INT8, 0.05f, 0.02f, 127, -128, 4, dw_scales_4, 0},
      {{{1, 9, 8, 3}, {1, 3, 2, 6}, 0, 1, 1, 2, 2, 3, TFL_ACT_RELU_N1_TO_1},
       TFL_INT8, 0.1f, 0.01f, 3, -5, 6, dw_scales_6, 0},
      {{{1, 6, 6, 2}, {1, 3, 3, 4}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE},
       TFL_INT16, 0.001f, 0.002f, 0, 0, 4, dw_scales_4, 0},
      {{{2, 5, 6, 3}, {1, 3, 3, 3}, 0, 0, 2, 2, 1, 1, TFL_ACT_RELU},
       TFL_INT16, 0.0005f, 0.0003f, 0, 0, 3, dw_scales_3, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_quantized(&cases[i], 800u + (unsigned)i);
}

TEST(quantized_bad_models_are_errors) {
  const int8_t x[4] = {0}, w[2] = {1, 1};
  const int32_t b32[2] = {0, 0};
  const float fs[2] = {0.1f, 0.1f};
  const dw_cfg c = {{1, 2, 1, 2}, {1, 1, 1, 2}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  ot_result r;
  /* int16 activations need an int64 bias */
  const int16_t x16[4] = {0};
  qdw_case q16 = {c, TFL_INT16, 0.1f, 0.1f, 0, 0, 2, fs, 0};
  CHECK_EQ_INT(run_qdw(&q16, x16, w, b32, TFL_INT32, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "bias") != NULL);
  ot_result_free(&r);
  /* int8 filters are symmetric */
  qdw_case zp = {c, TFL_INT8, 0.1f, 0.1f, 0, 0, 2, fs, 1};
  CHECK_EQ_INT(run_qdw(&zp, x, w, b32, TFL_INT32, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "zero point") != NULL);
  ot_result_free(&r);
  /* per-channel scales must run along dimension 3 and match the channels */
  const float three[3] = {0.1f, 0.1f, 0.1f};
  qdw_case count = {c, TFL_INT8, 0.1f, 0.1f, 0, 0, 3, three, 0};
  CHECK_EQ_INT(run_qdw(&count, x, w, b32, TFL_INT32, &r), TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "scales") != NULL);
  ot_result_free(&r);
}

/* ---- hybrid path ---------------------------------------------------------------------------
 * TFLite quantizes each image asymmetrically and computes (float(acc) * image_scale) *
 * filter_scale[c] + bias, acc summing w * (q - zero_point) over the in-bounds taps. The
 * reference below does the same with the image quantization of util/quant_ref; a float
 * depthwise convolution bounds the quantization error. */
static void check_hybrid(const dw_cfg *c, int n_scales, const float *f_scales, unsigned seed) {
  const size_t n_in = ck_count(4, c->in), n_w = ck_count(4, c->filter);
  const int32_t OC = c->filter[3];
  float *x = qr_random_floats(n_in, seed, 3.0f);
  int64_t *w64 = qr_random_ints(n_w, seed + 1, -127, 127);
  int8_t *w = qr_pack(TFL_INT8, w64, n_w);
  float *b = qr_random_floats((size_t)OC, seed + 2, 1.0f);
  float *wf = malloc(n_w * sizeof(float));
  for (size_t i = 0; i < n_w; i++)
    wf[i] = (float)w64[i] * f_scales[n_scales > 1 ? (int32_t)(i % (size_t)OC) : 0];
  const size_t image = n_in / (size_t)c->in[0];
  int8_t *xq = malloc(n_in);
  int64_t *xi = malloc(n_in * sizeof(int64_t));
  float *img_scale = malloc((size_t)c->in[0] * sizeof(float));
  int32_t *img_zp = malloc((size_t)c->in[0] * sizeof(int32_t));
  for (int32_t n = 0; n < c->in[0]; n++)
    qr_quantize_row(x + n * image, image, 1, xq + n * image, &img_scale[n], &img_zp[n]);
  for (size_t i = 0; i < n_in; i++) xi[i] = xq[i];
  int32_t od[4];
  double *want_float = ref_depthwise(c, x, wf, b, od);
  const size_t per_image = ck_count(4, od) / (size_t)od[0];

  int64_t *f_zp = calloc((size_t)n_scales, sizeof(int64_t));
  int32_t bias_dims[1] = {OC};
  ot_spec in[3] = {OT_F32(4, c->in, x),
                   {.type = TFL_INT8, .ndim = 4, .dims = c->filter, .data = w, .constant = 1,
                    .q_count = n_scales, .scales = f_scales, .zero_points = f_zp, .q_axis = 3},
                   OT_F32_CONST(1, bias_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w), MB_INT(2, c->stride_h),
                    MB_INT(3, 1),           MB_BYTE(4, c->act),     MB_INT(5, c->dil_w),
                    MB_INT(6, c->dil_h),    MB_FIELDS_END};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_DEPTHWISE_CONV_2D, 2, in, 3, out, 1,
                         TFL_OPTS_DEPTHWISE_CONV_2D, opt, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  for (int32_t n = 0; st == TFL_OK && n < c->in[0] && test_failures_in_current == 0; n++) {
    qdw_case qc = {*c, TFL_INT8, 1, 1, img_zp[n], 0, 1, f_scales, 0};
    qc.c.in[0] = 1;
    int32_t od1[4];
    int64_t *acc = ref_qdw_acc(&qc, xi + n * image, w64, NULL, od1);
    for (size_t i = 0; i < per_image; i++) {
      const int32_t oc = (int32_t)(i % (size_t)OC);
      const float v = (float)ck_float_activation(
          c->act, (float)acc[i] * img_scale[n] * f_scales[n_scales > 1 ? oc : 0] + b[oc]);
      const float g = ot_f32(&r, 0)[n * per_image + i];
      CHECK_NEAR(g, v, 1e-6 * (1.0 + fabs(v)));
      double bound = 0;
      for (int32_t t = 0; t < c->filter[1] * c->filter[2]; t++) bound += fabs(wf[t * OC + oc]);
      CHECK_NEAR(g, want_float[n * per_image + i], 0.5 * img_scale[n] * bound * 1.001 + 1e-5);
    }
    free(acc);
  }
  ot_result_free(&r);
  free(x);
  free(w64);
  free(w);
  free(b);
  free(wf);
  free(xq);
  free(xi);
  free(img_scale);
  free(img_zp);
  free(want_float);
  free(f_zp);
}

TEST(hybrid_matches_reference) {
  dw_cfg a = {{2, 5, 5, 3}, {1, 3, 3, 3}, 1, 0, 1, 1, 1, 1, TFL_ACT_NONE};
  check_hybrid(&a, 3, dw_scales_3, 900);
  dw_cfg b = {{1, 7, 6, 2}, {1, 3, 3, 4}, 1, 0, 2, 2, 1, 1, TFL_ACT_RELU6};
  check_hybrid(&b, 4, dw_scales_4, 901);
  /* one filter scale: TFLite still takes the per-channel kernel, with that scale for all */
  dw_cfg c = {{2, 8, 8, 3}, {1, 3, 3, 6}, 1, 1, 1, 1, 2, 2, TFL_ACT_RELU};
  check_hybrid(&c, 1, dw_scale_1, 902);
}

int main(void) {
  RUN(depth_multiplier_2_by_hand);
  RUN(same_pads_after_by_hand);
  RUN(matches_reference_over_shapes_and_options);
  RUN(every_fused_activation);
  RUN(fast_path_3x3_runs_match_reference);
  RUN(fast_path_other_windows_match_reference);
  RUN(bad_models_are_errors);
  RUN(wrong_bias_length_is_an_error);
  RUN(omitted_bias_input);
  RUN(quantized_uint8_multiplier_2_by_hand);
  RUN(quantized_int8_rounding_ties_by_hand);
  RUN(quantized_matches_reference);
  RUN(quantized_bad_models_are_errors);
  RUN(hybrid_matches_reference);
  return test_summary();
}
