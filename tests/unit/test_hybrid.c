/* The hybrid row quantizer (kernels/hybrid.h) at every CPU level against a reference written
 * here with libm's roundf: the vector element kernels at rounding ties and next to them, at
 * -0, huge values, infinities and NaN, over every length their loops split; the range with
 * NaNs first and later, infinities and signed zeros; whole rows, symmetric and asymmetric,
 * random and degenerate (zeros, subnormal ranges, infinities). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hybrid.h"
#include "util/cpu_levels.h"
#include "util/quant_ref.h"
#include "util/test.h"

/* ---- the reference ------------------------------------------------------------------------ */

/* roundf(offset + v * inv) (two roundings), converted as x86-64 converts (INT32_MIN for NaN
 * and out of range), clamped to [lo, 127]. */
static int8_t ref_code(float v, float inv, float offset, int32_t lo) {
  const float p = v * inv;
  const float r = roundf(offset + p);
  const int32_t c = r >= -2147483648.0f && r < 2147483648.0f ? (int32_t)r : INT32_MIN;
  return (int8_t)(c < lo ? lo : c > 127 ? 127 : c);
}

/* The range as TFLite's loop finds it: from x[0], each later value that compares lower or
 * higher replaces it. */
static void ref_range(const float *x, size_t n, float *lo, float *hi) {
  *lo = *hi = x[0];
  for (size_t i = 1; i < n; i++) {
    if (x[i] < *lo) *lo = x[i];
    if (x[i] > *hi) *hi = x[i];
  }
}

/* TFLite's Symmetric/AsymmetricQuantizeFloats over one row. */
static void ref_row(const float *x, size_t n, int asymmetric, int8_t *q, float *scale,
                    int32_t *zp) {
  *scale = 1.0f;
  *zp = 0;
  memset(q, 0, n);
  if (n == 0) return;
  float lo, hi;
  ref_range(x, n, &lo, &hi);
  if (!asymmetric) {
    const float range = fmaxf(fabsf(lo), fabsf(hi)) == fabsf(hi) ? fabsf(hi) : fabsf(lo);
    if (range == 0.0f) return;
    *scale = range / 127.0f;
    for (size_t i = 0; i < n; i++) q[i] = ref_code(x[i], 127.0f / range, 0.0f, -127);
    return;
  }
  const double rmin = lo < 0.0f ? lo : 0.0, rmax = hi > 0.0f ? hi : 0.0;
  if (rmin == rmax) return;
  const double s = (rmax - rmin) / 255.0;
  const double z =
      128.0 + fabs(rmin / s) < 127.0 + fabs(rmax / s) ? -128.0 - rmin / s : 127.0 - rmax / s;
  /* TFLite casts round(z) to int8: a NaN z (an infinite end) converts on x86-64 to INT32_MIN,
   * whose low byte is 0 */
  *zp = z <= -128.0 ? -128 : z >= 127.0 ? 127 : isnan(z) ? 0 : (int32_t)round(z);
  *scale = (float)s;
  for (size_t i = 0; i < n; i++) q[i] = ref_code(x[i], 1.0f / *scale, (float)*zp, -128);
}

static int same_float(float a, float b) { return a == b || (isnan(a) && isnan(b)); }

/* ---- the vector kernels of this machine ---------------------------------------------------- */

typedef struct kernel_pair {
  const char *name;
  tfl_hybrid_range_fn range;
  tfl_hybrid_codes_fn codes;
} kernel_pair;

static int vector_kernels(kernel_pair *k) {
  int n = 0;
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  (void)hw;
  (void)k;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(hw))
    k[n++] = (kernel_pair){"avx2", tfl_hybrid_range_avx2, tfl_hybrid_codes_avx2};
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(hw))
    k[n++] = (kernel_pair){"neon", tfl_hybrid_range_neon, tfl_hybrid_codes_neon};
#endif
  return n;
}

/* Values at and around the rounding ties of the codes' range and beyond it, and the special
 * ones. */
static size_t edge_values(float *v) {
  size_t n = 0;
  for (int k = -260; k <= 260; k++) {
    const float tie = (float)k + 0.5f;
    v[n++] = tie;
    v[n++] = nextafterf(tie, 0.0f);
    v[n++] = nextafterf(tie, tie > 0 ? INFINITY : -INFINITY);
    v[n++] = (float)k;
  }
  static const float special[] = {0.0f,         -0.0f,         0.49999997f,   -0.49999997f,
                                  0.5f,         -0.5f,         1.5f,          -1.5f,
                                  4194304.5f,   -4194304.5f,   8388607.5f,    -8388607.5f,
                                  8388609.0f,   -8388609.0f,   2147483520.0f, -2147483520.0f,
                                  2147483648.0f, -2147483648.0f, 4294967296.0f, -4294967296.0f,
                                  1e20f,        -1e20f,        FLT_MAX,       -FLT_MAX,
                                  INFINITY,     -INFINITY,     NAN,           -NAN,
                                  1e-45f,       -1e-45f,       FLT_MIN,       127.49999f};
  for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) v[n++] = special[i];
  return n;
}

