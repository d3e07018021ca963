/* Fast paths of the int8/uint8 weighted kernels (CONV_2D, FULLY_CONNECTED; the depthwise one
 * in qdwconv.h shares the requantization here).
 *
 * Exactness: the reference kernels accumulate sum((x + input_offset) * (w + filter_offset))
 * + bias in wrapping int32 arithmetic and requantize per output channel (window.h). Here both
 * factors are widened to int16 with their offsets already added (each is within [-255, 255]),
 * and pairs of products are summed into int32 (x86: vpmaddwd, which cannot overflow on such
 * values); int32 additions wrap like the reference's, so every accumulator is the reference's
 * bit for bit, whatever the order. Requantization reproduces tfl_mul_by_quantized_multiplier
 * (DOUBLE) or its ruy variant (RUY) exactly, lane by lane.
 *
 * GEMM: C[m x n] = requantize(A[m x k] * W^T + bias). W ([n][k], TFLite's filter layout) is
 * packed once in prepare into panels of TFL_QGEMM_NR columns holding pairs of consecutive k
 * values (k padded to even with zeros), so that one 32-bit broadcast of two A values meets
 * 8 columns x 2 k values. A is widened per tile of TFL_QGEMM_MR rows into per-thread scratch
 * (a convolution gathers its window there: im2col one tile at a time).
 *
 * Quad panels (AVX2): vpmaddubsw multiplies 32 pairs of u8 x s8 bytes at once but saturates
 * its int16 sums, so it serves only where that provably cannot happen. Each group of 4
 * consecutive k values of a panel (a quad) whose s = w + filter_offset are all int8 and,
 * for every column and pair, sum the positive and the negative s to at most 128 in
 * magnitude, is safe: 255 * 128 <= 32767, whatever the u8 inputs. Safe quads hold s as
 * bytes and meet the input codes as u8 (int8 codes + 128), vpmaddwd by ones adds each
 * column's 2 pair sums into int32; the (zero-point-free) rest of the product, the input
 * offset (minus 128 for int8) times the sum of the safe s, goes into the bias. Two safe
 * quads whose 4 s per column and int16 lane also sum to at most 128 per sign pair up: their
 * pair sums add in int16 (exactly, the total being within the same bound) before one
 * vpmaddwd. Unsafe quads keep the int16 pairs, or, when they are few, split into safe
 * entries that meet the same 4 codes (their even k values, then their odd ones, so that each
 * int16 lane holds one product; an s beyond int8 spreads over up to 3 such levels), which
 * spares every tile the int16 copy of A. Every sum is exact and wraps like the
 * reference's. */
#ifndef TFL_KERNELS_QGEMM_H
#define TFL_KERNELS_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/simd.h"
#include "kernels/window.h"
#include "runtime/kernel.h"

/* --- requantization ------------------------------------------------------------------
 * One slot per output channel (in whatever order a kernel's vectors hold them), each array
 * padded to a multiple of 16 slots (padding slots requantize harmlessly). For an accumulator
 * x (bias included), with v = x << left (wrapping) and z = v * mult (64 bits):
 *   DOUBLE: y = (z + 2^30) >> 31 (the doubling high multiply), then
 *           sign(y) * ((|y| + half) >> right), |y| + half unsigned, half = 2^right / 2 (0 for
 *           right 0): rounding half away from zero;
 *   RUY:    (z + 2^30 + half * 2^31) >> (31 + right): the high multiply and the shift's
 *           rounding (ties up) fused into one, which gives the same value (adding an integer
 *           commutes with floor, and floors of floors divide). Kernels add 2^62 so that a
 *           logical 64-bit shift serves, and subtract its trace from the output offset;
 *   DOUBLE, fused: when right >= 1, ties away from zero are ties up by half for y >= 0 and by
 *           half - 1 for y < 0, so the same single shift serves with the rounding constant
 *           less 2^31 for negative y. y < 0 exactly when z < -2^30; choosing by the sign of x,
 *           or of z, instead changes nothing, as both constants give 0 for z in [-2^30, 0);
 * and finally out = clamp(v + out_offset, act_min, act_max).
 * The fused forms (left 0, right >= 1) shift in two exact steps, floor(s / 2^32) (the high
 * half of the signed 64-bit sum s = z + constant, which cannot overflow as |z| < 2^62), then
 * an arithmetic shift by right - 1 of that int32, so they need no 2^62 and no trace. */
