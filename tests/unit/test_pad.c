/* PAD, PADV2, MIRROR_PAD: hand-computed cases, then many shapes, paddings and types against
 * a per-element reference below (each output index mapped back to an input index or to the
 * fill value), the zero-point fill of quantized tensors, and bad paddings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

enum { REF_CONSTANT, REF_REFLECT, REF_SYMMETRIC };

/* Input coordinate for output coordinate o along one axis, or -1 for the fill value. */
static int32_t ref_source(int mode, int32_t o, int32_t before, int32_t size) {
  int32_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (mode == REF_CONSTANT) return -1;
  if (i < 0) return mode == REF_REFLECT ? -i : -i - 1;
  return mode == REF_REFLECT ? 2 * size - 2 - i : 2 * size - 1 - i;
}

/* The padded tensor; out_dims receives its shape. */
static uint8_t *ref_pad(int mode, int ndim, const int32_t *dims, const uint8_t *x,
                        const int32_t *pads, size_t elem, const uint8_t *fill,
                        int32_t *out_dims) {
  for (int d = 0; d < ndim; d++) out_dims[d] = dims[d] + pads[2 * d] + pads[2 * d + 1];
  size_t total = ck_count(ndim, out_dims);
  uint8_t *y = malloc(total * elem + 1);
  for (size_t f = 0; f < total; f++) {
    size_t rem = f, src = 0, stride = 1;
    int inside = 1;
    for (int d = ndim - 1; d >= 0; d--) {
      int32_t o = (int32_t)(rem % (size_t)out_dims[d]);
      rem /= (size_t)out_dims[d];
      int32_t i = ref_source(mode, o, pads[2 * d], dims[d]);
      if (i < 0) inside = 0;
      src += (size_t)(i < 0 ? 0 : i) * stride;
      stride *= (size_t)dims[d];
    }
    memcpy(y + f * elem, inside ? x + src * elem : fill, elem);
  }
  return y;
}

/* Runs PAD (or MIRROR_PAD) and compares with ref_pad. */
static void check_pad(int op, int mode, tfl_type type, int ndim, const int32_t *dims,
                      const int32_t *pads, int pads_constant, int pads64) {
  size_t elem = tfl_type_size(type);
  uint8_t *x = ck_pattern(ck_count(ndim, dims) * elem, (unsigned)(ndim * 7 + pads[0] + 1));
  const uint8_t zero[16] = {0};
  int64_t pads_l[16];
  for (int i = 0; i < 2 * ndim; i++) pads_l[i] = pads[i];
  int32_t out_dims[8];
  uint8_t *want = ref_pad(mode, ndim, dims, x, pads, elem, zero, out_dims);
  ot_spec in[] = {OT_IN(type, ndim, dims, x),
                  OT_IN(pads64 ? TFL_INT64 : TFL_INT32, 2, ((const int32_t[]){ndim, 2}),
                        pads64 ? (const void *)pads_l : (const void *)pads)};
  in[1].constant = pads_constant && ndim > 0;
  mb_field opt[] = {MB_BYTE(0, mode == REF_SYMMETRIC), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(type)};
  ot_result r;
  tfl_status st = op == TFL_OP_MIRROR_PAD
                      ? ot_run(op, 1, in, 2, out, 1, TFL_OPTS_MIRROR_PAD, opt, &r)
                      : ot_run(op, 1, in, 2, out, 1, TFL_OPTS_PAD, NULL, &r);
  CHECK_EQ_INT(st, TFL_OK);
  if (st == TFL_OK) {
    size_t bytes = ck_count(ndim, out_dims) * elem;
    CHECK(ck_shape_is(&r.out[0], ndim, out_dims));
    CHECK_EQ_INT(r.out[0].bytes, bytes);
    if (r.out[0].bytes == bytes) CHECK(memcmp(r.out[0].data, want, bytes) == 0);
  } else {
    fprintf(stderr, "    %s\n", r.error);
  }
  ot_result_free(&r);
  free(x);
  free(want);
}

TEST(pad_hand_computed) {
  const float x[6] = {1, 2, 3, 4, 5, 6};
  const int32_t pads[4] = {1, 0, 2, 1};
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), x), OT_CONST(TFL_INT32, 2, DIMS(2, 2), pads)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  const float want[18] = {0, 0, 0, 0, 0, 0,  //
                          0, 0, 1, 2, 3, 0,  //
                          0, 0, 4, 5, 6, 0};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_PAD, 1, in, 2, out, 1, TFL_OPTS_PAD, NULL, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 6)));
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

