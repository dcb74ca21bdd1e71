/*
 * KServe v2 (Open Inference Protocol) inference requests and responses <-> engine tensors.
 * No libevent here, so that the parser is unit-tested and fuzzed on its own
 * (tests/unit/serve/test_tensor_json.c, tests/fuzz/fuzz_kserve_request.c).
 *
 * A request is JSON, optionally followed by binary tensor data (the binary tensor extension:
 * the HTTP header Inference-Header-Content-Length gives the JSON's size, each binary input has
 * parameters.binary_data_size, and the binary parts follow in input order). Everything is
 * bounded: body size by the caller, tensors per request, names, rank, element count, bytes.
 * Closed objects (the request, an input, a requested output) reject unknown keys; the open
 * "parameters" objects have the keys we understand type-checked and the others ignored.
 */
#ifndef VEIL_SERVE_TENSOR_JSON_H
#define VEIL_SERVE_TENSOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/result.h"
#include "engine/engine.h"

#define SERVE_TENSORS_MAX     64                /* inputs or outputs in one request */
#define SERVE_NAME_SIZE_MAX   256               /* tensor names and request ids, with NUL */
#define SERVE_TENSOR_SIZE_MAX ((size_t)1 << 30) /* bytes of one tensor */

struct serve_input {
    char name[SERVE_NAME_SIZE_MAX];
    struct veil_tensor tensor; /* owned */
};

struct serve_output_req {
    char name[SERVE_NAME_SIZE_MAX];
    bool binary; /* parameters.binary_data */
};

struct serve_request {
    char id[SERVE_NAME_SIZE_MAX];
    bool has_id;
    bool binary_output; /* parameters.binary_data_output: every output in binary */
    size_t input_count;
    struct serve_input inputs[SERVE_TENSORS_MAX];
    size_t output_count; /* 0: every model output, as JSON unless binary_output */
    struct serve_output_req outputs[SERVE_TENSORS_MAX];
};

/* KServe datatype names <-> ONNX dtypes; NULL / 0 for what the server does not carry. */
const char *serve_datatype_name(int32_t dtype);
int32_t serve_datatype_of(const char *name);

/* Parses a request: json (json_size bytes) then bin (bin_size bytes of binary tensor data; 0 if
 * the request has none). tensor_size_max caps each tensor. req must be zeroed by the caller and
 * freed with serve_request_free whatever this returns. On failure why holds a sentence for the
 * client ("inputs[0].shape: 6 elements, data has 5"), and the code is VEIL_ERR_SERVE_REQUEST,
 * VEIL_ERR_SERVE_DATATYPE or VEIL_ERR_PROTO_LIMIT. */
VEIL_RESULT serve_request_parse(const uint8_t *json, size_t json_size, const uint8_t *bin,
                                size_t bin_size, size_t tensor_size_max, struct serve_request *req,
                                char *why, size_t why_size);

/* Where a request's binary tensor data comes from, read once, in input order: a contiguous
 * buffer (serve_request_parse) or the HTTP body's evbuffer (request_body.h), whose bytes are
 * then moved straight into each input tensor. */
struct serve_bin_source {
    void *ctx;
    size_t (*left)(void *ctx); /* bytes not taken yet */
    /* Moves the next n bytes (n <= left) into dst (NULL when n is 0); false on failure. */
    bool (*take)(void *ctx, void *dst, size_t n);
    const struct serve_room *room; /* optional */
};

/* Room the caller keeps for a binary input's bytes (veil-serve: the engine run's arena, so that
 * the input is not held beside it). give points t (the input named name, its type and shape set,
 * no data) at such room (t->borrowed) and returns true, or returns false: then t is allocated. */
struct serve_room {
    void *ctx;
    bool (*give)(void *ctx, const char *name, struct veil_tensor *t);
};

/* serve_request_parse with the binary data from bin. json is only read before bin's first
 * call (the JSON is parsed first). */
VEIL_RESULT serve_request_parse_from(const uint8_t *json, size_t json_size,
                                     const struct serve_bin_source *bin, size_t tensor_size_max,
                                     struct serve_request *req, char *why, size_t why_size);
void serve_request_free(struct serve_request *req);

/* One output of a response. */
struct serve_output {
    const char *name;
    const struct veil_tensor *tensor;
    bool binary;
};

/* Writes the response JSON into json and the binary parts (if any) into bin, both capped by
 * their writers' max (VEIL_ERR_PROTO_LIMIT beyond). id may be NULL. bin NULL: the JSON only (the
 * caller sends each binary output's tensor data after it, in order: response.h). */
VEIL_RESULT serve_response_build(const char *model_name, const char *model_version, const char *id,
                                 const struct serve_output *outs, size_t count,
                                 struct veil_wr *json, struct veil_wr *bin);

/* {"error": "..."} */
VEIL_RESULT serve_error_build(const char *message, struct veil_wr *w);

#endif
