/*
 * The key-encryption key: 32 random bytes in a 0600 file, read into locked memory and wiped when
 * the store closes. (A PKCS#11 token can take this file's place behind the same two functions.)
 */
#include <openssl/rand.h>

#include "base/file.h"
#include "crypto/crypto.h"
#include "store/store_int.h"

veil_result veil_store_kek_create(const char *path)
{
    struct veil_secret *kek = NULL;
    veil_result r;

    ENSURE(path != NULL, VEIL_ERR_USAGE);
    GUARD(veil_secret_new(VEIL_AES256_KEY_SIZE, &kek));
    if (RAND_priv_bytes(kek->data, VEIL_AES256_KEY_SIZE) != 1) {
        veil_ossl_drain(__func__);
        r = veil_result_of(VEIL_ERR_INTERNAL_OSSL);
        goto out_free;
    }
    /* Atomic (temp file + fsync + rename), mode 0600, never replaces an existing KEK. */
    r = veil_file_write_atomic(path, kek->data, VEIL_AES256_KEY_SIZE, 0600, 0);
out_free:
    veil_secret_free(kek);
    return r;
}

veil_result store_kek_load(const char *path, struct veil_secret **out)
{
    /* Exactly 32 bytes, a regular file, no group or other access (VEIL_ERR_IO_PERMISSIONS). */
    return veil_file_read_secret(path, VEIL_AES256_KEY_SIZE, out);
}
