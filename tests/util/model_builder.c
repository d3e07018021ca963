/* Builds TFLite schema v3 files (see model_builder.h). Leaf objects (strings, vectors, buffers,
 * options and quantization tables, signatures) go into the FlatBuffer as soon as they are
 * known; tensors, operators, operator codes and subgraphs are recorded as references to them
 * and become tables in mb_finish, because calls after their creation still change them.
 * Field numbers below are the field ids of the schema (a union takes two: type, value). */
#include "util/model_builder.h"

#include <stdlib.h>
#include <string.h>

#include "format/fb_builder.h"
#include "tfl/op.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "index arrays are written as int32 vectors");

typedef struct mb_array {
  void *items;
  int n, cap;
} mb_array;

typedef struct mb_tensor_rec {
  tfl_type type;
  int ndim;
  uint32_t buffer;
  int is_variable;
  fb_ref shape, name, quant, shape_signature;
} mb_tensor_rec;

typedef struct mb_op_rec {
  uint32_t opcode;
  uint8_t options_type, options2_type;
  fb_ref inputs, outputs, intermediates, options, options2, custom_options;
} mb_op_rec;

typedef struct mb_subgraph_rec {
  fb_ref name, inputs, outputs;
  mb_array tensors; /* mb_tensor_rec */
  mb_array ops;     /* mb_op_rec */
} mb_subgraph_rec;

typedef struct mb_opcode_rec {
  int32_t code;
  int32_t version;
  char *custom; /* owned; NULL for builtins */
} mb_opcode_rec;

struct mb_model {
  fb_builder fb; /* its sticky failure flag also records usage errors */
  mb_array subgraphs; /* mb_subgraph_rec; the last one is current */
  mb_array opcodes;   /* mb_opcode_rec */
  mb_array buffers;   /* fb_ref of Buffer tables */
  mb_array signatures;
  mb_array metadata;
  fb_ref description;
};

#define MB_AT(arr, type, i) (&((type *)(arr).items)[i])

static void mb_fail(mb_model *m) { m->fb.failed = 1; }

/* Appends a zeroed element; NULL when out of memory. */
static void *mb_append(mb_model *m, mb_array *a, size_t size) {
  if (a->n == a->cap) {
    int cap = a->cap ? 2 * a->cap : 8;
    void *items = realloc(a->items, (size_t)cap * size);
    if (!items) {
      mb_fail(m);
      return NULL;
    }
    a->items = items;
    a->cap = cap;
  }
  void *e = (char *)a->items + (size_t)a->n++ * size;
  memset(e, 0, size);
  return e;
}

static int mb_append_ref(mb_model *m, mb_array *a, fb_ref ref) {
  fb_ref *slot = mb_append(m, a, sizeof(*slot));
  if (!slot) return -1;
  *slot = ref;
  return a->n - 1;
}

static fb_ref mb_vec(mb_model *m, const void *p, int n, size_t elem_size) {
  if (n < 0) {
    mb_fail(m);
    return 0;
  }
  return fbb_vector(&m->fb, p, (size_t)n, elem_size, elem_size);
}

static fb_ref mb_ints(mb_model *m, const void *p, int n) { return mb_vec(m, p, n, 4); }

static mb_subgraph_rec *mb_current(mb_model *m) {
  return MB_AT(m->subgraphs, mb_subgraph_rec, m->subgraphs.n - 1);
}

static mb_tensor_rec *mb_tensor_at(mb_model *m, int tensor) {
  mb_subgraph_rec *sg = mb_current(m);
  if (tensor < 0 || tensor >= sg->tensors.n) {
    mb_fail(m);
    return NULL;
  }
  return MB_AT(sg->tensors, mb_tensor_rec, tensor);
}

static mb_op_rec *mb_op_at(mb_model *m, int op) {
  mb_subgraph_rec *sg = mb_current(m);
  if (op < 0 || op >= sg->ops.n) {
    mb_fail(m);
    return NULL;
  }
  return MB_AT(sg->ops, mb_op_rec, op);
}

/* Adds a Buffer holding a copy of data (its vector 16-byte aligned, as the schema's
 * force_align asks) and returns its index; NULL data gives a Buffer without data. */
