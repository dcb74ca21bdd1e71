/*
 * Fuzz target: the whole open path (veil_model_open_memory) on hostile files.
 *
 * A fuzzer cannot forge the provider signature, so without help it would never get past it.
 * When the input parses, this target plays the provider: it recomputes the key commitment for
 * the fixed model key, re-encodes the header and re-signs the manifest with the fixed fuzzing
 * key, so that mutated sizes, counts and chunks reach the chunk pipeline. Inputs that do not
 * parse go in unchanged. Seeds in corpus/model_open/ are files sealed with these keys.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "model/format.h"
#include "veil_fuzz.h"
#include <veil/model.h>

/* Test-only keys; they protect nothing. */
static const char fuzz_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIEw9y/haHzHGUHgvvf9Qvjybc/kzo8Tw+mx31rA9reCD\n"
    "-----END PRIVATE KEY-----\n";
static const char fuzz_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAxtsvJYjGCordNypuoYuyW6nZeNAhCsYXjQ4F7t1Vm00=\n"
    "-----END PUBLIC KEY-----\n";
static const uint8_t fuzz_model_key[32] = {
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};

#define DST_SIZE (256u << 10)

static EVP_PKEY *signer(void)
{
    static EVP_PKEY *key;

    if (key == NULL) {
        BIO *bio = BIO_new_mem_buf(fuzz_private_pem, -1);
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        VEIL_ASSERT(key != NULL);
    }
    return key;
}

/* Rewrites the header in place (same length) so that key commitment and signature are valid. */
static void provider_resign(uint8_t *data, size_t size)
{
    struct veil_model_header h;
    uint8_t data_key[32];
    struct veil_wr w;
    struct veil_wr tbs;
    uint8_t tbs_buf[VEIL_MODEL_HEADER_SIZE_MAX + 64];

    if (!veil_ok(veil_model_header_parse(data, size, &h)) || h.sig_alg != VEIL_SIG_ED25519) {
        return;
    }
    VEIL_ASSERT(veil_ok(veil_model_derive(fuzz_model_key, h.salt, data_key, h.key_commitment)));
    VEIL_ASSERT(veil_ok(veil_sign_key_id(signer(), h.signer_key_id)));
    veil_wr_init_fixed(&w, data, h.manifest_size);
    VEIL_ASSERT(veil_ok(veil_model_header_encode(&h, &w)));
    veil_wr_init_fixed(&tbs, tbs_buf, sizeof(tbs_buf));
    VEIL_ASSERT(veil_ok(veil_model_signed_bytes(data, h.manifest_size, &tbs)));
    VEIL_ASSERT(veil_ok(veil_sign(signer(), tbs.data, tbs.len, data + h.manifest_size + 2, 64)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *dst;
    uint8_t *copy;
    int fd;

    if (dst == NULL) {
        dst = malloc(DST_SIZE);
        VEIL_ASSERT(dst != NULL);
    }
    copy = malloc(size > 0 ? size : 1);
    VEIL_ASSERT(copy != NULL);
    if (size > 0) {
        memcpy(copy, data, size);
    }
    provider_resign(copy, size);
    fd = memfd_create("sealed", MFD_CLOEXEC);
    VEIL_ASSERT(fd >= 0);
    VEIL_ASSERT(write(fd, copy, size) == (ssize_t)size);
    VEIL_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
    (void)veil_model_open_memory(fd, dst, DST_SIZE, fuzz_model_key,
                                 (const uint8_t *)fuzz_public_pem, sizeof(fuzz_public_pem) - 1,
                                 NULL, NULL);
    (void)close(fd);
    free(copy);
    return 0;
}
