#include "base/encoding.h"
#include "crypto/crypto.h"
#include "veil_test.h"

/* NIST GCM test vector (gcmEncryptExtIV256.rsp, Count 0 of [Keylen=256, PTlen=128, AADlen=128]):
 * taken from the McGrew-Viega GCM spec test case 16 (AES-256, 60-byte plaintext, 20-byte AAD). */
static const char key_hex[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char iv_hex[] = "cafebabefacedbaddecaf888";
static const char pt_hex[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449"
    "a6b525b16aedf5aa0de657ba637b39";
static const char aad_hex[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char ct_hex[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056"
    "828838c5f61e6393ba7a0abcc9f662";
static const char tag_hex[] = "76fc6ece0f4e1768cddf8853bb2d551b";

struct vec {
    uint8_t key[32], iv[12], pt[64], aad[32], ct[64], tag[16];
    size_t pt_n, aad_n;
};

static void load(struct vec *v)
{
    size_t n;

    EXPECT_OK(veil_hex_decode(key_hex, strlen(key_hex), v->key, 32, &n));
    EXPECT_OK(veil_hex_decode(iv_hex, strlen(iv_hex), v->iv, 12, &n));
    EXPECT_OK(veil_hex_decode(pt_hex, strlen(pt_hex), v->pt, 64, &v->pt_n));
    EXPECT_OK(veil_hex_decode(aad_hex, strlen(aad_hex), v->aad, 32, &v->aad_n));
    EXPECT_OK(veil_hex_decode(ct_hex, strlen(ct_hex), v->ct, 64, &n));
    EXPECT_OK(veil_hex_decode(tag_hex, strlen(tag_hex), v->tag, 16, &n));
}

static void test_known_answer(void **state)
{
    struct vec v;
    struct veil_gcm enc;
    struct veil_gcm dec;
    uint8_t out[64];
    uint8_t tag[16];

    (void)state;
    load(&v);
    EXPECT_OK(veil_gcm_init(&enc, v.key, 1));
    EXPECT_OK(veil_gcm_seal(&enc, v.iv, v.aad, v.aad_n, v.pt, v.pt_n, out, tag));
    EXPECT_BYTES_EQ(out, v.ct, v.pt_n);
    EXPECT_BYTES_EQ(tag, v.tag, 16);
    EXPECT_OK(veil_gcm_init(&dec, v.key, 0));
    EXPECT_OK(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag));
    EXPECT_BYTES_EQ(out, v.pt, v.pt_n);
    /* The same context is reusable with a fresh nonce (as the chunk workers do). */
    EXPECT_OK(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag));
    veil_gcm_free(&enc);
    veil_gcm_free(&dec);
}

static void test_any_change_is_refused(void **state)
{
    struct vec v;
    struct veil_gcm dec;
    uint8_t out[64];

    (void)state;
    load(&v);
    EXPECT_OK(veil_gcm_init(&dec, v.key, 0));
    v.tag[15] ^= 1;
    EXPECT_ERR(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag),
               VEIL_ERR_CRYPTO);
    v.tag[15] ^= 1;
    v.ct[0] ^= 1;
    EXPECT_ERR(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag),
               VEIL_ERR_CRYPTO);
    v.ct[0] ^= 1;
    v.aad[3] ^= 1;
    EXPECT_ERR(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag),
               VEIL_ERR_CRYPTO);
    v.aad[3] ^= 1;
    v.iv[11] ^= 1; /* the STREAM last-chunk flag lives here */
    EXPECT_ERR(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag),
               VEIL_ERR_CRYPTO);
    v.iv[11] ^= 1;
    EXPECT_OK(veil_gcm_open(&dec, v.iv, v.aad, v.aad_n, v.ct, v.pt_n, out, v.tag));
    veil_gcm_free(&dec);
}

VEIL_TEST_MAIN(test_known_answer, test_any_change_is_refused)
