/* Comparisons, logical ops, SELECT/SELECT_V2 and WHERE: hand-computed cases (broadcasting,
 * NaN, signed zeros, half floats, quantized inputs with different scales, TFLite's fixed-point
 * precision), a broadcasting reference in double, and bad inputs that must fail cleanly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

/* A binary op with bool output; a and b are given whole. */
static tfl_status run2(int op, ot_spec a, ot_spec b, ot_result *r) {
  ot_spec in[2] = {a, b};
  ot_spec out[1] = {OT_OUT(TFL_BOOL)};
  return ot_run(op, 1, in, 2, out, 1, 0, NULL, r);
}

/* Runs op and checks the bool output against want (n values, shape ndim/dims). */
static void check_bools(int op, ot_spec a, ot_spec b, int ndim, const int32_t *dims,
                        const uint8_t *want, size_t n) {
  ot_result r;
  tfl_status st = run2(op, a, b, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, __LINE__, "op %d failed: %s", op, r.error);
  } else {
    CHECK(r.out[0].type == TFL_BOOL);
    CHECK(ck_shape_is(&r.out[0], ndim, dims));
    CHECK(ck_bytes_are(&r.out[0], want, n));
  }
  ot_result_free(&r);
}

/* --- comparisons by hand ---------------------------------------------------------------- */

TEST(compare_float_broadcast_by_hand) {
  const float a[6] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
  const float b[3] = {2, 2, 6};          /* [3] */
  const ot_spec sa = OT_F32(2, DIMS(2, 3), a), sb = OT_F32(1, DIMS(3), b);
  check_bools(TFL_OP_EQUAL, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){0, 1, 0, 0, 0, 1}, 6);
  check_bools(TFL_OP_NOT_EQUAL, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){1, 0, 1, 1, 1, 0}, 6);
  check_bools(TFL_OP_LESS, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){1, 0, 1, 0, 0, 0}, 6);
  check_bools(TFL_OP_LESS_EQUAL, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){1, 1, 1, 0, 0, 1}, 6);
  check_bools(TFL_OP_GREATER, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){0, 0, 0, 1, 1, 0}, 6);
  check_bools(TFL_OP_GREATER_EQUAL, sa, sb, 2, DIMS(2, 3), (const uint8_t[]){0, 1, 0, 1, 1, 1},
              6);
  /* The broadcast operand first: GREATER(b, a) = LESS(a, b). */
  check_bools(TFL_OP_GREATER, sb, sa, 2, DIMS(2, 3), (const uint8_t[]){1, 0, 1, 0, 0, 0}, 6);
}

TEST(compare_integers_with_scalars) {
  const int32_t a[4] = {-5, 0, 7, INT32_MAX}, s = 0;
  const ot_spec sa = OT_IN(TFL_INT32, 1, DIMS(4), a), ss = OT_CONST(TFL_INT32, 0, NULL, &s);
  check_bools(TFL_OP_GREATER, sa, ss, 1, DIMS(4), (const uint8_t[]){0, 0, 1, 1}, 4);
  check_bools(TFL_OP_LESS_EQUAL, ss, sa, 1, DIMS(4), (const uint8_t[]){0, 1, 1, 1}, 4);
  const int64_t c[3] = {INT64_MIN, 1, INT64_MAX}, d[3] = {INT64_MIN + 1, 1, INT64_MAX - 1};
  const ot_spec sc = OT_IN(TFL_INT64, 1, DIMS(3), c), sd = OT_IN(TFL_INT64, 1, DIMS(3), d);
  check_bools(TFL_OP_LESS, sc, sd, 1, DIMS(3), (const uint8_t[]){1, 0, 0}, 3);
  check_bools(TFL_OP_EQUAL, sc, sd, 1, DIMS(3), (const uint8_t[]){0, 1, 0}, 3);
  const int16_t e[2] = {-32768, 32767}, f[2] = {32767, 32767};
  const ot_spec se = OT_IN(TFL_INT16, 1, DIMS(2), e), sf = OT_IN(TFL_INT16, 1, DIMS(2), f);
  check_bools(TFL_OP_GREATER_EQUAL, se, sf, 1, DIMS(2), (const uint8_t[]){0, 1}, 2);
  check_bools(TFL_OP_NOT_EQUAL, se, sf, 1, DIMS(2), (const uint8_t[]){1, 0}, 2);
}

