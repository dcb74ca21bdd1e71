/* veil infer: verify an inference server's attested TLS certificate against a policy inside the
 * handshake, then send a KServe v2 (Open Inference Protocol) request and print the outputs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/file.h"
#include "cli.h"
#include "ratls/ratls.h"
#include <veil/veil.h>

#define INFER_INPUT_COUNT_MAX 64
#define INFER_COLLATERAL_MAX  64
#define INFER_INPUT_SIZE_MAX  (64u << 20)
#define INFER_BODY_SIZE_MAX   (256u << 20)
#define INFER_NAME_MAX        128

static const char usage[] =
    "usage: veil infer --server URL --policy POLICY.json [--collateral PATH]...\n"
    "                  --model NAME --input [NAME=]FILE... [--json] [--timeout SECONDS]\n\n"
    "Connects to URL (https://host:port) over TLS 1.3, verifies the server's attested\n"
    "certificate (docs/PROTOCOL.ratls.md) against the release policy during the handshake, and\n"
    "only then POSTs a KServe v2 inference request to /v2/models/NAME/infer.\n\n"
    "  --input [NAME=]FILE  a JSON file with one KServe v2 input tensor\n"
    "                       {\"name\", \"shape\", \"datatype\", \"data\"}; NAME= renames it\n"
    "  --collateral PATH    trust anchors and collateral for the verifier (e.g. a sim root.pem)\n"
    "  --json               print the server's whole JSON answer\n\n"
    "exit status: 0 answered, 1 refused or failed (one line says why), 2 usage\n";

struct infer_args {
    const char *server;
    const char *policy;
    const char *model;
    const char *collateral[INFER_COLLATERAL_MAX];
    size_t collateral_count;
    const char *inputs[INFER_INPUT_COUNT_MAX];
    size_t input_count;
    bool json;
    unsigned long timeout_s;
};

static bool name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > INFER_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

static int parse_args(int argc, char **argv, struct infer_args *a)
{
    static const struct option opts[] = {{"server", required_argument, NULL, 's'},
                                         {"policy", required_argument, NULL, 'p'},
                                         {"collateral", required_argument, NULL, 'c'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    a->timeout_s = 60;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 's':
                a->server = optarg;
                break;
            case 'p':
                a->policy = optarg;
                break;
            case 'c':
                if (a->collateral_count == INFER_COLLATERAL_MAX) {
                    return cli_usage_error("infer", "at most %d --collateral",
                                           INFER_COLLATERAL_MAX);
                }
                a->collateral[a->collateral_count++] = optarg;
                break;
            case 'm':
                a->model = optarg;
                break;
            case 'i':
                if (a->input_count == INFER_INPUT_COUNT_MAX) {
                    return cli_usage_error("infer", "at most %d --input", INFER_INPUT_COUNT_MAX);
                }
                a->inputs[a->input_count++] = optarg;
                break;
            case 'j':
                a->json = true;
                break;
            case 't':
                if (!cli_parse_uint(optarg, 3600, &a->timeout_s) || a->timeout_s == 0) {
                    return cli_usage_error("infer", "--timeout: 1 to 3600 seconds");
                }
                break;
            case 'h':
                (void)fputs(usage, stdout);
                return -1;
            default:
                (void)fputs(usage, stderr);
                return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        return cli_usage_error("infer", "unexpected argument '%s'", argv[optind]);
    }
    if (a->server == NULL || a->policy == NULL || a->model == NULL || a->input_count == 0) {
        return cli_usage_error("infer", "--server, --policy, --model and --input are required");
    }
    if (strncmp(a->server, "https://", 8) != 0 || strlen(a->server) > 1024) {
        return cli_usage_error("infer", "--server must be an https:// URL");
    }
    if (!name_valid(a->model)) {
        return cli_usage_error("infer", "--model: 1 to %d of [A-Za-z0-9._-]", INFER_NAME_MAX);
    }
    return CLI_EXIT_OK;
}

/* One KServe v2 input tensor object, checked for shape (the server checks the values). */
static bool input_valid(json_t *o, char *why, size_t why_size)
{
    const char *key;
    json_t *v;
    size_t i;
    json_t *dim;

    if (!json_is_object(o)) {
        (void)snprintf(why, why_size, "not a JSON object");
        return false;
    }
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "name") != 0 && strcmp(key, "shape") != 0 && strcmp(key, "datatype") != 0 &&
            strcmp(key, "data") != 0 && strcmp(key, "parameters") != 0) {
            (void)snprintf(why, why_size, "unknown member \"%.64s\"", key);
            return false;
        }
    }
    if (!json_is_string(json_object_get(o, "name")) ||
        !json_is_string(json_object_get(o, "datatype")) ||
        !json_is_array(json_object_get(o, "shape")) || !json_is_array(json_object_get(o, "data"))) {
        (void)snprintf(why, why_size,
                       "needs \"name\", \"datatype\" (strings), \"shape\" and "
                       "\"data\" (arrays)");
        return false;
    }
    json_array_foreach(json_object_get(o, "shape"), i, dim)
    {
        if (!json_is_integer(dim) || json_integer_value(dim) < 0) {
            (void)snprintf(why, why_size, "shape[%zu] is not a non-negative integer", i);
            return false;
        }
    }
    return true;
}

