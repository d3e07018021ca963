/* tfl bench: how fast a model runs and how much memory it takes, in the manner of TFLite's
 * benchmark_model: init time, first inference, warm-up, timed runs with their statistics, and
 * optionally per-op times from the interpreter's profiling counters. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"

enum { OPT_THREADS, OPT_WARMUP, OPT_RUNS, OPT_MIN_SECS, OPT_PROFILE, OPT_JSON, OPT_INPUT };

static const cli_option k_options[] = {
    {"--threads", "N", "worker threads for the kernels (default 1)"},
    {"--warmup", "N", "warm-up runs after the first inference, reported apart (default 1)"},
    {"--runs", "N", "timed runs (default 50)"},
    {"--min-secs", "S", "after --runs, keep running until S seconds of timed runs (default 0)"},
    {"--profile", NULL, "time every op: run order, top ops, summary by op type"},
    {"--json", NULL, "print the results as one JSON object"},
    {"--input", "FILE", "a .npy array for the next model input instead of random data (repeat)"},
    {NULL, NULL, NULL},
};

#define MAX_RUNS 1000000
#define MAX_SECS 3600
#define TOP_OPS 10
#define PROGRESS_AFTER_NS 1000000000u /* runs shorter than this show no progress */
#define PROGRESS_EVERY_NS 200000000u

typedef struct bench_args {
  const char *model;
  tool_npy_inputs inputs;
  int threads;
  int warmup;
  int runs;
  double min_secs;
  int profile;
  int json;
} bench_args;

/* Microseconds. */
typedef struct run_stats {
  double median, mean, min, max, std;
} run_stats;

typedef struct node_time {
  int node;
  const char *op;
  int folded;
  double us; /* per inference */
} node_time;

typedef struct op_type_time {
  const char *op;
  int count; /* nodes of this type that run */
  double us;
} op_type_time;

typedef struct bench_profile {
  uint64_t runs; /* inferences the counters cover */
  node_time *nodes;
  int n_nodes;
  op_type_time *types;
  int n_types;
  double total_us;
} bench_profile;

typedef struct bench_session {
  const cli_command *cmd;
  bench_args args;
  tfl_model *model;
  tfl_interpreter *interp;
  char (*input_source)[64]; /* per input: how it was filled */
  uint64_t load_ns, create_ns, allocate_ns, first_ns, warmup_total_ns;
  uint64_t *run_ns;
  int n_runs;
  run_stats stats;
  size_t arena_bytes;
  long peak_rss_kb;
  uint64_t macs;
  bench_profile profile;
} bench_session;

/* --- work --------------------------------------------------------------------------------- */

static uint64_t tensor_elems(tfl_interpreter *interp, int32_t index) {
  const tfl_tensor *t = index >= 0 ? tfl_interpreter_tensor(interp, index) : NULL;
  return t ? (uint64_t)tfl_tensor_element_count(t) : 0;
}

static uint64_t dim_of(tfl_interpreter *interp, int32_t index, int d) {
  const tfl_tensor *t = index >= 0 ? tfl_interpreter_tensor(interp, index) : NULL;
  int32_t v = t ? tfl_tensor_dim(t, d) : 0;
  return v > 0 ? (uint64_t)v : 0;
}

/* Multiply-accumulates of the ops that dominate CNNs and MLPs (convolutions and matrix
 * products), from the allocated shapes: the usual measure behind GFLOP/s (= 2 x MACs). */
static uint64_t count_macs(const tfl_model *model, tfl_interpreter *interp) {
  uint64_t macs = 0;
  for (int i = 0; i < tfl_model_op_count(model, 0); i++) {
    tfl_op_info op;
    if (tfl_model_op_info(model, 0, i, &op) != TFL_OK || op.num_inputs < 2 || op.num_outputs < 1)
      continue;
    uint64_t out = tensor_elems(interp, op.outputs[0]);
    int32_t w = op.inputs[1];
    if (op.builtin_code == 3) /* CONV_2D: filter [out_c, kh, kw, in_c] */
      macs += out * dim_of(interp, w, 1) * dim_of(interp, w, 2) * dim_of(interp, w, 3);
    else if (op.builtin_code == 4) /* DEPTHWISE_CONV_2D: filter [1, kh, kw, out_c] */
      macs += out * dim_of(interp, w, 1) * dim_of(interp, w, 2);
    else if (op.builtin_code == 9) /* FULLY_CONNECTED: weights [units, in] */
      macs += out * dim_of(interp, w, 1);
  }
  return macs;
}

