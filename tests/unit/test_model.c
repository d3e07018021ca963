/* Model loading: real files (fixtures in tests/fixtures, and the whole conformance suites when
 * TFL_SHARED points to them), models built here with one defect each, and corrupted files
 * (truncations, random byte changes) that must fail cleanly or load, never crash. */
/* mkstemp, opendir, stat */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/fb_builder.h"
#include "format/flatbuf.h"
#include "format/tflite_schema.h"
#include "format/verify.h"
#include "model/model.h"
#include "model/ops.h"
#include "tfl/model.h"
#include "tfl/tensor.h"
#include "util/test.h"

/* --- files ------------------------------------------------------------------------- */

/* tests/fixtures/<name>, found from this file's own path (CMake compiles it by full path). */
static const char *fixture(const char *name) {
  static char path[1024];
  const char *unit = strstr(__FILE__, "unit/test_model.c");
  int dir_len = unit ? (int)(unit - __FILE__) : 0;
  snprintf(path, sizeof(path), "%.*sfixtures/%s", dir_len, __FILE__, name);
  return path;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static tfl_model *load_fixture(const char *name) {
  tfl_model *m = NULL;
  char err[256];
  tfl_status st = tfl_model_load_file(fixture(name), &m, err, sizeof(err));
  if (st != TFL_OK) test_fail(__FILE__, __LINE__, "%s: %s", name, err);
  return m;
}

/* Loading fails with `status` and a message containing `text`. */
static void expect_file_error(const char *path, tfl_status status, const char *text) {
  tfl_model *m = (tfl_model *)1;
  char err[256] = "";
  tfl_status st = tfl_model_load_file(path, &m, err, sizeof(err));
  if (st != status || m != NULL || !strstr(err, text))
    test_fail(__FILE__, __LINE__, "%s: status %d (want %d), message \"%s\" (want \"%s\")", path,
              st, status, err, text);
}

/* A builtin options field read through the schema, as kernels read it (set 1 or 2). */
static int64_t opt_int(const tfl_model_op *op, int set, int field, int64_t def) {
  fb_table t = set == 1 ? op->builtin_options : op->builtin_options2;
  uint8_t type = set == 1 ? op->builtin_options_type : op->builtin_options2_type;
  return fb_desc_int(t, tflite_options_desc(set, type), field, def);
}

/* --- fixtures ------------------------------------------------------------------------ */

TEST(loads_a_float_model) {
  tfl_model *m = load_fixture("add.bin");
  REQUIRE(m);
  CHECK_EQ_INT(tfl_model_schema_version(m), 3);
  CHECK_EQ_INT(tfl_model_subgraph_count(m), 1);
  CHECK(strcmp(tfl_model_description(m), "") == 0);
  CHECK_EQ_INT(tfl_model_metadata_count(m), 0);
  CHECK_EQ_INT(m->n_opcodes, 1);
  CHECK_EQ_INT(m->opcodes[0].builtin_code, TFL_OP_ADD);
  CHECK(m->opcodes[0].custom_code == NULL);
  const tfl_model_subgraph *sg = &m->subgraphs[0];
  REQUIRE(sg->n_tensors == 3 && sg->n_inputs == 1 && sg->n_outputs == 1 && sg->n_ops == 2);
  /* values from the suite's ref.json: input "input", output "output", float32 [1,8,8,3] */
  const tfl_model_tensor *in = &sg->tensors[sg->inputs[0]], *out = &sg->tensors[sg->outputs[0]];
  CHECK(strcmp(in->name, "input") == 0);
  CHECK(strcmp(out->name, "output") == 0);
  CHECK_EQ_INT(in->type, TFL_FLOAT32);
  CHECK_EQ_INT(in->ndim, 4);
  CHECK(in->shape[0] == 1 && in->shape[1] == 8 && in->shape[2] == 8 && in->shape[3] == 3);
  CHECK_EQ_INT(in->quant.count, 0);
  CHECK(in->data == NULL);
  for (int i = 0; i < sg->n_ops; i++) CHECK_EQ_INT(sg->ops[i].builtin_options_type, TFL_OPTS_ADD);
  tfl_model_free(m);
}

TEST(loads_per_channel_quantization) {
  tfl_model *m = load_fixture("pc_conv.bin");
  REQUIRE(m);
  const tfl_model_subgraph *sg = &m->subgraphs[0];
  REQUIRE(sg->n_tensors == 6 && sg->n_ops == 3);
  const tfl_model_tensor *w = &sg->tensors[1], *bias = &sg->tensors[0], *q = &sg->tensors[2];
  CHECK(strcmp(w->name, "Conv/weights") == 0);
  CHECK_EQ_INT(w->type, TFL_INT8);
  CHECK_EQ_INT(w->quant.count, 128);
  CHECK_EQ_INT(w->quant.axis, 3);
  CHECK(w->data != NULL);
  CHECK_EQ_INT(w->data_size, 1 * 3 * 3 * 128);
  CHECK_EQ_INT(bias->quant.count, 128);
  CHECK_EQ_INT(bias->data_size, 128 * 4);
  CHECK_EQ_INT(q->quant.count, 1);
  CHECK_EQ_INT(q->quant.zero_point[0], -128);
  CHECK_NEAR(q->quant.scale[0], 1.0 / 255, 1e-7);
  /* The depthwise op maps [1,128,128,1] to [1,64,64,128] with a 3x3 kernel: stride 2,
   * depth multiplier 128, and SAME padding (VALID would give 63). */
  const tfl_model_op *op = &sg->ops[1];
  CHECK_EQ_INT(m->opcodes[op->opcode_index].builtin_code, TFL_OP_DEPTHWISE_CONV_2D);
  CHECK_EQ_INT(op->builtin_options_type, TFL_OPTS_DEPTHWISE_CONV_2D);
  CHECK_EQ_INT(opt_int(op, 1, 0, 0), 0); /* padding (SAME is also the default) */
  CHECK_EQ_INT(opt_int(op, 1, 4, 0), 0); /* fused activation: NONE */
  CHECK_EQ_INT(opt_int(op, 1, 1, -1), 2);
  CHECK_EQ_INT(opt_int(op, 1, 2, -1), 2);
  CHECK_EQ_INT(opt_int(op, 1, 3, -1), 128);
  CHECK_EQ_INT(opt_int(op, 2, 0, -1), -1); /* no builtin_options_2 */
  const char *name;
  const void *data;
  size_t size;
  REQUIRE(tfl_model_metadata(m, 0, &name, &data, &size) == TFL_OK);
  CHECK(strcmp(name, "min_runtime_version") == 0);
  CHECK(size == 5 && memcmp(data, "1.5.0", 5) == 0);
  CHECK(tfl_model_metadata(m, 1, &name, &data, &size) == TFL_INVALID_ARGUMENT);
  CHECK(strcmp(tfl_model_description(m), "TOCO Converted.") == 0);
  tfl_model_free(m);
}

TEST(loads_signatures_and_subgraphs) {
  tfl_model *m = load_fixture("multi_signatures.bin");
  REQUIRE(m);
  REQUIRE(m->n_signatures == 2 && m->n_subgraphs == 2);
  const tfl_model_signature *sub = &m->signatures[1];
  CHECK(strcmp(sub->key, "sub") == 0);
  CHECK_EQ_INT(sub->subgraph, 1);
  REQUIRE(sub->n_inputs == 1 && sub->n_outputs == 1);
  CHECK(strcmp(sub->inputs[0].name, "x") == 0);
  CHECK(strcmp(m->subgraphs[1].tensors[sub->inputs[0].tensor].name, "sub_x:0") == 0);
  CHECK(strcmp(m->subgraphs[1].name, "sub") == 0);
  CHECK_EQ_INT(m->opcodes[m->subgraphs[1].ops[0].opcode_index].builtin_code, TFL_OP_SUB);
  /* ref.json: shape [1], shape_signature [-1] */
  const tfl_model_tensor *x = &m->subgraphs[0].tensors[0];
  CHECK(x->ndim == 1 && x->shape[0] == 1);
  CHECK(x->has_shape_signature && x->shape_signature[0] == -1);
  const tfl_model_tensor *var = &m->subgraphs[0].tensors[1];
  CHECK(var->ndim == 0 && var->data && var->data_size == 4); /* a scalar constant */
  tfl_model_free(m);
}

TEST(loads_control_flow_references) {
  tfl_model *m = load_fixture("multi_subgraphs_while.bin");
  REQUIRE(m);
  const tfl_model_op *op = &m->subgraphs[0].ops[0];
  CHECK_EQ_INT(m->opcodes[op->opcode_index].builtin_code, TFL_OP_WHILE);
  CHECK_EQ_INT(op->builtin_options_type, TFL_OPTS_WHILE);
  int64_t cond = opt_int(op, 1, 0, -1), body = opt_int(op, 1, 1, -1);
  REQUIRE(cond >= 0 && cond < 3 && body >= 0 && body < 3);
  CHECK(strcmp(m->subgraphs[cond].name, "while_cond") == 0);
  CHECK(strcmp(m->subgraphs[body].name, "while_body") == 0);
  tfl_model_free(m);
}

TEST(loads_metadata_and_custom_ops) {
  tfl_model *m = load_fixture("with_metadata.bin");
  REQUIRE(m);
  REQUIRE(tfl_model_metadata_count(m) == 3);
  const char *name;
  const void *data;
  size_t size;
  REQUIRE(tfl_model_metadata(m, 2, &name, &data, &size) == TFL_OK);
  CHECK(strcmp(name, "NPU_BYTE_CODE") == 0);
  CHECK_EQ_INT(size, 24);
  CHECK(tfl_model_metadata(m, -1, &name, &data, &size) == TFL_INVALID_ARGUMENT);
  CHECK(tfl_model_metadata(NULL, 0, &name, &data, &size) == TFL_INVALID_ARGUMENT);
  const tfl_model_opcode *oc = &m->opcodes[m->subgraphs[0].ops[0].opcode_index];
  CHECK_EQ_INT(oc->builtin_code, TFL_OP_CUSTOM);
  CHECK(oc->custom_code && strcmp(oc->custom_code, "NPU_OP") == 0);
  CHECK_EQ_INT(m->subgraphs[0].ops[0].custom_options_size, 11);
  CHECK(strcmp(m->subgraphs[0].tensors[0].name, "") == 0); /* unnamed: "" */
  tfl_model_free(m);
}

TEST(loads_zero_size_constants) {
  tfl_model *m = load_fixture("zero_size_constant.bin");
  REQUIRE(m);
  const tfl_model_tensor *t = &m->subgraphs[0].tensors[1];
  CHECK(t->ndim == 1 && t->shape[0] == 0);
  CHECK(t->data != NULL); /* a constant, of zero bytes */
  CHECK_EQ_INT(t->data_size, 0);
  tfl_model_free(m);
}

/* Densifies the fixture's block-sparse 4x4 int8 matrix (2x2 blocks, CSR over block columns)
 * and compares with the dense matrix of LiteRT's testdata/sparse_tensor.json. */
TEST(loads_block_sparse_tensors) {
  static const int8_t dense_ref[4][4] = {{1, 0, 2, 3}, {0, 4, 0, 0}, {0, 0, 5, 0}, {0, 0, 0, 6}};
  tfl_model *m = load_fixture("sparse_tensor.bin");
  REQUIRE(m);
  const tfl_model_tensor *t = &m->subgraphs[0].tensors[0];
  const tfl_sparsity *sp = t->sparsity;
  REQUIRE(sp && sp->n_dims == 4 && sp->n_block_map == 2);
  REQUIRE(!sp->dims[0].sparse && sp->dims[1].sparse && !sp->dims[2].sparse);
  int8_t dense[4][4] = {{0}};
  const tfl_sparse_dim *cols = &sp->dims[1];
  for (int bi = 0; bi < sp->dims[0].dense_size; bi++)
    for (int k = cols->segments[bi]; k < cols->segments[bi + 1]; k++)
      for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++)
          dense[2 * bi + r][2 * cols->indices[k] + c] = (int8_t)t->data[k * 4 + r * 2 + c];
  CHECK(memcmp(dense, dense_ref, sizeof(dense)) == 0);
  tfl_model_free(m);
}

