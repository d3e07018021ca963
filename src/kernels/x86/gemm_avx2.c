/* The AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile in 12 ymm accumulators, each step
 * broadcasting one A value per row against two 8-float vectors of the packed panel. One
 * instance per row count keeps the edge tiles in registers too. */
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm.h"

/* The first nr of the 16 floats lo:hi, stored at c. */
static inline void store_row(float *c, int nr, __m256 lo, __m256 hi) {
  if (nr == TFL_GEMM_NR) {
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
    return;
  }
  float tmp[TFL_GEMM_NR];
  _mm256_storeu_ps(tmp, lo);
  _mm256_storeu_ps(tmp + 8, hi);
  memcpy(c, tmp, (size_t)nr * sizeof(float));
}

static inline __attribute__((always_inline)) void
ukernel_rows(const int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
             const float *b, const float *bias, float *c, size_t ldc, float lo, float hi) {
  __m256 acc0[TFL_GEMM_MR], acc1[TFL_GEMM_MR];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int32_t t = 0; t < taps; t++, a += TFL_GEMM_MR) {
    const float *row[TFL_GEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) row[i] = a[i];
    for (int32_t q = 0; q < kc; q++, b += TFL_GEMM_NR) {
      const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
      for (int i = 0; i < mr; i++) {
        const __m256 v = _mm256_broadcast_ss(row[i] + q);
        acc0[i] = _mm256_fmadd_ps(v, b0, acc0[i]);
        acc1[i] = _mm256_fmadd_ps(v, b1, acc1[i]);
      }
    }
  }
  /* max(lo, x) and min(hi, x) return x when x is NaN, as the reference clamp does. */
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    const __m256 y0 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(acc0[i], bias0)));
    const __m256 y1 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(acc1[i], bias1)));
    store_row(c + (size_t)i * ldc, nr, y0, y1);
  }
}

#define GEMM_AVX2_ROWS(MR)                                                                  \
  static void ukernel_##MR(int nr, int32_t kc, int32_t taps, const float *const *a,        \
                           const float *b, const float *bias, float *c, size_t ldc, float lo, \
                           float hi) {                                                       \
    ukernel_rows(MR, nr, kc, taps, a, b, bias, c, ldc, lo, hi);                             \
  }
GEMM_AVX2_ROWS(1)
GEMM_AVX2_ROWS(2)
GEMM_AVX2_ROWS(3)
GEMM_AVX2_ROWS(4)
GEMM_AVX2_ROWS(5)
GEMM_AVX2_ROWS(6)

void tfl_gemm_ukernel_avx2(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                           const float *b, const float *bias, float *c, size_t ldc, float lo,
                           float hi) {
  switch (mr) {
    case 6: ukernel_6(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 5: ukernel_5(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 4: ukernel_4(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 3: ukernel_3(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    case 2: ukernel_2(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
    default: ukernel_1(nr, kc, taps, a, b, bias, c, ldc, lo, hi); return;
  }
}
