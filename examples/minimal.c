/* Runs a .tflite model once on zero-filled inputs and prints the first output values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tfl/tfl.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.tflite\n", argv[0]);
    return 2;
  }
  char err[256];
  tfl_model *model = NULL;
  if (tfl_model_load_file(argv[1], &model, err, sizeof(err)) != TFL_OK) {
    fprintf(stderr, "load: %s\n", err);
    return 1;
  }
  tfl_options *options = tfl_options_create();
  tfl_options_set_threads(options, 1);
  tfl_interpreter *interp = NULL;
  tfl_status st = tfl_interpreter_create(model, options, &interp, err, sizeof(err));
  tfl_options_free(options); /* the interpreter keeps its own copy */
  if (st != TFL_OK) {
    fprintf(stderr, "create: %s\n", err);
    tfl_model_free(model);
    return 1;
  }
  if (tfl_interpreter_allocate_tensors(interp) != TFL_OK) goto fail;
  for (int i = 0; i < tfl_interpreter_input_count(interp); i++) {
    tfl_tensor *in = tfl_interpreter_input(interp, i);
    memset(tfl_tensor_data(in), 0, tfl_tensor_byte_size(in));
  }
  if (tfl_interpreter_invoke(interp) != TFL_OK) goto fail;
  const tfl_tensor *out = tfl_interpreter_output(interp, 0);
  printf("output '%s': %s[", tfl_tensor_name(out), tfl_type_name(tfl_tensor_type(out)));
  for (int d = 0; d < tfl_tensor_ndim(out); d++) printf(d ? ",%d" : "%d", tfl_tensor_dim(out, d));
  printf("]\n");
  if (tfl_tensor_type(out) == TFL_FLOAT32) {
    const float *v = tfl_tensor_data_const(out);
    size_t n = tfl_tensor_element_count(out);
    for (size_t i = 0; i < n && i < 5; i++) printf("  [%zu] = %g\n", i, v[i]);
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return 0;
fail:
  fprintf(stderr, "error: %s\n", tfl_interpreter_error(interp));
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return 1;
}
