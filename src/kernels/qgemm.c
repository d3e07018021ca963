/* Quantized GEMM: requantization tables, packing, the tile loops and their split over threads,
 * CONV_2D's row gathering, and the portable kernels (see qgemm.h). */
#include "kernels/qgemm.h"

#include "kernels/arm/qgemm_dot_neon.h"
#include "kernels/gemm.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"

#define QREQ_ALIGN 16
/* Bytes a gathered copy may read or write past its end (whole 32-byte vectors). */
#define QGEMM_SLACK 32

static int32_t div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }

/* --- requantization ------------------------------------------------------------------ */

int tfl_qreq_supports(tfl_cpu_level level, const tfl_window_quant *q, const tfl_tensor *input,
                      const tfl_tensor *filter, const tfl_tensor *bias) {
  if (level == TFL_CPU_SCALAR || q->acc64) return 0;
  if (q->mode != TFL_REQUANT_DOUBLE && q->mode != TFL_REQUANT_RUY) return 0;
  if (input->type != TFL_INT8 && input->type != TFL_UINT8) return 0;
  if (!tfl_tensor_is_constant(filter)) return 0;
  return !bias || (bias->type == TFL_INT32 && tfl_tensor_is_constant(bias));
}

void tfl_qreq_free(tfl_qreq *r) {
  free(r->block);
  memset(r, 0, sizeof(*r));
}

tfl_status tfl_qreq_init(tfl_qreq *r, int32_t slots, const tfl_window_quant *q,
                         tfl_type out_type) {
  tfl_qreq_free(r);
  const size_t n = (size_t)div_up(slots > 0 ? slots : 1, QREQ_ALIGN) * QREQ_ALIGN;
  /* 8 int32 arrays, then 4 int64 ones (n is a multiple of 16: they stay aligned). */
  int32_t *p = calloc(8 * n + 8 * n, sizeof(int32_t));
  if (!p) return TFL_OUT_OF_MEMORY;
  r->block = p;
  int32_t **arrays[8] = {&r->bias, &r->mult,  &r->left,       &r->right,
                         &r->shift, &r->half, &r->ruy_offset, &r->fused_shift};
  for (size_t i = 0; i < 8; i++) *arrays[i] = p + i * n;
  r->ruy_round = (int64_t *)(void *)(p + 8 * n);
  r->ruy_shift = r->ruy_round + n;
  r->fused_round = r->ruy_shift + n;
  r->fused_round_neg = r->fused_round + n;
  r->ruy = q->mode == TFL_REQUANT_RUY;
  r->fused = 1;
  r->out_offset = q->output_offset;
  r->act_min = q->act_min;
  r->act_max = q->act_max;
  r->out_type = out_type;
  return TFL_OK;
}

void tfl_qreq_set(tfl_qreq *r, int32_t slot, const tfl_window_quant *q, int32_t c, int32_t bias) {
  const int32_t shift = q->shift[c];
  const int32_t right = shift > 0 ? 0 : -shift;
  const int64_t half = right > 0 ? (int64_t)1 << (right - 1) : 0;
  r->bias[slot] = bias;
  r->mult[slot] = q->multiplier[c];
  r->shift[slot] = shift;
  r->left[slot] = shift > 0 ? shift : 0;
  r->right[slot] = right;
  if (right == 0) r->fused = 0;
  r->half[slot] = (int32_t)half;
  /* Slot s of its group of 8 goes to position s / 2 (even) or 4 + s / 2 (odd). */
  const int32_t in_group = slot % 8, at = slot - in_group + (in_group & 1) * 4 + in_group / 2;
  r->ruy_round[at] = ((int64_t)1 << 62) + ((int64_t)1 << 30) + half * ((int64_t)1 << 31);
  r->ruy_shift[at] = 31 + right;
  r->fused_round[at] = ((int64_t)1 << 30) + half * ((int64_t)1 << 31);
  r->fused_round_neg[at] = r->fused_round[at] - ((int64_t)1 << 31);
  r->fused_shift[slot] = right - 1;
  r->ruy_offset[slot] = (int32_t)((uint32_t)r->out_offset - ((uint32_t)1 << (31 - right)));
}

int32_t tfl_qreq_apply(const tfl_qreq *r, int32_t slot, int32_t acc) {
  const int32_t x = tfl_wrap_add32(acc, r->bias[slot]);
  int32_t v = r->ruy ? tfl_mul_by_quantized_multiplier_ruy(x, r->mult[slot], r->shift[slot])
                     : tfl_mul_by_quantized_multiplier(x, r->mult[slot], r->shift[slot]);
  v = tfl_wrap_add32(v, r->out_offset);
  return v < r->act_min ? r->act_min : v > r->act_max ? r->act_max : v;
}

