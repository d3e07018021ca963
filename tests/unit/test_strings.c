/* String tensors: the public calls of tfl/string.h, string constants in model files (hostile
 * encodings included), and every kernel that takes strings, on hand-written strings. Models
 * are built here; the expected strings follow from each op's definition. */
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_STRINGS 16

/* --- helpers ------------------------------------------------------------------------------ */

/* TFLite's layout, written out independently of the runtime: count, offsets, bytes. */
static uint8_t *encode_strings(const char *const *s, int n, size_t *bytes) {
  size_t total = 4 * ((size_t)n + 2);
  for (int i = 0; i < n; i++) total += strlen(s[i]);
  uint8_t *b = malloc(total);
  if (!b) return NULL;
  int32_t v = n, off = 4 * (n + 2);
  memcpy(b, &v, 4);
  for (int i = 0; i <= n; i++) {
    memcpy(b + 4 * (i + 1), &off, 4);
    if (i == n) break;
    memcpy(b + off, s[i], strlen(s[i]));
    off += (int32_t)strlen(s[i]);
  }
  *bytes = total;
  return b;
}

static int str_tensor(mb_model *m, int ndim, const int32_t *dims, const char *name) {
  return mb_tensor(m, TFL_STRING, ndim, dims, NULL, 0, name);
}

static int str_const(mb_model *m, int ndim, const int32_t *dims, const char *const *s, int n) {
  size_t bytes = 0;
  uint8_t *data = encode_strings(s, n, &bytes);
  int t = mb_tensor(m, TFL_STRING, ndim, dims, data, bytes, "strings");
  free(data);
  return t;
}

static int i32_const(mb_model *m, int ndim, const int32_t *dims, const int32_t *v) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  return mb_tensor(m, TFL_INT32, ndim, dims, v, n * 4, "ints");
}

/* A built model, loaded, with an interpreter (not yet allocated). */
typedef struct run {
  uint8_t *file;
  tfl_model *model;
  tfl_interpreter *interp;
  char err[512];
} run;

static tfl_status run_open(run *r, mb_model *m) {
  size_t size = 0;
  memset(r, 0, sizeof *r);
  r->file = mb_finish(m, &size);
  mb_free(m);
  if (!r->file) return TFL_ERROR;
  tfl_status st = tfl_model_load_buffer(r->file, size, &r->model, r->err, sizeof r->err);
  if (st == TFL_OK) st = tfl_interpreter_create(r->model, NULL, &r->interp, r->err, sizeof r->err);
  return st;
}

static tfl_status run_allocate(run *r) {
  tfl_status st = tfl_interpreter_allocate_tensors(r->interp);
  if (st != TFL_OK) snprintf(r->err, sizeof r->err, "%s", tfl_interpreter_error(r->interp));
  return st;
}

static tfl_status run_invoke(run *r) {
  tfl_status st = tfl_interpreter_invoke(r->interp);
  if (st != TFL_OK) snprintf(r->err, sizeof r->err, "%s", tfl_interpreter_error(r->interp));
  return st;
}

static void run_close(run *r) {
  tfl_interpreter_free(r->interp);
  tfl_model_free(r->model);
  free(r->file);
}

static tfl_status set_cstrings(tfl_tensor *t, const char *const *v, size_t n) {
  tfl_string s[MAX_STRINGS];
  for (size_t i = 0; i < n && i < MAX_STRINGS; i++) s[i] = (tfl_string){v[i], strlen(v[i])};
  return tfl_tensor_set_strings(t, s, n);
}

