/* The fixed-point helpers against exact integer arithmetic and hand-computed cases. */
#include <math.h>
#include <stdint.h>

#include "kernels/quant.h"
#include "util/test.h"

/* xorshift64*: a fixed-seed generator so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static const int32_t edge[] = {INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -3, -2, -1, 0,
                               1, 2, 3, (1 << 30), (1 << 30) + 1, INT32_MAX - 1, INT32_MAX};
#define N_EDGE ((int)(sizeof(edge) / sizeof(edge[0])))

/* floor(a / 2^k) for any sign, by exact integer reasoning. */
static int64_t floor_div_pow2(__int128 a, int k) {
  __int128 d = (__int128)1 << k;
  __int128 q = a / d;
  if (a % d != 0 && a < 0) q--;
  return (int64_t)q;
}

static int32_t srdhm_exact(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  return (int32_t)floor_div_pow2((__int128)a * b + ((__int128)1 << 30), 31);
}

static int32_t rdbpot_exact(int32_t x, int e) {
  if (e == 0) return x;
  __int128 half = (__int128)1 << (e - 1);
  if (x >= 0) return (int32_t)floor_div_pow2((__int128)x + half, e);
  return (int32_t)-floor_div_pow2(-(__int128)x + half, e);
}

TEST(srdhm_matches_exact_rounding) {
  for (int i = 0; i < N_EDGE; i++)
    for (int j = 0; j < N_EDGE; j++) CHECK_EQ_INT(tfl_srdhm(edge[i], edge[j]), srdhm_exact(edge[i], edge[j]));
  for (int n = 0; n < 200000; n++) {
    int32_t a = (int32_t)rnd32(), b = (int32_t)rnd32();
    if (n & 1) b >>= (rnd32() % 31);
    if (tfl_srdhm(a, b) != srdhm_exact(a, b)) {
      CHECK_EQ_INT(tfl_srdhm(a, b), srdhm_exact(a, b));
      return;
    }
  }
}

TEST(srdhm_hand_cases) {
  CHECK_EQ_INT(tfl_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  CHECK_EQ_INT(tfl_srdhm(1 << 30, 1 << 30), 1 << 29);   /* 0.5 * 0.5 = 0.25 */
  CHECK_EQ_INT(tfl_srdhm(1, 1 << 30), 1);               /* 0.5 rounds up */
  CHECK_EQ_INT(tfl_srdhm(-1, 1 << 30), 0);              /* -0.5 rounds toward +inf */
  CHECK_EQ_INT(tfl_srdhm(-3, 1 << 30), -1);             /* -1.5 -> -1 */
}

TEST(rdbpot_matches_exact_rounding) {
  for (int e = 0; e <= 31; e++) {
    for (int i = 0; i < N_EDGE; i++) CHECK_EQ_INT(tfl_rdbpot(edge[i], e), rdbpot_exact(edge[i], e));
    for (int n = 0; n < 5000; n++) {
      int32_t x = (int32_t)rnd32();
      if (tfl_rdbpot(x, e) != rdbpot_exact(x, e)) {
        CHECK_EQ_INT(tfl_rdbpot(x, e), rdbpot_exact(x, e));
        return;
      }
    }
  }
  CHECK_EQ_INT(tfl_rdbpot(5, 1), 3);   /* 2.5 -> 3 */
  CHECK_EQ_INT(tfl_rdbpot(-5, 1), -3); /* -2.5 -> -3: ties away from zero */
  CHECK_EQ_INT(tfl_rdbpot(-6, 2), -2); /* -1.5 -> -2 */
}

TEST(quantize_multiplier_represents_the_real) {
  const double reals[] = {1.0, 0.5, 0.25, 0.75, 1.5, 3.9999999999, 1e-3, 2.5e-6, 123.456,
                          0.0078125, 0.99999999999999, 1e-9};
  for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
    int32_t m;
    int s;
    tfl_quantize_multiplier(reals[i], &m, &s);
    CHECK(m >= (1 << 30));
    double back = (double)m * ldexp(1.0, s - 31);
    CHECK(fabs(back - reals[i]) <= reals[i] * ldexp(1.0, -30));
  }
  int32_t m;
  int s;
  tfl_quantize_multiplier(0.0, &m, &s);
  CHECK_EQ_INT(m, 0);
  CHECK_EQ_INT(s, 0);
  tfl_quantize_multiplier(0.5, &m, &s);
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 0);
  /* rounds up to 2^31 and renormalizes */
  tfl_quantize_multiplier(1.0 - 1e-12, &m, &s);
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 1);
  /* too small: flushed to zero */
  tfl_quantize_multiplier(1e-12, &m, &s);
  CHECK_EQ_INT(m, 0);
  CHECK_EQ_INT(s, 0);
}

