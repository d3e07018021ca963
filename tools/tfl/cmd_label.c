/* tfl label: classifies an image, like TFLite's label_image example. The image is decoded,
 * converted to the model's channel count, resized to its input size and fed; the top scores
 * of output 0 are printed with their labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "image.h"

enum {
  OPT_MODEL,
  OPT_IMAGE,
  OPT_LABELS,
  OPT_TOP,
  OPT_MEAN,
  OPT_STD,
  OPT_THREADS,
  OPT_RUNS,
  OPT_SAVE_INPUT
};

static const cli_option k_options[] = {
    {"--model", "FILE", "the .tflite classifier (one image input, scores in output 0)"},
    {"--image", "FILE", "a JPEG, PNG or BMP image, or raw square RGB bytes (.rgb)"},
    {"--labels", "FILE", "class names, one per line (with or without a leading background line)"},
    {"--top", "K", "how many classes to print (default 5)"},
    {"--mean", "M", "float inputs get (pixel - M) / S (default 127.5)"},
    {"--std", "S", "see --mean (default 127.5)"},
    {"--threads", "N", "worker threads for the kernels (default 1)"},
    {"--runs", "N", "invoke N times and report the average time (default 1)"},
    {"--save-input", "FILE", "also write the preprocessed input tensor as .npy"},
    {NULL, NULL, NULL},
};

#define MAX_RUNS 1000000
#define MAX_TOP 100000

typedef struct label_args {
  const char *model;
  const char *image;
  const char *labels;
  const char *save_input;
  int top;
  double mean, std;
  int threads;
  int runs;
} label_args;

/* The class names of a labels file, one per line. */
typedef struct label_list {
  char *text;
  char **lines;
  int n;
} label_list;

typedef struct label_session {
  const cli_command *cmd;
  label_args args;
  tfl_model *model;
  tfl_interpreter *interp;
  int height, width, channels; /* of the input image the model takes */
  tfl_type input_type;
  int input_ndim;
  int32_t input_dims[TFL_MAX_DIMS];
  void *input; /* the preprocessed image, input_bytes long */
  size_t input_bytes;
  float *scores;
  int n_classes;
  label_list labels;
  double average_ms;
} label_session;

/* --- arguments --------------------------------------------------------------------------- */

static int take_arg(const cli_command *cmd, int opt, const char *value, void *ctx) {
  label_args *a = ctx;
  long n;
  switch (opt) {
    case CLI_ARG_POSITIONAL:
      cli_usage_error(cmd, "unexpected argument '%s'", value);
      return 0;
    case OPT_MODEL: a->model = value; return 1;
    case OPT_IMAGE: a->image = value; return 1;
    case OPT_LABELS: a->labels = value; return 1;
    case OPT_SAVE_INPUT: a->save_input = value; return 1;
    case OPT_TOP:
      if (!tool_parse_int(cmd, "--top", value, 1, MAX_TOP, &n)) return 0;
      a->top = (int)n;
      return 1;
    case OPT_MEAN: return tool_parse_double(cmd, "--mean", value, &a->mean);
    case OPT_STD:
      if (!tool_parse_double(cmd, "--std", value, &a->std)) return 0;
      if (a->std != 0) return 1;
      cli_usage_error(cmd, "--std must not be 0");
      return 0;
    case OPT_THREADS:
      if (!tool_parse_int(cmd, "--threads", value, 1, TOOL_MAX_THREADS, &n)) return 0;
      a->threads = (int)n;
      return 1;
    case OPT_RUNS:
      if (!tool_parse_int(cmd, "--runs", value, 1, MAX_RUNS, &n)) return 0;
      a->runs = (int)n;
      return 1;
    default: return 0;
  }
}

/* Returns -1 to go on, or the exit code (after --help or a usage error). */
static int parse_args(const cli_command *cmd, int argc, char **argv, label_args *a) {
  *a = (label_args){.top = 5, .mean = 127.5, .std = 127.5, .threads = 1, .runs = 1};
  int rc = cli_parse(cmd, argc, argv, take_arg, a);
  if (rc >= 0) return rc;
  if (!a->model) return cli_usage_error(cmd, "--model is required");
  if (!a->image) return cli_usage_error(cmd, "--image is required");
  return -1;
}

