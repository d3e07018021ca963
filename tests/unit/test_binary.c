/* ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, FLOOR_DIV, FLOOR_MOD, POW:
 * hand-computed cases, broadcasting of many shape pairs against a naive index-by-index
 * broadcast written below, fused activations, integer semantics, zero sizes and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

typedef struct shape {
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
} shape;

static size_t shape_count(const shape *s) {
  size_t n = 1;
  for (int i = 0; i < s->ndim; i++) n *= (size_t)s->dims[i];
  return n;
}

/* Options type carrying the fused activation in field 0, or 0 for ops without one. */
static int act_options(int op) {
  switch (op) {
    case TFL_OP_ADD:
      return TFL_OPTS_ADD;
    case TFL_OP_SUB:
      return TFL_OPTS_SUB;
    case TFL_OP_MUL:
      return TFL_OPTS_MUL;
    case TFL_OP_DIV:
      return TFL_OPTS_DIV;
    default:
      return 0;
  }
}

static tfl_status run2(int op, int act, tfl_type type, const shape *sa, const void *a,
                       const shape *sb, const void *b, ot_result *r) {
  ot_spec in[2] = {OT_IN(type, sa->ndim, sa->dims, a), OT_IN(type, sb->ndim, sb->dims, b)};
  ot_spec out[1] = {OT_OUT(type)};
  mb_field opt[] = {MB_BYTE(0, act), MB_FIELDS_END};
  int ot = act_options(op);
  return ot_run(op, 1, in, 2, out, 1, ot, ot ? opt : NULL, r);
}

/* Deterministic values in [lo, hi]; with avoid_small, |v| >= 0.25 (divisors). */
static float *values(size_t n, unsigned seed, float lo, float hi, int avoid_small) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  uint32_t s = seed * 2654435761u + 7u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    float v = lo + (hi - lo) * ((float)(s >> 8) / (float)(1u << 24));
    if (avoid_small && fabsf(v) < 0.25f) v = v < 0 ? -0.25f - v : 0.25f + v;
    p[i] = v;
  }
  return p;
}

/* --- the naive reference ------------------------------------------------------------- */

static float ref_op(int op, float x, float y) {
  switch (op) {
    case TFL_OP_ADD:
      return x + y;
    case TFL_OP_SUB:
      return x - y;
    case TFL_OP_MUL:
      return x * y;
    case TFL_OP_DIV:
      return x / y;
    case TFL_OP_MAXIMUM:
      return x > y ? x : y;
    case TFL_OP_MINIMUM:
      return x < y ? x : y;
    case TFL_OP_SQUARED_DIFFERENCE:
      return (x - y) * (x - y);
    case TFL_OP_FLOOR_DIV:
      return (float)floor((double)x / (double)y);
    case TFL_OP_FLOOR_MOD:
      return (float)((double)x - floor((double)x / (double)y) * (double)y);
    default: /* POW */
      return (float)pow(x, y);
  }
}

static float ref_act(int act, float v) {
  switch (act) {
    case TFL_ACT_RELU:
      return v < 0 ? 0 : v;
    case TFL_ACT_RELU_N1_TO_1:
      return v < -1 ? -1 : (v > 1 ? 1 : v);
    case TFL_ACT_RELU6:
      return v < 0 ? 0 : (v > 6 ? 6 : v);
    default: /* NONE, and TANH / SIGN_BIT which TFLite's binary kernels ignore */
      return v;
  }
}

/* out[idx] = f(a[...], b[...]) visiting every output index and locating each operand's
 * element from the aligned coordinates. */
static void ref_broadcast(int op, int act, const shape *sa, const float *a, const shape *sb,
                          const float *b, shape *so, float *out) {
  int nd = sa->ndim > sb->ndim ? sa->ndim : sb->ndim;
  int32_t da[TFL_MAX_DIMS], db[TFL_MAX_DIMS];
  so->ndim = nd;
  for (int i = 0; i < nd; i++) {
    da[i] = i < nd - sa->ndim ? 1 : sa->dims[i - (nd - sa->ndim)];
    db[i] = i < nd - sb->ndim ? 1 : sb->dims[i - (nd - sb->ndim)];
    so->dims[i] = (da[i] == 0 || db[i] == 0) ? 0 : (da[i] > db[i] ? da[i] : db[i]);
  }
  size_t total = shape_count(so);
  for (size_t lin = 0; lin < total; lin++) {
    size_t rem = lin, ia = 0, ib = 0, ma = 1, mb = 1;
    for (int i = nd - 1; i >= 0; i--) {
      size_t c = rem % (size_t)so->dims[i];
      rem /= (size_t)so->dims[i];
      ia += (da[i] == 1 ? 0 : c) * ma;
      ib += (db[i] == 1 ? 0 : c) * mb;
      ma *= (size_t)da[i];
      mb *= (size_t)db[i];
    }
    out[lin] = ref_act(act, ref_op(op, a[ia], b[ib]));
  }
}

