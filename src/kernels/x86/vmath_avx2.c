/* The vector math of kernels/vmath.h with AVX2 + FMA: 8 floats at a time, the last few through
 * masked loads and stores (masked-off lanes compute on zeros and are never stored or summed). */
#include <float.h>
#include <immintrin.h>

#include "kernels/vmath.h"

#define VM_INLINE static inline __attribute__((always_inline))

VM_INLINE __m256 splat(float v) { return _mm256_set1_ps(v); }

/* The sign bit alone, to take absolute values and signs. */
VM_INLINE __m256 sign_bit(void) { return _mm256_set1_ps(-0.0f); }

/* Keeps lo <= x <= hi; a NaN x stays NaN (min/max return their second operand on NaN). */
VM_INLINE __m256 clamp(__m256 x, float lo, float hi) {
  return _mm256_min_ps(splat(hi), _mm256_max_ps(splat(lo), x));
}

/* round(x / ln2), to nearest. */
VM_INLINE __m256 round_log2(__m256 x) {
  return _mm256_round_ps(_mm256_mul_ps(x, splat(TFL_VM_LOG2E)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* x - n ln2, with ln2 in two parts so the result keeps its low bits. */
VM_INLINE __m256 minus_n_ln2(__m256 x, __m256 n) {
  return _mm256_fmadd_ps(n, splat(-TFL_VM_LN2_LO), _mm256_fmadd_ps(n, splat(-TFL_VM_LN2_HI), x));
}

/* expm1(r) for |r| <= ln2 / 2 (a little more is fine): r + r^2 h(r). */
VM_INLINE __m256 expm1_reduced(__m256 r) {
  __m256 h = _mm256_fmadd_ps(splat(TFL_VM_EXPM1_C7), r, splat(TFL_VM_EXPM1_C6));
  h = _mm256_fmadd_ps(h, r, splat(TFL_VM_EXPM1_C5));
  h = _mm256_fmadd_ps(h, r, splat(TFL_VM_EXPM1_C4));
  h = _mm256_fmadd_ps(h, r, splat(TFL_VM_EXPM1_C3));
  h = _mm256_fmadd_ps(h, r, splat(TFL_VM_EXPM1_C2));
  return _mm256_fmadd_ps(_mm256_mul_ps(r, r), h, r);
}

/* 2^n for integers n in [-126, 127]. */
VM_INLINE __m256 pow2i(__m256i n) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

/* exp(x + lo) for x in [TFL_VM_EXP_LO, TFL_VM_EXP_HI] or NaN, and (with_lo) a small lo that
 * carries the low part of a two-float argument (x is reduced alone, exactly, lo added after). */
VM_INLINE __m256 exp_clamped(__m256 x, int with_lo, __m256 lo) {
  const __m256 n = round_log2(with_lo ? _mm256_add_ps(x, lo) : x);
  __m256 r = minus_n_ln2(x, n);
  if (with_lo) r = _mm256_add_ps(r, lo);
  const __m256 p = _mm256_add_ps(splat(1.0f), expm1_reduced(r));
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  /* p 2^n1 is exact; the second factor rounds once, into the subnormals or to inf. */
  return _mm256_mul_ps(_mm256_mul_ps(p, pow2i(n1)), pow2i(_mm256_sub_epi32(ni, n1)));
}

VM_INLINE __m256 exp8(__m256 x) {
  return exp_clamped(clamp(x, TFL_VM_EXP_LO, TFL_VM_EXP_HI), 0, _mm256_setzero_ps());
}

/* expm1(x) for x in [TFL_VM_EXPM1_LO, TFL_VM_EXPM1_HI] or NaN: 2^n expm1(r) + (2^n - 1), whose
 * last step rounds once. */
VM_INLINE __m256 expm1_clamped(__m256 x) {
  const __m256 n = round_log2(x);
  const __m256 s = pow2i(_mm256_cvtps_epi32(n));
  return _mm256_fmadd_ps(s, expm1_reduced(minus_n_ln2(x, n)), _mm256_sub_ps(s, splat(1.0f)));
}

/* num / (1 + e) for e >= 0, as if 1 + e were not rounded: the division's residual, with the
 * rounding error of 1 + e, corrects the quotient (the correction needs few bits, so an
 * approximate reciprocal serves). */
VM_INLINE __m256 div_one_plus(__m256 num, __m256 e) {
  const __m256 d = _mm256_add_ps(splat(1.0f), e);
  const __m256 big = _mm256_max_ps(e, splat(1.0f)), small = _mm256_min_ps(e, splat(1.0f));
  const __m256 d_err = _mm256_sub_ps(small, _mm256_sub_ps(d, big)); /* exact */
  const __m256 q = _mm256_div_ps(num, d);
  const __m256 residual = _mm256_fnmadd_ps(q, d_err, _mm256_fnmadd_ps(q, d, num));
  return _mm256_fmadd_ps(residual, _mm256_rcp_ps(d), q);
}

/* 1 / (1 + exp(-z)) without cutoffs, from e = exp(-|z|) (returned in *e_out): nothing
 * overflows or cancels. */
VM_INLINE __m256 sigmoid8(__m256 z, __m256 *e_out) {
  const __m256 e = exp8(_mm256_or_ps(z, sign_bit()));
  *e_out = e;
  return div_one_plus(_mm256_blendv_ps(splat(1.0f), e, z), e);
}

VM_INLINE __m256 logistic8(__m256 x) {
  __m256 e;
  __m256 y = sigmoid8(x, &e);
  /* Below the cutoff, exp(x) (= e there); above the other, 1. */
  y = _mm256_blendv_ps(y, e, _mm256_cmp_ps(x, splat(TFL_VM_LOGISTIC_EXP), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, splat(1.0f),
                          _mm256_cmp_ps(x, splat(TFL_VM_LOGISTIC_ONE), _CMP_GT_OQ));
}

/* tanh |x| = v / (1 + v) with v = expm1(2|x|) / 2 >= 0, which passes v's relative error on at
 * most once; the sign is x's. */
VM_INLINE __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, sign_bit());
  const __m256 ax2 = _mm256_andnot_ps(sign_bit(), _mm256_add_ps(x, x));
  const __m256 u = expm1_clamped(_mm256_min_ps(splat(TFL_VM_EXPM1_HI), ax2));
  const __m256 v = _mm256_mul_ps(u, splat(0.5f));
  return _mm256_or_ps(div_one_plus(v, v), sign);
}

VM_INLINE __m256 elu8(__m256 x) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 neg = _mm256_max_ps(splat(TFL_VM_EXPM1_LO), _mm256_min_ps(x, zero));
  return _mm256_blendv_ps(x, expm1_clamped(neg), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
}

/* erf(a) for |a| <= TFL_VM_ERF_SMALL: a + a q(a^2). */
VM_INLINE __m256 erf_small(__m256 a) {
  const __m256 w = _mm256_mul_ps(a, a);
  __m256 q = _mm256_fmadd_ps(splat(TFL_VM_ERF_Q4), w, splat(TFL_VM_ERF_Q3));
  q = _mm256_fmadd_ps(q, w, splat(TFL_VM_ERF_Q2));
  q = _mm256_fmadd_ps(q, w, splat(TFL_VM_ERF_Q1));
  q = _mm256_fmadd_ps(q, w, splat(TFL_VM_ERF_Q0));
  return _mm256_fmadd_ps(a, q, a);
}

/* erfc(a) for a in [0, TFL_VM_ERFC_HI] (or NaN): t exp(-a^2 + g(t)), with -a^2 as hi + lo. */
VM_INLINE __m256 erfc_nonnegative(__m256 a) {
  const __m256 t = _mm256_div_ps(splat(1.0f), _mm256_fmadd_ps(a, splat(0.5f), splat(1.0f)));
  const __m256 s = _mm256_sub_ps(t, splat(TFL_VM_ERFC_TC));
  __m256 g = _mm256_fmadd_ps(splat(TFL_VM_ERFC_G10), s, splat(TFL_VM_ERFC_G9));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G8));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G7));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G6));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G5));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G4));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G3));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G2));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G1));
  g = _mm256_fmadd_ps(g, s, splat(TFL_VM_ERFC_G0));
  const __m256 sq = _mm256_mul_ps(a, a);
  const __m256 sq_lo = _mm256_fmsub_ps(a, a, sq); /* a^2 - sq, exactly */
  return _mm256_mul_ps(t, exp_clamped(_mm256_xor_ps(sq, sign_bit()), 1, _mm256_sub_ps(g, sq_lo)));
}

