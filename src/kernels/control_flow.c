/* Control flow: IF, WHILE and CALL_ONCE run other subgraphs of the model. Values cross
 * subgraph boundaries by copy; a subgraph is re-prepared only when the shapes it receives
 * change, so a loop whose shapes are stable allocates nothing while it runs (except for
 * string values, which are dynamic tensors sized by their contents). */
#include <string.h>

#include "kernels/families.h"
#include "kernels/type_sets.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

/* Bounds the per-node arrays of subgraph arguments kept on the stack. */
#define TFL_MAX_SUBGRAPH_ARGS 64

/* Copies src into dst, resizing dst first when it is dynamic and its shape differs. */
static tfl_status copy_value(tfl_context *ctx, const tfl_node *node, tfl_tensor *dst,
                             const tfl_tensor *src) {
  if (dst->type != src->type)
    return tfl_context_error(ctx, node, "type mismatch: %s value for a %s tensor",
                             tfl_type_name(src->type), tfl_type_name(dst->type));
  if (!tfl_same_shape(dst, src) || (!dst->data && src->bytes)) {
    tfl_status st = tfl_context_resize_dynamic(ctx, dst, src->ndim, src->dims);
    if (st != TFL_OK) return st;
  }
  if (src->type == TFL_STRING) return tfl_copy_strings(ctx, dst, src);
  if (dst->bytes != src->bytes)
    return tfl_context_error(ctx, node, "size mismatch copying '%s' into '%s'", src->name,
                             dst->name);
  if (src->bytes && dst->data != src->data) memmove(dst->data, src->data, src->bytes);
  return TFL_OK;
}

/* Makes subgraph sg's inputs take the shapes of `values` (count n), re-preparing it only if
 * one changed or it was never prepared. */
static tfl_status bind_inputs(tfl_context *ctx, const tfl_node *node, tfl_context *sg,
                              tfl_tensor *const *values, int n, int *prepared) {
  int changed = !*prepared;
  for (int i = 0; i < n; i++) {
    tfl_tensor *in = tfl_subgraph_input(sg, i);
    if (in->type != values[i]->type)
      return tfl_context_error(ctx, node, "subgraph input %d is %s but receives %s", i,
                               tfl_type_name(in->type), tfl_type_name(values[i]->type));
    if (tfl_same_shape(in, values[i])) continue;
    tfl_status st = tfl_subgraph_resize_input(sg, i, values[i]->ndim, values[i]->dims);
    if (st != TFL_OK) return st;
    changed = 1;
  }
  if (!changed) return TFL_OK;
  tfl_status st = tfl_subgraph_prepare(sg);
  *prepared = st == TFL_OK;
  return st;
}

