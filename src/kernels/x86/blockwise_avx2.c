/* The blockwise int4 FULLY_CONNECTED inner kernel with AVX2 (blockwise.h): a chunk of 64 values
 * (32 weight bytes) per vector step, each unpacked chunk used by every row of the tile, the sums
 * of eight blocks reduced together.
 *
 * vpmaddubsw multiplies unsigned by signed bytes, so the weights go in biased: with
 * w + 8 in [0, 15] against the codes q, each product is at most 15 * 128 = 1920 in magnitude,
 * and sum((w + 8) * q) = dot + 8 * sum(q), the block's code sum coming with the rows. In the
 * split layout a chunk's low nibbles meet its first 32 codes and its high nibbles the last
 * 32, so the nibbles need no reordering. Every sum below stays in range (bounds noted where
 * 16-bit lanes hold them), so each dot product is exact and the products match the portable
 * kernel's bit for bit. The float sums run lane by lane in block order: with several lanes,
 * the products are transposed so that one vector addition serves every lane's next block. */
#include <immintrin.h>
#include <string.h>

#include "kernels/blockwise.h"

#define CHUNK (2 * TFL_BLOCKWISE_STEP)

/* A chunk's 32 weight bytes as w + 8: lo from the low nibbles (the values at even positions,
 * which meet the chunk's first 32 codes), hi from the high ones. */
static inline void unpack_chunk(const uint8_t *w, __m256i *lo, __m256i *hi) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  const __m256i v =
      _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)w), _mm256_set1_epi8((char)0x88));
  *lo = _mm256_and_si256(v, mask);
  *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
}

/* A chunk's sums of (w + 8) * q in pairs of pairs: sixteen int16 lanes of four products each,
 * at most 7680 in magnitude. */
static inline __m256i chunk_pairs(__m256i lo, __m256i hi, const int8_t *q) {
  const __m256i a = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q));
  const __m256i b =
      _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q + TFL_BLOCKWISE_STEP)));
  return _mm256_add_epi16(a, b);
}

/* The same for a lone last step of a segment (16 weight bytes, 32 codes), in the lower half. */
static inline void unpack_step(const uint8_t *w, __m128i *lo, __m128i *hi) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i v =
      _mm_xor_si128(_mm_loadu_si128((const __m128i *)w), _mm_set1_epi8((char)0x88));
  *lo = _mm_and_si128(v, mask);
  *hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
}

static inline __m256i step_pairs(__m128i lo, __m128i hi, const int8_t *q) {
  const __m128i a = _mm_maddubs_epi16(lo, _mm_loadu_si128((const __m128i *)q));
  const __m128i b = _mm_maddubs_epi16(hi, _mm_loadu_si128((const __m128i *)(q + 16)));
  return _mm256_zextsi128_si256(_mm_add_epi16(a, b));
}

/* Lane k = the sum of the eight int32 lanes of a[k]. */
static inline __m256i sum_lanes8(const __m256i *a) {
  const __m256i x =
      _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
  const __m256i y =
      _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(x, y, 0x20),
                          _mm256_permute2x128_si256(x, y, 0x31));
}

/* Unit i's packed weights from block j. */
static inline const uint8_t *unit_weights(const tfl_blockwise_tile *t, int i, size_t j) {
  return t->w + (t->first + (size_t)i * t->features + j * t->block) / 2;
}

/* Blocks of one step (the row is one segment) for nu units of nr rows: blocks 2c and 2c + 1
 * share chunk c, its lower and upper half. sums[l] lane k = sum((w + 8) * q) over block j + k
 * of lane l, for k < n. */
