/* Interpreter introspection (include/tfl/inspect.h). */
#include <stdint.h>

#include "runtime/interpreter.h"
#include "tfl/inspect.h"

int tfl_op_supported(const tfl_options *options, int32_t builtin_code, const char *custom_name,
                     int32_t version) {
  int mismatch;
  const char *custom = builtin_code == TFL_BUILTIN_CUSTOM ? custom_name : NULL;
  if (builtin_code == TFL_BUILTIN_CUSTOM && !custom_name) return 0;
  return tfl_registry_find(options ? &options->registry : NULL, builtin_code, custom, version,
                           &mismatch) != NULL;
}

int tfl_interpreter_node_count(const tfl_interpreter *interp) {
  return interp && interp->n_subgraphs ? interp->subgraphs[0].n_nodes : 0;
}

static tfl_memory_kind memory_kind(tfl_alloc alloc) {
  switch (alloc) {
    case TFL_ALLOC_CONST: return TFL_MEMORY_CONSTANT;
    case TFL_ALLOC_ARENA: return TFL_MEMORY_ARENA;
    case TFL_ALLOC_PERSISTENT: return TFL_MEMORY_PERSISTENT;
    case TFL_ALLOC_DYNAMIC: return TFL_MEMORY_DYNAMIC;
    case TFL_ALLOC_VARIABLE: return TFL_MEMORY_VARIABLE;
    default: return TFL_MEMORY_NONE;
  }
}

tfl_status tfl_interpreter_tensor_plan(const tfl_interpreter *interp, int tensor,
                                       tfl_tensor_plan *out) {
  if (!interp || !out || !interp->n_subgraphs) return TFL_INVALID_ARGUMENT;
  const struct tfl_context *ctx = &interp->subgraphs[0];
  if (tensor < 0 || tensor >= ctx->n_tensors) return TFL_INVALID_ARGUMENT;
  if (!ctx->prepared) return TFL_NOT_READY;
  const tfl_tensor *t = &ctx->tensors[tensor];
  out->kind = memory_kind(t->alloc);
  out->offset = t->alloc == TFL_ALLOC_ARENA ? ctx->arena_offset[tensor] : 0;
  out->bytes = t->bytes;
  int used = ctx->last_use[tensor] >= 0 && ctx->first_use[tensor] != INT32_MAX;
  out->first_node = used ? ctx->first_use[tensor] : -1;
  out->last_node = used ? ctx->last_use[tensor] : -1;
  return TFL_OK;
}

int tfl_interpreter_node_is_folded(const tfl_interpreter *interp, int node) {
  if (!interp || !interp->n_subgraphs) return 0;
  const struct tfl_context *ctx = &interp->subgraphs[0];
  return node >= 0 && node < ctx->n_nodes && ctx->rt[node].folded;
}

const char *tfl_interpreter_cpu(const tfl_interpreter *interp) {
  return interp ? tfl_cpu_level_name(interp->cpu) : "";
}
