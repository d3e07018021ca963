/* Quantized depthwise convolution rows with AVX2 (see qdwconv.h): per output pixel and block
 * of 16 channels, each pair of taps is widened to int16, interleaved tap by tap, and
 * multiplied-and-added by vpmaddwd into two vectors of 8 int32 accumulators started from the
 * bias. Pixels inside the input find their taps at fixed offsets from their first one and go
 * two at a time, sharing every weight, bias and requantization load; with a 3x3 window whose
 * column step is the pixels' (stride 1), they also share the 6 input vectors both windows
 * cover. The others (borders) use per-pixel pointers with the zero row in the padding. Every
 * loop is compiled once per input type, requantization variant (u8, ruy, form) and for 3x3
 * windows (whose tap loops then unroll), all constants. The loops read a local copy of what
 * they need: stores to the output may alias the tfl_qdwconv, which the compiler would reload
 * after each. Measured and dropped, slower on MobileNet v2: 4 pixels at a time (13%, spills),
 * the fused requantization of qreq_avx2.h (4-9%), input rows widened once into per-thread
 * rings of horizontal tap pairs (20-30%: 4 times the bytes of the input rows, which then no
 * longer stay in L1). Requantization takes the general form of qreq_avx2.h, without left
 * shifts when the slots have none. */
#include <string.h>

#include "kernels/qdwconv.h"
#include "kernels/x86/qreq_avx2.h"

#define QDW_INLINE static inline __attribute__((always_inline))

/* The variant constants every function below takes first: input type, rounding,
 * requantization form, and whether the window is 3x3 (then its tap loops unroll). */
#define QDW_VARIANT const int u8, const int ruy, const int form, const int k3
#define QDW_PASS u8, ruy, form, k3

/* What the loops read, copied out of the tfl_qdwconv: the compiler must assume that every
 * store to the output changes the tfl_qdwconv, but not a local copy. */
typedef struct qdw_k {
  tfl_qreq req;
  qreq_flags f;
  const int16_t *weights;
  const uint8_t *zero_row;
  const ptrdiff_t *tap_offset;
  int32_t channels, blocks, pairs;
} qdw_k;

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

QDW_INLINE const uint8_t *tap_at(const qdw_k *k, qdw_at at, int32_t t) {
  return at.taps ? at.taps[t] : at.base + k->tap_offset[t];
}

/* Tap t of pixel i of at[]; `adjacent` (3x3, pixel 1 one column after pixel 0): through
 * pixel 0's window rows and columns, so that the compiler merges the loads both pixels make. */
QDW_INLINE const uint8_t *tap_of(const int adjacent, const qdw_k *k, const qdw_at *at, int i,
                                 int32_t t) {
  if (!adjacent) return tap_at(k, at[i], t);
  return at[0].base + k->tap_offset[3 * (t / 3)] + (t % 3 + i) * k->tap_offset[1];
}

/* Block b's accumulators of `n` (1 or 2) pixels whose taps are read at byte c onwards:
 * acc[2 i] (channels 0-3, 8-11) and acc[2 i + 1] (4-7, 12-15) for pixel i. A 3x3 window's
 * ninth tap pairs with zeros, not a load. */
QDW_INLINE void qdw_accumulate(const int u8, const int k3, const int adjacent, const int n,
                               const qdw_k *k, const qdw_at *at, size_t c, int32_t b,
                               __m256i *acc) {
  const int32_t slot = b * TFL_QDW_BLOCK, pairs = k3 ? 5 : k->pairs;
  const int16_t *w = k->weights + (size_t)b * (size_t)pairs * TFL_QDW_BLOCK * 2;
  const __m256i bias_lo = qreq_load(k->req.bias + slot);
  const __m256i bias_hi = qreq_load(k->req.bias + slot + 8);
  for (int i = 0; i < n; i++) {
    acc[2 * i] = bias_lo;
    acc[2 * i + 1] = bias_hi;
  }
  for (int32_t p = 0; p < pairs; p++, w += TFL_QDW_BLOCK * 2) {
    const __m256i wl = _mm256_load_si256((const __m256i *)w);
    const __m256i wh = _mm256_load_si256((const __m256i *)(w + 16));
    for (int i = 0; i < n; i++) {
      const __m256i x0 = load16(u8, tap_of(adjacent, k, at, i, 2 * p) + c);
      const __m256i x1 = k3 && p == 4 ? _mm256_setzero_si256()
                                      : load16(u8, tap_of(adjacent, k, at, i, 2 * p + 1) + c);
      acc[2 * i] = _mm256_add_epi32(acc[2 * i],
                                    _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wl));
      acc[2 * i + 1] = _mm256_add_epi32(acc[2 * i + 1],
                                        _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), wh));
    }
  }
}

