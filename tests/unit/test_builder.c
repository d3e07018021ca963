/* The FlatBuffers builder (src/format/fb_builder) and the .tflite model builder
 * (tests/util/model_builder): the produced bytes are decoded by hand here, independently of
 * the library's reader, then loaded through the format and model layers. */
#include <stdlib.h>
#include <string.h>

#include "format/fb_builder.h"
#include "format/tflite_schema.h"
#include "format/verify.h"
#include "model/model.h"
#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

/* --- a minimal hand decoder ------------------------------------------------------------ */

typedef struct dec {
  const uint8_t *b;
  size_t size;
  int bad; /* a read fell outside the buffer */
} dec;

static uint64_t rd(dec *d, size_t pos, size_t n) {
  if (pos > d->size || n > d->size - pos) {
    d->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | d->b[pos + i];
  return v;
}

static uint32_t rd32(dec *d, size_t pos) { return (uint32_t)rd(d, pos, 4); }

/* Position of a table field's value; 0 when the vtable does not have it. */
static size_t fld(dec *d, size_t table, int field) {
  size_t vt = table - (size_t)(int64_t)(int32_t)rd32(d, table);
  size_t vt_size = (size_t)rd(d, vt, 2);
  if (4 + 2 * (size_t)field + 2 > vt_size) return 0;
  size_t off = (size_t)rd(d, vt + 4 + 2 * (size_t)field, 2);
  return off ? table + off : 0;
}

/* Follows the uoffset stored at pos (0 stays 0). */
static size_t follow(dec *d, size_t pos) { return pos ? pos + rd32(d, pos) : 0; }
/* The table, vector or string an offset field points to; 0 when absent. */
static size_t ref(dec *d, size_t table, int field) { return follow(d, fld(d, table, field)); }
static int64_t sval(dec *d, size_t table, int field, size_t n) { /* signed scalar field */
  uint64_t v = rd(d, fld(d, table, field), n);
  int shift = (int)(64 - 8 * n);
  return (int64_t)(v << shift) >> shift;
}
static uint32_t vlen(dec *d, size_t vec) { return rd32(d, vec); }
static size_t velem(dec *d, size_t vec, uint32_t i) { return follow(d, vec + 4 + 4 * (size_t)i); }
static int32_t vi32(dec *d, size_t vec, uint32_t i) { return (int32_t)rd32(d, vec + 4 + 4 * i); }

/* The string at pos, checked to be NUL-terminated inside the buffer; NULL when absent. */
static const char *str(dec *d, size_t pos) {
  if (!pos) return NULL;
  uint32_t len = rd32(d, pos);
  if (rd(d, pos + 4 + len, 1) != 0) d->bad = 1;
  return d->bad ? "" : (const char *)d->b + pos + 4;
}

static float f32_of(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

/* The root table of a finished buffer. */
static size_t root_of(dec *d, const uint8_t *b, size_t size) {
  d->b = b;
  d->size = size;
  d->bad = 0;
  return rd32(d, 0);
}

/* --- fb_builder ------------------------------------------------------------------------ */

TEST(fbb_table_fields_and_alignment) {
  fb_builder b;
  fbb_init(&b);
  fb_ref s = fbb_string(&b, "hello");
  fbb_start(&b);
  fbb_add_u8(&b, 0, 0xAB);
  fbb_add_u32(&b, 2, 0xDEADBEEFu);
  fbb_add_u16(&b, 1, 0x1234);
  fbb_add_u64(&b, 4, 0x0102030405060708ull);
  fbb_add_ref(&b, 7, s);
  fbb_add_f32(&b, 6, 1.5f);
  fbb_add_ref(&b, 5, 0); /* absent */
  fb_ref root = fbb_end(&b);
  size_t size;
  uint8_t *buf = fbb_finish(&b, root, "ABCD", &size);
  fbb_free(&b);
  REQUIRE(buf);
  dec d;
  size_t t = root_of(&d, buf, size);
  CHECK((uintptr_t)buf % 16 == 0);
  CHECK(size % 8 == 0); /* padded to the largest alignment used */
  CHECK(memcmp(buf + 4, "ABCD", 4) == 0);
  CHECK(t % 4 == 0);
  size_t vt = t - (size_t)(int32_t)rd32(&d, t);
  CHECK_EQ_INT(rd(&d, vt, 2), 4 + 2 * 8);
  CHECK(rd(&d, vt + 2, 2) >= 4 + 1 + 2 + 4 + 8 + 4 + 4);
  CHECK_EQ_INT(rd(&d, fld(&d, t, 0), 1), 0xAB);
  CHECK_EQ_INT(rd(&d, fld(&d, t, 1), 2), 0x1234);
  CHECK_EQ_INT(rd32(&d, fld(&d, t, 2)), 0xDEADBEEFu);
  CHECK(rd(&d, fld(&d, t, 4), 8) == 0x0102030405060708ull);
  CHECK(f32_of(rd32(&d, fld(&d, t, 6))) == 1.5f);
  CHECK_EQ_INT(fld(&d, t, 3), 0);
  CHECK_EQ_INT(fld(&d, t, 5), 0);
  CHECK_EQ_INT(fld(&d, t, 9), 0); /* past the vtable */
  CHECK(fld(&d, t, 1) % 2 == 0);
  CHECK(fld(&d, t, 2) % 4 == 0);
  CHECK(fld(&d, t, 4) % 8 == 0);
  CHECK(fld(&d, t, 6) % 4 == 0);
  size_t sp = ref(&d, t, 7);
  CHECK(sp % 4 == 0);
  CHECK_EQ_INT(vlen(&d, sp), 5);
  CHECK(strcmp(str(&d, sp), "hello") == 0);
  CHECK(!d.bad);
  free(buf);
}

TEST(fbb_vectors_are_aligned) {
  fb_builder b;
  fbb_init(&b);
  fb_ref odd = fbb_vector(&b, "abc", 3, 1, 1);
  fb_ref forced = fbb_vector(&b, "12345", 5, 1, 16);
  int64_t longs[] = {-1, (int64_t)1 << 40};
  fb_ref l = fbb_vector(&b, longs, 2, 8, 8);
  int16_t shorts[] = {-2, 300, 7};
  fb_ref h = fbb_vector(&b, shorts, 3, 2, 2);
  fb_ref empty = fbb_vector(&b, NULL, 0, 4, 4);
  fbb_start(&b);
  fbb_add_ref(&b, 0, odd);
  fbb_add_ref(&b, 1, forced);
  fbb_add_ref(&b, 2, l);
  fbb_add_ref(&b, 3, h);
  fbb_add_ref(&b, 4, empty);
  fb_ref root = fbb_end(&b);
  size_t size;
  uint8_t *buf = fbb_finish(&b, root, NULL, &size);
  fbb_free(&b);
  REQUIRE(buf);
  dec d;
  size_t t = root_of(&d, buf, size);
  CHECK(size % 16 == 0);
  size_t v0 = ref(&d, t, 0), v1 = ref(&d, t, 1), v2 = ref(&d, t, 2), v3 = ref(&d, t, 3);
  CHECK(v0 % 4 == 0 && v1 % 4 == 0 && v2 % 4 == 0 && v3 % 4 == 0);
  CHECK_EQ_INT(vlen(&d, v0), 3);
  CHECK(memcmp(buf + v0 + 4, "abc", 3) == 0);
  CHECK_EQ_INT(vlen(&d, v1), 5);
  CHECK((v1 + 4) % 16 == 0);
  CHECK(memcmp(buf + v1 + 4, "12345", 5) == 0);
  CHECK_EQ_INT(vlen(&d, v2), 2);
  CHECK((v2 + 4) % 8 == 0);
  CHECK((int64_t)rd(&d, v2 + 4, 8) == -1);
  CHECK((int64_t)rd(&d, v2 + 12, 8) == (int64_t)1 << 40);
  CHECK_EQ_INT(vlen(&d, v3), 3);
  CHECK_EQ_INT((int16_t)rd(&d, v3 + 4, 2), -2);
  CHECK_EQ_INT((int16_t)rd(&d, v3 + 6, 2), 300);
  CHECK_EQ_INT((int16_t)rd(&d, v3 + 8, 2), 7);
  CHECK_EQ_INT(vlen(&d, ref(&d, t, 4)), 0);
  CHECK(!d.bad);
  free(buf);
}

TEST(fbb_grows_through_many_tables) {
  enum { N = 3000 };
  static fb_ref items[N];
  fb_builder b;
  fbb_init(&b);
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof(name), "item%d", i);
    fb_ref s = fbb_string(&b, name);
    fbb_start(&b);
    fbb_add_u32(&b, 0, (uint32_t)i * 3);
    fbb_add_ref(&b, 1, s);
    items[i] = fbb_end(&b);
  }
  fb_ref vec = fbb_refs(&b, items, N);
  fbb_start(&b);
  fbb_add_ref(&b, 0, vec);
  fb_ref root = fbb_end(&b);
  size_t size;
  uint8_t *buf = fbb_finish(&b, root, "GROW", &size);
  fbb_free(&b);
  REQUIRE(buf);
  dec d;
  size_t v = ref(&d, root_of(&d, buf, size), 0);
  REQUIRE(vlen(&d, v) == N);
  int wrong = 0;
  for (uint32_t i = 0; i < N; i++) {
    size_t t = velem(&d, v, i);
    char name[16];
    snprintf(name, sizeof(name), "item%u", (unsigned)i);
    if (rd32(&d, fld(&d, t, 0)) != i * 3 || strcmp(str(&d, ref(&d, t, 1)), name) != 0) wrong++;
  }
  CHECK_EQ_INT(wrong, 0);
  CHECK(!d.bad);
  free(buf);
}

