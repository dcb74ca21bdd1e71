/*
 * model_tool: deterministic inputs and compact golden outputs for the real-model tests
 * (tests/e2e/test_models_ort.sh, docs/ENGINE.models.md).
 *
 *   model_tool input OUT.pb NAME KIND DTYPE DIMS [VALUE]
 *       KIND image-det  a synthetic page (dark glyph blocks on a light gradient), normalised as
 *                       PaddleOCR det does: (rgb/255 - mean) / std, NCHW
 *            image-rec  the same page at text-line size, normalised (rgb/255 - 0.5) / 0.5
 *            audio      16 kHz sine sweep + LCG noise, times VALUE (1 for [-1, 1], 32767 for
 *                       int16-range PCM)
 *            uniform    LCG values in [0, VALUE) (VALUE defaults to 1)
 *            const      every element VALUE (e.g. Silero's sr = 16000; a scalar has DIMS "")
 *       DTYPE float | int64; DIMS like 1x3x48x320
 *   model_tool golden GOT.pb GOLDEN.txt RTOL ATOL [--argmax]
 *       writes a compact golden from a reference output: shape, mean, up to SAMPLE_MAX values
 *       (all when the output is small; else the SAMPLE_MAX/2 largest in magnitude and
 *       SAMPLE_MAX/2 at LCG-chosen indices), and with --argmax the argmax over the last axis for
 *       every row with its score and the margin to the runner-up
 *   model_tool check GOT.pb GOLDEN.txt
 *       compares an output with a golden: each sampled |got - want| <= atol + rtol * |want|,
 *       the mean and each row's top score likewise, argmax equal wherever the reference's top-2
 * margin exceeds the tolerance; prints max abs/rel error; exit 0 when it fits, 1 when not, 2 on bad
 * usage
 *   model_tool weights MODEL
 *       prints two byte counts: the model's weights (initializers plus Constant node values, in
 *       the main graph and its subgraphs), and what the load derived from them (constants folded
 *       at load, fused Conv weights) (bench/engine/memory)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "engine/engine.h"
#include "engine/graph.h"
#include "engine/ops.h"

#define SAMPLE_MAX 2048
#define FILE_MAX   ((size_t)256 << 20)
#define REL_FLOOR  1e-3 /* relative errors are reported where |reference| >= this */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

static double unit(uint64_t *s)
{
    return (double)lcg(s) / (double)(1ULL << 53);
}

static int usage(void)
{
    (void)fprintf(stderr,
                  "usage: model_tool input OUT.pb NAME KIND DTYPE DIMS [VALUE]\n"
                  "       model_tool golden GOT.pb GOLDEN.txt RTOL ATOL [--argmax]\n"
                  "       model_tool check GOT.pb GOLDEN.txt\n"
                  "       model_tool weights MODEL\n");
    return 2;
}

static bool parse_dims(const char *s, uint32_t *rank, int64_t *dims)
{
    *rank = 0;
    while (*s != '\0') {
        char *end = NULL;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || *rank == VEIL_ENGINE_RANK_MAX || (*end != 'x' && *end != 0)) {
            return false;
        }
        dims[(*rank)++] = v;
        s = *end == 'x' ? end + 1 : end;
    }
    return true;
}

