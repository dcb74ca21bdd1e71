/* veil tensor: client-side pre- and post-processing for inference servers. from-image turns an
 * image into a KServe v2 inference request for a text-recognition model; ctc-decode turns the
 * server's answer back into text. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/file.h"
#include "cli.h"
#include "ctc/ctc.h"
#include "engine/engine.h"
#include "image/image.h"
#include <veil/veil.h>

#define TENSOR_NAME_MAX    128
#define TENSOR_REQUEST_MAX (256u << 20)

static const char usage[] =
    "usage: veil tensor from-image IMAGE [--height N] [--width-multiple N] [--min-width N]\n"
    "                   [--max-width N] [--mean X] [--std X] [--rgb] [--name NAME] [-o FILE]\n"
    "                   [--binary -o FILE | --onnx -o FILE]\n"
    "       veil tensor ctc-decode --labels FILE [--no-space] [--output NAME] [--json]\n"
    "                   [--header-length N] [RESPONSE|-]\n\n"
    "from-image reads a PNG or binary PGM/PPM image and writes a KServe v2 inference request\n"
    "(JSON) with one FP32 input of shape [1, 3, HEIGHT, W] for a text-recognition model, as\n"
    "PaddleOCR prepares it: resized to HEIGHT keeping the aspect ratio, each value\n"
    "(v / 255 - MEAN) / STD, channels in BGR order (--rgb for RGB), padded with zeros on the\n"
    "right up to W = max(MIN-WIDTH, width rounded up to a multiple of WIDTH-MULTIPLE).\n"
    "  --height N          48 (PaddleOCR v4 recognition)     --width-multiple N  8\n"
    "  --min-width N       320 (PaddleOCR's default)         --max-width N       3200\n"
    "  --mean X --std X    0.5 and 0.5                       --name NAME         x\n"
    "  -o FILE             write the request here instead of stdout\n"
    "  --binary            KServe binary tensor extension: FILE is the JSON header, then the\n"
    "                      raw little-endian FP32 values, and asks for binary outputs; prints\n"
    "                      the header's length for curl:\n"
    "                      -H \"Inference-Header-Content-Length: N\" --data-binary @FILE\n"
    "  --onnx              the same input as an ONNX TensorProto (the backend tests'\n"
    "                      input_K.pb), for `veil onnx run|bench MODEL --input NAME=FILE`\n\n"
    "ctc-decode reads the server's KServe v2 response (a file, or stdin; JSON, or JSON then\n"
    "binary outputs as `curl -o` saves them), takes the output\n"
    "of shape [1, T, C] (the only one, or --output NAME), decodes it greedily (best class per\n"
    "step, repeats collapsed, blank class 0 dropped, class i = line i of the label file, and a\n"
    "space as the last class unless --no-space) and prints the text and its mean confidence.\n"
    "  --labels FILE       one label a line (PaddleOCR: ppocr_keys_v1.txt)\n"
    "  --json              print {\"text\", \"confidence\", \"characters\"}\n"
    "  --header-length N   the response's Inference-Header-Content-Length (binary outputs);\n"
    "                      without it the JSON ends where its object closes and the binary\n"
    "                      parts of the outputs with binary_data_size follow, in order\n\n"
    "exit status: 0 done, 1 the image or the response is not usable (one line says why),\n"
    "2 usage\n";

static bool tensor_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TENSOR_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':')) {
            return false;
        }
    }
    return true;
}

static bool parse_float(const char *s, float *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || fabs(v) > 1e6) {
        return false;
    }
    *out = (float)v;
    return true;
}

static VEIL_RESULT wr_str(struct veil_wr *w, const char *s)
{
    return veil_wr_bytes(w, s, strlen(s));
}

/* {"inputs":[{"name":N,"shape":[1,3,H,W],"datatype":"FP32","parameters":{"binary_data_size":S}}],
 *  "parameters":{"binary_data_output":true}} then the values, little-endian (the host's order;
 *  veil builds for little-endian hosts only). *header is the JSON's length. */
static VEIL_RESULT request_binary(const char *name, const float *t, uint32_t height, uint32_t width,
                                  struct veil_wr *w, size_t *header)
{
    char num[160];
    size_t n = (size_t)3 * height * width;
    int k;

