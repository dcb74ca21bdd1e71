/*
 * Key broker client over libcurl (see client.h). libcurl is loaded with dlopen for the life of a
 * client only: veil-serve needs it for its start-up exchange alone, and linked in, libcurl and its
 * dependency tree (GnuTLS, Kerberos, LDAP, libssh2, nghttp2, ...) kept about 4 MB of pages
 * resident for as long as it served (bench/engine/memory: baseline_serve_rss_bytes). Programs
 * that link libcurl themselves (the CLI) get the loaded copy, and dlclose leaves it there.
 */
#include "kbs/client.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "jose/jose.h"
#include "kbs/cert.h"
#include "kbs/proto.h"

#define CLIENT_BODY_MAX (1u << 20)
#define CURL_SONAME     "libcurl.so.4"

/* Under AddressSanitizer the library stays mapped after dlclose: LeakSanitizer's exit-time scan
 * crashed ("Tracer caught signal 11") walking what an unloaded libcurl had left behind. */
#if defined(__SANITIZE_ADDRESS__)
#define CURL_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CURL_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#endif
#endif
#ifndef CURL_DLOPEN_FLAGS
#define CURL_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

/* The libcurl functions the client calls, from the loaded library. */
struct curl_api {
    void *lib;
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
};

struct exchange {
    const struct curl_api *api;
    CURL *curl;
    struct veil_wr body;
    long status;
    char *why;
    size_t why_size;
    bool fresh; /* the next request opens a new connection (the first of a session) */
};

struct veil_kbs_client {
    struct veil_kbs_client_opts o;
    struct curl_api api;
    CURL *curl;        /* kept across fetches */
    X509_STORE *trust; /* o->cacert, read once: libcurl would read the file per connection */
};

static void curl_unload(struct curl_api *a)
{
    if (a->lib != NULL) {
        a->global_cleanup(); /* libcurl counts its initialisations: this one's */
        (void)dlclose(a->lib);
    }
    memset(a, 0, sizeof(*a));
}

/* dlsym's object pointer into a function pointer (POSIX guarantees the two convert). */
static bool curl_sym(void *lib, const char *name, void *fn, size_t fn_size)
{
    void *p = dlsym(lib, name);

    if (p == NULL || fn_size != sizeof(p)) {
        return false;
    }
    memcpy(fn, &p, sizeof(p));
    return true;
}

#define CURL_SYM(a, field, name) curl_sym((a)->lib, name, &(a)->field, sizeof((a)->field))

void *veil_kbs_curl_preload(void)
{
    return dlopen(CURL_SONAME, CURL_DLOPEN_FLAGS);
}

void veil_kbs_curl_release(void *handle)
{
    if (handle != NULL) {
        (void)dlclose(handle);
    }
}

static VEIL_RESULT curl_load(struct curl_api *a)
{
    memset(a, 0, sizeof(*a));
    a->lib = dlopen(CURL_SONAME, CURL_DLOPEN_FLAGS);
    ENSURE(a->lib != NULL, VEIL_ERR_KBS_CURL);
    if (!(CURL_SYM(a, global_init, "curl_global_init") &&
          CURL_SYM(a, global_cleanup, "curl_global_cleanup") &&
          CURL_SYM(a, easy_init, "curl_easy_init") &&
          CURL_SYM(a, easy_cleanup, "curl_easy_cleanup") &&
          CURL_SYM(a, easy_setopt, "curl_easy_setopt") &&
          CURL_SYM(a, easy_perform, "curl_easy_perform") &&
          CURL_SYM(a, easy_getinfo, "curl_easy_getinfo") &&
          CURL_SYM(a, easy_strerror, "curl_easy_strerror") &&
          CURL_SYM(a, slist_append, "curl_slist_append") &&
          CURL_SYM(a, slist_free_all, "curl_slist_free_all"))) {
        (void)dlclose(a->lib);
        a->lib = NULL;
        BAIL(VEIL_ERR_KBS_CURL);
    }
    if (a->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        (void)dlclose(a->lib);
        a->lib = NULL;
        BAIL(VEIL_ERR_KBS_CURL);
    }
    return VEIL_RESULT_OK;
}

