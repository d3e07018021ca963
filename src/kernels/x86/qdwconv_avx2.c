/* Quantized depthwise convolution rows with AVX2 (see qdwconv.h): per output pixel and block
 * of 16 channels, each pair of taps is widened to int16, interleaved tap by tap, and
 * multiplied-and-added by vpmaddwd into two vectors of 8 int32 accumulators started from the
 * bias. Pixels inside the input find their taps at fixed offsets from their first one and go
 * two at a time, sharing weight and requantization loads; the others (borders) use per-pixel
 * pointers with the zero row in the padding. Every loop is compiled once per input type and
 * requantization variant (u8, ruy, form), constants. Requantization takes the general form
 * of qreq_avx2.h, without left shifts when the slots have none: the fused one needs more
 * live registers than two pixels of accumulators leave (measured 5% slower). */
#include <string.h>

#include "kernels/qdwconv.h"
#include "kernels/x86/qreq_avx2.h"

#define QDW_INLINE static inline __attribute__((always_inline))

/* The variant constants every function below takes first. */
#define QDW_VARIANT const int u8, const int ruy, const int form
#define QDW_PASS u8, ruy, form

/* 16 input values of one tap, widened to int16. */
QDW_INLINE __m256i load16(const int u8, const uint8_t *p) {
  const __m128i v = _mm_loadu_si128((const __m128i *)p);
  return u8 ? _mm256_cvtepu8_epi16(v) : _mm256_cvtepi8_epi16(v);
}

/* Where a pixel's taps are: pointers, or (taps NULL) offsets from base. */
typedef struct qdw_at {
  const uint8_t *const *taps;
  const uint8_t *base;
} qdw_at;

QDW_INLINE const uint8_t *tap_at(const tfl_qdwconv *dw, qdw_at at, int32_t t) {
  return at.taps ? at.taps[t] : at.base + dw->tap_offset[t];
}

/* Block b's accumulators (channels 0-3, 8-11 in lo; 4-7, 12-15 in hi) of a pixel whose taps
 * are read at byte c onwards. */
QDW_INLINE void qdw_accumulate(const int u8, const tfl_qdwconv *dw, qdw_at at, size_t c,
                               int32_t b, __m256i *lo, __m256i *hi) {
  const int32_t slot = b * TFL_QDW_BLOCK;
  const int16_t *w = dw->weights + (size_t)b * (size_t)dw->pairs * TFL_QDW_BLOCK * 2;
  __m256i l = qreq_load(dw->req.bias + slot), h = qreq_load(dw->req.bias + slot + 8);
  for (int32_t p = 0; p < dw->pairs; p++, w += TFL_QDW_BLOCK * 2) {
    const __m256i x0 = load16(u8, tap_at(dw, at, 2 * p) + c);
    const __m256i x1 = load16(u8, tap_at(dw, at, 2 * p + 1) + c);
    l = _mm256_add_epi32(l, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                              _mm256_load_si256((const __m256i *)w)));
    h = _mm256_add_epi32(h, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                              _mm256_load_si256((const __m256i *)(w + 16))));
  }
  *lo = l;
  *hi = h;
}

/* The codes of block b for two pixels (accumulators lo0/hi0 and lo1/hi1): pixel 0's 16 codes
 * in the low 128 bits, pixel 1's in the high ones. */
QDW_INLINE __m256i qdw_codes(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f,
                             int32_t b, __m256i lo0, __m256i hi0, __m256i lo1, __m256i hi1) {
  const int32_t slot = b * TFL_QDW_BLOCK;
  const qreq_vec q0 = qreq_params(&dw->req, ruy, form, f, slot);
  const qreq_vec q1 = qreq_params(&dw->req, ruy, form, f, slot + 8);
  (void)u8;
  /* lo holds channels 0-3, 8-11 and hi 4-7, 12-15: packing them lane by lane restores the
   * channel order, 0-7 in the low lane and 8-15 in the high one. */
  const __m256i w0 = _mm256_packs_epi32(qreq_scale8(ruy, form, &q0, lo0),
                                        qreq_scale8(ruy, form, &q1, hi0));
  const __m256i w1 = _mm256_packs_epi32(qreq_scale8(ruy, form, &q0, lo1),
                                        qreq_scale8(ruy, form, &q1, hi1));
  /* Narrowing leaves pixel 0's 0-7, pixel 1's 0-7 | pixel 0's 8-15, pixel 1's 8-15. */
  return _mm256_permute4x64_epi64(qreq_narrow_clamp(f, w0, w1), 0xD8);
}

/* Block b of one pixel, its 16 codes. */
QDW_INLINE __m128i qdw_block1(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f,
                              qdw_at at, size_t c, int32_t b) {
  __m256i lo, hi;
  qdw_accumulate(u8, dw, at, c, b, &lo, &hi);
  return _mm256_castsi256_si128(qdw_codes(QDW_PASS, dw, f, b, lo, hi, lo, hi));
}

/* The last, partial block of a pixel: each tap's remaining channels copied next to zero
 * points. */
QDW_INLINE void qdw_tail(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f, qdw_at at,
                         uint8_t *out) {
  const int32_t b = dw->blocks - 1, c0 = b * TFL_QDW_BLOCK, n = dw->channels - c0;
  uint8_t copies[TFL_QDW_MAX_TAPS][TFL_QDW_BLOCK];
  const uint8_t *local[TFL_QDW_MAX_TAPS];
  for (int32_t t = 0; t < 2 * dw->pairs; t++) {
    memcpy(copies[t], dw->zero_row, TFL_QDW_BLOCK);
    memcpy(copies[t], tap_at(dw, at, t) + c0, (size_t)n);
    local[t] = copies[t];
  }
  const qdw_at copied = {local, NULL};
  uint8_t codes[TFL_QDW_BLOCK];
  _mm_storeu_si128((__m128i *)codes, qdw_block1(QDW_PASS, dw, f, copied, 0, b));
  memcpy(out + c0, codes, (size_t)n);
}

