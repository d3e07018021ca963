/* GATHER and GATHER_ND, for any element type of fixed size and for strings; indices int16,
 * int32 or int64.
 *
 * GATHER picks slices along one axis: output = input[:axis] + indices[batch_dims:] +
 * input[axis+1:], where the first batch_dims axes of input and indices are shared (each batch
 * uses its own row of indices). GATHER_ND reads each innermost vector of indices as the leading
 * coordinates of a slice of params. As in TFLite, an index outside [0, size) makes eval fail
 * with an error instead of reading out of bounds; for strings every index is checked before
 * anything is written, as in TFLite (which takes only 1-D string input in GATHER: tfl takes
 * any shape). */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

static tfl_status check_indices_type(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *t) {
  if (t->type == TFL_INT16 || t->type == TFL_INT32 || t->type == TFL_INT64) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "indices '%s' have type %s, expected int16, int32 or int64", t->name,
                          tfl_type_name(t->type));
}

static int64_t index_at(const tfl_tensor *t, size_t i) {
  if (t->type == TFL_INT16) return ((const int16_t *)t->data)[i];
  return tfl_index_at(t, i);
}

/* Every index in [0, limit). */
static tfl_status check_index_range(tfl_context *ctx, const tfl_node *node, const tfl_tensor *idx,
                                    int64_t limit) {
  const size_t n = tfl_tensor_count(idx);
  for (size_t i = 0; i < n; i++) {
    const int64_t k = index_at(idx, i);
    if (k < 0) return tfl_context_error(ctx, node, "index %lld is negative", (long long)k);
    if (k >= limit)
      return tfl_context_error(ctx, node, "index %lld is out of range [0, %lld)", (long long)k,
                               (long long)limit);
  }
  return TFL_OK;
}

/* Checks shared by both ops: two inputs, fixed-size data or strings. Like TFLite, the output
 * takes the data's type whatever the model declares. */
static tfl_status check_gather_io(tfl_context *ctx, const tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (in->type != TFL_STRING) st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK) st = check_indices_type(ctx, node, tfl_node_input(ctx, node, 1));
  if (st == TFL_OK) st = tfl_context_set_type(ctx, tfl_node_output(ctx, node, 0), in->type);
  return st;
}

/* Appends dims[from..to) to out at *n. */
static void append_dims(int32_t *out, int *n, const int32_t *dims, int from, int to) {
  for (int i = from; i < to; i++) out[(*n)++] = dims[i];
}

/* --- GATHER ----------------------------------------------------------------------------- */

/* The copy as nested loops: batch x outer x (indices per batch) slices of `inner` elements. */
typedef struct gather_data {
  size_t batch, outer, coords, inner;
  int32_t axis_size;
} gather_data;

static tfl_status gather_prepare(tfl_context *ctx, tfl_node *node) {
  gather_data *d = node->user_data;
  tfl_status st = check_gather_io(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *idx = tfl_node_input(ctx, node, 1);
  /* GatherOptions: axis (field 0), batch_dims (field 1, negative counts from the indices'
   * rank). */
  const int32_t axis_opt = tfl_opt_int(node, 0, 0);
  int32_t batch_dims = tfl_opt_int(node, 1, 0);
  int axis;
  if (!tfl_axis_normalize(axis_opt, in->ndim, &axis))
    return tfl_context_error(ctx, node, "axis %d is out of range for a %d-D input",
                             (int)axis_opt, in->ndim);
  if (batch_dims < 0) batch_dims += idx->ndim;
  if (batch_dims < 0 || batch_dims > axis || batch_dims > idx->ndim)
    return tfl_context_error(ctx, node, "batch_dims %d is invalid for axis %d and %d-D indices",
                             (int)tfl_opt_int(node, 1, 0), axis, idx->ndim);
  for (int i = 0; i < batch_dims; i++)
    if (in->dims[i] != idx->dims[i])
      return tfl_context_error(ctx, node, "batch dimension %d differs: input %d, indices %d", i,
                               (int)in->dims[i], (int)idx->dims[i]);
  const int out_ndim = in->ndim + idx->ndim - 1 - batch_dims;
  if (out_ndim > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "output would have %d dimensions (at most %d supported)", out_ndim,
                            TFL_MAX_DIMS);
  int32_t dims[TFL_MAX_DIMS];
  int n = 0;
  append_dims(dims, &n, in->dims, 0, axis);
  append_dims(dims, &n, idx->dims, batch_dims, idx->ndim);
  append_dims(dims, &n, in->dims, axis + 1, in->ndim);
  d->batch = tfl_dims_product(in->dims, 0, batch_dims);
  d->outer = tfl_dims_product(in->dims, batch_dims, axis);
  d->coords = tfl_dims_product(idx->dims, batch_dims, idx->ndim);
  d->inner = tfl_dims_product(in->dims, axis + 1, in->ndim);
  d->axis_size = in->dims[axis];
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), n, dims);
}

