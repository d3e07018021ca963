/* Model-level decoding: buffers, operator codes, subgraphs, operators, signatures and
 * metadata. Tensors are in tensor_decode.c.
 *
 * Only operator inputs may be -1 (an omitted optional input); TFLite also lets outputs,
 * intermediates and subgraph inputs/outputs be -1, which no model needs and every later
 * layer would have to handle. Subgraph indices in options (IF, WHILE, CALL_ONCE, StableHLO
 * regions) are range-checked here, since the schema marks them ('g' and 'G' fields). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format/tflite_schema.h"
#include "format/verify.h"
#include "model/decode.h"
#include "model/message.h"
#include "model/ops.h"

#define TFLITE_SCHEMA_VERSION 3

tfl_status tfl_decode_fail(tfl_decoder *d, tfl_status status, const char *fmt, ...) {
  if (!d->err || !d->err_size) return status;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char line[sizeof(d->where) + sizeof(msg) + 2];
  snprintf(line, sizeof(line), "%s%s%s", d->where, d->where[0] ? ": " : "", msg);
  tfl_message_escape(d->err, d->err_size, line); /* names from the file: one line */
  return status;
}

void *tfl_decode_alloc(tfl_decoder *d, size_t count, size_t size) {
  void *p = tfl_arena_alloc(&d->arena, count, size);
  if (!p) tfl_decode_fail(d, TFL_OUT_OF_MEMORY, "out of memory");
  return p;
}

tfl_status tfl_decode_charge(tfl_decoder *d, uint64_t n) {
  if (n <= d->budget) {
    d->budget -= n;
    return TFL_OK;
  }
  return tfl_decode_fail(d, TFL_LIMIT_EXCEEDED, "vectors shared by too many tables (the "
                         "decoded model would be far larger than the file)");
}

tfl_status tfl_decode_ivec(tfl_decoder *d, fb_vector v, int32_t **out, int *n) {
  tfl_status st = tfl_decode_charge(d, v.len);
  if (st) return st;
  *out = tfl_decode_alloc(d, v.len, sizeof(int32_t));
  if (!*out) return TFL_OUT_OF_MEMORY;
  for (uint32_t i = 0; i < v.len; i++) (*out)[i] = fb_vec_i32(v, i);
  *n = (int)v.len; /* a verified vector of 4-byte elements has fewer than 2^29 */
  return TFL_OK;
}

static const char *string_or_empty(fb_table t, int field) {
  const char *s = fb_string(t, field, NULL);
  return s ? s : "";
}

tfl_status tfl_decode_buffer(tfl_decoder *d, uint32_t index, const uint8_t **data,
                             size_t *size) {
  fb_table b = fb_vec_table(d->root, d->buffers, index);
  fb_vector v = fb_vec(b, TFLITE_BUFFER_DATA);
  *data = NULL;
  *size = 0;
  if (v.data) {
    *data = v.data;
    *size = v.len;
    return TFL_OK;
  }
  /* Models over 2 GiB keep data after the FlatBuffer; offsets 0 and 1 mean "none". */
  uint64_t offset = fb_u64(b, TFLITE_BUFFER_OFFSET, 0), len = fb_u64(b, TFLITE_BUFFER_SIZE, 0);
  if (offset <= 1) return TFL_OK;
  if (offset > d->model->size || len > d->model->size - offset)
    return tfl_decode_fail(d, TFL_INVALID_MODEL,
                           "buffer %u: data at offset %llu (%llu bytes) is outside the file",
                           index, (unsigned long long)offset, (unsigned long long)len);
  *data = d->model->bytes + offset;
  *size = (size_t)len;
  return TFL_OK;
}

/* --- operator codes ------------------------------------------------------------------ */

static tfl_status decode_opcodes(tfl_decoder *d) {
  tfl_model *m = d->model;
  fb_vector v = fb_vec(d->root, TFLITE_MODEL_OPCODES);
  m->opcodes = tfl_decode_alloc(d, v.len, sizeof(tfl_model_opcode));
  if (!m->opcodes) return TFL_OUT_OF_MEMORY;
  m->n_opcodes = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    fb_table t = fb_vec_table(d->root, v, i);
    tfl_model_opcode *oc = &m->opcodes[i];
    /* Old files only set the 1-byte field, new ones set both or only the int32 one. */
    int32_t code = fb_i32(t, TFLITE_OPCODE_BUILTIN, 0);
    int32_t old_code = fb_i8(t, TFLITE_OPCODE_DEPRECATED_CODE, 0);
    oc->builtin_code = code > old_code ? code : old_code;
    oc->version = fb_i32(t, TFLITE_OPCODE_VERSION, 1);
    if (oc->builtin_code != TFL_OP_CUSTOM) continue;
    oc->custom_code = fb_string(t, TFLITE_OPCODE_CUSTOM, NULL);
    if (!oc->custom_code)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "operator code %u is CUSTOM but has no "
                             "custom_code", i);
  }
  return TFL_OK;
}