/* Whether a buffer still comes out of a builder after `misuse`. */
static int finishes_after(void (*misuse)(fb_builder *b)) {
  fb_builder b;
  fbb_init(&b);
  fbb_start(&b);
  fbb_add_u32(&b, 0, 1);
  fb_ref root = fbb_end(&b);
  misuse(&b);
  size_t size;
  uint8_t *buf = fbb_finish(&b, root, "TEST", &size);
  fbb_free(&b);
  int ok = buf != NULL;
  free(buf);
  return ok;
}

static void misuse_none(fb_builder *b) { (void)b; }
static void misuse_string_in_table(fb_builder *b) {
  fbb_start(b);
  fbb_string(b, "x");
  fbb_end(b);
}
static void misuse_end_without_start(fb_builder *b) { fbb_end(b); }
static void misuse_field_outside_table(fb_builder *b) { fbb_add_u8(b, 0, 1); }
static void misuse_left_open(fb_builder *b) { fbb_start(b); }
static void misuse_bad_elem_size(fb_builder *b) { fbb_vector(b, "abc", 1, 3, 1); }
static void misuse_negative_field(fb_builder *b) {
  fbb_start(b);
  fbb_add_u32(b, -1, 0);
  fbb_end(b);
}

TEST(fbb_misuse_fails_at_finish) {
  CHECK(finishes_after(misuse_none));
  CHECK(!finishes_after(misuse_string_in_table));
  CHECK(!finishes_after(misuse_end_without_start));
  CHECK(!finishes_after(misuse_field_outside_table));
  CHECK(!finishes_after(misuse_left_open));
  CHECK(!finishes_after(misuse_bad_elem_size));
  CHECK(!finishes_after(misuse_negative_field));
  fb_builder b;
  fbb_init(&b);
  size_t size;
  CHECK(fbb_finish(&b, 0, "TEST", &size) == NULL); /* no root */
  fbb_free(&b);
  fbb_init(&b);
  fbb_start(&b);
  CHECK(fbb_finish(&b, fbb_end(&b), "TOOLONG", &size) == NULL);
  fbb_free(&b);
}

