/*
 * The SEV-SNP verifier against every vector in vectors/sev-snp at the time PROVENANCE.md
 * states, and the mutations that must make each check refuse.
 */
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/encoding.h"
#include "base/file.h"
#include "veil_test.h"
#include "verify/snp.h"

#define T_2022_09_25 1664064000 /* 2022-09-25T00:00:00Z */
#define T_2025_06_01 1748736000 /* 2025-06-01T00:00:00Z */
#define T_2026_11_26 1795651200 /* 2026-11-26T00:00:00Z, "now" in PROVENANCE.md */

struct run {
    struct veil_collateral col;
    struct veil_claims claims;
    struct veil_report report;
    veil_result r;
};

static void read_vector(const char *rel, struct veil_wr *w)
{
    char path[4096];
    const char *shared = getenv("VEIL_SHARED_DIR");

    EXPECT_NOT_NULL(shared);
    (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/%s", shared, rel);
    EXPECT_OK(veil_file_read(path, 1 << 20, w));
}

static void add_vector(struct veil_collateral *col, const char *rel)
{
    struct veil_wr w;

    read_vector(rel, &w);
    EXPECT_OK(veil_collateral_add_bytes(col, w.data, w.len));
    veil_wr_free(&w);
}

static void dump(const struct veil_report *rep)
{
    for (size_t i = 0; i < rep->count; i++) {
        const struct veil_check *c = &rep->items[i];
        print_message("  %-22s %s  %s%s%s\n", c->id,
                      c->status == VEIL_CHECK_PASS   ? "PASS"
                      : c->status == VEIL_CHECK_FAIL ? "FAIL"
                                                     : "SKIP",
                      c->detail, c->remedy != NULL ? " | remedy: " : "",
                      c->remedy != NULL ? c->remedy : "");
    }
}

/* Verifies report bytes against the collateral files (NULL-terminated list) at time at. */
static void run_bytes(struct run *x, const uint8_t *ev, size_t n, time_t at,
                      const char *const *files)
{
    struct veil_verify_opts o;

    veil_claims_init(&x->claims);
    veil_report_init(&x->report);
    for (size_t i = 0; files != NULL && files[i] != NULL; i++) {
        add_vector(&x->col, files[i]);
    }
    memset(&o, 0, sizeof(o));
    o.at = at;
    o.collateral = &x->col;
    x->r = veil_verify_snp(ev, n, &o, &x->claims, &x->report);
}

static void run_file(struct run *x, const char *report, time_t at, const char *const *files)
{
    struct veil_wr w;

    veil_collateral_init(&x->col);
    read_vector(report, &w);
    run_bytes(x, w.data, w.len, at, files);
    veil_wr_free(&w);
}

static void run_free(struct run *x)
{
    veil_claims_free(&x->claims);
    veil_report_free(&x->report);
    veil_collateral_free(&x->col);
}

static void want_pass(struct run *x)
{
    if (!veil_ok(x->r) || !veil_report_passed(&x->report)) {
        dump(&x->report);
        fail_msg("expected every check to pass, got %s", veil_error_name(x->r.code));
    }
}

static void want_check(const struct run *x, const char *id, enum veil_check_status st)
{
    const struct veil_check *c = veil_report_find(&x->report, id);

    if (c == NULL || c->status != st) {
        dump(&x->report);
        fail_msg("check %s: expected status %d, got %d", id, st, c != NULL ? (int)c->status : -1);
    }
}

static void want_claim(const struct run *x, const char *name, const char *text)
{
    const struct veil_claim *c = veil_claims_find(&x->claims, name);
    char *t;

    EXPECT_NOT_NULL(c);
    t = veil_claim_value_text(c);
    EXPECT_NOT_NULL(t);
    if (strcmp(t, text) != 0) {
        fail_msg("claim %s: expected %s, got %s", name, text, t);
    }
    free(t);
}

static const char *const gosev_files[] = {"gosevguest-milan-vcek/vcek.der",
                                          "gosevguest-milan-vcek/ask_ark_milan.pem", NULL};
static const char *const virtee_files[] = {"virtee-milan-vcek/vcek_milan.der",
                                           "virtee-milan-vcek/cert_chain_milan.pem", NULL};
static const char *const trustee_files[] = {"trustee-milan-vcek/test-vcek.der",
                                            "amd-root-certs/ask_ark_milan.pem", NULL};
static const char *const vlek_files[] = {"trustee-milan-vlek/test-vlek.der",
                                         "amd-root-certs/ask_ark_milan_vlek.pem", NULL};
static const char *const aci_files[] = {"csc-aci-milan/uvm_host_amd_certificate.pem", NULL};

static void test_gosevguest_valid(void **state)
{
    struct run x;

    (void)state;
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, gosev_files);
    want_pass(&x);
    want_check(&x, "snp.crl", VEIL_CHECK_SKIP);
    want_check(&x, "snp.report_data", VEIL_CHECK_SKIP);
    want_claim(&x, "tee", "snp");
    want_claim(&x, "snp.version", "2");
    want_claim(&x, "snp.measurement",
               "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a6"
               "08eb0cf2e4872b01");
    want_claim(&x, "snp.chip_id",
               "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b7"
               "6a1936776b564ea464cdce40c05f63c9b610c5068b006b5d");
    want_claim(&x, "snp.report_data",
               "010203040500000000000000000000000000000000000000000000000000000000000000000000000"
               "00000000000000000000000000000000000000000000000");
    want_claim(&x, "snp.host_data",
               "0000000000000000000000000000000000000000000000000000000000000000");
    want_claim(&x, "snp.family_id", "00000000000000000000000000000000");
    want_claim(&x, "snp.policy", "720896"); /* 0xb0000 */
    want_claim(&x, "snp.debug", "true");
    want_claim(&x, "snp.smt", "true");
    want_claim(&x, "snp.migration_agent", "false");
    want_claim(&x, "snp.single_socket", "false");
    want_claim(&x, "snp.vmpl", "0");
    want_claim(&x, "snp.tcb.reported.bootloader", "2");
    want_claim(&x, "snp.tcb.reported.tee", "0");
    want_claim(&x, "snp.tcb.reported.snp", "5");
    want_claim(&x, "snp.tcb.reported.microcode", "68");
    want_claim(&x, "snp.tcb.launch.microcode", "68");
    want_claim(&x, "snp.firmware", "1.49.3");
    want_claim(&x, "snp.signing_key", "vcek");
    want_claim(&x, "snp.product", "Milan");
    EXPECT_NULL(veil_claims_find(&x.claims, "snp.tcb.reported.fmc"));
    run_free(&x);
    /* The VCEK window is 2022-09-24T00:55:28Z .. 2029-09-24. */
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2022_09_25, gosev_files);
    want_pass(&x);
    run_free(&x);
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", 1663977600 /* 2022-09-24T00:00Z */,
             gosev_files);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    want_check(&x, "snp.chain.validity", VEIL_CHECK_FAIL);
    want_check(&x, "snp.signature", VEIL_CHECK_PASS);
    run_free(&x);
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", 1885075200 /* 2029-09-25 */, gosev_files);
    want_check(&x, "snp.chain.validity", VEIL_CHECK_FAIL);
    run_free(&x);
}