static void check_strings_at(const char *file, int line, const tfl_tensor *t,
                             const char *const *want, size_t n) {
  size_t count = 0;
  tfl_status st = tfl_tensor_string_count(t, &count);
  if (st != TFL_OK || count != n) {
    test_fail(file, line, "string count: status %d, %zu strings, want %zu", st, count, n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    tfl_string s = {NULL, 0};
    st = tfl_tensor_string(t, i, &s);
    if (st != TFL_OK || s.size != strlen(want[i]) || memcmp(s.data, want[i], s.size) != 0)
      test_fail(file, line, "string %zu is \"%.*s\" (status %d), want \"%s\"", i,
                (int)(st == TFL_OK ? s.size : 0), st == TFL_OK ? s.data : "", st, want[i]);
  }
}
#define CHECK_STRINGS(t, want) check_strings_at(__FILE__, __LINE__, (t), (want), COUNT(want))

static void check_dims_at(const char *file, int line, const tfl_tensor *t, int ndim,
                          const int32_t *dims) {
  int same = tfl_tensor_ndim(t) == ndim;
  for (int i = 0; same && i < ndim; i++) same = tfl_tensor_dim(t, i) == dims[i];
  if (!same) test_fail(file, line, "tensor '%s' has the wrong shape", tfl_tensor_name(t));
}
#define CHECK_DIMS(t, ...)                                                              \
  check_dims_at(__FILE__, __LINE__, (t), (int)COUNT(((int32_t[]){__VA_ARGS__})), \
                (int32_t[]){__VA_ARGS__})

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

/* The start of a one-op model: string tensor x (shape dims) and output y of out_type. */
static mb_model *one_op_model(int ndim, const int32_t *dims, tfl_type out_type, int *x, int *y) {
  mb_model *m = mb_new();
  *x = str_tensor(m, ndim, dims, "x");
  *y = mb_tensor(m, out_type, 0, NULL, NULL, 0, "y");
  return m;
}

/* Adds the op and makes its first n_graph_in inputs the graph inputs, y the output. */
static void finish_op(mb_model *m, int op, int opts_type, const mb_field *opts, int n_in,
                      const int *in, int n_graph_in, int y) {
  mb_op(m, op, 1, n_in, in, 1, &y, opts_type, opts);
  mb_inputs(m, n_graph_in, in);
  mb_outputs(m, 1, &y);
}

/* --- the public calls ----------------------------------------------------------------------- */

/* x [3] -> RESHAPE [3] -> y */
static tfl_status open_reshape3(run *r) {
  mb_model *m = mb_new();
  const int32_t three[] = {3};
  int in[2] = {str_tensor(m, 1, three, "x"), i32_const(m, 1, (int32_t[]){1}, three)};
  int y = str_tensor(m, 1, three, "y");
  finish_op(m, TFL_OP_RESHAPE, 0, NULL, 2, in, 1, y);
  return run_open(r, m);
}

TEST(sets_and_reads_strings_through_the_api) {
  run r;
  REQUIRE(open_reshape3(&r) == TFL_OK);
  tfl_tensor *x = tfl_interpreter_input(r.interp, 0);
  tfl_tensor *y = tfl_interpreter_output(r.interp, 0);
  size_t n = 0;
  const tfl_string abc[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
  CHECK_EQ_INT(tfl_tensor_string_count(x, &n), TFL_NOT_READY);
  CHECK_EQ_INT(tfl_tensor_set_strings(x, abc, 3), TFL_NOT_READY);
  REQUIRE(run_allocate(&r) == TFL_OK);
  const char *empty[] = {"", "", ""};
  CHECK_STRINGS(x, empty); /* allocation gives empty strings */
  CHECK_EQ_INT(tfl_tensor_type(x), TFL_STRING);

  /* any bytes, NUL included */
  const tfl_string v[3] = {{"", 0}, {"h\xc3\xa9llo", 6}, {"a\0b", 3}};
  REQUIRE(tfl_tensor_set_strings(x, v, 3) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  tfl_string s;
  REQUIRE(tfl_tensor_string_count(y, &n) == TFL_OK && n == 3);
  for (size_t i = 0; i < 3; i++) {
    REQUIRE(tfl_tensor_string(y, i, &s) == TFL_OK);
    CHECK(s.size == v[i].size && memcmp(s.data, v[i].data, s.size) == 0);
  }
  CHECK_EQ_INT(tfl_tensor_byte_size(y), 4 * 5 + 9); /* the encoding's size */

  /* again, with longer strings: the output grows */
  const char *longer[] = {"a much longer first string", "second", "third one"};
  REQUIRE(set_cstrings(x, longer, 3) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_STRINGS(y, longer);

  /* strings taken from the tensor itself, in another order */
  tfl_string back[3];
  for (size_t i = 0; i < 3; i++) REQUIRE(tfl_tensor_string(x, 2 - i, &back[i]) == TFL_OK);
  REQUIRE(tfl_tensor_set_strings(x, back, 3) == TFL_OK);
  const char *reversed[] = {"third one", "second", "a much longer first string"};
  CHECK_STRINGS(x, reversed);
  run_close(&r);
}

TEST(api_errors_leave_the_tensor_unchanged) {
  run r;
  REQUIRE(open_reshape3(&r) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  tfl_tensor *x = tfl_interpreter_input(r.interp, 0);
  const char *abc[] = {"a", "bb", "ccc"};
  REQUIRE(set_cstrings(x, abc, 3) == TFL_OK);
  const tfl_string two[2] = {{"x", 1}, {"y", 1}}, null_data[3] = {{"x", 1}, {NULL, 2}, {"", 0}};
  CHECK_EQ_INT(tfl_tensor_set_strings(x, two, 2), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_set_strings(x, null_data, 3), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_set_strings(x, NULL, 3), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_set_strings(NULL, two, 2), TFL_INVALID_ARGUMENT);
  CHECK_STRINGS(x, abc);
  tfl_string s;
  size_t n;
  CHECK_EQ_INT(tfl_tensor_string(x, 3, &s), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_string(x, 0, NULL), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_string_count(x, NULL), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_string_count(NULL, &n), TFL_INVALID_ARGUMENT);
  /* a numeric tensor is not a string tensor */
  tfl_tensor *shape = tfl_interpreter_tensor(r.interp, 1);
  CHECK_EQ_INT(tfl_tensor_type(shape), TFL_INT32);
  CHECK_EQ_INT(tfl_tensor_string_count(shape, &n), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_tensor_set_strings(shape, two, 1), TFL_INVALID_ARGUMENT);
  /* tfl_tensor_copy_from cannot change the encoding's size */
  CHECK(tfl_tensor_copy_from(x, "abc", 3) != TFL_OK);
  run_close(&r);
}

TEST(overwritten_string_data_fails_cleanly) {
  run r;
  REQUIRE(open_reshape3(&r) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  tfl_tensor *x = tfl_interpreter_input(r.interp, 0);
  const char *abc[] = {"a", "b", "c"};
  REQUIRE(set_cstrings(x, abc, 3) == TFL_OK);
  uint8_t *raw = tfl_tensor_data(x);
  REQUIRE(raw);
  const int32_t past_end = 1000;
  memcpy(raw + 4 * 4, &past_end, 4); /* the last offset */
  tfl_string s;
  CHECK_EQ_INT(tfl_tensor_string(x, 2, &s), TFL_ERROR);
  CHECK_EQ_INT(tfl_tensor_string(x, 0, &s), TFL_OK); /* the others are still readable */
  CHECK_EQ_INT(run_invoke(&r), TFL_ERROR);
  CHECK(contains(r.err, "invalid string data"));
  const int32_t wrong_count = 7;
  memcpy(raw, &wrong_count, 4);
  size_t n;
  CHECK_EQ_INT(tfl_tensor_string_count(x, &n), TFL_ERROR);
  run_close(&r);
}

TEST(resizing_a_string_input) {
  mb_model *m = mb_new();
  const int32_t one[] = {1}, sig[] = {-1};
  int x = str_tensor(m, 1, one, "x");
  mb_shape_signature(m, x, sig);
  int in[2] = {x, i32_const(m, 1, one, sig)};
  int y = str_tensor(m, 1, one, "y");
  finish_op(m, TFL_OP_RESHAPE, 0, NULL, 2, in, 1, y);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  tfl_tensor *t = tfl_interpreter_input(r.interp, 0);
  const char *one_s[] = {"only"};
  REQUIRE(set_cstrings(t, one_s, 1) == TFL_OK);
  REQUIRE(tfl_interpreter_resize_input(r.interp, 0, 1, (int32_t[]){4}) == TFL_OK);
  size_t n;
  CHECK_EQ_INT(tfl_tensor_string_count(t, &n), TFL_NOT_READY);
  REQUIRE(run_allocate(&r) == TFL_OK);
  const char *four_empty[] = {"", "", "", ""}, *four[] = {"w", "x", "yy", "zzz"};
  CHECK_STRINGS(t, four_empty);
  REQUIRE(set_cstrings(t, four, 4) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 4);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), four);
  run_close(&r);
}

/* --- constants in model files ---------------------------------------------------------------- */

/* A model whose constant string tensor [n] has the given raw buffer, used by RESHAPE. */
static tfl_status load_string_constant(int32_t n, const void *data, size_t bytes, run *r) {
  mb_model *m = mb_new();
  const int32_t dims[] = {n}, shape[] = {-1};
  int in[2] = {mb_tensor(m, TFL_STRING, 1, dims, data, bytes, "table"),
               i32_const(m, 1, (int32_t[]){1}, shape)};
  int y = str_tensor(m, 1, dims, "y");
  mb_op(m, TFL_OP_RESHAPE, 1, 2, in, 1, &y, 0, NULL);
  mb_outputs(m, 1, &y);
  return run_open(r, m);
}

TEST(reads_string_constants) {
  /* count 2, offsets 16 17 20, then "a" "bcd", then 2 trailing bytes */
  const uint8_t ok[] = {2, 0, 0, 0, 16, 0, 0, 0, 17, 0, 0, 0, 20, 0, 0, 0,
                        'a', 'b', 'c', 'd', 'x', 'y'};
  run r;
  REQUIRE(load_string_constant(2, ok, sizeof ok, &r) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  tfl_tensor *table = tfl_interpreter_tensor(r.interp, 0);
  const char *want[] = {"a", "bcd"};
  CHECK_STRINGS(table, want);
  CHECK_EQ_INT(tfl_tensor_set_strings(table, (tfl_string[]){{"p", 1}, {"q", 1}}, 2),
               TFL_INVALID_ARGUMENT); /* constants are read-only */
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  run_close(&r);
  /* no strings at all: an empty buffer makes a constant of nothing */
  const uint8_t none[] = {0, 0, 0, 0, 8, 0, 0, 0};
  REQUIRE(load_string_constant(0, none, sizeof none, &r) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  size_t n = 9;
  CHECK(tfl_tensor_string_count(tfl_interpreter_output(r.interp, 0), &n) == TFL_OK && n == 0);
  run_close(&r);
}

TEST(refuses_hostile_string_constants) {
  static const struct {
    int32_t n; /* shape [n] */
    int32_t words[6];
    size_t bytes;
    const char *why;
  } cases[] = {
      {2, {2}, 3, "too small"},
      {2, {3, 20, 21, 22, 23}, 24, "count differs"},
      {2, {-1, 16, 16, 16}, 16, "count differs"},
      {2, {2, 16, 16}, 12, "do not fit"},
      {1 << 28, {1 << 28, 8, 8}, 12, "do not fit"},
      {2, {2, 16, 18, 17, 0}, 20, "before the previous"},
      {2, {2, 8, 16, 16}, 16, "before the previous"},  /* into the header */
      {2, {2, -4, 16, 16}, 16, "before the previous"}, /* negative */
      {2, {2, 16, 16, 100}, 20, "past the end"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    uint8_t data[24] = {0};
    memcpy(data, cases[i].words, sizeof cases[i].words);
    run r;
    tfl_status st = load_string_constant(cases[i].n, data, cases[i].bytes, &r);
    if (st != TFL_INVALID_MODEL || !contains(r.err, "string constant") ||
        !contains(r.err, cases[i].why))
      test_fail(__FILE__, __LINE__, "case %zu: status %d, \"%s\"", i, st, r.err);
    run_close(&r);
  }
}

/* --- shape-only ops ----------------------------------------------------------------------------- */

TEST(reshape_of_constant_strings) {
  mb_model *m = mb_new();
  const char *v[] = {"a", "bb", "", "dddd"};
  const int32_t d22[] = {2, 2}, four[] = {4};
  int in[2] = {str_const(m, 2, d22, v, 4), i32_const(m, 1, (int32_t[]){1}, four)};
  int y = str_tensor(m, 1, four, "y");
  mb_op(m, TFL_OP_RESHAPE, 1, 2, in, 1, &y, 0, NULL);
  mb_outputs(m, 1, &y);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 4);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), v);
  run_close(&r);
}

TEST(squeeze_and_expand_dims_of_strings) {
  const char *v[] = {"x", "yy", "zzz"};
  run r;
  int x, y;
  mb_model *m = one_op_model(3, (int32_t[]){1, 3, 1}, TFL_STRING, &x, &y);
  finish_op(m, TFL_OP_SQUEEZE, 0, NULL, 1, &x, 1, y);
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 3) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 3);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), v);
  run_close(&r);

  m = one_op_model(1, (int32_t[]){3}, TFL_STRING, &x, &y);
  int in[2] = {x, i32_const(m, 0, NULL, (int32_t[]){-1})};
  finish_op(m, TFL_OP_EXPAND_DIMS, 0, NULL, 2, in, 1, y);
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 3) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 3, 1);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), v);
  run_close(&r);
}

