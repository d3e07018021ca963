/* CONV_3D and CONV_3D_TRANSPOSE (float32): a hand-computed case each, then random cases
 * (SAME/VALID padding with odd and even totals, strides, dilations per axis, batches, bias or
 * none, the fused activations) against naive 8-loop implementations in double written here;
 * a dynamic output shape for the transpose; errors. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

enum { PAD_SAME = 0, PAD_VALID = 1 };
enum { D, H, W };

typedef struct c3_cfg {
  int32_t batch, in[3], in_c, out_c, k[3]; /* in: spatial input (transpose: its input) */
  int32_t stride[3], dil[3];
  int padding, act, bias;
} c3_cfg;

static uint32_t seed = 777;
static double drand(void) {
  seed = seed * 1664525u + 1013904223u;
  return (double)(seed >> 8) / 16777216.0 * 2.0 - 1.0;
}

static int32_t eff(const c3_cfg *c, int a) { return (c->k[a] - 1) * c->dil[a] + 1; }

/* The forward convolution's output size and leading padding along axis a, from the input
 * size `in` (TensorFlow's rule, written out). */
static int32_t out_size(const c3_cfg *c, int a, int32_t in) {
  if (c->padding == PAD_SAME) return (in + c->stride[a] - 1) / c->stride[a];
  const int32_t e = eff(c, a);
  return in < e ? 0 : (in - e) / c->stride[a] + 1;
}
static int32_t pad_before(const c3_cfg *c, int a, int32_t in, int32_t out) {
  const int32_t total = (out - 1) * c->stride[a] + eff(c, a) - in;
  return total > 0 ? total / 2 : 0;
}

static double act(int a, double v) {
  switch (a) {
    case TFL_ACT_RELU:
      return v < 0 ? 0 : v;
    case TFL_ACT_RELU_N1_TO_1:
      return v < -1 ? -1 : v > 1 ? 1 : v;
    case TFL_ACT_RELU6:
      return v < 0 ? 0 : v > 6 ? 6 : v;
    default:
      return v;
  }
}

/* x [N][D][H][W][Ci] -> y [N][OD][OH][OW][Co]; w [KD][KH][KW][Ci][Co] (forward) or
 * [KD][KH][KW][Co][Ci] (transpose). The transpose scatters x through the same index map. */
static void naive(const c3_cfg *c, int transpose, const int32_t *xs, const int32_t *ys,
                  const double *x, const double *w, const double *bias, double *y) {
  /* The forward map goes from the larger (conv input) to the smaller (conv output) grid. */
  const int32_t *big = transpose ? ys : xs, *small = transpose ? xs : ys;
  int32_t pad[3];
  for (int a = 0; a < 3; a++) pad[a] = pad_before(c, a, big[a], small[a]);
  const int32_t ci_n = c->in_c, co_n = c->out_c;
  const size_t ny = (size_t)c->batch * ys[0] * ys[1] * ys[2] * co_n;
  for (size_t i = 0; i < ny; i++) y[i] = 0;
  for (int32_t n = 0; n < c->batch; n++)
    for (int32_t od = 0; od < small[D]; od++)
      for (int32_t oh = 0; oh < small[H]; oh++)
        for (int32_t ow = 0; ow < small[W]; ow++)
          for (int32_t kd = 0; kd < c->k[D]; kd++)
            for (int32_t kh = 0; kh < c->k[H]; kh++)
              for (int32_t kw = 0; kw < c->k[W]; kw++) {
                const int32_t id = od * c->stride[D] - pad[D] + kd * c->dil[D];
                const int32_t ih = oh * c->stride[H] - pad[H] + kh * c->dil[H];
                const int32_t iw = ow * c->stride[W] - pad[W] + kw * c->dil[W];
                if (id < 0 || id >= big[D] || ih < 0 || ih >= big[H] || iw < 0 || iw >= big[W])
                  continue;
                const size_t bi = (((size_t)n * big[D] + id) * big[H] + ih) * big[W] + iw;
                const size_t si = (((size_t)n * small[D] + od) * small[H] + oh) * small[W] + ow;
                const size_t tap = ((size_t)kd * c->k[H] + kh) * c->k[W] + kw;
                for (int32_t ci = 0; ci < ci_n; ci++)
                  for (int32_t co = 0; co < co_n; co++) {
                    if (transpose)
                      y[bi * co_n + co] += x[si * ci_n + ci] * w[(tap * co_n + co) * ci_n + ci];
                    else
                      y[si * co_n + co] += x[bi * ci_n + ci] * w[(tap * ci_n + ci) * co_n + co];
                  }
              }
  for (size_t i = 0; i < ny; i++) y[i] = act(c->act, y[i] + (bias ? bias[i % (size_t)co_n] : 0));
}

