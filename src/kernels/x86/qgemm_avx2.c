/* The AVX2 quantized GEMM micro-kernels: up to 6 x 16 outputs in 12 ymm int32 accumulators,
 * which start from the bias. On pair panels each step broadcasts two int16 A values of a row
 * (one 32-bit word) against a panel row of 16 columns x 2 k values, and vpmaddwd adds both
 * products into each column's lane: exact, since every factor is within [-255, 255]. On quad
 * panels (qgemm.h) a safe quad broadcasts 4 u8 codes against 16 columns x 4 s8 values. One
 * instance per row count and requantization variant, with the accumulators as named
 * variables, keeps every tile in registers; choosing the variant once per call rather than
 * per tile spares small-k tiles, whose requantization rivals their products, about a tenth
 * of their time. */
#include <string.h>

#include "kernels/x86/qreq_avx2.h"

/* CALL(rows, ruy, form) with the row count mr (1 to TFL_QGEMM_MR) and the requantization
 * variant of flags f (QREQ_DISPATCH) as constants. */
#define QG_SPECIALIZE(mr, f, CALL)                \
  switch (mr) {                                   \
    case 6: QREQ_DISPATCH(f, CALL, 6); break;     \
    case 5: QREQ_DISPATCH(f, CALL, 5); break;     \
    case 4: QREQ_DISPATCH(f, CALL, 4); break;     \
    case 3: QREQ_DISPATCH(f, CALL, 3); break;     \
    case 2: QREQ_DISPATCH(f, CALL, 2); break;     \
    default: QREQ_DISPATCH(f, CALL, 1); break;    \
  }

static inline __m256i bcast_pair(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

/* Kernels take `half` (a constant) set for a panel of at most 8 columns: its second half
 * is neither computed nor requantized. */
#define QG_STEP(i)                                                                   \
  if (mr > i) {                                                                      \
    const __m256i v = bcast_pair(a##i + q);                                          \
    c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(v, b0));                   \
    if (!half) c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(v, b1));        \
  }

/* The tile's products plus the bias, into acc[row][half]: pair j of row i at
 * a + i * rs + j * 2, or, with offsets, at a + i * rs + off[j]. */
static inline __attribute__((always_inline)) void
tile_product(const int mr, const int half, int32_t kp, const int16_t *a, size_t rs,
             const int32_t *off, const int16_t *b, const int32_t *bias,
             __m256i acc[TFL_QGEMM_MR][2]) {
  const __m256i bias0 = _mm256_loadu_si256((const __m256i *)bias);
  const __m256i bias1 = _mm256_loadu_si256((const __m256i *)(bias + 8));
  __m256i c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1;
  __m256i c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
  const int16_t *a0 = a, *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs, *a4 = a3 + rs,
                *a5 = a4 + rs;
  for (int32_t j = 0; j < kp / 2; j++, b += 2 * TFL_QGEMM_NR) {
    const int32_t q = off ? off[j] : 2 * j;
    const __m256i b0 = _mm256_load_si256((const __m256i *)b);
    const __m256i b1 = _mm256_load_si256((const __m256i *)(b + TFL_QGEMM_NR));
    QG_STEP(0) QG_STEP(1) QG_STEP(2) QG_STEP(3) QG_STEP(4) QG_STEP(5)
  }
  acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
  acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
  acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
}

static inline void store_codes(uint8_t *c, __m128i codes, int nr) {
  if (nr == TFL_QGEMM_NR) {
    _mm_storeu_si128((__m128i *)c, codes);
    return;
  }
  uint8_t tmp[TFL_QGEMM_NR];
  _mm_storeu_si128((__m128i *)tmp, codes);
  memcpy(c, tmp, (size_t)nr);
}

/* The codes of the tile's rows [0, rows) as int16, for the rounding variant (ruy, form);
 * with `half`, the first 8 columns twice. */
