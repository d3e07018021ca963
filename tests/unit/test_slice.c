/* STRIDED_SLICE and SLICE. Strided slices are written as Python/NumPy index expressions
 * (x[1:-1:2, ..., None, 3]) and checked against a straightforward implementation of Python's
 * indexing semantics below (slice.indices() clamping, integer indices, None, Ellipsis), over
 * hand-picked and many generated specs. Then TFLite-specific cases (offset, int64 indices,
 * dynamic indices) and errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/check_util.h"
#include "util/op_runner.h"
#include "util/test.h"

/* --- Python indexing reference ---------------------------------------------------------- */

typedef enum { IT_SLICE, IT_INDEX, IT_NEWAXIS, IT_ELLIPSIS } item_kind;

typedef struct item {
  item_kind kind;
  int has_begin, has_end; /* SLICE: a missing bound is Python's None */
  int32_t begin, end, stride; /* INDEX uses begin */
} item;

#define S(b, e, s) {IT_SLICE, 1, 1, b, e, s}
#define S_B(b, s) {IT_SLICE, 1, 0, b, 0, s}   /* x[b::s] */
#define S_E(e, s) {IT_SLICE, 0, 1, 0, e, s}   /* x[:e:s] */
#define S_ALL(s) {IT_SLICE, 0, 0, 0, 0, s}    /* x[::s] */
#define IDX(i) {IT_INDEX, 0, 0, i, 0, 1}
#define NEWAXIS {IT_NEWAXIS, 0, 0, 0, 0, 1}
#define ELLIPSIS {IT_ELLIPSIS, 0, 0, 0, 0, 1}

/* Python's slice(b, e, s).indices(n) followed by len(range(...)). */
static void py_slice(const item *it, int32_t n, int32_t *start, int32_t *len) {
  const int32_t s = it->stride;
  const int32_t lower = s > 0 ? 0 : -1, upper = s > 0 ? n : n - 1;
  int32_t b = s > 0 ? lower : upper, e = s > 0 ? upper : lower;
  if (it->has_begin) {
    b = it->begin < 0 ? it->begin + n : it->begin;
    b = b < lower ? lower : b > upper ? upper : b;
  }
  if (it->has_end) {
    e = it->end < 0 ? it->end + n : it->end;
    e = e < lower ? lower : e > upper ? upper : e;
  }
  int32_t l = s > 0 ? (e - b + s - 1) / s : (b - e - s - 1) / -s;
  *start = b;
  *len = l > 0 ? l : 0;
}

typedef struct py_result {
  int ndim;
  int32_t dims[8];
  uint8_t *data;
} py_result;

/* x[items] for x of shape dims with elem-byte elements. */
static void py_index(int rank, const int32_t *dims, const uint8_t *x, size_t elem,
                     const item *items, int n, py_result *r) {
  int32_t start[8], step[8]; /* per input axis; integer indices keep step unused */
  int out_src[8] = {0};                /* per output axis: input axis, or -1 for None */
  int consumed = 0, has_ellipsis = 0;
  for (int i = 0; i < n; i++) {
    consumed += items[i].kind == IT_SLICE || items[i].kind == IT_INDEX;
    has_ellipsis |= items[i].kind == IT_ELLIPSIS;
  }
  const item full = S_ALL(1);
  int ia = 0;
  r->ndim = 0;
  for (int i = 0; i <= n; i++) {
    item_kind k = i < n ? items[i].kind : IT_ELLIPSIS;
    if (i == n && has_ellipsis) break;
    if (k == IT_NEWAXIS) {
      out_src[r->ndim] = -1;
      r->dims[r->ndim++] = 1;
    } else if (k == IT_ELLIPSIS) {
      for (int j = 0; j < rank - consumed; j++, ia++) {
        int32_t len;
        py_slice(&full, dims[ia], &start[ia], &len);
        step[ia] = 1;
        out_src[r->ndim] = ia;
        r->dims[r->ndim++] = len;
      }
    } else if (k == IT_INDEX) {
      start[ia] = items[i].begin < 0 ? items[i].begin + dims[ia] : items[i].begin;
      ia++;
    } else {
      int32_t len;
      py_slice(&items[i], dims[ia], &start[ia], &len);
      step[ia] = items[i].stride;
      out_src[r->ndim] = ia++;
      r->dims[r->ndim++] = len;
    }
  }
  size_t total = ck_count(r->ndim, r->dims);
  r->data = malloc(total * elem + 1);
  for (size_t f = 0; f < total; f++) {
    int32_t pos[8], o[8];
    ck_unravel(f, r->ndim, r->dims, o);
    for (int a = 0; a < rank; a++) pos[a] = start[a];
    for (int d = 0; d < r->ndim; d++)
      if (out_src[d] >= 0) pos[out_src[d]] = start[out_src[d]] + o[d] * step[out_src[d]];
    memcpy(r->data + f * elem, x + ck_ravel(rank, dims, pos) * elem, elem);
  }
}

