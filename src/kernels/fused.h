/* What the convolutions that runtime/fuse.h rewrites share: the window over an input padded
 * by a fused PAD, and the operand of a fused ADD. */
#ifndef TFL_KERNELS_FUSED_H
#define TFL_KERNELS_FUSED_H

#include <stdint.h>

#include "kernels/broadcast.h"
#include "kernels/gemm.h"
#include "kernels/window.h"
#include "runtime/fuse.h"

/* tfl_window_plan over `input` as if the fused PAD had padded it (fusion NULL: no PAD): the
 * window is planned over the padded size, then moved onto the real input, its padding
 * taking the PAD's zeros. */
tfl_status tfl_fused_window_plan(tfl_context *ctx, const tfl_node *node,
                                 const tfl_window_fields *f, const tfl_tensor *input,
                                 int32_t kh, int32_t kw, const tfl_fusion *fusion,
                                 tfl_window *win);

/* How a fused ADD runs. Its operand normally has the convolution's output shape and joins
 * the kernel's epilogue. After an input resize it may differ (broadcast, as ADD allows):
 * then the node computes the convolution into scratch and the ADD after it, apart. */
typedef struct tfl_fused_add_plan {
  int apart;      /* the operand's shape differs from the convolution's output */
  tfl_bcast bcast; /* convolution output (a) + operand (b) */
  int scratch;    /* the convolution's output, when apart */
} tfl_fused_add_plan;

/* In prepare, last: resizes the output to the convolution's 4-D shape `dims`, or to its
 * broadcast with a fused ADD's float32 operand, and plans that ADD. */
tfl_status tfl_fused_add_prepare(tfl_context *ctx, tfl_node *node, const tfl_fusion *fusion,
                                 const int32_t *dims, tfl_tensor *output,
                                 tfl_fused_add_plan *plan);

/* In eval: fills *res for the fused ADD of a convolution with `channels` output channels and
 * returns it, or returns NULL when the node has none. */
const tfl_gemm_residual *tfl_fused_residual(tfl_context *ctx, const tfl_node *node,
                                            const tfl_fusion *fusion, int32_t channels,
                                            tfl_gemm_residual *res);

/* The fused ADD applied after a kernel without an epilogue for it: out = clamp(out + r) over
 * n floats. */
void tfl_fused_add(float *out, const tfl_gemm_residual *res, size_t n);

/* The ADD of a plan that runs apart: out = clamp(conv + operand), broadcast; res as
 * tfl_fused_residual filled it. */
void tfl_fused_add_apart(const tfl_fused_add_plan *plan, const float *conv,
                         const tfl_gemm_residual *res, float *out);

#endif