static inline __attribute__((always_inline)) void
tile_scale(const int ruy, const int form, const int rows, const int half, const tfl_qreq *r,
           const qreq_flags *f, int32_t col, __m256i acc[TFL_QGEMM_MR][2],
           __m256i w[TFL_QGEMM_MR]) {
  __m256i lo[TFL_QGEMM_MR];
  const qreq_vec p0 = qreq_params(r, ruy, form, f, col);
#pragma GCC unroll 6
  for (int i = 0; i < rows; i++) lo[i] = qreq_scale8(ruy, form, &p0, acc[i][0]);
  if (half) {
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++) w[i] = _mm256_packs_epi32(lo[i], lo[i]);
    return;
  }
  const qreq_vec p1 = qreq_params(r, ruy, form, f, col + 8);
#pragma GCC unroll 6
  for (int i = 0; i < rows; i++)
    w[i] = _mm256_packs_epi32(lo[i], qreq_scale8(ruy, form, &p1, acc[i][1]));
}

/* Requantizes the tile (variant ruy, form) and stores the nr codes of its rows [0, mr) (a
 * constant), two rows at a time: an odd mr's last row is computed with a copy of the bias and
 * dropped. */
static inline __attribute__((always_inline)) void
tile_store(const int ruy, const int form, const tfl_qreq *r, const qreq_flags *f, const int mr,
           const int half, int32_t col, __m256i acc[TFL_QGEMM_MR][2], int nr, uint8_t *c,
           size_t ldc) {
  __m256i w[TFL_QGEMM_MR];
  tile_scale(ruy, form, mr + (mr & 1), half, r, f, col, acc, w);
  /* packs, then narrowing two rows, leave 4-code groups in the order row0: 0 8 | 4 12 and
   * row1: 0 8 | 4 12 within the lanes (groups named by first column); this puts them back. */
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int i = 0; i < mr; i += 2) {
    const __m256i v = _mm256_permutevar8x32_epi32(qreq_narrow_clamp(f, w[i], w[i + 1]), order);
    store_codes(c + (size_t)i * ldc, _mm256_castsi256_si128(v), nr);
    if (i + 1 < mr) store_codes(c + (size_t)(i + 1) * ldc, _mm256_extracti128_si256(v, 1), nr);
  }
}

/* What a kernel call reads of pw, in locals: stores to the output may alias pw, so that the
 * compiler would reload its fields after each tile. */
typedef struct qg_call {
  const tfl_qreq *req;
  qreq_flags f;
  const uint8_t *panels;
  int32_t n, kp;
} qg_call;

static inline qg_call qg_call_of(const tfl_qgemm_weights *pw) {
  const qg_call k = {&pw->req, qreq_flags_of(&pw->req), pw->panels, pw->n, pw->kp};
  return k;
}

static inline int panel_columns(const qg_call *k, int32_t col) {
  return k->n - col < TFL_QGEMM_NR ? (int)(k->n - col) : TFL_QGEMM_NR;
}

/* --- quad panels ------------------------------------------------------------------------ */

static inline __m256i bcast_quad(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

#define QQ_SAFE(i)                                                                         \
  if (mr > i) {                                                                            \
    const __m256i v = bcast_quad(a + i * stride);                                          \
    c##i##0 =                                                                              \
        _mm256_add_epi32(c##i##0, _mm256_madd_epi16(_mm256_maddubs_epi16(v, b0), ones));   \
    if (!half)                                                                             \
      c##i##1 =                                                                            \
          _mm256_add_epi32(c##i##1, _mm256_madd_epi16(_mm256_maddubs_epi16(v, b1), ones)); \
  }

#define QQ_PAIRED(i)                                                                       \
  if (mr > i) {                                                                            \
    const __m256i v = bcast_quad(a + i * stride), w = bcast_quad(a2 + i * stride);         \
    const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(v, b0),                      \
                                        _mm256_maddubs_epi16(w, b2));                      \
    c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(lo, ones));                      \
    if (!half) {                                                                           \
      const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(v, b1),                    \
                                          _mm256_maddubs_epi16(w, b3));                    \
      c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(hi, ones));                    \
    }                                                                                      \
  }

/* The tile's products on quad panel `panel` plus the bias, into acc[row][half]: its safe
 * quads 4 bytes at a time (u8 codes x s8, pair sums by vpmaddubsw, then by vpmaddwd into
 * int32; paired quads add their pair sums first), its unsafe ones as two int16 pair
 * steps. */
