/* AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D: hand-computed cases, many shapes and options
 * against naive pools in double written independently below (the 8-bit ones at every CPU level
 * the machine has, the portable kernels included), then bad models. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/check_util.h"
#include "util/cpu_levels.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

typedef struct pool_cfg {
  int op; /* TFL_OP_AVERAGE_POOL_2D, TFL_OP_MAX_POOL_2D or TFL_OP_L2_POOL_2D */
  int32_t in[4];
  int filter_h, filter_w;
  int padding; /* 0 SAME, 1 VALID */
  int stride_h, stride_w;
  int act;
} pool_cfg;

static const int all_pools[3] = {TFL_OP_AVERAGE_POOL_2D, TFL_OP_MAX_POOL_2D, TFL_OP_L2_POOL_2D};

/* The output shape of a case, and its top and left padding. */
static void geometry(const pool_cfg *c, int32_t od[4], int32_t *pt, int32_t *pl) {
  od[0] = c->in[0];
  od[1] = ck_window_out_size(c->padding, c->in[1], c->filter_h, c->stride_h, 1);
  od[2] = ck_window_out_size(c->padding, c->in[2], c->filter_w, c->stride_w, 1);
  od[3] = c->in[3];
  *pt = ck_window_pad(c->in[1], od[1], c->filter_h, c->stride_h, 1);
  *pl = ck_window_pad(c->in[2], od[2], c->filter_w, c->stride_w, 1);
}

/* Pools over the in-bounds values of each window. */
static double *ref_pool(const pool_cfg *c, const float *x, int32_t od[4]) {
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  double *y = calloc(ck_count(4, od) + 1, sizeof(double));
  for (int32_t n = 0; n < N; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t ch = 0; ch < C; ch++) {
          double sum = 0, sq = 0, mx = -INFINITY;
          int cnt = 0;
          for (int ky = 0; ky < c->filter_h; ky++)
            for (int kx = 0; kx < c->filter_w; kx++) {
              int32_t iy = oy * c->stride_h - pt + ky, ix = ox * c->stride_w - pl + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              double v = x[((n * H + iy) * W + ix) * C + ch];
              sum += v;
              sq += v * v;
              if (v > mx) mx = v;
              cnt++;
            }
          double r = c->op == TFL_OP_AVERAGE_POOL_2D ? sum / cnt
                     : c->op == TFL_OP_MAX_POOL_2D   ? mx
                                                     : sqrt(sq / cnt);
          y[((n * od[1] + oy) * od[2] + ox) * C + ch] = ck_float_activation(c->act, r);
        }
  return y;
}

static tfl_status run_pool(const pool_cfg *c, const float *x, ot_result *r) {
  ot_spec in[1] = {OT_F32(4, c->in, x)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_BYTE(0, c->padding), MB_INT(1, c->stride_w), MB_INT(2, c->stride_h),
                    MB_INT(3, c->filter_w), MB_INT(4, c->filter_h), MB_BYTE(5, c->act),
                    MB_FIELDS_END};
  return ot_run(c->op, 1, in, 1, out, 1, TFL_OPTS_POOL_2D, opt, r);
}

static void check_against_reference(const pool_cfg *c, unsigned seed) {
  float *x = qr_random_floats(ck_count(4, c->in), seed, 8.0f);
  int32_t od[4];
  double *want = ref_pool(c, x, od);
  ot_result r;
  memset(&r, 0, sizeof(r));
  tfl_status st = run_pool(c, x, &r);
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "op %d seed %u: %s", c->op, seed, r.error);
  if (st == TFL_OK) ck_f32_output(&r, 0, 4, od, want, 1e-5);
  ot_result_free(&r);
  free(x);
  free(want);
}

/* 2x2 input, 2x2 window, SAME stride 1: windows at the right and bottom edges cover fewer
 * values, and the average divides by the number covered. */
TEST(same_edges_exclude_padding_by_hand) {
  const float x[4] = {1, 2, 3, 4};
  const float want[3][4] = {{2.5f, 3, 3.5f, 4},
                            {4, 4, 4, 4},
                            {(float)sqrt(7.5), (float)sqrt(10.0), (float)sqrt(12.5), 4}};
  for (int k = 0; k < 3; k++) {
    pool_cfg c = {all_pools[k], {1, 2, 2, 1}, 2, 2, 0, 1, 1, TFL_ACT_NONE};
    ot_result r;
    REQUIRE(run_pool(&c, x, &r) == TFL_OK);
    for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[k][i], 1e-6);
    ot_result_free(&r);
  }
}

