/* ARG_MAX, ARG_MIN, TOPK_V2, SHAPE, RANK, FILL, ZEROS_LIKE, RANGE, ONE_HOT, REVERSE_V2, CUMSUM
 * and BROADCAST_ARGS: hand-computed cases (ties, NaN, negative axes, runtime shapes that make
 * outputs dynamic, empty results), a naive top-k reference, and bad inputs that must fail
 * cleanly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

/* Runs a one-output op and checks type, shape and bytes of the output. */
static void check_one(int op, const ot_spec *in, int n_in, tfl_type out_type, int opt_type,
                      const mb_field *opts, int ndim, const int32_t *dims, const void *want,
                      size_t bytes, int line) {
  ck_run_expect(__FILE__, line, op, in, n_in, out_type, opt_type, opts, ndim, dims, want, bytes);
}

static tfl_status run_one(int op, const ot_spec *in, int n_in, tfl_type out_type, int opt_type,
                          const mb_field *opts) {
  ot_spec out[1] = {OT_OUT(out_type)};
  ot_result r;
  tfl_status st = ot_run(op, 1, in, n_in, out, 1, opt_type, opts, &r);
  ot_result_free(&r);
  return st;
}

/* --- ARG_MAX, ARG_MIN ------------------------------------------------------------------- */

static const mb_field out_i32[] = {MB_BYTE(0, TFL_INT32), MB_FIELDS_END};
static const mb_field out_i64[] = {MB_BYTE(0, TFL_INT64), MB_FIELDS_END};

TEST(arg_max_min_ties_and_axes) {
  /* [2,3]: [[1 5 5] [7 7 0]]; ties pick the first index. */
  const float x[6] = {1, 5, 5, 7, 7, 0};
  const int32_t ax1 = 1, axm2 = -2;
  ot_spec in[2] = {OT_F32(2, DIMS(2, 3), x), OT_CONST(TFL_INT32, 1, DIMS(1), &ax1)};
  check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32, 1, DIMS(2),
            (const int32_t[]){1, 0}, 8, __LINE__);
  check_one(TFL_OP_ARG_MIN, in, 2, TFL_INT64, TFL_OPTS_ARG_MIN, out_i64, 1, DIMS(2),
            (const int64_t[]){0, 2}, 16, __LINE__);
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &axm2); /* axis -2 = 0 */
  check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT64, TFL_OPTS_ARG_MAX, out_i64, 1, DIMS(3),
            (const int64_t[]){1, 1, 0}, 24, __LINE__);
  check_one(TFL_OP_ARG_MIN, in, 2, TFL_INT32, TFL_OPTS_ARG_MIN, out_i32, 1, DIMS(3),
            (const int32_t[]){0, 0, 1}, 12, __LINE__);
}

TEST(arg_max_integer_types) {
  const int64_t axis = 0;
  const uint8_t u[4] = {3, 250, 250, 7};
  const int8_t s[4] = {-3, -128, 127, 127};
  const int32_t i[4] = {INT32_MIN, -1, INT32_MIN, -1};
  const uint8_t b[4] = {0, 0, 1, 1};
  const void *data[4] = {u, s, i, b};
  const tfl_type types[4] = {TFL_UINT8, TFL_INT8, TFL_INT32, TFL_BOOL};
  const int32_t want_max[4] = {1, 2, 1, 2}, want_min[4] = {0, 1, 0, 0};
  for (int k = 0; k < 4; k++) {
    ot_spec in[2] = {OT_IN(types[k], 1, DIMS(4), data[k]),
                     OT_CONST(TFL_INT64, 1, DIMS(1), &axis)};
    check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32, 0, NULL,
              &want_max[k], 4, __LINE__);
    check_one(TFL_OP_ARG_MIN, in, 2, TFL_INT32, TFL_OPTS_ARG_MIN, out_i32, 0, NULL,
              &want_min[k], 4, __LINE__);
  }
}

