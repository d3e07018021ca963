/* The interpreter: builds per-subgraph execution state from a verified model, prepares ops,
 * plans the arena and runs the graph in the model's order. */
#include "runtime/interpreter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/message.h"
#include "model/ops.h"
#include "model/sparse.h"
#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/profile.h"
#include "runtime/string_tensor.h"

static unsigned error_count(const struct tfl_interpreter *interp) { return interp->error_seq; }

tfl_status tfl_interp_error(struct tfl_interpreter *interp, tfl_status status, const char *fmt,
                            ...) {
  char raw[TFL_ERROR_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  tfl_message_escape(interp->error, TFL_ERROR_SIZE, raw); /* names from the file: one line */
  interp->error_seq++;
  if (interp->options.error_cb) interp->options.error_cb(interp->options.error_user, interp->error);
  return status;
}

/* --- building ------------------------------------------------------------------------ */

/* Whether tensor t is one of the subgraph's inputs: a flag per tensor, set once when the
 * subgraph is built, since callers ask it for every tensor. */
static int is_graph_input(const tfl_context *ctx, int32_t t) { return ctx->graph_input[t]; }

/* Sparse constants are expanded once, so every kernel sees dense weights. */
static tfl_status densify(tfl_context *ctx, tfl_tensor *t, const tfl_model_tensor *mt) {
  size_t elem = tfl_type_size(mt->type), bytes;
  tfl_status st = tfl_bytes_for(ctx, mt->type, mt->ndim, mt->shape, &bytes);
  if (st != TFL_OK) return st;
  if (!elem || mt->type == TFL_STRING)
    return tfl_interp_error(ctx->interp, TFL_UNSUPPORTED, "sparse %s tensors are not supported",
                            tfl_type_name(mt->type));
  t->data = malloc(bytes ? bytes : 1);
  if (!t->data) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
  t->heap_capacity = bytes ? bytes : 1;
  t->bytes = bytes;
  tfl_sparse_densify(mt, elem, t->data);
  return TFL_OK;
}

static tfl_status init_tensor(tfl_context *ctx, int i) {
  const tfl_model_tensor *mt = &ctx->msg->tensors[i];
  tfl_tensor *t = &ctx->tensors[i];
  t->type = mt->type;
  t->ndim = mt->ndim;
  if (mt->ndim) memcpy(t->dims, mt->shape, (size_t)mt->ndim * sizeof(int32_t));
  t->name = mt->name;
  t->quant = mt->quant;
  t->index = i;
  if (mt->is_variable) {
    t->alloc = TFL_ALLOC_VARIABLE;
    return TFL_OK;
  }
  /* A graph input with data is a constant too, as in TFLite (its data is read-only there). */
  if (!mt->data) return TFL_OK;
  t->alloc = TFL_ALLOC_CONST;
  if (mt->sparsity) return densify(ctx, t, mt);
  t->bytes = mt->data_size;
  t->data = (void *)mt->data;
  size_t align = tfl_type_size(mt->type);
  if (align > 8) align = 8;
  if (align > 1 && ((uintptr_t)mt->data % align) != 0) {
    /* Kernels read typed pointers: give misaligned constants an aligned copy. */
    t->data = malloc(mt->data_size ? mt->data_size : 1);
    if (!t->data) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
    memcpy(t->data, mt->data, mt->data_size);
    t->heap_capacity = mt->data_size ? mt->data_size : 1;
  }
  return TFL_OK;
}

static void append(char *buf, size_t size, const char *fmt, ...) {
  size_t len = strlen(buf);
  if (len + 1 >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, size - len, fmt, ap);
  va_end(ap);
}

/* Finds kernels for every node; lists all missing ones in one message. */
static tfl_status bind_kernels(tfl_context *ctx) {
  const tfl_model *model = ctx->interp->model;
  char missing[TFL_ERROR_SIZE - 128] = "";
  int n_missing = 0;
  for (int j = 0; j < ctx->n_nodes; j++) {
    const tfl_model_op *op = &ctx->msg->ops[j];
    const tfl_model_opcode *oc = &model->opcodes[op->opcode_index];
    tfl_node *node = &ctx->nodes[j];
    int mismatch = 0;
    const char *custom = oc->builtin_code == TFL_BUILTIN_CUSTOM ? oc->custom_code : NULL;
    node->index = j;
    node->num_inputs = op->n_inputs;
    node->inputs = op->inputs;
    node->num_outputs = op->n_outputs;
    node->outputs = op->outputs;
    node->num_intermediates = op->n_intermediates;
    node->intermediates = op->intermediates;
    node->custom_options = op->custom_options;
    node->custom_options_size = op->custom_options_size;
    node->builtin_code = oc->builtin_code;
    node->version = oc->version;
    node->builtin_options = op;
    node->registration = tfl_registry_find(&ctx->interp->options.registry, oc->builtin_code,
                                           custom, oc->version, &mismatch);
    if (node->registration) continue;
    const char *name = custom ? custom : tfl_builtin_op_name(oc->builtin_code);
    append(missing, sizeof(missing), "%snode %d %s%s%s v%d%s", n_missing ? ", " : "", j,
           custom ? "custom op '" : "", name ? name : "unknown op", custom ? "'" : "",
           (int)oc->version, mismatch ? " (other versions supported)" : "");
    n_missing++;
  }
  if (!n_missing) return TFL_OK;
  if (ctx->index)
    return tfl_interp_error(ctx->interp, TFL_UNSUPPORTED, "subgraph %d: unsupported ops: %s",
                            ctx->index, missing);
  return tfl_interp_error(ctx->interp, TFL_UNSUPPORTED, "unsupported ops: %s", missing);
}

/* The file's operator order is the execution order: every input must exist before its
 * reader runs, and every tensor has at most one writer. */
static tfl_status check_order(tfl_context *ctx) {
  uint8_t *ready = calloc((size_t)ctx->n_tensors + 1, 1);
  if (!ready) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
  tfl_status st = TFL_OK;
  for (int i = 0; i < ctx->n_tensors; i++)
    ready[i] = ctx->tensors[i].alloc == TFL_ALLOC_CONST ||
               ctx->tensors[i].alloc == TFL_ALLOC_VARIABLE || is_graph_input(ctx, i);
  for (int j = 0; j < ctx->n_nodes && st == TFL_OK; j++) {
    const tfl_node *node = &ctx->nodes[j];
    for (int k = 0; k < node->num_inputs && st == TFL_OK; k++) {
      int32_t t = node->inputs[k];
      if (t >= 0 && !ready[t])
        st = tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                              "subgraph %d node %d reads tensor %d ('%s') before any node "
                              "writes it: the operators are not in a valid execution order",
                              ctx->index, j, (int)t, ctx->tensors[t].name);
    }
    for (int k = 0; k < node->num_outputs && st == TFL_OK; k++) {
      int32_t t = node->outputs[k];
      if (t < 0 || (ready[t] && ctx->tensors[t].alloc != TFL_ALLOC_VARIABLE))
        st = tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                              "subgraph %d node %d writes tensor %d, which is a constant, a "
                              "graph input or written by another node",
                              ctx->index, j, (int)t);
      else
        ready[t] = 1;
    }
  }
  for (int i = 0; i < ctx->msg->n_outputs && st == TFL_OK; i++)
    if (!ready[ctx->msg->outputs[i]])
      st = tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                            "subgraph %d output tensor %d is never written", ctx->index,
                            (int)ctx->msg->outputs[i]);
  free(ready);
  return st;
}