/* --- running STRIDED_SLICE from an item list -------------------------------------------- */

typedef struct ss_params {
  int n;
  int32_t begin[16], end[16], strides[16];
  int32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask;
} ss_params;

static void to_params(const item *items, int n, ss_params *p) {
  memset(p, 0, sizeof(*p));
  p->n = n;
  for (int i = 0; i < n; i++) {
    const item *it = &items[i];
    p->strides[i] = 1;
    switch (it->kind) {
      case IT_SLICE:
        p->begin[i] = it->begin;
        p->end[i] = it->end;
        p->strides[i] = it->stride;
        if (!it->has_begin) p->begin_mask |= 1 << i;
        if (!it->has_end) p->end_mask |= 1 << i;
        break;
      case IT_INDEX:
        p->begin[i] = it->begin;
        p->end[i] = it->begin + 1;
        p->shrink_mask |= 1 << i;
        break;
      case IT_NEWAXIS:
        p->new_axis_mask |= 1 << i;
        break;
      case IT_ELLIPSIS:
        p->ellipsis_mask |= 1 << i;
        break;
    }
  }
}

static tfl_status run_ss(tfl_type type, int rank, const int32_t *dims, const void *x,
                         const ss_params *p, int index_constant, int offset, ot_result *r) {
  const int32_t *nd = (const int32_t[]){p->n};
  ot_spec in[] = {OT_IN(type, rank, dims, x), OT_IN(TFL_INT32, 1, nd, p->begin),
                  OT_IN(TFL_INT32, 1, nd, p->end), OT_IN(TFL_INT32, 1, nd, p->strides)};
  in[1].constant = in[2].constant = in[3].constant = index_constant;
  mb_field opt[] = {MB_INT(0, p->begin_mask),     MB_INT(1, p->end_mask),
                    MB_INT(2, p->ellipsis_mask),  MB_INT(3, p->new_axis_mask),
                    MB_INT(4, p->shrink_mask),    MB_BYTE(5, offset),
                    MB_FIELDS_END};
  ot_spec out[] = {OT_OUT(type)};
  return ot_run(TFL_OP_STRIDED_SLICE, 1, in, 4, out, 1, TFL_OPTS_STRIDED_SLICE, opt, r);
}

static int check_against_python(tfl_type type, int rank, const int32_t *dims,
                                const item *items, int n, int index_constant) {
  size_t elem = tfl_type_size(type);
  uint8_t *x = ck_pattern(ck_count(rank, dims) * elem, (unsigned)(n * 13 + rank));
  py_result want;
  py_index(rank, dims, x, elem, items, n, &want);
  ss_params p;
  to_params(items, n, &p);
  ot_result r;
  tfl_status st = run_ss(type, rank, dims, x, &p, index_constant, 0, &r);
  int ok = st == TFL_OK && ck_shape_is(&r.out[0], want.ndim, want.dims) &&
           r.out[0].bytes == ck_count(want.ndim, want.dims) * elem &&
           (r.out[0].bytes == 0 || memcmp(r.out[0].data, want.data, r.out[0].bytes) == 0);
  if (!ok) {
    fprintf(stderr, "    mismatch: rank %d dims", rank);
    for (int i = 0; i < rank; i++) fprintf(stderr, " %d", (int)dims[i]);
    fprintf(stderr, ", spec");
    for (int i = 0; i < n; i++)
      fprintf(stderr, " [%d %d%d %d:%d:%d]", items[i].kind, items[i].has_begin,
              items[i].has_end, (int)items[i].begin, (int)items[i].end, (int)items[i].stride);
    fprintf(stderr, " (%s)\n", st == TFL_OK ? "wrong result" : r.error);
  }
  ot_result_free(&r);
  free(x);
  free(want.data);
  return ok;
}

