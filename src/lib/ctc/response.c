/*
 * A KServe v2 inference response, as veil-serve (docs/PROTOCOL.serve.md) and other Open
 * Inference Protocol servers write it: {"model_name", "model_version", "id", "parameters",
 * "outputs": [{"name", "datatype", "shape", "data", "parameters"}]}. Only what text
 * recognition needs is accepted: one FP32 (or FP64) output of shape [1, T, C] with flat data.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctc/ctc.h"

__attribute__((format(printf, 3, 4))) static veil_result response_fail(char *why, size_t why_size,
                                                                       const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && why_size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
        /* The server's words reach a terminal: no control characters. */
        for (char *p = why; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                *p = '?';
            }
        }
    }
    return veil_result_of(VEIL_ERR_TENSOR_RESPONSE);
}

static bool response_keys(json_t *obj, const char *const *allowed, const char **bad)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        size_t i = 0;

        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0) {
            i++;
        }
        if (allowed[i] == NULL) {
            *bad = key;
            return false;
        }
    }
    return true;
}

/* The output to decode: by name, or the only one. */
static json_t *response_pick(json_t *outputs, const char *name, char *why, size_t why_size)
{
    size_t i;
    json_t *o;

    if (name == NULL) {
        if (json_array_size(outputs) != 1) {
            (void)response_fail(why, why_size,
                                "the response has %zu outputs; name one with --output",
                                json_array_size(outputs));
            return NULL;
        }
        return json_array_get(outputs, 0);
    }
    json_array_foreach(outputs, i, o)
    {
        const char *n = json_string_value(json_object_get(o, "name"));

        if (n != NULL && strcmp(n, name) == 0) {
            return o;
        }
    }
    (void)response_fail(why, why_size, "the response has no output named '%s'", name);
    return NULL;
}

static VEIL_RESULT response_shape(json_t *shape, uint32_t *steps, uint32_t *classes, char *why,
                                  size_t why_size)
{
    json_int_t d[3];

    if (!json_is_array(shape) || json_array_size(shape) != 3) {
        return response_fail(why, why_size, "the output's shape is not [1, T, C]");
    }
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_array_get(shape, i);

        if (!json_is_integer(v)) {
            return response_fail(why, why_size, "the output's shape is not three integers");
        }
        d[i] = json_integer_value(v);
    }
    if (d[0] != 1 || d[1] < 1 || d[1] > VEIL_CTC_STEPS_MAX || d[2] < 1 ||
        d[2] > VEIL_CTC_LABEL_COUNT_MAX + 2 ||
        (uint64_t)d[1] * (uint64_t)d[2] > VEIL_CTC_VALUES_MAX) {
        return response_fail(why, why_size,
                             "the output's shape [%lld, %lld, %lld] is not [1, T, C] within limits",
                             (long long)d[0], (long long)d[1], (long long)d[2]);
    }
    *steps = (uint32_t)d[1];
    *classes = (uint32_t)d[2];
    return VEIL_RESULT_OK;
}

static VEIL_RESULT response_values(json_t *data, size_t n, float *out, char *why, size_t why_size)
{
    size_t i;
    json_t *v;

    if (!json_is_array(data) || json_array_size(data) != n) {
        return response_fail(why, why_size, "the output's data is not a flat array of %zu numbers",
                             n);
    }
    json_array_foreach(data, i, v)
    {
        double x;

        if (!json_is_number(v)) {
            return response_fail(why, why_size, "the output's data[%zu] is not a number", i);
        }
        x = json_number_value(v);
        if (!isfinite(x) || fabs(x) > 3.4e38) {
            return response_fail(why, why_size, "the output's data[%zu] is out of range", i);
        }
        out[i] = (float)x;
    }
    return VEIL_RESULT_OK;
}

/* parameters.binary_data_size of an output: 1 with *n set, 0 when absent, -1 when malformed. */
static int response_binary_size(json_t *o, size_t *n)
{
    json_t *params = json_object_get(o, "parameters");
    json_t *b;
    json_int_t v;

    if (params == NULL) {
        return 0;
    }
    if (!json_is_object(params)) {
        return -1;
    }
    b = json_object_get(params, "binary_data_size");
    if (b == NULL) {
        return 0;
    }
    if (!json_is_integer(b) || (v = json_integer_value(b)) < 0 ||
        (uint64_t)v > VEIL_CTC_RESPONSE_SIZE_MAX) {
        return -1;
    }
    *n = (size_t)v;
    return 1;
}

