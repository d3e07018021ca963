/* One op, custom or builtin, through the public API (see custom_op_runner.h). */
#include "util/custom_op_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

#define COR_MAX_IN 16

static size_t spec_bytes(const ot_spec *s) {
  if (s->bytes) return s->bytes;
  size_t n = tfl_type_size(s->type);
  for (int i = 0; i < s->ndim; i++) n *= (size_t)s->dims[i];
  return n;
}

static int add_tensor(mb_model *m, const ot_spec *s, int ndim, const void *data) {
  int t = mb_tensor(m, s->type, ndim, s->dims, data, data ? spec_bytes(s) : 0, NULL);
  if (s->q_count > 0) mb_quant(m, t, s->q_count, s->scales, s->zero_points, s->q_axis);
  return t;
}

/* The one-op model; feed[k] is the spec behind graph input k. */
static uint8_t *build(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                      int *feed, int *n_feed, size_t *size) {
  mb_model *m = mb_new();
  if (!m) return NULL;
  int op_in[COR_MAX_IN], op_out[OT_MAX_OUT], graph_in[COR_MAX_IN];
  *n_feed = 0;
  for (int i = 0; i < n_in; i++) {
    if (in[i].omitted) {
      op_in[i] = -1;
    } else if (in[i].constant) {
      op_in[i] = add_tensor(m, &in[i], in[i].ndim, in[i].data);
    } else {
      op_in[i] = add_tensor(m, &in[i], in[i].ndim, NULL);
      feed[*n_feed] = i;
      graph_in[(*n_feed)++] = op_in[i];
    }
  }
  for (int i = 0; i < n_out; i++) op_out[i] = add_tensor(m, &out[i], out[i].ndim, NULL);
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

static tfl_status run(tfl_interpreter *interp, const ot_spec *in, const int *feed, int n_feed,
                      ot_result *r) {
  tfl_status st = tfl_interpreter_allocate_tensors(interp);
  for (int k = 0; st == TFL_OK && k < n_feed; k++) {
    const ot_spec *s = &in[feed[k]];
    size_t bytes = spec_bytes(s);
    if (bytes) st = tfl_tensor_copy_from(tfl_interpreter_input(interp, k), s->data, bytes);
  }
  if (st == TFL_OK) st = tfl_interpreter_invoke(interp);
  int n_out = tfl_interpreter_output_count(interp);
  for (int i = 0; st == TFL_OK && i < n_out && i < OT_MAX_OUT; i++) {
    const tfl_tensor *t = tfl_interpreter_output(interp, i);
    ot_tensor *o = &r->out[i];
    o->type = tfl_tensor_type(t);
    o->ndim = tfl_tensor_ndim(t);
    for (int d = 0; d < o->ndim && d < TFL_MAX_DIMS; d++) o->dims[d] = tfl_tensor_dim(t, d);
    o->bytes = tfl_tensor_byte_size(t);
    o->data = malloc(o->bytes ? o->bytes : 1);
    r->n_out = i + 1;
    if (!o->data) st = TFL_OUT_OF_MEMORY;
    if (st == TFL_OK && o->bytes) st = tfl_tensor_copy_to(t, o->data, o->bytes);
  }
  if (st != TFL_OK && !r->error[0])
    snprintf(r->error, sizeof(r->error), "%s", tfl_interpreter_error(interp));
  return st;
}

/* Gives the model's custom operator codes the requested version. */
static void set_version(tfl_model *model, const char *name, int version) {
  for (int i = 0; i < model->n_opcodes; i++)
    if (model->opcodes[i].custom_code && strcmp(model->opcodes[i].custom_code, name) == 0)
      model->opcodes[i].version = version;
}

static tfl_status create(const ot_op *op, const tfl_model *model, tfl_interpreter **interp,
                         ot_result *r) {
  tfl_options *options = tfl_options_create();
  if (!options) return TFL_OUT_OF_MEMORY;
  tfl_status st = tfl_options_set_threads(options, op->threads > 1 ? op->threads : 1);
  if (st == TFL_OK) st = tfl_interpreter_create(model, options, interp, r->error, sizeof(r->error));
  tfl_options_free(options);
  return st;
}

tfl_status ot_run_op(const ot_op *op, const ot_spec *in, int n_in, const ot_spec *out, int n_out,
                     ot_result *result) {
  memset(result, 0, sizeof(*result));
  if (n_in < 0 || n_in > COR_MAX_IN || n_out < 1 || n_out > OT_MAX_OUT) {
    snprintf(result->error, sizeof(result->error), "ot_run_op: bad input or output count");
    return TFL_INVALID_ARGUMENT;
  }
  int feed[COR_MAX_IN], n_feed;
  size_t size;
  uint8_t *bytes = build(op, in, n_in, out, n_out, feed, &n_feed, &size);
  if (!bytes) {
    snprintf(result->error, sizeof(result->error), "ot_run_op: the model builder failed");
    return TFL_INVALID_ARGUMENT;
  }
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  tfl_status st = tfl_model_load_buffer(bytes, size, &model, result->error, sizeof(result->error));
  if (st == TFL_OK) {
    if (op->custom_name) set_version(model, op->custom_name, op->version);
    st = create(op, model, &interp, result);
  }
  if (st == TFL_OK) st = run(interp, in, feed, n_feed, result);
  if (interp) tfl_interpreter_free(interp);
  if (model) tfl_model_free(model);
  free(bytes);
  if (st != TFL_OK) ot_result_free(result);
  return st;
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
