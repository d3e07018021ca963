/* The calls kernels make on their context (include/tfl/op.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/message.h"
#include "model/ops.h"
#include "runtime/interpreter.h"
#include "runtime/kernel.h"
#include "runtime/string_tensor.h"

static tfl_tensor *tensor_at(tfl_context *ctx, int32_t index) {
  if (index < 0 || index >= ctx->n_tensors) return NULL;
  return &ctx->tensors[index];
}

tfl_tensor *tfl_node_input(tfl_context *ctx, const tfl_node *node, int i) {
  if (i < 0 || i >= node->num_inputs) return NULL;
  return tensor_at(ctx, node->inputs[i]);
}

tfl_tensor *tfl_node_output(tfl_context *ctx, const tfl_node *node, int i) {
  if (i < 0 || i >= node->num_outputs) return NULL;
  return tensor_at(ctx, node->outputs[i]);
}

tfl_tensor *tfl_context_tensor(tfl_context *ctx, int index) { return tensor_at(ctx, index); }

int tfl_tensor_is_constant(const tfl_tensor *t) {
  return t && (t->alloc == TFL_ALLOC_CONST || t->alloc == TFL_ALLOC_PERSISTENT);
}

tfl_status tfl_bytes_for(tfl_context *ctx, tfl_type type, int ndim, const int32_t *dims,
                         size_t *bytes) {
  size_t elem = tfl_type_size(type);
  size_t limit = ctx->interp->options.max_tensor_bytes;
  if (type == TFL_STRING) elem = 1; /* strings are sized by their writer */
  if (elem == 0)
    return tfl_interp_error(ctx->interp, TFL_UNSUPPORTED, "tensors of type %s are not supported",
                            tfl_type_name(type));
  if (ndim < 0 || ndim > TFL_MAX_DIMS)
    return tfl_interp_error(ctx->interp, TFL_UNSUPPORTED, "%d dimensions (at most %d supported)",
                            ndim, TFL_MAX_DIMS);
  size_t n = elem;
  for (int i = 0; i < ndim; i++) {
    if (dims[i] < 0)
      return tfl_interp_error(ctx->interp, TFL_INVALID_ARGUMENT, "negative dimension %d",
                              (int)dims[i]);
    if (dims[i] != 0 && n > limit / (size_t)dims[i])
      return tfl_interp_error(ctx->interp, TFL_LIMIT_EXCEEDED,
                              "tensor larger than the limit of %zu bytes", limit);
    n *= (size_t)dims[i];
  }
  *bytes = n;
  return TFL_OK;
}

/* A tensor's name for a message: escaped and capped (model/message.h). */
static const char *msg_name(const tfl_tensor *t, char buf[TFL_MESSAGE_NAME_BUF]) {
  return tfl_message_name(t ? t->name : "?", buf);
}

static tfl_status grow_heap(tfl_context *ctx, tfl_tensor *t, size_t bytes) {
  if (bytes <= t->heap_capacity) return TFL_OK;
  void *p = realloc(t->data, bytes);
  char name[TFL_MESSAGE_NAME_BUF];
  if (!p)
    return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory for tensor '%s'",
                            msg_name(t, name));
  t->data = p;
  t->heap_capacity = bytes;
  return TFL_OK;
}

static tfl_status set_shape(tfl_context *ctx, tfl_tensor *t, int ndim, const int32_t *dims) {
  size_t bytes;
  tfl_status st = tfl_bytes_for(ctx, t->type, ndim, dims, &bytes);
  if (st != TFL_OK) return st;
  if (t->type == TFL_STRING) return tfl_strings_set_shape(ctx, t, ndim, dims);
  if (t->alloc == TFL_ALLOC_DYNAMIC) {
    st = grow_heap(ctx, t, bytes ? bytes : 1);
    if (st != TFL_OK) return st;
  }
  t->ndim = ndim;
  if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof(dims[0]));
  t->bytes = bytes;
  return TFL_OK;
}

tfl_status tfl_context_resize(tfl_context *ctx, tfl_tensor *t, int ndim, const int32_t *dims) {
  if (!t || (ndim > 0 && !dims)) return TFL_INVALID_ARGUMENT;
  switch (t->alloc) {
    case TFL_ALLOC_CONST:
    case TFL_ALLOC_VARIABLE: {
      int same = t->ndim == ndim &&
                 (ndim == 0 || memcmp(t->dims, dims, (size_t)ndim * sizeof(dims[0])) == 0);
      if (same) return TFL_OK;
      char name[TFL_MESSAGE_NAME_BUF];
      return tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                              "tensor '%s' is constant or a variable and cannot change shape",
                              msg_name(t, name));
    }
    case TFL_ALLOC_NONE:
    case TFL_ALLOC_DYNAMIC:
      return set_shape(ctx, t, ndim, dims);
    default: {
      char name[TFL_MESSAGE_NAME_BUF];
      return tfl_interp_error(ctx->interp, TFL_ERROR, "tensor '%s' cannot be resized now",
                              msg_name(t, name));
    }
  }
}

