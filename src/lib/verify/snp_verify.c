/*
 * The AMD SEV-SNP verifier: report signature by the VCEK/VLEK, the certificate chain
 * VCEK/VLEK -> ASK/ASVK -> ARK with the ARK pinned (snp_roots.c), certificate validity at
 * opts->at, the TCB and chip id the VCEK certifies, CRLs when given, and report_data.
 * Every check lands in the report with a stable id; see docs/ATTESTATION.snp.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/encoding.h"
#include "verify/snp.h"

#define OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define OID_BL_SPL       "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL      "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL      "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL    "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL      "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID         "1.3.6.1.4.1.3704.1.4"

#define TURIN_HWID_SIZE 8
#define NAME_SIZE       64
#define TEXT_SIZE       512
#define ROOTS_MAX       8
#define KDS             "https://kdsintf.amd.com"
#define CACHE_PAIRS_MAX 64

/* Parsed pinned roots and certificate signatures already verified (child, issuer) by SHA-256
 * of their DER: a warm verifier does one ECDSA verification per report. */
struct veil_snp_cache {
    X509 *roots[ROOTS_MAX];
    enum veil_snp_product root_product[ROOTS_MAX];
    size_t root_count;
    uint8_t pairs[CACHE_PAIRS_MAX][2][32];
    size_t pair_count;
    size_t pair_next; /* ring: the oldest pair is replaced when full */
};

struct snp_ctx {
    const struct veil_verify_opts *opts;
    time_t at;
    const uint8_t *body; /* the signed bytes 0x000-0x29F */
    struct veil_snp_report rep;
    STACK_OF(X509) * pool; /* collateral + certificate-table certificates (owned refs) */
    X509 *roots[ROOTS_MAX];
    enum veil_snp_product root_product[ROOTS_MAX];
    size_t root_count;
    struct veil_snp_cache *cache; /* may be NULL; roots are borrowed from it when set */
    X509 *leaf;                   /* borrowed from pool */
    veil_result leaf_sig;         /* sig_verify(leaf), computed once */
    X509 *inter;                  /* borrowed from pool */
    X509 *ark;                    /* borrowed from roots */
    enum veil_snp_product product;
    struct veil_report *report;
    struct veil_claims *claims;
};

/* ---- small helpers */

static const char *key_name(const struct snp_ctx *c)
{
    return c->rep.signing_key == VEIL_SNP_KEY_VLEK ? "VLEK" : "VCEK";
}

/* The common name, as printable ASCII (names come from untrusted certificates and end up on
 * terminals and in JSON). */
static void name_cn(const X509_NAME *name, char *buf, size_t size)
{
    if (name == NULL || X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)size) < 0) {
        (void)snprintf(buf, size, "(no CN)");
        return;
    }
    for (size_t i = 0; i < size && buf[i] != '\0'; i++) {
        if (buf[i] < 0x20 || buf[i] > 0x7e) {
            buf[i] = '?';
        }
    }
}

static void cert_cn(X509 *x, char *buf, size_t size)
{
    name_cn(x != NULL ? X509_get_subject_name(x) : NULL, buf, size);
}

static void fmt_time(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        (void)snprintf(buf, size, "(time %lld)", (long long)t);
    }
}

static void fmt_asn1_time(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        (void)snprintf(buf, size, "(bad time)");
    }
}

static void hex(const uint8_t *p, size_t n, char *buf, size_t size)
{
    if (!veil_ok(veil_hex_encode(p, n, buf, size))) {
        (void)snprintf(buf, size, "(too long)");
    }
}

static bool is_p384(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    char group[32];
    size_t len = 0;

    return pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
           EVP_PKEY_get_group_name(pk, group, sizeof(group), &len) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

/* The DER content of an extension, or NULL when the certificate lacks it. */
static const ASN1_OCTET_STRING *ext_data(X509 *x, const char *oid)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i;

    if (obj == NULL) {
        return NULL;
    }
    i = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    if (i < 0) {
        return NULL;
    }
    return X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* An SPL extension: a DER INTEGER 0..255 that fills the extension. */
static bool ext_spl(X509 *x, const char *oid, uint8_t *out)
{
    const ASN1_OCTET_STRING *d = ext_data(x, oid);
    const unsigned char *p;
    ASN1_INTEGER *i;
    int64_t v = -1;
    bool ok;

    if (d == NULL) {
        return false;
    }
    p = ASN1_STRING_get0_data(d);
    i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(d));
    ok = i != NULL && p == ASN1_STRING_get0_data(d) + ASN1_STRING_length(d) &&
         ASN1_INTEGER_get_int64(&v, i) == 1 && v >= 0 && v <= 255;
    ASN1_INTEGER_free(i);
    if (ok) {
        *out = (uint8_t)v;
    }
    return ok;
}

/* productName: an IA5String such as "Milan-B0" or "Turin"; the product is the part before '-'. */
static enum veil_snp_product ext_product(X509 *x)
{
    const ASN1_OCTET_STRING *d = ext_data(x, OID_PRODUCT_NAME);
    static const enum veil_snp_product all[] = {VEIL_SNP_PRODUCT_MILAN, VEIL_SNP_PRODUCT_GENOA,
                                                VEIL_SNP_PRODUCT_TURIN};
    enum veil_snp_product found = VEIL_SNP_PRODUCT_UNKNOWN;
    const unsigned char *p;
    ASN1_IA5STRING *s;

    if (d == NULL) {
        return found;
    }
    p = ASN1_STRING_get0_data(d);
    s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(d));
    if (s == NULL) {
        veil_ossl_drain(__func__);
        return found;
    }
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *name = veil_snp_product_name(all[i]);
        size_t k = strlen(name);
        size_t n = (size_t)ASN1_STRING_length(s);
        if (n >= k && memcmp(ASN1_STRING_get0_data(s), name, k) == 0 &&
            (n == k || ASN1_STRING_get0_data(s)[k] == '-')) {
            found = all[i];
        }
    }
    ASN1_IA5STRING_free(s);
    return found;
}

