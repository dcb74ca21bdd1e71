#include "kbs/proto.h"
#include "veil_test.h"

static veil_result req(const char *body, struct veil_kbs_request *r, char *why)
{
    return veil_kbs_request_parse((const uint8_t *)body, strlen(body), r, why, 256);
}

static void test_request(void **state)
{
    struct veil_kbs_request r;
    struct veil_wr w;
    char why[256];

    (void)state;
    EXPECT_OK(
        req("{\"version\":\"0.1.0\",\"tee\":\"amd-sev-snp\",\"extra-params\":\"\"}", &r, why));
    EXPECT_EQ(r.tee, VEIL_TEE_SNP);
    EXPECT_OK(req("{\"version\":\"0.1.0\",\"tee\":\"veil-sim\"}", &r, why));
    EXPECT_EQ(r.tee, VEIL_TEE_SIM);
    veil_wr_init(&w, 4096);
    EXPECT_OK(veil_kbs_request_build(VEIL_TEE_TDX, &w));
    EXPECT_OK(veil_kbs_request_parse(w.data, w.len, &r, why, sizeof(why)));
    EXPECT_EQ(r.tee, VEIL_TEE_TDX);
    veil_wr_free(&w);
    EXPECT_ERR(req("{\"version\":\"0.2.0\",\"tee\":\"amd-sev-snp\"}", &r, why), VEIL_ERR_PROTO);
    EXPECT_TRUE(strstr(why, "version") != NULL);
    EXPECT_ERR(req("{\"version\":\"0.1.0\",\"tee\":\"sim\"}", &r, why), VEIL_ERR_PROTO);
    EXPECT_TRUE(strstr(why, "tee") != NULL);
    EXPECT_ERR(req("{\"version\":\"0.1.0\",\"tee\":\"intel-tdx\",\"x\":1}", &r, why),
               VEIL_ERR_PROTO);
    EXPECT_TRUE(strstr(why, "unknown member \"x\"") != NULL);
    EXPECT_ERR(req("{\"version\":\"0.1.0\",\"tee\":\"intel-tdx\",\"tee\":\"intel-tdx\"}", &r, why),
               VEIL_ERR_PROTO);
    EXPECT_ERR(req("[1,2]", &r, why), VEIL_ERR_PROTO);
    EXPECT_ERR(req("{", &r, why), VEIL_ERR_PROTO);
    EXPECT_ERR(req("", &r, why), VEIL_ERR_PROTO);
}

static const char jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"BB\"}";

static void test_attestation_round_trip(void **state)
{
    struct veil_kbs_attestation a;
    json_t *pub = json_loads(jwk, 0, NULL);
    json_t *rd = NULL;
    struct veil_wr w;
    uint8_t ev[300];
    uint8_t h[48];
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(ev); i++) {
        ev[i] = (uint8_t)i;
    }
    EXPECT_OK(veil_kbs_runtime_data_build("bm9uY2U", pub, &rd));
    veil_wr_init(&w, VEIL_KBS_BODY_SIZE_MAX);
    EXPECT_OK(veil_kbs_attestation_build(rd, ev, sizeof(ev), &w));
    EXPECT_OK(veil_kbs_attestation_parse(w.data, w.len, &a, why, sizeof(why)));
    EXPECT_STR_EQ(a.nonce, "bm9uY2U");
    EXPECT_EQ(a.evidence_size, sizeof(ev));
    EXPECT_BYTES_EQ(a.evidence, ev, sizeof(ev));
    EXPECT_OK(veil_kbs_runtime_data_hash(rd, h));
    EXPECT_BYTES_EQ(a.report_data, h, 48);
    /* Key order does not change the binding: the hash is over the canonical form. */
    {
        json_t *rd2 = json_loads(
            "{\"tee-pubkey\":{\"y\":\"BB\",\"x\":\"AA\",\"crv\":\"P-256\","
            "\"kty\":\"EC\"},\"nonce\":\"bm9uY2U\"}",
            0, NULL);
        uint8_t h2[48];
        EXPECT_OK(veil_kbs_runtime_data_hash(rd2, h2));
        EXPECT_BYTES_EQ(h, h2, 48);
        json_decref(rd2);
    }
    veil_kbs_attestation_free(&a);
    veil_wr_free(&w);
    json_decref(rd);
    json_decref(pub);
}