TEST(mirror_pad_hand_computed) {
  const int32_t x[3] = {1, 2, 3};
  const int32_t pads[2] = {2, 2};
  const int32_t reflect[7] = {3, 2, 1, 2, 3, 2, 1}, symmetric[7] = {2, 1, 1, 2, 3, 3, 2};
  ot_spec in[] = {OT_IN(TFL_INT32, 1, DIMS(3), x), OT_CONST(TFL_INT32, 2, DIMS(1, 2), pads)};
  ot_spec out[] = {OT_OUT(TFL_INT32)};
  ot_result r;
  mb_field o_reflect[] = {MB_BYTE(0, 0), MB_FIELDS_END};
  REQUIRE(ot_run(TFL_OP_MIRROR_PAD, 1, in, 2, out, 1, TFL_OPTS_MIRROR_PAD, o_reflect, &r) ==
          TFL_OK);
  CHECK(memcmp(r.out[0].data, reflect, sizeof(reflect)) == 0);
  ot_result_free(&r);
  mb_field o_symmetric[] = {MB_BYTE(0, 1), MB_FIELDS_END};
  REQUIRE(ot_run(TFL_OP_MIRROR_PAD, 1, in, 2, out, 1, TFL_OPTS_MIRROR_PAD, o_symmetric, &r) ==
          TFL_OK);
  CHECK(memcmp(r.out[0].data, symmetric, sizeof(symmetric)) == 0);
  ot_result_free(&r);
}

TEST(pad_many_shapes) {
  const tfl_type types[] = {TFL_FLOAT32, TFL_INT8, TFL_INT16, TFL_INT32, TFL_INT64,
                            TFL_BOOL,    TFL_FLOAT16};
  uint32_t s = 12345;
  for (int iter = 0; iter < 60; iter++) {
    int32_t dims[4], pads[8];
    int ndim = 1 + iter % 4;
    for (int d = 0; d < ndim; d++) {
      s = s * 1664525u + 1013904223u;
      dims[d] = (int32_t)(s >> 29) % 4; /* 0..3, zero sizes included */
      pads[2 * d] = (int32_t)(s >> 26) % 3;
      pads[2 * d + 1] = (int32_t)(s >> 20) % 3;
    }
    tfl_type type = types[iter % (sizeof(types) / sizeof(types[0]))];
    check_pad(TFL_OP_PAD, REF_CONSTANT, type, ndim, dims, pads, iter % 3 != 0, iter % 2);
    check_pad(TFL_OP_PADV2, REF_CONSTANT, type, ndim, dims, pads, iter % 3 == 0, iter % 2);
  }
}

TEST(mirror_pad_many_shapes) {
  const tfl_type types[] = {TFL_FLOAT32, TFL_UINT8, TFL_INT16, TFL_INT64};
  uint32_t s = 999;
  for (int iter = 0; iter < 60; iter++) {
    int32_t dims[4], pads[8];
    int ndim = 1 + iter % 4;
    int mode = iter % 2 ? REF_REFLECT : REF_SYMMETRIC;
    for (int d = 0; d < ndim; d++) {
      s = s * 1664525u + 1013904223u;
      dims[d] = 1 + (int32_t)(s >> 29) % 4;
      int32_t limit = dims[d] - (mode == REF_REFLECT) + 1; /* pads allowed: 0..size-offset */
      pads[2 * d] = (int32_t)(s >> 24) % limit;
      pads[2 * d + 1] = (int32_t)(s >> 16) % limit;
    }
    tfl_type type = types[iter % 4];
    check_pad(TFL_OP_MIRROR_PAD, mode, type, ndim, dims, pads, iter % 3 != 0, iter % 5 == 0);
  }
}

TEST(pad_scalar_and_empty) {
  const float v = 3.25f;
  ot_spec in[] = {OT_F32(0, NULL, &v), OT_IN(TFL_INT32, 2, DIMS(0, 2), NULL)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_PAD, 1, in, 2, out, 1, TFL_OPTS_PAD, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 0);
  CHECK(r.out[0].bytes == 4 && ((const float *)r.out[0].data)[0] == v);
  ot_result_free(&r);
  /* An empty input padded to a non-empty output is all fill. */
  const int32_t pads[4] = {1, 1, 0, 0};
  ot_spec in2[] = {OT_F32(2, DIMS(0, 2), NULL), OT_CONST(TFL_INT32, 2, DIMS(2, 2), pads)};
  const float zeros[4] = {0};
  REQUIRE(ot_run(TFL_OP_PAD, 1, in2, 2, out, 1, TFL_OPTS_PAD, NULL, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(2, 2)));
  CHECK(memcmp(r.out[0].data, zeros, sizeof(zeros)) == 0);
  ot_result_free(&r);
}

