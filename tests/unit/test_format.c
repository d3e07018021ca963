/* The generic FlatBuffers verifier and the accessors, on buffers laid out byte by byte here
 * (a toy schema, so every field kind and every malformation is under the test's control),
 * plus the TFLite schema tables themselves. */
#include <stdlib.h>
#include <string.h>

#include "format/flatbuf.h"
#include "format/tflite_schema.h"
#include "format/verify.h"
#include "model/ops.h"
#include "util/test.h"

/* --- a forward writer: tables first, their children after (uoffsets point forward) ------ */

typedef struct wbuf {
  uint8_t b[4096];
  uint32_t n;
} wbuf;

static void pad(wbuf *w, uint32_t align) {
  while (w->n % align) w->b[w->n++] = 0;
}

static uint32_t put(wbuf *w, uint64_t v, int size) {
  uint32_t at = w->n;
  for (int i = 0; i < size; i++) w->b[w->n++] = (uint8_t)(v >> (8 * i));
  return at;
}

static void set32(wbuf *w, uint32_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) w->b[at + i] = (uint8_t)(v >> (8 * i));
}

static void set16(wbuf *w, uint32_t at, uint16_t v) {
  w->b[at] = (uint8_t)v;
  w->b[at + 1] = (uint8_t)(v >> 8);
}

/* Makes the uoffset at `at` point to `target`. */
static void link_to(wbuf *w, uint32_t at, uint32_t target) { set32(w, at, target - at); }

/* A vtable, then its table. size[i] is field i's inline size (0 = absent, 4 for offsets,
 * which are written as 0 for link() to fill in). pos[i] receives each field's position. */
static uint32_t table(wbuf *w, int n, const int *size, const uint64_t *val, uint32_t *pos) {
  pad(w, 2);
  uint32_t vt = put(w, (uint64_t)(4 + 2 * n), 2);
  put(w, 0, 2);
  for (int i = 0; i < n; i++) put(w, 0, 2);
  while (w->n % 8 != 4) w->b[w->n++] = 0; /* fields after the soffset are 8-aligned */
  uint32_t t = put(w, 0, 4);
  set32(w, t, t - vt);
  for (int i = 0; i < n; i++) {
    pos[i] = 0;
    if (!size[i]) continue;
    pad(w, (uint32_t)size[i]);
    pos[i] = put(w, val ? val[i] : 0, size[i]);
    set16(w, vt + 4 + 2 * (uint32_t)i, (uint16_t)(pos[i] - t));
  }
  set16(w, vt + 2, (uint16_t)(w->n - t));
  return t;
}

static uint32_t string(wbuf *w, const char *s) {
  pad(w, 4);
  uint32_t at = put(w, strlen(s), 4);
  memcpy(w->b + w->n, s, strlen(s) + 1);
  w->n += (uint32_t)strlen(s) + 1;
  return at;
}

static uint32_t vector(wbuf *w, uint32_t len, int elem, const uint64_t *vals) {
  pad(w, 4);
  if (elem == 8 && w->n % 8 == 0) put(w, 0, 4); /* 8-byte elements: data 8-aligned */
  uint32_t at = put(w, len, 4);
  for (uint32_t i = 0; i < len; i++) put(w, vals ? vals[i] : 0, elem);
  return at;
}

static uint32_t begin(wbuf *w, const char *id) {
  w->n = 0;
  put(w, 0, 4);
  memcpy(w->b + 4, id, 4);
  w->n = 8;
  return 0;
}

/* --- the toy schema ------------------------------------------------------------------- */

static const fb_table_desc leaf_desc = {"Leaf", "bi", NULL, NULL};       /* int8, int32 */
static const fb_table_desc members[] = {{"Leaf", "bi", NULL, NULL}, {"Other", "l", NULL, NULL}};
static const fb_union_desc thing_union = {"Thing", 2, members};
static const fb_table_desc *const root_tables[] = {&leaf_desc, &leaf_desc};
static const fb_union_desc *const root_unions[] = {&thing_union};
/* 0 int32, 1 string, 2 Leaf, 3 [Leaf], 4 [int32], 5 [string], 6-7 Thing, 8 int64, 9 [int64],
 * 10 float, 11 uint16 */
static const fb_table_desc root_desc = {"Root", "istT4SuUl8fH", root_tables, root_unions};

