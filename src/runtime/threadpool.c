#include "runtime/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Workers spin this many rounds on the job counter before sleeping: short gaps between ops
 * then cost no wake-up latency, long idle periods cost no CPU. */
#define TFL_SPIN_ROUNDS 20000

struct tfl_threadpool {
  int threads;
  pthread_t *workers;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done_cond;
  atomic_uint generation; /* bumped per job: wakes workers */
  /* (job << 32) | next task: a task is claimed with a compare-and-swap that also checks the
   * job, so a worker that wakes late cannot take a task of a later job by mistake. */
  atomic_uint_fast64_t claim;
  atomic_int done;        /* tasks of the current job that have finished */
  uint32_t job;
  atomic_int n_tasks; /* read by workers racing with the next job's setup */
  tfl_task_fn fn;
  void *arg;
  int stop;
};

typedef struct worker_arg {
  tfl_threadpool *pool;
  int index;
} worker_arg;

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Claims and runs tasks of job `job` until none is left (or the job is over). */
static void take_tasks(tfl_threadpool *pool, uint32_t job, int thread) {
  for (;;) {
    uint_fast64_t c = atomic_load(&pool->claim);
    if ((uint32_t)(c >> 32) != job) return;
    int task = (int)(c & 0xffffffffu);
    if (task >= atomic_load(&pool->n_tasks)) return;
    if (!atomic_compare_exchange_weak(&pool->claim, &c, c + 1)) continue;
    pool->fn(pool->arg, task, thread);
    if (atomic_fetch_add(&pool->done, 1) + 1 == atomic_load(&pool->n_tasks)) {
      pthread_mutex_lock(&pool->lock);
      pthread_cond_signal(&pool->done_cond);
      pthread_mutex_unlock(&pool->lock);
    }
  }
}

/* Waits until the generation moves past `seen`; returns the new one, or seen if stopping. */
static unsigned wait_for_job(tfl_threadpool *pool, unsigned seen) {
  for (int i = 0; i < TFL_SPIN_ROUNDS; i++) {
    unsigned g = atomic_load(&pool->generation);
    if (g != seen) return g;
    cpu_relax();
  }
  pthread_mutex_lock(&pool->lock);
  while (atomic_load(&pool->generation) == seen && !pool->stop)
    pthread_cond_wait(&pool->wake, &pool->lock);
  unsigned g = atomic_load(&pool->generation);
  pthread_mutex_unlock(&pool->lock);
  return g;
}

static void *worker_main(void *p) {
  worker_arg *wa = p;
  tfl_threadpool *pool = wa->pool;
  int index = wa->index;
  free(wa);
  unsigned seen = 0;
  for (;;) {
    seen = wait_for_job(pool, seen);
    pthread_mutex_lock(&pool->lock);
    int stop = pool->stop;
    uint32_t job = pool->job;
    pthread_mutex_unlock(&pool->lock);
    if (stop) return NULL;
    take_tasks(pool, job, index);
  }
}

static void stop_workers(tfl_threadpool *pool, int started) {
  pthread_mutex_lock(&pool->lock);
  pool->stop = 1;
  atomic_fetch_add(&pool->generation, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (int i = 0; i < started; i++) pthread_join(pool->workers[i], NULL);
}

tfl_threadpool *tfl_threadpool_create(int threads) {
  if (threads < 1) return NULL;
  tfl_threadpool *pool = calloc(1, sizeof(*pool));
  if (!pool) return NULL;
  pool->threads = threads;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->wake, NULL);
  pthread_cond_init(&pool->done_cond, NULL);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->claim, 0);
  atomic_init(&pool->done, 0);
  atomic_init(&pool->n_tasks, 0);
  if (threads == 1) return pool;
  pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
  int started = 0;
  while (pool->workers && started < threads - 1) {
    worker_arg *wa = malloc(sizeof(*wa));
    if (!wa) break;
    wa->pool = pool;
    wa->index = started + 1;
    if (pthread_create(&pool->workers[started], NULL, worker_main, wa) != 0) {
      free(wa);
      break;
    }
    started++;
  }
  if (started == threads - 1) return pool;
  if (pool->workers) stop_workers(pool, started);
  free(pool->workers);
  free(pool);
  return NULL;
}

void tfl_threadpool_free(tfl_threadpool *pool) {
  if (!pool) return;
  if (pool->threads > 1) stop_workers(pool, pool->threads - 1);
  pthread_mutex_destroy(&pool->lock);
  pthread_cond_destroy(&pool->wake);
  pthread_cond_destroy(&pool->done_cond);
  free(pool->workers);
  free(pool);
}

int tfl_threadpool_threads(const tfl_threadpool *pool) { return pool ? pool->threads : 1; }

/* The caller takes tasks too and returns as soon as every task has finished, whether or not
 * each worker has woken up: on a busy machine a worker may not get a core in time, and the
 * job must not wait for it. */
void tfl_threadpool_run(tfl_threadpool *pool, int n_tasks, tfl_task_fn fn, void *arg) {
  if (n_tasks <= 0) return;
  if (!pool || pool->threads == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(arg, t, 0);
    return;
  }
  pthread_mutex_lock(&pool->lock);
  uint32_t job = ++pool->job;
  /* The new job's tag goes in first: a worker still in take_tasks for the previous job could
   * otherwise see the new n_tasks next to an old claim and take a task past the old end. No
   * worker takes the new job's tasks before the lock is released. */
  atomic_store(&pool->claim, (uint_fast64_t)job << 32);
  pool->fn = fn;
  pool->arg = arg;
  atomic_store(&pool->n_tasks, n_tasks);
  atomic_store(&pool->done, 0);
  atomic_fetch_add(&pool->generation, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  take_tasks(pool, job, 0);
  for (int i = 0; i < TFL_SPIN_ROUNDS && atomic_load(&pool->done) < n_tasks; i++) cpu_relax();
  pthread_mutex_lock(&pool->lock);
  while (atomic_load(&pool->done) < n_tasks) pthread_cond_wait(&pool->done_cond, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}
