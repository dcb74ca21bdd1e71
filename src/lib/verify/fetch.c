/* Online collateral with a cache and back-off (see fetch.h). */
#include "verify/fetch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "base/encoding.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "verify/dcap_internal.h"
#include "verify/snp.h"

#define HEADER_MAX     (64u << 10)
#define BACKOFF_MAX_MS 5000u

struct response {
    struct veil_wr body;
    struct veil_wr header; /* the value of the one header asked for (URL-decoded later) */
    const char *header_name;
    long retry_after_s;
};

__attribute__((format(printf, 4, 5))) static veil_result fail(char *why, size_t size, int code,
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

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct response *r = ud;

    return veil_ok(veil_wr_bytes(&r->body, p, size * n)) ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct response *r = ud;
    size_t len = size * n;
    size_t name = r->header_name != NULL ? strlen(r->header_name) : 0;

    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char num[16] = {0};
        size_t k = 0;
        for (size_t i = 12; i < len && k + 1 < sizeof(num); i++) {
            if (p[i] >= '0' && p[i] <= '9') {
                num[k++] = p[i];
            }
        }
        r->retry_after_s = k > 0 && k < 6 ? strtol(num, NULL, 10) : -1;
    }
    if (name > 0 && len > name + 1 && strncasecmp(p, r->header_name, name) == 0 && p[name] == ':') {
        size_t start = name + 1;
        while (start < len && (p[start] == ' ' || p[start] == '\t')) {
            start++;
        }
        while (len > start && (p[len - 1] == '\r' || p[len - 1] == '\n')) {
            len--;
        }
        veil_wr_reset(&r->header);
        if (!veil_ok(veil_wr_bytes(&r->header, p + start, len - start))) {
            return 0;
        }
    }
    return size * n;
}

/* %XX decoding (PCS sends issuer chains URL-encoded in a header). */
veil_result veil_fetch_url_decode(struct veil_wr *w)
{
    size_t o = 0;

    for (size_t i = 0; i < w->len; i++) {
        uint8_t c = w->data[i];
        if (c == '%') {
            uint8_t v;
            size_t got = 0;
            ENSURE(i + 2 < w->len, VEIL_ERR_PROTO_ENCODING);
            ENSURE(veil_ok(veil_hex_decode((const char *)w->data + i + 1, 2, &v, 1, &got)),
                   VEIL_ERR_PROTO_ENCODING);
            c = v;
            i += 2;
        }
        w->data[o++] = c;
    }
    w->len = o;
    return VEIL_RESULT_OK;
}

static void cache_path(const struct veil_fetch *f, const char *url, const char *suffix, char *out,
                       size_t size)
{
    uint8_t d[32];
    char hex[65] = "";

    if (veil_ok(veil_sha256(url, strlen(url), d))) {
        (void)veil_ok(veil_hex_encode(d, sizeof(d), hex, sizeof(hex)));
    }
    if (!veil_path_join(out, size, f->cache_dir, hex) || strlen(out) + strlen(suffix) + 1 > size) {
        out[0] = '\0';
        return;
    }
    memcpy(out + strlen(out), suffix, strlen(suffix) + 1);
}

/* A cached copy, if fresh enough (max_age_s < 0: any age). */
static bool cache_get(const struct veil_fetch *f, const char *url, long max_age_s,
                      struct response *r)
{
    char path[4096];
    char hpath[4096];
    struct stat st;
    struct veil_wr w;

    if (f->cache_dir == NULL) {
        return false;
    }
    cache_path(f, url, ".body", path, sizeof(path));
    cache_path(f, url, ".header", hpath, sizeof(hpath));
    if (path[0] == '\0' || stat(path, &st) != 0 ||
        (max_age_s >= 0 && time(NULL) - st.st_mtime > max_age_s)) {
        return false;
    }
    if (!veil_ok(veil_file_read(path, VEIL_FETCH_BODY_MAX, &w))) {
        return false;
    }
    veil_wr_reset(&r->body);
    if (!veil_ok(veil_wr_bytes(&r->body, w.data, w.len))) {
        veil_wr_free(&w);
        return false;
    }
    veil_wr_free(&w);
    if (r->header_name != NULL && veil_ok(veil_file_read(hpath, HEADER_MAX, &w))) {
        veil_wr_reset(&r->header);
        (void)veil_ok(veil_wr_bytes(&r->header, w.data, w.len));
        veil_wr_free(&w);
    }
    veil_log(VEIL_LOG_DEBUG, "collateral from cache: %s", url);
    return true;
}

