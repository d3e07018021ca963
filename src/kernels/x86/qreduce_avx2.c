/* Rows of int8/uint8 codes added into int32 sums with AVX2 (qreduce.h): 8 at a time. */
#include <immintrin.h>

#include "kernels/qreduce.h"

static inline __attribute__((always_inline)) void combine(const int u8, int32_t *acc,
                                                          const uint8_t *in, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)(in + i));
    const __m256i x = u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
    __m256i *a = (__m256i *)(acc + i);
    _mm256_storeu_si256(a, _mm256_add_epi32(_mm256_loadu_si256(a), x));
  }
  tfl_qreduce_combine_tail(u8, acc, in, i, n);
}

void tfl_qreduce_combine_u8_avx2(void *acc, const void *in, size_t n) { combine(1, acc, in, n); }

void tfl_qreduce_combine_i8_avx2(void *acc, const void *in, size_t n) { combine(0, acc, in, n); }