/* Reads [NAME=]FILE into a tensor object appended to inputs. */
static int load_input(const char *arg, json_t *inputs)
{
    const char *eq = strchr(arg, '=');
    const char *path = eq != NULL ? eq + 1 : arg;
    char name[INFER_NAME_MAX + 1] = "";
    char why[256];
    struct veil_wr w;
    json_error_t err;
    json_t *o;
    veil_result r;

    if (eq != NULL) {
        if ((size_t)(eq - arg) > INFER_NAME_MAX || eq == arg) {
            return cli_usage_error("infer", "--input: the name before '=' is 1 to %d bytes",
                                   INFER_NAME_MAX);
        }
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
    }
    r = veil_file_read(path, INFER_INPUT_SIZE_MAX + 1, &w);
    if (!veil_ok(r)) {
        return cli_fail_err("infer", path, r.code);
    }
    if (w.len > INFER_INPUT_SIZE_MAX) {
        veil_wr_free(&w);
        return cli_fail("infer", "%s: larger than %u bytes", path, INFER_INPUT_SIZE_MAX);
    }
    o = json_loadb((const char *)w.data, w.len, JSON_REJECT_DUPLICATES, &err);
    veil_wr_free(&w);
    if (o == NULL) {
        return cli_fail("infer", "%s: not JSON: %s (line %d)", path, err.text, err.line);
    }
    if (name[0] != '\0' && json_object_set_new(o, "name", json_string(name)) != 0) {
        json_decref(o);
        return cli_fail("infer", "%s: out of memory", path);
    }
    if (!input_valid(o, why, sizeof(why))) {
        json_decref(o);
        return cli_fail("infer", "%s: not a KServe v2 input tensor: %s", path, why);
    }
    if (json_array_append_new(inputs, o) != 0) {
        return cli_fail("infer", "out of memory");
    }
    return CLI_EXIT_OK;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct veil_wr *w = ud;

    return veil_ok(veil_wr_bytes(w, p, size * n)) ? size * n : 0;
}

static void print_outputs(json_t *answer)
{
    json_t *outputs = json_object_get(answer, "outputs");
    json_t *o;
    size_t i;

    json_array_foreach(outputs, i, o)
    {
        char *shape = json_dumps(json_object_get(o, "shape"), JSON_COMPACT);
        char *data = json_dumps(json_object_get(o, "data"), JSON_COMPACT);
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *type = json_string_value(json_object_get(o, "datatype"));

        (void)printf("%s %s %s %s\n", name != NULL ? name : "?", type != NULL ? type : "?",
                     shape != NULL ? shape : "[]", data != NULL ? data : "[]");
        free(shape);
        free(data);
    }
}