/* libcurl's SSL_CTX for a new connection: trust the store read at veil_kbs_client_new. */
static CURLcode install_trust(CURL *curl, void *ssl_ctx, void *arg)
{
    struct veil_kbs_client *c = arg;

    (void)curl;
    SSL_CTX_set1_cert_store(ssl_ctx, c->trust);
    return CURLE_OK;
}

__attribute__((format(printf, 3, 4))) static veil_result fail(struct exchange *x, int code,
                                                              const char *fmt, ...)
{
    va_list ap;

    if (x->why != NULL && x->why_size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(x->why, x->why_size, fmt, ap);
        va_end(ap);
    }
    return veil_result_of(code);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct veil_wr *w = ud;

    return veil_ok(veil_wr_bytes(w, p, size * n)) ? size * n : 0;
}

/* The detail of an RFC 7807 error body, or the body itself. */
static void error_detail(const struct veil_wr *body, char *out, size_t size)
{
    json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    const char *slash = type != NULL ? strrchr(type, '/') : NULL;

    if (detail != NULL) {
        (void)snprintf(out, size, "%s: %s", slash != NULL ? slash + 1 : "error", detail);
    } else {
        (void)snprintf(out, size, "%.*s", (int)(body->len > 200 ? 200 : body->len),
                       body->data != NULL ? (const char *)body->data : "");
    }
    json_decref(j);
}

/* One request; a status other than 200 is an error naming the step. A session's requests share
 * one keep-alive connection (libcurl reuses it, and opens a new one if the broker closed it);
 * last closes it once answered, so that every session is one connection of its own. */
