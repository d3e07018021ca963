/* The aarch64 NEON kernels (src/kernels/arm/) over random shapes, against references written
 * here or the portable kernels:
 *   - float GEMM, depthwise and pools against naive loops that do the reference's float
 *     arithmetic in its order (fmaf for the products), so the comparison is exact;
 *   - int8/uint8 GEMM and depthwise against the portable kernels (themselves checked against
 *     naive integer arithmetic in test_qgemm), over both roundings, every shift TFLite allows
 *     and beyond (tiny scales), wrapping accumulators and odd sizes: bit for bit;
 *   - that each dispatch point picks the NEON variant at the NEON levels and not at scalar.
 * Elsewhere only the CPU level names and the TFL_CPU lowering are checked. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/arm/qgemm_dot_neon.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "kernels/pool_fast.h"
#include "kernels/qadd.h"
#include "kernels/qdwconv.h"
#include "kernels/qgemm.h"
#include "kernels/window.h"
#include "runtime/cpu.h"
#include "util/check_util.h"
#include "util/test.h"

/* The level names round-trip, and TFL_CPU lowers the level only within the machine's family. */
TEST(cpu_levels_parse_and_lower) {
  static const char *names[] = {"scalar", "avx2", "avx512", "avx512vnni", "neon", "neondot"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const int level = tfl_cpu_level_parse(names[i]);
    REQUIRE(level >= 0);
    CHECK(strcmp(tfl_cpu_level_name((tfl_cpu_level)level), names[i]) == 0);
  }
  CHECK_EQ_INT(tfl_cpu_level_parse("sse9"), -1);
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  CHECK(setenv("TFL_CPU", "scalar", 1) == 0);
  CHECK_EQ_INT(tfl_cpu_detect(), TFL_CPU_SCALAR);
  CHECK(setenv("TFL_CPU", "neon", 1) == 0);
  CHECK_EQ_INT(tfl_cpu_detect(), hw >= TFL_CPU_NEON ? TFL_CPU_NEON : hw);
  CHECK(setenv("TFL_CPU", "avx2", 1) == 0);
  CHECK_EQ_INT(tfl_cpu_detect(), hw >= TFL_CPU_NEON ? hw : hw >= TFL_CPU_AVX2 ? TFL_CPU_AVX2 : hw);
  CHECK(unsetenv("TFL_CPU") == 0);
  CHECK_EQ_INT(tfl_cpu_detect(), hw);
#if TFL_HAVE_ARM_KERNELS
  CHECK(hw == TFL_CPU_NEON || hw == TFL_CPU_NEON_DOT);
#endif
}

#if TFL_HAVE_ARM_KERNELS

