/* The negative corpus: models that must be refused, and corrupted models that may be refused
 * or run, through the whole public path (load, create, allocate, invoke, free). Whatever the
 * input, tfl must end with a status, a message and all memory freed, within a time bound:
 *
 * - real models (tests/fixtures, and the suites when TFL_SHARED is set) truncated at many
 *   points and with random bit and byte changes (fixed seeds);
 * - models built with one defect each: bad indices, negative and overflowing dimensions, zero
 *   strides and dilations, mismatched types, cyclic and mis-ordered graphs, recursive
 *   subgraph calls, unknown ops and types, sizes over the limits;
 * - the size limits: what a file can make tfl allocate is checked before it is allocated;
 * - every crash the fuzzers found (tests/fuzz/regressions/), replayed without a fuzzer.
 *
 * Each case runs in a forked child, so that a crash or a hang is reported as a failure of
 * that case instead of ending the test; outside sanitizer builds the child's address space
 * is also capped, so that an allocation made before a limit is checked shows up as an
 * out-of-memory failure. */
#define _DEFAULT_SOURCE /* fork, mmap(MAP_ANONYMOUS), setrlimit, opendir */
#define TFL_FUZZ_NO_ENTRY

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "../../tools/tfl/npy.c"
#include "../fuzz/fuzz_flexbuf.c"
#include "../fuzz/fuzz_model.c"
#include "../fuzz/fuzz_npy.c"
#include "format/fb_builder.h"
#include "model/ops.h"
#include "tfl/tfl.h"
#include "util/model_builder.h"
#include "util/test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NEG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define NEG_SANITIZED 1
#endif
#endif
#ifndef NEG_SANITIZED
#define NEG_SANITIZED 0
#endif

/* Seconds a single model may take, and a whole corrupted corpus of one model. */
#define NEG_CASE_SECONDS 30
#define NEG_CORPUS_SECONDS 240
/* Address space a child may add (non-sanitizer builds): far below every size the cases ask
 * for, far above what refusing them needs. */
#define NEG_CHILD_HEADROOM ((size_t)512 << 20)

/* --- running a case in a child -------------------------------------------------------- */

/* What a child found running the corrupted copies of one model. */
typedef struct corpus_stats {
  int runs, loaded, invoked, truncated_loaded, multi_line;
  double slowest_seconds; /* the model whose corpus took longest, to see where time goes */
  const char *slowest;
} corpus_stats;

/* Shared with the child (MAP_SHARED): what it found, and how far it got. */
typedef struct neg_box {
  fuzz_outcome out;
  corpus_stats stats;
  int finished;
  long progress; /* index of the mutant being run, for the report of a crash */
  int failures;  /* checks the child found failing */
  char note[512]; /* the first of them */
} neg_box;

static neg_box *g_box; /* the shared page; read-only in the parent between runs */

/* Records a failed check in the child (the parent reports the first one). */
static void box_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void box_note(const char *fmt, ...) {
  if (g_box->failures++) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_box->note, sizeof(g_box->note), fmt, ap);
  va_end(ap);
}

static void cap_address_space(void) {
  if (NEG_SANITIZED) return; /* sanitizers reserve terabytes of shadow memory */
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (!f) return;
  if (fscanf(f, "%lu", &pages) != 1) pages = 0;
  fclose(f);
  if (!pages) return;
  size_t now = (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
  struct rlimit r = {now + NEG_CHILD_HEADROOM, now + NEG_CHILD_HEADROOM};
  setrlimit(RLIMIT_AS, &r);
}

/* Runs fn(arg) in a child; returns 1 if it finished (the box then holds its findings), else
 * 0 with what went wrong (crash, sanitizer error, timeout) in how. */
static int run_child(void (*fn)(const void *arg), const void *arg, unsigned seconds,
                     char *how, size_t how_size) {
  memset(g_box, 0, sizeof(*g_box));
  g_box->progress = -1;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(how, how_size, "could not fork");
    return 0;
  }
  if (pid == 0) {
    alarm(seconds);
    cap_address_space();
    fn(arg);
    g_box->finished = 1;
    exit(0); /* not _exit: LeakSanitizer checks the child at exit */
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && g_box->finished) return 1;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    snprintf(how, how_size, "did not finish within %u s", seconds);
  else if (WIFSIGNALED(status))
    snprintf(how, how_size, "crashed with signal %d", WTERMSIG(status));
  else
    snprintf(how, how_size, "exited with status %d (sanitizer report above)",
             WEXITSTATUS(status));
  return 0;
}

/* run_child, reporting what went wrong as a failure naming `what`. */
static int run_isolated(const char *what, void (*fn)(const void *arg), const void *arg,
                        unsigned seconds) {
  char how[96];
  if (run_child(fn, arg, seconds, how, sizeof(how))) return 1;
  if (g_box->progress >= 0)
    test_fail(__FILE__, __LINE__, "%s: mutant %ld %s", what, g_box->progress, how);
  else
    test_fail(__FILE__, __LINE__, "%s: %s", what, how);
  return 0;
}

/* --- files ----------------------------------------------------------------------------- */

/* The repository root, from this file's path (CMake compiles it by full path). */
static const char *repo_path(const char *rel, char *buf, size_t size) {
  const char *unit = strstr(__FILE__, "tests/unit/test_negative.c");
  int len = unit ? (int)(unit - __FILE__) : 0;
  snprintf(buf, size, "%.*s%s", len, __FILE__, rel);
  return buf;
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* 16-byte aligned, as a model buffer should be (tfl would copy it otherwise) */
  uint8_t *buf = n >= 0 ? aligned_alloc(16, ((size_t)n + 16) & ~(size_t)15) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

typedef struct path_list {
  char **paths;
  int n, cap;
} path_list;

static void list_add(path_list *l, const char *path) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    char **paths = realloc(l->paths, (size_t)cap * sizeof(char *));
    if (!paths) return;
    l->paths = paths;
    l->cap = cap;
  }
  char *copy = strdup(path);
  if (copy) l->paths[l->n++] = copy;
}

static void list_free(path_list *l) {
  for (int i = 0; i < l->n; i++) free(l->paths[i]);
  free(l->paths);
}

static int is_model_name(const char *name) {
  size_t n = strlen(name);
  return (n > 7 && strcmp(name + n - 7, ".tflite") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".bin") == 0);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file under dir (recursively) accepted by keep, sorted for a stable order. */
static void list_tree(const char *dir, int (*keep)(const char *name), path_list *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  int first = out->n;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    struct stat sb;
    int len = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (len < 0 || (size_t)len >= sizeof(path) || stat(path, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode))
      list_tree(path, keep, out);
    else if (keep(e->d_name))
      list_add(out, path);
  }
  closedir(d);
  if (out->n > first) qsort(out->paths + first, (size_t)(out->n - first), sizeof(char *), by_name);
}

static const char *shared_dir(void) {
  const char *shared = getenv("TFL_SHARED");
  struct stat sb;
  if (!shared || stat(shared, &sb) != 0 || !S_ISDIR(sb.st_mode)) return NULL;
  return shared;
}

/* --- outcome checks ---------------------------------------------------------------------- */

static int one_line(const char *msg) { return msg[0] && !strchr(msg, '\n'); }

/* A refusal: a failure status with a one-line message containing `expect` (if not NULL). */
static void check_refused(const char *what, const fuzz_outcome *o, const char *expect) {
  if (o->status == TFL_OK) {
    test_fail(__FILE__, __LINE__, "%s: accepted and run, but it is invalid", what);
    return;
  }
  if (!one_line(o->message))
    test_fail(__FILE__, __LINE__, "%s: %s failed (%s) with the message \"%s\": want one line",
              what, o->stage, tfl_status_string(o->status), o->message);
  else if (expect && !strstr(o->message, expect))
    test_fail(__FILE__, __LINE__, "%s: %s failed with \"%s\", which does not say \"%s\"", what,
              o->stage, o->message, expect);
}

/* --- corrupted real models ----------------------------------------------------------------- */

typedef struct corpus_arg {
  const uint8_t *bytes;
  size_t size;
  int mutants;   /* random mutants to run */
  int cuts;      /* truncation points (every byte when the file is smaller) */
  unsigned seed;
} corpus_arg;