/* --- packing ------------------------------------------------------------------------- */

static int32_t bias_value(const tfl_tensor *bias, int32_t c) {
  return bias ? ((const int32_t *)bias->data)[c] : 0;
}

/* Filter element i plus the filter offset. */
static int16_t filter_value(const tfl_tensor *filter, size_t i, int32_t offset) {
  const int32_t w = filter->type == TFL_UINT8 ? ((const uint8_t *)filter->data)[i]
                                              : ((const int8_t *)filter->data)[i];
  return (int16_t)(w + offset);
}

void tfl_qgemm_weights_free(tfl_qgemm_weights *pw) {
  free(pw->panels);
  free(pw->panel_at);
  free(pw->order);
  free(pw->safe);
  free(pw->paired);
  free(pw->entries);
  tfl_qreq_free(&pw->req);
  memset(pw, 0, sizeof(*pw));
}

/* The int16 (or, for one row on AVX2, byte) pair panels. */
static tfl_status pack_pairs(tfl_qgemm_weights *pw, int as_bytes, const tfl_tensor *filter) {
  const size_t panels = (size_t)div_up(pw->n, TFL_QGEMM_NR);
  const size_t panel_values = (size_t)pw->kp * TFL_QGEMM_NR;
  const size_t value_bytes = as_bytes ? 1 : sizeof(int16_t);
  /* 64-byte alignment keeps every pair row of a panel (16 columns x 2) in one cache line. */
  const size_t bytes = panels * panel_values * value_bytes;
  uint8_t *p = aligned_alloc(64, bytes ? (bytes + 63) & ~(size_t)63 : 64);
  if (!p) return TFL_OUT_OF_MEMORY;
  memset(p, 0, bytes);
  for (int32_t col = 0; col < pw->n; col++) {
    const size_t first =
        (size_t)(col / TFL_QGEMM_NR) * panel_values + (size_t)(col % TFL_QGEMM_NR) * 2;
    for (int32_t i = 0; i < pw->k; i++) {
      const size_t at = first + (size_t)(i / 2) * TFL_QGEMM_NR * 2 + (size_t)(i & 1);
      const size_t from = (size_t)col * (size_t)pw->k + (size_t)i;
      if (as_bytes)
        p[at] = ((const uint8_t *)filter->data)[from];
      else
        ((int16_t *)(void *)p)[at] = filter_value(filter, from, pw->filter_offset);
    }
  }
  pw->panels = p;
  pw->bytes = as_bytes;
  return TFL_OK;
}

tfl_status tfl_qgemm_pack(tfl_qgemm_weights *pw, tfl_cpu_level level, const tfl_window_quant *q,
                          const tfl_tensor *filter, const tfl_tensor *bias, tfl_type out_type,
                          int32_t n, int32_t k, int32_t m) {
  tfl_qgemm_weights_free(pw);
  const int avx2 = tfl_simd_avx2(level);
  if (tfl_qreq_init(&pw->req, n, q, out_type) != TFL_OK) return TFL_OUT_OF_MEMORY;
  for (int32_t col = 0; col < n; col++) tfl_qreq_set(&pw->req, col, q, col, bias_value(bias, col));
  pw->filter_type = filter->type;
  pw->filter_offset = q->filter_offset;
  pw->n = n;
  pw->k = k;
  pw->kp = k + (k & 1);
  pw->stride = pw->kp;
  pw->wide = 1;
  pw->ukernel = tfl_qgemm_ukernel_portable;
  pw->widen = tfl_qgemm_widen_portable;
#if TFL_HAVE_X86_KERNELS
  if (avx2) {
    pw->widen = tfl_qgemm_widen_avx2;
    if (m != 1) {
      const int quads = tfl_qgemm_pack_quads(pw, q, filter, out_type);
      if (quads < 0) {
        tfl_qgemm_weights_free(pw);
        return TFL_OUT_OF_MEMORY;
      }
      if (quads) {
        pw->quad = tfl_qgemm_quad_avx2;
        pw->quad_half = tfl_qgemm_quad_half_avx2;
        return TFL_OK;
      }
    }
  }
#endif
  if (pack_pairs(pw, avx2 && m == 1, filter) != TFL_OK) {
    tfl_qgemm_weights_free(pw);
    return TFL_OUT_OF_MEMORY;
  }
#if TFL_HAVE_X86_KERNELS
  if (avx2) pw->ukernel = pw->bytes ? tfl_qgemm_ukernel_row_avx2 : tfl_qgemm_ukernel_avx2;
  if (avx2 && !pw->bytes) {
    pw->direct = tfl_qgemm_direct_avx2;
    pw->half = tfl_qgemm_half_avx2;
  }
#endif
  if (tfl_simd_neon(level)) tfl_qgemm_use_neon(pw);
  if (level >= TFL_CPU_NEON_DOT && tfl_qgemm_use_neon_dot(pw, q->input_offset) != TFL_OK) {
    tfl_qgemm_weights_free(pw);
    return TFL_OUT_OF_MEMORY;
  }
  return TFL_OK;
}

