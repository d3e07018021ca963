/* The interpreter and its planner, exercised with custom ops registered from outside the
 * library (so these tests depend on no builtin kernel). */
#include <stdlib.h>
#include <string.h>

#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

/* --- custom ops used by the tests ----------------------------------------------------- */

typedef struct op_stats {
  int evals;
  int inits;
  int frees;
  tfl_interpreter *cancel_target; /* if set, the op cancels this interpreter when it runs */
} op_stats;

/* out = sum of all inputs (same shapes) * scale, where scale is 2 for "Double", 1 for "Sum". */
static tfl_status sum_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_tensor *in0 = tfl_node_input(ctx, node, 0);
  if (!in0) return tfl_context_error(ctx, node, "needs an input");
  for (int i = 1; i < node->num_inputs; i++) {
    const tfl_tensor *in = tfl_node_input(ctx, node, i);
    if (tfl_tensor_element_count(in) != tfl_tensor_element_count(in0))
      return tfl_context_error(ctx, node, "input sizes differ");
  }
  int scratch;
  tfl_status st = tfl_context_request_scratch(ctx, node, 64, &scratch);
  if (st != TFL_OK) return st;
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), tfl_tensor_ndim(in0),
                            tfl_tensor_dims(in0));
}

static float op_scale(const tfl_node *node) {
  return strcmp(node->registration->name, "Double") == 0 ? 2.0f : 1.0f;
}

static tfl_status sum_eval(tfl_context *ctx, tfl_node *node) {
  op_stats *stats = node->registration->op_user_data;
  if (stats) {
    stats->evals++;
    if (stats->cancel_target) tfl_interpreter_cancel(stats->cancel_target);
  }
  tfl_tensor *out = tfl_node_output(ctx, node, 0);
  float *o = tfl_tensor_data(out);
  float *scratch = tfl_context_scratch(ctx, node, 0);
  if (!o || !scratch) return tfl_context_error(ctx, node, "no memory planned");
  scratch[0] = 1.0f; /* the scratch buffer must be writable */
  size_t n = tfl_tensor_element_count(out);
  for (size_t k = 0; k < n; k++) {
    float acc = 0.0f;
    for (int i = 0; i < node->num_inputs; i++)
      acc += ((const float *)tfl_tensor_data_const(tfl_node_input(ctx, node, i)))[k];
    o[k] = acc * op_scale(node);
  }
  return TFL_OK;
}

static void *counting_init(tfl_context *ctx, const tfl_node *node, void *op_user_data) {
  op_stats *stats = op_user_data;
  stats->inits++;
  return stats;
}

static void counting_free(tfl_context *ctx, void *data, void *op_user_data) {
  ((op_stats *)op_user_data)->frees++;
}

static tfl_op_registration custom_op(const char *name, op_stats *stats) {
  tfl_op_registration r = {0};
  r.name = name;
  r.builtin_code = TFL_BUILTIN_CUSTOM;
  r.prepare = sum_prepare;
  r.eval = sum_eval;
  r.op_user_data = stats;
  if (stats) {
    r.init = counting_init;
    r.free = counting_free;
  }
  return r;
}

/* --- helpers ------------------------------------------------------------------------- */

static const int32_t vec4[] = {4};

/* x -> Double -> y: one custom op. */
static uint8_t *double_model(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "y");
  mb_custom_op(m, "Double", 1, &x, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  uint8_t *buf = mb_finish(m, size);
  mb_free(m);
  return buf;
}

typedef struct loaded {
  uint8_t *bytes;
  tfl_model *model;
  tfl_interpreter *interp;
  char err[512];
} loaded;

static tfl_status load(loaded *l, uint8_t *bytes, size_t size, const tfl_options *opts) {
  memset(l, 0, sizeof(*l));
  l->bytes = bytes;
  if (!bytes) return TFL_ERROR;
  tfl_status st = tfl_model_load_buffer(bytes, size, &l->model, l->err, sizeof(l->err));
  if (st != TFL_OK) return st;
  return tfl_interpreter_create(l->model, opts, &l->interp, l->err, sizeof(l->err));
}