TEST(arg_max_nan_never_wins) {
  /* Rows: NaN first, NaN in the middle, all NaN. */
  const float x[9] = {NAN, -1, 2, 3, NAN, -4, NAN, NAN, NAN};
  const int32_t axis = -1;
  ot_spec in[2] = {OT_F32(2, DIMS(3, 3), x), OT_CONST(TFL_INT32, 0, NULL, &axis)};
  check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32, 1, DIMS(3),
            (const int32_t[]){2, 0, 0}, 12, __LINE__);
  check_one(TFL_OP_ARG_MIN, in, 2, TFL_INT32, TFL_OPTS_ARG_MIN, out_i32, 1, DIMS(3),
            (const int32_t[]){1, 2, 0}, 12, __LINE__);
  /* Along axis 0 the same rule (TFLite's strided path). */
  const int32_t axis0 = 0;
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &axis0);
  check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32, 1, DIMS(3),
            (const int32_t[]){1, 0, 0}, 12, __LINE__);
}

TEST(arg_max_runtime_axis) {
  /* A non-constant axis: the output shape is known only at eval. */
  const int32_t x[6] = {1, 9, 3, 8, 2, 4}, axis = 1;
  ot_spec in[2] = {OT_IN(TFL_INT32, 2, DIMS(2, 3), x), OT_IN(TFL_INT32, 1, DIMS(1), &axis)};
  check_one(TFL_OP_ARG_MAX, in, 2, TFL_INT64, TFL_OPTS_ARG_MAX, out_i64, 1, DIMS(2),
            (const int64_t[]){1, 0}, 16, __LINE__);
}

TEST(arg_max_bad_inputs_fail) {
  const float x[4] = {0};
  const int32_t axis2 = 2, axis0 = 0, two[2] = {0, 1};
  ot_spec in[2] = {OT_F32(2, DIMS(2, 2), x), OT_CONST(TFL_INT32, 0, NULL, &axis2)};
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32) == TFL_ERROR);
  in[1] = (ot_spec)OT_IN(TFL_INT32, 0, NULL, &axis2); /* the same at eval */
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32) == TFL_ERROR);
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), two);
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32) == TFL_ERROR);
  in[0] = (ot_spec)OT_F32(2, DIMS(0, 2), x); /* empty axis 0 */
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &axis0);
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32) == TFL_ERROR);
  in[0] = (ot_spec)OT_IN(TFL_INT16, 1, DIMS(2), x);
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_i32) ==
        TFL_UNSUPPORTED);
  const mb_field out_f32[] = {MB_BYTE(0, TFL_FLOAT32), MB_FIELDS_END};
  in[0] = (ot_spec)OT_F32(1, DIMS(2), x);
  CHECK(run_one(TFL_OP_ARG_MAX, in, 2, TFL_INT32, TFL_OPTS_ARG_MAX, out_f32) ==
        TFL_UNSUPPORTED);
}

/* --- TOPK_V2 ---------------------------------------------------------------------------- */

static tfl_status run_topk(ot_spec x, ot_spec k, tfl_type itype, ot_result *r) {
  ot_spec in[2] = {x, k};
  ot_spec out[2] = {OT_OUT(x.type), OT_OUT(itype)};
  return ot_run(TFL_OP_TOPK_V2, 1, in, 2, out, 2, 0, NULL, r);
}

TEST(topk_ties_and_nan) {
  /* Row 0: ties go by lower index; row 1: NaN sorts last. */
  const float x[8] = {3, 1, 3, 2, NAN, 5, NAN, -1};
  const int32_t k = 3;
  for (int constant = 0; constant < 2; constant++) {
    ot_spec sk = OT_IN(TFL_INT32, 0, NULL, &k);
    sk.constant = constant;
    ot_result r;
    REQUIRE(run_topk((ot_spec)OT_F32(2, DIMS(2, 4), x), sk, TFL_INT32, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 3)) && ck_shape_is(&r.out[1], 2, DIMS(2, 3)));
    const float *v = r.out[0].data;
    CHECK(v[0] == 3 && v[1] == 3 && v[2] == 2 && v[3] == 5 && v[4] == -1 && isnan(v[5]));
    CHECK(ck_bytes_are(&r.out[1], (const int32_t[]){0, 2, 3, 1, 3, 0}, 24));
    ot_result_free(&r);
  }
}

