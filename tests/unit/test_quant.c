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

/* floor((x + 2^(e-1)) / 2^e) exactly, or the 2^31 result where x + half overflows int32. */
static int32_t rounding_right_shift_exact(int32_t x, int e) {
  if (e == 0) return x;
  __int128 sum = (__int128)x + ((__int128)1 << (e - 1));
  if (sum > INT32_MAX) return (int32_t)(((int64_t)1 << 31) >> e);
  return (int32_t)floor_div_pow2(sum, e);
}

TEST(rounding_right_shift_matches_exact_rounding) {
  for (int e = 0; e <= 31; e++) {
    for (int i = 0; i < N_EDGE; i++)
      CHECK_EQ_INT(tfl_rounding_right_shift(edge[i], e), rounding_right_shift_exact(edge[i], e));
    for (int n = 0; n < 5000; n++) {
      int32_t x = (int32_t)rnd32();
      if (tfl_rounding_right_shift(x, e) != rounding_right_shift_exact(x, e)) {
        CHECK_EQ_INT(tfl_rounding_right_shift(x, e), rounding_right_shift_exact(x, e));
        return;
      }
    }
  }
  CHECK_EQ_INT(tfl_rounding_right_shift(5, 1), 3);   /* 2.5 -> 3 */
  CHECK_EQ_INT(tfl_rounding_right_shift(-5, 1), -2); /* -2.5 -> -2: ties upward */
  CHECK_EQ_INT(tfl_rounding_right_shift(INT32_MAX, 1), 1 << 30);
}

/* The ruy form is the high multiply followed by the upward-tie shift; it agrees with the
 * double-rounding form except on negative ties of the shift. */
TEST(ruy_multiplier_application) {
  int differ = 0;
  for (int n = 0; n < 100000; n++) {
    double real = ldexp(1.0 + (rnd32() % 1000000) / 1000000.0, -(int)(rnd32() % 20));
    int32_t m;
    int s;
    tfl_quantize_multiplier(real, &m, &s);
    int32_t x = (int32_t)(rnd32() % 2000001) - 1000000;
    const int right = s > 0 ? 0 : -s;
    const int32_t high = srdhm_exact((int32_t)((uint32_t)x << (s > 0 ? s : 0)), m);
    const int32_t want = rounding_right_shift_exact(high, right);
    const int32_t got = tfl_mul_by_quantized_multiplier_ruy(x, m, s);
    if (got != want) {
      CHECK_EQ_INT(got, want);
      return;
    }
    const int negative_tie = right > 0 && high < 0 && (high & ((1 << right) - 1)) == (1 << (right - 1));
    CHECK_EQ_INT(got != tfl_mul_by_quantized_multiplier(x, m, s), negative_tie);
    differ += negative_tie;
  }
  CHECK(differ > 0);
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier_ruy(-6, 1 << 30, -1), -1); /* -1.5 -> -1 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier_ruy(6, 1 << 30, -1), 2);   /* 1.5 -> 2 */
  CHECK_EQ_INT(tfl_mul_by_quantized_multiplier_ruy(7, 1 << 30, 2), 14);
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

/* ---- 16-bit fixed-point logistic / tanh and 1/sqrt (integer LSTM) ----------------------
 * Bit-exactness is checked on published input/output vectors of TFLite's tensor_utils tests
 * (gemmlowp's algorithm, not the exact function, defines them); the whole input range is
 * checked against the exact functions in double for accuracy, monotonicity and symmetry. */

static const int16_t q312_in[15] = {-10500, 1398,  -6963, -7404, 485,    -5401, -1757, -7668,
                                    -19248, -9692, 32767, 11482, -11139, 7508,  0};
static const int16_t q312_sigmoid[15] = {2339, 19152, 5063, 4617,  17350, 6917,  12921, 4371,
                                         299,  2813,  32756, 30898, 2023, 28246, 16384};
static const int16_t tanh_in[15] = {-145, 899, -176, -35, 264,  289, 8,    27,
                                    -37,  -1310, 1058, -52, -635, 201, -1297};
static const int16_t tanh_q015[15] = {-136, 904, -176, -40, 260,  292, 8,    28,
                                      -44,  -1304, 1056, -56, -636, 192, -1300};
