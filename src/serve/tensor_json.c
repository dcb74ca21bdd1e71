/* KServe v2 inference requests and responses <-> engine tensors (tensor_json.h). */
#include "tensor_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

struct datatype {
    const char *name;
    int32_t dtype;
    int64_t min; /* integer types: the range a JSON value must fall in */
    int64_t max;
};

static const struct datatype datatypes[] = {
    {"BOOL", VEIL_DT_BOOL, 0, 1},
    {"UINT8", VEIL_DT_UINT8, 0, UINT8_MAX},
    {"UINT16", VEIL_DT_UINT16, 0, UINT16_MAX},
    {"UINT32", VEIL_DT_UINT32, 0, UINT32_MAX},
    {"UINT64", VEIL_DT_UINT64, 0, INT64_MAX}, /* JSON integers are signed 64-bit here */
    {"INT8", VEIL_DT_INT8, INT8_MIN, INT8_MAX},
    {"INT16", VEIL_DT_INT16, INT16_MIN, INT16_MAX},
    {"INT32", VEIL_DT_INT32, INT32_MIN, INT32_MAX},
    {"INT64", VEIL_DT_INT64, INT64_MIN, INT64_MAX},
    {"FP16", VEIL_DT_FLOAT16, 0, 0},
    {"FP32", VEIL_DT_FLOAT, 0, 0},
    {"FP64", VEIL_DT_DOUBLE, 0, 0},
};

#define DATATYPE_COUNT (sizeof(datatypes) / sizeof(datatypes[0]))

static const struct datatype *datatype_find(int32_t dtype)
{
    for (size_t i = 0; i < DATATYPE_COUNT; i++) {
        if (datatypes[i].dtype == dtype) {
            return &datatypes[i];
        }
    }
    return NULL;
}

const char *serve_datatype_name(int32_t dtype)
{
    const struct datatype *d = datatype_find(dtype);

    return d != NULL ? d->name : NULL;
}

int32_t serve_datatype_of(const char *name)
{
    for (size_t i = 0; i < DATATYPE_COUNT; i++) {
        if (strcmp(datatypes[i].name, name) == 0) {
            return datatypes[i].dtype;
        }
    }
    return 0;
}

/* Sets why and returns code. */
__attribute__((format(printf, 4, 5))) static veil_result refuse(int32_t code, char *why,
                                                                size_t why_size, const char *fmt,
                                                                ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(why, why_size, fmt, ap) < 0 && why_size > 0) {
        why[0] = '\0';
    }
    va_end(ap);
    return veil_result_of(code);
}

#define REFUSE(...) return refuse(VEIL_ERR_SERVE_REQUEST, why, why_size, __VA_ARGS__)

/* Copies a JSON string member into out (bounded, no NUL inside). */
static veil_result take_string(json_t *v, const char *what, char *out, size_t size, char *why,
                               size_t why_size)
{
    size_t n;

    if (!json_is_string(v)) {
        REFUSE("%s: must be a string", what);
    }
    n = json_string_length(v);
    if (n == 0 || n >= size || memchr(json_string_value(v), '\0', n) != NULL) {
        REFUSE("%s: must be 1..%zu bytes without NUL", what, size - 1);
    }
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    return VEIL_RESULT_OK;
}

/* Sets element i of t from a JSON scalar, checking its type and range against the datatype. */
static veil_result set_element(struct veil_tensor *t, const struct datatype *d, size_t i, json_t *v,
                               const char *what, char *why, size_t why_size)
{
    if (d->dtype == VEIL_DT_BOOL) {
        if (!json_is_boolean(v)) {
            REFUSE("%s: BOOL data must be true or false", what);
        }
        veil_tensor_set_i64(t, i, json_is_true(v) ? 1 : 0);
    } else if (veil_dtype_is_float(d->dtype)) {
        double x;
        double lim = d->dtype == VEIL_DT_FLOAT16 ? 65504.0
                     : d->dtype == VEIL_DT_FLOAT ? (double)FLT_MAX
                                                 : DBL_MAX;
        if (!json_is_number(v)) {
            REFUSE("%s: %s data must be numbers", what, d->name);
        }
        x = json_number_value(v);
        if (!isfinite(x) || fabs(x) > lim) {
            REFUSE("%s: %g is outside the range of %s", what, x, d->name);
        }
        veil_tensor_set_f64(t, i, x);
    } else {
        json_int_t x;
        if (!json_is_integer(v)) {
            REFUSE("%s: %s data must be integers", what, d->name);
        }
        x = json_integer_value(v);
        if (x < d->min || x > d->max) {
            REFUSE("%s: %lld is outside the range of %s", what, (long long)x, d->name);
        }
        veil_tensor_set_i64(t, i, (int64_t)x);
    }
    return VEIL_RESULT_OK;
}

