/* tfl — looking inside models and interpreters: operators, tensors and the memory plan.
 * Meant for tools (tfl inspect, bench) and for users debugging a model. */
#ifndef TFL_INSPECT_H
#define TFL_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/interpreter.h"
#include "tfl/model.h"
#include "tfl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tfl_op_info {
  int32_t builtin_code;  /* TFL_BUILTIN_CUSTOM (32) for custom ops */
  const char *name;      /* builtin name ("CONV_2D") or the custom code */
  int32_t version;
  int num_inputs;
  const int32_t *inputs; /* tensor indices, -1 for omitted optional inputs */
  int num_outputs;
  const int32_t *outputs;
} tfl_op_info;

typedef struct tfl_tensor_info {
  const char *name;
  tfl_type type;
  int ndim;
  const int32_t *shape;
  const int32_t *shape_signature; /* NULL when the model has none; -1 marks dynamic dims */
  tfl_quantization quantization; /* its kind, scales, blockwise parameters (tfl/tensor.h) */
  int is_constant;    /* has data in the model */
  int is_variable;
  int is_sparse;
  size_t data_bytes;  /* size of the constant data */
} tfl_tensor_info;

int tfl_model_op_count(const tfl_model *model, int subgraph);
tfl_status tfl_model_op_info(const tfl_model *model, int subgraph, int i, tfl_op_info *out);
int tfl_model_tensor_count(const tfl_model *model, int subgraph);
tfl_status tfl_model_tensor_info(const tfl_model *model, int subgraph, int i,
                                 tfl_tensor_info *out);
int tfl_model_input_count(const tfl_model *model, int subgraph);
int tfl_model_output_count(const tfl_model *model, int subgraph);
int32_t tfl_model_input(const tfl_model *model, int subgraph, int i);  /* tensor index or -1 */
int32_t tfl_model_output(const tfl_model *model, int subgraph, int i); /* tensor index or -1 */
const char *tfl_model_subgraph_name(const tfl_model *model, int subgraph); /* "" if none */

/* Signatures as the model declares them (usable without an interpreter). */
int tfl_model_signature_count(const tfl_model *model);
const char *tfl_model_signature_key(const tfl_model *model, int sig); /* NULL if out of range */
int tfl_model_signature_subgraph(const tfl_model *model, int sig);     /* -1 if out of range */
int tfl_model_signature_input_count(const tfl_model *model, int sig);
int tfl_model_signature_output_count(const tfl_model *model, int sig);
tfl_status tfl_model_signature_input(const tfl_model *model, int sig, int i, const char **name,
                                     int32_t *tensor);
tfl_status tfl_model_signature_output(const tfl_model *model, int sig, int i, const char **name,
                                      int32_t *tensor);

/* tfl's own kernels (builtin ops and the custom ops it ships), for listing what tfl supports:
 * i in [0, tfl_kernel_count()). */
int tfl_kernel_count(void);
const tfl_op_registration *tfl_kernel(int i);
/* The operator versions kernel i accepts, inclusive: its own range, or for a builtin kernel
 * declaring none, the versions TensorFlow Lite 2.19 defines for its op; 0/0 means any. */
void tfl_kernel_versions(int i, int32_t *min, int32_t *max);
/* The schema name of builtin operator `code` ("CONV_2D"), or NULL for an unknown code; and the
 * number of codes the schema defines. */
const char *tfl_builtin_name(int32_t code);
int tfl_builtin_code_count(void);

/* Whether tfl (plus the ops added to options, which may be NULL) has a kernel for this op. */
int tfl_op_supported(const tfl_options *options, int32_t builtin_code, const char *custom_name,
                     int32_t version);

typedef enum tfl_memory_kind {
  TFL_MEMORY_NONE = 0,   /* no storage (unused, or not yet allocated) */
  TFL_MEMORY_CONSTANT,   /* points into the model */
  TFL_MEMORY_ARENA,      /* planned into the activation arena */
  TFL_MEMORY_PERSISTENT, /* computed once at allocate time (constant inputs only) */
  TFL_MEMORY_DYNAMIC,    /* shape known only during invoke; heap */
  TFL_MEMORY_VARIABLE    /* state kept across invokes; heap */
} tfl_memory_kind;

typedef struct tfl_tensor_plan {
  tfl_memory_kind kind;
  size_t offset;   /* arena offset (TFL_MEMORY_ARENA only) */
  size_t bytes;
  int first_node;  /* lifetime in node indices (arena tensors); -1 if unused */
  int last_node;   /* node count means "until the end" (graph outputs) */
} tfl_tensor_plan;

/* Subgraph 0's plan, valid after tfl_interpreter_allocate_tensors(). */
int tfl_interpreter_node_count(const tfl_interpreter *interp);
tfl_status tfl_interpreter_tensor_plan(const tfl_interpreter *interp, int tensor,
                                       tfl_tensor_plan *out);
/* The kernel instruction-set level this interpreter uses: "scalar", "avx2", "avx512",
 * "avx512vnni", "neon" or "neondot". The environment variable TFL_CPU lowers it. */
const char *tfl_interpreter_cpu(const tfl_interpreter *interp);

/* Nodes computed once at allocate time because all their inputs are constant. */
int tfl_interpreter_node_is_folded(const tfl_interpreter *interp, int node);

/* Per-node timing of subgraph 0 (node i is operator i of the model's subgraph 0). Enabling
 * allocates the counters (and clears them when already enabled); each invoke then adds the
 * wall time of every node it runs, measured with a monotonic clock. Folded nodes never run,
 * and a node calling other subgraphs includes their time. Disabling frees the counters. */
tfl_status tfl_interpreter_set_profiling(tfl_interpreter *interp, int enabled);
/* Nanoseconds spent in a node and how many evaluations that covers; TFL_NOT_READY when
 * profiling is off. */
tfl_status tfl_interpreter_node_time_ns(const tfl_interpreter *interp, int node,
                                        uint64_t *total_ns, uint64_t *count);

#ifdef __cplusplus
}
#endif
#endif
