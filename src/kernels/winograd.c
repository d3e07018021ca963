/* Winograd F(2x2, 3x3) convolution (see winograd.h): filter transform, planning, the split
 * over threads, and the portable transforms. */
#include "kernels/winograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"

/* Bytes of V and products one block of tiles may take: with the weights' panel in L1, they
 * should stay in the core's L2 between the transforms and the products. */
#define WG_BLOCK_BYTES (256u * 1024u)
/* A block reads all of U once: with fewer tiles, U's traffic (from L3 or memory when it
 * outgrows L2, e.g. 16 MB for 512 channels) costs more than V and the products spilling out
 * of L2 (ResNet's 7x7x512 layers: 2.4 ms with one block of all 16 tiles, 8.5 with blocks of
 * 6). */
#define WG_MIN_BLOCK 18
/* Fewer channels than this on either side leave the products too short to pay for the
 * transforms (measured on Zen 3: the direct GEMM wins below). */
#define WG_MIN_CHANNELS 8
/* Fewer tiles than this leave each U_xi too few rows to pay for reading it (16 / 9 times the
 * filter's bytes): the direct GEMM wins on outputs of 4x4 pixels or less. */
#define WG_MIN_TILES 9
/* The transformed filter takes 16 / 9 of the filter's memory: past this many floats
 * (1024 x 1024 channels) the direct GEMM keeps its smaller footprint. */
#define WG_MAX_FILTER_FLOATS ((int64_t)1 << 24)
/* Tasks per thread when several threads share the work (see gemm.c). */
#define WG_TASKS_PER_THREAD 4

static const float wg_no_bias[TFL_GEMM_NR];

static int32_t div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }

/* B^T d B, one channel at a time. B^T's rows are (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0),
 * (0, 1, 0, -1). */
void tfl_winograd_input_portable(const float *const *p, int32_t channels, float *v,
                                 size_t vstride) {
  for (int32_t c = 0; c < channels; c++) {
    float d[16];
    for (int i = 0; i < 16; i++) d[i] = p[i][c];
    for (int j = 0; j < 4; j++) {
      const float d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
      d[j] = d0 - d2;
      d[4 + j] = d1 + d2;
      d[8 + j] = d2 - d1;
      d[12 + j] = d1 - d3;
    }
    for (int i = 0; i < 16; i += 4) {
      const float d0 = d[i], d1 = d[i + 1], d2 = d[i + 2], d3 = d[i + 3];
      v[(size_t)i * vstride + (size_t)c] = d0 - d2;
      v[(size_t)(i + 1) * vstride + (size_t)c] = d1 + d2;
      v[(size_t)(i + 2) * vstride + (size_t)c] = d2 - d1;
      v[(size_t)(i + 3) * vstride + (size_t)c] = d1 - d3;
    }
  }
}

/* A^T m A + bias, clamped (then the fused ADD), one channel at a time. A^T's rows are
 * (1, 1, 1, 0) and (0, 1, -1, -1). */
void tfl_winograd_output_portable(const float *m, size_t mstride, int32_t channels,
                                  const float *bias, float *const *o, const float *const *r,
                                  const tfl_winograd_clamp *cl) {
  for (int32_t k = 0; k < channels; k++) {
    float s[8], y[4];
    for (int j = 0; j < 4; j++) {
      const float *mj = m + (size_t)j * mstride + (size_t)k;
      const float m0 = mj[0], m1 = mj[4 * mstride], m2 = mj[8 * mstride],
                  m3 = mj[12 * mstride];
      s[j] = m0 + m1 + m2;
      s[4 + j] = m1 - m2 - m3;
    }
    for (int i = 0; i < 2; i++) {
      const float *si = s + 4 * i;
      y[2 * i] = tfl_window_clamp(si[0] + si[1] + si[2] + bias[k], cl->lo, cl->hi);
      y[2 * i + 1] = tfl_window_clamp(si[1] - si[2] - si[3] + bias[k], cl->lo, cl->hi);
    }
    for (int i = 0; i < 4; i++) {
      if (!o[i]) continue;
      o[i][k] = r ? tfl_window_clamp(y[i] + r[i][k], cl->add_lo, cl->add_hi) : y[i];
    }
  }
}

int tfl_winograd_supports(tfl_cpu_level level, const tfl_window *win, int32_t in_c,
                          int32_t out_c, int32_t groups) {
  const tfl_window_axis *h = &win->h, *w = &win->w;
  const int64_t tiles = (int64_t)div_up(h->out, 2) * div_up(w->out, 2);
  return level != TFL_CPU_SCALAR && groups == 1 && h->filter == 3 && w->filter == 3 &&
         h->stride == 1 && w->stride == 1 && h->dilation == 1 && w->dilation == 1 &&
         in_c >= WG_MIN_CHANNELS && out_c >= WG_MIN_CHANNELS && tiles >= WG_MIN_TILES &&
         (int64_t)in_c * out_c <= WG_MAX_FILTER_FLOATS;
}

