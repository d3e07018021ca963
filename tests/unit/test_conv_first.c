/* The direct kernel of float convolutions over few input channels (conv_first.h), through
 * CONV_2D and on its own, against a naive convolution in double written here: filter sizes 1
 * to 7, strides 1 and 2, dilations 1 and 2, SAME and VALID, odd sizes, 1 to 4 input channels,
 * output channel counts off the 4-, 8- and 32-channel blocks, every fused activation, with and
 * without bias, batch 2, one and two threads, at every CPU level the machine has
 * (tests/util/cpu_levels.h: the AVX2 variant on x86-64, the NEON one on aarch64) and at
 * TFL_CPU=scalar (which must not take this path). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/conv_first.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "util/check_util.h"
#include "util/cpu_levels.h"
#include "util/model_builder.h"
#include "util/op_runner.h"
#include "util/test.h"

typedef struct fc_case {
  int32_t batches, in_h, in_w, in_c, out_c, kh, kw;
  int32_t stride_h, stride_w, dil_h, dil_w;
  int same, act, has_bias;
} fc_case;

/* The test's own reading of the activation codes (schema ActivationFunctionType). */
static void act_range(int act, double *lo, double *hi) {
  *lo = -FLT_MAX;
  *hi = FLT_MAX;
  if (act == TFL_ACT_RELU) *lo = 0.0;
  if (act == TFL_ACT_RELU_N1_TO_1) *lo = -1.0, *hi = 1.0;
  if (act == TFL_ACT_RELU6) *lo = 0.0, *hi = 6.0;
}

static tfl_window case_window(const fc_case *k) {
  const tfl_window win = {ck_window_axis(k->in_h, k->kh, k->stride_h, k->dil_h, k->same),
                          ck_window_axis(k->in_w, k->kw, k->stride_w, k->dil_w, k->same)};
  return win;
}

/* The expected output in double, and per output the sum of the magnitudes of its terms
 * (what bounds the float rounding error). */
typedef struct fc_want {
  double *value, *mag;
  size_t count;
} fc_want;

static double input_at(const fc_case *k, const float *x, int32_t n, int32_t y, int32_t xx,
                       int32_t c) {
  if (y < 0 || y >= k->in_h || xx < 0 || xx >= k->in_w) return 0.0;
  return x[(((size_t)n * k->in_h + y) * k->in_w + xx) * k->in_c + c];
}

static fc_want naive_conv(const fc_case *k, const tfl_window *win, const float *x,
                          const float *f, const float *b) {
  fc_want w;
  w.count = (size_t)k->batches * win->h.out * win->w.out * k->out_c;
  w.value = calloc(w.count + 1, sizeof(double));
  w.mag = calloc(w.count + 1, sizeof(double));
  double lo, hi;
  act_range(k->act, &lo, &hi);
  size_t i = 0;
  for (int32_t n = 0; n < k->batches; n++)
    for (int32_t oy = 0; oy < win->h.out; oy++)
      for (int32_t ox = 0; ox < win->w.out; ox++)
        for (int32_t oc = 0; oc < k->out_c; oc++, i++) {
          double s = b ? b[oc] : 0.0, m = b ? fabs(b[oc]) : 0.0;
          for (int32_t ky = 0; ky < k->kh; ky++)
            for (int32_t kx = 0; kx < k->kw; kx++)
              for (int32_t c = 0; c < k->in_c; c++) {
                const int32_t y = oy * k->stride_h - win->h.pad + ky * k->dil_h;
                const int32_t xx = ox * k->stride_w - win->w.pad + kx * k->dil_w;
                const double t = input_at(k, x, n, y, xx, c) *
                                 f[(((size_t)oc * k->kh + ky) * k->kw + kx) * k->in_c + c];
                s += t;
                m += fabs(t);
              }
          w.value[i] = s < lo ? lo : s > hi ? hi : s;
          w.mag[i] = m;
        }
  return w;
}

static void want_free(fc_want *w) {
  free(w->value);
  free(w->mag);
}

/* got against want, within the rounding of a float sum of the taps; reports the first
 * mismatch under `what`. */