static void unload(loaded *l) {
  tfl_interpreter_free(l->interp);
  tfl_model_free(l->model);
  free(l->bytes);
}

static tfl_options *options_with(const char *name, op_stats *stats) {
  tfl_options *o = tfl_options_create();
  tfl_op_registration r = custom_op(name, stats);
  tfl_options_add_op(o, &r);
  return o;
}

static void set_input(tfl_interpreter *interp, int i, const float *v, size_t n) {
  tfl_tensor_copy_from(tfl_interpreter_input(interp, i), v, n * sizeof(float));
}

/* --- tests --------------------------------------------------------------------------- */

TEST(custom_op_registered_from_outside_runs) {
  op_stats stats = {0};
  tfl_options *o = options_with("Double", &stats);
  size_t size;
  loaded l;
  uint8_t *bytes = double_model(&size);
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  CHECK_EQ_INT(stats.inits, 1);
  CHECK_EQ_INT(tfl_interpreter_allocate_tensors(l.interp), TFL_OK);
  const float x[4] = {1, -2, 3.5f, 0};
  set_input(l.interp, 0, x, 4);
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_OK);
  const float *y = tfl_tensor_data_const(tfl_interpreter_output(l.interp, 0));
  REQUIRE(y);
  CHECK_NEAR(y[0], 2.0, 0);
  CHECK_NEAR(y[1], -4.0, 0);
  CHECK_NEAR(y[2], 7.0, 0);
  CHECK_NEAR(y[3], 0.0, 0);
  CHECK_EQ_INT(stats.evals, 1);
  unload(&l);
  CHECK_EQ_INT(stats.frees, 1);
}

TEST(unresolved_custom_op_is_named_at_create) {
  size_t size;
  loaded l;
  uint8_t *bytes = double_model(&size);
  tfl_status st = load(&l, bytes, size, NULL);
  CHECK_EQ_INT(st, TFL_UNSUPPORTED);
  CHECK(l.interp == NULL);
  CHECK(strstr(l.err, "Double") != NULL);
  CHECK(strstr(l.err, "node 0") != NULL);
  unload(&l);
}

TEST(invoke_before_allocate_is_not_ready) {
  tfl_options *o = options_with("Double", NULL);
  size_t size;
  loaded l;
  uint8_t *bytes = double_model(&size);
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_NOT_READY);
  CHECK(strlen(tfl_interpreter_error(l.interp)) > 0);
  unload(&l);
}

TEST(resize_input_then_reallocate) {
  tfl_options *o = options_with("Double", NULL);
  size_t size;
  loaded l;
  uint8_t *bytes = double_model(&size);
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
  const int32_t dims[2] = {2, 3};
  CHECK_EQ_INT(tfl_interpreter_resize_input(l.interp, 0, 2, dims), TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_NOT_READY);
  REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  CHECK_EQ_INT(tfl_tensor_copy_from(tfl_interpreter_input(l.interp, 0), x, sizeof(x)), TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_OK);
  const tfl_tensor *out = tfl_interpreter_output(l.interp, 0);
  CHECK_EQ_INT(tfl_tensor_ndim(out), 2);
  CHECK_EQ_INT(tfl_tensor_dim(out, 1), 3);
  float y[6];
  CHECK_EQ_INT(tfl_tensor_copy_to(out, y, sizeof(y)), TFL_OK);
  CHECK_NEAR(y[5], 12.0, 0);
  /* copies of the wrong size are refused */
  CHECK_EQ_INT(tfl_tensor_copy_to(out, y, 4), TFL_INVALID_ARGUMENT);
  CHECK_EQ_INT(tfl_interpreter_resize_input(l.interp, 5, 2, dims), TFL_INVALID_ARGUMENT);
  const int32_t bad[1] = {-1};
  CHECK(tfl_interpreter_resize_input(l.interp, 0, 1, bad) != TFL_OK);
  unload(&l);
}