static void check_float_case(int op, int act, const shape *sa, const shape *sb, unsigned seed) {
  const int divides = op == TFL_OP_DIV || op == TFL_OP_FLOOR_DIV || op == TFL_OP_FLOOR_MOD;
  const int is_pow = op == TFL_OP_POW;
  size_t na = shape_count(sa), nb = shape_count(sb);
  float *a = values(na, seed, is_pow ? 0.1f : -4.0f, 4.0f, 0);
  float *b = values(nb, seed + 99, is_pow ? -2.0f : -4.0f, is_pow ? 2.0f : 4.0f, divides);
  shape so;
  float *want = malloc((na * nb + 1) * sizeof(float));
  ref_broadcast(op, act, sa, a, sb, b, &so, want);
  ot_result r;
  tfl_status st = run2(op, act, TFL_FLOAT32, sa, a, sb, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "op %d seed %u: %s", op, seed, r.error);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].ndim, so.ndim);
    for (int i = 0; i < so.ndim; i++) CHECK_EQ_INT(r.out[0].dims[i], so.dims[i]);
    const float *got = ot_f32(&r, 0);
    size_t n = shape_count(&so);
    for (size_t i = 0; i < n; i++) CHECK_NEAR(got[i], want[i], 1e-5 * (1 + fabs(want[i])));
  }
  ot_result_free(&r);
  free(a);
  free(b);
  free(want);
}

#define S(...) {sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t), {__VA_ARGS__}}

static const shape pairs[][2] = {
    {S(2, 3), S(2, 3)},                     /* equal shapes */
    {S(2, 3), S(3)},                        /* rank mismatch, trailing vector */
    {S(3), S(2, 3)},                        /* the same, operands swapped */
    {S(2, 1, 4), S(3, 1)},                  /* size-1 dimensions on both sides */
    {S(4, 1), S(1, 5)},                     /* outer product */
    {{0, {0}}, S(2, 3)},                    /* scalar first */
    {S(2, 3), {0, {0}}},                    /* scalar second */
    {S(1), S(4, 1, 2)},                     /* one-element tensor */
    {S(1, 1), S(1)},                        /* all ones */
    {S(2, 3, 4), S(2, 1, 4)},               /* middle broadcast */
    {S(2, 3, 4), S(2, 3, 1)},               /* last broadcast */
    {S(5, 1, 3, 1, 2), S(4, 3, 1, 1)},      /* rank 5 against rank 4 */
    {S(1, 3, 1, 4, 1), S(2, 1, 5, 1, 3)},   /* alternating */
    {S(2, 1, 1, 3, 1, 2, 1, 2), S(4, 3, 5, 2, 3, 1)}, /* rank 8 */
    {S(1, 4, 4, 3), S(3)},                  /* NHWC + per-channel */
};

static const int float_ops[] = {TFL_OP_ADD,     TFL_OP_SUB,        TFL_OP_MUL,
                                TFL_OP_DIV,     TFL_OP_MAXIMUM,    TFL_OP_MINIMUM,
                                TFL_OP_SQUARED_DIFFERENCE, TFL_OP_FLOOR_DIV,
                                TFL_OP_FLOOR_MOD, TFL_OP_POW};

TEST(broadcast_all_ops_float) {
  for (size_t o = 0; o < sizeof(float_ops) / sizeof(float_ops[0]); o++)
    for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
      check_float_case(float_ops[o], TFL_ACT_NONE, &pairs[p][0], &pairs[p][1],
                       (unsigned)(o * 31 + p));
}

