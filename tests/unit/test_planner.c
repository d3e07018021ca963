/* The arena planner's offset assignment (runtime/planner.h): the same plan as the plain
 * greedy-by-size best fit written here (which walks every placed buffer for every new one),
 * never two buffers alive together on the same bytes, and a bounded amount of work for the
 * shapes hostile files use (tens of thousands of buffers alive at once). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/planner.h"
#include "util/check_util.h"
#include "util/test.h"

static int alive_together(const tfl_plan_buf *a, const tfl_plan_buf *b) {
  return a->first <= b->last && b->first <= a->last;
}

static int by_offset(const void *a, const void *b) {
  const tfl_plan_buf *x = *(const tfl_plan_buf *const *)a, *y = *(const tfl_plan_buf *const *)b;
  return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* The reference: bufs already in placement order; each goes into the smallest gap (lowest on
 * ties) between the placed buffers alive with it, sorted by offset, or above them all. */
static size_t naive_plan(tfl_plan_buf *bufs, int n) {
  const tfl_plan_buf **live = malloc((size_t)n * sizeof(*live) + 1);
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    int n_live = 0;
    for (int j = 0; j < i; j++)
      if (alive_together(&bufs[i], &bufs[j])) live[n_live++] = &bufs[j];
    qsort((void *)live, (size_t)n_live, sizeof(*live), by_offset);
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (int j = 0; j < n_live; j++) {
      if (live[j]->offset >= cursor) {
        const size_t gap = live[j]->offset - cursor;
        if (gap >= bufs[i].size && gap < best_gap) {
          best = cursor;
          best_gap = gap;
        }
      }
      if (live[j]->offset + live[j]->size > cursor) cursor = live[j]->offset + live[j]->size;
    }
    bufs[i].offset = best != SIZE_MAX ? best : cursor;
    if (bufs[i].offset + bufs[i].size > total) total = bufs[i].offset + bufs[i].size;
  }
  free((void *)live);
  return total;
}

static void check_no_collision(const tfl_plan_buf *bufs, int n, size_t total) {
  for (int i = 0; i < n; i++) {
    CHECK(bufs[i].offset + bufs[i].size <= total);
    for (int j = i + 1; j < n; j++) {
      const int overlap = bufs[i].offset < bufs[j].offset + bufs[j].size &&
                          bufs[j].offset < bufs[i].offset + bufs[i].size;
      if (alive_together(&bufs[i], &bufs[j]) && overlap) {
        test_fail(__FILE__, __LINE__, "buffers %d and %d are alive together on shared bytes",
                  bufs[i].tensor, bufs[j].tensor);
        return;
      }
    }
  }
}

/* Random lifetimes: mostly short (a chain's activations), some long (skip connections), a few
 * spanning everything (graph inputs and outputs). */
static void random_bufs(uint32_t *seed, tfl_plan_buf *bufs, int n, int32_t steps) {
  for (int i = 0; i < n; i++) {
    const uint32_t kind = ck_lcg(seed) % 10;
    int32_t first = (int32_t)(ck_lcg(seed) % (uint32_t)steps);
    int32_t len = kind < 6 ? 1 + (int32_t)(ck_lcg(seed) % 3)
                           : (int32_t)(ck_lcg(seed) % (uint32_t)steps);
    if (kind == 9) {
      first = 0;
      len = steps;
    }
    const int32_t last = first + len >= steps ? steps - 1 : first + len;
    const size_t size = 64 * (1 + ck_lcg(seed) % (kind < 3 ? 4 : 40));
    bufs[i] = (tfl_plan_buf){size, first, last, i, -1, 0};
  }
}

TEST(same_plan_as_the_plain_best_fit) {
  enum { MAX_BUFS = 400 };
  tfl_plan_buf *mine = malloc(MAX_BUFS * sizeof(*mine));
  tfl_plan_buf *ref = malloc(MAX_BUFS * sizeof(*ref));
  REQUIRE(mine && ref);
  for (uint32_t seed = 1; seed <= 60; seed++) {
    uint32_t s = seed;
    const int n = 1 + (int)(ck_lcg(&s) % MAX_BUFS);
    const int32_t steps = 1 + (int32_t)(ck_lcg(&s) % 80);
    random_bufs(&s, mine, n, steps);
    size_t total = 0;
    REQUIRE(tfl_plan_offsets(mine, n, steps, &total, NULL) == TFL_OK);
    /* tfl_plan_offsets sorted its copy: the reference places in that order */
    memcpy(ref, mine, (size_t)n * sizeof(*ref));
    const size_t ref_total = naive_plan(ref, n);
    CHECK_EQ_INT((long long)total, (long long)ref_total);
    for (int i = 0; i < n; i++)
      if (mine[i].offset != ref[i].offset) {
        test_fail(__FILE__, __LINE__, "seed %u: buffer %d at %zu, the plain best fit at %zu", seed,
                  mine[i].tensor, mine[i].offset, ref[i].offset);
        break;
      }
    check_no_collision(mine, n, total);
  }
  free(mine);
  free(ref);
}