    GUARD(wr_str(w, "{\"inputs\":[{\"name\":\""));
    GUARD(wr_str(w, name));
    k = snprintf(num, sizeof(num),
                 "\",\"shape\":[1,3,%u,%u],\"datatype\":\"FP32\",\"parameters\":"
                 "{\"binary_data_size\":%zu}}],\"parameters\":{\"binary_data_output\":true}}",
                 height, width, n * sizeof(float));
    ENSURE(k > 0 && (size_t)k < sizeof(num), VEIL_ERR_INTERNAL);
    GUARD(veil_wr_bytes(w, num, (size_t)k));
    *header = w->len;
    return veil_wr_bytes(w, t, n * sizeof(float));
}

/* {"inputs":[{"name":N,"shape":[1,3,H,W],"datatype":"FP32","data":[...]}]} */
static VEIL_RESULT request_json(const char *name, const float *t, uint32_t height, uint32_t width,
                                struct veil_wr *w)
{
    char num[64];
    size_t n = (size_t)3 * height * width;
    int k;

    GUARD(wr_str(w, "{\"inputs\":[{\"name\":\""));
    GUARD(wr_str(w, name));
    k = snprintf(num, sizeof(num), "\",\"shape\":[1,3,%u,%u],\"datatype\":\"FP32\",\"data\":[",
                 height, width);
    ENSURE(k > 0 && (size_t)k < sizeof(num), VEIL_ERR_INTERNAL);
    GUARD(veil_wr_bytes(w, num, (size_t)k));
    for (size_t i = 0; i < n; i++) {
        k = snprintf(num, sizeof(num), "%s%.9g", i == 0 ? "" : ",", (double)t[i]);
        ENSURE(k > 0 && (size_t)k < sizeof(num), VEIL_ERR_INTERNAL);
        GUARD(veil_wr_bytes(w, num, (size_t)k));
    }
    return wr_str(w, "]}]}\n");
}

/* The input as a TensorProto with raw_data (what `veil onnx run --input` reads). */
static VEIL_RESULT request_onnx(const char *name, float *t, uint32_t height, uint32_t width,
                                struct veil_wr *w)
{
    const int64_t dims[4] = {1, 3, height, width};
    struct veil_tensor x = {0};
    uint8_t *pb = NULL;
    size_t n = 0;
    veil_result r;

    GUARD(veil_tensor_shape(&x, VEIL_DT_FLOAT, 4, dims));
    x.data = t;
    x.borrowed = true;
    GUARD(veil_tensor_encode(&x, name, &pb, &n));
    r = veil_wr_bytes(w, pb, n);
    free(pb);
    return r;
}

enum request_format { FORMAT_JSON, FORMAT_BINARY, FORMAT_ONNX };

static int write_out(const char *path, const struct veil_wr *w)
{
    veil_result r;

    if (path == NULL) {
        r = veil_write_full(STDOUT_FILENO, w->data, w->len);
    } else {
        r = veil_file_write_atomic(path, w->data, w->len, 0644, 1);
    }
    return veil_ok(r) ? CLI_EXIT_OK : cli_fail_err("tensor", path ? path : "stdout", r.code);
}

static int from_image_run(const char *path, const struct veil_image_chw_opts *o, const char *name,
                          const char *out, enum request_format format)
{
    size_t header = 0;
    struct veil_image img = {0, 0, NULL};
    struct veil_wr w;
    float *t = NULL;
    uint32_t width = 0;
    veil_result r;
    int rc;

    veil_wr_init(&w, TENSOR_REQUEST_MAX);
    r = veil_image_load(path, &img);
    if (!veil_ok(r)) {
        return cli_fail_err("tensor", path, r.code);
    }
    r = veil_image_chw(&img, o, &t, &width);
    if (veil_ok(r)) {
        r = format == FORMAT_BINARY ? request_binary(name, t, o->height, width, &w, &header)
            : format == FORMAT_ONNX ? request_onnx(name, t, o->height, width, &w)
                                    : request_json(name, t, o->height, width, &w);
    }
    if (veil_ok(r)) {
        (void)fprintf(stderr, "%s: %ux%u -> input %s [1, 3, %u, %u] FP32%s\n", path, img.width,
                      img.height, name, o->height, width,
                      format == FORMAT_BINARY ? " (binary)"
                      : format == FORMAT_ONNX ? " (TensorProto)"
                                              : "");
        rc = write_out(out, &w);
        if (rc == CLI_EXIT_OK && format == FORMAT_BINARY) {
            /* stdout: the Inference-Header-Content-Length to send with FILE */
            (void)printf("%zu\n", header);
        }
    } else {
        rc = cli_fail_err("tensor", path, r.code);
    }
    free(t);
    veil_image_free(&img);
    veil_wr_free(&w);
    return rc;
}