/* A light page with a brightness gradient and rows of dark glyph-sized blocks; rgb in 0..255. */
static double page(int64_t y, int64_t x, int64_t h, int64_t w, int64_t ch)
{
    double bg = 225.0 + 20.0 * (double)x / (double)w - 10.0 * (double)y / (double)h;
    int64_t line = h >= 200 ? 48 : h; /* text-line pitch: a whole line for rec/cls */
    int64_t ly = y % line;
    int64_t top = line / 4;
    int64_t bottom = line - line / 4;
    int64_t glyph = (line * 3) / 4 + 2; /* glyph cell width */
    int64_t gx = x % glyph;
    uint64_t cell = (uint64_t)(x / glyph) * 2654435761ULL + (uint64_t)(y / line) * 40503ULL;
    bool gap = (cell >> 7) % 7 == 0; /* word gaps */
    bool stroke = (gx < glyph / 5) || ((cell >> 3) % 3 == 0 && ly % 8 < 3) ||
                  ((cell >> 5) % 2 == 0 && gx >= glyph / 2 && gx < glyph / 2 + glyph / 6);
    if (ly >= top && ly < bottom && gx < glyph - glyph / 4 && !gap && stroke &&
        (h < 200 || (x > w / 10 && x < w - w / 8 && (y / line) % 3 != 2))) {
        return 30.0 + 15.0 * (double)ch;
    }
    return bg - 4.0 * (double)ch;
}

static int make_input(int argc, char **argv)
{
    const char *out = argv[2];
    const char *name = argv[3];
    const char *kind = argv[4];
    int32_t dtype = strcmp(argv[5], "int64") == 0 ? VEIL_DT_INT64 : VEIL_DT_FLOAT;
    double value = argc > 7 ? strtod(argv[7], NULL) : 1.0;
    struct veil_tensor t = {0};
    uint64_t s = 0x243f6a8885a308d3ULL;
    uint8_t *pb = NULL;
    size_t n = 0;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    veil_result r;

    if ((strcmp(argv[5], "int64") != 0 && strcmp(argv[5], "float") != 0) ||
        !parse_dims(argv[6], &rank, dims)) {
        return usage();
    }
    r = veil_tensor_shape(&t, dtype, rank, dims);
    if (veil_ok(r)) {
        r = veil_tensor_alloc(&t);
    }
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "model_tool: %s\n", veil_strerror(r.code));
        return 1;
    }
    if (strncmp(kind, "image-", 6) == 0) {
        static const double mean[3] = {0.485, 0.456, 0.406};
        static const double std[3] = {0.229, 0.224, 0.225};
        bool det = strcmp(kind, "image-det") == 0;
        int64_t c = dims[1], h = dims[2], w = dims[3];
        if (rank != 4 || c != 3) {
            return usage();
        }
        for (int64_t ch = 0; ch < c; ch++) {
            for (int64_t y = 0; y < h; y++) {
                for (int64_t x = 0; x < w; x++) {
                    double v = page(y, x, h, w, ch) / 255.0;
                    v = det ? (v - mean[ch]) / std[ch] : (v - 0.5) / 0.5;
                    veil_tensor_set_f64(&t, (size_t)((ch * h + y) * w + x), v);
                }
            }
        }
    } else if (strcmp(kind, "audio") == 0) {
        for (size_t i = 0; i < t.count; i++) {
            double ts = (double)i / 16000.0;
            double f = 300.0 + 2000.0 * ts; /* sweep */
            double v = 0.5 * sin(2.0 * M_PI * f * ts) + 0.1 * (unit(&s) * 2.0 - 1.0);
            veil_tensor_set_f64(&t, i, round(v * value * 1e6) / 1e6);
        }
    } else if (strcmp(kind, "uniform") == 0) {
        for (size_t i = 0; i < t.count; i++) {
            veil_tensor_set_f64(&t, i, unit(&s) * value);
        }
    } else if (strcmp(kind, "const") == 0) {
        for (size_t i = 0; i < t.count; i++) {
            veil_tensor_set_f64(&t, i, value);
        }
    } else {
        veil_tensor_free(&t);
        return usage();
    }
    r = veil_tensor_encode(&t, name, &pb, &n);
    if (veil_ok(r)) {
        r = veil_file_write_atomic(out, pb, n, 0644, 1);
    }
    free(pb);
    veil_tensor_free(&t);
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "model_tool: %s: %s\n", out, veil_strerror(r.code));
        return 1;
    }
    return 0;
}

