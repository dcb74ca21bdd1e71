/*
 * The simulated TEE (docs/ATTESTATION.sim.md): a software "platform" that signs reports shaped
 * like AMD SEV-SNP's (measurement, host data, report data, policy bits, TCB, chip id) with a chip
 * key that chains to a sim root made by `veil sim init`. It proves nothing about hardware: it is
 * a distinct TEE type (`tee` = "sim") that no policy accepts unless it names it.
 *
 * Evidence = report (fixed layout below, ECDSA P-384 signature last) || u16be len || chip
 * certificate (DER).
 *
 *   0    8   magic "VEILSIM1"
 *   8    4   version = 1                     12   4   guest_svn
 *   16   8   policy (SNP bit layout)         24   4   vmpl
 *   28   16  family_id                       44   16  image_id
 *   60   48  measurement                     108  32  host_data
 *   140  64  report_data                     204  64  chip_id = SHA-512(chip public key DER)
 *   268  8   reported_tcb (SNP layout: bootloader byte 0, tee 1, snp 6, microcode 7)
 *   276  96  signature: ECDSA P-384/SHA-384 over bytes 0..275, raw r || s
 */
#ifndef VEIL_ATTEST_SIM_H
#define VEIL_ATTEST_SIM_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"

#define VEIL_SIM_MAGIC         "VEILSIM1"
#define VEIL_SIM_BODY_SIZE     276
#define VEIL_SIM_SIG_SIZE      96
#define VEIL_SIM_REPORT_SIZE   (VEIL_SIM_BODY_SIZE + VEIL_SIM_SIG_SIZE)
#define VEIL_SIM_CERT_SIZE_MAX 4096
#define VEIL_SIM_ROOT_CN       "veil simulated TEE root"
#define VEIL_SIM_CHIP_CN       "veil simulated TEE chip"
/* SNP guest policy bits (AMD SEV-SNP ABI, GUEST_POLICY). */
#define VEIL_SNP_POLICY_SMT         (UINT64_C(1) << 16)
#define VEIL_SNP_POLICY_MIGRATE_MA  (UINT64_C(1) << 18)
#define VEIL_SNP_POLICY_DEBUG       (UINT64_C(1) << 19)
#define VEIL_SNP_POLICY_SINGLE_SOCK (UINT64_C(1) << 20)

struct veil_sim_tcb {
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
};

struct veil_sim_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint32_t vmpl;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t report_data[64];
    uint8_t chip_id[64];
    struct veil_sim_tcb tcb;
    uint8_t signature[VEIL_SIM_SIG_SIZE];
};

/* Parsed evidence: the report, the signed bytes, and the chip certificate (DER, borrowed). */
struct veil_sim_evidence {
    struct veil_sim_report report;
    const uint8_t *body;
    const uint8_t *cert_der;
    size_t cert_size;
};

VEIL_RESULT veil_sim_report_encode_body(const struct veil_sim_report *r, struct veil_wr *w);
VEIL_RESULT veil_sim_evidence_parse(const uint8_t *data, size_t n, struct veil_sim_evidence *e);

/* A simulated platform: its chip key and certificate, and the TCB it reports. */
struct veil_sim_platform {
    EVP_PKEY *chip_key;
    X509 *chip_cert;
    uint8_t chip_id[64];
    struct veil_sim_tcb tcb;
};

/* Creates DIR (mode 0700) with root.pem (the trust anchor verifiers need), root.key, chip.key,
 * chip.pem and tcb (four integers). Refuses an existing, non-empty DIR. */
VEIL_RESULT veil_sim_platform_create(const char *dir, const struct veil_sim_tcb *tcb);
VEIL_RESULT veil_sim_platform_load(const char *dir, struct veil_sim_platform *p);
void veil_sim_platform_free(struct veil_sim_platform *p);

/* chip_id of a chip certificate: SHA-512 of its public key (DER SubjectPublicKeyInfo). */
VEIL_RESULT veil_sim_chip_id(X509 *cert, uint8_t out[64]);

/* What the guest asks the platform to attest. */
struct veil_sim_guest {
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint64_t policy;
    uint32_t vmpl;
    uint32_t guest_svn;
};

/* Produces evidence binding report_data (64 bytes). */
VEIL_RESULT veil_sim_attest(const struct veil_sim_platform *p, const struct veil_sim_guest *g,
                            const uint8_t report_data[64], struct veil_wr *evidence);

/* The same as an attester callback (the shape of veil_kbs_attester_fn and
 * veil_ratls_attester_fn): ctx is a struct veil_sim_attester_ctx. */
struct veil_sim_attester_ctx {
    const struct veil_sim_platform *platform;
    const struct veil_sim_guest *guest;
};
VEIL_RESULT veil_sim_attester(void *ctx, const uint8_t report_data[64], struct veil_wr *evidence);

/* The measurement of a program and its configuration: SHA-384 over each file, in order, as
 * u64be(size) || bytes, after the domain string "veil sim measurement v1". */
VEIL_RESULT veil_sim_measure(const char *const *paths, size_t count, uint8_t out[48]);

#endif
