/* Helpers shared by the subcommands (commands.h). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"

tfl_model *tool_load_model(const cli_command *cmd, const char *path) {
  char err[512] = "";
  tfl_model *model = NULL;
  tfl_status st = tfl_model_load_file(path, &model, err, sizeof err);
  if (st == TFL_OK) return model;
  cli_fail(cmd, "%s: %s", path, err[0] ? err : tfl_status_string(st));
  return NULL;
}

int tool_create_interpreter(const cli_command *cmd, const char *path, const tfl_model *model,
                            int threads, int preserve, tfl_interpreter **out) {
  *out = NULL;
  tfl_options *options = tfl_options_create();
  if (!options) return cli_fail(cmd, "out of memory");
  tfl_status st = tfl_options_set_threads(options, threads);
  if (st == TFL_OK) st = tfl_options_set_preserve_all_tensors(options, preserve);
  char err[1024] = "";
  if (st == TFL_OK) st = tfl_interpreter_create(model, options, out, err, sizeof err);
  tfl_options_free(options);
  if (st != TFL_OK) return cli_fail(cmd, "%s: %s", path, err[0] ? err : tfl_status_string(st));
  return CLI_EXIT_OK;
}

int tool_allocate(const cli_command *cmd, tfl_interpreter *interp) {
  tfl_status st = tfl_interpreter_allocate_tensors(interp);
  if (st != TFL_OK)
    return cli_fail(cmd, "allocating tensors failed: %s", tool_interp_error(interp, st));
  return CLI_EXIT_OK;
}

int tool_parse_int(const cli_command *cmd, const char *option, const char *value, long min,
                   long max, long *out) {
  if (cli_parse_int(value, min, max, out)) return 1;
  cli_usage_error(cmd, "%s must be an integer from %ld to %ld, got '%s'", option, min, max, value);
  return 0;
}

int tool_parse_double(const cli_command *cmd, const char *option, const char *value,
                      double *out) {
  char *end = NULL;
  errno = 0;
  double v = value && *value ? strtod(value, &end) : NAN;
  if (end && !*end && !errno && isfinite(v)) {
    *out = v;
    return 1;
  }
  cli_usage_error(cmd, "%s must be a number, got '%s'", option, value ? value : "");
  return 0;
}

void tool_format_dims(char *buf, size_t size, int ndim, const int32_t *dims) {
  size_t n = 0;
  if (!size) return;
  buf[0] = '\0';
  n += (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%ld", i ? "," : "", (long)dims[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
}

const char *tool_interp_error(const tfl_interpreter *interp, tfl_status status) {
  const char *msg = interp ? tfl_interpreter_error(interp) : "";
  return msg && msg[0] ? msg : tfl_status_string(status);
}

tfl_status tool_read_file(const char *path, char **data, size_t *size, char *err,
                          size_t err_size) {
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
    return TFL_IO_ERROR;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    snprintf(err, err_size, "cannot read %s: not a regular file", path);
    return TFL_IO_ERROR;
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  int ok = buf && fread(buf, 1, n, f) == n && !ferror(f);
  fclose(f);
  if (!ok) {
    tfl_status status = buf ? TFL_IO_ERROR : TFL_OUT_OF_MEMORY;
    snprintf(err, err_size, buf ? "cannot read %s" : "%s: out of memory", path);
    free(buf);
    return status;
  }
  buf[n] = '\0';
  *data = buf;
  *size = n;
  return TFL_OK;
}

uint64_t tool_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- .npy inputs ------------------------------------------------------------------------- */

int tool_npy_inputs_init(tool_npy_inputs *in, int max) {
  in->n = 0;
  /* +1 keeps the allocations non-zero. */
  in->paths = calloc((size_t)max + 1, sizeof *in->paths);
  in->arrays = calloc((size_t)max + 1, sizeof *in->arrays);
  return in->paths && in->arrays;
}

void tool_npy_inputs_free(tool_npy_inputs *in) {
  for (int i = 0; in->arrays && i < in->n; i++) npy_free(&in->arrays[i]);
  free(in->arrays);
  free(in->paths);
  in->arrays = NULL;
  in->paths = NULL;
}

