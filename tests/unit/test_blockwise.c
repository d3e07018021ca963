/* FULLY_CONNECTED with blockwise-quantized int4 weights (kernels/blockwise.h): a hand-computed
 * case, shapes against a naive reference written here in TFLite's float order with exact
 * integer block sums (bit for bit) and against the exact product in double (within the input
 * quantization error), at every CPU level of the machine (the portable kernel, AVX2, NEON with
 * and without the dot-product extension): the vector kernels' block sizes and tiles of units
 * and batch rows, partial groups of blocks, one and two threads, zero and extreme scales, zero
 * inputs, extreme codes; blocks long enough for TFLite's float-rounded sums, then bad
 * blockwise parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "tfl/tfl.h"
#include "util/check_util.h"
#include "util/cpu_levels.h"
#include "util/model_builder.h"
#include "util/quant_ref.h"
#include "util/test.h"

typedef struct bw_case {
  int32_t batches, units, features, block;
  int bias;          /* a constant float bias */
  int act;           /* fused activation */
  int asymmetric;    /* asymmetric_quantize_inputs (the blockwise path ignores it) */
  int keep_num_dims; /* input [1, batches, features] with keep_num_dims */
  int threads;       /* interpreter threads (0: the default, one) */
} bw_case;

/* Ways to break a model on purpose. */
typedef enum bw_bad {
  BAD_NONE,
  BAD_SCALES_F32,      /* scales stored as float32 */
  BAD_SCALES_SHAPE,    /* scales [units, blocks + 1] */
  BAD_SCALES_1D,       /* scales [units * blocks] */
  BAD_SCALES_INPUT,    /* scales are a graph input, not a constant */
  BAD_SCALES_IS_INPUT, /* the scales index names the float input tensor */
  BAD_NO_TABLE,        /* details type blockwise but no BlockwiseQuantization table */
  BAD_NO_SCALES,       /* scales index -1 */
  BAD_WEIGHTS_INT8,    /* int8 weights with blockwise details */
  BAD_INPUT_INT8       /* quantized int8 input */
} bw_bad;

/* The model's data: x [batches * features], w (int4 codes, one per value), fp16 scales
 * [units][blocks], bias [units]. */
typedef struct bw_data {
  const float *x;
  const int8_t *w;
  const uint16_t *scales;
  const float *bias;
} bw_data;

static int32_t bw_blocks(const bw_case *c) { return c->features / c->block; }

/* Packs int4 codes two to a byte, element i in the low nibble of byte i / 2 when i is even. */
static uint8_t *pack_int4(const int8_t *w, size_t n) {
  uint8_t *p = calloc(n / 2 + 1, 1);
  for (size_t i = 0; i < n; i++) p[i / 2] |= (uint8_t)(((unsigned)w[i] & 0xfu) << (4 * (i % 2)));
  return p;
}

static int add_scales(mb_model *m, const bw_case *c, bw_bad bad, const bw_data *d) {
  const size_t n = (size_t)c->units * (size_t)bw_blocks(c);
  int32_t dims[2] = {c->units, bw_blocks(c)};
  int ndim = 2;
  if (bad == BAD_SCALES_SHAPE) dims[1]++;
  if (bad == BAD_SCALES_1D) {
    dims[0] = (int32_t)n;
    ndim = 1;
  }
  if (bad == BAD_SCALES_INPUT) return mb_tensor(m, TFL_FLOAT16, ndim, dims, NULL, 0, "scales");
  const size_t stored = ck_count(ndim, dims);
  if (bad == BAD_SCALES_F32) {
    float *f = calloc(stored, sizeof(float));
    const int t = mb_tensor(m, TFL_FLOAT32, ndim, dims, f, stored * sizeof(float), "scales");
    free(f);
    return t;
  }
  uint16_t *h = calloc(stored, sizeof(uint16_t));
  memcpy(h, d->scales, n * sizeof(uint16_t));
  const int t = mb_tensor(m, TFL_FLOAT16, ndim, dims, h, stored * sizeof(uint16_t), "scales");
  free(h);
  return t;
}

