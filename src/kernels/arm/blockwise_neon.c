/* The blockwise int4 FULLY_CONNECTED inner kernels with NEON (blockwise.h), with and without
 * the dot-product extension (SDOT, level TFL_CPU_NEON_DOT): 32 values of a block per step, the
 * weights unpacked once for all rows of the tile, the sums of four blocks reduced into one
 * vector.
 *
 * In the split layout a step's low nibbles (the values at even positions) meet its first 16
 * codes and its high nibbles the other 16, so the nibbles need no reordering. Without SDOT the
 * nibbles are sign-extended and each int16 lane of a multiply-accumulate sums four products
 * (at most 4 * 1024 in magnitude) before widening into int32. With it, a nibble is taken in
 * place as 16 w (the low one shifted up, the high one masked), which SDOT multiplies and sums
 * four to a lane: the sums are 16 dot, at most 2^28 in magnitude for a block of 16384, and the
 * fixed-point conversion with 4 fraction bits gives float(dot) with its one rounding. All sums
 * are exact, so the products match the portable kernel's bit for bit. The float sums run lane
 * by lane in block order: with several lanes, the products are transposed so that one vector
 * addition serves every lane's next block. */
#include <arm_neon.h>
#include <string.h>

#include "kernels/blockwise.h"

#define CHUNK (2 * TFL_BLOCKWISE_STEP)

/* Functions using the dot-product instructions: the rest stays plain ARMv8-A. */
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define DOTPROD_INLINE \
  static inline __attribute__((always_inline, target("arch=armv8.2-a+dotprod")))
#define INLINE static inline __attribute__((always_inline))

/* acc plus the dot product of a step: its unpacked low nibbles lo with the codes e, its high
 * ones hi with o. */
typedef int32x4_t (*step_fn)(int32x4_t acc, int8x16_t lo, int8x16_t hi, int8x16_t e,
                             int8x16_t o);

/* A kernel variant: its step, and whether it takes the nibbles as 16 w. */
typedef struct kind {
  step_fn step;
  int x16;
} kind;

INLINE int32x4_t step_mul(int32x4_t acc, int8x16_t lo, int8x16_t hi, int8x16_t e, int8x16_t o) {
  int16x8_t p = vmull_s8(vget_low_s8(lo), vget_low_s8(e));
  p = vmlal_high_s8(p, lo, e);
  p = vmlal_s8(p, vget_low_s8(hi), vget_low_s8(o));
  p = vmlal_high_s8(p, hi, o);
  return vpadalq_s16(acc, p);
}

DOTPROD_INLINE int32x4_t step_dot(int32x4_t acc, int8x16_t lo, int8x16_t hi, int8x16_t e,
                                  int8x16_t o) {
  return vdotq_s32(vdotq_s32(acc, lo, e), hi, o);
}

/* 16 weight bytes as the variant takes them: lo from the low nibbles, hi from the high ones. */
INLINE void unpack(kind kd, const uint8_t *w, int8x16_t *lo, int8x16_t *hi) {
  const int8x16_t v = vreinterpretq_s8_u8(vld1q_u8(w));
  if (kd.x16) {
    *lo = vshlq_n_s8(v, 4);
    *hi = vandq_s8(v, vdupq_n_s8((int8_t)0xf0));
  } else {
    *lo = vshrq_n_s8(vshlq_n_s8(v, 4), 4);
    *hi = vshrq_n_s8(v, 4);
  }
}

/* float(dot) for each lane of the variant's sums. */
INLINE float32x4_t to_float(kind kd, int32x4_t sums) {
  return kd.x16 ? vcvtq_n_f32_s32(sums, 4) : vcvtq_f32_s32(sums);
}

/* Unit i's packed weights from block j. */
INLINE const uint8_t *unit_weights(const tfl_blockwise_tile *t, int i, size_t j) {
  return t->w + (t->first + (size_t)i * t->features + j * t->block) / 2;
}

/* acc[r] plus the dot products of rows r < nr with a unit's chunk w at element `at` (two
 * steps: the codes of its first 32 values at +0 and +32, of its other 32 at +16 and +48) when
 * `whole`, else with a lone step (codes at +0 and +16). The chunk's second step goes to
 * acc2[r] (which may be acc[r]). */