TEST(every_fused_activation) {
  static const int ops[] = {TFL_OP_ADD, TFL_OP_SUB, TFL_OP_MUL, TFL_OP_DIV};
  for (size_t o = 0; o < 4; o++)
    for (int act = TFL_ACT_NONE; act <= TFL_ACT_SIGN_BIT; act++)
      check_float_case(ops[o], act, &pairs[3][0], &pairs[3][1], (unsigned)(act + 7 * o));
}

TEST(add_hand_computed) {
  const shape sa = S(2, 2), sb = S(2);
  const float a[] = {1, -2, 3.5f, 10}, b[] = {0.5f, -7};
  ot_result r;
  REQUIRE(run2(TFL_OP_ADD, TFL_ACT_RELU6, TFL_FLOAT32, &sa, a, &sb, b, &r) == TFL_OK);
  const float want[] = {1.5f, 0, 4, 3};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(ot_f32(&r, 0)[i] == want[i], 1);
  ot_result_free(&r);
}

TEST(constant_operand) {
  const int32_t d4[] = {4}, d1[] = {1};
  const float a[] = {1, 2, 3, 4}, b[] = {10};
  ot_spec in[2] = {OT_F32(1, d4, a), OT_F32_CONST(1, d1, b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_MUL, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], 10.0 * (i + 1), 0);
  ot_result_free(&r);
}

TEST(float_div_by_zero_is_ieee) {
  const shape s = S(4);
  const float a[] = {1, -1, 0, 2}, b[] = {0, 0, 0, -0.0f};
  ot_result r;
  REQUIRE(run2(TFL_OP_DIV, TFL_ACT_NONE, TFL_FLOAT32, &s, a, &s, b, &r) == TFL_OK);
  const float *y = ot_f32(&r, 0);
  CHECK(isinf(y[0]) && y[0] > 0);
  CHECK(isinf(y[1]) && y[1] < 0);
  CHECK(isnan(y[2]));
  CHECK(isinf(y[3]) && y[3] < 0);
  ot_result_free(&r);
}

TEST(float_floor_ops_by_zero) {
  const shape s = S(2);
  const float a[] = {1, 2}, b[] = {3, 0};
  ot_result r;
  CHECK_EQ_INT(run2(TFL_OP_FLOOR_DIV, 0, TFL_FLOAT32, &s, a, &s, b, &r), TFL_ERROR);
  CHECK(strstr(r.error, "division by zero") != NULL);
  ot_result_free(&r);
  REQUIRE(run2(TFL_OP_FLOOR_MOD, 0, TFL_FLOAT32, &s, a, &s, b, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], 1, 0);
  CHECK(isnan(ot_f32(&r, 0)[1]));
  ot_result_free(&r);
}

