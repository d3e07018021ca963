/* GATHER and GATHER_ND: hand-computed cases (negative axis, batch_dims, scalar indices), an
 * index-by-index reference over shapes, element types and index types, and out-of-range
 * indices and bad options that must fail cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

/* Index values as any index type. */
static void *indices_as(tfl_type type, const int64_t *v, size_t n) {
  const size_t elem = tfl_type_size(type);
  uint8_t *p = malloc(n * elem + 1);
  for (size_t i = 0; i < n; i++) {
    if (type == TFL_INT16) {
      int16_t x = (int16_t)v[i];
      memcpy(p + i * elem, &x, elem);
    } else if (type == TFL_INT32) {
      int32_t x = (int32_t)v[i];
      memcpy(p + i * elem, &x, elem);
    } else {
      memcpy(p + i * elem, &v[i], elem);
    }
  }
  return p;
}

typedef struct gather_case {
  int op;
  tfl_type type, itype;
  int ndim;
  const int32_t *dims;
  const void *data;
  int idx_ndim;
  const int32_t *idx_dims;
  const int64_t *idx;
  int axis, batch_dims; /* GATHER only */
  int data_const, idx_const;
} gather_case;

static tfl_status run_case(const gather_case *c, ot_result *r) {
  void *idx = indices_as(c->itype, c->idx, ck_count(c->idx_ndim, c->idx_dims));
  ot_spec in[2] = {OT_IN(c->type, c->ndim, c->dims, c->data),
                   OT_IN(c->itype, c->idx_ndim, c->idx_dims, idx)};
  in[0].constant = c->data_const;
  in[1].constant = c->idx_const;
  ot_spec out[1] = {OT_OUT(c->type)};
  mb_field opts[] = {MB_INT(0, c->axis), MB_INT(1, c->batch_dims), MB_FIELDS_END};
  tfl_status st = c->op == TFL_OP_GATHER
                      ? ot_run(TFL_OP_GATHER, 1, in, 2, out, 1, TFL_OPTS_GATHER, opts, r)
                      : ot_run(TFL_OP_GATHER_ND, 1, in, 2, out, 1, TFL_OPTS_GATHER_ND, NULL, r);
  free(idx);
  return st;
}

/* --- GATHER by hand --------------------------------------------------------------------- */

TEST(gather_rows_by_hand) {
  const float x[6] = {1, 2, 3, 4, 5, 6}; /* [[1 2] [3 4] [5 6]] */
  gather_case c = {TFL_OP_GATHER, TFL_FLOAT32, TFL_INT32, 2, DIMS(3, 2), x,
                   1, DIMS(3), (const int64_t[]){2, 0, 2}, 0, 0, 0, 1};
  ot_result r;
  REQUIRE(run_case(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 2)));
  const float want[6] = {5, 6, 1, 2, 5, 6};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(gather_negative_axis_2d_indices) {
  const int32_t x[6] = {1, 2, 3, 4, 5, 6}; /* [[1 2 3] [4 5 6]], axis -1 = 1 */
  gather_case c = {TFL_OP_GATHER, TFL_INT32, TFL_INT64, 2, DIMS(2, 3), x,
                   2, DIMS(2, 2), (const int64_t[]){2, 1, 0, 0}, -1, 0, 1, 0};
  ot_result r;
  REQUIRE(run_case(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(2, 2, 2)));
  const int32_t want[8] = {3, 2, 1, 1, 6, 5, 4, 4};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(gather_scalar_index) {
  const int8_t x[6] = {1, 2, 3, 4, 5, 6}; /* [[1 2 3] [4 5 6]], index 1 on axis 1 */
  gather_case c = {TFL_OP_GATHER, TFL_INT8, TFL_INT16, 2, DIMS(2, 3), x,
                   0, NULL, (const int64_t[]){1}, 1, 0, 0, 1};
  ot_result r;
  REQUIRE(run_case(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 1, DIMS(2)));
  CHECK(((int8_t *)r.out[0].data)[0] == 2 && ((int8_t *)r.out[0].data)[1] == 5);
  ot_result_free(&r);
}

TEST(gather_batch_dims_by_hand) {
  /* out[b][i] = x[b][idx[b][i]] */
  const float x[6] = {10, 11, 12, 20, 21, 22};
  const int64_t idx[4] = {2, 0, 1, 1};
  const float want[4] = {12, 10, 21, 21};
  const int batch_dims[2] = {1, -1}; /* -1 + rank(indices) = 1 */
  for (int k = 0; k < 2; k++) {
    gather_case c = {TFL_OP_GATHER, TFL_FLOAT32, TFL_INT32, 2, DIMS(2, 3), x,
                     2, DIMS(2, 2), idx, 1, batch_dims[k], 0, k};
    ot_result r;
    REQUIRE(run_case(&c, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 2)));
    CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    ot_result_free(&r);
  }
}