/* --- model_builder: hand decoding ------------------------------------------------------ */

/* Model field ids. */
enum { M_VERSION, M_OPCODES, M_SUBGRAPHS, M_DESCRIPTION, M_BUFFERS, M_METADATA = 6, M_SIGS };
enum { SG_TENSORS, SG_INPUTS, SG_OUTPUTS, SG_OPS, SG_NAME };
enum { T_SHAPE, T_TYPE, T_BUFFER, T_NAME, T_QUANT, T_VARIABLE, T_SIG = 7 };
enum { OP_OPCODE, OP_IN, OP_OUT, OP_OPT_TYPE, OP_OPT, OP_CUSTOM, OP_INTERMEDIATES = 8,
       OP_OPT2_TYPE = 11, OP_OPT2 };

typedef struct built {
  uint8_t *buf;
  size_t size;
  dec d;
  size_t model;
} built;

static int finish_model(mb_model *m, built *out) {
  out->buf = mb_finish(m, &out->size);
  mb_free(m);
  if (!out->buf) return 0;
  out->model = root_of(&out->d, out->buf, out->size);
  return 1;
}

static size_t subgraph(built *bt, uint32_t i) {
  return velem(&bt->d, ref(&bt->d, bt->model, M_SUBGRAPHS), i);
}
static size_t tensor(built *bt, uint32_t sg, uint32_t i) {
  return velem(&bt->d, ref(&bt->d, subgraph(bt, sg), SG_TENSORS), i);
}
static size_t op(built *bt, uint32_t sg, uint32_t i) {
  return velem(&bt->d, ref(&bt->d, subgraph(bt, sg), SG_OPS), i);
}
static size_t opcode(built *bt, uint32_t i) {
  return velem(&bt->d, ref(&bt->d, bt->model, M_OPCODES), i);
}
static size_t buffer(built *bt, uint32_t i) {
  return velem(&bt->d, ref(&bt->d, bt->model, M_BUFFERS), i);
}

/* Checks an int32 vector field against expected values. */
static void check_ivec(built *bt, size_t table, int field, int n, const int32_t *want) {
  size_t v = ref(&bt->d, table, field);
  CHECK(v != 0);
  CHECK_EQ_INT(vlen(&bt->d, v), n);
  for (int i = 0; i < n; i++) CHECK_EQ_INT(vi32(&bt->d, v, (uint32_t)i), want[i]);
}

/* ADD(a, b) with a fused RELU; the output shape is left to the op. */
static mb_model *add_model(void) {
  mb_model *m = mb_new();
  int32_t dims[] = {1, 2, 2, 1};
  int a = mb_tensor(m, TFL_FLOAT32, 4, dims, NULL, 0, "a");
  int b = mb_tensor(m, TFL_FLOAT32, 4, dims, NULL, 0, "b");
  int out = mb_tensor(m, TFL_FLOAT32, 0, NULL, NULL, 0, "out");
  mb_inputs(m, 2, (int[]){a, b});
  mb_outputs(m, 1, &out);
  mb_field relu[] = {MB_BYTE(0, 1), MB_FIELDS_END};
  mb_op(m, TFL_OP_ADD, 1, 2, (int[]){a, b}, 1, &out, TFL_OPTS_ADD, relu);
  return m;
}

TEST(model_add_relu_layout) {
  built bt;
  REQUIRE(finish_model(add_model(), &bt));
  dec *d = &bt.d;
  CHECK((uintptr_t)bt.buf % 16 == 0);
  CHECK(memcmp(bt.buf + 4, "TFL3", 4) == 0);
  CHECK_EQ_INT(rd32(d, fld(d, bt.model, M_VERSION)), 3);
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_OPCODES)), 1);
  size_t oc = opcode(&bt, 0);
  CHECK(fld(d, oc, 0) != 0); /* deprecated_builtin_code written even when 0 */
  CHECK_EQ_INT(sval(d, oc, 0, 1), TFL_OP_ADD);
  CHECK_EQ_INT(sval(d, oc, 3, 4), TFL_OP_ADD);
  CHECK_EQ_INT(sval(d, oc, 2, 4), 1);
  CHECK_EQ_INT(fld(d, oc, 1), 0);
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_SUBGRAPHS)), 1);
  size_t sg = subgraph(&bt, 0);
  CHECK_EQ_INT(vlen(d, ref(d, sg, SG_TENSORS)), 3);
  const char *names[] = {"a", "b", "out"};
  for (uint32_t i = 0; i < 3; i++) {
    size_t t = tensor(&bt, 0, i);
    CHECK(strcmp(str(d, ref(d, t, T_NAME)), names[i]) == 0);
    CHECK_EQ_INT(sval(d, t, T_TYPE, 1), TFL_FLOAT32);
    CHECK_EQ_INT(rd32(d, fld(d, t, T_BUFFER)), 0);
    CHECK_EQ_INT(ref(d, t, T_QUANT), 0);
    CHECK_EQ_INT(fld(d, t, T_VARIABLE), 0);
  }
  check_ivec(&bt, tensor(&bt, 0, 0), T_SHAPE, 4, (int32_t[]){1, 2, 2, 1});
  check_ivec(&bt, tensor(&bt, 0, 2), T_SHAPE, 0, NULL);
  check_ivec(&bt, sg, SG_INPUTS, 2, (int32_t[]){0, 1});
  check_ivec(&bt, sg, SG_OUTPUTS, 1, (int32_t[]){2});
  CHECK_EQ_INT(vlen(d, ref(d, sg, SG_OPS)), 1);
  size_t o = op(&bt, 0, 0);
  CHECK_EQ_INT(rd32(d, fld(d, o, OP_OPCODE)), 0);
  check_ivec(&bt, o, OP_IN, 2, (int32_t[]){0, 1});
  check_ivec(&bt, o, OP_OUT, 1, (int32_t[]){2});
  CHECK_EQ_INT(rd(d, fld(d, o, OP_OPT_TYPE), 1), TFL_OPTS_ADD);
  CHECK_EQ_INT(rd(d, fld(d, ref(d, o, OP_OPT), 0), 1), 1);
  CHECK_EQ_INT(fld(d, o, OP_CUSTOM), 0);
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_BUFFERS)), 1);
  CHECK_EQ_INT(fld(d, buffer(&bt, 0), 0), 0); /* the empty sentinel */
  CHECK_EQ_INT(fld(d, bt.model, M_METADATA), 0);
  CHECK_EQ_INT(fld(d, bt.model, M_SIGS), 0);
  CHECK(!d->bad);
  free(bt.buf);
}