#define CHECK_PY(type, rank, dims, ...)                                              \
  do {                                                                               \
    const item items_[] = {__VA_ARGS__};                                             \
    int n_ = (int)(sizeof(items_) / sizeof(items_[0]));                              \
    CHECK(check_against_python(type, rank, dims, items_, n_, 1));                   \
    CHECK(check_against_python(type, rank, dims, items_, n_, 0));                   \
  } while (0)

TEST(strided_slice_basic_ranges) {
  const int32_t *d = DIMS(7);
  CHECK_PY(TFL_FLOAT32, 1, d, S(1, 4, 1));
  CHECK_PY(TFL_FLOAT32, 1, d, S(-3, -1, 1));
  CHECK_PY(TFL_FLOAT32, 1, d, S(0, 7, 2));
  CHECK_PY(TFL_FLOAT32, 1, d, S(1, 6, 3));
  CHECK_PY(TFL_FLOAT32, 1, d, S(5, 1, 1));      /* empty */
  CHECK_PY(TFL_FLOAT32, 1, d, S(-100, 100, 1)); /* clamped */
  CHECK_PY(TFL_FLOAT32, 1, d, S(100, -100, -1));
  CHECK_PY(TFL_FLOAT32, 1, d, S(5, 1, -1));
  CHECK_PY(TFL_FLOAT32, 1, d, S(-1, -8, -2));
  CHECK_PY(TFL_FLOAT32, 1, d, S(6, 0, -4));
  CHECK_PY(TFL_FLOAT32, 1, d, S(1, 5, -1)); /* empty backwards */
}

TEST(strided_slice_masks) {
  const int32_t *d = DIMS(7);
  CHECK_PY(TFL_FLOAT32, 1, d, S_B(2, 1));
  CHECK_PY(TFL_FLOAT32, 1, d, S_E(3, 1));
  CHECK_PY(TFL_FLOAT32, 1, d, S_ALL(1));
  CHECK_PY(TFL_FLOAT32, 1, d, S_ALL(-1));
  CHECK_PY(TFL_FLOAT32, 1, d, S_B(4, -2));
  CHECK_PY(TFL_FLOAT32, 1, d, S_E(2, -1));
  CHECK_PY(TFL_FLOAT32, 1, d, S_ALL(3));
  CHECK_PY(TFL_FLOAT32, 1, d, S_E(-9, -1)); /* end below -n backwards: empty */
}

