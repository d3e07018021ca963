/* Builtin options of a decoded operator, read through the schema: each field is read with
 * the width, signedness and type schema.fbs declares for it (a 1-byte enum such as Padding or
 * ActivationFunctionType, an int, a long, a float...), whatever the caller converts it to.
 * `set` is 1 for builtin_options, 2 for builtin_options_2; `field` is the field's index in
 * its options table. Absent options, absent fields and fields of another kind give def. */
#ifndef TFL_MODEL_OP_OPTIONS_H
#define TFL_MODEL_OP_OPTIONS_H

#include <stdint.h>

#include "format/flatbuf.h"
#include "model/model.h"

int64_t tfl_model_opt_int(const tfl_model_op *op, int set, int field, int64_t def);
double tfl_model_opt_float(const tfl_model_op *op, int set, int field, double def);
/* A vector of 4-byte elements (int32 or float: read them with fb_vec_i32 / fb_vec_f32);
 * absent (data NULL, len 0) when the field is not such a vector. */
fb_vector tfl_model_opt_vec32(const tfl_model_op *op, int set, int field);

#endif