void tfl_winograd_free(tfl_winograd *wg) {
  for (int i = 0; i < TFL_WINOGRAD_POINTS; i++) tfl_gemm_weights_free(&wg->u[i]);
  free(wg->bias);
  free(wg->zeros);
  memset(wg, 0, sizeof(*wg));
}

/* G g G^T for one 3x3 filter slice g (taps `step` floats apart), in double: G's rows are
 * (1, 0, 0), (1/2, 1/2, 1/2), (1/2, -1/2, 1/2), (0, 0, 1). */
static void wg_filter_tile(const float *g, size_t step, double u[16]) {
  double t[4][3];
  for (int j = 0; j < 3; j++) {
    const double g0 = g[(size_t)j * step], g1 = g[(size_t)(3 + j) * step],
                 g2 = g[(size_t)(6 + j) * step];
    t[0][j] = g0;
    t[1][j] = 0.5 * (g0 + g1 + g2);
    t[2][j] = 0.5 * (g0 - g1 + g2);
    t[3][j] = g2;
  }
  for (int i = 0; i < 4; i++) {
    u[4 * i] = t[i][0];
    u[4 * i + 1] = 0.5 * (t[i][0] + t[i][1] + t[i][2]);
    u[4 * i + 2] = 0.5 * (t[i][0] - t[i][1] + t[i][2]);
    u[4 * i + 3] = t[i][2];
  }
}

/* U_xi as [out_c][in_c] for every point xi, packed. */
static tfl_status wg_pack_filter(tfl_winograd *wg, tfl_cpu_level level, const float *filter) {
  const size_t in_c = (size_t)wg->in_c, out_c = (size_t)wg->out_c;
  float *u = malloc(TFL_WINOGRAD_POINTS * out_c * in_c * sizeof(float));
  if (!u) return TFL_OUT_OF_MEMORY;
  for (size_t k = 0; k < out_c; k++)
    for (size_t c = 0; c < in_c; c++) {
      double t[16];
      wg_filter_tile(filter + k * 9 * in_c + c, in_c, t);
      for (int xi = 0; xi < TFL_WINOGRAD_POINTS; xi++)
        u[((size_t)xi * out_c + k) * in_c + c] = (float)t[xi];
    }
  tfl_status st = TFL_OK;
  for (int xi = 0; xi < TFL_WINOGRAD_POINTS && st == TFL_OK; xi++)
    st = tfl_gemm_pack(&wg->u[xi], level, u + (size_t)xi * out_c * in_c, NULL, wg->out_c,
                       wg->in_c);
  free(u);
  return st;
}

tfl_status tfl_winograd_prepare(tfl_winograd *wg, tfl_cpu_level level, const tfl_window *win,
                                int32_t batches, int32_t in_c, int32_t out_c,
                                const float *filter, const float *bias) {
  tfl_winograd_free(wg);
  wg->win = *win;
  wg->batches = batches;
  wg->in_c = in_c;
  wg->out_c = out_c;
  wg->input = tfl_winograd_input_portable;
  wg->output = tfl_winograd_output_portable;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) {
    wg->input = tfl_winograd_input_avx2;
    wg->output = tfl_winograd_output_avx2;
  }
#endif
  wg->bias = calloc((size_t)out_c, sizeof(float));
  wg->zeros = calloc((size_t)in_c, sizeof(float));
  if (!wg->bias || !wg->zeros || wg_pack_filter(wg, level, filter) != TFL_OK) {
    tfl_winograd_free(wg);
    return TFL_OUT_OF_MEMORY;
  }
  if (bias) memcpy(wg->bias, bias, (size_t)out_c * sizeof(float));
  return TFL_OK;
}

/* How eval cuts the work: blocks of `block` tiles, times chunks of `chunk_panels` panels of
 * output channels; a task is one (block, chunk). */
typedef struct wg_plan {
  int32_t tiles_h, tiles_w, tiles;
  int32_t block, n_blocks;
  int32_t chunk_panels, n_chunks;
} wg_plan;

