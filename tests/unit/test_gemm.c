/* The packed GEMM (src/kernels/gemm.h) against a naive double-precision product, for every
 * micro-kernel this machine can run, on shapes that hit every edge of the 6 x 16 tile. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "runtime/cpu.h"
#include "util/check_util.h"
#include "util/test.h"

/* Deterministic values in [-1, 1). */
/* Levels to test: the portable kernel always, plus the machine's vector one (AVX2 or NEON). */
static int test_levels(tfl_cpu_level *levels) {
  int n = 0;
  levels[n++] = TFL_CPU_SCALAR;
  tfl_cpu_level hw = tfl_cpu_detect_hardware();
  if (hw >= TFL_CPU_AVX2 && hw < TFL_CPU_NEON) levels[n++] = TFL_CPU_AVX2;
  if (hw >= TFL_CPU_NEON) levels[n++] = TFL_CPU_NEON;
  return n;
}

/* Row r of the logical A, piece t: a pointer fetched through `gather` (taps mode). */
typedef struct gather_rows {
  const float *src; /* pool of rows of kc floats */
  const int32_t *index; /* m * taps row numbers into src, -1 for the zero row */
  const float *zeros;
  int32_t taps, kc;
} gather_rows;

static void gather_rows_fn(const void *arg, int32_t row, int mr, float *scratch,
                           const float **ptrs) {
  const gather_rows *g = arg;
  for (int i = 0; i < mr; i++)
    for (int32_t t = 0; t < g->taps; t++) {
      int32_t idx = g->index[(size_t)(row + i) * (size_t)g->taps + (size_t)t];
      ptrs[t * TFL_GEMM_MR + i] = idx < 0 ? g->zeros : g->src + (size_t)idx * (size_t)g->kc;
    }
}

/* Checks c against the double product of the logical A (m x k, row-major) and w ([n][k]). */
static void check_product(const float *a, const float *w, const float *bias, const float *c,
                          int32_t m, int32_t n, int32_t k, float lo, float hi) {
  int bad = 0;
  for (int32_t i = 0; i < m && !bad; i++)
    for (int32_t j = 0; j < n && !bad; j++) {
      double sum = 0, mag = 0;
      for (int32_t q = 0; q < k; q++) {
        double p = (double)a[(size_t)i * k + q] * w[(size_t)j * k + q];
        sum += p;
        mag += fabs(p);
      }
      if (bias) sum += bias[j], mag += fabs(bias[j]);
      double want = sum < lo ? lo : sum > hi ? hi : sum;
      double tol = (double)(k + 2) * FLT_EPSILON * mag + 1e-30;
      double got = c[(size_t)i * n + j];
      if (!(fabs(got - want) <= tol)) {
        test_fail(__FILE__, __LINE__, "m=%d n=%d k=%d: c[%d][%d] = %.9g, want %.9g", (int)m,
                  (int)n, (int)k, (int)i, (int)j, got, want);
        bad = 1;
      }
    }
}

static void check_matrix_shape(tfl_cpu_level level, int32_t m, int32_t n, int32_t k, int with_bias,
                               float lo, float hi) {
  float *a = ck_random_floats((size_t)m * k, 1u + (unsigned)(m * 31 + n * 7 + k));
  float *w = ck_random_floats((size_t)n * k, 2u + (unsigned)(m + n * 13 + k * 3));
  float *bias = with_bias ? ck_random_floats((size_t)n, 3u + (unsigned)n) : NULL;
  float *c = malloc(((size_t)m * n + 1) * sizeof(float));
  tfl_gemm_weights pw = {0};
  CHECK_EQ_INT(tfl_gemm_pack(&pw, level, w, bias, n, k), TFL_OK);
  tfl_gemm_matrix(NULL, &pw, a, (size_t)k, m, c, (size_t)n, lo, hi);
  check_product(a, w, bias, c, m, n, k, lo, hi);
  tfl_gemm_weights_free(&pw);
  free(a);
  free(w);
  free(bias);
  free(c);
}

