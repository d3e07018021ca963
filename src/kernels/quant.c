#include "kernels/quant.h"

#include <math.h>

void tfl_quantize_multiplier(double real, int32_t *multiplier, int *shift) {
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exp = 0;
  double q = frexp(real, &exp);
  int64_t fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
  if (fixed == ((int64_t)1 << 31)) {
    fixed /= 2;
    exp++;
  }
  if (exp < -31) {
    exp = 0;
    fixed = 0;
  }
  *multiplier = (int32_t)fixed;
  *shift = exp;
}

void tfl_quantized_type_range(tfl_type type, int32_t *min, int32_t *max) {
  switch (type) {
    case TFL_UINT8: *min = 0; *max = 255; return;
    case TFL_INT8: *min = -128; *max = 127; return;
    case TFL_INT16: *min = -32768; *max = 32767; return;
    default: *min = INT32_MIN; *max = INT32_MAX; return;
  }
}

static int32_t quantize_bound(float value, float scale, int32_t zero_point) {
  float q = roundf(value / scale);
  if (q >= 2147483648.0f) return INT32_MAX;
  if (q < -2147483648.0f) return INT32_MIN;
  int64_t r = (int64_t)zero_point + (int64_t)q;
  if (r > INT32_MAX) return INT32_MAX;
  if (r < INT32_MIN) return INT32_MIN;
  return (int32_t)r;
}

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

tfl_status tfl_quantized_activation_range(int act, tfl_type type, float scale,
                                          int32_t zero_point, int32_t *act_min,
                                          int32_t *act_max) {
  int32_t qmin, qmax;
  tfl_quantized_type_range(type, &qmin, &qmax);
  switch (act) {
    case TFL_ACT_NONE:
      *act_min = qmin;
      *act_max = qmax;
      return TFL_OK;
    case TFL_ACT_RELU:
      *act_min = max32(qmin, quantize_bound(0.0f, scale, zero_point));
      *act_max = qmax;
      return TFL_OK;
    case TFL_ACT_RELU6:
      *act_min = max32(qmin, quantize_bound(0.0f, scale, zero_point));
      *act_max = min32(qmax, quantize_bound(6.0f, scale, zero_point));
      return TFL_OK;
    case TFL_ACT_RELU_N1_TO_1:
      *act_min = max32(qmin, quantize_bound(-1.0f, scale, zero_point));
      *act_max = min32(qmax, quantize_bound(1.0f, scale, zero_point));
      return TFL_OK;
    default:
      return TFL_UNSUPPORTED;
  }
}

void tfl_build_lut8(tfl_type in_type, float in_scale, int32_t in_zp, tfl_type out_type,
                    float out_scale, int32_t out_zp, float (*f)(float, const void *),
                    const void *arg, uint8_t table[256]) {
  int32_t in_min, in_max, out_min, out_max;
  tfl_quantized_type_range(in_type, &in_min, &in_max);
  tfl_quantized_type_range(out_type, &out_min, &out_max);
  const float inv_out_scale = 1.0f / out_scale;
  for (int32_t v = in_min; v <= in_max; v++) {
    float x = in_scale * (float)((int64_t)v - in_zp); /* no int32 overflow for any zero point */
    /* Converted as TFLite's static_cast is on x86: an infinite or NaN result of f becomes
     * INT32_MIN, so the type's minimum. */
    int32_t q = tfl_trunc_i32(roundf(f(x, arg) * inv_out_scale) + (float)out_zp);
    if (q < out_min) q = out_min;
    if (q > out_max) q = out_max;
    table[(uint8_t)v] = (uint8_t)q;
  }
}

/* ---- 16-bit fixed-point math of the integer recurrent kernels --------------------------
 * gemmlowp's scalar int16 FixedPoint semantics: `+`/`-` are plain int16 arithmetic that
 * wraps, `*` is the 16-bit saturating rounding doubling high multiply (tfl_srdhm16),
 * constants are the 32-bit constants rounded to 16 bits, and the format (integer bits) only
 * moves the binary point. */

static int16_t fx16_wrap(int32_t v) { return (int16_t)(uint16_t)(uint32_t)v; }

/* A 32-bit fixed-point constant as gemmlowp narrows it to 16 bits. */
static int16_t fx16_const(int32_t raw32) { return (int16_t)tfl_rdbpot(raw32, 16); }

/* x * 2^exponent, saturating when exponent > 0 and rounding to nearest when < 0. */
static int16_t fx16_mul_pot(int16_t x, int exponent) {
  if (exponent < 0) return (int16_t)tfl_rdbpot(x, -exponent);
  const int32_t threshold = (1 << (15 - exponent)) - 1;
  if (x > threshold) return INT16_MAX;
  if (x < -threshold) return INT16_MIN;
  return fx16_wrap((int32_t)x * (1 << exponent));
}

