/* The vector math of kernels/vmath.h with NEON: the AVX2 variant's arithmetic, 4 floats at a
 * time, the last few through a zero-padded block (padding lanes are never stored or summed).
 * NEON's min/max return NaN when either operand is NaN, which the clamps rely on. */
#include <arm_neon.h>
#include <float.h>
#include <string.h>

#include "kernels/vmath.h"

#define VM_INLINE static inline __attribute__((always_inline))

VM_INLINE float32x4_t splat(float v) { return vdupq_n_f32(v); }

VM_INLINE uint32x4_t bits(float32x4_t x) { return vreinterpretq_u32_f32(x); }
VM_INLINE float32x4_t from_bits(uint32x4_t x) { return vreinterpretq_f32_u32(x); }
VM_INLINE uint32x4_t sign_bit(void) { return vdupq_n_u32(0x80000000u); }
VM_INLINE float32x4_t minus_abs(float32x4_t x) { return from_bits(vorrq_u32(bits(x), sign_bit())); }

/* All ones where x's sign bit is set (-0 and negative NaN included). */
VM_INLINE uint32x4_t negative(float32x4_t x) {
  return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31));
}

VM_INLINE float32x4_t clamp(float32x4_t x, float lo, float hi) {
  return vminq_f32(splat(hi), vmaxq_f32(splat(lo), x));
}

/* round(x / ln2), to nearest. */
VM_INLINE float32x4_t round_log2(float32x4_t x) {
  return vrndnq_f32(vmulq_f32(x, splat(TFL_VM_LOG2E)));
}

/* x - n ln2, with ln2 in two parts so the result keeps its low bits. */
VM_INLINE float32x4_t minus_n_ln2(float32x4_t x, float32x4_t n) {
  return vfmaq_f32(vfmaq_f32(x, n, splat(-TFL_VM_LN2_HI)), n, splat(-TFL_VM_LN2_LO));
}

/* expm1(r) for |r| <= ln2 / 2 (a little more is fine): r + r^2 h(r). */
VM_INLINE float32x4_t expm1_reduced(float32x4_t r) {
  float32x4_t h = vfmaq_f32(splat(TFL_VM_EXPM1_C6), splat(TFL_VM_EXPM1_C7), r);
  h = vfmaq_f32(splat(TFL_VM_EXPM1_C5), h, r);
  h = vfmaq_f32(splat(TFL_VM_EXPM1_C4), h, r);
  h = vfmaq_f32(splat(TFL_VM_EXPM1_C3), h, r);
  h = vfmaq_f32(splat(TFL_VM_EXPM1_C2), h, r);
  return vfmaq_f32(r, vmulq_f32(r, r), h);
}

/* 2^n for integers n in [-126, 127]. */
VM_INLINE float32x4_t pow2i(int32x4_t n) {
  return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23));
}

/* exp(x + lo) for x in [TFL_VM_EXP_LO, TFL_VM_EXP_HI] or NaN, and (with_lo) a small lo that
 * carries the low part of a two-float argument (x is reduced alone, exactly, lo added after). */
VM_INLINE float32x4_t exp_clamped(float32x4_t x, int with_lo, float32x4_t lo) {
  const float32x4_t n = round_log2(with_lo ? vaddq_f32(x, lo) : x);
  float32x4_t r = minus_n_ln2(x, n);
  if (with_lo) r = vaddq_f32(r, lo);
  const float32x4_t p = vaddq_f32(splat(1.0f), expm1_reduced(r));
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t n1 = vshrq_n_s32(ni, 1);
  /* p 2^n1 is exact; the second factor rounds once, into the subnormals or to inf. */
  return vmulq_f32(vmulq_f32(p, pow2i(n1)), pow2i(vsubq_s32(ni, n1)));
}

VM_INLINE float32x4_t exp4(float32x4_t x) {
  return exp_clamped(clamp(x, TFL_VM_EXP_LO, TFL_VM_EXP_HI), 0, vdupq_n_f32(0.0f));
}

/* expm1(x) for x in [TFL_VM_EXPM1_LO, TFL_VM_EXPM1_HI] or NaN: 2^n expm1(r) + (2^n - 1). */
VM_INLINE float32x4_t expm1_clamped(float32x4_t x) {
  const float32x4_t n = round_log2(x);
  const float32x4_t s = pow2i(vcvtq_s32_f32(n));
  return vfmaq_f32(vsubq_f32(s, splat(1.0f)), s, expm1_reduced(minus_n_ln2(x, n)));
}

