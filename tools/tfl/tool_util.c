/* Helpers shared by the subcommands (commands.h). */
#include <stdio.h>

#include "commands.h"

tfl_model *tool_load_model(const cli_command *cmd, const char *path) {
  char err[512] = "";
  tfl_model *model = NULL;
  tfl_status st = tfl_model_load_file(path, &model, err, sizeof err);
  if (st == TFL_OK) return model;
  cli_fail(cmd, "%s: %s", path, err[0] ? err : tfl_status_string(st));
  return NULL;
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
