/* CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V against element-by-element references written
 * below with index arithmetic (unravel each output index, find its source), hand-computed
 * requantization and activations, every element type, and bad models that must fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

/* --- CONCATENATION ---------------------------------------------------------------------- */

/* out[idx] = input k's element at idx with idx[axis] shifted by the sizes before k. */
static void ref_concat(int n, const ot_spec *in, int axis, size_t elem, int32_t *out_dims,
                       uint8_t *out) {
  const int ndim = in[0].ndim;
  memcpy(out_dims, in[0].dims, (size_t)ndim * sizeof(int32_t));
  out_dims[axis] = 0;
  for (int k = 0; k < n; k++) out_dims[axis] += in[k].dims[axis];
  size_t total = ck_count(ndim, out_dims);
  for (size_t f = 0; f < total; f++) {
    int32_t idx[8] = {0};
    ck_unravel(f, ndim, out_dims, idx);
    int k = 0;
    while (idx[axis] >= in[k].dims[axis]) idx[axis] -= in[k++].dims[axis];
    memcpy(out + f * elem, (const uint8_t *)in[k].data + ck_ravel(ndim, in[k].dims, idx) * elem,
           elem);
  }
}

static void check_concat(tfl_type type, int n, const int32_t (*shapes)[8], int ndim, int axis_opt) {
  ot_spec in[8];
  size_t elem = tfl_type_size(type);
  for (int k = 0; k < n; k++) {
    in[k] = (ot_spec)OT_IN(type, ndim, shapes[k], NULL);
    size_t bytes = ck_count(ndim, shapes[k]) * elem;
    in[k].data = ck_pattern(bytes, (unsigned)(k + 1 + 10 * axis_opt));
    in[k].constant = k % 2 && bytes; /* mix graph inputs and (non-empty) constants */
  }
  int axis = axis_opt < 0 ? axis_opt + ndim : axis_opt;
  int32_t dims[8];
  size_t total = 0;
  for (int k = 0; k < n; k++) total += ck_count(ndim, shapes[k]);
  uint8_t *want = malloc(total * elem + 1);
  ref_concat(n, in, axis, elem, dims, want);
  mb_field opt[] = {MB_INT(0, axis_opt), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(type)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_CONCATENATION, 1, in, n, out, 1, TFL_OPTS_CONCATENATION, opt, &r);
  CHECK_EQ_INT(st, TFL_OK);
  if (st == TFL_OK) {
    CHECK(ck_shape_is(&r.out[0], ndim, dims));
    CHECK_EQ_INT(r.out[0].bytes, total * elem);
    if (r.out[0].bytes == total * elem) CHECK(memcmp(r.out[0].data, want, total * elem) == 0);
  } else {
    fprintf(stderr, "    %s\n", r.error);
  }
  ot_result_free(&r);
  free(want);
  for (int k = 0; k < n; k++) free((void *)in[k].data);
}

TEST(concat_each_axis) {
  const int32_t a[][8] = {{2, 3, 4}, {2, 3, 4}};
  for (int axis = -3; axis < 3; axis++) check_concat(TFL_FLOAT32, 2, a, 3, axis);
  const int32_t b0[][8] = {{1, 3, 2}, {4, 3, 2}, {2, 3, 2}};
  check_concat(TFL_FLOAT32, 3, b0, 3, 0);
  const int32_t b1[][8] = {{2, 1, 2}, {2, 5, 2}, {2, 2, 2}};
  check_concat(TFL_FLOAT32, 3, b1, 3, 1);
  check_concat(TFL_FLOAT32, 3, b1, 3, -2);
  const int32_t b2[][8] = {{2, 3, 1}, {2, 3, 3}};
  check_concat(TFL_FLOAT32, 2, b2, 3, 2);
  const int32_t d4[][8] = {{1, 2, 2, 3}, {1, 2, 2, 5}, {1, 2, 2, 1}, {1, 2, 2, 2}};
  check_concat(TFL_FLOAT32, 4, d4, 4, 3);
  check_concat(TFL_FLOAT32, 4, d4, 4, -1);
}

