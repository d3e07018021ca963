/* Helpers for kernels that read axes, shapes and indices from tensors or options, or that
 * move bytes without looking at them: axis normalisation, int32/int64 index tensors,
 * overflow-checked element counts and TFLite's per-tensor quantization comparison. */
#ifndef TFL_KERNELS_SHAPE_UTIL_H
#define TFL_KERNELS_SHAPE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/kernel.h"

/* Maps an axis in [-rank, rank) to [0, rank). Returns 0 when it is out of range. */
int tfl_axis_normalize(int64_t axis, int rank, int *out);

/* int32 or int64: the types TFLite accepts for shapes, axes, paddings and slice bounds. */
int tfl_is_index_type(tfl_type type);
/* Reports an error naming `what` unless t is int32 or int64. */
tfl_status tfl_check_index_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                const char *what);
/* Element i of an int32 or int64 tensor (type already checked). */
int64_t tfl_index_at(const tfl_tensor *t, size_t i);
/* Copies all elements of an int32/int64 tensor into out (at most max of them); *n gets the
 * count. Errors name `what`. */
tfl_status tfl_read_index_tensor(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                 const char *what, int64_t *out, int max, int *n);

/* Product of dims[from..to) (1 for an empty range). Dimensions are assumed valid. */
size_t tfl_dims_product(const int32_t *dims, int from, int to);
/* Element count of a shape; returns 0 if a dimension is negative or the product overflows
 * int64. */
int tfl_shape_count_checked(int ndim, const int32_t *dims, int64_t *count);

/* Reports an error naming `what` unless t's type has a fixed element size, i.e. kernels
 * that only move bytes can handle it (everything but string, int4 and the like). */
tfl_status tfl_check_fixed_size(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                const char *what);

/* TFLite's "legacy" per-tensor parameters: the scale and zero point when the tensor has
 * exactly one of each, 0 and 0 otherwise. TFLite compares these when it requires an op's
 * input and output quantization to match. */
void tfl_quant_params(const tfl_tensor *t, float *scale, int32_t *zero_point);
int tfl_same_quant_params(const tfl_tensor *a, const tfl_tensor *b);
/* Reports an error naming `what` unless a and b have the same per-tensor parameters. */
tfl_status tfl_check_same_quant(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                                const tfl_tensor *b, const char *what);

/* Copies input 0's bytes into output 0 (for ops that only change the shape). */
tfl_status tfl_copy_input_to_output(tfl_context *ctx, const tfl_node *node);

#endif
