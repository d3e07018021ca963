/* DEQUANTIZE: float16 bit patterns by hand and all 65536 of them against an independent
 * ldexp formula, int8/uint8/int16 per-tensor and per-channel along several axes, constant
 * inputs, errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

static uint32_t float_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof(b));
  return b;
}

static tfl_status run_half(const uint16_t *h, int n, int constant, ot_result *r) {
  const int32_t dims[] = {n};
  ot_spec in[1] = {OT_IN(TFL_FLOAT16, 1, dims, h)};
  in[0].constant = constant;
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  return ot_run(TFL_OP_DEQUANTIZE, 1, in, 1, out, 1, 0, NULL, r);
}

TEST(half_bit_patterns) {
  const uint16_t h[] = {0x3C00, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00,
                        0xFC00, 0x8000, 0xC000, 0x3555, 0x8001, 0x0000};
  const float want[] = {1.0f,     65504.0f, 5.9604644775390625e-8f, 6.0975551605224609e-5f,
                        6.103515625e-5f, INFINITY, -INFINITY, -0.0f, -2.0f, 0.333251953125f,
                        -5.9604644775390625e-8f, 0.0f};
  const int n = (int)(sizeof(h) / sizeof(h[0]));
  for (int constant = 0; constant < 2; constant++) {
    ot_result r;
    REQUIRE(run_half(h, n, constant, &r) == TFL_OK);
    for (int i = 0; i < n; i++)
      if (float_bits(ot_f32(&r, 0)[i]) != float_bits(want[i]))
        test_fail(__FILE__, __LINE__, "0x%04x: %.9g (0x%08x) != %.9g", h[i], ot_f32(&r, 0)[i],
                  float_bits(ot_f32(&r, 0)[i]), want[i]);
    ot_result_free(&r);
  }
}

TEST(half_nan) {
  const uint16_t h[] = {0x7E00, 0xFE00, 0x7C01, 0x7FFF};
  ot_result r;
  REQUIRE(run_half(h, 4, 0, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK(isnan(ot_f32(&r, 0)[i]));
  CHECK(signbit(ot_f32(&r, 0)[1]));
  ot_result_free(&r);
}

/* sign * (exp ? 1 + m/1024 : m/1024) * 2^(max(exp, 1) - 15), straight from the format. */
static float half_reference(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v = exp ? ldexp(1.0 + mant / 1024.0, exp - 15) : ldexp(mant / 1024.0, -14);
  if (exp == 31) v = INFINITY;
  return (float)(sign ? -v : v);
}

TEST(half_all_patterns) {
  uint16_t *h = malloc(65536 * sizeof(uint16_t));
  for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  ot_result r;
  tfl_status st = run_half(h, 65536, 0, &r);
  free(h);
  REQUIRE(st == TFL_OK);
  int bad = 0;
  for (int i = 0; i < 65536; i++) {
    int exp = (i >> 10) & 31, mant = i & 1023;
    float got = ot_f32(&r, 0)[i];
    if (exp == 31 && mant) {
      bad += !isnan(got);
      continue;
    }
    bad += float_bits(got) != float_bits(half_reference((uint16_t)i));
  }
  CHECK_EQ_INT(bad, 0);
  ot_result_free(&r);
}

static tfl_status run_q(tfl_type type, int ndim, const int32_t *dims, const void *q, int count,
                        const float *scales, const int64_t *zps, int axis, ot_result *r) {
  ot_spec in[1] = {{.type = type, .ndim = ndim, .dims = dims, .data = q, .q_count = count,
                    .scales = scales, .zero_points = zps, .q_axis = axis}};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  return ot_run(TFL_OP_DEQUANTIZE, 1, in, 1, out, 1, 0, NULL, r);
}

TEST(per_tensor) {
  const int32_t d4[] = {4};
  ot_result r;
  const int8_t q8[] = {-128, -3, 0, 127};
  REQUIRE(run_q(TFL_INT8, 1, d4, q8, 1, (const float[]){0.5f}, (const int64_t[]){-3}, 0, &r) ==
          TFL_OK);
  const float w8[] = {-62.5f, 0.0f, 1.5f, 65.0f};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], w8[i], 0);
  ot_result_free(&r);

  const uint8_t qu[] = {0, 128, 129, 255};
  const float su = 0.1f;
  REQUIRE(run_q(TFL_UINT8, 1, d4, qu, 1, &su, (const int64_t[]){128}, 0, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) {
    float want = (float)((double)su * (qu[i] - 128)); /* product in double, one rounding */
    CHECK(ot_f32(&r, 0)[i] == want);
  }
  ot_result_free(&r);

  const int16_t q16[] = {-32768, -1, 0, 32767};
  REQUIRE(run_q(TFL_INT16, 1, d4, q16, 1, (const float[]){1.0f / 32768}, (const int64_t[]){0}, 0,
                &r) == TFL_OK);
  const float w16[] = {-1.0f, -1.0f / 32768, 0.0f, 32767.0f / 32768};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], w16[i], 0);
  ot_result_free(&r);
}