/* --- model and input ----------------------------------------------------------------------- */

/* Accepts [1,H,W,C] with C = 1 or 3, and [1,H,W] (gray, e.g. MNIST models). Read from the
 * model, so that --save-input works even where tfl cannot run the model yet. */
static int read_geometry(label_session *s) {
  int n_inputs = tfl_model_input_count(s->model, 0);
  if (n_inputs != 1)
    return cli_fail(s->cmd, "%s has %d inputs; tfl label needs a model with one image input",
                    s->args.model, n_inputs);
  tfl_tensor_info info;
  if (tfl_model_tensor_info(s->model, 0, tfl_model_input(s->model, 0, 0), &info) != TFL_OK)
    return cli_fail(s->cmd, "%s: input 0 is not a valid tensor", s->args.model);
  const int32_t *d = info.shape;
  if (info.ndim == 4 && d[0] == 1 && (d[3] == 1 || d[3] == 3)) {
    s->height = d[1], s->width = d[2], s->channels = d[3];
  } else if (info.ndim == 3 && d[0] == 1) {
    s->height = d[1], s->width = d[2], s->channels = 1;
  } else {
    char dims[TFL_MAX_DIMS * 12 + 3];
    tool_format_dims(dims, sizeof dims, info.ndim, d);
    return cli_fail(s->cmd,
                    "%s: input 0 has shape %s; tfl label needs an image input [1,H,W,C] "
                    "(C = 1 or 3) or [1,H,W]",
                    s->args.model, dims);
  }
  if (s->height < 1 || s->width < 1)
    return cli_fail(s->cmd, "%s: input 0 has an empty image shape", s->args.model);
  if (info.type != TFL_FLOAT32 && info.type != TFL_UINT8 && info.type != TFL_INT8)
    return cli_fail(s->cmd, "%s: input 0 has type %s; tfl label feeds float32, uint8 or int8",
                    s->args.model, tfl_type_name(info.type));
  s->input_type = info.type;
  s->input_ndim = info.ndim;
  memcpy(s->input_dims, d, (size_t)info.ndim * sizeof *d);
  return CLI_EXIT_OK;
}

/* Decodes the image and brings it to the model's channel count and size. */
static int load_image(label_session *s, image *out) {
  char err[512];
  image rgb, gray = {0};
  tfl_status st = image_load_rgb(s->args.image, &rgb, err, sizeof err);
  if (st != TFL_OK) return cli_fail(s->cmd, "%s", err);
  const image *src = &rgb;
  if (s->channels == 1) {
    st = image_to_gray(&rgb, &gray);
    src = &gray;
  }
  if (st == TFL_OK) st = image_resize_bilinear(src, s->width, s->height, out);
  image_free(&rgb);
  image_free(&gray);
  if (st != TFL_OK) return cli_fail(s->cmd, "%s: out of memory", s->args.image);
  return CLI_EXIT_OK;
}

/* Pixels as the model's input type: float (pixel - mean) / std, uint8 as is, and int8
 * pixel - 128, as TFLite's label_image does (and as the int8 image models of the
 * conformance suite were fed). */
static int convert_pixels(label_session *s, const image *img) {
  size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
  s->input_bytes = n * tfl_type_size(s->input_type);
  s->input = malloc(s->input_bytes);
  if (!s->input) return cli_fail(s->cmd, "out of memory");
  float mean = (float)s->args.mean, std = (float)s->args.std;
  for (size_t i = 0; i < n; i++) {
    if (s->input_type == TFL_FLOAT32)
      ((float *)s->input)[i] = ((float)img->pixels[i] - mean) / std;
    else if (s->input_type == TFL_INT8)
      ((int8_t *)s->input)[i] = (int8_t)(img->pixels[i] - 128);
    else
      ((uint8_t *)s->input)[i] = img->pixels[i];
  }
  return CLI_EXIT_OK;
}

static int save_input(label_session *s) {
  if (!s->args.save_input) return CLI_EXIT_OK;
  char err[512];
  if (npy_write_file(s->args.save_input, s->input_type, s->input_ndim, s->input_dims, s->input,
                     s->input_bytes, err, sizeof err) != TFL_OK)
    return cli_fail(s->cmd, "%s", err);
  return CLI_EXIT_OK;
}

