/* WHILE, IF, CALL_ONCE and resource variables, with custom ops doing the arithmetic inside
 * the subgraphs so that these tests depend on no other builtin kernel. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

/* --- custom ops: "Inc" (x + 1), "Below10" (x < 10 -> bool), "Never" (false -> true forever) */

static tfl_status same_shape_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_tensor *in = tfl_node_input(ctx, node, 0);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), tfl_tensor_ndim(in),
                            tfl_tensor_dims(in));
}

static tfl_status inc_eval(tfl_context *ctx, tfl_node *node) {
  const float *x = tfl_tensor_data_const(tfl_node_input(ctx, node, 0));
  float *y = tfl_tensor_data(tfl_node_output(ctx, node, 0));
  size_t n = tfl_tensor_element_count(tfl_node_input(ctx, node, 0));
  for (size_t i = 0; i < n; i++) y[i] = x[i] + 1.0f;
  return TFL_OK;
}

static tfl_status scalar_bool_prepare(tfl_context *ctx, tfl_node *node) {
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), 0, NULL);
}

static tfl_status below10_eval(tfl_context *ctx, tfl_node *node) {
  const float *x = tfl_tensor_data_const(tfl_node_input(ctx, node, 0));
  *(uint8_t *)tfl_tensor_data(tfl_node_output(ctx, node, 0)) = x[0] < 10.0f;
  return TFL_OK;
}

static tfl_status always_eval(tfl_context *ctx, tfl_node *node) {
  *(uint8_t *)tfl_tensor_data(tfl_node_output(ctx, node, 0)) = 1;
  return TFL_OK;
}

static void add_custom(tfl_options *o, const char *name, tfl_status (*prepare)(tfl_context *, tfl_node *),
                       tfl_status (*eval)(tfl_context *, tfl_node *)) {
  tfl_op_registration r = {0};
  r.name = name;
  r.builtin_code = TFL_BUILTIN_CUSTOM;
  r.prepare = prepare;
  r.eval = eval;
  r.flags = TFL_OP_STATEFUL;
  tfl_options_add_op(o, &r);
}

static tfl_options *test_options(void) {
  tfl_options *o = tfl_options_create();
  add_custom(o, "Inc", same_shape_prepare, inc_eval);
  add_custom(o, "Below10", scalar_bool_prepare, below10_eval);
  add_custom(o, "Always", scalar_bool_prepare, always_eval);
  return o;
}

static const int32_t one[1] = {1};

/* main: y = WHILE(x) with cond = cond_op(x), body = Inc. body_index lets a test point the
 * body somewhere else (e.g. at subgraph 0, for recursion). */
static uint8_t *while_model(const char *cond_op, int body_index, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "y");
  mb_field opts[] = {MB_INT(0, 1), MB_INT(1, body_index), MB_FIELDS_END};
  mb_op(m, TFL_OP_WHILE, 1, 1, &x, 1, &y, TFL_OPTS_WHILE, opts);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  mb_subgraph(m, "cond");
  int cx = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "cx");
  int cb = mb_tensor(m, TFL_BOOL, 0, NULL, NULL, 0, "cb");
  mb_custom_op(m, cond_op, 1, &cx, 1, &cb, NULL, 0);
  mb_inputs(m, 1, &cx);
  mb_outputs(m, 1, &cb);
  mb_subgraph(m, "body");
  int bx = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "bx");
  int by = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "by");
  mb_custom_op(m, "Inc", 1, &bx, 1, &by, NULL, 0);
  mb_inputs(m, 1, &bx);
  mb_outputs(m, 1, &by);
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

typedef struct run {
  uint8_t *bytes;
  tfl_model *model;
  tfl_interpreter *interp;
  char err[512];
} run;

static tfl_status open_run(run *r, uint8_t *bytes, size_t size) {
  memset(r, 0, sizeof(*r));
  r->bytes = bytes;
  if (!bytes) return TFL_ERROR;
  tfl_status st = tfl_model_load_buffer(bytes, size, &r->model, r->err, sizeof(r->err));
  if (st != TFL_OK) return st;
  tfl_options *o = test_options();
  st = tfl_interpreter_create(r->model, o, &r->interp, r->err, sizeof(r->err));
  tfl_options_free(o);
  return st;
}