static inline __attribute__((always_inline)) void pair_sums(const tfl_blockwise_tile *t, int nu,
                                                            int nr, size_t j, size_t n,
                                                            __m256i *sums) {
  /* Per 128-bit half, lanes of 8 then 16 products (at most 30720): after two levels
   * [b0 b0 b2 b2 b4 b4 b6 b6] below, the odd blocks above; vpmaddwd ends the block sums and
   * vpermd puts them in order. Two chunks at a time keep few vectors live. */
  __m256i h[TFL_BLOCKWISE_LANES][2];
  for (size_t half = 0; half < 2; half++) {
    __m256i p[TFL_BLOCKWISE_LANES][2];
    for (int i = 0; i < nu; i++) {
      const uint8_t *w = unit_weights(t, i, j);
      for (size_t c = 0; c < 2; c++) {
        const size_t k = 4 * half + 2 * c; /* the chunk's first block */
        const int8_t *q = t->q + (j + k) * TFL_BLOCKWISE_STEP;
        const size_t stride = t->q_stride;
        __m256i *pc = &p[i * nr][c];
        if (k + 1 < n) {
          __m256i lo, hi;
          unpack_chunk(w + k * TFL_BLOCKWISE_STEP / 2, &lo, &hi);
          for (int r = 0; r < nr; r++) pc[2 * r] = chunk_pairs(lo, hi, q + (size_t)r * stride);
        } else if (k < n) {
          __m128i lo, hi;
          unpack_step(w + k * TFL_BLOCKWISE_STEP / 2, &lo, &hi);
          for (int r = 0; r < nr; r++) pc[2 * r] = step_pairs(lo, hi, q + (size_t)r * stride);
        } else {
          for (int r = 0; r < nr; r++) pc[2 * r] = _mm256_setzero_si256();
        }
      }
    }
    for (int l = 0; l < nu * nr; l++) h[l][half] = _mm256_hadd_epi16(p[l][0], p[l][1]);
  }
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int l = 0; l < nu * nr; l++) {
    const __m256i x = _mm256_hadd_epi16(h[l][0], h[l][1]);
    sums[l] = _mm256_permutevar8x32_epi32(_mm256_madd_epi16(x, _mm256_set1_epi16(1)), order);
  }
}

/* acc[r] += the products of `chunks` chunks (1 or 2; 0: a lone step) at element `at` of row r
 * with a unit's weights w, for rows r < nr. Two chunks' int16 sums add up to at most 15360. */
static inline __attribute__((always_inline)) void chunk_sums(const tfl_blockwise_tile *t, int nr,
                                                             const uint8_t *w, size_t at,
                                                             int chunks, __m256i *acc) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i lo[2], hi[2];
  __m128i lo1, hi1;
  if (chunks == 0)
    unpack_step(w, &lo1, &hi1);
  else
    for (int c = 0; c < chunks; c++) unpack_chunk(w + c * CHUNK / 2, &lo[c], &hi[c]);
  for (int r = 0; r < nr; r++) {
    const int8_t *q = t->q + (size_t)r * t->q_stride + at;
    __m256i p = chunks == 0 ? step_pairs(lo1, hi1, q) : chunk_pairs(lo[0], hi[0], q);
    if (chunks == 2) p = _mm256_add_epi16(p, chunk_pairs(lo[1], hi[1], q + CHUNK));
    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p, ones));
  }
}

/* Longer blocks (each a segment) for nu units of nr rows: chunks two at a time, then one,
 * then a lone step as the block needs. sums[l] as for pair_sums. */
static inline __attribute__((always_inline)) void block_sums(const tfl_blockwise_tile *t, int nu,
                                                             int nr, size_t j, size_t n,
                                                             __m256i *sums) {
  const size_t block = t->block;
  __m256i s[TFL_BLOCKWISE_LANES][TFL_BLOCKWISE_GROUP];
  for (size_t k = 0; k < TFL_BLOCKWISE_GROUP; k++)
    for (int i = 0; i < nu; i++) {
      __m256i acc[TFL_BLOCKWISE_LANES];
      for (int r = 0; r < nr; r++) acc[r] = _mm256_setzero_si256();
      const uint8_t *w = unit_weights(t, i, j + k);
      const size_t at = (j + k) * block, end = k < n ? block : 0;
      size_t done = 0;
      for (; end - done >= 2 * CHUNK; done += 2 * CHUNK)
        chunk_sums(t, nr, w + done / 2, at + done, 2, acc);
      if (end - done >= CHUNK) {
        chunk_sums(t, nr, w + done / 2, at + done, 1, acc);
        done += CHUNK;
      }
      if (done < end) chunk_sums(t, nr, w + done / 2, at + done, 0, acc);
      for (int r = 0; r < nr; r++) s[i * nr + r][k] = acc[r];
    }
  for (int l = 0; l < nu * nr; l++) sums[l] = sum_lanes8(s[l]);
}

/* acc[l] += prod[l][k] for k < n in order, lanes l < lanes (prod zeros past them): one lane
 * alone, or all four at once, the products transposed to one vector per block. */
