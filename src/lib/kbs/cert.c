/* Broker-issued certificates: the request and answer bodies, PKCS#10 requests, the CA, issuing
 * (see cert.h). The decision over the store is in cert_decide.c. */
#include "kbs/cert.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/encoding.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "ratls/ratls.h"

#define CERT_BODY_SIZE_MAX   (VEIL_KBS_CSR_SIZE_MAX * 4 / 3 + 1024)
#define CERT_ANSWER_SIZE_MAX (VEIL_KBS_CERT_CHAIN_SIZE_MAX + 1024)
#define VALIDITY_S_MAX       (366 * 86400L) /* what a request may even say; the broker caps lower */
#define CA_PEM_SIZE_MAX      65536

__attribute__((format(printf, 4, 5))) static veil_result fail(int code, char *why, size_t size,
                                                              const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return veil_result_of(code);
}

static VEIL_RESULT load_object(const uint8_t *body, size_t n, size_t max, json_t **out, char *why,
                               size_t why_size)
{
    json_error_t err;
    json_t *j;

    if (n > max) {
        return fail(VEIL_ERR_PROTO_LIMIT, why, why_size, "body larger than %zu bytes", max);
    }
    j = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        return fail(VEIL_ERR_PROTO, why, why_size, "not valid JSON: %s", err.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(VEIL_ERR_PROTO, why, why_size, "the body must be a JSON object");
    }
    *out = j;
    return VEIL_RESULT_OK;
}

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
            return fail(VEIL_ERR_PROTO, why, why_size, "unknown member \"%s\"", key);
        }
    }
    return VEIL_RESULT_OK;
}