static void cache_put(const struct veil_fetch *f, const char *url, const struct response *r)
{
    char path[4096];

    if (f->cache_dir == NULL) {
        return;
    }
    (void)mkdir(f->cache_dir, 0700);
    cache_path(f, url, ".body", path, sizeof(path));
    if (path[0] == '\0' ||
        !veil_ok(veil_file_write_atomic(path, r->body.data, r->body.len, 0644, 1))) {
        veil_log(VEIL_LOG_WARN, "cannot cache %s in %s", url, f->cache_dir);
        return;
    }
    if (r->header_name != NULL && r->header.len > 0) {
        cache_path(f, url, ".header", path, sizeof(path));
        (void)veil_ok(veil_file_write_atomic(path, r->header.data, r->header.len, 0644, 1));
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* GET url into r: from the cache when fresh, else from the network with retries. */
static VEIL_RESULT get(const struct veil_fetch *f, const char *url, long max_age_s,
                       struct response *r, char *why, size_t why_size)
{
    unsigned attempts = 1 + (f->retries > 0 ? f->retries : 3);
    unsigned delay = f->backoff_ms > 0 ? f->backoff_ms : 250;
    long status = 0;
    CURLcode cc = CURLE_OK;
    CURL *c;

    if (cache_get(f, url, max_age_s, r)) {
        return VEIL_RESULT_OK;
    }
    c = curl_easy_init();
    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout_s > 0 ? f->timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)VEIL_FETCH_BODY_MAX);
    if (f->cacert != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, f->cacert);
    }
    for (unsigned i = 0; i < attempts; i++) {
        veil_wr_reset(&r->body);
        veil_wr_reset(&r->header);
        r->retry_after_s = -1;
        cc = curl_easy_perform(c);
        status = 0;
        if (cc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        if (cc == CURLE_OK && status == 200) {
            break;
        }
        /* Retry what may pass: transport errors, 429 and 5xx. Not 404 or other 4xx. */
        if (cc == CURLE_OK && status != 429 && status < 500) {
            break;
        }
        if (i + 1 < attempts) {
            unsigned wait = r->retry_after_s >= 0 ? (unsigned)r->retry_after_s * 1000u : delay;
            veil_log(VEIL_LOG_INFO, "fetching %s: %s; retrying in %u ms", url,
                     cc != CURLE_OK ? curl_easy_strerror(cc) : "server busy", wait);
            sleep_ms(wait > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait);
            delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
        }
    }
    curl_easy_cleanup(c);
    if (cc != CURLE_OK) {
        return fail(why, why_size, VEIL_ERR_IO, "cannot fetch %s: %s", url, curl_easy_strerror(cc));
    }
    if (status != 200) {
        return fail(why, why_size, status == 404 ? VEIL_ERR_IO_OPEN : VEIL_ERR_IO,
                    "fetching %s: the server answered %ld", url, status);
    }
    cache_put(f, url, r);
    return VEIL_RESULT_OK;
}

static void response_init(struct response *r, const char *header_name)
{
    veil_wr_init(&r->body, VEIL_FETCH_BODY_MAX);
    veil_wr_init(&r->header, HEADER_MAX);
    r->header_name = header_name;
    r->retry_after_s = -1;
}

static void response_free(struct response *r)
{
    veil_wr_free(&r->body);
    veil_wr_free(&r->header);
}

