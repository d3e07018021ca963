/* Loads and stores of 8 floats that take a lane mask for a row's last, partial vector. The
 * `masked` flag is a compile-time constant in the kernels' unrolled loops, so the full-vector
 * case costs nothing. */
#ifndef TFL_KERNELS_X86_MASKED_AVX2_H
#define TFL_KERNELS_X86_MASKED_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* Lanes 0 .. n-1 set. */
static inline __m256i tfl_avx2_lanes_below(int32_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) __m256 tfl_avx2_load_masked(const float *p,
                                                                         int masked,
                                                                         __m256i mask) {
  return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

static inline __attribute__((always_inline)) void tfl_avx2_store_masked(float *p, __m256 v,
                                                                        int masked,
                                                                        __m256i mask) {
  if (masked)
    _mm256_maskstore_ps(p, mask, v);
  else
    _mm256_storeu_ps(p, v);
}

#endif
