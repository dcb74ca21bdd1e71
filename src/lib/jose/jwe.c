/*
 * JWE flattened JSON serialization (RFC 7516), one recipient, as the KBS protocol sends
 * resources: {"protected","encrypted_key","iv","ciphertext","tag"}.
 *   EC recipient (P-256, P-384): ECDH-ES+A256KW. An ephemeral key on the recipient's curve,
 *     ECDH, Concat KDF (RFC 7518 4.6.2) to a 256-bit KEK, AES key wrap (RFC 3394) of the CEK.
 *   RSA recipient: RSA-OAEP-256 (OAEP, SHA-256, MGF1-SHA-256) of the CEK.
 *   Content: A256GCM, 96-bit random IV, AAD = the ASCII of the base64url protected header.
 * The CEK, the shared secret and the KEK live in stack arrays wiped before every return.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "jose/internal.h"

#define CEK_SIZE     VEIL_AES256_KEY_SIZE
#define KW_SIZE      (CEK_SIZE + 8) /* RFC 3394 adds one 64-bit block */
#define IV_SIZE      VEIL_GCM_NONCE_SIZE
#define TAG_SIZE     VEIL_GCM_TAG_SIZE
#define EK_SIZE_MAX  VEIL_JOSE_RSA_SIZE_MAX
#define ALG_ECDH_KW  "ECDH-ES+A256KW"
#define ALG_RSA_OAEP "RSA-OAEP-256"
#define ENC_A256GCM  "A256GCM"

veil_result veil_jose_concat_kdf(const uint8_t *z, size_t z_size, const char *alg_id,
                                 const uint8_t *apu, size_t apu_size, const uint8_t *apv,
                                 size_t apv_size, uint8_t *out, size_t out_size)
{
    static const uint8_t round1[4] = {0, 0, 0, 1}; /* one round: out_size <= 32 */
    uint8_t alg_len[4];
    uint8_t apu_len[4];
    uint8_t apv_len[4];
    uint8_t bits[4];
    uint8_t digest[VEIL_SHA256_SIZE];
    unsigned digest_size = 0;
    size_t alg_size = strlen(alg_id);
    EVP_MD_CTX *md;
    int ok;

    ENSURE(out_size > 0 && out_size <= sizeof(digest), VEIL_ERR_USAGE);
    ENSURE(apu_size <= VEIL_JOSE_PARTY_SIZE_MAX && apv_size <= VEIL_JOSE_PARTY_SIZE_MAX,
           VEIL_ERR_PROTO_LIMIT);
    veil_store_u32be(alg_len, (uint32_t)alg_size);
    veil_store_u32be(apu_len, (uint32_t)apu_size);
    veil_store_u32be(apv_len, (uint32_t)apv_size);
    veil_store_u32be(bits, (uint32_t)(out_size * 8));
    md = EVP_MD_CTX_new();
    ENSURE(md != NULL, VEIL_ERR_NOMEM);
    ok = EVP_DigestInit_ex2(md, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(md, round1, sizeof(round1)) == 1 &&
         EVP_DigestUpdate(md, z, z_size) == 1 &&
         EVP_DigestUpdate(md, alg_len, sizeof(alg_len)) == 1 &&
         EVP_DigestUpdate(md, alg_id, alg_size) == 1 &&
         EVP_DigestUpdate(md, apu_len, sizeof(apu_len)) == 1 &&
         (apu_size == 0 || EVP_DigestUpdate(md, apu, apu_size) == 1) &&
         EVP_DigestUpdate(md, apv_len, sizeof(apv_len)) == 1 &&
         (apv_size == 0 || EVP_DigestUpdate(md, apv, apv_size) == 1) &&
         EVP_DigestUpdate(md, bits, sizeof(bits)) == 1 &&
         EVP_DigestFinal_ex(md, digest, &digest_size) == 1 && digest_size == sizeof(digest);
    EVP_MD_CTX_free(md); /* wipes the digest state */
    if (ok) {
        memcpy(out, digest, out_size);
    }
    OPENSSL_cleanse(digest, sizeof(digest));
    ENSURE(ok, VEIL_ERR_INTERNAL_OSSL);
    return VEIL_RESULT_OK;
}

/* ECDH: z_size bytes of shared secret between priv and peer (whose key OpenSSL validates). */
static VEIL_RESULT ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t z_size)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t len = z_size;
    int ok;

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    ok = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) == 1 &&
         EVP_PKEY_derive(ctx, z, &len) == 1 && len == z_size;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(z, z_size);
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_CRYPTO_KEY);
    }
    return VEIL_RESULT_OK;
}