enum defect {
  OK_BUFFER, BAD_IDENT, ROOT_ZERO, ROOT_PAST_END, VTABLE_PAST_END, VTABLE_ODD, VTABLE_TINY,
  TABLE_TOO_BIG, FIELD_OUTSIDE, FIELD_MISALIGNED, STRING_UNTERMINATED, STRING_TOO_LONG,
  VECTOR_OVERFLOW, VECTOR_MISALIGNED, UNION_UNKNOWN, UNION_TYPE_NONE, SUBTABLE_BAD,
  ELEMENT_BAD, STRING_ELEMENT_BAD, EXTRA_SLOT, DEFECT_COUNT
};

/* The root table of the toy schema with every field set, or with one defect. */
static void build_root(wbuf *w, enum defect d) {
  begin(w, d == BAD_IDENT ? "XXXX" : "TEST");
  int size[13] = {4, 4, 4, 4, 4, 4, 1, 4, 8, 4, 4, 2, 4};
  uint64_t val[13] = {0xfffffff6u /* -10 */, 0, 0, 0, 0, 0, 2 /* Other */, 0,
                      (uint64_t)-1234567890123ll, 0, 0x40490fdbu /* pi */, 65535, 0xdead};
  uint32_t f[13] = {0};
  int n = d == EXTRA_SLOT ? 13 : 12; /* slot 12 is past the description: never looked at */
  if (d == UNION_UNKNOWN) val[6] = 3;
  if (d == UNION_TYPE_NONE) size[6] = 0;
  uint32_t root = table(w, n, size, val, f);
  link_to(w, 0, root);
  if (d == ROOT_ZERO) set32(w, 0, 0);
  if (d == ROOT_PAST_END) set32(w, 0, 100000);
  if (d == VTABLE_PAST_END) set32(w, root, (uint32_t)-100000);
  uint32_t vt = root - (uint32_t)(w->b[root] | (w->b[root + 1] << 8));
  if (d == VTABLE_ODD) set16(w, vt, 5);
  if (d == VTABLE_TINY) set16(w, vt, 2);
  if (d == TABLE_TOO_BIG) set16(w, vt + 2, 60000);
  if (d == FIELD_OUTSIDE) set16(w, vt + 4 + 2 * 8, 200);                 /* the int64 */
  if (d == FIELD_MISALIGNED) set16(w, vt + 4, (uint16_t)(f[0] - root + 1)); /* the int32 */

  uint32_t hello = string(w, "hello");
  link_to(w, f[1], hello);
  if (d == STRING_UNTERMINATED) w->b[w->n - 1] = 'x';
  if (d == STRING_TOO_LONG) set32(w, hello, 1000);

  uint32_t leaves = vector(w, 2, 4, NULL);
  link_to(w, f[3], leaves);
  int leaf_size[2] = {1, 4};
  uint64_t leaf_val[2] = {0x80 /* -128 */, 77};
  uint32_t lf[2];
  uint32_t leaf = table(w, 2, leaf_size, leaf_val, lf);
  link_to(w, f[2], leaf);
  link_to(w, leaves + 4, leaf); /* both elements share the field's leaf */
  link_to(w, leaves + 8, leaf);
  if (d == SUBTABLE_BAD) set32(w, f[2], 0);
  if (d == ELEMENT_BAD) set32(w, leaves + 8, 0x7fff0000);

  uint64_t ints[3] = {1, 2, 0xffffffffu};
  uint32_t iv = vector(w, 3, 4, ints);
  link_to(w, f[4], iv);
  if (d == VECTOR_OVERFLOW) set32(w, iv, 0x40000001); /* 4 * len wraps 32 bits */
  if (d == VECTOR_MISALIGNED) set32(w, f[4], iv + 2 - f[4]);

  uint32_t sv = vector(w, 2, 4, NULL);
  link_to(w, f[5], sv);
  link_to(w, sv + 4, string(w, "a"));
  link_to(w, sv + 8, string(w, "bc"));
  if (d == STRING_ELEMENT_BAD) set32(w, sv + 8, 1); /* points into the next element */

  int other_size[1] = {8};
  uint64_t other_val[1] = {42};
  uint32_t of[1];
  link_to(w, f[7], table(w, 1, other_size, other_val, of));

  uint64_t longs[2] = {(uint64_t)-1ll, 5};
  link_to(w, f[9], vector(w, 2, 8, longs));
  if (f[12]) set32(w, f[12], 0xdeadbeef); /* garbage in the undescribed slot */
}

