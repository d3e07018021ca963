/* tfl — operator registrations: how builtin kernels and user custom ops plug in.
 *
 * A registration is a table of callbacks. The interpreter calls, per node:
 *   init    once when the interpreter is created (may be NULL); returns per-node data,
 *   prepare on every tfl_interpreter_allocate_tensors(): validate inputs, set output shapes,
 *           request scratch memory, precompute anything eval needs,
 *   eval    on every invoke: compute only; it must not allocate,
 *   free    once when the interpreter is freed (may be NULL).
 * If init is NULL and data_size > 0, the interpreter provides zeroed per-node data of that
 * size (freed automatically), reachable as node->user_data. */
#ifndef TFL_OP_H
#define TFL_OP_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"
#include "tfl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The builtin code TFLite uses for custom operators. */
#define TFL_BUILTIN_CUSTOM 32

typedef struct tfl_context tfl_context;

typedef struct tfl_node {
  int index; /* position in the subgraph's execution order */
  int num_inputs;
  const int32_t *inputs; /* tensor indices; -1 marks an omitted optional input */
  int num_outputs;
  const int32_t *outputs;
  int num_intermediates;
  const int32_t *intermediates;
  const void *custom_options; /* raw custom_options bytes (usually FlexBuffers), or NULL */
  size_t custom_options_size;
  int32_t builtin_code;
  int32_t version;
  void *user_data; /* what init returned, or the data_size block */
  const struct tfl_op_registration *registration;
  const void *builtin_options; /* private to tfl: use the kernel helpers */
} tfl_node;

typedef struct tfl_op_registration {
  const char *name;      /* custom code for custom ops; the op name for builtins */
  int32_t builtin_code;  /* TFL_BUILTIN_CUSTOM for custom ops */
  int32_t version_min;   /* accepted op versions, inclusive; 0/0 means any */
  int32_t version_max;
  size_t data_size;
  void *(*init)(tfl_context *ctx, const tfl_node *node, void *op_user_data);
  void (*free)(tfl_context *ctx, void *node_data, void *op_user_data);
  tfl_status (*prepare)(tfl_context *ctx, tfl_node *node);
  tfl_status (*eval)(tfl_context *ctx, tfl_node *node);
  void *op_user_data; /* passed to init and free, e.g. a handle to the user's library */
  uint32_t flags;     /* TFL_OP_* below */
  uint32_t types;     /* TFL_TYPE_BIT(t) for each element type the kernel computes on; only
                       * documentation (tfl ops, docs/OPS.md), 0 = not stated */
} tfl_op_registration;

#define TFL_TYPE_BIT(t) (1u << (t))

/* The op has side effects or state, so it must not be evaluated ahead of time even when all
 * its inputs are constant. */
#define TFL_OP_STATEFUL 1u

/* --- calls for prepare and eval ------------------------------------------------------ */

/* Input / output tensor i of the node; NULL for an omitted optional input or i out of range. */
tfl_tensor *tfl_node_input(tfl_context *ctx, const tfl_node *node, int i);
tfl_tensor *tfl_node_output(tfl_context *ctx, const tfl_node *node, int i);
tfl_tensor *tfl_context_tensor(tfl_context *ctx, int index);

/* True when the tensor's value is known before invoke (a constant, or computed ahead). */
int tfl_tensor_is_constant(const tfl_tensor *t);

/* In prepare: give an output tensor its shape. */
tfl_status tfl_context_resize(tfl_context *ctx, tfl_tensor *t, int ndim, const int32_t *dims);
/* In prepare: change a non-constant output's element type before resizing it. TFLite's kernels
 * do this (e.g. ADD gives its output the inputs' type), and some converted models rely on it. */
tfl_status tfl_context_set_type(tfl_context *ctx, tfl_tensor *t, tfl_type type);
/* In prepare: the output's shape is known only at eval; it lives outside the arena and
 * eval must call tfl_context_resize_dynamic() before writing it. */
tfl_status tfl_context_set_dynamic(tfl_context *ctx, tfl_tensor *t);
tfl_status tfl_context_resize_dynamic(tfl_context *ctx, tfl_tensor *t, int ndim,
                                      const int32_t *dims);

/* In prepare: ask for scratch memory that lives only while this node runs; *index receives
 * a handle for tfl_context_scratch() in eval. */
tfl_status tfl_context_request_scratch(tfl_context *ctx, tfl_node *node, size_t bytes,
                                       int *index);
void *tfl_context_scratch(tfl_context *ctx, const tfl_node *node, int index);

/* Records an error message, prefixed with the node's index and op name, and returns
 * TFL_ERROR so that `return tfl_context_error(ctx, node, "...")` reads naturally. */
tfl_status tfl_context_error(tfl_context *ctx, const tfl_node *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Same with an explicit status (e.g. TFL_UNSUPPORTED). */
tfl_status tfl_context_fail(tfl_context *ctx, const tfl_node *node, tfl_status status,
                            const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