/* "input 0 ("name")" for messages. */
static void describe_input(tfl_interpreter *interp, int i, char *buf, size_t size) {
  snprintf(buf, size, "input %d (\"%s\")", i, tfl_tensor_name(tfl_interpreter_input(interp, i)));
}

int tool_read_npy_inputs(const cli_command *cmd, const char *model_path, tfl_interpreter *interp,
                         tool_npy_inputs *in) {
  int expected = tfl_interpreter_input_count(interp);
  if (in->n != expected)
    return cli_fail(cmd, "%s has %d input%s but %d --input file%s given", model_path, expected,
                    expected == 1 ? "" : "s", in->n, in->n == 1 ? " was" : "s were");
  for (int i = 0; i < in->n; i++) {
    char err[512];
    if (npy_read_file(in->paths[i], &in->arrays[i], err, sizeof err) != TFL_OK)
      return cli_fail(cmd, "%s", err);
    tfl_type want = tfl_tensor_type(tfl_interpreter_input(interp, i));
    if (in->arrays[i].type != want) {
      char what[256];
      describe_input(interp, i, what, sizeof what);
      return cli_fail(cmd, "%s: %s has dtype %s but the model expects %s", what, in->paths[i],
                      npy_type_name(in->arrays[i].type), tfl_type_name(want));
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

static int shape_error(const cli_command *cmd, tfl_interpreter *interp,
                       const tool_npy_inputs *in, int i, const tfl_tensor_info *info) {
  char what[256], got[128], want[128], sig[160] = "";
  describe_input(interp, i, what, sizeof what);
  tool_format_dims(got, sizeof got, in->arrays[i].ndim, in->arrays[i].dims);
  tool_format_dims(want, sizeof want, info->ndim, info->shape);
  if (info->shape_signature) {
    char dims[128];
    tool_format_dims(dims, sizeof dims, info->ndim, info->shape_signature);
    snprintf(sig, sizeof sig, " (shape signature %s)", dims);
  }
  return cli_fail(cmd, "%s: %s has shape %s but the model expects %s%s", what, in->paths[i], got,
                  want, sig);
}

int tool_resize_npy_inputs(const cli_command *cmd, const tfl_model *model, tfl_interpreter *interp,
                           const tool_npy_inputs *in) {
  for (int i = 0; i < in->n; i++) {
    tfl_tensor *t = tfl_interpreter_input(interp, i);
    const npy_array *a = &in->arrays[i];
    if (same_dims(tfl_tensor_ndim(t), tfl_tensor_dims(t), a)) continue;
    tfl_tensor_info info = {0};
    int32_t tensor = tfl_model_input(model, 0, i);
    if (tfl_model_tensor_info(model, 0, tensor, &info) != TFL_OK || !signature_allows(&info, a))
      return shape_error(cmd, interp, in, i, &info);
    tfl_status st = tfl_interpreter_resize_input(interp, i, a->ndim, a->dims);
    if (st != TFL_OK)
      return cli_fail(cmd, "resizing input %d failed: %s", i, tool_interp_error(interp, st));
  }
  return CLI_EXIT_OK;
}

int tool_fill_npy_inputs(const cli_command *cmd, tfl_interpreter *interp,
                         const tool_npy_inputs *in) {
  for (int i = 0; i < in->n; i++) {
    tfl_tensor *t = tfl_interpreter_input(interp, i);
    const npy_array *a = &in->arrays[i];
    tfl_status st = a->strings ? tfl_tensor_set_strings(t, a->strings, a->n_strings)
                               : tfl_tensor_copy_from(t, a->data, a->bytes);
    if (st != TFL_OK)
      return cli_fail(cmd, "cannot set input %d from %s (%zu bytes for a %zu-byte tensor): %s", i,
                      in->paths[i], in->arrays[i].bytes, tfl_tensor_byte_size(t),
                      tfl_status_string(st));
  }
  return CLI_EXIT_OK;
}