/* hwID: raw bytes (64, or 8 on Turin) or the same wrapped in a DER OCTET STRING. */
static bool ext_hwid(X509 *x, uint8_t *out, size_t *out_size)
{
    const ASN1_OCTET_STRING *d = ext_data(x, OID_HWID);
    struct veil_rd r;
    size_t n;

    if (d == NULL) {
        return false;
    }
    n = (size_t)ASN1_STRING_length(d);
    veil_rd_init(&r, ASN1_STRING_get0_data(d), n);
    if ((n == VEIL_SNP_CHIP_ID_SIZE + 2 || n == TURIN_HWID_SIZE + 2)) {
        uint8_t tag = 0;
        uint8_t len = 0;
        if (!veil_ok(veil_rd_u8(&r, &tag)) || !veil_ok(veil_rd_u8(&r, &len)) || tag != 0x04 ||
            len != n - 2) {
            return false;
        }
    }
    n = veil_rd_left(&r);
    if (n != VEIL_SNP_CHIP_ID_SIZE && n != TURIN_HWID_SIZE) {
        return false;
    }
    *out_size = n;
    return veil_ok(veil_rd_bytes(&r, out, n));
}

static bool valid_at(X509 *x, time_t at)
{
    return X509_cmp_time(X509_get0_notBefore(x), &at) < 0 &&
           X509_cmp_time(X509_get0_notAfter(x), &at) > 0;
}

/* ---- the report signature */

static VEIL_RESULT sig_verify(X509 *leaf, const uint8_t *body, const struct veil_snp_report *rep)
{
    uint8_t rb[48];
    uint8_t sb[48];
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL;
    BIGNUM *s = NULL;
    unsigned char *der = NULL;
    int der_size;
    EVP_MD_CTX *md = NULL;
    veil_result res = veil_result_of(VEIL_ERR_SNP_SIGNATURE);

    if (!is_p384(leaf)) {
        return res;
    }
    for (size_t i = 0; i < sizeof(rb); i++) {
        rb[i] = rep->sig_r[sizeof(rb) - 1 - i];
        sb[i] = rep->sig_s[sizeof(sb) - 1 - i];
    }
    sig = ECDSA_SIG_new();
    r = BN_bin2bn(rb, sizeof(rb), NULL);
    s = BN_bin2bn(sb, sizeof(sb), NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        res = veil_result_of(VEIL_ERR_NOMEM);
        goto out_free;
    }
    r = NULL;
    s = NULL;
    der_size = i2d_ECDSA_SIG(sig, &der);
    md = EVP_MD_CTX_new();
    if (der_size <= 0 || md == NULL) {
        res = veil_result_of(VEIL_ERR_NOMEM);
        goto out_free;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, X509_get0_pubkey(leaf)) == 1 &&
        EVP_DigestVerify(md, der, (size_t)der_size, body, VEIL_SNP_SIGNED_SIZE) == 1) {
        res = VEIL_RESULT_OK;
    }
out_free:
    veil_ossl_drain(__func__);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return res;
}

/* ---- finding the certificates */

static bool hwid_matches(X509 *x, const struct veil_snp_report *rep)
{
    uint8_t id[VEIL_SNP_CHIP_ID_SIZE];
    size_t n = 0;

    return ext_hwid(x, id, &n) && memcmp(id, rep->chip_id, n) == 0;
}

/* The VCEK/VLEK: a P-384 key or a certificate named SEV-VCEK/SEV-VLEK; preferred are the one
 * that verifies the report, then one whose hwID is the report's CHIP_ID, then one of the kind
 * the report names. */
static VEIL_RESULT pick_leaf(struct snp_ctx *c)
{
    int best = -1;
    const char *want = c->rep.signing_key == VEIL_SNP_KEY_VLEK ? "SEV-VLEK" : "SEV-VCEK";

    for (int i = 0; i < sk_X509_num(c->pool); i++) {
        X509 *x = sk_X509_value(c->pool, i);
        char cn[NAME_SIZE];
        int score = 0;
        veil_result r;

        cert_cn(x, cn, sizeof(cn));
        /* A certificate named like a VCEK/VLEK stays a candidate even when its key is unusable,
         * so that a damaged one is reported as such rather than as missing. */
        if (!is_p384(x) && strcmp(cn, "SEV-VCEK") != 0 && strcmp(cn, "SEV-VLEK") != 0) {
            continue;
        }
        score += strcmp(cn, want) == 0 ? 1 : 0;
        score += hwid_matches(x, &c->rep) ? 2 : 0;
        r = sig_verify(x, c->body, &c->rep);
        if (r.code != VEIL_OK && r.code != VEIL_ERR_SNP_SIGNATURE) {
            return r;
        }
        score += veil_ok(r) ? 4 : 0;
        if (score > best) {
            best = score;
            c->leaf = x;
            c->leaf_sig = r;
        }
    }
    return VEIL_RESULT_OK;
}

static bool cert_sha256(X509 *x, uint8_t *out)
{
    unsigned int n = 0;

    return X509_digest(x, EVP_sha256(), out, &n) == 1 && n == 32;
}

/* X509_verify(child, issuer key), remembered in the cache when it succeeds. */
static bool signed_by(struct veil_snp_cache *cache, X509 *child, X509 *issuer)
{
    uint8_t pair[2][32];
    bool hashed = cache != NULL && cert_sha256(child, pair[0]) && cert_sha256(issuer, pair[1]);

    for (size_t i = 0; hashed && i < cache->pair_count; i++) {
        if (memcmp(cache->pairs[i], pair, sizeof(pair)) == 0) {
            return true;
        }
    }
    if (X509_verify(child, X509_get0_pubkey(issuer)) != 1) {
        veil_ossl_drain(__func__);
        return false;
    }
    if (hashed) {
        memcpy(cache->pairs[cache->pair_next], pair, sizeof(pair));
        cache->pair_next = (cache->pair_next + 1) % CACHE_PAIRS_MAX;
        if (cache->pair_count < CACHE_PAIRS_MAX) {
            cache->pair_count++;
        }
    }
    return true;
}