TEST(compare_float_nan_and_zeros) {
  const float a[4] = {NAN, 0.0f, 1.0f, -INFINITY};
  const float b[4] = {NAN, -0.0f, NAN, -INFINITY};
  const ot_spec sa = OT_F32(1, DIMS(4), a), sb = OT_F32(1, DIMS(4), b);
  check_bools(TFL_OP_EQUAL, sa, sb, 1, DIMS(4), (const uint8_t[]){0, 1, 0, 1}, 4);
  check_bools(TFL_OP_NOT_EQUAL, sa, sb, 1, DIMS(4), (const uint8_t[]){1, 0, 1, 0}, 4);
  check_bools(TFL_OP_LESS, sa, sb, 1, DIMS(4), (const uint8_t[]){0, 0, 0, 0}, 4);
  check_bools(TFL_OP_GREATER_EQUAL, sa, sb, 1, DIMS(4), (const uint8_t[]){0, 1, 0, 1}, 4);
}

TEST(compare_half_floats) {
  /* float16: 1.0 = 0x3c00, -1.0 = 0xbc00, +0 = 0, -0 = 0x8000, inf = 0x7c00, NaN = 0x7e00,
   * 2.0 = 0x4000, -2.0 = 0xc000. */
  const uint16_t a[6] = {0x3c00, 0x8000, 0x7e00, 0xbc00, 0x7c00, 0xc000};
  const uint16_t b[6] = {0x4000, 0x0000, 0x7e00, 0xc000, 0x7c00, 0xbc00};
  const ot_spec sa = OT_IN(TFL_FLOAT16, 1, DIMS(6), a), sb = OT_IN(TFL_FLOAT16, 1, DIMS(6), b);
  check_bools(TFL_OP_LESS, sa, sb, 1, DIMS(6), (const uint8_t[]){1, 0, 0, 0, 0, 1}, 6);
  check_bools(TFL_OP_EQUAL, sa, sb, 1, DIMS(6), (const uint8_t[]){0, 1, 0, 0, 1, 0}, 6);
  check_bools(TFL_OP_NOT_EQUAL, sa, sb, 1, DIMS(6), (const uint8_t[]){1, 0, 1, 1, 0, 1}, 6);
  check_bools(TFL_OP_GREATER_EQUAL, sa, sb, 1, DIMS(6), (const uint8_t[]){0, 1, 0, 1, 1, 0},
              6);
  /* bfloat16 (LESS/GREATER only): 1.0 = 0x3f80, -3.0 = 0xc040, NaN = 0x7fc0. */
  const uint16_t c[3] = {0x3f80, 0xc040, 0x7fc0}, d[3] = {0xc040, 0x3f80, 0x3f80};
  const ot_spec sc = OT_IN(TFL_BFLOAT16, 1, DIMS(3), c),
                sd = OT_IN(TFL_BFLOAT16, 1, DIMS(3), d);
  check_bools(TFL_OP_GREATER, sc, sd, 1, DIMS(3), (const uint8_t[]){1, 0, 0}, 3);
  ot_result r;
  CHECK(run2(TFL_OP_EQUAL, sc, sd, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

TEST(compare_bools_and_logical_ops) {
  const uint8_t a[4] = {0, 0, 1, 1}, b[2] = {0, 1};
  const ot_spec sa = OT_IN(TFL_BOOL, 2, DIMS(2, 2), a), sb = OT_IN(TFL_BOOL, 1, DIMS(2), b);
  check_bools(TFL_OP_EQUAL, sa, sb, 2, DIMS(2, 2), (const uint8_t[]){1, 0, 0, 1}, 4);
  check_bools(TFL_OP_NOT_EQUAL, sa, sb, 2, DIMS(2, 2), (const uint8_t[]){0, 1, 1, 0}, 4);
  check_bools(TFL_OP_LOGICAL_AND, sa, sb, 2, DIMS(2, 2), (const uint8_t[]){0, 0, 0, 1}, 4);
  check_bools(TFL_OP_LOGICAL_OR, sa, sb, 2, DIMS(2, 2), (const uint8_t[]){0, 1, 1, 1}, 4);
  const uint8_t t = 1;
  check_bools(TFL_OP_LOGICAL_AND, (ot_spec)OT_CONST(TFL_BOOL, 0, NULL, &t), sa, 2, DIMS(2, 2),
              a, 4);

  ot_spec in[1] = {sa};
  ot_spec out[1] = {OT_OUT(TFL_BOOL)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_LOGICAL_NOT, 1, in, 1, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 2)));
  CHECK(ck_bytes_are(&r.out[0], (const uint8_t[]){1, 1, 0, 0}, 4));
  ot_result_free(&r);
}

/* --- quantized comparisons -------------------------------------------------------------- */

/* A per-tensor quantized input. */
static ot_spec quantized(tfl_type type, int ndim, const int32_t *dims, const void *data,
                         const float *scale, const int64_t *zp) {
  ot_spec s = OT_IN(type, ndim, dims, data);
  s.q_count = 1;
  s.scales = scale;
  s.zero_points = zp;
  return s;
}

TEST(compare_quantized_different_scales) {
  /* a: uint8 scale 0.5 zero point 10 -> reals -5, 0, 2, 3; b: scale 0.25 zero point 0 ->
   * reals 0, 0, 2, 2.5. Raw codes would order them differently. */
  const uint8_t a[4] = {0, 10, 14, 16}, b[4] = {0, 0, 8, 10};
  const float sa = 0.5f, sb = 0.25f;
  const int64_t za = 10, zb = 0;
  const ot_spec qa = quantized(TFL_UINT8, 1, DIMS(4), a, &sa, &za);
  const ot_spec qb = quantized(TFL_UINT8, 1, DIMS(4), b, &sb, &zb);
  check_bools(TFL_OP_EQUAL, qa, qb, 1, DIMS(4), (const uint8_t[]){0, 1, 1, 0}, 4);
  check_bools(TFL_OP_LESS, qa, qb, 1, DIMS(4), (const uint8_t[]){1, 0, 0, 0}, 4);
  check_bools(TFL_OP_GREATER, qa, qb, 1, DIMS(4), (const uint8_t[]){0, 0, 0, 1}, 4);
  check_bools(TFL_OP_LESS_EQUAL, qa, qb, 1, DIMS(4), (const uint8_t[]){1, 1, 1, 0}, 4);

  /* int8: a scale 0.1 zero point -3 -> reals -0.5, 0.3; b scale 0.2 zero point 1 -> -0.4,
   * 0.2. */
  const int8_t c[2] = {-8, 0}, d[2] = {-1, 2};
  const float sc = 0.1f, sd = 0.2f;
  const int64_t zc = -3, zd = 1;
  const ot_spec qc = quantized(TFL_INT8, 1, DIMS(2), c, &sc, &zc);
  const ot_spec qd = quantized(TFL_INT8, 1, DIMS(2), d, &sd, &zd);
  check_bools(TFL_OP_GREATER_EQUAL, qc, qd, 1, DIMS(2), (const uint8_t[]){0, 1}, 2);
  check_bools(TFL_OP_NOT_EQUAL, qc, qd, 1, DIMS(2), (const uint8_t[]){1, 1}, 2);
}

TEST(compare_quantized_at_tflite_precision) {
  /* Values are compared as real * 2^8 rounded: 0.5 and 0.5009765625 (one code each) are both
   * 128 there, so TFLite calls them equal; 4 codes (2.0 vs 2.00390625) are 512 vs 513. */
  const uint8_t one = 1, four = 4;
  const float sa = 0.5f, sb = 0.5009765625f;
  const int64_t z = 0;
  check_bools(TFL_OP_EQUAL, quantized(TFL_UINT8, 1, DIMS(1), &one, &sa, &z),
              quantized(TFL_UINT8, 1, DIMS(1), &one, &sb, &z), 1, DIMS(1), (const uint8_t[]){1}, 1);
  check_bools(TFL_OP_LESS, quantized(TFL_UINT8, 1, DIMS(1), &four, &sa, &z),
              quantized(TFL_UINT8, 1, DIMS(1), &four, &sb, &z), 1, DIMS(1), (const uint8_t[]){1},
              1);
  /* Both roundings count: 3 codes of 0.3 are 0.9 * 2^8 = 230.4, computed as 461 / 2 = 230.5
   * rounded away from zero to 231, so TFLite finds them equal to 231 codes of 2^-8. */
  const uint8_t three = 3, q231 = 231;
  const float s03 = 0.3f, s256 = 0.00390625f;
  check_bools(TFL_OP_EQUAL, quantized(TFL_UINT8, 1, DIMS(1), &three, &s03, &z),
              quantized(TFL_UINT8, 1, DIMS(1), &q231, &s256, &z), 1, DIMS(1),
              (const uint8_t[]){1}, 1);
}

TEST(compare_quantized_int16_rules) {
  /* a: scale 1/8 -> 10 codes = 1.25; b: scale 1/64 -> 64 codes = 1.0. EQUAL/NOT_EQUAL rescale
   * int16, the ordered comparisons compare the raw codes (10 < 64), as TFLite does. */
  const int16_t a = 10, b = 64, c = 80;
  const float sa = 0.125f, sb = 0.015625f;
  const int64_t z = 0;
  const ot_spec qa = quantized(TFL_INT16, 1, DIMS(1), &a, &sa, &z);
  const ot_spec qb = quantized(TFL_INT16, 1, DIMS(1), &b, &sb, &z);
  const ot_spec qc = quantized(TFL_INT16, 1, DIMS(1), &c, &sb, &z);
  check_bools(TFL_OP_LESS, qa, qb, 1, DIMS(1), (const uint8_t[]){1}, 1);
  check_bools(TFL_OP_GREATER, qa, qb, 1, DIMS(1), (const uint8_t[]){0}, 1);
  check_bools(TFL_OP_EQUAL, qa, qb, 1, DIMS(1), (const uint8_t[]){0}, 1);
  check_bools(TFL_OP_EQUAL, qa, qc, 1, DIMS(1), (const uint8_t[]){1}, 1); /* 1.25 == 1.25 */
  check_bools(TFL_OP_NOT_EQUAL, qa, qc, 1, DIMS(1), (const uint8_t[]){0}, 1);
}

TEST(compare_quantized_scale_above_one) {
  /* Scale 2 (TFLite aborts): 3 codes = 6.0 against scale 0.5, 12 codes = 6.0. */
  const int8_t a = 3, b = 12, c = 13;
  const float sa = 2.0f, sb = 0.5f;
  const int64_t z = 0;
  const ot_spec qa = quantized(TFL_INT8, 1, DIMS(1), &a, &sa, &z);
  check_bools(TFL_OP_EQUAL, qa, quantized(TFL_INT8, 1, DIMS(1), &b, &sb, &z), 1, DIMS(1),
              (const uint8_t[]){1}, 1);
  check_bools(TFL_OP_LESS, qa, quantized(TFL_INT8, 1, DIMS(1), &c, &sb, &z), 1, DIMS(1),
              (const uint8_t[]){1}, 1);
}

/* Power-of-two scales make TFLite's fixed point exact, so a comparison in double is an
 * independent reference; broadcasting [2,1,3] against [4,1]. */
TEST(compare_quantized_against_double) {
  int8_t a[6], b[4];
  for (int i = 0; i < 6; i++) a[i] = (int8_t)(i * 37 % 256 - 128);
  for (int i = 0; i < 4; i++) b[i] = (int8_t)(i * 71 % 256 - 100);
  const float sa = 0.25f, sb = 0.125f;
  const int64_t za = 5, zb = -20;
  const ot_spec qa = quantized(TFL_INT8, 3, DIMS(2, 1, 3), a, &sa, &za);
  const ot_spec qb = quantized(TFL_INT8, 2, DIMS(4, 1), b, &sb, &zb);
  const int ops[6] = {TFL_OP_EQUAL,     TFL_OP_NOT_EQUAL, TFL_OP_LESS,
                      TFL_OP_LESS_EQUAL, TFL_OP_GREATER,  TFL_OP_GREATER_EQUAL};
  for (int k = 0; k < 6; k++) {
    uint8_t want[24];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++)
        for (int c = 0; c < 3; c++) {
          const double x = 0.25 * (a[i * 3 + c] - 5), y = 0.125 * (b[j] + 20);
          const int v[6] = {x == y, x != y, x < y, x <= y, x > y, x >= y};
          want[(i * 4 + j) * 3 + c] = (uint8_t)v[k];
        }
    check_bools(ops[k], qa, qb, 3, DIMS(2, 4, 3), want, 24);
  }
}