static uint32_t mb_buffer(mb_model *m, const void *data, size_t size) {
  fb_ref bytes = data ? fbb_vector(&m->fb, data, size, 1, 16) : 0;
  fbb_start(&m->fb);
  fbb_add_ref(&m->fb, 0, bytes);
  int index = mb_append_ref(m, &m->buffers, fbb_end(&m->fb));
  return index < 0 ? 0 : (uint32_t)index;
}

mb_model *mb_new(void) {
  mb_model *m = calloc(1, sizeof(*m));
  if (!m) return NULL;
  fbb_init(&m->fb);
  mb_buffer(m, NULL, 0);
  mb_subgraph(m, NULL);
  if (m->fb.failed) {
    mb_free(m);
    return NULL;
  }
  return m;
}

void mb_free(mb_model *m) {
  if (!m) return;
  for (int i = 0; i < m->subgraphs.n; i++) {
    mb_subgraph_rec *sg = MB_AT(m->subgraphs, mb_subgraph_rec, i);
    free(sg->tensors.items);
    free(sg->ops.items);
  }
  for (int i = 0; i < m->opcodes.n; i++) free(MB_AT(m->opcodes, mb_opcode_rec, i)->custom);
  free(m->subgraphs.items);
  free(m->opcodes.items);
  free(m->buffers.items);
  free(m->signatures.items);
  free(m->metadata.items);
  fbb_free(&m->fb);
  free(m);
}

int mb_subgraph(mb_model *m, const char *name) {
  mb_subgraph_rec *sg = mb_append(m, &m->subgraphs, sizeof(*sg));
  if (!sg) return -1;
  sg->name = fbb_string(&m->fb, name);
  return m->subgraphs.n - 1;
}

int mb_tensor(mb_model *m, tfl_type type, int ndim, const int32_t *dims, const void *data,
              size_t bytes, const char *name) {
  mb_tensor_rec *t = mb_append(m, &mb_current(m)->tensors, sizeof(*t));
  if (!t) return -1;
  t->type = type;
  t->ndim = ndim;
  t->shape = mb_ints(m, dims, ndim);
  t->name = fbb_string(&m->fb, name);
  if (data) t->buffer = mb_buffer(m, data, bytes);
  return mb_current(m)->tensors.n - 1;
}

void mb_quant(mb_model *m, int tensor, int count, const float *scales,
              const int64_t *zero_points, int axis) {
  mb_tensor_rec *t = mb_tensor_at(m, tensor);
  if (!t || count < 1 || !scales) {
    mb_fail(m);
    return;
  }
  int64_t *zeros = zero_points ? NULL : calloc((size_t)count, sizeof(*zeros));
  if (!zero_points && !zeros) {
    mb_fail(m);
    return;
  }
  fb_ref scale = mb_vec(m, scales, count, 4);
  fb_ref zero_point = mb_vec(m, zero_points ? zero_points : zeros, count, 8);
  free(zeros);
  fbb_start(&m->fb);
  fbb_add_ref(&m->fb, 2, scale);
  fbb_add_ref(&m->fb, 3, zero_point);
  fbb_add_u32(&m->fb, 6, (uint32_t)axis);
  t->quant = fbb_end(&m->fb);
}

void mb_quant_blockwise(mb_model *m, int tensor, int scales, int zero_points, int block_size) {
  mb_tensor_rec *t = mb_tensor_at(m, tensor);
  if (!t) {
    mb_fail(m);
    return;
  }
  fb_ref details = 0;
  if (scales != MB_BLOCKWISE_NO_TABLE) {
    fbb_start(&m->fb);
    fbb_add_u32(&m->fb, 0, (uint32_t)scales);
    fbb_add_u32(&m->fb, 1, (uint32_t)zero_points);
    fbb_add_u32(&m->fb, 2, (uint32_t)block_size);
    details = fbb_end(&m->fb);
  }
  fbb_start(&m->fb);
  fbb_add_u8(&m->fb, 4, 2); /* QuantizationDetails: BlockwiseQuantization */
  fbb_add_ref(&m->fb, 5, details);
  t->quant = fbb_end(&m->fb);
}

