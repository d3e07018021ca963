/* Packed float GEMM: packing, the tile loops and their split over threads, and the portable
 * micro-kernel (see gemm.h). */
#include "kernels/gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"
#include "kernels/window.h"

/* Panels of one task's column block should stay in the core's L2 while the task walks its rows:
 * a row tile reads the whole block, and the next tile reads it again. */
#define GEMM_BLOCK_BYTES (192u * 1024u)
/* Tasks per thread when threads share the work, so that uneven tasks and a busy core even
 * out (handing out a task costs one atomic add); and the most row tiles in one task. */
#define GEMM_TASKS_PER_THREAD 8
#define GEMM_MAX_CHUNK_TILES 64

static int32_t div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }

static tfl_gemm_ukernel_fn pick_ukernel(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return tfl_gemm_ukernel_avx2;
#endif
  if (tfl_simd_neon(level)) return tfl_gemm_ukernel_neon;
  (void)level;
  return tfl_gemm_ukernel_scalar;
}

static tfl_gemm_residual_fn pick_residual(tfl_cpu_level level) {
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) return tfl_gemm_residual_avx2;
#endif
  (void)level;
  return tfl_gemm_residual_scalar;
}

void tfl_gemm_weights_free(tfl_gemm_weights *pw) {
  free(pw->panels);
  memset(pw, 0, sizeof(*pw));
}

size_t tfl_gemm_packed_bytes(int32_t n, int32_t k) {
  const size_t panels = (size_t)div_up(n, TFL_GEMM_NR);
  const size_t bytes = panels * ((size_t)k + 1) * TFL_GEMM_NR * sizeof(float);
  /* whole cache lines, and never 0 */
  return bytes ? (bytes + 63) & ~(size_t)63 : 64;
}

/* Panel columns [col, col + nr) from k-major w ([k][n]): k rows of nr contiguous floats. */
static void pack_k_major(float *dst, const float *w, int32_t n, int32_t k, int32_t col, int nr) {
  for (int32_t q = 0; q < k; q++)
    memcpy(dst + (size_t)q * TFL_GEMM_NR, w + (size_t)q * (size_t)n + col,
           (size_t)nr * sizeof(float));
}

void tfl_gemm_pack_into(tfl_gemm_weights *pw, tfl_cpu_level level, float *buffer,
                        const float *w, int32_t n, int32_t k, int k_major) {
  const size_t panels = (size_t)div_up(n, TFL_GEMM_NR);
  const size_t panel_floats = (size_t)k * TFL_GEMM_NR;
  memset(buffer, 0, tfl_gemm_packed_bytes(n, k));
  for (int32_t col = 0; col < n; col += TFL_GEMM_NR) {
    float *dst = buffer + (size_t)(col / TFL_GEMM_NR) * panel_floats;
    const int nr = n - col < TFL_GEMM_NR ? (int)(n - col) : TFL_GEMM_NR;
    if (k_major) {
      pack_k_major(dst, w, n, k, col, nr);
      continue;
    }
    for (int j = 0; j < nr; j++) {
      const float *src = w + (size_t)(col + j) * (size_t)k;
      for (int32_t q = 0; q < k; q++) dst[(size_t)q * TFL_GEMM_NR + j] = src[q];
    }
  }
  pw->panels = buffer;
  pw->bias = buffer + panels * panel_floats;
  pw->n = n;
  pw->k = k;
  pw->ukernel = pick_ukernel(level);
  pw->residual = pick_residual(level);
  pw->gemv = NULL;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) pw->gemv = tfl_gemm_gemv_avx2;
#endif
}

tfl_status tfl_gemm_pack(tfl_gemm_weights *pw, tfl_cpu_level level, const float *w,
                         const float *bias, int32_t n, int32_t k) {
  tfl_gemm_weights_free(pw);
  /* 64-byte alignment keeps every panel row of 16 floats in one cache line. */
  float *p = aligned_alloc(64, tfl_gemm_packed_bytes(n, k));
  if (!p) return TFL_OUT_OF_MEMORY;
  tfl_gemm_pack_into(pw, level, p, w, n, k, 0);
  float *packed_bias = p + (size_t)div_up(n, TFL_GEMM_NR) * (size_t)k * TFL_GEMM_NR;
  if (bias) memcpy(packed_bias, bias, (size_t)n * sizeof(float));
  return TFL_OK;
}

/* fmaf, like the vector kernels' FMA, so every target rounds the same way; it is one
 * instruction on aarch64, where this kernel runs in production. */