TEST(gather_output_takes_the_input_type) {
  /* The model declares an int32 output; TFLite (and tfl) give it the input's type. */
  const float x[3] = {1.5f, 2.5f, 3.5f};
  const int32_t idx[2] = {2, 0}, idx_dims[2][1] = {{2}, {1}};
  const int ops[2] = {TFL_OP_GATHER, TFL_OP_GATHER_ND};
  const float want[2][2] = {{3.5f, 1.5f}, {3.5f, 0}};
  for (int k = 0; k < 2; k++) {
    /* GATHER picks elements 2 and 0; GATHER_ND reads the one vector (2). */
    ot_spec in[2] = {OT_IN(TFL_FLOAT32, 1, DIMS(3), x),
                     OT_CONST(TFL_INT32, 1, idx_dims[k], idx)};
    ot_spec out[1] = {OT_OUT(TFL_INT32)};
    ot_result r;
    REQUIRE(ot_run(ops[k], 1, in, 2, out, 1, k ? TFL_OPTS_GATHER_ND : TFL_OPTS_GATHER, NULL,
                   &r) == TFL_OK);
    CHECK(r.out[0].type == TFL_FLOAT32);
    CHECK(ot_f32(&r, 0)[0] == want[k][0]);
    if (!k) CHECK(ot_f32(&r, 0)[1] == want[k][1]);
    ot_result_free(&r);
  }
}

/* --- GATHER against a reference --------------------------------------------------------- */

/* out[pre..., j..., post...] = in[pre..., idx[pre[:batch_dims]..., j...], post...] */
static void ref_gather(const gather_case *c, int axis, int bd, int32_t *od, int *out_ndim,
                       size_t elem, uint8_t *out) {
  int n = 0;
  for (int i = 0; i < axis; i++) od[n++] = c->dims[i];
  for (int i = bd; i < c->idx_ndim; i++) od[n++] = c->idx_dims[i];
  for (int i = axis + 1; i < c->ndim; i++) od[n++] = c->dims[i];
  *out_ndim = n;
  const int coord_axes = c->idx_ndim - bd;
  for (size_t f = 0; f < ck_count(n, od); f++) {
    int32_t o[8], src[8], ii[8];
    ck_unravel(f, n, od, o);
    for (int i = 0; i < bd; i++) ii[i] = o[i];
    for (int i = 0; i < coord_axes; i++) ii[bd + i] = o[axis + i];
    for (int i = 0; i < axis; i++) src[i] = o[i];
    src[axis] = (int32_t)c->idx[ck_ravel(c->idx_ndim, c->idx_dims, ii)];
    for (int i = axis + 1; i < c->ndim; i++) src[i] = o[i - 1 + coord_axes];
    memcpy(out + f * elem, (const uint8_t *)c->data + ck_ravel(c->ndim, c->dims, src) * elem,
           elem);
  }
}

static const tfl_type data_types[5] = {TFL_FLOAT32, TFL_INT8, TFL_INT16, TFL_INT64, TFL_BOOL};
static const tfl_type index_types[3] = {TFL_INT32, TFL_INT64, TFL_INT16};

static void check_gather(int ndim, const int32_t *dims, int idx_ndim, const int32_t *idx_dims,
                         int axis, int bd, unsigned seed) {
  const int naxis = axis < 0 ? axis + ndim : axis, nbd = bd < 0 ? bd + idx_ndim : bd;
  const tfl_type type = data_types[seed % 5];
  const size_t elem = tfl_type_size(type), n_idx = ck_count(idx_ndim, idx_dims);
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, seed);
  int64_t *idx = malloc((n_idx + 1) * sizeof(int64_t));
  uint32_t s = seed;
  for (size_t i = 0; i < n_idx; i++) {
    s = s * 1664525u + 1013904223u;
    idx[i] = (s >> 8) % (uint32_t)dims[naxis];
  }
  gather_case c = {TFL_OP_GATHER, type, index_types[seed % 3], ndim, dims, x,
                   idx_ndim, idx_dims, idx, axis, bd, (int)(seed / 2 % 2), (int)(seed / 4 % 2)};
  int32_t od[8];
  int out_ndim;
  uint8_t *want = malloc(4096);
  ref_gather(&c, naxis, nbd, od, &out_ndim, elem, want);
  ot_result r;
  if (run_case(&c, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "gather seed %u: %s", seed, r.error);
  } else {
    const size_t bytes = ck_count(out_ndim, od) * elem;
    CHECK(ck_shape_is(&r.out[0], out_ndim, od));
    CHECK(ck_bytes_are(&r.out[0], want, bytes));
  }
  ot_result_free(&r);
  free(x);
  free(idx);
  free(want);
}

