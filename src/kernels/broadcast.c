#include "kernels/broadcast.h"

#include "kernels/simd.h"

#include <stdio.h>

/* "[2,1,3]" into buf (always terminated; long shapes are cut). */
static const char *shape_string(const tfl_tensor *t, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < t->ndim && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%d", i ? "," : "[", (int)t->dims[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  if (used < size) snprintf(buf + used, size - used, "%s", t->ndim ? "]" : "[]");
  return buf;
}

/* Size of dimension i of t once left-padded with 1s to rank nd. */
static int32_t padded_dim(const tfl_tensor *t, int nd, int i) {
  int k = i - (nd - t->ndim);
  return k < 0 ? 1 : t->dims[k];
}

tfl_status tfl_broadcast_operands(tfl_context *ctx, tfl_node *node, const tfl_tensor **a,
                                  const tfl_tensor **b, tfl_tensor **out) {
  tfl_status st = tfl_check_io(ctx, node, 2, 2, 1);
  if (st != TFL_OK) return st;
  *a = tfl_node_input(ctx, node, 0);
  *b = tfl_node_input(ctx, node, 1);
  *out = tfl_node_output(ctx, node, 0);
  if ((*a)->type != (*b)->type)
    return tfl_context_error(ctx, node, "inputs '%s' (%s) and '%s' (%s) have different types",
                             (*a)->name, tfl_type_name((*a)->type), (*b)->name,
                             tfl_type_name((*b)->type));
  return TFL_OK;
}

tfl_status tfl_broadcast_shape(tfl_context *ctx, const tfl_node *node, const tfl_tensor *a,
                               const tfl_tensor *b, int *ndim, int32_t dims[TFL_MAX_DIMS]) {
  const int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < nd; i++) {
    const int32_t da = padded_dim(a, nd, i), db = padded_dim(b, nd, i);
    if (da != db && da != 1 && db != 1) {
      char sa[96], sb[96];
      return tfl_context_error(ctx, node, "shapes %s of '%s' and %s of '%s' are not broadcastable",
                               shape_string(a, sa, sizeof(sa)), a->name,
                               shape_string(b, sb, sizeof(sb)), b->name);
    }
    dims[i] = (da == 0 || db == 0) ? 0 : (da > db ? da : db);
  }
  *ndim = nd;
  return TFL_OK;
}

void tfl_broadcast_plan(const tfl_tensor *a, const tfl_tensor *b, tfl_bcast *plan) {
  const int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  size_t a_inner = 1, b_inner = 1; /* contiguous strides of the dimension being visited */
  size_t a_full[TFL_MAX_DIMS], b_full[TFL_MAX_DIMS];
  for (int i = nd - 1; i >= 0; i--) {
    a_full[i] = a_inner;
    b_full[i] = b_inner;
    a_inner *= (size_t)padded_dim(a, nd, i);
    b_inner *= (size_t)padded_dim(b, nd, i);
  }

  plan->ndim = 0;
  plan->count = 1;
  for (int i = 0; i < nd; i++) {
    const int32_t da = padded_dim(a, nd, i), db = padded_dim(b, nd, i);
    const int32_t d = (da == 0 || db == 0) ? 0 : (da > db ? da : db);
    plan->count *= (size_t)d;
    if (d == 1) continue;
    const size_t sa = da == 1 ? 0 : a_full[i], sb = db == 1 ? 0 : b_full[i];
    const int last = plan->ndim - 1;
    /* Same treatment as the previous kept dimension: the pair is one longer dimension with
     * the inner stride (strides of the dropped size-1 dimensions in between do not matter). */
    if (last >= 0 && (plan->a_stride[last] == 0) == (sa == 0) &&
        (plan->b_stride[last] == 0) == (sb == 0)) {
      plan->dims[last] *= (size_t)d;
      plan->a_stride[last] = sa;
      plan->b_stride[last] = sb;
      continue;
    }
    plan->dims[plan->ndim] = (size_t)d;
    plan->a_stride[plan->ndim] = sa;
    plan->b_stride[plan->ndim] = sb;
    plan->ndim++;
  }
  if (plan->ndim == 0) { /* one element on every side */
    plan->ndim = 1;
    plan->dims[0] = 1;
    plan->a_stride[0] = plan->b_stride[0] = 1;
  }
}

