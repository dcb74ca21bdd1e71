/* Certificate request bodies, PKCS#10 parsing (every refusal), the CA and issuing. */
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cert_test.h"
#include "kbs/cert.h"
#include "veil_test.h"

static veil_result parse_body(const char *body, struct veil_kbs_cert_request *req)
{
    char why[256];

    return veil_kbs_cert_request_parse((const uint8_t *)body, strlen(body), req, why, sizeof(why));
}

static void test_request_round_trip(void **state)
{
    struct veil_wr body;
    struct veil_kbs_cert_request req;
    const uint8_t csr[5] = {1, 2, 3, 4, 5};

    (void)state;
    veil_wr_init(&body, 4096);
    EXPECT_OK(veil_kbs_cert_request_build("web-1", csr, sizeof(csr), 3600, &body));
    EXPECT_OK(veil_kbs_cert_request_parse(body.data, body.len, &req, NULL, 0));
    EXPECT_STR_EQ(req.name, "web-1");
    EXPECT_EQ(req.validity_s, 3600);
    EXPECT_EQ(req.csr_size, sizeof(csr));
    EXPECT_BYTES_EQ(req.csr, csr, sizeof(csr));
    veil_kbs_cert_request_free(&req);
    veil_wr_reset(&body);
    EXPECT_OK(veil_kbs_cert_request_build("web", csr, sizeof(csr), 0, &body));
    EXPECT_OK(veil_kbs_cert_request_parse(body.data, body.len, &req, NULL, 0));
    EXPECT_EQ(req.validity_s, 0); /* the broker's default */
    veil_kbs_cert_request_free(&req);
    veil_wr_free(&body);
}

static void test_request_refusals(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"name\":\"web\"}",
        "{\"csr\":\"AQID\"}",
        "{\"name\":\"web\",\"csr\":\"AQID\",\"extra\":1}",
        "{\"name\":\"web\",\"name\":\"x\",\"csr\":\"AQID\"}",
        "{\"name\":\"..\",\"csr\":\"AQID\"}",
        "{\"name\":\"a/b\",\"csr\":\"AQID\"}",
        "{\"name\":\"\",\"csr\":\"AQID\"}",
        "{\"name\":\"a\\u0000b\",\"csr\":\"AQID\"}",
        ("{\"name\":"
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"csr\":\"AQID\"}"),
        "{\"name\":7,\"csr\":\"AQID\"}",
        "{\"name\":\"web\",\"csr\":\"\"}",
        "{\"name\":\"web\",\"csr\":\"AQ+/\"}",
        "{\"name\":\"web\",\"csr\":5}",
        "{\"name\":\"web\",\"csr\":\"AQID\",\"validity-s\":59}",
        "{\"name\":\"web\",\"csr\":\"AQID\",\"validity-s\":\"3600\"}",
        "{\"name\":\"web\",\"csr\":\"AQID\",\"validity-s\":3600.5}",
        "{\"name\":\"web\",\"csr\":\"AQID\",\"validity-s\":99999999999}",
    };
    struct veil_kbs_cert_request req;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        veil_result r = parse_body(bad[i], &req);
        if (veil_ok(r)) {
            fail_msg("accepted %s", bad[i]);
        }
        EXPECT_NULL(req.csr);
    }
}

static void test_request_too_large(void **state)
{
    size_t n = VEIL_KBS_CSR_SIZE_MAX * 2;
    char *body = malloc(n + 64);
    struct veil_kbs_cert_request req;

    (void)state;
    assert_non_null(body);
    memcpy(body, "{\"name\":\"w\",\"csr\":\"", 19);
    memset(body + 19, 'A', n);
    memcpy(body + 19 + n, "\"}", 3);
    EXPECT_ERR(parse_body(body, &req), VEIL_ERR_PROTO_LIMIT);
    free(body);
}

static veil_result csr_parse(const struct veil_wr *der, struct veil_kbs_csr *c)
{
    char why[256];

    return veil_kbs_csr_parse(der->data, der->len, c, why, sizeof(why));
}

static void test_csr_good(void **state)
{
    EVP_PKEY *key = test_ec_key("P-384");
    struct veil_wr der;
    struct veil_kbs_csr c;

    (void)state;
    veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
    EXPECT_OK(veil_kbs_csr_make(key, "web", "DNS:web.example,IP:127.0.0.1,IP:::1", NULL, &der));
    EXPECT_OK(csr_parse(&der, &c));
    EXPECT_EQ(c.san_count, 3);
    EXPECT_STR_EQ(c.san[0], "DNS:web.example");
    EXPECT_STR_EQ(c.san[1], "IP:127.0.0.1");
    EXPECT_STR_EQ(c.san[2], "IP:::1");
    EXPECT_NULL(c.evidence_ext);
    EXPECT_TRUE(EVP_PKEY_eq(c.key, key) == 1);
    veil_kbs_csr_free(&c);
    veil_wr_free(&der);
    EVP_PKEY_free(key);
}