tfl_status tfl_qgemm_out_of_memory(tfl_context *ctx, const tfl_node *node,
                                   const tfl_tensor *filter) {
  return tfl_context_fail(ctx, node, TFL_OUT_OF_MEMORY, "out of memory packing filter '%s'",
                          filter->name ? filter->name : "");
}

/* --- portable kernels ------------------------------------------------------------------ */

void tfl_qgemm_widen_portable(tfl_type type, const void *src, int32_t n, int32_t offset,
                              int16_t *dst) {
  if (type == TFL_UINT8) {
    const uint8_t *s = src;
    for (int32_t i = 0; i < n; i++) dst[i] = (int16_t)(s[i] + offset);
  } else {
    const int8_t *s = src;
    for (int32_t i = 0; i < n; i++) dst[i] = (int16_t)(s[i] + offset);
  }
}

/* Rows [0, mr) x columns [col, col + nr) from the panel b. */
static void portable_tile(const tfl_qgemm_weights *pw, int mr, int nr, int32_t col,
                          const int16_t *a, const int16_t *b, uint8_t *c, size_t ldc) {
  const int32_t pairs = pw->kp / 2;
  for (int i = 0; i < mr; i++) {
    const int16_t *row = a + (size_t)i * (size_t)pw->kp;
    uint32_t acc[TFL_QGEMM_NR] = {0};
    for (int32_t j = 0; j < pairs; j++) {
      const int16_t *bj = b + (size_t)j * TFL_QGEMM_NR * 2;
      for (int n = 0; n < TFL_QGEMM_NR; n++)
        acc[n] += (uint32_t)(row[2 * j] * bj[2 * n] + row[2 * j + 1] * bj[2 * n + 1]);
    }
    for (int n = 0; n < nr; n++)
      tfl_window_store(pw->req.out_type, c, (size_t)i * ldc + (size_t)(col + n),
                       tfl_qreq_apply(&pw->req, col + n, (int32_t)acc[n]));
  }
}

void tfl_qgemm_ukernel_portable(const tfl_qgemm_weights *pw, int mr, const int16_t *a,
                                int32_t panel0, int32_t panel1, uint8_t *c, size_t ldc) {
  for (int32_t panel = panel0; panel < panel1; panel++) {
    const int32_t col = panel * TFL_QGEMM_NR;
    const int nr = pw->n - col < TFL_QGEMM_NR ? (int)(pw->n - col) : TFL_QGEMM_NR;
    portable_tile(pw, mr, nr, col, a,
                  (const int16_t *)pw->panels + (size_t)panel * (size_t)pw->kp * TFL_QGEMM_NR, c,
                  ldc);
  }
}

/* --- the tile loops ------------------------------------------------------------------- */

/* Bytes of one thread's tiles of A: the rows the kernel reads (int16 values, or bytes on quad
 * panels, and the slack that gathering may overwrite past them), then, on quad panels that
 * also read them, the int16 values. */
static size_t tile_rows_bytes(const tfl_qgemm_weights *pw) {
  const size_t value = pw->quad ? 1 : sizeof(int16_t);
  return ((size_t)TFL_QGEMM_MR * (size_t)pw->stride * value + 2 * QGEMM_SLACK + 63) &
         ~(size_t)63;
}

static size_t tile_bytes(const tfl_qgemm_weights *pw) {
  const size_t wide = pw->quad && pw->wide
                          ? (size_t)TFL_QGEMM_MR * (size_t)pw->stride * sizeof(int16_t)
                          : 0;
  return tile_rows_bytes(pw) + ((wide + 63) & ~(size_t)63);
}

size_t tfl_qgemm_scratch_bytes(const tfl_qgemm_weights *pw, int threads) {
  return (size_t)(threads > 0 ? threads : 1) * tile_bytes(pw);
}

/* How the product is cut into tasks: `n_blocks` column blocks of `block_panels` panels, times
 * `m_chunks` row chunks of `chunk_tiles` tiles; task t is chunk t % m_chunks of block
 * t / m_chunks. */
typedef struct qgemm_job {
  const tfl_qgemm_weights *pw;
  const tfl_qgemm_problem *p;
  int32_t block_panels, n_blocks, chunk_tiles, m_chunks;
} qgemm_job;

