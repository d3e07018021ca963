/* Depthwise convolution rows with AVX2 + FMA. A 3x3 window (stride 1 or 2, no dilation along
 * the width) runs up to eight output pixels at a time, each input column loaded once for
 * all of them, channels in blocks of 8 (a masked tail); filter rows cut by the top or bottom
 * border are skipped, and the pixels at the left and right borders run alone without their
 * missing column. Every other pixel adds its in-bounds taps one at a time over all
 * channels. */
#include <immintrin.h>

#include "kernels/dwconv.h"

/* One output pixel's taps: the input pixel of tap (0, 0) (possibly in the padding) and the taps
 * that land inside the input. */
typedef struct dw_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} dw_taps;

/* max(lo, x) then min(hi, x) let NaN through, like the reference clamp. */
static inline __m256 dw_clamp(const tfl_dwconv *dw, __m256 x) {
  return _mm256_min_ps(_mm256_set1_ps(dw->hi), _mm256_max_ps(_mm256_set1_ps(dw->lo), x));
}

static inline __m256i dw_tail_mask(size_t C) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(C % 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* out += in * f over C channels (the last C % 8 through masks). */
static inline void dw_tap(const float *in, const float *f, float *out, size_t C,
                          __m256i tail) {
  size_t c = 0;
  for (; c + 8 <= C; c += 8)
    _mm256_storeu_ps(out + c, _mm256_fmadd_ps(_mm256_loadu_ps(in + c), _mm256_loadu_ps(f + c),
                                              _mm256_loadu_ps(out + c)));
  if (c < C)
    _mm256_maskstore_ps(out + c, tail,
                        _mm256_fmadd_ps(_mm256_maskload_ps(in + c, tail),
                                        _mm256_maskload_ps(f + c, tail),
                                        _mm256_maskload_ps(out + c, tail)));
}

/* All channels of one output pixel, any window: the sums build up in `out`, one in-bounds
 * tap at a time over all channels (long loops, where a loop over a pixel's few taps per
 * channel block would mispredict at every end), then the bias and the clamp. */
static void dw_pixel(const tfl_dwconv *dw, const dw_taps *t, const float *image,
                     const tfl_dwconv_io *io, float *out) {
  const size_t C = (size_t)dw->channels;
  const size_t in_row = (size_t)dw->win.w.in * C, kw = (size_t)dw->win.w.filter;
  const int32_t dy = dw->win.h.dilation, dx = dw->win.w.dilation;
  const __m256i tail = dw_tail_mask(C);
  size_t c = 0;
  for (; c + 8 <= C; c += 8) _mm256_storeu_ps(out + c, _mm256_setzero_ps());
  if (c < C) _mm256_maskstore_ps(out + c, tail, _mm256_setzero_ps());
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const float *irow = image + (size_t)(t->iy0 + ky * dy) * in_row;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++)
      dw_tap(irow + (size_t)(t->ix0 + kx * dx) * C, io->filter + ((size_t)ky * kw + (size_t)kx) * C,
             out, C, tail);
  }
  const __m256 zero = _mm256_setzero_ps();
  for (c = 0; c + 8 <= C; c += 8) {
    const __m256 b = io->bias ? _mm256_loadu_ps(io->bias + c) : zero;
    _mm256_storeu_ps(out + c, dw_clamp(dw, _mm256_add_ps(_mm256_loadu_ps(out + c), b)));
  }
  if (c < C) {
    const __m256 b = io->bias ? _mm256_maskload_ps(io->bias + c, tail) : zero;
    _mm256_maskstore_ps(out + c, tail,
                        dw_clamp(dw, _mm256_add_ps(_mm256_maskload_ps(out + c, tail), b)));
  }
}

/* Where a 3x3 window's channels are: rows `dy` floats apart, pixels C apart (no dilation
 * along the width); ky0, ky1: the filter rows inside the input. */
typedef struct dw3x3_geom {
  size_t dy, C;
  int32_t ky0, ky1;
} dw3x3_geom;

static inline __attribute__((always_inline)) __m256 dw_load(const float *p, int masked,
                                                            __m256i mask) {
  return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

/* N consecutive output pixels at stride S, 8 channels (the lanes of `mask` when masked),
 * over the taps [KX0, KX1) of each filter row (all three but at a left or right border): p is
 * the input under tap (0, 0) of the first pixel, f the filter, o the first's output, all at
 * the block's first channel. Each input column is loaded once and used by every pixel whose
 * window covers it; each pixel still sums its taps in the reference order, and the N
 * independent sums hide the FMA latency. */
static inline __attribute__((always_inline)) void
dw3x3_pixels(const int N, const int S, const int KX0, const int KX1, const dw3x3_geom *g,
             const float *p, const float *f, const float *bias, __m256 lo, __m256 hi, float *o,
             int masked, __m256i mask) {
  __m256 acc[8];
  for (int j = 0; j < N; j++) acc[j] = _mm256_setzero_ps();
  for (int32_t ky = g->ky0; ky < g->ky1; ky++) {
    __m256 fk[3];
    for (int kx = KX0; kx < KX1; kx++)
      fk[kx] = dw_load(f + (size_t)(ky * 3 + kx) * g->C, masked, mask);
    const float *q = p + (size_t)ky * g->dy + (size_t)KX0 * g->C;
    for (int m = KX0; m < (N - 1) * S + KX1; m++, q += g->C) {
      const __m256 v = dw_load(q, masked, mask);
      for (int kx = KX0; kx < KX1; kx++) {
        const int j = (m - kx) / S;
        if (m >= kx && (m - kx) % S == 0 && j < N) acc[j] = _mm256_fmadd_ps(v, fk[kx], acc[j]);
      }
    }
  }
  const __m256 b = bias ? dw_load(bias, masked, mask) : _mm256_setzero_ps();
  for (int j = 0; j < N; j++) {
    const __m256 y = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(acc[j], b)));
    if (masked)
      _mm256_maskstore_ps(o + (size_t)j * g->C, mask, y);
    else
      _mm256_storeu_ps(o + (size_t)j * g->C, y);
  }
}

