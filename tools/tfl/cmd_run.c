/* tfl run: feeds .npy inputs to a model, invokes it once and writes its outputs as .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "npy.h"

enum { OPT_INPUT, OPT_OUTPUT_DIR, OPT_THREADS };

static const cli_option k_options[] = {
    {"--input", "FILE", "a .npy array for the next model input (repeat, in input order)"},
    {"--output-dir", "DIR", "write DIR/output_<i>.npy for every output (DIR is created)"},
    {"--threads", "N", "worker threads for the kernels (default 1)"},
    {NULL, NULL, NULL},
};

#define MAX_THREADS 1024

typedef struct run_args {
  const char *model;
  const char **inputs;
  int n_inputs;
  const char *output_dir;
  int threads;
} run_args;

typedef struct run_session {
  const cli_command *cmd;
  run_args args;
  tfl_model *model;
  tfl_interpreter *interp;
  npy_array *arrays; /* one per --input */
} run_session;

/* Returns -1 to go on, or the exit code (after --help or a usage error). */
static int parse_args(const cli_command *cmd, int argc, char **argv, run_args *a) {
  cli_args it;
  const char *value;
  int opt;
  a->threads = 1;
  cli_args_init(&it, cmd, argc, argv);
  while ((opt = cli_next(&it, &value)) != CLI_ARG_END) {
    long n;
    switch (opt) {
      case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
      case CLI_ARG_HELP: cli_print_help(cmd, stdout); return CLI_EXIT_OK;
      case CLI_ARG_POSITIONAL:
        if (a->model) return cli_usage_error(cmd, "unexpected argument '%s'", value);
        a->model = value;
        break;
      case OPT_INPUT: a->inputs[a->n_inputs++] = value; break;
      case OPT_OUTPUT_DIR: a->output_dir = value; break;
      case OPT_THREADS:
        if (!cli_parse_int(value, 1, MAX_THREADS, &n))
          return cli_usage_error(cmd, "--threads must be an integer from 1 to %d, got '%s'",
                                 MAX_THREADS, value);
        a->threads = (int)n;
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (!a->model) return cli_usage_error(cmd, "no model given");
  if (!a->output_dir) return cli_usage_error(cmd, "--output-dir is required");
  return -1;
}

static int open_model(run_session *s) {
  s->model = tool_load_model(s->cmd, s->args.model);
  if (!s->model) return CLI_EXIT_FAIL;
  tfl_options *options = tfl_options_create();
  if (!options) return cli_fail(s->cmd, "out of memory");
  tfl_status st = tfl_options_set_threads(options, s->args.threads);
  char err[1024] = "";
  if (st == TFL_OK) st = tfl_interpreter_create(s->model, options, &s->interp, err, sizeof err);
  tfl_options_free(options);
  if (st != TFL_OK)
    return cli_fail(s->cmd, "%s: %s", s->args.model, err[0] ? err : tfl_status_string(st));
  return CLI_EXIT_OK;
}

/* "input 0 ("name")" for messages. */
static void describe_input(run_session *s, int i, char *buf, size_t size) {
  snprintf(buf, size, "input %d (\"%s\")", i,
           tfl_tensor_name(tfl_interpreter_input(s->interp, i)));
}

static int read_inputs(run_session *s) {
  int expected = tfl_interpreter_input_count(s->interp);
  if (s->args.n_inputs != expected)
    return cli_fail(s->cmd, "%s has %d input%s but %d --input file%s given", s->args.model,
                    expected, expected == 1 ? "" : "s", s->args.n_inputs,
                    s->args.n_inputs == 1 ? " was" : "s were");
  for (int i = 0; i < s->args.n_inputs; i++) {
    char err[512];
    if (npy_read_file(s->args.inputs[i], &s->arrays[i], err, sizeof err) != TFL_OK)
      return cli_fail(s->cmd, "%s", err);
    tfl_type want = tfl_tensor_type(tfl_interpreter_input(s->interp, i));
    if (s->arrays[i].type != want) {
      char what[256];
      describe_input(s, i, what, sizeof what);
      return cli_fail(s->cmd, "%s: %s has dtype %s but the model expects %s", what,
                      s->args.inputs[i], npy_type_name(s->arrays[i].type), tfl_type_name(want));
    }
  }
  return CLI_EXIT_OK;
}

static int same_dims(int ndim, const int32_t *dims, const npy_array *a) {
  if (ndim != a->ndim) return 0;
  for (int i = 0; i < ndim; i++)
    if (dims[i] != a->dims[i]) return 0;
  return 1;
}

/* Whether the model's shape signature (-1 = any size) admits the array's shape. */
static int signature_allows(const tfl_tensor_info *info, const npy_array *a) {
  if (!info->shape_signature || info->ndim != a->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (info->shape_signature[i] != -1 && info->shape_signature[i] != a->dims[i]) return 0;
  return 1;
}

static int shape_error(run_session *s, int i, const tfl_tensor_info *info) {
  char what[256], got[128], want[128], sig[160] = "";
  describe_input(s, i, what, sizeof what);
  tool_format_dims(got, sizeof got, s->arrays[i].ndim, s->arrays[i].dims);
  tool_format_dims(want, sizeof want, info->ndim, info->shape);
  if (info->shape_signature) {
    char dims[128];
    tool_format_dims(dims, sizeof dims, info->ndim, info->shape_signature);
    snprintf(sig, sizeof sig, " (shape signature %s)", dims);
  }
  return cli_fail(s->cmd, "%s: %s has shape %s but the model expects %s%s", what,
                  s->args.inputs[i], got, want, sig);
}

/* Resizes inputs whose shape differs where the model allows it, then allocates. */
static int shape_inputs(run_session *s) {
  for (int i = 0; i < s->args.n_inputs; i++) {
    tfl_tensor *t = tfl_interpreter_input(s->interp, i);
    const npy_array *a = &s->arrays[i];
    if (same_dims(tfl_tensor_ndim(t), tfl_tensor_dims(t), a)) continue;
    tfl_tensor_info info = {0};
    int32_t tensor = tfl_model_input(s->model, 0, i);
    if (tfl_model_tensor_info(s->model, 0, tensor, &info) != TFL_OK || !signature_allows(&info, a))
      return shape_error(s, i, &info);
    tfl_status st = tfl_interpreter_resize_input(s->interp, i, a->ndim, a->dims);
    if (st != TFL_OK)
      return cli_fail(s->cmd, "resizing input %d failed: %s", i, tool_interp_error(s->interp, st));
  }
  tfl_status st = tfl_interpreter_allocate_tensors(s->interp);
  if (st != TFL_OK)
    return cli_fail(s->cmd, "allocating tensors failed: %s", tool_interp_error(s->interp, st));
  return CLI_EXIT_OK;
}

static int fill_inputs(run_session *s) {
  for (int i = 0; i < s->args.n_inputs; i++) {
    tfl_tensor *t = tfl_interpreter_input(s->interp, i);
    tfl_status st = tfl_tensor_copy_from(t, s->arrays[i].data, s->arrays[i].bytes);
    if (st != TFL_OK)
      return cli_fail(s->cmd, "cannot set input %d from %s (%zu bytes for a %zu-byte tensor): %s",
                      i, s->args.inputs[i], s->arrays[i].bytes, tfl_tensor_byte_size(t),
                      tfl_status_string(st));
  }
  return CLI_EXIT_OK;
}

/* Before invoking, so that a bad --output-dir fails fast. */
static int make_output_dir(run_session *s) {
  int e = cli_make_dirs(s->args.output_dir);
  if (e) return cli_fail(s->cmd, "cannot create %s: %s", s->args.output_dir, strerror(e));
  return CLI_EXIT_OK;
}

static int invoke(run_session *s) {
  tfl_status st = tfl_interpreter_invoke(s->interp);
  if (st != TFL_OK) return cli_fail(s->cmd, "invoke failed: %s", tool_interp_error(s->interp, st));
  return CLI_EXIT_OK;
}

static int write_outputs(run_session *s) {
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
    if (npy_write_file(path, type, tfl_tensor_ndim(t), tfl_tensor_dims(t),
                       tfl_tensor_data_const(t), tfl_tensor_byte_size(t), err,
                       sizeof err) != TFL_OK)
      rc = cli_fail(s->cmd, "%s", err);
  }
  free(path);
  return rc;
}

static void session_free(run_session *s) {
  for (int i = 0; s->arrays && i < s->args.n_inputs; i++) npy_free(&s->arrays[i]);
  free(s->arrays);
  free(s->args.inputs);
  tfl_interpreter_free(s->interp);
  tfl_model_free(s->model);
}

static int run(const cli_command *cmd, int argc, char **argv) {
  run_session s = {.cmd = cmd};
  /* At most argc - 1 inputs; +1 keeps the allocation non-zero. */
  s.args.inputs = calloc((size_t)argc + 1, sizeof *s.args.inputs);
  s.arrays = calloc((size_t)argc + 1, sizeof *s.arrays);
  int rc = s.args.inputs && s.arrays ? parse_args(cmd, argc, argv, &s.args)
                                     : cli_fail(cmd, "out of memory");
  if (rc < 0) {
    rc = open_model(&s);
    if (rc == CLI_EXIT_OK) rc = read_inputs(&s);
    if (rc == CLI_EXIT_OK) rc = shape_inputs(&s);
    if (rc == CLI_EXIT_OK) rc = fill_inputs(&s);
    if (rc == CLI_EXIT_OK) rc = make_output_dir(&s);
    if (rc == CLI_EXIT_OK) rc = invoke(&s);
    if (rc == CLI_EXIT_OK) rc = write_outputs(&s);
  }
  session_free(&s);
  return rc;
}

const cli_command cmd_run = {
    .name = "run",
    .synopsis = "MODEL --input FILE [--input FILE ...] --output-dir DIR [--threads N]",
    .summary = "run a model once on .npy inputs and save its outputs as .npy",
    .description =
        "Each --input is a NumPy .npy file (format 1.0-3.0, little-endian, C order) for the\n"
        "model's inputs in order; its dtype must be the input's type. An input whose shape\n"
        "differs from the model's is resized when the model's shape signature allows it\n"
        "(dimensions of -1). Outputs are written as DIR/output_0.npy, output_1.npy, ... with\n"
        "their type and their shape after the run.\n",
    .options = k_options,
    .run = run,
};
