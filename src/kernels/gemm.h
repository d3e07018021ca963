/* Packed float GEMM for the weighted float kernels (CONV_2D, FULLY_CONNECTED):
 *
 *   C[m x n] = clamp(A[m x k] * W^T + bias, lo, hi)
 *
 * W is the [n][k] weight matrix as TFLite stores filters and FC weights. It is packed once (in
 * prepare) into panels of TFL_GEMM_NR columns, k-major, zero-padded, so that a micro-kernel
 * reads each panel as one sequential stream. A is not packed: the caller hands the micro-kernel
 * row pointers. A row's k values may come in `taps` pieces of `kc` values each (k = taps * kc),
 * every piece from its own pointer; a convolution uses one piece per filter row (or tap)
 * pointing straight into the NHWC input (an indirection buffer, conv_gemm.h), so no im2col
 * copy is made, and a plain matrix uses one piece per row.
 *
 * Every output sums its k products in order in one float accumulator with fused multiply-adds,
 * then adds the bias and clamps: the same order as the reference kernels, with fewer
 * roundings, and the same result from every micro-kernel. */
#ifndef TFL_KERNELS_GEMM_H
#define TFL_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/simd.h"
#include "runtime/kernel.h"

#define TFL_GEMM_MR 6  /* rows of a micro-kernel tile */
#define TFL_GEMM_NR 16 /* columns of a micro-kernel tile, and of a packed panel */
/* Most pieces a row may have: the row pointers of a tile live on the stack. */
#define TFL_GEMM_MAX_TAPS 64

/* Computes the tile of rows [0, mr) x columns [0, nr) (mr <= MR, nr <= NR) at c: a holds
 * taps * MR row pointers, a[t * MR + i] the kc values of piece t of row i (entries i >= mr are
 * not read); b is the tile's panel, bias its NR biases. */
typedef void (*tfl_gemm_ukernel_fn)(int mr, int nr, int32_t kc, int32_t taps,
                                    const float *const *a, const float *b, const float *bias,
                                    float *c, size_t ldc, float lo, float hi);

/* An elementwise ADD fused after the product (runtime/fuse.h): c = clamp(c + r, lo, hi), with
 * r laid out as C, `ld` floats between rows. */
typedef struct tfl_gemm_residual {
  const float *r;
  size_t ld;
  float lo, hi;
} tfl_gemm_residual;

/* Adds the residual to the tile of rows [0, mr) x columns [0, nr) at c, right after the
 * micro-kernel wrote it (r points at the tile's place in the residual). */
typedef void (*tfl_gemm_residual_fn)(int mr, int nr, float *c, size_t ldc, const float *r,
                                     size_t ldr, float lo, float hi);

/* A single row of A (a matrix-vector product) against np <= TFL_GEMM_GEMV_PANELS consecutive
 * panels at once (their columns [0, n) from the first panel's): streaming several panels
 * together draws more bandwidth from memory, where a lone row's weights come from. Same sums
 * as the micro-kernel. */
#define TFL_GEMM_GEMV_PANELS 4
typedef void (*tfl_gemm_gemv_fn)(int np, int n, int32_t k, const float *a, const float *b,
                                 const float *bias, float *c, float lo, float hi);

typedef struct tfl_gemm_weights {
  float *panels; /* ceil(n / NR) panels of k * NR floats, then the biases padded to NR */
  const float *bias;
  int32_t n, k;
  tfl_gemm_ukernel_fn ukernel;
  tfl_gemm_residual_fn residual;
  tfl_gemm_gemv_fn gemv; /* NULL: the level runs single rows on the micro-kernel */
} tfl_gemm_weights;

/* Packs w ([n][k] row-major) and bias (n floats, or NULL for zeros) for the micro-kernel of
 * `level` (the portable one when the level has none). Packing again replaces the old panels.
 * TFL_OUT_OF_MEMORY when allocation fails (the weights are then empty). */
tfl_status tfl_gemm_pack(tfl_gemm_weights *pw, tfl_cpu_level level, const float *w,
                         const float *bias, int32_t n, int32_t k);
void tfl_gemm_weights_free(tfl_gemm_weights *pw);