static tfl_status init_nodes(tfl_context *ctx) {
  for (int j = 0; j < ctx->n_nodes; j++) {
    tfl_node *node = &ctx->nodes[j];
    const tfl_op_registration *reg = node->registration;
    tfl_node_rt *rt = &ctx->rt[j];
    unsigned seq = error_count(ctx->interp);
    if (reg->init) {
      ctx->current_node = j;
      node->user_data = reg->init(ctx, node, reg->op_user_data);
      ctx->current_node = -1;
      if (error_count(ctx->interp) != seq) return TFL_ERROR;
    } else if (reg->data_size) {
      node->user_data = calloc(1, reg->data_size);
      if (!node->user_data) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
      rt->owns_data = 1;
    }
    rt->initialized = 1;
  }
  return TFL_OK;
}

static tfl_status init_subgraph(struct tfl_interpreter *interp, int index) {
  tfl_context *ctx = &interp->subgraphs[index];
  const tfl_model_subgraph *msg = &interp->model->subgraphs[index];
  ctx->interp = interp;
  ctx->msg = msg;
  ctx->index = index;
  ctx->current_node = -1;
  ctx->n_tensors = msg->n_tensors;
  ctx->n_nodes = msg->n_ops;
  size_t nt = (size_t)msg->n_tensors + 1, nn = (size_t)msg->n_ops + 1;
  ctx->tensors = calloc(nt, sizeof(*ctx->tensors));
  ctx->nodes = calloc(nn, sizeof(*ctx->nodes));
  ctx->rt = calloc(nn, sizeof(*ctx->rt));
  ctx->first_use = calloc(nt, sizeof(int32_t));
  ctx->last_use = calloc(nt, sizeof(int32_t));
  ctx->arena_offset = calloc(nt, sizeof(size_t));
  ctx->graph_input = calloc(nt, 1);
  if (!ctx->tensors || !ctx->nodes || !ctx->rt || !ctx->first_use || !ctx->last_use ||
      !ctx->arena_offset || !ctx->graph_input)
    return tfl_interp_error(interp, TFL_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < msg->n_inputs; i++) ctx->graph_input[msg->inputs[i]] = 1;
  for (int i = 0; i < msg->n_tensors; i++) {
    tfl_status st = init_tensor(ctx, i);
    if (st != TFL_OK) return st;
  }
  tfl_status st = bind_kernels(ctx);
  if (st == TFL_OK) st = check_order(ctx);
  if (st == TFL_OK) st = tfl_fuse_subgraph(ctx);
  return st;
}