static int prepare_input(label_session *s) {
  image img;
  s->model = tool_load_model(s->cmd, s->args.model);
  if (!s->model) return CLI_EXIT_FAIL;
  int rc = read_geometry(s);
  if (rc == CLI_EXIT_OK) rc = load_image(s, &img);
  if (rc != CLI_EXIT_OK) return rc;
  rc = convert_pixels(s, &img);
  image_free(&img);
  if (rc == CLI_EXIT_OK) rc = save_input(s);
  return rc;
}

static int open_interpreter(label_session *s) {
  int rc = tool_create_interpreter(s->cmd, s->args.model, s->model, s->args.threads, 0, &s->interp);
  if (rc == CLI_EXIT_OK) rc = tool_allocate(s->cmd, s->interp);
  if (rc != CLI_EXIT_OK) return rc;
  tfl_tensor *t = tfl_interpreter_input(s->interp, 0);
  tfl_status st = tfl_tensor_copy_from(t, s->input, s->input_bytes);
  if (st != TFL_OK) return cli_fail(s->cmd, "cannot set input 0: %s", tfl_status_string(st));
  return CLI_EXIT_OK;
}

static int invoke(label_session *s) {
  uint64_t start = tool_now_ns();
  for (int i = 0; i < s->args.runs; i++) {
    tfl_status st = tfl_interpreter_invoke(s->interp);
    if (st != TFL_OK)
      return cli_fail(s->cmd, "invoke failed: %s", tool_interp_error(s->interp, st));
  }
  s->average_ms = (double)(tool_now_ns() - start) / 1e6 / s->args.runs;
  return CLI_EXIT_OK;
}

/* --- scores and labels --------------------------------------------------------------------- */

/* The raw value of element i of an integer tensor. */
static int32_t int_at(const void *data, size_t i, tfl_type type) {
  switch (type) {
    case TFL_UINT8: return ((const uint8_t *)data)[i];
    case TFL_INT8: return ((const int8_t *)data)[i];
    default: return ((const int16_t *)data)[i];
  }
}

/* Output 0 as real numbers: quantized scores are dequantized. */
static int read_scores(label_session *s) {
  const tfl_tensor *t = tfl_interpreter_output(s->interp, 0);
  if (!t) return cli_fail(s->cmd, "%s has no outputs", s->args.model);
  tfl_type type = tfl_tensor_type(t);
  if (type != TFL_FLOAT32 && type != TFL_UINT8 && type != TFL_INT8 && type != TFL_INT16)
    return cli_fail(s->cmd, "%s: output 0 has type %s; tfl label reads float32, uint8, int8 or "
                    "int16 scores", s->args.model, tfl_type_name(type));
  size_t n = tfl_tensor_element_count(t);
  if (n == 0 || n > INT32_MAX)
    return cli_fail(s->cmd, "%s: output 0 has %zu scores", s->args.model, n);
  s->scores = malloc(n * sizeof *s->scores);
  if (!s->scores) return cli_fail(s->cmd, "out of memory");
  s->n_classes = (int)n;
  tfl_quantization q = tfl_tensor_quantization(t);
  float scale = q.count ? q.scale[0] : 1.0f;
  int32_t zero_point = q.count ? (int32_t)q.zero_point[0] : 0;
  const void *data = tfl_tensor_data_const(t);
  for (size_t i = 0; i < n; i++)
    s->scores[i] = type == TFL_FLOAT32 ? ((const float *)data)[i]
                                       : scale * (float)(int_at(data, i, type) - zero_point);
  return CLI_EXIT_OK;
}

/* Splits the text into lines in place (a final newline ends the last line; "\r\n" works). */
static int split_lines(label_list *l, size_t size) {
  int n = 0;
  for (size_t i = 0; i < size; i++) n += l->text[i] == '\n';
  l->lines = malloc(((size_t)n + 2) * sizeof *l->lines);
  if (!l->lines) return 0;
  char *p = l->text, *end = l->text + size;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *stop = nl ? nl : end;
    if (stop > p && stop[-1] == '\r') stop[-1] = '\0';
    *stop = '\0';
    l->lines[l->n++] = p;
    p = stop + 1;
  }
  return 1;
}

