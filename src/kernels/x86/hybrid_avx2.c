/* The hybrid row quantizer's element kernels with AVX2 (hybrid.h), 8 floats per vector, the
 * last few elements through the portable element functions.
 *
 * Range: vminps(v, acc) is v < acc ? v : acc, the portable update itself, lane by lane; every
 * lane starts at x[0], so a NaN there stays in every lane and in their combination, and a
 * later NaN is skipped as in the portable loop. Without NaN the lanes' minimum is the row's
 * minimum whatever the order, up to the sign of a zero (hybrid.h).
 *
 * Codes: f = offset + v * inv, one vmulps and one vaddps (no contraction in C11 builds), as
 * the portable code rounds them. roundf(f), half away from zero, is t + trunc(2 (f - t)) with
 * t = trunc(f):
 * - |f| < 2^23: t has f's sign and |t| <= |f| < 2 |t| + 1, so f - t is exact (Sterbenz for
 *   |t| >= 1, f itself for t = 0), in (-1, 1) with f's sign; doubling it is exact, and its
 *   truncation is +-1 exactly when |f - t| >= 1/2, 0 otherwise; t +- 1 is exact. That is
 *   roundf, ties (|f - t| = 1/2) away from zero. -0 gives t = -0, a step of 0 and a zero.
 * - |f| >= 2^23: f is an integer, t = f, the step is 0: roundf(f) = f.
 * - f = +-Inf: f - t is NaN, and so is the sum; NaN stays NaN. vcvttps2dq then gives
 *   INT32_MIN for NaN and for anything outside [-2^31, 2^31), exactly what tfl_trunc_i32
 *   reproduces for roundf's result (which is infinite where f is).
 * The saturating packs clamp to [-128, 127], the byte maximum to lo. */
#include <immintrin.h>

#include "kernels/hybrid.h"

void tfl_hybrid_range_avx2(const float *x, size_t n, float *lo, float *hi) {
  __m256 lo0 = _mm256_set1_ps(x[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    lo0 = _mm256_min_ps(a, lo0);
    lo1 = _mm256_min_ps(b, lo1);
    hi0 = _mm256_max_ps(a, hi0);
    hi1 = _mm256_max_ps(b, hi1);
  }
  lo0 = _mm256_min_ps(lo1, lo0);
  hi0 = _mm256_max_ps(hi1, hi0);
  __m128 l = _mm_min_ps(_mm256_extractf128_ps(lo0, 1), _mm256_castps256_ps128(lo0));
  __m128 h = _mm_max_ps(_mm256_extractf128_ps(hi0, 1), _mm256_castps256_ps128(hi0));
  l = _mm_min_ps(_mm_movehl_ps(l, l), l);
  h = _mm_max_ps(_mm_movehl_ps(h, h), h);
  l = _mm_min_ss(_mm_movehdup_ps(l), l);
  h = _mm_max_ss(_mm_movehdup_ps(h), h);
  *lo = _mm_cvtss_f32(l);
  *hi = _mm_cvtss_f32(h);
  for (; i < n; i++) tfl_hybrid_range_update(x[i], lo, hi);
}

/* tfl_trunc_i32(roundf(offset + v * inv)) of 8 lanes (see the file comment). */
static inline __m256i round8(__m256 v, __m256 inv, __m256 offset) {
  const __m256 f = _mm256_add_ps(offset, _mm256_mul_ps(v, inv));
  const __m256 t = _mm256_round_ps(f, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_sub_ps(f, t);
  const __m256 step =
      _mm256_round_ps(_mm256_add_ps(frac, frac), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  return _mm256_cvttps_epi32(_mm256_add_ps(t, step));
}

void tfl_hybrid_codes_avx2(const float *x, size_t n, float inv, float offset, int32_t lo,
                           int8_t *q) {
  const __m256 vinv = _mm256_set1_ps(inv), voff = _mm256_set1_ps(offset);
  const __m256i vlo = _mm256_set1_epi8((char)lo);
  /* packs interleave the 128-bit halves: this puts the 32 codes back in order */
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = round8(_mm256_loadu_ps(x + i), vinv, voff);
    const __m256i b = round8(_mm256_loadu_ps(x + i + 8), vinv, voff);
    const __m256i c = round8(_mm256_loadu_ps(x + i + 16), vinv, voff);
    const __m256i d = round8(_mm256_loadu_ps(x + i + 24), vinv, voff);
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i codes = _mm256_max_epi8(_mm256_permutevar8x32_epi32(packed, order), vlo);
    _mm256_storeu_si256((__m256i *)(q + i), codes);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256i a = round8(_mm256_loadu_ps(x + i), vinv, voff);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    _mm_storel_epi64((__m128i *)(q + i),
                     _mm_max_epi8(_mm_packs_epi16(w, w), _mm256_castsi256_si128(vlo)));
  }
  for (; i < n; i++) q[i] = tfl_hybrid_code(x[i], inv, offset, lo);
}