static void qgemm_plan(qgemm_job *job, int threads) {
  const tfl_qgemm_weights *pw = job->pw;
  const int32_t panels = div_up(pw->n, TFL_QGEMM_NR);
  const int32_t tiles = div_up(job->p->m, TFL_QGEMM_MR);
  const size_t panel_bytes = pw->quad ? pw->panel_at[panels] / (size_t)panels
                                      : (size_t)pw->kp * TFL_QGEMM_NR * sizeof(int16_t);
  tfl_gemm_split s;
  tfl_gemm_split_plan(tiles, panels, panel_bytes, threads, &s);
  job->block_panels = s.block_panels;
  job->n_blocks = s.n_blocks;
  job->chunk_tiles = s.chunk_tiles;
  job->m_chunks = s.m_chunks;
}

/* int8 codes as u8, + 128. */
static void flip_codes(const uint8_t *src, size_t n, uint8_t *dst) {
  for (size_t i = 0; i < n; i++) dst[i] = (uint8_t)(src[i] ^ 0x80);
}

/* A tile on quad panels: a8 (bytes as the rows gave them), widened when some quad is unsafe,
 * flipped for int8; a last panel of at most 8 columns apart (`full`: where it starts). */
static void quad_tile(const tfl_qgemm_weights *pw, const tfl_qgemm_problem *p, int mr,
                      const uint8_t *a8, uint8_t *tile, int16_t *a16, int32_t panel0,
                      int32_t full, int32_t panel1, uint8_t *c) {
  const size_t n = (size_t)mr * (size_t)pw->stride;
  if (pw->wide) pw->widen(p->type, a8, (int32_t)n, p->input_offset, a16);
  if (pw->flip) {
    flip_codes(a8, n, tile);
    a8 = tile;
  }
  if (panel0 < full) pw->quad(pw, mr, a8, a16, panel0, full, c, p->ldc);
  if (full < panel1) pw->quad_half(pw, mr, a8, a16, full, panel1, c, p->ldc);
}

/* Where the panels [panel0, panel1) that the half kernels take start: the last one, when it
 * has at most NR / 2 columns and the kernels have them. */
static int32_t half_panels_from(const tfl_qgemm_weights *pw, int32_t panel0, int32_t panel1) {
  const int has = pw->quad ? pw->quad_half != NULL : pw->half != NULL;
  const int32_t last = panel1 - 1;
  return has && last >= panel0 && pw->n - last * TFL_QGEMM_NR <= TFL_QGEMM_NR / 2 ? last
                                                                                  : panel1;
}

static void qgemm_task(void *arg, int task, int thread) {
  const qgemm_job *job = arg;
  const tfl_qgemm_weights *pw = job->pw;
  const tfl_qgemm_problem *p = job->p;
  const int32_t panels = div_up(pw->n, TFL_QGEMM_NR);
  const int32_t panel0 = (task / job->m_chunks) * job->block_panels;
  const int32_t panel1 = panel0 + job->block_panels < panels ? panel0 + job->block_panels : panels;
  const int32_t row0 = (task % job->m_chunks) * job->chunk_tiles * TFL_QGEMM_MR;
  const int32_t row1 = row0 + job->chunk_tiles * TFL_QGEMM_MR < p->m
                           ? row0 + job->chunk_tiles * TFL_QGEMM_MR
                           : p->m;
  const int32_t full = half_panels_from(pw, panel0, panel1);
  uint8_t *tile = (uint8_t *)p->scratch + (size_t)thread * tile_bytes(pw);
  int16_t *a16 = (int16_t *)(void *)(tile + tile_rows_bytes(pw));
  for (int32_t row = row0, mr; row < row1; row += mr) {
    mr = row1 - row < TFL_QGEMM_MR ? (int)(row1 - row) : TFL_QGEMM_MR;
    if (p->row_run && p->row_run - row % p->row_run < mr) mr = p->row_run - row % p->row_run;
    const void *a = p->rows(p->rows_arg, pw, row, mr, tile);
    uint8_t *c = (uint8_t *)p->c + (size_t)row * p->ldc;
    if (pw->quad) {
      quad_tile(pw, p, mr, a, tile, a16, panel0, full, panel1, c);
      continue;
    }
    const size_t rs = p->offsets ? p->row_stride : (size_t)pw->kp;
    if (panel0 < full && p->offsets)
      pw->direct(pw, mr, a, rs, p->offsets, panel0, full, c, p->ldc);
    else if (panel0 < full)
      pw->ukernel(pw, mr, a, panel0, full, c, p->ldc);
    if (full < panel1) pw->half(pw, mr, a, rs, p->offsets, full, panel1, c, p->ldc);
  }
}

void tfl_qgemm_run(tfl_context *ctx, const tfl_qgemm_weights *pw, const tfl_qgemm_problem *p) {
  if (p->m <= 0 || pw->n <= 0) return;
  qgemm_job job = {pw, p, 0, 0, 0, 0};
  qgemm_plan(&job, ctx ? tfl_context_threads(ctx) : 1);
  const int tasks = (int)(job.n_blocks * job.m_chunks);
  if (!ctx || tasks == 1) {
    for (int t = 0; t < tasks; t++) qgemm_task(&job, t, 0);
    return;
  }
  tfl_context_parallel(ctx, tasks, qgemm_task, &job);
}