TEST(operators_out_of_order_are_rejected) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int a = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "a");
  int b = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "b");
  mb_custom_op(m, "Double", 1, &a, 1, &b, NULL, 0); /* reads a before it is written */
  mb_custom_op(m, "Double", 1, &x, 1, &a, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &b);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Double", NULL);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  CHECK_EQ_INT(st, TFL_INVALID_MODEL);
  CHECK(strstr(l.err, "order") != NULL);
  unload(&l);
}

TEST(writing_a_graph_input_is_rejected) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  mb_custom_op(m, "Double", 1, &x, 1, &x, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &x);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Double", NULL);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  CHECK_EQ_INT(st, TFL_INVALID_MODEL);
  unload(&l);
}

/* A random DAG of Sum ops over tensors of random sizes: checks that tensors alive at the same
 * time never share arena bytes, and that the results equal an independent evaluation. */
TEST(planner_never_overlaps_live_tensors) {
  for (uint32_t seed = 1; seed <= 20; seed++) {
    uint32_t s = seed;
    enum { N_OPS = 24 };
    mb_model *m = mb_new();
    int tensor[N_OPS + 2];
    int32_t dims[1];
    int n_t = 0;
    for (int i = 0; i < 2; i++) { /* two graph inputs of one length */
      dims[0] = 8;
      tensor[n_t] = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, NULL);
      n_t++;
    }
    mb_inputs(m, 2, tensor);
    /* expected values: element k of tensor t is val[t] * (k + 1) for the inputs we feed */
    double val[N_OPS + 2] = {1.0, 0.5};
    for (int op = 0; op < N_OPS; op++) {
      int a = (int)(ck_lcg(&s) % (uint32_t)n_t), b = (int)(ck_lcg(&s) % (uint32_t)n_t);
      int in[2] = {tensor[a], tensor[b]};
      dims[0] = 8;
      tensor[n_t] = mb_tensor(m, TFL_FLOAT32, 1, dims, NULL, 0, NULL);
      mb_custom_op(m, "Sum", 2, in, 1, &tensor[n_t], NULL, 0);
      val[n_t] = val[a] + val[b];
      n_t++;
    }
    int outs[3] = {tensor[n_t - 1], tensor[n_t - 5], tensor[n_t / 2]};
    mb_outputs(m, 3, outs);
    size_t size;
    uint8_t *bytes = mb_finish(m, &size);
    mb_free(m);
    tfl_options *o = options_with("Sum", NULL);
    loaded l;
    tfl_status st = load(&l, bytes, size, o);
    tfl_options_free(o);
    REQUIRE(st == TFL_OK);
    REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
    size_t arena = tfl_interpreter_arena_size(l.interp);
    int nt = tfl_interpreter_tensor_count(l.interp);
    size_t sum_all = 0;
    for (int i = 0; i < nt; i++) {
      tfl_tensor_plan pi;
      REQUIRE(tfl_interpreter_tensor_plan(l.interp, i, &pi) == TFL_OK);
      if (pi.kind != TFL_MEMORY_ARENA) continue;
      sum_all += pi.bytes;
      CHECK(pi.offset + pi.bytes <= arena);
      for (int j = i + 1; j < nt; j++) {
        tfl_tensor_plan pj;
        tfl_interpreter_tensor_plan(l.interp, j, &pj);
        if (pj.kind != TFL_MEMORY_ARENA) continue;
        int live_together = pi.first_node <= pj.last_node && pj.first_node <= pi.last_node;
        int overlap = pi.offset < pj.offset + pj.bytes && pj.offset < pi.offset + pi.bytes;
        if (live_together && overlap) {
          CHECK(!(live_together && overlap));
          break;
        }
      }
    }
    CHECK(arena < sum_all * 64); /* 64-byte alignment of 32-byte tensors at most doubles */
    float x0[8], x1[8];
    for (int k = 0; k < 8; k++) {
      x0[k] = (float)(k + 1);
      x1[k] = 0.5f * (float)(k + 1);
    }
    set_input(l.interp, 0, x0, 8);
    set_input(l.interp, 1, x1, 8);
    REQUIRE(tfl_interpreter_invoke(l.interp) == TFL_OK);
    for (int oi = 0; oi < 3; oi++) {
      int t = outs[oi];
      const float *y = tfl_tensor_data_const(tfl_interpreter_output(l.interp, oi));
      CHECK_NEAR(y[7], val[t] * 8.0, 1e-3 * val[t] * 8.0);
    }
    unload(&l);
  }
}

