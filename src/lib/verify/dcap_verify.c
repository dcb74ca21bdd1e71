/*
 * DCAP verification: TDX quote v4/v5 and SGX quote v3 against the pinned Intel SGX Root CA and
 * the collateral in opts->collateral. Every check is recorded (docs/ATTESTATION.dcap.md):
 *
 *   dcap.parse  dcap.quote_signature  dcap.pck_chain  dcap.pck_chain.validity  dcap.root_pinned
 *   dcap.pck_extensions  dcap.qe_report_signature  dcap.qe_report_data
 *   dcap.tcb_info.signature  dcap.tcb_info.validity  dcap.tcb_info.fmspc
 *   dcap.qe_identity.signature  dcap.qe_identity.validity  dcap.qe_identity.match
 *   dcap.tcb_eval_number  dcap.crl.pck  dcap.crl.root  dcap.tdx_module (TDX)  dcap.tcb_status
 * dcap.report_data
 *
 * A check that cannot run because an earlier one failed is recorded as skipped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

#include "verify/dcap.h"
#include "verify/dcap_internal.h"

struct dcap_ctx {
    enum veil_tee tee;
    const char *tee_name; /* "tdx" / "sgx": the claim prefix */
    time_t at;
    const struct veil_verify_opts *opts;
    struct veil_claims *claims;
    struct veil_report *report;
    struct veil_dcap_quote q;
    X509 *root;                        /* borrowed from the cache */
    struct veil_dcap_chain *pck_chain; /* the quote's chain (a reference, from the memo) */
    X509 *pck;                         /* borrowed from pck_chain */
    X509 *pck_issuer;                  /* borrowed from pck_chain; set when the chain verified */
    const uint8_t *pck_issuer_digest;
    bool ext_ok;
    struct veil_dcap_pck_ext ext;
    const struct veil_dcap_cache *cache;  /* prepared collateral, the pinned root */
    bool tcb_usable;                      /* parsed, signed by Intel, for this FMSPC/PCE-ID */
    const struct veil_dcap_tcb_info *tcb; /* selected (cache-owned) */
    bool qe_usable;                       /* parsed, signed by Intel, matches the QE */
    const struct veil_dcap_qe_identity *qe;
    STACK_OF(X509) * signers; /* collateral signing certificates that were used */
};

static const char *const remedy_quote =
    "the quote was modified or corrupted: obtain a fresh quote from the TEE";
static const char *const remedy_chain =
    "the PCK certificate chain in the quote does not lead to the Intel SGX Root CA: the quote was "
    "not produced by genuine Intel hardware, or its certification data was damaged";
static const char *const remedy_fetch =
    "fetch current collateral for this platform from Intel PCS (or a PCCS cache) and verify again";

__attribute__((format(printf, 5, 6))) static VEIL_RESULT check(struct dcap_ctx *c, const char *id,
                                                               enum veil_check_status st,
                                                               const char *remedy, const char *fmt,
                                                               ...)
{
    char detail[768];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return veil_report_add(c->report, id, st, st == VEIL_CHECK_FAIL ? remedy : NULL, "%s", detail);
}

static const char *pass_fail(bool ok)
{
    return ok ? "passed" : "FAILED";
}

static enum veil_check_status status_of(bool ok)
{
    return ok ? VEIL_CHECK_PASS : VEIL_CHECK_FAIL;
}

static void fmt_time(time_t t, char out[32])
{
    veil_dcap_time_format(t, out);
}

static void fmt_hex(const uint8_t *p, size_t n, char *out, size_t out_size)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;

    for (size_t i = 0; i < n && j + 2 < out_size; i++) {
        out[j++] = digits[p[i] >> 4];
        out[j++] = digits[p[i] & 15];
    }
    out[j] = '\0';
}

static void cert_name(X509 *x, char *out, size_t out_size)
{
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)out_size) <
        0) {
        (void)snprintf(out, out_size, "(no common name)");
    }
}

/* ---- Certificates. */

/* X509_V_OK, or why leaf does not chain to the pinned root: signatures and CA constraints, never
 * time (validity windows are judged per call, so that this result can be memoized). */
static int chain_verify(X509 *root, X509 *leaf, STACK_OF(X509) * untrusted, STACK_OF(X509) * *built)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int err = X509_V_ERR_UNSPECIFIED;

    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        goto out_free;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx) == 1) {
        err = X509_V_OK;
        if (built != NULL) {
            *built = X509_STORE_CTX_get1_chain(ctx);
            if (*built == NULL) {
                err = X509_V_ERR_OUT_OF_MEM;
            }
        }
    } else {
        err = X509_STORE_CTX_get_error(ctx);
        if (err == X509_V_OK) {
            err = X509_V_ERR_UNSPECIFIED;
        }
    }
out_free:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return err;
}

/* notBefore and notAfter of every built certificate as seconds; a time that does not decode gives
 * a window no time is inside. */
static VEIL_RESULT chain_windows(struct veil_dcap_chain *ch)
{
    int n = sk_X509_num(ch->built);

    ch->window = calloc((size_t)n + 1, sizeof(*ch->window));
    ENSURE(ch->window != NULL, VEIL_ERR_NOMEM);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(ch->built, i);
        const ASN1_TIME *t[2] = {X509_get0_notBefore(x), X509_get0_notAfter(x)};
        for (int k = 0; k < 2; k++) {
            struct tm tm;
            time_t s = (time_t)-1;
            memset(&tm, 0, sizeof(tm));
            if (ASN1_TIME_to_tm(t[k], &tm) == 1) {
                s = timegm(&tm);
            }
            if (s == (time_t)-1) {
                ERR_clear_error();
                ch->window[i][0] = (time_t)INT64_MAX;
                ch->window[i][1] = (time_t)INT64_MIN;
                break;
            }
            ch->window[i][k] = s;
        }
    }
    return VEIL_RESULT_OK;
}

/* notBefore <= at <= notAfter, as X509_cmp_time judges it. */
static bool valid_at(const struct veil_dcap_chain *ch, int i, time_t at)
{
    return ch->window[i][0] <= at && at <= ch->window[i][1];
}

static bool self_issued(X509 *x)
{
    return X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
}

/* SHA-256 of each certificate of ch->built. */
static VEIL_RESULT built_digests(const struct dcap_ctx *c, struct veil_dcap_chain *ch)
{
    int n = sk_X509_num(ch->built);

    ch->built_digest = calloc((size_t)n + 1, sizeof(*ch->built_digest));
    ENSURE(ch->built_digest != NULL, VEIL_ERR_NOMEM);
    for (int i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int size = i2d_X509(sk_X509_value(ch->built, i), &der);
        veil_result r;
        ENSURE(size > 0, VEIL_ERR_NOMEM);
        r = veil_dcap_memo_sha256(c->cache->memo, der, (size_t)size, ch->built_digest[i]);
        OPENSSL_free(der);
        GUARD(r);
    }
    return VEIL_RESULT_OK;
}

