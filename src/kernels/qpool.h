/* The fast path of int8/uint8 AVERAGE_POOL_2D and MAX_POOL_2D: channels vectorized, any
 * window, bit for bit the reference kernel in pool.c: the maximum of the codes, or the int32
 * sum of the in-bounds taps divided by their count with tfl_qpool_rounded_mean's rounding,
 * then the activation clamp.
 *
 * The vector kernels divide in float, which is exact here: with at most 2^15 taps,
 * |sum +- count/2| < 2^23 is a float, and the true quotient (below 256 in magnitude), when not
 * an integer, lies at least 1/count >= 2^-15 from every integer, farther than float rounding
 * (at most 2^-17 there) moves it; so truncating the rounded quotient gives the exact one.
 * Work is split over threads by output rows. */
#ifndef TFL_KERNELS_QPOOL_H
#define TFL_KERNELS_QPOOL_H

#include <stdint.h>

#include "kernels/simd.h"
#include "kernels/window.h"

typedef struct tfl_qpool tfl_qpool;

/* Computes output rows [row0, row1) (rows counted over the batch: n * out_h + oy). */
typedef void (*tfl_qpool_rows_fn)(const tfl_qpool *p, const uint8_t *in, uint8_t *out,
                                  int32_t row0, int32_t row1);

struct tfl_qpool {
  tfl_window win;
  int32_t batches, channels;
  tfl_type type; /* TFL_INT8 or TFL_UINT8 */
  int is_max;
  int32_t act_min, act_max;
  tfl_qpool_rows_fn rows;
};

/* Sets up *p when this path handles the pool at `level`; returns 0 (leaving the op to the
 * reference kernel) otherwise. */
int tfl_qpool_setup(tfl_qpool *p, tfl_cpu_level level, int is_max, tfl_type type,
                    const tfl_window *win, int32_t batches, int32_t channels, int32_t act_min,
                    int32_t act_max);

/* Pools `in` into `out`, split over the context's threads (ctx may be NULL). */
void tfl_qpool_eval(tfl_context *ctx, const tfl_qpool *p, const void *in, void *out);

/* sum / count rounded half away from zero in TFLite's arithmetic: unsigned for uint8, int32
 * otherwise (wrapping where TFLite's would overflow). The reference kernel's rounding. */
int32_t tfl_qpool_rounded_mean(tfl_type type, int32_t sum, int32_t count);

/* The in-bounds taps of one output pixel: tap (ky, kx) reads input pixel (iy0 + ky, ix0 + kx)
 * of the pixel's image for ky in [ky0, ky1), kx in [kx0, kx1). */
typedef struct tfl_qpool_taps {
  int32_t iy0, ky0, ky1, ix0, kx0, kx1;
} tfl_qpool_taps;

/* Channel c of one output pixel in plain C, for the channels the vectors leave. */
int32_t tfl_qpool_channel(const tfl_qpool *p, const uint8_t *image, const tfl_qpool_taps *t,
                          int32_t c);

/* The output pixels of rows [row0, row1), one after another, as the vector kernels walk them:
 *   for (tfl_qpool_cursor k = tfl_qpool_start(p, in, out, row0, row1); tfl_qpool_next(&k);)
 *     (all channels of output pixel k.o from k.image over k.taps)
 * Inline, so that each kernel's pixel loop compiles into one loop. Needs p->win.w.out > 0
 * (tfl_qpool_eval checks it). */
typedef struct tfl_qpool_cursor {
  const tfl_qpool *p;
  const uint8_t *in;
  uint8_t *out;
  int32_t row, row1, ox;
  tfl_qpool_taps taps;
  const uint8_t *image; /* the pixel's batch image */
  uint8_t *o;           /* its output channels */
} tfl_qpool_cursor;

static inline tfl_qpool_cursor tfl_qpool_start(const tfl_qpool *p, const uint8_t *in,
                                               uint8_t *out, int32_t row0, int32_t row1) {
  /* just past the end of the row before row0: the first step starts row0 */
  const tfl_qpool_cursor k = {
      .p = p, .in = in, .out = out, .row = row0 - 1, .row1 = row1, .ox = p->win.w.out - 1};
  return k;
}

static inline int tfl_qpool_next(tfl_qpool_cursor *k) {
  const tfl_qpool *p = k->p;
  const size_t C = (size_t)p->channels;
  if (++k->ox < p->win.w.out) {
    k->o += C;
  } else {
    if (++k->row >= k->row1) return 0;
    const int32_t n = k->row / p->win.h.out, oy = k->row % p->win.h.out;
    k->taps.iy0 = tfl_window_taps(&p->win.h, oy, &k->taps.ky0, &k->taps.ky1);
    k->image = k->in + (size_t)n * (size_t)p->win.h.in * (size_t)p->win.w.in * C;
    k->o = k->out + (size_t)k->row * (size_t)p->win.w.out * C;
    k->ox = 0;
  }
  k->taps.ix0 = tfl_window_taps(&p->win.w, k->ox, &k->taps.kx0, &k->taps.kx1);
  return 1;
}

#if TFL_HAVE_X86_KERNELS
void tfl_qpool_rows_avx2(const tfl_qpool *p, const uint8_t *in, uint8_t *out, int32_t row0,
                         int32_t row1);
#endif

#endif
