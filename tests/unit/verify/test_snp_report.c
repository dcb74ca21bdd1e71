/* The SEV-SNP report parser: every vector report, field values, and each refusal. */
#include "base/encoding.h"
#include "base/file.h"
#include "veil_test.h"
#include "verify/snp.h"

static void read_vector(const char *rel, struct veil_wr *w)
{
    char path[4096];
    const char *shared = getenv("VEIL_SHARED_DIR");

    EXPECT_NOT_NULL(shared);
    (void)snprintf(path, sizeof(path), "%s/vectors/sev-snp/%s", shared, rel);
    EXPECT_OK(veil_file_read(path, 1 << 20, w));
}

static void expect_hex(const uint8_t *p, size_t n, const char *want)
{
    char buf[257];

    EXPECT_OK(veil_hex_encode(p, n, buf, sizeof(buf)));
    EXPECT_STR_EQ(buf, want);
}

static void test_gosevguest_v2_fields(void **state)
{
    struct veil_wr w;
    struct veil_snp_report r;
    struct veil_snp_tcb t;

    (void)state;
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    EXPECT_OK(veil_snp_report_parse(w.data, w.len, &r));
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.policy, 0xb0000);
    EXPECT_EQ(r.vmpl, 0);
    EXPECT_EQ(r.platform_info, 1);
    EXPECT_EQ(r.signing_key, VEIL_SNP_KEY_VCEK);
    EXPECT_EQ(r.reported_tcb, 4901323769462652930ull);
    EXPECT_EQ(r.launch_tcb, 4901323769462652930ull);
    EXPECT_EQ(r.current_major, 1);
    EXPECT_EQ(r.current_minor, 49);
    EXPECT_EQ(r.current_build, 3);
    expect_hex(
        r.measurement, sizeof(r.measurement),
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0c"
        "f2e4872b01");
    expect_hex(
        r.chip_id, sizeof(r.chip_id),
        "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a19"
        "36776b564ea464cdce40c05f63c9b610c5068b006b5d");
    expect_hex(r.report_id, sizeof(r.report_id),
               "8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a");
    expect_hex(r.report_data, 8, "0102030405000000");
    veil_snp_tcb_decode(r.reported_tcb, VEIL_SNP_PRODUCT_MILAN, &t);
    EXPECT_EQ(t.bootloader, 2);
    EXPECT_EQ(t.tee, 0);
    EXPECT_EQ(t.snp, 5);
    EXPECT_EQ(t.microcode, 68);
    veil_wr_free(&w);
}

static void test_vlek_v3_fields(void **state)
{
    struct veil_wr w;
    struct veil_snp_report r;

    (void)state;
    read_vector("trustee-milan-vlek/test-vlek-report.bin", &w);
    EXPECT_OK(veil_snp_report_parse(w.data, w.len, &r));
    EXPECT_EQ(r.version, 3);
    EXPECT_EQ(r.vmpl, 1);
    EXPECT_EQ(r.policy, 0x30000);
    EXPECT_EQ(r.platform_info, 0x27);
    EXPECT_EQ(r.signing_key, VEIL_SNP_KEY_VLEK);
    EXPECT_EQ(r.cpuid_fam_id, 0x19);
    EXPECT_EQ(r.cpuid_mod_id, 0x01);
    EXPECT_EQ(r.cpuid_step, 0x01);
    EXPECT_EQ(veil_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id), VEIL_SNP_PRODUCT_MILAN);
    EXPECT_EQ(r.reported_tcb, 0xd918000000000004ull);
    EXPECT_EQ(r.current_tcb, 0xdc18000000000004ull);
    EXPECT_EQ(r.committed_tcb, 0xdb18000000000004ull);
    EXPECT_EQ(r.current_major, 1);
    EXPECT_EQ(r.current_minor, 55);
    EXPECT_EQ(r.current_build, 29);
    expect_hex(
        r.measurement, sizeof(r.measurement),
        "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df"
        "2a570d7bf0");
    veil_wr_free(&w);
}

static void test_other_vectors_parse(void **state)
{
    static const char *const files[] = {"virtee-milan-vcek/derived_report_milan.bin",
                                        "trustee-milan-vcek/test-report.bin",
                                        "csc-aci-milan/snp_report.bin"};
    struct veil_snp_report r;
    struct veil_wr w;

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        read_vector(files[i], &w);
        EXPECT_OK(veil_snp_report_parse(w.data, w.len, &r));
        EXPECT_EQ(r.version, 2);
        EXPECT_EQ(r.reported_tcb, 0x7308000000000003ull);
        veil_wr_free(&w);
    }
    read_vector("trustee-milan-vcek/test-report.bin", &w);
    EXPECT_OK(veil_snp_report_parse(w.data, w.len, &r));
    EXPECT_EQ(r.guest_svn, 4);
    EXPECT_EQ(r.policy, 0x3001f);
    EXPECT_EQ(r.current_tcb, 0xce08000000000003ull);
    veil_wr_free(&w);
    /* A version 1 report (pre-release firmware layout) is refused. */
    read_vector("csc-aci-milan/derived_report_v1_from_go_test.bin", &w);
    EXPECT_ERR(veil_snp_report_parse(w.data, w.len, &r), VEIL_ERR_SNP_VERSION);
    veil_wr_free(&w);
}

