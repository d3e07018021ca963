/* Seeds for the FlexBuffers fuzz target: writes the custom_options of every operator of the
 * given models as OUT_DIR/<n>.flex (most are FlexBuffer maps). Used by tests/fuzz/run.sh.
 * Usage: extract_options OUT_DIR MODEL... */
#include <stdio.h>

#include "model/model.h"
#include "tfl/model.h"

static int write_options(const char *dir, int n, const tfl_model_op *op) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%d.flex", dir, n);
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  size_t done = fwrite(op->custom_options, 1, op->custom_options_size, f);
  return fclose(f) == 0 && done == op->custom_options_size;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUT_DIR MODEL...\n", argv[0]);
    return 2;
  }
  int written = 0;
  for (int a = 2; a < argc; a++) {
    tfl_model *m = NULL;
    if (tfl_model_load_file(argv[a], &m, NULL, 0) != TFL_OK) continue;
    for (int s = 0; s < m->n_subgraphs; s++)
      for (int i = 0; i < m->subgraphs[s].n_ops; i++) {
        const tfl_model_op *op = &m->subgraphs[s].ops[i];
        if (op->custom_options_size && write_options(argv[1], written, op)) written++;
      }
    tfl_model_free(m);
  }
  printf("%d custom options written\n", written);
  return 0;
}
