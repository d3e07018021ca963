/* tfl run: feeds .npy inputs to a model, invokes it once and writes its outputs as .npy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

enum { OPT_INPUT, OPT_OUTPUT_DIR, OPT_DUMP_TENSORS, OPT_THREADS };

static const cli_option k_options[] = {
    {"--input", "FILE", "a .npy array for the next model input (repeat, in input order)"},
    {"--output-dir", "DIR", "write DIR/output_<i>.npy for every output (DIR is created)"},
    {"--dump-tensors", "DIR", "write every tensor after the run as DIR/tensor_<i>.npy"},
    {"--threads", "N", "worker threads for the kernels (default 1)"},
    {NULL, NULL, NULL},
};

typedef struct run_args {
  const char *model;
  tool_npy_inputs inputs;
  const char *output_dir;
  const char *dump_dir;
  int threads;
} run_args;

typedef struct run_session {
  const cli_command *cmd;
  run_args args;
  tfl_model *model;
  tfl_interpreter *interp;
} run_session;

static int take_arg(const cli_command *cmd, int opt, const char *value, void *ctx) {
  run_args *a = ctx;
  long n;
  switch (opt) {
    case CLI_ARG_POSITIONAL: return cli_take_one_positional(cmd, value, &a->model);
    case OPT_INPUT: a->inputs.paths[a->inputs.n++] = value; return 1;
    case OPT_OUTPUT_DIR: a->output_dir = value; return 1;
    case OPT_DUMP_TENSORS: a->dump_dir = value; return 1;
    case OPT_THREADS:
      if (!tool_parse_int(cmd, "--threads", value, 1, TOOL_MAX_THREADS, &n)) return 0;
      a->threads = (int)n;
      return 1;
    default: return 0;
  }
}

/* Returns -1 to go on, or the exit code (after --help or a usage error). */
static int parse_args(const cli_command *cmd, int argc, char **argv, run_args *a) {
  a->threads = 1;
  int rc = cli_parse(cmd, argc, argv, take_arg, a);
  if (rc >= 0) return rc;
  if (!a->model) return cli_usage_error(cmd, "no model given");
  if (!a->output_dir && !a->dump_dir)
    return cli_usage_error(cmd, "--output-dir or --dump-tensors is required");
  return -1;
}

static int open_model(run_session *s) {
  s->model = tool_load_model(s->cmd, s->args.model);
  if (!s->model) return CLI_EXIT_FAIL;
  return tool_create_interpreter(s->cmd, s->args.model, s->model, s->args.threads,
                                 s->args.dump_dir != NULL, &s->interp);
}

/* Before invoking, so that a bad directory fails fast. */
static int make_dir(run_session *s, const char *dir) {
  int e = dir ? cli_make_dirs(dir) : 0;
  if (e) return cli_fail(s->cmd, "cannot create %s: %s", dir, strerror(e));
  return CLI_EXIT_OK;
}

static int invoke(run_session *s) {
  tfl_status st = tfl_interpreter_invoke(s->interp);
  if (st != TFL_OK) return cli_fail(s->cmd, "invoke failed: %s", tool_interp_error(s->interp, st));
  return CLI_EXIT_OK;
}

/* A string tensor as a .npy array of dtype 'S'. */
static tfl_status write_strings(const char *path, const tfl_tensor *t, char *err,
                                size_t err_size) {
  size_t n = 0;
  tfl_status st = tfl_tensor_string_count(t, &n);
  tfl_string *strings = st == TFL_OK ? malloc((n ? n : 1) * sizeof *strings) : NULL;
  if (st == TFL_OK && !strings) st = TFL_OUT_OF_MEMORY;
  for (size_t i = 0; i < n && st == TFL_OK; i++) st = tfl_tensor_string(t, i, &strings[i]);
  if (st == TFL_OK)
    st = npy_write_strings_file(path, tfl_tensor_ndim(t), tfl_tensor_dims(t), strings, n, err,
                                err_size);
  else
    snprintf(err, err_size, "%s: cannot read the strings of '%s': %s", path, tfl_tensor_name(t),
             tfl_status_string(st));
  free(strings);
  return st;
}

static tfl_status write_tensor(const char *path, const tfl_tensor *t, char *err,
                               size_t err_size) {
  if (tfl_tensor_type(t) == TFL_STRING) return write_strings(path, t, err, err_size);
  return npy_write_file(path, tfl_tensor_type(t), tfl_tensor_ndim(t), tfl_tensor_dims(t),
                        tfl_tensor_data_const(t), tfl_tensor_byte_size(t), err, err_size);
}

/* Every tensor of subgraph 0 that holds values after the run, as DIR/tensor_<i>.npy, and
 * DIR/tensors.txt listing each tensor (index, file or why none, type, shape, name). */
