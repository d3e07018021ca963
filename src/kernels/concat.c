/* CONCATENATION, PACK, UNPACK, SPLIT and SPLIT_V.
 *
 * Around the axis, every tensor of such a node is a matrix [outer, row] where outer is the
 * product of the dimensions before the axis, the same for all of them. Concatenating (and
 * packing) copies each input's rows into a column band of the output's rows; splitting (and
 * unpacking) is the reverse. Only bytes move, so every fixed-size type works. */
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/quant.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

typedef struct concat_data {
  int axis;          /* normalised */
  int shape_at_eval; /* SPLIT / SPLIT_V with non-constant axis or sizes */
} concat_data;

/* Copies `outer` rows of `len` bytes between two row-strided buffers. */
static void copy_rows(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride,
                      size_t len, size_t outer) {
  for (size_t k = 0; k < outer; k++) memcpy(dst + k * dst_stride, src + k * src_stride, len);
}

/* Splits `in` (viewed as [outer, in->bytes / outer]) into the node's outputs in order. */
static void split_rows(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in, size_t outer) {
  if (outer == 0 || in->bytes == 0) return;
  size_t row = in->bytes / outer, col = 0;
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    size_t len = out->bytes / outer;
    if (len) copy_rows(out->data, len, (const uint8_t *)in->data + col, row, len, outer);
    col += len;
  }
}

static tfl_status check_outputs_like(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in) {
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_status st = tfl_check_type(ctx, node, tfl_node_output(ctx, node, i), "output", in->type);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* --- CONCATENATION ---------------------------------------------------------------------- */

/* Uint8/int8 inputs whose scale or zero point differ from the output's are requantized.
 * TFLite does this (for uint8) in float: q' = round(q * s + b) + zp_out with
 * s = in_scale * (1 / out_scale) and b = -zp_in * s, all single precision
 * (tfl_requantize_f32). TFLite refuses int8 inputs whose parameters differ from the output's;
 * tfl requantizes them the same way. */
static void requantize_rows(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t n_per_row,
                            size_t outer, const tfl_tensor *in, const tfl_tensor *out) {
  float in_scale, out_scale;
  int32_t in_zp, out_zp;
  tfl_quant_params(in, &in_scale, &in_zp);
  tfl_quant_params(out, &out_scale, &out_zp);
  const float scale = in_scale * (1.0f / out_scale);
  const float bias = (float)-in_zp * scale;
  const int is_signed = out->type == TFL_INT8;
  const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  for (size_t k = 0; k < outer; k++) {
    const uint8_t *s = src + k * n_per_row;
    uint8_t *d = dst + k * dst_stride;
    for (size_t j = 0; j < n_per_row; j++) {
      int32_t q = is_signed ? (int32_t)(int8_t)s[j] : (int32_t)s[j];
      int32_t v = tfl_requantize_f32(q, scale, bias, out_zp);
      v = v < lo ? lo : v > hi ? hi : v;
      d[j] = is_signed ? (uint8_t)(int8_t)v : (uint8_t)v;
    }
  }
}

static int needs_requantize(const tfl_tensor *in, const tfl_tensor *out) {
  return (out->type == TFL_UINT8 || out->type == TFL_INT8) && !tfl_same_quant_params(in, out);
}

/* Copies every input into its column band of `out` (viewed as [outer, out->bytes / outer]). */
static void concat_rows(tfl_context *ctx, const tfl_node *node, tfl_tensor *out, size_t outer) {
  if (outer == 0 || out->bytes == 0) return;
  size_t row = out->bytes / outer, col = 0;
  for (int i = 0; i < node->num_inputs; i++) {
    const tfl_tensor *in = tfl_node_input(ctx, node, i);
    size_t len = in->bytes / outer;
    uint8_t *dst = (uint8_t *)out->data + col;
    if (len == 0) continue;
    if (needs_requantize(in, out))
      requantize_rows(dst, row, in->data, len, outer, in, out);
    else
      copy_rows(dst, row, in->data, len, len, outer);
    col += len;
  }
}

static tfl_status concat_check_quant(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *out) {
  float scale;
  int32_t zp;
  for (int i = 0; i < node->num_inputs; i++) {
    const tfl_tensor *in = tfl_node_input(ctx, node, i);
    tfl_quant_params(in, &scale, &zp);
    if (out->type == TFL_INT16 && zp != 0)
      return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                              "int16 input %d has zero point %d, expected 0", i, (int)zp);
    if (needs_requantize(in, out) && !(scale > 0.0f))
      return tfl_context_error(ctx, node, "input %d needs requantizing but has scale %g", i,
                               (double)scale);
  }
  tfl_quant_params(out, &scale, &zp);
  if (out->type == TFL_INT16 && zp != 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "int16 output has zero point %d, expected 0", (int)zp);
  if ((out->type == TFL_UINT8 || out->type == TFL_INT8) && !(scale > 0.0f)) {
    for (int i = 0; i < node->num_inputs; i++)
      if (needs_requantize(tfl_node_input(ctx, node, i), out))
        return tfl_context_error(ctx, node, "output needs requantized inputs but has scale %g",
                                 (double)scale);
  }
  return TFL_OK;
}

