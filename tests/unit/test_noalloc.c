/* invoke must not allocate: this binary is linked with malloc/calloc/realloc wrapped
 * (-Wl,--wrap), so every allocation made by the library's code is counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfl/tfl.h"
#include "util/test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static int counting;
static int allocations;

void *__wrap_malloc(size_t n) {
  allocations += counting;
  return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m) {
  allocations += counting;
  return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
  allocations += counting;
  return __real_realloc(p, n);
}

/* Models from the conformance suite, when $TFL_SHARED points at it, and the in-repo fixture. */
static const char *const models[] = {
    "tests/fixtures/golden/models/tflite_micro/hello_world_float.tflite",
    "tests/fixtures/golden/models/tflite_micro/hello_world_int8.tflite",
    "$/reference/models/tflite_micro/hello_world_float.tflite",
    "$/reference/models/mlcommons/vww_96_float.tflite",
    "$/reference/models/mlcommons/pretrainedResnet.tflite",
    "$/reference/models/mediapipe/hand_landmark_lite.tflite",
    "$/reference/models/coral/mobilenet_v2_1.0_224_quant.tflite",
    "$/reference/models/mlcommons/vww_96_int8.tflite",
};

static int resolve(const char *spec, char *path, size_t size) {
  if (spec[0] != '$') {
    const char *src = getenv("TFL_SOURCE_DIR");
    snprintf(path, size, "%s/%s", src ? src : ".", spec);
    return 1;
  }
  const char *shared = getenv("TFL_SHARED");
  if (!shared) return 0;
  snprintf(path, size, "%s%s", shared, spec + 1);
  return 1;
}

TEST(invoke_allocates_nothing) {
  int ran = 0;
  for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
    char path[1024], err[512];
    if (!resolve(models[i], path, sizeof(path))) continue;
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    fclose(f);
    tfl_model *model = NULL;
    tfl_interpreter *interp = NULL;
    if (tfl_model_load_file(path, &model, err, sizeof(err)) != TFL_OK ||
        tfl_interpreter_create(model, NULL, &interp, err, sizeof(err)) != TFL_OK) {
      /* a model whose ops are not all supported yet is not this test's subject */
      fprintf(stderr, "  skip %s: %s\n", path, err);
      tfl_model_free(model);
      continue;
    }
    tfl_status st = tfl_interpreter_allocate_tensors(interp);
    if (st == TFL_UNSUPPORTED) {
      fprintf(stderr, "  skip %s: %s\n", path, tfl_interpreter_error(interp));
      tfl_interpreter_free(interp);
      tfl_model_free(model);
      continue;
    }
    CHECK_EQ_INT(st, TFL_OK);
    for (int k = 0; k < tfl_interpreter_input_count(interp); k++) {
      tfl_tensor *t = tfl_interpreter_input(interp, k);
      memset(tfl_tensor_data(t), 0, tfl_tensor_byte_size(t));
    }
    allocations = 0;
    counting = 1;
    st = tfl_interpreter_invoke(interp);
    st = st == TFL_OK ? tfl_interpreter_invoke(interp) : st;
    counting = 0;
    CHECK_EQ_INT(st, TFL_OK);
    if (allocations) fprintf(stderr, "  %s: %d allocations during invoke\n", path, allocations);
    CHECK_EQ_INT(allocations, 0);
    ran++;
    tfl_interpreter_free(interp);
    tfl_model_free(model);
  }
  CHECK(ran >= 1);
}

int main(void) {
  RUN(invoke_allocates_nothing);
  return test_summary();
}