INLINE void chunk_dots(kind kd, const tfl_blockwise_tile *t, int nr, const uint8_t *w, size_t at,
                       int whole, int32x4_t *acc, int32x4_t *acc2) {
  int8x16_t lo0, hi0, lo1, hi1;
  unpack(kd, w, &lo0, &hi0);
  if (!whole) {
    for (int r = 0; r < nr; r++) {
      const int8_t *q = t->q + (size_t)r * t->q_stride + at;
      acc[r] = kd.step(acc[r], lo0, hi0, vld1q_s8(q), vld1q_s8(q + 16));
    }
    return;
  }
  unpack(kd, w + 16, &lo1, &hi1);
  for (int r = 0; r < nr; r++) {
    const int8x16x4_t c = vld1q_s8_x4(t->q + (size_t)r * t->q_stride + at);
    acc[r] = kd.step(acc[r], lo0, hi0, c.val[0], c.val[2]);
    acc2[r] = kd.step(acc2[r], lo1, hi1, c.val[1], c.val[3]);
  }
}

/* sums[l][h] lane c = the dot product of block j + 4h + c of lane l = i * nr + r, for nu units
 * of nr rows and blocks before j + n (zeros after). Blocks of one step pair up in chunks (the
 * row is one segment); longer ones are chunks and maybe a lone step each. Unit by unit, each
 * pair of blocks folded at once, few vectors stay live. */
INLINE void group_sums(kind kd, const tfl_blockwise_tile *t, int nu, int nr, int pair, size_t j,
                       size_t n, int32x4_t (*sums)[2]) {
  const size_t block = pair ? TFL_BLOCKWISE_STEP : t->block;
  for (int i = 0; i < nu; i++) {
    const uint8_t *w = unit_weights(t, i, j);
    int32x4_t two[TFL_BLOCKWISE_LANES][TFL_BLOCKWISE_GROUP / 2];
    for (size_t m = 0; m < TFL_BLOCKWISE_GROUP / 2; m++) {
      int32x4_t a[2][TFL_BLOCKWISE_LANES]; /* blocks 2m and 2m + 1 */
      for (int r = 0; r < nr; r++) a[0][r] = a[1][r] = vdupq_n_s32(0);
      for (size_t b = 0; b < 2; b++) {
        /* In a pair, the first block's chunk holds the second block too. */
        const size_t k = 2 * m + b;
        const size_t end = k >= n || (pair && b == 1) ? 0 : pair ? CHUNK : block;
        for (size_t done = 0; done < end; done += CHUNK) {
          const int whole = pair ? k + 1 < n : done + CHUNK <= block;
          chunk_dots(kd, t, nr, w + (k * block + done) / 2, (j + k) * block + done, whole, a[b],
                     pair ? a[1] : a[b]);
        }
      }
      for (int r = 0; r < nr; r++) two[r][m] = vpaddq_s32(a[0][r], a[1][r]);
    }
    for (int r = 0; r < nr; r++)
      for (int h = 0; h < 2; h++)
        sums[i * nr + r][h] = vpaddq_s32(two[r][2 * h], two[r][2 * h + 1]);
  }
}

/* acc[l] += prod[l][k] for k < n in order, lanes l < lanes; prod[l] holds blocks 0-3 and 4-7
 * of lane l (zeros past the lanes). One lane alone, or all four at once, the products
 * transposed to one vector per block. */
INLINE void add_products(const float32x4_t (*prod)[2], int lanes, size_t n, float *acc) {
  if (lanes == 1) {
    float p[TFL_BLOCKWISE_GROUP];
    vst1q_f32(p, prod[0][0]);
    vst1q_f32(p + 4, prod[0][1]);
    tfl_blockwise_add_products(acc, p, n);
    return;
  }
  float32x4_t a = vld1q_f32(acc);
  for (size_t h = 0; h * 4 < n; h++) {
    const float32x4_t t0 = vtrn1q_f32(prod[0][h], prod[1][h]);
    const float32x4_t t1 = vtrn2q_f32(prod[0][h], prod[1][h]);
    const float32x4_t t2 = vtrn1q_f32(prod[2][h], prod[3][h]);
    const float32x4_t t3 = vtrn2q_f32(prod[2][h], prod[3][h]);
    /* col[k] = the lanes' products of block 4h + k. */
    const float64x2_t d0 = vreinterpretq_f64_f32(t0), d1 = vreinterpretq_f64_f32(t1);
    const float64x2_t d2 = vreinterpretq_f64_f32(t2), d3 = vreinterpretq_f64_f32(t3);
    const float32x4_t col[4] = {
        vreinterpretq_f32_f64(vtrn1q_f64(d0, d2)), vreinterpretq_f32_f64(vtrn1q_f64(d1, d3)),
        vreinterpretq_f32_f64(vtrn2q_f64(d0, d2)), vreinterpretq_f32_f64(vtrn2q_f64(d1, d3))};
    for (size_t k = 0; k < 4 && 4 * h + k < n; k++) a = vaddq_f32(a, col[k]);
  }
  vst1q_f32(acc, a);
}

