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

/* acc[r] (r < nr) plus the pair sums of row r's codes from element `at` with `chunks` whole
 * chunks (at most four, whose int16 sums stay within 30720) of a unit's weights w, or a lone
 * step when chunks is 0, in eight int32 lanes. */
static inline __attribute__((always_inline)) void add_chunks(const tfl_blockwise_tile *t, int nr,
                                                             const uint8_t *w, size_t at,
                                                             size_t chunks, __m256i *acc) {
  __m256i p[TFL_BLOCKWISE_LANES];
  for (int r = 0; r < nr; r++) p[r] = _mm256_setzero_si256();
  if (chunks == 0) {
    __m128i lo, hi;
    unpack_step(w, &lo, &hi);
    for (int r = 0; r < nr; r++) p[r] = step_pairs(lo, hi, t->q + (size_t)r * t->q_stride + at);
  }
  for (size_t c = 0; c < chunks; c++) {
    __m256i lo, hi;
    unpack_chunk(w + c * CHUNK / 2, &lo, &hi);
    for (int r = 0; r < nr; r++)
      p[r] = _mm256_add_epi16(
          p[r], chunk_pairs(lo, hi, t->q + (size_t)r * t->q_stride + at + c * CHUNK));
  }
  for (int r = 0; r < nr; r++)
    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p[r], _mm256_set1_epi16(1)));
}

/* v[r] (r < nr) = eight int32 lanes summing to sum((w + 8) * q) over block k of a unit's
 * weights w, zeros for k >= n. `kind` (a constant) gives the block's whole chunks, summed in
 * int16 lanes at once, as straight code; other blocks run loops of four chunks, then of one,
 * then take their lone step. */
static inline __attribute__((always_inline)) void block_vectors(const tfl_blockwise_tile *t,
                                                                int nr, const uint8_t *w,
                                                                size_t j, size_t k, size_t n,
                                                                int kind, __m256i *v) {
  for (int r = 0; r < nr; r++) v[r] = _mm256_setzero_si256();
  if (k >= n) return;
  const size_t at = (j + k) * t->block;
  const uint8_t *wk = w + k * t->block / 2;
  if (kind > 0) {
    add_chunks(t, nr, wk, at, (size_t)kind, v);
    return;
  }
  const size_t chunks = t->block / CHUNK;
  size_t c = 0;
  for (; c + 4 <= chunks; c += 4) add_chunks(t, nr, wk + c * CHUNK / 2, at + c * CHUNK, 4, v);
  for (; c < chunks; c++) add_chunks(t, nr, wk + c * CHUNK / 2, at + c * CHUNK, 1, v);
  if (t->block % CHUNK) add_chunks(t, nr, wk + chunks * CHUNK / 2, at + chunks * CHUNK, 0, v);
}

/* Longer blocks (each a segment) for nu units of nr rows, block by block: each pair of block
 * vectors folded at once (vphaddd), so that few stay live; after two levels each 128-bit half
 * holds four blocks' partial sums, whose halves then add up. sums[l] as for pair_sums. */
static inline __attribute__((always_inline)) void block_sums(const tfl_blockwise_tile *t, int nu,
                                                             int nr, int kind, size_t j,
                                                             size_t n, __m256i *sums) {
  for (int i = 0; i < nu; i++) {
    const uint8_t *w = unit_weights(t, i, j);
    __m256i quad[2][TFL_BLOCKWISE_LANES]; /* per half: blocks 4h .. 4h + 3 */
    for (size_t h = 0; h < 2; h++) {
      __m256i two[2][TFL_BLOCKWISE_LANES];
      for (size_t m = 0; m < 2; m++) {
        __m256i a[TFL_BLOCKWISE_LANES], b[TFL_BLOCKWISE_LANES];
        block_vectors(t, nr, w, j, 4 * h + 2 * m, n, kind, a);
        block_vectors(t, nr, w, j, 4 * h + 2 * m + 1, n, kind, b);
        for (int r = 0; r < nr; r++) two[m][r] = _mm256_hadd_epi32(a[r], b[r]);
      }
      for (int r = 0; r < nr; r++) quad[h][r] = _mm256_hadd_epi32(two[0][r], two[1][r]);
    }
    for (int r = 0; r < nr; r++)
      sums[i * nr + r] = _mm256_add_epi32(_mm256_permute2x128_si256(quad[0][r], quad[1][r], 0x20),
                                          _mm256_permute2x128_si256(quad[0][r], quad[1][r], 0x31));
  }
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

/* How the blocks of a tile are read, a constant of each kernel variant: blocks of one step in
 * pairs, blocks of 1, 2 or 4 whole chunks, or any other (chunks and a lone step counted at run
 * time). */
#define BLOCKS_PAIRED (-1)
#define BLOCKS_ANY 0

/* Blocks j to j + n (n <= TFL_BLOCKWISE_GROUP) of nu units of nr rows, added to acc. */
static inline __attribute__((always_inline)) void group(const tfl_blockwise_tile *t, int nu,
                                                        int nr, int kind, size_t j, size_t n,
                                                        float *acc) {
  __m256i sums[TFL_BLOCKWISE_LANES];
  if (kind == BLOCKS_PAIRED)
    pair_sums(t, nu, nr, j, n, sums);
  else
    block_sums(t, nu, nr, kind, j, n, sums);
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
                                                       int nr, int kind, float *acc) {
  for (int l = 0; l < TFL_BLOCKWISE_LANES; l++) acc[l] = 0.0f;
  size_t j = 0;
  for (; j + TFL_BLOCKWISE_GROUP <= t->blocks; j += TFL_BLOCKWISE_GROUP)
    group(t, nu, nr, kind, j, TFL_BLOCKWISE_GROUP, acc);
  if (j < t->blocks) group(t, nu, nr, kind, j, t->blocks - j, acc);
}

/* Four units of one row, two of two, or else one unit at a time. */
static inline __attribute__((always_inline)) void tile_shapes(const tfl_blockwise_tile *t,
                                                              int kind, float *acc) {
  if (t->units == 4 && t->rows == 1) {
    tile(t, 4, 1, kind, acc);
    return;
  }
  if (t->units == 2 && t->rows == 2) {
    tile(t, 2, 2, kind, acc);
    return;
  }
  for (size_t i = 0; i < t->units; i++) {
    tfl_blockwise_tile one = *t;
    one.first += i * t->features;
    one.scales += i * t->blocks;
    one.units = 1;
    float lanes[TFL_BLOCKWISE_LANES];
    switch (t->rows) {
      case 1: tile(&one, 1, 1, kind, lanes); break;
      case 2: tile(&one, 1, 2, kind, lanes); break;
      case 3: tile(&one, 1, 3, kind, lanes); break;
      default: tile(&one, 1, 4, kind, lanes); break;
    }
    memcpy(acc + i * t->rows, lanes, t->rows * sizeof(float));
  }
}

void tfl_blockwise_tile_avx2(const tfl_blockwise_tile *t, float *acc) {
  switch (t->block) {
    case TFL_BLOCKWISE_STEP: tile_shapes(t, BLOCKS_PAIRED, acc); break;
    case CHUNK: tile_shapes(t, 1, acc); break;
    case 2 * CHUNK: tile_shapes(t, 2, acc); break;
    case 4 * CHUNK: tile_shapes(t, 4, acc); break;
    default: tile_shapes(t, BLOCKS_ANY, acc); break;
  }
}
