/* tfl inspect: what a model contains and what tfl makes of it.
 *
 * The command first gathers everything into an inspect_report, then prints it as text or as
 * JSON; --tensors and --plan add sections to either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json.h"

enum { OPT_JSON, OPT_TENSORS, OPT_PLAN };

static const cli_option k_options[] = {
    {"--json", NULL, "print everything as one JSON object"},
    {"--tensors", NULL, "list every tensor of subgraph 0 (type, shape, quantization, bytes)"},
    {"--plan", NULL, "show the memory plan: storage, arena offset, size and lifetime per tensor"},
    {NULL, NULL, NULL},
};

/* Nodes of one op kind, over all subgraphs. */
typedef struct op_stat {
  const char *name; /* builtin name, or the custom code */
  int32_t builtin_code;
  int count;
  int unsupported; /* nodes tfl has no kernel for (their version may be the reason) */
} op_stat;

/* One tensor of subgraph 0. */
typedef struct tensor_row {
  int index;
  tfl_tensor_info info;
  size_t bytes;
  tfl_tensor_plan plan; /* when the interpreter could allocate */
} tensor_row;

/* Figures that tell how good the arena plan is. */
typedef struct plan_summary {
  size_t pair_bytes; /* the two largest arena tensors alive at the same time */
  int pair[2];       /* their indices (-1 when absent) */
  size_t peak_live;  /* the most bytes of arena tensors alive at one node */
  int peak_node;
} plan_summary;

typedef struct inspect_report {
  const char *path;
  int json, tensors_wanted, plan_wanted;
  tfl_model *model;
  op_stat *ops;
  int n_ops;
  int total_ops;
  tfl_interpreter *interp; /* NULL when it could not be created */
  tfl_status status;       /* of creating the interpreter and allocating its tensors */
  char error[1024];
  size_t arena_bytes;
  tensor_row *tensors;
  int n_tensors;
  plan_summary summary;
} inspect_report;

static const char *const k_memory_kinds[] = {"none",       "constant", "arena",
                                             "persistent", "dynamic",  "variable"};

/* --- gathering ------------------------------------------------------------------------- */

static op_stat *find_or_add(inspect_report *r, const tfl_op_info *op) {
  for (int i = 0; i < r->n_ops; i++)
    if (r->ops[i].builtin_code == op->builtin_code && strcmp(r->ops[i].name, op->name) == 0)
      return &r->ops[i];
  op_stat *s = &r->ops[r->n_ops++];
  s->name = op->name;
  s->builtin_code = op->builtin_code;
  return s;
}

