/* Quantized MEAN and SUM with NEON (qreduce.h): rows of int8/uint8 codes added into int32
 * sums, 16 at a time, then 8, the codes widened to 16 bits and added into the int32 lanes with
 * one widening add each; and MEAN's rescale of the sums, 8 at a time. */
#include <arm_neon.h>

#include "kernels/arm/narrow_neon.h"
#include "kernels/arm/qreq_neon.h"
#include "kernels/qreduce.h"

/* 8 codes as int16 (uint8 codes fit). */
static inline int16x8_t widen(const int u8, uint8x8_t v) {
  return u8 ? vreinterpretq_s16_u16(vmovl_u8(v)) : vmovl_s8(vreinterpret_s8_u8(v));
}

/* acc[0..8) += x; the adds wrap as the reference's. */
static inline void add8(int32_t *acc, int16x8_t x) {
  vst1q_s32(acc, vaddw_s16(vld1q_s32(acc), vget_low_s16(x)));
  vst1q_s32(acc + 4, vaddw_high_s16(vld1q_s32(acc + 4), x));
}

static inline __attribute__((always_inline)) void combine(const int u8, int32_t *acc,
                                                          const uint8_t *in, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint8x16_t v = vld1q_u8(in + i);
    add8(acc + i, widen(u8, vget_low_u8(v)));
    add8(acc + i + 8, widen(u8, vget_high_u8(v)));
  }
  if (i + 8 <= n) {
    add8(acc + i, widen(u8, vld1_u8(in + i)));
    i += 8;
  }
  tfl_qreduce_combine_tail(u8, acc, in, i, n);
}

void tfl_qreduce_combine_u8_neon(void *acc, const void *in, size_t n) { combine(1, acc, in, n); }

void tfl_qreduce_combine_i8_neon(void *acc, const void *in, size_t n) { combine(0, acc, in, n); }

/* qreq_scale4's DOUBLE rounding is tfl_mul_by_quantized_multiplier (qreq_neon.h), shifts
 * capped alike; it adds `add` with int32 wrap-around, and the saturating store clamps. */
void tfl_qmean_rescale_neon(const tfl_qmean *m, void *out, const int32_t *sum, size_t n) {
  const qreq_vec p = qreq_uniform(m->multiplier, m->shift, m->add);
  const int32x4_t subtract = vdupq_n_s32((int32_t)m->subtract);
  const tfl_type type = m->type; /* read once: the stores may alias m */
  const size_t size = tfl_type_size(type);
  uint8_t *dst = out;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int32x4_t lo = qreq_scale4(0, &p, vsubq_s32(vld1q_s32(sum + i), subtract));
    const int32x4_t hi = qreq_scale4(0, &p, vsubq_s32(vld1q_s32(sum + i + 4), subtract));
    tfl_store8_codes_neon(type, lo, hi, dst + i * size);
  }
  tfl_qmean_rescale_tail(m, out, sum, i, n);
}
