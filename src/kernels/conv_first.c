/* The direct first-convolution kernel: variant choice, filter packing and the split over
 * threads (conv_first.h). */
#include "kernels/conv_first.h"

#include <stdlib.h>
#include <string.h>

static tfl_conv_first_rows_fn pick_rows(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return tfl_conv_first_rows_avx2;
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
