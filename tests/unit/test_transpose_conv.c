/* TRANSPOSE_CONV: a hand-computed stamp, float cases (strides, kernels, SAME/VALID with odd and
 * even padding, batches, bias, activations) against a naive scatter implementation in double
 * written here, quantized cases (uint8, int8 per-channel, int16 with int64 and int32 bias)
 * against the same scatter in int64 with TFLite's requantization from quant.h (tested on its
 * own in test_quant), a dynamic output shape, and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

enum { PAD_SAME = 0, PAD_VALID = 1 };

typedef struct tc_cfg {
  int32_t in[4]; /* batch, h, w, in_c */
  int32_t out_c, kh, kw;
  int32_t out_h, out_w;
  int sh, sw, padding, act;
  int has_bias;
} tc_cfg;

static int32_t pad_of(int32_t in, int32_t out, int32_t k, int32_t s) {
  const int32_t total = (in - 1) * s + k - out;
  return total > 0 ? total / 2 : 0;
}

/* out[n, oy, ox, oc] = bias + sum over inputs (iy, ix) and taps landing there, in double. */
static void naive_scatter(const tc_cfg *c, const double *in, const double *w, const double *bias,
                          double *out) {
  const int32_t n = c->in[0], ih = c->in[1], iw = c->in[2], ic = c->in[3];
  const int32_t pt = pad_of(ih, c->out_h, c->kh, c->sh), pl = pad_of(iw, c->out_w, c->kw, c->sw);
  const size_t total = (size_t)n * c->out_h * c->out_w * c->out_c;
  for (size_t i = 0; i < total; i++) out[i] = bias ? bias[i % (size_t)c->out_c] : 0.0;
  for (int32_t b = 0; b < n; b++)
    for (int32_t y = 0; y < ih; y++)
      for (int32_t x = 0; x < iw; x++)
        for (int32_t ci = 0; ci < ic; ci++)
          for (int32_t ky = 0; ky < c->kh; ky++)
            for (int32_t kx = 0; kx < c->kw; kx++)
              for (int32_t co = 0; co < c->out_c; co++) {
                const int32_t oy = y * c->sh - pt + ky, ox = x * c->sw - pl + kx;
                if (oy < 0 || oy >= c->out_h || ox < 0 || ox >= c->out_w) continue;
                out[(((size_t)b * c->out_h + oy) * c->out_w + ox) * c->out_c + co] +=
                    in[(((size_t)b * ih + y) * iw + x) * ic + ci] *
                    w[(((size_t)co * c->kh + ky) * c->kw + kx) * ic + ci];
              }
}

static tfl_status run(const tc_cfg *c, const ot_spec *in_specs, int n_in, tfl_type out_type,
                      int out_q, const float *out_scale, const int64_t *out_zp, int bias_type,
                      ot_result *r) {
  mb_field f[] = {MB_BYTE(0, c->padding), MB_INT(1, c->sw),      MB_INT(2, c->sh),
                  MB_BYTE(3, c->act),     MB_BYTE(4, bias_type), MB_FIELDS_END};
  ot_spec out[1] = {
      {.type = out_type, .q_count = out_q, .scales = out_scale, .zero_points = out_zp}};
  return ot_run(TFL_OP_TRANSPOSE_CONV, 5, in_specs, n_in, out, 1, TFL_OPTS_TRANSPOSE_CONV, f, r);
}

static unsigned seed_state = 1;
static double urand(void) {
  seed_state = seed_state * 1103515245u + 12345u;
  return (double)((seed_state >> 8) & 0xffff) / 65536.0;
}

/* ---- float ---------------------------------------------------------------------------------- */