/* All channels of one pixel. */
QDW_INLINE void qdw_pixel(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f, qdw_at at,
                          uint8_t *out) {
  const int32_t full = dw->channels / TFL_QDW_BLOCK;
  for (int32_t b = 0; b < full; b++) {
    const size_t c = (size_t)b * TFL_QDW_BLOCK;
    _mm_storeu_si128((__m128i *)(out + c), qdw_block1(QDW_PASS, dw, f, at, c, b));
  }
  if (full < dw->blocks) qdw_tail(QDW_PASS, dw, f, at, out);
}

/* All channels of two interior pixels, at base0 and base1. */
QDW_INLINE void qdw_pixel_pair(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f,
                               const uint8_t *base0, const uint8_t *base1, uint8_t *out0,
                               uint8_t *out1) {
  const int32_t full = dw->channels / TFL_QDW_BLOCK;
  const qdw_at at0 = {NULL, base0}, at1 = {NULL, base1};
  for (int32_t b = 0; b < full; b++) {
    const size_t c = (size_t)b * TFL_QDW_BLOCK;
    __m256i lo0, hi0, lo1, hi1;
    qdw_accumulate(u8, dw, at0, c, b, &lo0, &hi0);
    qdw_accumulate(u8, dw, at1, c, b, &lo1, &hi1);
    const __m256i codes = qdw_codes(QDW_PASS, dw, f, b, lo0, hi0, lo1, hi1);
    _mm_storeu_si128((__m128i *)(out0 + c), _mm256_castsi256_si128(codes));
    _mm_storeu_si128((__m128i *)(out1 + c), _mm256_extracti128_si256(codes, 1));
  }
  if (full == dw->blocks) return;
  qdw_tail(QDW_PASS, dw, f, at0, out0);
  qdw_tail(QDW_PASS, dw, f, at1, out1);
}

QDW_INLINE void qdw_border_pixel(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f,
                                 const uint8_t *image, int32_t oy, int32_t ox, uint8_t *out) {
  const uint8_t *taps[TFL_QDW_MAX_TAPS];
  tfl_qdw_tap_pointers(dw, image, oy, ox, taps);
  const qdw_at at = {taps, NULL};
  qdw_pixel(QDW_PASS, dw, f, at, out);
}

QDW_INLINE void qdw_rows(QDW_VARIANT, const tfl_qdwconv *dw, const qreq_flags *f,
                         const uint8_t *in, uint8_t *out, int32_t row0, int32_t row1) {
  const tfl_window *win = &dw->win;
  const size_t C = (size_t)dw->channels;
  const size_t image_bytes = (size_t)win->h.in * (size_t)win->w.in * C;
  const size_t step = (size_t)win->w.stride * C;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / win->h.out, oy = row % win->h.out;
    const uint8_t *image = in + (size_t)n * image_bytes;
    uint8_t *o = out + (size_t)row * (size_t)win->w.out * C;
    const int inside = oy >= dw->oy0 && oy < dw->oy1;
    const int32_t ox0 = inside ? dw->ox0 : win->w.out, ox1 = inside ? dw->ox1 : win->w.out;
    int32_t ox = 0;
    for (; ox < ox0; ox++) qdw_border_pixel(QDW_PASS, dw, f, image, oy, ox, o + (size_t)ox * C);
    if (ox < ox1) {
      const int32_t iy = oy * win->h.stride - win->h.pad;
      const uint8_t *base = image + ((size_t)iy * (size_t)win->w.in +
                                     (size_t)(ox * win->w.stride - win->w.pad)) * C;
      for (; ox + 1 < ox1; ox += 2, base += 2 * step)
        qdw_pixel_pair(QDW_PASS, dw, f, base, base + step, o + (size_t)ox * C,
                       o + (size_t)(ox + 1) * C);
      if (ox < ox1) {
        const qdw_at at = {NULL, base};
        qdw_pixel(QDW_PASS, dw, f, at, o + (size_t)ox * C);
        ox++;
      }
    }
    for (; ox < win->w.out; ox++)
      qdw_border_pixel(QDW_PASS, dw, f, image, oy, ox, o + (size_t)ox * C);
  }
}

void tfl_qdwconv_rows_avx2(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out, int32_t row0,
                           int32_t row1) {
  const qreq_flags f = qreq_flags_of(&dw->req);
  /* fused slots shift only right */
#define QDW_ROWS(u8, ruy)                                              \
  do {                                                                 \
    if (f.fused)                                                       \
      qdw_rows(u8, ruy, QREQ_NO_LEFT, dw, &f, in, out, row0, row1);    \
    else                                                               \
      qdw_rows(u8, ruy, QREQ_GENERAL, dw, &f, in, out, row0, row1);    \
  } while (0)
  if (dw->type == TFL_UINT8) {
    if (f.ruy)
      QDW_ROWS(1, 1);
    else
      QDW_ROWS(1, 0);
  } else if (f.ruy) {
    QDW_ROWS(0, 1);
  } else {
    QDW_ROWS(0, 0);
  }
#undef QDW_ROWS
}
