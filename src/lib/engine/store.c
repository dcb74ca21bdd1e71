/*
 * The model's stores: memory handed out in blocks from chunks and freed at once, wiped (struct
 * veil_store, graph.h). Two backings, the same bump allocation:
 *   heap (mapped = false): chunks from malloc, each at least STORE_CHUNK_MIN and growing with what
 *     the store holds (up to STORE_CHUNK_MAX): what loading keeps for the model's life (names,
 *     attributes, index arrays);
 *   mapped (mapped = true): chunks of STORE_MAP_CHUNK bytes from anonymous mappings, unmapped at
 *     once when the store is freed: protobuf-c's small blocks while a model is parsed (model.c),
 *     so that the parse's thousands of blocks, freed after the build, leave no holes among what
 *     the graphs keep on the heap (Silero VAD served: ~0.5 MB of partly used heap pages that
 *     malloc_trim could not return, docs/ENGINE.models.md "Fifth round").
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "engine/graph.h"

#define STORE_ALIGN     16
#define STORE_CHUNK_MIN ((size_t)4096)
#define STORE_CHUNK_MAX ((size_t)256 << 10)
#define STORE_MAP_CHUNK ((size_t)256 << 10)

struct veil_store_chunk {
    struct veil_store_chunk *next;
    size_t size; /* bytes of data */
    size_t used;
    alignas(STORE_ALIGN) uint8_t data[];
};

static struct veil_store_chunk *chunk_new(const struct veil_store *s, size_t need)
{
    struct veil_store_chunk *c;
    size_t size;

    if (s->mapped) {
        if (need > STORE_MAP_CHUNK - sizeof(*c)) {
            return NULL;
        }
        c = mmap(NULL, STORE_MAP_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (c == MAP_FAILED) {
            return NULL;
        }
        c->size = STORE_MAP_CHUNK - sizeof(*c);
        return c;
    }
    /* the next chunk doubles what the store holds (up to STORE_CHUNK_MAX): a few chunks for a
     * model, the last one at most half unused (and its untouched pages not resident) */
    size = s->total < STORE_CHUNK_MIN ? STORE_CHUNK_MIN : s->total;
    size = size > STORE_CHUNK_MAX ? STORE_CHUNK_MAX : size;
    size = size < need ? need : size;
    c = malloc(sizeof(*c) + size);
    if (c != NULL) {
        c->size = size;
    }
    return c;
}

void *veil_store_alloc(struct veil_store *s, size_t n)
{
    struct veil_store_chunk *c = s->head;
    size_t need = (n + STORE_ALIGN - 1) / STORE_ALIGN * STORE_ALIGN;
    uint8_t *p;

    if (n > SIZE_MAX / 2 - sizeof(*c)) {
        return NULL;
    }
    if (need == 0) {
        need = STORE_ALIGN;
    }
    if (c == NULL || c->size - c->used < need) {
        c = chunk_new(s, need);
        if (c == NULL) {
            return NULL;
        }
        c->next = s->head;
        c->used = 0;
        s->head = c;
        s->total += c->size;
    }
    p = c->data + c->used;
    c->used += need;
    s->used += need;
    memset(p, 0, n);
    return p;
}

char *veil_store_strdup(struct veil_store *st, const char *s, bool *ok)
{
    size_t n;
    char *p;
    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    p = veil_store_alloc(st, n + 1);
    if (p == NULL) {
        *ok = false;
        return NULL;
    }
    memcpy(p, s, n + 1);
    return p;
}

void veil_store_free(struct veil_store *s)
{
    struct veil_store_chunk *c = s->head;
    bool mapped = s->mapped;
    while (c != NULL) {
        struct veil_store_chunk *next = c->next;
        OPENSSL_cleanse(c->data, c->used); /* model structure: plaintext, wiped */
        if (mapped) {
            (void)munmap(c, STORE_MAP_CHUNK);
        } else {
            free(c);
        }
        c = next;
    }
    memset(s, 0, sizeof(*s));
    s->mapped = mapped;
}