/* Each input pixel stamps value x w into its own 2x2 block (stride 2, VALID). */
TEST(float_hand_stamp) {
  static const float in[4] = {1, 2, 3, 4};
  static const float w[4] = {1, 2, 3, 4};
  static const int32_t shape[4] = {1, 4, 4, 1};
  static const float want[16] = {1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16};
  const int32_t ds[1] = {4}, dw[4] = {1, 2, 2, 1}, di[4] = {1, 2, 2, 1};
  ot_spec specs[3] = {OT_CONST(TFL_INT32, 1, ds, shape), OT_F32_CONST(4, dw, w), OT_F32(4, di, in)};
  tc_cfg c = {.sh = 2, .sw = 2, .padding = PAD_VALID};
  ot_result r;
  REQUIRE(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 4);
  CHECK_EQ_INT(r.out[0].dims[1], 4);
  for (int i = 0; i < 16; i++) CHECK_NEAR(ot_f32(&r, 0)[i], want[i], 0);
  ot_result_free(&r);
}

static void check_float_case(const tc_cfg *c) {
  const size_t n_in = (size_t)c->in[0] * c->in[1] * c->in[2] * c->in[3];
  const size_t n_w = (size_t)c->out_c * c->kh * c->kw * c->in[3];
  const size_t n_out = (size_t)c->in[0] * c->out_h * c->out_w * c->out_c;
  float *in = malloc(n_in * 4), *w = malloc(n_w * 4), *bias = malloc((size_t)c->out_c * 4);
  double *din = malloc(n_in * 8), *dw = malloc(n_w * 8), *db = malloc((size_t)c->out_c * 8);
  double *want = malloc(n_out * 8);
  for (size_t i = 0; i < n_in; i++) din[i] = in[i] = (float)(urand() * 2 - 1);
  for (size_t i = 0; i < n_w; i++) dw[i] = w[i] = (float)(urand() * 2 - 1);
  for (int32_t i = 0; i < c->out_c; i++) db[i] = bias[i] = (float)(urand() - 0.5);
  naive_scatter(c, din, dw, c->has_bias ? db : NULL, want);
  const int32_t shape[4] = {c->in[0], c->out_h, c->out_w, c->out_c};
  const int32_t ds[1] = {4}, dwts[4] = {c->out_c, c->kh, c->kw, c->in[3]}, dbias[1] = {c->out_c};
  ot_spec specs[4] = {OT_CONST(TFL_INT32, 1, ds, shape), OT_F32_CONST(4, dwts, w),
                      OT_F32(4, c->in, in), OT_F32_CONST(1, dbias, bias)};
  ot_result r;
  tfl_status st = run(c, specs, c->has_bias ? 4 : 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r);
  CHECK(st == TFL_OK);
  if (st == TFL_OK) {
    CHECK_EQ_INT(r.out[0].dims[1], c->out_h);
    CHECK_EQ_INT(r.out[0].dims[2], c->out_w);
    for (size_t i = 0; i < n_out; i++) {
      double v = want[i];
      if (c->act == TFL_ACT_RELU) v = v < 0 ? 0 : v;
      if (c->act == TFL_ACT_RELU6) v = v < 0 ? 0 : v > 6 ? 6 : v;
      if (c->act == TFL_ACT_RELU_N1_TO_1) v = v < -1 ? -1 : v > 1 ? 1 : v;
      CHECK_NEAR(ot_f32(&r, 0)[i], v, 1e-5 * (1 + fabs(v)));
    }
  } else {
    printf("    %s\n", r.error);
  }
  ot_result_free(&r);
  free(in), free(w), free(bias), free(din), free(dw), free(db), free(want);
}

/* An output size the op accepts: one whose SAME or VALID convolution gives back `in`. */
static int32_t pick_out(int32_t in, int32_t k, int32_t s, int padding) {
  const int32_t lo = padding == PAD_SAME ? (in - 1) * s + 1 : (in - 1) * s + k;
  return lo + (int32_t)(urand() * s);
}

