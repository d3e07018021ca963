/* Private structure of the interpreter. A tfl_context is one subgraph's execution state:
 * kernels receive it, and control-flow kernels use it to reach other subgraphs. */
#ifndef TFL_RUNTIME_INTERPRETER_H
#define TFL_RUNTIME_INTERPRETER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "runtime/cpu.h"
#include "runtime/registry.h"
#include "runtime/tensor.h"
#include "runtime/threadpool.h"
#include "tfl/interpreter.h"

#define TFL_MAX_SCRATCH 4
#define TFL_ERROR_SIZE 1024

typedef struct tfl_node_rt {
  size_t scratch_size[TFL_MAX_SCRATCH];
  size_t scratch_offset[TFL_MAX_SCRATCH]; /* in the arena */
  void *scratch_heap[TFL_MAX_SCRATCH];    /* for nodes run outside the plan */
  size_t scratch_heap_size[TFL_MAX_SCRATCH];
  int n_scratch;
  int folded;   /* evaluated ahead of invoke: outputs are persistent */
  int deferred; /* has a dynamic input: prepared again on every invoke */
  int initialized;
  int owns_data; /* user_data came from data_size, not init */
} tfl_node_rt;

struct tfl_context {
  struct tfl_interpreter *interp;
  const tfl_model_subgraph *msg;
  int index;
  int n_tensors;
  tfl_tensor *tensors;
  int n_nodes;
  tfl_node *nodes;
  tfl_node_rt *rt;
  uint8_t *arena;
  size_t arena_size;
  size_t arena_capacity;
  void *arena_block; /* the unaligned allocation behind arena */
  int32_t *first_use; /* per tensor, for the plan (and tfl inspect --plan) */
  int32_t *last_use;
  size_t *arena_offset; /* per tensor; SIZE_MAX when not in the arena */
  uint8_t *graph_input; /* per tensor: 1 if listed in the subgraph's inputs */
  int prepared;         /* allocate_tensors succeeded and nothing changed since */
  int preparing;        /* guards against recursive subgraph calls during prepare */
  int running;          /* guards against recursion during invoke */
  int current_node;     /* node being prepared or run, -1 otherwise */
  void *fused;          /* what the fusion pass allocated (runtime/fuse.h) */
};

typedef struct tfl_resource {
  char *container;
  char *name;
  tfl_tensor value; /* heap storage; ndim -1 until assigned */
} tfl_resource;

struct tfl_options {
  int threads;
  tfl_error_callback error_cb;
  void *error_user;
  size_t max_arena_bytes;
  size_t max_tensor_bytes;
  int preserve_all; /* tfl_options_set_preserve_all_tensors */
  struct tfl_registry registry;
};

struct tfl_signature {
  struct tfl_interpreter *interp;
  const tfl_model_signature *def;
};

struct tfl_interpreter {
  const tfl_model *model;
  struct tfl_options options;
  int n_subgraphs;
  struct tfl_context *subgraphs;
  struct tfl_signature *signatures;
  tfl_threadpool *pool;
  struct tfl_profile *profile; /* per-node timing when enabled (runtime/profile.h) */
  tfl_cpu_level cpu;
  int n_resources;
  tfl_resource *resources;
  unsigned variables_epoch;
  atomic_int cancel;
  unsigned error_seq; /* bumped per recorded error: tells whether a failing kernel said why */
  char error[TFL_ERROR_SIZE];
};

/* Records the message (and calls the user's callback); returns status. */
tfl_status tfl_interp_error(struct tfl_interpreter *interp, tfl_status status, const char *fmt,
                            ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepares (shapes, kernels, plan) and runs a subgraph. Control-flow kernels call these for
 * the subgraphs they own. */
tfl_status tfl_subgraph_allocate(struct tfl_context *ctx);
tfl_status tfl_subgraph_invoke(struct tfl_context *ctx);
struct tfl_context *tfl_subgraph_get(struct tfl_context *ctx, int index);

/* Gives a graph input of ctx a new shape (takes effect at the next allocate). */
tfl_status tfl_subgraph_resize_tensor(struct tfl_context *ctx, int32_t tensor, int ndim,
                                      const int32_t *dims);
/* Restores variable tensors to their initial values (see interpreter.c). */
tfl_status tfl_subgraph_reset_variables(struct tfl_context *ctx);
void tfl_resources_free(struct tfl_interpreter *interp);

/* Plans the arena for a prepared subgraph; see planner.c. */
tfl_status tfl_plan_arena(struct tfl_context *ctx);

/* Fills in the default options (no user ops). */
void tfl_options_defaults(struct tfl_options *o);

/* Byte size for a shape and type, with overflow and limit checks. */
tfl_status tfl_bytes_for(struct tfl_context *ctx, tfl_type type, int ndim, const int32_t *dims,
                         size_t *bytes);

#endif
