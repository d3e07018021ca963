/* TRANSPOSE, TILE and BROADCAST_TO: hand-computed cases, then every permutation of small
 * tensors (1-D to 4-D) and a selection for 5-D and 6-D against an index-by-index reference,
 * every element size, constant and run-time shape inputs, and bad models that must fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static const tfl_type elem_types[4] = {TFL_INT8, TFL_INT16, TFL_FLOAT32, TFL_INT64};

/* Runs a two-input op (data, int32/int64 shape vector). */
static tfl_status run2(int op, int opts, tfl_type type, int ndim, const int32_t *dims,
                       const void *data, int data_const, tfl_type itype, int n,
                       const void *ivec, int ivec_const, ot_result *r) {
  const int32_t vdims[1] = {n};
  ot_spec in[2] = {OT_IN(type, ndim, dims, data), OT_IN(itype, 1, vdims, ivec)};
  in[0].constant = data_const;
  in[1].constant = ivec_const;
  ot_spec out[1] = {OT_OUT(type)};
  return ot_run(op, 1, in, 2, out, 1, opts, NULL, r);
}

/* --- TRANSPOSE -------------------------------------------------------------------------- */

static tfl_status run_transpose(tfl_type type, int ndim, const int32_t *dims, const void *data,
                                const int32_t *perm, int perm_const, ot_result *r) {
  return run2(TFL_OP_TRANSPOSE, TFL_OPTS_TRANSPOSE, type, ndim, dims, data, 0, TFL_INT32, ndim,
              perm, perm_const, r);
}

TEST(transpose_2d_by_hand) {
  const float x[6] = {1, 2, 3, 4, 5, 6}; /* [[1 2 3] [4 5 6]] */
  const int32_t perm[2] = {1, 0};
  ot_result r;
  REQUIRE(run_transpose(TFL_FLOAT32, 2, DIMS(2, 3), x, perm, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 2)));
  const float want[6] = {1, 4, 2, 5, 3, 6};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(transpose_3d_by_hand_with_negative_perm) {
  /* x[i][j][k] = 100i + 10j + k, shape [2, 2, 3]; perm (2, 0, 1) written as (-1, 0, -2). */
  int32_t x[12];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) x[(i * 2 + j) * 3 + k] = 100 * i + 10 * j + k;
  const int32_t perm[3] = {-1, 0, -2};
  ot_result r;
  REQUIRE(run_transpose(TFL_INT32, 3, DIMS(2, 2, 3), x, perm, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(3, 2, 2)));
  const int32_t want[12] = {0, 10, 100, 110, 1, 11, 101, 111, 2, 12, 102, 112};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

/* out[idx] = in[src] with src[perm[i]] = idx[i]. */
static void ref_transpose(int ndim, const int32_t *dims, const int *perm, size_t elem,
                          const uint8_t *in, uint8_t *out) {
  int32_t od[8];
  for (int i = 0; i < ndim; i++) od[i] = dims[perm[i]];
  const size_t n = ck_count(ndim, dims);
  for (size_t f = 0; f < n; f++) {
    int32_t idx[8], src[8];
    ck_unravel(f, ndim, od, idx);
    for (int i = 0; i < ndim; i++) src[perm[i]] = idx[i];
    memcpy(out + f * elem, in + ck_ravel(ndim, dims, src) * elem, elem);
  }
}

static int check_transpose(int ndim, const int32_t *dims, const int *perm, unsigned seed) {
  const tfl_type type = elem_types[seed % 4];
  const size_t elem = tfl_type_size(type), bytes = ck_count(ndim, dims) * elem;
  uint8_t *x = ck_pattern(bytes, seed), *want = malloc(bytes ? bytes : 1);
  ref_transpose(ndim, dims, perm, elem, x, want);
  int32_t p[8], od[8];
  for (int i = 0; i < ndim; i++) {
    p[i] = (seed / 4) % 3 == 0 ? perm[i] - ndim : perm[i]; /* sometimes negative */
    od[i] = dims[perm[i]];
  }
  ot_result r;
  int ok = run_transpose(type, ndim, dims, x, p, seed % 2, &r) == TFL_OK &&
           ck_shape_is(&r.out[0], ndim, od) && r.out[0].bytes == bytes &&
           memcmp(r.out[0].data, want, bytes) == 0;
  if (!ok) test_fail(__FILE__, __LINE__, "transpose of %d-D, seed %u: %s", ndim, seed, r.error);
  ot_result_free(&r);
  free(x);
  free(want);
  return ok;
}