/* The issuer of x among the pool: same subject as x's issuer, preferably one that signed x. */
static X509 *find_issuer(struct snp_ctx *c, X509 *x)
{
    X509 *found = NULL;

    for (int i = 0; i < sk_X509_num(c->pool); i++) {
        X509 *y = sk_X509_value(c->pool, i);
        if (y == x || X509_NAME_cmp(X509_get_subject_name(y), X509_get_issuer_name(x)) != 0) {
            continue;
        }
        if (signed_by(c->cache, x, y)) {
            return y;
        }
        if (found == NULL) {
            found = y;
        }
    }
    return found;
}

static VEIL_RESULT parse_roots(X509 **out, enum veil_snp_product *product, size_t *count_out)
{
    size_t count = 0;
    const struct veil_snp_root *roots = veil_snp_roots(&count);

    VEIL_ASSERT(count <= ROOTS_MAX);
    for (size_t i = 0; i < count; i++) {
        BIO *bio = BIO_new_mem_buf(roots[i].pem, -1);
        ENSURE(bio != NULL, VEIL_ERR_NOMEM);
        out[i] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        ENSURE(out[i] != NULL, VEIL_ERR_INTERNAL_OSSL);
        product[i] = roots[i].product;
        *count_out = i + 1;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT load_roots(struct snp_ctx *c)
{
    if (c->cache == NULL) {
        return parse_roots(c->roots, c->root_product, &c->root_count);
    }
    memcpy(c->roots, c->cache->roots, sizeof(c->roots));
    memcpy(c->root_product, c->cache->root_product, sizeof(c->root_product));
    c->root_count = c->cache->root_count;
    return VEIL_RESULT_OK;
}

veil_result veil_snp_cache_new(struct veil_snp_cache **out)
{
    struct veil_snp_cache *cache = OPENSSL_zalloc(sizeof(*cache));
    veil_result r;

    ENSURE(cache != NULL, VEIL_ERR_NOMEM);
    r = parse_roots(cache->roots, cache->root_product, &cache->root_count);
    if (!veil_ok(r)) {
        veil_snp_cache_free(cache);
        return r;
    }
    *out = cache;
    return VEIL_RESULT_OK;
}

void veil_snp_cache_free(struct veil_snp_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    for (size_t i = 0; i < cache->root_count; i++) {
        X509_free(cache->roots[i]);
    }
    OPENSSL_free(cache);
}

/* ---- the checks, in report order */

static VEIL_RESULT kds_vcek_url(const struct snp_ctx *c, char *buf, size_t size)
{
    char id[2 * VEIL_SNP_CHIP_ID_SIZE + 1];
    struct veil_snp_tcb t;
    enum veil_snp_product p =
        c->product == VEIL_SNP_PRODUCT_UNKNOWN ? VEIL_SNP_PRODUCT_MILAN : c->product;

    veil_snp_tcb_decode(c->rep.reported_tcb, p, &t);
    if (c->rep.signing_key == VEIL_SNP_KEY_VLEK) {
        (void)snprintf(buf, size,
                       "a VLEK is issued to the cloud provider, not fetched by chip: ask the "
                       "provider for the VLEK of this host (TCB bl=%u tee=%u snp=%u ucode=%u)",
                       t.bootloader, t.tee, t.snp, t.microcode);
        return VEIL_RESULT_OK;
    }
    hex(c->rep.chip_id, p == VEIL_SNP_PRODUCT_TURIN ? TURIN_HWID_SIZE : VEIL_SNP_CHIP_ID_SIZE, id,
        sizeof(id));
    if (p == VEIL_SNP_PRODUCT_TURIN) {
        (void)snprintf(buf, size,
                       "fetch the VCEK for this chip and TCB: %s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u"
                       "&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                       KDS, veil_snp_product_name(p), id, t.fmc, t.bootloader, t.tee, t.snp,
                       t.microcode);
    } else {
        (void)snprintf(buf, size,
                       "fetch the VCEK for this chip and TCB: %s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u"
                       "&snpSPL=%u&ucodeSPL=%u",
                       KDS, veil_snp_product_name(p), id, t.bootloader, t.tee, t.snp, t.microcode);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT check_signature(struct snp_ctx *c)
{
    char remedy[TEXT_SIZE];
    char cn[NAME_SIZE];
    veil_result r;

    GUARD(kds_vcek_url(c, remedy, sizeof(remedy)));
    if (c->rep.signing_key == VEIL_SNP_KEY_NONE) {
        return veil_report_add(c->report, "snp.signature", VEIL_CHECK_FAIL,
                               "request the report with a signing key (VCEK or VLEK)",
                               "the report is unsigned (SIGNING_KEY = 7, no key)");
    }
    if (c->leaf == NULL) {
        return veil_report_add(c->report, "snp.signature", VEIL_CHECK_FAIL, remedy,
                               "no %s certificate (ECDSA P-384) among the %d certificates given",
                               key_name(c), sk_X509_num(c->pool));
    }
    cert_cn(c->leaf, cn, sizeof(cn));
    r = c->leaf_sig;
    if (veil_ok(r)) {
        return veil_report_add(c->report, "snp.signature", VEIL_CHECK_PASS, NULL,
                               "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F verifies "
                               "with the %s (%s)",
                               key_name(c), cn);
    }
    ENSURE(r.code == VEIL_ERR_SNP_SIGNATURE, r.code);
    return veil_report_add(
        c->report, "snp.signature", VEIL_CHECK_FAIL,
        "the report was modified, or the certificate given is not the key "
        "that signed it; check the report bytes, then the VCEK/VLEK",
        "the report signature does not verify with the %s given (%s, %s)", key_name(c), cn,
        hwid_matches(c->leaf, &c->rep) ? "hwID matches CHIP_ID" : "hwID differs from CHIP_ID");
}

static VEIL_RESULT check_ark_pinned(struct snp_ctx *c)
{
    char cn[NAME_SIZE];
    char issuer[NAME_SIZE];

    /* A root the user supplied for this chain (named ARK-*, or self-issued under the name that
     * issued the ASK) must be one of ours, byte for byte. Other roots in a mixed bundle (an
     * Intel root, say) are not AMD's business and are ignored. */
    for (int i = 0; i < sk_X509_num(c->pool); i++) {
        X509 *x = sk_X509_value(c->pool, i);
        bool pinned = false;
        bool self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
        cert_cn(x, cn, sizeof(cn));
        if (strncmp(cn, "ARK-", 4) != 0 &&
            !(self_issued && c->inter != NULL &&
              X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(c->inter)) == 0)) {
            continue;
        }
        for (size_t k = 0; k < c->root_count; k++) {
            pinned = pinned || X509_cmp(x, c->roots[k]) == 0;
        }
        if (!pinned) {
            return veil_report_add(c->report, "snp.chain.ark_pinned", VEIL_CHECK_FAIL,
                                   "remove it, or replace it with AMD's ARK from " KDS
                                   "/vcek/v1/<product>/cert_chain",
                                   "the collateral holds a root certificate (%s) that is not a "
                                   "pinned AMD ARK: it was modified or is not AMD's",
                                   cn);
        }
    }
    if (c->inter == NULL) {
        return veil_report_add(c->report, "snp.chain.ark_pinned", VEIL_CHECK_SKIP, NULL,
                               "no ASK/ASVK, so no root to look for");
    }
    for (size_t k = 0; k < c->root_count; k++) {
        if (X509_NAME_cmp(X509_get_subject_name(c->roots[k]), X509_get_issuer_name(c->inter)) ==
            0) {
            c->ark = c->roots[k];
            c->product = c->root_product[k];
        }
    }
    cert_cn(c->inter, cn, sizeof(cn));
    name_cn(X509_get_issuer_name(c->inter), issuer, sizeof(issuer));
    if (c->ark == NULL) {
        return veil_report_add(c->report, "snp.chain.ark_pinned", VEIL_CHECK_FAIL,
                               "use AMD's certificate chain from " KDS
                               "/vcek/v1/<product>/cert_chain",
                               "%s is issued by %s, which is none of the pinned AMD roots "
                               "(ARK-Milan, ARK-Genoa, ARK-Turin)",
                               cn, issuer);
    }
    return veil_report_add(c->report, "snp.chain.ark_pinned", VEIL_CHECK_PASS, NULL,
                           "the chain ends at %s, pinned in veil", issuer);
}

static VEIL_RESULT check_ask(struct snp_ctx *c)
{
    char cn[NAME_SIZE];
    char ark[NAME_SIZE];

    if (c->inter == NULL || c->ark == NULL) {
        return veil_report_add(c->report, "snp.chain.ask", VEIL_CHECK_SKIP, NULL,
                               "no ASK/ASVK issued by a pinned ARK to check");
    }
    cert_cn(c->inter, cn, sizeof(cn));
    cert_cn(c->ark, ark, sizeof(ark));
    if (signed_by(c->cache, c->inter, c->ark)) {
        return veil_report_add(c->report, "snp.chain.ask", VEIL_CHECK_PASS, NULL,
                               "%s is signed by %s (RSASSA-PSS)", cn, ark);
    }
    veil_ossl_drain(__func__);
    return veil_report_add(c->report, "snp.chain.ask", VEIL_CHECK_FAIL,
                           "the intermediate certificate was modified: fetch it again from " KDS
                           "/vcek/v1/<product>/cert_chain",
                           "the signature on %s does not verify with %s", cn, ark);
}

static VEIL_RESULT check_vcek(struct snp_ctx *c)
{
    char cn[NAME_SIZE];
    char issuer[NAME_SIZE];
    const char *id = c->rep.signing_key == VEIL_SNP_KEY_VLEK ? "snp.chain.vlek" : "snp.chain.vcek";

    if (c->leaf == NULL) {
        return veil_report_add(c->report, id, VEIL_CHECK_SKIP, NULL, "no %s to check", key_name(c));
    }
    name_cn(X509_get_issuer_name(c->leaf), issuer, sizeof(issuer));
    if (c->inter == NULL) {
        return veil_report_add(c->report, id, VEIL_CHECK_FAIL,
                               "add AMD's certificate chain for this product (" KDS
                               "/vcek/v1/<product>/cert_chain, "
                               "or /vlek/v1/<product>/cert_chain for a VLEK)",
                               "the %s is issued by %s, which is not among the certificates given",
                               key_name(c), issuer);
    }
    cert_cn(c->inter, cn, sizeof(cn));
    if (signed_by(c->cache, c->leaf, c->inter)) {
        return veil_report_add(c->report, id, VEIL_CHECK_PASS, NULL,
                               "the %s is signed by %s (RSASSA-PSS)", key_name(c), cn);
    }
    veil_ossl_drain(__func__);
    return veil_report_add(c->report, id, VEIL_CHECK_FAIL,
                           "the certificate is modified, synthetic, or from another chain: fetch "
                           "the genuine one from AMD KDS (or the cloud provider for a VLEK)",
                           "the signature on the %s does not verify with %s", key_name(c), cn);
}

static VEIL_RESULT check_validity(struct snp_ctx *c)
{
    X509 *certs[3] = {c->leaf, c->inter, c->ark};
    char when[32];
    char line[TEXT_SIZE] = "";
    size_t used = 0;

    fmt_time(c->at, when, sizeof(when));
    for (size_t i = 0; i < 3; i++) {
        char cn[NAME_SIZE];
        char nb[32];
        char na[32];
        if (certs[i] == NULL) {
            continue;
        }
        cert_cn(certs[i], cn, sizeof(cn));
        fmt_asn1_time(X509_get0_notBefore(certs[i]), nb, sizeof(nb));
        fmt_asn1_time(X509_get0_notAfter(certs[i]), na, sizeof(na));
        if (!valid_at(certs[i], c->at)) {
            return veil_report_add(c->report, "snp.chain.validity", VEIL_CHECK_FAIL,
                                   "fetch a current certificate, or verify at a time inside its "
                                   "window (--at) if the evidence is known to date from then",
                                   "%s is valid %s .. %s, not at %s", cn, nb, na, when);
        }
        int k = snprintf(line + used, sizeof(line) - used, "%s%s %s..%s", used > 0 ? ", " : "", cn,
                         nb, na);
        if (k > 0 && (size_t)k < sizeof(line) - used) {
            used += (size_t)k;
        }
    }
    if (used == 0) {
        return veil_report_add(c->report, "snp.chain.validity", VEIL_CHECK_SKIP, NULL,
                               "no certificate to check");
    }
    return veil_report_add(c->report, "snp.chain.validity", VEIL_CHECK_PASS, NULL,
                           "valid at %s: %s", when, line);
}

static VEIL_RESULT check_product(struct snp_ctx *c)
{
    enum veil_snp_product chain = c->product;
    enum veil_snp_product cert = c->leaf != NULL ? ext_product(c->leaf) : VEIL_SNP_PRODUCT_UNKNOWN;
    enum veil_snp_product cpu =
        c->rep.version >= 3 ? veil_snp_product_from_cpuid(c->rep.cpuid_fam_id, c->rep.cpuid_mod_id)
                            : VEIL_SNP_PRODUCT_UNKNOWN;
    enum veil_snp_product seen[3] = {chain, cert, cpu};
    enum veil_snp_product p = VEIL_SNP_PRODUCT_UNKNOWN;

    for (size_t i = 0; i < 3; i++) {
        if (seen[i] == VEIL_SNP_PRODUCT_UNKNOWN) {
            continue;
        }
        if (p != VEIL_SNP_PRODUCT_UNKNOWN && p != seen[i]) {
            return veil_report_add(c->report, "snp.product", VEIL_CHECK_FAIL,
                                   "use the certificates of the processor that produced the "
                                   "report",
                                   "products disagree: chain %s, %s productName %s, report CPUID "
                                   "%s",
                                   veil_snp_product_name(chain), key_name(c),
                                   veil_snp_product_name(cert), veil_snp_product_name(cpu));
        }
        p = seen[i];
    }
    c->product = p;
    if (p == VEIL_SNP_PRODUCT_UNKNOWN) {
        return veil_report_add(c->report, "snp.product", VEIL_CHECK_SKIP, NULL,
                               "product unknown (no chain, no productName, no CPUID)");
    }
    return veil_report_add(c->report, "snp.product", VEIL_CHECK_PASS, NULL,
                           "%s (chain %s, %s productName %s, report CPUID %s)",
                           veil_snp_product_name(p), veil_snp_product_name(chain), key_name(c),
                           veil_snp_product_name(cert), veil_snp_product_name(cpu));
}

static VEIL_RESULT check_tcb(struct snp_ctx *c)
{
    struct veil_snp_tcb rep;
    struct veil_snp_tcb cert;
    struct {
        const char *name;
        const char *oid;
        uint8_t *cert;
        uint8_t rep;
    } f[] = {
        {"bootloader", OID_BL_SPL, &cert.bootloader, 0},
        {"tee", OID_TEE_SPL, &cert.tee, 0},
        {"snp", OID_SNP_SPL, &cert.snp, 0},
        {"microcode", OID_UCODE_SPL, &cert.microcode, 0},
        {"fmc", OID_FMC_SPL, &cert.fmc, 0},
    };
    size_t count = c->product == VEIL_SNP_PRODUCT_TURIN ? 5 : 4;
    char remedy[TEXT_SIZE];

    if (c->leaf == NULL) {
        return veil_report_add(c->report, "snp.tcb", VEIL_CHECK_SKIP, NULL, "no %s to compare",
                               key_name(c));
    }
    GUARD(kds_vcek_url(c, remedy, sizeof(remedy)));
    veil_snp_tcb_decode(c->rep.reported_tcb, c->product, &rep);
    f[0].rep = rep.bootloader;
    f[1].rep = rep.tee;
    f[2].rep = rep.snp;
    f[3].rep = rep.microcode;
    f[4].rep = rep.fmc;
    memset(&cert, 0, sizeof(cert));
    for (size_t i = 0; i < count; i++) {
        if (!ext_spl(c->leaf, f[i].oid, f[i].cert)) {
            return veil_report_add(c->report, "snp.tcb", VEIL_CHECK_FAIL, remedy,
                                   "the %s has no valid %s SPL extension (%s)", key_name(c),
                                   f[i].name, f[i].oid);
        }
        if (*f[i].cert != f[i].rep) {
            return veil_report_add(c->report, "snp.tcb", VEIL_CHECK_FAIL, remedy,
                                   "%s TCB %s=%u but report says %u: the %s is for another TCB",
                                   key_name(c), f[i].name, *f[i].cert, f[i].rep, key_name(c));
        }
    }
    if (count == 5) {
        return veil_report_add(c->report, "snp.tcb", VEIL_CHECK_PASS, NULL,
                               "REPORTED_TCB fmc=%u bootloader=%u tee=%u snp=%u microcode=%u "
                               "equals the %s's",
                               rep.fmc, rep.bootloader, rep.tee, rep.snp, rep.microcode,
                               key_name(c));
    }
    return veil_report_add(c->report, "snp.tcb", VEIL_CHECK_PASS, NULL,
                           "REPORTED_TCB bootloader=%u tee=%u snp=%u microcode=%u equals the %s's",
                           rep.bootloader, rep.tee, rep.snp, rep.microcode, key_name(c));
}

static VEIL_RESULT check_chip_id(struct snp_ctx *c)
{
    uint8_t id[VEIL_SNP_CHIP_ID_SIZE];
    size_t n = 0;
    uint8_t rest = 0;
    char a[2 * VEIL_SNP_CHIP_ID_SIZE + 1];
    char b[2 * VEIL_SNP_CHIP_ID_SIZE + 1];

    if (c->rep.signing_key == VEIL_SNP_KEY_VLEK) {
        return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_SKIP, NULL,
                               "signed by a VLEK, which is not tied to one chip");
    }
    if (c->leaf == NULL) {
        return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_SKIP, NULL, "no VCEK");
    }
    if (c->rep.mask_chip_key) {
        return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_SKIP, NULL,
                               "MASK_CHIP_KEY is set: the report carries no chip id");
    }
    if (!ext_hwid(c->leaf, id, &n)) {
        return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_FAIL,
                               "fetch the genuine VCEK from AMD KDS",
                               "the VCEK has no valid hwID extension (" OID_HWID ")");
    }
    for (size_t i = n; i < VEIL_SNP_CHIP_ID_SIZE; i++) {
        rest |= c->rep.chip_id[i];
    }
    hex(c->rep.chip_id, VEIL_SNP_CHIP_ID_SIZE, a, sizeof(a));
    if (CRYPTO_memcmp(id, c->rep.chip_id, n) != 0 || rest != 0) {
        hex(id, n, b, sizeof(b));
        return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_FAIL,
                               "the VCEK is another chip's: fetch the VCEK for this CHIP_ID",
                               "VCEK hwID %s but report CHIP_ID %s", b, a);
    }
    return veil_report_add(c->report, "snp.chip_id", VEIL_CHECK_PASS, NULL,
                           "VCEK hwID equals CHIP_ID %s", a);
}