TEST(float_matches_naive_scatter) {
  static const int acts[4] = {TFL_ACT_NONE, TFL_ACT_RELU, TFL_ACT_RELU6, TFL_ACT_RELU_N1_TO_1};
  seed_state = 11;
  for (int t = 0; t < 40; t++) {
    tc_cfg c = {.in = {1 + t % 2, 1 + (int32_t)(urand() * 5), 1 + (int32_t)(urand() * 5),
                       1 + (int32_t)(urand() * 6)},
                .out_c = 1 + (int32_t)(urand() * 5),
                .kh = 1 + (int32_t)(urand() * 4),
                .kw = 1 + (int32_t)(urand() * 4),
                .sh = 1 + (int)(urand() * 3),
                .sw = 1 + (int)(urand() * 3),
                .padding = t % 3 == 0 ? PAD_VALID : PAD_SAME,
                .act = acts[t % 4],
                .has_bias = t % 5 != 0};
    c.out_h = pick_out(c.in[1], c.kh, c.sh, c.padding);
    c.out_w = pick_out(c.in[2], c.kw, c.sw, c.padding);
    check_float_case(&c);
  }
}

/* The output_shape tensor fed at run time: the output is sized during invoke. */
TEST(float_dynamic_output_shape) {
  static const float in[4] = {1, 2, 3, 4};
  static const float w[4] = {1, 2, 3, 4};
  static const int32_t shape[4] = {1, 4, 4, 1};
  const int32_t ds[1] = {4}, dw[4] = {1, 2, 2, 1}, di[4] = {1, 2, 2, 1};
  ot_spec specs[3] = {OT_IN(TFL_INT32, 1, ds, shape), OT_F32_CONST(4, dw, w), OT_F32(4, di, in)};
  tc_cfg c = {.sh = 2, .sw = 2, .padding = PAD_VALID};
  ot_result r;
  REQUIRE(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].dims[2], 4);
  CHECK_NEAR(ot_f32(&r, 0)[15], 16, 0);
  ot_result_free(&r);
  static const int32_t bad[4] = {1, 5, 5, 1}; /* (5 + 2 - 2) / 2 = 2 ... but 5 needs 3 inputs */
  static const int32_t worse[4] = {1, 9, 9, 1};
  specs[0].data = bad;
  tfl_status st = run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r);
  CHECK(st == TFL_OK); /* VALID: (5 + 2 - 2) / 2 = 2 inputs: a 5x5 output is consistent */
  ot_result_free(&r);
  specs[0].data = worse;
  CHECK(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) != TFL_OK);
  CHECK(strstr(r.error, "does not match") != NULL);
  ot_result_free(&r);
}

/* ---- quantized --------------------------------------------------------------------------------
 */

typedef struct tq_case {
  tc_cfg c;
  tfl_type type; /* input/output */
  float in_scale, out_scale;
  int64_t in_zp, out_zp;
  int n_scales;
  float f_scales[8];
  int64_t f_zp;       /* uint8 weights */
  tfl_type bias_type; /* TFL_INT32 / TFL_INT64 */
  int bias_option;    /* quantized_bias_type option (0 = unset) */
} tq_case;

static void type_range(tfl_type t, int64_t *lo, int64_t *hi) {
  *lo = t == TFL_UINT8 ? 0 : t == TFL_INT8 ? -128 : -32768;
  *hi = t == TFL_UINT8 ? 255 : t == TFL_INT8 ? 127 : 32767;
}

static void *pack(tfl_type t, const int64_t *v, size_t n) {
  void *p = malloc((n ? n : 1) * 8);
  for (size_t i = 0; i < n; i++) switch (t) {
      case TFL_UINT8:
        ((uint8_t *)p)[i] = (uint8_t)v[i];
        break;
      case TFL_INT8:
        ((int8_t *)p)[i] = (int8_t)v[i];
        break;
      case TFL_INT16:
        ((int16_t *)p)[i] = (int16_t)v[i];
        break;
      case TFL_INT32:
        ((int32_t *)p)[i] = (int32_t)v[i];
        break;
      default:
        ((int64_t *)p)[i] = v[i];
        break;
    }
  return p;
}

static int64_t code_at(tfl_type t, const void *p, size_t i) {
  return t == TFL_UINT8  ? ((const uint8_t *)p)[i]
         : t == TFL_INT8 ? ((const int8_t *)p)[i]
                         : ((const int16_t *)p)[i];
}

/* TFLite's requantization: the double-rounding multiplier (uint8: scales multiplied in float
 * first), or for int16 the 64-bit form unless the accumulator is int32. */
