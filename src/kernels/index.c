/* Index, shape and sequence ops: ARG_MAX, ARG_MIN, TOPK_V2, SHAPE, RANK, FILL, ZEROS_LIKE,
 * RANGE, ONE_HOT, REVERSE_V2, CUMSUM and BROADCAST_ARGS.
 *
 * TFLite semantics kept here:
 * - ARG_MAX/ARG_MIN (float32, uint8, int8, int32, bool; ArgMaxOptions/ArgMinOptions field 0
 *   gives an int32 or int64 output) pick the first index among equal values; a NaN never
 *   wins and loses to any number, so an all-NaN slice gives 0. An empty axis is an error.
 * - TOPK_V2 sorts each last-dimension row by value, largest first, equal values by lower
 *   index, NaNs last; k <= 0 gives an empty last dimension, k above the row size an error.
 * - RANGE counts ceil(|limit - start| / |delta|) elements (in float for float32) and builds
 *   them by repeated addition of delta, as TFLite does, so float rounding matches.
 * - ONE_HOT compares each index, cut to int32, with the depth position; axis -1 is last.
 * - REVERSE_V2 accepts only contiguous axes (TFLite's restriction); CUMSUM sums in order from
 *   0 (ints wrap); BROADCAST_ARGS fails cleanly where TFLite would abort.
 * Outputs whose shape depends on a non-constant input (an axis, k, dims, limits, depth) are
 * dynamic and sized in eval. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/families.h"
#include "kernels/shape_util.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

/* Resizes in prepare, or in eval for a dynamic output. */
static tfl_status resize_output(tfl_context *ctx, tfl_tensor *t, int at_eval, int ndim,
                                const int32_t *dims) {
  if (at_eval) return tfl_context_resize_dynamic(ctx, t, ndim, dims);
  return tfl_context_resize(ctx, t, ndim, dims);
}

/* Sizes the outputs now when the inputs the shape depends on are `known` (constant), else
 * marks them dynamic; *at_eval records which. */
typedef tfl_status (*shape_fn)(tfl_context *ctx, const tfl_node *node, int at_eval);

static tfl_status shape_now_or_later(tfl_context *ctx, const tfl_node *node, int known,
                                     shape_fn fn, int *at_eval) {
  *at_eval = !known;
  if (!*at_eval) return fn(ctx, node, 0);
  for (int k = 0; k < node->num_outputs; k++) {
    tfl_status st = tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, k));
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Per-node state of every op whose shape may wait for eval. */
typedef struct later_data {
  int at_eval;
  int scratch; /* TOPK_V2 */
} later_data;

static tfl_status eval_shape_if_later(tfl_context *ctx, const tfl_node *node, shape_fn fn) {
  const later_data *d = node->user_data;
  return d->at_eval ? fn(ctx, node, 1) : TFL_OK;
}

static tfl_status check_single(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                               const char *what) {
  if (tfl_tensor_count(t) == 1) return TFL_OK;
  return tfl_context_error(ctx, node, "%s '%s' must hold exactly one value", what, t->name);
}

static tfl_status check_scalar(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                               const char *what) {
  if (t->ndim == 0) return TFL_OK;
  return tfl_context_error(ctx, node, "%s '%s' must be a scalar", what, t->name);
}

/* Stores an integer into element i of an int16, int32 or int64 tensor. */
static void store_int(tfl_tensor *t, size_t i, int64_t v) {
  if (t->type == TFL_INT64) ((int64_t *)t->data)[i] = v;
  else if (t->type == TFL_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
  else ((int16_t *)t->data)[i] = (int16_t)v;
}

/* The output type an options field names (TensorType), which must be int32 or int64; absent
 * options leave the model's declared type. */
static tfl_status set_index_output_type(tfl_context *ctx, const tfl_node *node, tfl_tensor *out,
                                        int field) {
  const int32_t type = tfl_opt_int(node, field, (int32_t)out->type);
  if (type != TFL_INT32 && type != TFL_INT64)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output type %d is not int32 or int64",
                            (int)type);
  return tfl_context_set_type(ctx, out, (tfl_type)type);
}

/* --- ordering of values (ARG_MAX, ARG_MIN, TOPK_V2) -------------------------------------- */

#define SIGN3(x, y) (((x) > (y)) - ((x) < (y)))

enum { NAN_HIGH = -1, NAN_LOW = 1 };

/* Sign of v[a] - v[b] for elements of a tensor's data; a NaN is below every number with
 * NAN_LOW and above with NAN_HIGH, and equal to another NaN. */
