/* Tests for the CLI's .npy reader/writer (tools/tfl/npy.c). The byte strings below were
 * written by numpy 1.24 (numpy.save / numpy.lib.format.write_array) for arrays whose values
 * are obvious from the test names. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/tfl/npy.c"
#include "util/test.h"

#define BYTES(s) (s), sizeof(s) - 1

#define PAD_2_3 "                                                          \n"
/* np.save(np.arange(6, dtype='<f4').reshape(2, 3)) */
static const char k_f32_2x3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" PAD_2_3
    "\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
/* np.save(np.array([-1, 2, -3], dtype=np.int8)) */
static const char k_i8_3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n"
    "\xff\x02\xfd";
/* np.save(np.array(7, dtype='<i8')) */
static const char k_i64_scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }"
    "                                                              \n"
    "\x07\x00\x00\x00\x00\x00\x00\x00";
/* write_array(version=(2, 0)) and (3, 0) of the 2x3 float32 array. */
static const char k_f32_v2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                        \n"
    "\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
static const char k_f32_v3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                        \n"
    "\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
/* np.save(np.array([[b'ab', b''], [b'xyz', b'\x00q']])): dtype |S3 */
static const char k_s3_2x2[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|S3', 'fortran_order': False, 'shape': (2, 2), }"
    "                                                          \n"
    "ab\x00\x00\x00\x00xyz\x00q\x00";
/* np.save(np.array(['a', '\u00e9', '\u20ac\U0001F600'])): dtype <U2 */
static const char k_u2_3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<U2', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n"
    "a\x00\x00\x00\x00\x00\x00\x00\xe9\x00\x00\x00\x00\x00\x00\x00\xac \x00\x00\x00\xf6\x01\x00";
/* np.save(np.array([b'', b''])): NumPy gives empty strings width 1 */
static const char k_s1_empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|S1', 'fortran_order': False, 'shape': (2,), }"
    "                                                            \n"
    "\x00\x00";
/* np.save(np.zeros((2, 0, 3), dtype=bool)) */
static const char k_bool_empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (2, 0, 3), }"
    "                                                       \n";

/* A format 1.0 file with the given dict (padded to 64 bytes) followed by `data_bytes` zeros. */
static size_t make_npy(unsigned char *out, size_t cap, const char *dict, size_t data_bytes) {
  size_t len = strlen(dict);
  size_t total = (10 + len + 1 + 63) / 64 * 64;
  if (total + data_bytes > cap) return 0;
  memcpy(out, "\x93NUMPY\x01\x00", 8);
  out[8] = (unsigned char)((total - 10) & 0xff);
  out[9] = (unsigned char)((total - 10) >> 8);
  memcpy(out + 10, dict, len);
  memset(out + 10 + len, ' ', total - 11 - len);
  out[total - 1] = '\n';
  memset(out + total, 0, data_bytes);
  return total + data_bytes;
}

static tfl_status parse_dict(const char *dict, size_t data_bytes, npy_array *a, char *err,
                             size_t err_size) {
  static unsigned char buf[4096];
  memset(a, 0, sizeof *a);
  size_t n = make_npy(buf, sizeof buf, dict, data_bytes);
  return n ? npy_parse(buf, n, a, err, err_size) : TFL_ERROR;
}

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