/* Steps a to the next permutation in lexicographic order; returns 0 after the last. */
static int next_permutation(int *a, int n) {
  int i = n - 2;
  while (i >= 0 && a[i] >= a[i + 1]) i--;
  if (i < 0) return 0;
  int j = n - 1;
  while (a[j] <= a[i]) j--;
  int t = a[i];
  a[i] = a[j];
  a[j] = t;
  for (int l = i + 1, h = n - 1; l < h; l++, h--) {
    t = a[l];
    a[l] = a[h];
    a[h] = t;
  }
  return 1;
}

TEST(transpose_every_permutation_up_to_4d) {
  const int32_t dims[4] = {2, 3, 4, 5};
  unsigned seed = 1;
  for (int ndim = 1; ndim <= 4; ndim++) {
    int perm[4] = {0, 1, 2, 3};
    do {
      if (!check_transpose(ndim, dims, perm, seed++)) return;
    } while (next_permutation(perm, ndim));
  }
}

TEST(transpose_5d_and_6d) {
  const int32_t dims5[5] = {2, 3, 1, 4, 3};
  const int32_t dims6[6] = {2, 1, 3, 2, 4, 2};
  const int perms5[][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {1, 2, 3, 4, 0}, {4, 0, 1, 2, 3},
                           {0, 3, 1, 4, 2}, {2, 0, 4, 1, 3}};
  const int perms6[][6] = {{5, 4, 3, 2, 1, 0}, {0, 1, 3, 2, 4, 5}, {1, 0, 5, 2, 4, 3},
                           {3, 4, 5, 0, 1, 2}, {0, 2, 4, 1, 3, 5}, {5, 0, 1, 2, 3, 4}};
  unsigned seed = 100;
  for (size_t i = 0; i < sizeof(perms5) / sizeof(perms5[0]); i++)
    if (!check_transpose(5, dims5, perms5[i], seed++)) return;
  for (size_t i = 0; i < sizeof(perms6) / sizeof(perms6[0]); i++)
    if (!check_transpose(6, dims6, perms6[i], seed++)) return;
}

TEST(transpose_larger_than_a_tile) {
  /* Non-multiples of the kernel's tile size, NHWC <-> NCHW and plain matrices. */
  const int nhwc_to_nchw[4] = {0, 3, 1, 2}, nchw_to_nhwc[4] = {0, 2, 3, 1}, swap[2] = {1, 0};
  CHECK(check_transpose(4, DIMS(2, 7, 11, 19), nhwc_to_nchw, 201));
  CHECK(check_transpose(4, DIMS(1, 19, 7, 11), nchw_to_nhwc, 202));
  CHECK(check_transpose(2, DIMS(37, 53), swap, 203));
  CHECK(check_transpose(2, DIMS(1, 70), swap, 204));
  CHECK(check_transpose(4, DIMS(3, 1, 1, 33), nhwc_to_nchw, 207));
}

TEST(transpose_zero_size_and_scalar) {
  const int perm[3] = {2, 0, 1};
  CHECK(check_transpose(3, DIMS(2, 0, 3), perm, 301));
  const float x = 7;
  ot_result r;
  /* An empty constant needs a non-NULL pointer, else it is not a constant. */
  const int32_t no_perm[1] = {0};
  REQUIRE(run_transpose(TFL_FLOAT32, 0, NULL, &x, no_perm, 1, &r) == TFL_OK);
  CHECK(r.out[0].ndim == 0 && ot_f32(&r, 0)[0] == 7);
  ot_result_free(&r);
}