TEST(rejects_broken_fixtures) {
  expect_file_error(fixture("invalid_model.bin"), TFL_INVALID_MODEL, "identifier");
  expect_file_error(fixture("test_model_broken.bin"), TFL_INVALID_MODEL, "invalid FlatBuffer");
  expect_file_error(fixture("0_subgraphs.bin"), TFL_INVALID_MODEL, "no subgraphs");
  expect_file_error(fixture("transpose.bin"), TFL_UNSUPPORTED, "schema version 2");
  expect_file_error(fixture("lstm_calibrated2.bin"), TFL_INVALID_MODEL,
                    "tensor 23 ('output_gate_ln_weights-1'): dimension 0 is -1");
  expect_file_error(fixture("no_such_file.tflite"), TFL_IO_ERROR, "cannot open");
  expect_file_error(fixture(""), TFL_IO_ERROR, "not a regular file");
}

TEST(rejects_empty_files_and_bad_arguments) {
  char path[] = "/tmp/tfl_test_model_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  expect_file_error(path, TFL_INVALID_MODEL, "is empty");
  unlink(path);
  tfl_model *m = NULL;
  char err[64];
  CHECK(tfl_model_load_file(NULL, &m, err, sizeof(err)) == TFL_INVALID_ARGUMENT);
  CHECK(tfl_model_load_file(path, NULL, NULL, 0) == TFL_INVALID_ARGUMENT);
  CHECK(tfl_model_load_buffer(NULL, 10, &m, NULL, 0) == TFL_INVALID_ARGUMENT);
  CHECK(tfl_model_load_buffer("", 0, &m, err, sizeof(err)) == TFL_INVALID_MODEL);
  CHECK(tfl_model_load_buffer("TFL3", 4, &m, err, 1) == TFL_INVALID_MODEL); /* err of 1 byte */
  CHECK(err[0] == '\0');
  CHECK(m == NULL);
  tfl_model_free(NULL);
  CHECK_EQ_INT(tfl_model_schema_version(NULL), 0);
  CHECK_EQ_INT(tfl_model_subgraph_count(NULL), 0);
  CHECK(strcmp(tfl_model_description(NULL), "") == 0);
  CHECK_EQ_INT(tfl_model_metadata_count(NULL), 0);
}

TEST(loads_from_buffers_aligned_or_not) {
  size_t size;
  uint8_t *bytes = read_all(fixture("multi_signatures.bin"), &size);
  REQUIRE(bytes);
  uint8_t *space = aligned_alloc(16, size + 32);
  REQUIRE(space);
  for (int shift = 0; shift < 16; shift += 5) {
    memcpy(space + shift, bytes, size);
    tfl_model *m = NULL;
    char err[256];
    CHECK(tfl_model_load_buffer(space + shift, size, &m, err, sizeof(err)) == TFL_OK);
    REQUIRE(m);
    CHECK_EQ_INT(m->n_signatures, 2);
    /* zero-copy only when the caller's buffer is aligned */
    int inside = m->bytes == space + shift;
    CHECK_EQ_INT(inside, shift == 0);
    CHECK((uintptr_t)m->bytes % 16 == 0);
    tfl_model_free(m);
  }
  free(space);
  free(bytes);
}

TEST(names_of_types_and_statuses) {
  CHECK(strcmp(tfl_type_name(TFL_FLOAT32), "float32") == 0);
  CHECK(strcmp(tfl_type_name(TFL_INT8), "int8") == 0);
  CHECK(strcmp(tfl_type_name(TFL_FLOAT8_E5M2), "float8_e5m2") == 0);
  CHECK(strcmp(tfl_type_name((tfl_type)99), "unknown") == 0);
  CHECK_EQ_INT(tfl_type_size(TFL_FLOAT32), 4);
  CHECK_EQ_INT(tfl_type_size(TFL_COMPLEX128), 16);
  CHECK_EQ_INT(tfl_type_size(TFL_BOOL), 1);
  CHECK_EQ_INT(tfl_type_size(TFL_STRING), 0);
  CHECK_EQ_INT(tfl_type_size(TFL_INT4), 0);
  CHECK_EQ_INT(tfl_type_size((tfl_type)-1), 0);
  CHECK(strcmp(tfl_status_string(TFL_OK), "ok") == 0);
  CHECK(strcmp(tfl_status_string(TFL_INVALID_MODEL), "invalid model") == 0);
  CHECK(strcmp(tfl_status_string(TFL_NOT_READY), "not ready") == 0);
  CHECK(strcmp(tfl_status_string(TFL_STATUS_COUNT), "unknown status") == 0);
  CHECK(strlen(tfl_version()) > 0);
}

/* --- models built here ----------------------------------------------------------------- */

typedef struct sparse_level {
  int8_t format; /* 0 dense, 1 CSR */
  int32_t dense_size;
  uint8_t index_type; /* SparseIndexVector type for both vectors: 1 int32, 2 uint16, 3 uint8 */
  int n_seg, n_idx;
  int32_t seg[8], idx[8];
  int no_indices;
} sparse_level;