void tfl_gemm_ukernel_scalar(int mr, int nr, int32_t kc, int32_t taps, const float *const *a,
                             const float *b, const float *bias, float *c, size_t ldc, float lo,
                             float hi) {
  float acc[TFL_GEMM_MR][TFL_GEMM_NR] = {{0}};
  for (int32_t t = 0; t < taps; t++, a += TFL_GEMM_MR) {
    const float *bt = b + (size_t)t * (size_t)kc * TFL_GEMM_NR;
    for (int i = 0; i < mr; i++) {
      const float *row = a[i];
      for (int32_t q = 0; q < kc; q++) {
        const float v = row[q];
        const float *bq = bt + (size_t)q * TFL_GEMM_NR;
        for (int j = 0; j < TFL_GEMM_NR; j++) acc[i][j] = fmaf(v, bq[j], acc[i][j]);
      }
    }
  }
  for (int i = 0; i < mr; i++, c += ldc)
    for (int j = 0; j < nr; j++) c[j] = tfl_window_clamp(acc[i][j] + bias[j], lo, hi);
}

void tfl_gemm_residual_scalar(int mr, int nr, float *c, size_t ldc, const float *r, size_t ldr,
                              float lo, float hi) {
  for (int i = 0; i < mr; i++, c += ldc, r += ldr)
    for (int j = 0; j < nr; j++) c[j] = tfl_window_clamp(c[j] + r[j], lo, hi);
}

void tfl_gemm_split_plan(int32_t tiles, int32_t panels, size_t panel_bytes, int threads,
                         tfl_gemm_split *out) {
  int32_t block = (int32_t)(GEMM_BLOCK_BYTES / (panel_bytes ? panel_bytes : 1));
  if (block < 1) block = 1;
  if (block > panels) block = panels;
  int32_t n_blocks = div_up(panels, block);
  const int32_t want = threads > 1 ? threads * GEMM_TASKS_PER_THREAD : 1;
  if (tiles * n_blocks < want) { /* too few rows to share: cut the columns finer */
    n_blocks = div_up(want, tiles);
    if (n_blocks > panels) n_blocks = panels;
    block = div_up(panels, n_blocks);
    n_blocks = div_up(panels, block);
  }
  int32_t m_chunks = div_up(want, n_blocks);
  if (m_chunks > tiles) m_chunks = tiles;
  const int32_t min_chunks = div_up(tiles, GEMM_MAX_CHUNK_TILES);
  if (m_chunks < min_chunks) m_chunks = min_chunks;
  out->block_panels = block;
  out->n_blocks = n_blocks;
  out->chunk_tiles = div_up(tiles, m_chunks);
  out->m_chunks = div_up(tiles, out->chunk_tiles);
}

/* How the product is cut into tasks: `n_blocks` column blocks of `block_panels` panels, times
 * `m_chunks` row chunks of `chunk_tiles` tiles; task t is chunk t % m_chunks of block
 * t / m_chunks, so consecutive tasks share a column block. k is not cut: splitting it into
 * L1-sized blocks (partial sums kept in C) measured 2-9% slower on this Zen 3 for every
 * layer shape of the reference models, k = 4608 included, as the whole panels then stream
 * less regularly. */
typedef struct gemm_job {
  const tfl_gemm_weights *pw;
  const tfl_gemm_problem *p;
  int32_t block_panels, n_blocks, chunk_tiles, m_chunks;
} gemm_job;

static void gemm_plan(gemm_job *job, int threads) {
  const tfl_gemm_weights *pw = job->pw;
  const int32_t panels = div_up(pw->n, TFL_GEMM_NR);
  const int32_t tiles = div_up(job->p->m, TFL_GEMM_MR);
  const size_t panel_bytes = (size_t)pw->k * TFL_GEMM_NR * sizeof(float);
  tfl_gemm_split s;
  tfl_gemm_split_plan(tiles, panels, panel_bytes, threads, &s);
  job->block_panels = s.block_panels;
  job->n_blocks = s.n_blocks;
  job->chunk_tiles = s.chunk_tiles;
  job->m_chunks = s.m_chunks;
}

/* Rows of the next tile when `left` rows remain. A tile of 1 to 3 rows has too few
 * accumulators to hide the FMA latency and costs about as much as one of 4, so a last 7 to 9
 * rows go as 4 + 3, 4 + 4 or 5 + 4 rather than 6 + 1, 2 or 3 (the 49 rows of MobileNet v2's
 * 7x7 layers: 3% faster). */
int tfl_gemm_tile_rows(int32_t left) {
  if (left > TFL_GEMM_MR && left <= TFL_GEMM_MR + 3) return (int)(left + 1) / 2;
  return left < TFL_GEMM_MR ? (int)left : TFL_GEMM_MR;
}

