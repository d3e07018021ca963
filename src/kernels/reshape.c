/* RESHAPE, SQUEEZE and EXPAND_DIMS: the output holds the input's bytes under a new shape.
 * They take strings too, as in TFLite (the encoding is copied as it is).
 *
 * The output is a copy. It could alias the input's memory instead (TFLite does so when the
 * planner allows), which would need the planner to know about in-place ops. */
#include <stdint.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

/* Per-node state: whether the output shape waits for eval (a non-constant shape/axis). */
typedef struct reshape_data {
  int shape_at_eval;
} reshape_data;

/* min_in..max_in inputs, one output of the input's type (fixed-size, or string unless
 * fixed_only). */
static tfl_status check_io_types(tfl_context *ctx, const tfl_node *node, int min_in,
                                 int max_in, int fixed_only) {
  tfl_status st = tfl_check_io(ctx, node, min_in, max_in, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (fixed_only || in->type != TFL_STRING) st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st != TFL_OK) return st;
  return tfl_check_type(ctx, node, out, "output", in->type);
}

/* The output takes the input's data as it is. */
static tfl_status copy_data(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (in->type != TFL_STRING) return tfl_copy_input_to_output(ctx, node);
  tfl_status st = tfl_check_strings(ctx, node, in);
  if (st != TFL_OK) return st;
  return tfl_copy_strings(ctx, tfl_node_output(ctx, node, 0), in);
}

/* Resizes in prepare, or in eval for a dynamic output. */
static tfl_status resize_output(tfl_context *ctx, const tfl_node *node, int at_eval, int ndim,
                                const int32_t *dims) {
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (at_eval) return tfl_context_resize_dynamic(ctx, out, ndim, dims);
  return tfl_context_resize(ctx, out, ndim, dims);
}

/* Prepare for ops whose shape comes from a possibly non-constant tensor: `shape_fn` computes
 * and sets the shape now if it can, else the output becomes dynamic. */
typedef tfl_status (*shape_fn)(tfl_context *ctx, const tfl_node *node, int at_eval);

static tfl_status prepare_with_shape_tensor(tfl_context *ctx, tfl_node *node,
                                            const tfl_tensor *shape_source, shape_fn fn) {
  reshape_data *d = node->user_data;
  d->shape_at_eval = shape_source && !tfl_tensor_is_constant(shape_source);
  if (d->shape_at_eval) return tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, 0));
  return fn(ctx, node, 0);
}

static tfl_status eval_with_shape_tensor(tfl_context *ctx, tfl_node *node, shape_fn fn) {
  const reshape_data *d = node->user_data;
  if (d->shape_at_eval) {
    tfl_status st = fn(ctx, node, 1);
    if (st != TFL_OK) return st;
  }
  return copy_data(ctx, node);
}

/* --- RESHAPE ---------------------------------------------------------------------------- */

/* TFLite takes the shape from the second input only when it is a 1-D int32 tensor; in every
 * other case (absent, scalar, int64...) ReshapeOptions.new_shape decides. */
static const tfl_tensor *reshape_shape_tensor(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *shape = tfl_node_input(ctx, node, 1);
  if (shape && shape->ndim == 1 && shape->type == TFL_INT32) return shape;
  return NULL;
}

/* The requested shape, possibly with one -1, in dims[*ndim]. */
static tfl_status reshape_requested(tfl_context *ctx, const tfl_node *node, int *ndim,
                                    int64_t *dims) {
  const tfl_tensor *shape = reshape_shape_tensor(ctx, node);
  if (shape) return tfl_read_index_tensor(ctx, node, shape, "shape", dims, TFL_MAX_DIMS, ndim);
  int n = tfl_opt_ivec_len(node, 0);
  if (n > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "new_shape has %d dimensions, at most %d",
                            n, TFL_MAX_DIMS);
  for (int i = 0; i < n; i++) dims[i] = tfl_opt_ivec_at(node, 0, i);
  /* Old converters wrote [0] for a scalar. */
  if (n == 1 && dims[0] == 0) n = 0;
  *ndim = n;
  return TFL_OK;
}

/* Fills in the -1 dimension the way TFLite does (zero dimensions are left out of both
 * products so that e.g. [0, 4] -> [-1, 0] gives [4, 0]) and checks the element count. */
static tfl_status reshape_resolve(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                  int ndim, const int64_t *req, int32_t *dims) {
  int64_t in_count, in_nonzero = 1, out_count = 1, out_nonzero = 1;
  if (!tfl_shape_count_checked(in->ndim, in->dims, &in_count))
    return tfl_context_error(ctx, node, "input element count overflows");
  for (int i = 0; i < in->ndim; i++)
    if (in->dims[i] != 0) in_nonzero *= in->dims[i];
  int stretch = -1;
  for (int i = 0; i < ndim; i++) {
    if (req[i] == -1) {
      if (stretch >= 0) return tfl_context_error(ctx, node, "new shape has more than one -1");
      stretch = i;
      continue;
    }
    if (req[i] < 0 || req[i] > INT32_MAX)
      return tfl_context_error(ctx, node, "new shape has invalid dimension %lld",
                               (long long)req[i]);
    dims[i] = (int32_t)req[i];
    if (req[i] != 0 && out_nonzero > INT64_MAX / req[i])
      return tfl_context_error(ctx, node, "new shape's element count overflows");
    if (req[i] != 0) out_nonzero *= req[i];
    out_count = req[i] == 0 ? 0 : out_count * req[i];
  }
  if (stretch >= 0) {
    int64_t v = (in_count == 0 && out_count != 0) ? 0 : in_nonzero / out_nonzero;
    if (v > INT32_MAX) return tfl_context_error(ctx, node, "inferred dimension is too large");
    dims[stretch] = (int32_t)v;
    out_count *= v;
  }
  if (out_count != in_count)
    return tfl_context_error(ctx, node, "cannot reshape %lld elements into a shape of %lld",
                             (long long)in_count, (long long)out_count);
  return TFL_OK;
}

