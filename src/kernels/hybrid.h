/* Dynamic-range ("hybrid") evaluation: float activations quantized to int8 on the fly, one
 * row (a batch image, or a matrix row) at a time, exactly as TFLite's tensor_utils does, so
 * that the integer dot products with int8 weights and the float rescaling after them match
 * TFLite's hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED. */
#ifndef TFL_KERNELS_HYBRID_H
#define TFL_KERNELS_HYBRID_H

#include <stddef.h>
#include <stdint.h>

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

/* Scratch for the quantized copy of `elements` input values and the parameters of `rows`
 * rows, requested in prepare; fetch it in eval with tfl_context_scratch(). */
typedef struct tfl_hybrid_scratch {
  int values; /* int8_t[elements] */
  int rows;   /* tfl_hybrid_row[rows] */
} tfl_hybrid_scratch;

tfl_status tfl_hybrid_request_scratch(tfl_context *ctx, tfl_node *node, size_t elements,
                                      size_t rows, tfl_hybrid_scratch *s);

#endif
