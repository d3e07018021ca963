/* The int8/uint8 depthwise fast path (qdwconv.h) against the reference: directly, every kernel
 * this machine runs (the portable one, AVX2 where present) against a naive depthwise
 * convolution written here (int64 accumulation over the in-bounds taps, quant.h's
 * multipliers), on random windows, strides, dilations, paddings, channel counts, tiny images
 * and requantizations (per-channel multipliers and shifts, both roundings, clamps below, at and
 * above the output zero point, biases over the whole int32 range so that sums wrap); and
 * through the interpreter, the fast path's codes against the reference kernel's
 * (TFL_CPU=scalar), depth multipliers above 1 included (which stay on the reference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qdwconv.h"
#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static uint8_t *random_bytes(size_t n, uint32_t *rng) {
  uint8_t *v = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) v[i] = (uint8_t)ck_xorshift(rng);
  return v;
}

typedef struct dw_shape {
  int32_t batches, h, w, channels, kh, kw, stride_h, stride_w, dilation, same;
} dw_shape;

/* The shapes of MobileNet v2's layers (scaled down), then every edge the kernels have: channel
 * counts around multiples of 8 and 16, windows other than 3x3, strides 1 to 3, dilation,
 * VALID and SAME, images smaller than the window, a batch. */
static const dw_shape shapes[] = {
    {1, 12, 12, 32, 3, 3, 1, 1, 1, 1}, {1, 12, 11, 96, 3, 3, 2, 2, 1, 1},
    {1, 9, 9, 144, 3, 3, 1, 1, 1, 1},  {1, 7, 7, 48, 3, 3, 2, 2, 1, 1},
    {1, 5, 6, 17, 3, 3, 1, 1, 1, 1},   {2, 6, 5, 9, 3, 3, 1, 1, 1, 0},
    {1, 8, 8, 8, 3, 3, 2, 2, 1, 0},    {1, 9, 7, 40, 5, 5, 1, 1, 1, 1},
    {1, 7, 8, 3, 3, 3, 1, 1, 2, 1},    {1, 10, 10, 24, 3, 3, 1, 1, 2, 0},
    {1, 5, 5, 1, 2, 2, 1, 1, 1, 1},    {1, 4, 9, 33, 1, 3, 2, 2, 1, 1},
    {1, 9, 4, 15, 3, 1, 1, 1, 1, 1},   {1, 11, 11, 31, 3, 3, 3, 3, 1, 1},
    {1, 7, 9, 16, 3, 3, 1, 2, 1, 1},   {1, 1, 1, 7, 3, 3, 1, 1, 1, 1},
    {1, 2, 3, 16, 3, 3, 1, 1, 1, 1},   {1, 2, 3, 12, 3, 3, 2, 2, 1, 1},
    {1, 3, 3, 5, 3, 3, 1, 1, 1, 0},    {2, 1, 1, 64, 1, 1, 1, 1, 1, 1},
    {1, 6, 6, 25, 7, 7, 1, 1, 1, 1},   {1, 13, 5, 20, 3, 3, 1, 1, 3, 1},
    /* 3x3 pixels going two at a time: sharing columns (stride 1, or stride 2 with dilation
     * 2) or not (stride 4 with dilation 2), widths 1 to 8 around the interior's odd last
     * pixel, channel tails, a batch */
    {1, 5, 1, 16, 3, 3, 1, 1, 1, 1},   {1, 4, 2, 48, 3, 3, 1, 1, 1, 1},
    {1, 4, 3, 19, 3, 3, 1, 1, 1, 0},   {1, 5, 4, 32, 3, 3, 1, 1, 1, 0},
    {1, 3, 5, 7, 3, 3, 1, 1, 1, 1},    {1, 6, 6, 64, 3, 3, 1, 1, 1, 0},
    {1, 4, 7, 33, 3, 3, 1, 1, 1, 1},   {1, 5, 8, 16, 3, 3, 1, 1, 1, 0},
    {3, 6, 9, 40, 3, 3, 1, 1, 1, 1},   {1, 11, 13, 24, 3, 3, 2, 2, 2, 1},
    {1, 12, 15, 17, 3, 3, 4, 4, 2, 1}, {1, 9, 12, 50, 3, 3, 2, 2, 1, 0},
};

