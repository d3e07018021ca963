/* tfl inspect: what a model contains and what tfl makes of it.
 *
 * The command first gathers everything into an inspect_report, then prints it; other output
 * formats (JSON) and more sections (every tensor, the memory plan) are further printers over
 * the same report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static const cli_option k_options[] = {
    {NULL, NULL, NULL},
};

/* Nodes of one op kind, over all subgraphs. */
typedef struct op_stat {
  const char *name; /* builtin name, or the custom code */
  int32_t builtin_code;
  int count;
  int unsupported; /* nodes tfl has no kernel for (their version may be the reason) */
} op_stat;

typedef struct inspect_report {
  const char *path;
  tfl_model *model;
  op_stat *ops;
  int n_ops;
  int total_ops;
  tfl_interpreter *interp; /* NULL when it could not be created */
  tfl_status status;       /* of creating the interpreter and allocating its tensors */
  char error[1024];
  size_t arena_bytes;
} inspect_report;

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

static void print_quantization(FILE *out, const tfl_quantization *q) {
  if (q->count == 1)
    fprintf(out, " scale %.9g zero_point %ld", (double)q->scale[0], (long)q->zero_point[0]);
  else if (q->count > 1)
    fprintf(out, " per-channel (%d scales, axis %d)", q->count, q->axis);
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
    print_quantization(out, &t.quantization);
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
    fprintf(out, "  %-32s %5d", s->name, s->count);
    if (s->builtin_code == TFL_BUILTIN_CUSTOM) fprintf(out, "  custom");
    if (s->unsupported) fprintf(out, "  unsupported");
    fputc('\n', out);
  }
}

static void print_unsupported(FILE *out, const inspect_report *r) {
  int first = 1;
  for (int i = 0; i < r->n_ops; i++) {
    if (!r->ops[i].unsupported) continue;
    fprintf(out, "%s%s", first ? "unsupported ops: " : ", ", r->ops[i].name);
    first = 0;
  }
  if (!first) fputc('\n', out);
}

static void print_name_list(FILE *out, int n, tfl_signature *sig,
                            const char *(*name_of)(const tfl_signature *, int)) {
  fputc('(', out);
  for (int i = 0; i < n; i++) {
    if (i) fprintf(out, ", ");
    fputs(name_of(sig, i), out);
  }
  fputc(')', out);
}

static void print_signatures(FILE *out, const inspect_report *r) {
  if (!r->interp) {
    fprintf(out, "signatures: unknown (no interpreter)\n");
    return;
  }
  int n = tfl_interpreter_signature_count(r->interp);
  fprintf(out, "signatures: %d\n", n);
  for (int i = 0; i < n; i++) {
    const char *key = tfl_interpreter_signature_key(r->interp, i);
    tfl_signature *sig = tfl_interpreter_signature(r->interp, key);
    fprintf(out, "  ");
    cli_print_quoted(out, key);
    if (!sig) {
      fputc('\n', out);
      continue;
    }
    fprintf(out, " inputs ");
    print_name_list(out, tfl_signature_input_count(sig), sig, tfl_signature_input_name);
    fprintf(out, " outputs ");
    print_name_list(out, tfl_signature_output_count(sig), sig, tfl_signature_output_name);
    fputc('\n', out);
  }
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
  if (r->status == TFL_OK) {
    fprintf(out, "arena: %zu bytes\n", r->arena_bytes);
    return;
  }
  print_unsupported(out, r);
  fprintf(out, "arena: unknown (%s)\n", r->error);
}

/* --- command ----------------------------------------------------------------------------- */

static int run(const cli_command *cmd, int argc, char **argv) {
  cli_args it;
  const char *value, *path = NULL;
  int opt;
  cli_args_init(&it, cmd, argc, argv);
  while ((opt = cli_next(&it, &value)) != CLI_ARG_END) {
    if (opt == CLI_ARG_HELP) {
      cli_print_help(cmd, stdout);
      return CLI_EXIT_OK;
    }
    if (opt != CLI_ARG_POSITIONAL) return CLI_EXIT_USAGE;
    if (path) return cli_usage_error(cmd, "unexpected argument '%s'", value);
    path = value;
  }
  if (!path) return cli_usage_error(cmd, "no model given");

  inspect_report r = {.path = path};
  r.model = tool_load_model(cmd, path);
  if (!r.model) return CLI_EXIT_FAIL;
  int rc = CLI_EXIT_OK;
  if (!gather_ops(&r)) {
    rc = cli_fail(cmd, "out of memory");
  } else {
    gather_plan(&r);
    print_text(stdout, &r);
    fflush(stdout);
    if (r.status != TFL_OK) rc = cli_fail(cmd, "%s: %s", path, r.error);
  }
  free(r.ops);
  tfl_interpreter_free(r.interp);
  tfl_model_free(r.model);
  return rc;
}

const cli_command cmd_inspect = {
    .name = "inspect",
    .synopsis = "MODEL",
    .summary = "describe a model: inputs, outputs, ops, signatures and memory needs",
    .description =
        "Prints the schema version, description and subgraph count; subgraph 0's inputs and\n"
        "outputs (name, type, shape, shape signature when dynamic, quantization); how often\n"
        "each op occurs over all subgraphs; the signatures; and the activation arena tfl plans\n"
        "for the model. Fails (exit 1) when tfl cannot run the model, after listing the ops it\n"
        "does not support.\n",
    .options = k_options,
    .run = run,
};