static bool name_valid(const char *s, size_t n)
{
    if (n == 0 || n > VEIL_KBS_CERT_NAME_SIZE_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
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

static VEIL_RESULT parse_members(json_t *j, struct veil_kbs_cert_request *req, char *why,
                                 size_t why_size)
{
    json_t *name = json_object_get(j, "name");
    json_t *csr = json_object_get(j, "csr");
    json_t *validity = json_object_get(j, "validity-s");
    size_t got = 0;

    if (!json_is_string(name) || !name_valid(json_string_value(name), json_string_length(name)) ||
        strlen(json_string_value(name)) != json_string_length(name)) {
        return fail(VEIL_ERR_PROTO, why, why_size,
                    "\"name\" must be 1..%d characters of [A-Za-z0-9._-]",
                    VEIL_KBS_CERT_NAME_SIZE_MAX);
    }
    memcpy(req->name, json_string_value(name), json_string_length(name) + 1);
    if (validity != NULL) {
        if (!json_is_integer(validity) ||
            json_integer_value(validity) < VEIL_KBS_CERT_VALIDITY_MIN_S ||
            json_integer_value(validity) > VALIDITY_S_MAX) {
            return fail(VEIL_ERR_PROTO, why, why_size,
                        "\"validity-s\" must be an integer from %d to %ld",
                        VEIL_KBS_CERT_VALIDITY_MIN_S, VALIDITY_S_MAX);
        }
        req->validity_s = (int64_t)json_integer_value(validity);
    }
    if (!json_is_string(csr) || json_string_length(csr) == 0 ||
        json_string_length(csr) > veil_b64_encoded_size(VEIL_KBS_CSR_SIZE_MAX, VEIL_B64_URL)) {
        return fail(VEIL_ERR_PROTO, why, why_size,
                    "\"csr\" must be base64url DER of at most %u bytes", VEIL_KBS_CSR_SIZE_MAX);
    }
    req->csr = malloc(VEIL_KBS_CSR_SIZE_MAX);
    ENSURE(req->csr != NULL, VEIL_ERR_NOMEM);
    if (!veil_ok(veil_b64_decode(json_string_value(csr), json_string_length(csr), VEIL_B64_URL,
                                 req->csr, VEIL_KBS_CSR_SIZE_MAX, &got)) ||
        got == 0) {
        return fail(VEIL_ERR_PROTO, why, why_size, "\"csr\" is not base64url");
    }
    req->csr_size = got;
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_cert_request_parse(const uint8_t *body, size_t n,
                                        struct veil_kbs_cert_request *req, char *why,
                                        size_t why_size)
{
    static const char *const keys[] = {"name", "csr", "validity-s", NULL};
    json_t *j = NULL;
    veil_result r;

    ENSURE(req != NULL, VEIL_ERR_USAGE);
    memset(req, 0, sizeof(*req));
    GUARD(load_object(body, n, CERT_BODY_SIZE_MAX, &j, why, why_size));
    r = only_keys(j, keys, why, why_size);
    if (veil_ok(r)) {
        r = parse_members(j, req, why, why_size);
    }
    json_decref(j);
    if (!veil_ok(r)) {
        veil_kbs_cert_request_free(req);
    }
    return r;
}

void veil_kbs_cert_request_free(struct veil_kbs_cert_request *req)
{
    if (req != NULL) {
        free(req->csr);
        memset(req, 0, sizeof(*req));
    }
}

veil_result veil_kbs_cert_request_build(const char *name, const uint8_t *csr, size_t csr_size,
                                        int64_t validity_s, struct veil_wr *out)
{
    size_t b64_size;
    char *b64;
    json_t *j = NULL;
    char *s = NULL;
    veil_result r;

    ENSURE(name != NULL && csr != NULL && csr_size > 0 && csr_size <= VEIL_KBS_CSR_SIZE_MAX,
           VEIL_ERR_USAGE);
    b64_size = veil_b64_encoded_size(csr_size, VEIL_B64_URL) + 1;
    b64 = malloc(b64_size);
    ENSURE(b64 != NULL, VEIL_ERR_NOMEM);
    r = veil_b64_encode(csr, csr_size, VEIL_B64_URL, b64, b64_size);
    if (veil_ok(r)) {
        j = validity_s > 0 ? json_pack("{s:s, s:s, s:I}", "name", name, "csr", b64, "validity-s",
                                       (json_int_t)validity_s)
                           : json_pack("{s:s, s:s}", "name", name, "csr", b64);
        s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        r = s != NULL ? veil_wr_bytes(out, s, strlen(s)) : veil_result_of(VEIL_ERR_NOMEM);
    }
    free(s);
    json_decref(j);
    free(b64);
    return r;
}

veil_result veil_kbs_cert_response_parse(const uint8_t *body, size_t n, struct veil_wr *chain_pem)
{
    static const char *const keys[] = {"certificate-chain", "not-after", NULL};
    json_t *j = NULL;
    json_t *chain;
    veil_result r;

    GUARD(load_object(body, n, CERT_ANSWER_SIZE_MAX, &j, NULL, 0));
    r = only_keys(j, keys, NULL, 0);
    chain = json_object_get(j, "certificate-chain");
    if (veil_ok(r) &&
        (!json_is_string(chain) || json_string_length(chain) > VEIL_KBS_CERT_CHAIN_SIZE_MAX ||
         strstr(json_string_value(chain), "-----BEGIN CERTIFICATE-----") == NULL ||
         !json_is_integer(json_object_get(j, "not-after")))) {
        r = veil_result_of(VEIL_ERR_PROTO);
    }
    if (veil_ok(r)) {
        r = veil_wr_bytes(chain_pem, json_string_value(chain), json_string_length(chain));
    }
    json_decref(j);
    return r;
}

/* ---- PKCS#10 */

static bool dns_name_valid(const unsigned char *s, int n)
{
    int label = 0;

    if (n < 1 || n > 253 || s[0] == '.' || s[n - 1] == '.') {
        return false;
    }
    for (int i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c == '-' && label > 0)) ||
            ++label > 63) {
            return false;
        }
    }
    return s[n - 1] != '-';
}

static VEIL_RESULT san_entry(const GENERAL_NAME *g, char *out, size_t size, char *why,
                             size_t why_size)
{
    char ip[INET6_ADDRSTRLEN];

    if (g->type == GEN_DNS) {
        const ASN1_IA5STRING *s = g->d.dNSName;
        if (!dns_name_valid(ASN1_STRING_get0_data(s), ASN1_STRING_length(s))) {
            return fail(VEIL_ERR_PROTO_SAN, why, why_size,
                        "a DNS name must be labels of letters, digits and hyphens (no wildcard)");
        }
        (void)snprintf(out, size, "DNS:%.*s", ASN1_STRING_length(s),
                       (const char *)ASN1_STRING_get0_data(s));
        return VEIL_RESULT_OK;
    }
    if (g->type == GEN_IPADD) {
        const ASN1_OCTET_STRING *s = g->d.iPAddress;
        int len = ASN1_STRING_length(s);
        if ((len != 4 && len != 16) ||
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof(ip)) ==
                NULL) {
            return fail(VEIL_ERR_PROTO_SAN, why, why_size, "an IP address must be 4 or 16 bytes");
        }
        (void)snprintf(out, size, "IP:%s", ip);
        return VEIL_RESULT_OK;
    }
    return fail(VEIL_ERR_PROTO_SAN, why, why_size,
                "only DNS and IP subject alternative names are issued");
}