static tfl_status reshape_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  int64_t req[TFL_MAX_DIMS];
  int32_t dims[TFL_MAX_DIMS];
  int ndim = 0;
  tfl_status st = reshape_requested(ctx, node, &ndim, req);
  if (st != TFL_OK) return st;
  st = reshape_resolve(ctx, node, tfl_node_input(ctx, node, 0), ndim, req, dims);
  if (st != TFL_OK) return st;
  return resize_output(ctx, node, at_eval, ndim, dims);
}

static tfl_status reshape_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_io_types(ctx, node, 1, 2, 0);
  if (st != TFL_OK) return st;
  return prepare_with_shape_tensor(ctx, node, reshape_shape_tensor(ctx, node), reshape_shape);
}

static tfl_status reshape_eval(tfl_context *ctx, tfl_node *node) {
  return eval_with_shape_tensor(ctx, node, reshape_shape);
}

static const tfl_op_registration reg_reshape = {
    .name = "RESHAPE",
    .builtin_code = TFL_OP_RESHAPE,
    .data_size = sizeof(reshape_data),
    .prepare = reshape_prepare,
    .eval = reshape_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* --- SQUEEZE ---------------------------------------------------------------------------- */

static tfl_status squeeze_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_io_types(ctx, node, 1, 1, 0);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  int squeeze[TFL_MAX_DIMS] = {0};
  int n = tfl_opt_ivec_len(node, 0);
  if (n == 0) /* no squeeze_dims: every dimension of size 1 */
    for (int i = 0; i < in->ndim; i++) squeeze[i] = in->dims[i] == 1;
  for (int i = 0; i < n; i++) {
    int32_t v = tfl_opt_ivec_at(node, 0, i);
    int axis;
    if (!tfl_axis_normalize(v, in->ndim, &axis))
      return tfl_context_error(ctx, node, "squeeze dimension %d out of range for rank %d", (int)v,
                               in->ndim);
    if (in->dims[axis] != 1)
      return tfl_context_error(ctx, node, "cannot squeeze dimension %d of size %d", axis,
                               (int)in->dims[axis]);
    squeeze[axis] = 1;
  }
  int32_t dims[TFL_MAX_DIMS];
  int ndim = 0;
  for (int i = 0; i < in->ndim; i++)
    if (!squeeze[i]) dims[ndim++] = in->dims[i];
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), ndim, dims);
}

static tfl_status squeeze_eval(tfl_context *ctx, tfl_node *node) { return copy_data(ctx, node); }

static const tfl_op_registration reg_squeeze = {
    .name = "SQUEEZE",
    .builtin_code = TFL_OP_SQUEEZE,
    .prepare = squeeze_prepare,
    .eval = squeeze_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* --- EXPAND_DIMS ------------------------------------------------------------------------ */

static tfl_status expand_dims_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis_t = tfl_node_input(ctx, node, 1);
  if (tfl_tensor_count(axis_t) != 1)
    return tfl_context_error(ctx, node, "axis must have one element, has %zu",
                             tfl_tensor_count(axis_t));
  int64_t v = tfl_index_at(axis_t, 0);
  int axis;
  if (!tfl_axis_normalize(v, in->ndim + 1, &axis))
    return tfl_context_error(ctx, node, "axis %lld out of range for rank %d", (long long)v,
                             in->ndim);
  int32_t dims[TFL_MAX_DIMS];
  for (int i = 0, j = 0; i <= in->ndim; i++) dims[i] = i == axis ? 1 : in->dims[j++];
  return resize_output(ctx, node, at_eval, in->ndim + 1, dims);
}

static tfl_status expand_dims_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_io_types(ctx, node, 2, 2, 0);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  st = tfl_check_index_type(ctx, node, axis, "axis");
  if (st == TFL_OK)
    st = tfl_check_same_quant(ctx, node, in, tfl_node_output(ctx, node, 0), "input and output");
  if (st != TFL_OK) return st;
  if (in->ndim >= TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output would have more than %d dimensions",
                            TFL_MAX_DIMS);
  return prepare_with_shape_tensor(ctx, node, axis, expand_dims_shape);
}

static tfl_status expand_dims_eval(tfl_context *ctx, tfl_node *node) {
  return eval_with_shape_tensor(ctx, node, expand_dims_shape);
}

static const tfl_op_registration reg_expand_dims = {
    .name = "EXPAND_DIMS",
    .builtin_code = TFL_OP_EXPAND_DIMS,
    .data_size = sizeof(reshape_data),
    .prepare = expand_dims_prepare,
    .eval = expand_dims_eval,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING,
};

/* DENSIFY: the runtime expands sparse constants when it loads them, so by the time this op
 * runs its input is already dense and the op is a copy (usually folded away entirely). Sparse
 * strings do not exist (TFLite refuses them too). */
static tfl_status densify_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = check_io_types(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), in->ndim, in->dims);
}

static tfl_status densify_eval(tfl_context *ctx, tfl_node *node) {
  return tfl_copy_input_to_output(ctx, node);
}

static const tfl_op_registration reg_densify = {
    .name = "DENSIFY",
    .builtin_code = TFL_OP_DENSIFY,
    .prepare = densify_prepare,
    .eval = densify_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_reshape[] = {&reg_reshape, &reg_squeeze,
                                                          &reg_expand_dims, &reg_densify, NULL};