/* Rows of a plain matrix; also the input pixels of a pointwise convolution. */
typedef struct qgemm_matrix_rows {
  tfl_type type;
  const uint8_t *a;
  size_t lda;
  int32_t offset;
} qgemm_matrix_rows;

static const void *qgemm_matrix_rows_fn(const void *arg, const tfl_qgemm_weights *pw,
                                        int32_t row, int mr, void *tile) {
  const qgemm_matrix_rows *r = arg;
  const uint8_t *src = r->a + (size_t)row * r->lda;
  const size_t stride = (size_t)pw->stride, k = (size_t)pw->k;
  if (pw->quad) {
    if (r->lda == stride) return src; /* what follows a row is the next one */
    for (int i = 0; i < mr; i++) memcpy((uint8_t *)tile + (size_t)i * stride, src + i * r->lda, k);
    return tile;
  }
  int16_t *a = tile;
  if (r->lda == k && stride == k) { /* the tile's rows are one run */
    pw->widen(r->type, src, mr * pw->k, r->offset, a);
    return a;
  }
  for (int i = 0; i < mr; i++, a += stride, src += r->lda) {
    pw->widen(r->type, src, pw->k, r->offset, a);
    if (stride != k) a[k] = 0;
  }
  return tile;
}

void tfl_qgemm_matrix(tfl_context *ctx, const tfl_qgemm_weights *pw, tfl_type type,
                      const void *a, size_t lda, int32_t input_offset, int32_t m, void *c,
                      size_t ldc, void *scratch) {
  const qgemm_matrix_rows rows = {type, a, lda, input_offset};
  const tfl_qgemm_problem p = {m,  type,    input_offset, qgemm_matrix_rows_fn, &rows,
                               c,  ldc,     scratch,      NULL,                 0,
                               0};
  tfl_qgemm_run(ctx, pw, &p);
}

/* --- CONV_2D --------------------------------------------------------------------------- */

int tfl_qconv_supports(tfl_cpu_level level, int32_t groups, const tfl_window_quant *q,
                       const tfl_tensor *input, const tfl_tensor *filter,
                       const tfl_tensor *bias) {
  return groups == 1 && tfl_qreq_supports(level, q, input, filter, bias);
}

void tfl_qconv_free(tfl_qconv *qc) {
  tfl_qgemm_weights_free(&qc->w);
  free(qc->offsets);
  memset(qc, 0, sizeof(*qc));
}

static int is_pointwise(const tfl_window *win) {
  return win->h.filter == 1 && win->w.filter == 1 && win->h.stride == 1 &&
         win->w.stride == 1 && win->h.pad == 0 && win->w.pad == 0;
}

/* The padded image's size along one axis: the input, its leading padding, and whatever the
 * last window reaches past the input. */
static int32_t padded_size(const tfl_window_axis *a) {
  const int32_t reach = (a->out - 1) * a->stride - a->pad + (a->filter - 1) * a->dilation + 1;
  return a->pad + (reach > a->in ? reach : a->in);
}

/* Values of one run of a window: a row of taps when the dilation is 1, else one tap. */
static int32_t window_run(const tfl_window *win, int32_t in_c) {
  return win->w.dilation == 1 ? win->w.filter * in_c : in_c;
}

/* The filter with each window run padded to `run_p` values with its zero point (s = 0), into
 * a tensor like `filter` over `data` (out_c x k values). */
static tfl_tensor pad_filter_runs(const tfl_tensor *filter, int32_t filter_offset, int32_t out_c,
                                  int32_t k, int32_t run, int32_t run_p, uint8_t *data) {
  tfl_tensor t = *filter;
  const int32_t runs = k / run;
  memset(data, (uint8_t)-filter_offset, (size_t)out_c * (size_t)runs * (size_t)run_p);
  for (int32_t o = 0; o < out_c; o++)
    for (int32_t r = 0; r < runs; r++)
      memcpy(data + ((size_t)o * (size_t)runs + (size_t)r) * (size_t)run_p,
             (const uint8_t *)filter->data + (size_t)o * (size_t)k + (size_t)r * (size_t)run,
             (size_t)run);
  t.data = data;
  return t;
}

