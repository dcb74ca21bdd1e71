/*
 * The simulated platform: `veil sim init` makes a root CA and a chip key certified by it; the
 * attester signs reports with the chip key. All keys are P-384.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attest/sim.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#define SIM_CERT_DAYS 3650
#define SIM_FILE_MAX  16384

/* A sim certificate: the root (self-signed CA) or the chip (signed by the root). */
static VEIL_RESULT make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *signer,
                             X509 **out)
{
    struct veil_x509_params p = {cn, 60L * 60 * 24 * SIM_CERT_DAYS, issuer == NULL, NULL, false};

    return veil_x509_make(key, &p, issuer, signer, out);
}

static VEIL_RESULT write_pem_cert(const char *dir, const char *file, X509 *cert)
{
    char path[4096];
    struct veil_wr w;
    veil_result r;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, file);
    veil_wr_init(&w, SIM_FILE_MAX);
    r = veil_x509_pem(cert, &w);
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, w.data, w.len, 0644, 0);
    }
    veil_wr_free(&w);
    return r;
}

static VEIL_RESULT write_key(const char *dir, const char *file, EVP_PKEY *key)
{
    char path[4096];
    struct veil_wr w;
    veil_result r;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, file);
    veil_wr_init_secret(&w, SIM_FILE_MAX);
    r = veil_sign_private_pem(key, &w);
    if (veil_ok(r)) {
        r = veil_file_write_atomic(path, w.data, w.len, 0600, 0);
    }
    veil_wr_free(&w);
    return r;
}

veil_result veil_sim_platform_create(const char *dir, const struct veil_sim_tcb *tcb)
{
    EVP_PKEY *root_key = NULL;
    EVP_PKEY *chip_key = NULL;
    X509 *root = NULL;
    X509 *chip = NULL;
    char text[64];
    char path[4096];
    veil_result r;

    if (mkdir(dir, 0700) != 0) {
        ENSURE(errno == EEXIST, VEIL_ERR_IO_OPEN);
        (void)snprintf(path, sizeof(path), "%s/chip.key", dir);
        ENSURE(access(path, F_OK) != 0, VEIL_ERR_IO_EXISTS);
    }
    r = veil_sign_keygen(VEIL_SIG_ECDSA_P384, &root_key);
    if (veil_ok(r)) {
        r = veil_sign_keygen(VEIL_SIG_ECDSA_P384, &chip_key);
    }
    if (veil_ok(r)) {
        r = make_cert(root_key, VEIL_SIM_ROOT_CN, NULL, root_key, &root);
    }
    if (veil_ok(r)) {
        r = make_cert(chip_key, VEIL_SIM_CHIP_CN, root, root_key, &chip);
    }
    if (veil_ok(r)) {
        r = write_key(dir, "root.key", root_key);
    }
    if (veil_ok(r)) {
        r = write_key(dir, "chip.key", chip_key);
    }
    if (veil_ok(r)) {
        r = write_pem_cert(dir, "root.pem", root);
    }
    if (veil_ok(r)) {
        r = write_pem_cert(dir, "chip.pem", chip);
    }
    if (veil_ok(r)) {
        int k = snprintf(text, sizeof(text), "%u %u %u %u\n", tcb->bootloader, tcb->tee, tcb->snp,
                         tcb->microcode);
        (void)snprintf(path, sizeof(path), "%s/tcb", dir);
        r = veil_file_write_atomic(path, text, (size_t)k, 0644, 0);
    }
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(chip_key);
    X509_free(root);
    X509_free(chip);
    return r;
}

static VEIL_RESULT load_tcb(const char *dir, struct veil_sim_tcb *tcb)
{
    char path[4096];
    struct veil_wr w;
    unsigned v[4] = {0};
    const char *s;
    size_t field = 0;

    (void)snprintf(path, sizeof(path), "%s/tcb", dir);
    GUARD(veil_file_read(path, 64, &w));
    if (!veil_ok(veil_wr_cstr(&w, &s))) {
        veil_wr_free(&w);
        BAIL(VEIL_ERR_NOMEM);
    }
    /* "B T S M\n": four decimal numbers 0..255. */
    for (const char *p = s; *p != '\0' && field < 4; p++) {
        if (*p >= '0' && *p <= '9') {
            v[field] = v[field] * 10 + (unsigned)(*p - '0');
            if (v[field] > 255) {
                break;
            }
        } else if (*p == ' ' || *p == '\n') {
            field++;
        }
    }
    veil_wr_free(&w);
    ENSURE(field == 4 && v[0] <= 255 && v[1] <= 255 && v[2] <= 255 && v[3] <= 255, VEIL_ERR_PROTO);
    tcb->bootloader = (uint8_t)v[0];
    tcb->tee = (uint8_t)v[1];
    tcb->snp = (uint8_t)v[2];
    tcb->microcode = (uint8_t)v[3];
    return VEIL_RESULT_OK;
}