/* --- GATHER and GATHER_ND --------------------------------------------------------------------- */

/* GATHER of string input x (dims) by indices of `itype` given as a graph input. */
static tfl_status open_gather(run *r, int ndim, const int32_t *dims, tfl_type itype, int idx_ndim,
                              const int32_t *idx_dims, int axis, int batch_dims) {
  int x, y;
  mb_model *m = one_op_model(ndim, dims, TFL_STRING, &x, &y);
  int in[2] = {x, mb_tensor(m, itype, idx_ndim, idx_dims, NULL, 0, "indices")};
  mb_field opts[] = {MB_INT(0, axis), MB_INT(1, batch_dims), MB_FIELDS_END};
  finish_op(m, TFL_OP_GATHER, TFL_OPTS_GATHER, opts, 2, in, 2, y);
  tfl_status st = run_open(r, m);
  return st == TFL_OK ? run_allocate(r) : st;
}

TEST(gather_picks_strings) {
  const char *v[] = {"zero", "one", "two", "three"};
  run r;
  REQUIRE(open_gather(&r, 1, (int32_t[]){4}, TFL_INT32, 2, (int32_t[]){2, 2}, 0, 0) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 4) == TFL_OK);
  const int32_t idx[] = {3, 0, 3, 1};
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), idx, sizeof idx) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *want[] = {"three", "zero", "three", "one"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 2, 2);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  /* out of range, then negative: clean errors */
  const int32_t bad[][4] = {{0, 4, 0, 0}, {0, 0, -1, 0}};
  const char *why[] = {"out of range", "negative"};
  for (int k = 0; k < 2; k++) {
    REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), bad[k], 16) == TFL_OK);
    CHECK_EQ_INT(run_invoke(&r), TFL_ERROR);
    CHECK(contains(r.err, why[k]));
  }
  run_close(&r);
}

