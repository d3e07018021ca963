/* RESHAPE, SQUEEZE, EXPAND_DIMS: output shapes worked out by hand from TFLite's rules, data
 * compared byte for byte, every element type, constant and non-constant shape inputs, and
 * bad shapes/axes that must fail cleanly. */
#include <stdint.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

static const float f6[6] = {1, 2, 3, 4, 5, 6};

/* Runs a one-input-plus-extras op and checks the output shape and that the bytes are the
 * input's. Returns the status. */
static tfl_status run_and_check(int op, const ot_spec *in, int n_in, int opt_type,
                                const mb_field *opts, int ndim, const int32_t *dims) {
  ot_result r;
  ot_spec out[] = {OT_OUT(in[0].type)};
  tfl_status st = ot_run(op, 1, in, n_in, out, 1, opt_type, opts, &r);
  if (st == TFL_OK) {
    CHECK(ck_shape_is(&r.out[0], ndim, dims));
    size_t bytes = tfl_type_size(in[0].type);
    for (int i = 0; i < in[0].ndim; i++) bytes *= (size_t)in[0].dims[i];
    CHECK_EQ_INT(r.out[0].bytes, bytes);
    if (r.out[0].bytes == bytes && bytes) CHECK(memcmp(r.out[0].data, in[0].data, bytes) == 0);
  } else {
    fprintf(stderr, "    (%s)\n", r.error);
  }
  ot_result_free(&r);
  return st;
}

static tfl_status run_expect_error(int op, const ot_spec *in, int n_in, int opt_type,
                                   const mb_field *opts) {
  ot_result r;
  ot_spec out[] = {OT_OUT(in[0].type)};
  tfl_status st = ot_run(op, 1, in, n_in, out, 1, opt_type, opts, &r);
  CHECK(r.error[0] != 0 || st == TFL_OK);
  ot_result_free(&r);
  return st;
}

/* --- RESHAPE ---------------------------------------------------------------------------- */

static tfl_status reshape_with_tensor(const ot_spec *in, const int32_t *shape, int n, int ndim,
                                      const int32_t *dims) {
  ot_spec ins[] = {*in, OT_CONST(TFL_INT32, 1, ((const int32_t[]){n}), shape)};
  return run_and_check(TFL_OP_RESHAPE, ins, 2, TFL_OPTS_RESHAPE, NULL, ndim, dims);
}

TEST(reshape_from_shape_tensor) {
  ot_spec in = OT_F32(1, DIMS(6), f6);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(2, 3), 2, 2, DIMS(2, 3)), TFL_OK);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(3, 1, 2), 3, 3, DIMS(3, 1, 2)), TFL_OK);
}

TEST(reshape_infers_minus_one) {
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)i;
  ot_spec in = OT_F32(3, DIMS(2, 3, 4), x);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(-1, 4), 2, 2, DIMS(6, 4)), TFL_OK);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(4, -1, 2), 3, 3, DIMS(4, 3, 2)), TFL_OK);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(-1), 1, 1, DIMS(24)), TFL_OK);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(1, -1, 1), 3, 3, DIMS(1, 24, 1)), TFL_OK);
}

TEST(reshape_zero_sized) {
  ot_spec in = OT_F32(2, DIMS(0, 4), NULL);
  /* TFLite leaves zeros out of both products: -1 becomes 4 / 1. */
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(-1, 0), 2, 2, DIMS(4, 0)), TFL_OK);
  /* With a non-zero known part, -1 becomes 0. */
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(-1, 2), 2, 2, DIMS(0, 2)), TFL_OK);
  CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(2, 0, 3), 3, 3, DIMS(2, 0, 3)), TFL_OK);
}

TEST(reshape_from_options) {
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), f6)};
  mb_field opt[] = {MB_IVEC(0, DIMS(3, -1), 2), MB_FIELDS_END};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in, 1, TFL_OPTS_RESHAPE, opt, 2, DIMS(3, 2)),
               TFL_OK);
}

TEST(reshape_legacy_scalar_options) {
  const float one = 7.5f;
  ot_spec in[] = {OT_F32(1, DIMS(1), &one)};
  mb_field opt[] = {MB_IVEC(0, DIMS(0), 1), MB_FIELDS_END};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in, 1, TFL_OPTS_RESHAPE, opt, 0, NULL), TFL_OK);
}