TEST(matrix_shapes_match_double_product) {
  static const int32_t shapes[][3] = {
      {1, 1, 1},   {1, 16, 1},  {6, 16, 8},   {7, 17, 3},   {5, 1, 50},   {13, 33, 1},
      {12, 32, 64}, {1, 1000, 130}, {49, 40, 100}, {100, 31, 27}, {2, 5, 7}, {11, 48, 257},
      {4, 15, 2},  {3, 200, 9},  {65, 9, 5},   {400, 24, 3},
      {8, 20, 33}, {9, 21, 17}, {15, 17, 5}, /* last rows as 4 + 4, 5 + 4, 6 + 5 + 4 */
      {7, 33, 2500}, {1, 20, 4100}};          /* long k, as in ResNet's last convolutions */
  tfl_cpu_level levels[2];
  int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++)
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
      check_matrix_shape(levels[l], shapes[s][0], shapes[s][1], shapes[s][2], 1, -FLT_MAX,
                         FLT_MAX);
      check_matrix_shape(levels[l], shapes[s][0], shapes[s][1], shapes[s][2], 0, -0.5f, 0.25f);
    }
}

/* A strided A (lda > k) and a strided C (ldc > n): the kernel must not touch the gaps. */
TEST(strided_rows_leave_gaps_alone) {
  const int32_t m = 9, n = 19, k = 11;
  const size_t lda = 15, ldc = 23;
  tfl_cpu_level levels[2];
  int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++) {
    float *a = ck_random_floats((size_t)m * lda, 5);
    float *w = ck_random_floats((size_t)n * k, 6);
    float *dense = malloc((size_t)m * k * sizeof(float));
    for (int32_t i = 0; i < m; i++) memcpy(dense + (size_t)i * k, a + i * lda, (size_t)k * 4);
    float *c = malloc((size_t)m * ldc * sizeof(float));
    for (size_t i = 0; i < (size_t)m * ldc; i++) c[i] = 7.0f;
    tfl_gemm_weights pw = {0};
    CHECK_EQ_INT(tfl_gemm_pack(&pw, levels[l], w, NULL, n, k), TFL_OK);
    tfl_gemm_matrix(NULL, &pw, a, lda, m, c, ldc, -FLT_MAX, FLT_MAX);
    float *packed_c = malloc((size_t)m * n * sizeof(float));
    for (int32_t i = 0; i < m; i++) {
      memcpy(packed_c + (size_t)i * n, c + i * ldc, (size_t)n * 4);
      for (size_t j = (size_t)n; j < ldc; j++) CHECK(c[i * ldc + j] == 7.0f);
    }
    check_product(dense, w, NULL, packed_c, m, n, k, -FLT_MAX, FLT_MAX);
    tfl_gemm_weights_free(&pw);
    free(a), free(w), free(dense), free(c), free(packed_c);
  }
}

/* Rows made of several pieces from scattered pointers, some to a zero row (a convolution's
 * padding taps). */
