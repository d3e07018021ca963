#include "util/test.h"

#include <stdarg.h>
#include <stdio.h>

int test_failures_in_current;
static int n_passed, n_failed;
static const char *current_name = "?";

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  FAIL %s (%s:%d): ", current_name, file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  test_failures_in_current++;
}

void test_run(const char *name, void (*fn)(void)) {
  current_name = name;
  test_failures_in_current = 0;
  fn();
  if (test_failures_in_current) {
    n_failed++;
    fprintf(stderr, "FAIL %s\n", name);
  } else {
    n_passed++;
  }
}

int test_summary(void) {
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