/* x -> Double -> a -> Double -> b: x's memory could be reused for b, but an input must still
 * hold what the caller wrote after invoke (TFLite keeps inputs intact). */
TEST(inputs_survive_invoke) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int a = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "a");
  int b = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "b");
  int c = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "c");
  mb_custom_op(m, "Double", 1, &x, 1, &a, NULL, 0);
  mb_custom_op(m, "Double", 1, &a, 1, &b, NULL, 0);
  mb_custom_op(m, "Double", 1, &b, 1, &c, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &c);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Double", NULL);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
  const float xv[4] = {1, 2, 3, 4};
  set_input(l.interp, 0, xv, 4);
  for (int rep = 0; rep < 2; rep++) {
    REQUIRE(tfl_interpreter_invoke(l.interp) == TFL_OK);
    const float *in = tfl_tensor_data_const(tfl_interpreter_input(l.interp, 0));
    const float *out = tfl_tensor_data_const(tfl_interpreter_output(l.interp, 0));
    CHECK_NEAR(in[3], 4.0, 0);
    CHECK_NEAR(out[3], 32.0, 0);
  }
  unload(&l);
}

/* x -> Double -> a -> Double -> b -> Double -> c -> Double -> d: a's bytes serve c by
 * default; preserving all tensors, every intermediate keeps its value after invoke. */
TEST(preserve_all_tensors_keeps_intermediates) {
  mb_model *m = mb_new();
  int t[5];
  for (int i = 0; i < 5; i++) t[i] = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, NULL);
  for (int i = 0; i < 4; i++) mb_custom_op(m, "Double", 1, &t[i], 1, &t[i + 1], NULL, 0);
  mb_inputs(m, 1, &t[0]);
  mb_outputs(m, 1, &t[4]);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  size_t arena[2] = {0, 0};
  for (int preserve = 0; preserve < 2; preserve++) {
    tfl_options *o = options_with("Double", NULL);
    REQUIRE(tfl_options_set_preserve_all_tensors(o, preserve) == TFL_OK);
    loaded l;
    tfl_status st = load(&l, preserve ? bytes : (uint8_t *)memcpy(malloc(size), bytes, size),
                         size, o);
    tfl_options_free(o);
    REQUIRE(st == TFL_OK);
    REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
    arena[preserve] = tfl_interpreter_arena_size(l.interp);
    const float xv[4] = {1, 2, 3, 4};
    set_input(l.interp, 0, xv, 4);
    REQUIRE(tfl_interpreter_invoke(l.interp) == TFL_OK);
    for (int i = 0; preserve && i < 5; i++) {
      const float *v = tfl_tensor_data_const(tfl_interpreter_tensor(l.interp, t[i]));
      for (int k = 0; k < 4; k++) CHECK_NEAR(v[k], (double)(k + 1) * (double)(1 << i), 0);
    }
    unload(&l);
  }
  CHECK(arena[0] < arena[1]);
  CHECK(arena[1] >= 5 * 4 * sizeof(float));
  CHECK_EQ_INT(tfl_options_set_preserve_all_tensors(NULL, 1), TFL_INVALID_ARGUMENT);
}

/* A hostile file's shape: tens of thousands of graph inputs, all alive for the whole graph,
 * read by a long chain of Sum ops. Planning it used to sort every placed buffer again for each
 * new one (tens of seconds), and telling graph inputs apart scanned the input list for every tensor.
 * Allocation and invoke must simply complete; test_planner bounds the planner's work, so no
 * clock is involved here. */
