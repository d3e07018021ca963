/* The public quantization of tensors (tfl_quantization: kind, affine arrays, blockwise block
 * size and tensor indices) as tfl_tensor_quantization() and tfl_model_tensor_info() report it:
 * unquantized, per-tensor and per-channel tensors and every blockwise variant, on a model built
 * here with the values written out by hand; with $TFL_SHARED, the suite's blockwise int4
 * FULLY_CONNECTED weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

/* Tensor indices of the model qmodel_build() makes. */
enum {
  T_X,             /* float32 [1,4], graph input, not quantized */
  T_Y,             /* float32 [1,4], graph output (RELU of x) */
  T_BLOCKS,        /* int4 [2,4] constant, blockwise: blocks of 2, scales T_SCALES, zero points T_ZPS */
  T_SCALES,        /* float16 [2,2] constant */
  T_ZPS,           /* int32 [2,2] constant */
  T_BLOCKS_NO_ZP,  /* int4 [2,4] constant, blockwise: blocks of 4, scales T_SCALES, no zero points */
  T_BLOCKS_EMPTY,  /* int4 [2,4] constant: the union says blockwise but holds no table */
  T_PER_TENSOR,    /* int8 [4], scale 0.5, zero point 3 */
  T_PER_CHANNEL,   /* int8 [3,2], scales {0.25, 0.125} along axis 1, zero points {-1, 2} */
  T_COUNT
};

