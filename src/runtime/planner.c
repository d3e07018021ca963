/* Arena planning: every tensor computed during invoke, and every scratch buffer, gets an
 * offset in one block. Buffers whose lifetimes (first to last node that touches them) do not
 * overlap may share bytes. Placement is greedy by size, largest first, each into the
 * best-fitting gap among already placed buffers that are alive at the same time (as in
 * TFLite's arena planner; Pisarchyk & Lee, arXiv:2001.03288). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/interpreter.h"
#include "runtime/kernel.h"

#define TFL_ARENA_ALIGN 64

typedef struct plan_buf {
  size_t size;
  size_t offset;
  int32_t first, last;
  int tensor;  /* >= 0: tensor index; otherwise -1 - scratch slot */
  int node;    /* scratch: owning node */
  int placed;
} plan_buf;

static size_t align_up(size_t n) { return (n + TFL_ARENA_ALIGN - 1) & ~(size_t)(TFL_ARENA_ALIGN - 1); }

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
}

static int by_size_desc(const void *a, const void *b) {
  const plan_buf *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return x->tensor < y->tensor ? -1 : (x->tensor > y->tensor);
}

static int by_offset(const void *a, const void *b) {
  const plan_buf *x = *(const plan_buf *const *)a, *y = *(const plan_buf *const *)b;
  return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* The offset of the smallest gap that fits `b` among placed buffers alive at the same time. */
static size_t best_fit(const plan_buf *b, plan_buf *bufs, int n, const plan_buf **live) {
  int n_live = 0;
  for (int i = 0; i < n; i++)
    if (bufs[i].placed && bufs[i].first <= b->last && b->first <= bufs[i].last)
      live[n_live++] = &bufs[i];
  qsort((void *)live, (size_t)n_live, sizeof(*live), by_offset);
  size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
  for (int i = 0; i < n_live; i++) {
    if (live[i]->offset >= cursor) {
      size_t gap = live[i]->offset - cursor;
      if (gap >= b->size && gap < best_gap) {
        best = cursor;
        best_gap = gap;
      }
    }
    size_t end = live[i]->offset + live[i]->size;
    if (end > cursor) cursor = end;
  }
  return best != SIZE_MAX ? best : cursor;
}

static int collect(tfl_context *ctx, plan_buf *bufs) {
  int n = 0;
  for (int i = 0; i < ctx->n_tensors; i++) {
    tfl_tensor *t = &ctx->tensors[i];
    ctx->arena_offset[i] = SIZE_MAX;
    if (t->alloc != TFL_ALLOC_NONE || ctx->last_use[i] < 0) continue;
    bufs[n++] = (plan_buf){align_up(t->bytes), 0, ctx->first_use[i], ctx->last_use[i], i, -1, 0};
  }
  for (int j = 0; j < ctx->n_nodes; j++) {
    tfl_node_rt *rt = &ctx->rt[j];
    if (rt->folded || rt->deferred) continue;
    for (int k = 0; k < rt->n_scratch; k++)
      bufs[n++] = (plan_buf){align_up(rt->scratch_size[k]), 0, j, j, -1 - k, j, 0};
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
  plan_buf *bufs = malloc(cap * sizeof(*bufs));
  const plan_buf **live = malloc(cap * sizeof(*live));
  if (!bufs || !live) {
    free(bufs);
    free((void *)live);
    return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
  }
  int n = collect(ctx, bufs);
  qsort(bufs, (size_t)n, sizeof(*bufs), by_size_desc);
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    bufs[i].offset = best_fit(&bufs[i], bufs, n, live);
    bufs[i].placed = 1;
    if (bufs[i].offset + bufs[i].size > total) total = bufs[i].offset + bufs[i].size;
  }
  tfl_status st = reserve_arena(ctx, total);
  for (int i = 0; i < n && st == TFL_OK; i++) {
    const plan_buf *b = &bufs[i];
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
  free((void *)live);
  return st;
}
