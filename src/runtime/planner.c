/* Arena planning: every tensor computed during invoke, and every scratch buffer, gets an
 * offset in one block. Buffers whose lifetimes (first to last node that touches them) do not
 * overlap may share bytes. Placement is greedy by size, largest first, each into the
 * best-fitting gap among already placed buffers that are alive at the same time (as in
 * TFLite's arena planner; Pisarchyk & Lee, arXiv:2001.03288).
 *
 * Finding the gaps naively means walking every placed buffer for every new one, which a file
 * with tens of thousands of tensors alive at once turns into minutes. Instead, a segment tree
 * over the steps keeps, per tree node, the occupied byte ranges as merged runs: "own" for the
 * buffers whose lifetime covers the node's whole span (stored at O(log steps) nodes each), and
 * "sub" for every buffer stored in the node's subtree. The byte ranges of the buffers alive
 * during [first, last] are the "sub" runs of the nodes covering that span plus the "own" runs
 * of their ancestors: a few merged runs instead of every buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/interpreter.h"
#include "runtime/kernel.h"
#include "runtime/planner.h"

#define TFL_ARENA_ALIGN 64

static size_t align_up(size_t n) {
  return (n + TFL_ARENA_ALIGN - 1) & ~(size_t)(TFL_ARENA_ALIGN - 1);
}

/* Lifetimes in node indices. Graph inputs live from the start, outputs to the end. */
static void compute_lifetimes(tfl_context *ctx) {
  for (int i = 0; i < ctx->n_tensors; i++) {
    ctx->first_use[i] = INT32_MAX;
    ctx->last_use[i] = -1;
  }
  for (int i = 0; i < ctx->msg->n_inputs; i++) ctx->first_use[ctx->msg->inputs[i]] = 0;
  for (int j = 0; j < ctx->n_nodes; j++) {
    const tfl_node *node = &ctx->nodes[j];
    if (ctx->rt[j].folded) continue;
    for (int k = 0; k < node->num_outputs; k++) {
      int32_t t = node->outputs[k];
      if (ctx->first_use[t] > j) ctx->first_use[t] = j;
      if (ctx->last_use[t] < j) ctx->last_use[t] = j;
    }
    for (int k = 0; k < node->num_inputs; k++) {
      int32_t t = node->inputs[k];
      if (t >= 0 && ctx->last_use[t] < j) ctx->last_use[t] = j;
    }
  }
  /* Graph inputs live to the end too, as in TFLite: invoking again without refilling them must
   * see the same inputs. */
  for (int i = 0; i < ctx->msg->n_outputs; i++) ctx->last_use[ctx->msg->outputs[i]] = ctx->n_nodes;
  for (int i = 0; i < ctx->msg->n_inputs; i++) ctx->last_use[ctx->msg->inputs[i]] = ctx->n_nodes;
  if (!ctx->interp->options.preserve_all) return;
  for (int i = 0; i < ctx->n_tensors; i++)
    if (ctx->last_use[i] >= 0) ctx->last_use[i] = ctx->n_nodes;
}

static int by_size_desc(const void *a, const void *b) {
  const tfl_plan_buf *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return x->tensor < y->tensor ? -1 : (x->tensor > y->tensor);
}

/* Occupied bytes [start, end) as sorted, disjoint, non-touching runs. */
typedef struct plan_run {
  size_t start, end;
} plan_run;

typedef struct run_set {
  plan_run *runs;
  int n, cap;
} run_set;

typedef struct plan_tree {
  int32_t n_steps;
  run_set *own, *sub; /* per tree node; node 1 spans every step, node k has 2k and 2k+1 */
  plan_run *gathered; /* a query's runs */
  size_t n_gathered, cap_gathered;
  size_t work;
} plan_tree;

/* The index of the first run of s whose end is >= at (touching counts as overlapping). */
static int first_run_ending_at_or_after(const run_set *s, size_t at) {
  int lo = 0, hi = s->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->runs[mid].end < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Adds [start, end) to s, merging it with the runs it overlaps or touches. 0, or -1 when out
 * of memory. */
static int run_set_add(plan_tree *t, run_set *s, size_t start, size_t end) {
  const int lo = first_run_ending_at_or_after(s, start);
  int hi = lo;
  while (hi < s->n && s->runs[hi].start <= end) hi++;
  t->work += (size_t)(hi - lo) + 1;
  if (hi > lo) {
    if (s->runs[lo].start < start) start = s->runs[lo].start;
    if (s->runs[hi - 1].end > end) end = s->runs[hi - 1].end;
  } else if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 2;
    plan_run *runs = realloc(s->runs, (size_t)cap * sizeof(*runs));
    if (!runs) return -1;
    s->runs = runs;
    s->cap = cap;
  }
  /* The merged run takes slot lo; the runs after the merged ones close up behind it. */
  const int tail = s->n - hi;
  memmove(&s->runs[lo + 1], &s->runs[hi], (size_t)tail * sizeof(plan_run));
  t->work += (size_t)tail;
  s->runs[lo] = (plan_run){start, end};
  s->n = lo + 1 + tail;
  return 0;
}