/* --- operators ----------------------------------------------------------------------- */

static tfl_status check_indices(tfl_decoder *d, const char *what, const int32_t *idx, int n,
                                int n_tensors, int allow_optional) {
  for (int i = 0; i < n; i++) {
    if (idx[i] == -1 && allow_optional) continue;
    if (idx[i] < 0 || idx[i] >= n_tensors)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "%s %d is tensor %d, but the subgraph has "
                             "%d tensors", what, i, (int)idx[i], n_tensors);
  }
  return TFL_OK;
}

/* Options fields that name subgraphs (IF, WHILE, CALL_ONCE, StableHLO regions...). */
static tfl_status check_subgraph_refs(tfl_decoder *d, int set, uint8_t type, fb_table opts) {
  const fb_table_desc *desc = tflite_options_desc(set, type);
  int n = d->model->n_subgraphs;
  if (!desc || !fb_table_present(opts)) return TFL_OK;
  for (int f = 0; desc->fields[f]; f++) {
    if (desc->fields[f] == 'g') {
      uint32_t s = fb_u32(opts, f, 0);
      if (s >= (uint32_t)n)
        return tfl_decode_fail(d, TFL_INVALID_MODEL, "%s field %d refers to subgraph %u of %d",
                               desc->name, f, s, n);
    } else if (desc->fields[f] == 'G') {
      fb_vector v = fb_vec(opts, f);
      tfl_status st = tfl_decode_charge(d, v.len);
      if (st) return st;
      for (uint32_t i = 0; i < v.len; i++) {
        int32_t s = fb_vec_i32(v, i);
        if (s < 0 || s >= n)
          return tfl_decode_fail(d, TFL_INVALID_MODEL, "%s field %d refers to subgraph %d of "
                                 "%d", desc->name, f, (int)s, n);
      }
    }
  }
  return TFL_OK;
}

static tfl_status decode_custom_options(tfl_decoder *d, fb_table t, tfl_model_op *op) {
  fb_vector v = fb_vec(t, TFLITE_OP_CUSTOM_OPTIONS);
  if (v.data) {
    op->custom_options = v.data;
    op->custom_options_size = v.len;
    return TFL_OK;
  }
  /* Like Buffer.offset: options of models over 2 GiB live after the FlatBuffer. */
  uint64_t offset = fb_u64(t, TFLITE_OP_LARGE_CUSTOM_OFFSET, 0);
  uint64_t size = fb_u64(t, TFLITE_OP_LARGE_CUSTOM_SIZE, 0);
  if (offset <= 1) return TFL_OK;
  if (offset > d->model->size || size > d->model->size - offset)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "custom options at offset %llu (%llu bytes) "
                           "are outside the file", (unsigned long long)offset,
                           (unsigned long long)size);
  op->custom_options = d->model->bytes + offset;
  op->custom_options_size = (size_t)size;
  return TFL_OK;
}

static tfl_status decode_op(tfl_decoder *d, fb_table t, int n_tensors, tfl_model_op *op) {
  tfl_status st;
  op->opcode_index = fb_u32(t, TFLITE_OP_OPCODE, 0);
  if (op->opcode_index >= (uint32_t)d->model->n_opcodes)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "opcode index %u out of range (%d codes)",
                           op->opcode_index, d->model->n_opcodes);
  if ((st = tfl_decode_ivec(d, fb_vec(t, TFLITE_OP_INPUTS), &op->inputs, &op->n_inputs)) ||
      (st = tfl_decode_ivec(d, fb_vec(t, TFLITE_OP_OUTPUTS), &op->outputs, &op->n_outputs)) ||
      (st = tfl_decode_ivec(d, fb_vec(t, TFLITE_OP_INTERMEDIATES), &op->intermediates,
                            &op->n_intermediates)))
    return st;
  if ((st = check_indices(d, "input", op->inputs, op->n_inputs, n_tensors, 1)) ||
      (st = check_indices(d, "output", op->outputs, op->n_outputs, n_tensors, 0)) ||
      (st = check_indices(d, "intermediate", op->intermediates, op->n_intermediates, n_tensors,
                          0)))
    return st;
  op->builtin_options_type = fb_u8(t, TFLITE_OP_OPTIONS_TYPE, 0);
  op->builtin_options = fb_subtable(t, TFLITE_OP_OPTIONS);
  op->builtin_options2_type = fb_u8(t, TFLITE_OP_OPTIONS2_TYPE, 0);
  op->builtin_options2 = fb_subtable(t, TFLITE_OP_OPTIONS2);
  /* A value without its type is ignored by FlatBuffers: drop it so nobody reads it. */
  if (!op->builtin_options_type) op->builtin_options.buf = NULL;
  if (!op->builtin_options2_type) op->builtin_options2.buf = NULL;
  if ((st = check_subgraph_refs(d, 1, op->builtin_options_type, op->builtin_options)) ||
      (st = check_subgraph_refs(d, 2, op->builtin_options2_type, op->builtin_options2)))
    return st;
  return decode_custom_options(d, t, op);
}