/* The codes of block b for two pixels (accumulators lo0/hi0 and lo1/hi1): pixel 0's 16 codes
 * in the low 128 bits, pixel 1's in the high ones. */
QDW_INLINE __m256i qdw_codes(QDW_VARIANT, const qdw_k *k, int32_t b, __m256i lo0, __m256i hi0,
                             __m256i lo1, __m256i hi1) {
  const int32_t slot = b * TFL_QDW_BLOCK;
  const qreq_vec q0 = qreq_params(&k->req, ruy, form, &k->f, slot);
  const qreq_vec q1 = qreq_params(&k->req, ruy, form, &k->f, slot + 8);
  (void)u8;
  (void)k3;
  /* lo holds channels 0-3, 8-11 and hi 4-7, 12-15: packing them lane by lane restores the
   * channel order, 0-7 in the low lane and 8-15 in the high one. */
  const __m256i w0 = _mm256_packs_epi32(qreq_scale8(ruy, form, &q0, lo0),
                                        qreq_scale8(ruy, form, &q1, hi0));
  const __m256i w1 = _mm256_packs_epi32(qreq_scale8(ruy, form, &q0, lo1),
                                        qreq_scale8(ruy, form, &q1, hi1));
  /* Narrowing leaves pixel 0's 0-7, pixel 1's 0-7 | pixel 0's 8-15, pixel 1's 8-15. */
  return _mm256_permute4x64_epi64(qreq_narrow_clamp(&k->f, w0, w1), 0xD8);
}

/* Block b of one pixel, its 16 codes. */
QDW_INLINE __m128i qdw_block1(QDW_VARIANT, const qdw_k *k, qdw_at at, size_t c, int32_t b) {
  __m256i acc[4];
  qdw_accumulate(u8, k3, 0, 1, k, &at, c, b, acc);
  return _mm256_castsi256_si128(qdw_codes(QDW_PASS, k, b, acc[0], acc[1], acc[0], acc[1]));
}

/* The last, partial block of a pixel: each tap's remaining channels copied next to zero
 * points. */
QDW_INLINE void qdw_tail(QDW_VARIANT, const qdw_k *k, qdw_at at, uint8_t *out) {
  const int32_t b = k->blocks - 1, c0 = b * TFL_QDW_BLOCK, n = k->channels - c0;
  uint8_t copies[TFL_QDW_MAX_TAPS][TFL_QDW_BLOCK];
  const uint8_t *local[TFL_QDW_MAX_TAPS];
  for (int32_t t = 0; t < 2 * k->pairs; t++) {
    memcpy(copies[t], k->zero_row, TFL_QDW_BLOCK);
    memcpy(copies[t], tap_at(k, at, t) + c0, (size_t)n);
    local[t] = copies[t];
  }
  const qdw_at copied = {local, NULL};
  uint8_t codes[TFL_QDW_BLOCK];
  _mm_storeu_si128((__m128i *)codes, qdw_block1(QDW_PASS, k, copied, 0, b));
  memcpy(out + c0, codes, (size_t)n);
}

/* All channels of one pixel. */
QDW_INLINE void qdw_pixel(QDW_VARIANT, const qdw_k *k, qdw_at at, uint8_t *out) {
  const int32_t full = k->channels / TFL_QDW_BLOCK;
  for (int32_t b = 0; b < full; b++) {
    const size_t c = (size_t)b * TFL_QDW_BLOCK;
    _mm_storeu_si128((__m128i *)(out + c), qdw_block1(QDW_PASS, k, at, c, b));
  }
  if (full < k->blocks) qdw_tail(QDW_PASS, k, at, out);
}

/* All channels of two interior pixels, the first at base, the second `step` input bytes
 * further; out: the first's codes, C bytes before the second's. `adjacent`: a 3x3 window
 * whose column step is `step`. */
QDW_INLINE void qdw_pixels(QDW_VARIANT, const int adjacent, const qdw_k *k, const uint8_t *base,
                           size_t step, uint8_t *out) {
  const size_t C = (size_t)k->channels;
  const int32_t full = k->channels / TFL_QDW_BLOCK;
  const qdw_at at[2] = {{NULL, base}, {NULL, base + step}};
  for (int32_t b = 0; b < full; b++) {
    const size_t c = (size_t)b * TFL_QDW_BLOCK;
    __m256i acc[4];
    qdw_accumulate(u8, k3, adjacent, 2, k, at, c, b, acc);
    const __m256i codes = qdw_codes(QDW_PASS, k, b, acc[0], acc[1], acc[2], acc[3]);
    _mm_storeu_si128((__m128i *)(out + c), _mm256_castsi256_si128(codes));
    _mm_storeu_si128((__m128i *)(out + C + c), _mm256_extracti128_si256(codes, 1));
  }
  if (full == k->blocks) return;
  qdw_tail(QDW_PASS, k, at[0], out);
  qdw_tail(QDW_PASS, k, at[1], out + C);
}