static void options(const c3_cfg *c, mb_field *f) {
  const mb_field fields[] = {
      MB_BYTE(0, c->padding),  MB_INT(1, c->stride[D]), MB_INT(2, c->stride[W]),
      MB_INT(3, c->stride[H]), MB_BYTE(4, c->act),      MB_INT(5, c->dil[D]),
      MB_INT(6, c->dil[W]),    MB_INT(7, c->dil[H]),    MB_FIELDS_END};
  memcpy(f, fields, sizeof(fields));
}

typedef struct c3_bufs {
  float *x, *w, *b;
  double *dx, *dw, *db, *want;
  size_t nx, nw, ny;
} c3_bufs;

static void bufs_make(c3_bufs *b, const c3_cfg *c, size_t nx, size_t nw, size_t ny) {
  b->nx = nx, b->nw = nw, b->ny = ny;
  b->x = malloc(nx * 4 + 4), b->w = malloc(nw * 4 + 4), b->b = malloc((size_t)c->out_c * 4);
  b->dx = malloc(nx * 8 + 8), b->dw = malloc(nw * 8 + 8), b->db = malloc((size_t)c->out_c * 8);
  b->want = malloc(ny * 8 + 8);
  for (size_t i = 0; i < nx; i++) b->dx[i] = b->x[i] = (float)drand();
  for (size_t i = 0; i < nw; i++) b->dw[i] = b->w[i] = (float)drand();
  for (int32_t i = 0; i < c->out_c; i++) b->db[i] = b->b[i] = (float)(drand() * 2);
}

static void bufs_free(c3_bufs *b) {
  free(b->x), free(b->w), free(b->b), free(b->dx), free(b->dw), free(b->db), free(b->want);
}

static void compare(const ot_result *r, const int32_t *dims, const c3_bufs *b) {
  CHECK_EQ_INT(r->out[0].ndim, 5);
  for (int i = 0; i < 5 && i < r->out[0].ndim; i++) CHECK_EQ_INT(r->out[0].dims[i], dims[i]);
  for (size_t i = 0; i < b->ny; i++)
    CHECK_NEAR(ot_f32(r, 0)[i], b->want[i], 1e-5 * (1 + fabs(b->want[i])));
}

/* ---- CONV_3D ------------------------------------------------------------------------------- */