/* Checks the inputs against input 0 and computes the output shape (dims[axis] summed). */
static tfl_status concat_shape(tfl_context *ctx, const tfl_node *node, int axis, int *ndim,
                               int32_t *dims) {
  const tfl_tensor *t0 = tfl_node_input(ctx, node, 0);
  /* Scalars concatenate into a vector (TFLite supports this for constant scalars). */
  if (t0->ndim == 0) {
    *ndim = 1;
    dims[0] = node->num_inputs;
  } else {
    *ndim = t0->ndim;
    memcpy(dims, t0->dims, (size_t)t0->ndim * sizeof(dims[0]));
  }
  for (int i = 1; i < node->num_inputs; i++) {
    const tfl_tensor *t = tfl_node_input(ctx, node, i);
    if (t->type != t0->type)
      return tfl_context_error(ctx, node, "input %d has type %s, input 0 %s", i,
                               tfl_type_name(t->type), tfl_type_name(t0->type));
    if (t->ndim != t0->ndim)
      return tfl_context_error(ctx, node, "input %d has rank %d, input 0 rank %d", i, t->ndim,
                               t0->ndim);
    for (int d = 0; d < t0->ndim; d++) {
      if (d != axis && t->dims[d] != t0->dims[d])
        return tfl_context_error(ctx, node, "input %d has size %d in dimension %d, input 0 %d", i,
                                 (int)t->dims[d], d, (int)t0->dims[d]);
    }
    if (t0->ndim == 0) continue;
    if (t->dims[axis] > INT32_MAX - dims[axis])
      return tfl_context_error(ctx, node, "concatenated dimension overflows");
    dims[axis] += t->dims[axis];
  }
  return TFL_OK;
}

static tfl_status concat_prepare(tfl_context *ctx, tfl_node *node) {
  concat_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 1, INT32_MAX, 1);
  if (st != TFL_OK) return st;
  for (int i = 1; i < node->num_inputs && st == TFL_OK; i++)
    if (!tfl_node_input(ctx, node, i)) st = tfl_context_error(ctx, node, "input %d is missing", i);
  const tfl_tensor *t0 = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (st == TFL_OK) st = tfl_check_fixed_size(ctx, node, t0, "input");
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", t0->type);
  if (st != TFL_OK) return st;
  int32_t axis_opt = tfl_opt_int(node, 0, 0);
  int act = tfl_opt_int(node, 1, TFL_ACT_NONE);
  st = tfl_check_activation(ctx, node, act);
  if (st != TFL_OK) return st;
  if (act != TFL_ACT_NONE && t0->type != TFL_FLOAT32)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "fused activation on %s data",
                            tfl_type_name(t0->type));
  /* Scalars only allow axis 0, the axis of the vector they make. */
  int axis_ok = t0->ndim == 0 ? axis_opt == 0 : tfl_axis_normalize(axis_opt, t0->ndim, &d->axis);
  if (!axis_ok)
    return tfl_context_error(ctx, node, "axis %d out of range for rank %d", (int)axis_opt,
                             t0->ndim);
  if (t0->ndim == 0) d->axis = 0;
  int32_t dims[TFL_MAX_DIMS];
  int ndim;
  st = concat_shape(ctx, node, d->axis, &ndim, dims);
  if (st == TFL_OK) st = concat_check_quant(ctx, node, out);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, ndim, dims);
}

