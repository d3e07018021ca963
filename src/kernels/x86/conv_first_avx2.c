/* The direct first-convolution rows with AVX2 + FMA (conv_first.h). A tile is P output pixels
 * of one row times a block of V vectors of 8 output channels, P * V accumulators in registers:
 * per tap value, V weight loads and P broadcasts feed P * V fused multiply-adds. P shrinks as
 * V grows so that the accumulators, the weights and a broadcast fit the 16 ymm registers. */
#include <immintrin.h>

#include "kernels/conv_first.h"

#define CF_MAX_V (TFL_CONV_FIRST_NB / 8)

/* Pixels per tile for V vectors per pixel. */
#define CF_PIXELS(V) ((V) == 1 ? 8 : (V) == 2 ? 6 : (V) == 3 ? 4 : 3)

/* Where a tile's taps are, for its first pixel: filter rows `rows` apart by in_row (input)
 * and w_row (weights); per filter row `segs` runs of `seg_len` consecutive values, in_seg
 * apart in the input (the weights of consecutive taps follow each other); pixels `pix` apart. */
typedef struct cf_span {
  const float *in, *w;
  int32_t rows, segs, seg_len;
  size_t in_row, w_row, in_seg, pix;
} cf_span;

/* What the epilogue of a block needs. */
typedef struct cf_block {
  const float *bias;
  float *out;       /* the row's first pixel, the block's first channel */
  size_t out_pixel; /* floats between output pixels (out_c) */
  int partial;      /* the last vector holds fewer than 8 channels: masked stores */
  __m256i tail;
  __m256 lo, hi;
} cf_block;

