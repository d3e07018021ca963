/* Winograd F(2x2, 3x3) convolution (src/kernels/winograd.h) against a naive convolution in
 * double: portable and AVX2 transforms, SAME / VALID / wider padding, odd sizes (partial
 * tiles), channel tails, batches, several tile blocks, activations, NaN; and through the
 * interpreter, the same bits on one thread or two. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/winograd.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

/* Levels whose transforms and micro-kernels differ: the portable ones (asked for with the
 * scalar level, which the op itself never sends here) and the machine's vector ones (AVX2,
 * or NEON's GEMM micro-kernel with the portable transforms). */
static int test_levels(tfl_cpu_level *levels) {
  int n = 0;
  levels[n++] = TFL_CPU_SCALAR;
  tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON) levels[n++] = TFL_CPU_AVX2;
  if (hw >= TFL_CPU_NEON) levels[n++] = TFL_CPU_NEON;
  return n;
}

/* A 3x3 stride-1 axis of `in` pixels with `pad` zeros before; `after` zeros after. */
static tfl_window_axis axis(int32_t in, int32_t pad, int32_t after) {
  tfl_window_axis a = {in, 3, 1, 1, in + pad + after - 2, pad};
  return a;
}

typedef struct wg_case {
  int32_t batches, in_h, in_w, in_c, out_c;
  int32_t pad_h, after_h, pad_w, after_w;
  float lo, hi;
} wg_case;

static double input_at(const float *in, const wg_case *k, int32_t n, int32_t y, int32_t x,
                       int32_t c) {
  if (y < 0 || y >= k->in_h || x < 0 || x >= k->in_w) return 0.0;
  return in[(((size_t)n * k->in_h + y) * k->in_w + x) * k->in_c + c];
}

static double clamp(double x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Winograd's rounding error grows with the transforms' sums, a few times the direct form's:
 * the bound is 16 times the direct form's (a wrong tap or channel is off by far more). */
static int close_enough(double got, double want, double mag, int32_t k, size_t index,
                        int nan_allowed) {
  double tol = 16.0 * (double)(k + 2) * FLT_EPSILON * mag + 1e-30;
  if (fabs(got - want) <= tol || (isnan(got) && (isnan(want) || nan_allowed))) return 1;
  test_fail(__FILE__, __LINE__, "output %zu = %.9g, want %.9g (tolerance %.3g)", index, got,
            want, tol);
  return 0;
}

/* The 4x4 input block of the tile of output (oy, ox) holds input pixel (y, x). */
static int tile_holds(const wg_case *k, int32_t oy, int32_t ox, int32_t y, int32_t x) {
  const int32_t y0 = oy / 2 * 2 - k->pad_h, x0 = ox / 2 * 2 - k->pad_w;
  return y >= y0 && y < y0 + 4 && x >= x0 && x < x0 + 4;
}

/* With nan_y >= 0, input pixel (0, nan_y, nan_x) channel 0 is NaN. */
static void check_case(const wg_case *k, tfl_cpu_level level, int with_bias, int32_t nan_y,
                       int32_t nan_x) {
  const tfl_window win = {axis(k->in_h, k->pad_h, k->after_h),
                          axis(k->in_w, k->pad_w, k->after_w)};
  const size_t in_n = (size_t)k->batches * k->in_h * k->in_w * k->in_c;
  const size_t out_n = (size_t)k->batches * win.h.out * win.w.out * k->out_c;
  float *in = ck_random_floats(in_n, 1), *filter = ck_random_floats((size_t)k->out_c * 9 * k->in_c, 2);
  float *bias = with_bias ? ck_random_floats((size_t)k->out_c, 3) : NULL;
  float *out = malloc((out_n + 1) * sizeof(float));
  if (nan_y >= 0) in[((size_t)nan_y * k->in_w + nan_x) * k->in_c] = NAN;
  tfl_winograd wg = {0};
  REQUIRE(tfl_winograd_prepare(&wg, level, &win, k->batches, k->in_c, k->out_c, filter, bias) ==
          TFL_OK);
  void *scratch = aligned_alloc(64, (tfl_winograd_scratch_bytes(&wg, 1) + 64) & ~(size_t)63);
  tfl_winograd_eval(NULL, &wg, in, out, scratch, k->lo, k->hi, NULL);
  size_t i = 0;
  int ok = 1;
  for (int32_t n = 0; n < k->batches; n++)
    for (int32_t oy = 0; oy < win.h.out; oy++)
      for (int32_t ox = 0; ox < win.w.out; ox++)
        for (int32_t oc = 0; oc < k->out_c && ok; oc++, i++) {
          double sum = bias ? bias[oc] : 0.0, mag = fabs(sum);
          for (int32_t ky = 0; ky < 3; ky++)
            for (int32_t kx = 0; kx < 3; kx++)
              for (int32_t c = 0; c < k->in_c; c++) {
                double p = input_at(in, k, n, oy - k->pad_h + ky, ox - k->pad_w + kx, c) *
                           filter[(((size_t)oc * 3 + ky) * 3 + kx) * k->in_c + c];
                sum += p;
                mag += fabs(p);
              }
          const int nan_allowed = nan_y >= 0 && n == 0 && tile_holds(k, oy, ox, nan_y, nan_x);
          ok = close_enough(out[i], clamp(sum, k->lo, k->hi), mag, 9 * k->in_c, i, nan_allowed);
        }
  tfl_winograd_free(&wg);
  free(scratch), free(in), free(filter), free(bias), free(out);
}

TEST(winograd_matches_naive_convolution) {
  static const wg_case cases[] = {
      /* n  h   w  ic  oc  pad/after h, w   lo hi */
      {1, 1, 1, 8, 8, 1, 1, 1, 1, -FLT_MAX, FLT_MAX},     /* one pixel: a quarter tile */
      {2, 5, 7, 9, 17, 1, 1, 1, 1, -FLT_MAX, FLT_MAX},    /* SAME, odd sizes, tails */
      {1, 6, 6, 16, 16, 0, 0, 0, 0, 0.0f, 6.0f},          /* VALID, whole tiles */
      {1, 7, 4, 13, 33, 0, 0, 0, 0, -1.0f, 1.0f},         /* VALID 5x2 */
      {1, 3, 3, 8, 8, 0, 0, 0, 0, -FLT_MAX, FLT_MAX},     /* VALID 1x1 */
      {3, 9, 10, 24, 40, 1, 1, 1, 1, 0.0f, 6.0f},         /* batches, RELU6 */
      {1, 6, 5, 11, 19, 2, 0, 0, 2, -FLT_MAX, FLT_MAX},   /* uneven explicit padding */
      {1, 30, 30, 16, 16, 1, 1, 1, 1, 0.0f, FLT_MAX},     /* 225 tiles: several blocks */
      {1, 7, 7, 64, 130, 1, 1, 1, 1, -FLT_MAX, FLT_MAX},  /* ResNet's last layers, small */
  };
  tfl_cpu_level levels[2];
  const int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++)
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
      check_case(&cases[c], levels[l], 1, -1, -1);
      check_case(&cases[c], levels[l], 0, -1, -1);
    }
}