static int by_count_then_name(const void *a, const void *b) {
  const op_stat *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int gather_ops(inspect_report *r) {
  int n_subgraphs = tfl_model_subgraph_count(r->model);
  for (int sg = 0; sg < n_subgraphs; sg++) r->total_ops += tfl_model_op_count(r->model, sg);
  r->ops = calloc((size_t)r->total_ops + 1, sizeof *r->ops);
  if (!r->ops) return 0;
  for (int sg = 0; sg < n_subgraphs; sg++) {
    for (int i = 0; i < tfl_model_op_count(r->model, sg); i++) {
      tfl_op_info op;
      if (tfl_model_op_info(r->model, sg, i, &op) != TFL_OK) continue;
      op_stat *s = find_or_add(r, &op);
      s->count++;
      if (!tfl_op_supported(NULL, op.builtin_code, op.name, op.version)) s->unsupported++;
    }
  }
  qsort(r->ops, (size_t)r->n_ops, sizeof *r->ops, by_count_then_name);
  return 1;
}

static void gather_plan(inspect_report *r) {
  r->status = tfl_interpreter_create(r->model, NULL, &r->interp, r->error, sizeof r->error);
  if (r->status != TFL_OK) {
    if (!r->error[0]) snprintf(r->error, sizeof r->error, "%s", tfl_status_string(r->status));
    return;
  }
  r->status = tfl_interpreter_allocate_tensors(r->interp);
  if (r->status != TFL_OK) {
    snprintf(r->error, sizeof r->error, "%s", tool_interp_error(r->interp, r->status));
    return;
  }
  r->arena_bytes = tfl_interpreter_arena_size(r->interp);
}

/* The allocated size when the interpreter has one, else what the model says. */
static size_t tensor_bytes(const inspect_report *r, int i, const tfl_tensor_info *info) {
  if (r->status == TFL_OK)
    return tfl_tensor_byte_size(tfl_interpreter_tensor(r->interp, i));
  if (info->is_constant) return info->data_bytes;
  size_t n = tfl_type_size(info->type);
  for (int d = 0; d < info->ndim; d++) n *= info->shape[d] > 0 ? (size_t)info->shape[d] : 0;
  return n;
}

static int gather_tensors(inspect_report *r) {
  int n = tfl_model_tensor_count(r->model, 0);
  r->tensors = calloc((size_t)n + 1, sizeof *r->tensors);
  if (!r->tensors) return 0;
  for (int i = 0; i < n; i++) {
    tensor_row *row = &r->tensors[r->n_tensors];
    if (tfl_model_tensor_info(r->model, 0, i, &row->info) != TFL_OK) continue;
    row->index = i;
    row->bytes = tensor_bytes(r, i, &row->info);
    if (r->status != TFL_OK || tfl_interpreter_tensor_plan(r->interp, i, &row->plan) != TFL_OK)
      row->plan = (tfl_tensor_plan){TFL_MEMORY_NONE, 0, row->bytes, -1, -1};
    r->n_tensors++;
  }
  return 1;
}

static int in_arena(const tensor_row *t) { return t->plan.kind == TFL_MEMORY_ARENA; }

static int overlap(const tfl_tensor_plan *a, const tfl_tensor_plan *b) {
  return a->first_node <= b->last_node && b->first_node <= a->last_node;
}

/* The largest arena tensor alone, as the pair's first member. */
static void find_largest(inspect_report *r) {
  plan_summary *s = &r->summary;
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *t = &r->tensors[i];
    if (in_arena(t) && t->plan.bytes > s->pair_bytes) {
      s->pair_bytes = t->plan.bytes;
      s->pair[0] = t->index;
    }
  }
}

/* A lower bound for any arena: it must hold these two at once. */
static void find_largest_pair(inspect_report *r) {
  plan_summary *s = &r->summary;
  s->pair[0] = s->pair[1] = -1;
  find_largest(r);
  size_t best = 0;
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *a = &r->tensors[i];
    for (int j = i + 1; in_arena(a) && j < r->n_tensors; j++) {
      const tensor_row *b = &r->tensors[j];
      if (!in_arena(b) || !overlap(&a->plan, &b->plan) || a->plan.bytes + b->plan.bytes <= best)
        continue;
      best = a->plan.bytes + b->plan.bytes;
      s->pair_bytes = best;
      s->pair[0] = a->index;
      s->pair[1] = b->index;
    }
  }
}

/* A tighter lower bound: the arena tensors alive at the busiest node. */
static void find_peak_live(inspect_report *r) {
  int n_nodes = tfl_interpreter_node_count(r->interp);
  for (int node = 0; node <= n_nodes; node++) {
    size_t live = 0;
    for (int i = 0; i < r->n_tensors; i++) {
      const tfl_tensor_plan *p = &r->tensors[i].plan;
      if (in_arena(&r->tensors[i]) && p->first_node <= node && node <= p->last_node)
        live += p->bytes;
    }
    if (live > r->summary.peak_live) {
      r->summary.peak_live = live;
      r->summary.peak_node = node;
    }
  }
}

static int gather(inspect_report *r) {
  if (!gather_ops(r)) return 0;
  gather_plan(r);
  if (!gather_tensors(r)) return 0;
  if (r->status == TFL_OK) {
    find_largest_pair(r);
    find_peak_live(r);
  }
  return 1;
}

/* --- text output ----------------------------------------------------------------------- */

static void print_dims(FILE *out, int ndim, const int32_t *dims) {
  char buf[TFL_MAX_DIMS * 12 + 3];
  tool_format_dims(buf, sizeof buf, ndim, dims);
  fputs(buf, out);
}