static int value_compare(tfl_type type, const void *v, size_t a, size_t b, int nan_order) {
  switch (type) {
    case TFL_FLOAT32: {
      const float x = ((const float *)v)[a], y = ((const float *)v)[b];
      const int xn = isnan(x) != 0, yn = isnan(y) != 0;
      if (xn || yn) return xn == yn ? 0 : (xn ? -nan_order : nan_order);
      return SIGN3(x, y);
    }
    case TFL_INT8: return SIGN3(((const int8_t *)v)[a], ((const int8_t *)v)[b]);
    case TFL_INT16: return SIGN3(((const int16_t *)v)[a], ((const int16_t *)v)[b]);
    case TFL_INT32: return SIGN3(((const int32_t *)v)[a], ((const int32_t *)v)[b]);
    case TFL_INT64: return SIGN3(((const int64_t *)v)[a], ((const int64_t *)v)[b]);
    case TFL_BOOL: return SIGN3(((const uint8_t *)v)[a] != 0, ((const uint8_t *)v)[b] != 0);
    default: return SIGN3(((const uint8_t *)v)[a], ((const uint8_t *)v)[b]);
  }
}

/* --- ARG_MAX, ARG_MIN ------------------------------------------------------------------- */

#define ARG_TYPES \
  (TFL_TYPES_F32 | TFL_TYPES_QUANT8 | TFL_TYPE_BIT(TFL_INT32) | TFL_TYPE_BIT(TFL_BOOL))

static tfl_status arg_axis(tfl_context *ctx, const tfl_node *node, int *axis) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const int64_t v = tfl_index_at(tfl_node_input(ctx, node, 1), 0);
  if (!tfl_axis_normalize(v, in->ndim, axis))
    return tfl_context_error(ctx, node, "axis %lld is out of range for a %d-D input",
                             (long long)v, in->ndim);
  if (in->dims[*axis] == 0) return tfl_context_error(ctx, node, "axis %d is empty", *axis);
  return TFL_OK;
}

static tfl_status arg_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  int axis;
  tfl_status st = arg_axis(ctx, node, &axis);
  if (st != TFL_OK) return st;
  int32_t dims[TFL_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < in->ndim; i++)
    if (i != axis) dims[n++] = in->dims[i];
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, n, dims);
}

static tfl_status arg_prepare(tfl_context *ctx, tfl_node *node) {
  later_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  if (!tfl_type_in(in->type, ARG_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                            tfl_type_name(in->type), in->name);
  if (in->ndim < 1) return tfl_context_error(ctx, node, "input '%s' is a scalar", in->name);
  st = tfl_check_index_type(ctx, node, axis, "axis");
  if (st == TFL_OK) st = check_single(ctx, node, axis, "axis");
  if (st == TFL_OK) st = set_index_output_type(ctx, node, tfl_node_output(ctx, node, 0), 0);
  if (st != TFL_OK) return st;
  return shape_now_or_later(ctx, node, tfl_tensor_is_constant(axis), arg_shape, &d->at_eval);
}

static tfl_status arg_eval(tfl_context *ctx, tfl_node *node) {
  const int is_max = node->builtin_code == TFL_OP_ARG_MAX;
  tfl_status st = eval_shape_if_later(ctx, node, arg_shape);
  int axis = 0;
  if (st == TFL_OK) st = arg_axis(ctx, node, &axis);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t outer = tfl_dims_product(in->dims, 0, axis);
  const size_t n = (size_t)in->dims[axis];
  const size_t inner = tfl_dims_product(in->dims, axis + 1, in->ndim);
  /* ARG_MIN is ARG_MAX of the reversed order, with NaN at the other end. */
  const int sign = is_max ? 1 : -1, nan_order = is_max ? NAN_LOW : NAN_HIGH;
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < inner; i++) {
      const size_t base = o * n * inner + i;
      size_t best = 0;
      for (size_t k = 1; k < n; k++)
        if (sign * value_compare(in->type, in->data, base + k * inner, base + best * inner,
                                 nan_order) > 0)
          best = k;
      store_int(out, o * inner + i, (int64_t)best);
    }
  }
  return TFL_OK;
}

static const tfl_op_registration reg_arg_max = {.name = "ARG_MAX",
                                                .builtin_code = TFL_OP_ARG_MAX,
                                                .data_size = sizeof(later_data),
                                                .prepare = arg_prepare,
                                                .eval = arg_eval,
                                                .types = ARG_TYPES};

static const tfl_op_registration reg_arg_min = {.name = "ARG_MIN",
                                                .builtin_code = TFL_OP_ARG_MIN,
                                                .data_size = sizeof(later_data),
                                                .prepare = arg_prepare,
                                                .eval = arg_eval,
                                                .types = ARG_TYPES};

/* --- TOPK_V2 ---------------------------------------------------------------------------- */

#define TOPK_TYPES (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT)

static int32_t topk_k(const tfl_tensor *k) {
  return k->type == TFL_INT16 ? ((const int16_t *)k->data)[0] : ((const int32_t *)k->data)[0];
}