veil_result veil_snp_crl_check(X509_CRL *crl, X509 *issuer, X509 *child, time_t at, char *why,
                               size_t why_size)
{
    X509_REVOKED *rev = NULL;
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    char cn[NAME_SIZE];

    cert_cn(issuer, cn, sizeof(cn));
    if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
        veil_ossl_drain(__func__);
        (void)snprintf(why, why_size, "the CRL naming %s as issuer is not signed by it", cn);
        BAIL(VEIL_ERR_SNP_REVOKED);
    }
    if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &at) >= 0 ||
        (next != NULL && X509_cmp_time(next, &at) <= 0)) {
        char when[32];
        fmt_time(at, when, sizeof(when));
        (void)snprintf(why, why_size, "the CRL of %s is not current at %s", cn, when);
        BAIL(VEIL_ERR_SNP_REVOKED);
    }
    if (child != NULL && X509_CRL_get0_by_cert(crl, &rev, child) == 1) {
        char ccn[NAME_SIZE];
        cert_cn(child, ccn, sizeof(ccn));
        (void)snprintf(why, why_size, "%s is revoked by the CRL of %s", ccn, cn);
        BAIL(VEIL_ERR_SNP_REVOKED);
    }
    (void)snprintf(why, why_size, "CRL of %s", cn);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT check_crl(struct snp_ctx *c)
{
    STACK_OF(X509_CRL) *crls =
        c->opts != NULL && c->opts->collateral != NULL ? c->opts->collateral->crls : NULL;
    char why[TEXT_SIZE];
    char used[TEXT_SIZE] = "";
    size_t checked = 0;

    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        X509 *issuer = NULL;
        X509 *child = NULL;
        if (c->ark != NULL &&
            X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(c->ark)) == 0) {
            issuer = c->ark;
            child = c->inter;
        } else if (c->inter != NULL &&
                   X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(c->inter)) == 0) {
            issuer = c->inter;
            child = c->leaf;
        } else {
            continue;
        }
        if (!veil_ok(veil_snp_crl_check(crl, issuer, child, c->at, why, sizeof(why)))) {
            return veil_report_add(c->report, "snp.crl", VEIL_CHECK_FAIL,
                                   "fetch the current CRL from " KDS
                                   "/vcek/v1/<product>/crl; a "
                                   "revoked certificate cannot be trusted",
                                   "%s", why);
        }
        checked++;
        (void)snprintf(used, sizeof(used), "%s", why);
    }
    if (checked == 0) {
        return veil_report_add(
            c->report, "snp.crl", VEIL_CHECK_SKIP, NULL,
            "no CRL from the chain's issuers was given (AMD publishes one at " KDS
            "/vcek/v1/<product>/crl)");
    }
    return veil_report_add(c->report, "snp.crl", VEIL_CHECK_PASS, NULL,
                           "%zu CRL(s) checked, signed and current, nothing in the chain revoked "
                           "(last: %s)",
                           checked, used);
}