static void test_virtee_valid_and_byte21(void **state)
{
    struct run x;
    struct veil_wr w;

    (void)state;
    run_file(&x, "virtee-milan-vcek/derived_report_milan.bin", T_2026_11_26, virtee_files);
    want_pass(&x);
    want_claim(&x, "snp.measurement",
               "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd"
               "95b9c480cd81841f");
    want_claim(&x, "snp.policy", "196608"); /* 0x30000 */
    want_claim(&x, "snp.tcb.reported.bootloader", "3");
    want_claim(&x, "snp.tcb.reported.snp", "8");
    want_claim(&x, "snp.tcb.reported.microcode", "115");
    want_claim(&x, "snp.firmware", "1.52.4");
    want_claim(&x, "snp.report_id",
               "92b3b47d59f0a2a10a74c5678868a80238cf593c01a82f3cffb878e904c28d5b");
    run_free(&x);
    /* virtee milan_report_invalid: bit 0x80 of byte 21 flipped -> bad signature. */
    read_vector("virtee-milan-vcek/derived_report_milan.bin", &w);
    w.data[21] ^= 0x80;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2026_11_26, virtee_files);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_PASS);
    EXPECT_STR_EQ(veil_report_first_failure(&x.report)->id, "snp.signature");
    run_free(&x);
    veil_wr_free(&w);
}

static void test_trustee_vcek(void **state)
{
    struct run x;
    struct veil_wr w;
    const struct veil_check *c;

    (void)state;
    run_file(&x, "trustee-milan-vcek/test-report.bin", T_2026_11_26, trustee_files);
    want_pass(&x);
    want_claim(&x, "snp.guest_svn", "4");
    want_claim(&x, "snp.policy", "196639"); /* 0x3001f */
    /* CURRENT_TCB (ucode 206) differs from REPORTED_TCB (115): the VCEK matches the reported. */
    want_claim(&x, "snp.tcb.current.microcode", "206");
    want_claim(&x, "snp.tcb.reported.microcode", "115");
    want_claim(&x, "snp.measurement",
               "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6"
               "be917f9050d3d38c");
    want_claim(&x, "snp.id_key_digest",
               "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6"
               "e0b2bb57af7a44a3");
    want_claim(&x, "snp.family_id", "01000000000000000000000000000000");
    want_claim(&x, "snp.image_id", "02000000000000000000000000000000");
    run_free(&x);

    /* check_report_signature_failure: byte 42 += 1. */
    read_vector("trustee-milan-vcek/test-report.bin", &w);
    w.data[42]++;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2026_11_26, trustee_files);
    want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
    run_free(&x);
    w.data[42]--;
    /* check_report_tcb_failure: REPORTED_TCB bootloader += 1. */
    w.data[VEIL_SNP_OFF_REPORTED_TCB]++;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2026_11_26, trustee_files);
    want_check(&x, "snp.tcb", VEIL_CHECK_FAIL);
    c = veil_report_find(&x.report, "snp.tcb");
    EXPECT_STR_EQ(c->detail,
                  "VCEK TCB bootloader=3 but report says 4: the VCEK is for another TCB");
    EXPECT_NOT_NULL(strstr(c->remedy, "https://kdsintf.amd.com/vcek/v1/Milan/c38427a30d4c7af9"));
    EXPECT_NOT_NULL(strstr(c->remedy, "?blSPL=4&teeSPL=0&snpSPL=8&ucodeSPL=115"));
    run_free(&x);
    veil_wr_free(&w);
}

static void test_synthetic_vceks_fail_chain(void **state)
{
    static const char *const legacy[] = {"trustee-milan-vcek/test-vcek-invalid-legacy.der",
                                         "amd-root-certs/ask_ark_milan.pem", NULL};
    static const char *const wrapped[] = {"trustee-milan-vcek/test-vcek-invalid-new.der",
                                          "amd-root-certs/ask_ark_milan.pem", NULL};
    const char *const *sets[] = {legacy, wrapped};
    struct run x;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        run_file(&x, "trustee-milan-vcek/test-report.bin", T_2026_11_26, sets[i]);
        EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
        want_check(&x, "snp.chain.vcek", VEIL_CHECK_FAIL);
        want_check(&x, "snp.chain.ask", VEIL_CHECK_PASS);
        /* Both hwID encodings parse: the value 000102.. is simply not this chip. */
        want_check(&x, "snp.chip_id", VEIL_CHECK_FAIL);
        EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.chip_id")->detail,
                               "VCEK hwID 000102030405060708090a0b"));
        run_free(&x);
    }
}

