/* The quantized fast paths (qgemm.h, qdwconv.h) against naive versions written here: int64
 * accumulation of (x - input_zp) * (w - filter_zp) over the in-bounds taps, plus the bias,
 * wrapped to int32, then quant.h's multipliers (double rounding or ruy's), the output zero
 * point and the clamp. Every kernel this machine runs is checked, on shapes that hit every
 * edge of the tiles and channel blocks, with random multipliers, shifts and biases over their
 * whole ranges. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qdwconv.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

/* Levels with their own kernels: the portable one (any non-scalar level without vector
 * kernels, here TFL_CPU_NEON stands for it) and AVX2 when the machine has it. */
static int test_levels(tfl_cpu_level *levels) {
  int n = 0;
  levels[n++] = TFL_CPU_NEON;
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON) levels[n++] = TFL_CPU_AVX2;
  return n;
}

/* A quantized op's arithmetic: `channels` random multipliers with shifts in
 * [min_shift, max_shift], zero points and a clamp. */
typedef struct qsetup {
  tfl_type type;
  tfl_window_quant q;
  int32_t mult[512], shift[512];
} qsetup;

static void qsetup_init(qsetup *s, tfl_type type, tfl_window_requant mode, int32_t channels,
                        int min_shift, int max_shift, uint32_t *rng) {
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->q.mode = mode;
  s->q.channels = channels;
  s->q.multiplier = s->mult;
  s->q.shift = s->shift;
  for (int32_t c = 0; c < channels; c++) {
    s->mult[c] = (int32_t)((1u << 30) + (ck_xorshift(rng) & 0x3fffffffu));
    s->shift[c] = ck_xorshift_in(rng, min_shift, max_shift);
  }
  /* Multipliers whose products often end in exactly half a unit (the high multiply's ties),
   * and a flushed one. */
  if (channels > 1) s->mult[1] = 1 << 30;
  if (channels > 2) s->mult[2] = 0;
  if (channels > 3) s->mult[3] = 3 << 29;
  const int32_t lo = type == TFL_UINT8 ? 0 : -128, hi = type == TFL_UINT8 ? 255 : 127;
  s->q.input_offset = -ck_xorshift_in(rng, lo, hi);
  s->q.filter_offset = type == TFL_UINT8 ? -ck_xorshift_in(rng, 0, 255) : 0;
  s->q.output_offset = ck_xorshift_in(rng, lo, hi);
  s->q.act_min = ck_xorshift_in(rng, lo, lo + 20);
  s->q.act_max = ck_xorshift_in(rng, hi - 20, hi);
}

static int32_t naive_requantize(const qsetup *s, int32_t c, int64_t acc) {
  const int32_t x = (int32_t)(uint32_t)(uint64_t)acc;
  int32_t v = s->q.mode == TFL_REQUANT_RUY
                  ? tfl_mul_by_quantized_multiplier_ruy(x, s->mult[c], s->shift[c])
                  : tfl_mul_by_quantized_multiplier(x, s->mult[c], s->shift[c]);
  v = (int32_t)((uint32_t)v + (uint32_t)s->q.output_offset);
  return v < s->q.act_min ? s->q.act_min : v > s->q.act_max ? s->q.act_max : v;
}

static void *random_codes(tfl_type type, size_t n, uint32_t *rng) {
  uint8_t *v = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) v[i] = (uint8_t)ck_xorshift(rng);
  (void)type;
  return v;
}

static int32_t *random_bias(size_t n, uint32_t *rng, int wide) {
  int32_t *b = malloc((n ? n : 1) * sizeof(int32_t));
  for (size_t i = 0; i < n; i++)
    b[i] = wide ? (int32_t)ck_xorshift(rng) : ck_xorshift_in(rng, -100000, 100000);
  return b;
}

/* How a test draws filter values, as s = w + filter_offset:
 * WEIGHTS_ANY: any codes (the filter offset too: pairs mostly too large for vpmaddubsw);
 * WEIGHTS_SMALL: |s| <= 40 but for one in 2048, any value (uint8: even outside int8), so
 *   that quad panels serve and mix safe and unsafe quads;
 * WEIGHTS_EDGES: pairs of consecutive s right at the saturation bound (one sign summing to
 *   128, -128, 127 next to -128), and one in 1024 just past it (129 of one sign), with
 *   inputs only at the ends of their range: a safe pair reaches 255 * 128, an unsafe one
 *   would saturate;
 * WEIGHTS_SPLIT: |s| <= 30 but for a few pairs at the ends of the range (uint8: s up to 255
 *   or down to -255, which split over three or two levels; int8: +-127), so that quad panels
 *   serve and split their few unsafe quads (no int16 copy of A). */
enum { WEIGHTS_ANY, WEIGHTS_SMALL, WEIGHTS_EDGES, WEIGHTS_SPLIT };

static void edge_pair(uint32_t *rng, int32_t *v) {
  static const int32_t safe[][2] = {{64, 64},  {-64, -64}, {127, 1},  {1, 127},   {-128, 0},
                                    {0, -128}, {-1, -127}, {63, 65},  {127, -128}, {-128, 127},
                                    {5, -3},   {0, 0},     {-64, 64}, {96, 32}};
  static const int32_t unsafe[][2] = {{65, 64}, {-65, -64}, {127, 2}, {-128, -1}, {2, 127}};
  const int32_t *p = ck_xorshift(rng) % 1024 == 0
                         ? unsafe[ck_xorshift(rng) % (sizeof(unsafe) / sizeof(unsafe[0]))]
                         : safe[ck_xorshift(rng) % (sizeof(safe) / sizeof(safe[0]))];
  v[0] = p[0];
  v[1] = p[1];
}

