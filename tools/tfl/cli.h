/* Shared command-line plumbing for the tfl subcommands: option tables (which drive both
 * parsing and --help), one-line error reporting and exit codes. */
#ifndef TFL_TOOLS_CLI_H
#define TFL_TOOLS_CLI_H

#include <stdio.h>

/* Exit codes of every subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_option {
  const char *name; /* "--input"; NULL ends a table */
  const char *arg;  /* value placeholder such as "FILE", or NULL for a flag */
  const char *help; /* one line */
} cli_option;

typedef struct cli_command cli_command;
struct cli_command {
  const char *name;
  const char *synopsis;    /* arguments after "tfl NAME", e.g. "MODEL [OPTIONS]" */
  const char *summary;     /* one line for "tfl --help" */
  const char *description; /* printed by "tfl NAME --help"; may be NULL */
  const cli_option *options;
  int (*run)(const cli_command *cmd, int argc, char **argv); /* argv[0] is the command name */
};

/* Walks a command's arguments. Options take values as "--opt VALUE" or "--opt=VALUE"; "--"
 * ends the options. */
typedef struct cli_args {
  const cli_command *cmd;
  int argc;
  char **argv;
  int next;
  int options_done;
} cli_args;

enum { CLI_ARG_END = -1, CLI_ARG_POSITIONAL = -2, CLI_ARG_HELP = -3, CLI_ARG_ERROR = -4 };

void cli_args_init(cli_args *a, const cli_command *cmd, int argc, char **argv);
/* Returns the index of the next option in cmd->options (its value, if it takes one, in
 * *value), CLI_ARG_POSITIONAL (the argument in *value), CLI_ARG_HELP for -h/--help,
 * CLI_ARG_END, or CLI_ARG_ERROR after printing a usage error. */
int cli_next(cli_args *a, const char **value);

/* Takes one argument for cli_parse: opt is an option's index in cmd->options (value: its
 * value, if it takes one) or CLI_ARG_POSITIONAL (value: the argument). Returns 1, or 0 after
 * reporting a usage error. */
typedef int (*cli_take_fn)(const cli_command *cmd, int opt, const char *value, void *ctx);

/* A command's argument loop. Returns -1 to go on, or the exit code: CLI_EXIT_OK after
 * printing --help, CLI_EXIT_USAGE after a usage error. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_take_fn take, void *ctx);

/* For a cli_take_fn: stores the command's one positional argument in *slot; a second one is
 * a usage error. Returns 1 or 0 as cli_take_fn does. */
int cli_take_one_positional(const cli_command *cmd, const char *value, const char **slot);

void cli_print_help(const cli_command *cmd, FILE *out);
void cli_print_usage(const cli_command *cmd, FILE *out);

/* "tfl NAME: message" and the usage line on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* "tfl NAME: message" as exactly one line on stderr (newlines in the message, e.g. from a
 * model's strings, are flattened); returns CLI_EXIT_FAIL. */
int cli_fail(const cli_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses a decimal integer in [min, max]; returns 0 on anything else. */
int cli_parse_int(const char *s, long min, long max, long *out);

/* Creates a directory and its missing parents (like mkdir -p). Returns 0 or an errno. */
int cli_make_dirs(const char *path);

/* s with control bytes as \xNN (names come from the model file), padded with spaces to
 * `width` columns. */
void cli_print_escaped(FILE *out, const char *s, int width);
/* Prints s between double quotes, escaping quotes, backslashes and control characters. */
void cli_print_quoted(FILE *out, const char *s);

#endif