/* Fetches url and adds what came (and the named header, URL-decoded) to the collateral. */
static VEIL_RESULT fetch_into(const struct veil_fetch *f, const char *url, long max_age_s,
                              const char *header, struct veil_collateral *out, char *why,
                              size_t why_size)
{
    struct response r;
    veil_result res;

    response_init(&r, header);
    res = get(f, url, max_age_s, &r, why, why_size);
    if (veil_ok(res)) {
        res = veil_collateral_add_bytes(out, r.body.data, r.body.len);
        if (!veil_ok(res)) {
            (void)fail(why, why_size, res.code, "%s: the answer is not collateral", url);
        }
    }
    if (veil_ok(res) && header != NULL) {
        res = r.header.len > 0
                  ? veil_fetch_url_decode(&r.header)
                  : fail(why, why_size, VEIL_ERR_PROTO, "%s: no %s header", url, header);
        if (veil_ok(res)) {
            res = veil_collateral_add_bytes(out, r.header.data, r.header.len);
        }
    }
    response_free(&r);
    return res;
}

static long max_age(const struct veil_fetch *f)
{
    return f->max_age_s > 0 ? f->max_age_s : 86400;
}

/* AMD KDS: the VCEK for this chip and TCB, and the product's ASK/ARK chain. */
static VEIL_RESULT fetch_snp(const struct veil_fetch *f, const uint8_t *ev, size_t n,
                             struct veil_collateral *out, char *why, size_t why_size)
{
    static const enum veil_snp_product order[] = {VEIL_SNP_PRODUCT_MILAN, VEIL_SNP_PRODUCT_GENOA,
                                                  VEIL_SNP_PRODUCT_TURIN};
    const char *base = f->amd_kds != NULL ? f->amd_kds : VEIL_FETCH_AMD_KDS;
    struct veil_snp_report rep;
    enum veil_snp_product known;
    veil_result r = veil_result_of(VEIL_ERR_IO_OPEN);

    GUARD(veil_snp_report_parse(ev, n < VEIL_SNP_REPORT_SIZE ? n : VEIL_SNP_REPORT_SIZE, &rep));
    if (rep.signing_key != 0) {
        return fail(why, why_size, VEIL_ERR_USAGE,
                    "the report is signed by a VLEK, which AMD KDS does not serve publicly");
    }
    known = rep.version >= 3 ? veil_snp_product_from_cpuid(rep.cpuid_fam_id, rep.cpuid_mod_id)
                             : VEIL_SNP_PRODUCT_UNKNOWN;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum veil_snp_product p = known != VEIL_SNP_PRODUCT_UNKNOWN ? known : order[i];
        const char *name = veil_snp_product_name(p);
        size_t id_size = p == VEIL_SNP_PRODUCT_TURIN ? 8 : VEIL_SNP_CHIP_ID_SIZE;
        char hwid[2 * VEIL_SNP_CHIP_ID_SIZE + 1];
        char url[1024];
        struct veil_snp_tcb t;
        veil_snp_tcb_decode(rep.reported_tcb, p, &t);
        GUARD(veil_hex_encode(rep.chip_id, id_size, hwid, sizeof(hwid)));
        if (p == VEIL_SNP_PRODUCT_TURIN) {
            (void)snprintf(url, sizeof(url),
                           "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                           base, name, hwid, t.fmc, t.bootloader, t.tee, t.snp, t.microcode);
        } else {
            (void)snprintf(url, sizeof(url),
                           "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", base, name,
                           hwid, t.bootloader, t.tee, t.snp, t.microcode);
        }
        /* A VCEK is bound to its chip and TCB by its URL: cached for good. */
        r = fetch_into(f, url, -1, NULL, out, why, why_size);
        if (veil_ok(r)) {
            (void)snprintf(url, sizeof(url), "%s/vcek/v1/%s/cert_chain", base, name);
            r = fetch_into(f, url, -1, NULL, out, why, why_size);
        }
        if (veil_ok(r)) {
            (void)snprintf(url, sizeof(url), "%s/vcek/v1/%s/crl", base, name);
            veil_result crl = fetch_into(f, url, max_age(f), NULL, out, why, why_size);
            if (!veil_ok(crl)) {
                veil_log(VEIL_LOG_INFO, "no CRL for %s: %s", name, why);
            }
        }
        if (veil_ok(r) || r.code != VEIL_ERR_IO_OPEN || known != VEIL_SNP_PRODUCT_UNKNOWN) {
            break; /* found, a real failure, or the product was known: no point trying others */
        }
    }
    return r;
}