/* The values of a binary output: little-endian FP32 or FP64, each finite. */
static VEIL_RESULT response_binary_values(const uint8_t *bin, size_t n, bool fp64, float *out,
                                          char *why, size_t why_size)
{
    for (size_t i = 0; i < n; i++) {
        double x;

        if (fp64) {
            memcpy(&x, bin + i * 8, 8);
        } else {
            float f;
            memcpy(&f, bin + i * 4, 4);
            x = f;
        }
        if (!isfinite(x) || fabs(x) > 3.4e38) {
            return response_fail(why, why_size, "the output's binary value %zu is out of range", i);
        }
        out[i] = (float)x;
    }
    return VEIL_RESULT_OK;
}

/* bin is the output's binary part (NULL when its data is in the JSON). */
static VEIL_RESULT response_output(json_t *o, const uint8_t *bin, size_t bin_size,
                                   struct veil_ctc_output *out, char *why, size_t why_size)
{
    static const char *const keys[] = {"name", "datatype", "shape", "data", "parameters", NULL};
    const char *bad = NULL;
    const char *dt;
    uint32_t steps = 0;
    uint32_t classes = 0;
    float *values;
    size_t count;
    bool fp64;
    veil_result r;

    if (!json_is_object(o) || !response_keys(o, keys, &bad)) {
        return response_fail(why, why_size, "the output is not an object of %s",
                             bad != NULL ? "known keys" : "keys");
    }
    dt = json_string_value(json_object_get(o, "datatype"));
    if (dt == NULL || (strcmp(dt, "FP32") != 0 && strcmp(dt, "FP64") != 0)) {
        return response_fail(why, why_size, "the output's datatype is not FP32 or FP64");
    }
    fp64 = strcmp(dt, "FP64") == 0;
    GUARD(response_shape(json_object_get(o, "shape"), &steps, &classes, why, why_size));
    count = (size_t)steps * classes;
    if (bin != NULL) {
        if (json_object_get(o, "data") != NULL) {
            return response_fail(why, why_size,
                                 "the output has both data and parameters.binary_data_size");
        }
        if (bin_size != count * (fp64 ? 8 : 4)) {
            return response_fail(why, why_size,
                                 "the output's binary_data_size %zu is not %zu (its shape and "
                                 "datatype)",
                                 bin_size, count * (fp64 ? 8 : 4));
        }
    }
    values = malloc((count > 0 ? count : 1) * sizeof(float));
    ENSURE(values != NULL, VEIL_ERR_NOMEM);
    r = bin != NULL ? response_binary_values(bin, count, fp64, values, why, why_size)
                    : response_values(json_object_get(o, "data"), count, values, why, why_size);
    if (!veil_ok(r)) {
        free(values);
        return r;
    }
    out->data = values;
    out->steps = steps;
    out->classes = classes;
    return VEIL_RESULT_OK;
}

/* Finds the picked output's binary part among the binary parts that follow the JSON (in output
 * order, each parameters.binary_data_size bytes, together exactly rest bytes). */
static VEIL_RESULT response_locate(json_t *outputs, json_t *picked, const uint8_t *rest,
                                   size_t rest_size, const uint8_t **bin, size_t *bin_size,
                                   char *why, size_t why_size)
{
    size_t i;
    json_t *o;
    size_t at = 0;

    *bin = NULL;
    *bin_size = 0;
    json_array_foreach(outputs, i, o)
    {
        size_t n = 0;
        int k = response_binary_size(o, &n);

        if (k < 0) {
            return response_fail(why, why_size,
                                 "output %zu: parameters.binary_data_size is not an integer "
                                 "of 0 to 64 MiB",
                                 i);
        }
        if (k == 0) {
            continue;
        }
        if (n > rest_size - at) {
            return response_fail(why, why_size,
                                 "output %zu: its %zu binary bytes go past the end of the "
                                 "response (%zu bytes after the JSON)",
                                 i, n, rest_size);
        }
        if (o == picked) {
            *bin = rest + at;
            *bin_size = n;
        }
        at += n;
    }
    if (at != rest_size) {
        return response_fail(why, why_size,
                             "%zu bytes follow the JSON but its outputs declare %zu binary bytes",
                             rest_size, at);
    }
    return VEIL_RESULT_OK;
}

