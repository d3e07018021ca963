/* QUANTIZE: float to uint8/int8/int16 per tensor (rounding ties away from zero after a
 * division in double, clamping, infinities and NaN as x86 converts them) and per channel (the
 * division in float); integer requantization between uint8/int8/int16/int32 with the
 * fixed-point multiplier (its ties toward +infinity), and bad models. Expected values are
 * worked out by hand in the comments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/op_runner.h"
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

/* Float input of shape dims quantized to int8 with per-channel parameters along `axis`
 * (ot_run gives outputs no shape, so this builds the one-op model itself). Returns the status
 * of the first failing step; err receives its message. */
static tfl_status quantize_per_channel(int ndim, const int32_t *dims, const float *x, int count,
                                       const float *scales, const int64_t *zps, int axis,
                                       int8_t *y, char *err, size_t err_size) {
  mb_model *m = mb_new();
  const int in = mb_tensor(m, TFL_FLOAT32, ndim, dims, NULL, 0, "x");
  const int out = mb_tensor(m, TFL_INT8, ndim, dims, NULL, 0, "y");
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
  REQUIRE(quantize_per_channel(2, dims, x, 2, scales, zps, 1, y, err, sizeof(err)) == TFL_OK);
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
  REQUIRE(quantize_per_channel(2, dims, x, 2, scales, zps, 0, y, err, sizeof(err)) == TFL_OK);
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
  CHECK(quantize_per_channel(2, dims, x6, 2, scales, zps, 1, y, err, sizeof(err)) != TFL_OK);
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
  return test_summary();
}
