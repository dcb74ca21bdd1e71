/* TCB level matching, ISV SVN levels, TDX module identities, status merging, advisories. */
#include "veil_dcap_test.h"

static void fill(uint8_t *p, uint8_t v)
{
    memset(p, v, 16);
}

static void test_sgx_levels(void **state)
{
    struct veil_dcap_tcb_level levels[2];
    struct veil_dcap_tcb_info t;
    uint8_t comps[16];

    (void)state;
    memset(&t, 0, sizeof(t));
    memset(levels, 0, sizeof(levels));
    fill(levels[0].sgx_svn, 5);
    levels[0].pce_svn = 10;
    levels[0].status = VEIL_DCAP_UP_TO_DATE;
    fill(levels[1].sgx_svn, 3);
    levels[1].pce_svn = 5;
    levels[1].status = VEIL_DCAP_OUT_OF_DATE;
    t.levels = levels;
    t.level_count = 2;

    fill(comps, 5);
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 10, NULL) == &levels[0]);
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 11, NULL) == &levels[0]);
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 9, NULL) == &levels[1]);
    comps[15] = 4; /* one component below */
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 10, NULL) == &levels[1]);
    fill(comps, 9);
    comps[0] = 2;
    EXPECT_NULL(veil_dcap_tcb_match(&t, comps, 10, NULL));
    fill(comps, 9);
    EXPECT_NULL(veil_dcap_tcb_match(&t, comps, 4, NULL));
}

static void test_tdx_levels(void **state)
{
    struct veil_dcap_tcb_level level;
    struct veil_dcap_tcb_info t;
    uint8_t comps[16];
    uint8_t tee[16];

    (void)state;
    memset(&t, 0, sizeof(t));
    memset(&level, 0, sizeof(level));
    level.has_tdx = true;
    level.tdx_svn[0] = 5;
    level.tdx_svn[2] = 2;
    t.levels = &level;
    t.level_count = 1;
    t.is_tdx = true;
    fill(comps, 0);
    memset(tee, 0, sizeof(tee));
    tee[0] = 5;
    tee[2] = 2;
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 0, tee) == &level);
    tee[2] = 1;
    EXPECT_NULL(veil_dcap_tcb_match(&t, comps, 0, tee));
    tee[2] = 2;
    tee[0] = 4; /* module SVN below, major version 0: bytes 0 and 1 count */
    EXPECT_NULL(veil_dcap_tcb_match(&t, comps, 0, tee));
    tee[1] = 1; /* major version 1: the module identity judges bytes 0 and 1 */
    EXPECT_TRUE(veil_dcap_tcb_match(&t, comps, 0, tee) == &level);
    level.has_tdx = false; /* an SGX level cannot match a TD */
    EXPECT_NULL(veil_dcap_tcb_match(&t, comps, 0, tee));
}

static void test_isv_levels_and_modules(void **state)
{
    struct veil_dcap_isv_level l[3];
    struct veil_dcap_module_identity m[2];
    struct veil_dcap_tcb_info t;
    uint8_t tee[16] = {6, 1};

    (void)state;
    memset(l, 0, sizeof(l));
    l[0].isv_svn = 8;
    l[1].isv_svn = 6;
    l[2].isv_svn = 5;
    EXPECT_TRUE(veil_dcap_isv_match(l, 3, 10) == &l[0]);
    EXPECT_TRUE(veil_dcap_isv_match(l, 3, 6) == &l[1]);
    EXPECT_TRUE(veil_dcap_isv_match(l, 3, 7) == &l[1]);
    EXPECT_NULL(veil_dcap_isv_match(l, 3, 4));
    EXPECT_NULL(veil_dcap_isv_match(l, 0, 100));
    memset(m, 0, sizeof(m));
    memset(&t, 0, sizeof(t));
    memcpy(m[0].id, "TDX_03", 7);
    memcpy(m[1].id, "TDX_01", 7);
    t.modules = m;
    t.module_count = 2;
    EXPECT_TRUE(veil_dcap_module_find(&t, tee) == &m[1]);
    tee[1] = 3;
    EXPECT_TRUE(veil_dcap_module_find(&t, tee) == &m[0]);
    tee[1] = 2;
    EXPECT_NULL(veil_dcap_module_find(&t, tee));
}

static void test_merge(void **state)
{
    (void)state;
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_UP_TO_DATE, VEIL_DCAP_UP_TO_DATE),
              VEIL_DCAP_UP_TO_DATE);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_UP_TO_DATE, VEIL_DCAP_OUT_OF_DATE),
              VEIL_DCAP_OUT_OF_DATE);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_CONFIGURATION_NEEDED, VEIL_DCAP_OUT_OF_DATE),
              VEIL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_SW_HARDENING_NEEDED, VEIL_DCAP_CONFIGURATION_NEEDED),
              VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_SW_HARDENING_NEEDED, VEIL_DCAP_OUT_OF_DATE),
              VEIL_DCAP_OUT_OF_DATE);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_REVOKED, VEIL_DCAP_UP_TO_DATE), VEIL_DCAP_REVOKED);
    EXPECT_EQ(veil_dcap_tcb_merge(VEIL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED, VEIL_DCAP_REVOKED),
              VEIL_DCAP_REVOKED);
    EXPECT_EQ(
        veil_dcap_tcb_merge(VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED, VEIL_DCAP_UP_TO_DATE),
        VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED);
}

static void test_advisories_merge(void **state)
{
    char *a_ids[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    char *b_ids[] = {"INTEL-SA-00615", "INTEL-SA-00828"};
    struct veil_dcap_advisories a = {a_ids, 2};
    struct veil_dcap_advisories b = {b_ids, 2};
    struct veil_dcap_advisories out = {NULL, 0};

    (void)state;
    EXPECT_OK(veil_dcap_advisories_merge(&out, &a));
    EXPECT_OK(veil_dcap_advisories_merge(&out, &b));
    EXPECT_OK(veil_dcap_advisories_merge(&out, &a));
    EXPECT_EQ(out.count, 3);
    EXPECT_STR_EQ(out.ids[0], "INTEL-SA-00289");
    EXPECT_STR_EQ(out.ids[1], "INTEL-SA-00615");
    EXPECT_STR_EQ(out.ids[2], "INTEL-SA-00828");
    veil_dcap_advisories_free(&out);
    EXPECT_EQ(out.count, 0);
}

VEIL_TEST_MAIN(test_sgx_levels, test_tdx_levels, test_isv_levels_and_modules, test_merge,
               test_advisories_merge)
