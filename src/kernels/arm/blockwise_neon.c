/* The blockwise int4 FULLY_CONNECTED inner kernel with NEON (blockwise.h): 32 values of a block
 * per step, the sums of four blocks reduced into one vector.
 *
 * Each int16 lane of a step's products sums four q * w (at most 4 * 1024 in magnitude) before
 * widening into int32; the weight sums stay in int16 lanes, at most 32 per lane per step, so
 * 16384 / 32 steps stay below 2^15. Both sums are exact, so the products match the portable
 * kernel's bit for bit. */
#include <arm_neon.h>

#include "kernels/blockwise.h"

/* One block's partial sums of q * w and of w, four int32 lanes each. */
static inline void block_sums(const int8_t *q, const uint8_t *w, size_t block, int32x4_t *dot,
                              int32x4_t *wsum) {
  int32x4_t d = vdupq_n_s32(0);
  int16x8_t s = vdupq_n_s16(0);
  for (const int8_t *const end = q + block; q < end;
       q += TFL_BLOCKWISE_STEP, w += TFL_BLOCKWISE_STEP / 2) {
    const int8x16_t packed = vreinterpretq_s8_u8(vld1q_u8(w));
    /* Sign-extended nibbles: the low ones shifted up first, then both arithmetically down. */
    const int8x16_t lo = vshrq_n_s8(vshlq_n_s8(packed, 4), 4), hi = vshrq_n_s8(packed, 4);
    const int8x16_t w0 = vzip1q_s8(lo, hi), w1 = vzip2q_s8(lo, hi);
    const int8x16_t q0 = vld1q_s8(q), q1 = vld1q_s8(q + 16);
    int16x8_t p = vmull_s8(vget_low_s8(w0), vget_low_s8(q0));
    p = vmlal_high_s8(p, w0, q0);
    p = vmlal_s8(p, vget_low_s8(w1), vget_low_s8(q1));
    p = vmlal_high_s8(p, w1, q1);
    d = vpadalq_s16(d, p);
    s = vpadalq_s8(s, vaddq_s8(w0, w1));
  }
  *dot = d;
  *wsum = vpaddlq_s16(s);
}

/* Lane k = the sum of the lanes of a[k], for four vectors. */
static inline int32x4_t sum_lanes4(const int32x4_t *a) {
  return vpaddq_s32(vpaddq_s32(a[0], a[1]), vpaddq_s32(a[2], a[3]));
}

/* The kernel for blocks of `block` values, k < n of them; w starts at the first block. */
static inline __attribute__((always_inline)) void group(const int8_t *q, const uint8_t *w,
                                                        size_t block, size_t n,
                                                        const uint16_t *scales, float *prod,
                                                        float *wprod) {
  int32x4_t dots[TFL_BLOCKWISE_GROUP], sums[TFL_BLOCKWISE_GROUP];
  for (size_t k = 0; k < TFL_BLOCKWISE_GROUP; k++) {
    dots[k] = sums[k] = vdupq_n_s32(0);
    if (k < n) block_sums(q + k * block, w + k * block / 2, block, &dots[k], &sums[k]);
  }
  for (size_t k = 0; k < TFL_BLOCKWISE_GROUP; k += 4) {
    const float32x4_t s = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(scales + k)));
    vst1q_f32(prod + k, vmulq_f32(vcvtq_f32_s32(sum_lanes4(dots + k)), s));
    vst1q_f32(wprod + k, vmulq_f32(s, vcvtq_f32_s32(sum_lanes4(sums + k))));
  }
}

void tfl_blockwise_group_neon(const int8_t *q, const uint8_t *w, size_t first, size_t block,
                              size_t n, const uint16_t *scales, float *prod, float *wprod) {
  /* A whole group of one-step blocks, the most common shape, unrolled with constant sizes. */
  if (block == TFL_BLOCKWISE_STEP && n == TFL_BLOCKWISE_GROUP)
    group(q, w + first / 2, TFL_BLOCKWISE_STEP, TFL_BLOCKWISE_GROUP, scales, prod, wprod);
  else
    group(q, w + first / 2, block, n, scales, prod, wprod);
}
