/* SEGMENT_SUM, UNSORTED_SEGMENT_SUM/PROD/MAX/MIN, EMBEDDING_LOOKUP and SCATTER_ND:
 * hand-computed cases (empty segments, negative ids, repeated scatter indices, hybrid
 * dequantizing lookups, runtime shapes), a scatter reference, and out-of-range indices that
 * must fail cleanly. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static void check_one(int op, const ot_spec *in, int n_in, tfl_type out_type, int ndim,
                      const int32_t *dims, const void *want, size_t bytes, int line) {
  ck_run_expect(__FILE__, line, op, in, n_in, out_type, 0, NULL, ndim, dims, want, bytes);
}

static tfl_status run_one(int op, const ot_spec *in, int n_in, tfl_type out_type,
                          ot_result *r) {
  ot_spec out[1] = {OT_OUT(out_type)};
  return ot_run(op, 1, in, n_in, out, 1, 0, NULL, r);
}

/* Runs and expects status `want`; on an error the message must name `text`. */
static void check_fails(int op, const ot_spec *in, int n_in, tfl_type out_type,
                        tfl_status want, const char *text, int line) {
  ot_result r;
  tfl_status st = run_one(op, in, n_in, out_type, &r);
  if (st != want) test_fail(__FILE__, line, "status %d, expected %d (%s)", st, want, r.error);
  else if (text && !strstr(r.error, text))
    test_fail(__FILE__, line, "message '%s' lacks '%s'", r.error, text);
  ot_result_free(&r);
}

/* --- SEGMENT_SUM ------------------------------------------------------------------------ */

TEST(segment_sum_by_hand) {
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* [4,2] */
  const int32_t ids[4] = {0, 0, 1, 2};
  for (int constant = 0; constant < 2; constant++) {
    ot_spec in[2] = {OT_F32(2, DIMS(4, 2), x), OT_IN(TFL_INT32, 1, DIMS(4), ids)};
    in[1].constant = constant;
    check_one(TFL_OP_SEGMENT_SUM, in, 2, TFL_FLOAT32, 2, DIMS(3, 2),
              (const float[]){4, 6, 5, 6, 7, 8}, 24, __LINE__);
  }
  const int32_t xi[3] = {INT32_MAX, 1, 5}, ids2[3] = {0, 0, 1};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(3), xi), OT_CONST(TFL_INT32, 1, DIMS(3), ids2)};
  check_one(TFL_OP_SEGMENT_SUM, in, 2, TFL_INT32, 1, DIMS(2), (const int32_t[]){INT32_MIN, 5},
            8, __LINE__);
  /* No rows at all. */
  in[0] = (ot_spec)OT_IN(TFL_INT32, 2, DIMS(0, 3), xi);
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(0), ids2);
  check_one(TFL_OP_SEGMENT_SUM, in, 2, TFL_INT32, 2, DIMS(0, 3), NULL, 0, __LINE__);
}

TEST(segment_sum_rejects_bad_ids) {
  const float x[3] = {1, 2, 3};
  const int32_t gap[3] = {0, 2, 2}, late[3] = {1, 1, 2}, down[3] = {0, 1, 0};
  const int32_t *bad[3] = {gap, late, down};
  for (int k = 0; k < 3; k++)
    for (int constant = 0; constant < 2; constant++) {
      ot_spec in[2] = {OT_F32(1, DIMS(3), x), OT_IN(TFL_INT32, 1, DIMS(3), bad[k])};
      in[1].constant = constant;
      check_fails(TFL_OP_SEGMENT_SUM, in, 2, TFL_FLOAT32, TFL_ERROR, "segment id", __LINE__);
    }
  ot_spec in[2] = {OT_F32(1, DIMS(3), x), OT_IN(TFL_INT32, 1, DIMS(2), gap)}; /* length */
  check_fails(TFL_OP_SEGMENT_SUM, in, 2, TFL_FLOAT32, TFL_ERROR, NULL, __LINE__);
  in[1] = (ot_spec)OT_IN(TFL_INT64, 1, DIMS(3), gap);
  check_fails(TFL_OP_SEGMENT_SUM, in, 2, TFL_FLOAT32, TFL_UNSUPPORTED, NULL, __LINE__);
}