/* --- broadcasting against a reference --------------------------------------------------- */

/* Flat index into a tensor of shape (nd, dims) right-aligned under output coordinates o of
 * rank n, size-1 dimensions repeating. */
static size_t bcast_index(int n, const int32_t *o, int nd, const int32_t *dims) {
  size_t f = 0;
  for (int i = 0; i < nd; i++) {
    const int32_t c = dims[i] == 1 ? 0 : o[n - nd + i];
    f = f * (size_t)dims[i] + (size_t)c;
  }
  return f;
}

static void check_broadcast(int na, const int32_t *da, int nb, const int32_t *db, int n,
                            const int32_t *dout, unsigned seed) {
  const size_t ca = ck_count(na, da), cb = ck_count(nb, db), co = ck_count(n, dout);
  float *a = malloc((ca + 1) * sizeof(float)), *b = malloc((cb + 1) * sizeof(float));
  uint8_t *want = calloc(co + 1, 1);
  for (size_t i = 0; i < ca; i++) a[i] = (float)((i * 7 + seed) % 5);
  for (size_t i = 0; i < cb; i++) b[i] = (float)((i * 3 + seed) % 5);
  const int ops[4] = {TFL_OP_EQUAL, TFL_OP_LESS, TFL_OP_GREATER_EQUAL, TFL_OP_NOT_EQUAL};
  for (int k = 0; k < 4; k++) {
    for (size_t f = 0; f < co; f++) {
      int32_t o[8];
      size_t rest = f;
      for (int d = n - 1; d >= 0; d--) {
        o[d] = (int32_t)(rest % (size_t)dout[d]);
        rest /= (size_t)dout[d];
      }
      const float x = a[bcast_index(n, o, na, da)], y = b[bcast_index(n, o, nb, db)];
      const int v[4] = {x == y, x < y, x >= y, x != y};
      want[f] = (uint8_t)v[k];
    }
    check_bools(ops[k], (ot_spec)OT_F32(na, da, a), (ot_spec)OT_F32(nb, db, b), n, dout, want,
                co);
  }
  free(a);
  free(b);
  free(want);
}

