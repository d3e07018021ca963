/* TFLite_Detection_PostProcess: hand-computed cases (decoding, IoU rules, thresholds, slots),
 * tie orders (the stable sort and merge of TFLite, and libstdc++'s std::partial_sort, whose
 * expected orders below were produced by running std::partial_sort from g++ 12), quantized
 * inputs against their float equivalents, errors, and random cases against a naive
 * implementation written here from the op's description. Also checks the FlexBuffers map
 * writer the tests build options with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format/flexbuf.h"
#include "util/flexbuf_builder.h"
#include "util/op_runner.h"
#include "util/test.h"

#ifndef TFL_NO_CUSTOM_OPS

#define OP "TFLite_Detection_PostProcess"

typedef struct opts {
  int max_detections, max_classes_per_detection, detections_per_class, num_classes;
  double score_threshold, iou_threshold;
  double y_scale, x_scale, h_scale, w_scale;
  int regular;
  int omit_per_class; /* leave detections_per_class out (default 100) */
} opts;

static opts default_opts(int num_classes) {
  opts o = {10, 1, 100, num_classes, 0.0, 0.5, 10.0, 10.0, 5.0, 5.0, 0, 1};
  return o;
}

static uint8_t *build_opts(const opts *o, size_t *size) {
  fxb_map *m = fxb_new();
  fxb_int(m, "max_detections", o->max_detections);
  fxb_int(m, "max_classes_per_detection", o->max_classes_per_detection);
  if (!o->omit_per_class) fxb_int(m, "detections_per_class", o->detections_per_class);
  fxb_int(m, "num_classes", o->num_classes);
  fxb_float(m, "nms_score_threshold", o->score_threshold);
  fxb_float(m, "nms_iou_threshold", o->iou_threshold);
  fxb_float(m, "y_scale", o->y_scale);
  fxb_float(m, "x_scale", o->x_scale);
  fxb_float(m, "h_scale", o->h_scale);
  fxb_float(m, "w_scale", o->w_scale);
  if (o->regular) fxb_bool(m, "use_regular_nms", 1);
  uint8_t *bytes = fxb_finish(m, 0, size);
  fxb_free(m);
  return bytes;
}

/* Float inputs: n boxes, `cols` class columns. */
static tfl_status run_float(const opts *o, int n, int cols, const float *enc, const float *cls,
                            const float *anchors, ot_result *r) {
  size_t size;
  uint8_t *bytes = build_opts(o, &size);
  const int32_t de[3] = {1, n, 4}, dc[3] = {1, n, cols}, da[2] = {n, 4};
  ot_spec in[3] = {OT_F32(3, de, enc), OT_F32(3, dc, cls), OT_F32_CONST(2, da, anchors)};
  ot_spec out[4] = {OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32),
                    OT_OUT(TFL_FLOAT32)};
  tfl_status st = ot_run_custom(OP, 1, bytes, size, in, 3, out, 4, r);
  free(bytes);
  return st;
}

/* Anchors (yc, xc, h, w) whose zero encodings decode to the boxes [ymin, xmin, ymax, xmax]. */
static void anchors_for(const float *boxes, int n, float *anchors) {
  for (int i = 0; i < n; i++) {
    const float *b = boxes + 4 * i;
    anchors[4 * i] = (b[0] + b[2]) / 2;
    anchors[4 * i + 1] = (b[1] + b[3]) / 2;
    anchors[4 * i + 2] = b[2] - b[0];
    anchors[4 * i + 3] = b[3] - b[1];
  }
}

static void check_row(const ot_result *r, int slot, const float *box, float cls, float score) {
  const float *boxes = ot_f32(r, 0);
  for (int k = 0; k < 4; k++) CHECK_NEAR(boxes[4 * slot + k], box[k], 1e-6);
  CHECK_NEAR(ot_f32(r, 1)[slot], cls, 0);
  CHECK_NEAR(ot_f32(r, 2)[slot], score, 0);
}

