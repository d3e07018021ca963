/* The fast float paths of the windowed kernels (conv_gemm.h, dwconv.h, pool_fast.h) against
 * naive versions written here (convolutions in double), over padding, strides, dilations,
 * batches, odd channel counts and activations. The ops' behaviour (options, errors) is covered
 * by test_conv, test_depthwise and test_pool. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/conv_gemm.h"
#include "kernels/dwconv.h"
#include "kernels/pool_fast.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

static int have_avx2(void) {
  tfl_cpu_level hw = tfl_cpu_detect_hardware();
  return hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON;
}

/* One axis, with TensorFlow's SAME/VALID rule written out independently of window.c. */
static tfl_window_axis axis(int32_t in, int32_t filter, int32_t stride, int32_t dilation,
                            int same) {
  tfl_window_axis a = {in, filter, stride, dilation, 0, 0};
  int32_t eff = (filter - 1) * dilation + 1;
  a.out = same ? (in + stride - 1) / stride : (in >= eff ? (in - eff) / stride + 1 : 0);
  int32_t total = (a.out - 1) * stride + eff - in;
  a.pad = total > 0 ? total / 2 : 0;
  return a;
}

typedef struct conv_case {
  int32_t batches, in_h, in_w, in_c, out_c, kh, kw, stride, dilation;
  int same;
  float lo, hi;
} conv_case;

/* Input (n, y, x, c) or 0 in the padding. */
static double input_at(const float *in, const conv_case *k, int32_t n, int32_t y, int32_t x,
                       int32_t c) {
  if (y < 0 || y >= k->in_h || x < 0 || x >= k->in_w) return 0.0;
  return in[(((size_t)n * k->in_h + y) * k->in_w + x) * k->in_c + c];
}

static int compare(double got, double want, double mag, int32_t taps, const char *what,
                   int32_t index) {
  double tol = (double)(taps + 2) * FLT_EPSILON * mag + 1e-30;
  if (fabs(got - want) <= tol || (isnan(got) && isnan(want))) return 1;
  test_fail(__FILE__, __LINE__, "%s: output %d = %.9g, want %.9g", what, (int)index, got, want);
  return 0;
}