/* The chain (verified without a time) and its leaf's SGX extension: all that depends on the PEM
 * bytes alone. A chain that verified is listed in the memo. */
static VEIL_RESULT pck_chain_fill(struct dcap_ctx *c, struct veil_dcap_chain *ch)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *leaf = sk_X509_value(ch->certs, 0);

    ENSURE(untrusted != NULL, VEIL_ERR_NOMEM);
    for (int i = 1; i < sk_X509_num(ch->certs); i++) {
        X509 *x = sk_X509_value(ch->certs, i);
        if (self_issued(x)) {
            ch->quote_root = x;
        } else if (sk_X509_push(untrusted, x) <= 0) {
            sk_X509_free(untrusted);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    ch->verify_err = chain_verify(c->root, leaf, untrusted, &ch->built);
    sk_X509_free(untrusted);
    ENSURE(ch->verify_err != X509_V_ERR_OUT_OF_MEM, VEIL_ERR_NOMEM);
    if (ch->verify_err == X509_V_OK) {
        GUARD(built_digests(c, ch));
        GUARD(chain_windows(ch));
    }
    cert_name(leaf, ch->leaf_name, sizeof(ch->leaf_name));
    ch->ext_r = veil_dcap_pck_ext_parse(leaf, &ch->ext);
    ENSURE(ch->ext_r.code != VEIL_ERR_NOMEM, VEIL_ERR_NOMEM);
    if (ch->verify_err == X509_V_OK) {
        veil_dcap_memo_chain_put(c->cache->memo, ch);
    }
    return VEIL_RESULT_OK;
}

/* The quote's PCK chain: from the memo, or decoded and verified now. *out is NULL (and *dec
 * says why) when the certification data holds no well-formed PEM chain. */
static VEIL_RESULT pck_chain_get(struct dcap_ctx *c, struct veil_dcap_chain **out, bool *cached,
                                 veil_result *dec)
{
    const struct veil_dcap_part parts[] = {{c->cache->root_digest, 32},
                                           {c->q.pck_chain_pem, c->q.pck_chain_pem_size}};
    struct veil_dcap_chain *ch;
    uint8_t key[32];
    veil_result r;

    *out = NULL;
    GUARD(veil_dcap_memo_key(c->cache->memo, "dcap pck chain pem", parts, 2, key));
    ch = veil_dcap_memo_chain_get(c->cache->memo, key);
    *cached = ch != NULL;
    if (ch == NULL) {
        ch = veil_dcap_chain_new();
        ENSURE(ch != NULL, VEIL_ERR_NOMEM);
        memcpy(ch->key, key, sizeof(key));
        r = veil_dcap_pem_chain(c->q.pck_chain_pem, c->q.pck_chain_pem_size, &ch->certs);
        if (veil_ok(r)) {
            r = pck_chain_fill(c, ch);
        } else if (r.code != VEIL_ERR_NOMEM) {
            *dec = r;
            veil_dcap_memo_chain_release(c->cache->memo, ch);
            return VEIL_RESULT_OK;
        }
        if (!veil_ok(r)) {
            veil_dcap_memo_chain_release(c->cache->memo, ch);
            return r;
        }
    }
    *out = ch;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT check_pck_chain(struct dcap_ctx *c)
{
    struct veil_dcap_chain *ch = NULL;
    veil_result dec = VEIL_RESULT_OK;
    bool cached = false;
    char name[128];
    int err;

    GUARD(pck_chain_get(c, &ch, &cached, &dec));
    if (ch == NULL) {
        GUARD(check(c, "dcap.pck_chain", VEIL_CHECK_FAIL, remedy_chain,
                    "the certification data holds no well-formed PEM certificate chain (%s)",
                    veil_error_name(dec.code)));
        GUARD(check(c, "dcap.pck_chain.validity", VEIL_CHECK_SKIP, NULL, "no chain"));
        return check(c, "dcap.root_pinned", VEIL_CHECK_SKIP, NULL, "no chain");
    }
    c->pck_chain = ch;
    c->pck = sk_X509_value(ch->certs, 0);
    err = ch->verify_err;
    GUARD(check(c, "dcap.pck_chain", status_of(err == X509_V_OK), remedy_chain,
                "PCK certificate \"%s\" chain (%d certificates) to the pinned Intel SGX Root CA: "
                "%s%s",
                ch->leaf_name, sk_X509_num(ch->certs),
                err == X509_V_OK ? "signatures verify" : X509_verify_cert_error_string(err),
                cached ? " (cached)" : ""));
    if (err == X509_V_OK) {
        if (sk_X509_num(ch->built) > 1) {
            c->pck_issuer = sk_X509_value(ch->built, 1);
            c->pck_issuer_digest = ch->built_digest[1];
        }
        bool ok = true;
        char what[256] = "";
        char nb[32];
        for (int i = 0; i < sk_X509_num(ch->built) && ok; i++) {
            X509 *x = sk_X509_value(ch->built, i);
            if (!valid_at(ch, i, c->at)) {
                ok = false;
                cert_name(x, name, sizeof(name));
                (void)snprintf(what, sizeof(what), ": \"%s\" is not valid at that time", name);
            }
        }
        fmt_time(c->at, nb);
        GUARD(check(c, "dcap.pck_chain.validity", status_of(ok),
                    "a certificate of the PCK chain has expired or is not yet valid: the platform "
                    "needs a fresh PCK certificate, or the verification time is wrong",
                    "every certificate of the PCK chain valid at %s%s", nb, what));
    } else {
        GUARD(check(c, "dcap.pck_chain.validity", VEIL_CHECK_SKIP, NULL, "chain did not verify"));
    }
    if (ch->quote_root == NULL) {
        return check(c, "dcap.root_pinned", VEIL_CHECK_PASS, NULL,
                     "the quote carries no root; the chain was anchored at the pinned root");
    }
    bool pinned = X509_cmp(ch->quote_root, c->root) == 0;
    return check(c, "dcap.root_pinned", status_of(pinned),
                 "the quote names a root CA other than the Intel SGX Root CA: do not trust it",
                 "root certificate in the quote is the pinned Intel SGX Root CA "
                 "(SHA-256 44a0196b...b674d3): %s",
                 pinned ? "yes" : "no");
}

/* ---- Signatures over the quote. */

/* veil_dcap_ecdsa_verify with the memo's SHA-256 (fetched once, not on every call). */
static bool ecdsa_verify(const struct dcap_ctx *c, EVP_PKEY *key, const uint8_t *msg, size_t n,
                         const uint8_t sig[64])
{
    uint8_t digest[32];

    return veil_ok(veil_dcap_memo_sha256(c->cache->memo, msg, n, digest)) &&
           veil_dcap_ecdsa_verify_digest(key, digest, sig);
}

static VEIL_RESULT check_quote_signature(struct dcap_ctx *c)
{
    EVP_PKEY *key = NULL;
    veil_result r = veil_dcap_memo_p256_key(c->cache->memo, c->q.att_key, &key);
    bool ok;

    if (r.code == VEIL_ERR_NOMEM) {
        return r;
    }
    ok = veil_ok(r) && ecdsa_verify(c, key, c->q.signed_data, c->q.signed_size, c->q.signature);
    EVP_PKEY_free(key);
    return check(c, "dcap.quote_signature", status_of(ok), remedy_quote,
                 "ECDSA P-256 signature by the attestation key over the quote header and body "
                 "(%zu bytes): %s%s",
                 c->q.signed_size, pass_fail(ok),
                 veil_ok(r) ? "" : " (the attestation key is not a P-256 point)");
}

static VEIL_RESULT check_qe_report(struct dcap_ctx *c)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    static const uint8_t zero[32];
    EVP_MD_CTX *md;
    bool ok;

    if (c->pck == NULL) {
        GUARD(check(c, "dcap.qe_report_signature", VEIL_CHECK_SKIP, NULL, "no PCK certificate"));
    } else {
        ok = ecdsa_verify(c, X509_get0_pubkey(c->pck), c->q.qe_report_raw,
                          VEIL_DCAP_SGX_REPORT_SIZE, c->q.qe_report_signature);
        GUARD(check(c, "dcap.qe_report_signature", status_of(ok), remedy_quote,
                    "quoting enclave report signed by the PCK key: %s", pass_fail(ok)));
    }
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(md, c->q.att_key, sizeof(c->q.att_key)) == 1 &&
         EVP_DigestUpdate(md, c->q.qe_auth, c->q.qe_auth_size) == 1 &&
         EVP_DigestFinal_ex(md, digest, NULL) == 1;
    EVP_MD_CTX_free(md);
    ENSURE(ok, VEIL_ERR_INTERNAL_OSSL);
    ok = memcmp(c->q.qe_report.report_data, digest, 32) == 0 &&
         memcmp(c->q.qe_report.report_data + 32, zero, 32) == 0;
    return check(c, "dcap.qe_report_data", status_of(ok), remedy_quote,
                 "QE report data = SHA-256(attestation key || QE authentication data) || zeros: %s",
                 pass_fail(ok));
}

static VEIL_RESULT check_pck_extensions(struct dcap_ctx *c)
{
    veil_result r;
    char fmspc[16];

    if (c->pck == NULL) {
        return check(c, "dcap.pck_extensions", VEIL_CHECK_SKIP, NULL, "no PCK certificate");
    }
    r = c->pck_chain->ext_r; /* parsed with the chain */
    c->ext = c->pck_chain->ext;
    c->ext_ok = veil_ok(r);
    fmt_hex(c->ext.fmspc, sizeof(c->ext.fmspc), fmspc, sizeof(fmspc));
    if (!c->ext_ok) {
        return check(c, "dcap.pck_extensions", VEIL_CHECK_FAIL, remedy_chain,
                     "Intel SGX extension of the PCK certificate: %s", veil_strerror(r.code));
    }
    return check(c, "dcap.pck_extensions", VEIL_CHECK_PASS, NULL,
                 "PCK certificate: FMSPC %s, PCE-ID %02x%02x, PCESVN %u", fmspc, c->ext.pce_id[0],
                 c->ext.pce_id[1], c->ext.pce_svn);
}

/* ---- Collateral documents. */

/* The chain of collateral certificate i to the pinned root (verified without a time), from the
 * memo or verified now; NULL in *out only when out of memory. */
static VEIL_RESULT signer_chain(struct dcap_ctx *c, int i, struct veil_dcap_chain **out,
                                bool *cached)
{
    const struct veil_dcap_part parts[] = {
        {c->cache->root_digest, 32}, {c->cache->cert_digest[i], 32}, {c->cache->certs_digest, 32}};
    struct veil_dcap_chain *ch;
    uint8_t key[32];

    GUARD(veil_dcap_memo_key(c->cache->memo, "dcap signer chain", parts, 3, key));
    ch = veil_dcap_memo_chain_get(c->cache->memo, key);
    *cached = ch != NULL;
    if (ch == NULL) {
        ch = veil_dcap_chain_new();
        ENSURE(ch != NULL, VEIL_ERR_NOMEM);
        memcpy(ch->key, key, sizeof(key));
        ch->verify_err = chain_verify(c->root, sk_X509_value(c->cache->col.certs, i),
                                      c->cache->col.certs, &ch->built);
        if (ch->verify_err == X509_V_ERR_OUT_OF_MEM) {
            veil_dcap_memo_chain_release(c->cache->memo, ch);
            BAIL(VEIL_ERR_NOMEM);
        }
        if (ch->verify_err == X509_V_OK) {
            veil_result r = chain_windows(ch);
            if (!veil_ok(r)) {
                veil_dcap_memo_chain_release(c->cache->memo, ch);
                return r;
            }
            veil_dcap_memo_chain_put(c->cache->memo, ch);
        }
    }
    *out = ch;
    return VEIL_RESULT_OK;
}

/* X509_V_OK when every certificate of a built chain is valid at `at`, else the error
 * X509_verify_cert would have given: it judges from the root down, notBefore first, and (by
 * X509_cmp_time) a certificate is already expired at its notAfter second. */
static int chain_time_err(const struct veil_dcap_chain *ch, time_t at)
{
    for (int i = sk_X509_num(ch->built) - 1; i >= 0; i--) {
        if (at < ch->window[i][0]) {
            return X509_V_ERR_CERT_NOT_YET_VALID;
        }
        if (at >= ch->window[i][1]) {
            return X509_V_ERR_CERT_HAS_EXPIRED;
        }
    }
    return X509_V_OK;
}

/* ECDSA signature of document d by collateral certificate i, memoized by (certificate, document
 * text, signature). */
static VEIL_RESULT doc_signed_by(struct dcap_ctx *c, size_t d, int i, bool *ok, bool *cached)
{
    const struct veil_dcap_doc *doc = &c->cache->col.docs[d];
    const struct veil_dcap_part parts[] = {{c->cache->cert_digest[i], 32},
                                           {c->cache->doc_digest[d], 32}};
    uint8_t key[32];

    GUARD(veil_dcap_memo_key(c->cache->memo, "dcap document signature", parts, 2, key));
    *cached = veil_dcap_memo_passed(c->cache->memo, key);
    *ok = *cached || ecdsa_verify(c, X509_get0_pubkey(sk_X509_value(c->cache->col.certs, i)),
                                  (const uint8_t *)doc->body, doc->body_size, doc->signature);
    if (*ok && !*cached) {
        veil_dcap_memo_pass(c->cache->memo, key);
    }
    return VEIL_RESULT_OK;
}

/* A TCB Signing certificate from the collateral that verifies the signature of document d and
 * chains to the pinned root, every certificate valid at opts->at. why explains a failure. */
static VEIL_RESULT doc_signature(struct dcap_ctx *c, size_t d, bool *ok, bool *cached, char *why,
                                 size_t why_size)
{
    *ok = false;
    *cached = false;
    (void)snprintf(why, why_size,
                   "no Intel SGX TCB Signing certificate in the collateral verifies the signature");
    for (int i = 0; i < sk_X509_num(c->cache->col.certs) && !*ok; i++) {
        X509 *x = sk_X509_value(c->cache->col.certs, i);
        struct veil_dcap_chain *ch = NULL;
        bool sig_ok;
        bool sig_cached;
        bool chain_cached;
        int err;
        if (!c->cache->cert_tcb_signer[i]) {
            continue;
        }
        GUARD(doc_signed_by(c, d, i, &sig_ok, &sig_cached));
        if (!sig_ok) {
            continue;
        }
        GUARD(signer_chain(c, i, &ch, &chain_cached));
        err = ch->verify_err == X509_V_OK ? chain_time_err(ch, c->at) : ch->verify_err;
        veil_dcap_memo_chain_release(c->cache->memo, ch);
        if (err == X509_V_OK) {
            *ok = true;
            *cached = sig_cached && chain_cached;
            ENSURE(X509_up_ref(x) == 1, VEIL_ERR_INTERNAL_OSSL);
            if (sk_X509_push(c->signers, x) <= 0) {
                X509_free(x);
                BAIL(VEIL_ERR_NOMEM);
            }
        } else {
            (void)snprintf(why, why_size,
                           "the signing certificate does not chain to the pinned root at the "
                           "verification time: %s",
                           X509_verify_cert_error_string(err));
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT check_window(struct dcap_ctx *c, const char *id, const char *what, time_t issue,
                                time_t next)
{
    char a[32], b[32], t[32];
    bool ok = issue <= c->at && c->at < next;

    fmt_time(issue, a);
    fmt_time(next, b);
    fmt_time(c->at, t);
    return check(c, id, status_of(ok), remedy_fetch, "%s issued %s, next update %s; at %s: %s",
                 what, a, b, t, ok ? "current" : (c->at >= next ? "EXPIRED" : "not yet issued"));
}

/* The TCB info for this TEE; of several, the one for the PCK's FMSPC that is current. */
static const struct veil_dcap_doc *select_tcb_info(struct dcap_ctx *c)
{
    const struct veil_dcap_doc *best_doc = NULL;
    int best = -1;

    for (size_t i = 0; i < c->cache->col.doc_count; i++) {
        const struct veil_dcap_tcb_info *t = &c->cache->tcb[i];
        int score;
        if (!c->cache->tcb_ok[i] || t->is_tdx != (c->tee == VEIL_TEE_TDX)) {
            continue;
        }
        score = (c->ext_ok && memcmp(t->fmspc, c->ext.fmspc, 6) == 0 ? 2 : 0) +
                (t->issue_date <= c->at && c->at < t->next_update ? 1 : 0);
        if (score > best) {
            best = score;
            best_doc = &c->cache->col.docs[i];
            c->tcb = t;
        }
    }
    return best_doc;
}

static VEIL_RESULT check_tcb_info(struct dcap_ctx *c)
{
    const struct veil_dcap_doc *d;
    char why[256];
    char want[16];
    char have[16];
    bool sig_ok;
    bool cached;
    bool fmspc_ok;

    d = select_tcb_info(c);
    if (d == NULL) {
        GUARD(check(c, "dcap.tcb_info.signature", VEIL_CHECK_FAIL, remedy_fetch,
                    "no well-formed %s TCB info was given in the collateral",
                    c->tee == VEIL_TEE_TDX ? "TDX" : "SGX"));
        GUARD(check(c, "dcap.tcb_info.validity", VEIL_CHECK_SKIP, NULL, "no TCB info"));
        return check(c, "dcap.tcb_info.fmspc", VEIL_CHECK_SKIP, NULL, "no TCB info");
    }
    GUARD(doc_signature(c, (size_t)(d - c->cache->col.docs), &sig_ok, &cached, why, sizeof(why)));
    GUARD(check(c, "dcap.tcb_info.signature", status_of(sig_ok), remedy_fetch,
                "TCB info signed by the Intel SGX TCB Signing key over its exact JSON text: %s%s%s",
                pass_fail(sig_ok), sig_ok ? (cached ? " (cached)" : "") : ": ", sig_ok ? "" : why));
    GUARD(check_window(c, "dcap.tcb_info.validity", "TCB info", c->tcb->issue_date,
                       c->tcb->next_update));
    fmt_hex(c->tcb->fmspc, 6, have, sizeof(have));
    if (!c->ext_ok) {
        return check(c, "dcap.tcb_info.fmspc", VEIL_CHECK_SKIP, NULL, "no PCK FMSPC");
    }
    fmt_hex(c->ext.fmspc, 6, want, sizeof(want));
    fmspc_ok = memcmp(c->tcb->fmspc, c->ext.fmspc, 6) == 0 &&
               memcmp(c->tcb->pce_id, c->ext.pce_id, 2) == 0;
    c->tcb_usable = sig_ok && fmspc_ok;
    return check(c, "dcap.tcb_info.fmspc", status_of(fmspc_ok),
                 "use the TCB info for the FMSPC and PCE-ID of this platform's PCK certificate",
                 "TCB info FMSPC %s PCE-ID %02x%02x; PCK certificate FMSPC %s PCE-ID %02x%02x",
                 have, c->tcb->pce_id[0], c->tcb->pce_id[1], want, c->ext.pce_id[0],
                 c->ext.pce_id[1]);
}

/* The QE identity for this TEE (TD_QE / QE); of several, one that is current. */
static const struct veil_dcap_doc *select_qe_identity(struct dcap_ctx *c)
{
    const struct veil_dcap_doc *best_doc = NULL;
    int best = -1;

    for (size_t i = 0; i < c->cache->col.doc_count; i++) {
        const struct veil_dcap_qe_identity *q = &c->cache->qe[i];
        int score;
        if (!c->cache->qe_ok[i] || q->is_td_qe != (c->tee == VEIL_TEE_TDX)) {
            continue;
        }
        score = q->issue_date <= c->at && c->at < q->next_update ? 1 : 0;
        if (score > best) {
            best = score;
            best_doc = &c->cache->col.docs[i];
            c->qe = q;
        }
    }
    return best_doc;
}

static bool masked_eq(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((a[i] & mask[i]) != (b[i] & mask[i])) {
            return false;
        }
    }
    return true;
}

static VEIL_RESULT check_qe_identity(struct dcap_ctx *c)
{
    const struct veil_dcap_doc *d;
    const struct veil_dcap_sgx_report *qr = &c->q.qe_report;
    char why[256];
    bool sig_ok;
    bool cached;
    bool ok;

    d = select_qe_identity(c);
    if (d == NULL) {
        GUARD(check(c, "dcap.qe_identity.signature", VEIL_CHECK_FAIL, remedy_fetch,
                    "no well-formed %s identity was given in the collateral",
                    c->tee == VEIL_TEE_TDX ? "TD_QE" : "QE"));
        GUARD(check(c, "dcap.qe_identity.validity", VEIL_CHECK_SKIP, NULL, "no QE identity"));
        return check(c, "dcap.qe_identity.match", VEIL_CHECK_SKIP, NULL, "no QE identity");
    }
    GUARD(doc_signature(c, (size_t)(d - c->cache->col.docs), &sig_ok, &cached, why, sizeof(why)));
    GUARD(check(c, "dcap.qe_identity.signature", status_of(sig_ok), remedy_fetch,
                "QE identity signed by the Intel SGX TCB Signing key over its exact JSON text: "
                "%s%s%s",
                pass_fail(sig_ok), sig_ok ? (cached ? " (cached)" : "") : ": ", sig_ok ? "" : why));
    GUARD(check_window(c, "dcap.qe_identity.validity", "QE identity", c->qe->issue_date,
                       c->qe->next_update));
    bool signer_ok = memcmp(qr->mr_signer, c->qe->mr_signer, 32) == 0;
    bool prod_ok = qr->isv_prod_id == c->qe->isv_prod_id;
    bool misc_ok = (qr->misc_select & c->qe->misc_select_mask) ==
                   (c->qe->misc_select & c->qe->misc_select_mask);
    bool attr_ok = masked_eq(qr->attributes, c->qe->attributes, c->qe->attributes_mask, 16);
    ok = signer_ok && prod_ok && misc_ok && attr_ok;
    c->qe_usable = sig_ok && ok;
    return check(c, "dcap.qe_identity.match", status_of(ok),
                 "the quote was produced by a quoting enclave Intel does not list: do not trust it",
                 "quoting enclave MRSIGNER %s, ISVPRODID %u (%s), MISCSELECT %s, attributes %s",
                 signer_ok ? "matches" : "DIFFERS", qr->isv_prod_id,
                 prod_ok ? "matches" : "DIFFERS", misc_ok ? "match" : "DIFFER",
                 attr_ok ? "match" : "DIFFER");
}

/* TCB recovery freshness: the documents the TCB is judged by are at least as recent as the TCB
 * evaluation the caller requires (Intel raises tcbEvaluationDataNumber at each TCB recovery). */
static VEIL_RESULT check_tcb_eval(struct dcap_ctx *c)
{
    int64_t min = c->opts->min_tcb_eval_number;
    char tcb[32] = "none";
    char qe[32] = "none";
    bool ok;

    if (min <= 0) {
        return check(c, "dcap.tcb_eval_number", VEIL_CHECK_SKIP, NULL,
                     "no minimum tcbEvaluationDataNumber was required");
    }
    if (c->tcb == NULL && c->qe == NULL) {
        return check(c, "dcap.tcb_eval_number", VEIL_CHECK_SKIP, NULL,
                     "no TCB info or QE identity to judge");
    }
    if (c->tcb != NULL) {
        (void)snprintf(tcb, sizeof(tcb), "%lld", (long long)c->tcb->eval_number);
    }
    if (c->qe != NULL) {
        (void)snprintf(qe, sizeof(qe), "%lld", (long long)c->qe->eval_number);
    }
    ok = (c->tcb == NULL || c->tcb->eval_number >= min) &&
         (c->qe == NULL || c->qe->eval_number >= min);
    return check(c, "dcap.tcb_eval_number", status_of(ok),
                 "the collateral predates the TCB recovery this verifier requires: fetch current "
                 "TCB info and QE identity from Intel PCS (if the platform is then out of date, "
                 "update it)",
                 "tcbEvaluationDataNumber of the TCB info %s, of the QE identity %s; at least %lld "
                 "required: %s",
                 tcb, qe, (long long)min, ok ? "met" : "NOT MET");
}

/* ---- CRLs. */

/* thisUpdate <= at <= nextUpdate (a CRL without nextUpdate is never current). */
static bool crl_current(X509_CRL *crl, time_t at)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    int last_cmp = ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), at);
    int next_cmp = next != NULL ? ASN1_TIME_cmp_time_t(next, at) : -2;

    return (last_cmp == -1 || last_cmp == 0) && (next_cmp == 0 || next_cmp == 1);
}

