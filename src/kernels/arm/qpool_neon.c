/* int8/uint8 max and average pool rows with NEON (qpool.h): channels in blocks of 16. The
 * channels those leave take one more block of 16 or 8 that ends at the last channel, overlapping
 * the block before it (a channel's result does not depend on its neighbours, so the overlap
 * rewrites the same codes); only pools of fewer than 8 channels go through plain C.
 *
 * Maxima are taken on the codes themselves (the maximum of codes is a code). Sums add the taps
 * in 16-bit lanes, SUM16_TAPS at most, then those into int32; the average is then divided in
 * float as qpool.h explains. */
#include <arm_neon.h>

#include "kernels/arm/qreq_neon.h"
#include "kernels/qpool.h"

/* Taps that 16-bit lanes sum exactly: 256 * -128 and 256 * 127 fit int16, 256 * 255 uint16. */
enum { SUM16_TAPS = 256 };

/* The tap count's values for the division, per output pixel. */
typedef struct qpool_mean {
  int32x4_t half;
  float32x4_t count;
} qpool_mean;

/* 16 codes, or 8 in the low half when !wide. */
static inline uint8x16_t load_codes(const int wide, const uint8_t *q) {
  return wide ? vld1q_u8(q) : vcombine_u8(vld1_u8(q), vdup_n_u8(0));
}

static inline uint8x16_t max_codes(const int u8, uint8x16_t a, uint8x16_t b) {
  if (u8) return vmaxq_u8(a, b);
  return vreinterpretq_u8_s8(vmaxq_s8(vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b)));
}

static inline uint8x16_t clamp_codes(const qreq_clamp *k, uint8x16_t v) {
  if (k->u8) return vminq_u8(vmaxq_u8(v, k->min_u8), k->max_u8);
  const int8x16_t s = vminq_s8(vmaxq_s8(vreinterpretq_s8_u8(v), k->min_s8), k->max_s8);
  return vreinterpretq_u8_s8(s);
}

/* 16-bit sums plus 8 codes (the bits of uint16 lanes when u8; keeping one vector type for
 * both spares GCC register copies in the loops). */
static inline int16x8_t add_codes(const int u8, int16x8_t h, uint8x8_t v) {
  if (u8) return vreinterpretq_s16_u16(vaddw_u8(vreinterpretq_u16_s16(h), v));
  return vaddw_s8(h, vreinterpret_s8_u8(v));
}

/* int32 sums plus 4 16-bit sums (the bits of uint16 lanes when u8). */
static inline int32x4_t add_sums(const int u8, int32x4_t s, int16x4_t h) {
  if (!u8) return vaddw_s16(s, h);
  return vreinterpretq_s32_u32(vaddw_u16(vreinterpretq_u32_s32(s), vreinterpret_u16_s16(h)));
}

/* The maximum over the taps of channels [c, c + 16) (or + 8). */
static inline __attribute__((always_inline)) uint8x16_t
max_block(const int u8, const int wide, const tfl_qpool *p, const tfl_qpool_taps *t,
          const uint8_t *image, int32_t c) {
  const size_t C = (size_t)p->channels, in_row = (size_t)p->win.w.in * C;
  const size_t row_taps = (size_t)(t->kx1 - t->kx0) * C;
  uint8x16_t acc = vdupq_n_u8(u8 ? 0 : 0x80); /* the type's lowest code */
  for (int32_t ky = t->ky0; ky < t->ky1; ky++) {
    const uint8_t *q = image + (size_t)(t->iy0 + ky) * in_row + (size_t)(t->ix0 + t->kx0) * C +
                       (size_t)c;
    for (const uint8_t *end = q + row_taps; q != end; q += C)
      acc = max_codes(u8, acc, load_codes(wide, q));
  }
  return acc;
}

/* s[0..4) (s[0..2) when !wide) plus the 16-bit sums of channels 0-7 in lo, 8-15 in hi. */
static inline __attribute__((always_inline)) void
add_sums16(const int u8, const int wide, int16x8_t lo, int16x8_t hi, int32x4_t s[4]) {
  s[0] = add_sums(u8, s[0], vget_low_s16(lo));
  s[1] = add_sums(u8, s[1], vget_high_s16(lo));
  if (wide) {
    s[2] = add_sums(u8, s[2], vget_low_s16(hi));
    s[3] = add_sums(u8, s[3], vget_high_s16(hi));
  }
}

/* The int32 sums over the taps of channels [c, c + 16): channel c + 4j + i in lane i of s[j]
 * (s[2] and s[3] stay 0 when !wide). The taps go through 16-bit lanes in groups of at most
 * SUM16_TAPS: as many whole window rows as fit, or pieces of one row when a row is longer.
 * (A window has at least one tap in every row: window.h.) */
