/* Quantized depthwise convolution rows with NEON (qdwconv.h): per output pixel and block of 16
 * channels, each tap's 16 input codes are widened to int16 and multiplied by the packed
 * weights with widening multiply-accumulates into four int32x4 accumulators started from the
 * bias. The packing's lane order (channels 0-3, 8-11, 4-7, 12-15, see qdwconv.h) is met by
 * pairing each half of the widened input with the matching half of the de-interleaved
 * weights, and undone when the codes are narrowed. Pixels inside the input find their taps at
 * fixed offsets from their first one, the others through tfl_qdw_tap_pointers (the zero row in
 * the padding). The loops are compiled once per input type and rounding, both constants. */
#include <string.h>

#include "kernels/arm/qreq_neon.h"
#include "kernels/qdwconv.h"

#define QDW_INLINE static inline __attribute__((always_inline))

/* The 16 input codes at p, widened: channels 0-7 in lo, 8-15 in hi. */
QDW_INLINE void load16(const int u8, const uint8_t *p, int16x8_t *lo, int16x8_t *hi) {
  const uint8x16_t v = vld1q_u8(p);
  if (u8) {
    *lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
    *hi = vreinterpretq_s16_u16(vmovl_high_u8(v));
  } else {
    *lo = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(v)));
    *hi = vmovl_high_s8(vreinterpretq_s8_u8(v));
  }
}

/* acc (slot order: channels 0-3, 8-11, 4-7, 12-15) += one tap's codes (x at byte c) times its
 * weights w (lanes 0-7 and 8-15). */
QDW_INLINE void qdw_tap(const int u8, const uint8_t *x, int16x8_t w_lanes0, int16x8_t w_lanes8,
                        int32x4_t acc[4]) {
  int16x8_t lo, hi;
  load16(u8, x, &lo, &hi);
  acc[0] = vmlal_s16(acc[0], vget_low_s16(lo), vget_low_s16(w_lanes0));
  acc[1] = vmlal_s16(acc[1], vget_low_s16(hi), vget_high_s16(w_lanes0));
  acc[2] = vmlal_s16(acc[2], vget_high_s16(lo), vget_low_s16(w_lanes8));
  acc[3] = vmlal_high_s16(acc[3], hi, w_lanes8);
}

/* The 16 codes of block b of a pixel whose taps are read at byte c of taps[]. */
QDW_INLINE uint8x16_t qdw_block(const int u8, const int ruy, const tfl_qdwconv *dw,
                                const qreq_clamp *clamp, const uint8_t *const *taps, size_t c,
                                int32_t b) {
  const int32_t slot = b * TFL_QDW_BLOCK;
  const int16_t *w = dw->weights + (size_t)b * (size_t)dw->pairs * TFL_QDW_BLOCK * 2;
  int32x4_t acc[4];
  for (int g = 0; g < 4; g++) acc[g] = vld1q_s32(dw->req.bias + slot + 4 * g);
  for (int32_t p = 0; p < dw->pairs; p++, w += TFL_QDW_BLOCK * 2) {
    /* .val[0]: the pair's first tap's weights, .val[1]: the second's. */
    const int16x8x2_t w0 = vld2q_s16(w), w8 = vld2q_s16(w + TFL_QDW_BLOCK);
    qdw_tap(u8, taps[2 * p] + c, w0.val[0], w8.val[0], acc);
    qdw_tap(u8, taps[2 * p + 1] + c, w0.val[1], w8.val[1], acc);
  }
  for (int g = 0; g < 4; g++) {
    const qreq_vec q = qreq_params(&dw->req, slot + 4 * g);
    acc[g] = qreq_scale4(ruy, &q, acc[g]);
  }
  return qreq_narrow(clamp, acc[0], acc[2], acc[1], acc[3]);
}

/* The last, partial block of a pixel: each tap's remaining channels copied next to zero
 * points, so that no load reads past the input. */
QDW_INLINE void qdw_tail(const int u8, const int ruy, const tfl_qdwconv *dw,
                         const qreq_clamp *clamp, const uint8_t *const *taps, uint8_t *out) {
  const int32_t b = dw->blocks - 1, c0 = b * TFL_QDW_BLOCK, n = dw->channels - c0;
  uint8_t copies[TFL_QDW_MAX_TAPS][TFL_QDW_BLOCK];
  const uint8_t *local[TFL_QDW_MAX_TAPS];
  for (int32_t t = 0; t < 2 * dw->pairs; t++) {
    memcpy(copies[t], dw->zero_row, TFL_QDW_BLOCK);
    memcpy(copies[t], taps[t] + c0, (size_t)n);
    local[t] = copies[t];
  }
  uint8_t codes[TFL_QDW_BLOCK];
  vst1q_u8(codes, qdw_block(u8, ruy, dw, clamp, local, 0, b));
  memcpy(out + c0, codes, (size_t)n);
}

/* All channels of one pixel. */
QDW_INLINE void qdw_pixel(const int u8, const int ruy, const tfl_qdwconv *dw,
                          const qreq_clamp *clamp, const uint8_t *const *taps, uint8_t *out) {
  const int32_t full = dw->channels / TFL_QDW_BLOCK;
  for (int32_t b = 0; b < full; b++) {
    const size_t c = (size_t)b * TFL_QDW_BLOCK;
    vst1q_u8(out + c, qdw_block(u8, ruy, dw, clamp, taps, c, b));
  }
  if (full < dw->blocks) qdw_tail(u8, ruy, dw, clamp, taps, out);
}

QDW_INLINE void qdw_rows(const int u8, const int ruy, const tfl_qdwconv *dw, const uint8_t *in,
                         uint8_t *out, int32_t row0, int32_t row1) {
  const tfl_window *win = &dw->win;
  const size_t C = (size_t)dw->channels;
  const size_t image_bytes = (size_t)win->h.in * (size_t)win->w.in * C;
  const qreq_clamp clamp = qreq_clamp_of(dw->type, dw->req.act_min, dw->req.act_max);
  const uint8_t *taps[TFL_QDW_MAX_TAPS + 1];
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / win->h.out, oy = row % win->h.out;
    const uint8_t *image = in + (size_t)n * image_bytes;
    uint8_t *o = out + (size_t)row * (size_t)win->w.out * C;
    const int inside = oy >= dw->oy0 && oy < dw->oy1;
    for (int32_t ox = 0; ox < win->w.out; ox++, o += C) {
      if (inside && ox >= dw->ox0 && ox < dw->ox1) {
        const uint8_t *base = image + ((size_t)(oy * win->h.stride - win->h.pad) *
                                           (size_t)win->w.in +
                                       (size_t)(ox * win->w.stride - win->w.pad)) * C;
        for (int32_t t = 0; t < 2 * dw->pairs; t++) taps[t] = base + dw->tap_offset[t];
      } else {
        tfl_qdw_tap_pointers(dw, image, oy, ox, taps);
      }
      qdw_pixel(u8, ruy, dw, &clamp, taps, o);
    }
  }
}

void tfl_qdwconv_rows_neon(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out, int32_t row0,
                           int32_t row1) {
  const int u8 = dw->type == TFL_UINT8;
  if (u8 && dw->req.ruy)
    qdw_rows(1, 1, dw, in, out, row0, row1);
  else if (u8)
    qdw_rows(1, 0, dw, in, out, row0, row1);
  else if (dw->req.ruy)
    qdw_rows(0, 1, dw, in, out, row0, row1);
  else
    qdw_rows(0, 0, dw, in, out, row0, row1);
}