static bool crl_sig_plain(void *arg, int index, X509_CRL *crl, X509 *issuer)
{
    bool ok = X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;

    (void)arg;
    (void)index;
    ERR_clear_error();
    return ok;
}

enum veil_dcap_crl_outcome veil_dcap_crl_judge(STACK_OF(X509_CRL) * crls, X509 *issuer,
                                               STACK_OF(X509) * subjects, time_t at, X509 **revoked)
{
    return veil_dcap_crl_judge_with(crls, issuer, subjects, at, revoked, crl_sig_plain, NULL);
}

enum veil_dcap_crl_outcome veil_dcap_crl_judge_with(STACK_OF(X509_CRL) * crls, X509 *issuer,
                                                    STACK_OF(X509) * subjects, time_t at,
                                                    X509 **revoked, veil_dcap_crl_sig_fn sig_ok,
                                                    void *arg)
{
    X509_CRL *use = NULL;
    bool use_current = false;
    bool any = false;

    *revoked = NULL;
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
            continue;
        }
        any = true;
        if (!sig_ok(arg, i, crl, issuer)) {
            continue;
        }
        /* Prefer a CRL current at the verification time, and of those the latest issued. */
        bool cur = crl_current(crl, at);
        if (use == NULL || (cur && !use_current) ||
            (cur &&
             ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_lastUpdate(use)) > 0)) {
            use = crl;
            use_current = cur;
        }
    }
    if (!any) {
        return VEIL_DCAP_CRL_NONE;
    }
    if (use == NULL) {
        return VEIL_DCAP_CRL_BAD_SIGNATURE;
    }
    if (!use_current) {
        return VEIL_DCAP_CRL_STALE;
    }
    for (int i = 0; i < sk_X509_num(subjects); i++) {
        X509 *x = sk_X509_value(subjects, i);
        X509_REVOKED *rev = NULL;
        if (X509_CRL_get0_by_cert(use, &rev, x) == 1) {
            *revoked = x;
            return VEIL_DCAP_CRL_REVOKED;
        }
    }
    return VEIL_DCAP_CRL_OK;
}