TEST(gather_against_reference) {
  unsigned seed = 1;
  check_gather(1, DIMS(7), 1, DIMS(5), 0, 0, seed++);
  check_gather(3, DIMS(2, 3, 4), 1, DIMS(5), 0, 0, seed++);
  check_gather(3, DIMS(2, 3, 4), 1, DIMS(5), 1, 0, seed++);
  check_gather(3, DIMS(2, 3, 4), 2, DIMS(2, 3), 2, 0, seed++);
  check_gather(3, DIMS(2, 3, 4), 2, DIMS(2, 3), -2, 0, seed++);
  check_gather(3, DIMS(2, 3, 4), 2, DIMS(2, 5), 1, 1, seed++);
  check_gather(3, DIMS(2, 3, 4), 2, DIMS(2, 5), 2, 1, seed++);
  check_gather(4, DIMS(2, 3, 4, 2), 3, DIMS(2, 3, 2), 2, 2, seed++);
  check_gather(4, DIMS(2, 3, 4, 2), 3, DIMS(2, 3, 2), 3, -1, seed++);
  check_gather(4, DIMS(2, 3, 4, 2), 2, DIMS(2, 3), 3, 2, seed++); /* nothing left per batch */
  check_gather(2, DIMS(3, 4), 1, DIMS(0), 1, 0, seed++);           /* no indices */
  check_gather(3, DIMS(0, 3, 4), 1, DIMS(2), 1, 0, seed++);        /* empty outer axis */
  check_gather(5, DIMS(2, 1, 3, 2, 2), 2, DIMS(2, 2), 4, 0, seed++);
}

/* --- GATHER errors ---------------------------------------------------------------------- */

static tfl_status gather_with(tfl_type itype, const int64_t *idx, int n, int axis, int bd,
                              int idx_const, ot_result *r) {
  static const float x[6] = {1, 2, 3, 4, 5, 6};
  const int32_t idx_dims[2] = {2, n / 2};
  gather_case c = {TFL_OP_GATHER, TFL_FLOAT32, itype, 2, DIMS(2, 3), x,
                   2, idx_dims, idx, axis, bd, 1, idx_const};
  return run_case(&c, r);
}

TEST(gather_bad_index_fails) {
  ot_result r;
  for (int k = 0; k < 2; k++) {
    CHECK(gather_with(TFL_INT32, (const int64_t[]){0, 3}, 2, 1, 0, k, &r) != TFL_OK);
    CHECK(strstr(r.error, "out of range") != NULL);
    CHECK(gather_with(TFL_INT64, (const int64_t[]){0, -1}, 2, 1, 0, k, &r) != TFL_OK);
    CHECK(strstr(r.error, "negative") != NULL);
    CHECK(gather_with(TFL_INT16, (const int64_t[]){2, 0}, 2, 0, 0, k, &r) != TFL_OK);
    CHECK(gather_with(TFL_INT32, (const int64_t[]){1, 3}, 2, 1, 1, k, &r) != TFL_OK);
  }
  /* TFLite rejects a negative index even when nothing would be read. */
  const int64_t neg[2] = {-1, 0};
  gather_case c = {TFL_OP_GATHER, TFL_FLOAT32, TFL_INT32, 2, DIMS(0, 3), NULL,
                   1, DIMS(2), neg, 1, 0, 0, 0};
  CHECK(run_case(&c, &r) != TFL_OK);
  ot_result_free(&r);
}