static void check_empty_slots(const ot_result *r, int from, int slots) {
  for (int s = from; s < slots; s++) {
    for (int k = 0; k < 4; k++) CHECK_NEAR(ot_f32(r, 0)[4 * s + k], 0.0, 0);
    CHECK_NEAR(ot_f32(r, 1)[s], 0.0, 0);
    CHECK_NEAR(ot_f32(r, 2)[s], 0.0, 0);
  }
}

/* ---- the options writer -------------------------------------------------------------------- */

TEST(flexbuf_builder_round_trip) {
  static const int widths[] = {0, 1, 2, 4, 8};
  const int64_t vec[3] = {5, -7, 300};
  for (int k = 0; k < 5; k++) {
    fxb_map *m = fxb_new();
    fxb_int(m, "zeta", widths[k] == 1 ? -100 : -100000);
    fxb_float(m, "alpha", 0.25);
    fxb_bool(m, "flag", 1);
    fxb_string(m, "mode", "bilinear");
    fxb_ints(m, "subset", vec, widths[k] == 1 ? 2 : 3);
    size_t size = 0;
    uint8_t *b = fxb_finish(m, widths[k], &size);
    fxb_free(m);
    if (widths[k] == 1 || widths[k] == 2) { /* floats need 4 bytes */
      CHECK(b == NULL);
      free(b);
      continue;
    }
    REQUIRE(b);
    flex_ref root = flex_root(b, size);
    CHECK_EQ_INT(flex_get_type(root), FLEX_MAP);
    CHECK_EQ_INT(flex_vector_len(root), 5);
    CHECK_EQ_INT(flex_as_int(flex_map_get(root, "zeta")), -100000);
    CHECK_NEAR(flex_as_float(flex_map_get(root, "alpha")), 0.25, 0);
    CHECK_EQ_INT(flex_as_bool(flex_map_get(root, "flag")), 1);
    const char *s = flex_as_string(flex_map_get(root, "mode"), NULL);
    CHECK(s && strcmp(s, "bilinear") == 0);
    flex_ref v = flex_map_get(root, "subset");
    CHECK_EQ_INT(flex_vector_len(v), 3);
    CHECK_EQ_INT(flex_as_int(flex_vector_at(v, 2)), 300);
    CHECK(strcmp(flex_map_key_at(root, 0), "alpha") == 0); /* written sorted */
    free(b);
  }
  /* 0.1 is no float32: a float64 slot keeps it exactly. */
  fxb_map *m = fxb_new();
  fxb_float(m, "x", 0.1);
  fxb_int(m, "x", 1); /* duplicate key: a usage error */
  size_t size;
  CHECK(fxb_finish(m, 0, &size) == NULL);
  fxb_free(m);
  m = fxb_new();
  fxb_float(m, "x", 0.1);
  uint8_t *b = fxb_finish(m, 0, &size);
  REQUIRE(b);
  CHECK(flex_as_float(flex_map_get(flex_root(b, size), "x")) == 0.1);
  free(b);
  fxb_free(m);
}

/* ---- hand-computed cases --------------------------------------------------------------------- */

/* Decoding: yc = y / 10 * ah + ay, h = exp(h / 5) * ah, with background column 0 ignored. */
TEST(decodes_center_size_encodings) {
  opts o = default_opts(1);
  o.max_detections = 1;
  const float anchors[4] = {0.5f, 0.5f, 0.2f, 0.4f};
  const float enc[4] = {1.0f, -2.0f, 5.0f, 0.0f};
  const float cls[2] = {0.9f, 0.7f}; /* background, class 0 */
  ot_result r;
  REQUIRE(run_float(&o, 1, 2, enc, cls, anchors, &r) == TFL_OK);
  const double yc = 1.0 / 10 * 0.2 + 0.5, xc = -2.0 / 10 * 0.4 + 0.5;
  const double hh = 0.5 * exp(1.0) * 0.2, hw = 0.5 * 0.4;
  const float box[4] = {(float)(yc - hh), (float)(xc - hw), (float)(yc + hh), (float)(xc + hw)};
  CHECK_EQ_INT(r.out[0].ndim, 3);
  CHECK_EQ_INT(r.out[0].dims[1], 1);
  check_row(&r, 0, box, 0, 0.7f);
  CHECK_NEAR(ot_f32(&r, 3)[0], 1, 0);
  ot_result_free(&r);
}