TEST(sorted_largest_first_with_stable_ties) {
  tfl_plan_buf b[4] = {{64, 0, 0, 3, -1, 0}, {128, 1, 1, 1, -1, 0}, {64, 0, 0, 0, -1, 0},
                       {64, 1, 1, 2, -1, 0}};
  size_t total = 0;
  REQUIRE(tfl_plan_offsets(b, 4, 2, &total, NULL) == TFL_OK);
  const int order[4] = {1, 0, 3, 2};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(b[i].tensor, order[i]);
  /* step 0: tensors 0 and 3; step 1: tensors 1 (128 bytes) and 2 */
  CHECK_EQ_INT((long long)total, 192);
}

TEST(zero_sized_and_empty) {
  size_t total = 1;
  CHECK_EQ_INT(tfl_plan_offsets(NULL, 0, 1, &total, NULL), TFL_OK);
  CHECK_EQ_INT((long long)total, 0);
  tfl_plan_buf b[3] = {{0, 0, 2, 0, -1, 0}, {64, 0, 2, 1, -1, 0}, {0, 1, 1, 2, -1, 0}};
  REQUIRE(tfl_plan_offsets(b, 3, 3, &total, NULL) == TFL_OK);
  CHECK_EQ_INT((long long)total, 64);
  for (int i = 0; i < 3; i++) CHECK(b[i].offset + b[i].size <= total);
}

/* work / (n log2 n) for n buffers laid out by `shape`. */
static double work_per_n_log_n(int n, int32_t steps,
                               void (*shape)(tfl_plan_buf *b, int i, int32_t steps)) {
  tfl_plan_buf *bufs = malloc((size_t)n * sizeof(*bufs));
  if (!bufs) return HUGE_VAL;
  for (int i = 0; i < n; i++) shape(&bufs[i], i, steps);
  size_t total = 0, work = 0;
  tfl_status st = tfl_plan_offsets(bufs, n, steps, &total, &work);
  free(bufs);
  return st == TFL_OK ? (double)work / ((double)n * log2((double)n)) : HUGE_VAL;
}

/* Graph inputs: all alive over the whole graph, some sizes repeating. */
static void all_alive(tfl_plan_buf *b, int i, int32_t steps) {
  *b = (tfl_plan_buf){64 * (size_t)(1 + i % 7), 0, steps - 1, i, -1, 0};
}

/* A chain with long skip connections: each buffer lives for 200 steps from its own. */
static void staircase(tfl_plan_buf *b, int i, int32_t steps) {
  const int32_t last = i + 200 < steps ? i + 200 : steps - 1;
  *b = (tfl_plan_buf){64 * (size_t)(1 + (i * 7919) % 13), i, last, i, -1, 0};
}

/* A plain chain: each activation read by the next node only. */
static void chain(tfl_plan_buf *b, int i, int32_t steps) {
  const int32_t last = i + 1 < steps ? i + 1 : steps - 1;
  *b = (tfl_plan_buf){64 * (size_t)(1 + (i * 31) % 5), i, last, i, -1, 0};
}

/* The plain best fit takes n^2 / 2 steps for buffers all alive together (60000 of them: 1.8e9,
 * minutes with the per-buffer sort it used); the tree takes a few per buffer and level. */
TEST(work_grows_as_n_log_n) {
  enum { N = 60000 };
  const double bound = 32.0;
  double w = work_per_n_log_n(N, 2, all_alive);
  if (!(w <= bound)) test_fail(__FILE__, __LINE__, "all alive: %.1f n log n steps", w);
  w = work_per_n_log_n(N, N, staircase);
  if (!(w <= bound)) test_fail(__FILE__, __LINE__, "staircase: %.1f n log n steps", w);
  w = work_per_n_log_n(N, N, chain);
  if (!(w <= bound)) test_fail(__FILE__, __LINE__, "chain: %.1f n log n steps", w);
}

int main(void) {
  RUN(same_plan_as_the_plain_best_fit);
  RUN(sorted_largest_first_with_stable_ties);
  RUN(zero_sized_and_empty);
  RUN(work_grows_as_n_log_n);
  return test_summary();
}