TEST(max_of_negative_values_by_hand) {
  const float x[4] = {-5, -3, -4, -9};
  pool_cfg c = {TFL_OP_MAX_POOL_2D, {1, 2, 2, 1}, 2, 2, 1, 2, 2, TFL_ACT_NONE};
  ot_result r;
  REQUIRE(run_pool(&c, x, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 1);
  CHECK_NEAR(ot_f32(&r, 0)[0], -3.0f, 0);
  ot_result_free(&r);
}

TEST(matches_reference_over_shapes_and_options) {
  static const pool_cfg shapes[] = {
      {0, {1, 4, 4, 1}, 2, 2, 1, 2, 2, TFL_ACT_NONE},
      {0, {2, 5, 5, 3}, 3, 3, 0, 1, 1, TFL_ACT_NONE},
      {0, {2, 5, 5, 3}, 3, 3, 1, 1, 1, TFL_ACT_NONE},
      {0, {1, 6, 7, 4}, 3, 2, 0, 2, 2, TFL_ACT_NONE},
      {0, {1, 8, 8, 2}, 3, 3, 0, 2, 2, TFL_ACT_NONE}, /* even input, odd window */
      {0, {1, 7, 9, 2}, 2, 4, 1, 3, 2, TFL_ACT_NONE},
      {0, {3, 1, 6, 5}, 1, 3, 0, 1, 3, TFL_ACT_NONE},
      {0, {1, 3, 3, 2}, 5, 5, 0, 1, 1, TFL_ACT_NONE}, /* window larger than the input */
  };
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
      pool_cfg c = shapes[i];
      c.op = all_pools[k];
      check_against_reference(&c, 100u * (unsigned)k + (unsigned)i);
    }
}

TEST(every_fused_activation) {
  for (int k = 0; k < 3; k++)
    for (int act = TFL_ACT_NONE; act <= TFL_ACT_SIGN_BIT; act++) {
      pool_cfg c = {all_pools[k], {2, 5, 4, 3}, 2, 2, 0, 2, 1, act};
      check_against_reference(&c, 500u + 10u * (unsigned)k + (unsigned)act);
    }
}

static void check_fails(const pool_cfg *c, tfl_status expected) {
  float *x = qr_random_floats(ck_count(4, c->in), 1, 1.0f);
  ot_result r;
  memset(&r, 0, sizeof(r));
  CHECK_EQ_INT(run_pool(c, x, &r), expected);
  CHECK(r.error[0] != '\0');
  ot_result_free(&r);
  free(x);
}

TEST(bad_options_are_errors) {
  for (int k = 0; k < 3; k++) {
    const pool_cfg zero_stride = {all_pools[k], {1, 4, 4, 1}, 2, 2, 0, 0, 1, TFL_ACT_NONE};
    const pool_cfg zero_filter = {all_pools[k], {1, 4, 4, 1}, 2, 0, 0, 1, 1, TFL_ACT_NONE};
    const pool_cfg bad_padding = {all_pools[k], {1, 4, 4, 1}, 2, 2, 3, 1, 1, TFL_ACT_NONE};
    const pool_cfg bad_act = {all_pools[k], {1, 4, 4, 1}, 2, 2, 0, 1, 1, 6};
    check_fails(&zero_stride, TFL_INVALID_MODEL);
    check_fails(&zero_filter, TFL_INVALID_MODEL);
    check_fails(&bad_padding, TFL_INVALID_MODEL);
    check_fails(&bad_act, TFL_INVALID_MODEL);
  }
}

