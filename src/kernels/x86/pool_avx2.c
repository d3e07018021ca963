/* Max and average pool rows with AVX2: channels in blocks of 8 with a masked tail. */
#include <float.h>
#include <immintrin.h>

#include "kernels/pool_fast.h"

/* The in-bounds taps of one output pixel: tap (ky, kx) reads input pixel
 * (iy0 + ky, ix0 + kx) for ky in [ky0, ky1), kx in [kx0, kx1). */
typedef struct pool_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} pool_taps;

/* The 8 (or, with a partial mask, fewer) channels from c of one output pixel. */
static inline __attribute__((always_inline)) __m256
pool_block(const int is_max, const int masked, __m256i mask, const tfl_pool_fast *pf,
           const pool_taps *t, const float *image, int32_t c) {
  const size_t C = (size_t)pf->channels, in_row = (size_t)pf->win.w.in * C;
  __m256 acc = is_max ? _mm256_set1_ps(-FLT_MAX) : _mm256_setzero_ps();
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const float *row = image + (size_t)(t->iy0 + ky) * in_row + c;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const float *p = row + (size_t)(t->ix0 + kx) * C;
      const __m256 v = masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
      /* max(v, acc) returns acc when v is NaN: a NaN never replaces the maximum. */
      acc = is_max ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
    }
  }
  if (!is_max) {
    const float count = (float)((t->ky1 - t->ky0) * (t->kx1 - t->kx0));
    acc = _mm256_div_ps(acc, _mm256_set1_ps(count));
  }
  /* max(lo, x) then min(hi, x) let NaN through, like the reference clamp. */
  return _mm256_min_ps(_mm256_set1_ps(pf->hi), _mm256_max_ps(_mm256_set1_ps(pf->lo), acc));
}

static inline __attribute__((always_inline)) void
pool_rows(const int is_max, const tfl_pool_fast *pf, const float *in, float *out, int32_t row0,
          int32_t row1) {
  const tfl_window_axis *h = &pf->win.h, *w = &pf->win.w;
  const int32_t C = pf->channels;
  const size_t image_size = (size_t)h->in * (size_t)w->in * (size_t)C;
  const __m256i all = _mm256_set1_epi32(-1);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(C % 8),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / h->out, oy = row % h->out;
    pool_taps t;
    t.iy0 = tfl_window_taps(h, oy, &t.ky0, &t.ky1);
    const float *image = in + (size_t)n * image_size;
    float *o = out + (size_t)row * (size_t)w->out * (size_t)C;
    for (int32_t ox = 0; ox < w->out; ox++, o += C) {
      t.ix0 = tfl_window_taps(w, ox, &t.kx0, &t.kx1);
      int32_t c = 0;
      for (; c + 8 <= C; c += 8)
        _mm256_storeu_ps(o + c, pool_block(is_max, 0, all, pf, &t, image, c));
      if (c < C) _mm256_maskstore_ps(o + c, tail, pool_block(is_max, 1, tail, pf, &t, image, c));
    }
  }
}

void tfl_pool_max_rows_avx2(const tfl_pool_fast *pf, const float *in, float *out, int32_t row0,
                            int32_t row1) {
  pool_rows(1, pf, in, out, row0, row1);
}

void tfl_pool_average_rows_avx2(const tfl_pool_fast *pf, const float *in, float *out,
                                int32_t row0, int32_t row1) {
  pool_rows(0, pf, in, out, row0, row1);
}
