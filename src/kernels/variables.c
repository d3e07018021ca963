/* Resource variables: VAR_HANDLE names a variable, READ_VARIABLE and ASSIGN_VARIABLE use it.
 * Variables live in the interpreter, shared by all subgraphs, and persist across invokes. */
#include <string.h>

#include "kernels/families.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"

typedef struct var_handle_data {
  int32_t id;
} var_handle_data;

static tfl_status var_handle_prepare(tfl_context *ctx, tfl_node *node) {
  var_handle_data *d = node->user_data;
  tfl_status st = tfl_check_io(ctx, node, 0, 0, 1);
  if (st != TFL_OK) return st;
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->type != TFL_RESOURCE && out->type != TFL_INT32)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "output must be a resource, not %s",
                            tfl_type_name(out->type));
  st = tfl_context_resource(ctx, tfl_opt_string(node, 0), tfl_opt_string(node, 1), &d->id);
  if (st != TFL_OK) return st;
  const int32_t one = 1;
  return tfl_context_resize(ctx, out, 1, &one);
}

static tfl_status var_handle_eval(tfl_context *ctx, tfl_node *node) {
  const var_handle_data *d = node->user_data;
  memcpy(tfl_node_output(ctx, node, 0)->data, &d->id, sizeof(d->id));
  return TFL_OK;
}

/* The variable a resource tensor names (its int32 id), or NULL after reporting why. */
static tfl_tensor *variable_of(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *handle = tfl_node_input(ctx, node, 0);
  int32_t id;
  memcpy(&id, handle->data, sizeof(id));
  tfl_tensor *v = tfl_context_resource_tensor(ctx, id);
  if (!v) tfl_context_error(ctx, node, "unknown resource variable %d", (int)id);
  return v;
}

static tfl_status check_handle(tfl_context *ctx, const tfl_node *node) {
  const tfl_tensor *handle = tfl_node_input(ctx, node, 0);
  if (handle->type != TFL_RESOURCE && handle->type != TFL_INT32)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "input 0 must be a resource");
  if (handle->bytes < sizeof(int32_t))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "the resource handle is empty");
  return TFL_OK;
}

/* Variables are sized by element count, so their values need a fixed element size. */
static tfl_status check_value_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t) {
  if (t->type != TFL_STRING && tfl_type_size(t->type) > 0) return TFL_OK;
  return tfl_context_fail(ctx, node, TFL_UNSUPPORTED, "variables of type %s are not supported",
                          tfl_type_name(t->type));
}

static tfl_status read_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 1, 1, 1);
  if (st == TFL_OK) st = check_handle(ctx, node);
  if (st == TFL_OK) st = check_value_type(ctx, node, tfl_node_output(ctx, node, 0));
  /* The variable's shape is whatever was last assigned: known only when running. */
  return st == TFL_OK ? tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, 0)) : st;
}

static tfl_status read_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *v = variable_of(ctx, node);
  if (!v) return TFL_ERROR;
  if (v->ndim < 0) return tfl_context_error(ctx, node, "variable '%s' is read before it is assigned", v->name);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  if (out->type != v->type)
    return tfl_context_error(ctx, node, "variable '%s' holds %s, the output is %s", v->name,
                             tfl_type_name(v->type), tfl_type_name(out->type));
  tfl_status st = tfl_context_resize_dynamic(ctx, out, v->ndim, v->dims);
  if (st == TFL_OK && v->bytes) memcpy(out->data, v->data, v->bytes);
  return st;
}

static tfl_status assign_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 0);
  if (st == TFL_OK) st = check_value_type(ctx, node, tfl_node_input(ctx, node, 1));
  return st == TFL_OK ? check_handle(ctx, node) : st;
}

static tfl_status assign_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *handle = tfl_node_input(ctx, node, 0);
  int32_t id;
  memcpy(&id, handle->data, sizeof(id));
  const tfl_tensor *value = tfl_node_input(ctx, node, 1);
  const tfl_tensor *v = tfl_context_resource_tensor(ctx, id);
  if (!v) return tfl_context_error(ctx, node, "unknown resource variable %d", (int)id);
  if (v->ndim >= 0 && v->type != value->type)
    return tfl_context_error(ctx, node, "variable '%s' holds %s, cannot assign %s", v->name,
                             tfl_type_name(v->type), tfl_type_name(value->type));
  return tfl_context_resource_assign(ctx, id, value);
}

static const tfl_op_registration var_handle_op = {
    .name = "VAR_HANDLE", .builtin_code = TFL_OP_VAR_HANDLE, .data_size = sizeof(var_handle_data),
    .prepare = var_handle_prepare, .eval = var_handle_eval, .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPE_BIT(TFL_RESOURCE) | TFL_TYPE_BIT(TFL_INT32)};
static const tfl_op_registration read_op = {
    .name = "READ_VARIABLE", .builtin_code = TFL_OP_READ_VARIABLE, .prepare = read_prepare,
    .eval = read_eval, .flags = TFL_OP_STATEFUL, .types = TFL_TYPES_FIXED_SIZE};
static const tfl_op_registration assign_op = {
    .name = "ASSIGN_VARIABLE", .builtin_code = TFL_OP_ASSIGN_VARIABLE, .prepare = assign_prepare,
    .eval = assign_eval, .flags = TFL_OP_STATEFUL, .types = TFL_TYPES_FIXED_SIZE};

const tfl_op_registration *const tfl_kernels_variables[] = {&var_handle_op, &read_op, &assign_op,
                                                             NULL};
