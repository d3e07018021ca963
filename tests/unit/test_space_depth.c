/* DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND: hand-computed
 * cases (TensorFlow's documented examples and a padded one), element-by-element references
 * written below (each output element traced back to its source), every element size, 3-D and
 * 4-D inputs, zero-point padding, run-time block shapes, and bad models that must fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static const tfl_type elem_types[4] = {TFL_UINT8, TFL_INT16, TFL_FLOAT32, TFL_INT64};

/* --- DEPTH_TO_SPACE and SPACE_TO_DEPTH -------------------------------------------------- */

static tfl_status run_block_op(int op, tfl_type type, const int32_t *dims, const void *x,
                               int block, int ndim, ot_result *r) {
  ot_spec in[1] = {OT_IN(type, ndim, dims, x)};
  ot_spec out[1] = {OT_OUT(type)};
  mb_field opts[] = {MB_INT(0, block), MB_FIELDS_END};
  const int opt_type =
      op == TFL_OP_DEPTH_TO_SPACE ? TFL_OPTS_DEPTH_TO_SPACE : TFL_OPTS_SPACE_TO_DEPTH;
  return ot_run(op, 1, in, 1, out, 1, opt_type, opts, r);
}

TEST(depth_to_space_by_hand) {
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)(i + 1);
  ot_result r;
  REQUIRE(run_block_op(TFL_OP_DEPTH_TO_SPACE, TFL_FLOAT32, DIMS(1, 1, 1, 12), x, 2, 4, &r) ==
          TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(1, 2, 2, 3)));
  CHECK(memcmp(r.out[0].data, x, sizeof(x)) == 0); /* [[[1 2 3] [4 5 6]] [[7 8 9] ...]] */
  ot_result_free(&r);

  /* [1, 2, 2, 4] -> [1, 4, 4, 1]: the inverse of the SPACE_TO_DEPTH case below. */
  const int32_t y[16] = {1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16};
  REQUIRE(run_block_op(TFL_OP_DEPTH_TO_SPACE, TFL_INT32, DIMS(1, 2, 2, 4), y, 2, 4, &r) ==
          TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(1, 4, 4, 1)));
  const int32_t want[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(space_to_depth_by_hand) {
  const int32_t x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ot_result r;
  REQUIRE(run_block_op(TFL_OP_SPACE_TO_DEPTH, TFL_INT32, DIMS(1, 4, 4, 1), x, 2, 4, &r) ==
          TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(1, 2, 2, 4)));
  const int32_t want[16] = {1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

/* TFLite's index formula: depth index d + ((h % b) * b + w % b) * depth of the shallow side. */
static void check_block_op(int op, const int32_t *dims, int b, unsigned seed) {
  const tfl_type type = elem_types[seed % 4];
  const size_t elem = tfl_type_size(type), n = ck_count(4, dims);
  const int to_space = op == TFL_OP_DEPTH_TO_SPACE;
  int32_t od[4] = {dims[0], 0, 0, 0};
  if (to_space) {
    od[1] = dims[1] * b, od[2] = dims[2] * b, od[3] = dims[3] / (b * b);
  } else {
    od[1] = dims[1] / b, od[2] = dims[2] / b, od[3] = dims[3] * b * b;
  }
  const int32_t *deep = to_space ? dims : od, *wide = to_space ? od : dims;
  uint8_t *x = ck_pattern(n * elem, seed), *want = malloc(n * elem + 1);
  for (size_t f = 0; f < n; f++) { /* f walks the wide (spatial) side */
    int32_t w[4], d[4];
    ck_unravel(f, 4, wide, w);
    d[0] = w[0], d[1] = w[1] / b, d[2] = w[2] / b;
    d[3] = w[3] + ((w[1] % b) * b + w[2] % b) * wide[3];
    const size_t deep_flat = ck_ravel(4, deep, d);
    const size_t src = to_space ? deep_flat : f, dst = to_space ? f : deep_flat;
    memcpy(want + dst * elem, x + src * elem, elem);
  }
  ot_result r;
  if (run_block_op(op, type, dims, x, b, 4, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  } else {
    CHECK(ck_shape_is(&r.out[0], 4, od));
    CHECK(ck_bytes_are(&r.out[0], want, n * elem));
  }
  ot_result_free(&r);
  free(x);
  free(want);
}

TEST(block_ops_against_reference) {
  unsigned seed = 1;
  check_block_op(TFL_OP_DEPTH_TO_SPACE, DIMS(2, 3, 2, 8), 2, seed++);
  check_block_op(TFL_OP_DEPTH_TO_SPACE, DIMS(1, 2, 3, 18), 3, seed++);
  check_block_op(TFL_OP_DEPTH_TO_SPACE, DIMS(2, 2, 2, 5), 1, seed++);
  check_block_op(TFL_OP_DEPTH_TO_SPACE, DIMS(1, 1, 1, 64), 4, seed++);
  check_block_op(TFL_OP_DEPTH_TO_SPACE, DIMS(0, 2, 2, 4), 2, seed++);
  check_block_op(TFL_OP_SPACE_TO_DEPTH, DIMS(2, 4, 6, 3), 2, seed++);
  check_block_op(TFL_OP_SPACE_TO_DEPTH, DIMS(1, 6, 3, 2), 3, seed++);
  check_block_op(TFL_OP_SPACE_TO_DEPTH, DIMS(3, 2, 2, 1), 2, seed++);
  check_block_op(TFL_OP_SPACE_TO_DEPTH, DIMS(1, 8, 8, 5), 4, seed++);
}

TEST(block_ops_bad_models) {
  const float x[64] = {0};
  ot_result r;
  for (int k = 0; k < 2; k++) {
    const int op = k ? TFL_OP_SPACE_TO_DEPTH : TFL_OP_DEPTH_TO_SPACE;
    CHECK(run_block_op(op, TFL_FLOAT32, DIMS(1, 2, 2, 4), x, 0, 4, &r) != TFL_OK);
    CHECK(strstr(r.error, "block_size") != NULL);
    CHECK(run_block_op(op, TFL_FLOAT32, DIMS(1, 2, 2, 4), x, -2, 4, &r) != TFL_OK);
    CHECK(run_block_op(op, TFL_FLOAT32, DIMS(2, 2, 4), x, 2, 3, &r) != TFL_OK); /* 3-D */
  }
  /* Depth 6 is not a multiple of 2 * 2; height 3 is not a multiple of 2. */
  CHECK(run_block_op(TFL_OP_DEPTH_TO_SPACE, TFL_FLOAT32, DIMS(1, 2, 2, 6), x, 2, 4, &r) !=
        TFL_OK);
  CHECK(run_block_op(TFL_OP_SPACE_TO_DEPTH, TFL_FLOAT32, DIMS(1, 3, 2, 1), x, 2, 4, &r) !=
        TFL_OK);
  ot_result_free(&r);
}

/* --- SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND -------------------------------------------- */

typedef struct sb_case {
  int op;
  tfl_type type;
  int ndim;
  const int32_t *dims;
  const void *data;
  const int32_t *block; /* ndim - 2 entries */
  const int32_t *pads;  /* (ndim - 2) x 2 */
  int block_const, pads_const;
  int q;          /* quantize input and output with zero point zp */
  int64_t zp, out_zp;
} sb_case;

static tfl_status run_sb(const sb_case *c, ot_result *r) {
  const int m = c->ndim - 2;
  const int32_t bdims[1] = {m}, pdims[2] = {m, 2};
  static const float scale = 0.5f;
  ot_spec in[3] = {OT_IN(c->type, c->ndim, c->dims, c->data),
                   OT_IN(TFL_INT32, 1, bdims, c->block), OT_IN(TFL_INT32, 2, pdims, c->pads)};
  in[1].constant = c->block_const;
  in[2].constant = c->pads_const;
  ot_spec out[1] = {OT_OUT(c->type)};
  if (c->q) {
    in[0].q_count = out[0].q_count = 1;
    in[0].scales = out[0].scales = &scale;
    in[0].zero_points = &c->zp;
    out[0].zero_points = &c->out_zp;
  }
  const int opts = c->op == TFL_OP_SPACE_TO_BATCH_ND ? TFL_OPTS_SPACE_TO_BATCH_ND
                                                     : TFL_OPTS_BATCH_TO_SPACE_ND;
  return ot_run(c->op, 1, in, 3, out, 1, opts, NULL, r);
}

TEST(space_to_batch_by_hand) {
  const float x[4] = {1, 2, 3, 4}; /* [1, 2, 2, 1] */
  sb_case c = {TFL_OP_SPACE_TO_BATCH_ND, TFL_FLOAT32, 4, DIMS(1, 2, 2, 1), x,
               DIMS(2, 2), DIMS(0, 0, 0, 0), 1, 1, 0, 0, 0};
  ot_result r;
  REQUIRE(run_sb(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(4, 1, 1, 1)));
  CHECK(memcmp(r.out[0].data, x, sizeof(x)) == 0);
  ot_result_free(&r);

  /* Padded by one on every side: a 4x4 image with 1 2 / 3 4 in the middle. */
  c.pads = DIMS(1, 1, 1, 1);
  REQUIRE(run_sb(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(4, 2, 2, 1)));
  const float want[16] = {0, 0, 0, 4, 0, 0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 0};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);

  /* 3-D (NHC): out[k * 2 + b][o] = in[b][o * 2 + k]. */
  const int16_t y[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  c = (sb_case){TFL_OP_SPACE_TO_BATCH_ND, TFL_INT16, 3, DIMS(2, 4, 1), y,
                DIMS(2), DIMS(0, 0), 0, 1, 0, 0, 0};
  REQUIRE(run_sb(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(4, 2, 1)));
  const int16_t want16[8] = {1, 3, 5, 7, 2, 4, 6, 8};
  CHECK(memcmp(r.out[0].data, want16, sizeof(want16)) == 0);
  ot_result_free(&r);
}

TEST(space_to_batch_pads_with_zero_point) {
  const int8_t x[2] = {5, 6}; /* [1, 1, 2, 1] padded to width 4 */
  sb_case c = {TFL_OP_SPACE_TO_BATCH_ND, TFL_INT8, 4, DIMS(1, 1, 2, 1), x,
               DIMS(1, 2), DIMS(0, 0, 1, 1), 1, 0, 1, -128, -128};
  ot_result r;
  REQUIRE(run_sb(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(2, 1, 2, 1)));
  const int8_t want[4] = {-128, 6, 5, -128};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(batch_to_space_by_hand) {
  const float x[16] = {0, 0, 0, 4, 0, 0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 0}; /* [4, 2, 2, 1] */
  sb_case c = {TFL_OP_BATCH_TO_SPACE_ND, TFL_FLOAT32, 4, DIMS(4, 2, 2, 1), x,
               DIMS(2, 2), DIMS(1, 1, 1, 1), 1, 0, 0, 0, 0};
  ot_result r;
  REQUIRE(run_sb(&c, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 4, DIMS(1, 2, 2, 1)));
  const float want[4] = {1, 2, 3, 4};
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

/* Space-to-batch traced from each output element: batch k * B + b, position o * block + shift
 * minus the padding; batch-to-space from each output element: position p + crop splits into
 * o = p / block and shift = p % block, which name the input batch. */
static void ref_space_batch(const sb_case *c, const int32_t *od, size_t elem, uint8_t *want,
                            uint8_t fill) {
  const int m = c->ndim - 2;
  const int to_batch = c->op == TFL_OP_SPACE_TO_BATCH_ND;
  const size_t n = ck_count(c->ndim, od);
  for (size_t f = 0; f < n; f++) {
    int32_t o[8], src[8], shift[8];
    ck_unravel(f, c->ndim, od, o);
    src[c->ndim - 1] = o[c->ndim - 1];
    int inside = 1;
    if (to_batch) {
      const int32_t images = c->dims[0];
      src[0] = o[0] % images;
      ck_unravel((size_t)(o[0] / images), m, c->block, shift);
      for (int i = 0; i < m; i++) {
        src[i + 1] = o[i + 1] * c->block[i] + shift[i] - c->pads[2 * i];
        inside &= src[i + 1] >= 0 && src[i + 1] < c->dims[i + 1];
      }
    } else {
      for (int i = 0; i < m; i++) {
        const int32_t p = o[i + 1] + c->pads[2 * i];
        src[i + 1] = p / c->block[i];
        shift[i] = p % c->block[i];
      }
      src[0] = (int32_t)ck_ravel(m, c->block, shift) * od[0] + o[0];
    }
    if (inside)
      memcpy(want + f * elem, (const uint8_t *)c->data + ck_ravel(c->ndim, c->dims, src) * elem,
             elem);
    else
      memset(want + f * elem, fill, elem);
  }
}

static void check_space_batch(int op, int ndim, const int32_t *dims, const int32_t *block,
                              const int32_t *pads, unsigned seed) {
  const tfl_type type = elem_types[seed % 4];
  const size_t elem = tfl_type_size(type);
  const int m = ndim - 2;
  int32_t od[8];
  od[0] = dims[0];
  od[ndim - 1] = dims[ndim - 1];
  for (int i = 0; i < m; i++) {
    if (op == TFL_OP_SPACE_TO_BATCH_ND) {
      od[0] *= block[i];
      od[i + 1] = (dims[i + 1] + pads[2 * i] + pads[2 * i + 1]) / block[i];
    } else {
      od[0] /= block[i];
      od[i + 1] = dims[i + 1] * block[i] - pads[2 * i] - pads[2 * i + 1];
    }
  }
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, seed);
  const size_t out_bytes = ck_count(ndim, od) * elem;
  uint8_t *want = malloc(out_bytes + 1);
  sb_case c = {op, type, ndim, dims, x, block, pads, seed % 3 != 0, (seed / 3) % 2 == 0,
               0, 0, 0};
  ref_space_batch(&c, od, elem, want, 0);
  ot_result r;
  if (run_sb(&c, &r) != TFL_OK) {
    test_fail(__FILE__, __LINE__, "seed %u: %s", seed, r.error);
  } else {
    CHECK(ck_shape_is(&r.out[0], ndim, od));
    CHECK(ck_bytes_are(&r.out[0], want, out_bytes));
  }
  ot_result_free(&r);
  free(x);
  free(want);
}

TEST(space_batch_against_reference) {
  unsigned seed = 1;
  const int s2b = TFL_OP_SPACE_TO_BATCH_ND, b2s = TFL_OP_BATCH_TO_SPACE_ND;
  check_space_batch(s2b, 4, DIMS(2, 4, 6, 3), DIMS(2, 3), DIMS(0, 0, 0, 0), seed++);
  check_space_batch(s2b, 4, DIMS(2, 3, 5, 2), DIMS(2, 3), DIMS(1, 0, 2, 2), seed++);
  check_space_batch(s2b, 4, DIMS(1, 5, 5, 1), DIMS(3, 2), DIMS(2, 2, 0, 1), seed++);
  check_space_batch(s2b, 3, DIMS(3, 5, 2), DIMS(3), DIMS(3, 1), seed++);
  check_space_batch(s2b, 5, DIMS(1, 2, 3, 4, 2), DIMS(2, 1, 2), DIMS(0, 2, 1, 2, 0, 0),
                    seed++);
  check_space_batch(s2b, 4, DIMS(1, 0, 2, 1), DIMS(2, 2), DIMS(1, 1, 0, 0), seed++);
  check_space_batch(b2s, 4, DIMS(12, 2, 2, 3), DIMS(2, 3), DIMS(0, 0, 0, 0), seed++);
  check_space_batch(b2s, 4, DIMS(12, 3, 3, 2), DIMS(2, 3), DIMS(1, 0, 2, 4), seed++);
  check_space_batch(b2s, 4, DIMS(6, 2, 4, 1), DIMS(3, 2), DIMS(2, 2, 0, 1), seed++);
  check_space_batch(b2s, 3, DIMS(9, 2, 2), DIMS(3), DIMS(2, 1), seed++);
  check_space_batch(b2s, 5, DIMS(8, 2, 3, 4, 2), DIMS(2, 1, 2), DIMS(0, 2, 1, 0, 0, 3),
                    seed++);
  check_space_batch(b2s, 4, DIMS(4, 1, 1, 2), DIMS(2, 2), DIMS(1, 1, 0, 2), seed++); /* empty */
}

TEST(space_batch_bad_models) {
  const float x[64] = {0};
  ot_result r;
  for (int k = 0; k < 2; k++) {
    const int bc = k, pc = 1 - k; /* one of the two shape inputs is given at run time */
    sb_case c = {TFL_OP_SPACE_TO_BATCH_ND, TFL_FLOAT32, 4, DIMS(1, 4, 4, 1), x,
                 DIMS(2, 0), DIMS(0, 0, 0, 0), bc, pc, 0, 0, 0};
    CHECK(run_sb(&c, &r) != TFL_OK); /* zero block */
    c.block = DIMS(3, 2);
    CHECK(run_sb(&c, &r) != TFL_OK); /* 4 is not a multiple of 3 */
    CHECK(strstr(r.error, "multiple") != NULL);
    c.block = DIMS(2, 2);
    c.pads = DIMS(-1, 1, 0, 0);
    CHECK(run_sb(&c, &r) != TFL_OK); /* negative padding */
    c.op = TFL_OP_BATCH_TO_SPACE_ND;
    c.dims = DIMS(6, 2, 2, 1);
    c.pads = DIMS(0, 0, 0, 0);
    CHECK(run_sb(&c, &r) != TFL_OK); /* 6 batches, blocks of 4 */
    c.dims = DIMS(4, 2, 2, 1);
    c.pads = DIMS(3, 2, 0, 0);
    CHECK(run_sb(&c, &r) != TFL_OK); /* crops larger than the size */
    c.pads = DIMS(0, -1, 0, 0);
    CHECK(run_sb(&c, &r) != TFL_OK);
  }
  /* Wrong ranks and shapes of block_shape and paddings. */
  const int32_t dims2[2] = {4, 4};
  sb_case c = {TFL_OP_SPACE_TO_BATCH_ND, TFL_FLOAT32, 2, dims2, x, DIMS(1), DIMS(0, 0),
               1, 1, 0, 0, 0};
  CHECK(run_sb(&c, &r) != TFL_OK); /* 2-D input */
  ot_spec in[3] = {OT_IN(TFL_FLOAT32, 4, DIMS(1, 4, 4, 1), x),
                   OT_CONST(TFL_INT32, 1, DIMS(3), ((const int32_t[]){2, 2, 2})),
                   OT_CONST(TFL_INT32, 2, DIMS(2, 2), ((const int32_t[]){0, 0, 0, 0}))};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  CHECK(ot_run(TFL_OP_SPACE_TO_BATCH_ND, 1, in, 3, out, 1, TFL_OPTS_SPACE_TO_BATCH_ND, NULL,
               &r) != TFL_OK);
  in[1] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(2), ((const int32_t[]){2, 2}));
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(4), ((const int32_t[]){0, 0, 0, 0}));
  CHECK(ot_run(TFL_OP_BATCH_TO_SPACE_ND, 1, in, 3, out, 1, TFL_OPTS_BATCH_TO_SPACE_ND, NULL,
               &r) != TFL_OK);
  /* Quantization must be kept. */
  const int8_t q[16] = {0};
  c = (sb_case){TFL_OP_SPACE_TO_BATCH_ND, TFL_INT8, 4, DIMS(1, 4, 4, 1), q,
                DIMS(2, 2), DIMS(0, 0, 0, 0), 1, 1, 1, 0, 3};
  CHECK(run_sb(&c, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(depth_to_space_by_hand);
  RUN(space_to_depth_by_hand);
  RUN(block_ops_against_reference);
  RUN(block_ops_bad_models);
  RUN(space_to_batch_by_hand);
  RUN(space_to_batch_pads_with_zero_point);
  RUN(batch_to_space_by_hand);
  RUN(space_batch_against_reference);
  RUN(space_batch_bad_models);
  return test_summary();
}
