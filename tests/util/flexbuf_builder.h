/* Builds a FlexBuffers map, the custom_options format of TFLite_Detection_PostProcess and
 * most MediaPipe ops, for tests:
 *
 *   fxb_map *m = fxb_new();
 *   fxb_int(m, "max_detections", 10);
 *   fxb_float(m, "nms_iou_threshold", 0.5);
 *   size_t size;
 *   uint8_t *bytes = fxb_finish(m, 0, &size);   (malloc'd; free() it)
 *   fxb_free(m);
 *
 * Keys may be added in any order (the map is written sorted, as FlexBuffers requires); a key
 * added twice is a usage error. Every slot of the map, its key vector, strings' length prefixes
 * and vectors' elements share one width: fxb_finish picks the narrowest of 1, 2, 4 or 8 bytes
 * that holds every value exactly (floats need at least 4: a float32, or a float64 when the value
 * is not a float32), as FlexBuffers' own builder does for uniform maps; `width` forces one
 * (0 = pick). Usage errors (duplicate keys, out of memory, a forced width too narrow) make
 * fxb_finish return NULL. */
#ifndef TFL_TESTS_FLEXBUF_BUILDER_H
#define TFL_TESTS_FLEXBUF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct fxb_map fxb_map;

fxb_map *fxb_new(void);
void fxb_free(fxb_map *m);

void fxb_int(fxb_map *m, const char *key, int64_t v);
void fxb_float(fxb_map *m, const char *key, double v);
void fxb_bool(fxb_map *m, const char *key, int v);
void fxb_string(fxb_map *m, const char *key, const char *s);
/* A typed vector of ints (FlexBuffers VECTOR_INT). */
void fxb_ints(fxb_map *m, const char *key, const int64_t *v, int n);

/* Serializes the map; `width` is 0 (narrowest that fits) or 1, 2, 4, 8. */
uint8_t *fxb_finish(const fxb_map *m, int width, size_t *size);

#endif
