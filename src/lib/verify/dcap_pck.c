/*
 * The PCK side of a DCAP quote: the PEM chain of certification data type 5, the pinned Intel SGX
 * Root CA, the Intel SGX extension of the PCK certificate (FMSPC, PCE-ID, TCB), and raw ECDSA
 * P-256 signatures (r || s) as Intel uses them everywhere.
 *
 * The SGX extension (OID 1.2.840.113741.1.13.1) is read with a small DER walker over the bounded
 * reader: SEQUENCE of SEQUENCE { OID, value }, where the TCB member (.2) nests 18 such pairs
 * (.2.1-.2.16 component SVNs, .2.17 PCESVN, .2.18 CPUSVN).
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "base/buf.h"
#include "verify/dcap_internal.h"

#define DER_SEQUENCE   0x30
#define DER_OID        0x06
#define DER_INTEGER    0x02
#define DER_OCTETS     0x04
#define DER_ENUMERATED 0x0a

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_ext_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

veil_result veil_dcap_root_ca(X509 **out)
{
    const unsigned char *p = veil_dcap_root_ca_der;
    X509 *x = d2i_X509(NULL, &p, (long)veil_dcap_root_ca_der_size);

    ENSURE(x != NULL, VEIL_ERR_INTERNAL_OSSL);
    *out = x;
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_pem_chain(const uint8_t *pem, size_t n, STACK_OF(X509) * *out)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    STACK_OF(X509) *chain = NULL;
    BIO *bio = NULL;
    X509 *x;
    size_t blocks = 0;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(n <= VEIL_DCAP_CERT_DATA_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    for (const uint8_t *p = pem; p != NULL;) {
        size_t left = n - (size_t)(p - pem);
        p = memmem(p, left, begin, sizeof(begin) - 1);
        if (p != NULL) {
            blocks++;
            p += sizeof(begin) - 1;
        }
    }
    ENSURE(blocks > 0, VEIL_ERR_DCAP_CERT_DATA);
    ENSURE(blocks <= VEIL_DCAP_PCK_CHAIN_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    chain = sk_X509_new_null();
    bio = BIO_new_mem_buf(pem, (int)n);
    if (chain == NULL || bio == NULL) {
        r = veil_result_of(VEIL_ERR_NOMEM);
        goto out_free;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(chain, x) <= 0) {
            X509_free(x);
            r = veil_result_of(VEIL_ERR_NOMEM);
            goto out_free;
        }
    }
    ERR_clear_error();
    /* Every BEGIN block must have parsed: a damaged certificate is not silently dropped. */
    if ((size_t)sk_X509_num(chain) != blocks) {
        r = veil_result_of(VEIL_ERR_DCAP_CERT_DATA);
        goto out_free;
    }
    *out = chain;
    chain = NULL;
out_free:
    BIO_free(bio);
    sk_X509_pop_free(chain, X509_free);
    return r;
}

/* DER INTEGER of a 32-byte big-endian unsigned value: leading zeros dropped, a zero byte added
 * when the top bit is set. Writes at most 35 bytes. */
static size_t der_uint256(const uint8_t v[32], uint8_t *out)
{
    size_t skip = 0;
    size_t len;
    size_t n = 0;

    while (skip < 31 && v[skip] == 0) {
        skip++;
    }
    len = 32 - skip + ((v[skip] & 0x80) != 0 ? 1 : 0);
    out[n++] = DER_INTEGER;
    out[n++] = (uint8_t)len;
    if ((v[skip] & 0x80) != 0) {
        out[n++] = 0;
    }
    memcpy(out + n, v + skip, 32 - skip);
    return n + 32 - skip;
}

bool veil_dcap_ecdsa_verify_digest(EVP_PKEY *key, const uint8_t digest[32], const uint8_t sig[64])
{
    uint8_t der[2 + 2 * 35]; /* SEQUENCE { INTEGER r, INTEGER s }: at most 72 bytes */
    size_t der_size = 2;
    EVP_PKEY_CTX *ctx;
    bool ok;

    /* The digest is verified directly: cheaper than EVP_DigestVerify* (no digest context or
     * digest fetch in the provider), and r || s is DER-encoded without BIGNUMs. */
    der_size += der_uint256(sig, der + der_size);
    der_size += der_uint256(sig + 32, der + der_size);
    der[0] = DER_SEQUENCE;
    der[1] = (uint8_t)(der_size - 2);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, der, der_size, digest, 32) == 1;
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

bool veil_dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64])
{
    uint8_t digest[32];

    if (EVP_Digest(msg, n, digest, NULL, EVP_sha256(), NULL) != 1) {
        ERR_clear_error();
        return false;
    }
    return veil_dcap_ecdsa_verify_digest(key, digest, sig);
}