static uint32_t next_random(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* One mutant (or the unchanged file): it may load and run; if it fails it must say why. */
static void run_mutant(const uint8_t *bytes, size_t size, long index, corpus_stats *st) {
  fuzz_outcome o;
  g_box->progress = index;
  fuzz_model_run(bytes, size, NULL, &o);
  st->runs++;
  st->loaded += strcmp(o.stage, "load") != 0;
  st->invoked += o.invoked;
  if (o.status != TFL_OK && !o.message[0]) box_note("%s failed without a message", o.stage);
  /* names come from the file, so a mutated name may put a newline in a message */
  st->multi_line += o.status != TFL_OK && strchr(o.message, '\n') != NULL;
}

static void mutate(uint8_t *buf, const uint8_t *orig, size_t size, uint32_t *rng) {
  memcpy(buf, orig, size);
  int changes = 1 + (int)(next_random(rng) % 8);
  for (int c = 0; c < changes; c++) {
    size_t at = next_random(rng) % size;
    uint32_t r = next_random(rng);
    if (r & 1)
      buf[at] ^= (uint8_t)(1u << ((r >> 1) % 8)); /* a bit flip */
    else
      buf[at] = (uint8_t)(r >> 8); /* a byte change */
  }
}

static void corrupt_corpus(const void *p) {
  const corpus_arg *a = p;
  corpus_stats local = {0};
  uint8_t *buf = aligned_alloc(16, (a->size + 16) & ~(size_t)15);
  if (!buf) return;
  size_t step = a->size <= (size_t)a->cuts ? 1 : a->size / (size_t)a->cuts;
  long index = 0;
  for (size_t n = 0; n < a->size; n += step, index++) {
    memcpy(buf, a->bytes, n);
    int before = local.loaded;
    run_mutant(buf, n, index, &local);
    local.truncated_loaded += local.loaded - before;
  }
  uint32_t rng = a->seed | 1u;
  for (int k = 0; k < a->mutants; k++, index++) {
    mutate(buf, a->bytes, a->size, &rng);
    run_mutant(buf, a->size, index, &local);
  }
  free(buf);
  g_box->stats = local;
}

static void run_corpus(const char *path, int mutants, int cuts, corpus_stats *total) {
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes || size == 0) {
    free(bytes);
    return;
  }
  unsigned seed = 2166136261u;
  for (const char *c = path + strlen(path) - 1; c >= path && *c != '/'; c--)
    seed = (seed ^ (uint8_t)*c) * 16777619u;
  corpus_arg a = {bytes, size, mutants, cuts, seed};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const int finished = run_isolated(path, corrupt_corpus, &a, NEG_CORPUS_SECONDS);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  if (seconds > total->slowest_seconds) {
    total->slowest_seconds = seconds;
    total->slowest = path;
  }
  if (finished) {
    corpus_stats st = g_box->stats;
    if (g_box->failures) test_fail(__FILE__, __LINE__, "%s: %s", path, g_box->note);
    total->runs += st.runs;
    total->truncated_loaded += st.truncated_loaded;
    total->loaded += st.loaded;
    total->invoked += st.invoked;
    total->multi_line += st.multi_line;
  }
  free(bytes);
}

/* A prefix of a file loads when what was cut is padding or data no field refers to (files
 * over 2 GiB, or NPU blobs, keep data after the FlatBuffer): counted, not an error. */
static void print_stats(const char *what, int models, const corpus_stats *st) {
  printf("  %s: %d models, %d runs (%d loaded, %d of them truncated; %d invoked; %d refusals "
         "on several lines)\n", what, models, st->runs, st->loaded, st->truncated_loaded,
         st->invoked, st->multi_line);
  if (st->slowest)
    printf("  %s: slowest %s (%.1f s)\n", what, st->slowest, st->slowest_seconds);
}

static int is_any_file(const char *name) { return name[0] != '.'; }

TEST(corrupted_fixtures_fail_cleanly) {
  char dir[1024];
  path_list files = {0};
  list_tree(repo_path("tests/fixtures", dir, sizeof(dir)), is_model_name, &files);
  CHECK(files.n >= 15);
  corpus_stats st = {0};
  for (int i = 0; i < files.n; i++) run_corpus(files.paths[i], 300, 4096, &st);
  print_stats("fixtures", files.n, &st);
  list_free(&files);
}

TEST(corrupted_suite_models_fail_cleanly) {
  const char *shared = shared_dir();
  if (!shared) {
    printf("  (TFL_SHARED not set: suite models skipped)\n");
    return;
  }
  char dir[1024];
  path_list files = {0};
  snprintf(dir, sizeof(dir), "%s/reference/models", shared);
  list_tree(dir, is_model_name, &files);
  snprintf(dir, sizeof(dir), "%s/reference/unit_models/models", shared);
  list_tree(dir, is_model_name, &files);
  corpus_stats st = {0};
  for (int i = 0; i < files.n; i++) {
    struct stat sb;
    if (stat(files.paths[i], &sb) != 0) continue;
    /* fewer mutants of the big models: each one is verified and planned in full */
    int big = sb.st_size > (1 << 20);
    run_corpus(files.paths[i], big ? 4 : 24, big ? 16 : 64, &st);
  }
  print_stats("suite", files.n, &st);
  list_free(&files);
}

/* --- fuzzer regressions ------------------------------------------------------------------- */

static void replay_regression(const void *p) {
  const char *path = p;
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    box_note("%s: cannot read it", path);
    return;
  }
  char err[512] = "";
  if (strncmp(name, "model-", 6) == 0) {
    fuzz_model_run(bytes, size, NULL, &g_box->out);
    if (g_box->out.status != TFL_OK && !g_box->out.message[0])
      box_note("%s: %s failed without a message", name, g_box->out.stage);
  } else if (strncmp(name, "flexbuf-", 8) == 0) {
    fuzz_flexbuf_run(bytes, size);
  } else if (strncmp(name, "npy-", 4) == 0) {
    if (fuzz_npy_run(bytes, size, err, sizeof(err)) != TFL_OK && !err[0])
      box_note("%s: refused without a message", name);
  } else {
    box_note("%s: unknown target (name it model-, flexbuf- or npy-...)", name);
  }
  free(bytes);
}

/* tests/fuzz/known_issues.txt: bugs reported to their owners. Their inputs are replayed but a
 * crash (a sanitizer report, in sanitizer builds) does not fail the test: regression files
 * are named in it, and ops of the extreme-scales test as "[op NAME]". */
static char *read_known_issues(void) {
  char path[1024];
  size_t size;
  char *text = (char *)read_file(repo_path("tests/fuzz/known_issues.txt", path, sizeof(path)),
                                 &size);
  char *z = text ? realloc(text, size + 1) : NULL;
  if (!z) {
    free(text);
    return NULL;
  }
  z[size] = '\0';
  return z;
}

static int is_known_issue(const char *known, const char *path) {
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  return known && strstr(known, name) != NULL;
}

TEST(fuzzer_regressions_stay_fixed) {
  char dir[1024];
  path_list files = {0};
  char *known = read_known_issues();
  int n_known = 0;
  list_tree(repo_path("tests/fuzz/regressions", dir, sizeof(dir)), is_any_file, &files);
  for (int i = 0; i < files.n; i++) {
    const char *path = files.paths[i], *name = strrchr(path, '/') + 1;
    char how[96];
    if (!is_known_issue(known, path)) {
      if (run_isolated(path, replay_regression, path, NEG_CASE_SECONDS) && g_box->failures)
        test_fail(__FILE__, __LINE__, "%s", g_box->note);
      continue;
    }
    n_known++;
    if (run_child(replay_regression, path, NEG_CASE_SECONDS, how, sizeof(how)))
      printf("  %s runs cleanly here%s\n", name,
             NEG_SANITIZED ? ": if fixed, remove it from tests/fuzz/known_issues.txt" : "");
    else
      printf("  KNOWN %s %s (reported, tests/fuzz/known_issues.txt)\n", name, how);
  }
  printf("  %d regression inputs replayed, %d of them known issues\n", files.n, n_known);
  free(known);
  list_free(&files);
}

/* --- models with one defect ----------------------------------------------------------------- */

typedef struct neg_case {
  const char *name;
  uint8_t *(*build)(size_t *size);
  const char *expect;     /* a word the message must contain, or NULL */
  tfl_status status;      /* the status wanted, or TFL_OK for any failure */
  fuzz_config config;     /* limits and input bytes (fill 0x7f: huge values everywhere) */
} neg_case;

static const int32_t k_1[] = {1}, k_4[] = {4}, k_1x4x4x1[] = {1, 4, 4, 1};
static const float k_zeros[64] = {0};

static uint8_t *finish(mb_model *m, size_t *size) {
  uint8_t *bytes = mb_finish(m, size);
  mb_free(m);
  return bytes;
}

#define SECOND_IS_X (-1000)

/* x [4] float input -> op(x, second) -> y (second: a tensor index, -1 or SECOND_IS_X). */
static uint8_t *binary_model(int code, int opts, tfl_type y_type, int second, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, y_type, 1, k_4, NULL, 0, "y");
  int in[2] = {x, second == SECOND_IS_X ? x : second};
  mb_op(m, code, 1, 2, in, 1, &y, opts, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *add_input_out_of_range(size_t *size) {
  return binary_model(TFL_OP_ADD, TFL_OPTS_ADD, TFL_FLOAT32, 99, size);
}

static uint8_t *add_input_negative(size_t *size) {
  return binary_model(TFL_OP_ADD, TFL_OPTS_ADD, TFL_FLOAT32, -7, size);
}

static uint8_t *add_output_out_of_range(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int in[2] = {x, x}, out = 5;
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &out, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &x);
  return finish(m, size);
}

