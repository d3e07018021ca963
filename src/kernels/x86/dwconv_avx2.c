/* Depthwise convolution rows with AVX2 + FMA (dwconv.h).
 *
 * A 3x3 window (stride 1 or 2, no dilation along the width; any along the height) runs seven
 * output pixels at a time over all channels, in blocks of 8 (the last one masked): each filter
 * row's three weight vectors are loaded once per run and block, each input column once for
 * every pixel whose window covers it, and the seven independent sums hide the FMA latency.
 * Channels are the inner loop, so a run reads each input pixel's channels in order (the
 * prefetchers follow; walking a row per block of channels with all nine weights in registers
 * measured up to 1.6x slower on images beyond L1). The SAME border columns are folded into a
 * row's first and last runs without their missing taps, and the last run of a row moves back
 * to end at the row's end (recomputing a few pixels) instead of a shorter one. Filter rows cut
 * by the top or bottom border are skipped. Any other window, and rows too narrow for a run,
 * walk each pixel's in-bounds taps over all channels. Every output sums its in-bounds taps in
 * the reference order (filter rows, then columns) with fused multiply-adds from zero, then adds
 * the bias: all branches give the same bits. */
#include <immintrin.h>
#include <stddef.h>

#include "kernels/dwconv.h"
#include "kernels/x86/masked_avx2.h"

/* The loops over a run's pixels, columns and taps must unroll completely so the sums stay in
 * registers. */
#define DW3_UNROLL _Pragma("GCC unroll 16")

static inline __m256i dw_tail_mask(size_t C) { return tfl_avx2_lanes_below((int32_t)(C % 8)); }

/* The bias and the clamp; max(lo, x) then min(hi, x) let NaN through, like the reference. */
typedef struct dw_epilogue {
  __m256 bias, lo, hi;
} dw_epilogue;

static inline __attribute__((always_inline)) __m256 dw_finish(const dw_epilogue *e, __m256 acc) {
  return _mm256_min_ps(e->hi, _mm256_max_ps(e->lo, _mm256_add_ps(acc, e->bias)));
}

/* --- any window: one pixel, all channels, one tap at a time --------------------------------- */

/* One output pixel's taps: the input pixel of tap (0, 0) (possibly in the padding) and the taps
 * that land inside the input. */
typedef struct dw_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} dw_taps;

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
  for (c = 0; c < C; c += 8) {
    const int masked = c + 8 > C;
    const __m256i mask = masked ? tail : _mm256_set1_epi32(-1);
    const dw_epilogue e = {io->bias ? _mm256_maskload_ps(io->bias + c, mask) : _mm256_setzero_ps(),
                           _mm256_set1_ps(dw->lo), _mm256_set1_ps(dw->hi)};
    _mm256_maskstore_ps(out + c, mask, dw_finish(&e, _mm256_maskload_ps(out + c, mask)));
  }
}

static void dw_row_any(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                       dw_taps *t, float *out_row) {
  const tfl_window_axis *w = &dw->win.w;
  for (int32_t ox = 0; ox < w->out; ox++) {
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    dw_pixel(dw, t, image, io, out_row + (size_t)ox * (size_t)dw->channels);
  }
}

/* --- 3x3 windows: runs of output pixels, all channels in blocks of 8 ------------------------ */

/* A run's pixels (C floats apart) are reached as p + i * C for i < 3 (one addressing mode, with
 * C in a register) from a pointer advanced by 3 * C: hiding that pointer from the optimizer
 * stops it from keeping one pointer per pixel, more than the registers. */
#define DW3_ADVANCE(p, C) \
  do {                    \
    (p) += 3 * (C);       \
    __asm__("" : "+r"(p)); \
  } while (0)

/* Channels [c, c + 8) (the lanes of `mask` when masked) of N consecutive output pixels at
 * stride S over NR filter rows: x is the element offset (within each row) of the first pixel's
 * tap column 0, o its output. Each filter row's three weight vectors are loaded once for the
 * run; column m of the run, loaded once, feeds tap kx of pixel (m - kx) / S; `edge` drops the
 * columns the borders cut (never read). The N sums are independent chains, which hides the
 * FMA latency. */