void mb_variable(mb_model *m, int tensor) {
  mb_tensor_rec *t = mb_tensor_at(m, tensor);
  if (t) t->is_variable = 1;
}

void mb_shape_signature(mb_model *m, int tensor, const int32_t *sig) {
  mb_tensor_rec *t = mb_tensor_at(m, tensor);
  if (t) t->shape_signature = mb_ints(m, sig, t->ndim);
}

void mb_inputs(mb_model *m, int n, const int *tensors) {
  mb_current(m)->inputs = mb_ints(m, tensors, n);
}

void mb_outputs(mb_model *m, int n, const int *tensors) {
  mb_current(m)->outputs = mb_ints(m, tensors, n);
}

/* The index of the operator code (code, version, custom), added if new. */
static uint32_t mb_opcode(mb_model *m, int code, int version, const char *custom) {
  for (int i = 0; i < m->opcodes.n; i++) {
    const mb_opcode_rec *c = MB_AT(m->opcodes, mb_opcode_rec, i);
    int same_custom = custom ? c->custom && strcmp(c->custom, custom) == 0 : !c->custom;
    if (c->code == code && c->version == version && same_custom) return (uint32_t)i;
  }
  mb_opcode_rec *c = mb_append(m, &m->opcodes, sizeof(*c));
  if (!c) return 0;
  c->code = code;
  c->version = version;
  if (custom) {
    c->custom = malloc(strlen(custom) + 1);
    if (c->custom) strcpy(c->custom, custom);
    else mb_fail(m);
  }
  return (uint32_t)(m->opcodes.n - 1);
}

/* Strings and vectors must exist before the options table opens. */
static fb_ref mb_field_object(mb_model *m, const mb_field *f) {
  switch (f->kind) {
    case MB_VEC_I32: return mb_ints(m, f->vec, f->n);
    case MB_VEC_F32: return mb_vec(m, f->fvec, f->n, 4);
    case MB_STRING: return fbb_string(&m->fb, f->str);
    default: return 0;
  }
}

static void mb_add_field(mb_model *m, const mb_field *f, fb_ref object) {
  fb_builder *b = &m->fb;
  switch (f->kind) {
    case MB_BOOL:
    case MB_I8: fbb_add_u8(b, f->field, (uint8_t)f->i); break;
    case MB_I16: fbb_add_u16(b, f->field, (uint16_t)f->i); break;
    case MB_I32: fbb_add_u32(b, f->field, (uint32_t)f->i); break;
    case MB_I64: fbb_add_u64(b, f->field, (uint64_t)f->i); break;
    case MB_F32: fbb_add_f32(b, f->field, (float)f->f); break;
    case MB_VEC_I32:
    case MB_VEC_F32:
    case MB_STRING: fbb_add_ref(b, f->field, object); break;
    default: mb_fail(m); break;
  }
}

static fb_ref mb_options(mb_model *m, const mb_field *fields) {
  int n = 0;
  while (fields && fields[n].kind != MB_END) n++;
  fb_ref *objects = calloc(n ? (size_t)n : 1, sizeof(*objects));
  if (!objects) {
    mb_fail(m);
    return 0;
  }
  for (int i = 0; i < n; i++) objects[i] = mb_field_object(m, &fields[i]);
  fbb_start(&m->fb);
  for (int i = 0; i < n; i++) mb_add_field(m, &fields[i], objects[i]);
  free(objects);
  return fbb_end(&m->fb);
}

static mb_op_rec *mb_new_op(mb_model *m, uint32_t opcode, int n_in, const int *in, int n_out,
                            const int *out) {
  mb_op_rec *op = mb_append(m, &mb_current(m)->ops, sizeof(*op));
  if (!op) return NULL;
  op->opcode = opcode;
  op->inputs = mb_ints(m, in, n_in);
  op->outputs = mb_ints(m, out, n_out);
  return op;
}

int mb_op(mb_model *m, int builtin_code, int version, int n_in, const int *in, int n_out,
          const int *out, int options_type, const mb_field *fields) {
  mb_op_rec *op = mb_new_op(m, mb_opcode(m, builtin_code, version, NULL), n_in, in, n_out, out);
  if (!op) return -1;
  op->options_type = (uint8_t)options_type;
  if (options_type) op->options = mb_options(m, fields);
  return mb_current(m)->ops.n - 1;
}