TEST(reshape_empty_shape_tensor_is_scalar) {
  const float one = 7.5f;
  /* Non-constant: an empty constant buffer is not representable in a model. */
  ot_spec in[] = {OT_F32(2, DIMS(1, 1), &one), OT_IN(TFL_INT32, 1, DIMS(0), NULL)};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in, 2, TFL_OPTS_RESHAPE, NULL, 0, NULL), TFL_OK);
}

TEST(reshape_non_vector_shape_falls_back_to_options) {
  /* A scalar or an int64 shape tensor is ignored by TFLite in favour of new_shape. */
  const int32_t scalar = 6;
  const int64_t shape64[2] = {1, 6};
  mb_field opt[] = {MB_IVEC(0, DIMS(6, 1), 2), MB_FIELDS_END};
  ot_spec in1[] = {OT_F32(2, DIMS(2, 3), f6), OT_CONST(TFL_INT32, 0, NULL, &scalar)};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in1, 2, TFL_OPTS_RESHAPE, opt, 2, DIMS(6, 1)),
               TFL_OK);
  ot_spec in2[] = {OT_F32(2, DIMS(2, 3), f6), OT_CONST(TFL_INT64, 1, DIMS(2), shape64)};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in2, 2, TFL_OPTS_RESHAPE, opt, 2, DIMS(6, 1)),
               TFL_OK);
}

TEST(reshape_dynamic_shape_input) {
  const int32_t shape[3] = {3, -1, 1};
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), f6), OT_IN(TFL_INT32, 1, DIMS(3), shape)};
  CHECK_EQ_INT(run_and_check(TFL_OP_RESHAPE, in, 2, TFL_OPTS_RESHAPE, NULL, 3, DIMS(3, 2, 1)),
               TFL_OK);
}

TEST(reshape_every_type) {
  const int8_t i8[6] = {-128, -1, 0, 1, 2, 127};
  const uint8_t u8[6] = {0, 1, 128, 200, 254, 255};
  const int16_t i16[6] = {-32768, -2, 0, 3, 1000, 32767};
  const int32_t i32[6] = {INT32_MIN, -5, 0, 7, 99, INT32_MAX};
  const int64_t i64[6] = {INT64_MIN, -1, 0, 1, (int64_t)1 << 40, INT64_MAX};
  const uint8_t b[6] = {1, 0, 0, 1, 1, 0};
  const uint16_t f16[6] = {0x3c00, 0xbc00, 0x0000, 0x7bff, 0x8001, 0x4000};
  const struct {
    tfl_type type;
    const void *data;
  } cases[] = {{TFL_INT8, i8},   {TFL_UINT8, u8}, {TFL_INT16, i16},  {TFL_INT32, i32},
               {TFL_INT64, i64}, {TFL_BOOL, b},   {TFL_FLOAT16, f16}, {TFL_FLOAT32, f6}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ot_spec in = OT_IN(cases[i].type, 2, DIMS(3, 2), cases[i].data);
    CHECK_EQ_INT(reshape_with_tensor(&in, DIMS(2, -1), 2, 2, DIMS(2, 3)), TFL_OK);
  }
}

TEST(reshape_errors) {
  ot_spec in = OT_F32(2, DIMS(2, 3), f6);
  ot_spec a[] = {in, OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(4, 2))};
  CHECK(run_expect_error(TFL_OP_RESHAPE, a, 2, TFL_OPTS_RESHAPE, NULL) != TFL_OK);
  ot_spec b[] = {in, OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(-1, -1))};
  CHECK(run_expect_error(TFL_OP_RESHAPE, b, 2, TFL_OPTS_RESHAPE, NULL) != TFL_OK);
  ot_spec c[] = {in, OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(-2, -3))};
  CHECK(run_expect_error(TFL_OP_RESHAPE, c, 2, TFL_OPTS_RESHAPE, NULL) != TFL_OK);
  ot_spec d[] = {in, OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(-1, 4))}; /* 6 / 4 is not whole */
  CHECK(run_expect_error(TFL_OP_RESHAPE, d, 2, TFL_OPTS_RESHAPE, NULL) != TFL_OK);
  /* Mismatch found only at invoke, through a non-constant shape. */
  ot_spec e[] = {in, OT_IN(TFL_INT32, 1, DIMS(2), DIMS(5, 1))};
  CHECK(run_expect_error(TFL_OP_RESHAPE, e, 2, TFL_OPTS_RESHAPE, NULL) != TFL_OK);
  /* No shape at all: a scalar, which 6 elements do not fit. */
  CHECK(run_expect_error(TFL_OP_RESHAPE, &in, 1, 0, NULL) != TFL_OK);
}

