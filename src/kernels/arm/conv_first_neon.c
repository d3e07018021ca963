/* The direct first-convolution rows with NEON (conv_first.h). A tile is P output pixels of one
 * row times a block of V vectors of 4 output channels, P * V accumulators in registers: per
 * tap value, V weight vectors and one input value per pixel feed P * V by-element fused
 * multiply-adds. The input values come four taps at a time, one vector load per pixel whose
 * lanes the multiply-adds read, and the weights in chunks of at most 4 vectors, so a full
 * block of 8 vectors takes 3 pixels: 24 accumulators, 3 inputs and 4 weights of the 32
 * registers. The walk over rows, blocks and borders is conv_first.c's. */
#include <arm_neon.h>

#include "kernels/conv_first.h"

/* GCC's scheduling before register allocation moves all of a tap's weight loads ahead of its
 * multiply-adds; the 24-accumulator tiles then need more than 32 registers and spill
 * accumulators in the inner loop. Without it each chunk's loads stay next to their uses. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns")
#endif

#define CF_MAX_V (TFL_CONV_FIRST_NB / 4) /* 4-float vectors of a full block */
#define CF_CHUNK 4                       /* weight vectors in registers at a time */

/* Pixels per tile for V vectors per pixel (V even: block widths are multiples of 8), so that
 * P * V accumulators, P input vectors and a chunk of weights fit the 32 registers (26, 29,
 * 32 and 31 of them); fewer pixels measured slower for V = 6. */
#define CF_PIXELS(V) ((V) == 2 ? 8 : (V) == 4 ? 5 : (V) == 6 ? 4 : 3)
#define CF_MAX_P CF_PIXELS(2)
#define CF_MAX_ACC 24 /* the most accumulators a tile has: P * V, at most 24 for every V */

/* What the epilogue of a block needs. */
typedef struct cf_block {
  const float *bias;
  size_t out_pixel; /* floats between output pixels (out_c) */
  int32_t channels; /* real output channels: fewer than 4 * V are stored vector by vector */
  float32x4_t lo, hi;
} cf_block;

/* x clamped to [lo, hi] as the reference's comparisons do it: FMAX and FMIN pass NaN through
 * and differ from them only for x = -0 against a bound of +0 (RELU, RELU6), giving +0. Here x
 * is acc + bias with acc started at +0, so x is -0 only for a -0 bias on a sum that
 * underflowed to -0, and then only the sign of a zero differs. Half the instructions of a
 * compare and select per bound (5% of a 3x3 RGB convolution's). */
static inline float32x4_t cf_clamp(float32x4_t x, float32x4_t lo, float32x4_t hi) {
  return vminq_f32(vmaxq_f32(x, lo), hi);
}

/* The first n (1 to 3) floats of y, stored at out. No call (memcpy): the accumulators of the
 * tile's later pixels, live across it, would have to leave their registers. */
static inline void cf_store_short(float *out, float32x4_t y, int32_t n) {
  if (n >= 2) vst1_f32(out, vget_low_f32(y));
  if (n == 3) vst1q_lane_f32(out + 2, y, 2);
  if (n == 1) vst1q_lane_f32(out, y, 0);
}

/* One tap value per pixel, x[i], times the tap's row of weights w, into the accumulators. */
static inline __attribute__((always_inline)) void
cf_tap(const int P, const int V, float32x4_t *acc, const float *w, const float *x) {
#pragma GCC unroll 2
  for (int v0 = 0; v0 < V; v0 += CF_CHUNK) {
    const int n = V - v0 < CF_CHUNK ? V - v0 : CF_CHUNK;
    float32x4_t wv[CF_CHUNK];
#pragma GCC unroll 4
    for (int v = 0; v < n; v++) wv[v] = vld1q_f32(w + 4 * (v0 + v));
#pragma GCC unroll 8
    for (int i = 0; i < P; i++)
#pragma GCC unroll 4
      for (int v = 0; v < n; v++)
        acc[i * V + v0 + v] = vfmaq_n_f32(acc[i * V + v0 + v], wv[v], x[i]);
  }
}

/* A segment's taps: four at a time from one vector load per pixel (by-element multiply-adds
 * read its lanes), then one at a time. */