/* --- arguments --------------------------------------------------------------------------- */

static int take_arg(const cli_command *cmd, int opt, const char *value, void *ctx) {
  bench_args *a = ctx;
  long n;
  switch (opt) {
    case CLI_ARG_POSITIONAL: return cli_take_one_positional(cmd, value, &a->model);
    case OPT_THREADS:
      if (!tool_parse_int(cmd, "--threads", value, 1, TOOL_MAX_THREADS, &n)) return 0;
      a->threads = (int)n;
      return 1;
    case OPT_WARMUP:
      if (!tool_parse_int(cmd, "--warmup", value, 0, MAX_RUNS, &n)) return 0;
      a->warmup = (int)n;
      return 1;
    case OPT_RUNS:
      if (!tool_parse_int(cmd, "--runs", value, 1, MAX_RUNS, &n)) return 0;
      a->runs = (int)n;
      return 1;
    case OPT_MIN_SECS:
      if (!tool_parse_double(cmd, "--min-secs", value, &a->min_secs)) return 0;
      if (a->min_secs >= 0 && a->min_secs <= MAX_SECS) return 1;
      cli_usage_error(cmd, "--min-secs must be from 0 to %d, got '%s'", MAX_SECS, value);
      return 0;
    case OPT_PROFILE: a->profile = 1; return 1;
    case OPT_JSON: a->json = 1; return 1;
    case OPT_INPUT: a->inputs.paths[a->inputs.n++] = value; return 1;
    default: return 0;
  }
}

/* Returns -1 to go on, or the exit code (after --help or a usage error). */
static int parse_args(const cli_command *cmd, int argc, char **argv, bench_args *a) {
  a->threads = 1;
  a->warmup = 1;
  a->runs = 50;
  int rc = cli_parse(cmd, argc, argv, take_arg, a);
  if (rc >= 0) return rc;
  if (!a->model) return cli_usage_error(cmd, "no model given");
  return -1;
}

/* --- random inputs ----------------------------------------------------------------------- */

/* splitmix64: small, and deterministic across runs and machines. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi] for integers. */
static int64_t random_int(uint64_t *state, int64_t lo, int64_t hi) {
  return lo + (int64_t)(next_random(state) % (uint64_t)(hi - lo + 1));
}