struct crl_sig_memo {
    struct dcap_ctx *c;
    const uint8_t *issuer_digest;
    bool failed; /* a memo key could not be computed (out of memory) */
};

/* X509_CRL_verify, memoized by (issuer certificate, CRL DER). */
static bool crl_sig_memo(void *arg, int index, X509_CRL *crl, X509 *issuer)
{
    struct crl_sig_memo *m = arg;
    const struct veil_dcap_part parts[] = {{m->issuer_digest, 32},
                                           {m->c->cache->crl_digest[index], 32}};
    uint8_t key[32];
    bool ok;

    if (!veil_ok(veil_dcap_memo_key(m->c->cache->memo, "dcap crl signature", parts, 2, key))) {
        m->failed = true;
        return false;
    }
    if (veil_dcap_memo_passed(m->c->cache->memo, key)) {
        return true;
    }
    ok = crl_sig_plain(NULL, index, crl, issuer);
    if (ok) {
        veil_dcap_memo_pass(m->c->cache->memo, key);
    }
    return ok;
}

static VEIL_RESULT check_crl(struct dcap_ctx *c, const char *id, X509 *issuer,
                             const uint8_t *issuer_digest, STACK_OF(X509) * subjects)
{
    struct crl_sig_memo memo = {c, issuer_digest, false};
    enum veil_dcap_crl_outcome outcome;
    char name[128];
    char sub[128];
    char t[32];
    X509 *revoked = NULL;

    if (issuer == NULL) {
        return check(c, id, VEIL_CHECK_SKIP, NULL, "the chain did not verify");
    }
    cert_name(issuer, name, sizeof(name));
    fmt_time(c->at, t);
    outcome = veil_dcap_crl_judge_with(c->cache->col.crls, issuer, subjects, c->at, &revoked,
                                       crl_sig_memo, &memo);
    ENSURE(!memo.failed, VEIL_ERR_NOMEM);
    switch (outcome) {
        case VEIL_DCAP_CRL_NONE:
            return check(c, id, VEIL_CHECK_SKIP, NULL, "no CRL issued by \"%s\" was given", name);
        case VEIL_DCAP_CRL_BAD_SIGNATURE:
            return check(c, id, VEIL_CHECK_FAIL, remedy_fetch,
                         "no CRL issued by \"%s\" carries a valid signature", name);
        case VEIL_DCAP_CRL_STALE:
            return check(c, id, VEIL_CHECK_FAIL, remedy_fetch,
                         "CRL of \"%s\" is not current at %s (EXPIRED or not yet issued)", name, t);
        case VEIL_DCAP_CRL_REVOKED:
            cert_name(revoked, sub, sizeof(sub));
            return check(
                c, id, VEIL_CHECK_FAIL,
                "a certificate of the chain was revoked by Intel: do not trust this platform",
                "\"%s\" is REVOKED by the CRL of \"%s\"", sub, name);
        case VEIL_DCAP_CRL_OK:
        default:
            break;
    }
    return check(c, id, VEIL_CHECK_PASS, NULL,
                 "CRL of \"%s\" (signature valid, current at %s) revokes none of %d certificate(s)",
                 name, t, sk_X509_num(subjects));
}