static void check_conv(const c3_cfg *c) {
  int32_t o[3];
  for (int a = 0; a < 3; a++) o[a] = out_size(c, a, c->in[a]);
  const int32_t xd[5] = {c->batch, c->in[D], c->in[H], c->in[W], c->in_c};
  const int32_t wd[5] = {c->k[D], c->k[H], c->k[W], c->in_c, c->out_c};
  const int32_t yd[5] = {c->batch, o[D], o[H], o[W], c->out_c}, bd[1] = {c->out_c};
  c3_bufs b;
  bufs_make(&b, c, (size_t)xd[0] * xd[1] * xd[2] * xd[3] * xd[4],
            (size_t)wd[0] * wd[1] * wd[2] * wd[3] * wd[4],
            (size_t)yd[0] * yd[1] * yd[2] * yd[3] * yd[4]);
  naive(c, 0, c->in, o, b.dx, b.dw, c->bias ? b.db : NULL, b.want);
  ot_spec in[3] = {OT_F32(5, xd, b.x), OT_F32_CONST(5, wd, b.w), OT_F32_CONST(1, bd, b.b)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field f[9];
  options(c, f);
  ot_result r;
  const tfl_status st =
      ot_run(TFL_OP_CONV_3D, 1, in, c->bias ? 3 : 2, out, 1, TFL_OPTS_CONV_3D, f, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK)
    compare(&r, yd, &b);
  else
    printf("    %s\n", r.error);
  ot_result_free(&r);
  bufs_free(&b);
}

TEST(conv_hand_computed) {
  /* 1x1x2x2 input, one channel, 1x2x2 filter of ones, VALID: the sum of the four values. */
  static const float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1}, bias[1] = {0.5f};
  const int32_t xd[5] = {1, 1, 2, 2, 1}, wd[5] = {1, 2, 2, 1, 1}, bd[1] = {1};
  ot_spec in[3] = {OT_F32(5, xd, x), OT_F32_CONST(5, wd, w), OT_F32_CONST(1, bd, bias)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  const c3_cfg c = {.stride = {1, 1, 1}, .dil = {1, 1, 1}, .padding = PAD_VALID};
  mb_field f[9];
  options(&c, f);
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONV_3D, 1, in, 3, out, 1, TFL_OPTS_CONV_3D, f, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[2], 1);
  CHECK_EQ_INT(r.out[0].dims[3], 1);
  CHECK_NEAR(ot_f32(&r, 0)[0], 10.5, 0);
  ot_result_free(&r);
}