/* --- subgraphs ----------------------------------------------------------------------- */

static tfl_status decode_tensors(tfl_decoder *d, int s, fb_table sg, tfl_model_subgraph *out) {
  fb_vector v = fb_vec(sg, TFLITE_SUBGRAPH_TENSORS);
  out->tensors = tfl_decode_alloc(d, v.len, sizeof(tfl_model_tensor));
  if (!out->tensors) return TFL_OUT_OF_MEMORY;
  out->n_tensors = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    fb_table t = fb_vec_table(sg, v, i);
    const char *name = fb_string(t, TFLITE_TENSOR_NAME, NULL);
    snprintf(d->where, sizeof(d->where), "subgraph %d tensor %u%s%.48s%s", s, i,
             name ? " ('" : "", name ? name : "", name ? "')" : "");
    tfl_status st = tfl_decode_tensor(d, t, out->n_tensors, &out->tensors[i]);
    if (st) return st;
  }
  return TFL_OK;
}

static tfl_status decode_ops(tfl_decoder *d, int s, fb_table sg, tfl_model_subgraph *out) {
  fb_vector v = fb_vec(sg, TFLITE_SUBGRAPH_OPERATORS);
  out->ops = tfl_decode_alloc(d, v.len, sizeof(tfl_model_op));
  if (!out->ops) return TFL_OUT_OF_MEMORY;
  out->n_ops = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    snprintf(d->where, sizeof(d->where), "subgraph %d operator %u", s, i);
    tfl_status st = decode_op(d, fb_vec_table(sg, v, i), out->n_tensors, &out->ops[i]);
    if (st) return st;
  }
  return TFL_OK;
}

static tfl_status decode_subgraph(tfl_decoder *d, int s, fb_table sg, tfl_model_subgraph *out) {
  tfl_status st;
  out->name = string_or_empty(sg, TFLITE_SUBGRAPH_NAME);
  if ((st = decode_tensors(d, s, sg, out))) return st;
  snprintf(d->where, sizeof(d->where), "subgraph %d", s);
  if ((st = tfl_decode_ivec(d, fb_vec(sg, TFLITE_SUBGRAPH_INPUTS), &out->inputs,
                            &out->n_inputs)) ||
      (st = tfl_decode_ivec(d, fb_vec(sg, TFLITE_SUBGRAPH_OUTPUTS), &out->outputs,
                            &out->n_outputs)) ||
      (st = check_indices(d, "input", out->inputs, out->n_inputs, out->n_tensors, 0)) ||
      (st = check_indices(d, "output", out->outputs, out->n_outputs, out->n_tensors, 0)))
    return st;
  return decode_ops(d, s, sg, out);
}

static tfl_status decode_subgraphs(tfl_decoder *d) {
  tfl_model *m = d->model;
  fb_vector v = fb_vec(d->root, TFLITE_MODEL_SUBGRAPHS);
  if (v.len == 0) return tfl_decode_fail(d, TFL_INVALID_MODEL, "the model has no subgraphs");
  m->subgraphs = tfl_decode_alloc(d, v.len, sizeof(tfl_model_subgraph));
  if (!m->subgraphs) return TFL_OUT_OF_MEMORY;
  m->n_subgraphs = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    tfl_status st = decode_subgraph(d, (int)i, fb_vec_table(d->root, v, i), &m->subgraphs[i]);
    if (st) return st;
  }
  d->where[0] = '\0';
  return TFL_OK;
}

/* --- signatures and metadata --------------------------------------------------------- */

static tfl_status decode_sig_io(tfl_decoder *d, fb_table sig, int field,
                                const tfl_model_subgraph *sg, tfl_model_sig_io **out, int *n) {
  fb_vector v = fb_vec(sig, field);
  *out = tfl_decode_alloc(d, v.len, sizeof(tfl_model_sig_io));
  if (!*out) return TFL_OUT_OF_MEMORY;
  *n = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    fb_table t = fb_vec_table(sig, v, i);
    tfl_model_sig_io *io = &(*out)[i];
    io->name = string_or_empty(t, TFLITE_TENSOR_MAP_NAME);
    io->tensor = fb_u32(t, TFLITE_TENSOR_MAP_TENSOR, 0);
    if (io->tensor >= (uint32_t)sg->n_tensors)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "%s '%s' is tensor %u, but the subgraph "
                             "has %d tensors", field == TFLITE_SIGNATURE_INPUTS ? "input" :
                             "output", io->name, io->tensor, sg->n_tensors);
  }
  return TFL_OK;
}