static void test_vlek_valid_2025_expired_now(void **state)
{
    struct run x;
    struct veil_wr w;

    (void)state;
    run_file(&x, "trustee-milan-vlek/test-vlek-report.bin", T_2025_06_01, vlek_files);
    want_pass(&x);
    want_check(&x, "snp.chain.vlek", VEIL_CHECK_PASS);
    want_check(&x, "snp.chip_id", VEIL_CHECK_SKIP);
    want_claim(&x, "snp.signing_key", "vlek");
    want_claim(&x, "snp.version", "3");
    want_claim(&x, "snp.vmpl", "1");
    want_claim(&x, "snp.cpuid.family", "25");
    want_claim(&x, "snp.product", "Milan");
    want_claim(&x, "snp.tcb.reported.bootloader", "4");
    want_claim(&x, "snp.tcb.reported.snp", "24");
    want_claim(&x, "snp.tcb.reported.microcode", "217");
    want_claim(&x, "snp.tcb.current.microcode", "220");
    want_claim(&x, "snp.tcb.committed.microcode", "219");
    want_claim(&x, "snp.firmware", "1.55.29");
    want_claim(&x, "snp.measurement",
               "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5"
               "a493df2a570d7bf0");
    run_free(&x);
    /* The VLEK expired on 2025-12-10: everything else still holds. */
    run_file(&x, "trustee-milan-vlek/test-vlek-report.bin", T_2026_11_26, vlek_files);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    want_check(&x, "snp.chain.validity", VEIL_CHECK_FAIL);
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.chain.validity")->detail,
                           "SEV-VLEK is valid 2024-12-10T22:14:21Z .. 2025-12-10T22:14:21Z"));
    want_check(&x, "snp.signature", VEIL_CHECK_PASS);
    want_check(&x, "snp.tcb", VEIL_CHECK_PASS);
    EXPECT_STR_EQ(veil_report_first_failure(&x.report)->id, "snp.chain.validity");
    run_free(&x);
    /* byte 42 += 1 -> signature; REPORTED_TCB bootloader += 1 -> TCB. */
    read_vector("trustee-milan-vlek/test-vlek-report.bin", &w);
    w.data[42]++;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2025_06_01, vlek_files);
    want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
    run_free(&x);
    w.data[42]--;
    w.data[VEIL_SNP_OFF_REPORTED_TCB]++;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2025_06_01, vlek_files);
    want_check(&x, "snp.tcb", VEIL_CHECK_FAIL);
    EXPECT_STR_EQ(veil_report_find(&x.report, "snp.tcb")->detail,
                  "VLEK TCB bootloader=4 but report says 5: the VLEK is for another TCB");
    run_free(&x);
    veil_wr_free(&w);
}

static void test_aci_host_data_and_report_data(void **state)
{
    struct run x;
    struct veil_wr pol;
    uint8_t raw[1024];
    size_t raw_size = 0;
    uint8_t digest[32];
    unsigned int dlen = 0;
    char hexd[65];
    struct veil_verify_opts o;
    static const uint8_t rd_ok[] = {0xee, 0x98, 0x6f, 0xf2};
    static const uint8_t rd_bad[] = {0xee, 0x98, 0x6f, 0xf3};

    (void)state;
    run_file(&x, "csc-aci-milan/snp_report.bin", T_2026_11_26, aci_files);
    want_pass(&x);
    want_claim(&x, "snp.guest_svn", "2");
    want_claim(&x, "snp.measurement",
               "51068107cdc7ee3d89c7821b05bca6147eb77b2005ae759050fc049b65a1b0beabc65a9d857acecf"
               "23225f5ec76849f5");
    /* HOST_DATA is the SHA-256 of the (base64-decoded) CCE policy. */
    read_vector("csc-aci-milan/uvm_security_policy.base64", &pol);
    while (pol.len > 0 && (pol.data[pol.len - 1] == '\n' || pol.data[pol.len - 1] == '\r')) {
        pol.len--;
    }
    EXPECT_OK(veil_b64_decode((const char *)pol.data, pol.len, VEIL_B64_STD, raw, sizeof(raw),
                              &raw_size));
    EXPECT_EQ(EVP_Digest(raw, raw_size, digest, &dlen, EVP_sha256(), NULL), 1);
    EXPECT_OK(veil_hex_encode(digest, sizeof(digest), hexd, sizeof(hexd)));
    EXPECT_STR_EQ(hexd, "cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c");
    want_claim(&x, "snp.host_data", hexd);
    veil_wr_free(&pol);

    /* report_data: a matching prefix passes, one differing byte fails, > 64 bytes fails. */
    memset(&o, 0, sizeof(o));
    o.at = T_2026_11_26;
    o.collateral = &x.col;
    o.report_data = rd_ok;
    o.report_data_size = sizeof(rd_ok);
    veil_claims_free(&x.claims);
    veil_report_free(&x.report);
    {
        struct veil_wr w;
        read_vector("csc-aci-milan/snp_report.bin", &w);
        EXPECT_OK(veil_verify_snp(w.data, w.len, &o, &x.claims, &x.report));
        want_check(&x, "snp.report_data", VEIL_CHECK_PASS);
        veil_claims_free(&x.claims);
        veil_report_free(&x.report);
        o.report_data = rd_bad;
        EXPECT_ERR(veil_verify_snp(w.data, w.len, &o, &x.claims, &x.report), VEIL_ERR_ATTEST);
        want_check(&x, "snp.report_data", VEIL_CHECK_FAIL);
        EXPECT_STR_EQ(veil_report_first_failure(&x.report)->id, "snp.report_data");
        veil_claims_free(&x.claims);
        veil_report_free(&x.report);
        o.report_data = raw;
        o.report_data_size = 65;
        EXPECT_ERR(veil_verify_snp(w.data, w.len, &o, &x.claims, &x.report), VEIL_ERR_ATTEST);
        want_check(&x, "snp.report_data", VEIL_CHECK_FAIL);
        veil_wr_free(&w);
    }
    run_free(&x);
}