static int is_dynamic(const tfl_tensor_info *t) {
  for (int i = 0; t->shape_signature && i < t->ndim; i++)
    if (t->shape_signature[i] < 0) return 1;
  return 0;
}

/* "blockwise (block 32, scales tensor 3[, zero points tensor 4])", or "(no parameters)" when
 * the model names the kind only. */
static void format_blocks(char *buf, size_t size, const char *kind, const tfl_quantization *q) {
  if (q->scales_tensor < 0) {
    snprintf(buf, size, "%s (no parameters)", kind);
    return;
  }
  int n = snprintf(buf, size, "%s (block %ld, scales tensor %ld", kind, (long)q->block_size,
                   (long)q->scales_tensor);
  if (n < 0 || (size_t)n >= size) return;
  if (q->zero_points_tensor >= 0)
    snprintf(buf + n, size - (size_t)n, ", zero points tensor %ld)", (long)q->zero_points_tensor);
  else
    snprintf(buf + n, size - (size_t)n, ")");
}

/* "scale 0.5 zero_point 3", "per-channel (32 scales, axis 3)", a blockwise or multi-axis
 * description (format_blocks), "custom", or "" when the tensor is not quantized. */
static void format_quantization(char *buf, size_t size, const tfl_quantization *q) {
  buf[0] = '\0';
  switch (q->kind) {
    case TFL_QUANT_BLOCKWISE: format_blocks(buf, size, "blockwise", q); return;
    case TFL_QUANT_MULTI_AXIS: format_blocks(buf, size, "multi-axis", q); return;
    case TFL_QUANT_CUSTOM: snprintf(buf, size, "custom"); return;
    default: break;
  }
  if (q->count == 1)
    snprintf(buf, size, "scale %.9g zero_point %ld", (double)q->scale[0], (long)q->zero_point[0]);
  else if (q->count > 1)
    snprintf(buf, size, "per-channel (%d scales, axis %d)", q->count, q->axis);
}

static void print_io(FILE *out, const inspect_report *r, const char *title, int n,
                     int32_t (*tensor_of)(const tfl_model *, int, int)) {
  fprintf(out, "%s: %d\n", title, n);
  for (int i = 0; i < n; i++) {
    int32_t index = tensor_of(r->model, 0, i);
    tfl_tensor_info t;
    fprintf(out, "  %d: tensor %ld ", i, (long)index);
    if (tfl_model_tensor_info(r->model, 0, index, &t) != TFL_OK) {
      fprintf(out, "(invalid)\n");
      continue;
    }
    cli_print_quoted(out, t.name);
    fprintf(out, " %s ", tfl_type_name(t.type));
    print_dims(out, t.ndim, t.shape);
    if (is_dynamic(&t)) {
      fprintf(out, " shape_signature ");
      print_dims(out, t.ndim, t.shape_signature);
    }
    char quant[96];
    format_quantization(quant, sizeof quant, &t.quantization);
    if (quant[0]) fprintf(out, " %s", quant);
    fputc('\n', out);
  }
}

static void print_ops(FILE *out, const inspect_report *r) {
  fprintf(out, "ops: %d", r->total_ops);
  if (tfl_model_subgraph_count(r->model) > 1)
    fprintf(out, " in %d subgraphs", tfl_model_subgraph_count(r->model));
  fputc('\n', out);
  for (int i = 0; i < r->n_ops; i++) {
    const op_stat *s = &r->ops[i];
    fputs("  ", out);
    cli_print_escaped(out, s->name, 32);
    fprintf(out, " %5d", s->count);
    if (s->builtin_code == TFL_BUILTIN_CUSTOM) fprintf(out, "  custom");
    if (s->unsupported) fprintf(out, "  unsupported");
    fputc('\n', out);
  }
}

static void print_unsupported(FILE *out, const inspect_report *r) {
  int first = 1;
  for (int i = 0; i < r->n_ops; i++) {
    if (!r->ops[i].unsupported) continue;
    fputs(first ? "unsupported ops: " : ", ", out);
    cli_print_escaped(out, r->ops[i].name, 0);
    first = 0;
  }
  if (!first) fputc('\n', out);
}