static const uint8_t small[3] = {7, 8, 9};
static const float weights[5] = {0.5f, -1, 2, 3.25f, -4};

/* x + w with a constant w, and an unused constant s. */
static mb_model *constants_model(void) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){5}, NULL, 0, "x");
  int s = mb_tensor(m, TFL_UINT8, 1, (int32_t[]){3}, small, sizeof(small), "s");
  int w = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){5}, weights, sizeof(weights), "w");
  int y = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){5}, NULL, 0, "y");
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  mb_op(m, TFL_OP_ADD, 1, 2, (int[]){x, w}, 1, &y, TFL_OPTS_ADD, NULL);
  (void)s;
  return m;
}

TEST(model_constant_buffers_are_aligned) {
  built bt;
  REQUIRE(finish_model(constants_model(), &bt));
  dec *d = &bt.d;
  CHECK(bt.size % 16 == 0);
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_BUFFERS)), 3);
  CHECK_EQ_INT(rd32(d, fld(d, tensor(&bt, 0, 0), T_BUFFER)), 0);
  CHECK_EQ_INT(rd32(d, fld(d, tensor(&bt, 0, 1), T_BUFFER)), 1);
  CHECK_EQ_INT(rd32(d, fld(d, tensor(&bt, 0, 2), T_BUFFER)), 2);
  size_t b1 = ref(d, buffer(&bt, 1), 0), b2 = ref(d, buffer(&bt, 2), 0);
  CHECK((b1 + 4) % 16 == 0);
  CHECK((b2 + 4) % 16 == 0);
  CHECK_EQ_INT(vlen(d, b1), 3);
  CHECK_EQ_INT(vlen(d, b2), sizeof(weights));
  CHECK(memcmp(bt.buf + b1 + 4, small, sizeof(small)) == 0);
  for (uint32_t i = 0; i < 5; i++) CHECK(f32_of(rd32(d, b2 + 4 + 4 * i)) == weights[i]);
  /* an options type without fields is an empty table */
  size_t opt = ref(d, op(&bt, 0, 0), OP_OPT);
  CHECK(opt != 0);
  CHECK_EQ_INT(fld(d, opt, 0), 0);
  CHECK(!d->bad);
  free(bt.buf);
}

static const uint8_t flex[] = {1, 2, 3, 4, 5};

/* Shared and distinct operator codes, one above 127, custom ops. */
static mb_model *opcodes_model(void) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){2}, NULL, 0, "x");
  mb_op(m, TFL_OP_ADD, 1, 2, (int[]){x, x}, 1, &x, 0, NULL);
  mb_op(m, TFL_OP_ADD, 1, 2, (int[]){x, x}, 1, &x, 0, NULL);
  mb_op(m, TFL_OP_ADD, 2, 2, (int[]){x, x}, 1, &x, 0, NULL);
  mb_op(m, TFL_OP_GELU, 1, 1, &x, 1, &x, TFL_OPTS_GELU, NULL);
  mb_custom_op(m, "MyOp", 1, &x, 1, &x, flex, sizeof(flex));
  mb_custom_op(m, "MyOp", 1, &x, 1, &x, NULL, 0);
  mb_custom_op(m, "Other", 1, &x, 1, &x, NULL, 0);
  return m;
}

TEST(model_operator_codes) {
  built bt;
  REQUIRE(finish_model(opcodes_model(), &bt));
  dec *d = &bt.d;
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_OPCODES)), 5);
  const uint32_t want_index[] = {0, 0, 1, 2, 3, 3, 4};
  for (uint32_t i = 0; i < 7; i++) CHECK_EQ_INT(rd32(d, fld(d, op(&bt, 0, i), OP_OPCODE)), want_index[i]);
  CHECK_EQ_INT(sval(d, opcode(&bt, 1), 2, 4), 2);
  size_t gelu = opcode(&bt, 2);
  CHECK_EQ_INT(sval(d, gelu, 0, 1), 127);
  CHECK_EQ_INT(sval(d, gelu, 3, 4), TFL_OP_GELU);
  size_t custom = opcode(&bt, 3);
  CHECK_EQ_INT(sval(d, custom, 0, 1), TFL_OP_CUSTOM);
  CHECK_EQ_INT(sval(d, custom, 3, 4), TFL_OP_CUSTOM);
  CHECK(strcmp(str(d, ref(d, custom, 1)), "MyOp") == 0);
  CHECK(strcmp(str(d, ref(d, opcode(&bt, 4), 1)), "Other") == 0);
  size_t co = ref(d, op(&bt, 0, 4), OP_CUSTOM);
  CHECK_EQ_INT(vlen(d, co), sizeof(flex));
  CHECK(memcmp(bt.buf + co + 4, flex, sizeof(flex)) == 0);
  CHECK_EQ_INT(fld(d, op(&bt, 0, 5), OP_CUSTOM), 0);
  CHECK_EQ_INT(fld(d, op(&bt, 0, 0), OP_OPT_TYPE), 0);
  CHECK(!d->bad);
  free(bt.buf);
}