static VEIL_RESULT check_crls(struct dcap_ctx *c)
{
    STACK_OF(X509) *subjects = sk_X509_new_null();
    veil_result r = VEIL_RESULT_OK;

    ENSURE(subjects != NULL, VEIL_ERR_NOMEM);
    if (c->pck_issuer != NULL && sk_X509_push(subjects, c->pck) <= 0) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out_free;
    }
    r = check_crl(c, "dcap.crl.pck", c->pck_issuer, c->pck_issuer_digest, subjects);
    if (!veil_ok(r)) {
        goto out_free;
    }
    (void)sk_X509_pop(subjects);
    /* The root CRL covers the PCK CA and the collateral signing certificates. */
    if (c->pck_issuer != NULL && sk_X509_push(subjects, c->pck_issuer) <= 0) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out_free;
    }
    for (int i = 0; i < sk_X509_num(c->signers); i++) {
        if (sk_X509_push(subjects, sk_X509_value(c->signers, i)) <= 0) {
            r = veil_result_of(VEIL_ERR_NOMEM);
            goto out_free;
        }
    }
    r = check_crl(c, "dcap.crl.root", c->pck_issuer != NULL ? c->root : NULL, c->cache->root_digest,
                  subjects);
out_free:
    sk_X509_free(subjects);
    return r;
}

