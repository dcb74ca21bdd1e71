/* Fuzz target: KServe v2 inference requests (src/serve/tensor_json.c). The first byte picks
 * where the JSON ends (as Inference-Header-Content-Length would); the rest is binary data. A
 * request that parses is written back as a response, which must be valid JSON. */
#include <string.h>

#include <jansson.h>

#include "tensor_json.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct serve_request req;
    struct serve_output outs[SERVE_TENSORS_MAX];
    struct veil_wr json;
    struct veil_wr bin;
    char why[256];
    size_t json_size;

    if (size < 1 || size > (1u << 20)) {
        return 0;
    }
    /* byte 0: 0 = everything is JSON; else the binary part is the last byte-0 bytes */
    json_size = size - 1 - (data[0] <= size - 1 ? data[0] : 0);
    memset(&req, 0, sizeof(req));
    if (veil_ok(serve_request_parse(data + 1, json_size, data + 1 + json_size, size - 1 - json_size,
                                    1u << 16, &req, why, sizeof(why)))) {
        VEIL_ASSERT(req.input_count >= 1 && req.input_count <= SERVE_TENSORS_MAX);
        for (size_t i = 0; i < req.input_count; i++) {
            outs[i] = (struct serve_output){req.inputs[i].name, &req.inputs[i].tensor, i % 2 == 1};
        }
        veil_wr_init(&json, 1u << 24);
        veil_wr_init(&bin, 1u << 24);
        if (veil_ok(serve_response_build("m", "1", req.has_id ? req.id : NULL, outs,
                                         req.input_count, &json, &bin))) {
            json_t *j = json_loadb((const char *)json.data, json.len, JSON_REJECT_DUPLICATES, NULL);
            VEIL_ASSERT(j != NULL);
            json_decref(j);
        }
        veil_wr_free(&json);
        veil_wr_free(&bin);
    }
    serve_request_free(&req);
    return 0;
}
