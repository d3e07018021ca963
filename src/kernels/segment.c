/* Segment reductions and index-driven copies: SEGMENT_SUM, UNSORTED_SEGMENT_SUM/PROD/MAX/MIN,
 * EMBEDDING_LOOKUP and SCATTER_ND.
 *
 * TFLite semantics kept here:
 * - SEGMENT_SUM (float32, int32 data; int32 ids) requires ids that start at 0 and grow by 0 or
 *   1 at each step (TFLite's check, stricter than TensorFlow's); the output has max id + 1
 *   rows.
 * - UNSORTED_SEGMENT_* take ids of any shape that is a prefix of the data's shape and a scalar
 *   or [1] num_segments; negative ids are skipped, ids >= num_segments are an error. Empty
 *   segments hold the reduction's start value: 0, 1, the lowest or the highest finite value.
 *   MAX/MIN keep the current value against a NaN (std::max/std::min order); integer sums and
 *   products wrap.
 * - EMBEDDING_LOOKUP copies rows of any fixed-size type. With int8/uint8 rows and a float32
 *   output it dequantizes (the hybrid path): symmetric quantization only, per tensor or per
 *   row (quantized_dimension 0), value * scale in float. Like TFLite, that path reads uint8
 *   rows as int8.
 * - SCATTER_ND (int32 indices and shape; float32, uint8, int8, int32, int64 or bool updates)
 *   adds updates into a zeroed output, so repeated indices accumulate (bools: or).
 * Every index read from data is checked: an index outside the output makes eval fail. */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

/* Resizes in prepare, or in eval for a dynamic output. */
static tfl_status resize_output(tfl_context *ctx, tfl_tensor *t, int at_eval, int ndim,
                                const int32_t *dims) {
  if (at_eval) return tfl_context_resize_dynamic(ctx, t, ndim, dims);
  return tfl_context_resize(ctx, t, ndim, dims);
}

typedef struct later_data {
  int at_eval; /* the output shape waits for input values */
} later_data;

/* Sizes output 0 from input values; at_eval says whether it is dynamic. */
typedef tfl_status (*later_shape_fn)(tfl_context *ctx, const tfl_node *node, int at_eval);

/* In prepare: sizes the output now when `source`, the input the shape depends on, is
 * constant, or makes it dynamic for eval to size. */
static tfl_status shape_now_or_later(tfl_context *ctx, tfl_node *node, const tfl_tensor *source,
                                     later_shape_fn shape) {
  later_data *d = node->user_data;
  d->at_eval = !tfl_tensor_is_constant(source);
  if (d->at_eval) return tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, 0));
  return shape(ctx, node, 0);
}

/* In eval: sizes an output that prepare left dynamic. */
static tfl_status shape_if_later(tfl_context *ctx, const tfl_node *node, later_shape_fn shape) {
  const later_data *d = node->user_data;
  return d->at_eval ? shape(ctx, node, 1) : TFL_OK;
}

static int32_t wrap_add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static int32_t wrap_mul32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }

/* --- segment reductions ----------------------------------------------------------------- */

typedef struct segment_reducer {
  float (*f32)(float acc, float x);
  int32_t (*i32)(int32_t acc, int32_t x);
  float start_f32;
  int32_t start_i32;
} segment_reducer;

static float add_f32(float a, float b) { return a + b; }
static float mul_f32(float a, float b) { return a * b; }
static float max_f32(float a, float b) { return a < b ? b : a; }
static float min_f32(float a, float b) { return b < a ? b : a; }
static int32_t max_i32(int32_t a, int32_t b) { return a < b ? b : a; }
static int32_t min_i32(int32_t a, int32_t b) { return b < a ? b : a; }

static const segment_reducer reduce_sum = {add_f32, wrap_add32, 0.0f, 0};
static const segment_reducer reduce_prod = {mul_f32, wrap_mul32, 1.0f, 1};
static const segment_reducer reduce_max = {max_f32, max_i32, -FLT_MAX, INT32_MIN};
static const segment_reducer reduce_min = {min_f32, min_i32, FLT_MAX, INT32_MAX};

/* The data types segment_reduce handles. */
#define SEGMENT_TYPES (TFL_TYPES_F32 | TFL_TYPE_BIT(TFL_INT32))