/* --- UNSORTED_SEGMENT_* ----------------------------------------------------------------- */

TEST(unsorted_segment_ops) {
  /* Rows {1,-2}, {3,4}, {-5,6}, {7,8}; ids {2, 0, 2, -1}: row 3 is dropped, segment 1 and 3
   * are empty. */
  const float x[8] = {1, -2, 3, 4, -5, 6, 7, 8};
  const int32_t ids[4] = {2, 0, 2, -1}, num = 4;
  ot_spec in[3] = {OT_F32(2, DIMS(4, 2), x), OT_IN(TFL_INT32, 1, DIMS(4), ids),
                   OT_CONST(TFL_INT32, 0, NULL, &num)};
  const int ops[4] = {TFL_OP_UNSORTED_SEGMENT_SUM, TFL_OP_UNSORTED_SEGMENT_PROD,
                      TFL_OP_UNSORTED_SEGMENT_MAX, TFL_OP_UNSORTED_SEGMENT_MIN};
  const float want[4][8] = {{3, 4, 0, 0, -4, 4, 0, 0},
                            {3, 4, 1, 1, -5, -12, 1, 1},
                            {3, 4, -FLT_MAX, -FLT_MAX, 1, 6, -FLT_MAX, -FLT_MAX},
                            {3, 4, FLT_MAX, FLT_MAX, -5, -2, FLT_MAX, FLT_MAX}};
  for (int k = 0; k < 4; k++)
    check_one(ops[k], in, 3, TFL_FLOAT32, 2, DIMS(4, 2), want[k], 32, __LINE__);
  /* A runtime num_segments ([1]) makes the output dynamic. */
  in[2] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(1), &num);
  check_one(TFL_OP_UNSORTED_SEGMENT_SUM, in, 3, TFL_FLOAT32, 2, DIMS(4, 2), want[0], 32,
            __LINE__);
}

TEST(unsorted_segment_int_and_prefix_ids) {
  /* ids [2,2] over data [2,2,2]: each id takes a pair. */
  const int32_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ids[4] = {1, 0, 1, 1}, num = 2;
  ot_spec in[3] = {OT_IN(TFL_INT32, 3, DIMS(2, 2, 2), x), OT_CONST(TFL_INT32, 2, DIMS(2, 2), ids),
                   OT_CONST(TFL_INT32, 0, NULL, &num)};
  check_one(TFL_OP_UNSORTED_SEGMENT_SUM, in, 3, TFL_INT32, 2, DIMS(2, 2),
            (const int32_t[]){3, 4, 1 + 5 + 7, 2 + 6 + 8}, 16, __LINE__);
  check_one(TFL_OP_UNSORTED_SEGMENT_MIN, in, 3, TFL_INT32, 2, DIMS(2, 2),
            (const int32_t[]){3, 4, 1, 2}, 16, __LINE__);
  /* Products wrap; MAX of nothing is INT32_MIN. */
  const int32_t big[2] = {65536, 65536}, ids2[2] = {0, 0}, num3 = 3;
  ot_spec in2[3] = {OT_IN(TFL_INT32, 1, DIMS(2), big), OT_IN(TFL_INT32, 1, DIMS(2), ids2),
                    OT_CONST(TFL_INT32, 0, NULL, &num3)};
  check_one(TFL_OP_UNSORTED_SEGMENT_PROD, in2, 3, TFL_INT32, 1, DIMS(3),
            (const int32_t[]){0, 1, 1}, 12, __LINE__);
  check_one(TFL_OP_UNSORTED_SEGMENT_MAX, in2, 3, TFL_INT32, 1, DIMS(3),
            (const int32_t[]){65536, INT32_MIN, INT32_MIN}, 12, __LINE__);
}

