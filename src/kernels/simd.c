#include "kernels/simd.h"

/* Chunks per thread: enough to even out rows of unequal cost (borders) and a busy core. */
#define SPLIT_TASKS_PER_THREAD 4

typedef struct split_job {
  tfl_split_fn fn;
  const void *arg;
  int32_t rows, chunk;
} split_job;

static void split_task(void *arg, int task, int thread) {
  (void)thread;
  const split_job *job = arg;
  const int32_t row0 = task * job->chunk;
  const int32_t row1 = row0 + job->chunk < job->rows ? row0 + job->chunk : job->rows;
  job->fn(job->arg, row0, row1);
}

void tfl_split_rows(tfl_context *ctx, int32_t rows, tfl_split_fn fn, const void *arg) {
  if (rows <= 0) return;
  const int threads = ctx ? tfl_context_threads(ctx) : 1;
  if (threads <= 1 || rows == 1) {
    fn(arg, 0, rows);
    return;
  }
  int32_t tasks = threads * SPLIT_TASKS_PER_THREAD;
  if (tasks > rows) tasks = rows;
  const split_job job = {fn, arg, rows, (rows + tasks - 1) / tasks};
  tfl_context_parallel(ctx, (int)((rows + job.chunk - 1) / job.chunk), split_task, (void *)&job);
}
