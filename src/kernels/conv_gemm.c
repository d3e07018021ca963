/* CONV_2D as a GEMM over an indirection buffer (see conv_gemm.h). */
#include "kernels/conv_gemm.h"

#include <stdlib.h>
#include <string.h>

int tfl_conv_gemm_supports(tfl_cpu_level level, const tfl_window *win, int32_t in_c,
                           int32_t groups) {
  const int64_t taps = (int64_t)win->h.filter * win->w.filter;
  return level != TFL_CPU_SCALAR && groups == 1 && taps <= TFL_GEMM_MAX_TAPS &&
         taps * in_c <= INT32_MAX;
}

void tfl_conv_gemm_free(tfl_conv_gemm *cg) {
  tfl_gemm_weights_free(&cg->w);
  tfl_winograd_free(&cg->wg);
  free(cg->zeros);
  memset(cg, 0, sizeof(*cg));
}

static int is_pointwise(const tfl_window *win) {
  return win->h.filter == 1 && win->w.filter == 1 && win->h.stride == 1 &&
         win->w.stride == 1 && win->h.pad == 0 && win->w.pad == 0;
}

/* Some window sticks out of the input on the left or the right. */
static int has_side_padding(const tfl_window_axis *w) {
  return w->pad > 0 || (int64_t)(w->out - 1) * w->stride + w->filter > w->in;
}

tfl_status tfl_conv_gemm_prepare(tfl_conv_gemm *cg, tfl_cpu_level level, const tfl_window *win,
                                 int32_t batches, int32_t in_c, int32_t out_c,
                                 const float *filter, const float *bias) {
  tfl_conv_gemm_free(cg);
  if (tfl_winograd_supports(level, win, in_c, out_c, 1)) {
    if (tfl_winograd_prepare(&cg->wg, level, win, batches, in_c, out_c, filter, bias) != TFL_OK)
      return TFL_OUT_OF_MEMORY;
    cg->winograd = 1;
    return TFL_OK;
  }
  const size_t filter_row = (size_t)win->w.filter * (size_t)in_c;
  cg->zeros = calloc(filter_row ? filter_row : 1, sizeof(float));
  const int32_t k = win->h.filter * win->w.filter * in_c;
  if (!cg->zeros || tfl_gemm_pack(&cg->w, level, filter, bias, out_c, k) != TFL_OK) {
    tfl_conv_gemm_free(cg);
    return TFL_OUT_OF_MEMORY;
  }
  cg->win = *win;
  cg->batches = batches;
  cg->in_c = in_c;
  cg->out_c = out_c;
  cg->row_pieces = win->w.dilation == 1;
  return TFL_OK;
}

size_t tfl_conv_gemm_scratch_bytes(const tfl_conv_gemm *cg, int threads) {
  if (cg->winograd) return tfl_winograd_scratch_bytes(&cg->wg, threads);
  if (!cg->row_pieces || is_pointwise(&cg->win) || !has_side_padding(&cg->win.w)) return 0;
  return (size_t)threads * TFL_GEMM_MR * (size_t)cg->w.k * sizeof(float);
}

typedef struct conv_rows {
  const tfl_conv_gemm *cg;
  const float *in;
} conv_rows;

/* An output pixel: image n, row oy, column ox. A tile's pixels are consecutive, so only its
 * first one costs divisions. */
typedef struct conv_pos {
  int32_t n, oy, ox;
} conv_pos;

static conv_pos conv_pos_of(const tfl_conv_gemm *cg, int32_t p) {
  const int32_t pixels = cg->win.h.out * cg->win.w.out;
  const conv_pos pos = {p / pixels, (p % pixels) / cg->win.w.out, p % cg->win.w.out};
  return pos;
}

static void conv_pos_next(const tfl_conv_gemm *cg, conv_pos *pos) {
  if (++pos->ox < cg->win.w.out) return;
  pos->ox = 0;
  if (++pos->oy < cg->win.h.out) return;
  pos->oy = 0;
  pos->n++;
}

static const float *conv_image(const conv_rows *r, const conv_pos *pos) {
  const tfl_conv_gemm *cg = r->cg;
  return r->in + (size_t)pos->n * (size_t)cg->win.h.in * (size_t)cg->win.w.in * (size_t)cg->in_c;
}

/* Tap mode (dilation along the width): for every tap t of the output pixel at pos,
 * out[t * TFL_GEMM_MR] = the input pixel under the tap, or zeros for a tap in the padding. */
static void conv_pixel_taps(const conv_rows *r, const conv_pos *pos, const float **out) {
  const tfl_conv_gemm *cg = r->cg;
  const tfl_window_axis *h = &cg->win.h, *w = &cg->win.w;
  const int32_t iy0 = pos->oy * h->stride - h->pad, ix0 = pos->ox * w->stride - w->pad;
  const float *image = conv_image(r, pos);
  for (int32_t ky = 0; ky < h->filter; ky++) {
    const int32_t iy = iy0 + ky * h->dilation;
    const int row_inside = iy >= 0 && iy < h->in;
    for (int32_t kx = 0; kx < w->filter; kx++, out += TFL_GEMM_MR) {
      const int32_t ix = ix0 + kx * w->dilation;
      *out = row_inside && ix >= 0 && ix < w->in
                 ? image + ((size_t)iy * (size_t)w->in + (size_t)ix) * (size_t)cg->in_c
                 : cg->zeros;
    }
  }
}

static void conv_taps_fn(const void *arg, int32_t row, int mr, float *scratch,
                         const float **ptrs) {
  const conv_rows *r = arg;
  conv_pos pos = conv_pos_of(r->cg, row);
  for (int i = 0; i < mr; i++, conv_pos_next(r->cg, &pos)) conv_pixel_taps(r, &pos, ptrs + i);
}