static inline __attribute__((always_inline)) void add_products(const __m256 *prod, int lanes,
                                                               size_t n, float *acc) {
  if (lanes == 1) {
    float p[TFL_BLOCKWISE_GROUP];
    _mm256_storeu_ps(p, prod[0]);
    tfl_blockwise_add_products(acc, p, n);
    return;
  }
  const __m256 t0 = _mm256_unpacklo_ps(prod[0], prod[1]);
  const __m256 t1 = _mm256_unpackhi_ps(prod[0], prod[1]);
  const __m256 t2 = _mm256_unpacklo_ps(prod[2], prod[3]);
  const __m256 t3 = _mm256_unpackhi_ps(prod[2], prod[3]);
  /* col[k] = the lanes' products of block k below, of block k + 4 above. */
  const __m256 col[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xee),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xee)};
  __m128 a = _mm_loadu_ps(acc);
  for (size_t k = 0; k < n; k++)
    a = _mm_add_ps(a, k < 4 ? _mm256_castps256_ps128(col[k])
                            : _mm256_extractf128_ps(col[k - 4], 1));
  _mm_storeu_ps(acc, a);
}

/* Blocks j to j + n (n <= TFL_BLOCKWISE_GROUP) of nu units of nr rows, added to acc. */
static inline __attribute__((always_inline)) void group(const tfl_blockwise_tile *t, int nu,
                                                        int nr, int pair, size_t j, size_t n,
                                                        float *acc) {
  __m256i sums[TFL_BLOCKWISE_LANES];
  if (pair)
    pair_sums(t, nu, nr, j, n, sums);
  else
    block_sums(t, nu, nr, j, n, sums);
  __m256 prod[TFL_BLOCKWISE_LANES];
  for (int l = nu * nr; l < TFL_BLOCKWISE_LANES; l++) prod[l] = _mm256_setzero_ps();
  for (int i = 0; i < nu; i++) {
    uint16_t pad[TFL_BLOCKWISE_GROUP];
    const uint16_t *scales = tfl_blockwise_group_scales(t->scales + i * t->blocks + j, n, pad);
    const __m256 s = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)scales));
    for (int r = 0; r < nr; r++) {
      const __m256i code_sums =
          _mm256_loadu_si256((const __m256i *)(t->sums + (size_t)r * t->sums_stride + j));
      const __m256i dot = _mm256_sub_epi32(sums[i * nr + r], _mm256_slli_epi32(code_sums, 3));
      prod[i * nr + r] = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), s);
    }
  }
  add_products(prod, nu * nr, n, acc);
}

/* The tile with its shape constant: whole groups with their size a constant, then the rest. */
static inline __attribute__((always_inline)) void tile(const tfl_blockwise_tile *t, int nu,
                                                       int nr, int pair, float *acc) {
  for (int l = 0; l < TFL_BLOCKWISE_LANES; l++) acc[l] = 0.0f;
  size_t j = 0;
  for (; j + TFL_BLOCKWISE_GROUP <= t->blocks; j += TFL_BLOCKWISE_GROUP)
    group(t, nu, nr, pair, j, TFL_BLOCKWISE_GROUP, acc);
  if (j < t->blocks) group(t, nu, nr, pair, j, t->blocks - j, acc);
}

/* Four units of one row, two of two, or else one unit at a time. */
static inline __attribute__((always_inline)) void tile_shapes(const tfl_blockwise_tile *t,
                                                              int pair, float *acc) {
  if (t->units == 4 && t->rows == 1) {
    tile(t, 4, 1, pair, acc);
    return;
  }
  if (t->units == 2 && t->rows == 2) {
    tile(t, 2, 2, pair, acc);
    return;
  }
  for (size_t i = 0; i < t->units; i++) {
    tfl_blockwise_tile one = *t;
    one.first += i * t->features;
    one.scales += i * t->blocks;
    one.units = 1;
    float lanes[TFL_BLOCKWISE_LANES];
    switch (t->rows) {
      case 1: tile(&one, 1, 1, pair, lanes); break;
      case 2: tile(&one, 1, 2, pair, lanes); break;
      case 3: tile(&one, 1, 3, pair, lanes); break;
      default: tile(&one, 1, 4, pair, lanes); break;
    }
    memcpy(acc + i * t->rows, lanes, t->rows * sizeof(float));
  }
}

void tfl_blockwise_tile_avx2(const tfl_blockwise_tile *t, float *acc) {
  if (t->block == TFL_BLOCKWISE_STEP)
    tile_shapes(t, 1, acc);
  else
    tile_shapes(t, 0, acc);
}