typedef struct sparse_spec {
  int n_order, n_block;
  int32_t order[6], block[2];
  int n_levels;
  sparse_level level[6];
} sparse_spec;

typedef struct tensor_spec {
  int8_t type;
  int ndim;
  int32_t dims[TFL_MAX_DIMS + 2];
  uint32_t buffer;
  const char *name;
  int n_scale, n_zp; /* n_zp -1: no zero_point vector */
  float scale[4];
  int64_t zp[4];
  int32_t qdim;
  int n_sig;
  int32_t sig[4];
  int is_variable;
  uint32_t external_buffer;
  const sparse_spec *sparse;
  uint8_t details_type;
  int32_t details[3]; /* scales, zero_points, block_size */
} tensor_spec;

typedef struct buffer_spec {
  int n; /* bytes of inline data; -1: no data vector */
  const void *data;
  uint64_t offset, size;
  int at_end; /* offset = end of the FlatBuffer + offset */
} buffer_spec;

typedef struct model_spec {
  uint32_t version;
  int32_t builtin_code;
  int8_t deprecated_code;
  const char *custom_code;
  int n_tensors;
  tensor_spec t[4];
  int n_in, n_out;
  int32_t in[4], out[4];
  uint32_t opcode_index;
  int n_op_in, n_op_out, n_inter;
  int wide_inputs, repeat_op; /* an input vector of that many zeros; ops sharing one table */
  int32_t op_in[4], op_out[4], inter[2];
  uint8_t opt_type;  /* with n_opt uint32 fields */
  int n_opt;
  uint32_t opt[2];
  uint8_t opt2_type; /* with an int32 vector as field 0 */
  int n_opt2;
  int32_t opt2[2];
  int n_custom;
  const uint8_t *custom;
  uint64_t large_offset, large_size;
  int large_at_end;
  int n_buffers;
  buffer_spec buf[4];
  int n_subgraphs;
  int has_sig;
  const char *sig_key;
  uint32_t sig_subgraph, sig_tensor;
  int has_meta;
  uint32_t meta_buffer;
  size_t tail; /* zero bytes appended after the FlatBuffer */
} model_spec;

static const float four_floats[4] = {1, 2, 3, 4};

/* in float32 [1,4] -> ADD(in, w float32 [4] constant) -> out [1,4]. */
static model_spec base_spec(void) {
  model_spec s;
  memset(&s, 0, sizeof(s));
  s.version = 3;
  s.n_tensors = 3;
  s.t[0] = (tensor_spec){.type = TFL_FLOAT32, .ndim = 2, .dims = {1, 4}, .name = "in", .n_zp = -1};
  s.t[1] = (tensor_spec){.type = TFL_FLOAT32, .ndim = 1, .dims = {4}, .buffer = 1, .name = "w",
                         .n_zp = -1};
  s.t[2] = (tensor_spec){.type = TFL_FLOAT32, .ndim = 2, .dims = {1, 4}, .name = "out", .n_zp = -1};
  s.n_in = s.n_out = 1;
  s.in[0] = 0;
  s.out[0] = 2;
  s.n_op_in = 2;
  s.op_in[0] = 0;
  s.op_in[1] = 1;
  s.n_op_out = 1;
  s.op_out[0] = 2;
  s.opt_type = TFL_OPTS_ADD;
  s.n_buffers = 2;
  s.buf[0].n = -1;
  s.buf[1].n = 16;
  s.buf[1].data = four_floats;
  s.n_subgraphs = 1;
  return s;
}

static fb_ref ivec(fb_builder *b, const int32_t *v, int n) {
  return fbb_vector(b, v, (size_t)n, 4, 4);
}

/* A SparseIndexVector table (type t) holding v. */
static fb_ref index_vector(fb_builder *b, uint8_t t, const int32_t *v, int n) {
  uint8_t u8[8];
  uint16_t u16[8];
  for (int i = 0; i < n; i++) {
    u8[i] = (uint8_t)v[i];
    u16[i] = (uint16_t)v[i];
  }
  fb_ref vec = t == 1 ? ivec(b, v, n) : t == 2 ? fbb_vector(b, u16, (size_t)n, 2, 4)
                                                : fbb_vector(b, u8, (size_t)n, 1, 4);
  fbb_start(b);
  fbb_add_ref(b, 0, vec);
  return fbb_end(b);
}

static fb_ref build_sparsity(fb_builder *b, const sparse_spec *sp) {
  fb_ref levels[6];
  for (int i = 0; i < sp->n_levels; i++) {
    const sparse_level *l = &sp->level[i];
    fb_ref seg = 0, idx = 0;
    if (l->format) {
      seg = index_vector(b, l->index_type, l->seg, l->n_seg);
      if (!l->no_indices) idx = index_vector(b, l->index_type, l->idx, l->n_idx);
    }
    fbb_start(b);
    fbb_add_u8(b, 0, (uint8_t)l->format);
    fbb_add_u32(b, 1, (uint32_t)l->dense_size);
    if (seg) fbb_add_u8(b, 2, l->index_type);
    fbb_add_ref(b, 3, seg);
    if (idx) fbb_add_u8(b, 4, l->index_type);
    fbb_add_ref(b, 5, idx);
    levels[i] = fbb_end(b);
  }
  fb_ref order = ivec(b, sp->order, sp->n_order);
  fb_ref block = sp->n_block ? ivec(b, sp->block, sp->n_block) : 0;
  fb_ref dims = fbb_refs(b, levels, (size_t)sp->n_levels);
  fbb_start(b);
  fbb_add_ref(b, 0, order);
  fbb_add_ref(b, 1, block);
  fbb_add_ref(b, 2, dims);
  return fbb_end(b);
}

static fb_ref build_quant(fb_builder *b, const tensor_spec *t) {
  if (!t->n_scale && !t->details_type) return 0;
  fb_ref scale = fbb_vector(b, t->scale, (size_t)t->n_scale, 4, 4);
  fb_ref zp = t->n_zp >= 0 ? fbb_vector(b, t->zp, (size_t)t->n_zp, 8, 8) : 0;
  fb_ref details = 0;
  if (t->details_type) {
    fbb_start(b);
    for (int i = 0; i < 3; i++) fbb_add_u32(b, i, (uint32_t)t->details[i]);
    details = fbb_end(b);
  }
  fbb_start(b);
  fbb_add_ref(b, 2, scale);
  fbb_add_ref(b, 3, zp);
  if (details) fbb_add_u8(b, 4, t->details_type);
  fbb_add_ref(b, 5, details);
  fbb_add_u32(b, 6, (uint32_t)t->qdim);
  return fbb_end(b);
}

static fb_ref build_tensor(fb_builder *b, const tensor_spec *t) {
  fb_ref shape = ivec(b, t->dims, t->ndim);
  fb_ref name = fbb_string(b, t->name);
  fb_ref quant = build_quant(b, t);
  fb_ref sparsity = t->sparse ? build_sparsity(b, t->sparse) : 0;
  fb_ref sig = t->n_sig ? ivec(b, t->sig, t->n_sig) : 0;
  fbb_start(b);
  fbb_add_ref(b, 0, shape);
  fbb_add_u8(b, 1, (uint8_t)t->type);
  fbb_add_u32(b, 2, t->buffer);
  fbb_add_ref(b, 3, name);
  fbb_add_ref(b, 4, quant);
  if (t->is_variable) fbb_add_u8(b, 5, 1);
  fbb_add_ref(b, 6, sparsity);
  fbb_add_ref(b, 7, sig);
  if (t->external_buffer) fbb_add_u32(b, 10, t->external_buffer);
  return fbb_end(b);
}