TEST(model_omitted_and_raw_indices) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){2}, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){2}, NULL, 0, "y");
  /* indices that only go into the file are not checked: broken models can be built */
  mb_op(m, TFL_OP_FULLY_CONNECTED, 1, 3, (int[]){x, -1, 99}, 1, &y, 0, NULL);
  built bt;
  REQUIRE(finish_model(m, &bt));
  check_ivec(&bt, op(&bt, 0, 0), OP_IN, 3, (int32_t[]){0, -1, 99});
  /* no mb_inputs / mb_outputs: empty vectors */
  check_ivec(&bt, subgraph(&bt, 0), SG_INPUTS, 0, NULL);
  check_ivec(&bt, subgraph(&bt, 0), SG_OUTPUTS, 0, NULL);
  CHECK(!bt.d.bad);
  free(bt.buf);
}

static mb_model *quant_model(void) {
  mb_model *m = mb_new();
  int8_t w[6] = {1, 2, 3, 4, 5, 6};
  int t = mb_tensor(m, TFL_INT8, 2, (int32_t[]){2, 3}, w, sizeof(w), "w");
  int q = mb_tensor(m, TFL_INT8, 1, (int32_t[]){4}, NULL, 0, "q");
  int v = mb_tensor(m, TFL_FLOAT32, 2, (int32_t[]){1, 3}, NULL, 0, "state");
  mb_quant(m, t, 3, (float[]){0.5f, 0.25f, 2}, NULL, 1);
  mb_quant(m, q, 1, (float[]){0.125f}, (int64_t[]){-128}, 0);
  mb_variable(m, v);
  mb_shape_signature(m, v, (int32_t[]){-1, 3});
  return m;
}

TEST(model_quantization_variable_signature) {
  built bt;
  REQUIRE(finish_model(quant_model(), &bt));
  dec *d = &bt.d;
  size_t qt = ref(d, tensor(&bt, 0, 0), T_QUANT);
  REQUIRE(qt != 0);
  size_t scale = ref(d, qt, 2), zp = ref(d, qt, 3);
  CHECK_EQ_INT(vlen(d, scale), 3);
  CHECK(f32_of(rd32(d, scale + 4)) == 0.5f);
  CHECK(f32_of(rd32(d, scale + 8)) == 0.25f);
  CHECK(f32_of(rd32(d, scale + 12)) == 2.0f);
  CHECK_EQ_INT(vlen(d, zp), 3);
  CHECK((zp + 4) % 8 == 0);
  for (uint32_t i = 0; i < 3; i++) CHECK_EQ_INT((int64_t)rd(d, zp + 4 + 8 * i, 8), 0);
  CHECK_EQ_INT(sval(d, qt, 6, 4), 1);
  CHECK_EQ_INT(fld(d, qt, 0), 0); /* no legacy min/max */
  size_t qq = ref(d, tensor(&bt, 0, 1), T_QUANT);
  CHECK_EQ_INT((int64_t)rd(d, ref(d, qq, 3) + 4, 8), -128);
  CHECK_EQ_INT(sval(d, qq, 6, 4), 0);
  size_t st = tensor(&bt, 0, 2);
  CHECK_EQ_INT(rd(d, fld(d, st, T_VARIABLE), 1), 1);
  check_ivec(&bt, st, T_SIG, 2, (int32_t[]){-1, 3});
  CHECK_EQ_INT(fld(d, tensor(&bt, 0, 0), T_SIG), 0);
  CHECK(!d->bad);
  free(bt.buf);
}

TEST(model_option_field_kinds) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){2}, NULL, 0, "x");
  int i1 = mb_tensor(m, TFL_INT16, 1, (int32_t[]){2}, NULL, 0, "i1");
  const int32_t ivec[] = {3, -4, 5};
  const float fvec[] = {0.5f, -8};
  mb_field f[] = {{.field = 0, .kind = MB_I8, .i = -5},
                  {.field = 1, .kind = MB_I16, .i = -300},
                  MB_INT(2, -70000),
                  MB_LONG(3, -((int64_t)1 << 40)),
                  MB_FLOAT(4, 0.75),
                  MB_IVEC(5, ivec, 3),
                  MB_FVEC(6, fvec, 2),
                  MB_STR(7, "text"),
                  MB_BYTE(9, 1),
                  MB_FIELDS_END};
  int o = mb_op(m, TFL_OP_LSTM, 1, 1, &x, 1, &x, TFL_OPTS_LSTM, f);
  mb_op_options2(m, o, 3, (mb_field[]){MB_INT(1, 42), MB_FIELDS_END});
  mb_op_intermediates(m, o, 1, &i1);
  built bt;
  REQUIRE(finish_model(m, &bt));
  dec *d = &bt.d;
  size_t opt = ref(d, op(&bt, 0, 0), OP_OPT);
  CHECK_EQ_INT(sval(d, opt, 0, 1), -5);
  CHECK_EQ_INT(sval(d, opt, 1, 2), -300);
  CHECK_EQ_INT(sval(d, opt, 2, 4), -70000);
  CHECK(sval(d, opt, 3, 8) == -((int64_t)1 << 40));
  CHECK(fld(d, opt, 3) % 8 == 0);
  CHECK(f32_of(rd32(d, fld(d, opt, 4))) == 0.75f);
  check_ivec(&bt, opt, 5, 3, ivec);
  size_t fv = ref(d, opt, 6);
  CHECK_EQ_INT(vlen(d, fv), 2);
  CHECK(f32_of(rd32(d, fv + 8)) == -8.0f);
  CHECK(strcmp(str(d, ref(d, opt, 7)), "text") == 0);
  CHECK_EQ_INT(fld(d, opt, 8), 0);
  CHECK_EQ_INT(rd(d, fld(d, opt, 9), 1), 1);
  size_t o0 = op(&bt, 0, 0);
  CHECK_EQ_INT(rd(d, fld(d, o0, OP_OPT2_TYPE), 1), 3);
  CHECK_EQ_INT(sval(d, ref(d, o0, OP_OPT2), 1, 4), 42);
  check_ivec(&bt, o0, OP_INTERMEDIATES, 1, (int32_t[]){1});
  CHECK(!d->bad);
  free(bt.buf);
}