TEST(strided_slice_shrink_newaxis_ellipsis) {
  const int32_t *d3 = DIMS(3, 4, 5);
  CHECK_PY(TFL_FLOAT32, 3, d3, IDX(1));
  CHECK_PY(TFL_FLOAT32, 3, d3, IDX(-1), IDX(0), IDX(4));
  CHECK_PY(TFL_FLOAT32, 3, d3, S(0, 2, 1), IDX(2));
  CHECK_PY(TFL_FLOAT32, 3, d3, ELLIPSIS, IDX(3));
  CHECK_PY(TFL_FLOAT32, 3, d3, ELLIPSIS, S(1, 4, 2));
  CHECK_PY(TFL_FLOAT32, 3, d3, IDX(2), ELLIPSIS);
  CHECK_PY(TFL_FLOAT32, 3, d3, S_ALL(-1), ELLIPSIS, S_B(1, 2));
  CHECK_PY(TFL_FLOAT32, 3, d3, NEWAXIS);
  CHECK_PY(TFL_FLOAT32, 3, d3, NEWAXIS, IDX(1), NEWAXIS);
  CHECK_PY(TFL_FLOAT32, 3, d3, S(0, 1, 1), NEWAXIS);
  CHECK_PY(TFL_FLOAT32, 3, d3, ELLIPSIS, NEWAXIS);
  CHECK_PY(TFL_FLOAT32, 3, d3, NEWAXIS, ELLIPSIS, IDX(0));
  CHECK_PY(TFL_FLOAT32, 3, d3, IDX(1), NEWAXIS, ELLIPSIS, NEWAXIS, S_E(-1, 1));
  CHECK_PY(TFL_FLOAT32, 3, d3, S(2, 0, -1), NEWAXIS, NEWAXIS, S_ALL(-2));
  const int32_t *d4 = DIMS(2, 3, 4, 5);
  CHECK_PY(TFL_FLOAT32, 4, d4, IDX(1), ELLIPSIS, IDX(-2));
  CHECK_PY(TFL_FLOAT32, 4, d4, ELLIPSIS, S(1, 3, 1), IDX(0));
  CHECK_PY(TFL_FLOAT32, 4, d4, S_ALL(1), IDX(-3), S_ALL(-1), S(4, -6, -2));
}

TEST(strided_slice_types) {
  const tfl_type types[] = {TFL_INT8,  TFL_UINT8, TFL_INT16,   TFL_INT32,
                            TFL_INT64, TFL_BOOL,  TFL_FLOAT16, TFL_FLOAT32};
  const int32_t *d = DIMS(3, 4);
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    CHECK_PY(types[t], 2, d, S(2, 0, -1), S(0, 4, 2));
    CHECK_PY(types[t], 2, d, IDX(1), S_ALL(-3));
    CHECK_PY(types[t], 2, d, S_ALL(1), S_ALL(1));
  }
}

TEST(strided_slice_zero_sized) {
  const int32_t *d = DIMS(0, 3);
  CHECK_PY(TFL_FLOAT32, 2, d, S_ALL(1), IDX(1));
  CHECK_PY(TFL_FLOAT32, 2, d, S(1, 5, 1), S_ALL(-1));
  CHECK_PY(TFL_FLOAT32, 2, d, S_ALL(-1), S_ALL(1));
}

/* Random specs: rank 1-4, sizes 0-4, up to two new axes, sometimes an ellipsis (spanning at
 * least one axis), integer indices only where in range. */
static int random_spec(uint32_t *s, int rank, const int32_t *dims, item *items) {
#define NEXT() (*s = *s * 1664525u + 1013904223u, *s >> 8)
  int use_ellipsis = NEXT() % 3 == 0;
  int consumed = use_ellipsis ? (int)(NEXT() % (uint32_t)rank) : 1 + (int)(NEXT() % (uint32_t)rank);
  int n_new = (int)(NEXT() % 3);
  int n = consumed + n_new + use_ellipsis;
  item_kind kinds[16];
  for (int i = 0; i < n; i++) kinds[i] = IT_SLICE;
  for (int k = 0; k < n_new + use_ellipsis; k++) {
    int at;
    do at = (int)(NEXT() % (uint32_t)n);
    while (kinds[at] != IT_SLICE);
    kinds[at] = k < n_new ? IT_NEWAXIS : IT_ELLIPSIS;
  }
  int axis = 0, ell_span = rank - consumed;
  for (int i = 0; i < n; i++) {
    item *it = &items[i];
    *it = (item)S_ALL(1);
    it->kind = kinds[i];
    if (kinds[i] == IT_ELLIPSIS) axis += ell_span;
    if (kinds[i] != IT_SLICE) continue;
    int32_t size = dims[axis++];
    if (size > 0 && NEXT() % 4 == 0) {
      it->kind = IT_INDEX;
      it->begin = (int32_t)(NEXT() % (uint32_t)(2 * size)) - size;
      continue;
    }
    static const int32_t strides[] = {1, 1, 2, 3, -1, -1, -2, -3};
    it->stride = strides[NEXT() % 8];
    it->has_begin = NEXT() % 10 < 7;
    it->has_end = NEXT() % 10 < 7;
    it->begin = (int32_t)(NEXT() % (uint32_t)(2 * size + 5)) - size - 2;
    it->end = (int32_t)(NEXT() % (uint32_t)(2 * size + 5)) - size - 2;
  }
  return n;
#undef NEXT
}

