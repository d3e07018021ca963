/* RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR: hand-computed cases for each coordinate mode,
 * then up- and downsampling of non-square images with every align_corners / half_pixel_centers
 * combination against naive implementations of TFLite's formulas written below (float32
 * coordinates as TFLite computes them; bilinear values summed in double for float, TFLite's
 * 10-bit fixed point for int8/int16), constant and run-time sizes, and bad models. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

typedef struct resize_cfg {
  int op; /* TFL_OP_RESIZE_BILINEAR or TFL_OP_RESIZE_NEAREST_NEIGHBOR */
  tfl_type type;
  int32_t n, h, w, c, out_h, out_w;
  int align, half;
  int size_const, data_const;
} resize_cfg;

static tfl_status run_resize(const resize_cfg *c, const void *x, ot_result *r) {
  const int32_t size[2] = {c->out_h, c->out_w};
  ot_spec in[2] = {OT_IN(c->type, 4, ((const int32_t[]){c->n, c->h, c->w, c->c}), x),
                   OT_IN(TFL_INT32, 1, DIMS(2), size)};
  in[0].constant = c->data_const;
  in[1].constant = c->size_const;
  ot_spec out[1] = {OT_OUT(c->type)};
  if (c->op == TFL_OP_RESIZE_BILINEAR) {
    mb_field opts[] = {MB_BYTE(2, c->align), MB_BYTE(3, c->half), MB_FIELDS_END};
    return ot_run(c->op, 1, in, 2, out, 1, TFL_OPTS_RESIZE_BILINEAR, opts, r);
  }
  mb_field opts[] = {MB_BYTE(0, c->align), MB_BYTE(1, c->half), MB_FIELDS_END};
  return ot_run(c->op, 1, in, 2, out, 1, TFL_OPTS_RESIZE_NEAREST_NEIGHBOR, opts, r);
}

static int out_shape_ok(const resize_cfg *c, const ot_result *r) {
  const ot_tensor *t = &r->out[0];
  return t->ndim == 4 && t->dims[0] == c->n && t->dims[1] == c->out_h &&
         t->dims[2] == c->out_w && t->dims[3] == c->c;
}

/* --- hand-computed ---------------------------------------------------------------------- */

static void check_bilinear_2x2(int32_t oh, int32_t ow, int align, int half, const float *want) {
  const float x[4] = {1, 2, 3, 4}; /* [[1 2] [3 4]] */
  resize_cfg c = {TFL_OP_RESIZE_BILINEAR, TFL_FLOAT32, 1, 2, 2, 1, oh, ow, align, half, 1, 0};
  ot_result r;
  if (run_resize(&c, x, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "%s", r.error);
    return;
  }
  CHECK(out_shape_ok(&c, &r));
  for (int i = 0; i < oh * ow; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-6);
  ot_result_free(&r);
}

