/* String tensors at run time, for the runtime and for kernels.
 *
 * Every string tensor that is not a constant from the model is a dynamic tensor
 * (TFL_ALLOC_DYNAMIC): it lives on the heap, outside the arena, and its writer sizes it. It
 * always holds a valid encoding (model/string_data.h): allocation and every shape change give
 * it as many empty strings as it has elements, and kernels replace them in eval. Nodes that
 * read a string tensor are therefore prepared again at every invoke (like any node with a
 * dynamic input), which is when their output strings are known.
 *
 * A kernel that reads strings calls tfl_check_strings() on each string input in eval (the
 * user may have overwritten an input's raw data), then reads with tfl_string_at(); it writes
 * a string output with tfl_write_strings() or tfl_copy_strings(). */
#ifndef TFL_RUNTIME_STRING_TENSOR_H
#define TFL_RUNTIME_STRING_TENSOR_H

#include <stddef.h>

#include "runtime/tensor.h"
#include "tfl/op.h"
#include "tfl/string.h"

/* --- for kernels ---------------------------------------------------------------------------- */

/* Reports an error unless t holds a valid encoding of as many strings as it has elements. */
tfl_status tfl_check_strings(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t);

/* String i of a tensor that passed tfl_check_strings. */
tfl_string tfl_string_at(const tfl_tensor *t, size_t i);

/* Fills string tensor t (whose shape is already set) with n strings, string i being
 * fn(arg, i); fn is called twice per string (sizes, then bytes) and must not read t. */
typedef tfl_string (*tfl_string_fn)(const void *arg, size_t i);
tfl_status tfl_write_strings(tfl_context *ctx, tfl_tensor *t, size_t n, tfl_string_fn fn,
                             const void *arg);

/* Copies src's encoding into dst, for ops that only change the shape (dst has its shape
 * already, with as many elements). Nothing happens when dst is src. */
tfl_status tfl_copy_strings(tfl_context *ctx, tfl_tensor *dst, const tfl_tensor *src);

/* --- for the runtime -------------------------------------------------------------------------- */

/* Gives a non-constant string tensor its shape: it becomes dynamic if it was not placed yet,
 * and holds empty strings unless its current encoding already has the new element count. */
tfl_status tfl_strings_set_shape(tfl_context *ctx, tfl_tensor *t, int ndim, const int32_t *dims);

#endif
