/*
 * The KServe v2 / Open Inference Protocol endpoints over HTTP/REST (docs/PROTOCOL.serve.md):
 * health, server and model metadata, readiness, inference (JSON and the binary tensor
 * extension), and GET /v2/attestation (fresh evidence binding the TLS key and a client nonce).
 * Errors are {"error": "..."} with 400 (the request), 404 (no such model or endpoint), 405
 * (method), 500 (the server).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "base/encoding.h"
#include "base/log.h"
#include "http/http.h"
#include "request_body.h"
#include "response.h"
#include "serve.h"
#include "tensor_json.h"
#include <veil/veil.h>

#define NONCE_SIZE_MIN 16
#define NONCE_SIZE_MAX 64

static void reply(struct serve *s, enum serve_endpoint ep, double t0, struct evhttp_request *req,
                  int status, const char *content_type, const void *body, size_t n)
{
    serve_count(s, ep, t0, status);
    veil_http_reply(req, status, content_type, body, n);
}

static void reply_error(struct serve *s, enum serve_endpoint ep, double t0,
                        struct evhttp_request *req, int status, const char *message)
{
    struct veil_wr w;
    char peer[64];

    veil_http_peer(req, peer, sizeof(peer));
    veil_log(status >= 500 ? VEIL_LOG_ERROR : VEIL_LOG_INFO, "peer=%s status=%d error=%s", peer,
             status, message);
    veil_wr_init(&w, 8192);
    if (veil_ok(serve_error_build(message, &w))) {
        reply(s, ep, t0, req, status, "application/json", w.data, w.len);
    } else {
        reply(s, ep, t0, req, 500, NULL, NULL, 0);
    }
    veil_wr_free(&w);
}

/* Replies with j (taking it) as compact JSON. */
static void reply_json(struct serve *s, enum serve_endpoint ep, double t0,
                       struct evhttp_request *req, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    if (text == NULL) {
        reply_error(s, ep, t0, req, 500, "out of memory");
    } else {
        reply(s, ep, t0, req, 200, "application/json", text, strlen(text));
    }
    free(text);
    json_decref(j);
}

static json_t *tensor_meta(const char *name, int32_t dtype, uint32_t rank, const int64_t *dims)
{
    const char *dt = serve_datatype_name(dtype);
    json_t *shape = json_array();

    for (uint32_t d = 0; d < rank && shape != NULL; d++) {
        (void)json_array_append_new(shape, json_integer(dims[d]));
    }
    return json_pack("{s:s, s:s, s:o*}", "name", name, "datatype",
                     dt != NULL ? dt : veil_dtype_name(dtype), "shape", shape);
}

static void model_metadata(struct serve *s, double t0, struct evhttp_request *req)
{
    struct veil_engine_model *m = s->model.engine;
    json_t *inputs = json_array();
    json_t *outputs = json_array();
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint32_t rank;
    int32_t dtype;

    for (size_t i = 0; i < veil_engine_input_count(m) && inputs != NULL; i++) {
        veil_engine_input_info(m, i, &dtype, &rank, dims);
        (void)json_array_append_new(inputs,
                                    tensor_meta(veil_engine_input_name(m, i), dtype, rank, dims));
    }
    for (size_t i = 0; i < veil_engine_output_count(m) && outputs != NULL; i++) {
        veil_engine_output_info(m, i, &dtype, &rank, dims);
        (void)json_array_append_new(outputs,
                                    tensor_meta(veil_engine_output_name(m, i), dtype, rank, dims));
    }
    reply_json(s, SERVE_EP_METADATA, t0, req,
               json_pack("{s:s, s:[s], s:s, s:s, s:o*, s:o*}", "name", s->model.name, "versions",
                         s->model.info.model_version, "platform", "onnx", "model_id",
                         s->model.id_hex, "inputs", inputs, "outputs", outputs));
}

