/* What a builtin kernel needs: the public op API, the tensor internals, access to builtin
 * options, and small shared helpers. Kernels include only this (plus quant.h if quantized). */
#ifndef TFL_RUNTIME_KERNEL_H
#define TFL_RUNTIME_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/cpu.h"
#include "runtime/tensor.h"
#include "tfl/op.h"

/* --- builtin options ------------------------------------------------------------------
 * `field` is the field's index in the options table of the TFLite schema (first field is 0).
 * Each field is read at the width the schema declares (bytes for enums and bools), converted
 * to the accessor's type; absent options or fields read as `def`. */
int tfl_opt_type(const tfl_node *node); /* BuiltinOptions union type, 0 if none */
int32_t tfl_opt_int(const tfl_node *node, int field, int32_t def);
int64_t tfl_opt_int64(const tfl_node *node, int field, int64_t def);
float tfl_opt_float(const tfl_node *node, int field, float def);
int tfl_opt_bool(const tfl_node *node, int field, int def);
/* A string field (NUL-terminated, verified), or NULL when absent. */
const char *tfl_opt_string(const tfl_node *node, int field);
/* An int32 vector field: number of elements in *n (0 if absent), element i via tfl_opt_ivec_at. */
int tfl_opt_ivec_len(const tfl_node *node, int field);
int32_t tfl_opt_ivec_at(const tfl_node *node, int field, int i);
/* BuiltinOptions2 (ops with codes > 150 use it). */
int tfl_opt2_type(const tfl_node *node);
int32_t tfl_opt2_int(const tfl_node *node, int field, int32_t def);
float tfl_opt2_float(const tfl_node *node, int field, float def);
int tfl_opt2_bool(const tfl_node *node, int field, int def);

/* In prepare: the output's value is known now (e.g. SHAPE of a tensor whose shape is fixed):
 * gives it persistent storage, sized by its current shape, that prepare must fill. Readers
 * then see a constant, so whole shape computations fold away; a node all of whose outputs are
 * set this way is not run at invoke. */
tfl_status tfl_context_set_persistent(tfl_context *ctx, tfl_tensor *t);

/* --- fused activations (ActivationFunctionType in the schema) ------------------------- */
enum {
  TFL_ACT_NONE = 0,
  TFL_ACT_RELU = 1,
  TFL_ACT_RELU_N1_TO_1 = 2,
  TFL_ACT_RELU6 = 3,
  TFL_ACT_TANH = 4,
  TFL_ACT_SIGN_BIT = 5
};
/* Clamp bounds for the clamp-style activations; TANH and SIGN_BIT need
 * tfl_activation_apply_f32. Returns TFL_UNSUPPORTED for unknown codes. */
tfl_status tfl_activation_range_f32(int act, float *lo, float *hi);
/* Applies any fused activation in place over n floats. */
void tfl_activation_apply_f32(int act, float *x, size_t n);
/* Reports an error naming the activation when it is unknown. */
tfl_status tfl_check_activation(tfl_context *ctx, const tfl_node *node, int act);

/* --- checks that prepare functions share --------------------------------------------- */
tfl_status tfl_check_io(tfl_context *ctx, const tfl_node *node, int min_in, int max_in,
                        int n_out);
tfl_status tfl_check_type(tfl_context *ctx, const tfl_node *node, const tfl_tensor *t,
                          const char *what, tfl_type expected);
/* Two tensors have identical shapes. */
int tfl_same_shape(const tfl_tensor *a, const tfl_tensor *b);
size_t tfl_tensor_count(const tfl_tensor *t); /* element count */

/* --- quantization details ------------------------------------------------------------------
 * The QuantizationDetails union of a tensor's quantization in the model, which struct
 * tfl_tensor does not carry. type is the union type (0 when t has none or is not a tensor of
 * ctx's subgraph); present is 0 when the union names a type but holds no table. For blockwise
 * quantization, scales and zero_points are the table's tensor indices in ctx's subgraph as
 * the model gives them (range-checked at load; zero_points -1 means none, and an absent field
 * reads as the schema's default 0) and block_size > 0. */