TEST(tens_of_thousands_of_inputs_allocate) {
  enum { N_INPUTS = 60000, N_CHAIN = 3000 };
  int *inputs = malloc(N_INPUTS * sizeof(int));
  REQUIRE(inputs);
  mb_model *m = mb_new();
  for (int i = 0; i < N_INPUTS; i++) inputs[i] = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, NULL);
  mb_inputs(m, N_INPUTS, inputs);
  int prev = inputs[0];
  for (int k = 1; k <= N_CHAIN; k++) {
    const int in[2] = {prev, inputs[k]};
    prev = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, NULL);
    mb_custom_op(m, "Sum", 2, in, 1, &prev, NULL, 0);
  }
  mb_outputs(m, 1, &prev);
  free(inputs);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Sum", NULL);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
  /* every input alive together: at least their bytes, and the chain reuses its own */
  const size_t arena = tfl_interpreter_arena_size(l.interp);
  CHECK(arena >= (size_t)N_INPUTS * 64);
  CHECK(arena < (size_t)(N_INPUTS + 4) * 64 + (size_t)N_CHAIN * 64);
  const float one[4] = {1, 1, 1, 1};
  for (int i = 0; i <= N_CHAIN; i++) set_input(l.interp, i, one, 4);
  REQUIRE(tfl_interpreter_invoke(l.interp) == TFL_OK);
  const float *y = tfl_tensor_data_const(tfl_interpreter_output(l.interp, 0));
  REQUIRE(y);
  CHECK_NEAR(y[3], N_CHAIN + 1.0, 0);
  unload(&l);
}

TEST(constant_inputs_are_folded_once) {
  op_stats stats = {0};
  mb_model *m = mb_new();
  const float c[4] = {1, 2, 3, 4};
  int k = mb_tensor(m, TFL_FLOAT32, 1, vec4, c, sizeof(c), "k");
  int k2 = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "k2");
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "y");
  mb_custom_op(m, "Double", 1, &k, 1, &k2, NULL, 0); /* all-constant: folded */
  int in[2] = {x, k2};
  mb_custom_op(m, "Sum", 2, in, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = tfl_options_create();
  tfl_op_registration d = custom_op("Double", &stats), sum = custom_op("Sum", NULL);
  tfl_options_add_op(o, &d);
  tfl_options_add_op(o, &sum);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  st = tfl_interpreter_allocate_tensors(l.interp);
  if (st != TFL_OK) fprintf(stderr, "%s\n", tfl_interpreter_error(l.interp));
  REQUIRE(st == TFL_OK);
  CHECK(tfl_interpreter_node_is_folded(l.interp, 0));
  CHECK(!tfl_interpreter_node_is_folded(l.interp, 1));
  const float xv[4] = {10, 20, 30, 40};
  for (int rep = 0; rep < 3; rep++) {
    set_input(l.interp, 0, xv, 4);
    REQUIRE(tfl_interpreter_invoke(l.interp) == TFL_OK);
  }
  CHECK_EQ_INT(stats.evals, 1);
  const float *yv = tfl_tensor_data_const(tfl_interpreter_output(l.interp, 0));
  CHECK_NEAR(yv[3], 48.0, 0);
  unload(&l);
}

TEST(cancel_stops_invoke_at_an_op_boundary) {
  op_stats stats = {0};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int a = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "a");
  int b = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "b");
  mb_custom_op(m, "Double", 1, &x, 1, &a, NULL, 0);
  mb_custom_op(m, "Double", 1, &a, 1, &b, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &b);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Double", &stats);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  REQUIRE(tfl_interpreter_allocate_tensors(l.interp) == TFL_OK);
  stats.cancel_target = l.interp;
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_CANCELLED);
  CHECK_EQ_INT(stats.evals, 1); /* the second op never ran */
  stats.cancel_target = NULL;
  CHECK_EQ_INT(tfl_interpreter_invoke(l.interp), TFL_OK);
  CHECK_EQ_INT(stats.evals, 3);
  unload(&l);
}