TEST(rank_and_types_are_checked) {
  const float x[16] = {0};
  int32_t dims3[3] = {4, 4, 1};
  ot_spec in3[1] = {OT_F32(3, dims3, x)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field opt[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 2), MB_INT(4, 2), MB_FIELDS_END};
  ot_result r;
  CHECK(ot_run(TFL_OP_MAX_POOL_2D, 1, in3, 1, out, 1, TFL_OPTS_POOL_2D, opt, &r) != TFL_OK);
  CHECK(strstr(r.error, "4-D") != NULL);
  ot_result_free(&r);

  const int8_t xq[16] = {0};
  const float scale[1] = {1.0f};
  const int64_t zp[1] = {0};
  int32_t dims4[4] = {1, 4, 4, 1};
  ot_spec inq[1] = {OT_IN(TFL_INT8, 4, dims4, xq)};
  inq[0].q_count = 1;
  inq[0].scales = scale;
  inq[0].zero_points = zp;
  ot_spec outq[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  /* TFLite has no quantized L2 pool */
  CHECK_EQ_INT(ot_run(TFL_OP_L2_POOL_2D, 1, inq, 1, outq, 1, TFL_OPTS_POOL_2D, opt, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);

  const int32_t xi[16] = {0};
  ot_spec ini[1] = {OT_IN(TFL_INT32, 4, dims4, xi)};
  ot_spec outi[1] = {OT_OUT(TFL_INT32)};
  CHECK_EQ_INT(ot_run(TFL_OP_MAX_POOL_2D, 1, ini, 1, outi, 1, TFL_OPTS_POOL_2D, opt, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

/* ---- quantized paths ----------------------------------------------------------------------
 * The codes are pooled directly (TFLite expects equal input and output quantization): the
 * average is the sum over the in-bounds taps divided by their count, rounded half away from
 * zero; both pools clamp to the fused activation's range on the output's codes. */

typedef struct qpool_case {
  pool_cfg c;
  tfl_type type;
  float scale;
  int32_t zp;
} qpool_case;

/* Runs the pool with TFL_CPU = cpu (NULL: as it is) on `threads` threads. */
static tfl_status run_qpool_at(const qpool_case *q, const void *x, const char *cpu, int threads,
                               ot_result *r) {
  const int64_t zp[1] = {q->zp};
  ot_spec in[1] = {{.type = q->type, .ndim = 4, .dims = q->c.in, .data = x, .q_count = 1,
                    .scales = &q->scale, .zero_points = zp}};
  ot_spec out[1] = {{.type = q->type, .q_count = 1, .scales = &q->scale, .zero_points = zp}};
  mb_field opt[] = {MB_BYTE(0, q->c.padding), MB_INT(1, q->c.stride_w), MB_INT(2, q->c.stride_h),
                    MB_INT(3, q->c.filter_w), MB_INT(4, q->c.filter_h), MB_BYTE(5, q->c.act),
                    MB_FIELDS_END};
  const ot_op op = {.builtin_code = q->c.op, .version = 1, .options_type = TFL_OPTS_POOL_2D,
                    .options = opt, .threads = threads, .cpu = cpu};
  return ot_run_op(&op, in, 1, out, 1, r);
}

static tfl_status run_qpool(const qpool_case *q, const void *x, ot_result *r) {
  return run_qpool_at(q, x, NULL, 1, r);
}

/* The levels the 8-bit pools run at below: the portable kernels and each vector level the
 * machine has, or only the one TFL_CPU names when it is set. */
static int qpool_levels(const char *cpus[CK_MAX_CPU_LEVELS]) {
  if (!getenv("TFL_CPU")) return ck_cpu_levels(cpus);
  cpus[0] = NULL;
  return 1;
}

/* The naive pools on codes, in int64. */
static int64_t *ref_qpool(const qpool_case *q, const int64_t *x, int32_t od[4]) {
  const pool_cfg *c = &q->c;
  const int32_t N = c->in[0], H = c->in[1], W = c->in[2], C = c->in[3];
  int32_t pt, pl;
  geometry(c, od, &pt, &pl);
  int64_t lo, hi;
  qr_act_range(c->act, q->type, q->scale, q->zp, &lo, &hi);
  int64_t *y = calloc(ck_count(4, od) + 1, sizeof(int64_t));
  for (int32_t n = 0; n < N; n++)
    for (int32_t oy = 0; oy < od[1]; oy++)
      for (int32_t ox = 0; ox < od[2]; ox++)
        for (int32_t ch = 0; ch < C; ch++) {
          int64_t sum = 0, mx = INT64_MIN, cnt = 0;
          for (int ky = 0; ky < c->filter_h; ky++)
            for (int kx = 0; kx < c->filter_w; kx++) {
              int32_t iy = oy * c->stride_h - pt + ky, ix = ox * c->stride_w - pl + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const int64_t v = x[((n * H + iy) * W + ix) * C + ch];
              sum += v;
              mx = v > mx ? v : mx;
              cnt++;
            }
          /* half away from zero: |sum| / cnt rounded half up, with sum's sign */
          const int64_t mag = ((sum < 0 ? -sum : sum) * 2 + cnt) / (2 * cnt);
          int64_t v = c->op == TFL_OP_MAX_POOL_2D ? mx : sum < 0 ? -mag : mag;
          v = v < lo ? lo : v > hi ? hi : v;
          y[((n * od[1] + oy) * od[2] + ox) * C + ch] = v;
        }
  return y;
}

/* Runs the case at every level of qpool_levels (on two threads for odd seeds) against the
 * naive pool. */
static void check_quantized(const qpool_case *q, unsigned seed) {
  int64_t lo, hi;
  qr_type_range(q->type, &lo, &hi);
  int64_t *x = qr_random_ints(ck_count(4, q->c.in), seed, lo, hi);
  void *xp = qr_pack(q->type, x, ck_count(4, q->c.in));
  int32_t od[4];
  int64_t *want = ref_qpool(q, x, od);
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = qpool_levels(cpus);
  for (int l = 0; l < levels && test_failures_in_current == 0; l++) {
    const char *cpu = cpus[l] ? cpus[l] : "as set";
    ot_result r;
    memset(&r, 0, sizeof(r));
    tfl_status st = run_qpool_at(q, xp, cpus[l], 1 + (int)(seed % 2), &r);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "seed %u %s: %s", seed, cpu, r.error);
    if (st == TFL_OK) {
      for (int i = 0; i < 4; i++) CHECK_EQ_INT(r.out[0].dims[i], od[i]);
      for (size_t i = 0; i < ck_count(4, od) && test_failures_in_current == 0; i++)
        if (qr_code_at(q->type, r.out[0].data, i) != want[i])
          test_fail(__FILE__, __LINE__, "seed %u %s element %zu: got %lld, want %lld", seed, cpu,
                    i, (long long)qr_code_at(q->type, r.out[0].data, i), (long long)want[i]);
    }
    ot_result_free(&r);
  }
  free(x);
  free(xp);
  free(want);
}

/* 1x2 windows over {-1, -2}, {1, 2}, {-3, 4}, {-5, -5}: means -1.5 -> -2, 1.5 -> 2, 0.5 -> 1,
 * -5; and three-tap windows with SAME padding at the edge. */
TEST(quantized_average_rounds_half_away_from_zero_by_hand) {
  const int8_t x[8] = {-1, -2, 1, 2, -3, 4, -5, -5};
  qpool_case q = {{TFL_OP_AVERAGE_POOL_2D, {1, 1, 8, 1}, 1, 2, 1, 1, 2, TFL_ACT_NONE},
                  TFL_INT8, 0.5f, 0};
  ot_result r;
  REQUIRE(run_qpool(&q, x, &r) == TFL_OK);
  const int8_t want[4] = {-2, 2, 1, -5};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((int8_t *)r.out[0].data)[i], want[i]);
  ot_result_free(&r);

  /* 1x3 SAME stride 1 on {-1, -1, -2, 7}: windows {-1,-1} (padding excluded) = -1,
   * {-1,-1,-2} = -4/3 -> -1, {-1,-2,7} = 4/3 -> 1, {-2,7} = 2.5 -> 3 */
  const int8_t y[4] = {-1, -1, -2, 7};
  qpool_case s = {{TFL_OP_AVERAGE_POOL_2D, {1, 1, 4, 1}, 1, 3, 0, 1, 1, TFL_ACT_NONE},
                  TFL_INT8, 0.5f, 0};
  REQUIRE(run_qpool(&s, y, &r) == TFL_OK);
  const int8_t want_same[4] = {-1, -1, 1, 3};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((int8_t *)r.out[0].data)[i], want_same[i]);
  ot_result_free(&r);
}

/* uint8 at the ends of the range: {0, 1} -> 1 (0.5 rounds up), {254, 255} -> 255. */
TEST(quantized_uint8_average_by_hand) {
  const uint8_t x[4] = {0, 1, 254, 255};
  qpool_case q = {{TFL_OP_AVERAGE_POOL_2D, {1, 1, 4, 1}, 1, 2, 1, 1, 2, TFL_ACT_NONE},
                  TFL_UINT8, 1.0f, 0};
  ot_result r;
  REQUIRE(run_qpool(&q, x, &r) == TFL_OK);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[0], 1);
  CHECK_EQ_INT(((uint8_t *)r.out[0].data)[1], 255);
  ot_result_free(&r);
}

/* Fused RELU6 on uint8 with scale 0.1 and zero point 10: codes clamp to [10, 70]. */
TEST(quantized_max_relu6_uint8_by_hand) {
  const uint8_t x[6] = {3, 9, 40, 200, 255, 12};
  qpool_case q = {{TFL_OP_MAX_POOL_2D, {1, 1, 6, 1}, 1, 2, 1, 1, 2, TFL_ACT_RELU6},
                  TFL_UINT8, 0.1f, 10};
  ot_result r;
  REQUIRE(run_qpool(&q, x, &r) == TFL_OK);
  const uint8_t want[3] = {10, 70, 70};
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(((uint8_t *)r.out[0].data)[i], want[i]);
  ot_result_free(&r);
}

TEST(quantized_matches_reference) {
  static const qpool_case cases[] = {
      {{TFL_OP_AVERAGE_POOL_2D, {2, 7, 6, 3}, 3, 3, 0, 2, 2, TFL_ACT_NONE}, TFL_UINT8, 0.1f, 0},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 8, 8, 5}, 2, 3, 1, 2, 1, TFL_ACT_RELU}, TFL_UINT8, 0.1f, 255},
      {{TFL_OP_AVERAGE_POOL_2D, {2, 6, 7, 4}, 3, 2, 0, 1, 2, TFL_ACT_RELU6}, TFL_INT8, 0.05f,
       -128},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 9, 9, 2}, 9, 9, 1, 1, 1, TFL_ACT_NONE}, TFL_INT8, 0.5f, 127},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 5, 6, 3}, 3, 3, 0, 1, 1, TFL_ACT_RELU_N1_TO_1}, TFL_INT16,
       0.0001f, 0},
      {{TFL_OP_MAX_POOL_2D, {2, 7, 6, 3}, 3, 3, 0, 2, 2, TFL_ACT_NONE}, TFL_UINT8, 0.1f, 128},
      {{TFL_OP_MAX_POOL_2D, {1, 8, 8, 5}, 2, 3, 1, 2, 1, TFL_ACT_RELU6}, TFL_INT8, 0.03f, -100},
      {{TFL_OP_MAX_POOL_2D, {1, 6, 6, 2}, 4, 4, 0, 3, 3, TFL_ACT_RELU}, TFL_INT16, 0.001f, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_quantized(&cases[i], 1200u + (unsigned)i);
}

