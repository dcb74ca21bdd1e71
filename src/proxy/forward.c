/* Forwarding one request: method, path and query, body, content type and the KServe v2 binary
 * tensor extension's Inference-Header-Content-Length go upstream over attested TLS; the
 * upstream's status, content type, Inference-Header-Content-Length and body come back. A server
 * that fails verification never receives a byte: the handshake fails first, and the client gets
 * 502. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* A decimal of 1 to 19 digits (what Inference-Header-Content-Length may carry). */
static bool header_decimal(const char *s, size_t n)
{
    if (n == 0 || n >= PROXY_DECIMAL_SIZE) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* curl's header callback: keeps the upstream's Inference-Header-Content-Length (the last
 * response's, when there are several, as with 100 Continue). */
static size_t collect_header(char *p, size_t size, size_t n, void *ud)
{
    static const char name[] = "Inference-Header-Content-Length:";
    char *ihcl = ud;
    size_t len = size * n;
    size_t i = sizeof(name) - 1;
    size_t end;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        ihcl[0] = '\0'; /* a new response starts */
        return len;
    }
    if (len < i || strncasecmp(p, name, i) != 0) {
        return len;
    }
    while (i < len && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    end = i;
    while (end < len && p[end] >= '0' && p[end] <= '9') {
        end++;
    }
    for (size_t k = end; k < len; k++) {
        if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r' && p[k] != '\n') {
            return len; /* not a plain decimal: not passed on */
        }
    }
    if (header_decimal(p + i, end - i)) {
        memcpy(ihcl, p + i, end - i);
        ihcl[end - i] = '\0';
    }
    return len;
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
                    const uint8_t *body, size_t n, struct curl_slist **h, struct veil_wr *answer,
                    char *ihcl)
{
    const char *uri = evhttp_request_get_uri(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *bin = evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "Inference-Header-Content-Length");
    struct curl_slist *t;
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
        if (k < 0 || (size_t)k >= sizeof(header) || (t = curl_slist_append(*h, header)) == NULL) {
            return false;
        }
        *h = t;
    }
    if (bin != NULL) {
        /* only a decimal goes upstream: the header is the server's length of the JSON part */
        if (!header_decimal(bin, strlen(bin))) {
            return false;
        }
        k = snprintf(header, sizeof(header), "Inference-Header-Content-Length: %s", bin);
        if (k < 0 || (size_t)k >= sizeof(header) || (t = curl_slist_append(*h, header)) == NULL) {
            return false;
        }
        *h = t;
    }
    ihcl[0] = '\0';
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, *h);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(p->curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(p->curl, CURLOPT_HEADERDATA, ihcl);
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
    char ihcl[PROXY_DECIMAL_SIZE];
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
    if (!prepare(p, req, method, body, n, &h, &answer, ihcl)) {
        reply_json(req, 400, "request not forwardable", "proxy",
                   "the URL or a header is too long, or Inference-Header-Content-Length is not "
                   "a decimal");
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
    if (ihcl[0] != '\0') {
        (void)evhttp_add_header(evhttp_request_get_output_headers(req),
                                "Inference-Header-Content-Length", ihcl);
    }
    veil_http_reply(req, (int)status, type, answer.data, answer.len);
out:
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(p->curl, CURLOPT_HEADERFUNCTION, NULL);
    curl_easy_setopt(p->curl, CURLOPT_HEADERDATA, NULL);
    curl_slist_free_all(h);
    veil_wr_free(&answer);
}