static VEIL_RESULT check_report_data(struct snp_ctx *c)
{
    char want[2 * 64 + 1];
    char got[2 * 64 + 1];
    size_t n = c->opts != NULL ? c->opts->report_data_size : 0;

    if (n == 0) {
        return veil_report_add(c->report, "snp.report_data", VEIL_CHECK_SKIP, NULL,
                               "no expected report_data given");
    }
    hex(c->rep.report_data, sizeof(c->rep.report_data), got, sizeof(got));
    if (n > sizeof(c->rep.report_data)) {
        return veil_report_add(c->report, "snp.report_data", VEIL_CHECK_FAIL,
                               "give at most 64 bytes of expected report_data",
                               "expected report_data is %zu bytes; the field holds 64", n);
    }
    hex(c->opts->report_data, n, want, sizeof(want));
    if (CRYPTO_memcmp(c->opts->report_data, c->rep.report_data, n) != 0) {
        return veil_report_add(c->report, "snp.report_data", VEIL_CHECK_FAIL,
                               "the evidence was made for another nonce or key: it may be a "
                               "replay; request fresh evidence",
                               "report_data %s does not start with the expected %s", got, want);
    }
    return veil_report_add(c->report, "snp.report_data", VEIL_CHECK_PASS, NULL,
                           "report_data starts with the expected %zu bytes", n);
}

