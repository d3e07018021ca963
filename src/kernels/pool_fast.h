/* The fast float path of MAX_POOL_2D and AVERAGE_POOL_2D: channels vectorized, any window.
 * Results equal the reference kernels' bit for bit: the maximum ignores NaN inputs as
 * std::max does, the average sums the in-bounds taps in the reference order and divides by
 * their count. Work is split over threads by output rows. */
#ifndef TFL_KERNELS_POOL_FAST_H
#define TFL_KERNELS_POOL_FAST_H

#include <stdint.h>

#include "kernels/simd.h"
#include "kernels/window.h"

typedef enum tfl_pool_kind { TFL_POOL_MAX, TFL_POOL_AVERAGE } tfl_pool_kind;

typedef struct tfl_pool_fast tfl_pool_fast;

/* Computes output rows [row0, row1) (rows counted over the batch: n * out_h + oy). */
typedef void (*tfl_pool_rows_fn)(const tfl_pool_fast *pf, const float *in, float *out,
                                 int32_t row0, int32_t row1);

struct tfl_pool_fast {
  tfl_window win;
  int32_t batches, channels;
  float lo, hi; /* clamp of the fused activation */
  tfl_pool_rows_fn rows;
};

/* Sets up *pf when this path handles the pool at `level`; returns 0 (leaving the op to the
 * reference kernel) otherwise. */
int tfl_pool_fast_setup(tfl_pool_fast *pf, tfl_cpu_level level, tfl_pool_kind kind,
                        const tfl_window *win, int32_t batches, int32_t channels, float lo,
                        float hi);

/* Pools `in` into `out`, split over the context's threads (ctx may be NULL). */
void tfl_pool_fast_eval(tfl_context *ctx, const tfl_pool_fast *pf, const float *in, float *out);

#if TFL_HAVE_X86_KERNELS
void tfl_pool_max_rows_avx2(const tfl_pool_fast *pf, const float *in, float *out, int32_t row0,
                            int32_t row1);
void tfl_pool_average_rows_avx2(const tfl_pool_fast *pf, const float *in, float *out,
                                int32_t row0, int32_t row1);
#endif

#endif
