/* Small pieces the kernel tests share: shapes and flat indices, deterministic test bytes,
 * result comparisons, and the float reference pieces of the 2-D window ops (output size and
 * padding, fused activation). */
#ifndef TFL_TESTS_CHECK_UTIL_H
#define TFL_TESTS_CHECK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/window.h"
#include "util/op_runner.h"

/* A shape literal: DIMS(2, 3). */
#define DIMS(...) ((const int32_t[]){__VA_ARGS__})

/* Deterministic pseudo-random floats in [-1, 1) (a linear congruential generator, the same
 * sequence on every machine); ck_random_floats mallocs n of them (free them). */
float ck_pseudo(unsigned *state);
float *ck_random_floats(size_t n, unsigned seed);

/* Loads a model built in memory and creates its interpreter on `threads` threads, with
 * TFL_CPU = cpu while it is created (NULL: as it is; restored afterwards). Tensors are not
 * allocated yet. On failure the message goes to err; free what is not NULL in any case. */
tfl_status ck_open(const uint8_t *bytes, size_t size, int threads, const char *cpu,
                   tfl_model **model, tfl_interpreter **interp, char *err, size_t err_size);

/* Runs a float model of one input and one output built in memory: an interpreter on `threads`
 * threads, created with TFL_CPU = cpu (NULL: as it is; restored afterwards), the input filled
 * with ck_random_floats(count, seed), one invoke; copies out_bytes of the output to out. */
tfl_status ck_run_float_model(const uint8_t *bytes, size_t size, int threads, const char *cpu,
                              unsigned seed, void *out, size_t out_bytes);

/* Element count of a shape (1 for a scalar). */
size_t ck_count(int ndim, const int32_t *dims);
/* Row-major flat index <-> coordinates. */
void ck_unravel(size_t flat, int ndim, const int32_t *dims, int32_t *idx);
size_t ck_ravel(int ndim, const int32_t *dims, const int32_t *idx);

/* Whether an output has exactly this shape / exactly these n bytes. */
int ck_shape_is(const ot_tensor *t, int ndim, const int32_t *dims);
int ck_bytes_are(const ot_tensor *t, const void *want, size_t n);

/* Runs a one-output builtin op (version 1) and checks the output's type, shape and exact
 * bytes; failures are reported at file:line. */
void ck_run_expect(const char *file, int line, int op, const ot_spec *in, int n_in,
                   tfl_type out_type, int opt_type, const mb_field *opts, int ndim,
                   const int32_t *dims, const void *want, size_t bytes);

/* Checks output i against a reference in double: the shape (ndim, dims), then the elements
 * within rel_tol * (1 + |want|), up to the first failure of the running test. */
void ck_f32_output(const ot_result *r, int i, int ndim, const int32_t *dims, const double *want,
                   double rel_tol);

/* A fixed-seed linear congruential generator: advances *seed, returns 24 random bits. */
uint32_t ck_lcg(uint32_t *seed);
/* Uniform in [lo, hi) / [lo, hi] from ck_lcg. */
float ck_rnd(uint32_t *seed, float lo, float hi);
int32_t ck_rnd_int(uint32_t *seed, int32_t lo, int32_t hi);

/* A xorshift32 generator for the quantized kernel tests: advances *state (never 0), returns 32
 * random bits; ck_xorshift_in is uniform in [lo, hi]. */
uint32_t ck_xorshift(uint32_t *state);
int32_t ck_xorshift_in(uint32_t *state, int32_t lo, int32_t hi);
/* Element i of int8 (any type but uint8) or uint8 codes. */
int32_t ck_code_at(tfl_type type, const void *p, size_t i);
/* One spatial axis of a window as tfl_window_plan sets it, with TensorFlow's SAME/VALID rule
 * written out here. */
tfl_window_axis ck_window_axis(int32_t in, int32_t filter, int32_t stride, int32_t dilation,
                               int same);
/* A constant tensor of `type` over data, with nothing else set (for kernel-level tests). */
tfl_tensor ck_const_tensor(tfl_type type, void *data);

/* A malloc'd buffer of deterministic, distinct-ish bytes (any element type). */
void *ck_pattern(size_t bytes, unsigned seed);

/* The fused activation as TFLite's float conv, depthwise and pool kernels apply it: TANH and
 * SIGN_BIT are ignored. */
double ck_float_activation(int act, double x);
/* Output size and leading padding of a window op along one axis (padding 0 SAME, 1 VALID). */
int32_t ck_window_out_size(int padding, int32_t in, int32_t k, int stride, int dil);
int32_t ck_window_pad(int32_t in, int32_t out, int32_t k, int stride, int dil);

#endif