TEST(reads_numpy_float32_matrix) {
  npy_array a;
  char err[256] = "";
  REQUIRE(npy_parse(BYTES(k_f32_2x3), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_FLOAT32);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK_EQ_INT(a.dims[0], 2);
  CHECK_EQ_INT(a.dims[1], 3);
  CHECK_EQ_INT(a.bytes, 24);
  float v[6];
  memcpy(v, a.data, sizeof v);
  for (int i = 0; i < 6; i++) CHECK_NEAR(v[i], i, 0);
}

TEST(reads_numpy_format_versions_2_and_3) {
  const char *files[] = {k_f32_v2, k_f32_v3};
  for (int f = 0; f < 2; f++) {
    npy_array a;
    char err[256] = "";
    REQUIRE(npy_parse(files[f], sizeof k_f32_v2 - 1, &a, err, sizeof err) == TFL_OK);
    CHECK_EQ_INT(a.ndim, 2);
    CHECK_EQ_INT(a.bytes, 24);
    float last;
    memcpy(&last, (const char *)a.data + 20, 4);
    CHECK_NEAR(last, 5, 0);
  }
}

TEST(reads_int8_vector_scalar_and_empty_bool) {
  npy_array a;
  char err[256] = "";
  REQUIRE(npy_parse(BYTES(k_i8_3), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_INT8);
  CHECK_EQ_INT(a.ndim, 1);
  CHECK_EQ_INT(a.dims[0], 3);
  CHECK_EQ_INT(((const int8_t *)a.data)[2], -3);

  REQUIRE(npy_parse(BYTES(k_i64_scalar), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_INT64);
  CHECK_EQ_INT(a.ndim, 0);
  int64_t v;
  memcpy(&v, a.data, 8);
  CHECK_EQ_INT(v, 7);

  REQUIRE(npy_parse(BYTES(k_bool_empty), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_BOOL);
  CHECK_EQ_INT(a.ndim, 3);
  CHECK_EQ_INT(a.dims[1], 0);
  CHECK_EQ_INT(a.bytes, 0);
}

TEST(maps_every_supported_descr) {
  static const struct {
    const char *descr;
    tfl_type type;
    size_t size;
  } cases[] = {
      {"<f4", TFL_FLOAT32, 4}, {"<f2", TFL_FLOAT16, 2}, {"<i1", TFL_INT8, 1},
      {"|i1", TFL_INT8, 1},    {"|u1", TFL_UINT8, 1},   {"<i2", TFL_INT16, 2},
      {"<u2", TFL_UINT16, 2},  {"<i4", TFL_INT32, 4},   {"<i8", TFL_INT64, 8},
      {"|b1", TFL_BOOL, 1},    {"<f8", TFL_FLOAT64, 8}, {"<u4", TFL_UINT32, 4},
      {"<u8", TFL_UINT64, 8},  {">u1", TFL_UINT8, 1}, /* byte order is moot for one byte */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char dict[128], err[256] = "";
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2, 5), }",
             cases[i].descr);
    npy_array a;
    tfl_status st = parse_dict(dict, 10 * cases[i].size, &a, err, sizeof err);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s: %s", cases[i].descr, err);
    CHECK_EQ_INT(a.type, cases[i].type);
    CHECK_EQ_INT(a.bytes, 10 * cases[i].size);
  }
}

TEST(accepts_header_variants) {
  static const struct {
    const char *dict;
    int ndim;
    int32_t dim0;
  } cases[] = {
      {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (4,)}", 1, 4},
      {"{'shape': (2L, 2L), 'fortran_order': False, 'descr': '<f4'}", 2, 2},
      {"{'descr':'<f4','fortran_order':False,'shape':(4)}", 1, 4},
      {"{ 'descr' : '<f4' ,\n 'fortran_order' : False , 'shape' : ( 1 , 4 , ) , }", 2, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    npy_array a;
    char err[256] = "";
    tfl_status st = parse_dict(cases[i].dict, 16, &a, err, sizeof err);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s: %s", cases[i].dict, err);
    CHECK_EQ_INT(a.ndim, cases[i].ndim);
    CHECK_EQ_INT(a.dims[0], cases[i].dim0);
  }
}

TEST(rejects_bad_headers_with_clear_messages) {
  static const struct {
    const char *dict;
    size_t data;
    const char *message;
  } cases[] = {
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4, "big-endian"},
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4, "Fortran"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, "dtype '<c8'"},
      {"{'descr': 'float32', 'fortran_order': False, 'shape': (1,), }", 4, "dtype"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8, "dtype"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, "structured"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "unexpected key"},
      {"{'descr': '<f4', 'descr': '<f4', 'shape': (1,), }", 4, "duplicate"},
      {"{'descr': '<f4', 'shape': (1,), }", 4, "missing"},
      {"{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }", 4, "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", 4, "tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 2), }", 4, "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,, 2), }", 4, "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, "trailing"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", 4, "expected ','"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", 4, "malformed"},
      {"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,), }", 4, "string"},
      {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,), }", 4, "malformed"},
      {"['descr', '<f4']", 4, "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4,
       "more than 8"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648,), }", 0, "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0,
       "too large"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647),"
       " }", 0, "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 23, "23 bytes"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 25, "need 24"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, "need 4"},
      {"{'descr': '>U2', 'fortran_order': False, 'shape': (1,), }", 8, "big-endian"},
      {"{'descr': '|S', 'fortran_order': False, 'shape': (1,), }", 1, "dtype '|S'"},
      {"{'descr': '|S2x', 'fortran_order': False, 'shape': (1,), }", 2, "dtype"},
      {"{'descr': '|S999999999999', 'fortran_order': False, 'shape': (1,), }", 0, "dtype"},
      {"{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", 5, "need 6"},
      {"{'descr': '<U1', 'fortran_order': False, 'shape': (2,), }", 4, "need 8"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    npy_array a;
    char err[256] = "";
    tfl_status st = parse_dict(cases[i].dict, cases[i].data, &a, err, sizeof err);
    if (st == TFL_OK || !contains(err, cases[i].message))
      test_fail(__FILE__, __LINE__, "%s: status %d, message '%s' (wanted '%s')", cases[i].dict,
                (int)st, err, cases[i].message);
    CHECK(strchr(err, '\n') == NULL);
  }
}