static VEIL_RESULT call(struct exchange *x, const struct veil_kbs_client_opts *o, const char *step,
                        const char *path, const struct veil_wr *post, bool last)
{
    char url[2048];
    struct curl_slist *h = NULL;
    CURLcode cc;
    char detail[1024];

    veil_wr_reset(&x->body);
    (void)snprintf(url, sizeof(url), "%s%s", o->url, path);
    x->api->easy_setopt(x->curl, CURLOPT_URL, url);
    if (post != NULL) {
        h = x->api->slist_append(NULL, "Content-Type: application/json");
        x->api->easy_setopt(x->curl, CURLOPT_HTTPHEADER, h);
        x->api->easy_setopt(x->curl, CURLOPT_POSTFIELDS, post->data);
        x->api->easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE, (long)post->len);
    } else {
        x->api->easy_setopt(x->curl, CURLOPT_HTTPGET, 1L);
    }
    x->api->easy_setopt(x->curl, CURLOPT_FRESH_CONNECT, x->fresh ? 1L : 0L);
    x->api->easy_setopt(x->curl, CURLOPT_FORBID_REUSE, last ? 1L : 0L);
    x->fresh = false;
    cc = x->api->easy_perform(x->curl);
    x->api->easy_setopt(x->curl, CURLOPT_HTTPHEADER, NULL);
    x->api->slist_free_all(h);
    if (cc != CURLE_OK) {
        return fail(x, VEIL_ERR_IO, "%s: cannot reach the key broker: %s", step,
                    x->api->easy_strerror(cc));
    }
    x->api->easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status != 200) {
        error_detail(&x->body, detail, sizeof(detail));
        return fail(x, x->status == 403 ? VEIL_ERR_POLICY : VEIL_ERR_ATTEST,
                    "%s: key broker answered %ld %s", step, x->status, detail);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_kbs_attestation_body(const char *nonce, EVP_PKEY *eph,
                                      veil_kbs_attester_fn attester, void *attester_ctx,
                                      struct veil_wr *out, bool *attester_failed)
{
    json_t *jwk = NULL;
    json_t *rd = NULL;
    uint8_t report_data[64] = {0};
    struct veil_wr evidence;
    veil_result r;

    *attester_failed = false;
    veil_wr_init(&evidence, VEIL_KBS_EVIDENCE_SIZE_MAX);
    r = veil_jwk_to_json(eph, &jwk);
    if (veil_ok(r)) {
        r = veil_kbs_runtime_data_build(nonce, jwk, &rd);
    }
    if (veil_ok(r)) {
        r = veil_kbs_runtime_data_hash(rd, report_data);
    }
    if (veil_ok(r)) {
        r = attester(attester_ctx, report_data, &evidence);
        *attester_failed = !veil_ok(r);
    }
    if (veil_ok(r)) {
        r = veil_kbs_attestation_build(rd, evidence.data, evidence.len, out);
    }
    veil_wr_free(&evidence);
    json_decref(rd);
    json_decref(jwk);
    return r;
}

/* The Attestation body for this exchange; an attester failure is said as such. */
static VEIL_RESULT attestation_body(struct exchange *x, const struct veil_kbs_client_opts *o,
                                    const char *nonce, EVP_PKEY *eph, struct veil_wr *out)
{
    bool attester_failed;
    veil_result r =
        veil_kbs_attestation_body(nonce, eph, o->attester, o->attester_ctx, out, &attester_failed);

    if (attester_failed) {
        r = fail(x, r.code, "evidence: the attester failed: %s", veil_strerror(r.code));
    }
    return r;
}

static VEIL_RESULT decrypt(struct exchange *x, EVP_PKEY *eph, struct veil_wr *secret)
{
    json_t *jwe = json_loadb((const char *)x->body.data, x->body.len, JSON_REJECT_DUPLICATES, NULL);
    veil_result r;

    if (jwe == NULL) {
        return fail(x, VEIL_ERR_PROTO, "resource: the answer is not JSON");
    }
    r = veil_jwe_decrypt(eph, jwe, secret);
    json_decref(jwe);
    if (!veil_ok(r)) {
        return fail(x, r.code, "resource: cannot decrypt the JWE: %s", veil_strerror(r.code));
    }
    return VEIL_RESULT_OK;
}

/* The leaf of the answered chain must be for our key. */
static VEIL_RESULT check_leaf(struct exchange *x, EVP_PKEY *key, const struct veil_wr *pem)
{
    BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);
    X509 *leaf = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    bool ok = leaf != NULL && EVP_PKEY_eq(X509_get0_pubkey(leaf), key) == 1;

    X509_free(leaf);
    BIO_free(bio);
    veil_ossl_drain(__func__);
    return ok ? VEIL_RESULT_OK
              : fail(x, VEIL_ERR_PROTO, "cert: the issued leaf is not for our key");
}

static VEIL_RESULT request_cert(struct exchange *x, const struct veil_kbs_client_opts *o,
                                const struct veil_kbs_cert_want *want, struct veil_wr *chain_pem)
{
    struct veil_wr csr;
    struct veil_wr req;
    veil_result r;

    veil_wr_init(&csr, VEIL_KBS_CSR_SIZE_MAX);
    veil_wr_init(&req, VEIL_KBS_BODY_SIZE_MAX);
    r = veil_kbs_csr_make(want->key, want->name, want->san, want->ratls_cert, &csr);
    if (!veil_ok(r)) {
        r = fail(x, r.code, "cert: cannot make the request (san \"%s\"): %s", want->san,
                 veil_strerror(r.code));
    }
    if (veil_ok(r)) {
        r = veil_kbs_cert_request_build(want->name, csr.data, csr.len, want->validity_s, &req);
    }
    if (veil_ok(r)) {
        r = call(x, o, "cert", "/kbs/v0/cert", &req, true);
    }
    if (veil_ok(r) &&
        !veil_ok(veil_kbs_cert_response_parse(x->body.data, x->body.len, chain_pem))) {
        r = fail(x, VEIL_ERR_PROTO, "cert: the answer is malformed");
    }
    if (veil_ok(r)) {
        r = check_leaf(x, want->key, chain_pem);
    }
    veil_wr_free(&req);
    veil_wr_free(&csr);
    return r;
}