/* The same ACI report with the raw Azure THIM JSON as collateral. */
static void test_aci_thim_json(void **state)
{
    static const char *const thim[] = {"csc-aci-milan/uvm_host_amd_certificate.json", NULL};
    struct run x;

    (void)state;
    run_file(&x, "csc-aci-milan/snp_report.bin", T_2026_11_26, thim);
    want_pass(&x);
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.parse")->detail, "3 certificate"));
    run_free(&x);
}

static void test_v1_report_refused(void **state)
{
    struct run x;

    (void)state;
    run_file(&x, "csc-aci-milan/derived_report_v1_from_go_test.bin", T_2026_11_26, aci_files);
    EXPECT_ERR(x.r, VEIL_ERR_SNP_VERSION);
    want_check(&x, "snp.parse", VEIL_CHECK_FAIL);
    EXPECT_EQ(x.claims.count, 0);
    run_free(&x);
}

/* ---- mutations */

static void test_signed_body_and_signature_flips(void **state)
{
    struct veil_wr w;
    struct run x;
    size_t refused_by_sig = 0;

    (void)state;
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    /* Sampled bytes of the signed body: each flip is refused, by the parser (a reserved or
     * checked field) or by the signature. */
    for (size_t off = 3; off < VEIL_SNP_SIGNED_SIZE; off += 29) {
        w.data[off] ^= 0x01;
        veil_collateral_init(&x.col);
        run_bytes(&x, w.data, w.len, T_2026_11_26, gosev_files);
        EXPECT_FALSE(veil_ok(x.r));
        if (x.r.code == VEIL_ERR_ATTEST) {
            want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
            refused_by_sig++;
        } else {
            want_check(&x, "snp.parse", VEIL_CHECK_FAIL);
        }
        run_free(&x);
        w.data[off] ^= 0x01;
    }
    EXPECT_TRUE(refused_by_sig > 15);
    /* r and s themselves (little-endian, low 48 bytes of each 72-byte field). */
    for (size_t off = VEIL_SNP_OFF_SIGNATURE; off < VEIL_SNP_OFF_SIGNATURE + 2 * 72; off += 11) {
        if ((off - VEIL_SNP_OFF_SIGNATURE) % 72 >= 48) {
            continue;
        }
        w.data[off] ^= 0x40;
        veil_collateral_init(&x.col);
        run_bytes(&x, w.data, w.len, T_2026_11_26, gosev_files);
        EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
        want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
        want_check(&x, "snp.chain.vcek", VEIL_CHECK_PASS);
        run_free(&x);
        w.data[off] ^= 0x40;
    }
    veil_wr_free(&w);
}

/* DER of the i-th certificate of a PEM vector. */
static void pem_der(const char *rel, int index, struct veil_wr *der)
{
    struct veil_collateral col;
    unsigned char *p = NULL;
    int n;

    veil_collateral_init(&col);
    add_vector(&col, rel);
    n = i2d_X509(sk_X509_value(col.certs, index), &p);
    EXPECT_TRUE(n > 0);
    veil_wr_init(der, 1 << 16);
    EXPECT_OK(veil_wr_bytes(der, p, (size_t)n));
    OPENSSL_free(p);
    veil_collateral_free(&col);
}

static bool der_parses(const uint8_t *p, size_t n)
{
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    bool ok = x != NULL && q == p + n;

    X509_free(x);
    return ok;
}

/* Flips sampled bytes of certificate `which` (0 VCEK, 1 ASK, 2 ARK) and expects the chain check
 * that covers it to fail, naming it. */
static void flip_cert(int which, const char *name)
{
    struct veil_wr certs[3];
    struct veil_wr rep;
    size_t tried = 0;
    struct run x;

    read_vector("gosevguest-milan-vcek/vcek.der", &certs[0]);
    pem_der("gosevguest-milan-vcek/ask_ark_milan.pem", 0, &certs[1]);
    pem_der("gosevguest-milan-vcek/ask_ark_milan.pem", 1, &certs[2]);
    read_vector("gosevguest-milan-vcek/attestation.bin", &rep);
    for (size_t off = 7; off < certs[which].len; off += 53) {
        const struct veil_check *f;
        certs[which].data[off] ^= 0x04;
        if (der_parses(certs[which].data, certs[which].len)) {
            veil_collateral_init(&x.col);
            for (int k = 0; k < 3; k++) {
                EXPECT_OK(veil_collateral_add_bytes(&x.col, certs[k].data, certs[k].len));
            }
            run_bytes(&x, rep.data, rep.len, T_2026_11_26, NULL);
            EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
            f = veil_report_first_failure(&x.report);
            if (strncmp(f->id, "snp.chain.", 10) != 0 || strstr(f->detail, name) == NULL) {
                dump(&x.report);
                fail_msg("flip at %zu of %s: first failure is not a chain check naming it", off,
                         name);
            }
            run_free(&x);
            tried++;
        }
        certs[which].data[off] ^= 0x04;
    }
    EXPECT_TRUE(tried >= 10);
    for (int k = 0; k < 3; k++) {
        veil_wr_free(&certs[k]);
    }
    veil_wr_free(&rep);
}

