/* Quantized ADD/SUB with AVX2 (qadd.h), 32 elements per step: the float form where
 * tfl_qadd_plan allows it, else each of the three multiplications as the DOUBLE
 * requantization of qreq_avx2.h with every lane sharing one multiplier. */
#include <string.h>

#include "kernels/qadd.h"
#include "kernels/x86/qreq_avx2.h"

/* A multiplier applied to every lane (tfl_qreq's DOUBLE parameters, broadcast), plus
 * `offset` afterwards. */
static qreq_vec uniform(int32_t multiplier, int shift, int32_t offset) {
  /* Shifts clamped to 31 as tfl_mul_by_quantized_multiplier does (only hostile scales reach
   * it): a vector shift by 32 or more would give 0 instead. */
  const int32_t right = shift > 0 ? 0 : (-shift > 31 ? 31 : -shift);
  qreq_vec p;
  p.left = _mm256_set1_epi32(shift > 0 ? (shift > 31 ? 31 : shift) : 0);
  p.mult = _mm256_set1_epi32(multiplier);
  p.mult_odd = _mm256_srli_epi64(p.mult, 32);
  p.right = _mm256_set1_epi32(right);
  p.half = _mm256_set1_epi32(right > 0 ? (int32_t)((uint32_t)1 << (right - 1)) : 0);
  p.offset = _mm256_set1_epi32(offset);
  p.round_even = p.round_odd = p.shift_even = p.shift_odd = _mm256_setzero_si256();
  return p;
}

typedef struct qadd_vec {
  qreq_vec in1, in2, out;
  __m256i off1, off2;
  qreq_flags f;
} qadd_vec;

/* 8 values at p (or one repeated, step 0), widened to int32. */
static inline __m256i load8(int u8, const uint8_t *p, int step) {
  if (!step) return _mm256_set1_epi32(u8 ? *p : (int8_t)*p);
  const __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

/* One input brought to the common scale. */
static inline __m256i rescale_in(__m256i x, __m256i offset, int left_shift, const qreq_vec *p) {
  x = _mm256_sll_epi32(_mm256_add_epi32(x, offset), _mm_cvtsi32_si128(left_shift));
  return qreq_scale8(0, QREQ_GENERAL, p, x);
}

/* The output codes of 8 elements, not yet clamped. */
static inline __m256i qadd8(const tfl_qadd *q, const qadd_vec *v, int u8, const uint8_t *a,
                            int a_step, const uint8_t *b, int b_step) {
  const __m256i x = rescale_in(load8(u8, a, a_step), v->off1, q->left_shift, &v->in1);
  const __m256i y = rescale_in(load8(u8, b, b_step), v->off2, q->left_shift, &v->in2);
  return qreq_scale8(0, QREQ_GENERAL, &v->out, q->sub ? _mm256_sub_epi32(x, y) : _mm256_add_epi32(x, y));
}

/* Packs 32 int32 codes (groups of 8 in c[0..3]) into bytes in order, clamped. */
static inline __m256i narrow32(const qreq_flags *f, const __m256i c[4]) {
  /* packs and narrowing work within 128-bit lanes: groups of 4 codes come out in the order
   * 0 2 4 6 1 3 5 7; the permutation puts them back. */
  const __m256i codes =
      qreq_narrow_clamp(f, _mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
  return _mm256_permutevar8x32_epi32(codes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The exact kernel: every multiplication in 64-bit lanes. */
static void run_exact(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
                      void *out, size_t n) {
  const int u8 = q->type == TFL_UINT8;
  qadd_vec v;
  v.in1 = uniform(q->in1_multiplier, q->in1_shift, 0);
  v.in2 = uniform(q->in2_multiplier, q->in2_shift, 0);
  v.out = uniform(q->out_multiplier, q->out_shift, q->out_offset);
  v.off1 = _mm256_set1_epi32(q->in1_offset);
  v.off2 = _mm256_set1_epi32(q->in2_offset);
  v.f.u8 = u8;
  v.f.act_min = _mm256_set1_epi8((char)q->act_min);
  v.f.act_max = _mm256_set1_epi8((char)q->act_max);
  const uint8_t *pa = a, *pb = b;
  uint8_t *po = out;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i c[4];
    for (int j = 0; j < 4; j++)
      c[j] = qadd8(q, &v, u8, pa + (i + 8 * (size_t)j) * (size_t)a_step, a_step,
                   pb + (i + 8 * (size_t)j) * (size_t)b_step, b_step);
    _mm256_storeu_si256((__m256i *)(po + i), narrow32(&v.f, c));
  }
  tfl_qadd_run_portable(q, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step, b_step,
                        po + i, n - i);
}

/* 8 codes at p as floats. */
static inline __m256 codes8_ps(const int u8, const uint8_t *p) {
  const __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return _mm256_cvtepi32_ps(u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v));
}

typedef struct float_form {
  __m256 cx, cy, g, limit, abs_mask;
  qreq_flags f;
} float_form;

/* 32 outputs of x (and y when `two`: else its term is in g) into po; returns the mask of the
 * lanes whose w lies too near a half-integer for the rounding to be trusted. */
static inline __attribute__((always_inline)) uint32_t float32(const int u8, const int two,
                                                              const float_form *v,
                                                              const uint8_t *px,
                                                              const uint8_t *py, uint8_t *po) {
  __m256i c[4];
  uint32_t risky = 0;
  for (int j = 0; j < 4; j++) {
    __m256 w = v->g;
    if (two) w = _mm256_fmadd_ps(codes8_ps(u8, py + 8 * j), v->cy, w);
    w = _mm256_fmadd_ps(codes8_ps(u8, px + 8 * j), v->cx, w);
    c[j] = _mm256_cvtps_epi32(w); /* to nearest: the default MXCSR mode */
    const __m256 frac = _mm256_and_ps(_mm256_sub_ps(w, _mm256_cvtepi32_ps(c[j])), v->abs_mask);
    risky |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(frac, v->limit, _CMP_GE_OQ)) << (8 * j);
  }
  _mm256_storeu_si256((__m256i *)po, narrow32(&v->f, c));
  return risky;
}

/* x varies (step 1) and so does y when `two`; else y is fixed, its term in v->g (and py
 * unused). */
static inline __attribute__((always_inline)) void run_float_with(
    const int u8, const int two, const tfl_qadd *q, const float_form *v, const uint8_t *px,
    const uint8_t *py, uint8_t *po, size_t n, const uint8_t *pa, int a_step, const uint8_t *pb,
    int b_step) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const uint32_t risky = float32(u8, two, v, px + i, py + (two ? i : 0), po + i);
    if (risky)
      tfl_qadd_fix_lanes(q, risky, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step,
                         b_step, po + i);
  }
  if (i == n) return;
  /* The last elements through 32-element copies. */
  uint8_t x[32] = {0}, y[32] = {0}, o[32];
  memcpy(x, px + i, n - i);
  if (two) memcpy(y, py + i, n - i);
  const uint32_t risky = float32(u8, two, v, x, y, o) & (uint32_t)((1ull << (n - i)) - 1);
  memcpy(po + i, o, n - i);
  if (risky)
    tfl_qadd_fix_lanes(q, risky, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step,
                       b_step, po + i);
}