static void check_pieces(int32_t m, int32_t n, int32_t taps, int32_t kc) {
  const int32_t pool = 40, k = taps * kc;
  tfl_cpu_level levels[2];
  int n_levels = test_levels(levels);
  float *src = ck_random_floats((size_t)pool * kc, 8);
  float *w = ck_random_floats((size_t)n * k, 9);
  float *bias = ck_random_floats((size_t)n, 10);
  float *zeros = calloc((size_t)kc, sizeof(float));
  int32_t *index = malloc((size_t)m * taps * sizeof(int32_t));
  unsigned seed = 11;
  for (int32_t i = 0; i < m * taps; i++) {
    seed = seed * 1664525u + 1013904223u;
    index[i] = (int32_t)((seed >> 10) % (pool + 3)) - 3; /* some -1..-3: the zero row */
    if (index[i] < 0) index[i] = -1;
  }
  float *dense = calloc((size_t)m * k, sizeof(float));
  for (int32_t i = 0; i < m; i++)
    for (int32_t t = 0; t < taps; t++)
      if (index[i * taps + t] >= 0)
        memcpy(dense + (size_t)i * k + (size_t)t * kc, src + (size_t)index[i * taps + t] * kc,
               (size_t)kc * 4);
  float *c = malloc((size_t)m * n * sizeof(float));
  for (int l = 0; l < n_levels; l++) {
    tfl_gemm_weights pw = {0};
    CHECK_EQ_INT(tfl_gemm_pack(&pw, levels[l], w, bias, n, k), TFL_OK);
    const gather_rows g = {src, index, zeros, taps, kc};
    const tfl_gemm_problem p = {.m = m, .taps = taps, .kc = kc, .rows = gather_rows_fn,
                                .rows_arg = &g, .c = c, .ldc = (size_t)n, .lo = 0.0f,
                                .hi = 6.0f};
    tfl_gemm_run(NULL, &pw, &p);
    check_product(dense, w, bias, c, m, n, k, 0.0f, 6.0f);
    tfl_gemm_weights_free(&pw);
  }
  free(src), free(w), free(bias), free(index), free(dense), free(c), free(zeros);
}

TEST(pieces_from_pointers_match_gathered_rows) {
  check_pieces(23, 21, 9, 5);
  check_pieces(8, 17, 9, 300);  /* long pieces */
  check_pieces(13, 40, 30, 70); /* many pieces */
}

/* Every micro-kernel sums in the same order with fused multiply-adds: identical results (a
 * lone row, which runs several panels at a time, too). */
static void check_levels_agree(int32_t m, int32_t n, int32_t k) {
  tfl_cpu_level levels[2];
  if (test_levels(levels) < 2) return;
  float *a = ck_random_floats((size_t)m * k, 12), *w = ck_random_floats((size_t)n * k, 13);
  float *bias = ck_random_floats((size_t)n, 14);
  float *c0 = malloc((size_t)m * n * sizeof(float)), *c1 = malloc((size_t)m * n * sizeof(float));
  tfl_gemm_weights p0 = {0}, p1 = {0};
  CHECK_EQ_INT(tfl_gemm_pack(&p0, levels[0], w, bias, n, k), TFL_OK);
  CHECK_EQ_INT(tfl_gemm_pack(&p1, levels[1], w, bias, n, k), TFL_OK);
  tfl_gemm_matrix(NULL, &p0, a, (size_t)k, m, c0, (size_t)n, -1.0f, 1.0f);
  tfl_gemm_matrix(NULL, &p1, a, (size_t)k, m, c1, (size_t)n, -1.0f, 1.0f);
  CHECK(memcmp(c0, c1, (size_t)m * n * sizeof(float)) == 0);
  tfl_gemm_weights_free(&p0);
  tfl_gemm_weights_free(&p1);
  free(a), free(w), free(bias), free(c0), free(c1);
}

TEST(micro_kernels_agree_bit_for_bit) {
  check_levels_agree(29, 37, 301);
  check_levels_agree(1, 77, 150); /* panels in groups of 4, then 1, 13 columns in the last */
  check_levels_agree(1, 40, 9);   /* a group of 3 */
}

/* TFLite's clamp lets NaN through; so must the vector min/max. */
TEST(nan_passes_through_the_clamp) {
  tfl_cpu_level levels[2];
  int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++) {
    float a[2] = {NAN, 1.0f}, w[3] = {1.0f, 2.0f, -3.0f}, c[6];
    tfl_gemm_weights pw = {0};
    CHECK_EQ_INT(tfl_gemm_pack(&pw, levels[l], w, NULL, 3, 1), TFL_OK);
    tfl_gemm_matrix(NULL, &pw, a, 1, 2, c, 3, 0.0f, 1.5f);
    CHECK(isnan(c[0]) && isnan(c[1]) && isnan(c[2]));
    CHECK_NEAR(c[3], 1.0f, 0);
    CHECK_NEAR(c[4], 1.5f, 0);
    CHECK_NEAR(c[5], 0.0f, 0);
    tfl_gemm_weights_free(&pw);
  }
}

