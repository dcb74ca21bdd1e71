/*
 * Policy evaluation. Every condition is evaluated and recorded (no short cut), so a denial shows
 * all that failed. A missing claim satisfies nothing but `exists: false`; a type mismatch is a
 * failed condition with its reason, never a pass.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"

#define OUTCOME_COUNT_MAX VEIL_POLICY_NODES_MAX
#define TEXT_MAX          512

static const char *op_name(enum veil_policy_op op)
{
    switch (op) {
        case VEIL_POLICY_EQUALS:
            return "equals";
        case VEIL_POLICY_NOT_EQUALS:
            return "notEquals";
        case VEIL_POLICY_GE:
            return "greaterOrEquals";
        case VEIL_POLICY_LE:
            return "lessOrEquals";
        case VEIL_POLICY_EXISTS:
            return "exists";
        case VEIL_POLICY_IN:
            return "in";
    }
    return "?";
}

void veil_policy_decision_init(struct veil_policy_decision *d)
{
    memset(d, 0, sizeof(*d));
}

void veil_policy_decision_free(struct veil_policy_decision *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->items[i].path);
        free(d->items[i].text);
    }
    free(d->items);
    free(d->reason);
    veil_policy_decision_init(d);
}

static VEIL_RESULT record(struct veil_policy_decision *d, const char *path, const char *text,
                          bool passed)
{
    struct veil_policy_outcome *o;

    ENSURE(d->count < OUTCOME_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    if (d->count == d->cap) {
        size_t cap = d->cap == 0 ? 16 : d->cap * 2;
        o = realloc(d->items, cap * sizeof(*o));
        ENSURE(o != NULL, VEIL_ERR_NOMEM);
        d->items = o;
        d->cap = cap;
    }
    o = &d->items[d->count];
    o->path = strdup(path);
    o->text = strdup(text);
    o->passed = passed;
    if (o->path == NULL || o->text == NULL) {
        free(o->path);
        free(o->text);
        BAIL(VEIL_ERR_NOMEM);
    }
    d->count++;
    return VEIL_RESULT_OK;
}

static void value_text(const struct veil_policy_node *n, char *out, size_t size)
{
    size_t off = 0;

    for (size_t i = 0; i < n->value_count && off < size; i++) {
        const struct veil_policy_value *v = &n->values[i];
        int k;
        const char *sep = i == 0 ? (n->op == VEIL_POLICY_IN ? "[" : "") : ", ";
        if (v->type == VEIL_POLICY_STR) {
            k = snprintf(out + off, size - off, "%s%s", sep, v->s);
        } else if (v->type == VEIL_POLICY_INT) {
            k = snprintf(out + off, size - off, "%s%" PRId64, sep, v->i);
        } else {
            k = snprintf(out + off, size - off, "%s%s", sep, v->b ? "true" : "false");
        }
        off += k > 0 ? (size_t)k : 0;
    }
    if (n->op == VEIL_POLICY_IN && off < size) {
        (void)snprintf(out + off, size - off, "]");
    }
}

/* Compares one expected value with the claim; sets *why on a type problem. */
static bool match_one(const struct veil_claim *c, const struct veil_policy_value *v,
                      enum veil_policy_op op, const char *actual, const char **why)
{
    switch (c->type) {
        case VEIL_CLAIM_BYTES:
        case VEIL_CLAIM_STR:
            if (v->type != VEIL_POLICY_STR || op == VEIL_POLICY_GE || op == VEIL_POLICY_LE) {
                *why =
                    "the claim is text and compares only with equals, notEquals or in on strings";
                return false;
            }
            /* Hex is case-insensitive; other strings are exact. */
            return c->type == VEIL_CLAIM_BYTES ? strcasecmp(actual, v->s) == 0
                                               : strcmp(actual, v->s) == 0;
        case VEIL_CLAIM_INT:
            if (v->type != VEIL_POLICY_INT) {
                *why = "the claim is an integer; write the value without quotes";
                return false;
            }
            if (op == VEIL_POLICY_GE) {
                return c->i >= v->i;
            }
            if (op == VEIL_POLICY_LE) {
                return c->i <= v->i;
            }
            return c->i == v->i;
        case VEIL_CLAIM_BOOL:
            if (v->type != VEIL_POLICY_BOOL) {
                *why = "the claim is a boolean; write true or false without quotes";
                return false;
            }
            return c->b == v->b;
        case VEIL_CLAIM_STR_LIST:
            *why = "the claim is a list; use in (every item must be listed) or exists";
            return false;
    }
    return false;
}

static bool list_within(const struct veil_claim *c, const struct veil_policy_node *n,
                        const char **why)
{
    for (size_t i = 0; i < c->list_count; i++) {
        bool found = false;
        for (size_t k = 0; k < n->value_count; k++) {
            if (n->values[k].type == VEIL_POLICY_STR && strcmp(n->values[k].s, c->list[i]) == 0) {
                found = true;
            }
        }
        if (!found) {
            *why = "an item of the claim is not in the allowed list";
            return false;
        }
    }
    return true;
}

