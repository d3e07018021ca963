/* tfl — string tensors: reading their strings and setting string inputs.
 *
 * A tensor of type TFL_STRING holds one byte string per element (any bytes, NUL included;
 * TensorFlow uses UTF-8 text by convention). Its data is TFLite's encoding, so
 * tfl_tensor_byte_size() and tfl_tensor_data_const() give the raw encoding: an int32 count N,
 * N + 1 int32 offsets from the start of the data (string i is the bytes from offset i up to
 * offset i + 1), then the bytes themselves. Use the calls below rather than that layout.
 *
 * String tensors computed at run time live outside the arena and are sized by what is written
 * into them: tfl_interpreter_allocate_tensors() gives every string input N empty strings, and
 * each invoke resizes the string outputs. tfl_tensor_copy_from() cannot set a string tensor
 * (its byte size changes with its contents): use tfl_tensor_set_strings(). */
#ifndef TFL_STRING_H
#define TFL_STRING_H

#include <stddef.h>

#include "tfl/status.h"
#include "tfl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A byte string that is not NUL-terminated: `size` bytes at `data`. */
typedef struct tfl_string {
  const char *data;
  size_t size;
} tfl_string;

/* The number of strings in a string tensor (its element count). TFL_INVALID_ARGUMENT when t
 * is not a string tensor, TFL_NOT_READY before allocation, TFL_ERROR when its data is not a
 * valid encoding (e.g. overwritten through tfl_tensor_data()). */
tfl_status tfl_tensor_string_count(const tfl_tensor *t, size_t *count);

/* String i of a string tensor. out->data points into the tensor: valid until the tensor is
 * written again (invoke, allocation, resize or tfl_tensor_set_strings). Errors as above, and
 * TFL_INVALID_ARGUMENT when i is out of range. */
tfl_status tfl_tensor_string(const tfl_tensor *t, size_t i, tfl_string *out);

/* Sets every string of a string input, copying them: `count` must be the tensor's element
 * count (resize the input and allocate first to change it). Call it after
 * tfl_interpreter_allocate_tensors(), like tfl_tensor_copy_from(). TFL_INVALID_ARGUMENT for a
 * tensor that is not a string tensor, is constant or has another count; TFL_NOT_READY before
 * allocation; TFL_LIMIT_EXCEEDED when the encoding would exceed 2 GiB (its offsets are int32);
 * TFL_OUT_OF_MEMORY. On failure the tensor keeps its previous strings. */
tfl_status tfl_tensor_set_strings(tfl_tensor *t, const tfl_string *strings, size_t count);

#ifdef __cplusplus
}
#endif
#endif
