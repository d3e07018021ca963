/* What the 2-D windowed kernels (CONV_2D, DEPTHWISE_CONV_2D, the pools) and FULLY_CONNECTED
 * share: the output size and padding of a sliding window for SAME/VALID padding with stride
 * and dilation, exactly as TFLite computes them, the fused-activation clamp of TFLite's
 * float kernels, and the integer arithmetic of the quantized and hybrid paths (validation,
 * requantization, window gathering).
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
  TFL_PATH_HYBRID,    /* float32 input quantized on the fly, quantized filter (int8 runs) */
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

/* --- integer arithmetic of the weighted ops ------------------------------------------
 * CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on int8/uint8/int16 inputs (and the integer
 * half of their hybrid paths) accumulate sum((w - filter_zp) * (x - input_zp)) over the
 * in-bounds taps, add the bias and requantize per output channel. */

typedef enum tfl_window_op {
  TFL_WINDOW_CONV,
  TFL_WINDOW_DEPTHWISE,
  TFL_WINDOW_FULLY_CONNECTED
} tfl_window_op;

/* How an accumulator becomes an output code; TFLite's kernel dispatch decides, see
 * tfl_window_quant_prepare.
 *   DOUBLE: MultiplyByQuantizedMultiplier with its two roundings (TFLite's reference kernels,
 *           its depthwise kernels, and gemmlowp for uint8);
 *   RUY:    the same high multiply, then a shift rounding ties toward +infinity (the ruy
 *           GEMM backend of TFLite's x86 build, which runs int8 and int16 CONV_2D without
 *           groups and FULLY_CONNECTED; measured against the reference suite);
 *   WIDE:   the 64-bit-accumulator variant with a 16-bit multiplier (16x8 with int64 bias);
 *   REAL:   acc * (input_scale * filter_scale / output_scale) in double, rounded half away
 *           from zero (TFLite's 16x8 FULLY_CONNECTED reference kernel). */
typedef enum tfl_window_requant {
  TFL_REQUANT_DOUBLE,
  TFL_REQUANT_RUY,
  TFL_REQUANT_WIDE,
  TFL_REQUANT_REAL
} tfl_window_requant;

/* Per-node quantization state of a weighted op, computed in prepare. The per-channel arrays
 * have one entry per output channel (a per-tensor filter repeats its value) and live in one
 * heap block that tfl_window_quant_free releases. */
typedef struct tfl_window_quant {
  tfl_window_requant mode;
  int acc64;             /* accumulate in 64 bits (16x8), else in wrapping 32-bit arithmetic */
  int32_t input_offset;  /* minus the input zero point */
  int32_t filter_offset; /* minus the filter zero point (per-tensor filters only) */
  int32_t output_offset; /* the output zero point */
  int32_t act_min, act_max;
  int per_channel;       /* the filter has one scale per output channel */
  int uniform_scale;     /* ... and they are all equal (or it has one scale) */
  int32_t channels;
  int32_t *multiplier;   /* integer paths */
  int32_t *shift;
  double *real;          /* TFL_REQUANT_REAL */
  float *filter_scale;   /* hybrid paths */
  void *block;
  size_t block_bytes;
} tfl_window_quant;

/* Checks what TFLite requires of a quantized (int8/uint8/int16 input) weighted op and fills
 * `q` for an op with `channels` output channels and fused activation `act`:
 * - uint8 input: uint8 filter with one scale and any zero point; int8/int16 input: int8
 *   filter with zero points 0, one scale or one per output channel along the op's channel
 *   axis (dimension 0 of CONV_2D and FULLY_CONNECTED filters, 3 of DEPTHWISE_CONV_2D). A
 *   per-tensor int8 FULLY_CONNECTED filter may have a zero point, as in TFLite.
 * - bias: int32 (int16 inputs: int64, or int32 where the op has a quantized_bias_type and it
 *   agrees), zero points 0. int16 inputs and outputs have zero point 0. Scales are positive
 *   (filter scales non-negative) and finite.
 * - multipliers: input_scale * filter_scale[c] / output_scale in double; for uint8 inputs and
 *   per-tensor FULLY_CONNECTED filters TFLite multiplies the two scales in float first. A bias
 *   scale must be within 0.02 output steps of input_scale * filter_scale[c].
 * - activation: the clamp of tfl_quantized_activation_range; TANH and SIGN_BIT clamp nothing,
 *   as in TFLite's quantized convolutions (FULLY_CONNECTED rejects them before).
 * `gemm` says whether TFLite runs the op through its GEMM backend (CONV_2D without groups,
 * FULLY_CONNECTED), which decides the rounding. */