static fb_ref build_op(fb_builder *b, const model_spec *s, size_t end) {
  int32_t *zeros = s->wide_inputs ? calloc((size_t)s->wide_inputs, sizeof(int32_t)) : NULL;
  fb_ref in = zeros ? ivec(b, zeros, s->wide_inputs) : ivec(b, s->op_in, s->n_op_in);
  fb_ref out = ivec(b, s->op_out, s->n_op_out);
  free(zeros);
  fb_ref inter = s->n_inter ? ivec(b, s->inter, s->n_inter) : 0;
  fb_ref custom = s->n_custom ? fbb_vector(b, s->custom, (size_t)s->n_custom, 1, 1) : 0;
  fb_ref opt2_vec = s->opt2_type ? ivec(b, s->opt2, s->n_opt2) : 0;
  fb_ref opt = 0, opt2 = 0;
  if (s->opt_type) {
    fbb_start(b);
    for (int i = 0; i < s->n_opt; i++) fbb_add_u32(b, i, s->opt[i]);
    opt = fbb_end(b);
  }
  if (s->opt2_type) {
    fbb_start(b);
    fbb_add_ref(b, 0, opt2_vec);
    opt2 = fbb_end(b);
  }
  fbb_start(b);
  fbb_add_u32(b, 0, s->opcode_index);
  fbb_add_ref(b, 1, in);
  fbb_add_ref(b, 2, out);
  if (opt) fbb_add_u8(b, 3, s->opt_type);
  fbb_add_ref(b, 4, opt);
  fbb_add_ref(b, 5, custom);
  fbb_add_ref(b, 8, inter);
  if (s->large_offset || s->large_at_end) {
    fbb_add_u64(b, 9, s->large_offset + (s->large_at_end ? end : 0));
    fbb_add_u64(b, 10, s->large_size);
  }
  if (opt2) fbb_add_u8(b, 11, s->opt2_type);
  fbb_add_ref(b, 12, opt2);
  return fbb_end(b);
}

static fb_ref build_subgraph(fb_builder *b, const model_spec *s, size_t end) {
  fb_ref tensors[4];
  for (int i = 0; i < s->n_tensors; i++) tensors[i] = build_tensor(b, &s->t[i]);
  fb_ref tv = fbb_refs(b, tensors, (size_t)s->n_tensors);
  fb_ref in = ivec(b, s->in, s->n_in), out = ivec(b, s->out, s->n_out);
  int n_ops = s->repeat_op ? s->repeat_op : 1;
  fb_ref *op = malloc((size_t)n_ops * sizeof(fb_ref));
  if (!op) return 0;
  op[0] = build_op(b, s, end);
  for (int i = 1; i < n_ops; i++) op[i] = op[0];
  fb_ref ops = fbb_refs(b, op, (size_t)n_ops);
  free(op);
  fb_ref name = fbb_string(b, "main");
  fbb_start(b);
  fbb_add_ref(b, 0, tv);
  fbb_add_ref(b, 1, in);
  fbb_add_ref(b, 2, out);
  fbb_add_ref(b, 3, ops);
  fbb_add_ref(b, 4, name);
  return fbb_end(b);
}

static fb_ref build_signature(fb_builder *b, const model_spec *s) {
  fb_ref name = fbb_string(b, "x");
  fbb_start(b);
  fbb_add_ref(b, 0, name);
  fbb_add_u32(b, 1, s->sig_tensor);
  fb_ref map = fbb_end(b);
  fb_ref maps = fbb_refs(b, &map, 1);
  fb_ref key = fbb_string(b, s->sig_key);
  fbb_start(b);
  fbb_add_ref(b, 0, maps);
  fbb_add_ref(b, 1, maps);
  fbb_add_ref(b, 2, key);
  fbb_add_u32(b, 4, s->sig_subgraph);
  return fbb_end(b);
}

/* The model's byte size does not depend on `end` (the value of offsets that point past the
 * FlatBuffer), so a first pass measures and a second pass fills those offsets in. */
static uint8_t *build_once(const model_spec *s, size_t end, size_t *size) {
  fb_builder b;
  fbb_init(&b);
  fb_ref buffers[4];
  for (int i = 0; i < s->n_buffers; i++) {
    const buffer_spec *bs = &s->buf[i];
    fb_ref data = bs->n >= 0 ? fbb_vector(&b, bs->data, (size_t)bs->n, 1, 16) : 0;
    fbb_start(&b);
    fbb_add_ref(&b, 0, data);
    if (bs->offset || bs->at_end) {
      fbb_add_u64(&b, 1, bs->offset + (bs->at_end ? end : 0));
      fbb_add_u64(&b, 2, bs->size);
    }
    buffers[i] = fbb_end(&b);
  }
  fb_ref custom_code = fbb_string(&b, s->custom_code);
  fbb_start(&b);
  fbb_add_u8(&b, 0, (uint8_t)s->deprecated_code);
  fbb_add_ref(&b, 1, custom_code);
  fbb_add_u32(&b, 2, 1);
  fbb_add_u32(&b, 3, (uint32_t)s->builtin_code);
  fb_ref opcode = fbb_end(&b);
  fb_ref subgraphs[3];
  for (int i = 0; i < s->n_subgraphs; i++) {
    if (i == 0) {
      subgraphs[i] = build_subgraph(&b, s, end);
    } else {
      fbb_start(&b);
      subgraphs[i] = fbb_end(&b);
    }
  }
  fb_ref sig = s->has_sig ? build_signature(&b, s) : 0;
  fb_ref meta = 0;
  if (s->has_meta) {
    fb_ref name = fbb_string(&b, "meta");
    fbb_start(&b);
    fbb_add_ref(&b, 0, name);
    fbb_add_u32(&b, 1, s->meta_buffer);
    meta = fbb_end(&b);
  }
  fb_ref opcodes = fbb_refs(&b, &opcode, 1);
  fb_ref sgs = fbb_refs(&b, subgraphs, (size_t)s->n_subgraphs);
  fb_ref bufs = fbb_refs(&b, buffers, (size_t)s->n_buffers);
  fb_ref sigs = sig ? fbb_refs(&b, &sig, 1) : 0;
  fb_ref metas = meta ? fbb_refs(&b, &meta, 1) : 0;
  fbb_start(&b);
  fbb_add_u32(&b, 0, s->version);
  fbb_add_ref(&b, 1, opcodes);
  fbb_add_ref(&b, 2, sgs);
  fbb_add_ref(&b, 4, bufs);
  fbb_add_ref(&b, 6, metas);
  fbb_add_ref(&b, 7, sigs);
  fb_ref root = fbb_end(&b);
  uint8_t *bytes = fbb_finish(&b, root, "TFL3", size);
  fbb_free(&b);
  return bytes;
}

/* The model's bytes (16-byte aligned; s->tail bytes of 0x5a after the FlatBuffer). */
static uint8_t *build(const model_spec *s, size_t *size) {
  size_t fb_size;
  uint8_t *bytes = build_once(s, 0, &fb_size);
  if (!bytes) return NULL;
  free(bytes);
  bytes = build_once(s, fb_size, &fb_size);
  if (!bytes) return NULL;
  uint8_t *all = aligned_alloc(16, (fb_size + s->tail + 15) / 16 * 16);
  if (all) {
    memcpy(all, bytes, fb_size);
    memset(all + fb_size, 0x5a, s->tail);
  }
  free(bytes);
  *size = fb_size + s->tail;
  return all;
}

/* Builds and loads; the caller frees the model and the bytes (*bytes, which it points into). */
static tfl_status load_spec(const model_spec *s, tfl_model **m, uint8_t **bytes, char *err) {
  size_t size;
  *m = NULL;
  *bytes = build(s, &size);
  if (!*bytes) return TFL_ERROR;
  return tfl_model_load_buffer(*bytes, size, m, err, 256);
}

static void expect_spec_error(const model_spec *s, tfl_status status, const char *text, int line) {
  tfl_model *m;
  uint8_t *bytes;
  char err[256] = "";
  tfl_status st = load_spec(s, &m, &bytes, err);
  if (st != status || m != NULL || !strstr(err, text))
    test_fail(__FILE__, line, "status %d (want %d), message \"%s\" (want \"%s\")", st, status,
              err, text);
  tfl_model_free(m);
  free(bytes);
}

#define EXPECT_ERROR(spec, status, text) expect_spec_error(&(spec), status, text, __LINE__)

/* Loads a spec that must be valid; the caller frees both. */
static tfl_model *expect_ok(const model_spec *s, uint8_t **bytes, int line) {
  tfl_model *m;
  char err[256] = "";
  if (load_spec(s, &m, bytes, err) != TFL_OK) test_fail(__FILE__, line, "rejected: %s", err);
  return m;
}

#define EXPECT_OK(spec, bytes) expect_ok(&(spec), &(bytes), __LINE__)

TEST(built_model_decodes) {
  model_spec s = base_spec();
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  const tfl_model_subgraph *sg = &m->subgraphs[0];
  CHECK(strcmp(sg->name, "main") == 0);
  CHECK_EQ_INT(sg->n_tensors, 3);
  const tfl_model_tensor *w = &sg->tensors[1];
  REQUIRE(w->data && w->data_size == 16);
  CHECK(memcmp(w->data, four_floats, 16) == 0);
  CHECK(w->data >= bytes && w->data < bytes + 4096); /* zero-copy */
  CHECK_EQ_INT(w->buffer, 1);
  CHECK(sg->ops[0].n_inputs == 2 && sg->ops[0].inputs[1] == 1);
  CHECK(sg->ops[0].builtin_options_type == TFL_OPTS_ADD);
  CHECK(fb_table_present(sg->ops[0].builtin_options));
  CHECK(!fb_table_present(sg->ops[0].builtin_options2));
  tfl_model_free(m);
  free(bytes);
}