TEST(rejects_bad_preambles) {
  unsigned char buf[256];
  char err[256];
  npy_array a;
  memcpy(buf, k_f32_2x3, sizeof k_f32_2x3 - 1);
  buf[1] = 'n';
  CHECK(npy_parse(buf, sizeof k_f32_2x3 - 1, &a, err, sizeof err) != TFL_OK);
  CHECK(contains(err, "not a .npy file"));
  memcpy(buf, k_f32_2x3, sizeof k_f32_2x3 - 1);
  buf[6] = 4;
  CHECK(npy_parse(buf, sizeof k_f32_2x3 - 1, &a, err, sizeof err) == TFL_UNSUPPORTED);
  CHECK(contains(err, "version 4.0"));
  memcpy(buf, k_f32_2x3, sizeof k_f32_2x3 - 1);
  buf[9] = 0x10; /* header length 4214: beyond the end of the file */
  CHECK(npy_parse(buf, sizeof k_f32_2x3 - 1, &a, err, sizeof err) != TFL_OK);
  CHECK(contains(err, "truncated"));
  CHECK(npy_parse(NULL, 0, &a, err, sizeof err) != TFL_OK);
  CHECK(npy_parse(buf, 0, &a, NULL, 0) != TFL_OK); /* no message buffer: still fine */
}

/* Every prefix of a valid file is an error (no crash, no out-of-bounds read: each prefix is
 * copied into a buffer of exactly its length, so ASan builds would catch an overread). */
TEST(every_truncation_fails_cleanly) {
  const char *files[] = {k_f32_2x3, k_i8_3, k_f32_v3};
  const size_t sizes[] = {sizeof k_f32_2x3 - 1, sizeof k_i8_3 - 1, sizeof k_f32_v3 - 1};
  for (int f = 0; f < 3; f++) {
    for (size_t n = 0; n < sizes[f]; n++) {
      unsigned char *copy = malloc(n ? n : 1);
      REQUIRE(copy);
      memcpy(copy, files[f], n);
      npy_array a;
      char err[256];
      if (npy_parse(copy, n, &a, err, sizeof err) == TFL_OK)
        test_fail(__FILE__, __LINE__, "file %d truncated to %zu bytes was accepted", f, n);
      free(copy);
    }
  }
}

/* Any byte of the header set to any value: either an error or a consistent array. */
TEST(corrupted_headers_never_give_inconsistent_arrays) {
  size_t size = sizeof k_f32_2x3 - 1;
  unsigned char *copy = malloc(size);
  REQUIRE(copy);
  for (size_t pos = 0; pos < 128; pos++) {
    for (int v = 0; v < 256; v++) {
      memcpy(copy, k_f32_2x3, size);
      copy[pos] = (unsigned char)v;
      npy_array a;
      char err[256];
      if (npy_parse(copy, size, &a, err, sizeof err) != TFL_OK) continue;
      size_t elems = 1;
      for (int i = 0; i < a.ndim; i++) elems *= (size_t)a.dims[i];
      const unsigned char *d = a.data;
      /* e.g. '<f4' changed into '<S4' or '<U4' */
      const int consistent = a.type == TFL_STRING
                                 ? a.strings && a.n_strings == elems
                                 : elems * dtype_of_type(a.type)->size == a.bytes;
      if (d < copy || d + a.bytes != copy + size || !consistent)
        test_fail(__FILE__, __LINE__, "byte %zu = %d gave an inconsistent array", pos, v);
      npy_free(&a);
    }
  }
  free(copy);
}

