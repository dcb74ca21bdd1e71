/* Forwarding one request: method, path and query, body and content type go upstream over
 * attested TLS; the upstream's status, content type and body come back. A server that fails
 * verification never receives a byte: the handshake fails first, and the client gets 502. */
#include <stdio.h>
#include <string.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "base/log.h"
#include "http/http.h"
#include "proxy.h"

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct veil_wr *w = ud;

    return veil_ok(veil_wr_bytes(w, p, size * n)) ? size * n : 0;
}

static void reply_json(struct evhttp_request *req, int status, const char *error, const char *check,
                       const char *reason)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "error", error, "check", check, "reason", reason);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    if (text != NULL) {
        veil_http_reply(req, status, "application/json", text, strlen(text));
    } else {
        veil_http_reply(req, 500, NULL, NULL, 0);
    }
    free(text);
    json_decref(j);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
        case EVHTTP_REQ_GET:
            return "GET";
        case EVHTTP_REQ_POST:
            return "POST";
        case EVHTTP_REQ_PUT:
            return "PUT";
        case EVHTTP_REQ_DELETE:
            return "DELETE";
        default:
            return NULL;
    }
}

/* Sets up the transfer for this request; false if something does not fit. */
static bool prepare(struct proxy *p, struct evhttp_request *req, const char *method,
                    const uint8_t *body, size_t n, struct curl_slist **h, struct veil_wr *answer)
{
    const char *uri = evhttp_request_get_uri(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    char url[PROXY_URL_SIZE_MAX];
    char header[512];
    int k;

    if (uri == NULL || uri[0] != '/') {
        return false;
    }
    k = snprintf(url, sizeof(url), "%.*s%s", (int)p->upstream_size, p->upstream, uri);
    if (k < 0 || (size_t)k >= sizeof(url)) {
        return false;
    }
    if (type != NULL) {
        k = snprintf(header, sizeof(header), "Content-Type: %s", type);
        if (k < 0 || (size_t)k >= sizeof(header) ||
            (*h = curl_slist_append(NULL, header)) == NULL) {
            return false;
        }
    }
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, *h);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, answer);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(p->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
        curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "POST") == 0 ? NULL : method);
    }
    return true;
}

void proxy_forward(struct evhttp_request *req, void *ctx)
{
    struct proxy *p = ctx;
    const char *method = method_name(evhttp_request_get_command(req));
    const uint8_t *body = NULL;
    size_t n = 0;
    struct curl_slist *h = NULL;
    struct veil_wr answer;
    const char *type = NULL;
    long status = 0;
    CURLcode cc;

    if (method == NULL) {
        reply_json(req, 405, "method not supported", "proxy", "GET, POST, PUT and DELETE only");
        return;
    }
    if (!veil_ok(veil_http_body(req, PROXY_BODY_SIZE_MAX, &body, &n))) {
        reply_json(req, 413, "request body too large", "proxy", "the body exceeds 64 MiB");
        return;
    }
    veil_wr_init(&answer, PROXY_BODY_SIZE_MAX);
    if (!prepare(p, req, method, body, n, &h, &answer)) {
        reply_json(req, 400, "request not forwardable", "proxy", "the URL or a header is too long");
        goto out;
    }
    veil_ratls_verifier_reset(&p->verifier);
    cc = curl_easy_perform(p->curl);
    if (cc != CURLE_OK) {
        if (p->verifier.failure[0] != '\0') {
            p->refused++;
            veil_log(VEIL_LOG_WARN, "upstream refused: %s", p->verifier.failure);
            reply_json(req, 502, "upstream refused by attested TLS verification",
                       p->verifier.decision.count > 0 ? "policy" : "attestation",
                       p->verifier.failure);
        } else {
            reply_json(req, 502, "upstream unreachable", "transport", curl_easy_strerror(cc));
        }
        goto out;
    }
    p->forwarded++;
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(p->curl, CURLINFO_CONTENT_TYPE, &type);
    veil_http_reply(req, (int)status, type, answer.data, answer.len);
out:
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    veil_wr_free(&answer);
}