/* A quantized op's arithmetic: random multipliers and shifts per channel, zero points and a
 * clamp of kind `clamp`: 0 the whole range, 1 at the output zero point and above (RELU),
 * 2 anywhere around it. */
typedef struct dw_quant {
  tfl_type type;
  tfl_window_quant q;
  int32_t mult[256], shift[256];
} dw_quant;

static void dw_quant_init(dw_quant *s, tfl_type type, tfl_window_requant mode, int32_t channels,
                          int min_shift, int max_shift, int clamp, uint32_t *rng) {
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->q.mode = mode;
  s->q.channels = channels;
  s->q.multiplier = s->mult;
  s->q.shift = s->shift;
  for (int32_t c = 0; c < channels; c++) {
    s->mult[c] = (int32_t)((1u << 30) + (ck_xorshift(rng) & 0x3fffffffu));
    s->shift[c] = ck_xorshift_in(rng, min_shift, max_shift);
    if (ck_xorshift(rng) % 8 == 0) s->mult[c] = 1 << 30; /* products ending in exact halves */
  }
  const int32_t lo = type == TFL_UINT8 ? 0 : -128, hi = type == TFL_UINT8 ? 255 : 127;
  s->q.input_offset = -ck_xorshift_in(rng, lo, hi);
  s->q.filter_offset = type == TFL_UINT8 ? -ck_xorshift_in(rng, 0, 255) : 0;
  s->q.output_offset = ck_xorshift_in(rng, lo + 20, hi - 20);
  s->q.act_min = lo;
  s->q.act_max = hi;
  if (clamp == 1) {
    s->q.act_min = s->q.output_offset + ck_xorshift_in(rng, 0, 3);
    s->q.act_max = ck_xorshift_in(rng, s->q.act_min + 1, hi);
  } else if (clamp == 2) {
    s->q.act_min = ck_xorshift_in(rng, lo, s->q.output_offset);
    s->q.act_max = ck_xorshift_in(rng, s->q.output_offset, hi);
  }
}

static int32_t naive_code(const dw_quant *s, int32_t c, int64_t acc) {
  const int32_t x = (int32_t)(uint32_t)(uint64_t)acc; /* int32 wrapping, as the reference */
  int32_t v = s->q.mode == TFL_REQUANT_RUY
                  ? tfl_mul_by_quantized_multiplier_ruy(x, s->mult[c], s->shift[c])
                  : tfl_mul_by_quantized_multiplier(x, s->mult[c], s->shift[c]);
  v = (int32_t)((uint32_t)v + (uint32_t)s->q.output_offset);
  return v < s->q.act_min ? s->q.act_min : v > s->q.act_max ? s->q.act_max : v;
}

static int32_t naive_dw(const dw_shape *d, const tfl_window *win, const dw_quant *s,
                        const uint8_t *in, const uint8_t *f, const int32_t *bias, int32_t n,
                        int32_t oy, int32_t ox, int32_t c) {
  int64_t acc = bias ? bias[c] : 0;
  for (int32_t ky = 0; ky < d->kh; ky++)
    for (int32_t kx = 0; kx < d->kw; kx++) {
      const int32_t iy = oy * d->stride_h - win->h.pad + ky * d->dilation;
      const int32_t ix = ox * d->stride_w - win->w.pad + kx * d->dilation;
      if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
      const size_t xi = (((size_t)n * (size_t)d->h + (size_t)iy) * (size_t)d->w + (size_t)ix) *
                            (size_t)d->channels + (size_t)c;
      const size_t wi = ((size_t)ky * (size_t)d->kw + (size_t)kx) * (size_t)d->channels +
                        (size_t)c;
      acc += (int64_t)(ck_code_at(s->type, in, xi) + s->q.input_offset) *
             (ck_code_at(s->type, f, wi) + s->q.filter_offset);
    }
  return naive_code(s, c, acc);
}

/* Levels with their own kernels: the portable one (TFL_CPU_NEON stands for any non-scalar
 * level without vector kernels here), and AVX2 when the machine has it. */
static int test_levels(tfl_cpu_level *levels) {
  int n = 0;
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (hw < TFL_CPU_NEON) levels[n++] = TFL_CPU_NEON;
  if (hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON) levels[n++] = TFL_CPU_AVX2;
  if (hw >= TFL_CPU_NEON) levels[n++] = hw;
  return n;
}