TEST(gather_along_an_inner_axis_and_with_batch_dims) {
  const char *v[] = {"a0", "a1", "a2", "b0", "b1", "b2"}; /* [2, 3] */
  run r;
  /* axis 1, int64 indices [2]: out[i][j] = v[i][idx[j]] */
  REQUIRE(open_gather(&r, 2, (int32_t[]){2, 3}, TFL_INT64, 1, (int32_t[]){2}, 1, 0) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 6) == TFL_OK);
  const int64_t i64[] = {2, 0};
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), i64, sizeof i64) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *cols[] = {"a2", "a0", "b2", "b0"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 2, 2);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), cols);
  run_close(&r);
  /* batch_dims 1, int16 indices [2, 2]: out[b][i] = v[b][idx[b][i]] */
  REQUIRE(open_gather(&r, 2, (int32_t[]){2, 3}, TFL_INT16, 2, (int32_t[]){2, 2}, 1, 1) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 6) == TFL_OK);
  const int16_t i16[] = {1, 1, 2, 0};
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), i16, sizeof i16) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *batched[] = {"a1", "a1", "b2", "b0"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 2, 2);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), batched);
  run_close(&r);
}

TEST(gather_from_a_constant_string_table) {
  mb_model *m = mb_new();
  const char *table[] = {"cat", "dog", "emu"};
  int in[2] = {str_const(m, 1, (int32_t[]){3}, table, 3),
               mb_tensor(m, TFL_INT32, 1, (int32_t[]){2}, NULL, 0, "indices")};
  int y = str_tensor(m, 1, (int32_t[]){2}, "y");
  mb_op(m, TFL_OP_GATHER, 1, 2, in, 1, &y, TFL_OPTS_GATHER, NULL);
  mb_inputs(m, 1, &in[1]);
  mb_outputs(m, 1, &y);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  const int32_t idx[] = {2, 1};
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 0), idx, sizeof idx) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *want[] = {"emu", "dog"};
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  run_close(&r);
}

