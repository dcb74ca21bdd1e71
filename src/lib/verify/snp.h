/*
 * AMD SEV-SNP internals: the attestation report (SEV-SNP firmware ABI specification, AMD
 * publication 56860, ATTESTATION_REPORT structure, versions 2, 3 and 5), TCB_VERSION decoding,
 * the pinned AMD roots, and the extended-report certificate table (GHCB specification 56421,
 * SNP extended guest request). veil_verify_snp() is the verifier (verify.h contract).
 */
#ifndef VEIL_VERIFY_SNP_H
#define VEIL_VERIFY_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/result.h"
#include "verify/verify.h"

#define VEIL_SNP_REPORT_SIZE          1184
#define VEIL_SNP_SIGNED_SIZE          0x2A0 /* the signature covers bytes 0x000-0x29F */
#define VEIL_SNP_SIG_COMPONENT_SIZE   72    /* r and s: little-endian, zero above 48 bytes */
#define VEIL_SNP_SIG_ALGO_ECDSA_P384  1
#define VEIL_SNP_CHIP_ID_SIZE         64
#define VEIL_SNP_CERT_TABLE_SIZE_MAX  (64u << 10)
#define VEIL_SNP_CERT_TABLE_COUNT_MAX 16

/* Report byte offsets that tests and mutation helpers name. */
#define VEIL_SNP_OFF_REPORT_DATA  0x050
#define VEIL_SNP_OFF_MEASUREMENT  0x090
#define VEIL_SNP_OFF_REPORTED_TCB 0x180
#define VEIL_SNP_OFF_CHIP_ID      0x1A0
#define VEIL_SNP_OFF_SIGNATURE    0x2A0

enum veil_snp_product {
    VEIL_SNP_PRODUCT_UNKNOWN = 0,
    VEIL_SNP_PRODUCT_MILAN = 1,
    VEIL_SNP_PRODUCT_GENOA = 2,
    VEIL_SNP_PRODUCT_TURIN = 3,
};

/* The report's SIGNING_KEY field (bits 4:2 of the word at 0x48). */
enum veil_snp_signing_key {
    VEIL_SNP_KEY_VCEK = 0,
    VEIL_SNP_KEY_VLEK = 1,
    VEIL_SNP_KEY_NONE = 7,
};

/* Guest policy bits (ABI spec, GUEST_POLICY). */
#define VEIL_SNP_POLICY_SMT           (1ull << 16)
#define VEIL_SNP_POLICY_RESERVED_ONE  (1ull << 17) /* must be 1 */
#define VEIL_SNP_POLICY_MIGRATE_MA    (1ull << 18)
#define VEIL_SNP_POLICY_DEBUG         (1ull << 19)
#define VEIL_SNP_POLICY_SINGLE_SOCKET (1ull << 20)

/* A decoded TCB_VERSION. Milan and Genoa: byte 0 bootloader, 1 TEE, 6 SNP, 7 microcode.
 * Turin: byte 0 FMC, 1 bootloader, 2 TEE, 3 SNP, 7 microcode. */
struct veil_snp_tcb {
    uint8_t fmc; /* Turin only */
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
};

struct veil_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    bool author_key_en;
    bool mask_chip_key;
    uint32_t signing_key; /* enum veil_snp_signing_key */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id; /* v3+ */
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[VEIL_SNP_CHIP_ID_SIZE];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector; /* v5 */
    uint64_t current_mit_vector;
    uint8_t sig_r[VEIL_SNP_SIG_COMPONENT_SIZE]; /* little-endian */
    uint8_t sig_s[VEIL_SNP_SIG_COMPONENT_SIZE];
};

/* Parses exactly one report of VEIL_SNP_REPORT_SIZE bytes, field by field. Errors:
 * VEIL_ERR_SNP_SIZE, _VERSION, _RESERVED, _SIG_ALGO, _FIELD. */
VEIL_RESULT veil_snp_report_parse(const uint8_t *data, size_t n, struct veil_snp_report *out);

void veil_snp_tcb_decode(uint64_t raw, enum veil_snp_product product, struct veil_snp_tcb *out);
/* From CPUID family/model (v3+ reports); UNKNOWN when they name no SNP product. */
enum veil_snp_product veil_snp_product_from_cpuid(uint8_t family, uint8_t model);
/* "Milan", "Genoa", "Turin", "unknown". */
const char *veil_snp_product_name(enum veil_snp_product p);

/* ---- Pinned AMD roots (snp_roots.c, generated from the KDS cert_chain bundles). */

struct veil_snp_root {
    enum veil_snp_product product;
    const char *name; /* "ARK-Milan" */
    const char *pem;
};

const struct veil_snp_root *veil_snp_roots(size_t *count);

/* ---- Extended-report certificate table: {GUID, offset, length} entries ending in a zero entry,
 * offsets relative to the table start; each blob is a DER certificate. */

enum veil_snp_cert_kind {
    VEIL_SNP_CERT_ARK = 1,
    VEIL_SNP_CERT_ASK = 2,
    VEIL_SNP_CERT_VCEK = 3,
    VEIL_SNP_CERT_VLEK = 4,
    VEIL_SNP_CERT_OTHER = 5, /* an unknown GUID: kept, never trusted by kind */
};

struct veil_snp_cert_entry {
    enum veil_snp_cert_kind kind;
    const uint8_t *der; /* borrowed from the table */
    size_t der_size;
    size_t offset; /* from the table start */
};

/* Parses a certificate table into at most VEIL_SNP_CERT_TABLE_COUNT_MAX entries. */
VEIL_RESULT veil_snp_cert_table_parse(const uint8_t *data, size_t n,
                                      struct veil_snp_cert_entry *entries, size_t *count);

/* One CRL against the certificate that issued it and the child it may revoke (child may be
 * NULL): signed by issuer, current at `at`, child not listed. On failure, why says which. */
VEIL_RESULT veil_snp_crl_check(X509_CRL *crl, X509 *issuer, X509 *child, time_t at, char *why,
                               size_t why_size);

/* Evidence is a report (1184 bytes), optionally followed by a certificate table. The table's
 * certificates are used like collateral (the roots stay the pinned ones). */
VEIL_RESULT veil_verify_snp(const uint8_t *evidence, size_t n, const struct veil_verify_opts *opts,
                            struct veil_claims *claims, struct veil_report *report);

/* A verifier cache: the parsed pinned roots and the certificate signatures already verified.
 * Validity, TCB, chip id, CRLs and the report signature are still checked on every call. Not
 * thread-safe: one cache per thread, or a lock around each call. */
struct veil_snp_cache;

VEIL_RESULT veil_snp_cache_new(struct veil_snp_cache **out);
void veil_snp_cache_free(struct veil_snp_cache *cache);
/* veil_verify_snp with a cache (NULL: none). */
VEIL_RESULT veil_verify_snp_cached(struct veil_snp_cache *cache, const uint8_t *evidence, size_t n,
                                   const struct veil_verify_opts *opts, struct veil_claims *claims,
                                   struct veil_report *report);

#endif