int mb_custom_op(mb_model *m, const char *custom_code, int n_in, const int *in, int n_out,
                 const int *out, const void *custom_options, size_t custom_options_size) {
  uint32_t opcode = mb_opcode(m, TFL_BUILTIN_CUSTOM, 1, custom_code);
  mb_op_rec *op = mb_new_op(m, opcode, n_in, in, n_out, out);
  if (!op) return -1;
  if (custom_options)
    op->custom_options = fbb_vector(&m->fb, custom_options, custom_options_size, 1, 1);
  return mb_current(m)->ops.n - 1;
}

void mb_op_options2(mb_model *m, int op, int options2_type, const mb_field *fields) {
  mb_op_rec *o = mb_op_at(m, op);
  if (!o) return;
  o->options2_type = (uint8_t)options2_type;
  o->options2 = mb_options(m, fields);
}

void mb_op_intermediates(mb_model *m, int op, int n, const int *tensors) {
  mb_op_rec *o = mb_op_at(m, op);
  if (o) o->intermediates = mb_ints(m, tensors, n);
}

/* A vector of TensorMap tables. */
static fb_ref mb_tensor_maps(mb_model *m, int n, const char *const *names, const int *tensors) {
  if (n < 0 || (n && (!names || !tensors))) {
    mb_fail(m);
    return 0;
  }
  fb_ref *maps = calloc(n ? (size_t)n : 1, sizeof(*maps));
  if (!maps) {
    mb_fail(m);
    return 0;
  }
  for (int i = 0; i < n; i++) {
    fb_ref name = fbb_string(&m->fb, names[i]);
    fbb_start(&m->fb);
    fbb_add_ref(&m->fb, 0, name);
    fbb_add_u32(&m->fb, 1, (uint32_t)tensors[i]);
    maps[i] = fbb_end(&m->fb);
  }
  fb_ref v = fbb_refs(&m->fb, maps, (size_t)n);
  free(maps);
  return v;
}

void mb_signature(mb_model *m, const char *key, int subgraph, int n_in,
                  const char *const *in_names, const int *in_tensors, int n_out,
                  const char *const *out_names, const int *out_tensors) {
  fb_ref inputs = mb_tensor_maps(m, n_in, in_names, in_tensors);
  fb_ref outputs = mb_tensor_maps(m, n_out, out_names, out_tensors);
  fb_ref k = fbb_string(&m->fb, key);
  fbb_start(&m->fb);
  fbb_add_ref(&m->fb, 0, inputs);
  fbb_add_ref(&m->fb, 1, outputs);
  fbb_add_ref(&m->fb, 2, k);
  fbb_add_u32(&m->fb, 4, (uint32_t)subgraph);
  mb_append_ref(m, &m->signatures, fbb_end(&m->fb));
}

void mb_description(mb_model *m, const char *text) {
  m->description = fbb_string(&m->fb, text);
}

void mb_metadata(mb_model *m, const char *name, const void *data, size_t size) {
  uint32_t buffer = mb_buffer(m, data, size);
  fb_ref n = fbb_string(&m->fb, name);
  fbb_start(&m->fb);
  fbb_add_ref(&m->fb, 0, n);
  fbb_add_u32(&m->fb, 1, buffer);
  mb_append_ref(m, &m->metadata, fbb_end(&m->fb));
}

/* --- serialization of the recorded tables --------------------------------------------- */

typedef fb_ref (*mb_table_fn)(mb_model *m, const void *rec);

/* A vector of the tables that `fn` builds from each record of `a`. */
static fb_ref mb_tables(mb_model *m, const mb_array *a, size_t size, mb_table_fn fn) {
  fb_ref *refs = calloc(a->n ? (size_t)a->n : 1, sizeof(*refs));
  if (!refs) {
    mb_fail(m);
    return 0;
  }
  for (int i = 0; i < a->n; i++) refs[i] = fn(m, (const char *)a->items + (size_t)i * size);
  fb_ref v = fbb_refs(&m->fb, refs, (size_t)a->n);
  free(refs);
  return v;
}