/* Five boxes, one class (no background column):
 *   A [0,0,1,1] 0.9; B [0,0,1,1.2] 0.8 (IoU with A 1/1.2 > 0.5: dropped);
 *   C [0,0,1,2] 0.7 (IoU with A exactly 0.5: kept, not > 0.5); D [2,2,2,3] 0.95 (zero area:
 *   IoU 0 with everything); E [2,2,2,3] 0.6 (identical to D, still kept);
 *   F [5,5,6,6] 0.05 below the 0.1 threshold; G [7,7,8,8] 0.1 at the threshold: kept. */
TEST(fast_nms_hand_case) {
  static const float boxes[7 * 4] = {0, 0, 1, 1, 0, 0, 1, 1.2f, 0, 0, 1, 2, 2, 2,
                                     2, 3, 2, 2, 2, 3, 5, 5,    6, 6, 7, 7, 8, 8};
  static const float cls[7] = {0.9f, 0.8f, 0.7f, 0.95f, 0.6f, 0.05f, 0.1f};
  float anchors[7 * 4], enc[7 * 4] = {0};
  anchors_for(boxes, 7, anchors);
  opts o = default_opts(1);
  o.score_threshold = 0.1;
  o.max_detections = 8;
  ot_result r;
  REQUIRE(run_float(&o, 7, 1, enc, cls, anchors, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[1].dims[1], 8);
  CHECK_NEAR(ot_f32(&r, 3)[0], 5, 0);
  check_row(&r, 0, boxes + 12, 0, 0.95f); /* D */
  check_row(&r, 1, boxes + 0, 0, 0.9f);   /* A */
  check_row(&r, 2, boxes + 8, 0, 0.7f);   /* C */
  check_row(&r, 3, boxes + 16, 0, 0.6f);  /* E */
  check_row(&r, 4, boxes + 24, 0, 0.1f);  /* G */
  check_empty_slots(&r, 5, 8);
  ot_result_free(&r);
  /* Fewer slots than survivors: the best ones, in order. */
  o.max_detections = 2;
  REQUIRE(run_float(&o, 7, 1, enc, cls, anchors, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 3)[0], 2, 0);
  check_row(&r, 1, boxes + 0, 0, 0.9f);
  ot_result_free(&r);
}

/* Equal scores keep box order (stable sort); the first maximum class wins per box. */
TEST(fast_nms_ties) {
  static const float boxes[4 * 4] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7};
  /* background, then 3 classes */
  static const float cls[4 * 4] = {0, 0.5f, 0.8f, 0.8f, 0, 0.8f, 0.2f, 0.8f,
                                   0, 0.3f, 0.3f, 0.3f, 0, 0.1f, 0.8f, 0.1f};
  float anchors[16], enc[16] = {0};
  anchors_for(boxes, 4, anchors);
  opts o = default_opts(3);
  ot_result r;
  REQUIRE(run_float(&o, 4, 4, enc, cls, anchors, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 3)[0], 4, 0);
  check_row(&r, 0, boxes + 0, 1, 0.8f);
  check_row(&r, 1, boxes + 4, 0, 0.8f);
  check_row(&r, 2, boxes + 12, 1, 0.8f);
  check_row(&r, 3, boxes + 8, 0, 0.3f);
  check_empty_slots(&r, 4, 10);
  ot_result_free(&r);
}

/* max_classes_per_detection > 1: each box's classes ranked as std::partial_sort ranks them
 * (libstdc++ heap order on ties); slots per box = max_classes_per_detection, the unused ones
 * (more slots than classes) stay zero. */
