/* The requantization of qgemm.h's tfl_qreq on 4 int32 lanes, for the NEON kernels. NEON has
 * TFLite's fixed-point steps as instructions, each exactly:
 *   - SQRDMULH is the saturating rounding doubling high multiply (tfl_srdhm): floor((2ab +
 *     2^31) / 2^32) equals gemmlowp's sign-dependent nudge and truncation for every pair;
 *   - SRSHL by -right adds 2^(right-1) and shifts in wider precision: the ruy rounding shift,
 *     ties up (tfl_rounding_right_shift, overflow case included);
 *   - subtracting 1 from negative values first (saturating) turns its ties up into ties away
 *     from zero: tfl_rdbpot, which the DOUBLE mode uses. With right 0 nothing is subtracted.
 * Accumulators reach it with their bias already added (kernels start from the bias). */
#ifndef TFL_KERNELS_ARM_QREQ_NEON_H
#define TFL_KERNELS_ARM_QREQ_NEON_H

#include <arm_neon.h>

#include "kernels/qgemm.h"

/* The parameters of 4 slots. */
typedef struct qreq_vec {
  int32x4_t left, mult, neg_right, offset;
} qreq_vec;

/* Slots [s, s + 4) of r. Shifts are capped at 31 as tfl_mul_by_quantized_multiplier caps
 * them (tiny scales give longer right shifts). */
static inline qreq_vec qreq_params(const tfl_qreq *r, int32_t s) {
  const int32x4_t cap = vdupq_n_s32(31);
  qreq_vec p;
  p.left = vminq_s32(vld1q_s32(r->left + s), cap);
  p.mult = vld1q_s32(r->mult + s);
  p.neg_right = vnegq_s32(vminq_s32(vld1q_s32(r->right + s), cap));
  p.offset = vdupq_n_s32(r->out_offset);
  return p;
}

/* One (multiplier, shift) of tfl_quantize_multiplier for every lane, then + offset. */
static inline qreq_vec qreq_uniform(int32_t multiplier, int shift, int32_t offset) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  qreq_vec p;
  p.left = vdupq_n_s32(left < 31 ? left : 31);
  p.mult = vdupq_n_s32(multiplier);
  p.neg_right = vdupq_n_s32(right < 31 ? -right : -31);
  p.offset = vdupq_n_s32(offset);
  return p;
}

/* Accumulators x (bias included) times the slots' multipliers, rounded as `ruy` (a constant)
 * says, plus the output offset with int32 wrapping; not yet clamped. */
static inline __attribute__((always_inline)) int32x4_t qreq_scale4(const int ruy,
                                                                  const qreq_vec *p,
                                                                  int32x4_t x) {
  x = vqrdmulhq_s32(vshlq_s32(x, p->left), p->mult);
  if (!ruy) /* -1 where x < 0 and right > 0: both have the sign bit */
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, p->neg_right), 31));
  return vaddq_s32(vrshlq_s32(x, p->neg_right), p->offset);
}

/* The output codes of 16 int32 values, saturated to the type (which changes nothing the
 * clamp would not) and clamped to [act_min, act_max]. */
typedef struct qreq_clamp {
  int u8;
  uint8x16_t min_u8, max_u8;
  int8x16_t min_s8, max_s8;
} qreq_clamp;

static inline qreq_clamp qreq_clamp_of(tfl_type type, int32_t act_min, int32_t act_max) {
  qreq_clamp c;
  c.u8 = type == TFL_UINT8;
  c.min_u8 = vdupq_n_u8((uint8_t)act_min);
  c.max_u8 = vdupq_n_u8((uint8_t)act_max);
  c.min_s8 = vdupq_n_s8((int8_t)act_min);
  c.max_s8 = vdupq_n_s8((int8_t)act_max);
  return c;
}

static inline uint8x16_t qreq_narrow(const qreq_clamp *c, int32x4_t v0, int32x4_t v1,
                                     int32x4_t v2, int32x4_t v3) {
  const int16x8_t lo = vqmovn_high_s32(vqmovn_s32(v0), v1);
  const int16x8_t hi = vqmovn_high_s32(vqmovn_s32(v2), v3);
  if (c->u8)
    return vminq_u8(vmaxq_u8(vqmovun_high_s16(vqmovun_s16(lo), hi), c->min_u8), c->max_u8);
  const int8x16_t s = vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(lo), hi), c->min_s8),
                               c->max_s8);
  return vreinterpretq_u8_s8(s);
}

#endif
