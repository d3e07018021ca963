/* int8/uint8 max and average pool rows with AVX2 (qpool.h): channels in blocks of 32, then
 * of 8, in int32 lanes; the last channels in plain C. */
#include <immintrin.h>

#include "kernels/qpool.h"
#include "kernels/x86/qreq_avx2.h"

static inline __m256i widen8(const int u8, const uint8_t *p) {
  const __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

/* The maxima or sums over the taps of `blocks` groups of 8 channels from c. */
static inline __attribute__((always_inline)) void
accumulate(const int u8, const int is_max, const int blocks, const tfl_qpool *p,
           const tfl_qpool_taps *t, const uint8_t *image, int32_t c, __m256i acc[4]) {
  const size_t C = (size_t)p->channels, in_row = (size_t)p->win.w.in * C;
  for (int j = 0; j < blocks; j++) acc[j] = _mm256_set1_epi32(is_max && !u8 ? -128 : 0);
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const uint8_t *row = image + (size_t)(t->iy0 + ky) * in_row + (size_t)c;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const uint8_t *q = row + (size_t)(t->ix0 + kx) * C;
      for (int j = 0; j < blocks; j++) {
        const __m256i v = widen8(u8, q + 8 * j);
        acc[j] = is_max ? _mm256_max_epi32(acc[j], v) : _mm256_add_epi32(acc[j], v);
      }
    }
  }
}

/* Sums divided by the tap count with the reference's rounding (exact in float: qpool.h). */
static inline __m256i rounded_mean(const int u8, __m256i sum, __m256i half, __m256 count) {
  /* half away from zero; a zero sum gives 0 either way */
  const __m256i biased = _mm256_add_epi32(sum, u8 ? half : _mm256_sign_epi32(half, sum));
  return _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(biased), count));
}

/* All channels of output pixel o. */
static inline __attribute__((always_inline)) void
pool_pixel(const int u8, const int is_max, const tfl_qpool *p, const qreq_flags *f,
           const tfl_qpool_taps *t, const uint8_t *image, uint8_t *o) {
  const int32_t C = p->channels, count = (t->ky1 - t->ky0) * (t->kx1 - t->kx0);
  const __m256i half = _mm256_set1_epi32(count / 2);
  const __m256 countf = _mm256_set1_ps((float)count);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i acc[4];
  int32_t c = 0;
  for (; c + 32 <= C; c += 32) {
    accumulate(u8, is_max, 4, p, t, image, c, acc);
    if (!is_max)
      for (int j = 0; j < 4; j++) acc[j] = rounded_mean(u8, acc[j], half, countf);
    /* packs work within 128-bit lanes: groups of 4 come out as 0 2 4 6 1 3 5 7 */
    const __m256i codes = qreq_narrow_clamp(f, _mm256_packs_epi32(acc[0], acc[1]),
                                            _mm256_packs_epi32(acc[2], acc[3]));
    _mm256_storeu_si256((__m256i *)(o + c), _mm256_permutevar8x32_epi32(codes, order));
  }
  for (; c + 8 <= C; c += 8) {
    accumulate(u8, is_max, 1, p, t, image, c, acc);
    if (!is_max) acc[0] = rounded_mean(u8, acc[0], half, countf);
    const __m256i codes = qreq_narrow_clamp(f, _mm256_packs_epi32(acc[0], acc[0]), acc[0]);
    _mm_storel_epi64((__m128i *)(o + c),
                     _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(codes, order)));
  }
  for (; c < C; c++)
    o[c] = (uint8_t)tfl_qpool_channel(p, image, t, c);
}

static inline __attribute__((always_inline)) void
pool_rows(const int u8, const int is_max, const tfl_qpool *p, const uint8_t *in, uint8_t *out,
          int32_t row0, int32_t row1) {
  qreq_flags f;
  f.u8 = u8;
  f.act_min = _mm256_set1_epi8((char)p->act_min);
  f.act_max = _mm256_set1_epi8((char)p->act_max);
  for (tfl_qpool_cursor k = tfl_qpool_start(p, in, out, row0, row1); tfl_qpool_next(&k);)
    pool_pixel(u8, is_max, p, &f, &k.taps, k.image, k.o);
}

void tfl_qpool_rows_avx2(const tfl_qpool *p, const uint8_t *in, uint8_t *out, int32_t row0,
                         int32_t row1) {
  const int u8 = p->type == TFL_UINT8;
  if (p->is_max) {
    if (u8)
      pool_rows(1, 1, p, in, out, row0, row1);
    else
      pool_rows(0, 1, p, in, out, row0, row1);
  } else if (u8) {
    pool_rows(1, 0, p, in, out, row0, row1);
  } else {
    pool_rows(0, 0, p, in, out, row0, row1);
  }
}