TEST(topk_k_zero_and_int16) {
  const int8_t x[5] = {-1, 4, 4, -128, 127};
  const int16_t k0 = 0, k5 = 5;
  ot_result r;
  REQUIRE(run_topk((ot_spec)OT_IN(TFL_INT8, 1, DIMS(5), x),
                   (ot_spec)OT_CONST(TFL_INT16, 0, NULL, &k0), TFL_INT32, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 1, DIMS(0)) && r.out[1].bytes == 0);
  ot_result_free(&r);
  REQUIRE(run_topk((ot_spec)OT_IN(TFL_INT8, 1, DIMS(5), x),
                   (ot_spec)OT_IN(TFL_INT16, 1, DIMS(1), &k5), TFL_INT16, &r) == TFL_OK);
  CHECK(ck_bytes_are(&r.out[0], (const int8_t[]){127, 4, 4, -1, -128}, 5));
  CHECK(ck_bytes_are(&r.out[1], (const int16_t[]){4, 1, 2, 0, 3}, 10));
  ot_result_free(&r);
}

/* Stable selection of the k largest (NaN-free) values, the obvious way. */
static void naive_topk(const int64_t *row, int n, int k, int64_t *vals, int32_t *idx) {
  uint8_t used[64] = {0};
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int i = 0; i < n; i++)
      if (!used[i] && (best < 0 || row[i] > row[best])) best = i;
    used[best] = 1;
    vals[j] = row[best];
    idx[j] = best;
  }
}

TEST(topk_against_naive) {
  const int rows = 3, n = 40;
  int64_t x[120];
  uint32_t s = 12345;
  for (int i = 0; i < rows * n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (int64_t)(s >> 26) - 30; /* many repeats */
  }
  const int ks[4] = {1, 7, 39, 40};
  for (int t = 0; t < 4; t++) {
    const int32_t k = ks[t];
    ot_result r;
    REQUIRE(run_topk((ot_spec)OT_IN(TFL_INT64, 2, DIMS(3, 40), x),
                     (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(1), &k), TFL_INT32, &r) == TFL_OK);
    for (int row = 0; row < rows; row++) {
      int64_t vals[40];
      int32_t idx[40];
      naive_topk(x + row * n, n, k, vals, idx);
      CHECK(memcmp((const int64_t *)r.out[0].data + row * k, vals, (size_t)k * 8) == 0);
      CHECK(memcmp((const int32_t *)r.out[1].data + row * k, idx, (size_t)k * 4) == 0);
    }
    ot_result_free(&r);
  }
}