/* Blocks j to j + n (n <= TFL_BLOCKWISE_GROUP) of nu units of nr rows, added to acc. */
INLINE void group(kind kd, const tfl_blockwise_tile *t, int nu, int nr, int pair, size_t j,
                  size_t n, float *acc) {
  int32x4_t sums[TFL_BLOCKWISE_LANES][2];
  group_sums(kd, t, nu, nr, pair, j, n, sums);
  float32x4_t prod[TFL_BLOCKWISE_LANES][2];
  for (int l = nu * nr; l < TFL_BLOCKWISE_LANES; l++)
    prod[l][0] = prod[l][1] = vdupq_n_f32(0.0f);
  for (int i = 0; i < nu; i++) {
    uint16_t pad[TFL_BLOCKWISE_GROUP];
    const uint16_t *s16 = tfl_blockwise_group_scales(t->scales + i * t->blocks + j, n, pad);
    for (int h = 0; h < 2; h++) {
      const float32x4_t s = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s16 + 4 * h)));
      for (int r = 0; r < nr; r++)
        prod[i * nr + r][h] = vmulq_f32(to_float(kd, sums[i * nr + r][h]), s);
    }
  }
  add_products(prod, nu * nr, n, acc);
}

/* The tile with its shape constant: whole groups with their size a constant, then the rest. */
INLINE void tile(kind kd, const tfl_blockwise_tile *t, int nu, int nr, int pair, float *acc) {
  for (int l = 0; l < TFL_BLOCKWISE_LANES; l++) acc[l] = 0.0f;
  size_t j = 0;
  for (; j + TFL_BLOCKWISE_GROUP <= t->blocks; j += TFL_BLOCKWISE_GROUP)
    group(kd, t, nu, nr, pair, j, TFL_BLOCKWISE_GROUP, acc);
  if (j < t->blocks) group(kd, t, nu, nr, pair, j, t->blocks - j, acc);
}

/* Four units of one row, two of two, or else one unit at a time; `pair` for blocks of one
 * step. */
INLINE void tile_shapes(kind kd, const tfl_blockwise_tile *t, int pair, float *acc) {
  if (t->units == 4 && t->rows == 1) {
    tile(kd, t, 4, 1, pair, acc);
    return;
  }
  if (t->units == 2 && t->rows == 2) {
    tile(kd, t, 2, 2, pair, acc);
    return;
  }
  for (size_t i = 0; i < t->units; i++) {
    tfl_blockwise_tile one = *t;
    one.first += i * t->features;
    one.scales += i * t->blocks;
    one.units = 1;
    float lanes[TFL_BLOCKWISE_LANES];
    switch (t->rows) {
      case 1: tile(kd, &one, 1, 1, pair, lanes); break;
      case 2: tile(kd, &one, 1, 2, pair, lanes); break;
      case 3: tile(kd, &one, 1, 3, pair, lanes); break;
      default: tile(kd, &one, 1, 4, pair, lanes); break;
    }
    memcpy(acc + i * t->rows, lanes, t->rows * sizeof(float));
  }
}

void tfl_blockwise_tile_neon(const tfl_blockwise_tile *t, float *acc) {
  const kind kd = {step_mul, 0};
  if (t->block == TFL_BLOCKWISE_STEP)
    tile_shapes(kd, t, 1, acc);
  else
    tile_shapes(kd, t, 0, acc);
}

DOTPROD void tfl_blockwise_tile_neon_dot(const tfl_blockwise_tile *t, float *acc) {
  const kind kd = {step_dot, 1};
  if (t->block == TFL_BLOCKWISE_STEP)
    tile_shapes(kd, t, 1, acc);
  else
    tile_shapes(kd, t, 0, acc);
}