static int64_t ref_code(const tq_case *q, int32_t oc, int64_t acc, int acc32) {
  const float fs = q->f_scales[q->n_scales > 1 ? oc : 0];
  const double real = q->type == TFL_UINT8 ? (double)(q->in_scale * fs) / q->out_scale
                                           : (double)q->in_scale * fs / q->out_scale;
  int32_t m;
  int shift;
  tfl_quantize_multiplier(real, &m, &shift);
  int64_t v = acc32 ? tfl_mul_by_quantized_multiplier((int32_t)acc, m, shift)
                    : tfl_mul_by_quantized_multiplier64(acc, m, shift);
  v += q->out_zp;
  int64_t lo, hi;
  type_range(q->type, &lo, &hi);
  if (q->c.act == TFL_ACT_RELU) {
    int64_t z = q->out_zp;
    lo = z > lo ? z : lo;
  } else if (q->c.act == TFL_ACT_RELU6) {
    int64_t z = q->out_zp, six = q->out_zp + (int64_t)roundf(6.0f / q->out_scale);
    lo = z > lo ? z : lo;
    hi = six < hi ? six : hi;
  }
  return v < lo ? lo : v > hi ? hi : v;
}

static void check_quant_case(const tq_case *q, unsigned seed) {
  const tc_cfg *c = &q->c;
  seed_state = seed;
  const tfl_type wt = q->type == TFL_UINT8 ? TFL_UINT8 : TFL_INT8;
  const size_t n_in = (size_t)c->in[0] * c->in[1] * c->in[2] * c->in[3];
  const size_t n_w = (size_t)c->out_c * c->kh * c->kw * c->in[3];
  const size_t n_out = (size_t)c->in[0] * c->out_h * c->out_w * c->out_c;
  int64_t lo, hi, wlo, whi;
  type_range(q->type, &lo, &hi);
  type_range(wt, &wlo, &whi);
  if (q->type == TFL_INT16) lo = -3000, hi = 3000; /* keeps the 64-bit form in range */
  int64_t *vin = malloc(n_in * 8), *vw = malloc(n_w * 8), *vb = malloc((size_t)c->out_c * 8);
  for (size_t i = 0; i < n_in; i++) vin[i] = lo + (int64_t)(urand() * (double)(hi - lo + 1));
  for (size_t i = 0; i < n_w; i++) vw[i] = wlo + (int64_t)(urand() * (double)(whi - wlo + 1));
  for (int32_t i = 0; i < c->out_c; i++) vb[i] = (int64_t)((urand() - 0.5) * 20000);
  if (n_in >= 2) vin[0] = lo, vin[n_in - 1] = hi;
  /* the accumulators: (x - in_zp) * (w - w_zp) scattered, plus the bias */
  double *din = malloc(n_in * 8), *dw = malloc(n_w * 8), *db = malloc((size_t)c->out_c * 8);
  double *acc = malloc(n_out * 8);
  for (size_t i = 0; i < n_in; i++) din[i] = (double)(vin[i] - q->in_zp);
  for (size_t i = 0; i < n_w; i++) dw[i] = (double)(vw[i] - (wt == TFL_UINT8 ? q->f_zp : 0));
  for (int32_t i = 0; i < c->out_c; i++) db[i] = (double)vb[i];
  naive_scatter(c, din, dw, c->has_bias ? db : NULL, acc);
  void *pin = pack(q->type, vin, n_in), *pw = pack(wt, vw, n_w),
       *pb = pack(q->bias_type, vb, (size_t)c->out_c);
  const int32_t shape[4] = {c->in[0], c->out_h, c->out_w, c->out_c};
  const int32_t ds[1] = {4}, dwts[4] = {c->out_c, c->kh, c->kw, c->in[3]}, dbias[1] = {c->out_c};
  float bias_scales[8];
  for (int i = 0; i < q->n_scales; i++) bias_scales[i] = q->in_scale * q->f_scales[i];
  const int64_t zeros[8] = {0};
  const int64_t wzp = wt == TFL_UINT8 ? q->f_zp : 0;
  ot_spec specs[4] = {OT_CONST(TFL_INT32, 1, ds, shape),
                      {.type = wt,
                       .ndim = 4,
                       .dims = dwts,
                       .data = pw,
                       .constant = 1,
                       .q_count = q->n_scales,
                       .scales = q->f_scales,
                       .zero_points = q->n_scales > 1 ? zeros : &wzp},
                      {.type = q->type,
                       .ndim = 4,
                       .dims = c->in,
                       .data = pin,
                       .q_count = 1,
                       .scales = &q->in_scale,
                       .zero_points = &q->in_zp},
                      {.type = q->bias_type,
                       .ndim = 1,
                       .dims = dbias,
                       .data = pb,
                       .constant = 1,
                       .q_count = q->n_scales,
                       .scales = bias_scales,
                       .zero_points = zeros}};
  ot_result r;
  tfl_status st =
      run(c, specs, c->has_bias ? 4 : 3, q->type, 1, &q->out_scale, &q->out_zp, q->bias_option, &r);
  CHECK(st == TFL_OK);
  if (st != TFL_OK) printf("    %s\n", r.error);
  const int acc32 = q->type != TFL_INT16 || q->bias_option == TFL_INT32 ||
                    (q->bias_option == 0 && c->has_bias && q->bias_type == TFL_INT32);
  for (size_t i = 0; st == TFL_OK && i < n_out; i++) {
    const int32_t oc = (int32_t)(i % (size_t)c->out_c);
    const int64_t want = ref_code(q, oc, (int64_t)acc[i], acc32);
    if (code_at(q->type, r.out[0].data, i) != want) {
      CHECK_EQ_INT(code_at(q->type, r.out[0].data, i), want);
      break;
    }
  }
  ot_result_free(&r);
  free(vin), free(vw), free(vb), free(din), free(dw), free(db), free(acc), free(pin), free(pw),
      free(pb);
}