TEST(gather_nd_picks_strings_and_rows) {
  const char *v[] = {"p00", "p01", "p10", "p11"}; /* [2, 2] */
  static const struct {
    int idx_ndim;
    int32_t idx_dims[2];
    int32_t idx[4];
    int out_ndim;
    int32_t out_dims[2];
    const char *want[4];
    int n_want;
  } cases[] = {
      {2, {2, 2}, {1, 0, 0, 1}, 1, {2}, {"p10", "p01"}, 2}, /* elements */
      {2, {1, 1}, {1}, 2, {1, 2}, {"p10", "p11"}, 2},       /* a row */
  };
  for (size_t c = 0; c < COUNT(cases); c++) {
    int x, y;
    mb_model *m = one_op_model(2, (int32_t[]){2, 2}, TFL_STRING, &x, &y);
    int in[2] = {x, mb_tensor(m, TFL_INT32, cases[c].idx_ndim, cases[c].idx_dims, NULL, 0, "i")};
    finish_op(m, TFL_OP_GATHER_ND, TFL_OPTS_GATHER_ND, NULL, 2, in, 2, y);
    run r;
    REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
    tfl_tensor *ti = tfl_interpreter_input(r.interp, 1);
    REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 4) == TFL_OK);
    REQUIRE(tfl_tensor_copy_from(ti, cases[c].idx, tfl_tensor_byte_size(ti)) == TFL_OK);
    REQUIRE(run_invoke(&r) == TFL_OK);
    const tfl_tensor *out = tfl_interpreter_output(r.interp, 0);
    check_dims_at(__FILE__, __LINE__, out, cases[c].out_ndim, cases[c].out_dims);
    check_strings_at(__FILE__, __LINE__, out, cases[c].want, (size_t)cases[c].n_want);
    int32_t bad[4];
    memcpy(bad, cases[c].idx, sizeof bad);
    bad[0] = 2;
    REQUIRE(tfl_tensor_copy_from(ti, bad, tfl_tensor_byte_size(ti)) == TFL_OK);
    CHECK_EQ_INT(run_invoke(&r), TFL_ERROR);
    CHECK(contains(r.err, "out of range"));
    run_close(&r);
  }
}

/* --- SLICE and STRIDED_SLICE ----------------------------------------------------------------- */