static const int16_t tanh_q312[15] = {-1156, 7076,   -1412, -276, 2104,  2308, 64,    220,
                                      -288,  -10132, 8276,  -412, -5044, 1612, -10044};
static const int16_t q411_in[10] = {-5, 163, -31, 54, 90, 1, -42, 150, -73, -92};
static const int16_t tanh_q411[10] = {-76, 2596, -496, 856, 1436, 24, -672, 2400, -1168, -1476};

TEST(fx16_published_vectors) {
  for (int i = 0; i < 15; i++) {
    CHECK_EQ_INT(tfl_fx16_logistic(q312_in[i], 3), q312_sigmoid[i]);
    CHECK_EQ_INT(tfl_fx16_tanh(tanh_in[i], 0), tanh_q015[i]);
    CHECK_EQ_INT(tfl_fx16_tanh(tanh_in[i], 3), tanh_q312[i]);
  }
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(tfl_fx16_tanh(q411_in[i], 4), tanh_q411[i]);
}

/* Every input of every supported format: within 6 (logistic) or 12 (tanh) LSB of the real
 * function, never dropping by more than 8 or 16 LSB as the input grows (the 16-bit steps are
 * not exactly monotonic), logistic(-x) = 1 - logistic(x) and tanh odd. */
static void check_fx16_function(int is_tanh, int int_bits) {
  int worst = 0, prev = INT16_MIN, worst_drop = 0, symmetric = 1;
  for (int32_t v = INT16_MIN; v <= INT16_MAX; v++) {
    const double x = ldexp((double)v, int_bits - 15);
    const int got = is_tanh ? tfl_fx16_tanh((int16_t)v, int_bits)
                            : tfl_fx16_logistic((int16_t)v, int_bits);
    const double exact = is_tanh ? tanh(x) * 32768.0 : 32768.0 / (1.0 + exp(-x));
    const int err = (int)fabs((double)got - fmin(exact, 32767.0));
    if (err > worst) worst = err;
    if (prev - got > worst_drop) worst_drop = prev - got;
    prev = got;
    if (v > INT16_MIN && v != 0) {
      const int mirror = is_tanh ? tfl_fx16_tanh((int16_t)-v, int_bits)
                                 : tfl_fx16_logistic((int16_t)-v, int_bits);
      if (is_tanh ? mirror != -got : mirror != 32767 - got) symmetric = 0;
    }
  }
  if (worst > (is_tanh ? 12 : 6) || worst_drop > (is_tanh ? 16 : 8) || !symmetric)
    test_fail(__FILE__, __LINE__, "%s Q%d: worst error %d LSB, worst drop %d, symmetric %d",
              is_tanh ? "tanh" : "logistic", int_bits, worst, worst_drop, symmetric);
}

TEST(fx16_close_to_exact_monotonic_symmetric) {
  for (int bits = 0; bits <= 6; bits++) {
    check_fx16_function(0, bits);
    check_fx16_function(1, bits);
  }
}

TEST(fx16_hand_cases) {
  CHECK_EQ_INT(tfl_fx16_logistic(0, 3), 16384); /* exactly one half */
  CHECK_EQ_INT(tfl_fx16_tanh(0, 4), 0);
  CHECK_EQ_INT(tfl_fx16_tanh(INT16_MAX, 6), 32767); /* tanh(64) saturates */
  CHECK_EQ_INT(tfl_fx16_tanh(INT16_MIN, 6), -32767);
  CHECK_EQ_INT(tfl_fx16_logistic(INT16_MIN, 6), 0); /* sigmoid(-64) underflows */
}

TEST(inv_sqrt_multiplier) {
  int32_t m;
  int s;
  tfl_inv_sqrt_multiplier(1, -1, &m, &s);
  CHECK_EQ_INT(m, INT32_MAX);
  CHECK_EQ_INT(s, 0);
  tfl_inv_sqrt_multiplier(0, -1, &m, &s);
  CHECK_EQ_INT(m, INT32_MAX);
  /* y / sqrt(x) within 2e-5 relative (plus rounding) over many magnitudes */
  for (int n = 0; n < 20000; n++) {
    int32_t x = (int32_t)(rnd32() >> (1 + rnd32() % 30));
    if (x < 2) x = 2;
    tfl_inv_sqrt_multiplier(x, -1, &m, &s);
    const int32_t y = 1 << 20;
    const double exact = y / sqrt((double)x);
    const int32_t got = tfl_mul_by_quantized_multiplier(y, m, s);
    if (fabs(got - exact) > 1.0 + 2e-5 * exact) {
      CHECK_NEAR(got, exact, 1.0 + 2e-5 * exact);
      return;
    }
  }
  /* x = 4: 1/2 exactly representable; 2^20 / 2 */
  tfl_inv_sqrt_multiplier(4, -1, &m, &s);
  CHECK_NEAR(tfl_mul_by_quantized_multiplier(1 << 20, m, s), 1 << 19, 1);
}