/* Every kernel's codes of the edge values (shifted so that each value meets every position of
 * the vector loops and the tail) for multipliers and offsets that keep them, scale them, put
 * them far out, or make them NaN. */
TEST(codes_match_roundf_at_ties_and_special_values) {
  kernel_pair k[2];
  const int nk = vector_kernels(k);
  static const float params[][2] = {{1.0f, 0.0f},     {1.0f, -100.0f}, {1.0f, 127.0f},
                                    {0.5f, 0.25f},    {-1.0f, 3.0f},   {1e30f, 0.0f},
                                    {INFINITY, 0.0f}, {0.0f, -128.0f}, {NAN, 0.0f},
                                    {3.0f, -0.5f},    {1.0f, -0.0f},   {2.0f, INFINITY}};
  float *v = malloc(2200 * sizeof(float));
  const size_t nv = edge_values(v);
  int8_t *got = malloc(nv + 64), *want = malloc(nv + 64);
  for (int ki = 0; ki < nk; ki++)
    for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++)
      for (int32_t lo = -128; lo <= -127; lo++)
        for (size_t shift = 0; shift < 37 && test_failures_in_current == 0; shift += 3) {
          const size_t n = nv - shift;
          k[ki].codes(v + shift, n, params[p][0], params[p][1], lo, got);
          for (size_t i = 0; i < n; i++) {
            want[i] = ref_code(v[shift + i], params[p][0], params[p][1], lo);
            if (got[i] != want[i]) {
              test_fail(__FILE__, __LINE__, "%s: x %.9g inv %g offset %g lo %d: %d, want %d",
                        k[ki].name, v[shift + i], params[p][0], params[p][1], (int)lo, got[i],
                        want[i]);
              break;
            }
          }
        }
  free(v);
  free(got);
  free(want);
}

/* Random codes in and past [-128, 127] at every length up to 100 (each loop and tail). */
TEST(codes_match_roundf_on_random_values) {
  kernel_pair k[2];
  const int nk = vector_kernels(k);
  float *x = qr_random_floats(100, 77, 300.0f);
  for (size_t i = 0; i < 100; i += 7) x[i] = roundf(x[i]) + 0.5f; /* ties */
  int8_t got[100];
  for (int ki = 0; ki < nk; ki++)
    for (size_t n = 0; n <= 100 && test_failures_in_current == 0; n++) {
      memset(got, 0x55, sizeof(got));
      k[ki].codes(x, n, 0.75f, -3.0f, -128, got);
      for (size_t i = 0; i < n; i++) CHECK_EQ_INT(got[i], ref_code(x[i], 0.75f, -3.0f, -128));
      for (size_t i = n; i < 100; i++) CHECK_EQ_INT(got[i], 0x55); /* nothing past n */
    }
  free(x);
}

/* The range of rows of every length up to 70, with a NaN first (which stays), NaNs later
 * (skipped), infinities, and zeros of both signs, at each position. */
TEST(range_matches_the_sequential_loop) {
  kernel_pair k[2];
  const int nk = vector_kernels(k);
  float *base = qr_random_floats(70, 91, 5.0f);
  static const float specials[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e30f, -1e30f};
  float x[70];
  for (int ki = 0; ki < nk; ki++)
    for (size_t n = 1; n <= 70; n++)
      for (size_t s = 0; s < 7; s++)
        for (size_t at = 0; at < n && test_failures_in_current == 0; at += 1 + n / 9) {
          memcpy(x, base, sizeof(x));
          x[at] = specials[s];
          if (s >= 3 && s <= 4)
            for (size_t i = 0; i < n; i++) x[i] = (i % 2) ? 0.0f : -0.0f; /* all zeros */
          float lo, hi, want_lo, want_hi;
          k[ki].range(x, n, &lo, &hi);
          ref_range(x, n, &want_lo, &want_hi);
          if (!same_float(lo, want_lo) || !same_float(hi, want_hi))
            test_fail(__FILE__, __LINE__, "%s: n %zu special %zu at %zu: [%g, %g], want [%g, %g]",
                      k[ki].name, n, s, at, lo, hi, want_lo, want_hi);
        }
  free(base);
}

/* Whole rows through tfl_hybrid_quantize_rows_cpu at every level: scales, zero points and
 * codes as the reference's. */
