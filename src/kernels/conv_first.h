/* CONV_2D's direct float kernel for few input channels (an image network's first
 * convolution, e.g. 3x3 or 7x7 over RGB), where K = kh * kw * in_c is too small for the packed
 * GEMM's per-tile work (row pointers, short pieces) to pay off.
 *
 * The filter is repacked once into blocks of up to TFL_CONV_FIRST_NB output channels, each
 * [K][block width] (the width a multiple of 8, zero-filled), so that a tile of a few output
 * pixels keeps a block's channels in vector accumulators and adds, for every tap value, the
 * broadcast input value times one row of the block. A filter row's kw taps read kw * in_c
 * consecutive input values (without dilation along the width), so the inner loop runs over
 * them straight from the NHWC input. Filter rows in the padding are skipped for a whole output
 * row; pixels at the left and right borders run alone over their in-bounds taps only. Each
 * output sums its taps in the reference order (fused multiply-adds), then adds the bias and
 * clamps. Work is split over threads by output rows. */
#ifndef TFL_KERNELS_CONV_FIRST_H
#define TFL_KERNELS_CONV_FIRST_H

#include <stdint.h>

#include "kernels/simd.h"
#include "kernels/window.h"

#define TFL_CONV_FIRST_MAX_C 4 /* most input channels this path takes */
#define TFL_CONV_FIRST_NB 32   /* output channels of a full block */

typedef struct tfl_conv_first tfl_conv_first;

/* Computes output rows [row0, row1) (rows counted over the batch: n * out_h + oy). */
typedef void (*tfl_conv_first_rows_fn)(const tfl_conv_first *cf, const float *in, float *out,
                                       int32_t row0, int32_t row1);

struct tfl_conv_first {
  float *weights;     /* the blocks one after another (a last narrower one), then the biases */
  const float *bias;  /* out_c rounded up to 8, zero-filled, inside `weights` */
  tfl_window win;
  int32_t batches, in_c, out_c;
  int32_t k;             /* kh * kw * in_c */
  int32_t ox_lo, ox_hi;  /* output columns whose window lies inside the input's width */
  float lo, hi;          /* clamp of the fused activation */
  tfl_conv_first_rows_fn rows; /* NULL: the path is off */
};

/* Whether this path handles a convolution over in_c input channels in `groups` groups at
 * `level` (never at TFL_CPU_SCALAR, which asks for the reference kernels). */
int tfl_conv_first_supports(tfl_cpu_level level, int32_t in_c, int32_t groups);

/* Packs the constant filter [out_c][kh][kw][in_c] and bias (out_c floats or NULL), replacing
 * what an earlier prepare packed; call only when tfl_conv_first_supports() holds.
 * TFL_OUT_OF_MEMORY on failure (the path is then off). */
tfl_status tfl_conv_first_prepare(tfl_conv_first *cf, tfl_cpu_level level,
                                  const tfl_window *win, int32_t batches, int32_t in_c,
                                  int32_t out_c, const float *filter, const float *bias,
                                  float lo, float hi);

/* out = clamp(conv(in) + bias, lo, hi), split over the context's threads (ctx may be NULL). */
void tfl_conv_first_eval(tfl_context *ctx, const tfl_conv_first *cf, const float *in,
                         float *out);

void tfl_conv_first_free(tfl_conv_first *cf);

#if TFL_HAVE_X86_KERNELS
void tfl_conv_first_rows_avx2(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1);
#endif

#endif