/* ---- elementwise, activation, softmax, reduction and quantization helpers ----------------
 * Against exact integer or double arithmetic, and x86's conversion rules by hand. */

TEST(trunc_i32_converts_like_x86) {
  CHECK_EQ_INT(tfl_trunc_i32(2.9), 2);
  CHECK_EQ_INT(tfl_trunc_i32(-2.9), -2);
  CHECK_EQ_INT(tfl_trunc_i32(2147483647.0), INT32_MAX);
  CHECK_EQ_INT(tfl_trunc_i32(-2147483648.0), INT32_MIN);
  CHECK_EQ_INT(tfl_trunc_i32(2147483648.0), INT32_MIN); /* out of range: "indefinite" */
  CHECK_EQ_INT(tfl_trunc_i32(-3e9), INT32_MIN);
  CHECK_EQ_INT(tfl_trunc_i32(INFINITY), INT32_MIN);
  CHECK_EQ_INT(tfl_trunc_i32(NAN), INT32_MIN);
}

TEST(affine_quantize_rounds_half_away_in_double) {
  CHECK_EQ_INT(tfl_affine_quantize(2.5f, 1.0f, 0), 3);
  CHECK_EQ_INT(tfl_affine_quantize(-2.5f, 1.0f, 0), -3);
  CHECK_EQ_INT(tfl_affine_quantize(0.5f, 1.0f, -128), -127);
  CHECK_EQ_INT(tfl_affine_quantize(-0.49f, 1.0f, 10), 10);
  /* 0.3 / 0.1 is 2.9999999 in double but exactly 3 in float: 0.35 / 0.1 picks the side */
  CHECK_EQ_INT(tfl_affine_quantize(0.35f, 0.1f, 0), 3); /* 3.4999999 in double */
  CHECK_EQ_INT(tfl_affine_quantize_f32(0.35f, 0.1f, 0), 4); /* 3.5 in float */
  /* infinite and NaN become INT32_MIN, then the zero point wraps */
  CHECK_EQ_INT(tfl_affine_quantize(INFINITY, 1.0f, 0), INT32_MIN);
  CHECK_EQ_INT(tfl_affine_quantize(NAN, 1.0f, -1), INT32_MAX);
}

TEST(requantize_f32_hand_cases) {
  /* q * 0.5 + 1.25 rounded half away from zero */
  CHECK_EQ_INT(tfl_requantize_f32(3, 0.5f, 1.25f, 0), 3);   /* 2.75 */
  CHECK_EQ_INT(tfl_requantize_f32(-5, 0.5f, 0.0f, 7), 4);   /* -2.5 -> -3 */
  CHECK_EQ_INT(tfl_requantize_f32(255, 1.0f, 0.0f, 10), 265); /* the caller clamps */
}

TEST(checked_log2) {
  int e = 0;
  CHECK(tfl_checked_log2(1.0f / 32768, &e) && e == -15);
  CHECK(tfl_checked_log2(4096.0f, &e) && e == 12);
  CHECK(tfl_checked_log2(1.0f / 32768 * 1.0001f, &e) && e == -15); /* within 1e-3 in log2 */
  CHECK(!tfl_checked_log2(3.0f, &e));
  CHECK(!tfl_checked_log2(0.75f, &e));
}

TEST(multiplier_to_int16) {
  CHECK_EQ_INT(tfl_multiplier_to_int16(1 << 30), 1 << 14);
  CHECK_EQ_INT(tfl_multiplier_to_int16((1 << 30) + (1 << 15)), (1 << 14) + 1); /* tie up */
  CHECK_EQ_INT(tfl_multiplier_to_int16((1 << 30) + (1 << 15) - 1), 1 << 14);
  CHECK_EQ_INT(tfl_multiplier_to_int16(INT32_MAX), INT16_MAX);
  CHECK_EQ_INT(tfl_multiplier_to_int16(INT32_MAX - (1 << 15)), INT16_MAX);
}

