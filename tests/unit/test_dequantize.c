/* DEQUANTIZE: float16 bit patterns by hand and all 65536 of them against an independent
 * ldexp formula (NaNs keeping sign and payload), int8/uint8/int16 per-tensor and per-channel
 * along several axes, constant inputs, errors. The vector kernels (quantize.h) and the op at
 * every CPU level on every code, against TFLite's formula written out here, and the float16
 * kernels against the same formula and the portable conversion of kernels/half.h. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quantize.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "runtime/kernel.h"
#include "util/cpu_levels.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
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

/* sign * (exp ? 1 + m/1024 : m/1024) * 2^(max(exp, 1) - 15), straight from the format; a
 * NaN keeps its sign and its payload in the top mantissa bits, quiet bit included as it is
 * (kernels/half.h). */
static uint32_t half_reference_bits(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  if (exp == 31 && mant) return (uint32_t)sign << 31 | 0x7f800000u | (uint32_t)mant << 13;
  double v = exp ? ldexp(1.0 + mant / 1024.0, exp - 15) : ldexp(mant / 1024.0, -14);
  if (exp == 31) v = INFINITY;
  return float_bits((float)(sign ? -v : v));
}

/* Every pattern through the op at each CPU level the machine has. */
TEST(half_all_patterns_every_level) {
  uint16_t *h = malloc(65536 * sizeof(uint16_t));
  for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  for (int l = 0; l < levels; l++) {
    ot_cpu_env env;
    ot_cpu_set(&env, cpus[l]);
    ot_result r;
    const tfl_status st = run_half(h, 65536, 0, &r);
    ot_cpu_restore(&env);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s: %s", cpus[l], r.error);
    for (int i = 0; st == TFL_OK && i < 65536; i++)
      if (float_bits(ot_f32(&r, 0)[i]) != half_reference_bits((uint16_t)i)) {
        test_fail(__FILE__, __LINE__, "TFL_CPU=%s 0x%04x: 0x%08x, want 0x%08x", cpus[l], i,
                  float_bits(ot_f32(&r, 0)[i]), half_reference_bits((uint16_t)i));
        break;
      }
    ot_result_free(&r);
  }
  free(h);
}

/* The float16 kernel of level `cpu` on h[0..n) against the formula and tfl_half_to_float;
 * nothing past the outputs written. Reports the first difference; returns 0 then. */
static int check_half_kernel(const char *cpu, tfl_half_fn fn, const uint16_t *h, size_t n) {
  float *out = malloc((n + 8) * sizeof(float));
  for (size_t i = 0; i < n + 8; i++) out[i] = -7.0f;
  fn(h, n, out);
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    const uint32_t got = float_bits(out[i]), want = half_reference_bits(h[i]);
    if (got != want || got != float_bits(tfl_half_to_float(h[i]))) {
      test_fail(__FILE__, __LINE__, "%s 0x%04x (n %zu): 0x%08x, want 0x%08x", cpu, h[i], n, got,
                want);
      ok = 0;
    }
  }
  for (size_t i = n; i < n + 8 && ok; i++)
    if (out[i] != -7.0f) {
      test_fail(__FILE__, __LINE__, "%s n %zu: element %zu past the output written", cpu, n, i);
      ok = 0;
    }
  free(out);
  return ok;
}

/* Every pattern in every lane position, and every length 0..40 from several offsets over
 * groups mixing NaNs (signalling and quiet), infinities, subnormals and zeros. */
TEST(half_kernel_every_pattern_and_tail) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  CHECK(tfl_half_kernel(TFL_CPU_SCALAR) == NULL);
  uint16_t *h = malloc((65536 + 8) * sizeof(uint16_t));
  static const uint16_t specials[] = {0x7C01, 0x0001, 0xFDFF, 0x8000, 0x7E00, 0x03FF, 0xFC00,
                                      0x7D55, 0x3C00, 0x0000, 0xFFFF, 0x8200, 0x7BFF, 0x7C00,
                                      0xFE01, 0x0400, 0x8001, 0x7FFF, 0x4248, 0xC3FF};
  const size_t n_specials = sizeof(specials) / sizeof(specials[0]);
  for (int l = 1; l < levels; l++) {
    const tfl_half_fn fn = tfl_half_kernel((tfl_cpu_level)tfl_cpu_level_parse(cpus[l]));
    CHECK(fn != NULL);
    if (!fn) continue;
    for (size_t rot = 0; rot < 8; rot++) {
      for (size_t i = 0; i < 65536 + 8; i++) h[i] = (uint16_t)(i < rot ? 0x3C00 : i - rot);
      if (!check_half_kernel(cpus[l], fn, h, 65536 + rot)) break;
    }
    for (size_t i = 0; i < 64; i++) h[i] = specials[(i * 7) % n_specials];
    for (size_t n = 0; n <= 40; n++)
      for (size_t off = 0; off < 8; off++)
        if (!check_half_kernel(cpus[l], fn, h + off, n)) break;
  }
  free(h);
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

