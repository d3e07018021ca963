/* Public tensor accessors (include/tfl/tensor.h). */
#include <string.h>

#include "runtime/tensor.h"

tfl_type tfl_tensor_type(const tfl_tensor *t) { return t ? t->type : TFL_FLOAT32; }

const char *tfl_tensor_name(const tfl_tensor *t) { return t && t->name ? t->name : ""; }

int tfl_tensor_ndim(const tfl_tensor *t) { return t ? t->ndim : 0; }

int32_t tfl_tensor_dim(const tfl_tensor *t, int i) {
  if (!t || i < 0 || i >= t->ndim) return -1;
  return t->dims[i];
}

const int32_t *tfl_tensor_dims(const tfl_tensor *t) { return t ? t->dims : NULL; }

size_t tfl_tensor_element_count(const tfl_tensor *t) {
  return t ? tfl_shape_count(t->ndim, t->dims) : 0;
}

size_t tfl_tensor_byte_size(const tfl_tensor *t) { return t ? t->bytes : 0; }

tfl_quantization tfl_tensor_quantization(const tfl_tensor *t) {
  const tfl_quantization none = {.kind = TFL_QUANT_NONE, .scales_tensor = -1,
                                 .zero_points_tensor = -1};
  return t ? t->quant : none;
}

void *tfl_tensor_data(tfl_tensor *t) {
  if (!t || t->alloc == TFL_ALLOC_CONST) return NULL;
  return t->data;
}

const void *tfl_tensor_data_const(const tfl_tensor *t) { return t ? t->data : NULL; }

tfl_status tfl_tensor_copy_from(tfl_tensor *t, const void *src, size_t size) {
  if (!t || (!src && size)) return TFL_INVALID_ARGUMENT;
  if (size != t->bytes) return TFL_INVALID_ARGUMENT;
  if (t->alloc == TFL_ALLOC_CONST || t->alloc == TFL_ALLOC_PERSISTENT) return TFL_INVALID_ARGUMENT;
  if (!size) return TFL_OK;
  if (!t->data) return TFL_NOT_READY;
  memcpy(t->data, src, size);
  return TFL_OK;
}

tfl_status tfl_tensor_copy_to(const tfl_tensor *t, void *dst, size_t size) {
  if (!t || (!dst && size)) return TFL_INVALID_ARGUMENT;
  if (size != t->bytes) return TFL_INVALID_ARGUMENT;
  if (!size) return TFL_OK;
  if (!t->data) return TFL_NOT_READY;
  memcpy(dst, t->data, size);
  return TFL_OK;
}
