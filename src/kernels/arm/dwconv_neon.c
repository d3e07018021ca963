/* Depthwise convolution rows with NEON (dwconv.h). A 3x3 window that lies wholly inside the
 * input runs with its nine filter vectors in registers, along the row; every other pixel
 * (borders, other sizes) walks its in-bounds taps with channels in blocks of 16 (four
 * accumulators, so the FMA latency is hidden), then 4, then one by one. Each output sums its
 * taps in order with fused multiply-adds, then adds the bias: in every branch the same bits. */
#include <arm_neon.h>
#include <math.h>

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

/* The 3x3 taps at p (tap (ky, kx) at p + ky * dy + kx * dx) times the filter, in tap order. */
static inline float32x4_t dw3x3_sum(const float *p, const float32x4_t *f, size_t dy, size_t dx) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      acc = vfmaq_f32(acc, vld1q_f32(p + (size_t)ky * dy + (size_t)kx * dx), f[ky * 3 + kx]);
  return acc;
}

/* Channels [0, channels & ~3) of the output pixels [ox0, ox1) of one row, whose 3x3 windows
 * start at input row iy0 and lie inside the input. */
static void dw3x3_inside(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                         int32_t iy0, float *out_row, int32_t ox0, int32_t ox1) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const size_t step = (size_t)w->stride * C, dx = (size_t)w->dilation * C;
  const size_t dy = (size_t)h->dilation * (size_t)w->in * C;
  const float *first = image + ((size_t)iy0 * (size_t)w->in +
                                (size_t)((int64_t)ox0 * w->stride - w->pad)) * C;
  for (size_t c = 0; c + 4 <= C; c += 4) {
    float32x4_t f[9];
    for (int k = 0; k < 9; k++) f[k] = vld1q_f32(io->filter + (size_t)k * C + c);
    const float32x4_t bias = io->bias ? vld1q_f32(io->bias + c) : vdupq_n_f32(0.0f);
    const float *p = first + c;
    float *o = out_row + (size_t)ox0 * C + c;
    for (int32_t ox = ox0; ox < ox1; ox++, p += step, o += C)
      vst1q_f32(o, dw_clamp(dw, vaddq_f32(dw3x3_sum(p, f, dy, dx), bias)));
  }
}

/* The output columns [*lo, *hi) whose windows have every tap inside the input (a run, since
 * windows move right with the column). */
static void dw_full_columns(const tfl_window_axis *a, int32_t *lo, int32_t *hi) {
  int32_t o = 0, first, end;
  for (; o < a->out; o++) {
    tfl_window_taps(a, o, &first, &end);
    if (first == 0 && end == a->filter) break;
  }
  *lo = o;
  for (; o < a->out; o++) {
    tfl_window_taps(a, o, &first, &end);
    if (first != 0 || end != a->filter) break;
  }
  *hi = o;
}

/* One output row; [lo, hi) are the full columns when the window is 3x3 (else empty). */
static void dw_row(const tfl_dwconv *dw, const tfl_dwconv_io *io, const float *image,
                   dw_taps *t, int32_t lo, int32_t hi, float *out_row) {
  const tfl_window_axis *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  if (t->ky0 != 0 || t->ky1 != 3 || C < 4) lo = hi = 0;
  if (lo < hi) dw3x3_inside(dw, io, image, t->iy0, out_row, lo, hi);
  const int32_t c_inside = (int32_t)(C & ~(size_t)3);
  for (int32_t ox = 0; ox < w->out; ox++) {
    const int inside = ox >= lo && ox < hi;
    if (inside && c_inside == (int32_t)C) continue;
    t->ix0 = tfl_window_taps(w, ox, &t->kx0, &t->kx1);
    dw_pixel(dw, t, image, io, out_row + (size_t)ox * C, inside ? c_inside : 0);
  }
}

void tfl_dwconv_rows_neon(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
                          int32_t row1) {
  const tfl_window_axis *h = &dw->win.h, *w = &dw->win.w;
  const size_t C = (size_t)dw->channels;
  const size_t image_size = (size_t)h->in * (size_t)w->in * C;
  int32_t lo = 0, hi = 0;
  if (h->filter == 3 && w->filter == 3) dw_full_columns(w, &lo, &hi);
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / h->out, oy = row % h->out;
    dw_taps t;
    t.iy0 = tfl_window_taps(h, oy, &t.ky0, &t.ky1);
    dw_row(dw, io, io->in + (size_t)n * image_size, &t, lo, hi,
           io->out + (size_t)row * (size_t)w->out * C);
  }
}