/* chip_id = SHA-512 of the chip's public key (DER SubjectPublicKeyInfo). */
static VEIL_RESULT chip_id_of(X509 *cert, uint8_t out[64])
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    unsigned int md_len = 0;
    int ok;

    ENSURE(len > 0, VEIL_ERR_CRYPTO_KEY);
    ok = EVP_Digest(der, (size_t)len, out, &md_len, EVP_sha512(), NULL);
    OPENSSL_free(der);
    GUARD_OSSL(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

veil_result veil_sim_chip_id(X509 *cert, uint8_t out[64])
{
    return chip_id_of(cert, out);
}

veil_result veil_sim_platform_load(const char *dir, struct veil_sim_platform *p)
{
    char path[4096];
    struct veil_wr w;
    BIO *bio;
    veil_result r;

    memset(p, 0, sizeof(*p));
    (void)snprintf(path, sizeof(path), "%s/chip.key", dir);
    GUARD(veil_sign_load_private(path, &p->chip_key));
    (void)snprintf(path, sizeof(path), "%s/chip.pem", dir);
    r = veil_file_read(path, SIM_FILE_MAX, &w);
    if (veil_ok(r)) {
        bio = BIO_new_mem_buf(w.data, (int)w.len);
        p->chip_cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        veil_wr_free(&w);
        r = p->chip_cert != NULL ? VEIL_RESULT_OK : veil_result_of(VEIL_ERR_PROTO);
    }
    if (veil_ok(r)) {
        r = chip_id_of(p->chip_cert, p->chip_id);
    }
    if (veil_ok(r)) {
        r = load_tcb(dir, &p->tcb);
    }
    if (!veil_ok(r)) {
        veil_sim_platform_free(p);
    }
    return r;
}

void veil_sim_platform_free(struct veil_sim_platform *p)
{
    EVP_PKEY_free(p->chip_key);
    X509_free(p->chip_cert);
    memset(p, 0, sizeof(*p));
}

veil_result veil_sim_attest(const struct veil_sim_platform *p, const struct veil_sim_guest *g,
                            const uint8_t report_data[64], struct veil_wr *evidence)
{
    struct veil_sim_report rep;
    unsigned char *der = NULL;
    int der_len;
    size_t start = evidence->len;
    veil_result r;

    memset(&rep, 0, sizeof(rep));
    rep.version = 1;
    rep.guest_svn = g->guest_svn;
    rep.policy = g->policy;
    rep.vmpl = g->vmpl;
    memcpy(rep.measurement, g->measurement, sizeof(rep.measurement));
    memcpy(rep.host_data, g->host_data, sizeof(rep.host_data));
    memcpy(rep.report_data, report_data, sizeof(rep.report_data));
    memcpy(rep.chip_id, p->chip_id, sizeof(rep.chip_id));
    rep.tcb = p->tcb;
    ENSURE(g->vmpl <= 3, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_sim_report_encode_body(&rep, evidence));
    GUARD(veil_sign(p->chip_key, evidence->data + start, VEIL_SIM_BODY_SIZE, rep.signature,
                    sizeof(rep.signature)));
    GUARD(veil_wr_bytes(evidence, rep.signature, sizeof(rep.signature)));
    der_len = i2d_X509(p->chip_cert, &der);
    ENSURE(der_len > 0, VEIL_ERR_INTERNAL_OSSL);
    r = veil_wr_vec16(evidence, der, (size_t)der_len);
    OPENSSL_free(der);
    return r;
}

veil_result veil_sim_attester(void *ctx, const uint8_t report_data[64], struct veil_wr *evidence)
{
    const struct veil_sim_attester_ctx *c = ctx;

    ENSURE(c != NULL && c->platform != NULL && c->guest != NULL, VEIL_ERR_USAGE);
    return veil_sim_attest(c->platform, c->guest, report_data, evidence);
}

veil_result veil_sim_measure(const char *const *paths, size_t count, uint8_t out[48])
{
    static const char domain[] = "veil sim measurement v1";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t buf[65536];
    veil_result r = VEIL_RESULT_OK;
    unsigned int len = 0;

    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    if (EVP_DigestInit_ex2(md, EVP_sha384(), NULL) != 1 ||
        EVP_DigestUpdate(md, domain, sizeof(domain)) != 1) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    for (size_t i = 0; veil_ok(r) && i < count; i++) {
        struct stat st;
        uint8_t size_be[8];
        size_t got = 0;
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            r = veil_result_of(VEIL_ERR_IO_OPEN);
            if (fd >= 0) {
                (void)close(fd);
            }
            break;
        }
        veil_store_u64be(size_be, (uint64_t)st.st_size);
        if (EVP_DigestUpdate(md, size_be, sizeof(size_be)) != 1) {
            r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        }
        uint64_t total = 0;
        while (veil_ok(r)) {
            r = veil_read_full(fd, buf, sizeof(buf), &got);
            if (!veil_ok(r) || got == 0) {
                break;
            }
            total += got;
            if (EVP_DigestUpdate(md, buf, got) != 1) {
                r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
            }
        }
        (void)close(fd);
        if (veil_ok(r) && total != (uint64_t)st.st_size) {
            r = veil_result_of(VEIL_ERR_IO_SHORT); /* the file changed while it was measured */
        }
    }
    if (veil_ok(r) && EVP_DigestFinal_ex(md, out, &len) != 1) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    }
    EVP_MD_CTX_free(md);
    return r;
}
