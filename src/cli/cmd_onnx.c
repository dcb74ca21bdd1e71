/*
 * veil onnx check DIR...          run ONNX backend-test directories, compare the outputs
 * veil onnx run MODEL --input name=file.pb ... -o DIR
 * veil onnx bench MODEL [--threads N] [--iterations K] [--input name=file.pb ...]
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/heap.h"
#include "cli.h"
#include "engine/engine.h"

#define CMD            "onnx"
#define PB_SIZE_MAX    VEIL_ENGINE_MODEL_SIZE_MAX
#define RTOL           1e-3
#define ATOL           1e-5
#define INPUTS_MAX     256
#define ITERATIONS_MAX 1000000UL

static double now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static veil_result read_tensor(const char *path, struct veil_tensor *t, char **name)
{
    struct veil_wr w;
    veil_result r = veil_file_read(path, PB_SIZE_MAX, &w);
    if (!veil_ok(r)) {
        return r;
    }
    r = veil_tensor_decode(w.data, w.len, t, name);
    veil_wr_free(&w);
    return r;
}

/* From a file, so initializers may use external data beside the model. */
static veil_result load_model(const char *path, struct veil_engine_diag *diag,
                              struct veil_engine_model **m)
{
    return veil_engine_load_file(path, diag, m);
}

/* The ONNX 1.12 backend tests store bfloat16 data as uint16 tensors: relabel them. */
static void bf16_quirk(struct veil_engine_model *m, size_t k, struct veil_tensor *t)
{
    int32_t dtype;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    veil_engine_input_info(m, k, &dtype, &rank, dims);
    if (dtype == VEIL_DT_BFLOAT16 && t->dtype == VEIL_DT_UINT16) {
        t->dtype = VEIL_DT_BFLOAT16;
    }
}

/* |got - want| <= atol + rtol * |want|; NaN matches NaN, infinities match exactly. */
static bool compare(const struct veil_tensor *got, const struct veil_tensor *want, char *why,
                    size_t why_size)
{
    if (got->dtype == VEIL_DT_BFLOAT16 && want->dtype == VEIL_DT_UINT16) {
        if (!veil_tensor_same_shape(got, want) || memcmp(got->data, want->data, got->size) != 0) {
            (void)snprintf(why, why_size, "bfloat16 bits differ");
            return false;
        }
        return true;
    }
    if (got->dtype != want->dtype) {
        (void)snprintf(why, why_size, "type %s, expected %s", veil_dtype_name(got->dtype),
                       veil_dtype_name(want->dtype));
        return false;
    }
    if (!veil_tensor_same_shape(got, want)) {
        (void)snprintf(why, why_size, "shape differs (rank %u, expected %u)", got->rank,
                       want->rank);
        return false;
    }
    for (size_t i = 0; i < got->count; i++) {
        if (veil_dtype_is_float(got->dtype)) {
            double a = veil_tensor_get_f64(got, i);
            double b = veil_tensor_get_f64(want, i);
            bool ok = (isnan(a) && isnan(b)) || a == b ||
                      (isfinite(a) && isfinite(b) && fabs(a - b) <= ATOL + RTOL * fabs(b));
            if (!ok) {
                (void)snprintf(why, why_size, "element %zu is %.9g, expected %.9g", i, a, b);
                return false;
            }
        } else if (veil_tensor_get_i64(got, i) != veil_tensor_get_i64(want, i)) {
            (void)snprintf(why, why_size, "element %zu is %lld, expected %lld", i,
                           (long long)veil_tensor_get_i64(got, i),
                           (long long)veil_tensor_get_i64(want, i));
            return false;
        }
    }
    return true;
}

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP_OP, CHECK_SKIP_TYPE };

static void free_tensors(struct veil_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        veil_tensor_free(&t[i]);
    }
}

static enum check_status skip_or_fail(veil_result r, bool skip)
{
    if (skip && r.code == VEIL_ERR_ENGINE_UNSUPPORTED_OP) {
        return CHECK_SKIP_OP;
    }
    if (skip && r.code == VEIL_ERR_ENGINE_UNSUPPORTED_TYPE) {
        return CHECK_SKIP_TYPE;
    }
    return CHECK_FAIL;
}