TEST(transpose_int64_perm) {
  const int16_t x[6] = {1, 2, 3, 4, 5, 6};
  const int64_t perm[2] = {1, 0};
  ot_result r;
  REQUIRE(run2(TFL_OP_TRANSPOSE, TFL_OPTS_TRANSPOSE, TFL_INT16, 2, DIMS(3, 2), x, 1, TFL_INT64,
               2, perm, 1, &r) == TFL_OK);
  const int16_t want[6] = {1, 3, 5, 2, 4, 6};
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 3)));
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(transpose_bad_perm) {
  const float x[6] = {0};
  ot_result r;
  for (int perm_const = 0; perm_const <= 1; perm_const++) {
    CHECK(run_transpose(TFL_FLOAT32, 2, DIMS(2, 3), x, (const int32_t[]){0, 2}, perm_const,
                        &r) != TFL_OK); /* out of range */
    CHECK(strstr(r.error, "out of range") != NULL);
    CHECK(run_transpose(TFL_FLOAT32, 2, DIMS(2, 3), x, (const int32_t[]){-3, 0}, perm_const,
                        &r) != TFL_OK);
    CHECK(run_transpose(TFL_FLOAT32, 2, DIMS(2, 3), x, (const int32_t[]){1, -1}, perm_const,
                        &r) != TFL_OK); /* axis 1 twice */
    CHECK(strstr(r.error, "twice") != NULL);
  }
  /* Wrong perm length. */
  CHECK(run2(TFL_OP_TRANSPOSE, TFL_OPTS_TRANSPOSE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0, TFL_INT32,
             3, (const int32_t[]){0, 1, 2}, 1, &r) != TFL_OK);
  /* perm of a non-index type. */
  CHECK(run2(TFL_OP_TRANSPOSE, TFL_OPTS_TRANSPOSE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0,
             TFL_FLOAT32, 2, (const float[]){1, 0}, 1, &r) != TFL_OK);
  /* Output type differs from the input's. */
  ot_spec in[2] = {OT_IN(TFL_FLOAT32, 2, DIMS(2, 3), x),
                   OT_CONST(TFL_INT32, 1, DIMS(2), ((const int32_t[]){1, 0}))};
  ot_spec out[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_TRANSPOSE, 1, in, 2, out, 1, TFL_OPTS_TRANSPOSE, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- TILE ------------------------------------------------------------------------------- */

TEST(tile_by_hand) {
  const int32_t x[4] = {1, 2, 3, 4}; /* [[1 2] [3 4]] */
  ot_result r;
  REQUIRE(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_INT32, 2, DIMS(2, 2), x, 0, TFL_INT32, 2,
               (const int32_t[]){2, 3}, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(4, 6)));
  const int32_t want[24] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4,
                            1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(tile_bool_with_int64_multiples) {
  const uint8_t x[3] = {1, 0, 1};
  ot_result r;
  REQUIRE(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_BOOL, 2, DIMS(3, 1), x, 1, TFL_INT64, 2,
               (const int64_t[]){1, 2}, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 2)));
  const uint8_t want[6] = {1, 1, 0, 0, 1, 1};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

/* out[idx] = in[idx mod in_dims]. */
static void ref_tile(int ndim, const int32_t *dims, const int32_t *od, size_t elem,
                     const uint8_t *in, uint8_t *out) {
  const size_t n = ck_count(ndim, od);
  for (size_t f = 0; f < n; f++) {
    int32_t idx[8];
    ck_unravel(f, ndim, od, idx);
    for (int i = 0; i < ndim; i++) idx[i] %= dims[i];
    memcpy(out + f * elem, in + ck_ravel(ndim, dims, idx) * elem, elem);
  }
}

static void check_tile(int ndim, const int32_t *dims, const int32_t *mult, unsigned seed) {
  const tfl_type type = elem_types[seed % 4];
  const size_t elem = tfl_type_size(type);
  int32_t od[8];
  for (int i = 0; i < ndim; i++) od[i] = dims[i] * mult[i];
  const size_t out_bytes = ck_count(ndim, od) * elem;
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, seed), *want = malloc(out_bytes + 1);
  ref_tile(ndim, dims, od, elem, x, want);
  ot_result r;
  const int mult_const = seed % 3 != 0;
  if (run2(TFL_OP_TILE, TFL_OPTS_TILE, type, ndim, dims, x, (seed / 2) % 2, TFL_INT32, ndim,
           mult, mult_const, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "tile seed %u: %s", seed, r.error);
  } else {
    CHECK(ck_shape_is(&r.out[0], ndim, od));
    CHECK(ck_bytes_are(&r.out[0], want, out_bytes));
  }
  ot_result_free(&r);
  free(x);
  free(want);
}