/* Packs the filter with its window runs padded to multiples of `step` values (qc->run_p). */
static tfl_status qconv_pack_runs(tfl_qconv *qc, tfl_cpu_level level, const tfl_window_quant *q,
                                  const tfl_tensor *filter, const tfl_tensor *bias, int32_t k,
                                  int32_t run, int32_t step, int32_t m, tfl_type type) {
  qc->run_p = (run + step - 1) / step * step;
  if (qc->run_p == run)
    return tfl_qgemm_pack(&qc->w, level, q, filter, bias, type, qc->out_c, k, m);
  const int32_t kp = k / run * qc->run_p;
  uint8_t *data = malloc((size_t)qc->out_c * (size_t)kp + 1);
  if (!data) return TFL_OUT_OF_MEMORY;
  const tfl_tensor padded =
      pad_filter_runs(filter, q->filter_offset, qc->out_c, k, run, qc->run_p, data);
  const tfl_status st = tfl_qgemm_pack(&qc->w, level, q, &padded, bias, type, qc->out_c, kp, m);
  free(data);
  return st;
}

/* Where each of the `pairs` pairs of a window lies in the padded int16 image, from the
 * window's origin: run r (qconv_gather's order) holds run_p / 2 of them. NULL when out of
 * memory. */
static int32_t *qconv_offsets(const tfl_window *win, int32_t in_c, int32_t run_p,
                              int32_t pairs) {
  int32_t *off = malloc((size_t)pairs * sizeof(int32_t) + 1);
  if (!off) return NULL;
  const int32_t per_run = run_p / 2, runs_per_row = win->w.dilation == 1 ? 1 : win->w.filter;
  const int32_t row = padded_size(&win->w) * in_c;
  for (int32_t j = 0; j < pairs; j++) {
    const int32_t r = j / per_run, ky = r / runs_per_row, kx = r % runs_per_row;
    off[j] = ky * win->h.dilation * row + kx * win->w.dilation * in_c + 2 * (j % per_run);
  }
  return off;
}

tfl_status tfl_qconv_prepare(tfl_qconv *qc, tfl_cpu_level level, const tfl_window *win,
                             int32_t batches, int32_t in_c, int32_t out_c,
                             const tfl_window_quant *q, const tfl_tensor *input,
                             const tfl_tensor *filter, const tfl_tensor *bias) {
  tfl_qconv_free(qc);
  const int32_t k = win->h.filter * win->w.filter * in_c;
  const int32_t m = batches * win->h.out * win->w.out;
  qc->out_c = out_c;
  qc->pointwise = is_pointwise(win);
  qc->run = window_run(win, in_c);
  qc->pad_h = qc->pointwise || win->h.out <= 0 ? 0 : padded_size(&win->h);
  qc->pad_w = qc->pointwise || win->w.out <= 0 ? 0 : padded_size(&win->w);
  tfl_status st = qconv_pack_runs(qc, level, q, filter, bias, k, qc->run, 1, m, input->type);
  if (st != TFL_OK) return st;
  /* The AVX2 pair kernel reads windows in place, each pair within one run: odd runs take a
   * zero weight more (it meets the value that follows the run in the image). */
  const int direct = !qc->pointwise && k > 0 && qc->w.direct && !qc->w.quad;
  if (direct && (qc->run & 1))
    st = qconv_pack_runs(qc, level, q, filter, bias, k, qc->run, 2, m, input->type);
  if (st == TFL_OK && direct && !qc->w.quad) { /* (the zero weights could make quads pay) */
    qc->offsets = qconv_offsets(win, in_c, qc->run_p, qc->w.kp / 2);
    if (!qc->offsets) st = TFL_OUT_OF_MEMORY;
  }
  if (st != TFL_OK) {
    tfl_qconv_free(qc);
    return st;
  }
  qc->win = *win;
  qc->batches = batches;
  qc->in_c = in_c;
  qc->input_offset = q->input_offset;
  qc->type = input->type;
  return TFL_OK;
}

/* The padded image of all batches: the codes as bytes for quad panels, else their offset
 * values as int16 (widened once rather than per window). */
static size_t qconv_value_bytes(const tfl_qconv *qc) { return qc->w.quad ? 1 : sizeof(int16_t); }

static size_t qconv_image_values(const tfl_qconv *qc) {
  return (size_t)qc->batches * (size_t)qc->pad_h * (size_t)qc->pad_w * (size_t)qc->in_c;
}

static size_t qconv_image_bytes(const tfl_qconv *qc) {
  return (qconv_image_values(qc) * qconv_value_bytes(qc) + QGEMM_SLACK + 63) & ~(size_t)63;
}

size_t tfl_qconv_scratch_bytes(const tfl_qconv *qc, int threads) {
  return qconv_image_bytes(qc) + tfl_qgemm_scratch_bytes(&qc->w, threads);
}

