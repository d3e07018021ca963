/* Vectorized float32 transcendental functions for the activation and softmax kernels: AVX2 + FMA
 * (x86/vmath_avx2.c) and NEON (arm/vmath_neon.c), picked at prepare by CPU level. At
 * TFL_CPU=scalar the kernels keep calling libm (the reference).
 *
 * Method (the same in both variants): x = n ln2 + r with |r| <= ln2 / 2 (n rounded to
 * nearest, ln2 split in two for the reduction, FMA throughout); expm1(r) = r + r^2 h(r) with
 * h a degree-5 polynomial fitted in double to (expm1(r) - r) / r^2 on Chebyshev nodes; exp
 * scales 1 + expm1(r) by 2^n as two factors 2^(n/2) 2^(n - n/2), so results that overflow or
 * are subnormal round once, like libm's. The rest is built on these:
 *   logistic(x) = (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|), which never cancels; the
 *                 quotient is corrected for the rounding of 1 + e (one FMA residual);
 *   tanh|x|     = v / (1 + v) with v = expm1(2|x|) / 2 >= 0 (same division), sign of x;
 *   erf(a)      = a + a q(a^2) for |a| < 1/2, q a degree-4 polynomial fitted to erf(a)/a - 1;
 *   erfc(a)     = t exp(-a^2 + g(t)) for a >= 0, t = 1 / (1 + a / 2), g a degree-10 polynomial
 *                 in t fitted to log(erfc(a) / t) + a^2 on [0, 10.1] (a^2 kept exact as two
 *                 floats inside exp's reduction).
 *
 * Accuracy contract, in ulps of the exact result (the spacing of floats there, 2^-149 for
 * subnormals), measured against the functions evaluated in double over a dense sweep of the
 * float32 bit patterns (every 61st: 70 million inputs per function, both signs, all
 * exponents; tests/unit/test_vmath.c checks every 509th in each run):
 *                 |y| >= 2^-120      tiny |y| < 2^-120     measured
 *   exp           <= 1 ulp           <= 1 ulp              0.96 / 0.86
 *   logistic      <= 2 ulp           <= 1 ulp              1.47 / 0.86
 *   tanh          <= 2 ulp           exact (y = x)         1.57
 *   ELU (expm1)   <= 1 ulp           exact (y = x)         0.87
 *   GELU, erf     <= 5 ulp           <= 8 ulp              4.83 / 5.19
 *   GELU, tanh    <= 3 ulp           <= 8 ulp              2.30 / 6.08
 * (GELU's tiny results come from subnormal intermediates: absolute error <= 1.2e-44. The erf
 * form is compared with 0.5 x erfc(z) for the same float z = x * -(1 / sqrt 2) that the
 * reference passes to erfcf; the tanh form with x / (1 + exp(-2u)) for the reference's float
 * u = sqrt(2 / pi) (x + 0.044715 x^3).)
 * Special values as libm's: exp overflows to +inf above 88.72284 and underflows through the
 * subnormals to +0 below -103.97, exp(+inf) = +inf, exp(-inf) = +0, tanh(+-inf) = +-1 (and
 * +-1 from |x| >= 9.01), tanh(-0) = -0, ELU(-inf) = -1; NaN in gives NaN out everywhere.
 * What the ops keep from their reference kernels (activations.c, softmax.c):
 *   LOGISTIC is 1 above 16.619047 and exp(x) below -9, exactly as TFLite's float kernel.
 *   GELU(-inf) is NaN and GELU(+inf) = +inf, as 0.5 x erfc(-x / sqrt 2) gives in float; the
 *   tanh form is computed as x * logistic(2u), which equals 0.5 x (1 + tanh(u)) without its
 *   cancellation for negative x (so it is closer to the exact value than the reference).
 *   HARD_SWISH is bit-exact with the reference (the same float operations in the same order).
 *   SOFTMAX: the row maximum ignores NaN (as the reference's comparison does), exp((x - max) *
 *   beta) is summed in vector lanes (a different summation order than the reference's
 *   sequential float sum: within float tolerance), each term is divided by the sum.
 *   LOG_SOFTMAX: x - max - log(sum), with logf on the sum. */
#ifndef TFL_KERNELS_VMATH_H
#define TFL_KERNELS_VMATH_H

#include <stddef.h>

#include "kernels/simd.h"

/* y[i] = f(x[i]) for i < n; y may equal x. */
typedef void (*tfl_vmath_fn)(const float *x, float *y, size_t n);