TEST(unsorted_segment_nan_keeps_the_current_value) {
  const float x[3] = {2, NAN, 1};
  const int32_t ids[3] = {0, 0, 0}, num = 1;
  ot_spec in[3] = {OT_F32(1, DIMS(3), x), OT_CONST(TFL_INT32, 1, DIMS(3), ids),
                   OT_CONST(TFL_INT32, 0, NULL, &num)};
  check_one(TFL_OP_UNSORTED_SEGMENT_MAX, in, 3, TFL_FLOAT32, 1, DIMS(1), (const float[]){2}, 4,
            __LINE__);
  check_one(TFL_OP_UNSORTED_SEGMENT_MIN, in, 3, TFL_FLOAT32, 1, DIMS(1), (const float[]){1}, 4,
            __LINE__);
}

TEST(unsorted_segment_bad_inputs_fail) {
  const float x[4] = {0};
  const int32_t ids[2] = {0, 3}, num = 3, neg = -1, two[2] = {1, 1};
  for (int constant = 0; constant < 2; constant++) {
    ot_spec in[3] = {OT_F32(1, DIMS(2), x), OT_IN(TFL_INT32, 1, DIMS(2), ids),
                     OT_IN(TFL_INT32, 0, NULL, &num)};
    in[1].constant = in[2].constant = constant;
    check_fails(TFL_OP_UNSORTED_SEGMENT_SUM, in, 3, TFL_FLOAT32, TFL_ERROR, "num_segments",
                __LINE__);
  }
  ot_spec in[3] = {OT_F32(1, DIMS(2), x), OT_IN(TFL_INT32, 1, DIMS(2), two),
                   OT_CONST(TFL_INT32, 0, NULL, &neg)};
  check_fails(TFL_OP_UNSORTED_SEGMENT_MAX, in, 3, TFL_FLOAT32, TFL_ERROR, "negative", __LINE__);
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), two); /* not a scalar or [1] */
  check_fails(TFL_OP_UNSORTED_SEGMENT_MAX, in, 3, TFL_FLOAT32, TFL_ERROR, NULL, __LINE__);
  in[1] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(3), two); /* ids not a prefix of data */
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 0, NULL, &num);
  check_fails(TFL_OP_UNSORTED_SEGMENT_MIN, in, 3, TFL_FLOAT32, TFL_ERROR, "begin", __LINE__);
}

/* --- EMBEDDING_LOOKUP ------------------------------------------------------------------- */

TEST(embedding_lookup_rows) {
  const int64_t table[6] = {10, 11, 20, 21, 30, 31}; /* [3,2] */
  const int32_t ids[4] = {2, 0, 2, 1};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(4), ids), OT_CONST(TFL_INT64, 2, DIMS(3, 2), table)};
  check_one(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_INT64, 2, DIMS(4, 2),
            (const int64_t[]){30, 31, 10, 11, 30, 31, 20, 21}, 64, __LINE__);
  /* Rows of [2,2] items. */
  const float t3[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int32_t one = 1;
  ot_spec in3[2] = {OT_IN(TFL_INT32, 1, DIMS(1), &one), OT_F32(3, DIMS(2, 2, 2), t3)};
  check_one(TFL_OP_EMBEDDING_LOOKUP, in3, 2, TFL_FLOAT32, 3, DIMS(1, 2, 2), t3 + 4, 16,
            __LINE__);
}

