/* tfl — command-line front end: dispatches "tfl COMMAND ..." to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "tfl/model.h"

static const cli_command *const k_commands[] = {&cmd_inspect, &cmd_run, &cmd_bench, &cmd_label};
#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

static void print_main_help(FILE *out) {
  fprintf(out,
          "usage: tfl COMMAND [ARGS]\n\n"
          "tfl runs TensorFlow Lite (.tflite) models.\n\ncommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(out, "  %-10s %s\n", k_commands[i]->name, k_commands[i]->summary);
  fprintf(out,
          "\noptions:\n"
          "  -h, --help   show this help and exit (tfl COMMAND --help for a command's options)\n"
          "  --version    print tfl's version and exit\n"
          "\nExit status: 0 on success, 1 on failure, 2 on a command-line error.\n");
}

/* "tfl: WHAT 'ARG'" (ARG may be NULL) and the usage line. */
static int main_usage_error(const char *what, const char *arg) {
  if (arg)
    fprintf(stderr, "tfl: %s '%s'\n", what, arg);
  else
    fprintf(stderr, "tfl: %s\n", what);
  fprintf(stderr, "usage: tfl COMMAND [ARGS] (see tfl --help)\n");
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) return main_usage_error("no command given", NULL);
  const char *name = argv[1];
  if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
    print_main_help(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) {
    printf("tfl %s\n", tfl_version());
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(name, k_commands[i]->name) == 0)
      return k_commands[i]->run(k_commands[i], argc - 1, argv + 1);
  if (name[0] == '-') return main_usage_error("unknown option", name);
  return main_usage_error("unknown command", name);
}
