/* CAST: hand-computed conversions between float32, the integer types and bool (truncation,
 * saturation, NaN, wrap-around, round-to-nearest into float), zero sizes and errors. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/ops.h"
#include "runtime/kernel.h"
#include "util/op_runner.h"
#include "util/test.h"

/* Casts n values and compares the output bytes with `want`. */
static void check_cast(tfl_type from, const void *in, int n, tfl_type to, const void *want,
                       int line) {
  const int32_t dims[] = {n};
  ot_spec spec_in[1] = {OT_IN(from, 1, dims, in)};
  ot_spec spec_out[1] = {OT_OUT(to)};
  ot_result r;
  tfl_status st = ot_run(TFL_OP_CAST, 1, spec_in, 1, spec_out, 1, 0, NULL, &r);
  if (st != TFL_OK) {
    test_fail(__FILE__, line, "%s -> %s: %s", tfl_type_name(from), tfl_type_name(to), r.error);
  } else {
    size_t bytes = (size_t)n * tfl_type_size(to);
    if (r.out[0].bytes != bytes || memcmp(r.out[0].data, want, bytes) != 0)
      test_fail(__FILE__, line, "%s -> %s: wrong values", tfl_type_name(from),
                tfl_type_name(to));
    CHECK_EQ_INT(r.out[0].type, to);
  }
  ot_result_free(&r);
}

TEST(float_to_integers) {
  const float f[] = {1.9f, -1.9f, 0.5f, -0.5f, 3e9f, -3e9f, NAN, INFINITY, -INFINITY};
  const int32_t w32[] = {1, -1, 0, 0, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MAX, INT32_MIN};
  check_cast(TFL_FLOAT32, f, 9, TFL_INT32, w32, __LINE__);

  const float fu[] = {-1.5f, 255.9f, 256.0f, 3.7f, NAN};
  const uint8_t wu[] = {0, 255, 255, 3, 255};
  check_cast(TFL_FLOAT32, fu, 5, TFL_UINT8, wu, __LINE__);

  const float f8[] = {127.9f, -128.9f, -129.0f, -7.99f};
  const int8_t w8[] = {127, -128, -128, -7};
  check_cast(TFL_FLOAT32, f8, 4, TFL_INT8, w8, __LINE__);

  const float f16[] = {40000.0f, -40000.0f, -32768.5f, 1234.5f};
  const int16_t w16[] = {32767, -32768, -32768, 1234};
  check_cast(TFL_FLOAT32, f16, 4, TFL_INT16, w16, __LINE__);

  const float f64[] = {1e19f, -1e19f, 12345.6f, -9.2233720e18f};
  const int64_t w64[] = {INT64_MAX, INT64_MIN, 12345, INT64_MIN};
  check_cast(TFL_FLOAT32, f64, 4, TFL_INT64, w64, __LINE__);

  const float fu32[] = {-1.0f, 4294967296.0f, 4294967040.0f};
  const uint32_t wu32[] = {0, UINT32_MAX, 4294967040u};
  check_cast(TFL_FLOAT32, fu32, 3, TFL_UINT32, wu32, __LINE__);
}

TEST(to_and_from_bool) {
  const float f[] = {0.0f, -0.0f, 0.1f, NAN, -3.0f};
  const uint8_t wb[] = {0, 0, 1, 1, 1};
  check_cast(TFL_FLOAT32, f, 5, TFL_BOOL, wb, __LINE__);

  const int32_t i[] = {0, 5, -1};
  const uint8_t wib[] = {0, 1, 1};
  check_cast(TFL_INT32, i, 3, TFL_BOOL, wib, __LINE__);

  const uint8_t b[] = {1, 0, 1};
  const float wf[] = {1.0f, 0.0f, 1.0f};
  check_cast(TFL_BOOL, b, 3, TFL_FLOAT32, wf, __LINE__);
  const int64_t wl[] = {1, 0, 1};
  check_cast(TFL_BOOL, b, 3, TFL_INT64, wl, __LINE__);
}