/* Floats in [-1, 1) with a few exact zeros of both signs. */
static float *random_floats(size_t n, uint32_t *rng) {
  float *v = malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    const uint32_t r = ck_xorshift(rng);
    v[i] = (r & 31) == 0 ? ((r & 32) ? -0.0f : 0.0f)
                         : (float)((r >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}


static float clampf(float x, float lo, float hi) { return x < lo ? lo : hi < x ? hi : x; }

/* Same bits, or both NaN. */
static int same_float(float got, float want) {
  return memcmp(&got, &want, sizeof(got)) == 0 || (isnan(got) && isnan(want));
}

/* A random activation clamp: none, RELU6 or a narrow one. */
static void random_clamp(uint32_t *rng, float *lo, float *hi) {
  switch (ck_xorshift(rng) % 3) {
    case 0: *lo = -FLT_MAX, *hi = FLT_MAX; break;
    case 1: *lo = 0.0f, *hi = 6.0f; break;
    default: *lo = -0.25f, *hi = 0.5f; break;
  }
}

/* The NEON levels the machine has. */
static int neon_levels(tfl_cpu_level *levels) {
  int n = 0;
  levels[n++] = TFL_CPU_NEON;
  if (tfl_cpu_detect_hardware() >= TFL_CPU_NEON_DOT) levels[n++] = TFL_CPU_NEON_DOT;
  return n;
}

/* --- float GEMM ---------------------------------------------------------------------- */

/* Rows of A in `taps` pieces of kc floats, piece t of row r at src + index[r * taps + t] * kc. */
typedef struct piece_rows {
  const float *src;
  const int32_t *index;
  int32_t taps, kc;
} piece_rows;

static void piece_rows_fn(const void *arg, int32_t row, int mr, float *scratch,
                          const float **ptrs) {
  const piece_rows *p = arg;
  (void)scratch;
  for (int i = 0; i < mr; i++)
    for (int32_t t = 0; t < p->taps; t++)
      ptrs[t * TFL_GEMM_MR + i] =
          p->src + (size_t)p->index[(size_t)(row + i) * (size_t)p->taps + (size_t)t] *
                       (size_t)p->kc;
}

/* One random product through tfl_gemm_run at `level`, against fmaf in k order. */
static int check_gemm(tfl_cpu_level level, uint32_t *rng) {
  const int32_t m = ck_xorshift_in(rng, 1, 20), n = ck_xorshift_in(rng, 1, 50);
  const int32_t taps = ck_xorshift_in(rng, 1, 4), kc = ck_xorshift_in(rng, 1, 13), k = taps * kc;
  const int32_t pool_rows = ck_xorshift_in(rng, 1, 9);
  float *pool = random_floats((size_t)pool_rows * (size_t)kc, rng);
  float *w = random_floats((size_t)n * (size_t)k, rng);
  float *bias = (ck_xorshift(rng) & 1) ? random_floats((size_t)n, rng) : NULL;
  int32_t *index = malloc((size_t)m * (size_t)taps * sizeof(int32_t));
  for (int32_t i = 0; i < m * taps; i++) index[i] = ck_xorshift_in(rng, 0, pool_rows - 1);
  const size_t ldc = (size_t)n + 2;
  float *c = malloc((size_t)m * ldc * sizeof(float));
  for (size_t i = 0; i < (size_t)m * ldc; i++) c[i] = 12345.0f;
  float lo, hi;
  random_clamp(rng, &lo, &hi);
  tfl_gemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  int ok = tfl_gemm_pack(&pw, level, w, bias, n, k) == TFL_OK;
  if (ok) {
    CHECK(pw.ukernel == tfl_gemm_ukernel_neon);
    const piece_rows rows = {pool, index, taps, kc};
    const tfl_gemm_problem p = {.m = m, .taps = taps, .kc = kc, .rows = piece_rows_fn,
                                .rows_arg = &rows, .c = c, .ldc = ldc, .lo = lo, .hi = hi};
    tfl_gemm_run(NULL, &pw, &p);
  }
  for (int32_t i = 0; i < m && ok; i++)
    for (int32_t j = 0; j < (int32_t)ldc && ok; j++) {
      float want = 12345.0f;
      if (j < n) {
        float acc = 0.0f;
        for (int32_t q = 0; q < k; q++) {
          const float a = pool[(size_t)index[i * taps + q / kc] * (size_t)kc + (size_t)(q % kc)];
          acc = fmaf(a, w[(size_t)j * (size_t)k + (size_t)q], acc);
        }
        want = clampf(acc + (bias ? bias[j] : 0.0f), lo, hi);
      }
      const float got = c[(size_t)i * ldc + (size_t)j];
      if (!same_float(got, want)) {
        test_fail(__FILE__, __LINE__, "gemm m=%d n=%d taps=%d kc=%d: C[%d][%d] = %.9g, want %.9g",
                  (int)m, (int)n, (int)taps, (int)kc, (int)i, (int)j, got, want);
        ok = 0;
      }
    }
  tfl_gemm_weights_free(&pw);
  free(pool), free(w), free(bias), free(index), free(c);
  return ok;
}

TEST(gemm_matches_fma_in_order) {
  tfl_cpu_level levels[2];
  const int nl = neon_levels(levels);
  uint32_t rng = 2024;
  for (int l = 0; l < nl; l++)
    for (int i = 0; i < 150; i++)
      if (!check_gemm(levels[l], &rng)) return;
}

/* NaN passes the clamp, as in the reference. */
TEST(gemm_lets_nan_through) {
  const float w[2] = {1.0f, 1.0f}, a[2] = {NAN, 1.0f};
  float c[1] = {0};
  tfl_gemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  REQUIRE(tfl_gemm_pack(&pw, TFL_CPU_NEON, w, NULL, 1, 2) == TFL_OK);
  tfl_gemm_matrix(NULL, &pw, a, 2, 1, c, 1, 0.0f, 6.0f);
  CHECK(isnan(c[0]));
  tfl_gemm_weights_free(&pw);
}

/* --- float depthwise and pools ------------------------------------------------------- */

typedef struct window_case {
  int32_t batches, h, w, channels, kh, kw, stride, dilation;
  int same;
} window_case;

static window_case random_window(uint32_t *rng, int dilated) {
  static const int32_t sizes[][2] = {{3, 3}, {3, 3}, {5, 5}, {1, 1}, {2, 2}, {1, 3}, {7, 7}};
  const int s = (int)(ck_xorshift(rng) % (sizeof(sizes) / sizeof(sizes[0])));
  window_case k;
  k.batches = ck_xorshift_in(rng, 1, 2);
  k.h = ck_xorshift_in(rng, 1, 12);
  k.w = ck_xorshift_in(rng, 1, 12);
  k.channels = ck_xorshift_in(rng, 1, 40);
  k.kh = sizes[s][0];
  k.kw = sizes[s][1];
  k.stride = ck_xorshift_in(rng, 1, 2);
  k.dilation = dilated ? ck_xorshift_in(rng, 1, 2) : 1;
  k.same = (int)(ck_xorshift(rng) & 1);
  return k;
}

/* Input (n, y, x, c), or NULL in the padding. */
static const float *pixel_at(const float *in, const window_case *k, int32_t n, int32_t y,
                             int32_t x, int32_t c) {
  if (y < 0 || y >= k->h || x < 0 || x >= k->w) return NULL;
  return in + (((size_t)n * (size_t)k->h + (size_t)y) * (size_t)k->w + (size_t)x) *
                  (size_t)k->channels + (size_t)c;
}

static int check_dwconv(tfl_cpu_level level, uint32_t *rng) {
  const window_case k = random_window(rng, 1);
  const tfl_window win = {ck_window_axis(k.h, k.kh, k.stride, k.dilation, k.same),
                          ck_window_axis(k.w, k.kw, k.stride, k.dilation, k.same)};
  const int32_t C = k.channels;
  const size_t out_n = (size_t)k.batches * (size_t)win.h.out * (size_t)win.w.out * (size_t)C;
  float *in = random_floats((size_t)k.batches * (size_t)k.h * (size_t)k.w * (size_t)C, rng);
  float *filter = random_floats((size_t)k.kh * (size_t)k.kw * (size_t)C, rng);
  float *bias = (ck_xorshift(rng) & 1) ? random_floats((size_t)C, rng) : NULL;
  float *out = malloc((out_n ? out_n : 1) * sizeof(float));
  float lo, hi;
  random_clamp(rng, &lo, &hi);
  tfl_dwconv dw;
  int ok = tfl_dwconv_setup(&dw, level, &win, k.batches, C, C, lo, hi);
  CHECK(ok && dw.rows == tfl_dwconv_rows_neon);
  if (ok) {
    const tfl_dwconv_io io = {in, filter, bias, out};
    tfl_dwconv_eval(NULL, &dw, &io);
  }
  size_t i = 0;
  for (int32_t n = 0; n < k.batches && ok; n++)
    for (int32_t oy = 0; oy < win.h.out && ok; oy++)
      for (int32_t ox = 0; ox < win.w.out && ok; ox++)
        for (int32_t c = 0; c < C && ok; c++, i++) {
          float acc = 0.0f;
          for (int32_t ky = 0; ky < k.kh; ky++)
            for (int32_t kx = 0; kx < k.kw; kx++) {
              const float *x = pixel_at(in, &k, n, oy * k.stride - win.h.pad + ky * k.dilation,
                                        ox * k.stride - win.w.pad + kx * k.dilation, c);
              if (x) acc = fmaf(*x, filter[((size_t)ky * (size_t)k.kw + (size_t)kx) * (size_t)C +
                                           (size_t)c], acc);
            }
          const float want = clampf(acc + (bias ? bias[c] : 0.0f), lo, hi);
          if (!same_float(out[i], want)) {
            test_fail(__FILE__, __LINE__, "dwconv %dx%d s%d d%d C%d in %dx%d: output %zu = %.9g, "
                      "want %.9g", (int)k.kh, (int)k.kw, (int)k.stride, (int)k.dilation, (int)C,
                      (int)k.h, (int)k.w, i, out[i], want);
            ok = 0;
          }
        }
  free(in), free(filter), free(bias), free(out);
  return ok;
}

TEST(dwconv_matches_fma_in_tap_order) {
  tfl_cpu_level levels[2];
  const int nl = neon_levels(levels);
  uint32_t rng = 77;
  for (int l = 0; l < nl; l++)
    for (int i = 0; i < 150; i++)
      if (!check_dwconv(levels[l], &rng)) return;
}

static int check_pool(tfl_cpu_level level, tfl_pool_kind kind, uint32_t *rng) {
  const window_case k = random_window(rng, 0);
  const tfl_window win = {ck_window_axis(k.h, k.kh, k.stride, 1, k.same),
                          ck_window_axis(k.w, k.kw, k.stride, 1,
                                                                     k.same)};
  const int32_t C = k.channels;
  const size_t in_n = (size_t)k.batches * (size_t)k.h * (size_t)k.w * (size_t)C;
  const size_t out_n = (size_t)k.batches * (size_t)win.h.out * (size_t)win.w.out * (size_t)C;
  float *in = random_floats(in_n, rng), *out = malloc((out_n ? out_n : 1) * sizeof(float));
  in[ck_xorshift(rng) % in_n] = NAN; /* max: never replaces; average: spreads */
  float lo, hi;
  random_clamp(rng, &lo, &hi);
  tfl_pool_fast pf;
  int ok = tfl_pool_fast_setup(&pf, level, kind, &win, k.batches, C, lo, hi);
  CHECK(ok && pf.rows == (kind == TFL_POOL_MAX ? tfl_pool_max_rows_neon
                                                : tfl_pool_average_rows_neon));
  if (ok) tfl_pool_fast_eval(NULL, &pf, in, out);
  size_t i = 0;
  for (int32_t n = 0; n < k.batches && ok; n++)
    for (int32_t oy = 0; oy < win.h.out && ok; oy++)
      for (int32_t ox = 0; ox < win.w.out && ok; ox++)
        for (int32_t c = 0; c < C && ok; c++, i++) {
          float acc = kind == TFL_POOL_MAX ? -FLT_MAX : 0.0f;
          int count = 0;
          for (int32_t ky = 0; ky < k.kh; ky++)
            for (int32_t kx = 0; kx < k.kw; kx++) {
              const float *x = pixel_at(in, &k, n, oy * k.stride - win.h.pad + ky,
                                        ox * k.stride - win.w.pad + kx, c);
              if (!x) continue;
              count++;
              if (kind == TFL_POOL_AVERAGE) acc += *x;
              else if (acc < *x) acc = *x;
            }
          if (kind == TFL_POOL_AVERAGE) acc /= (float)count;
          const float want = clampf(acc, lo, hi);
          if (!same_float(out[i], want)) {
            test_fail(__FILE__, __LINE__, "pool %d %dx%d s%d C%d: output %zu = %.9g, want %.9g",
                      (int)kind, (int)k.kh, (int)k.kw, (int)k.stride, (int)C, i, out[i], want);
            ok = 0;
          }
        }
  free(in), free(out);
  return ok;
}

TEST(pools_match_the_reference_order) {
  tfl_cpu_level levels[2];
  const int nl = neon_levels(levels);
  uint32_t rng = 31337;
  for (int l = 0; l < nl; l++)
    for (int i = 0; i < 100; i++)
      if (!check_pool(levels[l], TFL_POOL_MAX, &rng) ||
          !check_pool(levels[l], TFL_POOL_AVERAGE, &rng))
        return;
}

/* --- int8/uint8 ---------------------------------------------------------------------- */

/* A quantized op's arithmetic with random multipliers and shifts in [min_shift, max_shift]. */
typedef struct qsetup {
  tfl_window_quant q;
  int32_t mult[64], shift[64];
} qsetup;

static void qsetup_init(qsetup *s, tfl_type type, uint32_t *rng, int32_t channels,
                        int min_shift, int max_shift) {
  memset(s, 0, sizeof(*s));
  s->q.mode = (ck_xorshift(rng) & 1) ? TFL_REQUANT_RUY : TFL_REQUANT_DOUBLE;
  s->q.channels = channels;
  s->q.multiplier = s->mult;
  s->q.shift = s->shift;
  for (int32_t c = 0; c < channels; c++) {
    /* every few channels a multiplier whose products end in exact halves (ties) */
    s->mult[c] = (ck_xorshift(rng) & 3) ? (int32_t)((1u << 30) + (ck_xorshift(rng) >> 2))
                                        : (int32_t)(1u << 30);
    s->shift[c] = ck_xorshift_in(rng, min_shift, max_shift);
  }
  const int32_t lo = type == TFL_UINT8 ? 0 : -128, hi = type == TFL_UINT8 ? 255 : 127;
  s->q.input_offset = -ck_xorshift_in(rng, lo, hi);
  s->q.filter_offset = type == TFL_UINT8 ? -ck_xorshift_in(rng, 0, 255) : 0;
  s->q.output_offset = ck_xorshift_in(rng, lo, hi);
  s->q.act_min = ck_xorshift_in(rng, lo, lo + 40);
  s->q.act_max = ck_xorshift_in(rng, hi - 40, hi);
}

static uint8_t *random_bytes(size_t n, uint32_t *rng) {
  uint8_t *v = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) v[i] = (uint8_t)ck_xorshift(rng);
  return v;
}

/* Biases small, or anywhere in int32 (accumulators that wrap). */
static int32_t *random_bias(size_t n, uint32_t *rng) {
  const int wide = (int)(ck_xorshift(rng) & 1);
  int32_t *b = malloc((n ? n : 1) * sizeof(int32_t));
  for (size_t i = 0; i < n; i++)
    b[i] = wide ? (int32_t)ck_xorshift(rng) : ck_xorshift_in(rng, -50000, 50000);
  return b;
}

/* C of a product packed at `level`, m rows of n codes. */
static uint8_t *qgemm_product(tfl_cpu_level level, const qsetup *s, tfl_type type,
                              const tfl_tensor *filter, const tfl_tensor *bias, const uint8_t *a,
                              int32_t m, int32_t n, int32_t k, tfl_qgemm_ukernel_fn *ukernel) {
  tfl_qgemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  uint8_t *c = malloc((size_t)m * (size_t)n);
  if (tfl_qgemm_pack(&pw, level, &s->q, filter, bias, type, n, k, m) != TFL_OK) {
    free(c);
    return NULL;
  }
  *ukernel = pw.ukernel;
  void *scratch = malloc(tfl_qgemm_scratch_bytes(&pw, 1));
  tfl_qgemm_matrix(NULL, &pw, type, a, (size_t)k, s->q.input_offset, m, c, (size_t)n, scratch);
  free(scratch);
  tfl_qgemm_weights_free(&pw);
  return c;
}

static int check_qgemm(tfl_cpu_level level, uint32_t *rng) {
  const tfl_type type = (ck_xorshift(rng) & 1) ? TFL_INT8 : TFL_UINT8;
  const int32_t m = ck_xorshift_in(rng, 1, 14), n = ck_xorshift_in(rng, 1, 64), k = ck_xorshift_in(rng, 1, 80);
  qsetup s;
  qsetup_init(&s, type, rng, n, -40, 4);
  uint8_t *a = random_bytes((size_t)m * (size_t)k, rng);
  uint8_t *w = random_bytes((size_t)n * (size_t)k, rng);
  int32_t *bias = random_bias((size_t)n, rng);
  const tfl_tensor filter = ck_const_tensor(type, w), bias_t = ck_const_tensor(TFL_INT32, bias);
  const tfl_tensor *bias_p = (ck_xorshift(rng) & 3) ? &bias_t : NULL;
  tfl_qgemm_ukernel_fn neon = NULL, portable = NULL;
  uint8_t *got = qgemm_product(level, &s, type, &filter, bias_p, a, m, n, k, &neon);
  uint8_t *want = qgemm_product(TFL_CPU_SCALAR, &s, type, &filter, bias_p, a, m, n, k, &portable);
  int ok = got && want && neon == tfl_qgemm_ukernel_neon &&
           portable == tfl_qgemm_ukernel_portable;
  CHECK(ok);
  for (size_t i = 0; ok && i < (size_t)m * (size_t)n; i++)
    if (got[i] != want[i]) {
      test_fail(__FILE__, __LINE__, "qgemm %s %s m=%d n=%d k=%d: C[%zu] = %d, want %d",
                type == TFL_UINT8 ? "uint8" : "int8",
                s.q.mode == TFL_REQUANT_RUY ? "ruy" : "double", (int)m, (int)n, (int)k, i,
                got[i], want[i]);
      ok = 0;
    }
  free(a), free(w), free(bias), free(got), free(want);
  return ok;
}

TEST(qgemm_matches_the_portable_kernel) {
  tfl_cpu_level levels[2];
  const int nl = neon_levels(levels);
  uint32_t rng = 99991;
  for (int l = 0; l < nl; l++)
    for (int i = 0; i < 200; i++)
      if (!check_qgemm(levels[l], &rng)) return;
}

/* --- int8/uint8 GEMM with the dot-product instructions ---------------------------------- */

/* The kernels a product can run on: the portable one (TFL_CPU_SCALAR), the int16 NEON one
 * (TFL_CPU_NEON), and the dot-product one (packed at TFL_CPU_NEON, then turned into its
 * panels as tfl_qgemm_pack does at TFL_CPU_NEON_DOT). */
typedef enum qgemm_way { QGEMM_PORTABLE, QGEMM_INT16, QGEMM_DOT } qgemm_way;

static tfl_cpu_level way_level(qgemm_way way) {
  return way == QGEMM_PORTABLE ? TFL_CPU_SCALAR : TFL_CPU_NEON;
}

/* Turns pw, packed at way_level(way), into the way's panels; whether it then runs the way's
 * kernel. */
static int finish_way(tfl_qgemm_weights *pw, qgemm_way way, int32_t input_offset) {
  if (way == QGEMM_DOT && tfl_qgemm_use_neon_dot(pw, input_offset) != TFL_OK) return 0;
  switch (way) {
    case QGEMM_PORTABLE: return pw->ukernel == tfl_qgemm_ukernel_portable && !pw->quad;
    case QGEMM_INT16: return pw->ukernel == tfl_qgemm_ukernel_neon && !pw->quad;
    default: return pw->quad == tfl_qgemm_dot_neon && !pw->wide && !pw->flip;
  }
}

/* Filter codes of the input's type with a random offset (int8: mostly 0, as per-channel
 * filters have), now and then of the other type. */
static tfl_type random_filter_quant(qsetup *s, tfl_type input_type, uint32_t *rng) {
  const int other = ck_xorshift(rng) % 6 == 0;
  const tfl_type type = other == (input_type == TFL_UINT8) ? TFL_INT8 : TFL_UINT8;
  if (type == TFL_UINT8)
    s->q.filter_offset = -ck_xorshift_in(rng, 0, 255);
  else
    s->q.filter_offset = ck_xorshift(rng) % 4 == 0 ? -ck_xorshift_in(rng, -128, 127) : 0;
  return type;
}

/* Where two outputs first differ, reported; whether they are equal. */
static int same_codes(const char *what, const qsetup *s, tfl_type type, tfl_type filter_type,
                      const uint8_t *got, const uint8_t *want, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i]) {
      test_fail(__FILE__, __LINE__, "%s, %s input, %s filter (offset %d), %s: output %zu = %d, "
                "want %d", what, type == TFL_UINT8 ? "uint8" : "int8",
                filter_type == TFL_UINT8 ? "uint8" : "int8", (int)s->q.filter_offset,
                s->q.mode == TFL_REQUANT_RUY ? "ruy" : "double", i, got[i], want[i]);
      return 0;
    }
  return 1;
}

