/* Fuzz target: any bytes through the whole path a user takes, load -> inspect -> create ->
 * allocate -> fill inputs -> invoke -> read outputs -> signatures -> free. A crash, a
 * sanitizer report, a leak, a timeout or a failure without a message is a bug.
 * A valid model may loop forever (WHILE), as in TensorFlow Lite: a watchdog thread cancels
 * an invoke that runs longer than FUZZ_INVOKE_SECONDS, which must then stop cleanly. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* clock_gettime, pthread_cond_timedwait under -std=c11 */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "tfl/tfl.h"

static tfl_status fm_fail(fuzz_outcome *out, const char *stage, tfl_status st, const char *msg) {
  out->status = st;
  out->stage = stage;
  snprintf(out->message, sizeof(out->message), "%s", msg ? msg : "");
  return st;
}

/* Reads everything the inspection API reports, as `tfl inspect` would. */
static unsigned fm_inspect_model(const tfl_model *m) {
  unsigned sum = 0;
  for (int s = 0; s < tfl_model_subgraph_count(m); s++) {
    sum += (unsigned)strlen(tfl_model_subgraph_name(m, s));
    for (int i = 0; i < tfl_model_op_count(m, s); i++) {
      tfl_op_info op;
      if (tfl_model_op_info(m, s, i, &op) != TFL_OK) continue;
      sum += (unsigned)strlen(op.name ? op.name : "");
      for (int k = 0; k < op.num_inputs; k++) sum += (unsigned)op.inputs[k];
      for (int k = 0; k < op.num_outputs; k++) sum += (unsigned)op.outputs[k];
    }
    for (int i = 0; i < tfl_model_tensor_count(m, s); i++) {
      tfl_tensor_info t;
      if (tfl_model_tensor_info(m, s, i, &t) != TFL_OK) continue;
      sum += (unsigned)strlen(t.name) + (unsigned)t.data_bytes;
      for (int d = 0; d < t.ndim; d++) sum += (unsigned)t.shape[d];
      for (int q = 0; q < t.quantization.count; q++)
        sum += (unsigned)t.quantization.zero_point[q] + (t.quantization.scale[q] > 0);
    }
  }
  for (int i = 0; i < tfl_model_metadata_count(m); i++) {
    const char *name;
    const void *data;
    size_t size;
    if (tfl_model_metadata(m, i, &name, &data, &size) == TFL_OK)
      sum += (unsigned)strlen(name) + (size ? ((const uint8_t *)data)[size - 1] : 0u);
  }
  return sum;
}

/* Input bytes come from the fuzz data itself, cycled, or are one byte value (strings are left
 * empty: their encoding is the caller's contract, not the model's). */
static void fm_fill_inputs(tfl_interpreter *interp, const uint8_t *data, size_t size, int fill) {
  size_t at = 0;
  for (int i = 0; i < tfl_interpreter_input_count(interp); i++) {
    tfl_tensor *t = tfl_interpreter_input(interp, i);
    uint8_t *p = tfl_tensor_data(t);
    size_t n = tfl_tensor_byte_size(t);
    if (!p) continue;
    if (tfl_tensor_type(t) == TFL_STRING) {
      memset(p, 0, n);
      continue;
    }
    if (fill >= 0) {
      memset(p, fill, n);
      continue;
    }
    for (size_t k = 0; k < n; k++, at++) p[k] = data[at % size];
  }
}

static unsigned fm_read_outputs(tfl_interpreter *interp) {
  unsigned sum = 0;
  for (int i = 0; i < tfl_interpreter_output_count(interp); i++) {
    const tfl_tensor *t = tfl_interpreter_output(interp, i);
    const uint8_t *p = tfl_tensor_data_const(t);
    size_t n = tfl_tensor_byte_size(t);
    for (size_t k = 0; p && k < n; k++) sum += p[k];
  }
  return sum;
}