static inline __attribute__((always_inline)) void
quad_product(const int mr, const int half, const tfl_qgemm_weights *pw, int32_t panel,
             const uint8_t *a8, const int16_t *a16, __m256i acc[TFL_QGEMM_MR][2]) {
  const int32_t *bias = pw->req.bias + panel * TFL_QGEMM_NR;
  const __m256i bias0 = _mm256_loadu_si256((const __m256i *)bias);
  const __m256i bias1 = _mm256_loadu_si256((const __m256i *)(bias + 8));
  __m256i c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1;
  __m256i c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
  const size_t stride = (size_t)pw->stride;
  const int32_t *order = pw->order + (size_t)panel * (size_t)pw->order_stride;
  const int32_t safe = pw->safe[panel];
  const uint8_t *b = (const uint8_t *)pw->panels + pw->panel_at[panel];
  const __m256i ones = _mm256_set1_epi16(1);
  const int32_t paired = pw->paired[panel];
  for (int32_t i = 0; i < paired; i += 2, b += 4 * sizeof(__m256i)) {
    const uint8_t *a = a8 + (size_t)order[i] * TFL_QGEMM_QUAD;
    const uint8_t *a2 = a8 + (size_t)order[i + 1] * TFL_QGEMM_QUAD;
    const __m256i b0 = _mm256_load_si256((const __m256i *)b);
    const __m256i b1 = _mm256_load_si256((const __m256i *)b + 1);
    const __m256i b2 = _mm256_load_si256((const __m256i *)b + 2);
    const __m256i b3 = _mm256_load_si256((const __m256i *)b + 3);
    QQ_PAIRED(0) QQ_PAIRED(1) QQ_PAIRED(2) QQ_PAIRED(3) QQ_PAIRED(4) QQ_PAIRED(5)
  }
  for (int32_t i = paired; i < safe; i++, b += 2 * sizeof(__m256i)) {
    const uint8_t *a = a8 + (size_t)order[i] * TFL_QGEMM_QUAD;
    const __m256i b0 = _mm256_load_si256((const __m256i *)b);
    const __m256i b1 = _mm256_load_si256((const __m256i *)b + 1);
    QQ_SAFE(0) QQ_SAFE(1) QQ_SAFE(2) QQ_SAFE(3) QQ_SAFE(4) QQ_SAFE(5)
  }
  for (int32_t i = safe; i < pw->entries[panel]; i++) {
    const int16_t *a0 = a16 + (size_t)order[i] * TFL_QGEMM_QUAD, *a1 = a0 + stride,
                  *a2 = a1 + stride, *a3 = a2 + stride, *a4 = a3 + stride, *a5 = a4 + stride;
    for (int32_t q = 0; q < TFL_QGEMM_QUAD; q += 2, b += 2 * sizeof(__m256i)) {
      const __m256i b0 = _mm256_load_si256((const __m256i *)b);
      const __m256i b1 = _mm256_load_si256((const __m256i *)b + 1);
      QG_STEP(0) QG_STEP(1) QG_STEP(2) QG_STEP(3) QG_STEP(4) QG_STEP(5)
    }
  }
  acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
  acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
  acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
}

/* --- the kernels ------------------------------------------------------------------------ */

/* A tile's rows as a kernel reads them: on pair panels int16 ones (pair j of row i at
 * a16 + i * rs + (off ? off[j] : 2 * j)), on quad panels codes a8 and, for unsafe quads,
 * their int16 copy a16. */
typedef struct qg_rows {
  const uint8_t *a8;
  const int16_t *a16;
  size_t rs;
  const int32_t *off;
} qg_rows;

/* The tile against panels [panel0, panel1) (quad: quad panels; half: they have at most 8
 * columns). */
static inline __attribute__((always_inline)) void
tile_panels(const int quad, const int mr, const int half, const int ruy, const int form,
            const qg_call *k, const tfl_qgemm_weights *pw, const qg_rows *a, int32_t panel0,
            int32_t panel1, uint8_t *c, size_t ldc) {
  const size_t panel_bytes = (size_t)k->kp * TFL_QGEMM_NR * sizeof(int16_t);
  for (int32_t panel = panel0; panel < panel1; panel++) {
    const int32_t col = panel * TFL_QGEMM_NR;
    __m256i acc[TFL_QGEMM_MR][2];
    if (quad)
      quad_product(mr, half, pw, panel, a->a8, a->a16, acc);
    else
      tile_product(mr, half, k->kp, a->a16, a->rs, a->off,
                   (const int16_t *)(const void *)(k->panels + (size_t)panel * panel_bytes),
                   k->req->bias + col, acc);
    tile_store(ruy, form, k->req, &k->f, mr, half, col, acc, panel_columns(k, col), c + col,
               ldc);
  }
}

