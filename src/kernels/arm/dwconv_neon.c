/* Depthwise convolution rows with NEON (dwconv.h). A 3x3 window (stride 1 or 2, no dilation
 * along the width) runs up to seven output pixels at a time, all channels in blocks of 8 then
 * 4: each filter row's weights loaded once per run, each input column once for every pixel
 * that uses it, the SAME border columns folded into the runs without their missing taps, and
 * filter rows cut by the top or bottom border skipped. Every other pixel (other windows, the
 * last channels & 3, rows with fewer than two filter rows inside the input) walks its in-bounds
 * taps with channels in blocks of 16, then 4, then one by one. Each output sums its taps in
 * order with fused multiply-adds, then adds the bias: in every branch the same bits. */
#include <arm_neon.h>
#include <math.h>
#include <stddef.h>

#include "kernels/arm/neon_clamp.h"
#include "kernels/dwconv.h"

/* One output pixel's taps: the input pixel of tap (0, 0) (possibly in the padding) and the taps
 * that land inside the input. */
typedef struct dw_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} dw_taps;

static inline float32x4_t dw_clamp(const tfl_dwconv *dw, float32x4_t x) {
  return tfl_neon_clamp(x, vdupq_n_f32(dw->lo), vdupq_n_f32(dw->hi));
}

/* Channels [c, c + 4 * nvec) of one output pixel. */
static inline __attribute__((always_inline)) void
dw_block(const int nvec, const tfl_dwconv *dw, const dw_taps *t, const float *image,
         const tfl_dwconv_io *io, float *out, int32_t c) {
  const size_t C = (size_t)dw->channels;
  const size_t in_row = (size_t)dw->win.w.in * C;
  const int32_t dy = dw->win.h.dilation, dx = dw->win.w.dilation, kw = dw->win.w.filter;
  float32x4_t acc[4];
  for (int j = 0; j < nvec; j++) acc[j] = vdupq_n_f32(0.0f);
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const float *irow = image + (size_t)(t->iy0 + ky * dy) * in_row + c;
    const float *frow = io->filter + (size_t)ky * (size_t)kw * C + c;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const float *ip = irow + (size_t)(t->ix0 + kx * dx) * C;
      const float *fp = frow + (size_t)kx * C;
      for (int j = 0; j < nvec; j++)
        acc[j] = vfmaq_f32(acc[j], vld1q_f32(ip + 4 * j), vld1q_f32(fp + 4 * j));
    }
  }
  for (int j = 0; j < nvec; j++) {
    const float32x4_t b = io->bias ? vld1q_f32(io->bias + c + 4 * j) : vdupq_n_f32(0.0f);
    vst1q_f32(out + c + 4 * j, dw_clamp(dw, vaddq_f32(acc[j], b)));
  }
}

/* Channel c alone, in the same order as a vector lane. */
static void dw_channel(const tfl_dwconv *dw, const dw_taps *t, const float *image,
                       const tfl_dwconv_io *io, float *out, int32_t c) {
  const size_t C = (size_t)dw->channels;
  const size_t in_row = (size_t)dw->win.w.in * C;
  const int32_t dy = dw->win.h.dilation, dx = dw->win.w.dilation, kw = dw->win.w.filter;
  float acc = 0.0f;
  for (int32_t ky = t->ky0; ky < t->ky1; ky++)
    for (int32_t kx = t->kx0; kx < t->kx1; kx++)
      acc = fmaf(image[(size_t)(t->iy0 + ky * dy) * in_row + (size_t)(t->ix0 + kx * dx) * C +
                       (size_t)c],
                 io->filter[((size_t)ky * (size_t)kw + (size_t)kx) * C + (size_t)c], acc);
  out[c] = tfl_window_clamp(acc + (io->bias ? io->bias[c] : 0.0f), dw->lo, dw->hi);
}

/* Channels [c, channels) of one output pixel. */
static void dw_pixel(const tfl_dwconv *dw, const dw_taps *t, const float *image,
                     const tfl_dwconv_io *io, float *out, int32_t c) {
  const int32_t C = dw->channels;
  for (; c + 16 <= C; c += 16) dw_block(4, dw, t, image, io, out, c);
  for (; c + 4 <= C; c += 4) dw_block(1, dw, t, image, io, out, c);
  for (; c < C; c++) dw_channel(dw, t, image, io, out, c);
}

/* --- 3x3 windows: runs of output pixels, channels in blocks of 8 and 4 -------------------- */

#define DW3_UNROLL _Pragma("GCC unroll 16")

