/* int32 lanes stored as int8, uint8 or int16 codes, for the NEON kernels. */
#ifndef TFL_KERNELS_ARM_NARROW_NEON_H
#define TFL_KERNELS_ARM_NARROW_NEON_H

#include <arm_neon.h>

#include "tfl/tensor.h"

/* Stores 8 int32 values (lo, then hi) as codes of `type` (int8, uint8 or int16), each clamped
 * to the type's range: the saturating narrows clamp to int16, then to the 8-bit type. */
static inline void tfl_store8_codes_neon(tfl_type type, int32x4_t lo, int32x4_t hi, void *out) {
  const int16x8_t w = vqmovn_high_s32(vqmovn_s32(lo), hi);
  if (type == TFL_INT16)
    vst1q_s16((int16_t *)out, w);
  else if (type == TFL_INT8)
    vst1_s8((int8_t *)out, vqmovn_s16(w));
  else
    vst1_u8((uint8_t *)out, vqmovun_s16(w));
}

#endif
