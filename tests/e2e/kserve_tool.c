/*
 * Test helper for the veil-serve e2e scripts: KServe v2 requests from ONNX test data, and
 * responses checked against the expected outputs (rtol 1e-3, atol 1e-5, as `veil onnx check`).
 *
 *   kserve_tool request [--binary] [--binary-output] input_0.pb ... > body   JSON (or JSON + binary
 * tensor data; then the JSON size goes to stderr) kserve_tool check RESPONSE JSON_SIZE|-
 * output_0.pb ...   exit 0 if every output matches
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/file.h"
#include "engine/engine.h"
#include "tensor_json.h"

static int load(const char *path, struct veil_tensor *t, char **name)
{
    struct veil_wr w;
    veil_result r = veil_file_read(path, 1u << 28, &w);

    if (veil_ok(r)) {
        r = veil_tensor_decode(w.data, w.len, t, name);
    }
    veil_wr_free(&w);
    if (!veil_ok(r)) {
        (void)fprintf(stderr, "kserve_tool: %s: cannot decode\n", path);
        return 1;
    }
    return 0;
}

static int request(int argc, char **argv)
{
    bool binary = false;
    bool binary_out = false;
    int first = 0;
    json_t *inputs = json_array();
    json_t *root;
    struct veil_wr bin;
    char *text;

    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        binary |= strcmp(argv[first], "--binary") == 0;
        binary_out |= strcmp(argv[first], "--binary-output") == 0;
    }
    veil_wr_init(&bin, 1u << 30);
    for (int i = first; i < argc; i++) {
        struct veil_tensor t = {0};
        char *name = NULL;
        json_t *shape = json_array();
        json_t *in;
        if (load(argv[i], &t, &name) != 0) {
            return 1;
        }
        for (uint32_t d = 0; d < t.rank; d++) {
            (void)json_array_append_new(shape, json_integer(t.dims[d]));
        }
        in = json_pack("{s:s, s:s, s:o}", "name", name, "datatype", serve_datatype_name(t.dtype),
                       "shape", shape);
        if (binary) {
            (void)json_object_set_new(in, "parameters",
                                      json_pack("{s:I}", "binary_data_size", (json_int_t)t.size));
            if (!veil_ok(veil_wr_bytes(&bin, t.data, t.size))) {
                return 1;
            }
        } else {
            json_t *data = json_array();
            for (size_t k = 0; k < t.count; k++) {
                (void)json_array_append_new(
                    data, veil_dtype_is_float(t.dtype) ? json_real(veil_tensor_get_f64(&t, k))
                          : t.dtype == VEIL_DT_BOOL    ? json_boolean(veil_tensor_get_i64(&t, k))
                                                       : json_integer(veil_tensor_get_i64(&t, k)));
            }
            (void)json_object_set_new(in, "data", data);
        }
        (void)json_array_append_new(inputs, in);
        veil_tensor_free(&t);
        free(name);
    }
    root = json_pack("{s:o}", "inputs", inputs);
    if (binary_out) {
        (void)json_object_set_new(root, "parameters", json_pack("{s:b}", "binary_data_output", 1));
    }
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    (void)fputs(text, stdout);
    if (binary) {
        (void)fwrite(bin.data, 1, bin.len, stdout);
        (void)fprintf(stderr, "%zu\n", strlen(text));
    }
    free(text);
    veil_wr_free(&bin);
    return 0;
}

static bool close_enough(double got, double want)
{
    return fabs(got - want) <= 1e-5 + 1e-3 * fabs(want);
}

/* Compares one response output (JSON data or binary part at *bin) with the expected tensor. */
static int compare(json_t *o, const struct veil_tensor *want, const uint8_t **bin,
                   const uint8_t *bin_end)
{
    json_t *shape = json_object_get(o, "shape");
    json_t *data = json_object_get(o, "data");
    json_t *size = json_object_get(json_object_get(o, "parameters"), "binary_data_size");
    const char *dt = json_string_value(json_object_get(o, "datatype"));

    if (dt == NULL || strcmp(dt, serve_datatype_name(want->dtype)) != 0 ||
        json_array_size(shape) != want->rank) {
        (void)fprintf(stderr, "kserve_tool: datatype or rank differs\n");
        return 1;
    }
    for (uint32_t d = 0; d < want->rank; d++) {
        if (json_integer_value(json_array_get(shape, d)) != want->dims[d]) {
            (void)fprintf(stderr, "kserve_tool: dimension %u differs\n", d);
            return 1;
        }
    }
    if (size != NULL) {
        size_t n = (size_t)json_integer_value(size);
        if (n != want->size || n > (size_t)(bin_end - *bin)) {
            (void)fprintf(stderr, "kserve_tool: binary size differs\n");
            return 1;
        }
        struct veil_tensor got = *want;
        int rc = 0;
        got.data = malloc(n + 1); /* aligned copy: the binary part starts at any offset */
        if (got.data == NULL) {
            return 1;
        }
        memcpy(got.data, *bin, n);
        for (size_t k = 0; k < want->count && rc == 0; k++) {
            if (!close_enough(veil_tensor_get_f64(&got, k), veil_tensor_get_f64(want, k))) {
                (void)fprintf(stderr, "kserve_tool: binary element %zu differs\n", k);
                rc = 1;
            }
        }
        free(got.data);
        *bin += n;
        return rc;
    }
    if (json_array_size(data) != want->count) {
        (void)fprintf(stderr, "kserve_tool: %zu elements, expected %zu\n", json_array_size(data),
                      want->count);
        return 1;
    }
    for (size_t k = 0; k < want->count; k++) {
        json_t *e = json_array_get(data, k);
        double got = json_is_boolean(e) ? (json_is_true(e) ? 1.0 : 0.0) : json_number_value(e);
        if (!close_enough(got, veil_tensor_get_f64(want, k))) {
            (void)fprintf(stderr, "kserve_tool: element %zu: %g, expected %g\n", k, got,
                          veil_tensor_get_f64(want, k));
            return 1;
        }
    }
    return 0;
}

