/* A tiny test harness. A test file defines static test functions and a main:
 *
 *   TEST(adds_two_numbers) { CHECK_EQ_INT(1 + 1, 2); }
 *   int main(void) { RUN(adds_two_numbers); return test_summary(); }
 *
 * test_summary() prints "N passed, N failed" (counting test functions) and returns the exit
 * status; tests/run_all.sh adds those lines up across binaries. */
#ifndef TFL_TESTS_TEST_H
#define TFL_TESTS_TEST_H

#include <math.h>
#include <stdio.h>

extern int test_failures_in_current; /* checks failed in the running test function */

void test_run(const char *name, void (*fn)(void));
int test_summary(void);
void test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define TEST(name) static void name(void)
#define RUN(name) test_run(#name, name)

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
  do {                                                                                    \
    long long a_ = (long long)(a), b_ = (long long)(b);                                   \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                    \
    double a_ = (double)(a), b_ = (double)(b);                                            \
    if (!(fabs(a_ - b_) <= (tol)))                                                        \
      test_fail(__FILE__, __LINE__, "%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_,    \
                (double)(tol));                                                           \
  } while (0)

/* Stops the current test function when a check fails (e.g. before using a NULL pointer). */
#define REQUIRE(cond)                                                  \
  do {                                                                 \
    if (!(cond)) {                                                     \
      test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);             \
      return;                                                          \
    }                                                                  \
  } while (0)

#endif