static uint8_t *qmodel_build(size_t *size) {
  mb_model *m = mb_new();
  const int32_t row[2] = {1, 4}, mat[2] = {2, 4}, sq[2] = {2, 2}, vec[1] = {4}, pc[2] = {3, 2};
  const uint8_t int4s[4] = {0x10, 0x32, 0x54, 0x76};
  const uint16_t halves[4] = {0x3c00, 0x4000, 0x3800, 0x3400}; /* 1, 2, 0.5, 0.25 */
  const int32_t zps[4] = {0, 1, -1, 2};
  mb_tensor(m, TFL_FLOAT32, 2, row, NULL, 0, "x");
  mb_tensor(m, TFL_FLOAT32, 2, row, NULL, 0, "y");
  mb_tensor(m, TFL_INT4, 2, mat, int4s, sizeof int4s, "blocks");
  mb_tensor(m, TFL_FLOAT16, 2, sq, halves, sizeof halves, "scales");
  mb_tensor(m, TFL_INT32, 2, sq, zps, sizeof zps, "zero_points");
  mb_tensor(m, TFL_INT4, 2, mat, int4s, sizeof int4s, "blocks_no_zp");
  mb_tensor(m, TFL_INT4, 2, mat, int4s, sizeof int4s, "blocks_empty");
  mb_tensor(m, TFL_INT8, 1, vec, NULL, 0, "per_tensor");
  mb_tensor(m, TFL_INT8, 2, pc, NULL, 0, "per_channel");
  mb_quant_blockwise(m, T_BLOCKS, T_SCALES, T_ZPS, 2);
  mb_quant_blockwise(m, T_BLOCKS_NO_ZP, T_SCALES, -1, 4);
  mb_quant_blockwise(m, T_BLOCKS_EMPTY, MB_BLOCKWISE_NO_TABLE, -1, 0);
  const float one_scale = 0.5f, two_scales[2] = {0.25f, 0.125f};
  const int64_t one_zp = 3, two_zps[2] = {-1, 2};
  mb_quant(m, T_PER_TENSOR, 1, &one_scale, &one_zp, 0);
  mb_quant(m, T_PER_CHANNEL, 2, two_scales, two_zps, 1);
  const int in = T_X, out = T_Y;
  mb_inputs(m, 1, &in);
  mb_outputs(m, 1, &out);
  mb_op(m, TFL_OP_RELU, 1, 1, &in, 1, &out, 0, NULL);
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

/* What every tensor of qmodel_build() must report, by hand. */
typedef struct want_quant {
  tfl_quant_kind kind;
  int count;
  float scale[2];
  int32_t zero_point[2];
  int axis;
  int32_t block_size, scales_tensor, zero_points_tensor;
} want_quant;

static const want_quant k_want[T_COUNT] = {
    [T_X] = {TFL_QUANT_NONE, 0, {0}, {0}, 0, 0, -1, -1},
    [T_Y] = {TFL_QUANT_NONE, 0, {0}, {0}, 0, 0, -1, -1},
    [T_BLOCKS] = {TFL_QUANT_BLOCKWISE, 0, {0}, {0}, 0, 2, T_SCALES, T_ZPS},
    [T_SCALES] = {TFL_QUANT_NONE, 0, {0}, {0}, 0, 0, -1, -1},
    [T_ZPS] = {TFL_QUANT_NONE, 0, {0}, {0}, 0, 0, -1, -1},
    [T_BLOCKS_NO_ZP] = {TFL_QUANT_BLOCKWISE, 0, {0}, {0}, 0, 4, T_SCALES, -1},
    [T_BLOCKS_EMPTY] = {TFL_QUANT_BLOCKWISE, 0, {0}, {0}, 0, 0, -1, -1},
    [T_PER_TENSOR] = {TFL_QUANT_AFFINE, 1, {0.5f}, {3}, 0, 0, -1, -1},
    [T_PER_CHANNEL] = {TFL_QUANT_AFFINE, 2, {0.25f, 0.125f}, {-1, 2}, 1, 0, -1, -1},
};

static void check_quant(int tensor, const tfl_quantization *q) {
  const want_quant *w = &k_want[tensor];
  int failures = test_failures_in_current;
  CHECK_EQ_INT(q->kind, w->kind);
  CHECK_EQ_INT(q->count, w->count);
  for (int c = 0; c < w->count && q->count == w->count; c++) {
    CHECK(q->scale[c] == w->scale[c]);
    CHECK_EQ_INT(q->zero_point[c], w->zero_point[c]);
  }
  CHECK_EQ_INT(q->axis, w->axis);
  CHECK_EQ_INT(q->block_size, w->block_size);
  CHECK_EQ_INT(q->scales_tensor, w->scales_tensor);
  CHECK_EQ_INT(q->zero_points_tensor, w->zero_points_tensor);
  if (test_failures_in_current != failures) printf("  (tensor %d)\n", tensor);
}

/* The model over *bytes, which must outlive it (free both). */
static tfl_model *qmodel_load(uint8_t **bytes) {
  size_t size = 0;
  *bytes = qmodel_build(&size);
  if (!*bytes) return NULL;
  tfl_model *model = NULL;
  char err[256] = "";
  if (tfl_model_load_buffer(*bytes, size, &model, err, sizeof err) != TFL_OK)
    printf("  load: %s\n", err);
  return model;
}

TEST(model_tensor_info_reports_every_kind) {
  uint8_t *bytes = NULL;
  tfl_model *model = qmodel_load(&bytes);
  if (!model) free(bytes);
  REQUIRE(model);
  CHECK_EQ_INT(tfl_model_tensor_count(model, 0), T_COUNT);
  for (int i = 0; i < T_COUNT; i++) {
    tfl_tensor_info info;
    CHECK_EQ_INT(tfl_model_tensor_info(model, 0, i, &info), TFL_OK);
    if (test_failures_in_current) break;
    check_quant(i, &info.quantization);
  }
  tfl_model_free(model);
  free(bytes);
}

TEST(interpreter_tensors_report_every_kind) {
  uint8_t *bytes = NULL;
  tfl_model *model = qmodel_load(&bytes);
  if (!model) free(bytes);
  REQUIRE(model);
  tfl_interpreter *interp = NULL;
  char err[256] = "";
  tfl_status st = tfl_interpreter_create(model, NULL, &interp, err, sizeof err);
  if (st != TFL_OK) printf("  create: %s\n", err);
  if (st == TFL_OK) st = tfl_interpreter_allocate_tensors(interp);
  CHECK_EQ_INT(st, TFL_OK);
  for (int i = 0; st == TFL_OK && i < T_COUNT; i++) {
    const tfl_quantization q = tfl_tensor_quantization(tfl_interpreter_tensor(interp, i));
    check_quant(i, &q);
  }
  /* the scales a blockwise tensor names are an ordinary float16 tensor of the same graph */
  const tfl_tensor *s = st == TFL_OK ? tfl_interpreter_tensor(interp, T_SCALES) : NULL;
  if (s) {
    CHECK_EQ_INT(tfl_tensor_type(s), TFL_FLOAT16);
    CHECK_EQ_INT(tfl_tensor_dim(s, 1), 4 / k_want[T_BLOCKS].block_size);
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  free(bytes);
}

TEST(null_tensor_is_not_quantized) {
  const tfl_quantization q = tfl_tensor_quantization(NULL);
  CHECK_EQ_INT(q.kind, TFL_QUANT_NONE);
  CHECK_EQ_INT(q.count, 0);
  CHECK(q.scale == NULL && q.zero_point == NULL);
  CHECK_EQ_INT(q.block_size, 0);
  CHECK_EQ_INT(q.scales_tensor, -1);
  CHECK_EQ_INT(q.zero_points_tensor, -1);
}

/* LiteRT's qwen_fc_blockwise_quantized.tflite: int4 weights [1024, 1024] in blocks of 32 along
 * the input features, float16 scales [1024, 32] in tensor 3, no zero points (the suite's
 * models/README.md names the file; the names and shapes below are the file's). */
TEST(suite_blockwise_weights) {
  const char *shared = getenv("TFL_SHARED");
  if (!shared) {
    printf("  (TFL_SHARED not set: the suite's blockwise model is skipped)\n");
    return;
  }
  char path[1024], err[256] = "";
  snprintf(path, sizeof path, "%s/reference/unit_models/models/litert_testdata/"
           "qwen_fc_blockwise_quantized.tflite", shared);
  tfl_model *model = NULL;
  REQUIRE(tfl_model_load_file(path, &model, err, sizeof err) == TFL_OK);
  tfl_tensor_info w, s;
  REQUIRE(tfl_model_tensor_info(model, 0, 1, &w) == TFL_OK);
  REQUIRE(tfl_model_tensor_info(model, 0, 3, &s) == TFL_OK);
  CHECK_EQ_INT(w.type, TFL_INT4);
  CHECK_EQ_INT(w.quantization.kind, TFL_QUANT_BLOCKWISE);
  CHECK_EQ_INT(w.quantization.count, 0);
  CHECK_EQ_INT(w.quantization.block_size, 32);
  CHECK_EQ_INT(w.quantization.scales_tensor, 3);
  CHECK_EQ_INT(w.quantization.zero_points_tensor, -1);
  CHECK_EQ_INT(s.type, TFL_FLOAT16);
  CHECK_EQ_INT(s.quantization.kind, TFL_QUANT_NONE);
  CHECK(s.ndim == 2 && s.shape[0] == 1024 && s.shape[1] == 1024 / 32);
  for (int i = 0; i < tfl_model_tensor_count(model, 0); i++) {
    tfl_tensor_info t;
    REQUIRE(tfl_model_tensor_info(model, 0, i, &t) == TFL_OK);
    if (i != 1) CHECK_EQ_INT(t.quantization.kind, TFL_QUANT_NONE);
  }
  tfl_model_free(model);
}

int main(void) {
  RUN(model_tensor_info_reports_every_kind);
  RUN(interpreter_tensors_report_every_kind);
  RUN(null_tensor_is_not_quantized);
  RUN(suite_blockwise_weights);
  return test_summary();
}
