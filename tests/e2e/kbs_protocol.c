/*
 * The key broker protocol against a running veil-kbs, played by a client that misbehaves on
 * purpose: every refusal the issue names gets its status code, and the broker keeps serving.
 *   kbs_protocol URL CACERT SIMDIR
 * (started by tests/e2e/test_kbs_protocol.sh, which sets up the broker and the sim platform).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "attest/sim.h"
#include "base/buf.h"
#include "jose/jose.h"
#include "kbs/proto.h"

static const char *url;
static const char *cacert;
static struct veil_sim_platform plat;
static int failures;

#define CHECK(cond, ...)               \
    do {                               \
        if (cond) {                    \
            (void)printf("ok - ");     \
        } else {                       \
            (void)printf("not ok - "); \
            failures++;                \
        }                              \
        (void)printf(__VA_ARGS__);     \
        (void)printf("\n");            \
    } while (0)

struct client {
    CURL *c;
    struct veil_wr body;
    long status;
    EVP_PKEY *eph;
    char nonce[128];
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return veil_ok(veil_wr_bytes(ud, p, size * n)) ? size * n : 0;
}

static void client_init(struct client *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->c = curl_easy_init();
    veil_wr_init(&cl->body, 1 << 20);
    curl_easy_setopt(cl->c, CURLOPT_CAINFO, cacert);
    curl_easy_setopt(cl->c, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
    cl->eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static void client_free(struct client *cl)
{
    curl_easy_cleanup(cl->c);
    veil_wr_free(&cl->body);
    EVP_PKEY_free(cl->eph);
}

/* POST (body != NULL) or GET path; content_type NULL means application/json. */
static long send_req(struct client *cl, const char *path, const void *body, size_t n,
                     const char *content_type, const char *bearer)
{
    char u[512];
    char ct[128];
    char auth[4096];
    struct curl_slist *h = NULL;

    veil_wr_reset(&cl->body);
    (void)snprintf(u, sizeof(u), "%s%s", url, path);
    curl_easy_setopt(cl->c, CURLOPT_URL, u);
    if (body != NULL) {
        (void)snprintf(ct, sizeof(ct), "Content-Type: %s",
                       content_type != NULL ? content_type : "application/json");
        h = curl_slist_append(h, ct);
        curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(cl->c, CURLOPT_POSTFIELDSIZE, (long)n);
    } else {
        curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
    }
    if (bearer != NULL) {
        (void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, h);
    cl->status = curl_easy_perform(cl->c) == CURLE_OK ? 0 : -1;
    if (cl->status == 0) {
        curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &cl->status);
    }
    curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return cl->status;
}

static const char *body_text(struct client *cl)
{
    const char *s = "";

    return veil_ok(veil_wr_cstr(&cl->body, &s)) ? s : "";
}

static long auth(struct client *cl)
{
    static const char req[] = "{\"version\":\"0.1.0\",\"tee\":\"veil-sim\",\"extra-params\":\"\"}";

    if (send_req(cl, "/kbs/v0/auth", req, strlen(req), NULL, NULL) == 200) {
        (void)veil_ok(
            veil_kbs_challenge_parse(cl->body.data, cl->body.len, cl->nonce, sizeof(cl->nonce)));
    }
    return cl->status;
}

enum twist { NONE, ZERO_REPORT_DATA, SWAP_KEY, OFF_CURVE, TRUNCATE };