static tfl_status check_segment_types(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *data = tfl_node_input(ctx, node, 0);
  if (!tfl_type_in(data->type, SEGMENT_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s data '%s' is not supported",
                            tfl_type_name(data->type), data->name);
  tfl_status st = tfl_check_type(ctx, node, tfl_node_input(ctx, node, 1), "segment ids",
                                 TFL_INT32);
  if (st != TFL_OK) return st;
  return tfl_context_set_type(ctx, tfl_node_output(ctx, node, 0), data->type);
}

/* Reduces row i of data (ids[i] slices of `inner` elements) into output row ids[i], for
 * every id >= 0. The ids were checked against the output's row count. */
static void segment_reduce(const tfl_tensor *data, const int32_t *ids, size_t n_ids,
                           tfl_tensor *out, const segment_reducer *r) {
  const size_t n_out = tfl_tensor_count(out);
  if (n_out == 0) return;
  const size_t inner = n_out / (size_t)out->dims[0];
  if (data->type == TFL_FLOAT32) {
    const float *x = data->data;
    float *y = out->data;
    for (size_t i = 0; i < n_out; i++) y[i] = r->start_f32;
    for (size_t i = 0; i < n_ids; i++)
      for (size_t j = 0; ids[i] >= 0 && j < inner; j++)
        y[(size_t)ids[i] * inner + j] = r->f32(y[(size_t)ids[i] * inner + j], x[i * inner + j]);
    return;
  }
  const int32_t *x = data->data;
  int32_t *y = out->data;
  for (size_t i = 0; i < n_out; i++) y[i] = r->start_i32;
  for (size_t i = 0; i < n_ids; i++)
    for (size_t j = 0; ids[i] >= 0 && j < inner; j++)
      y[(size_t)ids[i] * inner + j] = r->i32(y[(size_t)ids[i] * inner + j], x[i * inner + j]);
}

/* --- SEGMENT_SUM ------------------------------------------------------------------------ */

/* The output shape [max id + 1, data dims 1..]; fails unless the ids are 0, then each equal
 * to or one above the previous. */
static tfl_status segment_sum_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *data = tfl_node_input(ctx, node, 0);
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  const int32_t *v = ids->data;
  const size_t n = tfl_tensor_count(ids);
  int32_t last = -1;
  for (size_t i = 0; i < n; i++) {
    const int ok = i == 0 ? v[i] == 0 : (v[i] == last || (int64_t)v[i] == (int64_t)last + 1);
    if (!ok)
      return tfl_context_error(ctx, node, "segment id %d at %zu does not continue the sorted "
                               "ids from 0 (previous %d)", (int)v[i], i, (int)last);
    last = v[i];
  }
  int32_t dims[TFL_MAX_DIMS];
  memcpy(dims, data->dims, sizeof(dims));
  dims[0] = last + 1;
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, data->ndim, dims);
}

static tfl_status segment_sum_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st == TFL_OK) st = check_segment_types(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *data = tfl_node_input(ctx, node, 0);
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  if (data->ndim < 1 || ids->ndim != 1 || ids->dims[0] != data->dims[0])
    return tfl_context_error(ctx, node, "segment ids '%s' must be a vector as long as the first "
                             "dimension of data '%s'", ids->name, data->name);
  return shape_now_or_later(ctx, node, ids, segment_sum_shape);
}

static tfl_status segment_sum_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = shape_if_later(ctx, node, segment_sum_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  segment_reduce(tfl_node_input(ctx, node, 0), ids->data, tfl_tensor_count(ids),
                 tfl_node_output(ctx, node, 0), &reduce_sum);
  return TFL_OK;
}

static const tfl_op_registration reg_segment_sum = {.name = "SEGMENT_SUM",
                                                    .builtin_code = TFL_OP_SEGMENT_SUM,
                                                    .data_size = sizeof(later_data),
                                                    .prepare = segment_sum_prepare,
                                                    .eval = segment_sum_eval,
                                                    .types = SEGMENT_TYPES};

/* --- UNSORTED_SEGMENT_SUM, _PROD, _MAX, _MIN ------------------------------------------- */

