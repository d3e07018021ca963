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

static tfl_status run2_threads(int op, int act, tfl_type type, const shape *sa, const void *a,
                               const shape *sb, const void *b, int threads, ot_result *r) {
  ot_spec in[2] = {OT_IN(type, sa->ndim, sa->dims, a), OT_IN(type, sb->ndim, sb->dims, b)};
  ot_spec out[1] = {OT_OUT(type)};
  mb_field opt[] = {MB_BYTE(0, act), MB_FIELDS_END};
  const int ot = act_options(op);
  const ot_op spec = {.builtin_code = op, .version = 1, .options_type = ot,
                      .options = ot ? opt : NULL, .threads = threads};
  return ot_run_op(&spec, in, 2, out, 1, r);
}

static tfl_status run2(int op, int act, tfl_type type, const shape *sa, const void *a,
                       const shape *sb, const void *b, ot_result *r) {
  return run2_threads(op, act, type, sa, a, sb, b, 1, r);
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

/* The broadcast output shape of sa and sb into so. */
static void broadcast_shape(const shape *sa, const shape *sb, shape *so) {
  int nd = sa->ndim > sb->ndim ? sa->ndim : sb->ndim;
  so->ndim = nd;
  for (int i = 0; i < nd; i++) {
    int32_t da = i < nd - sa->ndim ? 1 : sa->dims[i - (nd - sa->ndim)];
    int32_t db = i < nd - sb->ndim ? 1 : sb->dims[i - (nd - sb->ndim)];
    so->dims[i] = (da == 0 || db == 0) ? 0 : (da > db ? da : db);
  }
}

/* The elements of a and b that output element `lin` combines, located from the aligned
 * coordinates. */
static void broadcast_indices(const shape *sa, const shape *sb, const shape *so, size_t lin,
                              size_t *ia, size_t *ib) {
  int nd = so->ndim;
  size_t rem = lin, ma = 1, mb = 1;
  *ia = *ib = 0;
  for (int i = nd - 1; i >= 0; i--) {
    int32_t da = i < nd - sa->ndim ? 1 : sa->dims[i - (nd - sa->ndim)];
    int32_t db = i < nd - sb->ndim ? 1 : sb->dims[i - (nd - sb->ndim)];
    size_t c = rem % (size_t)so->dims[i];
    rem /= (size_t)so->dims[i];
    *ia += (da == 1 ? 0 : c) * ma;
    *ib += (db == 1 ? 0 : c) * mb;
    ma *= (size_t)da;
    mb *= (size_t)db;
  }
}

/* out[idx] = f(a[...], b[...]) visiting every output index. */
static void ref_broadcast(int op, int act, const shape *sa, const float *a, const shape *sb,
                          const float *b, shape *so, float *out) {
  broadcast_shape(sa, sb, so);
  size_t total = shape_count(so);
  for (size_t lin = 0; lin < total; lin++) {
    size_t ia, ib;
    broadcast_indices(sa, sb, so, lin, &ia, &ib);
    out[lin] = ref_act(act, ref_op(op, a[ia], b[ib]));
  }
}

static void check_float_threads(int op, int act, const shape *sa, const shape *sb, unsigned seed,
                                int threads) {
  const int divides = op == TFL_OP_DIV || op == TFL_OP_FLOOR_DIV || op == TFL_OP_FLOOR_MOD;
  const int is_pow = op == TFL_OP_POW;
  size_t na = shape_count(sa), nb = shape_count(sb);
  float *a = values(na, seed, is_pow ? 0.1f : -4.0f, 4.0f, 0);
  float *b = values(nb, seed + 99, is_pow ? -2.0f : -4.0f, is_pow ? 2.0f : 4.0f, divides);
  shape so;
  broadcast_shape(sa, sb, &so);
  float *want = malloc((shape_count(&so) + 1) * sizeof(float));
  ref_broadcast(op, act, sa, a, sb, b, &so, want);
  ot_result r;
  tfl_status st = run2_threads(op, act, TFL_FLOAT32, sa, a, sb, b, threads, &r);
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

static void check_float_case(int op, int act, const shape *sa, const shape *sb, unsigned seed) {
  check_float_threads(op, act, sa, sb, seed, 1);
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

/* Outputs of several chunks split over two threads: chunk edges fall inside runs, runs of
 * one element, one long run, broadcast either side. */
TEST(large_outputs_on_two_threads) {
  static const shape big[][2] = {
      {S(70001), S(1)},            /* one run, split */
      {S(1, 130, 131, 3), S(3)},   /* runs of 3 */
      {S(3, 100, 203), S(3, 1, 203)},
      {S(5, 40000), S(5, 1)},      /* the second operand fixed along each run */
      {S(40000, 1), S(1, 2)},      /* runs of 2 from an outer product */
  };
  for (size_t p = 0; p < sizeof(big) / sizeof(big[0]); p++) {
    check_float_threads(TFL_OP_ADD, TFL_ACT_RELU6, &big[p][0], &big[p][1], 700u + (unsigned)p, 2);
    check_float_threads(TFL_OP_SUB, TFL_ACT_NONE, &big[p][1], &big[p][0], 800u + (unsigned)p, 2);
  }
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
    CHECK(ot_run(TFL_OP_MUL, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
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

/* --- quantized ADD, SUB, MUL -------------------------------------------------------------- */

typedef struct qparam {
  float scale;
  int64_t zp;
} qparam;

static ot_spec qspec(tfl_type type, const shape *sh, const void *data, const qparam *q) {
  ot_spec s = {.type = type, .q_count = 1, .scales = &q->scale, .zero_points = &q->zp};
  if (sh) {
    s.ndim = sh->ndim;
    s.dims = sh->dims;
    s.data = data;
  }
  return s;
}

/* Runs a quantized binary op. pot < 0: no builtin options (unless act is set); otherwise the
 * options carry pot_scale_int16 = pot. */
static tfl_status run2q(int op, int act, int pot, tfl_type type, const shape *sa, const void *a,
                        const qparam *qa, const shape *sb, const void *b, const qparam *qb,
                        const qparam *qo, ot_result *r) {
  ot_spec in[2] = {qspec(type, sa, a, qa), qspec(type, sb, b, qb)};
  ot_spec out[1] = {qspec(type, NULL, NULL, qo)};
  mb_field opt[] = {MB_BYTE(0, act), MB_BYTE(1, pot > 0), MB_FIELDS_END};
  if (pot < 0) opt[1] = (mb_field)MB_FIELDS_END;
  if (pot < 0 && act == TFL_ACT_NONE) return ot_run(op, 1, in, 2, out, 1, 0, NULL, r);
  return ot_run(op, 1, in, 2, out, 1, act_options(op), opt, r);
}

TEST(quantized_add_hand_computed) {
  const shape s4 = S(4);
  /* uint8 with zero points at both ends of the range: 0.5 (a - 255) + 0.25 b on scale 1,
   * zero point 128 */
  const uint8_t a[] = {255, 0, 251, 200};
  const uint8_t b[] = {0, 255, 2, 10};
  const qparam qa = {0.5f, 255}, qb = {0.25f, 0}, qo = {1.0f, 128};
  ot_result r;
  REQUIRE(run2q(TFL_OP_ADD, TFL_ACT_NONE, -1, TFL_UINT8, &s4, a, &qa, &s4, b, &qb, &qo, &r) ==
          TFL_OK);
  const uint8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], 128); /* 0 */
  CHECK_EQ_INT(y[1], 64);  /* -127.5 + 63.75 = -63.75 */
  CHECK_EQ_INT(y[2], 126); /* -2 + 0.5 = -1.5: ties go away from zero */
  CHECK_EQ_INT(y[3], 103); /* -27.5 + 2.5 */
  ot_result_free(&r);
  /* int8: saturation, and the RELU clamp at the output zero point */
  const int8_t c[] = {127, -128, -10, 5};
  const qparam q1 = {1.0f, 0};
  REQUIRE(run2q(TFL_OP_ADD, TFL_ACT_RELU, -1, TFL_INT8, &s4, c, &q1, &s4, c, &q1, &q1, &r) ==
          TFL_OK);
  const int8_t *z = r.out[0].data;
  CHECK_EQ_INT(z[0], 127); /* 254 */
  CHECK_EQ_INT(z[1], 0);   /* -256 */
  CHECK_EQ_INT(z[2], 0);   /* -20 */
  CHECK_EQ_INT(z[3], 10);
  ot_result_free(&r);
}

TEST(quantized_sub_and_mul_hand_computed) {
  const shape s3 = S(3), s1 = S(1);
  const int8_t a[] = {-128, 0, 100};
  const int8_t b[] = {10};
  const qparam qa = {0.5f, -128}, qb = {0.5f, 0}, qo = {0.25f, 3};
  ot_result r;
  /* SUB, broadcasting b: 0.5 (a + 128) - 5 on scale 0.25 = -20, 236, 436 (+3, saturated) */
  REQUIRE(run2q(TFL_OP_SUB, TFL_ACT_NONE, -1, TFL_INT8, &s3, a, &qa, &s1, b, &qb, &qo, &r) ==
          TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], -17);
  CHECK_EQ_INT(y[1], 127);
  CHECK_EQ_INT(y[2], 127);
  ot_result_free(&r);
  /* MUL: 0.5 (a + 128) * 5 on scale 16, zero point -100: 0, 20, 35.625 */
  const qparam qm = {16.0f, -100};
  REQUIRE(run2q(TFL_OP_MUL, TFL_ACT_NONE, -1, TFL_INT8, &s3, a, &qa, &s1, b, &qb, &qm, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -100);
  CHECK_EQ_INT(y[1], -80);
  CHECK_EQ_INT(y[2], -64);
  ot_result_free(&r);
}

TEST(quantized_int16_paths) {
  const shape s4 = S(4);
  const int16_t a[] = {32767, -32768, 1000, -3};
  const int16_t b[] = {32767, -32768, 3, -3};
  ot_result r;
  /* Power-of-two scales: input 1 on the output's scale, input 2 twice as fine, so b is halved
   * (ties away from zero) and the sum saturates. */
  const qparam q15 = {1.0f / 32768, 0}, q16 = {1.0f / 65536, 0};
  REQUIRE(run2q(TFL_OP_ADD, TFL_ACT_NONE, 1, TFL_INT16, &s4, a, &q15, &s4, b, &q16, &q15, &r) ==
          TFL_OK);
  const int16_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], 32767);
  CHECK_EQ_INT(y[1], -32768);
  CHECK_EQ_INT(y[2], 1002); /* 1000 + 1.5 */
  CHECK_EQ_INT(y[3], -5);   /* -3 - 1.5 */
  ot_result_free(&r);
  REQUIRE(run2q(TFL_OP_SUB, TFL_ACT_NONE, 1, TFL_INT16, &s4, a, &q15, &s4, b, &q16, &q15, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], 16383); /* 32767 - 16383.5 */
  CHECK_EQ_INT(y[1], -16384);
  CHECK_EQ_INT(y[2], 998);
  CHECK_EQ_INT(y[3], -1);
  ot_result_free(&r);
  /* General scales (pot_scale_int16 false): 0.5 a + 0.25 b on scale 1 */
  const qparam qh = {0.5f, 0}, qq = {0.25f, 0}, q1 = {1.0f, 0};
  REQUIRE(run2q(TFL_OP_ADD, TFL_ACT_NONE, 0, TFL_INT16, &s4, a, &qh, &s4, b, &qq, &q1, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], 24575); /* 24575.25 */
  CHECK_EQ_INT(y[1], -24576);
  CHECK_EQ_INT(y[2], 501); /* 500.75 */
  CHECK_EQ_INT(y[3], -2);  /* -2.25 */
  ot_result_free(&r);
  /* The same scales with pot_scale_int16 true but non-power-of-two output: general path */
  const qparam q3 = {3.0f, 0};
  REQUIRE(run2q(TFL_OP_ADD, TFL_ACT_NONE, 1, TFL_INT16, &s4, a, &qh, &s4, b, &qq, &q3, &r) ==
          TFL_OK);
  CHECK_EQ_INT(((const int16_t *)r.out[0].data)[0], 8192); /* 8191.75 */
  ot_result_free(&r);
  /* MUL: 0.5 a * 0.25 b on scale 8192 = a b / 65536 */
  const qparam q8k = {8192.0f, 0};
  REQUIRE(run2q(TFL_OP_MUL, TFL_ACT_NONE, -1, TFL_INT16, &s4, a, &qh, &s4, b, &qq, &q8k, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], 16383);
  CHECK_EQ_INT(y[1], 16384);
  CHECK_EQ_INT(y[2], 0);
  CHECK_EQ_INT(y[3], 0);
  ot_result_free(&r);
  /* int16 needs zero points 0 */
  const qparam qz = {0.5f, 1};
  CHECK(run2q(TFL_OP_MUL, TFL_ACT_NONE, -1, TFL_INT16, &s4, a, &qz, &s4, b, &qq, &q8k, &r) !=
        TFL_OK);
  CHECK(strstr(r.error, "zero point") != NULL);
  ot_result_free(&r);
}

TEST(quantized_squared_difference) {
  /* int8 (0.5, zp 0) both, out (1, zp -100): (0.5 x - 0.5 y)^2 */
  const shape s3 = S(3);
  const int8_t x[] = {10, -128, 3};
  const int8_t y[] = {4, 127, 0};
  const qparam qi = {0.5f, 0}, qo = {1.0f, -100};
  ot_result r;
  REQUIRE(run2q(TFL_OP_SQUARED_DIFFERENCE, TFL_ACT_NONE, -1, TFL_INT8, &s3, x, &qi, &s3, y, &qi,
                &qo, &r) == TFL_OK);
  const int8_t *z = r.out[0].data;
  CHECK_EQ_INT(z[0], -91);  /* 9 */
  CHECK_EQ_INT(z[1], 127);  /* 16256 saturates */
  CHECK_EQ_INT(z[2], -98);  /* 2.25 */
  ot_result_free(&r);
  /* uint8 has no quantized SQUARED_DIFFERENCE in TFLite */
  const uint8_t u[] = {1, 2, 3};
  const qparam qu = {0.5f, 0};
  CHECK_EQ_INT(run2q(TFL_OP_SQUARED_DIFFERENCE, TFL_ACT_NONE, -1, TFL_UINT8, &s3, u, &qu, &s3, u,
                     &qu, &qu, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

TEST(int16_without_quantization_wraps_then_clamps) {
  const int32_t d3[] = {3};
  const int16_t a[] = {32767, -32768, 300};
  const int16_t b[] = {1, -1, 300};
  ot_spec in[2] = {OT_IN(TFL_INT16, 1, d3, a), OT_IN(TFL_INT16, 1, d3, b)};
  ot_spec out[1] = {OT_OUT(TFL_INT16)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_ADD, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  const int16_t *y = r.out[0].data;
  CHECK(y[0] == -32768 && y[1] == 32767 && y[2] == 600);
  ot_result_free(&r);
  mb_field relu6[] = {MB_BYTE(0, TFL_ACT_RELU6), MB_FIELDS_END};
  REQUIRE(ot_run(TFL_OP_MUL, 1, in, 2, out, 1, TFL_OPTS_MUL, relu6, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == 6 && y[1] == 0 && y[2] == 6); /* 90000 wraps to 24464, then 6 */
  ot_result_free(&r);
}

/* The real-number result of a quantized op, before it is put on the output scale. */
static double real_result(int op, double x, double y) {
  return op == TFL_OP_ADD ? x + y : (op == TFL_OP_SUB ? x - y : x * y);
}

static int32_t raw_get(tfl_type t, const void *p, size_t i) {
  if (t == TFL_UINT8) return ((const uint8_t *)p)[i];
  if (t == TFL_INT8) return ((const int8_t *)p)[i];
  return ((const int16_t *)p)[i];
}

static void raw_set(tfl_type t, void *p, size_t i, int32_t v) {
  if (t == TFL_UINT8) ((uint8_t *)p)[i] = (uint8_t)v;
  else if (t == TFL_INT8) ((int8_t *)p)[i] = (int8_t)v;
  else ((int16_t *)p)[i] = (int16_t)v;
}

/* Random values, scales, zero points and broadcasts against the double-precision result,
 * skipping results near a rounding boundary: within 1e-3 for ADD/SUB (whose inputs gain 20
 * or 15 bits before rescaling), within the multiplier s1 s2 / s_out plus 1e-3 for MUL, whose
 * product is rescaled directly and so rounds twice (first to an integer multiple of
 * 2^shift). */
static void check_quantized_random(int op, tfl_type type, unsigned seed) {
  static const shape qpairs[][2] = {{S(2, 3, 4), S(2, 3, 4)}, {S(2, 3, 4), S(4)},
                                    {S(3, 1), S(1, 5)},       {S(1), S(2, 2, 2)},
                                    {S(2, 1, 3), S(2, 4, 1)}};
  const int is16 = type == TFL_INT16;
  const int32_t lo = type == TFL_UINT8 ? 0 : (type == TFL_INT8 ? -128 : -32768);
  const int32_t hi = type == TFL_UINT8 ? 255 : (type == TFL_INT8 ? 127 : 32767);
  uint32_t st = seed * 2654435761u + 1u;
#define NEXT() (st = st * 1664525u + 1013904223u, st >> 8)
  for (size_t p = 0; p < sizeof(qpairs) / sizeof(qpairs[0]); p++) {
    const shape *sa = &qpairs[p][0], *sb = &qpairs[p][1];
    int16_t a[64], b[64];
    for (size_t i = 0; i < shape_count(sa); i++)
      raw_set(type, a, i, lo + (int32_t)(NEXT() % (uint32_t)(hi - lo + 1)));
    for (size_t i = 0; i < shape_count(sb); i++)
      raw_set(type, b, i, lo + (int32_t)(NEXT() % (uint32_t)(hi - lo + 1)));
    const qparam qa = {0.002f + (float)(NEXT() % 1000) / 1000.0f,
                       is16 ? 0 : lo + (int32_t)(NEXT() % 256)};
    const qparam qb = {0.002f + (float)(NEXT() % 1000) / 1000.0f,
                       is16 ? 0 : lo + (int32_t)(NEXT() % 256)};
    /* an output scale that keeps most results in range */
    const double span = (double)(hi - lo);
    const double out_scale = op == TFL_OP_MUL ? qa.scale * qb.scale * span / 3.0
                                              : (qa.scale + qb.scale) / 1.5;
    const qparam qo = {(float)out_scale, is16 ? 0 : lo + (int32_t)(NEXT() % 256)};
    ot_result r;
    if (run2q(op, TFL_ACT_NONE, 0, type, sa, a, &qa, sb, b, &qb, &qo, &r) != TFL_OK) {
      test_fail(__FILE__, __LINE__, "op %d type %s pair %zu: %s", op, tfl_type_name(type), p,
                r.error);
      ot_result_free(&r);
      continue;
    }
    const double margin =
        1e-3 + (op == TFL_OP_MUL ? (double)qa.scale * qb.scale / qo.scale : 0.0);
    shape so;
    broadcast_shape(sa, sb, &so);
    for (size_t i = 0; i < shape_count(&so); i++) {
      size_t ia, ib;
      broadcast_indices(sa, sb, &so, i, &ia, &ib);
      const double x = (double)qa.scale * (raw_get(type, a, ia) - qa.zp);
      const double y = (double)qb.scale * (raw_get(type, b, ib) - qb.zp);
      const double v = real_result(op, x, y) / (double)qo.scale;
      if (fabs(v - floor(v) - 0.5) < margin) continue;
      double q = round(v) + (double)qo.zp;
      q = q < lo ? lo : (q > hi ? hi : q);
      if (raw_get(type, r.out[0].data, i) != (int32_t)q) {
        test_fail(__FILE__, __LINE__, "op %d %s pair %zu element %zu: got %d, want %d (%.4f)",
                  op, tfl_type_name(type), p, i, (int)raw_get(type, r.out[0].data, i), (int)q, v);
        break;
      }
    }
    ot_result_free(&r);
  }
#undef NEXT
}

TEST(quantized_random_against_real_arithmetic) {
  const int ops[] = {TFL_OP_ADD, TFL_OP_SUB, TFL_OP_MUL};
  const tfl_type types[] = {TFL_UINT8, TFL_INT8, TFL_INT16};
  for (int o = 0; o < 3; o++)
    for (int t = 0; t < 3; t++)
      for (unsigned seed = 1; seed <= 6; seed++) check_quantized_random(ops[o], types[t], seed);
}

TEST(quantized_output_takes_input_type) {
  /* TFLite's ADD and SUB give the output the inputs' type (MUL does not) */
  const shape s2 = S(2);
  const int8_t a[] = {1, 2};
  const qparam q = {0.5f, 0};
  ot_spec in[2] = {qspec(TFL_INT8, &s2, a, &q), qspec(TFL_INT8, &s2, a, &q)};
  ot_spec out[1] = {qspec(TFL_FLOAT32, NULL, NULL, &q)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_ADD, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].type, TFL_INT8);
  CHECK(((const int8_t *)r.out[0].data)[1] == 4);
  ot_result_free(&r);
  CHECK(ot_run(TFL_OP_MUL, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

TEST(quantized_errors) {
  const shape s2 = S(2);
  const int8_t a[] = {1, 2};
  const qparam good = {0.5f, 0}, zero = {0.0f, 0}, tiny = {1e-9f, 0};
  ot_result r;
  /* a scale of 0 (or no quantization at all) on an 8-bit input */
  CHECK(run2q(TFL_OP_ADD, TFL_ACT_NONE, -1, TFL_INT8, &s2, a, &zero, &s2, a, &good, &good, &r) ==
        TFL_ERROR);
  CHECK(strstr(r.error, "scale") != NULL);
  ot_result_free(&r);
  /* an ADD output scale so small that TFLite's output multiplier reaches 1 */
  CHECK(run2q(TFL_OP_ADD, TFL_ACT_NONE, -1, TFL_INT8, &s2, a, &good, &s2, a, &good, &tiny, &r) ==
        TFL_ERROR);
  CHECK(strstr(r.error, "too small") != NULL);
  ot_result_free(&r);
  /* fused TANH has no quantized form */
  CHECK_EQ_INT(run2q(TFL_OP_ADD, TFL_ACT_TANH, -1, TFL_INT8, &s2, a, &good, &s2, a, &good, &good,
                     &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
  /* power-of-two int16 scales where neither input is on the output's scale */
  const int16_t h[] = {1, 2};
  const qparam q14 = {1.0f / 16384, 0}, q16 = {1.0f / 65536, 0}, q15 = {1.0f / 32768, 0};
  CHECK(run2q(TFL_OP_ADD, TFL_ACT_NONE, 1, TFL_INT16, &s2, h, &q16, &s2, h, &q16, &q15, &r) ==
        TFL_ERROR);
  ot_result_free(&r);
  CHECK(run2q(TFL_OP_SUB, TFL_ACT_NONE, 1, TFL_INT16, &s2, h, &q14, &s2, h, &q15, &q15, &r) ==
        TFL_ERROR);
  ot_result_free(&r);
  /* quantized DIV is not implemented */
  const uint8_t u[] = {1, 2};
  CHECK_EQ_INT(run2q(TFL_OP_DIV, TFL_ACT_NONE, -1, TFL_UINT8, &s2, u, &good, &s2, u, &good, &good,
                     &r),
               TFL_UNSUPPORTED);
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
  RUN(large_outputs_on_two_threads);
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
  RUN(quantized_add_hand_computed);
  RUN(quantized_sub_and_mul_hand_computed);
  RUN(quantized_int16_paths);
  RUN(quantized_squared_difference);
  RUN(int16_without_quantization_wraps_then_clamps);
  RUN(quantized_random_against_real_arithmetic);
  RUN(quantized_output_takes_input_type);
  RUN(quantized_errors);
  RUN(bad_activation_and_io);
  return test_summary();
}