typedef tfl_status (*sig_io_fn)(const tfl_model *, int, int, const char **, int32_t *);

static void print_sig_names(FILE *out, const tfl_model *model, int sig, int n, sig_io_fn io) {
  fputc('(', out);
  for (int i = 0; i < n; i++) {
    const char *name = "?";
    int32_t tensor;
    io(model, sig, i, &name, &tensor);
    if (i) fputs(", ", out);
    cli_print_quoted(out, name);
  }
  fputc(')', out);
}

static void print_signatures(FILE *out, const inspect_report *r) {
  int n = tfl_model_signature_count(r->model);
  fprintf(out, "signatures: %d\n", n);
  for (int i = 0; i < n; i++) {
    fprintf(out, "  ");
    cli_print_quoted(out, tfl_model_signature_key(r->model, i));
    fprintf(out, " inputs ");
    print_sig_names(out, r->model, i, tfl_model_signature_input_count(r->model, i),
                    tfl_model_signature_input);
    fprintf(out, " outputs ");
    print_sig_names(out, r->model, i, tfl_model_signature_output_count(r->model, i),
                    tfl_model_signature_output);
    fputc('\n', out);
  }
}

static void print_tensors(FILE *out, const inspect_report *r) {
  fprintf(out, "tensors: %d in subgraph 0\n", r->n_tensors);
  fprintf(out, "  %5s  %-8s %-20s %12s  %-5s  %-32s %s\n", "index", "type", "shape", "bytes",
          "const", "quantization", "name");
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *t = &r->tensors[i];
    char dims[TFL_MAX_DIMS * 12 + 3], quant[96];
    tool_format_dims(dims, sizeof dims, t->info.ndim, t->info.shape);
    format_quantization(quant, sizeof quant, &t->info.quantization);
    fprintf(out, "  %5d  %-8s %-20s %12zu  %-5s  %-32s ", t->index, tfl_type_name(t->info.type),
            dims, t->bytes, t->info.is_constant ? "yes" : "no", quant[0] ? quant : "-");
    cli_print_quoted(out, t->info.name);
    fputc('\n', out);
  }
}

/* Arena tensors by offset first, then the others by storage kind and index. */
static int by_placement(const void *a, const void *b) {
  const tensor_row *x = a, *y = b;
  if (in_arena(x) != in_arena(y)) return in_arena(x) ? -1 : 1;
  if (in_arena(x) && x->plan.offset != y->plan.offset)
    return x->plan.offset < y->plan.offset ? -1 : 1;
  if (x->plan.kind != y->plan.kind) return x->plan.kind < y->plan.kind ? -1 : 1;
  return x->index - y->index;
}

static void format_lifetime(char *buf, size_t size, const tfl_tensor_plan *p, int n_nodes) {
  if (p->first_node < 0) {
    snprintf(buf, size, "-");
    return;
  }
  if (p->last_node >= n_nodes)
    snprintf(buf, size, "%d..end", p->first_node);
  else
    snprintf(buf, size, "%d..%d", p->first_node, p->last_node);
}

static void print_plan_rows(FILE *out, const inspect_report *r, const tensor_row *sorted) {
  int n_nodes = tfl_interpreter_node_count(r->interp);
  fprintf(out, "  %12s %12s  %-12s %-10s %6s  %s\n", "offset", "bytes", "lifetime", "storage",
          "tensor", "name");
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *t = &sorted[i];
    char offset[24] = "-", lifetime[32];
    if (in_arena(t)) snprintf(offset, sizeof offset, "%zu", t->plan.offset);
    format_lifetime(lifetime, sizeof lifetime, &t->plan, n_nodes);
    fprintf(out, "  %12s %12zu  %-12s %-10s %6d  ", offset, t->plan.bytes, lifetime,
            k_memory_kinds[t->plan.kind], t->index);
    cli_print_quoted(out, t->info.name);
    fputc('\n', out);
  }
}