static tfl_status decode_signatures(tfl_decoder *d) {
  tfl_model *m = d->model;
  fb_vector v = fb_vec(d->root, TFLITE_MODEL_SIGNATURES);
  m->signatures = tfl_decode_alloc(d, v.len, sizeof(tfl_model_signature));
  if (!m->signatures) return TFL_OUT_OF_MEMORY;
  m->n_signatures = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    fb_table t = fb_vec_table(d->root, v, i);
    tfl_model_signature *sig = &m->signatures[i];
    tfl_status st;
    snprintf(d->where, sizeof(d->where), "signature %u", i);
    sig->key = fb_string(t, TFLITE_SIGNATURE_KEY, NULL);
    if (!sig->key) return tfl_decode_fail(d, TFL_INVALID_MODEL, "no signature key");
    sig->subgraph = fb_u32(t, TFLITE_SIGNATURE_SUBGRAPH, 0);
    if (sig->subgraph >= (uint32_t)m->n_subgraphs)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "'%s' refers to subgraph %u of %d",
                             sig->key, sig->subgraph, m->n_subgraphs);
    const tfl_model_subgraph *sg = &m->subgraphs[sig->subgraph];
    if ((st = decode_sig_io(d, t, TFLITE_SIGNATURE_INPUTS, sg, &sig->inputs, &sig->n_inputs)) ||
        (st = decode_sig_io(d, t, TFLITE_SIGNATURE_OUTPUTS, sg, &sig->outputs,
                            &sig->n_outputs)))
      return st;
  }
  d->where[0] = '\0';
  return TFL_OK;
}

static tfl_status decode_metadata(tfl_decoder *d) {
  tfl_model *m = d->model;
  fb_vector v = fb_vec(d->root, TFLITE_MODEL_METADATA);
  m->metadata = tfl_decode_alloc(d, v.len, sizeof(tfl_model_meta));
  if (!m->metadata) return TFL_OUT_OF_MEMORY;
  m->n_metadata = (int)v.len;
  for (uint32_t i = 0; i < v.len; i++) {
    fb_table t = fb_vec_table(d->root, v, i);
    tfl_model_meta *md = &m->metadata[i];
    md->name = string_or_empty(t, TFLITE_METADATA_NAME);
    uint32_t b = fb_u32(t, TFLITE_METADATA_BUFFER, 0);
    snprintf(d->where, sizeof(d->where), "metadata %u ('%.48s')", i, md->name);
    if (b >= d->buffers.len)
      return tfl_decode_fail(d, TFL_INVALID_MODEL, "buffer %u out of range (%u buffers)", b,
                             d->buffers.len);
    tfl_status st = tfl_decode_buffer(d, b, &md->data, &md->size);
    if (st) return st;
  }
  d->where[0] = '\0';
  return TFL_OK;
}

/* --- the model ----------------------------------------------------------------------- */

static tfl_status check_buffers(tfl_decoder *d) {
  d->buffers = fb_vec(d->root, TFLITE_MODEL_BUFFERS);
  if (d->buffers.len == 0) return TFL_OK; /* then every tensor must use buffer 0: no data */
  const uint8_t *data;
  size_t size;
  tfl_status st = tfl_decode_buffer(d, 0, &data, &size);
  if (st) return st;
  if (size)
    return tfl_decode_fail(d, TFL_INVALID_MODEL, "buffer 0 must be empty (it is the "
                           "sentinel of tensors without data) but holds %zu bytes", size);
  return TFL_OK;
}

tfl_status tfl_decode_model(tfl_decoder *d) {
  tfl_model *m = d->model;
  tfl_status st;
  d->where[0] = '\0';
  d->budget = (uint64_t)m->size + ((uint64_t)1 << 20);
  if (fb_verify(m->bytes, m->size, TFLITE_FILE_IDENTIFIER, &tflite_model_desc, &d->root,
                d->err, d->err_size))
    return TFL_INVALID_MODEL;
  m->version = fb_u32(d->root, TFLITE_MODEL_VERSION, 0);
  if (m->version != TFLITE_SCHEMA_VERSION)
    return tfl_decode_fail(d, TFL_UNSUPPORTED, "schema version %u is not supported (only "
                           "version %d)", m->version, TFLITE_SCHEMA_VERSION);
  m->description = string_or_empty(d->root, TFLITE_MODEL_DESCRIPTION);
  if ((st = check_buffers(d)) || (st = decode_opcodes(d)) || (st = decode_subgraphs(d)) ||
      (st = decode_signatures(d)) || (st = decode_metadata(d)))
    return st;
  return TFL_OK;
}
