/* Claims and the check report for people (text) and programs (JSON). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "verify/verify.h"

#define RENDER_TEXT_MAX (1u << 20)

const char *veil_check_status_name(enum veil_check_status s)
{
    switch (s) {
        case VEIL_CHECK_PASS:
            return "pass";
        case VEIL_CHECK_FAIL:
            return "fail";
        case VEIL_CHECK_SKIP:
            return "skip";
    }
    return "unknown";
}

static json_t *claim_json(const struct veil_claim *c)
{
    json_t *a;
    char *t;

    switch (c->type) {
        case VEIL_CLAIM_STR:
            return json_string(c->str);
        case VEIL_CLAIM_INT:
            return json_integer((json_int_t)c->i);
        case VEIL_CLAIM_BOOL:
            return json_boolean(c->b);
        case VEIL_CLAIM_BYTES:
            t = veil_claim_value_text(c);
            a = t != NULL ? json_string(t) : NULL;
            free(t);
            return a;
        case VEIL_CLAIM_STR_LIST:
            a = json_array();
            for (size_t i = 0; a != NULL && i < c->list_count; i++) {
                if (json_array_append_new(a, json_string(c->list[i])) != 0) {
                    json_decref(a);
                    a = NULL;
                }
            }
            return a;
    }
    return NULL;
}

json_t *veil_verify_render_json(enum veil_tee tee, const struct veil_claims *claims,
                                const struct veil_report *report)
{
    json_t *root = json_object();
    json_t *cl = json_object();
    json_t *checks = json_array();
    const struct veil_check *first = veil_report_first_failure(report);
    int bad = root == NULL || cl == NULL || checks == NULL;

    for (size_t i = 0; !bad && i < claims->count; i++) {
        bad = json_object_set_new(cl, claims->items[i].name, claim_json(&claims->items[i])) != 0;
    }
    for (size_t i = 0; !bad && i < report->count; i++) {
        const struct veil_check *c = &report->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "id", c->id, "status",
                              veil_check_status_name(c->status), "detail", c->detail);
        bad = o == NULL ||
              (c->remedy != NULL && json_object_set_new(o, "remedy", json_string(c->remedy)) != 0);
        bad = bad || json_array_append_new(checks, o) != 0;
    }
    bad = bad || json_object_set_new(root, "tee", json_string(veil_tee_name(tee))) != 0;
    bad =
        bad || json_object_set_new(root, "verified", json_boolean(veil_report_passed(report))) != 0;
    if (!bad && first != NULL) {
        bad = json_object_set_new(root, "first_failure", json_string(first->id)) != 0;
    }
    bad = bad || json_object_set_new(root, "claims", cl) != 0;
    cl = NULL;
    bad = bad || json_object_set_new(root, "checks", checks) != 0;
    checks = NULL;
    json_decref(cl);
    json_decref(checks);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

__attribute__((format(printf, 2, 3))) static VEIL_RESULT wr_printf(struct veil_wr *w,
                                                                   const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ENSURE(n >= 0, VEIL_ERR_INTERNAL);
    return veil_wr_bytes(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

veil_result veil_verify_render_text(const struct veil_claims *claims,
                                    const struct veil_report *report, struct veil_wr *out)
{
    const struct veil_check *first = veil_report_first_failure(report);

    veil_wr_init(out, RENDER_TEXT_MAX);
    GUARD(wr_printf(out, "claims:\n"));
    for (size_t i = 0; i < claims->count; i++) {
        char *t = veil_claim_value_text(&claims->items[i]);
        ENSURE(t != NULL, VEIL_ERR_NOMEM);
        veil_result r = wr_printf(out, "  %-30s %s\n", claims->items[i].name, t);
        free(t);
        GUARD(r);
    }
    GUARD(wr_printf(out, "checks:\n"));
    for (size_t i = 0; i < report->count; i++) {
        const struct veil_check *c = &report->items[i];
        GUARD(wr_printf(out, "  %s %-22s %s\n",
                        c->status == VEIL_CHECK_PASS   ? "PASS"
                        : c->status == VEIL_CHECK_FAIL ? "FAIL"
                                                       : "SKIP",
                        c->id, c->detail));
        if (c->status == VEIL_CHECK_FAIL && c->remedy != NULL) {
            GUARD(wr_printf(out, "       %-22s remedy: %s\n", "", c->remedy));
        }
    }
    if (veil_report_passed(report)) {
        GUARD(wr_printf(out, "result: verified (every check passed; SKIP means not checked)\n"));
    } else {
        GUARD(wr_printf(out, "result: NOT verified%s%s%s\n",
                        first != NULL ? " (first failure: " : "", first != NULL ? first->id : "",
                        first != NULL ? ")" : ""));
    }
    return VEIL_RESULT_OK;
}
