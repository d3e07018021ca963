/* Fixed-point arithmetic for quantized kernels. Every quantized kernel goes through these, so
 * bit-exactness with TensorFlow Lite's integer kernels is decided here and nowhere else.
 *
 * Real multipliers are represented as (multiplier, shift): real ~= multiplier * 2^(shift - 31)
 * with multiplier in [2^30, 2^31) (or 0). TFLite's default ("double rounding") applies one
 * rounding in the doubling high multiply and another in the power-of-two division. */
#ifndef TFL_KERNELS_QUANT_H
#define TFL_KERNELS_QUANT_H

#include <math.h>
#include <stdint.h>

#include "runtime/kernel.h"

/* Splits a non-negative real multiplier into (multiplier, shift) as TFLite's
 * QuantizeMultiplier does: frexp, round half away from zero to 31 bits, renormalize 2^31, and
 * flush shifts below -31 to zero. */
void tfl_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* a * b / 2^31 rounded to nearest with ties toward +infinity (gemmlowp's nudge-then-truncate),
 * saturating the single overflow case a == b == INT32_MIN. */
static inline int32_t tfl_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
static inline int32_t tfl_rdbpot(int32_t x, int exponent) {
  int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * real, for (multiplier, shift) from tfl_quantize_multiplier; TFLite's default rounding. */
static inline int32_t tfl_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  /* Valid models keep shift in [-31, 30]; clamping keeps hostile scale ratios defined. */
  int left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
  int right = shift > 0 ? 0 : (-shift > 31 ? 31 : -shift);
  return tfl_rdbpot(tfl_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* The 64-bit-accumulator variant TFLite uses for 16x8 kernels: the multiplier is reduced to
 * 16 bits and one rounding shift is applied. Requires |x| < 2^47 and shift in [-31, 7]. */
static inline int32_t tfl_mul_by_quantized_multiplier64(int64_t x, int32_t multiplier, int shift) {
  int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  int total_shift = 15 - shift;
  int64_t r = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
  return (int32_t)(r >> total_shift);
}

/* x / 2^exponent rounded to nearest with ties toward +infinity (add half, shift
 * arithmetically), as a NEON rounding shift does; where adding half would overflow, the
 * result is the one for 2^31. exponent in [0, 31]. */
static inline int32_t tfl_rounding_right_shift(int32_t x, int exponent) {
  const int32_t half = exponent > 0 ? (int32_t)(1u << (exponent - 1)) : 0;
  if (x > INT32_MAX - half) return (int32_t)(1u << (31 - exponent));
  return (x + half) >> exponent;
}

/* x * real for (multiplier, shift) the way the ruy GEMM library in TFLite's x86 build computes
 * it for int8/int16 CONV_2D and FULLY_CONNECTED: the rounding doubling high multiply, then
 * tfl_rounding_right_shift. It differs from tfl_mul_by_quantized_multiplier only on negative
 * ties of the final shift (-2.5 gives -2 here, -3 there). */
static inline int32_t tfl_mul_by_quantized_multiplier_ruy(int32_t x, int32_t multiplier,
                                                          int shift) {
  int left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
  int right = shift > 0 ? 0 : (-shift > 31 ? 31 : -shift);
  return tfl_rounding_right_shift(tfl_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* The [min, max] clamp a fused activation imposes on a quantized output (TFLite's
 * CalculateActivationRangeQuantized): bounds quantized with the output's scale and zero point,
 * intersected with the type's range. TANH/SIGN_BIT are not valid fused activations here. */
tfl_status tfl_quantized_activation_range(int act, tfl_type type, float scale,
                                          int32_t zero_point, int32_t *act_min,
                                          int32_t *act_max);

/* The representable range of a quantized integer type. */
void tfl_quantized_type_range(tfl_type type, int32_t *min, int32_t *max);

/* Per-tensor scale and zero point of a tensor (the first entry for per-channel tensors). */
static inline float tfl_q_scale(const tfl_tensor *t) { return t->quant.count ? t->quant.scale[0] : 0.0f; }
static inline int32_t tfl_q_zero_point(const tfl_tensor *t) {
  return t->quant.count ? t->quant.zero_point[0] : 0;
}

/* A 256-entry table mapping every int8/uint8 input code to the output code of a float
 * function, the way TFLite's optimized kernels build LOGISTIC/TANH/... tables:
 * dequantize, apply f in float, quantize with round-half-away and clamp. `in_type` and
 * `out_type` are TFL_INT8 or TFL_UINT8; the table is indexed by the raw input byte. */
void tfl_build_lut8(tfl_type in_type, float in_scale, int32_t in_zp, tfl_type out_type,
                    float out_scale, int32_t out_zp, float (*f)(float, const void *),
                    const void *arg, uint8_t table[256]);

/* ---- 16-bit fixed-point math of the integer recurrent kernels (LSTM) --------------------
 * gemmlowp's FixedPoint<int16_t, N> functions as TFLite's integer LSTM applies them: x is the
 * raw value of a Q(int_bits).(15 - int_bits) number, the result the raw Q0.15 value. The
 * intermediate arithmetic (wrapping adds, 16-bit doubling high multiplies, saturating
 * rescales, Newton-Raphson reciprocal) is reproduced step by step, so results are bit-exact,
 * not merely close. int_bits must be in [0, 6]. */
int16_t tfl_fx16_logistic(int16_t x, int int_bits);
int16_t tfl_fx16_tanh(int16_t x, int int_bits);

/* 1 / sqrt(x) as a multiplier and shift, computed in fixed point exactly as TFLite's
 * GetInvSqrtQuantizedMultiplierExp does. The shift comes out as a right shift times
 * reverse_shift: with reverse_shift -1, tfl_mul_by_quantized_multiplier(y, *multiplier, *shift)
 * ~= y / sqrt(x). x <= 1 gives (INT32_MAX, 0). */
void tfl_inv_sqrt_multiplier(int32_t x, int reverse_shift, int32_t *multiplier, int *shift);

/* ---- dynamic-range ("hybrid") kernels (rows quantized by kernels/hybrid.h) ------------ */
/* acc[r] += (float)(sum_c w[r][c] * (x[c] - x_zero_point)) * scale for an int8 [rows, cols]
 * matrix: the int32 dot product converted once, as TFLite's hybrid matrix-vector product. */
void tfl_hybrid_matvec_acc(const int8_t *w, int32_t rows, int32_t cols, const int8_t *x,
                           int32_t x_zero_point, float scale, float *acc);

/* ---- elementwise, activation, softmax, reduction and quantization kernels -------------
 * TFLite computes parts of these in float, then converts with static_cast. x86-64 converts
 * with cvttss2si/cvttsd2si, which give INT32_MIN for NaN and out-of-range values; kernels
 * that can meet such values go through tfl_trunc_i32 to reproduce that. */

/* (int32_t)v as x86-64 converts it: toward zero, INT32_MIN for NaN and |v| out of range. */
static inline int32_t tfl_trunc_i32(double v) {
  if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
  return (int32_t)v;
}

/* a + b with int32 wrap-around (TFLite's unchecked int arithmetic as compiled). */
static inline int32_t tfl_wrap_add32(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* QUANTIZE of one float, as TFLite's optimized AffineQuantize: v / scale in double, rounded
 * half away from zero, plus the zero point (wrapping); the caller clamps to its type. */
static inline int32_t tfl_affine_quantize(float v, float scale, int32_t zero_point) {
  return tfl_wrap_add32(tfl_trunc_i32(round((double)v / (double)scale)), zero_point);
}

/* The same in single precision, as TFLite's reference (per-channel) quantization. */
static inline int32_t tfl_affine_quantize_f32(float v, float scale, int32_t zero_point) {
  return tfl_wrap_add32(tfl_trunc_i32(roundf(v / scale)), zero_point);
}

/* q * scale + bias rounded half away from zero in float, plus the zero point: TFLite's float
 * requantization of uint8 CONCATENATION (scale = in_scale * (1 / out_scale),
 * bias = -in_zero_point * scale). The caller clamps. */
static inline int32_t tfl_requantize_f32(int32_t q, float scale, float bias, int32_t zero_point) {
  return tfl_wrap_add32(tfl_trunc_i32(roundf((float)q * scale + bias)), zero_point);
}

/* TFLite's CheckedLog2: whether x is within 1e-3 (in log2 units, computed in float) of a
 * power of two, and that power's exponent. */
int tfl_checked_log2(float x, int *log2_result);

/* A (multiplier, shift) multiplier rounded to 16 bits (TFLite's
 * DownScaleInt32ToInt16Multiplier): real ~= result * 2^(shift - 15). */
static inline int16_t tfl_multiplier_to_int16(int32_t multiplier) {
  if (multiplier >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (int16_t)((multiplier + (1 << 15)) >> 16);
}

/* gemmlowp's 16-bit saturating rounding doubling high multiply: a * b / 2^15, ties toward
 * +infinity; INT16_MIN * INT16_MIN saturates. */
static inline int16_t tfl_srdhm16(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* gemmlowp's RoundingDivideByPOT on an int16 value: the mask is formed in 16 bits, so an
 * exponent of 16 or more behaves as gemmlowp's int16 instantiation does. */
static inline int16_t tfl_rdbpot16(int16_t x, int exponent) {
  const int16_t mask = (int16_t)(uint16_t)(((uint64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* x * 2^amount saturated to int16. */
static inline int16_t tfl_sat_shift_left16(int16_t x, int amount) {
  if (amount > 31) return x > 0 ? INT16_MAX : (x < 0 ? INT16_MIN : 0);
  const int64_t r = (int64_t)x * ((int64_t)1 << amount);
  return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

/* a * b / 2^15 truncated toward zero, INT16_MIN * INT16_MIN saturating: the unrounded
 * doubling high multiply of TFLite's quantized HARD_SWISH. */
static inline int16_t tfl_sdhm16_trunc(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* The multiplier of TFLite's reference quantized MEAN: (multiplier, shift) for
 * in_scale / out_scale with the division by the n reduced elements folded in. n > 0. */
void tfl_mean_multiplier(int32_t multiplier, int shift, int64_t n, int32_t *mean_multiplier,
                         int *mean_shift);

/* A 513-entry table of an int16 -> int16 function, as TFLite's LUTPopulate<int16_t>: 512
 * samples over the input range with a midpoint correction, interpolated by
 * tfl_lut16_lookup. TFLite builds some tables in float and some in double: `single` selects
 * float, which rounds every intermediate to float (f must then compute in float too). */
typedef double (*tfl_lut_fn)(double x, const void *arg);
void tfl_build_lut16(int single, double in_scale, int32_t in_zp, double out_scale, int32_t out_zp,
                     tfl_lut_fn f, const void *arg, int16_t lut[513]);

/* TFLite's LUTLookup: the top 9 bits of value pick an entry, the low 7 interpolate. */
static inline int16_t tfl_lut16_lookup(int16_t value, const int16_t lut[513]) {
  const int index = 256 + (value >> 7);
  const int32_t offset = value & 0x7f;
  const int16_t slope = (int16_t)(uint16_t)(uint32_t)(lut[index + 1] - lut[index]);
  const int32_t delta = (slope * offset + 64) >> 7;
  return (int16_t)(uint16_t)(uint32_t)(lut[index] + delta);
}

#endif