static void *shaped_weights(qsetup *s, int shape, size_t n, uint32_t *rng) {
  if (shape == WEIGHTS_ANY) return random_codes(s->type, n, rng);
  const int u8 = s->type == TFL_UINT8;
  /* uint8 zero points near 128 keep s within int8; 100 puts large codes outside it; 0 and
   * 255 let s reach 255 and -255 */
  static const int32_t split_zps[] = {0, 255, 128};
  const int32_t zp = !u8                      ? 0
                     : shape == WEIGHTS_EDGES ? 128
                     : shape == WEIGHTS_SPLIT ? split_zps[ck_xorshift(rng) % 3]
                                              : ck_xorshift_in(rng, 100, 160);
  s->q.filter_offset = -zp;
  uint8_t *w = malloc(n ? n : 1);
  int32_t pair[2];
  for (size_t i = 0; i < n; i++) {
    int32_t v;
    if (shape == WEIGHTS_EDGES) {
      if (i % 2 == 0) edge_pair(rng, pair);
      v = pair[i % 2];
    } else if (shape == WEIGHTS_SPLIT) {
      v = ck_xorshift_in(rng, u8 && zp == 0 ? 0 : -30, u8 && zp == 255 ? 0 : 30);
      if (i % 509 < 2) v = u8 ? (i % 509 ? -zp : 255 - zp) : (ck_xorshift(rng) % 2 ? 127 : -127);
    } else if (ck_xorshift(rng) % 2048 == 0) { /* uint8: often just outside int8 */
      v = ck_xorshift_in(rng, u8 ? -zp : -128, u8 ? 255 - zp : 127);
      if (u8 && ck_xorshift(rng) % 2) v = ck_xorshift(rng) % 2 ? -129 : 128;
    } else {
      v = ck_xorshift_in(rng, -40, 40);
    }
    w[i] = (uint8_t)(v + zp);
  }
  return w;
}

/* Input codes at the ends of their range only (WEIGHTS_EDGES), else any. */
static void *shaped_inputs(tfl_type type, int shape, size_t n, uint32_t *rng) {
  uint8_t *a = random_codes(type, n, rng);
  if (shape == WEIGHTS_EDGES)
    for (size_t i = 0; i < n; i++) a[i] = (a[i] & 1) ? 0x7f : 0x80;
  if (shape == WEIGHTS_EDGES && type == TFL_UINT8)
    for (size_t i = 0; i < n; i++) a[i] = a[i] == 0x7f ? 255 : 0;
  return a;
}

/* --- GEMM ------------------------------------------------------------------------------ */

/* The clamp of a case: qsetup_init's (near the type's ends), the whole type (no activation),
 * or a band of 61 codes above the output zero point (RELU6-like). */
enum { ACT_NEAR_ENDS, ACT_NONE, ACT_BAND };

typedef struct gemm_case {
  tfl_type type;
  tfl_window_requant mode;
  int32_t m, n, k;
  int min_shift, max_shift;
  int wide_bias; /* biases over the whole int32 range: accumulators anywhere, wrapping */
  int has_bias;
  int32_t pack_m; /* rows the weights are packed for, when not m (0) */
  int weights;    /* WEIGHTS_* */
  int act;        /* ACT_*: the clamp */
} gemm_case;

static int check_gemm(const gemm_case *gc, tfl_cpu_level level, uint32_t seed) {
  uint32_t rng = seed;
  qsetup s;
  qsetup_init(&s, gc->type, gc->mode, gc->n, gc->min_shift, gc->max_shift, &rng);
  const int32_t lo = gc->type == TFL_UINT8 ? 0 : -128, hi = lo + 255;
  if (gc->act == ACT_NONE) {
    s.q.act_min = lo;
    s.q.act_max = hi;
  } else if (gc->act == ACT_BAND) {
    s.q.act_min = s.q.output_offset < hi - 60 ? s.q.output_offset : hi - 60;
    s.q.act_max = s.q.act_min + 60;
  }
  void *a = shaped_inputs(gc->type, gc->weights, (size_t)gc->m * (size_t)gc->k, &rng);
  void *w = shaped_weights(&s, gc->weights, (size_t)gc->n * (size_t)gc->k, &rng);
  int32_t *bias = random_bias((size_t)gc->n, &rng, gc->wide_bias);
  tfl_tensor filter = ck_const_tensor(gc->type, w), bias_t = ck_const_tensor(TFL_INT32, bias);
  const size_t ldc = (size_t)gc->n + 3; /* rows of C with a gap, which must stay untouched */
  uint8_t *c = malloc((size_t)gc->m * ldc + 1);
  memset(c, 0xA5, (size_t)gc->m * ldc + 1);
  tfl_qgemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  int bad = 0;
  if (tfl_qgemm_pack(&pw, level, &s.q, &filter, gc->has_bias ? &bias_t : NULL, gc->type, gc->n,
                     gc->k, gc->pack_m ? gc->pack_m : gc->m) != TFL_OK) {
    bad = 1;
  } else {
    void *scratch = malloc(tfl_qgemm_scratch_bytes(&pw, 1));
    tfl_qgemm_matrix(NULL, &pw, gc->type, a, (size_t)gc->k, s.q.input_offset, gc->m, c, ldc,
                     scratch);
    free(scratch);
  }
  for (int32_t i = 0; i < gc->m && !bad; i++)
    for (size_t j = 0; j < ldc && !bad; j++) {
      if ((int32_t)j >= gc->n) {
        bad = c[(size_t)i * ldc + j] != 0xA5;
        continue;
      }
      int64_t acc = gc->has_bias ? bias[j] : 0;
      for (int32_t q = 0; q < gc->k; q++)
        acc += (int64_t)(ck_code_at(gc->type, a, (size_t)i * (size_t)gc->k + (size_t)q) +
                         s.q.input_offset) *
               (ck_code_at(gc->type, w, j * (size_t)gc->k + (size_t)q) + s.q.filter_offset);
      const int32_t want = naive_requantize(&s, (int32_t)j, acc);
      const int32_t got = ck_code_at(gc->type, c, (size_t)i * ldc + j);
      if (got != want) {
        test_fail(__FILE__, __LINE__,
                  "%s %s m=%d n=%d k=%d level %s: C[%d][%zu] = %d, want %d (acc %lld)",
                  gc->type == TFL_UINT8 ? "uint8" : "int8",
                  gc->mode == TFL_REQUANT_RUY ? "ruy" : "double", (int)gc->m, (int)gc->n,
                  (int)gc->k, tfl_cpu_level_name(level), (int)i, j, (int)got, (int)want,
                  (long long)acc);
        bad = 1;
      }
    }
  tfl_qgemm_weights_free(&pw);
  free(a);
  free(w);
  free(bias);
  free(c);
  return !bad;
}