static VEIL_RESULT take_san(const X509_EXTENSION *e, struct veil_kbs_csr *c, char *why,
                            size_t why_size)
{
    GENERAL_NAMES *names = X509V3_EXT_d2i((X509_EXTENSION *)e);
    veil_result r = VEIL_RESULT_OK;
    int count;

    if (names == NULL) {
        return fail(VEIL_ERR_PROTO_CSR, why, why_size, "the subjectAltName extension is malformed");
    }
    count = sk_GENERAL_NAME_num(names);
    if (count < 1 || count > VEIL_KBS_CERT_SAN_COUNT_MAX) {
        r = fail(VEIL_ERR_PROTO_SAN, why, why_size, "1 to %d subject alternative names, not %d",
                 VEIL_KBS_CERT_SAN_COUNT_MAX, count);
    }
    for (int i = 0; veil_ok(r) && i < count; i++) {
        r = san_entry(sk_GENERAL_NAME_value(names, i), c->san[i], sizeof(c->san[i]), why, why_size);
        c->san_count = (size_t)i + 1;
    }
    GENERAL_NAMES_free(names);
    if (veil_ok(r)) {
        c->san_ext = X509_EXTENSION_dup(e);
        ENSURE(c->san_ext != NULL, VEIL_ERR_NOMEM);
    }
    return r;
}

