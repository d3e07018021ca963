/* The Winograd F(2x2, 3x3) tile transforms (winograd.h) with AVX2: eight channels per
 * vector, the last few through masked loads and stores. Same arithmetic, in the same order,
 * as the portable transforms in winograd.c. */
#include <immintrin.h>

#include "kernels/winograd.h"
#include "kernels/x86/masked_avx2.h"

/* B^T d B for the channels [c, c + 8) (the lanes of `mask` when masked). */
static inline __attribute__((always_inline)) void
input_block(const float *const *p, size_t c, float *v, size_t vstride, int masked,
            __m256i mask) {
  __m256 d[16];
  for (int i = 0; i < 16; i++) d[i] = tfl_avx2_load_masked(p[i] + c, masked, mask);
  for (int j = 0; j < 4; j++) {
    const __m256 d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
    d[j] = _mm256_sub_ps(d0, d2);
    d[4 + j] = _mm256_add_ps(d1, d2);
    d[8 + j] = _mm256_sub_ps(d2, d1);
    d[12 + j] = _mm256_sub_ps(d1, d3);
  }
  for (int i = 0; i < 16; i += 4) {
    const __m256 d0 = d[i], d1 = d[i + 1], d2 = d[i + 2], d3 = d[i + 3];
    float *vi = v + (size_t)i * vstride + c;
    tfl_avx2_store_masked(vi, _mm256_sub_ps(d0, d2), masked, mask);
    tfl_avx2_store_masked(vi + vstride, _mm256_add_ps(d1, d2), masked, mask);
    tfl_avx2_store_masked(vi + 2 * vstride, _mm256_sub_ps(d2, d1), masked, mask);
    tfl_avx2_store_masked(vi + 3 * vstride, _mm256_sub_ps(d1, d3), masked, mask);
  }
}

void tfl_winograd_input_avx2(const float *const *p, int32_t channels, float *v, size_t vstride) {
  const __m256i all = _mm256_set1_epi32(-1);
  int32_t c = 0;
  for (; c + 8 <= channels; c += 8) input_block(p, (size_t)c, v, vstride, 0, all);
  if (c < channels) input_block(p, (size_t)c, v, vstride, 1, tfl_avx2_lanes_below(channels - c));
}

/* max(lo, x) then min(hi, x) let NaN through, like the reference clamp. */
static inline __m256 clamp(__m256 x, __m256 lo, __m256 hi) {
  return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}

/* The clamps as vectors. */
typedef struct wg_clamp {
  __m256 lo, hi, add_lo, add_hi;
} wg_clamp;

/* Stores y at o[k...] (first adding r[k...] and clamping when r is not NULL). */
static inline __attribute__((always_inline)) void
output_store(float *o, const float *r, size_t k, __m256 y, const wg_clamp *cl, int masked,
             __m256i mask) {
  y = clamp(y, cl->lo, cl->hi);
  if (r)
    y = clamp(_mm256_add_ps(y, tfl_avx2_load_masked(r + k, masked, mask)), cl->add_lo, cl->add_hi);
  tfl_avx2_store_masked(o + k, y, masked, mask);
}

/* A^T m A + bias, clamped (then the fused ADD), for the channels [k, k + 8) (the lanes of
 * `mask` when masked). */
static inline __attribute__((always_inline)) void
output_block(const float *m, size_t mstride, size_t k, const float *bias, float *const *o,
             const float *const *r, const wg_clamp *cl, int masked, __m256i mask) {
  __m256 s[8];
  for (int j = 0; j < 4; j++) {
    const float *mj = m + (size_t)j * mstride + k;
    const __m256 m0 = tfl_avx2_load_masked(mj, masked, mask),
                 m1 = tfl_avx2_load_masked(mj + 4 * mstride, masked, mask);
    const __m256 m2 = tfl_avx2_load_masked(mj + 8 * mstride, masked, mask);
    const __m256 m3 = tfl_avx2_load_masked(mj + 12 * mstride, masked, mask);
    s[j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
    s[4 + j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
  }
  const __m256 b = tfl_avx2_load_masked(bias + k, masked, mask);
  for (int i = 0; i < 2; i++) {
    const __m256 *si = s + 4 * i;
    if (o[2 * i]) {
      const __m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(si[0], si[1]), si[2]), b);
      output_store(o[2 * i], r ? r[2 * i] : NULL, k, y, cl, masked, mask);
    }
    if (o[2 * i + 1]) {
      const __m256 y = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(si[1], si[2]), si[3]), b);
      output_store(o[2 * i + 1], r ? r[2 * i + 1] : NULL, k, y, cl, masked, mask);
    }
  }
}

void tfl_winograd_output_avx2(const float *m, size_t mstride, int32_t channels,
                              const float *bias, float *const *o, const float *const *r,
                              const tfl_winograd_clamp *clamps) {
  const wg_clamp cl = {_mm256_set1_ps(clamps->lo), _mm256_set1_ps(clamps->hi),
                       _mm256_set1_ps(clamps->add_lo), _mm256_set1_ps(clamps->add_hi)};
  const __m256i all = _mm256_set1_epi32(-1);
  int32_t k = 0;
  for (; k + 8 <= channels; k += 8) output_block(m, mstride, (size_t)k, bias, o, r, &cl, 0, all);
  if (k < channels)
    output_block(m, mstride, (size_t)k, bias, o, r, &cl, 1, tfl_avx2_lanes_below(channels - k));
}