/* All channels of N consecutive output pixels: blocks of 8, then a masked tail. */
static inline __attribute__((always_inline)) void
dw3x3_channels(const int N, const int S, const int KX0, const int KX1, const tfl_dwconv *dw,
               const tfl_dwconv_io *io, const dw3x3_geom *g, const float *p, float *o) {
  const __m256 lo = _mm256_set1_ps(dw->lo), hi = _mm256_set1_ps(dw->hi);
  const float *bias = io->bias;
  size_t c = 0;
  for (; c + 8 <= g->C; c += 8)
    dw3x3_pixels(N, S, KX0, KX1, g, p + c, io->filter + c, bias ? bias + c : NULL, lo, hi,
                 o + c, 0, _mm256_setzero_si256());
  if (c < g->C)
    dw3x3_pixels(N, S, KX0, KX1, g, p + c, io->filter + c, bias ? bias + c : NULL, lo, hi,
                 o + c, 1, dw_tail_mask(g->C));
}

/* `count` output pixels at stride S with whole windows along the width, eight, then four,
 * then one at a time. Channels are the inner loop: walking the row once per block of
 * channels measured slower. */
static inline __attribute__((always_inline)) void
dw3x3_run(const int S, const tfl_dwconv *dw, const tfl_dwconv_io *io, const dw3x3_geom *g,
          const float *p, float *o, int32_t count) {
  int32_t i = 0;
  for (; i + 8 <= count; i += 8, p += 8 * S * g->C, o += 8 * g->C)
    dw3x3_channels(8, S, 0, 3, dw, io, g, p, o);
  for (; i + 4 <= count; i += 4, p += 4 * S * g->C, o += 4 * g->C)
    dw3x3_channels(4, S, 0, 3, dw, io, g, p, o);
  for (; i < count; i++, p += S * g->C, o += g->C) dw3x3_channels(1, S, 0, 3, dw, io, g, p, o);
}

/* Output columns [*lo, *hi) whose windows lie inside the input along the axis. */
static void dw_inside_columns(const tfl_window_axis *a, int32_t *lo, int32_t *hi) {
  const int64_t last_tap = (int64_t)(a->filter - 1) * a->dilation;
  const int64_t first = (a->pad + a->stride - 1) / a->stride;
  const int64_t room = (int64_t)a->in - 1 - last_tap + a->pad;
  int64_t end = room < 0 ? 0 : room / a->stride + 1;
  if (end > a->out) end = a->out;
  *lo = (int32_t)(first < end ? first : end);
  *hi = (int32_t)end;
}

/* One output row. A 3x3 window with stride 1 or 2 and no dilation along the width takes the
 * dw3x3 kernels: runs of whole windows, and windows cut by one tap at the left or right; any
 * other pixel walks its taps. */
static void dw_row(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                   dw_taps *t, float *out_row) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const int is_3x3 = w->filter == 3 && h->filter == 3 && w->dilation == 1 &&
                     (w->stride == 1 || w->stride == 2);
  const dw3x3_geom g = {(size_t)h->dilation * (size_t)w->in * C, C, t->ky0, t->ky1};
  int32_t lo = 0, hi = 0;
  if (is_3x3) dw_inside_columns(w, &lo, &hi);
  if (lo < hi) {
    const float *p = image + ((int64_t)t->iy0 * w->in + (int64_t)lo * w->stride - w->pad) *
                                 (int64_t)C;
    if (w->stride == 1)
      dw3x3_run(1, dw, io, &g, p, out_row + (size_t)lo * C, hi - lo);
    else
      dw3x3_run(2, dw, io, &g, p, out_row + (size_t)lo * C, hi - lo);
  }
  for (int32_t ox = 0; ox < w->out; ox++) {
    if (ox == lo && lo < hi) ox = hi;
    if (ox >= w->out) break;
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    float *o = out_row + (size_t)ox * C;
    const float *p = image + ((int64_t)t->iy0 * w->in + t->ix0) * (int64_t)C;
    if (is_3x3 && t->kx0 == 1 && t->kx1 == 3)
      dw3x3_channels(1, 1, 1, 3, dw, io, &g, p, o);
    else if (is_3x3 && t->kx0 == 0 && t->kx1 == 2)
      dw3x3_channels(1, 1, 0, 2, dw, io, &g, p, o);
    else
      dw_pixel(dw, t, image, io, o);
  }
}

void tfl_dwconv_rows_avx2(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
                          int32_t row1) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const size_t image_size = (size_t)h->in * (size_t)w->in * C;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / h->out, oy = row % h->out;
    dw_taps t;
    t.iy0 = tfl_window_taps(h, oy, &t.ky0, &t.ky1);
    dw_row(dw, io, io->in + (size_t)n * image_size, &t,
           io->out + (size_t)row * (size_t)w->out * C);
  }
}
