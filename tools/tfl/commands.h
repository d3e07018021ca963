/* The tfl subcommands and the helpers they share. */
#ifndef TFL_TOOLS_COMMANDS_H
#define TFL_TOOLS_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "tfl/tfl.h"

extern const cli_command cmd_inspect;
extern const cli_command cmd_run;

/* Loads a model; on failure prints "tfl CMD: PATH: why" and returns NULL. */
tfl_model *tool_load_model(const cli_command *cmd, const char *path);

/* Writes "[1,224,224,3]" (or "[]" for a scalar) into buf. */
void tool_format_dims(char *buf, size_t size, int ndim, const int32_t *dims);

/* The interpreter's last error, or the status's name when it recorded none. */
const char *tool_interp_error(const tfl_interpreter *interp, tfl_status status);

#endif
