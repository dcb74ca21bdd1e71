/* libcurl clients that verify attested TLS servers (see ratls.h). */
#include <stdio.h>

#include "base/file.h"
#include "ratls/ratls.h"

static CURLcode install(CURL *curl, void *ssl_ctx, void *ud)
{
    (void)curl;
    return veil_ok(veil_ratls_client_ctx(ssl_ctx, ud)) ? CURLE_OK : CURLE_SSL_CERTPROBLEM;
}

veil_result veil_ratls_curl_setup(CURL *curl, struct veil_ratls_verifier *v)
{
    ENSURE(curl != NULL && v != NULL && v->policy != NULL, VEIL_ERR_USAGE);
    ENSURE(
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK &&
            /* no CA bundle: the callback decides, so none need be installed */
            curl_easy_setopt(curl, CURLOPT_CAINFO, NULL) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_CAPATH, NULL) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, install) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, v) == CURLE_OK,
        VEIL_ERR_INTERNAL);
    return VEIL_RESULT_OK;
}

veil_result veil_ratls_load(const char *policy_path, const char *const *collateral,
                            size_t collateral_count, struct veil_policy *policy,
                            struct veil_collateral *coll, char *why, size_t why_size)
{
    struct veil_wr w;
    char perr[512];
    veil_result r;

    veil_collateral_init(coll);
    r = veil_file_read(policy_path, VEIL_POLICY_SIZE_MAX + 1, &w);
    if (!veil_ok(r)) {
        (void)snprintf(why, why_size, "%s: %s", policy_path, veil_strerror(r.code));
        return r;
    }
    r = veil_policy_parse(w.data, w.len, policy, perr, sizeof(perr));
    veil_wr_free(&w);
    if (!veil_ok(r)) {
        (void)snprintf(why, why_size, "%s: %s", policy_path, perr);
        return r;
    }
    for (size_t i = 0; i < collateral_count; i++) {
        r = veil_collateral_add_path(coll, collateral[i]);
        if (!veil_ok(r)) {
            (void)snprintf(why, why_size, "%s: %s", collateral[i], veil_strerror(r.code));
            veil_policy_free(policy);
            veil_collateral_free(coll);
            return r;
        }
    }
    return VEIL_RESULT_OK;
}