/* A product A[m][k] * W[n][k]^T and its quantization. */
typedef struct dot_case {
  qsetup s;
  tfl_type type, filter_type;
  int32_t m, n, k;
  uint8_t *a, *w;
  int32_t *bias;
  tfl_tensor filter, bias_t;
  const tfl_tensor *bias_p;
} dot_case;

static void dot_case_init(dot_case *t, uint32_t *rng) {
  t->type = (ck_xorshift(rng) & 1) ? TFL_INT8 : TFL_UINT8;
  /* m = 1 is FULLY_CONNECTED's batch 1; k from below one quad to many groups of 4 quads */
  t->m = ck_xorshift(rng) % 4 == 0 ? 1 : ck_xorshift_in(rng, 1, 20);
  t->n = ck_xorshift_in(rng, 1, 64);
  t->k = ck_xorshift_in(rng, 1, ck_xorshift(rng) % 3 == 0 ? 300 : 40);
  qsetup_init(&t->s, t->type, rng, t->n, -40, 4);
  t->filter_type = random_filter_quant(&t->s, t->type, rng);
  t->a = random_bytes((size_t)t->m * (size_t)t->k, rng);
  t->w = random_bytes((size_t)t->n * (size_t)t->k, rng);
  t->bias = random_bias((size_t)t->n, rng);
  t->filter = ck_const_tensor(t->filter_type, t->w);
  t->bias_t = ck_const_tensor(TFL_INT32, t->bias);
  t->bias_p = (ck_xorshift(rng) & 3) ? &t->bias_t : NULL;
}