TEST(compare_broadcast_against_reference) {
  check_broadcast(2, DIMS(3, 4), 2, DIMS(3, 4), 2, DIMS(3, 4), 1);
  check_broadcast(4, DIMS(2, 3, 1, 5), 2, DIMS(4, 1), 4, DIMS(2, 3, 4, 5), 2);
  check_broadcast(1, DIMS(1), 3, DIMS(2, 2, 3), 3, DIMS(2, 2, 3), 3);
  check_broadcast(3, DIMS(1, 3, 1), 3, DIMS(2, 1, 4), 3, DIMS(2, 3, 4), 4);
  check_broadcast(5, DIMS(2, 1, 2, 1, 3), 4, DIMS(3, 1, 2, 1), 5, DIMS(2, 3, 2, 2, 3), 5);
  check_broadcast(2, DIMS(0, 3), 1, DIMS(3), 2, DIMS(0, 3), 6); /* empty */
  check_broadcast(2, DIMS(1, 3), 2, DIMS(0, 1), 2, DIMS(0, 3), 7);
}

/* --- comparison errors ------------------------------------------------------------------ */

TEST(compare_bad_inputs_fail) {
  const float f[2] = {1, 2};
  const int32_t i[2] = {1, 2};
  const uint8_t u[2] = {1, 2};
  ot_result r;
  CHECK(run2(TFL_OP_EQUAL, (ot_spec)OT_F32(1, DIMS(2), f), (ot_spec)OT_IN(TFL_INT32, 1, DIMS(2), i),
             &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run2(TFL_OP_LESS, (ot_spec)OT_F32(1, DIMS(2), f), (ot_spec)OT_F32(1, DIMS(3), f), &r) ==
        TFL_ERROR);
  CHECK(strstr(r.error, "broadcast") != NULL);
  ot_result_free(&r);
  /* bool is only for EQUAL/NOT_EQUAL and the logical ops; those take only bool. */
  CHECK(run2(TFL_OP_LESS, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(2), u),
             (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(2), u), &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK(run2(TFL_OP_LOGICAL_OR, (ot_spec)OT_F32(1, DIMS(2), f), (ot_spec)OT_F32(1, DIMS(2), f),
             &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  /* One quantized side, a zero scale, a zero point outside uint8. */
  const float s = 0.5f, zero = 0.0f;
  const int64_t z = 0, bad_z = 300;
  CHECK(run2(TFL_OP_EQUAL, quantized(TFL_UINT8, 1, DIMS(2), u, &s, &z),
             (ot_spec)OT_IN(TFL_UINT8, 1, DIMS(2), u), &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK(run2(TFL_OP_EQUAL, quantized(TFL_UINT8, 1, DIMS(2), u, &zero, &z),
             quantized(TFL_UINT8, 1, DIMS(2), u, &s, &z), &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK(run2(TFL_OP_EQUAL, quantized(TFL_UINT8, 1, DIMS(2), u, &s, &bad_z),
             quantized(TFL_UINT8, 1, DIMS(2), u, &s, &z), &r) == TFL_INVALID_MODEL);
  CHECK(strstr(r.error, "zero point 300 is out of range for uint8") != NULL);
  ot_result_free(&r);
  /* Unquantized uint8 compares raw. */
  check_bools(TFL_OP_LESS, (ot_spec)OT_IN(TFL_UINT8, 1, DIMS(2), u),
              (ot_spec)OT_IN(TFL_UINT8, 1, DIMS(2), ((const uint8_t[]){2, 2})), 1, DIMS(2),
              (const uint8_t[]){1, 0}, 2);
}

/* --- SELECT, SELECT_V2 ------------------------------------------------------------------ */

static tfl_status run_select(int op, ot_spec c, ot_spec x, ot_spec y, tfl_type type,
                             ot_result *r) {
  ot_spec in[3] = {c, x, y};
  ot_spec out[1] = {OT_OUT(type)};
  return ot_run(op, 1, in, 3, out, 1, 0, NULL, r);
}

static void check_select(int op, ot_spec c, ot_spec x, ot_spec y, int ndim, const int32_t *dims,
                         const void *want, size_t bytes) {
  ot_result r;
  tfl_status st = run_select(op, c, x, y, x.type, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, __LINE__, "select failed: %s", r.error);
  } else {
    CHECK(r.out[0].type == x.type);
    CHECK(ck_shape_is(&r.out[0], ndim, dims));
    CHECK(ck_bytes_are(&r.out[0], want, bytes));
  }
  ot_result_free(&r);
}

TEST(select_by_hand) {
  const uint8_t c4[4] = {1, 0, 0, 1}, c2[2] = {0, 1}, t = 1;
  const float x[4] = {1, 2, 3, 4}, y[4] = {-1, -2, -3, -4};
  const ot_spec sx = OT_F32(2, DIMS(2, 2), x), sy = OT_F32(2, DIMS(2, 2), y);
  /* Same shapes, then a condition per row, then a scalar condition. */
  check_select(TFL_OP_SELECT, (ot_spec)OT_IN(TFL_BOOL, 2, DIMS(2, 2), c4), sx, sy, 2,
               DIMS(2, 2), (const float[]){1, -2, -3, 4}, 16);
  check_select(TFL_OP_SELECT, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(2), c2), sx, sy, 2, DIMS(2, 2),
               (const float[]){-1, -2, 3, 4}, 16);
  check_select(TFL_OP_SELECT, (ot_spec)OT_CONST(TFL_BOOL, 0, NULL, &t), sx, sy, 2, DIMS(2, 2),
               x, 16);
  /* SELECT_V2 aligns a [2] condition with the last dimension instead. */
  check_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(2), c2), sx, sy, 2,
               DIMS(2, 2), (const float[]){-1, 2, -3, 4}, 16);
}

TEST(select_v2_broadcasts_three_ways) {
  /* cond [2,1,1], x [1,3,1], y [1,1,2] -> [2,3,2]; int64 values. */
  const uint8_t c[2] = {1, 0};
  const int64_t x[3] = {10, 20, 30}, y[2] = {-1, -2};
  int64_t want[12];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 2; k++) want[(i * 3 + j) * 2 + k] = c[i] ? x[j] : y[k];
  check_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 3, DIMS(2, 1, 1), c),
               (ot_spec)OT_IN(TFL_INT64, 3, DIMS(1, 3, 1), x),
               (ot_spec)OT_IN(TFL_INT64, 3, DIMS(1, 1, 2), y), 3, DIMS(2, 3, 2), want,
               sizeof(want));
  /* int8 codes move as they are; a scalar x. */
  const uint8_t c3[3] = {0, 1, 1};
  const int8_t xs = -7, y3[3] = {1, 2, 3};
  check_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(3), c3),
               (ot_spec)OT_IN(TFL_INT8, 0, NULL, &xs), (ot_spec)OT_IN(TFL_INT8, 1, DIMS(3), y3),
               1, DIMS(3), (const int8_t[]){1, -7, -7}, 3);
  /* Empty output. */
  check_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 2, DIMS(0, 1), c3),
               (ot_spec)OT_IN(TFL_INT8, 1, DIMS(3), y3), (ot_spec)OT_IN(TFL_INT8, 1, DIMS(3), y3),
               2, DIMS(0, 3), NULL, 0);
}