static int verify(const wbuf *w, size_t size, const char *id, fb_table *root, char *err) {
  return fb_verify(w->b, size, id, &root_desc, root, err, 256);
}

TEST(valid_buffer_reads_back) {
  wbuf w;
  char err[256];
  fb_table r;
  build_root(&w, OK_BUFFER);
  REQUIRE(verify(&w, w.n, "TEST", &r, err) == 0);
  CHECK_EQ_INT(fb_i32(r, 0, 0), -10);
  uint32_t len;
  const char *s = fb_string(r, 1, &len);
  CHECK(s && strcmp(s, "hello") == 0);
  CHECK_EQ_INT(len, 5);
  fb_table leaf = fb_subtable(r, 2);
  CHECK(fb_table_present(leaf));
  CHECK_EQ_INT(fb_i8(leaf, 0, 0), -128);
  CHECK_EQ_INT(fb_u8(leaf, 0, 0), 128);
  CHECK_EQ_INT(fb_i32(leaf, 1, 0), 77);
  fb_vector leaves = fb_vec(r, 3);
  CHECK_EQ_INT(leaves.len, 2);
  CHECK_EQ_INT(fb_i32(fb_vec_table(r, leaves, 1), 1, 0), 77);
  fb_vector ints = fb_vec(r, 4);
  CHECK_EQ_INT(ints.len, 3);
  CHECK_EQ_INT(fb_vec_i32(ints, 2), -1);
  CHECK_EQ_INT(fb_vec_u32(ints, 2), 0xffffffffu);
  CHECK_EQ_INT(fb_vec_u16(ints, 0), 1);
  CHECK_EQ_INT(fb_vec_u8(ints, 4), 2);
  fb_vector strs = fb_vec(r, 5);
  CHECK(strcmp(fb_vec_string(strs, 1, &len), "bc") == 0);
  CHECK_EQ_INT(len, 2);
  CHECK_EQ_INT(fb_u8(r, 6, 0), 2);
  CHECK_EQ_INT(fb_i64(fb_subtable(r, 7), 0, 0), 42);
  CHECK(fb_i64(r, 8, 0) == -1234567890123ll);
  CHECK(fb_u64(r, 8, 0) == (uint64_t)-1234567890123ll);
  fb_vector longs = fb_vec(r, 9);
  CHECK(fb_vec_i64(longs, 0) == -1);
  CHECK_NEAR(fb_f32(r, 10, 0), 3.14159265, 1e-6);
  CHECK_EQ_INT(fb_u16(r, 11, 0), 65535);
  CHECK_EQ_INT(fb_i16(r, 11, 0), -1);
  CHECK(fb_has(r, 0));
}

TEST(absent_fields_read_as_defaults) {
  wbuf w;
  char err[256];
  fb_table r;
  build_root(&w, UNION_TYPE_NONE);
  REQUIRE(verify(&w, w.n, "TEST", &r, err) == 0);
  CHECK(!fb_has(r, 6));
  CHECK_EQ_INT(fb_u8(r, 6, 9), 9);
  CHECK(!fb_has(r, 40));
  CHECK_EQ_INT(fb_i32(r, 40, 7), 7);
  CHECK_EQ_INT(fb_i32(r, -1, 7), 7);
  CHECK(!fb_table_present(fb_subtable(r, 40)));
  CHECK(fb_vec(r, 40).data == NULL);
  CHECK(fb_string(r, 40, NULL) == NULL);
  CHECK(fb_bool(r, 40, 1) == 1);
  CHECK_NEAR(fb_f32(r, 40, 2.5f), 2.5, 0);
  CHECK_NEAR(fb_f64(r, 40, -1.0), -1.0, 0);
  fb_table none = {NULL, 0};
  CHECK_EQ_INT(fb_i32(none, 0, 3), 3);
  CHECK(!fb_table_present(fb_subtable(none, 0)));
  /* The uint16 is the root table's last field: a wider read there would leave the table's
   * verified bytes, so it reads as absent instead. */
  CHECK_EQ_INT(fb_u16(r, 11, 0), 65535);
  CHECK_EQ_INT(fb_u32(r, 11, 77), 77);
  CHECK(fb_u64(r, 11, 77) == 77);
}

