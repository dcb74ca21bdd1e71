/*
 * struct veil_secret: key material in locked memory (include/veil/secret.h for the mechanism).
 * It has no print function; compare with CRYPTO_memcmp only.
 */
#ifndef VEIL_BASE_SECRET_H
#define VEIL_BASE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include <veil/secret.h>

struct veil_secret {
    uint8_t *data;
    size_t size;
};

VEIL_RESULT veil_secret_new(size_t size, struct veil_secret **out);
/* Wipes, unlocks and frees; NULL is fine. */
void veil_secret_free(struct veil_secret *s);

VEIL_RESULT veil_locked_map(size_t size, void **out);
void veil_locked_unmap(void *p, size_t size);

#endif