tfl_status tfl_window_quant_prepare(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                    int gemm, const tfl_tensor *input, const tfl_tensor *filter,
                                    const tfl_tensor *bias, const tfl_tensor *output, int act,
                                    int32_t channels, tfl_window_quant *q);

/* The filter side of a hybrid (float input, int8 filter) weighted op: checks the filter's
 * quantization (symmetric; one scale or one per output channel along the op's channel axis)
 * and fills q->filter_scale, q->per_channel and q->uniform_scale. */
tfl_status tfl_window_hybrid_prepare(tfl_context *ctx, const tfl_node *node, tfl_window_op op,
                                     const tfl_tensor *filter, int32_t channels,
                                     tfl_window_quant *q);

void tfl_window_quant_free(tfl_window_quant *q);

/* The input values under output pixel (oy, ox) of the NHWC image `image` (`channels` per
 * pixel), channels [c0, c0 + n) of each tap, as int32 with `offset` added; tap-major, so
 * kh * kw * n values, and a tap in the padding gives n zeros (a zero real value). `type` is
 * TFL_INT8, TFL_UINT8 or TFL_INT16. Returns the sum of the values written. */
int64_t tfl_window_gather(const tfl_window *win, int32_t oy, int32_t ox, tfl_type type,
                          const void *image, int32_t channels, int32_t c0, int32_t n,
                          int32_t offset, int32_t *patch);

/* Converts `n` values of an int8/uint8/int16 array (from element `start`) to int32 with
 * `offset` added; returns their sum. */
int64_t tfl_window_widen(tfl_type type, const void *src, size_t start, size_t n, int32_t offset,
                         int32_t *dst);

/* sum(w[i] * x[i]) for an int8 or uint8 row w: in wrapping 32-bit arithmetic, as TFLite's
 * int32 accumulators, or in 64 bits. */
int32_t tfl_window_dot32(tfl_type w_type, const void *w, const int32_t *x, size_t n);
int64_t tfl_window_dot64(const int8_t *w, const int32_t *x, size_t n);

/* Bias element c as the accumulator type sees it (0 without a bias). */
int64_t tfl_window_bias_at(const tfl_tensor *bias, int32_t c);

/* The accumulator of output channel c: sum((w - filter_zp) * x) + bias[c], for row `row` of
 * the int8/uint8 filter (k values each) and inputs x (already offset) whose sum is xsum; in
 * wrapping 32-bit arithmetic, or in 64 bits when q->acc64. */
int64_t tfl_window_accumulate(const tfl_window_quant *q, const tfl_tensor *filter, size_t row,
                              size_t k, const int32_t *x, int64_t xsum, const tfl_tensor *bias,
                              int32_t c);

/* Output code of channel c for accumulator `acc` (already including the bias): requantized
 * per q->mode, plus the output zero point, clamped to [act_min, act_max]. */
int32_t tfl_window_requantize(const tfl_window_quant *q, int32_t c, int64_t acc);

/* Writes code v as element i of an int8/uint8/int16 array. */
static inline void tfl_window_store(tfl_type type, void *out, size_t i, int32_t v) {
  switch (type) {
    case TFL_UINT8:
      ((uint8_t *)out)[i] = (uint8_t)v;
      return;
    case TFL_INT16:
      ((int16_t *)out)[i] = (int16_t)v;
      return;
    default:
      ((int8_t *)out)[i] = (int8_t)v;
      return;
  }
}

/* TFLite's min(max(x, lo), hi): NaN passes through unchanged. */
static inline float tfl_window_clamp(float x, float lo, float hi) {
  if (x < lo) return lo;
  if (hi < x) return hi;
  return x;
}

#endif