static void test_certificate_flips(void **state)
{
    (void)state;
    flip_cert(0, "VCEK");
    flip_cert(1, "SEV-Milan");
    flip_cert(2, "ARK-Milan");
}

static void test_other_products_chain(void **state)
{
    static const char *const genoa[] = {"gosevguest-milan-vcek/vcek.der",
                                        "amd-root-certs/ask_ark_genoa.pem", NULL};
    static const char *const asvk[] = {"trustee-milan-vcek/test-vcek.der",
                                       "amd-root-certs/ask_ark_milan_vlek.pem", NULL};
    static const char *const turin[] = {"virtee-turin-vcek/vcek_turin.der",
                                        "virtee-turin-vcek/cert_chain_turin.pem", NULL};
    struct run x;
    struct veil_wr w;

    (void)state;
    /* A Milan VCEK with the Genoa ASK/ARK: its issuer is not there. */
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, genoa);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_FAIL);
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.chain.vcek")->detail, "SEV-Milan"));
    want_check(&x, "snp.signature", VEIL_CHECK_PASS);
    run_free(&x);
    /* trustee check_milan_chain_signature_failure: a VCEK against the ASVK chain. */
    run_file(&x, "trustee-milan-vcek/test-report.bin", T_2026_11_26, asvk);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_FAIL);
    run_free(&x);
    /* The Turin VCEK chains to ARK-Turin (no Turin report exists: the Milan one is not its). */
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, turin);
    want_check(&x, "snp.chain.ark_pinned", VEIL_CHECK_PASS);
    want_check(&x, "snp.chain.ask", VEIL_CHECK_PASS);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_PASS);
    want_check(&x, "snp.chain.validity", VEIL_CHECK_PASS);
    want_check(&x, "snp.product", VEIL_CHECK_PASS);
    want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
    want_check(&x, "snp.chip_id", VEIL_CHECK_FAIL);
    want_claim(&x, "snp.product", "Turin");
    run_free(&x);
    /* Turin layout: 8-byte hwID against CHIP_ID, TCB with FMC in byte 0 (fmc 0, bl 0, tee 0,
     * snp 0, ucode 9 in the VCEK); the signature cannot match, the rest can. */
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    memset(w.data + VEIL_SNP_OFF_CHIP_ID, 0, VEIL_SNP_CHIP_ID_SIZE);
    memcpy(w.data + VEIL_SNP_OFF_CHIP_ID, "\x1e\x55\x0a\x8e\xe5\xcf\x9f\x4d", 8);
    memset(w.data + VEIL_SNP_OFF_REPORTED_TCB, 0, 8);
    w.data[VEIL_SNP_OFF_REPORTED_TCB + 7] = 9;
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2026_11_26, turin);
    want_check(&x, "snp.chip_id", VEIL_CHECK_PASS);
    want_check(&x, "snp.tcb", VEIL_CHECK_PASS);
    want_claim(&x, "snp.tcb.reported.fmc", "0");
    want_claim(&x, "snp.tcb.reported.microcode", "9");
    run_free(&x);
    w.data[VEIL_SNP_OFF_REPORTED_TCB] = 1; /* FMC 1, the VCEK says 0 */
    veil_collateral_init(&x.col);
    run_bytes(&x, w.data, w.len, T_2026_11_26, turin);
    want_check(&x, "snp.tcb", VEIL_CHECK_FAIL);
    EXPECT_STR_EQ(veil_report_find(&x.report, "snp.tcb")->detail,
                  "VCEK TCB fmc=0 but report says 1: the VCEK is for another TCB");
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.tcb")->remedy,
                           "/vcek/v1/Turin/1e550a8ee5cf9f4d?fmcSPL=1&blSPL=0"));
    run_free(&x);
    veil_wr_free(&w);
}

static void test_missing_collateral(void **state)
{
    static const char *const ark_only[] = {"gosevguest-milan-vcek/vcek.der", NULL};
    struct run x;
    const struct veil_check *c;

    (void)state;
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, NULL);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    c = veil_report_find(&x.report, "snp.signature");
    EXPECT_EQ(c->status, VEIL_CHECK_FAIL);
    EXPECT_NOT_NULL(strstr(c->remedy, "https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21e13fb099"));
    EXPECT_NOT_NULL(strstr(c->remedy, "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"));
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_SKIP);
    want_check(&x, "snp.tcb", VEIL_CHECK_SKIP);
    /* Claims are still there: what the report says, unverified. */
    want_claim(&x, "snp.tcb.reported.snp", "5");
    run_free(&x);
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, ark_only);
    want_check(&x, "snp.signature", VEIL_CHECK_PASS);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_FAIL);
    want_check(&x, "snp.chain.ark_pinned", VEIL_CHECK_SKIP);
    run_free(&x);
    /* An unsigned report (SIGNING_KEY = 7) is refused. */
    {
        struct veil_wr w;
        read_vector("gosevguest-milan-vcek/attestation.bin", &w);
        w.data[0x48] = 7 << 2;
        veil_collateral_init(&x.col);
        run_bytes(&x, w.data, w.len, T_2026_11_26, gosev_files);
        want_check(&x, "snp.signature", VEIL_CHECK_FAIL);
        want_claim(&x, "snp.signing_key", "none");
        run_free(&x);
        veil_wr_free(&w);
    }
}