/* One instance per row count and requantization variant (see the top). */
static inline __attribute__((always_inline)) void
kernel(const int quad, const int half, const tfl_qgemm_weights *pw, int mr, const qg_rows *a,
       int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  const qg_call k = qg_call_of(pw);
#define QG_TILES(rows, ruy, form) \
  tile_panels(quad, rows, half, ruy, form, &k, pw, a, panel0, panel1, c, ldc)
  QG_SPECIALIZE(mr, &k.f, QG_TILES)
#undef QG_TILES
}

void tfl_qgemm_ukernel_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                            int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  const qg_rows rows = {NULL, a, (size_t)pw->kp, NULL};
  kernel(0, 0, pw, mr, &rows, panel0, panel1, c, ldc);
}

void tfl_qgemm_direct_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                           size_t row_stride, const int32_t *offsets, int32_t panel0,
                           int32_t panel1, uint8_t *c, size_t ldc) {
  const qg_rows rows = {NULL, a, row_stride, offsets};
  kernel(0, 0, pw, mr, &rows, panel0, panel1, c, ldc);
}

void tfl_qgemm_half_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                         size_t row_stride, const int32_t *offsets, int32_t panel0,
                         int32_t panel1, uint8_t *c, size_t ldc) {
  const qg_rows rows = {NULL, a, row_stride, offsets};
  kernel(0, 1, pw, mr, &rows, panel0, panel1, c, ldc);
}

void tfl_qgemm_quad_avx2(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                         const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                         size_t ldc) {
  const qg_rows rows = {a8, a16, 0, NULL};
  kernel(1, 0, pw, mr, &rows, panel0, panel1, c, ldc);
}

void tfl_qgemm_quad_half_avx2(const tfl_qgemm_weights *pw, int mr, const uint8_t *a8,
                              const int16_t *a16, int32_t panel0, int32_t panel1, uint8_t *c,
                              size_t ldc) {
  const qg_rows rows = {a8, a16, 0, NULL};
  kernel(1, 1, pw, mr, &rows, panel0, panel1, c, ldc);
}

/* --- one row against byte panels -------------------------------------------------------- */

/* Panels a row step covers: 4 x 2 accumulators, one broadcast of A for 64 columns. */
#define ROW_PANELS 4

/* The 32 codes of a byte panel's pair row (16 columns x 2 k values), widened: columns 0-7
 * and 8-15. */
static inline void load_codes(const int u8, const uint8_t *p, __m256i *lo, __m256i *hi) {
  const __m128i v0 = _mm_load_si128((const __m128i *)p);
  const __m128i v1 = _mm_load_si128((const __m128i *)(p + 16));
  *lo = u8 ? _mm256_cvtepu8_epi16(v0) : _mm256_cvtepi8_epi16(v0);
  *hi = u8 ? _mm256_cvtepu8_epi16(v1) : _mm256_cvtepi8_epi16(v1);
}

/* Panels [panel, panel + np) for row a, whose products start from the bias plus `start` (the
 * filter offset times the row's sum). */