TEST(fast_nms_several_classes_per_box) {
  static const float boxes[2 * 4] = {0, 0, 1, 1, 2, 2, 3, 3};
  static const float cls[2 * 8] = {0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f,
                                   0.1f, 0.2f, 0.2f, 0.1f, 0.2f, 0.1f, 0.2f, 0.0f};
  float anchors[8], enc[8] = {0};
  anchors_for(boxes, 2, anchors);
  opts o = default_opts(8);
  o.max_detections = 2;
  o.max_classes_per_detection = 4;
  ot_result r;
  REQUIRE(run_float(&o, 2, 8, enc, cls, anchors, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[1].dims[1], 8);
  CHECK_NEAR(ot_f32(&r, 3)[0], 2, 0);
  static const float first[4] = {1, 3, 0, 2};  /* std::partial_sort, 8 equal values, k 4 */
  static const float second[4] = {4, 1, 6, 2}; /* {.1 .2 .2 .1 .2 .1 .2 0}, k 4 */
  for (int c = 0; c < 4; c++) {
    check_row(&r, c, boxes, first[c], 0.3f);
    check_row(&r, 4 + c, boxes + 4, second[c], 0.2f);
  }
  ot_result_free(&r);
  /* 3 classes, 5 slots per box: slots 3 and 4 stay empty. */
  static const float cls3[2 * 3] = {0.5f, 0.9f, 0.5f, 0.2f, 0.1f, 0.3f};
  opts o3 = default_opts(3);
  o3.max_detections = 2;
  o3.max_classes_per_detection = 5;
  REQUIRE(run_float(&o3, 2, 3, enc, cls3, anchors, &r) == TFL_OK);
  CHECK_EQ_INT(r.out[1].dims[1], 10);
  check_row(&r, 0, boxes, 1, 0.9f);
  check_row(&r, 1, boxes, 0, 0.5f);
  check_row(&r, 2, boxes, 2, 0.5f);
  check_empty_slots(&r, 3, 5);
  check_row(&r, 5, boxes + 4, 2, 0.3f);
  check_row(&r, 6, boxes + 4, 0, 0.2f);
  check_row(&r, 7, boxes + 4, 1, 0.1f);
  check_empty_slots(&r, 8, 10);
  ot_result_free(&r);
}

/* Regular NMS: per class, then merged by score with earlier classes first on ties, cut to
 * max_detections; detections_per_class limits each class. */
TEST(regular_nms_hand_case) {
  /* A and B overlap (IoU 0.8), C apart. */
  static const float boxes[3 * 4] = {0, 0, 1, 1, 0, 0, 1, 1.25f, 3, 3, 4, 4};
  static const float cls[3 * 3] = {0, 0.9f, 0.4f,   /* A: class 0 0.9, class 1 0.4 */
                                   0, 0.8f, 0.6f,   /* B */
                                   0, 0.6f, 0.95f}; /* C */
  float anchors[12], enc[12] = {0};
  anchors_for(boxes, 3, anchors);
  opts o = default_opts(2);
  o.regular = 1;
  o.max_detections = 5;
  ot_result r;
  REQUIRE(run_float(&o, 3, 3, enc, cls, anchors, &r) == TFL_OK);
  /* class 0 keeps A 0.9, C 0.6 (B suppressed by A); class 1 keeps C 0.95, B 0.6 (A by B).
   * Merged: C 0.95 (1), A 0.9 (0), C 0.6 (0), B 0.6 (1): the 0.6 tie keeps class 0 first. */
  CHECK_NEAR(ot_f32(&r, 3)[0], 4, 0);
  check_row(&r, 0, boxes + 8, 1, 0.95f);
  check_row(&r, 1, boxes + 0, 0, 0.9f);
  check_row(&r, 2, boxes + 8, 0, 0.6f);
  check_row(&r, 3, boxes + 4, 1, 0.6f);
  check_empty_slots(&r, 4, 5);
  ot_result_free(&r);
  /* One detection per class, three in total. */
  o.detections_per_class = 1;
  o.omit_per_class = 0;
  o.max_detections = 3;
  REQUIRE(run_float(&o, 3, 3, enc, cls, anchors, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 3)[0], 2, 0);
  check_row(&r, 0, boxes + 8, 1, 0.95f);
  check_row(&r, 1, boxes + 0, 0, 0.9f);
  check_empty_slots(&r, 2, 3);
  ot_result_free(&r);
  /* Fewer slots than merged detections. */
  o.detections_per_class = 100;
  o.max_detections = 1;
  REQUIRE(run_float(&o, 3, 3, enc, cls, anchors, &r) == TFL_OK);
  CHECK_NEAR(ot_f32(&r, 3)[0], 1, 0);
  check_row(&r, 0, boxes + 8, 1, 0.95f);
  ot_result_free(&r);
}

/* Nothing above the threshold, or no boxes at all: zero detections and zero slots. */
TEST(no_detections) {
  static const float boxes[4] = {0, 0, 1, 1};
  static const float cls[1] = {0.2f};
  float anchors[4], enc[4] = {0};
  anchors_for(boxes, 1, anchors);
  for (int regular = 0; regular < 2; regular++) {
    opts o = default_opts(1);
    o.score_threshold = 0.5;
    o.regular = regular;
    o.max_detections = 3;
    ot_result r;
    REQUIRE(run_float(&o, 1, 1, enc, cls, anchors, &r) == TFL_OK);
    CHECK_NEAR(ot_f32(&r, 3)[0], 0, 0);
    check_empty_slots(&r, 0, 3);
    ot_result_free(&r);
    REQUIRE(run_float(&o, 0, 1, enc, cls, anchors, &r) == TFL_OK);
    CHECK_NEAR(ot_f32(&r, 3)[0], 0, 0);
    ot_result_free(&r);
  }
}

/* ---- quantized inputs -------------------------------------------------------------------- */

/* uint8 or int8 codes whose dequantized values are the float case's; the op must give the
 * float case's outputs exactly. */
TEST(quantized_inputs_match_float) {
  enum { N = 6, COLS = 3 };
  uint8_t enc_u[N * 4], cls_u[N * COLS], anc_u[N * 4];
  int8_t enc_s[N * 4], cls_s[N * COLS], anc_s[N * 4];
  float enc_f[N * 4], cls_f[N * COLS], anc_f[N * 4];
  const float enc_scale = 0.125f, cls_scale = 1.0f / 256, anc_scale = 1.0f / 64;
  const int64_t enc_zp = 128, cls_zp = 0, anc_zp = 0;
  unsigned seed = 7;
  for (int i = 0; i < N * 4; i++) {
    seed = seed * 1103515245u + 12345u;
    enc_u[i] = (uint8_t)(112 + (seed >> 16) % 32);
    enc_s[i] = (int8_t)(enc_u[i] - 128);
    enc_f[i] = ((float)enc_u[i] - 128.0f) * enc_scale;
  }
  for (int i = 0; i < N * COLS; i++) {
    seed = seed * 1103515245u + 12345u;
    cls_u[i] = (uint8_t)((seed >> 16) % 120);
    cls_s[i] = (int8_t)cls_u[i];
    cls_f[i] = (float)cls_u[i] * cls_scale;
  }
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      anc_u[4 * i + k] = (uint8_t)(k < 2 ? (seed >> 16) % 64 : 8 + (seed >> 16) % 24);
      anc_s[4 * i + k] = (int8_t)anc_u[4 * i + k];
      anc_f[4 * i + k] = (float)anc_u[4 * i + k] * anc_scale;
    }
  for (int regular = 0; regular < 2; regular++) {
    opts o = default_opts(2);
    o.regular = regular;
    o.max_detections = 4;
    o.iou_threshold = 0.3;
    ot_result want, got;
    REQUIRE(run_float(&o, N, COLS, enc_f, cls_f, anc_f, &want) == TFL_OK);
    size_t size;
    uint8_t *bytes = build_opts(&o, &size);
    const int32_t de[3] = {1, N, 4}, dc[3] = {1, N, COLS}, da[2] = {N, 4};
    for (int sign = 0; sign < 2; sign++) {
      const tfl_type t = sign ? TFL_INT8 : TFL_UINT8;
      const int64_t enc_z = sign ? 0 : enc_zp;
      ot_spec in[3] = {{.type = t,
                        .ndim = 3,
                        .dims = de,
                        .data = sign ? (const void *)enc_s : enc_u,
                        .q_count = 1,
                        .scales = &enc_scale,
                        .zero_points = &enc_z},
                       {.type = t,
                        .ndim = 3,
                        .dims = dc,
                        .data = sign ? (const void *)cls_s : cls_u,
                        .q_count = 1,
                        .scales = &cls_scale,
                        .zero_points = &cls_zp},
                       {.type = t,
                        .ndim = 2,
                        .dims = da,
                        .data = sign ? (const void *)anc_s : anc_u,
                        .constant = 1,
                        .q_count = 1,
                        .scales = &anc_scale,
                        .zero_points = &anc_zp}};
      ot_spec out[4] = {OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32),
                        OT_OUT(TFL_FLOAT32)};
      REQUIRE(ot_run_custom(OP, 1, bytes, size, in, 3, out, 4, &got) == TFL_OK);
      CHECK(ot_f32(&got, 3)[0] > 0);
      for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(got.out[i].bytes, want.out[i].bytes);
        CHECK(memcmp(got.out[i].data, want.out[i].data, want.out[i].bytes) == 0);
      }
      ot_result_free(&got);
    }
    free(bytes);
    ot_result_free(&want);
  }
}