/* Channel counts that fill the 8-bit vector kernels' blocks (32 and 8 with AVX2, 16 and 8
 * with NEON) and leave tails, MobileNet's global 7x7 average, and windows of thousands of taps
 * (the float division's range). */
TEST(quantized_vector_blocks_match_reference) {
  static const qpool_case cases[] = {
      {{TFL_OP_AVERAGE_POOL_2D, {1, 7, 7, 1280}, 7, 7, 1, 1, 1, TFL_ACT_NONE}, TFL_UINT8, 0.02f,
       0},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 7, 7, 1280}, 7, 7, 1, 1, 1, TFL_ACT_NONE}, TFL_INT8, 0.02f,
       -128},
      {{TFL_OP_AVERAGE_POOL_2D, {2, 9, 8, 45}, 3, 3, 0, 2, 2, TFL_ACT_RELU6}, TFL_UINT8, 0.05f,
       20},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 6, 7, 77}, 2, 3, 0, 1, 2, TFL_ACT_RELU}, TFL_INT8, 0.1f, 3},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 5, 5, 8}, 5, 5, 0, 1, 1, TFL_ACT_NONE}, TFL_INT8, 0.1f, 0},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 100, 100, 40}, 100, 100, 1, 1, 1, TFL_ACT_NONE}, TFL_INT8,
       0.1f, 0},
      {{TFL_OP_AVERAGE_POOL_2D, {1, 90, 60, 33}, 90, 60, 1, 1, 1, TFL_ACT_NONE}, TFL_UINT8, 0.1f,
       0},
      {{TFL_OP_MAX_POOL_2D, {2, 9, 8, 45}, 3, 3, 0, 2, 2, TFL_ACT_RELU6}, TFL_INT8, 0.05f, -20},
      {{TFL_OP_MAX_POOL_2D, {1, 6, 7, 72}, 2, 2, 1, 2, 2, TFL_ACT_NONE}, TFL_UINT8, 0.1f, 7},
      {{TFL_OP_MAX_POOL_2D, {1, 4, 4, 35}, 3, 3, 0, 1, 1, TFL_ACT_RELU}, TFL_INT8, 0.1f, 5},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_quantized(&cases[i], 1300u + (unsigned)i);
}