TEST(concat_zero_sized_inputs) {
  const int32_t a[][8] = {{2, 0}, {2, 3}, {2, 0}};
  check_concat(TFL_FLOAT32, 3, a, 2, 1);
  const int32_t b[][8] = {{0, 3}, {0, 3}};
  check_concat(TFL_INT32, 2, b, 2, 0);
}

TEST(concat_every_type) {
  const int32_t a[][8] = {{2, 2, 3}, {2, 1, 3}, {2, 4, 3}};
  const tfl_type types[] = {TFL_INT8,  TFL_UINT8, TFL_INT16,   TFL_INT32,
                            TFL_INT64, TFL_BOOL,  TFL_FLOAT16, TFL_FLOAT32};
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    check_concat(types[t], 3, a, 3, 1);
    check_concat(types[t], 3, a, 3, -2);
  }
}

TEST(concat_scalars_make_a_vector) {
  const int64_t x = 5, y = -7, z = 1 << 20;
  const int64_t want[3] = {5, -7, 1 << 20};
  ot_spec in[] = {OT_CONST(TFL_INT64, 0, NULL, &x), OT_IN(TFL_INT64, 0, NULL, &y),
                  OT_CONST(TFL_INT64, 0, NULL, &z)};
  ot_spec out[] = {OT_OUT(TFL_INT64)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONCATENATION, 1, in, 3, out, 1, TFL_OPTS_CONCATENATION, NULL, &r) ==
          TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 1, DIMS(3)));
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

static tfl_status concat_f32_act(int act, const float *a, const float *b, float *got) {
  ot_spec in[] = {OT_F32(2, DIMS(1, 3), a), OT_F32(2, DIMS(1, 3), b)};
  mb_field opt[] = {MB_INT(0, 1), MB_BYTE(1, act), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_CONCATENATION, 1, in, 2, out, 1, TFL_OPTS_CONCATENATION, opt, &r);
  if (st == TFL_OK) memcpy(got, r.out[0].data, 6 * sizeof(float));
  ot_result_free(&r);
  return st;
}