static void close_run(run *r) {
  tfl_interpreter_free(r->interp);
  tfl_model_free(r->model);
  free(r->bytes);
}

static float invoke_scalar(run *r, float x) {
  tfl_tensor_copy_from(tfl_interpreter_input(r->interp, 0), &x, sizeof(x));
  if (tfl_interpreter_invoke(r->interp) != TFL_OK) return -1000.0f;
  float y;
  tfl_tensor_copy_to(tfl_interpreter_output(r->interp, 0), &y, sizeof(y));
  return y;
}

TEST(while_counts_to_ten) {
  size_t size;
  uint8_t *bytes = while_model("Below10", 2, &size);
  run r;
  REQUIRE(open_run(&r, bytes, size) == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(r.interp) == TFL_OK);
  CHECK_NEAR(invoke_scalar(&r, 0.0f), 10.0, 0);
  CHECK_NEAR(invoke_scalar(&r, 7.5f), 10.5, 0);
  CHECK_NEAR(invoke_scalar(&r, 15.0f), 15.0, 0); /* the body never runs */
  close_run(&r);
}

TEST(while_recursion_is_an_error) {
  size_t size;
  uint8_t *bytes = while_model("Below10", 0, &size); /* body = the main graph itself */
  run r;
  tfl_status st = open_run(&r, bytes, size);
  if (st == TFL_OK) {
    st = tfl_interpreter_allocate_tensors(r.interp);
    CHECK(strstr(tfl_interpreter_error(r.interp), "recursive") != NULL);
  }
  CHECK(st != TFL_OK);
  close_run(&r);
}

static void *cancel_later(void *p) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  tfl_interpreter_cancel(p);
  return NULL;
}

TEST(endless_while_is_cancelled_from_another_thread) {
  size_t size;
  uint8_t *bytes = while_model("Always", 2, &size);
  run r;
  REQUIRE(open_run(&r, bytes, size) == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(r.interp) == TFL_OK);
  float x = 0.0f;
  tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 0), &x, sizeof(x));
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, cancel_later, r.interp) == 0);
  CHECK_EQ_INT(tfl_interpreter_invoke(r.interp), TFL_CANCELLED);
  pthread_join(t, NULL);
  close_run(&r);
}

TEST(if_picks_a_branch) {
  mb_model *m = mb_new();
  int c = mb_tensor(m, TFL_BOOL, 0, NULL, NULL, 0, "c");
  int x = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "y");
  int in[2] = {c, x};
  mb_field opts[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  mb_op(m, TFL_OP_IF, 1, 2, in, 1, &y, TFL_OPTS_IF, opts);
  mb_inputs(m, 2, in);
  mb_outputs(m, 1, &y);
  mb_subgraph(m, "then"); /* x + 2 */
  int tx = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "tx");
  int t1 = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "t1");
  int t2 = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "t2");
  mb_custom_op(m, "Inc", 1, &tx, 1, &t1, NULL, 0);
  mb_custom_op(m, "Inc", 1, &t1, 1, &t2, NULL, 0);
  mb_inputs(m, 1, &tx);
  mb_outputs(m, 1, &t2);
  mb_subgraph(m, "else"); /* x + 1 */
  int ex = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "ex");
  int e1 = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "e1");
  mb_custom_op(m, "Inc", 1, &ex, 1, &e1, NULL, 0);
  mb_inputs(m, 1, &ex);
  mb_outputs(m, 1, &e1);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  run r;
  REQUIRE(open_run(&r, bytes, size) == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(r.interp) == TFL_OK);
  for (int cond = 0; cond <= 1; cond++) {
    uint8_t cv = (uint8_t)cond;
    float xv = 5.0f, yv = 0.0f;
    tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 0), &cv, 1);
    tfl_tensor_copy_from(tfl_interpreter_input(r.interp, 1), &xv, sizeof(xv));
    REQUIRE(tfl_interpreter_invoke(r.interp) == TFL_OK);
    tfl_tensor_copy_to(tfl_interpreter_output(r.interp, 0), &yv, sizeof(yv));
    CHECK_NEAR(yv, cond ? 7.0 : 6.0, 0);
  }
  close_run(&r);
}