static VEIL_RESULT session(struct exchange *x, const struct veil_kbs_client_opts *o,
                           const char *resource, struct veil_wr *secret,
                           const struct veil_kbs_cert_want *want, struct veil_wr *chain_pem)
{
    struct veil_wr req;
    char nonce[128];
    char path[512];
    EVP_PKEY *eph = NULL;
    veil_result r;

    veil_wr_init(&req, VEIL_KBS_BODY_SIZE_MAX);
    x->api->easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, collect);
    x->api->easy_setopt(x->curl, CURLOPT_WRITEDATA, &x->body);
    /* The session cookie, in memory only, and only this session's: a new session starts with
     * none. */
    x->api->easy_setopt(x->curl, CURLOPT_COOKIEFILE, "");
    x->api->easy_setopt(x->curl, CURLOPT_COOKIELIST, "ALL");
    x->fresh = true;
    r = veil_kbs_request_build(o->tee, &req);
    if (veil_ok(r)) {
        r = call(x, o, "auth", "/kbs/v0/auth", &req, false);
    }
    if (veil_ok(r) &&
        !veil_ok(veil_kbs_challenge_parse(x->body.data, x->body.len, nonce, sizeof(nonce)))) {
        r = fail(x, VEIL_ERR_PROTO, "auth: the challenge is malformed");
    }
    if (veil_ok(r) && want != NULL) {
        r = EVP_PKEY_up_ref(want->key) == 1 ? VEIL_RESULT_OK
                                            : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        eph = veil_ok(r) ? want->key : NULL;
    } else if (veil_ok(r)) {
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        r = eph != NULL ? VEIL_RESULT_OK : veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    if (veil_ok(r)) {
        veil_wr_reset(&req);
        r = attestation_body(x, o, nonce, eph, &req);
    }
    if (veil_ok(r)) {
        r = call(x, o, "attest", "/kbs/v0/attest", &req, resource == NULL && want == NULL);
    }
    if (veil_ok(r) && resource != NULL) {
        (void)snprintf(path, sizeof(path), "/kbs/v0/resource/%s", resource);
        r = call(x, o, "resource", path, NULL, want == NULL);
        if (veil_ok(r)) {
            r = decrypt(x, eph, secret);
        }
    }
    if (veil_ok(r) && want != NULL) {
        r = request_cert(x, o, want, chain_pem);
    }
    EVP_PKEY_free(eph);
    veil_wr_free(&req);
    return r;
}

/* Why veil_kbs_client_new failed, said in x->why. */
static VEIL_RESULT client_new_failed(struct exchange *x, const struct veil_kbs_client_opts *o,
                                     veil_result r)
{
    if (r.code == VEIL_ERR_IO) {
        return fail(x, r.code, "cannot read the broker's CA file %s", o->cacert);
    }
    if (r.code == VEIL_ERR_KBS_CURL) {
        return fail(x, r.code, "cannot load %s for the key broker exchange", CURL_SONAME);
    }
    return r;
}

