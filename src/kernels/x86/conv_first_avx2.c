/* The direct first-convolution rows with AVX2 + FMA (conv_first.h). A tile is P output pixels
 * of one row times a block of V vectors of 8 output channels, P * V accumulators in registers:
 * per tap value, V weight loads and P broadcasts feed P * V fused multiply-adds. P shrinks as
 * V grows so that the accumulators, the weights and a broadcast fit the 16 ymm registers. */
#include <immintrin.h>

#include "kernels/conv_first.h"

#define CF_MAX_V TFL_CONV_FIRST_GROUPS /* 8-float vectors of a full block */

/* Pixels per tile for V vectors per pixel. */
#define CF_PIXELS(V) ((V) == 1 ? 8 : (V) == 2 ? 6 : (V) == 3 ? 4 : 3)

/* What the epilogue of a block needs. */
typedef struct cf_block {
  const float *bias;
  size_t out_pixel; /* floats between output pixels (out_c) */
  int partial;      /* the last vector holds fewer than 8 channels: masked stores */
  __m256i tail;
  __m256 lo, hi;
} cf_block;

static inline __attribute__((always_inline)) void
cf_tile(const int P, const int V, const tfl_conv_first_span *s, const cf_block *b, float *out) {
  const size_t width = 8 * (size_t)V;
  __m256 acc[CF_PIXELS(1)][CF_MAX_V]; /* the most pixels and vectors a tile has */
  for (int i = 0; i < P; i++)
    for (int v = 0; v < V; v++) acc[i][v] = _mm256_setzero_ps();
  for (int32_t r = 0; r < s->rows; r++) {
    const float *in = s->in + (size_t)r * s->in_row;
    const float *w = s->w + (size_t)r * s->w_row;
    for (int32_t g = 0; g < s->segs; g++, in += s->in_seg) {
      for (int32_t q = 0; q < s->seg_len; q++, w += width) {
        __m256 wv[CF_MAX_V];
        for (int v = 0; v < V; v++) wv[v] = _mm256_load_ps(w + 8 * v);
        for (int i = 0; i < P; i++) {
          const __m256 x = _mm256_broadcast_ss(in + (size_t)i * s->pix + q);
          for (int v = 0; v < V; v++) acc[i][v] = _mm256_fmadd_ps(x, wv[v], acc[i][v]);
        }
      }
    }
  }
  /* Read once: the stores below could alias *b as far as the compiler knows. */
  const __m256 lo = b->lo, hi = b->hi;
  const __m256i tail = b->tail;
  const int partial = b->partial;
  const size_t out_pixel = b->out_pixel;
  __m256 bias[CF_MAX_V];
  for (int v = 0; v < V; v++) bias[v] = _mm256_load_ps(b->bias + 8 * v);
  /* max(lo, x) and min(hi, x) return x when x is NaN, as the reference clamp does. */
  for (int i = 0; i < P; i++, out += out_pixel) {
    for (int v = 0; v < V; v++) {
      const __m256 y = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(acc[i][v], bias[v])));
      if (v == V - 1 && partial)
        _mm256_maskstore_ps(out + 8 * v, tail, y);
      else
        _mm256_storeu_ps(out + 8 * v, y);
    }
  }
}

TFL_CONV_FIRST_RUN_LOOPS

_Static_assert(CF_MAX_V == 4 && CF_PIXELS(1) == 8,
               "cf_run instantiates 1 to 4 vectors and 1 to 8 pixels");

static void cf_run(const tfl_conv_first_run *r, const cf_block *b) {
  switch (r->groups) {
    case 1: cf_run_v(1, r, b); return;
    case 2: cf_run_v(2, r, b); return;
    case 3: cf_run_v(3, r, b); return;
    default: cf_run_v(4, r, b); return;
  }
}

void tfl_conv_first_rows_avx2(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1) {
  static const int32_t full[CF_MAX_V + 1] = {0, CF_PIXELS(1), CF_PIXELS(2), CF_PIXELS(3),
                                             CF_PIXELS(4)}; /* pixels of a full tile */
  cf_block b;
  b.out_pixel = (size_t)cf->out_c;
  b.lo = _mm256_set1_ps(cf->lo);
  b.hi = _mm256_set1_ps(cf->hi);
  for (tfl_conv_first_cursor k = tfl_conv_first_start(cf, in, out, row0, row1, full);
       tfl_conv_first_next(&k);) {
    const int32_t rest = k.run.channels % 8;
    b.bias = k.run.bias;
    b.partial = rest != 0;
    b.tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest),
                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    cf_run(&k.run, &b);
  }
}
