/* The simulated TEE platform and its report codec. */
#include <sys/stat.h>
#include <unistd.h>

#include "attest/sim.h"
#include "veil_test.h"

static char dir[64];

static int setup(void **state)
{
    char plat[128];
    struct veil_sim_tcb tcb = {3, 0, 8, 115};

    (void)state;
    (void)snprintf(dir, sizeof(dir), "/tmp/veil-sim-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    (void)snprintf(plat, sizeof(plat), "%s/p", dir);
    return veil_ok(veil_sim_platform_create(plat, &tcb)) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void load(struct veil_sim_platform *p)
{
    char plat[128];

    (void)snprintf(plat, sizeof(plat), "%s/p", dir);
    EXPECT_OK(veil_sim_platform_load(plat, p));
}

static void test_platform_files(void **state)
{
    char path[160];
    struct stat st;
    struct veil_sim_platform p;
    struct veil_sim_tcb tcb = {1, 2, 3, 4};

    (void)state;
    (void)snprintf(path, sizeof(path), "%s/p/chip.key", dir);
    EXPECT_EQ(stat(path, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    (void)snprintf(path, sizeof(path), "%s/p", dir);
    EXPECT_EQ(stat(path, &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700);
    /* Never over an existing platform. */
    EXPECT_ERR(veil_sim_platform_create(path, &tcb), VEIL_ERR_IO_EXISTS);
    load(&p);
    EXPECT_EQ(p.tcb.snp, 8);
    EXPECT_EQ(p.tcb.microcode, 115);
    veil_sim_platform_free(&p);
}

static void test_attest_then_parse(void **state)
{
    struct veil_sim_platform p;
    struct veil_sim_guest g = {.policy = VEIL_SNP_POLICY_DEBUG, .vmpl = 1, .guest_svn = 7};
    struct veil_sim_evidence e;
    struct veil_wr ev;
    uint8_t rd[64];

    (void)state;
    memset(rd, 0x5a, sizeof(rd));
    memset(g.measurement, 0x11, sizeof(g.measurement));
    memset(g.host_data, 0x22, sizeof(g.host_data));
    load(&p);
    veil_wr_init(&ev, 8192);
    EXPECT_OK(veil_sim_attest(&p, &g, rd, &ev));
    EXPECT_OK(veil_sim_evidence_parse(ev.data, ev.len, &e));
    EXPECT_EQ(e.report.vmpl, 1);
    EXPECT_EQ(e.report.guest_svn, 7);
    EXPECT_EQ(e.report.policy, VEIL_SNP_POLICY_DEBUG);
    EXPECT_BYTES_EQ(e.report.report_data, rd, 64);
    EXPECT_BYTES_EQ(e.report.chip_id, p.chip_id, 64);
    EXPECT_EQ(e.report.tcb.snp, 8);
    /* Negative: every truncation, a trailing byte, bad magic, bad version, bad vmpl. */
    for (size_t n = 0; n < ev.len; n++) {
        EXPECT_FALSE(veil_ok(veil_sim_evidence_parse(ev.data, n, &e)));
    }
    EXPECT_OK(veil_wr_u8(&ev, 0));
    EXPECT_ERR(veil_sim_evidence_parse(ev.data, ev.len, &e), VEIL_ERR_PROTO_TRAILING);
    ev.len--;
    ev.data[0] ^= 1;
    EXPECT_ERR(veil_sim_evidence_parse(ev.data, ev.len, &e), VEIL_ERR_PROTO);
    ev.data[0] ^= 1;
    ev.data[8] = 2;
    EXPECT_ERR(veil_sim_evidence_parse(ev.data, ev.len, &e), VEIL_ERR_PROTO);
    ev.data[8] = 1;
    ev.data[24] = 4;
    EXPECT_ERR(veil_sim_evidence_parse(ev.data, ev.len, &e), VEIL_ERR_PROTO);
    ev.data[24] = 1;
    ev.data[268 + 3] = 1; /* reserved TCB byte */
    EXPECT_ERR(veil_sim_evidence_parse(ev.data, ev.len, &e), VEIL_ERR_PROTO);
    veil_wr_free(&ev);
    veil_sim_platform_free(&p);
}

static void test_measurement_is_a_real_digest(void **state)
{
    char a[160];
    char b[160];
    const char *both[2];
    uint8_t m1[48];
    uint8_t m2[48];
    uint8_t m3[48];
    FILE *f;

    (void)state;
    (void)snprintf(a, sizeof(a), "%s/prog", dir);
    (void)snprintf(b, sizeof(b), "%s/conf", dir);
    f = fopen(a, "w");
    (void)fputs("program", f);
    (void)fclose(f);
    f = fopen(b, "w");
    (void)fputs("config", f);
    (void)fclose(f);
    both[0] = a;
    both[1] = b;
    EXPECT_OK(veil_sim_measure(both, 2, m1));
    EXPECT_OK(veil_sim_measure(both, 1, m2));
    EXPECT_BYTES_NE(m1, m2, 48);
    f = fopen(b, "w");
    (void)fputs("config2", f);
    (void)fclose(f);
    EXPECT_OK(veil_sim_measure(both, 2, m3));
    EXPECT_BYTES_NE(m1, m3, 48);
    both[1] = "/nonexistent";
    EXPECT_ERR(veil_sim_measure(both, 2, m3), VEIL_ERR_IO_OPEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_platform_files),
        cmocka_unit_test(test_attest_then_parse),
        cmocka_unit_test(test_measurement_is_a_real_digest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
