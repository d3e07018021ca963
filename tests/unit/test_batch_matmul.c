/* BATCH_MATMUL: a hand-computed product, then float cases (adj_x/adj_y, ranks 2 to 5, batch
 * broadcasting either way, constant and non-constant rhs) against a naive product in double
 * written here; int8 (int8 and int32 outputs), int16 x int16 and int16 x int8 against the same
 * naive product in exact integers with TFLite's requantization from quant.h (tested on its own
 * in test_quant); the hybrid path (float lhs, int8 rhs; symmetric and asymmetric inputs,
 * per-tensor and per-channel rhs) against its quantization steps written out here; TFLite's
 * per-channel quirk of the integer path; zero sizes and errors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"
#include "util/op_runner.h"
#include "util/test.h"

/* ---- cases ----------------------------------------------------------------------------- */

typedef struct bm_case {
  int lr, rr;           /* ranks */
  int32_t ld[6], rd[6]; /* shapes as stored (adj applied) */
  int adj_x, adj_y, asymmetric;
  int rhs_const;
  int threads;
  int special; /* float: some lhs values are infinite or NaN */
} bm_case;

static size_t count_of(int n, const int32_t *d) {
  size_t c = 1;
  for (int i = 0; i < n; i++) c *= (size_t)d[i];
  return c;
}

/* Sizes of the product and the broadcast batch shape, computed independently of the kernel. */
typedef struct bm_shape {
  int32_t A, K, C;
  int nb;
  int32_t batch[3], lb[3], rb[3]; /* output, lhs and rhs batch dims, padded to nb */
  int ndim;
  int32_t out[5];
} bm_shape;

static void shape_of(const bm_case *c, bm_shape *s) {
  const int lb = c->lr - 2, rb = c->rr - 2;
  s->nb = lb > rb ? lb : rb;
  for (int i = 0; i < s->nb; i++) {
    const int li = i - (s->nb - lb), ri = i - (s->nb - rb);
    s->lb[i] = li < 0 ? 1 : c->ld[li];
    s->rb[i] = ri < 0 ? 1 : c->rd[ri];
    s->batch[i] = s->lb[i] == 1 ? s->rb[i] : s->lb[i];
  }
  s->A = c->adj_x ? c->ld[c->lr - 1] : c->ld[c->lr - 2];
  s->K = c->adj_x ? c->ld[c->lr - 2] : c->ld[c->lr - 1];
  s->C = c->adj_y ? c->rd[c->rr - 2] : c->rd[c->rr - 1];
  s->ndim = s->nb + 2;
  for (int i = 0; i < s->nb; i++) s->out[i] = s->batch[i];
  s->out[s->nb] = s->A;
  s->out[s->nb + 1] = s->C;
}

/* The flat matrix indices of the lhs and rhs that output batch o multiplies. */
static void batch_index(const bm_shape *s, size_t o, size_t *li, size_t *ri) {
  size_t rest = o, lstride = 1, rstride = 1;
  *li = *ri = 0;
  for (int i = s->nb - 1; i >= 0; i--) {
    const size_t idx = rest % (size_t)s->batch[i];
    rest /= (size_t)s->batch[i];
    *li += (s->lb[i] == 1 ? 0 : idx) * lstride;
    *ri += (s->rb[i] == 1 ? 0 : idx) * rstride;
    lstride *= (size_t)s->lb[i];
    rstride *= (size_t)s->rb[i];
  }
}

/* out[b][a][c] = sum_k L(a, k) * R(k, c) in double, from operands already offset. */
static void naive(const bm_case *c, const bm_shape *s, const double *l, const double *r,
                  double *out) {
  const size_t batches = count_of(s->nb, s->batch);
  const size_t A = (size_t)s->A, K = (size_t)s->K, C = (size_t)s->C;
  for (size_t o = 0; o < batches; o++) {
    size_t li, ri;
    batch_index(s, o, &li, &ri);
    const double *lm = l + li * A * K, *rm = r + ri * K * C;
    for (size_t a = 0; a < A; a++)
      for (size_t j = 0; j < C; j++) {
        double sum = 0;
        for (size_t k = 0; k < K; k++) {
          const double lv = c->adj_x ? lm[k * A + a] : lm[a * K + k];
          const double rv = c->adj_y ? rm[j * K + k] : rm[k * C + j];
          sum += lv * rv;
        }
        out[(o * A + a) * C + j] = sum;
      }
  }
}

