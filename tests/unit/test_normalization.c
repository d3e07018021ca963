/* L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION: hand-computed vectors, random float cases
 * against naive implementations in double, the quantized L2 paths (uint8, int8) against the
 * integer algorithm written out here from quant.h's inverse square root and requantization
 * (tested on their own in test_quant) and within one step of the real-valued result; errors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

static uint32_t seed = 99;
static float frand(void) {
  seed = seed * 1664525u + 1013904223u;
  return (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* ---- L2_NORMALIZATION ---------------------------------------------------------------------- */

static tfl_status run_l2(const ot_spec *in, const ot_spec *out, int act, ot_result *r) {
  mb_field f[] = {MB_BYTE(0, act), MB_FIELDS_END};
  return ot_run(TFL_OP_L2_NORMALIZATION, 2, in, 1, out, 1, TFL_OPTS_L2_NORM, f, r);
}

TEST(l2_float_hand_computed) {
  /* |(-1.1, 0.6, 0.7, 1.2, -0.7, 0.1)| = 2 */
  static const float x[6] = {-1.1f, 0.6f, 0.7f, 1.2f, -0.7f, 0.1f};
  static const float want[6] = {-0.55f, 0.3f, 0.35f, 0.6f, -0.35f, 0.05f};
  const int32_t d[4] = {1, 1, 1, 6};
  ot_spec in = OT_F32(4, d, x), out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  REQUIRE(run_l2(&in, &out, TFL_ACT_NONE, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 4);
  for (int i = 0; i < 6; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-6);
  ot_result_free(&r);
}

TEST(l2_float_rows) {
  enum { ROWS = 6, DEPTH = 9 };
  float x[ROWS * DEPTH];
  for (int i = 0; i < ROWS * DEPTH; i++) x[i] = frand() * 4.0f;
  for (int c = 0; c < DEPTH; c++) x[c] = 0.0f;          /* zero row: epsilon keeps it 0 */
  for (int c = 0; c < DEPTH; c++) x[DEPTH + c] = 1e-8f; /* tiny row: divided by epsilon */
  const int32_t d[3] = {2, 3, DEPTH};
  ot_spec in = OT_F32(3, d, x), out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  REQUIRE(run_l2(&in, &out, TFL_ACT_NONE, &r) == TFL_OK);
  for (int i = 0; i < ROWS; i++) {
    double sum = 0;
    for (int c = 0; c < DEPTH; c++) sum += (double)x[i * DEPTH + c] * x[i * DEPTH + c];
    const double norm = fmax(sqrt(sum), 1e-6);
    for (int c = 0; c < DEPTH; c++) {
      const double want = x[i * DEPTH + c] / norm;
      CHECK_NEAR(ot_f32(&r, 0)[i * DEPTH + c], want, 1e-6 * (1 + fabs(want)));
    }
  }
  ot_result_free(&r);
}

/* One row of the quantized algorithm (see the kernel's file comment). */
static void l2_quantized_ref(tfl_type t, const int32_t *codes, int n, int32_t zp, int32_t *out) {
  int32_t sum = 0;
  for (int c = 0; c < n; c++) sum += (codes[c] - zp) * (codes[c] - zp);
  int32_t m;
  int s;
  tfl_inv_sqrt_multiplier(sum, -1, &m, &s);
  for (int c = 0; c < n; c++) {
    const int32_t d = codes[c] - zp;
    int32_t v;
    if (t == TFL_UINT8) {
      v = 128 + tfl_mul_by_quantized_multiplier(128 * d, m, s);
      out[c] = v < 0 ? 0 : v > 255 ? 255 : v;
    } else {
      v = tfl_mul_by_quantized_multiplier(d, m, s + 7);
      out[c] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
}

static void check_l2_quantized(tfl_type t, int32_t in_zp) {
  enum { ROWS = 5, DEPTH = 12 };
  uint8_t raw[ROWS * DEPTH];
  int32_t codes[ROWS * DEPTH];
  const int32_t lo = t == TFL_UINT8 ? 0 : -128;
  for (int i = 0; i < ROWS * DEPTH; i++) {
    seed = seed * 1664525u + 1013904223u;
    codes[i] = lo + (int32_t)((seed >> 8) % 256u);
    raw[i] = (uint8_t)codes[i];
  }
  for (int c = 0; c < DEPTH; c++) codes[c] = in_zp, raw[c] = (uint8_t)in_zp; /* zero row */
  codes[DEPTH] = in_zp + 1, raw[DEPTH] = (uint8_t)(in_zp + 1);               /* sum of 1 */
  for (int c = 1; c < DEPTH; c++) codes[DEPTH + c] = in_zp, raw[DEPTH + c] = (uint8_t)in_zp;
  const float in_scale = 0.1f, out_scale = 1.0f / 128.0f;
  const int64_t izp = in_zp, ozp = t == TFL_UINT8 ? 128 : 0;
  const int32_t d[2] = {ROWS, DEPTH};
  ot_spec in = {.type = t,
                .ndim = 2,
                .dims = d,
                .data = raw,
                .q_count = 1,
                .scales = &in_scale,
                .zero_points = &izp};
  ot_spec out = {.type = t, .q_count = 1, .scales = &out_scale, .zero_points = &ozp};
  ot_result r;
  REQUIRE(run_l2(&in, &out, TFL_ACT_NONE, &r) == TFL_OK);
  for (int i = 0; i < ROWS; i++) {
    int32_t want[DEPTH];
    l2_quantized_ref(t, codes + i * DEPTH, DEPTH, in_zp, want);
    double sum = 0;
    for (int c = 0; c < DEPTH; c++)
      sum += (double)(codes[i * DEPTH + c] - in_zp) * (codes[i * DEPTH + c] - in_zp);
    for (int c = 0; c < DEPTH; c++) {
      const uint8_t byte = ((const uint8_t *)r.out[0].data)[i * DEPTH + c];
      const int32_t got = t == TFL_UINT8 ? byte : (int8_t)byte;
      CHECK_EQ_INT(got, want[c]);
      if (sum > 1) { /* and close to the real value */
        const double real = (codes[i * DEPTH + c] - in_zp) / sqrt(sum) * 128.0 + (double)ozp;
        const double clamped =
            fmin(fmax(real, t == TFL_UINT8 ? 0 : -128), t == TFL_UINT8 ? 255 : 127);
        CHECK_NEAR(got, clamped, 1.01);
      }
    }
  }
  ot_result_free(&r);
}

TEST(l2_uint8) {
  check_l2_quantized(TFL_UINT8, 128);
  check_l2_quantized(TFL_UINT8, 100);
}

TEST(l2_int8) {
  check_l2_quantized(TFL_INT8, 0);
  check_l2_quantized(TFL_INT8, -20);
}

TEST(l2_errors) {
  static const float x[4] = {1, 2, 3, 4};
  const int32_t d[2] = {2, 2};
  ot_spec in = OT_F32(2, d, x), out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  CHECK(run_l2(&in, &out, TFL_ACT_RELU, &r) != TFL_OK);
  CHECK(strstr(r.error, "activation") != NULL);
  ot_result_free(&r);
  /* quantized output with a scale other than 1/128 */
  static const uint8_t q[4] = {1, 2, 3, 4};
  const float s = 0.5f;
  const int64_t zp = 128;
  ot_spec qin = {.type = TFL_UINT8,
                 .ndim = 2,
                 .dims = d,
                 .data = q,
                 .q_count = 1,
                 .scales = &s,
                 .zero_points = &zp};
  ot_spec qout = {.type = TFL_UINT8, .q_count = 1, .scales = &s, .zero_points = &zp};
  CHECK(run_l2(&qin, &qout, TFL_ACT_NONE, &r) != TFL_OK);
  CHECK(strstr(r.error, "1/128") != NULL);
  ot_result_free(&r);
  /* int16 */
  ot_spec in16 = {.type = TFL_INT16,
                  .ndim = 2,
                  .dims = d,
                  .data = q,
                  .q_count = 1,
                  .scales = &s,
                  .zero_points = &zp};
  ot_spec out16 = {.type = TFL_INT16};
  CHECK(run_l2(&in16, &out16, TFL_ACT_NONE, &r) != TFL_OK);
  ot_result_free(&r);
}

/* ---- LOCAL_RESPONSE_NORMALIZATION -------------------------------------------------------------
 */

static tfl_status run_lrn(const ot_spec *in, int radius, float bias, float alpha, float beta,
                          ot_result *r) {
  mb_field f[] = {MB_INT(0, radius), MB_FLOAT(1, bias), MB_FLOAT(2, alpha), MB_FLOAT(3, beta),
                  MB_FIELDS_END};
  ot_spec out = OT_OUT(TFL_FLOAT32);
  return ot_run(TFL_OP_LOCAL_RESPONSE_NORMALIZATION, 1, in, 1, &out, 1,
                TFL_OPTS_LOCAL_RESPONSE_NORMALIZATION, f, r);
}

static void lrn_naive(const float *x, size_t rows, int depth, int radius, double bias, double alpha,
                      double beta, double *out) {
  for (size_t i = 0; i < rows; i++)
    for (int c = 0; c < depth; c++) {
      double sum = 0;
      for (int j = c - radius; j <= c + radius; j++)
        if (j >= 0 && j < depth) sum += (double)x[i * depth + j] * x[i * depth + j];
      out[i * depth + c] = x[i * depth + c] * pow(bias + alpha * sum, -beta);
    }
}

TEST(lrn_hand_computed) {
  static const float x[6] = {-1.1f, 0.6f, 0.7f, 1.2f, -0.7f, 0.1f};
  const int32_t d[4] = {1, 1, 1, 6};
  ot_spec in = OT_F32(4, d, x);
  typedef struct {
    int radius;
    float bias, alpha, beta;
    float want[6];
  } lrn_case;
  static const lrn_case cases[] = {
      /* a window over everything: x / |x| */
      {20, 0.0f, 1.0f, 0.5f, {-0.55f, 0.3f, 0.35f, 0.6f, -0.35f, 0.05f}},
      {20, 0.0f, 4.0f, 0.5f, {-0.275f, 0.15f, 0.175f, 0.3f, -0.175f, 0.025f}},
      {20, 9.0f, 4.0f, 0.5f, {-0.22f, 0.12f, 0.14f, 0.24f, -0.14f, 0.02f}},
      /* radius 2: e.g. channel 0 sees 1.21 + 0.36 + 0.49 */
      {2, 9.0f, 4.0f, 0.5f, {-0.264926f, 0.125109f, 0.140112f, 0.267261f, -0.161788f, 0.0244266f}},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    const lrn_case *c = &cases[k];
    ot_result r;
    REQUIRE(run_lrn(&in, c->radius, c->bias, c->alpha, c->beta, &r) == TFL_OK);
    for (int i = 0; i < 6; i++) CHECK_NEAR(ot_f32(&r, 0)[i], c->want[i], 1e-5);
    ot_result_free(&r);
  }
}

TEST(lrn_random) {
  enum { N = 2, H = 3, W = 2, C = 11 };
  float x[N * H * W * C];
  double want[N * H * W * C];
  for (int i = 0; i < N * H * W * C; i++) x[i] = frand() * 2.0f;
  const int32_t d[4] = {N, H, W, C};
  ot_spec in = OT_F32(4, d, x);
  static const struct {
    int radius;
    float bias, alpha, beta;
  } params[] = {{0, 1.0f, 0.5f, 0.75f},
                {1, 2.0f, 0.1f, 1.0f},
                {2, 1.0f, 1e-4f, 0.75f},
                {3, 0.5f, 0.3f, 0.5f},
                {30, 1.5f, 0.2f, 0.3f}};
  for (size_t k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
    lrn_naive(x, N * H * W, C, params[k].radius, params[k].bias, params[k].alpha, params[k].beta,
              want);
    ot_result r;
    REQUIRE(run_lrn(&in, params[k].radius, params[k].bias, params[k].alpha, params[k].beta, &r) ==
            TFL_OK);
    for (int i = 0; i < N * H * W * C; i++)
      CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-5 * (1 + fabs(want[i])));
    ot_result_free(&r);
  }
}

TEST(lrn_errors) {
  static const float x[8] = {0};
  const int32_t d3[3] = {2, 2, 2}, d4[4] = {1, 2, 2, 2};
  ot_spec in3 = OT_F32(3, d3, x), in4 = OT_F32(4, d4, x);
  ot_result r;
  CHECK(run_lrn(&in3, 1, 1, 1, 1, &r) != TFL_OK);
  CHECK(strstr(r.error, "4-D") != NULL);
  ot_result_free(&r);
  CHECK(run_lrn(&in4, -1, 1, 1, 1, &r) != TFL_OK);
  CHECK(strstr(r.error, "radius") != NULL);
  ot_result_free(&r);
  static const uint8_t q[8] = {0};
  ot_spec qin = {.type = TFL_UINT8, .ndim = 4, .dims = d4, .data = q};
  CHECK(run_lrn(&qin, 1, 1, 1, 1, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(l2_float_hand_computed);
  RUN(l2_float_rows);
  RUN(l2_uint8);
  RUN(l2_int8);
  RUN(l2_errors);
  RUN(lrn_hand_computed);
  RUN(lrn_random);
  RUN(lrn_errors);
  return test_summary();
}