TEST(integers_wrap) {
  const int32_t i[] = {256, 257, -1, 300, 128, -129};
  const uint8_t wu[] = {0, 1, 255, 44, 128, 127};
  check_cast(TFL_INT32, i, 6, TFL_UINT8, wu, __LINE__);
  const int8_t w8[] = {0, 1, -1, 44, -128, 127};
  check_cast(TFL_INT32, i, 6, TFL_INT8, w8, __LINE__);

  const int64_t l[] = {(1LL << 32) + 5, -1, INT64_MIN};
  const int32_t wl[] = {5, -1, 0};
  check_cast(TFL_INT64, l, 3, TFL_INT32, wl, __LINE__);

  const int8_t s[] = {-1, -128, 127};
  const uint8_t ws[] = {255, 128, 127};
  check_cast(TFL_INT8, s, 3, TFL_UINT8, ws, __LINE__);
  const int32_t ws32[] = {-1, -128, 127};
  check_cast(TFL_INT8, s, 3, TFL_INT32, ws32, __LINE__);

  const uint8_t u[] = {255, 0};
  const int32_t wu32[] = {255, 0};
  check_cast(TFL_UINT8, u, 2, TFL_INT32, wu32, __LINE__);

  const uint32_t big[] = {UINT32_MAX, 7};
  const int64_t wbig[] = {4294967295LL, 7};
  check_cast(TFL_UINT32, big, 2, TFL_INT64, wbig, __LINE__);
  const int16_t wb16[] = {-1, 7};
  check_cast(TFL_UINT32, big, 2, TFL_INT16, wb16, __LINE__);

  const uint16_t h[] = {65535, 1};
  const int16_t wh[] = {-1, 1};
  check_cast(TFL_UINT16, h, 2, TFL_INT16, wh, __LINE__);
}

TEST(integers_to_float_round_to_nearest) {
  const int32_t i[] = {16777217, 16777219, -3, INT32_MAX};
  const float wi[] = {16777216.0f, 16777220.0f, -3.0f, 2147483648.0f};
  check_cast(TFL_INT32, i, 4, TFL_FLOAT32, wi, __LINE__);
  /* One rounding from int64 (a detour through double would round twice). */
  const int64_t l[] = {(1LL << 53) + 1, 9007199791611905LL, -5};
  const float wl[] = {9007199254740992.0f, 9007200328482816.0f, -5.0f};
  check_cast(TFL_INT64, l, 3, TFL_FLOAT32, wl, __LINE__);
  const uint32_t u[] = {UINT32_MAX};
  const float wu[] = {4294967296.0f};
  check_cast(TFL_UINT32, u, 1, TFL_FLOAT32, wu, __LINE__);
}

TEST(same_type_and_shape) {
  const int32_t dims[] = {2, 0, 3};
  ot_spec in[1] = {OT_F32(3, dims, NULL)};
  ot_spec out[1] = {OT_OUT(TFL_INT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_CAST, 1, in, 1, out, 1, 0, NULL, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[0].ndim, 3);
  CHECK_EQ_INT(r.out[0].dims[2], 3);
  CHECK_EQ_INT(r.out[0].bytes, 0);
  ot_result_free(&r);

  const float f[] = {1.5f, -2.25f};
  check_cast(TFL_FLOAT32, f, 2, TFL_FLOAT32, f, __LINE__);
}

TEST(unsupported_types) {
  const int32_t d2[] = {2};
  const uint16_t h[] = {0x3C00, 0};
  ot_spec in[1] = {OT_IN(TFL_FLOAT16, 1, d2, h)};
  ot_spec out[1] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK_EQ_INT(ot_run(TFL_OP_CAST, 1, in, 1, out, 1, 0, NULL, &r), TFL_UNSUPPORTED);
  CHECK(strstr(r.error, "float16") != NULL);
  ot_result_free(&r);
  const double dd[] = {1, 2};
  ot_spec din[1] = {OT_F32(1, d2, (const float *)dd)};
  ot_spec dout[1] = {OT_OUT(TFL_FLOAT64)};
  CHECK(ot_run(TFL_OP_CAST, 1, din, 1, dout, 1, 0, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(float_to_integers);
  RUN(to_and_from_bool);
  RUN(integers_wrap);
  RUN(integers_to_float_round_to_nearest);
  RUN(same_type_and_shape);
  RUN(unsupported_types);
  return test_summary();
}