/* exp(a) for a in [-1/4, 0), Q0.15 in and out: Taylor expansion around -1/8. */
static int16_t fx16_exp_quarter(int16_t a) {
  const int16_t exp_minus_eighth = fx16_const(1895147668);
  const int16_t one_third = fx16_const(715827883);
  const int16_t x = fx16_wrap(a + (1 << 12));
  const int16_t x2 = tfl_srdhm16(x, x);
  const int16_t x3 = tfl_srdhm16(x2, x);
  const int16_t x4 = tfl_srdhm16(x2, x2);
  const int16_t x4_over_4 = fx16_mul_pot(x4, -2);
  const int16_t poly =
      fx16_mul_pot(fx16_wrap(tfl_srdhm16(fx16_wrap(x4_over_4 + x3), one_third) + x2), -1);
  const int32_t sum =
      (int32_t)exp_minus_eighth + tfl_srdhm16(exp_minus_eighth, fx16_wrap(x + poly));
  return (int16_t)(sum > INT16_MAX ? INT16_MAX : sum < INT16_MIN ? INT16_MIN : sum);
}

/* exp(a) for a <= 0 in Q(int_bits) (int_bits in [0, 7]), result Q0.15: the fractional quarter
 * by polynomial, then one multiply per set bit of the remainder (exp(-2^k) constants). */
static int16_t fx16_exp_on_negative(int16_t a, int int_bits) {
  static const int32_t exp_of_minus_pot[7] = {1672461947, 1302514674, 790015084, 290630308,
                                              39332535,   720401,     242};
  const int frac_bits = 15 - int_bits;
  const int16_t quarter = (int16_t)(1 << (frac_bits - 2));
  const int16_t a_mod_quarter_minus_quarter = fx16_wrap((a & (quarter - 1)) - quarter);
  int16_t result = fx16_exp_quarter(fx16_mul_pot(a_mod_quarter_minus_quarter, int_bits));
  const int16_t remainder = fx16_wrap(a_mod_quarter_minus_quarter - a);
  for (int k = 0; k < 7; k++) {
    const int exponent = k - 2;
    if (int_bits <= exponent) break;
    if (remainder & (1 << (frac_bits + exponent)))
      result = tfl_srdhm16(result, fx16_const(exp_of_minus_pot[k]));
  }
  if (int_bits > 5 && a < -(1 << (20 - int_bits))) result = 0; /* below -32 */
  return a == 0 ? INT16_MAX : result;
}

/* Newton-Raphson reciprocal of (1 + a) / 2 for a in (0, 1) Q0.15, returned as the raw Q2.13
 * value close to 2 / (1 + a). */
