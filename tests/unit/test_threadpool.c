/* The interpreter's thread pool: every task runs exactly once, on a valid thread index, and
 * jobs can follow each other quickly without losing or repeating work. */
#include <stdatomic.h>
#include <string.h>

#include "runtime/threadpool.h"
#include "util/test.h"

enum { MAX_TASKS = 512 };

typedef struct job {
  atomic_int runs[MAX_TASKS];
  atomic_int bad_thread;
  int threads;
} job;

static void count_task(void *arg, int task, int thread) {
  job *j = arg;
  atomic_fetch_add(&j->runs[task], 1);
  if (thread < 0 || thread >= j->threads) atomic_fetch_add(&j->bad_thread, 1);
}

static void check_pool(int threads) {
  tfl_threadpool *pool = tfl_threadpool_create(threads);
  REQUIRE(pool);
  CHECK_EQ_INT(tfl_threadpool_threads(pool), threads);
  static job j;
  for (int round = 0; round < 300; round++) {
    int n = 1 + (round * 37) % MAX_TASKS;
    memset(&j, 0, sizeof(j));
    j.threads = threads;
    tfl_threadpool_run(pool, n, count_task, &j);
    for (int t = 0; t < n; t++)
      if (atomic_load(&j.runs[t]) != 1) {
        CHECK_EQ_INT(atomic_load(&j.runs[t]), 1);
        tfl_threadpool_free(pool);
        return;
      }
    CHECK_EQ_INT(atomic_load(&j.bad_thread), 0);
  }
  tfl_threadpool_free(pool);
}

TEST(one_thread_runs_in_the_caller) { check_pool(1); }
TEST(two_threads) { check_pool(2); }
TEST(more_threads_than_cores) { check_pool(5); }

TEST(null_pool_and_empty_jobs) {
  static job j;
  memset(&j, 0, sizeof(j));
  j.threads = 1;
  tfl_threadpool_run(NULL, 3, count_task, &j);
  CHECK_EQ_INT(atomic_load(&j.runs[2]), 1);
  tfl_threadpool_run(NULL, 0, count_task, &j);
  CHECK(tfl_threadpool_create(0) == NULL);
}

int main(void) {
  RUN(one_thread_runs_in_the_caller);
  RUN(two_threads);
  RUN(more_threads_than_cores);
  RUN(null_pool_and_empty_jobs);
  return test_summary();
}