/* round(a b / 2^15) with ties toward +infinity, exactly. */
static int32_t srdhm16_exact(int32_t a, int32_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  return (int32_t)floor_div_pow2((__int128)a * b + (1 << 14), 15);
}

TEST(int16_fixed_point_helpers) {
  for (int32_t a = -32767; a <= 32767; a += 97)
    for (int32_t b = -32767; b <= 32767; b += 89) {
      if (tfl_srdhm16((int16_t)a, (int16_t)b) != srdhm16_exact(a, b)) {
        CHECK_EQ_INT(tfl_srdhm16((int16_t)a, (int16_t)b), srdhm16_exact(a, b));
        return;
      }
      const int32_t trunc = (a * b) / (1 << 15); /* C division truncates toward zero */
      if (tfl_sdhm16_trunc((int16_t)a, (int16_t)b) != trunc) {
        CHECK_EQ_INT(tfl_sdhm16_trunc((int16_t)a, (int16_t)b), trunc);
        return;
      }
    }
  CHECK_EQ_INT(tfl_srdhm16(INT16_MIN, INT16_MIN), INT16_MAX);
  CHECK_EQ_INT(tfl_sdhm16_trunc(INT16_MIN, INT16_MIN), INT16_MAX);
  CHECK_EQ_INT(tfl_srdhm16(-1, 1 << 14), 0); /* -0.5 rounds toward +infinity */
  CHECK_EQ_INT(tfl_sdhm16_trunc(-3, 1 << 14), -1); /* -1.5 truncates */
  for (int e = 0; e <= 15; e++)
    for (int32_t x = -32768; x <= 32767; x += 7)
      if (tfl_rdbpot16((int16_t)x, e) != rdbpot_exact(x, e)) {
        CHECK_EQ_INT(tfl_rdbpot16((int16_t)x, e), rdbpot_exact(x, e));
        return;
      }
  CHECK_EQ_INT(tfl_sat_shift_left16(16383, 1), 32766);
  CHECK_EQ_INT(tfl_sat_shift_left16(16384, 1), INT16_MAX);
  CHECK_EQ_INT(tfl_sat_shift_left16(-16385, 1), INT16_MIN);
  CHECK_EQ_INT(tfl_sat_shift_left16(-3, 4), -48);
}

/* Scale ratios of extreme but finite scales (2^40, 2^-60) give shifts no valid model has;
 * applying them must stay defined (the sanitizer builds check): shifts act as if clamped to
 * [-31, 31], and the 16-bit saturating shift saturates at any amount. */
TEST(out_of_range_shifts_are_defined) {
  int32_t m;
  int s;
  tfl_quantize_multiplier(ldexp(1.0, 40), &m, &s);
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 41);
  const int32_t xs[] = {0, 1, -1, 3, -77, 65535, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
    const int32_t x = xs[i];
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(x, m, s),
                 tfl_mul_by_quantized_multiplier(x, m, 31));
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(x, m, 200),
                 tfl_mul_by_quantized_multiplier(x, m, 31));
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier(x, m, -60),
                 tfl_mul_by_quantized_multiplier(x, m, -31));
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier_ruy(x, m, s),
                 tfl_mul_by_quantized_multiplier_ruy(x, m, 31));
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier_ruy(x, m, -60),
                 tfl_mul_by_quantized_multiplier_ruy(x, m, -31));
  }
  CHECK_EQ_INT(tfl_sat_shift_left16(1, 64), INT16_MAX);
  CHECK_EQ_INT(tfl_sat_shift_left16(-1, 200), INT16_MIN);
  CHECK_EQ_INT(tfl_sat_shift_left16(0, 64), 0);
}

