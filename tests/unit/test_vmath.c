/* The vector math of kernels/vmath.h at this machine's SIMD level (AVX2 or NEON), against the
 * functions evaluated in double:
 *   - ulp error over a dense sweep of float bit patterns (every TEST_VMATH_STEP-th one, both
 *     signs, covering subnormal inputs and results, overflow and underflow); vmath.h's figures
 *     come from a build with -DTEST_VMATH_STEP=61 (1 sweeps every float);
 *   - special values exactly: +-0, +-inf, NaN, the overflow and underflow thresholds, the
 *     LOGISTIC cutoffs; HARD_SWISH bit for bit against the reference formula;
 *   - every length 0..40 (vector tails), in place and out of place, without touching floats
 *     past the end; the softmax helpers (max ignoring NaN, exp sums, division);
 *   - the ops through the interpreter at this level against TFL_CPU=scalar (libm).
 * On a machine without a SIMD level only the dispatch (NULL at scalar) is checked. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/vmath.h"
#include "model/ops.h"
#include "runtime/cpu.h"
#include "util/op_runner.h"
#include "util/test.h"

#ifndef TEST_VMATH_STEP
#define TEST_VMATH_STEP 509 /* about 8.4 million inputs per function */
#endif

static const tfl_vmath *vm(void) { return tfl_vmath_get(tfl_cpu_detect_hardware()); }

static float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof(f));
  return f;
}

/* References in double, with the float intermediates the kernels' formulas define. */
static double ref_exp(float x) { return exp(x); }
static double ref_logistic(float x) {
  if (x > TFL_VM_LOGISTIC_ONE) return 1.0;
  if (x < TFL_VM_LOGISTIC_EXP) return exp(x);
  return 1.0 / (1.0 + exp(-(double)x));
}
static double ref_tanh(float x) { return tanh(x); }
static double ref_elu(float x) { return x < 0 ? expm1(x) : x; }
static double ref_gelu_erf(float x) {
  const float z = x * TFL_VM_MINUS_SQRT_HALF; /* the argument the reference gives erfcf */
  return 0.5 * x * erfc(z);
}
static double ref_gelu_tanh(float x) {
  const float u = TFL_VM_SQRT_2_OVER_PI * (x + TFL_VM_GELU_CUBIC * x * x * x);
  return x / (1.0 + exp(-2.0 * u));
}

/* |got - want| in units of the float spacing at want (2^-149 for subnormal results); 0 when
 * both are the same infinity or NaN, 1e30 for a wrong infinity or NaN. */
static double ulp_error(float got, double want) {
  const float wf = (float)want;
  if (isnan(want) || isinf(wf)) return (isnan(want) ? isnan(got) : got == wf) ? 0.0 : 1e30;
  if (isnan(got) || isinf(got)) return 1e30;
  const double a = fabs(want);
  const double ulp = a < FLT_MIN ? ldexp(1.0, -149) : ldexp(1.0, ilogb(a) - 23);
  return fabs((double)got - want) / ulp;
}

/* Results below this are "tiny": they, or (for GELU) the exp inside them, may be subnormal. */
#define TINY 0x1p-120

typedef struct sweep_stats {
  double normal; /* max ulps where |result| >= TINY */
  double tiny;   /* max ulps where it is below (subnormal ulps 2^-149) */
  float worst_x, worst_tiny_x;
} sweep_stats;

/* Runs f over the sweep (in blocks, as the kernels do) and collects the ulp errors. */
static sweep_stats sweep(tfl_vmath_fn f, double (*ref)(float)) {
  enum { BLOCK = 4096 };
  static float x[BLOCK], y[BLOCK];
  sweep_stats s = {0, 0, 0, 0};
  uint64_t bits = 0;
  while (bits <= 0xffffffffu) {
    int n = 0;
    for (; n < BLOCK && bits <= 0xffffffffu; bits += TEST_VMATH_STEP)
      x[n++] = from_bits((uint32_t)bits);
    f(x, y, (size_t)n);
    for (int i = 0; i < n; i++) {
      const double want = ref(x[i]), e = ulp_error(y[i], want);
      const int tiny = fabs(want) < TINY;
      if (e > (tiny ? s.tiny : s.normal)) {
        *(tiny ? &s.tiny : &s.normal) = e;
        *(tiny ? &s.worst_tiny_x : &s.worst_x) = x[i];
      }
    }
  }
  return s;
}

