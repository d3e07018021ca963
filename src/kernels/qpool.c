/* Quantized pools, fast path: variant choice, the split over threads and the plain-C pieces
 * the vector kernels share with the reference (qpool.h). */
#include "kernels/qpool.h"

#include "kernels/quant.h"

int tfl_qpool_setup(tfl_qpool *p, tfl_cpu_level level, int is_max, tfl_type type,
                    const tfl_window *win, int32_t batches, int32_t channels, int32_t act_min,
                    int32_t act_max) {
  tfl_qpool_rows_fn rows = NULL;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) rows = tfl_qpool_rows_avx2;
#endif
  if (tfl_simd_neon(level)) rows = tfl_qpool_rows_neon;
  /* The float division needs at most 2^15 taps (qpool.h). */
  const int64_t taps = (int64_t)win->h.filter * win->w.filter;
  if (!rows || (type != TFL_INT8 && type != TFL_UINT8) || taps > 32768) return 0;
  p->win = *win;
  p->batches = batches;
  p->channels = channels;
  p->type = type;
  p->is_max = is_max;
  p->act_min = act_min;
  p->act_max = act_max;
  p->rows = rows;
  return 1;
}

typedef struct qpool_job {
  const tfl_qpool *p;
  const uint8_t *in;
  uint8_t *out;
} qpool_job;

static void qpool_rows(const void *arg, int32_t row0, int32_t row1) {
  const qpool_job *job = arg;
  job->p->rows(job->p, job->in, job->out, row0, row1);
}

void tfl_qpool_eval(tfl_context *ctx, const tfl_qpool *p, const void *in, void *out) {
  if (p->win.w.out <= 0 || p->channels <= 0) return;
  const qpool_job job = {p, in, out};
  tfl_split_rows(ctx, p->batches * p->win.h.out, qpool_rows, &job);
}

int32_t tfl_qpool_rounded_mean(tfl_type type, int32_t sum, int32_t count) {
  const uint32_t half = (uint32_t)(count / 2);
  if (type == TFL_UINT8) return (int32_t)(((uint32_t)sum + half) / (uint32_t)count);
  const int32_t biased = (int32_t)(sum > 0 ? (uint32_t)sum + half : (uint32_t)sum - half);
  return biased / count;
}

int32_t tfl_qpool_channel(const tfl_qpool *p, const uint8_t *image, const tfl_qpool_taps *t,
                          int32_t c) {
  const size_t C = (size_t)p->channels;
  int32_t acc = p->is_max ? (p->type == TFL_UINT8 ? 0 : -128) : 0;
  for (int32_t ky = t->ky0; ky < t->ky1; ky++)
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const size_t pixel = (size_t)(t->iy0 + ky) * (size_t)p->win.w.in + (size_t)(t->ix0 + kx);
      const uint8_t byte = image[pixel * C + (size_t)c];
      const int32_t v = p->type == TFL_UINT8 ? byte : (int8_t)byte;
      acc = p->is_max ? (v > acc ? v : acc) : acc + v;
    }
  const int32_t count = (t->ky1 - t->ky0) * (t->kx1 - t->kx0);
  if (!p->is_max) acc = tfl_qpool_rounded_mean(p->type, acc, count);
  return acc < p->act_min ? p->act_min : acc > p->act_max ? p->act_max : acc;
}