static bool condition_holds(const struct veil_policy_node *n, const struct veil_claim *c,
                            const char *actual, const char **why)
{
    bool any = false;

    if (n->op == VEIL_POLICY_EXISTS) {
        return (c != NULL) == n->values[0].b;
    }
    if (c == NULL) {
        *why = "the evidence has no such claim";
        return false;
    }
    switch (n->op) {
        case VEIL_POLICY_EQUALS:
        case VEIL_POLICY_GE:
        case VEIL_POLICY_LE:
            return match_one(c, &n->values[0], n->op, actual, why);
        case VEIL_POLICY_NOT_EQUALS:
            /* A type mismatch must not turn into "not equal, so allowed". */
            if (match_one(c, &n->values[0], VEIL_POLICY_EQUALS, actual, why)) {
                return false;
            }
            return *why == NULL;
        case VEIL_POLICY_IN:
            if (c->type == VEIL_CLAIM_STR_LIST) {
                return list_within(c, n, why);
            }
            for (size_t i = 0; i < n->value_count && *why == NULL; i++) {
                any = any || match_one(c, &n->values[i], VEIL_POLICY_EQUALS, actual, why);
            }
            return any && *why == NULL;
        case VEIL_POLICY_EXISTS:
            break;
    }
    return false;
}

static VEIL_RESULT eval_condition(const struct veil_policy_node *n, const char *path,
                                  const struct veil_claims *claims, struct veil_policy_decision *d,
                                  bool *out)
{
    const struct veil_claim *c = veil_claims_find(claims, n->claim);
    char *actual = c != NULL ? veil_claim_value_text(c) : NULL;
    const char *why = NULL;
    char expected[256];
    char text[TEXT_MAX];
    bool passed;
    veil_result r;

    ENSURE(c == NULL || actual != NULL, VEIL_ERR_NOMEM);
    passed = condition_holds(n, c, actual, &why);
    value_text(n, expected, sizeof(expected));
    (void)snprintf(text, sizeof(text), "%s %s %s: %s%s%s%s", n->claim, op_name(n->op), expected,
                   passed ? "holds" : "FAILS", c != NULL ? ", actual " : " (claim absent)",
                   c != NULL ? actual : "", why != NULL && c != NULL ? "" : "");
    if (why != NULL && c != NULL) {
        size_t len = strlen(text);
        (void)snprintf(text + len, sizeof(text) - len, " (%s)", why);
    }
    free(actual);
    r = record(d, path, text, passed);
    *out = passed;
    return r;
}

static VEIL_RESULT eval_node(const struct veil_policy_node *n, const char *path,
                             const struct veil_claims *claims, struct veil_policy_decision *d,
                             bool *out)
{
    char sub[256];
    bool all = true;
    bool any = false;

    if (n->kind == VEIL_POLICY_COND) {
        return eval_condition(n, path, claims, d, out);
    }
    for (size_t i = 0; i < n->child_count; i++) {
        bool ok = false;
        (void)snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path, path[0] != '\0' ? "." : "",
                       n->kind == VEIL_POLICY_ANY_OF ? "anyOf" : "allOf", i);
        GUARD(eval_node(&n->children[i], sub, claims, d, &ok));
        all = all && ok;
        any = any || ok;
    }
    *out = n->kind == VEIL_POLICY_ANY_OF ? any : all;
    return VEIL_RESULT_OK;
}

veil_result veil_policy_evaluate(const struct veil_policy *p, const struct veil_claims *claims,
                                 struct veil_policy_decision *d)
{
    const struct veil_claim *tee = veil_claims_find(claims, "tee");
    bool allow = false;
    char reason[TEXT_MAX];

    veil_policy_decision_free(d);
    GUARD(eval_node(&p->root, "", claims, d, &allow));
    if (tee != NULL && tee->type == VEIL_CLAIM_STR && strcmp(tee->str, "sim") == 0 &&
        !p->names_sim) {
        allow = false;
        (void)snprintf(reason, sizeof(reason),
                       "denied: the evidence comes from the simulated TEE, which a policy accepts "
                       "only if it names it ({\"claim\": \"tee\", \"equals\": \"sim\"})");
    } else if (allow) {
        (void)snprintf(reason, sizeof(reason), "allowed by policy%s%s", p->name != NULL ? " " : "",
                       p->name != NULL ? p->name : "");
    } else {
        const char *first = "no condition group held";
        for (size_t i = 0; i < d->count; i++) {
            if (!d->items[i].passed) {
                first = d->items[i].text;
                break;
            }
        }
        (void)snprintf(reason, sizeof(reason), "denied: %s", first);
    }
    d->allow = allow;
    d->reason = strdup(reason);
    ENSURE(d->reason != NULL, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}