static tfl_status feed(tfl_context *ctx, const tfl_node *node, tfl_context *sg,
                       tfl_tensor *const *values, int n) {
  for (int i = 0; i < n; i++) {
    tfl_status st = copy_value(ctx, node, tfl_subgraph_input(sg, i), values[i]);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static tfl_context *subgraph_option(tfl_context *ctx, const tfl_node *node, int field,
                                    const char *what) {
  int index = tfl_opt_int(node, field, -1);
  tfl_context *sg = tfl_context_subgraph(ctx, index);
  if (!sg) tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "%s subgraph %d does not exist", what, index);
  return sg;
}

/* Outputs take the subgraph outputs' shapes when known now, else become dynamic. */
static tfl_status shape_outputs(tfl_context *ctx, const tfl_node *node, tfl_context *sg,
                                int dynamic) {
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    const tfl_tensor *src = tfl_subgraph_output(sg, i);
    tfl_status st = tfl_context_set_type(ctx, out, src->type);
    if (st == TFL_OK)
      st = dynamic || src->alloc == TFL_ALLOC_DYNAMIC ? tfl_context_set_dynamic(ctx, out)
                                                       : tfl_context_resize(ctx, out, src->ndim, src->dims);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Runs sg on the node's inputs from `first` on and copies its outputs to the node's outputs. */
static tfl_status call_subgraph(tfl_context *ctx, const tfl_node *node, tfl_context *sg, int first) {
  tfl_tensor *args[TFL_MAX_SUBGRAPH_ARGS];
  int n_args = node->num_inputs - first;
  for (int i = 0; i < n_args; i++) args[i] = tfl_node_input(ctx, node, i + first);
  tfl_status st = feed(ctx, node, sg, args, n_args);
  if (st == TFL_OK) st = tfl_subgraph_run(sg);
  for (int i = 0; i < node->num_outputs && st == TFL_OK; i++)
    st = copy_value(ctx, node, tfl_node_output(ctx, node, i), tfl_subgraph_output(sg, i));
  return st;
}

/* Checks that sg takes the node's inputs from `first` on and gives its outputs, binds their
 * shapes and prepares sg. */
static tfl_status bind_call(tfl_context *ctx, const tfl_node *node, tfl_context *sg, int first,
                            int *prepared) {
  int n_args = node->num_inputs - first;
  tfl_tensor *args[TFL_MAX_SUBGRAPH_ARGS];
  if (n_args > TFL_MAX_SUBGRAPH_ARGS)
    return tfl_context_error(ctx, node, "%d arguments (at most %d)", n_args, TFL_MAX_SUBGRAPH_ARGS);
  for (int i = 0; i < n_args; i++) {
    args[i] = tfl_node_input(ctx, node, i + first);
    if (!args[i]) return tfl_context_error(ctx, node, "argument %d is missing", i);
  }
  if (tfl_subgraph_input_count(sg) != n_args || tfl_subgraph_output_count(sg) != node->num_outputs)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the subgraph takes %d inputs and gives %d outputs; the node has "
                            "%d arguments and %d outputs",
                            tfl_subgraph_input_count(sg), tfl_subgraph_output_count(sg), n_args,
                            node->num_outputs);
  *prepared = 0;
  return bind_inputs(ctx, node, sg, args, n_args, prepared);
}

/* --- IF ------------------------------------------------------------------------------- */

typedef struct if_data {
  tfl_context *branch[2]; /* else, then */
  int prepared[2];
  int dynamic;
} if_data;

static tfl_status if_prepare(tfl_context *ctx, tfl_node *node) {
  if_data *d = node->user_data;
  tfl_tensor *cond = tfl_node_input(ctx, node, 0);
  if (!cond || cond->type != TFL_BOOL || tfl_tensor_count(cond) != 1)
    return tfl_context_error(ctx, node, "the condition must be one bool");
  d->branch[1] = subgraph_option(ctx, node, 0, "then");
  d->branch[0] = subgraph_option(ctx, node, 1, "else");
  if (!d->branch[0] || !d->branch[1]) return TFL_INVALID_MODEL;
  for (int b = 0; b < 2; b++) {
    tfl_status st = bind_call(ctx, node, d->branch[b], 1, &d->prepared[b]);
    if (st != TFL_OK) return st;
  }
  /* Static outputs only when both branches agree on every output shape. */
  d->dynamic = 0;
  for (int i = 0; i < node->num_outputs; i++) {
    const tfl_tensor *a = tfl_subgraph_output(d->branch[0], i), *b = tfl_subgraph_output(d->branch[1], i);
    if (a->type != b->type)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "the branches' output %d types differ", i);
    if (!tfl_same_shape(a, b)) d->dynamic = 1;
  }
  return shape_outputs(ctx, node, d->branch[1], d->dynamic);
}

static tfl_status if_eval(tfl_context *ctx, tfl_node *node) {
  if_data *d = node->user_data;
  const uint8_t *cond = tfl_node_input(ctx, node, 0)->data;
  return call_subgraph(ctx, node, d->branch[cond[0] != 0], 1);
}

/* --- WHILE ---------------------------------------------------------------------------- */

typedef struct while_data {
  tfl_context *cond, *body;
  int cond_prepared, body_prepared;
} while_data;

