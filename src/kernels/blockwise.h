/* FULLY_CONNECTED with int4 weights quantized blockwise (BlockwiseQuantization in the
 * schema), computed as TFLite's builtin kernel does, so that outputs match it bit for bit:
 *
 * - The weights [units, in_features] are int4, two to a byte: element i of the flattened
 *   tensor is the low nibble of byte i / 2 when i is even, the high nibble when it is odd.
 *   Each row is cut into blocks of block_size values; block j of unit u has the fp16 scale
 *   scales[u][j] (a constant [units, in_features / block_size] tensor), so a real weight is
 *   scale * q. Zero points are not used: TFLite's kernel ignores the zero_points tensor.
 * - Every input row is quantized asymmetrically to int8 (tfl_hybrid_quantize_asymmetric),
 *   whatever asymmetric_quantize_inputs says, giving q, a row scale S and a zero point Z.
 * - Per unit, in float and in this order: out = 0 and wsum = 0; for each block,
 *   out += float(dot(q, w)) * s and wsum += s * float(sum(w)); then out -= float(Z) * wsum,
 *   out *= S, out += bias. The caller applies the fused activation.
 *   TFLite sums each block's dot product in an int32 through float additions. With blocks of
 *   up to 16384 values every partial sum is an integer of at most 2^24 (|q * w| <= 1024),
 *   which float holds exactly, so integer sums are the same; longer blocks are summed with
 *   TFLite's float rounding.
 *
 * Two deliberate differences from TFLite's builtin kernel: it skips the fused activation
 * (XNNPACK applies it; tfl does), and for shapes its blockwise path does not take (fewer than
 * 4 units, fewer than 32 or an odd number of input features) it falls back to a per-tensor
 * hybrid product with a zero filter scale and outputs just the bias; tfl computes the
 * blockwise product for every shape. Weights that are not constant, which TFLite treats the
 * same way, tfl refuses.
 *
 * Speed: an inner kernel chosen in prepare by CPU level (AVX2, NEON, or portable C) computes
 * a group of TFL_BLOCKWISE_GROUP blocks of one unit at a time: the exact integer sums of each
 * block and their two float products with the block's scale (each one rounding, so the same
 * bits whichever kernel computes them). The caller adds the products into the unit's two
 * float sums in block order, as above, so every kernel gives the same output bits. The vector
 * kernels take blocks that are a multiple of TFL_BLOCKWISE_STEP values with exact sums; other
 * blocks run the portable one. */
#ifndef TFL_KERNELS_BLOCKWISE_H
#define TFL_KERNELS_BLOCKWISE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/hybrid.h"
#include "kernels/simd.h"
#include "runtime/kernel.h"

/* Blocks per inner kernel call, and the values of one vector step in a block. */
#define TFL_BLOCKWISE_GROUP 8
#define TFL_BLOCKWISE_STEP 32

/* The inner kernel, for blocks k < n (n <= TFL_BLOCKWISE_GROUP) of `block` values each, the
 * first starting at element `first` of the packed int4 weights w and at q[0]: with dot_k =
 * sum(q * w) and wsum_k = sum(w) over block k (exact integers, or TFLite's float-rounded dot
 * for blocks longer than 16384) and s_k = float(scales[k]),
 *   prod[k] = float(dot_k) * s_k,  wprod[k] = s_k * float(wsum_k).
 * It may read all TFL_BLOCKWISE_GROUP scales and write that many products (the ones past n
 * are meaningless). The vector kernels need an even `first` and a multiple of
 * TFL_BLOCKWISE_STEP no larger than 16384 for `block`. */
typedef void (*tfl_blockwise_group_fn)(const int8_t *q, const uint8_t *w, size_t first,
                                       size_t block, size_t n, const uint16_t *scales,
                                       float *prod, float *wprod);

typedef struct tfl_blockwise_fc {
  int active;           /* the weights are blockwise-quantized */
  size_t units, in_features, block_size;
  int scales;           /* index of the fp16 scales tensor in the node's subgraph */
  tfl_blockwise_group_fn group; /* the inner kernel for the interpreter's CPU level */
} tfl_blockwise_fc;

/* Checks the blockwise quantization of `weights` (2-D [units, in_features]; the caller has
 * found blockwise details `qd` on it) and fills *bw. Errors name the problem: details without
 * parameters, weights not constant int4, a block size that does not divide in_features, a
 * scales tensor that is missing, not constant float16 or not [units, in_features / block]. */
tfl_status tfl_blockwise_fc_prepare(tfl_context *ctx, const tfl_node *node,
                                    const tfl_tensor *weights, const tfl_quant_details *qd,
                                    tfl_blockwise_fc *bw);

/* out[b * units + u] for `batches` input rows quantized into q / rows (see the file
 * comment); bias may be NULL. Units are split over the context's threads. */
void tfl_blockwise_fc_run(tfl_context *ctx, const tfl_blockwise_fc *bw, const int8_t *q,
                          const tfl_hybrid_row *rows, size_t batches, const uint8_t *weights,
                          const float *bias, float *out);

#if TFL_HAVE_X86_KERNELS
void tfl_blockwise_group_avx2(const int8_t *q, const uint8_t *w, size_t first, size_t block,
                              size_t n, const uint16_t *scales, float *prod, float *wprod);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_blockwise_group_neon(const int8_t *q, const uint8_t *w, size_t first, size_t block,
                              size_t n, const uint16_t *scales, float *prod, float *wprod);
#endif

#endif