TEST(float_floor_div_mod_signs) {
  const shape s = S(4);
  const float a[] = {7, -7, 7, -7}, b[] = {2, 2, -2, -2};
  const float want_div[] = {3, -4, -4, 3}, want_mod[] = {1, 1, -1, -1};
  ot_result r;
  REQUIRE(run2(TFL_OP_FLOOR_DIV, 0, TFL_FLOAT32, &s, a, &s, b, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want_div[i], 0);
  ot_result_free(&r);
  REQUIRE(run2(TFL_OP_FLOOR_MOD, 0, TFL_FLOAT32, &s, a, &s, b, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want_mod[i], 0);
  ot_result_free(&r);
}

TEST(maximum_minimum_nan) {
  /* TFLite: x > y ? x : y, so a NaN in the second operand wins and one in the first loses. */
  const shape s = S(2);
  const float a[] = {NAN, 1}, b[] = {1, NAN};
  ot_result r;
  REQUIRE(run2(TFL_OP_MAXIMUM, 0, TFL_FLOAT32, &s, a, &s, b, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 0)[0], 1, 0);
  CHECK(isnan(ot_f32(&r, 0)[1]));
  ot_result_free(&r);
}

/* --- integer types ---------------------------------------------------------------------- */

static tfl_status run_i32(int op, int act, const shape *sa, const int32_t *a, const shape *sb,
                          const int32_t *b, ot_result *r) {
  return run2(op, act, TFL_INT32, sa, a, sb, b, r);
}

static void check_i32(int op, int act, const int32_t *a, const int32_t *b, const int32_t *want,
                      int n) {
  shape s = {1, {n}};
  ot_result r;
  tfl_status st = run_i32(op, act, &s, a, &s, b, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "op %d: %s", op, r.error);
  if (st == TFL_OK) {
    const int32_t *y = r.out[0].data;
    for (int i = 0; i < n; i++) {
      if (y[i] != want[i])
        test_fail(__FILE__, __LINE__, "op %d act %d element %d: %d != %d", op, act, i,
                  (int)y[i], (int)want[i]);
    }
  }
  ot_result_free(&r);
}

TEST(int32_arithmetic) {
  const int32_t a[] = {7, -7, 7, -7, INT32_MAX, 100}, b[] = {2, 2, -2, -2, 1, 3};
  check_i32(TFL_OP_ADD, 0, a, b, (const int32_t[]){9, -5, 5, -9, INT32_MIN, 103}, 6);
  check_i32(TFL_OP_SUB, 0, a, b, (const int32_t[]){5, -9, 9, -5, INT32_MAX - 1, 97}, 6);
  check_i32(TFL_OP_MUL, 0, a, b, (const int32_t[]){14, -14, -14, 14, INT32_MAX, 300}, 6);
  check_i32(TFL_OP_DIV, 0, a, b, (const int32_t[]){3, -3, -3, 3, INT32_MAX, 33}, 6);
  check_i32(TFL_OP_FLOOR_DIV, 0, a, b, (const int32_t[]){3, -4, -4, 3, INT32_MAX, 33}, 6);
  check_i32(TFL_OP_FLOOR_MOD, 0, a, b, (const int32_t[]){1, 1, -1, -1, 0, 1}, 6);
  check_i32(TFL_OP_MAXIMUM, 0, a, b, (const int32_t[]){7, 2, 7, -2, INT32_MAX, 100}, 6);
  check_i32(TFL_OP_MINIMUM, 0, a, b, (const int32_t[]){2, -7, -2, -7, 1, 3}, 6);
  /* (2^31 - 2)^2 wraps to 4 in 32 bits. */
  check_i32(TFL_OP_SQUARED_DIFFERENCE, 0, a, b, (const int32_t[]){25, 81, 81, 25, 4, 9409}, 6);
}

TEST(int32_min_over_minus_one) {
  /* Traps in TFLite; here DIV saturates (as its int64 quotient is clamped) and FLOOR_DIV
   * wraps. Neither crashes. */
  const int32_t a[] = {INT32_MIN, INT32_MIN}, b[] = {-1, 1};
  check_i32(TFL_OP_DIV, 0, a, b, (const int32_t[]){INT32_MAX, INT32_MIN}, 2);
  check_i32(TFL_OP_FLOOR_DIV, 0, a, b, (const int32_t[]){INT32_MIN, INT32_MIN}, 2);
  check_i32(TFL_OP_FLOOR_MOD, 0, a, b, (const int32_t[]){0, 0}, 2);
}

TEST(int32_activations) {
  const int32_t a[] = {-5, 0, 3, 9}, b[] = {1, 0, 1, 1};
  check_i32(TFL_OP_ADD, TFL_ACT_RELU, a, b, (const int32_t[]){0, 0, 4, 10}, 4);
  check_i32(TFL_OP_ADD, TFL_ACT_RELU6, a, b, (const int32_t[]){0, 0, 4, 6}, 4);
  check_i32(TFL_OP_ADD, TFL_ACT_RELU_N1_TO_1, a, b, (const int32_t[]){-1, 0, 1, 1}, 4);
  check_i32(TFL_OP_ADD, TFL_ACT_TANH, a, b, (const int32_t[]){-4, 0, 4, 10}, 4);
  check_i32(TFL_OP_MUL, TFL_ACT_RELU6, a, b, (const int32_t[]){0, 0, 3, 6}, 4);
  check_i32(TFL_OP_SUB, TFL_ACT_RELU, a, b, (const int32_t[]){0, 0, 2, 8}, 4);
}

TEST(int32_pow) {
  const int32_t a[] = {2, -3, 0, 5, 1000}, b[] = {10, 3, 0, 1, 5};
  check_i32(TFL_OP_POW, 0, a, b, (const int32_t[]){1024, -27, 1, 5, INT32_MAX}, 5);
  shape s = S(2);
  ot_result r;
  CHECK_EQ_INT(run_i32(TFL_OP_POW, 0, &s, (const int32_t[]){2, 2}, &s, (const int32_t[]){1, -1},
                       &r),
               TFL_ERROR);
  CHECK(strstr(r.error, "negative") != NULL);
  ot_result_free(&r);
}

TEST(int32_broadcast) {
  const shape sa = S(2, 3), sb = S(2, 1);
  const int32_t a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, -10};
  ot_result r;
  REQUIRE(run_i32(TFL_OP_SUB, 0, &sa, a, &sb, b, &r) == TFL_OK);
  const int32_t want[] = {-9, -8, -7, 14, 15, 16};
  CHECK_EQ_INT(r.out[0].ndim, 2);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((const int32_t *)r.out[0].data)[i], want[i]);
  ot_result_free(&r);
}