static VEIL_RESULT take_evidence(const X509_EXTENSION *e, struct veil_kbs_csr *c, char *why,
                                 size_t why_size)
{
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data((X509_EXTENSION *)e);
    struct veil_wr ev;
    enum veil_tee tee;
    veil_result r;

    if (c->evidence_ext != NULL || os == NULL || ASN1_STRING_length(os) <= 0) {
        return fail(VEIL_ERR_PROTO_CSR, why, why_size,
                    "the RA-TLS evidence extension is malformed");
    }
    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    r = veil_ratls_ext_decode(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), &tee, &ev);
    veil_wr_free(&ev);
    if (!veil_ok(r)) {
        return fail(VEIL_ERR_PROTO_CSR, why, why_size,
                    "the RA-TLS evidence extension does not decode: %s", veil_strerror(r.code));
    }
    c->evidence_ext = X509_EXTENSION_dup(e);
    ENSURE(c->evidence_ext != NULL, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT take_extensions(struct veil_kbs_csr *c, char *why, size_t why_size)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(c->req);
    ASN1_OBJECT *dice = OBJ_txt2obj(VEIL_RATLS_OID, 1);
    veil_result r = VEIL_RESULT_OK;
    char oid[80];

    if (dice == NULL) {
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        BAIL(VEIL_ERR_NOMEM);
    }
    for (int i = 0; veil_ok(r) && i < sk_X509_EXTENSION_num(exts); i++) {
        const X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object((X509_EXTENSION *)e);
        if (OBJ_obj2nid(obj) == NID_subject_alt_name && c->san_ext == NULL) {
            r = take_san(e, c, why, why_size);
        } else if (OBJ_cmp(obj, dice) == 0) {
            r = take_evidence(e, c, why, why_size);
        } else {
            (void)OBJ_obj2txt(oid, sizeof(oid), obj, 1);
            r = fail(VEIL_ERR_PROTO_CSR, why, why_size,
                     "the request asks for extension %s (or a second subjectAltName): only "
                     "subjectAltName and the RA-TLS evidence are issued",
                     oid);
        }
    }
    if (veil_ok(r) && c->san_ext == NULL) {
        r = fail(VEIL_ERR_PROTO_SAN, why, why_size,
                 "the request names no subject alternative name (DNS or IP)");
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ASN1_OBJECT_free(dice);
    return r;
}

static bool key_acceptable(EVP_PKEY *key)
{
    char group[64];

    if (EVP_PKEY_is_a(key, "EC")) {
        return EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
               (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0);
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        return EVP_PKEY_get_bits(key) >= 2048 && EVP_PKEY_get_bits(key) <= 8192;
    }
    return false;
}

veil_result veil_kbs_csr_parse(const uint8_t *der, size_t n, struct veil_kbs_csr *out, char *why,
                               size_t why_size)
{
    const unsigned char *p = der;
    struct veil_kbs_csr c;
    veil_result r;

    ENSURE(der != NULL && out != NULL, VEIL_ERR_USAGE);
    memset(&c, 0, sizeof(c));
    if (n == 0 || n > VEIL_KBS_CSR_SIZE_MAX) {
        return fail(VEIL_ERR_PROTO_CSR, why, why_size, "the request must be 1..%u bytes of DER",
                    VEIL_KBS_CSR_SIZE_MAX);
    }
    c.req = d2i_X509_REQ(NULL, &p, (long)n);
    if (c.req == NULL || p != der + n) {
        veil_ossl_drain(__func__);
        X509_REQ_free(c.req);
        return fail(VEIL_ERR_PROTO_CSR, why, why_size, "not one DER PKCS#10 request");
    }
    c.key = X509_REQ_get0_pubkey(c.req);
    if (c.key == NULL || !key_acceptable(c.key)) {
        r = fail(VEIL_ERR_PROTO_CSR, why, why_size,
                 "the key must be EC P-256, EC P-384 or RSA 2048..8192 bits");
    } else if (X509_REQ_verify(c.req, c.key) != 1) {
        r = fail(VEIL_ERR_PROTO_CSR, why, why_size,
                 "the request's signature does not verify with its key");
    } else {
        r = take_extensions(&c, why, why_size);
    }
    veil_ossl_drain(__func__);
    if (!veil_ok(r)) {
        veil_kbs_csr_free(&c);
        return r;
    }
    *out = c;
    return VEIL_RESULT_OK;
}

void veil_kbs_csr_free(struct veil_kbs_csr *c)
{
    if (c != NULL) {
        X509_EXTENSION_free(c->san_ext);
        X509_EXTENSION_free(c->evidence_ext);
        X509_REQ_free(c->req);
        memset(c, 0, sizeof(*c));
    }
}

static VEIL_RESULT csr_extensions(X509_REQ *req, const char *san, X509 *ratls_cert)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    ASN1_OBJECT *dice = OBJ_txt2obj(VEIL_RATLS_OID, 1);
    X509_EXTENSION *e = NULL;
    X509V3_CTX ctx;
    bool ok = exts != NULL && dice != NULL;

    X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
    e = ok ? X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san) : NULL;
    ok = e != NULL && sk_X509_EXTENSION_push(exts, e) > 0;
    if (!ok) {
        X509_EXTENSION_free(e);
    }
    if (ok && ratls_cert != NULL) {
        int idx = X509_get_ext_by_OBJ(ratls_cert, dice, -1);
        e = idx >= 0 ? X509_EXTENSION_dup(X509_get_ext(ratls_cert, idx)) : NULL;
        ok = e != NULL && sk_X509_EXTENSION_push(exts, e) > 0;
        if (!ok) {
            X509_EXTENSION_free(e);
        }
    }
    ok = ok && X509_REQ_add_extensions(req, exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ASN1_OBJECT_free(dice);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_USAGE);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_csr_make(EVP_PKEY *key, const char *cn, const char *san, X509 *ratls_cert,
                              struct veil_wr *der)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char *buf = NULL;
    int len = 0;
    veil_result r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);

    if (key == NULL || cn == NULL || san == NULL) {
        r = veil_result_of(VEIL_ERR_USAGE);
        goto out;
    }
    if (req == NULL || name == NULL || X509_REQ_set_version(req, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1) {
        goto out;
    }
    r = csr_extensions(req, san, ratls_cert);
    if (!veil_ok(r)) {
        goto out;
    }
    if (X509_REQ_sign(req, key, EVP_sha384()) <= 0 || (len = i2d_X509_REQ(req, &buf)) <= 0) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        goto out;
    }
    r = veil_wr_bytes(der, buf, (size_t)len);
out:
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
    }
    OPENSSL_free(buf);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return r;
}

/* ---- The CA */