static void run_float(const tfl_qadd *q, const uint8_t *pa, int a_step, const uint8_t *pb,
                      int b_step, uint8_t *po, size_t n) {
  const int u8 = q->type == TFL_UINT8;
  float_form v;
  v.cx = _mm256_set1_ps(q->c1);
  v.cy = _mm256_set1_ps(q->c2);
  v.limit = _mm256_set1_ps(q->limit);
  v.abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  v.f.u8 = u8;
  v.f.act_min = _mm256_set1_epi8((char)q->act_min);
  v.f.act_max = _mm256_set1_epi8((char)q->act_max);
  if (a_step && b_step) {
    v.g = _mm256_set1_ps(q->g);
    if (u8)
      run_float_with(1, 1, q, &v, pa, pb, po, n, pa, a_step, pb, b_step);
    else
      run_float_with(0, 1, q, &v, pa, pb, po, n, pa, a_step, pb, b_step);
    return;
  }
  /* One operand fixed: its term joins g. */
  v.g = _mm256_set1_ps(tfl_qadd_fixed_g(q, pa, a_step, pb));
  if (!a_step) v.cx = v.cy;
  const uint8_t *px = a_step ? pa : pb;
  if (u8)
    run_float_with(1, 0, q, &v, px, px, po, n, pa, a_step, pb, b_step);
  else
    run_float_with(0, 0, q, &v, px, px, po, n, pa, a_step, pb, b_step);
}

void tfl_qadd_run_avx2(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
                       void *out, size_t n) {
  if (q->use_float && (a_step || b_step))
    run_float(q, a, a_step, b, b_step, out, n);
  else
    run_exact(q, a, a_step, b, b_step, out, n);
}
