/* FlexBuffers reader: hand-assembled buffers for every type and width, maps built by a small
 * encoder written here from the format description, the custom options of real models, and
 * garbage (truncations, byte mutations, random bytes) that must never be read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "format/flexbuf.h"
#include "model/model.h"
#include "util/test.h"
#include "tfl/model.h"

/* tests/fixtures/<name>, found from this file's own path (CMake compiles it by full path). */
static const char *fixture(const char *name) {
  static char path[1024];
  const char *unit = strstr(__FILE__, "unit/test_flexbuf.c");
  int dir_len = unit ? (int)(unit - __FILE__) : 0;
  snprintf(path, sizeof(path), "%.*sfixtures/%s", dir_len, __FILE__, name);
  return path;
}

TEST(scalars_at_the_root) {
  static const uint8_t i8[] = {0x2a, FLEX_INT << 2, 1};
  static const uint8_t i16[] = {0xfe, 0xff, (FLEX_INT << 2) | 1, 2};
  static const uint8_t u64[] = {1, 0, 0, 0, 0, 0, 0, 0x80, (FLEX_UINT << 2) | 3, 8};
  static const uint8_t f32[] = {0, 0, 0xc0, 0x3f, (FLEX_FLOAT << 2) | 2, 4}; /* 1.5f */
  static const uint8_t f64[] = {0, 0, 0, 0, 0, 0, 0x04, 0xc0, (FLEX_FLOAT << 2) | 3, 8}; /* -2.5 */
  static const uint8_t yes[] = {1, FLEX_BOOL << 2, 1};
  static const uint8_t null[] = {0, FLEX_NULL << 2, 1};
  CHECK_EQ_INT(flex_as_int(flex_root(i8, sizeof(i8))), 42);
  CHECK_EQ_INT(flex_get_type(flex_root(i8, sizeof(i8))), FLEX_INT);
  CHECK_EQ_INT(flex_as_int(flex_root(i16, sizeof(i16))), -2);
  CHECK_EQ_INT(flex_as_uint(flex_root(i16, sizeof(i16))), 0); /* negative: clamps */
  CHECK(flex_as_uint(flex_root(u64, sizeof(u64))) == 0x8000000000000001ull);
  CHECK(flex_as_int(flex_root(u64, sizeof(u64))) == INT64_MAX);
  CHECK_NEAR(flex_as_float(flex_root(f32, sizeof(f32))), 1.5, 0);
  CHECK_EQ_INT(flex_as_int(flex_root(f32, sizeof(f32))), 1);
  CHECK_NEAR(flex_as_float(flex_root(f64, sizeof(f64))), -2.5, 0);
  CHECK_EQ_INT(flex_as_int(flex_root(f64, sizeof(f64))), -2);
  CHECK_EQ_INT(flex_as_bool(flex_root(yes, sizeof(yes))), 1);
  CHECK_EQ_INT(flex_get_type(flex_root(yes, sizeof(yes))), FLEX_BOOL);
  CHECK(flex_is_null(flex_root(null, sizeof(null))));
  CHECK_EQ_INT(flex_as_int(flex_root(null, sizeof(null))), 0);
}

TEST(indirect_scalars) {
  /* the value (8 bytes), then the root slot: 1-byte offset back to it */
  static const uint8_t ii[] = {0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 8,
                               (FLEX_INDIRECT_INT << 2) | 3, 1};
  static const uint8_t iu[] = {7, 0, 2, (FLEX_INDIRECT_UINT << 2) | 1, 1};
  static const uint8_t fl[] = {0, 0, 0x20, 0x41, 4, (FLEX_INDIRECT_FLOAT << 2) | 2, 1}; /* 10 */
  CHECK_EQ_INT(flex_as_int(flex_root(ii, sizeof(ii))), -5);
  CHECK_EQ_INT(flex_as_uint(flex_root(iu, sizeof(iu))), 7);
  CHECK_NEAR(flex_as_float(flex_root(fl, sizeof(fl))), 10.0, 0);
  CHECK_EQ_INT(flex_as_int(flex_root(fl, sizeof(fl))), 10);
}

