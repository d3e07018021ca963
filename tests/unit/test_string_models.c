/* The conformance suite's models with string inputs or outputs (tests/fixtures/strings, see
 * its NOTICE.md), run through the public API on hand-chosen strings. The suite has no
 * reference outputs for them, so each expected output is worked out from the model's graph
 * (described at each test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfl/tfl.h"
#include "util/test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* tests/fixtures/strings/<name>, found from this file's own path. */
static const char *fixture(const char *name) {
  static char path[1024];
  const char *unit = strstr(__FILE__, "unit/test_string_models.c");
  int dir_len = unit ? (int)(unit - __FILE__) : 0;
  snprintf(path, sizeof(path), "%.*sfixtures/strings/%s", dir_len, __FILE__, name);
  return path;
}

typedef struct session {
  tfl_model *model;
  tfl_interpreter *interp;
  char err[512];
} session;

static tfl_status open_fixture(session *s, const char *name) {
  memset(s, 0, sizeof *s);
  tfl_status st = tfl_model_load_file(fixture(name), &s->model, s->err, sizeof s->err);
  if (st == TFL_OK) st = tfl_interpreter_create(s->model, NULL, &s->interp, s->err, sizeof s->err);
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(s->interp);
  if (st != TFL_OK && s->interp) snprintf(s->err, sizeof s->err, "%s", tfl_interpreter_error(s->interp));
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s: %s", name, s->err);
  return st;
}

static tfl_status invoke(session *s) {
  tfl_status st = tfl_interpreter_invoke(s->interp);
  if (st != TFL_OK) snprintf(s->err, sizeof s->err, "%s", tfl_interpreter_error(s->interp));
  return st;
}

static void close_session(session *s) {
  tfl_interpreter_free(s->interp);
  tfl_model_free(s->model);
}

static tfl_status set_cstrings(tfl_tensor *t, const char *const *v, size_t n) {
  tfl_string *s = malloc((n ? n : 1) * sizeof *s);
  if (!s) return TFL_OUT_OF_MEMORY;
  for (size_t i = 0; i < n; i++) s[i] = (tfl_string){v[i], strlen(v[i])};
  tfl_status st = tfl_tensor_set_strings(t, s, n);
  free(s);
  return st;
}

/* The tensor holds exactly the strings want[0..n). */
static int has_strings(const tfl_tensor *t, const char *const *want, size_t n) {
  size_t count = 0;
  if (tfl_tensor_string_count(t, &count) != TFL_OK || count != n) return 0;
  for (size_t i = 0; i < n; i++) {
    tfl_string s;
    if (tfl_tensor_string(t, i, &s) != TFL_OK || s.size != strlen(want[i]) ||
        memcmp(s.data, want[i], s.size) != 0)
      return 0;
  }
  return 1;
}

static int has_dims(const tfl_tensor *t, int ndim, const int32_t *dims) {
  if (tfl_tensor_ndim(t) != ndim) return 0;
  for (int i = 0; i < ndim; i++)
    if (tfl_tensor_dim(t, i) != dims[i]) return 0;
  return 1;
}

/* string.bin: RESHAPE of string_input [2,8,8,3] to [2,4,4,12] by a constant shape. Reshape keeps
 * the row-major order, so output string i is input string i. Strings of varied lengths (the
 * empty one included) check every offset. */
TEST(java_string_reshapes_384_strings) {
  session s;
  if (open_fixture(&s, "string.bin") != TFL_OK) return;
  enum { N = 2 * 8 * 8 * 3 };
  static char text[N][16];
  const char *v[N];
  for (int i = 0; i < N; i++) {
    snprintf(text[i], sizeof text[i], "%.*s%d", i % 5, "#####", i * 7);
    v[i] = i == 100 ? "" : text[i];
  }
  REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 0), v, N) == TFL_OK);
  REQUIRE(invoke(&s) == TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(s.interp, 0);
  CHECK(has_dims(out, 4, (int32_t[]){2, 4, 4, 12}));
  CHECK(has_strings(out, v, N));
  close_session(&s);
}