TEST(bilinear_by_hand) {
  /* scale 2/3: rows sample 0, 2/3 and 4/3 (clamped to the last row). */
  const float plain[9] = {1, 5.f / 3, 2, 7.f / 3, 3, 10.f / 3, 3, 11.f / 3, 4};
  check_bilinear_2x2(3, 3, 0, 0, plain);
  /* align_corners: scale 1/2, exact midpoints. */
  const float aligned[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
  check_bilinear_2x2(3, 3, 1, 0, aligned);
  /* half_pixel_centers, 1x4 from 1x2: samples -0.25, 0.25, 0.75, 1.25 -> edges repeat. */
  const float x[2] = {1, 2};
  resize_cfg c = {TFL_OP_RESIZE_BILINEAR, TFL_FLOAT32, 1, 1, 2, 1, 1, 4, 0, 1, 1, 1};
  ot_result r;
  REQUIRE(run_resize(&c, x, &r) == TFL_OK);
  const float want[4] = {1, 1.25f, 1.75f, 2};
  for (int i = 0; i < 4; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 1e-6);
  ot_result_free(&r);
  /* Exact 2x upscale: the input, midpoints, and the edge repeated. */
  const float up2[16] = {1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4};
  check_bilinear_2x2(4, 4, 0, 0, up2);
}

TEST(nearest_by_hand) {
  const int32_t x[3] = {1, 2, 3};
  const int32_t plain[5] = {1, 1, 2, 2, 3};   /* floor(i * 0.6) */
  const int32_t aligned[5] = {1, 2, 2, 3, 3}; /* round(i * 0.5), halves away from zero */
  const int32_t half[5] = {1, 1, 2, 3, 3};    /* floor((i + 0.5) * 0.6) */
  const int32_t *want[3] = {plain, aligned, half};
  for (int k = 0; k < 3; k++) {
    resize_cfg c = {TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_INT32, 1, 1, 3, 1, 1, 5,
                    k == 1, k == 2, 1, 0};
    ot_result r;
    REQUIRE(run_resize(&c, x, &r) == TFL_OK);
    CHECK(out_shape_ok(&c, &r));
    CHECK(memcmp(r.out[0].data, want[k], sizeof(plain)) == 0);
    ot_result_free(&r);
  }
}

/* --- references ------------------------------------------------------------------------- */

static float ref_scale(int32_t in, int32_t out, int align) {
  return align && out > 1 ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
}

/* Bilinear sample position of output index i: lower and upper neighbours, fraction. */
static void ref_taps(int32_t i, int32_t in, int32_t out, const resize_cfg *c, int32_t *lo,
                     int32_t *hi, float *frac) {
  const float s = ref_scale(in, out, c->align);
  const float src = c->half ? ((float)i + 0.5f) * s - 0.5f : (float)i * s;
  *lo = (int32_t)floorf(src);
  if (*lo < 0) *lo = 0;
  *hi = (int32_t)ceilf(src);
  if (*hi > in - 1) *hi = in - 1;
  *frac = src - (float)*lo;
}

static int32_t ref_nearest(int32_t i, int32_t in, int32_t out, const resize_cfg *c) {
  const float s = ref_scale(in, out, c->align);
  const float src = ((float)i + (c->half ? 0.5f : 0.0f)) * s;
  int32_t k = c->align ? (int32_t)roundf(src) : (int32_t)floorf(src);
  if (k > in - 1) k = in - 1;
  if (k < 0) k = 0;
  return k;
}

static size_t at(const resize_cfg *c, int32_t b, int32_t y, int32_t x, int32_t ch) {
  return (((size_t)b * (size_t)c->h + (size_t)y) * (size_t)c->w + (size_t)x) * (size_t)c->c +
         (size_t)ch;
}

static double ref_bilinear_f64(const resize_cfg *c, const float *in, int32_t b, int32_t oy,
                               int32_t ox, int32_t ch) {
  int32_t y0, y1, x0, x1;
  float fy, fx;
  ref_taps(oy, c->h, c->out_h, c, &y0, &y1, &fy);
  ref_taps(ox, c->w, c->out_w, c, &x0, &x1, &fx);
  return in[at(c, b, y0, x0, ch)] * (1.0 - fy) * (1.0 - fx) +
         in[at(c, b, y0, x1, ch)] * (1.0 - fy) * fx + in[at(c, b, y1, x0, ch)] * fy * (1.0 - fx) +
         in[at(c, b, y1, x1, ch)] * (double)fy * fx;
}

/* uint8: float weights summed in TFLite's order, plus 0.5, truncated. */
static uint8_t ref_bilinear_u8(const resize_cfg *c, const uint8_t *in, int32_t b, int32_t oy,
                               int32_t ox, int32_t ch) {
  int32_t y0, y1, x0, x1;
  float fy, fx;
  ref_taps(oy, c->h, c->out_h, c, &y0, &y1, &fy);
  ref_taps(ox, c->w, c->out_w, c, &x0, &x1, &fx);
  float v = (float)in[at(c, b, y0, x0, ch)] * ((1 - fy) * (1 - fx));
  v += (float)in[at(c, b, y0, x1, ch)] * ((1 - fy) * fx);
  v += (float)in[at(c, b, y1, x0, ch)] * (fy * (1 - fx));
  v += (float)in[at(c, b, y1, x1, ch)] * (fy * fx);
  return (uint8_t)(v + 0.5f);
}

/* int8 / int16: positions in 1/1024 units, products with 20 fractional bits, rounded half away
 * from zero. */
static void ref_itaps(int32_t i, int32_t in, int32_t out, const resize_cfg *c, int32_t *lo,
                      int32_t *hi, int64_t *pos) {
  int64_t s = c->align && out > 1 ? (1024 * (in - 1) + (out - 1) / 2) / (out - 1)
                                  : (1024 * in + out / 2) / out;
  *pos = c->half ? i * s + s / 2 - 512 : i * s;
  *lo = *pos < 0 ? 0 : (int32_t)(*pos / 1024);
  *hi = (int32_t)((*pos + 1023) / 1024);
  if (*hi > in - 1) *hi = in - 1;
}

static int64_t ref_bilinear_int(const resize_cfg *c, const int64_t *in, int32_t b, int32_t oy,
                                int32_t ox, int32_t ch) {
  int32_t y0, y1, x0, x1;
  int64_t py, px;
  ref_itaps(oy, c->h, c->out_h, c, &y0, &y1, &py);
  ref_itaps(ox, c->w, c->out_w, c, &x0, &x1, &px);
  const int64_t fy = py - 1024 * y0, fx = px - 1024 * x0;
  const int64_t sum = in[at(c, b, y0, x0, ch)] * (1024 - fy) * (1024 - fx) +
                      in[at(c, b, y1, x0, ch)] * fy * (1024 - fx) +
                      in[at(c, b, y0, x1, ch)] * (1024 - fy) * fx +
                      in[at(c, b, y1, x1, ch)] * fy * fx;
  const int64_t half = 1 << 19;
  return (sum + (sum > 0 ? half : -half)) / (1 << 20);
}

/* Reads element i of an integer tensor as int64. */
static int64_t int_at(tfl_type type, const void *p, size_t i) {
  switch (type) {
    case TFL_UINT8:
      return ((const uint8_t *)p)[i];
    case TFL_INT8:
      return ((const int8_t *)p)[i];
    case TFL_INT16:
      return ((const int16_t *)p)[i];
    default:
      return ((const int32_t *)p)[i];
  }
}

static void *make_input(const resize_cfg *c, size_t n, unsigned seed) {
  uint32_t s = seed * 2654435761u + 3u;
  void *p = malloc(n * 4 + 1);
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    const uint32_t u = s >> 8;
    switch (c->type) {
      case TFL_FLOAT32:
        ((float *)p)[i] = (float)u / (float)(1u << 24) * 20.0f - 10.0f;
        break;
      case TFL_UINT8:
        ((uint8_t *)p)[i] = (uint8_t)u;
        break;
      case TFL_INT8:
        ((int8_t *)p)[i] = (int8_t)(uint8_t)u;
        break;
      case TFL_INT16:
        ((int16_t *)p)[i] = (int16_t)(uint16_t)u;
        break;
      default:
        ((int32_t *)p)[i] = (int32_t)u;
    }
  }
  return p;
}