/* Where a string of the output comes from. */
typedef struct gather_strings {
  const gather_data *d;
  const tfl_tensor *in, *idx;
} gather_strings;

/* Output element j is element r of slice i in (batch b, outer o), in that nesting. */
static tfl_string gather_string(const void *arg, size_t j) {
  const gather_strings *g = arg;
  const gather_data *d = g->d;
  const size_t r = j % d->inner, slices = j / d->inner;
  const size_t i = slices % d->coords, block = slices / d->coords; /* b * outer + o */
  const size_t b = block / d->outer;
  const size_t k = (size_t)index_at(g->idx, b * d->coords + i);
  return tfl_string_at(g->in, (block * (size_t)d->axis_size + k) * d->inner + r);
}

static tfl_status gather_eval_strings(tfl_context *ctx, tfl_node *node) {
  const gather_strings g = {node->user_data, tfl_node_input(ctx, node, 0),
                            tfl_node_input(ctx, node, 1)};
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  tfl_status st = check_index_range(ctx, node, g.idx, g.d->axis_size);
  if (st == TFL_OK) st = tfl_check_strings(ctx, node, g.in);
  if (st != TFL_OK) return st;
  return tfl_write_strings(ctx, out, tfl_tensor_count(out), gather_string, &g);
}

static tfl_status gather_eval(tfl_context *ctx, tfl_node *node) {
  const gather_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *idx = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (in->type == TFL_STRING) return gather_eval_strings(ctx, node);
  /* TFLite rejects a negative index even where no slice would be read (empty outer axes). */
  tfl_status st = check_index_range(ctx, node, idx, INT64_MAX);
  if (st != TFL_OK) return st;
  const size_t slice = d->inner * tfl_type_size(in->type);
  const uint8_t *src = in->data;
  uint8_t *dst = out->data;
  for (size_t b = 0; b < d->batch; b++) {
    for (size_t o = 0; o < d->outer; o++) {
      const uint8_t *block = src + (b * d->outer + o) * (size_t)d->axis_size * slice;
      for (size_t i = 0; i < d->coords; i++) {
        const int64_t k = index_at(idx, b * d->coords + i);
        if (k >= d->axis_size)
          return tfl_context_error(ctx, node, "index %lld is out of range [0, %d)",
                                   (long long)k, (int)d->axis_size);
        if (slice) memcpy(dst, block + (size_t)k * slice, slice);
        dst += slice;
      }
    }
  }
  return TFL_OK;
}

static const tfl_op_registration reg_gather = {
    .name = "GATHER",
    .builtin_code = TFL_OP_GATHER,
    .data_size = sizeof(gather_data),
    .prepare = gather_prepare,
    .eval = gather_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* --- GATHER_ND -------------------------------------------------------------------------- */

typedef struct gather_nd_data {
  size_t slices; /* vectors in indices */
  size_t slice;  /* elements per gathered slice */
  int nd;        /* coordinates per vector */
} gather_nd_data;

static tfl_status gather_nd_prepare(tfl_context *ctx, tfl_node *node) {
  gather_nd_data *d = node->user_data;
  tfl_status st = check_gather_io(ctx, node);
  if (st != TFL_OK) return st;
  const tfl_tensor *params = tfl_node_input(ctx, node, 0);
  const tfl_tensor *idx = tfl_node_input(ctx, node, 1);
  if (params->ndim < 1) return tfl_context_error(ctx, node, "params must be at least a vector");
  if (idx->ndim < 1) return tfl_context_error(ctx, node, "indices must be at least a vector");
  const int32_t nd = idx->dims[idx->ndim - 1];
  if (nd > params->ndim)
    return tfl_context_error(ctx, node, "index vectors have %d coordinates, params only %d "
                             "dimensions", (int)nd, params->ndim);
  const int out_ndim = idx->ndim - 1 + params->ndim - (int)nd;
  if (out_ndim > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "output would have %d dimensions (at most %d supported)", out_ndim,
                            TFL_MAX_DIMS);
  int32_t dims[TFL_MAX_DIMS];
  int n = 0;
  append_dims(dims, &n, idx->dims, 0, idx->ndim - 1);
  append_dims(dims, &n, params->dims, (int)nd, params->ndim);
  d->nd = (int)nd;
  d->slices = tfl_dims_product(idx->dims, 0, idx->ndim - 1);
  d->slice = tfl_dims_product(params->dims, (int)nd, params->ndim);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), n, dims);
}

