/* Dynamic-range ("hybrid") evaluation: float activations quantized to int8 on the fly, one
 * row (a batch image, or a matrix row) at a time, exactly as TFLite's tensor_utils does, so
 * that the integer dot products with int8 weights and the float rescaling after them match
 * TFLite's hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED. */
#ifndef TFL_KERNELS_HYBRID_H
#define TFL_KERNELS_HYBRID_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/quant.h"
#include "kernels/simd.h"
#include "runtime/kernel.h"

/* How one row was quantized: real = scale * (q - zero_point). */
typedef struct tfl_hybrid_row {
  float scale;
  int32_t zero_point; /* 0 for symmetric quantization */
} tfl_hybrid_row;

/* TFLite's SymmetricQuantizeFloats: range = max|x|, scale = range / 127 and
 * q = round(x * (127 / range)) clamped to [-127, 127], all in float (round half away from
 * zero); a row of zeros (or an empty one) gets scale 1. */
void tfl_hybrid_quantize_symmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row);

/* TFLite's AsymmetricQuantizeFloats: [min(x, 0), max(x, 0)] onto [-128, 127], the scale and
 * the zero point (taken from the end with the smaller error, nudged into range) computed in
 * double; then q = round(zero_point + x * (1 / scale)) in float, clamped. A row without a
 * nonzero value gets scale 1 and zero point 0. */
void tfl_hybrid_quantize_asymmetric(const float *x, size_t n, int8_t *q, tfl_hybrid_row *row);

/* Quantizes `rows` consecutive rows of `row_size` values, one parameter pair each. */
void tfl_hybrid_quantize_rows(const float *x, size_t rows, size_t row_size, int asymmetric,
                              int8_t *q, tfl_hybrid_row *params);

/* The same with the vector kernels `level` runs (AVX2, NEON), giving the same bits: the
 * functions above are this at the scalar level. */
void tfl_hybrid_quantize_rows_cpu(tfl_cpu_level level, const float *x, size_t rows,
                                  size_t row_size, int asymmetric, int8_t *q,
                                  tfl_hybrid_row *params);

/* Scratch for the quantized copy of `elements` input values and the parameters of `rows`
 * rows, requested in prepare; fetch it in eval with tfl_context_scratch(). */
typedef struct tfl_hybrid_scratch {
  int values; /* int8_t[elements] */
  int rows;   /* tfl_hybrid_row[rows] */
} tfl_hybrid_scratch;

tfl_status tfl_hybrid_request_scratch(tfl_context *ctx, tfl_node *node, size_t elements,
                                      size_t rows, tfl_hybrid_scratch *s);

/* ---- the element kernels (the vector variants reproduce these two exactly) ---------------- */

/* The running range update of x[i], i >= 1, after lo = hi = x[0]: a NaN x[0] stays (no
 * comparison with it holds), later NaNs are skipped; -0 and +0 compare equal, so which zero
 * is kept may differ by order, which no caller can see (both quantizers take |lo| and
 * |hi|, or compare them with 0). */
static inline void tfl_hybrid_range_update(float v, float *lo, float *hi) {
  if (v < *lo) *lo = v;
  if (v > *hi) *hi = v;
}

/* One code: round(offset + v * inv) in float, half away from zero, as x86-64 converts it to
 * int32 (INT32_MIN for NaN and beyond the range), clamped to [lo, 127]. Symmetric
 * quantization passes offset 0, which changes no code (0 + p differs from p only in the
 * sign of a zero). The two float operations round separately (C11 builds contract none). */
static inline int8_t tfl_hybrid_code(float v, float inv, float offset, int32_t lo) {
  const int32_t c = tfl_trunc_i32(roundf(offset + v * inv));
  return (int8_t)(c < lo ? lo : c > 127 ? 127 : c);
}

/* Range of x[0, n), n >= 1: lo = hi = x[0], then tfl_hybrid_range_update of x[1], x[2]...
 * (the vector kernels start every lane at x[0] and give the same values, up to the sign of
 * a zero). */
typedef void (*tfl_hybrid_range_fn)(const float *x, size_t n, float *lo, float *hi);
/* q[i] = tfl_hybrid_code(x[i], inv, offset, lo) for i < n. */
typedef void (*tfl_hybrid_codes_fn)(const float *x, size_t n, float inv, float offset,
                                    int32_t lo, int8_t *q);

#if TFL_HAVE_X86_KERNELS
void tfl_hybrid_range_avx2(const float *x, size_t n, float *lo, float *hi);
void tfl_hybrid_codes_avx2(const float *x, size_t n, float inv, float offset, int32_t lo,
                           int8_t *q);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_hybrid_range_neon(const float *x, size_t n, float *lo, float *hi);
void tfl_hybrid_codes_neon(const float *x, size_t n, float inv, float offset, int32_t lo,
                           int8_t *q);
#endif

#endif