static bool read_tensor(const char *path, struct veil_tensor *t, char **name)
{
    struct veil_wr w;
    veil_result r = veil_file_read(path, FILE_MAX, &w);
    if (veil_ok(r)) {
        r = veil_tensor_decode(w.data, w.len, t, name);
        veil_wr_free(&w);
    }
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "model_tool: %s: %s\n", path, veil_strerror(r.code));
        return false;
    }
    return true;
}

/* The tensor being sampled, for by_magnitude (qsort has no context argument). */
static const struct veil_tensor *sorting;

static int by_magnitude(const void *a, const void *b)
{
    double x = fabs(veil_tensor_get_f64(sorting, *(const size_t *)a));
    double y = fabs(veil_tensor_get_f64(sorting, *(const size_t *)b));
    if (x != y) {
        return x > y ? -1 : 1;
    }
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* Sample indices: all when the output is small; else half the SAMPLE_MAX largest magnitudes
 * (where a detection map or a probability has its signal) and half spread by an LCG. */
static size_t *sample_indices(const struct veil_tensor *t, size_t *n)
{
    size_t *idx = calloc(t->count > SAMPLE_MAX ? t->count : SAMPLE_MAX, sizeof(*idx));
    uint64_t s = 0x13198a2e03707344ULL;
    if (idx == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < t->count; i++) {
        idx[i] = i;
    }
    if (t->count <= SAMPLE_MAX) {
        *n = t->count;
        return idx;
    }
    sorting = t;
    qsort(idx, t->count, sizeof(*idx), by_magnitude);
    for (size_t k = SAMPLE_MAX / 2; k < SAMPLE_MAX; k++) {
        idx[k] = (size_t)(lcg(&s) % t->count);
    }
    *n = SAMPLE_MAX;
    return idx;
}

static double tensor_mean(const struct veil_tensor *t)
{
    double sum = 0;
    for (size_t i = 0; i < t->count; i++) {
        sum += veil_tensor_get_f64(t, i);
    }
    return t->count > 0 ? sum / (double)t->count : 0;
}

/* Argmax over the last axis of row r, and the margin to the runner-up. */
static size_t row_argmax(const struct veil_tensor *t, size_t row, double *margin)
{
    size_t last = t->rank > 0 ? (size_t)t->dims[t->rank - 1] : 1;
    size_t best = 0;
    double b1 = -INFINITY, b2 = -INFINITY;
    for (size_t j = 0; j < last; j++) {
        double v = veil_tensor_get_f64(t, row * last + j);
        if (v > b1) {
            b2 = b1;
            b1 = v;
            best = j;
        } else if (v > b2) {
            b2 = v;
        }
    }
    *margin = b1 - b2;
    return best;
}

static int make_golden(int argc, char **argv)
{
    struct veil_tensor t = {0};
    char *name = NULL;
    bool argmax = argc > 6 && strcmp(argv[6], "--argmax") == 0;
    size_t *idx;
    size_t n;
    FILE *f;

    if (!read_tensor(argv[2], &t, &name)) {
        return 1;
    }
    if (!veil_dtype_is_float(t.dtype) || (f = fopen(argv[3], "w")) == NULL) {
        (void)fprintf(stderr, "model_tool: %s: not a float output, or cannot write %s\n", argv[2],
                      argv[3]);
        veil_tensor_free(&t);
        free(name);
        return 1;
    }
    (void)fprintf(f, "name %s\nrank %u\ndims", name != NULL ? name : "", t.rank);
    for (uint32_t d = 0; d < t.rank; d++) {
        (void)fprintf(f, " %lld", (long long)t.dims[d]);
    }
    (void)fprintf(f, "\nrtol %s\natol %s\nmean %.9g\n", argv[4], argv[5], tensor_mean(&t));
    idx = sample_indices(&t, &n);
    if (idx == NULL) {
        n = 0;
    }
    (void)fprintf(f, "samples %zu\n", n);
    for (size_t k = 0; k < n; k++) {
        (void)fprintf(f, "%zu %.9g\n", idx[k], veil_tensor_get_f64(&t, idx[k]));
    }
    free(idx);
    if (argmax && t.rank > 0 && t.dims[t.rank - 1] > 0) {
        size_t rows = t.count / (size_t)t.dims[t.rank - 1];
        (void)fprintf(f, "argmax %zu\n", rows);
        for (size_t row = 0; row < rows; row++) {
            double margin;
            size_t a = row_argmax(&t, row, &margin);
            (void)fprintf(f, "%zu %.9g %.9g\n", a, margin,
                          veil_tensor_get_f64(&t, row * (size_t)t.dims[t.rank - 1] + a));
        }
    }
    veil_tensor_free(&t);
    free(name);
    return fclose(f) == 0 ? 0 : 1;
}

static bool fits(double got, double want, double rtol, double atol)
{
    return fabs(got - want) <= atol + rtol * fabs(want);
}

static int check(char **argv)
{
    struct veil_tensor t = {0};
    char name[256] = "";
    unsigned rank = 0;
    double rtol = 0, atol = 0, mean = 0, max_abs = 0, max_rel = 0;
    size_t n = 0, bad = 0, rows = 0, argmax_bad = 0, argmax_close = 0;
    bool ok = true;
    FILE *f = fopen(argv[3], "r");

    if (f == NULL || !read_tensor(argv[2], &t, NULL)) {
        (void)fprintf(stderr, "model_tool: cannot read %s or %s\n", argv[2], argv[3]);
        if (f != NULL) {
            (void)fclose(f);
        }
        return 1;
    }
    if (fscanf(f, "name %255s rank %u dims", name, &rank) != 2 || rank != t.rank) {
        (void)fprintf(stderr, "model_tool: %s: bad golden, or rank %u differs\n", argv[3], t.rank);
        ok = false;
    }
    for (unsigned d = 0; ok && d < rank; d++) {
        long long v;
        if (fscanf(f, "%lld", &v) != 1 || v != t.dims[d]) {
            (void)fprintf(stderr, "model_tool: %s: dim %u is %lld, golden says %lld\n", name, d,
                          (long long)t.dims[d], v);
            ok = false;
        }
    }
    if (ok && fscanf(f, " rtol %lf atol %lf mean %lf samples %zu", &rtol, &atol, &mean, &n) != 4) {
        (void)fprintf(stderr, "model_tool: %s: bad golden header\n", argv[3]);
        ok = false;
    }
    for (size_t k = 0; ok && k < n; k++) {
        size_t i;
        double want, got;
        if (fscanf(f, "%zu %lf", &i, &want) != 2 || i >= t.count) {
            ok = false;
            break;
        }
        got = veil_tensor_get_f64(&t, i);
        if (fabs(got - want) > max_abs) {
            max_abs = fabs(got - want);
        }
        if (fabs(want) >= REL_FLOOR && fabs(got - want) / fabs(want) > max_rel) {
            max_rel = fabs(got - want) / fabs(want);
        }
        if (!fits(got, want, rtol, atol) || isnan(got)) {
            if (bad++ < 5) {
                (void)fprintf(stderr, "  %s[%zu] = %.9g, ORT %.9g\n", name, i, got, want);
            }
        }
    }
    if (ok && fscanf(f, " argmax %zu", &rows) == 1) {
        size_t last = t.rank > 0 ? (size_t)t.dims[t.rank - 1] : 0;
        for (size_t row = 0; ok && row < rows; row++) {
            size_t want;
            double margin, m2, top;
            if (last == 0 || row >= t.count / last ||
                fscanf(f, "%zu %lf %lf", &want, &margin, &top) != 3 || want >= last) {
                ok = false;
                break;
            }
            /* the winning score itself, like a sampled value */
            if (!fits(veil_tensor_get_f64(&t, row * last + want), top, rtol, atol)) {
                if (bad++ < 5) {
                    (void)fprintf(stderr, "  %s row %zu: top score %.9g, ORT %.9g\n", name, row,
                                  veil_tensor_get_f64(&t, row * last + want), top);
                }
            }
            if (row_argmax(&t, row, &m2) != want) {
                /* a near tie in the reference may flip within the tolerance */
                if (margin <=
                    2 * (atol + rtol * fabs(veil_tensor_get_f64(&t, row * last + want)))) {
                    argmax_close++;
                } else {
                    argmax_bad++;
                }
            }
        }
    }
    if (!ok) {
        (void)fprintf(stderr, "model_tool: %s: golden %s does not parse or fit\n", name, argv[3]);
    } else {
        double got_mean = tensor_mean(&t);
        bool mean_ok = fits(got_mean, mean, rtol, atol);
        (void)printf(
            "%s: %zu values, max abs err %.3g, max rel err %.3g (|ORT| >= 1e-3), mean %.6g (ORT "
            "%.6g)",
            name, n, max_abs, max_rel, got_mean, mean);
        if (rows > 0) {
            (void)printf(", argmax %zu/%zu equal (%zu near-ties)", rows - argmax_bad - argmax_close,
                         rows, argmax_close);
        }
        (void)printf(" [rtol %g atol %g] %s\n", rtol, atol,
                     bad == 0 && mean_ok && argmax_bad == 0 ? "ok" : "MISMATCH");
        ok = bad == 0 && mean_ok && argmax_bad == 0;
    }
    (void)fclose(f);
    veil_tensor_free(&t);
    return ok ? 0 : 1;
}

/* The model's own weights (initializers and Constant node values) of g and its subgraphs into
 * *own; what the load derived from them (constants folded at load, Conv weights and biases with
 * BatchNormalization/Mul/Add folded into a copy) into *derived. */
static void graph_weights(const struct veil_engine_graph *g, size_t *own, size_t *derived)
{
    for (uint32_t i = 0; i < g->value_count; i++) {
        if (g->values[i].kind == VEIL_VALUE_INITIALIZER) {
            *own += g->values[i].init->size;
        }
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        if (n->has_constant) {
            if (n->op != NULL && strcmp(n->op->name, "Constant") == 0) {
                *own += n->constant->size;
            } else if (!n->constant->borrowed) {
                /* a folded result written over weights nothing reads any more is not a copy */
                *derived += n->constant->size;
            }
        }
        if (n->fused) {
            /* weights folded in place are counted once, as the model's */
            *derived += (n->x->fused_w->borrowed ? 0 : n->x->fused_w->size) + n->x->fused_b->size;
        }
        if (n->wpack != NULL) { /* packed Conv weights: a copy, or only a last panel in place */
            *derived += n->wpack->owned;
        }
        for (uint32_t a = 0; a < n->attr_count; a++) {
            if (veil_attr_subgraph(&n->attrs[a]) != NULL) {
                graph_weights(veil_attr_subgraph(&n->attrs[a]), own, derived);
            }
        }
    }
}

static int weights(const char *path)
{
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag = {0};
    veil_result r = veil_engine_load_file(path, &diag, &m);
    size_t own = 0;
    size_t derived = 0;

    if (!veil_ok(r)) {
        (void)fprintf(stderr, "model_tool: %s: %s\n", path, veil_strerror(r.code));
        return 1;
    }
    graph_weights(m->main, &own, &derived);
    (void)printf("%zu %zu\n", own, derived);
    veil_engine_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "weights") == 0) {
        return weights(argv[2]);
    }
    if (argc >= 7 && strcmp(argv[1], "input") == 0) {
        return make_input(argc, argv);
    }
    if (argc >= 6 && strcmp(argv[1], "golden") == 0) {
        return make_golden(argc, argv);
    }
    if (argc == 4 && strcmp(argv[1], "check") == 0) {
        return check(argv);
    }
    return usage();
}