TEST(reshape_output_type_must_match) {
  ot_spec in[] = {OT_F32(1, DIMS(6), f6), OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(2, 3))};
  ot_spec out[] = {OT_OUT(TFL_INT32)};
  ot_result r;
  CHECK(ot_run(TFL_OP_RESHAPE, 1, in, 2, out, 1, TFL_OPTS_RESHAPE, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- SQUEEZE ---------------------------------------------------------------------------- */

TEST(squeeze_all_ones) {
  ot_spec in[] = {OT_F32(5, DIMS(1, 2, 1, 3, 1), f6)};
  CHECK_EQ_INT(run_and_check(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, NULL, 2, DIMS(2, 3)),
               TFL_OK);
  ot_spec ones[] = {OT_F32(3, DIMS(1, 1, 1), f6)};
  CHECK_EQ_INT(run_and_check(TFL_OP_SQUEEZE, ones, 1, 0, NULL, 0, NULL), TFL_OK);
}

TEST(squeeze_given_dims) {
  ot_spec in[] = {OT_F32(5, DIMS(1, 2, 1, 3, 1), f6)};
  mb_field o1[] = {MB_IVEC(0, DIMS(2), 1), MB_FIELDS_END};
  CHECK_EQ_INT(run_and_check(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, o1, 4, DIMS(1, 2, 3, 1)),
               TFL_OK);
  mb_field o2[] = {MB_IVEC(0, DIMS(-1, 0), 2), MB_FIELDS_END};
  CHECK_EQ_INT(run_and_check(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, o2, 3, DIMS(2, 1, 3)),
               TFL_OK);
  mb_field o3[] = {MB_IVEC(0, DIMS(-5, 0, 4), 3), MB_FIELDS_END}; /* -5 and 0 are the same */
  CHECK_EQ_INT(run_and_check(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, o3, 3, DIMS(2, 1, 3)),
               TFL_OK);
}

TEST(squeeze_errors) {
  ot_spec in[] = {OT_F32(3, DIMS(1, 2, 3), f6)};
  mb_field not_one[] = {MB_IVEC(0, DIMS(1), 1), MB_FIELDS_END};
  CHECK(run_expect_error(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, not_one) != TFL_OK);
  mb_field too_big[] = {MB_IVEC(0, DIMS(3), 1), MB_FIELDS_END};
  CHECK(run_expect_error(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, too_big) != TFL_OK);
  mb_field too_neg[] = {MB_IVEC(0, DIMS(-4), 1), MB_FIELDS_END};
  CHECK(run_expect_error(TFL_OP_SQUEEZE, in, 1, TFL_OPTS_SQUEEZE, too_neg) != TFL_OK);
}

/* --- EXPAND_DIMS ------------------------------------------------------------------------ */

static tfl_status expand(tfl_type axis_type, const void *axis, int constant, int ndim,
                         const int32_t *dims) {
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), f6), OT_IN(axis_type, 1, DIMS(1), axis)};
  in[1].constant = constant;
  return run_and_check(TFL_OP_EXPAND_DIMS, in, 2, TFL_OPTS_EXPAND_DIMS, NULL, ndim, dims);
}