/* Walks data (a flat or nested array, row-major) into t; *at counts elements set. */
static veil_result fill(struct veil_tensor *t, const struct datatype *d, json_t *v, unsigned depth,
                        size_t *at, const char *what, char *why, size_t why_size)
{
    size_t i;
    json_t *e;

    if (!json_is_array(v)) {
        if (*at >= t->count) {
            REFUSE("%s: more data than the shape holds (%zu elements)", what, t->count);
        }
        GUARD(set_element(t, d, *at, v, what, why, why_size));
        (*at)++;
        return VEIL_RESULT_OK;
    }
    if (depth > VEIL_ENGINE_RANK_MAX) {
        REFUSE("%s: arrays nested deeper than the largest rank (%d)", what, VEIL_ENGINE_RANK_MAX);
    }
    json_array_foreach(v, i, e)
    {
        GUARD(fill(t, d, e, depth + 1, at, what, why, why_size));
    }
    return VEIL_RESULT_OK;
}

static veil_result parse_shape(json_t *v, const char *what, int64_t *dims, uint32_t *rank,
                               char *why, size_t why_size)
{
    size_t i;
    json_t *e;

    if (!json_is_array(v)) {
        REFUSE("%s: must be an array of integers", what);
    }
    if (json_array_size(v) > VEIL_ENGINE_RANK_MAX) {
        REFUSE("%s: rank %zu exceeds %d", what, json_array_size(v), VEIL_ENGINE_RANK_MAX);
    }
    json_array_foreach(v, i, e)
    {
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) > (json_int_t)SERVE_TENSOR_SIZE_MAX) {
            REFUSE("%s[%zu]: must be an integer 0..%zu", what, i, SERVE_TENSOR_SIZE_MAX);
        }
        dims[i] = (int64_t)json_integer_value(e);
    }
    *rank = (uint32_t)json_array_size(v);
    return VEIL_RESULT_OK;
}

/* parameters of an input: binary_data_size (integer >= 0) is understood; others are ignored. */
static veil_result input_binary_size(json_t *params, const char *what, bool *binary, size_t *size,
                                     char *why, size_t why_size)
{
    json_t *b;

    *binary = false;
    if (params == NULL) {
        return VEIL_RESULT_OK;
    }
    if (!json_is_object(params)) {
        REFUSE("%s.parameters: must be an object", what);
    }
    b = json_object_get(params, "binary_data_size");
    if (b == NULL) {
        return VEIL_RESULT_OK;
    }
    if (!json_is_integer(b) || json_integer_value(b) < 0) {
        REFUSE("%s.parameters.binary_data_size: must be an integer >= 0", what);
    }
    *binary = true;
    *size = (size_t)json_integer_value(b);
    return VEIL_RESULT_OK;
}

