/* QUANTIZE and DEQUANTIZE with NEON, 8 elements per step (quantize.h says why the float
 * arithmetic gives the portable kernels' results). The tails go through 8-element buffers. */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/narrow_neon.h"
#include "kernels/quant.h"
#include "kernels/quantize.h"

/* round(x / scale) of 2 lanes as the portable kernel computes it: the quotient in double,
 * ties away from zero (FRINTA); NaN and values beyond int32 become INT32_MIN as x86 converts
 * them, where NEON's conversion would saturate. */
static inline int32x2_t round_quotient2_double(float64x2_t x, float64x2_t scale) {
  const float64x2_t r = vrndaq_f64(vdivq_f64(x, scale));
  const uint64x2_t in_range = vandq_u64(vcgtq_f64(r, vdupq_n_f64(-2147483649.0)),
                                        vcltq_f64(r, vdupq_n_f64(2147483648.0)));
  return vmovn_s64(vbslq_s64(in_range, vcvtq_s64_f64(r), vdupq_n_s64(INT32_MIN)));
}

/* Per tensor: the rounded quotients f = v / scale of 4 lanes, the lanes whose f cannot tell
 * done in double. */
static inline int32x4_t round_per_tensor4(float32x4_t v, float32x4_t f, float64x2_t scale_d) {
  const float32x4_t r = vrndnq_f32(f);
  const uint32x4_t near = vcltq_f32(vabsq_f32(f), vdupq_n_f32(0x1p22f)); /* not NaN */
  const uint32x4_t tie = vceqq_f32(vabsq_f32(vsubq_f32(f, r)), vdupq_n_f32(0.5f));
  if (!vmaxvq_u32(vorrq_u32(vmvnq_u32(near), tie))) return vcvtq_s32_f32(r);
  return vcombine_s32(round_quotient2_double(vcvt_f64_f32(vget_low_f32(v)), scale_d),
                      round_quotient2_double(vcvt_high_f64_f32(v), scale_d));
}

/* Per channel: the float quotients rounded half away from zero (FRINTA, roundf exactly);
 * NaN and values beyond int32 become INT32_MIN as x86 converts them. */
static inline int32x4_t round_per_channel4(float32x4_t f) {
  const float32x4_t r = vrndaq_f32(f);
  const uint32x4_t in_range = vandq_u32(vcgeq_f32(r, vdupq_n_f32(-0x1p31f)),
                                        vcltq_f32(r, vdupq_n_f32(0x1p31f)));
  return vbslq_s32(in_range, vcvtq_s32_f32(r), vdupq_n_s32(INT32_MIN));
}

/* round(v / scale) + zero_point of 4 floats (wrapping, as the portable kernels' addition),
 * per tensor or per channel (a constant). */
static inline __attribute__((always_inline)) int32x4_t quantize4(const int per_channel,
                                                                float32x4_t v,
                                                                float32x4_t scale,
                                                                float64x2_t scale_d,
                                                                int32x4_t zero_point) {
  const float32x4_t f = vdivq_f32(v, scale);
  const int32x4_t q = per_channel ? round_per_channel4(f) : round_per_tensor4(v, f, scale_d);
  return vaddq_s32(q, zero_point);
}

/* One scale and zero point for every lane. */
typedef struct quantize_params {
  float32x4_t scale;
  float64x2_t scale_d;
  int32x4_t zero_point;
} quantize_params;

static inline quantize_params params_of(float scale, int32_t zero_point) {
  return (quantize_params){.scale = vdupq_n_f32(scale),
                           .scale_d = vdupq_n_f64((double)scale),
                           .zero_point = vdupq_n_s32(zero_point)};
}

/* Codes [i, i + 8) of io: p's scale and zero point, or (per_element) io's; the saturating
 * narrows clamp. per_channel and per_element are constants. */
static inline __attribute__((always_inline)) void quantize_at(const int per_channel,
                                                              const int per_element,
                                                              const tfl_quantize_io *io,
                                                              const quantize_params *p, size_t i) {
  float32x4_t s0 = p->scale, s1 = p->scale;
  int32x4_t zp0 = p->zero_point, zp1 = p->zero_point;
  if (per_element) {
    s0 = vld1q_f32(io->scale + i);
    s1 = vld1q_f32(io->scale + i + 4);
    zp0 = vld1q_s32(io->zero_point + i);
    zp1 = vld1q_s32(io->zero_point + i + 4);
  }
  const int32x4_t lo = quantize4(per_channel, vld1q_f32(io->x + i), s0, p->scale_d, zp0);
  const int32x4_t hi = quantize4(per_channel, vld1q_f32(io->x + i + 4), s1, p->scale_d, zp1);
  tfl_store8_codes_neon(io->type, lo, hi, io->out + i * io->size);
}

TFL_QUANTIZE_KERNELS(neon)

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

/* FCVTL (quantize.h); groups holding a NaN (magnitude above infinity's) go through
 * tfl_half_to_float. */
void tfl_half_to_float_neon(const uint16_t *h, size_t n, float *out) {
  const uint16x8_t magnitude = vdupq_n_u16(0x7fff), infinity = vdupq_n_u16(0x7c00);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t v = vld1q_u16(h + i);
    if (vmaxvq_u16(vcgtq_u16(vandq_u16(v, magnitude), infinity))) {
      tfl_half_to_float_tail(h, i, i + 8, out);
      continue;
    }
    const float16x8_t f = vreinterpretq_f16_u16(v);
    vst1q_f32(out + i, vcvt_f32_f16(vget_low_f16(f)));
    vst1q_f32(out + i + 4, vcvt_high_f32_f16(f));
  }
  tfl_half_to_float_tail(h, i, n, out);
}