/* --- files ---------------------------------------------------------------------------- */

static char *temp_path(void) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/tfl_test_npy_%ld.npy", (long)getpid());
  return path;
}

static unsigned char *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = malloc(1 << 16);
  *size = buf ? fread(buf, 1, 1 << 16, f) : 0;
  fclose(f);
  return buf;
}

static void check_writes_like_numpy(tfl_type type, int ndim, const int32_t *dims,
                                    const char *expected, size_t expected_size) {
  const char *path = temp_path();
  char err[256] = "";
  const unsigned char *e = (const unsigned char *)expected;
  size_t header = 10 + e[8] + 256 * (size_t)e[9];
  if (npy_write_file(path, type, ndim, dims, expected + header, expected_size - header, err,
                     sizeof err) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "write failed: %s", err);
    return;
  }
  size_t size = 0;
  unsigned char *got = slurp(path, &size);
  remove(path);
  if (!got || size != expected_size || memcmp(got, expected, size) != 0)
    test_fail(__FILE__, __LINE__, "file differs from numpy's (%zu vs %zu bytes)", size,
              expected_size);
  free(got);
}

TEST(writes_files_identical_to_numpy) {
  const int32_t d23[] = {2, 3}, d3[] = {3}, d203[] = {2, 0, 3};
  check_writes_like_numpy(TFL_FLOAT32, 2, d23, BYTES(k_f32_2x3));
  check_writes_like_numpy(TFL_INT8, 1, d3, BYTES(k_i8_3));
  check_writes_like_numpy(TFL_INT64, 0, NULL, BYTES(k_i64_scalar));
  check_writes_like_numpy(TFL_BOOL, 3, d203, BYTES(k_bool_empty));
}

TEST(round_trips_every_type_and_rank) {
  const tfl_type types[] = {TFL_FLOAT32, TFL_FLOAT16, TFL_FLOAT64, TFL_INT8,   TFL_UINT8,
                            TFL_INT16,   TFL_UINT16,  TFL_INT32,   TFL_UINT32, TFL_INT64,
                            TFL_UINT64,  TFL_BOOL};
  const int32_t dims[TFL_MAX_DIMS] = {3, 1, 2, 1, 1, 2, 1, 1};
  unsigned char data[512];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + 1);
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    size_t item = dtype_of_type(types[t])->size;
    for (int ndim = 0; ndim <= TFL_MAX_DIMS; ndim++) {
      size_t bytes = item;
      for (int i = 0; i < ndim; i++) bytes *= (size_t)dims[i];
      const char *path = temp_path();
      char err[256] = "";
      npy_array a;
      if (npy_write_file(path, types[t], ndim, dims, data, bytes, err, sizeof err) != TFL_OK ||
          npy_read_file(path, &a, err, sizeof err) != TFL_OK) {
        test_fail(__FILE__, __LINE__, "type %d ndim %d: %s", (int)types[t], ndim, err);
        continue;
      }
      CHECK_EQ_INT(a.type, types[t]);
      CHECK_EQ_INT(a.ndim, ndim);
      CHECK(a.bytes == bytes && memcmp(a.data, data, bytes) == 0);
      CHECK(((const unsigned char *)a.data - (const unsigned char *)a.owned) % 64 == 0);
      npy_free(&a);
      remove(path);
    }
  }
}

TEST(write_errors) {
  const int32_t d2[] = {2}, neg[] = {-1};
  char err[256] = "";
  float v[2] = {1, 2};
  CHECK(npy_write_file(temp_path(), TFL_FLOAT32, 1, d2, v, 4, err, sizeof err) != TFL_OK);
  CHECK(contains(err, "need 8"));
  CHECK(npy_write_file(temp_path(), TFL_STRING, 1, d2, v, 8, err, sizeof err) == TFL_UNSUPPORTED);
  CHECK(npy_write_file(temp_path(), TFL_FLOAT32, 1, neg, v, 0, err, sizeof err) != TFL_OK);
  CHECK(npy_write_file("/nonexistent-dir/x.npy", TFL_FLOAT32, 1, d2, v, 8, err, sizeof err) ==
        TFL_IO_ERROR);
  CHECK(contains(err, "/nonexistent-dir/x.npy"));
  CHECK(strcmp(npy_type_name(TFL_STRING), "bytes") == 0);
  CHECK(npy_type_name(TFL_INT4) == NULL);
  const tfl_string s[2] = {{"ab", 2}, {NULL, 0}};
  CHECK(npy_write_strings_file(temp_path(), 1, d2, s, 1, err, sizeof err) ==
        TFL_INVALID_ARGUMENT);
  CHECK(contains(err, "1 strings do not fill"));
  CHECK(npy_write_strings_file(temp_path(), 1, neg, s, 2, err, sizeof err) != TFL_OK);
  CHECK(npy_write_strings_file("/nonexistent-dir/x.npy", 1, d2, s, 2, err, sizeof err) ==
        TFL_IO_ERROR);
  CHECK(strcmp(npy_type_name(TFL_FLOAT16), "float16") == 0);
}