static int read_labels(label_session *s) {
  if (!s->args.labels) return CLI_EXIT_OK;
  char err[512];
  size_t size;
  if (tool_read_file(s->args.labels, &s->labels.text, &size, err, sizeof err) != TFL_OK)
    return cli_fail(s->cmd, "%s", err);
  if (!split_lines(&s->labels, size)) return cli_fail(s->cmd, "out of memory");
  int diff = s->labels.n - s->n_classes;
  if (diff < -1 || diff > 1)
    fprintf(stderr, "tfl label: warning: %s has %d lines but the model has %d classes\n",
            s->args.labels, s->labels.n, s->n_classes);
  return CLI_EXIT_OK;
}

/* Class i's label. A file with one line more than the model has classes starts with a
 * "background" line the model lacks: it is skipped. A file with one line fewer lacks the
 * model's background class 0. Otherwise line i names class i. */
static const char *label_of(const label_session *s, int i) {
  const label_list *l = &s->labels;
  int diff = l->n - s->n_classes;
  int line = diff == 1 ? i + 1 : diff == -1 ? i - 1 : i;
  if (diff == -1 && i == 0) return "background";
  return line >= 0 && line < l->n ? l->lines[line] : NULL;
}

/* The index of the best score not yet taken (ties: the lower index). */
static int best_remaining(const label_session *s, const unsigned char *taken) {
  int best = -1;
  for (int i = 0; i < s->n_classes; i++)
    if (!taken[i] && (best < 0 || s->scores[i] > s->scores[best])) best = i;
  return best;
}

static int print_results(label_session *s) {
  int k = s->args.top < s->n_classes ? s->args.top : s->n_classes;
  unsigned char *taken = calloc((size_t)s->n_classes, 1);
  if (!taken) return cli_fail(s->cmd, "out of memory");
  printf("average time: %.3f ms\n", s->average_ms);
  for (int r = 0; r < k; r++) {
    int i = best_remaining(s, taken);
    taken[i] = 1;
    const char *label = label_of(s, i);
    printf("%.6f: %d%s%s\n", (double)s->scores[i], i, label ? " " : "", label ? label : "");
  }
  free(taken);
  return CLI_EXIT_OK;
}

/* --- command ----------------------------------------------------------------------------- */

static void session_free(label_session *s) {
  free(s->input);
  free(s->scores);
  free(s->labels.lines);
  free(s->labels.text);
  tfl_interpreter_free(s->interp);
  tfl_model_free(s->model);
}

static int run(const cli_command *cmd, int argc, char **argv) {
  label_session s = {.cmd = cmd};
  int rc = parse_args(cmd, argc, argv, &s.args);
  if (rc < 0) {
    rc = prepare_input(&s);
    if (rc == CLI_EXIT_OK) rc = open_interpreter(&s);
    if (rc == CLI_EXIT_OK) rc = invoke(&s);
    if (rc == CLI_EXIT_OK) rc = read_scores(&s);
    if (rc == CLI_EXIT_OK) rc = read_labels(&s);
    if (rc == CLI_EXIT_OK) rc = print_results(&s);
  }
  session_free(&s);
  return rc;
}

const cli_command cmd_label = {
    .name = "label",
    .synopsis = "--model FILE --image FILE [--labels FILE] [--top K] [--mean M --std S] "
                "[--threads N] [--runs N] [--save-input FILE]",
    .summary = "classify an image: print the top scores with their labels",
    .description =
        "Decodes the image, converts it to RGB (or to gray, as PIL's convert(\"L\"), for\n"
        "1-channel models), resizes it to the model's input height and width (bilinear,\n"
        "half-pixel centres, no antialiasing, rounded half up; the aspect ratio is not kept)\n"
        "and feeds it: float32 inputs get (pixel - mean) / std, uint8 inputs the pixels as\n"
        "they are, int8 inputs pixel - 128 (as TFLite's label_image). Models trained on\n"
        "x/255 want --mean 0 --std 255; on raw 0..255 floats, --mean 0 --std 1. Quantized\n"
        "scores are dequantized. Prints \"average time: X ms\" over the runs, then the top K\n"
        "classes as \"score: index label\". A labels file may have one line more than the\n"
        "model has classes (a leading background line the model lacks: skipped) or one line\n"
        "fewer (the model's class 0 is background).\n",
    .options = k_options,
    .run = run,
};
