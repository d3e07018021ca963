/* What control-flow and variable kernels may do to the interpreter: run other subgraphs and
 * keep resource variables (src/runtime/kernel.h). */
#include <stdlib.h>
#include <string.h>

#include "runtime/interpreter.h"
#include "runtime/kernel.h"

int tfl_subgraph_count(tfl_context *ctx) { return ctx->interp->n_subgraphs; }

tfl_context *tfl_context_subgraph(tfl_context *ctx, int index) {
  return tfl_subgraph_get(ctx, index);
}

int tfl_subgraph_input_count(tfl_context *sg) { return sg->msg->n_inputs; }

int tfl_subgraph_output_count(tfl_context *sg) { return sg->msg->n_outputs; }

tfl_tensor *tfl_subgraph_input(tfl_context *sg, int i) {
  if (i < 0 || i >= sg->msg->n_inputs) return NULL;
  return &sg->tensors[sg->msg->inputs[i]];
}

tfl_tensor *tfl_subgraph_output(tfl_context *sg, int i) {
  if (i < 0 || i >= sg->msg->n_outputs) return NULL;
  return &sg->tensors[sg->msg->outputs[i]];
}

tfl_status tfl_subgraph_resize_input(tfl_context *sg, int i, int ndim, const int32_t *dims) {
  if (i < 0 || i >= sg->msg->n_inputs) return TFL_INVALID_ARGUMENT;
  return tfl_subgraph_resize_tensor(sg, sg->msg->inputs[i], ndim, dims);
}

tfl_status tfl_subgraph_prepare(tfl_context *sg) { return tfl_subgraph_allocate(sg); }

tfl_status tfl_subgraph_run(tfl_context *sg) { return tfl_subgraph_invoke(sg); }

int tfl_context_cancelled(tfl_context *ctx) { return atomic_exchange(&ctx->interp->cancel, 0) != 0; }

/* --- resource variables ------------------------------------------------------------- */

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

tfl_status tfl_context_resource(tfl_context *ctx, const char *container, const char *name,
                                int32_t *id) {
  struct tfl_interpreter *interp = ctx->interp;
  container = container ? container : "";
  name = name ? name : "";
  for (int i = 0; i < interp->n_resources; i++) {
    tfl_resource *r = &interp->resources[i];
    if (strcmp(r->container, container) == 0 && strcmp(r->name, name) == 0) {
      *id = i;
      return TFL_OK;
    }
  }
  tfl_resource *grown =
      realloc(interp->resources, (size_t)(interp->n_resources + 1) * sizeof(*grown));
  if (!grown) return tfl_interp_error(interp, TFL_OUT_OF_MEMORY, "out of memory");
  interp->resources = grown;
  tfl_resource *r = &grown[interp->n_resources];
  memset(r, 0, sizeof(*r));
  r->container = dup_string(container);
  r->name = dup_string(name);
  r->value.ndim = -1;
  r->value.alloc = TFL_ALLOC_VARIABLE;
  r->value.name = r->name;
  r->value.index = -1;
  if (!r->container || !r->name) {
    free(r->container);
    free(r->name);
    return tfl_interp_error(interp, TFL_OUT_OF_MEMORY, "out of memory");
  }
  *id = interp->n_resources++;
  return TFL_OK;
}

tfl_tensor *tfl_context_resource_tensor(tfl_context *ctx, int32_t id) {
  if (id < 0 || id >= ctx->interp->n_resources) return NULL;
  return &ctx->interp->resources[id].value;
}

tfl_status tfl_context_resource_assign(tfl_context *ctx, int32_t id, const tfl_tensor *value) {
  tfl_tensor *v = tfl_context_resource_tensor(ctx, id);
  if (!v) return tfl_interp_error(ctx->interp, TFL_ERROR, "unknown resource variable %d", (int)id);
  size_t need = value->bytes ? value->bytes : 1;
  if (need > v->heap_capacity) {
    void *p = realloc(v->data, need);
    if (!p) return tfl_interp_error(ctx->interp, TFL_OUT_OF_MEMORY, "out of memory");
    v->data = p;
    v->heap_capacity = need;
  }
  v->type = value->type;
  v->ndim = value->ndim;
  memcpy(v->dims, value->dims, sizeof(v->dims));
  v->quant = value->quant;
  v->bytes = value->bytes;
  if (value->bytes) memcpy(v->data, value->data, value->bytes);
  return TFL_OK;
}

unsigned tfl_context_variables_epoch(tfl_context *ctx) { return ctx->interp->variables_epoch; }

void tfl_resources_free(struct tfl_interpreter *interp) {
  for (int i = 0; i < interp->n_resources; i++) {
    free(interp->resources[i].container);
    free(interp->resources[i].name);
    free(interp->resources[i].value.data);
  }
  free(interp->resources);
  interp->resources = NULL;
  interp->n_resources = 0;
}