/* ---- errors ---------------------------------------------------------------------------------- */

TEST(rejects_bad_options_and_inputs) {
  static const float boxes[8] = {0, 0, 1, 1, 1, 1, 2, 2};
  static const float cls[4] = {0.5f, 0.6f, 0.7f, 0.8f};
  float anchors[8], enc[8] = {0};
  anchors_for(boxes, 2, anchors);
  ot_result r;
  opts o = default_opts(2);
  o.iou_threshold = 0.0;
  CHECK(run_float(&o, 2, 2, enc, cls, anchors, &r) != TFL_OK);
  CHECK(strstr(r.error, "nms_iou_threshold") != NULL);
  ot_result_free(&r);
  o = default_opts(3); /* 2 columns cannot hold 3 classes */
  CHECK(run_float(&o, 2, 2, enc, cls, anchors, &r) != TFL_OK);
  ot_result_free(&r);
  o = default_opts(1);
  o.max_classes_per_detection = 0;
  CHECK(run_float(&o, 2, 2, enc, cls, anchors, &r) != TFL_OK);
  ot_result_free(&r);
  o = default_opts(1);
  o.regular = 1;
  o.max_detections = 0;
  CHECK(run_float(&o, 2, 2, enc, cls, anchors, &r) != TFL_OK);
  ot_result_free(&r);
  /* A negative anchor height decodes to an inverted box: the op fails when run. */
  anchors[2] = -1.0f;
  o = default_opts(1);
  CHECK(run_float(&o, 2, 2, enc, cls, anchors, &r) != TFL_OK);
  CHECK(strstr(r.error, "inverted") != NULL);
  ot_result_free(&r);
  /* Not a FlexBuffers map. */
  const int32_t de[3] = {1, 2, 4}, dc[3] = {1, 2, 2}, da[2] = {2, 4};
  ot_spec in[3] = {OT_F32(3, de, enc), OT_F32(3, dc, cls), OT_F32_CONST(2, da, boxes)};
  ot_spec out[4] = {OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32), OT_OUT(TFL_FLOAT32),
                    OT_OUT(TFL_FLOAT32)};
  const uint8_t junk[3] = {1, 2, 3};
  CHECK(ot_run_custom(OP, 1, junk, sizeof(junk), in, 3, out, 4, &r) != TFL_OK);
  ot_result_free(&r);
  /* Anchors of the wrong shape. */
  size_t size;
  o = default_opts(1);
  uint8_t *bytes = build_opts(&o, &size);
  const int32_t bad_anchors[2] = {1, 8};
  in[2].dims = bad_anchors;
  CHECK(ot_run_custom(OP, 1, bytes, size, in, 3, out, 4, &r) != TFL_OK);
  ot_result_free(&r);
  free(bytes);
}