static int add_weights(mb_model *m, const bw_case *c, bw_bad bad, const bw_data *d) {
  const size_t n = (size_t)c->units * (size_t)c->features;
  const int32_t dims[2] = {c->units, c->features};
  if (bad == BAD_WEIGHTS_INT8) return mb_tensor(m, TFL_INT8, 2, dims, d->w, n, "w");
  uint8_t *packed = pack_int4(d->w, n);
  const int t = mb_tensor(m, TFL_INT4, 2, dims, packed, n / 2 + n % 2, "w");
  free(packed);
  return t;
}

static void set_blockwise(mb_model *m, int w, int scales, int input, const bw_case *c,
                          bw_bad bad) {
  if (bad == BAD_NO_TABLE)
    mb_quant_blockwise(m, w, MB_BLOCKWISE_NO_TABLE, -1, c->block);
  else if (bad == BAD_NO_SCALES)
    mb_quant_blockwise(m, w, -1, -1, c->block);
  else
    mb_quant_blockwise(m, w, bad == BAD_SCALES_IS_INPUT ? input : scales, -1, c->block);
}

static uint8_t *bw_build(const bw_case *c, bw_bad bad, const bw_data *d, size_t *size) {
  mb_model *m = mb_new();
  const tfl_type io = bad == BAD_INPUT_INT8 ? TFL_INT8 : TFL_FLOAT32;
  const int32_t in3[3] = {1, c->batches, c->features}, in2[2] = {c->batches, c->features};
  const int32_t out_dims[2] = {c->batches, c->units}, b_dims[1] = {c->units};
  const int x = c->keep_num_dims ? mb_tensor(m, io, 3, in3, NULL, 0, "x")
                                 : mb_tensor(m, io, 2, in2, NULL, 0, "x");
  const int w = add_weights(m, c, bad, d);
  const int y = mb_tensor(m, io, 2, out_dims, NULL, 0, "y");
  const int s = add_scales(m, c, bad, d);
  const float one = 1.0f;
  if (io == TFL_INT8) {
    mb_quant(m, x, 1, &one, NULL, 0);
    mb_quant(m, y, 1, &one, NULL, 0);
  }
  set_blockwise(m, w, s, x, c, bad);
  const int in[3] = {x, w,
                     c->bias ? mb_tensor(m, TFL_FLOAT32, 1, b_dims, d->bias,
                                         (size_t)c->units * sizeof(float), "b")
                             : -1};
  const int graph_in[2] = {x, s};
  mb_inputs(m, bad == BAD_SCALES_INPUT ? 2 : 1, graph_in);
  mb_outputs(m, 1, &y);
  const mb_field opt[] = {MB_BYTE(0, c->act), MB_BYTE(2, c->keep_num_dims),
                          MB_BYTE(3, c->asymmetric), MB_FIELDS_END};
  mb_op(m, TFL_OP_FULLY_CONNECTED, 1, c->bias ? 3 : 2, in, 1, &y, TFL_OPTS_FULLY_CONNECTED, opt);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

/* Builds and runs the model with TFL_CPU = cpu; y gets batches * units floats. err holds the
 * loader's or the interpreter's message on failure. */
static tfl_status bw_run(const bw_case *c, bw_bad bad, const bw_data *d, const char *cpu,
                         float *y, char *err, size_t err_size) {
  size_t size;
  uint8_t *bytes = bw_build(c, bad, d, &size);
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  err[0] = '\0';
  tfl_status st = bytes ? ck_open(bytes, size, c->threads ? c->threads : 1, cpu, &model,
                                  &interp, err, err_size)
                        : TFL_INVALID_ARGUMENT;
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(interp);
  if (st == TFL_OK) {
    tfl_tensor *t_in = tfl_interpreter_input(interp, 0);
    st = tfl_tensor_copy_from(t_in, d->x, tfl_tensor_byte_size(t_in));
  }
  if (st == TFL_OK) st = tfl_interpreter_invoke(interp);
  if (st == TFL_OK) {
    const tfl_tensor *t_out = tfl_interpreter_output(interp, 0);
    st = tfl_tensor_copy_to(t_out, y, tfl_tensor_byte_size(t_out));
  }
  if (st != TFL_OK && interp && !err[0])
    snprintf(err, err_size, "%s", tfl_interpreter_error(interp));
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  free(bytes);
  return st;
}

/* ---- the naive reference ------------------------------------------------------------------ */

/* binary16 in double, from its fields. */
static double half_value(uint16_t h) {
  const int e = (h >> 10) & 0x1f, mant = h & 0x3ff;
  const double v = e ? ldexp(1024.0 + mant, e - 25) : ldexp((double)mant, -24);
  return (h & 0x8000) ? -v : v;
}

/* TFLite's EvalBlockwise4Bit for one output, then the activation: per block an integer dot
 * product (each partial sum rounded to float when `rounded`), the float steps in its order. */
static float ref_output(const bw_case *c, const int8_t *q, float row_scale, int32_t zp,
                        const int8_t *w_row, const uint16_t *s_row, float bias, int rounded) {
  float out = 0.0f, wsum_scaled = 0.0f;
  for (int32_t j = 0; j < bw_blocks(c); j++) {
    int64_t dot = 0, wsum = 0;
    for (int32_t i = j * c->block; i < (j + 1) * c->block; i++) {
      dot = rounded ? (int64_t)((float)dot + (float)(q[i] * w_row[i])) : dot + q[i] * w_row[i];
      wsum += w_row[i];
    }
    const float s = (float)half_value(s_row[j]);
    out += (float)dot * s;
    wsum_scaled += s * (float)wsum;
  }
  out -= (float)zp * wsum_scaled;
  out *= row_scale;
  if (c->bias) out += bias;
  if (c->act == TFL_ACT_TANH) return tanhf(out);
  if (c->act == TFL_ACT_SIGN_BIT) return signbit(out) ? 1.0f : 0.0f;
  return (float)ck_float_activation(c->act, out);
}

/* The exact product of the input with the dequantized weights, in double, and the bound on
 * how far the quantized input can move it: half an input step times sum |weight|. */
static double exact_output(const bw_case *c, const float *x, const int8_t *w_row,
                           const uint16_t *s_row, float bias, double *weight_l1) {
  double v = c->bias ? bias : 0.0, l1 = 0.0;
  for (int32_t i = 0; i < c->features; i++) {
    const double wv = w_row[i] * half_value(s_row[i / c->block]);
    v += (double)x[i] * wv;
    l1 += fabs(wv);
  }
  *weight_l1 = l1;
  return c->act == TFL_ACT_TANH ? tanh(v) : ck_float_activation(c->act, v);
}

/* qr_quantize_row, plus TFLite's rule for a row without a nonzero value: all codes 0, scale 1,
 * zero point 0. */
static void quantize_row(const float *x, size_t n, int8_t *q, float *scale, int32_t *zp) {
  for (size_t i = 0; i < n; i++)
    if (x[i] != 0.0f) {
      qr_quantize_row(x, n, 1, q, scale, zp);
      return;
    }
  memset(q, 0, n);
  *scale = 1.0f;
  *zp = 0;
}

static int same_float(float a, float b) { return a == b || (isnan(a) && isnan(b)); }

/* Compares y, computed at level `cpu`, with the reference bit for bit and with the exact
 * product within the input quantization error. */
static void check_case(const bw_case *c, const bw_data *d, const float *y, const char *cpu) {
  const size_t k = (size_t)c->features;
  int8_t *q = malloc(k ? k : 1);
  for (int32_t b = 0; b < c->batches && test_failures_in_current == 0; b++) {
    float scale;
    int32_t zp;
    quantize_row(d->x + b * k, k, q, &scale, &zp);
    for (int32_t u = 0; u < c->units && test_failures_in_current == 0; u++) {
      const int8_t *w_row = d->w + u * k;
      const uint16_t *s_row = d->scales + u * bw_blocks(c);
      const float bias = c->bias ? d->bias[u] : 0.0f;
      const float got = y[b * c->units + u];
      const float want = ref_output(c, q, scale, zp, w_row, s_row, bias, c->block > 16384);
      if (!same_float(got, want))
        test_fail(__FILE__, __LINE__,
                  "case %dx%dx%d block %d, %d threads, level %s: batch %d unit %d: %.9g, "
                  "reference %.9g",
                  (int)c->batches, (int)c->units, (int)c->features, (int)c->block, c->threads,
                  cpu ? cpu : "default", (int)b, (int)u, got, want);
      double l1;
      const double exact = exact_output(c, d->x + b * k, w_row, s_row, bias, &l1);
      if (c->act != TFL_ACT_SIGN_BIT)
        CHECK_NEAR(got, exact, 0.5 * scale * l1 * 1.001 + 1e-5 * (1.0 + fabs(exact)));
    }
  }
  free(q);
}

/* Runs the case at every CPU level of the machine (tests/util/cpu_levels.h: the portable
 * kernel, and AVX2 or NEON with and without the dot-product extension) and checks each
 * output. */
static void run_levels(const bw_case *c, const bw_data *d) {
  const char *levels[CK_MAX_CPU_LEVELS];
  const int n_levels = ck_cpu_levels(levels);
  float *y = malloc(((size_t)c->batches * c->units + 1) * sizeof(float));
  for (int i = 0; i < n_levels && test_failures_in_current == 0; i++) {
    char err[512];
    const tfl_status st = bw_run(c, BAD_NONE, d, levels[i], y, err, sizeof(err));
    if (st != TFL_OK)
      test_fail(__FILE__, __LINE__, "case %dx%dx%d block %d, level %s: %s", (int)c->batches,
                (int)c->units, (int)c->features, (int)c->block, levels[i], err);
    else
      check_case(c, d, y, levels[i]);
  }
  free(y);
}

/* Random fp16 scales: normal values in [2^-5, 4), a few negative, and one subnormal. */
static uint16_t *random_scales(size_t n, unsigned seed) {
  int64_t *e = qr_random_ints(n, seed, 10, 16), *m = qr_random_ints(n, seed + 1, 0, 1023);
  uint16_t *h = malloc((n ? n : 1) * sizeof(uint16_t));
  for (size_t i = 0; i < n; i++)
    h[i] = (uint16_t)((i % 7 == 3 ? 0x8000 : 0) | (e[i] << 10) | m[i]);
  if (n > 2) h[n / 2] = 0x0123; /* subnormal */
  free(e);
  free(m);
  return h;
}

/* Random codes and bias with `scales` (random ones when NULL) and random inputs, the second row
 * all zeros when there are several, or every input zero when zero_inputs. */
static void run_case(const bw_case *c, unsigned seed, const uint16_t *scales, int zero_inputs) {
  const size_t n_x = (size_t)c->batches * c->features, n_w = (size_t)c->units * c->features;
  float *x = qr_random_floats(n_x, seed, 2.0f);
  int64_t *w64 = qr_random_ints(n_w, seed + 1, -8, 7);
  int8_t *w = qr_pack(TFL_INT8, w64, n_w);
  uint16_t *own = scales ? NULL : random_scales((size_t)c->units * bw_blocks(c), seed + 2);
  float *bias = qr_random_floats((size_t)c->units, seed + 4, 1.0f);
  if (zero_inputs)
    memset(x, 0, n_x * sizeof(float));
  else if (c->batches > 1)
    memset(x + c->features, 0, (size_t)c->features * sizeof(float));
  const bw_data d = {x, w, scales ? scales : own, bias};
  run_levels(c, &d);
  free(x);
  free(w64);
  free(w);
  free(own);
  free(bias);
}

static void run_random_case(const bw_case *c, unsigned seed) { run_case(c, seed, NULL, 0); }

/* ---- tests ---------------------------------------------------------------------------------- */

/* x = [1, 0, 0, 0] quantizes to q = [127, -128, -128, -128] with scale 1/255 and zero point
 * -128. Weights [1, -2 | 3, -8] with scales [1 | 0.5]: dots 383 and 640, weight sums -1 and -5,
 * so out = (383 + 640 * 0.5 - 128 * 3.5) / 255 = 1, which is x . (scaled weights) = 1. */
TEST(hand_computed_case) {
  const bw_case c = {1, 1, 4, 2, 1, TFL_ACT_NONE, 1, 0, 0};
  const float x[4] = {1, 0, 0, 0}, bias[1] = {0.25f};
  const int8_t w[4] = {1, -2, 3, -8};
  const uint16_t scales[2] = {0x3c00, 0x3800};
  const bw_data d = {x, w, scales, bias};
  float y[1];
  char err[512];
  REQUIRE(bw_run(&c, BAD_NONE, &d, NULL, y, err, sizeof(err)) == TFL_OK);
  CHECK_NEAR(y[0], 1.25, 1e-6);
  run_levels(&c, &d);
}

TEST(shapes_blocks_bias_and_activations) {
  static const bw_case cases[] = {
      {1, 4, 32, 32, 0, TFL_ACT_NONE, 1, 0, 0},       /* the shape TFLite's blockwise path takes */
      {3, 5, 64, 16, 1, TFL_ACT_NONE, 0, 0, 0},       /* asymmetric_quantize_inputs off */
      {2, 7, 96, 32, 1, TFL_ACT_RELU, 1, 0, 0},
      {4, 8, 128, 128, 0, TFL_ACT_RELU6, 1, 1, 0},    /* keep_num_dims, one block per row */
      {2, 3, 6, 2, 1, TFL_ACT_RELU_N1_TO_1, 1, 0, 0}, /* small: few units and features */
      {2, 4, 10, 5, 1, TFL_ACT_TANH, 1, 0, 0},        /* odd block size */
      {3, 3, 7, 7, 0, TFL_ACT_SIGN_BIT, 1, 0, 0},     /* odd features: rows straddle bytes */
      {2, 6, 45, 1, 1, TFL_ACT_NONE, 1, 1, 0},        /* block size 1 */
      {1, 16, 256, 64, 1, TFL_ACT_RELU, 1, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    run_random_case(&cases[i], 4100u + 10u * (unsigned)i);
}

/* Split over two threads, the units give the same bits (several units per thread, and fewer
 * units than threads). */
TEST(two_threads_give_the_same_outputs) {
  static const bw_case cases[] = {
      {3, 37, 64, 16, 1, TFL_ACT_RELU, 1, 0, 2},
      {1, 1, 32, 32, 0, TFL_ACT_NONE, 1, 0, 2},
      {2, 300, 96, 32, 1, TFL_ACT_NONE, 1, 0, 2},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    run_random_case(&cases[i], 5200u + 10u * (unsigned)i);
}

/* The vector kernels' shapes at every level: blocks of 32, 64, 128 and 256 values, rows of 1
 * to 13 blocks (whole groups of eight blocks and partial ones), a unit count that does not
 * split evenly over two threads, one and several batches. */
TEST(vector_block_sizes_match_the_reference_at_every_level) {
  static const int32_t block_sizes[] = {32, 64, 128, 256}, block_counts[] = {1, 3, 8, 13};
  static const int32_t units_batches[][2] = {{1, 1}, {5, 3}, {19, 2}};
  unsigned seed = 6100;
  for (size_t b = 0; b < 4; b++)
    for (size_t n = 0; n < 4; n++)
      for (size_t ub = 0; ub < 3; ub++)
        for (int threads = 1; threads <= 2; threads++) {
          const bw_case c = {units_batches[ub][1],
                             units_batches[ub][0],
                             block_counts[n] * block_sizes[b],
                             block_sizes[b],
                             (int)(seed % 2),
                             TFL_ACT_NONE,
                             1,
                             0,
                             threads};
          run_random_case(&c, seed);
          seed += 10;
        }
}

/* The kernels' tiles at every level: one to nine batch rows (one row of four units, two rows
 * of two, one unit of three or four rows, and what is left over), unit counts that leave
 * partial tiles, blocks of one step (paired in chunks, with a lone last block when their count
 * is odd), of two, four and eight steps (whole chunks summed at once), of sixteen and ten
 * (chunks four at a time, then one), and of odd step counts (chunks and a lone step), partial
 * groups of blocks, one and two threads. */
TEST(tiles_of_units_and_rows_match_the_reference_at_every_level) {
  static const int32_t batches[] = {1, 2, 3, 4, 5, 8, 9}, units[] = {4, 7};
  static const int32_t shapes[][2] = {{32, 13}, {64, 3},  {96, 2},  {128, 8},
                                      {160, 1}, {256, 9}, {320, 2}, {512, 1}};
  unsigned seed = 7100;
  for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++)
    for (size_t u = 0; u < 2; u++)
      for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++) {
        const bw_case c = {batches[b],   units[u], shapes[sh][0] * shapes[sh][1],
                           shapes[sh][0], (int)(seed % 2), TFL_ACT_NONE,
                           1,            0,        1 + (int)(seed / 10 % 2)};
        run_random_case(&c, seed);
        seed += 10;
      }
}

/* Scales of +0 and -0, the largest finite half (+-65504), the smallest and largest subnormal
 * halves, 1 and 0.1, cycled over the blocks of every unit. */
TEST(zero_and_extreme_scales_match_the_reference_at_every_level) {
  static const uint16_t cycle[] = {0x0000, 0x8000, 0x7bff, 0xfbff,
                                   0x0001, 0x03ff, 0x3c00, 0x2e66};
  static const int32_t batches[] = {1, 2, 5}, blocks[] = {32, 64};
  unsigned seed = 8100;
  for (size_t b = 0; b < 3; b++)
    for (size_t k = 0; k < 2; k++) {
      const bw_case c = {batches[b], 5, 9 * blocks[k], blocks[k], 1, TFL_ACT_NONE, 1, 0, 1};
      uint16_t scales[5 * 9];
      for (size_t i = 0; i < 5 * 9; i++) scales[i] = cycle[(i + b) % 8];
      run_case(&c, seed, scales, 0);
      seed += 10;
    }
}

/* Rows of zeros quantize to codes 0 with scale 1 and zero point 0: the outputs are the bias. */
TEST(all_zero_inputs_match_the_reference_at_every_level) {
  static const int32_t batches[] = {1, 3, 4, 5}, blocks[] = {32, 64, 128};
  unsigned seed = 8600;
  for (size_t b = 0; b < 4; b++)
    for (size_t k = 0; k < 3; k++) {
      const bw_case c = {batches[b], 6, 5 * blocks[k], blocks[k], 1, TFL_ACT_NONE, 1, 0, 1};
      run_case(&c, seed, NULL, 1);
      seed += 10;
    }
}

/* The extreme codes in every tile shape and block kind: rows of -1, of 1 and alternating
 * quantize to -128, 127 and both, against units of weights 7, -8 and both. The vector kernels'
 * partial sums reach their bounds: AVX2 adds up to 16 products (7 + 8) * -128 in a 16-bit lane
 * (-30720: two chunks of blocks of one step, four chunks of blocks of 256 and 320), NEON with
 * SDOT multiplies 16 * -8 by -128. */
TEST(extreme_codes_match_the_reference_in_every_tile) {
  static const int32_t blocks[] = {32, 64, 96, 128, 256, 320};
  for (int32_t batches = 1; batches <= 5; batches++)
    for (size_t k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
      const bw_case c = {batches, 5, 3 * blocks[k], blocks[k], 1, TFL_ACT_NONE, 1, 0, 1};
      const size_t n = (size_t)c.features;
      float *x = malloc((size_t)batches * n * sizeof(float));
      int8_t *w = malloc(5 * n);
      for (size_t i = 0; i < n; i++) {
        for (int32_t b = 0; b < batches; b++)
          x[(size_t)b * n + i] = b % 3 == 0 ? -1.0f : b % 3 == 1 ? 1.0f : i % 2 ? 1.0f : -1.0f;
        for (size_t u = 0; u < 5; u++)
          w[u * n + i] = u % 3 == 0 ? 7 : u % 3 == 1 ? -8 : i % 2 ? 7 : -8;
      }
      uint16_t scales[5 * 3];
      for (size_t i = 0; i < 5 * 3; i++) scales[i] = (uint16_t)(0x3c00 + 0x40 * i);
      const float bias[5] = {0.5f, -0.5f, 0.0f, 1.0f, -1.0f};
      const bw_data d = {x, w, scales, bias};
      run_levels(&c, &d);
      free(x);
      free(w);
    }
}

/* The extreme products and sums in the longest block the vector kernels take (16384): inputs
 * of 1 and -1 quantize to 127 and -128, against weights of -8, 7 and both alternating. The
 * dot products reach 127 * -8 * 16384, just below 2^24 in magnitude. */
TEST(extreme_codes_in_the_longest_vector_block) {
  const bw_case c = {3, 3, 2 * 16384, 16384, 1, TFL_ACT_NONE, 1, 0, 2};
  const size_t n = (size_t)c.features;
  float *x = malloc(3 * n * sizeof(float));
  int8_t *w = malloc(3 * n);
  for (size_t i = 0; i < n; i++) {
    x[i] = 1.0f;
    x[n + i] = -1.0f;
    x[2 * n + i] = i % 3 ? 1.0f : -1.0f;
    w[i] = -8;
    w[n + i] = 7;
    w[2 * n + i] = i % 2 ? 7 : -8;
  }
  const uint16_t scales[6] = {0x3c00, 0x2e66, 0xb800, 0x0123, 0x3555, 0x4000};
  const float bias[3] = {0.5f, -0.5f, 0.0f};
  const bw_data d = {x, w, scales, bias};
  run_levels(&c, &d);
  free(x);
  free(w);
}

/* Constant inputs of 1 quantize to 127; with weights 7 each product is 889, so a block of
 * 32768 sums past 2^24, where TFLite's float additions round; the reference rounds too. */
TEST(long_blocks_round_like_tflite) {
  const bw_case c = {1, 2, 32768, 32768, 1, TFL_ACT_NONE, 1, 0, 0};
  const size_t n = (size_t)c.features;
  float *x = malloc(n * sizeof(float));
  int8_t *w = malloc(2 * n);
  for (size_t i = 0; i < n; i++) x[i] = 1.0f;
  for (size_t i = 0; i < 2 * n; i++) w[i] = i < n ? 7 : (int8_t)((int)(i % 16) - 8);
  const uint16_t scales[2] = {0x3c00, 0x2e66};
  const float bias[2] = {0.5f, -0.5f};
  const bw_data d = {x, w, scales, bias};
  run_levels(&c, &d);
  /* The rounded sum differs from the exact one (127 * 7 * 32768). */
  float scale;
  int32_t zp;
  int8_t *q = malloc(n);
  quantize_row(x, n, q, &scale, &zp);
  CHECK(ref_output(&c, q, scale, zp, w, scales, bias[0], 1) !=
        ref_output(&c, q, scale, zp, w, scales, bias[0], 0));
  free(q);
  free(x);
  free(w);
}

TEST(zero_input_gives_bias) {
  const bw_case c = {2, 4, 32, 8, 1, TFL_ACT_RELU, 1, 0, 0};
  float x[64] = {0};
  int8_t w[128];
  uint16_t scales[16];
  for (int i = 0; i < 128; i++) w[i] = (int8_t)(i % 16 - 8);
  for (int i = 0; i < 16; i++) scales[i] = 0x3c00;
  const float bias[4] = {1.5f, -2.0f, 0.0f, 3.25f};
  const bw_data d = {x, w, scales, bias};
  float y[8];
  char err[512];
  REQUIRE(bw_run(&c, BAD_NONE, &d, NULL, y, err, sizeof(err)) == TFL_OK);
  for (int i = 0; i < 8; i++) CHECK_NEAR(y[i], ck_float_activation(TFL_ACT_RELU, bias[i % 4]), 0);
}

/* A bad model must fail with a message containing `what`. */
static void expect_failure(const bw_case *c, bw_bad bad, const char *what) {
  const size_t n_w = (size_t)c->units * c->features, n_s = (size_t)c->units * bw_blocks(c);
  float *x = calloc((size_t)c->batches * c->features, sizeof(float));
  int8_t *w = calloc(n_w, 1);
  uint16_t *scales = calloc(n_s ? n_s : 1, sizeof(uint16_t));
  float *bias = calloc((size_t)c->units, sizeof(float));
  float *y = calloc((size_t)c->batches * c->units, sizeof(float));
  const bw_data d = {x, w, scales, bias};
  char err[512];
  const tfl_status st = bw_run(c, bad, &d, NULL, y, err, sizeof(err));
  if (st == TFL_OK)
    test_fail(__FILE__, __LINE__, "bad model %d (expecting '%s') ran", (int)bad, what);
  else if (!strstr(err, what))
    test_fail(__FILE__, __LINE__, "bad model %d: message '%s' lacks '%s'", (int)bad, err, what);
  free(x);
  free(w);
  free(scales);
  free(bias);
  free(y);
}

TEST(bad_blockwise_parameters_fail_cleanly) {
  const bw_case ok = {2, 4, 32, 8, 1, TFL_ACT_NONE, 1, 0, 0};
  const bw_case not_dividing = {2, 4, 32, 12, 1, TFL_ACT_NONE, 1, 0, 0};
  expect_failure(&not_dividing, BAD_NONE, "does not divide");
  expect_failure(&ok, BAD_SCALES_F32, "float16");
  expect_failure(&ok, BAD_SCALES_SHAPE, "must have shape [4, 4]");
  expect_failure(&ok, BAD_SCALES_1D, "must have shape [4, 4]");
  expect_failure(&ok, BAD_SCALES_INPUT, "constant");
  expect_failure(&ok, BAD_SCALES_IS_INPUT, "float16");
  expect_failure(&ok, BAD_NO_TABLE, "no blockwise parameters");
  expect_failure(&ok, BAD_NO_SCALES, "scales refer to tensor -1"); /* at load */
  expect_failure(&ok, BAD_WEIGHTS_INT8, "only int4");
  expect_failure(&ok, BAD_INPUT_INT8, "need a float32 input");
}

int main(void) {
  RUN(hand_computed_case);
  RUN(shapes_blocks_bias_and_activations);
  RUN(two_threads_give_the_same_outputs);
  RUN(vector_block_sizes_match_the_reference_at_every_level);
  RUN(tiles_of_units_and_rows_match_the_reference_at_every_level);
  RUN(zero_and_extreme_scales_match_the_reference_at_every_level);
  RUN(all_zero_inputs_match_the_reference_at_every_level);
  RUN(extreme_codes_match_the_reference_in_every_tile);
  RUN(extreme_codes_in_the_longest_vector_block);
  RUN(long_blocks_round_like_tflite);
  RUN(zero_input_gives_bias);
  RUN(bad_blockwise_parameters_fail_cleanly);
  return test_summary();
}