static inline __attribute__((always_inline)) void
cf_tile(const int P, const int V, const cf_span *s, const cf_block *b, float *out) {
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

/* The last n < CF_PIXELS(V) inside pixels of a row, as one tile. */
static inline __attribute__((always_inline)) void
cf_tile_short(const int V, int n, const cf_span *s, const cf_block *b, float *out) {
  switch (n) {
#define CF_SHORT(N)                                        \
  case N:                                                  \
    if (N < CF_PIXELS(V)) cf_tile(N, V, s, b, out);        \
    return;
    CF_SHORT(1)
    CF_SHORT(2)
    CF_SHORT(3)
    CF_SHORT(4)
    CF_SHORT(5)
    CF_SHORT(6)
    CF_SHORT(7)
#undef CF_SHORT
    default:
      return;
  }
}

/* One border pixel alone, over its taps inside the input's width. */
static inline __attribute__((always_inline)) void
cf_border_pixel(const int V, const tfl_conv_first *cf, const cf_span *row, const cf_block *b,
                int32_t ox) {
  const tfl_window_axis *w = &cf->win.w;
  int32_t kx0, kx1;
  const int32_t ix0 = tfl_window_taps(w, ox, &kx0, &kx1);
  cf_span s = *row;
  if (kx1 <= kx0) {
    s.segs = 0;
  } else {
    const size_t c = (size_t)cf->in_c;
    s.in += (ptrdiff_t)(ix0 + kx0 * w->dilation) * (ptrdiff_t)c;
    s.w += (size_t)kx0 * c * 8 * (size_t)V;
    s.segs = w->dilation == 1 ? 1 : kx1 - kx0;
    s.seg_len = (int32_t)((w->dilation == 1 ? (size_t)(kx1 - kx0) : 1) * c);
  }
  cf_tile(1, V, &s, b, b->out + (size_t)ox * b->out_pixel);
}

/* One output row of one block: `row` spans the inside columns' taps from column 0 of the
 * input (its `in` is the input row of the first filter row inside). */
static inline __attribute__((always_inline)) void
cf_block_row(const int V, const tfl_conv_first *cf, const cf_span *row, const cf_block *b) {
  const tfl_window_axis *w = &cf->win.w;
  const int P = CF_PIXELS(V);
  int32_t ox = 0;
  for (; ox < cf->ox_lo; ox++) cf_border_pixel(V, cf, row, b, ox);
  if (ox < cf->ox_hi) {
    cf_span s = *row;
    s.in += (size_t)(ox * w->stride - w->pad) * (size_t)cf->in_c;
    for (; ox + P <= cf->ox_hi; ox += P, s.in += (size_t)P * s.pix)
      cf_tile(P, V, &s, b, b->out + (size_t)ox * b->out_pixel);
    if (ox < cf->ox_hi) cf_tile_short(V, cf->ox_hi - ox, &s, b, b->out + (size_t)ox * b->out_pixel);
    ox = cf->ox_hi;
  }
  for (; ox < w->out; ox++) cf_border_pixel(V, cf, row, b, ox);
}

_Static_assert(CF_MAX_V == 4, "cf_block_row_v instantiates blocks of 1 to 4 vectors");

static void cf_block_row_v(int V, const tfl_conv_first *cf, const cf_span *row,
                           const cf_block *b) {
  switch (V) {
    case 1: cf_block_row(1, cf, row, b); return;
    case 2: cf_block_row(2, cf, row, b); return;
    case 3: cf_block_row(3, cf, row, b); return;
    default: cf_block_row(4, cf, row, b); return;
  }
}

/* The span of output row oy of `image` (its batch's image), from input column 0; *ky0 is
 * its first filter row inside the input. Column offsets and the block's weights are added
 * later. */
static cf_span cf_row_span(const tfl_conv_first *cf, const float *image, int32_t oy,
                           int32_t *ky0) {
  const tfl_window_axis *h = &cf->win.h, *w = &cf->win.w;
  const size_t c = (size_t)cf->in_c, in_row = (size_t)w->in * c;
  int32_t ky1;
  const int32_t iy0 = tfl_window_taps(h, oy, ky0, &ky1);
  cf_span s;
  s.rows = ky1 - *ky0;
  s.in = s.rows > 0 ? image + (size_t)(iy0 + *ky0 * h->dilation) * in_row : image;
  s.w = NULL;
  s.in_row = (size_t)h->dilation * in_row;
  s.w_row = 0;
  s.segs = w->dilation == 1 ? 1 : w->filter;
  s.seg_len = (int32_t)((w->dilation == 1 ? (size_t)w->filter : 1) * c);
  s.in_seg = (size_t)w->dilation * c;
  s.pix = (size_t)w->stride * c;
  return s;
}

void tfl_conv_first_rows_avx2(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1) {
  const tfl_window *win = &cf->win;
  const size_t image = (size_t)win->h.in * (size_t)win->w.in * (size_t)cf->in_c;
  const size_t out_row = (size_t)win->w.out * (size_t)cf->out_c;
  const size_t filter_row = (size_t)win->w.filter * (size_t)cf->in_c;
  cf_block b;
  b.out_pixel = (size_t)cf->out_c;
  b.lo = _mm256_set1_ps(cf->lo);
  b.hi = _mm256_set1_ps(cf->hi);
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / win->h.out, oy = row % win->h.out;
    int32_t ky0;
    const cf_span span = cf_row_span(cf, in + (size_t)n * image, oy, &ky0);
    const float *w = cf->weights;
    for (int32_t oc0 = 0; oc0 < cf->out_c; oc0 += TFL_CONV_FIRST_NB) {
      const int32_t left = cf->out_c - oc0;
      const int32_t channels = left < TFL_CONV_FIRST_NB ? left : TFL_CONV_FIRST_NB;
      const int V = (channels + 7) / 8;
      const size_t width = 8 * (size_t)V;
      cf_span s = span;
      s.w_row = filter_row * width;
      s.w = w + (size_t)ky0 * s.w_row;
      b.bias = cf->bias + oc0;
      b.out = out + (size_t)row * out_row + (size_t)oc0;
      b.partial = channels % 8 != 0;
      b.tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(channels % 8),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      cf_block_row_v(V, cf, &s, &b);
      w += width * (size_t)cf->k;
    }
  }
}