/* The ACI report with its VCEK, ASK and ARK in an extended-report certificate table. */
static void test_extended_report_table(void **state)
{
    static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                          0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    static const uint8_t ask_guid[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                         0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
    static const uint8_t ark_guid[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                         0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
    const uint8_t *guids[3] = {vcek_guid, ask_guid, ark_guid};
    struct veil_wr der[3];
    struct veil_wr ev;
    struct run x;
    uint32_t off = 4 * 24;

    (void)state;
    for (int i = 0; i < 3; i++) {
        pem_der("csc-aci-milan/uvm_host_amd_certificate.pem", i, &der[i]);
    }
    read_vector("csc-aci-milan/snp_report.bin", &ev);
    ev.max = 1 << 20;
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(veil_wr_bytes(&ev, guids[i], 16));
        EXPECT_OK(veil_wr_u32le(&ev, off));
        EXPECT_OK(veil_wr_u32le(&ev, (uint32_t)der[i].len));
        off += (uint32_t)der[i].len;
    }
    for (int i = 0; i < 24; i++) {
        EXPECT_OK(veil_wr_u8(&ev, 0));
    }
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(veil_wr_bytes(&ev, der[i].data, der[i].len));
    }
    veil_collateral_init(&x.col);
    run_bytes(&x, ev.data, ev.len, T_2026_11_26, NULL);
    want_pass(&x);
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.parse")->detail, "3 certificate"));
    run_free(&x);
    /* A damaged table (first offset beyond the end) makes the evidence unparseable. */
    ev.data[VEIL_SNP_REPORT_SIZE + 16] = 0xff;
    ev.data[VEIL_SNP_REPORT_SIZE + 17] = 0xff;
    veil_collateral_init(&x.col);
    run_bytes(&x, ev.data, ev.len, T_2026_11_26, NULL);
    EXPECT_ERR(x.r, VEIL_ERR_SNP_CERT_TABLE);
    want_check(&x, "snp.parse", VEIL_CHECK_FAIL);
    run_free(&x);
    for (int i = 0; i < 3; i++) {
        veil_wr_free(&der[i]);
    }
    veil_wr_free(&ev);
}

/* ---- CRLs: a test CA (P-256) signs a child and CRLs, so that every branch can be reached. */

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    EXPECT_NOT_NULL(x);
    EXPECT_EQ(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    EXPECT_EQ(X509_set_version(x, 2), 1);
    EXPECT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
    EXPECT_EQ(X509_set_subject_name(x, n), 1);
    EXPECT_EQ(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n), 1);
    EXPECT_NOT_NULL(X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL));
    EXPECT_NOT_NULL(X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, NULL));
    EXPECT_EQ(X509_set_pubkey(x, key), 1);
    EXPECT_TRUE(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, long revoked_serial, long next_days)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();

    EXPECT_EQ(X509_CRL_set_version(crl, 1), 1);
    EXPECT_EQ(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    EXPECT_NOT_NULL(X509_time_adj_ex(t, -1, 0, NULL));
    EXPECT_EQ(X509_CRL_set1_lastUpdate(crl, t), 1);
    EXPECT_NOT_NULL(X509_time_adj_ex(t, (int)next_days, 0, NULL));
    EXPECT_EQ(X509_CRL_set1_nextUpdate(crl, t), 1);
    if (revoked_serial > 0) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        EXPECT_EQ(ASN1_INTEGER_set(s, revoked_serial), 1);
        EXPECT_EQ(X509_REVOKED_set_serialNumber(rev, s), 1);
        EXPECT_EQ(X509_REVOKED_set_revocationDate(rev, t), 1);
        EXPECT_EQ(X509_CRL_add0_revoked(crl, rev), 1);
        ASN1_INTEGER_free(s);
    }
    EXPECT_TRUE(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    ASN1_TIME_free(t);
    return crl;
}

static void test_crl_check(void **state)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *other_key = EVP_EC_gen("P-256");
    X509 *ca;
    X509 *child;
    X509_CRL *crl;
    char why[512];
    time_t now = time(NULL);

    (void)state;
    EXPECT_NOT_NULL(ca_key);
    EXPECT_NOT_NULL(other_key);
    ca = make_cert("ARK-Test", ca_key, NULL, ca_key, 1);
    child = make_cert("SEV-Test", other_key, ca, ca_key, 7);
    crl = make_crl(ca, ca_key, 0, 30);
    EXPECT_OK(veil_snp_crl_check(crl, ca, child, now, why, sizeof(why)));
    X509_CRL_free(crl);
    crl = make_crl(ca, ca_key, 7, 30);
    EXPECT_ERR(veil_snp_crl_check(crl, ca, child, now, why, sizeof(why)), VEIL_ERR_SNP_REVOKED);
    EXPECT_STR_EQ(why, "SEV-Test is revoked by the CRL of ARK-Test");
    X509_CRL_free(crl);
    crl = make_crl(ca, ca_key, 0, 30);
    EXPECT_ERR(veil_snp_crl_check(crl, ca, child, now + 40 * 86400, why, sizeof(why)),
               VEIL_ERR_SNP_REVOKED);
    EXPECT_NOT_NULL(strstr(why, "is not current"));
    EXPECT_ERR(veil_snp_crl_check(crl, ca, child, now - 3 * 86400, why, sizeof(why)),
               VEIL_ERR_SNP_REVOKED);
    X509_CRL_free(crl);
    crl = make_crl(ca, other_key, 0, 30);
    EXPECT_ERR(veil_snp_crl_check(crl, ca, child, now, why, sizeof(why)), VEIL_ERR_SNP_REVOKED);
    EXPECT_NOT_NULL(strstr(why, "not signed"));
    X509_CRL_free(crl);
    X509_free(child);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
}