TEST(multiplier_application_is_close_to_exact) {
  for (int n = 0; n < 100000; n++) {
    double real = ldexp(1.0 + (rnd32() % 1000000) / 1000000.0, -(int)(rnd32() % 20));
    int32_t m;
    int s;
    tfl_quantize_multiplier(real, &m, &s);
    int32_t x = (int32_t)(rnd32() % 2000001) - 1000000;
    double exact = (double)x * (double)m * ldexp(1.0, s - 31);
    int32_t got = tfl_mul_by_quantized_multiplier(x, m, s);
    if (fabs((double)got - exact) > 1.0) {
      CHECK_NEAR(got, exact, 1.0);
      return;
    }
  }
  /* hand cases: 100 * 0.5 = 50; 3 * 0.5 = 1.5 -> 2; -3 * 0.5 = -1.5 -> -1 (the doubling high
   * multiply rounds ties up and leaves nothing for the shift to round); 7 * 2 = 14 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(100, 1 << 30, 0), 50);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(3, 1 << 30, 0), 2);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(-3, 1 << 30, 0), -1);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(-3, 1 << 30, -1), -1); /* -0.75 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(-5, 1 << 30, -1), -1); /* -1.25 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(-6, 1 << 30, -1), -2); /* -1.5: ties away */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(7, 1 << 30, 2), 14);
}

TEST(multiplier64_hand_cases) {
  /* multiplier 2^30 (0.5) reduces to 2^14; 1000 * 0.5 = 500; shift 1 doubles. */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier64(1000, 1 << 30, 0), 500);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier64(1000, 1 << 30, 1), 1000);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier64(3, 1 << 30, 0), 2);   /* 1.5 -> 2 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier64(-3, 1 << 30, 0), -1); /* -1.5 -> -1 (floor) */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier64((int64_t)1 << 40, 1 << 30, -10), 1 << 29);
}

TEST(activation_ranges) {
  int32_t lo, hi;
  CHECK_EQ_INT(tfl_quantized_activation_range(TFL_ACT_NONE, TFL_INT8, 0.1f, 0, &lo, &hi), TFL_OK);
  CHECK_EQ_INT(lo, -128);
  CHECK_EQ_INT(hi, 127);
  /* uint8, scale 6/255, zp 0: relu6 covers the whole range */
  CHECK_EQ_INT(tfl_quantized_activation_range(TFL_ACT_RELU6, TFL_UINT8, 6.0f / 255, 0, &lo, &hi), TFL_OK);
  CHECK_EQ_INT(lo, 0);
  CHECK_EQ_INT(hi, 255);
  /* uint8, scale 0.1, zp 100: relu -> [100, 255], relu6 -> [100, 160], n1to1 -> [90, 110] */
  tfl_quantized_activation_range(TFL_ACT_RELU, TFL_UINT8, 0.1f, 100, &lo, &hi);
  CHECK_EQ_INT(lo, 100);
  CHECK_EQ_INT(hi, 255);
  tfl_quantized_activation_range(TFL_ACT_RELU6, TFL_UINT8, 0.1f, 100, &lo, &hi);
  CHECK_EQ_INT(lo, 100);
  CHECK_EQ_INT(hi, 160);
  tfl_quantized_activation_range(TFL_ACT_RELU_N1_TO_1, TFL_UINT8, 0.1f, 100, &lo, &hi);
  CHECK_EQ_INT(lo, 90);
  CHECK_EQ_INT(hi, 110);
  /* zero point at the top of int8: relu leaves only the zero point */
  tfl_quantized_activation_range(TFL_ACT_RELU, TFL_INT8, 0.5f, 127, &lo, &hi);
  CHECK_EQ_INT(lo, 127);
  CHECK_EQ_INT(hi, 127);
  /* zero point at the bottom: relu6 on a tiny scale saturates at the type's max */
  tfl_quantized_activation_range(TFL_ACT_RELU6, TFL_INT8, 1e-3f, -128, &lo, &hi);
  CHECK_EQ_INT(lo, -128);
  CHECK_EQ_INT(hi, 127);
  CHECK(tfl_quantized_activation_range(TFL_ACT_TANH, TFL_INT8, 1.0f, 0, &lo, &hi) != TFL_OK);
}

static float halve(float x, const void *arg) {
  (void)arg;
  return x * 0.5f;
}

TEST(lut8_dequantizes_applies_and_requantizes) {
  uint8_t table[256];
  /* int8 in (scale 1, zp 0) -> x/2 -> int8 out (scale 1, zp 0): round half away from zero */
  tfl_build_lut8(TFL_INT8, 1.0f, 0, TFL_INT8, 1.0f, 0, halve, NULL, table);
  CHECK_EQ_INT((int8_t)table[(uint8_t)(int8_t)3], 2);
  CHECK_EQ_INT((int8_t)table[(uint8_t)(int8_t)-3], -2);
  CHECK_EQ_INT((int8_t)table[(uint8_t)(int8_t)-128], -64);
  /* uint8 out with zp 200 clamps at 255 */
  tfl_build_lut8(TFL_UINT8, 1.0f, 0, TFL_UINT8, 0.5f, 200, halve, NULL, table);
  CHECK_EQ_INT(table[10], 210);
  CHECK_EQ_INT(table[255], 255);
}

int main(void) {
  RUN(srdhm_matches_exact_rounding);
  RUN(srdhm_hand_cases);
  RUN(rdbpot_matches_exact_rounding);
  RUN(quantize_multiplier_represents_the_real);
  RUN(multiplier_application_is_close_to_exact);
  RUN(multiplier64_hand_cases);
  RUN(activation_ranges);
  RUN(lut8_dequantizes_applies_and_requantizes);
  return test_summary();
}
