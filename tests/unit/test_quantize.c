/* QUANTIZE: float to uint8/int8/int16 per tensor (rounding ties away from zero after a
 * division in double, clamping, infinities and NaN as x86 converts them) and per channel (the
 * division in float); integer requantization between uint8/int8/int16/int32 with the
 * fixed-point multiplier (its ties toward +infinity), and bad models. Expected values are
 * worked out by hand in the comments. The vector kernels (quantize.h) and the op at every CPU
 * level are checked against TFLite's formula written out here, and on every half-way point
 * of the output range (and the floats next to them) against exact arithmetic; the per-channel
 * kernels and the per-channel op at every CPU level against TFLite's per-channel formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quantize.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "runtime/kernel.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/cpu_levels.h"
#include "util/model_builder.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

static tfl_status run_quantize(tfl_type in_type, int n, const void *x, const float *in_scale,
                               const int64_t *in_zp, tfl_type out_type, int q_count,
                               const float *scales, const int64_t *zps, int ndim,
                               const int32_t *dims, int axis, ot_result *r) {
  const int32_t flat[] = {n};
  ot_spec in[1] = {{.type = in_type, .ndim = dims ? ndim : 1, .dims = dims ? dims : flat,
                    .data = x, .q_count = in_scale ? 1 : 0, .scales = in_scale,
                    .zero_points = in_zp}};
  ot_spec out[1] = {{.type = out_type, .q_count = q_count, .scales = scales, .zero_points = zps,
                     .q_axis = axis}};
  return ot_run(TFL_OP_QUANTIZE, 1, in, 1, out, 1, 0, NULL, r);
}

/* Float input quantized per tensor. */
static tfl_status quantize_f32(int n, const float *x, tfl_type out_type, float scale, int64_t zp,
                               ot_result *r) {
  return run_quantize(TFL_FLOAT32, n, x, NULL, NULL, out_type, 1, &scale, &zp, 0, NULL, 0, r);
}

/* Integer input requantized per tensor. */
static tfl_status requantize(tfl_type in_type, int n, const void *x, float in_scale,
                             int64_t in_zp, tfl_type out_type, float scale, int64_t zp,
                             ot_result *r) {
  return run_quantize(in_type, n, x, &in_scale, &in_zp, out_type, 1, &scale, &zp, 0, NULL, 0, r);
}

/* Float input of shape dims quantized to `type` with per-channel parameters along `axis`
 * (ot_run gives outputs no shape, so this builds the one-op model itself). Returns the status
 * of the first failing step; err receives its message. */