/* The input inside its zero point (whose offset value is 0). */
static void qconv_pad_image(const tfl_qconv *qc, const uint8_t *in, void *image) {
  const tfl_window *win = &qc->win;
  const size_t vb = qconv_value_bytes(qc), row = (size_t)qc->pad_w * (size_t)qc->in_c * vb;
  const size_t left = (size_t)win->w.pad * (size_t)qc->in_c * vb;
  const size_t width = (size_t)win->w.in * (size_t)qc->in_c; /* values of an input row */
  const int fill = qc->w.quad ? (uint8_t)-qc->input_offset : 0;
  uint8_t *dst = image;
  /* only the padding is filled: the whole image would cost as much as widening it */
  for (int32_t n = 0; n < qc->batches; n++)
    for (int32_t py = 0; py < qc->pad_h; py++, dst += row) {
      const int32_t y = py - win->h.pad;
      if (y < 0 || y >= win->h.in) {
        memset(dst, fill, row);
        continue;
      }
      const uint8_t *src = in + ((size_t)n * (size_t)win->h.in + (size_t)y) * width;
      memset(dst, fill, left);
      if (qc->w.quad)
        memcpy(dst + left, src, width);
      else
        qc->w.widen(qc->type, src, (int32_t)width, qc->input_offset,
                    (int16_t *)(void *)(dst + left));
      memset(dst + left + width * vb, fill, row - left - width * vb);
    }
  memset(dst, fill, QGEMM_SLACK);
}

typedef struct qconv_rows {
  const tfl_qconv *qc;
  const uint8_t *image; /* padded */
} qconv_rows;

/* n bytes, copied in whole vectors of QGEMM_SLACK: up to QGEMM_SLACK - 1 more are read and
 * written, which the buffers' slack and the gathering order (each run overwrites the excess
 * of the one before) allow. The runs of a window are short: a call to memcpy would
 * dominate. */
static inline void copy_runs(uint8_t *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i += QGEMM_SLACK) memcpy(dst + i, src + i, QGEMM_SLACK);
}

/* Output pixel (oy, ox) of padded image `image`: its window, tap by tap (a row of taps at
 * once when the dilation is 1: they are adjacent pixels), each run qc->run_p values after the
 * one before, values of vb bytes. */
static void qconv_gather(const tfl_qconv *qc, const uint8_t *image, size_t vb, int32_t oy,
                         int32_t ox, uint8_t *a) {
  const tfl_window *win = &qc->win;
  const size_t C = (size_t)qc->in_c * vb, row = (size_t)qc->pad_w * C;
  const uint8_t *origin = image + (size_t)(oy * win->h.stride) * row +
                          (size_t)(ox * win->w.stride) * C;
  const size_t run = (size_t)qc->run * vb, step = (size_t)qc->run_p * vb;
  const int32_t runs = win->w.dilation == 1 ? 1 : win->w.filter;
  for (int32_t ky = 0; ky < win->h.filter; ky++) {
    const uint8_t *src = origin + (size_t)(ky * win->h.dilation) * row;
    for (int32_t kx = 0; kx < runs; kx++, a += step)
      copy_runs(a, src + (size_t)(kx * win->w.dilation) * C, run);
  }
}

static const void *qconv_rows_fn(const void *arg, const tfl_qgemm_weights *pw, int32_t row,
                                 int mr, void *tile) {
  const qconv_rows *r = arg;
  const tfl_qconv *qc = r->qc;
  const tfl_window *win = &qc->win;
  const size_t vb = qconv_value_bytes(qc);
  const int32_t per_image = win->h.out * win->w.out;
  const size_t image_bytes = (size_t)qc->pad_h * (size_t)qc->pad_w * (size_t)qc->in_c * vb;
  int32_t n = row / per_image, oy = row % per_image / win->w.out, ox = row % win->w.out;
  for (int i = 0; i < mr; i++) {
    uint8_t *a = (uint8_t *)tile + (size_t)i * (size_t)pw->stride * vb;
    qconv_gather(qc, r->image + (size_t)n * image_bytes, vb, oy, ox, a);
    if (!pw->quad && pw->kp != pw->k) ((int16_t *)(void *)a)[pw->k] = 0;
    if (++ox < win->w.out) continue;
    ox = 0;
    if (++oy < win->h.out) continue;
    oy = 0;
    n++;
  }
  return tile;
}

/* Direct rows: where the window of output pixel `row` starts in the int16 padded image
 * (the tile's rows follow it, qgemm_task keeping them on one output row). */
static const void *qconv_direct_fn(const void *arg, const tfl_qgemm_weights *pw, int32_t row,
                                   int mr, void *tile) {
  (void)pw, (void)mr, (void)tile;
  const qconv_rows *r = arg;
  const tfl_qconv *qc = r->qc;
  const tfl_window *win = &qc->win;
  const int32_t per_image = win->h.out * win->w.out;
  const int32_t n = row / per_image, oy = row % per_image / win->w.out, ox = row % win->w.out;
  const size_t at = (((size_t)n * (size_t)qc->pad_h + (size_t)(oy * win->h.stride)) *
                         (size_t)qc->pad_w +
                     (size_t)(ox * win->w.stride)) *
                    (size_t)qc->in_c;
  return (const int16_t *)(const void *)r->image + at;
}

