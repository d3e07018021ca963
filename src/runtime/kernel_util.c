/* Helpers shared by builtin kernels: option access, activations, common checks. */
#include <math.h>
#include <string.h>

#include "format/flatbuf.h"
#include "format/tflite_schema.h"
#include "format/verify.h"
#include "model/model.h"
#include "model/ops.h"
#include "runtime/interpreter.h"
#include "runtime/kernel.h"

static const tfl_model_op *model_op(const tfl_node *node) {
  return (const tfl_model_op *)node->builtin_options;
}

/* Options are read through the schema's description of the table the file actually holds,
 * so each field is read at its declared width (many are single bytes) and a model that pairs
 * an op with the wrong options table still reads only verified bytes. */
typedef struct opts_view {
  fb_table table;
  const fb_table_desc *desc;
} opts_view;

static opts_view view(const tfl_node *node, int set) {
  const tfl_model_op *op = model_op(node);
  opts_view v = {{NULL, 0}, NULL};
  if (!op) return v;
  v.table = set == 1 ? op->builtin_options : op->builtin_options2;
  v.desc = tflite_options_desc(set, set == 1 ? op->builtin_options_type : op->builtin_options2_type);
  if (!v.desc) v.table.buf = NULL;
  return v;
}

int tfl_opt_type(const tfl_node *node) {
  const tfl_model_op *op = model_op(node);
  return op ? op->builtin_options_type : 0;
}

int32_t tfl_opt_int(const tfl_node *node, int field, int32_t def) {
  opts_view v = view(node, 1);
  return (int32_t)fb_desc_int(v.table, v.desc, field, def);
}

int64_t tfl_opt_int64(const tfl_node *node, int field, int64_t def) {
  opts_view v = view(node, 1);
  return fb_desc_int(v.table, v.desc, field, def);
}

float tfl_opt_float(const tfl_node *node, int field, float def) {
  opts_view v = view(node, 1);
  return (float)fb_desc_float(v.table, v.desc, field, def);
}

int tfl_opt_bool(const tfl_node *node, int field, int def) {
  opts_view v = view(node, 1);
  return fb_desc_int(v.table, v.desc, field, def) != 0;
}

const char *tfl_opt_string(const tfl_node *node, int field) {
  opts_view v = view(node, 1);
  if (!v.desc || fb_desc_kind(v.desc, field) != 's') return NULL;
  return fb_string(v.table, field, NULL);
}

int tfl_opt_ivec_len(const tfl_node *node, int field) {
  opts_view v = view(node, 1);
  return (int)fb_desc_vec(v.table, v.desc, field, 4).len;
}

int32_t tfl_opt_ivec_at(const tfl_node *node, int field, int i) {
  opts_view v = view(node, 1);
  fb_vector vec = fb_desc_vec(v.table, v.desc, field, 4);
  if (i < 0 || (uint32_t)i >= vec.len) return 0;
  return fb_vec_i32(vec, (uint32_t)i);
}

int tfl_opt2_type(const tfl_node *node) {
  const tfl_model_op *op = model_op(node);
  return op ? op->builtin_options2_type : 0;
}

int32_t tfl_opt2_int(const tfl_node *node, int field, int32_t def) {
  opts_view v = view(node, 2);
  return (int32_t)fb_desc_int(v.table, v.desc, field, def);
}

float tfl_opt2_float(const tfl_node *node, int field, float def) {
  opts_view v = view(node, 2);
  return (float)fb_desc_float(v.table, v.desc, field, def);
}

int tfl_opt2_bool(const tfl_node *node, int field, int def) {
  opts_view v = view(node, 2);
  return fb_desc_int(v.table, v.desc, field, def) != 0;
}

tfl_status tfl_activation_range_f32(int act, float *lo, float *hi) {
  switch (act) {
    case TFL_ACT_NONE:
      *lo = -INFINITY;
      *hi = INFINITY;
      return TFL_OK;
    case TFL_ACT_RELU:
      *lo = 0.0f;
      *hi = INFINITY;
      return TFL_OK;
    case TFL_ACT_RELU_N1_TO_1:
      *lo = -1.0f;
      *hi = 1.0f;
      return TFL_OK;
    case TFL_ACT_RELU6:
      *lo = 0.0f;
      *hi = 6.0f;
      return TFL_OK;
    default:
      return TFL_UNSUPPORTED;
  }
}

void tfl_activation_apply_f32(int act, float *x, size_t n) {
  float lo, hi;
  if (act == TFL_ACT_NONE) return;
  if (act == TFL_ACT_TANH) {
    for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
    return;
  }
  if (act == TFL_ACT_SIGN_BIT) {
    for (size_t i = 0; i < n; i++) x[i] = signbit(x[i]) ? 1.0f : 0.0f;
    return;
  }
  if (tfl_activation_range_f32(act, &lo, &hi) != TFL_OK) return;
  /* Written with comparisons so that NaN passes through, as in TFLite. */
  for (size_t i = 0; i < n; i++) x[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

tfl_status tfl_check_activation(tfl_context *ctx, const tfl_node *node, int act) {
  if (act >= TFL_ACT_NONE && act <= TFL_ACT_SIGN_BIT) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "unknown fused activation %d", act);
}

tfl_status tfl_check_io(tfl_context *ctx, const tfl_node *node, int min_in, int max_in,
                        int n_out) {
  if (node->num_inputs < min_in || node->num_inputs > max_in) {
    if (min_in == max_in)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d inputs, has %d", min_in,
                              node->num_inputs);
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d to %d inputs, has %d",
                            min_in, max_in, node->num_inputs);
  }
  if (node->num_outputs != n_out)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "expects %d outputs, has %d", n_out,
                            node->num_outputs);
  for (int i = 0; i < min_in; i++)
    if (!tfl_node_input(ctx, node, i))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "required input %d is missing", i);
  for (int i = 0; i < n_out; i++)
    if (!tfl_node_output(ctx, node, i))
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output %d is missing", i);
  return TFL_OK;
}

tfl_status tfl_check_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                          const char *what, tfl_type expected) {
  if (t->type == expected) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "%s '%s' has type %s, expected %s", what,
                          t->name, tfl_type_name(t->type), tfl_type_name(expected));
}

int tfl_same_shape(const tfl_tensor *a, const tfl_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  return memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof(a->dims[0])) == 0;
}

size_t tfl_shape_count(int ndim, const int32_t *dims) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  return n;
}

size_t tfl_tensor_count(const tfl_tensor *t) { return tfl_shape_count(t->ndim, t->dims); }

tfl_quant_details tfl_tensor_quant_details(tfl_context *ctx, const tfl_tensor *t) {
  tfl_quant_details q = {TFL_QDETAILS_NONE, 0, -1, -1, 0};
  if (!t || t->index < 0 || t->index >= ctx->n_tensors || &ctx->tensors[t->index] != t)
    return q;
  const tfl_model_tensor *mt = &ctx->msg->tensors[t->index];
  q.type = mt->quant_details_type;
  q.present = fb_table_present(mt->quant_details);
  if (!q.present || q.type == TFL_QDETAILS_CUSTOM) return q;
  q.scales = fb_i32(mt->quant_details, TFLITE_QDETAILS_SCALES, 0);
  q.zero_points = fb_i32(mt->quant_details, TFLITE_QDETAILS_ZERO_POINTS, 0);
  q.block_size = fb_i32(mt->quant_details, TFLITE_QDETAILS_BLOCK, 0);
  return q;
}
