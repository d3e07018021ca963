/* What the 2-D windowed kernels (CONV_2D, DEPTHWISE_CONV_2D, the pools) and FULLY_CONNECTED
 * share: the output size and padding of a sliding window for SAME/VALID padding with stride
 * and dilation, exactly as TFLite computes them, and the fused-activation clamp of TFLite's
 * float kernels.
 *
 * Padding rule (TFLite's, which matches TensorFlow's GetWindowedOutputSize), per axis, with
 * effective_filter = (filter - 1) * dilation + 1:
 *   SAME:  out = ceil(in / stride)
 *   VALID: out = ceil((in - effective_filter + 1) / stride), or 0 when the filter is larger
 *   pad_before = max(0, (out - 1) * stride + effective_filter - in) / 2
 * The odd element of an odd total padding goes after the input (bottom / right). */
#ifndef TFL_KERNELS_WINDOW_H
#define TFL_KERNELS_WINDOW_H

#include <stdint.h>

#include "runtime/kernel.h"

/* The Padding enum of the schema. */
enum { TFL_PADDING_SAME = 0, TFL_PADDING_VALID = 1 };

/* One spatial axis of a window. The caller sets the first four fields, tfl_window_plan()
 * the last two. */
typedef struct tfl_window_axis {
  int32_t in;       /* input size along the axis */
  int32_t filter;   /* filter taps */
  int32_t stride;
  int32_t dilation;
  int32_t out;      /* output size */
  int32_t pad;      /* implicit zeros before the first input element */
} tfl_window_axis;

typedef struct tfl_window {
  tfl_window_axis h, w;
} tfl_window;

/* Where a window's settings live in the node's options table (field indices); -1 for a
 * dilation the table lacks, which then is 1. */
typedef struct tfl_window_fields {
  int padding, stride_w, stride_h, dilation_w, dilation_h;
} tfl_window_fields;

/* Reads padding, strides and dilations from the options, validates them and the filter size
 * kh x kw, and plans the window over the NHWC `input`. Errors name the node and the offending
 * value. After success every input coordinate eval derives
 * (output * stride - pad + tap * dilation) fits in int32. */
tfl_status tfl_window_plan(tfl_context *ctx, const tfl_node *node, const tfl_window_fields *f,
                           const tfl_tensor *input, int32_t kh, int32_t kw, tfl_window *win);

/* The taps [*first, *end) of output position `o` that land inside the input (padding taps are
 * skipped, which is how TFLite pads with zeros); returns the input coordinate of tap 0, which
 * may lie in the padding. */
int32_t tfl_window_taps(const tfl_window_axis *a, int32_t o, int32_t *first, int32_t *end);

/* What the float paths of CONV_2D, DEPTHWISE_CONV_2D, the pools and FULLY_CONNECTED check
 * alike: an optional float32 bias (NULL when absent) and the fused activation in options
 * field `act_field`, turned into the clamp range [lo, hi] TFLite's float kernels use:
 * RELU, RELU_N1_TO_1 and RELU6 clamp; NONE clamps to the finite float range (TFLite turns
 * +-inf into +-FLT_MAX there); TANH and SIGN_BIT are ignored by those TFLite kernels, so they
 * get the NONE range too (FULLY_CONNECTED rejects them before calling this, as TFLite does).
 * Unknown codes are an error. */
tfl_status tfl_window_float_epilogue(tfl_context *ctx, const tfl_node *node,
                                     const tfl_tensor *bias, int act_field, float *lo,
                                     float *hi);

/* The arithmetic a weighted op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) needs, decided by
 * its input and filter types. Each kernel prepares and evaluates each path in its own
 * functions, side by side. */
typedef enum tfl_window_path {
  TFL_PATH_FLOAT,     /* float32 input and filter */
  TFL_PATH_HYBRID,    /* float32 input, int8/uint8/int4 filter dequantized on the fly */
  TFL_PATH_QUANTIZED  /* int8/uint8/int16 input */
} tfl_window_path;

/* Picks the path; an error names the types no path handles. The output must have the
 * input's type. */
tfl_status tfl_window_pick_path(tfl_context *ctx, const tfl_node *node, const tfl_tensor *input,
                                const tfl_tensor *filter, const tfl_tensor *output,
                                tfl_window_path *path);
/* The TFL_UNSUPPORTED error for a path a kernel does not implement (yet). */
tfl_status tfl_window_path_unsupported(tfl_context *ctx, const tfl_node *node,
                                       tfl_window_path path);

/* Checks that the node's builtin options, if present, are the table `options_type` (a
 * TFL_OPTS_* value); absent options read as the schema defaults. */
tfl_status tfl_window_check_options(tfl_context *ctx, const tfl_node *node, int options_type);

/* A byte-wide field of the node's builtin options (the Padding and ActivationFunctionType
 * enums, weights_format): tfl_opt_int reads four bytes, which is wrong for these. To be
 * replaced by a kernel.h accessor once there is one. */
int tfl_window_opt_byte(const tfl_node *node, int field, int def);

/* TFLite's min(max(x, lo), hi): NaN passes through unchanged. */
static inline float tfl_window_clamp(float x, float lo, float hi) {
  if (x < lo) return lo;
  if (hi < x) return hi;
  return x;
}

#endif