TEST(int_division_by_zero_fails_cleanly) {
  static const int ops[] = {TFL_OP_DIV, TFL_OP_FLOOR_DIV, TFL_OP_FLOOR_MOD};
  const shape s = S(3);
  const int32_t a[] = {1, 2, 3}, b[] = {1, 0, 2};
  for (int o = 0; o < 3; o++) {
    ot_result r;
    CHECK_EQ_INT(run_i32(ops[o], 0, &s, a, &s, b, &r), TFL_ERROR);
    CHECK(strstr(r.error, "division by zero") != NULL);
    ot_result_free(&r);
  }
}

TEST(int64_and_small_int_types) {
  const shape s = S(3);
  const int64_t a[] = {INT64_MAX, -5, 1LL << 40}, b[] = {1, 3, 1LL << 40};
  ot_result r;
  REQUIRE(run2(TFL_OP_ADD, 0, TFL_INT64, &s, a, &s, b, &r) == TFL_OK);
  const int64_t *y = r.out[0].data;
  CHECK(y[0] == INT64_MIN && y[1] == -2 && y[2] == (1LL << 41));
  ot_result_free(&r);
  REQUIRE(run2(TFL_OP_FLOOR_MOD, 0, TFL_INT64, &s, a, &s, b, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == 0 && y[1] == 1 && y[2] == 0);
  ot_result_free(&r);

  const int8_t a8[] = {-128, 5, 127}, b8[] = {0, 6, -1};
  REQUIRE(run2(TFL_OP_MAXIMUM, 0, TFL_INT8, &s, a8, &s, b8, &r) == TFL_OK);
  const int8_t *y8 = r.out[0].data;
  CHECK(y8[0] == 0 && y8[1] == 6 && y8[2] == 127);
  ot_result_free(&r);
  const uint8_t au[] = {0, 200, 255}, bu[] = {1, 100, 255};
  REQUIRE(run2(TFL_OP_MINIMUM, 0, TFL_UINT8, &s, au, &s, bu, &r) == TFL_OK);
  const uint8_t *yu = r.out[0].data;
  CHECK(yu[0] == 0 && yu[1] == 100 && yu[2] == 255);
  ot_result_free(&r);
  const int16_t a16[] = {-7, 7, 9}, b16[] = {2, -2, 3};
  REQUIRE(run2(TFL_OP_FLOOR_DIV, 0, TFL_INT16, &s, a16, &s, b16, &r) == TFL_OK);
  const int16_t *y16 = r.out[0].data;
  CHECK(y16[0] == -4 && y16[1] == -4 && y16[2] == 3);
  ot_result_free(&r);
}

/* --- zero sizes and errors ----------------------------------------------------------------- */

TEST(zero_size_tensors) {
  static const shape zp[][3] = {
      {S(0, 3), S(3), S(0, 3)},
      {S(2, 0), S(2, 1), S(2, 0)},
      {S(1), S(0), S(0)},
      {S(0), {0, {0}}, S(0)},
  };
  const float one[] = {1, 2, 3, 4};
  for (int c = 0; c < 4; c++) {
    ot_result r;
    tfl_status st = run2(TFL_OP_ADD, TFL_ACT_RELU, TFL_FLOAT32, &zp[c][0], one, &zp[c][1], one, &r);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "case %d: %s", c, r.error);
    if (st == TFL_OK) {
      CHECK_EQ_INT(r.out[0].ndim, zp[c][2].ndim);
      for (int i = 0; i < zp[c][2].ndim; i++) CHECK_EQ_INT(r.out[0].dims[i], zp[c][2].dims[i]);
      CHECK_EQ_INT(r.out[0].bytes, 0);
    }
    ot_result_free(&r);
  }
}

