/* Graph fusion: rewrites of a subgraph's nodes, made once when the interpreter is built, that
 * save whole passes over memory without changing any result.
 *
 * - PAD (or PADV2 with a zero constant) whose only reader is a float CONV_2D or
 *   DEPTHWISE_CONV_2D: the convolution reads the PAD's input and adds the zeros itself, as
 *   explicit padding of its window (a padding tap reads or skips a zero either way).
 * - A float 1x1 stride-1 CONV_2D whose output only a float DEPTHWISE_CONV_2D (channel
 *   multiplier 1) reads, at a level with fast depthwise kernels (so never at TFL_CPU=scalar):
 *   the depthwise convolution expands its input a few rows at a time into cache
 *   (kernels/dwconv.h) instead of reading a whole tensor the 1x1 convolution wrote.
 * - A float ADD of two same-shaped tensors, one of them the only use of a float CONV_2D with
 *   no fused activation: the convolution adds the other operand in its epilogue and applies
 *   the ADD's activation, writing the ADD's output. Its arithmetic is the two ops' own: the
 *   convolution's value clamped to the finite range, plus the operand, clamped. The
 *   convolution chosen is the last of the two producers, so the operand is ready when it runs.
 *
 * A fused convolution runs a registration of its own (tfl_conv_2d_fused,
 * tfl_depthwise_conv_2d_fused) that reads its tfl_fusion record; a node fused away keeps its
 * place but has no inputs, outputs or kernel. Only builtin kernels are rewritten, never a
 * tensor a caller can name (graph inputs and outputs, signature tensors) goes away, and the
 * environment variable TFL_FUSE=0 turns the pass off (to compare with the plain graph). */
#ifndef TFL_RUNTIME_FUSE_H
#define TFL_RUNTIME_FUSE_H

#include <stdint.h>

#include "tfl/op.h"

/* Input slots of a fused node: the convolution's three, a fused ADD's other operand, and a
 * fused 1x1 expansion's filter and bias (-1 where unused). */
enum {
  TFL_FUSED_RESIDUAL = 3,
  TFL_FUSED_EXPAND_FILTER = 4,
  TFL_FUSED_EXPAND_BIAS = 5,
  TFL_FUSED_INPUTS = 6
};

/* Where a fused node finds what it absorbed. */
typedef struct tfl_fusion {
  int32_t pad_top, pad_bottom, pad_left, pad_right; /* zeros around input 0 (a PAD) */
  int residual;       /* TFL_FUSED_RESIDUAL when an ADD is fused, else -1 */
  int add_activation; /* the ADD's fused activation (when residual >= 0) */
  int expand;         /* a depthwise convolution whose input 0 is its 1x1 expansion's input */
  float expand_lo, expand_hi; /* the expansion's clamp */
} tfl_fusion;

/* A fused node's record; NULL for any other node. */
const tfl_fusion *tfl_node_fusion(const tfl_node *node);

/* The fused variants of the builtin convolutions (conv.c, depthwise.c). */
extern const tfl_op_registration tfl_conv_2d_fused;
extern const tfl_op_registration tfl_depthwise_conv_2d_fused;

struct tfl_context;
/* Rewrites the nodes of a subgraph whose kernels are bound; TFL_OUT_OF_MEMORY on failure
 * (the nodes are then unchanged). */
tfl_status tfl_fuse_subgraph(struct tfl_context *ctx);
/* Frees what the pass allocated for the subgraph. */
void tfl_fuse_free(struct tfl_context *ctx);

#endif