static tfl_status unsorted_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *data = tfl_node_input(ctx, node, 0);
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  const int32_t n = *(const int32_t *)tfl_node_input(ctx, node, 2)->data;
  if (n < 0) return tfl_context_error(ctx, node, "num_segments %d is negative", (int)n);
  int32_t dims[TFL_MAX_DIMS];
  dims[0] = n;
  for (int i = ids->ndim; i < data->ndim; i++) dims[i - ids->ndim + 1] = data->dims[i];
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, data->ndim - ids->ndim + 1,
                       dims);
}

static tfl_status unsorted_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st == TFL_OK) st = check_segment_types(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *data = tfl_node_input(ctx, node, 0);
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  const tfl_tensor *num = tfl_node_input(ctx, node, 2);
  st = tfl_check_type(ctx, node, num, "num_segments", TFL_INT32);
  if (st != TFL_OK) return st;
  if (!(num->ndim == 0 || (num->ndim == 1 && num->dims[0] == 1)))
    return tfl_context_error(ctx, node, "num_segments '%s' must be a scalar or [1]", num->name);
  int prefix = ids->ndim <= data->ndim;
  for (int i = 0; prefix && i < ids->ndim; i++) prefix = ids->dims[i] == data->dims[i];
  if (!prefix)
    return tfl_context_error(ctx, node, "the shape of segment ids '%s' must begin the shape of "
                             "data '%s'", ids->name, data->name);
  if (data->ndim - ids->ndim + 1 > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output would have %d dimensions",
                            data->ndim - ids->ndim + 1);
  return shape_now_or_later(ctx, node, num, unsorted_shape);
}

static tfl_status unsorted_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = shape_if_later(ctx, node, unsorted_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *ids = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int32_t *v = ids->data;
  const size_t n = tfl_tensor_count(ids);
  for (size_t i = 0; i < n; i++)
    if (v[i] >= out->dims[0])
      return tfl_context_error(ctx, node, "segment id %d is not below num_segments %d",
                               (int)v[i], (int)out->dims[0]);
  segment_reduce(tfl_node_input(ctx, node, 0), v, n, out,
                 node->registration->op_user_data);
  return TFL_OK;
}

#define UNSORTED_REGISTRATION(var, op_name, code, reducer)                            \
  static const tfl_op_registration var = {.name = op_name,                            \
                                          .builtin_code = code,                       \
                                          .data_size = sizeof(later_data),            \
                                          .prepare = unsorted_prepare,                \
                                          .eval = unsorted_eval,                      \
                                          .op_user_data = (void *)&reducer,           \
                                          .types = SEGMENT_TYPES};

UNSORTED_REGISTRATION(reg_unsorted_sum, "UNSORTED_SEGMENT_SUM", TFL_OP_UNSORTED_SEGMENT_SUM,
                      reduce_sum)
UNSORTED_REGISTRATION(reg_unsorted_prod, "UNSORTED_SEGMENT_PROD", TFL_OP_UNSORTED_SEGMENT_PROD,
                      reduce_prod)
UNSORTED_REGISTRATION(reg_unsorted_max, "UNSORTED_SEGMENT_MAX", TFL_OP_UNSORTED_SEGMENT_MAX,
                      reduce_max)
UNSORTED_REGISTRATION(reg_unsorted_min, "UNSORTED_SEGMENT_MIN", TFL_OP_UNSORTED_SEGMENT_MIN,
                      reduce_min)

/* --- EMBEDDING_LOOKUP ------------------------------------------------------------------- */

typedef struct lookup_data {
  int hybrid; /* int8/uint8 rows dequantized into float32 */
} lookup_data;

/* Checks the quantization of the hybrid path: symmetric, per tensor or one scale per row. */
static tfl_status lookup_check_hybrid(tfl_context *ctx, const tfl_node *node,
                                      const tfl_tensor *value) {
  const tfl_quantization *q = &value->quant;
  if (q->count == 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s rows '%s' into float need "
                            "quantization", tfl_type_name(value->type), value->name);
  if (q->zero_point[0] != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "rows '%s' must be symmetrically "
                            "quantized", value->name);
  if (q->count > 1 && (q->axis != 0 || q->count != value->dims[0]))
    return tfl_context_error(ctx, node, "per-channel rows '%s' need one scale per row along "
                             "dimension 0", value->name);
  return TFL_OK;
}