static uint8_t *graph_output_out_of_range(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = 3;
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *add_mixed_types(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int z = mb_tensor(m, TFL_INT32, 1, k_4, NULL, 0, "z");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, z}, io[2] = {x, z};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 2, io);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *add_one_input(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  mb_op(m, TFL_OP_ADD, 1, 1, &x, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *add_omitted_input(size_t *size) {
  return binary_model(TFL_OP_ADD, TFL_OPTS_ADD, TFL_FLOAT32, -1, size);
}

static uint8_t *add_bad_activation(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, x};
  mb_field act[] = {MB_BYTE(0, 99), MB_FIELDS_END};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, act);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* x -> ADD -> a -> ADD -> b; `order` 1 swaps the two ops, 2 makes them read each other. */
static uint8_t *two_adds(int order, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int a = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "a");
  int b = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "b");
  int first[2] = {x, order == 2 ? b : x}, second[2] = {a, a};
  if (order == 1) mb_op(m, TFL_OP_ADD, 1, 2, second, 1, &b, TFL_OPTS_ADD, NULL);
  mb_op(m, TFL_OP_ADD, 1, 2, first, 1, &a, TFL_OPTS_ADD, NULL);
  if (order != 1) mb_op(m, TFL_OP_ADD, 1, 2, second, 1, &b, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &b);
  return finish(m, size);
}

static uint8_t *misordered_graph(size_t *size) { return two_adds(1, size); }
static uint8_t *cyclic_graph(size_t *size) { return two_adds(2, size); }

static uint8_t *tensor_written_twice(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, x};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *output_never_written(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* One input tensor of the given type and shape, copied through RESHAPE to the output. */
static uint8_t *shaped_input(tfl_type type, int ndim, const int32_t *dims, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, type, ndim, dims, NULL, 0, "x");
  int y = mb_tensor(m, type, ndim, dims, NULL, 0, "y");
  mb_op(m, TFL_OP_RESHAPE, 1, 1, &x, 1, &y, 0, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *negative_dimension(size_t *size) {
  static const int32_t d[] = {2, -3};
  return shaped_input(TFL_FLOAT32, 2, d, size);
}

static uint8_t *overflowing_dimensions(size_t *size) {
  static const int32_t d[] = {INT32_MAX, INT32_MAX, INT32_MAX};
  return shaped_input(TFL_FLOAT32, 3, d, size);
}

static uint8_t *overflowing_byte_size(size_t *size) {
  static const int32_t d[] = {1 << 30, 1 << 30, 8}; /* 2^63 elements of 8 bytes */
  return shaped_input(TFL_INT64, 3, d, size);
}

static uint8_t *nine_dimensions(size_t *size) {
  static const int32_t d[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  return shaped_input(TFL_FLOAT32, 9, d, size);
}

static uint8_t *unknown_tensor_type(size_t *size) {
  return shaped_input((tfl_type)77, 1, k_4, size);
}

static uint8_t *huge_input(size_t *size) {
  static const int32_t d[] = {65536, 32768}; /* 2^31 floats: 8 GiB */
  return shaped_input(TFL_FLOAT32, 2, d, size);
}

static uint8_t *input_over_tensor_limit(size_t *size) {
  static const int32_t d[] = {1024, 1024}; /* 4 MiB, limit 1 MiB below */
  return shaped_input(TFL_FLOAT32, 2, d, size);
}

static uint8_t *constant_of_wrong_size(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int c = mb_tensor(m, TFL_FLOAT32, 1, k_4, k_zeros, 12, "c");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, c};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* x [1,4,4,1] float -> op(x, weights?) -> y, with the given options. */
static uint8_t *window_model(int code, int opts_type, const mb_field *opts, int with_filter,
                             size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 4, k_1x4x4x1, NULL, 0, "x");
  static const int32_t w_dims[] = {1, 2, 2, 1};
  int w = mb_tensor(m, TFL_FLOAT32, 4, w_dims, k_zeros, 16, "w");
  int y = mb_tensor(m, TFL_FLOAT32, 4, k_1x4x4x1, NULL, 0, "y");
  int in[2] = {x, w};
  mb_op(m, code, 1, with_filter ? 2 : 1, in, 1, &y, opts_type, opts);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *conv_zero_stride(size_t *size) {
  mb_field o[] = {MB_INT(1, 0), MB_INT(2, 1), MB_FIELDS_END};
  return window_model(TFL_OP_CONV_2D, TFL_OPTS_CONV_2D, o, 1, size);
}

static uint8_t *conv_zero_dilation(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(4, 0), MB_INT(5, 1), MB_FIELDS_END};
  return window_model(TFL_OP_CONV_2D, TFL_OPTS_CONV_2D, o, 1, size);
}

static uint8_t *conv_negative_stride(size_t *size) {
  mb_field o[] = {MB_INT(1, -2), MB_INT(2, 1), MB_FIELDS_END};
  return window_model(TFL_OP_CONV_2D, TFL_OPTS_CONV_2D, o, 1, size);
}

static uint8_t *conv_huge_dilation(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(4, INT32_MAX), MB_INT(5, INT32_MAX),
                  MB_FIELDS_END};
  return window_model(TFL_OP_CONV_2D, TFL_OPTS_CONV_2D, o, 1, size);
}

static uint8_t *depthwise_zero_stride(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 0), MB_INT(3, 1), MB_FIELDS_END};
  return window_model(TFL_OP_DEPTHWISE_CONV_2D, TFL_OPTS_DEPTHWISE_CONV_2D, o, 1, size);
}

static uint8_t *depthwise_zero_dilation(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 1), MB_INT(5, 1), MB_INT(6, 0),
                  MB_FIELDS_END};
  return window_model(TFL_OP_DEPTHWISE_CONV_2D, TFL_OPTS_DEPTHWISE_CONV_2D, o, 1, size);
}

static uint8_t *pool_zero_stride(size_t *size) {
  mb_field o[] = {MB_INT(1, 0), MB_INT(2, 0), MB_INT(3, 2), MB_INT(4, 2), MB_FIELDS_END};
  return window_model(TFL_OP_MAX_POOL_2D, TFL_OPTS_POOL_2D, o, 0, size);
}

static uint8_t *pool_zero_filter(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 0), MB_INT(4, 0), MB_FIELDS_END};
  return window_model(TFL_OP_AVERAGE_POOL_2D, TFL_OPTS_POOL_2D, o, 0, size);
}