static veil_result parse_input(json_t *in, size_t index, const struct serve_bin_source *bin,
                               size_t tensor_size_max, struct serve_input *out, char *why,
                               size_t why_size)
{
    char what[64];
    const char *key;
    json_t *v;
    json_t *data = NULL;
    json_t *shape = NULL;
    json_t *dt = NULL;
    json_t *params = NULL;
    const struct datatype *d;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t rank = 0;
    bool binary = false;
    size_t bin_size = 0;
    size_t at = 0;

    (void)snprintf(what, sizeof(what), "inputs[%zu]", index);
    if (!json_is_object(in)) {
        REFUSE("%s: must be an object", what);
    }
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "name") == 0) {
            GUARD(take_string(v, "inputs[].name", out->name, sizeof(out->name), why, why_size));
        } else if (strcmp(key, "shape") == 0) {
            shape = v;
        } else if (strcmp(key, "datatype") == 0) {
            dt = v;
        } else if (strcmp(key, "data") == 0) {
            data = v;
        } else if (strcmp(key, "parameters") == 0) {
            params = v;
        } else {
            REFUSE("%s: unknown key '%.64s' (name, shape, datatype, parameters, data)", what, key);
        }
    }
    if (out->name[0] == '\0' || shape == NULL || dt == NULL) {
        REFUSE("%s: name, shape and datatype are required", what);
    }
    if (!json_is_string(dt)) {
        REFUSE("%s.datatype: must be a string", what);
    }
    d = datatype_find(serve_datatype_of(json_string_value(dt)));
    if (d == NULL) {
        return refuse(VEIL_ERR_SERVE_DATATYPE, why, why_size,
                      "%s.datatype: '%.32s' is not supported (BOOL, UINT8..UINT64, INT8..INT64, "
                      "FP16, FP32, FP64)",
                      what, json_string_value(dt));
    }
    GUARD(parse_shape(shape, "inputs[].shape", dims, &rank, why, why_size));
    if (!veil_ok(veil_tensor_shape(&out->tensor, d->dtype, rank, dims)) ||
        out->tensor.size > tensor_size_max) {
        return refuse(VEIL_ERR_PROTO_LIMIT, why, why_size, "%s.shape: more than %zu bytes", what,
                      tensor_size_max);
    }
    GUARD(input_binary_size(params, what, &binary, &bin_size, why, why_size));
    if (binary == (data != NULL)) {
        REFUSE("%s: give either data or parameters.binary_data_size", what);
    }
    if (binary && bin_size != out->tensor.size) {
        REFUSE("%s: binary_data_size %zu, the shape and datatype make %zu bytes", what, bin_size,
               out->tensor.size);
    }
    if (binary) {
        /* Not zeroed (veil_tensor_alloc_uninit): take writes every byte, or the request is refused.
         * Zeroing 217 KB (PaddleOCR rec) that the engine's working set had pushed out of the cache
         * cost 21 us per request, the copy into lines already fetched 5 us; without it the
         * copy fetches them itself, 20 us: 4 us saved (docs/PROTOCOL.serve.md, Performance).
         * A body too short for the size is refused before anything is allocated for it. */
        if (bin_size > bin->left(bin->ctx)) {
            REFUSE("%s: the binary data ends before binary_data_size bytes", what);
        }
        if ((bin->room == NULL || !bin->room->give(bin->room->ctx, out->name, &out->tensor)) &&
            !veil_ok(veil_tensor_alloc_uninit(&out->tensor))) {
            return refuse(VEIL_ERR_NOMEM, why, why_size, "out of memory");
        }
        if (!bin->take(bin->ctx, out->tensor.data, bin_size)) {
            REFUSE("%s: the binary data ends before binary_data_size bytes", what);
        }
        if (d->dtype == VEIL_DT_BOOL) {
            const uint8_t *p = out->tensor.data;
            for (size_t i = 0; i < bin_size; i++) {
                if (p[i] > 1) {
                    REFUSE("%s: BOOL bytes must be 0 or 1", what);
                }
            }
        }
        return VEIL_RESULT_OK;
    }
    GUARD(veil_tensor_alloc(&out->tensor));
    GUARD(fill(&out->tensor, d, data, 0, &at, what, why, why_size));
    if (at != out->tensor.count) {
        REFUSE("%s: the shape holds %zu elements, data has %zu", what, out->tensor.count, at);
    }
    return VEIL_RESULT_OK;
}

/* parameters.binary_data (bool) of a requested output or binary_data_output of the request. */
static veil_result param_bool(json_t *params, const char *name, const char *what, bool *out,
                              char *why, size_t why_size)
{
    json_t *b;

    if (params == NULL) {
        return VEIL_RESULT_OK;
    }
    if (!json_is_object(params)) {
        REFUSE("%s.parameters: must be an object", what);
    }
    b = json_object_get(params, name);
    if (b != NULL && !json_is_boolean(b)) {
        REFUSE("%s.parameters.%s: must be true or false", what, name);
    }
    if (b != NULL) {
        *out = json_is_true(b);
    }
    if (json_object_get(params, "classification") != NULL) {
        REFUSE("%s.parameters.classification: the classification extension is not supported", what);
    }
    return VEIL_RESULT_OK;
}

static veil_result parse_output(json_t *o, size_t index, struct serve_output_req *out, char *why,
                                size_t why_size)
{
    char what[64];
    const char *key;
    json_t *v;

    (void)snprintf(what, sizeof(what), "outputs[%zu]", index);
    if (!json_is_object(o)) {
        REFUSE("%s: must be an object", what);
    }
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "name") == 0) {
            GUARD(take_string(v, "outputs[].name", out->name, sizeof(out->name), why, why_size));
        } else if (strcmp(key, "parameters") == 0) {
            GUARD(param_bool(v, "binary_data", what, &out->binary, why, why_size));
        } else {
            REFUSE("%s: unknown key '%.64s' (name, parameters)", what, key);
        }
    }
    if (out->name[0] == '\0') {
        REFUSE("%s: name is required", what);
    }
    return VEIL_RESULT_OK;
}

