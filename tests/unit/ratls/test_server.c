/* The server context and the simulated-TEE attester. */
#include "ratls_test.h"

static void test_server_ctx(void **state)
{
    struct ratls_fixture f;
    EVP_PKEY *key = NULL;
    EVP_PKEY *other = NULL;
    X509 *cert = NULL;
    SSL_CTX *ctx = NULL;

    (void)state;
    ratls_fixture_init(&f);
    key = ratls_key();
    other = ratls_key();
    cert = ratls_cert(&f.trusted, &f.guest, key);
    EXPECT_OK(veil_ratls_server_ctx(cert, key, &ctx));
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
    SSL_CTX_free(ctx);
    ctx = NULL;
    /* a key that is not the certificate's */
    EXPECT_ERR(veil_ratls_server_ctx(cert, other, &ctx), VEIL_ERR_INTERNAL_OSSL);
    EXPECT_NULL(ctx);
    X509_free(cert);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    ratls_fixture_free(&f);
}

static void test_sim_attester(void **state)
{
    struct ratls_fixture f;
    struct veil_sim_attester_ctx ctx;
    struct veil_sim_attester_ctx empty = {NULL, NULL};
    struct veil_sim_evidence e;
    struct veil_wr ev;
    uint8_t rd[64];

    (void)state;
    ratls_fixture_init(&f);
    ctx.platform = &f.trusted;
    ctx.guest = &f.guest;
    memset(rd, 7, sizeof(rd));
    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    EXPECT_OK(veil_sim_attester(&ctx, rd, &ev));
    EXPECT_OK(veil_sim_evidence_parse(ev.data, ev.len, &e));
    EXPECT_BYTES_EQ(e.report.report_data, rd, 64);
    EXPECT_BYTES_EQ(e.report.measurement, f.guest.measurement, 48);
    EXPECT_ERR(veil_sim_attester(&empty, rd, &ev), VEIL_ERR_USAGE);
    EXPECT_ERR(veil_sim_attester(NULL, rd, &ev), VEIL_ERR_USAGE);
    veil_wr_free(&ev);
    ratls_fixture_free(&f);
}

VEIL_TEST_MAIN(test_server_ctx, test_sim_attester)
