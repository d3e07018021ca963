/* The quantized GEMM (qgemm.h) with the dot-product instructions (FEAT_DotProd: SDOT/UDOT),
 * at TFL_CPU_NEON_DOT. Each 32-bit lane of SDOT (UDOT) adds to its int32 accumulator the
 * products of 4 signed (unsigned) byte pairs, wrapping: it takes the codes themselves, not
 * the int16 offset values of the plain NEON kernel, which gemmlowp's expansion allows:
 *   sum_k (x + ox)(w + ow) = sum_k x w + ow sum_k x + ox sum_k w + k ox ow,
 * x the input codes and ox the input offset, w and ow the filter's. The last two terms
 * depend on the column only and join the bias when packing; ow sum_k x is added per row of
 * each tile, and only when ow is not 0 (int8 filters, per channel, have none). Every term is
 * exact in wrapping int32 arithmetic, as the reference's sum is, so each accumulator is the
 * reference's bit for bit whatever the order; requantization is the plain NEON kernel's.
 *
 * Both factors of a dot product have one signedness: A's (int8: SDOT, uint8: UDOT). A filter
 * of the other type is packed as its codes -+ 128, its offset +- 128, which keeps every
 * w + ow.
 *
 * Panels: TFL_QGEMM_NR columns, ceil(k / 4) quad rows of the columns' 4 consecutive codes
 * (16 bytes per 4 columns: one vector, lane j for column j), zero past k and past n. A
 * reaches the kernel as qgemm.h's quad panels have it, pw->stride = 4 * quads bytes per row
 * of codes (int8 not flipped): whatever follows k meets zero weights and stays out of the
 * row sums. A tile is 6 x 16 outputs in 24 accumulators; 16 codes of each row (4 quads) in
 * one register meet each weight vector by lane (SDOT/UDOT by element), 96 instructions per
 * 1536 multiply-adds, and the last quads one by one, the row's 4 codes broadcast. */
#include "kernels/arm/qgemm_dot_neon.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/arm/qgemm_neon.h"

/* Functions using the instructions: the rest of the build stays plain ARMv8-A. */
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define DOTPROD_INLINE \
  static inline __attribute__((always_inline, target("arch=armv8.2-a+dotprod")))

/* Bytes of a panel's quad row: TFL_QGEMM_NR columns x 4 codes. */
#define QUAD_ROW (TFL_QGEMM_NR * 4)

static int32_t div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }

/* --- packing ------------------------------------------------------------------------- */

/* Value (col, i) of tfl_qgemm_pack's int16 pair panels: the filter's w + ow. */
static int32_t pair_value(const tfl_qgemm_weights *pw, int32_t col, int32_t i) {
  const size_t at = (size_t)(col / TFL_QGEMM_NR) * (size_t)pw->kp * TFL_QGEMM_NR +
                    (size_t)(i / 2) * TFL_QGEMM_NR * 2 + (size_t)(col % TFL_QGEMM_NR) * 2 +
                    (size_t)(i & 1);
  return ((const int16_t *)pw->panels)[at];
}

/* What turns the filter's codes into codes of A's signedness. */
static int32_t code_shift(tfl_type filter_type, tfl_type a_type) {
  const int a_signed = a_type == TFL_INT8, filter_signed = filter_type != TFL_UINT8;
  if (a_signed == filter_signed) return 0;
  return a_signed ? -128 : 128;
}

/* Column col's codes into its panel at dst (its first quad row); returns their sum. */
static uint32_t pack_column(const tfl_qgemm_weights *pw, int32_t col, int32_t shift,
                            uint8_t *dst) {
  uint32_t sum = 0;
  for (int32_t i = 0; i < pw->k; i++) {
    const int32_t code = pair_value(pw, col, i) - pw->filter_offset + shift;
    dst[(size_t)(i / 4) * QUAD_ROW + (size_t)(i % 4)] = (uint8_t)code;
    sum += (uint32_t)code;
  }
  return sum;
}