TEST(gather_bad_options_fail) {
  const int64_t idx[2] = {0, 1};
  ot_result r;
  CHECK(gather_with(TFL_INT32, idx, 2, 2, 0, 1, &r) != TFL_OK);  /* axis out of range */
  CHECK(gather_with(TFL_INT32, idx, 2, -3, 0, 1, &r) != TFL_OK);
  CHECK(gather_with(TFL_INT32, idx, 2, 0, 1, 1, &r) != TFL_OK);  /* batch_dims > axis */
  CHECK(gather_with(TFL_INT32, idx, 2, 1, 3, 1, &r) != TFL_OK);  /* > rank of indices */
  CHECK(gather_with(TFL_INT32, idx, 2, 1, -3, 1, &r) != TFL_OK);
  /* Batch dimension 0 differs: input 2, indices 1. */
  const float x[6] = {0};
  gather_case c = {TFL_OP_GATHER, TFL_FLOAT32, TFL_INT32, 2, DIMS(2, 3), x,
                   2, DIMS(1, 2), idx, 1, 1, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK);
  /* Float indices and a scalar input. */
  c = (gather_case){TFL_OP_GATHER, TFL_FLOAT32, TFL_FLOAT32, 2, DIMS(2, 3), x,
                    1, DIMS(2), idx, 0, 0, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK);
  c = (gather_case){TFL_OP_GATHER, TFL_FLOAT32, TFL_INT32, 0, NULL, x,
                    1, DIMS(2), idx, 0, 0, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- GATHER_ND -------------------------------------------------------------------------- */

TEST(gather_nd_by_hand) {
  const int32_t x[4] = {1, 2, 3, 4}; /* [[1 2] [3 4]] */
  ot_result r;
  gather_case c = {TFL_OP_GATHER_ND, TFL_INT32, TFL_INT32, 2, DIMS(2, 2), x,
                   2, DIMS(2, 2), (const int64_t[]){0, 0, 1, 1}, 0, 0, 0, 1};
  REQUIRE(run_case(&c, &r) == TFL_OK); /* elements */
  CHECK(ck_shape_is(&r.out[0], 1, DIMS(2)));
  CHECK(memcmp(r.out[0].data, ((const int32_t[]){1, 4}), 8) == 0);
  ot_result_free(&r);

  c.idx_dims = DIMS(2, 1);
  c.idx = (const int64_t[]){1, 0};
  REQUIRE(run_case(&c, &r) == TFL_OK); /* rows */
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 2)));
  CHECK(memcmp(r.out[0].data, ((const int32_t[]){3, 4, 1, 2}), 16) == 0);
  ot_result_free(&r);

  c.idx_ndim = 3;
  c.idx_dims = DIMS(2, 1, 2);
  c.idx = (const int64_t[]){0, 1, 1, 0};
  REQUIRE(run_case(&c, &r) == TFL_OK); /* batched */
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 1)));
  CHECK(memcmp(r.out[0].data, ((const int32_t[]){2, 3}), 8) == 0);
  ot_result_free(&r);

  c.idx_ndim = 2;
  c.idx_dims = DIMS(3, 0);
  c.idx = (const int64_t[]){0};
  REQUIRE(run_case(&c, &r) == TFL_OK); /* empty vectors: the whole params, 3 times */
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(3, 2, 2)));
  CHECK(memcmp(r.out[0].data, ((const int32_t[]){1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}), 48) == 0);
  ot_result_free(&r);
}

