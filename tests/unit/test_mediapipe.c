/* MediaPipe's custom ops (and LiteRT's LiteRtMaxUnpooling2D): hand-computed cases, random
 * cases against naive implementations written here in double, option handling and errors;
 * and, with $TFL_SHARED, the conformance suite's selfie segmentation model (its
 * Convolution2DTransposeBias) against its reference outputs, plus a check that its mask
 * covers the person in the Grace Hopper picture and not the top corners. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfl/tfl.h"
#include "util/flexbuf_builder.h"
#include "util/op_runner.h"
#include "util/test.h"

#ifndef TFL_NO_CUSTOM_OPS

enum { TFL_PAD_UNKNOWN = 0, TFL_PAD_SAME = 1, TFL_PAD_VALID = 2 }; /* TfLitePadding */

static unsigned seed_state = 1;
static double urand(void) {
  seed_state = seed_state * 1103515245u + 12345u;
  return (double)((seed_state >> 8) & 0xffff) / 65536.0;
}

#define OUTS1 \
  { OT_OUT(TFL_FLOAT32) }

/* ---- Convolution2DTransposeBias ------------------------------------------------------------ */

/* MediaPipe's output size and padding, from the input: SAME pads
 * max(0, k - (in - 1) % s - 1) in total, the smaller half before. */
static void mp_geometry(int padding, int in, int k, int s, int *out, int *pad) {
  int total = 0;
  if (padding == TFL_PAD_SAME) {
    total = k - (in - 1) % s - 1;
    if (total < 0) total = 0;
  }
  *out = s * (in - 1) + k - total;
  *pad = total / 2;
}

typedef struct tcb_case {
  int n, ih, iw, ic, oc, kh, kw, sh, sw, padding;
} tcb_case;

static void check_tconv_bias(const tcb_case *c) {
  int oh, ow, pt, pl;
  mp_geometry(c->padding, c->ih, c->kh, c->sh, &oh, &pt);
  mp_geometry(c->padding, c->iw, c->kw, c->sw, &ow, &pl);
  const size_t n_in = (size_t)c->n * c->ih * c->iw * c->ic,
               n_w = (size_t)c->oc * c->kh * c->kw * c->ic;
  const size_t n_out = (size_t)c->n * oh * ow * c->oc;
  float *in = malloc(n_in * 4), *w = malloc(n_w * 4), *b = malloc((size_t)c->oc * 4);
  double *want = malloc(n_out * 8);
  for (size_t i = 0; i < n_in; i++) in[i] = (float)(urand() * 2 - 1);
  for (size_t i = 0; i < n_w; i++) w[i] = (float)(urand() * 2 - 1);
  for (int i = 0; i < c->oc; i++) b[i] = (float)(urand() - 0.5);
  for (size_t i = 0; i < n_out; i++) want[i] = b[i % (size_t)c->oc];
  for (int bn = 0; bn < c->n; bn++)
    for (int y = 0; y < c->ih; y++)
      for (int x = 0; x < c->iw; x++)
        for (int ky = 0; ky < c->kh; ky++)
          for (int kx = 0; kx < c->kw; kx++) {
            const int oy = y * c->sh - pt + ky, ox = x * c->sw - pl + kx;
            if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
            for (int co = 0; co < c->oc; co++)
              for (int ci = 0; ci < c->ic; ci++)
                want[(((size_t)bn * oh + oy) * ow + ox) * c->oc + co] +=
                    (double)in[(((size_t)bn * c->ih + y) * c->iw + x) * c->ic + ci] *
                    w[(((size_t)co * c->kh + ky) * c->kw + kx) * c->ic + ci];
          }
  const int32_t opts[3] = {c->padding, c->sw, c->sh};
  const int32_t di[4] = {c->n, c->ih, c->iw, c->ic}, dw[4] = {c->oc, c->kh, c->kw, c->ic};
  const int32_t db[1] = {c->oc};
  ot_spec specs[3] = {OT_F32(4, di, in), OT_F32_CONST(4, dw, w), OT_F32_CONST(1, db, b)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  tfl_status st =
      ot_run_custom("Convolution2DTransposeBias", 1, opts, sizeof(opts), specs, 3, out, 1, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].dims[1], oh);
    CHECK_EQ_INT(r.out[0].dims[2], ow);
    CHECK_EQ_INT(r.out[0].dims[3], c->oc);
    for (size_t i = 0; i < n_out; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-5);
  }
  ot_result_free(&r);
  free(in), free(w), free(b), free(want);
}

