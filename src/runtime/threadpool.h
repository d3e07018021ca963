/* A fixed pool of worker threads owned by one interpreter. Work is handed out as numbered
 * tasks; the calling thread takes tasks too. Nothing is allocated after creation. */
#ifndef TFL_RUNTIME_THREADPOOL_H
#define TFL_RUNTIME_THREADPOOL_H

typedef struct tfl_threadpool tfl_threadpool;

/* Runs fn(arg, task, thread) for task in [0, n_tasks); `thread` is in [0, threads). */
typedef void (*tfl_task_fn)(void *arg, int task, int thread);

/* threads counts the caller: threads == 1 creates no worker. NULL on failure. */
tfl_threadpool *tfl_threadpool_create(int threads);
void tfl_threadpool_free(tfl_threadpool *pool);
int tfl_threadpool_threads(const tfl_threadpool *pool);
/* Returns when every task has finished. A NULL pool runs everything in the caller. */
void tfl_threadpool_run(tfl_threadpool *pool, int n_tasks, tfl_task_fn fn, void *arg);

#endif