static void check_rows(const float *x, size_t rows, size_t row_size, const char *what) {
  const char *names[CK_MAX_CPU_LEVELS];
  const int nl = ck_cpu_levels(names);
  const size_t total = rows * row_size;
  int8_t *got = malloc(total + 1), *want = malloc(total + 1);
  tfl_hybrid_row params[8];
  for (int l = 0; l < nl; l++)
    for (int asym = 0; asym <= 1 && test_failures_in_current == 0; asym++) {
      const tfl_cpu_level level = (tfl_cpu_level)tfl_cpu_level_parse(names[l]);
      tfl_hybrid_quantize_rows_cpu(level, x, rows, row_size, asym, got, params);
      for (size_t r = 0; r < rows; r++) {
        float scale;
        int32_t zp;
        ref_row(x + r * row_size, row_size, asym, want + r * row_size, &scale, &zp);
        if (!same_float(params[r].scale, scale) || params[r].zero_point != zp ||
            memcmp(got + r * row_size, want + r * row_size, row_size) != 0)
          test_fail(__FILE__, __LINE__,
                    "%s, level %s, %s, row %zu: scale %g zero point %d, want %g %d%s", what,
                    names[l], asym ? "asymmetric" : "symmetric", r, params[r].scale,
                    (int)params[r].zero_point, scale, (int)zp,
                    memcmp(got + r * row_size, want + r * row_size, row_size) ? ", codes differ"
                                                                              : "");
      }
      if (rows == 1) { /* the per-row entry points are the scalar level */
        tfl_hybrid_row one;
        if (asym)
          tfl_hybrid_quantize_asymmetric(x, row_size, got, &one);
        else
          tfl_hybrid_quantize_symmetric(x, row_size, got, &one);
        CHECK(same_float(one.scale, params[0].scale) && memcmp(got, want, row_size) == 0);
      }
    }
  free(got);
  free(want);
}

TEST(random_rows_match_the_reference_at_every_level) {
  static const size_t sizes[] = {1, 5, 8, 31, 32, 33, 63, 100, 257, 2048};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    float *x = qr_random_floats(3 * sizes[i], 300u + (unsigned)i, 4.0f);
    check_rows(x, 3, sizes[i], "random");
    for (size_t j = 0; j < sizes[i]; j++) x[j] = fabsf(x[j]) + 0.25f; /* all positive */
    check_rows(x, 1, sizes[i], "positive");
    for (size_t j = 0; j < sizes[i]; j++) x[j] = -x[j];
    check_rows(x, 1, sizes[i], "negative");
    free(x);
  }
}

/* Rows whose codes are exact ties (scale 1), rows of zeros, with NaN first or later, with an
 * infinity, and with subnormal ranges (a multiplier that overflows to infinity). */
TEST(degenerate_rows_match_the_reference_at_every_level) {
  float x[40];
  /* symmetric: max 127 gives 1 / scale = 1; asymmetric: [-28, 227] gives scale 1, zp -100 */
  for (size_t i = 0; i < 40; i++) x[i] = (float)((int)i * 7 % 255) - 27.5f;
  x[3] = -28.0f;
  x[5] = 227.0f;
  check_rows(x, 1, 40, "ties");
  for (size_t i = 0; i < 40; i++) x[i] = (float)((int)i * 13 % 254) - 126.5f;
  x[7] = 127.0f;
  check_rows(x, 1, 40, "symmetric ties");
  memset(x, 0, sizeof(x));
  check_rows(x, 1, 40, "zeros");
  x[9] = -0.0f;
  check_rows(x, 1, 40, "signed zeros");
  for (size_t i = 0; i < 40; i++) x[i] = (float)i - 20.0f;
  x[0] = NAN;
  check_rows(x, 1, 40, "NaN first");
  x[0] = 1.0f;
  x[17] = NAN;
  check_rows(x, 1, 40, "NaN later");
  x[17] = INFINITY;
  check_rows(x, 1, 40, "infinity");
  x[17] = -INFINITY;
  check_rows(x, 1, 40, "minus infinity");
  for (size_t i = 0; i < 40; i++) x[i] = (i % 3) ? 1e-45f * (float)(i % 5) : 0.0f;
  check_rows(x, 1, 40, "subnormal range");
  for (size_t i = 0; i < 40; i++) x[i] = (i % 2 ? 1.0f : -1.0f) * 3e38f;
  check_rows(x, 1, 40, "huge");
  check_rows(x, 1, 0, "empty");
}

int main(void) {
  RUN(codes_match_roundf_at_ties_and_special_values);
  RUN(codes_match_roundf_on_random_values);
  RUN(range_matches_the_sequential_loop);
  RUN(random_rows_match_the_reference_at_every_level);
  RUN(degenerate_rows_match_the_reference_at_every_level);
  return test_summary();
}