static void check_sweep(const char *name, tfl_vmath_fn f, double (*ref)(float),
                        double max_ulps, double max_tiny_ulps) {
  const sweep_stats s = sweep(f, ref);
  printf("  %-10s max %.3f ulp (at x = %.9g); tiny results %.3f ulp (at x = %.9g)\n", name,
         s.normal, (double)s.worst_x, s.tiny, (double)s.worst_tiny_x);
  if (!(s.normal <= max_ulps))
    test_fail(__FILE__, __LINE__, "%s: %.3f ulp at x = %.9g (bound %g)", name, s.normal,
              (double)s.worst_x, max_ulps);
  if (!(s.tiny <= max_tiny_ulps))
    test_fail(__FILE__, __LINE__, "%s: %.3f ulp at x = %.9g for a tiny result (bound %g)", name,
              s.tiny, (double)s.worst_tiny_x, max_tiny_ulps);
}

TEST(accuracy_over_the_float_range) {
  const tfl_vmath *v = vm();
  if (!v) return;
  check_sweep("exp", v->exp, ref_exp, 1.0, 1.0);
  check_sweep("logistic", v->logistic, ref_logistic, 2.0, 1.0);
  check_sweep("tanh", v->tanh, ref_tanh, 2.0, 1.0);
  check_sweep("elu", v->elu, ref_elu, 1.0, 1.0);
  check_sweep("gelu_erf", v->gelu_erf, ref_gelu_erf, 5.0, 8.0);
  check_sweep("gelu_tanh", v->gelu_tanh, ref_gelu_tanh, 3.0, 8.0);
}

static float one(tfl_vmath_fn f, float x) {
  float y;
  f(&x, &y, 1);
  return y;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof(a)) == 0; }

TEST(special_values) {
  const tfl_vmath *v = vm();
  if (!v) return;
  const float inf = INFINITY, nan = NAN;
  const tfl_vmath_fn all[] = {v->exp,      v->logistic,  v->tanh,      v->elu,
                              v->gelu_erf, v->gelu_tanh, v->hard_swish};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) CHECK(isnan(one(all[i], nan)));
  CHECK(same_bits(one(v->exp, inf), inf));
  CHECK(same_bits(one(v->exp, -inf), 0.0f));
  CHECK(same_bits(one(v->exp, 0.0f), 1.0f));
  CHECK(same_bits(one(v->exp, -0.0f), 1.0f));
  CHECK(same_bits(one(v->exp, 88.7228394f), expf(88.7228394f))); /* the largest finite */
  CHECK(same_bits(one(v->exp, 88.7228470f), inf));
  CHECK(same_bits(one(v->exp, -103.9720840f), expf(-103.9720840f))); /* the smallest subnormal */
  CHECK(same_bits(one(v->exp, -104.0f), 0.0f));
  CHECK(same_bits(one(v->logistic, inf), 1.0f));
  CHECK(same_bits(one(v->logistic, -inf), 0.0f));
  CHECK(same_bits(one(v->logistic, 16.62f), 1.0f));
  CHECK(same_bits(one(v->logistic, -9.5f), one(v->exp, -9.5f)));
  CHECK(same_bits(one(v->logistic, -200.0f), 0.0f));
  CHECK(same_bits(one(v->tanh, inf), 1.0f));
  CHECK(same_bits(one(v->tanh, -inf), -1.0f));
  CHECK(same_bits(one(v->tanh, 9.5f), 1.0f));
  CHECK(same_bits(one(v->tanh, -0.0f), -0.0f));
  CHECK(same_bits(one(v->tanh, 0.0f), 0.0f));
  CHECK(same_bits(one(v->tanh, 1e-40f), 1e-40f));
  CHECK(same_bits(one(v->elu, -inf), -1.0f));
  CHECK(same_bits(one(v->elu, inf), inf));
  CHECK(same_bits(one(v->elu, -0.0f), -0.0f));
  /* As 0.5 x erfc(-x / sqrt 2) in float: NaN at -inf (-inf * 0), +inf at +inf. */
  CHECK(isnan(one(v->gelu_erf, -inf)));
  CHECK(same_bits(one(v->gelu_erf, inf), inf));
  CHECK(same_bits(one(v->gelu_erf, -20.0f), -0.0f));
  CHECK(same_bits(one(v->gelu_erf, 20.0f), 20.0f));
  CHECK(isnan(one(v->gelu_tanh, -inf)));
  CHECK(same_bits(one(v->gelu_tanh, inf), inf));
  CHECK(same_bits(one(v->gelu_tanh, 20.0f), 20.0f));
}

static float hard_swish_ref(float x) {
  const float t = x + 3.0f;
  return x * (t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t)) / 6.0f;
}

TEST(hard_swish_is_bit_exact) {
  const tfl_vmath *v = vm();
  if (!v) return;
  enum { N = 4096 };
  static float x[N], y[N];
  int bad = 0;
  for (uint64_t bits = 0; bits <= 0xffffffffu;) {
    int n = 0;
    for (; n < N && bits <= 0xffffffffu; bits += TEST_VMATH_STEP * 4u)
      x[n++] = from_bits((uint32_t)bits);
    v->hard_swish(x, y, (size_t)n);
    for (int i = 0; i < n; i++) {
      const float want = hard_swish_ref(x[i]);
      if (!same_bits(y[i], want) && !(isnan(want) && isnan(y[i])) && bad++ < 5)
        test_fail(__FILE__, __LINE__, "hard_swish(%.9g) = %.9g, want %.9g", (double)x[i],
                  (double)y[i], (double)want);
    }
  }
}