static tfl_status while_check_arity(tfl_context *ctx, const tfl_node *node, const while_data *d) {
  int n = node->num_inputs;
  if (node->num_outputs != n || tfl_subgraph_input_count(d->cond) != n ||
      tfl_subgraph_input_count(d->body) != n || tfl_subgraph_output_count(d->body) != n ||
      tfl_subgraph_output_count(d->cond) != 1)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "loop variables disagree: node %d in / %d out, cond %d in / %d out, "
                            "body %d in / %d out",
                            n, node->num_outputs, tfl_subgraph_input_count(d->cond),
                            tfl_subgraph_output_count(d->cond), tfl_subgraph_input_count(d->body),
                            tfl_subgraph_output_count(d->body));
  if (n > TFL_MAX_SUBGRAPH_ARGS)
    return tfl_context_error(ctx, node, "%d loop variables (at most %d)", n, TFL_MAX_SUBGRAPH_ARGS);
  return TFL_OK;
}

static tfl_status while_prepare(tfl_context *ctx, tfl_node *node) {
  while_data *d = node->user_data;
  d->cond = subgraph_option(ctx, node, 0, "condition");
  d->body = subgraph_option(ctx, node, 1, "body");
  if (!d->cond || !d->body) return TFL_INVALID_MODEL;
  tfl_status st = while_check_arity(ctx, node, d);
  if (st != TFL_OK) return st;
  tfl_tensor *vars[TFL_MAX_SUBGRAPH_ARGS];
  for (int i = 0; i < node->num_inputs; i++) {
    vars[i] = tfl_node_input(ctx, node, i);
    if (!vars[i]) return tfl_context_error(ctx, node, "loop variable %d is missing", i);
  }
  d->cond_prepared = d->body_prepared = 0;
  st = bind_inputs(ctx, node, d->cond, vars, node->num_inputs, &d->cond_prepared);
  if (st == TFL_OK) st = bind_inputs(ctx, node, d->body, vars, node->num_inputs, &d->body_prepared);
  if (st != TFL_OK) return st;
  const tfl_tensor *c = tfl_subgraph_output(d->cond, 0);
  if (c->type != TFL_BOOL)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "the condition subgraph must give a bool");
  /* The loop variables keep their shapes only if the body preserves them. */
  int dynamic = 0;
  for (int i = 0; i < node->num_inputs; i++) {
    const tfl_tensor *out = tfl_subgraph_output(d->body, i);
    if (out->type != vars[i]->type)
      return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "the body changes the type of variable %d", i);
    if (!tfl_same_shape(out, vars[i]) || out->alloc == TFL_ALLOC_DYNAMIC) dynamic = 1;
  }
  for (int i = 0; i < node->num_outputs; i++) {
    tfl_tensor *out = tfl_node_output(ctx, node, i);
    st = tfl_context_set_type(ctx, out, vars[i]->type);
    if (st == TFL_OK)
      st = dynamic ? tfl_context_set_dynamic(ctx, out) : tfl_context_resize(ctx, out, vars[i]->ndim, vars[i]->dims);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

/* Runs subgraph sg on the loop state (re-preparing it if the state's shapes changed). */
static tfl_status while_step(tfl_context *ctx, const tfl_node *node, tfl_context *sg,
                             int *prepared, tfl_tensor *const *state) {
  tfl_status st = bind_inputs(ctx, node, sg, state, node->num_outputs, prepared);
  if (st == TFL_OK) st = feed(ctx, node, sg, state, node->num_outputs);
  return st == TFL_OK ? tfl_subgraph_run(sg) : st;
}

static tfl_status while_eval(tfl_context *ctx, tfl_node *node) {
  while_data *d = node->user_data;
  tfl_tensor *state[TFL_MAX_SUBGRAPH_ARGS];
  for (int i = 0; i < node->num_outputs; i++) {
    state[i] = tfl_node_output(ctx, node, i);
    tfl_status st = copy_value(ctx, node, state[i], tfl_node_input(ctx, node, i));
    if (st != TFL_OK) return st;
  }
  for (;;) {
    /* An empty body would never reach an op boundary: check cancellation here too. */
    if (tfl_context_cancelled(ctx))
      return tfl_context_fail(ctx, node, TFL_CANCELLED, "invoke cancelled inside a loop");
    tfl_status st = while_step(ctx, node, d->cond, &d->cond_prepared, state);
    if (st != TFL_OK) return st;
    const uint8_t *go = tfl_subgraph_output(d->cond, 0)->data;
    if (!go[0]) return TFL_OK;
    st = while_step(ctx, node, d->body, &d->body_prepared, state);
    for (int i = 0; i < node->num_outputs && st == TFL_OK; i++)
      st = copy_value(ctx, node, state[i], tfl_subgraph_output(d->body, i));
    if (st != TFL_OK) return st;
  }
}

/* --- STABLEHLO_COMPOSITE ------------------------------------------------------------------
 * A composite op carries its own decomposition as a subgraph; running that subgraph is what
 * TFLite does for composites it has no dedicated kernel for. */

typedef struct composite_data {
  tfl_context *body;
  int prepared;
} composite_data;

static tfl_status composite_prepare(tfl_context *ctx, tfl_node *node) {
  composite_data *d = node->user_data;
  int index = tfl_opt2_int(node, 1, -1); /* StableHLOCompositeOptions.decomposition_subgraph_index */
  d->body = tfl_context_subgraph(ctx, index);
  if (!d->body)
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL, "decomposition subgraph %d does not exist",
                            index);
  tfl_status st = bind_call(ctx, node, d->body, 0, &d->prepared);
  return st == TFL_OK ? shape_outputs(ctx, node, d->body, 0) : st;
}