/* The element of params where slice s starts, or -1 - j when coordinate j of its index vector
 * is out of range. */
static int64_t nd_start(const gather_nd_data *d, const tfl_tensor *params, const tfl_tensor *idx,
                        size_t s) {
  int64_t offset = 0;
  for (int j = 0; j < d->nd; j++) {
    const int64_t k = index_at(idx, s * (size_t)d->nd + (size_t)j);
    if (k < 0 || k >= params->dims[j]) return -1 - j;
    offset = offset * params->dims[j] + k;
  }
  return offset * (int64_t)d->slice;
}

/* Checks every index vector; TFLite accepts empty params only with empty indices. */
static tfl_status nd_check(tfl_context *ctx, const tfl_node *node, const gather_nd_data *d,
                           const tfl_tensor *params, const tfl_tensor *idx) {
  if (tfl_tensor_count(params) == 0 && tfl_tensor_count(idx) != 0)
    return tfl_context_error(ctx, node, "cannot gather from empty params");
  for (size_t s = 0; s < d->slices; s++) {
    const int64_t start = nd_start(d, params, idx, s);
    if (start >= 0) continue;
    const int j = (int)(-1 - start);
    return tfl_context_error(ctx, node, "index %lld is out of range [0, %d) in dimension %d",
                             (long long)index_at(idx, s * (size_t)d->nd + (size_t)j),
                             (int)params->dims[j], j);
  }
  return TFL_OK;
}

typedef struct gather_nd_strings {
  const gather_nd_data *d;
  const tfl_tensor *params, *idx;
} gather_nd_strings;

static tfl_string gather_nd_string(const void *arg, size_t j) {
  const gather_nd_strings *g = arg;
  const size_t s = j / g->d->slice, r = j % g->d->slice;
  return tfl_string_at(g->params, (size_t)nd_start(g->d, g->params, g->idx, s) + r);
}

static tfl_status gather_nd_eval(tfl_context *ctx, tfl_node *node) {
  const gather_nd_data *d = node->user_data;
  const tfl_tensor *params = tfl_node_input(ctx, node, 0);
  const tfl_tensor *idx = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  tfl_status st = nd_check(ctx, node, d, params, idx);
  if (st != TFL_OK) return st;
  if (params->type == TFL_STRING) {
    const gather_nd_strings g = {d, params, idx};
    st = tfl_check_strings(ctx, node, params);
    return st == TFL_OK ? tfl_write_strings(ctx, out, tfl_tensor_count(out), gather_nd_string, &g)
                        : st;
  }
  const size_t elem = tfl_type_size(params->type);
  uint8_t *dst = out->data;
  for (size_t s = 0; s < d->slices; s++) {
    const size_t start = (size_t)nd_start(d, params, idx, s);
    if (d->slice) memcpy(dst, (const uint8_t *)params->data + start * elem, d->slice * elem);
    dst += d->slice * elem;
  }
  return TFL_OK;
}

static const tfl_op_registration reg_gather_nd = {
    .name = "GATHER_ND",
    .builtin_code = TFL_OP_GATHER_ND,
    .data_size = sizeof(gather_nd_data),
    .prepare = gather_nd_prepare,
    .eval = gather_nd_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

const tfl_op_registration *const tfl_kernels_gather[] = {&reg_gather, &reg_gather_nd, NULL};
