/* Quantized ADD/SUB with NEON (qadd.h): 16 elements per step, each of the three
 * multiplications as the DOUBLE requantization of qreq_neon.h with every lane sharing one
 * multiplier; the last few elements take the portable kernel. */
#include "kernels/arm/qreq_neon.h"
#include "kernels/qadd.h"

typedef struct qadd_vec {
  qreq_vec in1, in2, out;
  int32x4_t off1, off2, left;
  qreq_clamp clamp;
} qadd_vec;

/* 16 codes at p (or one repeated, step 0), widened to int32: elements 4j to 4j + 3 in x[j]. */
static inline void load16(int u8, const uint8_t *p, int step, int32x4_t x[4]) {
  const uint8x16_t v = step ? vld1q_u8(p) : vdupq_n_u8(*p);
  int16x8_t lo, hi;
  if (u8) {
    lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
    hi = vreinterpretq_s16_u16(vmovl_high_u8(v));
  } else {
    lo = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(v)));
    hi = vmovl_high_s8(vreinterpretq_s8_u8(v));
  }
  x[0] = vmovl_s16(vget_low_s16(lo));
  x[1] = vmovl_high_s16(lo);
  x[2] = vmovl_s16(vget_low_s16(hi));
  x[3] = vmovl_high_s16(hi);
}

/* One input brought to the common scale. */
static inline int32x4_t rescale_in(const qadd_vec *v, int32x4_t x, int32x4_t offset,
                                   const qreq_vec *p) {
  return qreq_scale4(0, p, vshlq_s32(vaddq_s32(x, offset), v->left));
}

void tfl_qadd_run_neon(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
                       void *out, size_t n) {
  const int u8 = q->type == TFL_UINT8;
  qadd_vec v;
  v.in1 = qreq_uniform(q->in1_multiplier, q->in1_shift, 0);
  v.in2 = qreq_uniform(q->in2_multiplier, q->in2_shift, 0);
  v.out = qreq_uniform(q->out_multiplier, q->out_shift, q->out_offset);
  v.off1 = vdupq_n_s32(q->in1_offset);
  v.off2 = vdupq_n_s32(q->in2_offset);
  v.left = vdupq_n_s32(q->left_shift);
  v.clamp = qreq_clamp_of(q->type, q->act_min, q->act_max);
  const uint8_t *pa = a, *pb = b;
  uint8_t *po = out;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    int32x4_t x[4], y[4], r[4];
    load16(u8, pa + i * (size_t)a_step, a_step, x);
    load16(u8, pb + i * (size_t)b_step, b_step, y);
    for (int j = 0; j < 4; j++) {
      const int32x4_t xs = rescale_in(&v, x[j], v.off1, &v.in1);
      const int32x4_t ys = rescale_in(&v, y[j], v.off2, &v.in2);
      r[j] = qreq_scale4(0, &v.out, q->sub ? vsubq_s32(xs, ys) : vaddq_s32(xs, ys));
    }
    vst1q_u8(po + i, qreq_narrow(&v.clamp, r[0], r[1], r[2], r[3]));
  }
  tfl_qadd_run_portable(q, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step, b_step,
                        po + i, n - i);
}
