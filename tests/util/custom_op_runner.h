/* Runs one op through the public API, like op_runner.h's ot_run (same specs and results), for
 * what ot_run does not cover: custom ops (by name and version, with raw custom_options bytes),
 * several worker threads, and output shapes declared in the model:
 *
 *   ot_spec in[] = {OT_F32(2, ((int32_t[]){1, 3}), x)};
 *   ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
 *   ot_result r;
 *   tfl_status st = ot_run_custom("MyOp", 1, opts, opts_size, in, 1, out, 1, &r);
 *   ...
 *   ot_result_free(&r);
 *
 * The model builder writes custom ops as version 1; other versions are set on the loaded model
 * (a white-box edit of its operator code) before the interpreter is created. */
#ifndef TFL_TESTS_CUSTOM_OP_RUNNER_H
#define TFL_TESTS_CUSTOM_OP_RUNNER_H

#include "util/op_runner.h"

/* The op: a builtin (custom_name NULL) with its options, or a custom op. threads 0 or 1 runs
 * everything in the caller. Output specs may give a shape (ndim, dims): the model declares it
 * for the output tensor. */
typedef struct ot_op {
  int builtin_code;
  int version;
  int options_type;
  const mb_field *options;
  const char *custom_name;
  const void *custom_options;
  size_t custom_options_size;
  int threads;
} ot_op;

tfl_status ot_run_op(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                     ot_result *result);

/* A custom op, single-threaded. */
tfl_status ot_run_custom(const char *name, int version, const void *options, size_t options_size,
                         const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                         ot_result *result);

#endif