QDW_INLINE void qdw_border_pixel(QDW_VARIANT, const tfl_qdwconv *dw, const qdw_k *k,
                                 const uint8_t *image, int32_t oy, int32_t ox, uint8_t *out) {
  const uint8_t *taps[TFL_QDW_MAX_TAPS];
  tfl_qdw_tap_pointers(dw, image, oy, ox, taps);
  const qdw_at at = {taps, NULL};
  qdw_pixel(QDW_PASS, k, at, out);
}

QDW_INLINE void qdw_rows(QDW_VARIANT, const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                         int32_t row0, int32_t row1) {
  const tfl_window *win = &dw->win;
  const size_t C = (size_t)dw->channels;
  qdw_k k;
  k.req = dw->req;
  k.f = qreq_flags_of(&dw->req);
  k.weights = dw->weights;
  k.zero_row = dw->zero_row;
  k.tap_offset = dw->tap_offset;
  k.channels = dw->channels;
  k.blocks = dw->blocks;
  k.pairs = dw->pairs;
  const size_t image_bytes = (size_t)win->h.in * (size_t)win->w.in * C;
  const size_t step = (size_t)win->w.stride * C;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / win->h.out, oy = row % win->h.out;
    const uint8_t *image = in + (size_t)n * image_bytes;
    uint8_t *o = out + (size_t)row * (size_t)win->w.out * C;
    const int inside = oy >= dw->oy0 && oy < dw->oy1;
    const int32_t ox0 = inside ? dw->ox0 : win->w.out, ox1 = inside ? dw->ox1 : win->w.out;
    int32_t ox = 0;
    for (; ox < ox0; ox++) qdw_border_pixel(QDW_PASS, dw, &k, image, oy, ox, o + (size_t)ox * C);
    if (ox < ox1) {
      const int32_t iy = oy * win->h.stride - win->h.pad;
      const uint8_t *base = image + ((size_t)iy * (size_t)win->w.in +
                                     (size_t)(ox * win->w.stride - win->w.pad)) * C;
      if (k3 && step == (size_t)dw->tap_offset[1])
        for (; ox + 1 < ox1; ox += 2, base += 2 * step)
          qdw_pixels(QDW_PASS, 1, &k, base, step, o + (size_t)ox * C);
      for (; ox + 1 < ox1; ox += 2, base += 2 * step)
        qdw_pixels(QDW_PASS, 0, &k, base, step, o + (size_t)ox * C);
      if (ox < ox1) {
        const qdw_at at = {NULL, base};
        qdw_pixel(QDW_PASS, &k, at, o + (size_t)ox * C);
        ox++;
      }
    }
    for (; ox < win->w.out; ox++)
      qdw_border_pixel(QDW_PASS, dw, &k, image, oy, ox, o + (size_t)ox * C);
  }
}

/* qdw_rows with the window's shape as a constant for 3x3 windows whose slots shift only right
 * (those of real models: the others keep the general loops, to save code). */
QDW_INLINE void qdw_rows_shaped(const int u8, const int ruy, const int form,
                                const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out,
                                int32_t row0, int32_t row1) {
  if (form == QREQ_NO_LEFT && dw->win.h.filter == 3 && dw->win.w.filter == 3)
    qdw_rows(u8, ruy, form, 1, dw, in, out, row0, row1);
  else
    qdw_rows(u8, ruy, form, 0, dw, in, out, row0, row1);
}

void tfl_qdwconv_rows_avx2(const tfl_qdwconv *dw, const uint8_t *in, uint8_t *out, int32_t row0,
                           int32_t row1) {
  const int fused = dw->req.fused;
  /* fused slots shift only right */
#define QDW_ROWS(u8, ruy)                                                       \
  do {                                                                          \
    if (fused)                                                                  \
      qdw_rows_shaped(u8, ruy, QREQ_NO_LEFT, dw, in, out, row0, row1);          \
    else                                                                        \
      qdw_rows_shaped(u8, ruy, QREQ_GENERAL, dw, in, out, row0, row1);          \
  } while (0)
  if (dw->type == TFL_UINT8) {
    if (dw->req.ruy)
      QDW_ROWS(1, 1);
    else
      QDW_ROWS(1, 0);
  } else if (dw->req.ruy) {
    QDW_ROWS(0, 1);
  } else {
    QDW_ROWS(0, 0);
  }
#undef QDW_ROWS
}