/* ---- claims */

static VEIL_RESULT add_tcb(struct veil_claims *cl, const char *which, uint64_t raw,
                           enum veil_snp_product p)
{
    struct veil_snp_tcb t;
    char name[64];

    veil_snp_tcb_decode(raw, p, &t);
    (void)snprintf(name, sizeof(name), "snp.tcb.%s.bootloader", which);
    GUARD(veil_claims_add_int(cl, name, t.bootloader));
    (void)snprintf(name, sizeof(name), "snp.tcb.%s.tee", which);
    GUARD(veil_claims_add_int(cl, name, t.tee));
    (void)snprintf(name, sizeof(name), "snp.tcb.%s.snp", which);
    GUARD(veil_claims_add_int(cl, name, t.snp));
    (void)snprintf(name, sizeof(name), "snp.tcb.%s.microcode", which);
    GUARD(veil_claims_add_int(cl, name, t.microcode));
    if (p == VEIL_SNP_PRODUCT_TURIN) {
        (void)snprintf(name, sizeof(name), "snp.tcb.%s.fmc", which);
        GUARD(veil_claims_add_int(cl, name, t.fmc));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT add_claims(const struct snp_ctx *c)
{
    const struct veil_snp_report *r = &c->rep;
    struct veil_claims *cl = c->claims;
    char fw[32];

    GUARD(veil_claims_add_str(cl, "tee", "snp"));
    GUARD(veil_claims_add_int(cl, "snp.version", r->version));
    GUARD(veil_claims_add_bytes(cl, "snp.measurement", r->measurement, sizeof(r->measurement)));
    GUARD(veil_claims_add_bytes(cl, "snp.host_data", r->host_data, sizeof(r->host_data)));
    GUARD(veil_claims_add_bytes(cl, "snp.report_data", r->report_data, sizeof(r->report_data)));
    GUARD(
        veil_claims_add_bytes(cl, "snp.id_key_digest", r->id_key_digest, sizeof(r->id_key_digest)));
    GUARD(veil_claims_add_bytes(cl, "snp.author_key_digest", r->author_key_digest,
                                sizeof(r->author_key_digest)));
    GUARD(veil_claims_add_bytes(cl, "snp.family_id", r->family_id, sizeof(r->family_id)));
    GUARD(veil_claims_add_bytes(cl, "snp.image_id", r->image_id, sizeof(r->image_id)));
    GUARD(veil_claims_add_int(cl, "snp.guest_svn", r->guest_svn));
    /* The policy's defined bits fit 63 bits; higher (reserved) bits are kept out of the int. */
    GUARD(veil_claims_add_int(cl, "snp.policy", (int64_t)(r->policy & INT64_MAX)));
    GUARD(veil_claims_add_bool(cl, "snp.debug", (r->policy & VEIL_SNP_POLICY_DEBUG) != 0));
    GUARD(veil_claims_add_bool(cl, "snp.migration_agent",
                               (r->policy & VEIL_SNP_POLICY_MIGRATE_MA) != 0));
    GUARD(veil_claims_add_bool(cl, "snp.smt", (r->policy & VEIL_SNP_POLICY_SMT) != 0));
    GUARD(veil_claims_add_bool(cl, "snp.single_socket",
                               (r->policy & VEIL_SNP_POLICY_SINGLE_SOCKET) != 0));
    GUARD(veil_claims_add_int(cl, "snp.vmpl", r->vmpl));
    GUARD(veil_claims_add_int(cl, "snp.platform_info", (int64_t)(r->platform_info & INT64_MAX)));
    GUARD(add_tcb(cl, "current", r->current_tcb, c->product));
    GUARD(add_tcb(cl, "reported", r->reported_tcb, c->product));
    GUARD(add_tcb(cl, "committed", r->committed_tcb, c->product));
    GUARD(add_tcb(cl, "launch", r->launch_tcb, c->product));
    (void)snprintf(fw, sizeof(fw), "%u.%u.%u", r->current_major, r->current_minor,
                   r->current_build);
    GUARD(veil_claims_add_str(cl, "snp.firmware", fw));
    GUARD(veil_claims_add_bytes(cl, "snp.chip_id", r->chip_id, sizeof(r->chip_id)));
    GUARD(veil_claims_add_bytes(cl, "snp.report_id", r->report_id, sizeof(r->report_id)));
    GUARD(veil_claims_add_bytes(cl, "snp.report_id_ma", r->report_id_ma, sizeof(r->report_id_ma)));
    if (r->version >= 3) {
        GUARD(veil_claims_add_int(cl, "snp.cpuid.family", r->cpuid_fam_id));
        GUARD(veil_claims_add_int(cl, "snp.cpuid.model", r->cpuid_mod_id));
        GUARD(veil_claims_add_int(cl, "snp.cpuid.stepping", r->cpuid_step));
    }
    if (r->version >= 5) {
        GUARD(veil_claims_add_int(cl, "snp.launch_mit_vector",
                                  (int64_t)(r->launch_mit_vector & INT64_MAX)));
        GUARD(veil_claims_add_int(cl, "snp.current_mit_vector",
                                  (int64_t)(r->current_mit_vector & INT64_MAX)));
    }
    GUARD(veil_claims_add_str(cl, "snp.signing_key",
                              r->signing_key == VEIL_SNP_KEY_VCEK   ? "vcek"
                              : r->signing_key == VEIL_SNP_KEY_VLEK ? "vlek"
                                                                    : "none"));
    if (c->product != VEIL_SNP_PRODUCT_UNKNOWN) {
        GUARD(veil_claims_add_str(cl, "snp.product", veil_snp_product_name(c->product)));
    }
    return VEIL_RESULT_OK;
}

/* ---- the verifier */

/* Every certificate of a PEM string into the pool. */
static VEIL_RESULT pool_add_pem(STACK_OF(X509) * pool, const char *pem, size_t n)
{
    BIO *bio;
    X509 *x;

    ENSURE(n <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
    bio = BIO_new_mem_buf(pem, (int)n);
    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(pool, x) <= 0) {
            X509_free(x);
            BIO_free(bio);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    veil_ossl_drain(__func__); /* the end of the PEM data is reported as an error */
    BIO_free(bio);
    return VEIL_RESULT_OK;
}

/* Azure THIM / ACI host certificate documents: {"vcekCert": PEM, "certificateChain": PEM, ...}.
 * Other JSON collateral (Intel TCB info, ...) is not SNP's and is ignored. */
static VEIL_RESULT pool_add_thim(STACK_OF(X509) * pool, const char *doc, size_t n)
{
    static const char *const keys[] = {"vcekCert", "certificateChain"};
    json_error_t err;
    json_t *j = json_loadb(doc, n, JSON_REJECT_DUPLICATES, &err);
    veil_result r = VEIL_RESULT_OK;

    for (size_t i = 0; j != NULL && veil_ok(r) && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(j, keys[i]);
        if (json_is_string(v)) {
            r = pool_add_pem(pool, json_string_value(v), json_string_length(v));
        }
    }
    json_decref(j);
    return r;
}

static VEIL_RESULT build_pool(struct snp_ctx *c, const uint8_t *table, size_t table_size)
{
    const struct veil_collateral *col = c->opts != NULL ? c->opts->collateral : NULL;
    struct veil_snp_cert_entry entries[VEIL_SNP_CERT_TABLE_COUNT_MAX];
    size_t count = 0;

    c->pool = sk_X509_new_null();
    ENSURE(c->pool != NULL, VEIL_ERR_NOMEM);
    for (int i = 0; col != NULL && i < sk_X509_num(col->certs); i++) {
        X509 *x = sk_X509_value(col->certs, i);
        ENSURE(X509_up_ref(x) == 1, VEIL_ERR_INTERNAL_OSSL);
        if (sk_X509_push(c->pool, x) <= 0) {
            X509_free(x);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    for (size_t i = 0; col != NULL && i < col->json_count; i++) {
        GUARD(pool_add_thim(c->pool, col->json[i], col->json_size[i]));
    }
    if (table_size == 0) {
        return VEIL_RESULT_OK;
    }
    GUARD(veil_snp_cert_table_parse(table, table_size, entries, &count));
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = entries[i].der;
        X509 *x;
        ENSURE(entries[i].der_size <= INT32_MAX, VEIL_ERR_PROTO_LIMIT);
        x = d2i_X509(NULL, &p, (long)entries[i].der_size);
        if (x == NULL) {
            veil_ossl_drain(__func__);
            BAIL(VEIL_ERR_SNP_CERT_TABLE);
        }
        if (sk_X509_push(c->pool, x) <= 0) {
            X509_free(x);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT run_checks(struct snp_ctx *c)
{
    GUARD(load_roots(c));
    GUARD(pick_leaf(c));
    c->inter = c->leaf != NULL ? find_issuer(c, c->leaf) : NULL;
    GUARD(check_ark_pinned(c));
    GUARD(check_ask(c));
    GUARD(check_vcek(c));
    GUARD(check_validity(c));
    GUARD(check_product(c));
    GUARD(check_signature(c));
    GUARD(check_tcb(c));
    GUARD(check_chip_id(c));
    GUARD(check_crl(c));
    GUARD(check_report_data(c));
    GUARD(add_claims(c));
    return VEIL_RESULT_OK;
}

veil_result veil_verify_snp(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report)
{
    return veil_verify_snp_cached(NULL, evidence, n, opts, claims, report);
}

veil_result veil_verify_snp_cached(struct veil_snp_cache *cache, const uint8_t *evidence, size_t n,
                                   const struct veil_verify_opts *opts, struct veil_claims *claims,
                                   struct veil_report *report)
{
    struct snp_ctx c;
    veil_result r;
    size_t report_size = n < VEIL_SNP_REPORT_SIZE ? n : VEIL_SNP_REPORT_SIZE;

    ENSURE_REF(claims);
    ENSURE_REF(report);
    ENSURE(evidence != NULL || n == 0, VEIL_ERR_INTERNAL);
    memset(&c, 0, sizeof(c));
    c.opts = opts;
    c.at = opts != NULL && opts->at != 0 ? opts->at : time(NULL);
    c.body = evidence;
    c.report = report;
    c.claims = claims;
    c.cache = cache;
    r = veil_snp_report_parse(evidence, report_size, &c.rep);
    if (veil_ok(r) && n > VEIL_SNP_REPORT_SIZE) {
        /* An extended report: the certificate table follows the report. */
        struct veil_rd rd;
        struct veil_rd table;
        veil_rd_init(&rd, evidence, n);
        r = veil_rd_skip(&rd, VEIL_SNP_REPORT_SIZE);
        if (veil_ok(r)) {
            r = veil_rd_sub(&rd, veil_rd_left(&rd), &table);
        }
        if (veil_ok(r)) {
            r = build_pool(&c, veil_rd_ptr(&table), veil_rd_left(&table));
        }
    } else if (veil_ok(r)) {
        r = build_pool(&c, NULL, 0);
    }
    if (!veil_ok(r)) {
        veil_result ar = veil_report_add(report, "snp.parse", VEIL_CHECK_FAIL,
                                         "give a raw 1184-byte SEV-SNP report (version 2, 3 or 5), "
                                         "optionally followed by its certificate table",
                                         "%zu bytes: %s", n, veil_strerror(r.code));
        if (!veil_ok(ar)) {
            r = ar;
        }
        goto out_free;
    }
    r = veil_report_add(
        report, "snp.parse", VEIL_CHECK_PASS, NULL,
        "SEV-SNP report version %u, signed by %s, %d certificate(s) available", c.rep.version,
        c.rep.signing_key == VEIL_SNP_KEY_NONE ? "no key" : key_name(&c), sk_X509_num(c.pool));
    if (!veil_ok(r)) {
        goto out_free;
    }
    r = run_checks(&c);
    if (veil_ok(r) && !veil_report_passed(report)) {
        r = veil_result_of(VEIL_ERR_ATTEST);
    }
out_free:
    sk_X509_pop_free(c.pool, X509_free);
    for (size_t i = 0; cache == NULL && i < c.root_count; i++) {
        X509_free(c.roots[i]);
    }
    return r;
}
