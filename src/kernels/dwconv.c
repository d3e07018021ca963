/* Depthwise convolution, fast path: variant choice and the split over threads (dwconv.h). */
#include "kernels/dwconv.h"

#include <string.h>

#include "kernels/simd.h"

static tfl_dwconv_rows_fn pick_rows(tfl_cpu_level level) {
  tfl_dwconv_rows_fn rows = NULL;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) rows = tfl_dwconv_rows_avx2;
#endif
  if (tfl_simd_neon(level)) rows = tfl_dwconv_rows_neon;
  return level == TFL_CPU_SCALAR ? NULL : rows;
}

int tfl_dwconv_available(tfl_cpu_level level) { return pick_rows(level) != NULL; }

/* Output columns whose windows lie inside the input along the axis: [*lo, *hi). */
static void dw_inside_columns(const tfl_window_axis *a, int32_t *lo, int32_t *hi) {
  const int64_t last_tap = (int64_t)(a->filter - 1) * a->dilation;
  const int64_t first = (a->pad + a->stride - 1) / a->stride;
  const int64_t room = (int64_t)a->in - 1 - last_tap + a->pad;
  int64_t end = room < 0 ? 0 : room / a->stride + 1;
  if (end > a->out) end = a->out;
  *lo = (int32_t)(first < end ? first : end);
  *hi = (int32_t)end;
}

/* Whether output column ox has exactly the taps [kx0, kx1). */
static int dw_column_taps(const tfl_window_axis *a, int32_t ox, int32_t kx0, int32_t kx1) {
  int32_t first, end;
  tfl_window_taps(a, ox, &first, &end);
  return first == kx0 && end == kx1;
}

/* The runs of a 3x3 row: the whole windows, and the one column on each side that lacks only
 * its outer tap column (SAME padding's). */
static tfl_dwconv_runs dw_plan_runs(const tfl_window_axis *a) {
  tfl_dwconv_runs p = {0, 0, 0, 0};
  dw_inside_columns(a, &p.lo, &p.hi);
  if (p.lo == 1 && dw_column_taps(a, 0, 1, 3)) p.lo = 0, p.left = 1;
  if (p.hi == a->out - 1 && p.hi >= p.lo && dw_column_taps(a, p.hi, 0, 2)) p.hi++, p.right = 1;
  return p;
}

int tfl_dwconv_setup(tfl_dwconv *dw, tfl_cpu_level level, const tfl_window *win,
                     int32_t batches, int32_t in_c, int32_t out_c, float lo, float hi) {
  tfl_dwconv_rows_fn rows = pick_rows(level);
  if (in_c != out_c || !rows) return 0;
  dw->win = *win;
  dw->batches = batches;
  dw->channels = in_c;
  dw->lo = lo;
  dw->hi = hi;
  dw->is_3x3 = win->w.filter == 3 && win->h.filter == 3 && win->w.dilation == 1 &&
               (win->w.stride == 1 || win->w.stride == 2);
  dw->runs = dw->is_3x3 ? dw_plan_runs(&win->w) : (tfl_dwconv_runs){0, 0, 0, 0};
  dw->rows = rows;
  return 1;
}

typedef struct dwconv_job {
  const tfl_dwconv *dw;
  const tfl_dwconv_io *io;
} dwconv_job;

static void dwconv_rows(const void *arg, int32_t row0, int32_t row1) {
  const dwconv_job *job = arg;
  job->dw->rows(job->dw, job->io, row0, row1);
}

void tfl_dwconv_eval(tfl_context *ctx, const tfl_dwconv *dw, const tfl_dwconv_io *io) {
  if (dw->win.w.out <= 0) return;
  const dwconv_job job = {dw, io};
  tfl_split_rows(ctx, dw->batches * dw->win.h.out, dwconv_rows, &job);
}

/* --- with the 1x1 expansion fused in -------------------------------------------------------- */

/* Bytes of expanded rows a thread keeps: with the weights of both ops, in the core's L2. */
#define DW_SLICE_BYTES (192u * 1024u)
/* Tasks per thread: each starts by expanding its own first rows again, so few. */
#define DW_EXPAND_TASKS_PER_THREAD 2

static int32_t window_rows(const tfl_window_axis *h) { return (h->filter - 1) * h->dilation + 1; }

size_t tfl_dwconv_expand_plan(const tfl_dwconv *dw, tfl_dwconv_expand *e, int threads) {
  const tfl_window_axis *h = &dw->win.h;
  const size_t row_floats = (size_t)dw->win.w.in * (size_t)dw->channels;
  const int32_t min_rows = window_rows(h);
  const int32_t most = h->in > min_rows ? h->in : min_rows; /* a whole image */
  size_t rows = row_floats ? DW_SLICE_BYTES / (row_floats * sizeof(float)) : (size_t)most;
  if (rows < (size_t)min_rows) rows = (size_t)min_rows;
  if (rows > (size_t)most) rows = (size_t)most;
  e->slice_rows = (int32_t)rows;
  e->band = (e->slice_rows - min_rows) / h->stride + 1;
  e->slice_floats = (rows * row_floats + 15) & ~(size_t)15;
  return (size_t)threads * e->slice_floats * sizeof(float);
}