/* Finds the request's tensor for each model input, checking datatype and declared shape. */
static bool bind_inputs(struct serve *s, struct serve_request *r, struct veil_tensor *in, char *why,
                        size_t why_size)
{
    struct veil_engine_model *m = s->model.engine;
    size_t count = veil_engine_input_count(m);
    size_t used = 0;

    for (size_t i = 0; i < count; i++) {
        const char *name = veil_engine_input_name(m, i);
        const struct serve_input *got = NULL;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        uint32_t rank;
        int32_t dtype;
        for (size_t k = 0; k < r->input_count; k++) {
            if (strcmp(r->inputs[k].name, name) == 0) {
                got = &r->inputs[k];
            }
        }
        if (got == NULL) {
            (void)snprintf(why, why_size, "input '%s' is missing", name);
            return false;
        }
        used++;
        veil_engine_input_info(m, i, &dtype, &rank, dims);
        if (dtype != 0 && dtype != got->tensor.dtype) {
            (void)snprintf(why, why_size, "input '%s': datatype %s, the model takes %s", name,
                           serve_datatype_name(got->tensor.dtype),
                           serve_datatype_name(dtype) != NULL ? serve_datatype_name(dtype)
                                                              : veil_dtype_name(dtype));
            return false;
        }
        if (rank > 0 && rank != got->tensor.rank) {
            (void)snprintf(why, why_size, "input '%s': rank %u, the model takes rank %u", name,
                           got->tensor.rank, rank);
            return false;
        }
        for (uint32_t d = 0; d < rank; d++) {
            if (dims[d] >= 0 && dims[d] != got->tensor.dims[d]) {
                (void)snprintf(why, why_size,
                               "input '%s': dimension %u is %lld, the model takes %lld", name, d,
                               (long long)got->tensor.dims[d], (long long)dims[d]);
                return false;
            }
        }
        veil_tensor_view(&got->tensor, &in[i]);
    }
    if (used != r->input_count) {
        (void)snprintf(why, why_size,
                       "the request has inputs the model does not take (it takes %zu)", count);
        return false;
    }
    return true;
}

/* The outputs to return: those asked for (by name), or all of them. */
static bool select_outputs(struct serve *s, const struct serve_request *r,
                           const struct veil_tensor *t, struct serve_output *outs, size_t *n,
                           char *why, size_t why_size)
{
    struct veil_engine_model *m = s->model.engine;
    size_t count = veil_engine_output_count(m);

    if (r->output_count == 0) {
        for (size_t i = 0; i < count && i < SERVE_TENSORS_MAX; i++) {
            outs[i] = (struct serve_output){veil_engine_output_name(m, i), &t[i], r->binary_output};
        }
        *n = count < SERVE_TENSORS_MAX ? count : SERVE_TENSORS_MAX;
        return true;
    }
    for (size_t k = 0; k < r->output_count; k++) {
        size_t i = 0;
        while (i < count && strcmp(veil_engine_output_name(m, i), r->outputs[k].name) != 0) {
            i++;
        }
        if (i == count) {
            (void)snprintf(why, why_size, "outputs[%zu]: the model has no output '%s'", k,
                           r->outputs[k].name);
            return false;
        }
        outs[k] = (struct serve_output){r->outputs[k].name, &t[i], r->outputs[k].binary};
    }
    *n = r->output_count;
    return true;
}

static int engine_status(int32_t code)
{
    switch (code) {
        case VEIL_ERR_ENGINE_SHAPE:
        case VEIL_ERR_ENGINE_INDEX:
        case VEIL_ERR_ENGINE_INPUT:
        case VEIL_ERR_ENGINE_LIMIT:
        case VEIL_ERR_ENGINE_UNSUPPORTED_TYPE:
            return 400;
        default:
            return 500;
    }
}

/* Sends the outputs, taking over the tensors t (t_count of them, calloc'd): the body refers to
 * them instead of copying them, and they are wiped and freed once sent (response.h). */