static int tree_insert(plan_tree *t, size_t k, int32_t lo, int32_t hi, const tfl_plan_buf *b) {
  t->work++;
  if (run_set_add(t, &t->sub[k], b->offset, b->offset + b->size)) return -1;
  if (b->first <= lo && hi <= b->last)
    return run_set_add(t, &t->own[k], b->offset, b->offset + b->size);
  const int32_t mid = lo + (hi - lo) / 2;
  if (b->first <= mid && tree_insert(t, 2 * k, lo, mid, b)) return -1;
  if (b->last > mid && tree_insert(t, 2 * k + 1, mid + 1, hi, b)) return -1;
  return 0;
}

static int gather(plan_tree *t, const run_set *s) {
  if (!s->n) return 0; /* nothing to copy, and runs may still be NULL */
  if (t->n_gathered + (size_t)s->n > t->cap_gathered) {
    size_t cap = 2 * (t->n_gathered + (size_t)s->n);
    plan_run *runs = realloc(t->gathered, cap * sizeof(*runs));
    if (!runs) return -1;
    t->gathered = runs;
    t->cap_gathered = cap;
  }
  memcpy(&t->gathered[t->n_gathered], s->runs, (size_t)s->n * sizeof(plan_run));
  t->n_gathered += (size_t)s->n;
  t->work += (size_t)s->n;
  return 0;
}

/* Gathers the runs of every placed buffer alive at some step of [first, last]. */
static int tree_query(plan_tree *t, size_t k, int32_t lo, int32_t hi, int32_t first,
                      int32_t last) {
  t->work++;
  if (first <= lo && hi <= last) return gather(t, &t->sub[k]);
  if (gather(t, &t->own[k])) return -1;
  const int32_t mid = lo + (hi - lo) / 2;
  if (first <= mid && tree_query(t, 2 * k, lo, mid, first, last)) return -1;
  if (last > mid && tree_query(t, 2 * k + 1, mid + 1, hi, first, last)) return -1;
  return 0;
}

static int by_start(const void *a, const void *b) {
  const plan_run *x = a, *y = b;
  return x->start < y->start ? -1 : (x->start > y->start);
}

/* The start of the smallest gap that fits `size` between the gathered runs (the lowest on
 * ties), or the end of the highest run. */
static size_t best_fit(plan_tree *t, size_t size) {
  if (t->n_gathered > 1) qsort(t->gathered, t->n_gathered, sizeof(plan_run), by_start);
  size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
  for (size_t i = 0; i < t->n_gathered; i++) {
    const plan_run *r = &t->gathered[i];
    if (r->start > cursor) {
      const size_t gap = r->start - cursor;
      if (gap >= size && gap < best_gap) {
        best = cursor;
        best_gap = gap;
      }
    }
    if (r->end > cursor) cursor = r->end;
  }
  return best != SIZE_MAX ? best : cursor;
}

static void tree_free(plan_tree *t, size_t nodes) {
  for (size_t k = 0; t->own && t->sub && k < nodes; k++) {
    free(t->own[k].runs);
    free(t->sub[k].runs);
  }
  free(t->own);
  free(t->sub);
  free(t->gathered);
}

