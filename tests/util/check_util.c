#define _POSIX_C_SOURCE 200809L /* setenv */
#include "util/check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernel.h"
#include "tfl/tfl.h"
#include "util/test.h"

size_t ck_count(int ndim, const int32_t *dims) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  return n;
}

void ck_unravel(size_t flat, int ndim, const int32_t *dims, int32_t *idx) {
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = (int32_t)(flat % (size_t)dims[d]);
    flat /= (size_t)dims[d];
  }
}

size_t ck_ravel(int ndim, const int32_t *dims, const int32_t *idx) {
  size_t flat = 0;
  for (int d = 0; d < ndim; d++) flat = flat * (size_t)dims[d] + (size_t)idx[d];
  return flat;
}

int ck_shape_is(const ot_tensor *t, int ndim, const int32_t *dims) {
  if (t->ndim != ndim) return 0;
  for (int i = 0; i < ndim; i++)
    if (t->dims[i] != dims[i]) return 0;
  return 1;
}

int ck_bytes_are(const ot_tensor *t, const void *want, size_t n) {
  return t->bytes == n && (n == 0 || memcmp(t->data, want, n) == 0);
}

void ck_run_expect(const char *file, int line, int op, const ot_spec *in, int n_in,
                   tfl_type out_type, int opt_type, const mb_field *opts, int ndim,
                   const int32_t *dims, const void *want, size_t bytes) {
  ot_spec out[1] = {OT_OUT(out_type)};
  ot_result r;
  tfl_status st = ot_run(op, 1, in, n_in, out, 1, opt_type, opts, &r);
  if (st != TFL_OK) {
    test_fail(file, line, "op %d failed: %s", op, r.error);
  } else {
    if (r.out[0].type != out_type) test_fail(file, line, "output type %d", r.out[0].type);
    if (!ck_shape_is(&r.out[0], ndim, dims)) test_fail(file, line, "output shape differs");
    if (!ck_bytes_are(&r.out[0], want, bytes)) test_fail(file, line, "output values differ");
  }
  ot_result_free(&r);
}

void ck_f32_output(const ot_result *r, int i, int ndim, const int32_t *dims, const double *want,
                   double rel_tol) {
  CHECK_EQ_INT(r->out[i].ndim, ndim);
  for (int d = 0; d < ndim; d++) CHECK_EQ_INT(r->out[i].dims[d], dims[d]);
  const float *got = ot_f32(r, i);
  for (size_t k = 0; k < ck_count(ndim, dims) && test_failures_in_current == 0; k++)
    CHECK_NEAR(got[k], want[k], rel_tol * (1.0 + fabs(want[k])));
}

uint32_t ck_lcg(uint32_t *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  return *seed >> 8;
}

float ck_rnd(uint32_t *seed, float lo, float hi) {
  return lo + (hi - lo) * (float)(ck_lcg(seed) & 0xFFFFFF) / (float)0x1000000;
}

int32_t ck_rnd_int(uint32_t *seed, int32_t lo, int32_t hi) {
  return lo + (int32_t)(ck_lcg(seed) % (uint32_t)(hi - lo + 1));
}

void *ck_pattern(size_t bytes, unsigned seed) {
  uint8_t *p = malloc(bytes ? bytes : 1);
  uint32_t s = seed * 2654435761u + 7u;
  for (size_t i = 0; i < bytes; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (uint8_t)(s >> 24);
  }
  return p;
}

double ck_float_activation(int act, double x) {
  switch (act) {
    case TFL_ACT_RELU:
      return x < 0 ? 0 : x;
    case TFL_ACT_RELU_N1_TO_1:
      return x < -1 ? -1 : x > 1 ? 1 : x;
    case TFL_ACT_RELU6:
      return x < 0 ? 0 : x > 6 ? 6 : x;
    default:
      return x;
  }
}

int32_t ck_window_out_size(int padding, int32_t in, int32_t k, int stride, int dil) {
  int32_t eff = (k - 1) * dil + 1;
  if (padding == 0) return (in + stride - 1) / stride;
  return in >= eff ? (in - eff) / stride + 1 : 0;
}

int32_t ck_window_pad(int32_t in, int32_t out, int32_t k, int stride, int dil) {
  int32_t total = (out - 1) * stride + (k - 1) * dil + 1 - in;
  return total > 0 ? total / 2 : 0;
}

float ck_pseudo(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

float *ck_random_floats(size_t n, unsigned seed) {
  float *v = malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; i++) v[i] = ck_pseudo(&seed);
  return v;
}

tfl_status ck_open(const uint8_t *bytes, size_t size, int threads, const char *cpu,
                   tfl_model **model, tfl_interpreter **interp, char *err, size_t err_size) {
  ot_cpu_env env;
  ot_cpu_set(&env, cpu);
  *model = NULL;
  *interp = NULL;
  tfl_options *opts = tfl_options_create();
  tfl_status st = opts ? tfl_options_set_threads(opts, threads) : TFL_OUT_OF_MEMORY;
  if (st == TFL_OK) st = tfl_model_load_buffer(bytes, size, model, err, err_size);
  if (st == TFL_OK) st = tfl_interpreter_create(*model, opts, interp, err, err_size);
  ot_cpu_restore(&env);
  tfl_options_free(opts);
  return st;
}

tfl_status ck_run_float_model(const uint8_t *bytes, size_t size, int threads, const char *cpu,
                              unsigned seed, void *out, size_t out_bytes) {
  tfl_model *model;
  tfl_interpreter *interp;
  tfl_status st = ck_open(bytes, size, threads, cpu, &model, &interp, NULL, 0);
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(interp);
  if (st == TFL_OK) {
    tfl_tensor *x = tfl_interpreter_input(interp, 0);
    float *in = ck_random_floats(tfl_tensor_element_count(x), seed);
    memcpy(tfl_tensor_data(x), in, tfl_tensor_byte_size(x));
    free(in);
    st = tfl_interpreter_invoke(interp);
  }
  if (st == TFL_OK) {
    const tfl_tensor *y = tfl_interpreter_output(interp, 0);
    st = tfl_tensor_byte_size(y) >= out_bytes ? TFL_OK : TFL_ERROR;
    if (st == TFL_OK) memcpy(out, tfl_tensor_data_const(y), out_bytes);
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return st;
}

uint32_t ck_xorshift(uint32_t *state) {
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return *state;
}

int32_t ck_xorshift_in(uint32_t *state, int32_t lo, int32_t hi) {
  return lo + (int32_t)(ck_xorshift(state) % (uint32_t)(hi - lo + 1));
}

int32_t ck_code_at(tfl_type type, const void *p, size_t i) {
  return type == TFL_UINT8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

tfl_window_axis ck_window_axis(int32_t in, int32_t filter, int32_t stride, int32_t dilation,
                               int same) {
  tfl_window_axis a = {in, filter, stride, dilation, 0, 0};
  const int32_t eff = (filter - 1) * dilation + 1;
  a.out = same ? (in + stride - 1) / stride : (in - eff + stride) / stride;
  if (a.out < 0) a.out = 0;
  const int32_t total = (a.out - 1) * stride + eff - in;
  a.pad = same && total > 0 ? total / 2 : 0;
  return a;
}

tfl_tensor ck_const_tensor(tfl_type type, void *data) {
  tfl_tensor t;
  memset(&t, 0, sizeof(t));
  t.type = type;
  t.data = data;
  t.alloc = TFL_ALLOC_CONST;
  return t;
}