typedef struct tfl_qreq {
  int32_t *bias, *mult, *left, *right, *shift; /* shift: of (multiplier, shift) */
  int32_t *half;       /* DOUBLE */
  /* RUY, by groups of 8 slots, the even slots' 4 values first, then the odd ones': */
  int64_t *ruy_round;  /* 2^62 + 2^30 + half * 2^31 */
  int64_t *ruy_shift;  /* 31 + right */
  int32_t *ruy_offset; /* per slot: out_offset - 2^(31 - right), wrapping */
  /* The fused forms (`fused` set), grouped like ruy_round: */
  int64_t *fused_round;     /* 2^30 + half * 2^31 */
  int64_t *fused_round_neg; /* DOUBLE, for negative z: fused_round - 2^31 */
  int32_t *fused_shift;     /* per slot: right - 1 */
  int ruy;             /* TFL_REQUANT_RUY, else TFL_REQUANT_DOUBLE */
  int fused;           /* every slot has left 0 and right >= 1 */
  int32_t out_offset, act_min, act_max;
  tfl_type out_type;   /* TFL_INT8 or TFL_UINT8 */
  void *block;
} tfl_qreq;

/* Whether the fast paths reproduce this quantized op: int8/uint8 input and output, 32-bit
 * accumulators, DOUBLE or RUY requantization, no bias or a constant int32 one, and a constant
 * filter; never at TFL_CPU_SCALAR (which asks for the reference kernels). */
int tfl_qreq_supports(tfl_cpu_level level, const tfl_window_quant *q, const tfl_tensor *input,
                      const tfl_tensor *filter, const tfl_tensor *bias);

/* Allocates `slots` zeroed slots (rounded up to 16) and takes q's mode, offsets and clamp.
 * TFL_OUT_OF_MEMORY on failure. */
tfl_status tfl_qreq_init(tfl_qreq *r, int32_t slots, const tfl_window_quant *q,
                         tfl_type out_type);
/* Slot `slot` requantizes output channel c of q, with `bias` added first. */
void tfl_qreq_set(tfl_qreq *r, int32_t slot, const tfl_window_quant *q, int32_t c, int32_t bias);
/* The output code of accumulator acc (bias not yet added) in slot `slot`. */
int32_t tfl_qreq_apply(const tfl_qreq *r, int32_t slot, int32_t acc);
void tfl_qreq_free(tfl_qreq *r);

/* The error of a setup function that could not pack `filter`. */
tfl_status tfl_qgemm_out_of_memory(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *filter);

/* --- GEMM ---------------------------------------------------------------------------- */
#define TFL_QGEMM_MR 6
#define TFL_QGEMM_NR 16
#define TFL_QGEMM_QUAD 4
/* Entries a quad may take in a quad panel (split into safe ones: qgemm_quad.c). */
#define TFL_QGEMM_QUAD_ENTRIES 6

/* Computes rows [0, mr) (mr <= MR) of C in the columns of panels [panel0, panel1): a holds
 * the tile's rows, kp int16 values each, one after the other; c is the tile's row 0 at column
 * 0, rows ldc bytes apart. */
struct tfl_qgemm_weights;
typedef void (*tfl_qgemm_ukernel_fn)(const struct tfl_qgemm_weights *pw, int mr,
                                     const int16_t *a, int32_t panel0, int32_t panel1,
                                     uint8_t *c, size_t ldc);
/* The same on quad panels: the tile's rows as u8 codes (a8) and, when pw->wide, as int16
 * (a16), both pw->stride values apart. */
typedef void (*tfl_qgemm_quad_fn)(const struct tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                                  const int16_t *a16, int32_t panel0, int32_t panel1,
                                  uint8_t *c, size_t ldc);
/* The same reading A in place: pair j of row i at a + i * row_stride + offsets[j]. */
typedef void (*tfl_qgemm_direct_fn)(const struct tfl_qgemm_weights *pw, int mr,
                                    const int16_t *a, size_t row_stride, const int32_t *offsets,
                                    int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc);
/* dst[i] = src[i] + offset for n int8 (or uint8) values. */
typedef void (*tfl_qgemm_widen_fn)(tfl_type type, const void *src, int32_t n, int32_t offset,
                                   int16_t *dst);