/* A lone row against panels [panel0, panel1), TFL_GEMM_GEMV_PANELS at a time. */
static void gemm_row(const tfl_gemm_weights *pw, const float *a, int32_t panel0, int32_t panel1,
                     float *c, float lo, float hi) {
  const size_t panel_floats = (size_t)pw->k * TFL_GEMM_NR;
  for (int32_t panel = panel0; panel < panel1; panel += TFL_GEMM_GEMV_PANELS) {
    const int np = panel1 - panel < TFL_GEMM_GEMV_PANELS ? (int)(panel1 - panel)
                                                         : TFL_GEMM_GEMV_PANELS;
    const int32_t col = panel * TFL_GEMM_NR;
    const int32_t n = pw->n - col < np * TFL_GEMM_NR ? pw->n - col : np * TFL_GEMM_NR;
    pw->gemv(np, (int)n, pw->k, a, pw->panels + (size_t)panel * panel_floats, pw->bias + col,
             c + col, lo, hi);
  }
}

static void gemm_task(void *arg, int task, int thread) {
  const gemm_job *job = arg;
  const tfl_gemm_weights *pw = job->pw;
  const tfl_gemm_problem *p = job->p;
  const int32_t panels = div_up(pw->n, TFL_GEMM_NR);
  const int32_t panel0 = (task / job->m_chunks) * job->block_panels;
  const int32_t panel1 = panel0 + job->block_panels < panels ? panel0 + job->block_panels : panels;
  const int32_t row0 = (task % job->m_chunks) * job->chunk_tiles * TFL_GEMM_MR;
  const int32_t row1 = row0 + job->chunk_tiles * TFL_GEMM_MR < p->m
                           ? row0 + job->chunk_tiles * TFL_GEMM_MR
                           : p->m;
  const size_t panel_floats = (size_t)pw->k * TFL_GEMM_NR;
  float *scratch = p->scratch ? p->scratch + (size_t)thread * p->scratch_floats : NULL;
  const float *ptrs[TFL_GEMM_MAX_TAPS * TFL_GEMM_MR];
  for (int32_t row = row0, mr; row < row1; row += mr) {
    mr = tfl_gemm_tile_rows(row1 - row);
    p->rows(p->rows_arg, row, mr, scratch, ptrs);
    float *c = p->c + (size_t)row * p->ldc;
    if (mr == 1 && p->taps == 1 && pw->gemv && !p->residual) {
      gemm_row(pw, ptrs[0], panel0, panel1, c, p->lo, p->hi);
      continue;
    }
    for (int32_t panel = panel0; panel < panel1; panel++) {
      const int32_t col = panel * TFL_GEMM_NR;
      const int nr = pw->n - col < TFL_GEMM_NR ? (int)(pw->n - col) : TFL_GEMM_NR;
      pw->ukernel(mr, nr, p->kc, p->taps, ptrs, pw->panels + (size_t)panel * panel_floats,
                  pw->bias + col, c + col, p->ldc, p->lo, p->hi);
      if (p->residual) /* while the tile is in L1 */
        pw->residual(mr, nr, c + col, p->ldc, p->residual->r + (size_t)row * p->residual->ld + col,
                     p->residual->ld, p->residual->lo, p->residual->hi);
    }
  }
}

void tfl_gemm_run(tfl_context *ctx, const tfl_gemm_weights *pw, const tfl_gemm_problem *p) {
  if (p->m <= 0 || pw->n <= 0) return;
  gemm_job job = {pw, p, 0, 0, 0, 0};
  gemm_plan(&job, ctx ? tfl_context_threads(ctx) : 1);
  const int tasks = (int)(job.n_blocks * job.m_chunks);
  if (!ctx || tasks == 1) {
    for (int t = 0; t < tasks; t++) gemm_task(&job, t, 0);
    return;
  }
  tfl_context_parallel(ctx, tasks, gemm_task, &job);
}

typedef struct gemm_matrix_rows {
  const float *a;
  size_t lda;
} gemm_matrix_rows;

static void gemm_matrix_rows_fn(const void *arg, int32_t row, int mr, float *scratch,
                                const float **ptrs) {
  const gemm_matrix_rows *r = arg;
  for (int i = 0; i < mr; i++) ptrs[i] = r->a + (size_t)(row + i) * r->lda;
}

void tfl_gemm_matrix_residual(tfl_context *ctx, const tfl_gemm_weights *pw, const float *a,
                              size_t lda, int32_t m, float *c, size_t ldc, float lo, float hi,
                              const tfl_gemm_residual *residual) {
  const gemm_matrix_rows rows = {a, lda};
  const tfl_gemm_problem p = {.m = m, .taps = 1, .kc = pw->k, .rows = gemm_matrix_rows_fn,
                              .rows_arg = &rows, .c = c, .ldc = ldc, .lo = lo, .hi = hi,
                              .residual = residual};
  tfl_gemm_run(ctx, pw, &p);
}

void tfl_gemm_matrix(tfl_context *ctx, const tfl_gemm_weights *pw, const float *a, size_t lda,
                     int32_t m, float *c, size_t ldc, float lo, float hi) {
  tfl_gemm_matrix_residual(ctx, pw, a, lda, m, c, ldc, lo, hi, NULL);
}