static tfl_status composite_eval(tfl_context *ctx, tfl_node *node) {
  composite_data *d = node->user_data;
  return call_subgraph(ctx, node, d->body, 0);
}

/* --- CALL_ONCE -------------------------------------------------------------------------- */

typedef struct call_once_data {
  tfl_context *init;
  int done;
  unsigned epoch; /* tfl_context_variables_epoch() when it ran */
} call_once_data;

static tfl_status call_once_prepare(tfl_context *ctx, tfl_node *node) {
  call_once_data *d = node->user_data;
  d->init = subgraph_option(ctx, node, 0, "initialization");
  if (!d->init) return TFL_INVALID_MODEL;
  if (tfl_subgraph_input_count(d->init) || tfl_subgraph_output_count(d->init))
    return tfl_context_fail(ctx, node, TFL_INVALID_MODEL,
                            "the initialization subgraph must have no inputs or outputs");
  return tfl_subgraph_prepare(d->init);
}

static tfl_status call_once_eval(tfl_context *ctx, tfl_node *node) {
  call_once_data *d = node->user_data;
  unsigned epoch = tfl_context_variables_epoch(ctx);
  if (d->done && d->epoch == epoch) return TFL_OK;
  tfl_status st = tfl_subgraph_run(d->init);
  if (st != TFL_OK) return st;
  d->done = 1;
  d->epoch = epoch;
  return TFL_OK;
}

/* Values cross by copy, so any type of fixed size and strings; CALL_ONCE moves no values
 * (types 0). */
static const tfl_op_registration if_op = {
    .name = "IF", .builtin_code = TFL_OP_IF, .data_size = sizeof(if_data),
    .prepare = if_prepare, .eval = if_eval, .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING};
static const tfl_op_registration while_op = {
    .name = "WHILE", .builtin_code = TFL_OP_WHILE, .data_size = sizeof(while_data),
    .prepare = while_prepare, .eval = while_eval, .flags = TFL_OP_STATEFUL,
    .types = TFL_TYPES_FIXED_SIZE_OR_STRING};
static const tfl_op_registration composite_op = {
    .name = "STABLEHLO_COMPOSITE", .builtin_code = TFL_OP_STABLEHLO_COMPOSITE,
    .data_size = sizeof(composite_data), .prepare = composite_prepare, .eval = composite_eval,
    .flags = TFL_OP_STATEFUL, .types = TFL_TYPES_FIXED_SIZE_OR_STRING};
static const tfl_op_registration call_once_op = {
    .name = "CALL_ONCE", .builtin_code = TFL_OP_CALL_ONCE, .data_size = sizeof(call_once_data),
    .prepare = call_once_prepare, .eval = call_once_eval, .flags = TFL_OP_STATEFUL};

const tfl_op_registration *const tfl_kernels_control_flow[] = {&if_op, &while_op, &call_once_op,
                                                                &composite_op, NULL};
