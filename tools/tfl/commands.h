/* The tfl subcommands and the helpers they share. */
#ifndef TFL_TOOLS_COMMANDS_H
#define TFL_TOOLS_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "npy.h"
#include "tfl/tfl.h"

extern const cli_command cmd_inspect;
extern const cli_command cmd_run;
extern const cli_command cmd_bench;
extern const cli_command cmd_label;

/* The most --threads a command accepts. */
#define TOOL_MAX_THREADS 1024

/* Loads a model; on failure prints "tfl CMD: PATH: why" and returns NULL. */
tfl_model *tool_load_model(const cli_command *cmd, const char *path);

/* Creates an interpreter with `threads` worker threads (and, with `preserve`, every tensor
 * kept after invoke); returns an exit code (the failure already reported). path names the
 * model in messages. */
int tool_create_interpreter(const cli_command *cmd, const char *path, const tfl_model *model,
                            int threads, int preserve, tfl_interpreter **out);

/* Allocates the interpreter's tensors; returns an exit code. */
int tool_allocate(const cli_command *cmd, tfl_interpreter *interp);

/* Parses an option's integer value in [min, max], or reports a usage error naming the option
 * and returns 0. */
int tool_parse_int(const cli_command *cmd, const char *option, const char *value, long min,
                   long max, long *out);
/* The same for a finite number. */
int tool_parse_double(const cli_command *cmd, const char *option, const char *value,
                      double *out);

/* Writes "[1,224,224,3]" (or "[]" for a scalar) into buf. */
void tool_format_dims(char *buf, size_t size, int ndim, const int32_t *dims);

/* The interpreter's last error, or the status's name when it recorded none. */
const char *tool_interp_error(const tfl_interpreter *interp, tfl_status status);

/* Reads a whole regular file into a malloc'd buffer with a NUL byte after its *size bytes.
 * On failure writes a one-line message naming the file into err. */
tfl_status tool_read_file(const char *path, char **data, size_t *size, char *err,
                          size_t err_size);

/* A monotonic clock in nanoseconds. */
uint64_t tool_now_ns(void);

/* .npy files holding a model's inputs, one per input in order (tfl run, tfl bench --input). */
typedef struct tool_npy_inputs {
  const char **paths;
  int n;
  npy_array *arrays; /* n of them, filled by tool_read_npy_inputs */
} tool_npy_inputs;

/* Room for up to `max` paths; returns 0 when out of memory. */
int tool_npy_inputs_init(tool_npy_inputs *in, int max);
void tool_npy_inputs_free(tool_npy_inputs *in);
/* Reads every file and checks that there is one per model input, of the input's type.
 * Returns an exit code; model_path names the model in messages. */
int tool_read_npy_inputs(const cli_command *cmd, const char *model_path, tfl_interpreter *interp,
                         tool_npy_inputs *in);
/* Resizes inputs whose shape differs from the array's where the model's shape signature
 * allows it (dimensions of -1); tensors must be allocated again afterwards. */
int tool_resize_npy_inputs(const cli_command *cmd, const tfl_model *model, tfl_interpreter *interp,
                           const tool_npy_inputs *in);
/* Copies the arrays into the allocated input tensors. */
int tool_fill_npy_inputs(const cli_command *cmd, tfl_interpreter *interp,
                         const tool_npy_inputs *in);

#endif
