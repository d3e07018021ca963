/* MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL: every op over many
 * axis sets against a naive reduction that visits all input elements for each output, keep
 * dims on and off, negative and duplicate axes, int64 axes, a runtime axis tensor, integer
 * semantics, empty reductions, scalars and errors. Quantized MEAN (TFLite's optimized spatial
 * path and its reference path, which round differently) and SUM worked out by hand, random
 * quantized MEANs against the double result, int16, and raw MAX/MIN. The vector kernels
 * (8-bit sums and MEAN's rescale, kernels/qreduce.h) at every CPU level the machine has: the
 * op against the scalar level, the rescale against the formula written out with 64-bit
 * arithmetic here. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qreduce.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/check_util.h"
#include "util/cpu_levels.h"
#include "util/op_runner.h"
#include "util/quant_ref.h"
#include "util/test.h"

typedef struct rcase {
  int ndim;
  int32_t dims[TFL_MAX_DIMS];
  int naxes;
  int32_t axes[8];
} rcase;

static tfl_status run_reduce(int op, tfl_type type, int ndim, const int32_t *dims, const void *x,
                             tfl_type axis_type, int naxes, const void *axes, int axis_const,
                             int keep_dims, ot_result *r) {
  const int32_t adims[] = {naxes};
  ot_spec in[2] = {OT_IN(type, ndim, dims, x), OT_IN(axis_type, 1, adims, axes)};
  in[1].constant = axis_const;
  ot_spec out[1] = {OT_OUT(type)};
  mb_field opt[] = {MB_BYTE(0, keep_dims), MB_FIELDS_END};
  return ot_run(op, 1, in, 2, out, 1, TFL_OPTS_REDUCER, opt, r);
}

/* Reduced-axis flags, resolved independently of the kernel. */
static void resolve(const rcase *c, int reduced[TFL_MAX_DIMS]) {
  memset(reduced, 0, TFL_MAX_DIMS * sizeof(int));
  for (int i = 0; i < c->naxes; i++) reduced[(c->axes[i] + c->ndim) % c->ndim] = 1;
}

/* For output element `o` (in the kept axes' row-major order), folds every input element
 * whose kept coordinates match, in increasing input order. */
static double ref_reduce(int op, const rcase *c, const float *x, size_t o, size_t *used) {
  int reduced[TFL_MAX_DIMS];
  resolve(c, reduced);
  size_t n = ck_count(c->ndim, c->dims);
  float acc = op == TFL_OP_REDUCE_PROD ? 1.0f
              : op == TFL_OP_REDUCE_MAX ? -FLT_MAX
              : op == TFL_OP_REDUCE_MIN ? FLT_MAX
                                        : 0.0f;
  *used = 0;
  for (size_t lin = 0; lin < n; lin++) {
    size_t rem = lin, oi = 0, mult = 1;
    for (int i = c->ndim - 1; i >= 0; i--) {
      size_t coord = rem % (size_t)c->dims[i];
      rem /= (size_t)c->dims[i];
      if (!reduced[i]) {
        oi += coord * mult;
        mult *= (size_t)c->dims[i];
      }
    }
    if (oi != o) continue;
    (*used)++;
    float v = x[lin];
    switch (op) {
      case TFL_OP_REDUCE_PROD:
        acc *= v;
        break;
      case TFL_OP_REDUCE_MAX:
        acc = v > acc ? v : acc;
        break;
      case TFL_OP_REDUCE_MIN:
        acc = v < acc ? v : acc;
        break;
      default:
        acc += v;
    }
  }
  return op == TFL_OP_MEAN ? acc / (float)*used : acc;
}

static void check_float(int op, const rcase *c, int keep_dims, int axis_const) {
  size_t n = ck_count(c->ndim, c->dims);
  float *x = malloc((n + 1) * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((int)((i * 29 + 3) % 17) - 8) * (op == TFL_OP_REDUCE_PROD ? 0.15f : 0.37f);
  ot_result r;
  tfl_status st = run_reduce(op, TFL_FLOAT32, c->ndim, c->dims, x, TFL_INT32, c->naxes, c->axes,
                             axis_const, keep_dims, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, __LINE__, "op %d: %s", op, r.error);
    free(x);
    return;
  }
  int reduced[TFL_MAX_DIMS], k = 0;
  resolve(c, reduced);
  size_t out_n = 1;
  for (int i = 0; i < c->ndim; i++) {
    if (!reduced[i]) {
      CHECK_EQ_INT(r.out[0].dims[k++], c->dims[i]);
      out_n *= (size_t)c->dims[i];
    } else if (keep_dims) {
      CHECK_EQ_INT(r.out[0].dims[k++], 1);
    }
  }
  CHECK_EQ_INT(r.out[0].ndim, k);
  for (size_t o = 0; o < out_n; o++) {
    size_t used;
    double want = ref_reduce(op, c, x, o, &used);
    CHECK_NEAR(ot_f32(&r, 0)[o], want, 1e-6 * (1 + fabs(want)));
  }
  ot_result_free(&r);
  free(x);
}

