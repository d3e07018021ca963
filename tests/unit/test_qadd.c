/* The quantized ADD/SUB fast path (qadd.h) against TFLite's formula written out here with
 * quant.h's multiplier, for every kernel this machine runs: random multipliers, shifts, zero
 * points and clamps, both 8-bit types, ADD and SUB, broadcast operands (step 0) and lengths
 * around the 32-element vector step. Then the ops themselves (binary.c takes the fast path
 * where it exists) against the reference kernels (TFL_CPU=scalar), bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qadd.h"
#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static int32_t expected(const tfl_qadd *q, int32_t x, int32_t y) {
  const int32_t a = tfl_mul_by_quantized_multiplier((x + q->in1_offset) * (1 << q->left_shift),
                                                    q->in1_multiplier, q->in1_shift);
  const int32_t b = tfl_mul_by_quantized_multiplier((y + q->in2_offset) * (1 << q->left_shift),
                                                    q->in2_multiplier, q->in2_shift);
  int32_t v = tfl_mul_by_quantized_multiplier(q->sub ? a - b : a + b, q->out_multiplier,
                                              q->out_shift);
  v += q->out_offset;
  return v < q->act_min ? q->act_min : v > q->act_max ? q->act_max : v;
}

/* `sensitive`: little headroom (left_shift 0 to 3) and an output multiplier near 1, so that
 * rounding ties of every multiplication show in the output codes (TFLite's own parameters,
 * left_shift 20 and a tiny output multiplier, hide most of them). */
static void random_params(tfl_qadd *q, int sensitive, uint32_t *rng) {
  const int32_t lo = q->type == TFL_UINT8 ? 0 : -128, hi = q->type == TFL_UINT8 ? 255 : 127;
  q->in1_offset = -ck_xorshift_in(rng, lo, hi);
  q->in2_offset = -ck_xorshift_in(rng, lo, hi);
  q->out_offset = ck_xorshift_in(rng, lo, hi);
  q->left_shift = sensitive ? ck_xorshift_in(rng, 0, 3) : 20;
  /* Input multipliers below 1/2 as TFLite's (in_scale / 2 max(in_scales)); output ones
   * anywhere, including SUB's above 1. */
  tfl_quantize_multiplier(0.05 + 0.45 * (double)(ck_xorshift(rng) % 1000) / 1000.0,
                          &q->in1_multiplier, &q->in1_shift);
  tfl_quantize_multiplier(0.5 * (double)(ck_xorshift(rng) % 1000 + 1) / 1000.0,
                          &q->in2_multiplier, &q->in2_shift);
  /* Sums reach 2^28: most outputs land inside the type's range, some clamp; SUB sometimes
   * gets a multiplier of 1 or more (a left shift), as TFLite allows there. */
  const double u = (double)(ck_xorshift(rng) % 1000) / 1000.0;
  const double out_real = q->sub && ck_xorshift(rng) % 8 == 0 ? 1.0 + 3.0 * u
                          : sensitive ? (0.25 + 0.7 * u) / (1 << q->left_shift)
                                      : (0.02 + 0.98 * u) / (1 << 18);
  tfl_quantize_multiplier(out_real, &q->out_multiplier, &q->out_shift);
  q->act_min = ck_xorshift_in(rng, lo, lo + 30);
  q->act_max = ck_xorshift_in(rng, hi - 30, hi);
}

static int check_run(tfl_cpu_level level, tfl_type type, int sub, int a_step, int b_step,
                     size_t n, uint32_t seed) {
  uint32_t rng = seed;
  tfl_qadd q;
  memset(&q, 0, sizeof(q));
  if (!tfl_qadd_setup(&q, level, type)) q.run = tfl_qadd_run_portable;
  q.sub = sub;
  random_params(&q, seed & 1, &rng);
  tfl_qadd_plan(&q);
  uint8_t *a = malloc(n + 1), *b = malloc(n + 1), *out = malloc(n + 1);
  for (size_t i = 0; i <= n; i++) {
    a[i] = (uint8_t)ck_xorshift(&rng);
    b[i] = (uint8_t)ck_xorshift(&rng);
  }
  out[n] = 0x5A;
  q.run(&q, a, a_step, b, b_step, out, n);
  int ok = out[n] == 0x5A;
  for (size_t i = 0; i < n && ok; i++) {
    const int32_t want = expected(&q, ck_code_at(type, a, i * (size_t)a_step),
                                  ck_code_at(type, b, i * (size_t)b_step));
    if (ck_code_at(type, out, i) != want) {
      test_fail(__FILE__, __LINE__, "%s %s steps %d/%d n=%zu level %s: out[%zu] = %d, want %d",
                type == TFL_UINT8 ? "uint8" : "int8", sub ? "sub" : "add", a_step, b_step, n,
                tfl_cpu_level_name(level), i, (int)ck_code_at(type, out, i), (int)want);
      ok = 0;
    }
  }
  free(a);
  free(b);
  free(out);
  return ok;
}