/* One test_data_set_N directory. */
static enum check_status check_set(struct veil_engine_model *m, const char *set, bool skip,
                                   char *why, size_t why_size)
{
    size_t nin = veil_engine_input_count(m);
    size_t nout = veil_engine_output_count(m);
    struct veil_tensor in[INPUTS_MAX] = {0};
    struct veil_tensor out[INPUTS_MAX] = {0};
    struct veil_tensor want = {0};
    struct veil_engine_diag diag = {{0}};
    enum check_status st = CHECK_PASS;
    char path[4096];
    veil_result r;

    if (nin > INPUTS_MAX || nout > INPUTS_MAX) {
        (void)snprintf(why, why_size, "too many inputs or outputs");
        return CHECK_FAIL;
    }
    for (size_t k = 0; k < nin; k++) {
        (void)snprintf(path, sizeof(path), "%s/input_%zu.pb", set, k);
        r = read_tensor(path, &in[k], NULL);
        if (!veil_ok(r)) {
            (void)snprintf(why, why_size, "%.300s: %s", path, veil_strerror(r.code));
            st = skip_or_fail(r, skip);
            goto out;
        }
        bf16_quirk(m, k, &in[k]);
    }
    r = veil_engine_run(m, in, out, &diag);
    if (!veil_ok(r)) {
        (void)snprintf(why, why_size, "run: %s", diag.what);
        st = skip_or_fail(r, skip);
        goto out_in;
    }
    for (size_t k = 0; k < nout && st == CHECK_PASS; k++) {
        char detail[160];
        (void)snprintf(path, sizeof(path), "%s/output_%zu.pb", set, k);
        r = read_tensor(path, &want, NULL);
        if (!veil_ok(r)) {
            (void)snprintf(why, why_size, "%.300s: %s", path, veil_strerror(r.code));
            st = skip_or_fail(r, skip);
        } else if (!compare(&out[k], &want, detail, sizeof(detail))) {
            (void)snprintf(why, why_size, "output %zu (%.64s): %s", k,
                           veil_engine_output_name(m, k), detail);
            st = CHECK_FAIL;
        }
        veil_tensor_free(&want);
    }
    free_tensors(out, nout);
out_in:
out:
    free_tensors(in, nin);
    return st;
}

static enum check_status check_dir(const char *dir, bool skip, bool plan, char *why,
                                   size_t why_size)
{
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag = {{0}};
    enum check_status st = CHECK_PASS;
    char path[4096];
    size_t sets = 0;
    veil_result r;

    (void)snprintf(path, sizeof(path), "%s/model.onnx", dir);
    r = load_model(path, &diag, &m);
    if (!veil_ok(r)) {
        (void)snprintf(why, why_size, "load: %s", diag.what);
        return skip_or_fail(r, skip);
    }
    if (plan) {
        /* A model whose input shapes are symbolic, or whose planning run on zero inputs fails
         * (inputs that carry shapes or divisors), runs unplanned: the plan is an optimization. */
        veil_result pr;
        veil_heap_planning_begin();
        pr = veil_engine_plan(m, &diag);
        veil_heap_planning_end(0);
        (void)pr;
        diag.what[0] = '\0';
    }
    for (;; sets++) {
        (void)snprintf(path, sizeof(path), "%s/test_data_set_%zu", dir, sets);
        if (!is_dir(path)) {
            break;
        }
        st = check_set(m, path, skip, why, why_size);
        if (st != CHECK_PASS) {
            break;
        }
    }
    if (st == CHECK_PASS && sets == 0) {
        (void)snprintf(why, why_size, "no test_data_set_0");
        st = CHECK_FAIL;
    }
    veil_engine_free(m);
    return st;
}

struct check_opts {
    bool skip;
    bool quiet;
    bool plan;
    size_t counts[4];
};

