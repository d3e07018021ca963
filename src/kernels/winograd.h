/* CONV_2D's fast path for 3x3 stride-1 float convolutions: Winograd's F(2x2, 3x3).
 *
 * Each 2x2 block of output pixels (a tile) is computed from the 4x4 input block under it as
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * so the 36 multiplications per input channel of the direct form become 16. The filter g is
 * transformed once (U = G g G^T, in double, at prepare); at eval, blocks of tiles are
 * transformed into V = B^T d B (16 values per tile and channel), multiplied by U as 16
 * independent products V_xi [tiles x in_c] * U_xi [in_c x out_c] on the packed GEMM
 * micro-kernel (gemm.h), and transformed back with the bias and the clamp. B, G and A hold
 * only 0, +-1 and +-1/2, so the rounding error stays close to the direct form's (the tests
 * bound it; on the reference models the outputs stay as close to TFLite's as the direct
 * GEMM's). One difference: a NaN or infinity in the input reaches every output of the 2x2
 * tiles whose input blocks hold it (the transforms mix them), where the direct form keeps it
 * to the windows holding it. A block's V and products stay in the core's cache; the work is
 * split over threads by blocks of tiles and, when tiles are few, by output channels. */
#ifndef TFL_KERNELS_WINOGRAD_H
#define TFL_KERNELS_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm.h"
#include "kernels/window.h"

/* Points of a transformed 4x4 tile: one GEMM each. */
#define TFL_WINOGRAD_POINTS 16

/* The input transform of one tile: p[16] point at the 4x4 input pixels (row-major), or at
 * zeros in the padding; writes point xi of channel c to v[xi * vstride + c], c < channels. */
typedef void (*tfl_winograd_in_fn)(const float *const *p, int32_t channels, float *v,
                                   size_t vstride);
/* The clamps of the outputs: the convolution's, then, with a fused ADD, the ADD's. */
typedef struct tfl_winograd_clamp {
  float lo, hi, add_lo, add_hi;
} tfl_winograd_clamp;

/* The output transform of one tile: reads point xi of channel k at m[xi * mstride + k],
 * k < channels, and stores y = clamp(result + bias[k], lo, hi) at o[i][k] for each of the 2x2
 * pixels (row-major) whose o[i] is not NULL; with a fused ADD (r not NULL), stores
 * clamp(y + r[i][k], add_lo, add_hi) instead. */
typedef void (*tfl_winograd_out_fn)(const float *m, size_t mstride, int32_t channels,
                                    const float *bias, float *const *o, const float *const *r,
                                    const tfl_winograd_clamp *cl);

typedef struct tfl_winograd {
  tfl_gemm_weights u[TFL_WINOGRAD_POINTS]; /* U_xi, packed as [out_c][in_c] */
  float *bias;                             /* out_c floats (zeros when the op has none) */
  float *zeros;                            /* in_c zeros: an input pixel in the padding */
  tfl_window win;
  int32_t batches, in_c, out_c;
  tfl_winograd_in_fn input;
  tfl_winograd_out_fn output;
} tfl_winograd;

/* Whether this path runs the convolution at `level` (3x3, stride 1, no dilation, one group,
 * enough channels and output pixels for the transforms to pay, a filter that is not huge). */
int tfl_winograd_supports(tfl_cpu_level level, const tfl_window *win, int32_t in_c,
                          int32_t out_c, int32_t groups);

/* Transforms and packs the filter [out_c][3][3][in_c] and bias (out_c floats or NULL);
 * replaces what an earlier prepare made. TFL_OUT_OF_MEMORY on failure (then empty). */
tfl_status tfl_winograd_prepare(tfl_winograd *wg, tfl_cpu_level level, const tfl_window *win,
                                int32_t batches, int32_t in_c, int32_t out_c,
                                const float *filter, const float *bias);

/* Scratch eval needs for `threads` threads. */
size_t tfl_winograd_scratch_bytes(const tfl_winograd *wg, int threads);

/* out = clamp(conv(in) + bias, lo, hi), then the fused ADD when residual is not NULL, split
 * over the context's threads (ctx may be NULL); scratch: tfl_winograd_scratch_bytes() for
 * the context's threads. */
void tfl_winograd_eval(tfl_context *ctx, const tfl_winograd *wg, const float *in, float *out,
                       void *scratch, float lo, float hi, const tfl_gemm_residual *residual);

void tfl_winograd_free(tfl_winograd *wg);

/* The transforms: portable, and compiled for AVX2. */
void tfl_winograd_input_portable(const float *const *p, int32_t channels, float *v,
                                 size_t vstride);
void tfl_winograd_output_portable(const float *m, size_t mstride, int32_t channels,
                                  const float *bias, float *const *o, const float *const *r,
                                  const tfl_winograd_clamp *cl);
#if TFL_HAVE_X86_KERNELS
void tfl_winograd_input_avx2(const float *const *p, int32_t channels, float *v, size_t vstride);
void tfl_winograd_output_avx2(const float *m, size_t mstride, int32_t channels,
                              const float *bias, float *const *o, const float *const *r,
                              const tfl_winograd_clamp *cl);
#endif

#endif