/* op on string input x (dims) with constant int32 vectors (n_vec of length len). */
static tfl_status open_slice(run *r, int op, int opts_type, const mb_field *opts, int ndim,
                             const int32_t *dims, int n_vec, int len, const int32_t *vecs) {
  int x, y;
  mb_model *m = one_op_model(ndim, dims, TFL_STRING, &x, &y);
  int in[4] = {x};
  for (int k = 0; k < n_vec; k++) in[k + 1] = i32_const(m, 1, (int32_t[]){len}, vecs + k * len);
  finish_op(m, op, opts_type, opts, n_vec + 1, in, 1, y);
  tfl_status st = run_open(r, m);
  return st == TFL_OK ? run_allocate(r) : st;
}

TEST(slice_of_strings) {
  const char *v[] = {"r0c0", "r0c1", "r1c0", "r1c1", "r2c0", "r2c1"}; /* [3, 2] */
  run r;
  const int32_t begin_size[] = {1, 0, 2, -1};
  REQUIRE(open_slice(&r, TFL_OP_SLICE, TFL_OPTS_SLICE, NULL, 2, (int32_t[]){3, 2}, 2, 2,
                     begin_size) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 6) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *want[] = {"r1c0", "r1c1", "r2c0", "r2c1"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 2, 2);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  run_close(&r);
}

TEST(strided_slice_of_strings) {
  const char *v[] = {"a", "b", "c", "d"};
  run r;
  /* [3:0:-2] -> d, b */
  const int32_t backward[] = {3, 0, -2};
  REQUIRE(open_slice(&r, TFL_OP_STRIDED_SLICE, TFL_OPTS_STRIDED_SLICE, NULL, 1, (int32_t[]){4}, 3,
                     1, backward) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 4) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *db[] = {"d", "b"};
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), db);
  run_close(&r);
  /* [2, 2] with shrink_axis_mask 1: row 1 -> c, d */
  const int32_t row[] = {1, 0, 2, 2, 1, 1};
  mb_field shrink[] = {MB_INT(4, 1), MB_FIELDS_END};
  REQUIRE(open_slice(&r, TFL_OP_STRIDED_SLICE, TFL_OPTS_STRIDED_SLICE, shrink, 2,
                     (int32_t[]){2, 2}, 3, 2, row) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 4) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *cd[] = {"c", "d"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 2);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), cd);
  run_close(&r);
}

/* --- EQUAL and NOT_EQUAL ---------------------------------------------------------------------- */

/* --- TILE and FILL --------------------------------------------------------------------------- */

TEST(tile_repeats_strings_along_each_axis) {
  const char *v[] = {"a", "bc", "", "d"}; /* [2, 2] */
  run r;
  const int32_t multiples[] = {2, 3};
  REQUIRE(open_slice(&r, TFL_OP_TILE, 0, NULL, 2, (int32_t[]){2, 2}, 1, 2, multiples) == TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 4) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *want[] = {"a", "bc", "a", "bc", "a", "bc", "", "d", "", "d", "", "d",
                        "a", "bc", "a", "bc", "a", "bc", "", "d", "", "d", "", "d"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 4, 6);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  run_close(&r);
}

TEST(tile_by_zero_gives_no_strings) {
  const char *v[] = {"x", "y"};
  run r;
  REQUIRE(open_slice(&r, TFL_OP_TILE, 0, NULL, 1, (int32_t[]){2}, 1, 1, (int32_t[]){0}) ==
          TFL_OK);
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 2) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  size_t n = 9;
  CHECK(tfl_tensor_string_count(tfl_interpreter_output(r.interp, 0), &n) == TFL_OK && n == 0);
  run_close(&r);
}

TEST(fill_repeats_one_string) {
  mb_model *m = mb_new();
  int in[2] = {mb_tensor(m, TFL_INT32, 1, (int32_t[]){2}, NULL, 0, "dims"),
               str_tensor(m, 0, NULL, "value")};
  int y = str_tensor(m, 0, NULL, "y");
  finish_op(m, TFL_OP_FILL, 0, NULL, 2, in, 2, y);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK);
  REQUIRE(run_allocate(&r) == TFL_OK);
  int32_t *dims = tfl_tensor_data(tfl_interpreter_input(r.interp, 0));
  dims[0] = 3;
  dims[1] = 1;
  const char *value[] = {"hi"};
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 1), value, 1) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const char *want[] = {"hi", "hi", "hi"};
  CHECK_DIMS(tfl_interpreter_output(r.interp, 0), 3, 1);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), want);
  run_close(&r);
}

TEST(broadcast_to_and_transpose_refuse_strings) {
  const int ops[] = {TFL_OP_BROADCAST_TO, TFL_OP_TRANSPOSE};
  for (int o = 0; o < 2; o++) {
    run r;
    const int32_t vec[] = {0};
    /* prepared when they run, as every node that reads strings */
    REQUIRE(open_slice(&r, ops[o], 0, NULL, 1, (int32_t[]){1}, 1, 1, vec) == TFL_OK);
    CHECK_EQ_INT(run_invoke(&r), TFL_UNSUPPORTED);
    CHECK(contains(r.err, "string"));
    run_close(&r);
  }
}

