/* The graph fusion pass (src/runtime/fuse.h): which PAD and ADD nodes it folds into float
 * convolutions, which it must leave alone, and that a fused graph gives exactly the plain
 * graph's outputs (TFL_FUSE=0) on every path: Winograd, the packed GEMM (1x1 and
 * indirection), the depthwise kernels, the reference kernels (TFL_CPU=scalar), two threads. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/fuse.h"
#include "runtime/interpreter.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/model_builder.h"
#include "util/test.h"

/* --- a small graph builder ------------------------------------------------------------------ */

#define NET_TENSORS 64

typedef struct net {
  mb_model *m;
  int32_t dims[NET_TENSORS][4];
  unsigned seed;
} net;

static int net_tensor(net *n, const int32_t dims[4], const void *data, size_t bytes) {
  const int t = mb_tensor(n->m, TFL_FLOAT32, 4, dims, data, bytes, NULL);
  if (t < NET_TENSORS) memcpy(n->dims[t], dims, sizeof(n->dims[t]));
  return t;
}

static int net_input(net *n, int32_t h, int32_t w, int32_t c) {
  const int32_t dims[4] = {1, h, w, c};
  return net_tensor(n, dims, NULL, 0);
}

static int net_constant(net *n, int count, const int32_t *dims, int ndim) {
  float *v = malloc((size_t)count * sizeof(float));
  for (int i = 0; i < count; i++) v[i] = ck_pseudo(&n->seed);
  const int t = mb_tensor(n->m, TFL_FLOAT32, ndim, dims, v, (size_t)count * sizeof(float), NULL);
  free(v);
  return t;
}

/* PAD (value NAN) or PADV2 with that constant; pads = {top, bottom, left, right, channel}. */
static int net_pad(net *n, int in, const int32_t pads[5], float value) {
  const int32_t *d = n->dims[in];
  const int32_t p[8] = {0, 0, pads[0], pads[1], pads[2], pads[3], 0, pads[4]};
  const int32_t pdims[2] = {4, 2}, one = 1;
  const int pt = mb_tensor(n->m, TFL_INT32, 2, pdims, p, sizeof(p), NULL);
  const int32_t od[4] = {d[0], d[1] + pads[0] + pads[1], d[2] + pads[2] + pads[3], d[3] + pads[4]};
  const int out = net_tensor(n, od, NULL, 0);
  if (isnan(value)) {
    mb_op(n->m, TFL_OP_PAD, 1, 2, (int[]){in, pt}, 1, &out, 0, NULL);
  } else {
    const int vt = mb_tensor(n->m, TFL_FLOAT32, 1, &one, &value, sizeof(value), NULL);
    mb_op(n->m, TFL_OP_PADV2, 1, 3, (int[]){in, pt, vt}, 1, &out, 0, NULL);
  }
  return out;
}

static int32_t out_size(int32_t in, int32_t k, int32_t stride, int same) {
  return same ? (in + stride - 1) / stride : (in - k) / stride + 1;
}

/* CONV_2D (out_c channels) or DEPTHWISE_CONV_2D (out_c ignored), k x k, with a bias. */
static int net_conv(net *n, int in, int code, int32_t out_c, int32_t k, int32_t stride,
                    int same, int act) {
  const int32_t *d = n->dims[in];
  const int dw = code == TFL_OP_DEPTHWISE_CONV_2D;
  if (dw) out_c = d[3];
  const int32_t fd[4] = {dw ? 1 : out_c, k, k, dw ? out_c : d[3]};
  const int f = net_constant(n, fd[0] * k * k * fd[3], fd, 4);
  const int b = net_constant(n, out_c, &out_c, 1);
  const int32_t od[4] = {d[0], out_size(d[1], k, stride, same), out_size(d[2], k, stride, same),
                         out_c};
  const int out = net_tensor(n, od, NULL, 0);
  const mb_field conv_opt[] = {MB_BYTE(0, same ? 0 : 1), MB_INT(1, stride), MB_INT(2, stride),
                               MB_BYTE(3, act), MB_FIELDS_END};
  const mb_field dw_opt[] = {MB_BYTE(0, same ? 0 : 1), MB_INT(1, stride), MB_INT(2, stride),
                             MB_INT(3, 1), MB_BYTE(4, act), MB_FIELDS_END};
  mb_op(n->m, code, 1, 3, (int[]){in, f, b}, 1, &out,
        dw ? TFL_OPTS_DEPTHWISE_CONV_2D : TFL_OPTS_CONV_2D, dw ? dw_opt : conv_opt);
  return out;
}