static int dump_tensors(run_session *s) {
  const char *dir = s->args.dump_dir;
  size_t path_size = strlen(dir) + 32;
  char *path = malloc(path_size);
  if (!path) return cli_fail(s->cmd, "out of memory");
  snprintf(path, path_size, "%s/tensors.txt", dir);
  FILE *index = fopen(path, "w");
  int rc = index ? CLI_EXIT_OK : cli_fail(s->cmd, "cannot write %s: %s", path, strerror(errno));
  for (int i = 0; i < tfl_interpreter_tensor_count(s->interp) && rc == CLI_EXIT_OK; i++) {
    const tfl_tensor *t = tfl_interpreter_tensor(s->interp, i);
    const char *why = !tfl_tensor_data_const(t)          ? "(no values)"
                      : !npy_type_name(tfl_tensor_type(t)) ? "(no .npy type)"
                                                           : NULL;
    char err[512], file[32];
    snprintf(file, sizeof file, "tensor_%d.npy", i);
    snprintf(path, path_size, "%s/%s", dir, file);
    if (!why && write_tensor(path, t, err, sizeof err) != TFL_OK) rc = cli_fail(s->cmd, "%s", err);
    fprintf(index, "%d\t%s\t%s\t", i, why ? why : file, tfl_type_name(tfl_tensor_type(t)));
    for (int d = 0; d < tfl_tensor_ndim(t); d++)
      fprintf(index, "%s%ld", d ? "," : "[", (long)tfl_tensor_dim(t, d));
    fputs(tfl_tensor_ndim(t) ? "]\t" : "[]\t", index);
    cli_print_quoted(index, tfl_tensor_name(t));
    fputc('\n', index);
  }
  if (index && fclose(index) != 0 && rc == CLI_EXIT_OK)
    rc = cli_fail(s->cmd, "cannot write %s/tensors.txt", dir);
  free(path);
  return rc;
}

static int write_outputs(run_session *s) {
  if (!s->args.output_dir) return CLI_EXIT_OK;
  size_t path_size = strlen(s->args.output_dir) + 32;
  char *path = malloc(path_size);
  if (!path) return cli_fail(s->cmd, "out of memory");
  int rc = CLI_EXIT_OK;
  for (int i = 0; i < tfl_interpreter_output_count(s->interp) && rc == CLI_EXIT_OK; i++) {
    const tfl_tensor *t = tfl_interpreter_output(s->interp, i);
    tfl_type type = tfl_tensor_type(t);
    if (!npy_type_name(type)) {
      rc = cli_fail(s->cmd, "output %d (\"%s\") has type %s, which .npy files cannot hold", i,
                    tfl_tensor_name(t), tfl_type_name(type));
      break;
    }
    char err[512];
    snprintf(path, path_size, "%s/output_%d.npy", s->args.output_dir, i);
    if (write_tensor(path, t, err, sizeof err) != TFL_OK) rc = cli_fail(s->cmd, "%s", err);
  }
  free(path);
  return rc;
}

static void session_free(run_session *s) {
  tool_npy_inputs_free(&s->args.inputs);
  tfl_interpreter_free(s->interp);
  tfl_model_free(s->model);
}

static int run(const cli_command *cmd, int argc, char **argv) {
  run_session s = {.cmd = cmd};
  /* At most argc - 1 inputs. */
  int rc = tool_npy_inputs_init(&s.args.inputs, argc) ? parse_args(cmd, argc, argv, &s.args)
                                                        : cli_fail(cmd, "out of memory");
  if (rc < 0) {
    tool_npy_inputs *in = &s.args.inputs;
    rc = open_model(&s);
    if (rc == CLI_EXIT_OK) rc = tool_read_npy_inputs(cmd, s.args.model, s.interp, in);
    if (rc == CLI_EXIT_OK) rc = tool_resize_npy_inputs(cmd, s.model, s.interp, in);
    if (rc == CLI_EXIT_OK) rc = tool_allocate(cmd, s.interp);
    if (rc == CLI_EXIT_OK) rc = tool_fill_npy_inputs(cmd, s.interp, in);
    if (rc == CLI_EXIT_OK) rc = make_dir(&s, s.args.output_dir);
    if (rc == CLI_EXIT_OK) rc = make_dir(&s, s.args.dump_dir);
    if (rc == CLI_EXIT_OK) rc = invoke(&s);
    if (rc == CLI_EXIT_OK) rc = write_outputs(&s);
    if (rc == CLI_EXIT_OK && s.args.dump_dir) rc = dump_tensors(&s);
  }
  session_free(&s);
  return rc;
}

const cli_command cmd_run = {
    .name = "run",
    .synopsis = "MODEL --input FILE ... [--output-dir DIR] [--dump-tensors DIR] [--threads N]",
    .summary = "run a model once on .npy inputs and save its outputs as .npy",
    .description =
        "Each --input is a NumPy .npy file (format 1.0-3.0, little-endian, C order) for the\n"
        "model's inputs in order; its dtype must be the input's type (for string inputs, 'S'\n"
        "bytes or 'U' unicode, which is passed as UTF-8). An input whose shape differs from\n"
        "the model's is resized when the model's shape signature allows it (dimensions of\n"
        "-1). Outputs are written as DIR/output_0.npy, output_1.npy, ... with their type and\n"
        "their shape after the run; string outputs as dtype 'S' as wide as their longest\n"
        "string. --dump-tensors (which may replace --output-dir) keeps every tensor's\n"
        "values: the ops run unfused and no two tensors share memory (slower, more\n"
        "memory). Each tensor of subgraph 0 that holds values after the run is written as\n"
        "DIR/tensor_<index>.npy, and DIR/tensors.txt lists every tensor, one per line,\n"
        "tab-separated: index, file (or why none), type, shape, quoted name.\n",
    .options = k_options,
    .run = run,
};