/* A CRL that claims to be ARK-Milan's but is not signed by it fails snp.crl. */
static void test_forged_amd_crl(void **state)
{
    struct run x;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_CRL *crl;
    struct veil_collateral roots;
    struct veil_verify_opts o;
    struct veil_wr w;
    X509 *ark;

    (void)state;
    veil_collateral_init(&roots);
    add_vector(&roots, "gosevguest-milan-vcek/ask_ark_milan.pem");
    ark = sk_X509_value(roots.certs, 1);
    crl = make_crl(ark, key, 0x10001, 30);
    /* Without CRLs the check is skipped (never passed). */
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", time(NULL), gosev_files);
    want_check(&x, "snp.crl", VEIL_CHECK_SKIP);
    veil_claims_free(&x.claims);
    veil_report_free(&x.report);
    EXPECT_TRUE(sk_X509_CRL_push(x.col.crls, crl) > 0);
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    memset(&o, 0, sizeof(o)); /* at = 0: now */
    o.collateral = &x.col;
    EXPECT_ERR(veil_verify_snp(w.data, w.len, &o, &x.claims, &x.report), VEIL_ERR_ATTEST);
    want_check(&x, "snp.crl", VEIL_CHECK_FAIL);
    EXPECT_STR_EQ(veil_report_find(&x.report, "snp.crl")->detail,
                  "the CRL naming ARK-Milan as issuer is not signed by it");
    EXPECT_STR_EQ(veil_report_first_failure(&x.report)->id, "snp.crl");
    veil_wr_free(&w);
    run_free(&x);
    veil_collateral_free(&roots);
    EVP_PKEY_free(key);
}

/* A foreign root in a mixed bundle is ignored; a forged "ARK-Milan" is refused. */
static void test_foreign_and_forged_roots(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *other = make_cert("Some Other Root CA", key, NULL, key, 1);
    X509 *forged = make_cert("ARK-Milan", key, NULL, key, 0x10000);
    struct run x;

    (void)state;
    run_file(&x, "gosevguest-milan-vcek/attestation.bin", T_2026_11_26, gosev_files);
    want_pass(&x);
    veil_claims_free(&x.claims);
    veil_report_free(&x.report);
    EXPECT_EQ(X509_up_ref(other), 1);
    EXPECT_TRUE(sk_X509_push(x.col.certs, other) > 0);
    {
        struct veil_wr w;
        read_vector("gosevguest-milan-vcek/attestation.bin", &w);
        run_bytes(&x, w.data, w.len, T_2026_11_26, NULL);
        want_pass(&x);
        veil_claims_free(&x.claims);
        veil_report_free(&x.report);
        EXPECT_EQ(X509_up_ref(forged), 1);
        EXPECT_TRUE(sk_X509_push(x.col.certs, forged) > 0);
        run_bytes(&x, w.data, w.len, T_2026_11_26, NULL);
        EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
        want_check(&x, "snp.chain.ark_pinned", VEIL_CHECK_FAIL);
        EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.chain.ark_pinned")->detail,
                               "(ARK-Milan) that is not a pinned AMD ARK"));
        veil_wr_free(&w);
    }
    run_free(&x);
    X509_free(other);
    X509_free(forged);
    EVP_PKEY_free(key);
}

/* Genoa: the v3 SNP report inside the Azure HCL report of azure/trustee-az-snp-vtpm
 * (evidence-genoa.json: "report" = HCL report bytes, SNP report at offset 32; "vcek" = PEM). */
static void test_azure_genoa_v3(void **state)
{
    char path[4096];
    json_error_t err;
    json_t *j;
    json_t *bytes;
    const char *vcek;
    uint8_t rep[VEIL_SNP_REPORT_SIZE];
    struct run x;

    (void)state;
    (void)snprintf(path, sizeof(path), "%s/vectors/azure/trustee-az-snp-vtpm/evidence-genoa.json",
                   getenv("VEIL_SHARED_DIR"));
    j = json_load_file(path, 0, &err);
    EXPECT_NOT_NULL(j);
    bytes = json_object_get(j, "report");
    EXPECT_TRUE(json_array_size(bytes) >= 32 + VEIL_SNP_REPORT_SIZE);
    for (size_t i = 0; i < VEIL_SNP_REPORT_SIZE; i++) {
        rep[i] = (uint8_t)json_integer_value(json_array_get(bytes, 32 + i));
    }
    vcek = json_string_value(json_object_get(j, "vcek"));
    EXPECT_NOT_NULL(vcek);
    veil_collateral_init(&x.col);
    EXPECT_OK(veil_collateral_add_bytes(&x.col, (const uint8_t *)vcek, strlen(vcek)));
    add_vector(&x.col, "amd-root-certs/ask_ark_genoa.pem");
    run_bytes(&x, rep, sizeof(rep), T_2026_11_26, NULL);
    want_pass(&x);
    want_claim(&x, "snp.version", "3");
    want_claim(&x, "snp.product", "Genoa");
    want_claim(&x, "snp.cpuid.model", "17");
    want_claim(&x, "snp.tcb.reported.bootloader", "10");
    want_claim(&x, "snp.tcb.reported.snp", "23");
    want_claim(&x, "snp.tcb.reported.microcode", "84");
    EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.product")->detail,
                           "chain Genoa, VCEK productName Genoa, report CPUID Genoa"));
    run_free(&x);
    /* The same report with the Milan chain: the VCEK's issuer (SEV-Genoa) is not there. */
    veil_collateral_init(&x.col);
    EXPECT_OK(veil_collateral_add_bytes(&x.col, (const uint8_t *)vcek, strlen(vcek)));
    add_vector(&x.col, "amd-root-certs/ask_ark_milan.pem");
    run_bytes(&x, rep, sizeof(rep), T_2026_11_26, NULL);
    want_check(&x, "snp.chain.vcek", VEIL_CHECK_FAIL);
    run_free(&x);
    json_decref(j);
}

/* The cache remembers verified signatures by certificate digest: a warm cache still refuses a
 * modified certificate, an expired one and a bad report. */