/* Compares every output element with the reference for the op and type. */
static void check_resize(const resize_cfg *c, unsigned seed) {
  const size_t n_in = (size_t)c->n * c->h * c->w * c->c;
  void *x = make_input(c, n_in, seed);
  int64_t *xi = malloc((n_in + 1) * sizeof(int64_t));
  if (c->type != TFL_FLOAT32)
    for (size_t i = 0; i < n_in; i++) xi[i] = int_at(c->type, x, i);
  ot_result r;
  if (run_resize(c, x, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  } else if (!out_shape_ok(c, &r)) {
    test_fail(__FILE__, __LINE__, "seed %u: wrong output shape", seed);
  } else {
    int bad = 0;
    size_t o = 0;
    for (int32_t b = 0; b < c->n; b++)
      for (int32_t y = 0; y < c->out_h; y++)
        for (int32_t xo = 0; xo < c->out_w; xo++)
          for (int32_t ch = 0; ch < c->c; ch++, o++) {
            if (c->op == TFL_OP_RESIZE_NEAREST_NEIGHBOR) {
              const size_t src = at(c, b, ref_nearest(y, c->h, c->out_h, c),
                                    ref_nearest(xo, c->w, c->out_w, c), ch);
              bad += int_at(c->type, r.out[0].data, o) != int_at(c->type, x, src);
            } else if (c->type == TFL_FLOAT32) {
              const double want = ref_bilinear_f64(c, x, b, y, xo, ch);
              bad += fabs(ot_f32(&r, 0)[o] - want) > 1e-5 * (1 + fabs(want));
            } else if (c->type == TFL_UINT8) {
              bad += ((uint8_t *)r.out[0].data)[o] != ref_bilinear_u8(c, x, b, y, xo, ch);
            } else {
              bad += int_at(c->type, r.out[0].data, o) != ref_bilinear_int(c, xi, b, y, xo, ch);
            }
          }
    if (bad)
      test_fail(__FILE__, __LINE__, "seed %u: %d of %zu elements differ (%dx%d -> %dx%d, "
                "align %d, half %d)", seed, bad, o, (int)c->h, (int)c->w, (int)c->out_h,
                (int)c->out_w, c->align, c->half);
  }
  ot_result_free(&r);
  free(x);
  free(xi);
}

/* Every option combination TFLite accepts, over up/down/mixed and degenerate sizes. */
static void check_all_modes(int op, tfl_type type, unsigned seed) {
  static const int32_t sizes[][4] = {
      {3, 5, 7, 11},  /* upsample, non-square */
      {8, 6, 3, 4},   /* downsample */
      {4, 4, 8, 8},   /* exact 2x */
      {5, 3, 2, 9},   /* down in height, up in width */
      {1, 1, 3, 2},   /* from a single pixel */
      {4, 6, 1, 1},   /* to a single pixel */
      {7, 5, 7, 5},   /* same size */
  };
  /* TFLite's nearest neighbour kernel also accepts both options at once. */
  const int modes[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
  const int n_modes = op == TFL_OP_RESIZE_NEAREST_NEIGHBOR ? 4 : 3;
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
    for (int m = 0; m < n_modes; m++, seed++) {
      resize_cfg c = {op, type, 2, sizes[s][0], sizes[s][1], 3, sizes[s][2], sizes[s][3],
                      modes[m][0], modes[m][1], seed % 3 != 0, (int)(seed % 2)};
      check_resize(&c, seed);
    }
}

TEST(bilinear_float_against_reference) {
  check_all_modes(TFL_OP_RESIZE_BILINEAR, TFL_FLOAT32, 1);
}

TEST(bilinear_quantized_against_reference) {
  check_all_modes(TFL_OP_RESIZE_BILINEAR, TFL_UINT8, 100);
  check_all_modes(TFL_OP_RESIZE_BILINEAR, TFL_INT8, 200);
  check_all_modes(TFL_OP_RESIZE_BILINEAR, TFL_INT16, 300);
}

TEST(nearest_against_reference) {
  check_all_modes(TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_FLOAT32, 400);
  check_all_modes(TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_UINT8, 500);
  check_all_modes(TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_INT8, 600);
  check_all_modes(TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_INT16, 700);
}

TEST(output_takes_the_input_type) {
  /* The model declares a float output for int8 data; TFLite retypes it to int8. */
  const int8_t x[2] = {-4, 8};
  const int ops[2] = {TFL_OP_RESIZE_BILINEAR, TFL_OP_RESIZE_NEAREST_NEIGHBOR};
  const int opts[2] = {TFL_OPTS_RESIZE_BILINEAR, TFL_OPTS_RESIZE_NEAREST_NEIGHBOR};
  for (int k = 0; k < 2; k++) {
    ot_spec in[2] = {OT_IN(TFL_INT8, 4, DIMS(1, 1, 2, 1), x),
                     OT_CONST(TFL_INT32, 1, DIMS(2), ((const int32_t[]){1, 4}))};
    ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
    ot_result r;
    REQUIRE(ot_run(ops[k], 1, in, 2, out, 1, opts[k], NULL, &r) == TFL_OK);
    CHECK(r.out[0].type == TFL_INT8 && r.out[0].bytes == 4);
    ot_result_free(&r);
  }
}

TEST(nearest_empty_output) {
  const float x[4] = {0};
  resize_cfg c = {TFL_OP_RESIZE_NEAREST_NEIGHBOR, TFL_FLOAT32, 1, 2, 2, 1, 0, 3, 0, 0, 1, 1};
  ot_result r;
  REQUIRE(run_resize(&c, x, &r) == TFL_OK);
  CHECK(out_shape_ok(&c, &r) && r.out[0].bytes == 0);
  ot_result_free(&r);
}

/* --- errors ----------------------------------------------------------------------------- */

TEST(resize_bad_models) {
  const float x[16] = {0};
  ot_result r;
  for (int size_const = 0; size_const <= 1; size_const++) {
    /* Bilinear needs positive sizes; nearest rejects negative ones. */
    resize_cfg c = {TFL_OP_RESIZE_BILINEAR, TFL_FLOAT32, 1, 2, 2, 1, 0, 3, 0, 0, size_const, 0};
    CHECK(run_resize(&c, x, &r) != TFL_OK);
    c.out_h = -2;
    CHECK(run_resize(&c, x, &r) != TFL_OK);
    c.op = TFL_OP_RESIZE_NEAREST_NEIGHBOR;
    CHECK(run_resize(&c, x, &r) != TFL_OK);
  }
  /* An empty image cannot be resized to a non-empty one; an empty batch can. */
  for (int k = 0; k < 2; k++) {
    const int op = k ? TFL_OP_RESIZE_NEAREST_NEIGHBOR : TFL_OP_RESIZE_BILINEAR;
    resize_cfg empty = {op, TFL_FLOAT32, 1, 0, 2, 1, 3, 3, 0, 0, k, 0};
    CHECK(run_resize(&empty, x, &r) != TFL_OK);
    CHECK(strstr(r.error, "empty") != NULL);
    empty.n = 0;
    CHECK(run_resize(&empty, x, &r) == TFL_OK && r.out[0].bytes == 0);
    ot_result_free(&r);
  }
  /* align_corners together with half_pixel_centers. */
  resize_cfg both = {TFL_OP_RESIZE_BILINEAR, TFL_FLOAT32, 1, 2, 2, 1, 3, 3, 1, 1, 1, 0};
  CHECK(run_resize(&both, x, &r) != TFL_OK);
  CHECK(strstr(r.error, "half_pixel_centers") != NULL);
  /* Input not 4-D, size of the wrong shape or type, unsupported bilinear type. */
  const int ops[2] = {TFL_OP_RESIZE_BILINEAR, TFL_OP_RESIZE_NEAREST_NEIGHBOR};
  const int opts[2] = {TFL_OPTS_RESIZE_BILINEAR, TFL_OPTS_RESIZE_NEAREST_NEIGHBOR};
  for (int k = 0; k < 2; k++) {
    ot_spec in[2] = {OT_IN(TFL_FLOAT32, 3, DIMS(2, 2, 1), x),
                     OT_CONST(TFL_INT32, 1, DIMS(2), ((const int32_t[]){3, 3}))};
    ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
    CHECK(ot_run(ops[k], 1, in, 2, out, 1, opts[k], NULL, &r) != TFL_OK);
    in[0] = (ot_spec)OT_IN(TFL_FLOAT32, 4, DIMS(1, 2, 2, 1), x);
    in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(3), ((const int32_t[]){3, 3, 3}));
    CHECK(ot_run(ops[k], 1, in, 2, out, 1, opts[k], NULL, &r) != TFL_OK);
    in[1] = (ot_spec)OT_CONST(TFL_INT64, 1, DIMS(2), ((const int64_t[]){3, 3}));
    CHECK(ot_run(ops[k], 1, in, 2, out, 1, opts[k], NULL, &r) != TFL_OK);
  }
  ot_spec in[2] = {OT_IN(TFL_INT32, 4, DIMS(1, 2, 2, 1), x),
                   OT_CONST(TFL_INT32, 1, DIMS(2), ((const int32_t[]){3, 3}))};
  ot_spec out[1] = {OT_OUT(TFL_INT32)};
  CHECK(ot_run(TFL_OP_RESIZE_BILINEAR, 1, in, 2, out, 1, TFL_OPTS_RESIZE_BILINEAR, NULL, &r) !=
        TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(bilinear_by_hand);
  RUN(nearest_by_hand);
  RUN(bilinear_float_against_reference);
  RUN(bilinear_quantized_against_reference);
  RUN(nearest_against_reference);
  RUN(output_takes_the_input_type);
  RUN(nearest_empty_output);
  RUN(resize_bad_models);
  return test_summary();
}