static tfl_status concat_eval(tfl_context *ctx, tfl_node *node) {
  const concat_data *d = node->user_data;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  concat_rows(ctx, node, out, tfl_dims_product(out->dims, 0, d->axis));
  int act = tfl_opt_int(node, 1, TFL_ACT_NONE);
  if (act != TFL_ACT_NONE) tfl_activation_apply_f32(act, out->data, tfl_tensor_count(out));
  return TFL_OK;
}

static const tfl_op_registration reg_concatenation = {
    .name = "CONCATENATION",
    .builtin_code = TFL_OP_CONCATENATION,
    .data_size = sizeof(concat_data),
    .prepare = concat_prepare,
    .eval = concat_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- PACK ------------------------------------------------------------------------------- */

static tfl_status pack_prepare(tfl_context *ctx, tfl_node *node) {
  concat_data *d = node->user_data;
  int32_t count = tfl_opt_int(node, 0, 0);
  if (count < 1 || node->num_inputs != count)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "values_count %d but %d inputs",
                            (int)count, node->num_inputs);
  tfl_status st = tfl_check_io(ctx, node, count, count, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *t0 = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_fixed_size(ctx, node, t0, "input");
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", t0->type);
  if (st != TFL_OK) return st;
  if (t0->ndim >= TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output would have more than %d dimensions",
                            TFL_MAX_DIMS);
  int32_t axis_opt = tfl_opt_int(node, 1, 0);
  if (!tfl_axis_normalize(axis_opt, t0->ndim + 1, &d->axis))
    return tfl_context_error(ctx, node, "axis %d out of range for rank %d", (int)axis_opt,
                             t0->ndim + 1);
  for (int i = 0; i < count; i++) {
    const tfl_tensor *t = tfl_node_input(ctx, node, i);
    if (t->type != t0->type || !tfl_same_shape(t, t0))
      return tfl_context_error(ctx, node, "input %d differs in type or shape from input 0", i);
    st = tfl_check_same_quant(ctx, node, t, out, "input and output");
    if (st != TFL_OK) return st;
  }
  int32_t dims[TFL_MAX_DIMS];
  for (int i = 0, j = 0; i <= t0->ndim; i++) dims[i] = i == d->axis ? count : t0->dims[j++];
  return tfl_context_resize(ctx, out, t0->ndim + 1, dims);
}

static tfl_status pack_eval(tfl_context *ctx, tfl_node *node) {
  const concat_data *d = node->user_data;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  concat_rows(ctx, node, out, tfl_dims_product(out->dims, 0, d->axis));
  return TFL_OK;
}

static const tfl_op_registration reg_pack = {
    .name = "PACK",
    .builtin_code = TFL_OP_PACK,
    .data_size = sizeof(concat_data),
    .prepare = pack_prepare,
    .eval = pack_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- UNPACK ----------------------------------------------------------------------------- */

static tfl_status unpack_prepare(tfl_context *ctx, tfl_node *node) {
  concat_data *d = node->user_data;
  int32_t num = tfl_opt_int(node, 0, 0);
  if (num < 1 || node->num_outputs != num)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "num %d but %d outputs", (int)num,
                            node->num_outputs);
  tfl_status st = tfl_check_io(ctx, node, 1, 1, num);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK) st = check_outputs_like(ctx, node, in);
  if (st != TFL_OK) return st;
  int32_t axis_opt = tfl_opt_int(node, 1, 0);
  if (!tfl_axis_normalize(axis_opt, in->ndim, &d->axis))
    return tfl_context_error(ctx, node, "axis %d out of range for rank %d", (int)axis_opt,
                             in->ndim);
  if (in->dims[d->axis] != num)
    return tfl_context_error(ctx, node, "num is %d but dimension %d has size %d", (int)num, d->axis,
                             (int)in->dims[d->axis]);
  int32_t dims[TFL_MAX_DIMS];
  for (int i = 0, j = 0; i < in->ndim; i++)
    if (i != d->axis) dims[j++] = in->dims[i];
  for (int i = 0; i < num; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    st = tfl_check_same_quant(ctx, node, in, out, "input and output");
    if (st == TFL_OK) st = tfl_context_resize(ctx, out, in->ndim - 1, dims);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_status split_eval_rows(tfl_context *ctx, tfl_node *node, int in_index) {
  const concat_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, in_index);
  split_rows(ctx, node, in, tfl_dims_product(in->dims, 0, d->axis));
  return TFL_OK;
}

static tfl_status unpack_eval(tfl_context *ctx, tfl_node *node) {
  return split_eval_rows(ctx, node, 0);
}

static const tfl_op_registration reg_unpack = {
    .name = "UNPACK",
    .builtin_code = TFL_OP_UNPACK,
    .data_size = sizeof(concat_data),
    .prepare = unpack_prepare,
    .eval = unpack_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* --- SPLIT and SPLIT_V ------------------------------------------------------------------ */

/* Output sizes along the axis: all `fill` (SPLIT), or size_splits' values with `fill` at the
 * position of its -1 (SPLIT_V). */
typedef struct split_sizes {
  const tfl_tensor *t; /* NULL for SPLIT */
  int64_t fill;
  int fill_index; /* -1: none */
} split_sizes;

static int64_t split_size_at(const split_sizes *s, int i) {
  if (!s->t || i == s->fill_index) return s->fill;
  return tfl_index_at(s->t, (size_t)i);
}

/* Reads the axis tensor (its first element, as TFLite does) into d->axis. */
static tfl_status split_read_axis(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                                  const tfl_tensor *axis_t, concat_data *d) {
  if (tfl_tensor_count(axis_t) < 1) return tfl_context_error(ctx, node, "axis tensor is empty");
  int64_t v = tfl_index_at(axis_t, 0);
  if (!tfl_axis_normalize(v, in->ndim, &d->axis))
    return tfl_context_error(ctx, node, "axis %lld out of range for rank %d", (long long)v,
                             in->ndim);
  return TFL_OK;
}

/* Gives each output the input's shape with its own size along d->axis. */
static tfl_status split_resize(tfl_context *ctx, const tfl_node *node, const tfl_tensor *in,
                               int axis, const split_sizes *sizes, int at_eval) {
  int32_t dims[TFL_MAX_DIMS];
  memcpy(dims, in->dims, (size_t)in->ndim * sizeof(dims[0]));
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    dims[axis] = (int32_t)split_size_at(sizes, i);
    tfl_status st = at_eval ? tfl_context_resize_dynamic(ctx, out, in->ndim, dims)
                            : tfl_context_resize(ctx, out, in->ndim, dims);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Checks shared by SPLIT and SPLIT_V (their options' field 0 is num_splits). */
static tfl_status split_check(tfl_context *ctx, const tfl_node *node, int n_in, int value_index) {
  int32_t num = tfl_opt_int(node, 0, 0);
  if (num < 1 || node->num_outputs != num)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "num_splits %d but %d outputs", (int)num,
                            node->num_outputs);
  tfl_status st = tfl_check_io(ctx, node, n_in, n_in, num);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, value_index);
  st = tfl_check_fixed_size(ctx, node, in, "input");
  if (st == TFL_OK) st = check_outputs_like(ctx, node, in);
  return st;
}

/* Prepare's end for both: the shapes now when they are known, else dynamic outputs. */
typedef tfl_status (*split_shape_fn)(tfl_context *ctx, const tfl_node *node, int at_eval);

static tfl_status split_finish_prepare(tfl_context *ctx, tfl_node *node, int shape_known,
                                       split_shape_fn fn) {
  concat_data *d = node->user_data;
  d->shape_at_eval = !shape_known;
  if (shape_known) return fn(ctx, node, 0);
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_status st = tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, i));
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_status split_eval_with(tfl_context *ctx, tfl_node *node, int value_index,
                                  split_shape_fn fn) {
  const concat_data *d = node->user_data;
  if (d->shape_at_eval) {
    tfl_status st = fn(ctx, node, 1);
    if (st != TFL_OK) return st;
  }
  return split_eval_rows(ctx, node, value_index);
}

/* SPLIT: inputs (axis, value); the axis must divide evenly into num_splits. */
static tfl_status split_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  concat_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 1);
  tfl_status st = split_read_axis(ctx, node, in, tfl_node_input(ctx, node, 0), d);
  if (st != TFL_OK) return st;
  int num = node->num_outputs;
  if (in->dims[d->axis] % num != 0)
    return tfl_context_error(ctx, node, "dimension %d of size %d does not split evenly in %d",
                             d->axis, (int)in->dims[d->axis], num);
  split_sizes sizes = {NULL, in->dims[d->axis] / num, -1};
  return split_resize(ctx, node, in, d->axis, &sizes, at_eval);
}