typedef struct expand_job {
  const tfl_dwconv *dw;
  const tfl_dwconv_expand *e;
  const tfl_dwconv_io *io; /* io->in: the expansion's input */
  float *scratch;
  int32_t rows, chunk; /* output rows over the batch, and per task */
} expand_job;

/* The input rows a band of output rows reads: [*lo, *hi) of image rows. */
static void band_rows(const tfl_window_axis *h, int32_t oy0, int32_t oy1, int32_t *lo,
                      int32_t *hi) {
  int32_t first = oy0 * h->stride - h->pad, end = (oy1 - 1) * h->stride - h->pad + window_rows(h);
  *lo = first < 0 ? 0 : first;
  *hi = end > h->in ? h->in : end;
  if (*hi < *lo) *hi = *lo;
}

/* Which rows of which image the slice holds. */
typedef struct slice_state {
  int32_t n, lo, hi;
} slice_state;

/* Makes the slice hold expanded image rows [lo, hi) of image n: keeps the rows it has in
 * common with what it held (moved to its top) and expands the others. */
static void slice_fill(const expand_job *job, float *slice, slice_state *s, int32_t n, int32_t lo,
                       int32_t hi) {
  const tfl_dwconv *dw = job->dw;
  const tfl_dwconv_expand *e = job->e;
  const size_t row = (size_t)dw->win.w.in * (size_t)dw->channels;
  if (s->n == n && lo >= s->lo && lo < s->hi) {
    memmove(slice, slice + (size_t)(lo - s->lo) * row, (size_t)(s->hi - lo) * row * sizeof(float));
    s->lo = lo;
  } else {
    s->n = n;
    s->lo = s->hi = lo;
  }
  if (hi <= s->hi) return;
  const size_t in_c = (size_t)e->in_c, pixels = (size_t)dw->win.w.in;
  const float *x = job->io->in + ((size_t)n * (size_t)dw->win.h.in + (size_t)s->hi) * pixels * in_c;
  tfl_gemm_matrix(NULL, e->w, x, in_c, (int32_t)((size_t)(hi - s->hi) * pixels),
                  slice + (size_t)(s->hi - s->lo) * row, (size_t)dw->channels, e->lo, e->hi);
  s->hi = hi;
}

static void expand_task(void *arg, int task, int thread) {
  const expand_job *job = arg;
  const tfl_dwconv *dw = job->dw;
  const tfl_window_axis *h = &dw->win.h;
  const size_t out_row = (size_t)dw->win.w.out * (size_t)dw->channels;
  float *slice = job->scratch + (size_t)thread * job->e->slice_floats;
  slice_state s = {-1, 0, 0};
  const int32_t r1 = (task + 1) * job->chunk < job->rows ? (task + 1) * job->chunk : job->rows;
  for (int32_t r = task * job->chunk; r < r1;) {
    const int32_t n = r / h->out, oy0 = r % h->out;
    int32_t oy1 = oy0 + job->e->band;
    if (oy1 > h->out) oy1 = h->out;
    if (oy1 - oy0 > r1 - r) oy1 = oy0 + (r1 - r);
    int32_t lo, hi;
    band_rows(h, oy0, oy1, &lo, &hi);
    slice_fill(job, slice, &s, n, lo, hi);
    /* The band as a convolution of its own over the slice: the same taps, the same sums. */
    tfl_dwconv band = *dw;
    band.batches = 1;
    band.win.h.in = hi - lo;
    band.win.h.pad = h->pad + lo - oy0 * h->stride;
    band.win.h.out = oy1 - oy0;
    const tfl_dwconv_io io = {slice, job->io->filter, job->io->bias,
                              job->io->out + (size_t)r * out_row};
    dw->rows(&band, &io, 0, oy1 - oy0);
    r += oy1 - oy0;
  }
}

void tfl_dwconv_eval_expand(tfl_context *ctx, const tfl_dwconv *dw, const tfl_dwconv_expand *e,
                            const tfl_dwconv_io *io, void *scratch) {
  const int32_t rows = dw->batches * dw->win.h.out;
  if (rows <= 0 || dw->win.w.out <= 0) return;
  const int threads = ctx ? tfl_context_threads(ctx) : 1;
  int32_t tasks = threads > 1 ? threads * DW_EXPAND_TASKS_PER_THREAD : 1;
  if (tasks > rows) tasks = rows;
  expand_job job = {dw, e, io, scratch, rows, 0};
  job.chunk = (rows + tasks - 1) / tasks;
  tasks = (rows + job.chunk - 1) / job.chunk;
  if (tasks == 1) {
    expand_task(&job, 0, 0);
    return;
  }
  tfl_context_parallel(ctx, tasks, expand_task, &job);
}