static void send_response(struct serve *s, double t0, double engine_s, struct evhttp_request *req,
                          const struct serve_request *r, const struct serve_output *outs, size_t n,
                          struct veil_tensor *t, size_t t_count)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    size_t json_len = 0;
    size_t bin_len = 0;
    char len[32];
    veil_result res;

    res = serve_response_evbuffer(s->model.name, s->model.info.model_version,
                                  r->has_id ? r->id : NULL, outs, n, t, t_count,
                                  s->response_size_max, b, &json_len);
    if (!veil_ok(res)) {
        reply_error(s, SERVE_EP_INFER, t0, req, res.code == VEIL_ERR_PROTO_LIMIT ? 400 : 500,
                    res.code == VEIL_ERR_PROTO_LIMIT ? "the response exceeds response_size_max"
                                                     : veil_strerror(res.code));
    } else {
        bin_len = evbuffer_get_length(b) - json_len;
        if (bin_len > 0) {
            (void)snprintf(len, sizeof(len), "%zu", json_len);
            (void)evhttp_add_header(h, "Inference-Header-Content-Length", len);
        }
        (void)evhttp_add_header(h, "Content-Type",
                                bin_len > 0 ? "application/octet-stream" : "application/json");
        (void)evhttp_add_header(h, "Cache-Control", "no-store");
        if (s->server_timing) { /* W3C Server Timing; milliseconds */
            char timing[64];
            (void)snprintf(timing, sizeof(timing), "engine;dur=%.3f", engine_s * 1000.0);
            (void)evhttp_add_header(h, "Server-Timing", timing);
        }
        serve_count(s, SERVE_EP_INFER, t0, 200);
        evhttp_send_reply(req, 200, NULL, b);
    }
    if (b != NULL) {
        evbuffer_free(b);
    }
}

/* Runs the request on er, the run begun for it (its binary inputs may be in its arena). */
static void run(struct serve *s, double t0, struct evhttp_request *req, struct serve_request *r,
                struct veil_engine_run *er)
{
    struct veil_engine_model *m = s->model.engine;
    size_t in_count = veil_engine_input_count(m);
    size_t out_count = veil_engine_output_count(m);
    struct veil_tensor *in = calloc(in_count + 1, sizeof(*in));
    struct veil_tensor *out = calloc(out_count + 1, sizeof(*out));
    struct serve_output outs[SERVE_TENSORS_MAX];
    struct veil_engine_diag diag = {{0}};
    char why[512] = "";
    size_t n = 0;
    double t1;
    double engine_s;
    veil_result res;

    if (in == NULL || out == NULL) {
        reply_error(s, SERVE_EP_INFER, t0, req, 500, "out of memory");
    } else if (!bind_inputs(s, r, in, why, sizeof(why))) {
        reply_error(s, SERVE_EP_INFER, t0, req, 400, why);
    } else {
        t1 = serve_now_s();
        res = veil_engine_run_exec(er, in, out, &diag);
        engine_s = serve_now_s() - t1;
        serve_count_infer(s, engine_s, veil_ok(res));
        if (!veil_ok(res)) {
            (void)snprintf(why, sizeof(why), "inference failed: %s%s%s", veil_strerror(res.code),
                           diag.what[0] != '\0' ? ": " : "", diag.what);
            reply_error(s, SERVE_EP_INFER, t0, req, engine_status(res.code), why);
        } else {
            if (select_outputs(s, r, out, outs, &n, why, sizeof(why))) {
                send_response(s, t0, engine_s, req, r, outs, n, out, out_count);
                out = NULL; /* taken over */
            } else {
                reply_error(s, SERVE_EP_INFER, t0, req, 400, why);
                for (size_t i = 0; i < out_count; i++) {
                    veil_tensor_free(&out[i]);
                }
            }
        }
    }
    free(in);
    free(out);
}

/* The room of a run's arena for the model inputs a request names (serve_room), each given once. */
struct input_room {
    struct veil_engine_model *m;
    struct veil_engine_run *run;
    uint64_t given; /* by model input index (the first 64) */
};

static bool give_input_room(void *ctx, const char *name, struct veil_tensor *t)
{
    struct input_room *ir = ctx;
    size_t n = veil_engine_input_count(ir->m);

    for (size_t i = 0; i < n && i < 64; i++) {
        if (strcmp(veil_engine_input_name(ir->m, i), name) != 0) {
            continue;
        }
        if ((ir->given & ((uint64_t)1 << i)) != 0 || !veil_engine_run_input_room(ir->run, i, t)) {
            return false;
        }
        ir->given |= (uint64_t)1 << i;
        return true;
    }
    return false;
}

