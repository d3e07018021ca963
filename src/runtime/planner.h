/* Offset assignment for the activation arena, separated from the interpreter so that it can be
 * tested (and bounded) on its own. tfl_plan_arena (interpreter.h) collects a subgraph's
 * buffers and calls tfl_plan_offsets. */
#ifndef TFL_RUNTIME_PLANNER_H
#define TFL_RUNTIME_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/status.h"

/* One buffer to place. Its lifetime is the steps [first, last] (0 <= first <= last <
 * n_steps); two buffers whose lifetimes intersect never share bytes. */
typedef struct tfl_plan_buf {
  size_t size;
  int32_t first, last;
  int tensor;    /* the caller's: >= 0 a tensor index, else -1 - scratch slot; orders ties */
  int node;      /* the caller's: the node owning a scratch buffer */
  size_t offset; /* set by tfl_plan_offsets */
} tfl_plan_buf;

/* Greedy by size: sorts bufs largest first (ties: earlier first step, then lower tensor), then
 * puts each at the start of the smallest gap that fits it among the already placed buffers
 * whose lifetimes intersect its own (the lowest such gap on ties), or above all of them.
 * *total receives the arena size needed. *work (may be NULL) receives the number of
 * elementary steps taken (tree nodes visited and gap runs read and moved): it grows as
 * n log n for the shapes models have, so tests can bound it where a clock would be flaky.
 * Returns TFL_OUT_OF_MEMORY if its working memory cannot be had. */
tfl_status tfl_plan_offsets(tfl_plan_buf *bufs, int n, int32_t n_steps, size_t *total,
                            size_t *work);

#endif
