/* Key broker protocol message codecs (see proto.h). One function per schema. */
#include "kbs/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/encoding.h"

static const struct {
    const char *wire;
    enum veil_tee tee;
} tee_names[] = {
    {"amd-sev-snp", VEIL_TEE_SNP},
    {"intel-tdx", VEIL_TEE_TDX},
    {"intel-sgx", VEIL_TEE_SGX},
    {"veil-sim", VEIL_TEE_SIM},
};

const char *veil_kbs_tee_wire_name(enum veil_tee tee)
{
    for (size_t i = 0; i < sizeof(tee_names) / sizeof(tee_names[0]); i++) {
        if (tee_names[i].tee == tee) {
            return tee_names[i].wire;
        }
    }
    return "unknown";
}

bool veil_kbs_tee_from_wire(const char *name, enum veil_tee *tee)
{
    for (size_t i = 0; i < sizeof(tee_names) / sizeof(tee_names[0]); i++) {
        if (strcmp(tee_names[i].wire, name) == 0) {
            *tee = tee_names[i].tee;
            return true;
        }
    }
    return false;
}

__attribute__((format(printf, 3, 4))) static veil_result fail(char *why, size_t size,
                                                              const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return veil_result_of(VEIL_ERR_PROTO);
}

/* Parses a capped JSON object body. */
static VEIL_RESULT load_object(const uint8_t *body, size_t n, json_t **out, char *why,
                               size_t why_size)
{
    json_error_t err;
    json_t *j;

    if (n > VEIL_KBS_BODY_SIZE_MAX) {
        (void)fail(why, why_size, "body larger than %u bytes", VEIL_KBS_BODY_SIZE_MAX);
        BAIL(VEIL_ERR_PROTO_LIMIT);
    }
    j = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return fail(why, why_size, "not valid JSON: %s", err.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(why, why_size, "the body must be a JSON object");
    }
    *out = j;
    return VEIL_RESULT_OK;
}

/* Every key of o must be in the NULL-terminated list. */
static VEIL_RESULT only_keys(const json_t *o, const char *const *allowed, char *why,
                             size_t why_size)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)o, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            ok = ok || strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            return fail(why, why_size, "unknown member \"%s\"", key);
        }
    }
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_request_parse(const uint8_t *body, size_t n, struct veil_kbs_request *req,
                                   char *why, size_t why_size)
{
    static const char *const keys[] = {"version", "tee", "extra-params", NULL};
    json_t *j = NULL;
    json_t *version;
    json_t *tee;
    veil_result r;

    GUARD(load_object(body, n, &j, why, why_size));
    r = only_keys(j, keys, why, why_size);
    version = json_object_get(j, "version");
    tee = json_object_get(j, "tee");
    if (veil_ok(r) && (!json_is_string(version) ||
                       strcmp(json_string_value(version), VEIL_KBS_PROTOCOL_VERSION) != 0)) {
        r = fail(why, why_size, "\"version\" must be \"%s\"", VEIL_KBS_PROTOCOL_VERSION);
    }
    if (veil_ok(r) &&
        (!json_is_string(tee) || !veil_kbs_tee_from_wire(json_string_value(tee), &req->tee))) {
        r = fail(why, why_size,
                 "\"tee\" must be one of amd-sev-snp, intel-tdx, intel-sgx, veil-sim");
    }
    json_decref(j);
    return r;
}

static VEIL_RESULT dump(json_t *j, struct veil_wr *out)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    veil_result r;

    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    r = veil_wr_bytes(out, s, strlen(s));
    free(s);
    return r;
}

veil_result veil_kbs_request_build(enum veil_tee tee, struct veil_wr *out)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "version", VEIL_KBS_PROTOCOL_VERSION, "tee",
                          veil_kbs_tee_wire_name(tee), "extra-params", "");
    veil_result r;

    ENSURE(j != NULL, VEIL_ERR_NOMEM);
    r = dump(j, out);
    json_decref(j);
    return r;
}

veil_result veil_kbs_challenge_build(const char *nonce, struct veil_wr *out)
{
    json_t *j = json_pack("{s:s, s:s}", "nonce", nonce, "extra-params", "");
    veil_result r;

    ENSURE(j != NULL, VEIL_ERR_NOMEM);
    r = dump(j, out);
    json_decref(j);
    return r;
}

veil_result veil_kbs_challenge_parse(const uint8_t *body, size_t n, char *nonce, size_t nonce_size)
{
    static const char *const keys[] = {"nonce", "extra-params", NULL};
    json_t *j = NULL;
    json_t *v;
    veil_result r;

    GUARD(load_object(body, n, &j, NULL, 0));
    r = only_keys(j, keys, NULL, 0);
    v = json_object_get(j, "nonce");
    if (veil_ok(r) &&
        (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= nonce_size)) {
        r = veil_result_of(VEIL_ERR_PROTO);
    }
    if (veil_ok(r)) {
        memcpy(nonce, json_string_value(v), json_string_length(v) + 1);
    }
    json_decref(j);
    return r;
}

