/*
 * ort-ref: ONNX Runtime as a reference for the veil engine. Not part of the product: built only
 * where the ONNX Runtime C API header and libonnxruntime.so.1 are present (tools/fetch-ort).
 *
 *   ort-ref run MODEL --input name=file.pb ... [--shape name=1x3x48x320 ...] -o DIR [--threads N]
 *   ort-ref bench MODEL [--threads N] [--iterations K] [--input name=file.pb ...]
 *                 [--shape name=DIMS ...]
 *
 * Same files and output lines as `veil onnx run|bench`: run writes DIR/output_K.pb
 * (TensorProto, named after the model's output K); bench fills the inputs not given with the
 * same deterministic values as veil (symbolic dims from --shape, else 1) and prints
 * "iterations", "latency_ms p50 .. mean" and "throughput" lines. ONNX Runtime runs with
 * intra-op threads = N (0 = its default), one inter-op thread, sequential execution.
 */
#include <math.h>
#include <onnxruntime_c_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "engine/engine.h"

#define IO_MAX         256
#define ITERATIONS_MAX 1000000UL
#define THREADS_MAX    256

static const OrtApi *ort;

/* ONNX Runtime keeps a few bytes allocated past ReleaseEnv; in an ASan build of this tool that
 * would fail every run. Only LeakSanitizer reads this symbol: leaks from our code still count. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libonnxruntime.so\n";
}

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage_error(const char *msg, const char *arg)
{
    (void)fprintf(stderr, "ort-ref: %s%s%s\n", msg, arg != NULL ? ": " : "",
                  arg != NULL ? arg : "");
    return 2;
}

/* Prints ORT's message and releases the status; true when there was an error. */
static bool failed(OrtStatus *st, const char *what)
{
    if (st == NULL) {
        return false;
    }
    (void)fprintf(stderr, "ort-ref: %s: %s\n", what, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return true;
}

static void release_name(OrtAllocator *alloc, char *name)
{
    if (failed(ort->AllocatorFree(alloc, name), "free")) {
        return;
    }
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

struct io {
    size_t n;
    char *names[IO_MAX];
    int32_t dtype[IO_MAX];
    uint32_t rank[IO_MAX];
    int64_t dims[IO_MAX][VEIL_ENGINE_RANK_MAX]; /* -1 = symbolic */
};

static bool io_info(OrtSession *s, OrtAllocator *alloc, bool inputs, struct io *io)
{
    size_t n = 0;
    if (failed(inputs ? ort->SessionGetInputCount(s, &n) : ort->SessionGetOutputCount(s, &n),
               "count")) {
        return false;
    }
    if (n > IO_MAX) {
        (void)fprintf(stderr, "ort-ref: too many inputs or outputs\n");
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        OrtTypeInfo *ti = NULL;
        const OrtTensorTypeAndShapeInfo *tsi = NULL;
        ONNXTensorElementDataType et;
        size_t rank = 0;
        OrtStatus *st = inputs ? ort->SessionGetInputName(s, k, alloc, &io->names[k])
                               : ort->SessionGetOutputName(s, k, alloc, &io->names[k]);
        if (failed(st, "name")) {
            return false;
        }
        io->n = k + 1;
        st = inputs ? ort->SessionGetInputTypeInfo(s, k, &ti)
                    : ort->SessionGetOutputTypeInfo(s, k, &ti);
        if (failed(st, "type info")) {
            return false;
        }
        if (failed(ort->CastTypeInfoToTensorInfo(ti, &tsi), "tensor info") || tsi == NULL ||
            failed(ort->GetTensorElementType(tsi, &et), "element type") ||
            failed(ort->GetDimensionsCount(tsi, &rank), "rank") || rank > VEIL_ENGINE_RANK_MAX ||
            failed(ort->GetDimensions(tsi, io->dims[k], rank), "dims")) {
            (void)fprintf(stderr, "ort-ref: %s is not a tensor of rank <= %d\n", io->names[k],
                          VEIL_ENGINE_RANK_MAX);
            ort->ReleaseTypeInfo(ti);
            return false;
        }
        io->dtype[k] = (int32_t)et; /* ONNX and ORT share the TensorProto codes */
        io->rank[k] = (uint32_t)rank;
        ort->ReleaseTypeInfo(ti);
    }
    return true;
}

static size_t find_name(const struct io *io, const char *name)
{
    for (size_t k = 0; k < io->n; k++) {
        if (strcmp(io->names[k], name) == 0) {
            return k;
        }
    }
    return io->n;
}

/* --shape name=DIMS: fixes symbolic dims; a static dim must match. */
static int apply_shapes(struct io *io, char **specs, size_t n)
{
    for (size_t s = 0; s < n; s++) {
        char *eq = strchr(specs[s], '=');
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        size_t k;
        if (eq == NULL || !veil_engine_parse_dims(eq + 1, &rank, dims)) {
            return usage_error("--shape wants name=DIMxDIM..., got", specs[s]);
        }
        *eq = '\0';
        k = find_name(io, specs[s]);
        if (k == io->n) {
            return usage_error("the model has no input named", specs[s]);
        }
        if (rank != io->rank[k]) {
            return usage_error("--shape rank differs from the model's input", specs[s]);
        }
        for (uint32_t d = 0; d < rank; d++) {
            if (io->dims[k][d] >= 0 && io->dims[k][d] != dims[d]) {
                return usage_error("--shape contradicts a static dim of input", specs[s]);
            }
            io->dims[k][d] = dims[d];
        }
    }
    return 0;
}

static int bind_inputs(const struct io *io, char **specs, size_t n, struct veil_tensor *in,
                       bool *bound)
{
    for (size_t s = 0; s < n; s++) {
        char *eq = strchr(specs[s], '=');
        struct veil_wr w;
        size_t k;
        veil_result r;
        if (eq == NULL) {
            return usage_error("--input wants name=file.pb, got", specs[s]);
        }
        *eq = '\0';
        k = find_name(io, specs[s]);
        if (k == io->n) {
            return usage_error("the model has no input named", specs[s]);
        }
        if (bound[k]) {
            return usage_error("input given twice", specs[s]);
        }
        r = veil_file_read(eq + 1, VEIL_ENGINE_MODEL_SIZE_MAX, &w);
        if (veil_ok(r)) {
            r = veil_tensor_decode(w.data, w.len, &in[k], NULL);
            veil_wr_free(&w);
        }
        if (!veil_ok(r)) {
            (void)fprintf(stderr, "ort-ref: %s: %s\n", eq + 1, veil_strerror(r.code));
            return 1;
        }
        bound[k] = true;
    }
    return 0;
}

/* The same values as `veil onnx bench` (src/cli/cmd_onnx.c synth_inputs). */
static int synth_inputs(const struct io *io, struct veil_tensor *in, const bool *bound)
{
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < io->n; k++) {
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        veil_result r;
        if (bound[k]) {
            continue;
        }
        for (uint32_t d = 0; d < io->rank[k]; d++) {
            dims[d] = io->dims[k][d] < 0 ? 1 : io->dims[k][d];
        }
        r = veil_tensor_shape(&in[k], io->dtype[k], io->rank[k], dims);
        if (veil_ok(r)) {
            r = veil_tensor_alloc(&in[k]);
        }
        if (!veil_ok(r)) {
            (void)fprintf(stderr, "ort-ref: %s: %s\n", io->names[k], veil_strerror(r.code));
            return 1;
        }
        for (size_t i = 0; i < in[k].count; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            veil_tensor_set_f64(&in[k], i, (double)(state >> 40) / (double)(1ULL << 24));
        }
    }
    return 0;
}

static bool to_ort(const OrtMemoryInfo *mi, struct veil_tensor *t, OrtValue **v)
{
    if (t->dtype == VEIL_DT_STRING || veil_dtype_size(t->dtype) == 0) {
        (void)fprintf(stderr, "ort-ref: input type %s not supported\n", veil_dtype_name(t->dtype));
        return false;
    }
    return !failed(ort->CreateTensorWithDataAsOrtValue(mi, t->data, t->size, t->dims, t->rank,
                                                       (ONNXTensorElementDataType)t->dtype, v),
                   "input tensor");
}

static bool from_ort(const OrtValue *v, struct veil_tensor *t)
{
    OrtTensorTypeAndShapeInfo *tsi = NULL;
    ONNXTensorElementDataType et;
    size_t rank = 0;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    void *data = NULL;
    bool ok = false;
    if (failed(ort->GetTensorTypeAndShape(v, &tsi), "output info")) {
        return false;
    }
    if (!failed(ort->GetTensorElementType(tsi, &et), "output type") &&
        !failed(ort->GetDimensionsCount(tsi, &rank), "output rank") &&
        rank <= VEIL_ENGINE_RANK_MAX && !failed(ort->GetDimensions(tsi, dims, rank), "dims") &&
        !failed(ort->GetTensorMutableData((OrtValue *)v, &data), "output data")) {
        ok = veil_ok(veil_tensor_shape(t, (int32_t)et, (uint32_t)rank, dims)) &&
             veil_ok(veil_tensor_alloc(t));
        if (ok && t->size > 0) {
            memcpy(t->data, data, t->size);
        }
        if (!ok) {
            (void)fprintf(stderr, "ort-ref: output of type %d not supported\n", (int)et);
        }
    }
    ort->ReleaseTensorTypeAndShapeInfo(tsi);
    return ok;
}

static int write_outputs(const struct io *out_io, OrtValue **outs, const char *dir)
{
    for (size_t k = 0; k < out_io->n; k++) {
        struct veil_tensor t = {0};
        char path[4096];
        uint8_t *pb = NULL;
        size_t n = 0;
        veil_result r;
        if (!from_ort(outs[k], &t)) {
            return 1;
        }
        r = veil_tensor_encode(&t, out_io->names[k], &pb, &n);
        veil_tensor_free(&t);
        (void)snprintf(path, sizeof(path), "%s/output_%zu.pb", dir, k);
        if (veil_ok(r)) {
            r = veil_file_write_atomic(path, pb, n, 0644, 1);
        }
        free(pb);
        if (!veil_ok(r)) {
            (void)fprintf(stderr, "ort-ref: %s: %s\n", path, veil_strerror(r.code));
            return 1;
        }
        (void)printf("%s -> %s\n", out_io->names[k], path);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

struct opts {
    bool bench;
    const char *model;
    const char *outdir;
    char *inputs[IO_MAX];
    size_t ninputs;
    char *shapes[IO_MAX];
    size_t nshapes;
    unsigned long threads;
    unsigned long iters;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    o->iters = 20;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--input") == 0 && v != NULL && o->ninputs < IO_MAX) {
            o->inputs[o->ninputs++] = argv[++i];
        } else if (strcmp(a, "--shape") == 0 && v != NULL && o->nshapes < IO_MAX) {
            o->shapes[o->nshapes++] = argv[++i];
        } else if (strcmp(a, "-o") == 0 && v != NULL && !o->bench) {
            o->outdir = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && v != NULL) {
            if (!parse_ulong(v, THREADS_MAX, &o->threads)) {
                return usage_error("--threads wants 0..256, got", v);
            }
            i++;
        } else if (strcmp(a, "--iterations") == 0 && v != NULL && o->bench) {
            if (!parse_ulong(v, ITERATIONS_MAX, &o->iters) || o->iters == 0) {
                return usage_error("--iterations wants 1..1000000, got", v);
            }
            i++;
        } else if (a[0] != '-' && o->model == NULL) {
            o->model = a;
        } else {
            return usage_error("unexpected argument", a);
        }
    }
    if (o->model == NULL || (!o->bench && o->outdir == NULL)) {
        return usage_error(o->bench ? "usage: ort-ref bench MODEL [--threads N] [--iterations K]"
                                    : "usage: ort-ref run MODEL --input name=file.pb ... -o DIR",
                           NULL);
    }
    return 0;
}

static int run(const struct opts *o, OrtSession *s, OrtAllocator *alloc)
{
    struct io in_io = {0};
    struct io out_io = {0};
    struct veil_tensor in[IO_MAX] = {{0}};
    bool bound[IO_MAX] = {false};
    OrtValue *ins[IO_MAX] = {NULL};
    OrtValue *outs[IO_MAX] = {NULL};
    OrtMemoryInfo *mi = NULL;
    double *lat = NULL;
    char *shapes[IO_MAX];
    char *inputs[IO_MAX];
    int rc = 1;

    memcpy(shapes, o->shapes, o->nshapes * sizeof(*shapes));
    memcpy(inputs, o->inputs, o->ninputs * sizeof(*inputs));
    if (!io_info(s, alloc, true, &in_io) || !io_info(s, alloc, false, &out_io)) {
        goto out;
    }
    rc = apply_shapes(&in_io, shapes, o->nshapes);
    if (rc == 0) {
        rc = bind_inputs(&in_io, inputs, o->ninputs, in, bound);
    }
    for (size_t k = 0; rc == 0 && k < in_io.n; k++) {
        if (!bound[k] && !o->bench) {
            rc = usage_error("input not given", in_io.names[k]);
        }
    }
    if (rc == 0 && o->bench) {
        rc = synth_inputs(&in_io, in, bound);
    }
    if (rc != 0) {
        goto out;
    }
    rc = 1;
    if (failed(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi), "memory")) {
        goto out;
    }
    for (size_t k = 0; k < in_io.n; k++) {
        if (!to_ort(mi, &in[k], &ins[k])) {
            goto out;
        }
    }
    lat = calloc(o->bench ? o->iters : 1, sizeof(*lat));
    if (lat == NULL) {
        goto out;
    }
    for (unsigned long it = 0; it < (o->bench ? o->iters : 1); it++) {
        double t0 = now_s();
        OrtStatus *st =
            ort->Run(s, NULL, (const char *const *)in_io.names, (const OrtValue *const *)ins,
                     in_io.n, (const char *const *)out_io.names, out_io.n, outs);
        lat[it] = now_s() - t0;
        if (failed(st, o->model)) {
            goto out;
        }
        if (o->bench) {
            for (size_t k = 0; k < out_io.n; k++) {
                ort->ReleaseValue(outs[k]);
                outs[k] = NULL;
            }
        }
    }
    if (o->bench) {
        double sum = 0;
        unsigned long n = o->iters;
        qsort(lat, n, sizeof(*lat), cmp_double);
        for (unsigned long it = 0; it < n; it++) {
            sum += lat[it];
        }
        (void)printf("iterations %lu threads %lu\n", n, o->threads);
        (void)printf("latency_ms p50 %.4f p90 %.4f p99 %.4f min %.4f max %.4f mean %.4f\n",
                     lat[n / 2] * 1e3, lat[n * 9 / 10] * 1e3, lat[n * 99 / 100] * 1e3, lat[0] * 1e3,
                     lat[n - 1] * 1e3, sum / (double)n * 1e3);
        (void)printf("throughput %.2f inferences/s\n", (double)n / sum);
        rc = 0;
    } else {
        rc = write_outputs(&out_io, outs, o->outdir);
    }
out:
    free(lat);
    for (size_t k = 0; k < IO_MAX; k++) {
        if (outs[k] != NULL) {
            ort->ReleaseValue(outs[k]);
        }
        if (ins[k] != NULL) {
            ort->ReleaseValue(ins[k]);
        }
        veil_tensor_free(&in[k]);
    }
    for (size_t k = 0; k < in_io.n; k++) {
        release_name(alloc, in_io.names[k]);
    }
    for (size_t k = 0; k < out_io.n; k++) {
        release_name(alloc, out_io.names[k]);
    }
    if (mi != NULL) {
        ort->ReleaseMemoryInfo(mi);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    OrtEnv *env = NULL;
    OrtSessionOptions *so = NULL;
    OrtSession *s = NULL;
    OrtAllocator *alloc = NULL;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        (void)fprintf(argc < 2 ? stderr : stdout,
                      "usage: ort-ref run MODEL --input name=file.pb ... [--shape name=DIMS ...] "
                      "-o DIR [--threads N]\n"
                      "       ort-ref bench MODEL [--threads N] [--iterations K] "
                      "[--input name=file.pb ...] [--shape name=DIMS ...]\n\n"
                      "ONNX Runtime as a reference for `veil onnx run|bench`: same files, same\n"
                      "output lines, same synthetic inputs. Intra-op threads N (0 = ONNX "
                      "Runtime's\ndefault), one inter-op thread, sequential execution.\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "bench") == 0) {
        o.bench = strcmp(argv[1], "bench") == 0;
    } else {
        return usage_error("unknown subcommand", argv[1]);
    }
    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (ort == NULL) {
        (void)fprintf(stderr, "ort-ref: libonnxruntime does not offer API version %d\n",
                      ORT_API_VERSION);
        return 1;
    }
    rc = 1;
    if (failed(ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ort-ref", &env), "env") ||
        failed(ort->CreateSessionOptions(&so), "session options") ||
        failed(ort->SetIntraOpNumThreads(so, (int)o.threads), "intra-op threads") ||
        failed(ort->SetInterOpNumThreads(so, 1), "inter-op threads") ||
        failed(ort->SetSessionExecutionMode(so, ORT_SEQUENTIAL), "execution mode") ||
        failed(ort->CreateSession(env, o.model, so, &s), o.model) ||
        failed(ort->GetAllocatorWithDefaultOptions(&alloc), "allocator")) {
        goto out;
    }
    rc = run(&o, s, alloc);
out:
    if (s != NULL) {
        ort->ReleaseSession(s);
    }
    if (so != NULL) {
        ort->ReleaseSessionOptions(so);
    }
    if (env != NULL) {
        ort->ReleaseEnv(env);
    }
    return rc;
}