static veil_result parse_arrays(json_t *inputs, json_t *outputs, const struct serve_bin_source *bin,
                                size_t tensor_size_max, struct serve_request *req, char *why,
                                size_t why_size)
{
    size_t i;
    json_t *e;

    if (!json_is_array(inputs) || json_array_size(inputs) == 0 ||
        json_array_size(inputs) > SERVE_TENSORS_MAX) {
        REFUSE("inputs: must be an array of 1..%d tensors", SERVE_TENSORS_MAX);
    }
    json_array_foreach(inputs, i, e)
    {
        req->input_count = i + 1;
        GUARD(parse_input(e, i, bin, tensor_size_max, &req->inputs[i], why, why_size));
        for (size_t k = 0; k < i; k++) {
            if (strcmp(req->inputs[k].name, req->inputs[i].name) == 0) {
                REFUSE("inputs[%zu]: '%s' is given twice", i, req->inputs[i].name);
            }
        }
    }
    if (bin->left(bin->ctx) != 0) {
        REFUSE("the binary data is longer than the inputs' binary_data_size");
    }
    if (outputs == NULL) {
        return VEIL_RESULT_OK;
    }
    if (!json_is_array(outputs) || json_array_size(outputs) > SERVE_TENSORS_MAX) {
        REFUSE("outputs: must be an array of at most %d outputs", SERVE_TENSORS_MAX);
    }
    json_array_foreach(outputs, i, e)
    {
        req->output_count = i + 1;
        req->outputs[i].binary = req->binary_output;
        GUARD(parse_output(e, i, &req->outputs[i], why, why_size));
        for (size_t k = 0; k < i; k++) {
            if (strcmp(req->outputs[k].name, req->outputs[i].name) == 0) {
                REFUSE("outputs[%zu]: '%s' is asked for twice", i, req->outputs[i].name);
            }
        }
    }
    return VEIL_RESULT_OK;
}

static veil_result parse_root(json_t *root, const struct serve_bin_source *bin,
                              size_t tensor_size_max, struct serve_request *req, char *why,
                              size_t why_size)
{
    const char *key;
    json_t *v;
    json_t *inputs = NULL;
    json_t *outputs = NULL;

    if (!json_is_object(root)) {
        REFUSE("the request must be a JSON object");
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "id") == 0) {
            GUARD(take_string(v, "id", req->id, sizeof(req->id), why, why_size));
            req->has_id = true;
        } else if (strcmp(key, "parameters") == 0) {
            GUARD(
                param_bool(v, "binary_data_output", "request", &req->binary_output, why, why_size));
        } else if (strcmp(key, "inputs") == 0) {
            inputs = v;
        } else if (strcmp(key, "outputs") == 0) {
            outputs = v;
        } else {
            REFUSE("unknown key '%.64s' (id, parameters, inputs, outputs)", key);
        }
    }
    if (inputs == NULL) {
        REFUSE("inputs: required");
    }
    return parse_arrays(inputs, outputs, bin, tensor_size_max, req, why, why_size);
}

veil_result serve_request_parse_from(const uint8_t *json, size_t json_size,
                                     const struct serve_bin_source *bin, size_t tensor_size_max,
                                     struct serve_request *req, char *why, size_t why_size)
{
    json_error_t err;
    json_t *root;
    veil_result r;

    VEIL_ASSERT(json != NULL || json_size == 0);
    root = json_loadb((const char *)json, json_size, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        REFUSE("not JSON: %s (line %d, column %d)", err.text, err.line, err.column);
    }
    r = parse_root(root, bin, tensor_size_max, req, why, why_size);
    json_decref(root);
    return r;
}

static size_t rd_left(void *ctx)
{
    return veil_rd_left(ctx);
}

static bool rd_take(void *ctx, void *dst, size_t n)
{
    return veil_ok(veil_rd_bytes(ctx, dst, n));
}

veil_result serve_request_parse(const uint8_t *json, size_t json_size, const uint8_t *bin,
                                size_t bin_size, size_t tensor_size_max, struct serve_request *req,
                                char *why, size_t why_size)
{
    struct veil_rd rd = {bin, bin_size, 0};
    struct serve_bin_source src = {&rd, rd_left, rd_take, NULL};

    return serve_request_parse_from(json, json_size, &src, tensor_size_max, req, why, why_size);
}