static void test_csr_refusals(void **state)
{
    EVP_PKEY *key = test_ec_key("P-256");
    EVP_PKEY *other = test_ec_key("P-256");
    EVP_PKEY *p521 = test_ec_key("P-521");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    struct veil_wr der;
    struct veil_kbs_csr c;
    char many[1024] = "DNS:a0";

    (void)state;
    assert_non_null(ed);
    assert_non_null(rsa1024);
    veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
    /* not DER, truncated, trailing bytes */
    EXPECT_OK(veil_wr_bytes(&der, "junk", 4));
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    veil_wr_reset(&der);
    test_csr(key, "DNS:web", 0, NULL, key, &der);
    der.len -= 1;
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    der.len += 1;
    EXPECT_OK(veil_wr_bytes(&der, "\0", 1));
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    /* signed by another key (no proof of possession) */
    veil_wr_reset(&der);
    test_csr(key, "DNS:web", 0, NULL, other, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    /* a flipped byte in the signature */
    veil_wr_reset(&der);
    test_csr(key, "DNS:web", 0, NULL, key, &der);
    der.data[der.len - 3] ^= 1;
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    /* keys the broker does not certify */
    veil_wr_reset(&der);
    test_csr(p521, "DNS:web", 0, NULL, p521, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    veil_wr_reset(&der);
    test_csr(rsa1024, "DNS:web", 0, NULL, rsa1024, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    veil_wr_reset(&der);
    X509_REQ *req = X509_REQ_new();
    assert_true(X509_REQ_set_pubkey(req, ed) == 1 && X509_REQ_sign(req, ed, NULL) > 0);
    unsigned char *buf = NULL;
    int len = i2d_X509_REQ(req, &buf);
    assert_true(len > 0);
    EXPECT_OK(veil_wr_bytes(&der, buf, (size_t)len));
    OPENSSL_free(buf);
    X509_REQ_free(req);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    /* names: none, a wildcard, an e-mail, a bad label, too many */
    veil_wr_reset(&der);
    test_csr(key, NULL, 0, NULL, key, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_SAN);
    static const char *const bad_san[] = {
        "DNS:*.example.com", "email:a@example.com",     "DNS:-web.example", "DNS:web..example",
        "DNS:web_1.example", "URI:https://web.example", "DNS:web.example.", "DNS:web-.example"};
    for (size_t i = 0; i < sizeof(bad_san) / sizeof(bad_san[0]); i++) {
        veil_wr_reset(&der);
        test_csr(key, bad_san[i], 0, NULL, key, &der);
        veil_result r = csr_parse(&der, &c);
        if (r.code != VEIL_ERR_PROTO_SAN) {
            fail_msg("%s: %s", bad_san[i], veil_error_name(r.code));
        }
    }
    for (int i = 1; i <= VEIL_KBS_CERT_SAN_COUNT_MAX; i++) {
        size_t off = strlen(many);
        (void)snprintf(many + off, sizeof(many) - off, ",DNS:a%d", i);
    }
    veil_wr_reset(&der);
    test_csr(key, many, 0, NULL, key, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_SAN);
    /* extensions the broker never issues */
    veil_wr_reset(&der);
    test_csr(key, "DNS:web", NID_basic_constraints, "critical,CA:TRUE", key, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    veil_wr_reset(&der);
    test_csr(key, "DNS:web", NID_subject_alt_name, "DNS:other", key, &der);
    EXPECT_ERR(csr_parse(&der, &c), VEIL_ERR_PROTO_CSR);
    veil_wr_free(&der);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa1024);
}

static void test_issue(void **state)
{
    struct veil_kbs_ca ca = {NULL, NULL};
    EVP_PKEY *key = test_ec_key("P-256");
    struct veil_wr der;
    struct veil_kbs_csr c;
    X509 *cert = NULL;
    int64_t now = 1800000000;
    time_t at = (time_t)now;
    BASIC_CONSTRAINTS *bc;

    (void)state;
    veil_wr_init(&der, VEIL_KBS_CSR_SIZE_MAX);
    EXPECT_OK(veil_kbs_ca_create("test CA", 86400, &ca));
    EXPECT_OK(veil_kbs_csr_make(key, "web", "DNS:web.example", NULL, &der));
    EXPECT_OK(csr_parse(&der, &c));
    EXPECT_OK(veil_kbs_cert_issue(&ca, &c, "web", now, 3600, &cert));
    EXPECT_TRUE(X509_verify(cert, ca.key) == 1);
    EXPECT_TRUE(EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1);
    EXPECT_EQ(X509_check_issued(ca.cert, cert), X509_V_OK);
    EXPECT_EQ(X509_check_host(cert, "web.example", 0, 0, NULL), 1);
    EXPECT_EQ(X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0), 1);
    bc = X509_get_ext_d2i(cert, NID_basic_constraints, NULL, NULL);
    assert_non_null(bc);
    EXPECT_FALSE(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    at = (time_t)(now + 3600); /* -1: earlier than or equal to */
    EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(cert), &at), -1);
    at = (time_t)(now + 3599);
    EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(cert), &at), 1);
    at = (time_t)(now - 61);
    EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(cert), &at), 1);
    X509_free(cert);
    /* usage errors */
    EXPECT_ERR(veil_kbs_cert_issue(&ca, &c, "web", now, 0, &cert), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_kbs_cert_issue(NULL, &c, "web", now, 60, &cert), VEIL_ERR_USAGE);
    veil_kbs_csr_free(&c);
    veil_kbs_ca_free(&ca);
    veil_wr_free(&der);
    EVP_PKEY_free(key);
}