/* Runs one case at `level`; returns 0 (after reporting the first difference) on a mismatch. */
static int check_case(const dw_shape *d, tfl_cpu_level level, tfl_type type,
                      tfl_window_requant mode, int clamp, int wide_bias, int has_bias,
                      uint32_t seed) {
  uint32_t rng = seed;
  dw_quant s;
  /* shifts from -14 to 1: right shifts of every size, none, and left ones */
  dw_quant_init(&s, type, mode, d->channels, -14, clamp ? -1 : 1, clamp, &rng);
  const tfl_window win = {ck_window_axis(d->h, d->kh, d->stride_h, d->dilation, d->same),
                          ck_window_axis(d->w, d->kw, d->stride_w, d->dilation, d->same)};
  const size_t in_n = (size_t)d->batches * (size_t)d->h * (size_t)d->w * (size_t)d->channels;
  const size_t out_n = (size_t)d->batches * (size_t)win.h.out * (size_t)win.w.out *
                       (size_t)d->channels;
  uint8_t *in = random_bytes(in_n, &rng);
  uint8_t *f = random_bytes((size_t)d->kh * (size_t)d->kw * (size_t)d->channels, &rng);
  int32_t *bias = malloc((size_t)d->channels * sizeof(int32_t));
  for (int32_t c = 0; c < d->channels; c++)
    bias[c] = wide_bias ? (int32_t)ck_xorshift(&rng) : ck_xorshift_in(&rng, -100000, 100000);
  /* one byte past the output, which must stay untouched */
  uint8_t *out = malloc(out_n + 1);
  memset(out, 0xA5, out_n + 1);
  tfl_tensor input = ck_const_tensor(type, in), filter = ck_const_tensor(type, f),
             bias_t = ck_const_tensor(TFL_INT32, bias);
  const tfl_tensor *bias_p = has_bias ? &bias_t : NULL;
  tfl_qdwconv dw;
  memset(&dw, 0, sizeof(dw));
  int ok = 1;
  CHECK(tfl_qdwconv_supports(level, 1, &win, &s.q, &input, &filter, bias_p));
  if (tfl_qdwconv_prepare(&dw, level, &win, d->batches, d->channels, &s.q, &input, &filter,
                          bias_p) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "prepare failed");
    ok = 0;
  } else {
    tfl_qdwconv_eval(NULL, &dw, in, out);
    size_t i = 0;
    for (int32_t n = 0; n < d->batches && ok; n++)
      for (int32_t oy = 0; oy < win.h.out && ok; oy++)
        for (int32_t ox = 0; ox < win.w.out && ok; ox++)
          for (int32_t c = 0; c < d->channels && ok; c++, i++) {
            const int32_t want = naive_dw(d, &win, &s, in, f, has_bias ? bias : NULL, n, oy, ox, c);
            if (ck_code_at(type, out, i) != want) {
              test_fail(__FILE__, __LINE__,
                        "%s %s %s clamp %d: %dx%dx%d k%dx%d s%d,%d d%d %s: (%d,%d,%d,%d) = %d, "
                        "want %d", tfl_cpu_level_name(level),
                        type == TFL_UINT8 ? "uint8" : "int8",
                        mode == TFL_REQUANT_RUY ? "ruy" : "double", clamp, (int)d->h,
                        (int)d->w, (int)d->channels, (int)d->kh, (int)d->kw, (int)d->stride_h,
                        (int)d->stride_w, (int)d->dilation, d->same ? "SAME" : "VALID", (int)n,
                        (int)oy, (int)ox, (int)c, (int)ck_code_at(type, out, i), (int)want);
              ok = 0;
            }
          }
    if (ok && out[out_n] != 0xA5) {
      test_fail(__FILE__, __LINE__, "wrote past the output");
      ok = 0;
    }
  }
  tfl_qdwconv_free(&dw);
  free(in);
  free(f);
  free(bias);
  free(out);
  return ok;
}

TEST(fast_path_matches_a_naive_depthwise_convolution) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 2024;
  for (int l = 0; l < nl; l++)
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
      for (int v = 0; v < 6; v++) {
        const tfl_type type = v % 2 ? TFL_INT8 : TFL_UINT8;
        const tfl_window_requant mode = v == 3 || v == 4 ? TFL_REQUANT_RUY : TFL_REQUANT_DOUBLE;
        const int clamp = v / 2; /* 0, 1, 2 */
        if (!check_case(&shapes[i], levels[l], type, mode, clamp, v == 5, v != 2, seed++)) return;
      }
}