TEST(concat_fused_activation_float) {
  const float a[3] = {-2.0f, 0.5f, 7.0f}, b[3] = {-0.5f, 3.0f, -9.0f};
  float got[6];
  const float relu[6] = {0, 0.5f, 7.0f, 0, 3.0f, 0};
  const float relu6[6] = {0, 0.5f, 6.0f, 0, 3.0f, 0};
  const float relu1[6] = {-1.0f, 0.5f, 1.0f, -0.5f, 1.0f, -1.0f};
  const float none[6] = {-2.0f, 0.5f, 7.0f, -0.5f, 3.0f, -9.0f};
  REQUIRE(concat_f32_act(1, a, b, got) == TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(got[i] == relu[i], 1);
  REQUIRE(concat_f32_act(3, a, b, got) == TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(got[i] == relu6[i], 1);
  REQUIRE(concat_f32_act(2, a, b, got) == TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(got[i] == relu1[i], 1);
  REQUIRE(concat_f32_act(0, a, b, got) == TFL_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(got[i] == none[i], 1);
}

TEST(concat_activation_on_int_fails) {
  const int8_t a[2] = {1, 2};
  ot_spec in[] = {OT_IN(TFL_INT8, 1, DIMS(2), a), OT_IN(TFL_INT8, 1, DIMS(2), a)};
  mb_field opt[] = {MB_INT(0, 0), MB_BYTE(1, 1), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(TFL_INT8)};
  ot_result r;
  CHECK(ot_run(TFL_OP_CONCATENATION, 1, in, 2, out, 1, TFL_OPTS_CONCATENATION, opt, &r) != TFL_OK);
  ot_result_free(&r);
}

TEST(concat_requantizes_uint8) {
  /* Input 0 shares the output's (1.0, 0): copied. Input 1 (0.5, 10): q' = round(q*0.5 - 5),
   * halves away from zero, clamped to [0, 255]. */
  const uint8_t a[4] = {0, 7, 200, 255}, b[4] = {10, 11, 13, 255};
  const float s_out = 1.0f, s_b = 0.5f;
  const int64_t z0 = 0, z10 = 10;
  ot_spec in[] = {{.type = TFL_UINT8, .ndim = 1, .dims = DIMS(4), .data = a, .q_count = 1,
                   .scales = &s_out, .zero_points = &z0},
                  {.type = TFL_UINT8, .ndim = 1, .dims = DIMS(4), .data = b, .q_count = 1,
                   .scales = &s_b, .zero_points = &z10}};
  ot_spec out[] = {{.type = TFL_UINT8, .q_count = 1, .scales = &s_out, .zero_points = &z0}};
  const uint8_t want[8] = {0, 7, 200, 255, 0, 1, 2, 123}; /* 255*0.5-5 = 122.5 -> 123 */
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONCATENATION, 1, in, 2, out, 1, TFL_OPTS_CONCATENATION, NULL, &r) ==
          TFL_OK);
  CHECK(memcmp(r.out[0].data, want, 8) == 0);
  ot_result_free(&r);
}

TEST(concat_requantizes_int8_with_clamping) {
  /* Input 1 (2.0, -1) into the output (0.5, 3): q' = round(q*4 + 4) + 3, clamped. */
  const int8_t a[2] = {-128, 127}, b[3] = {-1, 10, 40};
  const float s_out = 0.5f, s_b = 2.0f;
  const int64_t z_out = 3, z_b = -1;
  ot_spec in[] = {{.type = TFL_INT8, .ndim = 1, .dims = DIMS(2), .data = a, .q_count = 1,
                   .scales = &s_out, .zero_points = &z_out},
                  {.type = TFL_INT8, .ndim = 1, .dims = DIMS(3), .data = b, .q_count = 1,
                   .scales = &s_b, .zero_points = &z_b}};
  ot_spec out[] = {{.type = TFL_INT8, .q_count = 1, .scales = &s_out, .zero_points = &z_out}};
  const int8_t want[5] = {-128, 127, 3, 47, 127};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CONCATENATION, 1, in, 2, out, 1, TFL_OPTS_CONCATENATION, NULL, &r) ==
          TFL_OK);
  CHECK(memcmp(r.out[0].data, want, 5) == 0);
  ot_result_free(&r);
}

static tfl_status concat_expect_fail(const ot_spec *in, int n, int axis, tfl_type out_type) {
  mb_field opt[] = {MB_INT(0, axis), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(out_type)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_CONCATENATION, 1, in, n, out, 1, TFL_OPTS_CONCATENATION, opt, &r);
  if (st != TFL_OK) CHECK(r.error[0] != 0);
  ot_result_free(&r);
  return st;
}

TEST(concat_errors) {
  const float x[12] = {0};
  const int32_t xi[12] = {0};
  ot_spec same[] = {OT_F32(2, DIMS(2, 3), x), OT_F32(2, DIMS(2, 3), x)};
  CHECK(concat_expect_fail(same, 2, 2, TFL_FLOAT32) != TFL_OK);
  CHECK(concat_expect_fail(same, 2, -3, TFL_FLOAT32) != TFL_OK);
  CHECK(concat_expect_fail(same, 2, 0, TFL_INT32) != TFL_OK);
  ot_spec dims[] = {OT_F32(2, DIMS(2, 3), x), OT_F32(2, DIMS(3, 3), x)};
  CHECK(concat_expect_fail(dims, 2, 1, TFL_FLOAT32) != TFL_OK);
  ot_spec rank[] = {OT_F32(2, DIMS(2, 3), x), OT_F32(3, DIMS(2, 3, 1), x)};
  CHECK(concat_expect_fail(rank, 2, 0, TFL_FLOAT32) != TFL_OK);
  ot_spec type[] = {OT_F32(2, DIMS(2, 3), x), OT_IN(TFL_INT32, 2, DIMS(2, 3), xi)};
  CHECK(concat_expect_fail(type, 2, 0, TFL_FLOAT32) != TFL_OK);
  const int16_t s[2] = {1, 2};
  const float sc = 0.1f;
  const int64_t zp = 4;
  ot_spec i16[] = {{.type = TFL_INT16, .ndim = 1, .dims = DIMS(2), .data = s, .q_count = 1,
                    .scales = &sc, .zero_points = &zp},
                   OT_IN(TFL_INT16, 1, DIMS(2), s)};
  CHECK(concat_expect_fail(i16, 2, 0, TFL_INT16) != TFL_OK);
}

