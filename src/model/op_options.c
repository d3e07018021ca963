#include "model/op_options.h"

#include "format/tflite_schema.h"
#include "format/verify.h"

static fb_table options_of(const tfl_model_op *op, int set, const fb_table_desc **desc) {
  fb_table none = {NULL, 0};
  *desc = NULL;
  if (!op || (set != 1 && set != 2)) return none;
  *desc = tflite_options_desc(set, set == 1 ? op->builtin_options_type
                                            : op->builtin_options2_type);
  return set == 1 ? op->builtin_options : op->builtin_options2;
}

int64_t tfl_model_opt_int(const tfl_model_op *op, int set, int field, int64_t def) {
  const fb_table_desc *desc;
  fb_table t = options_of(op, set, &desc);
  return fb_desc_int(t, desc, field, def);
}

double tfl_model_opt_float(const tfl_model_op *op, int set, int field, double def) {
  const fb_table_desc *desc;
  fb_table t = options_of(op, set, &desc);
  return fb_desc_float(t, desc, field, def);
}

fb_vector tfl_model_opt_vec32(const tfl_model_op *op, int set, int field) {
  const fb_table_desc *desc;
  fb_table t = options_of(op, set, &desc);
  return fb_desc_vec(t, desc, field, 4);
}