TEST(builtin_code_is_the_larger_field) {
  model_spec s = base_spec();
  uint8_t *bytes;
  s.deprecated_code = TFL_OP_MUL; /* old files: only the byte field */
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  CHECK_EQ_INT(m->opcodes[0].builtin_code, TFL_OP_MUL);
  CHECK_EQ_INT(m->opcodes[0].version, 1);
  tfl_model_free(m);
  free(bytes);
  s.deprecated_code = TFL_OP_PLACEHOLDER_FOR_GREATER_OP_CODES;
  s.builtin_code = TFL_OP_GELU;
  m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  CHECK_EQ_INT(m->opcodes[0].builtin_code, TFL_OP_GELU);
  tfl_model_free(m);
  free(bytes);
}

TEST(rejects_model_level_problems) {
  model_spec s = base_spec();
  s.version = 2;
  EXPECT_ERROR(s, TFL_UNSUPPORTED, "schema version 2");
  s = base_spec();
  s.n_subgraphs = 0;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "no subgraphs");
  s = base_spec();
  s.buf[0].n = 4;
  s.buf[0].data = four_floats;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "buffer 0 must be empty");
  s = base_spec();
  s.builtin_code = TFL_OP_CUSTOM;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "operator code 0 is CUSTOM but has no custom_code");
  s.custom_code = "MyOp";
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  CHECK(m && strcmp(m->opcodes[0].custom_code, "MyOp") == 0);
  tfl_model_free(m);
  free(bytes);
}

TEST(rejects_bad_indices) {
  model_spec s = base_spec();
  s.t[1].buffer = 9;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "tensor 1 ('w'): buffer 9 out of range (2 buffers)");
  s = base_spec();
  s.opcode_index = 1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "operator 0: opcode index 1 out of range");
  s = base_spec();
  s.op_in[1] = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "input 1 is tensor 3, but the subgraph has 3 tensors");
  s = base_spec();
  s.op_in[0] = -2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "input 0 is tensor -2");
  s = base_spec();
  s.op_out[0] = -1; /* only inputs may be omitted */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "output 0 is tensor -1");
  s = base_spec();
  s.n_inter = 1;
  s.inter[0] = 7;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "intermediate 0 is tensor 7");
  s = base_spec();
  s.in[0] = 4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "subgraph 0: input 0 is tensor 4");
  s = base_spec();
  s.out[0] = -1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "subgraph 0: output 0 is tensor -1");
  s = base_spec();
  s.op_in[1] = -1; /* an omitted optional input is fine */
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].ops[0].inputs[1] == -1);
  tfl_model_free(m);
  free(bytes);
}

TEST(rejects_bad_shapes_and_types) {
  model_spec s = base_spec();
  s.t[0].type = 40;
  EXPECT_ERROR(s, TFL_UNSUPPORTED, "unknown tensor type 40");
  s = base_spec();
  s.t[0].type = -3;
  EXPECT_ERROR(s, TFL_UNSUPPORTED, "unknown tensor type -3");
  s = base_spec();
  s.t[2].dims[1] = -4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "tensor 2 ('out'): dimension 1 is -4");
  s = base_spec();
  s.t[2].ndim = TFL_MAX_DIMS + 1;
  EXPECT_ERROR(s, TFL_UNSUPPORTED, "9 dimensions");
  s = base_spec();
  s.t[2].ndim = 3;
  for (int i = 0; i < 3; i++) s.t[2].dims[i] = 0x7fffffff;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "too many elements");
  s.t[2].dims[0] = 1 << 30;
  s.t[2].dims[1] = 1 << 30;
  s.t[2].dims[2] = 8; /* 2^63 elements fit, their bytes do not */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "byte size overflows");
  s.t[2].type = TFL_STRING; /* no fixed element size: nothing overflows */
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  tfl_model_free(m);
  free(bytes);
  s = base_spec();
  s.t[1].external_buffer = 1;
  EXPECT_ERROR(s, TFL_UNSUPPORTED, "external buffer");
  s = base_spec();
  s.t[0].n_sig = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "shape_signature has 3 entries but the shape has 2");
  s.t[0].n_sig = 2;
  s.t[0].sig[0] = -2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "shape_signature entry 0 is -2");
  s.t[0].sig[0] = -1;
  s.t[0].sig[1] = 4;
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[0].has_shape_signature &&
        m->subgraphs[0].tensors[0].shape_signature[0] == -1);
  tfl_model_free(m);
  free(bytes);
}

TEST(rejects_bad_constant_data) {
  model_spec s = base_spec();
  s.buf[1].n = 12;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "constant data has 12 bytes, but 4 float32 values need 16");
  s = base_spec();
  s.t[1].is_variable = 1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "variable tensor cannot have constant data");
  s = base_spec();
  s.t[1].type = TFL_INT4; /* 4 values packed in 2 bytes */
  s.buf[1].n = 2;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  tfl_model_free(m);
  free(bytes);
  s.buf[1].n = 4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "4 bytes");
  s = base_spec();
  s.t[1].type = TFL_VARIANT; /* variants keep their bytes as they are */
  s.buf[1].n = 3;
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[1].data_size == 3);
  tfl_model_free(m);
  free(bytes);
  s.t[1].type = TFL_STRING; /* strings must be a valid encoding (see test_strings.c) */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "string constant of 3 bytes for 4 strings");
  s = base_spec();
  s.buf[1].n = 0; /* an empty buffer makes no constant */
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[1].data == NULL);
  tfl_model_free(m);
  free(bytes);
}

TEST(reads_buffers_outside_the_flatbuffer) {
  model_spec s = base_spec();
  s.buf[1] = (buffer_spec){.n = -1, .offset = 0, .size = 16, .at_end = 1};
  s.tail = 16;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  const tfl_model_tensor *w = &m->subgraphs[0].tensors[1];
  CHECK(w->data && w->data_size == 16 && w->data == m->bytes + m->size - 16 && w->data[0] == 0x5a);
  tfl_model_free(m);
  free(bytes);
  s.buf[1].size = 17;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "buffer 1: data at offset");
  s.buf[1].offset = UINT64_MAX - 8; /* offset + size wraps */
  s.buf[1].at_end = 0;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "outside the file");
  /* custom options, likewise */
  s = base_spec();
  s.builtin_code = TFL_OP_CUSTOM;
  s.custom_code = "Big";
  s.large_at_end = 1;
  s.large_size = 8;
  s.tail = 8;
  m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  CHECK(m->subgraphs[0].ops[0].custom_options_size == 8);
  CHECK(m->subgraphs[0].ops[0].custom_options == m->bytes + m->size - 8);
  tfl_model_free(m);
  free(bytes);
  s.large_size = 9;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "custom options at offset");
}