/* ---- TCB status. */

static VEIL_RESULT check_tdx_module(struct dcap_ctx *c, enum veil_dcap_tcb_status *status,
                                    struct veil_dcap_advisories *adv)
{
    const struct veil_dcap_td_report *td = &c->q.td;
    const struct veil_dcap_module_identity *m;
    const struct veil_dcap_isv_level *l;
    bool ok;

    if (td->tee_tcb_svn[1] == 0) {
        ok = c->tcb->has_tdx_module &&
             memcmp(td->mr_signer_seam, c->tcb->module_mr_signer, 48) == 0 &&
             masked_eq(td->seam_attributes, c->tcb->module_attributes,
                       c->tcb->module_attributes_mask, 8);
        return check(c, "dcap.tdx_module", status_of(ok),
                     "the TDX module is not one Intel signed: do not trust this TD",
                     "TDX module MRSIGNER_SEAM and SEAM attributes match the TCB info: %s",
                     ok ? "yes" : "no");
    }
    m = veil_dcap_module_find(c->tcb, td->tee_tcb_svn);
    if (m == NULL) {
        return check(c, "dcap.tdx_module", VEIL_CHECK_FAIL, remedy_fetch,
                     "the TCB info has no identity for TDX module major version %u",
                     td->tee_tcb_svn[1]);
    }
    ok = memcmp(td->mr_signer_seam, m->mr_signer, 48) == 0 &&
         masked_eq(td->seam_attributes, m->attributes, m->attributes_mask, 8);
    l = veil_dcap_isv_match(m->levels, m->level_count, td->tee_tcb_svn[0]);
    *status = veil_dcap_tcb_merge(*status, l != NULL ? l->status : VEIL_DCAP_OUT_OF_DATE);
    if (l != NULL) {
        GUARD(veil_dcap_advisories_merge(adv, &l->advisories));
    }
    return check(c, "dcap.tdx_module", status_of(ok),
                 "the TDX module is not one Intel signed: do not trust this TD",
                 "TDX module %s: MRSIGNER_SEAM and attributes %s; SVN %u -> %s", m->id,
                 ok ? "match" : "DIFFER", td->tee_tcb_svn[0],
                 l != NULL ? veil_dcap_tcb_status_name(l->status) : "below every level");
}