static void wg_make_plan(const tfl_winograd *wg, int threads, wg_plan *pl) {
  pl->tiles_h = div_up(wg->win.h.out, 2);
  pl->tiles_w = div_up(wg->win.w.out, 2);
  pl->tiles = wg->batches * pl->tiles_h * pl->tiles_w;
  const size_t tile_bytes = TFL_WINOGRAD_POINTS * sizeof(float) *
                            ((size_t)wg->in_c + (size_t)wg->out_c);
  int32_t block = (int32_t)(WG_BLOCK_BYTES / tile_bytes) / TFL_GEMM_MR * TFL_GEMM_MR;
  if (block < WG_MIN_BLOCK) block = WG_MIN_BLOCK;
  if (block > pl->tiles) block = pl->tiles;
  pl->block = block;
  pl->n_blocks = div_up(pl->tiles, block);
  const int32_t panels = div_up(wg->out_c, TFL_GEMM_NR);
  int32_t chunks = 1;
  const int32_t want = threads > 1 ? threads * WG_TASKS_PER_THREAD : 1;
  if (pl->n_blocks < want) chunks = div_up(want, pl->n_blocks);
  if (chunks > panels) chunks = panels;
  pl->chunk_panels = div_up(panels, chunks);
  pl->n_chunks = div_up(panels, pl->chunk_panels);
}

/* Floats of one thread's scratch: V, then the products, of one block. */
static size_t wg_thread_floats(const tfl_winograd *wg, const wg_plan *pl) {
  const size_t chunk = (size_t)pl->chunk_panels * TFL_GEMM_NR;
  const size_t floats = TFL_WINOGRAD_POINTS * (size_t)pl->block * ((size_t)wg->in_c + chunk);
  return (floats + 15) & ~(size_t)15; /* keeps every thread's part 64-byte aligned */
}

size_t tfl_winograd_scratch_bytes(const tfl_winograd *wg, int threads) {
  wg_plan pl;
  wg_make_plan(wg, threads, &pl);
  return (size_t)threads * wg_thread_floats(wg, &pl) * sizeof(float);
}

typedef struct wg_job {
  const tfl_winograd *wg;
  wg_plan plan;
  const float *in;
  float *out;
  float *scratch;
  const float *residual; /* laid out as out, or NULL */
  tfl_winograd_clamp clamp;
} wg_job;

/* A tile: image n, tile row ty, tile column tx. */
typedef struct wg_tile {
  int32_t n, ty, tx;
} wg_tile;

static wg_tile wg_tile_of(const wg_plan *pl, int32_t t) {
  const int32_t per_image = pl->tiles_h * pl->tiles_w;
  const wg_tile tile = {t / per_image, (t % per_image) / pl->tiles_w, t % pl->tiles_w};
  return tile;
}

static void wg_tile_next(const wg_plan *pl, wg_tile *tile) {
  if (++tile->tx < pl->tiles_w) return;
  tile->tx = 0;
  if (++tile->ty < pl->tiles_h) return;
  tile->ty = 0;
  tile->n++;
}

/* Transforms tiles [t0, t0 + count) into v (point xi of tile i at v + (xi * block + i) *
 * in_c). */
static void wg_inputs(const wg_job *job, int32_t t0, int32_t count, float *v) {
  const tfl_winograd *wg = job->wg;
  const tfl_window_axis *h = &wg->win.h, *w = &wg->win.w;
  const size_t in_c = (size_t)wg->in_c;
  const size_t image = (size_t)h->in * (size_t)w->in * in_c;
  const size_t vstride = (size_t)job->plan.block * in_c;
  wg_tile tile = wg_tile_of(&job->plan, t0);
  for (int32_t i = 0; i < count; i++, wg_tile_next(&job->plan, &tile)) {
    const float *p[16];
    const float *img = job->in + (size_t)tile.n * image;
    const int32_t iy0 = 2 * tile.ty - h->pad, ix0 = 2 * tile.tx - w->pad;
    for (int32_t y = 0; y < 4; y++)
      for (int32_t x = 0; x < 4; x++) {
        const int32_t iy = iy0 + y, ix = ix0 + x;
        p[4 * y + x] = iy >= 0 && iy < h->in && ix >= 0 && ix < w->in
                           ? img + ((size_t)iy * (size_t)w->in + (size_t)ix) * in_c
                           : wg->zeros;
      }
    wg->input(p, wg->in_c, v + (size_t)i * in_c, vstride);
  }
}

/* The 16 products of the block's `count` tiles, output channels of panels [panel0, panel1):
 * point xi of tile i, channel panel0 * NR + j, at m[(xi * block + i) * ldm + j]. */
