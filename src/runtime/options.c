/* Interpreter options (include/tfl/interpreter.h). */
#include <stdlib.h>

#include "runtime/interpreter.h"
#include "runtime/kernel.h"

#define TFL_DEFAULT_LIMIT ((size_t)1 << 30)

void tfl_options_defaults(struct tfl_options *o) {
  o->threads = 1;
  o->error_cb = NULL;
  o->error_user = NULL;
  o->max_arena_bytes = TFL_DEFAULT_LIMIT;
  o->max_tensor_bytes = TFL_DEFAULT_LIMIT;
  o->preserve_all = 0;
  o->registry.ops = NULL;
  o->registry.n = o->registry.cap = 0;
}

tfl_options *tfl_options_create(void) {
  tfl_options *o = malloc(sizeof(*o));
  if (o) tfl_options_defaults(o);
  return o;
}

void tfl_options_free(tfl_options *options) {
  if (!options) return;
  tfl_registry_clear(&options->registry);
  free(options);
}

tfl_status tfl_options_set_threads(tfl_options *options, int threads) {
  if (!options || threads < 1 || threads > 256) return TFL_INVALID_ARGUMENT;
  options->threads = threads;
  return TFL_OK;
}

tfl_status tfl_options_set_error_callback(tfl_options *options, tfl_error_callback callback,
                                          void *user_data) {
  if (!options) return TFL_INVALID_ARGUMENT;
  options->error_cb = callback;
  options->error_user = user_data;
  return TFL_OK;
}

tfl_status tfl_options_add_op(tfl_options *options, const tfl_op_registration *registration) {
  if (!options || !registration) return TFL_INVALID_ARGUMENT;
  if (!registration->prepare && !registration->eval) return TFL_INVALID_ARGUMENT;
  return tfl_registry_add(&options->registry, registration);
}

tfl_status tfl_options_set_preserve_all_tensors(tfl_options *options, int preserve) {
  if (!options) return TFL_INVALID_ARGUMENT;
  options->preserve_all = preserve != 0;
  return TFL_OK;
}

tfl_status tfl_options_set_limits(tfl_options *options, size_t max_arena_bytes,
                                  size_t max_tensor_bytes) {
  if (!options) return TFL_INVALID_ARGUMENT;
  options->max_arena_bytes = max_arena_bytes ? max_arena_bytes : TFL_DEFAULT_LIMIT;
  options->max_tensor_bytes = max_tensor_bytes ? max_tensor_bytes : TFL_DEFAULT_LIMIT;
  return TFL_OK;
}
