#include "runtime/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Workers spin this many rounds on the job counter before sleeping: short gaps between ops
 * then cost no wake-up latency, long idle periods cost no CPU. */
#define TFL_SPIN_ROUNDS 20000

struct tfl_threadpool {
  int threads;
  pthread_t *workers;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  atomic_uint generation; /* bumped per job */
  atomic_int next_task;
  atomic_int finished;    /* workers done with the current job */
  int n_tasks;
  tfl_task_fn fn;
  void *arg;
  int stop;
};

typedef struct worker_arg {
  tfl_threadpool *pool;
  int index;
} worker_arg;

static void take_tasks(tfl_threadpool *pool, int thread) {
  for (;;) {
    int task = atomic_fetch_add(&pool->next_task, 1);
    if (task >= pool->n_tasks) return;
    pool->fn(pool->arg, task, thread);
  }
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
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
    pthread_mutex_unlock(&pool->lock);
    if (stop) return NULL;
    take_tasks(pool, index);
    if (atomic_fetch_add(&pool->finished, 1) + 1 == pool->threads - 1) {
      pthread_mutex_lock(&pool->lock);
      pthread_cond_signal(&pool->done);
      pthread_mutex_unlock(&pool->lock);
    }
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
  pthread_cond_init(&pool->done, NULL);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->next_task, 0);
  atomic_init(&pool->finished, 0);
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
  pthread_cond_destroy(&pool->done);
  free(pool->workers);
  free(pool);
}

int tfl_threadpool_threads(const tfl_threadpool *pool) { return pool ? pool->threads : 1; }

void tfl_threadpool_run(tfl_threadpool *pool, int n_tasks, tfl_task_fn fn, void *arg) {
  if (n_tasks <= 0) return;
  if (!pool || pool->threads == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(arg, t, 0);
    return;
  }
  pthread_mutex_lock(&pool->lock);
  pool->fn = fn;
  pool->arg = arg;
  pool->n_tasks = n_tasks;
  atomic_store(&pool->next_task, 0);
  atomic_store(&pool->finished, 0);
  atomic_fetch_add(&pool->generation, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  take_tasks(pool, 0);
  for (int i = 0; i < TFL_SPIN_ROUNDS && atomic_load(&pool->finished) < pool->threads - 1; i++)
    cpu_relax();
  pthread_mutex_lock(&pool->lock);
  while (atomic_load(&pool->finished) < pool->threads - 1) pthread_cond_wait(&pool->done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}