/* main: CALL_ONCE(init) ; v = READ(h) ; w = Inc(v) ; ASSIGN(h, w) ; y = w
 * init: ASSIGN(h, 100). The variable persists across invokes until reset. */
static uint8_t *counter_model(size_t *size) {
  mb_model *m = mb_new();
  mb_field call_once[] = {MB_INT(0, 1), MB_FIELDS_END};
  mb_field var[] = {MB_STR(0, "c"), MB_STR(1, "counter"), MB_FIELDS_END};
  int h = mb_tensor(m, TFL_RESOURCE, 0, NULL, NULL, 0, "h");
  int v = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "v");
  int w = mb_tensor(m, TFL_FLOAT32, 1, one, NULL, 0, "w");
  mb_op(m, TFL_OP_CALL_ONCE, 1, 0, NULL, 0, NULL, TFL_OPTS_CALL_ONCE, call_once);
  mb_op(m, TFL_OP_VAR_HANDLE, 1, 0, NULL, 1, &h, TFL_OPTS_VAR_HANDLE, var);
  mb_op(m, TFL_OP_READ_VARIABLE, 1, 1, &h, 1, &v, 0, NULL);
  mb_custom_op(m, "Inc", 1, &v, 1, &w, NULL, 0);
  int hw[2] = {h, w};
  mb_op(m, TFL_OP_ASSIGN_VARIABLE, 1, 2, hw, 0, NULL, 0, NULL);
  mb_outputs(m, 1, &w);
  mb_subgraph(m, "init");
  const float start = 100.0f;
  int ih = mb_tensor(m, TFL_RESOURCE, 0, NULL, NULL, 0, "ih");
  int k = mb_tensor(m, TFL_FLOAT32, 1, one, &start, sizeof(start), "k");
  mb_op(m, TFL_OP_VAR_HANDLE, 1, 0, NULL, 1, &ih, TFL_OPTS_VAR_HANDLE, var);
  int ik[2] = {ih, k};
  mb_op(m, TFL_OP_ASSIGN_VARIABLE, 1, 2, ik, 0, NULL, 0, NULL);
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

static float invoke_counter(run *r) {
  float y = -1.0f;
  if (tfl_interpreter_invoke(r->interp) != TFL_OK) return -1000.0f;
  tfl_tensor_copy_to(tfl_interpreter_output(r->interp, 0), &y, sizeof(y));
  return y;
}

TEST(variables_persist_across_invokes_and_reset) {
  size_t size;
  uint8_t *bytes = counter_model(&size);
  run r;
  tfl_status st = open_run(&r, bytes, size);
  if (st != TFL_OK) fprintf(stderr, "%s\n", r.err);
  REQUIRE(st == TFL_OK);
  st = tfl_interpreter_allocate_tensors(r.interp);
  if (st != TFL_OK) fprintf(stderr, "%s\n", tfl_interpreter_error(r.interp));
  REQUIRE(st == TFL_OK);
  CHECK_NEAR(invoke_counter(&r), 101.0, 0);
  CHECK_NEAR(invoke_counter(&r), 102.0, 0);
  CHECK_NEAR(invoke_counter(&r), 103.0, 0);
  CHECK_EQ_INT(tfl_interpreter_reset_variables(r.interp), TFL_OK);
  CHECK_NEAR(invoke_counter(&r), 101.0, 0);
  close_run(&r);
}

int main(void) {
  RUN(while_counts_to_ten);
  RUN(while_recursion_is_an_error);
  RUN(endless_while_is_cancelled_from_another_thread);
  RUN(if_picks_a_branch);
  RUN(variables_persist_across_invokes_and_reset);
  return test_summary();
}