/* ---- vector kernels and every CPU level ------------------------------------------------- */

static const tfl_type code_types[] = {TFL_INT8, TFL_UINT8, TFL_INT16};

/* TFLite's per-tensor DEQUANTIZE: scale * (q - zero_point), the product in double rounded to
 * float once. */
static float tflite_dequantize(int64_t q, float scale, int32_t zp) {
  return (float)((double)scale * (double)(q - zp));
}

/* Every code of `type` in order, as that type (malloc'd), and their count. */
static void *every_code(tfl_type type, size_t *n) {
  int64_t lo, hi;
  qr_type_range(type, &lo, &hi);
  *n = (size_t)(hi - lo + 1);
  int64_t *v = malloc(*n * sizeof(int64_t));
  for (size_t i = 0; i < *n; i++) v[i] = lo + (int64_t)i;
  void *codes = qr_pack(type, v, *n);
  free(v);
  return codes;
}

/* Equal floats, or both NaN. */
static int same_float(float a, float b) {
  return (isnan(a) && isnan(b)) || float_bits(a) == float_bits(b);
}

/* Runs `fn` over q[0..n) and checks every value against tflite_dequantize and that nothing
 * past them was written. Reports the first difference; returns 0 then. */
static int check_kernel(tfl_dequantize_fn fn, tfl_type type, const void *q, size_t n,
                        float scale, int32_t zp) {
  float *out = malloc((n + 8) * sizeof(float));
  for (size_t i = 0; i < n + 8; i++) out[i] = -7.0f;
  fn(q, n, type, scale, zp, out);
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    const int64_t code = qr_code_at(type, q, i);
    const float want = tflite_dequantize(code, scale, zp);
    if (!same_float(out[i], want)) {
      test_fail(__FILE__, __LINE__, "%s code %lld, scale %.9g, zp %d, n %zu: %.9g, want %.9g",
                tfl_type_name(type), (long long)code, (double)scale, (int)zp, n,
                (double)out[i], (double)want);
      ok = 0;
    }
  }
  for (size_t i = n; i < n + 8 && ok; i++)
    if (out[i] != -7.0f) {
      test_fail(__FILE__, __LINE__, "%s n %zu: element %zu past the output written",
                tfl_type_name(type), n, i);
      ok = 0;
    }
  free(out);
  return ok;
}

/* Scales as models have them and extremes: products that overflow, denormal ones, negative
 * and zero scales, infinity (NaN for code = zero point). */
static const float scales[] = {1.0f,    0.1f,    1.0f / 255.0f, 0.0078125f, 3.0517578e-05f,
                               0.0235f, 7e-3f,   3e38f,         FLT_MAX,    1e-40f,
                               1e-45f,  -0.5f,   0.0f,          INFINITY};

TEST(vector_kernel_exists_where_expected) {
  CHECK(tfl_dequantize_kernel(TFL_CPU_SCALAR) == NULL);
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (tfl_simd_avx2(hw) || tfl_simd_neon(hw)) CHECK(tfl_dequantize_kernel(hw) != NULL);
}

/* Every code of every type, zero points over the range the kernels take. */
TEST(vector_kernel_every_code) {
  tfl_dequantize_fn fn = tfl_dequantize_kernel(tfl_cpu_detect_hardware());
  if (!fn) return;
  static const int32_t zps[] = {0,   -128, 127,  255,    -32768, 32767,
                                -77, 1000, 1 << 23, -(1 << 23)};
  for (size_t t = 0; t < 3; t++) {
    size_t n;
    void *codes = every_code(code_types[t], &n);
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
      for (size_t z = 0; z < sizeof(zps) / sizeof(zps[0]); z++) {
        if (code_types[t] == TFL_INT16 && z % 3) continue; /* 65536 codes: fewer zero points */
        if (!check_kernel(fn, code_types[t], codes, n, scales[s], zps[z])) break;
      }
    free(codes);
  }
}

/* Every length 0..40 from every start offset (every tail). */
TEST(vector_kernel_every_tail) {
  tfl_dequantize_fn fn = tfl_dequantize_kernel(tfl_cpu_detect_hardware());
  if (!fn) return;
  for (size_t t = 0; t < 3; t++) {
    size_t n_codes;
    uint8_t *codes = every_code(code_types[t], &n_codes);
    const size_t size = tfl_type_size(code_types[t]);
    for (size_t n = 0; n <= 40; n++)
      for (size_t off = 0; off < 4; off++)
        if (!check_kernel(fn, code_types[t], codes + (off * 37 + 60) * size, n, 0.0235f, 3))
          break;
    free(codes);
  }
}