/* Intel PCS: TCB info and QE identity for the quote's FMSPC, the PCK CRL, the root CA CRL. */
static VEIL_RESULT fetch_dcap(const struct veil_fetch *f, enum veil_tee tee, const uint8_t *ev,
                              size_t n, struct veil_collateral *out, char *why, size_t why_size)
{
    const char *pcs = f->intel_pcs != NULL ? f->intel_pcs : VEIL_FETCH_INTEL_PCS;
    const char *certs = f->intel_certs != NULL ? f->intel_certs : VEIL_FETCH_INTEL_CERTS;
    const char *kind = tee == VEIL_TEE_TDX ? "tdx" : "sgx";
    struct veil_dcap_quote q;
    struct veil_dcap_pck_ext ext;
    STACK_OF(X509) *chain = NULL;
    char fmspc[13];
    char issuer[128] = "";
    char url[1024];
    veil_result r;

    GUARD(veil_dcap_quote_parse(ev, n, &q));
    if (q.pck_chain_pem == NULL) {
        return fail(why, why_size, VEIL_ERR_PROTO,
                    "the quote carries no PCK certificate chain (certification data type 5)");
    }
    GUARD(veil_dcap_pem_chain(q.pck_chain_pem, q.pck_chain_pem_size, &chain));
    r = sk_X509_num(chain) > 0 ? veil_dcap_pck_ext_parse(sk_X509_value(chain, 0), &ext)
                               : veil_result_of(VEIL_ERR_PROTO);
    if (veil_ok(r)) {
        /* Which PCK CA issued it decides which CRL applies. */
        (void)X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(chain, 0)),
                                        NID_commonName, issuer, sizeof(issuer));
    }
    sk_X509_pop_free(chain, X509_free);
    GUARD(r);
    GUARD(veil_hex_encode(ext.fmspc, sizeof(ext.fmspc), fmspc, sizeof(fmspc)));
    (void)snprintf(url, sizeof(url), "%s/%s/certification/v4/tcb?fmspc=%s", pcs, kind, fmspc);
    GUARD(fetch_into(f, url, max_age(f), "TCB-Info-Issuer-Chain", out, why, why_size));
    (void)snprintf(url, sizeof(url), "%s/%s/certification/v4/qe/identity", pcs, kind);
    GUARD(fetch_into(f, url, max_age(f), "SGX-Enclave-Identity-Issuer-Chain", out, why, why_size));
    (void)snprintf(url, sizeof(url), "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=pem", pcs,
                   strstr(issuer, "Processor") != NULL ? "processor" : "platform");
    GUARD(fetch_into(f, url, max_age(f), "SGX-PCK-CRL-Issuer-Chain", out, why, why_size));
    (void)snprintf(url, sizeof(url), "%s/IntelSGXRootCA.der", certs);
    return fetch_into(f, url, max_age(f), NULL, out, why, why_size);
}

veil_result veil_fetch_collateral(const struct veil_fetch *f, enum veil_tee tee,
                                  const uint8_t *evidence, size_t n, struct veil_collateral *out,
                                  char *why, size_t why_size)
{
    switch (tee) {
        case VEIL_TEE_SNP:
            return fetch_snp(f, evidence, n, out, why, why_size);
        case VEIL_TEE_TDX:
        case VEIL_TEE_SGX:
            return fetch_dcap(f, tee, evidence, n, out, why, why_size);
        case VEIL_TEE_SIM:
            return fail(why, why_size, VEIL_ERR_USAGE,
                        "the simulated TEE has no online collateral: give its root.pem");
    }
    return fail(why, why_size, VEIL_ERR_USAGE, "unknown TEE");
}