static void free_scratch_heap(tfl_node_rt *rt) {
  for (int k = 0; k < TFL_MAX_SCRATCH; k++) {
    free(rt->scratch_heap[k]);
    rt->scratch_heap[k] = NULL;
    rt->scratch_heap_size[k] = 0;
  }
}

static void free_subgraph(tfl_context *ctx) {
  for (int j = 0; ctx->rt && j < ctx->n_nodes; j++) {
    tfl_node *node = &ctx->nodes[j];
    tfl_node_rt *rt = &ctx->rt[j];
    if (rt->initialized && node->registration->free)
      node->registration->free(ctx, node->user_data, node->registration->op_user_data);
    if (rt->owns_data) free(node->user_data);
    free_scratch_heap(rt);
  }
  for (int i = 0; ctx->tensors && i < ctx->n_tensors; i++)
    if (ctx->tensors[i].heap_capacity) free(ctx->tensors[i].data);
  free(ctx->arena_block);
  free(ctx->tensors);
  free(ctx->nodes);
  free(ctx->rt);
  free(ctx->first_use);
  free(ctx->last_use);
  free(ctx->arena_offset);
  tfl_fuse_free(ctx);
  free(ctx->graph_input);
}

void tfl_interpreter_free(tfl_interpreter *interp) {
  if (!interp) return;
  for (int i = 0; interp->subgraphs && i < interp->n_subgraphs; i++)
    free_subgraph(&interp->subgraphs[i]);
  free(interp->subgraphs);
  free(interp->signatures);
  tfl_threadpool_free(interp->pool);
  tfl_profile_free(interp->profile);
  tfl_resources_free(interp);
  tfl_registry_clear(&interp->options.registry);
  free(interp);
}