/* 2x2 input, 2x2 kernel, stride 2: each input stamps value x kernel, plus the bias. */
TEST(tconv_bias_hand_stamp) {
  static const float in[4] = {1, 2, 3, 4}, w[4] = {1, 2, 3, 4}, b[1] = {0.5f};
  static const float want[16] = {1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16};
  const int32_t opts[3] = {TFL_PAD_SAME, 2, 2};
  const int32_t d4[4] = {1, 2, 2, 1}, db[1] = {1};
  ot_spec specs[3] = {OT_F32(4, d4, in), OT_F32_CONST(4, d4, w), OT_F32_CONST(1, db, b)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  REQUIRE(ot_run_custom("Convolution2DTransposeBias", 1, opts, sizeof(opts), specs, 3, out, 1,
                        &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 4);
  for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i] + 0.5, 0);
  ot_result_free(&r);
}

TEST(tconv_bias_matches_naive) {
  seed_state = 3;
  static const int paddings[3] = {TFL_PAD_SAME, TFL_PAD_VALID, TFL_PAD_UNKNOWN};
  for (int t = 0; t < 30; t++) {
    tcb_case c = {1 + t % 2,
                  1 + (int)(urand() * 5),
                  1 + (int)(urand() * 5),
                  1 + (int)(urand() * 5),
                  1 + (int)(urand() * 4),
                  1 + (int)(urand() * 4),
                  1 + (int)(urand() * 4),
                  1 + (int)(urand() * 3),
                  1 + (int)(urand() * 3),
                  paddings[t % 3]};
    check_tconv_bias(&c);
  }
}