static fb_ref mb_refs(mb_model *m, const mb_array *a) {
  return fbb_refs(&m->fb, a->items, (size_t)a->n);
}

static fb_ref mb_tensor_table(mb_model *m, const void *rec) {
  const mb_tensor_rec *t = rec;
  fb_builder *b = &m->fb;
  fbb_start(b);
  fbb_add_ref(b, 0, t->shape);
  fbb_add_u8(b, 1, (uint8_t)t->type);
  fbb_add_u32(b, 2, t->buffer);
  fbb_add_ref(b, 3, t->name);
  fbb_add_ref(b, 4, t->quant);
  if (t->is_variable) fbb_add_u8(b, 5, 1);
  fbb_add_ref(b, 7, t->shape_signature);
  return fbb_end(b);
}

static fb_ref mb_op_table(mb_model *m, const void *rec) {
  const mb_op_rec *op = rec;
  fb_builder *b = &m->fb;
  fbb_start(b);
  fbb_add_u32(b, 0, op->opcode);
  fbb_add_ref(b, 1, op->inputs);
  fbb_add_ref(b, 2, op->outputs);
  if (op->options_type) {
    fbb_add_u8(b, 3, op->options_type);
    fbb_add_ref(b, 4, op->options);
  }
  fbb_add_ref(b, 5, op->custom_options);
  fbb_add_ref(b, 8, op->intermediates);
  if (op->options2_type) {
    fbb_add_u8(b, 11, op->options2_type);
    fbb_add_ref(b, 12, op->options2);
  }
  return fbb_end(b);
}

static fb_ref mb_opcode_table(mb_model *m, const void *rec) {
  const mb_opcode_rec *c = rec;
  fb_builder *b = &m->fb;
  fb_ref custom = fbb_string(b, c->custom);
  fbb_start(b);
  /* readers take the larger of the two codes; old ones know only the byte */
  fbb_add_u8(b, 0, (uint8_t)(c->code < 127 ? c->code : 127));
  fbb_add_ref(b, 1, custom);
  fbb_add_u32(b, 2, (uint32_t)c->version);
  fbb_add_u32(b, 3, (uint32_t)c->code);
  return fbb_end(b);
}

static fb_ref mb_subgraph_table(mb_model *m, const void *rec) {
  const mb_subgraph_rec *sg = rec;
  fb_ref tensors = mb_tables(m, &sg->tensors, sizeof(mb_tensor_rec), mb_tensor_table);
  fb_ref ops = mb_tables(m, &sg->ops, sizeof(mb_op_rec), mb_op_table);
  fb_ref inputs = sg->inputs ? sg->inputs : mb_ints(m, NULL, 0);
  fb_ref outputs = sg->outputs ? sg->outputs : mb_ints(m, NULL, 0);
  fb_builder *b = &m->fb;
  fbb_start(b);
  fbb_add_ref(b, 0, tensors);
  fbb_add_ref(b, 1, inputs);
  fbb_add_ref(b, 2, outputs);
  fbb_add_ref(b, 3, ops);
  fbb_add_ref(b, 4, sg->name);
  return fbb_end(b);
}

uint8_t *mb_finish(mb_model *m, size_t *size) {
  fb_ref opcodes = mb_tables(m, &m->opcodes, sizeof(mb_opcode_rec), mb_opcode_table);
  fb_ref subgraphs = mb_tables(m, &m->subgraphs, sizeof(mb_subgraph_rec), mb_subgraph_table);
  fb_ref buffers = mb_refs(m, &m->buffers);
  fb_ref metadata = m->metadata.n ? mb_refs(m, &m->metadata) : 0;
  fb_ref signatures = m->signatures.n ? mb_refs(m, &m->signatures) : 0;
  fb_builder *b = &m->fb;
  fbb_start(b);
  fbb_add_u32(b, 0, 3); /* schema version */
  fbb_add_ref(b, 1, opcodes);
  fbb_add_ref(b, 2, subgraphs);
  fbb_add_ref(b, 3, m->description);
  fbb_add_ref(b, 4, buffers);
  fbb_add_ref(b, 6, metadata);
  fbb_add_ref(b, 7, signatures);
  return fbb_finish(b, fbb_end(b), "TFL3", size);
}