static uint8_t *conv_int32_input(size_t *size) {
  mb_field o[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_INT32, 4, k_1x4x4x1, NULL, 0, "x");
  static const int32_t w_dims[] = {1, 2, 2, 1};
  int w = mb_tensor(m, TFL_FLOAT32, 4, w_dims, k_zeros, 16, "w");
  int y = mb_tensor(m, TFL_FLOAT32, 4, k_1x4x4x1, NULL, 0, "y");
  int in[2] = {x, w};
  mb_op(m, TFL_OP_CONV_2D, 1, 2, in, 1, &y, TFL_OPTS_CONV_2D, o);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *space_to_depth_zero_block(size_t *size) {
  mb_field o[] = {MB_INT(0, 0), MB_FIELDS_END};
  return window_model(TFL_OP_SPACE_TO_DEPTH, TFL_OPTS_SPACE_TO_DEPTH, o, 0, size);
}

/* x [4] float with a constant int32 second input (perm, shape, begin...). */
static uint8_t *with_int_constant(int code, int opts_type, const mb_field *opts, int n,
                                  const int32_t *values, int n_extra, const int32_t *extra,
                                  size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  const int32_t c_dims[1] = {n}, e_dims[1] = {n_extra};
  int c = mb_tensor(m, TFL_INT32, 1, c_dims, values, (size_t)n * 4, "c");
  int e = n_extra ? mb_tensor(m, TFL_INT32, 1, e_dims, extra, (size_t)n_extra * 4, "e") : -1;
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[3] = {x, c, e};
  mb_op(m, code, 1, n_extra ? 3 : 2, in, 1, &y, opts_type, opts);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *reshape_wrong_count(size_t *size) {
  static const int32_t shape[] = {3};
  return with_int_constant(TFL_OP_RESHAPE, 0, NULL, 1, shape, 0, NULL, size);
}

static uint8_t *reshape_two_unknowns(size_t *size) {
  static const int32_t shape[] = {-1, -1};
  return with_int_constant(TFL_OP_RESHAPE, 0, NULL, 2, shape, 0, NULL, size);
}

static uint8_t *transpose_bad_perm(size_t *size) {
  static const int32_t perm[] = {5};
  return with_int_constant(TFL_OP_TRANSPOSE, TFL_OPTS_TRANSPOSE, NULL, 1, perm, 0, NULL, size);
}

static uint8_t *slice_past_the_end(size_t *size) {
  static const int32_t begin[] = {3}, len[] = {5};
  return with_int_constant(TFL_OP_SLICE, TFL_OPTS_SLICE, NULL, 1, begin, 1, len, size);
}

static uint8_t *strided_slice_zero_stride(size_t *size) {
  static const int32_t begin[] = {0};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int b = mb_tensor(m, TFL_INT32, 1, k_1, begin, 4, "begin");
  int e = mb_tensor(m, TFL_INT32, 1, k_1, k_4, 4, "end");
  int s = mb_tensor(m, TFL_INT32, 1, k_1, begin, 4, "strides");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[4] = {x, b, e, s};
  mb_op(m, TFL_OP_STRIDED_SLICE, 1, 4, in, 1, &y, TFL_OPTS_STRIDED_SLICE, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *gather_index_out_of_range(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int i = mb_tensor(m, TFL_INT32, 1, k_1, NULL, 0, "indices");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "y");
  int in[2] = {x, i};
  mb_op(m, TFL_OP_GATHER, 1, 2, in, 1, &y, TFL_OPTS_GATHER, NULL);
  mb_inputs(m, 2, in);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *pad_negative(size_t *size) {
  static const int32_t pads[] = {-3, 1};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  static const int32_t p_dims[] = {1, 2};
  int p = mb_tensor(m, TFL_INT32, 2, p_dims, pads, 8, "paddings");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, p};
  mb_op(m, TFL_OP_PAD, 1, 2, in, 1, &y, TFL_OPTS_PAD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *concat_axis_out_of_range(size_t *size) {
  mb_field o[] = {MB_INT(0, 7), MB_FIELDS_END};
  return window_model(TFL_OP_CONCATENATION, TFL_OPTS_CONCATENATION, o, 1, size);
}

static uint8_t *mean_axis_out_of_range(size_t *size) {
  static const int32_t axis[] = {9};
  return with_int_constant(TFL_OP_MEAN, TFL_OPTS_REDUCER, NULL, 1, axis, 0, NULL, size);
}

/* An int8 ADD whose tensors have the given output scale. */
static uint8_t *int8_add_scale(float out_scale, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_INT8, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_INT8, 1, k_4, NULL, 0, "y");
  const float one = 1.0f;
  const int64_t zp = 0;
  mb_quant(m, x, 1, &one, &zp, 0);
  mb_quant(m, y, 1, &out_scale, &zp, 0);
  int in[2] = {x, x};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *int8_zero_scale(size_t *size) { return int8_add_scale(0.0f, size); }
static uint8_t *int8_nan_scale(size_t *size) { return int8_add_scale(NAN, size); }
static uint8_t *int8_infinite_scale(size_t *size) { return int8_add_scale(INFINITY, size); }
static uint8_t *int8_negative_scale(size_t *size) { return int8_add_scale(-0.5f, size); }

static uint8_t *op_with_code(int code, int version, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {x, x};
  mb_op(m, code, version, 2, in, 1, &y, 0, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static uint8_t *unknown_builtin(size_t *size) { return op_with_code(9999, 1, size); }

static uint8_t *unknown_custom_op(size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  mb_custom_op(m, "NoSuchOp", 1, &x, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* --- control flow ---------------------------------------------------------------------- */

/* Subgraph 0: x -> op(options) -> y, all [1] float; the other subgraphs come after. */
static mb_model *calling_model(int code, int opts_type, const mb_field *opts) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "y");
  mb_op(m, code, 1, 1, &x, 1, &y, opts_type, opts);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return m;
}

/* A [1] float -> [1] float subgraph: b = a * 0, or a WHILE that calls cond/body. */
static void pass_through_subgraph(mb_model *m, int while_cond, int while_body) {
  mb_subgraph(m, NULL);
  int a = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "a");
  int z = mb_tensor(m, TFL_FLOAT32, 1, k_1, k_zeros, 4, "zero");
  int b = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "b");
  mb_field w[] = {MB_INT(0, while_cond), MB_INT(1, while_body), MB_FIELDS_END};
  int in[2] = {a, z};
  if (while_cond >= 0)
    mb_op(m, TFL_OP_WHILE, 1, 1, &a, 1, &b, TFL_OPTS_WHILE, w);
  else
    mb_op(m, TFL_OP_MUL, 1, 2, in, 1, &b, TFL_OPTS_MUL, NULL);
  mb_inputs(m, 1, &a);
  mb_outputs(m, 1, &b);
}

/* A [1] float -> bool subgraph: a < 10 (or a < +inf: always true). */
static void cond_subgraph(mb_model *m, float bound) {
  mb_subgraph(m, NULL);
  int a = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "a");
  int c = mb_tensor(m, TFL_FLOAT32, 1, k_1, &bound, 4, "bound");
  int b = mb_tensor(m, TFL_BOOL, 1, k_1, NULL, 0, "b");
  int in[2] = {a, c};
  mb_op(m, TFL_OP_LESS, 1, 2, in, 1, &b, TFL_OPTS_LESS, NULL);
  mb_inputs(m, 1, &a);
  mb_outputs(m, 1, &b);
}

static uint8_t *while_body_calls_itself(size_t *size) {
  mb_field w[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  mb_model *m = calling_model(TFL_OP_WHILE, TFL_OPTS_WHILE, w);
  cond_subgraph(m, 10.0f);
  pass_through_subgraph(m, 1, 2); /* subgraph 2, the body, runs WHILE(1, 2) again */
  return finish(m, size);
}

static uint8_t *while_on_the_main_graph(size_t *size) {
  mb_field w[] = {MB_INT(0, 1), MB_INT(1, 0), MB_FIELDS_END};
  mb_model *m = calling_model(TFL_OP_WHILE, TFL_OPTS_WHILE, w);
  cond_subgraph(m, 10.0f);
  return finish(m, size);
}

static uint8_t *while_forever(size_t *size) {
  mb_field w[] = {MB_INT(0, 1), MB_INT(1, 2), MB_FIELDS_END};
  mb_model *m = calling_model(TFL_OP_WHILE, TFL_OPTS_WHILE, w);
  cond_subgraph(m, INFINITY);
  pass_through_subgraph(m, -1, -1);
  return finish(m, size);
}

static uint8_t *while_subgraph_out_of_range(size_t *size) {
  mb_field w[] = {MB_INT(0, 7), MB_INT(1, 0), MB_FIELDS_END};
  return finish(calling_model(TFL_OP_WHILE, TFL_OPTS_WHILE, w), size);
}

/* Subgraph 0 runs CALL_ONCE(init) before ADD; subgraphs 1.. are CALL_ONCE(next) chains. */
static uint8_t *call_once_chain(int init, const int *next, int n, size_t *size) {
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "y");
  mb_field o[] = {MB_INT(0, init), MB_FIELDS_END};
  int in[2] = {x, x};
  mb_op(m, TFL_OP_CALL_ONCE, 1, 0, NULL, 0, NULL, TFL_OPTS_CALL_ONCE, o);
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  for (int i = 0; i < n; i++) {
    mb_subgraph(m, NULL);
    mb_field c[] = {MB_INT(0, next[i]), MB_FIELDS_END};
    mb_op(m, TFL_OP_CALL_ONCE, 1, 0, NULL, 0, NULL, TFL_OPTS_CALL_ONCE, c);
  }
  return finish(m, size);
}

static uint8_t *call_once_of_itself(size_t *size) { return call_once_chain(0, NULL, 0, size); }

static uint8_t *call_once_cycle(size_t *size) {
  static const int next[] = {2, 1}; /* 1 -> 2 -> 1 */
  return call_once_chain(1, next, 2, size);
}

static uint8_t *if_on_the_main_graph(size_t *size) {
  mb_model *m = mb_new();
  int c = mb_tensor(m, TFL_BOOL, 1, k_1, NULL, 0, "c");
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "y");
  mb_field o[] = {MB_INT(0, 1), MB_INT(1, 0), MB_FIELDS_END};
  int in[2] = {c, x};
  mb_op(m, TFL_OP_IF, 1, 2, in, 1, &y, TFL_OPTS_IF, o);
  mb_inputs(m, 2, in);
  mb_outputs(m, 1, &y);
  pass_through_subgraph(m, -1, -1);
  return finish(m, size);
}

/* --- models the builder cannot express: raw FlatBuffers --------------------------------- */

typedef struct raw_spec {
  uint32_t opcode_index; /* of the one operator (there is one operator code, ADD) */
  uint32_t buffer;       /* of tensor 0 (there are two buffers: empty, and one float) */
  int sparse_huge;       /* tensor 0 is a sparse constant of shape [65536, 65536] */
} raw_spec;

static fb_ref raw_ints(fb_builder *b, const int32_t *v, size_t n) {
  return fbb_vector(b, v, n, 4, 4);
}

/* One CSR level holding a single index 0 in its single segment. */
static fb_ref raw_csr_level(fb_builder *b) {
  static const int32_t segments[] = {0, 1}, indices[] = {0};
  fb_ref seg_vec = raw_ints(b, segments, 2), idx_vec = raw_ints(b, indices, 1);
  fbb_start(b);
  fbb_add_ref(b, 0, seg_vec);
  fb_ref seg = fbb_end(b);
  fbb_start(b);
  fbb_add_ref(b, 0, idx_vec);
  fb_ref idx = fbb_end(b);
  fbb_start(b);
  fbb_add_u8(b, 0, 1); /* SPARSE_CSR */
  fbb_add_u8(b, 2, 1); /* Int32Vector */
  fbb_add_ref(b, 3, seg);
  fbb_add_u8(b, 4, 1);
  fbb_add_ref(b, 5, idx);
  return fbb_end(b);
}

static fb_ref raw_sparsity(fb_builder *b) {
  static const int32_t order[] = {0, 1};
  fb_ref levels[2] = {raw_csr_level(b), raw_csr_level(b)};
  fb_ref order_vec = raw_ints(b, order, 2), level_vec = fbb_refs(b, levels, 2);
  fbb_start(b);
  fbb_add_ref(b, 0, order_vec);
  fbb_add_ref(b, 2, level_vec);
  return fbb_end(b);
}

static fb_ref raw_tensor(fb_builder *b, const int32_t *shape, int ndim, uint32_t buffer,
                         fb_ref sparsity) {
  fb_ref shape_vec = raw_ints(b, shape, (size_t)ndim);
  fbb_start(b);
  fbb_add_ref(b, 0, shape_vec);
  fbb_add_u8(b, 1, TFL_FLOAT32);
  fbb_add_u32(b, 2, buffer);
  fbb_add_ref(b, 6, sparsity);
  return fbb_end(b);
}

static fb_ref raw_subgraph(fb_builder *b, const raw_spec *s) {
  static const int32_t huge[] = {65536, 65536}, in[] = {0, 0}, out[] = {1};
  fb_ref sparsity = s->sparse_huge ? raw_sparsity(b) : 0;
  fb_ref tensors[2] = {raw_tensor(b, s->sparse_huge ? huge : k_1, s->sparse_huge ? 2 : 1,
                                  s->buffer, sparsity),
                       raw_tensor(b, k_1, 1, 0, 0)};
  fb_ref tensor_vec = fbb_refs(b, tensors, 2);
  fb_ref op_in = raw_ints(b, in, 2), op_out = raw_ints(b, out, 1);
  fbb_start(b);
  fbb_add_u32(b, 0, s->opcode_index);
  fbb_add_ref(b, 1, op_in);
  fbb_add_ref(b, 2, op_out);
  fb_ref op = fbb_end(b);
  fb_ref op_vec = fbb_refs(b, &op, 1), outputs = raw_ints(b, out, 1);
  fbb_start(b);
  fbb_add_ref(b, 0, tensor_vec);
  fbb_add_ref(b, 2, outputs);
  fbb_add_ref(b, 3, op_vec);
  return fbb_end(b);
}

static uint8_t *raw_model(const raw_spec *s, size_t *size) {
  fb_builder b;
  fbb_init(&b);
  const float one = 1.0f;
  fb_ref data = fbb_vector(&b, &one, 4, 1, 16);
  fbb_start(&b);
  fb_ref empty = fbb_end(&b);
  fbb_start(&b);
  fbb_add_ref(&b, 0, data);
  fb_ref full = fbb_end(&b);
  fb_ref buffers[2] = {empty, full};
  fb_ref buffer_vec = fbb_refs(&b, buffers, 2);
  fbb_start(&b);
  fbb_add_u32(&b, 2, 1); /* version */
  fbb_add_u32(&b, 3, TFL_OP_ADD);
  fb_ref code = fbb_end(&b);
  fb_ref code_vec = fbb_refs(&b, &code, 1);
  fb_ref sg = raw_subgraph(&b, s);
  fb_ref sg_vec = fbb_refs(&b, &sg, 1);
  fbb_start(&b);
  fbb_add_u32(&b, 0, 3);
  fbb_add_ref(&b, 1, code_vec);
  fbb_add_ref(&b, 2, sg_vec);
  fbb_add_ref(&b, 4, buffer_vec);
  fb_ref root = fbb_end(&b);
  uint8_t *bytes = fbb_finish(&b, root, "TFL3", size);
  fbb_free(&b);
  return bytes;
}

static uint8_t *opcode_index_out_of_range(size_t *size) {
  raw_spec s = {3, 1, 0};
  return raw_model(&s, size);
}

static uint8_t *buffer_index_out_of_range(size_t *size) {
  raw_spec s = {0, 9, 0};
  return raw_model(&s, size);
}

/* Two stored values that would densify into 16 GiB. */
static uint8_t *sparse_constant_too_large(size_t *size) {
  raw_spec s = {0, 1, 1};
  return raw_model(&s, size);
}

/* One operator table shared by `ops` entries of the operator vector, with `inputs` inputs
 * each: a small file that would decode into ops * inputs * 4 bytes of input lists. */
static uint8_t *shared_operator_table(int ops, int inputs, size_t *size) {
  fb_builder b;
  fbb_init(&b);
  int32_t *zeros = calloc((size_t)inputs, sizeof(int32_t));
  fb_ref *refs = malloc((size_t)ops * sizeof(fb_ref));
  fb_ref in_vec = raw_ints(&b, zeros, (size_t)inputs), out_vec = raw_ints(&b, k_1, 0);
  fbb_start(&b);
  fbb_add_ref(&b, 1, in_vec);
  fbb_add_ref(&b, 2, out_vec);
  fb_ref op = fbb_end(&b);
  for (int i = 0; i < ops; i++) refs[i] = op;
  fb_ref op_vec = fbb_refs(&b, refs, (size_t)ops);
  fb_ref tensor = raw_tensor(&b, k_1, 1, 0, 0);
  fb_ref tensor_vec = fbb_refs(&b, &tensor, 1);
  fbb_start(&b);
  fbb_add_ref(&b, 0, tensor_vec);
  fbb_add_ref(&b, 3, op_vec);
  fb_ref sg = fbb_end(&b);
  fb_ref sg_vec = fbb_refs(&b, &sg, 1);
  fbb_start(&b);
  fbb_add_u32(&b, 3, TFL_OP_ADD);
  fb_ref code = fbb_end(&b);
  fb_ref code_vec = fbb_refs(&b, &code, 1);
  fbb_start(&b);
  fbb_add_u32(&b, 0, 3);
  fbb_add_ref(&b, 1, code_vec);
  fbb_add_ref(&b, 2, sg_vec);
  fb_ref root = fbb_end(&b);
  uint8_t *bytes = fbb_finish(&b, root, "TFL3", size);
  fbb_free(&b);
  free(zeros);
  free(refs);
  return bytes;
}

static uint8_t *shared_vectors_gigabytes(size_t *size) {
  return shared_operator_table(16384, 16384, size); /* 128 KB of file, 1 GiB of lists */
}

/* --- sizes against the limits ----------------------------------------------------------- */

/* A constant shape tensor [65536, 32768] broadcast from x: the op's output is 8 GiB. */
static uint8_t *op_output_over_the_limit(size_t *size) {
  static const int32_t target[] = {65536, 32768}, two[] = {2};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "x");
  int s = mb_tensor(m, TFL_INT32, 1, two, target, 8, "shape");
  int y = mb_tensor(m, TFL_FLOAT32, 2, target, NULL, 0, "y");
  int in[2] = {x, s};
  mb_op(m, TFL_OP_BROADCAST_TO, 1, 2, in, 1, &y, TFL_OPTS_BROADCAST_TO, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* PAD of a constant by 2^28 on each side: folded at allocate time into a 2 GiB tensor. */
static uint8_t *folded_output_over_the_limit(size_t *size) {
  static const int32_t pads[] = {1 << 28, 1 << 28}, p_dims[] = {1, 2};
  mb_model *m = mb_new();
  int c = mb_tensor(m, TFL_FLOAT32, 1, k_4, k_zeros, 16, "c");
  int p = mb_tensor(m, TFL_INT32, 2, p_dims, pads, 8, "paddings");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  int in[2] = {c, p};
  mb_op(m, TFL_OP_PAD, 1, 2, in, 1, &y, TFL_OPTS_PAD, NULL);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* y = x + state, where the variable state is [65536, 32768] (8 GiB) and x is [1]. */
static uint8_t *variable_over_the_limit(size_t *size) {
  static const int32_t d[] = {65536, 32768};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_1, NULL, 0, "x");
  int v = mb_tensor(m, TFL_FLOAT32, 2, d, NULL, 0, "state");
  mb_variable(m, v);
  int y = mb_tensor(m, TFL_FLOAT32, 2, d, NULL, 0, "y");
  int in[2] = {x, v};
  mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &y, TFL_OPTS_ADD, NULL);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

/* 40 outputs of 32 MiB each, all alive at the end: 1.25 GiB of arena, no tensor too big. */
static uint8_t *arena_over_the_limit(size_t *size) {
  static const int32_t d[] = {8 << 20};
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, d, NULL, 0, "x");
  int outs[40];
  for (int i = 0; i < 40; i++) {
    outs[i] = mb_tensor(m, TFL_FLOAT32, 1, d, NULL, 0, NULL);
    int in[2] = {x, x};
    mb_op(m, TFL_OP_ADD, 1, 2, in, 1, &outs[i], TFL_OPTS_ADD, NULL);
  }
  mb_inputs(m, 1, &x);
  mb_outputs(m, 40, outs);
  return finish(m, size);
}

#define LIMITS(arena, tensor) {(arena), (tensor), (size_t)1 << 20, 0}
#define DEFAULT_LIMITS LIMITS((size_t)1 << 30, (size_t)1 << 30)
#define SMALL_LIMITS LIMITS((size_t)64 << 20, (size_t)64 << 20)

static const neg_case k_cases[] = {
    /* indices */
    {"op input out of range", add_input_out_of_range, "tensor 99", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"op input negative", add_input_negative, "tensor -7", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"op output out of range", add_output_out_of_range, "tensor 5", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"graph output out of range", graph_output_out_of_range, "tensor 3", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"opcode index out of range", opcode_index_out_of_range, "opcode index 3", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"buffer index out of range", buffer_index_out_of_range, "buffer 9", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"WHILE subgraph out of range", while_subgraph_out_of_range, "subgraph 7",
     TFL_INVALID_MODEL, SMALL_LIMITS},
    /* shapes and types */
    {"negative dimension", negative_dimension, "-3", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"dimensions overflowing", overflowing_dimensions, "too many elements", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"byte size overflowing", overflowing_byte_size, "overflows", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"nine dimensions", nine_dimensions, "dimensions", TFL_UNSUPPORTED, SMALL_LIMITS},
    {"unknown tensor type", unknown_tensor_type, "type 77", TFL_UNSUPPORTED, SMALL_LIMITS},
    {"constant of the wrong size", constant_of_wrong_size, "12 bytes", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"ADD of float and int32", add_mixed_types, "int32", TFL_OK, SMALL_LIMITS},
    {"CONV_2D of int32", conv_int32_input, "int32", TFL_OK, SMALL_LIMITS},
    {"ADD with one input", add_one_input, "input", TFL_OK, SMALL_LIMITS},
    {"ADD with an omitted input", add_omitted_input, "input", TFL_OK, SMALL_LIMITS},
    {"ADD with an unknown activation", add_bad_activation, "activation", TFL_OK, SMALL_LIMITS},
    /* options */
    {"CONV_2D stride 0", conv_zero_stride, "stride", TFL_OK, SMALL_LIMITS},
    {"CONV_2D stride -2", conv_negative_stride, "stride", TFL_OK, SMALL_LIMITS},
    {"CONV_2D dilation 0", conv_zero_dilation, "dilation", TFL_OK, SMALL_LIMITS},
    {"CONV_2D dilation 2^31-1", conv_huge_dilation, NULL, TFL_OK, SMALL_LIMITS},
    {"DEPTHWISE_CONV_2D stride 0", depthwise_zero_stride, "stride", TFL_OK, SMALL_LIMITS},
    {"DEPTHWISE_CONV_2D dilation 0", depthwise_zero_dilation, "dilation", TFL_OK, SMALL_LIMITS},
    {"MAX_POOL_2D stride 0", pool_zero_stride, "stride", TFL_OK, SMALL_LIMITS},
    {"AVERAGE_POOL_2D filter 0", pool_zero_filter, "filter", TFL_OK, SMALL_LIMITS},
    {"SPACE_TO_DEPTH block 0", space_to_depth_zero_block, "block", TFL_OK, SMALL_LIMITS},
    {"STRIDED_SLICE stride 0", strided_slice_zero_stride, "stride", TFL_OK, SMALL_LIMITS},
    {"RESHAPE to another count", reshape_wrong_count, NULL, TFL_OK, SMALL_LIMITS},
    {"RESHAPE with two -1", reshape_two_unknowns, NULL, TFL_OK, SMALL_LIMITS},
    {"TRANSPOSE permutation out of range", transpose_bad_perm, NULL, TFL_OK, SMALL_LIMITS},
    {"SLICE past the end", slice_past_the_end, NULL, TFL_OK, SMALL_LIMITS},
    {"PAD by a negative amount", pad_negative, NULL, TFL_OK, SMALL_LIMITS},
    {"CONCATENATION axis 7", concat_axis_out_of_range, "axis", TFL_OK, SMALL_LIMITS},
    {"MEAN axis 9", mean_axis_out_of_range, "axis", TFL_OK, SMALL_LIMITS},
    {"GATHER index out of range", gather_index_out_of_range, "index", TFL_OK,
     {(size_t)64 << 20, (size_t)64 << 20, (size_t)1 << 20, 0x7f}},
    {"int8 output scale 0", int8_zero_scale, "scale", TFL_OK, SMALL_LIMITS},
    {"int8 output scale NaN", int8_nan_scale, "scale", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"int8 output scale inf", int8_infinite_scale, "scale", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"int8 output scale -0.5", int8_negative_scale, "scale", TFL_OK, SMALL_LIMITS},
    /* graphs */
    {"operators out of order", misordered_graph, "execution order", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"operators in a cycle", cyclic_graph, "execution order", TFL_INVALID_MODEL, SMALL_LIMITS},
    {"tensor written twice", tensor_written_twice, "written by another", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"output never written", output_never_written, "never written", TFL_INVALID_MODEL,
     SMALL_LIMITS},
    {"unknown builtin op", unknown_builtin, "unsupported", TFL_UNSUPPORTED, SMALL_LIMITS},
    {"unknown custom op", unknown_custom_op, "NoSuchOp", TFL_UNSUPPORTED, SMALL_LIMITS},
    /* control flow */
    {"WHILE body calling itself", while_body_calls_itself, "recursive", TFL_OK, SMALL_LIMITS},
    {"WHILE over the main graph", while_on_the_main_graph, NULL, TFL_OK, SMALL_LIMITS},
    {"WHILE that never ends", while_forever, "cancel", TFL_CANCELLED, SMALL_LIMITS},
    {"CALL_ONCE of its own graph", call_once_of_itself, "subgraph", TFL_OK, SMALL_LIMITS},
    {"CALL_ONCE cycle 1 -> 2 -> 1", call_once_cycle, "recursive", TFL_OK, SMALL_LIMITS},
    {"IF branch is the main graph", if_on_the_main_graph, NULL, TFL_OK, SMALL_LIMITS},
    /* sizes: refused before anything that large is allocated */
    {"input of 8 GiB", huge_input, "limit", TFL_LIMIT_EXCEEDED, DEFAULT_LIMITS},
    {"input over a 1 MiB tensor limit", input_over_tensor_limit, "limit", TFL_LIMIT_EXCEEDED,
     LIMITS((size_t)64 << 20, (size_t)1 << 20)},
    {"op output of 8 GiB", op_output_over_the_limit, "limit", TFL_LIMIT_EXCEEDED, DEFAULT_LIMITS},
    {"folded constant of 2 GiB", folded_output_over_the_limit, "limit", TFL_LIMIT_EXCEEDED,
     DEFAULT_LIMITS},
    {"variable of 8 GiB", variable_over_the_limit, "limit", TFL_LIMIT_EXCEEDED, DEFAULT_LIMITS},
    {"arena of 1.25 GiB", arena_over_the_limit, "limit", TFL_LIMIT_EXCEEDED, DEFAULT_LIMITS},
    {"sparse constant of 16 GiB", sparse_constant_too_large, "limit", TFL_LIMIT_EXCEEDED,
     DEFAULT_LIMITS},
    {"shared vectors decoding to 1 GiB", shared_vectors_gigabytes, "shared", TFL_LIMIT_EXCEEDED,
     DEFAULT_LIMITS},
};

static void run_case(const void *p) {
  const neg_case *c = p;
  size_t size = 0;
  uint8_t *bytes = c->build(&size);
  if (!bytes) {
    box_note("%s: the test could not build its model", c->name);
    return;
  }
  fuzz_model_run(bytes, size, &c->config, &g_box->out);
  free(bytes);
}

/* TFL_NEG_VERBOSE=1 prints every refusal, to review the messages. */
TEST(invalid_models_are_refused) {
  int n = (int)(sizeof(k_cases) / sizeof(k_cases[0]));
  int verbose = getenv("TFL_NEG_VERBOSE") != NULL;
  for (int i = 0; i < n; i++) {
    const neg_case *c = &k_cases[i];
    if (!run_isolated(c->name, run_case, c, NEG_CASE_SECONDS)) continue;
    if (g_box->failures) {
      test_fail(__FILE__, __LINE__, "%s", g_box->note);
      continue;
    }
    const fuzz_outcome *o = &g_box->out;
    if (verbose) printf("  %-36s %-9s %s\n", c->name, o->stage, o->message);
    check_refused(c->name, o, c->expect);
    if (c->status != TFL_OK && o->status != TFL_OK && o->status != c->status)
      test_fail(__FILE__, __LINE__, "%s: status %s (%s), want %s", c->name,
                tfl_status_string(o->status), o->message, tfl_status_string(c->status));
  }
  printf("  %d invalid models refused%s\n", n,
         NEG_SANITIZED ? "" : ", each under an address-space cap of +512 MiB");
}

/* --- extreme quantization parameters ------------------------------------------------------ */

/* Quantized ops whose fixed-point multipliers come from scale ratios: with finite but extreme
 * scales (ratios of 2^±200, denormals) they must refuse the model or compute something, never
 * shift, convert or overflow out of range (which the sanitizer builds report). */
enum { QOP_UNARY, QOP_BINARY, QOP_WEIGHTS, QOP_AXIS };

typedef struct qop {
  const char *name;
  int code, opts_type, kind;
  tfl_type type;
  int ndim;
  const int32_t *dims;     /* input shape */
  const int32_t *w_dims;   /* QOP_WEIGHTS: filter shape (4-D, or 2-D for FULLY_CONNECTED) */
  const mb_field *opts;
} qop;

typedef struct qop_run {
  const qop *op;
  float in_scale, w_scale, out_scale;
  int fill;
} qop_run;

static const int32_t k_1x4[] = {1, 4}, k_2x4[] = {2, 4}, k_1x2x2x1[] = {1, 2, 2, 1};
static const mb_field k_stride1[] = {MB_INT(1, 1), MB_INT(2, 1), MB_FIELDS_END};
static const mb_field k_depthwise1[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 1), MB_FIELDS_END};
static const mb_field k_pool2[] = {MB_INT(1, 1), MB_INT(2, 1), MB_INT(3, 2), MB_INT(4, 2),
                                   MB_FIELDS_END};
static const mb_field k_beta1[] = {MB_FLOAT(0, 1.0f), MB_FIELDS_END};

static const qop k_qops[] = {
    {"ADD", TFL_OP_ADD, TFL_OPTS_ADD, QOP_BINARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"ADD int16", TFL_OP_ADD, TFL_OPTS_ADD, QOP_BINARY, TFL_INT16, 1, k_4, NULL, NULL},
    {"SUB", TFL_OP_SUB, TFL_OPTS_SUB, QOP_BINARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"MUL", TFL_OP_MUL, TFL_OPTS_MUL, QOP_BINARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"MUL int16", TFL_OP_MUL, TFL_OPTS_MUL, QOP_BINARY, TFL_INT16, 1, k_4, NULL, NULL},
    {"SQUARED_DIFFERENCE", TFL_OP_SQUARED_DIFFERENCE, 0, QOP_BINARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"MAXIMUM", TFL_OP_MAXIMUM, 0, QOP_BINARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"FULLY_CONNECTED", TFL_OP_FULLY_CONNECTED, TFL_OPTS_FULLY_CONNECTED, QOP_WEIGHTS, TFL_INT8,
     2, k_1x4, k_2x4, NULL},
    {"CONV_2D", TFL_OP_CONV_2D, TFL_OPTS_CONV_2D, QOP_WEIGHTS, TFL_INT8, 4, k_1x4x4x1,
     k_1x2x2x1, k_stride1},
    {"DEPTHWISE_CONV_2D", TFL_OP_DEPTHWISE_CONV_2D, TFL_OPTS_DEPTHWISE_CONV_2D, QOP_WEIGHTS,
     TFL_INT8, 4, k_1x4x4x1, k_1x2x2x1, k_depthwise1},
    {"AVERAGE_POOL_2D", TFL_OP_AVERAGE_POOL_2D, TFL_OPTS_POOL_2D, QOP_UNARY, TFL_INT8, 4,
     k_1x4x4x1, NULL, k_pool2},
    {"QUANTIZE", TFL_OP_QUANTIZE, TFL_OPTS_QUANTIZE, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"LOGISTIC", TFL_OP_LOGISTIC, 0, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"TANH", TFL_OP_TANH, 0, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"SOFTMAX", TFL_OP_SOFTMAX, TFL_OPTS_SOFTMAX, QOP_UNARY, TFL_INT8, 2, k_1x4, NULL, k_beta1},
    {"LEAKY_RELU", TFL_OP_LEAKY_RELU, 0, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"HARD_SWISH", TFL_OP_HARD_SWISH, 0, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"RELU", TFL_OP_RELU, 0, QOP_UNARY, TFL_INT8, 1, k_4, NULL, NULL},
    {"L2_NORMALIZATION", TFL_OP_L2_NORMALIZATION, 0, QOP_UNARY, TFL_INT8, 2, k_1x4, NULL, NULL},
    {"MEAN", TFL_OP_MEAN, TFL_OPTS_REDUCER, QOP_AXIS, TFL_INT8, 2, k_1x4, NULL, NULL},
    {"SUM", TFL_OP_SUM, TFL_OPTS_REDUCER, QOP_AXIS, TFL_INT8, 2, k_1x4, NULL, NULL},
};

static void quantize_as(mb_model *m, int tensor, float scale, int64_t zero_point) {
  mb_quant(m, tensor, 1, &scale, &zero_point, 0);
}

/* The op's extra inputs: a second activation, weights and bias, or a reduction axis. */
static int qop_inputs(mb_model *m, const qop_run *r, int x, int *in) {
  static const int8_t weights[16] = {127, -128, 1, -1, 100, -100, 7, -7,
                                     127, -128, 1, -1, 100, -100, 7, -7};
  static const int32_t bias[2] = {INT32_MAX, INT32_MIN}, axis[1] = {1};
  const qop *op = r->op;
  in[0] = x;
  if (op->kind == QOP_UNARY) return 1;
  if (op->kind == QOP_BINARY) {
    in[1] = mb_tensor(m, op->type, op->ndim, op->dims, NULL, 0, "x2");
    quantize_as(m, in[1], r->w_scale, 3);
    return 2;
  }
  if (op->kind == QOP_AXIS) {
    in[1] = mb_tensor(m, TFL_INT32, 1, k_1, axis, 4, "axis");
    return 2;
  }
  int w_ndim = op->w_dims == k_2x4 ? 2 : 4;
  size_t w_count = 1;
  for (int d = 0; d < w_ndim; d++) w_count *= (size_t)op->w_dims[d];
  /* bias per output channel: the filter's first dimension, its last for DEPTHWISE_CONV_2D */
  const int32_t b_dims[1] = {op->w_dims[op->code == TFL_OP_DEPTHWISE_CONV_2D ? 3 : 0]};
  in[1] = mb_tensor(m, TFL_INT8, w_ndim, op->w_dims, weights, w_count, "w");
  in[2] = mb_tensor(m, TFL_INT32, 1, b_dims, bias, (size_t)b_dims[0] * 4, "b");
  quantize_as(m, in[1], r->w_scale, 0);
  quantize_as(m, in[2], r->in_scale * r->w_scale, 0);
  return 3;
}

static uint8_t *qop_model(const qop_run *r, size_t *size) {
  const qop *op = r->op;
  mb_model *m = mb_new();
  int x = mb_tensor(m, op->type, op->ndim, op->dims, NULL, 0, "x");
  int y = mb_tensor(m, op->type, op->ndim, op->dims, NULL, 0, "y");
  quantize_as(m, x, r->in_scale, op->type == TFL_INT16 ? 0 : -5);
  quantize_as(m, y, r->out_scale, op->type == TFL_INT16 ? 0 : 7);
  int in[3];
  int n_in = qop_inputs(m, r, x, in);
  mb_op(m, op->code, 1, n_in, in, 1, &y, op->opts_type, op->opts);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  return finish(m, size);
}

static void run_qop(const void *p) {
  const qop_run *r = p;
  size_t size = 0;
  uint8_t *bytes = qop_model(r, &size);
  if (!bytes) {
    box_note("%s: the test could not build its model", r->op->name);
    return;
  }
  fuzz_config config = {(size_t)64 << 20, (size_t)64 << 20, (size_t)1 << 20, r->fill};
  fuzz_model_run(bytes, size, &config, &g_box->out);
  if (g_box->out.status != TFL_OK && !one_line(g_box->out.message))
    box_note("%s refused without a one-line message", r->op->name);
  free(bytes);
}

TEST(extreme_quantization_parameters_never_overflow) {
  char *known = read_known_issues();
  static const float scales[][3] = {
      {1e30f, 1.0f, 1e-30f}, {1e-30f, 1.0f, 1e30f}, {1.0f, 1e30f, 1e-30f},
      {1.0f, 1.0f, 1e-40f},  {1e-40f, 1e-40f, 1.0f}, {1.0f, 1.0f, 1.0f},
  };
  int n_ops = (int)(sizeof(k_qops) / sizeof(k_qops[0])), runs = 0, refused = 0, n_known = 0;
  for (int i = 0; i < n_ops; i++)
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++)
      for (int fill = 0x7f; fill <= 0x81; fill += 2) {
        qop_run r = {&k_qops[i], scales[s][0], scales[s][1], scales[s][2], fill};
        char what[160], how[96], tag[64];
        snprintf(what, sizeof(what), "%s with scales %g, %g -> %g, inputs 0x%02x",
                 k_qops[i].name, (double)r.in_scale, (double)r.w_scale, (double)r.out_scale, fill);
        snprintf(tag, sizeof(tag), "[op %s]", k_qops[i].name);
        if (!run_child(run_qop, &r, NEG_CASE_SECONDS, how, sizeof(how))) {
          if (known && strstr(known, tag)) {
            n_known++;
            printf("  KNOWN %s: %s (reported, tests/fuzz/known_issues.txt)\n", what, how);
          } else {
            test_fail(__FILE__, __LINE__, "%s: %s", what, how);
          }
          continue;
        }
        if (g_box->failures) test_fail(__FILE__, __LINE__, "%s: %s", what, g_box->note);
        runs++;
        refused += g_box->out.status != TFL_OK;
        if (getenv("TFL_NEG_VERBOSE"))
          printf("  %-60s %s\n", what, g_box->out.status ? g_box->out.message : "ran");
      }
  printf("  %d quantized models with extreme scales: %d refused, %d ran, %d known issues\n",
         runs + n_known, refused, runs - refused, n_known);
  free(known);
}

/* --- the limits, through the public API -------------------------------------------------- */

static tfl_status huge_scratch_prepare(tfl_context *ctx, tfl_node *node) {
  int index;
  tfl_status st = tfl_context_request_scratch(ctx, node, (size_t)3 << 30, &index);
  if (st != TFL_OK) return st;
  tfl_tensor *in = tfl_node_input(ctx, node, 0);
  return tfl_context_resize(ctx, tfl_node_output(ctx, node, 0), tfl_tensor_ndim(in),
                            tfl_tensor_dims(in));
}

static tfl_status nothing_eval(tfl_context *ctx, tfl_node *node) { return TFL_OK; }

static void scratch_and_resize_limits(const void *unused) {
  (void)unused;
  mb_model *m = mb_new();
  int x = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "x");
  int y = mb_tensor(m, TFL_FLOAT32, 1, k_4, NULL, 0, "y");
  mb_custom_op(m, "HugeScratch", 1, &x, 1, &y, NULL, 0);
  mb_inputs(m, 1, &x);
  mb_outputs(m, 1, &y);
  size_t size;
  uint8_t *bytes = finish(m, &size);
  tfl_op_registration reg = {0};
  reg.name = "HugeScratch";
  reg.builtin_code = TFL_BUILTIN_CUSTOM;
  reg.prepare = huge_scratch_prepare;
  reg.eval = nothing_eval;
  tfl_options *o = tfl_options_create();
  if (tfl_options_add_op(o, &reg) != TFL_OK) box_note("the custom op was refused");
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  char err[256];
  fuzz_outcome *out = &g_box->out;
  out->stage = "create";
  out->status = tfl_model_load_buffer(bytes, size, &model, err, sizeof(err));
  if (out->status == TFL_OK)
    out->status = tfl_interpreter_create(model, o, &interp, err, sizeof(err));
  if (out->status != TFL_OK) snprintf(out->message, sizeof(out->message), "%s", err);
  if (out->status == TFL_OK) {
    out->stage = "allocate";
    out->status = tfl_interpreter_allocate_tensors(interp);
    snprintf(out->message, sizeof(out->message), "%s", tfl_interpreter_error(interp));
    /* the caller's resize is held to the same limit */
    const int32_t huge[2] = {65536, 65536};
    if (tfl_interpreter_resize_input(interp, 0, 2, huge) != TFL_LIMIT_EXCEEDED)
      box_note("resizing an input to 16 GiB was accepted");
  }
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  tfl_options_free(o);
  free(bytes);
}