static inline __attribute__((always_inline)) void
cf_segment(const int P, const int V, float32x4_t *acc, const float *in, const float *w,
           int32_t len, size_t pix) {
  const size_t width = 4 * (size_t)V;
  int32_t q = 0;
  for (; q + 4 <= len; q += 4, w += 4 * width) {
    float32x4_t x4[CF_MAX_P];
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) x4[i] = vld1q_f32(in + (size_t)i * pix + (size_t)q);
#pragma GCC unroll 4
    for (int l = 0; l < 4; l++) {
      float x[CF_MAX_P];
#pragma GCC unroll 8
      for (int i = 0; i < P; i++) x[i] = x4[i][l];
      cf_tap(P, V, acc, w + (size_t)l * width, x);
    }
  }
  for (; q < len; q++, w += width) {
    float x[CF_MAX_P];
#pragma GCC unroll 8
    for (int i = 0; i < P; i++) x[i] = in[(size_t)i * pix + (size_t)q];
    cf_tap(P, V, acc, w, x);
  }
}

static inline __attribute__((always_inline)) void
cf_tile(const int P, const int V, const tfl_conv_first_span *s, const cf_block *b, float *out) {
  const size_t seg_w = (size_t)s->seg_len * 4 * (size_t)V;
  float32x4_t acc[CF_MAX_ACC]; /* pixel i, vector v at i * V + v */
#pragma GCC unroll 24
  for (int j = 0; j < P * V; j++) acc[j] = vdupq_n_f32(0.0f);
  for (int32_t r = 0; r < s->rows; r++) {
    const float *in = s->in + (size_t)r * s->in_row;
    const float *w = s->w + (size_t)r * s->w_row;
    for (int32_t g = 0; g < s->segs; g++, in += s->in_seg, w += seg_w)
      cf_segment(P, V, acc, in, w, s->seg_len, s->pix);
  }
  /* Read once: the stores below could alias *b as far as the compiler knows. */
  const float32x4_t lo = b->lo, hi = b->hi;
  const int32_t channels = b->channels;
  const size_t out_pixel = b->out_pixel;
  float32x4_t bias[CF_MAX_V];
#pragma GCC unroll 8
  for (int v = 0; v < V; v++) bias[v] = vld1q_f32(b->bias + 4 * v);
#pragma GCC unroll 8
  for (int i = 0; i < P; i++, out += out_pixel) {
    float32x4_t y[CF_MAX_V];
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) y[v] = cf_clamp(vaddq_f32(acc[i * V + v], bias[v]), lo, hi);
    if (channels == 4 * V) {
#pragma GCC unroll 8
      for (int v = 0; v < V; v++) vst1q_f32(out + 4 * v, y[v]);
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < V; v++) {
        const int32_t left = channels - 4 * v;
        if (left >= 4)
          vst1q_f32(out + 4 * v, y[v]);
        else if (left > 0)
          cf_store_short(out + 4 * v, y[v], left);
      }
    }
  }
}

TFL_CONV_FIRST_RUN_LOOPS

_Static_assert(CF_MAX_V == 8 && CF_MAX_P == 8,
               "cf_run instantiates 2 to 8 vectors and 1 to 8 pixels");
_Static_assert(2 * CF_PIXELS(2) <= CF_MAX_ACC && 4 * CF_PIXELS(4) <= CF_MAX_ACC &&
                   6 * CF_PIXELS(6) <= CF_MAX_ACC && 8 * CF_PIXELS(8) <= CF_MAX_ACC,
               "a tile's accumulators fit acc[]");

static void cf_run(const tfl_conv_first_run *r, const cf_block *b) {
  switch (r->groups) {
    case 1: cf_run_v(2, r, b); return;
    case 2: cf_run_v(4, r, b); return;
    case 3: cf_run_v(6, r, b); return;
    default: cf_run_v(8, r, b); return;
  }
}

void tfl_conv_first_rows_neon(const tfl_conv_first *cf, const float *in, float *out,
                              int32_t row0, int32_t row1) {
  static const int32_t full[TFL_CONV_FIRST_GROUPS + 1] = {
      0, CF_PIXELS(2), CF_PIXELS(4), CF_PIXELS(6), CF_PIXELS(8)}; /* pixels of a full tile */
  cf_block b;
  b.out_pixel = (size_t)cf->out_c;
  b.lo = vdupq_n_f32(cf->lo);
  b.hi = vdupq_n_f32(cf->hi);
  for (tfl_conv_first_cursor k = tfl_conv_first_start(cf, in, out, row0, row1, full);
       tfl_conv_first_next(&k);) {
    b.bias = k.run.bias;
    b.channels = k.run.channels;
    cf_run(&k.run, &b);
  }
}