static tfl_status topk_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const int32_t k = topk_k(tfl_node_input(ctx, node, 1));
  const int32_t row = in->dims[in->ndim - 1];
  if (k > row)
    return tfl_context_error(ctx, node, "k %d is larger than the last dimension %d", (int)k,
                             (int)row);
  int32_t dims[TFL_MAX_DIMS];
  memcpy(dims, in->dims, sizeof(dims));
  dims[in->ndim - 1] = k > 0 ? k : 0;
  tfl_status st = resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, in->ndim, dims);
  if (st != TFL_OK) return st;
  return resize_output(ctx, tfl_node_output(ctx, node, 1), at_eval, in->ndim, dims);
}

static tfl_status topk_prepare(tfl_context *ctx, tfl_node *node) {
  later_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 2);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *k = tfl_node_input(ctx, node, 1);
  const tfl_tensor *indices = tfl_node_output(ctx, node, 1);
  if (!tfl_type_in(in->type, TOPK_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                            tfl_type_name(in->type), in->name);
  if (in->ndim < 1) return tfl_context_error(ctx, node, "input '%s' is a scalar", in->name);
  st = tfl_check_type(ctx, node, tfl_node_output(ctx, node, 0), "values", in->type);
  if (st != TFL_OK) return st;
  if (indices->type != TFL_INT32 && indices->type != TFL_INT16)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "indices '%s' have type %s, expected "
                            "int32 or int16", indices->name, tfl_type_name(indices->type));
  if (k->type != TFL_INT32 && k->type != TFL_INT16)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "k '%s' has type %s, expected int32 or "
                            "int16", k->name, tfl_type_name(k->type));
  st = check_single(ctx, node, k, "k");
  if (st != TFL_OK) return st;
  const int32_t row = in->dims[in->ndim - 1];
  if (indices->type == TFL_INT16 && row > INT16_MAX)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "rows of %d do not fit int16 indices",
                            (int)row);
  st = tfl_context_request_scratch(ctx, node, (size_t)row * sizeof(int32_t), &d->scratch);
  if (st != TFL_OK) return st;
  return shape_now_or_later(ctx, node, tfl_tensor_is_constant(k), topk_shape, &d->at_eval);
}

/* A heap of indices into one row whose root is the worst kept element. */
typedef struct topk_heap {
  tfl_type type;
  const void *row;
  int32_t *idx;
} topk_heap;

/* a comes before b: larger value, NaN last, lower index among equals. */
static int topk_before(const topk_heap *h, int32_t a, int32_t b) {
  const int c = value_compare(h->type, h->row, (size_t)a, (size_t)b, NAN_LOW);
  return c > 0 || (c == 0 && a < b);
}

static void topk_sift_down(topk_heap *h, int32_t pos, int32_t size) {
  for (;;) {
    int32_t worst = pos;
    const int32_t l = 2 * pos + 1, r = l + 1;
    if (l < size && topk_before(h, h->idx[worst], h->idx[l])) worst = l;
    if (r < size && topk_before(h, h->idx[worst], h->idx[r])) worst = r;
    if (worst == pos) return;
    const int32_t t = h->idx[pos];
    h->idx[pos] = h->idx[worst];
    h->idx[worst] = t;
    pos = worst;
  }
}

/* Leaves the k best indices of a row of n in h->idx[0..k), best first. */
static void topk_select(topk_heap *h, int32_t n, int32_t k) {
  for (int32_t i = 0; i < k; i++) h->idx[i] = i;
  for (int32_t i = k / 2 - 1; i >= 0; i--) topk_sift_down(h, i, k);
  for (int32_t i = k; i < n; i++) {
    if (!topk_before(h, i, h->idx[0])) continue;
    h->idx[0] = i;
    topk_sift_down(h, 0, k);
  }
  for (int32_t end = k - 1; end > 0; end--) { /* the worst goes last */
    const int32_t t = h->idx[0];
    h->idx[0] = h->idx[end];
    h->idx[end] = t;
    topk_sift_down(h, 0, end);
  }
}

static tfl_status topk_eval(tfl_context *ctx, tfl_node *node) {
  const later_data *d = node->user_data;
  tfl_status st = eval_shape_if_later(ctx, node, topk_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const int32_t k = topk_k(tfl_node_input(ctx, node, 1));
  tfl_tensor *values = tfl_node_output(ctx, node, 0);
  tfl_tensor *indices = tfl_node_output(ctx, node, 1);
  const int32_t n = in->dims[in->ndim - 1];
  if (k <= 0 || n == 0) return TFL_OK;
  const size_t rows = tfl_dims_product(in->dims, 0, in->ndim - 1);
  const size_t elem = tfl_type_size(in->type);
  topk_heap h = {in->type, NULL, tfl_context_scratch(ctx, node, d->scratch)};
  for (size_t r = 0; r < rows; r++) {
    const uint8_t *row = (const uint8_t *)in->data + r * (size_t)n * elem;
    uint8_t *vout = (uint8_t *)values->data + r * (size_t)k * elem;
    h.row = row;
    topk_select(&h, n, k);
    for (int32_t j = 0; j < k; j++) {
      memcpy(vout + (size_t)j * elem, row + (size_t)h.idx[j] * elem, elem);
      store_int(indices, r * (size_t)k + (size_t)j, h.idx[j]);
    }
  }
  return TFL_OK;
}

static const tfl_op_registration reg_topk_v2 = {.name = "TOPK_V2",
                                                .builtin_code = TFL_OP_TOPK_V2,
                                                .data_size = sizeof(later_data),
                                                .prepare = topk_prepare,
                                                .eval = topk_eval,
                                                .types = TOPK_TYPES};

/* --- SHAPE, RANK ------------------------------------------------------------------------ */

/* SHAPE and RANK depend only on their input's shape, which is fixed whenever this runs at
 * allocate time (a node with a dynamic input is prepared during invoke instead): compute the
 * output now, so the shape arithmetic that follows folds into constants. */
static tfl_status compute_ahead(tfl_context *ctx, tfl_node *node,
                                tfl_status (*eval)(tfl_context *, tfl_node *)) {
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->alloc == TFL_ALLOC_DYNAMIC) return TFL_OK;
  tfl_status st = tfl_context_set_persistent(ctx, out);
  return st == TFL_OK ? eval(ctx, node) : st;
}