static tfl_status split_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = split_check(ctx, node, 2, 1);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 0);
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, axis, "axis");
  if (st != TFL_OK) return st;
  return split_finish_prepare(ctx, node, tfl_tensor_is_constant(axis), split_shape);
}

static tfl_status split_eval(tfl_context *ctx, tfl_node *node) {
  return split_eval_with(ctx, node, 1, split_shape);
}

static const tfl_op_registration reg_split = {
    .name = "SPLIT",
    .builtin_code = TFL_OP_SPLIT,
    .data_size = sizeof(concat_data),
    .prepare = split_prepare,
    .eval = split_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

/* SPLIT_V: inputs (value, size_splits, axis); one size may be -1, meaning the rest. */
static tfl_status split_v_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  concat_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *splits = tfl_node_input(ctx, node, 1);
  tfl_status st = split_read_axis(ctx, node, in, tfl_node_input(ctx, node, 2), d);
  if (st != TFL_OK) return st;
  split_sizes sizes = {splits, 0, -1};
  int64_t sum = 0, dim = in->dims[d->axis];
  for (int i = 0; i < node->num_outputs; i++) {
    int64_t v = tfl_index_at(splits, (size_t)i);
    if (v == -1 && sizes.fill_index < 0) {
      sizes.fill_index = i;
      continue;
    }
    if (v < 0)
      return tfl_context_error(
          ctx, node,
          v == -1 ? "size_splits has more than one -1" : "size_splits has a negative size");
    if (v > dim - sum)
      return tfl_context_error(ctx, node, "size_splits add up to more than dimension %d (%lld)",
                               d->axis, (long long)dim);
    sum += v;
  }
  if (sizes.fill_index < 0 && sum != dim)
    return tfl_context_error(ctx, node, "size_splits add up to %lld, dimension %d is %lld",
                             (long long)sum, d->axis, (long long)dim);
  sizes.fill = dim - sum;
  return split_resize(ctx, node, in, d->axis, &sizes, at_eval);
}

