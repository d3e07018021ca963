/* Quantized ADD/SUB with AVX2 (qadd.h): 32 elements per step, each of the three
 * multiplications as the DOUBLE requantization of qreq_avx2.h with every lane sharing one
 * multiplier. */
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

void tfl_qadd_run_avx2(const tfl_qadd *q, const void *a, int a_step, const void *b, int b_step,
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
    /* packs and narrowing work within 128-bit lanes: groups of 4 codes come out in the order
     * 0 2 4 6 1 3 5 7; the permutation puts them back. */
    const __m256i codes = qreq_narrow_clamp(&v.f, _mm256_packs_epi32(c[0], c[1]),
                                            _mm256_packs_epi32(c[2], c[3]));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256((__m256i *)(po + i), _mm256_permutevar8x32_epi32(codes, order));
  }
  tfl_qadd_run_portable(q, pa + i * (size_t)a_step, a_step, pb + i * (size_t)b_step, b_step,
                        po + i, n - i);
}
