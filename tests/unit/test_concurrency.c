/* Thread safety as include/tfl/interpreter.h states it: one model shared by interpreters in
 * several threads gives the same bytes as a single-threaded run; tfl_interpreter_cancel()
 * from another thread stops a running invoke with TFL_CANCELLED and leaves the interpreter
 * usable; and the library keeps no writable static data (which would be shared by every
 * interpreter). `make test-tsan` runs this file under ThreadSanitizer. */
#define _DEFAULT_SOURCE /* nanosleep, popen, readlink */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CONC_SANITIZED 1
#endif
#endif
#ifndef CONC_SANITIZED
#define CONC_SANITIZED 0
#endif

#define N_WORKERS 4
#define ITERATIONS 3
#define MAX_OUTPUTS 8

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* --- models ------------------------------------------------------------------------------ */

static tfl_model *load_model(const char *path) {
  char err[256];
  tfl_model *m = NULL;
  if (tfl_model_load_file(path, &m, err, sizeof(err)) != TFL_OK)
    test_fail(__FILE__, __LINE__, "%s: %s", path, err);
  return m;
}

/* tests/fixtures/<rel>, from this file's path (CMake compiles it by full path). */
static const char *fixture(const char *rel, char *buf, size_t size) {
  const char *unit = strstr(__FILE__, "unit/test_concurrency.c");
  int len = unit ? (int)(unit - __FILE__) : 0;
  snprintf(buf, size, "%.*sfixtures/%s", len, __FILE__, rel);
  return buf;
}

/* Deterministic input values: floats in [-1, 1), integers over their whole range. */
static void fill_inputs(tfl_interpreter *interp) {
  uint32_t s = 2463534242u;
  for (int i = 0; i < tfl_interpreter_input_count(interp); i++) {
    tfl_tensor *t = tfl_interpreter_input(interp, i);
    uint8_t *p = tfl_tensor_data(t);
    size_t n = tfl_tensor_byte_size(t);
    if (tfl_tensor_type(t) == TFL_FLOAT32) {
      for (size_t k = 0; k + 4 <= n; k += 4) {
        s = s * 1664525u + 1013904223u;
        float v = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
        memcpy(p + k, &v, 4);
      }
      continue;
    }
    for (size_t k = 0; k < n; k++) {
      s = s * 1664525u + 1013904223u;
      p[k] = tfl_tensor_type(t) == TFL_BOOL ? (uint8_t)(s >> 31) : (uint8_t)(s >> 24);
    }
  }
}

typedef struct outputs {
  int n;
  size_t bytes[MAX_OUTPUTS];
  uint8_t *data[MAX_OUTPUTS];
} outputs;

static void outputs_free(outputs *o) {
  for (int i = 0; i < o->n; i++) free(o->data[i]);
  o->n = 0;
}

/* Creates an interpreter with `threads` kernel threads, or NULL with the message in err. */
static tfl_interpreter *make_interpreter(const tfl_model *m, int threads, char *err,
                                         size_t size) {
  tfl_options *o = tfl_options_create();
  tfl_interpreter *interp = NULL;
  tfl_status st = o ? tfl_options_set_threads(o, threads) : TFL_OUT_OF_MEMORY;
  if (st == TFL_OK) st = tfl_interpreter_create(m, o, &interp, err, size);
  tfl_options_free(o);
  if (st == TFL_OK && tfl_interpreter_allocate_tensors(interp) != TFL_OK) {
    snprintf(err, size, "%s", tfl_interpreter_error(interp));
    tfl_interpreter_free(interp);
    interp = NULL;
  }
  return interp;
}

/* One invoke on the fixed inputs; copies the outputs into out (when out->n is 0) or
 * compares them with it. Returns the number of differing outputs, or -1 if invoke failed. */
static int invoke_and_compare(tfl_interpreter *interp, outputs *out) {
  fill_inputs(interp);
  if (tfl_interpreter_invoke(interp) != TFL_OK) return -1;
  int record = out->n == 0, differ = 0;
  int n = tfl_interpreter_output_count(interp);
  for (int i = 0; i < n && i < MAX_OUTPUTS; i++) {
    const tfl_tensor *t = tfl_interpreter_output(interp, i);
    size_t bytes = tfl_tensor_byte_size(t);
    if (record) {
      out->data[i] = malloc(bytes ? bytes : 1);
      if (out->data[i]) memcpy(out->data[i], tfl_tensor_data_const(t), bytes);
      out->bytes[i] = bytes;
      out->n = i + 1;
    } else if (bytes != out->bytes[i] || memcmp(out->data[i], tfl_tensor_data_const(t), bytes)) {
      differ++;
    }
  }
  return differ;
}