TEST(expand_dims_axes) {
  const int32_t a0 = 0, a1 = 1, a2 = 2, m1 = -1, m3 = -3;
  const int64_t l1 = 1, lm2 = -2;
  CHECK_EQ_INT(expand(TFL_INT32, &a0, 1, 3, DIMS(1, 2, 3)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT32, &a1, 1, 3, DIMS(2, 1, 3)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT32, &a2, 1, 3, DIMS(2, 3, 1)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT32, &m1, 1, 3, DIMS(2, 3, 1)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT32, &m3, 1, 3, DIMS(1, 2, 3)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT64, &l1, 1, 3, DIMS(2, 1, 3)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT64, &lm2, 1, 3, DIMS(2, 1, 3)), TFL_OK);
  /* Non-constant axis: the output is sized at invoke. */
  CHECK_EQ_INT(expand(TFL_INT32, &a1, 0, 3, DIMS(2, 1, 3)), TFL_OK);
  CHECK_EQ_INT(expand(TFL_INT64, &lm2, 0, 3, DIMS(2, 1, 3)), TFL_OK);
}

TEST(expand_dims_scalar_and_types) {
  const int8_t v = -3;
  const int32_t a0 = 0;
  ot_spec in[] = {OT_IN(TFL_INT8, 0, NULL, &v), OT_CONST(TFL_INT32, 0, NULL, &a0)};
  CHECK_EQ_INT(run_and_check(TFL_OP_EXPAND_DIMS, in, 2, 0, NULL, 1, DIMS(1)), TFL_OK);
}

TEST(expand_dims_errors) {
  const int32_t big = 3, neg = -4;
  const float axis_f = 0;
  ot_spec a[] = {OT_F32(2, DIMS(2, 3), f6), OT_CONST(TFL_INT32, 1, DIMS(1), &big)};
  CHECK(run_expect_error(TFL_OP_EXPAND_DIMS, a, 2, 0, NULL) != TFL_OK);
  ot_spec b[] = {OT_F32(2, DIMS(2, 3), f6), OT_IN(TFL_INT32, 1, DIMS(1), &neg)};
  CHECK(run_expect_error(TFL_OP_EXPAND_DIMS, b, 2, 0, NULL) != TFL_OK);
  ot_spec c[] = {OT_F32(2, DIMS(2, 3), f6), OT_CONST(TFL_FLOAT32, 1, DIMS(1), &axis_f)};
  CHECK(run_expect_error(TFL_OP_EXPAND_DIMS, c, 2, 0, NULL) != TFL_OK);
  ot_spec d[] = {OT_F32(2, DIMS(2, 3), f6), OT_CONST(TFL_INT32, 1, DIMS(2), DIMS(0, 1))};
  CHECK(run_expect_error(TFL_OP_EXPAND_DIMS, d, 2, 0, NULL) != TFL_OK);
}

TEST(expand_dims_quantization_must_match) {
  const int8_t x[2] = {1, 2};
  const int32_t a0 = 0;
  const float s1 = 0.5f, s2 = 0.25f;
  const int64_t z = 0;
  ot_spec in[] = {{.type = TFL_INT8, .ndim = 1, .dims = DIMS(2), .data = x, .q_count = 1,
                   .scales = &s1, .zero_points = &z},
                  OT_CONST(TFL_INT32, 0, NULL, &a0)};
  ot_spec out[] = {{.type = TFL_INT8, .q_count = 1, .scales = &s2, .zero_points = &z}};
  ot_result r;
  CHECK(ot_run(TFL_OP_EXPAND_DIMS, 1, in, 2, out, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
  out[0].scales = &s1;
  CHECK_EQ_INT(ot_run(TFL_OP_EXPAND_DIMS, 1, in, 2, out, 1, 0, NULL, &r), TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(reshape_from_shape_tensor);
  RUN(reshape_infers_minus_one);
  RUN(reshape_zero_sized);
  RUN(reshape_from_options);
  RUN(reshape_legacy_scalar_options);
  RUN(reshape_empty_shape_tensor_is_scalar);
  RUN(reshape_non_vector_shape_falls_back_to_options);
  RUN(reshape_dynamic_shape_input);
  RUN(reshape_every_type);
  RUN(reshape_errors);
  RUN(reshape_output_type_must_match);
  RUN(squeeze_all_ones);
  RUN(squeeze_given_dims);
  RUN(squeeze_errors);
  RUN(expand_dims_axes);
  RUN(expand_dims_scalar_and_types);
  RUN(expand_dims_errors);
  RUN(expand_dims_quantization_must_match);
  return test_summary();
}
