/* int32 lanes stored as int8, uint8 or int16 codes, for the AVX2 kernels (include it from
 * src/kernels/x86/ *_avx2.c files, which are compiled with -mavx2). */
#ifndef TFL_KERNELS_X86_NARROW_AVX2_H
#define TFL_KERNELS_X86_NARROW_AVX2_H

#include <immintrin.h>

#include "tfl/tensor.h"

/* Stores 8 int32 values as codes of `type` (int8, uint8 or int16), each clamped to the
 * type's range: the saturating packs clamp to int16, then to the 8-bit type. */
static inline void tfl_store8_codes_avx2(tfl_type type, __m256i v, void *out) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  if (type == TFL_INT16)
    _mm_storeu_si128((__m128i *)out, w);
  else
    _mm_storel_epi64((__m128i *)out, type == TFL_INT8 ? _mm_packs_epi16(w, w)
                                                      : _mm_packus_epi16(w, w));
}

#endif