/* A NaN input makes NaN of the outputs whose windows hold it, as in the reference, and may
 * of the other outputs of their tiles (the transforms mix the tile's inputs); every other
 * output stays exact. */
TEST(winograd_keeps_nan_within_its_tiles) {
  const wg_case k = {1, 8, 9, 8, 16, 1, 1, 1, 1, 0.0f, 6.0f};
  tfl_cpu_level levels[2];
  const int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++) {
    check_case(&k, levels[l], 1, 2, 3);
    check_case(&k, levels[l], 1, 7, 0);
  }
}

/* A fused ADD: exactly clamp(y + r) of the plain convolution's clamped y, NaN included. */
TEST(winograd_adds_a_residual_after_the_clamp) {
  const wg_case k = {2, 7, 9, 12, 21, 1, 1, 1, 1, -1.0f, 1.0f};
  const tfl_window win = {axis(k.in_h, 1, 1), axis(k.in_w, 1, 1)};
  const size_t out_n = (size_t)k.batches * win.h.out * win.w.out * k.out_c;
  float *in = ck_random_floats((size_t)k.batches * k.in_h * k.in_w * k.in_c, 41);
  float *filter = ck_random_floats((size_t)k.out_c * 9 * k.in_c, 42);
  float *bias = ck_random_floats((size_t)k.out_c, 43), *r = ck_random_floats(out_n, 44);
  float *plain = malloc(out_n * sizeof(float)), *fused = malloc(out_n * sizeof(float));
  r[5] = NAN;
  tfl_cpu_level levels[2];
  const int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++) {
    tfl_winograd wg = {0};
    REQUIRE(tfl_winograd_prepare(&wg, levels[l], &win, k.batches, k.in_c, k.out_c, filter,
                                 bias) == TFL_OK);
    void *scratch = malloc(tfl_winograd_scratch_bytes(&wg, 1) + 64);
    const tfl_gemm_residual res = {r, (size_t)k.out_c, 0.0f, 6.0f};
    tfl_winograd_eval(NULL, &wg, in, plain, scratch, k.lo, k.hi, NULL);
    tfl_winograd_eval(NULL, &wg, in, fused, scratch, k.lo, k.hi, &res);
    int bad = 0;
    for (size_t i = 0; i < out_n && !bad; i++) {
      float y = plain[i] + r[i];
      y = y < 0.0f ? 0.0f : y > 6.0f ? 6.0f : y;
      if (!(fused[i] == y || (isnan(fused[i]) && isnan(y)))) {
        test_fail(__FILE__, __LINE__, "level %d: output %zu = %.9g, want %.9g", (int)levels[l],
                  i, fused[i], y);
        bad = 1;
      }
    }
    tfl_winograd_free(&wg);
    free(scratch);
  }
  free(in), free(filter), free(bias), free(r), free(plain), free(fused);
}

