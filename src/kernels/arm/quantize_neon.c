/* QUANTIZE and DEQUANTIZE with NEON, 8 elements per step (quantize.h says why the float
 * arithmetic gives the portable kernels' results). The tails go through 8-element buffers. */
#include <arm_neon.h>
#include <string.h>

#include "kernels/quant.h"
#include "kernels/quantize.h"

typedef struct quantize_vec {
  float32x4_t scale;
  float64x2_t scale_d;
  int32x4_t zero_point, lo, hi;
} quantize_vec;

/* round(x / scale) of 2 lanes as the portable kernel computes it: the quotient in double,
 * ties away from zero (FRINTA); NaN and values beyond int32 become INT32_MIN as x86 converts
 * them, where NEON's conversion would saturate. */
static inline int32x2_t round_quotient2_double(float64x2_t x, float64x2_t scale) {
  const float64x2_t r = vrndaq_f64(vdivq_f64(x, scale));
  const uint64x2_t in_range = vandq_u64(vcgtq_f64(r, vdupq_n_f64(-2147483649.0)),
                                        vcltq_f64(r, vdupq_n_f64(2147483648.0)));
  return vmovn_s64(vbslq_s64(in_range, vcvtq_s64_f64(r), vdupq_n_s64(INT32_MIN)));
}

/* The clamped codes of 4 floats. */
static inline int32x4_t quantize4(const quantize_vec *p, float32x4_t v) {
  const float32x4_t f = vdivq_f32(v, p->scale);
  const float32x4_t r = vrndnq_f32(f);
  const uint32x4_t near = vcltq_f32(vabsq_f32(f), vdupq_n_f32(0x1p22f)); /* not NaN */
  const uint32x4_t tie = vceqq_f32(vabsq_f32(vsubq_f32(f, r)), vdupq_n_f32(0.5f));
  int32x4_t q;
  if (vmaxvq_u32(vorrq_u32(vmvnq_u32(near), tie)))
    q = vcombine_s32(round_quotient2_double(vcvt_f64_f32(vget_low_f32(v)), p->scale_d),
                     round_quotient2_double(vcvt_high_f64_f32(v), p->scale_d));
  else
    q = vcvtq_s32_f32(r);
  q = vaddq_s32(q, p->zero_point); /* wraps, as the portable kernel's addition */
  return vminq_s32(vmaxq_s32(q, p->lo), p->hi);
}

/* Quantizes 8 floats and stores their codes. */
static inline void quantize8(const quantize_vec *p, tfl_type type, const float *x, void *out) {
  const int16x8_t w = vcombine_s16(vmovn_s32(quantize4(p, vld1q_f32(x))),
                                   vmovn_s32(quantize4(p, vld1q_f32(x + 4))));
  if (type == TFL_INT16)
    vst1q_s16((int16_t *)out, w);
  else if (type == TFL_INT8)
    vst1_s8((int8_t *)out, vmovn_s16(w));
  else
    vst1_u8((uint8_t *)out, vmovn_u16(vreinterpretq_u16_s16(w)));
}

void tfl_quantize_neon(const float *x, size_t n, float scale, int32_t zero_point, tfl_type type,
                       void *out) {
  int32_t lo, hi;
  tfl_quantized_type_range(type, &lo, &hi);
  const quantize_vec p = {.scale = vdupq_n_f32(scale),
                          .scale_d = vdupq_n_f64((double)scale),
                          .zero_point = vdupq_n_s32(zero_point),
                          .lo = vdupq_n_s32(lo),
                          .hi = vdupq_n_s32(hi)};
  const size_t size = tfl_type_size(type);
  uint8_t *dst = out;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) quantize8(&p, type, x + i, dst + i * size);
  if (i == n) return;
  float tail[8] = {0};
  uint8_t codes[16];
  memcpy(tail, x + i, (n - i) * sizeof(float));
  quantize8(&p, type, tail, codes);
  memcpy(dst + i * size, codes, (n - i) * size);
}

/* 8 codes widened to int16. */
static inline int16x8_t load8(tfl_type type, const uint8_t *q) {
  switch (type) {
    case TFL_INT8:
      return vmovl_s8(vld1_s8((const int8_t *)q));
    case TFL_UINT8:
      return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q)));
    default:
      return vld1q_s16((const int16_t *)q);
  }
}

/* One multiplication, nothing to contract: the float product the portable kernel rounds to. */
static inline float32x4_t dequantize4(int32x4_t codes, int32x4_t zero_point, float32x4_t scale) {
  return vmulq_f32(vcvtq_f32_s32(vsubq_s32(codes, zero_point)), scale);
}

static inline void dequantize8(tfl_type type, const uint8_t *q, int32x4_t zero_point,
                               float32x4_t scale, float *out) {
  const int16x8_t w = load8(type, q);
  vst1q_f32(out, dequantize4(vmovl_s16(vget_low_s16(w)), zero_point, scale));
  vst1q_f32(out + 4, dequantize4(vmovl_high_s16(w), zero_point, scale));
}

void tfl_dequantize_neon(const void *q, size_t n, tfl_type type, float scale,
                         int32_t zero_point, float *out) {
  const int32x4_t zp = vdupq_n_s32(zero_point);
  const float32x4_t s = vdupq_n_f32(scale);
  const size_t size = tfl_type_size(type);
  const uint8_t *src = q;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) dequantize8(type, src + i * size, zp, s, out + i);
  if (i == n) return;
  uint8_t tail[16] = {0};
  float values[8];
  memcpy(tail, src + i * size, (n - i) * size);
  dequantize8(type, tail, zp, s, values);
  memcpy(out + i, values, (n - i) * sizeof(float));
}