static void run_gemm_cases(tfl_type type, tfl_window_requant mode) {
  static const int32_t ms[] = {1, 2, 5, 6, 7, 12, 13, 50};
  static const int32_t ns[] = {1, 3, 15, 16, 17, 32, 33, 100};
  static const int32_t ks[] = {1, 2, 3, 8, 15, 16, 17, 31, 32, 33, 96, 301};
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 12345;
  for (int l = 0; l < nl; l++)
    for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++)
      for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
          const gemm_case gc = {type, mode, ms[mi], ns[ni], ks[ki], -12, 2, 0, (ki & 1) == 0, 0,
                              WEIGHTS_ANY, (int)(mi % 3)};
          if (!check_gemm(&gc, levels[l], seed++)) return;
        }
}

/* Weights packed for one row (matrix-vector: byte panels on x86) and run on several. */
TEST(gemm_packed_for_one_row) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 4242;
  for (int l = 0; l < nl; l++)
    for (int32_t m = 1; m <= 7; m += 3)
      for (int t = 0; t < 2; t++) {
        const gemm_case gc = {t ? TFL_INT8 : TFL_UINT8, t ? TFL_REQUANT_RUY : TFL_REQUANT_DOUBLE,
                              m, 70, 37, -12, 2, 0, 1, 1, WEIGHTS_ANY, ACT_NEAR_ENDS};
        if (!check_gemm(&gc, levels[l], seed++)) return;
      }
}

/* Filters whose quads vpmaddubsw can take (AVX2 quad panels), mixed with ones it cannot,
 * and pairs right at the saturation bound. */
TEST(gemm_quad_panels) {
  static const int32_t ms[] = {2, 5, 6, 7, 13};
  static const int32_t ns[] = {1, 15, 16, 17, 40};
  static const int32_t ks[] = {1, 3, 4, 5, 8, 13, 31, 64};
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8};
  static const tfl_window_requant modes[] = {TFL_REQUANT_DOUBLE, TFL_REQUANT_RUY};
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 777;
  for (int l = 0; l < nl; l++)
    for (int shape = WEIGHTS_SMALL; shape <= WEIGHTS_SPLIT; shape++)
      for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++)
        for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
          for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
            const gemm_case gc = {types[seed & 1], modes[(seed >> 1) & 1], ms[mi], ns[ni],
                                  ks[ki], -12, 2, 0, (int)(ki & 1), 0, shape, ACT_NEAR_ENDS};
            if (!check_gemm(&gc, levels[l], seed++)) return;
          }
}

/* Filters right at the bound, under the largest inputs, so that any misjudged quad would
 * saturate (or, paired, wrap): every s = v (sign +-1) with one v + 1. v = 64: the pairs of
 * one quad sum to 128 (safe), one to 129; v = 32: two quads' lanes sum to 128 (they pair up),
 * one to 129 (its quads stay apart). Biases bring every accumulator near 1000 and the
 * multipliers are near 1/16, so that an error shows. */
TEST(gemm_quad_saturation_bound) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 31;
  for (int l = 0; l < nl; l++)
    for (int t = 0; t < 4; t++)
      for (int sign = -1; sign <= 1; sign += 2) {
        const int32_t v = t < 2 ? 64 : 32;
        const tfl_type type = t & 1 ? TFL_INT8 : TFL_UINT8;
        const int32_t m = 6, n = 16, k = 64, zp = t & 1 ? 0 : 128;
        qsetup s;
        uint32_t rng = seed++;
        qsetup_init(&s, type, TFL_REQUANT_DOUBLE, n, -5, -3, &rng);
        s.q.filter_offset = -zp;
        s.q.input_offset = t ? 5 : -3;
        uint8_t w[16 * 64], a[6 * 64];
        for (int32_t i = 0; i < n * k; i++) w[i] = (uint8_t)(v * sign + zp);
        w[3 * k + 20] = (uint8_t)((v + 1) * sign + zp); /* column 3, quad 5 */
        memset(a, t & 1 ? 0x7f : 0xff, sizeof(a));      /* u8 inputs 255 */
        int64_t sum[16];
        int32_t bias[16];
        for (int32_t j = 0; j < n; j++) {
          sum[j] = 0;
          for (int32_t q = 0; q < k; q++)
            sum[j] += (int64_t)(ck_code_at(type, a, (size_t)q) + s.q.input_offset) *
                      (ck_code_at(type, w, (size_t)j * (size_t)k + (size_t)q) - zp);
          bias[j] = (int32_t)(1000 - sum[j]);
        }
        tfl_tensor filter = ck_const_tensor(type, w), bias_t = ck_const_tensor(TFL_INT32, bias);
        tfl_qgemm_weights pw;
        memset(&pw, 0, sizeof(pw));
        REQUIRE(tfl_qgemm_pack(&pw, levels[l], &s.q, &filter, &bias_t, type, n, k, m) == TFL_OK);
        void *scratch = malloc(tfl_qgemm_scratch_bytes(&pw, 1));
        uint8_t c[6 * 16];
        tfl_qgemm_matrix(NULL, &pw, type, a, (size_t)k, s.q.input_offset, m, c, (size_t)n,
                         scratch);
        for (int32_t i = 0; i < m; i++)
          for (int32_t j = 0; j < n; j++)
            CHECK_EQ_INT(ck_code_at(type, c, (size_t)i * (size_t)n + (size_t)j),
                         naive_requantize(&s, j, sum[j] + bias[j]));
        free(scratch);
        tfl_qgemm_weights_free(&pw);
      }
}