TEST(select_single_element_keeps_the_output_shape) {
  /* Every operand one element: the output keeps the model's shape ([] here: ot_run declares
   * outputs as scalars). */
  const uint8_t c = 0;
  const float x = 1, y = 2;
  check_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(1), &c),
               (ot_spec)OT_F32(2, DIMS(1, 1), &x), (ot_spec)OT_F32(0, NULL, &y), 0, NULL, &y, 4);
}

TEST(select_bad_shapes_fail) {
  const uint8_t c[3] = {1, 0, 1};
  const float x[6] = {0};
  ot_result r;
  /* SELECT: a [3] condition for [2,3] values does not match the first dimension. */
  CHECK(run_select(TFL_OP_SELECT, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(3), c),
                   (ot_spec)OT_F32(2, DIMS(2, 3), x), (ot_spec)OT_F32(2, DIMS(2, 3), x),
                   TFL_FLOAT32, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(2), c),
                   (ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_F32(1, DIMS(3), x), TFL_FLOAT32,
                   &r) == TFL_ERROR);
  ot_result_free(&r);
  /* A non-bool condition; x and y of different types. */
  CHECK(run_select(TFL_OP_SELECT_V2, (ot_spec)OT_F32(1, DIMS(3), x),
                   (ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_F32(1, DIMS(3), x), TFL_FLOAT32,
                   &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK(run_select(TFL_OP_SELECT_V2, (ot_spec)OT_IN(TFL_BOOL, 1, DIMS(3), c),
                   (ot_spec)OT_F32(1, DIMS(3), x), (ot_spec)OT_IN(TFL_INT32, 1, DIMS(3), x),
                   TFL_FLOAT32, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

/* --- WHERE ------------------------------------------------------------------------------ */

static tfl_status run_where(ot_spec c, ot_result *r) {
  ot_spec in[1] = {c};
  ot_spec out[1] = {OT_OUT(TFL_INT64)};
  return ot_run(TFL_OP_WHERE, 1, in, 1, out, 1, 0, NULL, r);
}

TEST(where_by_hand) {
  const uint8_t c[6] = {0, 1, 0, 1, 1, 0}; /* [2,3]: (0,1) (1,0) (1,1) */
  for (int constant = 0; constant < 2; constant++) {
    ot_spec s = OT_IN(TFL_BOOL, 2, DIMS(2, 3), c);
    s.constant = constant;
    ot_result r;
    REQUIRE(run_where(s, &r) == TFL_OK);
    CHECK(r.out[0].type == TFL_INT64);
    CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 2)));
    CHECK(ck_bytes_are(&r.out[0], (const int64_t[]){0, 1, 1, 0, 1, 1}, 48));
    ot_result_free(&r);
  }
  /* Float: NaN is true, -0 false; 1-D. */
  const float f[4] = {-0.0f, NAN, 0.0f, -2.0f};
  ot_result r;
  REQUIRE(run_where((ot_spec)OT_F32(1, DIMS(4), f), &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 1)));
  CHECK(ck_bytes_are(&r.out[0], (const int64_t[]){1, 3}, 16));
  ot_result_free(&r);
  /* int32 [1,2,2]. */
  const int32_t i[4] = {0, 0, 0, 9};
  REQUIRE(run_where((ot_spec)OT_IN(TFL_INT32, 3, DIMS(1, 2, 2), i), &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(1, 3)));
  CHECK(ck_bytes_are(&r.out[0], (const int64_t[]){0, 1, 1}, 24));
  ot_result_free(&r);
}

TEST(where_empty_outputs) {
  const uint8_t c[4] = {0, 0, 0, 0};
  ot_result r;
  REQUIRE(run_where((ot_spec)OT_IN(TFL_BOOL, 2, DIMS(2, 2), c), &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(0, 2)));
  CHECK(r.out[0].bytes == 0);
  ot_result_free(&r);
  REQUIRE(run_where((ot_spec)OT_IN(TFL_BOOL, 2, DIMS(0, 3), c), &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(0, 2)));
  ot_result_free(&r);
}

TEST(where_bad_inputs_fail) {
  const uint8_t c = 1;
  const int16_t s[2] = {1, 0};
  ot_result r;
  CHECK(run_where((ot_spec)OT_IN(TFL_BOOL, 0, NULL, &c), &r) == TFL_ERROR); /* scalar */
  CHECK(strstr(r.error, "rank") != NULL);
  ot_result_free(&r);
  CHECK(run_where((ot_spec)OT_IN(TFL_INT16, 1, DIMS(2), s), &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

int main(void) {
  RUN(compare_float_broadcast_by_hand);
  RUN(compare_integers_with_scalars);
  RUN(compare_float_nan_and_zeros);
  RUN(compare_half_floats);
  RUN(compare_bools_and_logical_ops);
  RUN(compare_quantized_different_scales);
  RUN(compare_quantized_at_tflite_precision);
  RUN(compare_quantized_int16_rules);
  RUN(compare_quantized_scale_above_one);
  RUN(compare_quantized_against_double);
  RUN(compare_broadcast_against_reference);
  RUN(compare_bad_inputs_fail);
  RUN(select_by_hand);
  RUN(select_v2_broadcasts_three_ways);
  RUN(select_single_element_keeps_the_output_shape);
  RUN(select_bad_shapes_fail);
  RUN(where_by_hand);
  RUN(where_empty_outputs);
  RUN(where_bad_inputs_fail);
  return test_summary();
}
