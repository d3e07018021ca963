/* The reference clamp (window.h's tfl_window_clamp) on 4 floats, for the NEON kernels whose
 * results must be the portable kernels' bits: its two comparisons let NaN through and keep
 * -0, which FMAX/FMIN would turn into +0 against a bound of +0. */
#ifndef TFL_KERNELS_ARM_NEON_CLAMP_H
#define TFL_KERNELS_ARM_NEON_CLAMP_H

#include <arm_neon.h>

static inline float32x4_t tfl_neon_clamp(float32x4_t x, float32x4_t lo, float32x4_t hi) {
  x = vbslq_f32(vcltq_f32(x, lo), lo, x);
  return vbslq_f32(vcgtq_f32(x, hi), hi, x);
}

#endif