/* ECDH then Concat KDF with AlgorithmID "ECDH-ES+A256KW"'s key algorithm, "A256KW". */
static VEIL_RESULT ecdh_kek(EVP_PKEY *priv, EVP_PKEY *peer, enum veil_jose_kind kind,
                            const uint8_t *apu, size_t apu_size, const uint8_t *apv,
                            size_t apv_size, uint8_t kek[CEK_SIZE])
{
    uint8_t z[VEIL_JOSE_EC_SIZE_MAX];
    size_t z_size = veil_jose_ec_size(kind);
    veil_result r;

    ENSURE(z_size > 0 && z_size <= sizeof(z), VEIL_ERR_INTERNAL);
    GUARD(ecdh(priv, peer, z, z_size));
    r = veil_jose_concat_kdf(z, z_size, "A256KW", apu, apu_size, apv, apv_size, kek, CEK_SIZE);
    OPENSSL_cleanse(z, sizeof(z));
    return r;
}

/* RFC 3394 AES-256 key wrap of the 32-byte CEK (wrap: in 32 -> out 40; unwrap: 40 -> 32).
 * A failed unwrap integrity check is VEIL_ERR_JWE_DECRYPT. */
static VEIL_RESULT aes_kw(const uint8_t kek[CEK_SIZE], int wrap, const uint8_t *in, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int in_size = wrap ? CEK_SIZE : KW_SIZE;
    int want = wrap ? KW_SIZE : CEK_SIZE;
    int len = 0;
    int fin = 0;
    int ok;

    ENSURE(c != NULL, VEIL_ERR_NOMEM);
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_CipherInit_ex2(c, EVP_aes_256_wrap(), kek, NULL, wrap, NULL) == 1 &&
         EVP_CipherUpdate(c, out, &len, in, in_size) == 1 && len == want &&
         EVP_CipherFinal_ex(c, out + len, &fin) == 1 && fin == 0;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, (size_t)want);
        veil_ossl_drain(__func__);
        BAIL(wrap ? VEIL_ERR_INTERNAL_OSSL : VEIL_ERR_JWE_DECRYPT);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT oaep_ctx(EVP_PKEY *key, int encrypt, EVP_PKEY_CTX **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok;

    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    ok = (encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", NULL) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", NULL) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    *out = ctx;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT oaep_encrypt(EVP_PKEY *key, const uint8_t cek[CEK_SIZE], uint8_t *ek,
                                size_t *ek_size)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = EK_SIZE_MAX;
    int ok;

    GUARD(oaep_ctx(key, 1, &ctx));
    ok = EVP_PKEY_encrypt(ctx, ek, &len, cek, CEK_SIZE) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        veil_ossl_drain(__func__);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    *ek_size = len;
    return VEIL_RESULT_OK;
}

/* RFC 7516 section 11.5: a malformed encrypted key must not be told apart from a bad tag, so a
 * failed OAEP decryption silently yields a random CEK and the GCM tag check fails later. */