/* --- PACK and UNPACK -------------------------------------------------------------------- */

/* PACK's output at idx is input idx[axis] at idx without that axis. */
static void check_pack(tfl_type type, int n, int ndim, const int32_t *dims, int axis_opt) {
  size_t elem = tfl_type_size(type), each = ck_count(ndim, dims);
  ot_spec in[8];
  for (int k = 0; k < n; k++) {
    in[k] = (ot_spec)OT_IN(type, ndim, dims, ck_pattern(each * elem, (unsigned)(31 * k + 3)));
    in[k].constant = k == 1;
  }
  int axis = axis_opt < 0 ? axis_opt + ndim + 1 : axis_opt;
  int32_t odims[8];
  for (int i = 0, j = 0; i <= ndim; i++) odims[i] = i == axis ? n : dims[j++];
  uint8_t *want = malloc(n * each * elem + 1);
  for (size_t f = 0; f < n * each; f++) {
    int32_t idx[8] = {0}, sub[8] = {0};
    ck_unravel(f, ndim + 1, odims, idx);
    for (int i = 0, j = 0; i <= ndim; i++)
      if (i != axis) sub[j++] = idx[i];
    memcpy(want + f * elem, (const uint8_t *)in[idx[axis]].data + ck_ravel(ndim, dims, sub) * elem,
           elem);
  }
  mb_field opt[] = {MB_INT(0, n), MB_INT(1, axis_opt), MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(type)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_PACK, 1, in, n, out, 1, TFL_OPTS_PACK, opt, &r);
  CHECK_EQ_INT(st, TFL_OK);
  if (st == TFL_OK) {
    CHECK(ck_shape_is(&r.out[0], ndim + 1, odims));
    CHECK(memcmp(r.out[0].data, want, n * each * elem) == 0);
  }
  ot_result_free(&r);
  free(want);
  for (int k = 0; k < n; k++) free((void *)in[k].data);
}

TEST(pack_each_axis) {
  for (int axis = -3; axis <= 2; axis++) check_pack(TFL_FLOAT32, 3, 2, DIMS(2, 4), axis);
  check_pack(TFL_INT64, 2, 3, DIMS(2, 1, 3), 1);
  check_pack(TFL_INT8, 4, 1, DIMS(5), 1);
  check_pack(TFL_UINT8, 1, 2, DIMS(3, 2), 0);
  check_pack(TFL_BOOL, 2, 0, NULL, 0);
  check_pack(TFL_INT16, 5, 3, DIMS(1, 2, 3), 3);
}

TEST(pack_errors) {
  const float x[6] = {0};
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), x), OT_F32(2, DIMS(3, 2), x)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  mb_field opt[] = {MB_INT(0, 2), MB_INT(1, 0), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_PACK, 1, in, 2, out, 1, TFL_OPTS_PACK, opt, &r) != TFL_OK);
  ot_result_free(&r);
  in[1].dims = DIMS(2, 3);
  mb_field count[] = {MB_INT(0, 3), MB_INT(1, 0), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_PACK, 1, in, 2, out, 1, TFL_OPTS_PACK, count, &r) != TFL_OK);
  ot_result_free(&r);
  mb_field axis[] = {MB_INT(0, 2), MB_INT(1, 3), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_PACK, 1, in, 2, out, 1, TFL_OPTS_PACK, axis, &r) != TFL_OK);
  ot_result_free(&r);
  mb_field neg[] = {MB_INT(0, 2), MB_INT(1, -4), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_PACK, 1, in, 2, out, 1, TFL_OPTS_PACK, neg, &r) != TFL_OK);
  ot_result_free(&r);
  CHECK_EQ_INT(ot_run(TFL_OP_PACK, 1, in, 2, out, 1, TFL_OPTS_PACK, opt, &r), TFL_OK);
  ot_result_free(&r);
}

