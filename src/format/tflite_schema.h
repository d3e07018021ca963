/* The TensorFlow Lite schema (schema.fbs, version 3 up to 3d) as verifier descriptions. Field
 * numbers in the model layer are slot numbers of these tables (see verify.h). */
#ifndef TFL_FORMAT_TFLITE_SCHEMA_H
#define TFL_FORMAT_TFLITE_SCHEMA_H

#include "format/verify.h"

/* Required at bytes 4..7. TensorFlow Lite verifies models with the identifier too
 * (VerifyModelBuffer), so a buffer without it is not a model TFLite would load. */
#define TFLITE_FILE_IDENTIFIER "TFL3"

extern const fb_table_desc tflite_model_desc;

/* Options table of BuiltinOptions (set 1) or BuiltinOptions2 (set 2) union type `type`;
 * NULL for NONE or an unknown type. */
const fb_table_desc *tflite_options_desc(int set, unsigned type);
/* Number of member types of BuiltinOptions (set 1) or BuiltinOptions2 (set 2). */
int tflite_options_count(int set);

/* Slot numbers of the fields tfl reads (schema.fbs declaration order). */
enum { TFLITE_MODEL_VERSION = 0, TFLITE_MODEL_OPCODES = 1, TFLITE_MODEL_SUBGRAPHS = 2,
       TFLITE_MODEL_DESCRIPTION = 3, TFLITE_MODEL_BUFFERS = 4, TFLITE_MODEL_METADATA = 6,
       TFLITE_MODEL_SIGNATURES = 7 };
enum { TFLITE_OPCODE_DEPRECATED_CODE = 0, TFLITE_OPCODE_CUSTOM = 1, TFLITE_OPCODE_VERSION = 2,
       TFLITE_OPCODE_BUILTIN = 3 };
enum { TFLITE_SUBGRAPH_TENSORS = 0, TFLITE_SUBGRAPH_INPUTS = 1, TFLITE_SUBGRAPH_OUTPUTS = 2,
       TFLITE_SUBGRAPH_OPERATORS = 3, TFLITE_SUBGRAPH_NAME = 4 };
enum { TFLITE_TENSOR_SHAPE = 0, TFLITE_TENSOR_TYPE = 1, TFLITE_TENSOR_BUFFER = 2,
       TFLITE_TENSOR_NAME = 3, TFLITE_TENSOR_QUANT = 4, TFLITE_TENSOR_IS_VARIABLE = 5,
       TFLITE_TENSOR_SPARSITY = 6, TFLITE_TENSOR_SHAPE_SIGNATURE = 7,
       TFLITE_TENSOR_EXTERNAL_BUFFER = 10 };
enum { TFLITE_QUANT_MIN = 0, TFLITE_QUANT_MAX = 1, TFLITE_QUANT_SCALE = 2,
       TFLITE_QUANT_ZERO_POINT = 3, TFLITE_QUANT_DETAILS_TYPE = 4, TFLITE_QUANT_DETAILS = 5,
       TFLITE_QUANT_DIMENSION = 6 };
/* BlockwiseQuantization and MultiAxisQuantization share their first fields. */
enum { TFLITE_QDETAILS_SCALES = 0, TFLITE_QDETAILS_ZERO_POINTS = 1, TFLITE_QDETAILS_BLOCK = 2,
       TFLITE_QDETAILS_AXES = 3 };
enum { TFLITE_SPARSITY_TRAVERSAL = 0, TFLITE_SPARSITY_BLOCK_MAP = 1, TFLITE_SPARSITY_DIMS = 2 };
enum { TFLITE_DIM_FORMAT = 0, TFLITE_DIM_DENSE_SIZE = 1, TFLITE_DIM_SEGMENTS_TYPE = 2,
       TFLITE_DIM_SEGMENTS = 3, TFLITE_DIM_INDICES_TYPE = 4, TFLITE_DIM_INDICES = 5 };
enum { TFLITE_OP_OPCODE = 0, TFLITE_OP_INPUTS = 1, TFLITE_OP_OUTPUTS = 2,
       TFLITE_OP_OPTIONS_TYPE = 3, TFLITE_OP_OPTIONS = 4, TFLITE_OP_CUSTOM_OPTIONS = 5,
       TFLITE_OP_INTERMEDIATES = 8, TFLITE_OP_LARGE_CUSTOM_OFFSET = 9,
       TFLITE_OP_LARGE_CUSTOM_SIZE = 10, TFLITE_OP_OPTIONS2_TYPE = 11, TFLITE_OP_OPTIONS2 = 12 };
enum { TFLITE_BUFFER_DATA = 0, TFLITE_BUFFER_OFFSET = 1, TFLITE_BUFFER_SIZE = 2 };
enum { TFLITE_METADATA_NAME = 0, TFLITE_METADATA_BUFFER = 1 };
enum { TFLITE_SIGNATURE_INPUTS = 0, TFLITE_SIGNATURE_OUTPUTS = 1, TFLITE_SIGNATURE_KEY = 2,
       TFLITE_SIGNATURE_SUBGRAPH = 4 };
enum { TFLITE_TENSOR_MAP_NAME = 0, TFLITE_TENSOR_MAP_TENSOR = 1 };

/* QuantizationDetails union types. */
enum { TFLITE_QDETAILS_CUSTOM = 1, TFLITE_QDETAILS_BLOCKWISE = 2, TFLITE_QDETAILS_MULTI_AXIS = 3 };
/* SparseIndexVector union types. */
enum { TFLITE_SPARSE_INT32 = 1, TFLITE_SPARSE_UINT16 = 2, TFLITE_SPARSE_UINT8 = 3 };

#endif