static uint32_t seed = 12345;
static uint32_t lcg(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}
static float frand(void) { return (float)(lcg() & 0xFFFF) / 32768.0f - 1.0f; }
static int32_t irand(int32_t lo, int32_t hi) {
  return lo + (int32_t)(lcg() % (uint32_t)(hi - lo + 1));
}

static tfl_status run(const bm_case *c, const ot_spec *lhs, const ot_spec *rhs, const ot_spec *out,
                      ot_result *r) {
  mb_field f[] = {MB_BYTE(0, c->adj_x), MB_BYTE(1, c->adj_y), MB_BYTE(2, c->asymmetric),
                  MB_FIELDS_END};
  ot_spec in[2] = {*lhs, *rhs};
  const ot_op op = {.builtin_code = TFL_OP_BATCH_MATMUL, .version = 1,
                    .options_type = TFL_OPTS_BATCH_MATMUL, .options = f, .threads = c->threads};
  return ot_run_op(&op, in, 2, out, 1, r);
}

static void check_shape(const ot_result *r, const bm_shape *s) {
  CHECK_EQ_INT(r->out[0].ndim, s->ndim);
  for (int i = 0; i < s->ndim && i < r->out[0].ndim; i++)
    CHECK_EQ_INT(r->out[0].dims[i], s->out[i]);
}

/* ---- float ------------------------------------------------------------------------------ */