static void dot_case_free(dot_case *t) { free(t->a), free(t->w), free(t->bias); }

/* C of the product on the way's kernel, NULL if it did not run there. */
static uint8_t *dot_case_run(const dot_case *t, qgemm_way way) {
  tfl_qgemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  if (tfl_qgemm_pack(&pw, way_level(way), &t->s.q, &t->filter, t->bias_p, t->type, t->n, t->k,
                     t->m) != TFL_OK)
    return NULL;
  uint8_t *c = NULL;
  if (finish_way(&pw, way, t->s.q.input_offset)) {
    c = malloc((size_t)t->m * (size_t)t->n);
    void *scratch = malloc(tfl_qgemm_scratch_bytes(&pw, 1));
    tfl_qgemm_matrix(NULL, &pw, t->type, t->a, (size_t)t->k, t->s.q.input_offset, t->m, c,
                     (size_t)t->n, scratch);
    free(scratch);
  }
  tfl_qgemm_weights_free(&pw);
  return c;
}

static int check_qgemm_dot(uint32_t *rng) {
  dot_case t;
  dot_case_init(&t, rng);
  uint8_t *got = dot_case_run(&t, QGEMM_DOT), *portable = dot_case_run(&t, QGEMM_PORTABLE),
          *int16 = dot_case_run(&t, QGEMM_INT16);
  char what[64];
  snprintf(what, sizeof(what), "qgemm dot m=%d n=%d k=%d", (int)t.m, (int)t.n, (int)t.k);
  const size_t count = (size_t)t.m * (size_t)t.n;
  int ok = got && portable && int16;
  CHECK(ok);
  ok = ok && same_codes(what, &t.s, t.type, t.filter_type, got, portable, count) &&
       same_codes(what, &t.s, t.type, t.filter_type, got, int16, count);
  dot_case_free(&t);
  free(got), free(portable), free(int16);
  return ok;
}

