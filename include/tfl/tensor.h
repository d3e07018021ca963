/* tfl — tensors: element types, shapes, quantization and data access. */
#ifndef TFL_TENSOR_H
#define TFL_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values are the TFLite schema's TensorType numbers, so they can be compared with files. */
typedef enum tfl_type {
  TFL_FLOAT32 = 0,
  TFL_FLOAT16 = 1,
  TFL_INT32 = 2,
  TFL_UINT8 = 3,
  TFL_INT64 = 4,
  TFL_STRING = 5,
  TFL_BOOL = 6,
  TFL_INT16 = 7,
  TFL_COMPLEX64 = 8,
  TFL_INT8 = 9,
  TFL_FLOAT64 = 10,
  TFL_COMPLEX128 = 11,
  TFL_UINT64 = 12,
  TFL_RESOURCE = 13,
  TFL_VARIANT = 14,
  TFL_UINT32 = 15,
  TFL_UINT16 = 16,
  TFL_INT4 = 17,
  TFL_BFLOAT16 = 18,
  TFL_INT2 = 19,
  TFL_UINT4 = 20,
  TFL_FLOAT8_E4M3FN = 21,
  TFL_FLOAT8_E5M2 = 22,
  TFL_TYPE_COUNT
} tfl_type;

/* Most dimensions a tensor may have; models that need more are rejected. */
#define TFL_MAX_DIMS 8

typedef struct tfl_tensor tfl_tensor;

/* Which quantization a tensor has: the kind of the schema's QuantizationDetails union when
 * the model sets one (TFLite then ignores the scale and zero_point arrays), else affine
 * when there are scales. */
typedef enum tfl_quant_kind {
  TFL_QUANT_NONE = 0,       /* not quantized */
  TFL_QUANT_AFFINE = 1,     /* the scale and zero_point arrays: per-tensor or per-channel */
  TFL_QUANT_BLOCKWISE = 2,  /* BlockwiseQuantization: scales in another tensor, see below */
  TFL_QUANT_MULTI_AXIS = 3, /* MultiAxisQuantization (its quantized dimensions are not shown) */
  TFL_QUANT_CUSTOM = 4      /* CustomQuantization: opaque parameters tfl does not interpret */
} tfl_quant_kind;

/* Affine quantization: real = scale[c] * (q - zero_point[c]).
 * count is 0 for an unquantized tensor, 1 for per-tensor, and the size of dimension
 * `axis` for per-channel quantization. The arrays belong to the model.
 *
 * The fields from `kind` on came later; code that reads only the first four keeps working.
 * `kind` says which quantization applies. count, scale, zero_point and axis always hold the
 * model's scale and zero_point arrays, which TFLite ignores unless kind is TFL_QUANT_AFFINE
 * (blockwise tensors usually have none: count 0).
 * TFL_QUANT_BLOCKWISE: runs of block_size consecutive values share a scale. In the
 * FULLY_CONNECTED weights tfl runs (int4 [units, inputs]) the blocks run along the inputs:
 * the scales are float16 [units, inputs / block_size] and
 *   real[u][i] = scales[u][i / block_size] * (q[u][i] - zero_points[u][i / block_size]).
 * scales_tensor and zero_points_tensor are tensor indices in the tensor's own subgraph, as
 * the model gives them (checked to be in range at load): read those tensors with
 * tfl_interpreter_tensor() or tfl_model_tensor_info(). zero_points_tensor is -1 when the
 * zero points are all 0. For TFL_QUANT_BLOCKWISE and TFL_QUANT_MULTI_AXIS, block_size is 0
 * and both indices -1 when the model names the kind but gives no parameters (tfl cannot run
 * such a tensor); multi-axis per-channel quantization has block_size 0 too. For the other
 * kinds block_size is 0 and both indices are -1. */
typedef struct tfl_quantization {
  int count;
  const float *scale;
  const int32_t *zero_point;
  int axis;
  tfl_quant_kind kind;
  int32_t block_size;
  int32_t scales_tensor;
  int32_t zero_points_tensor;
} tfl_quantization;

/* The name of a type, e.g. "float32", "int8". Never NULL. */
const char *tfl_type_name(tfl_type type);
/* Bytes per element, or 0 for types without a fixed element size (string, int4, ...). */
size_t tfl_type_size(tfl_type type);

tfl_type tfl_tensor_type(const tfl_tensor *t);
const char *tfl_tensor_name(const tfl_tensor *t); /* "" when the model has no name */
int tfl_tensor_ndim(const tfl_tensor *t);
/* Size of dimension i, or -1 when i is out of range. */
int32_t tfl_tensor_dim(const tfl_tensor *t, int i);
const int32_t *tfl_tensor_dims(const tfl_tensor *t);
size_t tfl_tensor_element_count(const tfl_tensor *t);
size_t tfl_tensor_byte_size(const tfl_tensor *t);
tfl_quantization tfl_tensor_quantization(const tfl_tensor *t);
/* The tensor's memory: valid after tfl_interpreter_allocate_tensors() and until the next
 * allocation or resize. NULL before allocation. tfl_tensor_data() is NULL for constants
 * from the model (use tfl_tensor_data_const() to read them). */
void *tfl_tensor_data(tfl_tensor *t);
const void *tfl_tensor_data_const(const tfl_tensor *t);
/* Copies exactly tfl_tensor_byte_size(t) bytes; any other size is TFL_INVALID_ARGUMENT. */
tfl_status tfl_tensor_copy_from(tfl_tensor *t, const void *src, size_t size);
tfl_status tfl_tensor_copy_to(const tfl_tensor *t, void *dst, size_t size);

#ifdef __cplusplus
}
#endif
#endif