/* ---- random cases against a naive implementation -------------------------------------------- */

typedef struct naive_det {
  int box, cls;
  float score;
} naive_det;

static float naive_iou(const float *a, const float *b) {
  const float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
  if (area_a <= 0 || area_b <= 0) return 0;
  const float h = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
  const float w = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  const float inter = fmaxf(h, 0.0f) * fmaxf(w, 0.0f);
  return inter / (area_a + area_b - inter);
}

/* Boxes by decreasing score (ties: lower index first), above the threshold, greedily kept
 * unless a kept box overlaps them by more than the IoU threshold; at most `limit`. */
static int naive_nms(const opts *o, const float *boxes, const float *score, int n, int limit,
                     int *out) {
  int *order = malloc((size_t)(n + 1) * sizeof(int)), kept = 0, m = 0;
  for (int i = 0; i < n; i++)
    if (score[i] >= (float)o->score_threshold) order[m++] = i;
  for (int i = 0; i < m; i++) /* selection sort: best score, then lowest index */
    for (int j = i + 1; j < m; j++)
      if (score[order[j]] > score[order[i]] ||
          (score[order[j]] == score[order[i]] && order[j] < order[i])) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  for (int i = 0; i < m && kept < limit; i++) {
    int suppressed = 0;
    for (int k = 0; k < kept && !suppressed; k++)
      suppressed = naive_iou(boxes + 4 * out[k], boxes + 4 * order[i]) > (float)o->iou_threshold;
    if (!suppressed) out[kept++] = order[i];
  }
  free(order);
  return kept;
}

