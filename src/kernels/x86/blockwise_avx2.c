/* The blockwise int4 FULLY_CONNECTED inner kernel with AVX2 (blockwise.h): 32 values of a block
 * per step, eight blocks' sums reduced together.
 *
 * vpmaddubsw multiplies unsigned by signed bytes, so the codes go in shifted: with
 * a = q + 128 in [0, 255] and w in [-8, 7], sum(a * w) = dot + 128 * wsum, every pair sum at
 * most 2 * 255 * 8 in magnitude (no saturation). wsum comes from the biased weights
 * w + 8 in [0, 15] by vpsadbw. Both sums are exact, so the products match the portable
 * kernel's bit for bit. */
#include <immintrin.h>

#include "kernels/blockwise.h"

/* 16 bytes of packed int4 (element 2i in the low nibble of byte i) as 32 bytes w + 8, in
 * element order: each byte widened to 16 bits, its high nibble moved up into the upper byte. */
static inline __m256i unpack_biased(const uint8_t *w) {
  const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)w));
  const __m256i nibbles =
      _mm256_and_si256(_mm256_or_si256(v, _mm256_slli_epi16(v, 4)), _mm256_set1_epi16(0x0f0f));
  return _mm256_xor_si256(nibbles, _mm256_set1_epi8(8));
}

/* Lane k = the sum of the eight int32 lanes of a[k]. */
static inline __m256i sum_lanes8(const __m256i *a) {
  const __m256i x =
      _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
  const __m256i y =
      _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(x, y, 0x20),
                          _mm256_permute2x128_si256(x, y, 0x31));
}

/* One block's partial sums of a * w (eight int32 lanes) and of w + 8 (four 64-bit lanes,
 * which summed as int32 lanes give the same total). */
static inline void block_sums(const int8_t *q, const uint8_t *w, size_t block, __m256i *dot,
                              __m256i *biased_sum) {
  const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
  const __m256i eight = _mm256_set1_epi8(8);
  __m256i d = _mm256_setzero_si256(), s = _mm256_setzero_si256();
  for (const int8_t *const end = q + block; q < end;
       q += TFL_BLOCKWISE_STEP, w += TFL_BLOCKWISE_STEP / 2) {
    const __m256i biased = unpack_biased(w);
    const __m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), flip);
    const __m256i pairs = _mm256_maddubs_epi16(a, _mm256_sub_epi8(biased, eight));
    d = _mm256_add_epi32(d, _mm256_madd_epi16(pairs, ones));
    s = _mm256_add_epi32(s, _mm256_sad_epu8(biased, _mm256_setzero_si256()));
  }
  *dot = d;
  *biased_sum = s;
}

/* The kernel for blocks of `block` values, k < n of them; w starts at the first block. */
static inline __attribute__((always_inline)) void group(const int8_t *q, const uint8_t *w,
                                                        size_t block, size_t n,
                                                        const uint16_t *scales, float *prod,
                                                        float *wprod) {
  __m256i dots[TFL_BLOCKWISE_GROUP], sums[TFL_BLOCKWISE_GROUP];
  for (size_t k = 0; k < TFL_BLOCKWISE_GROUP; k++) {
    dots[k] = sums[k] = _mm256_setzero_si256();
    if (k < n) block_sums(q + k * block, w + k * block / 2, block, &dots[k], &sums[k]);
  }
  const __m256i wsum = _mm256_sub_epi32(sum_lanes8(sums), _mm256_set1_epi32((int)(8 * block)));
  const __m256i dot = _mm256_sub_epi32(sum_lanes8(dots), _mm256_slli_epi32(wsum, 7));
  const __m256 s = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)scales));
  _mm256_storeu_ps(prod, _mm256_mul_ps(_mm256_cvtepi32_ps(dot), s));
  _mm256_storeu_ps(wprod, _mm256_mul_ps(s, _mm256_cvtepi32_ps(wsum)));
}

void tfl_blockwise_group_avx2(const int8_t *q, const uint8_t *w, size_t first, size_t block,
                              size_t n, const uint16_t *scales, float *prod, float *wprod) {
  /* A whole group of one-step blocks, the most common shape, unrolled with constant sizes. */
  if (block == TFL_BLOCKWISE_STEP && n == TFL_BLOCKWISE_GROUP)
    group(q, w + first / 2, TFL_BLOCKWISE_STEP, TFL_BLOCKWISE_GROUP, scales, prod, wprod);
  else
    group(q, w + first / 2, block, n, scales, prod, wprod);
}