/* --- one model, many interpreters ----------------------------------------------------- */

typedef struct worker {
  const tfl_model *model;
  const outputs *expected;
  int threads;
  int invokes, differing, failed;
  char error[256];
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  tfl_interpreter *interp = make_interpreter(w->model, w->threads, w->error, sizeof(w->error));
  if (!interp) {
    w->failed = 1;
    return NULL;
  }
  for (int k = 0; k < ITERATIONS; k++) {
    outputs mine = *w->expected;
    int differ = invoke_and_compare(interp, &mine);
    if (differ < 0) {
      snprintf(w->error, sizeof(w->error), "%s", tfl_interpreter_error(interp));
      w->failed = 1;
      break;
    }
    w->invokes++;
    w->differing += differ;
  }
  tfl_interpreter_free(interp);
  return NULL;
}

/* A single-threaded reference run, then N_WORKERS threads (half of them with two kernel
 * threads each) that all create their own interpreter from the same model at once. */
static void check_shared_model(const char *path) {
  tfl_model *m = load_model(path);
  if (!m) return;
  char err[256] = "";
  outputs expected = {0};
  tfl_interpreter *ref = make_interpreter(m, 1, err, sizeof(err));
  if (!ref || invoke_and_compare(ref, &expected) < 0) {
    test_fail(__FILE__, __LINE__, "%s: reference run: %s", path,
              ref ? tfl_interpreter_error(ref) : err);
    tfl_interpreter_free(ref);
    tfl_model_free(m);
    return;
  }
  tfl_interpreter_free(ref);
  worker workers[N_WORKERS];
  pthread_t threads[N_WORKERS];
  for (int i = 0; i < N_WORKERS; i++) {
    workers[i] = (worker){m, &expected, 1 + i % 2, 0, 0, 0, ""};
    if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) workers[i].failed = 2;
  }
  for (int i = 0; i < N_WORKERS; i++) {
    if (workers[i].failed != 2) pthread_join(threads[i], NULL);
    if (workers[i].failed)
      test_fail(__FILE__, __LINE__, "%s: worker %d: %s", path, i, workers[i].error);
    if (workers[i].differing)
      test_fail(__FILE__, __LINE__, "%s: worker %d (%d threads): %d outputs differ from the "
                "single-threaded run", path, i, workers[i].threads, workers[i].differing);
    if (!workers[i].failed) CHECK_EQ_INT(workers[i].invokes, ITERATIONS);
  }
  outputs_free(&expected);
  tfl_model_free(m);
}

TEST(one_model_many_interpreters_same_bytes) {
  static const char *const fixtures[] = {
      "golden/models/tflite_micro/hello_world_float.tflite",
      "golden/models/tflite_micro/hello_world_int8.tflite",
      "golden/models/tflite_testdata/multi_add.bin",
      "golden/models/mediapipe_repo/3in3out_model_swaps_input_2_and_0.tflite",
  };
  char path[1024];
  for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
    check_shared_model(fixture(fixtures[i], path, sizeof(path)));
}

/* Real convolutional models, float and int8, when the suite is there. */
TEST(suite_models_many_interpreters_same_bytes) {
  const char *shared = getenv("TFL_SHARED");
  static const char *const models[] = {
      "reference/models/mlcommons/vww_96_float.tflite",
      "reference/models/tflite_micro/person_detect.tflite",
  };
  struct stat sb;
  if (!shared || stat(shared, &sb) != 0) {
    printf("  (TFL_SHARED not set: suite models skipped)\n");
    return;
  }
  char path[1024];
  for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", shared, models[i]);
    check_shared_model(path);
  }
}

/* --- cancel from another thread ---------------------------------------------------------- */

typedef struct slow_op {
  atomic_int evals;
} slow_op;

static tfl_status slow_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_tensor *in = tfl_node_input(ctx, node, 0);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), tfl_tensor_ndim(in),
                            tfl_tensor_dims(in));
}

/* Copies its input after 1 ms: a chain of them takes a known, long time. */
static tfl_status slow_eval(tfl_context *ctx, tfl_node *node) {
  slow_op *s = node->registration->op_user_data;
  atomic_fetch_add(&s->evals, 1);
  sleep_ms(1);
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  memcpy(tfl_tensor_data(out), tfl_tensor_data_const(in), tfl_tensor_byte_size(in));
  return TFL_OK;
}