static tfl_status build(struct tfl_interpreter *interp) {
  const tfl_model *model = interp->model;
  interp->n_subgraphs = model->n_subgraphs;
  interp->subgraphs = calloc((size_t)model->n_subgraphs, sizeof(*interp->subgraphs));
  interp->signatures = calloc((size_t)model->n_signatures + 1, sizeof(*interp->signatures));
  if (!interp->subgraphs || !interp->signatures)
    return tfl_interp_error(interp, TFL_OUT_OF_MEMORY, "out of memory");
  for (int s = 0; s < model->n_signatures; s++) {
    interp->signatures[s].interp = interp;
    interp->signatures[s].def = &model->signatures[s];
  }
  for (int i = 0; i < model->n_subgraphs; i++) {
    tfl_status st = init_subgraph(interp, i);
    if (st != TFL_OK) return st;
  }
  for (int i = 0; i < model->n_subgraphs; i++) {
    tfl_status st = init_nodes(&interp->subgraphs[i]);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

tfl_status tfl_interpreter_create(const tfl_model *model, const tfl_options *options,
                                  tfl_interpreter **out, char *err, size_t err_size) {
  if (err && err_size) err[0] = '\0';
  if (!out) return TFL_INVALID_ARGUMENT;
  *out = NULL;
  if (!model) {
    if (err && err_size) snprintf(err, err_size, "no model");
    return TFL_INVALID_ARGUMENT;
  }
  struct tfl_interpreter *interp = calloc(1, sizeof(*interp));
  if (!interp) {
    if (err && err_size) snprintf(err, err_size, "out of memory");
    return TFL_OUT_OF_MEMORY;
  }
  interp->model = model;
  interp->cpu = tfl_cpu_detect();
  atomic_init(&interp->cancel, 0);
  tfl_options_defaults(&interp->options);
  tfl_status st = TFL_OK;
  if (options) {
    interp->options = *options;
    st = tfl_registry_copy(&interp->options.registry, &options->registry);
    if (st != TFL_OK) interp->options.registry.n = 0;
  }
  if (st == TFL_OK && interp->options.threads > 1) {
    interp->pool = tfl_threadpool_create(interp->options.threads);
    if (!interp->pool) st = tfl_interp_error(interp, TFL_ERROR, "cannot start %d threads",
                                             interp->options.threads);
  }
  if (st == TFL_OK) st = build(interp);
  if (st != TFL_OK) {
    if (err && err_size) snprintf(err, err_size, "%s", interp->error[0] ? interp->error : "out of memory");
    tfl_interpreter_free(interp);
    return st;
  }
  *out = interp;
  return TFL_OK;
}

const char *tfl_interpreter_error(const tfl_interpreter *interp) {
  return interp ? interp->error : "no interpreter";
}

/* --- preparing --------------------------------------------------------------------- */

static void release_heap(tfl_tensor *t) {
  if (t->heap_capacity) free(t->data);
  t->data = NULL;
  t->heap_capacity = 0;
}

/* Until a kernel resizes it, a tensor has the shape the model declares (and its size). */
static void reset_shape(tfl_context *ctx, tfl_tensor *t) {
  const tfl_model_tensor *mt = &ctx->msg->tensors[t->index];
  t->ndim = mt->ndim;
  if (mt->ndim) memcpy(t->dims, mt->shape, (size_t)mt->ndim * sizeof(int32_t));
  if (tfl_bytes_for(ctx, t->type, t->ndim, t->dims, &t->bytes) != TFL_OK) t->bytes = 0;
}

/* Forgets everything the last allocation computed, keeping constants, variables and the
 * shapes of graph inputs. */
static void reset_plan(tfl_context *ctx) {
  for (int i = 0; i < ctx->n_tensors; i++) {
    tfl_tensor *t = &ctx->tensors[i];
    if (t->alloc == TFL_ALLOC_CONST || t->alloc == TFL_ALLOC_VARIABLE) continue;
    if (t->alloc == TFL_ALLOC_PERSISTENT || t->alloc == TFL_ALLOC_DYNAMIC) release_heap(t);
    t->alloc = TFL_ALLOC_NONE;
    t->data = NULL;
    t->type = ctx->msg->tensors[i].type; /* kernels may have retyped it */
    if (!is_graph_input(ctx, i)) reset_shape(ctx, t);
  }
  for (int j = 0; j < ctx->n_nodes; j++) {
    tfl_node_rt *rt = &ctx->rt[j];
    free_scratch_heap(rt);
    rt->n_scratch = 0;
    rt->folded = 0;
    rt->deferred = 0;
  }
  ctx->prepared = 0;
}

static tfl_status size_io_tensor(tfl_context *ctx, tfl_tensor *t) {
  return tfl_bytes_for(ctx, t->type, t->ndim, t->dims, &t->bytes);
}

/* Variables keep their storage across allocations but restart from their initial value
 * (zero, or the zero point for int8 state as TFLite does). */
static tfl_status reset_variable(tfl_context *ctx, tfl_tensor *t) {
  const tfl_model_tensor *mt = &ctx->msg->tensors[t->index];
  tfl_status st = size_io_tensor(ctx, t);
  if (st != TFL_OK) return st;
  size_t need = t->bytes ? t->bytes : 1;
  if (need > t->heap_capacity) {
    void *p = realloc(t->heap_capacity ? t->data : NULL, need);
    if (!p) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
    t->data = p;
    t->heap_capacity = need;
  }
  if (mt->data && mt->data_size == t->bytes) {
    memcpy(t->data, mt->data, t->bytes);
    return TFL_OK;
  }
  int fill = (t->type == TFL_INT8 && t->quant.count > 0) ? (int)t->quant.zero_point[0] : 0;
  memset(t->data, fill, t->bytes);
  return TFL_OK;
}

tfl_status tfl_subgraph_reset_variables(tfl_context *ctx) {
  for (int i = 0; i < ctx->n_tensors; i++) {
    tfl_tensor *t = &ctx->tensors[i];
    if (t->alloc != TFL_ALLOC_VARIABLE) continue;
    tfl_status st = reset_variable(ctx, t);
    if (st != TFL_OK) return st;
  }
  return TFL_OK;
}

static int has_dynamic_input(tfl_context *ctx, const tfl_node *node) {
  for (int k = 0; k < node->num_inputs; k++) {
    tfl_tensor *t = tfl_node_input(ctx, node, k);
    if (t && t->alloc == TFL_ALLOC_DYNAMIC) return 1;
  }
  return 0;
}

static int can_fold(tfl_context *ctx, const tfl_node *node) {
  if (node->registration->flags & TFL_OP_STATEFUL) return 0;
  int n_inputs = 0;
  for (int k = 0; k < node->num_inputs; k++) {
    if (node->inputs[k] < 0) continue;
    if (!tfl_tensor_is_constant(tfl_node_input(ctx, node, k))) return 0;
    n_inputs++;
  }
  for (int k = 0; k < node->num_outputs; k++)
    if (tfl_node_output(ctx, node, k)->alloc != TFL_ALLOC_NONE) return 0;
  return n_inputs > 0;
}

/* Gives a node run outside the plan (folded or deferred) heap scratch of the sizes it asked. */
static tfl_status heap_scratch(tfl_context *ctx, tfl_node_rt *rt) {
  for (int k = 0; k < rt->n_scratch; k++) {
    size_t need = rt->scratch_size[k] ? rt->scratch_size[k] : 1;
    if (need <= rt->scratch_heap_size[k]) continue;
    void *p = realloc(rt->scratch_heap[k], need);
    if (!p) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
    rt->scratch_heap[k] = p;
    rt->scratch_heap_size[k] = need;
  }
  return TFL_OK;
}

static tfl_status call_kernel(tfl_context *ctx, tfl_node *node, int eval) {
  tfl_status (*fn)(tfl_context *, tfl_node *) =
      eval ? node->registration->eval : node->registration->prepare;
  if (!fn) return TFL_OK;
  unsigned seq = error_count(ctx->interp);
  ctx->current_node = node->index;
  tfl_status st = fn(ctx, node);
  ctx->current_node = -1;
  if (st == TFL_OK || error_count(ctx->interp) != seq) return st;
  const char *name = node->registration->name ? node->registration->name : "?";
  return tfl_interp_error(ctx->interp, st, "node %d (%s) failed to %s", node->index, name,
                          eval ? "run" : "prepare");
}

static tfl_status fold(tfl_context *ctx, tfl_node *node) {
  tfl_node_rt *rt = &ctx->rt[node->index];
  for (int k = 0; k < node->num_outputs; k++) {
    tfl_tensor *t = tfl_node_output(ctx, node, k);
    size_t need = t->bytes ? t->bytes : 1;
    t->data = malloc(need);
    if (!t->data) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
    t->heap_capacity = need;
    t->alloc = TFL_ALLOC_PERSISTENT;
  }
  tfl_status st = heap_scratch(ctx, rt);
  if (st == TFL_OK) st = call_kernel(ctx, node, 1);
  free_scratch_heap(rt);
  rt->folded = st == TFL_OK;
  return st;
}

static int outputs_persistent(tfl_context *ctx, const tfl_node *node) {
  for (int k = 0; k < node->num_outputs; k++)
    if (tfl_node_output(ctx, node, k)->alloc != TFL_ALLOC_PERSISTENT) return 0;
  return node->num_outputs > 0;
}

static tfl_status prepare_node(tfl_context *ctx, tfl_node *node) {
  tfl_node_rt *rt = &ctx->rt[node->index];
  if (has_dynamic_input(ctx, node)) {
    /* Shapes are known only when the inputs are computed: prepare again at every invoke. */
    rt->deferred = 1;
    for (int k = 0; k < node->num_outputs; k++) {
      tfl_status st = tfl_context_set_dynamic(ctx, tfl_node_output(ctx, node, k));
      if (st != TFL_OK) return st;
    }
    return TFL_OK;
  }
  tfl_status st = call_kernel(ctx, node, 0);
  if (st != TFL_OK) return st;
  if (outputs_persistent(ctx, node)) {
    rt->folded = 1; /* prepare computed everything */
    return TFL_OK;
  }
  if (can_fold(ctx, node)) return fold(ctx, node);
  return TFL_OK;
}

tfl_status tfl_subgraph_allocate(tfl_context *ctx) {
  if (ctx->preparing || ctx->running)
    return tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                            "subgraph %d is called recursively", ctx->index);
  ctx->preparing = 1;
  reset_plan(ctx);
  tfl_status st = TFL_OK;
  for (int i = 0; i < ctx->n_tensors && st == TFL_OK; i++) {
    tfl_tensor *t = &ctx->tensors[i];
    if (t->alloc == TFL_ALLOC_VARIABLE) st = reset_variable(ctx, t);
    else if (is_graph_input(ctx, i)) st = size_io_tensor(ctx, t);
    /* Strings live outside the arena, sized by their writer (runtime/string_tensor.h). */
    if (st == TFL_OK && t->type == TFL_STRING && t->alloc == TFL_ALLOC_NONE)
      st = tfl_strings_set_shape(ctx, t, t->ndim, t->dims);
  }
  for (int j = 0; j < ctx->n_nodes && st == TFL_OK; j++) st = prepare_node(ctx, &ctx->nodes[j]);
  if (st == TFL_OK) st = tfl_plan_arena(ctx);
  ctx->preparing = 0;
  ctx->prepared = st == TFL_OK;
  return st;
}

/* --- running ----------------------------------------------------------------------- */

static tfl_status run_deferred(tfl_context *ctx, tfl_node *node) {
  tfl_node_rt *rt = &ctx->rt[node->index];
  rt->n_scratch = 0;
  tfl_status st = call_kernel(ctx, node, 0);
  if (st == TFL_OK) st = heap_scratch(ctx, rt);
  if (st == TFL_OK) st = call_kernel(ctx, node, 1);
  return st;
}

tfl_status tfl_subgraph_invoke(tfl_context *ctx) {
  struct tfl_interpreter *interp = ctx->interp;
  if (!ctx->prepared)
    return tfl_interp_error(interp, TFL_NOT_READY,
                            "tensors are not allocated: call allocate_tensors first");
  if (ctx->running)
    return tfl_interp_error(interp, TFL_INVALID_MODEL, "subgraph %d is called recursively",
                            ctx->index);
  ctx->running = 1;
  tfl_status st = TFL_OK;
  for (int j = 0; j < ctx->n_nodes && st == TFL_OK; j++) {
    tfl_node *node = &ctx->nodes[j];
    tfl_node_rt *rt = &ctx->rt[j];
    if (atomic_exchange(&interp->cancel, 0)) {
      st = tfl_interp_error(interp, TFL_CANCELLED, "invoke cancelled before node %d", j);
      break;
    }
    if (rt->folded) continue;
    uint64_t start = tfl_profile_start(ctx);
    st = rt->deferred ? run_deferred(ctx, node) : call_kernel(ctx, node, 1);
    tfl_profile_stop(ctx, j, start);
  }
  ctx->running = 0;
  return st;
}

tfl_context *tfl_subgraph_get(tfl_context *ctx, int index) {
  if (index < 0 || index >= ctx->interp->n_subgraphs) return NULL;
  return &ctx->interp->subgraphs[index];
}

/* --- public entry points ----------------------------------------------------------- */

static tfl_context *main_graph(const tfl_interpreter *interp) {
  return interp && interp->n_subgraphs > 0 ? &interp->subgraphs[0] : NULL;
}

int tfl_interpreter_input_count(const tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  return ctx ? ctx->msg->n_inputs : 0;
}

int tfl_interpreter_output_count(const tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  return ctx ? ctx->msg->n_outputs : 0;
}

tfl_tensor *tfl_interpreter_input(tfl_interpreter *interp, int i) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx || i < 0 || i >= ctx->msg->n_inputs) return NULL;
  return &ctx->tensors[ctx->msg->inputs[i]];
}