TEST(strided_slice_random_against_python) {
  uint32_t s = 2024;
  int failures = 0;
  for (int iter = 0; iter < 400 && failures < 5; iter++) {
    int32_t dims[4];
    int rank = 1 + iter % 4;
    for (int d = 0; d < rank; d++) {
      s = s * 1664525u + 1013904223u;
      dims[d] = (int32_t)((s >> 12) % 5) - ((s >> 20) % 7 == 0); /* mostly 1-4, some 0 */
      if (dims[d] < 0) dims[d] = 0;
      if (dims[d] == 0 && (s >> 24) % 2) dims[d] = 3;
    }
    item items[16];
    int n = random_spec(&s, rank, dims, items);
    tfl_type type = iter % 5 == 0 ? TFL_INT8 : iter % 7 == 0 ? TFL_INT64 : TFL_FLOAT32;
    int ok = check_against_python(type, rank, dims, items, n, iter % 3 != 0);
    CHECK(ok);
    failures += !ok;
  }
}

/* --- TFLite-specific behaviour ---------------------------------------------------------- */

TEST(strided_slice_offset_mode) {
  const float x[5] = {0, 1, 2, 3, 4};
  ss_params p = {.n = 1, .begin = {1}, .end = {3}, .strides = {1}};
  ot_result r;
  for (int constant = 0; constant < 2; constant++) {
    REQUIRE(run_ss(TFL_FLOAT32, 1, DIMS(5), x, &p, constant, 1, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 1, DIMS(3)));
    const float want[3] = {1, 2, 3};
    CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
    ot_result_free(&r);
  }
  ss_params q = {.n = 1, .begin = {0}, .end = {4}, .strides = {2}};
  REQUIRE(run_ss(TFL_FLOAT32, 1, DIMS(5), x, &q, 1, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 1, DIMS(2)));
  CHECK(ot_f32(&r, 0)[0] == 0 && ot_f32(&r, 0)[1] == 2);
  ot_result_free(&r);
}

TEST(strided_slice_int64_indices) {
  const int32_t x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const int64_t b[2] = {-1, 1}, e[2] = {INT64_MIN, (int64_t)1 << 40}, st[2] = {-1, 2};
  ot_spec in[] = {OT_IN(TFL_INT32, 2, DIMS(3, 4), x), OT_CONST(TFL_INT64, 1, DIMS(2), b),
                  OT_CONST(TFL_INT64, 1, DIMS(2), e), OT_CONST(TFL_INT64, 1, DIMS(2), st)};
  ot_spec out[] = {OT_OUT(TFL_INT32)};
  ot_result r;
  REQUIRE(ot_run(TFL_OP_STRIDED_SLICE, 1, in, 4, out, 1, TFL_OPTS_STRIDED_SLICE, NULL, &r) ==
          TFL_OK);
  const int32_t want[6] = {9, 11, 5, 7, 1, 3}; /* x[::-1, 1::2] */
  CHECK(ck_shape_is(&r.out[0], 2, DIMS(3, 2)));
  CHECK(memcmp(r.out[0].data, want, sizeof(want)) == 0);
  ot_result_free(&r);
}

static tfl_status ss_status(const ss_params *p, int constant) {
  const float x[12] = {0};
  ot_result r;
  tfl_status st = run_ss(TFL_FLOAT32, 2, DIMS(3, 4), x, p, constant, 0, &r);
  if (st != TFL_OK) CHECK(r.error[0] != 0);
  ot_result_free(&r);
  return st;
}