TEST(tile_against_reference) {
  check_tile(1, DIMS(3), DIMS(4), 1);
  check_tile(2, DIMS(2, 3), DIMS(1, 1), 2);
  check_tile(3, DIMS(2, 3, 4), DIMS(3, 1, 2), 3);
  check_tile(3, DIMS(2, 3, 4), DIMS(1, 1, 3), 4);
  check_tile(3, DIMS(2, 3, 4), DIMS(2, 1, 1), 5);
  check_tile(4, DIMS(1, 2, 1, 3), DIMS(2, 2, 5, 1), 6);
  check_tile(5, DIMS(2, 1, 2, 1, 2), DIMS(1, 3, 1, 2, 2), 7);
  check_tile(6, DIMS(1, 2, 1, 2, 1, 2), DIMS(2, 1, 2, 1, 2, 1), 8);
  check_tile(3, DIMS(2, 3, 4), DIMS(2, 0, 1), 9); /* zero multiple: empty output */
  check_tile(3, DIMS(2, 0, 4), DIMS(2, 3, 1), 10);
}

TEST(tile_scalar) {
  const float x = 3;
  ot_result r;
  const int32_t no_multiples[1] = {0};
  REQUIRE(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_FLOAT32, 0, NULL, &x, 0, TFL_INT32, 0,
               no_multiples, 1, &r) == TFL_OK);
  CHECK(r.out[0].ndim == 0 && ot_f32(&r, 0)[0] == 3);
  ot_result_free(&r);
}

TEST(tile_bad_multiples) {
  const float x[6] = {0};
  ot_result r;
  for (int c = 0; c <= 1; c++) {
    CHECK(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0, TFL_INT32, 2,
               (const int32_t[]){1, -1}, c, &r) != TFL_OK);
    CHECK(strstr(r.error, "negative") != NULL);
    CHECK(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0, TFL_INT32, 3,
               (const int32_t[]){1, 1, 1}, c, &r) != TFL_OK);
    CHECK(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0, TFL_INT64, 2,
               (const int64_t[]){1, 2000000000}, c, &r) != TFL_OK); /* dimension overflows */
  }
  CHECK(run2(TFL_OP_TILE, TFL_OPTS_TILE, TFL_FLOAT32, 2, DIMS(2, 3), x, 0, TFL_FLOAT32, 2,
             (const float[]){1, 1}, 1, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- BROADCAST_TO ----------------------------------------------------------------------- */

TEST(broadcast_to_by_hand) {
  const float x[3] = {1, 2, 3};
  ot_result r;
  REQUIRE(run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, TFL_FLOAT32, 1, DIMS(3), x, 0,
               TFL_INT32, 2, (const int32_t[]){2, 3}, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 3)));
  const float want[6] = {1, 2, 3, 1, 2, 3};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);

  const int8_t y[2] = {5, -6}; /* [2, 1] -> [2, 2, 3] */
  REQUIRE(run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, TFL_INT8, 2, DIMS(2, 1), y, 1,
               TFL_INT64, 3, (const int64_t[]){2, 2, 3}, 0, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(2, 2, 3)));
  const int8_t want8[12] = {5, 5, 5, -6, -6, -6, 5, 5, 5, -6, -6, -6};
  CHECK(memcmp(r.out[0].data, want8, sizeof(want8)) == 0);
  ot_result_free(&r);
}

