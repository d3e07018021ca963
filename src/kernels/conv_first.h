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
 * clamps. Work is split over threads by output rows.
 *
 * The walk over rows, blocks and tiles (borders, padding rows, where tiles start) is shared:
 * tfl_conv_first_next() hands each vector variant runs of equal tiles, and the variant only
 * computes tiles (conv_first_avx2.c, arm/conv_first_neon.c). */
#ifndef TFL_KERNELS_CONV_FIRST_H
#define TFL_KERNELS_CONV_FIRST_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/simd.h"
#include "kernels/window.h"

#define TFL_CONV_FIRST_MAX_C 4 /* most input channels this path takes */
#define TFL_CONV_FIRST_NB 32   /* output channels of a full block */
#define TFL_CONV_FIRST_GROUPS (TFL_CONV_FIRST_NB / 8) /* 8-channel groups of a full block */

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

/* --- the walk the vector variants share ---------------------------------------------- */

/* Where a tile's taps are, for its first pixel: filter rows `rows` apart by in_row (input)
 * and w_row (weights); per filter row `segs` runs of `seg_len` consecutive values, in_seg
 * apart in the input (the weights of consecutive taps follow each other, one block row of
 * 8 * groups floats each); pixels `pix` apart. */
typedef struct tfl_conv_first_span {
  const float *in, *w;
  int32_t rows, segs, seg_len;
  size_t in_row, w_row, in_seg, pix;
} tfl_conv_first_span;

/* `tiles` tiles one after another along an output row, each `pixels` consecutive output
 * pixels times one block of output channels. The next tile's span and output are `pixels`
 * pixels further: s.in + pixels * s.pix, out + pixels * out_pixel. */
typedef struct tfl_conv_first_run {
  tfl_conv_first_span s; /* the first tile's */
  int32_t pixels, tiles;
  int32_t groups;        /* the block's width in 8-channel groups, 1 to TFL_CONV_FIRST_GROUPS */
  int32_t channels;      /* the block's real output channels (the rest of its width is zero) */
  const float *bias;     /* the block's first, 8 * groups of them (zero past `channels`) */
  float *out;            /* the first tile's first pixel, the block's first channel */
  size_t out_pixel;      /* floats between output pixels (out_c) */
} tfl_conv_first_run;

/* The runs of rows [row0, row1), row by row, block by block, left to right:
 *   for (tfl_conv_first_cursor k = tfl_conv_first_start(cf, in, out, row0, row1, full);
 *        tfl_conv_first_next(&k);)
 *     (compute the tiles of k.run)
 * Border pixels come as runs of one 1-pixel tile over their in-bounds taps only; the inside
 * columns as full tiles of full[groups] pixels (the variant's register tile for a block of
 * that width), then one shorter tile for what is left. Needs win.w.out > 0 and out_c > 0. */
typedef struct tfl_conv_first_cursor {
  const tfl_conv_first *cf;
  const float *in;
  float *out;
  const int32_t *full;
  int32_t row, row1, oc0, ox;
  tfl_conv_first_span block; /* the current row and block's span from input column 0 */
  float *block_out;          /* output pixel 0 of the current row, the block's first channel */
  tfl_conv_first_run run;
} tfl_conv_first_cursor;

tfl_conv_first_cursor tfl_conv_first_start(const tfl_conv_first *cf, const float *in,
                                           float *out, int32_t row0, int32_t row1,
                                           const int32_t full[TFL_CONV_FIRST_GROUPS + 1]);
int tfl_conv_first_next(tfl_conv_first_cursor *k);

/* The tile loops every variant needs, defined in its file over its own cf_tile(P, V, span,
 * block, out), struct cf_block and CF_PIXELS(V) (pixels of a full tile of V vectors, at most
 * 8): cf_run_v(V, run, block) computes a run's tiles with both P and V constants, so that each
 * instance keeps its tile in registers. */
#define TFL_CONV_FIRST_RUN_LOOPS                                                            \
  static inline __attribute__((always_inline)) void cf_run_tiles(                           \
      const int P, const int V, const tfl_conv_first_run *r, const struct cf_block *b) {    \
    tfl_conv_first_span s = r->s;                                                           \
    float *out = r->out;                                                                    \
    for (int32_t t = 0; t < r->tiles; t++) {                                                \
      cf_tile(P, V, &s, b, out);                                                            \
      s.in += (size_t)P * s.pix;                                                            \
      out += (size_t)P * b->out_pixel;                                                      \
    }                                                                                       \
  }                                                                                         \
  static inline __attribute__((always_inline)) void cf_run_v(                               \
      const int V, const tfl_conv_first_run *r, const struct cf_block *b) {                 \
    switch (r->pixels) {                                                                    \
      case 1: cf_run_tiles(1, V, r, b); return;                                             \
      case 2: if (2 <= CF_PIXELS(V)) cf_run_tiles(2, V, r, b); return;                      \
      case 3: if (3 <= CF_PIXELS(V)) cf_run_tiles(3, V, r, b); return;                      \
      case 4: if (4 <= CF_PIXELS(V)) cf_run_tiles(4, V, r, b); return;                      \
      case 5: if (5 <= CF_PIXELS(V)) cf_run_tiles(5, V, r, b); return;                      \
      case 6: if (6 <= CF_PIXELS(V)) cf_run_tiles(6, V, r, b); return;                      \
      case 7: if (7 <= CF_PIXELS(V)) cf_run_tiles(7, V, r, b); return;                      \
      case 8: if (8 <= CF_PIXELS(V)) cf_run_tiles(8, V, r, b); return;                      \
      default: return;                                                                      \
    }                                                                                       \
  }

#if TFL_HAVE_X86_KERNELS
void tfl_conv_first_rows_avx2(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_conv_first_rows_neon(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1);
#endif

#endif