typedef struct tfl_vmath {
  tfl_vmath_fn exp;
  tfl_vmath_fn logistic;   /* with the LOGISTIC op's cutoffs */
  tfl_vmath_fn tanh;
  tfl_vmath_fn elu;        /* x < 0 ? expm1(x) : x */
  tfl_vmath_fn gelu_erf;   /* 0.5 x erfc(-x / sqrt 2) */
  tfl_vmath_fn gelu_tanh;  /* 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
  tfl_vmath_fn hard_swish; /* x * relu6(x + 3) / 6, bit-exact */
  /* The largest of x[0..n) ignoring NaN, -FLT_MAX if none is larger. */
  float (*max)(const float *x, size_t n);
  /* Returns the sum of exp((x[i] - shift) * beta); stores the terms in y unless y is NULL. */
  float (*exp_sum)(const float *x, float *y, size_t n, float shift, float beta);
  /* y[i] /= d. */
  void (*div)(float *y, size_t n, float d);
} tfl_vmath;

#if TFL_HAVE_X86_KERNELS
extern const tfl_vmath tfl_vmath_avx2;
#endif
#if TFL_HAVE_ARM_KERNELS
extern const tfl_vmath tfl_vmath_neon;
#endif

/* The vector functions the level runs, or NULL (scalar level: the kernels call libm). */
static inline const tfl_vmath *tfl_vmath_get(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return &tfl_vmath_avx2;
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(level)) return &tfl_vmath_neon;
#endif
  (void)level;
  return NULL;
}

/* --- constants shared by the variants ---------------------------------------------------- */

#define TFL_VM_LOG2E 1.44269504088896341f
#define TFL_VM_LN2_HI 0.693147182464599609375f /* ln 2 rounded to float */
#define TFL_VM_LN2_LO -1.904654299957768e-09f  /* ln 2 - TFL_VM_LN2_HI */
/* exp's input clamp: beyond it the result is +inf or +0 already, and n stays in [-150, 129]
 * so both scale factors 2^(n/2), 2^(n - n/2) are normal floats. */
#define TFL_VM_EXP_LO -104.0f
#define TFL_VM_EXP_HI 89.0f
/* expm1's input clamp: below it the result rounds to -1, above it tanh(x / 2) rounds to 1; 2^n
 * stays normal and 2^n - 1 exact or negligible. */
#define TFL_VM_EXPM1_LO -18.0f
#define TFL_VM_EXPM1_HI 20.0f

/* h(r) = (expm1(r) - r) / r^2 ~ C2 + C3 r + ... + C7 r^5 on [-ln2/2, ln2/2]. */
#define TFL_VM_EXPM1_C2 0.5f
#define TFL_VM_EXPM1_C3 0.16666667163372040f
#define TFL_VM_EXPM1_C4 0.04166646674275398f
#define TFL_VM_EXPM1_C5 0.00833329837769270f
#define TFL_VM_EXPM1_C6 0.00139336439315230f
#define TFL_VM_EXPM1_C7 0.00019899275503121f

/* The LOGISTIC op's cutoffs (TFLite's). */
#define TFL_VM_LOGISTIC_ONE 16.619047164916992188f
#define TFL_VM_LOGISTIC_EXP -9.0f

#define TFL_VM_MINUS_SQRT_HALF -0.70710678118654752440f
#define TFL_VM_SQRT_2_OVER_PI 0.79788456080286535588f
#define TFL_VM_GELU_CUBIC 0.044715f
/* erfc(a) for a above this rounds to +0. */
#define TFL_VM_ERFC_HI 10.1f

/* erf(a) = a + a q(a^2) for |a| < TFL_VM_ERF_SMALL, q ~ Q0 + Q1 a^2 + ... + Q4 a^8. */
#define TFL_VM_ERF_SMALL 0.5f
#define TFL_VM_ERF_Q0 0.128379166f
#define TFL_VM_ERF_Q1 -0.37612614f
#define TFL_VM_ERF_Q2 0.112829328f
#define TFL_VM_ERF_Q3 -0.0267635975f
#define TFL_VM_ERF_Q4 0.00473006489f

/* g(t) = log(erfc(a) / t) + a^2 ~ G0 + G1 s + ... + G10 s^10 with s = t - TFL_VM_ERFC_TC. */
#define TFL_VM_ERFC_TC 0.582644641f
#define TFL_VM_ERFC_G0 -0.559537947f
#define TFL_VM_ERFC_G1 1.36861157f
#define TFL_VM_ERFC_G2 0.0915332884f
#define TFL_VM_ERFC_G3 -0.407300681f
#define TFL_VM_ERFC_G4 -0.0357083045f
#define TFL_VM_ERFC_G5 0.295420647f
#define TFL_VM_ERFC_G6 -0.0515079759f
#define TFL_VM_ERFC_G7 -0.245785967f
#define TFL_VM_ERFC_G8 0.141712919f
#define TFL_VM_ERFC_G9 0.145744547f
#define TFL_VM_ERFC_G10 -0.144046664f

#endif
