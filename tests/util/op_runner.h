/* Runs one op (builtin or custom) through the public API, for kernel unit tests:
 *
 *   ot_spec in[] = {OT_F32(2, ((int32_t[]){1, 3}), x), OT_F32_CONST(1, ((int32_t[]){3}), w)};
 *   ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
 *   mb_field opt[] = {MB_BYTE(0, TFL_ACT_RELU), MB_FIELDS_END};
 *   ot_result r;
 *   if (ot_run(TFL_OP_ADD, 1, in, 2, out, 1, ADD_OPTIONS_TYPE, opt, &r) == TFL_OK) {
 *     ... r.out[0].data / ndim / dims ...
 *   }
 *   ot_result_free(&r);
 *
 * Non-constant inputs become graph inputs fed with the given data; constant ones are buffers
 * in the model. Outputs are copied out of the interpreter. */
#ifndef TFL_TESTS_OP_RUNNER_H
#define TFL_TESTS_OP_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/tfl.h"
#include "util/model_builder.h"

typedef struct ot_spec {
  tfl_type type;
  int ndim;
  const int32_t *dims;
  const void *data;   /* input values (NULL for outputs, or an omitted optional input) */
  int constant;       /* 1: stored in the model as a constant buffer */
  int omitted;        /* 1: an omitted optional input (index -1) */
  /* quantization: q_count 0 = none, 1 = per-tensor, >1 = per-channel along q_axis */
  int q_count;
  const float *scales;
  const int64_t *zero_points;
  int q_axis;
  size_t bytes; /* size of data; 0 = element count x type size (set it for strings) */
} ot_spec;

#define OT_OUT(t) {.type = (t)}
#define OT_IN(t, n, d, p) {.type = (t), .ndim = (n), .dims = (d), .data = (p)}
#define OT_CONST(t, n, d, p) {.type = (t), .ndim = (n), .dims = (d), .data = (p), .constant = 1}
#define OT_F32(n, d, p) OT_IN(TFL_FLOAT32, n, d, p)
#define OT_F32_CONST(n, d, p) OT_CONST(TFL_FLOAT32, n, d, p)
#define OT_OMITTED {.omitted = 1}

typedef struct ot_tensor {
  tfl_type type;
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  void *data; /* malloc'd copy */
  size_t bytes;
} ot_tensor;

#define OT_MAX_OUT 8

typedef struct ot_result {
  int n_out;
  ot_tensor out[OT_MAX_OUT];
  char error[512]; /* the interpreter's message when the status is not TFL_OK */
} ot_result;

/* Output specs give the type (and optionally quantization); shapes come from the op, and a
 * shape an output spec gives (ndim, dims) is only what the model declares. On failure returns
 * the status with the loader's or interpreter's message in result->error and no outputs. Call
 * ot_result_free in every case. */
tfl_status ot_run(int builtin_code, int version, const ot_spec *in, int n_in,
                  const ot_spec *out, int n_out, int options_type, const mb_field *options,
                  ot_result *result);

/* For what ot_run does not cover: custom ops (by name and version, with raw custom_options
 * bytes) and several worker threads. The op is a builtin (custom_name NULL) with its options,
 * or a custom op; threads 0 or 1 runs everything in the caller. The model builder writes custom
 * ops as version 1; other versions are set on the loaded model (a white-box edit of its
 * operator code) before the interpreter is created. */
typedef struct ot_op {
  int builtin_code;
  int version;
  int options_type;
  const mb_field *options;
  const char *custom_name;
  const void *custom_options;
  size_t custom_options_size;
  int threads;
  const char *cpu; /* TFL_CPU while the interpreter is created (NULL: as it is) */
} ot_op;

/* TFL_CPU set for a while: ot_cpu_set(&e, cpu) (cpu NULL leaves it), then ot_cpu_restore(&e)
 * puts back what it was. */
typedef struct ot_cpu_env {
  int set, had;
  char saved[64];
} ot_cpu_env;
void ot_cpu_set(ot_cpu_env *e, const char *cpu);
void ot_cpu_restore(const ot_cpu_env *e);

tfl_status ot_run_op(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                     ot_result *result);

/* A custom op, single-threaded. */
tfl_status ot_run_custom(const char *name, int version, const void *options, size_t options_size,
                         const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                         ot_result *result);
void ot_result_free(ot_result *r);

/* Convenience for float outputs. */
static inline const float *ot_f32(const ot_result *r, int i) { return (const float *)r->out[i].data; }

#endif
