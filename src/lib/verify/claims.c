/* The normalized claim set. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/encoding.h"
#include "verify/verify.h"

#define CLAIMS_COUNT_MAX 1024

static const char *const tee_names[] = {
    [VEIL_TEE_SNP] = "snp", [VEIL_TEE_TDX] = "tdx", [VEIL_TEE_SGX] = "sgx", [VEIL_TEE_SIM] = "sim"};

const char *veil_tee_name(enum veil_tee tee)
{
    if ((size_t)tee < sizeof(tee_names) / sizeof(tee_names[0]) && tee_names[tee] != NULL) {
        return tee_names[tee];
    }
    return "unknown";
}

bool veil_tee_parse(const char *name, enum veil_tee *out)
{
    for (size_t i = 0; i < sizeof(tee_names) / sizeof(tee_names[0]); i++) {
        if (tee_names[i] != NULL && strcmp(tee_names[i], name) == 0) {
            *out = (enum veil_tee)i;
            return true;
        }
    }
    return false;
}

void veil_claims_init(struct veil_claims *c)
{
    memset(c, 0, sizeof(*c));
}

static void claim_clear(struct veil_claim *cl)
{
    free(cl->str);
    free(cl->bytes);
    for (size_t i = 0; i < cl->list_count; i++) {
        free(cl->list[i]);
    }
    free(cl->list);
    cl->str = NULL;
    cl->bytes = NULL;
    cl->bytes_size = 0;
    cl->list = NULL;
    cl->list_count = 0;
}

void veil_claims_free(struct veil_claims *c)
{
    for (size_t i = 0; i < c->count; i++) {
        claim_clear(&c->items[i]);
        free(c->items[i].name);
    }
    free(c->items);
    veil_claims_init(c);
}

const struct veil_claim *veil_claims_find(const struct veil_claims *c, const char *name)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->items[i].name, name) == 0) {
            return &c->items[i];
        }
    }
    return NULL;
}

/* A slot for name: the existing one (cleared) or a new one at the end. */
static VEIL_RESULT claim_slot(struct veil_claims *c, const char *name, struct veil_claim **out)
{
    struct veil_claim *cl = (struct veil_claim *)veil_claims_find(c, name);

    if (cl != NULL) {
        claim_clear(cl);
        *out = cl;
        return VEIL_RESULT_OK;
    }
    ENSURE(c->count < CLAIMS_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    if (c->count == c->cap) {
        size_t cap = c->cap == 0 ? 32 : c->cap * 2;
        struct veil_claim *items = realloc(c->items, cap * sizeof(*items));
        ENSURE(items != NULL, VEIL_ERR_NOMEM);
        c->items = items;
        c->cap = cap;
    }
    cl = &c->items[c->count];
    memset(cl, 0, sizeof(*cl));
    cl->name = strdup(name);
    ENSURE(cl->name != NULL, VEIL_ERR_NOMEM);
    c->count++;
    *out = cl;
    return VEIL_RESULT_OK;
}

veil_result veil_claims_add_str(struct veil_claims *c, const char *name, const char *v)
{
    struct veil_claim *cl = NULL;
    char *s = strdup(v);

    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    veil_result r = claim_slot(c, name, &cl);
    if (!veil_ok(r)) {
        free(s);
        return r;
    }
    cl->type = VEIL_CLAIM_STR;
    cl->str = s;
    return VEIL_RESULT_OK;
}

veil_result veil_claims_add_bytes(struct veil_claims *c, const char *name, const uint8_t *v,
                                  size_t n)
{
    struct veil_claim *cl = NULL;
    uint8_t *b = malloc(n > 0 ? n : 1);

    ENSURE(b != NULL, VEIL_ERR_NOMEM);
    if (n > 0) {
        memcpy(b, v, n);
    }
    veil_result r = claim_slot(c, name, &cl);
    if (!veil_ok(r)) {
        free(b);
        return r;
    }
    cl->type = VEIL_CLAIM_BYTES;
    cl->bytes = b;
    cl->bytes_size = n;
    return VEIL_RESULT_OK;
}

veil_result veil_claims_add_int(struct veil_claims *c, const char *name, int64_t v)
{
    struct veil_claim *cl = NULL;

    GUARD(claim_slot(c, name, &cl));
    cl->type = VEIL_CLAIM_INT;
    cl->i = v;
    return VEIL_RESULT_OK;
}

veil_result veil_claims_add_bool(struct veil_claims *c, const char *name, bool v)
{
    struct veil_claim *cl = NULL;

    GUARD(claim_slot(c, name, &cl));
    cl->type = VEIL_CLAIM_BOOL;
    cl->b = v;
    return VEIL_RESULT_OK;
}

veil_result veil_claims_add_str_list(struct veil_claims *c, const char *name, const char *const *v,
                                     size_t count)
{
    struct veil_claim *cl = NULL;
    char **list;

    ENSURE(count <= CLAIMS_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    list = calloc(count > 0 ? count : 1, sizeof(*list));
    ENSURE(list != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < count; i++) {
        list[i] = strdup(v[i]);
        if (list[i] == NULL) {
            for (size_t j = 0; j < i; j++) {
                free(list[j]);
            }
            free(list);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    veil_result r = claim_slot(c, name, &cl);
    if (!veil_ok(r)) {
        for (size_t j = 0; j < count; j++) {
            free(list[j]);
        }
        free(list);
        return r;
    }
    cl->type = VEIL_CLAIM_STR_LIST;
    cl->list = list;
    cl->list_count = count;
    return VEIL_RESULT_OK;
}

char *veil_claim_value_text(const struct veil_claim *cl)
{
    char num[32];
    char *out;
    size_t n = 1;

    switch (cl->type) {
        case VEIL_CLAIM_STR:
            return strdup(cl->str);
        case VEIL_CLAIM_BYTES:
            n = cl->bytes_size * 2 + 1;
            out = malloc(n);
            if (out != NULL && !veil_ok(veil_hex_encode(cl->bytes, cl->bytes_size, out, n))) {
                free(out);
                out = NULL;
            }
            return out;
        case VEIL_CLAIM_INT:
            (void)snprintf(num, sizeof(num), "%" PRId64, cl->i);
            return strdup(num);
        case VEIL_CLAIM_BOOL:
            return strdup(cl->b ? "true" : "false");
        case VEIL_CLAIM_STR_LIST:
            for (size_t i = 0; i < cl->list_count; i++) {
                n += strlen(cl->list[i]) + 1;
            }
            out = malloc(n);
            if (out == NULL) {
                return NULL;
            }
            out[0] = '\0';
            for (size_t i = 0, off = 0; i < cl->list_count; i++) {
                size_t k = strlen(cl->list[i]);
                if (i > 0) {
                    out[off++] = ',';
                }
                memcpy(out + off, cl->list[i], k + 1);
                off += k;
            }
            return out;
    }
    return NULL;
}