/* PADV2 / quantized fill values. */
static tfl_status pad_fill(const ot_spec *x, const ot_spec *value, const ot_spec *out,
                           uint8_t *got) {
  const int32_t pads[2] = {1, 1};
  ot_spec in[3] = {*x, OT_CONST(TFL_INT32, 2, DIMS(1, 2), pads)};
  int n_in = 2;
  if (value) in[n_in++] = *value;
  ot_result r;
  tfl_status st = ot_run(value ? TFL_OP_PADV2 : TFL_OP_PAD, 1, in, n_in, out, 1,
                         value ? TFL_OPTS_PADV2 : TFL_OPTS_PAD, NULL, &r);
  if (st == TFL_OK) memcpy(got, r.out[0].data, r.out[0].bytes);
  ot_result_free(&r);
  return st;
}

TEST(padv2_constant_values) {
  const float x[2] = {1, 2}, c = 9.5f;
  float got[4];
  ot_spec xs = OT_F32(1, DIMS(2), x), cs = OT_F32_CONST(0, NULL, &c), o = OT_OUT(TFL_FLOAT32);
  REQUIRE(pad_fill(&xs, &cs, &o, (uint8_t *)got) == TFL_OK);
  CHECK(got[0] == 9.5f && got[1] == 1 && got[2] == 2 && got[3] == 9.5f);
  cs.constant = 0; /* the value may also arrive at invoke */
  REQUIRE(pad_fill(&xs, &cs, &o, (uint8_t *)got) == TFL_OK);
  CHECK(got[0] == 9.5f && got[3] == 9.5f);
  const int64_t xl[2] = {5, 6}, cl = -3;
  int64_t gotl[4];
  ot_spec xls = OT_IN(TFL_INT64, 1, DIMS(2), xl), cls = OT_CONST(TFL_INT64, 1, DIMS(1), &cl);
  ot_spec ol = OT_OUT(TFL_INT64);
  REQUIRE(pad_fill(&xls, &cls, &ol, (uint8_t *)gotl) == TFL_OK);
  CHECK(gotl[0] == -3 && gotl[1] == 5 && gotl[2] == 6 && gotl[3] == -3);
}

TEST(pad_quantized_uses_zero_point) {
  const float scale = 0.5f;
  const int64_t zp_u = 128, zp_i = -7;
  const uint8_t xu[2] = {1, 2};
  const int8_t xi[2] = {3, 4};
  uint8_t got[4];
  ot_spec xus = {.type = TFL_UINT8, .ndim = 1, .dims = DIMS(2), .data = xu, .q_count = 1,
                 .scales = &scale, .zero_points = &zp_u};
  ot_spec ous = {.type = TFL_UINT8, .q_count = 1, .scales = &scale, .zero_points = &zp_u};
  REQUIRE(pad_fill(&xus, NULL, &ous, got) == TFL_OK);
  CHECK(got[0] == 128 && got[1] == 1 && got[2] == 2 && got[3] == 128);
  ot_spec xis = {.type = TFL_INT8, .ndim = 1, .dims = DIMS(2), .data = xi, .q_count = 1,
                 .scales = &scale, .zero_points = &zp_i};
  ot_spec ois = {.type = TFL_INT8, .q_count = 1, .scales = &scale, .zero_points = &zp_i};
  REQUIRE(pad_fill(&xis, NULL, &ois, got) == TFL_OK);
  CHECK((int8_t)got[0] == -7 && got[1] == 3 && got[2] == 4 && (int8_t)got[3] == -7);
  /* A given value is used as is when it shares the output's quantization... */
  const int8_t c = 100;
  ot_spec cs = {.type = TFL_INT8, .ndim = 0, .data = &c, .constant = 1, .q_count = 1,
                .scales = &scale, .zero_points = &zp_i};
  REQUIRE(pad_fill(&xis, &cs, &ois, got) == TFL_OK);
  CHECK(got[0] == 100 && got[3] == 100);
  /* ...and refused when it does not. */
  const float other = 0.25f;
  cs.scales = &other;
  CHECK(pad_fill(&xis, &cs, &ois, got) != TFL_OK);
  /* Unquantized int8 pads with 0. */
  ot_spec xplain = OT_IN(TFL_INT8, 1, DIMS(2), xi), oplain = OT_OUT(TFL_INT8);
  REQUIRE(pad_fill(&xplain, NULL, &oplain, got) == TFL_OK);
  CHECK(got[0] == 0 && got[1] == 3 && got[3] == 0);
}