TEST(conv_random_cases) {
  const c3_cfg cases[] = {
      {1, {3, 4, 5}, 2, 3, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, PAD_SAME, TFL_ACT_NONE, 1},
      {2, {5, 4, 6}, 3, 2, {3, 2, 3}, {2, 1, 2}, {1, 1, 1}, PAD_SAME, TFL_ACT_RELU, 1},
      {1, {5, 6, 7}, 2, 4, {3, 3, 2}, {1, 2, 3}, {1, 1, 1}, PAD_VALID, TFL_ACT_NONE, 0},
      {1, {6, 7, 6}, 1, 2, {2, 3, 2}, {1, 1, 2}, {2, 2, 1}, PAD_SAME, TFL_ACT_RELU6, 1},
      {2, {7, 5, 6}, 2, 3, {2, 2, 3}, {2, 1, 1}, {3, 2, 2}, PAD_VALID, TFL_ACT_RELU_N1_TO_1, 1},
      {1, {2, 2, 2}, 3, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, PAD_VALID, TFL_ACT_NONE, 0},
      {1, {4, 4, 4}, 2, 2, {1, 1, 1}, {3, 2, 2}, {1, 1, 1}, PAD_SAME, TFL_ACT_TANH, 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_conv(&cases[i]);
}

/* ---- CONV_3D_TRANSPOSE --------------------------------------------------------------------- */

/* c->in is the transpose's input; y_sp its output's spatial size. */
static void check_transpose(const c3_cfg *c, const int32_t *y_sp, int dynamic) {
  const int32_t xd[5] = {c->batch, c->in[D], c->in[H], c->in[W], c->in_c};
  const int32_t wd[5] = {c->k[D], c->k[H], c->k[W], c->out_c, c->in_c};
  const int32_t yd[5] = {c->batch, y_sp[D], y_sp[H], y_sp[W], c->out_c};
  const int32_t sd[1] = {5}, bd[1] = {c->out_c};
  c3_bufs b;
  bufs_make(&b, c, (size_t)xd[0] * xd[1] * xd[2] * xd[3] * xd[4],
            (size_t)wd[0] * wd[1] * wd[2] * wd[3] * wd[4],
            (size_t)yd[0] * yd[1] * yd[2] * yd[3] * yd[4]);
  naive(c, 1, c->in, y_sp, b.dx, b.dw, c->bias ? b.db : NULL, b.want);
  ot_spec in[4] = {OT_CONST(TFL_INT32, 1, sd, yd), OT_F32_CONST(5, wd, b.w), OT_F32(5, xd, b.x),
                   OT_F32_CONST(1, bd, b.b)};
  in[0].constant = !dynamic;
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field f[9];
  options(c, f);
  ot_result r;
  const tfl_status st =
      ot_run(TFL_OP_CONV_3D_TRANSPOSE, 1, in, c->bias ? 4 : 3, out, 1, TFL_OPTS_CONV_3D, f, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK)
    compare(&r, yd, &b);
  else
    printf("    %s\n", r.error);
  ot_result_free(&r);
  bufs_free(&b);
}

TEST(transpose_hand_computed) {
  /* Two input values stamped through a 1x1x2 filter [1, 10] with stride 2: 1 10 2 20. */
  static const float x[2] = {1, 2}, w[2] = {1, 10};
  static const int32_t shape[5] = {1, 1, 1, 4, 1};
  const int32_t sd[1] = {5}, xd[5] = {1, 1, 1, 2, 1}, wd[5] = {1, 1, 2, 1, 1};
  ot_spec in[3] = {OT_CONST(TFL_INT32, 1, sd, shape), OT_F32_CONST(5, wd, w), OT_F32(5, xd, x)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  const c3_cfg c = {.stride = {1, 1, 2}, .dil = {1, 1, 1}, .padding = PAD_VALID};
  mb_field f[9];
  options(&c, f);
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONV_3D_TRANSPOSE, 1, in, 3, out, 1, TFL_OPTS_CONV_3D, f, &r) == TFL_OK);
  static const float want[4] = {1, 10, 2, 20};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

TEST(transpose_random_cases) {
  typedef struct {
    c3_cfg c;
    int32_t y[3];
  } tcase;
  const tcase cases[] = {
      {{1, {2, 3, 2}, 2, 3, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, PAD_SAME, TFL_ACT_NONE, 1}, {4, 6, 4}},
      {{1, {2, 3, 2}, 2, 3, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, PAD_SAME, TFL_ACT_NONE, 1}, {3, 5, 4}},
      {{2, {3, 2, 3}, 3, 2, {3, 2, 3}, {1, 2, 2}, {1, 1, 1}, PAD_VALID, TFL_ACT_RELU, 0},
       {5, 4, 7}},
      {{1, {3, 3, 2}, 1, 2, {2, 3, 2}, {1, 1, 2}, {2, 1, 2}, PAD_VALID, TFL_ACT_RELU6, 1},
       {5, 5, 5}},
      {{1, {2, 2, 2}, 2, 2, {3, 3, 3}, {2, 2, 2}, {2, 2, 1}, PAD_SAME, TFL_ACT_NONE, 1}, {3, 4, 4}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    check_transpose(&cases[i].c, cases[i].y, 0);
    check_transpose(&cases[i].c, cases[i].y, 1);
  }
}

/* ---- errors -----------------------------------------------------------------------------------
 */

static void expect_conv_error(const int32_t *xd, const int32_t *wd, int n_bias, const c3_cfg *c,
                              const char *what) {
  static const float zeros[4096];
  const int32_t bd[1] = {n_bias};
  ot_spec in[3] = {OT_F32(5, xd, zeros), OT_F32_CONST(5, wd, zeros), OT_F32_CONST(1, bd, zeros)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field f[9];
  options(c, f);
  ot_result r;
  const tfl_status st =
      ot_run(TFL_OP_CONV_3D, 1, in, n_bias ? 3 : 2, out, 1, TFL_OPTS_CONV_3D, f, &r);
  CHECK(st != TFL_OK);
  if (st != TFL_OK && !strstr(r.error, what)) {
    printf("    expected \"%s\" in: %s\n", what, r.error);
    CHECK(0);
  }
  ot_result_free(&r);
}

TEST(conv_errors) {
  const c3_cfg ok = {.stride = {1, 1, 1}, .dil = {1, 1, 1}};
  const int32_t xd[5] = {1, 3, 3, 3, 2}, wd[5] = {2, 2, 2, 2, 3};
  const int32_t wrong_c[5] = {2, 2, 2, 4, 3};
  expect_conv_error(xd, wrong_c, 0, &ok, "filter");
  expect_conv_error(xd, wd, 2, &ok, "bias");
  const c3_cfg zero_stride = {.stride = {1, 0, 1}, .dil = {1, 1, 1}};
  expect_conv_error(xd, wd, 0, &zero_stride, "height");
  const c3_cfg zero_dil = {.stride = {1, 1, 1}, .dil = {0, 1, 1}};
  expect_conv_error(xd, wd, 0, &zero_dil, "depth");
  const int32_t empty[5] = {1, 0, 3, 3, 2};
  expect_conv_error(empty, wd, 0, &ok, "positive");
  const c3_cfg bad_pad = {.stride = {1, 1, 1}, .dil = {1, 1, 1}, .padding = 7};
  expect_conv_error(xd, wd, 0, &bad_pad, "padding");
  /* 4-D input */
  static const float zeros[64];
  const int32_t x4[4] = {1, 3, 3, 2};
  ot_spec in[2] = {OT_F32(4, x4, zeros), OT_F32_CONST(5, wd, zeros)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field f[9];
  options(&ok, f);
  ot_result r;
  CHECK(ot_run(TFL_OP_CONV_3D, 1, in, 2, out, 1, TFL_OPTS_CONV_3D, f, &r) != TFL_OK);
  CHECK(strstr(r.error, "5-D") != NULL);
  ot_result_free(&r);
}

static void expect_transpose_error(const int32_t *shape, int dynamic, const char *what) {
  static const float zeros[4096];
  const int32_t sd[1] = {5}, xd[5] = {1, 2, 2, 2, 3}, wd[5] = {2, 2, 2, 4, 3};
  const c3_cfg c = {.stride = {2, 2, 2}, .dil = {1, 1, 1}, .padding = PAD_SAME};
  ot_spec in[3] = {OT_CONST(TFL_INT32, 1, sd, shape), OT_F32_CONST(5, wd, zeros),
                   OT_F32(5, xd, zeros)};
  in[0].constant = !dynamic;
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  mb_field f[9];
  options(&c, f);
  ot_result r;
  const tfl_status st = ot_run(TFL_OP_CONV_3D_TRANSPOSE, 1, in, 3, out, 1, TFL_OPTS_CONV_3D, f, &r);
  CHECK(st != TFL_OK);
  if (st != TFL_OK && !strstr(r.error, what)) {
    printf("    expected \"%s\" in: %s\n", what, r.error);
    CHECK(0);
  }
  ot_result_free(&r);
}

TEST(transpose_errors) {
  for (int dyn = 0; dyn < 2; dyn++) {
    const int32_t wrong_size[5] = {1, 6, 4, 4, 4}; /* 6 / 2 = 3, not the input's 2 */
    expect_transpose_error(wrong_size, dyn, "convolve back");
    const int32_t wrong_batch[5] = {2, 4, 4, 4, 4};
    expect_transpose_error(wrong_batch, dyn, "batch");
    const int32_t wrong_c[5] = {1, 4, 4, 4, 5};
    expect_transpose_error(wrong_c, dyn, "output channels");
    const int32_t negative[5] = {1, -4, 4, 4, 4};
    expect_transpose_error(negative, dyn, "negative");
  }
}

int main(void) {
  RUN(conv_hand_computed);
  RUN(conv_random_cases);
  RUN(transpose_hand_computed);
  RUN(transpose_random_cases);
  RUN(conv_errors);
  RUN(transpose_errors);
  return test_summary();
}