static void print_plan(FILE *out, const inspect_report *r) {
  if (r->status != TFL_OK) {
    fprintf(out, "memory plan: unknown (%s)\n", r->error);
    return;
  }
  tensor_row *sorted = malloc(((size_t)r->n_tensors + 1) * sizeof *sorted);
  if (!sorted) return;
  memcpy(sorted, r->tensors, (size_t)r->n_tensors * sizeof *sorted);
  qsort(sorted, (size_t)r->n_tensors, sizeof *sorted, by_placement);
  fprintf(out, "memory plan of subgraph 0 (lifetimes in node indices, end = after the last node; "
               "the arena also holds kernel scratch):\n");
  print_plan_rows(out, r, sorted);
  free(sorted);
  const plan_summary *s = &r->summary;
  fprintf(out, "largest live pair: %zu bytes (tensors %d and %d)", s->pair_bytes, s->pair[0],
          s->pair[1]);
  if (s->pair_bytes) fprintf(out, "; arena / pair = %.2f", (double)r->arena_bytes / s->pair_bytes);
  fprintf(out, "\nlargest live set: %zu bytes at node %d\n", s->peak_live, s->peak_node);
}

static void print_text(FILE *out, const inspect_report *r) {
  fprintf(out, "model: %s\nschema version: %lu\ndescription: ", r->path,
          (unsigned long)tfl_model_schema_version(r->model));
  cli_print_quoted(out, tfl_model_description(r->model));
  fprintf(out, "\nsubgraphs: %d\nsubgraph 0: ", tfl_model_subgraph_count(r->model));
  cli_print_quoted(out, tfl_model_subgraph_name(r->model, 0));
  fprintf(out, ", %d tensors, %d ops\n", tfl_model_tensor_count(r->model, 0),
          tfl_model_op_count(r->model, 0));
  print_io(out, r, "inputs", tfl_model_input_count(r->model, 0), tfl_model_input);
  print_io(out, r, "outputs", tfl_model_output_count(r->model, 0), tfl_model_output);
  print_ops(out, r);
  print_signatures(out, r);
  if (r->tensors_wanted) print_tensors(out, r);
  if (r->plan_wanted) print_plan(out, r);
  if (r->status == TFL_OK) {
    fprintf(out, "arena: %zu bytes\n", r->arena_bytes);
    return;
  }
  print_unsupported(out, r);
  fprintf(out, "arena: unknown (%s)\n", r->error);
}

/* --- JSON output ----------------------------------------------------------------------- */

static const char *const k_quant_kinds[] = {"none", "affine", "blockwise", "multi_axis",
                                            "custom"};

/* A tensor index, or null for -1 (none). */
static void json_tensor_ref(json_writer *w, const char *key, int32_t tensor) {
  if (tensor < 0)
    json_null(w, key);
  else
    json_int(w, key, tensor);
}

static void json_quantization(json_writer *w, const tfl_quantization *q) {
  if (q->kind == TFL_QUANT_NONE) {
    json_null(w, "quantization");
    return;
  }
  json_begin_object(w, "quantization");
  const int known = q->kind > 0 && (size_t)q->kind < sizeof k_quant_kinds / sizeof *k_quant_kinds;
  json_string(w, "kind", known ? k_quant_kinds[q->kind] : "unknown");
  json_begin_array(w, "scale");
  for (int c = 0; c < q->count; c++) json_number(w, NULL, q->scale[c]);
  json_end_array(w);
  json_begin_array(w, "zero_point");
  for (int c = 0; c < q->count; c++) json_int(w, NULL, (long long)q->zero_point[c]);
  json_end_array(w);
  json_int(w, "axis", q->axis);
  if (q->kind == TFL_QUANT_BLOCKWISE || q->kind == TFL_QUANT_MULTI_AXIS) {
    json_int(w, "block_size", q->block_size);
    json_tensor_ref(w, "scales_tensor", q->scales_tensor);
    json_tensor_ref(w, "zero_points_tensor", q->zero_points_tensor);
  }
  json_end_object(w);
}

