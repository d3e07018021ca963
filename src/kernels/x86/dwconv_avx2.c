/* Depthwise convolution rows with AVX2 + FMA. A 3x3 window that lies wholly inside the input
 * runs with its nine filter vectors in registers, along the row; every other
 * pixel (borders, other sizes) walks its in-bounds taps with channels in blocks of 32 (four
 * accumulators, so the FMA latency is hidden), then 8, then a masked tail. */
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

/* Channels [c, c + 8 * nvec) of one output pixel; with nvec 0, the lanes of `mask` from c. */
static inline __attribute__((always_inline)) void
dw_block(const int nvec, __m256i mask, const tfl_dwconv *dw, const dw_taps *t,
         const float *image, const float *filter, const float *bias, float *out, int32_t c) {
  const int32_t C = dw->channels;
  const size_t in_row = (size_t)dw->win.w.in * (size_t)C;
  const int32_t dy = dw->win.h.dilation, dx = dw->win.w.dilation, kw = dw->win.w.filter;
  __m256 acc[4];
  for (int j = 0; j < (nvec ? nvec : 1); j++) acc[j] = _mm256_setzero_ps();
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const float *irow = image + (size_t)(t->iy0 + ky * dy) * in_row + c;
    const float *frow = filter + (size_t)ky * (size_t)kw * (size_t)C + c;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const float *ip = irow + (size_t)(t->ix0 + kx * dx) * (size_t)C;
      const float *fp = frow + (size_t)kx * (size_t)C;
      if (nvec == 0) {
        acc[0] = _mm256_fmadd_ps(_mm256_maskload_ps(ip, mask), _mm256_maskload_ps(fp, mask),
                                 acc[0]);
        continue;
      }
      for (int j = 0; j < nvec; j++)
        acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8 * j), _mm256_loadu_ps(fp + 8 * j),
                                 acc[j]);
    }
  }
  if (nvec == 0) {
    const __m256 b = bias ? _mm256_maskload_ps(bias + c, mask) : _mm256_setzero_ps();
    _mm256_maskstore_ps(out + c, mask, dw_clamp(dw, _mm256_add_ps(acc[0], b)));
    return;
  }
  for (int j = 0; j < nvec; j++) {
    const __m256 b = bias ? _mm256_loadu_ps(bias + c + 8 * j) : _mm256_setzero_ps();
    _mm256_storeu_ps(out + c + 8 * j, dw_clamp(dw, _mm256_add_ps(acc[j], b)));
  }
}

/* Channels [c, channels) of one output pixel. */
static void dw_pixel(const tfl_dwconv *dw, const dw_taps *t, const float *image,
                     const tfl_dwconv_io *io, float *out, int32_t c) {
  const int32_t C = dw->channels;
  const __m256i none = _mm256_setzero_si256();
  for (; c + 32 <= C; c += 32) dw_block(4, none, dw, t, image, io->filter, io->bias, out, c);
  for (; c + 8 <= C; c += 8) dw_block(1, none, dw, t, image, io->filter, io->bias, out, c);
  if (c < C) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(C - c),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    dw_block(0, mask, dw, t, image, io->filter, io->bias, out, c);
  }
}

/* The 3x3 taps at p (tap (ky, kx) at p + ky * dy + kx * dx) times the filter, in tap order. */
static inline __m256 dw3x3_sum(const float *p, const __m256 *f, size_t dy, size_t dx) {
  __m256 acc = _mm256_setzero_ps();
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + (size_t)ky * dy + (size_t)kx * dx),
                            f[ky * 3 + kx], acc);
  return acc;
}

/* Channels [0, channels & ~7) of the output pixels [ox0, ox1) of one row, whose 3x3 windows
 * start at input row iy0 and lie inside the input. Consecutive pixels are independent chains
 * of FMAs, which the core overlaps. */
static void dw3x3_inside(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                         int32_t iy0, float *out_row, int32_t ox0, int32_t ox1) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const size_t step = (size_t)w->stride * C, dx = (size_t)w->dilation * C;
  const size_t dy = (size_t)h->dilation * (size_t)w->in * C;
  const float *first = image + ((size_t)iy0 * (size_t)w->in +
                                (size_t)((int64_t)ox0 * w->stride - w->pad)) * C;
  for (size_t c = 0; c + 8 <= C; c += 8) {
    __m256 f[9];
    for (int k = 0; k < 9; k++) f[k] = _mm256_loadu_ps(io->filter + (size_t)k * C + c);
    const __m256 bias = io->bias ? _mm256_loadu_ps(io->bias + c) : _mm256_setzero_ps();
    const float *p = first + c;
    float *o = out_row + (size_t)ox0 * C + c;
    for (int32_t ox = ox0; ox < ox1; ox++, p += step, o += C)
      _mm256_storeu_ps(o, dw_clamp(dw, _mm256_add_ps(dw3x3_sum(p, f, dy, dx), bias)));
  }
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

/* One output row: the inside columns of a full-height 3x3 window take dw3x3_inside. */
static void dw_row(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                   dw_taps *t, float *out_row) {
  const tfl_window_axis *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  int32_t lo = 0, hi = 0;
  if (w->filter == 3 && dw->win.h.filter == 3 && t->ky0 == 0 && t->ky1 == 3 && C >= 8)
    dw_inside_columns(w, &lo, &hi);
  if (lo < hi) dw3x3_inside(dw, io, image, t->iy0, out_row, lo, hi);
  const int32_t c_inside = (int32_t)(C & ~(size_t)7);
  for (int32_t ox = 0; ox < w->out; ox++) {
    const int inside = ox >= lo && ox < hi;
    if (inside && c_inside == (int32_t)C) continue;
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    dw_pixel(dw, t, image, io, out_row + (size_t)ox * C, inside ? c_inside : 0);
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