TEST(topk_bad_inputs_fail) {
  const float x[3] = {1, 2, 3};
  const int32_t k4 = 4, k1 = 1;
  ot_result r;
  CHECK(run_topk((ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &k4),
                 TFL_INT32, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run_topk((ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_IN(TFL_INT32, 0, NULL, &k4),
                 TFL_INT32, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run_topk((ot_spec)OT_F32(0, NULL, x), (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &k1),
                 TFL_INT32, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run_topk((ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &k1),
                 TFL_INT64, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

/* --- SHAPE, RANK, FILL, ZEROS_LIKE ------------------------------------------------------ */

TEST(shape_and_rank) {
  const float x[6] = {0};
  ot_spec in[1] = {OT_F32(3, DIMS(1, 2, 3), x)};
  check_one(TFL_OP_SHAPE, in, 1, TFL_INT32, TFL_OPTS_SHAPE, out_i32, 1, DIMS(3),
            (const int32_t[]){1, 2, 3}, 12, __LINE__);
  check_one(TFL_OP_SHAPE, in, 1, TFL_INT64, TFL_OPTS_SHAPE, out_i64, 1, DIMS(3),
            (const int64_t[]){1, 2, 3}, 24, __LINE__);
  check_one(TFL_OP_RANK, in, 1, TFL_INT32, 0, NULL, 0, NULL, (const int32_t[]){3}, 4, __LINE__);
  in[0] = (ot_spec)OT_F32(0, NULL, x);
  check_one(TFL_OP_SHAPE, in, 1, TFL_INT32, TFL_OPTS_SHAPE, out_i32, 1, DIMS(0), NULL, 0,
            __LINE__);
  check_one(TFL_OP_RANK, in, 1, TFL_INT32, 0, NULL, 0, NULL, (const int32_t[]){0}, 4, __LINE__);
}

TEST(fill_constant_and_runtime_dims) {
  const int64_t dims[2] = {2, 3};
  const float v = 1.5f;
  float want[6];
  for (int i = 0; i < 6; i++) want[i] = 1.5f;
  for (int constant = 0; constant < 2; constant++) {
    ot_spec in[2] = {OT_IN(TFL_INT64, 1, DIMS(2), dims), OT_F32(0, NULL, &v)};
    in[0].constant = constant;
    check_one(TFL_OP_FILL, in, 2, TFL_FLOAT32, 0, NULL, 2, DIMS(2, 3), want, 24, __LINE__);
  }
  /* A quantized int8 value and output with the same parameters; an empty output. */
  const int32_t d2[2] = {2, 0}, d1 = 3;
  const int8_t q = -7;
  const float scale = 0.5f;
  const int64_t zp = 3;
  ot_spec in[2] = {OT_CONST(TFL_INT32, 1, DIMS(1), &d1), OT_IN(TFL_INT8, 0, NULL, &q)};
  in[1].q_count = 1;
  in[1].scales = &scale;
  in[1].zero_points = &zp;
  ot_spec out[1] = {OT_OUT(TFL_INT8)};
  out[0].q_count = 1;
  out[0].scales = &scale;
  out[0].zero_points = &zp;
  ot_result r;
  REQUIRE(ot_run(TFL_OP_FILL, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK(ck_bytes_are(&r.out[0], (const int8_t[]){-7, -7, -7}, 3));
  ot_result_free(&r);
  in[0] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), d2);
  out[0].scales = &v; /* different quantization */
  CHECK(ot_run(TFL_OP_FILL, 1, in, 2, out, 1, 0, NULL, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

TEST(fill_and_zeros_like_bad_inputs) {
  const int32_t neg[2] = {2, -1};
  const float v = 0, v2[2] = {0};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(2), neg), OT_F32(0, NULL, &v)};
  CHECK(run_one(TFL_OP_FILL, in, 2, TFL_FLOAT32, 0, NULL) == TFL_ERROR);
  in[0].constant = 1;
  CHECK(run_one(TFL_OP_FILL, in, 2, TFL_FLOAT32, 0, NULL) == TFL_ERROR);
  in[1] = (ot_spec)OT_F32(1, DIMS(2), v2); /* value must be a scalar */
  CHECK(run_one(TFL_OP_FILL, in, 2, TFL_FLOAT32, 0, NULL) == TFL_ERROR);
  const int64_t big[3] = {-5, 0, 7};
  ot_spec z[1] = {OT_IN(TFL_INT64, 1, DIMS(3), big)};
  check_one(TFL_OP_ZEROS_LIKE, z, 1, TFL_INT64, 0, NULL, 1, DIMS(3), (const int64_t[]){0, 0, 0},
            24, __LINE__);
  z[0] = (ot_spec)OT_IN(TFL_INT8, 1, DIMS(3), big);
  CHECK(run_one(TFL_OP_ZEROS_LIKE, z, 1, TFL_INT8, 0, NULL) == TFL_UNSUPPORTED);
}

/* --- RANGE ------------------------------------------------------------------------------ */

TEST(range_int_and_float) {
  const int32_t s = 10, l = 1, d = -3; /* 10 7 4 */
  ot_spec in[3] = {OT_CONST(TFL_INT32, 0, NULL, &s), OT_CONST(TFL_INT32, 0, NULL, &l),
                   OT_CONST(TFL_INT32, 0, NULL, &d)};
  check_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL, 1, DIMS(3), (const int32_t[]){10, 7, 4},
            12, __LINE__);
  in[1].constant = 0; /* runtime limit: dynamic output */
  check_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL, 1, DIMS(3), (const int32_t[]){10, 7, 4},
            12, __LINE__);
  const int64_t s64 = -2, l64 = -2, d64 = 5; /* empty */
  ot_spec in64[3] = {OT_IN(TFL_INT64, 0, NULL, &s64), OT_IN(TFL_INT64, 0, NULL, &l64),
                     OT_IN(TFL_INT64, 0, NULL, &d64)};
  check_one(TFL_OP_RANGE, in64, 3, TFL_INT64, 0, NULL, 1, DIMS(0), NULL, 0, __LINE__);
  /* Float: ceil(|1 - 0| / 0.1f) elements built by repeated addition of 0.1f. */
  const float fs = 0, fl = 1, fd = 0.1f;
  ot_spec fin[3] = {OT_F32(0, NULL, &fs), OT_F32(0, NULL, &fl), OT_F32(0, NULL, &fd)};
  const int n = (int)ceilf(fabsf((fl - fs) / fd));
  float want[16], acc = fs;
  for (int i = 0; i < n; i++, acc += fd) want[i] = acc;
  check_one(TFL_OP_RANGE, fin, 3, TFL_FLOAT32, 0, NULL, 1, DIMS(n), want, (size_t)n * 4,
            __LINE__);
  CHECK_EQ_INT(n, 10);
}

TEST(range_bad_inputs_fail) {
  const int32_t zero = 0, one = 1, five = 5, minus = -1;
  ot_spec in[3] = {OT_CONST(TFL_INT32, 0, NULL, &zero), OT_CONST(TFL_INT32, 0, NULL, &five),
                   OT_CONST(TFL_INT32, 0, NULL, &zero)};
  CHECK(run_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL) == TFL_ERROR); /* delta 0 */
  in[2] = (ot_spec)OT_IN(TFL_INT32, 0, NULL, &minus); /* away from the limit, at eval */
  CHECK(run_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL) == TFL_ERROR);
  const int64_t one64 = 1;
  in[2] = (ot_spec)OT_CONST(TFL_INT64, 0, NULL, &one64); /* mixed types */
  CHECK(run_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL) == TFL_UNSUPPORTED);
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(1), &one); /* not a scalar */
  CHECK(run_one(TFL_OP_RANGE, in, 3, TFL_INT32, 0, NULL) == TFL_ERROR);
}

/* --- ONE_HOT ---------------------------------------------------------------------------- */

TEST(one_hot_axes_and_types) {
  /* Indices [2]: {1, 5}; depth 3; index 5 is outside and gives only off values. */
  const int32_t idx[2] = {1, 5}, depth = 3;
  const float on = 1, off = -1;
  ot_spec in[4] = {OT_IN(TFL_INT32, 1, DIMS(2), idx), OT_CONST(TFL_INT32, 0, NULL, &depth),
                   OT_F32(0, NULL, &on), OT_F32(0, NULL, &off)};
  const mb_field last[] = {MB_INT(0, -1), MB_FIELDS_END};
  const mb_field first[] = {MB_INT(0, 0), MB_FIELDS_END};
  check_one(TFL_OP_ONE_HOT, in, 4, TFL_FLOAT32, TFL_OPTS_ONE_HOT, last, 2, DIMS(2, 3),
            (const float[]){-1, 1, -1, -1, -1, -1}, 24, __LINE__);
  check_one(TFL_OP_ONE_HOT, in, 4, TFL_FLOAT32, TFL_OPTS_ONE_HOT, first, 2, DIMS(3, 2),
            (const float[]){-1, -1, 1, -1, -1, -1}, 24, __LINE__);
  /* int64 [2,2] indices, bool values, axis 1, runtime depth. */
  const int64_t idx2[4] = {0, 1, 1, -1};
  const int32_t depth2 = 2;
  const uint8_t t = 1, f = 0;
  const mb_field middle[] = {MB_INT(0, 1), MB_FIELDS_END};
  ot_spec in2[4] = {OT_IN(TFL_INT64, 2, DIMS(2, 2), idx2), OT_IN(TFL_INT32, 0, NULL, &depth2),
                    OT_IN(TFL_BOOL, 0, NULL, &t), OT_IN(TFL_BOOL, 0, NULL, &f)};
  /* out[i][j][k] = idx2[i][k] == j */
  check_one(TFL_OP_ONE_HOT, in2, 4, TFL_BOOL, TFL_OPTS_ONE_HOT, middle, 3, DIMS(2, 2, 2),
            (const uint8_t[]){1, 0, 0, 1, 0, 0, 1, 0}, 8, __LINE__);
}

TEST(one_hot_bad_inputs_fail) {
  const int32_t idx[2] = {0, 1}, depth = 2, neg = -1;
  const float on = 1, off = 0;
  const int32_t ion = 1;
  ot_spec in[4] = {OT_IN(TFL_INT32, 1, DIMS(2), idx), OT_CONST(TFL_INT32, 0, NULL, &neg),
                   OT_F32(0, NULL, &on), OT_F32(0, NULL, &off)};
  CHECK(run_one(TFL_OP_ONE_HOT, in, 4, TFL_FLOAT32, 0, NULL) == TFL_ERROR); /* depth < 0 */
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &depth);
  const mb_field axis3[] = {MB_INT(0, 3), MB_FIELDS_END};
  CHECK(run_one(TFL_OP_ONE_HOT, in, 4, TFL_FLOAT32, TFL_OPTS_ONE_HOT, axis3) == TFL_ERROR);
  in[2] = (ot_spec)OT_IN(TFL_INT32, 0, NULL, &ion); /* on and off differ */
  CHECK(run_one(TFL_OP_ONE_HOT, in, 4, TFL_INT32, 0, NULL) == TFL_UNSUPPORTED);
}

/* --- REVERSE_V2 ------------------------------------------------------------------------- */

TEST(reverse_axes) {
  int16_t x[24];
  for (int i = 0; i < 24; i++) x[i] = (int16_t)i; /* [2,3,4] */
  int16_t want[24];
  /* Axis 1 (given as -2). */
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 4; c++) want[(a * 3 + b) * 4 + c] = x[(a * 3 + (2 - b)) * 4 + c];
  const int32_t ax[2] = {-2, 2};
  ot_spec in[2] = {OT_IN(TFL_INT16, 3, DIMS(2, 3, 4), x), OT_CONST(TFL_INT32, 1, DIMS(1), ax)};
  check_one(TFL_OP_REVERSE_V2, in, 2, TFL_INT16, 0, NULL, 3, DIMS(2, 3, 4), want, 48, __LINE__);
  /* Axes {2, 1} (runtime): both reversed. */
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 4; c++)
        want[(a * 3 + b) * 4 + c] = x[(a * 3 + (2 - b)) * 4 + (3 - c)];
  const int32_t ax2[2] = {2, 1};
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(2), ax2);
  check_one(TFL_OP_REVERSE_V2, in, 2, TFL_INT16, 0, NULL, 3, DIMS(2, 3, 4), want, 48, __LINE__);
  /* No axes: a copy. */
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(0), ax);
  check_one(TFL_OP_REVERSE_V2, in, 2, TFL_INT16, 0, NULL, 3, DIMS(2, 3, 4), x, 48, __LINE__);
}