/* The small filters above do take the quad panels on AVX2; with a few unsafe quads, split
 * so that no tile needs the int16 copy of A. */
TEST(gemm_quad_panels_are_used) {
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (hw < TFL_CPU_AVX2 || hw >= TFL_CPU_NEON) return;
  uint32_t rng = 5;
  int splits = 0;
  for (int t = 0; t < 8; t++) {
    const int split = t >= 2;
    qsetup s;
    qsetup_init(&s, t & 1 ? TFL_INT8 : TFL_UINT8, TFL_REQUANT_DOUBLE, 40, -12, 2, &rng);
    void *w = shaped_weights(&s, split ? WEIGHTS_SPLIT : WEIGHTS_SMALL, 40 * 64, &rng);
    tfl_tensor filter = ck_const_tensor(s.type, w);
    tfl_qgemm_weights pw;
    memset(&pw, 0, sizeof(pw));
    REQUIRE(tfl_qgemm_pack(&pw, TFL_CPU_AVX2, &s.q, &filter, NULL, s.type, 40, 64, 9) == TFL_OK);
    CHECK(pw.quad != NULL);
    if (split) {
      int32_t entries = 0;
      for (int32_t p = 0; p < 3; p++) entries += pw.entries[p];
      CHECK(!pw.wide);
      splits += entries > 3 * 16;
    }
    tfl_qgemm_weights_free(&pw);
    free(w);
  }
  CHECK(splits > 0);
}

TEST(gemm_uint8_double) { run_gemm_cases(TFL_UINT8, TFL_REQUANT_DOUBLE); }
TEST(gemm_int8_ruy) { run_gemm_cases(TFL_INT8, TFL_REQUANT_RUY); }
TEST(gemm_int8_double) { run_gemm_cases(TFL_INT8, TFL_REQUANT_DOUBLE); }
TEST(gemm_uint8_ruy) { run_gemm_cases(TFL_UINT8, TFL_REQUANT_RUY); }

/* Accumulators anywhere in int32 (biases over the whole range) and every shift TFLite
 * allows, for many seeds: this exercises the requantization's ties, wrap-around and
 * saturation cases. */
TEST(gemm_requantize_whole_range) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8};
  static const tfl_window_requant modes[] = {TFL_REQUANT_DOUBLE, TFL_REQUANT_RUY};
  for (int l = 0; l < nl; l++)
    for (int t = 0; t < 2; t++)
      for (int md = 0; md < 2; md++)
        for (uint32_t seed = 1; seed <= 40; seed++) {
          const gemm_case lo_shift = {types[t], modes[md], 7, 48, 2, -31, 0, 1, 1, 0,
                                      WEIGHTS_ANY, ACT_NEAR_ENDS};
          const gemm_case hi_shift = {types[t], modes[md], 7, 48, 3, -31, 30, 1, 1, 0,
                                      WEIGHTS_ANY, ACT_NEAR_ENDS};
          if (!check_gemm(&lo_shift, levels[l], seed) || !check_gemm(&hi_shift, levels[l], seed))
            return;
        }
}

/* The same with every shift negative (right 1 to 31, no left shift), where the kernels take
 * the fused requantization (tfl_qreq), on every panel kind: pairs (any filter), quads (small
 * filters), half panels (8 or fewer columns left) and the one-row byte panels. */
TEST(gemm_fused_requantize_whole_range) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  static const tfl_type types[] = {TFL_UINT8, TFL_INT8};
  static const tfl_window_requant modes[] = {TFL_REQUANT_DOUBLE, TFL_REQUANT_RUY};
  static const int32_t shapes[][4] = {/* m, n, k, pack_m */
                                      {7, 48, 3, 0}, {13, 24, 16, 0}, {5, 40, 27, 0},
                                      {1, 40, 20, 1}, {6, 8, 9, 0}};
  for (int l = 0; l < nl; l++)
    for (int t = 0; t < 2; t++)
      for (int md = 0; md < 2; md++)
        for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
          for (uint32_t seed = 1; seed <= 12; seed++) {
            const int32_t *d = shapes[sh];
            const int weights = seed & 1 ? WEIGHTS_SMALL : WEIGHTS_ANY;
            const gemm_case gc = {types[t], modes[md], d[0], d[1], d[2], -31, -1, 1, 1, d[3],
                                  weights, (int)(seed % 3)};
            if (!check_gemm(&gc, levels[l], seed)) return;
          }
}

/* k large enough for the true sum to leave int32: the reference wraps, so must the kernel. */
TEST(gemm_accumulator_wraps) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  for (int l = 0; l < nl; l++) {
    const int32_t k = 70000;
    uint8_t *a = malloc((size_t)k), *w = malloc((size_t)k * 2);
    memset(a, 255, (size_t)k);
    memset(w, 0, (size_t)k * 2);
    memset(w + k, 255, (size_t)k);
    qsetup s;
    uint32_t rng = 7;
    qsetup_init(&s, TFL_UINT8, TFL_REQUANT_DOUBLE, 2, -3, -1, &rng);
    s.q.input_offset = 0;
    s.q.filter_offset = 0;
    tfl_tensor filter = ck_const_tensor(TFL_UINT8, w);
    tfl_qgemm_weights pw;
    memset(&pw, 0, sizeof(pw));
    REQUIRE(tfl_qgemm_pack(&pw, levels[l], &s.q, &filter, NULL, TFL_UINT8, 2, k, 1) == TFL_OK);
    void *scratch = malloc(tfl_qgemm_scratch_bytes(&pw, 1));
    uint8_t c[2];
    tfl_qgemm_matrix(NULL, &pw, TFL_UINT8, a, (size_t)k, 0, 1, c, 2, scratch);
    CHECK_EQ_INT(c[0], naive_requantize(&s, 0, 0));
    CHECK_EQ_INT(c[1], naive_requantize(&s, 1, (int64_t)k * 255 * 255));
    free(scratch);
    tfl_qgemm_weights_free(&pw);
    free(a);
    free(w);
  }
}