/* out[i..., rest...] = params[idx[i..., :]..., rest...] */
static void check_gather_nd(int ndim, const int32_t *dims, int idx_ndim, const int32_t *idx_dims,
                            unsigned seed) {
  const tfl_type type = data_types[seed % 5];
  const size_t elem = tfl_type_size(type), n_idx = ck_count(idx_ndim, idx_dims);
  const int nd = idx_dims[idx_ndim - 1];
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, seed);
  int64_t *idx = malloc((n_idx + 1) * sizeof(int64_t));
  uint32_t s = seed;
  for (size_t i = 0; i < n_idx; i++) {
    s = s * 1664525u + 1013904223u;
    idx[i] = (s >> 8) % (uint32_t)dims[i % (size_t)nd];
  }
  int32_t od[8];
  int out_ndim = 0;
  for (int i = 0; i < idx_ndim - 1; i++) od[out_ndim++] = idx_dims[i];
  for (int i = nd; i < ndim; i++) od[out_ndim++] = dims[i];
  const size_t n_out = ck_count(out_ndim, od);
  uint8_t *want = malloc(n_out * elem + 1);
  for (size_t f = 0; f < n_out; f++) {
    int32_t o[8], src[8];
    ck_unravel(f, out_ndim, od, o);
    const size_t vec = ck_ravel(idx_ndim - 1, idx_dims, o);
    for (int j = 0; j < nd; j++) src[j] = (int32_t)idx[vec * (size_t)nd + (size_t)j];
    for (int j = nd; j < ndim; j++) src[j] = o[idx_ndim - 1 + j - nd];
    memcpy(want + f * elem, x + ck_ravel(ndim, dims, src) * elem, elem);
  }
  gather_case c = {TFL_OP_GATHER_ND, type, index_types[seed % 3], ndim, dims, x,
                   idx_ndim, idx_dims, idx, 0, 0, (int)(seed / 2 % 2), (int)(seed / 4 % 2)};
  ot_result r;
  if (run_case(&c, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "gather_nd seed %u: %s", seed, r.error);
  } else {
    CHECK(ck_shape_is(&r.out[0], out_ndim, od));
    CHECK(ck_bytes_are(&r.out[0], want, n_out * elem));
  }
  ot_result_free(&r);
  free(x);
  free(idx);
  free(want);
}

TEST(gather_nd_against_reference) {
  unsigned seed = 1;
  check_gather_nd(3, DIMS(2, 3, 4), 2, DIMS(5, 1), seed++);
  check_gather_nd(3, DIMS(2, 3, 4), 2, DIMS(5, 2), seed++);
  check_gather_nd(3, DIMS(2, 3, 4), 2, DIMS(5, 3), seed++);
  check_gather_nd(3, DIMS(2, 3, 4), 3, DIMS(2, 3, 2), seed++);
  check_gather_nd(4, DIMS(3, 2, 2, 3), 4, DIMS(2, 1, 2, 3), seed++);
  check_gather_nd(1, DIMS(6), 1, DIMS(1), seed++);
  check_gather_nd(2, DIMS(4, 5), 3, DIMS(0, 2, 1), seed++); /* no vectors */
}

TEST(gather_nd_errors) {
  const float x[6] = {0};
  ot_result r;
  for (int k = 0; k < 2; k++) {
    gather_case c = {TFL_OP_GATHER_ND, TFL_FLOAT32, TFL_INT32, 2, DIMS(2, 3), x,
                     2, DIMS(1, 2), (const int64_t[]){1, 3}, 0, 0, 1, k};
    CHECK(run_case(&c, &r) != TFL_OK);
    CHECK(strstr(r.error, "out of range") != NULL);
    c.idx = (const int64_t[]){-1, 0};
    CHECK(run_case(&c, &r) != TFL_OK);
  }
  gather_case c = {TFL_OP_GATHER_ND, TFL_FLOAT32, TFL_INT32, 2, DIMS(2, 3), x,
                   2, DIMS(1, 3), (const int64_t[]){0, 0, 0}, 0, 0, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK); /* 3 coordinates for 2-D params */
  c = (gather_case){TFL_OP_GATHER_ND, TFL_FLOAT32, TFL_INT32, 0, NULL, x,
                    1, DIMS(0), (const int64_t[]){0}, 0, 0, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK); /* scalar params */
  c = (gather_case){TFL_OP_GATHER_ND, TFL_FLOAT32, TFL_INT32, 2, DIMS(2, 3), x,
                    0, NULL, (const int64_t[]){0}, 0, 0, 1, 1};
  CHECK(run_case(&c, &r) != TFL_OK); /* scalar indices */
  c = (gather_case){TFL_OP_GATHER_ND, TFL_FLOAT32, TFL_INT32, 2, DIMS(0, 3), x,
                    2, DIMS(1, 1), (const int64_t[]){0}, 0, 0, 0, 1};
  CHECK(run_case(&c, &r) != TFL_OK); /* empty params, non-empty indices */
  ot_result_free(&r);
}

int main(void) {
  RUN(gather_rows_by_hand);
  RUN(gather_negative_axis_2d_indices);
  RUN(gather_scalar_index);
  RUN(gather_batch_dims_by_hand);
  RUN(gather_output_takes_the_input_type);
  RUN(gather_against_reference);
  RUN(gather_bad_index_fails);
  RUN(gather_bad_options_fail);
  RUN(gather_nd_by_hand);
  RUN(gather_nd_against_reference);
  RUN(gather_nd_errors);
  return test_summary();
}