static const rcase cases[] = {
    {4, {1, 4, 4, 3}, 2, {1, 2}},       /* MEAN over H,W of NHWC */
    {4, {2, 3, 4, 5}, 1, {-1}},         /* last axis, negative */
    {4, {2, 3, 4, 5}, 2, {0, 2}},       /* alternating */
    {4, {2, 3, 4, 5}, 3, {1, -3, 1}},   /* duplicates */
    {4, {2, 3, 4, 5}, 4, {3, 2, 1, 0}}, /* everything */
    {3, {3, 1, 4}, 1, {1}},             /* a size-1 axis */
    {3, {3, 1, 4}, 2, {0, 2}},
    {2, {5, 7}, 0, {0}},                /* no axes: a copy */
    {5, {2, 1, 3, 2, 2}, 2, {2, 4}},
    {1, {9}, 1, {0}},
};

static const int float_ops[] = {TFL_OP_MEAN, TFL_OP_SUM, TFL_OP_REDUCE_PROD, TFL_OP_REDUCE_MAX,
                                TFL_OP_REDUCE_MIN};

TEST(float_ops_all_axis_sets) {
  for (size_t o = 0; o < 5; o++)
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
      for (int keep = 0; keep < 2; keep++) check_float(float_ops[o], &cases[c], keep, 1);
}

TEST(runtime_axis_tensor_makes_dynamic_output) {
  for (size_t o = 0; o < 5; o++)
    for (size_t c = 0; c < 4; c++) check_float(float_ops[o], &cases[c], c % 2, 0);
}

TEST(hand_computed_mean) {
  const int32_t dims[] = {1, 2, 2, 2};
  const float x[] = {1, 10, 2, 20, 3, 30, 4, 40};
  const int64_t axes[] = {1, 2};
  ot_result r;
  REQUIRE(run_reduce(TFL_OP_MEAN, TFL_FLOAT32, 4, dims, x, TFL_INT64, 2, axes, 1, 1, &r) ==
          TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 4);
  CHECK_EQ_INT(r.out[0].dims[1], 1);
  CHECK_EQ_INT(r.out[0].dims[3], 2);
  CHECK_NEAR(ot_f32(&r, 0)[0], 2.5, 0);
  CHECK_NEAR(ot_f32(&r, 0)[1], 25, 0);
  ot_result_free(&r);
}