static tfl_status shape_eval(tfl_context *ctx, tfl_node *node);
static tfl_status rank_eval(tfl_context *ctx, tfl_node *node);

static tfl_status shape_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = set_index_output_type(ctx, node, out, 0); /* ShapeOptions.out_type */
  if (st != TFL_OK) return st;
  const int32_t n = tfl_node_input(ctx, node, 0)->ndim;
  st = tfl_context_resize(ctx, out, 1, &n);
  if (st != TFL_OK) return st;
  return compute_ahead(ctx, node, shape_eval);
}

static tfl_status shape_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  for (int i = 0; i < in->ndim; i++) store_int(out, (size_t)i, in->dims[i]);
  return TFL_OK;
}

static const tfl_op_registration reg_shape = {.name = "SHAPE",
                                              .builtin_code = TFL_OP_SHAPE,
                                              .prepare = shape_prepare,
                                              .eval = shape_eval,
                                              .types = TFL_TYPES_INDEX};

static tfl_status rank_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_context_set_type(ctx, out, TFL_INT32);
  if (st == TFL_OK) st = tfl_context_resize(ctx, out, 0, NULL);
  if (st != TFL_OK) return st;
  return compute_ahead(ctx, node, rank_eval);
}

static tfl_status rank_eval(tfl_context *ctx, tfl_node *node) {
  *(int32_t *)tfl_node_output(ctx, node, 0)->data = tfl_node_input(ctx, node, 0)->ndim;
  return TFL_OK;
}

static const tfl_op_registration reg_rank = {.name = "RANK",
                                             .builtin_code = TFL_OP_RANK,
                                             .prepare = rank_prepare,
                                             .eval = rank_eval,
                                             .types = TFL_TYPE_BIT(TFL_INT32)};

/* --- FILL, ZEROS_LIKE ------------------------------------------------------------------- */

static tfl_status fill_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  int64_t req[TFL_MAX_DIMS];
  int32_t dims[TFL_MAX_DIMS];
  int n = 0;
  tfl_status st = tfl_read_index_tensor(ctx, node, tfl_node_input(ctx, node, 0), "dims", req,
                                        TFL_MAX_DIMS, &n);
  if (st != TFL_OK) return st;
  for (int i = 0; i < n; i++) {
    if (req[i] < 0 || req[i] > INT32_MAX)
      return tfl_context_error(ctx, node, "invalid dimension %lld", (long long)req[i]);
    dims[i] = (int32_t)req[i];
  }
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, n, dims);
}

static tfl_status fill_prepare(tfl_context *ctx, tfl_node *node) {
  later_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *dims = tfl_node_input(ctx, node, 0);
  const tfl_tensor *value = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_index_type(ctx, node, dims, "dims");
  if (st != TFL_OK) return st;
  if (dims->ndim != 1) return tfl_context_error(ctx, node, "dims '%s' must be 1-D", dims->name);
  st = check_scalar(ctx, node, value, "value");
  if (st == TFL_OK && value->type != TFL_STRING)
    st = tfl_check_fixed_size(ctx, node, value, "value");
  if (st == TFL_OK) st = tfl_context_set_type(ctx, out, value->type);
  if (st == TFL_OK) st = tfl_check_same_quant(ctx, node, value, out, "FILL");
  if (st != TFL_OK) return st;
  if (value->type == TFL_INT16 && value->quant.count && value->quant.zero_point[0] != 0)
    return tfl_context_error(ctx, node, "int16 value '%s' needs zero point 0", value->name);
  return shape_now_or_later(ctx, node, tfl_tensor_is_constant(dims), fill_shape, &d->at_eval);
}

static tfl_string fill_string(const void *value, size_t i) {
  (void)i;
  return tfl_string_at(value, 0);
}

