/*
 * Policy JSON -> policy tree. Strict: size capped before parsing, duplicate keys rejected by
 * jansson, unknown keys and wrong types rejected here, depth and node count capped, every claim
 * name checked against the normalized claim set.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy.h"

struct parser {
    size_t nodes;
    bool names_sim;
    char *error;
    size_t error_size;
};

__attribute__((format(printf, 3, 4))) static veil_result fail(struct parser *ps, int code,
                                                              const char *fmt, ...)
{
    va_list ap;

    if (ps->error != NULL && ps->error_size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(ps->error, ps->error_size, fmt, ap);
        va_end(ap);
    }
    return veil_result_of(code);
}

static const struct {
    const char *key;
    enum veil_policy_op op;
} ops[] = {
    {"equals", VEIL_POLICY_EQUALS},      {"notEquals", VEIL_POLICY_NOT_EQUALS},
    {"greaterOrEquals", VEIL_POLICY_GE}, {"lessOrEquals", VEIL_POLICY_LE},
    {"exists", VEIL_POLICY_EXISTS},      {"in", VEIL_POLICY_IN},
};

static void node_free(struct veil_policy_node *n)
{
    for (size_t i = 0; i < n->child_count; i++) {
        node_free(&n->children[i]);
    }
    free(n->children);
    for (size_t i = 0; i < n->value_count; i++) {
        free(n->values[i].s);
    }
    free(n->values);
    free(n->claim);
    memset(n, 0, sizeof(*n));
}

static VEIL_RESULT parse_value(struct parser *ps, const char *path, json_t *j,
                               enum veil_policy_op op, struct veil_policy_value *v)
{
    if (json_is_string(j)) {
        ENSURE(
            op != VEIL_POLICY_GE && op != VEIL_POLICY_LE && op != VEIL_POLICY_EXISTS,
            fail(ps, VEIL_ERR_PROTO, "%s: this operator takes a number, not a string", path).code);
        ENSURE(json_string_length(j) <= VEIL_POLICY_STRING_MAX,
               fail(ps, VEIL_ERR_PROTO_LIMIT, "%s: string longer than %d bytes", path,
                    VEIL_POLICY_STRING_MAX)
                   .code);
        v->type = VEIL_POLICY_STR;
        v->s = strdup(json_string_value(j));
        ENSURE(v->s != NULL, VEIL_ERR_NOMEM);
        return VEIL_RESULT_OK;
    }
    if (json_is_integer(j)) {
        ENSURE(op != VEIL_POLICY_EXISTS,
               fail(ps, VEIL_ERR_PROTO, "%s: exists takes true or false", path).code);
        v->type = VEIL_POLICY_INT;
        v->i = json_integer_value(j);
        return VEIL_RESULT_OK;
    }
    if (json_is_boolean(j)) {
        ENSURE(op == VEIL_POLICY_EQUALS || op == VEIL_POLICY_NOT_EQUALS || op == VEIL_POLICY_EXISTS,
               fail(ps, VEIL_ERR_PROTO, "%s: this operator does not take true/false", path).code);
        v->type = VEIL_POLICY_BOOL;
        v->b = json_is_true(j);
        return VEIL_RESULT_OK;
    }
    return fail(ps, VEIL_ERR_PROTO,
                "%s: values are strings, integers or booleans (a real number or null is not "
                "allowed)",
                path);
}

static VEIL_RESULT parse_condition(struct parser *ps, const char *path, json_t *o,
                                   struct veil_policy_node *n)
{
    json_t *claim = json_object_get(o, "claim");
    json_t *arg = NULL;
    const char *key;
    json_t *val;
    size_t op_count = 0;

    ENSURE(json_is_string(claim),
           fail(ps, VEIL_ERR_PROTO, "%s: a condition needs \"claim\": NAME", path).code);
    ENSURE(veil_policy_claim_known(json_string_value(claim)),
           fail(ps, VEIL_ERR_PROTO, "%s: unknown claim \"%s\" (see docs/POLICY.md)", path,
                json_string_value(claim))
               .code);
    json_object_foreach(o, key, val)
    {
        bool is_op = false;
        if (strcmp(key, "claim") == 0) {
            continue;
        }
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            if (strcmp(key, ops[i].key) == 0) {
                n->op = ops[i].op;
                arg = val;
                is_op = true;
                op_count++;
            }
        }
        ENSURE(is_op, fail(ps, VEIL_ERR_PROTO, "%s: unknown key \"%s\"", path, key).code);
    }
    ENSURE(op_count == 1,
           fail(ps, VEIL_ERR_PROTO, "%s: a condition has exactly one operator (%zu given)", path,
                op_count)
               .code);
    n->kind = VEIL_POLICY_COND;
    n->claim = strdup(json_string_value(claim));
    ENSURE(n->claim != NULL, VEIL_ERR_NOMEM);
    if (n->op == VEIL_POLICY_IN) {
        size_t count = json_array_size(arg);
        ENSURE(json_is_array(arg) && count > 0 && count <= VEIL_POLICY_IN_COUNT_MAX,
               fail(ps, VEIL_ERR_PROTO, "%s: \"in\" takes a list of 1 to %d values", path,
                    VEIL_POLICY_IN_COUNT_MAX)
                   .code);
        n->values = calloc(count, sizeof(*n->values));
        ENSURE(n->values != NULL, VEIL_ERR_NOMEM);
        n->value_count = count;
        for (size_t i = 0; i < count; i++) {
            /* parse_value refuses booleans for `in`: it lists strings or integers. */
            GUARD(parse_value(ps, path, json_array_get(arg, i), VEIL_POLICY_IN, &n->values[i]));
        }
    } else {
        n->values = calloc(1, sizeof(*n->values));
        ENSURE(n->values != NULL, VEIL_ERR_NOMEM);
        n->value_count = 1;
        GUARD(parse_value(ps, path, arg, n->op, &n->values[0]));
        ENSURE(n->op != VEIL_POLICY_EXISTS || n->values[0].type == VEIL_POLICY_BOOL,
               fail(ps, VEIL_ERR_PROTO, "%s: exists takes true or false", path).code);
    }
    /* Does this condition let the simulated TEE in? Only an explicit "sim" counts. */
    if (strcmp(n->claim, "tee") == 0 && (n->op == VEIL_POLICY_EQUALS || n->op == VEIL_POLICY_IN)) {
        for (size_t i = 0; i < n->value_count; i++) {
            if (n->values[i].type == VEIL_POLICY_STR && strcmp(n->values[i].s, "sim") == 0) {
                ps->names_sim = true;
            }
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_node(struct parser *ps, const char *path, json_t *j, unsigned depth,
                              struct veil_policy_node *n);

static VEIL_RESULT parse_list(struct parser *ps, const char *path, const char *key, json_t *arr,
                              unsigned depth, struct veil_policy_node *n)
{
    size_t count = json_array_size(arr);
    char sub[256];

    ENSURE(json_is_array(arr) && count > 0,
           fail(ps, VEIL_ERR_PROTO, "%s: \"%s\" takes a non-empty list", path, key).code);
    n->kind = strcmp(key, "anyOf") == 0 ? VEIL_POLICY_ANY_OF : VEIL_POLICY_ALL_OF;
    n->children = calloc(count, sizeof(*n->children));
    ENSURE(n->children != NULL, VEIL_ERR_NOMEM);
    n->child_count = count;
    for (size_t i = 0; i < count; i++) {
        (void)snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path, path[0] != '\0' ? "." : "", key, i);
        GUARD(parse_node(ps, sub, json_array_get(arr, i), depth + 1, &n->children[i]));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_node(struct parser *ps, const char *path, json_t *j, unsigned depth,
                              struct veil_policy_node *n)
{
    json_t *any;
    json_t *all;

    ENSURE(depth <= VEIL_POLICY_DEPTH_MAX,
           fail(ps, VEIL_ERR_PROTO_LIMIT, "%s: nested deeper than %d levels", path,
                VEIL_POLICY_DEPTH_MAX)
               .code);
    ENSURE(++ps->nodes <= VEIL_POLICY_NODES_MAX,
           fail(ps, VEIL_ERR_PROTO_LIMIT, "policy has more than %d conditions and groups",
                VEIL_POLICY_NODES_MAX)
               .code);
    ENSURE(json_is_object(j), fail(ps, VEIL_ERR_PROTO, "%s: expected an object", path).code);
    any = json_object_get(j, "anyOf");
    all = json_object_get(j, "allOf");
    if (any == NULL && all == NULL) {
        return parse_condition(ps, path, j, n);
    }
    ENSURE(json_object_size(j) == 1,
           fail(ps, VEIL_ERR_PROTO, "%s: a group has exactly one key, anyOf or allOf", path).code);
    return parse_list(ps, path, any != NULL ? "anyOf" : "allOf", any != NULL ? any : all, depth, n);
}

static VEIL_RESULT parse_top(struct parser *ps, json_t *top, struct veil_policy *p)
{
    const char *key;
    json_t *val;
    json_t *version;
    json_t *name;
    json_t *group = NULL;
    const char *group_key = NULL;

    ENSURE(json_is_object(top), fail(ps, VEIL_ERR_PROTO, "a policy is a JSON object").code);
    json_object_foreach(top, key, val)
    {
        if (strcmp(key, "anyOf") == 0 || strcmp(key, "allOf") == 0) {
            ENSURE(
                group == NULL,
                fail(ps, VEIL_ERR_PROTO, "the top level has one of anyOf or allOf, not both").code);
            group = val;
            group_key = key;
        } else if (strcmp(key, "version") != 0 && strcmp(key, "name") != 0) {
            return fail(ps, VEIL_ERR_PROTO, "unknown top-level key \"%s\"", key);
        }
    }
    version = json_object_get(top, "version");
    ENSURE(json_is_integer(version) && json_integer_value(version) == 1,
           fail(ps, VEIL_ERR_PROTO, "\"version\": 1 is required").code);
    p->version = 1;
    name = json_object_get(top, "name");
    if (name != NULL) {
        ENSURE(json_is_string(name) && json_string_length(name) <= 255,
               fail(ps, VEIL_ERR_PROTO, "\"name\" is a string of up to 255 bytes").code);
        p->name = strdup(json_string_value(name));
        ENSURE(p->name != NULL, VEIL_ERR_NOMEM);
    }
    ENSURE(group != NULL,
           fail(ps, VEIL_ERR_PROTO, "a policy needs \"anyOf\" or \"allOf\" at the top").code);
    return parse_list(ps, "", group_key, group, 1, &p->root);
}

veil_result veil_policy_parse(const uint8_t *data, size_t n, struct veil_policy *p, char *error,
                              size_t error_size)
{
    struct parser ps = {0, false, error, error_size};
    json_error_t jerr;
    json_t *top;
    veil_result r;

    memset(p, 0, sizeof(*p));
    if (error != NULL && error_size > 0) {
        error[0] = '\0';
    }
    if (n > VEIL_POLICY_SIZE_MAX) {
        return fail(&ps, VEIL_ERR_PROTO_LIMIT, "policy larger than %u bytes", VEIL_POLICY_SIZE_MAX);
    }
    top = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
    if (top == NULL) {
        return fail(&ps, VEIL_ERR_PROTO, "not valid JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
    }
    r = parse_top(&ps, top, p);
    json_decref(top);
    if (!veil_ok(r)) {
        veil_policy_free(p);
        return r;
    }
    p->names_sim = ps.names_sim;
    return VEIL_RESULT_OK;
}

void veil_policy_free(struct veil_policy *p)
{
    node_free(&p->root);
    free(p->name);
    memset(p, 0, sizeof(*p));
}
