/* Independent reference pieces for the quantized kernel tests (conv, depthwise, fully
 * connected, pool): random codes, typed buffers, TFLite's activation clamps and
 * requantization forms written out, and TFLite's on-the-fly input quantization of hybrid ops.
 * The requantization uses quant.h's fixed-point helpers, which test_quant checks against exact
 * arithmetic; everything else is plain arithmetic here. */
#ifndef TFL_TESTS_QUANT_REF_H
#define TFL_TESTS_QUANT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/tensor.h"

/* n deterministic integers in [lo, hi]; the first is lo and the last hi when n >= 2. */
int64_t *qr_random_ints(size_t n, unsigned seed, int64_t lo, int64_t hi);
/* Deterministic floats in [-scale, scale]. */
float *qr_random_floats(size_t n, unsigned seed, float scale);

/* A malloc'd buffer holding the values as type t (uint8, int8, int16, int32 or int64). */
void *qr_pack(tfl_type t, const int64_t *v, size_t n);
/* Element i of a uint8/int8/int16 buffer. */
int64_t qr_code_at(tfl_type t, const void *p, size_t i);
void qr_type_range(tfl_type t, int64_t *lo, int64_t *hi);

/* TFLite's CalculateActivationRangeQuantized: the type's range narrowed by RELU, RELU6 or
 * RELU_N1_TO_1 bounds quantized with round-half-away. Other activations clamp nothing. */
void qr_act_range(int act, tfl_type t, float scale, int32_t zp, int64_t *lo, int64_t *hi);

typedef enum qr_requant {
  QR_DOUBLE, /* MultiplyByQuantizedMultiplier (two roundings) */
  QR_RUY,    /* the high multiply, then a shift rounding ties upward */
  QR_WIDE,   /* the 64-bit-accumulator form */
  QR_REAL    /* round(acc * real) in double, half away from zero */
} qr_requant;

/* clamp(requantize(acc, real) + zp, lo, hi); `real` is turned into (multiplier, shift) by
 * tfl_quantize_multiplier for the fixed-point forms. */
int64_t qr_requantize(qr_requant form, int64_t acc, double real, int32_t zp, int64_t lo,
                      int64_t hi);

/* TFLite's hybrid input quantization of one row: symmetric (scale = max|x| / 127) or
 * asymmetric (range [min(x,0), max(x,0)] onto [-128, 127] with a nudged zero point). */
void qr_quantize_row(const float *x, size_t n, int asymmetric, int8_t *q, float *scale,
                     int32_t *zero_point);

#endif
