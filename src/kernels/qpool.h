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

/* Channel c of one output pixel in plain C, for the channels the vectors leave: the taps
 * [ky0, ky1) x [kx0, kx1) read input pixel (iy0 + ky, ix0 + kx) of `image`. */
int32_t tfl_qpool_channel(const tfl_qpool *p, const uint8_t *image, int32_t iy0, int32_t ky0,
                          int32_t ky1, int32_t ix0, int32_t kx0, int32_t kx1, int32_t c);

#if TFL_HAVE_X86_KERNELS
void tfl_qpool_rows_avx2(const tfl_qpool *p, const uint8_t *in, uint8_t *out, int32_t row0,
                         int32_t row1);
#endif

#endif