TEST(equal_and_not_equal_compare_bytes_with_broadcasting) {
  const tfl_string av[] = {{"x", 1}, {"", 0}, {"a\0b", 3}, {"yy", 2}}; /* [2, 2] */
  const tfl_string bv[] = {{"x", 1}, {"", 0}};  /* [2], broadcast over rows */
  const uint8_t eq[] = {1, 1, 0, 0};
  const int ops[] = {TFL_OP_EQUAL, TFL_OP_NOT_EQUAL};
  for (int o = 0; o < 2; o++) {
    mb_model *m = mb_new();
    int in[2] = {str_tensor(m, 2, (int32_t[]){2, 2}, "a"), str_tensor(m, 1, (int32_t[]){2}, "b")};
    int y = mb_tensor(m, TFL_BOOL, 2, (int32_t[]){2, 2}, NULL, 0, "y");
    finish_op(m, ops[o], 0, NULL, 2, in, 2, y);
    run r;
    REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
    REQUIRE(tfl_tensor_set_strings(tfl_interpreter_input(r.interp, 0), av, 4) == TFL_OK);
    REQUIRE(tfl_tensor_set_strings(tfl_interpreter_input(r.interp, 1), bv, 2) == TFL_OK);
    REQUIRE(run_invoke(&r) == TFL_OK);
    const tfl_tensor *out = tfl_interpreter_output(r.interp, 0);
    CHECK_EQ_INT(tfl_tensor_type(out), TFL_BOOL);
    CHECK_DIMS(out, 2, 2);
    const uint8_t *got = tfl_tensor_data_const(out);
    REQUIRE(got);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(got[i], o == 0 ? eq[i] : !eq[i]);
    run_close(&r);
  }
}

TEST(equal_of_constant_strings_is_computed_ahead) {
  mb_model *m = mb_new();
  const char *a[] = {"same", "diff"}, *b[] = {"same", "Diff"};
  int in[2] = {str_const(m, 1, (int32_t[]){2}, a, 2), str_const(m, 1, (int32_t[]){2}, b, 2)};
  int y = mb_tensor(m, TFL_BOOL, 1, (int32_t[]){2}, NULL, 0, "y");
  mb_op(m, TFL_OP_EQUAL, 1, 2, in, 1, &y, 0, NULL);
  mb_outputs(m, 1, &y);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const uint8_t *got = tfl_tensor_data_const(tfl_interpreter_output(r.interp, 0));
  REQUIRE(got);
  CHECK(got[0] == 1 && got[1] == 0);
  run_close(&r);
}

TEST(ops_without_string_kernels_fail_cleanly) {
  const int ops[] = {TFL_OP_LESS, TFL_OP_ADD};
  for (int o = 0; o < 2; o++) {
    mb_model *m = mb_new();
    int in[2] = {str_tensor(m, 1, (int32_t[]){1}, "a"), str_tensor(m, 1, (int32_t[]){1}, "b")};
    int y = mb_tensor(m, o ? TFL_STRING : TFL_BOOL, 1, (int32_t[]){1}, NULL, 0, "y");
    finish_op(m, ops[o], 0, NULL, 2, in, 2, y);
    run r;
    REQUIRE(run_open(&r, m) == TFL_OK);
    /* like TFLite, the model allocates: nodes that read strings are prepared when they run */
    REQUIRE(run_allocate(&r) == TFL_OK);
    CHECK_EQ_INT(run_invoke(&r), TFL_UNSUPPORTED);
    CHECK(contains(r.err, "string"));
    run_close(&r);
  }
}

/* --- control flow ------------------------------------------------------------------------------- */

/* Subgraph body: string [2] in -> GATHER with constant indices {1, 0} -> out (swaps them). */
static void swap_subgraph(mb_model *m, const char *name, int with_counter) {
  mb_subgraph(m, name);
  const int32_t two[] = {2};
  int in = str_tensor(m, 1, two, "s");
  int idx = i32_const(m, 1, two, (int32_t[]){1, 0});
  int out = str_tensor(m, 1, two, "swapped");
  int g[2] = {in, idx};
  mb_op(m, TFL_OP_GATHER, 1, 2, g, 1, &out, TFL_OPTS_GATHER, NULL);
  if (!with_counter) {
    mb_inputs(m, 1, &in);
    mb_outputs(m, 1, &out);
    return;
  }
  int i = mb_tensor(m, TFL_INT32, 0, NULL, NULL, 0, "i");
  int one = i32_const(m, 0, NULL, (int32_t[]){1});
  int next = mb_tensor(m, TFL_INT32, 0, NULL, NULL, 0, "next");
  int add[2] = {i, one};
  mb_op(m, TFL_OP_ADD, 1, 2, add, 1, &next, TFL_OPTS_ADD, NULL);
  int ins[2] = {i, in}, outs[2] = {next, out};
  mb_inputs(m, 2, ins);
  mb_outputs(m, 2, outs);
}