static void test_ca_load(void **state)
{
    struct veil_kbs_ca ca = {NULL, NULL};
    struct veil_kbs_ca back = {NULL, NULL};
    char dir[] = "/tmp/veil-ca-XXXXXX";
    char cert_path[64];
    char key_path[64];
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(cert_path, sizeof(cert_path), "%s/ca.pem", dir);
    (void)snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);
    EXPECT_OK(veil_kbs_ca_create("test CA", 86400, &ca));
    f = fopen(cert_path, "w");
    assert_true(f != NULL && PEM_write_X509(f, ca.cert) == 1);
    (void)fclose(f);
    f = fopen(key_path, "w");
    assert_true(f != NULL && PEM_write_PrivateKey(f, ca.key, NULL, NULL, 0, NULL, NULL) == 1);
    (void)fclose(f);
    assert_int_equal(chmod(key_path, 0600), 0);
    EXPECT_OK(veil_kbs_ca_load(cert_path, key_path, &back));
    EXPECT_TRUE(X509_cmp(back.cert, ca.cert) == 0);
    veil_kbs_ca_free(&back);
    /* a key that is not the certificate's */
    veil_kbs_ca_free(&ca);
    EXPECT_OK(veil_kbs_ca_create("other", 86400, &ca));
    f = fopen(key_path, "w");
    assert_true(f != NULL && PEM_write_PrivateKey(f, ca.key, NULL, NULL, 0, NULL, NULL) == 1);
    (void)fclose(f);
    EXPECT_ERR(veil_kbs_ca_load(cert_path, key_path, &back), VEIL_ERR_PROTO_KEY);
    EXPECT_NULL(back.cert);
    (void)remove(cert_path);
    (void)remove(key_path);
    (void)rmdir(dir);
    veil_kbs_ca_free(&ca);
}

static void test_response(void **state)
{
    static const char good[] =
        "{\"certificate-chain\":\"-----BEGIN CERTIFICATE-----\\nAA==\\n-----END "
        "CERTIFICATE-----\\n\",\"not-after\":1}";
    static const char *const bad[] = {
        "{}",
        "{\"certificate-chain\":\"no pem\",\"not-after\":1}",
        "{\"certificate-chain\":\"-----BEGIN CERTIFICATE-----\"}",
        "{\"certificate-chain\":\"-----BEGIN CERTIFICATE-----\",\"not-after\":1,\"x\":2}",
        "{\"certificate-chain\":1,\"not-after\":1}",
        "not json",
    };
    struct veil_wr pem;

    (void)state;
    veil_wr_init(&pem, VEIL_KBS_CERT_CHAIN_SIZE_MAX);
    EXPECT_OK(veil_kbs_cert_response_parse((const uint8_t *)good, strlen(good), &pem));
    EXPECT_TRUE(pem.len > 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        veil_wr_reset(&pem);
        if (veil_ok(veil_kbs_cert_response_parse((const uint8_t *)bad[i], strlen(bad[i]), &pem))) {
            fail_msg("accepted %s", bad[i]);
        }
    }
    veil_wr_free(&pem);
}

VEIL_TEST_MAIN(test_request_round_trip, test_request_refusals, test_request_too_large,
               test_csr_good, test_csr_refusals, test_issue, test_ca_load, test_response)