/* An Attestation body for this client's nonce and key, with an optional twist. */
static void attestation(struct client *cl, enum twist t, struct veil_wr *out)
{
    json_t *jwk = NULL;
    json_t *rd = NULL;
    json_t *rd_sent = NULL;
    uint8_t report_data[64] = {0};
    struct veil_sim_guest g = {0};
    struct veil_wr ev;

    VEIL_ASSERT(veil_ok(veil_jwk_to_json(cl->eph, &jwk)));
    if (t == OFF_CURVE) {
        json_object_set_new(jwk, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
    }
    VEIL_ASSERT(veil_ok(veil_kbs_runtime_data_build(cl->nonce, jwk, &rd)));
    if (t != ZERO_REPORT_DATA) {
        VEIL_ASSERT(veil_ok(veil_kbs_runtime_data_hash(rd, report_data)));
    }
    veil_wr_init(&ev, 1 << 16);
    VEIL_ASSERT(veil_ok(veil_sim_attest(&plat, &g, report_data, &ev)));
    if (t == TRUNCATE) {
        ev.len -= 100;
    }
    rd_sent = rd;
    if (t == SWAP_KEY) {
        /* The evidence binds one key; the body offers another. */
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        json_t *ojwk = NULL;
        VEIL_ASSERT(veil_ok(veil_jwk_to_json(other, &ojwk)));
        VEIL_ASSERT(veil_ok(veil_kbs_runtime_data_build(cl->nonce, ojwk, &rd_sent)));
        json_decref(ojwk);
        EVP_PKEY_free(other);
    }
    veil_wr_init(out, VEIL_KBS_BODY_SIZE_MAX);
    VEIL_ASSERT(veil_ok(veil_kbs_attestation_build(rd_sent, ev.data, ev.len, out)));
    if (rd_sent != rd) {
        json_decref(rd_sent);
    }
    veil_wr_free(&ev);
    json_decref(rd);
    json_decref(jwk);
}

static long attest(struct client *cl, enum twist t)
{
    struct veil_wr body;

    attestation(cl, t, &body);
    (void)send_req(cl, "/kbs/v0/attest", body.data, body.len, NULL, NULL);
    veil_wr_free(&body);
    return cl->status;
}

static bool says(struct client *cl, const char *what)
{
    return strstr(body_text(cl), what) != NULL;
}

static void test_release_and_token(void)
{
    struct client cl;
    struct client fresh;
    struct veil_wr secret;
    json_t *jwe;
    json_t *tok;
    char token[8192] = "";

    client_init(&cl);
    CHECK(send_req(&cl, "/kbs/v0/resource/models/ocr/key", NULL, 0, NULL, NULL) == 401,
          "resource before attestation: 401 (%ld)", cl.status);
    CHECK(auth(&cl) == 200 && cl.nonce[0] != '\0', "auth: 200 with a nonce");
    CHECK(attest(&cl, NONE) == 200, "attest: 200 (%ld %s)", cl.status, body_text(&cl));
    tok = json_loadb((const char *)cl.body.data, cl.body.len, 0, NULL);
    (void)snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(tok, "token")));
    json_decref(tok);
    CHECK(strlen(token) > 100, "attest answers a token");
    CHECK(send_req(&cl, "/kbs/v0/resource/models/ocr/key", NULL, 0, NULL, NULL) == 200,
          "resource by cookie: 200 (%ld %s)", cl.status, body_text(&cl));
    jwe = json_loadb((const char *)cl.body.data, cl.body.len, 0, NULL);
    veil_wr_init_secret(&secret, 4096);
    CHECK(jwe != NULL && veil_ok(veil_jwe_decrypt(cl.eph, jwe, &secret)) && secret.len == 32,
          "the JWE opens with the bound key and holds the 32-byte model key");
    json_decref(jwe);
    veil_wr_free(&secret);
    /* a second fetch in the session: the broker imports the session's JWK again (it let go of
     * the key it imported at attestation after the first) and encrypts to the same key */
    CHECK(send_req(&cl, "/kbs/v0/resource/models/ocr/key", NULL, 0, NULL, NULL) == 200,
          "resource by cookie again: 200 (%ld %s)", cl.status, body_text(&cl));
    jwe = json_loadb((const char *)cl.body.data, cl.body.len, 0, NULL);
    veil_wr_init_secret(&secret, 4096);
    CHECK(jwe != NULL && veil_ok(veil_jwe_decrypt(cl.eph, jwe, &secret)) && secret.len == 32,
          "the second JWE opens with the bound key too");
    json_decref(jwe);
    veil_wr_free(&secret);
    CHECK(send_req(&cl, "/kbs/v0/resource/models/none/key", NULL, 0, NULL, NULL) == 404,
          "unknown resource: 404 (%ld)", cl.status);
    CHECK(send_req(&cl, "/kbs/v0/resource/models/secret/key", NULL, 0, NULL, NULL) == 403 &&
              says(&cl, "sim.debug equals true"),
          "resource whose policy refuses: 403 naming the condition (%s)", body_text(&cl));
    CHECK(send_req(&cl, "/kbs/v0/resource/../x/y", NULL, 0, NULL, NULL) == 404,
          "malformed resource path: 404");
    client_init(&fresh);
    CHECK(send_req(&fresh, "/kbs/v0/resource/models/ocr/key", NULL, 0, NULL, token) == 200,
          "resource by bearer token, no cookie: 200 (%ld)", fresh.status);
    token[strlen(token) - 5] ^= 1;
    CHECK(send_req(&fresh, "/kbs/v0/resource/models/ocr/key", NULL, 0, NULL, token) == 401,
          "tampered bearer token: 401 (%ld)", fresh.status);
    client_free(&fresh);
    client_free(&cl);
}