TEST(strings_keys_and_blobs) {
  static const uint8_t str[] = {2, 'h', 'i', 0, 3, FLEX_STRING << 2, 1};
  static const uint8_t key[] = {'k', 'e', 'y', 0, 4, FLEX_KEY << 2, 1};
  static const uint8_t blob[] = {3, 1, 2, 3, 3, FLEX_BLOB << 2, 1};
  static const uint8_t unterminated[] = {2, 'h', 'i', 'x', 3, FLEX_STRING << 2, 1};
  size_t len = 0;
  const char *s = flex_as_string(flex_root(str, sizeof(str)), &len);
  REQUIRE(s);
  CHECK(strcmp(s, "hi") == 0);
  CHECK_EQ_INT(len, 2);
  s = flex_as_string(flex_root(key, sizeof(key)), &len);
  REQUIRE(s);
  CHECK(strcmp(s, "key") == 0);
  CHECK_EQ_INT(len, 3);
  const uint8_t *b = flex_as_blob(flex_root(blob, sizeof(blob)), &len);
  REQUIRE(b);
  CHECK_EQ_INT(len, 3);
  CHECK_EQ_INT(b[2], 3);
  CHECK(flex_as_string(flex_root(blob, sizeof(blob)), NULL) == NULL);
  CHECK(flex_as_string(flex_root(unterminated, sizeof(unterminated)), NULL) == NULL);
  CHECK_EQ_INT(flex_as_int(flex_root(str, sizeof(str))), 0);
}

TEST(vectors) {
  /* typed int16 vector [1, -2, 300] */
  static const uint8_t typed[] = {3, 0, 1, 0, 0xfe, 0xff, 0x2c, 0x01, 6,
                                  (FLEX_VECTOR_INT << 2) | 1, 1};
  /* fixed float3 [0.5, 1, 2] (no length prefix) */
  static const uint8_t fixed[] = {0, 0, 0, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 12,
                                  ((FLEX_VECTOR_INT2 + 3 * 1 + 2) << 2) | 2, 1};
  /* untyped vector [7, "s", true] with 1-byte slots: "s" string first, then the vector */
  static const uint8_t untyped[] = {1, 's', 0, 3, 7, 4, 1, FLEX_INT << 2, FLEX_STRING << 2,
                                    FLEX_BOOL << 2, 6, FLEX_VECTOR << 2, 1};
  /* typed bool vector [true, false] */
  static const uint8_t bools[] = {2, 1, 0, 2, FLEX_VECTOR_BOOL << 2, 1};
  flex_ref v = flex_root(typed, sizeof(typed));
  CHECK_EQ_INT(flex_vector_len(v), 3);
  CHECK_EQ_INT(flex_as_int(flex_vector_at(v, 0)), 1);
  CHECK_EQ_INT(flex_as_int(flex_vector_at(v, 1)), -2);
  CHECK_EQ_INT(flex_as_int(flex_vector_at(v, 2)), 300);
  CHECK(flex_is_null(flex_vector_at(v, 3)));
  v = flex_root(fixed, sizeof(fixed));
  CHECK_EQ_INT(flex_get_type(v), FLEX_VECTOR_INT2 + 5);
  CHECK_EQ_INT(flex_vector_len(v), 3);
  CHECK_NEAR(flex_as_float(flex_vector_at(v, 0)), 0.5, 0);
  CHECK_NEAR(flex_as_float(flex_vector_at(v, 2)), 2.0, 0);
  v = flex_root(untyped, sizeof(untyped));
  CHECK_EQ_INT(flex_vector_len(v), 3);
  CHECK_EQ_INT(flex_as_int(flex_vector_at(v, 0)), 7);
  const char *s = flex_as_string(flex_vector_at(v, 1), NULL);
  CHECK(s && strcmp(s, "s") == 0);
  CHECK_EQ_INT(flex_as_bool(flex_vector_at(v, 2)), 1);
  v = flex_root(bools, sizeof(bools));
  CHECK_EQ_INT(flex_vector_len(v), 2);
  CHECK_EQ_INT(flex_as_bool(flex_vector_at(v, 0)), 1);
  CHECK_EQ_INT(flex_as_bool(flex_vector_at(v, 1)), 0);
  CHECK_EQ_INT(flex_vector_len(flex_root(bools, 3)), 0); /* not a vector any more */
}

/* --- a map encoder (FlexBuffers layout, every slot `w` bytes) ------------------------------ */

static size_t put(uint8_t *out, size_t pos, uint64_t v, int w) {
  for (int i = 0; i < w; i++) out[pos + i] = (uint8_t)(v >> (8 * i));
  return pos + (size_t)w;
}

static int log2w(int w) { return w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : 3; }

