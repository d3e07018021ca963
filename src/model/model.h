/* The decoded, verified view of a .tflite file. Everything here is read-only after
 * tfl_model_load_*; indices have all been range-checked, so later layers need not distrust
 * them. Arrays are owned by the model (allocated once at load). */
#ifndef TFL_MODEL_MODEL_H
#define TFL_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "format/flatbuf.h"
#include "tfl/model.h"
#include "tfl/tensor.h"

/* SparsityParameters, decoded. Index vectors are widened to int32. */
typedef struct tfl_sparse_dim {
  int sparse;        /* 0: DENSE, 1: SPARSE_CSR */
  int32_t dense_size;
  uint32_t n_segments;
  int32_t *segments;
  uint32_t n_indices;
  int32_t *indices;
} tfl_sparse_dim;

typedef struct tfl_sparsity {
  int n_traversal;
  int32_t *traversal_order;
  int n_block_map;
  int32_t *block_map;
  int n_dims;
  tfl_sparse_dim *dims;
} tfl_sparsity;

typedef struct tfl_model_tensor {
  const char *name;          /* never NULL ("" when absent) */
  tfl_type type;
  int ndim;
  int32_t *shape;            /* ndim entries; every entry >= 0 */
  int has_shape_signature;
  int32_t *shape_signature;  /* ndim entries, -1 for dynamic dims; NULL when absent */
  uint32_t buffer;           /* 0: no buffer */
  const uint8_t *data;       /* constant data, or NULL */
  size_t data_size;
  tfl_quantization quant;    /* count 0 when unquantized; arrays owned by the model */
  float q_min, q_max;        /* legacy min/max if present (for information only) */
  int is_variable;
  tfl_sparsity *sparsity;    /* NULL when dense */
  uint8_t quant_details_type; /* QuantizationDetails union type: 0 none, 1 custom,
                               * 2 blockwise, 3 multi-axis (tensor indices range-checked) */
  fb_table quant_details;    /* that table (absent when the type is 0) */
} tfl_model_tensor;

typedef struct tfl_model_op {
  uint32_t opcode_index;
  int n_inputs;
  int32_t *inputs;           /* -1 for omitted optional inputs */
  int n_outputs;
  int32_t *outputs;
  int n_intermediates;
  int32_t *intermediates;
  uint8_t builtin_options_type;  /* BuiltinOptions union type, 0 = NONE */
  fb_table builtin_options;
  uint8_t builtin_options2_type; /* BuiltinOptions2 union type, 0 = NONE */
  fb_table builtin_options2;
  const uint8_t *custom_options;
  size_t custom_options_size;
} tfl_model_op;

typedef struct tfl_model_opcode {
  int32_t builtin_code;      /* max(builtin_code, deprecated_builtin_code) */
  const char *custom_code;   /* NULL unless CUSTOM */
  int32_t version;
} tfl_model_opcode;

typedef struct tfl_model_subgraph {
  const char *name;
  int n_tensors;
  tfl_model_tensor *tensors;
  int n_inputs;
  int32_t *inputs;
  int n_outputs;
  int32_t *outputs;
  int n_ops;
  tfl_model_op *ops;
} tfl_model_subgraph;

typedef struct tfl_model_sig_io {
  const char *name;
  uint32_t tensor;
} tfl_model_sig_io;

typedef struct tfl_model_signature {
  const char *key;
  uint32_t subgraph;
  int n_inputs;
  tfl_model_sig_io *inputs;
  int n_outputs;
  tfl_model_sig_io *outputs;
} tfl_model_signature;

typedef struct tfl_model_meta {
  const char *name;
  const uint8_t *data;
  size_t size;
} tfl_model_meta; /* (not tfl_model_metadata: that is the public accessor) */

struct tfl_model {
  const uint8_t *bytes;      /* the whole file */
  size_t size;
  void *owned;               /* malloc'd copy to free, or NULL */
  void *mapping;             /* mmap'd region to unmap, or NULL */
  size_t mapping_size;
  void *arena;               /* chunks holding every decoded array (src/model/arena.h) */
  uint32_t version;
  const char *description;
  int n_opcodes;
  tfl_model_opcode *opcodes;
  int n_subgraphs;
  tfl_model_subgraph *subgraphs;
  int n_signatures;
  tfl_model_signature *signatures;
  int n_metadata;
  tfl_model_meta *metadata;
};

/* Whether z is a valid zero point for a tensor of `type`: a value of that type for int4, int8,
 * uint8, int16 and uint16 (kernels subtract it from such values in 32 bits), any int32
 * otherwise. The loader checks it, and so does a kernel that retypes a tensor. */
int tfl_zero_point_fits(tfl_type type, int64_t z);

#endif