/* Per-channel along `axis` of a [2,3,4] tensor, checked against coordinates computed here. */
static void check_per_channel(tfl_type type, int axis) {
  const int32_t dims[] = {2, 3, 4};
  const int count = dims[axis];
  float scales[4];
  int64_t zps[4];
  for (int c = 0; c < count; c++) {
    scales[c] = 0.25f * (float)(c + 1);
    zps[c] = type == TFL_UINT8 ? 100 + c : c - 1;
  }
  int8_t q8[24];
  uint8_t qu[24];
  int16_t q16[24];
  for (int i = 0; i < 24; i++) {
    q8[i] = (int8_t)(i * 11 - 120);
    qu[i] = (uint8_t)(i * 10);
    q16[i] = (int16_t)(i * 1000 - 12000);
  }
  const void *q = type == TFL_INT8 ? (const void *)q8 : type == TFL_UINT8 ? (const void *)qu
                                                                           : (const void *)q16;
  ot_result r;
  tfl_status st = run_q(type, 3, dims, q, count, scales, zps, axis, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "axis %d: %s", axis, r.error);
  if (st == TFL_OK) {
    for (int i = 0; i < 24; i++) {
      int coord[3] = {i / 12, (i / 4) % 3, i % 4};
      int c = coord[axis];
      int32_t v = type == TFL_INT8 ? q8[i] : type == TFL_UINT8 ? qu[i] : q16[i];
      float want = scales[c] * (float)(v - (int32_t)zps[c]);
      CHECK(ot_f32(&r, 0)[i] == want);
    }
  }
  ot_result_free(&r);
}

TEST(per_channel) {
  for (int axis = 0; axis < 3; axis++) {
    check_per_channel(TFL_INT8, axis);
    check_per_channel(TFL_UINT8, axis);
    check_per_channel(TFL_INT16, axis);
  }
}

TEST(constant_per_channel_weights) {
  const int32_t dims[] = {2, 2};
  const int8_t q[] = {10, -10, 20, -20};
  const float scales[] = {0.5f, 2.0f};
  const int64_t zps[] = {0, 0};
  ot_spec in[1] = {{.type = TFL_INT8, .ndim = 2, .dims = dims, .data = q, .constant = 1,
                    .q_count = 2, .scales = scales, .zero_points = zps, .q_axis = 1}};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_DEQUANTIZE, 1, in, 1, out, 1, 0, NULL, &r) == TFL_OK);
  const float want[] = {5, -20, 10, -40};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

TEST(zero_size) {
  const int32_t dims[] = {0, 3};
  ot_result r;
  REQUIRE(run_q(TFL_INT8, 2, dims, NULL, 1, (const float[]){1.0f}, (const int64_t[]){0}, 0, &r) ==
          TFL_OK);
  CHECK_EQ_INT(r.out[0].bytes, 0);
  CHECK_EQ_INT(r.out[0].dims[1], 3);
  ot_result_free(&r);
}

TEST(errors) {
  const int32_t d2[] = {2};
  const int8_t q[] = {1, 2};
  ot_result r;
  CHECK(run_q(TFL_INT8, 1, d2, q, 0, NULL, NULL, 0, &r) != TFL_OK);
  CHECK(strstr(r.error, "quantization") != NULL);
  ot_result_free(&r);

  const int32_t d23[] = {2, 3};
  const int8_t q6[6] = {0};
  const float s3[] = {1, 2, 3};
  const int64_t z3[] = {0, 0, 0};
  CHECK(run_q(TFL_INT8, 2, d23, q6, 3, s3, z3, 0, &r) != TFL_OK);
  ot_result_free(&r);

  const float f[] = {1, 2};
  ot_spec in[1] = {OT_F32(1, d2, f)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  CHECK_EQ_INT(ot_run(TFL_OP_DEQUANTIZE, 1, in, 1, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  ot_result_free(&r);

  const uint16_t h[] = {0x3C00, 0x4000};
  ot_spec hin[1] = {OT_IN(TFL_FLOAT16, 1, d2, h)};
  ot_spec iout[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_DEQUANTIZE, 1, hin, 1, iout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(half_bit_patterns);
  RUN(half_nan);
  RUN(half_all_patterns);
  RUN(per_tensor);
  RUN(per_channel);
  RUN(constant_per_channel_weights);
  RUN(zero_size);
  RUN(errors);
  return test_summary();
}