static int callback_calls;
static void on_error(void *user, const char *msg) {
  (void)user;
  if (msg && msg[0]) callback_calls++;
}

TEST(arena_limit_and_error_callback) {
  mb_model *m = mb_new();
  const int32_t big[1] = {1 << 20};
  int x = mb_tensor(m, TFL_FLOAT32, 1, big, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, big, NULL, 0, "y");
  mb_custom_op(m, "Double", 1, &x, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = options_with("Double", NULL);
  tfl_options_set_limits(o, 1 << 20, 0);
  tfl_options_set_error_callback(o, on_error, NULL);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  callback_calls = 0;
  CHECK_EQ_INT(tfl_interpreter_allocate_tensors(l.interp), TFL_LIMIT_EXCEEDED);
  CHECK(strstr(tfl_interpreter_error(l.interp), "limit") != NULL);
  CHECK_EQ_INT(callback_calls, 1);
  unload(&l);
}

/* --- names from the file in messages ---------------------------------------------------- */

/* Kernels quote names as they are; the runtime quotes them too (here: resizing a constant). */
static tfl_status quote_prepare(tfl_context *ctx, tfl_node *node) {
  tfl_tensor *in = tfl_node_input(ctx, node, 0);
  if (tfl_tensor_is_constant(in)) {
    const int32_t dims[1] = {5};
    return tfl_context_resize(ctx, in, 1, dims);
  }
  return tfl_context_error(ctx, node, "cannot use '%s' here", tfl_tensor_name(in));
}

static char last_callback_msg[1024];
static void keep_error(void *user, const char *msg) {
  (void)user;
  snprintf(last_callback_msg, sizeof(last_callback_msg), "%s", msg);
}

/* The error of allocating x -> Quote -> y with x named `name` (constant when `constant`). */
static void quote_error(const char *name, int constant, char *msg, size_t size) {
  static const float data[4] = {0};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, constant ? data : NULL, constant ? sizeof(data) : 0,
                    name);
  int y = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "y");
  mb_custom_op(m, "Quote", 1, &x, 1, &y, NULL, 0);
  if (!constant) mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  size_t bytes_size;
  uint8_t *bytes = mb_finish(m, &bytes_size);
  mb_free(m);
  tfl_options *o = tfl_options_create();
  tfl_op_registration r = custom_op("Quote", NULL);
  r.prepare = quote_prepare;
  tfl_options_add_op(o, &r);
  tfl_options_set_error_callback(o, keep_error, NULL);
  loaded l;
  tfl_status st = load(&l, bytes, bytes_size, o);
  tfl_options_free(o);
  msg[0] = '\0';
  if (st == TFL_OK && tfl_interpreter_allocate_tensors(l.interp) != TFL_OK)
    snprintf(msg, size, "%s", tfl_interpreter_error(l.interp));
  CHECK_EQ_INT(st, TFL_OK);
  CHECK(strcmp(msg, last_callback_msg) == 0);
  unload(&l);
}

static int printable_line(const char *msg) {
  for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return 0;
  return msg[0] != '\0';
}

TEST(names_from_the_file_keep_messages_on_one_line) {
  char msg[1024];
  quote_error("in\nput\x1b[31m\t", 0, msg, sizeof(msg));
  CHECK(printable_line(msg));
  CHECK(strstr(msg, "cannot use 'in\\x0aput\\x1b[31m\\x09' here") != NULL);
  /* a long name is cut where the runtime quotes it, so that the message's point survives */
  char long_name[400];
  memset(long_name, 'n', 300);
  strcpy(long_name + 300, "\r\nEND");
  quote_error(long_name, 1, msg, sizeof(msg));
  CHECK(printable_line(msg));
  CHECK(strstr(msg, "...' is constant or a variable and cannot change shape") != NULL);
  CHECK(strstr(msg, "END") == NULL);
  /* the loader's messages too */
  mb_model *m = mb_new();
  const int32_t bad[1] = {-1};
  int x = mb_tensor(m, TFL_FLOAT32, 1, bad, NULL, 0, "bad\nname");
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &x);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_model *model = NULL;
  REQUIRE(bytes);
  CHECK(tfl_model_load_buffer(bytes, size, &model, msg, sizeof(msg)) != TFL_OK);
  CHECK(printable_line(msg));
  CHECK(strstr(msg, "'bad\\x0aname'") != NULL);
  tfl_model_free(model);
  free(bytes);
}