veil_result veil_dcap_p256_key(const uint8_t xy[64], EVP_PKEY **out)
{
    uint8_t point[65];
    char group[] = "prime256v1";
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    int ok;

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    point[0] = 0x04;
    memcpy(point + 1, xy, 64);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        /* A point that is not on the curve: the quote is malformed, not our failure. */
        ERR_clear_error();
        BAIL(VEIL_ERR_CRYPTO_KEY);
    }
    *out = key;
    return VEIL_RESULT_OK;
}

/* One DER TLV: single-byte tag, definite length of at most 4 bytes. */
static VEIL_RESULT der_tlv(struct veil_rd *r, uint8_t *tag, struct veil_rd *val)
{
    struct veil_rd save = *r;
    uint8_t b;
    size_t len = 0;
    veil_result res;

    GUARD(veil_rd_u8(r, tag));
    res = veil_rd_u8(r, &b);
    if (veil_ok(res) && (*tag & 0x1f) == 0x1f) {
        res = veil_result_of(VEIL_ERR_DCAP_PCK_EXTENSION);
    }
    if (veil_ok(res) && b < 0x80) {
        len = b;
    } else if (veil_ok(res)) {
        size_t count = b & 0x7fu;
        if (count == 0 || count > 4) {
            res = veil_result_of(VEIL_ERR_DCAP_PCK_EXTENSION);
        }
        for (size_t i = 0; veil_ok(res) && i < count; i++) {
            res = veil_rd_u8(r, &b);
            len = (len << 8) | b;
        }
    }
    if (veil_ok(res)) {
        res = veil_rd_sub(r, len, val);
    }
    if (!veil_ok(res)) {
        *r = save;
    }
    return res;
}

static VEIL_RESULT der_expect(struct veil_rd *r, uint8_t want, struct veil_rd *val)
{
    uint8_t tag;

    GUARD(der_tlv(r, &tag, val));
    ENSURE(tag == want, VEIL_ERR_DCAP_PCK_EXTENSION);
    return VEIL_RESULT_OK;
}