/* Each length from 0 to 40, in place and not: every element as when computed alone, and the
 * float past the end untouched. */
TEST(every_length_and_in_place) {
  const tfl_vmath *v = vm();
  if (!v) return;
  const tfl_vmath_fn all[] = {v->exp,      v->logistic,  v->tanh,      v->elu,
                              v->gelu_erf, v->gelu_tanh, v->hard_swish};
  float x[41], y[41], alone[40];
  for (size_t f = 0; f < sizeof(all) / sizeof(all[0]); f++)
    for (size_t n = 0; n <= 40; n++) {
      for (size_t i = 0; i < n; i++) x[i] = (float)((int)(i * 7 % 23) - 11) * 0.37f;
      for (size_t i = 0; i < n; i++) alone[i] = one(all[f], x[i]);
      y[n] = 1234.0f;
      all[f](x, y, n);
      CHECK(y[n] == 1234.0f);
      for (size_t i = 0; i < n; i++) CHECK(same_bits(y[i], alone[i]));
      x[n] = 1234.0f;
      all[f](x, x, n);
      CHECK(x[n] == 1234.0f);
      for (size_t i = 0; i < n; i++) CHECK(same_bits(x[i], alone[i]));
    }
}

TEST(softmax_helpers) {
  const tfl_vmath *v = vm();
  if (!v) return;
  float x[40] = {0}, y[41];
  for (size_t n = 0; n <= 40; n++) {
    float m = -FLT_MAX;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
      x[i] = (float)((int)(i * 13 % 31) - 15) * 0.71f;
      if (m < x[i]) m = x[i];
    }
    CHECK(same_bits(v->max(x, n), m));
    for (size_t i = 0; i < n; i++) sum += exp(((double)x[i] - m) * 0.5);
    y[n] = 1234.0f;
    const float s = v->exp_sum(x, y, n, m, 0.5f);
    CHECK_NEAR(s, sum, 1e-6 * sum);
    CHECK(same_bits(v->exp_sum(x, NULL, n, m, 0.5f), s));
    for (size_t i = 0; i < n; i++)
      CHECK(same_bits(y[i], one(v->exp, (x[i] - m) * 0.5f)));
    v->div(y, n, 3.0f);
    for (size_t i = 0; i < n; i++)
      CHECK(same_bits(y[i], one(v->exp, (x[i] - m) * 0.5f) / 3.0f));
    CHECK(y[n] == 1234.0f);
  }
  /* NaN never becomes the maximum; a row of -inf (or nothing) leaves -FLT_MAX. */
  const float mixed[] = {1, NAN, 3, NAN, 2, 0, 0, 0, NAN, 5, -1};
  CHECK(v->max(mixed, 11) == 5.0f);
  CHECK(v->max(mixed + 1, 1) == -FLT_MAX);
  const float ninf[9] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                         -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  CHECK(v->max(ninf, 9) == -FLT_MAX);
  CHECK(v->exp_sum(ninf, NULL, 9, -FLT_MAX, 1.0f) == 0.0f);
}

TEST(scalar_level_has_no_vector_math) { CHECK(tfl_vmath_get(TFL_CPU_SCALAR) == NULL); }

/* --- the ops through the interpreter: this level against TFL_CPU=scalar ------------------- */

/* The level the next interpreters run at: the machine's best, or scalar. */
static int use_level(int scalar) {
  const char *name = scalar ? "scalar" : tfl_cpu_level_name(tfl_cpu_detect_hardware());
  return setenv("TFL_CPU", name, 1) == 0;
}