TEST(scratch_and_resize_are_held_to_the_limits) {
  if (!run_isolated("scratch of 3 GiB", scratch_and_resize_limits, NULL, NEG_CASE_SECONDS))
    return;
  if (g_box->failures) test_fail(__FILE__, __LINE__, "%s", g_box->note);
  check_refused("scratch of 3 GiB", &g_box->out, "limit");
  CHECK_EQ_INT(g_box->out.status, TFL_LIMIT_EXCEEDED);
}

/* --- operator versions ------------------------------------------------------------------- */

static tfl_status no_prepare(tfl_context *ctx, tfl_node *node) { return TFL_OK; }

/* Creating an interpreter for ADD at `version` (with an ADD of the caller's own, accepting any
 * version, when `own_add`); the message in err. */
static tfl_status create_add(int version, int own_add, char *err, size_t err_size) {
  size_t size;
  uint8_t *bytes = op_with_code(TFL_OP_ADD, version, &size);
  tfl_options *o = tfl_options_create();
  tfl_op_registration reg = {0};
  reg.name = "MyAdd";
  reg.builtin_code = TFL_OP_ADD;
  reg.prepare = no_prepare;
  reg.eval = nothing_eval;
  if (own_add) tfl_options_add_op(o, &reg);
  tfl_model *model = NULL;
  tfl_interpreter *interp = NULL;
  err[0] = '\0';
  tfl_status st = bytes ? tfl_model_load_buffer(bytes, size, &model, err, err_size) : TFL_ERROR;
  if (st == TFL_OK) st = tfl_interpreter_create(model, o, &interp, err, err_size);
  tfl_interpreter_free(interp);
  tfl_model_free(model);
  tfl_options_free(o);
  free(bytes);
  return st;
}