/* Sends the request; prints the answer. */
static int exchange(const struct infer_args *a, struct veil_ratls_verifier *v, const char *body)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct veil_wr answer;
    char url[1400];
    char err[CURL_ERROR_SIZE] = "";
    long status = 0;
    size_t base_size;
    CURLcode cc;
    json_t *j = NULL;
    int n;
    int rc = CLI_EXIT_FAIL;

    if (c == NULL) {
        return cli_fail("infer", "out of memory");
    }
    veil_wr_init(&answer, INFER_BODY_SIZE_MAX);
    base_size = strlen(a->server);
    while (base_size > 8 && a->server[base_size - 1] == '/') {
        base_size--;
    }
    n = snprintf(url, sizeof(url), "%.*s/v2/models/%s/infer", (int)base_size, a->server, a->model);
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (n < 0 || (size_t)n >= sizeof(url) || h == NULL || !veil_ok(veil_ratls_curl_setup(c, v))) {
        (void)cli_fail("infer", "cannot set up the request");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)a->timeout_s);
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (v->failure[0] != '\0') {
            (void)cli_fail("infer", "server refused by %s: %s",
                           v->decision.count > 0 ? "policy" : "attestation", v->failure);
        } else {
            (void)cli_fail("infer", "cannot reach %s: %s", a->server,
                           err[0] != '\0' ? err : curl_easy_strerror(cc));
        }
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    j = json_loadb((const char *)answer.data, answer.len, JSON_REJECT_DUPLICATES, NULL);
    if (status != 200) {
        (void)cli_fail("infer", "server answered %ld: %.*s", status,
                       (int)(answer.len > 300 ? 300 : answer.len),
                       answer.data != NULL ? (const char *)answer.data : "");
        goto out;
    }
    if (j == NULL || !json_is_array(json_object_get(j, "outputs"))) {
        (void)cli_fail("infer", "the server's answer is not a KServe v2 response");
        goto out;
    }
    if (a->json) {
        if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
            goto out;
        }
        (void)putchar('\n');
    } else {
        print_outputs(j);
    }
    rc = CLI_EXIT_OK;
out:
    json_decref(j);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    veil_wr_free(&answer);
    return rc;
}

int cmd_infer(int argc, char **argv)
{
    struct infer_args a = {0};
    struct veil_policy policy;
    struct veil_collateral coll;
    struct veil_ratls_verifier v;
    char why[1024];
    json_t *req = NULL;
    json_t *inputs = NULL;
    char *body = NULL;
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_EXIT_OK) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    if (!veil_ok(veil_ratls_load(a.policy, a.collateral, a.collateral_count, &policy, &coll, why,
                                 sizeof(why)))) {
        return cli_fail("infer", "%s", why);
    }
    inputs = json_array();
    req = json_object();
    rc = inputs != NULL && req != NULL ? CLI_EXIT_OK : cli_fail("infer", "out of memory");
    for (size_t i = 0; rc == CLI_EXIT_OK && i < a.input_count; i++) {
        rc = load_input(a.inputs[i], inputs);
    }
    if (rc == CLI_EXIT_OK) {
        rc = json_object_set(req, "inputs", inputs) == 0 &&
                     (body = json_dumps(req, JSON_COMPACT)) != NULL
                 ? CLI_EXIT_OK
                 : cli_fail("infer", "out of memory");
    }
    if (rc == CLI_EXIT_OK) {
        veil_ratls_verifier_init(&v, &policy, &coll);
        rc = exchange(&a, &v, body);
        veil_ratls_verifier_reset(&v);
    }
    free(body);
    json_decref(inputs);
    json_decref(req);
    veil_policy_free(&policy);
    veil_collateral_free(&coll);
    return rc;
}