static int from_image(int argc, char **argv)
{
    static const struct option opts[] = {{"height", required_argument, NULL, 'H'},
                                         {"width-multiple", required_argument, NULL, 'm'},
                                         {"min-width", required_argument, NULL, 'n'},
                                         {"max-width", required_argument, NULL, 'x'},
                                         {"mean", required_argument, NULL, 'M'},
                                         {"std", required_argument, NULL, 'S'},
                                         {"rgb", no_argument, NULL, 'r'},
                                         {"name", required_argument, NULL, 'N'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"binary", no_argument, NULL, 'b'},
                                         {"onnx", no_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct veil_image_chw_opts o = {48, 8, 320, 3200, 0.5f, 0.5f, 0};
    const char *name = "x";
    const char *out = NULL;
    enum request_format format = FORMAT_JSON;
    unsigned long v;
    int c;
    int which = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, &which)) != -1) {
        switch (c) {
            case 'H':
            case 'm':
            case 'n':
            case 'x':
                if (!cli_parse_uint(optarg, VEIL_IMAGE_SIDE_MAX, &v)) {
                    return cli_usage_error("tensor", "--%s: a number up to %u", opts[which].name,
                                           VEIL_IMAGE_SIDE_MAX);
                }
                *(c == 'H'   ? &o.height
                  : c == 'm' ? &o.width_multiple
                  : c == 'n' ? &o.width_min
                             : &o.width_max) = (uint32_t)v;
                break;
            case 'M':
            case 'S':
                if (!parse_float(optarg, c == 'M' ? &o.mean : &o.std)) {
                    return cli_usage_error("tensor", "--mean/--std: a finite number");
                }
                break;
            case 'r':
                o.rgb = 1;
                break;
            case 'N':
                name = optarg;
                break;
            case 'o':
                out = optarg;
                break;
            case 'b':
            case 'O':
                if (format != FORMAT_JSON) {
                    return cli_usage_error("tensor", "--binary and --onnx: one or the other");
                }
                format = c == 'b' ? FORMAT_BINARY : FORMAT_ONNX;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return CLI_EXIT_OK;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        return cli_usage_error("tensor", "from-image takes one IMAGE");
    }
    if (format == FORMAT_BINARY && out == NULL) {
        return cli_usage_error("tensor", "--binary needs -o FILE (stdout gets the header length)");
    }
    if (format == FORMAT_ONNX && out == NULL) {
        return cli_usage_error("tensor", "--onnx needs -o FILE (a TensorProto is binary)");
    }
    if (!tensor_name_valid(name)) {
        return cli_usage_error("tensor", "--name: 1 to %d of [A-Za-z0-9._:-]", TENSOR_NAME_MAX);
    }
    return from_image_run(argv[optind], &o, name, out, format);
}

/* The whole of stdin, at most max bytes (more is VEIL_ERR_PROTO_LIMIT). */
static VEIL_RESULT read_stdin(size_t max, struct veil_wr *w)
{
    uint8_t buf[65536];
    ssize_t n;

    veil_wr_init(w, max);
    for (;;) {
        n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ENSURE(n >= 0, VEIL_ERR_IO_READ);
        if (n == 0) {
            return VEIL_RESULT_OK;
        }
        ENSURE((size_t)n <= max - w->len, VEIL_ERR_PROTO_LIMIT);
        GUARD(veil_wr_bytes(w, buf, (size_t)n));
    }
}

static int ctc_print(struct veil_ctc_result *res, bool json)
{
    const char *text = NULL;

    if (!veil_ok(veil_wr_cstr(&res->text, &text))) {
        return cli_fail("tensor", "out of memory");
    }
    if (json) {
        json_t *j = json_pack("{s:s, s:f, s:I}", "text", text, "confidence", res->confidence,
                              "characters", (json_int_t)res->chars);
        char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

        json_decref(j);
        if (s == NULL) {
            return cli_fail("tensor", "out of memory");
        }
        (void)printf("%s\n", s);
        free(s);
    } else {
        (void)printf("text: %s\nconfidence: %.3f (mean over %zu characters)\n", text,
                     res->confidence, res->chars);
    }
    return CLI_EXIT_OK;
}