void serve_request_free(struct serve_request *req)
{
    for (size_t i = 0; i < req->input_count && i < SERVE_TENSORS_MAX; i++) {
        veil_tensor_free(&req->inputs[i].tensor);
    }
    req->input_count = 0;
}

/* Response writing. */

static veil_result wr_str(struct veil_wr *w, const char *s)
{
    return veil_wr_bytes(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static veil_result wr_fmt(struct veil_wr *w, const char *fmt,
                                                                ...)
{
    char buf[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ENSURE(n >= 0 && (size_t)n < sizeof(buf), VEIL_ERR_INTERNAL);
    return veil_wr_bytes(w, buf, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped. */
static veil_result wr_json_string(struct veil_wr *w, const char *s)
{
    GUARD(veil_wr_u8(w, '"'));
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            GUARD(veil_wr_u8(w, '\\'));
            GUARD(veil_wr_u8(w, *p));
        } else if (*p < 0x20) {
            GUARD(wr_fmt(w, "\\u%04x", *p));
        } else {
            GUARD(veil_wr_u8(w, *p));
        }
    }
    return veil_wr_u8(w, '"');
}

static veil_result wr_element(struct veil_wr *w, const struct veil_tensor *t, size_t i)
{
    if (t->dtype == VEIL_DT_BOOL) {
        return wr_str(w, veil_tensor_get_i64(t, i) != 0 ? "true" : "false");
    }
    if (veil_dtype_is_float(t->dtype)) {
        double x = veil_tensor_get_f64(t, i);
        if (!isfinite(x)) {
            return wr_str(w, "null"); /* JSON has no NaN or infinity: ask for binary output */
        }
        return wr_fmt(w, t->dtype == VEIL_DT_DOUBLE ? "%.17g" : "%.9g", x);
    }
    if (t->dtype == VEIL_DT_UINT64) {
        return wr_fmt(w, "%llu", (unsigned long long)(uint64_t)veil_tensor_get_i64(t, i));
    }
    return wr_fmt(w, "%lld", (long long)veil_tensor_get_i64(t, i));
}

static veil_result wr_output(struct veil_wr *w, struct veil_wr *bin, const struct serve_output *o)
{
    const struct veil_tensor *t = o->tensor;
    const char *dt = serve_datatype_name(t->dtype);

    ENSURE(dt != NULL, VEIL_ERR_SERVE_DATATYPE);
    GUARD(wr_str(w, "{\"name\":"));
    GUARD(wr_json_string(w, o->name));
    GUARD(wr_str(w, ",\"datatype\":\""));
    GUARD(wr_str(w, dt));
    GUARD(wr_str(w, "\",\"shape\":["));
    for (uint32_t d = 0; d < t->rank; d++) {
        GUARD(wr_fmt(w, d > 0 ? ",%lld" : "%lld", (long long)t->dims[d]));
    }
    if (o->binary) {
        GUARD(wr_fmt(w, "],\"parameters\":{\"binary_data_size\":%zu}}", t->size));
        return bin != NULL ? veil_wr_bytes(bin, t->data, t->size) : VEIL_RESULT_OK;
    }
    GUARD(wr_str(w, "],\"data\":["));
    for (size_t i = 0; i < t->count; i++) {
        if (i > 0) {
            GUARD(veil_wr_u8(w, ','));
        }
        GUARD(wr_element(w, t, i));
    }
    return wr_str(w, "]}");
}

veil_result serve_response_build(const char *model_name, const char *model_version, const char *id,
                                 const struct serve_output *outs, size_t count,
                                 struct veil_wr *json, struct veil_wr *bin)
{
    GUARD(wr_str(json, "{\"model_name\":"));
    GUARD(wr_json_string(json, model_name));
    if (model_version != NULL) {
        GUARD(wr_str(json, ",\"model_version\":"));
        GUARD(wr_json_string(json, model_version));
    }
    if (id != NULL) {
        GUARD(wr_str(json, ",\"id\":"));
        GUARD(wr_json_string(json, id));
    }
    GUARD(wr_str(json, ",\"outputs\":["));
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            GUARD(veil_wr_u8(json, ','));
        }
        GUARD(wr_output(json, bin, &outs[i]));
    }
    return wr_str(json, "]}");
}

veil_result serve_error_build(const char *message, struct veil_wr *w)
{
    GUARD(wr_str(w, "{\"error\":"));
    GUARD(wr_json_string(w, message));
    return veil_wr_u8(w, '}');
}