#define SLOW_CHAIN 400

static uint8_t *slow_chain_model(size_t *size) {
  static const int32_t dims[] = {4};
  mb_model *m = mb_new();
  int prev = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, "x");
  mb_inputs(m, 1, &prev);
  for (int i = 0; i < SLOW_CHAIN; i++) {
    int next = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, NULL);
    mb_custom_op(m, "Slow", 1, &prev, 1, &next, NULL, 0);
    prev = next;
  }
  mb_outputs(m, 1, &prev);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

typedef struct canceller {
  tfl_interpreter *interp;
  slow_op *op;     /* cancel once it has run after_evals times (NULL: after wait_ms) */
  int after_evals;
  long wait_ms;
} canceller;

static void *cancel_main(void *arg) {
  canceller *c = arg;
  if (c->op) {
    while (atomic_load(&c->op->evals) < c->after_evals) sleep_ms(1);
  } else {
    sleep_ms(c->wait_ms);
  }
  tfl_interpreter_cancel(c->interp);
  return NULL;
}

/* Starts a thread that cancels interp, invokes, and returns invoke's status. */
static tfl_status invoke_while_cancelled(canceller *c) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, cancel_main, c) != 0) return TFL_ERROR;
  tfl_status st = tfl_interpreter_invoke(c->interp);
  pthread_join(thread, NULL);
  return st;
}

TEST(cancel_from_another_thread_stops_a_chain_of_ops) {
  slow_op op;
  atomic_init(&op.evals, 0);
  tfl_op_registration reg = {0};
  reg.name = "Slow";
  reg.builtin_code = TFL_BUILTIN_CUSTOM;
  reg.prepare = slow_prepare;
  reg.eval = slow_eval;
  reg.op_user_data = &op;
  tfl_options *o = tfl_options_create();
  REQUIRE(o && tfl_options_add_op(o, &reg) == TFL_OK);
  size_t size;
  uint8_t *bytes = slow_chain_model(&size);
  tfl_model *m = NULL;
  tfl_interpreter *interp = NULL;
  char err[256] = "";
  REQUIRE(tfl_model_load_buffer(bytes, size, &m, err, sizeof(err)) == TFL_OK);
  REQUIRE(tfl_interpreter_create(m, o, &interp, err, sizeof(err)) == TFL_OK);
  tfl_options_free(o);
  REQUIRE(tfl_interpreter_allocate_tensors(interp) == TFL_OK);
  const float x[4] = {1, 2, 3, 4};
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(interp, 0), x, sizeof(x)) == TFL_OK);

  canceller c = {interp, &op, 3, 0};
  CHECK_EQ_INT(invoke_while_cancelled(&c), TFL_CANCELLED);
  int ran = atomic_load(&op.evals);
  CHECK(ran >= 3 && ran < SLOW_CHAIN);
  CHECK(strstr(tfl_interpreter_error(interp), "cancel") != NULL);

  /* usable afterwards: the next invoke runs every op and gives the right answer */
  atomic_store(&op.evals, 0);
  CHECK_EQ_INT(tfl_interpreter_invoke(interp), TFL_OK);
  CHECK_EQ_INT(atomic_load(&op.evals), SLOW_CHAIN);
  float y[4] = {0};
  CHECK_EQ_INT(tfl_tensor_copy_to(tfl_interpreter_output(interp, 0), y, sizeof(y)), TFL_OK);
  CHECK(memcmp(x, y, sizeof(x)) == 0);
  tfl_interpreter_free(interp);
  tfl_model_free(m);
  free(bytes);
}

/* y = WHILE(x < 10) { x + 1 }: ten steps from 0, endless from -1e30 (x + 1 == x there). */
static uint8_t *counting_loop_model(size_t *size) {
  static const int32_t one_dim[] = {1};
  const float ten = 10.0f, one = 1.0f;
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, one_dim, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, one_dim, NULL, 0, "y");
  mb_field w[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  mb_op(m, TFL_OP_WHILE, 1, 1, &x, 1, &y, TFL_OPTS_WHILE, w);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  for (int g = 1; g <= 2; g++) {
    mb_subgraph(m, g == 1 ? "cond" : "body");
    int a = mb_tensor(m, TFL_FLOAT32, 1, one_dim, NULL, 0, "a");
    int c = mb_tensor(m, TFL_FLOAT32, 1, one_dim, g == 1 ? &ten : &one, 4, "c");
    int b = mb_tensor(m, g == 1 ? TFL_BOOL : TFL_FLOAT32, 1, one_dim, NULL, 0, "b");
    int in[2] = {a, c};
    if (g == 1)
      mb_op(m, TFL_OP_LESS, 1, 2, in, 1, &b, TFL_OPTS_LESS, NULL);
    else
      mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &b, TFL_OPTS_ADD, NULL);
    mb_inputs(m, 1, &a);
    mb_outputs(m, 1, &b);
  }
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