/* Uniform in [-1, 1). */
static double random_unit(uint64_t *state) {
  return (double)(next_random(state) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* The integer range random values of this type take, or 0 when the type has none. Index-like
 * int32/int64 inputs get small non-negative values so that gathers and lookups stay valid. */
static int int_range(tfl_type type, int64_t *lo, int64_t *hi) {
  switch (type) {
    case TFL_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return 1;
    case TFL_UINT8: *lo = 0, *hi = UINT8_MAX; return 1;
    case TFL_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return 1;
    case TFL_UINT16: *lo = 0, *hi = UINT16_MAX; return 1;
    case TFL_INT32:
    case TFL_UINT32:
    case TFL_INT64:
    case TFL_UINT64: *lo = 0, *hi = 7; return 1;
    case TFL_BOOL: *lo = 0, *hi = 1; return 1;
    default: return 0;
  }
}

static void store_int(void *data, size_t i, tfl_type type, int64_t v) {
  switch (type) {
    case TFL_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case TFL_UINT8:
    case TFL_BOOL: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case TFL_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case TFL_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case TFL_INT32:
    case TFL_UINT32: ((int32_t *)data)[i] = (int32_t)v; break;
    default: ((int64_t *)data)[i] = v; break;
  }
}

/* Fills t with random values of its type; writes how into source. */
static void fill_random(tfl_tensor *t, uint64_t *state, char *source, size_t size) {
  tfl_type type = tfl_tensor_type(t);
  void *data = tfl_tensor_data(t);
  size_t n = tfl_tensor_element_count(t);
  int64_t lo, hi;
  if (type == TFL_FLOAT32 || type == TFL_FLOAT64) {
    for (size_t i = 0; i < n; i++) {
      double v = random_unit(state);
      if (type == TFL_FLOAT32)
        ((float *)data)[i] = (float)v;
      else
        ((double *)data)[i] = v;
    }
    snprintf(source, size, "random U(-1,1)");
  } else if (int_range(type, &lo, &hi)) {
    for (size_t i = 0; i < n; i++) store_int(data, i, type, random_int(state, lo, hi));
    snprintf(source, size, "random integers %lld..%lld", (long long)lo, (long long)hi);
  } else {
    memset(data, 0, tfl_tensor_byte_size(t));
    snprintf(source, size, "zeros");
  }
}

/* --- running ------------------------------------------------------------------------------ */

static int open_model(bench_session *s) {
  uint64_t t0 = tool_now_ns();
  s->model = tool_load_model(s->cmd, s->args.model);
  if (!s->model) return CLI_EXIT_FAIL;
  uint64_t t1 = tool_now_ns();
  int rc = tool_create_interpreter(s->cmd, s->args.model, s->model, s->args.threads, 0, &s->interp);
  uint64_t t2 = tool_now_ns();
  s->load_ns = t1 - t0;
  s->create_ns = t2 - t1;
  return rc;
}

/* Reading and resizing to the --input arrays is not part of the init time; allocating is. */
static int prepare_inputs(bench_session *s) {
  int n = tfl_interpreter_input_count(s->interp);
  s->input_source = calloc((size_t)n + 1, sizeof *s->input_source);
  if (!s->input_source) return cli_fail(s->cmd, "out of memory");
  tool_npy_inputs *in = &s->args.inputs;
  int rc = CLI_EXIT_OK;
  if (in->n > 0) {
    rc = tool_read_npy_inputs(s->cmd, s->args.model, s->interp, in);
    if (rc == CLI_EXIT_OK) rc = tool_resize_npy_inputs(s->cmd, s->model, s->interp, in);
  }
  uint64_t t0 = tool_now_ns();
  if (rc == CLI_EXIT_OK) rc = tool_allocate(s->cmd, s->interp);
  s->allocate_ns = tool_now_ns() - t0;
  if (rc != CLI_EXIT_OK) return rc;
  if (in->n > 0) {
    for (int i = 0; i < n; i++) snprintf(s->input_source[i], 64, "file");
    return tool_fill_npy_inputs(s->cmd, s->interp, in);
  }
  uint64_t state = 0x7466;
  for (int i = 0; i < n; i++)
    fill_random(tfl_interpreter_input(s->interp, i), &state, s->input_source[i], 64);
  return CLI_EXIT_OK;
}

static int invoke_timed(bench_session *s, uint64_t *ns) {
  uint64_t t0 = tool_now_ns();
  tfl_status st = tfl_interpreter_invoke(s->interp);
  *ns = tool_now_ns() - t0;
  if (st != TFL_OK) return cli_fail(s->cmd, "invoke failed: %s", tool_interp_error(s->interp, st));
  return CLI_EXIT_OK;
}

static int warm_up(bench_session *s) {
  int rc = invoke_timed(s, &s->first_ns);
  for (int i = 0; i < s->args.warmup && rc == CLI_EXIT_OK; i++) {
    uint64_t ns;
    rc = invoke_timed(s, &ns);
    s->warmup_total_ns += ns;
  }
  return rc;
}

/* Progress on stderr, only for a person watching a terminal. */
typedef struct progress {
  int enabled;
  uint64_t start, last;
} progress;

static void progress_update(progress *p, int done, int planned) {
  if (!p->enabled) return;
  uint64_t now = tool_now_ns();
  if (now - p->start < PROGRESS_AFTER_NS || now - p->last < PROGRESS_EVERY_NS) return;
  p->last = now;
  if (done < planned)
    fprintf(stderr, "\rbench: run %d of %d ", done, planned);
  else
    fprintf(stderr, "\rbench: run %d, %.0f s ", done, (double)(now - p->start) / 1e9);
}

static void progress_end(const progress *p) {
  if (p->enabled && p->last) fprintf(stderr, "\r%40s\r", "");
}

/* Room for one more run time; the array grows only when --min-secs asks for more runs. */
static int reserve_run(bench_session *s, int *cap) {
  if (s->n_runs < *cap) return 1;
  int bigger = *cap * 2 > MAX_RUNS ? MAX_RUNS : *cap * 2;
  uint64_t *p = realloc(s->run_ns, (size_t)bigger * sizeof *p);
  if (!p) return 0;
  s->run_ns = p;
  *cap = bigger;
  return 1;
}

static int timed_runs(bench_session *s) {
  int cap = s->args.runs;
  s->run_ns = malloc((size_t)cap * sizeof *s->run_ns);
  if (!s->run_ns) return cli_fail(s->cmd, "out of memory");
  progress p = {.enabled = isatty(STDERR_FILENO), .start = tool_now_ns()};
  uint64_t min_ns = (uint64_t)(s->args.min_secs * 1e9), elapsed = 0;
  int rc = CLI_EXIT_OK;
  while (rc == CLI_EXIT_OK && s->n_runs < MAX_RUNS &&
         (s->n_runs < s->args.runs || elapsed < min_ns)) {
    if (!reserve_run(s, &cap)) {
      rc = cli_fail(s->cmd, "out of memory");
      break;
    }
    rc = invoke_timed(s, &s->run_ns[s->n_runs]);
    elapsed += s->run_ns[s->n_runs++];
    progress_update(&p, s->n_runs, s->args.runs);
  }
  progress_end(&p);
  return rc;
}

/* --- figures ------------------------------------------------------------------------------ */

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int compute_stats(bench_session *s) {
  int n = s->n_runs;
  uint64_t *sorted = malloc((size_t)n * sizeof *sorted);
  if (!sorted) return cli_fail(s->cmd, "out of memory");
  memcpy(sorted, s->run_ns, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, by_value);
  run_stats *st = &s->stats;
  double middle = n % 2 ? (double)sorted[n / 2] : ((double)sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  st->median = middle / 1e3;
  st->min = (double)sorted[0] / 1e3;
  st->max = (double)sorted[n - 1] / 1e3;
  double sum = 0, squares = 0;
  for (int i = 0; i < n; i++) sum += (double)sorted[i] / 1e3;
  st->mean = sum / n;
  for (int i = 0; i < n; i++) {
    double d = (double)sorted[i] / 1e3 - st->mean;
    squares += d * d;
  }
  st->std = sqrt(squares / n);
  free(sorted);
  return CLI_EXIT_OK;
}

static void measure_memory(bench_session *s) {
  s->arena_bytes = tfl_interpreter_arena_size(s->interp);
  s->macs = count_macs(s->model, s->interp);
  struct rusage ru;
  s->peak_rss_kb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* KB on Linux */
}

static op_type_time *find_or_add_type(bench_profile *p, const char *op) {
  for (int i = 0; i < p->n_types; i++)
    if (strcmp(p->types[i].op, op) == 0) return &p->types[i];
  op_type_time *t = &p->types[p->n_types++];
  t->op = op;
  return t;
}

static int by_type_time(const void *a, const void *b) {
  const op_type_time *x = a, *y = b;
  if (x->us != y->us) return x->us > y->us ? -1 : 1;
  return strcmp(x->op, y->op);
}

static tfl_status read_node(bench_session *s, int j, node_time *out) {
  tfl_op_info op;
  uint64_t total_ns, count;
  tfl_status st = tfl_model_op_info(s->model, 0, j, &op);
  if (st == TFL_OK) st = tfl_interpreter_node_time_ns(s->interp, j, &total_ns, &count);
  if (st != TFL_OK) return st;
  out->node = j;
  out->op = op.name;
  out->folded = tfl_interpreter_node_is_folded(s->interp, j);
  out->us = count ? (double)total_ns / 1e3 / (double)count : 0;
  if (count > s->profile.runs) s->profile.runs = count;
  return TFL_OK;
}

static int collect_profile(bench_session *s) {
  bench_profile *p = &s->profile;
  int n = tfl_interpreter_node_count(s->interp);
  p->nodes = calloc((size_t)n + 1, sizeof *p->nodes);
  p->types = calloc((size_t)n + 1, sizeof *p->types);
  if (!p->nodes || !p->types) return cli_fail(s->cmd, "out of memory");
  for (int j = 0; j < n; j++) {
    tfl_status st = read_node(s, j, &p->nodes[j]);
    if (st != TFL_OK)
      return cli_fail(s->cmd, "no profile for node %d: %s", j, tool_interp_error(s->interp, st));
    p->n_nodes++;
    if (p->nodes[j].folded) continue;
    op_type_time *t = find_or_add_type(p, p->nodes[j].op);
    t->count++;
    t->us += p->nodes[j].us;
    p->total_us += p->nodes[j].us;
  }
  qsort(p->types, (size_t)p->n_types, sizeof *p->types, by_type_time);
  return CLI_EXIT_OK;
}

static double percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0; }

static double warmup_avg_us(const bench_session *s) {
  return s->args.warmup ? (double)s->warmup_total_ns / 1e3 / s->args.warmup : NAN;
}

/* --- text output -------------------------------------------------------------------------- */

static void print_inputs(FILE *out, bench_session *s) {
  for (int i = 0; i < tfl_interpreter_input_count(s->interp); i++) {
    const tfl_tensor *t = tfl_interpreter_input(s->interp, i);
    char dims[TFL_MAX_DIMS * 12 + 3];
    tool_format_dims(dims, sizeof dims, tfl_tensor_ndim(t), tfl_tensor_dims(t));
    fprintf(out, "input %d: ", i);
    cli_print_quoted(out, tfl_tensor_name(t));
    fprintf(out, " %s %s, %s", tfl_type_name(tfl_tensor_type(t)), dims, s->input_source[i]);
    if (s->args.inputs.n) fprintf(out, " %s", s->args.inputs.paths[i]);
    fputc('\n', out);
  }
}

static void print_node_row(FILE *out, const node_time *n, double total, double *cdf) {
  fprintf(out, "  %5d  %-28s", n->node, n->op);
  if (n->folded) {
    fprintf(out, " %12s\n", "folded");
    return;
  }
  fprintf(out, " %12.3f %7.2f", n->us, percent(n->us, total));
  if (cdf) {
    *cdf += percent(n->us, total);
    fprintf(out, " %7.2f", *cdf);
  }
  fputc('\n', out);
}

static int by_node_time(const void *a, const void *b) {
  const node_time *x = a, *y = b;
  if (x->us != y->us) return x->us > y->us ? -1 : 1;
  return x->node - y->node;
}

static void print_top_ops(FILE *out, const bench_profile *p) {
  node_time *sorted = malloc((size_t)p->n_nodes * sizeof *sorted + 1);
  if (!sorted) return;
  int n = 0;
  for (int i = 0; i < p->n_nodes; i++)
    if (!p->nodes[i].folded) sorted[n++] = p->nodes[i];
  qsort(sorted, (size_t)n, sizeof *sorted, by_node_time);
  fprintf(out, "\ntop %d ops by time:\n  %5s  %-28s %12s %7s %7s\n", n < TOP_OPS ? n : TOP_OPS,
          "node", "op", "time (us)", "%", "cdf %");
  double cdf = 0;
  for (int i = 0; i < n && i < TOP_OPS; i++) print_node_row(out, &sorted[i], p->total_us, &cdf);
  free(sorted);
}

static void print_profile(FILE *out, const bench_profile *p, double mean_us) {
  fprintf(out, "\nprofile: average per inference over %llu runs\n", (unsigned long long)p->runs);
  fprintf(out, "\nrun order:\n  %5s  %-28s %12s %7s\n", "node", "op", "time (us)", "%");
  for (int i = 0; i < p->n_nodes; i++) print_node_row(out, &p->nodes[i], p->total_us, NULL);
  print_top_ops(out, p);
  fprintf(out, "\nsummary by op type:\n  %-35s %5s %12s %7s\n", "op", "count", "time (us)", "%");
  for (int i = 0; i < p->n_types; i++)
    fprintf(out, "  %-35s %5d %12.3f %7.2f\n", p->types[i].op, p->types[i].count, p->types[i].us,
            percent(p->types[i].us, p->total_us));
  fprintf(out, "\nops total: %.3f us per inference (%.1f%% of the mean inference time)\n",
          p->total_us, percent(p->total_us, mean_us));
}

static void print_text(FILE *out, bench_session *s) {
  const run_stats *st = &s->stats;
  fprintf(out, "model: %s\ncpu: %s\nthreads: %d\n", s->args.model, tfl_interpreter_cpu(s->interp),
          s->args.threads);
  print_inputs(out, s);
  fprintf(out, "init: %.1f us (load %.1f, create %.1f, allocate %.1f)\n",
          (double)(s->load_ns + s->create_ns + s->allocate_ns) / 1e3, (double)s->load_ns / 1e3,
          (double)s->create_ns / 1e3, (double)s->allocate_ns / 1e3);
  fprintf(out, "first inference: %.1f us\n", (double)s->first_ns / 1e3);
  if (s->args.warmup)
    fprintf(out, "warm-up: %d run%s, average %.1f us\n", s->args.warmup,
            s->args.warmup == 1 ? "" : "s", warmup_avg_us(s));
  fprintf(out,
          "inference: %d runs, median %.1f us, mean %.1f us, min %.1f us, max %.1f us, "
          "std %.1f us\n",
          s->n_runs, st->median, st->mean, st->min, st->max, st->std);
  fprintf(out, "arena: %zu bytes\npeak resident memory: %ld KB\n", s->arena_bytes, s->peak_rss_kb);
  if (s->macs && st->median > 0)
    fprintf(out, "work: %.3f GMAC per inference, %.1f GFLOP/s at the median\n", (double)s->macs / 1e9,
            2.0 * (double)s->macs / (st->median * 1e3));
  if (s->args.profile) print_profile(out, &s->profile, st->mean);
}

/* --- JSON output -------------------------------------------------------------------------- */

static void json_inputs(json_writer *w, bench_session *s) {
  json_begin_array(w, "inputs");
  for (int i = 0; i < tfl_interpreter_input_count(s->interp); i++) {
    const tfl_tensor *t = tfl_interpreter_input(s->interp, i);
    json_begin_object(w, NULL);
    json_int(w, "index", i);
    json_string(w, "name", tfl_tensor_name(t));
    json_string(w, "type", tfl_type_name(tfl_tensor_type(t)));
    json_int_array(w, "shape", tfl_tensor_ndim(t), tfl_tensor_dims(t));
    json_string(w, "source", s->input_source[i]);
    if (s->args.inputs.n) json_string(w, "file", s->args.inputs.paths[i]);
    json_end_object(w);
  }
  json_end_array(w);
}

static void json_profile(json_writer *w, const bench_profile *p) {
  json_begin_object(w, "profile");
  json_int(w, "runs", (long long)p->runs);
  json_double(w, "total_us", p->total_us, 3);
  json_begin_array(w, "nodes");
  for (int i = 0; i < p->n_nodes; i++) {
    const node_time *n = &p->nodes[i];
    json_begin_object(w, NULL);
    json_int(w, "node", n->node);
    json_string(w, "op", n->op);
    json_bool(w, "folded", n->folded);
    json_double(w, "time_us", n->us, 3);
    json_double(w, "percent", percent(n->us, p->total_us), 3);
    json_end_object(w);
  }
  json_end_array(w);
  json_begin_array(w, "op_types");
  for (int i = 0; i < p->n_types; i++) {
    json_begin_object(w, NULL);
    json_string(w, "op", p->types[i].op);
    json_int(w, "count", p->types[i].count);
    json_double(w, "time_us", p->types[i].us, 3);
    json_double(w, "percent", percent(p->types[i].us, p->total_us), 3);
    json_end_object(w);
  }
  json_end_array(w);
  json_end_object(w);
}

static void print_json(FILE *out, bench_session *s) {
  json_writer w;
  json_init(&w, out);
  json_begin_object(&w, NULL);
  json_string(&w, "model", s->args.model);
  json_string(&w, "cpu", tfl_interpreter_cpu(s->interp));
  json_int(&w, "threads", s->args.threads);
  json_inputs(&w, s);
  json_double(&w, "init_us", (double)(s->load_ns + s->create_ns + s->allocate_ns) / 1e3, 3);
  json_double(&w, "load_us", (double)s->load_ns / 1e3, 3);
  json_double(&w, "create_us", (double)s->create_ns / 1e3, 3);
  json_double(&w, "allocate_us", (double)s->allocate_ns / 1e3, 3);
  json_double(&w, "first_inference_us", (double)s->first_ns / 1e3, 3);
  json_int(&w, "warmup_runs", s->args.warmup);
  json_double(&w, "warmup_avg_us", warmup_avg_us(s), 3);
  json_int(&w, "runs", s->n_runs);
  json_begin_object(&w, "inference_us");
  json_double(&w, "median", s->stats.median, 3);
  json_double(&w, "mean", s->stats.mean, 3);
  json_double(&w, "min", s->stats.min, 3);
  json_double(&w, "max", s->stats.max, 3);
  json_double(&w, "std", s->stats.std, 3);
  json_end_object(&w);
  json_size(&w, "arena_bytes", s->arena_bytes);
  json_int(&w, "macs", (long long)s->macs);
  json_int(&w, "peak_rss_kb", s->peak_rss_kb);
  if (s->args.profile) json_profile(&w, &s->profile);
  json_end_object(&w);
}

/* --- command ----------------------------------------------------------------------------- */

static int profile_on(bench_session *s) {
  if (!s->args.profile) return CLI_EXIT_OK;
  tfl_status st = tfl_interpreter_set_profiling(s->interp, 1);
  if (st != TFL_OK)
    return cli_fail(s->cmd, "cannot enable profiling: %s", tool_interp_error(s->interp, st));
  return CLI_EXIT_OK;
}

static void session_free(bench_session *s) {
  tool_npy_inputs_free(&s->args.inputs);
  free(s->input_source);
  free(s->run_ns);
  free(s->profile.nodes);
  free(s->profile.types);
  tfl_interpreter_free(s->interp);
  tfl_model_free(s->model);
}

static int run(const cli_command *cmd, int argc, char **argv) {
  bench_session s = {.cmd = cmd};
  int rc = tool_npy_inputs_init(&s.args.inputs, argc) ? parse_args(cmd, argc, argv, &s.args)
                                                       : cli_fail(cmd, "out of memory");
  if (rc < 0) {
    rc = open_model(&s);
    if (rc == CLI_EXIT_OK) rc = prepare_inputs(&s);
    if (rc == CLI_EXIT_OK) rc = warm_up(&s);
    /* Enabling profiling clears the counters: they cover exactly the timed runs. */
    if (rc == CLI_EXIT_OK) rc = profile_on(&s);
    if (rc == CLI_EXIT_OK) rc = timed_runs(&s);
    if (rc == CLI_EXIT_OK) rc = compute_stats(&s);
    if (rc == CLI_EXIT_OK && s.args.profile) rc = collect_profile(&s);
    if (rc == CLI_EXIT_OK) {
      measure_memory(&s);
      if (s.args.json)
        print_json(stdout, &s);
      else
        print_text(stdout, &s);
    }
  }
  session_free(&s);
  return rc;
}

const cli_command cmd_bench = {
    .name = "bench",
    .synopsis = "MODEL [--threads N] [--warmup N] [--runs N] [--min-secs S] [--profile] [--json] "
                "[--input FILE ...]",
    .summary = "measure a model's speed and memory, optionally per op",
    .description =
        "Loads the model, fills its inputs with random data (float: U(-1,1); 8- and 16-bit\n"
        "integers, quantized or not: their full range; int32/int64: 0..7; bool: 0/1) or with\n"
        "the --input .npy files, and reports: init time (load + create + allocate), the first\n"
        "inference, the warm-up average, then the median, mean, min, max and standard deviation\n"
        "of the timed runs (microseconds, monotonic clock), the planned arena and the peak\n"
        "resident memory of the process. --runs gives the number of timed runs; with\n"
        "--min-secs, runs continue until that much time has passed (at most 1000000 runs).\n"
        "--profile times every op during the timed runs (folded ops, computed once at\n"
        "allocation, show as folded). Progress is shown on stderr when it is a terminal.\n",
    .options = k_options,
    .run = run,
};