/* Runs an op with one data input (plus extras) and n outputs; checks output k against a
 * reference that slices [starts[k], starts[k] + sizes[k]) along `axis` (dropped when
 * `drop_axis`). */
static void check_split_outputs(const ot_result *r, const ot_spec *value, int axis, int n,
                                const int32_t *sizes, int drop_axis) {
  size_t elem = tfl_type_size(value->type);
  int32_t start = 0;
  for (int k = 0; k < n; k++) {
    int32_t odims[8];
    memcpy(odims, value->dims, (size_t)value->ndim * sizeof(int32_t));
    odims[axis] = sizes[k];
    size_t total = ck_count(value->ndim, odims);
    const ot_tensor *o = &r->out[k];
    if (drop_axis) {
      int32_t shown[8];
      for (int i = 0, j = 0; i < value->ndim; i++)
        if (i != axis) shown[j++] = odims[i];
      CHECK(ck_shape_is(o, value->ndim - 1, shown));
    } else {
      CHECK(ck_shape_is(o, value->ndim, odims));
    }
    REQUIRE(o->bytes == total * elem);
    for (size_t f = 0; f < total; f++) {
      int32_t idx[8] = {0};
      ck_unravel(f, value->ndim, odims, idx);
      idx[axis] += start;
      size_t src = ck_ravel(value->ndim, value->dims, idx);
      CHECK(memcmp((const uint8_t *)o->data + f * elem, (const uint8_t *)value->data + src * elem,
                   elem) == 0);
    }
    start += sizes[k];
  }
}

static void check_unpack(tfl_type type, int ndim, const int32_t *dims, int axis_opt) {
  int axis = axis_opt < 0 ? axis_opt + ndim : axis_opt;
  int n = dims[axis];
  size_t elem = tfl_type_size(type);
  ot_spec in[] = {OT_IN(type, ndim, dims, ck_pattern(ck_count(ndim, dims) * elem, 99))};
  ot_spec out[8];
  int32_t ones[8];
  for (int k = 0; k < n; k++) {
    out[k] = (ot_spec)OT_OUT(type);
    ones[k] = 1;
  }
  mb_field opt[] = {MB_INT(0, n), MB_INT(1, axis_opt), MB_FIELDS_END};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_UNPACK, 1, in, 1, out, n, TFL_OPTS_UNPACK, opt, &r);
  CHECK_EQ_INT(st, TFL_OK);
  if (st == TFL_OK) check_split_outputs(&r, &in[0], axis, n, ones, 1);
  ot_result_free(&r);
  free((void *)in[0].data);
}

TEST(unpack_each_axis) {
  for (int axis = -3; axis < 3; axis++) check_unpack(TFL_FLOAT32, 3, DIMS(3, 2, 4), axis);
  check_unpack(TFL_INT64, 2, DIMS(2, 5), 0);
  check_unpack(TFL_UINT8, 2, DIMS(5, 2), 1);
  check_unpack(TFL_INT8, 1, DIMS(4), 0);
  check_unpack(TFL_BOOL, 3, DIMS(1, 3, 2), -2);
}