/* {keys[i]: vals[i]}; keys must be sorted. Returns the size. */
static size_t build_map(uint8_t *out, int w, int n, const char *const *keys,
                        const int64_t *vals) {
  size_t pos = 0, key_pos[16];
  for (int i = 0; i < n; i++) {
    key_pos[i] = pos;
    memcpy(out + pos, keys[i], strlen(keys[i]) + 1);
    pos += strlen(keys[i]) + 1;
  }
  while (pos % (size_t)w) out[pos++] = 0;
  pos = put(out, pos, (uint64_t)n, w);
  size_t keys_data = pos;
  for (int i = 0; i < n; i++) pos = put(out, pos, pos - key_pos[i], w);
  pos = put(out, pos, pos - keys_data, w); /* offset back to the keys */
  pos = put(out, pos, (uint64_t)w, w);
  pos = put(out, pos, (uint64_t)n, w);
  size_t values = pos;
  for (int i = 0; i < n; i++) pos = put(out, pos, (uint64_t)vals[i], w);
  for (int i = 0; i < n; i++) out[pos++] = (uint8_t)((FLEX_INT << 2) | log2w(w));
  while (pos % (size_t)w) out[pos++] = 0;
  pos = put(out, pos, pos - values, w);
  out[pos++] = (uint8_t)((FLEX_MAP << 2) | log2w(w));
  out[pos++] = (uint8_t)w;
  return pos;
}

static const char *const map_keys[] = {"alpha", "beta", "delta", "gamma", "max_detections"};
static const int64_t map_vals[] = {-1, 2, -300, 40000, 10};

TEST(maps_of_every_width) {
  static const int widths[] = {1, 2, 4, 8};
  for (int k = 0; k < 4; k++) {
    uint8_t buf[256];
    int w = widths[k];
    int64_t vals[5];
    for (int i = 0; i < 5; i++) /* keep each value representable in w bytes */
      vals[i] = w == 1 ? map_vals[i] % 100 : w == 2 ? map_vals[i] % 30000 : map_vals[i];
    size_t size = build_map(buf, w, 5, map_keys, vals);
    flex_ref root = flex_root(buf, size);
    CHECK_EQ_INT(flex_get_type(root), FLEX_MAP);
    CHECK_EQ_INT(flex_vector_len(root), 5);
    for (int i = 0; i < 5; i++) {
      CHECK_EQ_INT(flex_as_int(flex_map_get(root, map_keys[i])), vals[i]);
      const char *key = flex_map_key_at(root, (size_t)i);
      CHECK(key && strcmp(key, map_keys[i]) == 0);
    }
    CHECK(flex_is_null(flex_map_get(root, "absent")));
    CHECK(flex_is_null(flex_map_get(root, "")));
    CHECK(flex_is_null(flex_map_get(root, "zzz")));
    CHECK(flex_map_key_at(root, 5) == NULL);
  }
}

TEST(wrong_types_read_as_null) {
  static const uint8_t i8[] = {0x2a, FLEX_INT << 2, 1};
  flex_ref r = flex_root(i8, sizeof(i8));
  CHECK(flex_is_null(flex_map_get(r, "x")));
  CHECK_EQ_INT(flex_vector_len(r), 0);
  CHECK(flex_is_null(flex_vector_at(r, 0)));
  CHECK(flex_as_string(r, NULL) == NULL);
  CHECK(flex_as_blob(r, NULL) == NULL);
  CHECK(flex_is_null(flex_root(NULL, 10)));
  CHECK(flex_is_null(flex_root(i8, 2)));
  static const uint8_t bad_width[] = {0x2a, FLEX_INT << 2, 3};
  CHECK(flex_is_null(flex_root(bad_width, sizeof(bad_width))));
}

/* Reads everything reachable from r, two levels deep; the sanitizers catch stray reads. */
static unsigned long long touch(flex_ref r, int depth) {
  size_t len = 0;
  unsigned long long sum = (unsigned long long)flex_as_int(r) + flex_as_uint(r) +
                           (flex_as_float(r) > 0) + (unsigned)flex_as_bool(r);
  if (flex_as_string(r, &len)) sum += len;
  if (flex_as_blob(r, &len)) sum += len;
  if (depth == 0) return sum;
  size_t n = flex_vector_len(r);
  for (size_t i = 0; i < n && i < 64; i++) {
    sum += touch(flex_vector_at(r, i), depth - 1);
    const char *key = flex_map_key_at(r, i);
    if (key) sum += touch(flex_map_get(r, key), 0);
  }
  return sum + touch(flex_map_get(r, "beta"), depth - 1);
}