static VEIL_RESULT oaep_decrypt(EVP_PKEY *key, const uint8_t *ek, size_t ek_size,
                                uint8_t cek[CEK_SIZE])
{
    uint8_t buf[EK_SIZE_MAX];
    uint8_t fake[CEK_SIZE];
    size_t len = sizeof(buf);
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t good;

    GUARD(oaep_ctx(key, 0, &ctx));
    if (RAND_priv_bytes(fake, sizeof(fake)) != 1) {
        EVP_PKEY_CTX_free(ctx);
        BAIL(VEIL_ERR_INTERNAL_OSSL);
    }
    good = (uint8_t)(EVP_PKEY_decrypt(ctx, buf, &len, ek, ek_size) == 1);
    good &= (uint8_t)(len == CEK_SIZE);
    EVP_PKEY_CTX_free(ctx);
    veil_ossl_drain(__func__);
    good = (uint8_t)(0u - good); /* 0xff or 0 */
    for (size_t i = 0; i < CEK_SIZE; i++) {
        cek[i] = (uint8_t)((buf[i] & good) | (fake[i] & (uint8_t)~good));
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(fake, sizeof(fake));
    return VEIL_RESULT_OK;
}

/* ---- encrypt */

static VEIL_RESULT set_new(json_t *o, const char *name, json_t *v)
{
    ENSURE(v != NULL, VEIL_ERR_NOMEM);
    ENSURE(json_object_set_new(o, name, v) == 0, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
    json_t *s = NULL;

    GUARD(veil_jose_b64_json(p, n, &s));
    return set_new(o, name, s);
}

/* The header and wrapped CEK for one recipient. */
static VEIL_RESULT wrap_cek(EVP_PKEY *recipient, enum veil_jose_kind kind,
                            const uint8_t cek[CEK_SIZE], json_t *header, uint8_t *ek,
                            size_t *ek_size)
{
    uint8_t kek[CEK_SIZE];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *eph = NULL;
    json_t *epk = NULL;
    veil_result r;

    if (kind == VEIL_JOSE_RSA) {
        GUARD(set_new(header, "alg", json_string(ALG_RSA_OAEP)));
        GUARD(set_new(header, "enc", json_string(ENC_A256GCM)));
        return oaep_encrypt(recipient, cek, ek, ek_size);
    }
    GUARD(set_new(header, "alg", json_string(ALG_ECDH_KW)));
    GUARD(set_new(header, "enc", json_string(ENC_A256GCM)));
    /* The ephemeral key takes its group from the recipient's key. */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, recipient, NULL);
    ENSURE(ctx != NULL, VEIL_ERR_NOMEM);
    r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &eph) != 1) {
        veil_ossl_drain(__func__);
        goto out_eph;
    }
    r = veil_jwk_to_json(eph, &epk);
    if (!veil_ok(r)) {
        goto out_eph;
    }
    r = set_new(header, "epk", epk);
    if (!veil_ok(r)) {
        goto out_eph;
    }
    r = ecdh_kek(eph, recipient, kind, NULL, 0, NULL, 0, kek);
    if (!veil_ok(r)) {
        goto out_eph;
    }
    r = aes_kw(kek, 1, cek, ek);
    *ek_size = KW_SIZE;
out_eph:
    OPENSSL_cleanse(kek, sizeof(kek));
    EVP_PKEY_free(eph);
    EVP_PKEY_CTX_free(ctx);
    return r;
}

/* GCM over the plaintext, then the five members. */
static VEIL_RESULT seal_content(const uint8_t cek[CEK_SIZE], const char *protected_b64,
                                const uint8_t *plaintext, size_t n, json_t *jwe)
{
    uint8_t iv[IV_SIZE];
    uint8_t tag[TAG_SIZE];
    uint8_t *ct = malloc(n > 0 ? n : 1);
    struct veil_gcm g = {NULL, 1};
    veil_result r;

    ENSURE(ct != NULL, VEIL_ERR_NOMEM);
    r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
    if (RAND_bytes(iv, sizeof(iv)) != 1) {
        goto out_ct;
    }
    r = veil_gcm_init(&g, cek, 1);
    if (!veil_ok(r)) {
        goto out_ct;
    }
    r = veil_gcm_seal(&g, iv, (const uint8_t *)protected_b64, strlen(protected_b64), plaintext, n,
                      ct, tag);
    veil_gcm_free(&g);
    if (!veil_ok(r)) {
        goto out_ct;
    }
    r = set_b64(jwe, "iv", iv, sizeof(iv));
    if (veil_ok(r)) {
        r = set_b64(jwe, "ciphertext", ct, n);
    }
    if (veil_ok(r)) {
        r = set_b64(jwe, "tag", tag, sizeof(tag));
    }
out_ct:
    free(ct);
    return r;
}