static void compare(const fc_case *k, const fc_want *want, const float *got, const char *what) {
  const double taps = (double)k->kh * k->kw * k->in_c;
  for (size_t i = 0; i < want->count; i++) {
    const double tol = (taps + 2) * FLT_EPSILON * want->mag[i] + 1e-30;
    if (fabs(got[i] - want->value[i]) <= tol) continue;
    test_fail(__FILE__, __LINE__,
              "%s: %dx%dx%dx%d -> %d, filter %dx%d, stride %d/%d, dilation %d/%d, %s, act %d: "
              "output %zu = %.9g, want %.9g",
              what, (int)k->batches, (int)k->in_h, (int)k->in_w, (int)k->in_c, (int)k->out_c,
              (int)k->kh, (int)k->kw, (int)k->stride_h, (int)k->stride_w, (int)k->dil_h,
              (int)k->dil_w, k->same ? "SAME" : "VALID", k->act, i, got[i], want->value[i]);
    return;
  }
}

static tfl_status run_op(const fc_case *k, const float *x, const float *f, const float *b,
                         int threads, const char *cpu, ot_result *r) {
  const int32_t in_dims[4] = {k->batches, k->in_h, k->in_w, k->in_c};
  const int32_t f_dims[4] = {k->out_c, k->kh, k->kw, k->in_c};
  const int32_t b_dims[1] = {k->out_c};
  ot_spec in[3] = {OT_F32(4, in_dims, x), OT_F32_CONST(4, f_dims, f),
                   OT_F32_CONST(1, b_dims, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  const mb_field opt[] = {MB_BYTE(0, k->same ? TFL_PADDING_SAME : TFL_PADDING_VALID),
                          MB_INT(1, k->stride_w),
                          MB_INT(2, k->stride_h),
                          MB_BYTE(3, k->act),
                          MB_INT(4, k->dil_w),
                          MB_INT(5, k->dil_h),
                          MB_FIELDS_END};
  const ot_op op = {.builtin_code = TFL_OP_CONV_2D,
                    .version = 1,
                    .options_type = TFL_OPTS_CONV_2D,
                    .options = opt,
                    .threads = threads,
                    .cpu = cpu};
  memset(r, 0, sizeof(*r));
  return ot_run_op(&op, in, k->has_bias ? 3 : 2, out, 1, r);
}

/* Whether the machine's best level takes this path (the kernel-only tests need it). */
static int have_path(void) { return tfl_conv_first_supports(tfl_cpu_detect_hardware(), 3, 1); }

/* The kernel alone at `level`, with no context (one thread), when the level takes the path. */
static void check_kernel_at(tfl_cpu_level level, const fc_case *k, const tfl_window *win,
                            const float *x, const float *f, const float *b,
                            const fc_want *want) {
  if (!tfl_conv_first_supports(level, k->in_c, 1)) return;
  double lo, hi;
  act_range(k->act, &lo, &hi);
  tfl_conv_first cf;
  memset(&cf, 0, sizeof(cf));
  REQUIRE(tfl_conv_first_prepare(&cf, level, win, k->batches, k->in_c, k->out_c, f, b,
                                 (float)lo, (float)hi) == TFL_OK);
  float *out = malloc((want->count + 1) * sizeof(float));
  tfl_conv_first_eval(NULL, &cf, x, out);
  char what[64];
  snprintf(what, sizeof(what), "kernel at %s", tfl_cpu_level_name(level));
  compare(k, want, out, what);
  free(out);
  tfl_conv_first_free(&cf);
}

static void check_kernel(const fc_case *k, const tfl_window *win, const float *x,
                         const float *f, const float *b, const fc_want *want) {
  check_kernel_at(tfl_cpu_detect_hardware(), k, win, x, f, b, want);
}

/* The case through CONV_2D and one thread at every level (scalar first), through CONV_2D and
 * two threads at the best level, and through the kernel alone at every vector level. */
static void check_case(const fc_case *k, unsigned seed) {
  const tfl_window win = case_window(k);
  float *x = ck_random_floats((size_t)k->batches * k->in_h * k->in_w * k->in_c, seed);
  float *f = ck_random_floats((size_t)k->out_c * k->kh * k->kw * k->in_c, seed + 1);
  float *b = ck_random_floats((size_t)k->out_c, seed + 2);
  const float *bias = k->has_bias ? b : NULL;
  fc_want want = naive_conv(k, &win, x, f, bias);
  const char *levels[CK_MAX_CPU_LEVELS];
  const int n_levels = ck_cpu_levels(levels);
  for (int l = 0; l < n_levels; l++)
    check_kernel_at((tfl_cpu_level)tfl_cpu_level_parse(levels[l]), k, &win, x, f, bias, &want);
  for (int run = 0; run <= n_levels && test_failures_in_current == 0; run++) {
    /* runs 0 .. n_levels - 1: one thread at each level; the last: two at the best */
    const int threads = run < n_levels ? 1 : 2;
    const char *cpu = levels[run < n_levels ? run : n_levels - 1];
    char what[64];
    snprintf(what, sizeof(what), "CONV_2D at %s, %d thread%s", cpu, threads,
             threads > 1 ? "s" : "");
    ot_result r;
    const tfl_status st = run_op(k, x, f, b, threads, cpu, &r);
    if (st != TFL_OK) {
      test_fail(__FILE__, __LINE__, "%s: %s", what, r.error);
    } else {
      CHECK_EQ_INT(r.out[0].dims[1], win.h.out);
      CHECK_EQ_INT(r.out[0].dims[2], win.w.out);
      CHECK_EQ_INT(r.out[0].dims[3], k->out_c);
      if (test_failures_in_current == 0) compare(k, &want, ot_f32(&r, 0), what);
    }
    ot_result_free(&r);
  }
  want_free(&want);
  free(x);
  free(f);
  free(b);
}

static const int fc_acts[] = {TFL_ACT_NONE, TFL_ACT_RELU, TFL_ACT_RELU_N1_TO_1, TFL_ACT_RELU6};
/* Blocks of every width (8 to 32 channels, NEON's vectors of 4 and AVX2's of 8), full and
 * with 1 to 3 (NEON) or 1 to 7 (AVX2) channels in their last vector. */
static const int32_t fc_out_channels[] = {1, 3, 5, 8, 13, 21, 24, 32, 37, 64, 70};
#define FC_N_OUT_CHANNELS ((unsigned)(sizeof(fc_out_channels) / sizeof(fc_out_channels[0])))

/* Square filters 1..7 over every stride, dilation, padding and input channel count; the
 * other settings rotate from case to case. */
TEST(square_filters_all_options) {
  unsigned seed = 1;
  for (int32_t kk = 1; kk <= 7 && test_failures_in_current == 0; kk++)
    for (int32_t s = 1; s <= 2; s++)
      for (int32_t d = 1; d <= 2; d++)
        for (int same = 0; same <= 1; same++)
          for (int32_t c = 1; c <= 4; c++, seed += 3) {
            const fc_case k = {.batches = 2,
                               .in_h = 9 + (int32_t)(seed % 7),
                               .in_w = 11 + (int32_t)(seed % 5) * 2,
                               .in_c = c,
                               .out_c = fc_out_channels[seed % FC_N_OUT_CHANNELS],
                               .kh = kk,
                               .kw = kk,
                               .stride_h = s,
                               .stride_w = s,
                               .dil_h = d,
                               .dil_w = d,
                               .same = same,
                               .act = fc_acts[seed % 4],
                               .has_bias = seed % 5 != 0};
            check_case(&k, seed);
          }
}

/* Rectangular filters with the height and width settings differing. */
TEST(rectangular_filters_mixed_strides) {
  unsigned seed = 500;
  for (int32_t kh = 1; kh <= 7 && test_failures_in_current == 0; kh += 2)
    for (int32_t kw = 1; kw <= 7; kw += 3)
      for (int32_t c = 1; c <= 4; c++, seed += 3) {
        const fc_case k = {.batches = 2,
                           .in_h = 8 + (int32_t)(seed % 9),
                           .in_w = 7 + (int32_t)(seed % 11),
                           .in_c = c,
                           .out_c = fc_out_channels[(seed / 3) % FC_N_OUT_CHANNELS],
                           .kh = kh,
                           .kw = kw,
                           .stride_h = 1 + (int32_t)(seed % 2),
                           .stride_w = 2 - (int32_t)(seed % 2),
                           .dil_h = 2 - (int32_t)((seed / 2) % 2),
                           .dil_w = 1 + (int32_t)((seed / 2) % 2),
                           .same = (int)(seed % 2),
                           .act = fc_acts[(seed / 3) % 4],
                           .has_bias = 1};
        check_case(&k, seed);
      }
}

/* An image network's first layers, at a small size: 3x3 stride 2 SAME to 32 channels
 * (MobileNet) and 7x7 stride 2 SAME to 64 (ResNet), every activation. */
TEST(first_layers_of_image_networks) {
  for (int a = 0; a < 4 && test_failures_in_current == 0; a++) {
    const fc_case mobilenet = {2, 33, 30, 3, 32, 3, 3, 2, 2, 1, 1, 1, fc_acts[a], 1};
    check_case(&mobilenet, 900u + (unsigned)a);
    const fc_case resnet = {2, 31, 36, 3, 64, 7, 7, 2, 2, 1, 1, 1, fc_acts[a], 1};
    check_case(&resnet, 950u + (unsigned)a);
  }
}

/* Windows wider or taller than the image: every pixel is a border pixel (SAME), or the
 * output is empty (VALID). */
TEST(windows_larger_than_the_image) {
  const fc_case same = {2, 3, 2, 4, 13, 7, 6, 1, 2, 1, 1, 1, TFL_ACT_NONE, 1};
  check_case(&same, 1000);
  const fc_case dilated = {2, 5, 4, 2, 9, 3, 3, 1, 1, 2, 3, 1, TFL_ACT_RELU, 1};
  check_case(&dilated, 1010);
  const fc_case valid = {2, 3, 9, 3, 8, 5, 3, 1, 1, 1, 1, 0, TFL_ACT_NONE, 1};
  check_case(&valid, 1020);
}

/* Padding beyond the filter's reach (as a fused PAD can give): output rows and columns whose
 * every tap is in the padding get the clamped bias. */
TEST(kernel_rows_entirely_in_padding) {
  if (!have_path()) return;
  const fc_case k = {2, 3, 4, 3, 21, 1, 2, 1, 1, 1, 1, 0, TFL_ACT_RELU6, 1};
  tfl_window win = {{3, 1, 1, 1, 7, 2}, {4, 2, 1, 1, 7, 2}};
  float *x = ck_random_floats(2 * 3 * 4 * 3, 7), *f = ck_random_floats(21 * 2 * 3, 8);
  float *b = ck_random_floats(21, 9);
  for (int i = 0; i < 21; i++) b[i] *= 8.0f; /* some clamp to 6, some to 0 */
  fc_want want = naive_conv(&k, &win, x, f, b);
  check_kernel(&k, &win, x, f, b, &want);
  want_free(&want);
  free(x);
  free(f);
  free(b);
}

/* Preparing again replaces the packed filter (no leak, the new filter used). */
TEST(prepare_twice_uses_the_new_filter) {
  if (!have_path()) return;
  const fc_case k = {1, 6, 7, 2, 10, 3, 3, 1, 1, 1, 1, 1, TFL_ACT_NONE, 1};
  const tfl_window win = case_window(&k);
  float *x = ck_random_floats(6 * 7 * 2, 11), *f1 = ck_random_floats(10 * 9 * 2, 12);
  float *f2 = ck_random_floats(10 * 9 * 2, 13), *b = ck_random_floats(10, 14);
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  tfl_conv_first cf;
  memset(&cf, 0, sizeof(cf));
  REQUIRE(tfl_conv_first_prepare(&cf, hw, &win, 1, 2, 10, f1, b, -FLT_MAX, FLT_MAX) == TFL_OK);
  REQUIRE(tfl_conv_first_prepare(&cf, hw, &win, 1, 2, 10, f2, b, -FLT_MAX, FLT_MAX) == TFL_OK);
  fc_want want = naive_conv(&k, &win, x, f2, b);
  float *out = malloc(want.count * sizeof(float));
  tfl_conv_first_eval(NULL, &cf, x, out);
  compare(&k, &want, out, "second prepare");
  tfl_conv_first_free(&cf);
  free(out);
  want_free(&want);
  free(x);
  free(f1);
  free(f2);
  free(b);
}

/* PAD -> CONV_2D 3x3 VALID -> ADD(conv, x, RELU6): the runtime folds the PAD and the ADD into
 * the convolution (runtime/fuse.h), which then adds the residual after this kernel. */
TEST(fused_pad_and_add) {
  const fc_case k = {1, 9, 13, 3, 3, 3, 3, 1, 1, 1, 1, 1, TFL_ACT_NONE, 1};
  const int32_t x_dims[4] = {1, 9, 13, 3}, p_dims[4] = {1, 11, 15, 3}, f_dims[4] = {3, 3, 3, 3};
  const int32_t pads[8] = {0, 0, 1, 1, 1, 1, 0, 0}, pads_dims[2] = {4, 2}, b_dims[1] = {3};
  float *f = ck_random_floats(81, 21), *b = ck_random_floats(3, 22);
  mb_model *m = mb_new();
  const int x = mb_tensor(m, TFL_FLOAT32, 4, x_dims, NULL, 0, NULL);
  const int pt = mb_tensor(m, TFL_INT32, 2, pads_dims, pads, sizeof(pads), NULL);
  const int padded = mb_tensor(m, TFL_FLOAT32, 4, p_dims, NULL, 0, NULL);
  const int ft = mb_tensor(m, TFL_FLOAT32, 4, f_dims, f, 81 * sizeof(float), NULL);
  const int bt = mb_tensor(m, TFL_FLOAT32, 1, b_dims, b, 3 * sizeof(float), NULL);
  const int conv = mb_tensor(m, TFL_FLOAT32, 4, x_dims, NULL, 0, NULL);
  const int y = mb_tensor(m, TFL_FLOAT32, 4, x_dims, NULL, 0, NULL);
  const mb_field conv_opt[] = {MB_BYTE(0, TFL_PADDING_VALID), MB_INT(1, 1), MB_INT(2, 1),
                               MB_BYTE(3, TFL_ACT_NONE), MB_FIELDS_END};
  const mb_field add_opt[] = {MB_BYTE(0, TFL_ACT_RELU6), MB_FIELDS_END};
  mb_op(m, TFL_OP_PAD, 1, 2, (int[]){x, pt}, 1, &padded, 0, NULL);
  mb_op(m, TFL_OP_CONV_2D, 1, 3, (int[]){padded, ft, bt}, 1, &conv, TFL_OPTS_CONV_2D, conv_opt);
  mb_op(m, TFL_OP_ADD, 1, 2, (int[]){conv, x}, 1, &y, TFL_OPTS_ADD, add_opt);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  size_t size = 0;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  REQUIRE(bytes != NULL);
  float *in = ck_random_floats(9 * 13 * 3, 23);
  /* SAME is the 1-pixel PAD here. */
  fc_want want = naive_conv(&k,
                            &(tfl_window){ck_window_axis(9, 3, 1, 1, 1),
                                          ck_window_axis(13, 3, 1, 1, 1)},
                            in, f, b);
  for (size_t i = 0; i < want.count; i++) {
    const double s = want.value[i] + in[i];
    want.value[i] = s < 0.0 ? 0.0 : s > 6.0 ? 6.0 : s;
    want.mag[i] += fabs(in[i]);
  }
  float got[9 * 13 * 3];
  for (int threads = 1; threads <= 2; threads++) {
    CHECK(ck_run_float_model(bytes, size, threads, NULL, 23, got, sizeof(got)) == TFL_OK);
    compare(&k, &want, got, threads == 1 ? "fused, 1 thread" : "fused, 2 threads");
  }
  want_free(&want);
  free(in);
  free(bytes);
  free(f);
  free(b);
}

/* Which convolutions take the path: few input channels, one group, a vector level only (AVX2
 * and up on x86-64, NEON and up on aarch64). */
TEST(path_taken_only_where_it_applies) {
  CHECK(!tfl_conv_first_supports(TFL_CPU_SCALAR, 3, 1));
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
#if defined(__aarch64__)
  CHECK(have_path()); /* NEON is always there */
#endif
  if (!have_path()) return;
  CHECK(tfl_conv_first_supports(hw, 1, 1));
  CHECK(tfl_conv_first_supports(hw, 4, 1));
  CHECK(tfl_conv_first_supports(hw >= TFL_CPU_NEON ? TFL_CPU_NEON : TFL_CPU_AVX2, 3, 1));
  CHECK(!tfl_conv_first_supports(hw, 5, 1));
  CHECK(!tfl_conv_first_supports(hw, 4, 2));
  CHECK(!tfl_conv_first_supports(hw, 0, 1));
}

int main(void) {
  RUN(square_filters_all_options);
  RUN(rectangular_filters_mixed_strides);
  RUN(first_layers_of_image_networks);
  RUN(windows_larger_than_the_image);
  RUN(kernel_rows_entirely_in_padding);
  RUN(prepare_twice_uses_the_new_filter);
  RUN(fused_pad_and_add);
  RUN(path_taken_only_where_it_applies);
  return test_summary();
}