/* string_scalar.bin: RESHAPE of the scalar string "Placeholder" to shape [1] (constant). */
TEST(java_string_scalar_becomes_a_vector) {
  session s;
  if (open_fixture(&s, "string_scalar.bin") != TFL_OK) return;
  tfl_tensor *in = tfl_interpreter_input(s.interp, 0);
  CHECK_EQ_INT(tfl_tensor_ndim(in), 0);
  const char *v[] = {"hello, \xe4\xb8\x96\xe7\x95\x8c"};
  REQUIRE(set_cstrings(in, v, 1) == TFL_OK);
  REQUIRE(invoke(&s) == TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(s.interp, 0);
  CHECK(has_dims(out, 1, (int32_t[]){1}));
  CHECK(has_strings(out, v, 1));
  close_session(&s);
}

/* gather_string.tflite: GATHER (axis 0) of input [10] strings by int64 indices [3]:
 * output[i] = input[indices[i]]. */
TEST(litert_gather_string_picks_by_index) {
  session s;
  if (open_fixture(&s, "gather_string.tflite") != TFL_OK) return;
  const char *v[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", ""};
  tfl_tensor *indices = tfl_interpreter_input(s.interp, 1);
  REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 0), v, COUNT(v)) == TFL_OK);
  const int64_t idx[] = {7, 0, 9};
  REQUIRE(tfl_tensor_copy_from(indices, idx, sizeof idx) == TFL_OK);
  REQUIRE(invoke(&s) == TFL_OK);
  const char *want[] = {"seven", "zero", ""};
  const tfl_tensor *out = tfl_interpreter_output(s.interp, 0);
  CHECK(has_dims(out, 1, (int32_t[]){3}));
  CHECK(has_strings(out, want, 3));
  /* the same index thrice, then one past the end */
  const int64_t same[] = {3, 3, 3}, past[] = {0, 10, 1};
  REQUIRE(tfl_tensor_copy_from(indices, same, sizeof same) == TFL_OK);
  REQUIRE(invoke(&s) == TFL_OK);
  const char *threes[] = {"three", "three", "three"};
  CHECK(has_strings(out, threes, 3));
  REQUIRE(tfl_tensor_copy_from(indices, past, sizeof past) == TFL_OK);
  CHECK_EQ_INT(invoke(&s), TFL_ERROR);
  CHECK(strstr(s.err, "out of range") != NULL);
  close_session(&s);
}

/* string_input_model.bin: RESHAPE of input_52 [1,3] to the constant shape [1,3]: an identity. */
TEST(string_input_model_is_an_identity) {
  session s;
  if (open_fixture(&s, "string_input_model.bin") != TFL_OK) return;
  const char *v[] = {"a", "bb", "\xe2\x82\xac"};
  REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 0), v, 3) == TFL_OK);
  REQUIRE(invoke(&s) == TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(s.interp, 0);
  CHECK(has_dims(out, 2, (int32_t[]){1, 3}));
  CHECK(has_strings(out, v, 3));
  close_session(&s);
}

/* string_input_model_with_signature.bin: no ops; tensor "serving_default_a:0" [1,3] (shape
 * signature [-1,3]) is both the input and the output, named "a" and "output_0" by signature
 * "serving_default". Resized to [2,3] through the signature. */
TEST(string_input_model_with_signature_passes_its_input_through) {
  session s;
  if (open_fixture(&s, "string_input_model_with_signature.bin") != TFL_OK) return;
  tfl_signature *sig = tfl_interpreter_signature(s.interp, "serving_default");
  REQUIRE(sig);
  REQUIRE(tfl_signature_resize_input(sig, "a", 2, (int32_t[]){2, 3}) == TFL_OK);
  REQUIRE(tfl_signature_allocate_tensors(sig) == TFL_OK);
  const char *v[] = {"r0a", "r0b", "r0c", "r1a", "", "r1c"};
  REQUIRE(set_cstrings(tfl_signature_input(sig, "a"), v, 6) == TFL_OK);
  REQUIRE(tfl_signature_invoke(sig) == TFL_OK);
  const tfl_tensor *out = tfl_signature_output(sig, "output_0");
  CHECK(has_dims(out, 2, (int32_t[]){2, 3}));
  CHECK(has_strings(out, v, 6));
  close_session(&s);
}