static void infer(struct serve *s, double t0, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *hlen = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Inference-Header-Content-Length");
    struct serve_request *r;
    struct veil_engine_run *er = NULL;
    const uint8_t *body = NULL;
    size_t n = evbuffer_get_length(in);
    size_t json_size = 0;
    char why[512] = "";
    veil_result res;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_error(s, SERVE_EP_INFER, t0, req, 405, "inference takes POST");
        return;
    }
    if (n > s->body_size_max) {
        reply_error(s, SERVE_EP_INFER, t0, req, 413, "the request exceeds request_size_max");
        return;
    }
    if (!serve_header_length(hlen, n, &json_size)) {
        reply_error(s, SERVE_EP_INFER, t0, req, 400,
                    "Inference-Header-Content-Length: must be a decimal no larger than the body");
        return;
    }
    r = calloc(1, sizeof(*r));
    /* The run is begun before the body is parsed, so that a binary input the plan keeps room
     * for goes straight into the run's arena instead of a tensor beside it (PaddleOCR cls: 111
     * KB of its 1.3 MB) */
    if (r == NULL || !veil_ok(veil_engine_run_begin(s->model.engine, &er))) {
        free(r);
        reply_error(s, SERVE_EP_INFER, t0, req, 500, "out of memory");
        return;
    }
    if (hlen != NULL) {
        /* binary tensor extension: the JSON header is copied out, and each binary input moves
         * from the body's chains into the run's arena or its tensor (request_body.h): the body
         * is never made contiguous, and the input is never held twice (PaddleOCR det: 4.9 MB) */
        struct input_room ir = {s->model.engine, er, 0};
        struct serve_room room = {&ir, give_input_room};
        res = serve_request_parse_evbuffer(in, json_size, s->tensor_size_max,
                                           s->input_hand_back_min, &room, r, why, sizeof(why));
    } else if (!veil_ok(veil_http_body(req, s->body_size_max, &body, &n))) {
        res = veil_result_of(VEIL_ERR_NOMEM);
        (void)snprintf(why, sizeof(why), "out of memory");
    } else {
        /* JSON: jansson needs the text contiguous */
        res = serve_request_parse(body, n, NULL, 0, s->tensor_size_max, r, why, sizeof(why));
    }
    /* the request holds copies of everything now: what is left of the body goes before the
     * model runs, so that the input is not held twice while it does */
    (void)evbuffer_drain(in, evbuffer_get_length(in));
    body = NULL;
    if (!veil_ok(res)) {
        reply_error(s, SERVE_EP_INFER, t0, req,
                    res.code == VEIL_ERR_NOMEM || res.code == VEIL_ERR_INTERNAL ? 500 : 400,
                    why[0] != '\0' ? why : veil_strerror(res.code));
    } else {
        run(s, t0, req, r, er);
    }
    serve_request_free(r);
    free(r);
    veil_engine_run_end(er); /* after the request's tensors, which may point into its arena */
}

/* GET /v2/attestation?nonce=HEX: evidence whose report data binds the TLS key and the nonce. */
static void attestation(struct serve *s, double t0, struct evhttp_request *req)
{
    struct evkeyvalq q = {0};
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *nonce_hex = NULL;
    uint8_t nonce[NONCE_SIZE_MAX];
    uint8_t rd[64];
    char rd_hex[129];
    size_t n = 0;
    struct veil_wr ev;
    char *b64 = NULL;
    EVP_PKEY *key = s->tls_ctx != NULL ? SSL_CTX_get0_privatekey(s->tls_ctx) : NULL;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_error(s, SERVE_EP_ATTESTATION, t0, req, 405, "attestation takes GET");
        return;
    }
    if (query != NULL && evhttp_parse_query_str(query, &q) == 0) {
        nonce_hex = evhttp_find_header(&q, "nonce");
    }
    if (nonce_hex == NULL || strlen(nonce_hex) > 2 * NONCE_SIZE_MAX ||
        !veil_ok(veil_hex_decode(nonce_hex, strlen(nonce_hex), nonce, sizeof(nonce), &n)) ||
        n < NONCE_SIZE_MIN) {
        evhttp_clear_headers(&q);
        reply_error(s, SERVE_EP_ATTESTATION, t0, req, 400,
                    "nonce: give 16..64 bytes of hex (?nonce=...)");
        return;
    }
    evhttp_clear_headers(&q);
    if (key == NULL) {
        reply_error(s, SERVE_EP_ATTESTATION, t0, req, 409,
                    "no TLS key to bind: the server runs with insecure_http");
        return;
    }
    veil_wr_init(&ev, 1u << 16);
    if (!veil_ok(serve_report_data(key, nonce, n, rd)) ||
        !veil_ok(veil_sim_attest(&s->sim, &s->guest, rd, &ev)) ||
        (b64 = malloc(veil_b64_encoded_size(ev.len, VEIL_B64_STD) + 1)) == NULL ||
        !veil_ok(veil_b64_encode(ev.data, ev.len, VEIL_B64_STD, b64,
                                 veil_b64_encoded_size(ev.len, VEIL_B64_STD) + 1)) ||
        !veil_ok(veil_hex_encode(rd, sizeof(rd), rd_hex, sizeof(rd_hex)))) {
        reply_error(s, SERVE_EP_ATTESTATION, t0, req, 500, "cannot produce evidence");
    } else {
        reply_json(
            s, SERVE_EP_ATTESTATION, t0, req,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "tee", "sim", "evidence", b64, "report_data",
                      rd_hex, "model_id", s->model.id_hex, "model_name", s->model.name));
    }
    free(b64);
    veil_wr_free(&ev);
}

