/* CONV_2D's fast float path: the convolution as a GEMM over the packed filter (gemm.h).
 *
 * A 1x1 stride-1 unpadded convolution is a plain product with the NHWC input as A (no copy).
 * Any other one reads A through an indirection buffer, built per tile of rows on the stack,
 * so there is no im2col buffer: output pixel r's row is made of pieces that point straight
 * into the input. Without dilation along the width, a filter row's kw taps read kw * in_c
 * consecutive input values, so a piece is a whole filter row (few pieces, long enough for the
 * micro-kernel even with an image's 3 channels); only a window sticking out at the left or
 * right has its rows copied, zero-filled, into per-thread scratch. With dilation, a piece is
 * one tap's in_c values. Rows in the padding point at zeros. Single-group convolutions with
 * up to TFL_GEMM_MAX_TAPS taps; the reference kernel does the rest. 3x3 stride-1 ones with
 * enough channels take Winograd's algorithm instead (winograd.h). */
#ifndef TFL_KERNELS_CONV_GEMM_H
#define TFL_KERNELS_CONV_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm.h"
#include "kernels/window.h"
#include "kernels/winograd.h"

typedef struct tfl_conv_gemm {
  tfl_gemm_weights w;
  float *zeros; /* kw * in_c zeros: the input under a filter row in the padding */
  tfl_window win;
  int32_t batches, in_c, out_c;
  int row_pieces; /* a piece is a filter row (else a tap) */
  int winograd;   /* a 3x3 stride-1 convolution: wg runs instead (winograd.h) */
  tfl_winograd wg;
} tfl_conv_gemm;

/* Whether this path handles a convolution over in_c input channels in `groups` groups with
 * the window `win` at `level` (never at TFL_CPU_SCALAR, which asks for the reference
 * kernels). */
int tfl_conv_gemm_supports(tfl_cpu_level level, const tfl_window *win, int32_t in_c,
                           int32_t groups);

/* Packs the constant filter [out_c][kh][kw][in_c] and bias (out_c floats or NULL); replaces
 * what an earlier prepare packed. TFL_OUT_OF_MEMORY on failure. */
tfl_status tfl_conv_gemm_prepare(tfl_conv_gemm *cg, tfl_cpu_level level, const tfl_window *win,
                                 int32_t batches, int32_t in_c, int32_t out_c,
                                 const float *filter, const float *bias);

/* Scratch eval needs for `threads` threads (0: none). */
size_t tfl_conv_gemm_scratch_bytes(const tfl_conv_gemm *cg, int threads);

/* out = clamp(conv(in) + bias, lo, hi), split over the context's threads (ctx may be NULL,
 * for one thread). scratch: tfl_conv_gemm_scratch_bytes() for the context's threads. */
void tfl_conv_gemm_eval(tfl_context *ctx, const tfl_conv_gemm *cg, const float *in, float *out,
                        void *scratch, float lo, float hi);
/* The same, then a fused ADD (gemm.h) when residual is not NULL. */
void tfl_conv_gemm_eval_residual(tfl_context *ctx, const tfl_conv_gemm *cg, const float *in,
                                 float *out, void *scratch, float lo, float hi,
                                 const tfl_gemm_residual *residual);

void tfl_conv_gemm_free(tfl_conv_gemm *cg);

#endif
