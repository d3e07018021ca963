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

/* Affine quantization: real = scale[c] * (q - zero_point[c]).
 * count is 0 for an unquantized tensor, 1 for per-tensor, and the size of dimension
 * `axis` for per-channel quantization. The arrays belong to the model. */
typedef struct tfl_quantization {
  int count;
  const float *scale;
  const int32_t *zero_point;
  int axis;
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