/* Channels [c, c + 4 * V) of N consecutive output pixels at stride S over NR filter rows: x is
 * the element offset (within each row) of the first pixel's tap column 0, o its output. Each
 * filter row's weights are loaded once for the run; column m, loaded once, feeds tap kx of
 * pixel (m - kx) / S; `edge` drops the columns the borders cut (never read). */
static inline __attribute__((always_inline)) void
dw3_block(const int V, const int N, const int S, const int NR, int edge, const dw3_rows *r,
          ptrdiff_t x, size_t c, float *o) {
  const ptrdiff_t C = r->C;
  float32x4_t acc[DW3_RUN][2];
  DW3_UNROLL for (int j = 0; j < N; j++) DW3_UNROLL for (int v = 0; v < V; v++)
    acc[j][v] = vdupq_n_f32(0.0f);
  DW3_UNROLL for (int ky = 0; ky < NR; ky++) {
    float32x4_t w[3][2];
    DW3_UNROLL for (int kx = 0; kx < 3; kx++) DW3_UNROLL for (int v = 0; v < V; v++)
      w[kx][v] = vld1q_f32(r->filter + (ptrdiff_t)(ky * 3 + kx) * C + (ptrdiff_t)c + 4 * v);
    const float *q = r->row[ky] + (x + (ptrdiff_t)c);
    DW3_UNROLL for (int m = 0; m < (N - 1) * S + 3; m++) {
      float32x4_t col[2] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
      int loaded = 0;
      DW3_UNROLL for (int kx = 0; kx < 3; kx++) {
        const int j = (m - kx) / S;
        if (m < kx || (m - kx) % S != 0 || j >= N) continue;
        if (dw3_cut(edge, N, j, kx)) continue;
        if (!loaded)
          DW3_UNROLL for (int v = 0; v < V; v++) col[v] = vld1q_f32(q + m * C + 4 * v);
        loaded = 1;
        DW3_UNROLL for (int v = 0; v < V; v++) acc[j][v] = vfmaq_f32(acc[j][v], col[v], w[kx][v]);
      }
    }
  }
  const float32x4_t lo = vdupq_n_f32(r->lo), hi = vdupq_n_f32(r->hi);
  DW3_UNROLL for (int v = 0; v < V; v++) {
    const float32x4_t b = r->bias ? vld1q_f32(r->bias + c + 4 * v) : vdupq_n_f32(0.0f);
    DW3_UNROLL for (int j = 0; j < N; j++)
      vst1q_f32(o + j * C + (ptrdiff_t)c + 4 * v, tfl_neon_clamp(vaddq_f32(acc[j][v], b), lo, hi));
  }
}

/* Channels [0, channels & ~3) of a run: blocks of 8, then one of 4 (the rest pixel by pixel). */
static inline __attribute__((always_inline)) void
dw3_run(const int N, const int S, const int NR, int edge, const dw3_rows *r, ptrdiff_t x,
        float *o) {
  const size_t C = (size_t)r->C;
  size_t c = 0;
  for (; c + 8 <= C; c += 8) dw3_block(2, N, S, NR, edge, r, x, c, o);
  if (c + 4 <= C) dw3_block(1, N, S, NR, edge, r, x, c, o);
}

TFL_DW3_ROW_WALKERS

/* One output row: runs over the channels in blocks of 4 where it can (a 3x3 window, two or
 * three filter rows inside the input), each other pixel and channel with its own taps. */
static void dw_row(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                   dw_taps *t, float *out_row) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const tfl_dwconv_runs *p = &dw->runs;
  const size_t C = (size_t)dw->channels, in_row = (size_t)w->in * C;
  const int32_t nr = t->ky1 - t->ky0;
  int ran = 0;
  if (dw->is_3x3 && nr >= 2 && C >= 4) {
    dw3_rows r = {{NULL, NULL, NULL}, io->filter + (size_t)t->ky0 * 3 * C, io->bias,
                  (ptrdiff_t)C, dw->lo, dw->hi};
    for (int32_t k = 0; k < nr; k++)
      r.row[k] = image + (size_t)(t->iy0 + (t->ky0 + k) * h->dilation) * in_row;
    ran = dw3_row_fns[w->stride - 1][nr - 2](w, p, &r, out_row);
  }
  const int32_t c_runs = (int32_t)(C & ~(size_t)3);
  for (int32_t ox = 0; ox < w->out; ox++) {
    const int inside = ran && ox >= p->lo && ox < p->hi;
    if (inside && c_runs == (int32_t)C) continue;
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    dw_pixel(dw, t, image, io, out_row + (size_t)ox * C, inside ? c_runs : 0);
  }
}

void tfl_dwconv_rows_neon(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
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
