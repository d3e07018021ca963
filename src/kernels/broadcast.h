/* NumPy-style broadcasting of two operands, shared by the elementwise binary kernels.
 *
 * Shapes are aligned at their last dimension and a missing leading dimension counts as 1.
 * In every position the two sizes must be equal or one of them 1; the output takes the
 * larger, except that 1 against 0 gives 0 (TFLite's CalculateShapeForBroadcast).
 *
 * prepare builds a tfl_bcast plan once. The plan drops the output's size-1 dimensions and
 * merges neighbouring dimensions that both operands treat alike (both present or both
 * broadcast), so equal shapes and scalar operands become one run, [N,H,W,C] + [C] becomes
 * [N*H*W, C] and [N,C] + [N,1] becomes [N, C] with the second operand fixed along C. eval
 * walks the outer dimensions and hands every innermost run to a typed loop, which the
 * TFL_BCAST_FN macro below generates from an expression. */
#ifndef TFL_KERNELS_BROADCAST_H
#define TFL_KERNELS_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/kernel.h"

typedef struct tfl_bcast {
  int ndim;                      /* merged dimensions, at least 1 */
  size_t dims[TFL_MAX_DIMS];     /* merged output dimensions */
  size_t a_stride[TFL_MAX_DIMS]; /* in elements; 0 where the operand is broadcast */
  size_t b_stride[TFL_MAX_DIMS];
  size_t count;                  /* output elements (0 for an empty output) */
} tfl_bcast;

/* One innermost run: out[i] = f(a[i * a_step], b[i * b_step]) for i < n, where each step is
 * 0 (the operand repeats one value) or 1. arg is what tfl_broadcast_run was given. */
typedef void (*tfl_bcast_fn)(const void *a, int a_step, const void *b, int b_step, void *out,
                             size_t n, const void *arg);

/* prepare's common start for an op of two same-typed operands and one output: checks the
 * counts and the types and fetches the tensors. */
tfl_status tfl_broadcast_operands(tfl_context *ctx, tfl_node *node, const tfl_tensor **a,
                                  const tfl_tensor **b, tfl_tensor **out);

/* The broadcast shape of a and b into ndim/dims. Incompatible shapes are reported with both
 * shapes and the tensors' names. */
tfl_status tfl_broadcast_shape(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                               const tfl_tensor *b, int *ndim, int32_t dims[TFL_MAX_DIMS]);

/* The plan for shapes already accepted by tfl_broadcast_shape. */
void tfl_broadcast_plan(const tfl_tensor *a, const tfl_tensor *b, tfl_bcast *plan);

/* Applies fn over the whole output. The sizes are the element sizes of a, b and out. */
void tfl_broadcast_run(const tfl_bcast *plan, const void *a, size_t a_size, const void *b,
                       size_t b_size, void *out, size_t out_size, tfl_bcast_fn fn,
                       const void *arg);

/* The same, split over the context's threads in chunks of TFL_BCAST_CHUNK output elements
 * (fn must then be safe to call concurrently: the TFL_BCAST_FN ones are); small outputs stay
 * in the caller. */
#define TFL_BCAST_CHUNK ((size_t)16384)
void tfl_broadcast_run_parallel(tfl_context *ctx, const tfl_bcast *plan, const void *a,
                                size_t a_size, const void *b, size_t b_size, void *out,
                                size_t out_size, tfl_bcast_fn fn, const void *arg);

/* Defines `static void name(...)`, a tfl_bcast_fn computing EXPR for every element, with the
 * operands as `x` (type TA) and `y` (type TB) and the result stored as TO. SETUP is a
 * declaration (without a top-level comma: it may pass through TFL_BCAST_FN_WITH) run once
 * per call, typically copying fields of `arg` into locals that EXPR
 * uses: a value held in a local cannot alias the output, so the loops stay vectorizable. The
 * four step combinations get their own loops for the same reason. */
#define TFL_BCAST_FN_WITH2(name, TA, TB, TO, SETUP, EXPR)                                    \
  static void name(const void *a_, int a_step, const void *b_, int b_step, void *out_,      \
                   size_t n, const void *arg) {                                             \
    const TA *a = a_;                                                                       \
    const TB *b = b_;                                                                       \
    TO *out = out_;                                                                         \
    SETUP;                                                                                  \
    if (a_step && b_step) {                                                                 \
      for (size_t i = 0; i < n; i++) {                                                      \
        const TA x = a[i];                                                                  \
        const TB y = b[i];                                                                  \
        out[i] = (TO)(EXPR);                                                                \
      }                                                                                     \
    } else if (a_step) {                                                                    \
      const TB y = b[0];                                                                    \
      for (size_t i = 0; i < n; i++) {                                                      \
        const TA x = a[i];                                                                  \
        out[i] = (TO)(EXPR);                                                                \
      }                                                                                     \
    } else if (b_step) {                                                                    \
      const TA x = a[0];                                                                    \
      for (size_t i = 0; i < n; i++) {                                                      \
        const TB y = b[i];                                                                  \
        out[i] = (TO)(EXPR);                                                                \
      }                                                                                     \
    } else {                                                                                \
      const TA x = a[0];                                                                    \
      const TB y = b[0];                                                                    \
      const TO v = (TO)(EXPR);                                                              \
      for (size_t i = 0; i < n; i++) out[i] = v;                                            \
    }                                                                                       \
  }

/* Both operands of type T. */
#define TFL_BCAST_FN_WITH(name, T, TO, SETUP, EXPR) TFL_BCAST_FN_WITH2(name, T, T, TO, SETUP, EXPR)

/* The same without per-call state. */
#define TFL_BCAST_FN(name, T, TO, EXPR) TFL_BCAST_FN_WITH(name, T, TO, (void)arg, EXPR)

#endif
