/* QUANTIZE and DEQUANTIZE with AVX2, 8 elements per step (quantize.h says why the float
 * arithmetic gives the portable kernels' results). The tails go through 8-element buffers. */
#include <immintrin.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/quantize.h"

typedef struct quantize_vec {
  __m256 scale;
  __m256d scale_d;
  __m256i zero_point, lo, hi;
} quantize_vec;

static inline __m256 abs8(__m256 v) {
  return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* round(x / scale) of 4 lanes as the portable kernel computes it: the quotient in double,
 * ties away from zero (x - trunc(x) is exact), then cvttpd, whose INT32_MIN for NaN and
 * values beyond int32 is the one the portable kernel reproduces. */
static inline __m128i round_quotient4_double(__m128 x, __m256d scale) {
  const __m256d q = _mm256_div_pd(_mm256_cvtps_pd(x), scale);
  const __m256d t = _mm256_round_pd(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d away =
      _mm256_cmp_pd(_mm256_andnot_pd(sign, _mm256_sub_pd(q, t)), _mm256_set1_pd(0.5), _CMP_GE_OQ);
  const __m256d step = _mm256_or_pd(_mm256_and_pd(q, sign), _mm256_set1_pd(1.0)); /* +-1 */
  return _mm256_cvttpd_epi32(_mm256_add_pd(t, _mm256_and_pd(away, step)));
}

/* The clamped codes of 8 floats. */
static inline __m256i quantize8(const quantize_vec *p, const float *x) {
  const __m256 v = _mm256_loadu_ps(x);
  const __m256 f = _mm256_div_ps(v, p->scale);
  const __m256 r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* NLT: NaN counts as far */
  const __m256 far = _mm256_cmp_ps(abs8(f), _mm256_set1_ps(0x1p22f), _CMP_NLT_UQ);
  const __m256 tie = _mm256_cmp_ps(abs8(_mm256_sub_ps(f, r)), _mm256_set1_ps(0.5f), _CMP_EQ_OQ);
  __m256i q;
  if (_mm256_movemask_ps(_mm256_or_ps(far, tie))) {
    const __m128i lo = round_quotient4_double(_mm256_castps256_ps128(v), p->scale_d);
    const __m128i hi = round_quotient4_double(_mm256_extractf128_ps(v, 1), p->scale_d);
    q = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
  } else {
    q = _mm256_cvttps_epi32(r);
  }
  q = _mm256_add_epi32(q, p->zero_point); /* wraps, as the portable kernel's addition */
  return _mm256_min_epi32(_mm256_max_epi32(q, p->lo), p->hi);
}

/* Stores 8 codes already clamped to `type` (so the saturating packs only narrow). */
static inline void store8(tfl_type type, __m256i codes, void *out) {
  const __m128i w =
      _mm_packs_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
  if (type == TFL_INT16)
    _mm_storeu_si128((__m128i *)out, w);
  else
    _mm_storel_epi64((__m128i *)out, type == TFL_INT8 ? _mm_packs_epi16(w, w)
                                                      : _mm_packus_epi16(w, w));
}

void tfl_quantize_avx2(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out) {
  int32_t lo, hi;
  tfl_quantized_type_range(type, &lo, &hi);
  const quantize_vec p = {.scale = _mm256_set1_ps(scale),
                          .scale_d = _mm256_set1_pd((double)scale),
                          .zero_point = _mm256_set1_epi32(zero_point),
                          .lo = _mm256_set1_epi32(lo),
                          .hi = _mm256_set1_epi32(hi)};
  const size_t size = tfl_type_size(type);
  uint8_t *dst = out;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) store8(type, quantize8(&p, x + i), dst + i * size);
  if (i == n) return;
  float tail[8] = {0};
  uint8_t codes[16];
  memcpy(tail, x + i, (n - i) * sizeof(float));
  store8(type, quantize8(&p, tail), codes);
  memcpy(dst + i * size, codes, (n - i) * size);
}

/* 8 codes widened to int32. */
static inline __m256i load8(tfl_type type, const uint8_t *q) {
  switch (type) {
    case TFL_INT8:
      return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q));
    case TFL_UINT8:
      return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)q));
    default:
      return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)q));
  }
}

/* One multiplication, nothing to contract: the float product the portable kernel rounds to. */
static inline __m256 dequantize8(tfl_type type, const uint8_t *q, __m256i zero_point,
                                 __m256 scale) {
  const __m256i v = _mm256_sub_epi32(load8(type, q), zero_point);
  return _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale);
}

void tfl_dequantize_avx2(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out) {
  const __m256i zp = _mm256_set1_epi32(zero_point);
  const __m256 s = _mm256_set1_ps(scale);
  const size_t size = tfl_type_size(type);
  const uint8_t *src = q;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, dequantize8(type, src + i * size, zp, s));
  if (i == n) return;
  uint8_t tail[16] = {0};
  float values[8];
  memcpy(tail, src + i * size, (n - i) * size);
  _mm256_storeu_ps(values, dequantize8(type, tail, zp, s));
  memcpy(out + i, values, (n - i) * sizeof(float));
}
