/* Quantized MEAN and SUM with AVX2 (qreduce.h): rows of int8/uint8 codes added into int32
 * sums, and MEAN's rescale of the sums, 8 at a time. */
#include <immintrin.h>

#include "kernels/qreduce.h"
#include "kernels/x86/narrow_avx2.h"
#include "kernels/x86/qreq_avx2.h"

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

/* qreq_scale8's DOUBLE rounding is tfl_mul_by_quantized_multiplier for the non-negative
 * multipliers MEAN has, once its shifts are capped at 31 as that function caps them; it adds
 * `add` with int32 wrap-around, and the saturating store clamps. */
void tfl_qmean_rescale_avx2(const tfl_qmean *m, void *out, const int32_t *sum, size_t n) {
  const int left = m->shift > 0 ? (m->shift < 31 ? m->shift : 31) : 0;
  const int right = m->shift > 0 ? 0 : (m->shift > -31 ? -m->shift : 31);
  const __m256i mult = _mm256_set1_epi32(m->multiplier);
  const qreq_vec p = {.left = _mm256_set1_epi32(left),
                      .mult = mult,
                      .mult_odd = mult, /* every lane holds it */
                      .right = _mm256_set1_epi32(right),
                      .half = _mm256_set1_epi32(right > 0 ? 1 << (right - 1) : 0),
                      .offset = _mm256_set1_epi32(m->add)};
  const __m256i subtract = _mm256_set1_epi32((int32_t)m->subtract);
  const tfl_type type = m->type; /* read once: the stores may alias m */
  const size_t size = tfl_type_size(type);
  uint8_t *dst = out;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i s = _mm256_loadu_si256((const __m256i *)(sum + i));
    const __m256i v = qreq_scale8(0, QREQ_GENERAL, &p, _mm256_sub_epi32(s, subtract));
    tfl_store8_codes_avx2(type, v, dst + i * size);
  }
  tfl_qmean_rescale_tail(m, out, sum, i, n);
}
