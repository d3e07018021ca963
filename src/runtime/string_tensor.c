/* String tensors at run time (runtime/string_tensor.h) and the public string calls
 * (tfl/string.h). */
#include "runtime/string_tensor.h"

#include <stdlib.h>
#include <string.h>

#include "model/string_data.h"
#include "runtime/interpreter.h"
#include "runtime/kernel.h"

/* --- encoding into a tensor ---------------------------------------------------------------- */

/* The encoding's size for fn's n strings; 0 when it would exceed TFL_STRING_DATA_MAX. */
static size_t encoded_size(size_t n, tfl_string_fn fn, const void *arg) {
  /* the offsets alone decide a count that is too large: a declared shape of 10^11 strings
   * must fail at once, not after asking for each one */
  if (!tfl_string_data_size(n, 0)) return 0;
  size_t chars = 0;
  for (size_t i = 0; i < n; i++) {
    const size_t len = fn(arg, i).size;
    if (len > TFL_STRING_DATA_MAX - chars) return 0;
    chars += len;
  }
  return tfl_string_data_size(n, chars);
}

/* Writes fn's n strings into data (of their encoded size). */
static void encode(void *data, size_t n, tfl_string_fn fn, const void *arg) {
  tfl_string_writer w;
  tfl_string_writer_init(&w, data, n);
  for (size_t i = 0; i < n; i++) tfl_string_writer_add(&w, fn(arg, i));
}

static tfl_string from_array(const void *arg, size_t i) { return ((const tfl_string *)arg)[i]; }

static tfl_string empty_string(const void *arg, size_t i) {
  (void)arg;
  (void)i;
  tfl_string s = {"", 0};
  return s;
}

/* Heap room for `bytes` in t, which must own its data (dynamic or computed ahead). */
static tfl_status reserve(tfl_context *ctx, tfl_tensor *t, size_t bytes) {
  if (t->alloc != TFL_ALLOC_DYNAMIC && t->alloc != TFL_ALLOC_PERSISTENT)
    return tfl_interp_error(ctx->interp, TFL_ERROR, "string tensor '%s' is not a dynamic tensor",
                            t->name);
  if (bytes > ctx->interp->options.max_tensor_bytes)
    return tfl_interp_error(ctx->interp, TFL_LIMIT_EXCEEDED,
                            "strings of tensor '%s' need %zu bytes, over the limit of %zu",
                            t->name, bytes, ctx->interp->options.max_tensor_bytes);
  if (bytes <= t->heap_capacity) return TFL_OK;
  void *p = realloc(t->heap_capacity ? t->data : NULL, bytes);
  if (!p)
    return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory for tensor '%s'",
                            t->name);
  t->data = p;
  t->heap_capacity = bytes;
  return TFL_OK;
}

static tfl_status write_encoded(tfl_context *ctx, tfl_tensor *t, size_t n, tfl_string_fn fn,
                                const void *arg) {
  const size_t size = encoded_size(n, fn, arg);
  if (!size)
    return tfl_interp_error(ctx->interp, TFL_LIMIT_EXCEEDED,
                            "strings of tensor '%s' exceed the 2 GiB an encoding can hold",
                            t->name);
  tfl_status st = reserve(ctx, t, size);
  if (st != TFL_OK) return st;
  encode(t->data, n, fn, arg);
  t->bytes = size;
  return TFL_OK;
}

/* --- for kernels ---------------------------------------------------------------------------- */

tfl_status tfl_check_strings(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t) {
  const char *why = tfl_string_data_check(t->data, t->bytes, tfl_tensor_count(t));
  if (!why) return TFL_OK;
  return tfl_context_error(ctx, node, "string tensor '%s' holds invalid string data: %s",
                           t->name, why);
}

tfl_string tfl_string_at(const tfl_tensor *t, size_t i) { return tfl_string_data_at(t->data, i); }

tfl_status tfl_write_strings(tfl_context *ctx, tfl_tensor *t, size_t n, tfl_string_fn fn,
                             const void *arg) {
  return write_encoded(ctx, t, n, fn, arg);
}

tfl_status tfl_copy_strings(tfl_context *ctx, tfl_tensor *dst, const tfl_tensor *src) {
  if (dst == src) return TFL_OK;
  if (!src->bytes) return write_encoded(ctx, dst, 0, empty_string, NULL);
  tfl_status st = reserve(ctx, dst, src->bytes);
  if (st != TFL_OK) return st;
  memcpy(dst->data, src->data, src->bytes);
  dst->bytes = src->bytes;
  return TFL_OK;
}

/* --- for the runtime -------------------------------------------------------------------------- */

tfl_status tfl_strings_set_shape(tfl_context *ctx, tfl_tensor *t, int ndim, const int32_t *dims) {
  if (t->alloc == TFL_ALLOC_NONE) t->alloc = TFL_ALLOC_DYNAMIC;
  const size_t n = tfl_shape_count(ndim, dims);
  if (!t->data || tfl_string_data_count(t->data, t->bytes) != n || t->bytes < 4) {
    tfl_status st = write_encoded(ctx, t, n, empty_string, NULL);
    if (st != TFL_OK) return st;
  }
  t->ndim = ndim;
  if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof(dims[0]));
  return TFL_OK;
}

/* --- public calls ----------------------------------------------------------------------------- */

/* The checks the public calls share: a string tensor that has data. */
static tfl_status readable(const tfl_tensor *t) {
  if (!t || t->type != TFL_STRING) return TFL_INVALID_ARGUMENT;
  if (t->alloc == TFL_ALLOC_NONE) return TFL_NOT_READY;
  return TFL_OK;
}

tfl_status tfl_tensor_string_count(const tfl_tensor *t, size_t *count) {
  tfl_status st = readable(t);
  if (st != TFL_OK || !count) return st != TFL_OK ? st : TFL_INVALID_ARGUMENT;
  const size_t n = tfl_tensor_count(t);
  const int empty = t->bytes == 0 && n == 0;
  if (!empty && (tfl_string_data_count(t->data, t->bytes) != n || t->bytes < 4)) return TFL_ERROR;
  *count = n;
  return TFL_OK;
}

tfl_status tfl_tensor_string(const tfl_tensor *t, size_t i, tfl_string *out) {
  size_t n = 0;
  tfl_status st = tfl_tensor_string_count(t, &n);
  if (st != TFL_OK) return st;
  if (!out || i >= n) return TFL_INVALID_ARGUMENT;
  return tfl_string_data_get(t->data, t->bytes, i, out) ? TFL_OK : TFL_ERROR;
}

tfl_status tfl_tensor_set_strings(tfl_tensor *t, const tfl_string *strings, size_t count) {
  tfl_status st = readable(t);
  if (st != TFL_OK) return st;
  if (t->alloc != TFL_ALLOC_DYNAMIC || count != tfl_tensor_count(t) || (count && !strings))
    return TFL_INVALID_ARGUMENT;
  for (size_t i = 0; i < count; i++)
    if (strings[i].size && !strings[i].data) return TFL_INVALID_ARGUMENT;
  const size_t size = encoded_size(count, from_array, strings);
  if (!size) return TFL_LIMIT_EXCEEDED;
  /* A fresh block: the strings may point into the tensor's current data. */
  void *data = malloc(size);
  if (!data) return TFL_OUT_OF_MEMORY;
  encode(data, count, from_array, strings);
  if (t->heap_capacity) free(t->data);
  t->data = data;
  t->heap_capacity = size;
  t->bytes = size;
  return TFL_OK;
}