TEST(matches_the_formula) {
  tfl_cpu_level levels[2] = {TFL_CPU_NEON, TFL_CPU_AVX2};
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  const int nl = hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON ? 2 : 1;
  static const size_t lengths[] = {0, 1, 7, 31, 32, 33, 64, 95, 1000};
  static const int steps[][2] = {{1, 1}, {0, 1}, {1, 0}};
  uint32_t seed = 1;
  for (int l = 0; l < nl; l++)
    for (int t = 0; t < 2; t++)
      for (int sub = 0; sub < 2; sub++)
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
          for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
            for (int rep = 0; rep < 8; rep++)
              if (!check_run(levels[l], t ? TFL_INT8 : TFL_UINT8, sub, steps[s][0], steps[s][1],
                             lengths[i], seed++))
                return;
}

/* ADD/SUB parameters as binary.c derives them from scales and zero points. */
static void params_from_scales(tfl_qadd *q, double s1, double s2, double s_out, int32_t zp1,
                               int32_t zp2, int32_t zp_out) {
  const double twice_max = 2.0 * (s1 > s2 ? s1 : s2);
  q->left_shift = 20;
  q->in1_offset = -zp1;
  q->in2_offset = -zp2;
  q->out_offset = zp_out;
  tfl_quantize_multiplier(s1 / twice_max, &q->in1_multiplier, &q->in1_shift);
  tfl_quantize_multiplier(s2 / twice_max, &q->in2_multiplier, &q->in2_shift);
  tfl_quantize_multiplier(twice_max / ((1 << 20) * s_out), &q->out_multiplier, &q->out_shift);
  tfl_quantized_type_range(q->type, &q->act_min, &q->act_max);
}

/* Every pair of codes, both operands varying and each one fixed in turn. */
static int check_every_pair(const tfl_qadd *q) {
  static uint8_t a[65536], b[65536], out[65536], codes[256];
  for (int i = 0; i < 65536; i++) {
    a[i] = (uint8_t)(i >> 8);
    b[i] = (uint8_t)i;
  }
  for (int i = 0; i < 256; i++) codes[i] = (uint8_t)i;
  q->run(q, a, 1, b, 1, out, 65536);
  for (int i = 0; i < 65536; i++) {
    const int32_t x = ck_code_at(q->type, a, (size_t)i), y = ck_code_at(q->type, b, (size_t)i);
    if (ck_code_at(q->type, out, (size_t)i) != expected(q, x, y)) {
      test_fail(__FILE__, __LINE__, "%s: %d %s %d gives %d, want %d",
                q->type == TFL_UINT8 ? "uint8" : "int8", (int)x, q->sub ? "-" : "+", (int)y,
                (int)ck_code_at(q->type, out, (size_t)i), (int)expected(q, x, y));
      return 0;
    }
  }
  for (int f = 0; f < 256; f++) {
    q->run(q, &codes[f], 0, codes, 1, out, 256);
    q->run(q, codes, 1, &codes[f], 0, out + 256, 256);
    for (int i = 0; i < 256; i++) {
      const int32_t x = ck_code_at(q->type, codes, (size_t)f), y = ck_code_at(q->type, codes, (size_t)i);
      if (ck_code_at(q->type, out, (size_t)i) != expected(q, x, y) ||
          ck_code_at(q->type, out, (size_t)(256 + i)) != expected(q, y, x)) {
        test_fail(__FILE__, __LINE__, "%s: a fixed operand %d gives a wrong output",
                  q->type == TFL_UINT8 ? "uint8" : "int8", (int)x);
        return 0;
      }
    }
  }
  return 1;
}

/* The float form (qadd.h) where it applies, on every pair of codes: scales as models have
 * them (ratios 1/8 to 8 between inputs and output, up to 64 for SUB's output), every zero
 * point range. Most of these parameter sets must take the float form. */
TEST(float_form_is_exact_on_every_pair) {
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  tfl_qadd q;
  memset(&q, 0, sizeof(q));
  if (!tfl_qadd_setup(&q, hw, TFL_UINT8)) return;
  uint32_t rng = 7;
  int sets = 0, float_sets = 0;
  for (int t = 0; t < 2; t++)
    for (int sub = 0; sub < 2; sub++)
      for (int rep = 0; rep < 12; rep++) {
        memset(&q, 0, sizeof(q));
        REQUIRE(tfl_qadd_setup(&q, hw, t ? TFL_INT8 : TFL_UINT8));
        q.sub = sub;
        const int32_t lo = t ? -128 : 0, hi = t ? 127 : 255;
        const double s1 = 0.01 * pow(2.0, ck_xorshift_in(&rng, -300, 300) / 100.0);
        const double s2 = 0.01 * pow(2.0, ck_xorshift_in(&rng, -300, 300) / 100.0);
        const double s_out =
            0.01 * pow(2.0, ck_xorshift_in(&rng, sub ? -600 : -300, 300) / 100.0);
        if (2.0 * (s1 > s2 ? s1 : s2) / s_out >= (sub ? 64.0 : 1.0) * (1 << 20)) continue;
        params_from_scales(&q, s1, s2, s_out, ck_xorshift_in(&rng, lo, hi), ck_xorshift_in(&rng, lo, hi),
                           ck_xorshift_in(&rng, lo, hi));
        if (rep % 3 == 1) {
          q.act_min = ck_xorshift_in(&rng, lo, lo + 60);
          q.act_max = ck_xorshift_in(&rng, hi - 60, hi);
        }
        tfl_qadd_plan(&q);
        sets++;
        float_sets += q.use_float;
        if (!check_every_pair(&q)) return;
      }
  CHECK(float_sets * 4 >= sets * 3);
}