TEST(signatures_run_their_own_subgraph) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "y");
  mb_custom_op(m, "Double", 1, &x, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  mb_subgraph(m, "add");
  int p = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "p");
  int q = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "q");
  int r = mb_tensor(m, TFL_FLOAT32, 1, vec4, NULL, 0, "r");
  int pq[2] = {p, q};
  mb_custom_op(m, "Sum", 2, pq, 1, &r, NULL, 0);
  mb_inputs(m, 2, pq);
  mb_outputs(m, 1, &r);
  const char *in_d[] = {"in"}, *out_d[] = {"out"};
  mb_signature(m, "double", 0, 1, in_d, &x, 1, out_d, &y);
  const char *in_s[] = {"a", "b"}, *out_s[] = {"sum"};
  mb_signature(m, "sum", 1, 2, in_s, pq, 1, out_s, &r);
  size_t size;
  uint8_t *bytes = mb_finish(m, &size);
  mb_free(m);
  tfl_options *o = tfl_options_create();
  tfl_op_registration d = custom_op("Double", NULL), s = custom_op("Sum", NULL);
  tfl_options_add_op(o, &d);
  tfl_options_add_op(o, &s);
  loaded l;
  tfl_status st = load(&l, bytes, size, o);
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  CHECK_EQ_INT(tfl_interpreter_signature_count(l.interp), 2);
  CHECK(strcmp(tfl_interpreter_signature_key(l.interp, 1), "sum") == 0);
  CHECK(tfl_interpreter_signature(l.interp, "nope") == NULL);
  tfl_signature *sig = tfl_interpreter_signature(l.interp, "sum");
  REQUIRE(sig);
  CHECK_EQ_INT(tfl_signature_input_count(sig), 2);
  CHECK(strcmp(tfl_signature_output_name(sig, 0), "sum") == 0);
  REQUIRE(tfl_signature_allocate_tensors(sig) == TFL_OK);
  const float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40};
  CHECK_EQ_INT(tfl_tensor_copy_from(tfl_signature_input(sig, "a"), a, sizeof(a)), TFL_OK);
  CHECK_EQ_INT(tfl_tensor_copy_from(tfl_signature_input(sig, "b"), b, sizeof(b)), TFL_OK);
  REQUIRE(tfl_signature_invoke(sig) == TFL_OK);
  const float *out = tfl_tensor_data_const(tfl_signature_output(sig, "sum"));
  CHECK_NEAR(out[2], 33.0, 0);
  CHECK(tfl_signature_input(sig, "zzz") == NULL);
  unload(&l);
}

int main(void) {
  RUN(custom_op_registered_from_outside_runs);
  RUN(unresolved_custom_op_is_named_at_create);
  RUN(invoke_before_allocate_is_not_ready);
  RUN(resize_input_then_reallocate);
  RUN(operators_out_of_order_are_rejected);
  RUN(writing_a_graph_input_is_rejected);
  RUN(planner_never_overlaps_live_tensors);
  RUN(inputs_survive_invoke);
  RUN(tens_of_thousands_of_inputs_allocate);
  RUN(constant_inputs_are_folded_once);
  RUN(cancel_stops_invoke_at_an_op_boundary);
  RUN(arena_limit_and_error_callback);
  RUN(preserve_all_tensors_keeps_intermediates);
  RUN(signatures_run_their_own_subgraph);
  RUN(names_from_the_file_keep_messages_on_one_line);
  return test_summary();
}
