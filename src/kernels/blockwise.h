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
 * Speed: the sums of scale * sum(w) over each unit's blocks depend on the weights only and are
 * computed once in prepare, in the order above. Per eval, the input rows are quantized and laid
 * out for the inner kernel chosen in prepare by CPU level (AVX2, NEON with or without the
 * dot-product extension, or portable C). A kernel call computes a tile of units and batch rows:
 * one unit for up to four rows, each weight unpacked once for all of them, or with fewer rows
 * up to four units. For each of its (unit, row) lanes it forms the exact integer dot
 * product of each block, its one-rounding product with the block's scale, and the float sum of
 * those products in block order from 0, lane by lane. Every kernel thus does the same float
 * operations in the same order and gives the same bits. The vector kernels take blocks that are
 * a multiple of TFL_BLOCKWISE_STEP values with exact sums; other blocks run the portable one. */
#ifndef TFL_KERNELS_BLOCKWISE_H
#define TFL_KERNELS_BLOCKWISE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/hybrid.h"
#include "kernels/simd.h"
#include "runtime/kernel.h"

/* Blocks of a unit whose products the vector kernels form together, values of one vector step
 * in a block, and (unit, row) lanes of a kernel call. */
#define TFL_BLOCKWISE_GROUP 8
#define TFL_BLOCKWISE_STEP 32
#define TFL_BLOCKWISE_LANES 4

/* A kernel call: `units` consecutive units for `rows` quantized input rows, units * rows <=
 * TFL_BLOCKWISE_LANES; lane l = i * rows + r is unit i with row r.
 *
 * The vector kernels take the rows in the split layout: a row is cut into segments (the whole
 * row for blocks of TFL_BLOCKWISE_STEP values, else each block), each segment into chunks of
 * 2 * TFL_BLOCKWISE_STEP codes and, when it holds an odd number of steps, a last chunk of
 * TFL_BLOCKWISE_STEP; each chunk is reordered to its codes at even positions, then those at odd
 * ones: the order of the low nibbles, then the high nibbles, of the chunk's weight bytes. */
typedef struct tfl_blockwise_tile {
  const int8_t *q;        /* row r's codes at q + r * q_stride */
  size_t q_stride;
  const int32_t *sums;    /* for kernels that ask (tfl_blockwise_fc.need_sums): the sum of each
                             block's codes of row r at sums + r * sums_stride, readable for a
                             whole TFL_BLOCKWISE_GROUP past the last block */
  size_t sums_stride;
  size_t rows;
  const uint8_t *w;       /* packed int4 weights, unit i's from element first + i * features */
  size_t first;
  const uint16_t *scales; /* unit i's fp16 block scales at scales + i * blocks */
  size_t units;
  size_t features, block, blocks;
} tfl_blockwise_tile;

/* The inner kernel: for each lane l (unit i, row r) with fp16 scales s_k of unit i,
 *   acc[l] = 0.0f, then for k in order acc[l] += float(dot_lk) * s_k,
 * dot_lk = sum(q * w) over block k (exact, or TFLite's float-rounded sum for blocks longer
 * than 16384). acc has room for TFL_BLOCKWISE_LANES values. The vector kernels need an even
 * `first` and `features`, and a multiple of TFL_BLOCKWISE_STEP no larger than 16384 for
 * `block`. */
typedef void (*tfl_blockwise_tile_fn)(const tfl_blockwise_tile *t, float *acc);

typedef struct tfl_blockwise_fc {
  int active;           /* the weights are blockwise-quantized */
  size_t units, in_features, block_size;
  int scales;           /* index of the fp16 scales tensor in the node's subgraph */
  tfl_blockwise_tile_fn kernel; /* the inner kernel for the interpreter's CPU level */
  int split;            /* it takes the split layout */
  int need_sums;        /* it takes the blocks' code sums */
  float *wsum_scaled;   /* per unit: sum over blocks of s_k * float(sum of the block's w) */
  tfl_hybrid_scratch input; /* scratch: the quantized rows and their parameters */
  int sums;             /* scratch: the code sums, when needed */
} tfl_blockwise_fc;

/* Checks the blockwise quantization of `weights` (2-D [units, in_features]; the caller has
 * found blockwise details `qd` on it), fills *bw, computes its weight sums and requests the
 * scratch of `batches` input rows. Errors name the problem: details without parameters,
 * weights not constant int4, a block size that does not divide in_features, a scales tensor
 * that is missing, not constant float16 or not [units, in_features / block]. May run again
 * on the same *bw (zeroed at first); tfl_blockwise_fc_free releases it. */
tfl_status tfl_blockwise_fc_prepare(tfl_context *ctx, tfl_node *node, const tfl_tensor *weights,
                                    const tfl_quant_details *qd, size_t batches,
                                    tfl_blockwise_fc *bw);
void tfl_blockwise_fc_free(tfl_blockwise_fc *bw);

/* out[b * units + u] for the `batches` rows of x (see the file comment); bias may be NULL.
 * Units are split over the context's threads. */
void tfl_blockwise_fc_eval(tfl_context *ctx, const tfl_node *node, const tfl_blockwise_fc *bw,
                           const float *x, size_t batches, const uint8_t *weights,
                           const float *bias, float *out);

/* One lane's float sum over a group of n blocks: *acc += prod[k] for k < n, in order. */
static inline void tfl_blockwise_add_products(float *acc, const float *prod, size_t n) {
  float a = *acc;
  for (size_t k = 0; k < n; k++) a += prod[k];
  *acc = a;
}

/* The TFL_BLOCKWISE_GROUP scales of a group of n blocks starting at s: s itself for a whole
 * group, else a copy padded with zeros in `pad`, so that kernels may read a whole group. */
static inline const uint16_t *tfl_blockwise_group_scales(const uint16_t *s, size_t n,
                                                         uint16_t *pad) {
  if (n == TFL_BLOCKWISE_GROUP) return s;
  for (size_t k = 0; k < TFL_BLOCKWISE_GROUP; k++) pad[k] = k < n ? s[k] : 0;
  return pad;
}

#if TFL_HAVE_X86_KERNELS
void tfl_blockwise_tile_avx2(const tfl_blockwise_tile *t, float *acc);
#endif
#if TFL_HAVE_ARM_KERNELS
void tfl_blockwise_tile_neon(const tfl_blockwise_tile *t, float *acc);
void tfl_blockwise_tile_neon_dot(const tfl_blockwise_tile *t, float *acc);
#endif

#endif