/* Signature runners reach subgraphs other than 0; only a few, to bound the work. */
static tfl_status fm_allocate_signatures(tfl_interpreter *interp, fuzz_outcome *out) {
  int n = tfl_interpreter_signature_count(interp);
  for (int i = 0; i < n && i < 4; i++) {
    tfl_signature *sig = tfl_interpreter_signature(interp, tfl_interpreter_signature_key(interp, i));
    if (!sig) continue;
    tfl_status st = tfl_signature_allocate_tensors(sig);
    if (st != TFL_OK) return fm_fail(out, "signature", st, tfl_interpreter_error(interp));
  }
  return TFL_OK;
}

#define FUZZ_INVOKE_SECONDS 1

typedef struct fm_watchdog {
  pthread_mutex_t lock;
  pthread_cond_t finished;
  int done;
  tfl_interpreter *interp;
} fm_watchdog;

static void *fm_watch(void *arg) {
  fm_watchdog *w = arg;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += FUZZ_INVOKE_SECONDS;
  pthread_mutex_lock(&w->lock);
  int rc = 0;
  while (!w->done && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&w->finished, &w->lock, &until);
  if (!w->done) tfl_interpreter_cancel(w->interp);
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* Invoke under the watchdog (without it if no thread can be started). */
static tfl_status fm_invoke(tfl_interpreter *interp) {
  fm_watchdog w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, interp};
  pthread_t thread;
  int watched = pthread_create(&thread, NULL, fm_watch, &w) == 0;
  tfl_status st = tfl_interpreter_invoke(interp);
  if (!watched) return st;
  pthread_mutex_lock(&w.lock);
  w.done = 1;
  pthread_cond_signal(&w.finished);
  pthread_mutex_unlock(&w.lock);
  pthread_join(thread, NULL);
  return st;
}

static tfl_status fm_run_interpreter(tfl_interpreter *interp, const uint8_t *data, size_t size,
                                     const fuzz_config *config, fuzz_outcome *out) {
  tfl_status st = tfl_interpreter_allocate_tensors(interp);
  if (st != TFL_OK) return fm_fail(out, "allocate", st, tfl_interpreter_error(interp));
  if (tfl_interpreter_arena_size(interp) <= config->max_invoke_arena) {
    fm_fill_inputs(interp, data, size, config->fill);
    out->invoked = 1;
    st = fm_invoke(interp);
    if (st != TFL_OK) return fm_fail(out, "invoke", st, tfl_interpreter_error(interp));
    volatile unsigned sink = fm_read_outputs(interp);
    (void)sink;
  }
  return fm_allocate_signatures(interp, out);
}

tfl_status fuzz_model_run(const uint8_t *data, size_t size, const fuzz_config *config,
                          fuzz_outcome *out) {
  static const fuzz_config defaults = FUZZ_CONFIG_DEFAULT;
  if (!config) config = &defaults;
  memset(out, 0, sizeof(*out));
  out->stage = "";
  char err[1024] = "";
  tfl_model *model = NULL;
  tfl_status st = tfl_model_load_buffer(data, size, &model, err, sizeof(err));
  if (st != TFL_OK) return fm_fail(out, "load", st, err);
  volatile unsigned sink = fm_inspect_model(model);
  (void)sink;
  tfl_options *options = tfl_options_create();
  tfl_interpreter *interp = NULL;
  st = options ? tfl_options_set_limits(options, config->max_arena, config->max_tensor)
               : TFL_OUT_OF_MEMORY;
  if (st == TFL_OK) st = tfl_interpreter_create(model, options, &interp, err, sizeof(err));
  tfl_options_free(options);
  if (st != TFL_OK)
    fm_fail(out, "create", st, err);
  else
    fm_run_interpreter(interp, data, size, config, out);
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return out->status;
}

#ifndef TFL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_outcome out;
  if (fuzz_model_run(data, size, NULL, &out) != TFL_OK && out.message[0] == '\0') {
    fprintf(stderr, "%s failed with status %d and no message\n", out.stage, out.status);
    abort();
  }
  return 0;
}
#endif
