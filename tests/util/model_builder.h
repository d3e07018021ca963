/* Builds .tflite FlatBuffers in memory, for tests: tensors, ops with builtin options, custom
 * ops, several subgraphs and signatures. The output is a real TFLite schema v3 file (it also
 * loads in TensorFlow Lite), so tests run through the whole public API, verifier included.
 *
 * Every call records into the current subgraph (subgraph 0 until mb_subgraph()). Errors in
 * usage (bad indices) are programming errors in a test and make mb_finish() return NULL.
 * That applies to the indices the builder itself resolves (the tensor of mb_quant,
 * mb_variable, mb_shape_signature; the op of mb_op_options2, mb_op_intermediates). Indices
 * that only go into the file (op inputs and outputs, graph inputs and outputs, signature
 * tensors and subgraphs) are written as given, so tests can build invalid models on purpose;
 * likewise a constant's byte count is not checked against its shape. */
#ifndef TFL_TESTS_MODEL_BUILDER_H
#define TFL_TESTS_MODEL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "tfl/tensor.h"

typedef struct mb_model mb_model;

/* A builtin-options field: `field` is its index in the options table of the schema. */
typedef enum mb_kind {
  MB_END = 0,  /* terminates a field list */
  MB_BOOL,     /* 1 byte: bools, and byte enums (Padding, ActivationFunctionType, TensorType) */
  MB_I8,
  MB_I16,
  MB_I32,
  MB_I64,
  MB_F32,
  MB_VEC_I32,  /* vec/n */
  MB_VEC_F32,  /* fvec/n */
  MB_STRING    /* str */
} mb_kind;

typedef struct mb_field {
  int field;
  mb_kind kind;
  int64_t i;
  double f;
  const int32_t *vec;
  const float *fvec;
  int n;
  const char *str;
} mb_field;

/* Field list shorthands: mb_field f[] = {MB_INT(1, 2), MB_FLOAT(0, 0.5), MB_FIELDS_END}; */
#define MB_BYTE(fld, v) {.field = (fld), .kind = MB_BOOL, .i = (v)}
#define MB_INT(fld, v) {.field = (fld), .kind = MB_I32, .i = (v)}
#define MB_LONG(fld, v) {.field = (fld), .kind = MB_I64, .i = (v)}
#define MB_FLOAT(fld, v) {.field = (fld), .kind = MB_F32, .f = (v)}
#define MB_IVEC(fld, p, count) {.field = (fld), .kind = MB_VEC_I32, .vec = (p), .n = (count)}
#define MB_FVEC(fld, p, count) {.field = (fld), .kind = MB_VEC_F32, .fvec = (p), .n = (count)}
#define MB_STR(fld, s) {.field = (fld), .kind = MB_STRING, .str = (s)}
#define MB_FIELDS_END {.kind = MB_END}

mb_model *mb_new(void);
void mb_free(mb_model *m);

/* Starts a new subgraph (the first one exists already); returns its index. */
int mb_subgraph(mb_model *m, const char *name);

/* Adds a tensor to the current subgraph and returns its index. data/bytes give a constant
 * buffer (NULL/0 for activations). name may be NULL. */
int mb_tensor(mb_model *m, tfl_type type, int ndim, const int32_t *dims, const void *data,
              size_t bytes, const char *name);
/* Per-tensor (count 1) or per-channel quantization for a tensor (QuantizationParameters
 * scale, zero_point, quantized_dimension = axis). zero_points may be NULL (all 0). */
void mb_quant(mb_model *m, int tensor, int count, const float *scales,
              const int64_t *zero_points, int axis);
/* Blockwise quantization (QuantizationDetails BlockwiseQuantization) for a tensor, replacing
 * any mb_quant: scales and zero_points are tensor indices and block_size the block size, all
 * written as given. With scales == MB_BLOCKWISE_NO_TABLE only the union type is written. */
#define MB_BLOCKWISE_NO_TABLE (-1000)
void mb_quant_blockwise(mb_model *m, int tensor, int scales, int zero_points, int block_size);
/* Marks a tensor is_variable, and sets a shape_signature (ndim entries, -1 = dynamic). */
void mb_variable(mb_model *m, int tensor);
void mb_shape_signature(mb_model *m, int tensor, const int32_t *sig);

void mb_inputs(mb_model *m, int n, const int *tensors);
void mb_outputs(mb_model *m, int n, const int *tensors);

/* Appends an operator (-1 in `in` marks an omitted optional input). options_type is the
 * BuiltinOptions union type (0 for none); with a type, fields may be NULL (an empty options
 * table). Operator codes are shared between ops with the same code and version (builtin_code
 * and deprecated_builtin_code = min(code, 127) are both written). Returns the operator's
 * index in the subgraph. */
int mb_op(mb_model *m, int builtin_code, int version, int n_in, const int *in, int n_out,
          const int *out, int options_type, const mb_field *fields);
/* A CUSTOM op (version 1); custom_options (e.g. FlexBuffers) may be NULL. */
int mb_custom_op(mb_model *m, const char *custom_code, int n_in, const int *in, int n_out,
                 const int *out, const void *custom_options, size_t custom_options_size);
/* Gives operator `op` of the current subgraph a BuiltinOptions2 table (builtin_options_2). */
void mb_op_options2(mb_model *m, int op, int options2_type, const mb_field *fields);
/* Sets operator `op`'s intermediate tensors (e.g. quantized LSTM). */
void mb_op_intermediates(mb_model *m, int op, int n, const int *tensors);

/* Adds a SignatureDef for subgraph `subgraph` mapping names to tensor indices. */
void mb_signature(mb_model *m, const char *key, int subgraph, int n_in,
                  const char *const *in_names, const int *in_tensors, int n_out,
                  const char *const *out_names, const int *out_tensors);
void mb_description(mb_model *m, const char *text);
void mb_metadata(mb_model *m, const char *name, const void *data, size_t size);

/* Serializes the model (call it once, then mb_free). Returns a malloc'd, 16-byte aligned
 * buffer (free with free()) and its size, or NULL if the model was built inconsistently. */
uint8_t *mb_finish(mb_model *m, size_t *size);

#endif