typedef struct tfl_qgemm_weights {
  /* ceil(n / NR) panels of kp / 2 pairs x NR columns x 2 values: int16 w + filter_offset, or,
   * when `bytes`, the filter's own int8/uint8 codes (the kernel adds the offset); or, with
   * `quad`, quad panels: per panel its safe quads (NR columns x 4 int8 s, columns 0-7 then
   * 8-15), paired ones first, then its unsafe ones (2 pairs of int16 rows as above) */
  void *panels;
  int bytes;             /* for a single row (matrix-vector): half the weight traffic */
  tfl_type filter_type;
  int32_t filter_offset;
  tfl_qreq req;          /* slot = column; with quad panels the bias includes the correction */
  int32_t n, k, kp;       /* kp: k rounded up to even */
  int32_t stride;         /* of the rows of A tiles: kp, or 4 * quads */
  int wide;               /* the kernel reads the int16 A tile */
  tfl_qgemm_ukernel_fn ukernel;
  tfl_qgemm_direct_fn direct; /* on pair panels, where the kernels have it */
  /* Where set, for a last panel of at most 8 columns: half the work (a8 and a16, or a with
   * offsets NULL: consecutive pairs) */
  tfl_qgemm_direct_fn half;
  tfl_qgemm_quad_fn quad_half;
  tfl_qgemm_widen_fn widen;
  /* quad panels */
  tfl_qgemm_quad_fn quad; /* set when the panels are quad panels */
  int flip;               /* int8 inputs: a8 holds the codes + 128 */
  int32_t quads;          /* ceil(k / 4) */
  size_t *panel_at;       /* byte offset of each panel */
  int32_t *order;         /* per panel, order_stride entries, each a quad index: its safe
                             ones first, of which the paired ones come first, two by two, then
                             its unsafe ones */
  int32_t order_stride;   /* the most entries of a panel (at most TFL_QGEMM_QUAD_ENTRIES *
                             quads) */
  int32_t *safe;          /* per panel, how many entries are safe */
  int32_t *paired;        /* per panel, how many of them are paired */
  int32_t *entries;       /* per panel, how many entries in all */
} tfl_qgemm_weights;

/* Packs the constant int8/uint8 filter ([n][k]) and the optional int32 bias for the kernels
 * of `level` and products of m rows, replacing an earlier packing. */
tfl_status tfl_qgemm_pack(tfl_qgemm_weights *pw, tfl_cpu_level level, const tfl_window_quant *q,
                          const tfl_tensor *filter, const tfl_tensor *bias, tfl_type out_type,
                          int32_t n, int32_t k, int32_t m);
void tfl_qgemm_weights_free(tfl_qgemm_weights *pw);

/* Rows [row, row + mr) of A as the kernel reads them, pw->stride values apart: on pair
 * panels int16 x + input_offset, zero from k to kp; on quad panels the int8/uint8 codes as
 * bytes, whatever follows k. Either written to `tile` or found in place; returns where they
 * are. */
typedef const void *(*tfl_qgemm_rows_fn)(const void *arg, const tfl_qgemm_weights *pw,
                                         int32_t row, int mr, void *tile);

typedef struct tfl_qgemm_problem {
  int32_t m;
  tfl_type type;          /* of A */
  int32_t input_offset;
  tfl_qgemm_rows_fn rows;
  const void *rows_arg;
  void *c;       /* int8/uint8 [m][ldc] */
  size_t ldc;
  void *scratch; /* tfl_qgemm_scratch_bytes() for the context's threads */
  /* Direct A (pw->direct, pair panels only): rows returns where row `row`'s values start
   * in place, pair j of a row at int16 offset offsets[j] from there, row i of a tile
   * row_stride values after row 0; a tile never crosses a multiple of row_run rows. */
  const int32_t *offsets;
  size_t row_stride;
  int32_t row_run;
} tfl_qgemm_problem;

/* Scratch a product needs with `threads` threads. */
size_t tfl_qgemm_scratch_bytes(const tfl_qgemm_weights *pw, int threads);
/* Runs the product, split over the context's threads (ctx NULL: in the caller). */
void tfl_qgemm_run(tfl_context *ctx, const tfl_qgemm_weights *pw, const tfl_qgemm_problem *p);
/* The plain case (FULLY_CONNECTED): A is m rows of k int8/uint8 values, lda apart. */
void tfl_qgemm_matrix(tfl_context *ctx, const tfl_qgemm_weights *pw, tfl_type type,
                      const void *a, size_t lda, int32_t input_offset, int32_t m, void *c,
                      size_t ldc, void *scratch);

/* Quad panels (qgemm_quad.c): packs them into pw, whose n, k, kp, filter_type and
 * filter_offset are set and whose req holds the plain bias, when enough quads are safe
 * (returns 1, or -1 when out of memory); otherwise leaves pw as it was (returns 0). */
int tfl_qgemm_pack_quads(tfl_qgemm_weights *pw, const tfl_window_quant *q,
                         const tfl_tensor *filter, tfl_type input_type);

/* --- CONV_2D -------------------------------------------------------------------------
 * One group, any window: row r of A is output pixel r's window (kh * kw * in_c values, tap
 * by tap, each run of adjacent values padded to whole quads, or pairs on pair panels, with
 * zero weights). A 1x1 stride-1 unpadded convolution reads the input pixels as they are. Any
 * other one first copies the whole input once into an image with its padding made explicit
 * (the input zero point, whose offset value 0 adds nothing, as skipping the tap does),
 * widened to int16 offset values for pair panels; the AVX2 pair kernel then reads each
 * window's pairs in place (an offset per pair, tiles kept within an output row), the others
 * gather a tile of windows at a time with a few plain copies. */