/* Output elements [e0, e1), run by run (the first and last runs may be partial). */
static void broadcast_range(const tfl_bcast *plan, const unsigned char *pa, size_t a_size,
                            const unsigned char *pb, size_t b_size, unsigned char *po,
                            size_t out_size, tfl_bcast_fn fn, const void *arg, size_t e0,
                            size_t e1) {
  if (e0 >= e1) return; /* also an empty output, whose runs may have length 0 */
  const int last = plan->ndim - 1;
  const size_t n = plan->dims[last];
  const int a_step = plan->a_stride[last] != 0, b_step = plan->b_stride[last] != 0;
  size_t idx[TFL_MAX_DIMS] = {0};
  size_t off = e0 % n, ao = off * (size_t)a_step, bo = off * (size_t)b_step;
  for (size_t row = e0 / n, d = (size_t)last; d-- > 0;) { /* the run's outer coordinates */
    idx[d] = row % plan->dims[d];
    row /= plan->dims[d];
    ao += idx[d] * plan->a_stride[d];
    bo += idx[d] * plan->b_stride[d];
  }
  po += e0 * out_size;
  for (size_t e = e0; e < e1;) {
    const size_t len = n - off < e1 - e ? n - off : e1 - e;
    fn(pa + ao * a_size, a_step, pb + bo * b_size, b_step, po, len, arg);
    po += len * out_size;
    e += len;
    ao -= off * (size_t)a_step;
    bo -= off * (size_t)b_step;
    off = 0;
    for (int d = last - 1; d >= 0; d--) {
      ao += plan->a_stride[d];
      bo += plan->b_stride[d];
      if (++idx[d] < plan->dims[d]) break;
      ao -= plan->a_stride[d] * plan->dims[d];
      bo -= plan->b_stride[d] * plan->dims[d];
      idx[d] = 0;
    }
  }
}

void tfl_broadcast_run(const tfl_bcast *plan, const void *a, size_t a_size, const void *b,
                       size_t b_size, void *out, size_t out_size, tfl_bcast_fn fn,
                       const void *arg) {
  broadcast_range(plan, a, a_size, b, b_size, out, out_size, fn, arg, 0, plan->count);
}

typedef struct broadcast_job {
  const tfl_bcast *plan;
  const void *a, *b;
  void *out;
  size_t a_size, b_size, out_size;
  tfl_bcast_fn fn;
  const void *arg;
} broadcast_job;

static void broadcast_chunks(const void *arg, int32_t c0, int32_t c1) {
  const broadcast_job *j = arg;
  const size_t e1 = (size_t)c1 * TFL_BCAST_CHUNK;
  broadcast_range(j->plan, j->a, j->a_size, j->b, j->b_size, j->out, j->out_size, j->fn, j->arg,
                  (size_t)c0 * TFL_BCAST_CHUNK, e1 < j->plan->count ? e1 : j->plan->count);
}

void tfl_broadcast_run_parallel(tfl_context *ctx, const tfl_bcast *plan, const void *a,
                                size_t a_size, const void *b, size_t b_size, void *out,
                                size_t out_size, tfl_bcast_fn fn, const void *arg) {
  const size_t chunks = (plan->count + TFL_BCAST_CHUNK - 1) / TFL_BCAST_CHUNK;
  if (chunks < 2 || chunks > INT32_MAX || tfl_context_threads(ctx) < 2) {
    tfl_broadcast_run(plan, a, a_size, b, b_size, out, out_size, fn, arg);
    return;
  }
  const broadcast_job job = {plan, a, b, out, a_size, b_size, out_size, fn, arg};
  tfl_split_rows(ctx, (int32_t)chunks, broadcast_chunks, &job);
}