/* tfl's kernels take the versions TFLite defines for their op (ADD: 1 to 5); a version past
 * them asks for semantics tfl does not know, and is refused by name. */
TEST(builtin_op_versions_follow_tflite) {
  char err[512];
  CHECK_EQ_INT(create_add(1, 0, err, sizeof(err)), TFL_OK);
  CHECK_EQ_INT(create_add(5, 0, err, sizeof(err)), TFL_OK);
  const int refused[3] = {6, 99, 0};
  for (int i = 0; i < 3; i++) {
    char want[32];
    snprintf(want, sizeof(want), "ADD v%d", refused[i]);
    CHECK_EQ_INT(create_add(refused[i], 0, err, sizeof(err)), TFL_UNSUPPORTED);
    if (!strstr(err, want) || !strstr(err, "other versions supported"))
      test_fail(__FILE__, __LINE__, "ADD v%d refused with \"%s\"", refused[i], err);
  }
  /* a kernel of the caller's own declaring no versions takes any */
  CHECK_EQ_INT(create_add(99, 1, err, sizeof(err)), TFL_OK);
}

/* --- the other readers ---------------------------------------------------------------------- */

static void garbage_readers(const void *unused) {
  (void)unused;
  uint8_t buf[512];
  uint32_t rng = 12345;
  char err[256];
  for (int k = 0; k < 20000; k++) {
    size_t n = 1 + next_random(&rng) % sizeof(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)next_random(&rng);
    if (k % 2) memcpy(buf, "\x93NUMPY\x01\x00", n < 8 ? n : 8);
    g_box->progress = k;
    fuzz_flexbuf_run(buf, n);
    err[0] = '\0';
    if (fuzz_npy_run(buf, n, err, sizeof(err)) != TFL_OK && !one_line(err))
      box_note("a .npy refusal without a one-line message: \"%s\"", err);
  }
}

TEST(flexbuffer_and_npy_readers_survive_garbage) {
  if (run_isolated("FlexBuffers and .npy garbage", garbage_readers, NULL, NEG_CASE_SECONDS) &&
      g_box->failures)
    test_fail(__FILE__, __LINE__, "%s", g_box->note);
}

int main(void) {
  g_box = mmap(NULL, sizeof(neg_box), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (g_box == MAP_FAILED) {
    fprintf(stderr, "cannot map shared memory\n");
    return 1;
  }
  RUN(invalid_models_are_refused);
  RUN(scratch_and_resize_are_held_to_the_limits);
  RUN(builtin_op_versions_follow_tflite);
  RUN(extreme_quantization_parameters_never_overflow);
  RUN(fuzzer_regressions_stay_fixed);
  RUN(flexbuffer_and_npy_readers_survive_garbage);
  RUN(corrupted_fixtures_fail_cleanly);
  RUN(corrupted_suite_models_fail_cleanly);
  munmap(g_box, sizeof(neg_box));
  return test_summary();
}
