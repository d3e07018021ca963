/* Model introspection (include/tfl/inspect.h). */
#include "model/model.h"
#include "model/ops.h"
#include "tfl/inspect.h"

static const tfl_model_subgraph *subgraph_at(const tfl_model *model, int subgraph) {
  if (!model || subgraph < 0 || subgraph >= model->n_subgraphs) return NULL;
  return &model->subgraphs[subgraph];
}

int tfl_model_op_count(const tfl_model *model, int subgraph) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg ? sg->n_ops : 0;
}

tfl_status tfl_model_op_info(const tfl_model *model, int subgraph, int i, tfl_op_info *out) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  if (!sg || !out || i < 0 || i >= sg->n_ops) return TFL_INVALID_ARGUMENT;
  const tfl_model_op *op = &sg->ops[i];
  const tfl_model_opcode *oc = &model->opcodes[op->opcode_index];
  const char *name = oc->custom_code ? oc->custom_code : tfl_builtin_op_name(oc->builtin_code);
  out->builtin_code = oc->builtin_code;
  out->name = name ? name : "UNKNOWN";
  out->version = oc->version;
  out->num_inputs = op->n_inputs;
  out->inputs = op->inputs;
  out->num_outputs = op->n_outputs;
  out->outputs = op->outputs;
  return TFL_OK;
}

int tfl_model_tensor_count(const tfl_model *model, int subgraph) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg ? sg->n_tensors : 0;
}

tfl_status tfl_model_tensor_info(const tfl_model *model, int subgraph, int i,
                                 tfl_tensor_info *out) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  if (!sg || !out || i < 0 || i >= sg->n_tensors) return TFL_INVALID_ARGUMENT;
  const tfl_model_tensor *t = &sg->tensors[i];
  out->name = t->name;
  out->type = t->type;
  out->ndim = t->ndim;
  out->shape = t->shape;
  out->shape_signature = t->has_shape_signature ? t->shape_signature : NULL;
  out->quantization = t->quant;
  out->is_constant = t->data != NULL;
  out->is_variable = t->is_variable;
  out->is_sparse = t->sparsity != NULL;
  out->data_bytes = t->data ? t->data_size : 0;
  return TFL_OK;
}

int tfl_model_input_count(const tfl_model *model, int subgraph) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg ? sg->n_inputs : 0;
}

int tfl_model_output_count(const tfl_model *model, int subgraph) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg ? sg->n_outputs : 0;
}

int32_t tfl_model_input(const tfl_model *model, int subgraph, int i) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg && i >= 0 && i < sg->n_inputs ? sg->inputs[i] : -1;
}

int32_t tfl_model_output(const tfl_model *model, int subgraph, int i) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg && i >= 0 && i < sg->n_outputs ? sg->outputs[i] : -1;
}

const char *tfl_model_subgraph_name(const tfl_model *model, int subgraph) {
  const tfl_model_subgraph *sg = subgraph_at(model, subgraph);
  return sg && sg->name ? sg->name : "";
}

static const tfl_model_signature *signature_at(const tfl_model *model, int sig) {
  if (!model || sig < 0 || sig >= model->n_signatures) return NULL;
  return &model->signatures[sig];
}

int tfl_model_signature_count(const tfl_model *model) { return model ? model->n_signatures : 0; }

const char *tfl_model_signature_key(const tfl_model *model, int sig) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? s->key : NULL;
}

int tfl_model_signature_subgraph(const tfl_model *model, int sig) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? (int)s->subgraph : -1;
}

int tfl_model_signature_input_count(const tfl_model *model, int sig) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? s->n_inputs : 0;
}

int tfl_model_signature_output_count(const tfl_model *model, int sig) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? s->n_outputs : 0;
}

static tfl_status sig_io(const tfl_model_sig_io *ios, int n, int i, const char **name,
                         int32_t *tensor) {
  if (i < 0 || i >= n) return TFL_INVALID_ARGUMENT;
  if (name) *name = ios[i].name;
  if (tensor) *tensor = (int32_t)ios[i].tensor;
  return TFL_OK;
}

tfl_status tfl_model_signature_input(const tfl_model *model, int sig, int i, const char **name,
                                     int32_t *tensor) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? sig_io(s->inputs, s->n_inputs, i, name, tensor) : TFL_INVALID_ARGUMENT;
}

tfl_status tfl_model_signature_output(const tfl_model *model, int sig, int i, const char **name,
                                      int32_t *tensor) {
  const tfl_model_signature *s = signature_at(model, sig);
  return s ? sig_io(s->outputs, s->n_outputs, i, name, tensor) : TFL_INVALID_ARGUMENT;
}

const char *tfl_builtin_name(int32_t code) { return tfl_builtin_op_name(code); }

int tfl_builtin_code_count(void) { return TFL_OP_COUNT; }