static inline __attribute__((always_inline)) void
sum_block(const int u8, const int wide, const tfl_qpool *p, const tfl_qpool_taps *t,
          const uint8_t *image, int32_t c, int32x4_t s[4]) {
  const size_t C = (size_t)p->channels, in_row = (size_t)p->win.w.in * C;
  const int32_t row_len = t->kx1 - t->kx0;
  const int32_t rows = row_len <= SUM16_TAPS ? SUM16_TAPS / row_len : 1;
  const int32_t piece = row_len <= SUM16_TAPS ? row_len : SUM16_TAPS;
  const uint8_t *first = image + (size_t)(t->ix0 + t->kx0) * C + (size_t)c;
  for (int j = 0; j < 4; j++) s[j] = vdupq_n_s32(0);
  for (int32_t ky = t->ky0; ky < t->ky1; ky += rows) {
    const int32_t ky_end = t->ky1 - ky > rows ? ky + rows : t->ky1;
    for (int32_t kx = 0; kx < row_len; kx += piece) {
      const int32_t n = row_len - kx > piece ? piece : row_len - kx;
      int16x8_t lo = vdupq_n_s16(0), hi = lo;
      for (int32_t y = ky; y < ky_end; y++) {
        const uint8_t *q = first + (size_t)(t->iy0 + y) * in_row + (size_t)kx * C;
        for (const uint8_t *end = q + (size_t)n * C; q != end; q += C) {
          const uint8x16_t v = load_codes(wide, q);
          lo = add_codes(u8, lo, vget_low_u8(v));
          if (wide) hi = add_codes(u8, hi, vget_high_u8(v));
        }
      }
      add_sums16(u8, wide, lo, hi, s);
    }
  }
}

/* Sums divided by the tap count with the reference's rounding (exact in float: qpool.h). */
static inline int32x4_t rounded_mean(const int u8, const qpool_mean *m, int32x4_t sum) {
  /* half away from zero; a zero sum gives 0 either way */
  const int32x4_t half = u8 ? m->half : vbslq_s32(vcltzq_s32(sum), vnegq_s32(m->half), m->half);
  return vcvtq_s32_f32(vdivq_f32(vcvtq_f32_s32(vaddq_s32(sum, half)), m->count));
}

/* Output channels [c, c + 16) (or + 8) of one pixel into o. */
static inline __attribute__((always_inline)) void
pool_block(const int u8, const int is_max, const int wide, const tfl_qpool *p,
           const qreq_clamp *k, const qpool_mean *m, const tfl_qpool_taps *t,
           const uint8_t *image, int32_t c, uint8_t *o) {
  uint8x16_t codes;
  if (is_max) {
    codes = clamp_codes(k, max_block(u8, wide, p, t, image, c));
  } else {
    int32x4_t s[4];
    sum_block(u8, wide, p, t, image, c, s);
    for (int j = 0; j < (wide ? 4 : 2); j++) s[j] = rounded_mean(u8, m, s[j]);
    codes = qreq_narrow(k, s[0], s[1], s[2], s[3]);
  }
  if (wide)
    vst1q_u8(o + c, codes);
  else
    vst1_u8(o + c, vget_low_u8(codes));
}

/* All channels of output pixel o. */
static inline __attribute__((always_inline)) void
pool_pixel(const int u8, const int is_max, const tfl_qpool *p, const qreq_clamp *k,
           const tfl_qpool_taps *t, const uint8_t *image, uint8_t *o) {
  const int32_t C = p->channels, count = (t->ky1 - t->ky0) * (t->kx1 - t->kx0);
  const qpool_mean m = {vdupq_n_s32(count / 2), vdupq_n_f32((float)count)};
  int32_t c = 0;
  for (; c + 16 <= C; c += 16) pool_block(u8, is_max, 1, p, k, &m, t, image, c, o);
  const int32_t rest = C - c;
  if (rest == 0) return;
  if (rest > 8 && C >= 16) {
    pool_block(u8, is_max, 1, p, k, &m, t, image, C - 16, o);
  } else if (C >= 8) {
    if (rest > 8) pool_block(u8, is_max, 0, p, k, &m, t, image, c, o); /* 8 < C < 16 */
    pool_block(u8, is_max, 0, p, k, &m, t, image, C - 8, o);
  } else {
    for (; c < C; c++) o[c] = (uint8_t)tfl_qpool_channel(p, image, t, c);
  }
}

static inline __attribute__((always_inline)) void
pool_rows(const int u8, const int is_max, const tfl_qpool *p, const uint8_t *in, uint8_t *out,
          int32_t row0, int32_t row1) {
  qreq_clamp k = qreq_clamp_of(p->type, p->act_min, p->act_max);
  k.u8 = u8; /* a constant for the compiler */
  for (tfl_qpool_cursor cur = tfl_qpool_start(p, in, out, row0, row1); tfl_qpool_next(&cur);)
    pool_pixel(u8, is_max, p, &k, &cur.taps, cur.image, cur.o);
}

void tfl_qpool_rows_neon(const tfl_qpool *p, const uint8_t *in, uint8_t *out, int32_t row0,
                         int32_t row1) {
  const int u8 = p->type == TFL_UINT8;
  if (p->is_max) {
    if (u8)
      pool_rows(1, 1, p, in, out, row0, row1);
    else
      pool_rows(0, 1, p, in, out, row0, row1);
  } else if (u8) {
    pool_rows(1, 0, p, in, out, row0, row1);
  } else {
    pool_rows(0, 0, p, in, out, row0, row1);
  }
}