/* num / (1 + e) for e >= 0, corrected for the rounding of 1 + e (see the AVX2 variant). */
VM_INLINE float32x4_t div_one_plus(float32x4_t num, float32x4_t e) {
  const float32x4_t d = vaddq_f32(splat(1.0f), e);
  const float32x4_t big = vmaxq_f32(e, splat(1.0f)), small = vminq_f32(e, splat(1.0f));
  const float32x4_t d_err = vsubq_f32(small, vsubq_f32(d, big)); /* exact */
  const float32x4_t q = vdivq_f32(num, d);
  const float32x4_t residual = vfmsq_f32(vfmsq_f32(num, q, d), q, d_err);
  return vfmaq_f32(q, residual, vrecpeq_f32(d));
}

VM_INLINE float32x4_t sigmoid4(float32x4_t z, float32x4_t *e_out) {
  const float32x4_t e = exp4(minus_abs(z));
  *e_out = e;
  return div_one_plus(vbslq_f32(negative(z), e, splat(1.0f)), e);
}

VM_INLINE float32x4_t logistic4(float32x4_t x) {
  float32x4_t e;
  float32x4_t y = sigmoid4(x, &e);
  y = vbslq_f32(vcltq_f32(x, splat(TFL_VM_LOGISTIC_EXP)), e, y);
  return vbslq_f32(vcgtq_f32(x, splat(TFL_VM_LOGISTIC_ONE)), splat(1.0f), y);
}

VM_INLINE float32x4_t tanh4(float32x4_t x) {
  const uint32x4_t sign = vandq_u32(bits(x), sign_bit());
  const float32x4_t ax2 = vabsq_f32(vaddq_f32(x, x));
  const float32x4_t u = expm1_clamped(vminq_f32(splat(TFL_VM_EXPM1_HI), ax2));
  const float32x4_t v = vmulq_f32(u, splat(0.5f));
  return from_bits(vorrq_u32(bits(div_one_plus(v, v)), sign));
}

VM_INLINE float32x4_t elu4(float32x4_t x) {
  const float32x4_t zero = vdupq_n_f32(0.0f);
  const float32x4_t neg = vmaxq_f32(splat(TFL_VM_EXPM1_LO), vminq_f32(x, zero));
  return vbslq_f32(vcltq_f32(x, zero), expm1_clamped(neg), x);
}

VM_INLINE float32x4_t erf_small(float32x4_t a) {
  const float32x4_t w = vmulq_f32(a, a);
  float32x4_t q = vfmaq_f32(splat(TFL_VM_ERF_Q3), splat(TFL_VM_ERF_Q4), w);
  q = vfmaq_f32(splat(TFL_VM_ERF_Q2), q, w);
  q = vfmaq_f32(splat(TFL_VM_ERF_Q1), q, w);
  q = vfmaq_f32(splat(TFL_VM_ERF_Q0), q, w);
  return vfmaq_f32(a, a, q);
}

VM_INLINE float32x4_t erfc_nonnegative(float32x4_t a) {
  const float32x4_t t = vdivq_f32(splat(1.0f), vfmaq_f32(splat(1.0f), a, splat(0.5f)));
  const float32x4_t s = vsubq_f32(t, splat(TFL_VM_ERFC_TC));
  float32x4_t g = vfmaq_f32(splat(TFL_VM_ERFC_G9), splat(TFL_VM_ERFC_G10), s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G8), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G7), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G6), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G5), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G4), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G3), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G2), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G1), g, s);
  g = vfmaq_f32(splat(TFL_VM_ERFC_G0), g, s);
  const float32x4_t sq = vmulq_f32(a, a);
  const float32x4_t minus_sq_lo = vfmsq_f32(sq, a, a); /* sq - a^2, exactly */
  return vmulq_f32(t, exp_clamped(vnegq_f32(sq), 1, vaddq_f32(g, minus_sq_lo)));
}

VM_INLINE float32x4_t gelu_erf4(float32x4_t x) {
  const float32x4_t h = vmulq_f32(splat(0.5f), x);
  const float32x4_t z = vmulq_f32(x, splat(TFL_VM_MINUS_SQRT_HALF));
  const float32x4_t a = vminq_f32(splat(TFL_VM_ERFC_HI), vabsq_f32(z));
  const float32x4_t e = erfc_nonnegative(a);
  const float32x4_t far = vmulq_f32(h, vbslq_f32(negative(z), vsubq_f32(splat(2.0f), e), e));
  const float32x4_t near = vfmsq_f32(h, h, erf_small(z));
  return vbslq_f32(vcltq_f32(a, splat(TFL_VM_ERF_SMALL)), near, far);
}

VM_INLINE float32x4_t gelu_tanh4(float32x4_t x) {
  const float32x4_t cubic = vmulq_f32(vmulq_f32(vmulq_f32(splat(TFL_VM_GELU_CUBIC), x), x), x);
  const float32x4_t u = vmulq_f32(splat(TFL_VM_SQRT_2_OVER_PI), vaddq_f32(x, cubic));
  float32x4_t e;
  return vmulq_f32(x, sigmoid4(vaddq_f32(u, u), &e));
}

