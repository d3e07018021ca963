/* Max and average pool rows with NEON (pool_fast.h): channels in blocks of 4, the last few one
 * by one with the same arithmetic, so every channel gets the reference's bits. */
#include <arm_neon.h>
#include <float.h>

#include "kernels/pool_fast.h"

/* The in-bounds taps of one output pixel: tap (ky, kx) reads input pixel
 * (iy0 + ky, ix0 + kx) for ky in [ky0, ky1), kx in [kx0, kx1). */
typedef struct pool_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} pool_taps;

/* The reference's comparisons: a NaN input never replaces the maximum (std::max(acc, v)), and
 * the clamp lets NaN through. */
static inline float32x4_t max4(float32x4_t acc, float32x4_t v) {
  return vbslq_f32(vcltq_f32(acc, v), v, acc);
}

static inline float32x4_t clamp4(const tfl_pool_fast *pf, float32x4_t x) {
  const float32x4_t lo = vdupq_n_f32(pf->lo), hi = vdupq_n_f32(pf->hi);
  x = vbslq_f32(vcltq_f32(x, lo), lo, x);
  return vbslq_f32(vcgtq_f32(x, hi), hi, x);
}

/* Channels [c, c + 4) of one output pixel. */
static inline __attribute__((always_inline)) float32x4_t
pool_block(const int is_max, const tfl_pool_fast *pf, const pool_taps *t, const float *image,
           int32_t c) {
  const size_t C = (size_t)pf->channels, in_row = (size_t)pf->win.w.in * C;
  float32x4_t acc = vdupq_n_f32(is_max ? -FLT_MAX : 0.0f);
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const float *row = image + (size_t)(t->iy0 + ky) * in_row + c;
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const float32x4_t v = vld1q_f32(row + (size_t)(t->ix0 + kx) * C);
      acc = is_max ? max4(acc, v) : vaddq_f32(acc, v);
    }
  }
  if (!is_max)
    acc = vdivq_f32(acc, vdupq_n_f32((float)((t->ky1 - t->ky0) * (t->kx1 - t->kx0))));
  return clamp4(pf, acc);
}

/* Channel c alone. */
static inline __attribute__((always_inline)) float
pool_channel(const int is_max, const tfl_pool_fast *pf, const pool_taps *t, const float *image,
             int32_t c) {
  const size_t C = (size_t)pf->channels, in_row = (size_t)pf->win.w.in * C;
  float acc = is_max ? -FLT_MAX : 0.0f;
  for (int32_t ky = t->ky0; ky < t->ky1; ky++)
    for (int32_t kx = t->kx0; kx < t->kx1; kx++) {
      const float v = image[(size_t)(t->iy0 + ky) * in_row + (size_t)(t->ix0 + kx) * C +
                            (size_t)c];
      acc = is_max ? (acc < v ? v : acc) : acc + v;
    }
  if (!is_max) acc /= (float)((t->ky1 - t->ky0) * (t->kx1 - t->kx0));
  return tfl_window_clamp(acc, pf->lo, pf->hi);
}

static inline __attribute__((always_inline)) void
pool_rows(const int is_max, const tfl_pool_fast *pf, const float *in, float *out, int32_t row0,
          int32_t row1) {
  const tfl_window_axis *h = &pf->win.h, *w = &pf->win.w;
  const int32_t C = pf->channels;
  const size_t image_size = (size_t)h->in * (size_t)w->in * (size_t)C;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / h->out, oy = row % h->out;
    pool_taps t;
    t.iy0 = tfl_window_taps(h, oy, &t.ky0, &t.ky1);
    const float *image = in + (size_t)n * image_size;
    float *o = out + (size_t)row * (size_t)w->out * (size_t)C;
    for (int32_t ox = 0; ox < w->out; ox++, o += C) {
      t.ix0 = tfl_window_taps(w, ox, &t.kx0, &t.kx1);
      int32_t c = 0;
      for (; c + 4 <= C; c += 4) vst1q_f32(o + c, pool_block(is_max, pf, &t, image, c));
      for (; c < C; c++) o[c] = pool_channel(is_max, pf, &t, image, c);
    }
  }
}

void tfl_pool_max_rows_neon(const tfl_pool_fast *pf, const float *in, float *out, int32_t row0,
                            int32_t row1) {
  pool_rows(1, pf, in, out, row0, row1);
}

void tfl_pool_average_rows_neon(const tfl_pool_fast *pf, const float *in, float *out,
                                int32_t row0, int32_t row1) {
  pool_rows(0, pf, in, out, row0, row1);
}
