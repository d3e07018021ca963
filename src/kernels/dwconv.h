/* DEPTHWISE_CONV_2D's fast float path: a direct kernel vectorized over channels, for a channel
 * multiplier of 1 (the only one real models use). Any window: taps in the padding are skipped
 * at the borders, as in the reference kernel, and each output sums its in-bounds taps in the
 * reference order (filter rows, then columns) with fused multiply-adds from zero, then adds
 * the bias: the same bits on every path and thread count. A 3x3 window with stride 1 or 2
 * runs several output pixels at a time (tfl_dwconv_runs). Work is split over threads by
 * output rows. */
#ifndef TFL_KERNELS_DWCONV_H
#define TFL_KERNELS_DWCONV_H

#include <stddef.h>
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

/* How the kernels walk an output row of a 3x3 window with stride 1 or 2 and no dilation along
 * the width: the columns [lo, hi) in runs of several pixels, whose first pixel misses tap
 * column 0 when `left` (SAME padding's first column) and whose last misses column 2 when
 * `right`; every other column pixel by pixel with its own taps. */
typedef struct tfl_dwconv_runs {
  int32_t lo, hi;
  int left, right;
} tfl_dwconv_runs;

struct tfl_dwconv {
  tfl_window win;
  int32_t batches, channels;
  float lo, hi; /* clamp of the fused activation */
  int is_3x3;   /* the window the runs take */
  tfl_dwconv_runs runs;
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

/* --- The 3x3 kernels' runs (AVX2 and NEON) ---------------------------------------------- */

/* Output pixels that run together (a row's width at every stage of the MobileNets at 224x224
 * is a multiple of 7), and in rows narrower than that. Their sums, a filter row's three weight
 * vectors, the loaded column and the clamp take 13 of AVX2's 16 registers. */
#define DW3_RUN 7
#define DW3_RUN_SHORT 4

/* Where a row of runs reads: the input rows under the NR filter rows that lie inside the input
 * (the others are never read), those filter rows' weights, the bias and the clamp. */
typedef struct dw3_rows {
  const float *row[3];
  const float *filter, *bias;
  ptrdiff_t C;
  float lo, hi;
} dw3_rows;

/* Which pixel of a run misses a tap column: the first its column 0 (cut by the left border),
 * the last its column 2 (cut by the right border). */
enum { DW3_LEFT = 1, DW3_RIGHT = 2 };

/* Whether `edge` cuts tap column kx of pixel j of a run of N: a test the compiler leaves in
 * the unrolled code at two places per filter row (the first and last runs of a row take them,
 * the others not), where a variant per edge would quadruple the code. */
static inline __attribute__((always_inline)) int dw3_cut(int edge, const int N, const int j,
                                                         const int kx) {
  return (j == 0 && kx == 0 && (edge & DW3_LEFT)) || (j == N - 1 && kx == 2 && (edge & DW3_RIGHT));
}

/* The row walk shared by the AVX2 and NEON 3x3 kernels: a file defines dw3_run(N, S, NR,
 * edges, rows, x, out), then expands this once to get dw3_row_fns[stride - 1][filter rows
 * inside - 2], each returning 0 when the row is too narrow for runs. A run of N pixels is the
 * kernels' unit; the last run of a row is moved back to end at the row's end (recomputing a few
 * pixels to the same values) rather than made shorter. */
#define TFL_DW3_ROW_WALKERS                                                                      \
  static inline __attribute__((always_inline)) void dw3_runs(                                   \
      const int N, const int S, const int NR, const tfl_window_axis *a,                          \
      const tfl_dwconv_runs *p, const dw3_rows *r, float *out_row) {                             \
    const ptrdiff_t C = r->C, step = (ptrdiff_t)N * S * C;                                       \
    const int32_t n = p->hi - p->lo;                                                             \
    ptrdiff_t x = ((ptrdiff_t)p->lo * S - a->pad) * C;                                           \
    dw3_run(N, S, NR, p->left | (n == N && p->right ? DW3_RIGHT : 0), r, x, out_row + p->lo * C); \
    if (n == N) return;                                                                          \
    int32_t ox = p->lo + N;                                                                      \
    for (x += step; ox + N < p->hi; ox += N, x += step)                                          \
      dw3_run(N, S, NR, 0, r, x, out_row + ox * C);                                              \
    x -= (ptrdiff_t)(ox + N - p->hi) * S * C;                                                    \
    dw3_run(N, S, NR, p->right ? DW3_RIGHT : 0, r, x, out_row + (p->hi - N) * C);                \
  }                                                                                              \
  static inline __attribute__((always_inline)) int dw3_row(                                     \
      const int S, const int NR, const tfl_window_axis *a, const tfl_dwconv_runs *p,             \
      const dw3_rows *r, float *out_row) {                                                       \
    const int32_t n = p->hi - p->lo;                                                             \
    if (n >= DW3_RUN)                                                                            \
      dw3_runs(DW3_RUN, S, NR, a, p, r, out_row);                                                \
    else if (n >= DW3_RUN_SHORT)                                                                 \
      dw3_runs(DW3_RUN_SHORT, S, NR, a, p, r, out_row);                                          \
    else                                                                                         \
      return 0;                                                                                  \
    return 1;                                                                                    \
  }                                                                                              \
  TFL_DW3_ROW_FN(1, 2)                                                                           \
  TFL_DW3_ROW_FN(1, 3)                                                                           \
  TFL_DW3_ROW_FN(2, 2)                                                                           \
  TFL_DW3_ROW_FN(2, 3)                                                                           \
  typedef int (*dw3_row_fn)(const tfl_window_axis *a, const tfl_dwconv_runs *p,                  \
                            const dw3_rows *r, float *out_row);                                  \
  static const dw3_row_fn dw3_row_fns[2][2] = {{dw3_row_s1_r2, dw3_row_s1_r3},                   \
                                               {dw3_row_s2_r2, dw3_row_s2_r3}};

/* One row kernel of TFL_DW3_ROW_WALKERS, by stride and filter rows inside the input. */
#define TFL_DW3_ROW_FN(S, NR)                                                                    \
  static int dw3_row_s##S##_r##NR(const tfl_window_axis *a, const tfl_dwconv_runs *p,            \
                                  const dw3_rows *r, float *out_row) {                           \
    return dw3_row(S, NR, a, p, r, out_row);                                                     \
  }

#endif