/* The reference's comparisons, so NaN passes through as in its clamp. */
VM_INLINE float32x4_t hard_swish4(float32x4_t x) {
  const float32x4_t zero = vdupq_n_f32(0.0f), six = splat(6.0f);
  float32x4_t t = vaddq_f32(x, splat(3.0f));
  t = vbslq_f32(vcltq_f32(t, zero), zero, t);
  t = vbslq_f32(vcgtq_f32(t, six), six, t);
  return vdivq_f32(vmulq_f32(x, t), six);
}

/* The k < 4 floats at p, zero-padded. */
VM_INLINE float32x4_t load_partial(const float *p, size_t k) {
  float buf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  memcpy(buf, p, k * sizeof(float));
  return vld1q_f32(buf);
}

VM_INLINE void store_partial(float *p, size_t k, float32x4_t v) {
  float buf[4];
  vst1q_f32(buf, v);
  memcpy(p, buf, k * sizeof(float));
}

VM_INLINE void map4(float32x4_t (*f)(float32x4_t), const float *x, float *y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = f(vld1q_f32(x + i)), b = f(vld1q_f32(x + i + 4));
    vst1q_f32(y + i, a);
    vst1q_f32(y + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i)));
  if (i < n) store_partial(y + i, n - i, f(load_partial(x + i, n - i)));
}

#define VM_MAP(name, f) \
  static void name(const float *x, float *y, size_t n) { map4(f, x, y, n); }

VM_MAP(exp_neon, exp4)
VM_MAP(logistic_neon, logistic4)
VM_MAP(tanh_neon, tanh4)
VM_MAP(elu_neon, elu4)
VM_MAP(gelu_erf_neon, gelu_erf4)
VM_MAP(gelu_tanh_neon, gelu_tanh4)
VM_MAP(hard_swish_neon, hard_swish4)

/* The reference's `if (m < v) m = v`: a NaN v never replaces m. */
VM_INLINE float32x4_t max_keep(float32x4_t m, float32x4_t v) {
  return vbslq_f32(vcltq_f32(m, v), v, m);
}

static float max_neon(const float *x, size_t n) {
  float32x4_t m0 = splat(-FLT_MAX), m1 = m0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    m0 = max_keep(m0, vld1q_f32(x + i));
    m1 = max_keep(m1, vld1q_f32(x + i + 4));
  }
  for (; i + 4 <= n; i += 4) m0 = max_keep(m0, vld1q_f32(x + i));
  float m = vmaxvq_f32(max_keep(m0, m1)); /* no NaN lanes here */
  for (; i < n; i++)
    if (m < x[i]) m = x[i];
  return m;
}

VM_INLINE float32x4_t shifted_exp(float32x4_t v, float32x4_t shift, float32x4_t beta) {
  return exp4(vmulq_f32(vsubq_f32(v, shift), beta));
}

static float exp_sum_neon(const float *x, float *y, size_t n, float shift, float beta) {
  const float32x4_t vs = splat(shift), vb = splat(beta);
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = shifted_exp(vld1q_f32(x + i), vs, vb);
    const float32x4_t b = shifted_exp(vld1q_f32(x + i + 4), vs, vb);
    if (y) {
      vst1q_f32(y + i, a);
      vst1q_f32(y + i + 4, b);
    }
    s0 = vaddq_f32(s0, a);
    s1 = vaddq_f32(s1, b);
  }
  for (; i + 4 <= n; i += 4) {
    const float32x4_t a = shifted_exp(vld1q_f32(x + i), vs, vb);
    if (y) vst1q_f32(y + i, a);
    s0 = vaddq_f32(s0, a);
  }
  if (i < n) {
    const uint32_t lane[4] = {0, 1, 2, 3};
    const uint32x4_t mask = vcltq_u32(vld1q_u32(lane), vdupq_n_u32((uint32_t)(n - i)));
    const float32x4_t a = shifted_exp(load_partial(x + i, n - i), vs, vb);
    if (y) store_partial(y + i, n - i, a);
    s1 = vaddq_f32(s1, from_bits(vandq_u32(bits(a), mask)));
  }
  return vaddvq_f32(vaddq_f32(s0, s1));
}

static void div_neon(float *y, size_t n, float d) {
  const float32x4_t vd = splat(d);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vdivq_f32(vld1q_f32(y + i), vd));
  for (; i < n; i++) y[i] /= d;
}

const tfl_vmath tfl_vmath_neon = {.exp = exp_neon,
                                  .logistic = logistic_neon,
                                  .tanh = tanh_neon,
                                  .elu = elu_neon,
                                  .gelu_erf = gelu_erf_neon,
                                  .gelu_tanh = gelu_tanh_neon,
                                  .hard_swish = hard_swish_neon,
                                  .max = max_neon,
                                  .exp_sum = exp_sum_neon,
                                  .div = div_neon};
