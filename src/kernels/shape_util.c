#include "kernels/shape_util.h"

#include <string.h>

int tfl_axis_normalize(int64_t axis, int rank, int *out) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return 0;
  *out = (int)axis;
  return 1;
}

int tfl_is_index_type(tfl_type type) { return type == TFL_INT32 || type == TFL_INT64; }

tfl_status tfl_check_index_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                const char *what) {
  if (tfl_is_index_type(t->type)) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "%s '%s' has type %s, expected int32 or int64", what, t->name,
                          tfl_type_name(t->type));
}

int64_t tfl_index_at(const tfl_tensor *t, size_t i) {
  if (t->type == TFL_INT64) return ((const int64_t *)t->data)[i];
  return ((const int32_t *)t->data)[i];
}

tfl_status tfl_read_index_tensor(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                 const char *what, int64_t *out, int max, int *n) {
  tfl_status st = tfl_check_index_type(ctx, node, t, what);
  if (st != TFL_OK) return st;
  size_t count = tfl_tensor_count(t);
  if (count > (size_t)max)
    return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                            "%s '%s' has %zu elements, at most %d supported", what, t->name, count,
                            max);
  if (count > 0 && !t->data)
    return tfl_context_error(ctx, node, "%s '%s' has no data", what, t->name);
  for (size_t i = 0; i < count; i++) out[i] = tfl_index_at(t, i);
  *n = (int)count;
  return TFL_OK;
}

size_t tfl_dims_product(const int32_t *dims, int from, int to) {
  size_t n = 1;
  for (int i = from; i < to; i++) n *= (size_t)dims[i];
  return n;
}

int tfl_shape_count_checked(int ndim, const int32_t *dims, int64_t *count) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0) return 0;
    if (dims[i] != 0 && n > INT64_MAX / dims[i]) return 0;
    n *= dims[i];
  }
  *count = n;
  return 1;
}

tfl_status tfl_check_fixed_size(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                                const char *what) {
  if (t->type != TFL_STRING && tfl_type_size(t->type) > 0) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s '%s' has unsupported type %s", what,
                          t->name, tfl_type_name(t->type));
}

void tfl_quant_params(const tfl_tensor *t, float *scale, int32_t *zero_point) {
  int per_tensor = t->quant.count == 1 && t->quant.scale && t->quant.zero_point;
  *scale = per_tensor ? t->quant.scale[0] : 0.0f;
  *zero_point = per_tensor ? t->quant.zero_point[0] : 0;
}

int tfl_same_quant_params(const tfl_tensor *a, const tfl_tensor *b) {
  float sa, sb;
  int32_t za, zb;
  tfl_quant_params(a, &sa, &za);
  tfl_quant_params(b, &sb, &zb);
  return sa == sb && za == zb;
}

tfl_status tfl_check_same_quant(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                                const tfl_tensor *b, const char *what) {
  if (tfl_same_quant_params(a, b)) return TFL_OK;
  float sa, sb;
  int32_t za, zb;
  tfl_quant_params(a, &sa, &za);
  tfl_quant_params(b, &sb, &zb);
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED,
                          "%s: quantization of '%s' (scale %g, zero point %d) differs from '%s' "
                          "(scale %g, zero point %d)",
                          what, a->name, (double)sa, (int)za, b->name, (double)sb, (int)zb);
}

tfl_status tfl_copy_input_to_output(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->bytes != in->bytes)
    return tfl_context_error(ctx, node, "output holds %zu bytes, input %zu", out->bytes, in->bytes);
  if (in->bytes && out->data != in->data) memcpy(out->data, in->data, in->bytes);
  return TFL_OK;
}