static inline __attribute__((always_inline)) void
dw3_block(const int N, const int S, const int NR, const int masked, int edge,
          const dw3_rows *r, ptrdiff_t x, size_t c, float *o, __m256i mask) {
  const ptrdiff_t C = r->C;
  __m256 acc[DW3_RUN];
  DW3_UNROLL for (int j = 0; j < N; j++) acc[j] = _mm256_setzero_ps();
  const float *f = r->filter + c;
  DW3_UNROLL for (int ky = 0; ky < NR; ky++) {
    __m256 w[3];
    DW3_UNROLL for (int kx = 0; kx < 3; kx++) w[kx] =
        tfl_avx2_load_masked(f + kx * C, masked, mask);
    DW3_ADVANCE(f, C);
    const float *q = r->row[ky] + (x + (ptrdiff_t)c);
    DW3_UNROLL for (int m = 0; m < (N - 1) * S + 3; m++) {
      if (m % 3 == 0 && m > 0) DW3_ADVANCE(q, C);
      __m256 v = _mm256_setzero_ps();
      int loaded = 0;
      DW3_UNROLL for (int kx = 0; kx < 3; kx++) {
        const int j = (m - kx) / S;
        if (m < kx || (m - kx) % S != 0 || j >= N) continue;
        if (dw3_cut(edge, N, j, kx)) continue;
        if (!loaded) v = tfl_avx2_load_masked(q + (m % 3) * C, masked, mask);
        loaded = 1;
        acc[j] = _mm256_fmadd_ps(v, w[kx], acc[j]);
      }
    }
  }
  const dw_epilogue e = {
      r->bias ? tfl_avx2_load_masked(r->bias + c, masked, mask) : _mm256_setzero_ps(),
      _mm256_set1_ps(r->lo), _mm256_set1_ps(r->hi)};
  float *out = o + c;
  DW3_UNROLL for (int j = 0; j < N; j++) {
    if (j % 3 == 0 && j > 0) DW3_ADVANCE(out, C);
    tfl_avx2_store_masked(out + (j % 3) * C, dw_finish(&e, acc[j]), masked, mask);
  }
}

/* All channels of a run: blocks of 8 (consecutive addresses, which the prefetchers follow),
 * then a masked tail. */
static inline __attribute__((always_inline)) void
dw3_run(const int N, const int S, const int NR, int edge, const dw3_rows *r, ptrdiff_t x,
        float *o) {
  const size_t C = (size_t)r->C;
  size_t c = 0;
  for (; c + 8 <= C; c += 8) dw3_block(N, S, NR, 0, edge, r, x, c, o, _mm256_setzero_si256());
  if (c < C) dw3_block(N, S, NR, 1, edge, r, x, c, o, dw_tail_mask(C));
}

TFL_DW3_ROW_WALKERS

/* One output row: runs of whole windows where it can, each other pixel with its own taps. */
static void dw3_row_any(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                        dw_taps *t, float *out_row) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const tfl_dwconv_runs *p = &dw->runs;
  const size_t C = (size_t)dw->channels, in_row = (size_t)w->in * C;
  const int32_t nr = t->ky1 - t->ky0;
  int ran = 0;
  if (nr >= 2) {
    dw3_rows r = {{NULL, NULL, NULL}, io->filter + (size_t)t->ky0 * 3 * C, io->bias,
                  (ptrdiff_t)C, dw->lo, dw->hi};
    for (int32_t k = 0; k < nr; k++)
      r.row[k] = image + (size_t)(t->iy0 + (t->ky0 + k) * h->dilation) * in_row;
    ran = dw3_row_fns[w->stride - 1][nr - 2](w, p, &r, out_row);
  }
  for (int32_t ox = 0; ox < w->out; ox++) {
    if (ran && ox == p->lo) ox = p->hi;
    if (ox >= w->out) break;
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    dw_pixel(dw, t, image, io, out_row + (size_t)ox * C);
  }
}

void tfl_dwconv_rows_avx2(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
                          int32_t row1) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const size_t image_size = (size_t)h->in * (size_t)w->in * C;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / h->out, oy = row % h->out;
    const float *image = io->in + (size_t)n * image_size;
    float *out_row = io->out + (size_t)row * (size_t)w->out * C;
    dw_taps t;
    t.iy0 = tfl_window_taps(h, oy, &t.ky0, &t.ky1);
    if (dw->is_3x3)
      dw3_row_any(dw, io, image, &t, out_row);
    else
      dw_row_any(dw, io, image, &t, out_row);
  }
}