tfl_tensor *tfl_interpreter_output(tfl_interpreter *interp, int i) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx || i < 0 || i >= ctx->msg->n_outputs) return NULL;
  return &ctx->tensors[ctx->msg->outputs[i]];
}

int tfl_interpreter_tensor_count(const tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  return ctx ? ctx->n_tensors : 0;
}

tfl_tensor *tfl_interpreter_tensor(tfl_interpreter *interp, int index) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx || index < 0 || index >= ctx->n_tensors) return NULL;
  return &ctx->tensors[index];
}

tfl_tensor *tfl_interpreter_tensor_by_name(tfl_interpreter *interp, const char *name) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx || !name) return NULL;
  for (int i = 0; i < ctx->n_tensors; i++)
    if (strcmp(ctx->tensors[i].name, name) == 0) return &ctx->tensors[i];
  return NULL;
}

tfl_status tfl_subgraph_resize_tensor(tfl_context *ctx, int32_t tensor, int ndim,
                                      const int32_t *dims) {
  tfl_tensor *t = &ctx->tensors[tensor];
  if (ndim < 0 || ndim > TFL_MAX_DIMS || (ndim > 0 && !dims))
    return tfl_interp_error(ctx->interp, TFL_INVALID_ARGUMENT,
                            "cannot resize input '%s' to %d dimensions", t->name, ndim);
  for (int i = 0; i < ndim; i++)
    if (dims[i] < 0)
      return tfl_interp_error(ctx->interp, TFL_INVALID_ARGUMENT,
                              "cannot resize input '%s': dimension %d is negative", t->name, i);
  size_t bytes;
  tfl_status st = tfl_bytes_for(ctx, t->type, ndim, dims, &bytes);
  if (st != TFL_OK) return st;
  int same = t->ndim == ndim && (ndim == 0 || memcmp(t->dims, dims, (size_t)ndim * 4) == 0);
  if (same) return TFL_OK;
  t->ndim = ndim;
  if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof(int32_t));
  t->bytes = bytes;
  ctx->prepared = 0;
  if (t->alloc == TFL_ALLOC_DYNAMIC) { /* a string input: unusable until allocated again */
    release_heap(t);
    t->alloc = TFL_ALLOC_NONE;
  }
  t->data = NULL;
  return TFL_OK;
}