/* Two subgraphs, a signature on the second, a description and metadata. */
static mb_model *rich_model(void) {
  mb_model *m = add_model();
  CHECK_EQ_INT(mb_subgraph(m, "second"), 1);
  int p = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){3}, NULL, 0, "p");
  int q = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){3}, NULL, 0, "q");
  mb_inputs(m, 1, &p);
  mb_outputs(m, 1, &q);
  mb_op(m, TFL_OP_RELU, 1, 1, &p, 1, &q, 0, NULL);
  mb_signature(m, "serving_default", 0, 2, (const char *const[]){"lhs", "rhs"},
               (int[]){0, 1}, 1, (const char *const[]){"sum"}, (int[]){2});
  mb_signature(m, "relu", 1, 1, (const char *const[]){"in"}, (int[]){p}, 1,
               (const char *const[]){"out"}, (int[]){q});
  mb_description(m, "built by test_builder");
  mb_metadata(m, "min_runtime_version", "1.5.0", 6);
  return m;
}

TEST(model_subgraphs_signatures_metadata) {
  built bt;
  REQUIRE(finish_model(rich_model(), &bt));
  dec *d = &bt.d;
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_SUBGRAPHS)), 2);
  CHECK_EQ_INT(fld(d, subgraph(&bt, 0), SG_NAME), 0);
  CHECK(strcmp(str(d, ref(d, subgraph(&bt, 1), SG_NAME)), "second") == 0);
  CHECK(strcmp(str(d, ref(d, tensor(&bt, 1, 1), T_NAME)), "q") == 0);
  CHECK_EQ_INT(vlen(d, ref(d, bt.model, M_OPCODES)), 2);
  CHECK_EQ_INT(rd32(d, fld(d, op(&bt, 1, 0), OP_OPCODE)), 1);
  size_t sigs = ref(d, bt.model, M_SIGS);
  REQUIRE(vlen(d, sigs) == 2);
  size_t s0 = velem(d, sigs, 0), s1 = velem(d, sigs, 1);
  CHECK(strcmp(str(d, ref(d, s0, 2)), "serving_default") == 0);
  CHECK_EQ_INT(rd32(d, fld(d, s0, 4)), 0);
  size_t in = ref(d, s0, 0);
  REQUIRE(vlen(d, in) == 2);
  CHECK(strcmp(str(d, ref(d, velem(d, in, 1), 0)), "rhs") == 0);
  CHECK_EQ_INT(rd32(d, fld(d, velem(d, in, 1), 1)), 1);
  size_t out = ref(d, s0, 1);
  REQUIRE(vlen(d, out) == 1);
  CHECK(strcmp(str(d, ref(d, velem(d, out, 0), 0)), "sum") == 0);
  CHECK_EQ_INT(rd32(d, fld(d, velem(d, out, 0), 1)), 2);
  CHECK(strcmp(str(d, ref(d, s1, 2)), "relu") == 0);
  CHECK_EQ_INT(rd32(d, fld(d, s1, 4)), 1);
  CHECK(strcmp(str(d, ref(d, bt.model, M_DESCRIPTION)), "built by test_builder") == 0);
  size_t md = ref(d, bt.model, M_METADATA);
  REQUIRE(vlen(d, md) == 1);
  size_t e = velem(d, md, 0);
  CHECK(strcmp(str(d, ref(d, e, 0)), "min_runtime_version") == 0);
  uint32_t bi = rd32(d, fld(d, e, 1));
  CHECK_EQ_INT(bi, 1);
  size_t data = ref(d, buffer(&bt, bi), 0);
  CHECK_EQ_INT(vlen(d, data), 6);
  CHECK(memcmp(bt.buf + data + 4, "1.5.0", 6) == 0);
  CHECK(!d->bad);
  free(bt.buf);
}

static void use_bad_quant(mb_model *m) { mb_quant(m, 5, 1, (float[]){1}, NULL, 0); }
static void use_zero_quant(mb_model *m) { mb_quant(m, 0, 0, (float[]){1}, NULL, 0); }
static void use_bad_variable(mb_model *m) { mb_variable(m, -1); }
static void use_bad_signature_tensor(mb_model *m) { mb_shape_signature(m, 3, (int32_t[]){1}); }
static void use_bad_options2(mb_model *m) { mb_op_options2(m, 1, 1, NULL); }
static void use_bad_intermediates(mb_model *m) { mb_op_intermediates(m, -1, 0, NULL); }
static void use_negative_count(mb_model *m) { mb_inputs(m, -1, NULL); }
static void use_bad_field_kind(mb_model *m) {
  mb_field f[] = {{.field = 0, .kind = (mb_kind)99}, MB_FIELDS_END};
  mb_op(m, TFL_OP_ADD, 1, 0, NULL, 0, NULL, TFL_OPTS_ADD, f);
}