/* The machine has the dot-product instructions (else the kernel cannot run here). */
static int have_dot(void) {
  if (tfl_cpu_detect_hardware() >= TFL_CPU_NEON_DOT) return 1;
  printf("  (no dot-product instructions here: dot kernel not run)\n");
  return 0;
}

TEST(qgemm_dot_matches_the_portable_and_int16_kernels) {
  if (!have_dot()) return;
  uint32_t rng = 2024;
  for (int i = 0; i < 300; i++)
    if (!check_qgemm_dot(&rng)) return;
}

/* A code of `type` and an offset that add up to +255 (high) or -255. */
static void extreme_code(tfl_type type, int high, uint8_t *code, int32_t *offset) {
  if (type == TFL_UINT8) {
    *code = high ? 255 : 0;
    *offset = high ? 0 : -255;
  } else {
    *code = high ? 0x7f : 0x80;
    *offset = high ? 128 : -127;
  }
}

/* Every factor at +-255, a bias near INT32_MAX: sums that wrap. */
TEST(qgemm_dot_wraps_like_the_reference) {
  if (!have_dot()) return;
  uint32_t rng = 5;
  for (int i = 0; i < 12; i++) {
    dot_case t;
    dot_case_init(&t, &rng);
    uint8_t x, w;
    extreme_code(t.type, i & 1, &x, &t.s.q.input_offset);
    extreme_code(t.filter_type, (i >> 1) & 1, &w, &t.s.q.filter_offset);
    memset(t.a, x, (size_t)t.m * (size_t)t.k);
    memset(t.w, w, (size_t)t.n * (size_t)t.k);
    for (int32_t c = 0; c < t.n; c++) t.bias[c] = INT32_MAX - c;
    uint8_t *got = dot_case_run(&t, QGEMM_DOT), *want = dot_case_run(&t, QGEMM_PORTABLE);
    CHECK(got && want);
    const int ok = got && want &&
                   same_codes("qgemm dot extremes", &t.s, t.type, t.filter_type, got, want,
                              (size_t)t.m * (size_t)t.n);
    dot_case_free(&t);
    free(got), free(want);
    if (!ok) return;
  }
}

