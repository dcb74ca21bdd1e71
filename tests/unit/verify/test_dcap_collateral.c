/* DCAP collateral: dates, TCB info and QE identity schemas, exact signed text, bundles. */
#include "veil_dcap_test.h"

static void test_time_parse(void **state)
{
    time_t t;

    (void)state;
    EXPECT_OK(veil_dcap_time_parse("2025-07-19T10:00:34Z", &t));
    EXPECT_EQ(t, 1752919234);
    EXPECT_OK(veil_dcap_time_parse("1970-01-01T00:00:00Z", &t));
    EXPECT_EQ(t, 0);
    static const char *const bad[] = {"",
                                      "2025-07-19T10:00:34",
                                      "2025-07-19 10:00:34Z",
                                      "2025-13-19T10:00:34Z",
                                      "x",
                                      "2025-07-19T24:00:34Z",
                                      "2025-07-1aT10:00:34Z",
                                      "2025-07-19T10:00:34Z ",
                                      "1969-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT_FALSE(veil_ok(veil_dcap_time_parse(bad[i], &t)));
    }
}

/* The formatter agrees with gmtime_r + strftime and round-trips through the parser, across leap
 * years, century rules and the 2038 boundary. */
static void test_time_format(void **state)
{
    char got[32];
    char want[32];
    struct tm tm;
    time_t t;

    (void)state;
    for (int64_t s = -86400; s < (int64_t)253402300800; s += 86400 * 31 + 3661) {
        veil_dcap_time_format((time_t)s, got);
        EXPECT_NOT_NULL(gmtime_r(&(time_t){(time_t)s}, &tm));
        EXPECT_TRUE(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
        if (s < 0) {
            continue; /* the parser starts at 1970 */
        }
        EXPECT_STR_EQ(got, want);
        EXPECT_OK(veil_dcap_time_parse(got, &t));
        EXPECT_EQ((int64_t)t, s);
    }
    veil_dcap_time_format(951782400, got); /* 2000-02-29 */
    EXPECT_STR_EQ(got, "2000-02-29T00:00:00Z");
    veil_dcap_time_format(4107542399, got); /* 2100-02-28, 2100 is not a leap year */
    EXPECT_STR_EQ(got, "2100-02-28T23:59:59Z");
    veil_dcap_time_format(-1, got);
    EXPECT_STR_EQ(got, "1969-12-31T23:59:59Z");
    veil_dcap_time_format((time_t)253402300800, got); /* year 10000 */
    EXPECT_STR_EQ(got, "(time 253402300800)");
}

static void test_status_names(void **state)
{
    enum veil_dcap_tcb_status s;

    (void)state;
    for (int i = VEIL_DCAP_UP_TO_DATE; i <= VEIL_DCAP_REVOKED; i++) {
        EXPECT_TRUE(veil_dcap_tcb_status_parse(
            veil_dcap_tcb_status_name((enum veil_dcap_tcb_status)i), &s));
        EXPECT_EQ(s, i);
    }
    EXPECT_FALSE(veil_dcap_tcb_status_parse("uptodate", &s));
    EXPECT_FALSE(veil_dcap_tcb_status_parse("TCBStatusUnknown", &s));
}

static void test_json_member(void **state)
{
    static const char doc[] =
        " {\"a\" : [1,{\"}\":\"{\\\"\"}], \"tcbInfo\":{\"x\":\"}\\\\\",\"y\":[{}]} ,\"z\":null}";
    const char *v;
    size_t n;

    (void)state;
    EXPECT_OK(veil_dcap_json_member(doc, strlen(doc), "tcbInfo", &v, &n));
    EXPECT_EQ(n, strlen("{\"x\":\"}\\\\\",\"y\":[{}]}"));
    EXPECT_BYTES_EQ(v, "{\"x\":\"}\\\\\",\"y\":[{}]}", n);
    EXPECT_OK(veil_dcap_json_member(doc, strlen(doc), "z", &v, &n));
    EXPECT_BYTES_EQ(v, "null", n);
    EXPECT_FALSE(veil_ok(veil_dcap_json_member(doc, strlen(doc), "missing", &v, &n)));
    EXPECT_FALSE(veil_ok(veil_dcap_json_member("[1]", 3, "a", &v, &n)));
    for (size_t cut = 0; cut < strlen(doc) - 20; cut++) {
        veil_result ignored = veil_dcap_json_member(doc, cut, "tcbInfo", &v, &n);
        (void)ignored;
    }
}

/* The exact signed text of a PCS response's member. */
static void load_member(const char *rel, const char *key, struct veil_wr *w, const char **v,
                        size_t *n)
{
    dcap_load(rel, w);
    EXPECT_OK(veil_dcap_json_member((const char *)w->data, w->len, key, v, n));
}

static void test_tcb_info_vectors(void **state)
{
    struct veil_wr w;
    const char *v;
    size_t n;
    struct veil_dcap_tcb_info t;

    (void)state;
    load_member("tdx/gotdx-v5/tcbinfo_fmspc_90c06f000000.json", "tcbInfo", &w, &v, &n);
    EXPECT_OK(veil_dcap_tcb_info_parse(v, n, &t));
    EXPECT_TRUE(t.is_tdx);
    EXPECT_EQ(t.version, 3);
    EXPECT_EQ(t.fmspc[0], 0x90);
    EXPECT_TRUE(t.has_tdx_module);
    EXPECT_EQ(t.module_count, 2);
    EXPECT_STR_EQ(t.modules[1].id, "TDX_01");
    EXPECT_EQ(t.modules[1].levels[0].isv_svn, 6);
    EXPECT_EQ(t.modules[1].levels[1].status, VEIL_DCAP_OUT_OF_DATE);
    EXPECT_EQ(t.modules[1].levels[1].advisories.count, 2);
    EXPECT_TRUE(t.level_count > 1);
    EXPECT_TRUE(t.levels[0].has_tdx);
    veil_dcap_tcb_info_free(&t);
    /* Every proper prefix is refused. */
    for (size_t cut = 0; cut < n; cut += 7) {
        EXPECT_FALSE(veil_ok(veil_dcap_tcb_info_parse(v, cut, &t)));
    }
    veil_wr_free(&w);
}

#define SGX_V2                                                                                   \
    "{\"id\":\"SGX\",\"version\":2,\"issueDate\":\"2019-01-01T00:00:00Z\",\"nextUpdate\":"       \
    "\"2019-02-01T00:00:00Z\",\"fmspc\":\"00906EA10000\",\"pceId\":\"0000\",\"tcbType\":0,"      \
    "\"tcbEvaluationDataNumber\":5,\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomp01svn\":2,"              \
    "\"sgxtcbcomp02svn\":2,\"sgxtcbcomp03svn\":2,\"sgxtcbcomp04svn\":4,\"sgxtcbcomp05svn\":1,"   \
    "\"sgxtcbcomp06svn\":128,\"sgxtcbcomp07svn\":0,\"sgxtcbcomp08svn\":0,\"sgxtcbcomp09svn\":0," \
    "\"sgxtcbcomp10svn\":0,\"sgxtcbcomp11svn\":0,\"sgxtcbcomp12svn\":0,\"sgxtcbcomp13svn\":0,"   \
    "\"sgxtcbcomp14svn\":0,\"sgxtcbcomp15svn\":0,\"sgxtcbcomp16svn\":0,\"pcesvn\":7},"           \
    "\"tcbDate\":\"2018-08-15T00:00:00Z\",\"tcbStatus\":\"SWHardeningNeeded\","                  \
    "\"advisoryIDs\":[\"INTEL-SA-00203\"]}]}"

static void test_tcb_info_v2(void **state)
{
    struct veil_dcap_tcb_info t;

    (void)state;
    EXPECT_OK(veil_dcap_tcb_info_parse(SGX_V2, strlen(SGX_V2), &t));
    EXPECT_FALSE(t.is_tdx);
    EXPECT_EQ(t.version, 2);
    EXPECT_EQ(t.level_count, 1);
    EXPECT_EQ(t.levels[0].sgx_svn[5], 128);
    EXPECT_EQ(t.levels[0].pce_svn, 7);
    EXPECT_EQ(t.levels[0].status, VEIL_DCAP_SW_HARDENING_NEEDED);
    EXPECT_STR_EQ(t.levels[0].advisories.ids[0], "INTEL-SA-00203");
    veil_dcap_tcb_info_free(&t);
}

/* Each replacement of one substring of a good document makes the parser refuse it. */
static void expect_refused(bool tcb, const char *good, const char *from, const char *to)
{
    const char *at = strstr(good, from);
    size_t n = strlen(good) - strlen(from) + strlen(to);
    char *doc = malloc(n + 1);
    struct veil_dcap_tcb_info t;
    struct veil_dcap_qe_identity q;
    veil_result r;

    if (at == NULL) {
        fail_msg("'%s' not in the document", from);
    }
    memcpy(doc, good, (size_t)(at - good));
    memcpy(doc + (at - good), to, strlen(to));
    memcpy(doc + (at - good) + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    r = tcb ? veil_dcap_tcb_info_parse(doc, n, &t) : veil_dcap_qe_identity_parse(doc, n, &q);
    if (veil_ok(r)) {
        fail_msg("accepted with '%s' -> '%s'", from, to);
    }
    free(doc);
}

static void test_tcb_info_refusals(void **state)
{
    (void)state;
    expect_refused(true, SGX_V2, "\"version\":2", "\"version\":\"2\"");
    expect_refused(true, SGX_V2, "\"version\":2", "\"version\":4");
    expect_refused(true, SGX_V2, "\"id\":\"SGX\"", "\"id\":\"XYZ\"");
    expect_refused(true, SGX_V2, "\"tcbType\":0", "\"tcbType\":0,\"extra\":1");
    expect_refused(true, SGX_V2, "\"tcbType\":0", "\"tcbType\":0,\"tcbType\":0");
    expect_refused(true, SGX_V2, "\"tcbType\":0", "\"tcbType\":1");
    expect_refused(true, SGX_V2, "\"sgxtcbcomp06svn\":128", "\"sgxtcbcomp06svn\":256");
    expect_refused(true, SGX_V2, "\"sgxtcbcomp06svn\":128", "\"sgxtcbcomp06svn\":-1");
    expect_refused(true, SGX_V2, "\"sgxtcbcomp06svn\":128,", "");
    expect_refused(true, SGX_V2, "\"pcesvn\":7", "\"pcesvn\":65536");
    expect_refused(true, SGX_V2, "SWHardeningNeeded", "Fine");
    expect_refused(true, SGX_V2, "\"fmspc\":\"00906EA10000\"", "\"fmspc\":\"00906EA100\"");
    expect_refused(true, SGX_V2, "\"fmspc\":\"00906EA10000\"", "\"fmspc\":\"00906EA1000G\"");
    expect_refused(true, SGX_V2, "\"issueDate\":\"2019-01-01T00:00:00Z\"", "\"issueDate\":5");
    expect_refused(true, SGX_V2, "[\"INTEL-SA-00203\"]", "[7]");
    expect_refused(true, SGX_V2, "\"tcbLevels\":[", "\"tcbLevels\":[1,");
    expect_refused(true, SGX_V2, "\"id\":\"SGX\",\"version\":2", "\"id\":\"TDX\",\"version\":2");
}

static void test_qe_identity(void **state)
{
    struct veil_wr w;
    const char *v;
    size_t n;
    struct veil_dcap_qe_identity q;
    char *doc;

    (void)state;
    load_member("tdx/gotdx-spr-v4/qe_identity_tdqe.json", "enclaveIdentity", &w, &v, &n);
    EXPECT_OK(veil_dcap_qe_identity_parse(v, n, &q));
    EXPECT_TRUE(q.is_td_qe);
    EXPECT_EQ(q.isv_prod_id, 2);
    EXPECT_EQ(q.misc_select_mask, 0xffffffffu);
    EXPECT_EQ(q.attributes[0], 0x11);
    EXPECT_EQ(q.attributes_mask[0], 0xfb);
    EXPECT_EQ(q.mr_signer[0], 0xdc);
    EXPECT_EQ(q.level_count, 1);
    EXPECT_EQ(q.levels[0].isv_svn, 4);
    EXPECT_EQ(q.levels[0].status, VEIL_DCAP_UP_TO_DATE);
    veil_dcap_qe_identity_free(&q);
    doc = malloc(n + 1);
    memcpy(doc, v, n);
    doc[n] = '\0';
    expect_refused(false, doc, "\"version\":2", "\"version\":1");
    expect_refused(false, doc, "\"id\":\"TD_QE\"", "\"id\":\"QVE\"");
    expect_refused(false, doc, "\"isvprodid\":2", "\"isvprodid\":\"2\"");
    expect_refused(false, doc, "\"isvprodid\":2", "\"isvprodid\":2,\"isvprodid\":2");
    expect_refused(false, doc, "\"isvprodid\":2", "\"isvprodid\":2,\"more\":true");
    expect_refused(false, doc, "\"miscselect\":\"00000000\"", "\"miscselect\":\"000000\"");
    expect_refused(false, doc, "\"tcb\":{\"isvsvn\":4}", "\"tcb\":{\"isvsvn\":4,\"x\":1}");
    expect_refused(false, doc, "\"tcb\":{\"isvsvn\":4}", "\"tcb\":{\"isvsvn\":70000}");
    expect_refused(false, doc, "\"tcbLevels\":[{", "\"tcbLevels\":[],\"x\":[{");
    for (size_t cut = 0; cut < n; cut += 5) {
        EXPECT_FALSE(veil_ok(veil_dcap_qe_identity_parse(v, cut, &q)));
    }
    free(doc);
    veil_wr_free(&w);
}

static void test_pcs_response(void **state)
{
    struct veil_wr w;
    const char *v;
    size_t n;
    struct veil_dcap_collateral c;

    (void)state;
    load_member("tdx/trustee-tdx/tcbInfo.json", "tcbInfo", &w, &v, &n);
    veil_dcap_collateral_init(&c);
    EXPECT_OK(veil_dcap_collateral_add_json(&c, (const char *)w.data, w.len));
    EXPECT_EQ(c.doc_count, 1);
    EXPECT_EQ(c.docs[0].kind, VEIL_DCAP_DOC_TCB_INFO);
    EXPECT_EQ(c.docs[0].body_size, n);
    EXPECT_BYTES_EQ(c.docs[0].body, v, n);
    veil_dcap_collateral_free(&c);
    veil_wr_free(&w);
}

static void test_qvl_bundle(void **state)
{
    struct veil_wr w;
    struct veil_dcap_collateral c;

    (void)state;
    dcap_load("sgx/dcapqvl-sgx/sgx_quote_collateral.json", &w);
    veil_dcap_collateral_init(&c);
    EXPECT_OK(veil_dcap_collateral_add_json(&c, (const char *)w.data, w.len));
    EXPECT_EQ(c.doc_count, 2);
    EXPECT_EQ(c.docs[0].kind, VEIL_DCAP_DOC_TCB_INFO);
    EXPECT_EQ(c.docs[1].kind, VEIL_DCAP_DOC_QE_IDENTITY);
    EXPECT_EQ(sk_X509_CRL_num(c.crls), 2);
    EXPECT_EQ(sk_X509_num(c.certs), 6); /* three issuer chains of two */
    veil_dcap_collateral_free(&c);
    veil_wr_free(&w);
}

static void test_bundle_refusals(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"foo\":1}",
        "{\"tcbInfo\":{},\"signature\":\"00\"}",
        "{\"tcbInfo\":{},\"signature\":5}",
        ("{\"tcbInfo\":[],\"signature\":\"" /* 128 hex digits follow */
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000\"}"),
        ("{\"tcb_info\":\"{}\",\"tcb_info_signature\":\"zz\",\"qe_identity\":\"{}\","
         "\"qe_identity_signature\":\"00\"}"),
        "{\"tcb_info\":\"{}\",\"unknown\":1}",
        "{\"tcbInfo\":{},\"signature\":\"00\",\"tcbInfo\":{}}",
    };
    struct veil_dcap_collateral c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        veil_dcap_collateral_init(&c);
        if (veil_ok(veil_dcap_collateral_add_json(&c, bad[i], strlen(bad[i])))) {
            fail_msg("accepted %s", bad[i]);
        }
        veil_dcap_collateral_free(&c);
    }
}

/* Unrelated JSON in the bundle (another verifier's) is skipped, not an error. */
static void test_load_skips_other_json(void **state)
{
    static const char other[] = "{\"policy\":{\"allOf\":[]}}";
    struct veil_collateral col;
    struct veil_dcap_collateral c;

    (void)state;
    veil_collateral_init(&col);
    EXPECT_OK(veil_collateral_add_bytes(&col, (const uint8_t *)other, strlen(other)));
    veil_dcap_collateral_init(&c);
    EXPECT_OK(veil_dcap_collateral_load(&col, &c));
    EXPECT_EQ(c.doc_count, 0);
    veil_dcap_collateral_free(&c);
    veil_collateral_free(&col);
}

VEIL_TEST_MAIN(test_time_format, test_time_parse, test_status_names, test_json_member,
               test_tcb_info_vectors, test_tcb_info_v2, test_tcb_info_refusals, test_qe_identity,
               test_pcs_response, test_qvl_bundle, test_bundle_refusals, test_load_skips_other_json)