static tfl_status quantize_per_channel(tfl_type type, int ndim, const int32_t *dims,
                                       const float *x, int count, const float *scales,
                                       const int64_t *zps, int axis, void *y, char *err,
                                       size_t err_size) {
  mb_model *m = mb_new();
  const int in = mb_tensor(m, TFL_FLOAT32, ndim, dims, NULL, 0, "x");
  const int out = mb_tensor(m, type, ndim, dims, NULL, 0, "y");
  mb_quant(m, out, count, scales, zps, axis);
  mb_inputs(m, 1, &in);
  mb_outputs(m, 1, &out);
  mb_op(m, TFL_OP_QUANTIZE, 1, 1, &in, 1, &out, 0, NULL);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  tfl_status st = tfl_model_load_buffer(bytes, size, &model, err, err_size);
  if (st == TFL_OK) st = tfl_interpreter_create(model, NULL, &interp, err, err_size);
  if (st == TFL_OK) {
    st = tfl_interpreter_allocate_tensors(interp);
    if (st != TFL_OK) snprintf(err, err_size, "%s", tfl_interpreter_error(interp));
  }
  tfl_tensor *t_in = interp ? tfl_interpreter_input(interp, 0) : NULL;
  if (st == TFL_OK) st = tfl_tensor_copy_from(t_in, x, tfl_tensor_byte_size(t_in));
  if (st == TFL_OK) st = tfl_interpreter_invoke(interp);
  if (st == TFL_OK) {
    const tfl_tensor *t_out = tfl_interpreter_output(interp, 0);
    st = tfl_tensor_copy_to(t_out, y, tfl_tensor_byte_size(t_out));
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  free(bytes);
  return st;
}

TEST(float_to_int8_ties_and_clamping) {
  const float x[] = {2.5f, -2.5f, 0.5f, -0.5f, 1000.0f, -1000.0f, 126.5f, -0.49f};
  ot_result r;
  REQUIRE(quantize_f32(8, x, TFL_INT8, 1.0f, 0, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], 3);
  CHECK_EQ_INT(y[1], -3);
  CHECK_EQ_INT(y[2], 1);
  CHECK_EQ_INT(y[3], -1);
  CHECK_EQ_INT(y[4], 127);
  CHECK_EQ_INT(y[5], -128);
  CHECK_EQ_INT(y[6], 127); /* 126.5 -> 127 */
  CHECK_EQ_INT(y[7], 0);
  ot_result_free(&r);
  /* zero point at the bottom of the range */
  REQUIRE(quantize_f32(8, x, TFL_INT8, 0.5f, -128, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -123); /* 5 - 128 */
  CHECK_EQ_INT(y[1], -128); /* -5 - 128 clamps */
  CHECK_EQ_INT(y[2], -127);
  CHECK_EQ_INT(y[7], -128); /* -0.98 -> -1, clamped */
  ot_result_free(&r);
}

TEST(float_to_uint8_and_int16) {
  const float x[] = {0.0f, 1.0f, -1.0f, 0.2578125f, 3.0f};
  ot_result r;
  REQUIRE(quantize_f32(5, x, TFL_UINT8, 1.0f / 128, 128, &r) == TFL_OK);
  const uint8_t *u = r.out[0].data;
  CHECK(u[0] == 128 && u[1] == 255 && u[2] == 0 && u[3] == 161 && u[4] == 255);
  ot_result_free(&r);
  REQUIRE(quantize_f32(5, x, TFL_INT16, 1.0f / 32768, 0, &r) == TFL_OK);
  const int16_t *h = r.out[0].data;
  CHECK(h[0] == 0 && h[1] == 32767 && h[2] == -32768 && h[3] == 8448 && h[4] == 32767);
  ot_result_free(&r);
}

TEST(float_division_is_in_double_per_tensor_float_per_channel) {
  /* 0.35f / 0.1f is 3.4999999 in double but exactly 3.5 in float */
  const float x[] = {0.35f, 0.35f};
  const float scale = 0.1f;
  ot_result r;
  REQUIRE(quantize_f32(1, x, TFL_INT8, scale, 0, &r) == TFL_OK);
  CHECK_EQ_INT(((const int8_t *)r.out[0].data)[0], 3);
  ot_result_free(&r);
  const int32_t dims[] = {1, 2};
  const float scales[] = {0.1f, 0.1f};
  const int64_t zps[] = {0, 10};
  int8_t y[2];
  char err[256];
  REQUIRE(quantize_per_channel(TFL_INT8, 2, dims, x, 2, scales, zps, 1, y, err, sizeof(err)) ==
          TFL_OK);
  CHECK_EQ_INT(y[0], 4);
  CHECK_EQ_INT(y[1], 14);
}

TEST(float_per_channel) {
  /* [2, 3] quantized along axis 0 with scales 0.5, 2 and zero points -1, 3 */
  const float x[] = {1.0f, -1.25f, 100.0f, 1.0f, -5.0f, 300.0f};
  const int32_t dims[] = {2, 3};
  const float scales[] = {0.5f, 2.0f};
  const int64_t zps[] = {-1, 3};
  int8_t y[6];
  char err[256];
  REQUIRE(quantize_per_channel(TFL_INT8, 2, dims, x, 2, scales, zps, 0, y, err, sizeof(err)) ==
          TFL_OK);
  CHECK_EQ_INT(y[0], 1);   /* 2 - 1 */
  CHECK_EQ_INT(y[1], -4);  /* -2.5 -> -3, -1 */
  CHECK_EQ_INT(y[2], 127); /* 199 clamps */
  CHECK_EQ_INT(y[3], 4);   /* 0.5 -> 1, +3 */
  CHECK_EQ_INT(y[4], 0);   /* -2.5 -> -3, +3 */
  CHECK_EQ_INT(y[5], 127);
}

TEST(float_infinities_and_nan_convert_like_x86) {
  /* x86 turns NaN and out-of-range values into INT32_MIN before the zero point is added */
  const float x[] = {INFINITY, -INFINITY, NAN};
  ot_result r;
  REQUIRE(quantize_f32(3, x, TFL_INT8, 1.0f, 0, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == -128 && y[1] == -128 && y[2] == -128);
  ot_result_free(&r);
  /* with a negative zero point INT32_MIN wraps around to the top */
  REQUIRE(quantize_f32(3, x, TFL_INT8, 1.0f, -1, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == 127 && y[1] == 127 && y[2] == 127);
  ot_result_free(&r);
}

TEST(requantize_int8_uint8) {
  const int8_t s[] = {-128, -1, 0, 127};
  ot_result r;
  /* the same scale, zero points -128 and 0: the bytes flip their top bit */
  REQUIRE(requantize(TFL_INT8, 4, s, 0.25f, -128, TFL_UINT8, 0.25f, 0, &r) == TFL_OK);
  const uint8_t *u = r.out[0].data;
  CHECK(u[0] == 0 && u[1] == 127 && u[2] == 128 && u[3] == 255);
  ot_result_free(&r);
  const uint8_t v[] = {0, 100, 128, 255};
  REQUIRE(requantize(TFL_UINT8, 4, v, 0.25f, 128, TFL_INT8, 0.25f, 0, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == -128 && y[1] == -28 && y[2] == 0 && y[3] == 127);
  ot_result_free(&r);
  /* a different scale as well: (v - 128) * 0.25 / 0.5 + 10 */
  REQUIRE(requantize(TFL_UINT8, 4, v, 0.25f, 128, TFL_INT8, 0.5f, 10, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -54); /* -64 + 10 */
  CHECK_EQ_INT(y[1], -4);  /* -14 + 10 */
  CHECK_EQ_INT(y[2], 10);
  CHECK_EQ_INT(y[3], 74);  /* 63.5 -> 64 */
  ot_result_free(&r);
}

TEST(requantize_int8_to_int8_other_scale) {
  const int8_t s[] = {4, -128, 2, 127, 4, -2};
  ot_result r;
  /* (q - 1) * 0.5 / 0.75 - 3 = (q - 1) * 2 / 3 - 3 */
  REQUIRE(requantize(TFL_INT8, 4, s, 0.5f, 1, TFL_INT8, 0.75f, -3, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], -1);  /* 2 */
  CHECK_EQ_INT(y[1], -89); /* -86 */
  CHECK_EQ_INT(y[2], -2);  /* 0.667 -> 1 */
  CHECK_EQ_INT(y[3], 81);  /* 84 */
  ot_result_free(&r);
  /* halving: the fixed-point multiply rounds ties toward +infinity (q - 1 = 3 and -3) */
  REQUIRE(requantize(TFL_INT8, 6, s, 0.5f, 1, TFL_INT8, 1.0f, 0, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[4], 2);  /* 1.5 */
  CHECK_EQ_INT(y[5], -1); /* -1.5 */
  ot_result_free(&r);
}

/* Equal scales: every code moves by zp_out - zp_in and clamps to the output type, for the
 * four 8-bit type pairs, zero points that clamp at either end, and lengths that leave vector
 * tails (the code-shift loop). */
TEST(requantize_equal_scales_shifts_every_code) {
  static const int64_t zps[][2] = {{127, -1}, {0, 0}, {-128, 127}, {100, -100}, {-20, 60}};
  static const int lengths[] = {1, 15, 256, 1001};
  uint8_t x[1001];
  for (int i = 0; i < 1001; i++) x[i] = (uint8_t)(i * 37 + 11);
  for (int ti = 0; ti < 2; ti++)
    for (int to = 0; to < 2; to++)
      for (size_t z = 0; z < sizeof(zps) / sizeof(zps[0]); z++)
        for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
          const tfl_type in_type = ti ? TFL_INT8 : TFL_UINT8, out_type = to ? TFL_INT8 : TFL_UINT8;
          const int64_t zp_in = ti ? zps[z][0] : zps[z][0] + 128;
          const int64_t zp_out = to ? zps[z][1] : zps[z][1] + 128;
          const int n = lengths[l];
          ot_result r;
          REQUIRE(requantize(in_type, n, x, 0.125f, zp_in, out_type, 0.125f, zp_out, &r) == TFL_OK);
          for (int i = 0; i < n; i++) {
            const int64_t q = ti ? (int8_t)x[i] : x[i], lo = to ? -128 : 0, hi = to ? 127 : 255;
            int64_t want = q - zp_in + zp_out;
            want = want < lo ? lo : want > hi ? hi : want;
            const uint8_t byte = ((const uint8_t *)r.out[0].data)[i];
            const int64_t got = to ? (int8_t)byte : byte;
            if (got != want) {
              test_fail(__FILE__, __LINE__,
                        "types %d->%d zps %lld->%lld: code %lld gives %lld, want %lld", ti, to,
                        (long long)zp_in, (long long)zp_out, (long long)q, (long long)got,
                        (long long)want);
              break;
            }
          }
          ot_result_free(&r);
        }
}

TEST(requantize_wider_types) {
  ot_result r;
  const int16_t h[] = {-32768, 32767, 3};
  /* int16 at 2^-15 to int32 at 2^-16: doubled exactly */
  REQUIRE(requantize(TFL_INT16, 3, h, 1.0f / 32768, 0, TFL_INT32, 1.0f / 65536, 0, &r) == TFL_OK);
  const int32_t *w = r.out[0].data;
  CHECK(w[0] == -65536 && w[1] == 65534 && w[2] == 6);
  ot_result_free(&r);
  /* int16 to int8: divided by 256, ties up */
  REQUIRE(requantize(TFL_INT16, 3, h, 1.0f / 32768, 0, TFL_INT8, 1.0f / 128, 0, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == -128 && y[1] == 127 && y[2] == 0);
  ot_result_free(&r);
  /* int32 to int8 with a zero point: x / 2 + 5 */
  const int32_t x[] = {1000, -101, -20};
  REQUIRE(requantize(TFL_INT32, 3, x, 0.01f, 0, TFL_INT8, 0.02f, 5, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], 127);
  CHECK_EQ_INT(y[1], -45); /* -50.5 rounds toward +infinity */
  CHECK_EQ_INT(y[2], -5);
  ot_result_free(&r);
}

TEST(bad_models_fail_cleanly) {
  const float x[] = {1.0f};
  const int8_t q[] = {1};
  ot_result r;
  /* output without quantization parameters */
  CHECK(run_quantize(TFL_FLOAT32, 1, x, NULL, NULL, TFL_INT8, 0, NULL, NULL, 0, NULL, 0, &r) ==
        TFL_ERROR);
  CHECK(strstr(r.error, "quantization") != NULL);
  ot_result_free(&r);
  /* unsupported conversions */
  CHECK_EQ_INT(quantize_f32(1, x, TFL_INT32, 1.0f, 0, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK_EQ_INT(requantize(TFL_INT8, 1, q, 1.0f, 0, TFL_INT32, 1.0f, 0, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);
  /* int16 to int16 needs zero points 0 */
  const int16_t h[] = {1};
  CHECK(requantize(TFL_INT16, 1, h, 1.0f, 1, TFL_INT16, 1.0f, 0, &r) == TFL_ERROR);
  ot_result_free(&r);
  /* a zero output scale */
  CHECK(quantize_f32(1, x, TFL_INT8, 0.0f, 0, &r) == TFL_ERROR);
  CHECK(strstr(r.error, "scale") != NULL);
  ot_result_free(&r);
  /* per-channel parameters along an axis of another size (the loader already refuses a
   * count that matches no dimension, so the axis is the wrong one here) */
  const float x6[] = {1, 2, 3, 4, 5, 6};
  const int32_t dims[] = {2, 3};
  const float scales[] = {0.5f, 2.0f};
  const int64_t zps[] = {0, 0};
  int8_t y[6];
  char err[256] = "";
  CHECK(quantize_per_channel(TFL_INT8, 2, dims, x6, 2, scales, zps, 1, y, err, sizeof(err)) !=
        TFL_OK);
}

/* ---- vector kernels and every CPU level ------------------------------------------------- */

static const tfl_type out_types[] = {TFL_INT8, TFL_UINT8, TFL_INT16};

static float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof(f));
  return f;
}

static uint32_t bits_of(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof(b));
  return b;
}

static int64_t clamp_to(tfl_type type, int64_t v) {
  int64_t lo, hi;
  qr_type_range(type, &lo, &hi);
  return v < lo ? lo : v > hi ? hi : v;
}

/* TFLite's builtin QUANTIZE of one float per tensor (optimized_ops::AffineQuantize as x86
 * runs it): std::round of x / scale in double (ties away from zero), static_cast<int32_t> as
 * cvttsd2si converts (INT32_MIN for NaN and values beyond int32), the zero point added with
 * int32 wrap-around, then clamped to the output type. */
static int64_t tflite_quantize(float x, float scale, int32_t zp, tfl_type type) {
  const double r = round((double)x / (double)scale);
  const int64_t c = r >= -2147483648.0 && r < 2147483648.0 ? (int64_t)r : INT32_MIN;
  return clamp_to(type, (int32_t)(uint32_t)((uint64_t)c + (uint64_t)(int64_t)zp));
}

/* The code of a float x within half a step of the half-way point k + 1/2, from exact
 * arithmetic alone: x - (k + 1/2) scale is exact in double here, its sign says on which side
 * of the half-way point the quotient lies, ties go away from zero. */
static int64_t half_way_code(float x, int32_t k, float scale, int32_t zp, tfl_type type) {
  const double h = k + 0.5, e = (double)x - h * (double)scale;
  const int64_t q = e > 0 ? k + 1 : e < 0 ? k : h > 0 ? k + 1 : k;
  return clamp_to(type, q + zp);
}

/* TFLite's per-channel QUANTIZE of one float (reference_ops::PerChannelQuantize as x86 runs
 * it): the quotient in float, std::round of it (ties away from zero), then as
 * tflite_quantize. */
static int64_t tflite_quantize_channel(float x, float scale, int32_t zp, tfl_type type) {
  const float f = x / scale;
  const double r = round((double)f);
  const int64_t c = r >= -2147483648.0 && r < 2147483648.0 ? (int64_t)r : INT32_MIN;
  return clamp_to(type, (int32_t)(uint32_t)((uint64_t)c + (uint64_t)(int64_t)zp));
}

/* The vector QUANTIZE this machine runs, or NULL. */
static tfl_quantize_fn machine_kernel(void) {
  return tfl_quantize_kernel(tfl_cpu_detect_hardware());
}

/* Runs `fn` on x[0..n) and compares the codes with want[] (NULL: tflite_quantize), and checks
 * that nothing past them was written. Reports the first difference; returns 0 then. */
static int check_kernel(tfl_quantize_fn fn, const float *x, const int64_t *want, size_t n,
                        float scale, int32_t zp, tfl_type type) {
  const size_t size = tfl_type_size(type);
  uint8_t *out = malloc((n + 8) * size);
  memset(out, 0xA5, (n + 8) * size);
  fn(x, n, scale, zp, type, out);
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    const int64_t w = want ? want[i] : tflite_quantize(x[i], scale, zp, type);
    const int64_t got = qr_code_at(type, out, i);
    if (got != w) {
      test_fail(__FILE__, __LINE__,
                "%s: x = %.9g (0x%08x), scale %.9g, zp %d, n %zu: code %lld, want %lld",
                tfl_type_name(type), (double)x[i], (unsigned)bits_of(x[i]), (double)scale,
                (int)zp, n, (long long)got, (long long)w);
      ok = 0;
    }
  }
  for (size_t b = n * size; b < (n + 8) * size && ok; b++)
    if (out[b] != 0xA5) {
      test_fail(__FILE__, __LINE__, "%s: n %zu: byte %zu past the output written",
                tfl_type_name(type), n, b);
      ok = 0;
    }
  free(out);
  return ok;
}

TEST(vector_kernel_exists_where_expected) {
  CHECK(tfl_quantize_kernel(TFL_CPU_SCALAR) == NULL);
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (tfl_simd_avx2(hw) || tfl_simd_neon(hw)) CHECK(machine_kernel() != NULL);
}

/* Scales as models have them, powers of two (exact half-way points), extremes. */
static const float scales[] = {1.0f, 0.5f, 0.0078125f, 0.1f, 1.0f / 255.0f, 0.0078431377f,
                               0.00390625f, 0.023529412f, 3.0517578e-05f, 1e-3f, 0.75f,
                               1024.0f, 1e-40f, 3e38f};

/* Zero points in the types' ranges and beyond them (int32 wrap-around included; one brings
 * quotients near 2^24 back into the int16 range). */
static const int32_t zero_points[] = {0, -1, 1, -128, 127, 128, 255, 33, -32768, 32767,
                                      1 << 20, -(1 << 24) - 3, INT32_MAX, INT32_MIN};

/* Floats of every kind: random bit patterns (every exponent, NaN, infinities, denormals),
 * random values around the output range of `scale`, and quotients near 2^24 (where floats
 * are 2 apart) and just below 2^31 (where x86's conversion starts giving INT32_MIN). */
static void random_floats(uint32_t *rng, float scale, float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double u = (double)(int32_t)ck_xorshift(rng) / 2147483648.0; /* [-1, 1) */
    switch (i % 5) {
      case 0:
        x[i] = from_bits(ck_xorshift(rng));
        break;
      case 1:
        x[i] = (float)(u * scale * 300.0);
        break;
      case 2:
        x[i] = (float)(u * scale * 70000.0);
        break;
      case 3:
        x[i] = (float)(scale * (16777216.0 + 40000.0 * u));
        break;
      default:
        x[i] = (float)(scale * (2147483648.0 - 300.0 * fabs(u)) * (u < 0 ? -1 : 1));
        break;
    }
  }
}

TEST(vector_kernel_random_floats) {
  tfl_quantize_fn fn = machine_kernel();
  if (!fn) return;
  uint32_t rng = 12345;
  float x[1000];
  for (size_t t = 0; t < 3; t++)
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
      for (size_t z = 0; z < sizeof(zero_points) / sizeof(zero_points[0]); z++) {
        random_floats(&rng, scales[s], x, 1000);
        if (!check_kernel(fn, x, NULL, 1000, scales[s], zero_points[z], out_types[t])) return;
      }
}

/* Every half-way point k + 1/2 whose code can land in the range (and just outside it), as
 * the float nearest k + 1/2 times the scale and the floats 1 and 2 steps from it, against
 * half_way_code. With power-of-two and short scales the nearest float is the exact half-way
 * point (checked by counting them). */
TEST(vector_kernel_half_way_points) {
  tfl_quantize_fn fn = machine_kernel();
  if (!fn) return;
  static const float short_scales[] = {1.0f, 0.5f, 0.0078125f, 3.0f / 256.0f, 0.75f,
                                       5.0f / 4096.0f, 1024.0f};
  static const float long_scales[] = {0.1f, 1.0f / 255.0f, 0.0078431377f, 1e-3f, 0.0123f};
  const size_t max_n = 5 * 65540;
  float *x = malloc(max_n * sizeof(float));
  int64_t *want = malloc(max_n * sizeof(int64_t));
  size_t exact = 0;
  for (size_t t = 0; t < 3; t++) {
    const tfl_type type = out_types[t];
    int64_t lo, hi;
    qr_type_range(type, &lo, &hi);
    const int32_t zps[] = {(int32_t)lo, (int32_t)hi, (int32_t)((lo + hi) / 2), 0};
    const int wide = type == TFL_INT16; /* 65k points: fewer scales and zero points */
    for (size_t s = 0; s < 12; s++) {
      if (wide && s % 4 != 0) continue;
      const float scale = s < 7 ? short_scales[s] : long_scales[s - 7];
      for (size_t z = 0; z < 4; z++) {
        if (wide && z % 2) continue;
        const int32_t zp = zps[z];
        size_t n = 0;
        for (int64_t k = lo - zp - 2; k <= hi - zp + 1; k++) {
          const float mid = (float)(((double)k + 0.5) * (double)scale);
          for (int d = -2; d <= 2; d++) {
            float v = mid;
            for (int j = 0; j < abs(d); j++) v = nextafterf(v, d > 0 ? INFINITY : -INFINITY);
            x[n] = v;
            want[n] = half_way_code(v, (int32_t)k, scale, zp, type);
            exact += d == 0 && (double)v == ((double)k + 0.5) * (double)scale;
            n++;
          }
        }
        if (!check_kernel(fn, x, want, n, scale, zp, type)) goto done;
      }
    }
  }
  /* every point of the short scales on the 8-bit types at least */
  CHECK(exact >= 2 * 7 * 4 * 258);
done:
  free(x);
  free(want);
}

/* Values the vector kernels treat apart (NaN, infinities, quotients at and beyond 2^22 and
 * int32, ties near 2^22 and 2^23), zeros and denormals, over every length 0..40 and start
 * offset (every tail). */
static const uint32_t edge_bits[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000,
    0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0x7f7fffff,
    0xff7fffff, 0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4a7ffffe, 0x4a7fffff,
    0x4a800000, 0x4a800001, 0xca800001, 0x4afffffe, 0x4affffff, 0x4b000000, 0x3f000000,
    0xbf000000, 0x3fc00000, 0xc0200000, 0x3effffff, 0x3f000001, 0x42fd0000, 0xc3010000,
    0x46fffe00, 0xc7000100, 0x437f8000, 0x3dcccccd, 0x3e800000, 0x40490fdb, 0xbfc90fdb,
    0x3a800000, 0x4b800000};

TEST(vector_kernel_edges_and_every_tail) {
  tfl_quantize_fn fn = machine_kernel();
  if (!fn) return;
  const size_t n_edges = sizeof(edge_bits) / sizeof(edge_bits[0]);
  float x[48];
  for (size_t i = 0; i < 48; i++) x[i] = from_bits(edge_bits[(i * 7) % n_edges]);
  static const float edge_scales[] = {1.0f, 0.5f, 2.0f, 9.5367432e-07f, 0.1f, 1e-40f, 3e38f};
  static const int32_t edge_zps[] = {0, -1, 1, -128, 255, 32767, INT32_MAX, INT32_MIN};
  for (size_t t = 0; t < 3; t++)
    for (size_t s = 0; s < sizeof(edge_scales) / sizeof(edge_scales[0]); s++)
      for (size_t z = 0; z < sizeof(edge_zps) / sizeof(edge_zps[0]); z++)
        for (size_t n = 0; n <= 40; n++)
          for (size_t off = 0; off < 4; off++)
            if (!check_kernel(fn, x + off, NULL, n, edge_scales[s], edge_zps[z], out_types[t]))
              return;
  /* every edge value in every lane position */
  for (size_t t = 0; t < 3; t++)
    for (size_t rot = 0; rot < 8; rot++) {
      float y[sizeof(edge_bits) / sizeof(edge_bits[0]) + 8];
      for (size_t i = 0; i < n_edges + 8; i++)
        y[i] = i < rot ? 1.0f : from_bits(edge_bits[(i - rot) % n_edges]);
      for (size_t z = 0; z < sizeof(edge_zps) / sizeof(edge_zps[0]); z++)
        if (!check_kernel(fn, y, NULL, n_edges + 8, 1.0f, edge_zps[z], out_types[t])) return;
    }
}

/* The op through the public API at each CPU level (TFL_CPU; a level the machine lacks runs
 * the machine's), against tflite_quantize: the scalar kernel, the dispatch, and the vector
 * kernels' tails inside a tensor. */
TEST(op_matches_tflite_at_every_level) {
  static const char *const cpus[] = {"scalar", "avx2", "neon", NULL};
  enum { N = 1003 };
  float x[N];
  uint32_t rng = 777;
  const size_t n_edges = sizeof(edge_bits) / sizeof(edge_bits[0]);
  for (size_t t = 0; t < 3; t++)
    for (size_t s = 0; s < 4; s++) {
      const float scale = scales[s * 3];
      random_floats(&rng, scale, x, N);
      for (size_t i = 0; i < n_edges; i++) x[i * 20] = from_bits(edge_bits[i]);
      for (size_t i = 0; i < 60; i++) x[i * 13 + 7] = ((float)i - 30.5f) * scale; /* ties */
      int64_t lo, hi; /* the loader takes zero points in the type's range only */
      qr_type_range(out_types[t], &lo, &hi);
      const int64_t spread = (int64_t)(s * 97 + t * 13) % (hi - lo);
      const int32_t zp = (int32_t)(s == 0 ? lo : s == 1 ? hi : lo + spread);
      for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
        const int32_t flat[] = {N};
        const float sc = scale;
        const int64_t z64 = zp;
        ot_spec in[1] = {{.type = TFL_FLOAT32, .ndim = 1, .dims = flat, .data = x}};
        ot_spec out[1] = {{.type = out_types[t], .q_count = 1, .scales = &sc,
                           .zero_points = &z64}};
        const ot_op op = {.builtin_code = TFL_OP_QUANTIZE, .version = 1, .cpu = cpus[c]};
        ot_result r;
        const tfl_status st = ot_run_op(&op, in, 1, out, 1, &r);
        if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s", r.error);
        for (size_t i = 0; st == TFL_OK && i < N; i++) {
          const int64_t got = qr_code_at(out_types[t], r.out[0].data, i);
          const int64_t want = tflite_quantize(x[i], scale, zp, out_types[t]);
          if (got != want) {
            test_fail(__FILE__, __LINE__,
                      "TFL_CPU=%s %s: x = %.9g, scale %.9g, zp %d: %lld, want %lld",
                      cpus[c] ? cpus[c] : "(unset)", tfl_type_name(out_types[t]), (double)x[i],
                      (double)scale, (int)zp, (long long)got, (long long)want);
            break;
          }
        }
        ot_result_free(&r);
      }
    }
}

/* ---- per channel ------------------------------------------------------------------------ */

/* Runs the per-channel kernel `fn` on `rows` rows of n elements of x with row r's scale and
 * zero point (per_element 0) or element k's (per_element 1), and compares with
 * tflite_quantize_channel; checks that nothing past the codes was written. Reports the first
 * difference; returns 0 then. */
static int check_channels(const char *cpu, tfl_quantize_channels_fn fn, const float *x,
                          size_t rows, size_t n, const float *scale, const int32_t *zp,
                          int per_element, tfl_type type) {
  const size_t size = tfl_type_size(type), total = rows * n;
  uint8_t *out = malloc((total + 8) * size);
  memset(out, 0xA5, (total + 8) * size);
  fn(x, rows, n, scale, zp, per_element, type, out);
  int ok = 1;
  for (size_t i = 0; i < total && ok; i++) {
    const size_t c = per_element ? i % n : i / n;
    const int64_t want = tflite_quantize_channel(x[i], scale[c], zp[c], type);
    const int64_t got = qr_code_at(type, out, i);
    if (got != want) {
      test_fail(__FILE__, __LINE__,
                "%s %s per_element %d: x = %.9g (0x%08x), scale %.9g, zp %d, %zu x %zu: code "
                "%lld, want %lld",
                cpu, tfl_type_name(type), per_element, (double)x[i], (unsigned)bits_of(x[i]),
                (double)scale[c], (int)zp[c], rows, n, (long long)got, (long long)want);
      ok = 0;
    }
  }
  for (size_t b = total * size; b < (total + 8) * size && ok; b++)
    if (out[b] != 0xA5) {
      test_fail(__FILE__, __LINE__, "%s %s: %zu x %zu: byte %zu past the output written", cpu,
                tfl_type_name(type), rows, n, b);
      ok = 0;
    }
  free(out);
  return ok;
}

/* The per-channel kernels of this machine's vector levels (the scalar level has none). */
static int channel_kernels(const char *names[CK_MAX_CPU_LEVELS],
                           tfl_quantize_channels_fn fns[CK_MAX_CPU_LEVELS]) {
  const char *all[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(all);
  int n = 0;
  for (int l = 0; l < levels; l++) {
    const tfl_quantize_channels_fn fn =
        tfl_quantize_channels_kernel((tfl_cpu_level)tfl_cpu_level_parse(all[l]));
    CHECK((fn == NULL) == (l == 0)); /* a kernel at every vector level */
    if (!fn) continue;
    names[n] = all[l];
    fns[n++] = fn;
  }
  return n;
}

enum { CHANNELS_N = 1000 };

/* Scales and zero points per element: the list above in turn (with zero points that wrap). */
static void channel_params(size_t n, float *scale, int32_t *zp) {
  for (size_t i = 0; i < n; i++) {
    scale[i] = scales[(i * 5) % (sizeof(scales) / sizeof(scales[0]))];
    zp[i] = zero_points[(i * 3) % (sizeof(zero_points) / sizeof(zero_points[0]))];
  }
}

TEST(channel_kernel_random_floats) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  tfl_quantize_channels_fn fns[CK_MAX_CPU_LEVELS];
  const int levels = channel_kernels(cpus, fns);
  static float x[CHANNELS_N], scale[CHANNELS_N];
  static int32_t zp[CHANNELS_N];
  channel_params(CHANNELS_N, scale, zp);
  uint32_t rng = 4321;
  for (int l = 0; l < levels; l++)
    for (size_t t = 0; t < 3; t++) {
      /* one scale and zero point a row */
      for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
        for (size_t z = 0; z < sizeof(zero_points) / sizeof(zero_points[0]); z++) {
          random_floats(&rng, scales[s], x, CHANNELS_N);
          if (!check_channels(cpus[l], fns[l], x, 1, CHANNELS_N, &scales[s], &zero_points[z], 0,
                              out_types[t]))
            return;
        }
      /* one each: quotients around each element's own range */
      for (size_t k = 0; k < 20; k++) {
        for (size_t i = 0; i < CHANNELS_N; i++) random_floats(&rng, scale[i], x + i, 1);
        if (!check_channels(cpus[l], fns[l], x, 1, CHANNELS_N, scale, zp, 1, out_types[t])) return;
      }
    }
}

/* Float quotients on and next to every half-way point k + 1/2 of the output range (and past
 * it), where rounding the float quotient and rounding the exact one can differ. */
TEST(channel_kernel_half_way_points) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  tfl_quantize_channels_fn fns[CK_MAX_CPU_LEVELS];
  const int levels = channel_kernels(cpus, fns);
  static const float tie_scales[] = {1.0f, 0.5f, 0.0078125f, 0.1f, 1.0f / 255.0f, 0.0123f, 3.0f};
  const size_t max_n = 5 * 65540;
  float *x = malloc(max_n * sizeof(float));
  for (int l = 0; l < levels; l++)
    for (size_t t = 0; t < 3; t++) {
      int64_t lo, hi;
      qr_type_range(out_types[t], &lo, &hi);
      const int32_t zps[] = {(int32_t)lo, (int32_t)hi, 0};
      for (size_t s = 0; s < sizeof(tie_scales) / sizeof(tie_scales[0]); s++)
        for (size_t z = 0; z < 3; z++) {
          if (out_types[t] == TFL_INT16 && (s % 3 || z)) continue; /* 65k points: fewer */
          size_t n = 0;
          for (int64_t k = lo - zps[z] - 2; k <= hi - zps[z] + 1; k++) {
            const float mid = (float)(((double)k + 0.5) * (double)tie_scales[s]);
            for (int d = -2; d <= 2; d++) {
              float v = mid;
              for (int j = 0; j < abs(d); j++) v = nextafterf(v, d > 0 ? INFINITY : -INFINITY);
              x[n++] = v;
            }
          }
          if (!check_channels(cpus[l], fns[l], x, 1, n, &tie_scales[s], &zps[z], 0, out_types[t]))
            goto done;
        }
    }
done:
  free(x);
}

/* The edge values of the per-tensor test, both forms, every length 0..40 and start offset,
 * and every edge value in every lane position. */
TEST(channel_kernel_edges_and_every_tail) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  tfl_quantize_channels_fn fns[CK_MAX_CPU_LEVELS];
  const int levels = channel_kernels(cpus, fns);
  const size_t n_edges = sizeof(edge_bits) / sizeof(edge_bits[0]);
  float x[48], scale[48], y[sizeof(edge_bits) / sizeof(edge_bits[0]) + 8];
  int32_t zp[48];
  for (size_t i = 0; i < 48; i++) x[i] = from_bits(edge_bits[(i * 7) % n_edges]);
  channel_params(48, scale, zp);
  static const float edge_scales[] = {1.0f, 0.5f, 2.0f, 9.5367432e-07f, 0.1f, 1e-40f, 3e38f};
  static const int32_t edge_zps[] = {0, -1, 1, -128, 255, 32767, INT32_MAX, INT32_MIN};
  for (int l = 0; l < levels; l++)
    for (size_t t = 0; t < 3; t++) {
      for (size_t n = 0; n <= 40; n++)
        for (size_t off = 0; off < 4; off++) {
          if (!check_channels(cpus[l], fns[l], x + off, 1, n, scale + off, zp + off, 1,
                              out_types[t]))
            return;
          for (size_t s = 0; s < sizeof(edge_scales) / sizeof(edge_scales[0]); s++)
            for (size_t z = 0; z < sizeof(edge_zps) / sizeof(edge_zps[0]); z++)
              if (!check_channels(cpus[l], fns[l], x + off, 1, n, &edge_scales[s], &edge_zps[z], 0,
                                  out_types[t]))
                return;
        }
      for (size_t rot = 0; rot < 8; rot++) {
        for (size_t i = 0; i < n_edges + 8; i++)
          y[i] = i < rot ? 1.0f : from_bits(edge_bits[(i - rot) % n_edges]);
        for (size_t z = 0; z < sizeof(edge_zps) / sizeof(edge_zps[0]); z++)
          if (!check_channels(cpus[l], fns[l], y, 1, n_edges + 8, &edge_scales[z % 3], &edge_zps[z],
                              0, out_types[t]))
            return;
      }
    }
}

/* Several rows, of every length 0..20, in both forms: each row its channel's parameters, or
 * each element its own. */
TEST(channel_kernel_rows) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  tfl_quantize_channels_fn fns[CK_MAX_CPU_LEVELS];
  const int levels = channel_kernels(cpus, fns);
  static float x[5 * 20], scale[20];
  static int32_t zp[20];
  channel_params(20, scale, zp);
  uint32_t rng = 31;
  const size_t n_edges = sizeof(edge_bits) / sizeof(edge_bits[0]);
  for (size_t i = 0; i < 5 * 20; i++) {
    random_floats(&rng, scale[i % 20], x + i, 1);
    if (i % 7 == 3) x[i] = from_bits(edge_bits[(i / 7) % n_edges]);
    if (i % 7 == 5) x[i] = ((float)(i % 30) - 15.5f) * scale[i % 20]; /* ties */
  }
  for (int l = 0; l < levels; l++)
    for (size_t t = 0; t < 3; t++)
      for (size_t rows = 1; rows <= 5; rows++)
        for (size_t n = 0; n <= 20; n++)
          for (int per_element = 0; per_element < 2; per_element++)
            if (!check_channels(cpus[l], fns[l], x, rows, n, scale, zp, per_element, out_types[t]))
              return;
}

/* Per-channel QUANTIZE through the op at every CPU level, against tflite_quantize_channel:
 * the quantized axis first, in the middle and last, channel counts and row lengths with and
 * without vector tails (rows shorter than a vector included), per-channel zero points over
 * each type's range. */
TEST(op_per_channel_at_every_level) {
  static const int32_t shapes[][3] = {{9, 2, 8},  {3, 5, 17}, {2, 3, 9}, {4, 1, 33},
                                      {1, 1, 64}, {2, 8, 1},  {6, 7, 3}};
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  const size_t n_edges = sizeof(edge_bits) / sizeof(edge_bits[0]);
  static float x[2048];
  static uint8_t y[2 * 2048];
  uint32_t rng = 99;
  for (size_t t = 0; t < 3; t++)
    for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
      for (int axis = 0; axis < 3; axis++) {
        const int32_t *dims = shapes[sh];
        const size_t n = (size_t)(dims[0] * dims[1] * dims[2]);
        const int count = dims[axis];
        int64_t lo, hi;
        qr_type_range(out_types[t], &lo, &hi);
        float scale[64];
        int64_t zp[64];
        for (int c = 0; c < count; c++) {
          scale[c] = scales[(size_t)(c + axis) % 12]; /* model-like ones */
          zp[c] = c % 4 == 0 ? lo : c % 4 == 1 ? hi : c % 4 == 2 ? 0 : lo + (c * 37) % (hi - lo);
        }
        const size_t inner = axis == 2 ? 1 : axis == 1 ? (size_t)dims[2]
                                                       : (size_t)(dims[1] * dims[2]);
        for (size_t i = 0; i < n; i++) {
          const size_t c = (i / inner) % (size_t)count;
          random_floats(&rng, scale[c], x + i, 1);
          if (i % 9 == 4) x[i] = from_bits(edge_bits[(i / 9) % n_edges]);
          if (i % 9 == 7) x[i] = ((float)(i % 40) - 20.5f) * scale[c]; /* ties */
        }
        for (int l = 0; l < levels; l++) {
          ot_cpu_env env;
          ot_cpu_set(&env, cpus[l]);
          char err[256] = "";
          const tfl_status st = quantize_per_channel(out_types[t], 3, dims, x, count, scale, zp,
                                                     axis, y, err, sizeof(err));
          ot_cpu_restore(&env);
          if (st != TFL_OK) {
            test_fail(__FILE__, __LINE__, "%s: %s", cpus[l], err);
            continue;
          }
          for (size_t i = 0; i < n; i++) {
            const size_t c = (i / inner) % (size_t)count;
            const int64_t want = tflite_quantize_channel(x[i], scale[c], (int32_t)zp[c],
                                                         out_types[t]);
            const int64_t got = qr_code_at(out_types[t], y, i);
            if (got != want) {
              test_fail(__FILE__, __LINE__,
                        "TFL_CPU=%s %s shape %zu axis %d element %zu: x = %.9g, scale %.9g, zp "
                        "%d: %lld, want %lld",
                        cpus[l], tfl_type_name(out_types[t]), sh, axis, i, (double)x[i],
                        (double)scale[c], (int)zp[c], (long long)got, (long long)want);
              break;
            }
          }
        }
      }
}

int main(void) {
  RUN(float_to_int8_ties_and_clamping);
  RUN(float_to_uint8_and_int16);
  RUN(float_division_is_in_double_per_tensor_float_per_channel);
  RUN(float_per_channel);
  RUN(float_infinities_and_nan_convert_like_x86);
  RUN(requantize_int8_uint8);
  RUN(requantize_int8_to_int8_other_scale);
  RUN(requantize_equal_scales_shifts_every_code);
  RUN(requantize_wider_types);
  RUN(bad_models_fail_cleanly);
  RUN(vector_kernel_exists_where_expected);
  RUN(vector_kernel_random_floats);
  RUN(vector_kernel_half_way_points);
  RUN(vector_kernel_edges_and_every_tail);
  RUN(op_matches_tflite_at_every_level);
  RUN(channel_kernel_random_floats);
  RUN(channel_kernel_half_way_points);
  RUN(channel_kernel_edges_and_every_tail);
  RUN(channel_kernel_rows);
  RUN(op_per_channel_at_every_level);
  return test_summary();
}
