/* The requantization of qgemm.h's tfl_qreq on 8 int32 lanes, for the AVX2 kernels only
 * (include it from src/kernels/x86/ *_avx2.c files, which are compiled with -mavx2).
 * Accumulators reach it with their bias already added (kernels start from the bias). */
#ifndef TFL_KERNELS_X86_QREQ_AVX2_H
#define TFL_KERNELS_X86_QREQ_AVX2_H

#include <immintrin.h>

#include "kernels/qgemm.h"

static inline __m256i qreq_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The per-slot parameters of 8 consecutive slots, loaded once for several rows. */
typedef struct qreq_vec {
  __m256i left, mult, mult_odd, right, half;    /* half: DOUBLE */
  __m256i round_even, round_odd, shift_even, shift_odd, offset; /* RUY and fused */
  __m256i neg_even, neg_odd;                    /* fused DOUBLE */
  __m256i fused_shift;                          /* fused: right - 1 per lane */
} qreq_vec;

/* What the kernels test per vector, read once (stores to the output may alias the tables,
 * so the compiler would reload them after every store). */
typedef struct qreq_flags {
  int ruy, fused, u8;
  __m256i offset;
  __m256i act_min, act_max; /* bytes */
} qreq_flags;

static inline qreq_flags qreq_flags_of(const tfl_qreq *r) {
  qreq_flags f;
  f.ruy = r->ruy;
  f.fused = r->fused;
  f.u8 = r->out_type == TFL_UINT8;
  f.offset = _mm256_set1_epi32(r->out_offset);
  f.act_min = _mm256_set1_epi8((char)r->act_min);
  f.act_max = _mm256_set1_epi8((char)r->act_max);
  return f;
}

static inline __m256i qreq_load64(const int64_t *p) {
  return _mm256_loadu_si256((const __m256i *)p);
}

/* How qreq_scale8 computes: the general form, the fused one (when tfl_qreq.fused), or the
 * general one without left shifts (also when tfl_qreq.fused, for kernels that lack the
 * registers of the fused form). */
enum { QREQ_GENERAL = 0, QREQ_FUSED = 1, QREQ_NO_LEFT = 2 };

/* The parameters of slots [s, s + 8) that the rounding `ruy` (0: DOUBLE) in `form` uses.
 * Callers pass constants for ruy and form, so that each variant compiles without tests. */
static inline __attribute__((always_inline)) qreq_vec
qreq_params(const tfl_qreq *r, const int ruy, const int form, const qreq_flags *f, int32_t s) {
  const int fused = form == QREQ_FUSED;
  qreq_vec p;
  const __m256i zero = _mm256_setzero_si256();
  p.left = p.right = p.half = p.neg_even = p.neg_odd = zero;
  p.round_even = p.round_odd = p.shift_even = p.shift_odd = zero;
  p.mult = qreq_load(r->mult + s);
  p.mult_odd = _mm256_srli_epi64(p.mult, 32);
  p.offset = f->offset;
  p.fused_shift = zero;
  if (fused) {
    p.round_even = qreq_load64(r->fused_round + s);
    p.round_odd = qreq_load64(r->fused_round + s + 4);
    p.fused_shift = qreq_load(r->fused_shift + s);
    if (!ruy) {
      p.neg_even = qreq_load64(r->fused_round_neg + s);
      p.neg_odd = qreq_load64(r->fused_round_neg + s + 4);
    }
    return p;
  }
  if (ruy) {
    p.round_even = qreq_load64(r->ruy_round + s);
    p.round_odd = qreq_load64(r->ruy_round + s + 4);
    p.offset = qreq_load(r->ruy_offset + s);
  }
  if (form == QREQ_GENERAL) p.left = qreq_load(r->left + s);
  if (ruy) {
    p.shift_even = qreq_load64(r->ruy_shift + s);
    p.shift_odd = qreq_load64(r->ruy_shift + s + 4);
  } else {
    p.right = qreq_load(r->right + s);
    p.half = qreq_load(r->half + s);
  }
  return p;
}

/* Per 64-bit lane: b where mask's sign bit is set, else a. */
static inline __m256i qreq_select64(__m256i a, __m256i b, __m256i mask) {
  return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b),
                                              _mm256_castsi256_pd(mask)));
}