static tfl_status split_v_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = split_check(ctx, node, 3, 0);
  if (st != TFL_OK) return st;
  const tfl_tensor *sizes = tfl_node_input(ctx, node, 1);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 2);
  st = tfl_check_index_type(ctx, node, sizes, "size_splits");
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, axis, "axis");
  if (st != TFL_OK) return st;
  if (sizes->ndim != 1 || sizes->dims[0] != node->num_outputs)
    return tfl_context_error(ctx, node, "size_splits must be a vector of %d sizes",
                             node->num_outputs);
  int known = tfl_tensor_is_constant(sizes) && tfl_tensor_is_constant(axis);
  return split_finish_prepare(ctx, node, known, split_v_shape);
}

static tfl_status split_v_eval(tfl_context *ctx, tfl_node *node) {
  return split_eval_with(ctx, node, 0, split_v_shape);
}

static const tfl_op_registration reg_split_v = {
    .name = "SPLIT_V",
    .builtin_code = TFL_OP_SPLIT_V,
    .data_size = sizeof(concat_data),
    .prepare = split_v_prepare,
    .eval = split_v_eval,
    .types = TFL_TYPES_FIXED_SIZE,
};

const tfl_op_registration *const tfl_kernels_concat[] = {
    &reg_concatenation, &reg_pack, &reg_unpack, &reg_split, &reg_split_v, NULL};