static tfl_status fill_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = eval_shape_if_later(ctx, node, fill_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *value = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (value->type == TFL_STRING) {
    st = tfl_check_strings(ctx, node, value);
    if (st != TFL_OK) return st;
    return tfl_write_strings(ctx, out, tfl_tensor_count(out), fill_string, value);
  }
  const size_t elem = tfl_type_size(value->type), n = tfl_tensor_count(out);
  uint8_t *dst = out->data;
  for (size_t i = 0; i < n; i++) memcpy(dst + i * elem, value->data, elem);
  return TFL_OK;
}

static const tfl_op_registration reg_fill = {.name = "FILL",
                                             .builtin_code = TFL_OP_FILL,
                                             .data_size = sizeof(later_data),
                                             .prepare = fill_prepare,
                                             .eval = fill_eval,
                                             .types = TFL_TYPES_FIXED_SIZE_OR_STRING};

static tfl_status zeros_like_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!tfl_type_in(in->type, TFL_TYPES_F32_I32_I64))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                            tfl_type_name(in->type), in->name);
  st = tfl_context_set_type(ctx, out, in->type);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status zeros_like_eval(tfl_context *ctx, tfl_node *node) {
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->bytes) memset(out->data, 0, out->bytes);
  return TFL_OK;
}

static const tfl_op_registration reg_zeros_like = {.name = "ZEROS_LIKE",
                                                   .builtin_code = TFL_OP_ZEROS_LIKE,
                                                   .prepare = zeros_like_prepare,
                                                   .eval = zeros_like_eval,
                                                   .types = TFL_TYPES_F32_I32_I64};

/* --- RANGE ------------------------------------------------------------------------------ */

static tfl_status range_direction(tfl_context *ctx, const tfl_node *node, int delta_sign,
                                  int order) {
  if (delta_sign == 0) return tfl_context_error(ctx, node, "delta is 0");
  if ((order >= 0 && delta_sign < 0) || (order <= 0 && delta_sign > 0)) return TFL_OK;
  return tfl_context_error(ctx, node, "delta goes away from the limit");
}

/* TFLite's count: ceil(|limit - start| / |delta|), in float for float32. */
static tfl_status range_count(tfl_context *ctx, const tfl_node *node, int32_t *count) {
  const tfl_tensor *start = tfl_node_input(ctx, node, 0);
  const tfl_tensor *limit = tfl_node_input(ctx, node, 1);
  const tfl_tensor *delta = tfl_node_input(ctx, node, 2);
  double n;
  if (start->type == TFL_FLOAT32) {
    const float s = *(const float *)start->data, l = *(const float *)limit->data,
                dl = *(const float *)delta->data;
    tfl_status st = range_direction(ctx, node, SIGN3(dl, 0.0f), SIGN3(s, l));
    if (st != TFL_OK) return st;
    n = ceilf(fabsf((l - s) / dl));
  } else {
    const int64_t s = tfl_index_at(start, 0), l = tfl_index_at(limit, 0),
                  dl = tfl_index_at(delta, 0);
    tfl_status st = range_direction(ctx, node, SIGN3(dl, 0), SIGN3(s, l));
    if (st != TFL_OK) return st;
    const uint64_t span = s <= l ? (uint64_t)l - (uint64_t)s : (uint64_t)s - (uint64_t)l;
    const uint64_t step = dl < 0 ? 0 - (uint64_t)dl : (uint64_t)dl;
    n = (double)(span / step + (span % step != 0));
  }
  if (!(n <= INT32_MAX))
    return tfl_context_error(ctx, node, "range has too many elements (%g)", n);
  *count = (int32_t)n;
  return TFL_OK;
}

static tfl_status range_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  int32_t n;
  tfl_status st = range_count(ctx, node, &n);
  if (st != TFL_OK) return st;
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, 1, &n);
}

static tfl_status range_prepare(tfl_context *ctx, tfl_node *node) {
  later_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 3, 3, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in[3];
  static const char *const what[3] = {"start", "limit", "delta"};
  const tfl_type type = tfl_node_input(ctx, node, 0)->type;
  if (!tfl_type_in(type, TFL_TYPES_F32_I32_I64))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s inputs are not supported",
                            tfl_type_name(type));
  int all_constant = 1;
  for (int i = 0; i < 3 && st == TFL_OK; i++) {
    in[i] = tfl_node_input(ctx, node, i);
    st = check_scalar(ctx, node, in[i], what[i]);
    if (st == TFL_OK) st = tfl_check_type(ctx, node, in[i], what[i], type);
    all_constant &= tfl_tensor_is_constant(in[i]);
  }
  if (st == TFL_OK) st = tfl_context_set_type(ctx, tfl_node_output(ctx, node, 0), type);
  if (st != TFL_OK) return st;
  return shape_now_or_later(ctx, node, all_constant, range_shape, &d->at_eval);
}