TEST(embedding_lookup_hybrid) {
  /* int8 rows, float output: value * scale, per tensor then per row. */
  const int8_t q[4] = {-128, 3, 127, -1};
  const int32_t ids[3] = {1, 0, 1};
  const float scale1 = 0.5f, scales[2] = {0.5f, 0.25f};
  const int64_t zp[2] = {0, 0};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(3), ids), OT_CONST(TFL_INT8, 2, DIMS(2, 2), q)};
  in[1].q_count = 1;
  in[1].scales = &scale1;
  in[1].zero_points = zp;
  check_one(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, 2, DIMS(3, 2),
            (const float[]){63.5f, -0.5f, -64, 1.5f, 63.5f, -0.5f}, 24, __LINE__);
  in[1].q_count = 2;
  in[1].scales = scales;
  check_one(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, 2, DIMS(3, 2),
            (const float[]){31.75f, -0.25f, -64, 1.5f, 31.75f, -0.25f}, 24, __LINE__);
  /* uint8 rows are read as int8, as TFLite's hybrid path does: 200 -> -56. */
  const uint8_t u[2] = {200, 7};
  const int32_t zero = 0;
  ot_spec inu[2] = {OT_IN(TFL_INT32, 1, DIMS(1), &zero), OT_CONST(TFL_UINT8, 2, DIMS(1, 2), u)};
  inu[1].q_count = 1;
  inu[1].scales = &scale1;
  inu[1].zero_points = zp;
  check_one(TFL_OP_EMBEDDING_LOOKUP, inu, 2, TFL_FLOAT32, 2, DIMS(1, 2),
            (const float[]){-28, 3.5f}, 8, __LINE__);
}

TEST(embedding_lookup_bad_inputs_fail) {
  const float table[4] = {0};
  const int32_t out_of_range[2] = {0, 2}, negative[1] = {-1};
  ot_spec in[2] = {OT_IN(TFL_INT32, 1, DIMS(2), out_of_range), OT_F32(2, DIMS(2, 2), table)};
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, TFL_ERROR, "out of range", __LINE__);
  in[0] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(1), negative);
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, TFL_ERROR, "out of range", __LINE__);
  in[1] = (ot_spec)OT_F32(1, DIMS(4), table); /* rows need 2 dimensions */
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, TFL_ERROR, NULL, __LINE__);
  /* Asymmetric hybrid rows; unquantized int8 rows into float; float rows into int32. */
  const int8_t q[4] = {0};
  const float s = 1;
  const int64_t zp = 3;
  in[1] = (ot_spec)OT_CONST(TFL_INT8, 2, DIMS(2, 2), q);
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, TFL_UNSUPPORTED, NULL, __LINE__);
  in[1].q_count = 1;
  in[1].scales = &s;
  in[1].zero_points = &zp;
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_FLOAT32, TFL_UNSUPPORTED, NULL, __LINE__);
  in[1] = (ot_spec)OT_F32(2, DIMS(2, 2), table);
  check_fails(TFL_OP_EMBEDDING_LOOKUP, in, 2, TFL_INT32, TFL_UNSUPPORTED, NULL, __LINE__);
}

/* --- SCATTER_ND ------------------------------------------------------------------------- */

TEST(scatter_nd_by_hand) {
  /* Rows 1 and 3 of a [4,2] output, row 1 twice: updates add up. */
  const int32_t idx[3] = {1, 3, 1}, shape[2] = {4, 2};
  const float upd[6] = {1, 2, 3, 4, 10, 20};
  for (int constant = 0; constant < 2; constant++) {
    ot_spec in[3] = {OT_IN(TFL_INT32, 2, DIMS(3, 1), idx), OT_F32(2, DIMS(3, 2), upd),
                     OT_IN(TFL_INT32, 1, DIMS(2), shape)};
    in[2].constant = constant;
    check_one(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, 2, DIMS(4, 2),
              (const float[]){0, 0, 11, 22, 0, 0, 3, 4}, 32, __LINE__);
  }
  /* Full coordinates into a [2,2] bool output: repeated trues stay true. */
  const int32_t idx2[6] = {0, 1, 1, 0, 0, 1}, shape2[2] = {2, 2};
  const uint8_t b[3] = {1, 1, 1};
  ot_spec in[3] = {OT_IN(TFL_INT32, 2, DIMS(3, 2), idx2), OT_IN(TFL_BOOL, 1, DIMS(3), b),
                   OT_CONST(TFL_INT32, 1, DIMS(2), shape2)};
  check_one(TFL_OP_SCATTER_ND, in, 3, TFL_BOOL, 2, DIMS(2, 2), (const uint8_t[]){0, 1, 1, 0}, 4,
            __LINE__);
  /* int8 wraps: 100 + 100 at (0, 1). */
  const int8_t i8[3] = {100, 100, 100};
  in[1] = (ot_spec)OT_IN(TFL_INT8, 1, DIMS(3), i8);
  check_one(TFL_OP_SCATTER_ND, in, 3, TFL_INT8, 2, DIMS(2, 2), (const int8_t[]){0, -56, 100, 0},
            4, __LINE__);
}

