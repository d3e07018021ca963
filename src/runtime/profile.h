/* Per-node timing of subgraph 0 for tools such as `tfl bench --profile` (include/tfl/inspect.h:
 * tfl_interpreter_set_profiling). Off by default; when on, the invoke loop reads a monotonic
 * clock around every node it runs. The buffers are allocated when profiling is enabled, so
 * invoke still allocates nothing. */
#ifndef TFL_RUNTIME_PROFILE_H
#define TFL_RUNTIME_PROFILE_H

#include <stdint.h>

#include "runtime/interpreter.h"

typedef struct tfl_profile {
  int n_nodes;
  uint64_t *total_ns; /* per node of subgraph 0 */
  uint64_t *count;    /* evaluations timed, per node */
} tfl_profile;

uint64_t tfl_profile_clock_ns(void);
void tfl_profile_free(tfl_profile *profile);

/* Around a node's evaluation in tfl_subgraph_invoke: start returns 0 when nothing is timed. */
static inline uint64_t tfl_profile_start(const struct tfl_context *ctx) {
  return ctx->index == 0 && ctx->interp->profile ? tfl_profile_clock_ns() : 0;
}

static inline void tfl_profile_stop(const struct tfl_context *ctx, int node, uint64_t start) {
  tfl_profile *p = ctx->interp->profile;
  if (!start || !p) return;
  p->total_ns[node] += tfl_profile_clock_ns() - start;
  p->count[node]++;
}

#endif