tfl_status tfl_interpreter_resize_input(tfl_interpreter *interp, int i, int ndim,
                                        const int32_t *dims) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx) return TFL_INVALID_ARGUMENT;
  if (i < 0 || i >= ctx->msg->n_inputs)
    return tfl_interp_error(interp, TFL_INVALID_ARGUMENT, "no input %d (the model has %d)", i,
                            ctx->msg->n_inputs);
  return tfl_subgraph_resize_tensor(ctx, ctx->msg->inputs[i], ndim, dims);
}

tfl_status tfl_interpreter_allocate_tensors(tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx) return TFL_INVALID_ARGUMENT;
  return tfl_subgraph_allocate(ctx);
}

tfl_status tfl_interpreter_invoke(tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  if (!ctx) return TFL_INVALID_ARGUMENT;
  return tfl_subgraph_invoke(ctx);
}

tfl_status tfl_interpreter_reset_variables(tfl_interpreter *interp) {
  if (!interp) return TFL_INVALID_ARGUMENT;
  for (int i = 0; i < interp->n_subgraphs; i++) {
    tfl_status st = tfl_subgraph_reset_variables(&interp->subgraphs[i]);
    if (st != TFL_OK) return st;
  }
  for (int i = 0; i < interp->n_resources; i++) interp->resources[i].value.ndim = -1;
  interp->variables_epoch++;
  return TFL_OK;
}