static void check_one(struct check_opts *o, const char *dir)
{
    static const char *const label[] = {"pass", "FAIL", "skip-op", "skip-type"};
    char why[512] = "";
    enum check_status st = check_dir(dir, o->skip, o->plan, why, sizeof(why));
    o->counts[st]++;
    if (!o->quiet || st != CHECK_PASS) {
        (void)printf("%-9s %s%s%s\n", label[st], dir, why[0] ? ": " : "", why);
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory without model.onnx is a suite: each subdirectory (sorted) is a test. */
static void check_path(struct check_opts *o, const char *dir)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;

    (void)snprintf(path, sizeof(path), "%s/model.onnx", dir);
    if (!is_dir(dir) || access(path, F_OK) == 0 || (d = opendir(dir)) == NULL) {
        check_one(o, dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        (void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!is_dir(path)) {
            continue;
        }
        if (n == cap) {
            size_t nc = cap == 0 ? 64 : cap * 2;
            char **nn = realloc(names, nc * sizeof(*nn));
            if (nn == NULL) {
                break;
            }
            names = nn;
            cap = nc;
        }
        names[n] = strdup(path);
        if (names[n] != NULL) {
            n++;
        }
    }
    (void)closedir(d);
    if (n > 0) { /* qsort's base must be valid even for no elements */
        qsort(names, n, sizeof(*names), name_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        check_one(o, names[i]);
        free(names[i]);
    }
    free(names);
}

static int onnx_check(int argc, char **argv)
{
    struct check_opts o = {0};
    int first = 1;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--skip-unsupported") == 0) {
            o.skip = true;
        } else if (strcmp(argv[first], "--quiet") == 0) {
            o.quiet = true;
        } else if (strcmp(argv[first], "--plan") == 0) {
            o.plan = true;
        } else {
            return cli_usage_error(CMD, "check: unknown option %s", argv[first]);
        }
    }
    if (first >= argc) {
        return cli_usage_error(CMD, "check: no test directory given");
    }
    for (int i = first; i < argc; i++) {
        check_path(&o, argv[i]);
    }
    (void)printf(
        "%zu passed, %zu failed, %zu skipped (unsupported op), %zu skipped (unsupported "
        "type)\n",
        o.counts[CHECK_PASS], o.counts[CHECK_FAIL], o.counts[CHECK_SKIP_OP],
        o.counts[CHECK_SKIP_TYPE]);
    return o.counts[CHECK_FAIL] == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* name=file.pb pairs bound to model inputs by name (or by position when the name is empty). */
static int bind_inputs(struct veil_engine_model *m, char **specs, size_t n, struct veil_tensor *in,
                       bool *bound)
{
    for (size_t s = 0; s < n; s++) {
        char *eq = strchr(specs[s], '=');
        size_t k;
        veil_result r;
        if (eq == NULL) {
            return cli_usage_error(CMD, "--input wants name=file.pb, got %s", specs[s]);
        }
        *eq = '\0';
        for (k = 0; k < veil_engine_input_count(m); k++) {
            if (strcmp(veil_engine_input_name(m, k), specs[s]) == 0) {
                break;
            }
        }
        if (k == veil_engine_input_count(m)) {
            return cli_usage_error(CMD, "the model has no input named '%s'", specs[s]);
        }
        if (bound[k]) {
            return cli_usage_error(CMD, "input '%s' given twice", specs[s]);
        }
        r = read_tensor(eq + 1, &in[k], NULL);
        if (!veil_ok(r)) {
            return cli_fail_err(CMD, eq + 1, r.code);
        }
        bound[k] = true;
    }
    return CLI_EXIT_OK;
}

/* --shape name=DIMS: fixes the symbolic dims of an input (a static dim must be given as is). */
static int fix_shapes(struct veil_engine_model *m, char **specs, size_t n)
{
    for (size_t s = 0; s < n; s++) {
        char *eq = strchr(specs[s], '=');
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        size_t k;
        veil_result r;
        if (eq == NULL || !veil_engine_parse_dims(eq + 1, &rank, dims)) {
            return cli_usage_error(CMD, "--shape wants name=DIMxDIM... (e.g. x=1x3x48x320), got %s",
                                   specs[s]);
        }
        *eq = '\0';
        for (k = 0; k < veil_engine_input_count(m); k++) {
            if (strcmp(veil_engine_input_name(m, k), specs[s]) == 0) {
                break;
            }
        }
        if (k == veil_engine_input_count(m)) {
            return cli_usage_error(CMD, "--shape: the model has no input named '%s'", specs[s]);
        }
        r = veil_engine_fix_input_shape(m, k, rank, dims);
        if (!veil_ok(r)) {
            int32_t dtype;
            uint32_t drank;
            int64_t ddims[VEIL_ENGINE_RANK_MAX];
            char decl[160] = "";
            size_t used = 0;
            veil_engine_input_info(m, k, &dtype, &drank, ddims);
            for (uint32_t d = 0; d < drank && used + 24 < sizeof(decl); d++) {
                int w = ddims[d] < 0
                            ? snprintf(decl + used, sizeof(decl) - used, "%s?", d > 0 ? "x" : "")
                            : snprintf(decl + used, sizeof(decl) - used, "%s%lld", d > 0 ? "x" : "",
                                       (long long)ddims[d]);
                used += w > 0 ? (size_t)w : 0;
            }
            return cli_usage_error(CMD, "--shape %s=%s does not fit: the model declares %s",
                                   specs[s], eq + 1, drank > 0 ? decl : "a scalar");
        }
    }
    return CLI_EXIT_OK;
}

/* With --shape, an input given as a file must have the shape fixed for it. */
static int check_bound_shape(struct veil_engine_model *m, size_t k, const struct veil_tensor *t)
{
    int32_t dtype;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    veil_engine_input_info(m, k, &dtype, &rank, dims);
    if (dtype != 0 && rank != t->rank) {
        return cli_usage_error(CMD, "input '%s' has rank %u, the model says %u",
                               veil_engine_input_name(m, k), t->rank, rank);
    }
    for (uint32_t d = 0; d < rank; d++) {
        if (dims[d] >= 0 && dims[d] != t->dims[d]) {
            return cli_usage_error(
                CMD, "input '%s': dim %u is %lld, --shape or the model says %lld",
                veil_engine_input_name(m, k), d, (long long)t->dims[d], (long long)dims[d]);
        }
    }
    return CLI_EXIT_OK;
}

/* bench plans for the shapes it runs: those of the inputs given, symbolic dims left = 1. A
 * shape the model refuses stays unfixed; the run then says what does not fit. */
static void fix_bench_shapes(struct veil_engine_model *m, const struct veil_tensor *in,
                             const bool *bound)
{
    for (size_t k = 0; k < veil_engine_input_count(m); k++) {
        int32_t dtype;
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        veil_result r;
        veil_engine_input_info(m, k, &dtype, &rank, dims);
        if (bound[k]) {
            rank = in[k].rank;
            memcpy(dims, in[k].dims, rank * sizeof(*dims));
        }
        for (uint32_t d = 0; d < rank; d++) {
            dims[d] = dims[d] < 0 ? 1 : dims[d];
        }
        r = veil_engine_fix_input_shape(m, k, rank, dims);
        if (!veil_ok(r)) {
            continue;
        }
    }
}

/* Fills unbound inputs from the declared shapes (symbolic dims = 1, or as fixed by --shape),
 * with deterministic values (tools/ort-ref makes the same). */
static int synth_inputs(struct veil_engine_model *m, struct veil_tensor *in, const bool *bound)
{
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < veil_engine_input_count(m); k++) {
        int32_t dtype;
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        veil_result r;
        if (bound[k]) {
            continue;
        }
        veil_engine_input_info(m, k, &dtype, &rank, dims);
        for (uint32_t d = 0; d < rank; d++) {
            dims[d] = dims[d] < 0 ? 1 : dims[d];
        }
        r = veil_tensor_shape(&in[k], dtype, rank, dims);
        if (veil_ok(r)) {
            r = veil_tensor_alloc(&in[k]);
        }
        if (!veil_ok(r)) {
            return cli_fail_err(CMD, veil_engine_input_name(m, k), r.code);
        }
        for (size_t i = 0; i < in[k].count; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            veil_tensor_set_f64(&in[k], i, (double)(state >> 40) / (double)(1ULL << 24));
        }
    }
    return CLI_EXIT_OK;
}

static int write_outputs(struct veil_engine_model *m, struct veil_tensor *out, const char *dir)
{
    for (size_t k = 0; k < veil_engine_output_count(m); k++) {
        char path[4096];
        uint8_t *pb = NULL;
        size_t n = 0;
        veil_result r = veil_tensor_encode(&out[k], veil_engine_output_name(m, k), &pb, &n);
        (void)snprintf(path, sizeof(path), "%s/output_%zu.pb", dir, k);
        if (veil_ok(r)) {
            r = veil_file_write_atomic(path, pb, n, 0644, 1);
        }
        free(pb);
        if (!veil_ok(r)) {
            return cli_fail_err(CMD, path, r.code);
        }
        (void)printf("%s -> %s\n", veil_engine_output_name(m, k), path);
    }
    return CLI_EXIT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static int onnx_run_bench(int argc, char **argv, bool bench)
{
    const char *model = NULL;
    const char *outdir = NULL;
    char *specs[INPUTS_MAX];
    size_t nspecs = 0;
    char *shapes[INPUTS_MAX];
    size_t nshapes = 0;
    unsigned long threads = 0;
    unsigned long iters = 20;
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag = {{0}};
    struct veil_tensor in[INPUTS_MAX] = {0};
    struct veil_tensor out[INPUTS_MAX] = {0};
    bool bound[INPUTS_MAX] = {false};
    bool plan = false;
    double *lat = NULL;
    int rc = CLI_EXIT_FAIL;
    veil_result r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--input") == 0 && v != NULL && nspecs < INPUTS_MAX) {
            specs[nspecs++] = argv[++i];
        } else if (strcmp(a, "--shape") == 0 && v != NULL && nshapes < INPUTS_MAX) {
            shapes[nshapes++] = argv[++i];
        } else if (strcmp(a, "-o") == 0 && v != NULL && !bench) {
            outdir = argv[++i];
        } else if (strcmp(a, "--plan") == 0 && !bench) {
            plan = true;
        } else if (strcmp(a, "--threads") == 0 && v != NULL) {
            if (!cli_parse_uint(v, VEIL_ENGINE_THREADS_MAX, &threads)) {
                return cli_usage_error(CMD, "--threads wants 0..%d", VEIL_ENGINE_THREADS_MAX);
            }
            i++;
        } else if (strcmp(a, "--iterations") == 0 && v != NULL && bench) {
            if (!cli_parse_uint(v, ITERATIONS_MAX, &iters) || iters == 0) {
                return cli_usage_error(CMD, "--iterations wants 1..%lu", ITERATIONS_MAX);
            }
            i++;
        } else if (a[0] != '-' && model == NULL) {
            model = a;
        } else {
            return cli_usage_error(CMD, "unexpected argument %s", a);
        }
    }
    if (model == NULL || (!bench && outdir == NULL)) {
        return cli_usage_error(CMD, bench ? "bench MODEL [--threads N] [--iterations K]"
                                          : "run MODEL --input name=file.pb ... -o DIR");
    }
    r = load_model(model, &diag, &m);
    if (!veil_ok(r)) {
        return cli_fail(CMD, "%s: %s", model, diag.what[0] ? diag.what : veil_strerror(r.code));
    }
    if (veil_engine_input_count(m) > INPUTS_MAX || veil_engine_output_count(m) > INPUTS_MAX) {
        rc = cli_fail(CMD, "%s: too many inputs or outputs", model);
        goto out;
    }
    r = veil_engine_set_threads(m, (unsigned)threads);
    rc = veil_ok(r) ? fix_shapes(m, shapes, nshapes) : cli_fail_err(CMD, "--threads", r.code);
    if (rc == CLI_EXIT_OK) {
        rc = bind_inputs(m, specs, nspecs, in, bound);
    }
    for (size_t k = 0; rc == CLI_EXIT_OK && nshapes > 0 && k < veil_engine_input_count(m); k++) {
        rc = bound[k] ? check_bound_shape(m, k, &in[k]) : CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && bench) {
        fix_bench_shapes(m, in, bound);
        rc = synth_inputs(m, in, bound);
    }
    for (size_t k = 0; rc == CLI_EXIT_OK && !bench && k < veil_engine_input_count(m); k++) {
        if (!bound[k]) {
            rc = cli_usage_error(CMD, "input '%s' not given", veil_engine_input_name(m, k));
        }
    }
    if (rc != CLI_EXIT_OK) {
        goto out;
    }
    if (bench || plan) {
        size_t arena;
        size_t planned;
        size_t total;
        size_t live;
        size_t values;
        veil_heap_planning_begin();
        r = veil_engine_plan_for(m, in, &diag);
        veil_heap_planning_end(0);
        if (veil_ok(r) && veil_ok(veil_engine_plan_info(m, &arena, &planned, &total)) &&
            veil_ok(veil_engine_plan_live_max(m, &live)) &&
            veil_ok(veil_engine_plan_values_arena(m, &values))) {
            (void)printf(
                "plan: %zu intermediates, arena %zu bytes (%zu without reuse, %zu live "
                "at most), with kernel scratch %zu bytes\n",
                planned, values, total, live, arena);
        } else {
            (void)printf("plan: none (%s)\n", veil_strerror(r.code));
        }
    }
    lat = calloc(bench ? iters : 1, sizeof(*lat));
    if (lat == NULL) {
        rc = cli_fail(CMD, "out of memory");
        goto out;
    }
    for (unsigned long it = 0; it < (bench ? iters : 1); it++) {
        double t0 = now_s();
        r = veil_engine_run(m, in, out, &diag);
        lat[it] = now_s() - t0;
        if (!veil_ok(r)) {
            rc = cli_fail(CMD, "%s: %s", model, diag.what[0] ? diag.what : veil_strerror(r.code));
            goto out;
        }
        if (bench) {
            free_tensors(out, veil_engine_output_count(m));
        }
    }
    if (bench) {
        double sum = 0;
        qsort(lat, iters, sizeof(*lat), cmp_double);
        for (unsigned long it = 0; it < iters; it++) {
            sum += lat[it];
        }
        (void)printf("iterations %lu threads %lu\n", iters, threads);
        (void)printf("latency_ms p50 %.4f p90 %.4f p99 %.4f min %.4f max %.4f mean %.4f\n",
                     lat[iters / 2] * 1e3, lat[iters * 9 / 10] * 1e3, lat[iters * 99 / 100] * 1e3,
                     lat[0] * 1e3, lat[iters - 1] * 1e3, sum / (double)iters * 1e3);
        (void)printf("throughput %.2f inferences/s\n", (double)iters / sum);
    } else {
        rc = write_outputs(m, out, outdir);
        free_tensors(out, veil_engine_output_count(m));
    }
out:
    free(lat);
    free_tensors(in, m != NULL ? veil_engine_input_count(m) : 0);
    veil_engine_free(m);
    return rc;
}