TEST(unpack_errors) {
  const float x[6] = {0};
  ot_spec in[] = {OT_F32(2, DIMS(2, 3), x)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32)};
  ot_result r;
  mb_field wrong_num[] = {MB_INT(0, 3), MB_INT(1, 0), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_UNPACK, 1, in, 1, out, 3, TFL_OPTS_UNPACK, wrong_num, &r) != TFL_OK);
  ot_result_free(&r);
  mb_field axis[] = {MB_INT(0, 2), MB_INT(1, 2), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_UNPACK, 1, in, 1, out, 2, TFL_OPTS_UNPACK, axis, &r) != TFL_OK);
  ot_result_free(&r);
  mb_field count[] = {MB_INT(0, 2), MB_INT(1, 0), MB_FIELDS_END};
  CHECK(ot_run(TFL_OP_UNPACK, 1, in, 1, out, 3, TFL_OPTS_UNPACK, count, &r) != TFL_OK);
  ot_result_free(&r);
}

/* --- SPLIT and SPLIT_V ------------------------------------------------------------------ */

static void check_split(tfl_type type, int ndim, const int32_t *dims, int axis_opt, int n,
                        int axis_constant) {
  int axis = axis_opt < 0 ? axis_opt + ndim : axis_opt;
  size_t elem = tfl_type_size(type);
  const int32_t axis_v = axis_opt;
  ot_spec in[] = {OT_IN(TFL_INT32, 0, NULL, &axis_v),
                  OT_IN(type, ndim, dims, ck_pattern(ck_count(ndim, dims) * elem, 5))};
  in[0].constant = axis_constant;
  ot_spec out[8];
  int32_t sizes[8];
  for (int k = 0; k < n; k++) {
    out[k] = (ot_spec)OT_OUT(type);
    sizes[k] = dims[axis] / n;
  }
  mb_field opt[] = {MB_INT(0, n), MB_FIELDS_END};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_SPLIT, 1, in, 2, out, n, TFL_OPTS_SPLIT, opt, &r);
  CHECK_EQ_INT(st, TFL_OK);
  if (st == TFL_OK) check_split_outputs(&r, &in[1], axis, n, sizes, 0);
  ot_result_free(&r);
  free((void *)in[1].data);
}

TEST(split_even) {
  check_split(TFL_FLOAT32, 2, DIMS(2, 6), 1, 3, 1);
  check_split(TFL_FLOAT32, 2, DIMS(2, 6), -1, 2, 1);
  check_split(TFL_FLOAT32, 2, DIMS(2, 6), 0, 2, 1);
  check_split(TFL_FLOAT32, 3, DIMS(4, 2, 3), -3, 4, 0); /* axis known only at invoke */
  check_split(TFL_INT8, 3, DIMS(2, 4, 2), 1, 2, 0);
  check_split(TFL_INT64, 1, DIMS(6), 0, 6, 1);
  check_split(TFL_UINT8, 2, DIMS(3, 3), 1, 1, 1);
}

static tfl_status split_status(const int32_t *dims, int ndim, int32_t axis, int n,
                               int axis_constant) {
  float x[64] = {0};
  ot_spec in[] = {OT_IN(TFL_INT32, 0, NULL, &axis), OT_F32(ndim, dims, x)};
  in[0].constant = axis_constant;
  ot_spec out[8];
  for (int k = 0; k < n; k++) out[k] = (ot_spec)OT_OUT(TFL_FLOAT32);
  mb_field opt[] = {MB_INT(0, n), MB_FIELDS_END};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_SPLIT, 1, in, 2, out, n, TFL_OPTS_SPLIT, opt, &r);
  if (st != TFL_OK) CHECK(r.error[0] != 0);
  ot_result_free(&r);
  return st;
}

TEST(split_errors) {
  CHECK(split_status(DIMS(2, 5), 2, 1, 2, 1) != TFL_OK); /* 5 does not split in 2 */
  CHECK(split_status(DIMS(2, 5), 2, 1, 2, 0) != TFL_OK); /* same, found at invoke */
  CHECK(split_status(DIMS(2, 6), 2, 2, 2, 1) != TFL_OK); /* axis out of range */
  CHECK(split_status(DIMS(2, 6), 2, -3, 2, 0) != TFL_OK);
  CHECK_EQ_INT(split_status(DIMS(2, 6), 2, -2, 2, 0), TFL_OK);
}

