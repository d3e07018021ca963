/* The hybrid row quantizer's element kernels with NEON (hybrid.h), 4 floats per vector, the
 * last few elements through the portable element functions.
 *
 * Range: FMIN/FMAX would let a later NaN through (or, as FMINNM, drop a leading one), so each
 * lane keeps the portable update itself, v < acc ? v : acc, as a compare and a select; every
 * lane starts at x[0] (see hybrid_avx2.c for why the lanes' combination is the row's range).
 *
 * Codes: f = offset + v * inv, one FMUL and one FADD (no contraction in C11 builds), as the
 * portable code rounds them; FRINTA is roundf itself (to nearest, ties away from zero, NaN,
 * infinities and zeros kept). FCVTZS saturates where x86-64's conversion, which
 * tfl_trunc_i32 reproduces, gives INT32_MIN: for NaN and values of 2^31 and more (values
 * below -2^31 saturate to INT32_MIN in both). Those lanes are set to INT32_MIN; the
 * saturating narrowings clamp to [-128, 127], the byte maximum to lo. */
#include <arm_neon.h>

#include "kernels/hybrid.h"

/* Lane by lane v < acc ? v : acc, and v > acc ? v : acc. */
static inline float32x4_t lower4(float32x4_t v, float32x4_t acc) {
  return vbslq_f32(vcltq_f32(v, acc), v, acc);
}

static inline float32x4_t higher4(float32x4_t v, float32x4_t acc) {
  return vbslq_f32(vcgtq_f32(v, acc), v, acc);
}

void tfl_hybrid_range_neon(const float *x, size_t n, float *lo, float *hi) {
  float32x4_t lo0 = vdupq_n_f32(x[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    lo0 = lower4(a, lo0);
    lo1 = lower4(b, lo1);
    hi0 = higher4(a, hi0);
    hi1 = higher4(b, hi1);
  }
  float l[4], h[4];
  vst1q_f32(l, lower4(lo1, lo0));
  vst1q_f32(h, higher4(hi1, hi0));
  *lo = l[0];
  *hi = h[0];
  for (size_t k = 1; k < 4; k++) {
    if (l[k] < *lo) *lo = l[k];
    if (h[k] > *hi) *hi = h[k];
  }
  for (; i < n; i++) tfl_hybrid_range_update(x[i], lo, hi);
}

/* tfl_trunc_i32(roundf(offset + v * inv)) of 4 lanes (see the file comment). */
static inline int32x4_t round4(float32x4_t v, float32x4_t inv, float32x4_t offset) {
  const float32x4_t r = vrndaq_f32(vaddq_f32(offset, vmulq_f32(v, inv)));
  const uint32x4_t in_range = vcltq_f32(r, vdupq_n_f32(2147483648.0f)); /* false for NaN */
  return vbslq_s32(in_range, vcvtq_s32_f32(r), vdupq_n_s32(INT32_MIN));
}

/* 8 lanes narrowed with saturation to int16. */
static inline int16x8_t narrow8(int32x4_t a, int32x4_t b) {
  return vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
}

void tfl_hybrid_codes_neon(const float *x, size_t n, float inv, float offset, int32_t lo,
                           int8_t *q) {
  const float32x4_t vinv = vdupq_n_f32(inv), voff = vdupq_n_f32(offset);
  const int8x16_t vlo = vdupq_n_s8((int8_t)lo);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int16x8_t a = narrow8(round4(vld1q_f32(x + i), vinv, voff),
                                round4(vld1q_f32(x + i + 4), vinv, voff));
    const int16x8_t b = narrow8(round4(vld1q_f32(x + i + 8), vinv, voff),
                                round4(vld1q_f32(x + i + 12), vinv, voff));
    vst1q_s8(q + i, vmaxq_s8(vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)), vlo));
  }
  for (; i + 8 <= n; i += 8) {
    const int16x8_t a = narrow8(round4(vld1q_f32(x + i), vinv, voff),
                                round4(vld1q_f32(x + i + 4), vinv, voff));
    vst1_s8(q + i, vmax_s8(vqmovn_s16(a), vget_low_s8(vlo)));
  }
  for (; i < n; i++) q[i] = tfl_hybrid_code(x[i], inv, offset, lo);
}