tfl_status tfl_qgemm_use_neon_dot(tfl_qgemm_weights *pw, int32_t input_offset) {
  const int32_t panels = div_up(pw->n, TFL_QGEMM_NR), quads = div_up(pw->k, 4);
  const size_t panel_bytes = (size_t)quads * QUAD_ROW, bytes = (size_t)panels * panel_bytes;
  uint8_t *p = aligned_alloc(64, bytes ? (bytes + 63) & ~(size_t)63 : 64);
  size_t *at = malloc(((size_t)panels + 1) * sizeof(size_t));
  if (!p || !at) {
    free(p);
    free(at);
    return TFL_OUT_OF_MEMORY;
  }
  memset(p, 0, bytes);
  const tfl_type a_type = pw->req.out_type;
  const int32_t shift = code_shift(pw->filter_type, a_type);
  const int32_t offset = pw->filter_offset - shift; /* of the packed codes */
  for (int32_t col = 0; col < pw->n; col++) {
    uint8_t *dst = p + (size_t)(col / TFL_QGEMM_NR) * panel_bytes +
                   (size_t)(col % TFL_QGEMM_NR) * 4;
    const uint32_t sum = pack_column(pw, col, shift, dst);
    const uint32_t term = (uint32_t)input_offset * (sum + (uint32_t)pw->k * (uint32_t)offset);
    pw->req.bias[col] = (int32_t)((uint32_t)pw->req.bias[col] + term);
  }
  for (int32_t i = 0; i <= panels; i++) at[i] = (size_t)i * panel_bytes;
  free(pw->panels);
  free(pw->panel_at);
  pw->panels = p;
  pw->panel_at = at;
  pw->bytes = 0;
  /* As on byte panels, the panels' codes plus filter_offset are the filter's w + ow. */
  pw->filter_type = a_type;
  pw->filter_offset = offset;
  pw->quads = quads;
  pw->stride = 4 * quads;
  pw->wide = 0;
  pw->flip = 0;
  pw->quad = tfl_qgemm_dot_neon;
  return TFL_OK;
}

/* --- the kernel ---------------------------------------------------------------------- */

/* acc plus, lane by lane, the dot product of 4 codes of b and of a: signed when sgn. */
DOTPROD_INLINE int32x4_t dot4(const int sgn, int32x4_t acc, uint8x16_t b, uint8x16_t a) {
  if (sgn) return vdotq_s32(acc, vreinterpretq_s8_u8(b), vreinterpretq_s8_u8(a));
  return vreinterpretq_s32_u32(vdotq_u32(vreinterpretq_u32_s32(acc), b, a));
}

/* The sum of k codes, wrapping. */
DOTPROD_INLINE uint32_t row_sum(const int sgn, const uint8_t *row, int32_t k) {
  int32x4_t acc = vdupq_n_s32(0);
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) acc = dot4(sgn, acc, vld1q_u8(row + i), vdupq_n_u8(1));
  uint32_t sum = (uint32_t)vaddvq_s32(acc);
  for (; i < k; i++) sum += sgn ? (uint32_t)(int8_t)row[i] : row[i];
  return sum;
}

/* Per row of the tile a, ow sum_k x in every lane. */
DOTPROD_INLINE void row_terms(const int mr, const int sgn, const tfl_qgemm_weights *pw,
                              const uint8_t *a, int32x4_t terms[TFL_QGEMM_MR]) {
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    const uint32_t sum = pw->filter_offset ? row_sum(sgn, a + (size_t)i * (size_t)pw->stride,
                                                     pw->k)
                                           : 0;
    terms[i] = vdupq_n_s32((int32_t)((uint32_t)pw->filter_offset * sum));
  }
}

/* acc plus the dot products of b with a's 4 codes at lane l (a constant). */
DOTPROD_INLINE int32x4_t dot4_lane(const int sgn, int32x4_t acc, uint8x16_t b, uint8x16_t a,
                                   const int l) {
  if (sgn) return vdotq_laneq_s32(acc, vreinterpretq_s8_u8(b), vreinterpretq_s8_u8(a), l);
  return vreinterpretq_s32_u32(vdotq_laneq_u32(vreinterpretq_u32_s32(acc), b, a, l));
}

/* Quad row l (a constant) of 4 held in x: each weight vector meets every row's codes. */
DOTPROD_INLINE void quad_step(const int mr, const int sgn, const int l, const uint8_t *b,
                              const uint8x16_t x[TFL_QGEMM_MR], qgemm_neon_tile acc) {
  for (int j = 0; j < QGEMM_NEON_QUADS; j++) {
    const uint8x16_t w = vld1q_u8(b + (size_t)l * QUAD_ROW + 16 * (size_t)j);
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) acc[i][j] = dot4_lane(sgn, acc[i][j], w, x[i], l);
  }
}