static tfl_status run_split_v(tfl_type size_type, const void *sizes, int n, int32_t axis,
                              int constant, const ot_spec *value, ot_result *r) {
  ot_spec in[] = {*value, OT_IN(size_type, 1, ((const int32_t[]){n}), sizes),
                  OT_IN(TFL_INT32, 0, NULL, &axis)};
  in[1].constant = in[2].constant = constant;
  ot_spec out[8];
  for (int k = 0; k < n; k++) out[k] = (ot_spec)OT_OUT(value->type);
  mb_field opt[] = {MB_INT(0, n), MB_FIELDS_END};
  return ot_run(TFL_OP_SPLIT_V, 1, in, 3, out, n, TFL_OPTS_SPLIT_V, opt, r);
}

TEST(split_v_sizes) {
  ot_spec value = OT_F32(2, DIMS(2, 7), ck_pattern(14 * 4, 17));
  const int32_t s32[3] = {1, -1, 3};
  const int64_t s64[3] = {2, 0, 5};
  const int32_t want1[3] = {1, 3, 3}, want2[3] = {2, 0, 5};
  for (int constant = 0; constant < 2; constant++) {
    ot_result r;
    REQUIRE(run_split_v(TFL_INT32, s32, 3, 1, constant, &value, &r) == TFL_OK);
    check_split_outputs(&r, &value, 1, 3, want1, 0);
    ot_result_free(&r);
    REQUIRE(run_split_v(TFL_INT64, s64, 3, -1, constant, &value, &r) == TFL_OK);
    check_split_outputs(&r, &value, 1, 3, want2, 0);
    ot_result_free(&r);
  }
  const int32_t rows[2] = {-1, 1}, want3[2] = {1, 1};
  ot_result r;
  REQUIRE(run_split_v(TFL_INT32, rows, 2, 0, 1, &value, &r) == TFL_OK);
  check_split_outputs(&r, &value, 0, 2, want3, 0);
  ot_result_free(&r);
  free((void *)value.data);
}

TEST(split_v_errors) {
  const float x[14] = {0};
  ot_spec value = OT_F32(2, DIMS(2, 7), x);
  const int32_t two_minus[3] = {-1, -1, 3}, short_sum[2] = {3, 3}, long_sum[2] = {5, 3};
  const int32_t over_with_rest[3] = {5, -1, 3}, negative[3] = {-2, 6, 3};
  const int32_t fine[2] = {4, 3};
  for (int constant = 0; constant < 2; constant++) {
    ot_result r;
    CHECK(run_split_v(TFL_INT32, two_minus, 3, 1, constant, &value, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_split_v(TFL_INT32, short_sum, 2, 1, constant, &value, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_split_v(TFL_INT32, long_sum, 2, 1, constant, &value, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_split_v(TFL_INT32, over_with_rest, 3, 1, constant, &value, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_split_v(TFL_INT32, negative, 3, 1, constant, &value, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_split_v(TFL_INT32, fine, 2, 2, constant, &value, &r) != TFL_OK); /* axis */
    ot_result_free(&r);
    CHECK_EQ_INT(run_split_v(TFL_INT32, fine, 2, 1, constant, &value, &r), TFL_OK);
    ot_result_free(&r);
  }
}

int main(void) {
  RUN(concat_each_axis);
  RUN(concat_zero_sized_inputs);
  RUN(concat_every_type);
  RUN(concat_scalars_make_a_vector);
  RUN(concat_fused_activation_float);
  RUN(concat_activation_on_int_fails);
  RUN(concat_requantizes_uint8);
  RUN(concat_requantizes_int8_with_clamping);
  RUN(concat_errors);
  RUN(pack_each_axis);
  RUN(pack_errors);
  RUN(unpack_each_axis);
  RUN(unpack_errors);
  RUN(split_even);
  RUN(split_errors);
  RUN(split_v_sizes);
  RUN(split_v_errors);
  return test_summary();
}