TEST(tconv_bias_rejects_bad_options) {
  static const float in[4] = {1, 2, 3, 4}, w[4] = {1, 2, 3, 4}, b[2] = {0};
  const int32_t d4[4] = {1, 2, 2, 1}, db[1] = {1}, db2[1] = {2};
  ot_spec specs[3] = {OT_F32(4, d4, in), OT_F32_CONST(4, d4, w), OT_F32_CONST(1, db, b)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  const int32_t zero_stride[3] = {TFL_PAD_SAME, 0, 2};
  CHECK(ot_run_custom("Convolution2DTransposeBias", 1, zero_stride, sizeof(zero_stride), specs, 3,
                      out, 1, &r) != TFL_OK);
  ot_result_free(&r);
  const int32_t ok[3] = {TFL_PAD_SAME, 2, 2};
  CHECK(ot_run_custom("Convolution2DTransposeBias", 1, ok, 8, specs, 3, out, 1, &r) != TFL_OK);
  CHECK(strstr(r.error, "custom_options") != NULL);
  ot_result_free(&r);
  specs[2].dims = db2; /* bias of the wrong size */
  CHECK(ot_run_custom("Convolution2DTransposeBias", 1, ok, sizeof(ok), specs, 3, out, 1, &r) !=
        TFL_OK);
  ot_result_free(&r);
}

/* ---- pooling with argmax, unpooling ------------------------------------------------------- */

/* TfLitePoolParams: padding, stride_w, stride_h, filter_w, filter_h, activation, then the
 * computed padding (unused here). */
static void pool_params(int32_t *p, int padding, int sw, int sh, int fw, int fh, int act) {
  memset(p, 0, 10 * sizeof(int32_t));
  p[0] = padding, p[1] = sw, p[2] = sh, p[3] = fw, p[4] = fh, p[5] = act;
}

TEST(max_pool_argmax_hand_case) {
  /* 4x4, one channel; 2x2 windows, stride 2, VALID. */
  static const float in[16] = {1, 5, 2, 2, 3, 0, 2, 2, -1, -2, 9, 8, -4, -3, 7, 10};
  int32_t p[10];
  pool_params(p, TFL_PAD_VALID, 2, 2, 2, 2, 0);
  const int32_t d[4] = {1, 4, 4, 1};
  ot_spec specs[1] = {OT_F32(4, d, in)};
  ot_spec out[2] = {OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run_custom("MaxPoolingWithArgmax2D", 1, p, sizeof(p), specs, 1, out, 2, &r) == TFL_OK);
  static const float want[4] = {5, 2, -1, 10};
  static const float at[4] = {1, 0, 0, 3}; /* ties keep the first: the 2s at (0, 2) */
  CHECK_EQ_INT(r.out[0].dims[1], 2);
  CHECK_EQ_INT(r.out[1].dims[2], 2);
  for (int i = 0; i < 4; i++) {
    CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
    CHECK_NEAR(ot_f32(&r, 1)[i], at[i] + 0.1f, 0);
  }
  ot_result_free(&r);
  /* SAME with a 3x3 window, stride 2, RELU6: windows clipped at the edges, outputs clamped. */
  pool_params(p, TFL_PAD_SAME, 2, 2, 3, 3, 3);
  REQUIRE(ot_run_custom("MaxPoolingWithArgmax2D", 1, p, sizeof(p), specs, 1, out, 2, &r) == TFL_OK);
  /* out 2x2, padding ((2 - 1) * 2 + 3 - 4) / 2 = 0: window rows/cols {0..2} and {2..3};
   * maxima 9, 9, 9, 10 (clamped to 6) at window positions (2,2), (2,0), (0,2), (1,1) */
  static const float want_same[4] = {6, 6, 6, 6};
  static const float at_same[4] = {8, 6, 2, 4};
  for (int i = 0; i < 4; i++) {
    CHECK_NEAR(ot_f32(&r, 0)[i], want_same[i], 0);
    CHECK_NEAR(ot_f32(&r, 1)[i], at_same[i] + 0.1f, 0);
  }
  ot_result_free(&r);
}

TEST(max_unpooling_inverts_argmax) {
  /* 2x2 values with window positions; filter 2x2, stride 2: output 4x4 */
  static const float in[8] = {5, 50, 2, 20, -1, -10, 10, 100}; /* two channels */
  static const float idx[8] = {1.1f, 3.1f, 0.1f, 2.1f, 0.1f, 1.1f, 3.1f, 0.1f};
  int32_t p[10];
  pool_params(p, TFL_PAD_VALID, 2, 2, 2, 2, 0);
  const int32_t d[4] = {1, 2, 2, 2};
  ot_spec specs[2] = {OT_F32(4, d, in), OT_F32(4, d, idx)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  REQUIRE(ot_run_custom("MaxUnpooling2D", 1, p, sizeof(p), specs, 2, out, 1, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 4);
  CHECK_EQ_INT(r.out[0].dims[2], 4);
  float want[32] = {0};
  /* channel 0: window origin + position: (0,0)+(0,1), (0,2)+(0,0), (2,0)+(0,0), (2,2)+(1,1) */
  want[(0 * 4 + 1) * 2] = 5;
  want[(0 * 4 + 2) * 2] = 2;
  want[(2 * 4 + 0) * 2] = -1;
  want[(3 * 4 + 3) * 2] = 10;
  /* channel 1: 50 at (1,1); 20 at (1,2); -10 at (2,1); 100 at (2,2) */
  want[(1 * 4 + 1) * 2 + 1] = 50;
  want[(1 * 4 + 2) * 2 + 1] = 20;
  want[(2 * 4 + 1) * 2 + 1] = -10;
  want[(2 * 4 + 2) * 2 + 1] = 100;
  for (int i = 0; i < 32; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
  /* An index that leaves the output fails the op. */
  static const float bad[8] = {1.1f, 3.1f, 0.1f, 2.1f, 0.1f, 1.1f, 3.1f, 9.1f};
  specs[1].data = bad;
  CHECK(ot_run_custom("MaxUnpooling2D", 1, p, sizeof(p), specs, 2, out, 1, &r) != TFL_OK);
  CHECK(strstr(r.error, "outside") != NULL);
  ot_result_free(&r);
}

/* LiteRT's op: int32 positions in each batch's flattened output (the VALID case of LiteRT's own
 * test: stride 3 x 2, filter 2 x 2, input [2, 2, 4, 2] -> output [2, 4, 11, 2]). */
TEST(litert_max_unpooling) {
  float in[32];
  static const int32_t idx[32] = {2, 23, 8,  9, 12, 15, 40, 43, 44, 47, 72, 75, 80, 79, 62, 65,
                                  0, 1,  30, 7, 14, 35, 42, 21, 68, 69, 50, 51, 56, 5,  86, 63};
  for (int i = 0; i < 32; i++) in[i] = (float)(i + 1);
  int32_t p[10];
  pool_params(p, TFL_PAD_VALID, 3, 2, 2, 2, 0);
  const int32_t d[4] = {2, 2, 4, 2};
  ot_spec specs[2] = {OT_F32(4, d, in), OT_IN(TFL_INT32, 4, d, idx)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  REQUIRE(ot_run_custom("LiteRtMaxUnpooling2D", 1, p, sizeof(p), specs, 2, out, 1, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[0], 2);
  CHECK_EQ_INT(r.out[0].dims[1], 4);
  CHECK_EQ_INT(r.out[0].dims[2], 11);
  CHECK_EQ_INT(r.out[0].dims[3], 2);
  float want[176] = {0};
  for (int i = 0; i < 32; i++) want[(i / 16) * 88 + idx[i]] = in[i];
  for (int i = 0; i < 176; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  CHECK_NEAR(ot_f32(&r, 0)[2], 1, 0);        /* first batch, index 2 */
  CHECK_NEAR(ot_f32(&r, 0)[88 + 86], 31, 0); /* second batch, index 86 */
  ot_result_free(&r);
  /* SAME: output in * stride */
  pool_params(p, TFL_PAD_SAME, 3, 2, 2, 2, 0);
  REQUIRE(ot_run_custom("LiteRtMaxUnpooling2D", 1, p, sizeof(p), specs, 2, out, 1, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], 4);
  CHECK_EQ_INT(r.out[0].dims[2], 12);
  ot_result_free(&r);
  /* an index past the batch's output */
  int32_t bad[32];
  memcpy(bad, idx, sizeof(bad));
  bad[5] = 96;
  specs[1].data = bad;
  CHECK(ot_run_custom("LiteRtMaxUnpooling2D", 1, p, sizeof(p), specs, 2, out, 1, &r) != TFL_OK);
  ot_result_free(&r);
}

/* ---- Landmarks2TransformMatrix -------------------------------------------------------------- */

static uint8_t *l2t_v2_options(const int64_t *subset, int n, int left, int right, double target,
                               int oh, int ow, double sx, double sy, size_t *size) {
  fxb_map *m = fxb_new();
  fxb_ints(m, "subset_idxs", subset, n);
  fxb_int(m, "left_rotation_idx", left);
  fxb_int(m, "right_rotation_idx", right);
  fxb_float(m, "target_rotation_radians", target);
  fxb_int(m, "output_height", oh);
  fxb_int(m, "output_width", ow);
  fxb_float(m, "scale_x", sx);
  fxb_float(m, "scale_y", sy);
  uint8_t *b = fxb_finish(m, 0, size);
  fxb_free(m);
  return b;
}

/* v2, no rotation: shift to the landmarks' box centre, scale by box size / output size, shift
 * by half the output. Landmarks (x, y, z): 0 (0,0), 1 (1,0), 2 (10,20), 3 (30,60). */
TEST(landmarks_to_matrix_v2_hand_case) {
  static const float lm[12] = {0, 0, 0, 1, 0, 0, 10, 20, 5, 30, 60, 7};
  const int64_t subset[2] = {2, 3};
  size_t size;
  uint8_t *opts = l2t_v2_options(subset, 2, 0, 1, 0.0, 4, 4, 1.0, 1.5, &size);
  const int32_t d[3] = {1, 4, 3};
  ot_spec specs[1] = {OT_F32(3, d, lm)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  REQUIRE(ot_run_custom("Landmarks2TransformMatrix", 2, opts, size, specs, 1, out, 1, &r) ==
          TFL_OK);
  /* box 20 x 40 centred (20, 40): scale 20/4 = 5 and 1.5 * 40/4 = 15 */
  static const float want[16] = {5, 0, 0, 20 - 2 * 5, 0, 15, 0, 40 - 2 * 15,
                                 0, 0, 1, 0,          0, 0,  0, 1};
  CHECK_EQ_INT(r.out[0].ndim, 3);
  for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-5);
  ot_result_free(&r);
  free(opts);
}

/* v2 with rotation against the same construction in double: rotate the subset by
 * r = target - angle(left -> right), take its box, rotate the centre back, then
 * T = shift(centre) * rot(-r) * scale * shift(-out / 2). */
TEST(landmarks_to_matrix_v2_rotated) {
  seed_state = 9;
  for (int t = 0; t < 10; t++) {
    float lm[8 * 3];
    for (int i = 0; i < 24; i++) lm[i] = (float)(urand() * 200);
    const int64_t subset[5] = {1, 2, 4, 6, 7}; /* odd: the last index repeats */
    const double target = urand() * 3 - 1.5, sx = 0.5 + urand(), sy = 0.5 + urand();
    const int oh = 64, ow = 96;
    size_t size;
    uint8_t *opts = l2t_v2_options(subset, 5, 0, 3, target, oh, ow, sx, sy, &size);
    const int32_t d[3] = {1, 8, 3};
    ot_spec specs[1] = {OT_F32(3, d, lm)};
    ot_spec out[1] = OUTS1;
    ot_result r;
    REQUIRE(ot_run_custom("Landmarks2TransformMatrix", 2, opts, size, specs, 1, out, 1, &r) ==
            TFL_OK);
    const double r_ = target - atan2((double)lm[3 * 3 + 1] - lm[1], (double)lm[3 * 3] - lm[0]);
    double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
    for (int i = 0; i < 5; i++) {
      const double x = lm[subset[i] * 3], y = lm[subset[i] * 3 + 1];
      const double rx = cos(r_) * x - sin(r_) * y, ry = sin(r_) * x + cos(r_) * y;
      lo_x = fmin(lo_x, rx), hi_x = fmax(hi_x, rx), lo_y = fmin(lo_y, ry), hi_y = fmax(hi_y, ry);
    }
    const double mx = (lo_x + hi_x) / 2, my = (lo_y + hi_y) / 2;
    const double cx = cos(-r_) * mx - sin(-r_) * my, cy = sin(-r_) * mx + cos(-r_) * my;
    const double kx = sx * (hi_x - lo_x) / ow, ky = sy * (hi_y - lo_y) / oh;
    const double c = cos(-r_), s = sin(-r_);
    /* shift(c) * rot * diag(kx, ky) * shift(-ow/2, -oh/2) */
    const double want[16] = {c * kx, -s * ky, 0, cx - c * kx * ow / 2 + s * ky * oh / 2,
                             s * kx, c * ky,  0, cy - s * kx * ow / 2 - c * ky * oh / 2,
                             0,      0,       1, 0,
                             0,      0,       0, 1};
    for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 2e-3 * (1 + fabs(want[i])));
    ot_result_free(&r);
    free(opts);
  }
}

/* v1 against the construction in double: alpha = -atan(dy / dx) between the rotation
 * landmarks; the subset rotated by alpha gives a box (times bbox_size_multiplier); the matrix
 * maps output pixels to input pixels: to_absolute * R(-alpha, box centre) * S(box) *
 * to_relative, written into a 4x4 with z passed through. */
TEST(landmarks_to_matrix_v1) {
  seed_state = 4;
  for (int t = 0; t < 8; t++) {
    float lm[6 * 3];
    for (int i = 0; i < 18; i++) lm[i] = (float)(urand() * 256);
    const int64_t subset[4] = {0, 2, 3, 5}, in_hw[2] = {200, 300}, out_hw[2] = {64, 48};
    const double mult = 1.5;
    const int range = 256;
    fxb_map *m = fxb_new();
    fxb_ints(m, "input_hw", in_hw, 2);
    fxb_ints(m, "output_hw", out_hw, 2);
    fxb_int(m, "dimensions", 3);
    fxb_int(m, "landmarks_range", range);
    fxb_float(m, "bbox_size_multiplier", mult);
    fxb_int(m, "left_rotation_idx", 1);
    fxb_int(m, "right_rotation_idx", 4);
    fxb_ints(m, "subset", subset, 4);
    size_t size;
    uint8_t *opts = fxb_finish(m, 0, &size);
    fxb_free(m);
    const int32_t d[4] = {1, 1, 1, 18};
    ot_spec specs[1] = {OT_F32(4, d, lm)};
    ot_spec out[1] = OUTS1;
    ot_result r;
    REQUIRE(ot_run_custom("Landmarks2TransformMatrix", 1, opts, size, specs, 1, out, 1, &r) ==
            TFL_OK);
    const double a = -atan(((double)lm[4 * 3 + 1] - lm[1 * 3 + 1]) / ((double)lm[4 * 3] - lm[3]));
    double lo_x = 1e5, lo_y = 1e5, hi_x = -1e5, hi_y = -1e5;
    for (int i = 0; i < 4; i++) {
      const double x = lm[subset[i] * 3], y = lm[subset[i] * 3 + 1];
      const double rx = x * cos(a) - y * sin(a), ry = x * sin(a) + y * cos(a);
      lo_x = fmin(lo_x, rx), hi_x = fmax(hi_x, rx), lo_y = fmin(lo_y, ry), hi_y = fmax(hi_y, ry);
    }
    const double bw = (hi_x - lo_x) * mult, bh = (hi_y - lo_y) * mult;
    const double mx = (hi_x + lo_x) / 2, my = (hi_y + lo_y) / 2;
    const double rmx = mx * cos(-a) - my * sin(-a), rmy = mx * sin(-a) + my * cos(-a);
    const double hw = (in_hw[1] - 1.0) / 2, hh = (in_hw[0] - 1.0) / 2;
    const double ux = 2.0 / (out_hw[1] - 1.0), uy = 2.0 / (out_hw[0] - 1.0);
    const double c = cos(-a), s = sin(-a);
    const double tx = rmx / range * 2 - 1, ty = rmy / range * 2 - 1;
    /* R * S * to_relative: columns x, y, constant */
    const double m00 = c * bw / range * ux, m01 = -s * bh / range * uy;
    const double m02 = -c * bw / range - (-s * bh / range) + tx;
    const double m10 = s * bw / range * ux, m11 = c * bh / range * uy;
    const double m12 = -s * bw / range - c * bh / range + ty;
    const double want[16] = {
        hw * m00, hw * m01, 0, hw * m02 + hw, hh * m10, hh * m11, 0, hh * m12 + hh, 0, 0, 1, 0, 0,
        0,        0,        1};
    for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-3 * (1 + fabs(want[i])));
    ot_result_free(&r);
    free(opts);
  }
}

TEST(landmarks_to_matrix_rejects_bad_indices) {
  static const float lm[12] = {0};
  const int64_t subset[2] = {2, 4}; /* 4 is past the 4 landmarks */
  size_t size;
  uint8_t *opts = l2t_v2_options(subset, 2, 0, 1, 0.0, 4, 4, 1.0, 1.0, &size);
  const int32_t d[3] = {1, 4, 3};
  ot_spec specs[1] = {OT_F32(3, d, lm)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  CHECK(ot_run_custom("Landmarks2TransformMatrix", 2, opts, size, specs, 1, out, 1, &r) != TFL_OK);
  ot_result_free(&r);
  free(opts);
  opts = l2t_v2_options(subset, 0, 0, 1, 0.0, 4, 4, 1.0, 1.0, &size); /* empty subset */
  CHECK(ot_run_custom("Landmarks2TransformMatrix", 2, opts, size, specs, 1, out, 1, &r) != TFL_OK);
  ot_result_free(&r);
  free(opts);
  /* version 3 does not exist */
  CHECK(ot_run_custom("Landmarks2TransformMatrix", 3, NULL, 0, specs, 1, out, 1, &r) != TFL_OK);
  ot_result_free(&r);
}

/* ---- TransformLandmarks -----------------------------------------------------------------------
 */

/* x' = m0 x + m1 y + m3 * scale, y' = m4 x + m5 y + m7 * scale; z passes through. */
TEST(transform_landmarks_v1_and_v2) {
  static const float mat[16] = {2, 1, 9, 10, -1, 3, 9, 20, 0, 0, 1, 0, 0, 0, 0, 1};
  static const float lm[2 * 2 * 6] = {1, 2, 3, 4, 5, 6, -1, 0, 1, 0, -1, 2,
                                      7, 8, 9, 0, 0, 0, 2,  2, 2, 3, 3,  3};
  fxb_map *m = fxb_new();
  fxb_int(m, "dimensions", 3);
  fxb_float(m, "scale", 0.5);
  size_t size;
  uint8_t *opts = fxb_finish(m, 0, &size);
  fxb_free(m);
  const int32_t d4[4] = {1, 2, 2, 6}, dm[3] = {1, 4, 4};
  ot_spec specs[2] = {OT_F32(4, d4, lm), OT_F32(3, dm, mat)};
  ot_spec out[1] = OUTS1;
  ot_result r;
  REQUIRE(ot_run_custom("TransformLandmarks", 1, opts, size, specs, 2, out, 1, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 4);
  for (int i = 0; i < 8; i++) {
    const float x = lm[3 * i], y = lm[3 * i + 1];
    CHECK_NEAR(ot_f32(&r, 0)[3 * i], 2 * x + y + 5, 1e-6);
    CHECK_NEAR(ot_f32(&r, 0)[3 * i + 1], -x + 3 * y + 10, 1e-6);
    CHECK_NEAR(ot_f32(&r, 0)[3 * i + 2], lm[3 * i + 2], 0);
  }
  ot_result_free(&r);
  free(opts);
  /* version 2: [1, landmarks, 2], no scale */
  const int32_t d3[3] = {1, 6, 2};
  specs[0].ndim = 3;
  specs[0].dims = d3;
  REQUIRE(ot_run_custom("TransformLandmarks", 2, NULL, 0, specs, 2, out, 1, &r) == TFL_OK);
  for (int i = 0; i < 6; i++) {
    const float x = lm[2 * i], y = lm[2 * i + 1];
    CHECK_NEAR(ot_f32(&r, 0)[2 * i], 2 * x + y + 10, 1e-6);
    CHECK_NEAR(ot_f32(&r, 0)[2 * i + 1], -x + 3 * y + 20, 1e-6);
  }
  ot_result_free(&r);
  /* 4 values per landmark are neither 2-D nor 3-D */
  const int32_t d_bad[3] = {1, 3, 4};
  specs[0].dims = d_bad;
  CHECK(ot_run_custom("TransformLandmarks", 2, NULL, 0, specs, 2, out, 1, &r) != TFL_OK);
  ot_result_free(&r);
}

/* ---- TransformTensor / TransformTensorBilinear ---------------------------------------------- */

/* Bilinear sampling at (x, y) of an h x w x c image, zero outside; (x, y) out of
 * [0, w - 1] x [0, h - 1] gives 0. */
static double naive_sample(const float *im, int h, int w, int c, double x, double y, int z) {
  if (x < 0 || y < 0 || x > w - 1 || y > h - 1) return 0;
  const int x0 = (int)floor(x), y0 = (int)floor(y);
  double v = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      const int yy = y0 + dy, xx = x0 + dx;
      if (yy >= h || xx >= w) continue;
      const double wt = (dx ? x - x0 : 1 - (x - x0)) * (dy ? y - y0 : 1 - (y - y0));
      v += wt * im[((size_t)yy * w + xx) * c + z];
    }
  return v;
}

static void check_transform_tensor(int version, const float *mat) {
  enum { H = 5, W = 7, C = 2, OH = 6, OW = 4 };
  float im[H * W * C];
  for (int i = 0; i < H * W * C; i++) im[i] = (float)(urand() * 10 - 5);
  const int32_t di[4] = {1, H, W, C}, dm[3] = {1, 4, 4}, dout[4] = {1, OH, OW, C};
  ot_spec specs[2] = {OT_F32(4, di, im), OT_F32(3, dm, mat)};
  ot_spec out[1] = {{.type = TFL_FLOAT32, .ndim = 4, .dims = dout}};
  fxb_map *m = fxb_new();
  if (version == 1) {
    const int64_t size_hw[2] = {OH, OW};
    fxb_ints(m, "output_size", size_hw, 2);
    fxb_string(m, "mode", "bilinear");
  } else {
    fxb_int(m, "output_height", OH);
    fxb_int(m, "output_width", OW);
  }
  size_t size;
  uint8_t *opts = fxb_finish(m, 0, &size);
  fxb_free(m);
  ot_result r;
  REQUIRE(ot_run_custom(version == 1 ? "TransformTensor" : "TransformTensorBilinear", version, opts,
                        size, specs, 2, out, 1, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[1], OH);
  CHECK_EQ_INT(r.out[0].dims[2], OW);
  /* version 2 samples pixel centres: T' = S(-0.5) T S(+0.5) */
  const double shift = version == 2 ? 0.5 : 0.0;
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++) {
      const double x = mat[0] * (ox + shift) + mat[1] * (oy + shift) + mat[3] - shift;
      const double y = mat[4] * (ox + shift) + mat[5] * (oy + shift) + mat[7] - shift;
      for (int z = 0; z < C; z++)
        CHECK_NEAR(ot_f32(&r, 0)[(oy * OW + ox) * C + z], naive_sample(im, H, W, C, x, y, z), 1e-5);
    }
  ot_result_free(&r);
  free(opts);
}

TEST(transform_tensor_bilinear) {
  seed_state = 21;
  static const float identity[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  static const float affine[16] = {0.75f, 0.25f, 0, 0.5f, -0.2f, 0.6f, 0, 1.25f,
                                   0,     0,     1, 0,    0,     0,    0, 1};
  static const float outside[16] = {1, 0, 0, 20, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  for (int v = 1; v <= 2; v++) {
    check_transform_tensor(v, identity);
    check_transform_tensor(v, affine);
    check_transform_tensor(v, outside);
  }
  /* Only bilinear sampling exists. */
  enum { N = 2 * 2 };
  static const float im[N] = {1, 2, 3, 4};
  const int32_t di[4] = {1, 2, 2, 1}, dm[3] = {1, 4, 4};
  ot_spec specs[2] = {OT_F32(4, di, im), OT_F32(3, dm, identity)};
  ot_spec out[1] = {{.type = TFL_FLOAT32, .ndim = 4, .dims = di}};
  fxb_map *m = fxb_new();
  fxb_string(m, "mode", "nearest");
  size_t size;
  uint8_t *opts = fxb_finish(m, 0, &size);
  fxb_free(m);
  ot_result r;
  CHECK(ot_run_custom("TransformTensor", 1, opts, size, specs, 2, out, 1, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
  free(opts);
}

/* ---- the selfie segmentation model ---------------------------------------------------------- */

/* The float32 payload of a .npy file holding exactly n values (its last n * 4 bytes). */
static float *load_npy_f32(const char *path, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  float *v = malloc(n * sizeof(float));
  int ok = v && size >= (long)(n * sizeof(float) + 10) &&
           fseek(f, size - (long)(n * sizeof(float)), SEEK_SET) == 0 &&
           fread(v, sizeof(float), n, f) == n;
  fclose(f);
  if (!ok) {
    free(v);
    return NULL;
  }
  return v;
}

static double mean_region(const float *mask, int y0, int y1, int x0, int x1) {
  double sum = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) sum += mask[y * 256 + x];
  return sum / ((double)(y1 - y0) * (x1 - x0));
}

/* Runs the model on case<k>'s input; checks the reference output (atol 1e-3, rtol 1e-3, the
 * suite's tolerance for this model); case 1 (Grace Hopper) also checks the mask covers her
 * (the middle of the picture) and not the top corners. */
static void check_selfie_case(const char *shared, int k) {
  char path[1024];
  enum { PIXELS = 256 * 256 };
  snprintf(path, sizeof(path), "%s/reference/models/mediapipe/selfie_segmentation.tflite", shared);
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  char err[256];
  REQUIRE(tfl_model_load_file(path, &model, err, sizeof(err)) == TFL_OK);
  REQUIRE(tfl_interpreter_create(model, NULL, &interp, err, sizeof(err)) == TFL_OK);
  snprintf(path, sizeof(path), "%s/reference/selfie_segmentation/case%d/input_0.npy", shared, k);
  float *in = load_npy_f32(path, (size_t)PIXELS * 3);
  snprintf(path, sizeof(path), "%s/reference/selfie_segmentation/case%d/output_0.npy", shared, k);
  float *want = load_npy_f32(path, PIXELS);
  float *mask = malloc(PIXELS * sizeof(float));
  CHECK(in && want && mask);
  if (in && want && mask && tfl_interpreter_allocate_tensors(interp) == TFL_OK &&
      tfl_tensor_copy_from(tfl_interpreter_input(interp, 0), in, (size_t)PIXELS * 12) == TFL_OK) {
    CHECK(tfl_interpreter_invoke(interp) == TFL_OK);
    CHECK(tfl_tensor_copy_to(tfl_interpreter_output(interp, 0), mask, PIXELS * 4) == TFL_OK);
    for (int i = 0; i < PIXELS; i++)
      if (!(fabs(mask[i] - want[i]) <= 1e-3 + 1e-3 * fabs(want[i]))) {
        CHECK_NEAR(mask[i], want[i], 1e-3 + 1e-3 * fabs(want[i]));
        break;
      }
    if (k == 1) {
      CHECK(mean_region(mask, 64, 192, 80, 176) > 0.8);
      CHECK(mean_region(mask, 0, 48, 0, 48) < 0.05);
      CHECK(mean_region(mask, 0, 48, 208, 256) < 0.05);
    }
  } else {
    CHECK(0);
  }
  free(in), free(want), free(mask);
  tfl_interpreter_free(interp);
  tfl_model_free(model);
}

TEST(selfie_segmentation_model) {
  const char *shared = getenv("TFL_SHARED");
  if (!shared) {
    printf("  (TFL_SHARED not set: the selfie segmentation model is skipped)\n");
    return;
  }
  check_selfie_case(shared, 1);
  check_selfie_case(shared, 2);
}

int main(void) {
  RUN(tconv_bias_hand_stamp);
  RUN(tconv_bias_matches_naive);
  RUN(tconv_bias_rejects_bad_options);
  RUN(max_pool_argmax_hand_case);
  RUN(max_unpooling_inverts_argmax);
  RUN(litert_max_unpooling);
  RUN(landmarks_to_matrix_v2_hand_case);
  RUN(landmarks_to_matrix_v2_rotated);
  RUN(landmarks_to_matrix_v1);
  RUN(landmarks_to_matrix_rejects_bad_indices);
  RUN(transform_landmarks_v1_and_v2);
  RUN(transform_tensor_bilinear);
  RUN(selfie_segmentation_model);
  return test_summary();
}

#else
int main(void) {
  printf("  (built without custom ops: MediaPipe op tests skipped)\n");
  return test_summary();
}
#endif