TEST(read_errors_name_the_file) {
  npy_array a;
  char err[256] = "";
  CHECK(npy_read_file("/nonexistent-dir/in.npy", &a, err, sizeof err) == TFL_IO_ERROR);
  CHECK(contains(err, "/nonexistent-dir/in.npy"));
  CHECK(npy_read_file("/tmp", &a, err, sizeof err) != TFL_OK);
  CHECK(contains(err, "/tmp"));
  npy_free(&a); /* safe after a failure */

  const char *path = temp_path();
  FILE *f = fopen(path, "wb");
  REQUIRE(f);
  fwrite(k_f32_2x3, 1, sizeof k_f32_2x3 - 2, f); /* one data byte short */
  fclose(f);
  CHECK(npy_read_file(path, &a, err, sizeof err) == TFL_INVALID_ARGUMENT);
  CHECK(contains(err, path) && contains(err, "need 24"));
  CHECK(a.owned == NULL && a.data == NULL);
  remove(path);
}

/* --- strings --------------------------------------------------------------------------- */

static int string_is(tfl_string s, const char *want, size_t len) {
  return s.size == len && (len == 0 || memcmp(s.data, want, len) == 0);
}

TEST(reads_bytes_arrays_without_their_padding) {
  npy_array a;
  char err[256] = "";
  REQUIRE(npy_parse(BYTES(k_s3_2x2), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_STRING);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK_EQ_INT(a.dims[1], 2);
  REQUIRE(a.strings && a.n_strings == 4);
  CHECK(string_is(a.strings[0], "ab", 2));
  CHECK(string_is(a.strings[1], "", 0));
  CHECK(string_is(a.strings[2], "xyz", 3));
  CHECK(string_is(a.strings[3], "\0q", 2)); /* only trailing NULs go */
  npy_free(&a);
  REQUIRE(npy_parse(BYTES(k_s1_empty), &a, err, sizeof err) == TFL_OK);
  CHECK(a.n_strings == 2 && a.strings[0].size == 0 && a.strings[1].size == 0);
  npy_free(&a);
}

/* NumPy never writes zero-width strings (it widens S0 to S1); accepting them would let a
 * 100-byte file claim 2^40 strings and make the reader allocate a table for them. */
TEST(rejects_zero_width_strings) {
  npy_array a;
  char err[256] = "";
  CHECK(parse_dict("{'descr': '|S0', 'fortran_order': False, 'shape': (3,), }", 0, &a, err,
                   sizeof err) != TFL_OK);
  CHECK(err[0] != '\0');
  err[0] = '\0';
  CHECK(parse_dict("{'descr': '<U0', 'fortran_order': False, 'shape': (1099511627776,), }", 0,
                   &a, err, sizeof err) != TFL_OK);
  CHECK(err[0] != '\0');
}

TEST(reads_unicode_arrays_as_utf8) {
  npy_array a;
  char err[256] = "";
  REQUIRE(npy_parse(BYTES(k_u2_3), &a, err, sizeof err) == TFL_OK);
  CHECK_EQ_INT(a.type, TFL_STRING);
  REQUIRE(a.strings && a.n_strings == 3);
  CHECK(string_is(a.strings[0], "a", 1));
  CHECK(string_is(a.strings[1], "\xc3\xa9", 2));                           /* U+00E9 */
  CHECK(string_is(a.strings[2], "\xe2\x82\xac\xf0\x9f\x98\x80", 7)); /* U+20AC U+1F600 */
  npy_free(&a);
}

/* A one-element '<U1' array holding code point cp. */
static tfl_status parse_code_point(uint32_t cp, npy_array *a, char *err, size_t err_size) {
  static unsigned char buf[256];
  size_t n = make_npy(buf, sizeof buf, "{'descr': '<U1', 'fortran_order': False, 'shape': (), }",
                      4);
  memcpy(buf + n - 4, &cp, 4);
  return npy_parse(buf, n, a, err, err_size);
}

TEST(encodes_every_utf8_length_and_refuses_non_characters) {
  static const struct {
    uint32_t cp;
    const char *utf8;
  } ok[] = {{0x7f, "\x7f"},
            {0x80, "\xc2\x80"},
            {0x7ff, "\xdf\xbf"},
            {0x800, "\xe0\xa0\x80"},
            {0xffff, "\xef\xbf\xbf"},
            {0x10000, "\xf0\x90\x80\x80"},
            {0x10ffff, "\xf4\x8f\xbf\xbf"}};
  char err[256] = "";
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    npy_array a;
    if (parse_code_point(ok[i].cp, &a, err, sizeof err) != TFL_OK || a.n_strings != 1 ||
        !string_is(a.strings[0], ok[i].utf8, strlen(ok[i].utf8)))
      test_fail(__FILE__, __LINE__, "U+%X: wrong UTF-8 (%s)", (unsigned)ok[i].cp, err);
    npy_free(&a);
  }
  const uint32_t bad[] = {0xd800, 0xdfff, 0x110000, 0xffffffffu};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    npy_array a;
    CHECK(parse_code_point(bad[i], &a, err, sizeof err) == TFL_INVALID_ARGUMENT);
    CHECK(contains(err, "not a Unicode scalar value") && a.strings == NULL);
  }
}