enum { TFL_QDETAILS_NONE = 0, TFL_QDETAILS_CUSTOM = 1, TFL_QDETAILS_BLOCKWISE = 2,
       TFL_QDETAILS_MULTI_AXIS = 3 };
typedef struct tfl_quant_details {
  int type;
  int present;
  int32_t scales, zero_points, block_size;
} tfl_quant_details;
tfl_quant_details tfl_tensor_quant_details(tfl_context *ctx, const tfl_tensor *t);

/* --- threads ----------------------------------------------------------------------------
 * The interpreter owns a pool of `threads` workers (the caller counts as one). Eval may split
 * its work into n_tasks independent pieces: fn(arg, task, thread) runs once per task, with
 * `thread` in [0, tfl_context_threads()) so per-thread scratch can be indexed by it. */
int tfl_context_threads(tfl_context *ctx);
void tfl_context_parallel(tfl_context *ctx, int n_tasks, void (*fn)(void *arg, int task, int thread),
                          void *arg);

/* --- CPU dispatch ---------------------------------------------------------------------
 * The instruction-set level kernels may use, chosen once per interpreter (runtime/cpu.h).
 * Optimized kernels pick their variant in prepare from this, never from build flags. */
tfl_cpu_level tfl_context_cpu(tfl_context *ctx);

/* --- other subgraphs (control flow) ------------------------------------------------------
 * Control-flow kernels run other subgraphs of the same interpreter. A subgraph is itself a
 * tfl_context. Preparing one (re)plans it; running it checks for cancellation between ops.
 * Calling a subgraph that is already being prepared or run (recursion) is an error. */
int tfl_subgraph_count(tfl_context *ctx);
tfl_context *tfl_context_subgraph(tfl_context *ctx, int index); /* NULL if out of range */
int tfl_subgraph_input_count(tfl_context *sg);
int tfl_subgraph_output_count(tfl_context *sg);
tfl_tensor *tfl_subgraph_input(tfl_context *sg, int i);
tfl_tensor *tfl_subgraph_output(tfl_context *sg, int i);
tfl_status tfl_subgraph_resize_input(tfl_context *sg, int i, int ndim, const int32_t *dims);
tfl_status tfl_subgraph_prepare(tfl_context *sg);
tfl_status tfl_subgraph_run(tfl_context *sg);
/* True if tfl_interpreter_cancel() was called; consumes the request (like an op boundary
 * does), so a kernel that sees it must stop and return TFL_CANCELLED. For long loops. */
int tfl_context_cancelled(tfl_context *ctx);

/* --- resource variables --------------------------------------------------------------------
 * Variables shared by all subgraphs of an interpreter, named by (container, shared_name).
 * They keep their values across invokes until tfl_interpreter_reset_variables(). */
tfl_status tfl_context_resource(tfl_context *ctx, const char *container, const char *name,
                                int32_t *id);
/* The variable's storage (type, shape and data); NULL if id is unknown. Its shape is [-]
 * (ndim -1) until first assigned. */
tfl_tensor *tfl_context_resource_tensor(tfl_context *ctx, int32_t id);
/* Sets a variable's value (copying `value`), reallocating its storage when the size grows. */
tfl_status tfl_context_resource_assign(tfl_context *ctx, int32_t id, const tfl_tensor *value);
/* Bumped by tfl_interpreter_reset_variables(): CALL_ONCE runs its initializer again after it. */
unsigned tfl_context_variables_epoch(tfl_context *ctx);

/* --- registration --------------------------------------------------------------------- */
typedef struct tfl_registry tfl_registry;
tfl_status tfl_registry_add(tfl_registry *reg, const tfl_op_registration *r);

#endif