/* tfl_qgemm_pack takes the dot-product kernel at TFL_CPU_NEON_DOT only. */
TEST(qgemm_pack_picks_the_dot_kernel_at_neondot) {
  uint32_t rng = 8;
  dot_case t;
  dot_case_init(&t, &rng);
  tfl_qgemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  REQUIRE(tfl_qgemm_pack(&pw, TFL_CPU_NEON, &t.s.q, &t.filter, t.bias_p, t.type, t.n, t.k, t.m) ==
          TFL_OK);
  CHECK(pw.quad == NULL && pw.ukernel == tfl_qgemm_ukernel_neon);
  if (have_dot()) {
    REQUIRE(tfl_qgemm_pack(&pw, TFL_CPU_NEON_DOT, &t.s.q, &t.filter, t.bias_p, t.type, t.n, t.k,
                           t.m) == TFL_OK);
    CHECK(pw.quad == tfl_qgemm_dot_neon);
  }
  tfl_qgemm_weights_free(&pw);
  dot_case_free(&t);
}

/* A CONV_2D through tfl_qconv_eval on the way's kernel (padding is the input zero point,
 * gathered windows leave garbage past k in their rows), NULL if it did not run there. */
static uint8_t *dot_conv_run(qgemm_way way, const window_case *k, const tfl_window *win,
                             const qsetup *s, const tfl_tensor *input, const tfl_tensor *filter,
                             const tfl_tensor *bias, int32_t out_c) {
  tfl_qconv qc;
  memset(&qc, 0, sizeof(qc));
  if (tfl_qconv_prepare(&qc, way_level(way), win, k->batches, k->channels, out_c, &s->q, input,
                        filter, bias) != TFL_OK)
    return NULL;
  uint8_t *out = NULL;
  if (finish_way(&qc.w, way, s->q.input_offset)) {
    const size_t n = (size_t)k->batches * (size_t)win->h.out * (size_t)win->w.out *
                     (size_t)out_c;
    out = malloc(n + 1);
    void *scratch = malloc(tfl_qconv_scratch_bytes(&qc, 1));
    tfl_qconv_eval(NULL, &qc, input->data, out, scratch);
    free(scratch);
  }
  tfl_qconv_free(&qc);
  return out;
}