static VEIL_RESULT encrypt_into(EVP_PKEY *recipient, enum veil_jose_kind kind,
                                const uint8_t *plaintext, size_t n, json_t *jwe)
{
    uint8_t cek[CEK_SIZE];
    uint8_t ek[EK_SIZE_MAX];
    size_t ek_size = 0;
    json_t *header = json_object();
    char *text = NULL;
    json_t *protected_b64 = NULL;
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    ENSURE(header != NULL, VEIL_ERR_NOMEM);
    if (RAND_priv_bytes(cek, sizeof(cek)) != 1) {
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        goto out_cek;
    }
    r = wrap_cek(recipient, kind, cek, header, ek, &ek_size);
    if (!veil_ok(r)) {
        goto out_cek;
    }
    text = json_dumps(header, JSON_COMPACT);
    r = veil_result_of(VEIL_ERR_NOMEM);
    if (text == NULL) {
        goto out_cek;
    }
    r = veil_jose_b64_json((const uint8_t *)text, strlen(text), &protected_b64);
    if (!veil_ok(r)) {
        goto out_cek;
    }
    r = set_new(jwe, "protected", protected_b64);
    if (!veil_ok(r)) {
        goto out_cek;
    }
    r = set_b64(jwe, "encrypted_key", ek, ek_size);
    if (!veil_ok(r)) {
        goto out_cek;
    }
    r = seal_content(cek, json_string_value(protected_b64), plaintext, n, jwe);
out_cek:
    OPENSSL_cleanse(cek, sizeof(cek));
    free(text);
    json_decref(header);
    return r;
}