static tfl_status lookup_prepare(tfl_context *ctx, tfl_node *node) {
  lookup_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *ids = tfl_node_input(ctx, node, 0);
  const tfl_tensor *value = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_type(ctx, node, ids, "lookup", TFL_INT32);
  if (st == TFL_OK) st = tfl_check_fixed_size(ctx, node, value, "value");
  if (st != TFL_OK) return st;
  if (ids->ndim != 1)
    return tfl_context_error(ctx, node, "lookup '%s' must be a vector", ids->name);
  if (value->ndim < 2)
    return tfl_context_error(ctx, node, "value '%s' must have at least 2 dimensions",
                             value->name);
  d->hybrid = out->type == TFL_FLOAT32 &&
              (value->type == TFL_INT8 || value->type == TFL_UINT8);
  if (d->hybrid) st = lookup_check_hybrid(ctx, node, value);
  else if (out->type != value->type)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "cannot look up %s rows into %s",
                            tfl_type_name(value->type), tfl_type_name(out->type));
  else if (value->quant.count > 1)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "per-channel rows are supported only "
                            "when dequantized");
  if (st != TFL_OK) return st;
  int32_t dims[TFL_MAX_DIMS];
  memcpy(dims, value->dims, sizeof(dims));
  dims[0] = ids->dims[0];
  return tfl_context_resize(ctx, out, value->ndim, dims);
}

static tfl_status lookup_eval(tfl_context *ctx, tfl_node *node) {
  const lookup_data *d = node->user_data;
  const tfl_tensor *ids = tfl_node_input(ctx, node, 0);
  const tfl_tensor *value = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int32_t rows = value->dims[0];
  const size_t cols = tfl_dims_product(value->dims, 1, value->ndim);
  const size_t row_bytes = cols * tfl_type_size(value->type);
  for (int32_t i = 0; i < ids->dims[0]; i++) {
    const int32_t r = ((const int32_t *)ids->data)[i];
    if (r < 0 || r >= rows)
      return tfl_context_error(ctx, node, "index %d is out of range [0, %d)", (int)r, (int)rows);
    if (!d->hybrid) {
      if (row_bytes)
        memcpy((uint8_t *)out->data + (size_t)i * row_bytes,
               (const uint8_t *)value->data + (size_t)r * row_bytes, row_bytes);
      continue;
    }
    const float scale = value->quant.scale[value->quant.count > 1 ? r : 0];
    const int8_t *src = (const int8_t *)value->data + (size_t)r * cols;
    float *dst = (float *)out->data + (size_t)i * cols;
    for (size_t j = 0; j < cols; j++) dst[j] = (float)src[j] * scale;
  }
  return TFL_OK;
}

static const tfl_op_registration reg_embedding_lookup = {.name = "EMBEDDING_LOOKUP",
                                                         .builtin_code = TFL_OP_EMBEDDING_LOOKUP,
                                                         .data_size = sizeof(lookup_data),
                                                         .prepare = lookup_prepare,
                                                         .eval = lookup_eval,
                                                         .types = TFL_TYPES_FIXED_SIZE};

/* --- SCATTER_ND ------------------------------------------------------------------------- */

/* The update types scatter_add handles. */
#define SCATTER_TYPES (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT8 | TFL_TYPE_BIT(TFL_BOOL))

/* Checks indices [..., ix] and updates [..., shape[ix:]] against the shape values, then
 * sizes the output. */
static tfl_status scatter_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *idx = tfl_node_input(ctx, node, 0);
  const tfl_tensor *upd = tfl_node_input(ctx, node, 1);
  const tfl_tensor *shape = tfl_node_input(ctx, node, 2);
  const int32_t *s = shape->data;
  const int outer = idx->ndim - 1, rank = shape->dims[0];
  const int32_t ix = idx->dims[outer];
  int ok = ix <= rank && upd->ndim >= outer && upd->ndim - outer == rank - ix;
  for (int i = 0; ok && i < outer; i++) ok = idx->dims[i] == upd->dims[i];
  for (int i = 0; ok && i < rank - ix; i++) ok = upd->dims[outer + i] == s[ix + i];
  if (!ok)
    return tfl_context_error(ctx, node, "indices '%s', updates '%s' and shape '%s' do not fit",
                             idx->name, upd->name, shape->name);
  for (int i = 0; i < rank; i++)
    if (s[i] < 0) return tfl_context_error(ctx, node, "shape has negative dimension %d", s[i]);
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, rank, s);
}