TEST(every_defect_is_rejected_with_a_message) {
  static const char *const expect[DEFECT_COUNT] = {
      [BAD_IDENT] = "identifier",           [ROOT_ZERO] = "bad offset",
      [ROOT_PAST_END] = "past the end",     [VTABLE_PAST_END] = "vtable out of range",
      [VTABLE_ODD] = "vtable size",         [VTABLE_TINY] = "vtable size",
      [TABLE_TOO_BIG] = "table size",       [FIELD_OUTSIDE] = "outside its table",
      [FIELD_MISALIGNED] = "misaligned",    [STRING_UNTERMINATED] = "NUL",
      [STRING_TOO_LONG] = "runs past",      [VECTOR_OVERFLOW] = "runs past",
      [VECTOR_MISALIGNED] = "misaligned",   [UNION_UNKNOWN] = "unknown Thing type 3",
      [SUBTABLE_BAD] = "bad offset",        [ELEMENT_BAD] = "past the end",
      [STRING_ELEMENT_BAD] = "misaligned",
  };
  for (int d = BAD_IDENT; d < DEFECT_COUNT; d++) {
    if (d == UNION_TYPE_NONE || d == EXTRA_SLOT) continue;
    wbuf w;
    char err[256] = "";
    fb_table r = {NULL, 0};
    build_root(&w, (enum defect)d);
    int rc = verify(&w, w.n, "TEST", &r, err);
    if (rc == 0) test_fail(__FILE__, __LINE__, "defect %d accepted", d);
    if (!strstr(err, expect[d]) || strncmp(err, "invalid FlatBuffer: ", 20) != 0)
      test_fail(__FILE__, __LINE__, "defect %d: unexpected message \"%s\"", d, err);
  }
}

TEST(undescribed_slots_are_ignored) {
  wbuf w;
  char err[256];
  fb_table r;
  build_root(&w, EXTRA_SLOT);
  CHECK(verify(&w, w.n, "TEST", &r, err) == 0);
}

TEST(identifier_and_size_limits) {
  wbuf w;
  char err[256];
  fb_table r;
  build_root(&w, OK_BUFFER);
  CHECK(verify(&w, w.n, NULL, &r, err) == 0); /* no identifier required */
  CHECK(verify(&w, w.n, "TFL3", &r, err) != 0);
  CHECK(verify(&w, 7, NULL, &r, err) != 0);
  CHECK(strstr(err, "too small") != NULL);
  CHECK(fb_verify(NULL, 100, NULL, &root_desc, &r, err, sizeof(err)) != 0);
  /* every truncation fails cleanly (the last field written is inside the buffer's end) */
  for (uint32_t n = 0; n < w.n; n++) {
    uint8_t *copy = malloc(n ? n : 1);
    REQUIRE(copy);
    memcpy(copy, w.b, n);
    int rc = fb_verify(copy, n, "TEST", &root_desc, &r, NULL, 0);
    if (rc == 0) test_fail(__FILE__, __LINE__, "truncation to %u accepted", n);
    free(copy);
  }
}

/* --- depth and sharing limits ------------------------------------------------------- */

static const fb_table_desc node_desc;
static const fb_table_desc *const node_tables[] = {&node_desc, &node_desc};
static const fb_table_desc node_desc = {"Node", "tt", node_tables, NULL};

/* A chain of `depth` nodes; with `shared`, both fields of each node point to the next one,
 * so the DAG has `depth` tables but 2^depth paths. */
static void build_chain(wbuf *w, int depth, int shared) {
  int size[2] = {4, shared ? 4 : 0};
  uint32_t f[2], prev[2] = {0, 0};
  begin(w, "NODE");
  for (int i = 0; i < depth; i++) {
    uint32_t t = table(w, 2, size, NULL, f);
    if (i == 0) link_to(w, 0, t);
    for (int k = 0; k < 2; k++)
      if (prev[k]) link_to(w, prev[k], t);
    prev[0] = f[0];
    prev[1] = f[1];
  }
  int leaf_size[2] = {0, 0};
  uint32_t last = table(w, 2, leaf_size, NULL, f);
  for (int k = 0; k < 2; k++)
    if (prev[k]) link_to(w, prev[k], last);
}