/* Sums at the ends of the range, where the float division has the least room: every tap
 * -128 or 255 (or most) over windows of 1 to 2550 taps, and halves that round away from zero;
 * window rows of more than 256 taps too (NEON sums up to 256 codes in 16-bit lanes). Every
 * level of qpool_levels. */
TEST(quantized_average_extremes_match_reference) {
  static const int32_t windows[][2] = {{1, 1}, {2, 2},   {3, 3},   {7, 7},
                                       {15, 15}, {50, 51}, {1, 600}, {3, 257}};
  /* int8 for the first three, uint8 for the last two */
  static const int64_t values[5][2] = {{-128, 127}, {-128, -127}, {-128, -128}, {0, 255},
                                       {255, 255}};
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = qpool_levels(cpus);
  for (size_t k = 0; k < sizeof(windows) / sizeof(windows[0]); k++)
    for (int t = 0; t < 5; t++) {
      const int32_t fh = windows[k][0], fw = windows[k][1];
      qpool_case q = {{TFL_OP_AVERAGE_POOL_2D, {1, fh, fw + 1, 40}, fh, fw, 1, 1, 1,
                       TFL_ACT_NONE},
                      t >= 3 ? TFL_UINT8 : TFL_INT8, 0.1f, 0};
      const size_t n = (size_t)fh * (size_t)(fw + 1) * 40;
      int64_t *x = malloc(n * sizeof(int64_t));
      for (size_t i = 0; i < n; i++) x[i] = values[t][(i / 40 + i % 40) % 7 == 0];
      void *xp = qr_pack(q.type, x, n);
      int32_t od[4];
      int64_t *want = ref_qpool(&q, x, od);
      for (int l = 0; l < levels; l++) {
        ot_result r;
        REQUIRE(run_qpool_at(&q, xp, cpus[l], 1, &r) == TFL_OK);
        for (size_t i = 0; i < ck_count(4, od); i++)
          if (qr_code_at(q.type, r.out[0].data, i) != want[i]) {
            test_fail(__FILE__, __LINE__, "%s window %dx%d values %d: element %zu = %lld, want "
                      "%lld", cpus[l] ? cpus[l] : "as set", (int)fh, (int)fw, t, i,
                      (long long)qr_code_at(q.type, r.out[0].data, i), (long long)want[i]);
            break;
          }
        ot_result_free(&r);
      }
      free(x);
      free(xp);
      free(want);
    }
}