static inline __attribute__((always_inline)) void
row_panels(const int u8, const int np, const tfl_qgemm_weights *pw, const int16_t *a,
           int32_t panel, int32_t start, uint8_t *c) {
  const size_t panel_bytes = (size_t)pw->kp * TFL_QGEMM_NR;
  const uint8_t *b = (const uint8_t *)pw->panels + (size_t)panel * panel_bytes;
  const int32_t col = panel * TFL_QGEMM_NR;
  __m256i acc[ROW_PANELS][2];
  for (int j = 0; j < np; j++)
    for (int h = 0; h < 2; h++)
      acc[j][h] = _mm256_add_epi32(
          _mm256_loadu_si256((const __m256i *)(pw->req.bias + col + 16 * j + 8 * h)),
          _mm256_set1_epi32(start));
  for (int32_t q = 0; q < pw->kp; q += 2, b += 2 * TFL_QGEMM_NR) {
    const __m256i v = bcast_pair(a + q);
    for (int j = 0; j < np; j++) {
      __m256i lo, hi;
      load_codes(u8, b + (size_t)j * panel_bytes, &lo, &hi);
      acc[j][0] = _mm256_add_epi32(acc[j][0], _mm256_madd_epi16(v, lo));
      acc[j][1] = _mm256_add_epi32(acc[j][1], _mm256_madd_epi16(v, hi));
    }
  }
  for (int j = 0; j < np; j++) {
    const int32_t cj = col + 16 * j;
    const int nr = pw->n - cj < TFL_QGEMM_NR ? (int)(pw->n - cj) : TFL_QGEMM_NR;
    __m256i tile[TFL_QGEMM_MR][2];
    for (int i = 0; i < TFL_QGEMM_MR; i++) { /* row 0 is stored, the others are copies */
      tile[i][0] = acc[j][0];
      tile[i][1] = acc[j][1];
    }
    const qreq_flags f = qreq_flags_of(&pw->req);
#define ROW_STORE(rows, ruy, form) \
  tile_store(ruy, form, &pw->req, &f, rows, 0, cj, tile, nr, c + cj, 0)
    QREQ_DISPATCH(&f, ROW_STORE, 1);
#undef ROW_STORE
  }
}

static inline __attribute__((always_inline)) void
row_all_panels(const int u8, const tfl_qgemm_weights *pw, const int16_t *a, int32_t panel0,
               int32_t panel1, int32_t start, uint8_t *c) {
  int32_t panel = panel0;
  for (; panel + ROW_PANELS <= panel1; panel += ROW_PANELS)
    row_panels(u8, ROW_PANELS, pw, a, panel, start, c);
  switch (panel1 - panel) {
    case 3: row_panels(u8, 3, pw, a, panel, start, c); break;
    case 2: row_panels(u8, 2, pw, a, panel, start, c); break;
    case 1: row_panels(u8, 1, pw, a, panel, start, c); break;
    default: break;
  }
}

/* The sum of a row's kp values (exact: each is within [-255, 255]). */
static int32_t row_sum(const int16_t *a, int32_t kp) {
  __m256i sum = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  int32_t q = 0;
  for (; q + 16 <= kp; q += 16)
    sum = _mm256_add_epi32(
        sum, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a + q)), ones));
  int32_t lanes[8], total = 0;
  _mm256_storeu_si256((__m256i *)lanes, sum);
  for (int i = 0; i < 8; i++) total += lanes[i];
  for (; q < kp; q++) total += a[q];
  return total;
}

void tfl_qgemm_ukernel_row_avx2(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                                int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  for (int i = 0; i < mr; i++, a += pw->kp, c += ldc) {
    const int32_t start =
        pw->filter_offset ? (int32_t)((uint32_t)pw->filter_offset * (uint32_t)row_sum(a, pw->kp))
                          : 0;
    if (pw->filter_type == TFL_UINT8)
      row_all_panels(1, pw, a, panel0, panel1, start, c);
    else
      row_all_panels(0, pw, a, panel0, panel1, start, c);
  }
}

void tfl_qgemm_widen_avx2(tfl_type type, const void *src, int32_t n, int32_t offset,
                          int16_t *dst) {
  const __m256i off = _mm256_set1_epi16((short)offset);
  const uint8_t *s = src;
  int32_t i = 0;
  if (type == TFL_UINT8) {
    for (; i + 16 <= n; i += 16) {
      const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(s + i)));
      _mm256_storeu_si256((__m256i *)(dst + i), _mm256_add_epi16(v, off));
    }
    for (; i < n; i++) dst[i] = (int16_t)(s[i] + offset);
    return;
  }
  for (; i + 16 <= n; i += 16) {
    const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(s + i)));
    _mm256_storeu_si256((__m256i *)(dst + i), _mm256_add_epi16(v, off));
  }
  for (; i < n; i++) dst[i] = (int16_t)((int8_t)s[i] + offset);
}