static void set_u32le(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void test_refusals(void **state)
{
    struct veil_wr w;
    struct veil_snp_report r;
    uint8_t m[VEIL_SNP_REPORT_SIZE + 1];
    static const size_t reserved[] = {0x04C, 0x04F, 0x188, 0x19F, 0x1EB, 0x1EF, 0x1F8,
                                      0x29F, 0x2D0, 0x2E7, 0x318, 0x330, 0x49F};

    (void)state;
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    EXPECT_ERR(veil_snp_report_parse(w.data, w.len - 1, &r), VEIL_ERR_SNP_SIZE);
    EXPECT_ERR(veil_snp_report_parse(w.data, 0, &r), VEIL_ERR_SNP_SIZE);
    memcpy(m, w.data, w.len);
    m[VEIL_SNP_REPORT_SIZE] = 0;
    EXPECT_ERR(veil_snp_report_parse(m, sizeof(m), &r), VEIL_ERR_SNP_SIZE);
    for (uint32_t v = 0; v < 8; v++) {
        memcpy(m, w.data, w.len);
        set_u32le(m, v);
        EXPECT_ERR(veil_snp_report_parse(m, w.len, &r),
                   v == 2 || v == 3 || v == 5 ? VEIL_OK : VEIL_ERR_SNP_VERSION);
    }
    memcpy(m, w.data, w.len);
    set_u32le(m + 0x34, 2);
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_SIG_ALGO);
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        memcpy(m, w.data, w.len);
        m[reserved[i]] = 0x01;
        EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    }
    memcpy(m, w.data, w.len);
    m[0x0A] &= (uint8_t)~0x02; /* policy bit 17 */
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    memcpy(m, w.data, w.len);
    m[0x48] = 0x20; /* key info bit 5 */
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    memcpy(m, w.data, w.len);
    m[0x48] = 2 << 2; /* SIGNING_KEY 2 is undefined */
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_FIELD);
    memcpy(m, w.data, w.len);
    m[0x48] = 7 << 2; /* no key: parses, the verifier refuses it */
    EXPECT_OK(veil_snp_report_parse(m, w.len, &r));
    EXPECT_EQ(r.signing_key, VEIL_SNP_KEY_NONE);
    veil_wr_free(&w);
}

static void test_v3_v5_layout(void **state)
{
    struct veil_wr w;
    struct veil_snp_report r;
    uint8_t m[VEIL_SNP_REPORT_SIZE];

    (void)state;
    read_vector("gosevguest-milan-vcek/attestation.bin", &w);
    memcpy(m, w.data, w.len);
    /* v3: CPUID bytes at 0x188; still reserved from 0x18B. */
    set_u32le(m, 3);
    m[0x188] = 0x1A;
    m[0x189] = 0x02;
    m[0x18A] = 0x01;
    EXPECT_OK(veil_snp_report_parse(m, w.len, &r));
    EXPECT_EQ(r.cpuid_fam_id, 0x1A);
    EXPECT_EQ(veil_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id), VEIL_SNP_PRODUCT_TURIN);
    m[0x18B] = 1;
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    m[0x18B] = 0;
    /* A v2 report may not use the CPUID bytes. */
    set_u32le(m, 2);
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    /* v5: the mitigation vectors at 0x1F8 and 0x200; reserved again from 0x208. */
    set_u32le(m, 5);
    m[0x1F8] = 0x03;
    m[0x200] = 0x01;
    m[0x207] = 0x80;
    EXPECT_OK(veil_snp_report_parse(m, w.len, &r));
    EXPECT_EQ(r.launch_mit_vector, 3);
    EXPECT_EQ(r.current_mit_vector, 0x8000000000000001ull);
    set_u32le(m, 3);
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    set_u32le(m, 5);
    m[0x208] = 1;
    EXPECT_ERR(veil_snp_report_parse(m, w.len, &r), VEIL_ERR_SNP_RESERVED);
    veil_wr_free(&w);
}

static void test_tcb_and_products(void **state)
{
    struct veil_snp_tcb t;

    (void)state;
    /* Turin: FMC, bootloader, TEE, SNP in bytes 0-3, microcode in byte 7. */
    veil_snp_tcb_decode(0x0900000004030201ull, VEIL_SNP_PRODUCT_TURIN, &t);
    EXPECT_EQ(t.fmc, 1);
    EXPECT_EQ(t.bootloader, 2);
    EXPECT_EQ(t.tee, 3);
    EXPECT_EQ(t.snp, 4);
    EXPECT_EQ(t.microcode, 9);
    veil_snp_tcb_decode(0x7308000000000003ull, VEIL_SNP_PRODUCT_GENOA, &t);
    EXPECT_EQ(t.fmc, 0);
    EXPECT_EQ(t.bootloader, 3);
    EXPECT_EQ(t.snp, 8);
    EXPECT_EQ(t.microcode, 115);
    EXPECT_EQ(veil_snp_product_from_cpuid(0x19, 0x11), VEIL_SNP_PRODUCT_GENOA);
    EXPECT_EQ(veil_snp_product_from_cpuid(0x19, 0x21), VEIL_SNP_PRODUCT_UNKNOWN);
    EXPECT_EQ(veil_snp_product_from_cpuid(0x17, 0x01), VEIL_SNP_PRODUCT_UNKNOWN);
    EXPECT_STR_EQ(veil_snp_product_name(VEIL_SNP_PRODUCT_TURIN), "Turin");
    EXPECT_STR_EQ(veil_snp_product_name(VEIL_SNP_PRODUCT_UNKNOWN), "unknown");
}

VEIL_TEST_MAIN(test_gosevguest_v2_fields, test_vlek_v3_fields, test_other_vectors_parse,
               test_refusals, test_v3_v5_layout, test_tcb_and_products)
