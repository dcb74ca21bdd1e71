/*
 * Release policies (docs/POLICY.md): a JSON claim grammar in the style of Azure Key Vault secure
 * key release, evaluated over the normalized claim set of src/lib/verify/verify.h.
 *
 *   {"version": 1, "name": "...", "anyOf" | "allOf": [ node, ... ]}
 *   node := {"anyOf": [node...]} | {"allOf": [node...]} | condition
 *   condition := {"claim": NAME, OP: VALUE}, exactly one OP of
 *     equals, notEquals (string | integer | boolean), greaterOrEquals, lessOrEquals (integer),
 *     exists (boolean), in (array of strings or integers)
 *
 * Claim names must be known (a typo would otherwise make a condition vacuous). Bytes claims are
 * compared with lower-case hex strings. Evaluation runs every condition, so that a denial lists
 * everything that failed, and refuses the simulated TEE unless the policy names it.
 */
#ifndef VEIL_POLICY_H
#define VEIL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include "verify/verify.h"

#define VEIL_POLICY_SIZE_MAX     (64u << 10)
#define VEIL_POLICY_DEPTH_MAX    8
#define VEIL_POLICY_NODES_MAX    256
#define VEIL_POLICY_IN_COUNT_MAX 64
#define VEIL_POLICY_STRING_MAX   1024

enum veil_policy_op {
    VEIL_POLICY_EQUALS = 1,
    VEIL_POLICY_NOT_EQUALS,
    VEIL_POLICY_GE,
    VEIL_POLICY_LE,
    VEIL_POLICY_EXISTS,
    VEIL_POLICY_IN,
};

enum veil_policy_value_type {
    VEIL_POLICY_STR = 1,
    VEIL_POLICY_INT,
    VEIL_POLICY_BOOL,
};

struct veil_policy_value {
    enum veil_policy_value_type type;
    char *s;
    int64_t i;
    bool b;
};

enum veil_policy_node_kind {
    VEIL_POLICY_ALL_OF = 1,
    VEIL_POLICY_ANY_OF,
    VEIL_POLICY_COND,
};

struct veil_policy_node {
    enum veil_policy_node_kind kind;
    struct veil_policy_node *children;
    size_t child_count;
    /* COND */
    char *claim;
    enum veil_policy_op op;
    struct veil_policy_value *values; /* one, or the list for `in` */
    size_t value_count;
};

struct veil_policy {
    int64_t version;
    char *name;
    struct veil_policy_node root;
    bool names_sim; /* some condition on `tee` positively names "sim" */
};

/* Parses and validates; on failure *error (if given) holds a sentence naming the problem and
 * where it is (a static or policy-owned buffer valid until the next call on this thread). */
VEIL_RESULT veil_policy_parse(const uint8_t *json, size_t n, struct veil_policy *p, char *error,
                              size_t error_size);
void veil_policy_free(struct veil_policy *p);
/* True when the name is in the normalized claim set. */
bool veil_policy_claim_known(const char *name);

/* One evaluated condition. */
struct veil_policy_outcome {
    char *path; /* "anyOf[0].allOf[2]" */
    char *text; /* "snp.debug equals false: actual false" */
    bool passed;
};

struct veil_policy_decision {
    bool allow;
    struct veil_policy_outcome *items;
    size_t count;
    size_t cap;
    char *reason; /* one sentence: why allowed, or the first thing to fix */
};

void veil_policy_decision_init(struct veil_policy_decision *d);
void veil_policy_decision_free(struct veil_policy_decision *d);
/* Evaluates p over claims. Never fails open: allocation failure is an error, not a decision. */
VEIL_RESULT veil_policy_evaluate(const struct veil_policy *p, const struct veil_claims *claims,
                                 struct veil_policy_decision *d);

#endif