static tfl_status range_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = eval_shape_if_later(ctx, node, range_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *start = tfl_node_input(ctx, node, 0);
  const tfl_tensor *delta = tfl_node_input(ctx, node, 2);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const size_t n = tfl_tensor_count(out);
  if (out->type == TFL_FLOAT32) {
    float v = *(const float *)start->data;
    const float dl = *(const float *)delta->data;
    for (size_t i = 0; i < n; i++, v += dl) ((float *)out->data)[i] = v;
    return TFL_OK;
  }
  /* Wrapping addition, as TFLite's compiled kernel. */
  uint64_t v = (uint64_t)tfl_index_at(start, 0);
  const uint64_t dl = (uint64_t)tfl_index_at(delta, 0);
  for (size_t i = 0; i < n; i++, v += dl) store_int(out, i, (int64_t)v);
  return TFL_OK;
}

static const tfl_op_registration reg_range = {.name = "RANGE",
                                              .builtin_code = TFL_OP_RANGE,
                                              .data_size = sizeof(later_data),
                                              .prepare = range_prepare,
                                              .eval = range_eval,
                                              .types = TFL_TYPES_F32_I32_I64};

/* --- ONE_HOT ---------------------------------------------------------------------------- */

#define ONE_HOT_TYPES (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT | TFL_TYPE_BIT(TFL_BOOL))

/* OneHotOptions.axis (field 0): -1 is after the indices' last dimension. */
static int one_hot_axis(const tfl_node *node, const tfl_tensor *indices) {
  const int32_t axis = tfl_opt_int(node, 0, -1);
  return axis == -1 ? indices->ndim : (int)axis;
}

static tfl_status one_hot_shape(tfl_context *ctx, const tfl_node *node, int at_eval) {
  const tfl_tensor *indices = tfl_node_input(ctx, node, 0);
  const int64_t depth = tfl_index_at(tfl_node_input(ctx, node, 1), 0);
  if (depth < 0 || depth > INT32_MAX)
    return tfl_context_error(ctx, node, "depth %lld is invalid", (long long)depth);
  const int axis = one_hot_axis(node, indices);
  int32_t dims[TFL_MAX_DIMS];
  for (int i = 0, j = 0; i <= indices->ndim; i++)
    dims[i] = i == axis ? (int32_t)depth : indices->dims[j++];
  return resize_output(ctx, tfl_node_output(ctx, node, 0), at_eval, indices->ndim + 1, dims);
}

static tfl_status one_hot_prepare(tfl_context *ctx, tfl_node *node) {
  later_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 4, 4, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *indices = tfl_node_input(ctx, node, 0);
  const tfl_tensor *depth = tfl_node_input(ctx, node, 1);
  const tfl_tensor *on = tfl_node_input(ctx, node, 2);
  const tfl_tensor *off = tfl_node_input(ctx, node, 3);
  if (!tfl_type_in(on->type, ONE_HOT_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s values are not supported",
                            tfl_type_name(on->type));
  st = tfl_check_index_type(ctx, node, indices, "indices");
  if (st == TFL_OK) st = tfl_check_index_type(ctx, node, depth, "depth");
  if (st == TFL_OK) st = check_single(ctx, node, depth, "depth");
  if (st == TFL_OK) st = check_single(ctx, node, on, "on_value");
  if (st == TFL_OK) st = check_single(ctx, node, off, "off_value");
  if (st == TFL_OK) st = tfl_check_type(ctx, node, off, "off_value", on->type);
  if (st == TFL_OK) st = tfl_context_set_type(ctx, tfl_node_output(ctx, node, 0), on->type);
  if (st != TFL_OK) return st;
  const int axis = one_hot_axis(node, indices);
  if (indices->ndim + 1 > TFL_MAX_DIMS)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "output would have %d dimensions",
                            indices->ndim + 1);
  if (axis < 0 || axis > indices->ndim)
    return tfl_context_error(ctx, node, "axis %d is out of range for %d-D indices", axis,
                             indices->ndim);
  return shape_now_or_later(ctx, node, tfl_tensor_is_constant(depth), one_hot_shape,
                            &d->at_eval);
}

static tfl_status one_hot_eval(tfl_context *ctx, tfl_node *node) {
  tfl_status st = eval_shape_if_later(ctx, node, one_hot_shape);
  if (st != TFL_OK) return st;
  const tfl_tensor *indices = tfl_node_input(ctx, node, 0);
  const tfl_tensor *on = tfl_node_input(ctx, node, 2);
  const tfl_tensor *off = tfl_node_input(ctx, node, 3);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int axis = one_hot_axis(node, indices);
  const size_t prefix = tfl_dims_product(indices->dims, 0, axis);
  const size_t suffix = tfl_dims_product(indices->dims, axis, indices->ndim);
  const int64_t depth = out->dims[axis];
  const size_t elem = tfl_type_size(on->type);
  uint8_t *dst = out->data;
  for (size_t i = 0; i < prefix; i++)
    for (int64_t j = 0; j < depth; j++)
      for (size_t k = 0; k < suffix; k++, dst += elem) {
        const int32_t index = (int32_t)tfl_index_at(indices, i * suffix + k);
        memcpy(dst, index == j ? on->data : off->data, elem);
      }
  return TFL_OK;
}