static void test_attestation_refusals(void **state)
{
    static const char *const bad[] = {
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}}}",
        "{\"tee-evidence\":\"AAAA\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":\"!!\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":\"\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":5}",
        "{\"runtime-data\":{\"nonce\":1,\"tee-pubkey\":{}},\"tee-evidence\":\"AAAA\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":\"k\"},\"tee-evidence\":\"AAAA\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{},\"x\":1},\"tee-evidence\":\"AAAA\"}",
        ("{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":\"AAAA\","
         "\"init-data\":{}}"),
        "{\"runtime-data\":[],\"tee-evidence\":\"AAAA\"}",
        "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":\"AAAA\",\"z\":0}",
    };
    struct veil_kbs_attestation a;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        veil_result r = veil_kbs_attestation_parse((const uint8_t *)bad[i], strlen(bad[i]), &a, why,
                                                   sizeof(why));
        if (veil_ok(r) || why[0] == '\0') {
            fail_msg("case %zu accepted or unexplained", i);
        }
    }
    EXPECT_OK(veil_kbs_attestation_parse(
        (const uint8_t *)"{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":"
                         "\"AAAA\",\"init-data\":null}",
        85, &a, why, sizeof(why)));
    veil_kbs_attestation_free(&a);
}

static void test_claims_json_round_trip(void **state)
{
    struct veil_claims c;
    struct veil_claims back;
    static const uint8_t m[3] = {1, 2, 0xff};
    static const char *const ids[] = {"A", "B"};
    json_t *j = NULL;

    (void)state;
    veil_claims_init(&c);
    veil_claims_init(&back);
    EXPECT_OK(veil_claims_add_str(&c, "tee", "snp"));
    EXPECT_OK(veil_claims_add_bytes(&c, "snp.measurement", m, 3));
    EXPECT_OK(veil_claims_add_int(&c, "snp.vmpl", -3));
    EXPECT_OK(veil_claims_add_bool(&c, "snp.debug", true));
    EXPECT_OK(veil_claims_add_str_list(&c, "tdx.advisory_ids", ids, 2));
    EXPECT_OK(veil_kbs_claims_to_json(&c, &j));
    EXPECT_OK(veil_kbs_claims_from_json(j, &back));
    EXPECT_EQ(back.count, 5);
    EXPECT_EQ(veil_claims_find(&back, "snp.measurement")->type, VEIL_CLAIM_BYTES);
    EXPECT_BYTES_EQ(veil_claims_find(&back, "snp.measurement")->bytes, m, 3);
    EXPECT_EQ(veil_claims_find(&back, "snp.vmpl")->i, -3);
    EXPECT_TRUE(veil_claims_find(&back, "snp.debug")->b);
    EXPECT_STR_EQ(veil_claims_find(&back, "tdx.advisory_ids")->list[1], "B");
    json_decref(j);
    veil_claims_free(&back);
    /* Malformed encodings are refused. */
    j = json_loads("[[\"a\",\"x\",1]]", 0, NULL);
    EXPECT_ERR(veil_kbs_claims_from_json(j, &back), VEIL_ERR_PROTO);
    json_decref(j);
    j = json_loads("[[\"a\",\"b\",\"zz\"]]", 0, NULL);
    EXPECT_ERR(veil_kbs_claims_from_json(j, &back), VEIL_ERR_PROTO_ENCODING);
    json_decref(j);
    j = json_loads("[[\"a\",\"i\",\"1\"]]", 0, NULL);
    EXPECT_ERR(veil_kbs_claims_from_json(j, &back), VEIL_ERR_PROTO);
    json_decref(j);
    veil_claims_free(&back);
    veil_claims_free(&c);
}

static void test_resource_paths(void **state)
{
    (void)state;
    EXPECT_TRUE(veil_kbs_resource_path_valid("models/ocr/key"));
    EXPECT_TRUE(veil_kbs_resource_path_valid("a.b/c-d/e_f"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models/ocr"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models/ocr/key/x"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models/../key"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models/./key"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models//key"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("/models/ocr/key"));
    EXPECT_FALSE(veil_kbs_resource_path_valid("models/ocr/k%2e"));
    EXPECT_FALSE(veil_kbs_resource_path_valid(""));
}

static void test_error_body(void **state)
{
    struct veil_wr w;
    const char *s;

    (void)state;
    veil_wr_init(&w, 4096);
    EXPECT_OK(veil_kbs_error_build("PolicyDeny", "snp.debug equals false: FAILS", &w));
    EXPECT_OK(veil_wr_cstr(&w, &s));
    EXPECT_STR_EQ(s,
                  "{\"detail\":\"snp.debug equals false: FAILS\",\"type\":"
                  "\"https://github.com/confidential-containers/kbs/errors/PolicyDeny\"}");
    veil_wr_free(&w);
}

VEIL_TEST_MAIN(test_request, test_attestation_round_trip, test_attestation_refusals,
               test_claims_json_round_trip, test_resource_paths, test_error_body)