/* --- convolutions -------------------------------------------------------------------- */

typedef struct conv_case {
  int32_t batches, h, w, in_c, out_c, kh, kw, stride, dilation;
  int same;
} conv_case;

static const conv_case conv_cases[] = {
    {1, 5, 5, 8, 16, 1, 1, 1, 1, 1},    {2, 4, 3, 17, 33, 1, 1, 1, 1, 0},
    {1, 7, 7, 3, 32, 3, 3, 2, 1, 1},    {1, 6, 5, 8, 20, 3, 3, 1, 1, 1},
    {2, 9, 8, 5, 7, 3, 3, 2, 1, 0},     {1, 7, 9, 4, 18, 3, 2, 1, 2, 1},
    {1, 8, 8, 16, 24, 1, 1, 2, 1, 1},   {1, 3, 3, 6, 5, 5, 5, 1, 1, 1},
    {1, 11, 10, 2, 3, 4, 4, 3, 1, 1},   {1, 1, 1, 40, 17, 1, 1, 1, 1, 0},
    /* single output pixels (matrix-vector packing) with odd runs, plain and dilated */
    {1, 3, 3, 3, 20, 3, 3, 1, 1, 0},    {1, 5, 5, 3, 12, 3, 3, 1, 2, 0},
    /* windows read in place (pair panels): output rows of 6 + 4 pixels, half panels, odd
     * runs, dilation */
    {1, 20, 20, 3, 24, 3, 3, 2, 1, 1},  {2, 15, 13, 3, 40, 3, 3, 2, 1, 0},
    {1, 12, 14, 5, 8, 3, 3, 1, 2, 1},   {1, 9, 17, 1, 16, 5, 3, 1, 1, 1},
};

/* Output code of conv pixel (n, oy, ox, oc), naively. */
static int32_t naive_conv(const conv_case *cc, const tfl_window *win, const qsetup *s,
                          const void *in, const void *f, const int32_t *bias, int32_t n,
                          int32_t oy, int32_t ox, int32_t oc) {
  int64_t acc = bias[oc];
  for (int32_t ky = 0; ky < cc->kh; ky++)
    for (int32_t kx = 0; kx < cc->kw; kx++) {
      const int32_t iy = oy * cc->stride - win->h.pad + ky * cc->dilation;
      const int32_t ix = ox * cc->stride - win->w.pad + kx * cc->dilation;
      if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w) continue;
      for (int32_t ic = 0; ic < cc->in_c; ic++) {
        const size_t xi = (((size_t)n * cc->h + iy) * cc->w + ix) * cc->in_c + ic;
        const size_t wi = (((size_t)oc * cc->kh + ky) * cc->kw + kx) * cc->in_c + ic;
        acc += (int64_t)(ck_code_at(s->type, in, xi) + s->q.input_offset) *
               (ck_code_at(s->type, f, wi) + s->q.filter_offset);
      }
    }
  return naive_requantize(s, oc, acc);
}

/* fused: every shift negative, so that the kernels take the fused requantization (tfl_qreq),
 * which a single non-negative shift among the channels rules out. */
static void check_conv(const conv_case *cc, tfl_cpu_level level, tfl_type type,
                       tfl_window_requant mode, int shape, int fused, uint32_t seed) {
  uint32_t rng = seed;
  qsetup s;
  qsetup_init(&s, type, mode, cc->out_c, fused ? -20 : -14, fused ? -1 : 1, &rng);
  tfl_window win = {ck_window_axis(cc->h, cc->kh, cc->stride, cc->dilation, cc->same),
                    ck_window_axis(cc->w, cc->kw, cc->stride, cc->dilation, cc->same)};
  const size_t in_n = (size_t)cc->batches * cc->h * cc->w * cc->in_c;
  const size_t f_n = (size_t)cc->out_c * cc->kh * cc->kw * cc->in_c;
  const size_t out_n = (size_t)cc->batches * win.h.out * win.w.out * cc->out_c;
  void *in = random_codes(type, in_n, &rng), *f = shaped_weights(&s, shape, f_n, &rng);
  int32_t *bias = random_bias((size_t)cc->out_c, &rng, 0);
  uint8_t *out = malloc(out_n ? out_n : 1);
  tfl_tensor input = ck_const_tensor(type, in), filter = ck_const_tensor(type, f),
             bias_t = ck_const_tensor(TFL_INT32, bias);
  tfl_qconv qc;
  memset(&qc, 0, sizeof(qc));
  CHECK(tfl_qconv_supports(level, 1, &s.q, &input, &filter, &bias_t));
  CHECK(!tfl_qconv_supports(TFL_CPU_SCALAR, 1, &s.q, &input, &filter, &bias_t));
  CHECK(!tfl_qconv_supports(level, 2, &s.q, &input, &filter, &bias_t));
  if (tfl_qconv_prepare(&qc, level, &win, cc->batches, cc->in_c, cc->out_c, &s.q, &input,
                        &filter, &bias_t) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "prepare failed");
  } else {
    void *scratch = malloc(tfl_qconv_scratch_bytes(&qc, 1));
    tfl_qconv_eval(NULL, &qc, in, out, scratch);
    free(scratch);
    size_t i = 0;
    int bad = 0;
    for (int32_t n = 0; n < cc->batches && !bad; n++)
      for (int32_t oy = 0; oy < win.h.out && !bad; oy++)
        for (int32_t ox = 0; ox < win.w.out && !bad; ox++)
          for (int32_t oc = 0; oc < cc->out_c && !bad; oc++, i++) {
            const int32_t want = naive_conv(cc, &win, &s, in, f, bias, n, oy, ox, oc);
            if (ck_code_at(type, out, i) != want) {
              test_fail(__FILE__, __LINE__, "conv %dx%d s%d d%d c%d->%d level %s: (%d,%d,%d,%d) "
                        "= %d, want %d", (int)cc->kh, (int)cc->kw, (int)cc->stride,
                        (int)cc->dilation, (int)cc->in_c, (int)cc->out_c,
                        tfl_cpu_level_name(level), (int)n, (int)oy, (int)ox, (int)oc,
                        (int)ck_code_at(type, out, i), (int)want);
              bad = 1;
            }
          }
  }
  tfl_qconv_free(&qc);
  free(in);
  free(f);
  free(bias);
  free(out);
}