typedef struct tfl_qconv {
  tfl_qgemm_weights w;
  tfl_window win;
  int32_t batches, in_c, out_c;
  int32_t input_offset;
  tfl_type type;
  int pointwise;
  int32_t run, run_p;   /* values of a window run (see qconv_gather), and its room in A */
  int32_t *offsets;     /* direct (pw.direct): per pair of A, its offset in the image */
  int32_t pad_h, pad_w; /* rows and columns of the padded image */
  int active;  /* set up by tfl_qconv_setup: the node runs here */
  int scratch; /* its scratch index */
} tfl_qconv;

/* For CONV_2D's prepare, after tfl_window_quant_prepare: when the fast path reproduces the
 * op (tfl_qconv_supports at the context's CPU level), prepares qc, requests its scratch and
 * sets qc->active; otherwise releases qc (active 0). Fails only when out of memory. */
tfl_status tfl_qconv_setup(tfl_context *ctx, tfl_node *node, tfl_qconv *qc,
                           const tfl_window *win, int32_t batches, int32_t in_c, int32_t out_c,
                           int32_t groups, const tfl_window_quant *q, const tfl_tensor *input,
                           const tfl_tensor *filter, const tfl_tensor *bias);
/* For eval of an active qc: the whole convolution, over the context's threads. */
void tfl_qconv_run(tfl_context *ctx, const tfl_node *node, const tfl_qconv *qc, const void *in,
                   void *out);

/* tfl_qreq_supports, for one group. */
int tfl_qconv_supports(tfl_cpu_level level, int32_t groups, const tfl_window_quant *q,
                       const tfl_tensor *input, const tfl_tensor *filter,
                       const tfl_tensor *bias);
/* Packs filter [out_c][kh][kw][in_c] and bias; replaces an earlier preparation. */
tfl_status tfl_qconv_prepare(tfl_qconv *qc, tfl_cpu_level level, const tfl_window *win,
                             int32_t batches, int32_t in_c, int32_t out_c,
                             const tfl_window_quant *q, const tfl_tensor *input,
                             const tfl_tensor *filter, const tfl_tensor *bias);
size_t tfl_qconv_scratch_bytes(const tfl_qconv *qc, int threads);
/* out = the convolution of `in` (whole batch), split over the context's threads; scratch:
 * tfl_qconv_scratch_bytes() for them. */
void tfl_qconv_eval(tfl_context *ctx, const tfl_qconv *qc, const void *in, void *out,
                    void *scratch);
void tfl_qconv_free(tfl_qconv *qc);

/* --- FULLY_CONNECTED ----------------------------------------------------------------- */
typedef struct tfl_qfc {
  tfl_qgemm_weights w;
  int32_t input_offset;
  tfl_type type;
  int active;  /* set up by tfl_qfc_setup: the node runs here */
  int scratch; /* its scratch index */
} tfl_qfc;

/* For FULLY_CONNECTED's prepare, after tfl_window_quant_prepare: like tfl_qconv_setup, for
 * weights [units][in_features] and `batches` input rows. */
tfl_status tfl_qfc_setup(tfl_context *ctx, tfl_node *node, tfl_qfc *fc, const tfl_window_quant *q,
                         const tfl_tensor *input, const tfl_tensor *weights,
                         const tfl_tensor *bias, int32_t units, int32_t in_features,
                         int32_t batches);
/* For eval of an active fc: `batches` rows of in_features inputs to as many rows of units. */
void tfl_qfc_run(tfl_context *ctx, const tfl_node *node, const tfl_qfc *fc, const void *in,
                 int32_t batches, void *out);
void tfl_qfc_free(tfl_qfc *fc);

/* --- kernels ------------------------------------------------------------------------- */
void tfl_qgemm_ukernel_portable(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                                int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_widen_portable(tfl_type type, const void *src, int32_t n, int32_t offset,
                              int16_t *dst);
#if TFL_HAVE_X86_KERNELS
void tfl_qgemm_quad_avx2(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                         const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                         size_t ldc);
void tfl_qgemm_ukernel_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                            int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_direct_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                           size_t row_stride, const int32_t *offsets, int32_t panel0,
                           int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_half_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                         size_t row_stride, const int32_t *offsets, int32_t panel0,
                         int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_quad_half_avx2(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                              const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                              size_t ldc);
/* Byte panels, a row at a time. */
void tfl_qgemm_ukernel_row_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                                int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc);
void tfl_qgemm_widen_avx2(tfl_type type, const void *src, int32_t n, int32_t offset,
                          int16_t *dst);
#endif

#endif