veil_result veil_kbs_ca_create(const char *cn, long validity_s, struct veil_kbs_ca *ca)
{
    struct veil_x509_params p = {cn, validity_s, true, NULL, false};
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;

    ENSURE(cn != NULL && validity_s > 0 && ca != NULL, VEIL_ERR_USAGE);
    GUARD(veil_sign_keygen(VEIL_SIG_ECDSA_P384, &key));
    veil_result r = veil_x509_make(key, &p, NULL, key, &cert);
    if (!veil_ok(r)) {
        EVP_PKEY_free(key);
        return r;
    }
    ca->cert = cert;
    ca->key = key;
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_ca_load(const char *cert_path, const char *key_path, struct veil_kbs_ca *ca)
{
    struct veil_wr pem;
    BIO *bio = NULL;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    veil_result r;

    ENSURE(cert_path != NULL && key_path != NULL && ca != NULL, VEIL_ERR_USAGE);
    veil_wr_init(&pem, CA_PEM_SIZE_MAX);
    r = veil_file_read(cert_path, CA_PEM_SIZE_MAX, &pem);
    if (veil_ok(r)) {
        bio = BIO_new_mem_buf(pem.data, (int)pem.len);
        cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        r = cert != NULL ? VEIL_RESULT_OK : veil_result_of(VEIL_ERR_PROTO_KEY);
    }
    if (veil_ok(r)) {
        r = veil_sign_load_private(key_path, &key);
    }
    if (veil_ok(r) && (X509_check_private_key(cert, key) != 1 || X509_check_ca(cert) < 1)) {
        r = veil_result_of(VEIL_ERR_PROTO_KEY);
    }
    veil_ossl_drain(__func__);
    BIO_free(bio);
    veil_wr_free(&pem);
    if (!veil_ok(r)) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return r;
    }
    ca->cert = cert;
    ca->key = key;
    return VEIL_RESULT_OK;
}

void veil_kbs_ca_free(struct veil_kbs_ca *ca)
{
    if (ca != NULL) {
        X509_free(ca->cert);
        EVP_PKEY_free(ca->key);
        ca->cert = NULL;
        ca->key = NULL;
    }
}

/* ---- Issuing */

static VEIL_RESULT add_conf_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ENSURE(ext != NULL, VEIL_ERR_INTERNAL_OSSL);
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    GUARD_OSSL(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT issue_fields(X509 *cert, const struct veil_kbs_ca *ca,
                                const struct veil_kbs_csr *csr, const char *cn, int64_t now,
                                int64_t validity_s)
{
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    X509_NAME *name = X509_NAME_new();
    bool ok;

    ok = name != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
    if (ok) {
        serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
        bn = BN_bin2bn(serial, sizeof(serial), NULL);
    }
    ok = ok && bn != NULL && X509_set_version(cert, X509_VERSION_3) == 1 &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) == 1 &&
         X509_set_subject_name(cert, name) == 1 &&
         X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) == 1 &&
         ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(now - 60)) != NULL &&
         ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(now + validity_s)) != NULL &&
         X509_set_pubkey(cert, csr->key) == 1;
    BN_free(bn);
    X509_NAME_free(name);
    ENSURE(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_cert_issue(const struct veil_kbs_ca *ca, const struct veil_kbs_csr *csr,
                                const char *cn, int64_t now, int64_t validity_s, X509 **out)
{
    X509 *cert;
    veil_result r;

    ENSURE(ca != NULL && ca->cert != NULL && ca->key != NULL && csr != NULL && csr->key != NULL &&
               csr->san_ext != NULL && cn != NULL && validity_s > 0 && out != NULL,
           VEIL_ERR_USAGE);
    cert = X509_new();
    ENSURE(cert != NULL, VEIL_ERR_NOMEM);
    r = issue_fields(cert, ca, csr, cn, now, validity_s);
    if (veil_ok(r)) {
        r = add_conf_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
    }
    if (veil_ok(r)) {
        r = add_conf_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature");
    }
    if (veil_ok(r)) {
        r = add_conf_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth");
    }
    if (veil_ok(r)) {
        r = add_conf_ext(cert, ca->cert, NID_subject_key_identifier, "hash");
    }
    if (veil_ok(r)) {
        r = add_conf_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always");
    }
    if (veil_ok(r) &&
        (X509_add_ext(cert, csr->san_ext, -1) != 1 ||
         (csr->evidence_ext != NULL && X509_add_ext(cert, csr->evidence_ext, -1) != 1) ||
         X509_sign(cert, ca->key, EVP_sha384()) <= 0)) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (!veil_ok(r)) {
        veil_ossl_drain(__func__);
        X509_free(cert);
        return r;
    }
    *out = cert;
    return VEIL_RESULT_OK;
}