void tfl_interpreter_cancel(tfl_interpreter *interp) {
  if (interp) atomic_store(&interp->cancel, 1);
}

size_t tfl_interpreter_arena_size(const tfl_interpreter *interp) {
  tfl_context *ctx = main_graph(interp);
  return ctx && ctx->prepared ? ctx->arena_size : 0;
}

/* --- signatures -------------------------------------------------------------------- */

int tfl_interpreter_signature_count(const tfl_interpreter *interp) {
  return interp ? interp->model->n_signatures : 0;
}

const char *tfl_interpreter_signature_key(const tfl_interpreter *interp, int i) {
  if (!interp || i < 0 || i >= interp->model->n_signatures) return NULL;
  return interp->model->signatures[i].key;
}

tfl_signature *tfl_interpreter_signature(tfl_interpreter *interp, const char *key) {
  if (!interp || !key) return NULL;
  for (int i = 0; i < interp->model->n_signatures; i++)
    if (strcmp(interp->model->signatures[i].key, key) == 0) return &interp->signatures[i];
  return NULL;
}

static tfl_context *sig_graph(const tfl_signature *sig) {
  return &sig->interp->subgraphs[sig->def->subgraph];
}

int tfl_signature_input_count(const tfl_signature *sig) { return sig ? sig->def->n_inputs : 0; }