/* The tile's products plus the bias and the row terms, into acc: 4 quad rows at a time with
 * 16 codes of each row in one register, the rest one by one with the row's codes broadcast
 * (loads within the rows' k codes). */
DOTPROD_INLINE void tile_product(const int mr, const int sgn, int32_t quads, size_t stride,
                                 const uint8_t *a, const uint8_t *b, const int32_t *bias,
                                 const int32x4_t terms[TFL_QGEMM_MR], qgemm_neon_tile acc) {
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < QGEMM_NEON_QUADS; j++)
      acc[i][j] = vaddq_s32(vld1q_s32(bias + 4 * j), terms[i]);
  int32_t q = 0;
  for (; q + 4 <= quads; q += 4, b += 4 * QUAD_ROW, a += 16) {
    uint8x16_t x[TFL_QGEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) x[i] = vld1q_u8(a + (size_t)i * stride);
    quad_step(mr, sgn, 0, b, x, acc);
    quad_step(mr, sgn, 1, b, x, acc);
    quad_step(mr, sgn, 2, b, x, acc);
    quad_step(mr, sgn, 3, b, x, acc);
  }
  for (; q < quads; q++, b += QUAD_ROW, a += 4) {
    uint8x16_t x[TFL_QGEMM_MR];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++)
      x[i] = vreinterpretq_u8_u32(
          vld1q_dup_u32((const uint32_t *)(const void *)(a + (size_t)i * stride)));
    quad_step(mr, sgn, 0, b, x, acc);
  }
}

/* The tile against every panel of [panel0, panel1). */
DOTPROD_INLINE void tile_panels(const int mr, const int sgn, const tfl_qgemm_weights *pw,
                                const uint8_t *a, int32_t panel0, int32_t panel1, uint8_t *c,
                                size_t ldc) {
  const size_t stride = (size_t)pw->stride, panel_bytes = stride * TFL_QGEMM_NR;
  const qreq_clamp clamp = qreq_clamp_of(pw->req.out_type, pw->req.act_min, pw->req.act_max);
  int32x4_t terms[TFL_QGEMM_MR];
  row_terms(mr, sgn, pw, a, terms);
  for (int32_t panel = panel0; panel < panel1; panel++) {
    const int32_t col = panel * TFL_QGEMM_NR;
    const int nr = qgemm_neon_panel_columns(pw, panel);
    qgemm_neon_tile acc;
    tile_product(mr, sgn, pw->quads, stride, a,
                 (const uint8_t *)pw->panels + (size_t)panel * panel_bytes, pw->req.bias + col,
                 terms, acc);
    if (pw->req.ruy)
      qgemm_neon_tile_store(mr, 1, &pw->req, &clamp, col, acc, nr, c + col, ldc);
    else
      qgemm_neon_tile_store(mr, 0, &pw->req, &clamp, col, acc, nr, c + col, ldc);
  }
}

/* One instance per row count and signedness keeps every tile in registers. */
#define QGEMM_DOT_ROWS(MR)                                                                    \
  static DOTPROD void dot_##MR(const tfl_qgemm_weights *pw, const uint8_t *a, int32_t panel0, \
                               int32_t panel1, uint8_t *c, size_t ldc) {                      \
    if (pw->filter_type == TFL_INT8)                                                          \
      tile_panels(MR, 1, pw, a, panel0, panel1, c, ldc);                                      \
    else                                                                                      \
      tile_panels(MR, 0, pw, a, panel0, panel1, c, ldc);                                      \
  }
QGEMM_DOT_ROWS(1)
QGEMM_DOT_ROWS(2)
QGEMM_DOT_ROWS(3)
QGEMM_DOT_ROWS(4)
QGEMM_DOT_ROWS(5)
QGEMM_DOT_ROWS(6)

void tfl_qgemm_dot_neon(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                        const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                        size_t ldc) {
  (void)a16;
  switch (mr) {
    case 6: dot_6(pw, a8, panel0, panel1, c, ldc); return;
    case 5: dot_5(pw, a8, panel0, panel1, c, ldc); return;
    case 4: dot_4(pw, a8, panel0, panel1, c, ldc); return;
    case 3: dot_3(pw, a8, panel0, panel1, c, ldc); return;
    case 2: dot_2(pw, a8, panel0, panel1, c, ldc); return;
    default: dot_1(pw, a8, panel0, panel1, c, ldc); return;
  }
}
