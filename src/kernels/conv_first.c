/* The direct first-convolution kernel: variant choice, filter packing, the split over threads
 * and the walk over runs of tiles that the vector variants share (conv_first.h). */
#include "kernels/conv_first.h"

#include <stdlib.h>
#include <string.h>

static tfl_conv_first_rows_fn pick_rows(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return tfl_conv_first_rows_avx2;
#endif
#if TFL_HAVE_ARM_KERNELS
  if (tfl_simd_neon(level)) return tfl_conv_first_rows_neon;
#endif
  (void)level;
  return NULL;
}

int tfl_conv_first_supports(tfl_cpu_level level, int32_t in_c, int32_t groups) {
  return pick_rows(level) != NULL && groups == 1 && in_c >= 1 && in_c <= TFL_CONV_FIRST_MAX_C;
}

void tfl_conv_first_free(tfl_conv_first *cf) {
  free(cf->weights);
  memset(cf, 0, sizeof(*cf));
}

static size_t round_up8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Block by block, each [k][width] with its channels beyond out_c zero (calloc'd). */
static void pack_filter(float *dst, const float *filter, int32_t out_c, int32_t k) {
  for (int32_t oc0 = 0; oc0 < out_c; oc0 += TFL_CONV_FIRST_NB) {
    const int32_t left = out_c - oc0;
    const int32_t n = left < TFL_CONV_FIRST_NB ? left : TFL_CONV_FIRST_NB;
    const size_t width = round_up8((size_t)n);
    for (int32_t j = 0; j < n; j++) {
      const float *src = filter + (size_t)(oc0 + j) * (size_t)k;
      for (int32_t q = 0; q < k; q++) dst[(size_t)q * width + (size_t)j] = src[q];
    }
    dst += width * (size_t)k;
  }
}

/* Whether output column ox's window lies inside the input's width. */
static int column_inside(const tfl_window_axis *w, int32_t ox) {
  int32_t kx0, kx1;
  tfl_window_taps(w, ox, &kx0, &kx1);
  return kx0 == 0 && kx1 == w->filter;
}

/* The inside columns are one run: [*lo, *hi), empty when lo == hi. */
static void inside_columns(const tfl_window_axis *w, int32_t *lo, int32_t *hi) {
  int32_t a = 0, b = w->out;
  while (a < b && !column_inside(w, a)) a++;
  while (b > a && !column_inside(w, b - 1)) b--;
  *lo = a;
  *hi = b;
}

tfl_status tfl_conv_first_prepare(tfl_conv_first *cf, tfl_cpu_level level,
                                  const tfl_window *win, int32_t batches, int32_t in_c,
                                  int32_t out_c, const float *filter, const float *bias,
                                  float lo, float hi) {
  tfl_conv_first_free(cf);
  const int32_t k = win->h.filter * win->w.filter * in_c;
  const size_t channels = round_up8((size_t)out_c);
  const size_t floats = channels * ((size_t)k + 1);
  /* aligned_alloc wants a multiple of the alignment (and some bytes even for no channels). */
  float *w = aligned_alloc(64, (floats * sizeof(float) + 64) & ~(size_t)63);
  if (!w) return TFL_OUT_OF_MEMORY;
  memset(w, 0, floats * sizeof(float));
  pack_filter(w, filter, out_c, k);
  float *b = w + channels * (size_t)k;
  if (bias) memcpy(b, bias, (size_t)out_c * sizeof(float));
  cf->weights = w;
  cf->bias = b;
  cf->win = *win;
  cf->batches = batches;
  cf->in_c = in_c;
  cf->out_c = out_c;
  cf->k = k;
  inside_columns(&win->w, &cf->ox_lo, &cf->ox_hi);
  cf->lo = lo;
  cf->hi = hi;
  cf->rows = pick_rows(level);
  return TFL_OK;
}

typedef struct conv_first_job {
  const tfl_conv_first *cf;
  const float *in;
  float *out;
} conv_first_job;

static void conv_first_rows(const void *arg, int32_t row0, int32_t row1) {
  const conv_first_job *job = arg;
  job->cf->rows(job->cf, job->in, job->out, row0, row1);
}

void tfl_conv_first_eval(tfl_context *ctx, const tfl_conv_first *cf, const float *in,
                         float *out) {
  if (cf->win.w.out <= 0 || cf->out_c <= 0) return;
  const conv_first_job job = {cf, in, out};
  tfl_split_rows(ctx, cf->batches * cf->win.h.out, conv_first_rows, &job);
}

tfl_conv_first_cursor tfl_conv_first_start(const tfl_conv_first *cf, const float *in,
                                           float *out, int32_t row0, int32_t row1,
                                           const int32_t full[TFL_CONV_FIRST_GROUPS + 1]) {
  tfl_conv_first_cursor k;
  memset(&k, 0, sizeof(k));
  k.cf = cf;
  k.in = in;
  k.out = out;
  k.full = full;
  /* at the end of the last block of the row before row0: the first step starts row0 */
  k.row = row0 - 1;
  k.row1 = row1;
  k.oc0 = cf->out_c;
  k.ox = cf->win.w.out;
  return k;
}

/* Sets up block k->oc0 of output row k->row: the block's span from input column 0 (its `in`
 * is the input row of the first filter row inside the input), its channels and output. */
static void cursor_block(tfl_conv_first_cursor *k) {
  const tfl_conv_first *cf = k->cf;
  const tfl_window_axis *h = &cf->win.h, *w = &cf->win.w;
  const size_t c = (size_t)cf->in_c, in_row = (size_t)w->in * c;
  const int32_t n = k->row / h->out, oy = k->row % h->out;
  const float *image = k->in + (size_t)n * (size_t)h->in * in_row;
  tfl_conv_first_run *r = &k->run;
  const int32_t left = cf->out_c - k->oc0;
  r->channels = left < TFL_CONV_FIRST_NB ? left : TFL_CONV_FIRST_NB;
  r->groups = (r->channels + 7) / 8;
  r->bias = cf->bias + k->oc0;
  r->out_pixel = (size_t)cf->out_c;
  int32_t ky0, ky1;
  const int32_t iy0 = tfl_window_taps(h, oy, &ky0, &ky1);
  tfl_conv_first_span *s = &k->block;
  s->rows = ky1 - ky0;
  s->in = s->rows > 0 ? image + (size_t)(iy0 + ky0 * h->dilation) * in_row : image;
  s->in_row = (size_t)h->dilation * in_row;
  /* the full blocks before this one are TFL_CONV_FIRST_NB wide */
  s->w_row = (size_t)w->filter * c * 8 * (size_t)r->groups;
  s->w = cf->weights + (size_t)k->oc0 * (size_t)cf->k + (size_t)ky0 * s->w_row;
  s->segs = w->dilation == 1 ? 1 : w->filter;
  s->seg_len = (int32_t)((w->dilation == 1 ? (size_t)w->filter : 1) * c);
  s->in_seg = (size_t)w->dilation * c;
  s->pix = (size_t)w->stride * c;
  k->block_out = k->out + (size_t)k->row * (size_t)w->out * (size_t)cf->out_c + (size_t)k->oc0;
}

/* Border column ox alone, over its taps inside the input's width. */
static void cursor_border(tfl_conv_first_cursor *k, int32_t ox) {
  const tfl_window_axis *w = &k->cf->win.w;
  tfl_conv_first_run *r = &k->run;
  int32_t kx0, kx1;
  const int32_t ix0 = tfl_window_taps(w, ox, &kx0, &kx1);
  r->s = k->block;
  r->pixels = 1;
  r->tiles = 1;
  if (kx1 <= kx0) {
    r->s.segs = 0;
    return;
  }
  const size_t c = (size_t)k->cf->in_c;
  r->s.in += (ptrdiff_t)(ix0 + kx0 * w->dilation) * (ptrdiff_t)c;
  r->s.w += (size_t)kx0 * c * 8 * (size_t)r->groups;
  r->s.segs = w->dilation == 1 ? 1 : kx1 - kx0;
  r->s.seg_len = (int32_t)((w->dilation == 1 ? (size_t)(kx1 - kx0) : 1) * c);
}

/* The inside columns from ox on: full tiles while they fit, else one shorter tile. */
static void cursor_inside(tfl_conv_first_cursor *k, int32_t ox) {
  const tfl_conv_first *cf = k->cf;
  tfl_conv_first_run *r = &k->run;
  r->s = k->block;
  r->s.in += (size_t)(ox * cf->win.w.stride - cf->win.w.pad) * (size_t)cf->in_c;
  const int32_t left = cf->ox_hi - ox, full = k->full[r->groups];
  r->pixels = left < full ? left : full;
  r->tiles = left / r->pixels;
}

int tfl_conv_first_next(tfl_conv_first_cursor *k) {
  const tfl_conv_first *cf = k->cf;
  if (k->ox >= cf->win.w.out) {
    k->oc0 += TFL_CONV_FIRST_NB;
    if (k->oc0 >= cf->out_c) {
      if (++k->row >= k->row1) return 0;
      k->oc0 = 0;
    }
    cursor_block(k);
    k->ox = 0;
  }
  k->run.out = k->block_out + (size_t)k->ox * (size_t)cf->out_c;
  if (k->ox < cf->ox_lo || k->ox >= cf->ox_hi)
    cursor_border(k, k->ox);
  else
    cursor_inside(k, k->ox);
  k->ox += k->run.pixels * k->run.tiles;
  return 1;
}