TEST(mean_multiplier_folds_the_count) {
  int32_t m, mm;
  int s, ms;
  /* 1/3 over n = 5: pre-shift floor(log2 5) = 2, multiplier (m << 2) / 5 truncated */
  tfl_quantize_multiplier(1.0 / 3.0, &m, &s);
  tfl_mean_multiplier(m, s, 5, &mm, &ms);
  CHECK_EQ_INT(mm, (int32_t)(((int64_t)m << 2) / 5));
  CHECK_EQ_INT(ms, s - 2);
  /* the pre-shift stops at 32 and at 31 + shift */
  tfl_mean_multiplier(1 << 30, 1, (int64_t)1 << 40, &mm, &ms);
  CHECK_EQ_INT(ms, 1 - 32);
  CHECK_EQ_INT(mm, (int32_t)(((int64_t)1 << 62) >> 40));
  tfl_mean_multiplier(1 << 30, -20, 1 << 20, &mm, &ms);
  CHECK_EQ_INT(ms, -31);
  CHECK_EQ_INT(mm, (int32_t)(((int64_t)1 << 41) >> 20));
  /* applied: the mean of n equal values x is x */
  tfl_quantize_multiplier(1.0, &m, &s);
  for (int64_t n = 1; n < 2000; n += 37) {
    tfl_mean_multiplier(m, s, n, &mm, &ms);
    CHECK_EQ_INT(tfl_mul_by_quantized_multiplier((int32_t)(n * 100), mm, ms), 100);
  }
}

/* TFLite's int16 table algorithm written out plainly in float (the helper reaches float
 * semantics by rounding doubles instead). */
static void ref_lut16_f32(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                          float (*f)(float), int16_t lut[513]) {
  const float in_min = in_scale * (float)(-32768 - in_zp);
  const float in_max = in_scale * (float)(32767 - in_zp);
  const float out_min = out_scale * (float)(-32768 - out_zp);
  const float out_max = out_scale * (float)(32767 - out_zp);
  const float step = (in_max - in_min) / 512.0f;
  const float half = step / 2.0f;
  const float inv = 65536.0f / (out_max - out_min);
  for (int i = 0; i < 512; i++) {
    const float x = in_min + (float)i * step;
    const float v = f(x), v_mid = f(x + half), v_next = f(in_min + (float)(i + 1) * step);
    const float sample = roundf(v * inv);
    const float interp = roundf((v_next * inv + roundf(v * inv)) / 2.0f);
    const float err = interp - roundf(v_mid * inv);
    float r = sample - roundf(err / 2.0f);
    r = r < -32768.0f ? -32768.0f : (r > 32767.0f ? 32767.0f : r);
    lut[i] = (int16_t)r;
  }
  float last = roundf(f(in_max) * inv);
  last = last < -32768.0f ? -32768.0f : (last > 32767.0f ? 32767.0f : last);
  lut[512] = (int16_t)last;
}

static float tanh_f(float x) { return tanhf(x); }
static float cube_f(float x) { return x * x * x; }
static double tanh_d(double x, const void *arg) {
  (void)arg;
  return (double)tanhf((float)x);
}
static double cube_d(double x, const void *arg) {
  (void)arg;
  const float f = (float)x;
  return (double)(f * f * f);
}
static double exp_d(double x, const void *arg) {
  (void)arg;
  return exp(x);
}

TEST(lut16_builds_and_interpolates) {
  int16_t lut[513], want[513];
  /* float tables against the plain float algorithm, over a few parameter sets */
  const float scales[][2] = {{1.0f / 4096, 1.0f / 32768}, {0.001f, 0.0007f}, {3e-4f, 2.1e-5f}};
  const int32_t zps[][2] = {{0, 0}, {12, -7}, {-300, 45}};
  for (int k = 0; k < 3; k++) {
    tfl_build_lut16(1, scales[k][0], zps[k][0], scales[k][1], zps[k][1], tanh_d, NULL, lut);
    ref_lut16_f32(scales[k][0], zps[k][0], scales[k][1], zps[k][1], tanh_f, want);
    for (int i = 0; i < 513; i++) CHECK_EQ_INT(lut[i], want[i]);
    tfl_build_lut16(1, scales[k][0], zps[k][0], scales[k][1], zps[k][1], cube_d, NULL, lut);
    ref_lut16_f32(scales[k][0], zps[k][0], scales[k][1], zps[k][1], cube_f, want);
    for (int i = 0; i < 513; i++) CHECK_EQ_INT(lut[i], want[i]);
  }
  /* a double table of exp on [-10, 0] to Q0.15 (TFLite's int16 softmax), against the same
   * algorithm in double; interpolated lookups stay close to the exact function */
  tfl_build_lut16(0, 10.0 / 65535, 32767, 2.0 / 65535, 0, exp_d, NULL, lut);
  const double in_min = 10.0 / 65535 * (-32768 - 32767), in_max = 0.0;
  const double step = (in_max - in_min) / 512, inv = 65536.0 / 2.0;
  for (int i = 0; i < 512; i++) {
    const double x = in_min + i * step;
    const double sample = round(exp(x) * inv);
    const double interp = round((exp(in_min + (i + 1) * step) * inv + sample) / 2);
    const double err = interp - round(exp(x + step / 2) * inv);
    const double v = sample - round(err / 2);
    CHECK_EQ_INT(lut[i], v > 32767 ? 32767 : v);
  }
  CHECK_EQ_INT(lut[512], 32767);
  for (int32_t x = -32768; x <= 32767; x += 11) {
    const double exact = exp(10.0 / 65535 * (x - 32767)) * 32768.0;
    CHECK_NEAR(tfl_lut16_lookup((int16_t)x, lut), exact > 32767 ? 32767 : exact, 8.0);
  }
}

