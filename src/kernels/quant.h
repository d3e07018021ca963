/* Fixed-point arithmetic for quantized kernels. Every quantized kernel goes through these, so
 * bit-exactness with TensorFlow Lite's integer kernels is decided here and nowhere else.
 *
 * Real multipliers are represented as (multiplier, shift): real ~= multiplier * 2^(shift - 31)
 * with multiplier in [2^30, 2^31) (or 0). TFLite's default ("double rounding") applies one
 * rounding in the doubling high multiply and another in the power-of-two division. */
#ifndef TFL_KERNELS_QUANT_H
#define TFL_KERNELS_QUANT_H

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
  int left = shift > 0 ? shift : 0;
  int right = shift > 0 ? 0 : -shift;
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

#endif
