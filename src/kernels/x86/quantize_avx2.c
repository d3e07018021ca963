/* QUANTIZE and DEQUANTIZE with AVX2, 8 elements per step (quantize.h says why the float
 * arithmetic gives the portable kernels' results). The tails go through 8-element buffers. */
#include <immintrin.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/quantize.h"
#include "kernels/x86/narrow_avx2.h"

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

/* Per tensor: the rounded quotients f = v / scale of 8 lanes, the lanes whose f cannot tell
 * done in double. */
static inline __m256i round_per_tensor8(__m256 v, __m256 f, __m256d scale_d) {
  const __m256 r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* NLT: NaN counts as far */
  const __m256 far = _mm256_cmp_ps(abs8(f), _mm256_set1_ps(0x1p22f), _CMP_NLT_UQ);
  const __m256 tie = _mm256_cmp_ps(abs8(_mm256_sub_ps(f, r)), _mm256_set1_ps(0.5f), _CMP_EQ_OQ);
  if (!_mm256_movemask_ps(_mm256_or_ps(far, tie))) return _mm256_cvttps_epi32(r);
  const __m128i lo = round_quotient4_double(_mm256_castps256_ps128(v), scale_d);
  const __m128i hi = round_quotient4_double(_mm256_extractf128_ps(v, 1), scale_d);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

/* Per channel: the float quotients f rounded half away from zero, trunc(f) plus the
 * truncation of twice its exact fraction (quantize.h); cvttps gives INT32_MIN for NaN,
 * infinities and values beyond int32, as the portable conversion. */
static inline __m256i round_per_channel8(__m256 f) {
  const __m256 t = _mm256_round_ps(f, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_sub_ps(f, t);
  const __m256 step =
      _mm256_round_ps(_mm256_add_ps(frac, frac), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  return _mm256_cvttps_epi32(_mm256_add_ps(t, step));
}

/* round(v / scale) + zero_point of 8 floats (wrapping, as the portable kernels' addition),
 * per tensor or per channel (a constant). */
static inline __attribute__((always_inline)) __m256i
quantize8(const int per_channel, __m256 v, __m256 scale, __m256d scale_d, __m256i zero_point) {
  const __m256 f = _mm256_div_ps(v, scale);
  const __m256i q = per_channel ? round_per_channel8(f) : round_per_tensor8(v, f, scale_d);
  return _mm256_add_epi32(q, zero_point);
}

/* One scale and zero point for every lane. */
typedef struct quantize_params {
  __m256 scale;
  __m256d scale_d;
  __m256i zero_point;
} quantize_params;

static inline quantize_params params_of(float scale, int32_t zero_point) {
  return (quantize_params){.scale = _mm256_set1_ps(scale),
                           .scale_d = _mm256_set1_pd((double)scale),
                           .zero_point = _mm256_set1_epi32(zero_point)};
}

/* Codes [i, i + 8) of io: p's scale and zero point, or (per_element) io's; the saturating
 * stores clamp. per_channel and per_element are constants. */
static inline __attribute__((always_inline)) void quantize_at(const int per_channel,
                                                              const int per_element,
                                                              const tfl_quantize_io *io,
                                                              const quantize_params *p, size_t i) {
  __m256 scale = p->scale;
  __m256i zero_point = p->zero_point;
  if (per_element) {
    scale = _mm256_loadu_ps(io->scale + i);
    zero_point = _mm256_loadu_si256((const __m256i *)(io->zero_point + i));
  }
  const __m256 v = _mm256_loadu_ps(io->x + i);
  tfl_store8_codes_avx2(io->type, quantize8(per_channel, v, scale, p->scale_d, zero_point),
                        io->out + i * io->size);
}

TFL_QUANTIZE_KERNELS(avx2)

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

/* F16C's VCVTPH2PS (quantize.h); groups holding a NaN (magnitude above infinity's) go
 * through tfl_half_to_float. */
void tfl_half_to_float_avx2(const uint16_t *h, size_t n, float *out) {
  const __m128i magnitude = _mm_set1_epi16(0x7fff), infinity = _mm_set1_epi16(0x7c00);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(h + i));
    if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(v, magnitude), infinity)))
      tfl_half_to_float_tail(h, i, i + 8, out);
    else
      _mm256_storeu_ps(out + i, _mm256_cvtph_ps(v));
  }
  tfl_half_to_float_tail(h, i, n, out);
}