static float to_infinity(float x, const void *arg) {
  (void)arg;
  return x > 0 ? INFINITY : (x < 0 ? NAN : 0.0f);
}

TEST(lut8_converts_infinities_like_x86) {
  uint8_t table[256];
  tfl_build_lut8(TFL_INT8, 1.0f, 0, TFL_INT8, 1.0f, 5, to_infinity, NULL, table);
  CHECK_EQ_INT((int8_t)table[(uint8_t)(int8_t)3], -128);  /* +inf -> INT32_MIN -> minimum */
  CHECK_EQ_INT((int8_t)table[(uint8_t)(int8_t)-3], -128); /* NaN too */
  CHECK_EQ_INT((int8_t)table[0], 5);
}

TEST(hybrid_matvec_accumulates_scaled_int_dots) {
  /* rows (1, 2, 3) and (-4, 5, -6) against x = (10, -20, 30) with zero point 2:
   * x - zp = (8, -22, 28); dots 8 - 44 + 84 = 48 and -32 - 110 - 168 = -310 */
  const int8_t w[6] = {1, 2, 3, -4, 5, -6};
  const int8_t x[3] = {10, -20, 30};
  float acc[2] = {1.0f, -1.0f};
  tfl_hybrid_matvec_acc(w, 2, 3, x, 2, 0.5f, acc);
  CHECK_EQ_INT(acc[0] == 25.0f, 1);
  CHECK_EQ_INT(acc[1] == -156.0f, 1);
  /* extreme codes: 127 * (127 - (-128)) = 32385, times 0.25 */
  const int8_t big[1] = {127};
  const int8_t xs[1] = {127};
  float one = 0.0f;
  tfl_hybrid_matvec_acc(big, 1, 1, xs, -128, 0.25f, &one);
  CHECK_EQ_INT(one == 8096.25f, 1);
  /* no columns: adds zero */
  tfl_hybrid_matvec_acc(big, 1, 0, xs, 0, 0.25f, &one);
  CHECK_EQ_INT(one == 8096.25f, 1);
}

int main(void) {
  RUN(srdhm_matches_exact_rounding);
  RUN(srdhm_hand_cases);
  RUN(rdbpot_matches_exact_rounding);
  RUN(quantize_multiplier_represents_the_real);
  RUN(multiplier_application_is_close_to_exact);
  RUN(rounding_right_shift_matches_exact_rounding);
  RUN(ruy_multiplier_application);
  RUN(multiplier64_hand_cases);
  RUN(activation_ranges);
  RUN(lut8_dequantizes_applies_and_requantizes);
  RUN(fx16_published_vectors);
  RUN(fx16_close_to_exact_monotonic_symmetric);
  RUN(fx16_hand_cases);
  RUN(inv_sqrt_multiplier);
  RUN(hybrid_matvec_accumulates_scaled_int_dots);
  RUN(trunc_i32_converts_like_x86);
  RUN(affine_quantize_rounds_half_away_in_double);
  RUN(requantize_f32_hand_cases);
  RUN(checked_log2);
  RUN(multiplier_to_int16);
  RUN(int16_fixed_point_helpers);
  RUN(out_of_range_shifts_are_defined);
  RUN(mean_multiplier_folds_the_count);
  RUN(lut16_builds_and_interpolates);
  RUN(lut8_converts_infinities_like_x86);
  return test_summary();
}