static tfl_status run_op(int op, int n, const float *x, int opt_type, const mb_field *opt,
                         ot_result *r) {
  const int32_t dims[] = {n};
  ot_spec in[1] = {OT_F32(1, dims, x)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  return ot_run(op, 1, in, 1, out, 1, opt_type, opt, r);
}

/* Runs the op at the machine's level and at scalar; the results differ by at most max_ulps
 * (relative to the scalar result; abs_tol absorbs values near 0). */
static void compare_levels(int op, int opt_type, const mb_field *opt, double max_ulps,
                           double abs_tol) {
  enum { N = 1001 };
  float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) * 0.043f;
  x[0] = -INFINITY;
  x[1] = NAN;
  x[N - 1] = INFINITY;
  ot_result fast, ref;
  REQUIRE(use_level(0));
  REQUIRE(run_op(op, N, x, opt_type, opt, &fast) == TFL_OK);
  REQUIRE(use_level(1));
  REQUIRE(run_op(op, N, x, opt_type, opt, &ref) == TFL_OK);
  const float *a = ot_f32(&fast, 0), *b = ot_f32(&ref, 0);
  for (int i = 0; i < N; i++) {
    const int ok = (isnan(a[i]) && isnan(b[i])) || a[i] == b[i] ||
                   fabsf(a[i] - b[i]) <= abs_tol ||
                   (isfinite(b[i]) && ulp_error(a[i], b[i]) <= max_ulps);
    if (!ok)
      test_fail(__FILE__, __LINE__, "op %d x=%.9g: %.9g vs scalar %.9g", op, (double)x[i],
                (double)a[i], (double)b[i]);
  }
  ot_result_free(&fast);
  ot_result_free(&ref);
}

TEST(ops_match_the_scalar_level) {
  if (!vm()) return;
  mb_field exact[] = {MB_BYTE(0, 0), MB_FIELDS_END};
  mb_field approx[] = {MB_BYTE(0, 1), MB_FIELDS_END};
  compare_levels(TFL_OP_EXP, 0, NULL, 2, 0);
  compare_levels(TFL_OP_LOGISTIC, 0, NULL, 3, 0);
  compare_levels(TFL_OP_TANH, 0, NULL, 3, 0);
  compare_levels(TFL_OP_ELU, 0, NULL, 2, 0);
  compare_levels(TFL_OP_HARD_SWISH, 0, NULL, 0, 0);
  compare_levels(TFL_OP_GELU, TFL_OPTS_GELU, exact, 6, 3e-44); /* subnormal results */
  /* The reference's 1 + tanh(u) cancels for negative x: only absolute agreement there. */
  compare_levels(TFL_OP_GELU, TFL_OPTS_GELU, approx, 4, 2e-7);
}

/* SOFTMAX and LOG_SOFTMAX rows of every length 1..40 (vector tails), with beta, NaN and -inf
 * entries, against the scalar level. */
static void compare_softmax(int op, float beta) {
  for (int depth = 1; depth <= 40; depth++) {
    const int rows = 3;
    float x[3 * 40];
    for (int i = 0; i < rows * depth; i++) x[i] = (float)((i * 17 % 29) - 14) * 0.9f;
    x[depth] = -INFINITY; /* row 1 */
    if (depth > 1) x[2 * depth + 1] = NAN; /* row 2 */
    const int32_t dims[] = {rows, depth};
    ot_spec in[1] = {OT_F32(2, dims, x)};
    ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
    mb_field opt[] = {MB_FLOAT(0, beta), MB_FIELDS_END};
    const int with_opt = op == TFL_OP_SOFTMAX;
    const int opt_type = with_opt ? TFL_OPTS_SOFTMAX : 0;
    ot_result fast, ref;
    REQUIRE(use_level(0));
    REQUIRE(ot_run(op, 1, in, 1, out, 1, opt_type, with_opt ? opt : NULL, &fast) == TFL_OK);
    REQUIRE(use_level(1));
    REQUIRE(ot_run(op, 1, in, 1, out, 1, opt_type, with_opt ? opt : NULL, &ref) == TFL_OK);
    const float *a = ot_f32(&fast, 0), *b = ot_f32(&ref, 0);
    for (int i = 0; i < rows * depth; i++)
      if (!((isnan(a[i]) && isnan(b[i])) || a[i] == b[i] ||
            fabs((double)a[i] - b[i]) <= 3e-7 * (1 + fabs(b[i]))))
        test_fail(__FILE__, __LINE__, "op %d depth %d [%d]: %.9g vs scalar %.9g", op, depth, i,
                  (double)a[i], (double)b[i]);
    if (op == TFL_OP_SOFTMAX && depth == 1) CHECK(a[0] == 1.0f);
    ot_result_free(&fast);
    ot_result_free(&ref);
  }
}

TEST(softmax_matches_the_scalar_level) {
  if (!vm()) return;
  compare_softmax(TFL_OP_SOFTMAX, 1.0f);
  compare_softmax(TFL_OP_SOFTMAX, 0.3f);
  compare_softmax(TFL_OP_SOFTMAX, 0.0f);
  compare_softmax(TFL_OP_LOG_SOFTMAX, 1.0f);
}

int main(void) {
  RUN(scalar_level_has_no_vector_math);
  RUN(special_values);
  RUN(every_length_and_in_place);
  RUN(hard_swish_is_bit_exact);
  RUN(softmax_helpers);
  RUN(ops_match_the_scalar_level);
  RUN(softmax_matches_the_scalar_level);
  RUN(accuracy_over_the_float_range);
  return test_summary();
}