TEST(if_passes_strings_to_and_from_its_branches) {
  mb_model *m = mb_new();
  const int32_t two[] = {2};
  int in[2] = {mb_tensor(m, TFL_BOOL, 0, NULL, NULL, 0, "cond"), str_tensor(m, 1, two, "x")};
  int y = str_tensor(m, 1, two, "y");
  mb_field opts[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  finish_op(m, TFL_OP_IF, TFL_OPTS_IF, opts, 2, in, 2, y);
  mb_subgraph(m, "then"); /* the input itself is the output */
  int t = str_tensor(m, 1, two, "t");
  mb_inputs(m, 1, &t);
  mb_outputs(m, 1, &t);
  swap_subgraph(m, "else", 0);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  const char *v[] = {"first", "second"}, *swapped[] = {"second", "first"};
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 1), v, 2) == TFL_OK);
  for (uint8_t c = 0; c < 2; c++) {
    REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 0), &c, 1) == TFL_OK);
    REQUIRE(run_invoke(&r) == TFL_OK);
    if (c) CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), v);
    else CHECK_STRINGS(tfl_interpreter_output(r.interp, 0), swapped);
  }
  run_close(&r);
}

TEST(while_carries_strings_through_iterations) {
  mb_model *m = mb_new();
  const int32_t two[] = {2};
  int in[2] = {i32_const(m, 0, NULL, (int32_t[]){0}), str_tensor(m, 1, two, "x")};
  int out[2] = {mb_tensor(m, TFL_INT32, 0, NULL, NULL, 0, "n"), str_tensor(m, 1, two, "y")};
  mb_field opts[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  mb_op(m, TFL_OP_WHILE, 1, 2, in, 2, out, TFL_OPTS_WHILE, opts);
  mb_inputs(m, 1, &in[1]);
  mb_outputs(m, 2, out);
  mb_subgraph(m, "cond"); /* i < 3 */
  int ci = mb_tensor(m, TFL_INT32, 0, NULL, NULL, 0, "i");
  int cs = str_tensor(m, 1, two, "s");
  int less[2] = {ci, i32_const(m, 0, NULL, (int32_t[]){3})};
  int go = mb_tensor(m, TFL_BOOL, 0, NULL, NULL, 0, "go");
  mb_op(m, TFL_OP_LESS, 1, 2, less, 1, &go, 0, NULL);
  int cin[2] = {ci, cs};
  mb_inputs(m, 2, cin);
  mb_outputs(m, 1, &go);
  swap_subgraph(m, "body", 1);
  run r;
  REQUIRE(run_open(&r, m) == TFL_OK && run_allocate(&r) == TFL_OK);
  const char *v[] = {"left", "a longer right"}, *swapped[] = {"a longer right", "left"};
  REQUIRE(set_cstrings(tfl_interpreter_input(r.interp, 0), v, 2) == TFL_OK);
  REQUIRE(run_invoke(&r) == TFL_OK);
  const int32_t *n = tfl_tensor_data_const(tfl_interpreter_output(r.interp, 0));
  REQUIRE(n);
  CHECK_EQ_INT(*n, 3);
  CHECK_STRINGS(tfl_interpreter_output(r.interp, 1), swapped); /* swapped 3 times */
  run_close(&r);
}

int main(void) {
  RUN(sets_and_reads_strings_through_the_api);
  RUN(api_errors_leave_the_tensor_unchanged);
  RUN(overwritten_string_data_fails_cleanly);
  RUN(resizing_a_string_input);
  RUN(reads_string_constants);
  RUN(refuses_hostile_string_constants);
  RUN(reshape_of_constant_strings);
  RUN(squeeze_and_expand_dims_of_strings);
  RUN(gather_picks_strings);
  RUN(gather_along_an_inner_axis_and_with_batch_dims);
  RUN(gather_from_a_constant_string_table);
  RUN(gather_nd_picks_strings_and_rows);
  RUN(slice_of_strings);
  RUN(strided_slice_of_strings);
  RUN(tile_repeats_strings_along_each_axis);
  RUN(tile_by_zero_gives_no_strings);
  RUN(fill_repeats_one_string);
  RUN(broadcast_to_and_transpose_refuse_strings);
  RUN(equal_and_not_equal_compare_bytes_with_broadcasting);
  RUN(equal_of_constant_strings_is_computed_ahead);
  RUN(ops_without_string_kernels_fail_cleanly);
  RUN(if_passes_strings_to_and_from_its_branches);
  RUN(while_carries_strings_through_iterations);
  return test_summary();
}