TEST(writes_strings_like_numpy_and_reads_them_back) {
  const int32_t d22[] = {2, 2}, d2[] = {2};
  const tfl_string s[] = {{"ab", 2}, {"", 0}, {"xyz", 3}, {"\0q", 2}};
  char err[256] = "";
  const char *path = temp_path();
  REQUIRE(npy_write_strings_file(path, 2, d22, s, 4, err, sizeof err) == TFL_OK);
  size_t size = 0;
  unsigned char *got = slurp(path, &size);
  CHECK(got && size == sizeof k_s3_2x2 - 1 && memcmp(got, k_s3_2x2, size) == 0);
  free(got);
  const tfl_string empty[] = {{"", 0}, {NULL, 0}};
  REQUIRE(npy_write_strings_file(path, 1, d2, empty, 2, err, sizeof err) == TFL_OK);
  got = slurp(path, &size);
  CHECK(got && size == sizeof k_s1_empty - 1 && memcmp(got, k_s1_empty, size) == 0);
  free(got);
  const tfl_string utf8[] = {{"\xc3\xa9t\xc3\xa9", 5}, {"x", 1}};
  npy_array a;
  REQUIRE(npy_write_strings_file(path, 1, d2, utf8, 2, err, sizeof err) == TFL_OK);
  REQUIRE(npy_read_file(path, &a, err, sizeof err) == TFL_OK);
  CHECK(a.type == TFL_STRING && a.n_strings == 2);
  CHECK(string_is(a.strings[0], utf8[0].data, 5) && string_is(a.strings[1], "x", 1));
  npy_free(&a);
  remove(path);
}

int main(void) {
  RUN(reads_numpy_float32_matrix);
  RUN(reads_numpy_format_versions_2_and_3);
  RUN(reads_int8_vector_scalar_and_empty_bool);
  RUN(maps_every_supported_descr);
  RUN(accepts_header_variants);
  RUN(rejects_bad_headers_with_clear_messages);
  RUN(rejects_bad_preambles);
  RUN(every_truncation_fails_cleanly);
  RUN(corrupted_headers_never_give_inconsistent_arrays);
  RUN(writes_files_identical_to_numpy);
  RUN(round_trips_every_type_and_rank);
  RUN(write_errors);
  RUN(read_errors_name_the_file);
  RUN(reads_bytes_arrays_without_their_padding);
  RUN(rejects_zero_width_strings);
  RUN(reads_unicode_arrays_as_utf8);
  RUN(encodes_every_utf8_length_and_refuses_non_characters);
  RUN(writes_strings_like_numpy_and_reads_them_back);
  return test_summary();
}