static void test_cache(void **state)
{
    struct veil_snp_cache *cache = NULL;
    struct veil_wr rep;
    struct veil_wr certs[3];
    struct veil_collateral col;
    struct veil_claims cl;
    struct veil_report r;
    struct veil_verify_opts o;

    (void)state;
    EXPECT_OK(veil_snp_cache_new(&cache));
    read_vector("gosevguest-milan-vcek/attestation.bin", &rep);
    read_vector("gosevguest-milan-vcek/vcek.der", &certs[0]);
    pem_der("gosevguest-milan-vcek/ask_ark_milan.pem", 0, &certs[1]);
    pem_der("gosevguest-milan-vcek/ask_ark_milan.pem", 1, &certs[2]);
    memset(&o, 0, sizeof(o));
    o.at = T_2026_11_26;
    o.collateral = &col;
    for (int round = 0; round < 4; round++) {
        veil_collateral_init(&col);
        if (round == 2) {
            certs[1].data[certs[1].len - 10] ^= 1; /* ASK signature */
        }
        if (round == 3) {
            certs[1].data[certs[1].len - 10] ^= 1;
            o.at = T_2022_09_25 - 86400 * 2;
        }
        for (int k = 0; k < 3; k++) {
            EXPECT_OK(veil_collateral_add_bytes(&col, certs[k].data, certs[k].len));
        }
        veil_claims_init(&cl);
        veil_report_init(&r);
        if (round < 2) {
            EXPECT_OK(veil_verify_snp_cached(cache, rep.data, rep.len, &o, &cl, &r));
        } else {
            EXPECT_ERR(veil_verify_snp_cached(cache, rep.data, rep.len, &o, &cl, &r),
                       VEIL_ERR_ATTEST);
            EXPECT_STR_EQ(veil_report_first_failure(&r)->id,
                          round == 2 ? "snp.chain.ask" : "snp.chain.validity");
        }
        veil_claims_free(&cl);
        veil_report_free(&r);
        veil_collateral_free(&col);
    }
    rep.data[100] ^= 1;
    o.at = T_2026_11_26;
    o.collateral = NULL;
    veil_claims_init(&cl);
    veil_report_init(&r);
    EXPECT_ERR(veil_verify_snp_cached(cache, rep.data, rep.len, &o, &cl, &r), VEIL_ERR_ATTEST);
    veil_claims_free(&cl);
    veil_report_free(&r);
    for (int k = 0; k < 3; k++) {
        veil_wr_free(&certs[k]);
    }
    veil_wr_free(&rep);
    veil_snp_cache_free(cache);
    veil_snp_cache_free(NULL);
}

/* snp.chain.vlek and snp.product refusing. */
static void test_vlek_chain_and_product_mismatch(void **state)
{
    static const char *const vlek_with_ask[] = {"trustee-milan-vlek/test-vlek.der",
                                                "amd-root-certs/ask_ark_milan.pem", NULL};
    static const char *const turin_for_milan[] = {
        "trustee-milan-vlek/test-vlek.der", "virtee-turin-vcek/vcek_turin.der",
        "amd-root-certs/ask_ark_turin_vlek.pem", "virtee-turin-vcek/cert_chain_turin.pem", NULL};
    struct run x;

    (void)state;
    /* A VLEK needs the ASVK (SEV-VLEK-Milan), not the ASK. */
    run_file(&x, "trustee-milan-vlek/test-vlek-report.bin", T_2025_06_01, vlek_with_ask);
    EXPECT_ERR(x.r, VEIL_ERR_ATTEST);
    want_check(&x, "snp.chain.vlek", VEIL_CHECK_FAIL);
    EXPECT_NOT_NULL(
        strstr(veil_report_find(&x.report, "snp.chain.vlek")->detail, "SEV-VLEK-Milan"));
    run_free(&x);
    /* The Milan v3 report (CPUID family 19h model 01h) against the Turin chain: the VLEK is
     * picked (it verifies the report) but its issuer is missing, and if the Turin VCEK is taken
     * as the key instead, the products disagree. */
    {
        static const char *const turin_only[] = {"virtee-turin-vcek/vcek_turin.der",
                                                 "virtee-turin-vcek/cert_chain_turin.pem", NULL};
        struct veil_wr w;
        read_vector("trustee-milan-vlek/test-vlek-report.bin", &w);
        w.data[0x48] = 0; /* claim to be VCEK-signed */
        veil_collateral_init(&x.col);
        run_bytes(&x, w.data, w.len, T_2025_06_01, turin_only);
        want_check(&x, "snp.product", VEIL_CHECK_FAIL);
        EXPECT_NOT_NULL(strstr(veil_report_find(&x.report, "snp.product")->detail,
                               "chain Turin, VCEK productName Turin, report CPUID Milan"));
        run_free(&x);
        veil_wr_free(&w);
    }
    run_file(&x, "trustee-milan-vlek/test-vlek-report.bin", T_2025_06_01, turin_for_milan);
    want_check(&x, "snp.signature", VEIL_CHECK_PASS);
    want_check(&x, "snp.chain.vlek", VEIL_CHECK_FAIL);
    run_free(&x);
}

VEIL_TEST_MAIN(test_gosevguest_valid, test_virtee_valid_and_byte21, test_trustee_vcek,
               test_synthetic_vceks_fail_chain, test_vlek_valid_2025_expired_now,
               test_aci_host_data_and_report_data, test_aci_thim_json, test_v1_report_refused,
               test_signed_body_and_signature_flips, test_certificate_flips,
               test_other_products_chain, test_missing_collateral, test_extended_report_table,
               test_crl_check, test_forged_amd_crl, test_foreign_and_forged_roots,
               test_azure_genoa_v3, test_cache, test_vlek_chain_and_product_mismatch)
