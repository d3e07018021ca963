/* Densifying sparse constants (TFLite's TACO-style SparsityParameters), on hand-built cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfl/tfl.h"

#include "model/sparse.h"
#include "model/model.h"
#include "util/test.h"

static void check_dense(const tfl_model_tensor *t, const float *expected, int n) {
  float out[64];
  tfl_sparse_densify(t, sizeof(float), out);
  for (int i = 0; i < n; i++) CHECK_NEAR(out[i], expected[i], 0);
}

TEST(csr_matrix_row_major) {
  /* [[0,1,0,2],[0,0,0,0],[3,0,0,4]] */
  int32_t shape[2] = {3, 4}, order[2] = {0, 1};
  int32_t seg[4] = {0, 2, 2, 4}, idx[4] = {1, 3, 0, 3};
  const float values[4] = {1, 2, 3, 4};
  tfl_sparse_dim dims[2] = {{.sparse = 0, .dense_size = 3},
                            {.sparse = 1, .n_segments = 4, .segments = seg, .n_indices = 4, .indices = idx}};
  tfl_sparsity sp = {.n_traversal = 2, .traversal_order = order, .n_dims = 2, .dims = dims};
  tfl_model_tensor t = {.type = TFL_FLOAT32, .ndim = 2, .shape = shape,
                        .data = (const uint8_t *)values, .data_size = sizeof(values), .sparsity = &sp};
  const float expected[12] = {0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4};
  check_dense(&t, expected, 12);
}

TEST(csr_matrix_column_major) {
  /* [[0,5,0],[6,0,7]] stored column by column */
  int32_t shape[2] = {2, 3}, order[2] = {1, 0};
  int32_t seg[4] = {0, 1, 2, 3}, idx[3] = {1, 0, 1};
  const float values[3] = {6, 5, 7};
  tfl_sparse_dim dims[2] = {{.sparse = 0, .dense_size = 3},
                            {.sparse = 1, .n_segments = 4, .segments = seg, .n_indices = 3, .indices = idx}};
  tfl_sparsity sp = {.n_traversal = 2, .traversal_order = order, .n_dims = 2, .dims = dims};
  tfl_model_tensor t = {.type = TFL_FLOAT32, .ndim = 2, .shape = shape,
                        .data = (const uint8_t *)values, .data_size = sizeof(values), .sparsity = &sp};
  const float expected[6] = {0, 5, 0, 6, 0, 7};
  check_dense(&t, expected, 6);
}

TEST(block_sparse_2x2_blocks) {
  /* [[1,2,0,0],[3,4,0,0],[0,0,5,6],[0,0,7,8]]: blocks (0,0) and (1,1) are stored */
  int32_t shape[2] = {4, 4}, order[4] = {0, 1, 2, 3}, block_map[2] = {0, 1};
  int32_t seg[3] = {0, 1, 2}, idx[2] = {0, 1};
  const float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  tfl_sparse_dim dims[4] = {{.sparse = 0, .dense_size = 2},
                            {.sparse = 1, .n_segments = 3, .segments = seg, .n_indices = 2, .indices = idx},
                            {.sparse = 0, .dense_size = 2},
                            {.sparse = 0, .dense_size = 2}};
  tfl_sparsity sp = {.n_traversal = 4, .traversal_order = order, .n_block_map = 2,
                     .block_map = block_map, .n_dims = 4, .dims = dims};
  tfl_model_tensor t = {.type = TFL_FLOAT32, .ndim = 2, .shape = shape,
                        .data = (const uint8_t *)values, .data_size = sizeof(values), .sparsity = &sp};
  const float expected[16] = {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8};
  check_dense(&t, expected, 16);
}

TEST(all_dense_levels_copy_in_order) {
  int32_t shape[2] = {2, 2}, order[2] = {0, 1};
  const float values[4] = {9, 8, 7, 6};
  tfl_sparse_dim dims[2] = {{.sparse = 0, .dense_size = 2}, {.sparse = 0, .dense_size = 2}};
  tfl_sparsity sp = {.n_traversal = 2, .traversal_order = order, .n_dims = 2, .dims = dims};
  tfl_model_tensor t = {.type = TFL_FLOAT32, .ndim = 2, .shape = shape,
                        .data = (const uint8_t *)values, .data_size = sizeof(values), .sparsity = &sp};
  check_dense(&t, values, 4);
}

static tfl_status nop_eval(tfl_context *ctx, tfl_node *node) { return TFL_OK; }

/* The suite's sparse_tensor.bin (a TFLite test file) holds a sparse int8 constant feeding a
 * custom op: the interpreter must expose it dense, with every stored value in place. */
TEST(real_sparse_constant_is_dense_in_the_interpreter) {
  char path[1024], err[256];
  const char *src = getenv("TFL_SOURCE_DIR");
  snprintf(path, sizeof(path), "%s/tests/fixtures/sparse_tensor.bin", src ? src : ".");
  tfl_model *model = NULL;
  REQUIRE(tfl_model_load_file(path, &model, err, sizeof(err)) == TFL_OK);
  tfl_options *o = tfl_options_create();
  tfl_op_registration fake = {.name = "FakeOp", .builtin_code = TFL_BUILTIN_CUSTOM, .eval = nop_eval};
  tfl_options_add_op(o, &fake);
  tfl_interpreter *interp = NULL;
  tfl_status st = tfl_interpreter_create(model, o, &interp, err, sizeof(err));
  tfl_options_free(o);
  REQUIRE(st == TFL_OK);
  int found = 0;
  for (int i = 0; i < tfl_model_tensor_count(model, 0); i++) {
    tfl_tensor_info info;
    tfl_model_tensor_info(model, 0, i, &info);
    if (!info.is_sparse) continue;
    found++;
    const tfl_tensor *t = tfl_interpreter_tensor(interp, i);
    size_t n = tfl_tensor_element_count(t);
    CHECK_EQ_INT(tfl_tensor_type(t), TFL_INT8);
    CHECK_EQ_INT(tfl_tensor_byte_size(t), n);
    const int8_t *dense = tfl_tensor_data_const(t);
    REQUIRE(dense);
    size_t nonzero = 0;
    long sum_dense = 0;
    for (size_t k = 0; k < n; k++) {
      nonzero += dense[k] != 0;
      sum_dense += dense[k];
    }
    /* the stored values are the non-zeros: same count and same sum */
    const int8_t *stored = (const int8_t *)model->subgraphs[0].tensors[i].data;
    size_t n_stored = model->subgraphs[0].tensors[i].data_size;
    long sum_stored = 0;
    size_t nonzero_stored = 0;
    for (size_t k = 0; k < n_stored; k++) {
      sum_stored += stored[k];
      nonzero_stored += stored[k] != 0;
    }
    CHECK_EQ_INT(nonzero, nonzero_stored);
    CHECK_EQ_INT(sum_dense, sum_stored);
    CHECK(n > n_stored); /* it really was sparse */
  }
  CHECK(found >= 1);
  tfl_interpreter_free(interp);
  tfl_model_free(model);
}

int main(void) {
  RUN(real_sparse_constant_is_dense_in_the_interpreter);
  RUN(csr_matrix_row_major);
  RUN(csr_matrix_column_major);
  RUN(block_sparse_2x2_blocks);
  RUN(all_dense_levels_copy_in_order);
  return test_summary();
}
