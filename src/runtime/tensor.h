/* The tensor as the runtime and the builtin kernels see it. Users see only tfl/tensor.h. */
#ifndef TFL_RUNTIME_TENSOR_H
#define TFL_RUNTIME_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/tensor.h"

typedef enum tfl_alloc {
  TFL_ALLOC_NONE = 0,   /* not yet placed */
  TFL_ALLOC_CONST,      /* points into the model (or into a prepare-time decoded copy) */
  TFL_ALLOC_ARENA,      /* planned into the activation arena */
  TFL_ALLOC_PERSISTENT, /* heap, computed ahead of invoke (constant-folded); read-only */
  TFL_ALLOC_DYNAMIC,    /* heap, resized during eval */
  TFL_ALLOC_VARIABLE    /* heap, keeps its value across invokes */
} tfl_alloc;

struct tfl_tensor {
  tfl_type type;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  void *data;
  size_t bytes;
  const char *name;
  tfl_quantization quant;
  tfl_alloc alloc;
  int index;             /* index in its subgraph */
  size_t heap_capacity;  /* bytes owned at data for PERSISTENT/DYNAMIC/VARIABLE tensors */
};

/* Elements in a shape; returns 0 for any zero dimension. Dimensions are assumed checked
 * (non-negative and with a product that fits in size_t) by the caller. */
size_t tfl_shape_count(int ndim, const int32_t *dims);

#endif