static void usage(FILE *f)
{
    (void)fprintf(f,
                  "usage: veil onnx check [--skip-unsupported] [--plan] [--quiet] DIR...\n"
                  "       veil onnx run MODEL --input name=file.pb ... -o DIR [--threads N]\n"
                  "                     [--shape name=DIMS ...] [--plan]\n"
                  "       veil onnx bench MODEL [--threads N] [--iterations K] "
                  "[--input name=file.pb ...]\n"
                  "                     [--shape name=DIMS ...]\n\n"
                  "check runs ONNX backend-test directories (model.onnx, test_data_set_N/), or\n"
                  "every such subdirectory of a directory without model.onnx, and\n"
                  "compares every output (rtol %g, atol %g); exit 0 only if all pass.\n"
                  "--skip-unsupported counts models with operators or types the engine lacks as\n"
                  "skipped instead of failed. --plan runs with a static memory plan where the\n"
                  "model's input shapes are static.\n"
                  "run and bench: --shape name=1x3x48x320 fixes the symbolic dims of an input\n"
                  "(static dims must be given as declared) so the memory plan and bench's\n"
                  "synthetic inputs use it; bench fills inputs not given with deterministic\n"
                  "values in [0, 1), symbolic dims not fixed = 1. bench, and run with --plan,\n"
                  "make a static memory plan on the inputs they run and print it (plan: ...).\n",
                  RTOL, ATOL);
}

int cmd_onnx(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0) {
        return onnx_check(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "run") == 0) {
        return onnx_run_bench(argc - 1, argv + 1, false);
    }
    if (strcmp(argv[1], "bench") == 0) {
        return onnx_run_bench(argc - 1, argv + 1, true);
    }
    return cli_usage_error(CMD, "unknown subcommand %s", argv[1]);
}
