/* Fuzz target: KServe v2 inference requests (src/serve/tensor_json.c, src/serve/request_body.c).
 * The first byte picks where the JSON ends (as Inference-Header-Content-Length would); the rest is
 * binary data. A request that parses is written back as a response, which must be valid JSON.
 * The same body is parsed again out of an evbuffer, as veil-serve parses a binary request, in
 * chains whose sizes the first byte also picks, with room of the caller's given to some inputs
 * (as veil-serve gives the engine's arena): the outcome (code, sentence, tensors) must be the
 * contiguous parser's. */
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "request_body.h"
#include "tensor_json.h"
#include "veil_fuzz.h"

/* body as an evbuffer of chains of 1 + (k * seed) % 61 bytes, k = 1, 2, ... (each its own chain) */
static struct evbuffer *chained(const uint8_t *body, size_t n, uint8_t seed)
{
    struct evbuffer *b = evbuffer_new();
    size_t k = 1;

    VEIL_ASSERT(b != NULL);
    for (size_t at = 0; at < n; k++) {
        size_t piece = 1 + (k * seed) % 61;
        if (piece > n - at) {
            piece = n - at;
        }
        VEIL_ASSERT(evbuffer_add_reference(b, body + at, piece, NULL, NULL) == 0);
        at += piece;
    }
    return b;
}

/* Room from one buffer, given to the inputs whose name starts with an odd byte while it lasts. */
struct bump_room {
    uint8_t buf[1u << 16];
    size_t used;
};

static bool give_bump_room(void *ctx, const char *name, struct veil_tensor *t)
{
    struct bump_room *br = ctx;
    if ((name[0] & 1) == 0 || t->size > sizeof(br->buf) - br->used) {
        return false;
    }
    t->data = br->buf + br->used;
    t->borrowed = true;
    br->used += t->size;
    return true;
}

static void same_from_evbuffer(const uint8_t *data, size_t size, size_t json_size, veil_result want,
                               const char *want_why, const struct serve_request *want_req)
{
    static struct serve_request req;
    static struct bump_room br;
    struct serve_room room = {&br, give_bump_room};
    struct evbuffer *b = chained(data + 1, size - 1, data[0]);
    char why[256] = "";
    veil_result got;

    memset(&req, 0, sizeof(req));
    br.used = 0;
    got = serve_request_parse_evbuffer(b, json_size, 1u << 16, (size_t)(size & 1) << 12,
                                       (size & 2) != 0 ? &room : NULL, &req, why, sizeof(why));
    VEIL_ASSERT(got.code == want.code && strcmp(why, want_why) == 0);
    VEIL_ASSERT(evbuffer_get_length(b) <= size - 1 - json_size);
    if (veil_ok(got)) {
        VEIL_ASSERT(evbuffer_get_length(b) == 0 && req.input_count == want_req->input_count);
        for (size_t i = 0; i < req.input_count; i++) {
            const struct veil_tensor *t = &req.inputs[i].tensor;
            VEIL_ASSERT(t->size == want_req->inputs[i].tensor.size);
            VEIL_ASSERT(t->size == 0 ||
                        memcmp(t->data, want_req->inputs[i].tensor.data, t->size) == 0);
        }
    }
    serve_request_free(&req);
    evbuffer_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct serve_request req;
    struct serve_output outs[SERVE_TENSORS_MAX];
    struct veil_wr json;
    struct veil_wr bin;
    char why[256] = "";
    size_t json_size;
    veil_result res;

    if (size < 1 || size > (1u << 20)) {
        return 0;
    }
    /* byte 0: 0 = everything is JSON; else the binary part is the last byte-0 bytes */
    json_size = size - 1 - (data[0] <= size - 1 ? data[0] : 0);
    memset(&req, 0, sizeof(req));
    res = serve_request_parse(data + 1, json_size, data + 1 + json_size, size - 1 - json_size,
                              1u << 16, &req, why, sizeof(why));
    if (veil_ok(res)) {
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
    same_from_evbuffer(data, size, json_size, res, why, &req);
    serve_request_free(&req);
    return 0;
}