veil_result veil_kbs_client_new(const struct veil_kbs_client_opts *o, struct veil_kbs_client **out)
{
    struct veil_kbs_client *c;

    ENSURE(o != NULL && o->url != NULL && o->attester != NULL && out != NULL, VEIL_ERR_USAGE);
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    c->o = *o;
    veil_result r = curl_load(&c->api);
    if (!veil_ok(r)) {
        free(c);
        return r;
    }
    c->curl = c->api.easy_init();
    if (c->curl == NULL) {
        veil_kbs_client_free(c);
        BAIL(VEIL_ERR_NOMEM);
    }
    c->api.easy_setopt(c->curl, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
    c->api.easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https,http");
    /* A TEE attests afresh on every start: a full handshake per session, never a resumed one
     * (the broker issues no tickets either). */
    c->api.easy_setopt(c->curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    if (o->cacert != NULL) {
        /* The broker's certificate or CA, read once (a TEE starts once; a load generator would
         * otherwise parse the file on every release), and nothing from the system store. */
        c->trust = X509_STORE_new();
        if (c->trust == NULL || X509_STORE_load_file(c->trust, o->cacert) != 1) {
            veil_ossl_drain(__func__);
            veil_kbs_client_free(c);
            BAIL(VEIL_ERR_IO);
        }
        c->api.easy_setopt(c->curl, CURLOPT_SSL_CTX_DATA, c);
        if (c->api.easy_setopt(c->curl, CURLOPT_SSL_CTX_FUNCTION, install_trust) == CURLE_OK) {
            c->api.easy_setopt(c->curl, CURLOPT_CAINFO, NULL);
            c->api.easy_setopt(c->curl, CURLOPT_CAPATH, NULL);
        } else { /* a libcurl without OpenSSL: it reads the file itself */
            c->api.easy_setopt(c->curl, CURLOPT_CAINFO, o->cacert);
        }
    }
    *out = c;
    return VEIL_RESULT_OK;
}

void veil_kbs_client_free(struct veil_kbs_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->curl != NULL) {
        c->api.easy_cleanup(c->curl);
    }
    curl_unload(&c->api);
    X509_STORE_free(c->trust);
    free(c);
}

veil_result veil_kbs_client_fetch(struct veil_kbs_client *c, const char *resource,
                                  struct veil_wr *secret, char *why, size_t why_size)
{
    struct exchange x = {
        c != NULL ? &c->api : NULL, c != NULL ? c->curl : NULL, {0}, 0, why, why_size, true};
    veil_result r;

    ENSURE(c != NULL && secret != NULL, VEIL_ERR_USAGE);
    if (!veil_kbs_resource_path_valid(resource)) {
        return fail(&x, VEIL_ERR_USAGE, "resource must be repo/type/tag");
    }
    veil_wr_init(&x.body, CLIENT_BODY_MAX);
    r = session(&x, &c->o, resource, secret, NULL, NULL);
    veil_wr_free(&x.body);
    return r;
}

veil_result veil_kbs_fetch(const struct veil_kbs_client_opts *o, const char *resource,
                           struct veil_wr *secret, char *why, size_t why_size)
{
    struct exchange x = {NULL, NULL, {0}, 0, why, why_size, true};
    struct veil_kbs_client *c = NULL;
    veil_result r;

    if (!veil_kbs_resource_path_valid(resource)) {
        return fail(&x, VEIL_ERR_USAGE, "resource must be repo/type/tag");
    }
    r = veil_kbs_client_new(o, &c);
    if (!veil_ok(r)) {
        return client_new_failed(&x, o, r);
    }
    r = veil_kbs_client_fetch(c, resource, secret, why, why_size);
    veil_kbs_client_free(c);
    return r;
}

veil_result veil_kbs_fetch_cert(const struct veil_kbs_client_opts *o, const char *resource,
                                struct veil_wr *secret, const struct veil_kbs_cert_want *want,
                                struct veil_wr *chain_pem, char *why, size_t why_size)
{
    struct exchange x = {NULL, NULL, {0}, 0, why, why_size, true};
    struct veil_kbs_client *c = NULL;
    veil_result r;

    ENSURE(want != NULL && want->key != NULL && want->name != NULL && want->san != NULL &&
               chain_pem != NULL,
           VEIL_ERR_USAGE);
    if (resource != NULL && (secret == NULL || !veil_kbs_resource_path_valid(resource))) {
        return fail(&x, VEIL_ERR_USAGE, "resource must be repo/type/tag");
    }
    r = veil_kbs_client_new(o, &c);
    if (!veil_ok(r)) {
        return client_new_failed(&x, o, r);
    }
    x.api = &c->api;
    x.curl = c->curl;
    veil_wr_init(&x.body, CLIENT_BODY_MAX);
    r = session(&x, &c->o, resource, secret, want, chain_pem);
    veil_wr_free(&x.body);
    veil_kbs_client_free(c);
    return r;
}