/* h erfc(z) with h = x / 2: near 0, h - h erf(z) (one rounding); beyond, h erfc(z) for z > 0
 * and h (2 - erfc(-z)) for z < 0. */
VM_INLINE __m256 gelu_erf8(__m256 x) {
  const __m256 h = _mm256_mul_ps(splat(0.5f), x);
  const __m256 z = _mm256_mul_ps(x, splat(TFL_VM_MINUS_SQRT_HALF));
  const __m256 a = _mm256_min_ps(splat(TFL_VM_ERFC_HI), _mm256_andnot_ps(sign_bit(), z));
  const __m256 e = erfc_nonnegative(a);
  const __m256 far =
      _mm256_mul_ps(h, _mm256_blendv_ps(e, _mm256_sub_ps(splat(2.0f), e), z));
  const __m256 near = _mm256_fnmadd_ps(h, erf_small(z), h);
  return _mm256_blendv_ps(far, near, _mm256_cmp_ps(a, splat(TFL_VM_ERF_SMALL), _CMP_LT_OQ));
}

VM_INLINE __m256 gelu_tanh8(__m256 x) {
  const __m256 cubic =
      _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(splat(TFL_VM_GELU_CUBIC), x), x), x);
  const __m256 u = _mm256_mul_ps(splat(TFL_VM_SQRT_2_OVER_PI), _mm256_add_ps(x, cubic));
  __m256 e;
  return _mm256_mul_ps(x, sigmoid8(_mm256_add_ps(u, u), &e));
}