tfl_status tfl_plan_offsets(tfl_plan_buf *bufs, int n, int32_t n_steps, size_t *total,
                            size_t *work) {
  plan_tree t = {0};
  t.n_steps = n_steps > 0 ? n_steps : 1;
  const size_t nodes = 4 * (size_t)t.n_steps;
  t.own = calloc(nodes, sizeof(run_set));
  t.sub = calloc(nodes, sizeof(run_set));
  int failed = !t.own || !t.sub;
  if (n > 1) qsort(bufs, (size_t)n, sizeof(*bufs), by_size_desc);
  *total = 0;
  for (int i = 0; i < n && !failed; i++) {
    tfl_plan_buf *b = &bufs[i];
    t.n_gathered = 0;
    failed = tree_query(&t, 1, 0, t.n_steps - 1, b->first, b->last) != 0;
    if (failed) break;
    b->offset = best_fit(&t, b->size);
    if (b->offset + b->size > *total) *total = b->offset + b->size;
    /* A buffer of no bytes occupies nothing that another could collide with. */
    if (b->size) failed = tree_insert(&t, 1, 0, t.n_steps - 1, b) != 0;
  }
  if (work) *work = t.work;
  tree_free(&t, nodes);
  return failed ? TFL_OUT_OF_MEMORY : TFL_OK;
}

/* The tensors planned into the arena and the scratch buffers of the nodes run in the plan,
 * with lifetimes in [0, n_nodes]. */
static int collect(tfl_context *ctx, tfl_plan_buf *bufs) {
  int n = 0;
  for (int i = 0; i < ctx->n_tensors; i++) {
    tfl_tensor *t = &ctx->tensors[i];
    ctx->arena_offset[i] = SIZE_MAX;
    if (t->alloc != TFL_ALLOC_NONE || ctx->last_use[i] < 0) continue;
    const int32_t last = ctx->last_use[i];
    /* A tensor with no writer in the plan is refused before planning; were one to get
     * here, it would count from its last step rather than from outside the steps. */
    const int32_t first = ctx->first_use[i] <= last ? ctx->first_use[i] : last;
    bufs[n++] = (tfl_plan_buf){align_up(t->bytes), first, last, i, -1, 0};
  }
  for (int j = 0; j < ctx->n_nodes; j++) {
    tfl_node_rt *rt = &ctx->rt[j];
    if (rt->folded || rt->deferred) continue;
    for (int k = 0; k < rt->n_scratch; k++)
      bufs[n++] = (tfl_plan_buf){align_up(rt->scratch_size[k]), j, j, -1 - k, j, 0};
  }
  return n;
}

static tfl_status reserve_arena(tfl_context *ctx, size_t size) {
  if (size > ctx->interp->options.max_arena_bytes)
    return tfl_interp_error(ctx->interp, TFL_LIMIT_EXCEEDED,
                            "the model needs an arena of %zu bytes, over the limit of %zu", size,
                            ctx->interp->options.max_arena_bytes);
  /* An empty plan still gets a block: tensor pointers are arena + offset, never NULL + 0. */
  if (size <= ctx->arena_capacity && ctx->arena) return TFL_OK;
  free(ctx->arena_block);
  ctx->arena_block = malloc(size + TFL_ARENA_ALIGN);
  ctx->arena = NULL;
  ctx->arena_capacity = 0;
  if (!ctx->arena_block)
    return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory for a %zu-byte arena",
                            size);
  uintptr_t p = (uintptr_t)ctx->arena_block;
  ctx->arena = (uint8_t *)((p + TFL_ARENA_ALIGN - 1) & ~(uintptr_t)(TFL_ARENA_ALIGN - 1));
  ctx->arena_capacity = size;
  return TFL_OK;
}

tfl_status tfl_plan_arena(tfl_context *ctx) {
  compute_lifetimes(ctx);
  size_t cap = (size_t)ctx->n_tensors + (size_t)ctx->n_nodes * TFL_MAX_SCRATCH + 1;
  tfl_plan_buf *bufs = malloc(cap * sizeof(*bufs));
  if (!bufs) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
  int n = collect(ctx, bufs);
  size_t total = 0;
  tfl_status st = tfl_plan_offsets(bufs, n, ctx->n_nodes + 1, &total, NULL);
  if (st != TFL_OK) st = tfl_interp_error(ctx->interp, st, "out of memory planning the arena");
  if (st == TFL_OK) st = reserve_arena(ctx, total);
  for (int i = 0; i < n && st == TFL_OK; i++) {
    const tfl_plan_buf *b = &bufs[i];
    if (b->tensor >= 0) {
      tfl_tensor *t = &ctx->tensors[b->tensor];
      t->alloc = TFL_ALLOC_ARENA;
      t->data = ctx->arena + b->offset;
      ctx->arena_offset[b->tensor] = b->offset;
    } else {
      ctx->rt[b->node].scratch_offset[-1 - b->tensor] = b->offset;
    }
  }
  ctx->arena_size = total;
  free(bufs);
  return st;
}
