/* Named sets of element types, for tfl_op_registration.types (which only documents what
 * prepare checks) and for prepare checks that test membership in the same set. */
#ifndef TFL_KERNELS_TYPE_SETS_H
#define TFL_KERNELS_TYPE_SETS_H

#include <stdint.h>

#include "tfl/op.h"
#include "tfl/tensor.h"

#define TFL_TYPES_F32 TFL_TYPE_BIT(TFL_FLOAT32)
#define TFL_TYPES_F32_I32_I64 (TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT32) | TFL_TYPE_BIT(TFL_INT64))

/* The 8-bit quantized types, and with int16 (TFLite's 16x8 schemes) all quantized ones. */
#define TFL_TYPES_QUANT8 (TFL_TYPE_BIT(TFL_UINT8) | TFL_TYPE_BIT(TFL_INT8))
#define TFL_TYPES_QUANT (TFL_TYPES_QUANT8 | TFL_TYPE_BIT(TFL_INT16))

/* The types of index and shape tensors (tfl_check_index_type). */
#define TFL_TYPES_INDEX (TFL_TYPE_BIT(TFL_INT32) | TFL_TYPE_BIT(TFL_INT64))

/* What tfl_check_fixed_size accepts, i.e. what kernels that only move bytes handle: every type
 * with a tfl_type_size, so all but string, variant and the sub-byte int2, int4 and uint4
 * (resource counts: it holds an int32 id). */
#define TFL_TYPES_ALL ((1u << TFL_TYPE_COUNT) - 1u)
#define TFL_TYPES_FIXED_SIZE                                                                \
  (TFL_TYPES_ALL & ~(TFL_TYPE_BIT(TFL_STRING) | TFL_TYPE_BIT(TFL_VARIANT) |                 \
                     TFL_TYPE_BIT(TFL_INT2) | TFL_TYPE_BIT(TFL_INT4) | TFL_TYPE_BIT(TFL_UINT4)))
/* Kernels that move whole elements and also move strings (runtime/string_tensor.h). */
#define TFL_TYPES_FIXED_SIZE_OR_STRING (TFL_TYPES_FIXED_SIZE | TFL_TYPE_BIT(TFL_STRING))

/* True when `type` is one of `set` (a prepare check against the documented set). */
static inline int tfl_type_in(tfl_type type, uint32_t set) {
  return (unsigned)type < TFL_TYPE_COUNT && (set & TFL_TYPE_BIT(type)) != 0;
}

#endif
