/* tfl — the interpreter: plans memory once and runs a model's graph.
 *
 * Lifecycle: create -> (resize inputs) -> allocate_tensors -> fill inputs -> invoke -> read
 * outputs -> (invoke again ...) -> free. After resizing an input, allocate_tensors must be
 * called again before invoke.
 *
 * Thread safety: a tfl_model may be shared by any number of interpreters in any threads. One
 * interpreter must be used by one thread at a time, except tfl_interpreter_cancel(), which any
 * thread may call at any time. */
#ifndef TFL_INTERPRETER_H
#define TFL_INTERPRETER_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/model.h"
#include "tfl/op.h"
#include "tfl/status.h"
#include "tfl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tfl_options tfl_options;
typedef struct tfl_interpreter tfl_interpreter;
typedef struct tfl_signature tfl_signature;

typedef void (*tfl_error_callback)(void *user_data, const char *message);

/* --- options ------------------------------------------------------------------------- */

tfl_options *tfl_options_create(void); /* NULL when out of memory */
void tfl_options_free(tfl_options *options);
/* Worker threads for kernels that split work; 1 (default) runs everything in the caller. */
tfl_status tfl_options_set_threads(tfl_options *options, int threads);
/* Called with every error message the interpreter records, in the calling thread. */
tfl_status tfl_options_set_error_callback(tfl_options *options, tfl_error_callback callback,
                                          void *user_data);
/* Adds a custom (or replacement builtin) op. The registration is copied; user callbacks and
 * op_user_data must outlive every interpreter created with these options. Later additions
 * take precedence over earlier ones and over tfl's builtin kernels. */
tfl_status tfl_options_add_op(tfl_options *options, const tfl_op_registration *registration);
/* Upper bounds a model may ask for: the planned arena in bytes and any single tensor in bytes.
 * 0 keeps the default (1 GiB for both). allocate_tensors fails with TFL_LIMIT_EXCEEDED. */
tfl_status tfl_options_set_limits(tfl_options *options, size_t max_arena_bytes,
                                  size_t max_tensor_bytes);

/* Keeps every tensor's values after invoke, intermediates included (TFLite's
 * preserve_all_tensors), for debugging: no two tensors share arena bytes and no ops are fused,
 * so the arena grows and some models run slower. Off by default. */
tfl_status tfl_options_set_preserve_all_tensors(tfl_options *options, int preserve);

/* --- interpreter --------------------------------------------------------------------- */

/* Builds an interpreter for subgraph 0 (and every subgraph it may call). Fails if an op has
 * no kernel, naming every unsupported op and its node. options may be NULL. On failure *out
 * is NULL and, when err is not NULL, the message is written there. */
tfl_status tfl_interpreter_create(const tfl_model *model, const tfl_options *options,
                                  tfl_interpreter **out, char *err, size_t err_size);
void tfl_interpreter_free(tfl_interpreter *interp);

/* The last error message recorded, or "" if none. Valid until the next call. */
const char *tfl_interpreter_error(const tfl_interpreter *interp);

int tfl_interpreter_input_count(const tfl_interpreter *interp);
int tfl_interpreter_output_count(const tfl_interpreter *interp);
tfl_tensor *tfl_interpreter_input(tfl_interpreter *interp, int i);   /* NULL if out of range */
tfl_tensor *tfl_interpreter_output(tfl_interpreter *interp, int i);  /* NULL if out of range */
/* Subgraph 0's tensor count and any tensor by index or by name (NULL if absent). */
int tfl_interpreter_tensor_count(const tfl_interpreter *interp);
tfl_tensor *tfl_interpreter_tensor(tfl_interpreter *interp, int index);
tfl_tensor *tfl_interpreter_tensor_by_name(tfl_interpreter *interp, const char *name);

/* Changes input i's shape; takes effect at the next allocate_tensors. */
tfl_status tfl_interpreter_resize_input(tfl_interpreter *interp, int i, int ndim,
                                        const int32_t *dims);
/* Propagates shapes, prepares every op and plans the arena. */
tfl_status tfl_interpreter_allocate_tensors(tfl_interpreter *interp);
/* Runs the graph once. Allocates no memory (except for tensors whose shape depends on data). */
tfl_status tfl_interpreter_invoke(tfl_interpreter *interp);
/* Restores every variable (LSTM/SVDF state tensors and resource variables) to its initial
 * value, as if the interpreter were new; CALL_ONCE initializers run again at the next invoke. */
tfl_status tfl_interpreter_reset_variables(tfl_interpreter *interp);
/* Thread-safe: makes a running (or the next) invoke stop at the next op with TFL_CANCELLED. */
void tfl_interpreter_cancel(tfl_interpreter *interp);

/* Bytes of the planned activation arena (0 before allocate_tensors). */
size_t tfl_interpreter_arena_size(const tfl_interpreter *interp);

/* --- signatures ---------------------------------------------------------------------- */

int tfl_interpreter_signature_count(const tfl_interpreter *interp);
const char *tfl_interpreter_signature_key(const tfl_interpreter *interp, int i);
/* The runner for a signature key; owned by the interpreter. NULL if there is no such key. */
tfl_signature *tfl_interpreter_signature(tfl_interpreter *interp, const char *key);

int tfl_signature_input_count(const tfl_signature *sig);
int tfl_signature_output_count(const tfl_signature *sig);
const char *tfl_signature_input_name(const tfl_signature *sig, int i);
const char *tfl_signature_output_name(const tfl_signature *sig, int i);
tfl_tensor *tfl_signature_input(tfl_signature *sig, const char *name);
tfl_tensor *tfl_signature_output(tfl_signature *sig, const char *name);
tfl_status tfl_signature_resize_input(tfl_signature *sig, const char *name, int ndim,
                                      const int32_t *dims);
tfl_status tfl_signature_allocate_tensors(tfl_signature *sig);
tfl_status tfl_signature_invoke(tfl_signature *sig);

#ifdef __cplusplus
}
#endif
#endif