static int net_add(net *n, int a, int b, int act) {
  const int out = net_tensor(n, n->dims[a], NULL, 0);
  const mb_field opt[] = {MB_BYTE(0, act), MB_FIELDS_END};
  mb_op(n->m, TFL_OP_ADD, 1, 2, (int[]){a, b}, 1, &out, TFL_OPTS_ADD, opt);
  return out;
}

static uint8_t *net_finish(net *n, int x, int n_out, const int *outs, size_t *size) {
  mb_inputs(n->m, 1, &x);
  mb_outputs(n->m, n_out, outs);
  uint8_t *bytes = mb_finish(n->m, size);
  mb_free(n->m);
  return bytes;
}

/* --- running --------------------------------------------------------------------------------- */

typedef struct run_result {
  float *out; /* output 0 (malloc'd) */
  size_t count;
  int fused, removed; /* nodes rewritten, nodes fused away */
} run_result;

static void set_env(const char *name, const char *value) {
  if (value)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

/* Runs the model with fusion on or off, `threads` threads, TFL_CPU = cpu (NULL: unset), input 1
 * resized to resize_dims first when given; every input gets pseudo-random values. */
static tfl_status run_resized(const uint8_t *bytes, size_t size, int fuse, int threads,
                              const char *cpu, const int32_t *resize_dims, run_result *r) {
  set_env("TFL_FUSE", fuse ? NULL : "0");
  tfl_model *model;
  tfl_interpreter *interp;
  tfl_status st = ck_open(bytes, size, threads, cpu, &model, &interp, NULL, 0);
  set_env("TFL_FUSE", NULL);
  if (st == TFL_OK && resize_dims) st = tfl_interpreter_resize_input(interp, 1, 4, resize_dims);
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(interp);
  for (int i = 0; st == TFL_OK && i < tfl_interpreter_input_count(interp); i++) {
    tfl_tensor *x = tfl_interpreter_input(interp, i);
    unsigned seed = 77 + (unsigned)i;
    float *in = tfl_tensor_data(x);
    for (size_t e = 0; e < tfl_tensor_element_count(x); e++) in[e] = ck_pseudo(&seed);
  }
  if (st == TFL_OK) st = tfl_interpreter_invoke(interp);
  if (st == TFL_OK) {
    const tfl_tensor *y = tfl_interpreter_output(interp, 0);
    r->count = tfl_tensor_element_count(y);
    free(r->out);
    r->out = malloc((r->count + 1) * sizeof(float));
    memcpy(r->out, tfl_tensor_data_const(y), r->count * sizeof(float));
    const tfl_context *ctx = &interp->subgraphs[0];
    r->fused = r->removed = 0;
    for (int j = 0; j < ctx->n_nodes; j++) {
      r->fused += tfl_node_fusion(&ctx->nodes[j]) != NULL;
      r->removed += ctx->nodes[j].num_outputs == 0;
    }
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  return st;
}

static tfl_status run(const uint8_t *bytes, size_t size, int fuse, int threads, const char *cpu,
                      run_result *r) {
  return run_resized(bytes, size, fuse, threads, cpu, NULL, r);
}

static int same_values(const run_result *a, const run_result *b) {
  if (a->count != b->count) return 0;
  for (size_t i = 0; i < a->count; i++)
    if (!(a->out[i] == b->out[i] || (isnan(a->out[i]) && isnan(b->out[i])))) {
      test_fail(__FILE__, __LINE__, "output %zu: fused %.9g, plain %.9g", i, a->out[i],
                b->out[i]);
      return 0;
    }
  return 1;
}

static run_result fused_r, plain_r;

/* Fused and plain runs agree on every configuration; the fused graph rewrote `fused[c]` nodes
 * and removed `removed[c]` at this machine's level (c = 0) and at TFL_CPU=scalar (c = 1). */
static void check_levels(const uint8_t *bytes, size_t size, const int fused[2],
                         const int removed[2]) {
  static const char *const cpus[] = {NULL, "scalar"};
  for (int c = 0; c < 2; c++)
    for (int threads = 1; threads <= 2; threads++) {
      REQUIRE(run(bytes, size, 1, threads, cpus[c], &fused_r) == TFL_OK);
      REQUIRE(run(bytes, size, 0, threads, cpus[c], &plain_r) == TFL_OK);
      CHECK_EQ_INT(fused_r.fused, fused[c]);
      CHECK_EQ_INT(fused_r.removed, removed[c]);
      CHECK_EQ_INT(plain_r.fused, 0);
      CHECK(same_values(&fused_r, &plain_r));
    }
}

/* The same counts at every level. */
static void check_net(const uint8_t *bytes, size_t size, int fused, int removed) {
  const int f[2] = {fused, fused}, r[2] = {removed, removed};
  check_levels(bytes, size, f, r);
}

/* --- PAD -------------------------------------------------------------------------------------- */

TEST(pad_folds_into_convolutions) {
  static const struct {
    int code;
    int32_t h, w, c, out_c, k, stride, same;
    int32_t pads[5];
  } cases[] = {
      {TFL_OP_CONV_2D, 15, 13, 3, 16, 3, 2, 0, {1, 1, 1, 1, 0}},           /* MobileNet's stem */
      {TFL_OP_CONV_2D, 12, 11, 3, 8, 7, 2, 0, {3, 3, 3, 3, 0}},            /* ResNet's stem */
      {TFL_OP_CONV_2D, 9, 10, 16, 24, 3, 1, 0, {1, 1, 1, 1, 0}},           /* Winograd */
      {TFL_OP_CONV_2D, 8, 9, 12, 20, 3, 1, 1, {0, 2, 1, 0, 0}},            /* uneven, + SAME */
      {TFL_OP_CONV_2D, 6, 7, 5, 9, 1, 2, 0, {1, 0, 0, 1, 0}},              /* 1x1 strided */
      {TFL_OP_DEPTHWISE_CONV_2D, 14, 13, 24, 0, 3, 2, 0, {1, 1, 1, 1, 0}}, /* MobileNet's */
      {TFL_OP_DEPTHWISE_CONV_2D, 9, 8, 13, 0, 3, 1, 0, {2, 1, 0, 3, 0}},
      {TFL_OP_DEPTHWISE_CONV_2D, 7, 7, 8, 0, 5, 2, 1, {0, 1, 0, 1, 0}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    net n = {mb_new(), {{0}}, 5 + (unsigned)i};
    const int x = net_input(&n, cases[i].h, cases[i].w, cases[i].c);
    const int p = net_pad(&n, x, cases[i].pads, NAN);
    const int y = net_conv(&n, p, cases[i].code, cases[i].out_c, cases[i].k, cases[i].stride,
                           cases[i].same, 3);
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, 1, &y, &size);
    REQUIRE(bytes != NULL);
    check_net(bytes, size, 1, 1);
    free(bytes);
  }
}

TEST(padv2_folds_only_with_a_zero_constant) {
  static const int32_t pads[5] = {1, 1, 1, 1, 0};
  for (int v = 0; v < 2; v++) {
    net n = {mb_new(), {{0}}, 9};
    const int x = net_input(&n, 8, 8, 8);
    const int p = net_pad(&n, x, pads, v ? 0.5f : 0.0f);
    const int y = net_conv(&n, p, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 0, 0);
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, 1, &y, &size);
    REQUIRE(bytes != NULL);
    check_net(bytes, size, !v, !v);
    free(bytes);
  }
}

TEST(pad_stays_when_it_cannot_fold) {
  static const int32_t spatial[5] = {1, 1, 1, 1, 0}, channel[5] = {1, 1, 1, 1, 2};
  for (int variant = 0; variant < 4; variant++) {
    net n = {mb_new(), {{0}}, 11};
    const int x = net_input(&n, 8, 8, 8);
    const int p = net_pad(&n, x, variant == 0 ? channel : spatial, NAN);
    int outs[2] = {-1, p};
    int n_out = 1;
    if (variant == 0) { /* pads the channels */
      outs[0] = net_conv(&n, p, TFL_OP_CONV_2D, 8, 3, 1, 0, 0);
    } else if (variant == 1) { /* the padded tensor is a graph output too */
      outs[0] = net_conv(&n, p, TFL_OP_CONV_2D, 8, 3, 1, 0, 0);
      n_out = 2;
    } else if (variant == 2) { /* two readers */
      const int a = net_conv(&n, p, TFL_OP_CONV_2D, 8, 3, 1, 0, 0);
      const int b = net_conv(&n, p, TFL_OP_CONV_2D, 8, 3, 1, 0, 0);
      outs[0] = net_add(&n, a, b, 0);
    } else { /* read by a pool */
      outs[0] = net_tensor(&n, (const int32_t[4]){1, 5, 5, 8}, NULL, 0);
      const mb_field opt[] = {MB_BYTE(0, 1), MB_INT(1, 2), MB_INT(2, 2), MB_INT(3, 2),
                              MB_INT(4, 2), MB_FIELDS_END};
      mb_op(n.m, TFL_OP_MAX_POOL_2D, 1, 1, &p, 1, &outs[0], TFL_OPTS_POOL_2D, opt);
    }
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, n_out, outs, &size);
    REQUIRE(bytes != NULL);
    /* Two readers: the later convolution takes the ADD (its other operand is ready). */
    check_net(bytes, size, variant == 2, variant == 2);
    free(bytes);
  }
}