/* The fused form (see tfl_qreq): each product plus its rounding constant (DOUBLE: the
 * negative products' own, chosen by the sign bit), then its high half, shifted. */
static inline __attribute__((always_inline)) __m256i
qreq_scale8_fused(const int ruy, const qreq_vec *p, __m256i x) {
  const __m256i even = _mm256_mul_epi32(x, p->mult);
  const __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), p->mult_odd);
  __m256i round_even = p->round_even, round_odd = p->round_odd;
  if (!ruy) {
    round_even = qreq_select64(round_even, p->neg_even, even);
    round_odd = qreq_select64(round_odd, p->neg_odd, odd);
  }
  /* the even sums' high halves moved down to the even lanes, the odd ones' where they are */
  const __m256i high = _mm256_blend_epi32(
      _mm256_srli_epi64(_mm256_add_epi64(even, round_even), 32),
      _mm256_add_epi64(odd, round_odd), 0xAA);
  return _mm256_add_epi32(_mm256_srav_epi32(high, p->fused_shift), p->offset);
}

/* Accumulators (bias included) times the slots' multipliers, rounded as `ruy` says, plus the
 * output offset (wrapping, as the reference's int32 addition); not yet clamped. */
static inline __attribute__((always_inline)) __m256i
qreq_scale8(const int ruy, const int form, const qreq_vec *p, __m256i x) {
  if (form == QREQ_FUSED) return qreq_scale8_fused(ruy, p, x);
  if (form == QREQ_GENERAL) x = _mm256_sllv_epi32(x, p->left);
  const __m256i even = _mm256_mul_epi32(x, p->mult);
  const __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), p->mult_odd);
  if (ruy) { /* one rounding shift of the biased 64-bit products (see tfl_qreq) */
    const __m256i lo = _mm256_srlv_epi64(_mm256_add_epi64(even, p->round_even), p->shift_even);
    const __m256i hi = _mm256_srlv_epi64(_mm256_add_epi64(odd, p->round_odd), p->shift_odd);
    x = _mm256_blend_epi32(lo, _mm256_slli_epi64(hi, 32), 0xAA);
    return _mm256_add_epi32(x, p->offset);
  }
  /* (z + 2^30) >> 31: bits 31..62 of each product, in the low half for even lanes, the high
   * half for odd ones. tfl_srdhm's sign-dependent nudge and truncating division give the same
   * value for the non-negative multipliers here; the 62-bit products never overflow. */
  const __m256i round = _mm256_set1_epi64x((long long)1 << 30);
  x = _mm256_blend_epi32(_mm256_srli_epi64(_mm256_add_epi64(even, round), 31),
                         _mm256_slli_epi64(_mm256_add_epi64(odd, round), 1), 0xAA);
  /* Ties away from zero: the magnitude rounded up, in unsigned arithmetic, which cannot
   * overflow (|x| < 2^31, half <= 2^30). */
  const __m256i magnitude = _mm256_add_epi32(_mm256_abs_epi32(x), p->half);
  x = _mm256_sign_epi32(_mm256_srlv_epi32(magnitude, p->right), x);
  return _mm256_add_epi32(x, p->offset);
}

/* Calls BODY(arg, ruy, form) with ruy and form as constants, form QREQ_FUSED where flags f
 * allow it and QREQ_GENERAL elsewhere. */
#define QREQ_DISPATCH(f, BODY, arg)   \
  do {                                \
    if ((f)->ruy) {                   \
      if ((f)->fused)                 \
        BODY(arg, 1, QREQ_FUSED);     \
      else                            \
        BODY(arg, 1, QREQ_GENERAL);   \
    } else {                          \
      if ((f)->fused)                 \
        BODY(arg, 0, QREQ_FUSED);     \
      else                            \
        BODY(arg, 0, QREQ_GENERAL);   \
    }                                 \
  } while (0)

/* Narrows int16 codes to bytes with saturation (a, then b, within each 128-bit lane) and
 * clamps them to [act_min, act_max]. Saturating first changes nothing: a value beyond the
 * type's range would be clamped to the same bound. */
static inline __m256i qreq_narrow_clamp(const qreq_flags *f, __m256i a, __m256i b) {
  if (f->u8)
    return _mm256_min_epu8(_mm256_max_epu8(_mm256_packus_epi16(a, b), f->act_min), f->act_max);
  return _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(a, b), f->act_min), f->act_max);
}

#endif