static int check(int argc, char **argv)
{
    struct veil_wr body;
    json_t *root;
    json_t *outputs;
    size_t json_size;
    const uint8_t *bin;
    int rc = 0;

    if (argc < 3 || !veil_ok(veil_file_read(argv[0], 1u << 30, &body))) {
        return 2;
    }
    json_size = strcmp(argv[1], "-") == 0 ? body.len : strtoul(argv[1], NULL, 10);
    if (json_size > body.len) {
        return 2;
    }
    root = json_loadb((const char *)body.data, json_size, 0, NULL);
    outputs = json_object_get(root, "outputs");
    bin = body.data + json_size;
    for (int i = 2; i < argc && rc == 0; i++) {
        struct veil_tensor want = {0};
        char *name = NULL;
        json_t *o = NULL;
        if (load(argv[i], &want, &name) != 0) {
            return 1;
        }
        for (size_t k = 0; k < json_array_size(outputs); k++) {
            const char *n = json_string_value(json_object_get(json_array_get(outputs, k), "name"));
            if (n != NULL && strcmp(n, name) == 0) {
                o = json_array_get(outputs, k);
            }
        }
        if (o == NULL) {
            (void)fprintf(stderr, "kserve_tool: no output '%s' in the response\n", name);
            rc = 1;
        } else {
            rc = compare(o, &want, &bin, body.data + body.len);
        }
        veil_tensor_free(&want);
        free(name);
    }
    json_decref(root);
    veil_wr_free(&body);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "request") == 0) {
        return request(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        return check(argc - 2, argv + 2);
    }
    (void)fputs(
        "usage: kserve_tool request [--binary] [--binary-output] IN.pb... | check RESP "
        "SIZE|- OUT.pb...\n",
        stderr);
    return 2;
}