TEST(checks_quantization) {
  model_spec s = base_spec();
  tensor_spec *w = &s.t[1];
  w->n_scale = 4;
  w->n_zp = 4;
  for (int i = 0; i < 4; i++) w->scale[i] = 0.5f * (float)(i + 1);
  w->zp[3] = -7;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  tfl_quantization q = m->subgraphs[0].tensors[1].quant;
  CHECK(q.count == 4 && q.axis == 0 && q.zero_point[3] == -7);
  CHECK_NEAR(q.scale[2], 1.5, 0);
  tfl_model_free(m);
  free(bytes);

  w->n_zp = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "4 quantization scales but 3 zero points");
  w->n_zp = -1; /* no zero points: all zero */
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[1].quant.zero_point[3] == 0);
  tfl_model_free(m);
  free(bytes);
  w->n_zp = 4;
  w->zp[1] = (int64_t)1 << 31;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "zero point 2147483648 is out of range for float32");
  w->zp[1] = 0;
  {
    /* zero points of 8/16-bit tensors are values of their type (here the data-less output) */
    model_spec z = base_spec();
    tensor_spec *o = &z.t[2];
    o->n_scale = o->n_zp = 1;
    o->scale[0] = 0.5f;
    const struct { tfl_type type; int64_t ok, bad; } cases[] = {
        {TFL_INT8, -128, 128}, {TFL_UINT8, 255, -1}, {TFL_INT16, -32768, 32768}};
    for (int c = 0; c < 3; c++) {
      o->type = (int8_t)cases[c].type;
      o->zp[0] = cases[c].ok;
      m = EXPECT_OK(z, bytes);
      CHECK(m && m->subgraphs[0].tensors[2].quant.zero_point[0] == cases[c].ok);
      tfl_model_free(m);
      free(bytes);
      o->zp[0] = cases[c].bad;
      EXPECT_ERROR(z, TFL_INVALID_MODEL, "is out of range for");
    }
  }
  w->n_scale = w->n_zp = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "3 quantization scales for dimension 0 of size 4");
  /* quantized_dimension out of range (person_detect's biases): one axis has 4 entries */
  w->n_scale = w->n_zp = 4;
  w->qdim = 3;
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[1].quant.axis == 0);
  tfl_model_free(m);
  free(bytes);
  w->n_scale = w->n_zp = 1;
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[1].quant.count == 1);
  CHECK(m && m->subgraphs[0].tensors[1].quant.axis == 0);
  tfl_model_free(m);
  free(bytes);
  w->n_scale = w->n_zp = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "3 scales match no dimension");
  s.t[2].n_scale = s.t[2].n_zp = 4; /* out is [1,4]: qdim -1 and 4 scales match axis 1 only */
  s.t[2].qdim = -1;
  w->n_scale = 0;
  m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].tensors[2].quant.axis == 1);
  tfl_model_free(m);
  free(bytes);
  s.t[2].ndim = 2;
  s.t[2].dims[0] = 4; /* [4,4]: ambiguous */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "match several dimensions");
  s = base_spec();
  s.t[2].ndim = 0;
  s.t[2].n_scale = s.t[2].n_zp = 2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "2 quantization scales for a scalar");
}

TEST(checks_quantization_details) {
  model_spec s = base_spec();
  s.n_tensors = 4;
  s.t[3] = (tensor_spec){.type = TFL_FLOAT32, .ndim = 1, .dims = {2}, .name = "scales", .n_zp = -1};
  s.t[1].details_type = 2; /* blockwise: scales in tensor 3, no zero points, blocks of 2 */
  s.t[1].details[0] = 3;
  s.t[1].details[1] = -1;
  s.t[1].details[2] = 2;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  const tfl_model_tensor *w = &m->subgraphs[0].tensors[1];
  CHECK(w->quant_details_type == 2 && fb_table_present(w->quant_details));
  CHECK_EQ_INT(fb_i32(w->quant_details, 0, -1), 3);
  tfl_model_free(m);
  free(bytes);
  s.t[1].details[0] = 4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "quantization scales refer to tensor 4 of 4");
  s.t[1].details[0] = 3;
  s.t[1].details[1] = -2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "zero points refer to tensor -2");
  s.t[1].details[1] = -1;
  s.t[1].details[2] = 0;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "block size 0");
  s.t[1].details_type = 4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "unknown QuantizationDetails type 4");
}

/* The public kind, block size and tensor indices of tfl_quantization: the union decides over
 * scale arrays (which stay as the file gives them), and multi-axis has them too. */
TEST(decodes_quantization_kind) {
  model_spec s = base_spec();
  s.n_tensors = 4;
  s.t[3] = (tensor_spec){.type = TFL_FLOAT32, .ndim = 1, .dims = {2}, .name = "scales", .n_zp = -1};
  s.t[1].n_scale = s.t[1].n_zp = 1;
  s.t[1].scale[0] = 0.5f;
  s.t[1].details_type = 2; /* blockwise: scales in tensor 3, zero points in tensor 0, blocks of 2 */
  s.t[1].details[0] = 3;
  s.t[1].details[1] = 0;
  s.t[1].details[2] = 2;
  s.t[2].details_type = 3; /* multi-axis, per-channel (block 0), no zero points */
  s.t[2].details[0] = 3;
  s.t[2].details[1] = -1;
  s.t[2].details[2] = 0;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  const tfl_quantization *none = &m->subgraphs[0].tensors[0].quant;
  const tfl_quantization *bw = &m->subgraphs[0].tensors[1].quant;
  const tfl_quantization *ma = &m->subgraphs[0].tensors[2].quant;
  CHECK(none->kind == TFL_QUANT_NONE && none->block_size == 0);
  CHECK(none->scales_tensor == -1 && none->zero_points_tensor == -1);
  CHECK(bw->kind == TFL_QUANT_BLOCKWISE && bw->count == 1 && bw->scale[0] == 0.5f);
  CHECK(bw->block_size == 2 && bw->scales_tensor == 3 && bw->zero_points_tensor == 0);
  CHECK(ma->kind == TFL_QUANT_MULTI_AXIS && ma->count == 0 && ma->block_size == 0);
  CHECK(ma->scales_tensor == 3 && ma->zero_points_tensor == -1);
  tfl_model_free(m);
  free(bytes);
  s.t[1].details_type = 0; /* the same scale array alone is affine */
  m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  bw = &m->subgraphs[0].tensors[1].quant;
  CHECK(bw->kind == TFL_QUANT_AFFINE && bw->count == 1 && bw->block_size == 0);
  CHECK(bw->scales_tensor == -1 && bw->zero_points_tensor == -1);
  tfl_model_free(m);
  free(bytes);
}

/* A 3x4 int8 matrix with 3 non-zeros stored CSR: row 0 has column 2, row 2 columns 0 and 3. */
static sparse_spec csr_3x4(void) {
  sparse_spec sp = {.n_order = 2, .order = {0, 1}, .n_levels = 2};
  sp.level[0] = (sparse_level){.format = 0, .dense_size = 3};
  sp.level[1] = (sparse_level){.format = 1, .index_type = 3, .n_seg = 4, .seg = {0, 1, 1, 3},
                               .n_idx = 3, .idx = {2, 0, 3}};
  return sp;
}

static model_spec sparse_model(const sparse_spec *sp) {
  static const int8_t values[3] = {5, 6, 7};
  model_spec s = base_spec();
  s.t[1].type = TFL_INT8;
  s.t[1].ndim = 2;
  s.t[1].dims[0] = 3;
  s.t[1].dims[1] = 4;
  s.t[1].sparse = sp;
  s.buf[1].n = 3;
  s.buf[1].data = values;
  return s;
}

TEST(checks_sparsity) {
  sparse_spec sp = csr_3x4();
  model_spec s = sparse_model(&sp);
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m && m->subgraphs[0].tensors[1].sparsity);
  const tfl_sparsity *d = m->subgraphs[0].tensors[1].sparsity;
  CHECK(d->n_dims == 2 && d->dims[1].sparse && d->dims[1].n_indices == 3);
  CHECK(d->dims[1].segments[3] == 3 && d->dims[1].indices[2] == 3);
  tfl_model_free(m);
  free(bytes);
  for (uint8_t type = 1; type <= 2; type++) { /* int32 and uint16 index vectors too */
    sp.level[1].index_type = type;
    m = EXPECT_OK(s, bytes);
    CHECK(m && m->subgraphs[0].tensors[1].sparsity->dims[1].indices[0] == 2);
    tfl_model_free(m);
    free(bytes);
  }

  sp = csr_3x4();
  sp.order[1] = 0;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "traversal_order is not a valid permutation");
  sp = csr_3x4();
  sp.level[1].seg[2] = 0;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "segments decrease");
  sp = csr_3x4();
  sp.level[1].idx[2] = 4;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "index 4 out of order or not below 4");
  sp = csr_3x4();
  sp.level[1].idx[2] = 0; /* row 2: columns 0, 0 */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "out of order");
  sp = csr_3x4();
  sp.level[0].dense_size = 2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "level 0 has dense size 2, the shape gives 3");
  sp = csr_3x4();
  sp.level[1].n_seg = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "3 segments for 3 positions");
  sp = csr_3x4();
  sp.level[1].no_indices = 1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "level 1 has no array_indices");
  sp = csr_3x4();
  sp.level[1].format = 2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "level 1 has format 2");
  sp = csr_3x4();
  sp.n_levels = 1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "sparsity has 2 levels");
  sp = csr_3x4();
  s.buf[1].n = 2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "has 2 bytes, but 3 stored int8 values need 3");
  s.buf[1].n = 3;
  sp.n_block = 1; /* a block map needs a block level */
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "sparsity has 2 levels and 1 blocks");
}

