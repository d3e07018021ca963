/* The transposed convolution that TRANSPOSE_CONV (transpose_conv.c) and MediaPipe's
 * Convolution2DTransposeBias (mediapipe.c) share.
 *
 * input [batch, in_h, in_w, in_c], weights [out_c, kh, kw, in_c], output
 * [batch, out_h, out_w, out_c]: input pixel (iy, ix) adds in[iy, ix, :] . w[oc, ky, kx, :] to
 * output pixel (iy * stride_h - pad_top + ky, ix * stride_w - pad_left + kx); contributions
 * falling outside the output are dropped.
 *
 * Geometry (TFLite's, ComputePaddingHeightWidth applied to the output): the convolution that
 * maps the output back to the input must give the input's size,
 *   SAME:  in = ceil(out / stride)      VALID: in = (out + stride - kernel) / stride
 * and pad = max(0, (in - 1) * stride + kernel - out) / 2 (the odd element goes after). */
#ifndef TFL_KERNELS_TRANSPOSE_CONV_H
#define TFL_KERNELS_TRANSPOSE_CONV_H

#include <stdint.h>

#include "runtime/kernel.h"

typedef struct tfl_tconv_axis {
  int32_t in, out, kernel, stride;
  int32_t pad; /* set by tfl_tconv_plan_axis */
} tfl_tconv_axis;

typedef struct tfl_tconv {
  int32_t batches, in_c, out_c;
  tfl_tconv_axis h, w;
} tfl_tconv;

/* Checks that `out` maps back to `in` under the padding (`same`: SAME, else VALID), and sets
 * the padding. Errors name the node and the axis ("height"/"width"). kernel and stride >= 1
 * and in, out >= 1 are the caller's to check. */
tfl_status tfl_tconv_plan_axis(tfl_context *ctx, const tfl_node *node, const char *axis, int same,
                               tfl_tconv_axis *a);

/* The largest output size along an axis whose SAME or VALID transposed convolution gives back
 * `in` (MediaPipe's rule for its output shape): stride * (in - 1) + kernel - total padding.
 * Returns -1 when it does not fit int32. */
int64_t tfl_tconv_out_size(int same, int32_t in, int32_t kernel, int32_t stride);

/* out = clamp(sum of contributions + bias[oc], lo, hi) in float; bias may be NULL. Each
 * output sums its input pixels row by row, one in_c-long dot product each, then adds the bias
 * (TFLite's order). Split over the context's threads by output rows. */
void tfl_tconv_eval_float(tfl_context *ctx, const tfl_tconv *g, const float *in,
                          const float *weights, const float *bias, float lo, float hi, float *out);

#endif