static int ctc_run(const char *labels_path, const char *input, const char *output, bool space,
                   bool json, size_t header)
{
    struct veil_wr lw;
    struct veil_wr in;
    struct veil_ctc_labels labels = {NULL, NULL, 0};
    struct veil_ctc_output o = {NULL, 0, 0};
    struct veil_ctc_result res;
    const char *what = labels_path;
    char why[512] = "";
    int rc = CLI_EXIT_FAIL;
    veil_result r = veil_file_read(labels_path, VEIL_CTC_LABELS_FILE_SIZE_MAX, &lw);

    veil_wr_init(&in, 0);
    if (veil_ok(r)) {
        r = veil_ctc_labels_parse(lw.data, lw.len, &labels);
    }
    if (veil_ok(r)) {
        what = input == NULL ? "stdin" : input;
        r = input == NULL ? read_stdin(VEIL_CTC_RESPONSE_SIZE_MAX, &in)
                          : veil_file_read(input, VEIL_CTC_RESPONSE_SIZE_MAX, &in);
    }
    if (veil_ok(r) && in.len == 0) {
        rc = cli_fail("tensor", "%s: no response (empty input)", what);
        goto out;
    }
    if (veil_ok(r)) {
        r = veil_ctc_response_parse_binary(in.data, in.len, header, output, &o, why, sizeof(why));
        if (!veil_ok(r) && why[0] != '\0') {
            rc = cli_fail("tensor", "%s: %s", what, why);
            goto out;
        }
    }
    if (veil_ok(r)) {
        r = veil_ctc_decode(o.data, o.steps, o.classes, &labels, space, &res);
        if (r.code == VEIL_ERR_CTC_CLASSES) {
            rc = cli_fail("tensor", "the output has %u classes but %s has %zu labels (+1 blank%s)",
                          o.classes, labels_path, labels.count, space ? " +1 space" : "");
            goto out;
        }
    }
    if (veil_ok(r)) {
        rc = ctc_print(&res, json);
        veil_wr_free(&res.text);
    } else {
        rc = cli_fail_err("tensor", what, r.code);
    }
out:
    veil_ctc_output_free(&o);
    veil_ctc_labels_free(&labels);
    veil_wr_free(&in);
    veil_wr_free(&lw);
    return rc;
}

static int ctc_decode(int argc, char **argv)
{
    static const struct option opts[] = {{"labels", required_argument, NULL, 'l'},
                                         {"no-space", no_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'O'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"header-length", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    size_t header = VEIL_CTC_HEADER_FIND;
    unsigned long v;
    const char *labels = NULL;
    const char *output = NULL;
    const char *input = NULL;
    bool space = true;
    bool json = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 'l':
                labels = optarg;
                break;
            case 's':
                space = false;
                break;
            case 'O':
                output = optarg;
                break;
            case 'j':
                json = true;
                break;
            case 'L':
                if (!cli_parse_uint(optarg, VEIL_CTC_RESPONSE_SIZE_MAX, &v)) {
                    return cli_usage_error("tensor", "--header-length: a number up to %u",
                                           VEIL_CTC_RESPONSE_SIZE_MAX);
                }
                header = (size_t)v;
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return CLI_EXIT_OK;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 < argc) {
        return cli_usage_error("tensor", "ctc-decode takes at most one RESPONSE");
    }
    if (optind < argc && strcmp(argv[optind], "-") != 0) {
        input = argv[optind];
    }
    if (labels == NULL) {
        return cli_usage_error("tensor", "ctc-decode needs --labels FILE");
    }
    return ctc_run(labels, input, output, space, json, header);
}

int cmd_tensor(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        (void)fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "from-image") == 0) {
        return from_image(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "ctc-decode") == 0) {
        return ctc_decode(argc - 1, argv + 1);
    }
    return cli_usage_error("tensor", "unknown subcommand '%s' (from-image, ctc-decode)", argv[1]);
}