static int check_qconv_dot(uint32_t *rng) {
  const tfl_type type = (ck_xorshift(rng) & 1) ? TFL_INT8 : TFL_UINT8;
  window_case k = random_window(rng, 1);
  k.channels = ck_xorshift_in(rng, 1, 12);
  const int32_t out_c = ck_xorshift_in(rng, 1, 40);
  const tfl_window win = {ck_window_axis(k.h, k.kh, k.stride, k.dilation, k.same),
                          ck_window_axis(k.w, k.kw, k.stride, k.dilation, k.same)};
  qsetup s;
  qsetup_init(&s, type, rng, out_c, -40, 4);
  const tfl_type filter_type = random_filter_quant(&s, type, rng);
  const size_t taps = (size_t)k.kh * (size_t)k.kw * (size_t)k.channels;
  uint8_t *in = random_bytes((size_t)k.batches * (size_t)k.h * (size_t)k.w * (size_t)k.channels,
                             rng);
  uint8_t *f = random_bytes((size_t)out_c * taps, rng);
  int32_t *bias = random_bias((size_t)out_c, rng);
  const tfl_tensor input = ck_const_tensor(type, in), filter = ck_const_tensor(filter_type, f),
                   bias_t = ck_const_tensor(TFL_INT32, bias);
  const tfl_tensor *bias_p = (ck_xorshift(rng) & 3) ? &bias_t : NULL;
  uint8_t *got = dot_conv_run(QGEMM_DOT, &k, &win, &s, &input, &filter, bias_p, out_c);
  uint8_t *portable = dot_conv_run(QGEMM_PORTABLE, &k, &win, &s, &input, &filter, bias_p, out_c);
  uint8_t *int16 = dot_conv_run(QGEMM_INT16, &k, &win, &s, &input, &filter, bias_p, out_c);
  char what[96];
  snprintf(what, sizeof(what), "qconv dot %dx%d s%d d%d %s in %dx%dx%d out_c %d", (int)k.kh,
           (int)k.kw, (int)k.stride, (int)k.dilation, k.same ? "same" : "valid", (int)k.h,
           (int)k.w, (int)k.channels, (int)out_c);
  const size_t count = (size_t)k.batches * (size_t)win.h.out * (size_t)win.w.out * (size_t)out_c;
  int ok = got && portable && int16;
  CHECK(ok);
  ok = ok && same_codes(what, &s, type, filter_type, got, portable, count) &&
       same_codes(what, &s, type, filter_type, got, int16, count);
  free(in), free(f), free(bias), free(got), free(portable), free(int16);
  return ok;
}

TEST(qconv_dot_matches_the_portable_and_int16_kernels) {
  if (!have_dot()) return;
  uint32_t rng = 31337;
  for (int i = 0; i < 120; i++)
    if (!check_qconv_dot(&rng)) return;
}

/* The depthwise rows of one preparation at `level`, into out. */
static int qdw_run(tfl_cpu_level level, const qsetup *s, const window_case *k,
                   const tfl_window *win, const tfl_tensor *input, const tfl_tensor *filter,
                   const tfl_tensor *bias, uint8_t *out, tfl_qdwconv_rows_fn *rows) {
  tfl_qdwconv dw;
  memset(&dw, 0, sizeof(dw));
  if (tfl_qdwconv_prepare(&dw, level, win, k->batches, k->channels, &s->q, input, filter,
                          bias) != TFL_OK)
    return 0;
  *rows = dw.rows;
  tfl_qdwconv_eval(NULL, &dw, input->data, out);
  tfl_qdwconv_free(&dw);
  return 1;
}

static int check_qdwconv(tfl_cpu_level level, uint32_t *rng) {
  const tfl_type type = (ck_xorshift(rng) & 1) ? TFL_INT8 : TFL_UINT8;
  window_case k = random_window(rng, 1);
  k.channels = ck_xorshift_in(rng, 1, 64);
  const tfl_window win = {ck_window_axis(k.h, k.kh, k.stride, k.dilation, k.same),
                          ck_window_axis(k.w, k.kw, k.stride, k.dilation, k.same)};
  const int32_t C = k.channels;
  qsetup s;
  qsetup_init(&s, type, rng, C, -40, 4);
  const size_t out_n = (size_t)k.batches * (size_t)win.h.out * (size_t)win.w.out * (size_t)C;
  uint8_t *in = random_bytes((size_t)k.batches * (size_t)k.h * (size_t)k.w * (size_t)C, rng);
  uint8_t *f = random_bytes((size_t)k.kh * (size_t)k.kw * (size_t)C, rng);
  int32_t *bias = random_bias((size_t)C, rng);
  const tfl_tensor input = ck_const_tensor(type, in), filter = ck_const_tensor(type, f),
                   bias_t = ck_const_tensor(TFL_INT32, bias);
  const tfl_tensor *bias_p = (ck_xorshift(rng) & 3) ? &bias_t : NULL;
  uint8_t *got = malloc(out_n + 1), *want = malloc(out_n + 1);
  tfl_qdwconv_rows_fn neon = NULL, portable = NULL;
  int ok = qdw_run(level, &s, &k, &win, &input, &filter, bias_p, got, &neon) &&
           qdw_run(TFL_CPU_SCALAR, &s, &k, &win, &input, &filter, bias_p, want, &portable) &&
           neon == tfl_qdwconv_rows_neon && portable == tfl_qdwconv_rows_portable;
  CHECK(ok);
  for (size_t i = 0; ok && i < out_n; i++)
    if (got[i] != want[i]) {
      test_fail(__FILE__, __LINE__, "qdwconv %s %dx%d s%d d%d C%d in %dx%d: output %zu = %d, "
                "want %d", type == TFL_UINT8 ? "uint8" : "int8", (int)k.kh, (int)k.kw,
                (int)k.stride, (int)k.dilation, (int)C, (int)k.h, (int)k.w, i, got[i], want[i]);
      ok = 0;
    }
  free(in), free(f), free(bias), free(got), free(want);
  return ok;
}

