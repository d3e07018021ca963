/* Quantized ADD/SUB with NEON (qadd.h), 16 elements per step: the float form where
 * tfl_qadd_plan allows it, else each of the three multiplications as the DOUBLE
 * requantization of qreq_neon.h with every lane sharing one multiplier (the last few
 * elements then take the portable kernel). */
#include <string.h>

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

/* The exact kernel. */
static void run_exact(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
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

typedef struct float_form {
  float32x4_t cx, cy, g, limit;
  qreq_clamp clamp;
} float_form;

/* 16 outputs of x (and y when `two`: else its term is in g) into po; returns the mask of the
 * lanes whose w lies too near a half-integer for the rounding to be trusted. */
static inline __attribute__((always_inline)) uint32_t float16(const int u8, const int two,
                                                              const float_form *v,
                                                              const uint8_t *px,
                                                              const uint8_t *py, uint8_t *po) {
  int32x4_t x[4], y[4], c[4];
  load16(u8, px, 1, x);
  if (two) load16(u8, py, 1, y);
  uint32_t risky = 0;
  for (int j = 0; j < 4; j++) {
    float32x4_t w = v->g;
    if (two) w = vfmaq_f32(w, vcvtq_f32_s32(y[j]), v->cy);
    w = vfmaq_f32(w, vcvtq_f32_s32(x[j]), v->cx);
    c[j] = vcvtnq_s32_f32(w);
    const uint32x4_t far = vcgeq_f32(vabdq_f32(w, vcvtq_f32_s32(c[j])), v->limit);
    /* one bit per lane: the lanes' masks weighted 1, 2, 4, 8 */
    static const uint32_t weights[4] = {1, 2, 4, 8};
    risky |= vaddvq_u32(vandq_u32(far, vld1q_u32(weights))) << (4 * j);
  }
  vst1q_u8(po, qreq_narrow(&v->clamp, c[0], c[1], c[2], c[3]));
  return risky;
}

/* x varies (step 1) and so does y when `two`; else y is fixed, its term in v->g (and py
 * unused). */
static inline __attribute__((always_inline)) void run_float_with(
    const int u8, const int two, const tfl_qadd *q, const float_form *v, const uint8_t *px,
    const uint8_t *py, uint8_t *po, size_t n, const uint8_t *pa, int a_step, const uint8_t *pb,
    int b_step) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint32_t risky = float16(u8, two, v, px + i, py + (two ? i : 0), po + i);
    if (risky)
      tfl_qadd_fix_lanes(q, risky, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step,
                         b_step, po + i);
  }
  if (i == n) return;
  /* The last elements through 16-element copies. */
  uint8_t x[16] = {0}, y[16] = {0}, o[16];
  memcpy(x, px + i, n - i);
  if (two) memcpy(y, py + i, n - i);
  const uint32_t risky = float16(u8, two, v, x, y, o) & (((uint32_t)1 << (n - i)) - 1);
  memcpy(po + i, o, n - i);
  if (risky)
    tfl_qadd_fix_lanes(q, risky, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step,
                       b_step, po + i);
}

static void run_float(const tfl_qadd *q, const uint8_t *pa, int a_step, const uint8_t *pb,
                      int b_step, uint8_t *po, size_t n) {
  const int u8 = q->type == TFL_UINT8;
  float_form v;
  v.cx = vdupq_n_f32(q->c1);
  v.cy = vdupq_n_f32(q->c2);
  v.limit = vdupq_n_f32(q->limit);
  v.clamp = qreq_clamp_of(q->type, q->act_min, q->act_max);
  if (a_step && b_step) {
    v.g = vdupq_n_f32(q->g);
    if (u8)
      run_float_with(1, 1, q, &v, pa, pb, po, n, pa, a_step, pb, b_step);
    else
      run_float_with(0, 1, q, &v, pa, pb, po, n, pa, a_step, pb, b_step);
    return;
  }
  /* One operand fixed: its term joins g. */
  v.g = vdupq_n_f32(tfl_qadd_fixed_g(q, pa, a_step, pb));
  if (!a_step) v.cx = v.cy;
  const uint8_t *px = a_step ? pa : pb;
  if (u8)
    run_float_with(1, 0, q, &v, px, px, po, n, pa, a_step, pb, b_step);
  else
    run_float_with(0, 0, q, &v, px, px, po, n, pa, a_step, pb, b_step);
}

void tfl_qadd_run_neon(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
                       void *out, size_t n) {
  if (q->use_float && (a_step || b_step))
    run_float(q, a, a_step, b, b_step, out, n);
  else
    run_exact(q, a, a_step, b, b_step, out, n);
}