/* The part of path after "/v2/models/NAME[/versions/V]", or NULL if NAME (and V) are not ours. */
static const char *model_rest(struct serve *s, const char *p)
{
    size_t n = strlen(s->model.name);
    const char *v = s->model.info.model_version;

    if (strncmp(p, s->model.name, n) != 0 || (p[n] != '\0' && p[n] != '/')) {
        return NULL;
    }
    p += n;
    if (strncmp(p, "/versions/", 10) == 0) {
        p += 10;
        if (strncmp(p, v, strlen(v)) != 0 || (p[strlen(v)] != '\0' && p[strlen(v)] != '/')) {
            return NULL;
        }
        p += strlen(v);
    }
    return p;
}

static void models(struct serve *s, double t0, struct evhttp_request *req, const char *p)
{
    const char *rest = model_rest(s, p);
    bool get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

    if (rest == NULL) {
        reply_error(s, SERVE_EP_OTHER, t0, req, 404, "no such model (GET /v2 names the server)");
    } else if (strcmp(rest, "/infer") == 0) {
        infer(s, t0, req);
    } else if (!get) {
        reply_error(s, SERVE_EP_METADATA, t0, req, 405, "metadata and readiness take GET");
    } else if (rest[0] == '\0') {
        model_metadata(s, t0, req);
    } else if (strcmp(rest, "/ready") == 0) {
        reply_json(s, SERVE_EP_HEALTH, t0, req,
                   json_pack("{s:s, s:b}", "name", s->model.name, "ready", 1));
    } else {
        reply_error(s, SERVE_EP_OTHER, t0, req, 404, "no such endpoint");
    }
}

void serve_handle_v2(struct evhttp_request *req, void *ctx)
{
    struct serve *s = ctx;
    double t0 = serve_now_s();
    const char *path = veil_http_path(req);
    bool get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

    if (path == NULL) {
        reply_error(s, SERVE_EP_OTHER, t0, req, 400, "bad request line");
    } else if (strncmp(path, "/v2/models/", 11) == 0) {
        models(s, t0, req, path + 11);
    } else if (strcmp(path, "/v2/attestation") == 0) {
        attestation(s, t0, req);
    } else if (!get && (strcmp(path, "/v2") == 0 || strncmp(path, "/v2/health/", 11) == 0)) {
        reply_error(s, SERVE_EP_HEALTH, t0, req, 405, "health and metadata take GET");
    } else if (strcmp(path, "/v2") == 0) {
        reply_json(s, SERVE_EP_METADATA, t0, req,
                   json_pack("{s:s, s:s, s:[s,s]}", "name", "veil-serve", "version", veil_version(),
                             "extensions", "binary_tensor_data", "attestation"));
    } else if (strcmp(path, "/v2/health/live") == 0) {
        reply_json(s, SERVE_EP_HEALTH, t0, req, json_pack("{s:b}", "live", 1));
    } else if (strcmp(path, "/v2/health/ready") == 0) {
        reply_json(s, SERVE_EP_HEALTH, t0, req, json_pack("{s:b}", "ready", 1));
    } else {
        reply_error(s, SERVE_EP_OTHER, t0, req, 404, "no such endpoint");
    }
}