static tfl_status scatter_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *idx = tfl_node_input(ctx, node, 0);
  const tfl_tensor *upd = tfl_node_input(ctx, node, 1);
  const tfl_tensor *shape = tfl_node_input(ctx, node, 2);
  if (!tfl_type_in(upd->type, SCATTER_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s updates '%s' are not supported",
                            tfl_type_name(upd->type), upd->name);
  st = tfl_check_type(ctx, node, idx, "indices", TFL_INT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, shape, "shape", TFL_INT32);
  if (st == TFL_OK) st = tfl_context_set_type(ctx, tfl_node_output(ctx, node, 0), upd->type);
  if (st != TFL_OK) return st;
  if (idx->ndim < 1 || upd->ndim < 1 || shape->ndim != 1)
    return tfl_context_error(ctx, node, "indices and updates need a dimension, shape must be "
                             "1-D");
  if (shape->dims[0] > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output would have %d dimensions",
                            (int)shape->dims[0]);
  return shape_now_or_later(ctx, node, shape, scatter_shape);
}

/* dst[i] += src[i] for n elements of an update type; integers wrap, bools or. */
static void scatter_add(tfl_type type, void *dst, const void *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (type) {
      case TFL_FLOAT32: ((float *)dst)[i] += ((const float *)src)[i]; break;
      case TFL_INT32:
        ((int32_t *)dst)[i] = wrap_add32(((int32_t *)dst)[i], ((const int32_t *)src)[i]);
        break;
      case TFL_INT64:
        ((uint64_t *)dst)[i] += ((const uint64_t *)src)[i];
        break;
      case TFL_BOOL:
        ((uint8_t *)dst)[i] = ((uint8_t *)dst)[i] || ((const uint8_t *)src)[i];
        break;
      default: /* uint8 and int8 wrap alike */
        ((uint8_t *)dst)[i] = (uint8_t)(((uint8_t *)dst)[i] + ((const uint8_t *)src)[i]);
        break;
    }
  }
}

static tfl_status scatter_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = shape_if_later(ctx, node, scatter_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *idx = tfl_node_input(ctx, node, 0);
  const tfl_tensor *upd = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int ix = idx->dims[idx->ndim - 1];
  const size_t slices = tfl_dims_product(idx->dims, 0, idx->ndim - 1);
  const size_t slice = tfl_dims_product(out->dims, ix, out->ndim);
  const size_t elem = tfl_type_size(upd->type);
  const int32_t *v = idx->data;
  if (out->bytes) memset(out->data, 0, out->bytes);
  for (size_t s = 0; s < slices; s++) {
    size_t at = 0; /* in slices of the output */
    for (int j = 0; j < ix; j++) {
      const int32_t k = v[s * (size_t)ix + (size_t)j];
      if (k < 0 || k >= out->dims[j])
        return tfl_context_error(ctx, node, "index %d is out of range [0, %d) in dimension %d",
                                 (int)k, (int)out->dims[j], j);
      at = at * (size_t)out->dims[j] + (size_t)k;
    }
    scatter_add(upd->type, (uint8_t *)out->data + at * slice * elem,
                (const uint8_t *)upd->data + s * slice * elem, slice);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_scatter_nd = {.name = "SCATTER_ND",
                                                   .builtin_code = TFL_OP_SCATTER_ND,
                                                   .data_size = sizeof(later_data),
                                                   .prepare = scatter_prepare,
                                                   .eval = scatter_eval,
                                                   .types = SCATTER_TYPES};

const tfl_op_registration *const tfl_kernels_segment[] = {
    &reg_segment_sum,  &reg_unsorted_sum,     &reg_unsorted_prod, &reg_unsorted_max,
    &reg_unsorted_min, &reg_embedding_lookup, &reg_scatter_nd,    NULL};