TEST(garbage_never_reads_out_of_bounds) {
  uint8_t map[256];
  size_t size = build_map(map, 2, 5, map_keys, map_vals);
  for (size_t n = 0; n <= size; n++) {
    /* an exact-size heap copy so that any overrun hits the allocation's end */
    uint8_t *copy = malloc(n ? n : 1);
    REQUIRE(copy);
    memcpy(copy, map + size - n, n); /* suffixes keep the root trailer */
    (void)touch(flex_root(copy, n), 2);
    memcpy(copy, map, n);             /* prefixes do not */
    (void)touch(flex_root(copy, n), 2);
    free(copy);
  }
  srand(1234);
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t *copy = malloc(size);
    REQUIRE(copy);
    memcpy(copy, map, size);
    int changes = 1 + rand() % 4;
    for (int c = 0; c < changes; c++) copy[(size_t)rand() % size] = (uint8_t)rand();
    (void)touch(flex_root(copy, size), 2);
    free(copy);
  }
  for (int iter = 0; iter < 2000; iter++) {
    size_t n = 1 + (size_t)rand() % 64;
    uint8_t *rnd = malloc(n);
    REQUIRE(rnd);
    for (size_t i = 0; i < n; i++) rnd[i] = (uint8_t)rand();
    (void)touch(flex_root(rnd, n), 3);
    free(rnd);
  }
}

/* The first op of a model with custom options, through the model loader. */
static tfl_model *load_custom(const char *path, const tfl_model_op **op) {
  tfl_model *m = NULL;
  char err[256];
  if (tfl_model_load_file(path, &m, err, sizeof(err)) != TFL_OK) return NULL;
  *op = NULL;
  for (int s = 0; s < m->n_subgraphs && !*op; s++)
    for (int i = 0; i < m->subgraphs[s].n_ops && !*op; i++)
      if (m->subgraphs[s].ops[i].custom_options) *op = &m->subgraphs[s].ops[i];
  return m;
}

TEST(custom_options_of_fixture_models) {
  const tfl_model_op *op;
  tfl_model *m = load_custom(fixture("custom_sinh.bin"), &op);
  REQUIRE(m && op);
  flex_ref root = flex_root(op->custom_options, op->custom_options_size);
  CHECK_EQ_INT(flex_get_type(root), FLEX_MAP);
  CHECK_EQ_INT(flex_vector_len(root), 1);
  CHECK(strcmp(flex_map_key_at(root, 0), "T") == 0);
  CHECK_EQ_INT(flex_get_type(flex_map_get(root, "T")), FLEX_INT);
  tfl_model_free(m);

  m = load_custom(fixture("model_invoking_error.tflite"), &op);
  REQUIRE(m && op);
  root = flex_root(op->custom_options, op->custom_options_size);
  CHECK_EQ_INT(flex_get_type(flex_map_get(root, "throw_error")), FLEX_BOOL);
  CHECK_EQ_INT(flex_as_bool(flex_map_get(root, "throw_error")), 1);
  tfl_model_free(m);
}

/* TFLite_Detection_PostProcess of the suite's SSD (values as the model's pipeline config
 * sets them: 90 COCO classes, 10 detections, scales 10/10/5/5). */
TEST(detection_postprocess_options) {
  const char *shared = getenv("TFL_SHARED");
  char path[1024];
  if (!shared) return;
  snprintf(path, sizeof(path), "%s/reference/models/misc/ssd_mobilenet_v1_coco_quant_detect.tflite",
           shared);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  fclose(f);
  const tfl_model_op *op;
  tfl_model *m = load_custom(path, &op);
  REQUIRE(m && op);
  flex_ref r = flex_root(op->custom_options, op->custom_options_size);
  CHECK_EQ_INT(flex_as_int(flex_map_get(r, "max_detections")), 10);
  CHECK_EQ_INT(flex_as_int(flex_map_get(r, "max_classes_per_detection")), 1);
  CHECK_EQ_INT(flex_as_int(flex_map_get(r, "num_classes")), 90);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "nms_iou_threshold")), 0.6, 1e-6);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "nms_score_threshold")), 1e-8, 1e-12);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "y_scale")), 10.0, 0);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "x_scale")), 10.0, 0);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "h_scale")), 5.0, 0);
  CHECK_NEAR(flex_as_float(flex_map_get(r, "w_scale")), 5.0, 0);
  /* absent in this file: the op's default (false) applies */
  CHECK(flex_is_null(flex_map_get(r, "use_regular_nms")));
  CHECK_EQ_INT(flex_as_bool(flex_map_get(r, "use_regular_nms")), 0);
  tfl_model_free(m);
}

int main(void) {
  RUN(scalars_at_the_root);
  RUN(indirect_scalars);
  RUN(strings_keys_and_blobs);
  RUN(vectors);
  RUN(maps_of_every_width);
  RUN(wrong_types_read_as_null);
  RUN(garbage_never_reads_out_of_bounds);
  RUN(custom_options_of_fixture_models);
  RUN(detection_postprocess_options);
  return test_summary();
}