TEST(scalar_level_declines_and_multipliers_above_one_decline) {
  uint32_t rng = 3;
  dw_quant s;
  dw_quant_init(&s, TFL_INT8, TFL_REQUANT_DOUBLE, 8, -5, 0, 0, &rng);
  int8_t w[9 * 8] = {0};
  tfl_tensor input = ck_const_tensor(TFL_INT8, NULL), filter = ck_const_tensor(TFL_INT8, w);
  const tfl_window win = {ck_window_axis(5, 3, 1, 1, 1), ck_window_axis(5, 3, 1, 1, 1)};
  CHECK(!tfl_qdwconv_supports(TFL_CPU_SCALAR, 1, &win, &s.q, &input, &filter, NULL));
  CHECK(!tfl_qdwconv_supports(TFL_CPU_NEON, 2, &win, &s.q, &input, &filter, NULL));
  const tfl_window big = {ck_window_axis(20, 9, 1, 1, 1), ck_window_axis(20, 9, 1, 1, 1)}; /* 81 taps */
  CHECK(!tfl_qdwconv_supports(TFL_CPU_NEON, 1, &big, &s.q, &input, &filter, NULL));
}

/* --- through the interpreter, against the reference kernel --------------------------- */

typedef struct op_case {
  tfl_type type;
  int32_t h, w, in_c, multiplier, k, stride, dilation, padding, act, per_channel, threads;
} op_case;

/* Runs DEPTHWISE_CONV_2D with TFL_CPU set to `cpu` (NULL: as it is) while the interpreter
 * is created; the output codes go to *out (malloc'd). */
static tfl_status run_op(const op_case *oc, const uint8_t *x, const uint8_t *w,
                         const int32_t *b, const char *cpu, uint8_t **out, size_t *bytes) {
  const int32_t out_c = oc->in_c * oc->multiplier;
  const int32_t in_dims[4] = {1, oc->h, oc->w, oc->in_c};
  const int32_t f_dims[4] = {1, oc->k, oc->k, out_c};
  const int32_t b_dims[1] = {out_c};
  const int u8 = oc->type == TFL_UINT8;
  const float in_scale = 0.05f, out_scale = 0.09f;
  float f_scales[64], b_scales[64];
  int64_t f_zp[64], b_zp[64];
  const int n_scales = oc->per_channel ? out_c : 1;
  for (int32_t c = 0; c < out_c; c++) {
    f_scales[c] = 0.004f + 0.001f * (float)(c % 5);
    f_zp[c] = u8 ? 119 : 0;
    b_scales[c] = in_scale * f_scales[oc->per_channel ? c : 0];
    b_zp[c] = 0;
  }
  const int64_t in_zp[1] = {u8 ? 131 : -3}, out_zp[1] = {u8 ? 120 : -7};
  const ot_spec in[3] = {
      {.type = oc->type, .ndim = 4, .dims = in_dims, .data = x, .q_count = 1,
       .scales = &in_scale, .zero_points = in_zp},
      {.type = oc->type, .ndim = 4, .dims = f_dims, .data = w, .constant = 1,
       .q_count = n_scales, .scales = f_scales, .zero_points = f_zp, .q_axis = 3},
      {.type = TFL_INT32, .ndim = 1, .dims = b_dims, .data = b, .constant = 1,
       .q_count = out_c, .scales = b_scales, .zero_points = b_zp}};
  const ot_spec outs[1] = {
      {.type = oc->type, .q_count = 1, .scales = &out_scale, .zero_points = out_zp}};
  const mb_field opt[] = {MB_BYTE(0, oc->padding),     MB_INT(1, oc->stride),
                          MB_INT(2, oc->stride),       MB_INT(3, oc->multiplier),
                          MB_BYTE(4, oc->act),         MB_INT(5, oc->dilation),
                          MB_INT(6, oc->dilation),     MB_FIELDS_END};
  const ot_op op = {.builtin_code = TFL_OP_DEPTHWISE_CONV_2D, .version = 2,
                    .options_type = TFL_OPTS_DEPTHWISE_CONV_2D, .options = opt, .cpu = cpu,
                    .threads = oc->threads};
  ot_result r;
  tfl_status st = ot_run_op(&op, in, 3, outs, 1, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, __LINE__, "%s", r.error);
  } else {
    *bytes = r.out[0].bytes;
    *out = malloc(*bytes ? *bytes : 1);
    memcpy(*out, r.out[0].data, *bytes);
  }
  ot_result_free(&r);
  return st;
}