TEST(reverse_bad_axes_fail) {
  const float x[24] = {0};
  const int32_t gap[2] = {0, 2}, twice[2] = {1, 1}, big = 3;
  ot_spec in[2] = {OT_F32(3, DIMS(2, 3, 4), x), OT_CONST(TFL_INT32, 1, DIMS(2), gap)};
  CHECK(run_one(TFL_OP_REVERSE_V2, in, 2, TFL_FLOAT32, 0, NULL) == TFL_UNSUPPORTED);
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), twice);
  CHECK(run_one(TFL_OP_REVERSE_V2, in, 2, TFL_FLOAT32, 0, NULL) == TFL_ERROR);
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(1), &big);
  CHECK(run_one(TFL_OP_REVERSE_V2, in, 2, TFL_FLOAT32, 0, NULL) == TFL_ERROR);
  in[1] = (ot_spec)OT_CONST(TFL_INT64, 1, DIMS(1), gap);
  CHECK(run_one(TFL_OP_REVERSE_V2, in, 2, TFL_FLOAT32, 0, NULL) == TFL_UNSUPPORTED);
}

/* --- CUMSUM ----------------------------------------------------------------------------- */

TEST(cumsum_options) {
  const float x[6] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
  const int32_t axis1 = 1, axis0 = -2;
  ot_spec in[2] = {OT_F32(2, DIMS(2, 3), x), OT_CONST(TFL_INT32, 0, NULL, &axis1)};
  const float want[4][6] = {{1, 3, 6, 4, 9, 15},   /* inclusive */
                            {0, 1, 3, 0, 4, 9},    /* exclusive */
                            {6, 5, 3, 15, 11, 6},  /* reverse */
                            {5, 3, 0, 11, 6, 0}};  /* exclusive reverse */
  for (int k = 0; k < 4; k++) {
    const mb_field opts[] = {MB_BYTE(0, k & 1), MB_BYTE(1, k >> 1), MB_FIELDS_END};
    check_one(TFL_OP_CUMSUM, in, 2, TFL_FLOAT32, TFL_OPTS_CUMSUM, opts, 2, DIMS(2, 3), want[k],
              24, __LINE__);
  }
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(1), &axis0);
  check_one(TFL_OP_CUMSUM, in, 2, TFL_FLOAT32, 0, NULL, 2, DIMS(2, 3),
            (const float[]){1, 2, 3, 5, 7, 9}, 24, __LINE__);
  /* int32 wraps. */
  const int32_t big[2] = {INT32_MAX, 2};
  const int32_t zero = 0;
  ot_spec in32[2] = {OT_IN(TFL_INT32, 1, DIMS(2), big), OT_CONST(TFL_INT32, 0, NULL, &zero)};
  check_one(TFL_OP_CUMSUM, in32, 2, TFL_INT32, 0, NULL, 1, DIMS(2),
            (const int32_t[]){INT32_MAX, INT32_MIN + 1}, 8, __LINE__);
  const int32_t bad = 2;
  in32[1] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &bad);
  CHECK(run_one(TFL_OP_CUMSUM, in32, 2, TFL_INT32, 0, NULL) == TFL_ERROR);
}

