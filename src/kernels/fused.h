/* What the convolutions that runtime/fuse.h rewrites share: the window over an input padded
 * by a fused PAD, and the operand of a fused ADD. */
#ifndef TFL_KERNELS_FUSED_H
#define TFL_KERNELS_FUSED_H

#include <stdint.h>

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

/* In prepare: a fused ADD's operand must be float32 of the output's shape `dims` (4-D). */
tfl_status tfl_fused_check_residual(tfl_context *ctx, const tfl_node *node,
                                    const tfl_fusion *fusion, const int32_t *dims);

/* In eval: fills *res for the fused ADD of a convolution with `channels` output channels and
 * returns it, or returns NULL when the node has none. */
const tfl_gemm_residual *tfl_fused_residual(tfl_context *ctx, const tfl_node *node,
                                            const tfl_fusion *fusion, int32_t channels,
                                            tfl_gemm_residual *res);

/* The fused ADD applied after a kernel without an epilogue for it: out = clamp(out + r) over
 * n floats. */
void tfl_fused_add(float *out, const tfl_gemm_residual *res, size_t n);

#endif
