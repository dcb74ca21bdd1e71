/* JOSE's strict base64url and the member-table schema check shared by JWK, JWS and JWE. */
#include <stdlib.h>
#include <string.h>

#include "base/encoding.h"
#include "jose/internal.h"

veil_result veil_jose_b64_decode(const char *in, size_t n, uint8_t *out, size_t out_size,
                                 size_t *out_len)
{
    ENSURE(in != NULL || n == 0, VEIL_ERR_USAGE);
    /* JOSE uses base64url without padding; the base decoder would accept '='. */
    ENSURE(n == 0 || memchr(in, '=', n) == NULL, VEIL_ERR_PROTO_ENCODING);
    if (n == 0) {
        *out_len = 0;
        return VEIL_RESULT_OK;
    }
    return veil_b64_decode(in, n, VEIL_B64_URL, out, out_size, out_len);
}

veil_result veil_jose_b64_decode_exact(const char *in, size_t n, uint8_t *out, size_t size)
{
    size_t len = 0;

    ENSURE(n == veil_b64_encoded_size(size, VEIL_B64_URL), VEIL_ERR_JOSE_LENGTH);
    GUARD(veil_jose_b64_decode(in, n, out, size, &len));
    ENSURE(len == size, VEIL_ERR_JOSE_LENGTH);
    return VEIL_RESULT_OK;
}

veil_result veil_jose_b64_decode_json(const json_t *s, uint8_t *out, size_t out_size,
                                      size_t *out_len)
{
    ENSURE(json_is_string(s), VEIL_ERR_JOSE_MEMBER);
    return veil_jose_b64_decode(json_string_value(s), json_string_length(s), out, out_size,
                                out_len);
}

veil_result veil_jose_b64_append(struct veil_wr *w, const uint8_t *in, size_t n)
{
    size_t need;

    ENSURE(n <= VEIL_JOSE_SIZE_MAX * 2, VEIL_ERR_USAGE_LIMIT);
    need = veil_b64_encoded_size(n, VEIL_B64_URL);
    /* Room for the encoder's NUL, which len does not count. */
    GUARD(veil_wr_reserve(w, need + 1));
    GUARD(veil_b64_encode(in, n, VEIL_B64_URL, (char *)w->data + w->len, need + 1));
    w->len += need;
    return VEIL_RESULT_OK;
}

veil_result veil_jose_b64_json(const uint8_t *in, size_t n, json_t **out)
{
    size_t need;
    char *s;
    json_t *j;
    veil_result r;

    ENSURE(n <= VEIL_JOSE_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    need = veil_b64_encoded_size(n, VEIL_B64_URL) + 1;
    s = malloc(need);
    ENSURE(s != NULL, VEIL_ERR_NOMEM);
    r = veil_b64_encode(in, n, VEIL_B64_URL, s, need);
    if (!veil_ok(r)) {
        free(s);
        return r;
    }
    j = json_stringn(s, need - 1);
    free(s);
    ENSURE(j != NULL, VEIL_ERR_NOMEM);
    *out = j;
    return VEIL_RESULT_OK;
}

veil_result veil_jose_json_load(const uint8_t *p, size_t n, size_t cap, json_t **out)
{
    json_error_t err;
    json_t *j;

    ENSURE(n <= cap, VEIL_ERR_PROTO_LIMIT);
    j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
    ENSURE(j != NULL, VEIL_ERR_JOSE);
    if (!json_is_object(j)) {
        json_decref(j);
        BAIL(VEIL_ERR_JOSE);
    }
    *out = j;
    return VEIL_RESULT_OK;
}

bool veil_jose_str_eq(const json_t *s, const char *lit)
{
    size_t n = strlen(lit);

    return json_is_string(s) && json_string_length(s) == n &&
           memcmp(json_string_value(s), lit, n) == 0;
}

static bool type_ok(const json_t *v, enum veil_jose_type type)
{
    switch (type) {
        case VEIL_JOSE_STRING:
            return json_is_string(v);
        case VEIL_JOSE_OBJECT:
            return json_is_object(v);
        case VEIL_JOSE_INTEGER:
            return json_is_integer(v);
        case VEIL_JOSE_ANY:
            return true;
    }
    return false;
}

veil_result veil_jose_members(const json_t *obj, struct veil_jose_member *m, size_t count)
{
    ENSURE(json_is_object(obj), VEIL_ERR_JOSE_MEMBER);
    for (size_t i = 0; i < count; i++) {
        m[i].value = NULL;
    }
    /* jansson's iterator API takes a non-const object; nothing here modifies it. */
    for (void *it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        json_t *val = json_object_iter_value(it);
        size_t i = 0;

        /* A key with an embedded NUL is nothing we know. */
        ENSURE(json_object_iter_key_len(it) == strlen(key), VEIL_ERR_JOSE_MEMBER);
        while (i < count && strcmp(m[i].name, key) != 0) {
            i++;
        }
        ENSURE(i < count, VEIL_ERR_JOSE_MEMBER);
        ENSURE(m[i].refuse == 0, m[i].refuse);
        ENSURE(type_ok(val, m[i].type), VEIL_ERR_JOSE_MEMBER);
        m[i].value = val;
    }
    for (size_t i = 0; i < count; i++) {
        ENSURE(!m[i].required || m[i].value != NULL, VEIL_ERR_JOSE_MEMBER);
    }
    return VEIL_RESULT_OK;
}