static bool json_space_only(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
            return false;
        }
    }
    return true;
}

VEIL_RESULT veil_ctc_response_parse_binary(const uint8_t *data, size_t size, size_t header_size,
                                           const char *name, struct veil_ctc_output *out, char *why,
                                           size_t why_size)
{
    static const char *const keys[] = {"model_name", "model_version", "id",
                                       "parameters", "outputs",       NULL};
    json_error_t jerr;
    json_t *top;
    json_t *o;
    const char *bad = NULL;
    const char *err;
    const uint8_t *bin = NULL;
    size_t bin_size = 0;
    veil_result r;

    ENSURE_REF(out);
    ENSURE(data != NULL || size == 0, VEIL_ERR_INTERNAL);
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (size > VEIL_CTC_RESPONSE_SIZE_MAX) {
        return response_fail(why, why_size, "the response is larger than 64 MiB");
    }
    if (header_size != VEIL_CTC_HEADER_FIND && header_size > size) {
        return response_fail(why, why_size,
                             "the header length %zu is past the end of the response (%zu bytes)",
                             header_size, size);
    }
    if (header_size == VEIL_CTC_HEADER_FIND) {
        /* the JSON ends where its top-level object closes; binary parts may follow */
        top = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
                         &jerr);
        header_size = top != NULL && jerr.position >= 0 && (size_t)jerr.position <= size
                          ? (size_t)jerr.position
                          : size;
    } else {
        top = json_loadb((const char *)data, header_size, JSON_REJECT_DUPLICATES, &jerr);
        if (top == NULL && header_size > 0 && header_size < size) {
            return response_fail(why, why_size,
                                 "the first %zu bytes (the header length) are not one JSON object",
                                 header_size);
        }
    }
    if (!json_is_object(top)) {
        json_decref(top);
        return response_fail(why, why_size, "the response is not a JSON object");
    }
    err = json_string_value(json_object_get(top, "error"));
    if (err != NULL) {
        /* veil-proxy adds which check failed and why */
        const char *reason = json_string_value(json_object_get(top, "reason"));

        r = response_fail(why, why_size, "the server answered an error: %.200s%s%.400s", err,
                          reason != NULL ? ": " : "", reason != NULL ? reason : "");
    } else if (!response_keys(top, keys, &bad)) {
        r = response_fail(why, why_size, "the response has an unknown key '%.64s'", bad);
    } else if (!json_is_array(json_object_get(top, "outputs"))) {
        r = response_fail(why, why_size, "the response has no outputs array");
    } else if ((o = response_pick(json_object_get(top, "outputs"), name, why, why_size)) == NULL) {
        r = veil_result_of(VEIL_ERR_TENSOR_RESPONSE);
    } else {
        const uint8_t *rest = data + header_size;
        size_t rest_size = size - header_size;

        /* a JSON-only response may end in white space */
        if (json_space_only(rest, rest_size)) {
            bool any = false;
            size_t i;
            json_t *e;
            size_t n;

            json_array_foreach(json_object_get(top, "outputs"), i, e)
            {
                any = any || response_binary_size(e, &n) != 0;
            }
            rest_size = any ? rest_size : 0;
        }
        r = response_locate(json_object_get(top, "outputs"), o, rest, rest_size, &bin, &bin_size,
                            why, why_size);
        if (veil_ok(r)) {
            r = response_output(o, bin, bin_size, out, why, why_size);
        }
    }
    json_decref(top);
    return r;
}

VEIL_RESULT veil_ctc_response_parse(const uint8_t *data, size_t size, const char *name,
                                    struct veil_ctc_output *out, char *why, size_t why_size)
{
    return veil_ctc_response_parse_binary(data, size, size, name, out, why, why_size);
}

void veil_ctc_output_free(struct veil_ctc_output *o)
{
    if (o == NULL) {
        return;
    }
    free(o->data);
    o->data = NULL;
    o->steps = 0;
    o->classes = 0;
}