TEST(qdwconv_matches_the_portable_kernel) {
  tfl_cpu_level levels[2];
  const int nl = neon_levels(levels);
  uint32_t rng = 4711;
  for (int l = 0; l < nl; l++)
    for (int i = 0; i < 150; i++)
      if (!check_qdwconv(levels[l], &rng)) return;
}

/* Extreme multipliers for ADD: shifts from tiny scales (right shifts past 31) to large ones. */
TEST(qadd_matches_the_portable_kernel_at_extreme_shifts) {
  uint32_t rng = 5;
  for (int i = 0; i < 300; i++) {
    const tfl_type type = (i & 1) ? TFL_INT8 : TFL_UINT8;
    tfl_qadd q;
    memset(&q, 0, sizeof(q));
    REQUIRE(tfl_qadd_setup(&q, TFL_CPU_NEON, type));
    CHECK(q.run == tfl_qadd_run_neon);
    const int32_t lo = type == TFL_UINT8 ? 0 : -128, hi = type == TFL_UINT8 ? 255 : 127;
    q.sub = (int)(ck_xorshift(&rng) & 1);
    q.in1_offset = -ck_xorshift_in(&rng, lo, hi);
    q.in2_offset = -ck_xorshift_in(&rng, lo, hi);
    q.out_offset = ck_xorshift_in(&rng, lo, hi);
    q.in1_multiplier = (int32_t)((1u << 30) + (ck_xorshift(&rng) >> 2));
    q.in2_multiplier = (int32_t)(1u << 30);
    q.out_multiplier = (int32_t)((1u << 30) + (ck_xorshift(&rng) >> 2));
    q.in1_shift = ck_xorshift_in(&rng, -40, 0);
    q.in2_shift = ck_xorshift_in(&rng, -40, 0);
    q.out_shift = ck_xorshift_in(&rng, -40, 10);
    q.left_shift = ck_xorshift_in(&rng, 0, 20);
    q.act_min = lo;
    q.act_max = hi;
    const size_t n = (size_t)ck_xorshift_in(&rng, 0, 70);
    uint8_t *a = random_bytes(n, &rng), *b = random_bytes(n, &rng);
    uint8_t got[70], want[70];
    q.run(&q, a, 1, b, 1, got, n);
    tfl_qadd_run_portable(&q, a, 1, b, 1, want, n);
    const int ok = memcmp(got, want, n) == 0;
    free(a), free(b);
    if (!ok) {
      test_fail(__FILE__, __LINE__, "qadd case %d (shifts %d %d %d) differs", i, q.in1_shift,
                q.in2_shift, q.out_shift);
      return;
    }
  }
}

/* The scalar level keeps every fast path off or portable. */
TEST(scalar_level_takes_no_neon_kernel) {
  const float w[4] = {1, 2, 3, 4};
  tfl_gemm_weights pw;
  memset(&pw, 0, sizeof(pw));
  REQUIRE(tfl_gemm_pack(&pw, TFL_CPU_SCALAR, w, NULL, 2, 2) == TFL_OK);
  CHECK(pw.ukernel == tfl_gemm_ukernel_scalar);
  tfl_gemm_weights_free(&pw);
  const tfl_window win = {ck_window_axis(8, 3, 1, 1, 1), ck_window_axis(8, 3, 1, 1, 1)};
  tfl_dwconv dw;
  tfl_pool_fast pf;
  tfl_qadd q;
  CHECK(!tfl_dwconv_setup(&dw, TFL_CPU_SCALAR, &win, 1, 8, 8, 0.0f, 6.0f));
  CHECK(!tfl_pool_fast_setup(&pf, TFL_CPU_SCALAR, TFL_POOL_MAX, &win, 1, 8, 0.0f, 6.0f));
  CHECK(!tfl_qadd_setup(&q, TFL_CPU_SCALAR, TFL_INT8));
}

#endif

int main(void) {
  RUN(cpu_levels_parse_and_lower);
#if TFL_HAVE_ARM_KERNELS
  RUN(gemm_matches_fma_in_order);
  RUN(gemm_lets_nan_through);
  RUN(dwconv_matches_fma_in_tap_order);
  RUN(pools_match_the_reference_order);
  RUN(qgemm_matches_the_portable_kernel);
  RUN(qgemm_dot_matches_the_portable_and_int16_kernels);
  RUN(qgemm_dot_wraps_like_the_reference);
  RUN(qconv_dot_matches_the_portable_and_int16_kernels);
  RUN(qgemm_pack_picks_the_dot_kernel_at_neondot);
  RUN(qdwconv_matches_the_portable_kernel);
  RUN(qadd_matches_the_portable_kernel_at_extreme_shifts);
  RUN(scalar_level_takes_no_neon_kernel);
#endif
  return test_summary();
}