VM_INLINE __m256 hard_swish8(__m256 x) {
  const __m256 relu6 = _mm256_min_ps(
      splat(6.0f), _mm256_max_ps(_mm256_setzero_ps(), _mm256_add_ps(x, splat(3.0f))));
  return _mm256_div_ps(_mm256_mul_ps(x, relu6), splat(6.0f));
}

/* Lanes [0, k) of 8. */
VM_INLINE __m256i tail_mask(size_t k) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

VM_INLINE void map8(__m256 (*f)(__m256), const float *x, float *y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = f(_mm256_loadu_ps(x + i)), b = f(_mm256_loadu_ps(x + i + 8));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, mask, f(_mm256_maskload_ps(x + i, mask)));
  }
}

#define VM_MAP(name, f) \
  static void name(const float *x, float *y, size_t n) { map8(f, x, y, n); }

VM_MAP(exp_avx2, exp8)
VM_MAP(logistic_avx2, logistic8)
VM_MAP(tanh_avx2, tanh8)
VM_MAP(elu_avx2, elu8)
VM_MAP(gelu_erf_avx2, gelu_erf8)
VM_MAP(gelu_tanh_avx2, gelu_tanh8)
VM_MAP(hard_swish_avx2, hard_swish8)

static float max_avx2(const float *x, size_t n) {
  /* max(v, m) keeps m when v is NaN, as the reference's `if (m < v) m = v`. */
  __m256 m0 = splat(-FLT_MAX), m1 = m0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_max_ps(m1, m0));
  float m = -FLT_MAX;
  for (int k = 0; k < 8; k++)
    if (m < lanes[k]) m = lanes[k];
  for (; i < n; i++)
    if (m < x[i]) m = x[i];
  return m;
}

VM_INLINE __m256 shifted_exp(__m256 v, __m256 shift, __m256 beta) {
  return exp8(_mm256_mul_ps(_mm256_sub_ps(v, shift), beta));
}

static float exp_sum_avx2(const float *x, float *y, size_t n, float shift, float beta) {
  const __m256 vs = splat(shift), vb = splat(beta);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = shifted_exp(_mm256_loadu_ps(x + i), vs, vb);
    const __m256 b = shifted_exp(_mm256_loadu_ps(x + i + 8), vs, vb);
    if (y) {
      _mm256_storeu_ps(y + i, a);
      _mm256_storeu_ps(y + i + 8, b);
    }
    s0 = _mm256_add_ps(s0, a);
    s1 = _mm256_add_ps(s1, b);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 a = shifted_exp(_mm256_loadu_ps(x + i), vs, vb);
    if (y) _mm256_storeu_ps(y + i, a);
    s0 = _mm256_add_ps(s0, a);
  }
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    const __m256 a = shifted_exp(_mm256_maskload_ps(x + i, mask), vs, vb);
    if (y) _mm256_maskstore_ps(y + i, mask, a);
    s1 = _mm256_add_ps(s1, _mm256_and_ps(a, _mm256_castsi256_ps(mask)));
  }
  const __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

static void div_avx2(float *y, size_t n, float d) {
  const __m256 vd = splat(d);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_div_ps(_mm256_loadu_ps(y + i), vd));
  if (i < n) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, mask, _mm256_div_ps(_mm256_maskload_ps(y + i, mask), vd));
  }
}

const tfl_vmath tfl_vmath_avx2 = {.exp = exp_avx2,
                                  .logistic = logistic_avx2,
                                  .tanh = tanh_avx2,
                                  .elu = elu_avx2,
                                  .gelu_erf = gelu_erf_avx2,
                                  .gelu_tanh = gelu_tanh_avx2,
                                  .hard_swish = hard_swish_avx2,
                                  .max = max_avx2,
                                  .exp_sum = exp_sum_avx2,
                                  .div = div_avx2};