/* --- ADD -------------------------------------------------------------------------------------- */

TEST(add_folds_into_the_convolution_producing_it) {
  static const struct {
    int32_t h, w, c, k, stride;
    int act;
  } cases[] = {
      {9, 11, 16, 3, 1, 1},  /* Winograd, RELU */
      {7, 9, 24, 1, 1, 0},   /* plain GEMM */
      {8, 10, 12, 3, 1, 3},  /* Winograd, RELU6 */
      {6, 5, 5, 3, 1, 2},    /* few channels: indirection GEMM, RELU_N1_TO_1 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    for (int order = 0; order < 2; order++) {
      net n = {mb_new(), {{0}}, 21 + (unsigned)i};
      const int x = net_input(&n, cases[i].h, cases[i].w, cases[i].c);
      const int c = net_conv(&n, x, TFL_OP_CONV_2D, cases[i].c, cases[i].k, 1, 1, 0);
      const int y = order ? net_add(&n, x, c, cases[i].act) : net_add(&n, c, x, cases[i].act);
      size_t size = 0;
      uint8_t *bytes = net_finish(&n, x, 1, &y, &size);
      REQUIRE(bytes != NULL);
      check_net(bytes, size, 1, 1);
      free(bytes);
    }
}

/* The ADD's other operand is a second graph input: resized so that the ADD broadcasts (or
 * its output outgrows the convolution's), the fused node still gives the plain graph's
 * values; shapes ADD refuses fail alike. */
TEST(fused_add_broadcasts_after_a_resize) {
  static const int32_t sizes[][4] = {
      {1, 6, 7, 5}, {1, 1, 1, 5}, {1, 6, 1, 5}, {1, 1, 7, 1}, {3, 6, 7, 5}, {1, 6, 7, 4}};
  static const int32_t k[] = {1, 3};
  for (size_t ki = 0; ki < 2; ki++) {
    net n = {mb_new(), {{0}}, 41 + (unsigned)ki};
    const int x = net_input(&n, 6, 7, 8);
    const int y = net_input(&n, 6, 7, 5);
    const int c = net_conv(&n, x, TFL_OP_CONV_2D, 5, k[ki], 1, 1, 0);
    const int out = net_add(&n, c, y, 3);
    mb_inputs(n.m, 2, (int[]){x, y});
    mb_outputs(n.m, 1, &out);
    size_t size = 0;
    uint8_t *bytes = mb_finish(n.m, &size);
    mb_free(n.m);
    REQUIRE(bytes != NULL);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
      for (int scalar = 0; scalar < 2; scalar++) {
        const char *cpu = scalar ? "scalar" : NULL;
        const tfl_status fused = run_resized(bytes, size, 1, 1, cpu, sizes[i], &fused_r);
        const tfl_status plain = run_resized(bytes, size, 0, 1, cpu, sizes[i], &plain_r);
        CHECK_EQ_INT(fused, plain);
        if (sizes[i][3] == 4) CHECK(fused != TFL_OK);
        if (fused != TFL_OK || plain != TFL_OK) continue;
        CHECK_EQ_INT(fused_r.fused, 1);
        CHECK_EQ_INT((int)fused_r.count, 6 * 7 * 5 * sizes[i][0]);
        CHECK(same_values(&fused_r, &plain_r));
      }
    free(bytes);
  }
}

/* ResNet's downsampling block: conv -> conv, and a strided 1x1 conv, added. The ADD moves
 * into the 1x1 one (the later), reading the first branch's output; the PAD of the strided
 * 3x3 folds too. */
TEST(add_of_two_branches_goes_to_the_later_one) {
  static const int32_t pads[5] = {1, 1, 1, 1, 0};
  net n = {mb_new(), {{0}}, 31};
  const int x = net_input(&n, 12, 12, 16);
  const int p = net_pad(&n, x, pads, NAN);
  const int a = net_conv(&n, p, TFL_OP_CONV_2D, 24, 3, 2, 0, 1);
  const int b = net_conv(&n, a, TFL_OP_CONV_2D, 24, 3, 1, 1, 0);
  const int s = net_conv(&n, x, TFL_OP_CONV_2D, 24, 1, 2, 0, 0);
  const int y = net_add(&n, b, s, 1);
  size_t size = 0;
  uint8_t *bytes = net_finish(&n, x, 1, &y, &size);
  REQUIRE(bytes != NULL);
  check_net(bytes, size, 2, 2);
  free(bytes);
}

TEST(add_stays_when_it_cannot_fold) {
  for (int variant = 0; variant < 4; variant++) {
    net n = {mb_new(), {{0}}, 41};
    const int x = net_input(&n, 6, 6, 8);
    int outs[2] = {-1, -1};
    int n_out = 1;
    if (variant == 0) { /* the convolution has an activation of its own */
      const int c = net_conv(&n, x, TFL_OP_CONV_2D, 8, 3, 1, 1, 1);
      outs[0] = net_add(&n, c, x, 0);
    } else if (variant == 1) { /* its output is also a graph output */
      const int c = net_conv(&n, x, TFL_OP_CONV_2D, 8, 3, 1, 1, 0);
      outs[0] = net_add(&n, c, x, 0);
      outs[1] = c;
      n_out = 2;
    } else if (variant == 2) { /* broadcasting */
      const int c = net_conv(&n, x, TFL_OP_CONV_2D, 8, 3, 1, 1, 0);
      const int32_t one[4] = {1, 1, 1, 8};
      const int k = net_constant(&n, 8, one, 4);
      outs[0] = net_add(&n, c, k, 0);
    } else { /* the other operand comes after the convolution from a non-convolution */
      const int c = net_conv(&n, x, TFL_OP_CONV_2D, 8, 3, 1, 1, 0);
      const int d = net_conv(&n, x, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 1, 0);
      outs[0] = net_add(&n, c, d, 0);
    }
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, n_out, outs, &size);
    REQUIRE(bytes != NULL);
    check_net(bytes, size, 0, 0);
    free(bytes);
  }
}

/* --- a 1x1 expansion into the depthwise convolution -------------------------------------- */

static int have_fast_depthwise(void) {
  const tfl_cpu_level hw = tfl_cpu_detect_hardware();
  return hw != TFL_CPU_SCALAR;
}

/* 1x1 expansion (RELU6) -> [PAD] -> depthwise, the expanded tensor over 1 MB: folded where
 * the level has fast depthwise kernels, never at TFL_CPU=scalar. */
TEST(expansion_folds_into_the_depthwise_convolution) {
  static const struct {
    int32_t batches, h, w, c, expanded, k, stride, same;
    int pad;
  } cases[] = {
      {1, 64, 40, 8, 112, 3, 1, 1, 0},  /* MobileNet's stride-1 block, several bands */
      {1, 58, 50, 16, 96, 3, 2, 0, 1},  /* its stride-2 block: PAD between */
      {1, 47, 61, 5, 97, 3, 1, 0, 0},   /* VALID, a channel tail */
      {1, 45, 45, 7, 130, 5, 2, 1, 0},  /* 5x5: the general kernel */
      {2, 40, 40, 9, 90, 3, 1, 1, 0},   /* batches */
  };
  static const int32_t pads[5] = {1, 1, 1, 1, 0};
  const int fast = have_fast_depthwise();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    net n = {mb_new(), {{0}}, 51 + (unsigned)i};
    const int32_t dims[4] = {cases[i].batches, cases[i].h, cases[i].w, cases[i].c};
    const int x = net_tensor(&n, dims, NULL, 0);
    int e = net_conv(&n, x, TFL_OP_CONV_2D, cases[i].expanded, 1, 1, 1, 3);
    if (cases[i].pad) e = net_pad(&n, e, pads, NAN);
    const int y = net_conv(&n, e, TFL_OP_DEPTHWISE_CONV_2D, 0, cases[i].k, cases[i].stride,
                           cases[i].same, 3);
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, 1, &y, &size);
    REQUIRE(bytes != NULL);
    const int fused[2] = {fast || cases[i].pad, cases[i].pad};
    const int removed[2] = {fast + cases[i].pad, cases[i].pad};
    check_levels(bytes, size, fused, removed);
    free(bytes);
  }
}