static tfl_status pad_status(int op, tfl_type pad_type, const void *pads, int rows, int cols,
                             int constant, int mirror_mode) {
  const float x[6] = {1, 2, 3, 4, 5, 6};
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), x), OT_IN(pad_type, 2, ((const int32_t[]){rows, cols}),
                                                  pads)};
  in[1].constant = constant;
  mb_field opt[] = {MB_BYTE(0, mirror_mode), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  tfl_status st = ot_run(op, 1, in, 2, out, 1,
                         op == TFL_OP_MIRROR_PAD ? TFL_OPTS_MIRROR_PAD : TFL_OPTS_PAD,
                         op == TFL_OP_MIRROR_PAD ? opt : NULL, &r);
  if (st != TFL_OK) CHECK(r.error[0] != 0);
  ot_result_free(&r);
  return st;
}

TEST(pad_errors) {
  const int32_t neg[4] = {0, -1, 1, 1}, ok[4] = {1, 1, 1, 1}, six[6] = {0};
  const int64_t huge[4] = {0, 0, (int64_t)1 << 40, 0};
  const float fl[4] = {0};
  for (int constant = 0; constant < 2; constant++) {
    CHECK(pad_status(TFL_OP_PAD, TFL_INT32, neg, 2, 2, constant, 0) != TFL_OK);
    CHECK(pad_status(TFL_OP_PAD, TFL_INT32, six, 3, 2, constant, 0) != TFL_OK); /* rank */
    CHECK(pad_status(TFL_OP_PAD, TFL_INT32, six, 2, 3, constant, 0) != TFL_OK); /* cols */
    CHECK(pad_status(TFL_OP_PAD, TFL_INT64, huge, 2, 2, constant, 0) != TFL_OK);
    CHECK(pad_status(TFL_OP_PAD, TFL_FLOAT32, fl, 2, 2, constant, 0) != TFL_OK);
    CHECK(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, neg, 2, 2, constant, 0) != TFL_OK);
    CHECK_EQ_INT(pad_status(TFL_OP_PAD, TFL_INT32, ok, 2, 2, constant, 0), TFL_OK);
  }
  /* Mirror pads may not exceed size - 1 (REFLECT) or size (SYMMETRIC). */
  const int32_t two[4] = {2, 0, 0, 0}, three[4] = {0, 0, 0, 3}, four[4] = {0, 0, 4, 0};
  CHECK(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, two, 2, 2, 1, 0) != TFL_OK);
  CHECK_EQ_INT(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, two, 2, 2, 1, 1), TFL_OK);
  CHECK(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, three, 2, 2, 0, 0) != TFL_OK);
  CHECK_EQ_INT(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, three, 2, 2, 0, 1), TFL_OK);
  CHECK(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, four, 2, 2, 1, 1) != TFL_OK);
  CHECK(pad_status(TFL_OP_MIRROR_PAD, TFL_INT32, ok, 2, 2, 1, 2) != TFL_OK); /* bad mode */
}

TEST(padv2_value_errors) {
  const float x[2] = {1, 2}, two[2] = {1, 2};
  const int32_t wrong_type = 1;
  float got[8];
  ot_spec xs = OT_F32(1, DIMS(2), x), o = OT_OUT(TFL_FLOAT32);
  ot_spec many = OT_F32_CONST(1, DIMS(2), two);
  CHECK(pad_fill(&xs, &many, &o, (uint8_t *)got) != TFL_OK);
  ot_spec typed = OT_CONST(TFL_INT32, 0, NULL, &wrong_type);
  CHECK(pad_fill(&xs, &typed, &o, (uint8_t *)got) != TFL_OK);
}

int main(void) {
  RUN(pad_hand_computed);
  RUN(mirror_pad_hand_computed);
  RUN(pad_many_shapes);
  RUN(mirror_pad_many_shapes);
  RUN(pad_scalar_and_empty);
  RUN(padv2_constant_values);
  RUN(pad_quantized_uses_zero_point);
  RUN(pad_errors);
  RUN(padv2_value_errors);
  return test_summary();
}
