/* Runs one op through the public API (see op_runner.h): builds a one-op model, loads it, feeds
 * the non-constant inputs, invokes and copies the outputs out. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "util/op_runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

#define OT_MAX_IN 64

static tfl_status ot_fail(ot_result *r, tfl_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static tfl_status ot_fail(ot_result *r, tfl_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof(r->error), fmt, ap);
  va_end(ap);
  return status;
}

static size_t ot_bytes(const ot_spec *s) {
  if (s->bytes) return s->bytes;
  size_t n = tfl_type_size(s->type);
  for (int i = 0; i < s->ndim; i++) n *= (size_t)s->dims[i];
  return n;
}

static int ot_add_tensor(mb_model *m, const ot_spec *s, int ndim, const void *data,
                         const char *prefix, int i) {
  char name[32];
  snprintf(name, sizeof(name), "%s%d", prefix, i);
  int t = mb_tensor(m, s->type, ndim, s->dims, data, data ? ot_bytes(s) : 0, name);
  if (s->q_count > 0) mb_quant(m, t, s->q_count, s->scales, s->zero_points, s->q_axis);
  return t;
}

/* The one-op model; feed[k] receives the index of the spec behind graph input k. */
static uint8_t *ot_build(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out,
                         int n_out, int *feed, int *n_feed, size_t *size) {
  mb_model *m = mb_new();
  if (!m) return NULL;
  int op_in[OT_MAX_IN], op_out[OT_MAX_OUT], graph_in[OT_MAX_IN];
  *n_feed = 0;
  for (int i = 0; i < n_in; i++) {
    if (in[i].omitted) {
      op_in[i] = -1;
    } else if (in[i].constant) {
      op_in[i] = ot_add_tensor(m, &in[i], in[i].ndim, in[i].data, "const", i);
    } else {
      op_in[i] = ot_add_tensor(m, &in[i], in[i].ndim, NULL, "input", i);
      feed[*n_feed] = i;
      graph_in[(*n_feed)++] = op_in[i];
    }
  }
  for (int i = 0; i < n_out; i++)
    op_out[i] = ot_add_tensor(m, &out[i], out[i].ndim, NULL, "output", i);
  mb_inputs(m, *n_feed, graph_in);
  mb_outputs(m, n_out, op_out);
  if (op->custom_name)
    mb_custom_op(m, op->custom_name, n_in, op_in, n_out, op_out, op->custom_options,
                 op->custom_options_size);
  else
    mb_op(m, op->builtin_code, op->version, n_in, op_in, n_out, op_out, op->options_type,
          op->options);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

static tfl_status ot_feed(tfl_interpreter *interp, int k, const ot_spec *s, ot_result *r) {
  tfl_tensor *t = tfl_interpreter_input(interp, k);
  size_t bytes = ot_bytes(s);
  if (bytes == 0 && tfl_tensor_byte_size(t) == 0) return TFL_OK;
  if (!s->data) return ot_fail(r, TFL_INVALID_ARGUMENT, "ot_run: graph input %d has no data", k);
  tfl_status st = tfl_tensor_copy_from(t, s->data, bytes);
  if (st != TFL_OK)
    ot_fail(r, st, "ot_run: graph input %d: %zu bytes given, the tensor has %zu", k, bytes,
            tfl_tensor_byte_size(t));
  return st;
}

static tfl_status ot_fetch(const tfl_tensor *t, ot_tensor *o, ot_result *r) {
  o->type = tfl_tensor_type(t);
  o->ndim = tfl_tensor_ndim(t);
  for (int d = 0; d < o->ndim && d < TFL_MAX_DIMS; d++) o->dims[d] = tfl_tensor_dim(t, d);
  o->bytes = tfl_tensor_byte_size(t);
  o->data = malloc(o->bytes ? o->bytes : 1);
  if (!o->data) return ot_fail(r, TFL_OUT_OF_MEMORY, "ot_run: out of memory");
  if (o->bytes && tfl_tensor_copy_to(t, o->data, o->bytes) != TFL_OK)
    return ot_fail(r, TFL_ERROR, "ot_run: copying an output failed");
  return TFL_OK;
}

static tfl_status ot_invoke(tfl_interpreter *interp, const ot_spec *in, const int *feed,
                            int n_feed, ot_result *r) {
  tfl_status st = tfl_interpreter_allocate_tensors(interp);
  for (int k = 0; st == TFL_OK && k < n_feed; k++) st = ot_feed(interp, k, &in[feed[k]], r);
  if (st == TFL_OK) st = tfl_interpreter_invoke(interp);
  int n_out = tfl_interpreter_output_count(interp);
  for (int i = 0; st == TFL_OK && i < n_out && i < OT_MAX_OUT; i++) {
    st = ot_fetch(tfl_interpreter_output(interp, i), &r->out[i], r);
    r->n_out = i + 1;
  }
  if (st != TFL_OK && !r->error[0])
    ot_fail(r, st, "%s", tfl_interpreter_error(interp));
  return st;
}

/* Gives the model's custom operator codes the requested version. */
static void ot_set_custom_version(tfl_model *model, const char *name, int version) {
  for (int i = 0; i < model->n_opcodes; i++)
    if (model->opcodes[i].custom_code && strcmp(model->opcodes[i].custom_code, name) == 0)
      model->opcodes[i].version = version;
}

void ot_cpu_set(ot_cpu_env *e, const char *cpu) {
  const char *old = getenv("TFL_CPU");
  e->set = cpu != NULL;
  e->had = old != NULL;
  snprintf(e->saved, sizeof(e->saved), "%s", old ? old : "");
  if (cpu) setenv("TFL_CPU", cpu, 1);
}

void ot_cpu_restore(const ot_cpu_env *e) {
  if (!e->set) return;
  if (e->had)
    setenv("TFL_CPU", e->saved, 1);
  else
    unsetenv("TFL_CPU");
}

static tfl_status ot_create(const ot_op *op, const tfl_model *model, tfl_interpreter **interp,
                            ot_result *r) {
  tfl_options *options = tfl_options_create();
  if (!options) return ot_fail(r, TFL_OUT_OF_MEMORY, "ot_run: out of memory");
  tfl_status st = tfl_options_set_threads(options, op->threads > 1 ? op->threads : 1);
  ot_cpu_env env;
  ot_cpu_set(&env, op->cpu);
  if (st == TFL_OK) st = tfl_interpreter_create(model, options, interp, r->error, sizeof(r->error));
  ot_cpu_restore(&env);
  tfl_options_free(options);
  return st;
}

tfl_status ot_run_op(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                     ot_result *result) {
  memset(result, 0, sizeof(*result));
  if (n_in < 0 || n_in > OT_MAX_IN || n_out < 1 || n_out > OT_MAX_OUT || (n_in && !in) || !out)
    return ot_fail(result, TFL_INVALID_ARGUMENT, "ot_run: bad input or output count");
  int feed[OT_MAX_IN], n_feed;
  size_t size;
  uint8_t *bytes = ot_build(op, in, n_in, out, n_out, feed, &n_feed, &size);
  if (!bytes) return ot_fail(result, TFL_INVALID_ARGUMENT, "ot_run: the model builder failed");
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  tfl_status st =
      tfl_model_load_buffer(bytes, size, &model, result->error, sizeof(result->error));
  if (st == TFL_OK) {
    if (op->custom_name) ot_set_custom_version(model, op->custom_name, op->version);
    st = ot_create(op, model, &interp, result);
  }
  if (st == TFL_OK) st = ot_invoke(interp, in, feed, n_feed, result);
  if (interp) tfl_interpreter_free(interp);
  if (model) tfl_model_free(model);
  free(bytes);
  if (st != TFL_OK) ot_result_free(result);
  return st;
}

tfl_status ot_run(int builtin_code, int version, const ot_spec *in, int n_in,
                  const ot_spec *out, int n_out, int options_type, const mb_field *options,
                  ot_result *result) {
  const ot_op op = {.builtin_code = builtin_code,
                    .version = version,
                    .options_type = options_type,
                    .options = options};
  return ot_run_op(&op, in, n_in, out, n_out, result);
}

tfl_status ot_run_custom(const char *name, int version, const void *options, size_t options_size,
                         const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                         ot_result *result) {
  const ot_op op = {.version = version,
                    .custom_name = name,
                    .custom_options = options,
                    .custom_options_size = options_size};
  return ot_run_op(&op, in, n_in, out, n_out, result);
}

void ot_result_free(ot_result *r) {
  for (int i = 0; i < OT_MAX_OUT; i++) {
    free(r->out[i].data);
    r->out[i].data = NULL;
  }
  r->n_out = 0;
}