/* Every channel count from 1 to 40 and a few up to 100: the blocks of 32, 16 and 8 and what
 * they leave (one by one, or overlapping blocks), both pools, both types, padding SAME and
 * VALID, with and without a clamp. */
TEST(quantized_channel_tails_match_reference) {
  static const int32_t extra[] = {47, 48, 49, 63, 65, 96, 100};
  unsigned seed = 1400u;
  for (int32_t ci = 1; ci <= 40 + (int32_t)(sizeof(extra) / sizeof(extra[0])); ci++) {
    const int32_t C = ci <= 40 ? ci : extra[ci - 41];
    for (int v = 0; v < 4; v++) {
      const int max = v & 1, int8 = v >> 1;
      const qpool_case q = {{max ? TFL_OP_MAX_POOL_2D : TFL_OP_AVERAGE_POOL_2D,
                             {1 + (int32_t)(C % 2), 5, 6, C}, 3, 2, (int)(C % 2), 2, 1,
                             C % 3 == 0 ? TFL_ACT_RELU6 : TFL_ACT_NONE},
                            int8 ? TFL_INT8 : TFL_UINT8, 0.05f, int8 ? -10 : 100};
      check_quantized(&q, seed++);
    }
  }
}

int main(void) {
  RUN(same_edges_exclude_padding_by_hand);
  RUN(max_of_negative_values_by_hand);
  RUN(matches_reference_over_shapes_and_options);
  RUN(every_fused_activation);
  RUN(bad_options_are_errors);
  RUN(rank_and_types_are_checked);
  RUN(quantized_average_rounds_half_away_from_zero_by_hand);
  RUN(quantized_uint8_average_by_hand);
  RUN(quantized_max_relu6_uint8_by_hand);
  RUN(quantized_matches_reference);
  RUN(quantized_vector_blocks_match_reference);
  RUN(quantized_average_extremes_match_reference);
  RUN(quantized_channel_tails_match_reference);
  return test_summary();
}