static bool status_acceptable(enum veil_dcap_tcb_status s)
{
    return s == VEIL_DCAP_UP_TO_DATE || s == VEIL_DCAP_SW_HARDENING_NEEDED ||
           s == VEIL_DCAP_CONFIGURATION_NEEDED ||
           s == VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED;
}

static VEIL_RESULT emit_status(struct dcap_ctx *c, enum veil_dcap_tcb_status s,
                               const struct veil_dcap_advisories *adv)
{
    char name[64];

    (void)snprintf(name, sizeof(name), "%s.tcb_status", c->tee_name);
    GUARD(veil_claims_add_str(c->claims, name, veil_dcap_tcb_status_name(s)));
    (void)snprintf(name, sizeof(name), "%s.tcb_eval_number", c->tee_name);
    GUARD(veil_claims_add_int(c->claims, name, c->tcb->eval_number));
    (void)snprintf(name, sizeof(name), "%s.advisory_ids", c->tee_name);
    return veil_claims_add_str_list(c->claims, name, (const char *const *)adv->ids, adv->count);
}

static VEIL_RESULT tcb_status(struct dcap_ctx *c, struct veil_dcap_advisories *adv)
{
    const struct veil_dcap_tcb_level *level;
    enum veil_dcap_tcb_status s;
    const char *qe_note = "QE identity not usable";
    char adv_text[512] = "";

    if (!c->tcb_usable || !c->ext_ok) {
        if (c->tee == VEIL_TEE_TDX) {
            GUARD(check(c, "dcap.tdx_module", VEIL_CHECK_SKIP, NULL, "no usable TCB info"));
        }
        return check(c, "dcap.tcb_status", VEIL_CHECK_SKIP, NULL, "no usable TCB info");
    }
    level = veil_dcap_tcb_match(c->tcb, c->ext.comp_svn, c->ext.pce_svn,
                                c->tee == VEIL_TEE_TDX ? c->q.td.tee_tcb_svn : NULL);
    if (level == NULL) {
        GUARD(emit_status(c, VEIL_DCAP_OUT_OF_DATE, adv));
        if (c->tee == VEIL_TEE_TDX) {
            GUARD(check(c, "dcap.tdx_module", VEIL_CHECK_SKIP, NULL, "no TCB level matched"));
        }
        return check(c, "dcap.tcb_status", VEIL_CHECK_FAIL,
                     "the platform's TCB is older than every level Intel lists: update BIOS, "
                     "microcode and TDX module, then obtain a new PCK certificate",
                     "no TCB level of the TCB info matches the platform (PCESVN %u): OutOfDate, "
                     "TCB not supported",
                     c->ext.pce_svn);
    }
    s = level->status;
    GUARD(veil_dcap_advisories_merge(adv, &level->advisories));
    if (c->tee == VEIL_TEE_TDX) {
        GUARD(check_tdx_module(c, &s, adv));
    }
    if (c->qe_usable) {
        const struct veil_dcap_isv_level *ql =
            veil_dcap_isv_match(c->qe->levels, c->qe->level_count, c->q.qe_report.isv_svn);
        s = veil_dcap_tcb_merge(s, ql != NULL ? ql->status : VEIL_DCAP_OUT_OF_DATE);
        if (ql != NULL) {
            GUARD(veil_dcap_advisories_merge(adv, &ql->advisories));
        }
        qe_note = ql != NULL ? veil_dcap_tcb_status_name(ql->status) : "below every level";
    }
    for (size_t i = 0; i < adv->count; i++) {
        size_t used = strlen(adv_text);
        (void)snprintf(adv_text + used, sizeof(adv_text) - used, "%s%s", i > 0 ? "," : "",
                       adv->ids[i]);
    }
    GUARD(emit_status(c, s, adv));
    return check(c, "dcap.tcb_status", status_of(status_acceptable(s)),
                 "the platform needs a TCB recovery (BIOS, microcode or TDX module update): "
                 "update it, then obtain a new PCK certificate",
                 "TCB status %s (platform level %s, QE %s); advisories [%s]",
                 veil_dcap_tcb_status_name(s), veil_dcap_tcb_status_name(level->status), qe_note,
                 adv_text);
}

/* ---- Claims. */

static VEIL_RESULT claim_bytes(struct dcap_ctx *c, const char *field, const uint8_t *p, size_t n)
{
    char name[64];

    (void)snprintf(name, sizeof(name), "%s.%s", c->tee_name, field);
    return veil_claims_add_bytes(c->claims, name, p, n);
}

