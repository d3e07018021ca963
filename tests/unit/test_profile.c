/* Per-node profiling (tfl_interpreter_set_profiling / tfl_interpreter_node_time_ns), with
 * custom ops whose run time is known: "Spin" busy-waits a fixed time, "Copy" copies. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

#define SPIN_NS 200000u

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static tfl_status same_shape_prepare(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), tfl_tensor_ndim(in),
                            tfl_tensor_dims(in));
}

static tfl_status copy_eval(tfl_context *ctx, tfl_node *node) {
  const tfl_tensor *in = tfl_node_input(ctx, node, 0);
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  memcpy(tfl_tensor_data(out), tfl_tensor_data_const(in), tfl_tensor_byte_size(in));
  return TFL_OK;
}

static tfl_status spin_eval(tfl_context *ctx, tfl_node *node) {
  uint64_t start = now_ns();
  while (now_ns() - start < SPIN_NS) {
  }
  return copy_eval(ctx, node);
}

static tfl_op_registration op(const char *name, tfl_status (*eval)(tfl_context *, tfl_node *)) {
  tfl_op_registration r = {0};
  r.name = name;
  r.builtin_code = TFL_BUILTIN_CUSTOM;
  r.prepare = same_shape_prepare;
  r.eval = eval;
  return r;
}

/* node 0: Spin(x) -> a; node 1: Copy(constant) -> b (folded); node 2: Copy(a) -> y. */
static uint8_t *profile_model(size_t *size) {
  static const int32_t dims[] = {4};
  static const float k[4] = {1, 2, 3, 4};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, "x");
  int a = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, "a");
  int c = mb_tensor(m, TFL_FLOAT32, 1, dims, k, sizeof k, "c");
  int b = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, "b");
  int y = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, "y");
  mb_custom_op(m, "Spin", 1, &x, 1, &a, NULL, 0);
  mb_custom_op(m, "Copy", 1, &c, 1, &b, NULL, 0);
  mb_custom_op(m, "Copy", 1, &a, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  const int outs[2] = {y, b};
  mb_outputs(m, 2, outs);
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

typedef struct fixture {
  uint8_t *bytes;
  tfl_model *model;
  tfl_interpreter *interp;
} fixture;

static int setup(fixture *f) {
  memset(f, 0, sizeof *f);
  size_t size;
  f->bytes = profile_model(&size);
  if (!f->bytes || tfl_model_load_buffer(f->bytes, size, &f->model, NULL, 0) != TFL_OK) return 0;
  tfl_options *o = tfl_options_create();
  tfl_op_registration spin = op("Spin", spin_eval), copy = op("Copy", copy_eval);
  tfl_options_add_op(o, &spin);
  tfl_options_add_op(o, &copy);
  tfl_status st = tfl_interpreter_create(f->model, o, &f->interp, NULL, 0);
  tfl_options_free(o);
  return st == TFL_OK && tfl_interpreter_allocate_tensors(f->interp) == TFL_OK;
}

static void teardown(fixture *f) {
  tfl_interpreter_free(f->interp);
  tfl_model_free(f->model);
  free(f->bytes);
}

TEST(times_every_node_that_runs) {
  fixture f;
  REQUIRE(setup(&f));
  CHECK(tfl_interpreter_node_is_folded(f.interp, 1));
  REQUIRE(tfl_interpreter_set_profiling(f.interp, 1) == TFL_OK);
  for (int i = 0; i < 3; i++) REQUIRE(tfl_interpreter_invoke(f.interp) == TFL_OK);
  uint64_t total, count;
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 0, &total, &count), TFL_OK);
  CHECK_EQ_INT(count, 3);
  CHECK(total >= 3 * (uint64_t)SPIN_NS);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 1, &total, &count), TFL_OK);
  CHECK_EQ_INT(count, 0); /* folded: computed at allocation, never during invoke */
  CHECK_EQ_INT(total, 0);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 2, &total, &count), TFL_OK);
  CHECK_EQ_INT(count, 3);
  CHECK(total < 3 * (uint64_t)SPIN_NS); /* a 16-byte copy */
  teardown(&f);
}

TEST(enabling_again_clears_and_disabling_stops) {
  fixture f;
  REQUIRE(setup(&f));
  uint64_t total, count;
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 0, &total, &count), TFL_NOT_READY);
  REQUIRE(tfl_interpreter_set_profiling(f.interp, 1) == TFL_OK);
  REQUIRE(tfl_interpreter_invoke(f.interp) == TFL_OK);
  REQUIRE(tfl_interpreter_set_profiling(f.interp, 1) == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 0, &total, &count), TFL_OK);
  CHECK_EQ_INT(count, 0);
  CHECK_EQ_INT(total, 0);
  REQUIRE(tfl_interpreter_set_profiling(f.interp, 0) == TFL_OK);
  REQUIRE(tfl_interpreter_invoke(f.interp) == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 0, &total, &count), TFL_NOT_READY);
  teardown(&f);
}

TEST(bad_arguments) {
  fixture f;
  REQUIRE(setup(&f));
  uint64_t total, count;
  CHECK_EQ_INT(tfl_interpreter_set_profiling(NULL, 1), TFL_INVALID_ARGUMENT);
  REQUIRE(tfl_interpreter_set_profiling(f.interp, 1) == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, -1, &total, &count), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 3, &total, &count), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(f.interp, 0, NULL, &count), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_interpreter_node_time_ns(NULL, 0, &total, &count), TFL_INVALID_ARGUMENT);
  teardown(&f); /* frees the counters with the interpreter (checked under ASan) */
}

int main(void) {
  RUN(times_every_node_that_runs);
  RUN(enabling_again_clears_and_disabling_stops);
  RUN(bad_arguments);
  return test_summary();
}