static tc_cfg random_cfg(int t) {
  tc_cfg c = {.in = {1 + t % 2, 1 + (int32_t)(urand() * 4), 1 + (int32_t)(urand() * 4),
                     1 + (int32_t)(urand() * 5)},
              .out_c = 1 + (int32_t)(urand() * 4),
              .kh = 1 + (int32_t)(urand() * 3),
              .kw = 1 + (int32_t)(urand() * 3),
              .sh = 1 + (int)(urand() * 2),
              .sw = 1 + (int)(urand() * 3),
              .padding = t % 3 == 0 ? PAD_VALID : PAD_SAME,
              .act = t % 4 == 1   ? TFL_ACT_RELU
                     : t % 4 == 2 ? TFL_ACT_RELU6
                                  : TFL_ACT_NONE,
              .has_bias = t % 4 != 3};
  c.out_h = pick_out(c.in[1], c.kh, c.sh, c.padding);
  c.out_w = pick_out(c.in[2], c.kw, c.sw, c.padding);
  return c;
}

TEST(uint8_matches_naive) {
  seed_state = 5;
  for (int t = 0; t < 16; t++) {
    tq_case q = {.c = random_cfg(t),
                 .type = TFL_UINT8,
                 .in_scale = 0.02f,
                 .out_scale = 0.15f,
                 .in_zp = 100 + t,
                 .out_zp = 120,
                 .n_scales = 1,
                 .f_scales = {0.01f},
                 .f_zp = 130,
                 .bias_type = TFL_INT32};
    check_quant_case(&q, 100 + (unsigned)t);
  }
}

TEST(int8_per_channel_matches_naive) {
  seed_state = 6;
  for (int t = 0; t < 16; t++) {
    tq_case q = {.c = random_cfg(t),
                 .type = TFL_INT8,
                 .in_scale = 0.03f,
                 .out_scale = 0.2f,
                 .in_zp = -5 + t,
                 .out_zp = 3,
                 .bias_type = TFL_INT32};
    q.n_scales = t % 2 ? q.c.out_c : 1;
    for (int i = 0; i < q.n_scales; i++) q.f_scales[i] = 0.004f + 0.003f * (float)i;
    check_quant_case(&q, 200 + (unsigned)t);
  }
}