static double clamp(double x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* k's convolution, with dilation dh along the height (k->dilation along the width). */
static void check_conv(const conv_case *k, int32_t dh) {
  const tfl_window win = {axis(k->in_h, k->kh, k->stride, dh, k->same),
                          axis(k->in_w, k->kw, k->stride, k->dilation, k->same)};
  const size_t in_n = (size_t)k->batches * k->in_h * k->in_w * k->in_c;
  const size_t f_n = (size_t)k->out_c * k->kh * k->kw * k->in_c;
  const size_t out_n = (size_t)k->batches * win.h.out * win.w.out * k->out_c;
  float *in = ck_random_floats(in_n, 1), *filter = ck_random_floats(f_n, 2);
  float *bias = ck_random_floats((size_t)k->out_c, 3), *out = malloc((out_n + 1) * sizeof(float));
  /* This machine's GEMM micro-kernel (the portable one where it has no vector one). */
  tfl_conv_gemm cg = {0};
  REQUIRE(tfl_conv_gemm_prepare(&cg, tfl_cpu_detect_hardware(), &win, k->batches, k->in_c,
                                k->out_c, filter, bias) == TFL_OK);
  void *scratch = malloc(tfl_conv_gemm_scratch_bytes(&cg, 1) + 1);
  tfl_conv_gemm_eval(NULL, &cg, in, out, scratch, k->lo, k->hi);
  free(scratch);
  size_t i = 0;
  int ok = 1;
  for (int32_t n = 0; n < k->batches; n++)
    for (int32_t oy = 0; oy < win.h.out; oy++)
      for (int32_t ox = 0; ox < win.w.out; ox++)
        for (int32_t oc = 0; oc < k->out_c && ok; oc++, i++) {
          double sum = bias[oc], mag = fabs(bias[oc]);
          for (int32_t ky = 0; ky < k->kh; ky++)
            for (int32_t kx = 0; kx < k->kw; kx++)
              for (int32_t c = 0; c < k->in_c; c++) {
                double p = input_at(in, k, n, oy * k->stride - win.h.pad + ky * dh,
                                    ox * k->stride - win.w.pad + kx * k->dilation, c) *
                           filter[(((size_t)oc * k->kh + ky) * k->kw + kx) * k->in_c + c];
                sum += p;
                mag += fabs(p);
              }
          ok = compare(out[i], clamp(sum, k->lo, k->hi), mag, k->kh * k->kw * k->in_c, "conv",
                       (int32_t)i);
        }
  tfl_conv_gemm_free(&cg);
  free(in), free(filter), free(bias), free(out);
}

TEST(conv_gemm_matches_naive_convolution) {
  static const conv_case cases[] = {
      /* n  h   w  ic oc kh kw s d same lo hi */
      {1, 8, 8, 16, 24, 1, 1, 1, 1, 1, -FLT_MAX, FLT_MAX},  /* pointwise: plain GEMM */
      {2, 5, 7, 3, 17, 1, 1, 1, 1, 0, 0.0f, 6.0f},          /* pointwise, batch 2 */
      {1, 9, 9, 8, 16, 1, 1, 2, 1, 1, -FLT_MAX, FLT_MAX},   /* strided 1x1 */
      {1, 11, 11, 3, 32, 3, 3, 2, 1, 1, 0.0f, 6.0f},        /* stem: SAME, stride 2 */
      {2, 7, 6, 5, 9, 3, 3, 1, 1, 1, -1.0f, 1.0f},          /* SAME, stride 1 */
      {1, 10, 10, 4, 33, 3, 3, 1, 1, 0, -FLT_MAX, FLT_MAX}, /* VALID */
      {1, 12, 12, 6, 7, 3, 3, 1, 2, 1, -FLT_MAX, FLT_MAX},  /* dilation 2 */
      {1, 15, 13, 3, 20, 7, 7, 2, 1, 1, 0.0f, FLT_MAX},     /* 7x7 s2, 3 channels */
      {2, 13, 14, 2, 18, 5, 5, 1, 2, 1, -FLT_MAX, FLT_MAX}, /* 5x5 dilation 2 */
      {1, 12, 12, 8, 16, 3, 3, 2, 1, 0, -FLT_MAX, FLT_MAX}, /* VALID s2: a window overhangs */
      {1, 4, 4, 2, 5, 5, 5, 1, 1, 1, -FLT_MAX, FLT_MAX},    /* filter larger than half */
      {1, 5, 6, 256, 20, 3, 3, 1, 1, 1, 0.0f, 6.0f},        /* k = 2304 */
      {1, 3, 5, 1, 1, 2, 3, 3, 1, 0, -FLT_MAX, FLT_MAX},    /* one channel, rectangular */
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    check_conv(&cases[c], cases[c].dilation);
  /* Dilation along one axis only: rows as pieces with dilated rows, taps as pieces. */
  const conv_case rows = {1, 11, 9, 4, 17, 3, 3, 1, 1, 1, -FLT_MAX, FLT_MAX};
  const conv_case columns = {1, 9, 11, 4, 17, 3, 3, 1, 2, 1, -FLT_MAX, FLT_MAX};
  check_conv(&rows, 2);
  check_conv(&columns, 1);
}

TEST(conv_gemm_declines_what_it_cannot_do) {
  const tfl_window small = {axis(8, 3, 1, 1, 1), axis(8, 3, 1, 1, 1)};
  const tfl_window huge = {axis(20, 9, 1, 1, 1), axis(20, 9, 1, 1, 1)}; /* 81 taps */
  CHECK(!tfl_conv_gemm_supports(TFL_CPU_SCALAR, &small, 8, 1));
  CHECK(!tfl_conv_gemm_supports(TFL_CPU_AVX2, &small, 8, 2));
  CHECK(!tfl_conv_gemm_supports(TFL_CPU_AVX2, &huge, 8, 1));
  CHECK(!tfl_conv_gemm_supports(TFL_CPU_AVX2, &small, INT32_MAX / 4, 1)); /* k overflows */
  CHECK(tfl_conv_gemm_supports(TFL_CPU_AVX2, &small, 8, 1));
}

/* k's depthwise convolution, with dilation dh along the height (k->dilation along the
 * width). */
static void check_depthwise_dh(const conv_case *k, int with_bias, int32_t dh) {
  const tfl_window win = {axis(k->in_h, k->kh, k->stride, dh, k->same),
                          axis(k->in_w, k->kw, k->stride, k->dilation, k->same)};
  const int32_t C = k->in_c;
  const size_t in_n = (size_t)k->batches * k->in_h * k->in_w * C;
  const size_t out_n = (size_t)k->batches * win.h.out * win.w.out * C;
  float *in = ck_random_floats(in_n, 4), *filter = ck_random_floats((size_t)k->kh * k->kw * C, 5);
  float *bias = with_bias ? ck_random_floats((size_t)C, 6) : NULL;
  float *out = malloc((out_n + 1) * sizeof(float));
  tfl_dwconv dw;
  REQUIRE(tfl_dwconv_setup(&dw, TFL_CPU_AVX2, &win, k->batches, C, C, k->lo, k->hi));
  const tfl_dwconv_io io = {in, filter, bias, out};
  tfl_dwconv_eval(NULL, &dw, &io);
  size_t i = 0;
  int ok = 1;
  for (int32_t n = 0; n < k->batches; n++)
    for (int32_t oy = 0; oy < win.h.out; oy++)
      for (int32_t ox = 0; ox < win.w.out; ox++)
        for (int32_t c = 0; c < C && ok; c++, i++) {
          double sum = bias ? bias[c] : 0.0, mag = fabs(sum);
          for (int32_t ky = 0; ky < k->kh; ky++)
            for (int32_t kx = 0; kx < k->kw; kx++) {
              double p = input_at(in, k, n, oy * k->stride - win.h.pad + ky * dh,
                                  ox * k->stride - win.w.pad + kx * k->dilation, c) *
                         filter[((size_t)ky * k->kw + kx) * C + c];
              sum += p;
              mag += fabs(p);
            }
          ok = compare(out[i], clamp(sum, k->lo, k->hi), mag, k->kh * k->kw, "depthwise",
                       (int32_t)i);
        }
  free(in), free(filter), free(bias), free(out);
}

static void check_depthwise(const conv_case *k, int with_bias) {
  check_depthwise_dh(k, with_bias, k->dilation);
}

TEST(dwconv_matches_naive_depthwise) {
  if (!have_avx2()) return;
  static const conv_case cases[] = {
      /* n  h   w   C  -  kh kw s d same lo hi */
      {1, 9, 9, 32, 0, 3, 3, 1, 1, 1, 0.0f, 6.0f},          /* 3x3 s1 SAME, 32 channels */
      {1, 10, 11, 96, 0, 3, 3, 2, 1, 1, -FLT_MAX, FLT_MAX}, /* 3x3 s2 SAME */
      {2, 8, 8, 40, 0, 3, 3, 2, 1, 0, -FLT_MAX, FLT_MAX},   /* VALID, 32 + 8 channels */
      {1, 12, 12, 13, 0, 5, 5, 1, 1, 1, -0.5f, 0.5f},       /* 5x5, 8 + masked 5 */
      {1, 13, 12, 3, 0, 5, 5, 2, 1, 1, -FLT_MAX, FLT_MAX},  /* 5x5 s2, masked only */
      {1, 9, 9, 16, 0, 3, 3, 1, 2, 1, -FLT_MAX, FLT_MAX},   /* dilation 2 */
      {1, 2, 3, 7, 0, 3, 3, 1, 1, 1, -FLT_MAX, FLT_MAX},    /* every pixel at a border */
      {1, 9, 8, 13, 0, 3, 3, 1, 1, 1, 0.0f, 6.0f},          /* 3x3 inside: 8 + masked 5 */
      {2, 11, 12, 24, 0, 3, 3, 2, 1, 0, -FLT_MAX, FLT_MAX}, /* 3x3 s2 VALID, odd pairs */
      {1, 7, 23, 19, 0, 3, 3, 1, 1, 1, 0.0f, 6.0f},         /* runs of 7, the last moved back */
      {1, 9, 21, 3, 0, 3, 3, 2, 1, 1, -FLT_MAX, FLT_MAX},   /* s2 SAME, odd: both borders */
      {2, 6, 30, 40, 0, 3, 3, 1, 1, 0, -1.0f, 1.0f},        /* VALID, long runs */
      {1, 3, 1, 8, 0, 3, 3, 1, 1, 1, -FLT_MAX, FLT_MAX},    /* one column: cut on both sides */
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    check_depthwise(&cases[c], 1);
    check_depthwise(&cases[c], 0);
  }
  /* Dilation along the height only: the 3x3 kernels still run. */
  const conv_case tall = {1, 12, 10, 20, 0, 3, 3, 1, 1, 1, -FLT_MAX, FLT_MAX};
  check_depthwise_dh(&tall, 1, 3);
}

TEST(dwconv_declines_multipliers_and_scalar) {
  const tfl_window win = {axis(8, 3, 1, 1, 1), axis(8, 3, 1, 1, 1)};
  tfl_dwconv dw;
  CHECK(!tfl_dwconv_setup(&dw, TFL_CPU_SCALAR, &win, 1, 8, 8, 0.0f, 6.0f));
  CHECK(!tfl_dwconv_setup(&dw, TFL_CPU_AVX2, &win, 1, 8, 16, 0.0f, 6.0f));
}

/* Pools: the reference's float arithmetic in its order, so the comparison is exact. */
static void check_pool(const conv_case *k, tfl_pool_kind kind) {
  const tfl_window win = {axis(k->in_h, k->kh, k->stride, 1, k->same),
                          axis(k->in_w, k->kw, k->stride, 1, k->same)};
  const int32_t C = k->in_c;
  const size_t in_n = (size_t)k->batches * k->in_h * k->in_w * C;
  const size_t out_n = (size_t)k->batches * win.h.out * win.w.out * C;
  float *in = ck_random_floats(in_n, 7), *out = malloc((out_n + 1) * sizeof(float));
  in[in_n / 2] = NAN; /* max: never replaces; average: spreads */
  tfl_pool_fast pf;
  REQUIRE(tfl_pool_fast_setup(&pf, TFL_CPU_AVX2, kind, &win, k->batches, C, k->lo, k->hi));
  tfl_pool_fast_eval(NULL, &pf, in, out);
  size_t i = 0;
  int ok = 1;
  for (int32_t n = 0; n < k->batches; n++)
    for (int32_t oy = 0; oy < win.h.out; oy++)
      for (int32_t ox = 0; ox < win.w.out; ox++)
        for (int32_t c = 0; c < C && ok; c++, i++) {
          float acc = kind == TFL_POOL_MAX ? -FLT_MAX : 0.0f;
          int count = 0;
          for (int32_t ky = 0; ky < k->kh; ky++)
            for (int32_t kx = 0; kx < k->kw; kx++) {
              int32_t y = oy * k->stride - win.h.pad + ky, x = ox * k->stride - win.w.pad + kx;
              if (y < 0 || y >= k->in_h || x < 0 || x >= k->in_w) continue;
              float v = in[(((size_t)n * k->in_h + y) * k->in_w + x) * C + c];
              count++;
              if (kind == TFL_POOL_AVERAGE) acc += v;
              else if (acc < v) acc = v;
            }
          if (kind == TFL_POOL_AVERAGE) acc /= (float)count;
          float want = acc < k->lo ? k->lo : acc > k->hi ? k->hi : acc;
          if (!(out[i] == want || (isnan(out[i]) && isnan(want)))) {
            test_fail(__FILE__, __LINE__, "pool %d: output %zu = %.9g, want %.9g", (int)kind, i,
                      out[i], want);
            ok = 0;
          }
        }
  free(in), free(out);
}

TEST(pool_fast_matches_reference_order) {
  if (!have_avx2()) return;
  static const conv_case cases[] = {
      /* n  h   w   C  -  kh kw s d same lo hi */
      {1, 11, 11, 64, 0, 3, 3, 2, 1, 1, -FLT_MAX, FLT_MAX}, /* ResNet's stem pool */
      {2, 7, 6, 13, 0, 2, 2, 2, 1, 0, 0.0f, 6.0f},          /* VALID, masked tail */
      {1, 5, 5, 3, 0, 5, 5, 1, 1, 1, -0.25f, 0.25f},        /* windows cut by the borders */
      {1, 7, 7, 24, 0, 7, 7, 1, 1, 0, -FLT_MAX, FLT_MAX},   /* global pool */
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    check_pool(&cases[c], TFL_POOL_MAX);
    check_pool(&cases[c], TFL_POOL_AVERAGE);
  }
}

/* CONV_2D (3x3 SAME, RELU6) -> DEPTHWISE_CONV_2D (3x3 s2) -> MAX_POOL_2D (2x2) ->
 * AVERAGE_POOL_2D (2x2) -> FULLY_CONNECTED, with constant weights, as a model. */
static uint8_t *chain_model(size_t *size) {
  static const int32_t in_dims[] = {2, 13, 11, 5}, conv_f[] = {12, 3, 3, 5}, c12[] = {12};
  static const int32_t conv_o[] = {2, 13, 11, 12}, dw_f[] = {1, 3, 3, 12}, dw_o[] = {2, 7, 6, 12};
  static const int32_t max_o[] = {2, 6, 5, 12}, avg_o[] = {2, 5, 4, 12}, fc_w[] = {10, 240};
  static const int32_t c10[] = {10}, fc_o[] = {2, 10};
  float *conv_w = ck_random_floats(12 * 45, 20), *bias = ck_random_floats(12, 21);
  float *dw_w = ck_random_floats(9 * 12, 22), *fc = ck_random_floats(10 * 240, 23);
  mb_model *m = mb_new();
  const int x = mb_tensor(m, TFL_FLOAT32, 4, in_dims, NULL, 0, "x");
  const int cw = mb_tensor(m, TFL_FLOAT32, 4, conv_f, conv_w, 12 * 45 * 4, NULL);
  const int b12 = mb_tensor(m, TFL_FLOAT32, 1, c12, bias, 12 * 4, NULL);
  const int t1 = mb_tensor(m, TFL_FLOAT32, 4, conv_o, NULL, 0, NULL);
  const int dww = mb_tensor(m, TFL_FLOAT32, 4, dw_f, dw_w, 9 * 12 * 4, NULL);
  const int t2 = mb_tensor(m, TFL_FLOAT32, 4, dw_o, NULL, 0, NULL);
  const int t3 = mb_tensor(m, TFL_FLOAT32, 4, max_o, NULL, 0, NULL);
  const int t4 = mb_tensor(m, TFL_FLOAT32, 4, avg_o, NULL, 0, NULL);
  const int fw = mb_tensor(m, TFL_FLOAT32, 2, fc_w, fc, 10 * 240 * 4, NULL);
  const int fb = mb_tensor(m, TFL_FLOAT32, 1, c10, bias, 10 * 4, NULL);
  const int y = mb_tensor(m, TFL_FLOAT32, 2, fc_o, NULL, 0, "y");
  const mb_field conv_opt[] = {MB_BYTE(0, 0), MB_INT(1, 1), MB_INT(2, 1), MB_BYTE(3, 3),
                               MB_FIELDS_END};
  const mb_field dw_opt[] = {MB_BYTE(0, 0), MB_INT(1, 2), MB_INT(2, 2), MB_FIELDS_END};
  const mb_field pool_opt[] = {MB_BYTE(0, 1), MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 2),
                               MB_INT(4, 2), MB_FIELDS_END};
  mb_op(m, TFL_OP_CONV_2D, 1, 3, (int[]){x, cw, b12}, 1, &t1, TFL_OPTS_CONV_2D, conv_opt);
  mb_op(m, TFL_OP_DEPTHWISE_CONV_2D, 1, 3, (int[]){t1, dww, b12}, 1, &t2,
        TFL_OPTS_DEPTHWISE_CONV_2D, dw_opt);
  mb_op(m, TFL_OP_MAX_POOL_2D, 1, 1, &t2, 1, &t3, TFL_OPTS_POOL_2D, pool_opt);
  mb_op(m, TFL_OP_AVERAGE_POOL_2D, 1, 1, &t3, 1, &t4, TFL_OPTS_POOL_2D, pool_opt);
  mb_op(m, TFL_OP_FULLY_CONNECTED, 1, 3, (int[]){t4, fw, fb}, 1, &y, 0, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  free(conv_w), free(bias), free(dw_w), free(fc);
  return bytes;
}

/* Through the interpreter: the fast paths give the same bits on one thread or two (work is
 * split by output tiles, never along a sum), and stay close to the reference kernels. */
TEST(fast_paths_in_a_model_match_threads_and_reference) {
  size_t size = 0;
  uint8_t *bytes = chain_model(&size);
  REQUIRE(bytes != NULL);
  float one[20], two[20], ref[20];
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 1, NULL, 24, one, sizeof(one)), TFL_OK);
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 2, NULL, 24, two, sizeof(two)), TFL_OK);
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 1, "scalar", 24, ref, sizeof(ref)), TFL_OK);
  CHECK(memcmp(one, two, sizeof(one)) == 0);
  for (int i = 0; i < 20; i++) CHECK_NEAR(one[i], ref[i], 1e-5 * (1.0 + fabs(ref[i])));
  free(bytes);
}

int main(void) {
  RUN(conv_gemm_matches_naive_convolution);
  RUN(conv_gemm_declines_what_it_cannot_do);
  RUN(dwconv_matches_naive_depthwise);
  RUN(dwconv_declines_multipliers_and_scalar);
  RUN(pool_fast_matches_reference_order);
  RUN(fast_paths_in_a_model_match_threads_and_reference);
  return test_summary();
}