static void test_refusals(void)
{
    struct client cl;
    struct veil_wr body;

    client_init(&cl);
    auth(&cl);
    attestation(&cl, NONE, &body);
    CHECK(send_req(&cl, "/kbs/v0/attest", body.data, body.len, NULL, NULL) == 200,
          "first answer to a challenge: 200");
    CHECK(send_req(&cl, "/kbs/v0/attest", body.data, body.len, NULL, NULL) == 401 &&
              says(&cl, "NonceReplayed"),
          "the same answer again: 401 NonceReplayed (%ld %s)", cl.status, body_text(&cl));
    veil_wr_free(&body);

    auth(&cl);
    CHECK(attest(&cl, ZERO_REPORT_DATA) == 401 && says(&cl, "sim.report_data"),
          "evidence whose report data does not bind the runtime data: 401 (%s)", body_text(&cl));
    auth(&cl);
    CHECK(attest(&cl, SWAP_KEY) == 401 && says(&cl, "sim.report_data"),
          "a tee-pubkey other than the one the evidence binds: 401 (%s)", body_text(&cl));
    auth(&cl);
    CHECK(attest(&cl, OFF_CURVE) == 400 && says(&cl, "InvalidTeePubkey"),
          "a JWK whose point is off the curve: 400 (%ld %s)", cl.status, body_text(&cl));
    auth(&cl);
    CHECK(attest(&cl, TRUNCATE) == 401 && says(&cl, "sim.parse"),
          "truncated evidence: 401 (%ld %s)", cl.status, body_text(&cl));
    auth(&cl);
    (void)sleep(3); /* the test broker's nonce_ttl_s is 2 */
    CHECK(attest(&cl, NONE) == 401 && says(&cl, "NonceExpired"),
          "an answer after the nonce's deadline: 401 (%ld %s)", cl.status, body_text(&cl));
    client_free(&cl);
}

static void test_bad_input(void)
{
    static const char ok_req[] = "{\"version\":\"0.1.0\",\"tee\":\"veil-sim\"}";
    static const char *const bad[] = {
        "{\"version\":\"0.1.0\",\"tee\":", "{\"version\":\"0.1.0\",\"tee\":\"veil-sim\",\"x\":1}",
        "{\"version\":\"9\",\"tee\":\"veil-sim\"}", "[]", ""};
    struct client cl;
    char *big;

    client_init(&cl);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(send_req(&cl, "/kbs/v0/auth", bad[i], strlen(bad[i]), NULL, NULL) == 400,
              "malformed Request %zu: 400 (%ld %s)", i, cl.status, body_text(&cl));
    }
    CHECK(send_req(&cl, "/kbs/v0/auth", ok_req, strlen(ok_req), "text/plain", NULL) == 415,
          "wrong content type: 415 (%ld)", cl.status);
    big = malloc(300000);
    memset(big, ' ', 300000);
    CHECK(send_req(&cl, "/kbs/v0/auth", big, 300000, NULL, NULL) == 413,
          "oversized body: 413 (%ld)", cl.status);
    free(big);
    CHECK(send_req(&cl, "/kbs/v0/attest", "{}", 2, NULL, NULL) == 401,
          "attest without a session: 401 (%ld)", cl.status);
    auth(&cl);
    CHECK(send_req(&cl, "/kbs/v0/attest", "{\"runtime-data\":7}", 17, NULL, NULL) == 400,
          "malformed Attestation: 400 (%ld)", cl.status);
    CHECK(send_req(&cl, "/nowhere", NULL, 0, NULL, NULL) == 404, "unknown endpoint: 404");
    CHECK(send_req(&cl, "/metrics", NULL, 0, NULL, NULL) == 200 &&
              says(&cl, "veil_kbs_releases_total{decision=\"allow\"}"),
          "the broker still serves after all that: /metrics 200");
    client_free(&cl);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        (void)fprintf(stderr, "usage: kbs_protocol URL CACERT SIMDIR\n");
        return 2;
    }
    url = argv[1];
    cacert = argv[2];
    if (!veil_ok(veil_sim_platform_load(argv[3], &plat))) {
        (void)fprintf(stderr, "cannot load the sim platform\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_release_and_token();
    test_refusals();
    test_bad_input();
    veil_sim_platform_free(&plat);
    curl_global_cleanup();
    (void)printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