/* tensor_string_data_type.bin: ADD of two string inputs. TFLite prepares it (AllocateTensors
 * succeeds) and fails in Invoke, as ADD has no string kernel: tfl does the same. */
TEST(tensor_string_data_type_loads_but_add_cannot_run) {
  session s;
  if (open_fixture(&s, "tensor_string_data_type.bin") != TFL_OK) return;
  const char *a[] = {"a"}, *b[] = {"b"};
  REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 0), a, 1) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 1), b, 1) == TFL_OK);
  CHECK_EQ_INT(invoke(&s), TFL_UNSUPPORTED);
  CHECK(strstr(s.err, "ADD") && strstr(s.err, "string"));
  close_session(&s);
}

/* while_op_with_forwarding_input.bin: n = RESHAPE(num_iterations) to a scalar, then a WHILE
 * over (counter 0, max -1, i = 1, j = 1, increment_value, n) whose condition is i < n and whose
 * body gives (counter + 1, max, i + 1, i + 2, increment_value, n), forwarding the string
 * untouched. Outputs: i, j and the string. After k = max(n - 1, 0) iterations i = 1 + k, and
 * j = i + 1 when the body ran (k > 0), else 1. */
TEST(while_op_forwards_the_string_input) {
  session s;
  if (open_fixture(&s, "while_op_with_forwarding_input.bin") != TFL_OK) return;
  const int32_t runs[][3] = {{5, 5, 6}, {1, 1, 1}, {0, 1, 1}, {-3, 1, 1}, {2, 2, 3}};
  const char *strings[][1] = {{"inc"}, {""}, {"\xf0\x9f\x98\x80 much longer than before"}};
  for (size_t r = 0; r < COUNT(runs); r++) {
    const char *const *v = strings[r % COUNT(strings)];
    REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(s.interp, 0), &runs[r][0], 4) == TFL_OK);
    REQUIRE(set_cstrings(tfl_interpreter_input(s.interp, 1), v, 1) == TFL_OK);
    REQUIRE(invoke(&s) == TFL_OK);
    int32_t i = 0, j = 0;
    REQUIRE(tfl_tensor_copy_to(tfl_interpreter_output(s.interp, 0), &i, 4) == TFL_OK);
    REQUIRE(tfl_tensor_copy_to(tfl_interpreter_output(s.interp, 1), &j, 4) == TFL_OK);
    if (i != runs[r][1] || j != runs[r][2])
      test_fail(__FILE__, __LINE__, "n = %d: i = %d, j = %d; want %d, %d", runs[r][0], i, j,
                runs[r][1], runs[r][2]);
    const tfl_tensor *out = tfl_interpreter_output(s.interp, 2);
    CHECK(has_dims(out, 1, (int32_t[]){1}));
    CHECK(has_strings(out, v, 1));
  }
  close_session(&s);
}

/* dynamic_string_custom_ops.tflite: a custom op "Normalize" that neither TFLite nor tfl has. */
TEST(dynamic_string_custom_ops_stays_refused) {
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  char err[512] = "";
  REQUIRE(tfl_model_load_file(fixture("dynamic_string_custom_ops.tflite"), &model, err,
                              sizeof err) == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_create(model, NULL, &interp, err, sizeof err), TFL_UNSUPPORTED);
  CHECK(interp == NULL && strstr(err, "Normalize") != NULL);
  tfl_model_free(model);
}

int main(void) {
  RUN(java_string_reshapes_384_strings);
  RUN(java_string_scalar_becomes_a_vector);
  RUN(litert_gather_string_picks_by_index);
  RUN(string_input_model_is_an_identity);
  RUN(string_input_model_with_signature_passes_its_input_through);
  RUN(tensor_string_data_type_loads_but_add_cannot_run);
  RUN(while_op_forwards_the_string_input);
  RUN(dynamic_string_custom_ops_stays_refused);
  return test_summary();
}