static const tfl_op_registration reg_one_hot = {.name = "ONE_HOT",
                                                .builtin_code = TFL_OP_ONE_HOT,
                                                .data_size = sizeof(later_data),
                                                .prepare = one_hot_prepare,
                                                .eval = one_hot_eval,
                                                .types = ONE_HOT_TYPES};

/* --- REVERSE_V2 ------------------------------------------------------------------------- */

#define REVERSE_TYPES                                                      \
  (TFL_TYPES_F32_I32_I64 | TFL_TYPES_QUANT | TFL_TYPE_BIT(TFL_BOOL) |      \
   TFL_TYPE_BIT(TFL_FLOAT16) | TFL_TYPE_BIT(TFL_BFLOAT16))

static tfl_status reverse_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!tfl_type_in(in->type, REVERSE_TYPES))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                            tfl_type_name(in->type), in->name);
  st = tfl_check_type(ctx, node, axis, "axis", TFL_INT32);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", in->type);
  if (st != TFL_OK) return st;
  if (axis->ndim != 1 || (size_t)in->ndim < tfl_tensor_count(axis))
    return tfl_context_error(ctx, node, "axis '%s' must be a vector of at most %d axes",
                             axis->name, in->ndim);
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

/* The reversed axes as one range [*lo, *hi]; TFLite supports only contiguous sets. */
static tfl_status reverse_axes(tfl_context *ctx, const tfl_node *node, int rank, int *lo,
                               int *hi) {
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  const int n = (int)tfl_tensor_count(axis);
  int seen[TFL_MAX_DIMS] = {0};
  *lo = rank;
  *hi = -1;
  for (int i = 0; i < n; i++) {
    const int32_t v = ((const int32_t *)axis->data)[i];
    int a;
    if (!tfl_axis_normalize(v, rank, &a))
      return tfl_context_error(ctx, node, "axis %d is out of range for rank %d", (int)v, rank);
    if (seen[a]++) return tfl_context_error(ctx, node, "axis %d appears twice", a);
    *lo = a < *lo ? a : *lo;
    *hi = a > *hi ? a : *hi;
  }
  if (*hi - *lo + 1 != n && n > 0)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "non-contiguous axes are not supported");
  return TFL_OK;
}

static tfl_status reverse_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  int lo, hi;
  tfl_status st = reverse_axes(ctx, node, in->ndim, &lo, &hi);
  if (st != TFL_OK) return st;
  if (hi < 0) return tfl_copy_input_to_output(ctx, node);
  /* Reversing contiguous axes together is reversing their flattened product. */
  const size_t outer = tfl_dims_product(in->dims, 0, lo);
  const size_t middle = tfl_dims_product(in->dims, lo, hi + 1);
  const size_t block = tfl_dims_product(in->dims, hi + 1, in->ndim) * tfl_type_size(in->type);
  const uint8_t *src = in->data;
  uint8_t *dst = out->data;
  for (size_t o = 0; o < outer; o++)
    for (size_t m = 0; m < middle; m++)
      memcpy(dst + (o * middle + (middle - 1 - m)) * block, src + (o * middle + m) * block,
             block);
  return TFL_OK;
}

static const tfl_op_registration reg_reverse_v2 = {.name = "REVERSE_V2",
                                                   .builtin_code = TFL_OP_REVERSE_V2,
                                                   .prepare = reverse_prepare,
                                                   .eval = reverse_eval,
                                                   .types = REVERSE_TYPES};

/* --- CUMSUM ----------------------------------------------------------------------------- */

typedef struct cumsum_data {
  int exclusive, reverse; /* CumsumOptions fields 0 and 1 */
} cumsum_data;

/* The running sum along `n` elements `stride` apart, from the end when reverse; the sum
 * starts at 0 and excludes the current element when exclusive. ADD wraps for integers. */
#define CUMSUM_LINE(name, T, ADD)                                                           \
  static void name(const void *in_, void *out_, size_t n, size_t stride,                   \
                   const cumsum_data *d) {                                                 \
    const T *in = in_;                                                                     \
    T *out = out_;                                                                         \
    T acc = 0;                                                                             \
    for (size_t i = 0; i < n; i++) {                                                       \
      const size_t at = (d->reverse ? n - 1 - i : i) * stride;                              \
      if (d->exclusive) out[at] = acc;                                                     \
      acc = ADD(acc, in[at]);                                                              \
      if (!d->exclusive) out[at] = acc;                                                    \
    }                                                                                      \
  }

#define PLAIN_ADD(a, b) ((a) + (b))
#define WRAP_ADD32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define WRAP_ADD64(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))

CUMSUM_LINE(cumsum_f32, float, PLAIN_ADD)
CUMSUM_LINE(cumsum_i32, int32_t, WRAP_ADD32)
CUMSUM_LINE(cumsum_i64, int64_t, WRAP_ADD64)