TEST(incompatible_shapes) {
  const shape sa = S(2, 3), sb = S(4);
  const float a[6] = {0}, b[4] = {0};
  ot_result r;
  CHECK(run2(TFL_OP_ADD, 0, TFL_FLOAT32, &sa, a, &sb, b, &r) != TFL_OK);
  CHECK(strstr(r.error, "[2,3]") != NULL);
  CHECK(strstr(r.error, "[4]") != NULL);
  ot_result_free(&r);
}

TEST(type_errors) {
  const int32_t d2[] = {2};
  const float f[] = {1, 2};
  const int32_t i[] = {1, 2};
  const uint8_t bools[] = {1, 0};
  ot_result r;
  {
    ot_spec in[2] = {OT_F32(1, d2, f), OT_IN(TFL_INT32, 1, d2, i)};
    ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
    CHECK(ot_run(TFL_OP_ADD, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
    CHECK(strstr(r.error, "different types") != NULL);
    ot_result_free(&r);
  }
  {
    ot_spec in[2] = {OT_F32(1, d2, f), OT_F32(1, d2, f)};
    ot_spec out[1] = {OT_OUT(TFL_INT32)};
    CHECK(ot_run(TFL_OP_SUB, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
    ot_result_free(&r);
  }
  {
    ot_spec in[2] = {OT_IN(TFL_BOOL, 1, d2, bools), OT_IN(TFL_BOOL, 1, d2, bools)};
    ot_spec out[1] = {OT_OUT(TFL_BOOL)};
    CHECK_EQ_INT(ot_run(TFL_OP_ADD, 1, in, 2, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
    ot_result_free(&r);
  }
  {
    const int64_t l[] = {1, 2};
    ot_spec in[2] = {OT_IN(TFL_INT64, 1, d2, l), OT_IN(TFL_INT64, 1, d2, l)};
    ot_spec out[1] = {OT_OUT(TFL_INT64)};
    CHECK_EQ_INT(ot_run(TFL_OP_DIV, 1, in, 2, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
    ot_result_free(&r);
  }
}

TEST(quantized_add_is_unsupported_for_now) {
  const int32_t d2[] = {2};
  const int8_t q[] = {1, 2};
  const float scale[] = {0.5f};
  const int64_t zp[] = {0};
  ot_spec in[2] = {OT_IN(TFL_INT8, 1, d2, q), OT_IN(TFL_INT8, 1, d2, q)};
  in[0].q_count = in[1].q_count = 1;
  in[0].scales = in[1].scales = scale;
  in[0].zero_points = in[1].zero_points = zp;
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_ADD, 1, in, 2, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "quantized") != NULL);
  ot_result_free(&r);
}

TEST(bad_activation_and_io) {
  const shape s = S(2);
  const float a[] = {1, 2};
  ot_result r;
  CHECK(run2(TFL_OP_ADD, 9, TFL_FLOAT32, &s, a, &s, a, &r) != TFL_OK);
  ot_result_free(&r);
  const int32_t d2[] = {2};
  ot_spec in[1] = {OT_F32(1, d2, a)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  CHECK(ot_run(TFL_OP_MUL, 1, in, 1, out, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
  mb_field wrong[] = {MB_BYTE(0, 0), MB_FIELDS_END};
  ot_spec in2[2] = {OT_F32(1, d2, a), OT_F32(1, d2, a)};
  CHECK(ot_run(TFL_OP_ADD, 1, in2, 2, out, 1, TFL_OPTS_MUL, wrong, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(broadcast_all_ops_float);
  RUN(every_fused_activation);
  RUN(add_hand_computed);
  RUN(constant_operand);
  RUN(float_div_by_zero_is_ieee);
  RUN(float_floor_ops_by_zero);
  RUN(float_floor_div_mod_signs);
  RUN(maximum_minimum_nan);
  RUN(int32_arithmetic);
  RUN(int32_min_over_minus_one);
  RUN(int32_activations);
  RUN(int32_pow);
  RUN(int32_broadcast);
  RUN(int_division_by_zero_fails_cleanly);
  RUN(int64_and_small_int_types);
  RUN(zero_size_tensors);
  RUN(incompatible_shapes);
  RUN(type_errors);
  RUN(quantized_add_is_unsupported_for_now);
  RUN(bad_activation_and_io);
  return test_summary();
}