/* Regular NMS: every class's selections, in class order, then a stable sort by score and the
 * first max_detections. */
static int naive_regular(const opts *o, const float *boxes, const float *cls, int n, int cols,
                         naive_det *dets) {
  const int bg = cols - o->num_classes;
  const int per_class =
      o->detections_per_class < o->max_detections ? o->detections_per_class : o->max_detections;
  int total = 0, *sel = malloc((size_t)(n + 1) * sizeof(int));
  float *score = malloc((size_t)(n + 1) * sizeof(float));
  naive_det *all = malloc((size_t)(n * o->num_classes + 1) * sizeof(naive_det));
  for (int c = 0; c < o->num_classes; c++) {
    for (int b = 0; b < n; b++) score[b] = cls[b * cols + c + bg];
    const int k = naive_nms(o, boxes, score, n, per_class, sel);
    for (int i = 0; i < k; i++) all[total++] = (naive_det){sel[i], c, score[sel[i]]};
  }
  for (int i = 1; i < total; i++) { /* stable insertion sort, decreasing score */
    naive_det d = all[i];
    int j = i;
    for (; j > 0 && all[j - 1].score < d.score; j--) all[j] = all[j - 1];
    all[j] = d;
  }
  const int count = total < o->max_detections ? total : o->max_detections;
  memcpy(dets, all, (size_t)count * sizeof(naive_det));
  free(sel);
  free(score);
  free(all);
  return count;
}

