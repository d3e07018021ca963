/* Per-node profiling (runtime/profile.h, include/tfl/inspect.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "runtime/profile.h"

#include <stdlib.h>
#include <time.h>

#include "tfl/inspect.h"

uint64_t tfl_profile_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  /* Never 0, which tfl_profile_start uses for "not timing". */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
}

void tfl_profile_free(tfl_profile *profile) {
  if (!profile) return;
  free(profile->total_ns);
  free(profile->count);
  free(profile);
}

static tfl_profile *profile_create(int n_nodes) {
  tfl_profile *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n_nodes = n_nodes;
  p->total_ns = calloc((size_t)n_nodes + 1, sizeof *p->total_ns);
  p->count = calloc((size_t)n_nodes + 1, sizeof *p->count);
  if (p->total_ns && p->count) return p;
  tfl_profile_free(p);
  return NULL;
}

tfl_status tfl_interpreter_set_profiling(tfl_interpreter *interp, int enabled) {
  if (!interp || !interp->n_subgraphs) return TFL_INVALID_ARGUMENT;
  if (interp->subgraphs[0].running)
    return tfl_interp_error(interp, TFL_INVALID_ARGUMENT,
                            "profiling cannot be switched during invoke");
  tfl_profile_free(interp->profile);
  interp->profile = NULL;
  if (!enabled) return TFL_OK;
  interp->profile = profile_create(interp->subgraphs[0].n_nodes);
  if (!interp->profile) return tfl_interp_error(interp, TFL_OUT_OF_MEMORY, "out of memory");
  return TFL_OK;
}

tfl_status tfl_interpreter_node_time_ns(const tfl_interpreter *interp, int node,
                                        uint64_t *total_ns, uint64_t *count) {
  if (!interp || !total_ns || !count) return TFL_INVALID_ARGUMENT;
  const tfl_profile *p = interp->profile;
  if (!p) return TFL_NOT_READY;
  if (node < 0 || node >= p->n_nodes) return TFL_INVALID_ARGUMENT;
  *total_ns = p->total_ns[node];
  *count = p->count[node];
  return TFL_OK;
}