TEST(setup_declines_what_it_cannot_run) {
  tfl_qadd q;
  CHECK(!tfl_qadd_setup(&q, TFL_CPU_SCALAR, TFL_INT8));
  CHECK(!tfl_qadd_setup(&q, TFL_CPU_AVX2, TFL_INT16));
  CHECK(q.run == NULL);
}

/* One quantized ADD or SUB of random codes through the public API, TFL_CPU set to `cpu`
 * (NULL: the machine's level) while it runs; the output codes into out. */
static int run_op(int op, tfl_type type, int act, const int32_t *da, const int32_t *db,
                  const uint8_t *a, const uint8_t *b, const float *scales,
                  const int64_t *zps, const char *cpu, uint8_t *out, size_t n) {
  ot_spec in[2] = {OT_IN(type, 3, da, a), OT_IN(type, 3, db, b)};
  ot_spec outs[1] = {OT_OUT(type)};
  for (int i = 0; i < 2; i++) {
    in[i].q_count = 1;
    in[i].scales = &scales[i];
    in[i].zero_points = &zps[i];
  }
  outs[0].q_count = 1;
  outs[0].scales = &scales[2];
  outs[0].zero_points = &zps[2];
  const mb_field opts[] = {MB_BYTE(0, act), MB_FIELDS_END};
  const ot_op spec = {.builtin_code = op, .version = 1,
                      .options_type = op == TFL_OP_ADD ? TFL_OPTS_ADD : TFL_OPTS_SUB,
                      .options = opts, .cpu = cpu};
  ot_result r;
  const tfl_status st = ot_run_op(&spec, in, 2, outs, 1, &r);
  const int ok = st == TFL_OK && r.out[0].bytes == n;
  if (ok) memcpy(out, r.out[0].data, n);
  ot_result_free(&r);
  return ok;
}

TEST(ops_match_the_reference_kernels) {
  if (getenv("TFL_CPU")) return; /* the comparison needs both levels */
  static const int32_t shapes[][2][3] = {{{2, 5, 9}, {2, 5, 9}}, {{2, 5, 9}, {1, 1, 9}},
                                         {{3, 1, 40}, {1, 4, 1}}, {{1, 1, 1}, {2, 3, 33}}};
  static const int acts[] = {TFL_ACT_NONE, TFL_ACT_RELU, TFL_ACT_RELU6};
  uint32_t rng = 99;
  for (int t = 0; t < 2; t++)
    for (int op = 0; op < 2; op++)
      for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
        for (int rep = 0; rep < 4; rep++) {
          const tfl_type type = t ? TFL_INT8 : TFL_UINT8;
          const int32_t *da = shapes[sh][0], *db = shapes[sh][1];
          size_t n = 1;
          for (int d = 0; d < 3; d++) n *= (size_t)(da[d] > db[d] ? da[d] : db[d]);
          uint8_t a[512], b[512], got[512], want[512];
          REQUIRE(n <= sizeof(got));
          for (size_t i = 0; i < sizeof(a); i++) {
            a[i] = (uint8_t)ck_xorshift(&rng);
            b[i] = (uint8_t)ck_xorshift(&rng);
          }
          const float scales[3] = {0.01f + 0.001f * (float)ck_xorshift_in(&rng, 0, 90),
                                   0.01f + 0.001f * (float)ck_xorshift_in(&rng, 0, 90),
                                   0.02f + 0.001f * (float)ck_xorshift_in(&rng, 0, 90)};
          const int32_t lo = t ? -128 : 0, hi = t ? 127 : 255;
          const int64_t zps[3] = {ck_xorshift_in(&rng, lo, hi), ck_xorshift_in(&rng, lo, hi),
                                  ck_xorshift_in(&rng, lo, hi)};
          const int code = op ? TFL_OP_SUB : TFL_OP_ADD, act = acts[rep % 3];
          REQUIRE(run_op(code, type, act, da, db, a, b, scales, zps, NULL, got, n));
          REQUIRE(run_op(code, type, act, da, db, a, b, scales, zps, "scalar", want, n));
          for (size_t i = 0; i < n; i++)
            if (got[i] != want[i]) {
              test_fail(__FILE__, __LINE__, "%s %s shapes %zu act %d: output %zu = %d, want %d",
                        t ? "int8" : "uint8", op ? "SUB" : "ADD", sh, act, i, got[i], want[i]);
              break;
            }
        }
}

int main(void) {
  RUN(matches_the_formula);
  RUN(float_form_is_exact_on_every_pair);
  RUN(setup_declines_what_it_cannot_run);
  RUN(ops_match_the_reference_kernels);
  return test_summary();
}