int tfl_signature_output_count(const tfl_signature *sig) {
  return sig ? sig->def->n_outputs : 0;
}

const char *tfl_signature_input_name(const tfl_signature *sig, int i) {
  if (!sig || i < 0 || i >= sig->def->n_inputs) return NULL;
  return sig->def->inputs[i].name;
}

const char *tfl_signature_output_name(const tfl_signature *sig, int i) {
  if (!sig || i < 0 || i >= sig->def->n_outputs) return NULL;
  return sig->def->outputs[i].name;
}

static int sig_find(const tfl_model_sig_io *ios, int n, const char *name) {
  for (int i = 0; name && i < n; i++)
    if (strcmp(ios[i].name, name) == 0) return (int)ios[i].tensor;
  return -1;
}

tfl_tensor *tfl_signature_input(tfl_signature *sig, const char *name) {
  if (!sig) return NULL;
  int t = sig_find(sig->def->inputs, sig->def->n_inputs, name);
  return t < 0 ? NULL : &sig_graph(sig)->tensors[t];
}

tfl_tensor *tfl_signature_output(tfl_signature *sig, const char *name) {
  if (!sig) return NULL;
  int t = sig_find(sig->def->outputs, sig->def->n_outputs, name);
  return t < 0 ? NULL : &sig_graph(sig)->tensors[t];
}

tfl_status tfl_signature_resize_input(tfl_signature *sig, const char *name, int ndim,
                                      const int32_t *dims) {
  if (!sig) return TFL_INVALID_ARGUMENT;
  int t = sig_find(sig->def->inputs, sig->def->n_inputs, name);
  if (t < 0)
    return tfl_interp_error(sig->interp, TFL_INVALID_ARGUMENT,
                            "signature '%s' has no input '%s'", sig->def->key, name ? name : "");
  return tfl_subgraph_resize_tensor(sig_graph(sig), t, ndim, dims);
}

tfl_status tfl_signature_allocate_tensors(tfl_signature *sig) {
  if (!sig) return TFL_INVALID_ARGUMENT;
  return tfl_subgraph_allocate(sig_graph(sig));
}

tfl_status tfl_signature_invoke(tfl_signature *sig) {
  if (!sig) return TFL_INVALID_ARGUMENT;
  return tfl_subgraph_invoke(sig_graph(sig));
}
