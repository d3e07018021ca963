/* Loading models (include/tfl/model.h): getting the bytes (mmap, read or the caller's buffer),
 * then verification and decoding (decode.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/decode.h"

#define MODEL_ALIGN 16

static tfl_status load_error(char *err, size_t err_size, tfl_status status, const char *fmt,
                             ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static tfl_status load_error(char *err, size_t err_size, tfl_status status, const char *fmt,
                             ...) {
  if (err && err_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return status;
}

/* Memory for a copy of the file: 16-byte aligned like a mapping, so that the FlatBuffer's
 * own alignment (Buffer.data is force_align 16) carries over to the copy. */
static void *alloc_aligned(size_t size) {
  if (size > SIZE_MAX - MODEL_ALIGN) return NULL;
  return aligned_alloc(MODEL_ALIGN, (size + MODEL_ALIGN - 1) & ~(size_t)(MODEL_ALIGN - 1));
}

void tfl_model_free(tfl_model *model) {
  if (!model) return;
  tfl_arena_free_chunks(model->arena);
  if (model->mapping) munmap(model->mapping, model->mapping_size);
  free(model->owned);
  free(model);
}

/* Takes ownership of m (bytes set): verifies and decodes it, or frees it. */
static tfl_status finish_load(tfl_model *m, tfl_model **out, char *err, size_t err_size) {
  tfl_decoder d;
  memset(&d, 0, sizeof(d));
  d.model = m;
  d.err = err;
  d.err_size = err_size;
  tfl_status st = tfl_decode_model(&d);
  m->arena = d.arena.chunks;
  if (st) {
    tfl_model_free(m);
    return st;
  }
  *out = m;
  return TFL_OK;
}

/* Reads the whole file; used when it cannot be mapped. */
static tfl_status read_file(int fd, tfl_model *m, const char *path, char *err, size_t err_size) {
  uint8_t *buf = alloc_aligned(m->size);
  if (!buf) return load_error(err, err_size, TFL_OUT_OF_MEMORY, "out of memory reading %s", path);
  m->owned = buf;
  size_t done = 0;
  while (done < m->size) {
    ssize_t n = read(fd, buf + done, m->size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return load_error(err, err_size, TFL_IO_ERROR, "cannot read %s: %s", path, strerror(errno));
    if (n == 0)
      return load_error(err, err_size, TFL_IO_ERROR, "%s became shorter while reading", path);
    done += (size_t)n;
  }
  m->bytes = buf;
  return TFL_OK;
}

/* Maps (or else reads) an open regular file of the size in m->size. */
static tfl_status map_file(int fd, tfl_model *m, const char *path, char *err, size_t err_size) {
  void *map = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return read_file(fd, m, path, err, err_size);
  m->mapping = map;
  m->mapping_size = m->size;
  m->bytes = map;
  return TFL_OK;
}

static tfl_status open_model_file(int fd, tfl_model *m, const char *path, char *err,
                                  size_t err_size) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return load_error(err, err_size, TFL_IO_ERROR, "cannot stat %s: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return load_error(err, err_size, TFL_IO_ERROR, "%s is not a regular file", path);
  if (sb.st_size == 0)
    return load_error(err, err_size, TFL_INVALID_MODEL, "%s is empty", path);
  if ((uint64_t)sb.st_size > SIZE_MAX)
    return load_error(err, err_size, TFL_LIMIT_EXCEEDED, "%s is too large", path);
  m->size = (size_t)sb.st_size;
  return map_file(fd, m, path, err, err_size);
}

tfl_status tfl_model_load_file(const char *path, tfl_model **out, char *err, size_t err_size) {
  if (out) *out = NULL;
  if (!path || !out)
    return load_error(err, err_size, TFL_INVALID_ARGUMENT, "no path or no output pointer");
  tfl_model *m = calloc(1, sizeof(*m));
  if (!m) return load_error(err, err_size, TFL_OUT_OF_MEMORY, "out of memory");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    free(m);
    return load_error(err, err_size, TFL_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
  }
  tfl_status st = open_model_file(fd, m, path, err, err_size);
  close(fd);
  if (st) {
    tfl_model_free(m);
    return st;
  }
  return finish_load(m, out, err, err_size);
}

tfl_status tfl_model_load_buffer(const void *data, size_t size, tfl_model **out, char *err,
                                 size_t err_size) {
  if (out) *out = NULL;
  if (!out || (!data && size))
    return load_error(err, err_size, TFL_INVALID_ARGUMENT, "no data or no output pointer");
  if (size == 0) return load_error(err, err_size, TFL_INVALID_MODEL, "the model is empty");
  tfl_model *m = calloc(1, sizeof(*m));
  if (!m) return load_error(err, err_size, TFL_OUT_OF_MEMORY, "out of memory");
  m->size = size;
  m->bytes = data;
  if ((uintptr_t)data % MODEL_ALIGN) {
    m->owned = alloc_aligned(size);
    if (!m->owned) {
      free(m);
      return load_error(err, err_size, TFL_OUT_OF_MEMORY, "out of memory copying the model");
    }
    memcpy(m->owned, data, size);
    m->bytes = m->owned;
  }
  return finish_load(m, out, err, err_size);
}

uint32_t tfl_model_schema_version(const tfl_model *model) { return model ? model->version : 0; }

int tfl_model_subgraph_count(const tfl_model *model) { return model ? model->n_subgraphs : 0; }

const char *tfl_model_description(const tfl_model *model) {
  return model && model->description ? model->description : "";
}

int tfl_model_metadata_count(const tfl_model *model) { return model ? model->n_metadata : 0; }

tfl_status tfl_model_metadata(const tfl_model *model, int index, const char **name,
                              const void **data, size_t *size) {
  if (!model || index < 0 || index >= model->n_metadata) return TFL_INVALID_ARGUMENT;
  const tfl_model_meta *md = &model->metadata[index];
  if (name) *name = md->name;
  if (data) *data = md->data;
  if (size) *size = md->size;
  return TFL_OK;
}

const char *tfl_version(void) { return TFL_VERSION_STRING; }
