/* DEPTHWISE_CONV_2D's fast float path: a direct kernel vectorized over channels, for a channel
 * multiplier of 1 (the only one real models use). Any window: taps in the padding are skipped
 * at the borders, as in the reference kernel, and each output sums its taps in the reference
 * order (with fused multiply-adds) before adding the bias. Work is split over threads by
 * output rows. */
#ifndef TFL_KERNELS_DWCONV_H
#define TFL_KERNELS_DWCONV_H

#include <stdint.h>

#include "kernels/gemm.h"
#include "kernels/simd.h"
#include "kernels/window.h"

typedef struct tfl_dwconv tfl_dwconv;

/* One evaluation's tensors: filter is [kh][kw][channels], bias channels floats or NULL. */
typedef struct tfl_dwconv_io {
  const float *in, *filter, *bias;
  float *out;
} tfl_dwconv_io;

/* Computes output rows [row0, row1) (rows counted over the batch: n * out_h + oy). */
typedef void (*tfl_dwconv_rows_fn)(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
                                   int32_t row1);

struct tfl_dwconv {
  tfl_window win;
  int32_t batches, channels;
  float lo, hi; /* clamp of the fused activation */
  tfl_dwconv_rows_fn rows;
};

/* Sets up *dw when this path handles the op at `level`; returns 0 (and leaves the op to the
 * reference kernel) otherwise. */
int tfl_dwconv_setup(tfl_dwconv *dw, tfl_cpu_level level, const tfl_window *win,
                     int32_t batches, int32_t in_c, int32_t out_c, float lo, float hi);

/* out = clamp(depthwise(in, filter) + bias, lo, hi), split over the context's threads (ctx
 * may be NULL). */
void tfl_dwconv_eval(tfl_context *ctx, const tfl_dwconv *dw, const tfl_dwconv_io *io);

/* Whether `level` has a fast depthwise kernel (that tfl_dwconv_setup accepts). */
int tfl_dwconv_available(tfl_cpu_level level);

/* The 1x1 convolution that computes a depthwise convolution's input, fused in
 * (runtime/fuse.h): that input is never expanded whole. Each thread expands a slice of
 * `slice_rows` image rows at a time (a GEMM on the packed 1x1 filter, clamped to [lo, hi]) into
 * its scratch, runs the depthwise rows of a band of `band` output rows over it, and keeps the
 * rows the next band shares. The results are the two ops' own, bit for bit. */
typedef struct tfl_dwconv_expand {
  const tfl_gemm_weights *w; /* [channels][in_c], packed */
  float lo, hi;
  int32_t in_c;
  int32_t slice_rows, band; /* set by tfl_dwconv_expand_plan */
  size_t slice_floats;
} tfl_dwconv_expand;

/* Plans the slices for `threads` threads and returns the scratch bytes eval needs. */
size_t tfl_dwconv_expand_plan(const tfl_dwconv *dw, tfl_dwconv_expand *e, int threads);

/* out = depthwise(clamp(io->in * w + expansion bias)), split over the context's threads;
 * scratch: tfl_dwconv_expand_plan()'s bytes for the context's threads. */
void tfl_dwconv_eval_expand(tfl_context *ctx, const tfl_dwconv *dw, const tfl_dwconv_expand *e,
                            const tfl_dwconv_io *io, void *scratch);

#if TFL_HAVE_X86_KERNELS
void tfl_dwconv_rows_avx2(const tfl_dwconv *dw, const tfl_dwconv_io *io, int32_t row0,
                          int32_t row1);
#endif

#endif