/* A fused ADD (runtime/fuse.h) after the product: exactly clamp(c + r) of the plain product's
 * clamped c, float for float, over tiles of every width (narrow last panels included). */
TEST(residual_adds_after_the_clamp) {
  static const int32_t shapes[][3] = {{13, 37, 29}, {6, 8, 5}, {7, 24, 40}, {20, 9, 3}};
  tfl_cpu_level levels[2];
  int n_levels = test_levels(levels);
  for (int l = 0; l < n_levels; l++)
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
      const int32_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      const size_t ldr = (size_t)n + 3; /* a residual with its own row stride */
      float *a = ck_random_floats((size_t)m * k, 31), *w = ck_random_floats((size_t)n * k, 32);
      float *bias = ck_random_floats((size_t)n, 33), *r = ck_random_floats((size_t)m * ldr, 34);
      float *plain = malloc((size_t)m * n * sizeof(float));
      float *fused = malloc((size_t)m * n * sizeof(float));
      r[ldr + 1] = NAN;
      tfl_gemm_weights pw = {0};
      CHECK_EQ_INT(tfl_gemm_pack(&pw, levels[l], w, bias, n, k), TFL_OK);
      tfl_gemm_matrix(NULL, &pw, a, (size_t)k, m, plain, (size_t)n, -FLT_MAX, FLT_MAX);
      const tfl_gemm_residual res = {r, ldr, 0.0f, 0.5f};
      tfl_gemm_matrix_residual(NULL, &pw, a, (size_t)k, m, fused, (size_t)n, -FLT_MAX, FLT_MAX,
                               &res);
      int bad = 0;
      for (int32_t i = 0; i < m && !bad; i++)
        for (int32_t j = 0; j < n && !bad; j++) {
          float y = plain[(size_t)i * n + j] + r[(size_t)i * ldr + j];
          y = y < 0.0f ? 0.0f : y > 0.5f ? 0.5f : y;
          const float got = fused[(size_t)i * n + j];
          if (!(got == y || (isnan(got) && isnan(y)))) {
            test_fail(__FILE__, __LINE__, "m=%d n=%d k=%d: c[%d][%d] = %.9g, want %.9g", (int)m,
                      (int)n, (int)k, (int)i, (int)j, got, y);
            bad = 1;
          }
        }
      tfl_gemm_weights_free(&pw);
      free(a), free(w), free(bias), free(r), free(plain), free(fused);
    }
}

/* Packing twice replaces the panels; zero rows or columns compute nothing. */
TEST(repack_and_empty_products) {
  float w[4] = {1, 2, 3, 4}, a[2] = {1, 1}, c[2] = {-1, -1};
  tfl_gemm_weights pw = {0};
  CHECK_EQ_INT(tfl_gemm_pack(&pw, TFL_CPU_SCALAR, w, NULL, 2, 2), TFL_OK);
  CHECK_EQ_INT(tfl_gemm_pack(&pw, TFL_CPU_SCALAR, w, NULL, 1, 4), TFL_OK);
  CHECK_EQ_INT(pw.n, 1);
  tfl_gemm_matrix(NULL, &pw, a, 2, 0, c, 1, -FLT_MAX, FLT_MAX);
  CHECK(c[0] == -1.0f);
  tfl_gemm_weights_free(&pw);
  CHECK(pw.panels == NULL);
}

int main(void) {
  RUN(matrix_shapes_match_double_product);
  RUN(strided_rows_leave_gaps_alone);
  RUN(pieces_from_pointers_match_gathered_rows);
  RUN(micro_kernels_agree_bit_for_bit);
  RUN(nan_passes_through_the_clamp);
  RUN(residual_adds_after_the_clamp);
  RUN(repack_and_empty_products);
  return test_summary();
}