TEST(checks_subgraph_references_in_options) {
  model_spec s = base_spec();
  s.n_subgraphs = 3;
  s.opt_type = TFL_OPTS_WHILE;
  s.n_opt = 2;
  s.opt[0] = 1;
  s.opt[1] = 2;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m);
  CHECK_EQ_INT(opt_int(&m->subgraphs[0].ops[0], 1, 1, -1), 2);
  tfl_model_free(m);
  free(bytes);
  s.opt[1] = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "WhileOptions field 1 refers to subgraph 3 of 3");
  s.opt_type = TFL_OPTS_CALL_ONCE;
  s.n_opt = 1;
  s.opt[0] = 0xffffffffu;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "CallOnceOptions field 0 refers to subgraph 4294967295");
  s = base_spec();
  s.opt2_type = 23; /* StablehloCaseOptions: branch_subgraph_indices */
  s.n_opt2 = 2;
  s.opt2[1] = -1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "StablehloCaseOptions field 0 refers to subgraph -1 of 1");
  s = base_spec();
  s.opt_type = TFL_OPTS_COUNT;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "unknown BuiltinOptions type 127");
}

TEST(checks_signatures_and_metadata) {
  model_spec s = base_spec();
  s.has_sig = 1;
  s.sig_key = "serving_default";
  s.sig_tensor = 2;
  s.has_meta = 1;
  s.meta_buffer = 1;
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  REQUIRE(m && m->n_signatures == 1);
  CHECK(strcmp(m->signatures[0].key, "serving_default") == 0);
  CHECK(strcmp(m->signatures[0].outputs[0].name, "x") == 0);
  CHECK_EQ_INT(m->signatures[0].outputs[0].tensor, 2);
  const char *name;
  const void *data;
  size_t size;
  REQUIRE(tfl_model_metadata(m, 0, &name, &data, &size) == TFL_OK);
  CHECK(strcmp(name, "meta") == 0 && size == 16 && memcmp(data, four_floats, 16) == 0);
  tfl_model_free(m);
  free(bytes);
  s.sig_tensor = 3;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "signature 0: input 'x' is tensor 3");
  s.sig_tensor = 0;
  s.sig_subgraph = 1;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "'serving_default' refers to subgraph 1 of 1");
  s.sig_subgraph = 0;
  s.sig_key = NULL;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "signature 0: no signature key");
  s.sig_key = "k";
  s.meta_buffer = 2;
  EXPECT_ERROR(s, TFL_INVALID_MODEL, "metadata 0 ('meta'): buffer 2 out of range");
}

/* One operator table shared by 100000 entries, with 100000 inputs: 800 KB of file that
 * would decode into 40 GB of input lists. */
TEST(shared_vectors_cannot_make_decoding_slow) {
  model_spec s = base_spec();
  s.wide_inputs = 100000;
  s.repeat_op = 100000;
  EXPECT_ERROR(s, TFL_LIMIT_EXCEEDED, "vectors shared by too many tables");
  s.repeat_op = 4; /* a little sharing is fine */
  uint8_t *bytes;
  tfl_model *m = EXPECT_OK(s, bytes);
  CHECK(m && m->subgraphs[0].n_ops == 4 && m->subgraphs[0].ops[3].n_inputs == 100000);
  tfl_model_free(m);
  free(bytes);
}

/* --- corruption ---------------------------------------------------------------------- */

/* Touches everything a later layer may read; the sanitizers catch stray reads. */
static unsigned walk_model(const tfl_model *m) {
  unsigned sum = 0;
  for (int s = 0; s < m->n_subgraphs; s++) {
    const tfl_model_subgraph *sg = &m->subgraphs[s];
    for (int t = 0; t < sg->n_tensors; t++) {
      const tfl_model_tensor *mt = &sg->tensors[t];
      sum += (unsigned)strlen(mt->name);
      for (int d = 0; d < mt->ndim; d++) sum += (unsigned)mt->shape[d];
      for (size_t b = 0; mt->data && b < mt->data_size; b += 64) sum += mt->data[b];
      for (int q = 0; q < mt->quant.count; q++) sum += (unsigned)mt->quant.zero_point[q];
    }
    for (int o = 0; o < sg->n_ops; o++)
      for (int f = 0; f < 8; f++) sum += (unsigned)opt_int(&sg->ops[o], 1, f, 0);
  }
  for (int i = 0; i < m->n_metadata; i++)
    if (m->metadata[i].size) sum += m->metadata[i].data[m->metadata[i].size - 1];
  return sum;
}

/* Loads a heap copy of exactly n bytes (so overruns hit the allocation's end): the load
 * must fail with a message or succeed. */
static void load_corrupt(const uint8_t *bytes, size_t n, int *loaded) {
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) return;
  memcpy(copy, bytes, n);
  tfl_model *m = NULL;
  char err[256] = "";
  tfl_status st = tfl_model_load_buffer(copy, n, &m, err, sizeof(err));
  if (st != TFL_OK && (m != NULL || err[0] == '\0'))
    test_fail(__FILE__, __LINE__, "failed load without a message or with a model");
  if (st == TFL_OK) {
    volatile unsigned sink = walk_model(m);
    (void)sink;
    (*loaded)++;
    tfl_model_free(m);
  }
  free(copy);
}

TEST(corrupted_models_fail_cleanly) {
  static const char *const names[] = {"multi_signatures.bin", "pc_conv.bin", "sparse_tensor.bin",
                                      "multi_subgraphs_while.bin", "with_metadata.bin"};
  srand(20240601);
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    size_t size;
    uint8_t *bytes = read_all(fixture(names[k]), &size);
    REQUIRE(bytes);
    int loaded = 0;
    for (size_t n = 0; n < size; n++) load_corrupt(bytes, n, &loaded);
    /* a prefix may still be a model: only trailing padding may be cut */
    CHECK(loaded <= 8);
    uint8_t *mutated = malloc(size);
    REQUIRE(mutated);
    for (int iter = 0; iter < 4000; iter++) {
      memcpy(mutated, bytes, size);
      int changes = 1 + rand() % 8;
      for (int c = 0; c < changes; c++) {
        size_t at = (size_t)rand() % size;
        if (rand() % 2)
          mutated[at] ^= (uint8_t)(1u << (rand() % 8)); /* a bit flip */
        else
          mutated[at] = (uint8_t)rand();
      }
      load_corrupt(mutated, size, &loaded);
    }
    free(mutated);
    free(bytes);
  }
}

/* --- the conformance suites (only with TFL_SHARED) ------------------------------------- */

/* Files the suites mark BROKEN or REJECTED for a format problem (the others that TFLite
 * rejects fail for op semantics, which is not the loader's business). */
static const char *const must_fail[] = {
    "java_testdata/invalid_model.bin",       "tflite_testdata/test_model_broken.bin",
    "tflite_testdata/0_subgraphs.bin",       "tflite_testdata/no_subgraphs.bin",
    "quantizer_testdata/transpose.bin",      "quantizer_testdata/lstm_calibrated2.bin",
    "quantizer_testdata/lstm_quantized2.bin",
};

static int expected_to_fail(const char *path) {
  for (size_t i = 0; i < sizeof(must_fail) / sizeof(must_fail[0]); i++) {
    size_t n = strlen(path), k = strlen(must_fail[i]);
    if (n >= k && strcmp(path + n - k, must_fail[i]) == 0) return 1;
  }
  return 0;
}

static int is_model_file(const char *name) {
  size_t n = strlen(name);
  return (n > 7 && strcmp(name + n - 7, ".tflite") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".bin") == 0);
}

static void load_tree(const char *dir, int *count) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    struct stat sb;
    if (stat(path, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) {
      load_tree(path, count);
      continue;
    }
    if (!is_model_file(e->d_name)) continue;
    tfl_model *m = NULL;
    char err[256] = "";
    tfl_status st = tfl_model_load_file(path, &m, err, sizeof(err));
    if (expected_to_fail(path) && (st == TFL_OK || !err[0]))
      test_fail(__FILE__, __LINE__, "%s: loaded, but it is broken", path);
    if (!expected_to_fail(path) && st != TFL_OK)
      test_fail(__FILE__, __LINE__, "%s: %s", path, err);
    tfl_model_free(m);
    (*count)++;
  }
  closedir(d);
}

/* --- a small JSON reader for ref.json ------------------------------------------------ */