static VEIL_RESULT emit_td_claims(struct dcap_ctx *c)
{
    const struct veil_dcap_td_report *td = &c->q.td;
    char name[32];

    GUARD(veil_claims_add_str(c->claims, "tee", "tdx"));
    GUARD(veil_claims_add_int(c->claims, "tdx.quote_version", c->q.version));
    GUARD(claim_bytes(c, "mr_td", td->mr_td, 48));
    for (int i = 0; i < 4; i++) {
        (void)snprintf(name, sizeof(name), "rtmr[%d]", i);
        GUARD(claim_bytes(c, name, td->rtmr[i], 48));
    }
    GUARD(claim_bytes(c, "mr_seam", td->mr_seam, 48));
    GUARD(claim_bytes(c, "mr_signer_seam", td->mr_signer_seam, 48));
    GUARD(claim_bytes(c, "mr_config_id", td->mr_config_id, 48));
    GUARD(claim_bytes(c, "mr_owner", td->mr_owner, 48));
    GUARD(claim_bytes(c, "mr_owner_config", td->mr_owner_config, 48));
    GUARD(claim_bytes(c, "td_attributes", td->td_attributes, 8));
    GUARD(veil_claims_add_bool(c->claims, "tdx.debug", (td->td_attributes[0] & 1u) != 0));
    GUARD(claim_bytes(c, "xfam", td->xfam, 8));
    GUARD(claim_bytes(c, "tee_tcb_svn", td->tee_tcb_svn, 16));
    GUARD(claim_bytes(c, "report_data", td->report_data, 64));
    if (td->is_v15) {
        GUARD(claim_bytes(c, "tee_tcb_svn2", td->tee_tcb_svn2, 16));
        GUARD(claim_bytes(c, "mr_servicetd", td->mr_servicetd, 48));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT emit_sgx_claims(struct dcap_ctx *c)
{
    const struct veil_dcap_sgx_report *e = &c->q.enclave;

    GUARD(veil_claims_add_str(c->claims, "tee", "sgx"));
    GUARD(veil_claims_add_int(c->claims, "sgx.quote_version", c->q.version));
    GUARD(claim_bytes(c, "mr_enclave", e->mr_enclave, 32));
    GUARD(claim_bytes(c, "mr_signer", e->mr_signer, 32));
    GUARD(veil_claims_add_int(c->claims, "sgx.isv_prod_id", e->isv_prod_id));
    GUARD(veil_claims_add_int(c->claims, "sgx.isv_svn", e->isv_svn));
    GUARD(claim_bytes(c, "attributes", e->attributes, 16));
    GUARD(veil_claims_add_bool(c->claims, "sgx.debug", (e->attributes[0] & 2u) != 0));
    GUARD(veil_claims_add_int(c->claims, "sgx.misc_select", e->misc_select));
    return claim_bytes(c, "report_data", e->report_data, 64);
}

static VEIL_RESULT check_report_data(struct dcap_ctx *c)
{
    const uint8_t *rd = c->tee == VEIL_TEE_TDX ? c->q.td.report_data : c->q.enclave.report_data;
    size_t n = c->opts->report_data_size;
    bool ok;

    if (n == 0 || c->opts->report_data == NULL) {
        return check(c, "dcap.report_data", VEIL_CHECK_SKIP, NULL, "no expected report data");
    }
    ok = n <= 64 && CRYPTO_memcmp(rd, c->opts->report_data, n) == 0;
    return check(c, "dcap.report_data", status_of(ok),
                 "the evidence is not bound to this session (nonce or key differ): it may be a "
                 "replay; request fresh evidence",
                 "report data begins with the %zu expected bytes: %s", n, ok ? "yes" : "no");
}

/* ---- The whole run. */

static VEIL_RESULT run_checks(struct dcap_ctx *c)
{
    struct veil_dcap_advisories adv = {NULL, 0};
    veil_result r;

    GUARD(c->tee == VEIL_TEE_TDX ? emit_td_claims(c) : emit_sgx_claims(c));
    GUARD(check_quote_signature(c));
    GUARD(check_pck_chain(c));
    GUARD(check_qe_report(c));
    GUARD(check_pck_extensions(c));
    if (c->ext_ok) {
        GUARD(claim_bytes(c, "fmspc", c->ext.fmspc, 6));
    }
    c->signers = sk_X509_new_null();
    ENSURE(c->signers != NULL, VEIL_ERR_NOMEM);
    GUARD(check_tcb_info(c));
    GUARD(check_qe_identity(c));
    GUARD(check_tcb_eval(c));
    GUARD(check_crls(c));
    r = tcb_status(c, &adv);
    veil_dcap_advisories_free(&adv);
    GUARD(r);
    return check_report_data(c);
}

veil_result veil_dcap_verify_cached(enum veil_tee tee, const uint8_t *evidence, size_t n,
                                    const struct veil_verify_opts *opts,
                                    const struct veil_dcap_cache *cache, struct veil_claims *claims,
                                    struct veil_report *report)
{
    struct dcap_ctx c;
    veil_result r;
    bool want_tdx = tee == VEIL_TEE_TDX;

    ENSURE_REF(evidence);
    ENSURE_REF(opts);
    ENSURE_REF(cache);
    ENSURE_REF(claims);
    ENSURE_REF(report);
    ENSURE(tee == VEIL_TEE_TDX || tee == VEIL_TEE_SGX, VEIL_ERR_USAGE);
    memset(&c, 0, sizeof(c));
    c.tee = tee;
    c.tee_name = want_tdx ? "tdx" : "sgx";
    c.at = opts->at;
    c.opts = opts;
    c.claims = claims;
    c.report = report;
    c.cache = cache;
    c.root = cache->root;
    r = veil_dcap_quote_parse(evidence, n, &c.q);
    if (veil_ok(r) && (c.q.tee_type == VEIL_DCAP_TEE_TDX) != want_tdx) {
        r = veil_result_of(VEIL_ERR_DCAP_QUOTE_TEE);
    }
    if (!veil_ok(r)) {
        GUARD(check(&c, "dcap.parse", VEIL_CHECK_FAIL, remedy_quote, "%s quote: %s",
                    want_tdx ? "TDX" : "SGX", veil_strerror(r.code)));
        return r;
    }
    GUARD(check(&c, "dcap.parse", VEIL_CHECK_PASS, NULL,
                "%s quote v%u%s, %zu bytes (+%zu bytes zero padding)", want_tdx ? "TDX" : "SGX",
                c.q.version, c.q.td.is_v15 ? " (TD report 1.5)" : "", c.q.quote_size,
                n - c.q.quote_size));
    r = run_checks(&c);
    veil_dcap_memo_chain_release(cache->memo, c.pck_chain);
    sk_X509_pop_free(c.signers, X509_free);
    GUARD(r);
    ENSURE(veil_report_passed(report), VEIL_ERR_ATTEST);
    return VEIL_RESULT_OK;
}

/* Without a cache: the collateral is prepared for this one call. */
static VEIL_RESULT verify_dcap(enum veil_tee tee, const uint8_t *evidence, size_t n,
                               const struct veil_verify_opts *opts, struct veil_claims *claims,
                               struct veil_report *report)
{
    struct veil_dcap_cache *cache = NULL;
    veil_result r;

    ENSURE_REF(opts);
    GUARD(veil_dcap_cache_new(opts->collateral, &cache));
    r = veil_dcap_verify_cached(tee, evidence, n, opts, cache, claims, report);
    veil_dcap_cache_free(cache);
    return r;
}

veil_result veil_verify_tdx(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report)
{
    return verify_dcap(VEIL_TEE_TDX, evidence, n, opts, claims, report);
}

veil_result veil_verify_sgx(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report)
{
    return verify_dcap(VEIL_TEE_SGX, evidence, n, opts, claims, report);
}