TEST(model_usage_errors_fail_at_finish) {
  void (*uses[])(mb_model *) = {use_bad_quant,         use_zero_quant,
                                use_bad_variable,      use_bad_signature_tensor,
                                use_bad_options2,      use_bad_intermediates,
                                use_negative_count,    use_bad_field_kind};
  for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
    mb_model *m = add_model();
    uses[i](m);
    size_t size = 1;
    uint8_t *buf = mb_finish(m, &size);
    mb_free(m);
    if (buf) test_fail(__FILE__, __LINE__, "misuse %zu was accepted", i);
    free(buf);
  }
}

/* --- the library's verifier and model layer accept what the builder writes ------------ */

static mb_model *(*const valid_models[])(void) = {add_model, constants_model, opcodes_model,
                                                   quant_model, rich_model};

TEST(models_pass_the_verifier) {
  for (size_t i = 0; i < sizeof(valid_models) / sizeof(valid_models[0]); i++) {
    built bt;
    REQUIRE(finish_model(valid_models[i](), &bt));
    fb_table root;
    char err[256] = "";
    if (fb_verify(bt.buf, bt.size, TFLITE_FILE_IDENTIFIER, &tflite_model_desc, &root, err,
                  sizeof(err)) != 0)
      test_fail(__FILE__, __LINE__, "model %zu: fb_verify: %s", i, err);
    free(bt.buf);
  }
}

/* Loads a built model; the bytes must outlive the model (free them after tfl_model_free). */
static tfl_model *load(mb_model *m, uint8_t **bytes) {
  size_t size;
  *bytes = mb_finish(m, &size);
  mb_free(m);
  if (!*bytes) return NULL;
  tfl_model *model = NULL;
  char err[256] = "";
  if (tfl_model_load_buffer(*bytes, size, &model, err, sizeof(err)) != TFL_OK)
    test_fail(__FILE__, __LINE__, "load: %s", err);
  return model;
}

static void unload(tfl_model *model, uint8_t *bytes) {
  tfl_model_free(model);
  free(bytes);
}

TEST(load_add_relu) {
  uint8_t *bytes;
  tfl_model *model = load(add_model(), &bytes);
  REQUIRE(model);
  CHECK_EQ_INT(model->version, 3);
  CHECK_EQ_INT(tfl_model_schema_version(model), 3);
  REQUIRE(model->n_opcodes == 1 && model->n_subgraphs == 1);
  CHECK_EQ_INT(model->opcodes[0].builtin_code, TFL_OP_ADD);
  CHECK_EQ_INT(model->opcodes[0].version, 1);
  CHECK(model->opcodes[0].custom_code == NULL);
  const tfl_model_subgraph *sg = &model->subgraphs[0];
  REQUIRE(sg->n_tensors == 3 && sg->n_ops == 1 && sg->n_inputs == 2 && sg->n_outputs == 1);
  CHECK(strcmp(sg->tensors[1].name, "b") == 0);
  CHECK_EQ_INT(sg->tensors[0].ndim, 4);
  CHECK_EQ_INT(sg->tensors[0].shape[1], 2);
  CHECK_EQ_INT(sg->tensors[2].ndim, 0);
  CHECK_EQ_INT(sg->tensors[2].type, TFL_FLOAT32);
  CHECK(sg->tensors[2].data == NULL);
  CHECK_EQ_INT(sg->inputs[1], 1);
  CHECK_EQ_INT(sg->outputs[0], 2);
  const tfl_model_op *op0 = &sg->ops[0];
  CHECK_EQ_INT(op0->opcode_index, 0);
  REQUIRE(op0->n_inputs == 2 && op0->n_outputs == 1);
  CHECK_EQ_INT(op0->outputs[0], 2);
  CHECK_EQ_INT(op0->builtin_options_type, TFL_OPTS_ADD);
  CHECK_EQ_INT(fb_u8(op0->builtin_options, 0, 0), 1);
  CHECK_EQ_INT(tfl_model_metadata_count(model), 0);
  unload(model, bytes);
}

TEST(load_constants_zero_copy) {
  uint8_t *bytes;
  tfl_model *model = load(constants_model(), &bytes);
  REQUIRE(model);
  const tfl_model_tensor *s = &model->subgraphs[0].tensors[1];
  const tfl_model_tensor *w = &model->subgraphs[0].tensors[2];
  REQUIRE(s->data && w->data);
  CHECK_EQ_INT(s->data_size, sizeof(small));
  CHECK(memcmp(s->data, small, sizeof(small)) == 0);
  CHECK_EQ_INT(w->data_size, sizeof(weights));
  CHECK(memcmp(w->data, weights, sizeof(weights)) == 0);
  CHECK((uintptr_t)w->data % 16 == 0);
  CHECK(model->subgraphs[0].tensors[0].data == NULL);
  unload(model, bytes);
}