static int16_t fx16_two_over_one_plus(int16_t a) {
  const int32_t sum = (int32_t)a + INT16_MAX; /* rounding half sum, ties away from zero */
  const int16_t half_denominator = (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int16_t c48_over_17 = fx16_const(1515870810);
  const int16_t c_neg32_over_17 = fx16_const(-1010580540);
  const int16_t one_q2 = 1 << 13;
  int16_t x = fx16_wrap(c48_over_17 + tfl_srdhm16(half_denominator, c_neg32_over_17));
  for (int i = 0; i < 3; i++) {
    const int16_t one_minus = fx16_wrap(one_q2 - tfl_srdhm16(half_denominator, x));
    x = fx16_wrap(x + fx16_mul_pot(tfl_srdhm16(x, one_minus), 2));
  }
  return x;
}

int16_t tfl_fx16_logistic(int16_t x, int int_bits) {
  if (x == 0) return 1 << 14;
  const int16_t abs_x = x > 0 ? x : fx16_wrap(-(int32_t)x);
  const int16_t e = fx16_exp_on_negative(fx16_wrap(-(int32_t)abs_x), int_bits);
  /* 1 / (1 + e) is half of 2 / (1 + e): Q2.13 read as Q1.14, rescaled to Q0.15. */
  const int16_t positive = fx16_mul_pot(fx16_two_over_one_plus(e), 1);
  return x > 0 ? positive : fx16_wrap(INT16_MAX - positive);
}

int16_t tfl_fx16_tanh(int16_t x, int int_bits) {
  if (x == 0) return 0;
  const int16_t non_positive = x < 0 ? x : fx16_wrap(-(int32_t)x);
  /* tanh(|x|) = (1 - exp(-2|x|)) / (1 + exp(-2|x|)); doubling = one more integer bit. */
  const int16_t e = fx16_exp_on_negative(non_positive, int_bits + 1);
  const int16_t one_q2 = 1 << 13;
  const int16_t t = fx16_mul_pot(fx16_wrap(fx16_two_over_one_plus(e) - one_q2), 2);
  return x < 0 ? fx16_wrap(-(int32_t)t) : t;
}

/* ---- 1 / sqrt ------------------------------------------------------------------------- */

/* x * 2^exponent on 32 bits, saturating (exponent > 0). */
static int32_t fx32_sat_shift_left(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

void tfl_inv_sqrt_multiplier(int32_t x, int reverse_shift, int32_t *multiplier, int *shift) {
  if (x <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int right_shift = 11;
  while (x >= (1 << 29)) {
    x /= 4;
    right_shift++;
  }
  /* Normalize x into [2^27, 2^29) by pairs of bits, so that sqrt scales by whole bits. */
  int leading_zeros = 0;
  while (!((uint32_t)x & (0x80000000u >> leading_zeros))) leading_zeros++;
  const int pairs = (leading_zeros - 1) / 2 - 1;
  right_shift -= pairs;
  x <<= 2 * pairs;
  /* Newton-Raphson on 1/sqrt in Q3.28, starting from 1. */
  const int32_t input_q3 = x >> 1;
  const int32_t half_input = tfl_rdbpot(input_q3, 1);
  const int32_t three_halves = (1 << 28) + (1 << 27);
  int32_t r = 1 << 28;
  for (int i = 0; i < 5; i++) {
    const int32_t r3 = fx32_sat_shift_left(tfl_srdhm(tfl_srdhm(r, r), r), 6);
    const int32_t diff =
        (int32_t)((uint32_t)tfl_srdhm(three_halves, r) - (uint32_t)tfl_srdhm(half_input, r3));
    r = fx32_sat_shift_left(diff, 3);
  }
  r = tfl_srdhm(r, 1518500250); /* sqrt(2) / 2 */
  if (right_shift < 0) {
    r = (int32_t)((uint32_t)r << -right_shift);
    right_shift = 0;
  }
  *multiplier = r;
  *shift = right_shift * reverse_shift;
}

/* ---- dynamic-range ("hybrid") kernels --------------------------------------------------- */

void tfl_hybrid_matvec_acc(const int8_t *w, int32_t rows, int32_t cols, const int8_t *x,
                           int32_t x_zero_point, float scale, float *acc) {
  for (int32_t r = 0; r < rows; r++, w += cols) {
    uint32_t dot = 0; /* wraps like TFLite's int32 sum minus row sum times zero point */
    for (int32_t c = 0; c < cols; c++)
      dot += (uint32_t)((int32_t)w[c] * ((int32_t)x[c] - x_zero_point));
    acc[r] += (float)(int32_t)dot * scale;
  }
}

/* ---- elementwise, activation, softmax, reduction and quantization kernels ------------- */

int tfl_checked_log2(float x, int *log2_result) {
  const float x_log2 = logf(x) * (1.0f / logf(2.0f));
  const float rounded = roundf(x_log2);
  *log2_result = (int)rounded;
  return fabsf(x_log2 - rounded) < 1e-3f;
}

void tfl_mean_multiplier(int32_t multiplier, int shift, int64_t n, int32_t *mean_multiplier,
                         int *mean_shift) {
  /* Pre-shift by floor(log2 n), at most 32 and never below a 31-bit right shift, so that the
   * truncating division by n keeps as many bits as possible. */
  int s = 0;
  while (s < 62 && ((int64_t)1 << (s + 1)) <= n) s++;
  if (s > 32) s = 32;
  if (s > 31 + shift) s = 31 + shift;
  *mean_multiplier = (int32_t)(((int64_t)multiplier << s) / n);
  *mean_shift = shift - s;
}

/* x rounded to float when the table is built in single precision. */
static double lut_fp(int single, double x) { return single ? (double)(float)x : x; }

/* round(x * inv) as the table's precision computes it. */
static double lut_scaled(int single, double x, double inv) {
  return round(lut_fp(single, x * inv));
}

static int16_t lut_clamp16(double v) {
  if (v < -32768.0) v = -32768.0;
  if (v > 32767.0) v = 32767.0;
  return (int16_t)(uint16_t)(uint32_t)tfl_trunc_i32(v); /* NaN: low bits of INT32_MIN */
}

void tfl_build_lut16(int single, double in_scale, int32_t in_zp, double out_scale, int32_t out_zp,
                     tfl_lut_fn f, const void *arg, int16_t lut[513]) {
  const double in_min = lut_fp(single, in_scale * (double)(-32768 - in_zp));
  const double in_max = lut_fp(single, in_scale * (double)(32767 - in_zp));
  const double out_min = lut_fp(single, out_scale * (double)(-32768 - out_zp));
  const double out_max = lut_fp(single, out_scale * (double)(32767 - out_zp));
  const double step = lut_fp(single, in_max - in_min) / 512.0;
  const double half_step = step / 2.0;
  const double inv = lut_fp(single, 65536.0 / lut_fp(single, out_max - out_min));
  for (int i = 0; i < 512; i++) {
    const double x = lut_fp(single, in_min + lut_fp(single, (double)i * step));
    const double x_mid = lut_fp(single, x + half_step);
    const double x_next = lut_fp(single, in_min + lut_fp(single, (double)(i + 1) * step));
    const double val = f(x, arg), val_mid = f(x_mid, arg), val_next = f(x_next, arg);
    const double sample = lut_scaled(single, val, inv);
    /* The error of interpolating between this sample and the next at the midpoint, halved
     * into a bias that centres the interpolation error. */
    const double interp =
        round(lut_fp(single, lut_fp(single, val_next * inv) + sample) / 2.0);
    const double err = lut_fp(single, interp - lut_scaled(single, val_mid, inv));
    lut[i] = lut_clamp16(sample - round(err / 2.0));
  }
  lut[512] = lut_clamp16(lut_scaled(single, f(in_max, arg), inv));
}
