/*
 * Collateral bundles: the user points at files or directories; what each holds is recognized by
 * content. PEM (any number of CERTIFICATE and X509 CRL blocks), DER certificate, DER CRL, or a
 * JSON document (Intel PCS TCB info / QE identity, or a bundle of them).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/file.h"
#include "base/log.h"
#include "verify/verify.h"

#define COLLATERAL_FILE_SIZE_MAX  (16u << 20)
#define COLLATERAL_JSON_COUNT_MAX 256

void veil_collateral_init(struct veil_collateral *c)
{
    memset(c, 0, sizeof(*c));
}

void veil_collateral_free(struct veil_collateral *c)
{
    sk_X509_pop_free(c->certs, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    for (size_t i = 0; i < c->json_count; i++) {
        free(c->json[i]);
    }
    free(c->json);
    free(c->json_size);
    veil_collateral_init(c);
}

static VEIL_RESULT ensure_stacks(struct veil_collateral *c)
{
    if (c->certs == NULL) {
        c->certs = sk_X509_new_null();
    }
    if (c->crls == NULL) {
        c->crls = sk_X509_CRL_new_null();
    }
    ENSURE(c->certs != NULL && c->crls != NULL, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

/* PEM: every CERTIFICATE and X509 CRL block; other block types are ignored. */
static VEIL_RESULT add_pem(struct veil_collateral *c, const uint8_t *data, size_t n, size_t *found)
{
    BIO *bio;
    STACK_OF(X509_INFO) * infos;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(n <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
    bio = BIO_new_mem_buf(data, (int)n);
    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (infos == NULL) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_PROTO);
    }
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 != NULL) {
            if (sk_X509_push(c->certs, info->x509) <= 0) {
                r = veil_result_of(VEIL_ERR_NOMEM);
                break;
            }
            info->x509 = NULL;
            (*found)++;
        }
        if (info->crl != NULL) {
            if (sk_X509_CRL_push(c->crls, info->crl) <= 0) {
                r = veil_result_of(VEIL_ERR_NOMEM);
                break;
            }
            info->crl = NULL;
            (*found)++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return r;
}

static VEIL_RESULT add_json(struct veil_collateral *c, const uint8_t *data, size_t n)
{
    char *copy;
    char **json;
    size_t *sizes;

    ENSURE(c->json_count < COLLATERAL_JSON_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    copy = malloc(n + 1);
    ENSURE(copy != NULL, VEIL_ERR_NOMEM);
    memcpy(copy, data, n);
    copy[n] = '\0';
    json = realloc(c->json, (c->json_count + 1) * sizeof(*json));
    if (json == NULL) {
        free(copy);
        BAIL(VEIL_ERR_NOMEM);
    }
    c->json = json;
    sizes = realloc(c->json_size, (c->json_count + 1) * sizeof(*sizes));
    if (sizes == NULL) {
        free(copy);
        BAIL(VEIL_ERR_NOMEM);
    }
    c->json_size = sizes;
    c->json[c->json_count] = copy;
    c->json_size[c->json_count] = n;
    c->json_count++;
    return VEIL_RESULT_OK;
}

static bool looks_like_json(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
            continue;
        }
        return data[i] == '{' || data[i] == '[';
    }
    return false;
}

veil_result veil_collateral_add_bytes(struct veil_collateral *c, const uint8_t *data, size_t n)
{
    const unsigned char *p;
    X509 *x;
    X509_CRL *crl;
    size_t found = 0;

    GUARD(ensure_stacks(c));
    ENSURE(n > 0, VEIL_ERR_PROTO_TRUNCATED);
    ENSURE(n <= COLLATERAL_FILE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    if (looks_like_json(data, n)) {
        return add_json(c, data, n);
    }
    if (n >= 10 && memmem(data, n, "-----BEGIN", 10) != NULL) {
        GUARD(add_pem(c, data, n, &found));
        ENSURE(found > 0, VEIL_ERR_PROTO);
        return VEIL_RESULT_OK;
    }
    ENSURE(n <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
    /* DER: a whole certificate or a whole CRL, with nothing after it. */
    p = data;
    x = d2i_X509(NULL, &p, (long)n);
    if (x != NULL) {
        if (p != data + n || sk_X509_push(c->certs, x) <= 0) {
            X509_free(x);
            BAIL(p != data + n ? VEIL_ERR_PROTO_TRAILING : VEIL_ERR_NOMEM);
        }
        return VEIL_RESULT_OK;
    }
    p = data;
    crl = d2i_X509_CRL(NULL, &p, (long)n);
    if (crl != NULL) {
        if (p != data + n || sk_X509_CRL_push(c->crls, crl) <= 0) {
            X509_CRL_free(crl);
            BAIL(p != data + n ? VEIL_ERR_PROTO_TRAILING : VEIL_ERR_NOMEM);
        }
        return VEIL_RESULT_OK;
    }
    veil_ossl_drain(__func__);
    BAIL(VEIL_ERR_PROTO);
}

static VEIL_RESULT add_file(struct veil_collateral *c, const char *path)
{
    struct veil_wr w;
    veil_result r;

    GUARD(veil_file_read(path, COLLATERAL_FILE_SIZE_MAX, &w));
    r = veil_collateral_add_bytes(c, w.data, w.len);
    if (!veil_ok(r)) {
        veil_log_r(VEIL_LOG_INFO, r, "collateral file %s not recognized", path);
    }
    veil_wr_free(&w);
    return r;
}

veil_result veil_collateral_add_path(struct veil_collateral *c, const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char full[4096];
    veil_result r = VEIL_RESULT_OK;

    ENSURE(stat(path, &st) == 0, VEIL_ERR_IO_OPEN);
    if (!S_ISDIR(st.st_mode)) {
        return add_file(c, path);
    }
    d = opendir(path);
    ENSURE(d != NULL, VEIL_ERR_IO_OPEN);
    while ((e = readdir(d)) != NULL) {
        struct stat est;
        if (e->d_name[0] == '.') {
            continue;
        }
        if ((size_t)snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= sizeof(full)) {
            r = veil_result_of(VEIL_ERR_USAGE_LIMIT);
            break;
        }
        if (stat(full, &est) != 0 || !S_ISREG(est.st_mode)) {
            continue;
        }
        /* In a directory, files that are not collateral (README, .bin evidence) are skipped. */
        veil_result fr = add_file(c, full);
        if (!veil_ok(fr) && fr.code != VEIL_ERR_PROTO && fr.code != VEIL_ERR_PROTO_TRAILING &&
            fr.code != VEIL_ERR_PROTO_LIMIT) {
            r = fr;
            break;
        }
    }
    (void)closedir(d);
    return r;
}