/* out[idx[s]] += upd[s] for slices of a [3,4,2] output addressed by 2 coordinates. */
TEST(scatter_nd_against_reference) {
  int32_t idx[10][2];
  int32_t upd[10][2];
  int32_t want[3][4][2];
  memset(want, 0, sizeof(want));
  uint32_t s = 7;
  for (int i = 0; i < 10; i++) {
    s = s * 1664525u + 1013904223u;
    idx[i][0] = (int32_t)((s >> 10) % 3);
    idx[i][1] = (int32_t)((s >> 20) % 4);
    for (int j = 0; j < 2; j++) {
      upd[i][j] = (int32_t)(i * 10 + j);
      want[idx[i][0]][idx[i][1]][j] += upd[i][j];
    }
  }
  const int32_t shape[3] = {3, 4, 2};
  ot_spec in[3] = {OT_IN(TFL_INT32, 2, DIMS(10, 2), idx), OT_IN(TFL_INT32, 2, DIMS(10, 2), upd),
                   OT_CONST(TFL_INT32, 1, DIMS(3), shape)};
  check_one(TFL_OP_SCATTER_ND, in, 3, TFL_INT32, 3, DIMS(3, 4, 2), want, sizeof(want), __LINE__);
}

TEST(scatter_nd_bad_inputs_fail) {
  const int32_t idx[2] = {1, 4}, shape[2] = {4, 2}, neg[2] = {-1, 0}, bad_shape[2] = {4, 3};
  const float upd[4] = {0};
  ot_spec in[3] = {OT_IN(TFL_INT32, 2, DIMS(2, 1), idx), OT_F32(2, DIMS(2, 2), upd),
                   OT_CONST(TFL_INT32, 1, DIMS(2), shape)};
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, TFL_ERROR, "out of range", __LINE__);
  in[0] = (ot_spec)OT_IN(TFL_INT32, 2, DIMS(2, 1), neg);
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, TFL_ERROR, "out of range", __LINE__);
  in[2] = (ot_spec)OT_IN(TFL_INT32, 1, DIMS(2), bad_shape); /* updates [2,2] vs [.., 3] */
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, TFL_ERROR, "do not fit", __LINE__);
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), neg); /* negative output dimension */
  in[1] = (ot_spec)OT_F32(1, DIMS(2), upd);
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, TFL_ERROR, NULL, __LINE__);
  const int64_t shape64[2] = {4, 2};
  in[2] = (ot_spec)OT_CONST(TFL_INT64, 1, DIMS(2), shape64);
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_FLOAT32, TFL_UNSUPPORTED, NULL, __LINE__);
  in[1] = (ot_spec)OT_IN(TFL_INT16, 1, DIMS(2), upd);
  check_fails(TFL_OP_SCATTER_ND, in, 3, TFL_INT16, TFL_UNSUPPORTED, NULL, __LINE__);
}

int main(void) {
  RUN(segment_sum_by_hand);
  RUN(segment_sum_rejects_bad_ids);
  RUN(unsorted_segment_ops);
  RUN(unsorted_segment_int_and_prefix_ids);
  RUN(unsorted_segment_nan_keeps_the_current_value);
  RUN(unsorted_segment_bad_inputs_fail);
  RUN(embedding_lookup_rows);
  RUN(embedding_lookup_hybrid);
  RUN(embedding_lookup_bad_inputs_fail);
  RUN(scatter_nd_by_hand);
  RUN(scatter_nd_against_reference);
  RUN(scatter_nd_bad_inputs_fail);
  return test_summary();
}