/* Bytes of the panels and (zero) biases of an [n][k] product, for tfl_gemm_pack_into. */
size_t tfl_gemm_packed_bytes(int32_t n, int32_t k);
/* Packs w without bias into `buffer` (tfl_gemm_packed_bytes, 64-byte aligned, the caller's:
 * never pass such weights to tfl_gemm_weights_free). w is [n][k] rows, or with k_major
 * [k][n] (a matrix product's right operand as stored). Allocates nothing, so that eval can
 * pack an operand that changes at every invoke. */
void tfl_gemm_pack_into(tfl_gemm_weights *pw, tfl_cpu_level level, float *buffer,
                        const float *w, int32_t n, int32_t k, int k_major);

/* Fills ptrs[t * TFL_GEMM_MR + i] for rows row + i, i < mr, and every piece t. The pointers
 * may point into `scratch`, the calling thread's tfl_gemm_problem.scratch_floats floats,
 * which stay untouched until the next call on the same thread. */
typedef void (*tfl_gemm_rows_fn)(const void *arg, int32_t row, int mr, float *scratch,
                                 const float **ptrs);

typedef struct tfl_gemm_problem {
  int32_t m;           /* rows of A and C */
  int32_t taps, kc;    /* pieces per row and values per piece; taps * kc == k of the weights */
  tfl_gemm_rows_fn rows;
  const void *rows_arg;
  float *scratch;        /* scratch_floats per thread of the context, or NULL */
  size_t scratch_floats;
  float *c;
  size_t ldc;          /* floats between rows of C */
  float lo, hi;        /* clamp of the fused activation */
  const tfl_gemm_residual *residual; /* a fused ADD, or NULL */
} tfl_gemm_problem;

/* Runs the product, split into tiles over the context's threads (ctx NULL: in the caller).
 * Allocates nothing. */
void tfl_gemm_run(tfl_context *ctx, const tfl_gemm_weights *pw, const tfl_gemm_problem *p);

/* The plain case: A is m rows of k floats, lda floats apart. */
void tfl_gemm_matrix(tfl_context *ctx, const tfl_gemm_weights *pw, const float *a, size_t lda,
                     int32_t m, float *c, size_t ldc, float lo, float hi);
/* The same with a fused ADD (residual may be NULL). */
void tfl_gemm_matrix_residual(tfl_context *ctx, const tfl_gemm_weights *pw, const float *a,
                              size_t lda, int32_t m, float *c, size_t ldc, float lo, float hi,
                              const tfl_gemm_residual *residual);

/* Rows of the next tile when `left` rows remain: up to TFL_GEMM_MR, but never a last tile
 * of 1 to 3 rows after a full one (too few accumulators to hide the FMA latency). */
int tfl_gemm_tile_rows(int32_t left);

/* The micro-kernels (the portable one always exists). */
void tfl_gemm_ukernel_scalar(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                             const float *b, const float *bias, float *c, size_t ldc, float lo,
                             float hi);
void tfl_gemm_residual_scalar(int mr, int nr, float *c, size_t ldc, const float *r, size_t ldr,
                              float lo, float hi);
#if TFL_HAVE_X86_KERNELS
void tfl_gemm_ukernel_avx2(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                           const float *b, const float *bias, float *c, size_t ldc, float lo,
                           float hi);
void tfl_gemm_residual_avx2(int mr, int nr, float *c, size_t ldc, const float *r, size_t ldr,
                            float lo, float hi);
void tfl_gemm_gemv_avx2(int np, int n, int32_t k, const float *a, const float *b,
                        const float *bias, float *c, float lo, float hi);
#endif

/* How a product of `tiles` row tiles by `panels` column panels (each panel_bytes of packed
 * weights) is cut into tasks for `threads` threads: column blocks that fit in L2 times row
 * chunks, fine enough to balance threads. Shared by the float and the int8 GEMM. */
typedef struct tfl_gemm_split {
  int32_t block_panels, n_blocks, chunk_tiles, m_chunks;
} tfl_gemm_split;
void tfl_gemm_split_plan(int32_t tiles, int32_t panels, size_t panel_bytes, int threads,
                         tfl_gemm_split *out);

#endif
