/* Shared command-line plumbing (cli.h). */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_args_init(cli_args *a, const cli_command *cmd, int argc, char **argv) {
  a->cmd = cmd;
  a->argc = argc;
  a->argv = argv;
  a->next = 1;
  a->options_done = 0;
}

/* The option whose name is arg's text up to '=' (or all of it). */
static int find_option(const cli_option *options, const char *arg, size_t len) {
  for (int i = 0; options[i].name; i++)
    if (strlen(options[i].name) == len && strncmp(options[i].name, arg, len) == 0) return i;
  return -1;
}

int cli_next(cli_args *a, const char **value) {
  *value = NULL;
  if (a->next >= a->argc) return CLI_ARG_END;
  const char *arg = a->argv[a->next++];
  if (a->options_done || arg[0] != '-' || arg[1] == '\0') {
    *value = arg;
    return CLI_ARG_POSITIONAL;
  }
  if (strcmp(arg, "--") == 0) {
    a->options_done = 1;
    return cli_next(a, value);
  }
  if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return CLI_ARG_HELP;
  const char *eq = strchr(arg, '=');
  size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
  int i = find_option(a->cmd->options, arg, len);
  if (i < 0) {
    cli_usage_error(a->cmd, "unknown option '%.*s'", (int)len, arg);
    return CLI_ARG_ERROR;
  }
  const cli_option *opt = &a->cmd->options[i];
  if (!opt->arg) {
    if (!eq) return i;
    cli_usage_error(a->cmd, "option %s takes no value", opt->name);
    return CLI_ARG_ERROR;
  }
  if (eq) {
    *value = eq + 1;
    return i;
  }
  if (a->next >= a->argc) {
    cli_usage_error(a->cmd, "option %s needs a value (%s)", opt->name, opt->arg);
    return CLI_ARG_ERROR;
  }
  *value = a->argv[a->next++];
  return i;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_take_fn take, void *ctx) {
  cli_args it;
  const char *value;
  int opt;
  cli_args_init(&it, cmd, argc, argv);
  while ((opt = cli_next(&it, &value)) != CLI_ARG_END) {
    if (opt == CLI_ARG_ERROR) return CLI_EXIT_USAGE;
    if (opt == CLI_ARG_HELP) {
      cli_print_help(cmd, stdout);
      return CLI_EXIT_OK;
    }
    if (!take(cmd, opt, value, ctx)) return CLI_EXIT_USAGE;
  }
  return -1;
}

int cli_take_one_positional(const cli_command *cmd, const char *value, const char **slot) {
  if (*slot) {
    cli_usage_error(cmd, "unexpected argument '%s'", value);
    return 0;
  }
  *slot = value;
  return 1;
}

void cli_print_usage(const cli_command *cmd, FILE *out) {
  fprintf(out, "usage: tfl %s %s (see tfl %s --help)\n", cmd->name, cmd->synopsis, cmd->name);
}

void cli_print_help(const cli_command *cmd, FILE *out) {
  fprintf(out, "usage: tfl %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
  if (cmd->description) fprintf(out, "\n%s", cmd->description);
  fprintf(out, "\noptions:\n");
  for (const cli_option *o = cmd->options; o->name; o++) {
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(out, "  %-22s %s\n", left, o->help);
  }
  fprintf(out, "  %-22s %s\n", "-h, --help", "show this help and exit");
}

/* Formats "tfl NAME: message" into one line on stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void report(const cli_command *cmd, const char *fmt, va_list ap) {
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  fprintf(stderr, "tfl %s: %s\n", cmd->name, msg);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(cmd, fmt, ap);
  va_end(ap);
  cli_print_usage(cmd, stderr);
  return CLI_EXIT_USAGE;
}

int cli_fail(const cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(cmd, fmt, ap);
  va_end(ap);
  return CLI_EXIT_FAIL;
}

int cli_parse_int(const char *s, long min, long max, long *out) {
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < min || v > max) return 0;
  *out = v;
  return 1;
}

static int make_dir(const char *path) {
  if (mkdir(path, 0777) == 0) return 0;
  int e = errno;
  struct stat st; /* an existing directory is fine whatever mkdir said (EEXIST, EROFS...) */
  if (stat(path, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  return e;
}

int cli_make_dirs(const char *path) {
  size_t len = strlen(path);
  char *buf = malloc(len + 1);
  if (!buf) return ENOMEM;
  memcpy(buf, path, len + 1);
  int e = 0;
  /* Create each prefix ending before a '/', then the whole path. */
  for (size_t i = 1; i < len && !e; i++) {
    if (buf[i] != '/' || buf[i - 1] == '/') continue;
    buf[i] = '\0';
    e = make_dir(buf);
    buf[i] = '/';
  }
  if (!e) e = make_dir(buf);
  free(buf);
  return e;
}

void cli_print_escaped(FILE *out, const char *s, int width) {
  int n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    n += *p < 0x20 || *p == 0x7f ? fprintf(out, "\\x%02x", *p) : (fputc(*p, out), 1);
  for (; n < width; n++) fputc(' ', out);
}

void cli_print_quoted(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(out, "\\x%02x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}