static void wg_products(const wg_job *job, int32_t count, int32_t panel0, int32_t panel1,
                        const float *v, float *m, size_t ldm) {
  const tfl_winograd *wg = job->wg;
  const size_t in_c = (size_t)wg->in_c, block = (size_t)job->plan.block;
  const float *rows[TFL_GEMM_MR];
  for (int xi = 0; xi < TFL_WINOGRAD_POINTS; xi++) {
    const tfl_gemm_weights *u = &wg->u[xi];
    const float *vx = v + (size_t)xi * block * in_c;
    float *mx = m + (size_t)xi * block * ldm;
    for (int32_t panel = panel0; panel < panel1; panel++) {
      const int32_t col = panel * TFL_GEMM_NR;
      const int nr = wg->out_c - col < TFL_GEMM_NR ? (int)(wg->out_c - col) : TFL_GEMM_NR;
      const float *b = u->panels + (size_t)panel * in_c * TFL_GEMM_NR;
      float *c = mx + (size_t)(col - panel0 * TFL_GEMM_NR);
      for (int32_t r = 0, mr; r < count; r += mr) {
        mr = tfl_gemm_tile_rows(count - r);
        for (int i = 0; i < mr; i++) rows[i] = vx + (size_t)(r + i) * in_c;
        u->ukernel(mr, nr, wg->in_c, 1, rows, b, wg_no_bias, c + (size_t)r * ldm, ldm,
                   -INFINITY, INFINITY);
      }
    }
  }
}

/* Transforms the products of tiles [t0, t0 + count), channels [k0, k0 + kn), back into the
 * output. */
static void wg_outputs(const wg_job *job, int32_t t0, int32_t count, int32_t k0, int32_t kn,
                       const float *m, size_t ldm) {
  const tfl_winograd *wg = job->wg;
  const tfl_window_axis *h = &wg->win.h, *w = &wg->win.w;
  const size_t out_c = (size_t)wg->out_c;
  const size_t image = (size_t)h->out * (size_t)w->out * out_c;
  const size_t mstride = (size_t)job->plan.block * ldm;
  wg_tile tile = wg_tile_of(&job->plan, t0);
  for (int32_t i = 0; i < count; i++, wg_tile_next(&job->plan, &tile)) {
    float *o[4];
    const float *r[4];
    for (int32_t y = 0; y < 2; y++)
      for (int32_t x = 0; x < 2; x++) {
        const int32_t oy = 2 * tile.ty + y, ox = 2 * tile.tx + x;
        const size_t at = (size_t)tile.n * image +
                          ((size_t)oy * (size_t)w->out + (size_t)ox) * out_c + (size_t)k0;
        const int inside = oy < h->out && ox < w->out;
        o[2 * y + x] = inside ? job->out + at : NULL;
        r[2 * y + x] = inside && job->residual ? job->residual + at : NULL;
      }
    wg->output(m + (size_t)i * ldm, mstride, kn, wg->bias + k0, o, job->residual ? r : NULL,
               &job->clamp);
  }
}

static void wg_task(void *arg, int task, int thread) {
  const wg_job *job = arg;
  const tfl_winograd *wg = job->wg;
  const wg_plan *pl = &job->plan;
  const int32_t t0 = (task / pl->n_chunks) * pl->block;
  const int32_t count = pl->tiles - t0 < pl->block ? pl->tiles - t0 : pl->block;
  const int32_t panels = div_up(wg->out_c, TFL_GEMM_NR);
  const int32_t panel0 = (task % pl->n_chunks) * pl->chunk_panels;
  const int32_t panel1 = panel0 + pl->chunk_panels < panels ? panel0 + pl->chunk_panels : panels;
  const int32_t k0 = panel0 * TFL_GEMM_NR;
  const int32_t kn = (panel1 * TFL_GEMM_NR < wg->out_c ? panel1 * TFL_GEMM_NR : wg->out_c) - k0;
  float *v = job->scratch + (size_t)thread * wg_thread_floats(wg, pl);
  float *m = v + TFL_WINOGRAD_POINTS * (size_t)pl->block * (size_t)wg->in_c;
  const size_t ldm = (size_t)pl->chunk_panels * TFL_GEMM_NR;
  wg_inputs(job, t0, count, v);
  wg_products(job, count, panel0, panel1, v, m, ldm);
  wg_outputs(job, t0, count, k0, kn, m, ldm);
}

void tfl_winograd_eval(tfl_context *ctx, const tfl_winograd *wg, const float *in, float *out,
                       void *scratch, float lo, float hi, const tfl_gemm_residual *residual) {
  const int threads = ctx ? tfl_context_threads(ctx) : 1;
  wg_job job = {wg, {0}, in, out, scratch, residual ? residual->r : NULL,
                {lo, hi, residual ? residual->lo : 0.0f, residual ? residual->hi : 0.0f}};
  wg_make_plan(wg, threads, &job.plan);
  const int tasks = (int)(job.plan.n_blocks * job.plan.n_chunks);
  if (!ctx || threads == 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) wg_task(&job, t, 0);
    return;
  }
  tfl_context_parallel(ctx, tasks, wg_task, &job);
}
