/* The AVX2 + FMA GEMM micro-kernel: a 6 x 16 tile in 12 ymm accumulators, each step
 * broadcasting one A value per row against two 8-float vectors of the packed panel (one when
 * at most 8 columns are left). One instance per row count keeps the edge tiles in registers
 * too. */
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

/* W vectors of the panel per row: 2 (the whole panel), or 1 when the tile's columns fit in
 * the first 8 (a last narrow panel: half the accumulators and none of their dead work). */
static inline __attribute__((always_inline)) void
ukernel_rows(const int mr, const int W, int nr, int32_t kc, int32_t taps, const float *const *a,
             const float *b, const float *bias, float *c, size_t ldc, float lo, float hi) {
  __m256 acc0[TFL_GEMM_MR], acc1[TFL_GEMM_MR];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int32_t t = 0; t < taps; t++, a += TFL_GEMM_MR) {
    const float *row[TFL_GEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) row[i] = a[i];
    for (int32_t q = 0; q < kc; q++, b += TFL_GEMM_NR) {
      const __m256 b0 = _mm256_load_ps(b), b1 = W == 2 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
      for (int i = 0; i < mr; i++) {
        const __m256 v = _mm256_broadcast_ss(row[i] + q);
        acc0[i] = _mm256_fmadd_ps(v, b0, acc0[i]);
        if (W == 2) acc1[i] = _mm256_fmadd_ps(v, b1, acc1[i]);
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

#define GEMM_AVX2_ROWS(MR)                                                                    \
  static void ukernel_##MR(int nr, int32_t kc, int32_t taps, const float *const *a,          \
                           const float *b, const float *bias, float *c, size_t ldc, float lo,   \
                           float hi) {                                                         \
    if (nr <= 8)                                                                              \
      ukernel_rows(MR, 1, nr, kc, taps, a, b, bias, c, ldc, lo, hi);                          \
    else                                                                                      \
      ukernel_rows(MR, 2, nr, kc, taps, a, b, bias, c, ldc, lo, hi);                          \
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

/* c = clamp(c + r, lo, hi) over the tile, NaN passing as in the reference clamp. */
void tfl_gemm_residual_avx2(int mr, int nr, float *c, size_t ldc, const float *r, size_t ldr,
                            float lo, float hi) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr % 8),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int i = 0; i < mr; i++, c += ldc, r += ldr) {
    int j = 0;
    for (; j + 8 <= nr; j += 8) {
      const __m256 y = _mm256_add_ps(_mm256_loadu_ps(c + j), _mm256_loadu_ps(r + j));
      _mm256_storeu_ps(c + j, _mm256_min_ps(vhi, _mm256_max_ps(vlo, y)));
    }
    if (j < nr) {
      const __m256 y =
          _mm256_add_ps(_mm256_maskload_ps(c + j, tail), _mm256_maskload_ps(r + j, tail));
      _mm256_maskstore_ps(c + j, tail, _mm256_min_ps(vhi, _mm256_max_ps(vlo, y)));
    }
  }
}

/* NP panels (of the packed layout) against one row; n of their columns stored. */
static inline __attribute__((always_inline)) void
gemv_panels(const int NP, int n, int32_t k, const float *a, const float *b, const float *bias,
            float *c, float lo, float hi) {
  const size_t stride = (size_t)k * TFL_GEMM_NR;
  __m256 acc[2 * TFL_GEMM_GEMV_PANELS];
  for (int j = 0; j < 2 * NP; j++) acc[j] = _mm256_setzero_ps();
  for (int32_t q = 0; q < k; q++, b += TFL_GEMM_NR) {
    const __m256 v = _mm256_broadcast_ss(a + q);
    for (int j = 0; j < NP; j++) {
      acc[2 * j] = _mm256_fmadd_ps(v, _mm256_load_ps(b + (size_t)j * stride), acc[2 * j]);
      acc[2 * j + 1] = _mm256_fmadd_ps(v, _mm256_load_ps(b + (size_t)j * stride + 8),
                                       acc[2 * j + 1]);
    }
  }
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  for (int j = 0; j < NP; j++, n -= TFL_GEMM_NR, c += TFL_GEMM_NR, bias += TFL_GEMM_NR) {
    const __m256 y0 =
        _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(acc[2 * j], _mm256_loadu_ps(bias))));
    const __m256 y1 = _mm256_min_ps(
        vhi, _mm256_max_ps(vlo, _mm256_add_ps(acc[2 * j + 1], _mm256_loadu_ps(bias + 8))));
    store_row(c, n < TFL_GEMM_NR ? n : TFL_GEMM_NR, y0, y1);
  }
}

void tfl_gemm_gemv_avx2(int np, int n, int32_t k, const float *a, const float *b,
                        const float *bias, float *c, float lo, float hi) {
  switch (np) {
    case 4: gemv_panels(4, n, k, a, b, bias, c, lo, hi); return;
    case 3: gemv_panels(3, n, k, a, b, bias, c, lo, hi); return;
    case 2: gemv_panels(2, n, k, a, b, bias, c, lo, hi); return;
    default: gemv_panels(1, n, k, a, b, bias, c, lo, hi); return;
  }
}