tfl_status tfl_context_set_type(tfl_context *ctx, tfl_tensor *t, tfl_type type) {
  if (!t || (unsigned)type >= TFL_TYPE_COUNT) return TFL_INVALID_ARGUMENT;
  if (t->type == type) return TFL_OK;
  char name[TFL_MESSAGE_NAME_BUF];
  if (t->alloc != TFL_ALLOC_NONE && t->alloc != TFL_ALLOC_DYNAMIC)
    return tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                            "tensor '%s' is constant or a variable and cannot change type",
                            msg_name(t, name));
  /* the file's zero points were checked against the type it declared */
  for (int i = 0; i < t->quant.count; i++)
    if (!tfl_zero_point_fits(type, t->quant.zero_point[i]))
      return tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                              "tensor '%s' becomes %s, but its zero point %ld is out of range",
                              msg_name(t, name), tfl_type_name(type),
                              (long)t->quant.zero_point[i]);
  t->type = type;
  return set_shape(ctx, t, t->ndim, t->dims);
}

tfl_status tfl_context_set_persistent(tfl_context *ctx, tfl_tensor *t) {
  char name[TFL_MESSAGE_NAME_BUF];
  if (!t || t->alloc != TFL_ALLOC_NONE)
    return tfl_interp_error(ctx->interp, TFL_ERROR, "tensor '%s' cannot be computed ahead",
                            msg_name(t, name));
  tfl_status st = grow_heap(ctx, t, t->bytes ? t->bytes : 1);
  if (st == TFL_OK) t->alloc = TFL_ALLOC_PERSISTENT;
  return st;
}

tfl_status tfl_context_set_dynamic(tfl_context *ctx, tfl_tensor *t) {
  if (!t) return TFL_INVALID_ARGUMENT;
  if (t->alloc == TFL_ALLOC_DYNAMIC) return TFL_OK;
  char name[TFL_MESSAGE_NAME_BUF];
  if (t->alloc != TFL_ALLOC_NONE)
    return tfl_interp_error(ctx->interp, TFL_INVALID_MODEL,
                            "tensor '%s' cannot hold a data-dependent shape", msg_name(t, name));
  t->alloc = TFL_ALLOC_DYNAMIC;
  return TFL_OK;
}

tfl_status tfl_context_resize_dynamic(tfl_context *ctx, tfl_tensor *t, int ndim,
                                      const int32_t *dims) {
  if (!t) return TFL_INVALID_ARGUMENT;
  char name[TFL_MESSAGE_NAME_BUF];
  if (t->alloc != TFL_ALLOC_DYNAMIC)
    return tfl_interp_error(ctx->interp, TFL_ERROR,
                            "tensor '%s' was not marked dynamic in prepare", msg_name(t, name));
  return tfl_context_resize(ctx, t, ndim, dims);
}

tfl_status tfl_context_request_scratch(tfl_context *ctx, tfl_node *node, size_t bytes,
                                       int *index) {
  tfl_node_rt *rt = &ctx->rt[node->index];
  if (rt->n_scratch >= TFL_MAX_SCRATCH)
    return tfl_context_error(ctx, node, "too many scratch buffers (at most %d)", TFL_MAX_SCRATCH);
  if (bytes > ctx->interp->options.max_tensor_bytes)
    return tfl_context_fail(ctx, node, TFL_LIMIT_EXCEEDED,
                            "scratch of %zu bytes exceeds the tensor size limit", bytes);
  rt->scratch_size[rt->n_scratch] = bytes;
  *index = rt->n_scratch++;
  return TFL_OK;
}

void *tfl_context_scratch(tfl_context *ctx, const tfl_node *node, int index) {
  tfl_node_rt *rt = &ctx->rt[node->index];
  if (index < 0 || index >= rt->n_scratch) return NULL;
  if (rt->scratch_heap[index]) return rt->scratch_heap[index];
  return ctx->arena + rt->scratch_offset[index];
}

static const char *node_op_name(const tfl_node *node) {
  if (node->builtin_code == TFL_BUILTIN_CUSTOM && node->registration &&
      node->registration->name)
    return node->registration->name;
  const char *name = tfl_builtin_op_name(node->builtin_code);
  return name ? name : "?";
}

static tfl_status vfail(tfl_context *ctx, const tfl_node *node, tfl_status status,
                        const char *fmt, va_list ap) {
  char msg[TFL_ERROR_SIZE - 64];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (ctx->index)
    return tfl_interp_error(ctx->interp, status, "subgraph %d node %d (%s): %s", ctx->index,
                            node->index, node_op_name(node), msg);
  return tfl_interp_error(ctx->interp, status, "node %d (%s): %s", node->index,
                          node_op_name(node), msg);
}

tfl_status tfl_context_error(tfl_context *ctx, const tfl_node *node, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tfl_status st = vfail(ctx, node, TFL_ERROR, fmt, ap);
  va_end(ap);
  return st;
}

tfl_status tfl_context_fail(tfl_context *ctx, const tfl_node *node, tfl_status status,
                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tfl_status st = vfail(ctx, node, status, fmt, ap);
  va_end(ap);
  return st;
}

int tfl_context_threads(tfl_context *ctx) { return tfl_threadpool_threads(ctx->interp->pool); }

void tfl_context_parallel(tfl_context *ctx, int n_tasks, void (*fn)(void *arg, int task, int thread),
                          void *arg) {
  tfl_threadpool_run(ctx->interp->pool, n_tasks, fn, arg);
}

tfl_cpu_level tfl_context_cpu(tfl_context *ctx) { return ctx->interp->cpu; }