TEST(conv_windows) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 99;
  for (int l = 0; l < nl; l++)
    for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
      for (int fused = 0; fused < 2; fused++) {
        check_conv(&conv_cases[i], levels[l], TFL_UINT8, TFL_REQUANT_DOUBLE, WEIGHTS_ANY, fused,
                   seed++);
        check_conv(&conv_cases[i], levels[l], TFL_INT8, TFL_REQUANT_RUY, WEIGHTS_ANY, fused,
                   seed++);
        /* filters the quad panels take */
        check_conv(&conv_cases[i], levels[l], TFL_UINT8, TFL_REQUANT_RUY, WEIGHTS_SMALL, fused,
                   seed++);
        check_conv(&conv_cases[i], levels[l], TFL_INT8, TFL_REQUANT_DOUBLE, WEIGHTS_SMALL,
                   fused, seed++);
        check_conv(&conv_cases[i], levels[l], TFL_UINT8, TFL_REQUANT_DOUBLE, WEIGHTS_SPLIT,
                   fused, seed++);
        check_conv(&conv_cases[i], levels[l], TFL_INT8, TFL_REQUANT_RUY, WEIGHTS_SPLIT, fused,
                   seed++);
      }
    }
}

typedef struct dw_case {
  int32_t batches, h, w, channels, kh, kw, stride, dilation;
  int same;
} dw_case;

static const dw_case dw_cases[] = {
    {1, 6, 6, 16, 3, 3, 1, 1, 1},  {1, 7, 7, 32, 3, 3, 2, 1, 1},  {2, 5, 6, 17, 3, 3, 1, 1, 0},
    {1, 8, 8, 8, 3, 3, 2, 1, 0},   {1, 9, 7, 40, 5, 5, 1, 1, 1},  {1, 7, 8, 3, 3, 3, 1, 2, 1},
    {1, 5, 5, 1, 2, 2, 1, 1, 1},   {1, 4, 9, 48, 1, 3, 2, 1, 1},  {1, 2, 2, 33, 3, 3, 1, 1, 1},
};

static int32_t naive_dw(const dw_case *dc, const tfl_window *win, const qsetup *s,
                        const void *in, const void *f, const int32_t *bias, int32_t n,
                        int32_t oy, int32_t ox, int32_t c) {
  int64_t acc = bias ? bias[c] : 0;
  for (int32_t ky = 0; ky < dc->kh; ky++)
    for (int32_t kx = 0; kx < dc->kw; kx++) {
      const int32_t iy = oy * dc->stride - win->h.pad + ky * dc->dilation;
      const int32_t ix = ox * dc->stride - win->w.pad + kx * dc->dilation;
      if (iy < 0 || iy >= dc->h || ix < 0 || ix >= dc->w) continue;
      const size_t xi = (((size_t)n * dc->h + iy) * dc->w + ix) * dc->channels + c;
      const size_t wi = ((size_t)ky * dc->kw + kx) * dc->channels + c;
      acc += (int64_t)(ck_code_at(s->type, in, xi) + s->q.input_offset) *
             (ck_code_at(s->type, f, wi) + s->q.filter_offset);
    }
  return naive_requantize(s, c, acc);
}

static void check_dw(const dw_case *dc, tfl_cpu_level level, tfl_type type,
                     tfl_window_requant mode, int has_bias, uint32_t seed) {
  uint32_t rng = seed;
  qsetup s;
  qsetup_init(&s, type, mode, dc->channels, -14, 1, &rng);
  tfl_window win = {ck_window_axis(dc->h, dc->kh, dc->stride, dc->dilation, dc->same),
                    ck_window_axis(dc->w, dc->kw, dc->stride, dc->dilation, dc->same)};
  const size_t in_n = (size_t)dc->batches * dc->h * dc->w * dc->channels;
  const size_t f_n = (size_t)dc->kh * dc->kw * dc->channels;
  const size_t out_n = (size_t)dc->batches * win.h.out * win.w.out * dc->channels;
  void *in = random_codes(type, in_n, &rng), *f = random_codes(type, f_n, &rng);
  int32_t *bias = random_bias((size_t)dc->channels, &rng, 0);
  uint8_t *out = malloc(out_n ? out_n : 1);
  tfl_tensor input = ck_const_tensor(type, in), filter = ck_const_tensor(type, f),
             bias_t = ck_const_tensor(TFL_INT32, bias);
  const tfl_tensor *bias_p = has_bias ? &bias_t : NULL;
  tfl_qdwconv dw;
  memset(&dw, 0, sizeof(dw));
  CHECK(tfl_qdwconv_supports(level, 1, &win, &s.q, &input, &filter, bias_p));
  CHECK(!tfl_qdwconv_supports(level, 2, &win, &s.q, &input, &filter, bias_p));
  CHECK(!tfl_qdwconv_supports(TFL_CPU_SCALAR, 1, &win, &s.q, &input, &filter, bias_p));
  if (tfl_qdwconv_prepare(&dw, level, &win, dc->batches, dc->channels, &s.q, &input, &filter,
                          bias_p) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "prepare failed");
  } else {
    tfl_qdwconv_eval(NULL, &dw, in, out);
    size_t i = 0;
    int bad = 0;
    for (int32_t n = 0; n < dc->batches && !bad; n++)
      for (int32_t oy = 0; oy < win.h.out && !bad; oy++)
        for (int32_t ox = 0; ox < win.w.out && !bad; ox++)
          for (int32_t c = 0; c < dc->channels && !bad; c++, i++) {
            const int32_t want =
                naive_dw(dc, &win, &s, in, f, has_bias ? bias : NULL, n, oy, ox, c);
            if (ck_code_at(type, out, i) != want) {
              test_fail(__FILE__, __LINE__, "dw %dx%d s%d d%d c%d level %s: (%d,%d,%d,%d) = %d, "
                        "want %d", (int)dc->kh, (int)dc->kw, (int)dc->stride,
                        (int)dc->dilation, (int)dc->channels, tfl_cpu_level_name(level),
                        (int)n, (int)oy, (int)ox, (int)c, (int)ck_code_at(type, out, i),
                        (int)want);
              bad = 1;
            }
          }
  }
  tfl_qdwconv_free(&dw);
  free(in);
  free(f);
  free(bias);
  free(out);
}