static void copy_floats(float *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

static void zero_floats(float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = 0.0f;
}

/* Row mode (dilation 1 along the width): a filter row's taps read kw * in_c consecutive
 * input values, so each is one piece: for every filter row ky of the output pixel at pos,
 * out[ky * TFL_GEMM_MR] = those values in the input, or zeros for a row in the padding, or,
 * for a window sticking out at the side, a copy in `scratch` (kh pieces) with the missing taps
 * zeroed. */
static void conv_pixel_rows(const conv_rows *r, const conv_pos *pos, float *scratch,
                            const float **out) {
  const tfl_conv_gemm *cg = r->cg;
  const tfl_window_axis *h = &cg->win.h, *w = &cg->win.w;
  const size_t in_c = (size_t)cg->in_c, piece = (size_t)w->filter * in_c;
  const int32_t iy0 = pos->oy * h->stride - h->pad, ix0 = pos->ox * w->stride - w->pad;
  const int inside = ix0 >= 0 && ix0 <= w->in - w->filter;
  const float *image = conv_image(r, pos);
  for (int32_t ky = 0; ky < h->filter; ky++, out += TFL_GEMM_MR) {
    const int32_t iy = iy0 + ky * h->dilation;
    if (iy < 0 || iy >= h->in) {
      *out = cg->zeros;
      continue;
    }
    const float *row = image + (size_t)iy * (size_t)w->in * in_c;
    if (inside) {
      *out = row + (size_t)ix0 * in_c;
      continue;
    }
    int32_t kx0, kx1;
    tfl_window_taps(w, pos->ox, &kx0, &kx1);
    float *dst = scratch + (size_t)ky * piece;
    zero_floats(dst, (size_t)kx0 * in_c);
    copy_floats(dst + (size_t)kx0 * in_c, row + (size_t)(ix0 + kx0) * in_c,
                (size_t)(kx1 - kx0) * in_c);
    zero_floats(dst + (size_t)kx1 * in_c, (size_t)(w->filter - kx1) * in_c);
    *out = dst;
  }
}

/* Row mode for a tile whose pixels lie in one output row, every window inside the input
 * horizontally (the common case): the pieces of pixel i are those of pixel 0 moved by i
 * strides. */
static int conv_tile_rows(const conv_rows *r, const conv_pos *pos, int mr, const float **ptrs) {
  const tfl_conv_gemm *cg = r->cg;
  const tfl_window_axis *h = &cg->win.h, *w = &cg->win.w;
  const int32_t ix0 = pos->ox * w->stride - w->pad;
  const int32_t ix_last = ix0 + (mr - 1) * w->stride;
  if (pos->ox + mr > w->out || ix0 < 0 || ix_last > w->in - w->filter) return 0;
  const size_t in_c = (size_t)cg->in_c, step = (size_t)w->stride * in_c;
  const float *image = conv_image(r, pos);
  const int32_t iy0 = pos->oy * h->stride - h->pad;
  for (int32_t ky = 0; ky < h->filter; ky++, ptrs += TFL_GEMM_MR) {
    const int32_t iy = iy0 + ky * h->dilation;
    if (iy < 0 || iy >= h->in) {
      for (int i = 0; i < mr; i++) ptrs[i] = cg->zeros;
      continue;
    }
    const float *p = image + ((size_t)iy * (size_t)w->in + (size_t)ix0) * in_c;
    for (int i = 0; i < mr; i++, p += step) ptrs[i] = p;
  }
  return 1;
}

static void conv_rows_fn(const void *arg, int32_t row, int mr, float *scratch,
                         const float **ptrs) {
  const conv_rows *r = arg;
  const size_t k = (size_t)r->cg->w.k;
  conv_pos pos = conv_pos_of(r->cg, row);
  if (conv_tile_rows(r, &pos, mr, ptrs)) return;
  for (int i = 0; i < mr; i++, conv_pos_next(r->cg, &pos))
    conv_pixel_rows(r, &pos, scratch ? scratch + (size_t)i * k : NULL, ptrs + i);
}

void tfl_conv_gemm_eval_residual(tfl_context *ctx, const tfl_conv_gemm *cg, const float *in,
                                 float *out, void *scratch, float lo, float hi,
                                 const tfl_gemm_residual *residual) {
  if (cg->winograd) {
    tfl_winograd_eval(ctx, &cg->wg, in, out, scratch, lo, hi, residual);
    return;
  }
  const int32_t m = cg->batches * cg->win.h.out * cg->win.w.out;
  if (is_pointwise(&cg->win)) {
    tfl_gemm_matrix_residual(ctx, &cg->w, in, (size_t)cg->in_c, m, out, (size_t)cg->out_c, lo,
                             hi, residual);
    return;
  }
  const conv_rows rows = {cg, in};
  const tfl_window_axis *h = &cg->win.h, *w = &cg->win.w;
  const tfl_gemm_problem p = {
      .m = m,
      .taps = cg->row_pieces ? h->filter : h->filter * w->filter,
      .kc = cg->row_pieces ? w->filter * cg->in_c : cg->in_c,
      .rows = cg->row_pieces ? conv_rows_fn : conv_taps_fn,
      .rows_arg = &rows,
      .scratch = scratch,
      .scratch_floats = TFL_GEMM_MR * (size_t)cg->w.k,
      .c = out,
      .ldc = (size_t)cg->out_c,
      .lo = lo,
      .hi = hi,
      .residual = residual};
  tfl_gemm_run(ctx, &cg->w, &p);
}

void tfl_conv_gemm_eval(tfl_context *ctx, const tfl_conv_gemm *cg, const float *in, float *out,
                        void *scratch, float lo, float hi) {
  tfl_conv_gemm_eval_residual(ctx, cg, in, out, scratch, lo, hi, NULL);
}