TEST(expansion_stays_when_it_cannot_fold) {
  for (int variant = 0; variant < 4; variant++) {
    net n = {mb_new(), {{0}}, 61};
    const int x = variant == 0 ? net_input(&n, 16, 16, 8) : net_input(&n, 64, 40, 8);
    int outs[2] = {-1, -1}, n_out = 1;
    if (variant == 0) { /* an expanded tensor that stays in cache anyway */
      const int e = net_conv(&n, x, TFL_OP_CONV_2D, 64, 1, 1, 1, 3);
      outs[0] = net_conv(&n, e, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 1, 3);
    } else if (variant == 1) { /* a strided 1x1 convolution */
      const int e = net_conv(&n, x, TFL_OP_CONV_2D, 112, 1, 2, 1, 3);
      outs[0] = net_conv(&n, e, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 1, 3);
    } else if (variant == 2) { /* its output read twice (and the ADD's operands are a
                                  * depthwise convolution's and an activated one's) */
      const int e = net_conv(&n, x, TFL_OP_CONV_2D, 112, 1, 1, 1, 3);
      const int d = net_conv(&n, e, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 1, 3);
      outs[0] = net_add(&n, d, e, 0);
    } else { /* an activation the float convolutions ignore (TANH) */
      const int e = net_conv(&n, x, TFL_OP_CONV_2D, 112, 1, 1, 1, 4);
      outs[0] = net_conv(&n, e, TFL_OP_DEPTHWISE_CONV_2D, 0, 3, 1, 1, 3);
    }
    size_t size = 0;
    uint8_t *bytes = net_finish(&n, x, n_out, outs, &size);
    REQUIRE(bytes != NULL);
    check_net(bytes, size, 0, 0);
    free(bytes);
  }
}

int main(void) {
  RUN(pad_folds_into_convolutions);
  RUN(padv2_folds_only_with_a_zero_constant);
  RUN(pad_stays_when_it_cannot_fold);
  RUN(add_folds_into_the_convolution_producing_it);
  RUN(add_of_two_branches_goes_to_the_later_one);
  RUN(fused_add_broadcasts_after_a_resize);
  RUN(add_stays_when_it_cannot_fold);
  RUN(expansion_folds_into_the_depthwise_convolution);
  RUN(expansion_stays_when_it_cannot_fold);
  free(fused_r.out);
  free(plain_r.out);
  return test_summary();
}