/* --- BROADCAST_ARGS --------------------------------------------------------------------- */

TEST(broadcast_args) {
  const int32_t a[3] = {2, 1, 3}, b[2] = {4, 1};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(3), a), OT_CONST(TFL_INT32, 1, DIMS(2), b)};
  check_one(TFL_OP_BROADCAST_ARGS, in, 2, TFL_INT32, 0, NULL, 1, DIMS(3),
            (const int32_t[]){2, 4, 3}, 12, __LINE__);
  const int64_t c[2] = {0, 5}, d[1] = {1};
  ot_spec in64[2] = {OT_IN(TFL_INT64, 1, DIMS(1), d), OT_IN(TFL_INT64, 1, DIMS(2), c)};
  check_one(TFL_OP_BROADCAST_ARGS, in64, 2, TFL_INT64, 0, NULL, 1, DIMS(2),
            (const int64_t[]){0, 5}, 16, __LINE__);
  const int32_t e[2] = {2, 3};
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(2), e); /* 1,3 vs 2,3: fine; 2,1,3 vs 2,3 too */
  check_one(TFL_OP_BROADCAST_ARGS, in, 2, TFL_INT32, 0, NULL, 1, DIMS(3),
            (const int32_t[]){2, 2, 3}, 12, __LINE__);
  const int32_t f[2] = {5, 3};
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(2), f); /* 1 vs 5 fine, 2 vs nothing fine */
  const int32_t g[3] = {2, 4, 3};
  in[0] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(3), g); /* 4 vs 5: not broadcastable */
  CHECK(run_one(TFL_OP_BROADCAST_ARGS, in, 2, TFL_INT32, 0, NULL) == TFL_ERROR);
  CHECK(run_one(TFL_OP_BROADCAST_ARGS, in, 2, TFL_INT64, 0, NULL) == TFL_UNSUPPORTED);
}

int main(void) {
  RUN(arg_max_min_ties_and_axes);
  RUN(arg_max_integer_types);
  RUN(arg_max_nan_never_wins);
  RUN(arg_max_runtime_axis);
  RUN(arg_max_bad_inputs_fail);
  RUN(topk_ties_and_nan);
  RUN(topk_k_zero_and_int16);
  RUN(topk_against_naive);
  RUN(topk_bad_inputs_fail);
  RUN(shape_and_rank);
  RUN(fill_constant_and_runtime_dims);
  RUN(fill_and_zeros_like_bad_inputs);
  RUN(range_int_and_float);
  RUN(range_bad_inputs_fail);
  RUN(one_hot_axes_and_types);
  RUN(one_hot_bad_inputs_fail);
  RUN(reverse_axes);
  RUN(reverse_bad_axes_fail);
  RUN(cumsum_options);
  RUN(broadcast_args);
  return test_summary();
}