static tfl_status cumsum_prepare(tfl_context *ctx, tfl_node *node) {
  cumsum_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  const tfl_tensor *axis = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (!tfl_type_in(in->type, TFL_TYPES_F32_I32_I64))
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s input '%s' is not supported",
                            tfl_type_name(in->type), in->name);
  if (in->ndim < 1) return tfl_context_error(ctx, node, "input '%s' is a scalar", in->name);
  st = tfl_check_type(ctx, node, axis, "axis", TFL_INT32);
  if (st == TFL_OK) st = check_single(ctx, node, axis, "axis");
  if (st == TFL_OK) st = tfl_context_set_type(ctx, out, in->type);
  if (st != TFL_OK) return st;
  d->exclusive = tfl_opt_bool(node, 0, 0);
  d->reverse = tfl_opt_bool(node, 1, 0);
  return tfl_context_resize(ctx, out, in->ndim, in->dims);
}

static tfl_status cumsum_eval(tfl_context *ctx, tfl_node *node) {
  const cumsum_data *d = node->user_data;
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int32_t v = *(const int32_t *)tfl_node_input(ctx, node, 1)->data;
  int axis;
  if (!tfl_axis_normalize(v, in->ndim, &axis))
    return tfl_context_error(ctx, node, "axis %d is out of range for a %d-D input", (int)v,
                             in->ndim);
  void (*line)(const void *, void *, size_t, size_t, const cumsum_data *) =
      in->type == TFL_FLOAT32 ? cumsum_f32 : in->type == TFL_INT32 ? cumsum_i32 : cumsum_i64;
  const size_t outer = tfl_dims_product(in->dims, 0, axis);
  const size_t n = (size_t)in->dims[axis];
  const size_t inner = tfl_dims_product(in->dims, axis + 1, in->ndim);
  const size_t elem = tfl_type_size(in->type);
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      const size_t at = (o * n * inner + i) * elem;
      line((const uint8_t *)in->data + at, (uint8_t *)out->data + at, n, inner, d);
    }
  return TFL_OK;
}

static const tfl_op_registration reg_cumsum = {.name = "CUMSUM",
                                               .builtin_code = TFL_OP_CUMSUM,
                                               .data_size = sizeof(cumsum_data),
                                               .prepare = cumsum_prepare,
                                               .eval = cumsum_eval,
                                               .types = TFL_TYPES_F32_I32_I64};

/* --- BROADCAST_ARGS --------------------------------------------------------------------- */

static tfl_status broadcast_args_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  const tfl_tensor *a = tfl_node_input(ctx, node, 0);
  const tfl_tensor *b = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  st = tfl_check_index_type(ctx, node, a, "shape");
  if (st == TFL_OK) st = tfl_check_type(ctx, node, b, "shape", a->type);
  if (st == TFL_OK) st = tfl_check_type(ctx, node, out, "output", a->type);
  if (st != TFL_OK) return st;
  if (a->ndim != 1 || b->ndim != 1)
    return tfl_context_error(ctx, node, "shapes '%s' and '%s' must be 1-D", a->name, b->name);
  const int32_t n = a->dims[0] > b->dims[0] ? a->dims[0] : b->dims[0];
  return tfl_context_resize(ctx, out, 1, &n);
}

static tfl_status broadcast_args_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *a = tfl_node_input(ctx, node, 0);
  const tfl_tensor *b = tfl_node_input(ctx, node, 1);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  const int32_t n = out->dims[0], na = a->dims[0], nb = b->dims[0];
  /* Shapes are aligned at their last dimension; a missing dimension counts as 1. */
  for (int32_t i = 1; i <= n; i++) {
    const int64_t da = i <= na ? tfl_index_at(a, (size_t)(na - i)) : 1;
    const int64_t db = i <= nb ? tfl_index_at(b, (size_t)(nb - i)) : 1;
    if (da != db && da != 1 && db != 1)
      return tfl_context_error(ctx, node, "dimensions %lld and %lld are not broadcastable",
                               (long long)da, (long long)db);
    store_int(out, (size_t)(n - i), da == 1 ? db : da);
  }
  return TFL_OK;
}

static const tfl_op_registration reg_broadcast_args = {.name = "BROADCAST_ARGS",
                                                       .builtin_code = TFL_OP_BROADCAST_ARGS,
                                                       .prepare = broadcast_args_prepare,
                                                       .eval = broadcast_args_eval,
                                                       .types = TFL_TYPES_INDEX};

const tfl_op_registration *const tfl_kernels_index[] = {
    &reg_arg_max, &reg_arg_min, &reg_topk_v2,  &reg_shape,   &reg_rank,
    &reg_fill,    &reg_zeros_like, &reg_range, &reg_one_hot, &reg_reverse_v2,
    &reg_cumsum,  &reg_broadcast_args, NULL};