/* A non-negative INTEGER (or ENUMERATED) no larger than max. */
static VEIL_RESULT der_uint(struct veil_rd *v, uint32_t max, uint32_t *out)
{
    uint32_t x = 0;
    uint8_t b;
    size_t n = veil_rd_left(v);

    ENSURE(n >= 1 && n <= 4, VEIL_ERR_DCAP_PCK_EXTENSION);
    ENSURE((veil_rd_ptr(v)[0] & 0x80) == 0, VEIL_ERR_DCAP_PCK_EXTENSION);
    while (veil_rd_left(v) > 0) {
        GUARD(veil_rd_u8(v, &b));
        x = (x << 8) | b;
    }
    ENSURE(x <= max, VEIL_ERR_DCAP_PCK_EXTENSION);
    *out = x;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT der_octets(struct veil_rd *v, uint8_t *out, size_t n)
{
    ENSURE(veil_rd_left(v) == n, VEIL_ERR_DCAP_PCK_EXTENSION);
    return veil_rd_bytes(v, out, n);
}

/* An OID under the SGX extension: returns the arcs after the prefix (1 or 2 of them). */
static VEIL_RESULT sgx_arcs(struct veil_rd *oid, uint8_t arcs[2], size_t *count)
{
    size_t n = veil_rd_left(oid);

    ENSURE(n > sizeof(sgx_ext_oid) && n <= sizeof(sgx_ext_oid) + 2, VEIL_ERR_DCAP_PCK_EXTENSION);
    ENSURE(memcmp(veil_rd_ptr(oid), sgx_ext_oid, sizeof(sgx_ext_oid)) == 0,
           VEIL_ERR_DCAP_PCK_EXTENSION);
    GUARD(veil_rd_skip(oid, sizeof(sgx_ext_oid)));
    *count = veil_rd_left(oid);
    GUARD(veil_rd_bytes(oid, arcs, *count));
    for (size_t i = 0; i < *count; i++) {
        ENSURE(arcs[i] < 0x80, VEIL_ERR_DCAP_PCK_EXTENSION);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_tcb(struct veil_rd *seq, struct veil_dcap_pck_ext *e)
{
    uint32_t seen = 0;

    while (veil_rd_left(seq) > 0) {
        struct veil_rd pair;
        struct veil_rd oid;
        struct veil_rd val;
        uint8_t arcs[2];
        size_t count;
        uint8_t tag;
        uint32_t x;

        GUARD(der_expect(seq, DER_SEQUENCE, &pair));
        GUARD(der_expect(&pair, DER_OID, &oid));
        GUARD(sgx_arcs(&oid, arcs, &count));
        ENSURE(count == 2 && arcs[0] == 2 && arcs[1] >= 1 && arcs[1] <= 18,
               VEIL_ERR_DCAP_PCK_EXTENSION);
        ENSURE((seen & (1u << arcs[1])) == 0, VEIL_ERR_DCAP_PCK_EXTENSION);
        seen |= 1u << arcs[1];
        GUARD(der_tlv(&pair, &tag, &val));
        GUARD(veil_rd_done(&pair));
        if (arcs[1] <= 16) {
            ENSURE(tag == DER_INTEGER, VEIL_ERR_DCAP_PCK_EXTENSION);
            GUARD(der_uint(&val, 255, &x));
            e->comp_svn[arcs[1] - 1] = (uint8_t)x;
        } else if (arcs[1] == 17) {
            ENSURE(tag == DER_INTEGER, VEIL_ERR_DCAP_PCK_EXTENSION);
            GUARD(der_uint(&val, 65535, &x));
            e->pce_svn = (uint16_t)x;
        } else {
            ENSURE(tag == DER_OCTETS, VEIL_ERR_DCAP_PCK_EXTENSION);
            GUARD(der_octets(&val, e->cpu_svn, sizeof(e->cpu_svn)));
        }
    }
    ENSURE(seen == 0x7fffeu, VEIL_ERR_DCAP_PCK_EXTENSION); /* arcs 1..18 */
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_pck_ext_parse_der(const uint8_t *der, size_t n, struct veil_dcap_pck_ext *out)
{
    struct veil_dcap_pck_ext e;
    struct veil_rd r;
    struct veil_rd top;
    uint32_t seen = 0;

    memset(&e, 0, sizeof(e));
    veil_rd_init(&r, der, n);
    GUARD(der_expect(&r, DER_SEQUENCE, &top));
    GUARD(veil_rd_done(&r));
    while (veil_rd_left(&top) > 0) {
        struct veil_rd pair;
        struct veil_rd oid;
        struct veil_rd val;
        uint8_t arcs[2];
        size_t count;
        uint8_t tag;
        uint32_t x;

        GUARD(der_expect(&top, DER_SEQUENCE, &pair));
        GUARD(der_expect(&pair, DER_OID, &oid));
        GUARD(sgx_arcs(&oid, arcs, &count));
        ENSURE(count == 1, VEIL_ERR_DCAP_PCK_EXTENSION);
        GUARD(der_tlv(&pair, &tag, &val));
        GUARD(veil_rd_done(&pair));
        if (arcs[0] < 32) {
            ENSURE((seen & (1u << arcs[0])) == 0, VEIL_ERR_DCAP_PCK_EXTENSION);
            seen |= 1u << arcs[0];
        }
        switch (arcs[0]) {
            case 1:
                ENSURE(tag == DER_OCTETS, VEIL_ERR_DCAP_PCK_EXTENSION);
                GUARD(der_octets(&val, e.ppid, sizeof(e.ppid)));
                break;
            case 2:
                ENSURE(tag == DER_SEQUENCE, VEIL_ERR_DCAP_PCK_EXTENSION);
                GUARD(parse_tcb(&val, &e));
                break;
            case 3:
                ENSURE(tag == DER_OCTETS, VEIL_ERR_DCAP_PCK_EXTENSION);
                GUARD(der_octets(&val, e.pce_id, sizeof(e.pce_id)));
                break;
            case 4:
                ENSURE(tag == DER_OCTETS, VEIL_ERR_DCAP_PCK_EXTENSION);
                GUARD(der_octets(&val, e.fmspc, sizeof(e.fmspc)));
                break;
            case 5:
                ENSURE(tag == DER_ENUMERATED, VEIL_ERR_DCAP_PCK_EXTENSION);
                GUARD(der_uint(&val, 255, &x));
                e.sgx_type = (int)x;
                break;
            default:
                break; /* platform instance id, configuration: not used */
        }
    }
    ENSURE((seen & 0x3eu) == 0x3eu, VEIL_ERR_DCAP_PCK_EXTENSION); /* .1 to .5 present */
    *out = e;
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_pck_ext_parse(X509 *pck, struct veil_dcap_pck_ext *out)
{
    ASN1_OBJECT *obj;
    int idx;
    int again;
    const ASN1_OCTET_STRING *os;

    obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ENSURE(obj != NULL, VEIL_ERR_NOMEM);
    idx = X509_get_ext_by_OBJ(pck, obj, -1);
    again = idx >= 0 ? X509_get_ext_by_OBJ(pck, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    ENSURE(idx >= 0 && again < 0, VEIL_ERR_DCAP_PCK_EXTENSION);
    os = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
    ENSURE(os != NULL, VEIL_ERR_DCAP_PCK_EXTENSION);
    return veil_dcap_pck_ext_parse_der(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os),
                                       out);
}