/* Fast NMS with one class per box: the first best class of each box. */
static int naive_fast(const opts *o, const float *boxes, const float *cls, int n, int cols,
                      naive_det *dets) {
  const int bg = cols - o->num_classes;
  float *best = malloc((size_t)(n + 1) * sizeof(float));
  int *best_cls = malloc((size_t)(n + 1) * sizeof(int)),
      *sel = malloc((size_t)(n + 1) * sizeof(int));
  for (int b = 0; b < n; b++) {
    best_cls[b] = 0;
    for (int c = 1; c < o->num_classes; c++)
      if (cls[b * cols + c + bg] > cls[b * cols + best_cls[b] + bg]) best_cls[b] = c;
    best[b] = cls[b * cols + best_cls[b] + bg];
  }
  const int k = naive_nms(o, boxes, best, n, o->max_detections, sel);
  for (int i = 0; i < k; i++) dets[i] = (naive_det){sel[i], best_cls[sel[i]], best[sel[i]]};
  free(best);
  free(best_cls);
  free(sel);
  return k;
}

TEST(random_cases_match_naive) {
  unsigned seed = 99;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
  for (int t = 0; t < 60; t++) {
    const int n = 1 + (int)(RND() % 40), classes = 1 + (int)(RND() % 5);
    const int cols = classes + (int)(RND() % 2);
    opts o = default_opts(classes);
    o.regular = t % 2;
    o.max_detections = 1 + (int)(RND() % 8);
    o.detections_per_class = 1 + (int)(RND() % 6);
    o.omit_per_class = 0;
    o.score_threshold = (double)(RND() % 4) / 10;
    o.iou_threshold = 0.2 + (double)(RND() % 7) / 10;
    float *boxes = malloc((size_t)n * 16), *anchors = malloc((size_t)n * 16);
    float *enc = calloc((size_t)n * 4, sizeof(float)), *cls = malloc((size_t)(n * cols) * 4);
    for (int i = 0; i < n; i++) {
      /* boxes on a coarse grid (overlaps, duplicates, some zero-area) */
      const float y = (float)(RND() % 6) / 4, x = (float)(RND() % 6) / 4;
      boxes[4 * i] = y;
      boxes[4 * i + 1] = x;
      boxes[4 * i + 2] = y + (float)(RND() % 4) / 4;
      boxes[4 * i + 3] = x + (float)(RND() % 4) / 4;
    }
    for (int i = 0; i < n * cols; i++) cls[i] = (float)(RND() % 8) / 8; /* many ties */
    anchors_for(boxes, n, anchors);
    /* the boxes as the op decodes them (anchors round-trip through float) */
    for (int i = 0; i < n; i++) {
      const float *a = anchors + 4 * i;
      const float hh = (float)(0.5 * (double)a[2]), hw = (float)(0.5 * (double)a[3]);
      boxes[4 * i] = a[0] - hh;
      boxes[4 * i + 1] = a[1] - hw;
      boxes[4 * i + 2] = a[0] + hh;
      boxes[4 * i + 3] = a[1] + hw;
    }
    naive_det *want = malloc((size_t)(n * classes + 1) * sizeof(naive_det));
    const int count = o.regular ? naive_regular(&o, boxes, cls, n, cols, want)
                                : naive_fast(&o, boxes, cls, n, cols, want);
    ot_result r;
    REQUIRE(run_float(&o, n, cols, enc, cls, anchors, &r) == TFL_OK);
    CHECK_NEAR(ot_f32(&r, 3)[0], count, 0);
    for (int i = 0; i < count; i++)
      check_row(&r, i, boxes + 4 * want[i].box, (float)want[i].cls, want[i].score);
    check_empty_slots(&r, count, o.max_detections);
    ot_result_free(&r);
    free(boxes);
    free(anchors);
    free(enc);
    free(cls);
    free(want);
  }
#undef RND
}

int main(void) {
  RUN(flexbuf_builder_round_trip);
  RUN(decodes_center_size_encodings);
  RUN(fast_nms_hand_case);
  RUN(fast_nms_ties);
  RUN(fast_nms_several_classes_per_box);
  RUN(regular_nms_hand_case);
  RUN(no_detections);
  RUN(quantized_inputs_match_float);
  RUN(rejects_bad_options_and_inputs);
  RUN(random_cases_match_naive);
  return test_summary();
}

#else
int main(void) {
  printf("  (built without custom ops: detection tests skipped)\n");
  return test_summary();
}
#endif