static void json_tensor_fields(json_writer *w, const tfl_tensor_info *t) {
  json_string(w, "name", t->name);
  json_string(w, "type", tfl_type_name(t->type));
  json_int_array(w, "shape", t->ndim, t->shape);
  if (t->shape_signature)
    json_int_array(w, "shape_signature", t->ndim, t->shape_signature);
  else
    json_null(w, "shape_signature");
  json_quantization(w, &t->quantization);
}

static void json_io(json_writer *w, const inspect_report *r, const char *key, int n,
                    int32_t (*tensor_of)(const tfl_model *, int, int)) {
  json_begin_array(w, key);
  for (int i = 0; i < n; i++) {
    int32_t index = tensor_of(r->model, 0, i);
    tfl_tensor_info t;
    json_begin_object(w, NULL);
    json_int(w, "tensor", index);
    if (tfl_model_tensor_info(r->model, 0, index, &t) == TFL_OK) json_tensor_fields(w, &t);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_ops(json_writer *w, const inspect_report *r) {
  json_int(w, "op_count", r->total_ops);
  json_begin_array(w, "ops");
  for (int i = 0; i < r->n_ops; i++) {
    const op_stat *s = &r->ops[i];
    json_begin_object(w, NULL);
    json_string(w, "name", s->name);
    json_int(w, "builtin_code", s->builtin_code);
    json_int(w, "count", s->count);
    json_bool(w, "custom", s->builtin_code == TFL_BUILTIN_CUSTOM);
    json_bool(w, "supported", !s->unsupported);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_sig_io(json_writer *w, const char *key, const tfl_model *model, int sig, int n,
                        sig_io_fn io) {
  json_begin_array(w, key);
  for (int i = 0; i < n; i++) {
    const char *name = NULL;
    int32_t tensor = -1;
    io(model, sig, i, &name, &tensor);
    json_begin_object(w, NULL);
    json_string(w, "name", name);
    json_int(w, "tensor", tensor);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_signatures(json_writer *w, const inspect_report *r) {
  json_begin_array(w, "signatures");
  for (int i = 0; i < tfl_model_signature_count(r->model); i++) {
    json_begin_object(w, NULL);
    json_string(w, "key", tfl_model_signature_key(r->model, i));
    json_int(w, "subgraph", tfl_model_signature_subgraph(r->model, i));
    json_sig_io(w, "inputs", r->model, i, tfl_model_signature_input_count(r->model, i),
                tfl_model_signature_input);
    json_sig_io(w, "outputs", r->model, i, tfl_model_signature_output_count(r->model, i),
                tfl_model_signature_output);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_tensors(json_writer *w, const inspect_report *r) {
  json_begin_array(w, "tensors");
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *t = &r->tensors[i];
    json_begin_object(w, NULL);
    json_int(w, "index", t->index);
    json_tensor_fields(w, &t->info);
    json_bool(w, "constant", t->info.is_constant);
    json_bool(w, "variable", t->info.is_variable);
    json_size(w, "bytes", t->bytes);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_plan(json_writer *w, const inspect_report *r) {
  if (r->status != TFL_OK) {
    json_null(w, "plan");
    return;
  }
  const plan_summary *s = &r->summary;
  json_begin_object(w, "plan");
  json_size(w, "arena_bytes", r->arena_bytes);
  json_size(w, "largest_live_pair_bytes", s->pair_bytes);
  json_int_array(w, "largest_live_pair", 2, (const int32_t[]){s->pair[0], s->pair[1]});
  json_size(w, "largest_live_set_bytes", s->peak_live);
  json_int(w, "largest_live_set_node", s->peak_node);
  json_int(w, "node_count", tfl_interpreter_node_count(r->interp));
  json_begin_array(w, "tensors");
  for (int i = 0; i < r->n_tensors; i++) {
    const tensor_row *t = &r->tensors[i];
    json_begin_object(w, NULL);
    json_int(w, "index", t->index);
    json_string(w, "storage", k_memory_kinds[t->plan.kind]);
    if (in_arena(t))
      json_size(w, "offset", t->plan.offset);
    else
      json_null(w, "offset");
    json_size(w, "bytes", t->plan.bytes);
    json_int(w, "first_node", t->plan.first_node);
    json_int(w, "last_node", t->plan.last_node);
    json_end_object(w);
  }
  json_end_array(w);
  json_end_object(w);
}

static void print_json(FILE *out, const inspect_report *r) {
  json_writer w;
  json_init(&w, out);
  json_begin_object(&w, NULL);
  json_string(&w, "model", r->path);
  json_int(&w, "schema_version", (long long)tfl_model_schema_version(r->model));
  json_string(&w, "description", tfl_model_description(r->model));
  json_int(&w, "subgraph_count", tfl_model_subgraph_count(r->model));
  json_string(&w, "subgraph_name", tfl_model_subgraph_name(r->model, 0));
  json_int(&w, "tensor_count", tfl_model_tensor_count(r->model, 0));
  json_io(&w, r, "inputs", tfl_model_input_count(r->model, 0), tfl_model_input);
  json_io(&w, r, "outputs", tfl_model_output_count(r->model, 0), tfl_model_output);
  json_ops(&w, r);
  json_signatures(&w, r);
  json_bool(&w, "runnable", r->status == TFL_OK);
  json_string(&w, "error", r->status == TFL_OK ? NULL : r->error);
  if (r->status == TFL_OK)
    json_size(&w, "arena_bytes", r->arena_bytes);
  else
    json_null(&w, "arena_bytes");
  if (r->tensors_wanted) json_tensors(&w, r);
  if (r->plan_wanted) json_plan(&w, r);
  json_end_object(&w);
}

/* --- command ----------------------------------------------------------------------------- */

static int take_arg(const cli_command *cmd, int opt, const char *value, void *ctx) {
  inspect_report *r = ctx;
  switch (opt) {
    case CLI_ARG_POSITIONAL: return cli_take_one_positional(cmd, value, &r->path);
    case OPT_JSON: r->json = 1; return 1;
    case OPT_TENSORS: r->tensors_wanted = 1; return 1;
    case OPT_PLAN: r->plan_wanted = 1; return 1;
    default: return 0;
  }
}

/* Returns -1 to go on, or the exit code (after --help or a usage error). */
static int parse_args(const cli_command *cmd, int argc, char **argv, inspect_report *r) {
  int rc = cli_parse(cmd, argc, argv, take_arg, r);
  if (rc >= 0) return rc;
  if (!r->path) return cli_usage_error(cmd, "no model given");
  return -1;
}

static int run(const cli_command *cmd, int argc, char **argv) {
  inspect_report r = {0};
  int rc = parse_args(cmd, argc, argv, &r);
  if (rc >= 0) return rc;
  r.model = tool_load_model(cmd, r.path);
  if (!r.model) return CLI_EXIT_FAIL;
  rc = CLI_EXIT_OK;
  if (!gather(&r)) {
    rc = cli_fail(cmd, "out of memory");
  } else {
    if (r.json)
      print_json(stdout, &r);
    else
      print_text(stdout, &r);
    fflush(stdout);
    if (r.status != TFL_OK) rc = cli_fail(cmd, "%s: %s", r.path, r.error);
  }
  free(r.ops);
  free(r.tensors);
  tfl_interpreter_free(r.interp);
  tfl_model_free(r.model);
  return rc;
}

const cli_command cmd_inspect = {
    .name = "inspect",
    .synopsis = "MODEL [--json] [--tensors] [--plan]",
    .summary = "describe a model: inputs, outputs, ops, signatures and memory needs",
    .description =
        "Prints the schema version, description and subgraph count; subgraph 0's inputs and\n"
        "outputs (name, type, shape, shape signature when dynamic, quantization); how often\n"
        "each op occurs over all subgraphs; the signatures; and the activation arena tfl plans\n"
        "for the model. --tensors lists every tensor of subgraph 0. --plan lists where each\n"
        "tensor lives (arena offset, bytes, lifetime as first..last node, sorted by offset),\n"
        "the two largest tensors alive at the same time and the largest set of tensors alive\n"
        "at one node: no arena can be smaller than either. Fails (exit 1) when tfl cannot run\n"
        "the model, after listing the ops it does not support.\n",
    .options = k_options,
    .run = run,
};