static const char *json_ws(const char *p) {
  while (p && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* The position just after the value at p, or NULL. */
static const char *json_skip(const char *p) {
  p = json_ws(p);
  if (!p) return NULL;
  if (*p == '"') {
    for (p++; *p && *p != '"'; p++)
      if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : NULL;
  }
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = json_ws(p + 1);
    while (p && *p != close) {
      if (close == '}') { /* key : */
        p = json_skip(p);
        if (!p || *(p = json_ws(p)) != ':') return NULL;
        p++;
      }
      p = json_skip(p);
      if (!p) return NULL;
      p = json_ws(p);
      if (*p == ',') p = json_ws(p + 1);
    }
    return p ? p + 1 : NULL;
  }
  const char *start = p;
  while (*p && !strchr(",]} \n\r\t", *p)) p++;
  return p > start ? p : NULL;
}

/* The value of `key` in the object at p, or NULL. */
static const char *json_get(const char *p, const char *key) {
  p = json_ws(p);
  if (!p || *p != '{') return NULL;
  p = json_ws(p + 1);
  size_t klen = strlen(key);
  while (p && *p == '"') {
    int match = strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"';
    p = json_skip(p);
    if (!p || *(p = json_ws(p)) != ':') return NULL;
    p = json_ws(p + 1);
    if (match) return p;
    p = json_skip(p);
    if (p && *(p = json_ws(p)) == ',') p = json_ws(p + 1);
  }
  return NULL;
}

/* Element i of the array at p, or NULL. */
static const char *json_at(const char *p, int i) {
  p = json_ws(p);
  if (!p || *p != '[') return NULL;
  p = json_ws(p + 1);
  for (int k = 0; p && *p != ']'; k++) {
    if (k == i) return p;
    p = json_skip(p);
    if (p && *(p = json_ws(p)) == ',') p = json_ws(p + 1);
  }
  return NULL;
}

/* A string without escapes, copied to out; 0 if it is not one. */
static int json_plain_string(const char *p, char *out, size_t size) {
  p = json_ws(p);
  const char *end = p && *p == '"' ? json_skip(p) : NULL;
  if (!end || (size_t)(end - p - 2) >= size || memchr(p + 1, '\\', (size_t)(end - p - 2)))
    return 0;
  memcpy(out, p + 1, (size_t)(end - p - 2));
  out[end - p - 2] = '\0';
  return 1;
}

/* Compares a decoded tensor with its ref.json entry (name, dtype, shape, quantization). */
static void check_against_ref(const char *where, const tfl_model_tensor *t, const char *ref) {
  char text[256];
  if (json_plain_string(json_get(ref, "name"), text, sizeof(text)) && strcmp(text, t->name))
    test_fail(__FILE__, __LINE__, "%s: name '%s', ref.json '%s'", where, t->name, text);
  if (json_plain_string(json_get(ref, "dtype"), text, sizeof(text)) &&
      strcmp(text, tfl_type_name(t->type)))
    test_fail(__FILE__, __LINE__, "%s: type %s, ref.json %s", where, tfl_type_name(t->type), text);
  const char *shape = json_get(ref, "shape");
  int ndim = 0;
  for (const char *d; shape && (d = json_at(shape, ndim)) != NULL; ndim++)
    if (ndim >= t->ndim || atol(d) != t->shape[ndim])
      test_fail(__FILE__, __LINE__, "%s: dimension %d differs from ref.json", where, ndim);
  if (shape && ndim != t->ndim) test_fail(__FILE__, __LINE__, "%s: rank differs", where);
  const char *q = json_get(ref, "quantization");
  if (!q || strncmp(q, "null", 4) == 0) {
    if (t->quant.count) test_fail(__FILE__, __LINE__, "%s: quantized, ref.json not", where);
    return;
  }
  const char *scales = json_get(q, "scale"), *zps = json_get(q, "zero_point");
  int n = 0;
  for (const char *v; scales && (v = json_at(scales, n)) != NULL; n++) {
    const char *z = json_at(zps, n);
    if (n >= t->quant.count || !z || (float)strtod(v, NULL) != t->quant.scale[n] ||
        atol(z) != t->quant.zero_point[n])
      test_fail(__FILE__, __LINE__, "%s: quantization entry %d differs from ref.json", where, n);
  }
  if (n != t->quant.count) test_fail(__FILE__, __LINE__, "%s: %d scales, ref.json %d", where,
                                     t->quant.count, n);
  const char *axis = json_get(q, "quantized_dimension");
  if (n > 1 && axis && atol(axis) != t->quant.axis)
    test_fail(__FILE__, __LINE__, "%s: axis %d, ref.json %ld", where, t->quant.axis, atol(axis));
}

/* Subgraph 0's inputs and outputs agree with what TFLite reported in ref.json. */
static void check_ref_json(const char *suite, const char *case_dir, int *count) {
  char path[3072];
  snprintf(path, sizeof(path), "%s/ref.json", case_dir);
  size_t size;
  char *raw = (char *)read_all(path, &size);
  char *json = raw ? realloc(raw, size + 1) : NULL;
  if (!json) {
    free(raw);
    return;
  }
  json[size] = '\0';
  char model_rel[512];
  tfl_model *m = NULL;
  if (json_plain_string(json_get(json, "model"), model_rel, sizeof(model_rel))) {
    snprintf(path, sizeof(path), "%s/models/%s", suite, model_rel);
    char err[256];
    if (!expected_to_fail(path) && tfl_model_load_file(path, &m, err, sizeof(err)) != TFL_OK)
      m = NULL;
  }
  for (int io = 0; m && io < 2; io++) {
    const tfl_model_subgraph *sg = &m->subgraphs[0];
    const char *list = json_get(json, io ? "outputs" : "inputs");
    const char *e;
    for (int i = 0; list && (e = json_at(list, i)) != NULL; i++) {
      char where[600];
      snprintf(where, sizeof(where), "%s %s %d", model_rel, io ? "output" : "input", i);
      int n = io ? sg->n_outputs : sg->n_inputs;
      if (i >= n) {
        test_fail(__FILE__, __LINE__, "%s: missing", where);
        break;
      }
      check_against_ref(where, &sg->tensors[io ? sg->outputs[i] : sg->inputs[i]], e);
    }
  }
  if (m) (*count)++;
  tfl_model_free(m);
  free(json);
}

static void check_cases(const char *suite, int *count) {
  DIR *d = opendir(suite);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char dir[2048];
    snprintf(dir, sizeof(dir), "%s/%s", suite, e->d_name);
    check_ref_json(suite, dir, count);
  }
  closedir(d);
}

static const char *shared_dir(void) {
  const char *shared = getenv("TFL_SHARED");
  struct stat sb;
  if (!shared || stat(shared, &sb) != 0 || !S_ISDIR(sb.st_mode)) return NULL;
  return shared;
}

TEST(every_suite_model_loads_or_fails_as_expected) {
  const char *shared = shared_dir();
  if (!shared) {
    printf("  (TFL_SHARED not set: suite models skipped)\n");
    return;
  }
  char dir[1024];
  int files = 0, checked = 0;
  snprintf(dir, sizeof(dir), "%s/reference/models", shared);
  load_tree(dir, &files);
  snprintf(dir, sizeof(dir), "%s/reference/unit_models/models", shared);
  load_tree(dir, &files);
  CHECK(files >= 150);
  snprintf(dir, sizeof(dir), "%s/reference", shared);
  check_cases(dir, &checked);
  snprintf(dir, sizeof(dir), "%s/reference/unit_models", shared);
  check_cases(dir, &checked);
  CHECK(checked >= 150);
  printf("  suite: %d model files, %d compared with ref.json\n", files, checked);
}

int main(void) {
  RUN(loads_a_float_model);
  RUN(loads_per_channel_quantization);
  RUN(loads_signatures_and_subgraphs);
  RUN(loads_control_flow_references);
  RUN(loads_metadata_and_custom_ops);
  RUN(loads_zero_size_constants);
  RUN(loads_block_sparse_tensors);
  RUN(rejects_broken_fixtures);
  RUN(rejects_empty_files_and_bad_arguments);
  RUN(loads_from_buffers_aligned_or_not);
  RUN(names_of_types_and_statuses);
  RUN(built_model_decodes);
  RUN(builtin_code_is_the_larger_field);
  RUN(rejects_model_level_problems);
  RUN(rejects_bad_indices);
  RUN(rejects_bad_shapes_and_types);
  RUN(rejects_bad_constant_data);
  RUN(reads_buffers_outside_the_flatbuffer);
  RUN(checks_quantization);
  RUN(checks_quantization_details);
  RUN(decodes_quantization_kind);
  RUN(checks_sparsity);
  RUN(checks_subgraph_references_in_options);
  RUN(checks_signatures_and_metadata);
  RUN(shared_vectors_cannot_make_decoding_slow);
  RUN(corrupted_models_fail_cleanly);
  RUN(every_suite_model_loads_or_fails_as_expected);
  return test_summary();
}