TEST(int16_matches_naive) {
  seed_state = 7;
  for (int t = 0; t < 18; t++) {
    /* int64 bias; int32 bias with quantized_bias_type int32; int32 bias, option unset */
    const int kind = t % 3;
    tq_case q = {.c = random_cfg(t),
                 .type = TFL_INT16,
                 .in_scale = 0.001f,
                 .out_scale = 0.004f,
                 .n_scales = 1,
                 .f_scales = {0.02f},
                 .bias_type = kind == 0 ? TFL_INT64 : TFL_INT32,
                 .bias_option = kind == 1 ? TFL_INT32 : 0};
    q.c.act = TFL_ACT_NONE;
    check_quant_case(&q, 300 + (unsigned)t);
  }
}

/* ---- threads ------------------------------------------------------------------------------------
 */

/* Outputs do not depend on how rows are split over threads: 3 workers give the single
 * thread's bytes, float and quantized. */
TEST(threads_give_the_same_result) {
  enum { N = 2, H = 9, W = 11, IC = 5, OC = 3, K = 3, OH = 18, OW = 21 };
  static const tfl_type types[4] = {TFL_FLOAT32, TFL_UINT8, TFL_INT8, TFL_INT16};
  seed_state = 77;
  int64_t vin[N * H * W * IC], vw[OC * K * K * IC], vb[OC];
  for (int i = 0; i < N * H * W * IC; i++) vin[i] = (int64_t)(urand() * 200) - 100;
  for (int i = 0; i < OC * K * K * IC; i++) vw[i] = (int64_t)(urand() * 200) - 100;
  for (int i = 0; i < OC; i++) vb[i] = (int64_t)(urand() * 2000) - 1000;
  for (int t = 0; t < 4; t++) {
    const tfl_type type = types[t];
    const tfl_type wt = type == TFL_FLOAT32 ? TFL_FLOAT32
                        : type == TFL_UINT8 ? TFL_UINT8
                                            : TFL_INT8;
    const tfl_type bt = type == TFL_FLOAT32 ? TFL_FLOAT32
                        : type == TFL_INT16 ? TFL_INT64
                                            : TFL_INT32;
    float fin[N * H * W * IC], fw[OC * K * K * IC], fb[OC];
    for (int i = 0; i < N * H * W * IC; i++) fin[i] = (float)vin[i] / 100;
    for (int i = 0; i < OC * K * K * IC; i++) fw[i] = (float)vw[i] / 100;
    for (int i = 0; i < OC; i++) fb[i] = (float)vb[i] / 100;
    int64_t shifted[N * H * W * IC];
    for (int i = 0; i < N * H * W * IC; i++) shifted[i] = vin[i] + (type == TFL_UINT8 ? 100 : 0);
    void *pin = type == TFL_FLOAT32 ? (void *)fin : pack(type, shifted, N * H * W * IC);
    void *pw = type == TFL_FLOAT32 ? (void *)fw : pack(wt, vw, OC * K * K * IC);
    void *pb = type == TFL_FLOAT32 ? (void *)fb : pack(bt, vb, OC);
    const int q = type != TFL_FLOAT32;
    const float in_scale = 0.05f, w_scale = 0.02f, b_scale = in_scale * w_scale, out_scale = 0.3f;
    const int64_t in_zp = type == TFL_UINT8 ? 100 : 0, w_zp = type == TFL_UINT8 ? 128 : 0, zero = 0;
    const int32_t shape[4] = {N, OH, OW, OC}, ds[1] = {4}, dw[4] = {OC, K, K, IC},
                  di[4] = {N, H, W, IC}, db[1] = {OC};
    ot_spec specs[4] = {OT_CONST(TFL_INT32, 1, ds, shape),
                        {.type = wt,
                         .ndim = 4,
                         .dims = dw,
                         .data = pw,
                         .constant = 1,
                         .q_count = q,
                         .scales = &w_scale,
                         .zero_points = &w_zp},
                        {.type = type,
                         .ndim = 4,
                         .dims = di,
                         .data = pin,
                         .q_count = q,
                         .scales = &in_scale,
                         .zero_points = &in_zp},
                        {.type = bt,
                         .ndim = 1,
                         .dims = db,
                         .data = pb,
                         .constant = 1,
                         .q_count = q,
                         .scales = &b_scale,
                         .zero_points = &zero}};
    ot_spec out[1] = {{.type = type, .q_count = q, .scales = &out_scale, .zero_points = &zero}};
    mb_field f[] = {MB_BYTE(0, PAD_SAME), MB_INT(1, 2), MB_INT(2, 2), MB_FIELDS_END};
    ot_op op = {.builtin_code = TFL_OP_TRANSPOSE_CONV,
                .version = 3,
                .options_type = TFL_OPTS_TRANSPOSE_CONV,
                .options = f,
                .threads = 1};
    ot_result one, three;
    REQUIRE(ot_run_op(&op, specs, 4, out, 1, &one) == TFL_OK);
    op.threads = 3;
    REQUIRE(ot_run_op(&op, specs, 4, out, 1, &three) == TFL_OK);
    CHECK_EQ_INT(one.out[0].bytes, three.out[0].bytes);
    CHECK(memcmp(one.out[0].data, three.out[0].data, one.out[0].bytes) == 0);
    ot_result_free(&one);
    ot_result_free(&three);
    if (q) free(pin), free(pw), free(pb);
  }
}