TEST(strided_slice_errors) {
  for (int constant = 0; constant < 2; constant++) {
    ss_params zero = {.n = 2, .begin = {0, 0}, .end = {3, 4}, .strides = {1, 0}};
    CHECK(ss_status(&zero, constant) != TFL_OK);
    ss_params shrink_out = {.n = 1, .begin = {3}, .end = {4}, .strides = {1}, .shrink_mask = 1};
    CHECK(ss_status(&shrink_out, constant) != TFL_OK);
    ss_params shrink_neg = {.n = 1, .begin = {1}, .end = {2}, .strides = {-1}, .shrink_mask = 1};
    CHECK(ss_status(&shrink_neg, constant) != TFL_OK);
    ss_params two_ellipses = {.n = 2, .begin = {0, 0}, .end = {0, 0}, .strides = {1, 1},
                              .ellipsis_mask = 3};
    CHECK(ss_status(&two_ellipses, constant) != TFL_OK);
    ss_params fine = {.n = 2, .begin = {0, 1}, .end = {3, 4}, .strides = {1, 2}};
    CHECK_EQ_INT(ss_status(&fine, constant), TFL_OK);
  }
  /* begin and end of different lengths; float indices. */
  const float x[12] = {0};
  const int32_t two[2] = {0, 0}, one[1] = {1};
  const float fl[2] = {0, 0};
  ot_spec in[] = {OT_F32(2, DIMS(3, 4), x), OT_CONST(TFL_INT32, 1, DIMS(2), two),
                  OT_CONST(TFL_INT32, 1, DIMS(1), one), OT_CONST(TFL_INT32, 1, DIMS(2), two)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK(ot_run(TFL_OP_STRIDED_SLICE, 1, in, 4, out, 1, TFL_OPTS_STRIDED_SLICE, NULL, &r) !=
        TFL_OK);
  ot_result_free(&r);
  in[2] = (ot_spec)OT_CONST(TFL_FLOAT32, 1, DIMS(2), fl);
  CHECK(ot_run(TFL_OP_STRIDED_SLICE, 1, in, 4, out, 1, TFL_OPTS_STRIDED_SLICE, NULL, &r) !=
        TFL_OK);
  ot_result_free(&r);
}

TEST(strided_slice_tflite_leniency) {
  const float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  ot_result r;
  for (int constant = 0; constant < 2; constant++) {
    /* Entries past the input's rank are ignored: x[1:2, 2:3, <ignored>]. */
    ss_params extra = {.n = 3, .begin = {1, 2, 5}, .end = {2, 3, 0}, .strides = {1, 1, 7}};
    REQUIRE(run_ss(TFL_FLOAT32, 2, DIMS(3, 4), x, &extra, constant, 0, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 2, DIMS(1, 1)));
    CHECK(ot_f32(&r, 0)[0] == 6);
    ot_result_free(&r);
    /* An out-of-range index is accepted when the output is empty anyway: x[3, 2:1]. */
    ss_params empty = {.n = 2, .begin = {3, 2}, .end = {4, 1}, .strides = {1, 1}, .shrink_mask = 1};
    REQUIRE(run_ss(TFL_FLOAT32, 2, DIMS(3, 4), x, &empty, constant, 0, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 1, DIMS(0)));
    ot_result_free(&r);
    /* A negative index below -size clamps to 0 instead of failing: x[-5]. */
    ss_params low = {.n = 1, .begin = {-5}, .end = {-4}, .strides = {1}, .shrink_mask = 1};
    REQUIRE(run_ss(TFL_FLOAT32, 2, DIMS(3, 4), x, &low, constant, 0, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 1, DIMS(4)));
    CHECK(ot_f32(&r, 0)[0] == 0 && ot_f32(&r, 0)[3] == 3);
    ot_result_free(&r);
  }
}

/* --- SLICE ------------------------------------------------------------------------------ */

static tfl_status run_slice(tfl_type index_type, const void *begin, const void *size,
                            int constant, ot_result *r) {
  static const float x[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
  ot_spec in[] = {OT_F32(3, DIMS(2, 3, 4), x), OT_IN(index_type, 1, DIMS(3), begin),
                  OT_IN(index_type, 1, DIMS(3), size)};
  in[1].constant = in[2].constant = constant;
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  return ot_run(TFL_OP_SLICE, 1, in, 3, out, 1, TFL_OPTS_SLICE, NULL, r);
}

TEST(slice_hand_computed) {
  const int32_t b[3] = {1, 0, 1}, s[3] = {1, -1, 2};
  const int64_t bl[3] = {0, 2, 0}, sl[3] = {-1, 1, -1};
  /* x[1:2, 0:3, 1:3] and x[0:2, 2:3, 0:4] of x = arange(24).reshape(2, 3, 4). */
  const float want1[6] = {13, 14, 17, 18, 21, 22};
  const float want2[8] = {8, 9, 10, 11, 20, 21, 22, 23};
  for (int constant = 0; constant < 2; constant++) {
    ot_result r;
    REQUIRE(run_slice(TFL_INT32, b, s, constant, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 3, DIMS(1, 3, 2)));
    CHECK(memcmp(r.out[0].data, want1, sizeof(want1)) == 0);
    ot_result_free(&r);
    REQUIRE(run_slice(TFL_INT64, bl, sl, constant, &r) == TFL_OK);
    CHECK(ck_shape_is(&r.out[0], 3, DIMS(2, 1, 4)));
    CHECK(memcmp(r.out[0].data, want2, sizeof(want2)) == 0);
    ot_result_free(&r);
  }
  /* Empty slices are fine. */
  const int32_t b0[3] = {2, 3, 4}, s0[3] = {0, -1, 0};
  ot_result r;
  REQUIRE(run_slice(TFL_INT32, b0, s0, 1, &r) == TFL_OK);
  CHECK(ck_shape_is(&r.out[0], 3, DIMS(0, 0, 0)));
  ot_result_free(&r);
}

TEST(slice_errors) {
  const int32_t neg_begin[3] = {-1, 0, 0}, ones[3] = {1, 1, 1}, too_long[3] = {1, 3, 5};
  const int32_t big_begin[3] = {3, 0, 0}, minus_two[3] = {1, -2, 1}, zeros[3] = {0, 0, 0};
  const int32_t end_past[3] = {1, 2, 0};
  for (int constant = 0; constant < 2; constant++) {
    ot_result r;
    CHECK(run_slice(TFL_INT32, neg_begin, ones, constant, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_slice(TFL_INT32, zeros, too_long, constant, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_slice(TFL_INT32, big_begin, minus_two, constant, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_slice(TFL_INT32, zeros, minus_two, constant, &r) != TFL_OK);
    ot_result_free(&r);
    CHECK(run_slice(TFL_INT32, end_past, (const int32_t[]){1, 2, 5}, constant, &r) != TFL_OK);
    ot_result_free(&r);
  }
  /* begin and size of different types or lengths. */
  const float x[4] = {0};
  const int64_t b64[2] = {0, 0};
  ot_spec in[] = {OT_F32(2, DIMS(2, 2), x), OT_CONST(TFL_INT32, 1, DIMS(2), zeros),
                  OT_CONST(TFL_INT64, 1, DIMS(2), b64)};
  ot_spec out[] = {OT_OUT(TFL_FLOAT32)};
  ot_result r;
  CHECK(ot_run(TFL_OP_SLICE, 1, in, 3, out, 1, TFL_OPTS_SLICE, NULL, &r) != TFL_OK);
  ot_result_free(&r);
  in[2] = (ot_spec)OT_CONST(TFL_INT32, 1, DIMS(3), ones);
  CHECK(ot_run(TFL_OP_SLICE, 1, in, 3, out, 1, TFL_OPTS_SLICE, NULL, &r) != TFL_OK);
  ot_result_free(&r);
}

int main(void) {
  RUN(strided_slice_basic_ranges);
  RUN(strided_slice_masks);
  RUN(strided_slice_shrink_newaxis_ellipsis);
  RUN(strided_slice_types);
  RUN(strided_slice_zero_sized);
  RUN(strided_slice_random_against_python);
  RUN(strided_slice_offset_mode);
  RUN(strided_slice_int64_indices);
  RUN(strided_slice_errors);
  RUN(strided_slice_tflite_leniency);
  RUN(slice_hand_computed);
  RUN(slice_errors);
  return test_summary();
}