TEST(cancel_from_another_thread_stops_an_endless_loop) {
  size_t size;
  uint8_t *bytes = counting_loop_model(&size);
  tfl_model *m = NULL;
  char err[256] = "";
  REQUIRE(tfl_model_load_buffer(bytes, size, &m, err, sizeof(err)) == TFL_OK);
  tfl_interpreter *interp = make_interpreter(m, 1, err, sizeof(err));
  if (!interp) test_fail(__FILE__, __LINE__, "%s", err);
  REQUIRE(interp);
  float x = -1e30f, y = 0;
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(interp, 0), &x, 4) == TFL_OK);
  canceller c = {interp, NULL, 0, 20};
  CHECK_EQ_INT(invoke_while_cancelled(&c), TFL_CANCELLED);
  x = 0;
  REQUIRE(tfl_tensor_copy_from(tfl_interpreter_input(interp, 0), &x, 4) == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(interp), TFL_OK);
  CHECK_EQ_INT(tfl_tensor_copy_to(tfl_interpreter_output(interp, 0), &y, 4), TFL_OK);
  CHECK_NEAR(y, 10.0, 0);
  tfl_interpreter_free(interp);
  tfl_model_free(m);
  free(bytes);
}

/* --- no shared mutable state ------------------------------------------------------------ */

/* A symbol line of `objdump -t` for a data object in a writable section (.data, .bss,
 * thread-local or not); .data.rel.ro is read-only after relocation. */
static int writable_object(const char *line, char *name, size_t size) {
  char section[128];
  const char *o = strstr(line, " O ");
  if (!o || sscanf(o + 3, "%127s", section) != 1) return 0;
  int writable = (strncmp(section, ".data", 5) == 0 && strncmp(section, ".data.rel.ro", 12) != 0) ||
                 strncmp(section, ".bss", 4) == 0 || strncmp(section, ".tdata", 6) == 0 ||
                 strncmp(section, ".tbss", 5) == 0;
  const char *last = strrchr(line, ' ');
  snprintf(name, size, "%s %s", section, last ? last + 1 : "?");
  name[strcspn(name, "\n")] = '\0';
  return writable;
}

/* Every object file of libtfl.a (beside the tests/ folder this binary is in). Static state
 * would be shared by all interpreters, whatever the header promises. */
TEST(library_has_no_writable_static_data) {
  if (CONC_SANITIZED) {
    printf("  (sanitizer build: its instrumentation adds writable data; checked elsewhere)\n");
    return;
  }
  char exe[1024], cmd[1200];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  REQUIRE(n > 0);
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  REQUIRE(slash);
  *slash = '\0';
  snprintf(cmd, sizeof(cmd), "objdump -t '%s/../libtfl.a' 2>/dev/null", exe);
  FILE *p = popen(cmd, "r");
  REQUIRE(p);
  char line[1024], name[512];
  int objects = 0, writable = 0;
  while (fgets(line, sizeof(line), p)) {
    if (!strstr(line, " O ")) continue;
    objects++;
    if (writable_object(line, name, sizeof(name))) {
      writable++;
      test_fail(__FILE__, __LINE__, "writable static data in libtfl.a: %s", name);
    }
  }
  int rc = pclose(p);
  if (rc != 0 || objects == 0)
    test_fail(__FILE__, __LINE__, "objdump -t found no objects in libtfl.a (status %d)", rc);
  printf("  libtfl.a: %d data objects, %d writable\n", objects, writable);
}

int main(void) {
  RUN(one_model_many_interpreters_same_bytes);
  RUN(suite_models_many_interpreters_same_bytes);
  RUN(cancel_from_another_thread_stops_a_chain_of_ops);
  RUN(cancel_from_another_thread_stops_an_endless_loop);
  RUN(library_has_no_writable_static_data);
  return test_summary();
}