TEST(depthwise_windows) {
  tfl_cpu_level levels[2];
  const int nl = test_levels(levels);
  uint32_t seed = 777;
  for (int l = 0; l < nl; l++)
    for (size_t i = 0; i < sizeof(dw_cases) / sizeof(dw_cases[0]); i++) {
      check_dw(&dw_cases[i], levels[l], TFL_UINT8, TFL_REQUANT_DOUBLE, 1, seed++);
      check_dw(&dw_cases[i], levels[l], TFL_INT8, TFL_REQUANT_DOUBLE, (int)(i & 1), seed++);
      check_dw(&dw_cases[i], levels[l], TFL_INT8, TFL_REQUANT_RUY, 1, seed++);
    }
}

TEST(unsupported_arithmetic_is_declined) {
  uint32_t rng = 5;
  qsetup s;
  qsetup_init(&s, TFL_INT8, TFL_REQUANT_RUY, 4, -5, 0, &rng);
  int8_t w[4] = {0};
  int64_t b64[4] = {0};
  tfl_tensor input = ck_const_tensor(TFL_INT8, NULL), filter = ck_const_tensor(TFL_INT8, w),
             bias64 = ck_const_tensor(TFL_INT64, b64), in16 = ck_const_tensor(TFL_INT16, NULL);
  CHECK(tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &input, &filter, NULL));
  CHECK(!tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &in16, &filter, NULL));
  CHECK(!tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &input, &filter, &bias64));
  filter.alloc = TFL_ALLOC_ARENA; /* a filter computed at run time */
  CHECK(!tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &input, &filter, NULL));
  filter.alloc = TFL_ALLOC_CONST;
  s.q.acc64 = 1;
  CHECK(!tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &input, &filter, NULL));
  s.q.acc64 = 0;
  s.q.mode = TFL_REQUANT_REAL;
  CHECK(!tfl_qreq_supports(TFL_CPU_AVX2, &s.q, &input, &filter, NULL));
}

/* --- through the interpreter ----------------------------------------------------------- */

/* A constant of n random codes (a byte each), or of n int32 biases. */
static int random_const(mb_model *m, tfl_type type, int ndim, const int32_t *dims, size_t n,
                        uint32_t *rng) {
  const size_t bytes = type == TFL_INT32 ? n * sizeof(int32_t) : n;
  uint8_t *data = malloc(bytes);
  for (size_t i = 0; i < n; i++) {
    if (type == TFL_INT32)
      ((int32_t *)(void *)data)[i] = ck_xorshift_in(rng, -3000, 3000);
    else
      data[i] = (uint8_t)ck_xorshift(rng);
  }
  const int t = mb_tensor(m, type, ndim, dims, data, bytes, NULL);
  free(data);
  return t;
}

/* An activation tensor with one scale and zero point. */
static int activation(mb_model *m, tfl_type type, int ndim, const int32_t *dims, float scale,
                      int64_t zp, const char *name) {
  const int t = mb_tensor(m, type, ndim, dims, NULL, 0, name);
  mb_quant(m, t, 1, &scale, &zp, 0);
  return t;
}

/* A weighted op's filter (one scale, or with `per_channel` one for each of the `channels`
 * along `axis`) and int32 bias whose scales are in_scale times the filter's. */
static void weights(mb_model *m, tfl_type type, int ndim, const int32_t *dims, int axis,
                    int32_t channels, int per_channel, float in_scale, uint32_t *rng,
                    int *filter, int *bias) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  *filter = random_const(m, type, ndim, dims, n, rng);
  *bias = random_const(m, TFL_INT32, 1, &channels, (size_t)channels, rng);
  float ws[64], bs[64];
  int64_t zps[64] = {0}, bzp[64] = {0};
  const int count = per_channel ? channels : 1;
  for (int c = 0; c < count; c++) {
    ws[c] = 0.002f + 0.0005f * (float)(c % 7);
    bs[c] = in_scale * ws[c];
  }
  if (type == TFL_UINT8) zps[0] = 121;
  mb_quant(m, *filter, count, ws, zps, per_channel ? axis : 0);
  mb_quant(m, *bias, count, bs, bzp, 0);
}

/* CONV_2D 3x3 SAME RELU6 -> DEPTHWISE_CONV_2D 3x3 stride 2 -> CONV_2D 1x1 -> FULLY_CONNECTED,
 * in `type` (int8: per-channel filters; uint8: per-tensor ones with a zero point). */