TEST(nesting_and_sharing_are_bounded) {
  wbuf w;
  char err[256];
  fb_table r;
  build_chain(&w, FB_MAX_DEPTH, 0);
  CHECK(fb_verify(w.b, w.n, "NODE", &node_desc, &r, err, sizeof(err)) == 0);
  build_chain(&w, FB_MAX_DEPTH + 1, 0);
  CHECK(fb_verify(w.b, w.n, "NODE", &node_desc, &r, err, sizeof(err)) != 0);
  CHECK(strstr(err, "nested too deeply") != NULL);
  build_chain(&w, 30, 1); /* 2^31 table visits if nothing stopped it */
  CHECK(fb_verify(w.b, w.n, "NODE", &node_desc, &r, err, sizeof(err)) != 0);
  CHECK(strstr(err, "too many tables") != NULL);
}

/* --- reads through a description ---------------------------------------------------- */

TEST(described_reads_use_the_declared_type) {
  wbuf w;
  char err[256];
  fb_table r;
  build_root(&w, OK_BUFFER);
  REQUIRE(verify(&w, w.n, "TEST", &r, err) == 0);
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 0, 5), -10);
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 6, 5), 2);
  CHECK(fb_desc_int(r, &root_desc, 8, 5) == -1234567890123ll);
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 10, 5), 3); /* float truncated */
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 11, 5), 65535);
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 1, 5), 5);  /* a string: default */
  CHECK_EQ_INT(fb_desc_int(r, &root_desc, 12, 5), 5); /* not described */
  CHECK_NEAR(fb_desc_float(r, &root_desc, 10, 0), 3.14159265, 1e-6);
  CHECK_NEAR(fb_desc_float(r, &root_desc, 0, 0), -10.0, 0);
  CHECK_NEAR(fb_desc_float(r, &root_desc, 3, 1.5), 1.5, 0);
  CHECK_EQ_INT(fb_desc_vec(r, &root_desc, 4, 4).len, 3);
  CHECK(fb_desc_vec(r, &root_desc, 4, 8).data == NULL);
  CHECK(fb_desc_vec(r, &root_desc, 3, 4).data == NULL); /* tables, not scalars */
  CHECK_EQ_INT(fb_desc_vec(r, &root_desc, 9, 8).len, 2);
  fb_table leaf = fb_subtable(r, 2);
  CHECK_EQ_INT(fb_desc_int(leaf, &leaf_desc, 0, 0), -128);
  CHECK_EQ_INT(fb_desc_kind(&leaf_desc, 1), 'i');
  CHECK_EQ_INT(fb_desc_kind(&leaf_desc, 2), 0);
  CHECK_EQ_INT(fb_desc_kind(NULL, 0), 0);
}

/* --- the TFLite schema tables ------------------------------------------------------- */

TEST(tflite_options_tables) {
  CHECK_EQ_INT(tflite_options_count(1), TFL_OPTS_COUNT - 1);
  CHECK_EQ_INT(tflite_options_count(2), 23);
  CHECK(tflite_options_desc(1, 0) == NULL);
  CHECK(tflite_options_desc(1, TFL_OPTS_COUNT) == NULL);
  CHECK(tflite_options_desc(3, 1) == NULL);
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_CONV_2D)->name, "Conv2DOptions") == 0);
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_RIGHT_SHIFT)->name, "RightShiftOptions") == 0);
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_WHILE)->fields, "gg") == 0);
  CHECK(strcmp(tflite_options_desc(2, 23)->name, "StablehloCaseOptions") == 0);
  /* Every name ends in Options and every code is a known kind. */
  for (int set = 1; set <= 2; set++)
    for (int t = 1; t <= tflite_options_count(set); t++) {
      const fb_table_desc *d = tflite_options_desc(set, (unsigned)t);
      REQUIRE(d);
      CHECK(strstr(d->name, "Options") != NULL);
      CHECK(strspn(d->fields, "bBohHiIlLfdgs12348GS") == strlen(d->fields));
    }
  /* Names of BuiltinOptions follow the order of the TFL_OPTS_* enum. */
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_FULLY_CONNECTED)->name,
               "FullyConnectedOptions") == 0);
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_BATCH_MATMUL)->name, "BatchMatMulOptions") == 0);
  CHECK(strcmp(tflite_options_desc(1, TFL_OPTS_GELU)->name, "GeluOptions") == 0);
}

int main(void) {
  RUN(valid_buffer_reads_back);
  RUN(absent_fields_read_as_defaults);
  RUN(every_defect_is_rejected_with_a_message);
  RUN(undescribed_slots_are_ignored);
  RUN(identifier_and_size_limits);
  RUN(nesting_and_sharing_are_bounded);
  RUN(described_reads_use_the_declared_type);
  RUN(tflite_options_tables);
  return test_summary();
}