veil_result veil_kbs_runtime_data_hash(const json_t *runtime_data,
                                       uint8_t out[VEIL_KBS_REPORT_DATA_SIZE])
{
    char *s = json_dumps(runtime_data, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned int len = 0;
    int ok;

    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    ok = EVP_Digest(s, strlen(s), out, &len, EVP_sha384(), NULL);
    free(s);
    GUARD_OSSL(ok, VEIL_ERR_INTERNAL_OSSL);
    ENSURE(len == VEIL_KBS_REPORT_DATA_SIZE, VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_runtime_data(json_t *rd, struct veil_kbs_attestation *att, char *why,
                                      size_t why_size)
{
    static const char *const keys[] = {"nonce", "tee-pubkey", NULL};
    json_t *nonce;
    json_t *pub;

    if (!json_is_object(rd)) {
        return fail(why, why_size, "\"runtime-data\" must be an object");
    }
    GUARD(only_keys(rd, keys, why, why_size));
    nonce = json_object_get(rd, "nonce");
    pub = json_object_get(rd, "tee-pubkey");
    if (!json_is_string(nonce) || json_string_length(nonce) > 128) {
        return fail(why, why_size, "\"runtime-data\".\"nonce\" must be the challenge's nonce");
    }
    if (!json_is_object(pub)) {
        return fail(why, why_size, "\"runtime-data\".\"tee-pubkey\" must be a JWK object");
    }
    att->nonce = json_string_value(nonce);
    att->tee_pubkey = pub;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_evidence(json_t *ev, struct veil_kbs_attestation *att, char *why,
                                  size_t why_size)
{
    size_t len;
    size_t got = 0;

    if (!json_is_string(ev)) {
        return fail(why, why_size, "\"tee-evidence\" must be a base64 string");
    }
    len = json_string_length(ev);
    if (len == 0 || len / 4 * 3 > VEIL_KBS_EVIDENCE_SIZE_MAX) {
        (void)fail(why, why_size, "\"tee-evidence\" is empty or larger than %u bytes",
                   VEIL_KBS_EVIDENCE_SIZE_MAX);
        BAIL(len == 0 ? VEIL_ERR_PROTO : VEIL_ERR_PROTO_LIMIT);
    }
    att->evidence = malloc(len / 4 * 3 + 3);
    ENSURE(att->evidence != NULL, VEIL_ERR_NOMEM);
    if (!veil_ok(veil_b64_decode(json_string_value(ev), len, VEIL_B64_STD, att->evidence,
                                 len / 4 * 3 + 3, &got))) {
        return fail(why, why_size, "\"tee-evidence\" is not valid base64");
    }
    att->evidence_size = got;
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_attestation_parse(const uint8_t *body, size_t n,
                                       struct veil_kbs_attestation *att, char *why, size_t why_size)
{
    static const char *const keys[] = {"runtime-data", "tee-evidence", "init-data", NULL};
    json_t *j = NULL;
    json_t *init;
    veil_result r;

    memset(att, 0, sizeof(*att));
    GUARD(load_object(body, n, &j, why, why_size));
    r = only_keys(j, keys, why, why_size);
    init = json_object_get(j, "init-data");
    if (veil_ok(r) && init != NULL && !json_is_null(init)) {
        r = fail(why, why_size, "\"init-data\" is not supported (must be absent or null)");
    }
    if (veil_ok(r)) {
        att->runtime_data = json_incref(json_object_get(j, "runtime-data"));
        r = att->runtime_data == NULL ? fail(why, why_size, "\"runtime-data\" is missing")
                                      : parse_runtime_data(att->runtime_data, att, why, why_size);
    }
    if (veil_ok(r)) {
        r = parse_evidence(json_object_get(j, "tee-evidence"), att, why, why_size);
    }
    if (veil_ok(r)) {
        r = veil_kbs_runtime_data_hash(att->runtime_data, att->report_data);
    }
    json_decref(j);
    if (!veil_ok(r)) {
        veil_kbs_attestation_free(att);
    }
    return r;
}

void veil_kbs_attestation_free(struct veil_kbs_attestation *att)
{
    json_decref(att->runtime_data);
    free(att->evidence);
    memset(att, 0, sizeof(*att));
}

veil_result veil_kbs_runtime_data_build(const char *nonce, json_t *tee_pubkey_jwk,
                                        json_t **runtime_data)
{
    json_t *j = json_pack("{s:s, s:O}", "nonce", nonce, "tee-pubkey", tee_pubkey_jwk);

    ENSURE(j != NULL, VEIL_ERR_NOMEM);
    *runtime_data = j;
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_attestation_build(const json_t *runtime_data, const uint8_t *evidence,
                                       size_t evidence_size, struct veil_wr *out)
{
    size_t b64_size = veil_b64_encoded_size(evidence_size, VEIL_B64_STD) + 1;
    char *b64 = malloc(b64_size);
    json_t *j = NULL;
    veil_result r;

    ENSURE(b64 != NULL, VEIL_ERR_NOMEM);
    r = veil_b64_encode(evidence, evidence_size, VEIL_B64_STD, b64, b64_size);
    if (veil_ok(r)) {
        j = json_pack("{s:O, s:s}", "runtime-data", runtime_data, "tee-evidence", b64);
        r = j != NULL ? dump(j, out) : veil_result_of(VEIL_ERR_NOMEM);
    }
    json_decref(j);
    free(b64);
    return r;
}

veil_result veil_kbs_error_build(const char *type, const char *detail, struct veil_wr *out)
{
    char t[160];
    json_t *j;
    veil_result r;

    (void)snprintf(t, sizeof(t), "https://github.com/confidential-containers/kbs/errors/%s", type);
    j = json_pack("{s:s, s:s}", "type", t, "detail", detail);
    ENSURE(j != NULL, VEIL_ERR_NOMEM);
    r = dump(j, out);
    json_decref(j);
    return r;
}

static const char type_codes[] = {[VEIL_CLAIM_STR] = 's',
                                  [VEIL_CLAIM_BYTES] = 'b',
                                  [VEIL_CLAIM_INT] = 'i',
                                  [VEIL_CLAIM_BOOL] = 't',
                                  [VEIL_CLAIM_STR_LIST] = 'l'};

static json_t *claim_value(const struct veil_claim *cl)
{
    json_t *list;
    char *hex;
    json_t *v;

    switch (cl->type) {
        case VEIL_CLAIM_STR:
            return json_string(cl->str);
        case VEIL_CLAIM_BYTES:
            hex = veil_claim_value_text(cl);
            v = hex != NULL ? json_string(hex) : NULL;
            free(hex);
            return v;
        case VEIL_CLAIM_INT:
            return json_integer(cl->i);
        case VEIL_CLAIM_BOOL:
            return json_boolean(cl->b);
        case VEIL_CLAIM_STR_LIST:
            list = json_array();
            for (size_t i = 0; list != NULL && i < cl->list_count; i++) {
                if (json_array_append_new(list, json_string(cl->list[i])) != 0) {
                    json_decref(list);
                    return NULL;
                }
            }
            return list;
    }
    return NULL;
}

veil_result veil_kbs_claims_to_json(const struct veil_claims *c, json_t **out)
{
    json_t *arr = json_array();

    ENSURE(arr != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < c->count; i++) {
        const struct veil_claim *cl = &c->items[i];
        char t[2] = {type_codes[cl->type], '\0'};
        json_t *v = claim_value(cl);
        json_t *item = v != NULL ? json_pack("[s, s, o]", cl->name, t, v) : NULL;
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    *out = arr;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT claim_from_json(const json_t *item, struct veil_claims *c)
{
    const char *name;
    const char *t;
    json_t *v;
    uint8_t bytes[512];
    size_t n = 0;

    ENSURE(json_is_array(item) && json_array_size(item) == 3, VEIL_ERR_PROTO);
    name = json_string_value(json_array_get(item, 0));
    t = json_string_value(json_array_get(item, 1));
    v = json_array_get(item, 2);
    ENSURE(name != NULL && t != NULL && strlen(t) == 1, VEIL_ERR_PROTO);
    switch (t[0]) {
        case 's':
            ENSURE(json_is_string(v), VEIL_ERR_PROTO);
            return veil_claims_add_str(c, name, json_string_value(v));
        case 'b':
            ENSURE(json_is_string(v), VEIL_ERR_PROTO);
            GUARD(veil_hex_decode(json_string_value(v), json_string_length(v), bytes, sizeof(bytes),
                                  &n));
            return veil_claims_add_bytes(c, name, bytes, n);
        case 'i':
            ENSURE(json_is_integer(v), VEIL_ERR_PROTO);
            return veil_claims_add_int(c, name, json_integer_value(v));
        case 't':
            ENSURE(json_is_boolean(v), VEIL_ERR_PROTO);
            return veil_claims_add_bool(c, name, json_is_true(v));
        case 'l': {
            const char *items[64];
            size_t count = json_array_size(v);
            ENSURE(json_is_array(v) && count <= 64, VEIL_ERR_PROTO);
            for (size_t i = 0; i < count; i++) {
                items[i] = json_string_value(json_array_get(v, i));
                ENSURE(items[i] != NULL, VEIL_ERR_PROTO);
            }
            return veil_claims_add_str_list(c, name, items, count);
        }
        default:
            BAIL(VEIL_ERR_PROTO);
    }
}

veil_result veil_kbs_claims_from_json(const json_t *j, struct veil_claims *c)
{
    ENSURE(json_is_array(j), VEIL_ERR_PROTO);
    for (size_t i = 0; i < json_array_size(j); i++) {
        GUARD(claim_from_json(json_array_get(j, i), c));
    }
    return VEIL_RESULT_OK;
}

static bool segment_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

bool veil_kbs_resource_path_valid(const char *path)
{
    const char *p = path;
    size_t segments = 0;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (!segment_ok(p, n)) {
            return false;
        }
        segments++;
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    return segments == 3;
}