/* ---- errors -----------------------------------------------------------------------------------
 */

TEST(rejects_inconsistent_models) {
  static const float in[4] = {1, 2, 3, 4}, w[24] = {0};
  const int32_t ds[1] = {4}, dw[4] = {2, 2, 2, 1}, di[4] = {1, 2, 2, 1};
  tc_cfg c = {.sh = 2, .sw = 2, .padding = PAD_SAME};
  ot_result r;
  /* output channels must be the weights' */
  static const int32_t wrong_c[4] = {1, 4, 4, 1};
  ot_spec specs[3] = {OT_CONST(TFL_INT32, 1, ds, wrong_c), OT_F32_CONST(4, dw, w),
                      OT_F32(4, di, in)};
  CHECK(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) != TFL_OK);
  ot_result_free(&r);
  /* SAME, stride 2: a 7x7 output needs 4x4 inputs */
  static const int32_t seven[4] = {1, 7, 7, 2};
  specs[0].data = seven;
  CHECK(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) != TFL_OK);
  CHECK(strstr(r.error, "height") != NULL);
  ot_result_free(&r);
  /* channel mismatch between input and weights */
  static const int32_t ok_shape[4] = {1, 4, 4, 2};
  const int32_t dw3[4] = {2, 2, 2, 3};
  specs[0].data = ok_shape;
  specs[1].dims = dw3;
  CHECK(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) != TFL_OK);
  ot_result_free(&r);
  /* zero stride */
  specs[1].dims = dw;
  c.sh = 0;
  CHECK(run(&c, specs, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) != TFL_OK);
  ot_result_free(&r);
  /* float input with int8 weights (TFLite's hybrid kernel) is not supported */
  c.sh = 2;
  static const int8_t w8[8] = {0};
  const float ws = 0.5f;
  ot_spec hybrid[3] = {OT_CONST(TFL_INT32, 1, ds, ok_shape),
                       {.type = TFL_INT8,
                        .ndim = 4,
                        .dims = dw,
                        .data = w8,
                        .constant = 1,
                        .q_count = 1,
                        .scales = &ws},
                       OT_F32(4, di, in)};
  CHECK(run(&c, hybrid, 3, TFL_FLOAT32, 0, NULL, NULL, 0, &r) == TFL_UNSUPPORTED);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_hand_stamp);
  RUN(float_matches_naive_scatter);
  RUN(float_dynamic_output_shape);
  RUN(uint8_matches_naive);
  RUN(int8_per_channel_matches_naive);
  RUN(int16_matches_naive);
  RUN(threads_give_the_same_result);
  RUN(rejects_inconsistent_models);
  return test_summary();
}