TEST(float_hand_computed) {
  static const float l[6] = {1, 2, 3, 4, 5, 6};     /* [2, 3] */
  static const float rm[6] = {7, 8, 9, 10, 11, 12}; /* [3, 2] */
  static const float want[4] = {58, 64, 139, 154};
  const int32_t ld[2] = {2, 3}, rd[2] = {3, 2};
  bm_case c = {0};
  ot_spec lhs = OT_F32(2, ld, l), rhs = OT_F32_CONST(2, rd, rm), out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  REQUIRE(run(&c, &lhs, &rhs, &out, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[0], 2);
  CHECK_EQ_INT(r.out[0].dims[1], 2);
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

static void check_float_case(const bm_case *c) {
  bm_shape s;
  shape_of(c, &s);
  const size_t nl = count_of(c->lr, c->ld), nr = count_of(c->rr, c->rd);
  const size_t no = count_of(s.ndim, s.out);
  float *l = malloc(nl * 4 + 4), *rv = malloc(nr * 4 + 4);
  double *dl = malloc(nl * 8 + 8), *dr = malloc(nr * 8 + 8), *want = malloc(no * 8 + 8);
  for (size_t i = 0; i < nl; i++) dl[i] = l[i] = frand();
  for (size_t i = 0; i < nr; i++) dr[i] = rv[i] = frand();
  static const float specials[3] = {INFINITY, -INFINITY, NAN};
  for (size_t i = 0; c->special && i < nl; i += 97) dl[i] = l[i] = specials[(i / 97) % 3];
  naive(c, &s, dl, dr, want);
  ot_spec lhs = OT_F32(c->lr, c->ld, l), rhs = OT_F32(c->rr, c->rd, rv), out = OT_OUT(TFL_FLOAT32);
  rhs.constant = c->rhs_const;
  ot_result r;
  const tfl_status st = run(c, &lhs, &rhs, &out, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK) {
    check_shape(&r, &s);
    for (size_t i = 0; i < no; i++) {
      const float got = ot_f32(&r, 0)[i];
      if (isnan(want[i]) || isinf(want[i])) {
        CHECK(isnan(want[i]) ? isnan(got) : got == (float)want[i]);
        continue;
      }
      CHECK_NEAR(got, want[i], 1e-5 * (1 + fabs(want[i])));
    }
  } else {
    printf("    %s\n", r.error);
  }
  ot_result_free(&r);
  free(l), free(rv), free(dl), free(dr), free(want);
}

TEST(float_adjoints) {
  for (int ax = 0; ax < 2; ax++)
    for (int ay = 0; ay < 2; ay++)
      for (int rc = 0; rc < 2; rc++) {
        /* A = 3, K = 5, C = 4 with a batch of 2 on both sides. */
        bm_case c = {.lr = 3, .rr = 3, .adj_x = ax, .adj_y = ay, .rhs_const = rc};
        const int32_t l[3] = {2, ax ? 5 : 3, ax ? 3 : 5}, rr[3] = {2, ay ? 4 : 5, ay ? 5 : 4};
        memcpy(c.ld, l, sizeof(l));
        memcpy(c.rd, rr, sizeof(rr));
        check_float_case(&c);
      }
}

TEST(float_broadcasting_and_ranks) {
  const bm_case cases[] = {
      /* rhs shared by every lhs batch */
      {.lr = 4, .rr = 2, .ld = {2, 3, 4, 5}, .rd = {5, 6}},
      {.lr = 4, .rr = 2, .ld = {2, 3, 4, 5}, .rd = {5, 6}, .rhs_const = 1},
      /* lhs shared by every rhs batch */
      {.lr = 2, .rr = 4, .ld = {3, 4}, .rd = {2, 2, 4, 2}, .adj_y = 0},
      /* both broadcast in different dimensions, rank 5 */
      {.lr = 5, .rr = 4, .ld = {2, 1, 3, 2, 3}, .rd = {4, 1, 3, 2}, .rhs_const = 1},
      {.lr = 5, .rr = 5, .ld = {1, 2, 1, 4, 3}, .rd = {3, 1, 2, 3, 4}, .adj_x = 1, .adj_y = 1},
      /* rhs with a leading batch of 1 (TFLite folds such lhs batches into rows) */
      {.lr = 4, .rr = 3, .ld = {2, 3, 4, 5}, .rd = {1, 5, 2}},
      {.lr = 4, .rr = 3, .ld = {2, 3, 5, 4}, .rd = {1, 5, 2}, .adj_x = 1},
      /* single row / single column / depth 1 */
      {.lr = 2, .rr = 2, .ld = {1, 7}, .rd = {7, 1}},
      {.lr = 3, .rr = 3, .ld = {2, 6, 1}, .rd = {2, 1, 3}, .rhs_const = 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_float_case(&cases[i]);
}

/* Products over several row tiles and column panels of the packed GEMM (above TFL_CPU=
 * scalar), with tails, every adj combination, constant and not, one and two threads;
 * infinities and NaNs pass through (no clamp). */
TEST(float_large_products) {
  for (int ax = 0; ax < 2; ax++)
    for (int ay = 0; ay < 2; ay++)
      for (int rc = 0; rc < 2; rc++)
        for (int threads = 1; threads <= 2; threads++) {
          const int32_t A = 37, K = 70, C = 45;
          bm_case c = {.lr = 3, .rr = 2, .adj_x = ax, .adj_y = ay, .rhs_const = rc,
                       .threads = threads, .special = threads == 2};
          const int32_t l[3] = {3, ax ? K : A, ax ? A : K}, rr[2] = {ay ? C : K, ay ? K : C};
          memcpy(c.ld, l, sizeof(l));
          memcpy(c.rd, rr, sizeof(rr));
          check_float_case(&c);
        }
}

/* A non-constant rhs is transposed at every invoke: two runs with different data. */
TEST(float_runs_twice) {
  bm_case c = {.lr = 3, .rr = 3, .ld = {2, 3, 4}, .rd = {2, 4, 5}};
  check_float_case(&c);
  check_float_case(&c);
}

TEST(zero_sized) {
  bm_case c = {.lr = 3, .rr = 3, .ld = {0, 3, 4}, .rd = {1, 4, 5}};
  static const float dummy[20] = {0};
  ot_spec lhs = OT_F32(3, c.ld, dummy), rhs = OT_F32_CONST(3, c.rd, dummy),
          out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  REQUIRE(run(&c, &lhs, &rhs, &out, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 3);
  CHECK_EQ_INT(r.out[0].dims[0], 0);
  CHECK_EQ_INT(r.out[0].dims[1], 3);
  CHECK_EQ_INT(r.out[0].dims[2], 5);
  ot_result_free(&r);
  /* K = 0: every output is an empty sum. */
  bm_case k0 = {.lr = 2, .rr = 2, .ld = {2, 0}, .rd = {0, 3}};
  lhs = (ot_spec)OT_F32(2, k0.ld, dummy);
  rhs = (ot_spec)OT_F32(2, k0.rd, dummy);
  REQUIRE(run(&k0, &lhs, &rhs, &out, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[0], 2);
  CHECK_EQ_INT(r.out[0].dims[1], 3);
  for (int i = 0; i < 6; i++) CHECK_NEAR(ot_f32(&r, 0)[i], 0, 0);
  ot_result_free(&r);
}

/* ---- integer ------------------------------------------------------------------------------ */

typedef struct bm_q {
  tfl_type lt, rt, ot;
  float ls, rs, os;
  int64_t lz, rz, oz;
} bm_q;

static int32_t code_range_lo(tfl_type t) { return t == TFL_INT16 ? -32768 : -128; }
static int32_t code_range_hi(tfl_type t) { return t == TFL_INT16 ? 32767 : 127; }

static void fill_codes(tfl_type t, void *p, double *d, size_t n, int64_t zp) {
  for (size_t i = 0; i < n; i++) {
    const int32_t v = irand(code_range_lo(t), code_range_hi(t));
    if (t == TFL_INT16)
      ((int16_t *)p)[i] = (int16_t)v;
    else
      ((int8_t *)p)[i] = (int8_t)v;
    d[i] = (double)(v - zp);
  }
}

static int64_t out_code(const ot_result *r, tfl_type t, size_t i) {
  if (t == TFL_INT32) return ((const int32_t *)r->out[0].data)[i];
  if (t == TFL_INT16) return ((const int16_t *)r->out[0].data)[i];
  return ((const int8_t *)r->out[0].data)[i];
}

/* The expected output code of an exact integer sum, TFLite's requantization. */
static int64_t requantize(const bm_q *q, double sum) {
  if (q->ot == TFL_INT32) return (int64_t)sum;
  int32_t mult;
  int shift;
  tfl_quantize_multiplier((double)(q->ls * q->rs) / (double)q->os, &mult, &shift);
  int32_t v = q->lt == TFL_INT16 ? tfl_mul_by_quantized_multiplier64((int64_t)sum, mult, shift)
                                 : tfl_mul_by_quantized_multiplier((int32_t)sum, mult, shift);
  v += (int32_t)q->oz;
  const int32_t lo = code_range_lo(q->ot), hi = code_range_hi(q->ot);
  return v < lo ? lo : v > hi ? hi : v;
}

static void check_int_case(const bm_case *c, const bm_q *q) {
  bm_shape s;
  shape_of(c, &s);
  const size_t nl = count_of(c->lr, c->ld), nr = count_of(c->rr, c->rd);
  const size_t no = count_of(s.ndim, s.out);
  int16_t *l = malloc(nl * 2 + 2), *rv = malloc(nr * 2 + 2);
  double *dl = malloc(nl * 8 + 8), *dr = malloc(nr * 8 + 8), *want = malloc(no * 8 + 8);
  /* The int32 output ignores zero points. */
  const int raw = q->ot == TFL_INT32;
  fill_codes(q->lt, l, dl, nl, raw ? 0 : q->lz);
  fill_codes(q->rt, rv, dr, nr, raw ? 0 : q->rz);
  naive(c, &s, dl, dr, want);
  ot_spec lhs = {.type = q->lt,
                 .ndim = c->lr,
                 .dims = c->ld,
                 .data = l,
                 .q_count = 1,
                 .scales = &q->ls,
                 .zero_points = &q->lz};
  ot_spec rhs = {.type = q->rt,
                 .ndim = c->rr,
                 .dims = c->rd,
                 .data = rv,
                 .q_count = 1,
                 .scales = &q->rs,
                 .zero_points = &q->rz,
                 .constant = c->rhs_const};
  ot_spec out = {.type = q->ot, .q_count = raw ? 0 : 1, .scales = &q->os, .zero_points = &q->oz};
  ot_result r;
  const tfl_status st = run(c, &lhs, &rhs, &out, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK) {
    check_shape(&r, &s);
    for (size_t i = 0; i < no; i++) CHECK_EQ_INT(out_code(&r, q->ot, i), requantize(q, want[i]));
  } else {
    printf("    %s\n", r.error);
  }
  ot_result_free(&r);
  free(l), free(rv), free(dl), free(dr), free(want);
}

static const bm_case int_cases[] = {
    {.lr = 2, .rr = 2, .ld = {3, 16}, .rd = {16, 5}, .rhs_const = 1},
    {.lr = 3, .rr = 3, .ld = {2, 7, 4}, .rd = {2, 5, 7}, .adj_x = 1, .adj_y = 1},
    {.lr = 4, .rr = 3, .ld = {2, 1, 3, 9}, .rd = {3, 6, 9}, .adj_y = 1, .rhs_const = 1},
    {.lr = 3, .rr = 4, .ld = {2, 9, 4}, .rd = {2, 1, 9, 3}, .adj_x = 1},
};
enum { N_INT_CASES = sizeof(int_cases) / sizeof(int_cases[0]) };

TEST(int8_with_zero_points) {
  const bm_q q = {TFL_INT8, TFL_INT8, TFL_INT8, 0.05f, 0.02f, 0.4f, -3, 5, 7};
  for (int i = 0; i < N_INT_CASES; i++) check_int_case(&int_cases[i], &q);
  /* a multiplier above 1 */
  const bm_q big = {TFL_INT8, TFL_INT8, TFL_INT8, 0.5f, 0.5f, 0.01f, 0, 0, -20};
  check_int_case(&int_cases[0], &big);
}

TEST(int8_to_int32_is_raw) {
  const bm_q q = {TFL_INT8, TFL_INT8, TFL_INT32, 0.05f, 0.02f, 1.0f, 9, -4, 0};
  for (int i = 0; i < N_INT_CASES; i++) check_int_case(&int_cases[i], &q);
}

TEST(int16_by_int16_and_int8) {
  const bm_q q16 = {TFL_INT16, TFL_INT16, TFL_INT16, 3e-4f, 2e-4f, 1e-2f, 0, 0, 0};
  const bm_q q8 = {TFL_INT16, TFL_INT8, TFL_INT16, 3e-4f, 2e-2f, 5e-2f, 0, 0, 0};
  for (int i = 0; i < N_INT_CASES; i++) {
    check_int_case(&int_cases[i], &q16);
    check_int_case(&int_cases[i], &q8);
  }
}

/* TFLite reads the integer path's scales per tensor: a per-channel rhs counts as scale 0, so
 * every output is the output zero point (its static_w8_a16 einsum test model shows it). */
TEST(int16_per_channel_rhs_gives_zero_point) {
  static const int16_t l[8] = {1000, -2000, 3000, 4000, 5, 6, 7, 8};
  static const int8_t rv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int32_t ld[2] = {2, 4}, rd[2] = {4, 2};
  const float ls = 1e-3f, rs[2] = {0.1f, 0.2f}, os = 1e-2f;
  const int64_t zp0 = 0, rz[2] = {0, 0};
  bm_case c = {0};
  ot_spec lhs = {.type = TFL_INT16,
                 .ndim = 2,
                 .dims = ld,
                 .data = l,
                 .q_count = 1,
                 .scales = &ls,
                 .zero_points = &zp0};
  ot_spec rhs = {.type = TFL_INT8,
                 .ndim = 2,
                 .dims = rd,
                 .data = rv,
                 .constant = 1,
                 .q_count = 2,
                 .scales = rs,
                 .zero_points = rz,
                 .q_axis = 1};
  ot_spec out = {.type = TFL_INT16, .q_count = 1, .scales = &os, .zero_points = &zp0};
  ot_result r;
  REQUIRE(run(&c, &lhs, &rhs, &out, &r) == TFL_OK);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((const int16_t *)r.out[0].data)[i], 0);
  ot_result_free(&r);
}

/* ---- hybrid ------------------------------------------------------------------------------- */

/* TFLite's symmetric / asymmetric row quantization, written out from its definition. */
static void quantize_row(const float *x, int n, int asymmetric, int8_t *q, float *scale,
                         int32_t *zp) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *zp = 0;
  if (!asymmetric) {
    const float range = fmaxf(fabsf(lo), fabsf(hi));
    *scale = range / 127.0f;
    for (int i = 0; i < n; i++) {
      const long v = lroundf(x[i] * (127.0f / range));
      q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return;
  }
  const double rmin = fmin(lo, 0.0), rmax = fmax(hi, 0.0);
  const double s = (rmax - rmin) / 255.0;
  const double z_lo = -128.0 - rmin / s, z_hi = 127.0 - rmax / s;
  const double z = 128.0 + fabs(rmin / s) < 127.0 + fabs(rmax / s) ? z_lo : z_hi;
  *zp = z <= -128 ? -128 : z >= 127 ? 127 : (int32_t)lround(z);
  *scale = (float)s;
  for (int i = 0; i < n; i++) {
    const long v = lroundf((float)*zp + x[i] * (1.0f / *scale));
    q[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
  }
}

/* One hybrid output: lhs row x (K values), rhs column wcol (stride wstride), the rhs scale of
 * the tensor or of the column (both multiply the row scale before the integer sum does). */
static float hybrid_element(const float *x, int K, int asymmetric, const int8_t *wcol, int wstride,
                            float wscale) {
  int8_t q[64];
  float scale;
  int32_t zp;
  quantize_row(x, K, asymmetric, q, &scale, &zp);
  int32_t dot = 0, sum = 0;
  for (int k = 0; k < K; k++) {
    dot += q[k] * wcol[k * wstride];
    sum += wcol[k * wstride];
  }
  dot = (int32_t)((float)dot - (float)sum * (float)zp);
  return (scale * wscale) * (float)dot;
}

static void check_hybrid(int asymmetric, int per_channel, int adj_x, int adj_y) {
  enum { B = 2, A = 3, K = 8, C = 4 };
  float l[B * A * K], want[B * A * C];
  int8_t w[K * C];
  float scales[C];
  int64_t zps[C] = {0};
  for (int i = 0; i < B * A * K; i++) l[i] = frand() * 3.0f;
  for (int k = 0; k < K; k++) l[k] = 0.0f; /* an all-zero row */
  for (int i = 0; i < K * C; i++) w[i] = (int8_t)irand(-127, 127);
  for (int j = 0; j < C; j++) scales[j] = per_channel ? 0.01f * (float)(j + 1) : 0.03f;
  /* Expected, from the logical [A, K] rows and [K, C] columns. */
  for (int b = 0; b < B; b++)
    for (int a = 0; a < A; a++)
      for (int j = 0; j < C; j++) {
        const float *row = l + ((size_t)b * A + a) * K;
        const int8_t *col = w + j;
        const float ws = per_channel ? scales[j] : scales[0];
        want[(b * A + a) * C + j] = hybrid_element(row, K, asymmetric, col, C, ws);
      }
  /* Stored layouts. */
  float ls[B * A * K];
  int8_t ws[K * C];
  for (int b = 0; b < B; b++)
    for (int a = 0; a < A; a++)
      for (int k = 0; k < K; k++)
        ls[adj_x ? (b * K + k) * A + a : (b * A + a) * K + k] = l[(b * A + a) * K + k];
  for (int k = 0; k < K; k++)
    for (int j = 0; j < C; j++) ws[adj_y ? j * K + k : k * C + j] = w[k * C + j];
  const int32_t ld[3] = {B, adj_x ? K : A, adj_x ? A : K};
  const int32_t rd[2] = {adj_y ? C : K, adj_y ? K : C};
  bm_case c = {.adj_x = adj_x, .adj_y = adj_y, .asymmetric = asymmetric};
  ot_spec lhs = OT_F32(3, ld, ls);
  ot_spec rhs = {.type = TFL_INT8,
                 .ndim = 2,
                 .dims = rd,
                 .data = ws,
                 .constant = 1,
                 .q_count = per_channel ? C : 1,
                 .scales = scales,
                 .zero_points = zps,
                 .q_axis = adj_y ? 0 : 1};
  ot_spec out = OT_OUT(TFL_FLOAT32);
  ot_result r;
  const tfl_status st = run(&c, &lhs, &rhs, &out, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].dims[1], A);
    CHECK_EQ_INT(r.out[0].dims[2], C);
    for (int i = 0; i < B * A * C; i++)
      CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-6 * (1 + fabs(want[i])));
  } else {
    printf("    %s\n", r.error);
  }
  ot_result_free(&r);
}

TEST(hybrid_symmetric_and_asymmetric) {
  for (int asym = 0; asym < 2; asym++)
    for (int pc = 0; pc < 2; pc++)
      for (int ax = 0; ax < 2; ax++)
        for (int ay = 0; ay < 2; ay++) check_hybrid(asym, pc, ax, ay);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void expect_error(const bm_case *c, tfl_type lt, tfl_type rt, tfl_type ot,
                         const char *what) {
  static const float zeros[256];
  static const float one = 1.0f;
  static const int64_t zero = 0;
  ot_spec lhs = {.type = lt,
                 .ndim = c->lr,
                 .dims = c->ld,
                 .data = zeros,
                 .q_count = lt == TFL_FLOAT32 ? 0 : 1,
                 .scales = &one,
                 .zero_points = &zero};
  ot_spec rhs = {.type = rt,
                 .ndim = c->rr,
                 .dims = c->rd,
                 .data = zeros,
                 .constant = 1,
                 .q_count = rt == TFL_FLOAT32 ? 0 : 1,
                 .scales = &one,
                 .zero_points = &zero};
  ot_spec out = {
      .type = ot, .q_count = ot == TFL_FLOAT32 ? 0 : 1, .scales = &one, .zero_points = &zero};
  ot_result r;
  const tfl_status st = run(c, &lhs, &rhs, &out, &r);
  CHECK(st != TFL_OK);
  if (st != TFL_OK && !strstr(r.error, what)) {
    printf("    expected \"%s\" in: %s\n", what, r.error);
    CHECK(0);
  }
  ot_result_free(&r);
}

TEST(errors) {
  const bm_case depth = {.lr = 2, .rr = 2, .ld = {2, 3}, .rd = {4, 2}};
  expect_error(&depth, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, "products per sum");
  const bm_case batch = {.lr = 3, .rr = 3, .ld = {2, 2, 3}, .rd = {3, 3, 2}};
  expect_error(&batch, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, "not broadcastable");
  const bm_case rank1 = {.lr = 1, .rr = 2, .ld = {3}, .rd = {3, 2}};
  expect_error(&rank1, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, "rank 1");
  const bm_case rank6 = {.lr = 2, .rr = 6, .ld = {1, 1}, .rd = {1, 1, 1, 1, 1, 1}};
  expect_error(&rank6, TFL_FLOAT32, TFL_FLOAT32, TFL_FLOAT32, "rank 6");
  const bm_case ok = {.lr = 2, .rr = 2, .ld = {2, 3}, .rd = {3, 2}};
  expect_error(&ok, TFL_FLOAT32, TFL_FLOAT32, TFL_INT8, "output");
  expect_error(&ok, TFL_UINT8, TFL_UINT8, TFL_UINT8, "not supported");
  expect_error(&ok, TFL_INT8, TFL_INT16, TFL_INT8, "not supported");
  expect_error(&ok, TFL_INT16, TFL_INT16, TFL_INT8, "output");
}

TEST(int16_needs_zero_points_zero) {
  static const int16_t z[6] = {0};
  const int32_t ld[2] = {2, 3}, rd[2] = {3, 2};
  const float one = 1.0f;
  const int64_t zero = 0, five = 5;
  bm_case c = {0};
  ot_spec lhs = {.type = TFL_INT16,
                 .ndim = 2,
                 .dims = ld,
                 .data = z,
                 .q_count = 1,
                 .scales = &one,
                 .zero_points = &five};
  ot_spec rhs = {.type = TFL_INT16,
                 .ndim = 2,
                 .dims = rd,
                 .data = z,
                 .q_count = 1,
                 .scales = &one,
                 .zero_points = &zero};
  ot_spec out = {.type = TFL_INT16, .q_count = 1, .scales = &one, .zero_points = &zero};
  ot_result r;
  CHECK(run(&c, &lhs, &rhs, &out, &r) != TFL_OK);
  CHECK(strstr(r.error, "zero points 0") != NULL);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_hand_computed);
  RUN(float_adjoints);
  RUN(float_broadcasting_and_ranks);
  RUN(float_runs_twice);
  RUN(float_large_products);
  RUN(zero_sized);
  RUN(int8_with_zero_points);
  RUN(int8_to_int32_is_raw);
  RUN(int16_by_int16_and_int8);
  RUN(int16_per_channel_rhs_gives_zero_point);
  RUN(hybrid_symmetric_and_asymmetric);
  RUN(errors);
  RUN(int16_needs_zero_points_zero);
  return test_summary();
}
