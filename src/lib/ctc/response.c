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

static VEIL_RESULT response_output(json_t *o, struct veil_ctc_output *out, char *why,
                                   size_t why_size)
{
    static const char *const keys[] = {"name", "datatype", "shape", "data", "parameters", NULL};
    const char *bad = NULL;
    const char *dt;
    uint32_t steps = 0;
    uint32_t classes = 0;
    float *values;
    veil_result r;

    if (!json_is_object(o) || !response_keys(o, keys, &bad)) {
        return response_fail(why, why_size, "the output is not an object of %s",
                             bad != NULL ? "known keys" : "keys");
    }
    dt = json_string_value(json_object_get(o, "datatype"));
    if (dt == NULL || (strcmp(dt, "FP32") != 0 && strcmp(dt, "FP64") != 0)) {
        return response_fail(why, why_size, "the output's datatype is not FP32 or FP64");
    }
    GUARD(response_shape(json_object_get(o, "shape"), &steps, &classes, why, why_size));
    values = malloc((size_t)steps * classes * sizeof(float));
    ENSURE(values != NULL, VEIL_ERR_NOMEM);
    r = response_values(json_object_get(o, "data"), (size_t)steps * classes, values, why, why_size);
    if (!veil_ok(r)) {
        free(values);
        return r;
    }
    out->data = values;
    out->steps = steps;
    out->classes = classes;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_ctc_response_parse(const uint8_t *data, size_t size, const char *name,
                                    struct veil_ctc_output *out, char *why, size_t why_size)
{
    static const char *const keys[] = {"model_name", "model_version", "id",
                                       "parameters", "outputs",       NULL};
    json_error_t jerr;
    json_t *top;
    json_t *o;
    const char *bad = NULL;
    const char *err;
    veil_result r;

    ENSURE_REF(out);
    ENSURE(data != NULL || size == 0, VEIL_ERR_INTERNAL);
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (size > VEIL_CTC_RESPONSE_SIZE_MAX) {
        return response_fail(why, why_size, "the response is larger than 64 MiB");
    }
    top = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
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
        r = response_output(o, out, why, why_size);
    }
    json_decref(top);
    return r;
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