static const char *const cpus[] = {"scalar", "avx2", "neon", NULL};

/* The op at each CPU level (TFL_CPU; a level the machine lacks runs the machine's), per
 * tensor on every code, against tflite_dequantize. */
TEST(op_per_tensor_matches_tflite_at_every_level) {
  for (size_t t = 0; t < 3; t++) {
    size_t n;
    void *codes = every_code(code_types[t], &n);
    int64_t lo, hi;
    qr_type_range(code_types[t], &lo, &hi);
    const int32_t dims[] = {(int32_t)n};
    for (size_t s = 0; s < 4; s++) {
      const float scale = scales[s * 3];
      const int64_t zp = s == 0 ? lo : s == 1 ? hi : lo + (int64_t)(s * 89) % (hi - lo);
      for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
        ot_spec in[1] = {{.type = code_types[t], .ndim = 1, .dims = dims, .data = codes,
                          .q_count = 1, .scales = &scale, .zero_points = &zp}};
        ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
        const ot_op op = {.builtin_code = TFL_OP_DEQUANTIZE, .version = 1, .cpu = cpus[c]};
        ot_result r;
        const tfl_status st = ot_run_op(&op, in, 1, out, 1, &r);
        if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s", r.error);
        for (size_t i = 0; st == TFL_OK && i < n; i++) {
          const float want = tflite_dequantize(lo + (int64_t)i, scale, (int32_t)zp);
          if (!same_float(ot_f32(&r, 0)[i], want)) {
            test_fail(__FILE__, __LINE__, "TFL_CPU=%s %s code %lld: %.9g, want %.9g",
                      cpus[c] ? cpus[c] : "(unset)", tfl_type_name(code_types[t]),
                      (long long)(lo + (int64_t)i), (double)ot_f32(&r, 0)[i], (double)want);
            break;
          }
        }
        ot_result_free(&r);
      }
    }
    free(codes);
  }
}

/* Per channel along axis 1 of [2, 3, inner]: rows long enough for the vector kernel (with
 * and without a tail) and short ones, at each CPU level, against TFLite's per-channel
 * formula scale * (float)(q - zero_point) in float. */
TEST(op_per_channel_rows_at_every_level) {
  static const int32_t inners[] = {16, 9, 8, 7, 1};
  const float ch_scales[] = {0.1f, 3e38f, 1.0f / 255.0f};
  for (size_t t = 0; t < 3; t++)
    for (size_t k = 0; k < sizeof(inners) / sizeof(inners[0]); k++) {
      const int32_t dims[] = {2, 3, inners[k]};
      const size_t n = (size_t)(6 * inners[k]);
      int64_t lo, hi;
      qr_type_range(code_types[t], &lo, &hi);
      int64_t v[96];
      for (size_t i = 0; i < n; i++) v[i] = lo + (int64_t)(i * 7919) % (hi - lo + 1);
      void *codes = qr_pack(code_types[t], v, n);
      const int64_t zps[] = {lo, hi, (lo + hi) / 2};
      for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
        ot_spec in[1] = {{.type = code_types[t], .ndim = 3, .dims = dims, .data = codes,
                          .q_count = 3, .scales = ch_scales, .zero_points = zps, .q_axis = 1}};
        ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
        const ot_op op = {.builtin_code = TFL_OP_DEQUANTIZE, .version = 1, .cpu = cpus[c]};
        ot_result r;
        const tfl_status st = ot_run_op(&op, in, 1, out, 1, &r);
        if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s", r.error);
        for (size_t i = 0; st == TFL_OK && i < n; i++) {
          const size_t ch = (i / (size_t)inners[k]) % 3;
          const float want = ch_scales[ch] * (float)(v[i] - zps[ch]);
          if (!same_float(ot_f32(&r, 0)[i], want)) {
            test_fail(__FILE__, __LINE__, "TFL_CPU=%s %s inner %d element %zu: %.9g, want %.9g",
                      cpus[c] ? cpus[c] : "(unset)", tfl_type_name(code_types[t]),
                      (int)inners[k], i, (double)ot_f32(&r, 0)[i], (double)want);
            break;
          }
        }
        ot_result_free(&r);
      }
      free(codes);
    }
}

int main(void) {
  RUN(half_bit_patterns);
  RUN(half_nan);
  RUN(half_all_patterns_every_level);
  RUN(half_kernel_every_pattern_and_tail);
  RUN(per_tensor);
  RUN(per_channel);
  RUN(constant_per_channel_weights);
  RUN(zero_size);
  RUN(errors);
  RUN(vector_kernel_exists_where_expected);
  RUN(vector_kernel_every_code);
  RUN(vector_kernel_every_tail);
  RUN(op_per_tensor_matches_tflite_at_every_level);
  RUN(op_per_channel_rows_at_every_level);
  return test_summary();
}