static uint8_t *quant_chain_model(tfl_type type, size_t *size) {
  static const int32_t in_dims[] = {2, 9, 10, 5}, conv_f[] = {12, 3, 3, 5};
  static const int32_t conv_o[] = {2, 9, 10, 12}, dw_f[] = {1, 3, 3, 12}, dw_o[] = {2, 5, 5, 12};
  static const int32_t pw_f[] = {16, 1, 1, 12}, pw_o[] = {2, 5, 5, 16}, fc_w[] = {7, 400};
  static const int32_t fc_o[] = {2, 7};
  const int64_t zp = type == TFL_UINT8 ? 128 : 0, relu_zp = type == TFL_UINT8 ? 0 : -128;
  uint32_t rng = 99;
  mb_model *m = mb_new();
  int w[4], b[4];
  const int x = activation(m, type, 4, in_dims, 0.05f, zp + 3, "x");
  const int pc = type == TFL_INT8;
  weights(m, type, 4, conv_f, 0, 12, pc, 0.05f, &rng, &w[0], &b[0]);
  const int t1 = activation(m, type, 4, conv_o, 0.03f, relu_zp, NULL);
  weights(m, type, 4, dw_f, 3, 12, pc, 0.03f, &rng, &w[1], &b[1]);
  const int t2 = activation(m, type, 4, dw_o, 0.004f, zp - 10, NULL);
  weights(m, type, 4, pw_f, 0, 16, pc, 0.004f, &rng, &w[2], &b[2]);
  const int t3 = activation(m, type, 4, pw_o, 0.0015f, zp + 5, NULL);
  weights(m, type, 2, fc_w, 0, 7, 0, 0.0015f, &rng, &w[3], &b[3]);
  const int y = activation(m, type, 2, fc_o, 0.002f, zp, "y");
  const mb_field conv_opt[] = {MB_BYTE(0, 0), MB_INT(1, 1), MB_INT(2, 1), MB_BYTE(3, 3),
                               MB_FIELDS_END};
  const mb_field dw_opt[] = {MB_BYTE(0, 0), MB_INT(1, 2), MB_INT(2, 2), MB_FIELDS_END};
  const mb_field pw_opt[] = {MB_BYTE(0, 1), MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  mb_op(m, TFL_OP_CONV_2D, 1, 3, (int[]){x, w[0], b[0]}, 1, &t1, TFL_OPTS_CONV_2D, conv_opt);
  mb_op(m, TFL_OP_DEPTHWISE_CONV_2D, 1, 3, (int[]){t1, w[1], b[1]}, 1, &t2,
        TFL_OPTS_DEPTHWISE_CONV_2D, dw_opt);
  mb_op(m, TFL_OP_CONV_2D, 1, 3, (int[]){t2, w[2], b[2]}, 1, &t3, TFL_OPTS_CONV_2D, pw_opt);
  mb_op(m, TFL_OP_FULLY_CONNECTED, 1, 3, (int[]){t3, w[3], b[3]}, 1, &y, 0, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

/* Runs the model on `threads` threads, with TFL_CPU set to `cpu` while the interpreter is
 * created (NULL: as it is), on random input codes; copies the 14 output codes to out. */
static tfl_status run_quant_chain(const uint8_t *bytes, size_t size, int threads,
                                  const char *cpu, uint8_t *out) {
  tfl_model *model;
  tfl_interpreter *interp;
  char err[256] = "";
  tfl_status st = ck_open(bytes, size, threads, cpu, &model, &interp, err, sizeof(err));
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(interp);
  if (st != TFL_OK) fprintf(stderr, "  %s\n", interp ? tfl_interpreter_error(interp) : err);
  if (st == TFL_OK) {
    tfl_tensor *x = tfl_interpreter_input(interp, 0);
    uint8_t *in = tfl_tensor_data(x);
    uint32_t rng = 7;
    for (size_t i = 0; i < tfl_tensor_byte_size(x); i++) in[i] = (uint8_t)ck_xorshift(&rng);
    st = tfl_interpreter_invoke(interp);
  }
  if (st == TFL_OK) memcpy(out, tfl_tensor_data_const(tfl_interpreter_output(interp, 0)), 14);
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return st;
}

/* Through the interpreter: the fast paths give the reference kernels' codes exactly, on one
 * thread or two. */
TEST(fast_paths_in_a_model_match_the_reference) {
  for (int t = 0; t < 2; t++) {
    size_t size = 0;
    uint8_t *bytes = quant_chain_model(t ? TFL_INT8 : TFL_UINT8, &size);
    REQUIRE(bytes != NULL);
    uint8_t one[14], two[14], ref[14];
    CHECK_EQ_INT(run_quant_chain(bytes, size, 1, NULL, one), TFL_OK);
    CHECK_EQ_INT(run_quant_chain(bytes, size, 2, NULL, two), TFL_OK);
    CHECK_EQ_INT(run_quant_chain(bytes, size, 1, "scalar", ref), TFL_OK);
    CHECK(memcmp(one, ref, sizeof(one)) == 0);
    CHECK(memcmp(two, ref, sizeof(two)) == 0);
    int varied = 0; /* outputs that are not all one code: the chain carries signal */
    for (int i = 1; i < 14; i++) varied |= ref[i] != ref[0];
    CHECK(varied);
    free(bytes);
  }
}

int main(void) {
  RUN(gemm_uint8_double);
  RUN(gemm_int8_ruy);
  RUN(gemm_int8_double);
  RUN(gemm_uint8_ruy);
  RUN(gemm_requantize_whole_range);
  RUN(gemm_fused_requantize_whole_range);
  RUN(gemm_accumulator_wraps);
  RUN(gemm_packed_for_one_row);
  RUN(gemm_quad_panels);
  RUN(gemm_quad_panels_are_used);
  RUN(gemm_quad_saturation_bound);
  RUN(conv_windows);
  RUN(depthwise_windows);
  RUN(unsupported_arithmetic_is_declined);
  RUN(fast_paths_in_a_model_match_the_reference);
  return test_summary();
}
