/* The NEON quantized GEMM micro-kernel on qgemm.h's int16 panels: up to 6 x 16 outputs in 24
 * int32x4 accumulators, which start from the bias. Each step de-interleaves one pair row of
 * the panel (16 columns x 2 k values) into the columns' first and second values, and
 * multiplies them by the row's two A values with widening multiply-accumulates (SMLAL by
 * element): exact, since every factor is within [-255, 255], and wrapping like the
 * reference's int32 sums. The int16 pairs rule out the dot-product instructions, which take
 * 8-bit factors: where the CPU has them, qgemm_dot_neon.c's kernel takes over, on panels of
 * the filter's own codes. One instance per row count keeps every tile in registers. */
#include <string.h>

#include "kernels/arm/qgemm_neon.h"

/* The tile's products plus the bias, into acc[row][quad] (columns 4 * quad onwards). */
static inline __attribute__((always_inline)) void
tile_product(const int mr, int32_t kp, const int16_t *a, const int16_t *b, const int32_t *bias,
             qgemm_neon_tile acc) {
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < QGEMM_NEON_QUADS; j++) acc[i][j] = vld1q_s32(bias + 4 * j);
  for (int32_t q = 0; q < kp; q += 2, b += 2 * TFL_QGEMM_NR) {
    /* .val[0]: the first k value of columns 0-7 (8-15), .val[1]: the second. */
    const int16x8x2_t w0 = vld2q_s16(b), w1 = vld2q_s16(b + TFL_QGEMM_NR);
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      int32_t pair;
      memcpy(&pair, a + (size_t)i * (size_t)kp + q, sizeof(pair));
      const int16x4_t v = vreinterpret_s16_s32(vdup_n_s32(pair));
      acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(w0.val[0]), v, 0);
      acc[i][0] = vmlal_lane_s16(acc[i][0], vget_low_s16(w0.val[1]), v, 1);
      acc[i][1] = vmlal_high_lane_s16(acc[i][1], w0.val[0], v, 0);
      acc[i][1] = vmlal_high_lane_s16(acc[i][1], w0.val[1], v, 1);
      acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(w1.val[0]), v, 0);
      acc[i][2] = vmlal_lane_s16(acc[i][2], vget_low_s16(w1.val[1]), v, 1);
      acc[i][3] = vmlal_high_lane_s16(acc[i][3], w1.val[0], v, 0);
      acc[i][3] = vmlal_high_lane_s16(acc[i][3], w1.val[1], v, 1);
    }
  }
}

/* The tile against every panel of [panel0, panel1). */
static inline __attribute__((always_inline)) void
tile_panels(const int mr, const int ruy, const tfl_qgemm_weights *pw, const int16_t *a,
            int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  const size_t panel_values = (size_t)pw->kp * TFL_QGEMM_NR;
  const qreq_clamp clamp = qreq_clamp_of(pw->req.out_type, pw->req.act_min, pw->req.act_max);
  for (int32_t panel = panel0; panel < panel1; panel++) {
    const int32_t col = panel * TFL_QGEMM_NR;
    qgemm_neon_tile acc;
    tile_product(mr, pw->kp, a, (const int16_t *)pw->panels + (size_t)panel * panel_values,
                 pw->req.bias + col, acc);
    qgemm_neon_tile_store(mr, ruy, &pw->req, &clamp, col, acc,
                          qgemm_neon_panel_columns(pw, panel), c + col, ldc);
  }
}

#define QGEMM_NEON_ROWS(MR)                                                                   \
  static void ukernel_##MR(const tfl_qgemm_weights *pw, const int16_t *a, int32_t panel0,    \
                           int32_t panel1, uint8_t *c, size_t ldc) {                          \
    if (pw->req.ruy)                                                                         \
      tile_panels(MR, 1, pw, a, panel0, panel1, c, ldc);                                     \
    else                                                                                     \
      tile_panels(MR, 0, pw, a, panel0, panel1, c, ldc);                                     \
  }
QGEMM_NEON_ROWS(1)
QGEMM_NEON_ROWS(2)
QGEMM_NEON_ROWS(3)
QGEMM_NEON_ROWS(4)
QGEMM_NEON_ROWS(5)
QGEMM_NEON_ROWS(6)

void tfl_qgemm_ukernel_neon(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                            int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  switch (mr) {
    case 6: ukernel_6(pw, a, panel0, panel1, c, ldc); return;
    case 5: ukernel_5(pw, a, panel0, panel1, c, ldc); return;
    case 4: ukernel_4(pw, a, panel0, panel1, c, ldc); return;
    case 3: ukernel_3(pw, a, panel0, panel1, c, ldc); return;
    case 2: ukernel_2(pw, a, panel0, panel1, c, ldc); return;
    default: ukernel_1(pw, a, panel0, panel1, c, ldc); return;
  }
}

void tfl_qgemm_widen_neon(tfl_type type, const void *src, int32_t n, int32_t offset,
                          int16_t *dst) {
  const int16x8_t off = vdupq_n_s16((int16_t)offset);
  const uint8_t *s = src;
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint8x16_t v = vld1q_u8(s + i);
    int16x8_t lo, hi;
    if (type == TFL_UINT8) {
      lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
      hi = vreinterpretq_s16_u16(vmovl_high_u8(v));
    } else {
      lo = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(v)));
      hi = vmovl_high_s8(vreinterpretq_s8_u8(v));
    }
    vst1q_s16(dst + i, vaddq_s16(lo, off));
    vst1q_s16(dst + i + 8, vaddq_s16(hi, off));
  }
  tfl_qgemm_widen_portable(type, s + i, n - i, offset, dst + i);
}

void tfl_qgemm_use_neon(tfl_qgemm_weights *pw) {
  pw->ukernel = tfl_qgemm_ukernel_neon;
  pw->widen = tfl_qgemm_widen_neon;
}