TEST(integer_semantics) {
  const int32_t dims[] = {2, 2};
  const int32_t axes[] = {1};
  ot_result r;
  const int32_t a[] = {-3, -4, INT32_MAX, INT32_MAX};
  REQUIRE(run_reduce(TFL_OP_MEAN, TFL_INT32, 2, dims, a, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  const int32_t *y = r.out[0].data;
  CHECK_EQ_INT(y[0], -3); /* -3.5 truncated */
  CHECK_EQ_INT(y[1], INT32_MAX); /* summed in int64 */
  ot_result_free(&r);
  REQUIRE(run_reduce(TFL_OP_SUM, TFL_INT32, 2, dims, a, TFL_INT32, 1, axes, 1, 0, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -7);
  CHECK_EQ_INT(y[1], -2); /* wraps */
  ot_result_free(&r);
  const int32_t p[] = {-3, 5, 65536, 65536};
  REQUIRE(run_reduce(TFL_OP_REDUCE_PROD, TFL_INT32, 2, dims, p, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -15);
  CHECK_EQ_INT(y[1], 0); /* 2^32 wraps */
  ot_result_free(&r);
  REQUIRE(run_reduce(TFL_OP_REDUCE_MIN, TFL_INT32, 2, dims, a, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK_EQ_INT(y[0], -4);
  CHECK_EQ_INT(y[1], INT32_MAX);
  ot_result_free(&r);

  const int64_t l[] = {INT64_MAX, 1, -7, 2};
  REQUIRE(run_reduce(TFL_OP_MEAN, TFL_INT64, 2, dims, l, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  const int64_t *yl = r.out[0].data;
  CHECK(yl[0] == INT64_MIN / 2); /* the int64 sum wraps, as in TFLite */
  CHECK(yl[1] == -2);
  ot_result_free(&r);
  REQUIRE(run_reduce(TFL_OP_REDUCE_MAX, TFL_INT64, 2, dims, l, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  yl = r.out[0].data;
  CHECK(yl[0] == INT64_MAX && yl[1] == 2);
  ot_result_free(&r);
}

TEST(any_all) {
  const int32_t dims[] = {3, 2};
  const uint8_t b[] = {0, 0, 1, 0, 1, 1};
  const int32_t axes[] = {1};
  ot_result r;
  REQUIRE(run_reduce(TFL_OP_REDUCE_ANY, TFL_BOOL, 2, dims, b, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  const uint8_t *y = r.out[0].data;
  CHECK(y[0] == 0 && y[1] == 1 && y[2] == 1);
  ot_result_free(&r);
  REQUIRE(run_reduce(TFL_OP_REDUCE_ALL, TFL_BOOL, 2, dims, b, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == 0 && y[1] == 0 && y[2] == 1);
  ot_result_free(&r);
}

TEST(empty_reductions_give_identities) {
  const int32_t dims[] = {2, 0, 3};
  const int32_t axes[] = {1};
  ot_result r;
  static const int ops[] = {TFL_OP_SUM, TFL_OP_REDUCE_PROD, TFL_OP_REDUCE_MAX,
                            TFL_OP_REDUCE_MIN, TFL_OP_MEAN};
  static const float want[] = {0.0f, 1.0f, -FLT_MAX, FLT_MAX, NAN};
  for (int o = 0; o < 5; o++) {
    tfl_status st = run_reduce(ops[o], TFL_FLOAT32, 3, dims, NULL, TFL_INT32, 1, axes, 1, 0, &r);
    if (st != TFL_OK) test_fail(__FILE__, __LINE__, "op %d: %s", ops[o], r.error);
    if (st == TFL_OK) {
      CHECK_EQ_INT(r.out[0].ndim, 2);
      CHECK_EQ_INT(r.out[0].dims[0], 2);
      CHECK_EQ_INT(r.out[0].dims[1], 3);
      for (int i = 0; i < 6; i++) {
        float v = ot_f32(&r, 0)[i];
        CHECK(isnan(want[o]) ? isnan(v) : v == want[o]);
      }
    }
    ot_result_free(&r);
  }
  REQUIRE(run_reduce(TFL_OP_MEAN, TFL_INT32, 3, dims, NULL, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((const int32_t *)r.out[0].data)[i], 0);
  ot_result_free(&r);
  REQUIRE(run_reduce(TFL_OP_REDUCE_ALL, TFL_BOOL, 3, dims, NULL, TFL_INT32, 1, axes, 1, 0, &r) ==
          TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((const uint8_t *)r.out[0].data)[i], 1);
  ot_result_free(&r);
  /* The zero-size axis kept: an empty output. */
  const int32_t axes2[] = {2};
  REQUIRE(run_reduce(TFL_OP_SUM, TFL_FLOAT32, 3, dims, NULL, TFL_INT32, 1, axes2, 1, 1, &r) ==
          TFL_OK);
  CHECK_EQ_INT(r.out[0].bytes, 0);
  CHECK_EQ_INT(r.out[0].dims[2], 1);
  ot_result_free(&r);
}

TEST(scalar_input_ignores_axes) {
  const float x = 4.5f;
  const int32_t axes[] = {0, 3};
  ot_result r;
  REQUIRE(run_reduce(TFL_OP_MEAN, TFL_FLOAT32, 0, NULL, &x, TFL_INT32, 2, axes, 1, 0, &r) ==
          TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 0);
  CHECK_NEAR(ot_f32(&r, 0)[0], 4.5, 0);
  ot_result_free(&r);
}

TEST(quantized_max_min_raw) {
  const int32_t dims[] = {2, 3};
  const int8_t q[] = {-5, 7, -128, 0, 1, 2};
  const int32_t axes[] = {-1};
  const float scale[] = {0.5f}, other[] = {0.25f};
  const int64_t zp[] = {3};
  ot_spec in[2] = {{.type = TFL_INT8, .ndim = 2, .dims = dims, .data = q, .q_count = 1,
                    .scales = scale, .zero_points = zp},
                   OT_CONST(TFL_INT32, 1, (const int32_t[]){1}, axes)};
  ot_spec out[1] = {{.type = TFL_INT8, .q_count = 1, .scales = scale, .zero_points = zp}};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_REDUCE_MAX, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == 7 && y[1] == 2);
  ot_result_free(&r);
  /* raw values move even when the output's parameters differ, as in TFLite */
  out[0].scales = other;
  REQUIRE(ot_run(TFL_OP_REDUCE_MIN, 1, in, 2, out, 1, 0, NULL, &r) == TFL_OK);
  y = r.out[0].data;
  CHECK(y[0] == -128 && y[1] == 0);
  ot_result_free(&r);
}

typedef struct qp {
  float scale;
  int64_t zp;
} qp;

static tfl_status run_reduce_q(int op, tfl_type type, int ndim, const int32_t *dims,
                               const void *x, const qp *qi, int naxes, const int32_t *axes,
                               int keep_dims, const qp *qo, ot_result *r) {
  const int32_t adims[] = {naxes};
  ot_spec in[2] = {{.type = type, .ndim = ndim, .dims = dims, .data = x, .q_count = 1,
                    .scales = &qi->scale, .zero_points = &qi->zp},
                   OT_CONST(TFL_INT32, 1, adims, axes)};
  ot_spec out[1] = {{.type = type, .q_count = 1, .scales = &qo->scale, .zero_points = &qo->zp}};
  mb_field opt[] = {MB_BYTE(0, keep_dims), MB_FIELDS_END};
  return ot_run(op, 1, in, 2, out, 1, TFL_OPTS_REDUCER, opt, r);
}

TEST(quantized_mean_two_paths) {
  /* int8 [1, 2, 1, 2] (0.5, zp 1) over H and W into (1.0, zp 0). Channel 0 holds 1, 2 (real
   * 0, 0.5: mean 0.25), channel 1 holds -3, 5 (real -2, 2: mean 0). */
  const int32_t dims[] = {1, 2, 1, 2};
  const int8_t x[] = {1, -3, 2, 5};
  const int32_t axes[] = {1, 2};
  const qp qi = {0.5f, 1}, qo = {1.0f, 0};
  ot_result r;
  /* keep_dims: TFLite's optimized kernel. bias = 0 - round(1 * 0.5 / 1) = -1 and multiplier
   * 0.5 / (2 * 1) = 0.25: channel 0 sums 3 -> 0.75 -> 1, -1 = 0; channel 1 sums 2 -> 0.5 ->
   * 1 (ties up), -1 = 0 */
  REQUIRE(run_reduce_q(TFL_OP_MEAN, TFL_INT8, 4, dims, x, &qi, 2, axes, 1, &qo, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 4);
  const int8_t *y = r.out[0].data;
  CHECK(y[0] == 0 && y[1] == 0);
  ot_result_free(&r);
  /* without keep_dims: the reference kernel. (sum - 2 * 1) times 0.5 / 2: channel 0 is
   * 1 * 0.25, computed as round(1 * 0.5) = 1 (ties up) then 1 / 2 -> 1 (ties away);
   * channel 1 is 0 */
  REQUIRE(run_reduce_q(TFL_OP_MEAN, TFL_INT8, 4, dims, x, &qi, 2, axes, 0, &qo, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 2);
  y = r.out[0].data;
  CHECK(y[0] == 1 && y[1] == 0);
  ot_result_free(&r);
  /* uint8 takes the optimized path too: (2.0, zp 128) values 130, 131, 120, 121 -> reals 4,
   * 6, -16, -14 -> means 5 and -15 on (1.0, zp 100): 105, 85 */
  const uint8_t u[] = {130, 120, 131, 121};
  const qp ui = {2.0f, 128}, uo = {1.0f, 100};
  REQUIRE(run_reduce_q(TFL_OP_MEAN, TFL_UINT8, 4, dims, u, &ui, 2, axes, 1, &uo, &r) == TFL_OK);
  const uint8_t *z = r.out[0].data;
  CHECK(z[0] == 105 && z[1] == 85);
  ot_result_free(&r);
}

TEST(quantized_mean_random_against_double) {
  /* reference-path MEANs over several axis sets. The centred sum is rescaled without extra
   * bits, so it rounds twice (first to a multiple of 2^shift): near a rounding boundary, by
   * up to the effective multiplier in_scale / (n out_scale), it may round either way. */
  const int32_t dims[] = {3, 4, 5};
  const int32_t axis_sets[][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 2}};
  int8_t x[60];
  uint32_t st = 12345u;
  for (int i = 0; i < 60; i++) {
    st = st * 1664525u + 1013904223u;
    x[i] = (int8_t)(st >> 24);
  }
  const qp qi = {0.037f, -20}, qo = {0.021f, 7};
  for (int k = 0; k < 5; k++) {
    ot_result r;
    const int32_t *axes = axis_sets[k];
    const int naxes = axes[0] == axes[1] ? 1 : 2;
    if (run_reduce_q(TFL_OP_MEAN, TFL_INT8, 3, dims, x, &qi, naxes, axes, 0, &qo, &r) != TFL_OK) {
      test_fail(__FILE__, __LINE__, "%s", r.error);
      ot_result_free(&r);
      continue;
    }
    /* naive: for every output, average the matching inputs */
    rcase c = {3, {3, 4, 5}, naxes, {axes[0], axes[1]}};
    float real[60];
    for (int i = 0; i < 60; i++) real[i] = (float)(x[i] - qi.zp);
    size_t n_out = r.out[0].bytes;
    for (size_t o = 0; o < n_out; o++) {
      size_t used;
      const double sum = ref_reduce(TFL_OP_SUM, &c, real, o, &used);
      const double v = qi.scale * sum / (double)used / qo.scale;
      const double margin = 1e-3 + qi.scale / (qo.scale * (double)used);
      if (fabs(v - floor(v) - 0.5) < margin) continue;
      double want = round(v) + (double)qo.zp;
      want = want < -128 ? -128 : (want > 127 ? 127 : want);
      CHECK_EQ_INT(((const int8_t *)r.out[0].data)[o], want);
    }
    ot_result_free(&r);
  }
}

/* The 8-bit sums and MEAN's rescale (vector loops where the CPU has them) at every vector
 * level the machine has against the portable kernels (TFL_CPU=scalar): MEAN in both forms and
 * SUM, uint8, int8 and int16, over channel counts that leave vector tails. */
static int run_reduce_q_at(const char *cpu, int op, tfl_type type, const int32_t *dims,
                           const void *x, const int32_t *axes, int keep_dims, uint8_t *out,
                           size_t *n) {
  /* int16 takes zero points 0 only; its sums are larger, so the outputs scale down more */
  const int64_t zp_in = type == TFL_INT8 ? -3 : type == TFL_UINT8 ? 125 : 0;
  const int64_t zp_out = type == TFL_INT8 ? 5 : type == TFL_UINT8 ? 131 : 0;
  const qp qi = {0.05f, zp_in}, qo = {type == TFL_INT16 ? 0.07f : 0.02f, zp_out};
  ot_cpu_env env;
  ot_cpu_set(&env, cpu);
  ot_result r;
  const tfl_status st = run_reduce_q(op, type, 4, dims, x, &qi, 2, axes, keep_dims, &qo, &r);
  ot_cpu_restore(&env);
  const int ok = st == TFL_OK && r.out[0].bytes <= *n;
  if (ok) {
    memcpy(out, r.out[0].data, r.out[0].bytes);
    *n = r.out[0].bytes;
  }
  ot_result_free(&r);
  return ok;
}

TEST(quantized_sums_match_scalar_level) {
  if (getenv("TFL_CPU")) return; /* the comparison needs the levels */
  static const int32_t shapes[][4] = {{2, 5, 6, 45}, {1, 7, 7, 160}, {1, 3, 4, 7},
                                      {1, 2, 3, 24}, {1, 3, 2, 31},  {2, 2, 2, 8},
                                      {1, 2, 2, 17}, {3, 1, 2, 1}};
  static const int32_t axis_sets[][2] = {{1, 2}, {0, 1}};
  static uint8_t x[2 * (2 * 5 * 6 * 45 + 7 * 7 * 160)], got[4096], want[4096];
  uint32_t st = 99u;
  for (size_t i = 0; i < sizeof(x); i++) {
    st = st * 1664525u + 1013904223u;
    x[i] = (uint8_t)(i % 11 == 0 ? (i % 2 ? 0x80 : 0x7f) : st >> 24);
  }
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  static const int ops[3][2] = {{TFL_OP_MEAN, 1}, {TFL_OP_MEAN, 0}, {TFL_OP_SUM, 0}};
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8, TFL_INT16};
  for (int t = 0; t < 3; t++)
    for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
      for (size_t a = 0; a < sizeof(axis_sets) / sizeof(axis_sets[0]); a++)
        for (int o = 0; o < 3; o++) {
          const tfl_type type = types[t];
          size_t n_want = sizeof(want);
          REQUIRE(run_reduce_q_at("scalar", ops[o][0], type, shapes[sh], x, axis_sets[a],
                                  ops[o][1], want, &n_want));
          for (int l = 1; l < levels; l++) {
            size_t n_got = sizeof(got);
            REQUIRE(run_reduce_q_at(cpus[l], ops[o][0], type, shapes[sh], x, axis_sets[a],
                                    ops[o][1], got, &n_got));
            CHECK_EQ_INT(n_got, n_want);
            for (size_t i = 0; i < n_got && i < n_want; i++)
              if (got[i] != want[i]) {
                test_fail(__FILE__, __LINE__,
                          "%s type %d shape %zu axes %zu op %d: output %zu = %d, want %d",
                          cpus[l], t, sh, a, o, i, got[i], want[i]);
                break;
              }
          }
        }
}

/* ---- MEAN's rescale kernels (qreduce.h) ------------------------------------------------ */

/* x / 2^k rounded down, for any sign (C's division truncates). */
static int64_t floor_div_pow2(int64_t x, int k) {
  const int64_t d = (int64_t)1 << k;
  return x >= 0 ? x / d : -((-x + d - 1) / d);
}

/* The code of `sum` as TFLite's quantized MEAN computes it, written out in 64 bits: the
 * centred sum wrapped to int32 and shifted left (wrapping; shifts capped at 31), the product
 * with the multiplier rounded to a multiple of 2^31 with ties up, the quotient divided by
 * 2^right with ties away from zero, `add` added with int32 wrap-around, then clamped. */
static int64_t mean_code(const tfl_qmean *m, int32_t sum) {
  const int left = m->shift > 0 ? (m->shift > 31 ? 31 : m->shift) : 0;
  const int right = m->shift > 0 ? 0 : (m->shift < -31 ? 31 : -m->shift);
  const uint32_t centred = (uint32_t)sum - m->subtract;
  const int64_t x = (int32_t)(uint32_t)((uint64_t)centred << left);
  const int64_t high = floor_div_pow2(x * m->multiplier + ((int64_t)1 << 30), 31);
  const int64_t half = right ? (int64_t)1 << (right - 1) : 0;
  const int64_t magnitude = ((high < 0 ? -high : high) + half) >> right;
  const int64_t v = (int32_t)(uint32_t)((uint64_t)(high < 0 ? -magnitude : magnitude) +
                                        (uint64_t)(int64_t)m->add);
  int64_t lo, hi;
  qr_type_range(m->type, &lo, &hi);
  return v < lo ? lo : v > hi ? hi : v;
}

/* Runs the rescale of CPU level `cpu` on sum[0..n) and compares with mean_code, and checks
 * that nothing past the outputs was written. Reports the first difference; returns 0 then. */
static int check_rescale(const char *cpu, const tfl_qmean *m, const int32_t *sum, size_t n) {
  const tfl_qmean_fn fn = tfl_qmean_kernel((tfl_cpu_level)tfl_cpu_level_parse(cpu));
  const size_t size = tfl_type_size(m->type);
  uint8_t *out = malloc((n + 8) * size);
  memset(out, 0xA5, (n + 8) * size);
  fn(m, out, sum, n);
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    const int64_t got = qr_code_at(m->type, out, i), want = mean_code(m, sum[i]);
    if (got != want) {
      test_fail(__FILE__, __LINE__,
                "%s %s: sum %d - %u, multiplier %d, shift %d, add %d (n %zu): %lld, want %lld",
                cpu, tfl_type_name(m->type), (int)sum[i], (unsigned)m->subtract,
                (int)m->multiplier, m->shift, (int)m->add, n, (long long)got, (long long)want);
      ok = 0;
    }
  }
  for (size_t b = n * size; b < (n + 8) * size && ok; b++)
    if (out[b] != 0xA5) {
      test_fail(__FILE__, __LINE__, "%s: n %zu: byte %zu past the outputs written", cpu, n, b);
      ok = 0;
    }
  free(out);
  return ok;
}

static tfl_qmean qmean_of(tfl_type type, int32_t multiplier, int shift, uint32_t subtract,
                          int32_t add) {
  tfl_qmean m = {.subtract = subtract, .multiplier = multiplier, .add = add, .shift = shift,
                 .type = type};
  int64_t lo, hi;
  qr_type_range(type, &lo, &hi);
  m.lo = (int32_t)lo;
  m.hi = (int32_t)hi;
  return m;
}

enum { RESCALE_SUMS = 96 };

/* Sums at and near the int32 limits, around zero, random ones, and for multiplier 2^30
 * (one half) sums whose products tie in both roundings: 2 (k 2^right + 2^(right-1)) + d,
 * d = -1, 0, 1 (odd ones tie in the first rounding, even ones in the second). */
static void rescale_sums(uint32_t *rng, int right, int32_t sum[RESCALE_SUMS]) {
  static const int32_t fixed[] = {INT32_MAX, INT32_MAX - 1, INT32_MIN, INT32_MIN + 1, -1, 0, 1,
                                  2, -2, 3, -3, 1 << 30, -(1 << 30), 127, -128, 255, 32767};
  size_t n = 0;
  for (; n < sizeof(fixed) / sizeof(fixed[0]); n++) sum[n] = fixed[n];
  const int64_t half = right > 0 && right < 31 ? (int64_t)1 << (right - 1) : 0;
  for (int64_t k = -6; k < 6; k++)
    for (int d = -1; d <= 1; d++) {
      const int64_t v = 2 * (k * 2 * half + half) + d;
      sum[n++] = v > INT32_MAX || v < INT32_MIN ? (int32_t)k : (int32_t)v;
    }
  for (; n < RESCALE_SUMS; n++) {
    const uint32_t r = ck_xorshift(rng);
    sum[n] = n % 3 ? (int32_t)r : (int32_t)r >> (r % 24); /* every magnitude */
  }
}

TEST(mean_rescale_every_level_against_formula) {
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8, TFL_INT16};
  static const int32_t multipliers[] = {1 << 30, INT32_MAX, 1518500250, (1 << 30) + 1, 1, 0};
  static const int shifts[] = {-40, -31, -30, -20, -9, -8, -1, 0, 1, 5, 30, 31, 35};
  static const uint32_t subtracts[] = {0, (uint32_t)(-128 * 49), 127 * 49, 0x80000000u,
                                       0xffffffffu};
  static const int32_t adds[] = {0, -128, 127, 255, -32768, 5, INT32_MAX, INT32_MIN};
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  uint32_t rng = 2024u;
  int32_t sum[RESCALE_SUMS];
  for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
    rescale_sums(&rng, shifts[s] < 0 ? -shifts[s] : 0, sum);
    for (size_t t = 0; t < 3; t++)
      for (size_t mu = 0; mu < sizeof(multipliers) / sizeof(multipliers[0]); mu++)
        for (size_t su = 0; su < sizeof(subtracts) / sizeof(subtracts[0]); su++)
          for (size_t a = 0; a < sizeof(adds) / sizeof(adds[0]); a++) {
            const tfl_qmean m =
                qmean_of(types[t], multipliers[mu], shifts[s], subtracts[su], adds[a]);
            for (int l = 0; l < levels; l++)
              if (!check_rescale(cpus[l], &m, sum, RESCALE_SUMS)) return;
          }
  }
}

TEST(mean_rescale_every_length) {
  const char *cpus[CK_MAX_CPU_LEVELS];
  const int levels = ck_cpu_levels(cpus);
  uint32_t rng = 7u;
  int32_t sum[RESCALE_SUMS];
  rescale_sums(&rng, 6, sum);
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8, TFL_INT16};
  for (size_t t = 0; t < 3; t++) {
    const tfl_qmean m = qmean_of(types[t], 1 << 30, -6, 49u * 3u, 3);
    for (size_t n = 0; n <= 40; n++)
      for (size_t off = 0; off < 4; off++)
        for (int l = 0; l < levels; l++)
          if (!check_rescale(cpus[l], &m, sum + off * 13, n)) return;
  }
}

TEST(quantized_sum_and_int16) {
  /* SUM in float: uint8 (0.5, zp 10) rows {10, 12, 14} (0 + 1 + 2) and {0, 0, 255}
   * (-5 - 5 + 122.5 = 112.5, half away) on (1.0, zp 0) */
  const int32_t dims[] = {2, 3};
  const uint8_t u[] = {10, 12, 14, 0, 0, 255};
  const int32_t axis[] = {1};
  const qp ui = {0.5f, 10}, uo = {1.0f, 0};
  ot_result r;
  REQUIRE(run_reduce_q(TFL_OP_SUM, TFL_UINT8, 2, dims, u, &ui, 1, axis, 0, &uo, &r) == TFL_OK);
  const uint8_t *y = r.out[0].data;
  CHECK(y[0] == 3 && y[1] == 113);
  ot_result_free(&r);
  /* int16 MEAN: {100, 200, 300, 401} (1/1024) on 1/512: 250.25 * 0.5 = 125.125 */
  const int32_t d4[] = {4};
  const int16_t h[] = {100, 200, 300, 401};
  const int32_t axis0[] = {0};
  const qp hi = {1.0f / 1024, 0}, ho = {1.0f / 512, 0};
  REQUIRE(run_reduce_q(TFL_OP_MEAN, TFL_INT16, 1, d4, h, &hi, 1, axis0, 0, &ho, &r) == TFL_OK);
  CHECK_EQ_INT(((const int16_t *)r.out[0].data)[0], 125);
  ot_result_free(&r);
  /* int16 needs zero points 0, in every reduction */
  const qp hz = {1.0f / 1024, 2};
  CHECK(run_reduce_q(TFL_OP_MEAN, TFL_INT16, 1, d4, h, &hz, 1, axis0, 0, &ho, &r) == TFL_ERROR);
  ot_result_free(&r);
  CHECK(run_reduce_q(TFL_OP_REDUCE_MAX, TFL_INT16, 1, d4, h, &hz, 1, axis0, 0, &ho, &r) ==
        TFL_ERROR);
  ot_result_free(&r);
  /* a quantized MEAN without a scale */
  const qp none = {0.0f, 0};
  CHECK(run_reduce_q(TFL_OP_MEAN, TFL_UINT8, 2, dims, u, &none, 1, axis, 0, &uo, &r) ==
        TFL_ERROR);
  ot_result_free(&r);
  /* quantized PROD is not implemented */
  CHECK_EQ_INT(run_reduce_q(TFL_OP_REDUCE_PROD, TFL_UINT8, 2, dims, u, &ui, 1, axis, 0, &uo, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
}

TEST(errors) {
  const int32_t dims[] = {2, 3};
  const float x[6] = {0};
  ot_result r;
  const int32_t bad[] = {2}, bad_neg[] = {-3};
  CHECK(run_reduce(TFL_OP_SUM, TFL_FLOAT32, 2, dims, x, TFL_INT32, 1, bad, 1, 0, &r) != TFL_OK);
  CHECK(strstr(r.error, "out of range") != NULL);
  ot_result_free(&r);
  CHECK(run_reduce(TFL_OP_SUM, TFL_FLOAT32, 2, dims, x, TFL_INT32, 1, bad_neg, 1, 0, &r) !=
        TFL_OK);
  ot_result_free(&r);
  /* Out of range at eval, with a runtime axis tensor. */
  CHECK(run_reduce(TFL_OP_MEAN, TFL_FLOAT32, 2, dims, x, TFL_INT32, 1, bad, 0, 0, &r) != TFL_OK);
  ot_result_free(&r);
  const float fa[] = {1};
  CHECK(run_reduce(TFL_OP_SUM, TFL_FLOAT32, 2, dims, x, TFL_FLOAT32, 1, fa, 1, 0, &r) != TFL_OK);
  ot_result_free(&r);
  const uint8_t b[6] = {0};
  const int32_t ax[] = {0};
  CHECK_EQ_INT(run_reduce(TFL_OP_SUM, TFL_BOOL, 2, dims, b, TFL_INT32, 1, ax, 1, 0, &r),
               TFL_UNSUPPORTED);
  ot_result_free(&r);
  CHECK(run_reduce(TFL_OP_REDUCE_ANY, TFL_FLOAT32, 2, dims, x, TFL_INT32, 1, ax, 1, 0, &r) !=
        TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_ops_all_axis_sets);
  RUN(runtime_axis_tensor_makes_dynamic_output);
  RUN(hand_computed_mean);
  RUN(integer_semantics);
  RUN(any_all);
  RUN(empty_reductions_give_identities);
  RUN(scalar_input_ignores_axes);
  RUN(quantized_max_min_raw);
  RUN(quantized_mean_two_paths);
  RUN(quantized_mean_random_against_double);
  RUN(quantized_sums_match_scalar_level);
  RUN(mean_rescale_every_level_against_formula);
  RUN(mean_rescale_every_length);
  RUN(quantized_sum_and_int16);
  RUN(errors);
  return test_summary();
}
