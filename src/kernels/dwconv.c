/* Depthwise convolution, fast path: variant choice and the split over threads (dwconv.h). */
#include "kernels/dwconv.h"

#include "kernels/simd.h"

int tfl_dwconv_setup(tfl_dwconv *dw, tfl_cpu_level level, const tfl_window *win,
                     int32_t batches, int32_t in_c, int32_t out_c, float lo, float hi) {
  if (in_c != out_c || level == TFL_CPU_SCALAR) return 0;
  tfl_dwconv_rows_fn rows = NULL;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level)) rows = tfl_dwconv_rows_avx2;
#endif
  if (!rows) return 0;
  dw->win = *win;
  dw->batches = batches;
  dw->channels = in_c;
  dw->lo = lo;
  dw->hi = hi;
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