TEST(load_operator_codes) {
  uint8_t *bytes;
  tfl_model *model = load(opcodes_model(), &bytes);
  REQUIRE(model);
  REQUIRE(model->n_opcodes == 5);
  CHECK_EQ_INT(model->opcodes[1].version, 2);
  CHECK_EQ_INT(model->opcodes[2].builtin_code, TFL_OP_GELU);
  CHECK_EQ_INT(model->opcodes[3].builtin_code, TFL_OP_CUSTOM);
  REQUIRE(model->opcodes[3].custom_code);
  CHECK(strcmp(model->opcodes[3].custom_code, "MyOp") == 0);
  const tfl_model_op *custom = &model->subgraphs[0].ops[4];
  CHECK_EQ_INT(custom->opcode_index, 3);
  CHECK_EQ_INT(custom->custom_options_size, sizeof(flex));
  CHECK(custom->custom_options && memcmp(custom->custom_options, flex, sizeof(flex)) == 0);
  unload(model, bytes);
}

TEST(load_quantization_and_variables) {
  uint8_t *bytes;
  tfl_model *model = load(quant_model(), &bytes);
  REQUIRE(model);
  const tfl_model_tensor *w = &model->subgraphs[0].tensors[0];
  REQUIRE(w->quant.count == 3);
  CHECK_EQ_INT(w->quant.axis, 1);
  CHECK(w->quant.scale[1] == 0.25f);
  CHECK_EQ_INT(w->quant.zero_point[2], 0);
  const tfl_model_tensor *q = &model->subgraphs[0].tensors[1];
  REQUIRE(q->quant.count == 1);
  CHECK(q->quant.scale[0] == 0.125f);
  CHECK_EQ_INT(q->quant.zero_point[0], -128);
  const tfl_model_tensor *v = &model->subgraphs[0].tensors[2];
  CHECK(v->is_variable);
  CHECK(!w->is_variable);
  REQUIRE(v->has_shape_signature && v->shape_signature);
  CHECK_EQ_INT(v->shape_signature[0], -1);
  CHECK_EQ_INT(v->shape_signature[1], 3);
  CHECK(!w->has_shape_signature);
  unload(model, bytes);
}

TEST(load_signatures_and_metadata) {
  uint8_t *bytes;
  tfl_model *model = load(rich_model(), &bytes);
  REQUIRE(model);
  REQUIRE(model->n_subgraphs == 2 && model->n_signatures == 2);
  CHECK(strcmp(model->subgraphs[1].name, "second") == 0);
  const tfl_model_signature *s0 = &model->signatures[0], *s1 = &model->signatures[1];
  CHECK(strcmp(s0->key, "serving_default") == 0);
  CHECK_EQ_INT(s0->subgraph, 0);
  REQUIRE(s0->n_inputs == 2 && s0->n_outputs == 1);
  CHECK(strcmp(s0->inputs[1].name, "rhs") == 0);
  CHECK_EQ_INT(s0->inputs[1].tensor, 1);
  CHECK(strcmp(s0->outputs[0].name, "sum") == 0);
  CHECK_EQ_INT(s0->outputs[0].tensor, 2);
  CHECK(strcmp(s1->key, "relu") == 0);
  CHECK_EQ_INT(s1->subgraph, 1);
  CHECK(strcmp(tfl_model_description(model), "built by test_builder") == 0);
  REQUIRE(tfl_model_metadata_count(model) == 1);
  const char *name;
  const void *data;
  size_t size;
  REQUIRE(tfl_model_metadata(model, 0, &name, &data, &size) == TFL_OK);
  CHECK(strcmp(name, "min_runtime_version") == 0);
  CHECK_EQ_INT(size, 6);
  CHECK(memcmp(data, "1.5.0", 6) == 0);
  unload(model, bytes);
}

TEST(load_omitted_input_and_bad_index) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 2, (int32_t[]){1, 2}, NULL, 0, "x");
  const float fc_weights[6] = {1, 2, 3, 4, 5, 6};
  int w = mb_tensor(m, TFL_FLOAT32, 2, (int32_t[]){3, 2}, fc_weights, sizeof(fc_weights), "w");
  int y = mb_tensor(m, TFL_FLOAT32, 0, NULL, NULL, 0, "y");
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  mb_op(m, TFL_OP_FULLY_CONNECTED, 1, 3, (int[]){x, w, -1}, 1, &y, 0, NULL);
  uint8_t *bytes;
  tfl_model *model = load(m, &bytes);
  REQUIRE(model);
  CHECK_EQ_INT(model->subgraphs[0].ops[0].inputs[2], -1);
  unload(model, bytes);

  m = mb_new();
  x = mb_tensor(m, TFL_FLOAT32, 1, (int32_t[]){2}, NULL, 0, "x");
  mb_op(m, TFL_OP_RELU, 1, 1, (int[]){7}, 1, &x, 0, NULL);
  size_t size;
  bytes = mb_finish(m, &size);
  mb_free(m);
  REQUIRE(bytes);
  char err[256] = "";
  CHECK(tfl_model_load_buffer(bytes, size, &model, err, sizeof(err)) != TFL_OK);
  CHECK(model == NULL);
  CHECK(err[0] != 0);
  free(bytes);
}

int main(void) {
  RUN(fbb_table_fields_and_alignment);
  RUN(fbb_vectors_are_aligned);
  RUN(fbb_grows_through_many_tables);
  RUN(fbb_misuse_fails_at_finish);
  RUN(model_add_relu_layout);
  RUN(model_constant_buffers_are_aligned);
  RUN(model_operator_codes);
  RUN(model_omitted_and_raw_indices);
  RUN(model_quantization_variable_signature);
  RUN(model_option_field_kinds);
  RUN(model_subgraphs_signatures_metadata);
  RUN(model_usage_errors_fail_at_finish);
  RUN(models_pass_the_verifier);
  RUN(load_add_relu);
  RUN(load_constants_zero_copy);
  RUN(load_operator_codes);
  RUN(load_quantization_and_variables);
  RUN(load_signatures_and_metadata);
  RUN(load_omitted_input_and_bad_index);
  return test_summary();
}