veil_result veil_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *plaintext, size_t n, json_t **out)
{
    enum veil_jose_kind kind;
    json_t *jwe;
    veil_result r;

    ENSURE(out != NULL && (plaintext != NULL || n == 0), VEIL_ERR_USAGE);
    ENSURE(n <= VEIL_JWE_PLAINTEXT_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    GUARD(veil_jose_key_kind(recipient, &kind));
    ENSURE(kind != VEIL_JOSE_ED25519, VEIL_ERR_CRYPTO_KEY); /* a signing-only key */
    jwe = json_object();
    ENSURE(jwe != NULL, VEIL_ERR_NOMEM);
    r = encrypt_into(recipient, kind, plaintext, n, jwe);
    if (!veil_ok(r)) {
        json_decref(jwe);
        return r;
    }
    *out = jwe;
    return VEIL_RESULT_OK;
}

/* ---- decrypt */

enum { H_ALG, H_ENC, H_EPK, H_APU, H_APV, H_KID, H_TYP, H_CTY, H_ZIP, H_CRIT, H_COUNT };
enum { J_PROTECTED, J_EK, J_IV, J_CT, J_TAG, J_COUNT };

struct jwe_in {
    json_t *header; /* owned: the decoded protected header */
    struct veil_jose_member h[H_COUNT];
    struct veil_jose_member j[J_COUNT];
};

static VEIL_RESULT parse_header(struct jwe_in *in, enum veil_jose_kind kind)
{
    struct veil_jose_member h[H_COUNT] = {
        [H_ALG] = {"alg", VEIL_JOSE_STRING, true, 0, NULL},
        [H_ENC] = {"enc", VEIL_JOSE_STRING, true, 0, NULL},
        [H_EPK] = {"epk", VEIL_JOSE_OBJECT, false, 0, NULL},
        [H_APU] = {"apu", VEIL_JOSE_STRING, false, 0, NULL},
        [H_APV] = {"apv", VEIL_JOSE_STRING, false, 0, NULL},
        [H_KID] = {"kid", VEIL_JOSE_STRING, false, 0, NULL},
        [H_TYP] = {"typ", VEIL_JOSE_STRING, false, 0, NULL},
        [H_CTY] = {"cty", VEIL_JOSE_STRING, false, 0, NULL},
        [H_ZIP] = {"zip", VEIL_JOSE_ANY, false, VEIL_ERR_JOSE_ALG, NULL}, /* no compression */
        [H_CRIT] = {"crit", VEIL_JOSE_ANY, false, VEIL_ERR_JOSE_CRIT, NULL},
    };
    uint8_t text[VEIL_JOSE_HEADER_SIZE_MAX];
    size_t len = 0;
    bool ec = kind != VEIL_JOSE_RSA;

    memcpy(in->h, h, sizeof(h));
    GUARD(veil_jose_b64_decode_json(in->j[J_PROTECTED].value, text, sizeof(text), &len));
    GUARD(veil_jose_json_load(text, len, sizeof(text), &in->header));
    GUARD(veil_jose_members(in->header, in->h, H_COUNT));
    ENSURE(veil_jose_str_eq(in->h[H_ENC].value, ENC_A256GCM), VEIL_ERR_JOSE_ALG);
    ENSURE(veil_jose_str_eq(in->h[H_ALG].value, ec ? ALG_ECDH_KW : ALG_RSA_OAEP),
           VEIL_ERR_JOSE_ALG);
    /* epk, apu and apv belong to ECDH-ES alone; epk is required there. */
    ENSURE((in->h[H_EPK].value != NULL) == ec, VEIL_ERR_JOSE_MEMBER);
    ENSURE(ec || (in->h[H_APU].value == NULL && in->h[H_APV].value == NULL), VEIL_ERR_JOSE_MEMBER);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_jwe(const json_t *jwe, enum veil_jose_kind kind, struct jwe_in *in)
{
    struct veil_jose_member j[J_COUNT] = {
        [J_PROTECTED] = {"protected", VEIL_JOSE_STRING, true, 0, NULL},
        [J_EK] = {"encrypted_key", VEIL_JOSE_STRING, true, 0, NULL},
        [J_IV] = {"iv", VEIL_JOSE_STRING, true, 0, NULL},
        [J_CT] = {"ciphertext", VEIL_JOSE_STRING, true, 0, NULL},
        [J_TAG] = {"tag", VEIL_JOSE_STRING, true, 0, NULL},
    };

    memcpy(in->j, j, sizeof(j));
    /* Unprotected headers ("header", "unprotected"), "aad" and "recipients" are refused. */
    GUARD(veil_jose_members(jwe, in->j, J_COUNT));
    ENSURE(json_string_length(in->j[J_CT].value) <= VEIL_JOSE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    return parse_header(in, kind);
}

/* The CEK from the encrypted key: ECDH-ES+A256KW or RSA-OAEP-256. */
static VEIL_RESULT unwrap_cek(EVP_PKEY *recipient, enum veil_jose_kind kind,
                              const struct jwe_in *in, uint8_t cek[CEK_SIZE])
{
    uint8_t ek[EK_SIZE_MAX];
    uint8_t apu[VEIL_JOSE_PARTY_SIZE_MAX];
    uint8_t apv[VEIL_JOSE_PARTY_SIZE_MAX];
    size_t apu_size = 0;
    size_t apv_size = 0;
    uint8_t kek[CEK_SIZE];
    enum veil_jose_kind epk_kind;
    EVP_PKEY *epk = NULL;
    const json_t *ek_json = in->j[J_EK].value;
    veil_result r;

    if (kind == VEIL_JOSE_RSA) {
        size_t ek_size = (size_t)EVP_PKEY_get_size(recipient);
        ENSURE(ek_size <= sizeof(ek), VEIL_ERR_CRYPTO_KEY);
        GUARD(veil_jose_b64_decode_exact(json_string_value(ek_json), json_string_length(ek_json),
                                         ek, ek_size));
        return oaep_decrypt(recipient, ek, ek_size, cek);
    }
    GUARD(veil_jose_b64_decode_exact(json_string_value(ek_json), json_string_length(ek_json), ek,
                                     KW_SIZE));
    if (in->h[H_APU].value != NULL) {
        GUARD(veil_jose_b64_decode_json(in->h[H_APU].value, apu, sizeof(apu), &apu_size));
    }
    if (in->h[H_APV].value != NULL) {
        GUARD(veil_jose_b64_decode_json(in->h[H_APV].value, apv, sizeof(apv), &apv_size));
    }
    /* The ephemeral key: a valid public JWK (on its curve), and on the recipient's curve. */
    GUARD(veil_jwk_from_json(in->h[H_EPK].value, &epk));
    r = veil_jose_key_kind(epk, &epk_kind);
    if (veil_ok(r) && epk_kind != kind) {
        r = veil_result_of(VEIL_ERR_JWE_EPK);
    }
    if (!veil_ok(r)) {
        EVP_PKEY_free(epk);
        return veil_result_of(VEIL_ERR_JWE_EPK);
    }
    r = ecdh_kek(recipient, epk, kind, apu, apu_size, apv, apv_size, kek);
    EVP_PKEY_free(epk);
    if (veil_ok(r)) {
        r = aes_kw(kek, 0, ek, cek);
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    return r;
}

/* Ciphertext decoded into the writer's spare room and decrypted in place; len moves only
 * once the tag has verified, and a failed attempt is wiped. */
static VEIL_RESULT open_content(const uint8_t cek[CEK_SIZE], const struct jwe_in *in,
                                struct veil_wr *plaintext)
{
    const json_t *ct_json = in->j[J_CT].value;
    const json_t *aad = in->j[J_PROTECTED].value;
    size_t ct_b64 = json_string_length(ct_json);
    size_t ct_max = ct_b64 / 4 * 3 + (ct_b64 % 4 > 1 ? ct_b64 % 4 - 1 : 0);
    uint8_t iv[IV_SIZE];
    uint8_t tag[TAG_SIZE];
    uint8_t empty[1] = {0};
    struct veil_gcm g = {NULL, 0};
    uint8_t *dst;
    size_t n = 0;
    veil_result r;

    GUARD(veil_jose_b64_decode_exact(json_string_value(in->j[J_IV].value),
                                     json_string_length(in->j[J_IV].value), iv, sizeof(iv)));
    GUARD(veil_jose_b64_decode_exact(json_string_value(in->j[J_TAG].value),
                                     json_string_length(in->j[J_TAG].value), tag, sizeof(tag)));
    if (ct_max > 0) {
        GUARD(veil_wr_reserve(plaintext, ct_max));
        dst = plaintext->data + plaintext->len;
    } else {
        dst = empty; /* GCM still checks the tag of an empty message */
    }
    r = veil_jose_b64_decode(json_string_value(ct_json), ct_b64, dst, ct_max, &n);
    if (veil_ok(r)) {
        r = veil_gcm_init(&g, cek, 0);
    }
    if (veil_ok(r)) {
        r = veil_gcm_open(&g, iv, (const uint8_t *)json_string_value(aad), json_string_length(aad),
                          dst, n, dst, tag);
        veil_gcm_free(&g);
        if (r.code == VEIL_ERR_CRYPTO) {
            r = veil_result_of(VEIL_ERR_JWE_DECRYPT);
        }
    }
    if (!veil_ok(r)) {
        OPENSSL_cleanse(dst, ct_max);
        return r;
    }
    plaintext->len += n;
    return VEIL_RESULT_OK;
}

veil_result veil_jwe_decrypt(EVP_PKEY *recipient, const json_t *jwe, struct veil_wr *plaintext)
{
    struct jwe_in in;
    uint8_t cek[CEK_SIZE];
    enum veil_jose_kind kind;
    veil_result r;

    ENSURE(plaintext != NULL && plaintext->secret, VEIL_ERR_USAGE);
    GUARD(veil_jose_key_kind(recipient, &kind));
    ENSURE(kind != VEIL_JOSE_ED25519, VEIL_ERR_CRYPTO_KEY);
    memset(&in, 0, sizeof(in));
    r = parse_jwe(jwe, kind, &in);
    if (!veil_ok(r)) {
        goto out_header;
    }
    r = unwrap_cek(recipient, kind, &in, cek);
    if (!veil_ok(r)) {
        goto out_header;
    }
    r = open_content(cek, &in, plaintext);
out_header:
    OPENSSL_cleanse(cek, sizeof(cek));
    json_decref(in.header);
    return r;
}
