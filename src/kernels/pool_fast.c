/* Pools, fast path: variant choice and the split over threads (pool_fast.h). */
#include "kernels/pool_fast.h"

#include "kernels/simd.h"

int tfl_pool_fast_setup(tfl_pool_fast *pf, tfl_cpu_level level, tfl_pool_kind kind,
                        const tfl_window *win, int32_t batches, int32_t channels, float lo,
                        float hi) {
  tfl_pool_rows_fn rows = NULL;
#if TFL_HAVE_X86_KERNELS
  if (tfl_simd_avx2(level))
    rows = kind == TFL_POOL_MAX ? tfl_pool_max_rows_avx2 : tfl_pool_average_rows_avx2;
#endif
  if (tfl_simd_neon(level))
    rows = kind == TFL_POOL_MAX ? tfl_pool_max_rows_neon : tfl_pool_average_rows_neon;
  if (!rows) return 0;
  pf->win = *win;
  pf->batches = batches;
  pf->channels = channels;
  pf->lo = lo;
  pf->hi = hi;
  pf->rows = rows;
  return 1;
}

typedef struct pool_job {
  const tfl_pool_fast *pf;
  const float *in;
  float *out;
} pool_job;

static void pool_rows(const void *arg, int32_t row0, int32_t row1) {
  const pool_job *job = arg;
  job->pf->rows(job->pf, job->in, job->out, row0, row1);
}

void tfl_pool_fast_eval(tfl_context *ctx, const tfl_pool_fast *pf, const float *in, float *out) {
  if (pf->win.w.out <= 0) return;
  const pool_job job = {pf, in, out};
  tfl_split_rows(ctx, pf->batches * pf->win.h.out, pool_rows, &job);
}