TEST(fast_path_in_a_model_matches_the_reference_kernel) {
  static const op_case cases[] = {
      {TFL_UINT8, 11, 13, 24, 1, 3, 1, 1, 0, TFL_ACT_RELU6, 0, 1},
      {TFL_INT8, 11, 13, 24, 1, 3, 1, 1, 0, TFL_ACT_RELU6, 1, 1},
      {TFL_INT8, 12, 9, 19, 1, 3, 2, 1, 0, TFL_ACT_NONE, 1, 1},
      {TFL_UINT8, 12, 9, 19, 1, 3, 2, 1, 1, TFL_ACT_RELU, 0, 1},
      {TFL_INT8, 9, 10, 8, 1, 3, 1, 2, 0, TFL_ACT_NONE, 1, 1},
      {TFL_UINT8, 8, 8, 40, 1, 5, 1, 1, 0, TFL_ACT_RELU6, 0, 1},
      {TFL_INT8, 7, 7, 6, 2, 3, 1, 1, 0, TFL_ACT_RELU6, 1, 1}, /* multiplier 2: reference */
      {TFL_UINT8, 2, 3, 16, 1, 3, 1, 1, 0, TFL_ACT_NONE, 0, 1},
      {TFL_INT8, 1, 1, 33, 1, 3, 1, 1, 0, TFL_ACT_RELU_N1_TO_1, 1, 1},
      /* split over two threads */
      {TFL_UINT8, 13, 11, 40, 1, 3, 1, 1, 0, TFL_ACT_RELU6, 0, 2},
      {TFL_INT8, 14, 9, 24, 1, 3, 2, 1, 0, TFL_ACT_NONE, 1, 2},
      {TFL_INT8, 3, 17, 16, 1, 3, 1, 1, 1, TFL_ACT_RELU, 1, 2},
  };
  uint32_t rng = 77;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const op_case *oc = &cases[i];
    const int32_t out_c = oc->in_c * oc->multiplier;
    uint8_t *x = random_bytes((size_t)oc->h * (size_t)oc->w * (size_t)oc->in_c, &rng);
    uint8_t *w = random_bytes((size_t)oc->k * (size_t)oc->k * (size_t)out_c, &rng);
    if (oc->type == TFL_INT8) /* symmetric filters: no -128 */
      for (size_t j = 0; j < (size_t)oc->k * (size_t)oc->k * (size_t)out_c; j++)
        if (w[j] == 0x80) w[j] = 0x81;
    int32_t *b = malloc((size_t)out_c * sizeof(int32_t));
    for (int32_t c = 0; c < out_c; c++) b[c] = ck_xorshift_in(&rng, -30000, 30000);
    uint8_t *ref = NULL, *fast = NULL;
    size_t ref_bytes = 0, fast_bytes = 0;
    if (run_op(oc, x, w, b, "scalar", &ref, &ref_bytes) == TFL_OK &&
        run_op(oc, x, w, b, NULL, &fast, &fast_bytes) == TFL_OK) {
      CHECK_EQ_INT((int)fast_bytes, (int)ref_bytes);
      for (size_t j = 0; j < ref_bytes && j < fast_bytes; j++)
        if (ref[j] != fast[j]) {
          test_fail(__FILE__, __LINE__, "case %zu: code %zu = %d, reference %d", i, j,
                    (int)ck_code_at(oc->type, fast, j), (int)ck_code_at(oc->type, ref, j));
          break;
        }
    }
    free(ref);
    free(fast);
    free(x);
    free(w);
    free(b);
  }
}

int main(void) {
  RUN(fast_path_matches_a_naive_depthwise_convolution);
  RUN(scalar_level_declines_and_multipliers_above_one_decline);
  RUN(fast_path_in_a_model_matches_the_reference_kernel);
  return test_summary();
}