/* out[idx] = in[idx aligned at the last axis, 0 where the input has size 1]. */
static void ref_broadcast(int ndim, const int32_t *dims, int out_ndim, const int32_t *od,
                          size_t elem, const uint8_t *in, uint8_t *out) {
  const size_t n = ck_count(out_ndim, od);
  const int lead = out_ndim - ndim;
  for (size_t f = 0; f < n; f++) {
    int32_t idx[8], src[8];
    ck_unravel(f, out_ndim, od, idx);
    for (int i = 0; i < ndim; i++) src[i] = dims[i] == 1 ? 0 : idx[lead + i];
    memcpy(out + f * elem, in + ck_ravel(ndim, dims, src) * elem, elem);
  }
}

static void check_broadcast(int ndim, const int32_t *dims, int out_ndim, const int32_t *od,
                            unsigned seed) {
  const tfl_type type = elem_types[seed % 4];
  const size_t elem = tfl_type_size(type), out_bytes = ck_count(out_ndim, od) * elem;
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, seed), *want = malloc(out_bytes + 1);
  ref_broadcast(ndim, dims, out_ndim, od, elem, x, want);
  ot_result r;
  if (run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, type, ndim, dims, x, seed % 2, TFL_INT32,
           out_ndim, od, (seed / 2) % 2, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "broadcast_to seed %u: %s", seed, r.error);
  } else {
    CHECK(ck_shape_is(&r.out[0], out_ndim, od));
    CHECK(ck_bytes_are(&r.out[0], want, out_bytes));
  }
  ot_result_free(&r);
  free(x);
  free(want);
}

TEST(broadcast_to_against_reference) {
  check_broadcast(0, NULL, 3, DIMS(2, 3, 2), 1);
  check_broadcast(2, DIMS(1, 4), 2, DIMS(3, 4), 2);
  check_broadcast(3, DIMS(2, 1, 3), 4, DIMS(2, 2, 5, 3), 3);
  check_broadcast(3, DIMS(1, 3, 1), 3, DIMS(4, 3, 5), 4);
  check_broadcast(2, DIMS(2, 3), 2, DIMS(2, 3), 5); /* nothing to broadcast */
  check_broadcast(4, DIMS(1, 2, 1, 2), 8, DIMS(2, 1, 2, 1, 2, 2, 3, 2), 6);
  check_broadcast(2, DIMS(1, 3), 2, DIMS(0, 3), 7); /* to an empty shape */
}

TEST(broadcast_to_bad_shape) {
  const float x[6] = {0};
  ot_result r;
  for (int c = 0; c <= 1; c++) {
    CHECK(run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, TFL_FLOAT32, 2, DIMS(2, 3), x, 0,
               TFL_INT32, 2, (const int32_t[]){2, 4}, c, &r) != TFL_OK);
    CHECK(strstr(r.error, "broadcast") != NULL);
    CHECK(run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, TFL_FLOAT32, 2, DIMS(2, 3), x, 0,
               TFL_INT32, 1, (const int32_t[]){3}, c, &r) != TFL_OK); /* fewer dimensions */
    CHECK(run2(TFL_OP_BROADCAST_TO, TFL_OPTS_BROADCAST_TO, TFL_FLOAT32, 1, DIMS(1), x, 0,
               TFL_INT32, 2, (const int32_t[]){-1, 1}, c, &r) != TFL_OK);
  }
  ot_result_free(&r);
}

int main(void) {
  RUN(transpose_2d_by_hand);
  RUN(transpose_3d_by_hand_with_negative_perm);
  RUN(transpose_every_permutation_up_to_4d);
  RUN(transpose_5d_and_6d);
  RUN(transpose_larger_than_a_tile);
  RUN(transpose_zero_size_and_scalar);
  RUN(transpose_int64_perm);
  RUN(transpose_bad_perm);
  RUN(tile_by_hand);
  RUN(tile_bool_with_int64_multiples);
  RUN(tile_against_reference);
  RUN(tile_scalar);
  RUN(tile_bad_multiples);
  RUN(broadcast_to_by_hand);
  RUN(broadcast_to_against_reference);
  RUN(broadcast_to_bad_shape);
  return test_summary();
}