TEST(winograd_declines_other_windows) {
  const tfl_window w3 = {axis(8, 1, 1), axis(8, 1, 1)};
  tfl_window s2 = w3, d2 = w3, k5 = w3;
  s2.w.stride = 2;
  d2.h.dilation = 2;
  k5.h.filter = 5;
  CHECK(tfl_winograd_supports(TFL_CPU_AVX2, &w3, 8, 8, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_SCALAR, &w3, 8, 8, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &w3, 8, 8, 2));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &w3, 3, 8, 1)); /* too few channels to pay */
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &w3, 8, 4, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &s2, 8, 8, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &d2, 8, 8, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &k5, 8, 8, 1));
  const tfl_window small = {axis(4, 1, 1), axis(6, 1, 1)}; /* 2 x 3 tiles */
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &small, 8, 8, 1));
  CHECK(!tfl_winograd_supports(TFL_CPU_AVX2, &w3, 4096, 4097, 1)); /* U would be too big */
}

/* One CONV_2D, 3x3 SAME stride 1, 12 -> 40 channels, RELU, over a 2x15x13 image. */
static uint8_t *conv_model(size_t *size) {
  static const int32_t in_dims[] = {2, 15, 13, 12}, f_dims[] = {40, 3, 3, 12}, b_dims[] = {40};
  static const int32_t out_dims[] = {2, 15, 13, 40};
  float *filter = ck_random_floats(40 * 9 * 12, 30), *bias = ck_random_floats(40, 31);
  mb_model *m = mb_new();
  const int x = mb_tensor(m, TFL_FLOAT32, 4, in_dims, NULL, 0, "x");
  const int f = mb_tensor(m, TFL_FLOAT32, 4, f_dims, filter, 40 * 9 * 12 * 4, NULL);
  const int b = mb_tensor(m, TFL_FLOAT32, 1, b_dims, bias, 40 * 4, NULL);
  const int y = mb_tensor(m, TFL_FLOAT32, 4, out_dims, NULL, 0, "y");
  const mb_field opt[] = {MB_BYTE(0, 0), MB_INT(1, 1), MB_INT(2, 1), MB_BYTE(3, 1),
                          MB_FIELDS_END};
  mb_op(m, TFL_OP_CONV_2D, 1, 3, (int[]){x, f, b}, 1, &y, TFL_OPTS_CONV_2D, opt);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  free(filter), free(bias);
  return bytes;
}

#define CONV_OUT (2 * 15 * 13 * 40)

/* Threads split tiles and output channels, never a sum: the same bits. */
TEST(winograd_in_a_model_matches_threads_and_reference) {
  size_t size = 0;
  uint8_t *bytes = conv_model(&size);
  REQUIRE(bytes != NULL);
  const size_t n = CONV_OUT * sizeof(float);
  float *one = malloc(n), *two = malloc(n), *ref = malloc(n);
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 1, NULL, 32, one, n), TFL_OK);
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 2, NULL, 32, two, n), TFL_OK);
  CHECK_EQ_INT(ck_run_float_model(bytes, size, 1, "scalar", 32, ref, n), TFL_OK);
  CHECK(memcmp(one, two, n) == 0);
  for (int i = 0; i < CONV_OUT; i++) CHECK_NEAR(one[i], ref[i], 1e-5 * (1.0 + fabs(ref[i])));
  free(bytes), free(one), free(two), free(ref);
}

int main(void) {
  RUN(winograd_matches_naive_convolution);
  RUN(winograd_keeps_nan_within_its_tiles);
  RUN(winograd_adds_a_residual_after_the_clamp);
  RUN(winograd_declines_other_windows);
  RUN(winograd_in_a_model_matches_threads_and_reference);
  return test_summary();
}