void tfl_qconv_eval(tfl_context *ctx, const tfl_qconv *qc, const void *in, void *out,
                    void *scratch) {
  const int32_t m = qc->batches * qc->win.h.out * qc->win.w.out;
  if (qc->pointwise) {
    tfl_qgemm_matrix(ctx, &qc->w, qc->type, in, (size_t)qc->in_c, qc->input_offset, m, out,
                     (size_t)qc->out_c, scratch);
    return;
  }
  if (m <= 0) return;
  uint8_t *image = scratch;
  qconv_pad_image(qc, in, image);
  const qconv_rows rows = {qc, image};
  const tfl_qgemm_problem p = {m,
                               qc->type,
                               qc->input_offset,
                               qc->offsets ? qconv_direct_fn : qconv_rows_fn,
                               &rows,
                               out,
                               (size_t)qc->out_c,
                               image + qconv_image_bytes(qc),
                               qc->offsets,
                               (size_t)qc->win.w.stride * (size_t)qc->in_c,
                               qc->offsets ? qc->win.w.out : 0};
  tfl_qgemm_run(ctx, &qc->w, &p);
}

tfl_status tfl_qconv_setup(tfl_context *ctx, tfl_node *node, tfl_qconv *qc,
                           const tfl_window *win, int32_t batches, int32_t in_c, int32_t out_c,
                           int32_t groups, const tfl_window_quant *q, const tfl_tensor *input,
                           const tfl_tensor *filter, const tfl_tensor *bias) {
  const tfl_cpu_level level = tfl_context_cpu(ctx);
  /* Rows of A are counted in int32. */
  const int64_t rows = (int64_t)batches * win->h.out * win->w.out;
  if (!tfl_qconv_supports(level, groups, q, input, filter, bias) || rows > INT32_MAX) {
    tfl_qconv_free(qc);
    return TFL_OK;
  }
  if (tfl_qconv_prepare(qc, level, win, batches, in_c, out_c, q, input, filter, bias) != TFL_OK)
    return tfl_qgemm_out_of_memory(ctx, node, filter);
  const tfl_status st = tfl_context_request_scratch(
      ctx, node, tfl_qconv_scratch_bytes(qc, tfl_context_threads(ctx)), &qc->scratch);
  if (st != TFL_OK) {
    tfl_qconv_free(qc);
    return st;
  }
  qc->active = 1;
  return TFL_OK;
}

void tfl_qconv_run(tfl_context *ctx, const tfl_node *node, const tfl_qconv *qc, const void *in,
                   void *out) {
  tfl_qconv_eval(ctx, qc, in, out, tfl_context_scratch(ctx, node, qc->scratch));
}

/* --- FULLY_CONNECTED ------------------------------------------------------------------- */

void tfl_qfc_free(tfl_qfc *fc) {
  tfl_qgemm_weights_free(&fc->w);
  memset(fc, 0, sizeof(*fc));
}

tfl_status tfl_qfc_setup(tfl_context *ctx, tfl_node *node, tfl_qfc *fc, const tfl_window_quant *q,
                         const tfl_tensor *input, const tfl_tensor *weights,
                         const tfl_tensor *bias, int32_t units, int32_t in_features,
                         int32_t batches) {
  tfl_qfc_free(fc);
  const tfl_cpu_level level = tfl_context_cpu(ctx);
  if (!tfl_qreq_supports(level, q, input, weights, bias)) return TFL_OK;
  if (tfl_qgemm_pack(&fc->w, level, q, weights, bias, input->type, units, in_features,
                     batches) != TFL_OK)
    return tfl_qgemm_out_of_memory(ctx, node, weights);
  const tfl_status st = tfl_context_request_scratch(
      ctx, node, tfl_qgemm_scratch_bytes(&fc->w, tfl_context_threads(ctx)), &fc->scratch);
  if (st != TFL_OK) {
    tfl_qfc_free(fc);
    return st;
  }
  fc->input_offset = q->input_offset;
  fc->type = input->type;
  fc->active = 1;
  return TFL_OK;
}

void tfl_qfc_run(tfl_context *ctx, const tfl_node *node, const tfl_qfc *fc, const void *in,
                 int32_t batches, void *out) {
  tfl_qgemm_matrix(ctx, &fc->w, fc->type, in, (size_t)fc->w.k, fc->input_offset, batches, out,
                   (size_t)fc->w.n, tfl_context_scratch(ctx, node, fc->scratch));
}
